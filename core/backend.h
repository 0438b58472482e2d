/* backend.h — the table of operations a device provides (ggml style).
 *
 * core/backend_cpu.c is the reference; gpu/ fills the same table with CUDA.
 * Every pointer argument is device memory of that backend. Shapes use
 * N = rows (B·T), C = channels, B batch, H heads, T sequence, hd = C/H. */
#ifndef GR_BACKEND_H
#define GR_BACKEND_H

#include <stddef.h>

typedef struct Backend {
    const char *name;                 /* "cpu", "cuda" */
    void *(*alloc)(size_t bytes);     /* NULL on failure */
    void (*free)(void *p);
    void (*upload)(void *dst, const void *src, size_t bytes);
    void (*download)(void *dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *p, size_t bytes);
    void (*sync)(void);

    /* ---- forward ---- */
    /* out[n] = wte[tok[n]] + wpe[n % T] (wpe may be NULL) */
    void (*encoder)(float *out, const int *tok, const float *wte, const float *wpe, int N, int T, int C);
    /* xhat = (x-mean)*rstd; out = xhat*w + b; mean/rstd saved (N) for backward */
    void (*layernorm)(float *out, float *xhat, float *mean, float *rstd, const float *x,
                      const float *w, const float *b, int N, int C);
    /* out (N, OC) = x (N, IC) · wᵀ (w is (OC, IC)) + bias (may be NULL) */
    void (*matmul)(float *out, const float *x, const float *w, const float *bias, int N, int IC, int OC);
    /* qkv (B, T, 3C) → q, k, v (B, H, T, hd) */
    void (*qkv_split)(float *q, float *k, float *v, const float *qkv, int B, int T, int H, int hd);
    /* scores (B, H, T, T) = q·kᵀ, every (i, j) */
    void (*attn_scores)(float *scores, const float *q, const float *k, int BH, int T, int hd);
    /* masked = scores*scale where j ≤ i, -inf where j > i */
    void (*attn_mask)(float *masked, const float *scores, float scale, int BH, int T);
    /* pattern = row softmax of masked (exactly 0 above the diagonal) */
    void (*attn_softmax)(float *pattern, const float *masked, int BH, int T);
    /* ctx (B, T, C) with head h at columns h*hd: pattern·v */
    void (*attn_apply)(float *ctx, const float *pattern, const float *v, int B, int H, int T, int hd);
    void (*gelu)(float *out, const float *x, size_t n);
    void (*relu)(float *out, const float *x, size_t n);
    void (*add)(float *out, const float *a, const float *b, size_t n);
    void (*scale)(float *x, float s, size_t n);
    /* probs (N, V) = row softmax(logits) */
    void (*softmax)(float *probs, const float *logits, int N, int V);
    /* losses[n] = -ln probs[n, targets[n]], 0 where targets[n] < 0 */
    void (*crossentropy)(float *losses, const float *probs, const int *targets, int N, int V);
    /* x (B, T, C) → out (B, H, T, hd): a (T, C) tensor split into heads */
    void (*split_heads)(float *out, const float *x, int B, int T, int H, int hd);
    /* generation with a KV cache: kcache/vcache are (H, cap, hd) for one layer.
     * kv_store writes k, v of one token (from its qkv row) at position pos;
     * attn_decode computes ctx (C) for one query over positions 0..len-1. */
    void (*kv_store)(float *kcache, float *vcache, const float *qkv, int H, int cap, int pos, int hd);
    void (*attn_decode)(float *ctx, const float *qkv, const float *kcache, const float *vcache, int H, int cap,
                        int len, int hd, float scale);
    /* ablation helpers: each row of x (N, C) replaced by the mean over rows (within each of B groups of T) */
    void (*mean_rows)(float *x, int B, int T, int C);

    /* ---- backward (dout → dinputs, accumulating into parameter grads) ---- */
    /* dlogits (N, V) = (probs - onehot(target)) * dloss / count; 0 rows where target < 0 */
    void (*crossentropy_softmax_backward)(float *dlogits, const float *probs, const int *targets,
                                          float dloss_per, int N, int V);
    /* dx += dout·w ; dw += doutᵀ·x ; db += Σ dout */
    void (*matmul_backward)(float *dx, float *dw, float *db, const float *dout, const float *x,
                            const float *w, int N, int IC, int OC);
    void (*layernorm_backward)(float *dx, float *dw, float *db, const float *dout, const float *xhat,
                               const float *rstd, const float *w, int N, int C);
    void (*gelu_backward)(float *dx, const float *x, const float *dout, size_t n);
    void (*relu_backward)(float *dx, const float *x, const float *dout, size_t n);
    /* d(pattern) → d(scores) through softmax, mask and scale; dq, dk from dscores */
    void (*attn_apply_backward)(float *dpattern, float *dv, const float *dctx, const float *pattern,
                                const float *v, int B, int H, int T, int hd);
    void (*attn_softmax_backward)(float *dscores, const float *dpattern, const float *pattern,
                                  float scale, int BH, int T);
    void (*attn_scores_backward)(float *dq, float *dk, const float *dscores, const float *q,
                                 const float *k, int BH, int T, int hd);
    void (*qkv_merge_backward)(float *dqkv, const float *dq, const float *dk, const float *dv,
                               int B, int T, int H, int hd);
    void (*encoder_backward)(float *dwte, float *dwpe, const float *dout, const int *tok, int N, int T, int C);
    void (*accumulate)(float *dst, const float *src, size_t n); /* dst += src */
    /* Σ x² (for gradient norm) */
    double (*sumsq)(const float *x, size_t n);
    /* AdamW on one tensor */
    void (*adamw)(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                  float b2, float eps, float wd, float gscale, long step);
} Backend;

extern const Backend backend_cpu;
/* The CUDA backend, or NULL when built without CUDA or when no device is present
 * (why is then set to a one-line reason). */
const Backend *backend_cuda(const char **why);

#endif
