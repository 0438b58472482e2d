/* viz_surface.c — the two surfaces the chart layouts draw on: a raster canvas saved as
 * PNG (stb_image_write) and SVG text. Same calls, same coordinates, same colours; the
 * SVG keeps every label a <text> and, above VIZ_SVG_MAX_RECTS cells, embeds the cell
 * field as one PNG <image> (exact colours, one pixel per cell, scaled without smoothing). */
#include "viz_draw.h"
#include "safetensors.h" /* gr_atomic_write */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stb_quiet.h"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wunused-function"

const unsigned char VD_TEXT[3] = {30, 30, 30}, VD_AXIS[3] = {90, 90, 90}, VD_GRID[3] = {228, 228, 228},
                    VD_ACCENT[3] = {49, 104, 142}, VD_REF[3] = {214, 39, 40}, VD_WHITE[3] = {255, 255, 255},
                    VD_HATCH[3] = {232, 232, 232};

double vd_luma(const unsigned char c[3]) { return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }

struct Surface {
    int kind, w, h;
    VizFont *font;
    unsigned char *px; /* PNG: w × h × 3 */
    StrBuf svg;        /* SVG: the elements after the header */
    int hatch_def;     /* SVG: the hatch pattern has been defined */
};

Surface *surf_new(int kind, int w, int h, VizFont *font)
{
    Surface *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->kind = kind;
    s->w = w;
    s->h = h;
    s->font = font;
    sb_init(&s->svg);
    if (kind == SURF_PNG) {
        s->px = malloc((size_t)w * (size_t)h * 3);
        if (!s->px) { free(s); return NULL; }
        memset(s->px, 255, (size_t)w * (size_t)h * 3);
    }
    return s;
}

void surf_free(Surface *s)
{
    if (!s) return;
    free(s->px);
    sb_free(&s->svg);
    free(s);
}

int surf_w(const Surface *s) { return s->w; }
int surf_h(const Surface *s) { return s->h; }
VizFont *surf_font(Surface *s) { return s->font; }

/* ---- raster primitives ---- */

static int ipx(double v) { return (int)floor(v + 0.5); }

static void fill(Surface *s, int x0, int y0, int x1, int y1, const unsigned char rgb[3])
{
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > s->w) x1 = s->w;
    if (y1 > s->h) y1 = s->h;
    for (int y = y0; y < y1; y++) {
        unsigned char *p = s->px + ((size_t)y * s->w + x0) * 3;
        for (int x = x0; x < x1; x++, p += 3) memcpy(p, rgb, 3);
    }
}

static void blend(Surface *s, int x, int y, const unsigned char rgb[3], int a)
{
    if (x < 0 || y < 0 || x >= s->w || y >= s->h || a <= 0) return;
    if (a > 255) a = 255;
    unsigned char *p = s->px + ((size_t)y * s->w + x) * 3;
    for (int k = 0; k < 3; k++) p[k] = (unsigned char)((p[k] * (255 - a) + rgb[k] * a + 127) / 255);
}

/* Anti-aliased thick segment: coverage by distance to the segment. */
static void segment(Surface *s, double ax, double ay, double bx, double by, double hw, const unsigned char rgb[3])
{
    int x0 = (int)floor(fmin(ax, bx) - hw - 1), x1 = (int)ceil(fmax(ax, bx) + hw + 1);
    int y0 = (int)floor(fmin(ay, by) - hw - 1), y1 = (int)ceil(fmax(ay, by) + hw + 1);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > s->w - 1) x1 = s->w - 1;
    if (y1 > s->h - 1) y1 = s->h - 1;
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double px = x + 0.5 - ax, py = y + 0.5 - ay;
            double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = px - t * dx, ey = py - t * dy;
            double c = hw + 0.5 - sqrt(ex * ex + ey * ey);
            if (c <= 0) continue;
            /* max, not sum, with what is under: joints of a polyline do not darken */
            unsigned char *p = s->px + ((size_t)y * s->w + x) * 3;
            int a = (int)(fmin(c, 1) * 255 + 0.5);
            unsigned char want[3];
            for (int k = 0; k < 3; k++) want[k] = (unsigned char)((255 * (255 - a) + rgb[k] * a + 127) / 255);
            if (vd_luma(want) < vd_luma(p)) memcpy(p, want, 3);
        }
}

