/* viz.h — pictures for gptrepl: terminal renderers and PNG export.
 *
 * Independent of the model: every renderer takes plain float arrays and UTF-8
 * labels. Terminal renderers append to a StrBuf (they never print and never exit);
 * functions that can fail return 0, or -1 with a one-line message in the GrErr.
 *
 * Labels (token strings) are shown escaped so they can never break a layout:
 * a space is shown as '␣', '\n' as '⏎', '\t' as '⇥', other control characters as
 * their Unicode control pictures (␀ … ␟, ␡), C1 controls / bidi overrides / invalid
 * UTF-8 as '�'. Labels are truncated with '…' and aligned by display width
 * (gr_utf8_width), so wide (字) and combining (Việt) characters never misalign. */
#ifndef GR_VIZ_H
#define GR_VIZ_H

#include <stddef.h>

#include "common.h"

/* ---- colour modes ---------------------------------------------------------- */

typedef enum { VIZ_COLOR_NONE, VIZ_COLOR_16, VIZ_COLOR_256, VIZ_COLOR_TRUE } VizColor;

/* From the environment: NO_COLOR set (non-empty) → NONE; not a tty → NONE;
 * TERM=dumb → NONE; COLORTERM truecolor/24bit → TRUE; TERM containing 256color → 256;
 * else 16. */
VizColor viz_color_detect(int stdout_is_tty);
/* "none" (or "off", "no"), "16", "256", "truecolor" (or "24bit", "truecolour"),
 * case-insensitive. "auto" is the caller's business (viz_color_detect); anything
 * else → -1 with a message naming it. */
int viz_color_parse(const char *s, VizColor *out, GrErr *e);
/* "none", "16", "256", "truecolor" (what viz_color_parse reads back). */
const char *viz_color_name(VizColor c);

typedef struct {
    VizColor color;
    int width; /* terminal columns available; renderers clip to it; <= 0 means 80 */
} VizOpts;

/* ---- terminal renderers ---------------------------------------------------- */

/* Heatmap of a rows×cols row-major matrix. Colour modes: half-block cells, two data
 * rows per text line ('▀', fg = upper row, bg = lower row); each line is labelled
 * "<upper label> <i> <lower label> <i+1>". NONE mode: one character per cell from the
 * ramp " .:-=+*#%@", one text line per data row, '/' for masked cells.
 * A cell is masked if mask_upper && col > row, or its value is -inf or NaN; +inf is
 * drawn as the maximum. Colours are scaled to min..max of the unmasked finite cells.
 * Column indices are written above the matrix as a vertical ruler; column labels
 * (when given and not the same array as row_labels) follow as an index legend.
 * Labels may be NULL (indices only). Clips to o->width: when the matrix is wider,
 * the first columns that fit are shown with "(showing N of M columns)". */
int viz_heatmap(StrBuf *out, const VizOpts *o, const char *title, const float *data, int rows, int cols,
                const char *const *row_labels, const char *const *col_labels, int mask_upper, GrErr *e);
/* n heatmaps (e.g. every head of a layer) side by side on one shared colour scale,
 * wrapping to more bands when they do not fit. subtitles may be NULL ("#0", "#1", …). */
int viz_heatmap_multi(StrBuf *out, const VizOpts *o, const char *title, const float *const *datas,
                      const char *const *subtitles, int n, int rows, int cols, const char *const *row_labels,
                      const char *const *col_labels, int mask_upper, GrErr *e);
/* Histogram: one line per bin "[lo, hi) count bar" (the last bin is closed), then a
 * stats line n/mean/std/min/max (std is the population std, over finite values).
 * NaN and ±inf are counted and reported separately, never binned. bins 1..200. */
int viz_hist(StrBuf *out, const VizOpts *o, const char *title, const float *data, size_t n, int bins, GrErr *e);
/* What both histograms (terminal and PNG) draw: statistics over the finite values and
 * counts per bin over [lo, hi] (the min..max range, widened by 0.5 when it is empty). */
typedef struct {
    size_t n, nan, pinf, ninf;  /* finite values binned; values left out */
    double mean, std, min, max; /* over the finite values; 0 when there are none */
    double lo, hi;
    int bins;
    size_t *count, cmax;
} VizHistData;
int viz_hist_data(VizHistData *h, const float *data, size_t n, int bins, const char *who, GrErr *e);
void viz_hist_data_free(VizHistData *h);
/* Horizontal bars "label bar value". Values all in [0,1] are drawn on a 0..1 axis
 * (probabilities); otherwise on 0..max; with negative values the bars grow left and
 * right from a zero axis. NaN is printed as "nan" without a bar. */
