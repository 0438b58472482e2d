/* viz_heat.c — heatmaps and grids of heatmaps as files (PNG, SVG): one layout for both
 * surfaces. A page: the headline (title naming model, layer/head, prompt; subtitle),
 * the axis titles (query, key), token labels at 16 px (every k-th where they do not fit,
 * said on the page), single characters upright, the map, a colour bar exactly the map's
 * height with round ticks, numbers centred in cells big enough to hold them, and notes
 * (the scale, the mask, the window, pooling). */
#include "viz_draw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One label text shaped for the page. */
static void row_label(StrBuf *b, const VizHeatmap *h, int r)
{
    StrBuf t;
    sb_init(&t);
    vc_label(&t, h->row_labels, r, h->row_offset + r);
    sb_clear(b);
    if (h->label_index && h->row_labels) sb_printf(b, "%d  %s", h->row_offset + r, t.s);
    else sb_puts(b, t.s);
    sb_free(&t);
}

/* Is this (escaped) label one glyph? Those stand upright under their column. */
static int single_glyph(const char *s)
{
    size_t n = strlen(s), i = 0;
    int glyphs = 0;
    while (i < n) {
        unsigned cp;
        int k = gr_utf8_decode(s + i, n - i, &cp);
        if (gr_utf8_width(s + i, (size_t)k) > 0) glyphs++;
        i += (size_t)k;
    }
    return glyphs <= 1;
}

/* The smallest k (1, 2, 3, 4, 5, then round numbers) with k * cell >= need. */
static int every_k(double need, double cell)
{
    static const int K[] = {1, 2, 3, 4, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000};
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++)
        if (K[i] * cell >= need) return K[i];
    return 20000;
}

/* Labelled positions count back from the last: the newest token always has its label. */
static int labelled(int i, int n, int k) { return (n - 1 - i) % k == 0; }

static const char *ordinal(int k)
{
    static char b[16];
    int t = k % 100;
    snprintf(b, sizeof b, "%d%s", k, (t >= 11 && t <= 13) ? "th" : k % 10 == 1 ? "st" : k % 10 == 2 ? "nd" : k % 10 == 3 ? "rd" : "th");
    return b;
}

/* ---- what a map's labels need ---- */

typedef struct {
    double row_w;    /* widest row label */
    double col_len;  /* widest column label (along its reading direction) */
    double glyph_w;  /* widest upright column label */
    int upright;     /* every column label is one glyph */
} LabelNeeds;

static void label_needs(VizFont *f, const VcSizes *z, const VizHeatmap *h, double max_row_w, double max_col_len,
                        LabelNeeds *L)
{
    StrBuf b;
    sb_init(&b);
    memset(L, 0, sizeof *L);
    L->upright = 1;
    for (int r = 0; r < h->rows; r++) {
        row_label(&b, h, r);
        L->row_w = fmax(L->row_w, vf_width(f, b.s, z->label));
    }
    for (int c = 0; c < h->cols; c++) {
        vc_label(&b, h->col_labels, c, h->col_offset + c);
        double w = vf_width(f, b.s, z->label);
        L->col_len = fmax(L->col_len, w);
        if (!single_glyph(b.s)) L->upright = 0;
        else L->glyph_w = fmax(L->glyph_w, w);
    }
    sb_free(&b);
    L->row_w = fmin(L->row_w, max_row_w);
    L->col_len = fmin(L->col_len, max_col_len);
}

/* ---- cells ---- */

/* Number format in cells: two decimals on the 0–1 scale, else 3 significant digits. */
static void cell_num(char *buf, size_t n, const VizScale *sc, double v)
{
    if (sc->map == VIZ_MAP_SEQ && sc->mode == VIZ_SCALE_FIXED && v >= 0 && v <= 1) snprintf(buf, n, "%.2f", v);
    else {
        snprintf(buf, n, "%.3g", v);
        if (!strcmp(buf, "-0")) snprintf(buf, n, "0");
    }
}

