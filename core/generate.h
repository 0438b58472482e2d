/* generate.h — incremental decoding with a KV cache. */
#ifndef GR_GENERATE_H
#define GR_GENERATE_H

#include "model.h"

typedef struct {
    int cap, len;          /* capacity (the model's ctx) and tokens cached */
    float **k, **v;        /* per layer (H, cap, hd), backend memory */
    float *x, *x2, *xn, *mean, *rstd, *qkv, *att, *proj, *fc, *act, *mlp, *logits; /* one-token scratch */
    int *tokens;           /* host: the cached tokens (to re-fill after a slide) */
    int *tok_dev;
    int slides;            /* times the window slid */
} KVCache;

KVCache *kv_new(Model *m, GrErr *e);
void kv_free(Model *m, KVCache *c);
void kv_reset(KVCache *c);
/* Appends one token and writes its next-token logits (V floats, host). When the
 * cache is full the window slides: the last ctx/2 tokens are re-encoded. */
int kv_forward(Model *m, KVCache *c, int token, float *logits, GrErr *e);
/* Logits for the last of n tokens without a cache (a full forward pass) — the
 * reference the cached path is tested against. */
int nocache_forward(Model *m, const int *tokens, int n, float *logits, GrErr *e);

#endif
