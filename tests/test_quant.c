/* test_quant.c — bf16 and int8 weights: quantize → dequantize bounds, each kernel (vector
 * and portable) against a double reference on the same quantized values, the two paths
 * against each other, and the products against fp32 on odd shapes. The model-level facts
 * (back to fp32 bit for bit, training in fp32) are in test_generate.c. */
#include "harness.h"
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Odd shapes: x rows around the block of 6, widths not a whole step (2 or 4 inputs) nor a
 * vector, outputs not a whole panel (64) or vector (16), several panels, T = 1. */
static const int SHAPES[][3] = {/* N, IC, OC */ {1, 1, 1},    {1, 7, 3},      {3, 17, 5},  {1, 100, 130}, {5, 768, 33},
                                {6, 129, 9},  {1, 3072, 7},   {9, 65, 66}, {4, 31, 4},    {13, 130, 200},
                                {7, 3, 129},  {12, 64, 64}};

static float pseudo(unsigned i, unsigned k) { return (float)((i * k + 13) % 2001) / 1000.0f - 1.0f; }

TEST(bf16_rounding)
{
    CHECK(quant_bf16(1.0f) == 0x3f80);
    CHECK(quant_bf16_float(quant_bf16(1.0f)) == 1.0f);
    /* 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even (1) */
    CHECK(quant_bf16_float(quant_bf16(1.00390625f)) == 1.0f);
    CHECK(quant_bf16_float(quant_bf16(1.01171875f)) == 1.015625f); /* 1 + 3·2^-8 → 1 + 2^-6 (even) */
    CHECK(isnan(quant_bf16_float(quant_bf16(NAN))));
    CHECK(isinf(quant_bf16_float(quant_bf16(INFINITY))));
    /* relative error ≤ 2^-8 (the unit roundoff of 8 significant bits) for normal numbers */
    double worst = 0;
    for (unsigned i = 1; i < 100000; i++) {
        float x = pseudo(i, 7919) * expf((float)(i % 40) - 20.0f);
        if (x == 0) continue;
        double r = fabs(quant_bf16_float(quant_bf16(x)) - x) / fabs(x);
        if (r > worst) worst = r;
    }
    CHECK(worst <= 1.0 / 256 && worst > 1.0 / 512);
    printf("bf16: worst relative rounding error %.3g (bound 2^-8 = %.3g)\n", worst, 1.0 / 256);
}

TEST(int8_weights_per_row)
{
    int rows = 7, cols = 37;
    float *w = malloc(sizeof(float) * rows * cols);
    for (int i = 0; i < rows * cols; i++) w[i] = pseudo((unsigned)i, 4099) * (float)(1 + i / cols * 3);
    for (int c = 0; c < cols; c++) w[2 * cols + c] = 0; /* a zero row */
    w[5 * cols + 3] = 50.0f;                           /* an outlier: only its row's scale grows */
    QWeight q;
    GrErr e;
    CHECK(quant_weight(&q, PREC_INT8, w, rows, cols, &e) == 0);
    for (int r = 0; r < rows; r++) {
        float amax = 0;
        for (int c = 0; c < cols; c++) amax = fmaxf(amax, fabsf(w[r * cols + c]));
        CHECK(q.scale[r] == amax / 127.0f);
        int32_t s = 0;
        for (int c = 0; c < cols; c++) {
            float d = fabsf(quant_value(&q, (size_t)r, (size_t)c) - w[r * cols + c]);
            CHECK(d <= 0.5f * q.scale[r] * (1 + 1e-6f)); /* half a step of its own row */
            s += quant_code(&q, (size_t)r, (size_t)c);
        }
        CHECK(s == q.qsum[r]);
    }
    CHECK(q.scale[2] == 0 && quant_value(&q, 2, 5) == 0);
    CHECK(quant_value(&q, 5, 3) == 50.0f); /* the row's maximum is exact (127·s) */
    CHECK(quant_weight_bytes(&q) == (size_t)rows * cols + (size_t)rows * 8);
    quant_weight_free(&q);
    CHECK(quant_weight(&q, PREC_BF16, w, rows, cols, &e) == 0);
    CHECK(quant_weight_bytes(&q) == (size_t)rows * cols * 2);
    quant_weight_free(&q);
    free(w);
}

/* w (OC, IC) stored as type and x (N, IC) converted for its products. */
static void prepare(Precision type, const float *x, const float *w, int N, int IC, int OC, QWeight *q, QActs *qa)
{
    GrErr e;
    memset(qa, 0, sizeof *qa);
    CHECK(quant_weight(q, type, w, OC, IC, &e) == 0);
    CHECK(quant_acts_reserve(qa, type, N, IC) == 0);
    quant_acts_rows(qa, x, 0, (size_t)N);
}

/* Each path against a double reference over the same quantized values; the two paths sum
 * in the same order (int8 bit for bit; bf16 too, but for the instruction's handling of
 * denormals), and both near the fp32 product. */
