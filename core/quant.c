/* quant.c — bf16 and int8 weights and the products that read them (the schemes: quant.h).
 *
 * The copies are stored in panels of 64 output rows interleaved along the input (quant.h),
 * the layout the AVX-512 dot-product instructions want: a step of x is broadcast and
 * multiplied by four vectors of weights, one lane per output. One layout serves
 * generation (one x row: the speed of streaming w) and a whole run (many rows: a panel
 * stays in L2 while the rows pass, 6 at a time). The AVX-512 paths (BF16's VDPBF16PS,
 * VNNI's VPDPBUSD) are chosen at run time; the portable path computes the same sums in
 * the same order: for int8 bit for bit (integer sums are exact), for bf16 too wherever the
 * instruction rounds each addition as its pseudocode says (the test measures it). */
#include "quant.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QUANT_X86 1
#endif

#define CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

/* int8's two paths end with one expression and must round it alike: no fused multiply-add
 * (GCC's -std=c11 already keeps it off; clang's default would not). */
#pragma STDC FP_CONTRACT OFF

/* ---------------- the table ---------------- */

static const PrecisionDef PRECS[PREC_COUNT] = {
    [PREC_FP32] = {"fp32", 4, "float32, as trained", "float32"},
    [PREC_BF16] = {"bf16", 2, "bfloat16 (float32's top 16 bits, rounded to nearest even)", "rounded to bfloat16"},
    [PREC_INT8] = {"int8", 1, "int8, symmetric, one float32 scale per output row",
                   "int8, one scale per row, computed for every product"},
};

const PrecisionDef *prec_def(Precision p) { return &PRECS[p < PREC_COUNT ? p : PREC_FP32]; }

int prec_parse(const char *s, Precision *p)
{
    for (int i = 0; i < PREC_COUNT; i++)
        if (!strcmp(s, PRECS[i].name)) { *p = (Precision)i; return 0; }
    return -1;
}

const char *prec_names(void)
{
    static char buf[64];
    if (!buf[0])
        for (int i = 0; i < PREC_COUNT; i++) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "|" : "", PRECS[i].name);
    return buf;
}

/* ---------------- conversions ---------------- */

uint16_t quant_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t nan = (u >> 16) | 0x40u; /* quiet, sign kept */
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

float quant_bf16_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* round to nearest even for |v| ≤ 127 (vectorises, unlike lrintf) */
static inline float round_small(float v) { return (v + 12582912.0f) - 12582912.0f; }

/* One row to int8 codes: returns the scale (0 for a zero row, NaN when the row is not
 * finite, so the product is NaN as fp32's would be). `bias` 128 stores q + 128. */
static float int8_row(const float *x, int n, int8_t *q, uint8_t *u, int bias)
{
    float amax = 0;
    int bad = 0;
    int i0 = 0;
#ifdef __AVX2__
    /* Generation quantizes each product's input on one thread while the other waits:
     * eight lanes at a time, the same operations in the same order per element, so the
     * codes and the scale of a finite row are those of the loops below bit for bit (max
     * is exact in any order; ISO C mode contracts no multiply-add); a row that is not
     * finite has a NaN scale either way. */
    {
        const __m256 sign = _mm256_set1_ps(-0.0f), big = _mm256_set1_ps(FLT_MAX);
        __m256 vmax = _mm256_setzero_ps(), vbad = _mm256_setzero_ps();
        for (; i0 + 8 <= n; i0 += 8) {
            __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i0));
            vbad = _mm256_or_ps(vbad, _mm256_cmp_ps(a, big, _CMP_NLE_UQ)); /* !(a <= FLT_MAX) */
            vmax = _mm256_max_ps(vmax, a);
        }
        float t[8];
        _mm256_storeu_ps(t, vmax);
        for (int k = 0; k < 8; k++) amax = t[k] > amax ? t[k] : amax;
        bad = _mm256_movemask_ps(vbad) != 0;
    }
#endif
    for (int i = i0; i < n; i++) {
        float a = fabsf(x[i]);
        bad |= !(a <= FLT_MAX); /* inf or NaN */
        amax = a > amax ? a : amax;
    }
    float inv = amax > 0 && !bad ? 127.0f / amax : 0.0f;
    int i = 0;
