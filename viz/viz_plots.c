/* viz_plots.c — histograms, bars (several series side by side) and line charts as files
 * (PNG, SVG), on viz_chart.c's page: headline, axis titles at 24 px, round ticks at 16 px. */
#include "viz_draw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char SERIES_RGB[4][3] = {{49, 104, 142}, {230, 120, 20}, {53, 160, 90}, {140, 80, 170}};

typedef struct {
    double x0, y0, x1, y1; /* plot rectangle */
    double xlo, xhi, ylo, yhi;
} Plot;

static double px_x(const Plot *p, double v) { return p->x0 + (v - p->xlo) / (p->xhi - p->xlo) * (p->x1 - p->x0); }
static double px_y(const Plot *p, double v) { return p->y1 - (v - p->ylo) / (p->yhi - p->ylo) * (p->y1 - p->y0); }

static double tick_w(VizFont *f, const VcSizes *z, double lo, double hi, int want)
{
    double v[32], w = 0;
    int n = vc_ticks(lo, hi, want, v);
    char buf[32];
    for (int i = 0; i < n; i++) {
        vc_tick_text(buf, sizeof buf, v[i], n > 1 ? v[1] - v[0] : 1);
        w = fmax(w, vf_width(f, buf, z->label));
    }
    return w;
}

/* Grid lines, tick marks and labels: which 1 = x, 2 = y, 3 = both; then the axes. */
static void axes(Surface *s, const VcSizes *z, const Plot *p, int which, int xwant, int ywant)
{
    double v[32];
    char buf[32];
    if (which & 1) {
        int n = vc_ticks(p->xlo, p->xhi, xwant, v);
        for (int i = 0; i < n; i++) {
            double x = px_x(p, v[i]);
            surf_rect(s, x - 0.5, p->y0, x + 0.5, p->y1, VD_GRID);
            surf_rect(s, x - z->lw / 2, p->y1, x + z->lw / 2, p->y1 + z->gap * 0.5, VD_AXIS);
            vc_tick_text(buf, sizeof buf, v[i], n > 1 ? v[1] - v[0] : 1);
            surf_text(s, buf, z->label, VD_TEXT, x, p->y1 + z->gap * 0.6, VA_MID, VA_START, 0);
        }
    }
    if (which & 2) {
        int n = vc_ticks(p->ylo, p->yhi, ywant, v);
        for (int i = 0; i < n; i++) {
            double y = px_y(p, v[i]);
            surf_rect(s, p->x0, y - 0.5, p->x1, y + 0.5, VD_GRID);
            surf_rect(s, p->x0 - z->gap * 0.5, y - z->lw / 2, p->x0, y + z->lw / 2, VD_AXIS);
            vc_tick_text(buf, sizeof buf, v[i], n > 1 ? v[1] - v[0] : 1);
            surf_text(s, buf, z->label, VD_TEXT, p->x0 - z->gap * 0.7, y, VA_END, VA_MID, 0);
        }
    }
    surf_rect(s, p->x0, p->y1 - z->lw / 2, p->x1, p->y1 + z->lw / 2, VD_AXIS);
    surf_rect(s, p->x0 - z->lw / 2, p->y0, p->x0 + z->lw / 2, p->y1, VD_AXIS);
}

static void axis_title_x(Surface *s, const VcSizes *z, const char *t, double xmid, double y)
{
    if (t && *t) surf_text(s, t, z->axis, VD_TEXT, xmid, y, VA_MID, VA_START, 0);
}

static void axis_title_y(Surface *s, const VcSizes *z, const char *t, double ymid)
{
    if (t && *t) surf_text(s, t, z->axis, VD_TEXT, z->margin, ymid, VA_START, VA_MID, 90);
}

/* ---- histogram ---- */

