/* test_expr.c — the eval/check expression language over a fake model. */
#include "harness.h"
#include "repl/expr.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a fake model: a few named tensors ---- */

static float g_pattern[18]; /* (2, 3, 3) h t s: head 0 uniform causal, head 1 attends to itself */
static float g_x[6] = {1, 2, 3, 4, 5, 6};   /* (2, 3) */
static float g_row[3] = {10, 20, 30};       /* (3,) */
static float g_qkv[8] = {0, 1, 2, 3, 4, 5, 6, 7}; /* (4, 2) "L0.attn.qkv.w" */
static float g_nanv[3] = {1, NAN, 3};
static float g_big[400];                    /* (20, 20) */
static float g_loss = 4.2f, g_V = 65, g_T = 3;
static int g_lookups;

static int fake_lookup(void *ctx, const char *name, TensorView *out, GrErr *e)
{
    (void)ctx;
    g_lookups++;
    int s3[3] = {2, 3, 3}, s2[2] = {2, 3}, s1[1] = {3}, sq[2] = {4, 2}, sb[2] = {20, 20};
    if (!strcmp(name, "pattern") || !strcmp(name, "L0.pattern")) {
        *out = tv_make(g_pattern, 3, s3);
        out->dimname[0] = 'h';
        out->dimname[1] = 't';
        out->dimname[2] = 's';
    } else if (!strcmp(name, "x")) {
        *out = tv_make(g_x, 2, s2);
    } else if (!strcmp(name, "row")) {
        *out = tv_make(g_row, 1, s1);
        out->dimname[0] = 'c';
    } else if (!strcmp(name, "L0.attn.qkv.w")) {
        *out = tv_make(g_qkv, 2, sq);
    } else if (!strcmp(name, "nanv")) {
        *out = tv_make(g_nanv, 1, s1);
    } else if (!strcmp(name, "big")) {
        *out = tv_make(g_big, 2, sb);
    } else if (!strcmp(name, "loss")) {
        *out = tv_make(&g_loss, 0, NULL);
    } else if (!strcmp(name, "V")) {
        *out = tv_make(&g_V, 0, NULL);
    } else if (!strcmp(name, "T")) {
        *out = tv_make(&g_T, 0, NULL);
    } else if (!strcmp(name, "broken")) {
        *out = tv_make(NULL, 1, s1);
    } else {
        return gr_fail(e, "unknown tensor '%s' (the model has 2 layers)", name);
    }
    return 0;
}

static void setup(void)
{
    memset(g_pattern, 0, sizeof g_pattern);
    for (int t = 0; t < 3; t++) {
        for (int s = 0; s <= t; s++) g_pattern[t * 3 + s] = 1.0f / (float)(t + 1);
        g_pattern[9 + t * 3 + t] = 1.0f;
    }
    for (int i = 0; i < 400; i++) g_big[i] = (float)i;
}

/* ---- helpers ---- */

static GrErr g_e;
static ExprValue g_v;

static int ev(const char *src)
{
    expr_value_free(&g_v);
    g_e.msg[0] = 0;
    return expr_eval(src, fake_lookup, NULL, &g_v, &g_e);
}

/* The scalar value of src (NaN, and a failed check, when it is not one). */
static double num(const char *src)
{
    if (ev(src) != 0) {
        fprintf(stderr, "  eval '%s' failed: %s\n", src, g_e.msg);
        h_cur_failed = 1;
        return NAN;
    }
    if (g_v.ndim != 0) {
        fprintf(stderr, "  eval '%s' is not a scalar\n", src);
        h_cur_failed = 1;
        return NAN;
    }
    return g_v.scalar;
}

/* The error message of src ("(no error)" if it evaluated). */
static const char *err(const char *src)
{
    if (ev(src) == 0) return "(no error)";
    CHECK(g_v.data == NULL && g_v.ndim == 0);
    return g_e.msg;
}

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Formatted value of src. */
static const char *fmt(const char *src)
{
    static StrBuf b;
    sb_free(&b);
    sb_init(&b);
    if (ev(src) != 0) return g_e.msg;
    expr_format(&g_v, &b);
    return b.s ? b.s : "";
}

/* ---- tests ---- */

TEST(numbers)
{
    CHECK_NEAR(num("3"), 3, 0);
    CHECK_NEAR(num("1e-5"), 1e-5, 1e-20);
    CHECK_NEAR(num(".5"), 0.5, 0);
    CHECK_NEAR(num("2.5e3"), 2500, 0);
    CHECK_NEAR(num("2.5E+3"), 2500, 0);
    CHECK_NEAR(num("3."), 3, 0);
    CHECK_NEAR(num("pi"), 3.14159265358979, 1e-12);
    CHECK(isinf(num("inf")) && num("inf") > 0);
    CHECK(isinf(num("-inf")) && num("-inf") < 0);
    CHECK(isnan(num("nan")));
    CHECK_NEAR(num("  42  "), 42, 0);
    /* scalars keep double precision */
    CHECK_NEAR(num("0.1 + 0.2"), 0.30000000000000004, 1e-17);
    CHECK_NEAR(num("1e300 * 10"), 1e301, 1e287);
}

