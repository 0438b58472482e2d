/* complete.h — Tab completion and argument hints, generated from the command table.
 *
 * The TUI's line editor and the plain prompt's libedit both ask here; neither knows the
 * commands. Which candidates a word gets follows from its row in the table: choices,
 * tensor names, stage names, files, lessons, config keys, expression functions. */
#ifndef GR_COMPLETE_H
#define GR_COMPLETE_H

#include "lineedit.h"
#include "session.h"

typedef StrList Completions;

/* Candidates for the text line[start..at), where start (set here) is the beginning of the
 * word the cursor ends; sorted, unique. *space says whether a unique candidate should be
 * followed by a space (not after "key=", "dir/", "fn("). Returns the number found. */
int complete_line(Session *s, const char *line, int at, int *start, Completions *out, int *space);
void completions_free(Completions *c);
/* The arguments not typed yet, e.g. "[HEAD|all]" after "attn 0 " ("" if none). */
void complete_hint(Session *s, const char *line, StrBuf *out);
/* Installs complete_line as libedit's completion for the plain prompt. */
void complete_readline_init(Session *s);

#endif
