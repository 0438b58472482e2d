/* gpu_parity.c — every op of the CUDA backend against the CPU reference, then a whole model.
 *
 * Per op (ggml test-backend-ops style): seeded random inputs, the op on both backends,
 * NMSE = Σ(gpu-cpu)²/Σcpu² ≤ 1e-7 for elementwise and row ops, ≤ 5e-4 for GEMM-based
 * ones; no NaN or inf where the CPU has none; guard elements around every device output
 * must keep their sentinel (no out-of-bounds writes). Shapes include T = 1, T = 13, V = 67
 * and C = 768. Then a small model on both: logits, loss, every gradient, 10 AdamW steps,
 * KV-cache generation, and two CUDA runs that must agree bit for bit.
 *
 * Not named test_*: tests/run_all.sh runs it only when nvidia-smi sees a GPU. Without a
 * usable device it prints "gpu: SKIPPED (...)" and exits 0. */
#include "generate.h"
#include "gpu/cuda_backend.h"
#include "train.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 37
#define SENTINEL 1234.5f
#define TOL_EW 1e-7
#define TOL_GEMM 5e-4

static const Backend *cu;
static int npass, nfail;
static uint64_t rs = 0x9E3779B97F4A7C15ull;

static float frand(float lo, float hi)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return lo + (hi - lo) * (float)((rs >> 40) / 16777216.0);
}

static void result(int ok, const char *what, const char *detail)
{
    if (ok) npass++;
    else nfail++;
    printf("%s %-40s %s\n", ok ? "ok  " : "FAIL", what, detail);
}

/* A tensor on both sides: h is the CPU backend's (host) copy, d the device copy, with
 * GUARD sentinel floats before and after it. */
typedef struct { float *h, *d, *base; size_t n; } Ten;

static Ten ten(size_t n, float lo, float hi)
{
    Ten t = {malloc((n ? n : 1) * sizeof(float)), NULL, cu->alloc((n + 2 * GUARD) * sizeof(float)), n};
    float *tmp = malloc((n + 2 * GUARD) * sizeof(float));
    if (!t.h || !t.base || !tmp) { fprintf(stderr, "out of memory\n"); exit(2); }
    for (size_t i = 0; i < n + 2 * GUARD; i++) tmp[i] = SENTINEL;
    for (size_t i = 0; i < n; i++) t.h[i] = tmp[GUARD + i] = frand(lo, hi);
    cu->upload(t.base, tmp, (n + 2 * GUARD) * sizeof(float));
    free(tmp);
    t.d = t.base + GUARD;
    return t;
}

static void tfree(Ten *t) { free(t->h); cu->free(t->base); }

/* Compares the device copy with the CPU copy; also checks the guards. */
static void check(const char *op, const char *shape, const Ten *t, double tol)
{
    size_t n = t->n;
    float *g = malloc((n + 2 * GUARD) * sizeof(float));
    cu->download(g, t->base, (n + 2 * GUARD) * sizeof(float));
    int guard_ok = 1, finite_ok = 1;
    for (size_t i = 0; i < GUARD; i++) guard_ok &= g[i] == SENTINEL && g[GUARD + n + i] == SENTINEL;
    double se = 0, sr = 0;
    for (size_t i = 0; i < n; i++) {
        double a = g[GUARD + i], b = t->h[i];
        if (a == b) { if (isfinite(b)) sr += b * b; continue; } /* equal infinities too */
        if (!isfinite(a) || !isfinite(b)) { finite_ok = 0; continue; }
        se += (a - b) * (a - b);
        sr += b * b;
    }
    double nmse = sr > 0 ? se / sr : se;
    const char *err = gr_cuda_last_error();
    char what[200], detail[400];
    snprintf(what, sizeof what, "%s %s", op, shape);
    snprintf(detail, sizeof detail, "nmse %.2e%s%s%s%s", nmse, guard_ok ? "" : " GUARD OVERWRITTEN",
             finite_ok ? "" : " NaN/inf MISMATCH", err ? " cuda: " : "", err ? err : "");
    result(guard_ok && finite_ok && nmse <= tol && !err, what, detail);
    free(g);
}

