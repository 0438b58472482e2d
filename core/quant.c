/* quant.c — bf16 and int8 weights and the products that read them (the schemes: quant.h).
 *
 * Every product is a set of row dot products out[n, o] = x[n, :]·w[o, :], the layout the
 * fp32 weights already have, so one stored copy serves generation (one x row: the speed
 * of reading w) and a whole run (many rows: a tile of 4 w rows × up to 4 x rows keeps
 * the w rows in L1 while the x rows stream past). The AVX-512 paths (BF16's VDPBF16PS,
 * VNNI's VPDPBUSD) are chosen at run time; the portable path computes the same scheme:
 * for int8 bit for bit (integer sums are exact), for bf16 to fp32 summation order. */
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
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        bad |= !(a <= FLT_MAX); /* inf or NaN */
        amax = a > amax ? a : amax;
    }
    float inv = amax > 0 && !bad ? 127.0f / amax : 0.0f;
    for (int i = 0; i < n; i++) {
        float r = round_small(x[i] * inv);
        r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r;
        if (q) q[i] = (int8_t)(int)r;
        else u[i] = (uint8_t)((int)r + bias);
    }
    return bad ? NAN : amax / 127.0f;
}

/* ---------------- weights ---------------- */

int quant_weight(QWeight *w, Precision type, const float *src, int rows, int cols, GrErr *e)
{
    memset(w, 0, sizeof *w);
    size_t n = (size_t)rows * cols;
    w->type = type;
    w->rows = rows;
    w->cols = cols;
    w->q = malloc(n * (size_t)PRECS[type].bytes + 1);
    if (type == PREC_INT8) {
        w->scale = malloc(sizeof(float) * (size_t)rows + 1);
        w->qsum = malloc(sizeof(int32_t) * (size_t)rows + 1);
    }
    if (!w->q || (type == PREC_INT8 && (!w->scale || !w->qsum))) {
        quant_weight_free(w);
        return gr_fail(e, "out of memory for a %s copy of a %d x %d weight", PRECS[type].name, rows, cols);
    }
    if (type == PREC_BF16) {
        uint16_t *h = w->q;
        for (size_t i = 0; i < n; i++) h[i] = quant_bf16(src[i]);
        return 0;
    }
    int8_t *q = w->q;
    for (int r = 0; r < rows; r++) {
        int8_t *qr = q + (size_t)r * cols;
        w->scale[r] = int8_row(src + (size_t)r * cols, cols, qr, NULL, 0);
        int32_t s = 0;
        for (int c = 0; c < cols; c++) s += qr[c];
        w->qsum[r] = s;
    }
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

float quant_value(const QWeight *w, size_t r, size_t c)
{
    size_t i = r * (size_t)w->cols + c;
    if (w->type == PREC_BF16) return quant_bf16_float(((const uint16_t *)w->q)[i]);
    return (float)((const int8_t *)w->q)[i] * w->scale[r];
}

/* ---------------- activations ---------------- */

int quant_acts_reserve(QActs *a, Precision type, int N, int IC)
{
    size_t n = (size_t)N * IC;
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
    return 0;
}

void quant_acts_rows(QActs *a, const float *x, size_t n0, size_t n1)
{
    int IC = a->IC;
    for (size_t n = n0; n < n1; n++) {
        const float *xr = x + n * IC;
        if (a->type == PREC_BF16) {
            uint16_t *h = a->bf + n * IC;
            for (int i = 0; i < IC; i++) h[i] = quant_bf16(xr[i]);
        } else {
            a->scale[n] = int8_row(xr, IC, NULL, a->u8 + n * IC, 128);
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

static void rows_portable(float *out, const QActs *x, const QWeight *w, const float *bias, size_t n0, size_t n1,
                          size_t o0, size_t o1)
{
    int IC = w->cols;
    size_t OC = (size_t)w->rows;
    for (size_t o = o0; o < o1; o++)
        for (size_t n = n0; n < n1; n++) {
            if (w->type == PREC_BF16) {
                const uint16_t *xr = x->bf + n * IC, *wr = (const uint16_t *)w->q + o * IC;
                float s[8] = {0};
                int i = 0;
                for (; i + 8 <= IC; i += 8)
                    for (int k = 0; k < 8; k++) s[k] += quant_bf16_float(xr[i + k]) * quant_bf16_float(wr[i + k]);
                float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
                for (; i < IC; i++) t += quant_bf16_float(xr[i]) * quant_bf16_float(wr[i]);
                out[n * OC + o] = t + (bias ? bias[o] : 0.0f);
            } else {
                const uint8_t *xr = x->u8 + n * IC;
                const int8_t *wr = (const int8_t *)w->q + o * IC;
                int32_t s = 0;
                for (int i = 0; i < IC; i++) s += ((int32_t)xr[i] - 128) * wr[i];
                out[n * OC + o] = int8_out(s, x->scale[n], w->scale[o], bias, o);
            }
        }
}

/* ---------------- products: AVX-512 ---------------- */

#ifdef QUANT_X86
#define TGT_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define TGT_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8")
#define QPF 2 /* generation prefetches the rows QPF tiles ahead (non-temporal: each weight is read once) */

/* Eight accumulators to one vector of their eight sums: halves added, then a transposing
 * tree of horizontal adds (25 instructions for 8 rows; one reduction each costs 7). */
TGT_BF16 INLINE __m256 sum8_ps(const __m512 *a)
{
    __m256 r[8];
    UNROLL for (int j = 0; j < 8; j++)
        r[j] = _mm256_add_ps(_mm512_castps512_ps256(a[j]), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[j]), 1)));
    __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(r[0], r[1]), _mm256_hadd_ps(r[2], r[3]));
    __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(r[4], r[5]), _mm256_hadd_ps(r[6], r[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x20), _mm256_permute2f128_ps(h0, h1, 0x31));
}

