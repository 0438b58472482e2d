/* bench_onednn.c — oneDNN 2.x's matmul against gptrepl's own bf16 and int8 products
 * (core/quant.c through the CPU backend's matmul_q), on GPT-2 124M's shapes, in one process:
 * the issue asks for both to be measured and the faster kept. Built and run by `make bench`
 * when libdnnl-dev is installed (oneDNN is not a build dependency).
 *
 *   bench_onednn M bf16|int8
 *
 * bf16: both convert the fp32 activations per call (oneDNN: a reorder). int8: oneDNN gets
 * its int8 activations and their per-row scales ready-made, while ours quantizes the rows
 * inside its time, so the comparison favours oneDNN. Weights are reordered once into the
 * layout oneDNN picks. M = 1 repeats one weight, so the smaller ones are timed from cache. */
#include <dnnl.h>
#include "backend.h"
#include "quant.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

#define CK(x)                                                                          \
    do {                                                                               \
        dnnl_status_t s_ = (x);                                                        \
        if (s_ != dnnl_success) { fprintf(stderr, "%s: %d\n", #x, s_); exit(1); }      \
    } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t st;

typedef struct {
    int int8;
    dnnl_primitive_t mm, rs;                  /* the matmul; bf16: the activations' reorder */
    dnnl_memory_t src32, src, w, dst;
    int M, N;
    float *y, *sx;                            /* int8: the output, and the rows' scales it is multiplied by */
} Dn;

static dnnl_memory_desc_t md2(int a, int b, dnnl_data_type_t t, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t d;
    dnnl_dims_t dims = {a, b};
    CK(dnnl_memory_desc_init_by_tag(&d, 2, dims, t, tag));
    return d;
}

/* The weights (N, K) row-major as wsrc_t, reordered into the layout the matmul asked for. */
static dnnl_memory_t weights(dnnl_primitive_desc_t pd, const void *w, int K, int N, dnnl_data_type_t wsrc_t)
{
    dnnl_memory_desc_t wsrc = md2(K, N, wsrc_t, dnnl_ba);
    const dnnl_memory_desc_t *wq = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t from, to;
    CK(dnnl_memory_create(&from, &wsrc, eng, (void *)w));
    CK(dnnl_memory_create(&to, wq, eng, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    CK(dnnl_reorder_primitive_desc_create(&rpd, &wsrc, eng, wq, eng, NULL));
    CK(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    CK(dnnl_primitive_execute(r, st, 2, ra));
    CK(dnnl_stream_wait(st));
    return to;
}

static void dn_make_bf16(Dn *d, int M, int K, int N, float *x, const float *w32, float *y)
{
    dnnl_memory_desc_t x32 = md2(M, K, dnnl_f32, dnnl_ab), x16 = md2(M, K, dnnl_bf16, dnnl_ab);
    dnnl_memory_desc_t wany = md2(K, N, dnnl_bf16, dnnl_format_tag_any), ymd = md2(M, N, dnnl_f32, dnnl_ab);
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd, spd;
    CK(dnnl_matmul_desc_init(&md, &x16, &wany, NULL, &ymd));
    CK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
    CK(dnnl_primitive_create(&d->mm, pd));
    d->w = weights(pd, w32, K, N, dnnl_f32);
    CK(dnnl_memory_create(&d->src32, &x32, eng, x));
    CK(dnnl_memory_create(&d->src, &x16, eng, DNNL_MEMORY_ALLOCATE));
    CK(dnnl_memory_create(&d->dst, &ymd, eng, y));
    CK(dnnl_reorder_primitive_desc_create(&spd, &x32, eng, &x16, eng, NULL));
    CK(dnnl_primitive_create(&d->rs, spd));
}

/* int8: s8 activations (M, K) with scales sx (M), the codes of q (N, K) with scales per
 * column: y = (x_q · w_qᵀ) · s_w (output scales), then each row times its s_x here (2.6's
 * fast int8 matmul takes no per-row scale: a broadcast (M, 1) post-op sends it to the
 * reference implementation, 3000x slower). */
static void dn_make_int8(Dn *d, int M, int K, int N, int8_t *xq, float *sx, const QWeight *q, float *y)
{
    d->int8 = 1;
    dnnl_memory_desc_t xs8 = md2(M, K, dnnl_s8, dnnl_ab), wany = md2(K, N, dnnl_s8, dnnl_format_tag_any);
    dnnl_memory_desc_t ymd = md2(M, N, dnnl_f32, dnnl_ab);
    dnnl_primitive_attr_t attr;
    CK(dnnl_primitive_attr_create(&attr));
    CK(dnnl_primitive_attr_set_output_scales(attr, N, 1 << 1, q->scale));

    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd;
    CK(dnnl_matmul_desc_init(&md, &xs8, &wany, NULL, &ymd));
    CK(dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL));
    CK(dnnl_primitive_create(&d->mm, pd));
    int8_t *codes = malloc((size_t)N * K);
    for (size_t r = 0; r < (size_t)N; r++)
        for (size_t c = 0; c < (size_t)K; c++) codes[r * K + c] = (int8_t)quant_code(q, r, c);
    d->w = weights(pd, codes, K, N, dnnl_s8);
    free(codes);
    CK(dnnl_memory_create(&d->src, &xs8, eng, xq));
    d->M = M, d->N = N, d->y = y, d->sx = sx;
    CK(dnnl_memory_create(&d->dst, &ymd, eng, y));
}

static void dn_run(Dn *d)
{
    if (!d->int8) {
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, d->src32}, {DNNL_ARG_TO, d->src}};
        CK(dnnl_primitive_execute(d->rs, st, 2, ra));
    }
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, d->src}, {DNNL_ARG_WEIGHTS, d->w}, {DNNL_ARG_DST, d->dst}};
    CK(dnnl_primitive_execute(d->mm, st, 3, a));
    CK(dnnl_stream_wait(st));
    for (int r = 0; d->int8 && r < d->M; r++)
        for (int c = 0; c < d->N; c++) d->y[(size_t)r * d->N + c] *= d->sx[r];
}

