/* expr.c — the evaluator behind `eval` and `check`: a tokenizer, then a recursive
 * descent parser that evaluates as it parses (grammar in expr.h).
 *
 * Hostile input is expected (lesson files, a fuzzer): source length and nesting depth
 * are capped, every allocation is checked and sized with overflow checks, floats are
 * never converted to integers, and every error path frees what it owns. */
#include "expr_impl.h"

#include <locale.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPR_MAX_NAME 255


/* ------------------------------------------------------------------ values */

void val_init(ExprValue *v) { memset(v, 0, sizeof *v); }

void expr_value_free(ExprValue *v)
{
    if (!v) return;
    free(v->data);
    free(v->str);
    val_init(v);
}

size_t val_numel(const ExprValue *v)
{
    size_t n = 1;
    for (int i = 0; i < v->ndim; i++) n *= (size_t)v->shape[i];
    return n;
}

float to_f(double d)
{
    if (d > FLT_MAX) return INFINITY;
    if (d < -FLT_MAX) return -INFINITY;
    return (float)d;
}

int truth(double x) { return x != 0 && !isnan(x); }

/* Allocates v's data for a shape (dimnames may be NULL). */
int val_alloc(ExprValue *v, int ndim, const int *shape, const char *names, GrErr *e)
{
    val_init(v);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0 || !gr_mul_ok(n, (size_t)shape[i], &n))
            return gr_fail(e, "result too large");
    }
    if (n > EXPR_MAX_ELEMS) return gr_fail(e, "result too large (%zu elements, limit %zu)", n, EXPR_MAX_ELEMS);
    v->data = malloc(n * sizeof(float));
    if (!v->data) return gr_fail(e, "out of memory (%zu elements)", n);
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        v->shape[i] = shape[i];
        v->dimname[i] = names ? names[i] : 0;
    }
    return 0;
}

int val_scalar(ExprValue *v, double d, int is_bool, GrErr *e)
{
    if (val_alloc(v, 0, NULL, NULL, e) < 0) return -1;
    v->scalar = d;
    v->data[0] = to_f(d);
    v->is_bool = is_bool;
    return 0;
}

int val_string(ExprValue *v, const char *s, size_t n, GrErr *e)
{
    if (val_scalar(v, NAN, 0, e) < 0) return -1;
    v->str = malloc(n + 1);
    if (!v->str) {
        expr_value_free(v);
        return gr_fail(e, "out of memory");
    }
    memcpy(v->str, s, n);
    v->str[n] = 0;
    return 0;
}

double val_get(const ExprValue *v, size_t i) { return v->ndim == 0 ? v->scalar : (double)v->data[i]; }

TensorView expr_value_view(const ExprValue *v)
{
    TensorView t = tv_make(v->data, v->ndim, v->shape);
    for (int i = 0; i < v->ndim; i++) t.dimname[i] = v->dimname[i];
    return t;
}

int val_from_view(const TensorView *t, ExprValue *out, GrErr *e)
{
    if (t->ndim < 0 || t->ndim > TV_MAX_DIMS || !t->data) return gr_fail(e, "tensor has an invalid shape");
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] <= 0) return gr_fail(e, "tensor has an invalid shape");
    if (val_alloc(out, t->ndim, t->shape, t->dimname, e) < 0) return -1;
    tv_copy_out(t, out->data);
    if (t->ndim == 0) out->scalar = out->data[0];
    return 0;
}

void shape_str(const ExprValue *v, char *buf, size_t n)
{
    TensorView t = expr_value_view(v);
    tv_shape_str(&t, buf, n);
}

/* ------------------------------------------------------------------ tokens */

enum {
    T_END, T_NUM, T_NAME, T_SLICE, T_LP, T_RP, T_COMMA,
    T_PLUS, T_MINUS, T_STAR, T_SLASH, T_POW, T_MATMUL, T_STR,
    T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE, T_AND, T_OR, T_NOT
};

typedef struct {
    int type;
    int pos, len;     /* in the source; for T_SLICE the text inside the brackets */
    double num;
    int is_bool;      /* true / false literals */
} Tok;

