/* tui.c — the ncurses TUI: the terminal's lifecycle, the layout, keys, running commands
 * and lessons (htop's CRT role). The pieces it draws are their own modules with their
 * own state: pane.c (scrollback), lineedit.c (prompt and history), side.c (side panel),
 * screen.c (colours and cells); completion and hints come from complete.c.
 *
 *   row 0          title bar: model, device, stage cursor, key hints, scroll state
 *   rows 1..H      output pane  │  side panel (from 100 columns and 20 rows)
 *   last row       prompt line: editing, history, Tab completion, argument hints
 *
 * Commands write into s->out; the pane runs it through its terminal emulator, clipped to
 * s->width = the pane width. While curses is up, stray writes to fd 1/2 go to a temporary
 * file and are shown in the pane instead of tearing the screen. Lessons run through
 * lesson.c's stepper; between paragraphs the prompt becomes "lesson>" (Enter: next, back,
 * quit, or any command).
 *
 * Prompt mode is raw() (Ctrl-C is a key: clear the line; twice at an empty prompt
 * quits). While a command runs the terminal is in cbreak() mode, so Ctrl-C raises
 * SIGINT, main.c's handler sets g_interrupted and generate/train stop. */
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1

#include "complete.h"
#include "lesson.h"
#include "lineedit.h"
#include "pane.h"
#include "screen.h"
#include "pictures.h"
#include "session.h"
#include "side.h"

#include <ncursesw/curses.h>
#include <editline/readline.h>

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define SIDE_MIN_COLS 100   /* side panel shown from here */
#define SIDE_MIN_ROWS 20
#define DRAW_EVERY_MS 33.0  /* streaming redraw throttle */
#define NCRASH 5            /* crash signals handled */

static struct {
    Session *s;
    SCREEN *scr;
    FILE *ttyf;
    int on;                    /* curses is active */
    Screen sc;
    /* stray output capture */
    int saved_out, saved_err;  /* the real stdout / stderr while captured */
    FILE *cap;
    volatile sig_atomic_t cap_stopped;
    /* layout */
    int rows, cols, pane_y, pane_w, pane_h, side_on, side_x, side_w;
    int width_set;             /* the s->width we set last (a user 'set width' sticks) */
    Pane pane;
    LineEdit ed;
    /* transient overlay above the prompt: completion candidates or a message */
    StrList hint;
    char hint_title[128];
    int running;
    double last_draw;
    int cc_armed;              /* Ctrl-C pressed at an empty prompt */
    int meta;                  /* ESC seen: next key is Alt-key */
    LessonRun *les;            /* a lesson in progress (paused between paragraphs), or NULL */
    int les_errors_before;     /* s->errors when it started: a lesson counts as one error */
    int theme;                 /* the s->theme the layout was made for */
    char repeat[16];           /* "step" or "next": what an empty line runs again, or "" */
    struct sigaction old_act[NCRASH];
} T;

static const int CRASH_SIGS[NCRASH] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGQUIT};

