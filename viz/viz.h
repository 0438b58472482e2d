/* viz.h — pictures for gptrepl: one description per kind of picture (heatmap, grid of
 * heatmaps, histogram, bars, line), built once by a command and drawn by the terminal
 * renderer (viz_term.c) and by one chart layout (viz_charts.c) onto a PNG or an SVG
 * surface (viz_surface.c). So `attn` and `export attn` cannot drift, nor PNG and SVG.
 *
 * Independent of the model: descriptions hold plain float arrays and UTF-8 labels.
 * Renderers append to a StrBuf or write a file atomically (temp + rename); they never
 * print and never exit; failures are one line in the GrErr.
 *
 * Labels (token strings) are shown escaped so they can never break a layout: a space is
 * '␣', '\n' is '⏎', '\t' is '⇥', other control characters their Unicode control
 * pictures, C1 controls / bidi overrides / invalid UTF-8 '�'; they are truncated with '…'
 * and aligned by display width (wide 字 and combining Việt never misalign). */
#ifndef GR_VIZ_H
#define GR_VIZ_H

#include <stddef.h>

#include "common.h"

/* ---- colour modes ------------------------------------------------------------ */

typedef enum { VIZ_COLOR_NONE, VIZ_COLOR_16, VIZ_COLOR_256, VIZ_COLOR_TRUE } VizColor;

/* From the environment: NO_COLOR set (non-empty) → NONE; not a tty → NONE; TERM=dumb →
 * NONE; COLORTERM truecolor/24bit → TRUE; TERM containing 256color → 256; else 16. */
VizColor viz_color_detect(int stdout_is_tty);
/* "none" ("off", "no"), "16", "256", "truecolor" ("24bit", "truecolour"), any case. */
int viz_color_parse(const char *s, VizColor *out, GrErr *e);
const char *viz_color_name(VizColor c);

typedef struct {
    VizColor color;
    int width;     /* terminal columns; renderers clip to it; <= 0 means 80 */
    int cell_w;    /* widest terminal heatmap cells in columns (narrower when they do not fit); 0: 2 */
    int height;    /* terminal rows, for choosing windows and pooling; <= 0 means 24 */
} VizOpts;

/* ---- colour maps and scales --------------------------------------------------- */

/* Sequential: viridis (dark = low, bright = high), t clamped to [0, 1], NaN → 0. */
void viz_cmap_seq(double t, unsigned char rgb[3]);
/* Diverging, colour-blind safe (ColorBrewer RdBu): 0 blue, 0.5 near white, 1 red. */
void viz_cmap_div(double t, unsigned char rgb[3]);
extern const unsigned char VIZ_MASK_RGB[3]; /* masked cells (on neither map) */

typedef enum { VIZ_MAP_SEQ, VIZ_MAP_DIV } VizMap;
/* How the range is chosen. DEFAULT: by the kind of data (VizData). */
typedef enum { VIZ_SCALE_DEFAULT, VIZ_SCALE_FIXED, VIZ_SCALE_AUTO, VIZ_SCALE_ROW, VIZ_SCALE_LOG } VizScaleMode;
/* What the numbers are (from the trace table): probabilities and attention patterns
 * compare on a fixed 0–1 scale; signed values centre on 0; ANY: by the data's sign. */
typedef enum { VIZ_DATA_PROB, VIZ_DATA_SIGNED, VIZ_DATA_ANY } VizData;
/* The scale choices as `--scale` names them. */
const char *viz_scale_choices(void); /* "fixed|auto|row|log" (index + 1 = VizScaleMode) */

typedef struct {
    VizMap map;
    VizScaleMode mode; /* resolved: FIXED, AUTO, ROW or LOG */
    double lo, hi;     /* SEQ: lo..hi → 0..1; DIV: lo = -hi, 0 in the middle */
    double clip;       /* DIV with --clip: the percentile of |x| hi came from (0: none) */
} VizScale;

/* Where x falls on the scale: t in [0, 1]; row_lo/row_hi: the row's range (ROW mode). */
double viz_scale_t(const VizScale *s, double x, double row_lo, double row_hi);
/* "fixed 0–1, viridis", "diverging ±0.52 (RdBu)", "each row scaled to its own max". */
void viz_scale_describe(const VizScale *s, StrBuf *out);

/* ---- picture descriptions ---------------------------------------------------- */

/* A 2-D map: rows × cols cells of `data` (row-major, `stride` floats per row). Cells
 * with col > row (in absolute positions, with the offsets) are masked when `causal`;
 * NaN and -inf are masked too. */
