/* backend_cpu.c — the reference backend: plain C loops, GEMMs through OpenBLAS.
 *
 * Every other backend is tested against these functions. Reductions accumulate in
 * double so the reference is as close to exact as float storage allows. */
#include "backend.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GELU_K 0.7978845608028654f /* √(2/π) */

static void *cpu_alloc(size_t bytes)
{
    /* 64-byte aligned for AVX-512 loads in BLAS; round up so aligned_alloc accepts it. */
    size_t sz = (bytes + 63) & ~(size_t)63;
    if (sz < bytes) return NULL;
    return aligned_alloc(64, sz ? sz : 64);
}
static void cpu_free(void *p) { free(p); }
static void cpu_copy(void *dst, const void *src, size_t bytes) { if (bytes) memmove(dst, src, bytes); }
static void cpu_zero(void *p, size_t bytes) { if (bytes) memset(p, 0, bytes); }
static void cpu_sync(void) {}

static void cpu_encoder(float *out, const int *tok, const float *wte, const float *wpe, int N, int T, int C)
{
    for (int n = 0; n < N; n++) {
        const float *te = wte + (size_t)tok[n] * C;
        float *o = out + (size_t)n * C;
        if (wpe) {
            const float *pe = wpe + (size_t)(n % T) * C;
            for (int c = 0; c < C; c++) o[c] = te[c] + pe[c];
        } else {
            memcpy(o, te, sizeof(float) * (size_t)C);
        }
    }
}

static void cpu_layernorm(float *out, float *xhat, float *mean, float *rstd, const float *x,
                          const float *w, const float *b, int N, int C)
{
#pragma omp parallel for if (N >= 64) schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        double s = 0;
        for (int c = 0; c < C; c++) s += xr[c];
        double mu = s / C, v = 0;
        for (int c = 0; c < C; c++) { double d = xr[c] - mu; v += d * d; }
        v /= C; /* biased, as GPT-2 and torch.nn.LayerNorm */
        double rs = 1.0 / sqrt(v + 1e-5);
        float *o = out + (size_t)n * C, *xh = xhat + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            float h = (float)((xr[c] - mu) * rs);
            xh[c] = h;
            o[c] = h * w[c] + b[c];
        }
        mean[n] = (float)mu;
        rstd[n] = (float)rs;
    }
}

static void cpu_matmul(float *out, const float *x, const float *w, const float *bias, int N, int IC, int OC)
{
    if (bias) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, sizeof(float) * (size_t)OC);
    }
    if (N == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, OC, IC, 1.0f, w, IC, x, 1, bias ? 1.0f : 0.0f, out, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, x, IC, w, IC,
                bias ? 1.0f : 0.0f, out, OC);
}

static void cpu_qkv_split(float *q, float *k, float *v, const float *qkv, int B, int T, int H, int hd)
{
    int C = H * hd;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *row = qkv + ((size_t)b * T + t) * 3 * C;
            for (int h = 0; h < H; h++) {
                size_t o = (((size_t)b * H + h) * T + t) * hd;
                memcpy(q + o, row + h * hd, sizeof(float) * (size_t)hd);
                memcpy(k + o, row + C + h * hd, sizeof(float) * (size_t)hd);
                memcpy(v + o, row + 2 * C + h * hd, sizeof(float) * (size_t)hd);
            }
        }
}

static void cpu_attn_scores(float *scores, const float *q, const float *k, int BH, int T, int hd)
{
    for (int i = 0; i < BH; i++) {
        size_t o = (size_t)i * T * hd;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, q + o, hd, k + o, hd, 0.0f,
                    scores + (size_t)i * T * T, T);
    }
}

static void cpu_attn_mask(float *masked, const float *scores, float scale, int BH, int T)
{
    for (int r = 0; r < BH * T; r++) {
        int i = r % T;
        const float *s = scores + (size_t)r * T;
        float *mk = masked + (size_t)r * T;
        for (int j = 0; j <= i; j++) mk[j] = s[j] * scale;
        for (int j = i + 1; j < T; j++) mk[j] = -INFINITY;
    }
}

