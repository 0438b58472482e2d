/* tui.c — the ncurses TUI. Like htop's CRT.c, this one module owns curses: every curses
 * call of gptrepl lives here.
 *
 *   row 0          title bar: model, device, stage cursor, key hints, scroll state
 *   rows 1..H      output pane (scrollback, SGR colours, wrapping)  │  side panel
 *   last row       prompt line: editing, history, Tab completion
 *
 * The side panel (model, device, settings, run, stage list with the cursor) is hidden
 * below 100 columns or 20 rows. Commands write into s->out; the pane runs it through a
 * small terminal emulator (UTF-8, SGR colours, \r, \t, CSI K) so the viz renderers'
 * output shows as it would on a plain terminal, clipped to s->width = the pane width.
 * While curses is up, stray writes to fd 1/2 go to a temporary file and are shown in
 * the pane instead of tearing the screen. `lesson NAME` runs here too (lesson.c's runner
 * reads stdin): prose and commands go to the pane, the prompt becomes "lesson>" between
 * paragraphs (Enter: next, back, quit, or any command).
 *
 * Prompt mode is raw() (Ctrl-C is a key: clear the line; twice at an empty prompt
 * quits). While a command runs the terminal is in cbreak() mode, so Ctrl-C raises
 * SIGINT, main.c's handler sets g_interrupted and generate/train stop. */
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1

#include "session.h"
#include "lesson.h"

#include <ncursesw/curses.h>
#include <editline/readline.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define MAX_LINES 5000      /* scrollback, logical lines */
#define DROP_LINES 500      /* dropped at once when full */
#define HIST_MAX 1000
#define SIDE_MIN_COLS 100   /* side panel shown from here */
#define SIDE_MIN_ROWS 20
#define DRAW_EVERY_MS 33.0  /* streaming redraw throttle */
#define NCRASH 5            /* crash signals handled */

/* ------------------------------------------------------------------ styles */

enum { AT_BOLD = 1, AT_DIM = 2, AT_ITALIC = 4, AT_UNDER = 8, AT_REV = 16 };
#define COL_DEF 0u
#define COL_IDX(i) (0x01000000u | (uint32_t)(i))
#define COL_RGB(r, g, b) (0x02000000u | ((uint32_t)(r) << 16) | ((uint32_t)(g) << 8) | (uint32_t)(b))

typedef struct {
    uint32_t fg, bg; /* COL_DEF, COL_IDX(n) or COL_RGB(r,g,b) */
    uint8_t attr;
} Style;

typedef struct {
    uint32_t cp, comb; /* code point and one combining mark (0 = none) */
    Style st;
    uint8_t w;         /* display columns: 1 or 2 */
} Cell;

typedef struct {
    Cell *c;
    int n, cap;
    int rows, rows_w; /* wrapped row count, valid while rows_w == pane width */
} Line;

enum { PS_TEXT, PS_UTF8, PS_ESC, PS_CSI, PS_OSC };

typedef struct {
    Line *l;
    int n, cap;      /* n >= 1; l[n-1] is the line being written */
    int cur;         /* write position (cell index) in the last line */
    Style st;        /* current SGR state */
    int ps;          /* parser state */
    char pb[64];     /* pending UTF-8 bytes or CSI parameters */
    int pn, need;
    long scroll;     /* wrapped rows above the bottom */
} Pane;

typedef struct {
    uint32_t *b;
    int n, cap, cur;
} Edit;

typedef struct {
    char **v;
    int n, cap;
} StrList;

typedef struct {
    int active, paused;
    Lesson les;
    int i, para_start, prev_para;
    int checks, failed, cmd_errors;
    int errors_before;         /* s->errors when it started: a lesson counts as one error */
    char path[1024];
} TuiLesson;

typedef struct {
    int li, a, b;
} RowRef;

static struct {
    Session *s;
    SCREEN *scr;
    FILE *ttyf;
    int on;                    /* curses is active */
    int saved_out, saved_err;  /* the real stdout / stderr while captured */
    FILE *cap;                 /* stray output capture */
    volatile sig_atomic_t cap_stopped;
    int has_colors, ncolors, direct, defcolors, utf8;
    /* layout */
    int rows, cols, pane_y, pane_w, pane_h, side_on, side_x, side_w;
    int width_set;             /* the s->width we set last (a user 'set width' sticks) */
    Pane pane;
    Edit ed;
    /* history */
    StrList hist;
    int hpos, nnew;
    char *draft;
    char histpath[1024];
    /* transient overlay above the prompt: completion candidates or a message */
    StrList hint;
    char hint_title[128];
    /* state */
    int running;
    double last_draw;
    int cc_armed;              /* Ctrl-C pressed at an empty prompt */
    int meta;                  /* ESC seen: next key is Alt-key */
    char *killbuf;
    TuiLesson les;
    const char *dev_note;      /* why no CUDA, or NULL */
    RowRef *rowbuf;
    int rowcap;
    int *starts;
    int startcap;
    struct sigaction old_act[NCRASH];
} T;

static const int CRASH_SIGS[NCRASH] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGQUIT};

