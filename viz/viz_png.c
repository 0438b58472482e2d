/* viz_png.c — the same pictures as PNG, for slides: stb_image_write for the file,
 * stb_truetype (DejaVu Sans) for text, so Vietnamese token labels render. */
#include "viz.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>
#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC
#include <stb_truetype.h>
#pragma GCC diagnostic pop
/* The static stb functions this file does not call are reported at the end of the
 * translation unit, after the pop above, so this one stays off for the file. */
#pragma GCC diagnostic ignored "-Wunused-function"

/* ---- colours ------------------------------------------------------------------ */

static const unsigned char HATCH_RGB[3] = {232, 232, 232};
static const unsigned char WHITE[3] = {255, 255, 255};
static const unsigned char BLACK[3] = {20, 20, 20};
static const unsigned char TEXT_RGB[3] = {30, 30, 30};
static const unsigned char AXIS_RGB[3] = {90, 90, 90};
static const unsigned char GRID_RGB[3] = {228, 228, 228};
static const unsigned char ACCENT_RGB[3] = {49, 104, 142};  /* viridis 0.3, for bars and lines */
static const unsigned char REF_RGB[3] = {214, 39, 40};

static double luma(const unsigned char c[3]) { return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }

/* ---- canvas ------------------------------------------------------------------ */

typedef struct {
    int w, h;
    unsigned char *px;
} Canvas;

static int canvas_new(Canvas *c, int w, int h)
{
    c->w = w;
    c->h = h;
    c->px = malloc((size_t)w * (size_t)h * 3);
    if (!c->px) return -1;
    memset(c->px, 255, (size_t)w * (size_t)h * 3);
    return 0;
}

static void fill_rect(Canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3])
{
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > c->w) x1 = c->w;
    if (y1 > c->h) y1 = c->h;
    for (int y = y0; y < y1; y++) {
        unsigned char *p = c->px + ((size_t)y * c->w + x0) * 3;
        for (int x = x0; x < x1; x++, p += 3) {
            p[0] = rgb[0];
            p[1] = rgb[1];
            p[2] = rgb[2];
        }
    }
}

static void blend_px(Canvas *c, int x, int y, const unsigned char rgb[3], int a)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h || a <= 0) return;
    if (a > 255) a = 255;
    unsigned char *p = c->px + ((size_t)y * c->w + x) * 3;
    for (int k = 0; k < 3; k++) p[k] = (unsigned char)((p[k] * (255 - a) + rgb[k] * a + 127) / 255);
}

/* Outline of [x0,x1)×[y0,y1), 1 px. */
static void frame_rect(Canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3])
{
    fill_rect(c, x0, y0, x1, y0 + 1, rgb);
    fill_rect(c, x0, y1 - 1, x1, y1, rgb);
    fill_rect(c, x0, y0, x0 + 1, y1, rgb);
    fill_rect(c, x1 - 1, y0, x1, y1, rgb);
}

/* ---- font and text ------------------------------------------------------------------ */

#define DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
static char font_path[1024] = DEFAULT_FONT;

void viz_png_font(const char *ttf_path)
{
    snprintf(font_path, sizeof font_path, "%s", ttf_path ? ttf_path : DEFAULT_FONT);
}

/* Faces tried, in order, for a code point the main font lacks (DejaVu has no CJK). */
static const char *const FALLBACK_FONTS[] = {
    DEFAULT_FONT,
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/unifont/unifont.ttf",
};
#define MAX_FACES 8

typedef struct {
    unsigned char *data;
    stbtt_fontinfo info;
} Face;

typedef struct {
    Face face[MAX_FACES];
    int nf;        /* face[0] is the main font; nf == 0: no text at all */
    int fallbacks; /* fallback faces loaded (lazily, on the first missing glyph) */
    int ok;
} Font;

static int face_load(Face *fc, const char *path)
{
    fc->data = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    long n = -1;
    int ok = 0;
    if (fseek(fp, 0, SEEK_END) == 0) n = ftell(fp);
    if (n > 64 && n < (64L << 20) && fseek(fp, 0, SEEK_SET) == 0) {
        fc->data = malloc((size_t)n);
        if (fc->data && fread(fc->data, 1, (size_t)n, fp) == (size_t)n) {
            int off = stbtt_GetFontOffsetForIndex(fc->data, 0);
            if (off >= 0 && stbtt_InitFont(&fc->info, fc->data, off)) ok = 1;
        }
    }
    fclose(fp);
    if (!ok) {
        free(fc->data);
        fc->data = NULL;
    }
    return ok;
}

static void font_load(Font *f)
{
    memset(f, 0, sizeof *f);
    if (face_load(&f->face[0], font_path)) f->nf = 1;
    f->ok = f->nf > 0;
}

static void font_free(Font *f)
{
    for (int i = 0; i < f->nf; i++) free(f->face[i].data);
    memset(f, 0, sizeof *f);
}

/* The face that has cp (face 0 with its .notdef box when none has it) and the glyph. */
static int font_pick(Font *f, unsigned cp, int *glyph)
{
    int g = stbtt_FindGlyphIndex(&f->face[0].info, (int)cp);
    if (g || cp < 0x80) {
        *glyph = g;
        return 0;
    }
    if (!f->fallbacks) {
        f->fallbacks = 1;
        for (size_t i = 0; i < sizeof FALLBACK_FONTS / sizeof FALLBACK_FONTS[0] && f->nf < MAX_FACES; i++)
            if (strcmp(FALLBACK_FONTS[i], font_path) != 0 && face_load(&f->face[f->nf], FALLBACK_FONTS[i])) f->nf++;
    }
    for (int i = 1; i < f->nf; i++) {
        g = stbtt_FindGlyphIndex(&f->face[i].info, (int)cp);
        if (g) {
            *glyph = g;
            return i;
        }
    }
    *glyph = 0;
    return 0;
}

/* Scale of face i for text of px pixels: fallback faces are matched to face 0's
 * ascent-to-descent height. */
static float face_scale(Font *f, int i, double px)
{
    return stbtt_ScaleForPixelHeight(&f->face[i].info, (float)px);
}