int viz_bars(StrBuf *out, const VizOpts *o, const char *title, const char *const *labels, const float *values,
             int n, GrErr *e);
/* One line: a sparkline with ▁▂▃▄▅▆▇█ (NONE mode: "_.-~^"), values averaged into at
 * most the available width, then "min … max … last …". Non-finite values are skipped
 * (a bucket with none finite is a space). n <= 0 writes "(no data)". */
void viz_sparkline(StrBuf *out, const VizOpts *o, const float *values, int n);
/* One line: "label value [axis 0..axis_max with a marker at ref] ref_label ref".
 * axis_max <= 0 or non-finite picks 1.1 × max(value, ref). */
void viz_gauge(StrBuf *out, const VizOpts *o, const char *label, double value, double ref, const char *ref_label,
               double axis_max);

/* Helpers the REPL and tests can share. */
/* Display columns of s[0..n), skipping ANSI escape sequences (CSI … final byte). */
int viz_display_width(const char *s, size_t n);
/* Bytes of the escape sequence starting at s[0] == ESC (at most n). */
size_t viz_escape_len(const char *s, size_t n);
/* Appends label escaped as described at the top of this file (NULL → ""). */
void viz_label_escape(StrBuf *out, const char *label);
/* The same for titles and prose: control characters escaped, spaces kept. */
void viz_text_escape(StrBuf *out, const char *text);

/* ---- PNG export -------------------------------------------------------------
 * stb_image_write + stb_truetype with /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
 * (viz_png_font changes it). Size w×h, 1600×1000 when both are 0 (one 0 → the
 * other scaled 16:10); 64..8192 each. The file is written to "PATH.tmp" then
 * renamed over PATH. Without the font the image is still written, without text.
 * Heatmaps use viz_colormap (viridis: dark = low, bright = high); masked cells are
 * VIZ_MASK_RGB with a light hatch that never touches a cell's centre pixel. */
int viz_png_heatmap(const char *path, int w, int h, const char *title, const float *data, int rows, int cols,
                    const char *const *row_labels, const char *const *col_labels, int mask_upper, GrErr *e);
int viz_png_heatmap_multi(const char *path, int w, int h, const char *title, const float *const *datas,
                          const char *const *subtitles, int n, int rows, int cols, const char *const *row_labels,
                          const char *const *col_labels, int mask_upper, GrErr *e);
int viz_png_hist(const char *path, int w, int h, const char *title, const float *data, size_t n, int bins,
                 GrErr *e);
int viz_png_bars(const char *path, int w, int h, const char *title, const char *const *labels,
                 const float *values, int n, GrErr *e);
/* y[0..n) against 0..n-1; ref_line (NAN = none) is drawn dashed and labelled. */
int viz_png_line(const char *path, int w, int h, const char *title, const char *xlabel, const char *ylabel,
                 const float *y, int n, double ref_line, GrErr *e);

/* Where viz_png_heatmap puts the cells: cell (r, c) covers pixels
 * x in [x0 + c*cw, x0 + (c+1)*cw), y in [y0 + r*ch, y0 + (r+1)*ch); its centre pixel
 * is (int)(x0 + (c+0.5)*cw), (int)(y0 + (r+0.5)*ch). Same arguments as viz_png_heatmap. */
typedef struct {
    int w, h;        /* image size actually used */
    double x0, y0;   /* top-left corner of the matrix */
    double cw, ch;   /* cell size in pixels */
} VizPngGrid;
int viz_png_heatmap_grid(int w, int h, const char *title, int rows, int cols, const char *const *row_labels,
                         const char *const *col_labels, VizPngGrid *g, GrErr *e);

/* The TTF used for PNG text; NULL restores the default. Not thread-safe. */
void viz_png_font(const char *ttf_path);

/* Colour map (viridis), t clamped to [0,1]; and the mask colour (not on the map). */
void viz_colormap(double t01, unsigned char rgb[3]);
extern const unsigned char VIZ_MASK_RGB[3];

#endif
