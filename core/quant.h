/* quant.h — the precisions inference can run at (`set precision`), weights that carry
 * their storage type and scales, and the matrix products that read them (quant.c).
 *
 * One design for every backend: a QWeight is what a backend's matmul_q reads, so the GPU
 * backend stores the same types (bf16, int8 with one fp32 scale per output row) and must
 * compute the same scheme. The fp32 weights are never changed: a QWeight is a copy made
 * from them, so `set precision fp32` is the fp32 model bit for bit.
 *
 * The schemes (what both the vector and the portable path compute):
 *   bf16  weights and activations rounded to bfloat16 (nearest-even); the products of two
 *         bf16 are exact in fp32 and summed in fp32.
 *   int8  weights: symmetric, one scale per output row, w ≈ q·s, s = max|w_row| / 127,
 *         q = round(w/s) in [-127, 127]; activations: the same per input row (dynamic,
 *         computed for every product); Σ q_x·q_w exactly in int32, out = Σ · s_x·s_w + b. */
#ifndef GR_QUANT_H
#define GR_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

typedef enum { PREC_FP32, PREC_BF16, PREC_INT8, PREC_COUNT } Precision;

typedef struct {
    const char *name;    /* "int8", as `set precision` takes it */
    int bytes;           /* per stored weight, scales not counted */
    const char *weights; /* how a weight is stored, for `model` and help */
    const char *acts;    /* how activations enter the product */
} PrecisionDef;

/* The table of precisions, indexed by Precision. */
const PrecisionDef *prec_def(Precision p);
/* 0 and *p set, or -1 when s names none of them. */
int prec_parse(const char *s, Precision *p);
/* "fp32|bf16|int8": the choices, from the table, as a FieldDef's choices_fn (whose
 * messages then list them). */
const char *prec_names(void);

/* The stored layout: panels of QUANT_PANEL output rows; in a panel, step by step along
 * the input, each row's QUANT_GROUP consecutive inputs side by side (bf16: 2, int8: 4),
 * so one step of a panel is 64 rows × 4 bytes: four AVX-512 vectors, one lane per output,
 * which VDPBF16PS / VPDPBUSD multiply by a step of x broadcast. Rows past `rows` and
 * inputs past `cols` are stored as zeros. */
#define QUANT_PANEL 64
static inline int quant_group(Precision type) { return type == PREC_INT8 ? 4 : 2; }

typedef struct QWeight {
    Precision type;  /* PREC_BF16 or PREC_INT8; PREC_FP32 = no copy */
    int rows, cols;  /* (OC, IC), as the fp32 weight it was made from */
    int panels;      /* ceil(rows / QUANT_PANEL) */
    int steps;       /* ceil(cols / group) */
    void *q;         /* bf16: uint16_t, int8: int8_t; (panels, steps, QUANT_PANEL, group) */
    float *scale;    /* int8: (panels · QUANT_PANEL), w ≈ q·scale, zero past rows */
    int32_t *qsum;   /* int8: (panels · QUANT_PANEL) Σ_c q[r, c], the unsigned-activation correction of VNNI */
} QWeight;

/* w = src (rows, cols) stored as `type` (host memory). -1 when out of memory. */
int quant_weight(QWeight *w, Precision type, const float *src, int rows, int cols, GrErr *e);
void quant_weight_free(QWeight *w);
/* Bytes of the weights and their scales, rows x cols of them (the zeros that pad the copy
 * to whole panels are not counted: under 0.1% of GPT-2's). */
size_t quant_weight_bytes(const QWeight *w);
/* The stored code of w[r, c] (bf16 bits, or the int8 q), and the value the product uses
 * for it (dequantized). */
int quant_code(const QWeight *w, size_t r, size_t c);
float quant_value(const QWeight *w, size_t r, size_t c);

uint16_t quant_bf16(float x);      /* round to nearest even; NaN stays NaN */
float quant_bf16_float(uint16_t h);

/* Activations x (N, IC) in the representation the product multiplies. */
typedef struct {
    Precision type;
    int N, IC;
    int stride;     /* elements per row: IC rounded up to a multiple of 4, a whole step of either type (padding: q = 0) */
    uint16_t *bf;   /* bf16: (N, stride) */
    uint8_t *u8;    /* int8: (N, stride) as q + 128 (VNNI multiplies unsigned by signed bytes) */
    float *scale;   /* int8: (N) */
    size_t cap;     /* elements allocated (bf, u8) */
    size_t rcap;    /* rows allocated (scale) */
} QActs;

/* Makes room for N rows; -1 when out of memory. */
int quant_acts_reserve(QActs *a, Precision type, int N, int IC);
/* Rows n0..n1-1 of x (N, IC) into a (reserved first). */
void quant_acts_rows(QActs *a, const float *x, size_t n0, size_t n1);
void quant_acts_free(QActs *a);

typedef enum { QPATH_PORTABLE, QPATH_AVX512 } QPath;
/* The fastest path this CPU has for type (AVX-512 BF16 for bf16, AVX-512 VNNI for int8). */
QPath quant_path(Precision type);
const char *quant_path_name(Precision type, QPath p);
/* out[n·OC + o] = x[n]·w[o] + bias[o] for n in [n0, n1), o in [o0, o1); bias may be NULL.
 * x and w of the same type. */
void quant_rows(QPath p, float *out, const QActs *x, const QWeight *w, const float *bias, size_t n0, size_t n1,
                size_t o0, size_t o1);

#endif
