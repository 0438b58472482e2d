/* backend_cuda.cu — the CUDA backend: core/backend.h's table with plain kernels and cuBLAS.
 *
 * Every op computes what core/backend_cpu.c computes, with the same formulas: GELU in
 * its tanh form, LayerNorm with eps 1e-5 and its statistics in double, softmax sums in
 * double, -inf above the diagonal of the masked scores and exact zeros in the pattern,
 * AdamW with bias correction and decoupled weight decay. Where the CPU rounds a float
 * expression without contraction, the kernels use __fmul_rn/__fadd_rn so nvcc cannot
 * fuse it into an FMA either. GEMMs go through cuBLAS in fp32 (CUBLAS_DEFAULT_MATH, no
 * TF32). Correctness over speed: one block per row for row ops, grid-stride loops for
 * elementwise ops, reductions in a fixed order (results do not vary from run to run).
 *
 * Everything runs on one stream; upload and download wait for it. The ops return void,
 * so errors are never printed: the first one is kept for gr_cuda_last_error().
 *
 * cuBLAS is opened with dlopen when the backend starts, not linked: loading it costs
 * ~0.7 s, which every run of gptrepl would otherwise pay, GPU or not. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "backend.h"
}
#include "gpu/cuda_backend.h"

#define BS 256                 /* threads per block (a power of two: the reductions need it) */
#define MAX_BLOCKS (1u << 20)  /* grid-stride loops cover the rest */
#define PART_BLOCKS 1024       /* partial sums of sumsq */
#define GELU_K 0.7978845608028654f

/* The cuBLAS functions used, resolved from the shared library by backend_cuda(). */
static struct {
    decltype(&cublasCreate_v2) create;
    decltype(&cublasSetStream_v2) set_stream;
    decltype(&cublasSetMathMode) set_math_mode;
    decltype(&cublasSgemm_v2) sgemm;
    decltype(&cublasSgemmStridedBatched) sgemm_batched;
    decltype(&cublasGetStatusString) status_string;
} blas;

static cudaStream_t g_stream;
static cublasHandle_t g_blas;
static double *g_part;         /* PART_BLOCKS doubles on the device */
static void *g_scratch;        /* grows on demand; one op at a time uses it */
static size_t g_scratch_bytes;

/* ---------------- errors ---------------- */

static char g_err[256];

static void set_err(const char *what, const char *detail)
{
    if (!g_err[0]) snprintf(g_err, sizeof g_err, "%s: %s", what, detail);
}
static bool ck(cudaError_t e, const char *what)
{
    if (e == cudaSuccess) return true;
    set_err(what, cudaGetErrorString(e));
    return false;
}
static bool ckb(cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS) return true;
    set_err(what, blas.status_string ? blas.status_string(s) : "cuBLAS error");
    return false;
}
#define LAUNCHED(name) ck(cudaGetLastError(), name)

extern "C" const char *gr_cuda_last_error(void) { return g_err[0] ? g_err : NULL; }
extern "C" void gr_cuda_clear_error(void) { g_err[0] = 0; }

/* The table's status entry: the first error since the last call, then forgotten. */
static int cu_status(char *msg, size_t n)
{
    if (!g_err[0]) {
        if (n) msg[0] = 0;
        return 0;
    }
    snprintf(msg, n, "%s", g_err);
    g_err[0] = 0;
    return -1;
}