TEST(precedence)
{
    CHECK_NEAR(num("1 + 2 * 3"), 7, 0);
    CHECK_NEAR(num("(1 + 2) * 3"), 9, 0);
    CHECK_NEAR(num("10 - 4 - 3"), 3, 0);
    CHECK_NEAR(num("8 / 4 / 2"), 1, 0);
    CHECK_NEAR(num("2 ^ 3 ^ 2"), 512, 0); /* right associative */
    CHECK_NEAR(num("2 ** 3"), 8, 0);
    CHECK_NEAR(num("-2 ^ 2"), -4, 0);     /* power binds tighter than unary minus */
    CHECK_NEAR(num("2 ^ -1"), 0.5, 0);
    CHECK_NEAR(num("--3"), 3, 0);
    CHECK_NEAR(num("-+-3"), 3, 0);
    CHECK_NEAR(num("2 * -3"), -6, 0);
    CHECK_NEAR(num("1 + 2 < 4"), 1, 0);   /* arithmetic before comparison */
    CHECK_NEAR(num("not 1 < 2"), 0, 0);   /* not applies to the comparison */
    CHECK_NEAR(num("!0"), 1, 0);
    CHECK_NEAR(num("not not 5"), 1, 0);
    CHECK_NEAR(num("1 < 2 and 3 < 2"), 0, 0);
    CHECK_NEAR(num("1 < 2 and 3 < 2 or 1"), 1, 0); /* and before or */
    CHECK_NEAR(num("0 or 1 and 0"), 0, 0);
    CHECK_NEAR(num("1 || 0"), 1, 0);
    CHECK_NEAR(num("1 && 0"), 0, 0);
    CHECK_NEAR(num("true and not false"), 1, 0);
    CHECK_NEAR(num("2 == 2"), 1, 0);
    CHECK_NEAR(num("2 != 2"), 0, 0);
    CHECK_NEAR(num("2 <= 2"), 1, 0);
    CHECK_NEAR(num("2 >= 3"), 0, 0);
    CHECK_NEAR(num("2 > 1"), 1, 0);
    CHECK_NEAR(num("nan == nan"), 0, 0);
    CHECK_NEAR(num("not nan"), 1, 0); /* NaN is false */
    CHECK_NEAR(num("(1 < 2) + (2 < 3)"), 2, 0); /* booleans are numbers */
}

TEST(ieee_division)
{
    CHECK(isinf(num("1 / 0")) && num("1 / 0") > 0);
    CHECK(isinf(num("-1 / 0")) && num("-1 / 0") < 0);
    CHECK(isinf(num("1 / -0")) && num("1 / -0") < 0);
    CHECK(isnan(num("0 / 0")));
    CHECK(isnan(num("nan / 0")));
    CHECK(ev("x / 0") == 0);
    for (int i = 0; i < 6; i++) CHECK(isinf(g_v.data[i]));
    CHECK(isnan(num("sqrt(-1)")));
    CHECK(isinf(num("ln(0)")));
    CHECK(ev("exp(x * 1000)") == 0); /* overflows float: inf, no UB */
    CHECK(isinf(g_v.data[0]));
}

TEST(format)
{
    CHECK_STR(fmt("3"), "3");
    CHECK_STR(fmt("1 / 3"), "0.333333");
    CHECK_STR(fmt("V"), "65");
    CHECK_STR(fmt("1e-5"), "1e-05");
    CHECK_STR(fmt("1 < 2"), "true");
    CHECK_STR(fmt("1 > 2"), "false");
    CHECK_STR(fmt("allclose(1, 1)"), "true");
    CHECK_STR(fmt("1 / 0"), "inf");
    CHECK_STR(fmt("-(1 < 2)"), "-1");
    const char *s = fmt("pattern");
    CHECK(starts(s, "shape (2, 3, 3)  dims (h, t, s)\n"));
    CHECK(strstr(s, "[1, 2]") != NULL);
    CHECK(strstr(s, "mean 0.3333") != NULL);
    CHECK(strstr(s, "min 0  max 1") != NULL);
    s = fmt("row");
    CHECK_STR(s, "shape (3,)  dims (c)\n         10         20         30\nmean 20  std 8.165  min 10  max 30");
    s = fmt("big"); /* 20 rows of 20: head and tail of each, with ... */
    CHECK(starts(s, "shape (20, 20)\n[0]           0          1          2          3        ...         16         17         18         19\n"));
    CHECK(strstr(s, "\n...\n[16]") != NULL);
    CHECK(strstr(s, "[4]") == NULL);
    CHECK(strstr(s, "\n[19]          0") == NULL && strstr(s, "\n[19]        380") != NULL); /* labels padded */
    s = fmt("x > 2");
    CHECK(strstr(s, "true 4 of 6") != NULL);
    s = fmt("nanv");
    CHECK(strstr(s, "nan 1") != NULL);
    StrBuf b;
    sb_init(&b);
    expr_format(NULL, &b);
    CHECK_STR(b.s, "(no value)");
    sb_free(&b);
}

