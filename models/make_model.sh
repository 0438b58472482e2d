#!/usr/bin/env bash
# make_model.sh — reproduces models/tiny-vi-en.safetensors, the bundled bilingual character
# model, with gptrepl's own trainer (`make models`), then measures it (models/README.md).
#
# Corpus: models/corpus/build.py (English: Debian's fortunes and our English lessons;
# Vietnamese: our Vietnamese lessons, models/corpus/vi-*.txt written for the project,
# Debian's maint-guide-vi and manpages-vi). Vocabulary: the fixed `vocab=vi` table.
# Two stages; the second resumes the first exactly (optimizer state is in the file).
# A rerun reaches the stated losses within about 0.02, not the same bytes: OpenBLAS picks
# its kernels by CPU, and float sums depend on their order.
set -euo pipefail
cd "$(dirname "$0")/.."
G=./gptrepl
python3 models/corpus/build.py
OUT=models/tiny-vi-en.safetensors
D=models/tiny-vi-en.txt
if [ "${STAGE:-1}" = 1 ]; then
$G --empty --bail -c "seed 1; new tiny vocab=vi layers=6; \
  train 5000 --data $D --batch 16 --ctx 128 --lr 2e-3 --warmup 200 --eval-every 500; \
  save $OUT"
fi
$G --empty --bail -c "seed 2; load $OUT; \
  train 2000 --data $D --batch 16 --ctx 128 --lr 6e-4 --min-lr 6e-5 --eval-every 500; \
  save $OUT"
# measured: loss per language on held-out text, samples, hunspell-vi on the Vietnamese
python3 models/corpus/measure.py "$OUT"