static unsigned grid_for(size_t n)
{
    size_t b = (n + BS - 1) / BS;
    return b == 0 ? 1u : b > MAX_BLOCKS ? MAX_BLOCKS : (unsigned)b;
}
#define GRID_LOOP(i, n) \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)(n); i += (size_t)gridDim.x * blockDim.x)
#define ELEMWISE(kernel, n, ...)                                          \
    do {                                                                  \
        if ((n) == 0) break;                                              \
        kernel<<<grid_for(n), BS, 0, g_stream>>>(__VA_ARGS__);            \
        LAUNCHED(#kernel);                                                \
    } while (0)
#define ROWS(kernel, rows, ...)                                           \
    do {                                                                  \
        if ((long long)(rows) <= 0) break;                                           \
        kernel<<<(unsigned)(rows), BS, 0, g_stream>>>(__VA_ARGS__);       \
        LAUNCHED(#kernel);                                                \
    } while (0)

/* Device scratch of at least `bytes` (NULL on failure, error recorded). */
static void *scratch(size_t bytes)
{
    if (bytes <= g_scratch_bytes) return g_scratch;
    if (g_scratch) ck(cudaFree(g_scratch), "cudaFree(scratch)"); /* waits for the device */
    g_scratch = NULL;
    g_scratch_bytes = 0;
    if (!ck(cudaMalloc(&g_scratch, bytes), "cudaMalloc(scratch)")) return g_scratch = NULL;
    g_scratch_bytes = bytes;
    return g_scratch;
}

/* ---------------- block reductions (fixed order: deterministic) ---------------- */

template <typename T> __device__ T block_sum(T v, T *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    T r = sh[0];
    __syncthreads();
    return r;
}

__device__ float block_max(float v, float *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + s]);
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

/* ---------------- GEMM ---------------- */

/* C (M×N) = alpha·op(A)·op(B) + beta·C for row-major A, B, C with row strides lda, ldb,
 * ldc: the arguments of cblas_sgemm(CblasRowMajor, ...), batched with element strides
 * sA, sB, sC. cuBLAS is column-major, and a row-major matrix with row stride ld, read
 * column-major with leading dimension ld, is its transpose. So we ask cuBLAS for
 * Cᵀ (N×M) = op(B)ᵀ·op(A)ᵀ: B's memory goes first, A's second, each keeps its own
 * transpose flag (B stored and read column-major is Bᵀ already), M and N swap, and
 * every leading dimension stays the row stride. */
static void gemm_rm(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda, long long sA,
                    const float *B, int ldb, long long sB, float beta, float *C, int ldc, long long sC, int batch)
{
    if (M <= 0 || N <= 0 || batch <= 0) return;
    cublasOperation_t opA = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opB = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (batch == 1)
        ckb(blas.sgemm(g_blas, opB, opA, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc), "cublasSgemm");
    else
        ckb(blas.sgemm_batched(g_blas, opB, opA, N, M, K, &alpha, B, ldb, sB, A, lda, sA, &beta, C, ldc, sC,
                                      batch),
            "cublasSgemmStridedBatched");
}

/* ---------------- memory ---------------- */

static void *cu_alloc(size_t bytes)
{
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 256) != cudaSuccess) {
        cudaGetLastError(); /* out of memory is the caller's to report, not a sticky error */
        return NULL;
    }
    return p;
}
static void cu_free(void *p) { if (p) ck(cudaFree(p), "cudaFree"); }
static void cu_upload(void *dst, const void *src, size_t bytes)
{
    if (!bytes) return;
    ck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g_stream), "upload");
    ck(cudaStreamSynchronize(g_stream), "upload (sync)"); /* src may be freed on return */
}
static void cu_download(void *dst, const void *src, size_t bytes)
{
    if (!bytes) return;
    ck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g_stream), "download");
    ck(cudaStreamSynchronize(g_stream), "download (sync)");
}
static void cu_copy(void *dst, const void *src, size_t bytes)
{
    if (!bytes || dst == src) return;
    const char *d = (const char *)dst, *s = (const char *)src;
    if (d < s + bytes && s < d + bytes) { /* overlapping, as memmove allows: go through scratch */
        void *t = scratch(bytes);
        if (!t) return;
        ck(cudaMemcpyAsync(t, src, bytes, cudaMemcpyDeviceToDevice, g_stream), "copy");
        src = t;
    }
    ck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, g_stream), "copy");
}
static void cu_zero(void *p, size_t bytes) { if (bytes) ck(cudaMemsetAsync(p, 0, bytes, g_stream), "zero"); }
static void cu_sync(void) { ck(cudaStreamSynchronize(g_stream), "sync"); }

/* ---------------- forward kernels ---------------- */

__global__ void encoder_k(float *out, const int *tok, const float *wte, const float *wpe, size_t N, int T, int C)
{
    GRID_LOOP(i, N * C) {
        size_t n = i / C, c = i % C;
        float v = wte[(size_t)tok[n] * C + c];
        out[i] = wpe ? v + wpe[(n % T) * C + c] : v;
    }
}

__global__ void norm_k(float *xhat, float *mean, float *rstd, const float *x, int C)
{
    __shared__ double sh[BS];
    size_t row = blockIdx.x;
    const float *xr = x + row * C;
    double s = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) s += xr[c];
    double mu = block_sum(s, sh) / C, v = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) { double d = xr[c] - mu; v += d * d; }
    v = block_sum(v, sh) / C; /* biased, as the CPU */
    double rs = 1.0 / sqrt(v + 1e-5);
    for (int c = threadIdx.x; c < C; c += blockDim.x) xhat[row * C + c] = (float)((xr[c] - mu) * rs);
    if (threadIdx.x == 0) { mean[row] = (float)mu; rstd[row] = (float)rs; }
}

__global__ void affine_k(float *out, const float *xhat, const float *w, const float *b, size_t N, int C)
{
    GRID_LOOP(i, N * C) out[i] = __fadd_rn(__fmul_rn(xhat[i], w[i % C]), b[i % C]);
}

__global__ void bias_rows_k(float *out, const float *bias, size_t N, int OC)
{
    GRID_LOOP(i, N * OC) out[i] = bias[i % OC];
}

/* qkv (B, T, 3C) ↔ q (B, H, T, hd) and rows p0.. of k, v (B, H, K, hd); dir 0 splits,
 * 1 merges (qkv_merge_backward, K = T, p0 = 0). */