static void cpu_attn_softmax(float *pattern, const float *masked, int BH, int T)
{
#pragma omp parallel for if (BH * T >= 256) schedule(static)
    for (int r = 0; r < BH * T; r++) {
        int i = r % T;
        const float *mk = masked + (size_t)r * T;
        float *p = pattern + (size_t)r * T;
        float mx = -INFINITY;
        for (int j = 0; j <= i; j++) if (mk[j] > mx) mx = mk[j];
        double sum = 0;
        for (int j = 0; j <= i; j++) {
            p[j] = expf(mk[j] - mx);
            sum += p[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j <= i; j++) p[j] *= inv;
        for (int j = i + 1; j < T; j++) p[j] = 0.0f;
    }
}

static void cpu_split_heads(float *out, const float *x, int B, int T, int H, int hd)
{
    int C = H * hd;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                memcpy(out + (((size_t)b * H + h) * T + t) * hd, x + ((size_t)b * T + t) * C + h * hd,
                       sizeof(float) * (size_t)hd);
}

static void cpu_attn_apply(float *ctx, const float *pattern, const float *v, int B, int H, int T, int hd)
{
    int C = H * hd;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            size_t bh = (size_t)b * H + h;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, pattern + bh * T * T, T,
                        v + bh * T * hd, hd, 0.0f, ctx + (size_t)b * T * C + (size_t)h * hd, C);
        }
}

static void cpu_kv_store(float *kcache, float *vcache, const float *qkv, int H, int cap, int pos, int hd)
{
    int C = H * hd;
    for (int h = 0; h < H; h++) {
        memcpy(kcache + ((size_t)h * cap + pos) * hd, qkv + C + h * hd, sizeof(float) * (size_t)hd);
        memcpy(vcache + ((size_t)h * cap + pos) * hd, qkv + 2 * C + h * hd, sizeof(float) * (size_t)hd);
    }
}

static void cpu_attn_decode(float *ctx, const float *qkv, const float *kcache, const float *vcache, int H, int cap,
                            int len, int hd, float scale)
{
    float *s = malloc(sizeof(float) * (size_t)len);
    if (!s) return;
    for (int h = 0; h < H; h++) {
        const float *q = qkv + h * hd, *K = kcache + (size_t)h * cap * hd, *Vv = vcache + (size_t)h * cap * hd;
        /* Same arithmetic as the batched path: scores are q·k, then scaled, then softmax. */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, len, hd, 1.0f, K, hd, q, 1, 0.0f, s, 1);
        float mx = -INFINITY;
        for (int j = 0; j < len; j++) {
            s[j] *= scale;
            if (s[j] > mx) mx = s[j];
        }
        double sum = 0;
        for (int j = 0; j < len; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < len; j++) s[j] *= inv;
        cblas_sgemv(CblasRowMajor, CblasTrans, len, hd, 1.0f, Vv, hd, s, 1, 0.0f, ctx + h * hd, 1);
    }
    free(s);
}

static void cpu_gelu(float *out, const float *x, size_t n)
{
#pragma omp parallel for if (n >= 65536) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float u = x[i];
        out[i] = 0.5f * u * (1.0f + tanhf(GELU_K * (u + 0.044715f * u * u * u)));
    }
}

static void cpu_relu(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0.0f;
}

static void cpu_add(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static void cpu_scale(float *x, float s, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

static void cpu_softmax(float *probs, const float *logits, int N, int V)
{
#pragma omp parallel for if ((size_t)N * V >= 65536) schedule(static)
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++) if (l[i] > mx) mx = l[i];
        double sum = 0;
        for (int i = 0; i < V; i++) { p[i] = expf(l[i] - mx); sum += p[i]; }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < V; i++) p[i] *= inv;
    }
}

static void cpu_crossentropy(float *losses, const float *probs, const int *targets, int N, int V)
{
    for (int n = 0; n < N; n++) {
        int t = targets[n];
        losses[n] = t >= 0 ? -logf(probs[(size_t)n * V + t]) : 0.0f;
    }
}

