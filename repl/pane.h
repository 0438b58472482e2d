/* pane.h — the TUI's output pane: scrollback of styled cells, fed through a small terminal
 * emulator (UTF-8, SGR colours, \r, \t, CSI K), so the pictures' output shows as it would
 * on a plain terminal; lines wrap at words; the view scrolls back by wrapped rows. */
#ifndef GR_PANE_H
#define GR_PANE_H

#include <stddef.h>
#include "screen.h"

typedef struct {
    uint32_t cp, comb; /* code point and one combining mark (0 = none) */
    Style st;
    uint8_t w;         /* display columns: 1 or 2 */
} Cell;

typedef struct {
    Cell *c;
    int n, cap;
    int rows, rows_w; /* wrapped row count, valid while rows_w == the width */
} Line;

typedef struct {
    int li, a, b;
} RowRef;

typedef struct {
    Line *l;
    int n, cap;      /* n >= 1; l[n-1] is the line being written */
    int cur;         /* write position (cell index) in the last line */
    Style st;        /* current SGR state */
    int ps;          /* parser state */
    char pb[64];     /* pending UTF-8 bytes or CSI parameters */
    int pn, need;
    long scroll;     /* wrapped rows above the bottom */
    int w, h;        /* the area it is drawn in (for scrolling) */
    RowRef *rowbuf;  /* drawing scratch */
    int rowcap;
    int *starts;
    int startcap;
} Pane;

void pane_init(Pane *p);
void pane_free(Pane *p);
/* Forgets every line (`clear`). */
void pane_clear(Pane *p);
/* Output bytes (UTF-8 with escapes) into the pane. */
void pane_feed(Pane *p, const char *s, size_t n);
/* Text in one style (escapes in it are shown, not obeyed). */
void pane_puts_styled(Pane *p, const char *text, Style st);
void pane_newline(Pane *p);
/* Starts a fresh line unless the last one is empty. */
void pane_bol(Pane *p);
/* Scrolls by d wrapped rows (positive: back), clamped. */
void pane_scroll_by(Pane *p, long d);
/* Draws the visible rows in (y, 0)..(y+h, w). */
void pane_draw(Pane *p, const Screen *sc, int y, int w, int h);

#endif
