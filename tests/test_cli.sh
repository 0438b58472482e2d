#!/usr/bin/env bash
# test_cli.sh — the program as scripts use it: exit codes, -c, stdin, --bail, no escape codes when piped.
set -u
cd "$(dirname "$0")/.."
p=0 f=0
t() { if eval "$2"; then p=$((p+1)); else f=$((f+1)); echo "cli FAIL: $1"; fi; }
G=${GPTREPL:-./gptrepl}
t "-c ok exits 0"            '$G --empty -c "new tiny layers=1 d=16 ctx=8; run \"abc\"" >/dev/null 2>&1'
t "-c error exits 1"         '! $G --empty -c "new tiny; frobnicate" >/dev/null 2>&1'
t "failed check exits 1"     '! $G --empty -c "new tiny; run \"abc\"; check loss < 0" >/dev/null 2>&1'
t "errors do not stop"       '[ "$($G --empty -c "nope; new tiny layers=1 d=16 ctx=8; run \"ab\"" 2>/dev/null | grep -c "ran ")" = 1 ]'
t "--bail stops"             '[ "$($G --empty --bail -c "nope; new tiny layers=1 d=16 ctx=8" 2>/dev/null | grep -c "new tiny")" = 0 ]'
t "stdin script"             'printf "new tiny layers=1 d=16 ctx=8\nrun \"hi\"\nquit\nrun \"never\"\n" | $G --empty 2>&1 | grep -q "ran 1" ; [ $? -eq 1 ] || true; printf "new tiny layers=1 d=16 ctx=8\nrun \"hi\"\n" | $G --empty 2>&1 | grep -q "on 2 tokens"'
t "quit stops stdin"         '[ "$(printf "new tiny layers=1 d=16 ctx=8\nquit\nrun \"never\"\n" | $G --empty 2>&1 | grep -c ran)" = 0 ]'
t "no escapes when piped"    '! $G --empty -c "new tiny layers=1 d=16 ctx=8; run \"hello\"; attn 0; hist wte; loss" 2>&1 | grep -q $'"'"'\x1b'"'"''
t "error names file:line"    'printf "new tiny\nbogus\n" > /tmp/gptrepl-s.gpt; $G --empty /tmp/gptrepl-s.gpt 2>&1 | grep -q "^/tmp/gptrepl-s.gpt:2: error: unknown command"'
t "unknown option"           '! $G --frobnicate >/dev/null 2>&1'
t "init loss gpt2"           '$G --empty -c "seed 7; new gpt2; run \"The quick brown fox jumps\"; check abs(loss - ln(V)) < 0.5" >/dev/null 2>&1'
t "init loss tiny"           '$G --empty -c "seed 7; new tiny; run \"The quick brown fox jumps\"; check abs(loss - ln(V)) < 0.15" >/dev/null 2>&1'
t "init loss one-head"       '$G --empty -c "seed 7; new one-head; run \"The quick brown fox jumps over the lazy\"; check abs(loss - ln(V)) < 0.15" >/dev/null 2>&1'
t "save is atomic on error"  '$G --empty -c "new tiny layers=1 d=16 ctx=8; save /tmp/gptrepl-a.safetensors" >/dev/null && cp /tmp/gptrepl-a.safetensors /tmp/gptrepl-b && ! $G --empty -c "new tiny layers=1 d=16 ctx=8; save /tmp/gptrepl-a.safetensors/x" >/dev/null 2>&1 && cmp -s /tmp/gptrepl-a.safetensors /tmp/gptrepl-b'
t "save/load round trip"     'out=$($G --empty --bail -c "seed 3; new tiny layers=1 d=16 ctx=8; run \"abcd\"; eval loss; save /tmp/gptrepl-r.safetensors; load /tmp/gptrepl-r.safetensors; run \"abcd\"; eval loss" 2>&1) && [ "$(printf "%s\n" "$out" | grep -E "^[0-9.]+$" | uniq -c | awk "{print \$1}")" = 2 ]'
t "missing lesson lists"     '$G --empty --lesson no-such-lesson --batch 2>&1 | grep -q "Available lessons"; [ ${PIPESTATUS[0]} -ne 0 ]'
t "malformed lesson line"    'printf "# T\\n> seed 1\\n?\\n" > /tmp/gptrepl-bad.lesson; $G --empty --lesson /tmp/gptrepl-bad.lesson --batch 2>&1 | grep -q "gptrepl-bad.lesson:3: error"'
t "failing lesson check"     'printf "# T\\n? 1 > 2\\n" > /tmp/gptrepl-f.lesson; ! $G --empty --lesson /tmp/gptrepl-f.lesson --batch >/dev/null 2>&1'
t "char vocab survives save" '$G --empty --bail -c "new tiny vocab=chars:tests/data/vietnamese.txt layers=1 d=16 ctx=8; save /tmp/gptrepl-v.safetensors; load /tmp/gptrepl-v.safetensors; tokens \"chào\"" >/dev/null 2>&1'
t "bundled model loads"      '$G -c "model" 2>&1 | grep -q "tiny-fortunes"'
t "same tokens with/without cache" 'a=$($G --empty -c "seed 5; new tiny layers=2 d=32 ctx=16; generate 40 \"to be\" --greedy; eval generated" 2>&1 | grep -v tokens/s); b=$($G --empty -c "seed 5; new tiny layers=2 d=32 ctx=16; generate 40 \"to be\" --greedy --nocache; eval generated" 2>&1 | grep -v tokens/s); [ -n "$a" ] && [ "$a" = "$b" ]'
t "tokens --file"            '$G --empty -c "new tiny; tokens --ids --file tests/data/empty.txt" >/dev/null 2>&1 && printf "ab" > /tmp/gptrepl-t.txt && [ "$($G --empty -c "new tiny; tokens --ids --file /tmp/gptrepl-t.txt" 2>&1 | tail -1)" = "66 67" ]'
t "Ctrl-C stops train, REPL goes on" '( printf "seed 1\nnew tiny layers=1 d=32 ctx=16\ntrain 1000000 --batch 2 --ctx 16 --eval-every 0\neval step\n" | $G --empty > /tmp/gptrepl-int.out 2>&1 & pid=$!; sleep 3; kill -INT $pid; wait $pid ); grep -q "stopped (Ctrl-C)" /tmp/gptrepl-int.out && tail -1 /tmp/gptrepl-int.out | grep -qE "^[1-9][0-9]*$"'
t "Vietnamese round-trips"   '$G --empty -c "new tiny vocab=chars:tests/data/vietnamese.txt layers=1 d=16 ctx=32; tokens --ids \"Xin chào thế giới\"; generate 1 \"Xin chào thế giới\" --greedy" 2>/dev/null | grep -q "^Xin chào thế giới"'
t "bench leaves training state" '$G --empty --bail -c "seed 2; new tiny layers=1 d=16 ctx=16; train 3 --data copy --batch 2 --ctx 16 --eval-every 0; save /tmp/gptrepl-b1.safetensors; bench --batch 2; save /tmp/gptrepl-b2.safetensors" >/dev/null 2>&1 && cmp -s /tmp/gptrepl-b1.safetensors /tmp/gptrepl-b2.safetensors'
echo "cli: $p passed, $f failed"
[ $f -eq 0 ]
