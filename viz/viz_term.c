/* viz_term.c — terminal renderers: heatmaps, histograms, bars, sparklines, gauges.
 * Everything is appended to a StrBuf; nothing is printed. */
#include "viz_term.h"

#include <ctype.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int vt_width_of(const VizOpts *o) { return (o && o->width > 0) ? o->width : 80; }
VizColor vt_color_of(const VizOpts *o)
{
    if (!o) return VIZ_COLOR_NONE;
    switch (o->color) {
    case VIZ_COLOR_NONE: case VIZ_COLOR_16: case VIZ_COLOR_256: case VIZ_COLOR_TRUE: return o->color;
    }
    return VIZ_COLOR_NONE;
}

/* ---- text helpers ------------------------------------------------------------ */

int vt_text_width(const char *s) { return s ? gr_utf8_width(s, strlen(s)) : 0; }

void vt_spaces(StrBuf *o, int n)
{
    for (int i = 0; i < n; i++) sb_putc(o, ' ');
}

/* Appends s (escaped, no ANSI codes) in exactly w display columns, aligned right or
 * left, truncated with '…' when longer. */
void vt_fit(StrBuf *o, const char *s, int w, int right)
{
    if (w <= 0) return;
    size_t n = strlen(s);
    int sw = gr_utf8_width(s, n);
    if (sw <= w) {
        if (right) vt_spaces(o, w - sw);
        sb_putn(o, s, n);
        if (!right) vt_spaces(o, w - sw);
        return;
    }
    size_t i = 0, cut = 0;
    int cw = 0;
    while (i < n) {
        unsigned cp;
        int k = gr_utf8_decode(s + i, n - i, &cp);
        int kw = gr_utf8_width(s + i, (size_t)k);
        if (cw + kw > w - 1) break;
        cw += kw;
        i += (size_t)k;
        cut = i;
    }
    if (right) vt_spaces(o, w - 1 - cw);
    sb_putn(o, s, cut);
    sb_puts(o, "\xe2\x80\xa6"); /* … */
    if (!right) vt_spaces(o, w - 1 - cw);
}

/* Appends line[0..len) clipped to maxw display columns (ANSI codes pass through),
 * then a newline. A line with escape codes always ends with a reset; a plain line
 * loses its trailing spaces. */
void vt_emit(StrBuf *o, const char *line, size_t len, int maxw)
{
    size_t start = o->len, i = 0;
    int w = 0, has_esc = 0;
    while (i < len) {
        if (line[i] == '\x1b') {
            size_t j = i + viz_escape_len(line + i, len - i);
            sb_putn(o, line + i, j - i);
            has_esc = 1;
            i = j;
            continue;
        }
        unsigned cp;
        int k = gr_utf8_decode(line + i, len - i, &cp);
        int kw = gr_utf8_width(line + i, (size_t)k);
        if (w + kw > maxw) break;
        sb_putn(o, line + i, (size_t)k);
        w += kw;
        i += (size_t)k;
    }
    if (has_esc) {
        static const char rst[] = "\x1b[0m";
        if (o->len - start < 4 || memcmp(o->s + o->len - 4, rst, 4) != 0) sb_puts(o, rst);
    } else {
        while (o->len > start && o->s[o->len - 1] == ' ') o->len--;
        o->s[o->len] = 0;
    }
    sb_putc(o, '\n');
}

void vt_emit_sb(StrBuf *o, StrBuf *line, int maxw)
{
    vt_emit(o, line->s ? line->s : "", line->len, maxw);
    sb_clear(line);
}

/* Title or subtitle: control characters escaped, spaces kept. */
void vt_title(StrBuf *o, const char *title, int maxw)
{
    if (!title) return;
    StrBuf t;
    sb_init(&t);
    viz_text_escape(&t, title);
    vt_wrap(o, t.s ? t.s : "", maxw);
    sb_free(&t);
}

/* Appends items joined by two spaces, wrapped to maxw (an item longer than a line
 * is clipped). Items hold no escape codes. */