__global__ void qkv_k(float *qkv, float *q, float *k, float *v, int dir, size_t BT, int T, int K, int p0, int H, int hd)
{
    size_t C = (size_t)H * hd;
    GRID_LOOP(i, BT * 3 * C) {
        size_t r = i / (3 * C), col = i % (3 * C), which = col / C, cc = col % C;
        size_t b = r / T, t = r % T, h = cc / hd, d = cc % hd;
        float *p = which == 0 ? q + ((b * H + h) * T + t) * hd + d
                              : (which == 1 ? k : v) + ((b * H + h) * K + p0 + t) * hd + d;
        if (dir == 0) *p = qkv[i];
        else qkv[i] = *p;
    }
}

/* x (B, T, C) ↔ rows p0.. of heads (B, H, K, hd); dir 0 splits, 1 merges. */
__global__ void heads_k(float *heads, float *x, int dir, size_t BT, int T, int K, int p0, int H, int hd)
{
    size_t C = (size_t)H * hd;
    GRID_LOOP(i, BT * C) {
        size_t r = i / C, cc = i % C, b = r / T, t = r % T, h = cc / hd, d = cc % hd;
        size_t o = ((b * H + h) * K + p0 + t) * hd + d;
        if (dir == 0) heads[o] = x[i];
        else x[i] = heads[o];
    }
}

/* scores (rows, K): columns from klen on are 0 (keys not yet in the window). */
__global__ void zero_cols_k(float *x, size_t rows, int K, int klen)
{
    GRID_LOOP(i, rows * (size_t)(K - klen)) x[(i / (K - klen)) * K + klen + i % (K - klen)] = 0.0f;
}

__global__ void attn_mask_k(float *masked, const float *scores, float scale, size_t n, int T, int K, int p0)
{
    GRID_LOOP(i, n) {
        size_t j = i % K, row = (i / K) % T;
        masked[i] = j <= p0 + row ? __fmul_rn(scores[i], scale) : -INFINITY;
    }
}

/* Row softmax of (rows, cols); with causal_T > 0 row r keeps its first p0 + r % T + 1
 * entries and the rest are exactly 0 (the attention pattern). Max in float, sum in double. */
__global__ void softmax_k(float *out, const float *in, int cols, int causal_T, int p0)
{
    __shared__ float shf[BS];
    __shared__ double shd[BS];
    size_t row = blockIdx.x;
    int len = causal_T > 0 ? p0 + (int)(row % causal_T) + 1 : cols;
    const float *l = in + row * cols;
    float *p = out + row * cols;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < len; j += blockDim.x) mx = l[j] > mx ? l[j] : mx;
    mx = block_max(mx, shf);
    double s = 0;
    for (int j = threadIdx.x; j < len; j += blockDim.x) {
        float e = expf(l[j] - mx);
        p[j] = e;
        s += e;
    }
    float inv = (float)(1.0 / block_sum(s, shd));
    for (int j = threadIdx.x; j < cols; j += blockDim.x) p[j] = j < len ? p[j] * inv : 0.0f;
}

__global__ void gelu_k(float *out, const float *x, size_t n)
{
    GRID_LOOP(i, n) {
        float u = x[i];
        float inner = __fmul_rn(GELU_K, __fadd_rn(u, __fmul_rn(__fmul_rn(__fmul_rn(0.044715f, u), u), u)));
        out[i] = __fmul_rn(__fmul_rn(0.5f, u), 1.0f + tanhf(inner));
    }
}
__global__ void relu_k(float *out, const float *x, size_t n) { GRID_LOOP(i, n) out[i] = x[i] > 0 ? x[i] : 0.0f; }
__global__ void add_k(float *out, const float *a, const float *b, size_t n) { GRID_LOOP(i, n) out[i] = a[i] + b[i]; }
__global__ void scale_k(float *x, float s, size_t n) { GRID_LOOP(i, n) x[i] *= s; }
__global__ void accumulate_k(float *dst, const float *src, size_t n) { GRID_LOOP(i, n) dst[i] += src[i]; }

__global__ void crossentropy_k(float *losses, const float *probs, const int *targets, size_t N, int V)
{
    GRID_LOOP(n, N) {
        int t = targets[n];
        losses[n] = t >= 0 ? -logf(probs[n * V + t]) : 0.0f;
    }
}

/* x (B groups of T rows, C): each column replaced by its mean within the group. */
__global__ void mean_rows_k(float *x, int B, int T, int C)
{
    GRID_LOOP(i, (size_t)B * C) {
        float *xb = x + (i / C) * T * C + i % C;
        double s = 0;
        for (int t = 0; t < T; t++) s += xb[(size_t)t * C];
        float mu = (float)(s / T);
        for (int t = 0; t < T; t++) xb[(size_t)t * C] = mu;
    }
}

/* ---------------- backward kernels ---------------- */

__global__ void ce_backward_k(float *dl, const float *probs, const int *targets, float dloss, size_t N, int V)
{
    GRID_LOOP(i, N * V) {
        size_t n = i / V;
        int t = targets[n], j = (int)(i % V);
        float d = t < 0 ? 0.0f : __fmul_rn(probs[i], dloss);
        dl[i] = t >= 0 && j == t ? d - dloss : d;
    }
}

