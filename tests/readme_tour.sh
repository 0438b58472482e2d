#!/usr/bin/env bash
# readme_tour.sh — the README's tour block is real output: runs the command it shows and
# diffs the result (run times masked). Exits non-zero when the README went stale.
set -u
cd "$(dirname "$0")/.."
G=${GPTREPL:-./gptrepl}
block=$(awk '/^\$ \.\/gptrepl --empty -c /{on=1; print; next} on && /^```/{exit} on' README.md)
[ -n "$block" ] || { echo "readme-tour: no tour block in README.md"; exit 1; }
cmd=$(printf '%s\n' "$block" | head -1 | sed -E "s/^\\$ \\.\\/gptrepl --empty -c '(.*)'\$/\\1/")
mask() { sed -E 's/in [0-9.]+ ms/in <t> ms/'; }
if diff -u <(printf '%s\n' "$block" | tail -n +2 | mask) <("$G" --empty -c "$cmd" 2>&1 | mask); then
  echo "readme-tour: 1 passed, 0 failed"
else
  echo "readme-tour: 0 passed, 1 failed (update README.md's tour with the output above)"; exit 1
fi