static int *ints(int n, int lo, int hi, int **dev) /* host ints in [lo, hi], and a device copy */
{
    int *h = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) h[i] = lo + (int)frand(0, (float)(hi - lo + 1) - 0.001f);
    *dev = cu->alloc(sizeof(int) * (size_t)n);
    cu->upload(*dev, h, sizeof(int) * (size_t)n);
    return h;
}

#define SHAPE(...) (snprintf(shp, sizeof shp, __VA_ARGS__), shp)
static char shp[96];

/* ---------------- per-op checks ---------------- */

static void op_elementwise(size_t n)
{
    SHAPE("n=%zu", n);
    Ten x = ten(n, -4, 4), y = ten(n, -2, 2), o = ten(n, -1, 1), dx = ten(n, -1, 1);
    backend_cpu.gelu(o.h, x.h, n); cu->gelu(o.d, x.d, n); check("gelu", shp, &o, TOL_EW);
    backend_cpu.relu(o.h, x.h, n); cu->relu(o.d, x.d, n); check("relu", shp, &o, TOL_EW);
    backend_cpu.add(o.h, x.h, y.h, n); cu->add(o.d, x.d, y.d, n); check("add", shp, &o, TOL_EW);
    backend_cpu.scale(o.h, 0.37f, n); cu->scale(o.d, 0.37f, n); check("scale", shp, &o, TOL_EW);
    backend_cpu.accumulate(o.h, y.h, n); cu->accumulate(o.d, y.d, n); check("accumulate", shp, &o, TOL_EW);
    backend_cpu.gelu_backward(dx.h, x.h, y.h, n); cu->gelu_backward(dx.d, x.d, y.d, n);
    check("gelu_backward", shp, &dx, TOL_EW);
    backend_cpu.relu_backward(dx.h, x.h, y.h, n); cu->relu_backward(dx.d, x.d, y.d, n);
    check("relu_backward", shp, &dx, TOL_EW);
    backend_cpu.copy(o.h, x.h, n * 4); cu->copy(o.d, x.d, n * 4); check("copy", shp, &o, 0);
    backend_cpu.zero(o.h, n * 4); cu->zero(o.d, n * 4); check("zero", shp, &o, 0);
    /* sumsq: double on both sides, different order */
    double a = backend_cpu.sumsq(x.h, n), b = cu->sumsq(x.d, n);
    char d[64];
    snprintf(d, sizeof d, "cpu %.17g gpu %.17g", a, b);
    result(fabs(a - b) <= 1e-12 * fabs(a), SHAPE("sumsq n=%zu", n), d);
    tfree(&x); tfree(&y); tfree(&o); tfree(&dx);
}

static void op_adamw(size_t n, long step, float wd)
{
    SHAPE("n=%zu step=%ld wd=%g", n, step, wd);
    Ten p = ten(n, -1, 1), g = ten(n, -0.1f, 0.1f), m = ten(n, -0.01f, 0.01f), v = ten(n, 0, 1e-4f);
    backend_cpu.adamw(p.h, g.h, m.h, v.h, n, 3e-4f, 0.9f, 0.95f, 1e-8f, wd, 0.7f, step);
    cu->adamw(p.d, g.d, m.d, v.d, n, 3e-4f, 0.9f, 0.95f, 1e-8f, wd, 0.7f, step);
    check("adamw p", shp, &p, TOL_EW); check("adamw m", shp, &m, TOL_EW); check("adamw v", shp, &v, TOL_EW);
    tfree(&p); tfree(&g); tfree(&m); tfree(&v);
}

