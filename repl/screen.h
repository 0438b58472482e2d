/* screen.h — the terminal as the TUI draws on it: what it can show (colours, UTF-8),
 * styles, and cells of text (htop's CRT role, below the panes). Only the TUI's files
 * include it; they are the only ones that call curses. */
#ifndef GR_SCREEN_H
#define GR_SCREEN_H

#include <stdint.h>

enum { AT_BOLD = 1, AT_DIM = 2, AT_ITALIC = 4, AT_UNDER = 8, AT_REV = 16 };
#define COL_DEF 0u
#define COL_IDX(i) (0x01000000u | (uint32_t)(i))
#define COL_RGB(r, g, b) (0x02000000u | ((uint32_t)(r) << 16) | ((uint32_t)(g) << 8) | (uint32_t)(b))

typedef struct {
    uint32_t fg, bg; /* COL_DEF, COL_IDX(n) or COL_RGB(r,g,b) */
    uint8_t attr;
} Style;

typedef struct {
    int has_colors, ncolors, direct, defcolors, utf8;
    int mono;        /* draw without colour (no colours, or the session's color none) */
    int light;       /* the projector theme: dark text on white wherever a style says "default" */
} Screen;

/* Reads what the started curses terminal can do. */
void screen_init(Screen *sc);

typedef enum { ST_PLAIN, ST_BOLD, ST_ERR, ST_HEAD, ST_CYAN, ST_DIM, ST_TITLE, ST_HINT } StyleKind;
Style screen_style(const Screen *sc, StyleKind k);

void screen_cell(const Screen *sc, int y, int x, uint32_t cp, uint32_t comb, Style st);
void screen_fill(const Screen *sc, int y, int x, int w, Style st);
/* UTF-8 text at (y, x), at most maxw columns; returns the columns used. */
int screen_text(const Screen *sc, int y, int x, int maxw, const char *s, Style st);

/* Display columns of a code point, of a UTF-8 string. */
int cp_cols(uint32_t cp);
int text_cols(const char *s);

#endif
