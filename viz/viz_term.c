/* viz_term.c — terminal renderers: heatmaps, histograms, bars, sparklines, gauges.
 * Everything is appended to a StrBuf; nothing is printed. */
#include "viz.h"

#include <ctype.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int opt_width(const VizOpts *o) { return (o && o->width > 0) ? o->width : 80; }
static VizColor opt_color(const VizOpts *o)
{
    if (!o) return VIZ_COLOR_NONE;
    switch (o->color) {
    case VIZ_COLOR_NONE: case VIZ_COLOR_16: case VIZ_COLOR_256: case VIZ_COLOR_TRUE: return o->color;
    }
    return VIZ_COLOR_NONE;
}

/* ---- text helpers ------------------------------------------------------------ */

static int text_width(const char *s) { return s ? gr_utf8_width(s, strlen(s)) : 0; }

static void put_spaces(StrBuf *o, int n)
{
    for (int i = 0; i < n; i++) sb_putc(o, ' ');
}

/* Appends s (escaped, no ANSI codes) in exactly w display columns, aligned right or
 * left, truncated with '…' when longer. */
static void put_fit(StrBuf *o, const char *s, int w, int right)
{
    if (w <= 0) return;
    size_t n = strlen(s);
    int sw = gr_utf8_width(s, n);
    if (sw <= w) {
        if (right) put_spaces(o, w - sw);
        sb_putn(o, s, n);
        if (!right) put_spaces(o, w - sw);
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
    if (right) put_spaces(o, w - 1 - cw);
    sb_putn(o, s, cut);
    sb_puts(o, "\xe2\x80\xa6"); /* … */
    if (!right) put_spaces(o, w - 1 - cw);
}

/* Appends line[0..len) clipped to maxw display columns (ANSI codes pass through),
 * then a newline. A line with escape codes always ends with a reset; a plain line
 * loses its trailing spaces. */
static void emit_line(StrBuf *o, const char *line, size_t len, int maxw)
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

static void emit_sb(StrBuf *o, StrBuf *line, int maxw)
{
    emit_line(o, line->s ? line->s : "", line->len, maxw);
    sb_clear(line);
}

/* Title or subtitle: control characters escaped, spaces kept. */
static void put_title(StrBuf *o, const char *title, int maxw)
{
    if (!title) return;
    StrBuf t;
    sb_init(&t);
    viz_text_escape(&t, title);
    emit_line(o, t.s ? t.s : "", t.len, maxw);
    sb_free(&t);
}

/* Appends items joined by two spaces, wrapped to maxw (an item longer than a line
 * is clipped). Items hold no escape codes. */
static void emit_items(StrBuf *o, const char *const *items, int n, int maxw)
{
    StrBuf line;
    sb_init(&line);
    int w = 0;
    for (int i = 0; i < n; i++) {
        int iw = text_width(items[i]);
        if (w > 0 && w + 2 + iw > maxw) {
            emit_sb(o, &line, maxw);
            w = 0;
        }
        if (w > 0) {
            sb_puts(&line, "  ");
            w += 2;
        }
        sb_puts(&line, items[i]);
        w += iw;
    }
    if (w > 0 || n == 0) emit_sb(o, &line, maxw);
    sb_free(&line);
}

/* Compact number: %.4g, with "-0" shown as "0". */
static void fmt_num(char *buf, size_t cap, double v)
{
    if (isnan(v)) { snprintf(buf, cap, "nan"); return; }
    if (isinf(v)) { snprintf(buf, cap, v > 0 ? "inf" : "-inf"); return; }
    snprintf(buf, cap, "%.4g", v);
    if (strcmp(buf, "-0") == 0) snprintf(buf, cap, "0");
}

static int ndigits(long v)
{
    int d = 1;
    while (v >= 10) { v /= 10; d++; }
    return d;
}

/* ---- colours ------------------------------------------------------------------ */

static const unsigned char TERM_MASK_RGB[3] = {58, 58, 58};
enum { TERM_MASK_256 = 237, TERM_MASK_16 = 90 };
static const int RAMP16[] = {35, 34, 36, 32, 92, 93}; /* purple → blue → cyan → green → yellow */
static const char ASCII_RAMP[] = " .:-=+*#%@";
#define MASK_CHAR '/'

static int rgb_to_256(const unsigned char c[3])
{
    int q[3];
    for (int i = 0; i < 3; i++) q[i] = c[i] < 48 ? 0 : c[i] < 115 ? 1 : (c[i] - 35) / 40;
    return 16 + 36 * q[0] + 6 * q[1] + q[2];
}

/* A colour key for mode m: value t in [0,1], or t < 0 for the mask colour.
 * TRUE: 0xRRGGBB; 256: index; 16: foreground SGR code. */
static int color_key(VizColor m, double t)
{
    unsigned char rgb[3];
    if (t < 0) {
        if (m == VIZ_COLOR_TRUE) return TERM_MASK_RGB[0] << 16 | TERM_MASK_RGB[1] << 8 | TERM_MASK_RGB[2];
        return m == VIZ_COLOR_256 ? TERM_MASK_256 : TERM_MASK_16;
    }
    if (m == VIZ_COLOR_16) {
        int i = (int)(t * 5 + 0.5);
        return RAMP16[i < 0 ? 0 : i > 5 ? 5 : i];
    }
    viz_colormap(t, rgb);
    if (m == VIZ_COLOR_TRUE) return rgb[0] << 16 | rgb[1] << 8 | rgb[2];
    return rgb_to_256(rgb);
}

/* SGR for a colour key, foreground (bg = 0) or background (bg = 1). */
static void put_sgr(StrBuf *o, VizColor m, int key, int bg)
{
    if (m == VIZ_COLOR_TRUE)
        sb_printf(o, "\x1b[%d;2;%d;%d;%dm", bg ? 48 : 38, (key >> 16) & 255, (key >> 8) & 255, key & 255);
    else if (m == VIZ_COLOR_256)
        sb_printf(o, "\x1b[%d;5;%dm", bg ? 48 : 38, key);
    else
        sb_printf(o, "\x1b[%dm", key + (bg ? 10 : 0));
}

/* Fixed accent colour for bars and gauges. */
static void put_accent(StrBuf *o, VizColor m)
{
    if (m == VIZ_COLOR_NONE) return;
    put_sgr(o, m, m == VIZ_COLOR_16 ? 36 : color_key(m, 0.45), 0);
}

#define RESET "\x1b[0m"
#define BAR_MAX 64 /* longest bar in histograms and bar charts, so values stay near their bars */

/* A run of w columns filled to fraction f (0..1) with eighth blocks (or '#'). */
static void put_bar(StrBuf *o, VizColor m, double f, int w, int min_visible, int pad)
{
    if (!(f > 0)) f = 0;
    if (f > 1) f = 1;
    int used = 0;
    if (m == VIZ_COLOR_NONE) {
        int k = (int)(f * w + 0.5);
        if (k == 0 && f > 0 && min_visible) k = 1;
        for (int i = 0; i < k; i++) sb_putc(o, '#');
        used = k;
    } else {
        static const char *const eighth[8] = {"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
                                              "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89"};
        long units = (long)(f * w * 8 + 0.5);
        if (units == 0 && f > 0 && min_visible) units = 1;
        int full = (int)(units / 8), rem = (int)(units % 8);
        if (full > 0 || rem > 0) put_accent(o, m);
        for (int i = 0; i < full; i++) sb_puts(o, "\xe2\x96\x88");
        if (rem) sb_puts(o, eighth[rem]);
        if (full > 0 || rem > 0) sb_puts(o, RESET);
        used = full + (rem ? 1 : 0);
    }
    if (pad) put_spaces(o, w - used);
}

/* ---- heatmaps ------------------------------------------------------------------ */

typedef struct {
    VizColor m;
    int W;
    const float *const *datas;
    int n, rows, cols, mask_upper;
    double mn, mx;   /* range of unmasked finite cells */
    int any_value, any_masked;
} Heat;

/* 0 for a masked cell, else 1 with t in [0,1]. */
static int heat_cell(const Heat *h, const float *d, int r, int c, double *t)
{
    if (h->mask_upper && c > r) return 0;
    float v = d[(size_t)r * (size_t)h->cols + (size_t)c];
    if (isnan(v) || (isinf(v) && v < 0)) return 0;
    if (isinf(v)) { *t = 1; return 1; }
    double range = h->mx - h->mn;
    *t = range > 0 ? ((double)v - h->mn) / range : 0.5;
    if (*t < 0) *t = 0;
    if (*t > 1) *t = 1;
    return 1;
}

static char ramp_char(double t)
{
    int i = (int)(t * 9 + 0.5);
    return ASCII_RAMP[i < 0 ? 0 : i > 9 ? 9 : i];
}

/* Escaped labels in one buffer; lab[i] == NULL when there are none. */
typedef struct {
    StrBuf buf;
    size_t *off;
    int n, maxw;
} Labels;

static int labels_make(Labels *L, const char *const *src, int n)
{
    sb_init(&L->buf);
    L->off = NULL;
    L->n = 0;
    L->maxw = 0;
    if (!src) return 0;
    L->off = malloc(sizeof *L->off * (size_t)n);
    if (!L->off) return -1;
    L->n = n;
    for (int i = 0; i < n; i++) {
        L->off[i] = L->buf.len;
        size_t before = L->buf.len;
        viz_label_escape(&L->buf, src[i]);
        int w = gr_utf8_width(L->buf.s ? L->buf.s + before : "", L->buf.len - before);
        if (w > L->maxw) L->maxw = w;
        sb_putc(&L->buf, 0);
    }
    return 0;
}
static const char *label_at(const Labels *L, int i) { return L->n ? L->buf.s + L->off[i] : ""; }
static void labels_free(Labels *L)
{
    sb_free(&L->buf);
    free(L->off);
}

/* One row label slot: "<label right-aligned in lw> <index in dw>" (or blanks). */
static void put_slot(StrBuf *o, const Labels *L, int lw, int dw, int row)
{
    if (row < 0) {
        put_spaces(o, lw + (lw ? 1 : 0) + dw);
        return;
    }
    if (lw) {
        put_fit(o, label_at(L, row), lw, 1);
        sb_putc(o, ' ');
    }
    sb_printf(o, "%*d", dw, row);
}

static int heat_render(StrBuf *out, const VizOpts *opt, const char *title, const float *const *datas,
                       const char *const *subtitles, int n, int rows, int cols, const char *const *row_labels,
                       const char *const *col_labels, int mask_upper, GrErr *e, const char *who)
{
    if (!out) return gr_fail(e, "%s: no output buffer", who);
    if (n < 1 || rows < 1 || cols < 1 || rows > 1000000 || cols > 1000000)
        return gr_fail(e, "%s: bad size %d x %d (x%d)", who, rows, cols, n);
    size_t cells;
    if (!gr_mul_ok((size_t)rows, (size_t)cols, &cells)) return gr_fail(e, "%s: size overflows", who);
    if (!datas) return gr_fail(e, "%s: no data", who);
    for (int p = 0; p < n; p++)
        if (!datas[p]) return gr_fail(e, "%s: no data for panel %d", who, p);

    Heat h = {opt_color(opt), opt_width(opt), datas, n, rows, cols, mask_upper, 0, 0, 0, 0};
    h.mn = INFINITY;
    h.mx = -INFINITY;
    for (int p = 0; p < n; p++)
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                float v = datas[p][(size_t)r * (size_t)cols + (size_t)c];
                if ((mask_upper && c > r) || isnan(v) || (isinf(v) && v < 0)) { h.any_masked = 1; continue; }
                h.any_value = 1;
                if (isinf(v)) continue;
                if (v < h.mn) h.mn = v;
                if (v > h.mx) h.mx = v;
            }
    if (h.mn > h.mx) h.mn = h.mx = 0; /* only +inf or nothing unmasked */

    const int half = h.m != VIZ_COLOR_NONE;
    const int W = h.W;
    Labels L;
    if (labels_make(&L, row_labels, rows) != 0) return gr_fail(e, "%s: out of memory", who);
    int dw = ndigits(rows - 1);
    int lw = L.n ? (L.maxw < 12 ? L.maxw : 12) : 0;
    if (L.n && lw < 1) lw = 1;
#define SLOT(lw_) ((lw_) + ((lw_) ? 1 : 0) + dw)
#define LAREA(lw_) (half ? 2 * SLOT(lw_) + 1 : SLOT(lw_))
    int want = cols < (W - 2) / 2 ? cols : (W - 2) / 2;
    while (lw > 4 && W - LAREA(lw) - 2 < want) lw--;
    if (W - LAREA(lw) - 2 < 1) lw = 0;
    int la = LAREA(lw);
    int avail = W - la - 2;
    if (avail < 1) {
        labels_free(&L);
        return gr_fail(e, "%s: width %d is too narrow", who, W);
    }
    int shown = cols < avail ? cols : avail;
    int pw = shown + 2;
    int per_band = (W - la + 1) / (pw + 1);
    if (per_band < 1) per_band = 1;
    const char *bar = h.m == VIZ_COLOR_NONE ? "|" : "\xe2\x94\x82"; /* │ */

    put_title(out, title, W);
    StrBuf line;
    sb_init(&line);
    int cd = ndigits(shown - 1);
    for (int p0 = 0; p0 < n; p0 += per_band) {
        int p1 = p0 + per_band < n ? p0 + per_band : n;
        if (p0 > 0) sb_putc(out, '\n');
        if (n > 1 || subtitles) {
            put_spaces(&line, la);
            for (int p = p0; p < p1; p++) {
                StrBuf st;
                sb_init(&st);
                if (subtitles && subtitles[p]) viz_text_escape(&st, subtitles[p]);
                else sb_printf(&st, "#%d", p);
                put_fit(&line, st.s ? st.s : "", pw, 0);
                sb_free(&st);
                if (p + 1 < p1) sb_putc(&line, ' ');
            }
            emit_sb(out, &line, W);
        }
        /* column ruler: most significant digit line first */
        for (int k = cd - 1; k >= 0; k--) {
            long pk = 1;
            for (int i = 0; i < k; i++) pk *= 10;
            put_spaces(&line, la);
            for (int p = p0; p < p1; p++) {
                sb_putc(&line, ' ');
                for (int c = 0; c < shown; c++) {
                    if (k == 0) sb_putc(&line, (char)('0' + c % 10));
                    else if (c % 10 == 0 && c >= pk) sb_putc(&line, (char)('0' + (c / pk) % 10));
                    else sb_putc(&line, ' ');
                }
                sb_puts(&line, p + 1 < p1 ? "  " : " ");
            }
            emit_sb(out, &line, W);
        }
        int step = half ? 2 : 1;
        for (int r = 0; r < rows; r += step) {
            put_slot(&line, &L, lw, dw, r);
            if (half) {
                sb_putc(&line, ' ');
                put_slot(&line, &L, lw, dw, r + 1 < rows ? r + 1 : -1);
            }
            for (int p = p0; p < p1; p++) {
                const float *d = datas[p];
                sb_puts(&line, bar);
                if (!half) {
                    for (int c = 0; c < shown; c++) {
                        double t;
                        sb_putc(&line, heat_cell(&h, d, r, c, &t) ? ramp_char(t) : MASK_CHAR);
                    }
                } else {
                    int cur_fg = -1, cur_bg = -1;
                    for (int c = 0; c < shown; c++) {
                        double t;
                        int fk = color_key(h.m, heat_cell(&h, d, r, c, &t) ? t : -1);
                        if (fk != cur_fg) { put_sgr(&line, h.m, fk, 0); cur_fg = fk; }
                        if (r + 1 < rows) {
                            int bk = color_key(h.m, heat_cell(&h, d, r + 1, c, &t) ? t : -1);
                            if (bk != cur_bg) { put_sgr(&line, h.m, bk, 1); cur_bg = bk; }
                        }
                        sb_puts(&line, "\xe2\x96\x80"); /* ▀ */
                    }
                    sb_puts(&line, RESET);
                }
                sb_puts(&line, bar);
                if (p + 1 < p1) sb_putc(&line, ' ');
            }
            emit_sb(out, &line, W);
        }
    }
    if (shown < cols) {
        sb_printf(&line, "(showing %d of %d columns)", shown, cols);
        if (viz_display_width(line.s, line.len) > W) {
            sb_clear(&line);
            sb_printf(&line, "(%d of %d cols)", shown, cols);
        }
        emit_sb(out, &line, W);
    }

    /* colour bar / legend */
    char a[32], b[32];
    fmt_num(a, sizeof a, h.mn);
    fmt_num(b, sizeof b, h.mx);
    if (!h.any_value) {
        sb_puts(&line, "scale: (every cell is masked)");
    } else if (h.m == VIZ_COLOR_NONE) {
        sb_printf(&line, "scale %s [%s] %s", a, ASCII_RAMP, b);
        if (h.any_masked) sb_printf(&line, "   %c masked", MASK_CHAR);
    } else {
        sb_printf(&line, "scale %s ", a);
        int steps = 20, cur = -1;
        for (int i = 0; i < steps; i++) {
            int k = color_key(h.m, (double)i / (steps - 1));
            if (k != cur) { put_sgr(&line, h.m, k, 0); cur = k; }
            sb_puts(&line, "\xe2\x96\x88");
        }
        sb_printf(&line, RESET " %s", b);
        if (h.any_masked) {
            sb_puts(&line, "   ");
            put_sgr(&line, h.m, color_key(h.m, -1), 0);
            sb_puts(&line, "\xe2\x96\x88\xe2\x96\x88" RESET " masked");
        }
    }
    emit_sb(out, &line, W);
    if (half && rows > 1) {
        sb_puts(&line, "each line: upper half = left row label, lower half = right row label");
        emit_sb(out, &line, W);
    }
    if (col_labels && col_labels != row_labels) {
        Labels C;
        if (labels_make(&C, col_labels, shown) != 0) {
            sb_free(&line);
            labels_free(&L);
            return gr_fail(e, "%s: out of memory", who);
        }
        sb_puts(&line, "cols:");
        int lwid = 5;
        for (int c = 0; c < shown; c++) {
            StrBuf ent;
            sb_init(&ent);
            sb_printf(&ent, "%d ", c);
            const char *lab = label_at(&C, c);
            int labw = text_width(lab);
            put_fit(&ent, lab, labw < 16 ? labw : 16, 0);
            int ew = viz_display_width(ent.s, ent.len);
            if (lwid + 2 + ew > W && lwid > 5) {
                emit_sb(out, &line, W);
                sb_puts(&line, "     ");
                lwid = 5;
            }
            sb_puts(&line, lwid > 5 ? "  " : " ");
            sb_putn(&line, ent.s, ent.len);
            lwid += (lwid > 5 ? 2 : 1) + ew;
            sb_free(&ent);
        }
        emit_sb(out, &line, W);
        labels_free(&C);
    }
    sb_free(&line);
    labels_free(&L);
#undef SLOT
#undef LAREA
    return 0;
}