static double text_width(Font *f, const char *s, double px)
{
    if (!f->ok || !s) return 0;
    size_t n = strlen(s), i = 0;
    double w = 0;
    int prev = 0, prev_face = -1;
    while (i < n) {
        unsigned cp;
        int g;
        i += (size_t)gr_utf8_decode(s + i, n - i, &cp);
        int fi = font_pick(f, cp, &g);
        float sc = face_scale(f, fi, px);
        int adv, lsb;
        stbtt_GetGlyphHMetrics(&f->face[fi].info, g, &adv, &lsb);
        if (prev_face == fi) w += sc * stbtt_GetGlyphKernAdvance(&f->face[fi].info, prev, g);
        w += sc * adv;
        prev = g;
        prev_face = fi;
    }
    return w;
}

/* s truncated with '…' to at most maxw pixels. */
static void text_fit(Font *f, const char *s, double px, double maxw, StrBuf *out)
{
    sb_clear(out);
    if (!s) return;
    if (text_width(f, s, px) <= maxw) {
        sb_puts(out, s);
        return;
    }
    double ell = text_width(f, "\xe2\x80\xa6", px);
    size_t n = strlen(s), i = 0, cut = 0;
    while (i < n) {
        unsigned cp;
        size_t k = (size_t)gr_utf8_decode(s + i, n - i, &cp);
        sb_clear(out);
        sb_putn(out, s, i + k);
        if (text_width(f, out->s, px) + ell > maxw) break;
        i += k;
        cut = i;
    }
    sb_clear(out);
    sb_putn(out, s, cut);
    sb_puts(out, "\xe2\x80\xa6");
}

typedef struct {
    int w, h, base; /* base: baseline row */
    unsigned char *a;
} Mask;

/* Renders s at px into an alpha mask (caller frees m->a). 0 when nothing to draw. */
static int text_mask(Font *f, const char *s, double px, Mask *m)
{
    m->a = NULL;
    m->w = m->h = 0;
    if (!f->ok || !s || !*s) return 0;
    float sc0 = face_scale(f, 0, px);
    int asc, desc, gap;
    stbtt_GetFontVMetrics(&f->face[0].info, &asc, &desc, &gap);
    int pad = (int)(px * 0.3) + 2;
    m->base = (int)ceil(asc * sc0) + 1;
    m->h = m->base + (int)ceil(-desc * sc0) + 2;
    m->w = (int)ceil(text_width(f, s, px)) + 2 * pad;
    m->a = calloc((size_t)m->w * (size_t)m->h, 1);
    if (!m->a) return 0;
    size_t n = strlen(s), i = 0;
    double x = pad;
    int prev = 0, prev_face = -1;
    unsigned char *gb = NULL;
    size_t gcap = 0;
    while (i < n) {
        unsigned cp;
        int g;
        i += (size_t)gr_utf8_decode(s + i, n - i, &cp);
        int fi = font_pick(f, cp, &g);
        const stbtt_fontinfo *info = &f->face[fi].info;
        float sc = face_scale(f, fi, px);
        if (prev_face == fi) x += sc * stbtt_GetGlyphKernAdvance(info, prev, g);
        int adv, lsb, x0, y0, x1, y1;
        stbtt_GetGlyphHMetrics(info, g, &adv, &lsb);
        int ix = (int)floor(x);
        float fx = (float)(x - ix);
        stbtt_GetGlyphBitmapBoxSubpixel(info, g, sc, sc, fx, 0, &x0, &y0, &x1, &y1);
        int gw = x1 - x0, gh = y1 - y0;
        if (gw > 0 && gh > 0) {
            size_t need = (size_t)gw * (size_t)gh;
            if (need > gcap) {
                unsigned char *nb = realloc(gb, need);
                if (!nb) break;
                gb = nb;
                gcap = need;
            }
            stbtt_MakeGlyphBitmapSubpixel(info, gb, gw, gh, gw, sc, sc, fx, 0, g);
            for (int yy = 0; yy < gh; yy++) {
                int ty = m->base + y0 + yy;
                if (ty < 0 || ty >= m->h) continue;
                for (int xx = 0; xx < gw; xx++) {
                    int tx = ix + x0 + xx;
                    if (tx < 0 || tx >= m->w) continue;
                    int v = m->a[(size_t)ty * m->w + tx] + gb[(size_t)yy * gw + xx];
                    m->a[(size_t)ty * m->w + tx] = (unsigned char)(v > 255 ? 255 : v);
                }
            }
        }
        x += sc * adv;
        prev = g;
        prev_face = fi;
    }
    free(gb);
    return 1;
}

enum { AL_START, AL_MID, AL_END };

/* Draws s at px. rot 0: horizontal; rot 90: reading bottom to top. (x, y) is the
 * anchor; ah/av align the drawn box (in canvas orientation) to it. Returns the text
 * width in pixels. */
static double draw_text(Canvas *c, Font *f, const char *s, double px, const unsigned char rgb[3], double x,
                        double y, int ah, int av, int rot)
{
    Mask m;
    if (!text_mask(f, s, px, &m)) return 0;
    double tw = text_width(f, s, px);
    int pad = (int)(px * 0.3) + 2;
    /* logical box: text width tw along the baseline, height asc-desc across */
    double bw = rot ? m.h : tw, bh = rot ? tw : m.h;
    double left = ah == AL_START ? x : ah == AL_MID ? x - bw / 2 : x - bw;
    double top = av == AL_START ? y : av == AL_MID ? y - bh / 2 : y - bh;
    int L = (int)floor(left + 0.5), T = (int)floor(top + 0.5);
    for (int v = 0; v < m.h; v++)
        for (int u = 0; u < m.w; u++) {
            int a = m.a[(size_t)v * m.w + u];
            if (!a) continue;
            if (!rot) blend_px(c, L + u - pad, T + v, rgb, a);
            else blend_px(c, L + v, T + (int)ceil(tw) - (u - pad), rgb, a);
        }
    free(m.a);
    return tw;
}

/* Label text: escaped (visible spaces and controls), or the index when NULL. */
static void label_text(StrBuf *b, const char *const *labels, int i)
{
    sb_clear(b);
    if (labels) viz_label_escape(b, labels[i]);
    else sb_printf(b, "%d", i);
    if (!b->s) sb_puts(b, "");
}