static int mono(void) { return !T.has_colors || !T.s || T.s->color == VIZ_COLOR_NONE; }
static Style st_plain(void) { Style z = {COL_DEF, COL_DEF, 0}; return z; }
static Style st_bold(void) { Style z = {COL_DEF, COL_DEF, AT_BOLD}; return z; }
static Style st_err(void)
{
    Style z = {mono() ? COL_DEF : COL_IDX(1), COL_DEF, AT_BOLD};
    return z;
}
static Style st_head(void)
{
    Style z = {mono() ? COL_DEF : COL_IDX(6), COL_DEF, AT_BOLD};
    return z;
}
static Style st_cyan(void)
{
    Style z = {mono() ? COL_DEF : COL_IDX(6), COL_DEF, 0};
    return z;
}
static Style st_dim(void)
{
    Style z = {COL_DEF, COL_DEF, AT_DIM};
    return z;
}
static Style st_title(void)
{
    Style z = {COL_DEF, COL_DEF, AT_REV};
    if (!mono()) { z.fg = COL_IDX(0); z.bg = COL_IDX(6); z.attr = 0; }
    return z;
}
static Style st_hint(void)
{
    Style z = {COL_DEF, COL_DEF, AT_REV};
    if (!mono()) { z.fg = COL_IDX(7); z.bg = COL_IDX(4); z.attr = 0; }
    return z;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sl_push(StrList *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = realloc(l->v, sizeof(char *) * (size_t)l->cap);
    }
    l->v[l->n++] = strdup(s);
}
static void sl_clear(StrList *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    l->n = 0;
}
static void sl_free(StrList *l)
{
    sl_clear(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

static int cp_cols(uint32_t cp)
{
    char b[4];
    int k = gr_utf8_encode(cp, b);
    return gr_utf8_width(b, (size_t)k);
}

/* ------------------------------------------------------------------ colours */

static const unsigned char ANSI16[16][3] = {
    {0, 0, 0},       {205, 0, 0},   {0, 205, 0},   {205, 205, 0}, {0, 0, 238},     {205, 0, 205},
    {0, 205, 205},   {229, 229, 229}, {127, 127, 127}, {255, 0, 0}, {0, 255, 0},   {255, 255, 0},
    {92, 92, 255},   {255, 0, 255}, {0, 255, 255}, {255, 255, 255}};
static const int CUBE[6] = {0, 95, 135, 175, 215, 255};

static uint32_t idx_rgb(int i)
{
    if (i < 16) return ((uint32_t)ANSI16[i][0] << 16) | ((uint32_t)ANSI16[i][1] << 8) | ANSI16[i][2];
    if (i < 232) {
        i -= 16;
        return ((uint32_t)CUBE[i / 36] << 16) | ((uint32_t)CUBE[(i / 6) % 6] << 8) | (uint32_t)CUBE[i % 6];
    }
    int g = 8 + 10 * (i - 232);
    return ((uint32_t)g << 16) | ((uint32_t)g << 8) | (uint32_t)g;
}

static int dist2(int r, int g, int b, uint32_t rgb)
{
    int dr = r - (int)(rgb >> 16), dg = g - (int)((rgb >> 8) & 255), db = b - (int)(rgb & 255);
    return dr * dr + dg * dg + db * db;
}

static int cube_level(int v)
{
    int best = 0;
    for (int i = 1; i < 6; i++)
        if (abs(CUBE[i] - v) < abs(CUBE[best] - v)) best = i;
    return best;
}

static int rgb_to_256(uint32_t rgb)
{
    int r = (int)(rgb >> 16), g = (int)((rgb >> 8) & 255), b = (int)(rgb & 255);
    int ci = 16 + 36 * cube_level(r) + 6 * cube_level(g) + cube_level(b);
    int avg = (r + g + b) / 3;
    int gi = avg < 8 ? 0 : avg > 238 ? 23 : (avg - 8 + 5) / 10;
    if (gi > 23) gi = 23;
    gi += 232;
    return dist2(r, g, b, idx_rgb(gi)) < dist2(r, g, b, idx_rgb(ci)) ? gi : ci;
}

static int rgb_to_n(uint32_t rgb, int n)
{
    int r = (int)(rgb >> 16), g = (int)((rgb >> 8) & 255), b = (int)(rgb & 255);
    int best = 0, bd = 1 << 30;
    for (int i = 0; i < n; i++) {
        int d = dist2(r, g, b, idx_rgb(i));
        if (d < bd) { bd = d; best = i; }
    }
    return best;
}

/* A stored colour → a colour number for this terminal (-1: the default). */
static int term_color(uint32_t c)
{
    if (c == COL_DEF || !T.has_colors) return -1;
    uint32_t kind = c >> 24, v = c & 0xFFFFFF;
    if (T.direct) {
        if (kind == 1 && v < 8) return (int)v;
        uint32_t rgb = kind == 1 ? idx_rgb((int)v) : v;
        return rgb < 8 ? 8 : (int)rgb; /* values below 8 mean the ANSI colours there */
    }
    if (T.ncolors >= 256) return kind == 1 ? (int)v : rgb_to_256(v);
    int n = T.ncolors >= 16 ? 16 : 8;
    if (kind == 1 && (int)v < n) return (int)v;
    if (kind == 1 && v < 16) return (int)v - 8;
    return rgb_to_n(kind == 1 ? idx_rgb((int)v) : v, n);
}

static int pair_for(uint32_t fg, uint32_t bg)
{
    int f = term_color(fg), b = term_color(bg);
    if (f < 0 && b < 0) return 0;
    if (!T.defcolors) {
        if (f < 0) f = 7;
        if (b < 0) b = 0;
    }
#if defined(NCURSES_EXT_FUNCS) && NCURSES_EXT_FUNCS >= 20170401
    int p = alloc_pair(f, b);
    return p < 0 ? 0 : p;
#else
    static int used, keys[512];
    int key = (f + 1) * 70000 + (b + 1);
    for (int i = 0; i < used; i++)
        if (keys[i] == key) return i + 1;
    if (used + 1 >= COLOR_PAIRS || used >= 512) return 0;
    init_pair((short)(used + 1), (short)f, (short)b);
    keys[used++] = key;
    return used;
#endif
}

static attr_t to_attr(uint8_t a)
{
    attr_t r = A_NORMAL;
    if (a & AT_BOLD) r |= A_BOLD;
    if (a & AT_DIM) r |= A_DIM;
    if (a & AT_UNDER) r |= A_UNDERLINE;
    if (a & AT_REV) r |= A_REVERSE;
#ifdef A_ITALIC
    if (a & AT_ITALIC) r |= A_ITALIC;
#endif
    return r;
}

static void put_cell(int y, int x, uint32_t cp, uint32_t comb, Style st)
{
    wchar_t w[3] = {(wchar_t)cp, 0, 0};
    if (cp >= 0x80 && wcwidth((wchar_t)cp) < 0) w[0] = T.utf8 ? 0xFFFD : '?';
    if (cp >= 0x80 && !T.utf8) w[0] = '?';
    if (comb && T.utf8) w[1] = (wchar_t)comb;
    int pair = pair_for(st.fg, st.bg);
    cchar_t cc;
    if (setcchar(&cc, w, to_attr(st.attr), 0, &pair) == ERR) {
        w[0] = '?';
        w[1] = 0;
        if (setcchar(&cc, w, to_attr(st.attr), 0, &pair) == ERR) return;
    }
    mvadd_wch(y, x, &cc);
}

static void fill(int y, int x, int w, Style st)
{
    for (int i = 0; i < w; i++) put_cell(y, x + i, ' ', 0, st);
}

/* Draws UTF-8 text at (y, x), at most maxw columns; returns the columns used. */
static int put_text(int y, int x, int maxw, const char *s, Style st)
{
    int used = 0;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        unsigned cp;
        i += (size_t)gr_utf8_decode(s + i, n - i, &cp);
        if (cp < 32 || cp == 0x7f) cp = ' ';
        int w = cp_cols(cp);
        if (w == 0) continue;
        if (used + w > maxw) break;
        put_cell(y, x + used, cp, 0, st);
        used += w;
    }
    return used;
}

static int text_cols(const char *s) { return gr_utf8_width(s, strlen(s)); }

/* ------------------------------------------------------------------ the output pane */

static Line *pane_last(void) { return &T.pane.l[T.pane.n - 1]; }

static void pane_init(void)
{
    memset(&T.pane, 0, sizeof T.pane);
    T.pane.cap = 64;
    T.pane.l = calloc((size_t)T.pane.cap, sizeof(Line));
    T.pane.n = 1;
}

static void pane_free(void)
{
    for (int i = 0; i < T.pane.n; i++) free(T.pane.l[i].c);
    free(T.pane.l);
    memset(&T.pane, 0, sizeof T.pane);
}

static void pane_newline(void)
{
    Pane *p = &T.pane;
    if (p->n >= MAX_LINES) {
        for (int i = 0; i < DROP_LINES; i++) free(p->l[i].c);
        memmove(p->l, p->l + DROP_LINES, sizeof(Line) * (size_t)(p->n - DROP_LINES));
        p->n -= DROP_LINES;
    }
    if (p->n == p->cap) {
        p->cap *= 2;
        p->l = realloc(p->l, sizeof(Line) * (size_t)p->cap);
    }
    memset(&p->l[p->n++], 0, sizeof(Line));
    p->cur = 0;
    if (p->scroll > 0) p->scroll++; /* keep a scrolled-back view where it is */
}

static void pane_put(uint32_t cp)
{
    Pane *p = &T.pane;
    Line *L = pane_last();
    int w = cp_cols(cp);
    if (w == 0) {
        if (p->cur > 0 && !L->c[p->cur - 1].comb) L->c[p->cur - 1].comb = cp;
        return;
    }
    if (p->cur >= L->n) {
        if (L->n == L->cap) {
            L->cap = L->cap ? L->cap * 2 : 64;
            L->c = realloc(L->c, sizeof(Cell) * (size_t)L->cap);
        }
        p->cur = L->n++;
    }
    Cell *c = &L->c[p->cur++];
    c->cp = cp;
    c->comb = 0;
    c->st = p->st;
    c->w = (uint8_t)w;
    L->rows_w = -1;
}

static int line_cols(const Line *L, int upto)
{
    int w = 0;
    for (int i = 0; i < upto && i < L->n; i++) w += L->c[i].w;
    return w;
}

static void pane_sgr(const char *params)
{
    int v[32], nv = 0;
    const char *q = params;
    for (;;) {
        int x = 0, any = 0;
        while (*q >= '0' && *q <= '9') { x = x * 10 + (*q - '0'); q++; any = 1; }
        if (nv < 32) v[nv++] = any ? x : 0;
        if (*q == ';' || *q == ':') { q++; continue; }
        break;
    }
    Style *st = &T.pane.st;
    for (int i = 0; i < nv; i++) {
        int c = v[i];
        if (c == 0) *st = st_plain();
        else if (c == 1) st->attr |= AT_BOLD;
        else if (c == 2) st->attr |= AT_DIM;
        else if (c == 3) st->attr |= AT_ITALIC;
        else if (c == 4) st->attr |= AT_UNDER;
        else if (c == 7) st->attr |= AT_REV;
        else if (c == 22) st->attr &= (uint8_t)~(AT_BOLD | AT_DIM);
        else if (c == 23) st->attr &= (uint8_t)~AT_ITALIC;
        else if (c == 24) st->attr &= (uint8_t)~AT_UNDER;
        else if (c == 27) st->attr &= (uint8_t)~AT_REV;
        else if (c >= 30 && c <= 37) st->fg = COL_IDX(c - 30);
        else if (c >= 90 && c <= 97) st->fg = COL_IDX(c - 90 + 8);
        else if (c >= 40 && c <= 47) st->bg = COL_IDX(c - 40);
        else if (c >= 100 && c <= 107) st->bg = COL_IDX(c - 100 + 8);
        else if (c == 39) st->fg = COL_DEF;
        else if (c == 49) st->bg = COL_DEF;
        else if (c == 38 || c == 48) {
            uint32_t col = COL_DEF;
            if (i + 2 < nv && v[i + 1] == 5) {
                col = COL_IDX(v[i + 2] & 255);
                i += 2;
            } else if (i + 4 < nv && v[i + 1] == 2) {
                col = COL_RGB(v[i + 2] & 255, v[i + 3] & 255, v[i + 4] & 255);
                i += 4;
            } else {
                break;
            }
            if (c == 38) st->fg = col;
            else st->bg = col;
        }
    }
}

static void pane_csi(char final)
{
    Pane *p = &T.pane;
    p->pb[p->pn] = 0;
    if (final == 'm') {
        pane_sgr(p->pb);
    } else if (final == 'K') {
        Line *L = pane_last();
        int mode = atoi(p->pb);
        if (mode == 0 && p->cur < L->n) L->n = p->cur;
        else if (mode == 2) { L->n = 0; p->cur = 0; }
        L->rows_w = -1;
    }
}

/* Feeds output bytes through the little terminal emulator into the pane. */
static void pane_feed(const char *s, size_t n)
{
    Pane *p = &T.pane;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
    again:
        switch (p->ps) {
        case PS_TEXT:
            if (b == 0x1b) p->ps = PS_ESC;
            else if (b == '\n') pane_newline();
            else if (b == '\r') p->cur = 0;
            else if (b == '\b') { if (p->cur > 0) p->cur--; }
            else if (b == '\t') {
                int col = line_cols(pane_last(), p->cur);
                do { pane_put(' '); col++; } while (col % 8);
            } else if (b < 0x20 || b == 0x7f) {
                /* other controls: dropped */
            } else if (b < 0x80) pane_put(b);
            else if ((b & 0xE0) == 0xC0 || (b & 0xF0) == 0xE0 || ((b & 0xF8) == 0xF0 && b < 0xF5)) {
                p->pb[0] = (char)b;
                p->pn = 1;
                p->need = (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : 3;
                p->ps = PS_UTF8;
            } else pane_put(0xFFFD);
            break;
        case PS_UTF8:
            if ((b & 0xC0) != 0x80) {
                pane_put(0xFFFD);
                p->ps = PS_TEXT;
                goto again;
            }
            p->pb[p->pn++] = (char)b;
            if (--p->need == 0) {
                unsigned cp;
                gr_utf8_decode(p->pb, (size_t)p->pn, &cp);
                if (!(cp >= 0x80 && cp < 0xA0)) pane_put(cp);
                p->ps = PS_TEXT;
            }
            break;
        case PS_ESC:
            if (b == '[') { p->ps = PS_CSI; p->pn = 0; }
            else if (b == ']') p->ps = PS_OSC;
            else p->ps = PS_TEXT;
            break;
        case PS_CSI:
            if (b >= 0x40 && b <= 0x7e) {
                pane_csi((char)b);
                p->ps = PS_TEXT;
            } else if (p->pn < (int)sizeof p->pb - 1) p->pb[p->pn++] = (char)b;
            break;
        case PS_OSC:
            if (b == 7) p->ps = PS_TEXT;
            else if (b == 0x1b) p->ps = PS_ESC;
            break;
        }
    }
}

static void pane_puts_styled(const char *text, Style st)
{
    T.pane.st = st;
    pane_feed(text, strlen(text));
    T.pane.st = st_plain();
}

/* Starts a fresh line unless the last one is empty. */
static void pane_bol(void)
{
    if (pane_last()->n > 0) pane_newline();
    T.pane.st = st_plain();
    T.pane.ps = PS_TEXT;
}

/* End (exclusive) of the wrapped row that starts at cell `start`: words move to the next
 * row whole when the break can go at a space in the right half of the row. */
static int wrap_next(const Line *L, int start, int W)
{
    int col = 0, i = start, brk = -1;
    while (i < L->n) {
        int w = L->c[i].w;
        if (col + w > W && i > start) {
            if (L->c[i].cp == ' ') return i + 1; /* a space at the break hangs in the margin */
            if (brk > 0) return brk;
            break;
        }
        col += w;
        i++;
        if (L->c[i - 1].cp == ' ' && col * 2 >= W) brk = i;
    }
    return i;
}

static int line_rows(Line *L, int W)
{
    if (L->rows_w == W) return L->rows;
    int r = 0, i = 0;
    do {
        i = wrap_next(L, i, W);
        r++;
    } while (i < L->n);
    L->rows = r;
    L->rows_w = W;
    return r;
}

/* Lines shown: an empty line being written (the cursor's line) takes no row. */
static int pane_shown(void) { return T.pane.n > 1 && pane_last()->n == 0 ? T.pane.n - 1 : T.pane.n; }

static long pane_total_rows(void)
{
    long t = 0;
    for (int i = 0, n = pane_shown(); i < n; i++) t += line_rows(&T.pane.l[i], T.pane_w);
    return t;
}

static void pane_scroll_by(long d)
{
    T.pane.scroll += d;
    long maxs = pane_total_rows() - T.pane_h;
    if (maxs < 0) maxs = 0;
    if (T.pane.scroll > maxs) T.pane.scroll = maxs;
    if (T.pane.scroll < 0) T.pane.scroll = 0;
}

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
    Style hs = st_hint();
    int y = top;
    if (T.hint_title[0]) {
        fill(y, 0, W, hs);
        put_text(y, 1, W - 1, T.hint_title, hs);
        y++;
    }
    for (int r = 0; r < nrow && y < T.pane_y + H; r++, y++) {
        fill(y, 0, W, st_plain());
        for (int c = 0; c < ncol; c++) {
            int k = r * ncol + c;
            if (k >= T.hint.n) break;
            if (more > 0 && r == nrow - 1 && c == ncol - 1) {
                char buf[48];
                snprintf(buf, sizeof buf, "(+%d more)", more);
                put_text(y, c * colw, colw, buf, st_dim());
                break;
            }
            put_text(y, c * colw, colw - 1, T.hint.v[k], st_cyan());
        }
    }
}