static void op_rows(int N, int C, int V)
{
    SHAPE("N=%d C=%d", N, C);
    Ten x = ten((size_t)N * C, -3, 3), w = ten(C, 0.5f, 1.5f), b = ten(C, -0.5f, 0.5f), o = ten((size_t)N * C, 0, 1),
        xh = ten((size_t)N * C, 0, 1), mu = ten(N, 0, 1), r = ten(N, 0, 1);
    backend_cpu.norm(xh.h, mu.h, r.h, x.h, N, C);
    cu->norm(xh.d, mu.d, r.d, x.d, N, C);
    check("norm xhat", shp, &xh, TOL_EW); check("norm mean", shp, &mu, TOL_EW); check("norm rstd", shp, &r, TOL_EW);
    cu->upload(xh.d, xh.h, (size_t)N * C * 4); /* affine from identical inputs */
    backend_cpu.affine(o.h, xh.h, w.h, b.h, N, C);
    cu->affine(o.d, xh.d, w.d, b.d, N, C);
    check("affine", shp, &o, TOL_EW);
    Ten dy = ten((size_t)N * C, -1, 1), dx = ten((size_t)N * C, -1, 1), dw = ten(C, -1, 1), db = ten(C, -1, 1);
    backend_cpu.layernorm_backward(dx.h, dw.h, db.h, dy.h, xh.h, r.h, w.h, N, C);
    cu->layernorm_backward(dx.d, dw.d, db.d, dy.d, xh.d, r.d, w.d, N, C);
    check("layernorm_backward dx", shp, &dx, TOL_EW); check("layernorm_backward dw", shp, &dw, TOL_EW);
    check("layernorm_backward db", shp, &db, TOL_EW);
    for (int k = 0; k < 2; k++) { /* mean_rows over B = 1 and over N groups of 1 row */
        int B = k ? N : 1, T = k ? 1 : N;
        backend_cpu.mean_rows(x.h, B, T, C); cu->mean_rows(x.d, B, T, C);
        check("mean_rows", SHAPE("B=%d T=%d C=%d", B, T, C), &x, TOL_EW);
    }
    /* softmax, cross-entropy and its backward over V classes; some targets are -1 */
    SHAPE("N=%d V=%d", N, V);
    Ten l = ten((size_t)N * V, -8, 8), p = ten((size_t)N * V, 0, 1), ls = ten(N, 0, 1), dl = ten((size_t)N * V, 0, 1);
    int *tgd, *tg = ints(N, -1, V - 1, &tgd);
    backend_cpu.softmax(p.h, l.h, N, V); cu->softmax(p.d, l.d, N, V); check("softmax", shp, &p, TOL_EW);
    backend_cpu.crossentropy(ls.h, p.h, tg, N, V); cu->crossentropy(ls.d, p.d, tgd, N, V);
    check("crossentropy", shp, &ls, TOL_EW);
    backend_cpu.crossentropy_softmax_backward(dl.h, p.h, tg, 0.3f, N, V);
    cu->crossentropy_softmax_backward(dl.d, p.d, tgd, 0.3f, N, V);
    check("crossentropy_softmax_backward", shp, &dl, TOL_EW);
    Ten *all[] = {&x, &w, &b, &o, &xh, &mu, &r, &dy, &dx, &dw, &db, &l, &p, &ls, &dl};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tfree(all[i]);
    free(tg); cu->free(tgd);
}

