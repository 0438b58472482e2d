/* backend_cpu.c — the reference backend: plain C loops, GEMMs through OpenBLAS.
 *
 * Every other backend is tested against these functions. Reductions accumulate in
 * double so the reference is as close to exact as float storage allows.
 *
 * Threads. OpenBLAS runs single-threaded; each op splits its work into fixed chunks
 * (rows of a GEMM, heads, blocks of rows or elements) that a small pthread pool hands
 * out dynamically. Idle workers sleep on a condition variable (no spinning), so the
 * pool never starves another process, and a core lost to one only slows an op down.
 * Every output is computed by one chunk in a fixed order and partial sums are added in
 * chunk order, so results do not depend on the number of threads (GPTREPL_THREADS,
 * default: the online CPUs) or on scheduling. */
#include "backend.h"
#include "gemv.h"
#include "quant.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif
#include <unistd.h>

#define GELU_K 0.7978845608028654f /* √(2/π) */

/* For this file only: FP exceptions are never unmasked and errno is never read after a
 * math call, so FP operations may be speculated (the clamps in vexpf/vtanhf if-convert,
 * sqrtf becomes one instruction), and loops may be vectorised behind a run-time
 * overlap check (-O2's "very cheap" cost model refuses those). */
#pragma GCC optimize("no-trapping-math", "no-math-errno", "vect-cost-model=dynamic")

#include "vmath.h" /* after the pragma: its functions take the pragma's options */

/* ---------------- the thread pool ---------------- */

typedef void (*ChunkFn)(void *ctx, size_t a, size_t b);

#define POOL_MAX 64

static struct {
    pthread_mutex_t mu;          /* guards everything below */
    pthread_cond_t wake, done;
    pthread_mutex_t call;        /* one parallel job at a time */
    int nthreads;                /* workers + the caller */
    unsigned long gen;           /* bumped for each job */
    ChunkFn fn;
    void *ctx;
    size_t n, grain;
    size_t finished;             /* chunks done */
    int active;                  /* workers inside a job */
    int quit;                    /* set at exit: workers return */
    int nworkers;
    pthread_t workers[POOL_MAX];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER, .call = PTHREAD_MUTEX_INITIALIZER, .nthreads = 1};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
/* pool.gen, readable without the mutex: a worker that has just finished a job spins on it
 * for a while before sleeping, since generation starts a matrix product every few tens of
 * microseconds and a futex wake-up costs about as much on a virtual machine. */
static atomic_ulong pool_gen_pub;
/* The caller's side of the same trade: chunks finished by workers and workers inside the
 * job, readable without the mutex, so the caller spins until its job is done instead of
 * sleeping on a condition variable and being woken by a futex each time. */
static atomic_size_t pool_done_pub;
static atomic_int pool_active_pub;
#define POOL_SPIN_NS 200000
/* The chunks of the current job not yet handed out, [front, back) as front << 32 | back:
 * the caller takes them from the front, workers from the back (see cpu_read_ahead). */
static _Atomic uint64_t pool_ends;
/* The read-ahead hint (cpu_read_ahead), one word so that a spinning worker reads it
 * without the mutex: the address in the low 48 bits (x86-64 user space), the length in
 * 64-byte lines in the top 16; 0 = none. And the workers reading one. */
static _Atomic uint64_t pool_ra_pub;
static atomic_int pool_ra_busy;
#define RA_ADDR (((uint64_t)1 << 48) - 1)

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* One turn of a spin-wait begun at t0: pauses, and says whether to go on (the clock is
 * read every 64 turns; after POOL_SPIN_NS the waiter sleeps instead). */
static inline int spin_on(unsigned i, long t0)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
    return (i & 63) || now_ns() - t0 <= POOL_SPIN_NS;
}

/* Runs chunks of the current job, from the front or from the back, until none is left;
 * returns how many it ran. */
static size_t pool_drain(ChunkFn fn, void *ctx, size_t n, size_t grain, int from_back)
{
    size_t ran = 0;
    uint64_t e = atomic_load(&pool_ends);
    for (;;) {
        uint64_t f = e >> 32, bk = e & 0xffffffffu;
        if (f >= bk) break;
        uint64_t ne = from_back ? (f << 32) | (bk - 1) : ((f + 1) << 32) | bk;
        if (!atomic_compare_exchange_weak(&pool_ends, &e, ne)) continue; /* e now holds the new value */
        size_t k = from_back ? (size_t)bk - 1 : (size_t)f;
        size_t a = k * grain, b = a + grain < n ? a + grain : n;
        fn(ctx, a, b);
        ran++;
        e = atomic_load(&pool_ends);
    }
    return ran;
}

/* Reads hint h ahead from byte `off`: one load per 64-byte line, in storage order, until
 * a job is posted (gen moves past seen) or the hint is replaced or cancelled: checked
 * every 4 KB, so a job waits for at most 64 lines. Returns where it stopped (a hint is
 * posted just before a product, so the worker goes on with it after that product). Busy
 * is raised before h is checked, so cpu_sync, which clears the hint and then waits for
 * busy = 0, never returns while h is being read. */
static volatile unsigned ra_sink; /* keeps the loads */

static size_t read_ahead(uint64_t h, unsigned long seen, size_t off)
{
    size_t n = (size_t)(h >> 48) * 64;
    atomic_fetch_add(&pool_ra_busy, 1);
    if (atomic_load(&pool_ra_pub) == h) {
        const unsigned char *p = (const unsigned char *)(uintptr_t)(h & RA_ADDR);
        unsigned sum = 0;
        for (; off < n; off += 4096) {
            if (atomic_load_explicit(&pool_gen_pub, memory_order_relaxed) != seen ||
                atomic_load_explicit(&pool_ra_pub, memory_order_relaxed) != h)
                break;
            size_t end = off + 4096 < n ? off + 4096 : n;
            for (size_t o = off; o < end; o += 64) sum += p[o];
        }
        ra_sink = sum;
    } else {
        off = n;
    }
    atomic_fetch_sub(&pool_ra_busy, 1);
    return off;
}

/* A worker joins a job under the mutex (active++), so the caller, which waits for
 * active == 0 before returning and before starting the next job, never leaves a worker
 * holding a stale job. Waiting for one, it reads each new hint ahead, once. */
