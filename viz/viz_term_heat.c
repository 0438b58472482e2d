/* viz_term_heat.c — heatmaps and grids of heatmaps in the terminal: one query row per
 * line, keys labelled by their tokens, a perceptually ordered ramp, and cells that can
 * never be mistaken for one another: masked cells have their own glyph, exactly-zero
 * cells are blank, and the lowest non-zero bucket has a glyph and colour of its own, in
 * truecolor, 256, 16 colours and plain text alike. */
#include "viz_term.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cells ---- */

static const char *const SHADE[4] = {"\xe2\x96\x91", "\xe2\x96\x92", "\xe2\x96\x93", "\xe2\x96\x88"}; /* ░▒▓█ */
static const char SEQ_ASCII[] = " .:-=+*#%@";     /* [0] exactly zero, [1] the lowest non-zero bucket */
static const char NEG_ASCII[] = "-=#", POS_ASCII[] = "+*@";
static const int SEQ16[5] = {34, 36, 32, 92, 93}; /* blue, cyan, green, bright green, yellow */
static const unsigned char MASK_TERM_RGB[3] = {110, 110, 110};
#define MASK_GLYPH "\xc2\xb7" /* · */
#define MASK_ASCII '/'

typedef struct {
    VizColor m;
    const VizScale *sc;
    int cw;   /* columns per cell */
    int cur;  /* the colour key in force (-1: none) */
} Pen;

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void pen_colour(StrBuf *o, Pen *p, int key)
{
    if (p->cur == key) return;
    vt_sgr(o, p->m, key, 0);
    p->cur = key;
}

static void pen_reset(StrBuf *o, Pen *p)
{
    if (p->cur != -1) sb_puts(o, RESET);
    p->cur = -1;
}

static void put_rep(StrBuf *o, const char *g, int n)
{
    for (int i = 0; i < n; i++) sb_puts(o, g);
}

/* A cell: masked, exactly zero, or a value at t on the scale. */
static void put_cell(StrBuf *o, Pen *p, int masked, float v, double t)
{
    if (masked) {
        if (p->m == VIZ_COLOR_NONE) {
            for (int i = 0; i < p->cw; i++) sb_putc(o, MASK_ASCII);
            return;
        }
        pen_colour(o, p, p->m == VIZ_COLOR_16 ? 90 : vt_key(p->m, MASK_TERM_RGB));
        sb_puts(o, MASK_GLYPH);
        vt_spaces(o, p->cw - 1);
        return;
    }
    if (v == 0) {
        pen_reset(o, p);
        vt_spaces(o, p->cw);
        return;
    }
    int div = p->sc->map == VIZ_MAP_DIV;
    double d = div ? (t - 0.5) * 2 : t; /* signed strength in [-1, 1] for diverging maps */
    if (p->m == VIZ_COLOR_NONE) {
        char ch;
        if (!div) ch = SEQ_ASCII[clampi((int)ceil(t * 9), 1, 9)];
        else {
            int b = clampi((int)ceil(fabs(d) * 3), 1, 3) - 1;
            ch = d < 0 ? NEG_ASCII[b] : POS_ASCII[b];
        }
        for (int i = 0; i < p->cw; i++) sb_putc(o, ch);
        return;
    }
    if (p->m == VIZ_COLOR_16) {
        if (!div) {
            int b = clampi((int)ceil(t * 5), 1, 5);
            pen_colour(o, p, SEQ16[b - 1]);
            put_rep(o, SHADE[b < 4 ? b - 1 : 3], p->cw);
        } else {
            int b = clampi((int)ceil(fabs(d) * 4), 1, 4);
            pen_colour(o, p, d < 0 ? (b <= 2 ? 34 : 94) : (b <= 2 ? 31 : 91));
            put_rep(o, SHADE[b - 1], p->cw);
        }
        return;
    }
    /* the lowest non-zero bucket: tinted enough to never pass for a blank (0) cell */
    if (div && fabs(d) < 0.12) t = 0.5 + (d < 0 ? -0.06 : 0.06);
    unsigned char rgb[3];
    viz_scale_rgb(p->sc, t, rgb);
    pen_colour(o, p, vt_key(p->m, rgb));
    put_rep(o, SHADE[3], p->cw);
}