static void op_matmul(int N, int IC, int OC, int bias)
{
    SHAPE("N=%d IC=%d OC=%d%s", N, IC, OC, bias ? " +b" : "");
    Ten x = ten((size_t)N * IC, -1, 1), w = ten((size_t)OC * IC, -0.1f, 0.1f), b = ten(OC, -1, 1),
        o = ten((size_t)N * OC, 0, 1), dout = ten((size_t)N * OC, -1, 1), dx = ten((size_t)N * IC, -1, 1),
        dw = ten((size_t)OC * IC, -1, 1), db = ten(OC, -1, 1);
    backend_cpu.matmul(o.h, x.h, w.h, bias ? b.h : NULL, N, IC, OC);
    cu->matmul(o.d, x.d, w.d, bias ? b.d : NULL, N, IC, OC);
    check("matmul", shp, &o, TOL_GEMM);
    backend_cpu.matmul_backward(dx.h, dw.h, bias ? db.h : NULL, dout.h, x.h, w.h, N, IC, OC);
    cu->matmul_backward(dx.d, dw.d, bias ? db.d : NULL, dout.d, x.d, w.d, N, IC, OC);
    check("matmul_backward dx", shp, &dx, TOL_GEMM); check("matmul_backward dw", shp, &dw, TOL_GEMM);
    check("matmul_backward db", shp, &db, TOL_EW);
    backend_cpu.matmul_backward(NULL, dw.h, db.h, dout.h, x.h, w.h, N, IC, OC); /* dx NULL */
    cu->matmul_backward(NULL, dw.d, db.d, dout.d, x.d, w.d, N, IC, OC);
    check("matmul_backward dw (no dx)", shp, &dw, TOL_GEMM); check("matmul_backward db (no dx)", shp, &db, TOL_EW);
    Ten *all[] = {&x, &w, &b, &o, &dout, &dx, &dw, &db};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tfree(all[i]);
}

static void op_attention(int B, int H, int T, int hd)
{
    int C = H * hd, BH = B * H;
    size_t NC = (size_t)B * T * C, att = (size_t)BH * T * T;
    float scale = 1.0f / sqrtf((float)hd);
    SHAPE("B=%d H=%d T=%d hd=%d", B, H, T, hd);
    Ten qkv = ten(3 * NC, -1, 1), q = ten(NC, 0, 1), k = ten(NC, 0, 1), v = ten(NC, 0, 1), sc = ten(att, 0, 1),
        mk = ten(att, 0, 1), pat = ten(att, 0, 1), ctx = ten(NC, 0, 1), sp = ten(NC, 0, 1);
    backend_cpu.qkv_split(q.h, k.h, v.h, qkv.h, B, T, T, 0, H, hd); cu->qkv_split(q.d, k.d, v.d, qkv.d, B, T, T, 0, H, hd);
    check("qkv_split q", shp, &q, 0); check("qkv_split k", shp, &k, 0); check("qkv_split v", shp, &v, 0);
    backend_cpu.split_heads(sp.h, ctx.h, B, T, T, 0, H, hd); cu->split_heads(sp.d, ctx.d, B, T, T, 0, H, hd);
    check("split_heads", shp, &sp, 0);
    backend_cpu.attn_scores(sc.h, q.h, k.h, BH, T, T, 0, hd); cu->attn_scores(sc.d, q.d, k.d, BH, T, T, 0, hd);
    check("attn_scores", shp, &sc, TOL_GEMM);
    cu->upload(sc.d, sc.h, att * 4); /* the next ops start from identical inputs */
    backend_cpu.attn_mask(mk.h, sc.h, scale, BH, T, T, 0); cu->attn_mask(mk.d, sc.d, scale, BH, T, T, 0);
    check("attn_mask", shp, &mk, TOL_EW);
    backend_cpu.attn_softmax(pat.h, mk.h, BH, T, T, 0); cu->attn_softmax(pat.d, mk.d, BH, T, T, 0);
    check("attn_softmax", shp, &pat, TOL_EW);
    cu->upload(pat.d, pat.h, att * 4);
    backend_cpu.attn_apply(ctx.h, pat.h, v.h, B, H, T, T, 0, hd); cu->attn_apply(ctx.d, pat.d, v.d, B, H, T, T, 0, hd);
    check("attn_apply", shp, &ctx, TOL_GEMM);
    /* backward */
    Ten dctx = ten(NC, -1, 1), dpat = ten(att, 0, 1), dv = ten(NC, -1, 1), dsc = ten(att, 0, 1), dq = ten(NC, -1, 1),
        dk = ten(NC, -1, 1), dqkv = ten(3 * NC, 0, 1);
    backend_cpu.attn_apply_backward(dpat.h, dv.h, dctx.h, pat.h, v.h, B, H, T, hd);
    cu->attn_apply_backward(dpat.d, dv.d, dctx.d, pat.d, v.d, B, H, T, hd);
    check("attn_apply_backward dpattern", shp, &dpat, TOL_GEMM); check("attn_apply_backward dv", shp, &dv, TOL_GEMM);
    cu->upload(dpat.d, dpat.h, att * 4);
    backend_cpu.attn_softmax_backward(dsc.h, dpat.h, pat.h, scale, BH, T);
    cu->attn_softmax_backward(dsc.d, dpat.d, pat.d, scale, BH, T);
    check("attn_softmax_backward", shp, &dsc, TOL_EW);
    cu->upload(dsc.d, dsc.h, att * 4);
    backend_cpu.attn_scores_backward(dq.h, dk.h, dsc.h, q.h, k.h, BH, T, hd);
    cu->attn_scores_backward(dq.d, dk.d, dsc.d, q.d, k.d, BH, T, hd);
    check("attn_scores_backward dq", shp, &dq, TOL_GEMM); check("attn_scores_backward dk", shp, &dk, TOL_GEMM);
    cu->upload(dq.d, dq.h, NC * 4); cu->upload(dk.d, dk.h, NC * 4); cu->upload(dv.d, dv.h, NC * 4);
    backend_cpu.qkv_merge_backward(dqkv.h, dq.h, dk.h, dv.h, B, T, H, hd);
    cu->qkv_merge_backward(dqkv.d, dq.d, dk.d, dv.d, B, T, H, hd);
    check("qkv_merge_backward", shp, &dqkv, 0);
    Ten *all[] = {&qkv, &q, &k, &v, &sc, &mk, &pat, &ctx, &sp, &dctx, &dpat, &dv, &dsc, &dq, &dk, &dqkv};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tfree(all[i]);
}

