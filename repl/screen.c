/* screen.c — colours as this terminal shows them, styles, and drawing cells of text. */
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1

#include "screen.h"
#include "common.h"

#include <ncursesw/curses.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

void screen_init(Screen *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->has_colors = has_colors();
    if (sc->has_colors) {
        start_color();
        sc->defcolors = use_default_colors() == OK;
        sc->ncolors = COLORS;
        sc->direct = COLORS >= 0x1000000;
        if (COLORS < 8) sc->has_colors = 0;
    }
    sc->mono = !sc->has_colors;
}

Style screen_style(const Screen *sc, StyleKind k)
{
    Style z = {COL_DEF, COL_DEF, 0};
    int mono = sc->mono;
    switch (k) {
    case ST_PLAIN: break;
    case ST_BOLD: z.attr = AT_BOLD; break;
    case ST_ERR: z.fg = mono ? COL_DEF : COL_IDX(1); z.attr = AT_BOLD; break;
    case ST_HEAD: z.fg = mono ? COL_DEF : sc->light ? COL_RGB(0, 80, 150) : COL_IDX(6); z.attr = AT_BOLD; break;
    case ST_CYAN: z.fg = mono ? COL_DEF : sc->light ? COL_RGB(0, 100, 130) : COL_IDX(6); break;
    case ST_DIM: z.attr = AT_DIM; break;
    case ST_TITLE:
        if (mono) z.attr = AT_REV;
        else { z.fg = COL_IDX(0); z.bg = COL_IDX(6); }
        break;
    case ST_HINT:
        if (mono) z.attr = AT_REV;
        else { z.fg = COL_IDX(7); z.bg = COL_IDX(4); }
        break;
    }
    return z;
}

int cp_cols(uint32_t cp)
{
    char b[4];
    int k = gr_utf8_encode(cp, b);
    return gr_utf8_width(b, (size_t)k);
}

int text_cols(const char *s) { return gr_utf8_width(s, strlen(s)); }

/* ---------------- colours ---------------- */

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
static int term_color(const Screen *sc, uint32_t c)
{
    if (c == COL_DEF || !sc->has_colors) return -1;
    uint32_t kind = c >> 24, v = c & 0xFFFFFF;
    if (sc->direct) {
        if (kind == 1 && v < 8) return (int)v;
        uint32_t rgb = kind == 1 ? idx_rgb((int)v) : v;
        return rgb < 8 ? 8 : (int)rgb; /* values below 8 mean the ANSI colours there */
    }
    if (sc->ncolors >= 256) return kind == 1 ? (int)v : rgb_to_256(v);
    int n = sc->ncolors >= 16 ? 16 : 8;
    if (kind == 1 && (int)v < n) return (int)v;
    if (kind == 1 && v < 16) return (int)v - 8;
    return rgb_to_n(kind == 1 ? idx_rgb((int)v) : v, n);
}

static int pair_for(const Screen *sc, uint32_t fg, uint32_t bg)
{
    int f = term_color(sc, fg), b = term_color(sc, bg);
    if (f < 0 && b < 0) return 0;
    if (!sc->defcolors) {
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

/* ---------------- cells ---------------- */

void screen_cell(const Screen *sc, int y, int x, uint32_t cp, uint32_t comb, Style st)
{
    /* light: the terminal's own default colours replaced by a projector's white page */
    if (sc->light && sc->has_colors) {
        if (st.fg == COL_DEF) st.fg = COL_RGB(20, 20, 20);
        if (st.bg == COL_DEF) st.bg = COL_RGB(255, 255, 255);
        if (st.attr & AT_DIM) { st.attr &= (uint8_t)~AT_DIM; st.fg = COL_RGB(110, 110, 110); }
    }
    wchar_t w[3] = {(wchar_t)cp, 0, 0};
    if (cp >= 0x80 && wcwidth((wchar_t)cp) < 0) w[0] = sc->utf8 ? 0xFFFD : '?';
    if (cp >= 0x80 && !sc->utf8) w[0] = '?';
    if (comb && sc->utf8) w[1] = (wchar_t)comb;
    int pair = pair_for(sc, st.fg, st.bg);
    cchar_t cc;
    if (setcchar(&cc, w, to_attr(st.attr), 0, &pair) == ERR) {
        w[0] = '?';
        w[1] = 0;
        if (setcchar(&cc, w, to_attr(st.attr), 0, &pair) == ERR) return;
    }
    mvadd_wch(y, x, &cc);
}

void screen_fill(const Screen *sc, int y, int x, int w, Style st)
{
    for (int i = 0; i < w; i++) screen_cell(sc, y, x + i, ' ', 0, st);
}

int screen_text(const Screen *sc, int y, int x, int maxw, const char *s, Style st)
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
        screen_cell(sc, y, x + used, cp, 0, st);
        used += w;
    }
    return used;
}