static void products(Precision type)
{
    QPath paths[2] = {QPATH_PORTABLE, QPATH_AVX512};
    int npaths = quant_path(type) == QPATH_AVX512 ? 2 : 1;
    double worst_ref = 0, worst_fp32 = 0, worst_paths = 0;
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        int N = SHAPES[s][0], IC = SHAPES[s][1], OC = SHAPES[s][2];
        float *x = malloc(sizeof(float) * N * IC), *w = malloc(sizeof(float) * OC * IC), *b = malloc(sizeof(float) * OC);
        float *y[2] = {malloc(sizeof(float) * N * OC), malloc(sizeof(float) * N * OC)};
        for (int i = 0; i < N * IC; i++) x[i] = pseudo((unsigned)i, 31) * 3.0f;
        for (int i = 0; i < OC * IC; i++) w[i] = pseudo((unsigned)i, 7919) * 0.2f;
        for (int i = 0; i < OC; i++) b[i] = (float)i / 10.0f;
        QWeight q;
        QActs qa;
        prepare(type, x, w, N, IC, OC, &q, &qa);
        for (int p = 0; p < npaths; p++) {
            for (int i = 0; i < N * OC; i++) y[p][i] = NAN;
            quant_rows(paths[p], y[p], &qa, &q, b, 0, (size_t)N, 0, (size_t)OC);
            for (int n = 0; n < N; n++)
                for (int o = 0; o < OC; o++) {
                    double ref = 0, mag = 0, f32 = b[o], fmag = fabs(b[o]);
                    for (int i = 0; i < IC; i++) {
                        double xv = type == PREC_BF16 ? quant_bf16_float(qa.bf[n * qa.stride + i])
                                                      : ((int)qa.u8[n * qa.stride + i] - 128) * (double)qa.scale[n];
                        double t = xv * quant_value(&q, (size_t)o, (size_t)i);
                        ref += t, mag += fabs(t);
                        f32 += (double)x[n * IC + i] * w[o * IC + i];
                        fmag += fabs((double)x[n * IC + i] * w[o * IC + i]);
                    }
                    ref += b[o];
                    double got = y[p][n * OC + o];
                    double rel = fabs(got - ref) / (mag + fabs(b[o]) + 1e-30);
                    worst_ref = fmax(worst_ref, rel);
                    CHECK(rel < 1e-6); /* the scheme, computed in float32 */
                    /* and the scheme is near float32: bf16 2^-8 per term, int8 a step of each factor */
                    double tol = type == PREC_BF16 ? 1.0 / 128 : 2.0 / 127 + 1.0 / 127;
                    double relf = fabs(got - f32) / (fmag + 1e-30);
                    worst_fp32 = fmax(worst_fp32, relf);
                    CHECK(relf < tol);
                }
        }
        if (npaths == 2)
            for (int i = 0; i < N * OC; i++) {
                if (type == PREC_INT8) CHECK(y[0][i] == y[1][i]);
                worst_paths = fmax(worst_paths, fabs((double)y[0][i] - y[1][i]) / (fabs(y[0][i]) + 1));
            }
        /* a row alone gets what it gets in a block of rows, bit for bit (batched generation) */
        float *alone = malloc(sizeof(float) * N * OC);
        for (int p = 0; p < npaths; p++)
            for (int n = 0; n < N; n++) {
                quant_rows(paths[p], alone, &qa, &q, b, (size_t)n, (size_t)n + 1, 0, (size_t)OC);
                CHECK(!memcmp(alone + (size_t)n * OC, y[p] + (size_t)n * OC, sizeof(float) * OC));
            }
        /* a slice of outputs (not on panel or vector boundaries) writes those and only
         * those, each as the whole product has it, on either path */
        for (int p = 0; p < npaths && OC > 2; p++) {
            size_t lo[2] = {1, (size_t)OC / 3}, hi[2] = {(size_t)OC - 1, 2 * (size_t)OC / 3 + 1};
            for (int c = 0; c < 2; c++) {
                for (int i = 0; i < N * OC; i++) alone[i] = -7;
                quant_rows(paths[p], alone, &qa, &q, b, 0, (size_t)N, lo[c], hi[c]);
                for (int n = 0; n < N; n++)
                    for (size_t o = 0; o < (size_t)OC; o++) {
                        float v = alone[(size_t)n * OC + o];
                        CHECK(o >= lo[c] && o < hi[c] ? v == y[p][(size_t)n * OC + o] : v == -7);
                    }
            }
        }
        free(alone);
        quant_weight_free(&q);
        quant_acts_free(&qa);
        free(x), free(w), free(b), free(y[0]), free(y[1]);
    }
    printf("%s: %d path%s (this CPU runs %s); worst error against the scheme in double %.2g, against float32 "
           "%.2g of the sum of |terms|; paths differ by %.2g%s\n",
           prec_def(type)->name, npaths, npaths == 1 ? "" : "s", quant_path_name(type, quant_path(type)), worst_ref,
           worst_fp32, worst_paths, npaths == 1 ? " (the vector path is not run here)" : "");
    /* both sum each output in the same order (quant.c), so only the instruction's own
     * rounding of denormals (DAZ/FTZ) could part them */
    CHECK(worst_paths < 1e-6);
}