typedef struct {
    const char *src;
    int srclen;
    Tok *tok;
    int ntok, i;
    int depth;
    ExprLookup lookup;
    void *ctx;
    const ExprHost *host;
    GrErr *e;
} P;

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static int syntax(P *p, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int syntax(P *p, int pos, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return gr_fail(p->e, "syntax error at column %d: %s", pos + 1, what);
}

/* Parses the number text s[0..n) in the C locale whatever LC_NUMERIC says. */
static int parse_number(const char *s, int n, double *out)
{
    char buf[512];
    const char *dp = localeconv()->decimal_point;
    if (!dp || !dp[0]) dp = ".";
    size_t dpl = strlen(dp);
    if (n > 400 || dpl > 8) return -1;
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] == '.') { memcpy(buf + k, dp, dpl); k += dpl; }
        else buf[k++] = s[i];
    }
    buf[k] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end ? -1 : 0;
}

static int lex(P *p)
{
    const char *s = p->src;
    int n = p->srclen, i = 0;
    p->tok = malloc(((size_t)n + 1) * sizeof *p->tok);
    if (!p->tok) return gr_fail(p->e, "out of memory");
    p->ntok = 0;
    for (;;) {
        while (i < n && is_ws(s[i])) i++;
        Tok *t = &p->tok[p->ntok];
        memset(t, 0, sizeof *t);
        t->pos = i;
        if (i >= n) { t->type = T_END; p->ntok++; return 0; }
        char c = s[i], d = i + 1 < n ? s[i + 1] : 0;
        int len = 1;
        if (is_digit(c) || (c == '.' && is_digit(d))) {
            int j = i;
            while (j < n && is_digit(s[j])) j++;
            if (j < n && s[j] == '.') { j++; while (j < n && is_digit(s[j])) j++; }
            if (j < n && (s[j] == 'e' || s[j] == 'E')) {
                int k = j + 1;
                if (k < n && (s[k] == '+' || s[k] == '-')) k++;
                if (k < n && is_digit(s[k])) { j = k; while (j < n && is_digit(s[j])) j++; }
            }
            t->type = T_NUM;
            len = j - i;
            if (parse_number(s + i, len, &t->num) < 0) return syntax(p, i, "bad number '%.*s'", len > 40 ? 40 : len, s + i);
        } else if (is_alpha(c)) {
            int j = i;
            while (j < n && (is_alpha(s[j]) || is_digit(s[j]) || s[j] == '.')) j++;
            len = j - i;
            const char *w = s + i;
            t->type = T_NAME;
#define KW(str) (len == (int)sizeof(str) - 1 && memcmp(w, str, sizeof(str) - 1) == 0)
            if (KW("and")) t->type = T_AND;
            else if (KW("or")) t->type = T_OR;
            else if (KW("not")) t->type = T_NOT;
            else if (KW("pi")) { t->type = T_NUM; t->num = 3.14159265358979323846; }
            else if (KW("inf")) { t->type = T_NUM; t->num = INFINITY; }
            else if (KW("nan")) { t->type = T_NUM; t->num = NAN; }
            else if (KW("true")) { t->type = T_NUM; t->num = 1; t->is_bool = 1; }
            else if (KW("false")) { t->type = T_NUM; t->num = 0; t->is_bool = 1; }
#undef KW
        } else if (c == '"') {
            /* a string: "…" with \" \\ \n \t; decoded when parsed */
            int j = i + 1;
            while (j < n && s[j] != '"') j += s[j] == '\\' && j + 1 < n ? 2 : 1;
            if (j >= n) return syntax(p, i, "'\"' without a closing '\"'");
            t->type = T_STR;
            t->pos = i + 1;
            t->len = j - i - 1;
            p->ntok++;
            i = j + 1;
            continue;
        } else if (c == '[') {
            int depth = 1, j = i + 1;
            while (j < n) {
                if (s[j] == '[') depth++;
                else if (s[j] == ']' && --depth == 0) break;
                j++;
            }
            if (j >= n) return syntax(p, i, "'[' without a matching ']'");
            t->type = T_SLICE;
            t->pos = i + 1;
            t->len = j - i - 1;
            p->ntok++;
            i = j + 1;
            continue;
        } else {
            switch (c) {
            case '(': t->type = T_LP; break;
            case ')': t->type = T_RP; break;
            case ',': t->type = T_COMMA; break;
            case '+': t->type = T_PLUS; break;
            case '-': t->type = T_MINUS; break;
            case '/': t->type = T_SLASH; break;
            case '^': t->type = T_POW; break;
            case '@': t->type = T_MATMUL; break;
            case '*':
                if (d == '*') { t->type = T_POW; len = 2; }
                else t->type = T_STAR;
                break;
            case '<':
                if (d == '=') { t->type = T_LE; len = 2; }
                else t->type = T_LT;
                break;
            case '>':
                if (d == '=') { t->type = T_GE; len = 2; }
                else t->type = T_GT;
                break;
            case '=':
                if (d != '=') return syntax(p, i, "'=' is not an operator (use == to compare)");
                t->type = T_EQ; len = 2;
                break;
            case '!':
                if (d == '=') { t->type = T_NE; len = 2; }
                else t->type = T_NOT;
                break;
            case '&':
                if (d != '&') return syntax(p, i, "unexpected '&' (use && or and)");
                t->type = T_AND; len = 2;
                break;
            case '|':
                if (d != '|') return syntax(p, i, "unexpected '|' (use || or or)");
                t->type = T_OR; len = 2;
                break;
            default:
                if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                    return syntax(p, i, "unexpected character '%c'", c);
                return syntax(p, i, "unexpected byte 0x%02x", (unsigned)(unsigned char)c);
            }
        }
        t->len = len;
        p->ntok++;
        i += len;
    }
}