static void num_text(char *buf, size_t cap, double v)
{
    if (isnan(v)) snprintf(buf, cap, "nan");
    else if (isinf(v)) snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    else {
        snprintf(buf, cap, "%.4g", v);
        if (strcmp(buf, "-0") == 0) snprintf(buf, cap, "0");
    }
}

/* ---- file output ------------------------------------------------------------------ */

typedef struct {
    FILE *f;
    int err;
} WriteCtx;

static void write_cb(void *ctx, void *data, int size)
{
    WriteCtx *w = ctx;
    if (w->err || size <= 0) return;
    if (fwrite(data, 1, (size_t)size, w->f) != (size_t)size) w->err = errno ? errno : EIO;
}

static int png_save(const Canvas *c, const char *path, GrErr *e)
{
    StrBuf tmp;
    sb_init(&tmp);
    sb_printf(&tmp, "%s.tmp", path);
    errno = 0;
    FILE *f = fopen(tmp.s, "wb");
    if (!f) {
        int er = errno;
        sb_free(&tmp);
        return gr_fail(e, "cannot write %s: %s", path, strerror(er));
    }
    WriteCtx w = {f, 0};
    stbi_write_png_compression_level = 4;
    stbi_write_force_png_filter = 2; /* "up": about as small as trying all five, 2-3x faster */
    int ok = stbi_write_png_to_func(write_cb, &w, c->w, c->h, 3, c->px, c->w * 3);
    if (fclose(f) != 0 && !w.err) w.err = errno ? errno : EIO;
    if (!ok || w.err) {
        remove(tmp.s);
        sb_free(&tmp);
        return gr_fail(e, "cannot write %s: %s", path, w.err ? strerror(w.err) : "PNG encoder failed");
    }
    if (rename(tmp.s, path) != 0) {
        int er = errno;
        remove(tmp.s);
        sb_free(&tmp);
        return gr_fail(e, "cannot write %s: %s", path, strerror(er));
    }
    sb_free(&tmp);
    return 0;
}

static int png_size(int *w, int *h, const char *who, GrErr *e)
{
    if (*w == 0 && *h == 0) { *w = 1600; *h = 1000; }
    else if (*w == 0 && *h > 0) *w = (int)(*h * 1.6 + 0.5);
    else if (*h == 0 && *w > 0) *h = (int)(*w / 1.6 + 0.5);
    if (*w < 64 || *h < 64 || *w > 8192 || *h > 8192)
        return gr_fail(e, "%s: image size %dx%d out of range (64..8192)", who, *w, *h);
    return 0;
}

static int check_path(const char *path, const char *who, GrErr *e)
{
    if (!path || !*path) return gr_fail(e, "%s: no output path", who);
    if (strlen(path) > 4000) return gr_fail(e, "%s: path too long", who);
    return 0;
}

/* ---- common chart furniture ------------------------------------------------------------------ */

typedef struct {
    double base, title_px, small_px, margin;
} Sizes;

static Sizes sizes_for(int w, int h)
{
    Sizes s;
    double m = w < h ? w : h;
    s.base = h / 42.0;
    if (s.base < 10) s.base = 10;
    if (s.base > m / 18) s.base = m / 18 < 8 ? 8 : m / 18;
    s.title_px = s.base * 1.45;
    s.small_px = s.base * 0.8;
    s.margin = m * 0.025;
    return s;
}

/* Title at the top; returns the y below it. */
static double draw_title(Canvas *c, Font *f, const Sizes *s, const char *title)
{
    if (!title || !*title || !f->ok) return s->margin;
    StrBuf t, fit;
    sb_init(&t);
    sb_init(&fit);
    viz_text_escape(&t, title);
    text_fit(f, t.s ? t.s : "", s->title_px, c->w - 2 * s->margin, &fit);
    draw_text(c, f, fit.s, s->title_px, TEXT_RGB, c->w / 2.0, s->margin * 0.6, AL_MID, AL_START, 0);
    sb_free(&t);
    sb_free(&fit);
    return s->margin * 0.6 + s->title_px * 1.55;
}

/* "Nice" tick step for about `want` ticks over [lo, hi]. */
static double nice_step(double lo, double hi, int want)
{
    double range = hi - lo;
    if (!(range > 0)) return 1;
    double raw = range / (want > 0 ? want : 5);
    double p = pow(10, floor(log10(raw)));
    double r = raw / p;
    return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * p;
}

static void tick_text(char *buf, size_t cap, double v, double step)
{
    if (fabs(v) < step * 1e-9) v = 0;
    double big = fabs(v);
    if (big >= 1e6 || (step < 1e-4 && big > 0)) snprintf(buf, cap, "%.3g", v);
    else {
        int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        if (dec > 6) dec = 6;
        snprintf(buf, cap, "%.*f", dec, v);
    }
}

typedef struct {
    double x0, y0, x1, y1; /* plot rectangle in pixels */
    double xlo, xhi, ylo, yhi;
} Plot;

static double px_x(const Plot *p, double v) { return p->x0 + (v - p->xlo) / (p->xhi - p->xlo) * (p->x1 - p->x0); }
static double px_y(const Plot *p, double v) { return p->y1 - (v - p->ylo) / (p->yhi - p->ylo) * (p->y1 - p->y0); }

/* Grid lines and tick labels: which: 1 = x axis, 2 = y axis, 3 = both. */
static void draw_axes(Canvas *c, Font *f, const Sizes *s, const Plot *p, int which)
{
    char buf[48];
    if (which & 1) {
        double st = nice_step(p->xlo, p->xhi, (int)((p->x1 - p->x0) / (s->base * 5)) + 1);
        for (double v = ceil(p->xlo / st - 1e-9) * st; v <= p->xhi + st * 1e-9; v += st) {
            int x = (int)floor(px_x(p, v) + 0.5);
            fill_rect(c, x, (int)p->y0, x + 1, (int)p->y1, GRID_RGB);
            fill_rect(c, x, (int)p->y1, x + 1, (int)p->y1 + (int)(s->base * 0.3), AXIS_RGB);
            tick_text(buf, sizeof buf, v, st);
            draw_text(c, f, buf, s->small_px, TEXT_RGB, x, p->y1 + s->base * 0.35, AL_MID, AL_START, 0);
        }
    }
    if (which & 2) {
        double st = nice_step(p->ylo, p->yhi, (int)((p->y1 - p->y0) / (s->base * 3)) + 1);
        for (double v = ceil(p->ylo / st - 1e-9) * st; v <= p->yhi + st * 1e-9; v += st) {
            int y = (int)floor(px_y(p, v) + 0.5);
            fill_rect(c, (int)p->x0, y, (int)p->x1, y + 1, GRID_RGB);
            fill_rect(c, (int)p->x0 - (int)(s->base * 0.3), y, (int)p->x0, y + 1, AXIS_RGB);
            tick_text(buf, sizeof buf, v, st);
            draw_text(c, f, buf, s->small_px, TEXT_RGB, p->x0 - s->base * 0.45, y, AL_END, AL_MID, 0);
        }
    }
}

