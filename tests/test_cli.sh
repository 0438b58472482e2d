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
t "unablate restores logits bit for bit" '$G --empty --bail -c "seed 4; new tiny layers=2 d=32 ctx=16; run \"to be or not\"; dump logits /tmp/gptrepl-l0.npy; ablate L0.pattern[h=1] uniform; ablate L1.attn.proj.w[0:4] zero; ablate wte[v=70] mean; run \"to be or not\"; dump logits /tmp/gptrepl-l1.npy; unablate; run \"to be or not\"; dump logits /tmp/gptrepl-l2.npy" >/dev/null 2>&1 && cmp -s /tmp/gptrepl-l0.npy /tmp/gptrepl-l2.npy && ! cmp -s /tmp/gptrepl-l0.npy /tmp/gptrepl-l1.npy'
t "lens names the last row as the model's own" '$G --empty --bail -c "seed 4; new tiny layers=3 d=32 ctx=16; run \"to be or not\"; lens 2 --top 1; lens --top 1" 2>&1 | grep -q "L2=probs"'
t "generate --samples: greedy samples are the greedy continuation" 'out=$($G --empty --bail -c "seed 5; new tiny layers=2 d=32 ctx=32; generate 20 \"to be\" --greedy; generate 20 \"to be\" --greedy --samples 3" 2>&1); one=$(printf "%s\n" "$out" | sed -n 2p); [ -n "$one" ] && [ "$(printf "%s\n" "$out" | grep -c "^\[[0-2]\] $one$")" = 3 ]'
t "generate --samples 0 refused in one line" '[ "$($G --empty -c "new tiny; generate 5 --samples 0" 2>&1 | grep -c "samples must be between 1 and 4096")" = 1 ]'
t "generate --samples: seeded per sample" 'a=$($G --empty -c "seed 9; new tiny layers=1 d=16 ctx=32; generate 15 ab --samples 2" 2>&1 | grep "^\[[0-9]\] "); b=$($G --empty -c "seed 9; new tiny layers=1 d=16 ctx=32; generate 15 ab --samples 2" 2>&1 | grep "^\[[0-9]\] "); [ -n "$a" ] && [ "$a" = "$b" ] && [ "$(printf "%s\n" "$a" | sed -n 1p | cut -c5-)" != "$(printf "%s\n" "$a" | sed -n 2p | cut -c5-)" ]'
# set precision (inference at bf16 / int8; the fp32 weights are the model)
t "set precision: unknown value, one line with the choices" '[ "$($G --empty -c "set precision fp16" 2>&1 | grep -c "precision must be fp32, bf16 or int8, not .fp16.")" = 1 ]'
t "set precision int8 then fp32: logits bit for bit" '$G --empty --bail -c "seed 4; new tiny layers=2 d=32 ctx=16; run \"to be or not\"; dump logits /tmp/gptrepl-p0.npy; set precision int8; dump logits /tmp/gptrepl-p1.npy; set precision bf16; dump logits /tmp/gptrepl-p2.npy; set precision fp32; dump logits /tmp/gptrepl-p3.npy" >/dev/null 2>&1 && cmp -s /tmp/gptrepl-p0.npy /tmp/gptrepl-p3.npy && ! cmp -s /tmp/gptrepl-p0.npy /tmp/gptrepl-p1.npy && ! cmp -s /tmp/gptrepl-p0.npy /tmp/gptrepl-p2.npy && ! cmp -s /tmp/gptrepl-p1.npy /tmp/gptrepl-p2.npy'
t "set precision carries over to a new model" '$G --empty -c "set precision int8; new tiny layers=1 d=16 ctx=8; model" 2>&1 | grep -q "precision int8: matmul weights"'
t "train at int8 trains fp32 and says so" 'out=$($G --empty --bail -c "seed 2; new tiny layers=1 d=16 ctx=16; set precision int8; train 3 --eval-every 0 --batch 2 --ctx 16; set precision fp32; save /tmp/gptrepl-t8.safetensors" 2>&1) && printf "%s\n" "$out" | grep -q "in fp32: training updates the fp32 weights" && $G --empty --bail -c "seed 2; new tiny layers=1 d=16 ctx=16; train 3 --eval-every 0 --batch 2 --ctx 16; save /tmp/gptrepl-t32.safetensors" >/dev/null 2>&1 && cmp -s /tmp/gptrepl-t8.safetensors /tmp/gptrepl-t32.safetensors'
t "backward at int8 says it is fp32" '$G --empty --bail -c "seed 2; new tiny layers=1 d=16 ctx=16; set precision int8; run \"abcde\"; backward" 2>&1 | grep -q "(in fp32: gradients are of the trained weights"'
t "compare fp32 int8: the table, loss, top-1, bytes" 'out=$($G --bail -c "compare fp32 int8 \"It takes two to tell the truth: one to speak and one to hear.\"" 2>&1) && printf "%s\n" "$out" | grep -q "^compare fp32 int8: 61 tokens, the same tokens; loss" && printf "%s\n" "$out" | grep -q "L5.mlp " && printf "%s\n" "$out" | grep -qE "top-1 next-token agreement: (5[89]|6[01]) of 61" && printf "%s\n" "$out" | grep -q "bytes per matmul weight: fp32 4, int8 1.0"'
t "compare with no text and no run: one line" '[ "$($G --empty -c "new tiny layers=1 d=16 ctx=8; compare fp32 bf16" 2>&1 | grep -c "compare: which text")" = 1 ]'
t "qerr: refused at fp32, within half a step at int8" '$G --empty -c "new tiny layers=1 d=16 ctx=8; eval qerr.L0.mlp.fc.w" 2>&1 | grep -q "the precision is fp32" && $G --empty --bail -c "seed 3; new tiny layers=1 d=16 ctx=8; set precision int8; check all(transpose(abs(qerr.L0.mlp.fc.w)) <= rowmax(abs(L0.mlp.fc.w)) / 254 * 1.0001); check maxabs(qerr.L0.mlp.fc.w) > 0; hist qerr.L0.attn.qkv.w" >/dev/null 2>&1'
t "int8: batched greedy samples are the greedy continuation" 'out=$($G --empty --bail -c "seed 5; new tiny layers=2 d=32 ctx=32; set precision int8; generate 20 \"to be\" --greedy; generate 20 \"to be\" --greedy --samples 3" 2>&1); one=$(printf "%s\n" "$out" | sed -n 4p); [ -n "$one" ] && [ "$(printf "%s\n" "$out" | grep -c "^\[[0-2]\] $one$")" = 3 ]'
t "bench prints each precision against its limit" 'out=$($G --empty --bail -c "seed 1; new tiny layers=2 d=64 ctx=64; set precision bf16; bench --no-train; model" 2>&1) && [ "$(printf "%s\n" "$out" | grep -cE "^(generate_(bf16|int8)_fraction_of_limit|forward_(bf16|int8)_ms)=[0-9.]+$")" = 4 ] && printf "%s\n" "$out" | grep -q "precision bf16: matmul"'
t "bundled model loads"      '$G -c "model" 2>&1 | grep -q "tiny-vi-en"'
# the bundled bilingual model (models/README.md states these losses; held-out text, not trained on)
t "bundled: Vietnamese runs"  '$G --bail -c "run \"xin chào thế giới\"; check T == 17; check loss < 2.5" >/dev/null 2>&1'
t "bundled: English runs"     '$G --bail -c "run \"to be or not\"; check loss < 2.2" >/dev/null 2>&1'
t "bundled: held-out English" '$G --bail -c "run \"It takes two to tell the truth: one to speak and one to hear.\"; check loss < 1.6" >/dev/null 2>&1'
t "bundled: held-out Vietnamese" '$G --bail -c "run \"Cảm ơn bạn rất nhiều. Không có gì đâu, lần sau cần gì cứ nói nhé.\"; check loss < 2.4" >/dev/null 2>&1'
t "bundled: train 20 on its own corpus" '$G --bail -c "train 20 --eval-every 0; check train_loss < 1.6" 2>&1 | grep -q "training on tiny-vi-en.txt"'
t "a copy without its corpus trains on a task" 'cp models/tiny-vi-en.safetensors /tmp/gptrepl-nocorpus.safetensors && $G --empty --bail -c "load /tmp/gptrepl-nocorpus.safetensors; train 2 --batch 2 --eval-every 0" 2>&1 | grep -q "training on task:copy"'
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
  # losses are computed last: ablating them is refused (tests/test_inside.c checks the message)
  names=$($G --empty -c "$setup; run \"hello world\"; where" 2>/dev/null | awk '$1 ~ /[✓→]/ {for (i = 4; i <= NF; i++) if ($i != "losses") print $i}')
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
# pictures as a teacher makes them
PD=$(mktemp -d /tmp/gptrepl-pics.XXXXXX)
TINY='seed 1; new tiny layers=2 d=64 ctx=128'
t "logits: a bar column per temperature" 'out=$($G --empty -c "$TINY; run \"to be or not\"; logits --temp 0.5,1,2" 2>&1); printf "%s\n" "$out" | grep -qE "^ +temp 0.5 +temp 1 +temp 2$" && [ "$(printf "%s\n" "$out" | grep -cE "^.{1,3} .*0\.[0-9]{3} .*0\.[0-9]{3} .*0\.[0-9]{3}$")" = 10 ]'
# a long run: the diagonal cell of the last query is in view, with a note saying what is shown
LONG="to be or not to be, that is the question: whether tis nobler in the mind to suffer the slings"
t "long run: last query's diagonal in view" 'out=$($G --empty -c "$TINY; run \"$LONG\"; attn 1 2" 2>&1); last=$(printf "%s\n" "$out" | grep -E "^92 s " ); [ -n "$last" ] && printf "%s\n" "$last" | grep -qE "[.:=+*#%@-]$" && printf "%s\n" "$out" | grep -q "queries 69–92 and keys .*–92 of 93"'
t "attn windows"              '$G --empty -c "$TINY; run \"$LONG\"; attn 0 0 --rows 0:4 --cols 0:4" 2>&1 | grep -qE "^3 b [.:=+*#%@-]+$"'
t "attn all all: thumbnails"  'out=$($G --empty -c "$TINY; run \"to be\"; attn all" 2>&1); printf "%s\n" "$out" | grep -q "L0 h0" && printf "%s\n" "$out" | grep -qE "L1 h0 +h1 +h2 +h3"'
t "attn all 1: the head in every layer" '$G --empty -c "$TINY; run \"to be\"; attn all 1" 2>&1 | grep -qE "layer 0 +layer 1"'
t "heatmap wte: pooled with its rule" '$G --empty -c "$TINY; heatmap wte" 2>&1 | grep -q "largest magnitude"'
t "signed data: diverging"    '$G --empty -c "$TINY; run \"to be\"; heatmap L0.resid" 2>&1 | grep -q "diverging ±"'
t "--scale auto"              '$G --empty -c "$TINY; run \"to be\"; attn 0 0 --scale auto" 2>&1 | grep -q "colour: auto"'
t "export png and svg"        '$G --empty --bail -c "$TINY; run \"to be\"; export attn 0 0 $PD/a.png; export attn 0 0 $PD/a.svg; export attn all $PD/all.svg; export heatmap L0.resid $PD/r.svg; export hist wte $PD/h.svg; export logits $PD/l.svg --temp 0.5,1,2" >/dev/null 2>&1 && xmllint --noout $PD/a.svg $PD/all.svg $PD/r.svg $PD/h.svg $PD/l.svg && [ -s $PD/a.png ]'
t "export: missing folder"    '$G --empty -c "$TINY; run \"to be\"; export attn 0 0 $PD/nope/a.png" 2>&1 | grep -q "the folder .*nope. does not exist"'
t "export: unknown extension" '$G --empty -c "$TINY; run \"to be\"; export attn 0 0 $PD/a.jpg" 2>&1 | grep -q "written as .png or .svg"'
t "export: size 0x0"          '$G --empty -c "$TINY; run \"to be\"; export attn 0 0 $PD/z.png --size 0x0" 2>&1 | grep -q "size width must be between 64 and 8192, not 0"'
t "export: window outside"    '$G --empty -c "$TINY; run \"to be\"; export attn 0 0 $PD/w.png --rows 3:40" 2>&1 | grep -q "export attn: --rows 3:40 is outside the 5 queries (0:5)"'
t "heatmap: not 2-D"          '$G --empty -c "$TINY; run \"to be\"; heatmap L0.pattern" 2>&1 | grep -q "needs 1-D or 2-D: slice it"'
t "export: nothing left behind" '[ ! -e $PD/z.png ] && [ ! -e $PD/w.png ] && [ -z "$(ls $PD | grep tmp)" ]'
# the loss history: since new, across train calls, saved in the checkpoint
t "loss history saved"        '$G --empty --bail -c "$TINY; train 4 --eval-every 2; train 3; save $PD/m.safetensors" >/dev/null 2>&1 && [ "$($G --empty -c "load $PD/m.safetensors; eval numel(loss_curve)" 2>&1 | tail -1)" = 7 ] && $G --empty --bail -c "load $PD/m.safetensors; export loss $PD/loss.svg" >/dev/null 2>&1 && grep -q ">ln V = 4.56<" $PD/loss.svg && grep -q ">validation<" $PD/loss.svg'
t "temperature is τ in pictures" 'grep -q ">τ = 0.5<" $PD/l.svg && ! grep -q "T = " $PD/l.svg'
t "show: rows by token, within 80 columns" 'out=$($G --empty -c "$TINY; run \"to be\"; show L0.pattern" 2>&1); printf "%s\n" "$out" | grep -q "^  h0 t1 o " && [ "$(printf "%s\n" "$out" | sed -n "/^L0.pattern/,\$p" | LC_ALL=C.UTF-8 wc -L)" -le 80 ]'
t "show: 1 more row"          '$G --empty -c "new tiny layers=1 d=16 ctx=32; run \"abcdefghijklmnopqrstu\"; show L0.resid" 2>&1 | grep -q "1 more row "'
rm -rf "$PD"
# the classroom: a transcript, the session as a script, lessons from a paragraph
CD=$(mktemp -d /tmp/gptrepl-class.XXXXXX)
t "log keeps commands and output" '$G --empty -c "log $CD/t.log; seed 3; new tiny layers=1 d=16 ctx=16; run \"abc\"; bogus; log off; eval 1+1" >/dev/null 2>&1; grep -q "^gptrepl> run \"abc\"$" $CD/t.log && grep -q "^ran 22 stages on 3 tokens" $CD/t.log && grep -q "^error: unknown command .bogus." $CD/t.log && ! grep -q "eval 1+1" $CD/t.log && ! grep -q $'"'"'\x1b'"'"' $CD/t.log'
t "history --save, then source" 'a=$($G --empty -c "seed 3; new tiny layers=1 d=16 ctx=16; run \"abcd\"; bogus; eval loss; history --save $CD/s.gpt" 2>/dev/null | grep -E "^[0-9.]+$"); b=$($G --empty -c "source $CD/s.gpt" 2>/dev/null | grep -E "^[0-9.]+$"); [ -n "$a" ] && [ "$a" = "$b" ] && ! grep -q bogus $CD/s.gpt && grep -q "^run \"abcd\"$" $CD/s.gpt'
t "source reports its lines"   'printf "new tiny layers=1 d=16 ctx=8\nbogus\n" > $CD/e.gpt; $G --empty -c "source $CD/e.gpt" 2>&1 | grep -q "e.gpt:2: error: unknown command"'
t "source of a missing file"   '$G --empty -c "source $CD/nope.gpt" 2>&1 | grep -q "source: cannot open .*nope.gpt: No such file"'
printf '"'"'# Three pages\nOne.\n> seed 5\n\nTwo.\n> new tiny layers=1 d=16 ctx=8\n\nThree.\n? L == 1\n'"'"' > $CD/p.lesson
t "lesson --at N runs the earlier paragraphs unseen" 'out=$($G --empty -c "lesson $CD/p.lesson --at 3" 2>&1); printf "%s\n" "$out" | grep -q "from paragraph 3 of 3" && printf "%s\n" "$out" | grep -q "^Three\.$" && ! printf "%s\n" "$out" | grep -q "^Two\.$" && printf "%s\n" "$out" | grep -q "1 check, 0 failed"'
t "lesson --at past the end"   '$G --empty -c "lesson $CD/p.lesson --at 9" 2>&1 | grep -q "has 3 paragraphs, not 9"'
t "lesson --resume: where the class stopped" 'printf "\n\n" | XDG_STATE_HOME=$CD/st script -qec "$G --empty --lesson $CD/p.lesson" /dev/null >/dev/null 2>&1; grep -q "p 2\|p 3" $CD/st/gptrepl/lesson-positions && XDG_STATE_HOME=$CD/st $G --empty -c "lesson $CD/p.lesson --resume" 2>&1 | grep -q "from paragraph"'
rm -rf "$CD"
# runs like an installed tool
ID=$(mktemp -d /tmp/gptrepl-inst.XXXXXX)
t "make install, then a lesson from elsewhere" 'make --no-print-directory install PREFIX=$ID/usr >/dev/null 2>&1 && (cd / && XDG_CACHE_HOME=$ID/c $ID/usr/bin/gptrepl --lesson en/09-causal-mask --batch >/dev/null 2>&1) && [ -f $ID/usr/share/man/man1/gptrepl.1 ]'
t "installed: model and lessons found" '(cd / && $ID/usr/bin/gptrepl -c "model; lesson" 2>&1) | grep -q "tiny-vi-en" && (cd / && $ID/usr/bin/gptrepl -c "lesson" 2>&1) | grep -q "vi/09-causal-mask"'
man_has_options() {
  local o
  for o in $($G --help | grep -oE -- "--[a-z-]+" | sort -u); do
    grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" gptrepl.1 || { echo "gptrepl.1 lacks $o"; return 1; }
  done
}
t "the man page has every --help option" man_has_options
t "the GPT-2 tokenizer ships"  '(cd / && $ID/usr/bin/gptrepl --empty -c "new gpt2 layers=1 d=64 heads=1; tokens --ids Hello world" 2>&1) | tail -1 | grep -qx "15496 995"'
rm -rf "$ID"
# local files as users have them
LD=$(mktemp -d /tmp/gptrepl-local.XXXXXX)
mkdir -p "$LD/hf" "$LD/bare"; cp tests/fixtures/hf-tiny/* "$LD/hf/"; cp tests/fixtures/hf-tiny/model.safetensors "$LD/bare/"
t "load DIR: a Hugging Face folder" '$G --empty -c "load $LD/hf" 2>&1 | grep -q "^loaded .*: 2 layers, 4 heads, d 32"'
t "no config.json, unusual width: refused" '$G --empty -c "load $LD/bare" 2>&1 | grep -q "no config.json beside it says how many heads its width d=32 has.*heads=N"'
t "heads=N overrides"          '$G --empty -c "load $LD/bare heads=4" 2>&1 | grep -q "^loaded .*: 2 layers, 4 heads"'
t "heads that do not divide"   '$G --empty -c "load $LD/bare heads=5" 2>&1 | grep -q "heads=5 does not divide the width d=32"'
t "save x.bin keeps a char vocabulary" '$G --empty --bail -c "new tiny layers=1 d=16 ctx=8 vocab=chars:tests/data/vietnamese.txt; save $LD/c.bin" 2>&1 | grep -q "and its vocabulary .*c.chars" && $G --empty --bail -c "load $LD/c.bin; tokens --ids chào" 2>&1 | tail -1 | grep -qE "^[0-9 ]+$"'
rm -rf "$LD"
# Vietnamese as users type it
t "vocab=vi reads Vietnamese"  '$G --empty --bail -c "new tiny layers=1 d=16 ctx=32 vocab=vi; run \"xin chào thế giới\"" 2>&1 | grep -q "on 17 tokens"'
t "NFC: decomposed = composed"  'a=$($G --empty -c "new tiny layers=1 d=16 vocab=vi; tokens --ids Việt" 2>&1 | tail -1); b=$($G --empty -c "new tiny layers=1 d=16 vocab=vi; tokens --ids $(printf "Vie\xcc\xa3\xcc\x82t")" 2>&1 | tail -1); [ -n "$a" ] && [ "$a" = "$b" ]'
t "a vocabulary error says what reads it" '$G --empty -c "new tiny layers=1 d=16; run \"xin chào\"" 2>&1 | grep -q "character .à. (U+00E0) .* not in the model.s vocabulary .*new tiny vocab=vi, vocab=chars:FILE or vocab=bytes"'
t "train on a char model without |" 'printf "abcdefgh\nij:k\n" > /tmp/gptrepl-v.txt; $G --empty --bail -c "new tiny layers=1 d=16 ctx=16 vocab=chars:/tmp/gptrepl-v.txt; train 2 --eval-every 0" 2>&1 | grep -q "training on task:copy (.|. as .:.)"'
rm -rf "$TD"
echo "cli: $p passed, $f failed"
[ $f -eq 0 ]
