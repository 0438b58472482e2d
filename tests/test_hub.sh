#!/usr/bin/env bash
# test_hub.sh — `load gpt2` against a Hub the test starts on 127.0.0.1 (tests/hub_server.py):
# download, verify and cache; a second load with the servers stopped; a cut transfer that
# resumes through an expired redirect; a wrong checksum, an HTML page, 404, 500, a refused
# connection, an unwritable cache and a full disk (ulimit -f) refused in one line each,
# leaving nothing where a later load would take it and the REPL's model as it was; an
# existing Hugging Face cache used without a request; HF_HUB_OFFLINE; lessons never download.
set -u
cd "$(dirname "$0")/.."
G=${GPTREPL:-./gptrepl}
PY=$(command -v python3 || true)
if [ -z "$PY" ]; then echo "hub: SKIPPED (no python3 for the test Hub)"; echo "hub: 0 passed, 0 failed"; exit 0; fi
p=0 f=0
t() { if eval "$2"; then p=$((p+1)); else f=$((f+1)); echo "hub FAIL: $1"; fi; }
T=$(mktemp -d /tmp/gptrepl-hub.XXXXXX)
SPID=""
stop() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""; }
trap 'stop; rm -rf "$T"' EXIT
# the files of the repository: a small GPT-2-shaped checkpoint and its config
mkdir -p "$T/repo"
cp tests/fixtures/hf-tiny/model.safetensors tests/fixtures/hf-tiny/config.json "$T/repo/"
serve() { # MODE
  stop
  rm -f "$T/ports" "$T/log"
  "$PY" tests/hub_server.py --files "$T/repo" --mode "$1" --ports "$T/ports" --log "$T/log" &
  SPID=$!
  for _ in $(seq 100); do [ -s "$T/ports" ] && break; sleep 0.05; done
  read -r RP SP < "$T/ports"
  EP="http://127.0.0.1:$RP"
}
# each case: a fresh cache and home (no Hugging Face cache of the user's)
run() { # CACHE-NAME COMMANDS
  env -u HF_HUB_OFFLINE -u HF_HOME -u HF_HUB_CACHE HOME="$T/home" XDG_CACHE_HOME="$T/$1" GPTREPL_HF_ENDPOINT="$EP" \
    "$G" --empty -c "$2" 2>&1
}
CDIR=cache/gptrepl/hub/openai-community--gpt2

serve ok
out=$(run cache "load gpt2; eval V")
t "load gpt2 downloads"            'printf "%s\n" "$out" | grep -q "^loaded .*model.safetensors: 2 layers, 4 heads, d 32" && printf "%s\n" "$out" | tail -1 | grep -qx 70'
t "placed in the cache, verified"  'cmp -s "$T/$CDIR/model.safetensors" "$T/repo/model.safetensors" && cmp -s "$T/$CDIR/config.json" "$T/repo/config.json" && [ -z "$(ls "$T/$CDIR" | grep -E "\.part|\.resolve")" ]'
t "the Hub's protocol"             'grep -q "^resolve model.safetensors" "$T/log" && grep -q "^storage model.safetensors full" "$T/log"'
stop
out=$(run cache "load gpt2")
t "second load: servers stopped"   'printf "%s\n" "$out" | grep -q "^loaded "'
out=$(run cache "models")
t "models lists the download"      'printf "%s\n" "$out" | grep -qE "^  gpt2 +openai-community/gpt2 +[0-9.]+ kB +.*model.safetensors"'

serve cut
out=$(run cache-cut "load gpt2")
t "a cut transfer resumes"         'printf "%s\n" "$out" | grep -q "^loaded " && grep -q "^storage model.safetensors range=" "$T/log" && cmp -s "$T/cache-cut/gptrepl/hub/openai-community--gpt2/model.safetensors" "$T/repo/model.safetensors"'
t "through an expired redirect"    '[ "$(grep -c "^resolve model.safetensors" "$T/log")" -ge 2 ]'

serve badsha
out=$(run cache-sha "new tiny layers=1 d=16 ctx=8; load gpt2; model")
t "wrong sha256: one line"         '[ "$(printf "%s\n" "$out" | grep -c "error")" = 1 ] && printf "%s\n" "$out" | grep -q "error: model.safetensors: sha256 .* is not the Hub.s .*removed it"'
t "wrong sha256: nothing left"     '[ ! -e "$T/cache-sha/gptrepl/hub/openai-community--gpt2/model.safetensors" ] && [ ! -e "$T/cache-sha/gptrepl/hub/openai-community--gpt2/model.safetensors.part" ]'
t "the REPL keeps its model"       'printf "%s\n" "$out" | grep -q "^model tiny on cpu"'