/* db[o] += Σ_n dout[n, o], summed in double in row order. */
__global__ void colsum_k(float *db, const float *dout, int N, int OC)
{
    GRID_LOOP(o, OC) {
        double s = 0;
        for (int n = 0; n < N; n++) s += dout[(size_t)n * OC + o];
        db[o] += (float)s;
    }
}

__global__ void layernorm_bw_dx_k(float *dx, const float *dout, const float *xhat, const float *rstd, const float *w,
                                  int C)
{
    __shared__ double sh[BS];
    size_t row = blockIdx.x;
    const float *dy = dout + row * C, *xh = xhat + row * C;
    double g = 0, gx = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        double gg = (double)dy[c] * w[c];
        g += gg;
        gx += gg * xh[c];
    }
    double mean_g = block_sum(g, sh) / C, mean_gx = block_sum(gx, sh) / C, rs = rstd[row];
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        double gg = (double)dy[c] * w[c];
        dx[row * C + c] += (float)((gg - mean_g - xh[c] * mean_gx) * rs);
    }
}

__global__ void layernorm_bw_wb_k(float *dw, float *db, const float *dout, const float *xhat, int N, int C)
{
    GRID_LOOP(c, C) {
        double s1 = 0, s2 = 0;
        for (int n = 0; n < N; n++) {
            size_t i = (size_t)n * C + c;
            s1 += (double)dout[i] * xhat[i];
            s2 += dout[i];
        }
        if (dw) dw[c] += (float)s1;
        if (db) db[c] += (float)s2;
    }
}

__global__ void gelu_backward_k(float *dx, const float *x, const float *dout, size_t n)
{
    GRID_LOOP(i, n) {
        float u = x[i];
        float cube = __fmul_rn(__fmul_rn(__fmul_rn(0.044715f, u), u), u);
        float th = tanhf(__fmul_rn(GELU_K, __fadd_rn(u, cube)));
        float sech2 = __fsub_rn(1.0f, __fmul_rn(th, th));
        float a = __fmul_rn(0.5f, 1.0f + th);
        float b = __fmul_rn(__fmul_rn(__fmul_rn(__fmul_rn(0.5f, u), sech2), GELU_K),
                            __fadd_rn(1.0f, __fmul_rn(__fmul_rn(3.0f * 0.044715f, u), u)));
        dx[i] = __fadd_rn(dx[i], __fmul_rn(__fadd_rn(a, b), dout[i]));
    }
}
__global__ void relu_backward_k(float *dx, const float *x, const float *dout, size_t n)
{
    GRID_LOOP(i, n) dx[i] += x[i] > 0 ? dout[i] : 0.0f;
}

/* dscores[j] = p_j (dp_j - Σ_k p_k dp_k) · scale for j ≤ i, 0 above the diagonal. */
__global__ void attn_softmax_bw_k(float *ds, const float *dp, const float *p, float scale, int T)
{
    __shared__ double sh[BS];
    size_t row = blockIdx.x, o = row * T;
    int len = (int)(row % T) + 1;
    double dot = 0;
    for (int j = threadIdx.x; j < len; j += blockDim.x) dot += (double)p[o + j] * dp[o + j];
    dot = block_sum(dot, sh);
    for (int j = threadIdx.x; j < T; j += blockDim.x)
        ds[o + j] = j < len ? __fmul_rn((float)(p[o + j] * (dp[o + j] - dot)), scale) : 0.0f;
}

/* encoder_backward without atomics, in the CPU's order: nxt[n] is the next position with
 * the same token (-1: none), first[n] whether n is its token's first position. */
__global__ void enc_chain_k(int *nxt, int *first, const int *tok, int N)
{
    GRID_LOOP(n, N) {
        int tn = tok[n], f = 1, nx = -1;
        for (int m = 0; m < N; m++) {
            if (tok[m] != tn) continue;
            if (m < (int)n) f = 0;
            else if (m > (int)n) { nx = m; break; }
        }
        nxt[n] = nx;
        first[n] = f;
    }
}

/* The first position of each token adds every position of it, in position order. */
__global__ void enc_bw_wte_k(float *dwte, const float *dout, const int *tok, const int *nxt, const int *first, int N,
                             int C)
{
    GRID_LOOP(i, (size_t)N * C) {
        int n = (int)(i / C), c = (int)(i % C);
        if (!first[n]) continue;
        float *dst = dwte + (size_t)tok[n] * C + c;
        float acc = *dst;
        for (int m = n; m >= 0; m = nxt[m]) acc += dout[(size_t)m * C + c];
        *dst = acc;
    }
}

__global__ void enc_bw_wpe_k(float *dwpe, const float *dout, int N, int T, int C)
{
    GRID_LOOP(i, (size_t)T * C) {
        size_t t = i / C, c = i % C;
        float acc = dwpe[i];
        for (size_t n = t; n < (size_t)N; n += T) acc += dout[n * C + c];
        dwpe[i] = acc;
    }
}