static int hist_page(Surface *s, const VizHist *hs, GrErr *e)
{
    VizHistData d;
    if (viz_hist_data(&d, hs->data, hs->n, hs->bins, "export hist", e)) return -1;
    VizFont *f = surf_font(s);
    int W = surf_w(s), H = surf_h(s);
    VcSizes z = vc_sizes(W, H);
    StrBuf sub;
    sb_init(&sub);
    char a[32], b[32], c[32], dd[32];
    viz_num(a, sizeof a, d.mean), viz_num(b, sizeof b, d.std), viz_num(c, sizeof c, d.min), viz_num(dd, sizeof dd, d.max);
    sb_printf(&sub, "%s%s%zu values · mean %s · std %s · min %s · max %s", hs->subtitle ? hs->subtitle : "",
              hs->subtitle && *hs->subtitle ? " · " : "", d.n, a, b, c, dd);
    double top = vc_headline(s, &z, hs->title, sub.s);
    sb_free(&sub);
    double axis_h = vf_line(f, z.axis), lab_h = vf_line(f, z.label);
    Plot p = {0, top, W - z.margin * 1.5, H - z.margin * 0.5 - axis_h - z.gap - lab_h - z.gap * 0.6 - lab_h * 1.2,
              d.lo, d.hi, 0, (double)(d.cmax ? d.cmax : 1) * 1.05};
    p.x0 = z.margin + axis_h + z.gap + tick_w(f, &z, p.ylo, p.yhi, 6) + z.gap * 0.7;
    axes(s, &z, &p, 3, 8, 6);
    double bw = (p.x1 - p.x0) / d.bins, pad = bw > 6 ? fmax(1, bw * 0.08) : 0;
    for (int i = 0; i < d.bins; i++) {
        if (!d.count[i]) continue;
        double x = p.x0 + i * bw;
        surf_rect(s, x + pad / 2, px_y(&p, (double)d.count[i]), x + bw - pad / 2, p.y1, VD_ACCENT);
    }
    axis_title_x(s, &z, hs->xtitle ? hs->xtitle : "value", (p.x0 + p.x1) / 2, p.y1 + z.gap * 0.6 + lab_h + z.gap * 0.4);
    axis_title_y(s, &z, "count", (p.y0 + p.y1) / 2);
    if (d.nan || d.pinf || d.ninf) {
        StrBuf n;
        sb_init(&n);
        sb_printf(&n, "left out: %zu nan, %zu +inf, %zu -inf", d.nan, d.pinf, d.ninf);
        vc_note(s, &z, n.s, z.margin, H - z.margin * 0.5 - lab_h, W - 2 * z.margin);
        sb_free(&n);
    }
    viz_hist_data_free(&d);
    return 0;
}

int viz_file_hist(const char *path, int w, int h, const VizHist *hs, GrErr *e)
{
    if (!hs || (hs->n && !hs->data)) return gr_fail(e, "export hist: no data");
    Surface *s = vc_begin(path, &w, &h, "export", e);
    if (!s) return -1;
    return hist_page(s, hs, e) ? vc_abort(s) : vc_end(s, path, e);
}

/* ---- bars: one panel per series, the labels once at the left ---- */