static Style st(StyleKind k) { return screen_style(&T.sc, k); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ drawing */

static void draw_hint(void)
{
    if (!T.hint.n && !T.hint_title[0]) return;
    int W = T.pane_w, H = T.pane_h;
    int colw = 0;
    for (int i = 0; i < T.hint.n; i++) {
        int w = text_cols(T.hint.v[i]) + 2;
        if (w > colw) colw = w;
    }
    if (colw > W) colw = W;
    int ncol = colw ? W / colw : 1;
    if (ncol < 1) ncol = 1;
    int nrow = (T.hint.n + ncol - 1) / ncol;
    int maxrow = H / 2 > 1 ? H / 2 - 1 : 1;
    int more = 0;
    if (nrow > maxrow) {
        nrow = maxrow;
        more = T.hint.n - (nrow * ncol - 1);
    }
    int top = T.pane_y + H - nrow - (T.hint_title[0] ? 1 : 0);
    if (top < T.pane_y) top = T.pane_y;
    int y = top;
    if (T.hint_title[0]) {
        screen_fill(&T.sc, y, 0, W, st(ST_HINT));
        screen_text(&T.sc, y, 1, W - 1, T.hint_title, st(ST_HINT));
        y++;
    }
    for (int r = 0; r < nrow && y < T.pane_y + H; r++, y++) {
        screen_fill(&T.sc, y, 0, W, st(ST_PLAIN));
        for (int c = 0; c < ncol; c++) {
            int k = r * ncol + c;
            if (k >= T.hint.n) break;
            if (more > 0 && r == nrow - 1 && c == ncol - 1) {
                char buf[48];
                snprintf(buf, sizeof buf, "(+%d more)", more);
                screen_text(&T.sc, y, c * colw, colw, buf, st(ST_DIM));
                break;
            }
            screen_text(&T.sc, y, c * colw, colw - 1, T.hint.v[k], st(ST_CYAN));
        }
    }
}

static void draw_title(void)
{
    Session *s = T.s;
    Style ts = st(ST_TITLE);
    screen_fill(&T.sc, 0, 0, T.cols, ts);
    char left[512], right[160];
    int k = snprintf(left, sizeof left, " gptrepl");
    if (s->m) {
        StrBuf nm;
        sb_init(&nm);
        pic_model_desc(s, &nm);
        k += snprintf(left + k, sizeof left - (size_t)k, " · %s · %s", nm.s ? nm.s : "", s->m->be->name);
        sb_free(&nm);
    }
    else k += snprintf(left + k, sizeof left - (size_t)k, " · no model");
    if (s->trace && s->trace->nstages > 0 && !T.side_on && k < (int)sizeof left) {
        if (s->trace->next < s->trace->nstages)
            snprintf(left + k, sizeof left - (size_t)k, " · stage %d/%d %s", s->trace->next + 1, s->trace->nstages,
                     s->trace->stages[s->trace->next].name);
        else snprintf(left + k, sizeof left - (size_t)k, " · stages done");
    }
    if (T.pane.scroll > 0) snprintf(right, sizeof right, "↑ %ld row%s back · PgDn ", T.pane.scroll, T.pane.scroll == 1 ? "" : "s");
    else if (T.les) snprintf(right, sizeof right, "lesson · F1 help ");
    else if (T.cols >= 90) snprintf(right, sizeof right, "F1 help  F5 step  F6 next  F7 continue ");
    else snprintf(right, sizeof right, "F1 help ");
    if (!T.sc.utf8 && T.pane.scroll > 0) snprintf(right, sizeof right, "scrolled %ld · PgDn ", T.pane.scroll);
    int rw = text_cols(right);
    int lw = screen_text(&T.sc, 0, 0, T.cols, left, ts);
    if (lw + 2 + rw <= T.cols) screen_text(&T.sc, 0, T.cols - rw, rw, right, ts);
}

static const char *prompt_str(void) { return T.les ? "lesson> " : "gptrepl> "; }

static void draw_prompt(void)
{
    int y = T.rows - 1, W = T.cols - 1; /* never the bottom-right cell */
    screen_fill(&T.sc, y, 0, W, st(ST_PLAIN));
    if (T.running) {
        screen_text(&T.sc, y, 0, W, "running… Ctrl-C stops", st(ST_DIM));
        return;
    }
    int pw = screen_text(&T.sc, y, 0, W, prompt_str(), st(ST_BOLD));
    int avail = W - pw;
    if (avail < 2) return;
    /* Horizontal scroll so the cursor stays visible ('<' marks hidden text on the left). */
    LineEdit *e = &T.ed;
    int start = 0, curcol = 0;
    for (int i = 0; i < e->cur; i++) curcol += cp_cols(e->b[i]);
    while (curcol + (start > 0) >= avail && start < e->cur) curcol -= cp_cols(e->b[start++]);
    int x = pw;
    if (start > 0) screen_cell(&T.sc, y, x++, '<', 0, st(ST_DIM));
    int cx = x + curcol;
    for (int i = start; i < e->n; i++) {
        int w = cp_cols(e->b[i]);
        if (w == 0) continue;
        if (x + w > W) break;
        screen_cell(&T.sc, y, x, e->b[i], 0, st(ST_PLAIN));
        x += w;
    }
    /* The arguments not typed yet, dimmed after the cursor (redis-cli's hints). */
    if (e->cur == e->n && e->n > 0 && !T.les) {
        char *line = ed_utf8(e, e->n);
        StrBuf h;
        sb_init(&h);
        complete_hint(T.s, line, &h);
        if (h.len) {
            int sp = line[strlen(line) - 1] != ' ';
            if (sp) x++;
            if (x < W) screen_text(&T.sc, y, x, W - x, h.s, st(ST_DIM));
        }
        sb_free(&h);
        free(line);
    }
    move(y, cx);
}

static void layout(void)
{
    T.rows = LINES;
    T.cols = COLS;
    /* the projector theme gives the whole width to the output */
    T.theme = T.s->theme;
    T.sc.light = T.theme == 1;
    T.side_on = T.cols >= SIDE_MIN_COLS && T.rows >= SIDE_MIN_ROWS && !T.theme;
    T.side_w = 0;
    if (T.side_on) {
        T.side_w = T.cols / 4 + 4;
        if (T.side_w < 28) T.side_w = 28;
        if (T.side_w > 40) T.side_w = 40;
    }
    T.pane_y = 1;
    T.pane_h = T.rows - 2;
    if (T.pane_h < 0) T.pane_h = 0;
    T.pane_w = T.side_on ? T.cols - T.side_w - 1 : T.cols;
    T.side_x = T.pane_w + 1;
    if (T.pane_w < 1) T.pane_w = 1;
    T.pane.w = T.pane_w;
    T.pane.h = T.pane_h;
    /* Renderers clip to the pane; a width set by hand ('set width N') sticks. */
    if (T.s->width == T.width_set || T.width_set == 0) T.s->width = T.width_set = T.pane_w < 20 ? 20 : T.pane_w;
    T.s->height = T.pane_h < 5 ? 5 : T.pane_h;
}

static void draw(void)
{
    if (!T.on) return;
    if (T.theme != T.s->theme) { /* `set theme` */
        layout();
        clear();
    }
    T.sc.mono = !T.sc.has_colors || T.s->color == VIZ_COLOR_NONE;
    if (T.rows < 3 || T.cols < 10) {
        erase();
        mvaddnstr(0, 0, "too small", T.cols);
        refresh();
        return;
    }
    draw_title();
    pane_draw(&T.pane, &T.sc, T.pane_y, T.pane_w, T.pane_h);
    draw_hint();
    if (T.side_on) side_draw(&T.sc, T.s, T.pane_y, T.pane_y + T.pane_h, T.side_x, T.side_w);
    draw_prompt();
    curs_set(T.running ? 0 : 1);
    refresh();
    T.last_draw = now();
}

/* ------------------------------------------------------------------ stray output capture */

static void capture_drain(void)
{
    if (!T.cap) return;
    fflush(stdout);
    fflush(stderr);
    int fd = fileno(T.cap);
    off_t end = lseek(fd, 0, SEEK_END);
    if (end <= 0) return;
    char buf[8192];
    off_t off = 0;
    pane_bol(&T.pane);
    while (off < end) {
        size_t want = (size_t)(end - off) < sizeof buf ? (size_t)(end - off) : sizeof buf;
        ssize_t k = pread(fd, buf, want, off);
        if (k <= 0) break;
        pane_feed(&T.pane, buf, (size_t)k);
        off += k;
    }
    if (ftruncate(fd, 0) != 0) { /* nothing to do */ }
    lseek(fd, 0, SEEK_SET);
}

static void capture_start(void)
{
    fflush(stdout);
    fflush(stderr);
    T.cap = tmpfile();
    if (!T.cap) return;
    T.saved_out = dup(1);
    T.saved_err = dup(2);
    if (T.saved_out < 0 || T.saved_err < 0) {
        fclose(T.cap);
        T.cap = NULL;
        return;
    }
    dup2(fileno(T.cap), 1);
    dup2(fileno(T.cap), 2);
}

/* Async-signal-safe: puts fds 1/2 back and copies what was captured to stderr. */
static void capture_stop(int dump)
{
    if (!T.cap || T.cap_stopped) return;
    T.cap_stopped = 1;
    fflush(stdout);
    fflush(stderr);
    dup2(T.saved_out, 1);
    dup2(T.saved_err, 2);
    if (dump) {
        int fd = fileno(T.cap);
        char buf[4096];
        off_t off = 0;
        ssize_t k;
        while ((k = pread(fd, buf, sizeof buf, off)) > 0) {
            if (write(2, buf, (size_t)k) < 0) break;
            off += k;
        }
    }
    close(T.saved_out);
    close(T.saved_err);
}

/* ------------------------------------------------------------------ running commands */

static void poll_keys_live(void);

/* s->flush: streaming output (generate, train) goes to the pane as it comes. */
static void tui_flush(Session *s)
{
    session_log_out(s);
    if (s->out.len) pane_feed(&T.pane, s->out.s, s->out.len);
    session_out_done(s);
    capture_drain();
    poll_keys_live();
    if (now() - T.last_draw >= DRAW_EVERY_MS) draw();
}

/* s->report: an error line in the pane. */
static void tui_report(Session *s, const char *msg)
{
    session_log_out(s);
    if (s->out.len) pane_feed(&T.pane, s->out.s, s->out.len);
    session_out_done(s);
    pane_bol(&T.pane);
    char pre[1100] = "";
    if (s->src_file) snprintf(pre, sizeof pre, "%s:%d: ", s->src_file, s->src_line);
    pane_puts_styled(&T.pane, pre, st(ST_ERR));
    pane_puts_styled(&T.pane, "error: ", st(ST_ERR));
    StrBuf b;
    sb_init(&b);
    viz_text_escape(&b, msg);
    pane_puts_styled(&T.pane, b.s ? b.s : "", st(ST_ERR));
    sb_free(&b);
    pane_newline(&T.pane);
}

static void echo_cmd(const char *prefix, const char *line)
{
    pane_bol(&T.pane);
    pane_puts_styled(&T.pane, prefix, st(ST_BOLD));
    StrBuf b;
    sb_init(&b);
    viz_text_escape(&b, line);
    pane_puts_styled(&T.pane, b.s ? b.s : "", st(ST_BOLD));
    sb_free(&b);
    pane_newline(&T.pane);
}

/* Runs fn with the terminal as a running command needs it (Ctrl-C is SIGINT). */
static void begin_running(void)
{
    g_interrupted = 0;
    T.running = 1;
    T.pane.scroll = 0;
    noraw();
    cbreak();
    draw();
}

static void end_running(void)
{
    Session *s = T.s;
    session_log_out(s);
    if (s->out.len) pane_feed(&T.pane, s->out.s, s->out.len);
    session_out_done(s);
    capture_drain();
    raw();
    T.running = 0;
    g_interrupted = 0;
    pane_bol(&T.pane);
}

/* What an empty line at the prompt runs again: after `step` (with or without a text) or
 * `next`, the bare command, so Enter walks on through the stages; anything else forgets it. */
static void note_repeat(const char *line)
{
    while (*line == ' ' || *line == '\t') line++;
    size_t n = strcspn(line, " \t;");
    T.repeat[0] = 0;
    if (n == 4 && (!strncmp(line, "step", 4) || !strncmp(line, "next", 4)))
        snprintf(T.repeat, sizeof T.repeat, "%.4s", line);
}

static int exec_part(void *ctx, const char *cmd)
{
    int *rc = ctx;
    Session *s = T.s;
    while (*cmd == ' ' || *cmd == '\t') cmd++;
    if (!*cmd || *cmd == '#') return 0;
    GrErr e = {{0}};
    note_repeat(cmd); /* the last command of the line decides what Enter repeats */
    begin_running();
    int r = session_exec(s, cmd, &e);
    end_running();
    if (r == CMD_ERR) {
        s->errors++;
        tui_report(s, e.msg);
        *rc = CMD_ERR;
    }
    if (r == CMD_QUIT) {
        *rc = CMD_QUIT;
        return 1;
    }
    return 0;
}

/* Splits at ';' (the one splitter, session.c) and runs each part. */
static int exec_line(const char *line)
{
    int rc = CMD_OK;
    line_split(line, exec_part, &rc);
    return rc;
}

/* `clear`: the pane starts empty. */
static void tui_clear(Session *s)
{
    (void)s;
    pane_clear(&T.pane);
}

/* ------------------------------------------------------------------ lessons */

static void lesson_end(void)
{
    if (!T.les) return;
    Session *s = T.s;
    int rc = lesson_finish(s, T.les);
    s->errors = T.les_errors_before + (rc ? 1 : 0);
    lesson_close(T.les);
    free(T.les);
    T.les = NULL;
}

/* Runs the lesson to its next pause (or its end). */
static void lesson_advance(void)
{
    begin_running();
    int paused = lesson_step(T.s, T.les);
    end_running();
    if (paused) {
        char msg[160];
        snprintf(msg, sizeof msg, "-- ¶ %d/%d · Enter or PageDown: next · back · quit · or type a command --",
                 lesson_paragraph(T.les), lesson_paragraphs(T.les));
        pane_puts_styled(&T.pane, msg, st(ST_HEAD));
        pane_newline(&T.pane);
    } else {
        lesson_end();
    }
}

/* s->start_lesson: `lesson NAME` typed at the prompt. */
static int tui_start_lesson(Session *s, const char *name, GrErr *e)
{
    if (T.les) lesson_end();
    LessonRun *L = calloc(1, sizeof *L);
    if (!L) return gr_fail(e, "out of memory");
    if (lesson_open(s, name, L, e)) {
        lesson_report_open(s, L, e);
        snprintf(e->msg, sizeof e->msg, "lesson %s did not start", name);
        free(L);
        return -1;
    }
    session_log_out(s);
    if (s->out.len) pane_feed(&T.pane, s->out.s, s->out.len);
    session_out_done(s);
    StrBuf why;
    sb_init(&why);
    if (lesson_unmet_need(&L->les, &why) > 0) {
        sb_printf(&s->out, "lesson %s: skipped (%s)\n", L->name, why.s);
        sb_free(&why);
        lesson_close(L);
        free(L);
        s->lesson_start_para = 0;
        return 0;
    }
    sb_free(&why);
    T.les = L;
    T.les_errors_before = s->errors;
    int at = s->lesson_start_para;
    s->lesson_start_para = 0;
    if (at > 1 && lesson_skip_to(s, L, at, e)) {
        lesson_close(L);
        free(L);
        T.les = NULL;
        return -1;
    }
    lesson_advance();
    return 0;
}

/* A line typed while a lesson waits between paragraphs: 1 if it was the lesson's. */
static int lesson_input(const char *line)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    char w[16];
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    if (n >= sizeof w) return 0;
    memcpy(w, p, n);
    w[n] = 0;
    if (!w[0] || !strcmp(w, "next") || !strcmp(w, "back")) {
        lesson_resume(T.les, !strcmp(w, "back"));
        lesson_advance();
        return 1;
    }
    if (!strcmp(w, "quit")) {
        T.les->i = T.les->les.n;
        lesson_end();
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ completion */

static void clear_hint(void)
{
    sl_clear(&T.hint);
    T.hint_title[0] = 0;
}

static void set_message(const char *msg)
{
    sl_clear(&T.hint);
    snprintf(T.hint_title, sizeof T.hint_title, "%s", msg);
}

static void complete(void)
{
    LineEdit *e = &T.ed;
    clear_hint();
    char *line = ed_utf8(e, e->n);
    int at = ed_byte_of(e, e->cur), start, space;
    Completions c;
    int n = complete_line(T.s, line, at, &start, &c, &space);
    if (n == 0) {
        beep();
    } else {
        /* Longest common prefix of the candidates. */
        size_t lcp = strlen(c.v[0]);
        for (int i = 1; i < c.n; i++) {
            size_t j = 0;
            while (j < lcp && c.v[i][j] == c.v[0][j]) j++;
            lcp = j;
        }
        while (lcp > 0 && ((unsigned char)c.v[0][lcp] & 0xC0) == 0x80) lcp--; /* never cut a UTF-8 sequence */
        StrBuf ins;
        sb_init(&ins);
        sb_putn(&ins, c.v[0], lcp);
        if (c.n == 1 && space && !(e->cur < e->n && e->b[e->cur] == ' ')) sb_putc(&ins, ' ');
        if (ins.len > (size_t)(at - start) || c.n == 1) {
            int from = ed_cp_of(e, start);
            ed_delete(e, from, e->cur);
            e->cur = from;
            ed_insert_utf8(e, ins.s ? ins.s : "");
        }
        sb_free(&ins);
        if (c.n > 1) {
            for (int i = 0; i < c.n; i++) sl_push(&T.hint, c.v[i]);
            snprintf(T.hint_title, sizeof T.hint_title, "%d completions", c.n);
        }
    }
    completions_free(&c);
    free(line);
}

/* ------------------------------------------------------------------ keys */

static void handle_mouse(void)
{
    MEVENT ev;
    if (getmouse(&ev) != OK) return;
    if (ev.bstate & BUTTON4_PRESSED) pane_scroll_by(&T.pane, 3);
#ifdef BUTTON5_PRESSED
    else if (ev.bstate & BUTTON5_PRESSED) pane_scroll_by(&T.pane, -3);
#endif
}

static long page(void) { return T.pane_h > 2 ? T.pane_h - 1 : 1; }

/* While a command runs: resize and scroll keys act now; other keys wait their turn. */
static void poll_keys_live(void)
{
    if (!T.on) return;
    struct { int code; wint_t ch; } keep[64];
    int nk = 0;
    nodelay(stdscr, TRUE);
    wint_t ch;
    int r, changed = 0;
    while ((r = get_wch(&ch)) != ERR) {
        if (r == KEY_CODE_YES && ch == KEY_RESIZE) { layout(); clear(); changed = 1; }
        else if (r == KEY_CODE_YES && ch == KEY_PPAGE) { pane_scroll_by(&T.pane, page()); changed = 1; }
        else if (r == KEY_CODE_YES && ch == KEY_NPAGE) { pane_scroll_by(&T.pane, -page()); changed = 1; }
        else if (r == KEY_CODE_YES && ch == KEY_MOUSE) { handle_mouse(); changed = 1; }
        else if (nk < 64) { keep[nk].code = r; keep[nk].ch = ch; nk++; }
    }
    nodelay(stdscr, FALSE);
    for (int i = nk - 1; i >= 0; i--) {
        if (keep[i].code == KEY_CODE_YES) ungetch((int)keep[i].ch);
        else unget_wch((wchar_t)keep[i].ch);
    }
    if (changed) draw();
}

static const char KEYS_HELP[] =
    "keys:\n"
    "  Enter run · Tab complete · Up/Down (Ctrl-P/N) history\n"
    "  Left/Right Home/End Ctrl-A/E move · Alt-B/F by word\n"
    "  Backspace Delete · Ctrl-K/U/W kill · Ctrl-Y yank\n"
    "  PgUp/PgDn, Shift-Up/Down, mouse wheel: scroll the output\n"
    "  F1 help · F5 step · F6 next · F7 continue\n"
    "  Ctrl-C clears the line or stops a command; twice, or Ctrl-D: quit\n"
    "  Ctrl-L redraw · Ctrl-Z suspend · Shift+drag selects text\n";

static int run_fkey(const char *cmd)
{
    clear_hint();
    echo_cmd(prompt_str(), cmd);
    return exec_line(cmd);
}

/* Enter: runs the edit line. Returns CMD_QUIT to leave. */
static int submit(void)
{
    char *line = ed_utf8(&T.ed, T.ed.n);
    T.ed.n = T.ed.cur = 0;
    free(T.ed.draft);
    T.ed.draft = NULL;
    clear_hint();
    T.pane.scroll = 0;
    int rc = CMD_OK;
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p) {
        hist_add(&T.ed, line);
        if (T.scr) set_term(T.scr); /* keep curses' terminal current whatever libedit did */
    }
    T.ed.hpos = T.ed.hist.n;
    if (!*p && !T.les && T.repeat[0]) { /* Enter again after step / next */
        char again[16];
        snprintf(again, sizeof again, "%s", T.repeat);
        echo_cmd(prompt_str(), again);
        free(line);
        return exec_line(again);
    }
    echo_cmd(prompt_str(), line);
    if (T.les && lesson_input(line)) {
        free(line);
        return CMD_OK;
    }
    if (*p) rc = exec_line(line);
    free(line);
    return rc;
}

/* Handles one key; returns 1 to quit. */
static int handle_key(int r, wint_t ch)
{
    LineEdit *e = &T.ed;
    int was_armed = T.cc_armed;
    T.cc_armed = 0;
    int meta = T.meta;
    T.meta = 0;
    if (r == KEY_CODE_YES) {
        if (ch != KEY_RESIZE && ch != KEY_MOUSE) clear_hint();
        switch (ch) {
        case KEY_RESIZE: layout(); clear(); break;
        case KEY_LEFT: if (e->cur > 0) e->cur--; break;
        case KEY_RIGHT: if (e->cur < e->n) e->cur++; break;
        case KEY_HOME: e->cur = 0; break;
        case KEY_END: e->cur = e->n; break;
        case KEY_BACKSPACE: if (e->cur > 0) ed_delete(e, e->cur - 1, e->cur); break;
        case KEY_DC: if (e->cur < e->n) ed_delete(e, e->cur, e->cur + 1); break;
        case KEY_UP: if (hist_move(e, -1)) beep(); break;
        case KEY_DOWN: if (hist_move(e, 1)) beep(); break;
        case KEY_PPAGE: pane_scroll_by(&T.pane, page()); break;
        case KEY_NPAGE:
            /* at the bottom of a paused lesson, PageDown (a presenter's clicker) goes on */
            if (T.les && T.pane.scroll == 0 && T.ed.n == 0) {
                echo_cmd(prompt_str(), "");
                lesson_input("");
            } else {
                pane_scroll_by(&T.pane, -page());
            }
            break;
        case KEY_SR: pane_scroll_by(&T.pane, 1); break;
        case KEY_SF: pane_scroll_by(&T.pane, -1); break;
        case KEY_MOUSE: handle_mouse(); break;
        case KEY_ENTER: return submit() == CMD_QUIT;
        case KEY_F(1):
            if (run_fkey("help") == CMD_QUIT) return 1;
            pane_puts_styled(&T.pane, KEYS_HELP, st(ST_PLAIN));
            break;
        case KEY_F(5): {
            Session *s = T.s;
            /* At the end of a pass, F5 starts the walk again. */
            if (s->trace && s->trace->next >= s->trace->nstages && run_fkey("reset") == CMD_QUIT) return 1;
            if (run_fkey("step") == CMD_QUIT) return 1;
            break;
        }
        case KEY_F(6): if (run_fkey("next") == CMD_QUIT) return 1; break;
        case KEY_F(7): if (run_fkey("continue") == CMD_QUIT) return 1; break;
        case KEY_F(10): return 1;
        default: break;
        }
        return 0;
    }
    if (meta) {
        clear_hint();
        if (ch == 'b' || ch == 'B') { e->cur = ed_word_left(e, e->cur); return 0; }
        if (ch == 'f' || ch == 'F') { e->cur = ed_word_right(e, e->cur); return 0; }
        if (ch == 'd' || ch == 'D') { ed_kill(e, e->cur, ed_word_right(e, e->cur)); return 0; }
        if (ch == 127 || ch == 8) { ed_kill(e, ed_word_left(e, e->cur), e->cur); return 0; }
        /* anything else: an ESC on its own, then this key */
    }
    if (ch != '\t') clear_hint();
    switch (ch) {
    case 27: T.meta = 1; break;               /* ESC: Alt-key prefix, or just closes the hint */
    case '\r': case '\n': return submit() == CMD_QUIT;
    case '\t': complete(); break;
    case 1: e->cur = 0; break;                /* Ctrl-A */
    case 2: if (e->cur > 0) e->cur--; break;  /* Ctrl-B */
    case 5: e->cur = e->n; break;             /* Ctrl-E */
    case 6: if (e->cur < e->n) e->cur++; break; /* Ctrl-F */
    case 3:                                   /* Ctrl-C */
        if (e->n > 0) {
            e->n = e->cur = 0;
            e->hpos = e->hist.n;
        } else if (was_armed) {
            return 1;
        } else {
            T.cc_armed = 1;
            set_message("Ctrl-C again (or Ctrl-D) quits");
        }
        break;
    case 4:                                   /* Ctrl-D */
        if (e->n == 0) return 1;
        if (e->cur < e->n) ed_delete(e, e->cur, e->cur + 1);
        break;
    case 8: case 127: if (e->cur > 0) ed_delete(e, e->cur - 1, e->cur); break;
    case 11: ed_kill(e, e->cur, e->n); break; /* Ctrl-K */
    case 21: ed_kill(e, 0, e->cur); break;    /* Ctrl-U */
    case 23: {                                /* Ctrl-W: the word before the cursor */
        int i = e->cur;
        while (i > 0 && (e->b[i - 1] == ' ' || e->b[i - 1] == '\t')) i--;
        while (i > 0 && e->b[i - 1] != ' ' && e->b[i - 1] != '\t') i--;
        ed_kill(e, i, e->cur);
        break;
    }
    case 25: ed_yank(e); break;               /* Ctrl-Y */
    case 12: clearok(curscr, TRUE); break;    /* Ctrl-L */
    case 16: if (hist_move(e, -1)) beep(); break; /* Ctrl-P */
    case 14: if (hist_move(e, 1)) beep(); break;  /* Ctrl-N */
    case 26:                                  /* Ctrl-Z: ncurses' SIGTSTP handler restores the terminal */
        raise(SIGTSTP);
        break;
    default:
        if (ch >= 32 && ch != 127 && !(ch >= 0x80 && ch < 0xA0)) {
            uint32_t c = (uint32_t)ch;
            ed_insert(e, &c, 1);
        }
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------ start, signals, stop */

/* SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGQUIT: the terminal first, then the signal takes its
 * previous course (the default action, or a sanitizer's report). A real fault returns and
 * faults again under the old action; a sent signal is raised again. */
static void crash_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (T.on) {
        T.on = 0;
        endwin();
    }
    capture_stop(1);
    for (int i = 0; i < NCRASH; i++) {
        if (CRASH_SIGS[i] != sig) continue;
        struct sigaction old = T.old_act[i];
        if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) old.sa_handler = SIG_DFL;
        sigaction(sig, &old, NULL);
    }
    if (!si || si->si_code <= 0) raise(sig);
}

static void install_crash_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = crash_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    for (int i = 0; i < NCRASH; i++) sigaction(CRASH_SIGS[i], &sa, &T.old_act[i]);
}