/* The attention ops through a window (generation): T query rows at positions p0.. over
 * K-row key and value buffers. */
static void op_window(int B, int H, int T, int K, int p0, int hd)
{
    int C = H * hd, BH = B * H;
    size_t NC = (size_t)B * T * C, KC = (size_t)B * K * C, att = (size_t)BH * T * K;
    float scale = 1.0f / sqrtf((float)hd);
    SHAPE("B=%d H=%d T=%d K=%d p0=%d hd=%d", B, H, T, K, p0, hd);
    Ten qkv = ten(3 * NC, -1, 1), q = ten(NC, 0, 1), k = ten(KC, -1, 1), v = ten(KC, -1, 1), sc = ten(att, 0, 1),
        mk = ten(att, 0, 1), pat = ten(att, 0, 1), ctx = ten(NC, 0, 1), x = ten(NC, -1, 1);
    backend_cpu.qkv_split(q.h, k.h, v.h, qkv.h, B, T, K, p0, H, hd);
    cu->qkv_split(q.d, k.d, v.d, qkv.d, B, T, K, p0, H, hd);
    check("qkv_split q (window)", shp, &q, 0); check("qkv_split k (window)", shp, &k, 0);
    check("qkv_split v (window)", shp, &v, 0);
    backend_cpu.attn_scores(sc.h, q.h, k.h, BH, T, K, p0, hd); cu->attn_scores(sc.d, q.d, k.d, BH, T, K, p0, hd);
    check("attn_scores (window)", shp, &sc, TOL_GEMM);
    cu->upload(sc.d, sc.h, att * 4);
    backend_cpu.attn_mask(mk.h, sc.h, scale, BH, T, K, p0); cu->attn_mask(mk.d, sc.d, scale, BH, T, K, p0);
    check("attn_mask (window)", shp, &mk, TOL_EW);
    backend_cpu.attn_softmax(pat.h, mk.h, BH, T, K, p0); cu->attn_softmax(pat.d, mk.d, BH, T, K, p0);
    check("attn_softmax (window)", shp, &pat, TOL_EW);
    cu->upload(pat.d, pat.h, att * 4);
    backend_cpu.attn_apply(ctx.h, pat.h, v.h, B, H, T, K, p0, hd); cu->attn_apply(ctx.d, pat.d, v.d, B, H, T, K, p0, hd);
    check("attn_apply (window)", shp, &ctx, TOL_GEMM);
    backend_cpu.split_heads(k.h, x.h, B, T, K, p0, H, hd); cu->split_heads(k.d, x.d, B, T, K, p0, H, hd);
    check("split_heads (window)", shp, &k, 0);
    Ten *all[] = {&qkv, &q, &k, &v, &sc, &mk, &pat, &ctx, &x};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tfree(all[i]);
}

