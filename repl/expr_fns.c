/* expr_fns.c — every function of the expression language, as one table: the parser,
 * `help eval` and Tab completion read it. The evaluator itself is expr.c. */
#include "expr_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double f_abs(double x) { return fabs(x); }
static double f_exp(double x) { return exp(x); }
static double f_log(double x) { return log(x); }
static double f_sqrt(double x) { return sqrt(x); }
static double f_tanh(double x) { return tanh(x); }

/* ------------------------------------------------------------------ functions */

enum { F_MEAN, F_STD, F_VAR, F_MIN, F_MAX, F_SUM, F_NUMEL, F_MAXABS, F_ANY, F_ALL,
       F_ABS, F_EXP, F_LN, F_LOG, F_SQRT, F_TANH,
       F_ROWSUM, F_ROWMAX, F_ROWMEAN, F_ARGMAX, F_SOFTMAX, F_ENTROPY, F_NORM, F_ALLCLOSE,
       F_TRANSPOSE, F_TOPK, F_ID, F_DECODE, F_LOGIT, F_PROB };

/* Every function: the parser, `help eval` and Tab completion read this table. */
static const FnInfo k_fns[] = {
    {"mean", F_MEAN, 1, 1, "mean(x)", "mean of all elements", 0},
    {"std", F_STD, 1, 1, "std(x)", "standard deviation (population, biased)", 0},
    {"var", F_VAR, 1, 1, "var(x)", "variance (population, biased)", 0},
    {"min", F_MIN, 1, 2, "min(x) or min(a, b)", "smallest element, or elementwise minimum", 0},
    {"max", F_MAX, 1, 2, "max(x) or max(a, b)", "largest element, or elementwise maximum", 0},
    {"sum", F_SUM, 1, 1, "sum(x)", "sum of all elements", 0},
    {"numel", F_NUMEL, 1, 1, "numel(x)", "number of elements", 0},
    {"maxabs", F_MAXABS, 1, 1, "maxabs(x)", "largest absolute value", 0},
    {"any", F_ANY, 1, 1, "any(x)", "true if any element is non-zero", 0},
    {"all", F_ALL, 1, 1, "all(x)", "true if every element is non-zero", 0},
    {"abs", F_ABS, 1, 1, "abs(x)", "absolute value, elementwise", 0},
    {"exp", F_EXP, 1, 1, "exp(x)", "e^x, elementwise", 0},
    {"ln", F_LN, 1, 1, "ln(x)", "natural logarithm, elementwise", 0},
    {"log", F_LOG, 1, 1, "log(x)", "natural logarithm (the same as ln)", 0},
    {"sqrt", F_SQRT, 1, 1, "sqrt(x)", "square root, elementwise", 0},
    {"tanh", F_TANH, 1, 1, "tanh(x)", "hyperbolic tangent, elementwise", 0},
    {"rowsum", F_ROWSUM, 1, 1, "rowsum(x)", "sum over the last dimension", 0},
    {"rowmax", F_ROWMAX, 1, 1, "rowmax(x)", "maximum over the last dimension", 0},
    {"rowmean", F_ROWMEAN, 1, 1, "rowmean(x)", "mean over the last dimension", 0},
    {"argmax", F_ARGMAX, 1, 1, "argmax(x)", "index of the maximum over the last dimension", 0},
    {"softmax", F_SOFTMAX, 1, 1, "softmax(x)", "softmax over the last dimension (max-subtracted)", 0},
    {"entropy", F_ENTROPY, 1, 1, "entropy(p)", "-sum p ln p over the last dimension, in nats (0 ln 0 = 0)", 0},
    {"norm", F_NORM, 1, 1, "norm(x)", "Euclidean length over the last dimension", 0},
    {"allclose", F_ALLCLOSE, 2, 3, "allclose(a, b[, tol])", "true when max |a - b| <= tol (default 1e-5)", 0},
    {"transpose", F_TRANSPOSE, 1, 1, "transpose(x)", "swap the last two dimensions (a 1-D x is returned as it is)", 0},
    {"topk", F_TOPK, 2, 2, "topk(x, k)", "indices of the k largest over the last dimension, largest first", 0},
    {"id", F_ID, 1, 1, "id(\"piece\")", "the token id of a text that is one token", 1},
    {"decode", F_DECODE, 1, 1, "decode(ids)", "the text of a token id or of a 1-D tensor of ids", 0},
    {"logit", F_LOGIT, 1, 2, "logit(\"piece\"[, pos])", "the last run's logit of that token at pos (default -1)", 1},
    {"prob", F_PROB, 1, 2, "prob(\"piece\"[, pos])", "the last run's probability of that token at pos (default -1)", 1},
};
#define N_FNS ((int)(sizeof k_fns / sizeof k_fns[0]))