#ifdef __AVX2__
    {
        const __m256 vinv = _mm256_set1_ps(inv), magic = _mm256_set1_ps(12582912.0f), hi = _mm256_set1_ps(127.0f),
                     lo = _mm256_set1_ps(-127.0f);
        const __m256i off = _mm256_set1_epi32(q ? 0 : bias);
        for (; i + 8 <= n; i += 8) {
            __m256 r = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), magic), magic);
            r = _mm256_max_ps(_mm256_min_ps(r, hi), lo);
            int32_t c[8];
            _mm256_storeu_si256((__m256i *)c, _mm256_add_epi32(_mm256_cvtps_epi32(r), off));
            for (int k = 0; k < 8; k++)
                if (q) q[i + k] = (int8_t)c[k];
                else u[i + k] = (uint8_t)c[k];
        }
    }
#endif
    for (; i < n; i++) {
        float r = round_small(x[i] * inv);
        r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r;
        if (q) q[i] = (int8_t)(int)r;
        else u[i] = (uint8_t)((int)r + bias);
    }
    return bad ? NAN : amax / 127.0f;
}

/* ---------------- weights ---------------- */

/* Packed index of w[r, c]: panel r / 64, step c / G, lane r % 64, element c % G. Called
 * with G a constant (2 or 4), so the divisions are shifts. */
static inline size_t qidx(size_t steps, size_t r, size_t c, size_t G)
{
    return (((r / QUANT_PANEL) * steps + c / G) * QUANT_PANEL + r % QUANT_PANEL) * G + c % G;
}

int quant_weight(QWeight *w, Precision type, const float *src, int rows, int cols, GrErr *e)
{
    memset(w, 0, sizeof *w);
    int G = quant_group(type);
    w->type = type;
    w->rows = rows;
    w->cols = cols;
    w->panels = CEIL_DIV(rows, QUANT_PANEL);
    w->steps = CEIL_DIV(cols, G);
    size_t lanes = (size_t)w->panels * QUANT_PANEL, n = lanes * (size_t)w->steps * G;
    w->q = calloc(n * (size_t)PRECS[type].bytes + 1, 1); /* the padding stays zero: it adds nothing */
    int8_t *qr = malloc((size_t)cols + 1);
    if (type == PREC_INT8) {
        w->scale = calloc(lanes, sizeof(float));
        w->qsum = calloc(lanes, sizeof(int32_t));
    }
    if (!w->q || !qr || (type == PREC_INT8 && (!w->scale || !w->qsum))) {
        free(qr);
        quant_weight_free(w);
        return gr_fail(e, "out of memory for a %s copy of a %d x %d weight", PRECS[type].name, rows, cols);
    }
    for (int r = 0; r < rows; r++) {
        const float *sr = src + (size_t)r * cols;
        if (type == PREC_BF16) {
            uint16_t *h = w->q;
            for (int c = 0; c < cols; c++) h[qidx((size_t)w->steps, (size_t)r, (size_t)c, 2)] = quant_bf16(sr[c]);
            continue;
        }
        int8_t *q = w->q;
        w->scale[r] = int8_row(sr, cols, qr, NULL, 0);
        int32_t s = 0;
        for (int c = 0; c < cols; c++) s += qr[c], q[qidx((size_t)w->steps, (size_t)r, (size_t)c, 4)] = qr[c];
        w->qsum[r] = s;
    }
    free(qr);
    return 0;
}

void quant_weight_free(QWeight *w)
{
    free(w->q);
    free(w->scale);
    free(w->qsum);
    memset(w, 0, sizeof *w);
}

size_t quant_weight_bytes(const QWeight *w)
{
    if (w->type == PREC_FP32) return 0;
    size_t b = (size_t)w->rows * w->cols * (size_t)PRECS[w->type].bytes;
    return w->type == PREC_INT8 ? b + (size_t)w->rows * (sizeof(float) + sizeof(int32_t)) : b;
}

int quant_code(const QWeight *w, size_t r, size_t c)
{
    if (w->type == PREC_BF16) return ((const uint16_t *)w->q)[qidx((size_t)w->steps, r, c, 2)];
    return ((const int8_t *)w->q)[qidx((size_t)w->steps, r, c, 4)];
}

float quant_value(const QWeight *w, size_t r, size_t c)
{
    int q = quant_code(w, r, c);
    return w->type == PREC_BF16 ? quant_bf16_float((uint16_t)q) : (float)q * w->scale[r];
}

/* ---------------- activations ---------------- */

