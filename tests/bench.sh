#!/usr/bin/env bash
# bench.sh — `make bench`: gptrepl and Debian's PyTorch on the same configs, same machine,
# same script; reports ratios (the figures that matter), not absolute timings alone.
set -u
cd "$(dirname "$0")/.."
G=./gptrepl
kv() { grep "^$1=" | head -1 | cut -d= -f2; }
echo "== gptrepl =="
tiny=$($G --empty -c "seed 1; new tiny; bench")
gpt2=$($G --empty -c "seed 1; new gpt2; bench")
printf '%s\n' "tiny:" "$tiny" "gpt2:" "$gpt2" | sed 's/^/  /'
# generation against memory bandwidth (the median of limit_rounds short runs, each
# between two bandwidth readings) and against OpenBLAS's sgemv, all in the same gptrepl run
echo "== generation, gpt2 B=1 =="
printf '%s\n' "$gpt2" | awk -F= '
  $1 == "limit_rounds"               { n = $2 }
  $1 == "generate_fraction_of_limit" { printf "  fraction of the fp32 weight-read limit: %s   (goal >= 0.8; median of %s paired rounds)\n", $2, n }
  $1 == "generate_own_vs_openblas"   { printf "  own GEMV vs OpenBLAS sgemv, same run:   %s x\n", $2 }
  $1 == "read_GBps"                  { printf "  read bandwidth in that round:           %s GB/s\n", $2 }
  $1 == "limit_round_tok_s"          { printf "  generation in that round:               %s tokens/s\n", $2 }'
# bf16 and int8 (set precision), each from its own copies of the weights, against the limit
# its own bytes per token set, in the same paired rounds
echo "== generation and forward at bf16 / int8, gpt2 B=1 =="
printf '%s\n' "$gpt2" | awk -F= '
  $1 ~ /^generate_(bf16|int8)_fraction_of_limit$/ { split($1, w, "_"); printf "  %s: fraction of its weight-read limit %s   (goal >= 0.6)\n", w[2], $2 }
  $1 ~ /^(bf16|int8)_MB_per_token$/ { split($1, w, "_"); printf "  %s: %s MB read per token\n", w[1], $2 }
  $1 ~ /^forward_(bf16|int8)_ms$/ { split($1, w, "_"); printf "  %s: forward B1 T64 %s ms\n", w[2], $2 }'
# quality of the copies on the bundled trained model, over held-out text (not trained on)
echo "== precision quality, bundled tiny-vi-en, held-out text =="
for p in bf16 int8; do
  $G -c "compare fp32 $p \"It takes two to tell the truth: one to speak, and another to listen. The cat sleeps wherever it likes best.\"; compare fp32 $p \"Ngày xưa có một ông lão đánh cá sống với vợ trong một túp lều nhỏ bên bờ biển xanh.\"" 2>&1 |
    awk -v p=$p '/^compare /{ d = $NF; gsub(/[()+-]/, "", d); if (d + 0 > w) w = d + 0 }
                 /top-1 next-token agreement/ { k += $4; n += $6 }
                 END { printf "  %s: largest |loss change| %.4f nats (goal <= %s), top-1 agreement %d of %d = %.1f%% (goal >= 95%%)\n", p, w, p == "bf16" ? "0.005" : "0.02", k, n, 100 * k / n }'
done
# oneDNN's bf16 and int8 matmul against ours, same shapes, same process (make bench builds it when
# libdnnl-dev is installed)
if [ -n "${ONEDNN_BENCH:-}" ] && [ -x "$ONEDNN_BENCH" ]; then
  echo "== bf16 and int8 products: ours against oneDNN $(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null) (2 threads) =="
  # passive: oneDNN's OpenMP threads sleep after their work instead of spinning on the
  # cores our own pool then needs (spinning made ours 25% slower in the same process)
  for t in bf16 int8; do for m in 64 1; do OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2 "$ONEDNN_BENCH" $m $t | sed 's/^/  /'; done; done
else
  echo "(oneDNN not installed: apt-get install libdnnl-dev to time its bf16 and int8 matmul beside ours)"
fi
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (2 threads) =="
  # PyTorch (Debian's: BLAS_INFO=generic, so OpenBLAS) on the kernels gptrepl pins, Haswell's:
  # OpenBLAS 0.3.21 takes some Xeons (model 207) for a Prescott, 4x slower, and would
  # otherwise flatter every ratio below
  pt=$(OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} /usr/bin/python3 tests/bench_torch.py all)
  printf '%s\n' "$pt" | sed 's/^/  /'
  f=$(printf '%s\n' "$gpt2" | kv forward_ms); pf=$(printf '%s\n' "$pt" | kv torch_gpt2_forward_ms)
  t=$(printf '%s\n' "$gpt2" | kv train_step_ms); pt2=$(printf '%s\n' "$pt" | kv torch_gpt2_train_step_ms)
  tt=$(printf '%s\n' "$tiny" | kv train_tok_s); ptt=$(printf '%s\n' "$pt" | kv torch_tiny_train_tok_s)
  g=$(printf '%s\n' "$gpt2" | kv generate_tok_s)
  echo "== ratios =="
  awk -v a="$f" -v b="$pf" 'BEGIN{printf "gpt2 forward B1 T64:      %.3f x PyTorch time   (goal <= 0.30)\n", a/b}'
  fb=$(printf '%s\n' "$gpt2" | kv forward_bf16_ms)
  awk -v a="$fb" -v b="$pf" 'BEGIN{printf "gpt2 forward B1 T64 bf16: %.3f x PyTorch fp32 time (goal <= 0.30)\n", a/b}'
  awk -v a="$t" -v b="$pt2" 'BEGIN{printf "gpt2 train step B4 T64:   %.3f x PyTorch time   (goal <= 0.50)\n", a/b}'
  awk -v a="$tt" -v b="$ptt" 'BEGIN{printf "tiny train tokens/s:      %.2f x PyTorch        (goal >= 2.0)\n", a/b}'
  echo "gpt2 generation (KV cache): $g tokens/s   (goal >= 25; PyTorch without a cache: ~2.5)"
  # Loading a GPT-2-sized Hugging Face checkpoint, against reading the same file with cat.
  hf=${TMPDIR:-/tmp}/gptrepl-bench-hf.safetensors
  if /usr/bin/python3 tests/make_gpt2_sized.py "$hf" 2>/dev/null; then
    cat "$hf" > /dev/null
    ms() { local t0 t1; t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
    best() { local b=999999 x; for _ in 1 2 3; do x=$(ms "$@"); [ "$x" -lt "$b" ] && b=$x; done; echo $b; }
    lt=$(best $G --empty -c "load $hf"); ct=$(best cat "$hf")
    echo "load HF gpt2 ($(($(stat -c %s "$hf") / 1000000)) MB): ${lt} ms, cat of the file ${ct} ms   (goal < 2000 ms)"
    rm -f "$hf"
  fi
else
  echo "(PyTorch not installed: apt-get install python3-torch for the comparison)"
fi