/* What cell (r, c) says: its word (escaped, at most 12 columns) or its number. */
static void cell_word(char *buf, size_t n, const VizHeatmap *h, const VizScale *sc, int r, int c, double v)
{
    if (!h->cell_text) {
        cell_num(buf, n, sc, v);
        return;
    }
    StrBuf b;
    sb_init(&b);
    const char *w = h->cell_text[(size_t)r * h->cols + c];
    viz_label_escape(&b, w ? w : "");
    const char *t = b.s ? b.s : "";
    size_t k = 0;
    int cps = 0;
    while (t[k] && cps < 12) { /* 11 code points and '…' when longer than 12 */
        size_t l = 1;
        while ((t[k + l] & 0xC0) == 0x80) l++;
        if (cps == 11 && t[k + l]) break;
        k += l, cps++;
    }
    snprintf(buf, n, "%.*s%s", (int)k, t, t[k] ? "\xe2\x80\xa6" : "");
    sb_free(&b);
}

/* Colours of every cell (rgb, masked) on scale sc. */
static int cell_colours(const VizHeatmap *h, const VizScale *sc, unsigned char **rgb, unsigned char **masked)
{
    size_t n = (size_t)h->rows * h->cols;
    *rgb = malloc(3 * (n ? n : 1));
    *masked = malloc(n ? n : 1);
    double *rr = sc->mode == VIZ_SCALE_ROW ? viz_heatmap_row_ranges(h) : NULL;
    if (!*rgb || !*masked || (sc->mode == VIZ_SCALE_ROW && !rr)) {
        free(*rgb), free(*masked), free(rr);
        return -1;
    }
    for (int r = 0; r < h->rows; r++)
        for (int c = 0; c < h->cols; c++) {
            size_t i = (size_t)r * h->cols + c;
            float v;
            (*masked)[i] = (unsigned char)viz_heatmap_masked(h, r, c, &v);
            if (!(*masked)[i]) viz_scale_rgb(sc, viz_scale_t(sc, v, rr ? rr[2 * r] : 0, rr ? rr[2 * r + 1] : 0), *rgb + 3 * i);
        }
    free(rr);
    return 0;
}

typedef struct {
    double x0, y0, cw, ch;
} Place;

/* Cells, a thin frame, and the numbers when they fit at num_px (0: none). */
static int draw_map(Surface *s, const VizHeatmap *h, const VizScale *sc, Place p, double num_px)
{
    unsigned char *rgb, *masked;
    if (cell_colours(h, sc, &rgb, &masked)) return -1;
    surf_cells(s, p.x0, p.y0, p.cw, p.ch, h->rows, h->cols, rgb, masked);
    surf_frame(s, p.x0 - 1, p.y0 - 1, p.x0 + h->cols * p.cw + 1, p.y0 + h->rows * p.ch + 1, 1, VD_AXIS);
    if (num_px > 0) {
        VizFont *f = surf_font(s);
        char buf[64];
        for (int r = 0; r < h->rows; r++)
            for (int c = 0; c < h->cols; c++) {
                size_t i = (size_t)r * h->cols + c;
                float v;
                if (viz_heatmap_masked(h, r, c, &v)) continue;
                cell_word(buf, sizeof buf, h, sc, r, c, v);
                const unsigned char *ink = vd_luma(rgb + 3 * i) > 140 ? VD_TEXT : VD_WHITE;
                (void)f;
                surf_text(s, buf, num_px, ink, p.x0 + (c + 0.5) * p.cw, p.y0 + (r + 0.5) * p.ch, VA_MID, VA_MID, 0);
            }
    }
    free(rgb);
    free(masked);
    return 0;
}

