/* pane.c — scrollback, the ANSI parser that fills it, wrapping and drawing. */
#include "pane.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LINES 5000 /* scrollback, logical lines */
#define DROP_LINES 500 /* dropped at once when full */

enum { PS_TEXT, PS_UTF8, PS_ESC, PS_CSI, PS_OSC };

static const Style PLAIN = {COL_DEF, COL_DEF, 0};

static Line *last(Pane *p) { return &p->l[p->n - 1]; }

void pane_init(Pane *p)
{
    memset(p, 0, sizeof *p);
    p->cap = 64;
    p->l = calloc((size_t)p->cap, sizeof(Line));
    p->n = p->l ? 1 : 0;
}

void pane_free(Pane *p)
{
    for (int i = 0; i < p->n; i++) free(p->l[i].c);
    free(p->l);
    free(p->rowbuf);
    free(p->starts);
    memset(p, 0, sizeof *p);
}

void pane_clear(Pane *p)
{
    int w = p->w, h = p->h;
    pane_free(p);
    pane_init(p);
    p->w = w;
    p->h = h;
}

void pane_newline(Pane *p)
{
    if (p->n >= MAX_LINES) {
        for (int i = 0; i < DROP_LINES; i++) free(p->l[i].c);
        memmove(p->l, p->l + DROP_LINES, sizeof(Line) * (size_t)(p->n - DROP_LINES));
        p->n -= DROP_LINES;
    }
    if (p->n == p->cap) {
        Line *nl = realloc(p->l, sizeof(Line) * (size_t)p->cap * 2);
        if (!nl) return;
        p->l = nl;
        p->cap *= 2;
    }
    memset(&p->l[p->n++], 0, sizeof(Line));
    p->cur = 0;
    if (p->scroll > 0) p->scroll++; /* keep a scrolled-back view where it is */
}

static void put(Pane *p, uint32_t cp)
{
    Line *L = last(p);
    int w = cp_cols(cp);
    if (w == 0) {
        if (p->cur > 0 && !L->c[p->cur - 1].comb) L->c[p->cur - 1].comb = cp;
        return;
    }
    if (p->cur >= L->n) {
        if (L->n == L->cap) {
            int cap = L->cap ? L->cap * 2 : 64;
            Cell *nc = realloc(L->c, sizeof(Cell) * (size_t)cap);
            if (!nc) return;
            L->c = nc;
            L->cap = cap;
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

static void sgr(Pane *p, const char *params)
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
    Style *st = &p->st;
    for (int i = 0; i < nv; i++) {
        int c = v[i];
        if (c == 0) *st = PLAIN;
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

static void csi(Pane *p, char final)
{
    p->pb[p->pn] = 0;
    if (final == 'm') {
        sgr(p, p->pb);
    } else if (final == 'K') {
        Line *L = last(p);
        int mode = atoi(p->pb);
        if (mode == 0 && p->cur < L->n) L->n = p->cur;
        else if (mode == 2) { L->n = 0; p->cur = 0; }
        L->rows_w = -1;
    }
}

void pane_feed(Pane *p, const char *s, size_t n)
{
    if (!p->l) return;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
    again:
        switch (p->ps) {
        case PS_TEXT:
            if (b == 0x1b) p->ps = PS_ESC;
            else if (b == '\n') pane_newline(p);
            else if (b == '\r') p->cur = 0;
            else if (b == '\b') { if (p->cur > 0) p->cur--; }
            else if (b == '\t') {
                int col = line_cols(last(p), p->cur);
                do { put(p, ' '); col++; } while (col % 8);
            } else if (b < 0x20 || b == 0x7f) {
                /* other controls: dropped */
            } else if (b < 0x80) put(p, b);
            else if ((b & 0xE0) == 0xC0 || (b & 0xF0) == 0xE0 || ((b & 0xF8) == 0xF0 && b < 0xF5)) {
                p->pb[0] = (char)b;
                p->pn = 1;
                p->need = (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : 3;
                p->ps = PS_UTF8;
            } else put(p, 0xFFFD);
            break;
        case PS_UTF8:
            if ((b & 0xC0) != 0x80) {
                put(p, 0xFFFD);
                p->ps = PS_TEXT;
                goto again;
            }
            p->pb[p->pn++] = (char)b;
            if (--p->need == 0) {
                unsigned cp;
                gr_utf8_decode(p->pb, (size_t)p->pn, &cp);
                if (!(cp >= 0x80 && cp < 0xA0)) put(p, cp);
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
                csi(p, (char)b);
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

void pane_puts_styled(Pane *p, const char *text, Style st)
{
    p->st = st;
    pane_feed(p, text, strlen(text));
    p->st = PLAIN;
}

void pane_bol(Pane *p)
{
    if (!p->l) return;
    if (last(p)->n > 0) pane_newline(p);
    p->st = PLAIN;
    p->ps = PS_TEXT;
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
static int shown(Pane *p) { return p->n > 1 && last(p)->n == 0 ? p->n - 1 : p->n; }

void pane_scroll_by(Pane *p, long d)
{
    p->scroll += d;
    long t = 0;
    for (int i = 0, n = shown(p); i < n; i++) t += line_rows(&p->l[i], p->w > 0 ? p->w : 1);
    long maxs = t - p->h;
    if (maxs < 0) maxs = 0;
    if (p->scroll > maxs) p->scroll = maxs;
    if (p->scroll < 0) p->scroll = 0;
}

void pane_draw(Pane *p, const Screen *sc, int y0, int W, int H)
{
    p->w = W;
    p->h = H;
    if (W <= 0 || H <= 0 || !p->l) return;
    pane_scroll_by(p, 0); /* clamp */
    if (p->rowcap < H) {
        RowRef *nb = realloc(p->rowbuf, sizeof(RowRef) * (size_t)H);
        if (!nb) return;
        p->rowbuf = nb;
        p->rowcap = H;
    }
    int k = H;
    long skip = p->scroll;
    for (int li = shown(p) - 1; li >= 0 && k > 0; li--) {
        Line *L = &p->l[li];
        int nr = line_rows(L, W);
        if (skip >= nr) {
            skip -= nr;
            continue;
        }
        if (p->startcap < nr + 1) {
            int *ns = realloc(p->starts, sizeof(int) * (size_t)(nr + 1));
            if (!ns) return;
            p->starts = ns;
            p->startcap = nr + 1;
        }
        int r = 0, i = 0;
        do {
            p->starts[r++] = i;
            i = wrap_next(L, i, W);
        } while (i < L->n);
        p->starts[r] = L->n;
        for (int rr = nr - 1 - (int)skip; rr >= 0 && k > 0; rr--) {
            RowRef ref = {li, p->starts[rr], p->starts[rr + 1]};
            p->rowbuf[--k] = ref;
        }
        skip = 0;
    }
    int filled = H - k;
    for (int y = 0; y < H; y++) {
        int sy = y0 + y, x = 0;
        if (y < filled) {
            RowRef *r = &p->rowbuf[k + y];
            Line *L = &p->l[r->li];
            for (int i = r->a; i < r->b; i++) {
                Cell *c = &L->c[i];
                if (x + c->w > W) break;
                screen_cell(sc, sy, x, c->cp, c->comb, c->st);
                x += c->w;
            }
        }
        if (x < W) screen_fill(sc, sy, x, W - x, PLAIN);
    }
}
