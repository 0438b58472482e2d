/* lineedit.h — the TUI's prompt line: a buffer of code points with a cursor, a kill
 * buffer, and the history (the same file libedit reads in --plain). Knows nothing of the
 * commands (completion is complete.c's). */
#ifndef GR_LINEEDIT_H
#define GR_LINEEDIT_H

#include <stdint.h>

typedef struct {
    char **v;
    int n, cap;
} StrList;

void sl_push(StrList *l, const char *s);
void sl_clear(StrList *l);
void sl_free(StrList *l);

typedef struct {
    uint32_t *b;
    int n, cap, cur;
    char *killbuf;
    /* history */
    StrList hist;
    int hpos, nnew;
    char *draft;           /* the line being typed while browsing history */
    char path[1024];
} LineEdit;

void ed_insert(LineEdit *e, const uint32_t *cps, int k);
void ed_insert_utf8(LineEdit *e, const char *s);
void ed_delete(LineEdit *e, int from, int to);
void ed_set(LineEdit *e, const char *s);
/* Deletes [from, to) into the kill buffer; ed_yank inserts it. */
void ed_kill(LineEdit *e, int from, int to);
void ed_yank(LineEdit *e);
int ed_word_left(const LineEdit *e, int i);
int ed_word_right(const LineEdit *e, int i);
/* The line (or its first n code points) as UTF-8; caller frees. */
char *ed_utf8(const LineEdit *e, int n);
/* Byte offset of code point index i; code point index of a byte offset. */
int ed_byte_of(const LineEdit *e, int i);
int ed_cp_of(const LineEdit *e, int byte);
void ed_free(LineEdit *e);

/* History: $XDG_STATE_HOME/gptrepl/history (else ~/.local/state/...); the old
 * ~/.gptrepl_history is read when the new one does not exist yet. */
const char *history_path(void);
void hist_load(LineEdit *e);
void hist_add(LineEdit *e, const char *line);
/* Up (-1) / down (+1); returns 0, or -1 at an end. */
int hist_move(LineEdit *e, int d);
void hist_save(LineEdit *e);

#endif