/* The size numbers in cells would take, or 0 when they do not fit. */
static double num_size(VizFont *f, const VcSizes *z, const VizHeatmap *h, const VizScale *sc, Place p)
{
    double px = fmin(z->label * 1.25, p.ch * 0.42);
    if (px < z->label * 0.75 || (long)h->rows * h->cols > 2500) return 0;
    char buf[64];
    double w = 0;
    for (int r = 0; r < h->rows; r++)
        for (int c = 0; c < h->cols; c++) {
            float v;
            if (viz_heatmap_masked(h, r, c, &v)) continue;
            cell_word(buf, sizeof buf, h, sc, r, c, v);
            w = fmax(w, vf_width(f, buf, px));
        }
    return w <= p.cw * 0.88 ? px : 0;
}

static void draw_row_labels(Surface *s, const VcSizes *z, const VizHeatmap *h, Place p, int every, double maxw)
{
    StrBuf b, fit;
    sb_init(&b);
    sb_init(&fit);
    for (int r = 0; r < h->rows; r++) {
        if (!labelled(r, h->rows, every)) continue;
        row_label(&b, h, r);
        vf_fit(surf_font(s), b.s, z->label, maxw, &fit);
        surf_text(s, fit.s, z->label, VD_TEXT, p.x0 - z->gap * 0.6, p.y0 + (r + 0.5) * p.ch, VA_END, VA_MID, 0);
    }
    sb_free(&b);
    sb_free(&fit);
}

static void draw_col_labels(Surface *s, const VcSizes *z, const VizHeatmap *h, Place p, int every, int upright,
                            double maxlen)
{
    StrBuf b, fit;
    sb_init(&b);
    sb_init(&fit);
    double y = p.y0 + h->rows * p.ch + z->gap * 0.5;
    for (int c = 0; c < h->cols; c++) {
        if (!labelled(c, h->cols, every)) continue;
        vc_label(&b, h->col_labels, c, h->col_offset + c);
        vf_fit(surf_font(s), b.s, z->label, maxlen, &fit);
        surf_text(s, fit.s, z->label, VD_TEXT, p.x0 + (c + 0.5) * p.cw, y, VA_MID, VA_START, upright ? 0 : 90);
    }
    sb_free(&b);
    sb_free(&fit);
}

/* ---- the colour bar ---- */

/* Tick values of the bar and where they sit (t in 0..1 from the bottom). */
static int bar_ticks(const VizScale *sc, double *v, double *t)
{
    int n;
    if (sc->mode == VIZ_SCALE_ROW && sc->map == VIZ_MAP_SEQ) {
        n = vc_ticks(0, 1, 5, v);
        for (int i = 0; i < n; i++) t[i] = v[i];
        return n;
    }
    if (sc->mode == VIZ_SCALE_LOG) {
        n = 0;
        for (double d = pow(10, ceil(log10(sc->lo) - 1e-9)); d <= sc->hi * (1 + 1e-9) && n < 32; d *= 10) v[n++] = d;
        if (n < 2) { v[0] = sc->lo; v[1] = sc->hi; n = 2; }
    } else {
        n = vc_ticks(sc->lo, sc->hi, 6, v);
    }
    for (int i = 0; i < n; i++) t[i] = viz_scale_t(sc, v[i], 0, 0);
    return n;
}

static double bar_tick_width(VizFont *f, const VcSizes *z, const VizScale *sc)
{
    double v[32], t[32], w = 0;
    int n = bar_ticks(sc, v, t);
    char buf[64];
    for (int i = 0; i < n; i++) {
        vc_tick_text(buf, sizeof buf, v[i], n > 1 ? fabs(v[1] - v[0]) : 1);
        w = fmax(w, vf_width(f, buf, z->label));
    }
    return w;
}