TEST(names_and_slices)
{
    CHECK_NEAR(num("loss"), 4.2f, 0);
    CHECK_NEAR(num("V"), 65, 0);
    CHECK_NEAR(num("T - 1"), 2, 0);
    CHECK_NEAR(num("x[1, 2]"), 6, 0);
    CHECK_NEAR(num("x[-1, -1]"), 6, 0);
    CHECK_NEAR(num("x[0][1]"), 2, 0); /* slices chain */
    CHECK_NEAR(num("mean(x[1])"), 5, 1e-12);
    CHECK_NEAR(num("sum(x[:, 1:])"), 2 + 3 + 5 + 6, 0);
    CHECK_NEAR(num("sum(x[:, ::2])"), 1 + 3 + 4 + 6, 0);
    CHECK_NEAR(num("L0.attn.qkv.w[3, 1]"), 7, 0);
    CHECK_NEAR(num("numel(L0.attn.qkv.w[1:3])"), 4, 0);
    CHECK_NEAR(num("mean(pattern[h=1])"), 1.0 / 3.0, 1e-7);
    CHECK_NEAR(num("sum(L0.pattern[h=0, t=2])"), 1, 1e-6);
    CHECK_NEAR(num("pattern[h=0, t=2, s=0]"), 1.0 / 3.0, 1e-7);
    CHECK_NEAR(num("x [1, 0]"), 4, 0); /* space before the bracket */
    CHECK(ev("pattern[h=0]") == 0);
    CHECK(g_v.ndim == 2 && g_v.shape[0] == 3 && g_v.shape[1] == 3);
    CHECK(g_v.dimname[0] == 't' && g_v.dimname[1] == 's');
    CHECK(ev("pattern[h=0, t=1]") == 0);
    CHECK(g_v.ndim == 1 && g_v.shape[0] == 3 && g_v.dimname[0] == 's');
    CHECK(g_v.data[0] == 0.5f && g_v.data[1] == 0.5f && g_v.data[2] == 0);
    /* slices of computed values */
    CHECK_NEAR(num("(x * 2)[1, 2]"), 12, 0);
    CHECK(ev("rowsum(pattern)[1]") == 0);
    CHECK(g_v.ndim == 1 && g_v.shape[0] == 3 && g_v.dimname[0] == 't');
    CHECK(ev("rowsum(pattern)[h=1]") == 0);
    CHECK(g_v.ndim == 1);
    CHECK(ev("(x > 3)[1]") == 0);
    CHECK(g_v.is_bool && expr_truthy(&g_v));
}

TEST(broadcasting)
{
    CHECK(ev("x + 1") == 0);
    CHECK(g_v.ndim == 2 && g_v.shape[0] == 2 && g_v.shape[1] == 3);
    CHECK(g_v.data[0] == 2 && g_v.data[5] == 7);
    CHECK(ev("10 - x") == 0);
    CHECK(g_v.data[0] == 9 && g_v.data[5] == 4);
    CHECK(ev("x * x") == 0);
    CHECK(g_v.data[4] == 25);
    CHECK(ev("x / x") == 0);
    CHECK(g_v.data[3] == 1);
    CHECK(ev("2 ^ x") == 0);
    CHECK(g_v.data[5] == 64);
    CHECK(ev("x + row") == 0); /* (2, 3) + (3,): the row is added to each row */
    CHECK(g_v.ndim == 2 && g_v.data[0] == 11 && g_v.data[3] == 14 && g_v.data[5] == 36);
    CHECK(ev("row - x") == 0);
    CHECK(g_v.ndim == 2 && g_v.data[0] == 9 && g_v.data[5] == 24);
    CHECK(ev("rowsum(x)[0:1] + 0 * x[0]") == 0); /* (1,) with (3,) → (3,) */
    CHECK(g_v.ndim == 1 && g_v.shape[0] == 3 && g_v.data[2] == 6);
    CHECK(ev("pattern * 2") == 0);
    CHECK(g_v.ndim == 3 && g_v.dimname[0] == 'h' && g_v.dimname[2] == 's');
    CHECK(ev("pattern - pattern[h=0]") == 0); /* (2,3,3) - (3,3) */
    CHECK(g_v.ndim == 3 && g_v.data[0] == 0 && g_v.data[9] == 0 && g_v.data[10] == 0);
    CHECK_STR(err("x + pattern"), "shapes (2, 3) and (2, 3, 3) don't match for '+'");
    CHECK_STR(err("x * L0.attn.qkv.w"), "shapes (2, 3) and (4, 2) don't match for '*'");
    CHECK_STR(err("row < L0.attn.qkv.w[0]"), "shapes (3,) and (2,) don't match for '<'");
    /* comparisons: elementwise, and check means all */
    CHECK(ev("x > 0") == 0);
    CHECK(g_v.is_bool && expr_truthy(&g_v));
    CHECK(ev("x > 1") == 0);
    CHECK(g_v.data[0] == 0 && g_v.data[1] == 1 && !expr_truthy(&g_v));
    CHECK(ev("x > 1 or x == 1") == 0);
    CHECK(expr_truthy(&g_v));
    CHECK(ev("not (x > 1)") == 0);
    CHECK(g_v.data[0] == 1 && g_v.data[1] == 0);
    CHECK(ev("-x") == 0);
    CHECK(g_v.data[5] == -6 && !g_v.is_bool);
}