/* ---- SVG helpers ---- */

static void svg_rgb(StrBuf *o, const unsigned char c[3]) { sb_printf(o, "#%02x%02x%02x", c[0], c[1], c[2]); }

static void svg_escape(StrBuf *o, const char *t)
{
    for (; *t; t++) {
        switch (*t) {
        case '<': sb_puts(o, "&lt;"); break;
        case '>': sb_puts(o, "&gt;"); break;
        case '&': sb_puts(o, "&amp;"); break;
        case '"': sb_puts(o, "&quot;"); break;
        default: sb_putc(o, *t);
        }
    }
}

static void svg_hatch_def(Surface *s)
{
    if (s->hatch_def) return;
    s->hatch_def = 1;
    sb_printf(&s->svg,
              "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
              "<rect width=\"6\" height=\"6\" fill=\"#%02x%02x%02x\"/>"
              "<path d=\"M0,6 L6,0\" stroke=\"#%02x%02x%02x\" stroke-width=\"1.2\"/></pattern></defs>\n",
              VIZ_MASK_RGB[0], VIZ_MASK_RGB[1], VIZ_MASK_RGB[2], VD_HATCH[0], VD_HATCH[1], VD_HATCH[2]);
}

/* ---- the calls ---- */

void surf_rect(Surface *s, double x0, double y0, double x1, double y1, const unsigned char rgb[3])
{
    if (s->kind == SURF_PNG) {
        fill(s, ipx(x0), ipx(y0), ipx(x1), ipx(y1), rgb);
        return;
    }
    sb_printf(&s->svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" shape-rendering=\"crispEdges\" fill=\"", x0, y0,
              x1 - x0, y1 - y0);
    svg_rgb(&s->svg, rgb);
    sb_puts(&s->svg, "\"/>\n");
}

void surf_frame(Surface *s, double x0, double y0, double x1, double y1, double lw, const unsigned char rgb[3])
{
    if (s->kind == SURF_PNG) {
        int w = ipx(lw) < 1 ? 1 : ipx(lw);
        int a = ipx(x0), b = ipx(y0), c = ipx(x1), d = ipx(y1);
        fill(s, a, b, c, b + w, rgb);
        fill(s, a, d - w, c, d, rgb);
        fill(s, a, b, a + w, d, rgb);
        fill(s, c - w, b, c, d, rgb);
        return;
    }
    sb_printf(&s->svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke-width=\"%.2f\" stroke=\"",
              x0 + lw / 2, y0 + lw / 2, x1 - x0 - lw, y1 - y0 - lw, lw);
    svg_rgb(&s->svg, rgb);
    sb_puts(&s->svg, "\"/>\n");
}