__global__ void sumsq_k(double *part, const float *x, size_t n)
{
    __shared__ double sh[BS];
    double s = 0;
    GRID_LOOP(i, n) s += (double)x[i] * x[i];
    s = block_sum(s, sh);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

/* cpu_adamw's arithmetic, operation for operation. */
__global__ void adamw_k(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                        float wd, float gscale, float c1, float c2)
{
    GRID_LOOP(i, n) {
        float gi = __fmul_rn(g[i], gscale);
        float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(1.0f - b1, gi));
        float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(1.0f - b2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        float mh = __fdiv_rn(mi, c1), vh = __fdiv_rn(vi, c2);
        float upd = __fadd_rn(__fdiv_rn(mh, __fadd_rn(__fsqrt_rn(vh), eps)), __fmul_rn(wd, p[i]));
        p[i] = __fsub_rn(p[i], __fmul_rn(lr, upd));
    }
}

/* ---------------- the table's ops ---------------- */

static void cu_encoder(float *out, const int *tok, const float *wte, const float *wpe, int N, int T, int C)
{
    ELEMWISE(encoder_k, (size_t)N * C, out, tok, wte, wpe, (size_t)N, T, C);
}

static void cu_norm(float *xhat, float *mean, float *rstd, const float *x, int N, int C)
{
    ROWS(norm_k, N, xhat, mean, rstd, x, C);
}

static void cu_affine(float *out, const float *xhat, const float *w, const float *b, int N, int C)
{
    ELEMWISE(affine_k, (size_t)N * C, out, xhat, w, b, (size_t)N, C);
}

static void cu_matmul(float *out, const float *x, const float *w, const float *bias, int N, int IC, int OC)
{
    if (bias) ELEMWISE(bias_rows_k, (size_t)N * OC, out, bias, (size_t)N, OC);
    /* out (N, OC) = x (N, IC) · wᵀ, w stored (OC, IC): cblas (NoTrans, Trans) */
    gemm_rm(false, true, N, OC, IC, 1.0f, x, IC, 0, w, IC, 0, bias ? 1.0f : 0.0f, out, OC, 0, 1);
}

static void cu_qkv_split(float *q, float *k, float *v, const float *qkv, int B, int T, int K, int p0, int H, int hd)
{
    ELEMWISE(qkv_k, (size_t)B * T * 3 * H * hd, (float *)qkv, q, k, v, 0, (size_t)B * T, T, K, p0, H, hd);
}

static void cu_attn_scores(float *scores, const float *q, const float *k, int BH, int T, int K, int p0, int hd)
{
    /* per head: scores (T, klen) = q (T, hd) · kᵀ, k stored (K, hd), rows of K floats: (NoTrans, Trans) */
    int klen = p0 + T;
    gemm_rm(false, true, T, klen, hd, 1.0f, q, hd, (long long)T * hd, k, hd, (long long)K * hd, 0.0f, scores, K,
            (long long)T * K, BH);
    if (klen < K) ELEMWISE(zero_cols_k, (size_t)BH * T * (K - klen), scores, (size_t)BH * T, K, klen);
}

static void cu_attn_mask(float *masked, const float *scores, float scale, int BH, int T, int K, int p0)
{
    ELEMWISE(attn_mask_k, (size_t)BH * T * K, masked, scores, scale, (size_t)BH * T * K, T, K, p0);
}

static void cu_attn_softmax(float *pattern, const float *masked, int BH, int T, int K, int p0)
{
    ROWS(softmax_k, (size_t)BH * T, pattern, masked, K, T, p0);
}

static void cu_attn_apply(float *ctx, const float *pattern, const float *v, int B, int H, int T, int K, int p0, int hd)
{
    /* per head, into scratch (B, H, T, hd): (T, hd) = pattern (T, klen) · v (klen, hd): (NoTrans,
     * NoTrans); then heads merge into ctx (B, T, C). Output strides stay uniform that way. */
    size_t n = (size_t)B * H * T * hd;
    float *tmp = (float *)scratch(n * sizeof(float));
    if (!tmp || n == 0) return;
    int klen = p0 + T;
    gemm_rm(false, false, T, hd, klen, 1.0f, pattern, K, (long long)T * K, v, hd, (long long)K * hd, 0.0f, tmp, hd,
            (long long)T * hd, B * H);
    ELEMWISE(heads_k, n, tmp, ctx, 1, (size_t)B * T, T, T, 0, H, hd);
}

static void cu_gelu(float *out, const float *x, size_t n) { ELEMWISE(gelu_k, n, out, x, n); }
static void cu_relu(float *out, const float *x, size_t n) { ELEMWISE(relu_k, n, out, x, n); }
static void cu_add(float *out, const float *a, const float *b, size_t n) { ELEMWISE(add_k, n, out, a, b, n); }
static void cu_scale(float *x, float s, size_t n) { ELEMWISE(scale_k, n, x, s, n); }

static void cu_softmax(float *probs, const float *logits, int N, int V) { ROWS(softmax_k, N, probs, logits, V, 0, 0); }

static void cu_crossentropy(float *losses, const float *probs, const int *targets, int N, int V)
{
    ELEMWISE(crossentropy_k, (size_t)N, losses, probs, targets, (size_t)N, V);
}

static void cu_split_heads(float *out, const float *x, int B, int T, int K, int p0, int H, int hd)
{
    ELEMWISE(heads_k, (size_t)B * T * H * hd, out, (float *)x, 0, (size_t)B * T, T, K, p0, H, hd);
}

static void cu_mean_rows(float *x, int B, int T, int C)
{
    if (T > 0) ELEMWISE(mean_rows_k, (size_t)B * C, x, B, T, C);
}

static void cu_ce_softmax_backward(float *dlogits, const float *probs, const int *targets, float dloss_per, int N,
                                   int V)
{
    ELEMWISE(ce_backward_k, (size_t)N * V, dlogits, probs, targets, dloss_per, (size_t)N, V);
}

static void cu_matmul_backward(float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                               int N, int IC, int OC)
{
    /* dx (N, IC) += dout (N, OC) · w (OC, IC): (NoTrans, NoTrans) */
    if (dx) gemm_rm(false, false, N, IC, OC, 1.0f, dout, OC, 0, w, IC, 0, 1.0f, dx, IC, 0, 1);
    /* dw (OC, IC) += doutᵀ · x, dout stored (N, OC), x (N, IC): (Trans, NoTrans) */
    if (dw) gemm_rm(true, false, OC, IC, N, 1.0f, dout, OC, 0, x, IC, 0, 1.0f, dw, IC, 0, 1);
    if (db) ELEMWISE(colsum_k, (size_t)OC, db, dout, N, OC);
}

static void cu_layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *xhat,
                                  const float *rstd, const float *w, int N, int C)
{
    ROWS(layernorm_bw_dx_k, N, dx, dout, xhat, rstd, w, C);
    if (dw || db) ELEMWISE(layernorm_bw_wb_k, (size_t)C, dw, db, dout, xhat, N, C);
}

