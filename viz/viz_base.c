/* viz_base.c — what the terminal and file renderers share: colour modes, the colour maps
 * and scales, label escaping and display widths, numbers, histogram bins. */
#include "viz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- colour modes ---------------------------------------------------------- */

VizColor viz_color_detect(int stdout_is_tty)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc) return VIZ_COLOR_NONE;
    if (!stdout_is_tty) return VIZ_COLOR_NONE;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0) return VIZ_COLOR_NONE;
    const char *ct = getenv("COLORTERM");
    if (ct && (strcasecmp(ct, "truecolor") == 0 || strcasecmp(ct, "24bit") == 0)) return VIZ_COLOR_TRUE;
    if (term && strstr(term, "256color")) return VIZ_COLOR_256;
    return VIZ_COLOR_16;
}

int viz_color_parse(const char *s, VizColor *out, GrErr *e)
{
    static const struct { const char *name; VizColor c; } tab[] = {
        {"none", VIZ_COLOR_NONE},      {"off", VIZ_COLOR_NONE},        {"no", VIZ_COLOR_NONE},
        {"16", VIZ_COLOR_16},          {"256", VIZ_COLOR_256},         {"truecolor", VIZ_COLOR_TRUE},
        {"truecolour", VIZ_COLOR_TRUE}, {"24bit", VIZ_COLOR_TRUE},
    };
    if (!s) return gr_fail(e, "missing colour mode (expected none, 16, 256 or truecolor)");
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcasecmp(s, tab[i].name) == 0) {
            if (out) *out = tab[i].c;
            return 0;
        }
    return gr_fail(e, "unknown colour mode '%.200s' (expected none, 16, 256 or truecolor)", s);
}

const char *viz_color_name(VizColor c)
{
    switch (c) {
    case VIZ_COLOR_NONE: return "none";
    case VIZ_COLOR_16: return "16";
    case VIZ_COLOR_256: return "256";
    case VIZ_COLOR_TRUE: return "truecolor";
    }
    return "none";
}

/* ---- text ------------------------------------------------------------------- */

size_t viz_escape_len(const char *s, size_t n)
{
    size_t j = 1;
    if (j < n && s[j] == '[') {
        j++;
        while (j < n && !((unsigned char)s[j] >= 0x40 && (unsigned char)s[j] <= 0x7e)) j++;
        if (j < n) j++;
    } else if (j < n) {
        j++;
    }
    return j;
}

int viz_display_width(const char *s, size_t n)
{
    int w = 0;
    size_t i = 0, run = 0; /* run: start of the current plain-text stretch */
    while (i < n) {
        if (s[i] == '\x1b') {
            w += gr_utf8_width(s + run, i - run);
            i += viz_escape_len(s + i, n - i);
            run = i;
        } else {
            i++;
        }
    }
    return w + gr_utf8_width(s + run, n - run);
}

static void put_cp(StrBuf *o, unsigned cp)
{
    char b[4];
    int k = gr_utf8_encode(cp, b);
    sb_putn(o, b, (size_t)k);
}

/* Escapes s so it cannot break a line: control characters become pictures, bidi
 * controls and invalid UTF-8 become U+FFFD; with vis_space spaces become '␣'. */
static void escape_text(StrBuf *o, const char *s, int vis_space)
{
    if (!s) return;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        unsigned cp;
        int k = gr_utf8_decode(s + i, n - i, &cp);
        unsigned rep = 0;
        if (cp == ' ') rep = vis_space ? 0x2423 : 0;
        else if (cp == '\n' || cp == 0x2028 || cp == 0x2029) rep = 0x23CE;
        else if (cp == '\t') rep = 0x21E5;
        else if (cp < 0x20) rep = 0x2400 + cp;
        else if (cp == 0x7f) rep = 0x2421;
        else if ((cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                 cp == 0x200e || cp == 0x200f || cp == 0x061c || cp == 0xfeff || cp == 0xfffd)
            rep = 0xfffd;
        if (rep) put_cp(o, rep);
        else sb_putn(o, s + i, (size_t)k);
        i += (size_t)k;
    }
}