TEST(functions)
{
    CHECK_NEAR(num("mean(x)"), 3.5, 1e-12);
    CHECK_NEAR(num("var(x)"), 35.0 / 12.0, 1e-12);
    CHECK_NEAR(num("std(x)"), sqrt(35.0 / 12.0), 1e-12);
    CHECK_NEAR(num("min(x)"), 1, 0);
    CHECK_NEAR(num("max(x)"), 6, 0);
    CHECK_NEAR(num("sum(x)"), 21, 0);
    CHECK_NEAR(num("numel(pattern)"), 18, 0);
    CHECK_NEAR(num("numel(loss)"), 1, 0);
    CHECK_NEAR(num("mean(loss)"), 4.2f, 0);
    CHECK_NEAR(num("maxabs(-x)"), 6, 0);
    CHECK_NEAR(num("maxabs(x - 10)"), 9, 0);
    CHECK_NEAR(num("abs(-3)"), 3, 0);
    CHECK_NEAR(num("exp(0)"), 1, 0);
    CHECK_NEAR(num("exp(1)"), M_E, 1e-15);
    CHECK_NEAR(num("ln(V)"), log(65.0), 1e-15);
    CHECK_NEAR(num("log(exp(2))"), 2, 1e-15);
    CHECK_NEAR(num("sqrt(16)"), 4, 0);
    CHECK_NEAR(num("tanh(0)"), 0, 0);
    CHECK_NEAR(num("tanh(100)"), 1, 1e-15);
    CHECK_NEAR(num("any(x > 5)"), 1, 0);
    CHECK_NEAR(num("all(x > 5)"), 0, 0);
    CHECK_NEAR(num("sum(x > 2)"), 4, 0);
    CHECK_NEAR(num("min(3, 5)"), 3, 0);
    CHECK_NEAR(num("max(3, 5)"), 5, 0);
    CHECK(ev("max(x - 3, 0)") == 0); /* ReLU */
    CHECK(g_v.ndim == 2 && g_v.data[0] == 0 && g_v.data[2] == 0 && g_v.data[5] == 3);
    CHECK(ev("abs(x - 4)") == 0);
    CHECK(g_v.ndim == 2 && g_v.data[0] == 3 && g_v.data[3] == 0);
    CHECK(ev("sqrt(x * x)") == 0);
    CHECK(g_v.data[5] == 6);
    /* reductions propagate NaN */
    CHECK(isnan(num("mean(nanv)")));
    CHECK(isnan(num("max(nanv)")));
    CHECK(isnan(num("maxabs(nanv)")));
    CHECK_NEAR(num("nanv[0] + nanv[2]"), 4, 0);
}

TEST(row_functions)
{
    CHECK(ev("rowsum(pattern)") == 0);
    CHECK(g_v.ndim == 2 && g_v.shape[0] == 2 && g_v.shape[1] == 3);
    CHECK(g_v.dimname[0] == 'h' && g_v.dimname[1] == 't');
    for (int i = 0; i < 6; i++) CHECK_NEAR(g_v.data[i], 1, 1e-6);
    CHECK(ev("rowsum(x)") == 0);
    CHECK(g_v.ndim == 1 && g_v.data[0] == 6 && g_v.data[1] == 15);
    CHECK_NEAR(num("rowsum(row)"), 60, 0); /* 1-D → scalar */
    CHECK(ev("rowmax(pattern)") == 0);
    CHECK(g_v.ndim == 2);
    CHECK_NEAR(g_v.data[0], 1, 0);
    CHECK_NEAR(g_v.data[1], 0.5, 0);
    CHECK_NEAR(g_v.data[2], 1.0 / 3.0, 1e-7);
    CHECK_NEAR(g_v.data[3], 1, 0);
    CHECK(ev("rowmean(x)") == 0);
    CHECK(g_v.data[0] == 2 && g_v.data[1] == 5);
    CHECK_NEAR(num("argmax(row)"), 2, 0);
    CHECK_NEAR(num("argmax(-row)"), 0, 0);
    CHECK(ev("argmax(x * (x != 5))") == 0); /* (2,3) → (2,) of indices */
    CHECK(g_v.ndim == 1 && g_v.shape[0] == 2 && g_v.data[0] == 2 && g_v.data[1] == 2);
    CHECK(ev("argmax(pattern[h=1])") == 0); /* the diagonal */
    CHECK(g_v.data[0] == 0 && g_v.data[1] == 1 && g_v.data[2] == 2);
    CHECK_NEAR(num("argmax(row * 0)"), 0, 0); /* ties: the first */
    CHECK(ev("softmax(row / 10)") == 0);
    CHECK(g_v.ndim == 1);
    CHECK_NEAR(g_v.data[0] + g_v.data[1] + g_v.data[2], 1, 1e-6);
    CHECK_NEAR(g_v.data[2] / g_v.data[1], M_E, 1e-5);
    CHECK_NEAR(num("allclose(rowsum(softmax(pattern)), 1, 1e-6)"), 1, 0);
    CHECK_NEAR(num("allclose(softmax(1000 * row), row == 30, 0)"), 1, 0); /* stable */
    CHECK_STR(err("rowsum(3)"), "rowsum() needs a tensor, got a scalar");
    CHECK_STR(err("argmax(loss)"), "argmax() needs a tensor, got a scalar");
}