static void draw_bar(Surface *s, const VcSizes *z, const VizScale *sc, double x0, double x1, double y0, double y1)
{
    /* bands top (high) to bottom (low); not "cells", so an SVG's field stays the map */
    int nb = (int)fmin(256, fmax(2, floor(y1 - y0)));
    for (int i = 0; i < nb; i++) {
        unsigned char rgb[3];
        viz_scale_rgb(sc, 1 - (i + 0.5) / nb, rgb);
        surf_rect(s, x0, y0 + (y1 - y0) * i / nb, x1, y0 + (y1 - y0) * (i + 1) / nb, rgb);
    }
    surf_frame(s, x0 - 1, y0 - 1, x1 + 1, y1 + 1, 1, VD_AXIS);
    double v[32], t[32];
    int n = bar_ticks(sc, v, t);
    char buf[64];
    for (int i = 0; i < n; i++) {
        double y = y1 - t[i] * (y1 - y0);
        surf_rect(s, x1, y - z->lw / 2, x1 + z->gap * 0.5, y + z->lw / 2, VD_AXIS);
        vc_tick_text(buf, sizeof buf, v[i], n > 1 ? fabs(v[1] - v[0]) : 1);
        surf_text(s, buf, z->label, VD_TEXT, x1 + z->gap * 0.75, y, VA_START, VA_MID, 0);
    }
}

/* ---- notes ---- */

static void notes_text(StrBuf *n1, StrBuf *n2, const VizScale *sc, int any_masked, int causal, const char *note,
                       int row_every, int col_every, int has_labels)
{
    sb_puts(n1, "colour: ");
    viz_scale_describe(sc, n1);
    if (any_masked)
        sb_puts(n1, causal ? " · hatched: masked (a query never attends to a later key)" : " · hatched: masked or missing");
    if (note && *note) sb_puts(n2, note);
    int k = row_every > col_every ? row_every : col_every;
    if (k > 1) sb_printf(n2, "%severy %s %s labelled", n2->len ? " · " : "", ordinal(k), has_labels ? "token" : "index");
}

static int any_masked(const VizHeatmap *h)
{
    for (int r = 0; r < h->rows; r++)
        for (int c = 0; c < h->cols; c++)
            if (viz_heatmap_masked(h, r, c, NULL)) return 1;
    return 0;
}

/* ---- one heatmap on a page ---- */

typedef struct {
    VcSizes z;
    Place p;
    LabelNeeds L;
    double bar_x0, bar_x1, num_px, notes_y;
    int row_every, col_every;
} HeatLayout;

static void heat_layout_px(VizFont *f, int W, int H, const VizHeatmap *h, HeatLayout *o, double label_px);

/* Token labels at 16 px (at 1920×1080), larger where the cells are large: up to the axis
 * titles' 24 px, so a short prompt reads from the back of the room. */
static void heat_layout(VizFont *f, int W, int H, const VizHeatmap *h, HeatLayout *o)
{
    heat_layout_px(f, W, H, h, o, 0);
    double cell = fmin(o->p.cw, o->p.ch), want = fmin(o->z.axis, cell * 0.4);
    if (want > o->z.label * 1.2) heat_layout_px(f, W, H, h, o, want);
}

static void heat_layout_px(VizFont *f, int W, int H, const VizHeatmap *h, HeatLayout *o, double label_px)
{
    memset(o, 0, sizeof *o);
    VcSizes z = vc_sizes(W, H);
    if (label_px > 0) z.label = label_px;
    o->z = z;
    double top = vc_headline_h(f, &z, h->title, h->subtitle);
    label_needs(f, &z, h, W * 0.22, H * 0.2, &o->L);
    double axis_h = vf_line(f, z.axis), lab_h = vf_line(f, z.label);
    double col_h = o->L.upright ? lab_h : o->L.col_len;
    double bar_w = fmax(28 * z.label / 16, 10);
    double left = z.margin + axis_h + z.gap + o->L.row_w + z.gap * 0.6;
    double right = z.gap * 2 + bar_w + z.gap * 0.75 + bar_tick_width(f, &z, &h->scale) + z.margin;
    double bottom = z.gap * 0.5 + col_h + z.gap * 0.5 + axis_h + z.gap + 2 * lab_h * 1.2 + z.margin * 0.5;
    double aw = fmax(W - left - right, 8), ah = fmax(H - top - bottom, 8);
    double cw = aw / h->cols, ch = ah / h->rows, m = fmin(cw, ch);
    /* near-square cells: a square map (attention) stays square */
    double ratio = h->rows == h->cols ? 1 : 4;
    cw = fmin(cw, ratio * m);
    ch = fmin(ch, ratio * m);
    o->p.cw = cw;
    o->p.ch = ch;
    o->p.x0 = left + (aw - cw * h->cols) / 2;
    o->p.y0 = top;
    o->bar_x0 = o->p.x0 + cw * h->cols + z.gap * 2;
    o->bar_x1 = o->bar_x0 + bar_w;
    o->row_every = every_k(lab_h * 0.95, ch);
    o->col_every = every_k(o->L.upright ? o->L.glyph_w + 2 : lab_h * 0.95, cw);
    o->notes_y = o->p.y0 + ch * h->rows + z.gap * 0.5 + col_h + z.gap * 0.5 + axis_h + z.gap;
    VcSizes base = vc_sizes(W, H); /* numbers in cells: by the page, not the enlarged labels */
    o->num_px = num_size(f, &base, h, &h->scale, o->p);
}