void viz_label_escape(StrBuf *out, const char *label) { escape_text(out, label, 1); }
void viz_text_escape(StrBuf *out, const char *text) { escape_text(out, text, 0); }

/* ---- colour maps ------------------------------------------------------------------ */

/* Masked cells: a mid grey (with a hatch in files), on neither map. */
const unsigned char VIZ_MASK_RGB[3] = {150, 150, 150};

/* viridis (matplotlib) at t = 0, 0.1, …, 1; luminance rises monotonically. */
static const unsigned char VIRIDIS[11][3] = {
    {68, 1, 84},    {72, 36, 117},  {65, 68, 135},  {53, 95, 141},  {42, 120, 142}, {33, 145, 140},
    {34, 168, 132}, {68, 191, 112}, {122, 209, 81}, {189, 223, 38}, {253, 231, 37},
};

/* ColorBrewer RdBu (11 classes), blue for negative: colour-blind safe, white at 0. */
static const unsigned char RDBU[11][3] = {
    {5, 48, 97},     {33, 102, 172},  {67, 147, 195}, {146, 197, 222}, {209, 229, 240}, {247, 247, 247},
    {253, 219, 199}, {244, 165, 130}, {214, 96, 77},  {178, 24, 43},   {103, 0, 31},
};

static void interp11(const unsigned char tab[11][3], double t, unsigned char rgb[3])
{
    if (!(t > 0)) t = 0; /* NaN too */
    if (t > 1) t = 1;
    double x = t * 10;
    int i = (int)x;
    if (i >= 10) i = 9;
    double f = x - i;
    for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)(tab[i][k] + (tab[i + 1][k] - tab[i][k]) * f + 0.5);
}

void viz_cmap_seq(double t, unsigned char rgb[3]) { interp11(VIRIDIS, t, rgb); }
void viz_cmap_div(double t, unsigned char rgb[3]) { interp11(RDBU, t, rgb); }

/* ---- scales ----------------------------------------------------------------------- */

const char *viz_scale_choices(void) { return "fixed|auto|row|log"; }

double viz_scale_t(const VizScale *s, double x, double row_lo, double row_hi)
{
    double t;
    if (s->map == VIZ_MAP_SEQ) {
        if (s->mode == VIZ_SCALE_ROW) t = row_hi > 0 ? x / row_hi : 0;
        else if (s->mode == VIZ_SCALE_LOG) t = x <= 0 || !(s->hi > s->lo) ? 0 : log(x / s->lo) / log(s->hi / s->lo);
        else t = s->hi > s->lo ? (x - s->lo) / (s->hi - s->lo) : 0.5;
    } else {
        double m = s->mode == VIZ_SCALE_ROW ? fmax(fabs(row_lo), fabs(row_hi)) : s->hi;
        t = m > 0 ? 0.5 + 0.5 * x / m : 0.5;
    }
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    return t;
}

void viz_scale_describe(const VizScale *s, StrBuf *out)
{
    char a[32], b[32];
    viz_num(a, sizeof a, s->lo);
    viz_num(b, sizeof b, s->hi);
    if (s->map == VIZ_MAP_DIV) {
        if (s->mode == VIZ_SCALE_ROW) sb_puts(out, "diverging, each row to its own max |x| (RdBu, 0 in the middle)");
        else if (s->clip > 0) sb_printf(out, "diverging ±%s, the %g-th percentile of |x| (RdBu, 0 in the middle)", b, s->clip);
        else sb_printf(out, "diverging ±%s%s (RdBu, 0 in the middle)", b, s->mode == VIZ_SCALE_FIXED ? ", fixed" : " = max |x|");
        return;
    }
    switch (s->mode) {
    case VIZ_SCALE_ROW: sb_puts(out, "each row scaled to its own max (viridis)"); break;
    case VIZ_SCALE_LOG: sb_printf(out, "log %s..%s (viridis)", a, b); break;
    case VIZ_SCALE_AUTO: sb_printf(out, "auto %s..%s (viridis)", a, b); break;
    default: sb_printf(out, "fixed %s..%s: pictures compare (viridis)", a, b); break;
    }
}