static void *pool_worker(void *arg)
{
    (void)arg;
    unsigned long seen = 0;
    uint64_t ra_h = 0; /* the hint this worker reads, and how far it got */
    size_t ra_off = 0;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        if (pool.gen == seen && !pool.quit) {
            pthread_mutex_unlock(&pool.mu);
            long t0 = now_ns();
            for (unsigned i = 1; atomic_load_explicit(&pool_gen_pub, memory_order_acquire) == seen; i++) {
                uint64_t h = atomic_load_explicit(&pool_ra_pub, memory_order_relaxed);
                if (h != ra_h) ra_h = h, ra_off = 0;
                if (h && ra_off < (size_t)(h >> 48) * 64) {
                    ra_off = read_ahead(h, seen, ra_off);
                    t0 = now_ns();
                } else if (!spin_on(i, t0)) {
                    break;
                }
            }
            pthread_mutex_lock(&pool.mu);
        }
        while (pool.gen == seen && !pool.quit) pthread_cond_wait(&pool.wake, &pool.mu);
        if (pool.quit) break;
        seen = pool.gen;
        ChunkFn fn = pool.fn;
        void *ctx = pool.ctx;
        size_t n = pool.n, grain = pool.grain;
        pool.active++;
        atomic_fetch_add(&pool_active_pub, 1);
        pthread_mutex_unlock(&pool.mu);
        size_t ran = pool_drain(fn, ctx, n, grain, 1);
        atomic_fetch_add(&pool_done_pub, ran);
        pthread_mutex_lock(&pool.mu);
        pool.finished += ran;
        pool.active--;
        atomic_fetch_sub(&pool_active_pub, 1);
        pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

/* At exit the workers are woken and joined, so nothing of theirs is left behind (valgrind
 * reports live threads' stacks as possibly lost). */
static void pool_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.quit = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.nworkers; i++) pthread_join(pool.workers[i], NULL);
    pool.nworkers = 0;
    pool.nthreads = 1;
}

