/* test_tensor.c — views, slices (positional, named, steps, every error), stats. */
#include "harness.h"
#include "tensor.h"

#include <math.h>
#include <string.h>

static float g_data[24]; /* 0..23 */

static TensorView cube(void) /* (2, 3, 4), values = flat index */
{
    for (int i = 0; i < 24; i++) g_data[i] = (float)i;
    int shape[3] = {2, 3, 4};
    return tv_make(g_data, 3, shape);
}

static TensorView pattern(void) /* (2, 3, 4) named h, t, s */
{
    TensorView v = cube();
    v.dimname[0] = 'h';
    v.dimname[1] = 't';
    v.dimname[2] = 's';
    return v;
}

static void values(const TensorView *v, float *out) { tv_copy_out(v, out); }

/* Slices v with spec and returns the error message ("" when it succeeded). */
static const char *slice_err(const TensorView *v, const char *spec)
{
    static GrErr e;
    TensorView r;
    e.msg[0] = 0;
    if (tv_slice(v, spec, &r, &e) == 0) return "";
    return e.msg;
}

TEST(make_numel_get)
{
    TensorView v = cube();
    CHECK(v.ndim == 3);
    CHECK(tv_numel(&v) == 24);
    CHECK(v.stride[0] == 12 && v.stride[1] == 4 && v.stride[2] == 1);
    CHECK(tv_get(&v, 0) == 0.0f);
    CHECK(tv_get(&v, 23) == 23.0f);
    CHECK(tv_get(&v, 13) == 13.0f);
    float x = 7.5f;
    TensorView s = tv_make(&x, 0, NULL);
    CHECK(s.ndim == 0);
    CHECK(tv_numel(&s) == 1);
    CHECK(tv_get(&s, 0) == 7.5f);
    float out = 0;
    tv_copy_out(&s, &out);
    CHECK(out == 7.5f);
}

TEST(shape_str)
{
    char buf[64];
    int shape[3] = {12, 64, 64};
    TensorView v = tv_make(g_data, 3, shape);
    tv_shape_str(&v, buf, sizeof buf);
    CHECK_STR(buf, "(12, 64, 64)");
    v = tv_make(g_data, 1, shape);
    tv_shape_str(&v, buf, sizeof buf);
    CHECK_STR(buf, "(12,)");
    v = tv_make(g_data, 0, NULL);
    tv_shape_str(&v, buf, sizeof buf);
    CHECK_STR(buf, "()");
    v = tv_make(g_data, 3, shape);
    tv_shape_str(&v, buf, 6); /* truncates, stays terminated */
    CHECK(strlen(buf) == 5);
    CHECK(strncmp(buf, "(12, ", 5) == 0);
}

TEST(slice_positional)
{
    TensorView v = cube(), r;
    GrErr e;
    float out[24];
    CHECK(tv_slice(&v, "1", &r, &e) == 0);
    CHECK(r.ndim == 2 && r.shape[0] == 3 && r.shape[1] == 4);
    CHECK(tv_get(&r, 0) == 12.0f);
    CHECK(tv_slice(&v, "1,2", &r, &e) == 0);
    CHECK(r.ndim == 1 && r.shape[0] == 4);
    values(&r, out);
    CHECK(out[0] == 20 && out[3] == 23);
    CHECK(tv_slice(&v, "0,1,2", &r, &e) == 0);
    CHECK(r.ndim == 0 && r.data[0] == 6.0f);
    CHECK(tv_slice(&v, "-1,-1,-1", &r, &e) == 0);
    CHECK(r.ndim == 0 && r.data[0] == 23.0f);
    CHECK(tv_slice(&v, ":,1", &r, &e) == 0); /* (2, 4): rows 4..7 and 16..19 */
    CHECK(r.ndim == 2 && r.shape[0] == 2 && r.shape[1] == 4);
    values(&r, out);
    CHECK(out[0] == 4 && out[3] == 7 && out[4] == 16 && out[7] == 19);
    CHECK(tv_slice(&v, "0,:,1:3", &r, &e) == 0); /* (3, 2) */
    CHECK(r.ndim == 2 && r.shape[0] == 3 && r.shape[1] == 2);
    values(&r, out);
    CHECK(out[0] == 1 && out[1] == 2 && out[2] == 5 && out[5] == 10);
    CHECK(tv_slice(&v, "", &r, &e) == 0);
    CHECK(r.ndim == 3 && r.data == v.data && tv_numel(&r) == 24);
    CHECK(tv_slice(&v, "   ", &r, &e) == 0);
    CHECK(r.ndim == 3);
    CHECK(tv_slice(&v, NULL, &r, &e) == 0);
    CHECK(r.ndim == 3);
}

