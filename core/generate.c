/* generate.c — one token at a time through the same backend ops as the forward
 * stages, keeping K and V of past positions so each step costs O(T), not O(T²). */
#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

KVCache *kv_new(Model *m, GrErr *e)
{
    const GptConfig *g = &m->cfg;
    const Backend *be = m->be;
    int C = g->d, L = g->n_layer;
    KVCache *c = calloc(1, sizeof *c);
    if (!c) { gr_fail(e, "out of memory"); return NULL; }
    c->cap = g->ctx;
    c->k = calloc((size_t)L, sizeof(float *));
    c->v = calloc((size_t)L, sizeof(float *));
    c->tokens = calloc((size_t)g->ctx, sizeof(int));
    int fail = !c->k || !c->v || !c->tokens;
    size_t kvsz = (size_t)g->ctx * C * sizeof(float);
    for (int l = 0; l < L && !fail; l++) {
        c->k[l] = be->alloc(kvsz);
        c->v[l] = be->alloc(kvsz);
        fail = !c->k[l] || !c->v[l];
    }
#define A(p, n) if (!fail) { p = be->alloc((size_t)(n) * sizeof(float)); fail = !p; }
    A(c->x, C) A(c->x2, C) A(c->xn, C) A(c->mean, 1) A(c->rstd, 1) A(c->qkv, 3 * C) A(c->att, C) A(c->proj, C)
    A(c->fc, 4 * C) A(c->act, 4 * C) A(c->mlp, C) A(c->logits, g->vocab)
#undef A
    if (!fail) { c->tok_dev = be->alloc(sizeof(int)); fail = !c->tok_dev; }
    if (fail) {
        gr_fail(e, "out of memory for the KV cache (%.1f MB)", 2.0 * L * kvsz / 1e6);
        kv_free(m, c);
        return NULL;
    }
    return c;
}

void kv_free(Model *m, KVCache *c)
{
    if (!c) return;
    const Backend *be = m->be;
    for (int l = 0; l < m->cfg.n_layer; l++) {
        if (c->k && c->k[l]) be->free(c->k[l]);
        if (c->v && c->v[l]) be->free(c->v[l]);
    }
    float *bufs[] = {c->x, c->x2, c->xn, c->mean, c->rstd, c->qkv, c->att, c->proj, c->fc, c->act, c->mlp, c->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) if (bufs[i]) be->free(bufs[i]);
    if (c->tok_dev) be->free(c->tok_dev);
    free(c->k);
    free(c->v);
    free(c->tokens);
    free(c);
}

void kv_reset(KVCache *c) { c->len = 0; }

/* One position through every layer; x holds the residual stream (C). */
static void one_token(Model *m, KVCache *c, int token, int pos, float *logits)
{
    const GptConfig *g = &m->cfg;
    const Backend *be = m->be;
    int C = g->d, H = g->n_head, hd = C / H;
    float xhat_dummy_needed = 0;
    (void)xhat_dummy_needed;
    be->upload(c->tok_dev, &token, sizeof(int));
    /* wpe + pos·C with T = 1 picks position pos. */
    be->encoder(c->x, c->tok_dev, m->p.wte, g->pos ? m->p.wpe + (size_t)pos * C : NULL, 1, 1, C);
    float scale = 1.0f / sqrtf((float)hd);
    for (int l = 0; l < g->n_layer; l++) {
        const LayerParams *p = &m->p.layer[l];
        /* x2 is used as the xhat scratch of every LayerNorm here. */
        const float *ain = c->x;
        if (!g->post_norm) {
            be->layernorm(c->xn, c->x2, c->mean, c->rstd, c->x, p->ln1w, p->ln1b, 1, C);
            ain = c->xn;
        }
        be->matmul(c->qkv, ain, p->qkvw, p->qkvb, 1, C, 3 * C);
        be->kv_store(c->k[l], c->v[l], c->qkv, H, c->cap, pos, hd);
        be->attn_decode(c->att, c->qkv, c->k[l], c->v[l], H, c->cap, pos + 1, hd, scale);
        be->matmul(c->proj, c->att, p->projw, p->projb, 1, C, C);
        be->add(c->x, c->x, c->proj, (size_t)C); /* resid_mid */
        float *h = c->x;
        if (g->post_norm) {
            be->layernorm(c->xn, c->x2, c->mean, c->rstd, c->x, p->ln1w, p->ln1b, 1, C);
            be->copy(c->x, c->xn, sizeof(float) * (size_t)C);
        }
        if (g->mlp) {
            const float *min = h;
            if (!g->post_norm) {
                be->layernorm(c->xn, c->x2, c->mean, c->rstd, c->x, p->ln2w, p->ln2b, 1, C);
                min = c->xn;
            }
            be->matmul(c->fc, min, p->fcw, p->fcb, 1, C, 4 * C);
            (g->relu ? be->relu : be->gelu)(c->act, c->fc, (size_t)4 * C);
            be->matmul(c->mlp, c->act, p->fcprojw, p->fcprojb, 1, 4 * C, C);
            be->add(c->x, c->x, c->mlp, (size_t)C);
            if (g->post_norm) {
                be->layernorm(c->xn, c->x2, c->mean, c->rstd, c->x, p->ln2w, p->ln2b, 1, C);
                be->copy(c->x, c->xn, sizeof(float) * (size_t)C);
            }
        }
    }
    const float *hf = c->x;
    if (!g->post_norm) {
        be->layernorm(c->xn, c->x2, c->mean, c->rstd, c->x, m->p.lnfw, m->p.lnfb, 1, C);
        hf = c->xn;
    }
    if (!logits) return;
    be->matmul(c->logits, hf, g->tie ? m->p.wte : m->p.lm_head, NULL, 1, C, g->vocab);
    if (g->logit_scale) be->scale(c->logits, 1.0f / sqrtf((float)C), (size_t)g->vocab);
    be->download(logits, c->logits, sizeof(float) * (size_t)g->vocab);
}

int kv_forward(Model *m, KVCache *c, int token, float *logits, GrErr *e)
{
    if (token < 0 || token >= m->cfg.vocab)
        return gr_fail(e, "token id %d is outside the vocabulary (0..%d)", token, m->cfg.vocab - 1);
    if (c->len == c->cap) {
        /* Slide: keep the most recent half of the window and re-encode it at positions 0.. */
        int keep = c->cap / 2;
        memmove(c->tokens, c->tokens + c->len - keep, sizeof(int) * (size_t)keep);
        for (int i = 0; i < keep; i++) one_token(m, c, c->tokens[i], i, NULL);
        c->len = keep;
        c->slides++;
    }
    c->tokens[c->len] = token;
    one_token(m, c, token, c->len, logits);
    c->len++;
    return 0;
}

int nocache_forward(Model *m, const int *tokens, int n, float *logits, GrErr *e)
{
    Acts *a = acts_new(m, 1, n, e);
    if (!a) return -1;
    Forward f;
    if (acts_set_tokens(m, a, tokens, NULL, e) || fwd_init(&f, m, a, e)) {
        acts_free(m, a);
        return -1;
    }
    /* Stop before probs/loss: only the logits are needed. */
    while (f.next < f.nstages && strcmp(f.stages[f.next].name, "probs") != 0) fwd_step(&f);
    m->be->download(logits, a->logits + (size_t)(n - 1) * m->cfg.vocab, sizeof(float) * (size_t)m->cfg.vocab);
    fwd_free(&f);
    acts_free(m, a);
    return 0;
}