void vt_items(StrBuf *o, const char *const *items, int n, int maxw)
{
    StrBuf line;
    sb_init(&line);
    int w = 0;
    for (int i = 0; i < n; i++) {
        int iw = vt_text_width(items[i]);
        if (w > 0 && w + 2 + iw > maxw) {
            vt_emit_sb(o, &line, maxw);
            w = 0;
        }
        if (w > 0) {
            sb_puts(&line, "  ");
            w += 2;
        }
        sb_puts(&line, items[i]);
        w += iw;
    }
    if (w > 0 || n == 0) vt_emit_sb(o, &line, maxw);
    sb_free(&line);
}

void vt_wrap(StrBuf *o, const char *text, int maxw)
{
    StrBuf line;
    sb_init(&line);
    int w = 0;
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ' ') p++;
        const char *q = p;
        while (*q && *q != ' ') q++;
        if (q == p) break;
        int ww = gr_utf8_width(p, (size_t)(q - p));
        if (w > 0 && w + 1 + ww > maxw) {
            vt_emit_sb(o, &line, maxw);
            w = 0;
        }
        if (w > 0) {
            sb_putc(&line, ' ');
            w++;
        }
        sb_putn(&line, p, (size_t)(q - p));
        w += ww;
        p = q;
    }
    if (w > 0) vt_emit_sb(o, &line, maxw);
    sb_free(&line);
}

int vt_ndigits(long v)
{
    int d = 1;
    while (v >= 10) { v /= 10; d++; }
    return d;
}

/* ---- colours ------------------------------------------------------------------ */

int vt_rgb_to_256(const unsigned char c[3])
{
    int q[3];
    for (int i = 0; i < 3; i++) q[i] = c[i] < 48 ? 0 : c[i] < 115 ? 1 : (c[i] - 35) / 40;
    return 16 + 36 * q[0] + 6 * q[1] + q[2];
}

/* A colour key for mode m from an RGB colour. TRUE: 0xRRGGBB; 256: index; 16: not used. */
int vt_key(VizColor m, const unsigned char rgb[3])
{
    if (m == VIZ_COLOR_TRUE) return rgb[0] << 16 | rgb[1] << 8 | rgb[2];
    return vt_rgb_to_256(rgb);
}

/* SGR for a colour key, foreground (bg = 0) or background (bg = 1). */
void vt_sgr(StrBuf *o, VizColor m, int key, int bg)
{
    if (m == VIZ_COLOR_TRUE)
        sb_printf(o, "\x1b[%d;2;%d;%d;%dm", bg ? 48 : 38, (key >> 16) & 255, (key >> 8) & 255, key & 255);
    else if (m == VIZ_COLOR_256)
        sb_printf(o, "\x1b[%d;5;%dm", bg ? 48 : 38, key);
    else
        sb_printf(o, "\x1b[%dm", key + (bg ? 10 : 0));
}

/* Fixed accent colour for bars and gauges. */
void vt_accent(StrBuf *o, VizColor m)
{
    if (m == VIZ_COLOR_NONE) return;
    static const unsigned char ACCENT[3] = {42, 120, 142}; /* viridis 0.4 */
    vt_sgr(o, m, m == VIZ_COLOR_16 ? 36 : vt_key(m, ACCENT), 0);
}


/* A run of w columns filled to fraction f (0..1) in eighth blocks, with or without
 * colour: round(f * w * 8) eighths (at least one when f > 0 and min_visible). */
void vt_bar(StrBuf *o, VizColor m, double f, int w, int min_visible, int pad)
{
    if (!(f > 0)) f = 0;
    if (f > 1) f = 1;
    static const char *const eighth[8] = {"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
                                          "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89"};
    long units = (long)(f * w * 8 + 0.5);
    if (units == 0 && f > 0 && min_visible) units = 1;
    int full = (int)(units / 8), rem = (int)(units % 8);
    if (full > 0 || rem > 0) vt_accent(o, m);
    for (int i = 0; i < full; i++) sb_puts(o, "\xe2\x96\x88");
    if (rem) sb_puts(o, eighth[rem]);
    if ((full > 0 || rem > 0) && m != VIZ_COLOR_NONE) sb_puts(o, RESET);
    if (pad) vt_spaces(o, w - full - (rem ? 1 : 0));
}