static int bars_page(Surface *s, const VizBars *b, GrErr *e)
{
    VizFont *f = surf_font(s);
    int W = surf_w(s), H = surf_h(s);
    VcSizes z = vc_sizes(W, H);
    int ns = b->nseries > 0 ? b->nseries : 1;
    double top = vc_headline(s, &z, b->title, b->subtitle);
    double axis_h = vf_line(f, z.axis), lab_h = vf_line(f, z.label);
    double bottom = z.gap * 0.6 + lab_h + z.gap * 0.4 + axis_h + z.margin * 0.5;
    double y0 = top + axis_h * 1.2, y1 = H - bottom;
    double row = (y1 - y0) / b->n;
    double lab_px = fmin(z.axis, fmax(z.label, row * 0.55));
    if (row < vf_line(f, z.label) * 0.8) return gr_fail(e, "export: %d bars do not fit on %d pixels", b->n, H);
    StrBuf t, fit;
    sb_init(&t);
    sb_init(&fit);
    double lw = 0;
    for (int i = 0; i < b->n; i++) {
        vc_label(&t, b->labels, i, i);
        lw = fmax(lw, vf_width(f, t.s, lab_px));
    }
    lw = fmin(lw, W * 0.2);
    double vmax = 0;
    for (int i = 0; i < b->n * ns; i++)
        if (isfinite(b->values[i])) vmax = fmax(vmax, b->values[i]);
    double xhi = b->prob ? 1 : (vmax > 0 ? vmax * 1.1 : 1);
    double vw = vf_width(f, "0.0000", lab_px * 0.9) + z.gap;
    double left = z.margin + lw + z.gap, pg = z.gap * 3;
    double pw = (W - left - z.margin - (ns - 1) * pg) / ns;
    for (int i = 0; i < b->n; i++) {
        vc_label(&t, b->labels, i, i);
        vf_fit(f, t.s, lab_px, lw, &fit);
        surf_text(s, fit.s, lab_px, VD_TEXT, left - z.gap, y0 + (i + 0.5) * row, VA_END, VA_MID, 0);
    }
    char buf[32];
    for (int k = 0; k < ns; k++) {
        Plot p = {left + k * (pw + pg), y0, left + k * (pw + pg) + pw - vw, y1, 0, xhi, 0, 1};
        axes(s, &z, &p, 1, 4, 0);
        if (b->series && b->series[k])
            surf_text(s, b->series[k], z.axis, VD_TEXT, (p.x0 + p.x1) / 2, top, VA_MID, VA_START, 0);
        const unsigned char *col = SERIES_RGB[0]; /* one colour: the panels are the series */
        for (int i = 0; i < b->n; i++) {
            double v = b->values[(size_t)k * b->n + i];
            double yy = y0 + i * row, x = isfinite(v) ? px_x(&p, fmax(0, fmin(v, xhi))) : p.x0;
            surf_rect(s, p.x0, yy + row * 0.15, x, yy + row * 0.85, col);
            snprintf(buf, sizeof buf, b->prob ? "%.3f" : "%.4g", v);
            surf_text(s, buf, lab_px * 0.9, VD_TEXT, x + z.gap * 0.4, yy + row * 0.5, VA_START, VA_MID, 0);
        }
    }
    axis_title_x(s, &z, b->prob ? "probability" : "value", (left + W - z.margin) / 2, y1 + z.gap * 0.6 + lab_h + z.gap * 0.4);
    sb_free(&t);
    sb_free(&fit);
    return 0;
}

int viz_file_bars(const char *path, int w, int h, const VizBars *b, GrErr *e)
{
    if (!b || b->n < 1 || !b->values) return gr_fail(e, "export: no bars to draw");
    Surface *s = vc_begin(path, &w, &h, "export", e);
    if (!s) return -1;
    return bars_page(s, b, e) ? vc_abort(s) : vc_end(s, path, e);
}

/* ---- line chart ---- */

/* The points of a series as drawn: every point, or where there are more points than
 * pixel columns, each column's first, extreme and last values (the envelope). */
static int series_points(const Plot *p, const float *x, const float *y, int n, double **out)
{
    int cols = (int)(p->x1 - p->x0) + 1;
    *out = malloc(sizeof(double) * 2 * (size_t)(n < 4 * cols ? n : 4 * cols) + 16);
    if (!*out) return 0;
    int k = 0;
    if (n <= 4 * cols) {
        for (int i = 0; i < n; i++) {
            if (!isfinite(y[i]) || !isfinite(x[i])) continue;
            (*out)[2 * k] = px_x(p, x[i]);
            (*out)[2 * k + 1] = px_y(p, y[i]);
            k++;
        }
        return k;
    }
    int i = 0;
    for (int c = 0; c < cols && i < n; c++) {
        double edge = p->xlo + (c + 1.0) / cols * (p->xhi - p->xlo);
        int lo = -1, hi = -1, first = -1, last = -1;
        for (; i < n && x[i] <= edge; i++) {
            if (!isfinite(y[i])) continue;
            if (first < 0) first = i;
            last = i;
            if (lo < 0 || y[i] < y[lo]) lo = i;
            if (hi < 0 || y[i] > y[hi]) hi = i;
        }
        if (first < 0) continue;
        int idx[4] = {first, lo < hi ? lo : hi, lo < hi ? hi : lo, last};
        for (int j = 0; j < 4; j++) {
            (*out)[2 * k] = px_x(p, x[idx[j]]);
            (*out)[2 * k + 1] = px_y(p, y[idx[j]]);
            k++;
        }
    }
    return k;
}