TEST(allclose_and_checks)
{
    CHECK_NEAR(num("allclose(rowsum(pattern), 1, 1e-6)"), 1, 0);
    CHECK(g_v.is_bool);
    CHECK_NEAR(num("allclose(x, x + 1e-3, 1e-4)"), 0, 0);
    CHECK_NEAR(num("allclose(x, x + 1e-3, 1e-2)"), 1, 0);
    CHECK_NEAR(num("allclose(x, x)"), 1, 0);
    CHECK_NEAR(num("allclose(nanv, nanv, 1)"), 0, 0); /* NaN is never close */
    CHECK_NEAR(num("allclose(x + row, row + x, 0)"), 1, 0);
    CHECK_STR(err("allclose(x, x, x)"), "allclose(): tol must be a scalar");
    CHECK_STR(err("allclose(x, pattern)"), "shapes (2, 3) and (2, 3, 3) don't match for '-'");
    /* the lesson's check: the init loss is close to ln V */
    CHECK(ev("abs(loss - ln(V)) < 0.15") == 0);
    CHECK(g_v.is_bool && expr_truthy(&g_v));
    CHECK(ev("abs(loss - ln(V)) < 0.01") == 0);
    CHECK(!expr_truthy(&g_v));
    CHECK(ev("check_me") != 0);
    CHECK(ev("rowsum(L0.pattern) > 0.99 and rowsum(L0.pattern) < 1.01") == 0);
    CHECK(expr_truthy(&g_v));
    CHECK(ev("nan") == 0);
    CHECK(!expr_truthy(&g_v));
    CHECK(ev("0.5") == 0);
    CHECK(expr_truthy(&g_v));
    CHECK(ev("-inf") == 0);
    CHECK(expr_truthy(&g_v));
    CHECK(!expr_truthy(NULL));
}

TEST(errors)
{
    /* the lookup's message passes through */
    CHECK_STR(err("L9.q"), "unknown tensor 'L9.q' (the model has 2 layers)");
    CHECK_STR(err("mean(L9.q) + 1"), "unknown tensor 'L9.q' (the model has 2 layers)");
    CHECK_STR(err("ln"), "'ln' is a function: write ln(x)");
    CHECK_STR(err("broken"), "tensor 'broken' has an invalid shape");
    /* slices */
    CHECK_STR(err("x[3:a]"), "x[3:a]: bad slice '3:a'");
    CHECK_STR(err("L0.pattern[h=5]"), "L0.pattern[h=5]: index 5 out of range for dim 'h' (size 2)");
    CHECK_STR(err("x[7]"), "x[7]: index 7 out of range for dim 0 (size 2)");
    CHECK_STR(err("x[0,0,0]"), "x[0,0,0]: too many indices (3) for a 2-D tensor");
    CHECK_STR(err("pattern[q=1]"), "pattern[q=1]: unknown dimension name 'q' (this tensor has h, t, s)");
    CHECK_STR(err("loss[0]"), "loss[0]: too many indices (1) for a 0-D tensor");
    CHECK_STR(err("(x + 1)[5]"), "[5]: index 5 out of range for dim 0 (size 2)");
    CHECK_STR(err("x[0"), "syntax error at column 2: '[' without a matching ']'");
    /* syntax errors name the column */
    CHECK_STR(err("mean(x"), "syntax error at column 7: expected ')' (the expression ended)");
    CHECK_STR(err("mean(x y)"), "syntax error at column 8: expected ')', found 'y'");
    CHECK_STR(err("(1 + 2"), "syntax error at column 7: expected ')' (the expression ended)");
    CHECK_STR(err("1 +"), "syntax error at column 4: expected a number, a name or '(' (the expression ended)");
    CHECK_STR(err("1 + * 2"), "syntax error at column 5: expected a number, a name or '(', found '*'");
    CHECK_STR(err("1 2"), "syntax error at column 3: expected an operator, found '2'");
    CHECK_STR(err("1 + 2)"), "syntax error at column 6: unexpected ')'");
    CHECK_STR(err("1 < 2 < 3"), "syntax error at column 7: comparisons can't be chained (write a < b and b < c)");
    CHECK_STR(err("a = 1"), "syntax error at column 3: '=' is not an operator (use == to compare)");
    CHECK_STR(err("1 @ 2"), "'@' needs tensors on both sides (use * with a scalar)");
    CHECK_STR(err("1 $ 2"), "syntax error at column 3: unexpected character '$'");
    CHECK_STR(err("1 & 2"), "syntax error at column 3: unexpected '&' (use && or and)");
    CHECK_STR(err("1 | 2"), "syntax error at column 3: unexpected '|' (use || or or)");
    CHECK_STR(err("1 \xff"), "syntax error at column 3: unexpected byte 0xff");
    CHECK_STR(err("x ]"), "syntax error at column 3: unexpected character ']'");
    CHECK_STR(err("mean(,)"), "syntax error at column 6: expected a number, a name or '(', found ','");
    CHECK_STR(err("[0]"), "syntax error at column 1: expected a number, a name or '(', found '[0]'");
    /* functions */
    CHECK(starts(err("foo(1)"), "unknown function 'foo' (known: mean, std, var, min, max, sum, numel,"));
    CHECK(strstr(err("foo(1)"), "rowsum") && strstr(err("foo(1)"), "allclose"));
    CHECK_STR(err("mean(1, 2)"), "mean() takes 1 argument, got more (usage: mean(x))");
    CHECK_STR(err("mean()"), "mean() takes 1 argument, got 0 (usage: mean(x))");
    CHECK_STR(err("allclose(1)"), "allclose() takes 2 or 3 arguments, got 1 (usage: allclose(a, b[, tol]))");
    CHECK_STR(err("allclose(1, 2, 3, 4)"), "allclose() takes 2 or 3 arguments, got more (usage: allclose(a, b[, tol]))");
    CHECK_STR(err("loss(1)"), "unknown function 'loss' (known: mean, std, var, min, max, sum, numel, maxabs, any, all, abs, exp, ln, log, sqrt, tanh, rowsum, rowmax, rowmean, argmax, softmax, entropy, norm, allclose, transpose, topk, id, decode, logit, prob)");
    /* empty input */
    CHECK_STR(err(""), "empty expression");
    CHECK_STR(err("   \t "), "empty expression");
    ExprValue v;
    GrErr e;
    CHECK(expr_eval(NULL, fake_lookup, NULL, &v, &e) == -1);
    CHECK_STR(e.msg, "empty expression");
    CHECK(expr_eval("1", fake_lookup, NULL, NULL, &e) == -1);
    CHECK(expr_eval("1 +", fake_lookup, NULL, &v, NULL) == -1); /* no error buffer */
    CHECK(v.data == NULL);
    /* no lookup at all: names are unknown, numbers still work */
    CHECK(expr_eval("x", NULL, NULL, &v, &e) == -1);
    CHECK_STR(e.msg, "unknown name 'x'");
    CHECK(expr_eval("2 * 3", NULL, NULL, &v, &e) == 0);
    CHECK(v.scalar == 6);
    expr_value_free(&v);
    expr_value_free(&v); /* freeing twice is harmless */
    /* a name longer than any tensor's */
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK_STR(err(longname), "name too long (399 characters)");
}