int viz_heatmap(StrBuf *out, const VizOpts *o, const char *title, const float *data, int rows, int cols,
                const char *const *row_labels, const char *const *col_labels, int mask_upper, GrErr *e)
{
    const float *const datas[1] = {data};
    return heat_render(out, o, title, data ? datas : NULL, NULL, 1, rows, cols, row_labels, col_labels, mask_upper,
                       e, "heatmap");
}

int viz_heatmap_multi(StrBuf *out, const VizOpts *o, const char *title, const float *const *datas,
                      const char *const *subtitles, int n, int rows, int cols, const char *const *row_labels,
                      const char *const *col_labels, int mask_upper, GrErr *e)
{
    return heat_render(out, o, title, datas, subtitles, n, rows, cols, row_labels, col_labels, mask_upper, e,
                       "heatmap");
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

int viz_hist(StrBuf *out, const VizOpts *o, const char *title, const float *data, size_t n, int bins, GrErr *e)
{
    if (!out) return gr_fail(e, "hist: no output buffer");
    VizHistData h;
    if (viz_hist_data(&h, data, n, bins, "hist", e)) return -1;
    VizColor m = opt_color(o);
    int W = opt_width(o);
    put_title(out, title, W);
    StrBuf line;
    sb_init(&line);
    char a[32], b[32], c[32], d[32];
    if (h.n == 0) {
        sb_printf(&line, "n 0 (no finite values)");
        emit_sb(out, &line, W);
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
        int cw = ndigits((long)(cmax > (size_t)LONG_MAX ? LONG_MAX : (long)cmax));
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
            put_bar(&line, m, cmax ? (double)h.count[k] / (double)cmax : 0, bw, 1, 0);
            emit_sb(out, &line, W);
        }
        fmt_num(a, sizeof a, h.mean);
        fmt_num(b, sizeof b, h.std);
        fmt_num(c, sizeof c, h.min);
        fmt_num(d, sizeof d, h.max);
        char it[5][48];
        snprintf(it[0], sizeof it[0], "n %zu", h.n);
        snprintf(it[1], sizeof it[1], "mean %s", a);
        snprintf(it[2], sizeof it[2], "std %s", b);
        snprintf(it[3], sizeof it[3], "min %s", c);
        snprintf(it[4], sizeof it[4], "max %s", d);
        const char *items[5] = {it[0], it[1], it[2], it[3], it[4]};
        emit_items(out, items, 5, W);
    }
    if (h.nan || h.pinf || h.ninf) {
        char it[3][48];
        snprintf(it[0], sizeof it[0], "not binned: %zu nan", h.nan);
        snprintf(it[1], sizeof it[1], "%zu +inf", h.pinf);
        snprintf(it[2], sizeof it[2], "%zu -inf", h.ninf);
        const char *items[3] = {it[0], it[1], it[2]};
        emit_items(out, items, 3, W);
    }
    sb_free(&line);
    viz_hist_data_free(&h);
    return 0;
}