static Tok *cur(P *p) { return &p->tok[p->i]; }
static Tok *peek(P *p, int k) { return p->i + k < p->ntok ? &p->tok[p->i + k] : &p->tok[p->ntok - 1]; }

static NOINLINE int tok_error(P *p, const char *what)
{
    Tok *t = cur(p);
    if (t->type == T_END) return syntax(p, t->pos, "%s (the expression ended)", what);
    int len = t->type == T_SLICE ? t->len + 2 : t->len;
    int pos = t->type == T_SLICE ? t->pos - 1 : t->pos;
    return syntax(p, pos, "%s, found '%.*s'", what, len > 30 ? 30 : len, p->src + pos);
}

/* ------------------------------------------------------------------ arithmetic */


static const char *op_name(int op)
{
    static const char *const names[] = {"+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=",
                                        "and", "or", "min", "max"};
    return names[op];
}

double safe_div(double x, double y)
{
    if (y != 0) return x / y;
    if (x == 0 || isnan(x) || isnan(y)) return NAN;
    return (signbit(x) != signbit(y)) ? -INFINITY : INFINITY;
}

static double apply(int op, double x, double y)
{
    switch (op) {
    case OP_ADD: return x + y;
    case OP_SUB: return x - y;
    case OP_MUL: return x * y;
    case OP_DIV: return safe_div(x, y);
    case OP_POW: return pow(x, y);
    case OP_LT: return x < y;
    case OP_LE: return x <= y;
    case OP_GT: return x > y;
    case OP_GE: return x >= y;
    case OP_EQ: return x == y;
    case OP_NE: return x != y;
    case OP_AND: return truth(x) && truth(y);
    case OP_OR: return truth(x) || truth(y);
    case OP_MIN: return (isnan(x) || isnan(y)) ? NAN : (x < y ? x : y);
    case OP_MAX: return (isnan(x) || isnan(y)) ? NAN : (x > y ? x : y);
    }
    return NAN;
}

static int op_is_bool(int op) { return op >= OP_LT && op <= OP_OR; }