serve html
out=$(run cache-html "load gpt2")
t "an HTML page: one line"         'printf "%s\n" "$out" | grep -q "error: .*sent an HTML page instead of model.safetensors" && [ ! -e "$T/cache-html/gptrepl/hub/openai-community--gpt2/model.safetensors" ]'
serve 404
out=$(run cache-404 "load gpt2")
t "404: one line"                  'printf "%s\n" "$out" | grep -q "error: openai-community/gpt2 has no config.json on .* (404)"'
serve 500
out=$(run cache-500 "load gpt2")
t "500: one line"                  'printf "%s\n" "$out" | grep -q "error: .* answered 500 (a server error)"'
stop
EP="http://127.0.0.1:9"
out=$(run cache-none "load gpt2")
t "connection refused: one line"   'printf "%s\n" "$out" | grep -q "error: cannot reach http://127.0.0.1:9 (.*): put config.json from .* into .*, or set HF_ENDPOINT to a mirror"'
out=$(env HOME="$T/home" XDG_CACHE_HOME="$T/cache-off" HF_HUB_OFFLINE=1 "$G" --empty -c "load gpt2" 2>&1)
t "HF_HUB_OFFLINE: says where"     'printf "%s\n" "$out" | grep -q "not downloaded and HF_HUB_OFFLINE is set: put model.safetensors and config.json from .* into .*openai-community--gpt2"'
touch "$T/plainfile"
out=$(env -u HF_HUB_OFFLINE HOME="$T/home" XDG_CACHE_HOME="$T/plainfile/sub" GPTREPL_HF_ENDPOINT="$EP" "$G" --empty -c "load gpt2" 2>&1)
t "cache not writable: says so"    'printf "%s\n" "$out" | grep -q "cannot write the download cache .*plainfile/sub"'

# an existing Hugging Face cache is used as it is, without a request
HFC="$T/hf/hub/models--openai-community--gpt2"
mkdir -p "$HFC/snapshots/0123abc" "$HFC/refs"
cp "$T/repo/model.safetensors" "$T/repo/config.json" "$HFC/snapshots/0123abc/"
printf 0123abc > "$HFC/refs/main"
out=$(env -u HF_HUB_OFFLINE HOME="$T/home" XDG_CACHE_HOME="$T/cache-hf" HF_HUB_CACHE="$T/hf/hub" GPTREPL_HF_ENDPOINT="http://127.0.0.1:9" "$G" --empty -c "load gpt2" 2>&1)
t "the Hugging Face cache is used" 'printf "%s\n" "$out" | grep -q "^loaded .*models--openai-community--gpt2/snapshots/0123abc/model.safetensors"'

# a full disk: a file-size limit makes the write fail (EFBIG) half-way
serve ok
out=$( (ulimit -f 40; run cache-full "new tiny layers=1 d=16 ctx=8; load gpt2; model") )
t "disk full: one line, model kept" 'printf "%s\n" "$out" | grep -q "error: cannot write .*model.safetensors.part: File too large" && printf "%s\n" "$out" | grep -q "^model tiny on cpu" && [ ! -e "$T/cache-full/gptrepl/hub/openai-community--gpt2/model.safetensors" ]'
out=$(run cache-full "load gpt2")
t "and resumes once there is room" 'printf "%s\n" "$out" | grep -q "^loaded " && grep -q "^storage model.safetensors range=" "$T/log"'

# lessons never download
printf '# needs the Hub\n> load gpt2\n' > "$T/l.lesson"
out=$(env -u HF_HUB_OFFLINE HOME="$T/home" XDG_CACHE_HOME="$T/cache-les" GPTREPL_HF_ENDPOINT="$EP" "$G" --empty --lesson "$T/l.lesson" --batch 2>&1)
t "a lesson never downloads"       'printf "%s\n" "$out" | grep -q "lessons never download" && ! grep -q "^resolve" <(grep -v "^$" "$T/log" | tail -n +99999)'
stop
echo "hub: $p passed, $f failed"
[ $f -eq 0 ]