/* The ramp as the cells draw it, low to high, for the legend. */
static void put_ramp(StrBuf *o, Pen *p)
{
    int n = p->m == VIZ_COLOR_TRUE || p->m == VIZ_COLOR_256 ? 12 : p->m == VIZ_COLOR_16 ? (p->sc->map == VIZ_MAP_DIV ? 8 : 5)
                                                                                          : (p->sc->map == VIZ_MAP_DIV ? 6 : 9);
    int cw = p->cw;
    p->cw = 1;
    for (int i = 0; i < n; i++) {
        double t = (i + 0.5) / n;
        put_cell(o, p, 0, 1, t);
    }
    pen_reset(o, p);
    p->cw = cw;
}

/* A cell with a word in it (VizHeatmap.cell_text): the word on the cell's colour, in
 * black or white by the colour's lightness; without colour, the word and the ramp's glyph
 * for its value ("the:" is a low value, "the@" a high one). */
static void put_word_cell(StrBuf *o, Pen *p, const char *word, int masked, double t)
{
    int tw = p->m == VIZ_COLOR_NONE ? p->cw - 2 : p->cw - 1;
    StrBuf w;
    sb_init(&w);
    viz_label_escape(&w, word ? word : "");
    if (masked) {
        pen_reset(o, p);
        vt_spaces(o, p->cw);
    } else if (p->m == VIZ_COLOR_NONE) {
        vt_fit(o, w.s ? w.s : "", tw, 0);
        sb_putc(o, SEQ_ASCII[clampi((int)ceil(t * 9), 1, 9)]);
        sb_putc(o, ' ');
    } else {
        unsigned char rgb[3];
        viz_scale_rgb(p->sc, t, rgb);
        int light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140;
        pen_reset(o, p);
        if (p->m == VIZ_COLOR_16) {
            int b = clampi((int)ceil(t * 5), 1, 5);
            vt_sgr(o, p->m, SEQ16[b - 1], 1);
            sb_puts(o, "\x1b[30m");
        } else {
            vt_sgr(o, p->m, vt_key(p->m, rgb), 1);
            sb_puts(o, light ? "\x1b[30m" : "\x1b[97m");
        }
        vt_fit(o, w.s ? w.s : "", tw, 0);
        sb_puts(o, RESET);
        sb_putc(o, ' ');
    }
    sb_free(&w);
}

/* ---- labels ---- */

typedef struct {
    char **s;  /* escaped */
    int n, maxw, narrow; /* narrow: every code point one column wide */
} Labs;

static int labs_make(Labs *L, const char *const *src, int n, int offset)
{
    memset(L, 0, sizeof *L);
    L->s = calloc((size_t)(n ? n : 1), sizeof *L->s);
    if (!L->s) return -1;
    L->n = n;
    L->narrow = 1;
    for (int i = 0; i < n; i++) {
        StrBuf b;
        sb_init(&b);
        if (src) viz_label_escape(&b, src[i]);
        else sb_printf(&b, "%d", offset + i);
        L->s[i] = b.s ? b.s : strdup("");
        if (!L->s[i]) return -1;
        int w = vt_text_width(L->s[i]);
        if (w > L->maxw) L->maxw = w;
        size_t len = strlen(L->s[i]), k = 0;
        int cps = 0;
        while (k < len) {
            unsigned cp;
            k += (size_t)gr_utf8_decode(L->s[i] + k, len - k, &cp);
            cps++;
        }
        if (cps != w) L->narrow = 0;
    }
    return 0;
}

static void labs_free(Labs *L)
{
    for (int i = 0; L->s && i < L->n; i++) free(L->s[i]);
    free(L->s);
    memset(L, 0, sizeof *L);
}

