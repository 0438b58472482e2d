/* viz_font.c — text for the file renderers: stb_truetype over DejaVu Sans, with
 * fallback faces for code points it lacks (CJK), loaded on the first miss. Both the PNG
 * and the SVG surface measure with it, so a layout is the same in both. */
#include "viz_draw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stb_quiet.h"
#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC
#include <stb_truetype.h>
#pragma GCC diagnostic pop
/* The static stb functions this file does not call are reported at the end of the
 * translation unit, after the pop above, so this one stays off for the file. */
#pragma GCC diagnostic ignored "-Wunused-function"

#define DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
static char font_path[1024] = DEFAULT_FONT;

void viz_font_set(const char *ttf_path)
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

struct VizFont {
    Face face[MAX_FACES];
    int nf;        /* face[0] is the main font; nf == 0: no text at all */
    int fallbacks; /* fallback faces loaded (lazily, on the first missing glyph) */
    int ok;
};
typedef struct VizFont Font;

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
    if (face_load(&f->face[0], font_path)) f->nf = 1;
    f->ok = f->nf > 0;
}

/* Scale of face i for text of px pixels: px is the em size, as CSS and SVG's font-size
 * mean it, so a PNG and an SVG of the same page set text alike. */
static float face_scale(Font *f, int i, double px)
{
    return stbtt_ScaleForMappingEmToPixels(&f->face[i].info, (float)px);
}

VizFont *vf_open(void)
{
    Font *f = calloc(1, sizeof *f);
    if (f) font_load(f);
    return f;
}

void vf_close(VizFont *f)
{
    if (!f) return;
    for (int i = 0; i < f->nf; i++) free(f->face[i].data);
    free(f);
}

int vf_ok(const VizFont *f) { return f && f->ok; }
const char *vf_family(void) { return "DejaVu Sans, Verdana, sans-serif"; }

double vf_ascent(VizFont *f, double px)
{
    if (!vf_ok(f)) return px * 0.76;
    int asc, desc, gap;
    stbtt_GetFontVMetrics(&f->face[0].info, &asc, &desc, &gap);
    return asc * face_scale(f, 0, px);
}

double vf_line(VizFont *f, double px)
{
    if (!vf_ok(f)) return px * 1.16;
    int asc, desc, gap;
    stbtt_GetFontVMetrics(&f->face[0].info, &asc, &desc, &gap);
    return (asc - desc) * face_scale(f, 0, px);
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


double vf_width(Font *f, const char *s, double px)
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
void vf_fit(Font *f, const char *s, double px, double maxw, StrBuf *out)
{
    sb_clear(out);
    if (!s) return;
    if (vf_width(f, s, px) <= maxw) {
        sb_puts(out, s);
        return;
    }
    double ell = vf_width(f, "\xe2\x80\xa6", px);
    size_t n = strlen(s), i = 0, cut = 0;
    while (i < n) {
        unsigned cp;
        size_t k = (size_t)gr_utf8_decode(s + i, n - i, &cp);
        sb_clear(out);
        sb_putn(out, s, i + k);
        if (vf_width(f, out->s, px) + ell > maxw) break;
        i += k;
        cut = i;
    }
    sb_clear(out);
    sb_putn(out, s, cut);
    sb_puts(out, "\xe2\x80\xa6");
}

int vf_mask(Font *f, const char *s, double px, VizMask *m)
{
    memset(m, 0, sizeof *m);
    if (!vf_ok(f) || !s || !*s) return 0;
    float sc0 = face_scale(f, 0, px);
    int asc, desc, gap;
    stbtt_GetFontVMetrics(&f->face[0].info, &asc, &desc, &gap);
    m->pad = (int)(px * 0.3) + 2;
    m->base = (int)ceil(asc * sc0) + 1;
    m->h = m->base + (int)ceil(-desc * sc0) + 2;
    m->w = (int)ceil(vf_width(f, s, px)) + 2 * m->pad;
    m->a = calloc((size_t)m->w * (size_t)m->h, 1);
    if (!m->a) return 0;
    size_t n = strlen(s), i = 0;
    double x = m->pad;
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

int viz_font_ink_height(const char *s, double px)
{
    Font *f = vf_open();
    VizMask m;
    int top = -1, bot = -1;
    if (f && vf_mask(f, s, px, &m)) {
        for (int y = 0; y < m.h; y++)
            for (int x = 0; x < m.w; x++)
                if (m.a[(size_t)y * m.w + x] > 127) {
                    if (top < 0) top = y;
                    bot = y;
                }
        free(m.a);
    }
    vf_close(f);
    return top < 0 ? 0 : bot - top + 1;
}
