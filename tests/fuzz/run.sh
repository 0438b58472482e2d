#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [TARGET...] — builds every libFuzzer target (clang,
# -fsanitize=fuzzer,address,undefined; the library objects go to build-fuzz/obj) and runs
# each for SECONDS (default 60), seeded from tests/fuzz/corpus/NAME/ (the growing corpus
# is build-fuzz/corpus/NAME/). Prints per target: executions, crashes. A crashing input
# is saved as build-fuzz/crashes/NAME-crash-<sha1> (or leak-, timeout-, oom-); replay it
# with build-fuzz/fuzz_NAME FILE, and copy it to tests/regress/NAME/ once fixed.
# Exits non-zero when a target crashed or did not build.
set -u
cd "$(dirname "$0")/../.."
SECS=${1:-60}
shift 2>/dev/null || true
ALL="cmd expr safetensors llmc tokenizer lesson"
TARGETS=${*:-$ALL}
OUT=build-fuzz
CLANG=${FUZZ_CC:-$(command -v clang || command -v clang-14)}
[ -n "$CLANG" ] || { echo "fuzz: clang not found (apt-get install clang)"; exit 1; }
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
mkdir -p "$OUT/obj" "$OUT/crashes" "$OUT/logs"

# Library objects: a generated makefile gives incremental, parallel builds with header deps.
SRC=$(ls core/*.c viz/*.c repl/*.c | grep -v -e '^repl/main\.c$' -e '^repl/tui.*\.c$' | tr '\n' ' ')
cat > "$OUT/fuzz.mk" <<MK
CC := $CLANG
CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wno-unknown-pragmas \\
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -I. -Icore -I/usr/include/stb -MMD -MP
OBJ := \$(patsubst %.c,$OUT/obj/%.o,$SRC)
LIBS := -lopenblas -lcjson -lpcre2-8 -lpthread -lm
all: $OUT/libfuzz.a $(for t in $TARGETS; do printf '%s ' "$OUT/fuzz_$t"; done)
$OUT/libfuzz.a: \$(OBJ)
	@rm -f \$@; ar rcs \$@ \$^
$OUT/obj/%.o: %.c
	@mkdir -p \$(dir \$@)
	\$(CC) \$(CFLAGS) -c -o \$@ \$<
$OUT/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $OUT/libfuzz.a
	\$(CC) \$(subst fuzzer-no-link,fuzzer,\$(CFLAGS)) -o \$@ \$< $OUT/libfuzz.a \$(LIBS)
-include \$(shell find $OUT/obj -name '*.d' 2>/dev/null)
MK
if ! make --no-print-directory -s -f "$OUT/fuzz.mk" -j"$JOBS" > "$OUT/logs/build.log" 2>&1; then
  tail -30 "$OUT/logs/build.log"
  echo "fuzz: build failed (see $OUT/logs/build.log)"
  exit 1
fi

max_len() {
  case $1 in
    cmd|expr) echo 512 ;;
    lesson) echo 8192 ;;
    *) echo 65536 ;;
  esac
}

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NO_COLOR=1 GPTREPL_TEST=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
printf '%-12s %12s %8s\n' target executions crashes
for t in $TARGETS; do
  bin="$OUT/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: no $bin"; status=1; continue; }
  mkdir -p "$OUT/corpus/$t" "tests/fuzz/corpus/$t"
  before=$(ls "$OUT/crashes" | grep -c "^$t-" || true)
  # -malloc_limit_mb: any single allocation of 512 MB from a <= 64 KB input is a bug.
  "$bin" "$OUT/corpus/$t" "tests/fuzz/corpus/$t" -max_total_time="$SECS" -max_len="$(max_len "$t")" \
    -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 -close_fd_mask=1 \
    -artifact_prefix="$OUT/crashes/$t-" > "$OUT/logs/$t.log" 2>&1
  rc=$?
  after=$(ls "$OUT/crashes" | grep -c "^$t-" || true)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  crashes=$((after - before))
  [ $rc -ne 0 ] && [ $crashes -eq 0 ] && crashes=1
  printf '%-12s %12s %8s\n' "$t" "${execs:-?}" "$crashes"
  if [ $crashes -ne 0 ]; then
    status=1
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$OUT/logs/$t.log" | sed 's/^/    /'
    ls -t "$OUT/crashes" | grep "^$t-" | head -1 | sed "s|^|    input: $OUT/crashes/|"
  fi
done
[ $status -eq 0 ] && echo "fuzz: no crashes" || echo "fuzz: CRASHES (logs in $OUT/logs/)"
exit $status