static void draw_pane(void)
{
    Pane *p = &T.pane;
    int W = T.pane_w, H = T.pane_h;
    if (W <= 0 || H <= 0) return;
    pane_scroll_by(0); /* clamp */
    if (T.rowcap < H) {
        T.rowcap = H;
        T.rowbuf = realloc(T.rowbuf, sizeof(RowRef) * (size_t)H);
    }
    int k = H;
    long skip = p->scroll;
    for (int li = pane_shown() - 1; li >= 0 && k > 0; li--) {
        Line *L = &p->l[li];
        int nr = line_rows(L, W);
        if (skip >= nr) {
            skip -= nr;
            continue;
        }
        if (T.startcap < nr + 1) {
            T.startcap = nr + 1;
            T.starts = realloc(T.starts, sizeof(int) * (size_t)T.startcap);
        }
        int r = 0, i = 0;
        do {
            T.starts[r++] = i;
            i = wrap_next(L, i, W);
        } while (i < L->n);
        T.starts[r] = L->n;
        for (int rr = nr - 1 - (int)skip; rr >= 0 && k > 0; rr--) {
            RowRef ref = {li, T.starts[rr], T.starts[rr + 1]};
            T.rowbuf[--k] = ref;
        }
        skip = 0;
    }
    int filled = H - k;
    for (int y = 0; y < H; y++) {
        int sy = T.pane_y + y;
        int x = 0;
        if (y < filled) {
            RowRef *r = &T.rowbuf[k + y];
            Line *L = &p->l[r->li];
            for (int i = r->a; i < r->b; i++) {
                Cell *c = &L->c[i];
                if (x + c->w > W) break;
                put_cell(sy, x, c->cp, c->comb, c->st);
                if (c->w == 2 && x + 1 < W) {
                    /* the right half belongs to the wide character */
                }
                x += c->w;
            }
        }
        if (x < W) fill(sy, x, W - x, st_plain());
    }
    draw_hint();
}

/* ------------------------------------------------------------------ side panel and title */

static void fmt_count(char *buf, size_t n, double v)
{
    if (v >= 1e9) snprintf(buf, n, "%.2fB", v / 1e9);
    else if (v >= 1e6) snprintf(buf, n, "%.2fM", v / 1e6);
    else if (v >= 1e4) snprintf(buf, n, "%.1fk", v / 1e3);
    else snprintf(buf, n, "%.0f", v);
}

static const char *dev_name(void)
{
    Session *s = T.s;
    if (s->m && s->m->be && s->m->be->name) return s->m->be->name;
    return "cpu";
}

typedef struct {
    int y, x, w, bottom;
} Pen;

static void pen_line(Pen *p, const char *text, Style st)
{
    if (p->y >= p->bottom) return;
    fill(p->y, p->x, p->w, st_plain());
    put_text(p->y, p->x + 1, p->w - 1, text, st);
    p->y++;
}

static void pen_skip(Pen *p)
{
    if (p->y < p->bottom) fill(p->y++, p->x, p->w, st_plain());
}

