/* runs.h — named runs and weight snapshots (runs.c).
 *
 * `run --as clean "…"` keeps that run's whole trace; its tensors are names of their own,
 * RUN.TENSOR (clean.L0.pattern, clean.logits, clean.loss), in every command that takes a
 * name. A run's name is lowercase letters, digits and _, starts with a letter, and may not
 * be anything a name can already begin with (a parameter, a trace tensor, a scalar, grad,
 * last): so RUN.TENSOR never means two things. Runs belong to the model they ran on:
 * `new`, `load` and `device` drop them (saying so); training keeps them, so a run from
 * before training can be compared with one after. */
#ifndef GR_RUNS_H
#define GR_RUNS_H

#include "session.h"

/* The bytes all kept runs and snapshots may take (half the machine's memory, at most 8 GB). */
size_t runs_budget(void);
size_t runs_bytes(const Session *s);
/* Is this a name a run may take? -1 with why. */
int runs_name_ok(const Session *s, const char *name, GrErr *e);
/* Keeps a copy of a (the last run) under name, replacing a run of that name. */
int runs_keep(Session *s, const char *name, const Acts *a, const char *text, GrErr *e);
/* The run called name ("last": the unnamed last run), or NULL with why. */
const Acts *runs_get(Session *s, const char *name, GrErr *e);
/* "clean.L0.pattern" → the run and the rest ("L0.pattern"); NULL when the prefix is no run. */
const Acts *runs_split(const Session *s, const char *name, const char **rest);
int runs_drop(Session *s, const char *name, GrErr *e);
/* Drops every run (the model they ran on is going); how many there were. */
int runs_clear(Session *s);
void runs_list(Session *s, StrBuf *out);
/* Calls fn for "NAME." of every run (completion). */
void runs_each(const Session *s, void (*fn)(void *ctx, const char *name), void *ctx);

/* Weight snapshots: copies of every parameter, restored bit for bit. */
int snap_take(Session *s, const char *name, GrErr *e);
int snap_restore(Session *s, const char *name, GrErr *e);
void snap_clear(Session *s);

#endif
