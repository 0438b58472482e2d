/* sample.h — turning logits into the next token: greedy, temperature, top-k, top-p,
 * with our own RNG so a seed gives the same tokens on every machine. */
#ifndef GR_SAMPLE_H
#define GR_SAMPLE_H

#include "rng.h"

typedef struct {
    float temperature; /* ≤ 0 means greedy */
    int top_k;         /* 0 = off */
    float top_p;       /* 1 = off */
    int greedy;
} SampleCfg;

void sample_cfg_default(SampleCfg *c);
/* probs[i] = softmax(logits / T) in double, max-subtracted so large logits cannot overflow. */
void softmax_temp(const float *logits, int V, double T, double *probs);
double entropy(const double *p, int V);
/* Lowest id among the maxima. */
int argmax_f(const float *x, int n);
/* Samples an id. scratch must hold V doubles and V ints. */
int sample_token(const float *logits, int V, const SampleCfg *c, Rng *r, double *pscratch, int *iscratch);
/* The ids kept by top-k / top-p (sorted by probability, descending); returns how many. */
int sample_filter(const double *probs, int V, int top_k, float top_p, int *ids);

#endif
