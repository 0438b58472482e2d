/* generate.h — decoding one token at a time, through the same stages as a run.
 *
 * The KV cache is an Acts of one query row whose keys and values span the whole context:
 * each new token runs every stage over that row (p0 = its position), and attention reads
 * the keys and values the earlier tokens left in the trace. Ablations apply exactly as in
 * a run. */
#ifndef GR_GENERATE_H
#define GR_GENERATE_H

#include "stages.h"

typedef struct {
    Acts *a;               /* B sequences, T = 1, K = cap; a->k, a->v of each layer are the cache */
    int B;                 /* sequences decoded side by side (batch generation), all at the same position */
    int cap, len;          /* capacity (the model's ctx) and tokens cached per sequence */
    int *tokens;           /* host (B, cap): the cached tokens (to re-fill after a slide) */
    int slides;            /* times the window slid */
} KVCache;

/* A cache for m; the ablations (may be NULL) stay in force for every token. Refuses
 * ablations that cannot be applied one position at a time, saying why. */
KVCache *kv_new(Model *m, const Ablation *abl, int nabl, GrErr *e);
/* The same for B sequences decoded in one batched pass (one row each per step). */
KVCache *kv_new_batch(Model *m, int B, const Ablation *abl, int nabl, GrErr *e);
void kv_free(Model *m, KVCache *c);
void kv_reset(KVCache *c);
/* Appends one token and writes its next-token logits (V floats, host; may be NULL). When
 * the cache is full the window slides: the last ctx/2 tokens are re-encoded. */
int kv_forward(Model *m, KVCache *c, int token, float *logits, GrErr *e);
/* One token for each of the B sequences (toks[B]); logits (B, V) host, may be NULL. */
int kv_forward_batch(Model *m, KVCache *c, const int *toks, float *logits, GrErr *e);
/* Logits for the last of n tokens without a cache (a full forward pass, ablations in
 * force): the reference the cached path is tested against. */
int nocache_forward(Model *m, const Ablation *abl, int nabl, const int *tokens, int n, float *logits, GrErr *e);
/* Can these ablations be kept through the cache? -1 with the reason if not. */
int kv_check_ablations(const Ablation *abl, int nabl, GrErr *e);

#endif
