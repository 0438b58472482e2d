/* bench_onednn.c — oneDNN 2.x's bf16 matmul against gptrepl's own bf16 product (core/quant.c
 * through the CPU backend's matmul_q), on GPT-2 124M's shapes, in one process: the issue asks
 * for both to be measured. Built and run by `make bench` when libdnnl-dev is installed
 * (oneDNN is not a build dependency). The activations are converted from fp32 in both
 * (oneDNN: a reorder per call); oneDNN's weights are reordered once into the layout it
 * picks. M = 1 repeats one weight, so the smaller ones are timed from cache. */
#include <dnnl.h>
#include "backend.h"
#include "quant.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
#define CK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { fprintf(stderr, "%s: %d\n", #x, s_); exit(1); } } while (0)
static dnnl_engine_t eng; static dnnl_stream_t st;
typedef struct { dnnl_primitive_t mm, rs; dnnl_memory_t src32, src16, w, dst; } Dn;
static void dn_make(Dn *d, int M, int K, int N, float *x, const float *w32, float *y) {
  dnnl_memory_desc_t x32, x16, wsrc, wany, ymd;
  dnnl_dims_t xd = {M, K}, wd = {K, N}, yd = {M, N};
  CK(dnnl_memory_desc_init_by_tag(&x32, 2, xd, dnnl_f32, dnnl_ab));
  CK(dnnl_memory_desc_init_by_tag(&x16, 2, xd, dnnl_bf16, dnnl_ab));
  CK(dnnl_memory_desc_init_by_tag(&wsrc, 2, wd, dnnl_f32, dnnl_ba)); /* (N, K) row-major */
  CK(dnnl_memory_desc_init_by_tag(&wany, 2, wd, dnnl_bf16, dnnl_format_tag_any));
  CK(dnnl_memory_desc_init_by_tag(&ymd, 2, yd, dnnl_f32, dnnl_ab));
  dnnl_matmul_desc_t md; CK(dnnl_matmul_desc_init(&md, &x16, &wany, NULL, &ymd));
  dnnl_primitive_desc_t pd; CK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
  CK(dnnl_primitive_create(&d->mm, pd));
  const dnnl_memory_desc_t *wq = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  dnnl_memory_t wsm; CK(dnnl_memory_create(&wsm, &wsrc, eng, (void *)w32));
  CK(dnnl_memory_create(&d->w, wq, eng, DNNL_MEMORY_ALLOCATE));
  dnnl_primitive_desc_t rpd; CK(dnnl_reorder_primitive_desc_create(&rpd, &wsrc, eng, wq, eng, NULL));
  dnnl_primitive_t r; CK(dnnl_primitive_create(&r, rpd));
  dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, wsm}, {DNNL_ARG_TO, d->w}};
  CK(dnnl_primitive_execute(r, st, 2, ra)); CK(dnnl_stream_wait(st));
  CK(dnnl_memory_create(&d->src32, &x32, eng, x)); CK(dnnl_memory_create(&d->src16, &x16, eng, DNNL_MEMORY_ALLOCATE));
  CK(dnnl_memory_create(&d->dst, &ymd, eng, y));
  dnnl_primitive_desc_t spd; CK(dnnl_reorder_primitive_desc_create(&spd, &x32, eng, &x16, eng, NULL));
  CK(dnnl_primitive_create(&d->rs, spd));
}
static void dn_run(Dn *d) {
  dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, d->src32}, {DNNL_ARG_TO, d->src16}};
  CK(dnnl_primitive_execute(d->rs, st, 2, ra));
  dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, d->src16}, {DNNL_ARG_WEIGHTS, d->w}, {DNNL_ARG_DST, d->dst}};
  CK(dnnl_primitive_execute(d->mm, st, 3, a)); CK(dnnl_stream_wait(st));
}
int main(int argc, char **argv) {
  int M = argc > 1 ? atoi(argv[1]) : 64;
  CK(dnnl_engine_create(&eng, dnnl_cpu, 0)); CK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
  int shapes[5][3] = {{768, 2304, 12}, {768, 768, 12}, {768, 3072, 12}, {3072, 768, 12}, {768, 50257, 1}}; /* K, N, times per forward */
  double tot_own = 0, tot_dn = 0;
  for (int s = 0; s < 5; s++) {
    int K = shapes[s][0], N = shapes[s][1];
    float *x = malloc(sizeof(float) * M * K), *w = malloc(sizeof(float) * (size_t)N * K), *y = malloc(sizeof(float) * (size_t)M * N), *y2 = malloc(sizeof(float) * (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) x[i] = (float)(i % 97) / 97 - 0.5f;
    for (size_t i = 0; i < (size_t)N * K; i++) w[i] = (float)(i % 89) / 890 - 0.05f;
    QWeight q; GrErr e; quant_weight(&q, PREC_BF16, w, N, K, &e);
    Dn d; dn_make(&d, M, K, N, x, w, y2);
    double bo = 1e30, bd = 1e30;
    int reps = M == 1 ? 200 : 20;
    if (N == 50257) reps = M == 1 ? 20 : 5;
    for (int r = 0; r < 3; r++) {
      double t0 = now(); for (int i = 0; i < reps; i++) backend_cpu.matmul_q(y, x, &q, NULL, M, K, N); double t = (now() - t0) / reps; if (t < bo) bo = t;
      t0 = now(); for (int i = 0; i < reps; i++) dn_run(&d); t = (now() - t0) / reps; if (t < bd) bd = t;
    }
    double md = 0; for (size_t i = 0; i < (size_t)M * N; i++) { double dd = y[i] - y2[i]; if (dd < 0) dd = -dd; if (dd > md) md = dd; }
    printf("M %d  %4d x %5d: own %8.3f ms  oneDNN %8.3f ms  own/oneDNN %.2f  (max |diff| %.2g)\n", M, K, N, bo, bd, bo / bd, md);
    tot_own += bo * shapes[s][2]; tot_dn += bd * shapes[s][2];
  }
  printf("M %d, one GPT-2 forward's products: own %.1f ms, oneDNN %.1f ms, own/oneDNN %.2f\n", M, tot_own, tot_dn, tot_own / tot_dn);
}