/* ---- bar chart ------------------------------------------------------------------ */

int viz_bars(StrBuf *out, const VizOpts *o, const char *title, const char *const *labels, const float *values,
             int n, GrErr *e)
{
    if (!out) return gr_fail(e, "bars: no output buffer");
    if (n < 0 || n > 1000000) return gr_fail(e, "bars: bad count %d", n);
    if (n > 0 && !values) return gr_fail(e, "bars: no values");
    VizColor m = opt_color(o);
    int W = opt_width(o);
    double mn = 0, mx = 0;
    int unit = 1;
    for (int i = 0; i < n; i++) {
        float v = values[i];
        if (!isfinite(v)) { if (isinf(v)) unit = 0; continue; }
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        if (v < 0 || v > 1) unit = 0;
    }
    /* value format */
    char fmt[16], a[48];
    double big = fabs(mn) > mx ? fabs(mn) : mx;
    if (unit) snprintf(fmt, sizeof fmt, "%%.3f");
    else if (big >= 1e6 || (big > 0 && big < 1e-3)) snprintf(fmt, sizeof fmt, "%%.3e");
    else snprintf(fmt, sizeof fmt, "%%.%df", big >= 100 ? 1 : big >= 10 ? 2 : 3);
    int vw = 3;
    for (int i = 0; i < n; i++) {
        int len = isnan(values[i]) ? 3 : isinf(values[i]) ? 4 : snprintf(a, sizeof a, fmt, (double)values[i]);
        if (len > vw) vw = len;
    }
    Labels L;
    if (labels_make(&L, labels, n) != 0) return gr_fail(e, "bars: out of memory");
    int lw = L.n ? L.maxw : ndigits(n > 0 ? n - 1 : 0);
    int lmax = W / 3 < 16 ? W / 3 : 16;
    if (lmax < 1) lmax = 1;
    if (lw > lmax) lw = lmax;
    if (lw < 1) lw = 1;
    int bw = W - lw - 1 - 1 - vw;
    if (bw > BAR_MAX) bw = BAR_MAX;
    if (bw < 1) bw = 1;
    double scale = unit ? 1.0 : (mx - mn > 0 ? mx - mn : 1.0);
    int negw = mn < 0 ? (int)(bw * (-mn) / scale + 0.5) : 0;
    if (mn < 0 && mx > 0 && negw >= bw) negw = bw - 1;
    int posw = bw - negw;
    put_title(out, title, W);
    StrBuf line;
    sb_init(&line);
    for (int i = 0; i < n; i++) {
        float v = values[i];
        if (L.n) put_fit(&line, label_at(&L, i), lw, 1);
        else sb_printf(&line, "%*d", lw, i);
        sb_putc(&line, ' ');
        if (negw > 0) {
            double f = (isfinite(v) && v < 0) ? (double)-v / -mn : (isinf(v) && v < 0) ? 1 : 0;
            int k = (int)(f * negw + 0.5);
            if (k == 0 && f > 0) k = 1;
            put_spaces(&line, negw - k);
            if (k) {
                put_accent(&line, m);
                for (int j = 0; j < k; j++) sb_puts(&line, m == VIZ_COLOR_NONE ? "#" : "\xe2\x96\x88");
                if (m != VIZ_COLOR_NONE) sb_puts(&line, RESET);
            }
        }
        double f = isnan(v) || v <= 0 ? 0 : isinf(v) ? 1 : (double)v / (negw > 0 ? mx : scale);
        if (posw > 0) put_bar(&line, m, f, posw, 1, 1);
        sb_putc(&line, ' ');
        if (isnan(v)) sb_printf(&line, "%*s", vw, "nan");
        else if (isinf(v)) sb_printf(&line, "%*s", vw, v > 0 ? "inf" : "-inf");
        else {
            snprintf(a, sizeof a, fmt, (double)v);
            sb_printf(&line, "%*s", vw, a);
        }
        emit_sb(out, &line, W);
    }
    sb_free(&line);
    labels_free(&L);
    return 0;
}