static void cu_gelu_backward(float *dx, const float *x, const float *dout, size_t n)
{
    ELEMWISE(gelu_backward_k, n, dx, x, dout, n);
}
static void cu_relu_backward(float *dx, const float *x, const float *dout, size_t n)
{
    ELEMWISE(relu_backward_k, n, dx, x, dout, n);
}

static void cu_attn_apply_backward(float *dpattern, float *dv, const float *dctx, const float *pattern, const float *v,
                                   int B, int H, int T, int hd)
{
    /* dctx (B, T, C) split into heads in scratch (B, H, T, hd) first, so strides are uniform */
    size_t n = (size_t)B * H * T * hd;
    float *dch = (float *)scratch(n * sizeof(float));
    if (!dch || n == 0) return;
    ELEMWISE(heads_k, n, dch, (float *)dctx, 0, (size_t)B * T, T, T, 0, H, hd);
    long long sv = (long long)T * hd, sp = (long long)T * T;
    /* dpattern (T, T) = dctx_h (T, hd) · vᵀ, v stored (T, hd): (NoTrans, Trans) */
    gemm_rm(false, true, T, T, hd, 1.0f, dch, hd, sv, v, hd, sv, 0.0f, dpattern, T, sp, B * H);
    /* dv (T, hd) += patternᵀ · dctx_h, pattern stored (T, T): (Trans, NoTrans) */
    gemm_rm(true, false, T, hd, T, 1.0f, pattern, T, sp, dch, hd, sv, 1.0f, dv, hd, sv, B * H);
}

static void cu_attn_softmax_backward(float *dscores, const float *dpattern, const float *pattern, float scale, int BH,
                                     int T)
{
    ROWS(attn_softmax_bw_k, (size_t)BH * T, dscores, dpattern, pattern, scale, T);
}

static void cu_attn_scores_backward(float *dq, float *dk, const float *dscores, const float *q, const float *k, int BH,
                                    int T, int hd)
{
    long long sv = (long long)T * hd, sp = (long long)T * T;
    /* dq (T, hd) += dscores (T, T) · k (T, hd): (NoTrans, NoTrans) */
    gemm_rm(false, false, T, hd, T, 1.0f, dscores, T, sp, k, hd, sv, 1.0f, dq, hd, sv, BH);
    /* dk (T, hd) += dscoresᵀ · q, dscores stored (T, T): (Trans, NoTrans) */
    gemm_rm(true, false, T, hd, T, 1.0f, dscores, T, sp, q, hd, sv, 1.0f, dk, hd, sv, BH);
}