/* out = a op b with numpy broadcasting (scalars, size-1 dims, missing leading dims). */
NOINLINE int binop(int op, const ExprValue *a, const ExprValue *b, ExprValue *out, GrErr *e)
{
    int isb = op_is_bool(op);
    if (a->str || b->str) {
        if ((op == OP_EQ || op == OP_NE) && a->str && b->str)
            return val_scalar(out, (strcmp(a->str, b->str) == 0) == (op == OP_EQ), 1, e);
        return gr_fail(e, "'%s' with a string: strings only compare with == and != to strings", op_name(op));
    }
    if (a->ndim == 0 && b->ndim == 0) return val_scalar(out, apply(op, a->scalar, b->scalar), isb, e);

    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int shape[TV_MAX_DIMS];
    char names[TV_MAX_DIMS];
    ptrdiff_t sa[TV_MAX_DIMS], sb[TV_MAX_DIMS];
    ptrdiff_t ca = 1, cb = 1; /* contiguous strides, built from the last dim */
    for (int k = nd - 1; k >= 0; k--) {
        int da = k - (nd - a->ndim), db = k - (nd - b->ndim);
        int na = da >= 0 ? a->shape[da] : 1, nb = db >= 0 ? b->shape[db] : 1;
        if (na != nb && na != 1 && nb != 1) {
            char s1[64], s2[64];
            shape_str(a, s1, sizeof s1);
            shape_str(b, s2, sizeof s2);
            return gr_fail(e, "shapes %s and %s don't match for '%s'", s1, s2, op_name(op));
        }
        shape[k] = na > nb ? na : nb;
        char cn = 0;
        if (da >= 0 && na == shape[k]) cn = a->dimname[da];
        if (!cn && db >= 0 && nb == shape[k]) cn = b->dimname[db];
        names[k] = cn;
        sa[k] = (da >= 0 && na > 1) ? ca : 0;
        sb[k] = (db >= 0 && nb > 1) ? cb : 0;
        if (da >= 0) ca *= na;
        if (db >= 0) cb *= nb;
    }
    if (val_alloc(out, nd, shape, names, e) < 0) return -1;
    out->is_bool = isb;
    size_t n = val_numel(out);
    int a0 = a->ndim == 0, b0 = b->ndim == 0;
    int idx[TV_MAX_DIMS] = {0};
    ptrdiff_t ia = 0, ib = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a0 ? a->scalar : (double)a->data[ia];
        double y = b0 ? b->scalar : (double)b->data[ib];
        out->data[i] = to_f(apply(op, x, y));
        for (int k = nd - 1; k >= 0; k--) {
            idx[k]++;
            ia += sa[k];
            ib += sb[k];
            if (idx[k] < shape[k]) break;
            ia -= sa[k] * shape[k];
            ib -= sb[k] * shape[k];
            idx[k] = 0;
        }
    }
    return 0;
}

/* Elementwise f over a value (scalars stay double). */
NOINLINE int map(const ExprValue *a, double (*f)(double), int is_bool, ExprValue *out, GrErr *e)
{
    if (a->str) return gr_fail(e, "arithmetic on a string (\"%.20s\")", a->str);
    if (a->ndim == 0) return val_scalar(out, f(a->scalar), is_bool, e);
    if (val_alloc(out, a->ndim, a->shape, a->dimname, e) < 0) return -1;
    out->is_bool = is_bool;
    size_t n = val_numel(a);
    for (size_t i = 0; i < n; i++) out->data[i] = to_f(f((double)a->data[i]));
    return 0;
}

static double f_neg(double x) { return -x; }
static double f_not(double x) { return !truth(x); }
/* ------------------------------------------------------------------ parser */

static int parse_or(P *p, ExprValue *out);

static int enter(P *p)
{
    if (++p->depth > EXPR_MAX_DEPTH)
        return gr_fail(p->e, "expression nested too deeply (more than %d levels)", EXPR_MAX_DEPTH);
    return 0;
}

/* out = out op (right operand already parsed into r); frees r, and out on error. */
static int combine(P *p, int op, ExprValue *out, ExprValue *r)
{
    ExprValue t;
    int rc = binop(op, out, r, &t, p->e);
    expr_value_free(out);
    expr_value_free(r);
    if (rc < 0) return -1;
    *out = t;
    return 0;
}

static NOINLINE int known_fns_msg(P *p, int pos, int len)
{
    char list[600];
    size_t k = 0;
    list[0] = 0;
    for (int i = 0; i < expr_function_count(); i++) {
        const char *nm, *us, *hl;
        expr_function(i, &nm, &us, &hl);
        int w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", nm);
        if (w < 0 || (size_t)w >= sizeof list - k) break;
        k += (size_t)w;
    }
    return gr_fail(p->e, "unknown function '%.*s' (known: %s)", len > 40 ? 40 : len, p->src + pos, list);
}

static int arity_fail(P *p, const FnInfo *f, const char *got)
{
    if (f->min_args == f->max_args)
        return gr_fail(p->e, "%s() takes %d argument%s, got %s (usage: %s)", f->name, f->min_args,
                       f->min_args == 1 ? "" : "s", got, f->usage);
    return gr_fail(p->e, "%s() takes %d or %d arguments, got %s (usage: %s)", f->name, f->min_args,
                   f->max_args, got, f->usage);
}

