/* viz_chart.c — what every file picture shares: the checks before drawing, text sizes
 * for a page, the headline, notes, round ticks. The layouts are viz_heat.c (heatmaps,
 * grids) and viz_plots.c (histogram, bars, line). */
#include "viz_draw.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

VcSizes vc_sizes(int w, int h)
{
    double sc = fmin(w / 1920.0, h / 1080.0);
    VcSizes z;
    z.title = fmax(36 * sc, 11);
    z.sub = fmax(24 * sc, 9);
    z.axis = z.sub;
    z.label = fmax(16 * sc, 8);
    z.margin = fmax(40 * sc, 6);
    z.gap = fmax(12 * sc, 3);
    z.lw = fmax(2 * sc, 1);
    return z;
}

int viz_file_kind(const char *path, GrErr *e)
{
    size_t n = path ? strlen(path) : 0;
    if (n > 4 && !strcasecmp(path + n - 4, ".png")) return SURF_PNG;
    if (n > 4 && !strcasecmp(path + n - 4, ".svg")) return SURF_SVG;
    return gr_fail(e, "'%.200s': a picture is written as .png or .svg (by the name's extension)", path ? path : "");
}

Surface *vc_begin(const char *path, int *w, int *h, const char *who, GrErr *e)
{
    if (!path || !*path) { gr_fail(e, "%s: no output file", who); return NULL; }
    if (strlen(path) > 4000) { gr_fail(e, "%s: path too long", who); return NULL; }
    int kind = viz_file_kind(path, e);
    if (kind < 0) return NULL;
    /* the folder must exist: say so before drawing anything */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir) slash[1] = 0;
        else *slash = 0;
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            gr_fail(e, "%s: the folder '%.200s' does not exist", who, dir);
            return NULL;
        }
    }
    if (*w == 0 && *h == 0) { *w = 1920; *h = 1080; }
    else if (*w == 0) *w = (int)(*h * 16.0 / 9 + 0.5);
    else if (*h == 0) *h = (int)(*w * 9.0 / 16 + 0.5);
    if (*w < 64 || *h < 64 || *w > 8192 || *h > 8192) {
        gr_fail(e, "%s: size %dx%d is out of range (each side 64..8192; the default is 1920x1080)", who, *w, *h);
        return NULL;
    }
    VizFont *f = vf_open();
    Surface *s = f ? surf_new(kind, *w, *h, f) : NULL;
    if (!s) {
        vf_close(f);
        gr_fail(e, "%s: out of memory for a %dx%d picture", who, *w, *h);
    }
    return s;
}

int vc_end(Surface *s, const char *path, GrErr *e)
{
    VizFont *f = surf_font(s);
    int rc = surf_save(s, path, e);
    surf_free(s);
    vf_close(f);
    return rc;
}

int vc_abort(Surface *s)
{
    VizFont *f = surf_font(s);
    surf_free(s);
    vf_close(f);
    return -1;
}

static void draw_line_text(Surface *s, const char *text, double px, const unsigned char rgb[3], double x, double y,
                           double maxw)
{
    StrBuf t, fit;
    sb_init(&t);
    sb_init(&fit);
    viz_text_escape(&t, text);
    vf_fit(surf_font(s), t.s ? t.s : "", px, maxw, &fit);
    surf_text(s, fit.s, px, rgb, x, y, VA_START, VA_START, 0);
    sb_free(&t);
    sb_free(&fit);
}

double vc_headline(Surface *s, const VcSizes *z, const char *title, const char *subtitle)
{
    VizFont *f = surf_font(s);
    double y = z->margin * 0.7, maxw = surf_w(s) - 2 * z->margin;
    if (title && *title) {
        draw_line_text(s, title, z->title, VD_TEXT, z->margin, y, maxw);
        y += vf_line(f, z->title) * 1.15;
    }
    if (subtitle && *subtitle) {
        static const unsigned char SUB[3] = {85, 85, 85};
        draw_line_text(s, subtitle, z->sub, SUB, z->margin, y, maxw);
        y += vf_line(f, z->sub) * 1.15;
    }
    return y + z->gap;
}

double vc_headline_h(VizFont *f, const VcSizes *z, const char *title, const char *subtitle)
{
    double y = z->margin * 0.7;
    if (title && *title) y += vf_line(f, z->title) * 1.15;
    if (subtitle && *subtitle) y += vf_line(f, z->sub) * 1.15;
    return y + z->gap;
}

void vc_note(Surface *s, const VcSizes *z, const char *text, double x, double y, double maxw)
{
    if (text && *text) draw_line_text(s, text, z->label, VD_AXIS, x, y, maxw);
}

int vc_ticks(double lo, double hi, int want, double *out)
{
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi)) {
        out[0] = lo;
        return 1;
    }
    double raw = (hi - lo) / (want > 1 ? want : 2), p = pow(10, floor(log10(raw))), r = raw / p;
    double st = (r < 1.5 ? 1 : r < 2.25 ? 2 : r < 3.5 ? 2.5 : r < 7 ? 5 : 10) * p;
    int n = 0;
    for (double k = ceil(lo / st - 1e-9); k * st <= hi + st * 1e-9 && n < 32; k++) {
        double v = k * st;
        out[n++] = fabs(v) < st * 1e-9 ? 0 : v;
    }
    return n;
}

void vc_tick_text(char *buf, size_t n, double v, double step)
{
    double a = fabs(v);
    if (v != 0 && (a >= 1e6 || a < 1e-4)) snprintf(buf, n, "%.3g", v);
    else {
        int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        /* 0.25 steps need two decimals */
        while (dec < 6 && fabs(v * pow(10, dec) - floor(v * pow(10, dec) + 0.5)) > 1e-6) dec++;
        snprintf(buf, n, "%.*f", dec, v);
    }
}

void vc_label(StrBuf *b, const char *const *labels, int i, int index)
{
    sb_clear(b);
    if (labels) viz_label_escape(b, labels[i]);
    else sb_printf(b, "%d", index);
    if (!b->s) sb_puts(b, "");
}