int expr_function_count(void) { return N_FNS; }
void expr_function(int i, const char **name, const char **usage, const char **help)
{
    *name = k_fns[i].name;
    *usage = k_fns[i].usage;
    *help = k_fns[i].help;
}

const FnInfo *find_fn(const char *s, int len)
{
    for (int i = 0; i < N_FNS; i++)
        if ((int)strlen(k_fns[i].name) == len && memcmp(k_fns[i].name, s, (size_t)len) == 0) return &k_fns[i];
    return NULL;
}

static NOINLINE int reduce_all(int kind, const ExprValue *a, ExprValue *out, GrErr *e)
{
    size_t n = val_numel(a);
    double r = 0;
    int isb = 0;
    switch (kind) {
    case F_NUMEL: r = (double)n; break;
    case F_SUM:
    case F_MEAN:
        for (size_t i = 0; i < n; i++) r += val_get(a, i);
        if (kind == F_MEAN) r /= (double)n;
        break;
    case F_VAR:
    case F_STD: {
        double m = 0;
        for (size_t i = 0; i < n; i++) m += val_get(a, i);
        m /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double d = val_get(a, i) - m;
            r += d * d;
        }
        r /= (double)n;
        if (kind == F_STD) r = sqrt(r);
        break;
    }
    case F_MIN:
    case F_MAX:
    case F_MAXABS:
        r = kind == F_MIN ? INFINITY : (kind == F_MAX ? -INFINITY : 0);
        for (size_t i = 0; i < n; i++) {
            double x = val_get(a, i);
            if (kind == F_MAXABS) x = fabs(x);
            if (isnan(x)) { r = NAN; break; }
            if (kind == F_MIN ? x < r : x > r) r = x;
        }
        break;
    case F_ANY:
    case F_ALL:
        isb = 1;
        r = kind == F_ALL;
        for (size_t i = 0; i < n; i++) {
            int t = truth(val_get(a, i));
            if (kind == F_ANY && t) { r = 1; break; }
            if (kind == F_ALL && !t) { r = 0; break; }
        }
        break;
    }
    return val_scalar(out, r, isb, e);
}