void viz_num(char *buf, size_t n, double v)
{
    if (isnan(v)) snprintf(buf, n, "nan");
    else if (isinf(v)) snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else {
        snprintf(buf, n, "%.4g", v);
        if (strcmp(buf, "-0") == 0) snprintf(buf, n, "0");
    }
}

int viz_heatmap_masked(const VizHeatmap *h, int r, int c, float *v)
{
    size_t stride = h->stride ? h->stride : (size_t)h->cols;
    float x = h->data[(size_t)r * stride + (size_t)c];
    if (v) *v = x;
    if (h->causal && c + h->col_offset > r + h->row_offset) return 1;
    return isnan(x) || (isinf(x) && x < 0);
}

/* Stats of the unmasked finite cells of maps[0..n): min, max, and |x| values for a
 * percentile (allocated when clip > 0). */
typedef struct {
    double mn, mx, amax;
    float *abs;
    size_t nabs;
} Range;

static void range_of(const VizHeatmap *const *maps, int n, double clip, Range *R)
{
    R->mn = INFINITY;
    R->mx = -INFINITY;
    R->amax = 0;
    R->abs = NULL;
    R->nabs = 0;
    size_t total = 0;
    for (int k = 0; k < n; k++) total += (size_t)maps[k]->rows * (size_t)maps[k]->cols;
    if (clip > 0) R->abs = malloc(sizeof(float) * (total ? total : 1));
    for (int k = 0; k < n; k++) {
        const VizHeatmap *h = maps[k];
        for (int r = 0; r < h->rows; r++)
            for (int c = 0; c < h->cols; c++) {
                float v;
                if (viz_heatmap_masked(h, r, c, &v) || !isfinite(v)) continue;
                if (v < R->mn) R->mn = v;
                if (v > R->mx) R->mx = v;
                if (fabs(v) > R->amax) R->amax = fabs(v);
                if (R->abs) R->abs[R->nabs++] = fabsf(v);
            }
    }
    if (R->mn > R->mx) R->mn = R->mx = 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static void pick(VizScale *s, const VizHeatmap *const *maps, int n, VizData kind, VizScaleMode mode, double clip)
{
    Range R;
    range_of(maps, n, clip, &R);
    memset(s, 0, sizeof *s);
    s->map = kind == VIZ_DATA_PROB ? VIZ_MAP_SEQ : kind == VIZ_DATA_SIGNED ? VIZ_MAP_DIV : R.mn < 0 ? VIZ_MAP_DIV : VIZ_MAP_SEQ;
    if (mode == VIZ_SCALE_DEFAULT) mode = kind == VIZ_DATA_PROB ? VIZ_SCALE_FIXED : VIZ_SCALE_AUTO;
    if (s->map == VIZ_MAP_DIV && mode == VIZ_SCALE_LOG) mode = VIZ_SCALE_AUTO; /* log of signed data: no */
    s->mode = mode;
    if (s->map == VIZ_MAP_DIV) {
        double m = mode == VIZ_SCALE_FIXED ? 1 : R.amax;
        if (clip > 0 && R.nabs && mode != VIZ_SCALE_FIXED) {
            qsort(R.abs, R.nabs, sizeof(float), cmp_float);
            size_t k = (size_t)(clip / 100.0 * (double)(R.nabs - 1) + 0.5);
            m = R.abs[k < R.nabs ? k : R.nabs - 1];
            s->clip = clip;
        }
        if (!(m > 0)) m = 1;
        s->lo = -m;
        s->hi = m;
    } else if (mode == VIZ_SCALE_FIXED) {
        s->lo = 0;
        s->hi = 1;
    } else if (mode == VIZ_SCALE_LOG) {
        s->hi = R.mx > 0 ? R.mx : 1;
        double mpos = INFINITY;
        for (int k = 0; k < n; k++)
            for (int r = 0; r < maps[k]->rows; r++)
                for (int c = 0; c < maps[k]->cols; c++) {
                    float v;
                    if (!viz_heatmap_masked(maps[k], r, c, &v) && v > 0 && v < mpos) mpos = v;
                }
        s->lo = fmax(isfinite(mpos) ? mpos : s->hi * 1e-4, s->hi * 1e-6);
        if (!(s->hi > s->lo)) s->lo = s->hi / 10;
    } else {
        s->lo = mode == VIZ_SCALE_ROW ? 0 : R.mn;
        s->hi = R.mx;
        if (!(s->hi > s->lo)) { s->lo -= 0.5; s->hi += 0.5; }
    }
    free(R.abs);
}

void viz_heatmap_pick_scale(VizHeatmap *h, VizData kind, VizScaleMode mode, double clip)
{
    const VizHeatmap *one[1] = {h};
    pick(&h->scale, one, 1, kind, mode, clip);
}

void viz_grid_pick_scale(VizGrid *g, VizData kind, VizScaleMode mode, double clip)
{
    const VizHeatmap **maps = malloc(sizeof *maps * (size_t)(g->n ? g->n : 1));
    if (!maps) return;
    for (int i = 0; i < g->n; i++) maps[i] = &g->maps[i];
    pick(&g->scale, maps, g->n, kind, mode, clip);
    free(maps);
}

void viz_scale_rgb(const VizScale *s, double t, unsigned char rgb[3])
{
    if (s->map == VIZ_MAP_DIV) viz_cmap_div(t, rgb);
    else viz_cmap_seq(t, rgb);
}

double *viz_heatmap_row_ranges(const VizHeatmap *h)
{
    double *rr = malloc(sizeof(double) * 2 * (size_t)(h->rows ? h->rows : 1));
    if (!rr) return NULL;
    for (int r = 0; r < h->rows; r++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int c = 0; c < h->cols; c++) {
            float v;
            if (viz_heatmap_masked(h, r, c, &v) || !isfinite(v)) continue;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        rr[2 * r] = lo > hi ? 0 : lo;
        rr[2 * r + 1] = lo > hi ? 0 : hi;
    }
    return rr;
}

/* ---- pooling ---------------------------------------------------------------------- */

static char **pool_labels(const char *const *src, int n_in, int n_out, int block, int offset)
{
    char **out = calloc((size_t)n_out, sizeof *out);
    if (!out) return NULL;
    for (int i = 0; i < n_out; i++) {
        int a = i * block, b = a + block - 1 < n_in - 1 ? a + block - 1 : n_in - 1;
        StrBuf t;
        sb_init(&t);
        if (block == 1 && src) sb_puts(&t, src[a] ? src[a] : "");
        else if (block == 1) sb_printf(&t, "%d", offset + a);
        else sb_printf(&t, "%d–%d", offset + a, offset + b);
        out[i] = t.s ? t.s : strdup("");
    }
    return out;
}

static void free_labels(char **l, int n)
{
    for (int i = 0; l && i < n; i++) free(l[i]);
    free(l);
}

int viz_heatmap_pool(const VizHeatmap *in, int max_rows, int max_cols, VizPooled *out, GrErr *e)
{
    memset(out, 0, sizeof *out);
    if (max_rows < 1) max_rows = 1;
    if (max_cols < 1) max_cols = 1;
    int rb = (in->rows + max_rows - 1) / max_rows, cb = (in->cols + max_cols - 1) / max_cols;
    if (rb < 1) rb = 1;
    if (cb < 1) cb = 1;
    int R = (in->rows + rb - 1) / rb, C = (in->cols + cb - 1) / cb;
    out->rblock = rb;
    out->cblock = cb;
    out->data = malloc(sizeof(float) * (size_t)R * (size_t)C);
    if (!out->data) return gr_fail(e, "out of memory pooling a %d x %d map", in->rows, in->cols);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            float best = NAN;
            for (int r = i * rb; r < (i + 1) * rb && r < in->rows; r++)
                for (int c = j * cb; c < (j + 1) * cb && c < in->cols; c++) {
                    float v;
                    if (viz_heatmap_masked(in, r, c, &v)) continue;
                    if (isnan(best) || fabsf(v) > fabsf(best)) best = v;
                }
            out->data[(size_t)i * C + j] = best;
        }
    out->h = *in;
    out->h.data = out->data;
    out->h.rows = R;
    out->h.cols = C;
    out->h.stride = (size_t)C;
    if (rb > 1 || cb > 1) {
        /* the mask is in the data now (NaN), positions are blocks; words cannot be pooled */
        out->h.cell_text = NULL;
        out->h.causal = 0;
        out->h.label_index = 0;
        out->h.row_offset = out->h.col_offset = 0;
        out->rl = rb > 1 || in->row_labels ? pool_labels(in->row_labels, in->rows, R, rb, in->row_offset) : NULL;
        out->cl = cb > 1 || in->col_labels ? pool_labels(in->col_labels, in->cols, C, cb, in->col_offset) : NULL;
        out->h.row_labels = (const char *const *)out->rl;
        out->h.col_labels = (const char *const *)out->cl;
        StrBuf t;
        sb_init(&t);
        if (in->note && *in->note) sb_printf(&t, "%s; ", in->note);
        sb_printf(&t, "pooled %d×%d to %d×%d: each cell the value of largest magnitude in its block of %d×%d",
                  in->rows, in->cols, R, C, rb, cb);
        out->note_buf = t.s;
        out->h.note = out->note_buf;
    }
    return 0;
}