static NOINLINE int parse_call(P *p, ExprValue *out)
{
    Tok *name = cur(p);
    const FnInfo *f = find_fn(p->src + name->pos, name->len);
    if (!f) return known_fns_msg(p, name->pos, name->len);
    p->i += 2; /* name ( */
    ExprValue args[EXPR_MAX_ARGS]; /* max_args <= EXPR_MAX_ARGS */
    memset(args, 0, sizeof args);
    int nargs = 0, rc = -1;
    if (cur(p)->type != T_RP) {
        for (;;) {
            if (nargs == f->max_args) { /* one too many: count it without evaluating it */
                arity_fail(p, f, "more");
                goto done;
            }
            if (parse_or(p, &args[nargs]) < 0) goto done;
            nargs++;
            if (cur(p)->type == T_COMMA) { p->i++; continue; }
            if (cur(p)->type != T_RP) { tok_error(p, "expected ')'"); goto done; }
            break;
        }
    }
    p->i++; /* ) */
    if (nargs < f->min_args) {
        char got[16];
        snprintf(got, sizeof got, "%d", nargs);
        arity_fail(p, f, got);
        goto done;
    }
    rc = call_fn(f, args, nargs, p->host, out, p->e);
done:
    for (int i = 0; i < nargs; i++) expr_value_free(&args[i]);
    return rc;
}

static int parse_primary(P *p, ExprValue *out)
{
    Tok *t = cur(p);
    switch (t->type) {
    case T_NUM:
        p->i++;
        return val_scalar(out, t->num, t->is_bool, p->e);
    case T_STR: {
        p->i++;
        char *b = malloc((size_t)t->len + 1);
        if (!b) return gr_fail(p->e, "out of memory");
        int k = 0;
        for (int j = 0; j < t->len; j++) {
            char c = p->src[t->pos + j];
            if (c == '\\' && j + 1 < t->len) {
                char d = p->src[t->pos + ++j];
                c = d == 'n' ? '\n' : d == 't' ? '\t' : d;
            }
            b[k++] = c;
        }
        int rc = val_string(out, b, (size_t)k, p->e);
        free(b);
        return rc;
    }
    case T_LP:
        p->i++;
        if (parse_or(p, out) < 0) return -1;
        if (cur(p)->type != T_RP) {
            expr_value_free(out);
            return tok_error(p, "expected ')'");
        }
        p->i++;
        return 0;
    case T_NAME:
        if (peek(p, 1)->type == T_LP) return parse_call(p, out);
        break;
    default:
        break;
    }
    return tok_error(p, "expected a number, a name or '('");
}

/* Prefixes e with "what: " (e's message is copied first: gr_fail must not read its own buffer). */
static NOINLINE int slice_fail(P *p, const char *name, int namelen, const Tok *s)
{
    char msg[sizeof p->e->msg];
    snprintf(msg, sizeof msg, "%s", p->e->msg);
    int sl = s->len > 40 ? 40 : s->len;
    return gr_fail(p->e, "%.*s[%.*s%s]: %s", namelen > 60 ? 60 : namelen, name, sl, p->src + s->pos,
                   sl < s->len ? "..." : "", msg);
}

static int slice_text(P *p, const Tok *s, char **text)
{
    *text = malloc((size_t)s->len + 1);
    if (!*text) return gr_fail(p->e, "out of memory");
    memcpy(*text, p->src + s->pos, (size_t)s->len);
    (*text)[s->len] = 0;
    return 0;
}

/* A tensor name and its slices (kept out of parse_postfix so the recursive frames stay small). */
static NOINLINE int parse_name(P *p, ExprValue *out)
{
    Tok *t = cur(p);
    if (t->len > EXPR_MAX_NAME) return gr_fail(p->e, "name too long (%d characters)", t->len);
    char name[EXPR_MAX_NAME + 1];
    memcpy(name, p->src + t->pos, (size_t)t->len);
    name[t->len] = 0;
    TensorView v;
    memset(&v, 0, sizeof v);
    snprintf(p->e->msg, sizeof p->e->msg, "unknown name '%s'", name);
    if (!p->lookup || p->lookup(p->ctx, name, &v, p->e) < 0) {
        if (find_fn(name, t->len)) return gr_fail(p->e, "'%s' is a function: write %s(x)", name, name);
        return -1;
    }
    int valid = v.ndim >= 0 && v.ndim <= TV_MAX_DIMS && v.data;
    for (int i = 0; valid && i < v.ndim; i++) valid = v.shape[i] > 0;
    if (!valid) return gr_fail(p->e, "tensor '%s' has an invalid shape", name);
    p->i++;
    /* Slices apply to the view before anything is copied: wte[3] copies one row. */
    while (cur(p)->type == T_SLICE) {
        Tok *s = cur(p);
        char *spec;
        if (slice_text(p, s, &spec) < 0) return -1;
        TensorView r;
        int rc = tv_slice(&v, spec, &r, p->e);
        free(spec);
        if (rc < 0) return slice_fail(p, name, t->len, s);
        v = r;
        p->i++;
    }
    return val_from_view(&v, out, p->e);
}