int viz_file_heatmap_geom(int w, int h, const VizHeatmap *m, VizGeom *g, GrErr *e)
{
    if (w == 0 && h == 0) { w = 1920; h = 1080; }
    if (!m || m->rows < 1 || m->cols < 1) return gr_fail(e, "heatmap: nothing to draw");
    VizFont *f = vf_open();
    if (!f) return gr_fail(e, "out of memory");
    HeatLayout L;
    heat_layout(f, w, h, m, &L);
    vf_close(f);
    memset(g, 0, sizeof *g);
    g->w = w;
    g->h = h;
    g->x0 = L.p.x0;
    g->y0 = L.p.y0;
    g->cw = L.p.cw;
    g->ch = L.p.ch;
    g->bar_x0 = L.bar_x0;
    g->bar_x1 = L.bar_x1;
    g->bar_y0 = L.p.y0;
    g->bar_y1 = L.p.y0 + L.p.ch * m->rows;
    g->label_px = L.z.label;
    g->title_px = L.z.title;
    g->axis_px = L.z.axis;
    g->label_every = L.row_every > L.col_every ? L.row_every : L.col_every;
    return 0;
}

static void axis_titles(Surface *s, const VcSizes *z, const char *row_title, const char *col_title, double x_left,
                        double ymid, double xmid, double y_col)
{
    if (row_title && *row_title) surf_text(s, row_title, z->axis, VD_TEXT, x_left, ymid, VA_START, VA_MID, 90);
    if (col_title && *col_title) surf_text(s, col_title, z->axis, VD_TEXT, xmid, y_col, VA_MID, VA_START, 0);
}

static int heat_page(Surface *s, const VizHeatmap *h, GrErr *e)
{
    VizFont *f = surf_font(s);
    HeatLayout L;
    heat_layout(f, surf_w(s), surf_h(s), h, &L);
    const VcSizes *z = &L.z;
    vc_headline(s, z, h->title, h->subtitle);
    if (draw_map(s, h, &h->scale, L.p, L.num_px)) return gr_fail(e, "heatmap: out of memory");
    double mapw = L.p.cw * h->cols, maph = L.p.ch * h->rows;
    draw_row_labels(s, z, h, L.p, L.row_every, L.L.row_w);
    draw_col_labels(s, z, h, L.p, L.col_every, L.L.upright, L.L.col_len);
    double col_h = L.L.upright ? vf_line(f, z->label) : L.L.col_len;
    double axis_x = fmax(z->margin, L.p.x0 - z->gap * 1.6 - L.L.row_w - vf_line(f, z->axis));
    axis_titles(s, z, h->row_title, h->col_title, axis_x, L.p.y0 + maph / 2, L.p.x0 + mapw / 2,
                L.p.y0 + maph + z->gap + col_h);
    draw_bar(s, z, &h->scale, L.bar_x0, L.bar_x1, L.p.y0, L.p.y0 + maph);
    StrBuf n1, n2;
    sb_init(&n1);
    sb_init(&n2);
    notes_text(&n1, &n2, &h->scale, any_masked(h), h->causal, h->note, L.row_every, L.col_every,
               h->row_labels || h->col_labels);
    double lab_h = vf_line(f, z->label);
    vc_note(s, z, n1.s, z->margin, L.notes_y, surf_w(s) - 2 * z->margin);
    vc_note(s, z, n2.s, z->margin, L.notes_y + lab_h * 1.2, surf_w(s) - 2 * z->margin);
    sb_free(&n1);
    sb_free(&n2);
    return 0;
}

