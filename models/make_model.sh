#!/usr/bin/env bash
# make_model.sh — reproduces models/tiny-fortunes.safetensors with gptrepl's own trainer.
# Corpus: five files of the Debian `fortunes` package, '%' separators dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
F=/usr/share/games/fortunes
[ -f "$F/literature" ] || { echo "needs the Debian 'fortunes' package: apt-get install fortunes"; exit 1; }
mkdir -p build
cat "$F/fortunes" "$F/literature" "$F/riddles" "$F/wisdom" "$F/people" "$F/humorists" | grep -v '^%$' \
  | iconv -f utf-8 -t ascii//TRANSLIT -c > build/fortunes.txt
STEPS=${STEPS:-1500}
./gptrepl --empty --bail -c "seed 1; new tiny vocab=chars:build/fortunes.txt; \
  train $STEPS --data build/fortunes.txt --batch 16 --ctx 128 --lr 2e-3 --warmup 100 --eval-every 100; \
  save models/tiny-fortunes.safetensors; generate 200 \"The \" --temp 0.8"