static void op_encoder(int N, int T, int C, int V, int distinct, int pos)
{
    SHAPE("N=%d T=%d C=%d %d distinct ids%s", N, T, C, distinct, pos ? "" : " no wpe");
    Ten wte = ten((size_t)V * C, -1, 1), wpe = ten((size_t)T * C, -1, 1), o = ten((size_t)N * C, 0, 1),
        dwte = ten((size_t)V * C, -1, 1), dwpe = ten((size_t)T * C, -1, 1);
    int *td, *tok = ints(N, 0, distinct - 1, &td); /* few distinct ids: many duplicates */
    backend_cpu.encoder(o.h, tok, wte.h, pos ? wpe.h : NULL, N, T, C);
    cu->encoder(o.d, td, wte.d, pos ? wpe.d : NULL, N, T, C);
    check("encoder", shp, &o, TOL_EW);
    backend_cpu.encoder_backward(dwte.h, pos ? dwpe.h : NULL, o.h, tok, N, T, C);
    cu->encoder_backward(dwte.d, pos ? dwpe.d : NULL, o.d, td, N, T, C);
    check("encoder_backward dwte", shp, &dwte, 0); /* same order of additions: exact */
    check("encoder_backward dwpe", shp, &dwpe, 0);
    tfree(&wte); tfree(&wpe); tfree(&o); tfree(&dwte); tfree(&dwpe);
    free(tok); cu->free(td);
}

/* ---------------- a whole model ---------------- */

static float *dl_all(const Model *m, const float *buf) /* a device buffer of m->total floats, on the host */
{
    float *h = malloc(m->total * sizeof(float));
    m->be->download(h, buf, m->total * sizeof(float));
    return h;
}

static double rel(const float *a, const float *b, size_t n) /* ‖a-b‖/‖b‖ */
{
    double se = 0, sr = 0;
    for (size_t i = 0; i < n; i++) { se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]); sr += (double)b[i] * b[i]; }
    return isfinite(se) ? (sr > 0 ? sqrt(se / sr) : sqrt(se)) : INFINITY;
}

static Model *make(const GptConfig *c, const Backend *be)
{
    GrErr e = {{0}};
    Model *m = model_new(c, &backend_cpu, &e);
    if (!m) { fprintf(stderr, "%s\n", e.msg); exit(2); }
    model_init_random(m, 7);
    if (model_to_backend(m, be, &e)) { fprintf(stderr, "%s\n", e.msg); exit(2); }
    return m;
}

/* 10 AdamW steps on fixed rows; losses[10], returns the trained model. */
static Model *train10(const GptConfig *c, const Backend *be, const int *rows, int B, int T, float *losses)
{
    GrErr e = {{0}};
    Model *m = make(c, be);
    TrainCfg tc;
    train_cfg_default(&tc);
    tc.batch = B, tc.ctx = T, tc.lr = 1e-3f, tc.warmup = 0, tc.steps = 10;
    Trainer *t = trainer_new(m, &tc, NULL, &e);
    if (!t) { fprintf(stderr, "%s\n", e.msg); exit(2); }
    for (int s = 0; s < 10; s++) {
        StepInfo si;
        losses[s] = trainer_step_rows(t, rows + (size_t)(s % 3) * B * (T + 1), &si, &e) ? NAN : si.loss;
    }
    trainer_free(t);
    return m;
}

