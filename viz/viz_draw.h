/* viz_draw.h — inside viz/: the font (viz_font.c) and the drawing surface (viz_surface.c)
 * the chart layouts (viz_charts.c) draw on. One surface interface, two implementations:
 * a raster canvas written as PNG, and SVG text whose labels are real <text> elements.
 * Both measure text with the same font, so a layout is the same in both files. */
#ifndef GR_VIZ_DRAW_H
#define GR_VIZ_DRAW_H

#include "viz.h"

/* ---- font (stb_truetype over DejaVu Sans, with fallbacks for CJK) ---- */

typedef struct VizFont VizFont;
VizFont *vf_open(void);          /* never NULL unless out of memory; may have no face */
void vf_close(VizFont *f);
int vf_ok(const VizFont *f);     /* a face loaded: text can be drawn */
double vf_width(VizFont *f, const char *s, double px);
double vf_ascent(VizFont *f, double px);  /* baseline below the top of the line box */
double vf_line(VizFont *f, double px);    /* line box height (ascent - descent) */
/* s cut with '…' to at most maxw pixels, into out. */
void vf_fit(VizFont *f, const char *s, double px, double maxw, StrBuf *out);
/* An alpha mask of s at px: w × h bytes, the baseline at row `base`, the text's pen
 * starting at column `pad`. Returns 0 when there is nothing to draw (caller frees a). */
typedef struct {
    int w, h, base, pad;
    unsigned char *a;
} VizMask;
int vf_mask(VizFont *f, const char *s, double px, VizMask *m);
const char *vf_family(void);     /* for SVG font-family */

/* ---- surface ---- */

enum { VA_START, VA_MID, VA_END };      /* text anchors */
enum { SURF_PNG, SURF_SVG };

typedef struct Surface Surface;
Surface *surf_new(int kind, int w, int h, VizFont *font);
void surf_free(Surface *s);
int surf_w(const Surface *s);
int surf_h(const Surface *s);
VizFont *surf_font(Surface *s);
void surf_rect(Surface *s, double x0, double y0, double x1, double y1, const unsigned char rgb[3]);
void surf_frame(Surface *s, double x0, double y0, double x1, double y1, double lw, const unsigned char rgb[3]);
/* Text at px: (x, y) the anchor, ah/av how the box (in page orientation) sits on it;
 * rot 90 reads bottom to top. Returns the text's width. */
double surf_text(Surface *s, const char *text, double px, const unsigned char rgb[3], double x, double y, int ah,
                 int av, int rot);
/* A polyline of n points (xy pairs), width lw; dash > 0: dashes of that length. */
void surf_polyline(Surface *s, const double *xy, int n, double lw, const unsigned char rgb[3], double dash);
void surf_dot(Surface *s, double x, double y, double r, const unsigned char rgb[3]);
/* A field of rows × cols cells from (x0, y0), each cw × ch: rgb (3 bytes a cell) and a
 * mask flag per cell (masked cells are hatched). In SVG above VIZ_SVG_MAX_RECTS cells,
 * one embedded PNG <image>. */
void surf_cells(Surface *s, double x0, double y0, double cw, double ch, int rows, int cols, const unsigned char *rgb,
                const unsigned char *masked);
/* The legend swatch for masked cells: the same hatch. */
void surf_hatch(Surface *s, double x0, double y0, double x1, double y1);
/* Writes the file (temporary + rename). */
int surf_save(Surface *s, const char *path, GrErr *e);

/* ---- what every chart layout shares (viz_chart.c) ---- */

/* Text sizes for a page: at 1920×1080 titles 36 px, subtitles and axis titles 24 px,
 * token labels and ticks 16 px; other sizes scale with min(w/1920, h/1080). */
typedef struct {
    double title, sub, axis, label, margin, gap, lw;
} VcSizes;
VcSizes vc_sizes(int w, int h);
/* Checks the path (.png/.svg, its folder exists) and the size (0 → 1920×1080, one 0 →
 * 16:9, each 64..8192), then opens a surface of that kind. */
Surface *vc_begin(const char *path, int *w, int *h, const char *who, GrErr *e);
/* Saves and frees (the font too). */
int vc_end(Surface *s, const char *path, GrErr *e);
/* Frees without saving; returns -1 (the error is already in e). */
int vc_abort(Surface *s);
/* Title and subtitle from the top-left; returns the y below them. */
double vc_headline(Surface *s, const VcSizes *z, const char *title, const char *subtitle);
/* The height vc_headline takes, without drawing. */
double vc_headline_h(VizFont *f, const VcSizes *z, const char *title, const char *subtitle);
/* One line of notes at the bottom (y is its top); escaped and fitted to maxw. */
void vc_note(Surface *s, const VcSizes *z, const char *text, double x, double y, double maxw);
/* Ticks at round values over [lo, hi], about `want` of them: returns how many (≤ 32). */
int vc_ticks(double lo, double hi, int want, double *out);
/* A tick's text: as many decimals as the step needs ("0.2", "1e-05"). */
void vc_tick_text(char *buf, size_t n, double v, double step);
/* A label: escaped (visible spaces and controls), or the index when labels is NULL. */
void vc_label(StrBuf *b, const char *const *labels, int i, int index);

/* Colours the layouts share. */
extern const unsigned char VD_TEXT[3], VD_AXIS[3], VD_GRID[3], VD_ACCENT[3], VD_REF[3], VD_WHITE[3], VD_HATCH[3];
double vd_luma(const unsigned char c[3]);

#endif