/* ---- histogram ------------------------------------------------------------------ */

/* "-0.00" → "0.00" (a tiny negative edge rounded to zero). */
static void drop_minus_zero(char *s)
{
    if (s[0] != '-') return;
    for (const char *p = s + 1; *p; p++)
        if (*p != '0' && *p != '.') return;
    memmove(s, s + 1, strlen(s));
}

/* Edge format: enough decimals that neighbouring edges differ. */
static void edge_fmt(double lo, double hi, int bins, char *fmt, size_t cap)
{
    double step = (hi - lo) / bins;
    double big = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
    int dec = (int)ceil(-log10(step)) + 1;
    if (dec < 0) dec = 0;
    if (dec > 6 || big >= 1e7) snprintf(fmt, cap, "%%.3e");
    else snprintf(fmt, cap, "%%.%df", dec);
}

int viz_term_hist(StrBuf *out, const VizOpts *o, const VizHist *hs, GrErr *e)
{
    if (!out || !hs) return gr_fail(e, "hist: nothing to draw");
    VizHistData h;
    int bins = hs->bins;
    const char *title = hs->title;
    if (viz_hist_data(&h, hs->data, hs->n, bins, "hist", e)) return -1;
    VizColor m = vt_color_of(o);
    int W = vt_width_of(o);
    vt_title(out, title, W);
    StrBuf line;
    sb_init(&line);
    char a[32], b[32], c[32], d[32];
    if (h.n == 0) {
        sb_printf(&line, "n 0 (no finite values)");
        vt_emit_sb(out, &line, W);
    } else {
        double lo = h.lo, hi = h.hi;
        size_t cmax = h.cmax;
        char fmt[16];
        edge_fmt(lo, hi, bins, fmt, sizeof fmt);
        int ew = 0;
        for (int k = 0; k <= bins; k++) {
            snprintf(a, sizeof a, fmt, lo + (hi - lo) * k / bins);
            drop_minus_zero(a);
            int len = (int)strlen(a);
            if (len > ew) ew = len;
        }
        int cw = vt_ndigits((long)(cmax > (size_t)LONG_MAX ? LONG_MAX : (long)cmax));
        int prefix = 1 + ew + 2 + ew + 1 + 1 + cw + 1;
        int bw = W - prefix;
        if (bw > BAR_MAX) bw = BAR_MAX;
        if (bw < 1) bw = 1;
        for (int k = 0; k < bins; k++) {
            snprintf(a, sizeof a, fmt, lo + (hi - lo) * k / bins);
            snprintf(b, sizeof b, fmt, k + 1 == bins ? hi : lo + (hi - lo) * (k + 1) / bins);
            drop_minus_zero(a);
            drop_minus_zero(b);
            sb_printf(&line, "[%*s, %*s%c %*zu ", ew, a, ew, b, k + 1 == bins ? ']' : ')', cw, h.count[k]);
            vt_bar(&line, m, cmax ? (double)h.count[k] / (double)cmax : 0, bw, 1, 0);
            vt_emit_sb(out, &line, W);
        }
        viz_num(a, sizeof a, h.mean);
        viz_num(b, sizeof b, h.std);
        viz_num(c, sizeof c, h.min);
        viz_num(d, sizeof d, h.max);
        char it[5][48];
        snprintf(it[0], sizeof it[0], "n %zu", h.n);
        snprintf(it[1], sizeof it[1], "mean %s", a);
        snprintf(it[2], sizeof it[2], "std %s", b);
        snprintf(it[3], sizeof it[3], "min %s", c);
        snprintf(it[4], sizeof it[4], "max %s", d);
        const char *items[5] = {it[0], it[1], it[2], it[3], it[4]};
        vt_items(out, items, 5, W);
    }
    if (h.nan || h.pinf || h.ninf) {
        char it[3][48];
        snprintf(it[0], sizeof it[0], "not binned: %zu nan", h.nan);
        snprintf(it[1], sizeof it[1], "%zu +inf", h.pinf);
        snprintf(it[2], sizeof it[2], "%zu -inf", h.ninf);
        const char *items[3] = {it[0], it[1], it[2]};
        vt_items(out, items, 3, W);
    }
    sb_free(&line);
    viz_hist_data_free(&h);
    return 0;
}