static void restore_crash_handlers(void)
{
    for (int i = 0; i < NCRASH; i++) sigaction(CRASH_SIGS[i], &T.old_act[i], NULL);
}

static int setup_locale(void)
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    if (!cs || strcmp(cs, "UTF-8")) {
        if (!setlocale(LC_ALL, "C.UTF-8")) setlocale(LC_ALL, "C.utf8");
        cs = nl_langinfo(CODESET);
    }
    /* Numbers are printed and parsed the C way whatever the language. */
    setlocale(LC_NUMERIC, "C");
    return cs && !strcmp(cs, "UTF-8");
}

/* Plain line mode (libedit, no curses) with the TUI's history file and completion:
 * `--plain`, and the fallback for a terminal curses cannot drive. */
int tui_line_mode(Session *s)
{
    s->interactive = 1;
    const char *path = history_path();
    using_history();
    read_history(path);
    complete_readline_init(s);
    printf("gptrepl — a live GPT you can take apart. 'help' lists commands, 'quit' leaves.\n");
    for (;;) {
        g_interrupted = 0;
        char *line = readline("gptrepl> ");
        if (!line) {
            putchar('\n');
            if (session_may_quit(s)) break;
            session_flush_stdout(s);
            continue;
        }
        if (*line) add_history(line);
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p && T.repeat[0]) { /* Enter again after step / next */
            free(line);
            line = strdup(T.repeat);
            if (!line) break;
        }
        /* the line's last command decides what Enter repeats */
        size_t at = 0, cut;
        while ((cut = line_next_cut(line, at, NULL)) < strlen(line)) at = cut + 1;
        note_repeat(line + at);
        int rc = session_exec_multi(s, line);
        free(line);
        if (rc == CMD_QUIT) break;
    }
    write_history(path);
    clear_history();
    return 0;
}