int quant_acts_reserve(QActs *a, Precision type, int N, int IC)
{
    size_t G = (size_t)quant_group(PREC_INT8); /* the wider step: a whole step of either type */
    size_t stride = CEIL_DIV((size_t)IC, G) * G, n = (size_t)N * stride;
    if (n > a->cap || (size_t)N > a->rcap) { /* rows and elements each: a later product may be narrower and taller */
        quant_acts_free(a);
        size_t cap = n + n / 2 + 64, rcap = (size_t)N + (size_t)N / 2 + 8;
        a->bf = malloc(cap * sizeof(uint16_t));
        a->u8 = malloc(cap);
        a->scale = malloc(sizeof(float) * rcap);
        if (!a->bf || !a->u8 || !a->scale) { quant_acts_free(a); return -1; }
        a->cap = cap;
        a->rcap = rcap;
    }
    a->type = type;
    a->N = N;
    a->IC = IC;
    a->stride = (int)stride;
    return 0;
}

void quant_acts_rows(QActs *a, const float *x, size_t n0, size_t n1)
{
    int IC = a->IC, S = a->stride;
    for (size_t n = n0; n < n1; n++) {
        const float *xr = x + n * IC;
        if (a->type == PREC_BF16) {
            uint16_t *h = a->bf + n * S;
            for (int i = 0; i < IC; i++) h[i] = quant_bf16(xr[i]);
            for (int i = IC; i < S; i++) h[i] = 0;
        } else {
            uint8_t *u = a->u8 + n * S;
            a->scale[n] = int8_row(xr, IC, NULL, u, 128);
            for (int i = IC; i < S; i++) u[i] = 128; /* q = 0 */
        }
    }
}

void quant_acts_free(QActs *a)
{
    free(a->bf);
    free(a->u8);
    free(a->scale);
    memset(a, 0, sizeof *a);
}

/* ---------------- products: portable ---------------- */

/* The one expression both int8 paths end with, so they agree bit for bit. */
static inline float int8_out(int32_t s, float sx, float sw, const float *bias, size_t o)
{
    return (float)s * (sx * sw) + (bias ? bias[o] : 0.0f);
}

/* Each output is one running sum over the steps in order, as a vector lane keeps it: for
 * bf16 the pair's odd element first, then the even one (VDPBF16PS's order), each product
 * exact and each addition rounded; for int8 an exact integer sum. The 64 lanes of a panel
 * are the inner loop (each its own sum, so the compiler can vectorise across them). */
static void rows_portable(float *out, const QActs *x, const QWeight *w, const float *bias, size_t n0, size_t n1,
                          size_t o0, size_t o1)
{
    size_t OC = (size_t)w->rows, S = (size_t)x->stride, steps = (size_t)w->steps;
    for (size_t p = o0 / QUANT_PANEL; p * QUANT_PANEL < o1; p++) {
        size_t lo = p * QUANT_PANEL > o0 ? p * QUANT_PANEL : o0, hi = p * QUANT_PANEL + QUANT_PANEL < o1 ? p * QUANT_PANEL + QUANT_PANEL : o1;
        for (size_t n = n0; n < n1; n++) {
            if (w->type == PREC_BF16) {
                const uint16_t *xr = x->bf + n * S, *wp = (const uint16_t *)w->q + p * steps * QUANT_PANEL * 2;
                float s[QUANT_PANEL] = {0};
                for (size_t k = 0; k < steps; k++) {
                    const uint16_t *wk = wp + k * QUANT_PANEL * 2;
                    float x1 = quant_bf16_float(xr[2 * k + 1]), x0 = quant_bf16_float(xr[2 * k]);
                    for (int l = 0; l < QUANT_PANEL; l++) {
                        s[l] += x1 * quant_bf16_float(wk[2 * l + 1]);
                        s[l] += x0 * quant_bf16_float(wk[2 * l]);
                    }
                }
                for (size_t o = lo; o < hi; o++) out[n * OC + o] = s[o % QUANT_PANEL] + (bias ? bias[o] : 0.0f);
            } else {
                const uint8_t *xr = x->u8 + n * S;
                const int8_t *wp = (const int8_t *)w->q + p * steps * QUANT_PANEL * 4;
                int32_t s[QUANT_PANEL] = {0};
                for (size_t k = 0; k < steps; k++) {
                    const int8_t *wk = wp + k * QUANT_PANEL * 4;
                    int32_t xs[4];
                    for (int g = 0; g < 4; g++) xs[g] = (int32_t)xr[4 * k + g] - 128;
                    for (int l = 0; l < QUANT_PANEL; l++)
                        s[l] += xs[0] * wk[4 * l] + xs[1] * wk[4 * l + 1] + xs[2] * wk[4 * l + 2] + xs[3] * wk[4 * l + 3];
                }
                for (size_t o = lo; o < hi; o++) out[n * OC + o] = int8_out(s[o % QUANT_PANEL], x->scale[n], w->scale[o], bias, o);
            }
        }
    }
}

