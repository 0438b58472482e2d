/* expr_check.c — what a check compared: both sides of the outermost comparison, the worst
 * element of allclose/all, the first element that decides any/and. The source is split at
 * its outermost operator and each part evaluated again through expr_eval, so the
 * evaluator itself stays as it is. */
#include "expr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE };
static const char *const OP_TEXT[] = {"<", "<=", ">", ">=", "==", "!="};

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static int truth(double x) { return x != 0 && !isnan(x); }

static size_t val_numel(const ExprValue *v)
{
    size_t n = 1;
    for (int i = 0; i < v->ndim; i++) n *= (size_t)v->shape[i];
    return n;
}

static double val_get(const ExprValue *v, size_t i) { return v->ndim == 0 ? v->scalar : (double)v->data[i]; }

static int word_char(char c) { return is_alpha(c) || is_digit(c) || c == '.'; }

/* Position and length of the first top-level operator of this level: 0 or, 1 and,
 * 2 a comparison (cmp gets its OP_*). -1 when there is none. */
static int find_top(const char *s, int n, int level, int *len, int *cmp)
{
    int depth = 0;
    for (int i = 0; i < n; i++) {
        char c = s[i];
        if (c == '(' || c == '[') { depth++; continue; }
        if (c == ')' || c == ']') { depth--; continue; }
        if (depth) continue;
        int before_ok = i == 0 || !word_char(s[i - 1]);
        if (level == 0) {
            if (c == '|' && i + 1 < n && s[i + 1] == '|') { *len = 2; return i; }
            if (before_ok && i + 2 <= n && !strncmp(s + i, "or", 2) && (i + 2 == n || !word_char(s[i + 2]))) { *len = 2; return i; }
        } else if (level == 1) {
            if (c == '&' && i + 1 < n && s[i + 1] == '&') { *len = 2; return i; }
            if (before_ok && i + 3 <= n && !strncmp(s + i, "and", 3) && (i + 3 == n || !word_char(s[i + 3]))) { *len = 3; return i; }
        } else {
            char d = i + 1 < n ? s[i + 1] : 0;
            if (c == '<' || c == '>') {
                *len = d == '=' ? 2 : 1;
                *cmp = c == '<' ? (d == '=' ? OP_LE : OP_LT) : (d == '=' ? OP_GE : OP_GT);
                return i;
            }
            if ((c == '=' || c == '!') && d == '=') {
                *len = 2;
                *cmp = c == '=' ? OP_EQ : OP_NE;
                return i;
            }
        }
    }
    return -1;
}

static void trim(const char **s, int *n)
{
    while (*n > 0 && is_ws(**s)) { (*s)++; (*n)--; }
    while (*n > 0 && is_ws((*s)[*n - 1])) (*n)--;
}

static int eval_part(const char *s, int n, const ExprHost *host, ExprValue *v)
{
    char *src = strndup(s, (size_t)n);
    if (!src) return -1;
    GrErr e;
    int rc = expr_eval_host(src, host, v, &e);
    free(src);
    return rc;
}

static void put_val(StrBuf *b, double x)
{
    if (isinf(x)) sb_puts(b, x < 0 ? "-inf" : "inf");
    else sb_printf(b, "%.6g", x);
}

/* "[i, j]" of a flat index into a shape. */
static void put_index(StrBuf *b, const int *shape, int ndim, size_t flat)
{
    int idx[TV_MAX_DIMS];
    for (int d = ndim - 1; d >= 0; d--) {
        idx[d] = (int)(flat % (size_t)shape[d]);
        flat /= (size_t)shape[d];
    }
    sb_putc(b, '[');
    for (int d = 0; d < ndim; d++) sb_printf(b, "%s%d", d ? ", " : "", idx[d]);
    sb_putc(b, ']');
}

/* v's element at a flat index of the broadcast shape (shape, ndim). */
static double bc_get(const ExprValue *v, const int *shape, int ndim, size_t flat)
{
    if (v->ndim == 0) return v->scalar;
    size_t off = 0, stride = 1;
    for (int d = ndim - 1, k = v->ndim - 1; d >= 0; d--, k--) {
        size_t i = flat % (size_t)shape[d];
        flat /= (size_t)shape[d];
        if (k < 0) continue;
        if (v->shape[k] != 1) off += i * stride;
        stride *= (size_t)v->shape[k];
    }
    return v->data[off];
}