/* A forked child has no workers: it runs everything on its one thread. */
static void pool_after_fork_child(void)
{
    pthread_mutex_init(&pool.mu, NULL);
    pthread_mutex_init(&pool.call, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.active = 0;
    pool.nthreads = 1;
    pool.nworkers = 0;
    atomic_store(&pool_ra_pub, 0);
    atomic_store(&pool_ra_busy, 0);
}

/* OpenBLAS (a DYNAMIC_ARCH build, as Debian's) picks its kernels from the CPU model when
 * it loads, and 0.3.21 does not know every model: on the Xeon of 2026-12-02 (family 6,
 * model 207) it fell back to its SSE3 "Prescott" kernels, 4x slower, and every GEMM then
 * summed in another order, so the same session printed other digits on another machine.
 * The build's baseline is x86-64-v3 (AVX2 + FMA), so OpenBLAS's Haswell kernels run
 * wherever gptrepl does: they are chosen at load, unless the user set OPENBLAS_CORETYPE.
 * Weak, so a BLAS without these entry points links and is left alone. */
#define BLAS_KERNELS "Haswell"
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

const char *backend_cpu_blas_kernels(void)
{
    if (!getenv("OPENBLAS_CORETYPE") && gotoblas_dynamic_init && gotoblas_dynamic_quit &&
        strcmp(openblas_get_corename(), BLAS_KERNELS) != 0 && setenv("OPENBLAS_CORETYPE", BLAS_KERNELS, 1) == 0) {
        gotoblas_dynamic_quit();
        gotoblas_dynamic_init(); /* reads OPENBLAS_CORETYPE */
        unsetenv("OPENBLAS_CORETYPE"); /* not passed on to what the user runs */
    }
    return openblas_get_corename();
}

/* After OpenBLAS's own constructor and before main: setenv is not thread-safe, and no
 * thread of ours exists yet. */
__attribute__((constructor)) static void blas_pin_at_load(void) { backend_cpu_blas_kernels(); }

static void pool_start(void)
{
    openblas_set_num_threads(1);
    pthread_atfork(NULL, NULL, pool_after_fork_child);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("GPTREPL_THREADS");
    if (env && atoi(env) > 0) ncpu = atoi(env);
    if (ncpu < 1) ncpu = 1;
    if (ncpu > POOL_MAX) ncpu = POOL_MAX;
    for (long i = 1; i < ncpu; i++)
        if (pthread_create(&pool.workers[pool.nworkers], NULL, pool_worker, NULL) == 0) pool.nworkers++;
    pool.nthreads = 1 + pool.nworkers;
    atexit(pool_stop);
}

static inline void blas_init(void) { pthread_once(&pool_once, pool_start); }

/* Calls fn(ctx, a, b) over [0, n) in chunks of `grain`, on the pool when the work is
 * worth it (`work` ≈ multiply-adds or element operations in all) and on the caller's
 * thread otherwise. Chunk boundaries depend only on n and grain. */
static void par_for(size_t n, size_t grain, double work, ChunkFn fn, void *ctx)
{
    if (n == 0) return;
    if (grain < 1) grain = 1;
    size_t nchunks = (n + grain - 1) / grain;
    blas_init();
    if (nchunks == 1 || nchunks > UINT32_MAX || pool.nthreads == 1 || work < 65536.0 ||
        pthread_mutex_trylock(&pool.call) != 0) {
        /* serial (also when another thread is running a parallel job: no nesting) */
        for (size_t k = 0; k < nchunks; k++) fn(ctx, k * grain, (k + 1) * grain < n ? (k + 1) * grain : n);
        return;
    }
    pthread_mutex_lock(&pool.mu);
    while (pool.active > 0) pthread_cond_wait(&pool.done, &pool.mu); /* a late joiner of the last job */
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.grain = grain;
    pool.finished = 0;
    atomic_store(&pool_done_pub, 0);
    atomic_store(&pool_ends, (uint64_t)nchunks);
    pool.gen++;
    atomic_store_explicit(&pool_gen_pub, pool.gen, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    size_t ran = pool_drain(fn, ctx, n, grain, 0);
    long t0 = now_ns();
    for (unsigned i = 1; (atomic_load(&pool_done_pub) + ran < nchunks || atomic_load(&pool_active_pub) > 0) && spin_on(i, t0); i++) {}
    pthread_mutex_lock(&pool.mu);
    pool.finished += ran;
    while (pool.finished < nchunks || pool.active > 0) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&pool.call);
}

#define CEIL_DIV(a, b) (((a) + (b) - 1) / (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define GEMM_ROWS 128    /* rows per GEMM chunk */
#define GEMM_COLS 256    /* output columns per GEMM chunk when there are few rows */
#define ELEM_CHUNK 16384 /* elements per chunk of an elementwise loop */
#define RED_CHUNK 65536  /* elements per partial sum of a reduction */

/* ---------------- memory ---------------- */

static void *cpu_alloc(size_t bytes)
{
    blas_init();
    /* 64-byte aligned for AVX-512 loads in BLAS; round up so aligned_alloc accepts it.
     * Big buffers (parameters, gradients, moments, the trace) are 2 MiB aligned and asked
     * for transparent huge pages: first touch of GPT-2's 498 MB then costs ~250 page
     * faults instead of ~120,000, and GEMMs over the weights miss the TLB less. */
    const size_t huge = (size_t)2 << 20;
    size_t align = bytes >= 4 * huge ? huge : 64;
    size_t sz = (bytes + align - 1) & ~(align - 1);
    if (sz < bytes) return NULL;
    void *p = aligned_alloc(align, sz ? sz : 64);
#ifdef MADV_HUGEPAGE
    if (p && align == huge) madvise(p, sz, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    return p;
}
static void cpu_free(void *p) { free(p); }
static void cpu_copy(void *dst, const void *src, size_t bytes) { if (bytes) memmove(dst, src, bytes); }
static void cpu_zero(void *p, size_t bytes) { if (bytes) memset(p, 0, bytes); }
/* Generation's hint (Backend.read_ahead). At B = 1 every weight is read once a token and
 * the time is memory's, but between products the caller runs attention, LayerNorm and
 * GELU alone while the worker waits. The worker reads the last RA_MAX bytes of the next
 * product's weights into its own L2 then, and takes that product's chunks from the back
 * (pool_drain), so those reads are its own cache hits; finishing its share early, it
 * takes more of the chunks. Its own: this VM's two vCPUs sit sometimes on one CCD and
 * sometimes on two, and in the second case a core reads the other's L2 at ~15 GB/s, slower
 * than memory (~27 for 600 KB; 60-75 from its own L2; /tmp harness, 2026-12-03). Measured
 * in paired 32-token rounds, on two CCDs (fast mode) and on one: int8 0.599 -> 0.643 and
 * 0.842 -> 0.877 of the weight-read limit, bf16 0.659 -> 0.696 and 0.862 -> 0.863, fp32
 * 0.763 -> 0.780 and 0.889 -> 0.899. Read from the front, the same hint gained nothing. */
#define RA_MAX ((size_t)768 << 10) /* within L2 (1 MB on Zen 4) */
static atomic_int g_ra_used;      /* whether a hint was ever posted: sync costs nothing before */
static int g_ra_on = 1;

void backend_cpu_use_read_ahead(int on) { g_ra_on = on; }

static void cpu_read_ahead(const void *p, size_t bytes)
{
    blas_init();
    size_t take = bytes < RA_MAX ? bytes : RA_MAX;
    if (!g_ra_on || pool.nthreads == 1 || !p || take < 64) return;
    uint64_t a = (uint64_t)(uintptr_t)((const char *)p + (bytes - take)), lines = take / 64;
    if (a & ~RA_ADDR) return;
    atomic_store(&g_ra_used, 1);
    atomic_store(&pool_ra_pub, a | lines << 48);
}

/* Cancels the hint and waits until no worker reads it: after sync the hinted memory may be
 * freed. */
static void cpu_sync(void)
{
    if (!atomic_load(&g_ra_used)) return;
    atomic_store(&pool_ra_pub, 0);
    while (atomic_load(&pool_ra_busy) > 0) { /* a worker stops within 4 KB of loads */
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
}

/* ---------------- forward ---------------- */

typedef struct {
    float *out, *xhat, *mean, *rstd, *dx, *dw, *db, *dp, *dv, *q, *k, *v, *p, *m, *s;
    const float *x, *w, *b, *bias, *dout, *pattern, *in, *in2, *in3;
    const int *tok, *targets;
    int N, T, C, IC, OC, B, H, hd, V, step, by_rows;
    int K, p0;           /* attention window: key rows, position of query row 0 */
    float scale, f;
    double *part;
} Args;

static void encoder_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int C = g->C;
    for (size_t n = a; n < b; n++) {
        const float *te = g->w + (size_t)g->tok[n] * C;
        float *o = g->out + n * C;
        if (g->b) {
            const float *pe = g->b + (n % (size_t)g->T) * C;
            for (int c = 0; c < C; c++) o[c] = te[c] + pe[c];
        } else {
            memcpy(o, te, sizeof(float) * (size_t)C);
        }
    }
}

static void cpu_encoder(float *out, const int *tok, const float *wte, const float *wpe, int N, int T, int C)
{
    Args g = {.out = out, .tok = tok, .w = wte, .b = wpe, .T = T, .C = C};
    par_for((size_t)N, 64, (double)N * C, encoder_chunk, &g);
}

static void norm_chunk(void *ctx, size_t a, size_t bb)
{
    Args *g = ctx;
    int C = g->C;
    for (size_t n = a; n < bb; n++) {
        const float *xr = g->x + n * C;
        double s = 0;
        for (int c = 0; c < C; c++) s += xr[c];
        double mu = s / C, v = 0;
        for (int c = 0; c < C; c++) { double d = xr[c] - mu; v += d * d; }
        v /= C; /* biased, as GPT-2 and torch.nn.LayerNorm */
        double rs = 1.0 / sqrt(v + 1e-5);
        float *xh = g->xhat + n * C;
        for (int c = 0; c < C; c++) xh[c] = (float)((xr[c] - mu) * rs);
        g->mean[n] = (float)mu;
        g->rstd[n] = (float)rs;
    }
}

static void cpu_norm(float *xhat, float *mean, float *rstd, const float *x, int N, int C)
{
    Args g = {.xhat = xhat, .mean = mean, .rstd = rstd, .x = x, .C = C};
    par_for((size_t)N, 32, (double)N * C * 3, norm_chunk, &g);
}

static void affine_chunk(void *ctx, size_t a, size_t bb)
{
    Args *g = ctx;
    int C = g->C;
    const float *w = g->w, *b = g->b;
    for (size_t n = a; n < bb; n++) {
        const float *xh = g->x + n * C;
        float *o = g->out + n * C;
        for (int c = 0; c < C; c++) o[c] = xh[c] * w[c] + b[c];
    }
}

static void cpu_affine(float *out, const float *xhat, const float *w, const float *b, int N, int C)
{
    Args g = {.out = out, .x = xhat, .w = w, .b = b, .C = C};
    par_for((size_t)N, 64, (double)N * C, affine_chunk, &g);
}

/* Generation's matrix-vector products: ours (gemv.c) unless bench asks for OpenBLAS's to
 * compare. */
static int g_gemv_ours = 1;
void backend_cpu_use_own_gemv(int on) { g_gemv_ours = on; }

/* out (N, OC) = x · wᵀ + bias, in chunks of GEMM_ROWS rows, or of output columns when
 * there are few rows (generation). */
static void matmul_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int N = g->N, IC = g->IC, OC = g->OC;
    size_t n0 = g->by_rows ? a : 0, n1 = g->by_rows ? b : (size_t)N, o0 = g->by_rows ? 0 : a,
           o1 = g->by_rows ? (size_t)OC : b;
    if (n1 - n0 == 1 && g_gemv_ours) { /* adds the bias itself */
        gemv_rows(gemv_path(), g->out + n0 * OC, g->w, g->x + n0 * IC, g->bias, o0, o1, IC);
        return;
    }
    if (g->bias) /* BLAS adds to it (beta = 1) */
        for (size_t n = n0; n < n1; n++) memcpy(g->out + n * OC + o0, g->bias + o0, sizeof(float) * (o1 - o0));
    if (n1 - n0 == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(o1 - o0), IC, 1.0f, g->w + o0 * IC, IC, g->x + n0 * IC, 1,
                    g->bias ? 1.0f : 0.0f, g->out + n0 * OC + o0, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(n1 - n0), (int)(o1 - o0), IC, 1.0f,
                    g->x + n0 * IC, IC, g->w + o0 * IC, IC, g->bias ? 1.0f : 0.0f, g->out + n0 * OC + o0, OC);
}

/* Whether a product stays on one thread: waking the pool costs tens of µs, so a tiny
 * model's products are faster alone. Generation's one row reads each weight once, so there
 * the weights' size decides: one thread streams a 768 x 768 fp32 matrix (2.4 MB) at half
 * the bandwidth two do. */
static int one_thread(int N, double wbytes, double work)
{
    return N == 1 ? wbytes < 262144.0 : work < (double)(1 << 20);
}

/* Chunks of about `target` (rows or columns) in a multiple of the thread count, so no
 * thread is left with one chunk more than another: GPT-2's 768-column projections used
 * to run as one serial chunk, and 2304 columns as 9 chunks on 2 threads. Multiples of 16
 * keep OpenBLAS on its full-width kernels. */
static size_t balanced_grain(size_t n, size_t target)
{
    blas_init(); /* starts the pool, so nthreads is known */
    size_t nt = (size_t)pool.nthreads;
    size_t per = n / (target * nt);
    size_t nch = nt * (per > 1 ? per : 1);
    size_t grain = (CEIL_DIV(n, nch) + 15) / 16 * 16;
    return grain < n ? grain : n;
}

static void cpu_matmul(float *out, const float *x, const float *w, const float *bias, int N, int IC, int OC)
{
    Args g = {.out = out, .x = x, .w = w, .bias = bias, .N = N, .IC = IC, .OC = OC};
    g.by_rows = N >= 2 * GEMM_ROWS;
    size_t parts = g.by_rows ? (size_t)N : (size_t)OC;
    double work = (double)N * IC * OC;
    size_t grain = one_thread(N, (double)IC * OC * sizeof(float), work) ? parts
                                                                      : balanced_grain(parts, g.by_rows ? GEMM_ROWS : GEMM_COLS);
    par_for(parts, grain, work, matmul_chunk, &g);
}

/* ---- bf16 / int8 weights (quant.c's kernels): the activations are converted once per
 * product, by rows on the pool, then the outputs are split by whole panels of 64 (each
 * thread streams its own rows of w; the x rows stay in cache). ---- */
static QActs g_qacts; /* grown as needed; products run one at a time */

/* The first failure since the last status call (only matmul_q can fail: it allocates). */
static char g_fail[200];
__attribute__((format(printf, 1, 2))) static void cpu_fail(const char *fmt, ...)
{
    if (g_fail[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_fail, sizeof g_fail, fmt, ap);
    va_end(ap);
}

typedef struct { QActs *qa; const float *x; float *out; const QWeight *w; const float *bias; int N; } QArgs;

static void qacts_chunk(void *ctx, size_t a, size_t b)
{
    QArgs *g = ctx;
    quant_acts_rows(g->qa, g->x, a, b);
}

static void matmul_q_chunk(void *ctx, size_t a, size_t b)
{
    QArgs *g = ctx;
    quant_rows(quant_path(g->w->type), g->out, g->qa, g->w, g->bias, 0, (size_t)g->N, a, b);
}

/* Whole panels (each read by one thread): GEMM_COLS columns a chunk when there are many,
 * else a chunk per thread. Threads take the chunks as they come, so they finish within a chunk of
 * each other. */
static size_t panel_grain(size_t OC)
{
    blas_init();
    size_t nt = (size_t)pool.nthreads, np = CEIL_DIV(OC, QUANT_PANEL);
    size_t per = np / (GEMM_COLS / QUANT_PANEL * nt); /* GEMM_COLS columns a chunk when there are many */
    size_t nch = nt * (per > 1 ? per : 1);
    return CEIL_DIV(np, nch) * QUANT_PANEL;
}

static void cpu_matmul_q(float *out, const float *x, const QWeight *w, const float *bias, int N, int IC, int OC)
{
    if (w->rows != OC || w->cols != IC) { cpu_fail("matmul_q: a %d x %d weight for a %d x %d product", w->rows, w->cols, OC, IC); return; }
    if (quant_acts_reserve(&g_qacts, w->type, N, IC)) { cpu_fail("out of memory for the %s activations", prec_def(w->type)->name); return; }
    QArgs g = {.qa = &g_qacts, .x = x, .out = out, .w = w, .bias = bias, .N = N};
    par_for((size_t)N, 8, (double)N * IC * 4, qacts_chunk, &g);
    double work = (double)N * IC * OC;
    size_t grain = one_thread(N, (double)quant_weight_bytes(w), work) ? (size_t)OC : panel_grain((size_t)OC);
    par_for((size_t)OC, grain, work > 65536 ? work : 65536, matmul_q_chunk, &g);
}

/* Generation's single query (T = 1) under 1M multiply-adds stays on one thread: waking
 * the pool would cost more than it saves (measured: splitting GPT-2's 12 heads between two
 * threads gained nothing at 96 cached keys and was as often slower as faster at 200; on
 * 2026-12-03, 200 alternating 32-token rounds of int8 generation from an empty cache,
 * heads split in two against one thread: 0.610 against 0.616 of the limit in the
 * fast-bandwidth mode, 0.914 against 0.903 in the slow one, 48-52 rounds each). */
static size_t attn_grain(size_t n, size_t grain, int T, double work)
{
    return T == 1 && work < (double)(1 << 20) ? n : grain;
}

static void qkv_split_chunk(void *ctx, size_t a, size_t bb)
{
    Args *g = ctx;
    int T = g->T, K = g->K, p0 = g->p0, H = g->H, hd = g->hd, C = H * hd;
    for (size_t r = a; r < bb; r++) { /* r = b*T + t */
        size_t b = r / T, t = r % T;
        const float *row = g->in + r * 3 * C;
        for (int h = 0; h < H; h++) {
            size_t oq = ((b * H + h) * T + t) * hd, okv = ((b * H + h) * K + p0 + t) * hd;
            memcpy(g->q + oq, row + h * hd, sizeof(float) * (size_t)hd);
            memcpy(g->k + okv, row + C + h * hd, sizeof(float) * (size_t)hd);
            memcpy(g->v + okv, row + 2 * C + h * hd, sizeof(float) * (size_t)hd);
        }
    }
}

static void cpu_qkv_split(float *q, float *k, float *v, const float *qkv, int B, int T, int K, int p0, int H, int hd)
{
    Args g = {.q = q, .k = k, .v = v, .in = qkv, .T = T, .K = K, .p0 = p0, .H = H, .hd = hd};
    par_for((size_t)B * T, 64, (double)B * T * H * hd * 3, qkv_split_chunk, &g);
}

/* The keys past a query's own position (its row's tail: 0 in scores and pattern, -inf in
 * masked) are never read, only shown. p0 > 0 only in a KV cache, whose steps run over the
 * same rows with p0 growing from 0 (a reset or a slide starts again at 0): a row's tail
 * then only shrinks, so the p0 = 0 step writes it whole and later steps leave it.
 * Rewriting it every step (3 × 12 heads × ~4 KB a layer) cost GPT-2 generation ~1.7 MB
 * of stores a token, which the weights streaming past evict to memory. */
#define ROW_TAIL_KEPT(p0) ((p0) > 0)

static void attn_scores_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int T = g->T, K = g->K, p0 = g->p0, hd = g->hd, klen = p0 + T;
    for (size_t i = a; i < b; i++) {
        const float *q = g->in + i * T * hd, *k = g->in2 + i * K * hd;
        float *s = g->out + i * T * K;
        if (T == 1) gemv_rows(gemv_path(), s, k, q, NULL, 0, (size_t)klen, hd); /* OpenBLAS's call costs more */
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, klen, hd, 1.0f, q, hd, k, hd, 0.0f, s, K);
        if (klen < K && !ROW_TAIL_KEPT(p0))
            for (int r = 0; r < T; r++) memset(s + (size_t)r * K + klen, 0, sizeof(float) * (size_t)(K - klen));
    }
}