TEST(slice_ranges_python_semantics)
{
    TensorView v = cube(), r;
    GrErr e;
    float out[24];
    CHECK(tv_slice(&v, "0,0,1:", &r, &e) == 0);
    CHECK(r.shape[0] == 3 && r.data[0] == 1);
    CHECK(tv_slice(&v, "0,0,:2", &r, &e) == 0);
    CHECK(r.shape[0] == 2);
    CHECK(tv_slice(&v, "0,0,-2:", &r, &e) == 0);
    CHECK(r.shape[0] == 2 && r.data[0] == 2);
    CHECK(tv_slice(&v, "0,0,:-1", &r, &e) == 0);
    CHECK(r.shape[0] == 3);
    CHECK(tv_slice(&v, "0,0,1:100", &r, &e) == 0); /* clamps */
    CHECK(r.shape[0] == 3);
    CHECK(tv_slice(&v, "0,0,-100:2", &r, &e) == 0);
    CHECK(r.shape[0] == 2 && r.data[0] == 0);
    CHECK(tv_slice(&v, "0,0,::2", &r, &e) == 0);
    CHECK(r.shape[0] == 2 && r.stride[0] == 2);
    values(&r, out);
    CHECK(out[0] == 0 && out[1] == 2);
    CHECK(tv_slice(&v, "0,0,1::2", &r, &e) == 0);
    values(&r, out);
    CHECK(r.shape[0] == 2 && out[0] == 1 && out[1] == 3);
    CHECK(tv_slice(&v, "0,0,0:4:3", &r, &e) == 0);
    values(&r, out);
    CHECK(r.shape[0] == 2 && out[0] == 0 && out[1] == 3);
    CHECK(tv_slice(&v, "0,0,::100", &r, &e) == 0);
    CHECK(r.shape[0] == 1 && r.data[0] == 0);
    CHECK(tv_slice(&v, "0,0,1:3:", &r, &e) == 0);
    CHECK(r.shape[0] == 2);
    CHECK(tv_slice(&v, "::", &r, &e) == 0);
    CHECK(r.ndim == 3 && r.shape[0] == 2);
    CHECK(tv_slice(&v, " 1 : , - 1 ", &r, &e) == 0); /* whitespace anywhere */
    CHECK(r.ndim == 2 && r.shape[0] == 1 && r.shape[1] == 4 && r.data[0] == 20);
    /* a step over a strided view, then a slice of that */
    TensorView s;
    CHECK(tv_slice(&v, ":,::2,::3", &r, &e) == 0); /* (2, 2, 2) */
    CHECK(r.shape[0] == 2 && r.shape[1] == 2 && r.shape[2] == 2);
    values(&r, out);
    float want[8] = {0, 3, 8, 11, 12, 15, 20, 23};
    for (int i = 0; i < 8; i++) CHECK(out[i] == want[i]);
    CHECK(tv_slice(&r, "1,:,1", &s, &e) == 0);
    values(&s, out);
    CHECK(s.ndim == 1 && s.shape[0] == 2 && out[0] == 15 && out[1] == 23);
    CHECK(tv_get(&r, 5) == 15.0f);
}

