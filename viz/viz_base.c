/* viz_base.c — what the terminal and PNG renderers share: colour modes, the colour map,
 * label escaping and display widths, histogram bins. Neither renderer includes the other. */
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

const unsigned char VIZ_MASK_RGB[3] = {200, 200, 200};

/* viridis (matplotlib) at t = 0, 0.1, …, 1; luminance rises monotonically. */
static const unsigned char VIRIDIS[11][3] = {
    {68, 1, 84},    {72, 36, 117},  {65, 68, 135},  {53, 95, 141},  {42, 120, 142}, {33, 145, 140},
    {34, 168, 132}, {68, 191, 112}, {122, 209, 81}, {189, 223, 38}, {253, 231, 37},
};

void viz_colormap(double t, unsigned char rgb[3])
{
    if (!(t > 0)) t = 0; /* NaN too */
    if (t > 1) t = 1;
    double x = t * 10;
    int i = (int)x;
    if (i >= 10) i = 9;
    double f = x - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = (unsigned char)(VIRIDIS[i][k] + (VIRIDIS[i + 1][k] - VIRIDIS[i][k]) * f + 0.5);
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

