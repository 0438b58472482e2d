/* generate.c — the KV cache: one new row at a time through the stage list (stages.c). */
#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int kv_check_ablations(const Ablation *abl, int nabl, GrErr *e)
{
    for (int i = 0; i < nabl; i++) {
        if (!abl_incremental_ab(&abl[i]))
            return gr_fail(e, "the ablation '%s mean' averages over every position of a run, which decoding one "
                              "token at a time does not have", abl[i].target);
        if (!strcmp(abl[i].target, "probs"))
            return gr_fail(e, "generation samples from the logits, so the ablation of 'probs' would change "
                              "nothing it does");
    }
    return 0;
}

KVCache *kv_new(Model *m, const Ablation *abl, int nabl, GrErr *e)
{
    if (kv_check_ablations(abl, nabl, e)) return NULL;
    KVCache *c = calloc(1, sizeof *c);
    if (!c) { gr_fail(e, "out of memory"); return NULL; }
    c->cap = m->cfg.ctx;
    c->tokens = calloc((size_t)c->cap, sizeof(int));
    c->a = c->tokens ? acts_new_window(m, 1, 1, c->cap, e) : NULL;
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

/* One position: the token's row through every stage up to the logits. */
static int one_token(Model *m, KVCache *c, int token, int pos, float *logits, GrErr *e)
{
    Acts *a = c->a;
    a->p0 = pos;
    a->tokens_host[0] = token;
    m->be->upload(a->tokens, a->tokens_host, sizeof(int));
    acts_rewind(a);
    if (acts_run_until(a, "probs", e)) return -1;
    if (logits) m->be->download(logits, a->logits, sizeof(float) * (size_t)m->cfg.vocab);
    return 0;
}

int kv_forward(Model *m, KVCache *c, int token, float *logits, GrErr *e)
{
    if (token < 0 || token >= m->cfg.vocab)
        return gr_fail(e, "token id %d is outside the vocabulary (0..%d)", token, m->cfg.vocab - 1);
    if (c->len == c->cap) {
        /* Slide: keep the most recent half of the window and re-encode it at positions 0.. */
        int keep = c->cap / 2;
        memmove(c->tokens, c->tokens + c->len - keep, sizeof(int) * (size_t)keep);
        for (int i = 0; i < keep; i++)
            if (one_token(m, c, c->tokens[i], i, NULL, e)) return -1;
        c->len = keep;
        c->slides++;
    }
    c->tokens[c->len] = token;
    if (one_token(m, c, token, c->len, logits, e)) return -1;
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