static void draw_side(void)
{
    Session *s = T.s;
    int x = T.side_x, w = T.side_w;
    int top = T.pane_y, bottom = T.pane_y + T.pane_h;
    for (int y = top; y < bottom; y++) mvadd_wch(y, x - 1, WACS_VLINE);
    Pen p = {top, x, w, bottom};
    char buf[512], n1[32];
    pen_line(&p, "MODEL", st_head());
    if (s->m) {
        const GptConfig *c = &s->m->cfg;
        pen_line(&p, s->model_name[0] ? s->model_name : "(unnamed)", st_bold());
        snprintf(buf, sizeof buf, "%d layer%s · %d head%s · d %d", c->n_layer, c->n_layer == 1 ? "" : "s", c->n_head,
                 c->n_head == 1 ? "" : "s", c->d);
        pen_line(&p, buf, st_plain());
        snprintf(buf, sizeof buf, "ctx %d · vocab %d %s", c->ctx, c->vocab,
                 c->tokenizer == TOK_CHAR ? "char" : c->tokenizer == TOK_GPT2 ? "bpe" : "byte");
        pen_line(&p, buf, st_plain());
        if (c->post_norm || !c->tie || c->relu || !c->pos || !c->mlp || c->logit_scale) {
            snprintf(buf, sizeof buf, "%s%s%s%s%s%s", c->post_norm ? "post-LN " : "", c->tie ? "" : "untied ",
                     c->relu ? "relu " : "", c->pos ? "" : "no-pos ", c->mlp ? "" : "no-mlp ",
                     c->logit_scale ? "z/√d" : "");
            pen_line(&p, buf, st_plain());
        }
        fmt_count(n1, sizeof n1, (double)s->m->total);
        snprintf(buf, sizeof buf, "%s params · device %s", n1, dev_name());
        pen_line(&p, buf, st_plain());
    } else {
        pen_line(&p, "(no model)", st_dim());
        pen_line(&p, "try: new tiny", st_dim());
        snprintf(buf, sizeof buf, "device %s", T.dev_note ? "cpu" : "cuda available");
        pen_line(&p, buf, st_plain());
    }
    pen_skip(&p);
    pen_line(&p, "SETTINGS", st_head());
    snprintf(buf, sizeof buf, "temperature %g", s->samp.temperature);
    pen_line(&p, buf, st_plain());
    snprintf(buf, sizeof buf, "top_k %d · top_p %g", s->samp.top_k, s->samp.top_p);
    pen_line(&p, buf, st_plain());
    snprintf(buf, sizeof buf, "color %s · seed %llu", viz_color_name(s->color), (unsigned long long)s->seed);
    pen_line(&p, buf, st_plain());
    if (s->nabl) {
        pen_skip(&p);
        snprintf(buf, sizeof buf, "ABLATED (%d)", s->nabl);
        pen_line(&p, buf, st_err());
        for (int i = 0; i < s->nabl && p.y < bottom - 4; i++) {
            static const char *modes[] = {"zero", "mean", "identity", "copy"};
            const Ablation *a = &s->abl[i];
            snprintf(buf, sizeof buf, "%s %s%s%s", a->target, a->mode >= 0 && a->mode < 4 ? modes[a->mode] : "?",
                     a->mode == ABL_COPY ? ":" : "", a->mode == ABL_COPY ? a->other : "");
            pen_line(&p, buf, st_plain());
        }
    }
    if (s->trace && s->run_text) {
        pen_skip(&p);
        StrBuf t;
        sb_init(&t);
        viz_text_escape(&t, s->run_text);
        snprintf(buf, sizeof buf, "RUN  %d token%s", s->trace->T, s->trace->T == 1 ? "" : "s");
        pen_line(&p, buf, st_head());
        snprintf(buf, sizeof buf, "\"%s\"", t.s ? t.s : "");
        sb_free(&t);
        pen_line(&p, buf, st_plain());
        if (s->trace && s->trace->next >= s->trace->nstages && !isnan(s->trace->loss)) {
            snprintf(buf, sizeof buf, "loss %.4f (ln V %.3f)", s->trace->loss, log((double)s->m->cfg.vocab));
            pen_line(&p, buf, st_plain());
        }
    }
    if (s->trace && s->trace->nstages > 0) {
        pen_skip(&p);
        const Acts *f = s->trace;
        if (f->next >= f->nstages) snprintf(buf, sizeof buf, "STAGES  done (%d)", f->nstages);
        else snprintf(buf, sizeof buf, "STAGES  %d/%d  F5 step", f->next + 1, f->nstages);
        pen_line(&p, buf, st_head());
        int avail = bottom - p.y;
        if (avail > 0) {
            int start = f->next - avail / 3;
            if (start > f->nstages - avail) start = f->nstages - avail;
            if (start < 0) start = 0;
            for (int i = start; i < f->nstages && p.y < bottom; i++) {
                const char *mark = i < f->next ? (T.utf8 ? "✓ " : "+ ") : i == f->next ? (T.utf8 ? "→ " : "> ") : "  ";
                fill(p.y, x, w, st_plain());
                int used = put_text(p.y, x + 1, w - 1, mark, i < f->next ? st_dim() : st_bold());
                Style ns = i == f->next ? st_cyan() : i < f->next ? st_dim() : st_cyan();
                if (i == f->next) ns.attr |= AT_REV | AT_BOLD;
                put_text(p.y, x + 1 + used, w - 1 - used, f->stages[i].name, ns);
                p.y++;
            }
        }
    } else if (s->m) {
        pen_skip(&p);
        pen_line(&p, "STAGES", st_head());
        pen_line(&p, "run \"text\" or step \"text\"", st_dim());
    }
    while (p.y < bottom) fill(p.y++, x, w, st_plain());
}

static void draw_title(void)
{
    Session *s = T.s;
    Style ts = st_title();
    fill(0, 0, T.cols, ts);
    char left[512], right[160];
    int k = snprintf(left, sizeof left, " gptrepl");
    if (s->m) k += snprintf(left + k, sizeof left - (size_t)k, " · %s · %s", s->model_name, dev_name());
    else k += snprintf(left + k, sizeof left - (size_t)k, " · no model");
    if (s->trace && s->trace->nstages > 0 && !T.side_on && k < (int)sizeof left) {
        if (s->trace->next < s->trace->nstages)
            snprintf(left + k, sizeof left - (size_t)k, " · stage %d/%d %s", s->trace->next + 1, s->trace->nstages,
                     s->trace->stages[s->trace->next].name);
        else snprintf(left + k, sizeof left - (size_t)k, " · stages done");
    }
    if (T.pane.scroll > 0) snprintf(right, sizeof right, "↑ %ld rows back · PgDn ", T.pane.scroll);
    else if (T.les.active) snprintf(right, sizeof right, "lesson · F1 help ");
    else if (T.cols >= 90) snprintf(right, sizeof right, "F1 help  F5 step  F6 next  F7 continue ");
    else snprintf(right, sizeof right, "F1 help ");
    if (!T.utf8 && T.pane.scroll > 0) snprintf(right, sizeof right, "scrolled %ld · PgDn ", T.pane.scroll);
    int rw = text_cols(right);
    int lw = put_text(0, 0, T.cols, left, ts);
    if (lw + 2 + rw <= T.cols) put_text(0, T.cols - rw, rw, right, ts);
}

static const char *prompt_str(void) { return T.les.active && T.les.paused ? "lesson> " : "gptrepl> "; }

static void draw_prompt(void)
{
    int y = T.rows - 1, W = T.cols - 1; /* never the bottom-right cell */
    fill(y, 0, W, st_plain());
    if (T.running) {
        put_text(y, 0, W, "running… Ctrl-C stops", st_dim());
        return;
    }
    const char *pr = prompt_str();
    int pw = put_text(y, 0, W, pr, st_bold());
    int avail = W - pw;
    if (avail < 2) return;
    /* Horizontal scroll so the cursor stays visible ('<' marks hidden text on the left). */
    Edit *e = &T.ed;
    int start = 0, curcol = 0;
    for (int i = 0; i < e->cur; i++) curcol += cp_cols(e->b[i]);
    while (curcol + (start > 0) >= avail && start < e->cur) curcol -= cp_cols(e->b[start++]);
    int x = pw;
    if (start > 0) put_cell(y, x++, '<', 0, st_dim());
    int cx = x + curcol;
    for (int i = start; i < e->n; i++) {
        int w = cp_cols(e->b[i]);
        if (w == 0) continue;
        if (x + w > W) break;
        put_cell(y, x, e->b[i], 0, st_plain());
        x += w;
    }
    move(y, cx);
}

static void layout(void)
{
    T.rows = LINES;
    T.cols = COLS;
    T.side_on = T.cols >= SIDE_MIN_COLS && T.rows >= SIDE_MIN_ROWS;
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
    /* Renderers clip to the pane; a width set by hand ('set width N') sticks. */
    if (T.s->width == T.width_set || T.width_set == 0) T.s->width = T.width_set = T.pane_w < 20 ? 20 : T.pane_w;
}