/* The j-th code point of s (or a space). */
static void put_cp_at(StrBuf *o, const char *s, int j)
{
    size_t len = strlen(s), k = 0;
    for (int i = 0; k < len; i++) {
        unsigned cp;
        int n = gr_utf8_decode(s + k, len - k, &cp);
        if (i == j) { sb_putn(o, s + k, (size_t)n); return; }
        k += (size_t)n;
    }
    sb_putc(o, ' ');
}

/* ---- the row label slot ---- */

typedef struct {
    Labs rows;
    int dw, lw;     /* index digits, label columns (0: none) */
    int with_index;
} Slot;

static int slot_w(const Slot *s) { return s->dw + (s->lw ? 1 + s->lw : 0); }

static void put_slot(StrBuf *o, const Slot *s, const VizHeatmap *h, int r)
{
    if (r < 0) { vt_spaces(o, slot_w(s)); return; }
    if (s->with_index) sb_printf(o, "%*d", s->dw, h->row_offset + r);
    if (s->lw) {
        if (s->with_index) sb_putc(o, ' ');
        vt_fit(o, s->rows.s[r], s->lw, 0);
    }
}

static int slot_make(Slot *s, const VizHeatmap *h, int max_lw)
{
    memset(s, 0, sizeof *s);
    if (h->row_labels && labs_make(&s->rows, h->row_labels, h->rows, h->row_offset)) return -1;
    s->with_index = !h->row_labels || h->label_index;
    int last = h->row_offset + h->rows - 1;
    s->dw = s->with_index ? vt_ndigits(last > 0 ? last : 0) : 0;
    s->lw = h->row_labels ? (s->rows.maxw < max_lw ? s->rows.maxw : max_lw) : 0;
    if (h->row_labels && s->lw < 1) s->lw = 1;
    return 0;
}

/* ---- legend ---- */

static void legend(StrBuf *out, Pen *p, int any_masked, int any_zero, const char *note, int W)
{
    StrBuf line;
    sb_init(&line);
    char a[32], b[32];
    const VizScale *sc = p->sc;
    viz_num(a, sizeof a, sc->lo);
    viz_num(b, sizeof b, sc->hi);
    if (sc->mode == VIZ_SCALE_ROW) {
        snprintf(a, sizeof a, sc->map == VIZ_MAP_DIV ? "-row max" : "0");
        snprintf(b, sizeof b, "row max");
    }
    sb_printf(&line, "%s ", a);
    put_ramp(&line, p);
    sb_printf(&line, " %s", b);
    if (any_masked) {
        sb_puts(&line, "   ");
        Pen q = *p;
        q.cw = 1;
        q.cur = -1;
        put_cell(&line, &q, 1, 0, 0);
        pen_reset(&line, &q);
        sb_puts(&line, " masked");
    }
    if (any_zero) sb_puts(&line, "   blank: exactly 0");
    vt_emit_sb(out, &line, W);
    sb_puts(&line, "colour: ");
    viz_scale_describe(sc, &line);
    vt_wrap(out, line.s, W);
    sb_clear(&line);
    if (note && *note) {
        viz_text_escape(&line, note);
        vt_wrap(out, line.s, W);
    }
    sb_free(&line);
}

/* ---- one heatmap ---- */

/* Rows, then the number of key columns that fit beside the row labels at one column each. */
/* Cells with words: as wide as the longest word, up to 6 columns, and a gap. */
static int word_cw(const VizOpts *o, const VizHeatmap *h)
{
    int ww = 1;
    for (size_t i = 0; i < (size_t)h->rows * h->cols; i++) {
        StrBuf w;
        sb_init(&w);
        viz_label_escape(&w, h->cell_text[i] ? h->cell_text[i] : "");
        int x = vt_text_width(w.s ? w.s : "");
        if (x > ww) ww = x;
        sb_free(&w);
    }
    return (ww < 6 ? ww : 6) + (vt_color_of(o) == VIZ_COLOR_NONE ? 2 : 1);
}

int viz_term_heatmap_fit(const VizOpts *o, const VizHeatmap *h)
{
    Slot s;
    if (slot_make(&s, h, 10)) return 1;
    int cw = h->cell_text ? word_cw(o, h) : o && o->cell_w > 1 ? o->cell_w : 1;
    int fit = (vt_width_of(o) - slot_w(&s) - 1) / cw;
    labs_free(&s.rows);
    return fit > 1 ? fit : 1;
}