static void cu_qkv_merge_backward(float *dqkv, const float *dq, const float *dk, const float *dv, int B, int T, int H,
                                  int hd)
{
    ELEMWISE(qkv_k, (size_t)B * T * 3 * H * hd, dqkv, (float *)dq, (float *)dk, (float *)dv, 1, (size_t)B * T, T, T, 0,
             H, hd);
}

static void cu_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tok, int N, int T, int C)
{
    if (N <= 0) return;
    int *nxt = (int *)scratch(2 * (size_t)N * sizeof(int));
    if (!nxt) return;
    ELEMWISE(enc_chain_k, (size_t)N, nxt, nxt + N, tok, N);
    ELEMWISE(enc_bw_wte_k, (size_t)N * C, dwte, dout, tok, nxt, nxt + N, N, C);
    if (dwpe) ELEMWISE(enc_bw_wpe_k, (size_t)T * C, dwpe, dout, N, T, C);
}

static void cu_accumulate(float *dst, const float *src, size_t n) { ELEMWISE(accumulate_k, n, dst, src, n); }

/* Per-block double partials over a fixed grid, added on the host in block order. */
static double cu_sumsq(const float *x, size_t n)
{
    if (n == 0) return 0.0;
    unsigned blocks = grid_for(n);
    if (blocks > PART_BLOCKS) blocks = PART_BLOCKS;
    sumsq_k<<<blocks, BS, 0, g_stream>>>(g_part, x, n);
    if (!LAUNCHED("sumsq_k")) return NAN;
    double part[PART_BLOCKS];
    if (!ck(cudaMemcpyAsync(part, g_part, blocks * sizeof(double), cudaMemcpyDeviceToHost, g_stream), "sumsq") ||
        !ck(cudaStreamSynchronize(g_stream), "sumsq (sync)"))
        return NAN;
    double s = 0;
    for (unsigned b = 0; b < blocks; b++) s += part[b];
    return s;
}

static void cu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                     float wd, float gscale, long step)
{
    float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step); /* as cpu_adamw, on the host */
    ELEMWISE(adamw_k, n, p, g, m, v, n, lr, b1, b2, eps, wd, gscale, c1, c2);
}

/* ---------------- the table, start-up and the self-check ---------------- */

static Backend g_table;

static void fill_table(Backend *t)
{
    t->name = "cuda"; t->alloc = cu_alloc; t->free = cu_free; t->upload = cu_upload; t->download = cu_download;
    t->copy = cu_copy; t->zero = cu_zero; t->sync = cu_sync; t->status = cu_status; t->encoder = cu_encoder;
    t->norm = cu_norm; t->affine = cu_affine;
    t->matmul = cu_matmul; t->qkv_split = cu_qkv_split; t->attn_scores = cu_attn_scores; t->attn_mask = cu_attn_mask;
    t->attn_softmax = cu_attn_softmax; t->attn_apply = cu_attn_apply; t->gelu = cu_gelu; t->relu = cu_relu;
    t->add = cu_add; t->scale = cu_scale; t->softmax = cu_softmax; t->crossentropy = cu_crossentropy;
    t->split_heads = cu_split_heads; t->mean_rows = cu_mean_rows; t->crossentropy_softmax_backward = cu_ce_softmax_backward;
    t->matmul_backward = cu_matmul_backward; t->layernorm_backward = cu_layernorm_backward;
    t->gelu_backward = cu_gelu_backward; t->relu_backward = cu_relu_backward;
    t->attn_apply_backward = cu_attn_apply_backward; t->attn_softmax_backward = cu_attn_softmax_backward;
    t->attn_scores_backward = cu_attn_scores_backward; t->qkv_merge_backward = cu_qkv_merge_backward;
    t->encoder_backward = cu_encoder_backward; t->accumulate = cu_accumulate; t->sumsq = cu_sumsq;
    t->adamw = cu_adamw;
}

/* A tiny matmul, softmax and LayerNorm on the CPU and on the device: the largest abs
 * difference (+inf, with why set, when they disagree by more than 1e-4 or CUDA fails). */