/* Width of the widest y tick label, to size the left margin. */
static double ytick_width(Font *f, const Sizes *s, double lo, double hi, double plot_h)
{
    char buf[48];
    double st = nice_step(lo, hi, (int)(plot_h / (s->base * 3)) + 1), w = 0;
    for (double v = ceil(lo / st - 1e-9) * st; v <= hi + st * 1e-9; v += st) {
        tick_text(buf, sizeof buf, v, st);
        double tw = text_width(f, buf, s->small_px);
        if (tw > w) w = tw;
    }
    return w;
}

/* ---- heatmaps ------------------------------------------------------------------ */

typedef struct {
    int W, H;
    Sizes s;
    double lab_px, sub_h, lw, lh, gap, cell, title_y;
    int gc, gr, rstride, cstride;
    double gx, gy;             /* top-left of panel 0's matrix */
    double sx, sy;             /* panel-to-panel stride */
    double bar_x, bar_y, bar_w, bar_h, num_w;
    int annotate;
} HeatLayout;

static double max_label_w(Font *f, const char *const *labels, int n, double px)
{
    StrBuf b;
    sb_init(&b);
    double w = 0;
    for (int i = 0; i < n; i++) {
        label_text(&b, labels, i);
        double tw = text_width(f, b.s, px);
        if (tw > w) w = tw;
    }
    sb_free(&b);
    return w;
}

static void heat_layout(HeatLayout *L, Font *f, int W, int H, const char *title, int n, int rows, int cols,
                        const char *const *rl, const char *const *cl, int any_masked)
{
    memset(L, 0, sizeof *L);
    L->W = W;
    L->H = H;
    L->s = sizes_for(W, H);
    const Sizes *s = &L->s;
    double m = s->margin;
    L->title_y = (title && *title && f->ok) ? s->margin * 0.6 + s->title_px * 1.55 : m;
    L->sub_h = n > 1 && f->ok ? s->base * 1.5 : 0;
    L->gap = n > 1 ? s->base * 1.2 : 0;
    /* colour bar column on the right */
    char a[32];
    L->bar_w = W / 64.0 < 14 ? 14 : W / 64.0;
    /* independent of the data, so viz_png_heatmap_grid sees the same layout */
    num_text(a, sizeof a, -0.0001234);
    L->num_w = text_width(f, a, s->small_px);
    double mw = text_width(f, "masked", s->small_px);
    if (mw > L->num_w) L->num_w = mw;
    double rw = m + L->bar_w + s->base * 0.4 + L->num_w;
    L->lab_px = s->base * 0.85;
    for (int iter = 0; iter < 3; iter++) {
        double rlw = max_label_w(f, rl, rows, L->lab_px), clw = max_label_w(f, cl, cols, L->lab_px);
        L->lw = (rlw < 0.22 * W ? rlw : 0.22 * W) + (f->ok ? L->lab_px * 0.5 : 0);
        L->lh = (clw < 0.22 * H ? clw : 0.22 * H) + (f->ok ? L->lab_px * 0.5 : 0);
        double best = -1;
        for (int gc = 1; gc <= n; gc++) {
            int gr = (n + gc - 1) / gc;
            double aw = W - 2 * m - L->lw - rw - (gc - 1) * L->gap;
            double ah = H - L->title_y - m - gr * (L->sub_h + L->lh) - (gr - 1) * L->gap;
            double cell = fmin(aw / ((double)gc * cols), ah / ((double)gr * rows));
            if (cell > best) {
                best = cell;
                L->gc = gc;
                L->gr = gr;
            }
        }
        if (best <= 0) best = 0.25;
        L->cell = best;
        double want = best * 0.8;
        if (want > s->base * 0.85) want = s->base * 0.85;
        if (want < 9) want = 9;
        if (fabs(want - L->lab_px) < 0.5 && iter > 0) break;
        L->lab_px = want;
    }
    if (L->cell >= 3) L->cell = floor(L->cell);
    L->rstride = L->cell >= L->lab_px * 1.1 ? 1 : (int)ceil(L->lab_px * 1.1 / L->cell);
    L->cstride = L->rstride;
    L->annotate = f->ok && L->cell >= 44 && (long)rows * cols <= 400;
    double pw = L->cell * cols, ph = L->cell * rows;
    double gw = L->lw + L->gc * pw + (L->gc - 1) * L->gap + rw;
    double gh = L->gr * (L->sub_h + ph + L->lh) + (L->gr - 1) * L->gap;
    double left = floor((W - gw) / 2);
    if (left < m) left = m;
    double top = L->title_y + floor((H - m - L->title_y - gh) / 2);
    if (top < L->title_y) top = L->title_y;
    L->gx = floor(left + L->lw);
    L->gy = floor(top + L->sub_h);
    L->sx = pw + L->gap;
    L->sy = L->sub_h + ph + L->lh + L->gap;
    L->bar_x = floor(L->gx + L->gc * pw + (L->gc - 1) * L->gap + m);
    L->bar_y = L->gy;
    double full = (L->gr - 1) * L->sy + ph;
    double minh = H * 0.45 < H - L->gy - m ? H * 0.45 : H - L->gy - m;
    L->bar_h = full > minh ? full : minh;
    if (any_masked) L->bar_h -= L->bar_w * 2;
    if (L->bar_h < 10) L->bar_h = 10;
}