static void whole_model(const char *name, const GptConfig *c)
{
    enum { B = 2, T = 13 };
    GrErr e = {{0}};
    char what[96], d[160];
    int tok[B * T], rows[3 * B * (T + 1)];
    for (int i = 0; i < B * T; i++) tok[i] = (int)frand(0, c->vocab - 0.01f);
    for (int i = 0; i < 3 * B * (T + 1); i++) rows[i] = (int)frand(0, c->vocab - 0.01f);
    Model *m[2] = {make(c, &backend_cpu), make(c, cu)};
    float *logits[2], loss[2], *grads[2];
    for (int k = 0; k < 2; k++) {
        Acts *a = acts_new(m[k], B, T, &e);
        if (!a || acts_set_tokens(m[k], a, tok, NULL, &e) || acts_run(a, &e)) { fprintf(stderr, "%s\n", e.msg); exit(2); }
        logits[k] = malloc(sizeof(float) * B * T * c->vocab);
        m[k]->be->download(logits[k], a->logits, sizeof(float) * B * T * c->vocab);
        loss[k] = a->loss;
        model_zero_grad(m[k]);
        if (model_backward(m[k], a, &e)) { fprintf(stderr, "%s\n", e.msg); exit(2); }
        grads[k] = dl_all(m[k], m[k]->grads);
        acts_free(m[k], a);
    }
    double r = rel(logits[1], logits[0], (size_t)B * T * c->vocab);
    snprintf(what, sizeof what, "model %s logits", name);
    snprintf(d, sizeof d, "rel %.2e", r);
    result(r <= 1e-4, what, d);
    snprintf(what, sizeof what, "model %s loss", name);
    snprintf(d, sizeof d, "cpu %.7f gpu %.7f", loss[0], loss[1]);
    result(fabs(loss[1] - loss[0]) <= 1e-4 * fabs(loss[0]), what, d);
    int gbad = 0;
    double gworst = 0;
    for (int i = 0; i < m[0]->nparams; i++) {
        const ParamInfo *p = &m[0]->info[i];
        double g = rel(grads[1] + p->offset, grads[0] + p->offset, p->numel);
        if (!(g <= 1e-4)) { gbad++; printf("     grad %s rel %.2e\n", p->name, g); }
        if (g > gworst) gworst = g;
    }
    snprintf(what, sizeof what, "model %s grads (%d tensors)", name, m[0]->nparams);
    snprintf(d, sizeof d, "worst rel %.2e, %d over 1e-4", gworst, gbad);
    result(gbad == 0, what, d);
    /* generation with the KV cache: logits of 5 tokens */
    float *gl[2];
    for (int k = 0; k < 2; k++) {
        KVCache *kv = kv_new(m[k], NULL, 0, &e);
        gl[k] = malloc(sizeof(float) * 5 * c->vocab);
        for (int i = 0; kv && i < 5; i++) kv_forward(m[k], kv, tok[i], gl[k] + (size_t)i * c->vocab, &e);
        kv_free(m[k], kv);
    }
    r = rel(gl[1], gl[0], 5 * (size_t)c->vocab);
    snprintf(what, sizeof what, "model %s kv generation", name);
    snprintf(d, sizeof d, "rel %.2e", r);
    result(r <= 1e-4, what, d);
    /* 10 AdamW steps: CPU vs CUDA trajectories, and two CUDA runs bit for bit */
    float tl[3][10];
    Model *t[3] = {train10(c, &backend_cpu, rows, B, T, tl[0]), train10(c, cu, rows, B, T, tl[1]),
                   train10(c, cu, rows, B, T, tl[2])};
    double worst = 0;
    for (int s = 0; s < 10; s++) worst = fmax(worst, fabs(tl[1][s] - tl[0][s]) / fabs(tl[0][s]));
    if (!isfinite(tl[1][9])) worst = INFINITY;
    snprintf(what, sizeof what, "model %s 10 AdamW steps", name);
    snprintf(d, sizeof d, "loss %.5f → %.5f (cpu %.5f → %.5f), worst rel %.2e", tl[1][0], tl[1][9], tl[0][0],
             tl[0][9], worst);
    result(worst <= 1e-3, what, d); /* AdamW divides by √v: tiny gradient differences grow a little */
    float *p1 = dl_all(t[1], t[1]->params), *p2 = dl_all(t[2], t[2]->params);
    int same = !memcmp(p1, p2, t[1]->total * sizeof(float)) && !memcmp(tl[1], tl[2], sizeof tl[1]);
    snprintf(what, sizeof what, "model %s CUDA run twice", name);
    result(same, what, same ? "bit-identical" : "DIFFERENT");
    free(p1); free(p2);
    for (int k = 0; k < 3; k++) model_free(t[k]);
    for (int k = 0; k < 2; k++) { free(logits[k]); free(grads[k]); free(gl[k]); model_free(m[k]); }
}