/* The room a page leaves for cells, to pool maps with more rows or columns than pixels. */
static void pool_room(int W, int H, int *rows, int *cols)
{
    *cols = (int)(W * 0.7);
    *rows = (int)(H * 0.65);
}

int viz_file_heatmap(const char *path, int w, int h, const VizHeatmap *m, GrErr *e)
{
    if (!m || m->rows < 1 || m->cols < 1 || !m->data) return gr_fail(e, "heatmap: nothing to draw");
    Surface *s = vc_begin(path, &w, &h, "export", e);
    if (!s) return -1;
    int pr, pc;
    pool_room(w, h, &pr, &pc);
    VizPooled P;
    if (viz_heatmap_pool(m, pr, pc, &P, e)) return vc_abort(s);
    int rc = heat_page(s, &P.h, e);
    viz_pooled_free(&P);
    return rc ? vc_abort(s) : vc_end(s, path, e);
}

/* ---- a grid of maps on one scale ---- */

static int grid_page(Surface *s, const VizGrid *g, GrErr *e)
{
    VizFont *f = surf_font(s);
    int W = surf_w(s), H = surf_h(s);
    VcSizes z = vc_sizes(W, H);
    const VizHeatmap *m0 = &g->maps[0];
    int rows = m0->rows, cols = m0->cols, gc = g->ncols > 0 ? g->ncols : g->n, gr = (g->n + gc - 1) / gc;
    double top = vc_headline_h(f, &z, g->title, g->subtitle);
    LabelNeeds L;
    memset(&L, 0, sizeof L);
    if (!g->thumbnails) label_needs(f, &z, m0, W * 0.15, H * 0.15, &L);
    double axis_h = vf_line(f, z.axis), lab_h = vf_line(f, z.label), name_h = lab_h * 1.25;
    double col_h = g->thumbnails ? 0 : L.upright ? lab_h : L.col_len;
    double bar_w = fmax(28 * z.label / 16, 10);
    double left = z.margin + (g->thumbnails ? 0 : axis_h + z.gap + L.row_w + z.gap * 0.6);
    double right = z.gap * 2 + bar_w + z.gap * 0.75 + bar_tick_width(f, &z, &g->scale) + z.margin;
    double bottom = (g->thumbnails ? 0 : z.gap * 0.5 + col_h + z.gap * 0.5 + axis_h) + z.gap + 2 * lab_h * 1.2 + z.margin * 0.5;
    double pg = z.gap * 1.5;
    double aw = W - left - right - (gc - 1) * pg, ah = H - top - bottom - gr * name_h - (gr - 1) * z.gap;
    double cell = fmin(aw / ((double)gc * cols), ah / ((double)gr * rows));
    if (!(cell > 0)) return gr_fail(e, "export: %d maps of %d × %d do not fit on %d × %d pixels", g->n, rows, cols, W, H);
    double pw = cell * cols, ph = cell * rows;
    double x0 = left + (aw - gc * pw) / 2, y0 = top;
    int every_r = every_k(lab_h * 0.95, cell), every_c = every_k(L.upright ? L.glyph_w + 2 : lab_h * 0.95, cell);
    vc_headline(s, &z, g->title, g->subtitle);
    int masked = 0;
    for (int i = 0; i < g->n; i++) {
        const VizHeatmap *m = &g->maps[i];
        if (m->rows != rows || m->cols != cols) return gr_fail(e, "export: the maps of a grid must have one shape");
        Place p = {x0 + (i % gc) * (pw + pg), y0 + (i / gc) * (ph + name_h + z.gap) + name_h, cell, cell};
        if (g->names && g->names[i]) surf_text(s, g->names[i], z.label, VD_TEXT, p.x0 + pw / 2, p.y0 - lab_h * 0.15, VA_MID, VA_END, 0);
        if (draw_map(s, m, &g->scale, p, g->thumbnails ? 0 : num_size(f, &z, m, &g->scale, p))) return gr_fail(e, "export: out of memory");
        masked |= any_masked(m);
        if (g->thumbnails) continue;
        if (i % gc == 0) draw_row_labels(s, &z, m, p, every_r, L.row_w);
        if (i + gc >= g->n) draw_col_labels(s, &z, m, p, every_c, L.upright, L.col_len);
    }
    double gy1 = y0 + (gr - 1) * (ph + name_h + z.gap) + name_h + ph;
    double gx1 = x0 + gc * pw + (gc - 1) * pg;
    if (!g->thumbnails)
        axis_titles(s, &z, m0->row_title, m0->col_title, fmax(z.margin, x0 - z.gap * 1.6 - L.row_w - axis_h),
                    (y0 + name_h + gy1) / 2, (x0 + gx1) / 2,
                    gy1 + z.gap + col_h);
    draw_bar(s, &z, &g->scale, gx1 + z.gap * 2, gx1 + z.gap * 2 + bar_w, y0 + name_h, gy1);
    StrBuf n1, n2;
    sb_init(&n1);
    sb_init(&n2);
    notes_text(&n1, &n2, &g->scale, masked, m0->causal, g->note, g->thumbnails ? 1 : every_r,
               g->thumbnails ? 1 : every_c, m0->row_labels != NULL);
    double ny = gy1 + (g->thumbnails ? 0 : z.gap * 0.5 + col_h + z.gap * 0.5 + axis_h) + z.gap;
    vc_note(s, &z, n1.s, z.margin, ny, W - 2 * z.margin);
    vc_note(s, &z, n2.s, z.margin, ny + lab_h * 1.2, W - 2 * z.margin);
    sb_free(&n1);
    sb_free(&n2);
    return 0;
}