static void welcome(void)
{
    Session *s = T.s;
    pane_puts_styled(&T.pane, "gptrepl", st(ST_HEAD));
    pane_puts_styled(&T.pane, " — a live GPT you can take apart.\n", st(ST_PLAIN));
    pane_puts_styled(&T.pane, "'help' or F1 lists commands and keys · Tab completes · F5 steps · 'quit' leaves\n",
                     st(ST_DIM));
    if (!s->m) pane_puts_styled(&T.pane, "no model yet: 'new tiny' makes one, 'load PATH' opens a checkpoint\n", st(ST_PLAIN));
}

int tui_main(Session *s)
{
    memset(&T, 0, sizeof T);
    T.s = s;
    T.saved_out = T.saved_err = -1;
    int utf8 = setup_locale();

    /* History first: libedit's first call sets up its own terminfo terminal (cur_term on
     * fd 1); newterm below must come after it, or curses would later set modes on fd 1
     * once that points at the capture file. */
    hist_load(&T.ed);
    int fd = dup(1);
    T.ttyf = fd >= 0 ? fdopen(fd, "w") : NULL;
    T.scr = T.ttyf ? newterm(NULL, T.ttyf, stdin) : NULL;
    if (!T.scr) {
        if (T.ttyf) fclose(T.ttyf);
        fprintf(stderr, "gptrepl: cannot start the TUI on TERM=%s; using line mode\n", getenv("TERM") ? getenv("TERM") : "");
        clear_history(); /* tui_line_mode reads the file again */
        ed_free(&T.ed);
        return tui_line_mode(s);
    }
    install_crash_handlers();
    set_term(T.scr);
    T.on = 1;
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    intrflush(stdscr, FALSE);
    set_escdelay(25);
    /* Home/End as tmux, screen and rxvt send them. */
    define_key("\033[1~", KEY_HOME);
    define_key("\033[7~", KEY_HOME);
    define_key("\033[H", KEY_HOME);
    define_key("\033OH", KEY_HOME);
    define_key("\033[4~", KEY_END);
    define_key("\033[8~", KEY_END);
    define_key("\033[F", KEY_END);
    define_key("\033OF", KEY_END);
    screen_init(&T.sc);
    T.sc.utf8 = utf8;
    /* Pictures in as many colours as this terminal shows (none: the ASCII ramp). */
    if (!T.sc.has_colors) s->color = VIZ_COLOR_NONE;
    else if (T.sc.ncolors < 256 && s->color > VIZ_COLOR_16) s->color = VIZ_COLOR_16;
    T.sc.mono = !T.sc.has_colors || s->color == VIZ_COLOR_NONE;
    mousemask(BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              ,
              NULL);
    mouseinterval(0);

    pane_init(&T.pane);
    void (*old_flush)(Session *) = s->flush;
    void (*old_report)(Session *, const char *) = s->report;
    s->flush = tui_flush;
    s->report = tui_report;
    s->start_lesson = tui_start_lesson;
    s->clear = tui_clear;
    s->interactive = 1;
    capture_start();
    layout();
    welcome();
    draw();

    int errs = 0;
    for (;;) {
        wint_t ch;
        errno = 0;
        int r = get_wch(&ch);
        if (r == ERR) {
            if (errno == EINTR && ++errs < 1000) continue;
            break; /* the terminal is gone */
        }
        errs = 0;
        if (handle_key(r, ch)) {
            /* Ctrl-D, Ctrl-C twice, F10, quit: once more when training would be lost */
            if (session_may_quit(T.s)) break;
            tui_flush(T.s);
        }
        if (T.s->quit) break;
        draw();
    }

    /* Leave: terminal first, then history. */
    if (T.les) {
        lesson_close(T.les);
        free(T.les);
        T.les = NULL;
    }
    T.on = 0;
    endwin();
    delscreen(T.scr);
    fclose(T.ttyf);
    capture_stop(0);
    if (T.cap) {
        /* Anything written after the last drain. */
        int cfd = fileno(T.cap);
        char buf[4096];
        off_t off = 0;
        ssize_t k;
        while ((k = pread(cfd, buf, sizeof buf, off)) > 0) {
            fwrite(buf, 1, (size_t)k, stdout);
            off += k;
        }
        fclose(T.cap);
        T.cap = NULL;
    }
    restore_crash_handlers();
    s->flush = old_flush;
    s->report = old_report;
    s->start_lesson = NULL;
    s->clear = NULL;
    hist_save(&T.ed);
    ed_free(&T.ed);
    sl_free(&T.hint);
    pane_free(&T.pane);
    fflush(stdout);
    return 0;
}
