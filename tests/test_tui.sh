#!/usr/bin/env bash
# test_tui.sh — the ncurses TUI driven through tmux: start-up screen, help, Tab completion,
# stepping with F5, history, heatmaps, resizing, Ctrl-C, quit, and the terminal restored
# after exit and after a crash signal. Skips (passing) when tmux is missing.
#
#   tests/test_tui.sh                 ./gptrepl (or $GPTREPL)
#   TUI_VALGRIND=1 tests/test_tui.sh  the same under valgrind: 0 errors, nothing definitely lost
#
# Ends with "tui: N passed, N failed"; exits non-zero on failure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if ! command -v tmux >/dev/null 2>&1; then
  echo "tui: SKIPPED (no tmux)"
  echo "tui: 0 passed, 0 failed"
  exit 0
fi
G=${GPTREPL:-./gptrepl}
case "$G" in /*) ;; *) G="$ROOT/${G#./}" ;; esac
[ -x "$G" ] || { echo "tui: no binary at $G (make gptrepl)"; echo "tui: 0 passed, 1 failed"; exit 1; }

# One private tmux server (its socket in TMPD) per session: tmux 3.3 can crash making a
# second session once window-size is manual, and a dying server can race a new one.
SOCKS=()
SOCK=""
TMPD=$(mktemp -d /tmp/gptrepl-tui.XXXXXX)
tm() { tmux -S "$SOCK" -f /dev/null "$@"; }
cleanup() {
  local k
  for k in "${SOCKS[@]}"; do tmux -S "$k" kill-server >/dev/null 2>&1; done
  rm -rf "$TMPD"
}
trap cleanup EXIT INT TERM

SLOW=1
PRE=""
if [ "${TUI_VALGRIND:-0}" = 1 ]; then
  SLOW=8
  PRE="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --log-file=$TMPD/vg.%p.log"
fi

p=0 f=0
ok()  { p=$((p + 1)); }
bad() { f=$((f + 1)); echo "tui FAIL: $1"; tm capture-pane -p -t "$2" 2>/dev/null | sed 's/^/    | /' | tail -32; }

screen() { tm capture-pane -p -t "$1" 2>/dev/null; }
# Deadlines in milliseconds (capture-pane itself can take tens of ms on a busy machine).
now_ms() { local t=${EPOCHREALTIME/./}; echo "${t:0:13}"; }
# wait_for TARGET REGEX [SECONDS]: polls the screen until REGEX (grep -E) shows up.
wait_for() {
  local t=$1 re=$2 end=$(( $(now_ms) + ${3:-5} * 1000 * SLOW ))
  while :; do
    screen "$t" | grep -Eq -- "$re" && return 0
    [ "$(now_ms)" -ge $end ] && return 1
    sleep 0.03
  done
}
# wait_gone TARGET REGEX [SECONDS]
wait_gone() {
  local t=$1 re=$2 end=$(( $(now_ms) + ${3:-5} * 1000 * SLOW ))
  while :; do
    screen "$t" | grep -Eq -- "$re" || return 0
    [ "$(now_ms)" -ge $end ] && return 1
    sleep 0.03
  done
}
check() { # NAME TARGET REGEX [SECONDS]
  if wait_for "$2" "$3" "${4:-5}"; then ok; else bad "$1" "$2"; fi
}
keys() { tm send-keys -t "$1" "${@:2}"; }
# The last screen line is the prompt.
prompt_line() { screen "$1" | tail -1; }
# (capture-pane drops trailing spaces: an empty prompt reads "gptrepl>")
check_prompt() { # NAME TARGET REGEX
  local end=$(( $(now_ms) + 5000 * SLOW ))
  while :; do
    prompt_line "$2" | grep -Eq -- "$3" && { ok; return; }
    [ "$(now_ms)" -ge $end ] && break
    sleep 0.03
  done
  bad "$1" "$2"
}
cursor_x() { tm display-message -p -t "$1" '#{cursor_x}'; }
# pid of the gptrepl running under the pane's shell
app_pid() {
  local pp
  pp=$(tm display-message -p -t "$1" '#{pane_pid}' 2>/dev/null) || return 1
  ps -o pid=,args= --ppid "$pp" 2>/dev/null | awk '/gptrepl/ {print $1; exit}'
}

start() { # NAME EXTRA-ENV
  local name=$1 env=$2
  SOCK="$TMPD/tmux-$name"  # a private socket, removed with TMPD
  SOCKS+=("$SOCK")
  tm new-session -d -s "$name" -x 100 -y 30 \
    "cd '$ROOT' && env -u NO_COLOR HOME='$TMPD' TERM=xterm-256color $env bash -c '$PRE $G --empty; echo RESTORED rc=\$?; stty -a | grep -o -- \"-\\?icanon\"; sleep 60'"
}

# ---------------------------------------------------------------- session 1: colour
S=main
start $S ""
check "start-up shows the prompt"            $S '^gptrepl>$'
check "start-up shows the side panel"        $S 'SETTINGS'
check "start-up title bar"                   $S 'F5 step'

keys $S 'help' Enter
check "help lists commands"                  $S '^  generate +stream'

keys $S 'bogus' Enter
check "errors show as error: MSG"            $S "^error: unknown command 'bogus'"

keys $S 'new ti' Tab
check_prompt "Tab completes a preset"        $S '^gptrepl> new tiny \[key=value \.\.\.\]$'
[ "$(cursor_x $S)" = 18 ] && ok || bad "Tab adds a space after a unique completion" $S
keys $S 'layers=1 d=32 ctx=16' Enter
check "new tiny runs"                        $S 'new tiny: 1 layers?,'
check "side panel shows the model"           $S '1 layer · 4 heads · d 32'

keys $S 'set t' Tab
check "ambiguous Tab lists candidates"       $S 'temperature +theme +top_k +top_p'
keys $S C-u

keys $S 'run "hello"' Enter
check "run"                                  $S 'ran 22 stages on 5 tokens'
keys $S F5
check "F5 steps (first stage)"               $S '^\[1/22\] embed'
keys $S F5
check "F5 steps again"                       $S '^\[2/22\] L0.ln1.xhat'
check "side panel stage cursor"              $S '→ L0.ln1$'
check "side panel stage names"               $S 'L0.pattern'
keys $S F7
check "F7 continues"                         $S 'ran 20 remaining stages'

keys $S 'show L0.pat' Tab
check_prompt "Tab completes a tensor name"   $S '^gptrepl> show L0.pattern$'
keys $S C-u
keys $S 'gener' Tab
check_prompt "Tab completes a command, hint follows" $S '^gptrepl> generate N \[PROMPT\]$'
keys $S C-u
keys $S 'generate 5 --te' Tab
check_prompt "Tab completes an option"        $S '^gptrepl> generate 5 --temp X$'
keys $S C-u
keys $S 'eval rowme' Tab
check_prompt "Tab completes a function"       $S '^gptrepl> eval rowmean\($'
keys $S C-u
keys $S 'attn 0 '
check_prompt "hint shows what is left to type" $S '^gptrepl> attn 0 \[HEAD\|all\]'
keys $S C-u
keys $S Up
check_prompt "Up recalls the previous command" $S '^gptrepl> run "hello"( \[--as NAME\])?$'
keys $S Up
check_prompt "Up again goes further back"    $S '^gptrepl> set$|^gptrepl> new tiny layers=1 d=32 ctx=16$'
keys $S Down Down
check_prompt "Down returns to the empty line" $S '^gptrepl>$'

keys $S 'abc def' C-w
check_prompt "Ctrl-W kills a word"           $S '^gptrepl> abc$'
keys $S C-a 'X' C-e 'Y'
check_prompt "Ctrl-A / Ctrl-E move"          $S '^gptrepl> Xabc Y$'
keys $S C-u

keys $S 'attn 0 0' Enter
check "attn draws a heatmap with labels"     $S '^ *0 h [^ ]'
check "heatmap colour scale"                 $S '^colour: fixed 0..1'
if tm capture-pane -e -p -t $S | grep -q $'\x1b\[[0-9;]*38;5;[0-9]*m'; then ok; else bad "heatmap is in colour" $S; fi

keys $S 'generate 100000' Enter
check "generate streams"                     $S 'running… Ctrl-C stops'
sleep 0.3
keys $S C-c
check "Ctrl-C stops generate"                $S 'interrupted\]'
check_prompt "prompt back after Ctrl-C"      $S '^gptrepl>$'

keys $S 'hello there' C-c
check_prompt "Ctrl-C clears the line"        $S '^gptrepl>$'

keys $S PPage
check "PgUp scrolls back"                    $S 'rows back'
keys $S NPage NPage
wait_gone $S 'rows back' 3 && ok || bad "PgDn scrolls to the bottom" $S

tm set-option -g window-size manual >/dev/null 2>&1
tm resize-window -t $S -x 60 -y 20 >/dev/null 2>&1
if wait_gone $S 'SETTINGS' 3; then ok; else bad "side panel hidden at 60x20" $S; fi
keys $S 'set' Enter
check "prompt works at 60x20"                $S '^temperature +1 '
keys $S 'attn 0 0' Enter
check "heatmap at 60x20"                     $S '^ *4 o '
tm resize-window -t $S -x 100 -y 30 >/dev/null 2>&1
check "side panel back at 100x30"            $S 'SETTINGS'
tm resize-window -t $S -x 80 -y 24 >/dev/null 2>&1
if wait_gone $S 'SETTINGS' 3 && wait_for $S '^gptrepl>' 2; then ok; else bad "usable at 80x24" $S; fi
tm resize-window -t $S -x 100 -y 30 >/dev/null 2>&1

keys $S 'quit' Enter
check "quit leaves"                          $S '^RESTORED rc='
check "terminal restored (icanon)"           $S '^icanon$'
[ -z "$(app_pid $S)" ] && ok || bad "gptrepl process gone" $S
if [ -f "$TMPD/.local/state/gptrepl/history" ] && grep -q 'attn' "$TMPD/.local/state/gptrepl/history"; then ok; else bad "history saved to ~/.local/state/gptrepl/history" $S; fi

# ---------------------------------------------------------------- session 2: monochrome, history, crash
S=mono
start $S "NO_COLOR=1"
check "mono start-up"                        $S '^gptrepl>$'
keys $S Up
check_prompt "history loaded from the last session" $S '^gptrepl> quit$'
keys $S C-u 'new tiny layers=1 d=32 ctx=16; run "hello"; attn 0 0' Enter
check "mono heatmap uses the ASCII ramp"     $S '^ *0 h [.:=+*#%@/-]+ '
if tm capture-pane -e -p -t $S | grep -Eq $'\x1b\\[([0-9]+;)*(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38;5|48;5|38;2|48;2)(;[0-9;]*)?m'; then
  bad "NO_COLOR: no colours on screen" $S
else ok; fi
printf '# A test lesson\nFirst paragraph.\n> seed 5\n\nSecond paragraph.\n? 1 < 2\n' > "$TMPD/t.lesson"
keys $S "lesson $TMPD/t.lesson" Enter
check "lesson runs in the pane"              $S '^A test lesson'
check_prompt "lesson pauses with its prompt" $S '^lesson>$'
keys $S Enter
check "Enter goes on to the next paragraph"  $S '^Second paragraph\.'
check "lesson summary"                       $S 'lesson t: 1 check, 0 failed, 0 command'
check_prompt "prompt back after the lesson"  $S '^gptrepl>$'
keys $S C-c
check "first Ctrl-C at an empty prompt warns" $S 'Ctrl-C again'
pid=$(app_pid $S)
if [ -n "$pid" ]; then
  kill -SEGV "$pid"
  check "crash signal: terminal restored"    $S '^RESTORED rc=(139|1)$'
  check "crash signal: icanon back"          $S '^icanon$'
else
  bad "found the gptrepl process" $S
fi

# ---------------------------------------------------------------- session 2b: --plain (libedit) completes too
S=plain
SOCK="$TMPD/tmux-$S"; SOCKS+=("$SOCK")
tm new-session -d -s "$S" -x 100 -y 30 "cd '$ROOT' && env HOME='$TMPD' TERM=xterm-256color $G --plain --empty; sleep 60"
check "plain prompt"                         $S '^gptrepl> $|^gptrepl>$'
keys $S 'new ti' Tab
check "plain: Tab completes a preset"  $S '^gptrepl> new tiny $|^gptrepl> new tiny$'
keys $S 'layers=1 d=16 ctx=8; run "abc"' Enter
check "plain: the command ran"               $S 'ran [0-9]+ stages on 3 tokens'
keys $S 'gener' Tab
check "plain: Tab completes a command" $S '^gptrepl> generate ?$'
keys $S C-u 'generate 5 --te' Tab
check "plain: Tab completes an option" $S '^gptrepl> generate 5 --temp ?$'
keys $S C-u 'show L0.pat' Tab
check "plain: Tab completes a tensor"  $S '^gptrepl> show L0.pattern ?$'
keys $S C-u 'eval rowme' Tab
check "plain: Tab completes a function" $S '^gptrepl> eval rowmean\($'
keys $S C-u 'quit' Enter

# ---------------------------------------------------------------- session 2c: the classroom
S=class
start $S ""
check "classroom start-up"                   $S '^gptrepl>$'
keys $S 'new tiny layers=1 d=32 ctx=16; step "hello"' Enter
check "step prepares the walk"               $S 'prepared [0-9]+ stages'
keys $S Enter
check "Enter after step steps again"         $S '^\[1/[0-9]+\] embed'
keys $S Enter
check "and again"                            $S '^\[2/[0-9]+\] L0.ln1.xhat'
keys $S 'clear' Enter
if wait_gone $S 'prepared [0-9]+ stages' 3; then ok; else bad "clear empties the pane" $S; fi
printf '# Clicker lesson\nPage one.\n> seed 5\n\nPage two.\n? 1 < 2\n\nPage three.\n' > "$TMPD/c.lesson"
keys $S "lesson $TMPD/c.lesson" Enter
check "the pause names the paragraph"        $S '¶ 1/3'
keys $S NPage
check "PageDown goes on in a lesson"         $S '^Page two\.'
keys $S 'quit' Enter
keys $S "lesson $TMPD/c.lesson --at 3" Enter
check "lesson --at starts at a paragraph"    $S 'from paragraph 3 of 3'
check "lesson --at shows that paragraph"     $S '^Page three\.'
keys $S 'set theme light' Enter
if wait_gone $S 'SETTINGS' 3; then ok; else bad "projector theme hides the side panel" $S; fi
if tm capture-pane -e -p -t $S | grep -q $'\x1b\[[0-9;]*48;5;231m\|\x1b\[[0-9;]*48;2;255;255;255m'; then ok; else bad "projector theme: a white page" $S; fi
keys $S 'run "to be"; attn 0 0' Enter
check "projector theme: wider cells"         $S '^ *0 t ███'
keys $S 'quit' Enter

# ---------------------------------------------------------------- session 3: Ctrl-C twice, Ctrl-D
S=quit2
start $S ""
check "third start-up"                       $S '^gptrepl>$'
keys $S C-c
sleep 0.1
keys $S C-c
check "Ctrl-C twice quits"                   $S '^RESTORED rc=0$'
check "terminal restored after Ctrl-C quit"  $S '^icanon$'
S=quitd
start $S ""
check "fourth start-up"                      $S '^gptrepl>$'
keys $S C-d
check "Ctrl-D quits"                         $S '^RESTORED rc=0$'

if [ "${TUI_VALGRIND:-0}" = 1 ]; then
  for log in "$TMPD"/vg.*.log; do
    [ -e "$log" ] || continue
    # the crash session dies by SIGSEGV on purpose: only its error count matters
    if grep -q 'ERROR SUMMARY: 0 errors' "$log"; then ok; else f=$((f + 1)); echo "tui FAIL: valgrind errors in $log"; grep -v '^==[0-9]*== *$' "$log" | sed -n '/Invalid\|uninitialised\|definitely lost in\|Syscall param/,+14p' | head -60; fi
    if grep -q 'Process terminating with default action of signal 11' "$log"; then continue; fi
    if grep -Eq 'definitely lost: [1-9]' "$log"; then f=$((f + 1)); echo "tui FAIL: definitely lost bytes in $log"; grep -B2 -A12 'definitely lost in' "$log" | head -60; else ok; fi
  done
fi

echo "tui: $p passed, $f failed"
[ $f -eq 0 ]