static int heat_png(const char *path, int w, int h, const char *title, const float *const *datas,
                    const char *const *subtitles, int n, int rows, int cols, const char *const *rl,
                    const char *const *cl, int mask_upper, GrErr *e, VizPngGrid *grid_only)
{
    const char *who = "png heatmap";
    if (!grid_only && check_path(path, who, e)) return -1;
    if (png_size(&w, &h, who, e)) return -1;
    if (n < 1 || n > 1024 || rows < 1 || cols < 1 || rows > 100000 || cols > 100000)
        return gr_fail(e, "%s: bad size %d x %d (x%d)", who, rows, cols, n);
    if (!grid_only) {
        if (!datas) return gr_fail(e, "%s: no data", who);
        for (int p = 0; p < n; p++)
            if (!datas[p]) return gr_fail(e, "%s: no data for panel %d", who, p);
    }
    double mn = INFINITY, mx = -INFINITY;
    int any_masked = mask_upper && cols > 1;
    if (!grid_only)
        for (int p = 0; p < n; p++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    float v = datas[p][(size_t)r * cols + c];
                    if ((mask_upper && c > r) || isnan(v) || (isinf(v) && v < 0)) { any_masked = 1; continue; }
                    if (isinf(v)) continue;
                    if (v < mn) mn = v;
                    if (v > mx) mx = v;
                }
    if (mn > mx) mn = mx = 0;
    Font f;
    font_load(&f);
    HeatLayout L;
    heat_layout(&L, &f, w, h, title, n, rows, cols, rl, cl, any_masked);
    if (grid_only) {
        grid_only->w = w;
        grid_only->h = h;
        grid_only->x0 = L.gx;
        grid_only->y0 = L.gy;
        grid_only->cw = grid_only->ch = L.cell;
        font_free(&f);
        return 0;
    }
    Canvas cv;
    if (canvas_new(&cv, w, h)) {
        font_free(&f);
        return gr_fail(e, "%s: out of memory", who);
    }
    const Sizes *s = &L.s;
    draw_title(&cv, &f, s, title);
    double range = mx - mn;
    StrBuf lab, fit;
    sb_init(&lab);
    sb_init(&fit);
    int period = L.cell >= 10 ? (int)(L.cell / 5 < 6 ? 6 : L.cell / 5) : 0;
    for (int p = 0; p < n; p++) {
        int gcol = p % L.gc, grow = p / L.gc;
        double ox = L.gx + gcol * L.sx, oy = L.gy + grow * L.sy;
        const float *d = datas[p];
        /* cells, pixel by pixel so fractional cell sizes tile exactly */
        int X0 = (int)ox, Y0 = (int)oy, X1 = (int)(ox + L.cell * cols), Y1 = (int)(oy + L.cell * rows);
        if (X1 > w) X1 = w;
        if (Y1 > h) Y1 = h;
        for (int y = Y0 < 0 ? 0 : Y0; y < Y1; y++) {
            int r = (int)((y - oy) / L.cell);
            if (r >= rows) r = rows - 1;
            int cy = (int)(oy + (r + 0.5) * L.cell);
            unsigned char *px = cv.px + ((size_t)y * w + X0) * 3;
            int lastc = -1;
            unsigned char rgb[3] = {0, 0, 0};
            int masked = 0;
            for (int x = X0; x < X1; x++, px += 3) {
                int c = (int)((x - ox) / L.cell);
                if (c >= cols) c = cols - 1;
                if (c != lastc) {
                    lastc = c;
                    float v = d[(size_t)r * cols + c];
                    masked = (mask_upper && c > r) || isnan(v) || (isinf(v) && v < 0);
                    if (!masked) viz_colormap(isinf(v) ? 1 : range > 0 ? (v - mn) / range : 0.5, rgb);
                }
                const unsigned char *col = rgb;
                if (masked) {
                    col = VIZ_MASK_RGB;
                    if (period) {
                        int cx = (int)(ox + (c + 0.5) * L.cell);
                        int ph = ((x - cx) + (y - cy)) % period;
                        if (ph < 0) ph += period;
                        if (ph == period / 2) col = HATCH_RGB;
                    }
                }
                px[0] = col[0];
                px[1] = col[1];
                px[2] = col[2];
            }
        }
        frame_rect(&cv, X0 - 1, Y0 - 1, X1 + 1, Y1 + 1, AXIS_RGB);
        /* values inside big cells, in the lower half so the centre keeps its colour */
        if (L.annotate) {
            double apx = L.cell * 0.22 < s->base ? L.cell * 0.22 : s->base;
            char a[32];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    float v = d[(size_t)r * cols + c];
                    if ((mask_upper && c > r) || isnan(v) || (isinf(v) && v < 0)) continue;
                    unsigned char rgb[3];
                    viz_colormap(isinf(v) ? 1 : range > 0 ? (v - mn) / range : 0.5, rgb);
                    snprintf(a, sizeof a, fabs(v) < 10 ? "%.2f" : "%.3g", (double)v);
                    draw_text(&cv, &f, a, apx, luma(rgb) > 128 ? BLACK : WHITE, ox + (c + 0.5) * L.cell,
                              oy + (r + 0.93) * L.cell, AL_MID, AL_END, 0);
                }
        }
        if (f.ok && n > 1) {
            sb_clear(&lab);
            if (subtitles && subtitles[p]) viz_text_escape(&lab, subtitles[p]);
            else sb_printf(&lab, "#%d", p);
            text_fit(&f, lab.s ? lab.s : "", s->base, L.cell * cols + L.gap * 0.8, &fit);
            draw_text(&cv, &f, fit.s, s->base, TEXT_RGB, ox + L.cell * cols / 2, oy - L.sub_h * 0.15, AL_MID,
                      AL_END, 0);
        }
        /* row labels left of the first panel in each grid row */
        if (f.ok && gcol == 0)
            for (int r = 0; r < rows; r += L.rstride) {
                label_text(&lab, rl, r);
                text_fit(&f, lab.s, L.lab_px, L.lw - L.lab_px * 0.5, &fit);
                draw_text(&cv, &f, fit.s, L.lab_px, TEXT_RGB, ox - L.lab_px * 0.4, oy + (r + 0.5) * L.cell, AL_END,
                          AL_MID, 0);
            }
        /* column labels below every panel, reading upwards */
        if (f.ok)
            for (int c = 0; c < cols; c += L.cstride) {
                label_text(&lab, cl, c);
                text_fit(&f, lab.s, L.lab_px, L.lh - L.lab_px * 0.5, &fit);
                draw_text(&cv, &f, fit.s, L.lab_px, TEXT_RGB, ox + (c + 0.5) * L.cell, Y1 + L.lab_px * 0.4, AL_MID,
                          AL_START, 90);
            }
    }
    /* colour bar: max at the top */
    int bx0 = (int)L.bar_x, bx1 = (int)(L.bar_x + L.bar_w), by0 = (int)L.bar_y, by1 = (int)(L.bar_y + L.bar_h);
    for (int y = by0; y < by1; y++) {
        unsigned char rgb[3];
        viz_colormap(1.0 - (double)(y - by0) / (by1 - by0 - 1 > 0 ? by1 - by0 - 1 : 1), rgb);
        fill_rect(&cv, bx0, y, bx1, y + 1, rgb);
    }
    frame_rect(&cv, bx0 - 1, by0 - 1, bx1 + 1, by1 + 1, AXIS_RGB);
    char a[32];
    double tx = bx1 + s->base * 0.4;
    num_text(a, sizeof a, mx);
    draw_text(&cv, &f, a, s->small_px, TEXT_RGB, tx, by0, AL_START, AL_START, 0);
    num_text(a, sizeof a, mn);
    draw_text(&cv, &f, a, s->small_px, TEXT_RGB, tx, by1, AL_START, AL_END, 0);
    if (by1 - by0 > s->small_px * 5) {
        num_text(a, sizeof a, (mn + mx) / 2);
        draw_text(&cv, &f, a, s->small_px, TEXT_RGB, tx, (by0 + by1) / 2.0, AL_START, AL_MID, 0);
    }
    if (any_masked) {
        int sy0 = by1 + (int)(L.bar_w * 0.8), sy1 = sy0 + (int)L.bar_w;
        fill_rect(&cv, bx0, sy0, bx1, sy1, VIZ_MASK_RGB);
        frame_rect(&cv, bx0 - 1, sy0 - 1, bx1 + 1, sy1 + 1, AXIS_RGB);
        draw_text(&cv, &f, "masked", s->small_px, TEXT_RGB, tx, (sy0 + sy1) / 2.0, AL_START, AL_MID, 0);
    }
    sb_free(&lab);
    sb_free(&fit);
    font_free(&f);
    int rc = png_save(&cv, path, e);
    free(cv.px);
    return rc;
}