TEST(limits)
{
    static char buf[8192];
    /* nesting within the limit works */
    int d = 150, k = 0;
    for (int i = 0; i < d; i++) buf[k++] = '(';
    buf[k++] = '1';
    for (int i = 0; i < d; i++) buf[k++] = ')';
    buf[k] = 0;
    CHECK_NEAR(num(buf), 1, 0);
    /* too deep: a clean error, no stack overflow */
    k = 0;
    for (int i = 0; i < 3000; i++) buf[k++] = '(';
    buf[k] = 0;
    CHECK_STR(err(buf), "expression nested too deeply (more than 200 levels)");
    k = 0;
    for (int i = 0; i < 3000; i++) buf[k++] = '-';
    buf[k++] = '1';
    buf[k] = 0;
    CHECK_STR(err(buf), "expression nested too deeply (more than 200 levels)");
    k = 0;
    for (int i = 0; i < 1000; i++) { memcpy(buf + k, "not ", 4); k += 4; }
    buf[k++] = '1';
    buf[k] = 0;
    CHECK_STR(err(buf), "expression nested too deeply (more than 200 levels)");
    k = 0;
    for (int i = 0; i < 1000; i++) { memcpy(buf + k, "abs(", 4); k += 4; }
    buf[k] = 0;
    CHECK_STR(err(buf), "expression nested too deeply (more than 200 levels)");
    k = 0;
    for (int i = 0; i < 1000; i++) { memcpy(buf + k, "2^", 2); k += 2; }
    buf[k++] = '1';
    buf[k] = 0;
    CHECK_STR(err(buf), "expression nested too deeply (more than 200 levels)");
    /* a long flat expression is fine up to the length cap */
    k = 0;
    buf[k++] = '0';
    while (k < EXPR_MAX_LEN - 2) { buf[k++] = '+'; buf[k++] = '1'; }
    buf[k] = 0;
    CHECK_NEAR(num(buf), (EXPR_MAX_LEN - 2) / 2, 0);
    memset(buf, '1', EXPR_MAX_LEN + 10);
    buf[EXPR_MAX_LEN + 10] = 0;
    CHECK_STR(err(buf), "expression too long (limit 4096 characters)");
    /* a very long number */
    memset(buf, '9', 500);
    buf[500] = 0;
    CHECK(starts(err(buf), "syntax error at column 1: bad number '9999"));
    /* huge broadcast results are refused, not allocated */
    CHECK(ev("x[0:1] + x[0:1]") == 0);
}

/* ---- no crash, no leak on random input (the fuzzer does this at scale) ---- */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32);
}