static void cpu_attn_scores(float *scores, const float *q, const float *k, int BH, int T, int K, int p0, int hd)
{
    Args g = {.out = scores, .in = q, .in2 = k, .T = T, .K = K, .p0 = p0, .hd = hd};
    double work = (double)BH * T * (p0 + T) * hd;
    par_for((size_t)BH, attn_grain((size_t)BH, 1, T, work), work, attn_scores_chunk, &g);
}

static void attn_mask_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int T = g->T, K = g->K, p0 = g->p0;
    for (size_t r = a; r < b; r++) {
        int last = p0 + (int)(r % T); /* the query's own position: keys up to it are seen */
        const float *s = g->in + r * K;
        float *mk = g->out + r * K, scale = g->scale;
        for (int j = 0; j <= last; j++) mk[j] = s[j] * scale;
        if (!ROW_TAIL_KEPT(p0))
            for (int j = last + 1; j < K; j++) mk[j] = -INFINITY;
    }
}

static void cpu_attn_mask(float *masked, const float *scores, float scale, int BH, int T, int K, int p0)
{
    Args g = {.out = masked, .in = scores, .scale = scale, .T = T, .K = K, .p0 = p0};
    double work = (double)BH * T * K;
    par_for((size_t)BH * T, attn_grain((size_t)BH * T, 64, T, work), work, attn_mask_chunk, &g);
}