/* ---- bar chart: one bar column per series ------------------------------------------ */

/* Escaped labels, and the widest. */
static char **esc_labels(const char *const *src, int n, int *maxw)
{
    char **out = calloc((size_t)(n ? n : 1), sizeof *out);
    *maxw = 0;
    for (int i = 0; out && i < n; i++) {
        StrBuf b;
        sb_init(&b);
        if (src) viz_label_escape(&b, src[i]);
        else sb_printf(&b, "%d", i);
        out[i] = b.s ? b.s : strdup("");
        int w = vt_text_width(out[i]);
        if (w > *maxw) *maxw = w;
    }
    return out;
}

static void free_strs(char **l, int n)
{
    for (int i = 0; l && i < n; i++) free(l[i]);
    free(l);
}

int viz_term_bars(StrBuf *out, const VizOpts *o, const VizBars *bars, GrErr *e)
{
    if (!out || !bars) return gr_fail(e, "bars: nothing to draw");
    int n = bars->n, ns = bars->nseries > 0 ? bars->nseries : 1;
    if (n < 0 || n > 100000) return gr_fail(e, "bars: bad count %d", n);
    if (n > 0 && !bars->values) return gr_fail(e, "bars: no values");
    VizColor m = vt_color_of(o);
    int W = vt_width_of(o);
    double mx = 0;
    for (int i = 0; i < n * ns; i++)
        if (isfinite(bars->values[i]) && bars->values[i] > mx) mx = bars->values[i];
    double axis = bars->prob ? 1 : mx > 0 ? mx : 1;
    /* one value format for every column */
    char fmt[16], a[48];
    if (bars->prob) snprintf(fmt, sizeof fmt, "%%.3f");
    else if (mx >= 1e6 || (mx > 0 && mx < 1e-3)) snprintf(fmt, sizeof fmt, "%%.3e");
    else snprintf(fmt, sizeof fmt, "%%.%df", mx >= 100 ? 1 : mx >= 10 ? 2 : 3);
    int vw = 3;
    for (int i = 0; i < n * ns; i++) {
        int len = snprintf(a, sizeof a, fmt, (double)bars->values[i]);
        if (len > vw) vw = len;
    }
    int lw;
    char **lab = esc_labels(bars->labels, n, &lw);
    if (!lab) return gr_fail(e, "bars: out of memory");
    if (lw > 14) lw = 14;
    if (lw > W / 4) lw = W / 4 > 1 ? W / 4 : 1;
    /* each series: a bar of bw columns, a space, the value, two spaces between series */
    int colw = (W - lw - 1) / ns;
    int bw = colw - vw - 3;
    if (bw > BAR_MAX) bw = BAR_MAX;
    if (bw < 1) bw = 1;
    vt_title(out, bars->title, W);
    vt_title(out, bars->subtitle, W);
    StrBuf line;
    sb_init(&line);
    if (ns > 1 || bars->series) {
        vt_spaces(&line, lw + 1);
        for (int k = 0; k < ns; k++) {
            StrBuf t;
            sb_init(&t);
            if (bars->series && bars->series[k]) viz_text_escape(&t, bars->series[k]);
            vt_fit(&line, t.s ? t.s : "", bw + 1 + vw, 0);
            if (k + 1 < ns) vt_spaces(&line, 2);
            sb_free(&t);
        }
        vt_emit_sb(out, &line, W);
    }
    for (int i = 0; i < n; i++) {
        vt_fit(&line, lab[i], lw, 1);
        sb_putc(&line, ' ');
        for (int k = 0; k < ns; k++) {
            float v = bars->values[(size_t)k * n + i];
            double f = isfinite(v) && v > 0 ? v / axis : isinf(v) && v > 0 ? 1 : 0;
            vt_bar(&line, m, f, bw, 1, 1);
            snprintf(a, sizeof a, fmt, (double)v);
            sb_printf(&line, " %*s", vw, a);
            if (k + 1 < ns) vt_spaces(&line, 2);
        }
        vt_emit_sb(out, &line, W);
    }
    sb_free(&line);
    free_strs(lab, n);
    return 0;
}