int viz_png_heatmap(const char *path, int w, int h, const char *title, const float *data, int rows, int cols,
                    const char *const *row_labels, const char *const *col_labels, int mask_upper, GrErr *e)
{
    const float *const datas[1] = {data};
    return heat_png(path, w, h, title, data ? datas : NULL, NULL, 1, rows, cols, row_labels, col_labels, mask_upper,
                    e, NULL);
}

int viz_png_heatmap_multi(const char *path, int w, int h, const char *title, const float *const *datas,
                          const char *const *subtitles, int n, int rows, int cols, const char *const *row_labels,
                          const char *const *col_labels, int mask_upper, GrErr *e)
{
    return heat_png(path, w, h, title, datas, subtitles, n, rows, cols, row_labels, col_labels, mask_upper, e,
                    NULL);
}

int viz_png_heatmap_grid(int w, int h, const char *title, int rows, int cols, const char *const *row_labels,
                         const char *const *col_labels, VizPngGrid *g, GrErr *e)
{
    if (!g) return gr_fail(e, "png heatmap: no grid output");
    return heat_png(NULL, w, h, title, NULL, NULL, 1, rows, cols, row_labels, col_labels, 0, e, g);
}

/* ---- histogram ------------------------------------------------------------------ */

int viz_png_hist(const char *path, int w, int h, const char *title, const float *data, size_t n, int bins,
                 GrErr *e)
{
    const char *who = "png hist";
    if (check_path(path, who, e) || png_size(&w, &h, who, e)) return -1;
    VizHistData hd;
    if (viz_hist_data(&hd, data, n, bins, who, e)) return -1;
    const size_t *cnt = hd.count;
    Font f;
    font_load(&f);
    Canvas cv;
    if (canvas_new(&cv, w, h)) {
        viz_hist_data_free(&hd);
        font_free(&f);
        return gr_fail(e, "%s: out of memory", who);
    }
    Sizes s = sizes_for(w, h);
    double top = draw_title(&cv, &f, &s, title);
    /* stats line under the title */
    char a[32], b[32], c[32], d[32];
    StrBuf st;
    sb_init(&st);
    num_text(a, sizeof a, hd.mean);
    num_text(b, sizeof b, hd.std);
    num_text(c, sizeof c, hd.n ? hd.min : NAN);
    num_text(d, sizeof d, hd.n ? hd.max : NAN);
    sb_printf(&st, "n %zu   mean %s   std %s   min %s   max %s", hd.n, a, b, c, d);
    if (hd.nan || hd.pinf || hd.ninf)
        sb_printf(&st, "   (not binned: %zu nan, %zu +inf, %zu -inf)", hd.nan, hd.pinf, hd.ninf);
    if (f.ok) {
        draw_text(&cv, &f, st.s, s.small_px, AXIS_RGB, w / 2.0, top, AL_MID, AL_START, 0);
        top += s.small_px * 1.8;
    }
    sb_free(&st);
    Plot p;
    p.xlo = hd.lo;
    p.xhi = hd.hi;
    p.ylo = 0;
    p.yhi = hd.cmax ? hd.cmax * 1.05 : 1;
    p.y0 = top + s.base * 0.5;
    p.y1 = h - s.margin - s.small_px * 1.6 - (f.ok ? s.base * 1.6 : 0);
    double yl = ytick_width(&f, &s, p.ylo, p.yhi, p.y1 - p.y0);
    p.x0 = s.margin + (f.ok ? s.base * 1.6 : 0) + yl + s.base * 0.6;
    p.x1 = w - s.margin * 1.5;
    if (p.y1 - p.y0 < 10) p.y1 = p.y0 + 10;
    draw_axes(&cv, &f, &s, &p, 3);
    double bwpx = (p.x1 - p.x0) / bins;
    for (int k = 0; k < bins; k++) {
        if (!cnt[k]) continue;
        int x0 = (int)(p.x0 + k * bwpx), x1 = (int)(p.x0 + (k + 1) * bwpx);
        if (bwpx >= 4) x1 -= 1;
        if (x1 <= x0) x1 = x0 + 1;
        int y0 = (int)floor(px_y(&p, (double)cnt[k]) + 0.5);
        if (y0 > (int)p.y1 - 1) y0 = (int)p.y1 - 1;
        fill_rect(&cv, x0, y0, x1, (int)p.y1, ACCENT_RGB);
    }
    fill_rect(&cv, (int)p.x0, (int)p.y1, (int)p.x1, (int)p.y1 + 1, AXIS_RGB);
    fill_rect(&cv, (int)p.x0, (int)p.y0, (int)p.x0 + 1, (int)p.y1 + 1, AXIS_RGB);
    if (f.ok) {
        draw_text(&cv, &f, "value", s.base, TEXT_RGB, (p.x0 + p.x1) / 2, h - s.margin, AL_MID, AL_END, 0);
        draw_text(&cv, &f, "count", s.base, TEXT_RGB, s.margin, (p.y0 + p.y1) / 2, AL_START, AL_MID, 90);
    }
    viz_hist_data_free(&hd);
    font_free(&f);
    int rc = png_save(&cv, path, e);
    free(cv.px);
    return rc;
}