static void attn_softmax_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int T = g->T, K = g->K, p0 = g->p0;
    for (size_t r = a; r < b; r++) {
        int last = p0 + (int)(r % T);
        const float *mk = g->in + r * K;
        float *p = g->out + r * K;
        float mx = -INFINITY;
        for (int j = 0; j <= last; j++) mx = mk[j] > mx ? mk[j] : mx;
        for (int j = 0; j <= last; j++) p[j] = vexpf(mk[j] - mx); /* vectorises */
        double sum = 0;
        for (int j = 0; j <= last; j++) sum += p[j];
        float inv = (float)(1.0 / sum);
        for (int j = 0; j <= last; j++) p[j] *= inv;
        if (!ROW_TAIL_KEPT(p0))
            for (int j = last + 1; j < K; j++) p[j] = 0.0f;
    }
}

static void cpu_attn_softmax(float *pattern, const float *masked, int BH, int T, int K, int p0)
{
    Args g = {.out = pattern, .in = masked, .T = T, .K = K, .p0 = p0};
    double work = (double)BH * T * K * 4;
    par_for((size_t)BH * T, attn_grain((size_t)BH * T, 64, T, work), work, attn_softmax_chunk, &g);
}

static void split_heads_chunk(void *ctx, size_t a, size_t bb)
{
    Args *g = ctx;
    int T = g->T, K = g->K, p0 = g->p0, H = g->H, hd = g->hd, C = H * hd;
    for (size_t r = a; r < bb; r++) {
        size_t b = r / T, t = r % T;
        for (int h = 0; h < H; h++)
            memcpy(g->out + ((b * H + h) * K + p0 + t) * hd, g->in + r * C + h * hd, sizeof(float) * (size_t)hd);
    }
}

static void cpu_split_heads(float *out, const float *x, int B, int T, int K, int p0, int H, int hd)
{
    Args g = {.out = out, .in = x, .T = T, .K = K, .p0 = p0, .H = H, .hd = hd};
    par_for((size_t)B * T, 64, (double)B * T * H * hd, split_heads_chunk, &g);
}

static void attn_apply_chunk(void *ctx, size_t a, size_t bb)
{
    Args *g = ctx;
    int T = g->T, K = g->K, p0 = g->p0, H = g->H, hd = g->hd, C = H * hd, klen = p0 + T;
    for (size_t bh = a; bh < bb; bh++) {
        size_t b = bh / H, h = bh % H;
        const float *p = g->pattern + bh * T * K, *v = g->in + bh * K * hd;
        float *o = g->out + b * T * C + h * hd;
        if (T == 1) gemv_t(gemv_path(), o, v, p, klen, hd);
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, klen, 1.0f, p, K, v, hd, 0.0f, o, C);
    }
}

static void cpu_attn_apply(float *ctx, const float *pattern, const float *v, int B, int H, int T, int K, int p0, int hd)
{
    Args g = {.out = ctx, .pattern = pattern, .in = v, .T = T, .K = K, .p0 = p0, .H = H, .hd = hd};
    double work = (double)B * H * T * (p0 + T) * hd;
    par_for((size_t)B * H, attn_grain((size_t)B * H, 1, T, work), work, attn_apply_chunk, &g);
}