/* Slices after a computed value: (x * 2)[1], rowsum(L0.pattern)[h=0]. */
static NOINLINE int slice_value(P *p, ExprValue *out)
{
    if (out->str) {
        expr_value_free(out);
        return gr_fail(p->e, "a string cannot be sliced");
    }
    while (cur(p)->type == T_SLICE) {
        Tok *s = cur(p);
        char *spec;
        if (slice_text(p, s, &spec) < 0) { expr_value_free(out); return -1; }
        TensorView v = expr_value_view(out), r;
        int rc = tv_slice(&v, spec, &r, p->e);
        free(spec);
        ExprValue n;
        if (rc < 0) {
            expr_value_free(out);
            return slice_fail(p, "", 0, s);
        }
        rc = val_from_view(&r, &n, p->e);
        int isb = out->is_bool;
        expr_value_free(out);
        if (rc < 0) return -1;
        *out = n;
        out->is_bool = isb;
        p->i++;
    }
    return 0;
}

static int parse_postfix(P *p, ExprValue *out)
{
    Tok *t = cur(p);
    if (t->type == T_NAME && peek(p, 1)->type != T_LP) return parse_name(p, out);
    if (parse_primary(p, out) < 0) return -1;
    return cur(p)->type == T_SLICE ? slice_value(p, out) : 0;
}

static int parse_unary(P *p, ExprValue *out);

static int parse_power(P *p, ExprValue *out)
{
    if (parse_postfix(p, out) < 0) return -1;
    if (cur(p)->type != T_POW) return 0;
    p->i++;
    ExprValue r;
    int rc = enter(p) < 0 ? -1 : parse_unary(p, &r);
    p->depth--;
    if (rc < 0) { expr_value_free(out); return -1; }
    return combine(p, OP_POW, out, &r);
}

static int parse_unary(P *p, ExprValue *out)
{
    int type = cur(p)->type;
    if (type != T_MINUS && type != T_PLUS) return parse_power(p, out);
    if (enter(p) < 0) return -1;
    p->i++;
    int rc = parse_unary(p, out);
    p->depth--;
    if (rc < 0 || type == T_PLUS) return rc;
    ExprValue t;
    rc = map(out, f_neg, 0, &t, p->e);
    expr_value_free(out);
    if (rc < 0) return -1;
    *out = t;
    return 0;
}

static int parse_prod(P *p, ExprValue *out)
{
    if (parse_unary(p, out) < 0) return -1;
    for (;;) {
        int type = cur(p)->type;
        if (type != T_STAR && type != T_SLASH && type != T_MATMUL) return 0;
        p->i++;
        ExprValue r;
        if (parse_unary(p, &r) < 0) { expr_value_free(out); return -1; }
        if (type == T_MATMUL) {
            ExprValue t;
            int rc = expr_matmul(out, &r, &t, p->e);
            expr_value_free(out);
            expr_value_free(&r);
            if (rc < 0) return -1;
            *out = t;
            continue;
        }
        if (combine(p, type == T_STAR ? OP_MUL : OP_DIV, out, &r) < 0) return -1;
    }
}

static int parse_sum(P *p, ExprValue *out)
{
    if (parse_prod(p, out) < 0) return -1;
    for (;;) {
        int type = cur(p)->type;
        if (type != T_PLUS && type != T_MINUS) return 0;
        p->i++;
        ExprValue r;
        if (parse_prod(p, &r) < 0) { expr_value_free(out); return -1; }
        if (combine(p, type == T_PLUS ? OP_ADD : OP_SUB, out, &r) < 0) return -1;
    }
}

static int cmp_op(int type)
{
    switch (type) {
    case T_LT: return OP_LT;
    case T_LE: return OP_LE;
    case T_GT: return OP_GT;
    case T_GE: return OP_GE;
    case T_EQ: return OP_EQ;
    case T_NE: return OP_NE;
    }
    return -1;
}