static void draw(void)
{
    if (!T.on) return;
    if (T.rows < 3 || T.cols < 10) {
        erase();
        mvaddnstr(0, 0, "too small", T.cols);
        refresh();
        return;
    }
    draw_title();
    draw_pane();
    if (T.side_on) draw_side();
    draw_prompt();
    curs_set(T.running ? 0 : 1);
    refresh();
    T.last_draw = now_ms();
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
    pane_bol();
    while (off < end) {
        size_t want = (size_t)(end - off) < sizeof buf ? (size_t)(end - off) : sizeof buf;
        ssize_t k = pread(fd, buf, want, off);
        if (k <= 0) break;
        pane_feed(buf, (size_t)k);
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
static void tui_flush_cb(Session *s)
{
    if (s->out.len) pane_feed(s->out.s, s->out.len);
    sb_clear(&s->out);
    capture_drain();
    poll_keys_live();
    if (now_ms() - T.last_draw >= DRAW_EVERY_MS) draw();
}

static void echo_cmd(const char *prefix, const char *line)
{
    pane_bol();
    pane_puts_styled(prefix, st_bold());
    StrBuf b;
    sb_init(&b);
    viz_text_escape(&b, line);
    pane_puts_styled(b.s ? b.s : "", st_bold());
    sb_free(&b);
    pane_newline();
}

static void show_error(const char *msg)
{
    pane_bol();
    char pre[1100] = "";
    if (T.s->src_file) snprintf(pre, sizeof pre, "%s:%d: ", T.s->src_file, T.s->src_line);
    pane_puts_styled(pre, st_err());
    pane_puts_styled("error: ", st_err());
    StrBuf b;
    sb_init(&b);
    viz_text_escape(&b, msg);
    pane_puts_styled(b.s ? b.s : "", st_err());
    sb_free(&b);
    pane_newline();
}

static void lesson_start(const char *name);
static void lesson_end(void);

/* Runs one command (no ';'); output and errors go to the pane. Returns CMD_*. */
static int exec_one(const char *cmd)
{
    Session *s = T.s;
    while (*cmd == ' ' || *cmd == '\t') cmd++;
    if (!*cmd || *cmd == '#') return CMD_OK;
    /* `lesson NAME` runs inside the TUI (lesson.c's runner talks to stdin/stdout). */
    if (!strncmp(cmd, "lesson", 6) && (cmd[6] == ' ' || cmd[6] == '\t')) {
        const char *a = cmd + 6;
        while (*a == ' ' || *a == '\t') a++;
        if (*a && T.les.active && !T.les.paused) {
            show_error("a lesson cannot start another lesson");
            s->errors++;
            return CMD_ERR;
        }
        if (*a) {
            char name[1024];
            snprintf(name, sizeof name, "%s", a);
            size_t n = strlen(name);
            while (n && isspace((unsigned char)name[n - 1])) name[--n] = 0;
            if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
                memmove(name, name + 1, n - 2);
                name[n - 2] = 0;
            }
            lesson_start(name);
            return CMD_OK;
        }
    }
    GrErr e = {{0}};
    g_interrupted = 0;
    T.running = 1;
    T.pane.scroll = 0;
    noraw();
    cbreak(); /* Ctrl-C is SIGINT while a command runs */
    draw();
    T.pane.st = st_plain();
    int rc = session_exec(s, cmd, &e);
    if (s->out.len) pane_feed(s->out.s, s->out.len);
    sb_clear(&s->out);
    capture_drain();
    raw();
    T.running = 0;
    g_interrupted = 0;
    if (rc == CMD_ERR) {
        s->errors++;
        show_error(e.msg);
    }
    pane_bol();
    return rc;
}

/* Splits at ';' outside quotes (as session_exec_multi) and runs each part. */
static int exec_line(const char *line)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#') return CMD_OK;
    size_t n = strlen(line);
    char *buf = malloc(n + 1);
    int inq = 0, rc = CMD_OK;
    size_t k = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = line[i];
        if (c == '"' && (i == 0 || line[i - 1] != '\\')) inq = !inq;
        if ((c == ';' && !inq) || c == 0) {
            buf[k] = 0;
            k = 0;
            int r = exec_one(buf);
            if (r == CMD_QUIT) { rc = CMD_QUIT; break; }
            if (r == CMD_ERR) rc = CMD_ERR;
            continue;
        }
        buf[k++] = c;
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ lessons inside the TUI */

static void lesson_pause_note(void)
{
    pane_bol();
    pane_puts_styled("-- Enter: next · back · quit · or type a command --", st_head());
    pane_newline();
}

/* Runs lesson items until the next pause or the end. */
static void lesson_advance(void)
{
    TuiLesson *L = &T.les;
    Session *s = T.s;
    L->paused = 0;
    s->src_file = L->path;
    for (; L->i < L->les.n; L->i++) {
        const LessonItem *it = &L->les.items[L->i];
        s->src_line = it->line;
        switch (it->kind) {
        case LI_TITLE:
            pane_bol();
            pane_puts_styled(it->text, st_head());
            pane_newline();
            break;
        case LI_PROSE:
            pane_bol();
            pane_puts_styled(it->text, st_plain());
            pane_newline();
            break;
        case LI_NOTE:
            break;
        case LI_CMD: {
            echo_cmd("> ", it->text);
            int before = s->errors;
            exec_line(it->text); /* 'quit' in a lesson does not leave gptrepl (as in line mode) */
            if (s->errors > before) L->cmd_errors++;
            break;
        }
        case LI_CHECK: {
            char cbuf[4100];
            snprintf(cbuf, sizeof cbuf, "check %s", it->text);
            L->checks++;
            int before = s->errors;
            exec_one(cbuf);
            if (s->errors > before) L->failed++;
            break;
        }
        case LI_FAIL: {
            echo_cmd("> ", it->text);
            GrErr e = {{0}};
            T.running = 1;
            noraw();
            cbreak();
            int r = session_exec(s, it->text, &e);
            raw();
            T.running = 0;
            if (s->out.len) pane_feed(s->out.s, s->out.len);
            sb_clear(&s->out);
            capture_drain();
            L->checks++;
            pane_bol();
            if (r == CMD_ERR) {
                pane_puts_styled("error (expected): ", st_dim());
                pane_puts_styled(e.msg, st_plain());
                pane_newline();
            } else {
                char msg[1200];
                snprintf(msg, sizeof msg, "expected '%s' to fail", it->text);
                show_error(msg);
                s->errors++;
                L->failed++;
            }
            break;
        }
        case LI_BREAK:
            pane_bol();
            if (L->i > L->para_start) {
                lesson_pause_note();
                L->paused = 1;
                s->src_file = NULL;
                return;
            }
            break;
        }
    }
    lesson_end();
}

static void lesson_end(void)
{
    TuiLesson *L = &T.les;
    Session *s = T.s;
    if (!L->active) return;
    char buf[1400];
    snprintf(buf, sizeof buf, "lesson %s: %d checks, %d failed, %d command errors", L->path, L->checks, L->failed,
             L->cmd_errors);
    pane_bol();
    pane_puts_styled(buf, L->failed || L->cmd_errors ? st_err() : st_head());
    pane_newline();
    s->errors = L->errors_before + (L->failed || L->cmd_errors ? 1 : 0);
    lesson_free(&L->les);
    L->active = L->paused = 0;
    s->src_file = NULL;
}

static void lesson_start(const char *name)
{
    Session *s = T.s;
    if (T.les.active) lesson_end();
    char path[1024];
    if (lesson_find(name, path, sizeof path)) {
        char msg[1200];
        snprintf(msg, sizeof msg, "no lesson named '%s'. Available lessons:", name);
        show_error(msg);
        s->errors++;
        GrErr e;
        if (session_exec(s, "lesson", &e) == CMD_OK && s->out.len) pane_feed(s->out.s, s->out.len);
        sb_clear(&s->out);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        char msg[1200];
        snprintf(msg, sizeof msg, "cannot open %s: %s", path, strerror(errno));
        show_error(msg);
        s->errors++;
        return;
    }
    StrBuf text;
    sb_init(&text);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(&text, buf, k);
    fclose(f);
    GrErr pe;
    TuiLesson *L = &T.les;
    memset(L, 0, sizeof *L);
    if (lesson_parse(text.s ? text.s : "", text.len, &L->les, &pe)) {
        char msg[1600];
        snprintf(msg, sizeof msg, "%s: %s", path, pe.msg);
        show_error(msg);
        s->errors++;
        sb_free(&text);
        return;
    }
    sb_free(&text);
    snprintf(L->path, sizeof L->path, "%s", path);
    L->errors_before = s->errors;
    L->active = 1;
    lesson_advance();
}

/* A line typed while a lesson waits between paragraphs. Returns CMD_* or -1 if not consumed. */
static int lesson_input(const char *line)
{
    TuiLesson *L = &T.les;
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    char w[16];
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1])) n--;
    if (n >= sizeof w) return -1;
    memcpy(w, p, n);
    w[n] = 0;
    if (!w[0] || !strcmp(w, "next")) {
        L->prev_para = L->para_start;
        L->para_start = L->i + 1;
        L->i++;
        lesson_advance();
        return CMD_OK;
    }
    if (!strcmp(w, "back")) {
        L->i = L->prev_para;
        L->para_start = L->prev_para;
        lesson_advance();
        return CMD_OK;
    }
    if (!strcmp(w, "quit")) {
        L->i = L->les.n;
        lesson_end();
        return CMD_OK;
    }
    return -1;
}

