/* field.h — a named value with a kind, a range or choices, a default and one line of help.
 *
 * One description serves everything that names a value: the model's config keys
 * (`new tiny layers=2`), the trainer's options, the REPL's settings and every command's
 * arguments. Parsing, range checks, help text, completion and error messages are all
 * generated from these rows, so they cannot disagree (DESIGN.md, "one table per fact").
 * Every error has one wording:
 *
 *   NAME must be between LO and HI, not GOT
 *   NAME must be a whole number, not 'GOT'
 *   NAME must be one of a, b, c, not 'GOT' (did you mean 'b'?)
 */
#ifndef GR_FIELD_H
#define GR_FIELD_H

#include <stddef.h>
#include "common.h"

typedef enum {
    FK_INT,      /* whole number in [lo, hi]; words in `choices` are accepted too ("all") */
    FK_FLOAT,    /* number in [lo, hi] */
    FK_CHOICE,   /* one of `choices` ("pre|post"): the value is its index */
    FK_FLAG,     /* an option without a value */
    FK_LIST,     /* comma-separated numbers, each in [lo, hi], at most FIELD_LIST_MAX */
    FK_STR,      /* one word */
    FK_TEXT,     /* a quoted string, or else the rest of the line */
    FK_REST,     /* the rest of the line exactly as typed (expressions) */
    FK_PATH_IN,  /* a file to read; words in `choices` are accepted instead ("copy") */
    FK_PATH_OUT, /* a file to write */
    FK_NAME,     /* a tensor name, with an optional [slice] */
    FK_SIZE,     /* WxH in pixels, each in [lo, hi] */
    FK_KV,       /* key=value words; the keys are the rows of `kv` */
    FK_RANGE,    /* A:B, a half-open window of whole numbers in [lo, hi]; A or B may be left out */
} FieldKind;

/* Where a field's value is stored by field_store (offset into the caller's struct). */
typedef enum { FS_NONE, FS_INT, FS_FLOAT, FS_DOUBLE, FS_LONG } FieldStore;

/* Ranges that depend on the live model: filled in by the caller before parsing. */
typedef enum { DYN_NONE, DYN_LAYER, DYN_HEAD, DYN_POS } FieldDyn;

/* What Tab offers for a field's value. */
typedef enum {
    COMP_NONE, COMP_CHOICES, COMP_TENSOR, COMP_PARAM, COMP_LESSON, COMP_FILE, COMP_EXPR, COMP_KEYS,
    COMP_COMMAND, COMP_STAGE
} FieldComp;

enum {
    FF_OPTIONAL = 1, /* a positional argument that may be left out */
    FF_LO_OPEN = 2,  /* lo itself is not allowed (top_p > 0) */
    FF_REPEAT = 4,   /* a positional argument that takes every remaining word (FK_KV) */
};

#define FIELD_LIST_MAX 16

typedef struct FieldDef {
    const char *name;      /* "layers", "--temp" is written "temp" */
    FieldKind kind;
    double lo, hi;
    const char *choices;   /* "pre|post"; for FK_INT / FK_PATH_IN: words allowed besides */
    const char *def;       /* the default, as help shows it; NULL: none */
    const char *help;      /* one line */
    int flags;             /* FF_* */
    FieldStore store;
    size_t off;
    FieldDyn dyn;
    FieldComp comp;
    const char *meta;      /* placeholder in usage lines: "N", "TEXT"; NULL: the name upper-cased */
    const struct FieldDef *(*kv)(void); /* FK_KV: the keys (rows ending with a NULL name) */
    const char *(*choices_fn)(void);    /* choices computed from another table (presets, tasks) */
} FieldDef;

/* f->choices, or what f->choices_fn gives. */
const char *field_choices(const FieldDef *f);

/* A parsed value. Strings point into the text given to field_parse. */
typedef struct {
    int given;
    long i;                /* FK_INT; FK_CHOICE: the index */
    double d;              /* FK_FLOAT (also set for FK_INT) */
    int choice;            /* index of a word from `choices`, or -1 */
    const char *s;         /* the text as typed (every kind) */
    double list[FIELD_LIST_MAX];
    int n;                 /* FK_LIST: how many */
    int w, h;              /* FK_SIZE; FK_RANGE: start and end (-1: left out) */
} FieldVal;

/* Parses text for f. `label` names it in errors ("generate: --temp"; NULL: f->name).
 * The range is [lo, hi] of f unless overridden (dyn ranges): pass NAN to use f's. */
int field_parse(const FieldDef *f, const char *label, const char *text, double lo, double hi, FieldVal *v,
                GrErr *e);
/* Stores v into obj at f->off as f->store says (no-op for FS_NONE). */
void field_store(const FieldDef *f, const FieldVal *v, void *obj);
/* The value stored in obj, as text a user could type back ("post", "12", "0.001"). */
void field_format(const FieldDef *f, const void *obj, StrBuf *out);
/* "whole number 1..4096", "pre or post", "number above 0, at most 1": for help lines. */
void field_describe(const FieldDef *f, StrBuf *out);
/* The i-th word of f->choices into buf; returns 0, or -1 past the end. */
int field_choice(const FieldDef *f, int i, char *buf, size_t n);
int field_nchoices(const FieldDef *f);
/* Index of word in choices, or -1. */
int field_choice_index(const FieldDef *f, const char *word);
/* Row named `name` in a NULL-terminated table, or NULL. */
const FieldDef *field_find(const FieldDef *table, const char *name);

/* "WHO NAME must be between LO and HI, not GOT" — the one wording for every range. */
int gr_fail_range(GrErr *e, const char *who, const char *name, const char *got, double lo, double hi, int lo_open);

/* The candidate closest to word by edit distance (a transposition counts 1; one being a
 * prefix of the other, both at least 3 long, counts 1), if close enough to be a likely
 * typo; else NULL. */
const char *gr_suggest(const char *word, const char *const *cands, int n);
/* The same over a '|'-separated word list or a FieldDef table. buf receives the word. */
const char *gr_suggest_words(const char *word, const char *words, char *buf, size_t n);
const char *gr_suggest_fields(const char *word, const FieldDef *table);

#endif
