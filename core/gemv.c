/* gemv.c — the matrix-vector product of generation: out (OC) = W (OC, IC) · x (IC) + b.
 *
 * At B = 1 every weight is read once per token and used once, so the product runs at the
 * speed memory delivers W. Each output is a dot product of one contiguous row of W with x
 * (in L1 at IC = 768; at 3072, see below). Rows up to GEMV_ONE_ROW floats are read one at
 * a time, so the weights stream in storage order: on Zen 4 (2026-12-03, one thread over
 * 500 MB) that ran at 1.0-1.1 of a plain vector read at IC = 768, where four rows at a time
 * (four streams, each a 3 KB run and a 9 KB jump) ran at 0.7-0.9 and two rows at 0.5.
 * Longer rows are long runs already: there four rows at a time share each load of x, with
 * independent accumulators, and the next four rows are prefetched into L2 while these are
 * summed (0.9-1.1 of the plain read at IC = 3072 and 4096, one row at a time 0.65-0.9).
 * Either way a row's sum is the same expression.
 *
 * Measured again on 2026-12-03 with two threads, each a contiguous half of 614 MB, against
 * a plain read in the same round, in the VM's two bandwidth modes (vCPUs on two CCDs / on
 * one; see cpu_read_ahead in backend_cpu.c), so the next attempt starts from here:
 * - IC = 768, one row at a time: 0.92-0.96 / 0.98. Prefetching 1-3 KB ahead (T1 or T2)
 *   gained 0.5-1.5 % there and nothing in generation rounds; 4-8 KB ahead lost 10-25 %.
 * - IC = 3072: what costs is the 12 KB x, not the row length. One row at a time ran at
 *   0.79 with x of 12 KB, and at 0.94 when a test kernel read x modulo 3-6 KB (same rows).
 *   Four rows sharing x with the next four prefetched (this kernel) ran at 0.83-0.86 /
 *   0.96-1.0, the best found: one row with 2 or 4 accumulators 0.79-0.86, two rows
 *   0.63-0.74, a T0 prefetch of x 0.81, the next rows prefetched NTA or T2 instead of T1
 *   0.62-0.82, and rows blocked over halves or quarters of x (x in L1, W read in 6 KB
 *   runs) 0.40-0.44. A transposed copy (x then one scalar a row, the outputs summed in
 *   an L1-resident 3 KB buffer, a load, FMA and store per vector) ran at 0.75 / 0.88.
 *
 * AVX-512 when the CPU has it (chosen at run time), else AVX2 (the build's baseline,
 * x86-64-v3), else portable C. The three sum in the same order within a row up to the
 * vector width, so they agree to float rounding, not bit for bit. gemv_t is the
 * transposed product, out (IC) = Σ_r x[r] W[r, :], which attention needs at T = 1 (the
 * pattern's row times a head's values); every path sums the rows in order. */
#include "gemv.h"

#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GEMV_X86 1
#endif

/* portable: four rows, eight partial sums each */
static void rows_c(float *out, const float *w, const float *x, const float *b, size_t r0, size_t r1, int IC)
{
    for (size_t r = r0; r < r1; r++) {
        const float *row = w + r * (size_t)IC;
        float s[8] = {0};
        int i = 0;
        for (; i + 8 <= IC; i += 8)
            for (int k = 0; k < 8; k++) s[k] += row[i + k] * x[i + k];
        float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        for (; i < IC; i++) t += row[i] * x[i];
        out[r] = t + (b ? b[r] : 0.0f);
    }
}

/* portable: out = Σ_r x[r] · W[r, :], the rows in order for every output */
static void cols_c(float *out, const float *w, const float *x, int rows, int IC, int i0)
{
    for (int i = i0; i < IC; i++) out[i] = 0.0f;
    for (int r = 0; r < rows; r++)
        for (int i = i0; i < IC; i++) out[i] += x[r] * w[(size_t)r * IC + i];
}

#define GEMV_ONE_ROW 2048

#ifdef GEMV_X86
/* The vector paths' end of a row: the columns past the last full vector, the bias. */
static inline void finish1(float *out, const float *b, size_t r, float t0, const float *w0, const float *x, int i, int IC)
{
    for (; i < IC; i++) t0 += w0[i] * x[i];
    out[r] = t0 + (b ? b[r] : 0.0f);
}

/* The vector paths' end of four rows: the columns past the last full vector, the bias. */
static inline void finish4(float *out, const float *b, size_t r, float t0, float t1, float t2, float t3,
                           const float *w0, const float *x, int i, int IC)
{
    const float *w1 = w0 + IC, *w2 = w1 + IC, *w3 = w2 + IC;
    for (; i < IC; i++) t0 += w0[i] * x[i], t1 += w1[i] * x[i], t2 += w2[i] * x[i], t3 += w3[i] * x[i];
    out[r] = t0 + (b ? b[r] : 0.0f);
    out[r + 1] = t1 + (b ? b[r + 1] : 0.0f);
    out[r + 2] = t2 + (b ? b[r + 2] : 0.0f);
    out[r + 3] = t3 + (b ? b[r + 3] : 0.0f);
}

