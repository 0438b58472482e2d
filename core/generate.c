/* generate.c — the KV cache: one new row at a time through the stage list (stages.c). */
#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int kv_check_ablations(const Ablation *abl, int nabl, GrErr *e)
{
    for (int i = 0; i < nabl; i++) {
        if (!abl_incremental(&abl[i]))
            return gr_fail(e, "the ablation '%s mean' averages over every position of a run, which decoding one "
                              "token at a time does not have", abl[i].target);
        if (!strcmp(abl[i].target, "probs"))
            return gr_fail(e, "generation samples from the logits, so the ablation of 'probs' would change "
                              "nothing it does");
    }
    return 0;
}

KVCache *kv_new(Model *m, const Ablation *abl, int nabl, GrErr *e) { return kv_new_batch(m, 1, abl, nabl, e); }

KVCache *kv_new_batch(Model *m, int B, const Ablation *abl, int nabl, GrErr *e)
{
    if (kv_check_ablations(abl, nabl, e)) return NULL;
    if (B < 1) return gr_fail(e, "a batch of %d sequences", B), NULL;
    KVCache *c = calloc(1, sizeof *c);
    if (!c) { gr_fail(e, "out of memory"); return NULL; }
    c->B = B;
    c->cap = m->cfg.ctx;
    c->tokens = calloc((size_t)c->cap * B, sizeof(int));
    c->a = c->tokens ? acts_new_window(m, B, 1, c->cap, e) : NULL;
    if (!c->a) {
        if (!c->tokens) gr_fail(e, "out of memory");
        kv_free(m, c);
        return NULL;
    }
    for (int i = 0; i < nabl; i++)
        if (acts_check_ablation(c->a, &abl[i], e)) {
            kv_free(m, c);
            return NULL;
        }
    c->a->abl = abl;
    c->a->nabl = nabl;
    return c;
}

void kv_free(Model *m, KVCache *c)
{
    if (!c) return;
    acts_free(m, c->a);
    free(c->tokens);
    free(c);
}

void kv_reset(KVCache *c) { c->len = 0; }

/* One position of every sequence: their rows through every stage up to the logits. */
static int one_step(Model *m, KVCache *c, const int *toks, int pos, float *logits, GrErr *e)
{
    Acts *a = c->a;
    a->p0 = pos;
    memcpy(a->tokens_host, toks, sizeof(int) * (size_t)c->B);
    m->be->upload(a->tokens, a->tokens_host, sizeof(int) * (size_t)c->B);
    acts_rewind(a);
    if (acts_run_until(a, "probs", e)) return -1;
    if (logits) m->be->download(logits, a->logits, sizeof(float) * (size_t)c->B * m->cfg.vocab);
    return 0;
}

int kv_forward(Model *m, KVCache *c, int token, float *logits, GrErr *e)
{
    if (c->B != 1) return gr_fail(e, "internal: kv_forward on a batch of %d", c->B);
    return kv_forward_batch(m, c, &token, logits, e);
}

int kv_forward_batch(Model *m, KVCache *c, const int *toks, float *logits, GrErr *e)
{
    int B = c->B;
    for (int b = 0; b < B; b++)
        if (toks[b] < 0 || toks[b] >= m->cfg.vocab)
            return gr_fail(e, "token id %d is outside the vocabulary (0..%d)", toks[b], m->cfg.vocab - 1);
    if (c->len == c->cap) {
        /* Slide: keep the most recent half of the window and re-encode it at positions 0.. */
        int keep = c->cap / 2;
        int *step = malloc(sizeof(int) * (size_t)B);
        if (!step) return gr_fail(e, "out of memory");
        for (int b = 0; b < B; b++)
            memmove(c->tokens + (size_t)b * c->cap, c->tokens + (size_t)b * c->cap + c->len - keep, sizeof(int) * (size_t)keep);
        for (int i = 0; i < keep; i++) {
            for (int b = 0; b < B; b++) step[b] = c->tokens[(size_t)b * c->cap + i];
            if (one_step(m, c, step, i, NULL, e)) { free(step); return -1; }
        }
        free(step);
        c->len = keep;
        c->slides++;
    }
    for (int b = 0; b < B; b++) c->tokens[(size_t)b * c->cap + c->len] = toks[b];
    if (one_step(m, c, toks, c->len, logits, e)) return -1;
    c->len++;
    return 0;
}

int nocache_forward(Model *m, const Ablation *abl, int nabl, const int *tokens, int n, float *logits, GrErr *e)
{
    Acts *a = acts_new(m, 1, n, e);
    if (!a) return -1;
    for (int i = 0; i < nabl; i++)
        if (acts_check_ablation(a, &abl[i], e)) {
            acts_free(m, a);
            return -1;
        }
    a->abl = abl;
    a->nabl = nabl;
    int rc = acts_set_tokens(m, a, tokens, NULL, e);
    if (rc == 0) rc = acts_run_until(a, "probs", e); /* only the logits are needed */
    if (rc == 0) m->be->download(logits, a->logits + (size_t)(n - 1) * m->cfg.vocab, sizeof(float) * (size_t)m->cfg.vocab);
    acts_free(m, a);
    return rc;
}
