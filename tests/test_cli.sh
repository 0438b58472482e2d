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
# Handlers get parsed values only: no handler file reads argv (args.c is the one parser).
t "no handler reads argv"     '! grep -n "argv" repl/cmd_*.c repl/train_cmd.c repl/lesson.c'
# check shows what it compared
t "check prints both sides"   '$G --empty -c "check abs(1 - 4) < 3.5" 2>&1 | grep -qF "ok: abs(1 - 4) < 3.5   (3 < 3.5)"'
t "failed check prints them"  '$G --empty -c "check 2 * 3 == 7" 2>&1 | grep -qF "check failed: 2 * 3 == 7   (6 == 7)"'
t "allclose shows the worst"  '$G --empty -c "new tiny layers=1 d=16 ctx=8; run \"abcd\"; check allclose(rowsum(L0.pattern), 1, 1e-5)" 2>&1 | grep -q "(max |a - b| .* at \[.*\], tol 1e-05)"'
# lessons: run from another folder, by name and by path; no terminal on stdin counts as --batch
TD=$(mktemp -d /tmp/gptrepl-cli.XXXXXX)
ROOT=$PWD
GA=$(cd "$(dirname "$G")" && pwd)/$(basename "$G")
t "lesson from another folder" '(cd "$TD" && XDG_CACHE_HOME="$TD/cache" "$GA" --empty --lesson en/21-training --batch >/dev/null 2>&1)'
t "lesson by path elsewhere"   '(cd "$TD" && XDG_CACHE_HOME="$TD/cache" "$GA" --empty --lesson "$ROOT/lessons/vi/03-gelu-relu.lesson" --batch >/dev/null 2>&1)'
printf '# T\n? 1 > 2\n\n? 2 > 1\n' > "$TD/f.lesson"
t "stdin not a terminal: batch" 'out=$($G --empty --lesson "$TD/f.lesson" < /dev/null 2>&1); [ $? -ne 0 ] && printf "%s" "$out" | grep -q "2 checks, 1 failed"'
# a lesson may not write outside its output folder, nor read outside its folders
mkdir -p "$TD/out" "$TD/target"; ln -s "$TD/target" "$TD/out/evil"
cat > "$TD/bad.lesson" <<'LESSON'
# Trying to leave
> new tiny layers=1 d=16 ctx=8
> run "abcd"
! export attn 0 0 /tmp/gptrepl-cli-escape.png
! save ../escape.safetensors
! save evil/escape.safetensors
! dump wte evil/sub/escape.npy
! tokens --file /etc/passwd
! train 1 --data ../../etc/passwd
> save inside.safetensors
? step == 0
LESSON
t "lesson refuses to leave"   'rm -f /tmp/gptrepl-cli-escape.png; $G --empty --out "$TD/out" --lesson "$TD/bad.lesson" --batch >/dev/null 2>&1 && [ ! -e /tmp/gptrepl-cli-escape.png ] && [ ! -e "$TD/escape.safetensors" ] && [ -z "$(ls -A "$TD/target")" ] && [ -f "$TD/out/inside.safetensors" ]'
t "refusals name the path"    '$G --empty --out "$TD/out" --lesson "$TD/bad.lesson" --batch 2>&1 | grep -q "error (expected): export attn: FILE[^:]*: a lesson may not use .*/tmp/gptrepl-cli-escape.png.: it is an absolute path"'
t "--allow-files lifts it"    'printf "# T\n> new tiny layers=1 d=16 ctx=8\n> save $TD/allowed.safetensors\n" > "$TD/ok.lesson"; $G --empty --allow-files --lesson "$TD/ok.lesson" --batch >/dev/null 2>&1 && [ -f "$TD/allowed.safetensors" ]'
# generation keeps ablations: the KV cache and the full window give the same greedy tokens
t "ablated generate, cache = no cache" 'a=$($G --empty -c "seed 5; new tiny layers=2 d=32 ctx=16; ablate L0.q zero; generate 30 \"to be\" --greedy; eval generated" 2>&1 | grep -v tokens/s); b=$($G --empty -c "seed 5; new tiny layers=2 d=32 ctx=16; ablate L0.q zero; generate 30 \"to be\" --greedy --nocache; eval generated" 2>&1 | grep -v tokens/s); c=$($G --empty -c "seed 5; new tiny layers=2 d=32 ctx=16; generate 30 \"to be\" --greedy; eval generated" 2>&1 | grep -v tokens/s); [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ]'
t "mean ablation: no cache, said" '$G --empty -c "new tiny layers=1 d=16 ctx=8; ablate L0.attn mean; generate 3 \"ab\"" 2>&1 | grep -q "no KV cache"'
# Every name 'where' lists, in every variant: readable, and ablating it with zero changes
# what follows. The logits are compared byte for byte (dumped), not just the loss: at init a
# Post-LN model's attention is so close to uniform that zeroing q moves the loss by less
# than a float's last bit, while the logits do change.
every_name() { # OVERRIDES
  local script names d="$TD/names.$RANDOM" setup="seed 1; new tiny layers=2 d=32 ctx=16 $1"
  mkdir -p "$d"
  names=$($G --empty -c "$setup; run \"hello world\"; where" 2>/dev/null | awk '$1 ~ /[✓→]/ {for (i = 4; i <= NF; i++) print $i}')
  [ -n "$names" ] || return 1
  script="$setup; run \"hello world\"; dump logits $d/clean.npy"
  for n in $names; do
    if [ "$n" = probs ]; then script="$script; show $n; ablate $n zero; run \"hello world\"; check loss != clean_loss; unablate"
    else script="$script; show $n; ablate $n zero; run \"hello world\"; dump logits $d/$n.npy; unablate"; fi
  done
  $G --empty --bail -c "$script" > /dev/null 2>&1 || return 1
  for n in $names; do
    [ "$n" = probs ] && continue
    if cmp -s "$d/clean.npy" "$d/$n.npy"; then echo "ablating $n with zero left the logits as they were"; return 1; fi
  done
}
for v in "" "norm=post" "tie=off" "act=relu" "pos=none" "mlp=off" "norm=post mlp=off" "logit_scale=on"; do
  t "every name ablates: ${v:-default}" "every_name '$v'"
done
rm -rf "$TD"
echo "cli: $p passed, $f failed"
[ $f -eq 0 ]