/* ---------------- products: AVX-512 ---------------- */

#ifdef QUANT_X86
#define TGT_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define TGT_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8")
/* Generation prefetches each panel QPF steps (4 KB) ahead into L2. Non-temporal
 * (_MM_HINT_NTA, which fills L1 only) was once 0.1-0.2 better than the hardware prefetcher
 * alone here, but on 2026-12-02 this machine ran it at half the speed of L2: 12 paired
 * rounds of GPT-2 generation, bf16 49.7 vs 85.1 tok/s and int8 73.2 vs 167.6 (L1 and twice
 * the distance were within 5 % of L2). */
#define QPF 16
#define QPF_HINT _MM_HINT_T1
#define MR 6 /* x rows per block: 6 × 4 accumulators + 4 weight vectors + 1 broadcast ≤ 32 registers */

/* A block of NX x rows × one panel (64 outputs, 4 vectors) over every step: a step
 * loads the panel's 4 vectors (256 bytes) once and multiplies each by one x row's step
 * broadcast (2 bf16 or 4 int8), so every lane keeps its own sum and no reduction is
 * needed. The weights stream in storage order; a row's sums never depend on the other
 * rows, so a batch gives each row what it would get alone. */
#define BLOCK_BODY(ACC_T, ZERO, XBASE, ELEM_T, G, DOT)                                                       \
    size_t S = (size_t)x->stride, steps = (size_t)w->steps;                                                  \
    const ELEM_T *xr[MR];                                                                                    \
    UNROLL for (int i = 0; i < NX; i++) xr[i] = (const ELEM_T *)(XBASE) + (n + i) * S;                       \
    const ELEM_T *wp = (const ELEM_T *)w->q + p * steps * QUANT_PANEL * G;                                   \
    ACC_T acc[MR][4];                                                                                        \
    UNROLL for (int i = 0; i < NX; i++) UNROLL for (int j = 0; j < 4; j++) acc[i][j] = ZERO;                 \
    for (size_t k = 0; k < steps; k++) {                                                                     \
        __m512i wv[4];                                                                                       \
        UNROLL for (int j = 0; j < 4; j++) {                                                                 \
            const ELEM_T *at = wp + k * QUANT_PANEL * G + j * 16 * G;                                        \
            if (NX == 1) _mm_prefetch((const char *)(at + QPF * QUANT_PANEL * G), QPF_HINT);                 \
            wv[j] = _mm512_loadu_si512((const void *)at);                                                    \
        }                                                                                                    \
        UNROLL for (int i = 0; i < NX; i++) {                                                                \
            int32_t xs; /* the step's G elements as one lane (memcpy: no type punning) */                    \
            memcpy(&xs, xr[i] + k * G, 4);                                                                   \
            __m512i xb = _mm512_set1_epi32(xs);                                                              \
            UNROLL for (int j = 0; j < 4; j++) acc[i][j] = DOT(acc[i][j], xb, wv[j]);                        \
        }                                                                                                    \
    }

/* The lanes of vector j (16 outputs from o) that fall in [o0, o1). */
static inline __mmask16 lanes(size_t o, size_t o0, size_t o1)
{
    if (o >= o1 || o + 16 <= o0) return 0;
    unsigned lo = o0 > o ? (unsigned)(o0 - o) : 0, hi = o1 < o + 16 ? (unsigned)(o1 - o) : 16;
    return (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

#define DOT_BF16(a, x, w) _mm512_dpbf16_ps(a, (__m512bh)(x), (__m512bh)(w))
TGT_BF16 INLINE void bf16_block(float *out, const QActs *x, const QWeight *w, const float *bias, size_t n, size_t p,
                                size_t o0, size_t o1, const int NX)
{
    BLOCK_BODY(__m512, _mm512_setzero_ps(), x->bf, uint16_t, 2, DOT_BF16)
    size_t OC = (size_t)w->rows;
    UNROLL for (int j = 0; j < 4; j++) {
        size_t o = p * QUANT_PANEL + (size_t)j * 16;
        __mmask16 m = lanes(o, o0, o1);
        if (!m) continue;
        __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + o) : _mm512_setzero_ps();
        UNROLL for (int i = 0; i < NX; i++) _mm512_mask_storeu_ps(out + (n + i) * OC + o, m, _mm512_add_ps(acc[i][j], b));
    }
}

/* int8: unsigned x = q + 128 times signed w, so Σ 128·w is taken off; the end is
 * int8_out's expression, lane by lane (no fused multiply-add: the same rounding). */
#define DOT_INT8(a, x, w) _mm512_dpbusd_epi32(a, x, w)
TGT_VNNI INLINE void int8_block(float *out, const QActs *x, const QWeight *w, const float *bias, size_t n, size_t p,
                                size_t o0, size_t o1, const int NX)
{
    BLOCK_BODY(__m512i, _mm512_setzero_si512(), x->u8, uint8_t, 4, DOT_INT8)
    size_t OC = (size_t)w->rows;
    UNROLL for (int j = 0; j < 4; j++) {
        size_t o = p * QUANT_PANEL + (size_t)j * 16;
        __mmask16 m = lanes(o, o0, o1);
        if (!m) continue;
        __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + o) : _mm512_setzero_ps();
        __m512i qs = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(w->qsum + o)), 7); /* padded to panels */
        __m512 sw = _mm512_loadu_ps(w->scale + o);
        UNROLL for (int i = 0; i < NX; i++) {
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][j], qs)), _mm512_mul_ps(_mm512_set1_ps(x->scale[n + i]), sw));
            _mm512_mask_storeu_ps(out + (n + i) * OC + o, m, _mm512_add_ps(y, b));
        }
    }
}
#undef BLOCK_BODY