/* A comparison A op B: both sides, or for tensors the first element where it fails. */
static void explain_cmp(const char *s, int n, int at, int len, int op, const ExprHost *host, StrBuf *out)
{
    ExprValue A, B, R;
    if (eval_part(s, at, host, &A)) return;
    if (eval_part(s + at + len, n - at - len, host, &B)) { expr_value_free(&A); return; }
    if (eval_part(s, n, host, &R)) { expr_value_free(&A); expr_value_free(&B); return; }
    if (A.str || B.str) {
        expr_format(&A, out); /* strings: as eval writes them */
        sb_printf(out, " %s ", OP_TEXT[op]);
        expr_format(&B, out);
    } else if (R.ndim == 0) {
        put_val(out, A.scalar);
        sb_printf(out, " %s ", OP_TEXT[op]);
        put_val(out, B.scalar);
    } else {
        size_t m = val_numel(&R), nfalse = 0, first = 0;
        for (size_t i = 0; i < m; i++)
            if (!truth(R.data[i]) && !nfalse++) first = i;
        size_t k = first;
        if (!nfalse && op != OP_EQ) {
            /* every element holds: show the closest call */
            double best = INFINITY;
            for (size_t i = 0; i < m; i++) {
                double d = fabs(bc_get(&A, R.shape, R.ndim, i) - bc_get(&B, R.shape, R.ndim, i));
                if (d < best) { best = d; k = i; }
            }
        }
        if (nfalse) sb_printf(out, "%zu of %zu false; first at ", nfalse, m);
        else sb_printf(out, "all %zu hold%s", m, op == OP_EQ ? "" : "; closest at ");
        if (nfalse || op != OP_EQ) {
            put_index(out, R.shape, R.ndim, k);
            sb_puts(out, ": ");
            put_val(out, bc_get(&A, R.shape, R.ndim, k));
            sb_printf(out, " %s ", OP_TEXT[op]);
            put_val(out, bc_get(&B, R.shape, R.ndim, k));
        }
    }
    expr_value_free(&A);
    expr_value_free(&B);
    expr_value_free(&R);
}

static void explain_part(const char *s, int n, const ExprHost *host, StrBuf *out, int depth);

/* fname(args) covering the whole text: its name and argument spans; -1 if not a call. */
static int as_call(const char *s, int n, char *name, size_t nn, int *args, int *nargs)
{
    int i = 0;
    while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_')) i++;
    if (i == 0 || i >= n || s[i] != '(' || s[n - 1] != ')' || (size_t)i >= nn) return -1;
    memcpy(name, s, (size_t)i);
    name[i] = 0;
    int depth = 0, start = i + 1;
    *nargs = 0;
    for (int j = i; j < n; j++) {
        if (s[j] == '(' || s[j] == '[') depth++;
        else if (s[j] == ')' || s[j] == ']') {
            depth--;
            if (depth == 0 && j != n - 1) return -1; /* f(x) + g(y): not one call */
        } else if (s[j] == ',' && depth == 1 && *nargs < 3) {
            args[2 * *nargs] = start;
            args[2 * *nargs + 1] = j - start;
            (*nargs)++;
            start = j + 1;
        }
    }
    if (*nargs < 3) {
        args[2 * *nargs] = start;
        args[2 * *nargs + 1] = n - 1 - start;
        (*nargs)++;
    }
    return 0;
}