/* ------------------------------------------------------------------ history */

static void hist_load(void)
{
    const char *home = getenv("HOME");
    snprintf(T.histpath, sizeof T.histpath, "%s/.gptrepl_history", home && *home ? home : ".");
    using_history();
    stifle_history(HIST_MAX);
    read_history(T.histpath);
    for (int i = 0; i < history_length; i++) {
        HIST_ENTRY *h = history_get(history_base + i);
        if (h && h->line) sl_push(&T.hist, h->line);
    }
    T.hpos = T.hist.n;
}

static void hist_add(const char *line)
{
    if (!*line) return;
    if (T.hist.n && !strcmp(T.hist.v[T.hist.n - 1], line)) return;
    if (T.hist.n >= HIST_MAX) {
        free(T.hist.v[0]);
        memmove(T.hist.v, T.hist.v + 1, sizeof(char *) * (size_t)(T.hist.n - 1));
        T.hist.n--;
    }
    sl_push(&T.hist, line);
    add_history(line);
    if (T.scr) set_term(T.scr); /* keep curses' terminal current whatever libedit did */
    T.nnew++;
}

/* At exit: the file as it is now (another session may have added to it) plus this
 * session's lines, the last HIST_MAX kept. */
static void hist_save(void)
{
    if (!T.histpath[0]) return;
    if (T.nnew > 0) {
        clear_history();
        read_history(T.histpath);
        int n = T.nnew < T.hist.n ? T.nnew : T.hist.n;
        for (int i = T.hist.n - n; i < T.hist.n; i++) add_history(T.hist.v[i]);
        write_history(T.histpath);
    }
    clear_history();
}

/* ------------------------------------------------------------------ line editing */

static void ed_reserve(int n)
{
    if (n <= T.ed.cap) return;
    T.ed.cap = n * 2 + 16;
    T.ed.b = realloc(T.ed.b, sizeof(uint32_t) * (size_t)T.ed.cap);
}

static void ed_insert(const uint32_t *cps, int k)
{
    Edit *e = &T.ed;
    ed_reserve(e->n + k);
    memmove(e->b + e->cur + k, e->b + e->cur, sizeof(uint32_t) * (size_t)(e->n - e->cur));
    memcpy(e->b + e->cur, cps, sizeof(uint32_t) * (size_t)k);
    e->n += k;
    e->cur += k;
}

static void ed_delete(int from, int to)
{
    Edit *e = &T.ed;
    if (from < 0) from = 0;
    if (to > e->n) to = e->n;
    if (to <= from) return;
    memmove(e->b + from, e->b + to, sizeof(uint32_t) * (size_t)(e->n - to));
    e->n -= to - from;
    if (e->cur > to) e->cur -= to - from;
    else if (e->cur > from) e->cur = from;
}

static char *cps_utf8(const uint32_t *b, int n)
{
    StrBuf sb;
    sb_init(&sb);
    for (int i = 0; i < n; i++) {
        char t[4];
        int k = gr_utf8_encode(b[i], t);
        sb_putn(&sb, t, (size_t)k);
    }
    if (!sb.s) sb_puts(&sb, "");
    return sb.s;
}

static int utf8_cps(const char *s, uint32_t **out)
{
    size_t n = strlen(s), i = 0;
    uint32_t *v = malloc(sizeof(uint32_t) * (n + 1));
    int k = 0;
    while (i < n) {
        unsigned cp;
        i += (size_t)gr_utf8_decode(s + i, n - i, &cp);
        v[k++] = cp;
    }
    *out = v;
    return k;
}

static void ed_set(const char *s)
{
    uint32_t *v;
    int k = utf8_cps(s, &v);
    T.ed.n = T.ed.cur = 0;
    ed_insert(v, k);
    free(v);
}

static void ed_kill(int from, int to)
{
    if (to <= from) return;
    free(T.killbuf);
    T.killbuf = cps_utf8(T.ed.b + from, to - from);
    ed_delete(from, to);
}

static int is_word_cp(uint32_t c) { return c > 127 || isalnum((int)c) || c == '_' || c == '.'; }

static int word_left(int i)
{
    while (i > 0 && !is_word_cp(T.ed.b[i - 1])) i--;
    while (i > 0 && is_word_cp(T.ed.b[i - 1])) i--;
    return i;
}
static int word_right(int i)
{
    while (i < T.ed.n && !is_word_cp(T.ed.b[i])) i++;
    while (i < T.ed.n && is_word_cp(T.ed.b[i])) i++;
    return i;
}

/* ------------------------------------------------------------------ completion */

static const char *SETTING_KEYS[] = {"temperature", "top_k", "top_p", "color", "width", NULL};
static const char *COLOR_VALUES[] = {"auto", "none", "16", "256", "truecolor", NULL};

static void add_matching(StrList *out, const char *cand, const char *prefix)
{
    if (!strncmp(cand, prefix, strlen(prefix))) sl_push(out, cand);
}

static void add_tensor_names(StrList *out, const char *prefix)
{
    Session *s = T.s;
    if (s->trace)
        for (int i = 0; i < s->trace->nentries; i++) add_matching(out, s->trace->entries[i].name, prefix);
    if (s->m)
        for (int i = 0; i < s->m->nparams; i++) add_matching(out, s->m->info[i].name, prefix);
}

/* --options mentioned in a command's usage and help text. */
static void add_options(StrList *out, const Command *c, const char *prefix)
{
    const char *texts[2] = {c->usage, c->help};
    for (int t = 0; t < 2; t++) {
        const char *q = texts[t];
        while (q && (q = strstr(q, "--"))) {
            const char *e = q + 2;
            while (*e && (isalnum((unsigned char)*e) || *e == '-' || *e == '_')) e++;
            if (e > q + 2) {
                char buf[64];
                size_t n = (size_t)(e - q) < sizeof buf - 1 ? (size_t)(e - q) : sizeof buf - 1;
                memcpy(buf, q, n);
                buf[n] = 0;
                add_matching(out, buf, prefix);
            }
            q = e;
        }
    }
}

/* Functions named in the eval help text ("functions: mean std ..."). */
static void add_functions(StrList *out, const char *prefix)
{
    const Command *c = cmd_find("eval");
    const char *q = c && c->help ? strstr(c->help, "functions:") : NULL;
    if (!q) return;
    q += 10;
    while (*q && *q != '\n') {
        while (*q == ' ') q++;
        const char *e = q;
        while (*e && *e != ' ' && *e != '\n') e++;
        if (e > q) {
            char buf[64];
            size_t n = (size_t)(e - q) < sizeof buf - 2 ? (size_t)(e - q) : sizeof buf - 2;
            memcpy(buf, q, n);
            buf[n] = '(';
            buf[n + 1] = 0;
            add_matching(out, buf, prefix);
        }
        q = e;
    }
}

static void add_files(StrList *out, const char *prefix)
{
    const char *slash = strrchr(prefix, '/');
    char dir[1024];
    const char *base = prefix;
    if (slash) {
        size_t n = (size_t)(slash - prefix) + 1;
        if (n >= sizeof dir) return;
        memcpy(dir, prefix, n);
        dir[n] = 0;
        base = slash + 1;
    } else dir[0] = 0;
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d) return;
    struct dirent *de;
    size_t bl = strlen(base);
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (de->d_name[0] == '.' && base[0] != '.') continue;
        if (strncmp(de->d_name, base, bl)) continue;
        char full[2200];
        snprintf(full, sizeof full, "%s%s", dir, de->d_name);
        struct stat sb;
        if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) strcat(full, "/");
        sl_push(out, full);
    }
    closedir(d);
}

static void add_lessons(StrList *out, const char *prefix)
{
    const char *d = getenv("GPTREPL_LESSONS");
    const char *root = d && *d ? d : "lessons";
    const char *langs[] = {"en", "vi"};
    for (int l = 0; l < 2; l++) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", root, langs[l]);
        DIR *dd = opendir(dir);
        if (!dd) continue;
        struct dirent *de;
        while ((de = readdir(dd))) {
            size_t n = strlen(de->d_name);
            if (n <= 7 || strcmp(de->d_name + n - 7, ".lesson")) continue;
            char name[600];
            snprintf(name, sizeof name, "%s%.*s", l ? "vi/" : "", (int)(n - 7), de->d_name);
            add_matching(out, name, prefix);
        }
        closedir(dd);
    }
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void sort_unique(StrList *l)
{
    qsort(l->v, (size_t)l->n, sizeof(char *), cmp_strp);
    int k = 0;
    for (int i = 0; i < l->n; i++) {
        if (k && !strcmp(l->v[k - 1], l->v[i])) { free(l->v[i]); continue; }
        l->v[k++] = l->v[i];
    }
    l->n = k;
}