/* Key labels above the map: a label line (one-column pieces), vertical labels (short
 * narrow pieces), or index ticks with the keys listed below the map (long pieces). */
enum { KEYS_LINE, KEYS_VERTICAL, KEYS_TICKS };

static int keys_mode(const Labs *C, const VizHeatmap *h)
{
    if (!h->col_labels) return KEYS_TICKS;
    if (C->maxw <= 1) return KEYS_LINE;
    if (C->narrow && C->maxw <= 6) return KEYS_VERTICAL;
    return KEYS_TICKS;
}

static void key_ticks(StrBuf *line, const VizHeatmap *h, int shown, int cw)
{
    int col = 0; /* columns written after the slot */
    for (int c = 0; c < shown; c++) {
        int idx = h->col_offset + c, at = c * cw;
        if (idx % 5 || at < col) continue;
        char num[16];
        int n = snprintf(num, sizeof num, "%d", idx);
        vt_spaces(line, at - col);
        sb_puts(line, num);
        col = at + n + 1;
        if (col - 1 > shown * cw) break;
    }
}

int viz_term_heatmap(StrBuf *out, const VizOpts *o, const VizHeatmap *h, GrErr *e)
{
    if (!out || !h || !h->data) return gr_fail(e, "heatmap: nothing to draw");
    if (h->rows < 1 || h->cols < 1) return gr_fail(e, "heatmap: empty %d x %d map", h->rows, h->cols);
    int W = vt_width_of(o);
    Slot s;
    Labs C;
    if (slot_make(&s, h, 10) || labs_make(&C, h->col_labels, h->cols, h->col_offset)) {
        labs_free(&s.rows);
        return gr_fail(e, "heatmap: out of memory");
    }
    int sw = slot_w(&s), area = W - sw - 1;
    if (area < 2) {
        labs_free(&s.rows), labs_free(&C);
        return gr_fail(e, "heatmap: %d columns are too narrow", W);
    }
    /* the widest cells that fit, up to the preferred width (2 unless asked) */
    int cw = o && o->cell_w ? o->cell_w : 2;
    if (h->cell_text) cw = word_cw(o, h);
    while (cw > 1 && h->cols * cw > area && !h->cell_text) cw--;
    int shown = h->cols < area / cw ? h->cols : area / cw;
    Pen p = {vt_color_of(o), &h->scale, cw, -1};
    double *rr = h->scale.mode == VIZ_SCALE_ROW ? viz_heatmap_row_ranges(h) : NULL;
    vt_title(out, h->title, W);
    vt_title(out, h->subtitle, W);
    StrBuf line;
    sb_init(&line);
    if (h->row_title || h->col_title) {
        /* "query ↓" above the row labels and "key →" above the map when the labels are
         * wide enough, else one line that says both */
        StrBuf t;
        sb_init(&t);
        if (h->row_title) sb_printf(&t, "%s \xe2\x86\x93", h->row_title); /* ↓ */
        if (vt_text_width(t.s ? t.s : "") <= sw) {
            vt_fit(&line, t.s ? t.s : "", sw, 1);
            sb_putc(&line, ' ');
        } else {
            sb_printf(&line, "%s, ", t.s);
        }
        if (h->col_title) sb_printf(&line, "%s \xe2\x86\x92", h->col_title); /* → */
        vt_emit_sb(out, &line, W);
        sb_free(&t);
    }
    int mode = keys_mode(&C, h);
    if (h->cell_text && h->col_labels) {
        /* wide cells: each key's label above it, left-aligned */
        vt_spaces(&line, sw + 1);
        for (int c = 0; c < shown; c++) {
            vt_fit(&line, C.s[c], cw - 1, 0);
            sb_putc(&line, ' ');
        }
        vt_emit_sb(out, &line, W);
        mode = KEYS_LINE;
    } else if (mode == KEYS_LINE || mode == KEYS_VERTICAL) {
        int nl = mode == KEYS_LINE ? 1 : C.maxw;
        for (int j = 0; j < nl; j++) {
            vt_spaces(&line, sw + 1);
            for (int c = 0; c < shown; c++) {
                int len = vt_text_width(C.s[c]), k = j - (nl - len); /* bottom-aligned: the ends touch the map */
                if (k >= 0) put_cp_at(&line, C.s[c], k);
                else sb_putc(&line, ' ');
                vt_spaces(&line, cw - 1);
            }
            vt_emit_sb(out, &line, W);
        }
    } else {
        vt_spaces(&line, sw + 1);
        key_ticks(&line, h, shown, cw);
        vt_emit_sb(out, &line, W);
    }
    int any_masked = 0, any_zero = 0;
    for (int r = 0; r < h->rows; r++) {
        put_slot(&line, &s, h, r);
        sb_putc(&line, ' ');
        for (int c = 0; c < shown; c++) {
            float v;
            int m = viz_heatmap_masked(h, r, c, &v);
            any_masked |= m;
            any_zero |= !m && v == 0;
            double t = m ? 0 : viz_scale_t(&h->scale, v, rr ? rr[2 * r] : 0, rr ? rr[2 * r + 1] : 0);
            if (h->cell_text) put_word_cell(&line, &p, h->cell_text[(size_t)r * h->cols + c], m, t);
            else put_cell(&line, &p, m, v, t);
        }
        pen_reset(&line, &p);
        vt_emit_sb(out, &line, W);
    }
    if (mode == KEYS_TICKS && h->col_labels) {
        /* keys listed: "40 ␣the  41 ␣cat …", at most three lines */
        sb_puts(&line, "keys:");
        int lw = 5, lines = 0;
        for (int c = 0; c < shown && lines < 3; c++) {
            StrBuf ent;
            sb_init(&ent);
            sb_printf(&ent, "%d ", h->col_offset + c);
            int labw = vt_text_width(C.s[c]);
            vt_fit(&ent, C.s[c], labw < 14 ? labw : 14, 0);
            int ew = vt_text_width(ent.s);
            if (lw + 2 + ew > W) {
                vt_emit_sb(out, &line, W);
                if (++lines == 3) { sb_free(&ent); break; }
                sb_puts(&line, "     ");
                lw = 5;
            }
            sb_puts(&line, "  ");
            sb_puts(&line, ent.s);
            lw += 2 + ew;
            sb_free(&ent);
        }
        if (line.len) vt_emit_sb(out, &line, W);
    }
    StrBuf note;
    sb_init(&note);
    if (h->note) sb_puts(&note, h->note);
    if (shown < h->cols)
        sb_printf(&note, "%s%d more key%s to the right not shown (--cols A:B)", note.len ? "; " : "", h->cols - shown,
                  h->cols - shown == 1 ? "" : "s");
    legend(out, &p, any_masked, any_zero, note.s, W);
    sb_free(&note);
    sb_free(&line);
    free(rr);
    labs_free(&s.rows);
    labs_free(&C);
    return 0;
}

