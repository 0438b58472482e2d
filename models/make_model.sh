#!/usr/bin/env bash
# make_model.sh — reproduces models/tiny-fortunes.safetensors with gptrepl's own trainer.
# Corpus: six files of the Debian `fortunes` package, '%' separators dropped, transliterated
# to ASCII. Two stages (the second resumes the first exactly: optimizer state is saved).
set -euo pipefail
cd "$(dirname "$0")/.."
F=/usr/share/games/fortunes
[ -f "$F/literature" ] || { echo "needs the Debian 'fortunes' package: apt-get install fortunes"; exit 1; }
mkdir -p build
cat "$F/fortunes" "$F/literature" "$F/riddles" "$F/wisdom" "$F/people" "$F/humorists" | grep -v '^%$' \
  | iconv -f utf-8 -t ascii//TRANSLIT -c > build/fortunes.txt
OUT=models/tiny-fortunes.safetensors
if [ "${STAGE:-1}" = 1 ]; then
./gptrepl --empty --bail -c "seed 1; new tiny vocab=chars:build/fortunes.txt; \
  train 1500 --data build/fortunes.txt --batch 16 --ctx 128 --lr 2e-3 --warmup 100 --eval-every 100; \
  save $OUT"
fi
./gptrepl --empty --bail -c "seed 2; load $OUT; \
  train 1000 --data build/fortunes.txt --batch 16 --ctx 128 --lr 1e-3 --min-lr 1e-4 --eval-every 100; \
  save $OUT; seed 3; generate 300 \"The \" --temp 0.8"