double surf_text(Surface *s, const char *text, double px, const unsigned char rgb[3], double x, double y, int ah,
                 int av, int rot)
{
    if (!text || !*text) return 0;
    VizFont *f = s->font;
    double tw = vf_width(f, text, px), lh = vf_line(f, px), asc = vf_ascent(f, px);
    /* the box in page orientation: along the text tw, across it the line height */
    double bw = rot ? lh : tw, bh = rot ? tw : lh;
    double left = ah == VA_START ? x : ah == VA_MID ? x - bw / 2 : x - bw;
    double top = av == VA_START ? y : av == VA_MID ? y - bh / 2 : y - bh;
    if (s->kind == SURF_SVG) {
        /* the pen: left end of the baseline; rotated, the baseline runs up the box's left + asc */
        double bx = rot ? left + asc : left, by = rot ? top + bh : top + asc;
        sb_printf(&s->svg, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.2f\" fill=\"", bx, by, px);
        svg_rgb(&s->svg, rgb);
        sb_putc(&s->svg, '"');
        if (rot) sb_printf(&s->svg, " transform=\"rotate(-90 %.2f %.2f)\"", bx, by);
        sb_puts(&s->svg, ">");
        svg_escape(&s->svg, text);
        sb_puts(&s->svg, "</text>\n");
        return tw;
    }
    VizMask m;
    if (!vf_mask(f, text, px, &m)) return tw;
    /* the mask's baseline row m.base sits at top + asc */
    int L = ipx(left), T = ipx(top + asc) - m.base;
    for (int v = 0; v < m.h; v++)
        for (int u = 0; u < m.w; u++) {
            int a = m.a[(size_t)v * m.w + u];
            if (!a) continue;
            if (!rot) blend(s, L + u - m.pad, T + v, rgb, a);
            else blend(s, ipx(left + asc) - m.base + v, ipx(top + bh) - (u - m.pad), rgb, a);
        }
    free(m.a);
    return tw;
}

void surf_polyline(Surface *s, const double *xy, int n, double lw, const unsigned char rgb[3], double dash)
{
    if (n < 1) return;
    if (s->kind == SURF_SVG) {
        sb_printf(&s->svg, "<polyline fill=\"none\" stroke-width=\"%.2f\" stroke-linejoin=\"round\" stroke-linecap=\"round\" stroke=\"", lw);
        svg_rgb(&s->svg, rgb);
        sb_putc(&s->svg, '"');
        if (dash > 0) sb_printf(&s->svg, " stroke-dasharray=\"%.1f %.1f\"", dash, dash * 0.6);
        sb_puts(&s->svg, " points=\"");
        for (int i = 0; i < n; i++) sb_printf(&s->svg, "%s%.2f,%.2f", i ? " " : "", xy[2 * i], xy[2 * i + 1]);
        sb_puts(&s->svg, "\"/>\n");
        return;
    }
    double hw = lw / 2;
    if (n == 1) { segment(s, xy[0], xy[1], xy[0], xy[1], hw, rgb); return; }
    for (int i = 0; i + 1 < n; i++) {
        double ax = xy[2 * i], ay = xy[2 * i + 1], bx = xy[2 * i + 2], by = xy[2 * i + 3];
        if (dash <= 0) { segment(s, ax, ay, bx, by, hw, rgb); continue; }
        double len = hypot(bx - ax, by - ay), period = dash * 1.6;
        for (double t = 0; t < len; t += period) {
            double t1 = fmin(t + dash, len);
            segment(s, ax + (bx - ax) * t / len, ay + (by - ay) * t / len, ax + (bx - ax) * t1 / len,
                    ay + (by - ay) * t1 / len, hw, rgb);
        }
    }
}

void surf_dot(Surface *s, double x, double y, double r, const unsigned char rgb[3])
{
    if (s->kind == SURF_SVG) {
        sb_printf(&s->svg, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"", x, y, r);
        svg_rgb(&s->svg, rgb);
        sb_puts(&s->svg, "\"/>\n");
        return;
    }
    segment(s, x, y, x, y, r, rgb);
}

static void hatch_raster(Surface *s, int x0, int y0, int x1, int y1)
{
    fill(s, x0, y0, x1, y1, VIZ_MASK_RGB);
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < s->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < s->w; x++)
            if ((x + y) % 6 == 0) memcpy(s->px + ((size_t)y * s->w + x) * 3, VD_HATCH, 3);
}

void surf_hatch(Surface *s, double x0, double y0, double x1, double y1)
{
    if (s->kind == SURF_PNG) { hatch_raster(s, ipx(x0), ipx(y0), ipx(x1), ipx(y1)); return; }
    svg_hatch_def(s);
    sb_printf(&s->svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"url(#hatch)\"/>\n", x0, y0,
              x1 - x0, y1 - y0);
}

