/* fuzz_expr.c — the expression evaluator (repl/expr.c) with a fake lookup: a few
 * tensors of every rank the REPL hands out (0-D to 4-D, with dimension names, NaN and
 * inf among the values), names that fail, and a deliberately large one. */
#include "fuzz_util.h"
#include "repl/expr.h"

#include <math.h>

static float g_a[1], g_x[5], g_m[12], g_p[2 * 3 * 3], g_q[2 * 2 * 3 * 2], g_n[4], g_big[64 * 64];
static int g_ready;

static void init_data(void)
{
    if (g_ready) return;
    g_ready = 1;
    g_a[0] = 2.5f;
    for (int i = 0; i < 5; i++) g_x[i] = (float)i - 2.0f;
    for (int i = 0; i < 12; i++) g_m[i] = (float)(i % 5) * 0.25f - 0.5f;
    for (int i = 0; i < 18; i++) g_p[i] = 1.0f / 3.0f;
    for (int i = 0; i < 24; i++) g_q[i] = (float)i;
    g_n[0] = NAN; g_n[1] = INFINITY; g_n[2] = -INFINITY; g_n[3] = 1.0f;
    for (int i = 0; i < 64 * 64; i++) g_big[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
}

static int fake_lookup(void *ctx, const char *name, TensorView *out, GrErr *e)
{
    (void)ctx;
    if (!strcmp(name, "a") || !strcmp(name, "loss")) { *out = tv_make(g_a, 0, NULL); return 0; }
    if (!strcmp(name, "V") || !strcmp(name, "T")) { static float v = 16; *out = tv_make(&v, 0, NULL); return 0; }
    if (!strcmp(name, "x")) { int s[1] = {5}; *out = tv_make(g_x, 1, s); return 0; }
    if (!strcmp(name, "m") || !strcmp(name, "L0.ln1")) {
        int s[2] = {3, 4};
        *out = tv_make(g_m, 2, s);
        out->dimname[0] = 't';
        out->dimname[1] = 'c';
        return 0;
    }
    if (!strcmp(name, "p") || !strcmp(name, "L0.pattern")) {
        int s[3] = {2, 3, 3};
        *out = tv_make(g_p, 3, s);
        out->dimname[0] = 'h';
        out->dimname[1] = 't';
        out->dimname[2] = 's';
        return 0;
    }
    if (!strcmp(name, "q")) { int s[4] = {2, 2, 3, 2}; *out = tv_make(g_q, 4, s); return 0; }
    if (!strcmp(name, "n")) { int s[1] = {4}; *out = tv_make(g_n, 1, s); return 0; }
    if (!strcmp(name, "e")) { int s[1] = {0}; *out = tv_make(g_x, 1, s); return 0; }
    if (!strcmp(name, "big")) {
        int s[2] = {64, 64};
        *out = tv_make(g_big, 2, s);
        out->dimname[0] = 'v';
        out->dimname[1] = 'c';
        return 0;
    }
    return gr_fail(e, "unknown tensor '%s'", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_data();
    if (size > 8192) return 0;
    char *src = malloc(size + 1);
    if (!src) return 0;
    memcpy(src, data, size);
    src[size] = 0; /* expr_eval takes C strings: the text stops at the first NUL */
    ExprValue v;
    GrErr e = {{0}};
    if (expr_eval(src, fake_lookup, NULL, &v, &e) == 0) {
        StrBuf b;
        sb_init(&b);
        expr_format(&v, &b);
        (void)expr_truthy(&v);
        TensorView tv = expr_value_view(&v);
        (void)tv_numel(&tv);
        sb_free(&b);
        expr_value_free(&v);
    } else {
        if (!e.msg[0]) abort();
        expr_value_free(&v); /* documented as harmless after a failure */
    }
    free(src);
    return 0;
}