int viz_file_grid(const char *path, int w, int h, const VizGrid *g, GrErr *e)
{
    if (!g || g->n < 1 || !g->maps) return gr_fail(e, "export: no maps to draw");
    Surface *s = vc_begin(path, &w, &h, "export", e);
    if (!s) return -1;
    int gc = g->ncols > 0 ? g->ncols : g->n, gr = (g->n + gc - 1) / gc, pr, pc;
    pool_room(w, h, &pr, &pc);
    /* every map pooled to its panel's pixels, all by the same blocks */
    VizPooled *P = calloc((size_t)g->n, sizeof *P);
    VizHeatmap *maps = calloc((size_t)g->n, sizeof *maps);
    int rc = P && maps ? 0 : gr_fail(e, "export: out of memory");
    for (int i = 0; !rc && i < g->n; i++) {
        rc = viz_heatmap_pool(&g->maps[i], pr / gr, pc / gc, &P[i], e);
        if (!rc) maps[i] = P[i].h;
    }
    if (!rc) {
        VizGrid G = *g;
        G.maps = maps;
        StrBuf note;
        sb_init(&note);
        if (P[0].rblock > 1 || P[0].cblock > 1) {
            sb_printf(&note, "%s%seach map pooled by blocks of %d×%d (the value of largest magnitude)", g->note ? g->note : "",
                      g->note && *g->note ? "; " : "", P[0].rblock, P[0].cblock);
            G.note = note.s;
        }
        rc = grid_page(s, &G, e);
        sb_free(&note);
    }
    for (int i = 0; P && i < g->n; i++) viz_pooled_free(&P[i]);
    free(P);
    free(maps);
    return rc ? vc_abort(s) : vc_end(s, path, e);
}