/* Reductions and maps over the last dimension. */
static NOINLINE int reduce_rows(int kind, const char *fname, const ExprValue *a, ExprValue *out, GrErr *e)
{
    if (a->ndim == 0) return gr_fail(e, "%s() needs a tensor, got a scalar", fname);
    int L = a->shape[a->ndim - 1];
    size_t rows = val_numel(a) / (size_t)L;
    if (kind == F_SOFTMAX) {
        if (val_alloc(out, a->ndim, a->shape, a->dimname, e) < 0) return -1;
    } else if (a->ndim == 1) {
        if (val_alloc(out, 0, NULL, NULL, e) < 0) return -1;
    } else {
        if (val_alloc(out, a->ndim - 1, a->shape, a->dimname, e) < 0) return -1;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *x = a->data + r * (size_t)L;
        double acc = 0;
        if (kind == F_ROWSUM || kind == F_ROWMEAN) {
            for (int j = 0; j < L; j++) acc += x[j];
            if (kind == F_ROWMEAN) acc /= L;
        } else if (kind == F_ROWMAX) {
            acc = -INFINITY;
            for (int j = 0; j < L; j++) {
                if (isnan(x[j])) { acc = NAN; break; }
                if (x[j] > acc) acc = x[j];
            }
        } else if (kind == F_ARGMAX) {
            int best = -1;
            for (int j = 0; j < L; j++)
                if (!isnan(x[j]) && (best < 0 || x[j] > x[best])) best = j;
            acc = best < 0 ? 0 : best;
        } else if (kind == F_ENTROPY) {
            for (int j = 0; j < L; j++)
                if (x[j] != 0) acc -= (double)x[j] * log((double)x[j]);
        } else if (kind == F_NORM) {
            for (int j = 0; j < L; j++) acc += (double)x[j] * x[j];
            acc = sqrt(acc);
        } else { /* softmax */
            double m = -INFINITY, s = 0;
            for (int j = 0; j < L; j++)
                if (x[j] > m || isnan(x[j])) m = x[j];
            float *o = out->data + r * (size_t)L;
            for (int j = 0; j < L; j++) s += exp((double)x[j] - m);
            for (int j = 0; j < L; j++) o[j] = to_f(safe_div(exp((double)x[j] - m), s));
            continue;
        }
        out->data[r] = to_f(acc);
        if (out->ndim == 0) out->scalar = acc;
    }
    return 0;
}

/* ---- linear algebra ---- */

/* (.., M, N) → (.., N, M); a 1-D value comes back as it is. */
static NOINLINE int transpose(const ExprValue *a, ExprValue *out, GrErr *e)
{
    if (a->ndim == 0) return gr_fail(e, "transpose() needs a tensor, got a scalar");
    if (a->ndim == 1) {
        if (val_alloc(out, 1, a->shape, a->dimname, e) < 0) return -1;
        memcpy(out->data, a->data, sizeof(float) * (size_t)a->shape[0]);
        return 0;
    }
    int shape[TV_MAX_DIMS];
    char names[TV_MAX_DIMS];
    for (int i = 0; i < a->ndim; i++) shape[i] = a->shape[i], names[i] = a->dimname[i];
    int nd = a->ndim, M = a->shape[nd - 2], N = a->shape[nd - 1];
    shape[nd - 2] = N, shape[nd - 1] = M;
    names[nd - 2] = a->dimname[nd - 1], names[nd - 1] = a->dimname[nd - 2];
    if (val_alloc(out, nd, shape, names, e) < 0) return -1;
    size_t mats = val_numel(a) / ((size_t)M * N);
    for (size_t b = 0; b < mats; b++) {
        const float *x = a->data + b * M * N;
        float *y = out->data + b * M * N;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) y[(size_t)j * M + i] = x[(size_t)i * N + j];
    }
    return 0;
}

/* numpy's matmul for 1-D and 2-D: (M, K) @ (K, N), (K) @ (K, N), (M, K) @ (K), (K) @ (K);
 * sums in double. */
NOINLINE int expr_matmul(const ExprValue *a, const ExprValue *b, ExprValue *out, GrErr *e)
{
    if (a->str || b->str) return gr_fail(e, "'@' takes tensors, not strings");
    if (a->ndim == 0 || b->ndim == 0) return gr_fail(e, "'@' needs tensors on both sides (use * with a scalar)");
    if (a->ndim > 2 || b->ndim > 2) {
        char s1[64], s2[64];
        shape_str(a, s1, sizeof s1), shape_str(b, s2, sizeof s2);
        return gr_fail(e, "'@' takes 1-D or 2-D operands, got %s and %s (slice a head first: x[h=0])", s1, s2);
    }
    int M = a->ndim == 2 ? a->shape[0] : 1, K = a->shape[a->ndim - 1];
    int Kb = b->shape[0], N = b->ndim == 2 ? b->shape[1] : 1;
    if (K != Kb) {
        char s1[64], s2[64];
        shape_str(a, s1, sizeof s1), shape_str(b, s2, sizeof s2);
        return gr_fail(e, "shapes %s and %s don't match for '@' (%d vs %d)", s1, s2, K, Kb);
    }
    int shape[2], nd = 0;
    char names[2];
    if (a->ndim == 2) shape[nd] = M, names[nd++] = a->dimname[0];
    if (b->ndim == 2) shape[nd] = N, names[nd++] = b->dimname[1];
    if (nd == 0) {
        double acc = 0;
        for (int k = 0; k < K; k++) acc += (double)a->data[k] * b->data[k];
        return val_scalar(out, acc, 0, e);
    }
    if (val_alloc(out, nd, shape, names, e) < 0) return -1;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) acc += (double)a->data[(size_t)i * K + k] * b->data[(size_t)k * N + j];
            out->data[(size_t)i * N + j] = to_f(acc);
        }
    return 0;
}