/* Each panel against the x rows MR at a time, the panel staying in L2 while they pass.
 * Generation (one x row) reads one panel at a time, so each thread reads one stream in
 * storage order: measured 2026-12-03 on Zen 4, one thread over 125 MB, 1.0-1.1 of a plain
 * vector read's rate, where two panels at once (two streams 48 KB apart) ran at 0.8-0.9. */
#define BLOCKED(NAME, BLOCK, TGT)                                                                            \
    TGT static void NAME(float *out, const QActs *x, const QWeight *w, const float *bias, size_t n0, size_t n1, \
                         size_t o0, size_t o1)                                                               \
    {                                                                                                        \
        for (size_t p = o0 / QUANT_PANEL, pend = CEIL_DIV(o1, QUANT_PANEL); p < pend; p++) {                 \
            size_t n = n0;                                                                                   \
            for (; n + MR <= n1; n += MR) BLOCK(out, x, w, bias, n, p, o0, o1, MR);                          \
            switch (n1 - n) {                                                                                \
            case 5: BLOCK(out, x, w, bias, n, p, o0, o1, 5); break;                                          \
            case 4: BLOCK(out, x, w, bias, n, p, o0, o1, 4); break;                                          \
            case 3: BLOCK(out, x, w, bias, n, p, o0, o1, 3); break;                                          \
            case 2: BLOCK(out, x, w, bias, n, p, o0, o1, 2); break;                                          \
            case 1: BLOCK(out, x, w, bias, n, p, o0, o1, 1); break;                                          \
            default: break;                                                                                  \
            }                                                                                                \
        }                                                                                                    \
    }
BLOCKED(rows_bf16_avx512, bf16_block, TGT_BF16)
BLOCKED(rows_int8_avx512, int8_block, TGT_VNNI)
#undef BLOCKED
#endif

QPath quant_path(Precision type)
{
    static int have[PREC_COUNT] = {-1, -1, -1};
    if (type <= PREC_FP32 || type >= PREC_COUNT) return QPATH_PORTABLE;
    if (have[type] < 0) {
        have[type] = 0;
#ifdef QUANT_X86
        __builtin_cpu_init();
        int base = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
        if (type == PREC_BF16) have[type] = base && __builtin_cpu_supports("avx512bf16");
        if (type == PREC_INT8) have[type] = base && __builtin_cpu_supports("avx512vnni");
#endif
        const char *env = getenv("GPTREPL_QUANT_PORTABLE"); /* to run the portable path everywhere */
        if (env && *env == '1') have[type] = 0;
    }
    return have[type] ? QPATH_AVX512 : QPATH_PORTABLE;
}

const char *quant_path_name(Precision type, QPath p)
{
    if (p == QPATH_PORTABLE) return "portable";
    return type == PREC_BF16 ? "avx512-bf16" : "avx512-vnni";
}

void quant_rows(QPath p, float *out, const QActs *x, const QWeight *w, const float *bias, size_t n0, size_t n1,
                size_t o0, size_t o1)
{
#ifdef QUANT_X86
    if (p == QPATH_AVX512 && w->type == PREC_BF16) { rows_bf16_avx512(out, x, w, bias, n0, n1, o0, o1); return; }
    if (p == QPATH_AVX512 && w->type == PREC_INT8) { rows_int8_avx512(out, x, w, bias, n0, n1, o0, o1); return; }
#endif
    rows_portable(out, x, w, bias, n0, n1, o0, o1);
}
