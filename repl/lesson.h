/* lesson.h — the lesson format, and the one stepper that runs lessons (--batch, the plain
 * prompt and the TUI all drive it).
 *
 *   # Title            first line
 *   // needs: ...      a header the runner honours (lesson --lint knows it)
 *   prose              shown
 *   > command          runs
 *   ? expr             a check: the lesson fails when false
 *   ! command          must fail (teaches an error message)
 *   // note            for authors, not shown
 *   (blank line)       ends a paragraph: interactive mode pauses */
#ifndef GR_LESSON_H
#define GR_LESSON_H

#include <limits.h>
#include <stddef.h>
#include "common.h"

struct Session;

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

/* A lesson being run: where it is, where its files go, what it has counted. */
typedef struct LessonRun {
    Lesson les;
    char path[PATH_MAX];   /* the file */
    char name[256];        /* "en/03-gelu-relu", or the file's name */
    char root[PATH_MAX];   /* the lessons root it belongs to (holds en/, vi/, data/), or "" */
    char outdir[PATH_MAX]; /* where its output paths resolve */
    int i;                 /* next item */
    int para_start, prev_para;
    int checks, failed, cmd_errors;
    int batch;             /* no pauses */
    int err_line;          /* lesson_open: the line of a parse error (0: none) */
} LessonRun;

/* Finds NAME, LANG/NAME or a path and reads it. A malformed line: -1, L->err_line set. */
int lesson_open(struct Session *s, const char *name, LessonRun *L, GrErr *e);
/* Reports a lesson_open failure as "path:line: error: ..." (and lists the lessons when
 * there is no such lesson). */
void lesson_report_open(struct Session *s, const LessonRun *L, const GrErr *e);
/* Runs items until the next paragraph break (returns 1: paused) or the end (0). Output
 * goes to s->out and s->flush; errors through s's reporting, as "file:line: error: ...". */
int lesson_step(struct Session *s, LessonRun *L);
/* The paragraph the lesson stands at (1-based; when paused, the one just shown) and how
 * many there are: the numbers `lesson NAME --at N` takes. */
int lesson_paragraph(const LessonRun *L);
int lesson_paragraphs(const LessonRun *L);
/* Runs paragraphs 1..para-1 without showing them (errors still count), so the lesson
 * goes on at paragraph `para` with the state its commands built. */
int lesson_skip_to(struct Session *s, LessonRun *L, int para, GrErr *e);
/* Where a class stopped in a lesson (saved at every pause), or 0. */
int lesson_saved_paragraph(const char *name);
/* After a pause: go on (0), or back to the previous paragraph (1). */
void lesson_resume(LessonRun *L, int back);
/* "lesson PATH: N checks, N failed, N command errors" into s->out; the status (0 = passed). */
int lesson_finish(struct Session *s, LessonRun *L);
void lesson_close(LessonRun *L);
/* `// needs: gpt2-weights | gpt2-tokenizer | slow`: 1 with why when something needed is
 * missing (the lesson is skipped, not failed), -1 for a need the runner does not know. */
int lesson_unmet_need(const Lesson *l, StrBuf *why);
/* `lesson --lint NAME|all [--time]`: parse, needs, checks that cannot fail (constant),
 * en/vi parity (the same commands and checks in the same order; prompt text may be in
 * the lesson's language), and with timed the run time in a fresh gptrepl. */
int lesson_lint(struct Session *s, const char *name, int timed, GrErr *e);
/* Runs a whole lesson: pauses at paragraph breaks unless batch (stdin a terminal). */
int lesson_run_file(struct Session *s, const char *name, int batch);
/* Every lesson, "en/01-first-look  title" lines. */
void lesson_list(StrBuf *out);
/* NAME, LANG/NAME (in the lesson roots) or a path → path, and the root it is in. */
int lesson_find(const char *name, char *path, size_t n, char *root, size_t rn);

#endif