__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) static void rows_avx2(float *out, const float *w, const float *x, const float *b, size_t r0, size_t r1, int IC)
{
    size_t r = r0;
    for (; IC <= GEMV_ONE_ROW && r < r1; r++) {
        const float *w0 = w + r * (size_t)IC;
        __m256 a0 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= IC; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), _mm256_loadu_ps(x + i), a0);
        finish1(out, b, r, hsum256(a0), w0, x, i, IC);
    }
    for (; r + 4 <= r1; r += 4) {
        const float *w0 = w + r * (size_t)IC, *w1 = w0 + IC, *w2 = w1 + IC, *w3 = w2 + IC;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 8 <= IC; i += 8) {
            __m256 xv = _mm256_loadu_ps(x + i);
            if (!(i & 15)) { /* one prefetch per 64-byte line */
                _mm_prefetch((const char *)(w0 + i + 4 * IC), _MM_HINT_T1);
                _mm_prefetch((const char *)(w1 + i + 4 * IC), _MM_HINT_T1);
                _mm_prefetch((const char *)(w2 + i + 4 * IC), _MM_HINT_T1);
                _mm_prefetch((const char *)(w3 + i + 4 * IC), _MM_HINT_T1);
            }
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i), xv, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i), xv, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i), xv, a3);
        }
        float t0 = hsum256(a0), t1 = hsum256(a1), t2 = hsum256(a2), t3 = hsum256(a3);
        finish4(out, b, r, t0, t1, t2, t3, w0, x, i, IC);
    }
    rows_c(out, w, x, b, r, r1, IC);
}

__attribute__((target("avx512f"))) static void rows_avx512(float *out, const float *w, const float *x, const float *b,
                                                            size_t r0, size_t r1, int IC)
{
    size_t r = r0;
    for (; IC <= GEMV_ONE_ROW && r < r1; r++) {
        const float *w0 = w + r * (size_t)IC;
        __m512 a0 = _mm512_setzero_ps();
        int i = 0;
        for (; i + 16 <= IC; i += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + i), _mm512_loadu_ps(x + i), a0);
        finish1(out, b, r, _mm512_reduce_add_ps(a0), w0, x, i, IC);
    }
    for (; r + 4 <= r1; r += 4) {
        const float *w0 = w + r * (size_t)IC, *w1 = w0 + IC, *w2 = w1 + IC, *w3 = w2 + IC;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 16 <= IC; i += 16) {
            __m512 xv = _mm512_loadu_ps(x + i);
            _mm_prefetch((const char *)(w0 + i + 4 * IC), _MM_HINT_T1);
            _mm_prefetch((const char *)(w1 + i + 4 * IC), _MM_HINT_T1);
            _mm_prefetch((const char *)(w2 + i + 4 * IC), _MM_HINT_T1);
            _mm_prefetch((const char *)(w3 + i + 4 * IC), _MM_HINT_T1);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + i), xv, a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + i), xv, a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + i), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + i), xv, a3);
        }
        float t0 = _mm512_reduce_add_ps(a0), t1 = _mm512_reduce_add_ps(a1), t2 = _mm512_reduce_add_ps(a2),
              t3 = _mm512_reduce_add_ps(a3);
        finish4(out, b, r, t0, t1, t2, t3, w0, x, i, IC);
    }
    rows_c(out, w, x, b, r, r1, IC);
}

/* Wᵀx: 32 outputs at a time, held in registers over every row, so a head's values (rows =
 * keys, IC = head size 64) are read in two passes that stay in cache. The AVX-512 path runs
 * it too: the values are few, and reading them from memory, not the width, sets the time. */
__attribute__((target("avx2,fma"))) static void cols_avx2(float *out, const float *w, const float *x, int rows, int IC)
{
    int i = 0;
    for (; i + 32 <= IC; i += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int r = 0; r < rows; r++) {
            const float *wr = w + (size_t)r * IC + i;
            __m256 xv = _mm256_set1_ps(x[r]);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wr), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + 8), xv, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + 16), xv, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + 24), xv, a3);
        }
        _mm256_storeu_ps(out + i, a0), _mm256_storeu_ps(out + i + 8, a1);
        _mm256_storeu_ps(out + i + 16, a2), _mm256_storeu_ps(out + i + 24, a3);
    }
    for (; i + 8 <= IC; i += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (int r = 0; r < rows; r++) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + (size_t)r * IC + i), _mm256_set1_ps(x[r]), a0);
        _mm256_storeu_ps(out + i, a0);
    }
    cols_c(out, w, x, rows, IC, i);
}

#endif

GemvPath gemv_path(void)
{
    static int path = -1;
    if (path < 0) {
        path = GEMV_PORTABLE;
#ifdef GEMV_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) path = GEMV_AVX512;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) path = GEMV_AVX2;
#endif
    }
    return (GemvPath)path;
}

const char *gemv_path_name(GemvPath p)
{
    return p == GEMV_AVX512 ? "avx512" : p == GEMV_AVX2 ? "avx2" : "portable";
}

void gemv_rows(GemvPath p, float *out, const float *w, const float *x, const float *b, size_t r0, size_t r1, int IC)
{
#ifdef GEMV_X86
    if (p == GEMV_AVX512) { rows_avx512(out, w, x, b, r0, r1, IC); return; }
    if (p == GEMV_AVX2) { rows_avx2(out, w, x, b, r0, r1, IC); return; }
#endif
    rows_c(out, w, x, b, r0, r1, IC);
}

void gemv_t(GemvPath p, float *out, const float *w, const float *x, int rows, int IC)
{
#ifdef GEMV_X86
    if (p == GEMV_AVX512 || p == GEMV_AVX2) { cols_avx2(out, w, x, rows, IC); return; }
#endif
    cols_c(out, w, x, rows, IC, 0);
}