/* ---- bars ------------------------------------------------------------------ */

int viz_png_bars(const char *path, int w, int h, const char *title, const char *const *labels,
                 const float *values, int n, GrErr *e)
{
    const char *who = "png bars";
    if (check_path(path, who, e) || png_size(&w, &h, who, e)) return -1;
    if (n < 1 || n > 100000) return gr_fail(e, "%s: bad count %d", who, n);
    if (!values) return gr_fail(e, "%s: no values", who);
    double mn = 0, mx = 0;
    int unit = 1;
    for (int i = 0; i < n; i++) {
        float v = values[i];
        if (!isfinite(v)) continue;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        if (v < 0 || v > 1) unit = 0;
    }
    if (unit) mx = 1;
    if (!(mx > mn)) mx = mn + 1;
    Font f;
    font_load(&f);
    Canvas cv;
    if (canvas_new(&cv, w, h)) {
        font_free(&f);
        return gr_fail(e, "%s: out of memory", who);
    }
    Sizes s = sizes_for(w, h);
    double top = draw_title(&cv, &f, &s, title) + s.base * 0.5;
    double bottom = h - s.margin - s.small_px * 1.6;
    double rowh = (bottom - top) / n;
    double px = rowh * 0.7 < s.base ? rowh * 0.7 : s.base;
    if (px < 9) px = 9;
    int stride = rowh >= px ? 1 : (int)ceil(px / rowh);
    double lw = max_label_w(&f, labels, n, px);
    if (lw > w * 0.25) lw = w * 0.25;
    char a[48];
    double vw = 0;
    for (int i = 0; i < n; i++) {
        num_text(a, sizeof a, values[i]);
        double tw = text_width(&f, a, s.small_px);
        if (tw > vw) vw = tw;
    }
    Plot p;
    p.x0 = s.margin + lw + (f.ok ? px * 0.6 : 0);
    p.x1 = w - s.margin - vw - s.base * 0.6;
    p.y0 = top;
    p.y1 = bottom;
    p.xlo = mn;
    p.xhi = mx * (unit ? 1 : 1.02);
    p.ylo = 0;
    p.yhi = 1;
    draw_axes(&cv, &f, &s, &p, 1);
    StrBuf lab, fit;
    sb_init(&lab);
    sb_init(&fit);
    double zx = px_x(&p, 0);
    for (int i = 0; i < n; i++) {
        double y0 = top + i * rowh, y1 = y0 + rowh;
        double inset = rowh >= 4 ? rowh * 0.15 : 0;
        float v = values[i];
        if (!isnan(v)) {
            double vx = isinf(v) ? (v > 0 ? p.x1 : p.x0) : px_x(&p, v);
            int xa = (int)floor((vx < zx ? vx : zx) + 0.5), xb = (int)floor((vx < zx ? zx : vx) + 0.5);
            if (xb == xa && v != 0) xb = xa + 1;
            fill_rect(&cv, xa, (int)(y0 + inset), xb, (int)(y1 - inset) > (int)(y0 + inset) ? (int)(y1 - inset)
                                                                                               : (int)(y0 + inset) + 1,
                      ACCENT_RGB);
        }
        if (f.ok && i % stride == 0) {
            label_text(&lab, labels, i);
            text_fit(&f, lab.s, px, lw, &fit);
            draw_text(&cv, &f, fit.s, px, TEXT_RGB, p.x0 - px * 0.4, (y0 + y1) / 2, AL_END, AL_MID, 0);
            num_text(a, sizeof a, v);
            double vx = isfinite(v) ? px_x(&p, v > 0 ? v : 0) : zx;
            draw_text(&cv, &f, a, px * 0.85, TEXT_RGB, vx + s.base * 0.3, (y0 + y1) / 2, AL_START, AL_MID, 0);
        }
    }
    fill_rect(&cv, (int)zx, (int)top, (int)zx + 1, (int)bottom, AXIS_RGB);
    fill_rect(&cv, (int)p.x0, (int)bottom, (int)p.x1, (int)bottom + 1, AXIS_RGB);
    sb_free(&lab);
    sb_free(&fit);
    font_free(&f);
    int rc = png_save(&cv, path, e);
    free(cv.px);
    return rc;
}

/* ---- line chart ------------------------------------------------------------------ */

/* Anti-aliased thick segment into a coverage layer (max of coverages). */
static void cov_segment(float *cov, int w, int h, double ax, double ay, double bx, double by, double hw)
{
    int x0 = (int)floor(fmin(ax, bx) - hw - 1), x1 = (int)ceil(fmax(ax, bx) + hw + 1);
    int y0 = (int)floor(fmin(ay, by) - hw - 1), y1 = (int)ceil(fmax(ay, by) + hw + 1);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > w - 1) x1 = w - 1;
    if (y1 > h - 1) y1 = h - 1;
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double px = x + 0.5 - ax, py = y + 0.5 - ay;
            double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
            if (t < 0) t = 0;
            if (t > 1) t = 1;
            double ex = px - t * dx, ey = py - t * dy;
            double cvg = hw + 0.5 - sqrt(ex * ex + ey * ey);
            if (cvg <= 0) continue;
            if (cvg > 1) cvg = 1;
            float *c = &cov[(size_t)y * w + x];
            if (cvg > *c) *c = (float)cvg;
        }
}

