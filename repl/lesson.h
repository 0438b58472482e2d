/* lesson.h — the lesson format, parsed apart from running it (so it can be fuzzed).
 *
 *   # Title            first line
 *   prose              shown
 *   > command          runs
 *   ? expr             a check: the lesson fails when false
 *   ! command          must fail (teaches an error message)
 *   // note            for authors, not shown
 *   (blank line)       ends a paragraph: interactive mode pauses */
#ifndef GR_LESSON_H
#define GR_LESSON_H

#include <stddef.h>
#include "common.h"

enum { LI_PROSE, LI_CMD, LI_CHECK, LI_FAIL, LI_BREAK, LI_NOTE, LI_TITLE };

typedef struct {
    int kind;
    int line;      /* 1-based line in the file */
    char *text;    /* the prose, command or expression (marker stripped) */
} LessonItem;

typedef struct {
    LessonItem *items;
    int n;
    char *title;
} Lesson;

/* Parses lesson text; malformed lines (a marker with nothing after it, a NUL byte, an
 * over-long line) are errors naming the line. */
int lesson_parse(const char *text, size_t len, Lesson *out, GrErr *e);
void lesson_free(Lesson *l);
/* NAME, LANG/NAME (under $GPTREPL_LESSONS, default lessons/) or a path → path; -1 if none. */
int lesson_find(const char *name, char *path, size_t n);

#endif