typedef struct {
    const float *data;
    int rows, cols;
    size_t stride;                /* 0: cols */
    int causal;
    int row_offset, col_offset;   /* absolute index of row 0 / col 0 (a window's start) */
    const char *const *row_labels; /* rows entries, or NULL: indices */
    const char *const *col_labels; /* cols entries, or NULL */
    int label_index;              /* row labels also show their absolute index ("t  3") */
    VizScale scale;
    const char *title, *subtitle;
    const char *row_title, *col_title; /* "query", "key" */
    const char *note;             /* what is shown: "keys 40–63 of 108 (the most recent)" */
    const char *const *cell_text; /* rows × cols (stride cols) words written in the cells, the
                                     colour still the value (the logit lens: top token, its
                                     probability); NULL: numbers where they fit */
} VizHeatmap;

/* Several maps on one shared scale: a layers × heads overview, the heads of a layer. */
typedef struct {
    const VizHeatmap *maps;       /* n maps; their own scale and titles are not used */
    int n, ncols;                 /* ncols maps per grid row */
    const char *const *names;     /* per map: "head 2", "L3 h1" */
    VizScale scale;
    const char *title, *subtitle, *note;
    int thumbnails;               /* small maps: no token labels */
} VizGrid;

typedef struct {
    const float *data;
    size_t n;
    int bins;                     /* 1..200 */
    const char *title, *subtitle, *xtitle;
} VizHist;

/* Bars for n labels in nseries series (side by side: one panel or column per series,
 * every series in the same label order). values[s * n + i]. */
typedef struct {
    const char *const *labels;
    int n;
    const float *values;
    int nseries;
    const char *const *series;    /* series names ("τ = 0.5" / "temp 0.5"), or NULL */
    int prob;                     /* probabilities: a 0..1 axis */
    const char *title, *subtitle;
} VizBars;

/* Curves y(x); a dashed reference line at `ref` (NAN: none) labelled ref_label. */
typedef struct {
    int nseries;
    const float *const *x, *const *y;
    const int *n;
    const char *const *names;
    int markers_from;             /* series from this index on are drawn with markers */
    double ref;
    const char *ref_label;
    const char *title, *subtitle, *xtitle, *ytitle;
} VizLine;

/* Picks h->scale (and a grid's) for data of this kind: PROB → sequential, fixed 0–1
 * (auto/row/log when asked); SIGNED → diverging ±max|x| (±the clip-th percentile of
 * |x| when clip > 0); ANY → diverging when any value is negative, else sequential auto. */
void viz_heatmap_pick_scale(VizHeatmap *h, VizData kind, VizScaleMode mode, double clip);
void viz_grid_pick_scale(VizGrid *g, VizData kind, VizScaleMode mode, double clip);
/* Is cell (r, c) masked? */
int viz_heatmap_masked(const VizHeatmap *h, int r, int c, float *v);

/* The colour of t (from viz_scale_t) on the scale's map. */
void viz_scale_rgb(const VizScale *s, double t, unsigned char rgb[3]);
/* Every row's min and max over its unmasked finite cells (for ROW scales): 2*rows doubles. */
double *viz_heatmap_row_ranges(const VizHeatmap *h);

/* A map larger than the room for it, pooled: each cell shows the value of largest
 * magnitude in its block of the original (masked cells left out; a block with nothing
 * else stays masked), so a single strong weight is never averaged away. Pooled axes are
 * labelled "a–b"; the note says the rule. Small enough maps come back as a copy. */
typedef struct {
    VizHeatmap h;          /* the map to draw; its data, labels and note are owned here */
    float *data;
    char **rl, **cl, *note_buf;
    int rblock, cblock;    /* block size (1: not pooled) */
} VizPooled;
int viz_heatmap_pool(const VizHeatmap *in, int max_rows, int max_cols, VizPooled *out, GrErr *e);
void viz_pooled_free(VizPooled *p);

/* ---- terminal renderers -------------------------------------------------------- */

/* One row per line; keys labelled by their tokens (a label line for one-character
 * pieces, vertical labels for short ones, index ticks and a legend for long ones); a
 * colour bar line with the scale; masked, exactly-zero and non-zero cells never look
 * alike (their own glyph and colour in every mode). Columns beyond the width are cut
 * with a note (choose a window with the command's --cols). */