int main(void)
{
    const char *why = NULL;
    cu = backend_cuda(&why);
    if (!cu) {
        if (why && !strncmp(why, "no CUDA device", 14)) {
            printf("gpu: SKIPPED (%s)\n", why);
            return 0;
        }
        printf("gpu: %s\ngpu_parity: 0 passed, 1 failed\n", why ? why : "CUDA backend unavailable");
        return 1;
    }
    size_t ns[] = {1, 13, 67, 1000003};
    for (size_t i = 0; i < 4; i++) op_elementwise(ns[i]);
    op_adamw(1, 1, 0.1f); op_adamw(1000003, 1, 0.1f); op_adamw(4099, 1000, 0.0f);
    op_rows(1, 67, 67); op_rows(13, 768, 67); op_rows(4, 13, 50257); op_rows(3, 1, 1);
    op_matmul(1, 768, 2304, 1); op_matmul(13, 67, 67, 0); op_matmul(26, 768, 67, 1); op_matmul(13, 768, 3072, 1);
    op_matmul(64, 3072, 768, 1);
    op_attention(1, 1, 1, 64); op_attention(2, 3, 13, 7); op_attention(1, 12, 64, 64); op_attention(2, 2, 33, 5);
    op_window(1, 4, 1, 16, 0, 16); op_window(1, 4, 1, 16, 5, 16); op_window(1, 12, 1, 64, 63, 64);
    op_window(1, 1, 1, 1, 0, 3); op_window(3, 2, 1, 33, 17, 5); op_window(1, 2, 4, 16, 6, 8);
    op_encoder(26, 13, 67, 67, 9, 1); op_encoder(26, 13, 67, 67, 9, 0); op_encoder(1, 1, 768, 67, 1, 1);
    op_encoder(512, 64, 768, 100, 50, 1);
    GrErr e = {{0}};
    GptConfig c;
    cfg_preset(&c, "tiny", &e);
    cfg_set(&c, "layers", "2", &e); cfg_set(&c, "d", "64", &e); cfg_set(&c, "ctx", "32", &e);
    cfg_set(&c, "vocab", "67", &e);
    whole_model("pre-ln gelu tied", &c);
    cfg_set(&c, "norm", "post", &e); cfg_set(&c, "act", "relu", &e); cfg_set(&c, "tie", "off", &e);
    cfg_set(&c, "pos", "none", &e); cfg_set(&c, "logit_scale", "on", &e);
    whole_model("post-ln relu untied", &c);
    cfg_preset(&c, "gpt2", &e); /* GPT-2 small's shapes, random weights */
    whole_model("gpt2-small shape", &c);
    const char *err = gr_cuda_last_error();
    result(!err, "no CUDA error recorded", err ? err : "");
    printf("gpu_parity: %d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}