TGT_VNNI INLINE __m256i sum8_epi32(const __m512i *a)
{
    __m256i r[8];
    UNROLL for (int j = 0; j < 8; j++) r[j] = _mm256_add_epi32(_mm512_castsi512_si256(a[j]), _mm512_extracti64x4_epi64(a[j], 1));
    __m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(r[0], r[1]), _mm256_hadd_epi32(r[2], r[3]));
    __m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(r[4], r[5]), _mm256_hadd_epi32(r[6], r[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x20), _mm256_permute2x128_si256(h0, h1, 0x31));
}

/* A tile of NX (1, 2) x rows × NW (1, 8) w rows; constants after inlining, so the 16
 * accumulators stay in registers. One step is a vector of each row: 32 bf16 per
 * VDPBF16PS, 64 int8 per VPDPBUSD; the columns past the last full vector are one masked
 * step (zeros add nothing). */
#define TILE_BODY(ACC_T, ZERO, ELEM_T, XBASE, WIDTH, MASK_T, MASKED_LOAD, DOT)                            \
    int IC = w->cols;                                                                                   \
    const ELEM_T *xr[2], *wr[8];                                                                        \
    UNROLL for (int i = 0; i < NX; i++) xr[i] = (const ELEM_T *)(XBASE) + (n + i) * IC;                  \
    UNROLL for (int j = 0; j < NW; j++) wr[j] = (const ELEM_T *)w->q + (o + j) * IC;                     \
    ACC_T acc[2][8];                                                                                    \
    UNROLL for (int i = 0; i < NX; i++) UNROLL for (int j = 0; j < NW; j++) acc[i][j] = ZERO;            \
    int k = 0;                                                                                          \
    for (; k + WIDTH <= IC; k += WIDTH) {                                                               \
        if (NX == 1) /* generation: the rows of a later tile, a line each (a row moves a line a step) */ \
            UNROLL for (int j = 0; j < NW; j++) _mm_prefetch((const char *)(wr[j] + k + (size_t)QPF * NW * IC), _MM_HINT_NTA); \
        __m512i wv[8];                                                                                  \
        UNROLL for (int j = 0; j < NW; j++) wv[j] = _mm512_loadu_si512((const void *)(wr[j] + k));      \
        UNROLL for (int i = 0; i < NX; i++) {                                                           \
            __m512i xv = _mm512_loadu_si512((const void *)(xr[i] + k));                                 \
            UNROLL for (int j = 0; j < NW; j++) acc[i][j] = DOT(acc[i][j], xv, wv[j]);                  \
        }                                                                                               \
    }                                                                                                   \
    if (k < IC) {                                                                                       \
        MASK_T tail = (MASK_T)(((MASK_T)1 << (IC - k)) - 1);                                            \
        __m512i wv[8];                                                                                  \
        UNROLL for (int j = 0; j < NW; j++) wv[j] = MASKED_LOAD(tail, (const void *)(wr[j] + k));       \
        UNROLL for (int i = 0; i < NX; i++) {                                                           \
            __m512i xv = MASKED_LOAD(tail, (const void *)(xr[i] + k));                                  \
            UNROLL for (int j = 0; j < NW; j++) acc[i][j] = DOT(acc[i][j], xv, wv[j]);                  \
        }                                                                                               \
    }