static void gelu_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    const float *x = g->in;
    float *out = g->out;
    for (size_t i = a; i < b; i++) {
        float u = x[i];
        out[i] = 0.5f * u * (1.0f + vtanhf(GELU_K * (u + 0.044715f * u * u * u)));
    }
}

static void cpu_gelu(float *out, const float *x, size_t n)
{
    Args g = {.out = out, .in = x};
    par_for(n, ELEM_CHUNK, (double)n * 8, gelu_chunk, &g);
}

static void relu_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    const float *x = g->in;
    float *out = g->out;
    for (size_t i = a; i < b; i++) out[i] = x[i] > 0 ? x[i] : 0.0f;
}

static void cpu_relu(float *out, const float *x, size_t n)
{
    Args g = {.out = out, .in = x};
    par_for(n, ELEM_CHUNK, (double)n, relu_chunk, &g);
}

static void add_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    const float *x = g->in, *y = g->in2;
    float *out = g->out;
    for (size_t i = a; i < b; i++) out[i] = x[i] + y[i];
}

static void cpu_add(float *out, const float *a, const float *b, size_t n)
{
    Args g = {.out = out, .in = a, .in2 = b};
    par_for(n, ELEM_CHUNK, (double)n, add_chunk, &g);
}

static void scale_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    float *x = g->out, f = g->f;
    for (size_t i = a; i < b; i++) x[i] *= f;
}

static void cpu_scale(float *x, float s, size_t n)
{
    Args g = {.out = x, .f = s};
    par_for(n, ELEM_CHUNK, (double)n, scale_chunk, &g);
}

static void softmax_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int V = g->V;
    for (size_t n = a; n < b; n++) {
        const float *l = g->in + n * V;
        float *p = g->out + n * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++) mx = l[i] > mx ? l[i] : mx;
        for (int i = 0; i < V; i++) p[i] = vexpf(l[i] - mx); /* vectorises */
        double sum = 0;
        for (int i = 0; i < V; i++) sum += p[i];
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < V; i++) p[i] *= inv;
    }
}

static void cpu_softmax(float *probs, const float *logits, int N, int V)
{
    Args g = {.out = probs, .in = logits, .V = V};
    par_for((size_t)N, 16, (double)N * V * 4, softmax_chunk, &g);
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

static void ce_softmax_backward_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int V = g->V;
    float dl = g->f;
    for (size_t n = a; n < b; n++) {
        float *d = g->out + n * V;
        const float *p = g->in + n * V;
        int t = g->targets[n];
        if (t < 0) {
            memset(d, 0, sizeof(float) * (size_t)V);
            continue;
        }
        for (int i = 0; i < V; i++) d[i] = p[i] * dl; /* dl is a local: vectorises */
        d[t] -= dl;
    }
}

static void cpu_ce_softmax_backward(float *dlogits, const float *probs, const int *targets, float dloss_per,
                                    int N, int V)
{
    Args g = {.out = dlogits, .in = probs, .targets = targets, .f = dloss_per, .V = V};
    par_for((size_t)N, 16, (double)N * V, ce_softmax_backward_chunk, &g);
}

/* dx += dout·w in chunks of rows */
static void matmul_bw_dx_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int IC = g->IC, OC = g->OC;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(b - a), IC, OC, 1.0f, g->dout + a * OC, OC, g->w, IC,
                1.0f, g->dx + a * IC, IC);
}

/* dw += doutᵀ·x and db += Σ dout, in chunks of output channels (each chunk owns rows
 * of dw and entries of db; db sums the rows in order, in double) */
static void matmul_bw_dw_chunk(void *ctx, size_t o0, size_t o1)
{
    Args *g = ctx;
    int N = g->N, IC = g->IC, OC = g->OC;
    if (g->dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(o1 - o0), IC, N, 1.0f, g->dout + o0, OC, g->x, IC,
                    1.0f, g->dw + o0 * IC, IC);
    if (g->db) {
        double acc[64];
        for (size_t ob = o0; ob < o1; ob += 64) {
            size_t m = MIN(o1 - ob, (size_t)64);
            for (size_t o = 0; o < m; o++) acc[o] = 0;
            const float *dout = g->dout;
            for (int n = 0; n < N; n++) {
                const float *d = dout + (size_t)n * OC + ob;
                for (size_t o = 0; o < m; o++) acc[o] += d[o];
            }
            for (size_t o = 0; o < m; o++) g->db[ob + o] += (float)acc[o];
        }
    }
}

static void cpu_matmul_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                                const float *w, int N, int IC, int OC)
{
    Args g = {.dx = dx, .dw = dw, .db = db, .dout = dout, .x = x, .w = w, .N = N, .IC = IC, .OC = OC};
    double work = (double)N * IC * OC;
    if (dx) par_for((size_t)N, balanced_grain((size_t)N, GEMM_ROWS), work, matmul_bw_dx_chunk, &g);
    if (dw || db) par_for((size_t)OC, OC >= 64 ? 32 : (size_t)OC, work, matmul_bw_dw_chunk, &g);
}

#define LN_ROWS 64 /* rows per partial sum of layernorm_backward's dw, db */

static void layernorm_backward_chunk(void *ctx, size_t ch0, size_t ch1)
{
    Args *g = ctx;
    int N = g->N, C = g->C;
    for (size_t ch = ch0; ch < ch1; ch++) {
        size_t n0 = ch * LN_ROWS, n1 = MIN(n0 + LN_ROWS, (size_t)N);
        double *sw = g->part ? g->part + ch * 2 * C : NULL, *sb = sw ? sw + C : NULL;
        const float *w = g->w;
        for (size_t n = n0; n < n1; n++) {
            const float *dy = g->dout + n * C, *xh = g->xhat + n * C;
            double mean_g = 0, mean_gx = 0;
            for (int c = 0; c < C; c++) {
                double gg = (double)dy[c] * w[c];
                mean_g += gg;
                mean_gx += gg * xh[c];
            }
            mean_g /= C;
            mean_gx /= C;
            float *d = g->dx + n * C;
            double rs = g->rstd[n];
            for (int c = 0; c < C; c++) {
                double gg = (double)dy[c] * w[c];
                d[c] += (float)((gg - mean_g - xh[c] * mean_gx) * rs);
            }
            if (sw)
                for (int c = 0; c < C; c++) {
                    sw[c] += (double)dy[c] * xh[c];
                    sb[c] += dy[c];
                }
        }
    }
}