int main(int argc, char **argv)
{
    int M = argc > 1 ? atoi(argv[1]) : 64;
    Precision type = argc > 2 && !strcmp(argv[2], "int8") ? PREC_INT8 : PREC_BF16;
    const char *tn = prec_def(type)->name;
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    /* K, N, times per forward */
    static const int shapes[5][3] = {{768, 2304, 12}, {768, 768, 12}, {768, 3072, 12}, {3072, 768, 12}, {768, 50257, 1}};
    double tot_own = 0, tot_dn = 0;
    for (int s = 0; s < 5; s++) {
        int K = shapes[s][0], N = shapes[s][1];
        size_t xn = (size_t)M * K, wn = (size_t)N * K, yn = (size_t)M * N;
        float *x = malloc(sizeof(float) * xn), *w = malloc(sizeof(float) * wn), *y = malloc(sizeof(float) * yn),
              *y2 = malloc(sizeof(float) * yn), *sx = malloc(sizeof(float) * M);
        int8_t *xq = malloc(xn);
        for (size_t i = 0; i < xn; i++) x[i] = (float)(i % 97) / 97 - 0.5f;
        for (size_t i = 0; i < wn; i++) w[i] = (float)(i % 89) / 890 - 0.05f;
        QWeight q;
        GrErr e;
        if (quant_weight(&q, type, w, N, K, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
        Dn d = {0};
        if (type == PREC_BF16) dn_make_bf16(&d, M, K, N, x, w, y2);
        else {
            QActs qa = {0}; /* the same codes and scales ours computes */
            if (quant_acts_reserve(&qa, PREC_INT8, M, K)) return 1;
            quant_acts_rows(&qa, x, 0, (size_t)M);
            for (int r = 0; r < M; r++) {
                sx[r] = qa.scale[r];
                for (int c = 0; c < K; c++) xq[(size_t)r * K + c] = (int8_t)((int)qa.u8[(size_t)r * qa.stride + c] - 128);
            }
            quant_acts_free(&qa);
            dn_make_int8(&d, M, K, N, xq, sx, &q, y2);
        }
        double bo = 1e30, bd = 1e30;
        int reps = N == 50257 ? (M == 1 ? 20 : 5) : M == 1 ? 200 : 20;
        for (int r = 0; r < 3; r++) {
            double t0 = now();
            for (int i = 0; i < reps; i++) backend_cpu.matmul_q(y, x, &q, NULL, M, K, N);
            bo = fmin(bo, (now() - t0) / reps);
            t0 = now();
            for (int i = 0; i < reps; i++) dn_run(&d);
            bd = fmin(bd, (now() - t0) / reps);
        }
        double md = 0, mag = 0;
        for (size_t i = 0; i < yn; i++) md = fmax(md, fabs((double)y[i] - y2[i])), mag = fmax(mag, fabs((double)y2[i]));
        printf("%s M %d  %4d x %5d: own %8.3f ms  oneDNN %8.3f ms  own/oneDNN %.2f  (max |diff| %.2g of %.2g)\n", tn, M, K,
               N, bo, bd, bo / bd, md, mag);
        tot_own += bo * shapes[s][2];
        tot_dn += bd * shapes[s][2];
        quant_weight_free(&q);
        free(x), free(w), free(y), free(y2), free(sx), free(xq);
    }
    printf("%s M %d, one GPT-2 forward's products: own %.1f ms, oneDNN %.1f ms, own/oneDNN %.2f\n", tn, M, tot_own,
           tot_dn, tot_own / tot_dn);
    return 0;
}
