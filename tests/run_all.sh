#!/usr/bin/env bash
# run_all.sh — every test of `make test`: unit and parity programs, golden REPL
# transcripts, every lesson in batch mode (en and vi), GPU parity (skips without a GPU).
# Ends with the line "total: N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
fail_names=()
G=${GPTREPL:-./gptrepl}
export GPTREPL="$G"
export NO_COLOR=1 GPTREPL_TEST=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
RUNNER=()
[ "${VALGRIND:-0}" = 1 ] && RUNNER=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)

note() { printf '%s\n' "$*"; }
ok()   { passed=$((passed + 1)); }
bad()  { failed=$((failed + 1)); fail_names+=("$1"); note "FAIL: $1"; }

# 1. test programs: each prints "NAME: N passed, N failed"
for t in "$@"; do
  [ -x "$t" ] || continue
  out=$("${RUNNER[@]}" "$t" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
  note "${line:-$t: no summary line (exit $rc)}"
  if [ $rc -ne 0 ]; then printf '%s\n' "$out" | grep -v 'passed, ' | tail -20; bad "$t"; else ok; fi
done

# 2. golden transcripts: tests/transcripts/NAME.gpt → NAME.out (stdout+stderr), timings masked
norm() { sed -E 's/[0-9]+(\.[0-9]+)? (ms|tokens\/s|tok\/s)/<t> \2/g; s/, [0-9.]+ s$/, <t> s/'; }
for s in tests/transcripts/*.gpt; do
  [ -e "$s" ] || continue
  want="${s%.gpt}.out"
  got=$("${RUNNER[@]}" "$G" --empty "$s" 2>&1 | norm; exit "${PIPESTATUS[0]}"); rc=$?
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then printf '%s\n' "$got" > "$want"; fi
  if [ $rc -eq 99 ] && [ ${#RUNNER[@]} -gt 0 ]; then  # memcheck's --error-exitcode
    note "transcript $(basename "$s"): memcheck errors"; printf '%s\n' "$got" | grep '^==' | head -40; bad "$s"
  elif [ -f "$want" ] && diff -u "$want" <(printf '%s\n' "$got") > /tmp/gptrepl-diff.$$ 2>&1; then
    note "transcript $(basename "$s"): identical"; ok
  else
    note "transcript $(basename "$s"): differs"; head -40 /tmp/gptrepl-diff.$$; bad "$s"
  fi
  rm -f /tmp/gptrepl-diff.$$
done

# 3. scripted REPL checks (exit codes, -c, stdin, --bail)
tests/test_cli.sh && ok || bad tests/test_cli.sh
# the ncurses TUI under tmux (skips without tmux)
if out=$(tests/test_tui.sh 2>&1); then note "$(printf '%s\n' "$out" | tail -1)"; ok
else printf '%s\n' "$out" | tail -20; bad tests/test_tui.sh; fi

# downloads from a Hub the test starts on loopback
if out=$(tests/test_hub.sh 2>&1); then note "$(printf '%s\n' "$out" | tail -1)"; ok
else printf '%s\n' "$out" | tail -20; bad tests/test_hub.sh; fi

# the README's tour is real output
if out=$(tests/readme_tour.sh 2>&1); then note "$(printf '%s\n' "$out" | tail -1)"; ok
else printf '%s\n' "$out" | tail -20; bad tests/readme_tour.sh; fi

# 3b. GPT-2 tokenizer parity with the npm package's own encoder (skips without node/npm)
if out=$(tests/bpe_parity.sh "${BUILD_DIR:-build}/tests/test_bpe" 2>&1); then
  note "$(printf '%s\n' "$out" | tail -1)"; ok
else
  printf '%s\n' "$out" | tail -15; bad tests/bpe_parity.sh
fi

# 3c. hostile input and hard stops: fuzz regressions replayed, SIGKILL mid-save, out of memory
if [ ${#RUNNER[@]} -eq 0 ]; then
  tests/test_reliability.sh && ok || bad tests/test_reliability.sh
fi

# 4. lessons, both languages, batch mode, run from a scratch folder (not the repository):
# a lesson finds its data from its lessons root and writes into its own output folder.
# (Under memcheck, lessons that train, bench or build a GPT-2-size model take 10 to 60
# minutes each: skipped unless VALGRIND_ALL=1. GPTREPL_SKIP_LESSONS=1: CI's sanitizer pass,
# where the lessons would double its time.)
LESSON_CWD=$(mktemp -d "${TMPDIR:-/tmp}/gptrepl-lessons-cwd.XXXXXX")
# under memcheck, lessons marked `// needs: slow` (they train or build GPT-2) are skipped
[ ${#RUNNER[@]} -gt 0 ] && [ "${VALGRIND_ALL:-0}" != 1 ] && export GPTREPL_SKIP_SLOW=1
# the authors' checks: needs, checks that cannot fail, en/vi parity
if out=$("$G" --empty -c "lesson --lint all" 2>&1); then note "lessons: lint ok ($(printf '%s\n' "$out" | grep -c ' — ok$') lessons)"; ok
else printf '%s\n' "$out" | grep -v ' — ok$' | head -20; bad "lesson --lint all"; fi
export XDG_CACHE_HOME="$LESSON_CWD/cache"
GABS=$(cd "$(dirname "$G")" && pwd)/$(basename "$G")
[ "${GPTREPL_SKIP_LESSONS:-0}" = 1 ] && { note "lessons: SKIPPED (GPTREPL_SKIP_LESSONS=1)"; skipped=$((skipped + 1)); }
for l in lessons/en/*.lesson lessons/vi/*.lesson; do
  [ "${GPTREPL_SKIP_LESSONS:-0}" = 1 ] && break
  [ -e "$l" ] || continue
  name="${l#lessons/}"; name="${name%.lesson}"
  start=$(date +%s)
  if out=$(cd "$LESSON_CWD" && "${RUNNER[@]}" "$GABS" --empty --lesson "$name" --batch 2>&1); then
    # a lesson whose `// needs:` are not met says so and is counted as skipped
    if printf '%s\n' "$out" | grep -q "^lesson .*: skipped ("; then
      note "$(printf '%s\n' "$out" | grep -m1 "^lesson .*: skipped (")"; skipped=$((skipped + 1)); continue
    fi
    note "lesson $name: ok ($(( $(date +%s) - start )) s)"; ok
  else
    printf '%s\n' "$out" | grep -E 'error|fail' | head -10; bad "lesson $name"
  fi
done

rm -rf "$LESSON_CWD"

# 5. GPU parity: needs a GPU (CI has none)
if [ -x "${BUILD_DIR:-build}/tests/gpu_parity" ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  "${BUILD_DIR:-build}/tests/gpu_parity" && ok || bad gpu_parity
else
  note "gpu: SKIPPED (no CUDA device on this machine)"; skipped=$((skipped + 1))
fi

[ ${#fail_names[@]} -gt 0 ] && note "failed: ${fail_names[*]}"
echo "total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