int viz_png_line(const char *path, int w, int h, const char *title, const char *xlabel, const char *ylabel,
                 const float *y, int n, double ref_line, GrErr *e)
{
    const char *who = "png line";
    if (check_path(path, who, e) || png_size(&w, &h, who, e)) return -1;
    if (n < 1 || !y) return gr_fail(e, "%s: no data", who);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(y[i])) {
            if (y[i] < lo) lo = y[i];
            if (y[i] > hi) hi = y[i];
        }
    if (isfinite(ref_line)) {
        if (ref_line < lo) lo = ref_line;
        if (ref_line > hi) hi = ref_line;
    }
    if (!(lo <= hi)) { lo = 0; hi = 1; }
    if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
    double padv = (hi - lo) * 0.05;
    lo -= padv;
    hi += padv;
    Font f;
    font_load(&f);
    Canvas cv;
    float *cov = NULL;
    if (canvas_new(&cv, w, h) || !(cov = calloc((size_t)w * h, sizeof *cov))) {
        free(cv.px);
        font_free(&f);
        return gr_fail(e, "%s: out of memory", who);
    }
    Sizes s = sizes_for(w, h);
    double top = draw_title(&cv, &f, &s, title) + s.base * 0.5;
    Plot p;
    p.xlo = 0;
    p.xhi = n > 1 ? n - 1 : 1;
    p.ylo = lo;
    p.yhi = hi;
    p.y0 = top;
    p.y1 = h - s.margin - s.small_px * 1.6 - (f.ok && xlabel && *xlabel ? s.base * 1.6 : 0);
    double yl = ytick_width(&f, &s, lo, hi, p.y1 - p.y0);
    p.x0 = s.margin + (f.ok && ylabel && *ylabel ? s.base * 1.6 : 0) + yl + s.base * 0.6;
    p.x1 = w - s.margin * 1.5;
    if (p.y1 - p.y0 < 10) p.y1 = p.y0 + 10;
    draw_axes(&cv, &f, &s, &p, 3);
    fill_rect(&cv, (int)p.x0, (int)p.y1, (int)p.x1, (int)p.y1 + 1, AXIS_RGB);
    fill_rect(&cv, (int)p.x0, (int)p.y0, (int)p.x0 + 1, (int)p.y1 + 1, AXIS_RGB);
    char a[48];
    if (isfinite(ref_line)) {
        int ry = (int)floor(px_y(&p, ref_line) + 0.5);
        int dash = (int)(s.base * 0.6), gap = (int)(s.base * 0.35);
        if (dash < 4) dash = 4;
        if (gap < 3) gap = 3;
        for (int x = (int)p.x0; x < (int)p.x1; x += dash + gap)
            fill_rect(&cv, x, ry - 1, x + dash < (int)p.x1 ? x + dash : (int)p.x1, ry + 1, REF_RGB);
        snprintf(a, sizeof a, "%.5g", ref_line);
        StrBuf t;
        sb_init(&t);
        sb_printf(&t, "ref %s", a);
        draw_text(&cv, &f, t.s, s.small_px, REF_RGB, p.x1 - s.base * 0.3, ry - 3, AL_END, AL_END, 0);
        sb_free(&t);
    }
    double hw = s.base / 12.0 < 1 ? 1 : s.base / 12.0;
    int cols = (int)(p.x1 - p.x0) + 1;
    if (n <= 4 * cols) {
        int prev = -1;
        for (int i = 0; i < n; i++) {
            if (!isfinite(y[i])) { prev = -1; continue; }
            double xx = px_x(&p, n > 1 ? i : 0.5), yy = px_y(&p, y[i]);
            if (prev >= 0) cov_segment(cov, w, h, px_x(&p, prev), px_y(&p, y[prev]), xx, yy, hw);
            else if (i + 1 >= n || !isfinite(y[i + 1])) cov_segment(cov, w, h, xx, yy, xx, yy, hw * 1.8);
            prev = i;
        }
    } else {
        /* many more points than pixels: per pixel column, the min..max envelope, joined
         * from the last value of one column to the first of the next */
        double last_x = 0, last_y = 0;
        int have_last = 0;
        for (int k = 0; k < cols; k++) {
            long i0 = (long)((double)k * n / cols), i1 = (long)((double)(k + 1) * n / cols);
            double lo_v = INFINITY, hi_v = -INFINITY, first = NAN, last = NAN;
            int broken = 0;
            for (long i = i0; i < i1 && i < n; i++) {
                if (!isfinite(y[i])) { broken = 1; continue; }
                if (isnan(first)) first = y[i];
                last = y[i];
                if (y[i] < lo_v) lo_v = y[i];
                if (y[i] > hi_v) hi_v = y[i];
            }
            if (isnan(first)) { have_last = 0; continue; }
            double xx = p.x0 + k + 0.5;
            if (have_last && !broken) cov_segment(cov, w, h, last_x, last_y, xx, px_y(&p, first), hw);
            cov_segment(cov, w, h, xx, px_y(&p, lo_v), xx, px_y(&p, hi_v), hw);
            last_x = xx;
            last_y = px_y(&p, last);
            have_last = 1;
        }
    }
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (cov[i] > 0) blend_px(&cv, (int)(i % w), (int)(i / w), ACCENT_RGB, (int)(cov[i] * 255 + 0.5));
    free(cov);
    if (f.ok && xlabel && *xlabel) {
        StrBuf t;
        sb_init(&t);
        viz_text_escape(&t, xlabel);
        draw_text(&cv, &f, t.s, s.base, TEXT_RGB, (p.x0 + p.x1) / 2, h - s.margin, AL_MID, AL_END, 0);
        sb_free(&t);
    }
    if (f.ok && ylabel && *ylabel) {
        StrBuf t;
        sb_init(&t);
        viz_text_escape(&t, ylabel);
        draw_text(&cv, &f, t.s, s.base, TEXT_RGB, s.margin, (p.y0 + p.y1) / 2, AL_START, AL_MID, 90);
        sb_free(&t);
    }
    font_free(&f);
    int rc = png_save(&cv, path, e);
    free(cv.px);
    return rc;
}