int viz_term_heatmap(StrBuf *out, const VizOpts *o, const VizHeatmap *h, GrErr *e);
/* How many key columns fit beside h's row labels, one column each (for choosing a window). */
int viz_term_heatmap_fit(const VizOpts *o, const VizHeatmap *h);
int viz_term_grid(StrBuf *out, const VizOpts *o, const VizGrid *g, GrErr *e);
/* "[lo, hi) count bar" per bin (the last bin closed), then n/mean/std/min/max. */
int viz_term_hist(StrBuf *out, const VizOpts *o, const VizHist *h, GrErr *e);
/* "label bar value" per label, one bar column per series, with and without colour. */
int viz_term_bars(StrBuf *out, const VizOpts *o, const VizBars *b, GrErr *e);
/* One line that never wraps: a sparkline, then "min … max … last …". */
void viz_sparkline(StrBuf *out, const VizOpts *o, const float *values, int n);
/* One line: "label value [axis with a marker at ref] ref_label ref". */
void viz_gauge(StrBuf *out, const VizOpts *o, const char *label, double value, double ref, const char *ref_label,
               double axis_max);

/* ---- files: PNG and SVG ---------------------------------------------------------
 * By the path's extension (.png or .svg; anything else is refused). Size w×h, default
 * 1920×1080 (both 0; one 0: the other at 16:9), each 64..8192. Written to a temporary
 * beside PATH and renamed over it: a failure leaves nothing behind. Text in DejaVu Sans
 * (viz_font_set changes it): at the default size titles are 36 px, subtitles and axis
 * titles 24 px, token labels 16 px; where tokens do not fit at 16 px every k-th is
 * labelled, and the picture says so. In SVG every label is a <text>; above
 * VIZ_SVG_MAX_RECTS cells the cell field is one embedded PNG <image>. */
#define VIZ_SVG_MAX_RECTS 4096
int viz_file_heatmap(const char *path, int w, int h, const VizHeatmap *m, GrErr *e);
int viz_file_grid(const char *path, int w, int h, const VizGrid *g, GrErr *e);
int viz_file_hist(const char *path, int w, int h, const VizHist *hs, GrErr *e);
int viz_file_bars(const char *path, int w, int h, const VizBars *b, GrErr *e);
int viz_file_line(const char *path, int w, int h, const VizLine *l, GrErr *e);
/* Is this a path the file renderers take (.png, .svg)? -1 with why if not. */
int viz_file_kind(const char *path, GrErr *e);

/* Where viz_file_heatmap puts things (for tests): cell (r, c) covers x in
 * [x0 + c*cw, x0 + (c+1)*cw), y in [y0 + r*ch, ...); the colour bar is
 * [bar_x0, bar_x1) × [bar_y0, bar_y1); label_px the token label size used. */
typedef struct {
    int w, h;
    double x0, y0, cw, ch;
    double bar_x0, bar_x1, bar_y0, bar_y1;
    double label_px, title_px, axis_px;
    int label_every;              /* every k-th token labelled */
} VizGeom;
int viz_file_heatmap_geom(int w, int h, const VizHeatmap *m, VizGeom *g, GrErr *e);

/* The TTF for file text; NULL restores the default. */
void viz_font_set(const char *ttf_path);
/* Pixel height of the ink of text s at px, as the file renderers draw it (for tests). */
int viz_font_ink_height(const char *s, double px);

/* ---- helpers shared with the REPL and the tests ---------------------------------- */

/* Display columns of s[0..n), skipping ANSI escape sequences (CSI … final byte). */
int viz_display_width(const char *s, size_t n);
/* Bytes of the escape sequence starting at s[0] == ESC (at most n). */
size_t viz_escape_len(const char *s, size_t n);
/* Appends label escaped as described at the top of this file (NULL → ""). */
void viz_label_escape(StrBuf *out, const char *label);
/* The same for titles and prose: control characters escaped, spaces kept. */
void viz_text_escape(StrBuf *out, const char *text);
/* "%.4g" the one way every picture and table writes a number ("-0" → "0", inf, nan). */
void viz_num(char *buf, size_t n, double v);

/* What both histogram renderers draw: statistics over the finite values and counts per
 * bin over [lo, hi] (the min..max range, widened by 0.5 when it is empty). */
typedef struct {
    size_t n, nan, pinf, ninf;  /* finite values binned; values left out */
    double mean, std, min, max; /* over the finite values; 0 when there are none */
    double lo, hi;
    int bins;
    size_t *count, cmax;
} VizHistData;
int viz_hist_data(VizHistData *h, const float *data, size_t n, int bins, const char *who, GrErr *e);
void viz_hist_data_free(VizHistData *h);

#endif