static void cpu_layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *xhat,
                                   const float *rstd, const float *w, int N, int C)
{
    size_t nch = CEIL_DIV((size_t)N, LN_ROWS);
    Args g = {.dx = dx, .dout = dout, .xhat = (float *)xhat, .rstd = (float *)rstd, .w = w, .N = N, .C = C};
    g.part = calloc(nch * 2 * C, sizeof(double));
    par_for(nch, 1, (double)N * C * 4, layernorm_backward_chunk, &g);
    for (int c = 0; c < C; c++) {
        double s1 = 0, s2 = 0;
        if (g.part) {
            for (size_t ch = 0; ch < nch; ch++) { /* in chunk order: independent of the threads */
                s1 += g.part[ch * 2 * C + c];
                s2 += g.part[ch * 2 * C + C + c];
            }
        } else {
            for (int n = 0; n < N; n++) {
                s1 += (double)dout[(size_t)n * C + c] * xhat[(size_t)n * C + c];
                s2 += dout[(size_t)n * C + c];
            }
        }
        dw[c] += (float)s1;
        db[c] += (float)s2;
    }
    free(g.part);
}

static void gelu_backward_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    const float *x = g->in, *dout = g->dout;
    float *dx = g->dx;
    for (size_t i = a; i < b; i++) {
        float u = x[i];
        float cube = 0.044715f * u * u * u;
        float th = vtanhf(GELU_K * (u + cube));
        float sech2 = 1.0f - th * th;
        float grad = 0.5f * (1.0f + th) + 0.5f * u * sech2 * GELU_K * (1.0f + 3.0f * 0.044715f * u * u);
        dx[i] += grad * dout[i];
    }
}

static void cpu_gelu_backward(float *dx, const float *x, const float *dout, size_t n)
{
    Args g = {.dx = dx, .in = x, .dout = dout};
    par_for(n, ELEM_CHUNK, (double)n * 8, gelu_backward_chunk, &g);
}

static void relu_backward_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    const float *x = g->in, *dout = g->dout;
    float *dx = g->dx;
    for (size_t i = a; i < b; i++) dx[i] += x[i] > 0 ? dout[i] : 0.0f;
}

static void cpu_relu_backward(float *dx, const float *x, const float *dout, size_t n)
{
    Args g = {.dx = dx, .in = x, .dout = dout};
    par_for(n, ELEM_CHUNK, (double)n, relu_backward_chunk, &g);
}

static void attn_apply_backward_chunk(void *ctx, size_t a, size_t bb)
{
    Args *g = ctx;
    int T = g->T, H = g->H, hd = g->hd, C = H * hd;
    for (size_t bh = a; bh < bb; bh++) {
        size_t b = bh / H, h = bh % H;
        const float *dc = g->dout + b * T * C + h * hd;
        /* dpattern = dctx_h · vᵀ ; dv += patternᵀ · dctx_h */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dc, C, g->in + bh * T * hd, hd, 0.0f,
                    g->dp + bh * T * T, T);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, g->pattern + bh * T * T, T, dc, C, 1.0f,
                    g->dv + bh * T * hd, hd);
    }
}

static void cpu_attn_apply_backward(float *dpattern, float *dv, const float *dctx, const float *pattern,
                                    const float *v, int B, int H, int T, int hd)
{
    Args g = {.dp = dpattern, .dv = dv, .dout = dctx, .pattern = pattern, .in = v, .T = T, .H = H, .hd = hd};
    par_for((size_t)B * H, 1, (double)B * H * T * T * hd * 2, attn_apply_backward_chunk, &g);
}

static void attn_softmax_backward_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int T = g->T;
    for (size_t r = a; r < b; r++) {
        int i = (int)(r % T);
        const float *p = g->pattern + r * T, *dp = g->in + r * T;
        float *ds = g->out + r * T, scale = g->scale;
        double dot = 0;
        for (int j = 0; j <= i; j++) dot += (double)p[j] * dp[j];
        for (int j = 0; j <= i; j++) ds[j] = (float)(p[j] * (dp[j] - dot)) * scale;
        for (int j = i + 1; j < T; j++) ds[j] = 0.0f;
    }
}

static void cpu_attn_softmax_backward(float *dscores, const float *dpattern, const float *pattern, float scale,
                                      int BH, int T)
{
    Args g = {.out = dscores, .in = dpattern, .pattern = pattern, .scale = scale, .T = T};
    par_for((size_t)BH * T, 64, (double)BH * T * T * 2, attn_softmax_backward_chunk, &g);
}

static void attn_scores_backward_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    int T = g->T, hd = g->hd;
    for (size_t i = a; i < b; i++) {
        size_t o = i * T * hd;
        const float *ds = g->dout + i * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, ds, T, g->in2 + o, hd, 1.0f, g->q + o, hd);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, ds, T, g->in + o, hd, 1.0f, g->k + o, hd);
    }
}

static void cpu_attn_scores_backward(float *dq, float *dk, const float *dscores, const float *q, const float *k,
                                     int BH, int T, int hd)
{
    Args g = {.q = dq, .k = dk, .dout = dscores, .in = q, .in2 = k, .T = T, .hd = hd};
    par_for((size_t)BH, 1, (double)BH * T * T * hd * 2, attn_scores_backward_chunk, &g);
}

static void qkv_merge_chunk(void *ctx, size_t a, size_t bb)
{
    Args *g = ctx;
    int T = g->T, H = g->H, hd = g->hd, C = H * hd;
    for (size_t r = a; r < bb; r++) {
        size_t b = r / T, t = r % T;
        float *row = g->out + r * 3 * C;
        for (int h = 0; h < H; h++) {
            size_t o = ((b * H + h) * T + t) * hd;
            memcpy(row + h * hd, g->in + o, sizeof(float) * (size_t)hd);
            memcpy(row + C + h * hd, g->in2 + o, sizeof(float) * (size_t)hd);
            memcpy(row + 2 * C + h * hd, g->in3 + o, sizeof(float) * (size_t)hd);
        }
    }
}

static void cpu_qkv_merge_backward(float *dqkv, const float *dq, const float *dk, const float *dv, int B, int T,
                                   int H, int hd)
{
    Args g = {.out = dqkv, .in = dq, .in2 = dk, .in3 = dv, .T = T, .H = H, .hd = hd};
    par_for((size_t)B * T, 64, (double)B * T * H * hd * 3, qkv_merge_chunk, &g);
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

static void accumulate_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    const float *src = g->in;
    float *dst = g->out;
    for (size_t i = a; i < b; i++) dst[i] += src[i];
}

static void cpu_accumulate(float *dst, const float *src, size_t n)
{
    Args g = {.out = dst, .in = src};
    par_for(n, ELEM_CHUNK, (double)n, accumulate_chunk, &g);
}