static int is_delim(uint32_t c, int expr)
{
    if (c == ' ' || c == '\t') return 1;
    return expr && c < 128 && strchr("()+*/,<>=!-;", (int)c) != NULL;
}

static void complete(void)
{
    Edit *e = &T.ed;
    sl_clear(&T.hint);
    T.hint_title[0] = 0;
    /* Inside a quoted text there is nothing to complete. */
    int inq = 0, cmd_start = 0;
    for (int i = 0; i < e->cur; i++) {
        if (e->b[i] == '"' && (i == 0 || e->b[i - 1] != '\\')) inq = !inq;
        if (e->b[i] == ';' && !inq) cmd_start = i + 1;
    }
    if (inq) { beep(); return; }
    /* Words before the cursor within this command. */
    char *pre = cps_utf8(e->b + cmd_start, e->cur - cmd_start);
    char *words[64];
    int nw = 0;
    char *save = NULL;
    for (char *w = strtok_r(pre, " \t", &save); w && nw < 64; w = strtok_r(NULL, " \t", &save)) words[nw++] = w;
    int ends_space = e->cur > cmd_start && (e->b[e->cur - 1] == ' ' || e->b[e->cur - 1] == '\t');
    int widx = ends_space ? nw : nw - 1; /* index of the word being completed */
    if (widx < 0) widx = 0;
    const char *cmd = nw > 0 && widx > 0 ? words[0] : NULL;
    const Command *c = cmd ? cmd_find(cmd) : NULL;
    int expr = c && (!strcmp(c->name, "eval") || !strcmp(c->name, "check") || !strcmp(c->name, "show") ||
                     !strcmp(c->name, "hist") || !strcmp(c->name, "heatmap") || !strcmp(c->name, "dump") ||
                     !strcmp(c->name, "ablate") || !strcmp(c->name, "export"));
    int start = e->cur;
    while (start > cmd_start && !is_delim(e->b[start - 1], expr && widx > 0)) start--;
    char *prefix = cps_utf8(e->b + start, e->cur - start);
    const char *prevw = widx >= 1 && widx - 1 < nw ? words[widx - 1] : "";
    StrList cand = {0};
    int add_space = 1;
    if (strchr(prefix, '[')) {
        /* a slice: nothing to offer */
    } else if (widx == 0) {
        for (const Command *k = COMMANDS; k->name; k++) add_matching(&cand, k->name, prefix);
    } else if (!c) {
        add_tensor_names(&cand, prefix);
        add_space = 0;
    } else if (!strncmp(prefix, "--", 2)) {
        add_options(&cand, c, prefix);
    } else if (!strcmp(prevw, "--data")) {
        const char *tasks[] = {"copy", "add", "sort", NULL};
        for (int i = 0; tasks[i]; i++) add_matching(&cand, tasks[i], prefix);
        add_files(&cand, prefix);
        add_space = 0;
    } else if (!strcmp(prevw, "--file")) {
        add_files(&cand, prefix);
        add_space = 0;
    } else if (!strcmp(c->name, "help")) {
        if (widx == 1)
            for (const Command *k = COMMANDS; k->name; k++) add_matching(&cand, k->name, prefix);
    } else if (!strcmp(c->name, "new")) {
        const char *eq = strchr(prefix, '=');
        if (widx == 1) {
            FieldDef pf = {.name = "PRESET", .kind = FK_CHOICE, .choices = cfg_preset_choices()};
            char w[64];
            for (int i = 0; field_choice(&pf, i, w, sizeof w) == 0; i++) add_matching(&cand, w, prefix);
        } else if (eq) {
            static const char *vals[] = {"norm=pre", "norm=post", "tie=on",      "tie=off",    "act=gelu",
                                         "act=relu", "pos=learned", "pos=none",  "mlp=on",     "mlp=off",
                                         "logit_scale=on", "logit_scale=off", "vocab=chars", "vocab=bytes", NULL};
            for (int i = 0; vals[i]; i++) add_matching(&cand, vals[i], prefix);
        } else {
            for (const FieldDef *p = cfg_keys(); p->name; p++) {
                char kv[64];
                snprintf(kv, sizeof kv, "%s=", p->name);
                add_matching(&cand, kv, prefix);
            }
            add_space = 0;
        }
    } else if (!strcmp(c->name, "set")) {
        if (widx == 1)
            for (int i = 0; SETTING_KEYS[i]; i++) add_matching(&cand, SETTING_KEYS[i], prefix);
        else if (widx == 2 && !strcmp(words[1], "color"))
            for (int i = 0; COLOR_VALUES[i]; i++) add_matching(&cand, COLOR_VALUES[i], prefix);
    } else if (!strcmp(c->name, "device")) {
        add_matching(&cand, "cpu", prefix);
        add_matching(&cand, "cuda", prefix);
    } else if (!strcmp(c->name, "lesson")) {
        add_lessons(&cand, prefix);
    } else if (!strcmp(c->name, "load") || !strcmp(c->name, "save")) {
        add_files(&cand, prefix);
        add_space = 0;
    } else if (!strcmp(c->name, "export")) {
        if (widx == 1) {
            const char *what[] = {"attn", "hist", "logits", "loss", "heatmap", NULL};
            for (int i = 0; what[i]; i++) add_matching(&cand, what[i], prefix);
        } else {
            add_tensor_names(&cand, prefix);
            add_files(&cand, prefix);
            add_space = 0;
        }
    } else if (!strcmp(c->name, "dump") && widx >= 2) {
        add_files(&cand, prefix);
        add_space = 0;
    } else {
        if (!strcmp(c->name, "ablate") && widx == 2) {
            const char *modes[] = {"zero", "mean", "identity", "copy:", NULL};
            for (int i = 0; modes[i]; i++) add_matching(&cand, modes[i], prefix);
        } else {
            add_tensor_names(&cand, prefix);
            if (!strcmp(c->name, "eval") || !strcmp(c->name, "check")) add_functions(&cand, prefix);
        }
        add_space = 0;
    }
    sort_unique(&cand);
    if (cand.n == 0) {
        beep();
    } else {
        /* Longest common prefix of the candidates. */
        size_t lcp = strlen(cand.v[0]);
        for (int i = 1; i < cand.n; i++) {
            size_t j = 0;
            while (j < lcp && cand.v[i][j] == cand.v[0][j]) j++;
            lcp = j;
        }
        /* Never cut a UTF-8 sequence. */
        while (lcp > 0 && ((unsigned char)cand.v[0][lcp] & 0xC0) == 0x80) lcp--;
        char *ins = strndup(cand.v[0], lcp);
        if (cand.n == 1) {
            size_t L = strlen(ins);
            int sp = add_space && L && ins[L - 1] != '=' && ins[L - 1] != '/' && ins[L - 1] != ':' && ins[L - 1] != '(';
            if (sp && !(e->cur < e->n && e->b[e->cur] == ' ')) {
                char *t = malloc(L + 2);
                memcpy(t, ins, L);
                t[L] = ' ';
                t[L + 1] = 0;
                free(ins);
                ins = t;
            }
        }
        if (strlen(ins) > strlen(prefix) || cand.n == 1) {
            uint32_t *v;
            int k = utf8_cps(ins, &v);
            ed_delete(start, e->cur);
            e->cur = start;
            ed_insert(v, k);
            free(v);
        }
        free(ins);
        if (cand.n > 1) {
            for (int i = 0; i < cand.n; i++) sl_push(&T.hint, cand.v[i]);
            snprintf(T.hint_title, sizeof T.hint_title, "%d completions", cand.n);
        }
    }
    sl_free(&cand);
    free(prefix);
    free(pre);
}

/* ------------------------------------------------------------------ keys */

static void set_message(const char *msg)
{
    sl_clear(&T.hint);
    snprintf(T.hint_title, sizeof T.hint_title, "%s", msg);
}

static void clear_hint(void)
{
    sl_clear(&T.hint);
    T.hint_title[0] = 0;
}

static void handle_mouse(void)
{
    MEVENT ev;
    if (getmouse(&ev) != OK) return;
    if (ev.bstate & BUTTON4_PRESSED) pane_scroll_by(3);
#ifdef BUTTON5_PRESSED
    else if (ev.bstate & BUTTON5_PRESSED) pane_scroll_by(-3);
#endif
}

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
        else if (r == KEY_CODE_YES && ch == KEY_PPAGE) { pane_scroll_by(T.pane_h > 2 ? T.pane_h - 1 : 1); changed = 1; }
        else if (r == KEY_CODE_YES && ch == KEY_NPAGE) { pane_scroll_by(-(T.pane_h > 2 ? T.pane_h - 1 : 1)); changed = 1; }
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
    if (T.les.active && T.les.paused) { /* lesson prompt: the key just runs the command */ }
    echo_cmd(prompt_str(), cmd);
    return exec_line(cmd);
}