void viz_pooled_free(VizPooled *p)
{
    free(p->data);
    free_labels(p->rl, p->h.rows);
    free_labels(p->cl, p->h.cols);
    free(p->note_buf);
    memset(p, 0, sizeof *p);
}

/* ---- histogram bins --------------------------------------------------------------- */

int viz_hist_data(VizHistData *h, const float *data, size_t n, int bins, const char *who, GrErr *e)
{
    memset(h, 0, sizeof *h);
    if (bins < 1 || bins > 200) return gr_fail(e, "%s: bins must be 1..200, not %d", who, bins);
    if (n > 0 && !data) return gr_fail(e, "%s: no data", who);
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) {
        float v = data[i];
        if (isnan(v)) { h->nan++; continue; }
        if (isinf(v)) { if (v > 0) h->pinf++; else h->ninf++; continue; }
        h->n++;
        sum += v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
    }
    double ss = 0;
    if (h->n) {
        h->mean = sum / (double)h->n;
        for (size_t i = 0; i < n; i++)
            if (isfinite(data[i])) ss += ((double)data[i] - h->mean) * ((double)data[i] - h->mean);
        h->std = sqrt(ss / (double)h->n);
        h->min = mn;
        h->max = mx;
    }
    h->lo = h->n ? mn : 0;
    h->hi = h->n ? mx : 1;
    if (!(h->hi > h->lo)) { h->lo -= 0.5; h->hi += 0.5; }
    h->bins = bins;
    h->count = calloc((size_t)bins, sizeof *h->count);
    if (!h->count) return gr_fail(e, "%s: out of memory", who);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(data[i])) continue;
        int k = (int)(((double)data[i] - h->lo) / (h->hi - h->lo) * bins);
        if (k < 0) k = 0;
        if (k >= bins) k = bins - 1;
        if (++h->count[k] > h->cmax) h->cmax = h->count[k];
    }
    return 0;
}

void viz_hist_data_free(VizHistData *h)
{
    free(h->count);
    h->count = NULL;
}