/* ---- PNG encoding ---- */

static void to_strbuf(void *ctx, void *data, int size)
{
    if (size > 0) sb_putn(ctx, data, (size_t)size);
}

static int png_encode(StrBuf *out, const unsigned char *px, int w, int h)
{
    stbi_write_png_compression_level = 4;
    stbi_write_force_png_filter = 2; /* "up": about as small as trying all five, 2-3x faster */
    return stbi_write_png_to_func(to_strbuf, out, w, h, 3, px, w * 3);
}

static void base64(StrBuf *o, const unsigned char *d, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        char q[4] = {A[v >> 18 & 63], A[v >> 12 & 63], i + 1 < n ? A[v >> 6 & 63] : '=', i + 2 < n ? A[v & 63] : '='};
        sb_putn(o, q, 4);
    }
}

void surf_cells(Surface *s, double x0, double y0, double cw, double ch, int rows, int cols, const unsigned char *rgb,
                const unsigned char *masked)
{
    if (s->kind == SURF_PNG) {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                int a = ipx(x0 + c * cw), b = ipx(y0 + r * ch), e = ipx(x0 + (c + 1) * cw), d = ipx(y0 + (r + 1) * ch);
                size_t i = (size_t)r * cols + c;
                if (masked[i]) hatch_raster(s, a, b, e, d);
                else fill(s, a, b, e, d, rgb + 3 * i);
            }
        return;
    }
    if ((long)rows * cols <= VIZ_SVG_MAX_RECTS) {
        /* crisp edges: no hairline seams between neighbouring cells */
        sb_puts(&s->svg, "<g shape-rendering=\"crispEdges\">\n");
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                size_t i = (size_t)r * cols + c;
                if (masked[i]) {
                    surf_hatch(s, x0 + c * cw, y0 + r * ch, x0 + (c + 1) * cw, y0 + (r + 1) * ch);
                    continue;
                }
                sb_printf(&s->svg, "<rect class=\"cell\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"",
                          x0 + c * cw, y0 + r * ch, cw, ch);
                svg_rgb(&s->svg, rgb + 3 * i);
                sb_puts(&s->svg, "\"/>\n");
            }
        sb_puts(&s->svg, "</g>\n");
        return;
    }
    unsigned char *img = malloc((size_t)rows * cols * 3);
    if (!img) return;
    for (size_t i = 0; i < (size_t)rows * cols; i++) memcpy(img + 3 * i, masked[i] ? VIZ_MASK_RGB : rgb + 3 * i, 3);
    StrBuf png;
    sb_init(&png);
    if (png_encode(&png, img, cols, rows)) {
        sb_printf(&s->svg,
                  "<image class=\"cells\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" preserveAspectRatio=\"none\" "
                  "style=\"image-rendering:pixelated;image-rendering:crisp-edges\" href=\"data:image/png;base64,",
                  x0, y0, cols * cw, rows * ch);
        base64(&s->svg, (const unsigned char *)png.s, png.len);
        sb_puts(&s->svg, "\"/>\n");
    }
    sb_free(&png);
    free(img);
}

/* ---- saving ---- */

int surf_save(Surface *s, const char *path, GrErr *e)
{
    StrBuf body;
    sb_init(&body);
    int ok;
    if (s->kind == SURF_PNG) {
        ok = png_encode(&body, s->px, s->w, s->h);
    } else {
        sb_printf(&body,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                  "font-family=\"%s\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
                  s->w, s->h, s->w, s->h, vf_family());
        sb_putn(&body, s->svg.s ? s->svg.s : "", s->svg.len);
        sb_puts(&body, "</svg>\n");
        ok = 1;
    }
    if (!ok) {
        sb_free(&body);
        return gr_fail(e, "cannot write %s: the PNG encoder failed", path);
    }
    StChunk ch = {body.s, body.len};
    int rc = gr_atomic_write(path, &ch, 1, e);
    sb_free(&body);
    return rc;
}