static int parse_cmp(P *p, ExprValue *out)
{
    if (parse_sum(p, out) < 0) return -1;
    int op = cmp_op(cur(p)->type);
    if (op < 0) return 0;
    p->i++;
    ExprValue r;
    if (parse_sum(p, &r) < 0) { expr_value_free(out); return -1; }
    if (combine(p, op, out, &r) < 0) return -1;
    if (cmp_op(cur(p)->type) >= 0) {
        expr_value_free(out);
        return syntax(p, cur(p)->pos, "comparisons can't be chained (write a < b and b < c)");
    }
    return 0;
}

static int parse_not(P *p, ExprValue *out)
{
    if (cur(p)->type != T_NOT) return parse_cmp(p, out);
    if (enter(p) < 0) return -1;
    p->i++;
    int rc = parse_not(p, out);
    p->depth--;
    if (rc < 0) return -1;
    ExprValue t;
    rc = map(out, f_not, 1, &t, p->e);
    expr_value_free(out);
    if (rc < 0) return -1;
    *out = t;
    return 0;
}

static int parse_and(P *p, ExprValue *out)
{
    if (parse_not(p, out) < 0) return -1;
    while (cur(p)->type == T_AND) {
        p->i++;
        ExprValue r;
        if (parse_not(p, &r) < 0) { expr_value_free(out); return -1; }
        if (combine(p, OP_AND, out, &r) < 0) return -1;
    }
    return 0;
}

static int parse_or(P *p, ExprValue *out)
{
    val_init(out);
    if (enter(p) < 0) return -1;
    int rc = parse_and(p, out);
    while (rc == 0 && cur(p)->type == T_OR) {
        p->i++;
        ExprValue r;
        if (parse_and(p, &r) < 0) { expr_value_free(out); rc = -1; break; }
        rc = combine(p, OP_OR, out, &r);
    }
    p->depth--;
    return rc;
}

int expr_eval(const char *src, ExprLookup lookup, void *ctx, ExprValue *out, GrErr *e)
{
    ExprHost h = {.lookup = lookup, .ctx = ctx};
    return expr_eval_host(src, &h, out, e);
}

int expr_eval_host(const char *src, const ExprHost *host, ExprValue *out, GrErr *e)
{
    GrErr scratch;
    if (!e) e = &scratch;
    if (!out) return gr_fail(e, "no place for the result");
    val_init(out);
    if (!src) return gr_fail(e, "empty expression");
    size_t n = strnlen(src, EXPR_MAX_LEN + 1);
    if (n > EXPR_MAX_LEN) return gr_fail(e, "expression too long (limit %d characters)", EXPR_MAX_LEN);
    P p;
    memset(&p, 0, sizeof p);
    p.src = src;
    p.srclen = (int)n;
    p.lookup = host ? host->lookup : NULL;
    p.ctx = host ? host->ctx : NULL;
    p.host = host;
    p.e = e;
    int rc = lex(&p);
    if (rc == 0 && p.ntok == 1) rc = gr_fail(e, "empty expression");
    if (rc == 0) rc = parse_or(&p, out);
    if (rc == 0 && cur(&p)->type != T_END) {
        expr_value_free(out);
        if (cur(&p)->type == T_RP) rc = syntax(&p, cur(&p)->pos, "unexpected ')'");
        else rc = tok_error(&p, "expected an operator");
    }
    free(p.tok);
    if (rc < 0) val_init(out);
    return rc;
}

/* ------------------------------------------------------------------ output */

/* printf of one number, with '.' as the decimal point whatever the locale says. */
static void put_num(StrBuf *b, const char *fmt, double x)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, x);
    const char *dp = localeconv()->decimal_point;
    if (dp && dp[0] && strcmp(dp, ".") != 0) {
        size_t dl = strlen(dp);
        char *q = strstr(buf, dp);
        if (q) {
            *q = '.';
            memmove(q + 1, q + dl, strlen(q + dl) + 1);
        }
    }
    sb_puts(b, buf);
}

void expr_put_cell(StrBuf *b, double x)
{
    char buf[64];
    StrBuf t;
    sb_init(&t);
    put_num(&t, "%.4g", x);
    snprintf(buf, sizeof buf, " %10s", t.s ? t.s : ""); /* "%.4g" is at most 10 wide: -1.234e-05 */
    sb_puts(b, buf);
    sb_free(&t);
}