/* ---- a grid of small maps on one scale ---- */

int viz_term_grid(StrBuf *out, const VizOpts *o, const VizGrid *g, GrErr *e)
{
    if (!out || !g || g->n < 1 || !g->maps) return gr_fail(e, "grid: nothing to draw");
    int W = vt_width_of(o);
    const VizHeatmap *m0 = &g->maps[0];
    for (int i = 0; i < g->n; i++)
        if (g->maps[i].rows != m0->rows || g->maps[i].cols != m0->cols || !g->maps[i].data)
            return gr_fail(e, "grid: the maps must have one shape");
    Slot s;
    VizHeatmap lab = *m0;
    if (g->thumbnails) lab.row_labels = NULL;
    if (slot_make(&s, &lab, 8)) return gr_fail(e, "grid: out of memory");
    int sw = slot_w(&s);
    /* pool what does not fit: columns to the width, thumbnails to 16 rows; a grid row of
     * thumbnails (a layer's heads) stays on one line of maps while 3 columns each fit */
    int maxc = W - sw - 3, maxr = g->thumbnails ? 16 : 100000;
    int gcols = g->ncols > 0 ? g->ncols : g->n;
    if (g->thumbnails && gcols > 1) {
        int per = (W - sw - 1) / gcols - 2;
        if (per >= 3 && per < maxc) {
            maxc = per;
            if (maxr > per) maxr = per;
        }
    }
    VizPooled *P = calloc((size_t)g->n, sizeof *P);
    if (!P) { labs_free(&s.rows); return gr_fail(e, "grid: out of memory"); }
    for (int i = 0; i < g->n; i++)
        if (viz_heatmap_pool(&g->maps[i], maxr, maxc > 1 ? maxc : 1, &P[i], e)) {
            for (int k = 0; k < i; k++) viz_pooled_free(&P[k]);
            free(P);
            labs_free(&s.rows);
            return -1;
        }
    int rows = P[0].h.rows, cols = P[0].h.cols;
    int cw = 1, gc = g->ncols > 0 ? g->ncols : g->n;
    if (gc * (cols * 2 + 2) <= W - sw) cw = 2;
    int pw = cols * cw, per_band = (W - sw) / (pw + 2);
    if (per_band < 1) per_band = 1;
    if (per_band > gc) per_band = gc; /* a grid row never runs into the next */
    Pen p = {vt_color_of(o), &g->scale, cw, -1};
    vt_title(out, g->title, W);
    vt_title(out, g->subtitle, W);
    StrBuf line;
    sb_init(&line);
    int any_masked = 0, any_zero = 0;
    for (int gr0 = 0; gr0 < g->n; gr0 += gc) {
        int gr1 = gr0 + gc < g->n ? gr0 + gc : g->n;
        for (int b0 = gr0; b0 < gr1; b0 += per_band) {
            int b1 = b0 + per_band < gr1 ? b0 + per_band : gr1;
            vt_spaces(&line, sw + 1);
            for (int i = b0; i < b1; i++) {
                StrBuf t;
                sb_init(&t);
                if (g->names && g->names[i]) viz_text_escape(&t, g->names[i]);
                else sb_printf(&t, "#%d", i);
                vt_fit(&line, t.s ? t.s : "", pw + 1, 0); /* names never run together */
                sb_putc(&line, ' ');
                sb_free(&t);
            }
            vt_emit_sb(out, &line, W);
            for (int r = 0; r < rows; r++) {
                if (P[0].rblock > 1) sb_printf(&line, "%*d", sw, r * P[0].rblock);
                else put_slot(&line, &s, &lab, r);
                sb_putc(&line, ' ');
                for (int i = b0; i < b1; i++) {
                    const VizHeatmap *h = &P[i].h;
                    double lo = 0, hi = 0;
                    if (g->scale.mode == VIZ_SCALE_ROW) {
                        double *rr = viz_heatmap_row_ranges(h);
                        if (rr) lo = rr[2 * r], hi = rr[2 * r + 1];
                        free(rr);
                    }
                    for (int c = 0; c < cols; c++) {
                        float v;
                        int m = viz_heatmap_masked(h, r, c, &v);
                        any_masked |= m;
                        any_zero |= !m && v == 0;
                        put_cell(&line, &p, m, v, m ? 0 : viz_scale_t(&g->scale, v, lo, hi));
                    }
                    pen_reset(&line, &p);
                    vt_spaces(&line, 2);
                }
                vt_emit_sb(out, &line, W);
            }
        }
    }
    StrBuf note;
    sb_init(&note);
    if (g->note) sb_puts(&note, g->note);
    if (P[0].rblock > 1 || P[0].cblock > 1)
        sb_printf(&note, "%spooled by blocks of %d×%d: each cell the value of largest magnitude", note.len ? "; " : "",
                  P[0].rblock, P[0].cblock);
    legend(out, &p, any_masked, any_zero, note.s, W);
    sb_free(&note);
    sb_free(&line);
    for (int i = 0; i < g->n; i++) viz_pooled_free(&P[i]);
    free(P);
    labs_free(&s.rows);
    return 0;
}