static void explain_call(const char *s, int n, const char *name, const int *args, int nargs, const ExprHost *host,
                         StrBuf *out, int depth)
{
    if (!strcmp(name, "allclose") && nargs >= 2) {
        ExprValue A, B, tol = {0};
        if (eval_part(s + args[0], args[1], host, &A)) return;
        if (eval_part(s + args[2], args[3], host, &B)) { expr_value_free(&A); return; }
        double t = 1e-5;
        if (nargs == 3 && eval_part(s + args[4], args[5], host, &tol) == 0) t = tol.scalar;
        /* a - b, broadcast as allclose does it */
        StrBuf diff;
        sb_init(&diff);
        sb_printf(&diff, "(%.*s) - (%.*s)", args[1], s + args[0], args[3], s + args[2]);
        ExprValue D;
        int drc = eval_part(diff.s, (int)diff.len, host, &D);
        sb_free(&diff);
        if (drc == 0) {
            size_t m = val_numel(&D), k = 0;
            double worst = -1;
            for (size_t i = 0; i < m; i++) {
                double d = fabs(val_get(&D, i));
                if (!(d <= worst)) { worst = d; k = i; }
            }
            sb_puts(out, "max |a - b| ");
            put_val(out, worst);
            if (D.ndim) {
                sb_puts(out, " at ");
                put_index(out, D.shape, D.ndim, k);
            }
            sb_puts(out, ", tol ");
            put_val(out, t);
            expr_value_free(&D);
        }
        expr_value_free(&A);
        expr_value_free(&B);
        expr_value_free(&tol);
        return;
    }
    if ((!strcmp(name, "all") || !strcmp(name, "any")) && nargs == 1) {
        const char *x = s + args[0];
        int xn = args[1], len = 0, op = 0;
        trim(&x, &xn);
        int at = find_top(x, xn, 2, &len, &op);
        if (at >= 0 && !strcmp(name, "all")) {
            explain_cmp(x, xn, at, len, op, host, out);
            return;
        }
        ExprValue V;
        if (eval_part(x, xn, host, &V)) return;
        size_t m = val_numel(&V), k = m;
        int want = !strcmp(name, "any"); /* any: the first true; all: the first false */
        for (size_t i = 0; i < m && k == m; i++)
            if (truth(val_get(&V, i)) == want) k = i;
        if (k == m) sb_printf(out, want ? "none of %zu true" : "all %zu true", m);
        else if (V.ndim) {
            sb_printf(out, "%s at ", want ? "true" : "false");
            put_index(out, V.shape, V.ndim, k);
        }
        expr_value_free(&V);
        return;
    }
    (void)depth;
}

static void explain_part(const char *s, int n, const ExprHost *host, StrBuf *out, int depth)
{
    trim(&s, &n);
    if (n <= 0 || depth > 6) return;
    /* (X) around the whole */
    if (s[0] == '(' && s[n - 1] == ')') {
        int d = 0, whole = 1;
        for (int i = 0; i < n - 1 && whole; i++) {
            d += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
            if (d == 0) whole = 0;
        }
        if (whole) { explain_part(s + 1, n - 2, host, out, depth + 1); return; }
    }
    int len = 0, op = 0;
    for (int level = 0; level < 2; level++) {
        int at = find_top(s, n, level, &len, &op);
        if (at < 0) continue;
        /* a logical operator: the decisive operand first when it is false (and) or true (or) */
        StrBuf l, r;
        sb_init(&l);
        sb_init(&r);
        explain_part(s, at, host, &l, depth + 1);
        explain_part(s + at + len, n - at - len, host, &r, depth + 1);
        if (l.len && r.len) sb_printf(out, "%s; %s", l.s, r.s);
        else sb_puts(out, l.len ? l.s : r.len ? r.s : "");
        sb_free(&l);
        sb_free(&r);
        return;
    }
    if (n > 4 && !strncmp(s, "not", 3) && !word_char(s[3])) { explain_part(s + 3, n - 3, host, out, depth + 1); return; }
    if (s[0] == '!' && n > 1 && s[1] != '=') { explain_part(s + 1, n - 1, host, out, depth + 1); return; }
    int at = find_top(s, n, 2, &len, &op);
    if (at >= 0) { explain_cmp(s, n, at, len, op, host, out); return; }
    char name[32];
    int args[6], nargs;
    if (as_call(s, n, name, sizeof name, args, &nargs) == 0) explain_call(s, n, name, args, nargs, host, out, depth);
}

void expr_explain(const char *src, const ExprHost *host, StrBuf *out)
{
    size_t n = strnlen(src, EXPR_MAX_LEN + 1);
    if (n > EXPR_MAX_LEN) return;
    StrBuf b;
    sb_init(&b);
    explain_part(src, (int)n, host, &b, 0);
    if (b.len) sb_printf(out, "(%s)", b.s);
    sb_free(&b);
}
