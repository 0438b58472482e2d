/* expr.h — the expression language of `eval` and `check` (and lesson `? expr` lines).
 *
 *   eval mean(L0.ln1[3])
 *   check abs(loss - ln(V)) < 0.15
 *   check allclose(rowsum(L0.pattern), 1, 1e-5)
 *
 * Grammar, lowest precedence first:
 *   or:      and (('||' | 'or') and)*
 *   and:     not (('&&' | 'and') not)*
 *   not:     ('not' | '!') not | cmp
 *   cmp:     sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?     (no chaining)
 *   sum:     prod (('+' | '-') prod)*
 *   prod:    unary (('*' | '/') unary)*
 *   unary:   ('-' | '+') unary | power
 *   power:   postfix (('^' | '**') unary)?                         (right assoc: 2^3^2 = 2^9)
 *   postfix: primary ('[' slice ']')*                              (slice syntax: tv_slice)
 *   primary: number | pi | inf | nan | true | false | '(' or ')' | func '(' args ')' | name
 * Names are [A-Za-z_][A-Za-z0-9_.]* ("L0.attn.qkv.w"); a name followed by '(' is a function.
 *
 * All arithmetic is in double; tensor results are stored as float, scalars stay double.
 * Scalars broadcast against tensors; tensors combine under numpy broadcasting (equal
 * shapes, a (C,) row against a (T, C) matrix, size-1 dims). Comparisons and and/or/not
 * give 0/1, elementwise on tensors; NaN counts as false. Reductions propagate NaN.
 *
 * a @ b is the matrix product (numpy's matmul for 1-D and 2-D operands), at the
 * precedence of * and /. Strings ("to", '\n' escapes) are values for the token
 * functions and compare with == and !=; nothing else takes them.
 *
 * Functions: expr_fns.c's table, which `help eval` prints (mean std var min max sum numel
 * maxabs any all; abs exp ln log sqrt tanh; rowsum rowmax rowmean argmax softmax entropy
 * norm; allclose; transpose topk; id decode logit prob).
 */
#ifndef GR_EXPR_H
#define GR_EXPR_H

#include "common.h"
#include "tensor.h"

#define EXPR_MAX_LEN 4096   /* longest accepted source text, in bytes */
#define EXPR_MAX_DEPTH 200  /* deepest accepted nesting (parentheses, unary chains) */

/* Resolves a name (e.g. "L0.pattern", "wte", "loss", "V", "T") to a tensor view (host
 * memory, valid during the evaluation). Scalars are returned as 0-dim views.
 * Returns 0, or -1 with e set ("unknown tensor 'L9.q' (the model has 2 layers)"). */
typedef int (*ExprLookup)(void *ctx, const char *name, TensorView *out, GrErr *e);

/* What an expression may ask of the program around it: names, and the tokenizer for
 * id("piece"), decode(ids), logit("piece"), prob("piece"). Hooks may be NULL (those
 * functions then say they need a model). */
typedef struct ExprHost {
    ExprLookup lookup;
    void *ctx;
    /* the id of the one token text encodes to; -1 with why */
    int (*piece_id)(void *ctx, const char *text, GrErr *e);
    /* appends the text of ids[0..n) */
    void (*decode)(void *ctx, const int *ids, size_t n, StrBuf *out);
    int vocab; /* ids must be below it */
} ExprHost;

typedef struct {
    int ndim;
    int shape[TV_MAX_DIMS];
    char dimname[TV_MAX_DIMS];
    float *data;     /* owned, numel floats; ndim 0 → 1 float */
    double scalar;   /* when ndim == 0, the value in double */
    int is_bool;     /* from a comparison / and / or / not / allclose: shown as true/false */
    char *str;       /* a string ("piece", decode(ids)): ndim 0, scalar NaN; owned */
} ExprValue;

/* Evaluates src. Returns 0 with *out filled (free it with expr_value_free), or -1 with a
 * one-line message in e and *out empty (freeing it is harmless). Never crashes on any
 * input: length is capped at EXPR_MAX_LEN and nesting at EXPR_MAX_DEPTH. */
int expr_eval(const char *src, ExprLookup lookup, void *ctx, ExprValue *out, GrErr *e);
/* The same with the tokenizer hooks. */
int expr_eval_host(const char *src, const ExprHost *host, ExprValue *out, GrErr *e);
void expr_value_free(ExprValue *v);

/* Formats the value: a scalar with %.6g, a boolean scalar as "true"/"false"; a tensor as
 * its shape, up to 8 rows of up to 8 values (head and tail with "..."), and a line of
 * mean/std/min/max (a boolean tensor: how many are true). No trailing newline. */
void expr_format(const ExprValue *v, StrBuf *out);
/* The one number format of tables (show, eval, step): "%.4g" right-aligned in 11
 * columns; statistics "mean … std … min … max …" in "%.4g". */
void expr_put_cell(StrBuf *b, double x);
void expr_put_stats(StrBuf *out, const TvStats *s);

/* For check: true if v is a non-zero scalar or a tensor whose every element is
 * non-zero. NaN is false. */
int expr_truthy(const ExprValue *v);

/* What a check compared, for `check` and '? expr': "(0.154 < 0.3)", "(max |a - b| 2e-07
 * at [3, 5], tol 1e-05)", "(3 of 64 false; first at [0, 2]: 1.2 <= 1)". Appends nothing
 * when there is nothing to say. Evaluates parts of src again (lookup as for expr_eval). */
void expr_explain(const char *src, const ExprHost *host, StrBuf *out);

/* The function table, for `help eval` and completion: i in 0..expr_function_count()-1. */
int expr_function_count(void);
void expr_function(int i, const char **name, const char **usage, const char **help);

/* A view of the value's data (valid while v lives), e.g. to hand a result to viz/. */
TensorView expr_value_view(const ExprValue *v);

#endif