TEST(slice_named)
{
    TensorView v = pattern(), r;
    GrErr e;
    float out[24];
    CHECK(tv_slice(&v, "h=1", &r, &e) == 0); /* (T, S) */
    CHECK(r.ndim == 2 && r.shape[0] == 3 && r.shape[1] == 4);
    CHECK(r.dimname[0] == 't' && r.dimname[1] == 's');
    CHECK(r.data[0] == 12);
    CHECK(tv_slice(&v, "h=0,t=2", &r, &e) == 0); /* one query row */
    CHECK(r.ndim == 1 && r.shape[0] == 4 && r.dimname[0] == 's');
    CHECK(r.data[0] == 8);
    CHECK(tv_slice(&v, "t=2,h=0", &r, &e) == 0); /* order of names does not matter */
    CHECK(r.ndim == 1 && r.data[0] == 8);
    CHECK(tv_slice(&v, "s=1", &r, &e) == 0); /* a column: (H, T) */
    CHECK(r.ndim == 2 && r.shape[0] == 2 && r.shape[1] == 3);
    CHECK(r.dimname[0] == 'h' && r.dimname[1] == 't');
    values(&r, out);
    CHECK(out[0] == 1 && out[1] == 5 && out[3] == 13);
    CHECK(tv_slice(&v, "t=1:", &r, &e) == 0);
    CHECK(r.ndim == 3 && r.shape[1] == 2 && r.dimname[1] == 't');
    CHECK(tv_slice(&v, "s=-1", &r, &e) == 0);
    values(&r, out);
    CHECK(out[0] == 3);
    CHECK(tv_slice(&v, " h = 1 , t = 0 ", &r, &e) == 0);
    CHECK(r.ndim == 1 && r.data[0] == 12);
    /* named first, then a positional item takes the next dimension not yet chosen */
    CHECK(tv_slice(&v, "h=1, 2", &r, &e) == 0);
    CHECK(r.ndim == 1 && r.dimname[0] == 's' && r.data[0] == 20);
    CHECK(tv_slice(&v, "1, s=2", &r, &e) == 0);
    CHECK(r.ndim == 1 && r.dimname[0] == 't' && r.shape[0] == 3);
    values(&r, out);
    CHECK(out[0] == 14 && out[1] == 18 && out[2] == 22);
}

TEST(slice_errors)
{
    int shape2[2] = {4, 5};
    TensorView m = tv_make(g_data, 2, shape2);
    TensorView v = pattern();
    CHECK_STR(slice_err(&m, "7"), "index 7 out of range for dim 0 (size 4)");
    CHECK_STR(slice_err(&m, "-5"), "index -5 out of range for dim 0 (size 4)");
    CHECK_STR(slice_err(&m, "0,5"), "index 5 out of range for dim 1 (size 5)");
    CHECK_STR(slice_err(&m, "1,2,3"), "too many indices (3) for a 2-D tensor");
    CHECK_STR(slice_err(&v, "x=1"), "unknown dimension name 'x' (this tensor has h, t, s)");
    CHECK_STR(slice_err(&v, "head=1"), "unknown dimension name 'head' (this tensor has h, t, s)");
    CHECK_STR(slice_err(&m, "h=1"), "unknown dimension name 'h' (this tensor has no named dimensions)");
    CHECK_STR(slice_err(&v, "h=2"), "index 2 out of range for dim 'h' (size 2)");
    CHECK_STR(slice_err(&v, "h=0,h=1"), "dimension 'h' selected twice");
    CHECK_STR(slice_err(&m, "3:a"), "bad slice '3:a'");
    CHECK_STR(slice_err(&m, " 3 : a "), "bad slice '3 : a'");
    CHECK_STR(slice_err(&m, "a"), "bad slice 'a'");
    CHECK_STR(slice_err(&m, "1:2:3:4"), "bad slice '1:2:3:4'");
    CHECK_STR(slice_err(&m, "--1"), "bad slice '--1'");
    CHECK_STR(slice_err(&m, "1.5"), "bad slice '1.5'");
    CHECK_STR(slice_err(&m, "]"), "bad slice ']'");
    CHECK_STR(slice_err(&v, "h="), "bad slice 'h='");
    CHECK_STR(slice_err(&v, "h==1"), "bad slice 'h==1'");
    CHECK_STR(slice_err(&m, "::0"), "slice step must be at least 1 in '::0'");
    CHECK_STR(slice_err(&m, "::-1"), "slice step must be at least 1 in '::-1'");
    CHECK_STR(slice_err(&m, "3:1"), "slice '3:1' of dim 0 (size 4) is empty");
    CHECK_STR(slice_err(&m, "9:"), "slice '9:' of dim 0 (size 4) is empty");
    CHECK_STR(slice_err(&v, "t=3:"), "slice 't=3:' of dim 't' (size 3) is empty");
    CHECK_STR(slice_err(&m, "1,,"), "too many indices (3) for a 2-D tensor");
    CHECK_STR(slice_err(&m, "1,"), "empty item in slice '1,'");
    CHECK_STR(slice_err(&m, ",1"), "empty item in slice ',1'");
    CHECK_STR(slice_err(&m, "99999999999999999999999"), "index 1000000000000 out of range for dim 0 (size 4)");
    float x = 1;
    TensorView s = tv_make(&x, 0, NULL);
    CHECK_STR(slice_err(&s, "0"), "too many indices (1) for a 0-D tensor");
    CHECK_STR(slice_err(&s, ""), "");
    /* a failed slice leaves nothing half-done: the output is not touched */
    TensorView r = m;
    GrErr e;
    CHECK(tv_slice(&m, "9", &r, &e) == -1);
    CHECK(r.data == m.data && r.ndim == 2);
    CHECK(tv_slice(&m, "9", &r, NULL) == -1); /* no error buffer: still fine */
}

