/* viz_term.h — inside viz/: the text helpers the terminal renderers share (viz_term.c:
 * histogram, bars, sparkline, gauge; viz_term_heat.c: heatmaps and grids). Lines are
 * built in a StrBuf, then clipped to the width by vt_emit (escape codes pass through). */
#ifndef GR_VIZ_TERM_H
#define GR_VIZ_TERM_H

#include "viz.h"

#define RESET "\x1b[0m"
#define BAR_MAX 64 /* longest bar in histograms and bar charts, so values stay near their bars */

int vt_width_of(const VizOpts *o);        /* o->width, or 80 */
VizColor vt_color_of(const VizOpts *o);
int vt_text_width(const char *s);         /* display columns (no escape codes) */
void vt_spaces(StrBuf *o, int n);
/* s (escaped, no escape codes) in exactly w columns, right- or left-aligned, cut with '…'. */
void vt_fit(StrBuf *o, const char *s, int w, int right);
/* line clipped to maxw columns, then '\n'; a coloured line ends with a reset, a plain one
 * loses its trailing spaces. vt_emit_sb also clears line. */
void vt_emit(StrBuf *o, const char *line, size_t len, int maxw);
void vt_emit_sb(StrBuf *o, StrBuf *line, int maxw);
void vt_title(StrBuf *o, const char *title, int maxw); /* NULL: nothing */
/* items joined by two spaces, wrapped to maxw */
void vt_items(StrBuf *o, const char *const *items, int n, int maxw);
/* text (no escape codes) wrapped at spaces to maxw columns */
void vt_wrap(StrBuf *o, const char *text, int maxw);
int vt_ndigits(long v);
int vt_rgb_to_256(const unsigned char c[3]);
int vt_key(VizColor m, const unsigned char rgb[3]);   /* TRUE: 0xRRGGBB, 256: index */
void vt_sgr(StrBuf *o, VizColor m, int key, int bg);  /* 16: key is the SGR code */
void vt_accent(StrBuf *o, VizColor m);
void vt_bar(StrBuf *o, VizColor m, double f, int w, int min_visible, int pad);

#endif
