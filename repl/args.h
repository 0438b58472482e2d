/* args.h — the one parser of every command's arguments, from the command table.
 *
 *   generate 30 "The " --temp 0.8 --top-k=40 --greedy
 *
 * Options are --name VALUE or --name=VALUE (flags take no value); positional arguments
 * fill the command's `pos` rows in order, optional ones only when there are words to
 * spare. A TEXT argument is one "quoted" word or, unquoted, the words up to the next
 * option of the command; an EXPR takes the rest of the line as typed. Unknown options are
 * errors with a did-you-mean; values are checked against their row's kind and range in
 * field.h's one wording. Paths go through paths.c (lessons may not leave their folders). */
#ifndef GR_ARGS_H
#define GR_ARGS_H

#include "session.h"

#define ARGS_MAX 24
#define ARGS_KV_MAX 64

typedef struct Args {
    const Command *cmd;        /* the command, or the subcommand chosen */
    const Command *parent;     /* for a subcommand: its command */
    FieldVal pos[ARGS_MAX];    /* one per cmd->pos row */
    FieldVal opt[ARGS_MAX];    /* one per option row (cmd->opts, then more_opts) */
    const char *kv[ARGS_KV_MAX]; /* FK_KV words ("key=value"), in order */
    int nkv;
    char *store[ARGS_MAX * 2 + ARGS_KV_MAX]; /* owned copies the values point into */
    int nstore;
} Args;

/* Parses `rest` (the line after the command name) for c. On error: -1 with one line
 * naming the argument and what it takes; nothing of the session changes. */
int args_parse(Session *s, const Command *c, const char *rest, Args *a, GrErr *e);
void args_free(Args *a);
/* The parsed value of the row called `name` (positional or option). Asking for a name
 * the command does not declare is a programming error: it aborts (tests walk every row). */
const FieldVal *arg(const Args *a, const char *name);
/* Shorthands: given?, the value as int / double / string, or the default passed. */
int arg_given(const Args *a, const char *name);
long arg_int(const Args *a, const char *name, long dflt);
double arg_num(const Args *a, const char *name, double dflt);
const char *arg_str(const Args *a, const char *name, const char *dflt);

/* The option rows of c (its own, then more_opts), into out; returns how many. */
int args_options(const Command *c, const FieldDef **out, int max);
/* "generate N [PROMPT] [--temp X] ...": the usage line, generated from the rows. */
void args_usage(const Command *c, StrBuf *out);
/* The whole of `help CMD`: usage, summary, every argument with its kind, range, default
 * (parent: the command of a subcommand, or NULL). */
void args_help(const Command *c, const Command *parent, StrBuf *out);
/* The placeholder a row shows in usage lines ("N", "FILE", "[HEAD|all]" without brackets). */
void args_meta(const FieldDef *f, StrBuf *out);

#endif