TEST(bf16_products) { products(PREC_BF16); }
TEST(int8_products) { products(PREC_INT8); }

/* A row that is not finite makes its outputs NaN, as float32 would; a zero row gives the bias. */
TEST(int8_special_rows)
{
    int N = 3, IC = 70, OC = 5;
    float x[3 * 70], w[5 * 70], y[15];
    for (int i = 0; i < N * IC; i++) x[i] = pseudo((unsigned)i, 17);
    for (int i = 0; i < OC * IC; i++) w[i] = pseudo((unsigned)i, 23);
    for (int i = 0; i < IC; i++) x[IC + i] = 0;
    x[2 * IC + 9] = NAN;
    QWeight q;
    QActs qa;
    prepare(PREC_INT8, x, w, N, IC, OC, &q, &qa);
    float b[5] = {1, 2, 3, 4, 5};
    quant_rows(quant_path(PREC_INT8), y, &qa, &q, b, 0, (size_t)N, 0, (size_t)OC);
    for (int o = 0; o < OC; o++) {
        CHECK(isfinite(y[o]));
        CHECK(y[OC + o] == b[o]);
        CHECK(isnan(y[2 * OC + o]));
    }
    quant_weight_free(&q);
    quant_acts_free(&qa);
}

/* Activation codes bit for bit against their definition, on lengths around the vector
 * width of the quantizer's fast loops (8) and GPT-2's widths: scale = max|x| / 127, code =
 * x · (127 / max|x|) rounded to nearest even, stored + 128. Values that land on .5 test
 * the ties, -0 and the row's maximum the ends. */
TEST(int8_activation_codes)
{
    static const int lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 768, 777, 3072};
    QActs qa;
    memset(&qa, 0, sizeof qa);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        int n = lens[k];
        float *x = malloc(sizeof(float) * (size_t)n);
        for (int i = 0; i < n; i++) x[i] = pseudo((unsigned)i, 31) * 3.0f;
        x[n - 1] = -5.08f;           /* the maximum, last: the scalar tail or the last vector */
        if (n > 2) x[0] = -0.0f;
        if (n > 3) x[1] = 2.54f;     /* 2.54 · 127 / 5.08 = 63.5: ties to 64, to even */
        if (n > 4) x[2] = 0.02f;     /* 0.5: ties to 0 */
        CHECK(quant_acts_reserve(&qa, PREC_INT8, 1, n) == 0);
        quant_acts_rows(&qa, x, 0, 1);
        float amax = 0;
        for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
        CHECK(qa.scale[0] == amax / 127.0f);
        float inv = 127.0f / amax;
        int bad = 0;
        for (int i = 0; i < n; i++) {
            float v = x[i] * inv;
            float r = nearbyintf(v); /* the default rounding mode: to nearest even */
            r = fminf(127.0f, fmaxf(-127.0f, r));
            bad += qa.u8[i] != (uint8_t)((int)r + 128);
        }
        CHECK(bad == 0);
        if (n > 4) CHECK(qa.u8[1] == 128 + 64 && qa.u8[2] == 128 && qa.u8[n - 1] == 128 - 127);
        free(x);
    }
    quant_acts_free(&qa);
}

/* One QActs serves every product in turn: after a wide one-row product, a narrower one of
 * more rows must still have a scale per row (ASan saw the overflow this once had). */
TEST(acts_reused_across_shapes)
{
    static const int seq[][2] = {{1, 3072}, {4, 768}, {64, 768}, {1, 3072}, {200, 17}};
    QActs qa;
    memset(&qa, 0, sizeof qa);
    for (size_t k = 0; k < sizeof seq / sizeof seq[0]; k++) {
        int N = seq[k][0], IC = seq[k][1];
        float *x = malloc(sizeof(float) * (size_t)N * IC);
        for (int i = 0; i < N * IC; i++) x[i] = pseudo((unsigned)i, 13);
        CHECK(quant_acts_reserve(&qa, PREC_INT8, N, IC) == 0);
        CHECK(qa.rcap >= (size_t)N && qa.cap >= (size_t)N * IC);
        quant_acts_rows(&qa, x, 0, (size_t)N);
        CHECK(qa.scale[N - 1] > 0);
        free(x);
    }
    quant_acts_free(&qa);
}

TEST(precision_table)
{
    Precision p;
    CHECK(prec_parse("int8", &p) == 0 && p == PREC_INT8);
    CHECK(prec_parse("bf16", &p) == 0 && p == PREC_BF16);
    CHECK(prec_parse("fp16", &p) == -1);
    CHECK(!strcmp(prec_names(), "fp32|bf16|int8"));
    CHECK(prec_def(PREC_FP32)->bytes == 4 && prec_def(PREC_BF16)->bytes == 2 && prec_def(PREC_INT8)->bytes == 1);
}

int main(void)
{
    RUN(bf16_rounding);
    RUN(int8_activation_codes);
    RUN(int8_weights_per_row);
    RUN(bf16_products);
    RUN(int8_products);
    RUN(int8_special_rows);
    RUN(acts_reused_across_shapes);
    RUN(precision_table);
    return harness_done("quant");
}