/* "[i, j]": the leading indices of a row (the last row has the widest label). */
static int row_label(const ExprValue *v, size_t row, char *buf, size_t n)
{
    int lead = v->ndim - 1, idx[TV_MAX_DIMS] = {0}, len = 0;
    for (int d = lead - 1; d >= 0; d--) {
        idx[d] = (int)(row % (size_t)v->shape[d]);
        row /= (size_t)v->shape[d];
    }
    buf[0] = 0;
    for (int d = 0; d < lead && len >= 0 && (size_t)len < n; d++)
        len += snprintf(buf + len, n - (size_t)len, "%s%d", d ? ", " : "[", idx[d]);
    if (lead > 0 && len >= 0 && (size_t)len + 1 < n) { buf[len++] = ']'; buf[len] = 0; }
    return (int)strlen(buf);
}

static void put_row(StrBuf *b, const ExprValue *v, size_t row, int L, int label_w)
{
    if (v->ndim > 1) {
        char lab[64];
        row_label(v, row, lab, sizeof lab);
        sb_printf(b, "%-*s", label_w, lab);
    }
    const float *x = v->data + row * (size_t)L;
    for (int j = 0; j < L; j++) {
        if (L > 8 && j == 4) {
            sb_puts(b, "        ...");
            j = L - 4;
        }
        expr_put_cell(b, x[j]);
    }
    sb_putc(b, '\n');
}

void expr_format(const ExprValue *v, StrBuf *out)
{
    if (!v || !v->data) { sb_puts(out, "(no value)"); return; }
    if (v->str) {
        sb_putc(out, '"');
        for (const char *c = v->str; *c; c++) {
            if (*c == '"' || *c == '\\') sb_printf(out, "\\%c", *c);
            else if (*c == '\n') sb_puts(out, "\\n");
            else if (*c == '\t') sb_puts(out, "\\t");
            else if ((unsigned char)*c < 0x20) sb_printf(out, "\\x%02x", (unsigned)(unsigned char)*c);
            else sb_putc(out, *c);
        }
        sb_putc(out, '"');
        return;
    }
    if (v->ndim == 0) {
        if (v->is_bool) sb_puts(out, truth(v->scalar) ? "true" : "false");
        else put_num(out, "%.6g", v->scalar);
        return;
    }
    char shp[64];
    shape_str(v, shp, sizeof shp);
    sb_printf(out, "shape %s", shp);
    int named = 0;
    for (int i = 0; i < v->ndim; i++) named |= v->dimname[i] != 0;
    if (named) {
        sb_puts(out, "  dims (");
        for (int i = 0; i < v->ndim; i++) {
            if (i) sb_puts(out, ", ");
            sb_putc(out, v->dimname[i] ? v->dimname[i] : '-');
        }
        sb_putc(out, ')');
    }
    sb_putc(out, '\n');
    int L = v->shape[v->ndim - 1];
    size_t rows = val_numel(v) / (size_t)L;
    char lab[64];
    int label_w = row_label(v, rows - 1, lab, sizeof lab);
    for (size_t r = 0; r < rows; r++) {
        if (rows > 8 && r == 4) {
            sb_puts(out, "...\n");
            r = rows - 4;
        }
        put_row(out, v, r, L, label_w);
    }
    TensorView t = expr_value_view(v);
    if (v->is_bool) {
        size_t n = val_numel(v), k = 0;
        for (size_t i = 0; i < n; i++) k += truth(v->data[i]);
        sb_printf(out, "true %zu of %zu", k, n);
        return;
    }
    TvStats s = tv_stats(&t);
    expr_put_stats(out, &s);
}

void expr_put_stats(StrBuf *out, const TvStats *s)
{
    sb_puts(out, "mean ");
    put_num(out, "%.4g", s->mean);
    sb_puts(out, "  std ");
    put_num(out, "%.4g", s->std);
    sb_puts(out, "  min ");
    put_num(out, "%.4g", s->min);
    sb_puts(out, "  max ");
    put_num(out, "%.4g", s->max);
    if (s->nan_count) sb_printf(out, "  nan %zu", s->nan_count);
    if (s->inf_count) sb_printf(out, "  inf %zu", s->inf_count);
}

int expr_truthy(const ExprValue *v)
{
    if (!v || !v->data) return 0;
    if (v->ndim == 0) return truth(v->scalar);
    size_t n = val_numel(v);
    for (size_t i = 0; i < n; i++)
        if (!truth(v->data[i])) return 0;
    return 1;
}