static int line_page(Surface *s, const VizLine *l, GrErr *e)
{
    VizFont *f = surf_font(s);
    int W = surf_w(s), H = surf_h(s);
    VcSizes z = vc_sizes(W, H);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < l->nseries; k++)
        for (int i = 0; i < l->n[k]; i++) {
            if (!isfinite(l->y[k][i])) continue;
            xlo = fmin(xlo, l->x[k][i]), xhi = fmax(xhi, l->x[k][i]);
            ylo = fmin(ylo, l->y[k][i]), yhi = fmax(yhi, l->y[k][i]);
        }
    if (!(xlo <= xhi)) return gr_fail(e, "export: no finite points to draw");
    if (isfinite(l->ref)) ylo = fmin(ylo, l->ref), yhi = fmax(yhi, l->ref);
    if (!(xhi > xlo)) xlo -= 0.5, xhi += 0.5;
    if (!(yhi > ylo)) ylo -= 0.5, yhi += 0.5;
    double pad = (yhi - ylo) * 0.06;
    ylo -= pad, yhi += pad;
    double top = vc_headline(s, &z, l->title, l->subtitle);
    double axis_h = vf_line(f, z.axis), lab_h = vf_line(f, z.label);
    Plot p = {0, top, W - z.margin * 1.5, H - z.margin * 0.5 - axis_h - z.gap - lab_h - z.gap * 0.6, xlo, xhi, ylo, yhi};
    p.x0 = z.margin + axis_h + z.gap + tick_w(f, &z, ylo, yhi, 7) + z.gap * 0.7;
    axes(s, &z, &p, 3, 8, 7);
    if (isfinite(l->ref)) {
        double y = px_y(&p, l->ref), seg[4] = {p.x0, y, p.x1, y};
        surf_polyline(s, seg, 2, z.lw * 1.2, VD_REF, z.gap * 1.2);
        if (l->ref_label) surf_text(s, l->ref_label, z.axis, VD_REF, p.x0 + z.gap, y - z.gap * 0.4, VA_START, VA_END, 0);
    }
    for (int k = 0; k < l->nseries; k++) {
        double *pts;
        int n = series_points(&p, l->x[k], l->y[k], l->n[k], &pts);
        const unsigned char *col = SERIES_RGB[k % 4];
        surf_polyline(s, pts, n, z.lw * (k >= l->markers_from ? 1.2 : 1.5), col, 0);
        if (k >= l->markers_from && n <= 200)
            for (int i = 0; i < n; i++) surf_dot(s, pts[2 * i], pts[2 * i + 1], z.lw * 2.5, col);
        free(pts);
    }
    /* legend, top right inside the plot */
    double ly = p.y0 + z.gap, lx1 = p.x1 - z.gap;
    if (isfinite(l->ref) && px_y(&p, l->ref) < p.y0 + (p.y1 - p.y0) * 0.25) ly = fmax(ly, px_y(&p, l->ref) + z.gap * 1.5);
    for (int k = 0; k < l->nseries; k++) {
        if (!l->names || !l->names[k]) continue;
        double tw = vf_width(f, l->names[k], z.axis), sw = z.axis * 1.6;
        double x0 = lx1 - tw - sw - z.gap * 0.5, yy = ly + k * vf_line(f, z.axis) * 1.2 + vf_line(f, z.axis) / 2;
        double seg[4] = {x0, yy, x0 + sw, yy};
        surf_polyline(s, seg, 2, z.lw * 1.5, SERIES_RGB[k % 4], 0);
        if (k >= l->markers_from) surf_dot(s, x0 + sw / 2, yy, z.lw * 2.5, SERIES_RGB[k % 4]);
        surf_text(s, l->names[k], z.axis, VD_TEXT, lx1, yy, VA_END, VA_MID, 0);
    }
    axis_title_x(s, &z, l->xtitle, (p.x0 + p.x1) / 2, p.y1 + z.gap * 0.6 + lab_h + z.gap * 0.4);
    axis_title_y(s, &z, l->ytitle, (p.y0 + p.y1) / 2);
    return 0;
}

int viz_file_line(const char *path, int w, int h, const VizLine *l, GrErr *e)
{
    if (!l || l->nseries < 1) return gr_fail(e, "export: no curve to draw");
    Surface *s = vc_begin(path, &w, &h, "export", e);
    if (!s) return -1;
    return line_page(s, l, e) ? vc_abort(s) : vc_end(s, path, e);
}