static void eval_any(const char *s)
{
    ExprValue v;
    GrErr e;
    e.msg[0] = 0;
    int rc = expr_eval(s, fake_lookup, NULL, &v, &e);
    if (rc == 0) {
        CHECK(v.data != NULL);
        StrBuf b;
        sb_init(&b);
        expr_format(&v, &b);
        (void)expr_truthy(&v);
        sb_free(&b);
    } else {
        CHECK(rc == -1 && e.msg[0] != 0 && v.data == NULL);
    }
    expr_value_free(&v);
}

TEST(random_bytes_no_crash)
{
    char buf[80];
    for (int it = 0; it < 20000; it++) {
        int n = (int)(rnd() % 64);
        for (int i = 0; i < n; i++) {
            uint32_t r = rnd();
            static const char alpha[] = "0123456789.e+-*/^()[],:=<>!&|x hs";
            buf[i] = (r & 3) == 0 ? (char)((r >> 8) % 255 + 1) : alpha[(r >> 8) % (sizeof alpha - 1)];
        }
        buf[n] = 0;
        eval_any(buf);
    }
}

TEST(random_tokens_no_crash)
{
    static const char *const frags[] = {
        "pattern", "L0.pattern", "x", "row", "loss", "V", "T", "nanv", "big", "L9.q", "broken",
        "[h=0]", "[h=1,t=2]", "[0]", "[-1]", "[:,1:]", "[::2]", "[t=", "[", "]", "[5]", "[s=0]",
        "(", ")", ",", "+", "-", "*", "/", "^", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or",
        "not", "!", "&&", "||", "1", "0", "2.5", "1e-5", ".5", "1e308", "inf", "nan", "pi", "true",
        "mean(", "std(", "var(", "min(", "max(", "sum(", "numel(", "maxabs(", "any(", "all(", "abs(",
        "exp(", "ln(", "log(", "sqrt(", "tanh(", "rowsum(", "rowmax(", "rowmean(", "argmax(",
        "softmax(", "allclose(", "foo(", " ", "=", "@", "transpose(", "topk(", "entropy(", "norm(",
        "id(", "decode(", "logit(", "prob(", "\"a\"", "\"", "\"\\n\"", "\"ab\"",
    };
    const int nf = (int)(sizeof frags / sizeof frags[0]);
    char buf[512];
    for (int it = 0; it < 20000; it++) {
        int n = (int)(rnd() % 14) + 1, k = 0;
        for (int i = 0; i < n; i++) {
            const char *f = frags[rnd() % (uint32_t)nf];
            size_t l = strlen(f);
            if (k + l + 1 >= sizeof buf) break;
            memcpy(buf + k, f, l);
            k += (int)l;
        }
        buf[k] = 0;
        eval_any(buf);
        /* and with the parentheses closed, so more of them evaluate */
        int open = 0;
        for (int i = 0; i < k; i++) open += buf[i] == '(' ? 1 : buf[i] == ')' ? -1 : 0;
        while (open-- > 0 && k + 2 < (int)sizeof buf) { buf[k++] = ')'; buf[k] = 0; }
        eval_any(buf);
    }
}

TEST(view_of_value)
{
    CHECK(ev("pattern[h=1] * 2") == 0);
    TensorView t = expr_value_view(&g_v);
    CHECK(t.ndim == 2 && t.shape[0] == 3 && t.dimname[0] == 't');
    CHECK(tv_get(&t, 4) == 2.0f);
    CHECK(g_lookups > 0);
}

/* ---- a fake tokenizer: every byte is a token; "logits"/"probs" are x (2, 3) ---- */
static int fake_piece(void *ctx, const char *text, GrErr *e)
{
    (void)ctx;
    if (strlen(text) != 1) return gr_fail(e, "\"%s\" is %zu tokens", text, strlen(text));
    return (unsigned char)text[0] % 3;
}
static void fake_decode(void *ctx, const int *ids, size_t n, StrBuf *out)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) sb_putc(out, (char)('a' + ids[i]));
}
static int fake_lookup2(void *ctx, const char *name, TensorView *out, GrErr *e)
{
    if (!strcmp(name, "logits") || !strcmp(name, "probs")) name = "x";
    return fake_lookup(ctx, name, out, e);
}
static const ExprHost HOST = {.lookup = fake_lookup2, .piece_id = fake_piece, .decode = fake_decode, .vocab = 3};

static double hnum(const char *src)
{
    expr_value_free(&g_v);
    if (expr_eval_host(src, &HOST, &g_v, &g_e) != 0 || g_v.ndim != 0 || g_v.str) {
        fprintf(stderr, "  '%s': %s\n", src, g_e.msg);
        h_cur_failed = 1;
        return NAN;
    }
    return g_v.scalar;
}

static const char *hstr(const char *src)
{
    static StrBuf b;
    sb_free(&b);
    sb_init(&b);
    expr_value_free(&g_v);
    if (expr_eval_host(src, &HOST, &g_v, &g_e) != 0) return g_e.msg;
    expr_format(&g_v, &b);
    return b.s ? b.s : "";
}

