#include "sample.h"

#include <math.h>
#include <stdlib.h>

void sample_cfg_default(SampleCfg *c)
{
    c->temperature = 1.0f;
    c->top_k = 0;
    c->top_p = 1.0f;
    c->greedy = 0;
}

void softmax_temp(const float *logits, int V, double T, double *probs)
{
    double mx = -INFINITY;
    for (int i = 0; i < V; i++) if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    for (int i = 0; i < V; i++) {
        probs[i] = exp((logits[i] - mx) / T);
        sum += probs[i];
    }
    for (int i = 0; i < V; i++) probs[i] /= sum;
}

double entropy(const double *p, int V)
{
    double h = 0;
    for (int i = 0; i < V; i++) if (p[i] > 0) h -= p[i] * log(p[i]);
    return h;
}

int argmax_f(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

static const double *g_probs; /* qsort has no context argument in C11 */
static int cmp_prob(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    if (g_probs[i] > g_probs[j]) return -1;
    if (g_probs[i] < g_probs[j]) return 1;
    return i < j ? -1 : i > j;
}

int sample_filter(const double *probs, int V, int top_k, float top_p, int *ids)
{
    for (int i = 0; i < V; i++) ids[i] = i;
    g_probs = probs;
    qsort(ids, (size_t)V, sizeof(int), cmp_prob);
    int n = V;
    if (top_k > 0 && top_k < n) n = top_k;
    if (top_p < 1.0f) {
        /* The smallest prefix whose mass reaches p. */
        double cum = 0;
        int k = 0;
        while (k < n) {
            cum += probs[ids[k++]];
            if (cum >= top_p) break;
        }
        n = k;
    }
    return n < 1 ? 1 : n;
}

int sample_token(const float *logits, int V, const SampleCfg *c, Rng *r, double *p, int *ids)
{
    if (c->greedy || c->temperature <= 0) return argmax_f(logits, V);
    softmax_temp(logits, V, c->temperature, p);
    int n = V;
    if (c->top_k > 0 || c->top_p < 1.0f) {
        n = sample_filter(p, V, c->top_k, c->top_p, ids);
    } else {
        for (int i = 0; i < V; i++) ids[i] = i;
    }
    double mass = 0;
    for (int i = 0; i < n; i++) mass += p[ids[i]];
    double u = (double)rng_uniform(r) * mass, cum = 0;
    for (int i = 0; i < n; i++) {
        cum += p[ids[i]];
        if (u < cum) return ids[i];
    }
    return ids[n - 1];
}