TEST(stats_hand_computed)
{
    float d[4] = {1, 2, 3, 4};
    int n4 = 4;
    TensorView v = tv_make(d, 1, &n4);
    TvStats s = tv_stats(&v);
    CHECK(s.n == 4 && s.nan_count == 0 && s.inf_count == 0);
    CHECK_NEAR(s.mean, 2.5, 1e-12);
    CHECK_NEAR(s.sum, 10, 1e-12);
    CHECK_NEAR(s.var, 1.25, 1e-12); /* biased: sum (x-m)^2 / n = 5 / 4 */
    CHECK_NEAR(s.std, sqrt(1.25), 1e-12);
    CHECK(s.min == 1 && s.max == 4);

    float w[6] = {NAN, -2, INFINITY, 4, -INFINITY, NAN};
    int n6 = 6;
    v = tv_make(w, 1, &n6);
    s = tv_stats(&v);
    CHECK(s.n == 2 && s.nan_count == 2 && s.inf_count == 2);
    CHECK_NEAR(s.mean, 1, 1e-12);
    CHECK_NEAR(s.var, 9, 1e-12);
    CHECK_NEAR(s.std, 3, 1e-12);
    CHECK(s.min == -2 && s.max == 4);
    CHECK_NEAR(s.sum, 2, 1e-12);

    float z[2] = {NAN, NAN};
    int n2 = 2;
    v = tv_make(z, 1, &n2);
    s = tv_stats(&v);
    CHECK(s.n == 0 && s.nan_count == 2);
    CHECK(isnan(s.mean) && isnan(s.std) && isnan(s.min) && isnan(s.max));
    CHECK(s.sum == 0);

    /* a strided view: column 1 of the (2,3,4) cube's first matrix = 1, 5, 9 */
    TensorView c = cube(), r;
    GrErr e;
    CHECK(tv_slice(&c, "0,:,1", &r, &e) == 0);
    s = tv_stats(&r);
    CHECK(s.n == 3);
    CHECK_NEAR(s.mean, 5, 1e-12);
    CHECK_NEAR(s.var, 32.0 / 3.0, 1e-12);
    CHECK(s.min == 1 && s.max == 9);

    /* the whole cube: 0..23, mean 11.5, var (n^2-1)/12 */
    s = tv_stats(&c);
    CHECK_NEAR(s.mean, 11.5, 1e-12);
    CHECK_NEAR(s.var, (24.0 * 24.0 - 1) / 12.0, 1e-9);
    CHECK_NEAR(s.sum, 276, 1e-9);

    /* a scalar */
    float x = -3;
    TensorView sc = tv_make(&x, 0, NULL);
    s = tv_stats(&sc);
    CHECK(s.n == 1 && s.mean == -3 && s.std == 0 && s.min == -3 && s.max == -3);
}

TEST(stats_double_accumulation)
{
    /* 1e6 copies of 0.1f: a float accumulator drifts visibly, double does not */
    static float big[1000000];
    for (int i = 0; i < 1000000; i++) big[i] = 0.1f;
    int n = 1000000;
    TensorView v = tv_make(big, 1, &n);
    TvStats s = tv_stats(&v);
    CHECK_NEAR(s.mean, (double)0.1f, 1e-12);
    CHECK_NEAR(s.std, 0, 1e-9);
}

int main(void)
{
    RUN(make_numel_get);
    RUN(shape_str);
    RUN(slice_positional);
    RUN(slice_ranges_python_semantics);
    RUN(slice_named);
    RUN(slice_errors);
    RUN(stats_hand_computed);
    RUN(stats_double_accumulation);
    return harness_done("tensor");
}