static double self_check(char *why, size_t whylen)
{
    enum { N = 5, IC = 37, OC = 9, NA = N * IC, NW = OC * IC };
    static float x[NA], w[NW], bias[OC], gain[IC], beta[IC], want[NA], got[NA], xh[NA], mu[N], rs[N];
    unsigned s = 12345u;
    for (int i = 0; i < NA; i++) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f * 4 - 2;
    for (int i = 0; i < NW; i++) w[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int i = 0; i < OC; i++) bias[i] = 0.1f * i;
    for (int i = 0; i < IC; i++) { gain[i] = 1.0f + 0.01f * i; beta[i] = -0.02f * i; }
    size_t total = 3 * (size_t)NA + NW + OC + 2 * IC + 2 * N;
    float *d = (float *)cu_alloc(sizeof(float) * total);
    if (!d) { snprintf(why, whylen, "CUDA self-check failed: cannot allocate device memory"); return INFINITY; }
    float *dx = d, *dw = dx + NA, *db = dw + NW, *dg = db + OC, *dbeta = dg + IC, *dout = dbeta + IC, *dxh = dout + NA,
          *dmu = dxh + NA, *drs = dmu + N;
    cu_upload(dx, x, sizeof x);
    cu_upload(dw, w, sizeof w);
    cu_upload(db, bias, sizeof bias);
    cu_upload(dg, gain, sizeof gain);
    cu_upload(dbeta, beta, sizeof beta);
    const char *ops[3] = {"matmul", "softmax", "layernorm"};
    double worst = 0;
    for (int op = 0; op < 3 && !g_err[0]; op++) {
        size_t n = op == 0 ? (size_t)N * OC : (size_t)NA;
        if (op == 0) {
            backend_cpu.matmul(want, x, w, bias, N, IC, OC);
            cu_matmul(dout, dx, dw, db, N, IC, OC);
        } else if (op == 1) {
            backend_cpu.softmax(want, x, N, IC);
            cu_softmax(dout, dx, N, IC);
        } else {
            backend_cpu.norm(xh, mu, rs, x, N, IC);
            backend_cpu.affine(want, xh, gain, beta, N, IC);
            cu_norm(dxh, dmu, drs, dx, N, IC);
            cu_affine(dout, dxh, dg, dbeta, N, IC);
        }
        cu_download(got, dout, n * sizeof(float));
        double md = 0;
        for (size_t i = 0; i < n; i++) {
            double diff = fabs((double)got[i] - want[i]);
            if (!(diff <= md)) md = diff; /* a NaN sticks */
        }
        if (!g_err[0] && !(md <= 1e-4)) {
            snprintf(why, whylen, "CUDA self-check failed: %s differs from the CPU by %.3g", ops[op], md);
            cu_free(d);
            return INFINITY;
        }
        if (md > worst) worst = md;
    }
    cu_free(d);
    if (g_err[0]) {
        snprintf(why, whylen, "CUDA self-check failed: %s", g_err);
        return INFINITY;
    }
    return worst;
}

static char g_why[320];
static int g_state; /* 0: not tried, 1: usable, -1: not usable (g_why says why) */

/* Opens cuBLAS and resolves blas; NULL on success, else what is missing. */
static const char *open_cublas(void)
{
    static char verbuf[32];
    snprintf(verbuf, sizeof verbuf, "libcublas.so.%d", CUBLAS_VER_MAJOR);
    const char *names[] = {verbuf, "libcublas.so"};
    void *lib = NULL;
    for (int i = 0; i < 2 && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) return dlerror();
#define SYM(field, name) if (!(*(void **)&blas.field = dlsym(lib, name))) return name
    SYM(create, "cublasCreate_v2");
    SYM(set_stream, "cublasSetStream_v2");
    SYM(set_math_mode, "cublasSetMathMode");
    SYM(sgemm, "cublasSgemm_v2");
    SYM(sgemm_batched, "cublasSgemmStridedBatched");
    SYM(status_string, "cublasGetStatusString");
#undef SYM
    return NULL;
}

static int cuda_start(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        /* Without an NVIDIA driver the runtime says "driver version is insufficient": say what it means. */
        const char *what = e == cudaSuccess || e == cudaErrorNoDevice ? "none found"
                           : e == cudaErrorInsufficientDriver ? "no NVIDIA driver loaded (or one older than CUDA 13 needs)"
                                                              : cudaGetErrorString(e);
        snprintf(g_why, sizeof g_why, "no CUDA device: %s", what);
        cudaGetLastError();
        return -1;
    }
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess && prop.major < 9) {
        snprintf(g_why, sizeof g_why, "CUDA device %.64s is compute capability %d.%d; this build has kernels for 9.0 and up",
                 prop.name, prop.major, prop.minor);
        return -1;
    }
    const char *miss = open_cublas();
    if (miss) {
        snprintf(g_why, sizeof g_why, "cannot load cuBLAS: %.200s", miss);
        return -1;
    }
    if (!ck(cudaSetDevice(0), "cudaSetDevice") || !ck(cudaStreamCreate(&g_stream), "cudaStreamCreate") ||
        !ckb(blas.create(&g_blas), "cublasCreate") || !ckb(blas.set_stream(g_blas, g_stream), "cublasSetStream") ||
        !ckb(blas.set_math_mode(g_blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode") ||
        !ck(cudaMalloc(&g_part, PART_BLOCKS * sizeof(double)), "cudaMalloc")) {
        snprintf(g_why, sizeof g_why, "CUDA start failed: %s", g_err);
        return -1;
    }
    fill_table(&g_table);
    if (!(self_check(g_why, sizeof g_why) <= 1e-4)) return -1;
    g_err[0] = 0;
    return 1;
}

extern "C" const Backend *backend_cuda(const char **why)
{
    if (g_state == 0) g_state = cuda_start();
    if (g_state < 0) {
        if (why) *why = g_why;
        return NULL;
    }
    return &g_table;
}