/* ---- sparkline ------------------------------------------------------------------ */

void viz_sparkline(StrBuf *out, const VizOpts *o, const float *values, int n)
{
    if (!out) return;
    VizColor m = vt_color_of(o);
    int W = vt_width_of(o);
    if (n <= 0 || !values) {
        sb_puts(out, "(no data)\n");
        return;
    }
    double mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(values[i])) {
            if (values[i] < mn) mn = values[i];
            if (values[i] > mx) mx = values[i];
        }
    char a[32], b[32], c[32], it[3][48];
    viz_num(a, sizeof a, mn);
    viz_num(b, sizeof b, mx);
    viz_num(c, sizeof c, (double)values[n - 1]);
    snprintf(it[0], sizeof it[0], "min %s", a);
    snprintf(it[1], sizeof it[1], "max %s", b);
    snprintf(it[2], sizeof it[2], "last %s", c);
    const char *items[3] = {it[0], it[1], it[2]};
    int nitems = 3;
    if (!isfinite(mn)) {
        items[0] = "(no finite values)";
        nitems = 1;
    }
    int sw_stats = 0;
    for (int i = 0; i < nitems; i++) sw_stats += 2 + (int)strlen(items[i]);
    /* the stats follow on the same line when at least 16 columns are left for the
     * sparkline (or all of it fits), else on the next line */
    int same_line = W - sw_stats >= (n < 16 ? n : 16);
    int sw = same_line ? W - sw_stats : W;
    if (sw > n) sw = n;
    if (sw < 1) sw = 1;
    /* bucket means */
    double *bm = malloc(sizeof *bm * (size_t)sw);
    if (!bm) return;
    double bmn = INFINITY, bmx = -INFINITY;
    for (int k = 0; k < sw; k++) {
        long i0 = (long)k * n / sw, i1 = (long)(k + 1) * n / sw;
        double s = 0;
        long cnt = 0;
        for (long i = i0; i < i1; i++)
            if (isfinite(values[i])) { s += values[i]; cnt++; }
        bm[k] = cnt ? s / (double)cnt : NAN;
        if (cnt) {
            if (bm[k] < bmn) bmn = bm[k];
            if (bm[k] > bmx) bmx = bm[k];
        }
    }
    StrBuf line;
    sb_init(&line);
    static const char *const blocks[8] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
                                          "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"};
    static const char ascii[] = "_.-~^";
    int levels = m == VIZ_COLOR_NONE ? 5 : 8;
    for (int k = 0; k < sw; k++) {
        if (isnan(bm[k])) { sb_putc(&line, ' '); continue; }
        int lv = bmx > bmn ? (int)((bm[k] - bmn) / (bmx - bmn) * (levels - 1) + 0.5) : levels / 2;
        if (lv < 0) lv = 0;
        if (lv >= levels) lv = levels - 1;
        if (m == VIZ_COLOR_NONE) sb_putc(&line, ascii[lv]);
        else sb_puts(&line, blocks[lv]);
    }
    free(bm);
    if (same_line) {
        for (int i = 0; i < nitems; i++) {
            sb_puts(&line, "  ");
            sb_puts(&line, items[i]);
        }
        vt_emit_sb(out, &line, W);
    } else {
        vt_emit_sb(out, &line, W);
        vt_items(out, items, nitems, W);
    }
    sb_free(&line);
}

/* ---- gauge ------------------------------------------------------------------ */

