/* backend.h — the table of operations a device provides (ggml style).
 *
 * core/backend_cpu.c is the reference; gpu/ fills the same table with CUDA.
 * Every pointer argument is device memory of that backend. Shapes use
 * N = rows (B·T), C = channels, B batch, H heads, T sequence, hd = C/H. */
#ifndef GR_BACKEND_H
#define GR_BACKEND_H

#include <stddef.h>
#include "common.h"

struct QWeight;

typedef struct Backend {
    const char *name;                 /* "cpu", "cuda" */
    void *(*alloc)(size_t bytes);     /* NULL on failure */
    void (*free)(void *p);
    void (*upload)(void *dst, const void *src, size_t bytes);
    void (*download)(void *dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *p, size_t bytes);
    void (*sync)(void);               /* waits for the device; also ends a read_ahead */
    /* Optional (NULL: none): p..p+bytes will be read soon, by the next matrix product; an
     * idle thread may bring some of it into cache between ops, until the next hint or
     * sync. A hint: it never changes a result. p must stay valid until sync. */
    void (*read_ahead)(const void *p, size_t bytes);

    /* The first failure of any op since the last call: returns 0 when every op succeeded,
     * else -1 with a one-line message in msg, and forgets it. Ops return void (a device
     * runs them asynchronously), so every caller that shows results checks this first. */
    int (*status)(char *msg, size_t n);

    /* ---- forward ---- */
    /* Attention ops see a sequence through a window: T query rows at absolute positions
     * p0..p0+T-1, whose keys and values live in buffers of K rows (positions 0..K-1;
     * rows up to p0+T-1 are valid). A whole run is p0 = 0, K = T; generation with a KV
     * cache is T = 1, K = the context, p0 = the new token's position. */
    /* out[n] = wte[tok[n]] + wpe[n % T] (wpe may be NULL) */
    void (*encoder)(float *out, const int *tok, const float *wte, const float *wpe, int N, int T, int C);
    /* LayerNorm in two steps, so the normalised rows are a tensor of their own:
     * xhat = (x - mean)·rstd, rstd = 1/√(var + 1e-5), biased variance (mean/rstd (N) kept for backward);
     * then out = xhat·w + b. */
    void (*norm)(float *xhat, float *mean, float *rstd, const float *x, int N, int C);
    void (*affine)(float *out, const float *xhat, const float *w, const float *b, int N, int C);
    /* out (N, OC) = x (N, IC) · wᵀ (w is (OC, IC)) + bias (may be NULL) */
    void (*matmul)(float *out, const float *x, const float *w, const float *bias, int N, int IC, int OC);
    /* The same product with w stored bf16 or int8 (quant.h: its scheme, activations
     * included); NULL on a backend without those kernels. */
    void (*matmul_q)(float *out, const float *x, const struct QWeight *w, const float *bias, int N, int IC, int OC);
    /* qkv (B, T, 3C) → q (B, H, T, hd), and k, v rows p0..p0+T-1 of (B, H, K, hd) */
    void (*qkv_split)(float *q, float *k, float *v, const float *qkv, int B, int T, int K, int p0, int H, int hd);
    /* scores (B·H, T, K) = q·kᵀ over keys 0..p0+T-1 (every one, future included); columns
     * from p0+T on are set to 0 */
    void (*attn_scores)(float *scores, const float *q, const float *k, int BH, int T, int K, int p0, int hd);
    /* masked = scores·scale where key j ≤ p0+i, -inf elsewhere */
    void (*attn_mask)(float *masked, const float *scores, float scale, int BH, int T, int K, int p0);
    /* pattern = row softmax of masked over keys 0..p0+i (exactly 0 elsewhere) */
    void (*attn_softmax)(float *pattern, const float *masked, int BH, int T, int K, int p0);
    /* ctx (B, T, C) with head h at columns h*hd: pattern·v over keys 0..p0+T-1 */
    void (*attn_apply)(float *ctx, const float *pattern, const float *v, int B, int H, int T, int K, int p0, int hd);
    void (*gelu)(float *out, const float *x, size_t n);
    void (*relu)(float *out, const float *x, size_t n);
    void (*add)(float *out, const float *a, const float *b, size_t n);
    void (*scale)(float *x, float s, size_t n);
    /* probs (N, V) = row softmax(logits) */
    void (*softmax)(float *probs, const float *logits, int N, int V);
    /* losses[n] = -ln probs[n, targets[n]], 0 where targets[n] < 0 */
    void (*crossentropy)(float *losses, const float *probs, const int *targets, int N, int V);
    /* x (B, T, C) → rows p0..p0+T-1 of out (B, H, K, hd): a (T, C) tensor split into heads */
    void (*split_heads)(float *out, const float *x, int B, int T, int K, int p0, int H, int hd);
    /* ablation helper: each row of x (N, C) replaced by the mean over rows (within each of B groups of T) */
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
/* The CPU's read bandwidth in GB/s as generation sees it: a streaming read with vector
 * loads, on the same threads as the CPU backend's matrix products, over `bytes` (at least
 * the model's weights, and 4× the last-level cache) allocated as the weights are (huge
 * pages), best of 10 passes alternating with and without a software prefetch (the
 * products prefetch, so the limit must too). -1 with why on failure.
 * The buffer is kept for the next call of the same size; bytes = 0 frees it. */
double backend_cpu_read_gbps(size_t bytes, GrErr *e);
/* The name of the OpenBLAS kernels the products run on: "Haswell", pinned when the
 * program loads so results do not change with the CPU model, unless the user set
 * OPENBLAS_CORETYPE. Pins them again if something chose others since. */
const char *backend_cpu_blas_kernels(void);
/* Generation's matrix-vector products through core/gemv.c (1, the default) or OpenBLAS's
 * sgemv (0): bench times both in one run. */
void backend_cpu_use_own_gemv(int on);
/* Whether the CPU backend acts on read_ahead hints (1, the default): off for tests and
 * comparisons; results are the same either way. */
void backend_cpu_use_read_ahead(int on);
/* msg from be->status as an error "the cuda backend failed: ..."; 0 when it is fine. */
int be_check(const Backend *be, GrErr *e);
/* The CUDA backend, or NULL when built without CUDA or when no device is present
 * (why is then set to a one-line reason). */
const Backend *backend_cuda(const char **why);

#endif
