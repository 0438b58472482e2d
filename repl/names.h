/* names.h — the REPL's name space: what a name means in show, hist, heatmap, dump, eval,
 * check and ablate.
 *
 *   trace names   the last run's tensors (core/trace.c's table): embed, L0.pattern, ...
 *   parameters    the model's weights (core/model.c's table): wte, L0.attn.qkv.w, ...
 *   scalars       this file's table: V, T, loss, val_loss, ...
 *
 * Any of them takes a slice: NAME[h=2], NAME[3,:8]. `help names` and completion list
 * them from the same tables. */
#ifndef GR_NAMES_H
#define GR_NAMES_H

#include "expr.h"
#include "session.h"

/* A name (no slice) → a host view valid until the next lookup; the ExprLookup of eval. */
int names_lookup(void *session, const char *name, TensorView *out, GrErr *e);
/* What eval and check give an expression: these names and the model's tokenizer. */
ExprHost names_host(Session *s);
/* NAME or NAME[slice] → view. */
int names_view(Session *s, const char *spec, TensorView *out, GrErr *e);
/* A host view of a trace entry (batch row 0), downloading it from a device. */
int names_trace_view(Session *s, const TraceEntry *t, TensorView *out, GrErr *e);

enum { NAMES_TRACE = 1, NAMES_PARAMS = 2, NAMES_SCALARS = 4, NAMES_STAGES = 8 };
/* Calls fn for every name of these kinds (trace names: the last run's, or the config's
 * when nothing has run). */
void names_each(Session *s, unsigned what, void (*fn)(void *ctx, const char *name), void *ctx);
/* Could word begin a name already (a parameter, trace tensor, scalar, grad, last)? Run
 * names may not. */
int names_reserved(Session *s, const char *word);
/* The closest known name to a mistyped one, or NULL. */
const char *names_suggest(Session *s, const char *name, char *buf, size_t n);

/* `help names`: the grammar of names and the scalar table. */
void names_help(StrBuf *out);
/* `explain NAME`: meaning, shape, equation, the stage that writes it (trace names), or
 * what a parameter, stage or scalar is. -1 if the name means nothing. */
int names_explain(Session *s, const char *name, StrBuf *out, GrErr *e);

#endif