void viz_gauge(StrBuf *out, const VizOpts *o, const char *label, double value, double ref, const char *ref_label,
               double axis_max)
{
    if (!out) return;
    VizColor m = vt_color_of(o);
    int W = vt_width_of(o);
    if (!(axis_max > 0) || !isfinite(axis_max)) {
        double big = 0;
        if (isfinite(value) && value > big) big = value;
        if (isfinite(ref) && ref > big) big = ref;
        axis_max = big > 0 ? big * 1.1 : 1;
    }
    char vs[32], rs[32], as[32];
    snprintf(vs, sizeof vs, "%.5g", value);
    snprintf(rs, sizeof rs, "%.5g", ref);
    viz_num(as, sizeof as, axis_max);
    StrBuf head, tail, line;
    sb_init(&head);
    sb_init(&tail);
    sb_init(&line);
    if (label && *label) {
        viz_text_escape(&head, label);
        sb_putc(&head, ' ');
    }
    sb_printf(&head, "%s 0 [", vs);
    sb_printf(&tail, "] %s", as);
    int has_ref = isfinite(ref);
    StrBuf legend;
    sb_init(&legend);
    if (has_ref) {
        if (m == VIZ_COLOR_NONE) sb_putc(&legend, '|');
        else sb_puts(&legend, "\x1b[91m\xe2\x94\x83" RESET);
        if (ref_label && *ref_label) {
            sb_putc(&legend, ' ');
            viz_text_escape(&legend, ref_label);
        }
        sb_printf(&legend, " %s", rs);
    }
    int hw = viz_display_width(head.s, head.len), tw = viz_display_width(tail.s, tail.len);
    int lw = has_ref ? 2 + viz_display_width(legend.s, legend.len) : 0;
    int legend_below = W - hw - tw - lw < 10 && has_ref;
    int bw = W - hw - tw - (legend_below ? 0 : lw);
    if (bw > 60) bw = 60;
    if (bw < 1) bw = 1;
    double f = isfinite(value) ? value / axis_max : (isinf(value) && value > 0 ? 1 : 0);
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    int mpos = -1;
    if (has_ref && ref >= 0 && ref <= axis_max) {
        mpos = (int)(ref / axis_max * bw);
        if (mpos >= bw) mpos = bw - 1;
    }
    sb_putn(&line, head.s, head.len);
    long units = (long)(f * bw * 8 + 0.5);
    static const char *const eighth[8] = {" ", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
                                          "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89"};
    int colored = 0; /* inside an accent run */
    for (int i = 0; i < bw; i++) {
        long u = units - (long)i * 8; /* eighths of this cell that are filled */
        if (u > 8) u = 8;
        if (u < 0) u = 0;
        int want = m != VIZ_COLOR_NONE && u > 0 && i != mpos;
        if (colored && !want) { sb_puts(&line, RESET); colored = 0; }
        if (!colored && want) { vt_accent(&line, m); colored = 1; }
        if (i == mpos) {
            if (m == VIZ_COLOR_NONE) sb_putc(&line, '|');
            else sb_puts(&line, "\x1b[91m\xe2\x94\x83" RESET);
        } else if (m == VIZ_COLOR_NONE) {
            sb_putc(&line, u >= 4 ? '#' : ' ');
        } else {
            sb_puts(&line, u == 8 ? "\xe2\x96\x88" : eighth[u]);
        }
    }
    if (colored) sb_puts(&line, RESET);
    sb_putn(&line, tail.s, tail.len);
    if (has_ref && !legend_below) {
        sb_puts(&line, "  ");
        sb_putn(&line, legend.s, legend.len);
    }
    vt_emit_sb(out, &line, W);
    if (legend_below) {
        int legw = lw - 2, at = hw + (mpos > 0 ? mpos : 0);
        if (at + legw > W) at = W - legw;
        vt_spaces(&line, at > 0 ? at : 0);
        sb_putn(&line, legend.s, legend.len);
        vt_emit_sb(out, &line, W);
    }
    sb_free(&legend);
    sb_free(&head);
    sb_free(&tail);
    sb_free(&line);
}