TEST(matmul_transpose_topk)
{
    /* x = [[1 2 3] [4 5 6]]: x @ xᵀ = [[14 32] [32 77]], row @ x-row, etc. */
    CHECK_NEAR(num("sum(x @ transpose(x))"), 14 + 32 + 32 + 77, 0);
    CHECK_NEAR(num("(x @ transpose(x))[1, 0]"), 32, 0);
    CHECK_NEAR(num("row @ row"), 100 + 400 + 900, 0);
    CHECK_NEAR(num("(x @ row)[1]"), 40 + 100 + 180, 0);
    CHECK_NEAR(num("(row[0:2] @ x)[2]"), 10 * 3 + 20 * 6, 0);
    CHECK_NEAR(num("numel(transpose(x) @ x)"), 9, 0);
    CHECK_NEAR(num("all(2 * x @ transpose(x) == (2 * x) @ transpose(x))"), 1, 0); /* left to right, as * and / */
    CHECK(starts(err("x @ x"), "shapes (2, 3) and (2, 3) don't match for '@'"));
    CHECK(starts(err("pattern @ pattern"), "'@' takes 1-D or 2-D operands"));
    CHECK_NEAR(num("transpose(x)[2, 1]"), 6, 0);
    CHECK_NEAR(num("sum(transpose(pattern)[h=0, 0])"), 1 + 0.5 + 1.0 / 3, 1e-6); /* column 0 of head 0 */
    CHECK_NEAR(num("transpose(row)[1]"), 20, 0);
    /* topk: indices, largest first, per row; ties to the lower index; NaN never */
    CHECK_NEAR(num("topk(row, 1)[0]"), 2, 0);
    CHECK_NEAR(num("topk(row, 3)[2]"), 0, 0);
    CHECK_NEAR(num("topk(x, 2)[1, 1]"), 1, 0);
    CHECK_NEAR(num("topk(nanv, 2)[1]"), 0, 0);
    CHECK(starts(err("topk(row, 4)"), "topk(): k = 4 but the last dimension has 3"));
    CHECK(starts(err("topk(row, 1.5)"), "topk(): k must be a whole number"));
    /* entropy and norm over the last dimension */
    CHECK_NEAR(num("entropy(pattern[h=0, 2])"), log(3), 1e-6);
    CHECK_NEAR(num("entropy(pattern[h=1])[2]"), 0, 0);
    CHECK_NEAR(num("norm(row)"), sqrt(1400), 1e-9);
    CHECK_NEAR(num("norm(x)[1]"), sqrt(16 + 25 + 36), 1e-6);
}

TEST(strings_and_tokens)
{
    CHECK_STR(hstr("\"a\\nb\""), "\"a\\nb\"");
    CHECK_NEAR(hnum("\"ab\" == \"ab\""), 1, 0);
    CHECK_NEAR(hnum("\"ab\" != \"ab\""), 0, 0);
    CHECK_STR(hstr("\"a\" + 1"), "'+' with a string: strings only compare with == and != to strings");
    CHECK_STR(hstr("\"a\" == 1"), "'==' with a string: strings only compare with == and != to strings");
    CHECK_STR(hstr("mean(\"a\")"), "mean(): argument 1 is a string; it takes numbers (usage: mean(x))");
    CHECK_STR(hstr("-\"a\""), "arithmetic on a string (\"a\")");
    CHECK_STR(hstr("\"ab\"[0]"), "a string cannot be sliced");
    CHECK_STR(hstr("\"ab"), "syntax error at column 1: '\"' without a closing '\"'");
    /* id: 'a' = 97 → 1; decode; logit/prob read (T, V) = x */
    CHECK_NEAR(hnum("id(\"a\")"), 1, 0);
    CHECK_STR(hstr("decode(2)"), "\"c\"");
    CHECK_STR(hstr("decode(topk(row, 3))"), "\"cba\"");
    CHECK_NEAR(hnum("decode(0) == \"a\""), 1, 0);
    CHECK_NEAR(hnum("logit(\"a\")"), 5, 0);
    CHECK_NEAR(hnum("prob(\"b\", 0)"), 3, 0);
    CHECK_NEAR(hnum("logit(\"a\", -2)"), 2, 0);
    CHECK_STR(hstr("logit(\"a\", 2)"), "logit(): pos 2 is not in 0..1 (or -2..-1)");
    CHECK_STR(hstr("id(\"ab\")"), "\"ab\" is 2 tokens");
    CHECK_STR(hstr("id(3)"), "id(): argument 1 must be a string in quotes (usage: id(\"piece\"))");
    CHECK_STR(hstr("decode(3)"), "decode(): 3 is not a token id (0..2)");
    CHECK_STR(hstr("decode(x)"), "decode() takes an id or a 1-D tensor of ids");
    /* without a tokenizer */
    CHECK_STR(err("id(\"a\")"), "id() needs a model and its tokenizer");
    expr_value_free(&g_v);
}

int main(void)
{
    setup();
    RUN(numbers);
    RUN(precedence);
    RUN(ieee_division);
    RUN(format);
    RUN(names_and_slices);
    RUN(broadcasting);
    RUN(functions);
    RUN(row_functions);
    RUN(allclose_and_checks);
    RUN(errors);
    RUN(limits);
    RUN(random_bytes_no_crash);
    RUN(random_tokens_no_crash);
    RUN(view_of_value);
    RUN(matmul_transpose_topk);
    RUN(strings_and_tokens);
    expr_value_free(&g_v);
    return harness_done("expr");
}