static void cpu_mean_rows(float *x, int B, int T, int C)
{
    for (int b = 0; b < B; b++) {
        float *xb = x + (size_t)b * T * C;
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int t = 0; t < T; t++) s += xb[(size_t)t * C + c];
            float mu = (float)(s / T);
            for (int t = 0; t < T; t++) xb[(size_t)t * C + c] = mu;
        }
    }
}

/* ---------------- backward ---------------- */

static void cpu_ce_softmax_backward(float *dlogits, const float *probs, const int *targets, float dloss_per,
                                    int N, int V)
{
#pragma omp parallel for if ((size_t)N * V >= 65536) schedule(static)
    for (int n = 0; n < N; n++) {
        float *d = dlogits + (size_t)n * V;
        const float *p = probs + (size_t)n * V;
        int t = targets[n];
        if (t < 0) {
            memset(d, 0, sizeof(float) * (size_t)V);
            continue;
        }
        for (int i = 0; i < V; i++) d[i] = p[i] * dloss_per;
        d[t] -= dloss_per;
    }
}

static void cpu_matmul_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                                const float *w, int N, int IC, int OC)
{
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, w, IC, 1.0f, dx, IC);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, x, IC, 1.0f, dw, IC);
    if (db) {
        for (int o = 0; o < OC; o++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += dout[(size_t)n * OC + o];
            db[o] += (float)s;
        }
    }
}

static void cpu_layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *xhat,
                                   const float *rstd, const float *w, int N, int C)
{
    for (int n = 0; n < N; n++) {
        const float *dy = dout + (size_t)n * C, *xh = xhat + (size_t)n * C;
        double mean_g = 0, mean_gx = 0;
        for (int c = 0; c < C; c++) {
            double g = (double)dy[c] * w[c];
            mean_g += g;
            mean_gx += g * xh[c];
        }
        mean_g /= C;
        mean_gx /= C;
        float *d = dx + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            double g = (double)dy[c] * w[c];
            d[c] += (float)((g - mean_g - xh[c] * mean_gx) * rstd[n]);
        }
    }
    for (int c = 0; c < C; c++) {
        double sw = 0, sb = 0;
        for (int n = 0; n < N; n++) {
            sw += (double)dout[(size_t)n * C + c] * xhat[(size_t)n * C + c];
            sb += dout[(size_t)n * C + c];
        }
        dw[c] += (float)sw;
        db[c] += (float)sb;
    }
}

static void cpu_gelu_backward(float *dx, const float *x, const float *dout, size_t n)
{
#pragma omp parallel for if (n >= 65536) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float u = x[i];
        float cube = 0.044715f * u * u * u;
        float th = tanhf(GELU_K * (u + cube));
        float sech2 = 1.0f - th * th;
        float grad = 0.5f * (1.0f + th) + 0.5f * u * sech2 * GELU_K * (1.0f + 3.0f * 0.044715f * u * u);
        dx[i] += grad * dout[i];
    }
}

static void cpu_relu_backward(float *dx, const float *x, const float *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dout[i] : 0.0f;
}

static void cpu_attn_apply_backward(float *dpattern, float *dv, const float *dctx, const float *pattern,
                                    const float *v, int B, int H, int T, int hd)
{
    int C = H * hd;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            size_t bh = (size_t)b * H + h;
            const float *dc = dctx + (size_t)b * T * C + (size_t)h * hd;
            /* dpattern = dctx_h · vᵀ ; dv += patternᵀ · dctx_h */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dc, C, v + bh * T * hd, hd,
                        0.0f, dpattern + bh * T * T, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, pattern + bh * T * T, T, dc, C,
                        1.0f, dv + bh * T * hd, hd);
        }
}