#define DOT_BF16(a, x, w) _mm512_dpbf16_ps(a, (__m512bh)(x), (__m512bh)(w))
TGT_BF16 INLINE void bf16_tile(float *out, const QActs *x, const QWeight *w, const float *bias, size_t n, size_t o,
                               const int NX, const int NW)
{
    TILE_BODY(__m512, _mm512_setzero_ps(), uint16_t, x->bf, 32, __mmask32, _mm512_maskz_loadu_epi16, DOT_BF16)
    size_t OC = (size_t)w->rows;
    UNROLL for (int i = 0; i < NX; i++) {
        float *dst = out + (n + i) * OC + o;
        if (NW == 8) {
            __m256 sv = sum8_ps(acc[i]);
            _mm256_storeu_ps(dst, bias ? _mm256_add_ps(sv, _mm256_loadu_ps(bias + o)) : sv);
        } else {
            UNROLL for (int j = 0; j < NW; j++) dst[j] = _mm512_reduce_add_ps(acc[i][j]) + (bias ? bias[o + j] : 0.0f);
        }
    }
}

/* int8: unsigned x = q + 128 times signed w, so Σ 128·w is taken off; the end is
 * int8_out's expression, vector by vector (no fused multiply-add: the same rounding). */
#define DOT_INT8(a, x, w) _mm512_dpbusd_epi32(a, x, w)
TGT_VNNI INLINE void int8_tile(float *out, const QActs *x, const QWeight *w, const float *bias, size_t n, size_t o,
                               const int NX, const int NW)
{
    TILE_BODY(__m512i, _mm512_setzero_si512(), uint8_t, x->u8, 64, __mmask64, _mm512_maskz_loadu_epi8, DOT_INT8)
    size_t OC = (size_t)w->rows;
    UNROLL for (int i = 0; i < NX; i++) {
        float *dst = out + (n + i) * OC + o;
        float sx = x->scale[n + i];
        if (NW == 8) {
            __m256i sv = _mm256_sub_epi32(sum8_epi32(acc[i]),
                                          _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(w->qsum + o)), 7));
            __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(sv), _mm256_mul_ps(_mm256_set1_ps(sx), _mm256_loadu_ps(w->scale + o)));
            _mm256_storeu_ps(dst, bias ? _mm256_add_ps(y, _mm256_loadu_ps(bias + o)) : y);
        } else {
            UNROLL for (int j = 0; j < NW; j++)
                dst[j] = int8_out(_mm512_reduce_add_epi32(acc[i][j]) - 128 * w->qsum[o + j], sx, w->scale[o + j], bias, o + j);
        }
    }
}
#undef TILE_BODY

/* Blocks of 8 w rows, each against every x row 2 at a time (the w rows stay in L1 while
 * the x rows stream past); the ragged ends one w row at a time. */
#define TILED(NAME, TILE, TGT)                                                                           \
    TGT static void NAME(float *out, const QActs *x, const QWeight *w, const float *bias, size_t n0, size_t n1, \
                         size_t o0, size_t o1)                                                           \
    {                                                                                                    \
        size_t o = o0;                                                                                   \
        for (; o + 8 <= o1; o += 8) {                                                                    \
            size_t n = n0;                                                                               \
            for (; n + 2 <= n1; n += 2) TILE(out, x, w, bias, n, o, 2, 8);                               \
            for (; n < n1; n++) TILE(out, x, w, bias, n, o, 1, 8);                                       \
        }                                                                                                \
        for (; o < o1; o++) {                                                                            \
            size_t n = n0;                                                                               \
            for (; n + 2 <= n1; n += 2) TILE(out, x, w, bias, n, o, 2, 1);                               \
            for (; n < n1; n++) TILE(out, x, w, bias, n, o, 1, 1);                                       \
        }                                                                                                \
    }
TILED(rows_bf16_avx512, bf16_tile, TGT_BF16)
TILED(rows_int8_avx512, int8_tile, TGT_VNNI)
#undef TILED
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