/* Enter: runs the edit line. Returns CMD_QUIT to leave. */
static int submit(void)
{
    char *line = cps_utf8(T.ed.b, T.ed.n);
    T.ed.n = T.ed.cur = 0;
    free(T.draft);
    T.draft = NULL;
    clear_hint();
    T.pane.scroll = 0;
    int rc = CMD_OK;
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p) hist_add(line);
    T.hpos = T.hist.n;
    echo_cmd(prompt_str(), line);
    if (T.les.active && T.les.paused) {
        int r = lesson_input(line);
        if (r >= 0) { free(line); return r == CMD_QUIT ? CMD_QUIT : CMD_OK; }
    }
    if (*p) rc = exec_line(line);
    free(line);
    return rc;
}

static void hist_move(int d)
{
    int np = T.hpos + d;
    if (np < 0 || np > T.hist.n) { beep(); return; }
    if (T.hpos == T.hist.n) {
        free(T.draft);
        T.draft = cps_utf8(T.ed.b, T.ed.n);
    }
    T.hpos = np;
    ed_set(np == T.hist.n ? (T.draft ? T.draft : "") : T.hist.v[np]);
}

/* Handles one key; returns 1 to quit. */
static int handle_key(int r, wint_t ch)
{
    Edit *e = &T.ed;
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
        case KEY_BACKSPACE: if (e->cur > 0) ed_delete(e->cur - 1, e->cur); break;
        case KEY_DC: if (e->cur < e->n) ed_delete(e->cur, e->cur + 1); break;
        case KEY_UP: hist_move(-1); break;
        case KEY_DOWN: hist_move(1); break;
        case KEY_PPAGE: pane_scroll_by(T.pane_h > 2 ? T.pane_h - 1 : 1); break;
        case KEY_NPAGE: pane_scroll_by(-(T.pane_h > 2 ? T.pane_h - 1 : 1)); break;
        case KEY_SR: pane_scroll_by(1); break;
        case KEY_SF: pane_scroll_by(-1); break;
        case KEY_MOUSE: handle_mouse(); break;
        case KEY_ENTER: return submit() == CMD_QUIT;
        case KEY_F(1):
            if (run_fkey("help") == CMD_QUIT) return 1;
            pane_puts_styled(KEYS_HELP, st_plain());
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
        if (ch == 'b' || ch == 'B') { e->cur = word_left(e->cur); return 0; }
        if (ch == 'f' || ch == 'F') { e->cur = word_right(e->cur); return 0; }
        if (ch == 'd' || ch == 'D') { ed_kill(e->cur, word_right(e->cur)); return 0; }
        if (ch == 127 || ch == 8) { ed_kill(word_left(e->cur), e->cur); return 0; }
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
            T.hpos = T.hist.n;
        } else if (was_armed) {
            return 1;
        } else {
            T.cc_armed = 1;
            set_message("Ctrl-C again (or Ctrl-D) quits");
        }
        break;
    case 4:                                   /* Ctrl-D */
        if (e->n == 0) return 1;
        if (e->cur < e->n) ed_delete(e->cur, e->cur + 1);
        break;
    case 8: case 127: if (e->cur > 0) ed_delete(e->cur - 1, e->cur); break;
    case 11: ed_kill(e->cur, e->n); break;    /* Ctrl-K */
    case 21: ed_kill(0, e->cur); break;       /* Ctrl-U */
    case 23: {                                /* Ctrl-W: the word before the cursor */
        int i = e->cur;
        while (i > 0 && (e->b[i - 1] == ' ' || e->b[i - 1] == '\t')) i--;
        while (i > 0 && e->b[i - 1] != ' ' && e->b[i - 1] != '\t') i--;
        ed_kill(i, e->cur);
        break;
    }
    case 25:                                  /* Ctrl-Y */
        if (T.killbuf) {
            uint32_t *v;
            int k = utf8_cps(T.killbuf, &v);
            ed_insert(v, k);
            free(v);
        }
        break;
    case 12: clearok(curscr, TRUE); break;    /* Ctrl-L */
    case 16: hist_move(-1); break;            /* Ctrl-P */
    case 14: hist_move(1); break;             /* Ctrl-N */
    case 26:                                  /* Ctrl-Z: ncurses' SIGTSTP handler restores the terminal */
        raise(SIGTSTP);
        break;
    default:
        if (ch >= 32 && ch != 127 && !(ch >= 0x80 && ch < 0xA0)) {
            uint32_t c = (uint32_t)ch;
            ed_insert(&c, 1);
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

static void setup_locale(void)
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    if (!cs || strcmp(cs, "UTF-8")) {
        if (!setlocale(LC_ALL, "C.UTF-8")) setlocale(LC_ALL, "C.utf8");
        cs = nl_langinfo(CODESET);
    }
    T.utf8 = cs && !strcmp(cs, "UTF-8");
    /* Numbers are printed and parsed the C way whatever the language. */
    setlocale(LC_NUMERIC, "C");
}

/* Plain line mode (readline, no curses) with the TUI's history file: `--plain`, and the
 * fallback for a terminal curses cannot drive. */
int tui_line_mode(Session *s)
{
    const char *home = getenv("HOME");
    snprintf(T.histpath, sizeof T.histpath, "%s/.gptrepl_history", home && *home ? home : ".");
    using_history();
    read_history(T.histpath);
    printf("gptrepl — a live GPT you can take apart. 'help' lists commands, 'quit' leaves.\n");
    for (;;) {
        g_interrupted = 0;
        char *line = readline("gptrepl> ");
        if (!line) { putchar('\n'); break; }
        if (*line) add_history(line);
        int rc = session_exec_multi(s, line);
        free(line);
        if (rc == CMD_QUIT) break;
    }
    write_history(T.histpath);
    clear_history();
    return 0;
}

static void welcome(void)
{
    Session *s = T.s;
    pane_puts_styled("gptrepl", st_head());
    pane_puts_styled(" — a live GPT you can take apart.\n", st_plain());
    pane_puts_styled("'help' or F1 lists commands and keys · Tab completes · F5 steps · 'quit' leaves\n", st_dim());
    if (!s->m) pane_puts_styled("no model yet: 'new tiny' makes one, 'load PATH' opens a checkpoint\n", st_plain());
    if (T.dev_note) {
        char buf[600];
        snprintf(buf, sizeof buf, "device: cpu; %s\n", T.dev_note);
        pane_puts_styled(buf, st_dim());
    }
}

int tui_main(Session *s)
{
    memset(&T, 0, sizeof T);
    T.s = s;
    T.saved_out = T.saved_err = -1;
    setup_locale();
    const char *why = NULL;
    if (!backend_cuda(&why)) T.dev_note = why ? why : "no CUDA device";

    /* History first: libedit's first call sets up its own terminfo terminal (cur_term on
     * fd 1); newterm below must come after it, or curses would later set modes on fd 1
     * once that points at the capture file. */
    hist_load();
    int fd = dup(1);
    T.ttyf = fd >= 0 ? fdopen(fd, "w") : NULL;
    T.scr = T.ttyf ? newterm(NULL, T.ttyf, stdin) : NULL;
    if (!T.scr) {
        if (T.ttyf) fclose(T.ttyf);
        fprintf(stderr, "gptrepl: cannot start the TUI on TERM=%s; using line mode\n", getenv("TERM") ? getenv("TERM") : "");
        clear_history(); /* tui_line_mode reads the file again */
        sl_free(&T.hist);
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
    T.has_colors = has_colors();
    if (T.has_colors) {
        start_color();
        T.defcolors = use_default_colors() == OK;
        T.ncolors = COLORS;
        T.direct = COLORS >= 0x1000000;
        if (COLORS < 8) T.has_colors = 0;
    }
    /* Pictures in as many colours as this terminal shows (none: the ASCII ramp). */
    if (!T.has_colors) s->color = VIZ_COLOR_NONE;
    else if (T.ncolors < 256 && s->color > VIZ_COLOR_16) s->color = VIZ_COLOR_16;
    mousemask(BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              ,
              NULL);
    mouseinterval(0);

    pane_init();
    void (*old_flush)(Session *) = s->flush;
    s->flush = tui_flush_cb;
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
        if (handle_key(r, ch)) break;
        if (T.s->quit) break;
        draw();
    }

    /* Leave: terminal first, then history. */
    if (T.les.active) lesson_free(&T.les.les);
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
    hist_save();
    sl_free(&T.hist);
    sl_free(&T.hint);
    free(T.draft);
    free(T.killbuf);
    free(T.ed.b);
    free(T.rowbuf);
    free(T.starts);
    pane_free();
    fflush(stdout);
    return 0;
}
