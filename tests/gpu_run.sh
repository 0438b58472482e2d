#!/usr/bin/env bash
# gpu_run.sh — for a person on a machine with an NVIDIA GPU, after `make` (builds nothing):
# runs the per-op CUDA parity test and a GPT-2 bench on the device. Each output is also
# written to $OUT/NAME.txt when OUT is set. Exits non-zero if either fails.
set -u
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
OUT=${OUT:-}
[ -n "$OUT" ] && mkdir -p "$OUT"
rc=0
run() {
  local name=$1 s; shift
  echo "== $*"
  if [ -n "$OUT" ]; then "$@" 2>&1 | tee "$OUT/$name.txt"; s=${PIPESTATUS[0]}; else "$@" 2>&1; s=$?; fi
  [ "$s" -eq 0 ] || { echo "== $name: exit $s"; rc=1; }
}
[ -x "$B/tests/gpu_parity" ] && [ -x ./gptrepl ] ||
  { echo "gpu_run: $B/tests/gpu_parity or ./gptrepl missing: run make (with nvcc) first"; exit 2; }
run nvidia-smi nvidia-smi
run gpu_parity "$B/tests/gpu_parity"
run bench ./gptrepl --empty -c "seed 1; new gpt2; device cuda; bench"
exit $rc