/* ---- sparkline ------------------------------------------------------------------ */

void viz_sparkline(StrBuf *out, const VizOpts *o, const float *values, int n)
{
    if (!out) return;
    VizColor m = opt_color(o);
    int W = opt_width(o);
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
    fmt_num(a, sizeof a, mn);
    fmt_num(b, sizeof b, mx);
    fmt_num(c, sizeof c, (double)values[n - 1]);
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
        emit_sb(out, &line, W);
    } else {
        emit_sb(out, &line, W);
        emit_items(out, items, nitems, W);
    }
    sb_free(&line);
}

/* ---- gauge ------------------------------------------------------------------ */

void viz_gauge(StrBuf *out, const VizOpts *o, const char *label, double value, double ref, const char *ref_label,
               double axis_max)
{
    if (!out) return;
    VizColor m = opt_color(o);
    int W = opt_width(o);
    if (!(axis_max > 0) || !isfinite(axis_max)) {
        double big = 0;
        if (isfinite(value) && value > big) big = value;
        if (isfinite(ref) && ref > big) big = ref;
        axis_max = big > 0 ? big * 1.1 : 1;
    }
    char vs[32], rs[32], as[32];
    snprintf(vs, sizeof vs, "%.5g", value);
    snprintf(rs, sizeof rs, "%.5g", ref);
    fmt_num(as, sizeof as, axis_max);
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
        if (!colored && want) { put_accent(&line, m); colored = 1; }
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
    emit_sb(out, &line, W);
    if (legend_below) {
        int legw = lw - 2, at = hw + (mpos > 0 ? mpos : 0);
        if (at + legw > W) at = W - legw;
        put_spaces(&line, at > 0 ? at : 0);
        sb_putn(&line, legend.s, legend.len);
        emit_sb(out, &line, W);
    }
    sb_free(&legend);
    sb_free(&head);
    sb_free(&tail);
    sb_free(&line);
}