/* Indices of the k largest of each row (NaN never chosen; ties: the lower index). */
static NOINLINE int topk(const ExprValue *a, const ExprValue *kv, ExprValue *out, GrErr *e)
{
    if (a->ndim == 0) return gr_fail(e, "topk() needs a tensor, got a scalar");
    if (kv->ndim != 0 || kv->scalar != floor(kv->scalar) || kv->scalar < 1)
        return gr_fail(e, "topk(): k must be a whole number, 1 or more");
    int L = a->shape[a->ndim - 1];
    if (kv->scalar > L) return gr_fail(e, "topk(): k = %g but the last dimension has %d", kv->scalar, L);
    int k = (int)kv->scalar, shape[TV_MAX_DIMS];
    char names[TV_MAX_DIMS];
    for (int i = 0; i < a->ndim; i++) shape[i] = a->shape[i], names[i] = a->dimname[i];
    shape[a->ndim - 1] = k;
    names[a->ndim - 1] = 0;
    if (val_alloc(out, a->ndim, shape, names, e) < 0) return -1;
    unsigned char *taken = calloc((size_t)L, 1);
    if (!taken) { expr_value_free(out); return gr_fail(e, "out of memory"); }
    size_t rows = val_numel(a) / (size_t)L;
    for (size_t r = 0; r < rows; r++) {
        const float *x = a->data + r * (size_t)L;
        memset(taken, 0, (size_t)L);
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int c = 0; c < L; c++)
                if (!taken[c] && !isnan(x[c]) && (best < 0 || x[c] > x[best])) best = c;
            if (best < 0) { out->data[r * k + j] = NAN; continue; }
            taken[best] = 1;
            out->data[r * k + j] = (float)best;
        }
    }
    free(taken);
    return 0;
}

/* ---- tokens ---- */

static int need_tok(const FnInfo *f, const ExprHost *h, GrErr *e)
{
    if (!h || !h->piece_id || !h->decode || h->vocab <= 0)
        return gr_fail(e, "%s() needs a model and its tokenizer", f->name);
    return 0;
}

/* logits or probs of the last run at pos (negative from the end), for id. */
static int run_value(const FnInfo *f, const ExprHost *h, const char *name, int id, const ExprValue *pv, ExprValue *out,
                     GrErr *e)
{
    TensorView v;
    if (!h->lookup || h->lookup(h->ctx, name, &v, e) < 0) return -1;
    if (v.ndim != 2 || v.shape[1] != h->vocab) return gr_fail(e, "%s(): '%s' is not (T, V)", f->name, name);
    double pos = pv ? pv->scalar : -1;
    int T = v.shape[0];
    if (pv && (pv->ndim != 0 || pos != floor(pos))) return gr_fail(e, "%s(): pos must be a whole number", f->name);
    if (pos < -T || pos >= T) return gr_fail(e, "%s(): pos %g is not in 0..%d (or -%d..-1)", f->name, pos, T - 1, T);
    int p = (int)(pos < 0 ? pos + T : pos);
    TensorView row;
    char spec[48];
    snprintf(spec, sizeof spec, "%d,%d", p, id);
    if (tv_slice(&v, spec, &row, e) < 0) return -1;
    return val_scalar(out, tv_get(&row, 0), 0, e);
}