static void cpu_attn_softmax_backward(float *dscores, const float *dpattern, const float *pattern, float scale,
                                      int BH, int T)
{
#pragma omp parallel for if (BH * T >= 256) schedule(static)
    for (int r = 0; r < BH * T; r++) {
        int i = r % T;
        const float *p = pattern + (size_t)r * T, *dp = dpattern + (size_t)r * T;
        float *ds = dscores + (size_t)r * T;
        double dot = 0;
        for (int j = 0; j <= i; j++) dot += (double)p[j] * dp[j];
        for (int j = 0; j <= i; j++) ds[j] = (float)(p[j] * (dp[j] - dot)) * scale;
        for (int j = i + 1; j < T; j++) ds[j] = 0.0f;
    }
}

static void cpu_attn_scores_backward(float *dq, float *dk, const float *dscores, const float *q, const float *k,
                                     int BH, int T, int hd)
{
    for (int i = 0; i < BH; i++) {
        size_t o = (size_t)i * T * hd;
        const float *ds = dscores + (size_t)i * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, ds, T, k + o, hd, 1.0f, dq + o, hd);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, ds, T, q + o, hd, 1.0f, dk + o, hd);
    }
}

static void cpu_qkv_merge_backward(float *dqkv, const float *dq, const float *dk, const float *dv, int B, int T,
                                   int H, int hd)
{
    int C = H * hd;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *row = dqkv + ((size_t)b * T + t) * 3 * C;
            for (int h = 0; h < H; h++) {
                size_t o = (((size_t)b * H + h) * T + t) * hd;
                memcpy(row + h * hd, dq + o, sizeof(float) * (size_t)hd);
                memcpy(row + C + h * hd, dk + o, sizeof(float) * (size_t)hd);
                memcpy(row + 2 * C + h * hd, dv + o, sizeof(float) * (size_t)hd);
            }
        }
}

static void cpu_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tok, int N, int T, int C)
{
    for (int n = 0; n < N; n++) {
        const float *d = dout + (size_t)n * C;
        float *te = dwte + (size_t)tok[n] * C;
        for (int c = 0; c < C; c++) te[c] += d[c];
        if (dwpe) {
            float *pe = dwpe + (size_t)(n % T) * C;
            for (int c = 0; c < C; c++) pe[c] += d[c];
        }
    }
}

static void cpu_accumulate(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

static double cpu_sumsq(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

static void cpu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                      float eps, float wd, float gscale, long step)
{
    float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step);
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gscale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float mh = m[i] / c1, vh = v[i] / c2;
        p[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
    }
}

const Backend backend_cpu = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .encoder = cpu_encoder,
    .layernorm = cpu_layernorm,
    .matmul = cpu_matmul,
    .qkv_split = cpu_qkv_split,
    .attn_scores = cpu_attn_scores,
    .attn_mask = cpu_attn_mask,
    .attn_softmax = cpu_attn_softmax,
    .split_heads = cpu_split_heads,
    .kv_store = cpu_kv_store,
    .attn_decode = cpu_attn_decode,
    .attn_apply = cpu_attn_apply,
    .gelu = cpu_gelu,
    .relu = cpu_relu,
    .add = cpu_add,
    .scale = cpu_scale,
    .softmax = cpu_softmax,
    .crossentropy = cpu_crossentropy,
    .mean_rows = cpu_mean_rows,
    .crossentropy_softmax_backward = cpu_ce_softmax_backward,
    .matmul_backward = cpu_matmul_backward,
    .layernorm_backward = cpu_layernorm_backward,
    .gelu_backward = cpu_gelu_backward,
    .relu_backward = cpu_relu_backward,
    .attn_apply_backward = cpu_attn_apply_backward,
    .attn_softmax_backward = cpu_attn_softmax_backward,
    .attn_scores_backward = cpu_attn_scores_backward,
    .qkv_merge_backward = cpu_qkv_merge_backward,
    .encoder_backward = cpu_encoder_backward,
    .accumulate = cpu_accumulate,
    .sumsq = cpu_sumsq,
    .adamw = cpu_adamw,
};

#ifndef GR_CUDA
const Backend *backend_cuda(const char **why)
{
    if (why) *why = "this build has no CUDA backend (gpu/ holds no kernels yet)";
    return NULL;
}
#endif