static void sumsq_chunk(void *ctx, size_t ch0, size_t ch1)
{
    Args *g = ctx;
    size_t n = (size_t)g->step; /* total elements (fits: see cpu_sumsq) */
    for (size_t ch = ch0; ch < ch1; ch++) {
        size_t a = ch * RED_CHUNK, b = MIN(a + RED_CHUNK, n);
        const float *x = g->in;
        double s = 0;
        for (size_t i = a; i < b; i++) s += (double)x[i] * x[i];
        g->part[ch] = s;
    }
}

/* Partial sums over fixed chunks, added in chunk order. */
static double cpu_sumsq(const float *x, size_t n)
{
    size_t nch = CEIL_DIV(n, (size_t)RED_CHUNK);
    double *part = nch > 1 && n <= (size_t)INT32_MAX ? malloc(nch * sizeof(double)) : NULL;
    if (!part) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
        return s;
    }
    Args g = {.in = x, .part = part, .step = (int)n};
    par_for(nch, 1, (double)n, sumsq_chunk, &g);
    double s = 0;
    for (size_t ch = 0; ch < nch; ch++) s += part[ch];
    free(part);
    return s;
}

static void adamw_chunk(void *ctx, size_t a, size_t b)
{
    Args *g = ctx;
    const float *gr = g->in, *hp = g->in2; /* hp: lr, b1, b2, eps, wd, gscale, c1, c2 */
    float lr = hp[0], b1 = hp[1], b2 = hp[2], eps = hp[3], wd = hp[4], gscale = hp[5], c1 = hp[6], c2 = hp[7];
    float *p = g->p, *m = g->m, *v = g->v;
    for (size_t i = a; i < b; i++) {
        float gi = gr[i] * gscale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float mh = m[i] / c1, vh = v[i] / c2;
        p[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
    }
}

static void cpu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                      float eps, float wd, float gscale, long step)
{
    float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step);
    float hp[8] = {lr, b1, b2, eps, wd, gscale, c1, c2};
    Args a = {.p = p, .m = m, .v = v, .in = g, .in2 = hp};
    par_for(n, ELEM_CHUNK, (double)n * 8, adamw_chunk, &a);
}

/* The CPU's ops cannot fail once their buffers exist (allocation failures are the
 * callers' to report), except matmul_q, which allocates its activations. */
static int cpu_status(char *msg, size_t n)
{
    if (n) snprintf(msg, n, "%s", g_fail);
    if (!g_fail[0]) return 0;
    g_fail[0] = 0;
    return -1;
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
    .read_ahead = cpu_read_ahead,
    .encoder = cpu_encoder,
    .status = cpu_status,
    .norm = cpu_norm,
    .affine = cpu_affine,
    .matmul = cpu_matmul,
    .matmul_q = cpu_matmul_q,
    .qkv_split = cpu_qkv_split,
    .attn_scores = cpu_attn_scores,
    .attn_mask = cpu_attn_mask,
    .attn_softmax = cpu_attn_softmax,
    .split_heads = cpu_split_heads,
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

int be_check(const Backend *be, GrErr *e)
{
    char msg[400];
    if (!be->status || be->status(msg, sizeof msg) == 0) return 0;
    return gr_fail(e, "the %s backend failed: %s", be->name, msg[0] ? msg : "(no message)");
}

/* ---------------- read bandwidth (bench) ---------------- */

typedef struct {
    const float *buf;
    double *sums; /* one per chunk, so nothing is optimised away */
    size_t chunk;
    int prefetch; /* 1: each line also prefetched into L2, 8 KB ahead */
} BwArgs;

#define BW_PF 2048 /* floats: the prefetch distance, 8 KB */

static void bw_chunk(void *ctx, size_t a, size_t b)
{
    BwArgs *g = ctx;
    for (size_t c = a; c < b; c++) {
        const float *p = g->buf + c * g->chunk;
#ifdef __AVX2__
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (size_t i = 0; i < g->chunk; i += 32) {
            if (g->prefetch) { /* never faults, even past the buffer's end */
                _mm_prefetch((const char *)(p + i + BW_PF), _MM_HINT_T1);
                _mm_prefetch((const char *)(p + i + BW_PF + 16), _MM_HINT_T1);
            }
            s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
            s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
            s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
            s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
        }
        float t[8];
        _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        g->sums[c] = (double)t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
#else
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i < g->chunk; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
        g->sums[c] = (double)s0 + s1 + s2 + s3;
#endif
    }
}

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The buffer is kept from one call to the next (bench measures before and after each
 * precision; filling 4× a large LLC costs seconds of page faults), until bytes = 0. */
static float *g_bw_buf;
static size_t g_bw_chunks;

double backend_cpu_read_gbps(size_t bytes, GrErr *e)
{
    const size_t chunk = 1 << 18; /* floats: 1 MB per chunk */
    size_t nchunks = (bytes / sizeof(float) + chunk - 1) / chunk;
    if (bytes == 0 || nchunks != g_bw_chunks) {
        free(g_bw_buf);
        g_bw_buf = NULL;
        g_bw_chunks = 0;
        if (bytes == 0) return 0;
    }
    if (nchunks < 1) nchunks = 1;
    double *sums = calloc(nchunks, sizeof(double));
    if (!g_bw_buf) {
        g_bw_buf = cpu_alloc(nchunks * chunk * sizeof(float)); /* huge pages, as the weights */
        if (g_bw_buf) {
            g_bw_chunks = nchunks;
            for (size_t i = 0; i < nchunks * chunk; i++) g_bw_buf[i] = (float)(i & 7); /* every page touched */
        }
    }
    if (!g_bw_buf || !sums) {
        free(sums);
        return gr_fail(e, "bench: no memory for a %.0f MB bandwidth buffer", nchunks * chunk * 4 / 1e6), -1;
    }
    BwArgs g = {.buf = g_bw_buf, .sums = sums, .chunk = chunk};
    double best = 0, check = 0;
    /* Plain loads alone once set the limit, but on 2026-12-02 this VM streamed 15 % faster
     * with the prefetch (8 rounds, 23.3 vs 28.1 GB/s at best): the products prefetch, so a
     * limit without it would flatter their fraction. The two alternate. */
    for (int rep = 0; rep < 10; rep++) {
        g.prefetch = rep & 1;
        double t0 = wall_s();
        par_for(nchunks, 1, (double)nchunks * chunk, bw_chunk, &g);
        double dt = wall_s() - t0;
        double gbps = nchunks * chunk * sizeof(float) / dt / 1e9;
        if (gbps > best) best = gbps;
        for (size_t c = 0; c < nchunks; c++) check += sums[c];
    }
    free(sums);
    return check < 0 ? -1 : best; /* check is never negative; it keeps the sums alive */
}