static NOINLINE int token_fn(const FnInfo *f, ExprValue *args, int nargs, const ExprHost *h, ExprValue *out, GrErr *e)
{
    if (need_tok(f, h, e)) return -1;
    if (f->kind == F_DECODE) {
        size_t n = val_numel(&args[0]);
        if (args[0].ndim > 1) return gr_fail(e, "decode() takes an id or a 1-D tensor of ids");
        int *ids = malloc(sizeof(int) * (n ? n : 1));
        if (!ids) return gr_fail(e, "out of memory");
        for (size_t i = 0; i < n; i++) {
            double x = val_get(&args[0], i);
            if (!(x >= 0 && x < h->vocab) || x != floor(x)) {
                free(ids);
                return gr_fail(e, "decode(): %g is not a token id (0..%d)", x, h->vocab - 1);
            }
            ids[i] = (int)x;
        }
        StrBuf b;
        sb_init(&b);
        h->decode(h->ctx, ids, n, &b);
        free(ids);
        int rc = val_string(out, b.s ? b.s : "", b.len, e);
        sb_free(&b);
        return rc;
    }
    int id = h->piece_id(h->ctx, args[0].str, e);
    if (id < 0) return -1;
    if (f->kind == F_ID) return val_scalar(out, id, 0, e);
    return run_value(f, h, f->kind == F_LOGIT ? "logits" : "probs", id, nargs > 1 ? &args[1] : NULL, out, e);
}

NOINLINE int call_fn(const FnInfo *f, ExprValue *args, int nargs, const ExprHost *host, ExprValue *out, GrErr *e)
{
    for (int i = 0; i < nargs; i++) {
        int may = (f->str_args >> i) & 1;
        if (args[i].str && !may) return gr_fail(e, "%s(): argument %d is a string; it takes numbers (usage: %s)", f->name, i + 1, f->usage);
        if (!args[i].str && may) return gr_fail(e, "%s(): argument %d must be a string in quotes (usage: %s)", f->name, i + 1, f->usage);
    }
    switch (f->kind) {
    case F_MIN:
    case F_MAX:
        if (nargs == 2) return binop(f->kind == F_MIN ? OP_MIN : OP_MAX, &args[0], &args[1], out, e);
        return reduce_all(f->kind, &args[0], out, e);
    case F_MEAN: case F_STD: case F_VAR: case F_SUM: case F_NUMEL: case F_MAXABS: case F_ANY: case F_ALL:
        return reduce_all(f->kind, &args[0], out, e);
    case F_ABS: return map(&args[0], f_abs, 0, out, e);
    case F_EXP: return map(&args[0], f_exp, 0, out, e);
    case F_LN:
    case F_LOG: return map(&args[0], f_log, 0, out, e);
    case F_SQRT: return map(&args[0], f_sqrt, 0, out, e);
    case F_TANH: return map(&args[0], f_tanh, 0, out, e);
    case F_ROWSUM: case F_ROWMAX: case F_ROWMEAN: case F_ARGMAX: case F_SOFTMAX: case F_ENTROPY: case F_NORM:
        return reduce_rows(f->kind, f->name, &args[0], out, e);
    case F_TRANSPOSE: return transpose(&args[0], out, e);
    case F_TOPK: return topk(&args[0], &args[1], out, e);
    case F_ID: case F_DECODE: case F_LOGIT: case F_PROB:
        return token_fn(f, args, nargs, host, out, e);
    case F_ALLCLOSE: {
        double tol = 1e-5;
        if (nargs == 3) {
            if (args[2].ndim != 0) return gr_fail(e, "allclose(): tol must be a scalar");
            tol = args[2].scalar;
        }
        ExprValue d;
        if (binop(OP_SUB, &args[0], &args[1], &d, e) < 0) return -1;
        size_t n = val_numel(&d);
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++) ok = fabs(val_get(&d, i)) <= tol;
        expr_value_free(&d);
        return val_scalar(out, ok, 1, e);
    }
    }
    return gr_fail(e, "internal error: function '%s' has no implementation", f->name);
}
