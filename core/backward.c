/* backward.c — backpropagation through the forward stages of core/stages.c.
 *
 * Only backend-table operations touch backend memory, so every backend that fills the
 * table (CPU, CUDA) trains with this same code. Activation gradients live in a
 * BackScratch sized for one (B, T); the trainer keeps one across steps. */
#include "backward.h"
#include "stages.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- training buffers ---------------- */

int model_alloc_train(Model *m, GrErr *e)
{
    const Backend *be = m->be;
    size_t bytes = m->total * sizeof(float);
    float **bufs[3] = {&m->grads, &m->m, &m->v};
    for (int i = 0; i < 3; i++) {
        if (*bufs[i]) continue;
        *bufs[i] = be->alloc(bytes);
        if (!*bufs[i])
            return gr_fail(e, "out of memory: training needs %.1f MB more on %s for gradients and AdamW moments",
                           3.0 * bytes / 1e6, be->name);
        be->zero(*bufs[i], bytes);
    }
    model_param_ptrs(m, m->grads, &m->g);
    return 0;
}

void model_zero_grad(Model *m)
{
    if (!m->grads && model_alloc_train(m, NULL)) return;
    m->be->zero(m->grads, m->total * sizeof(float));
}

/* ---------------- scratch ---------------- */

struct BackScratch {
    int B, T;
    size_t bytes;
    float *block;
    float *dres0, *dres1; /* gradient of the residual stream (two for Post-LN's ping-pong) */
    float *dln;           /* gradient of a LayerNorm output / matmul input (N, C) */
    float *dctx, *dq, *dk, *dv, *dqkv;
    float *dpat, *dsc;    /* (B, H, T, T) */
    float *dact, *dfc;    /* (N, 4C), mlp=on */
    float *dlogits;       /* (N, V) */
    float *dtmp;          /* (N, C): an ablated sublayer output's gradient, when it aliases the residual's */
};

/* Lays out (or counts, when base is NULL) the scratch buffers; returns floats. */
static size_t scratch_layout(const GptConfig *c, int B, int T, BackScratch *s, float *base)
{
    size_t N = (size_t)B * T, C = (size_t)c->d, off = 0;
    size_t att = (size_t)B * c->n_head * T * T;
#define TAKE(field, n)                                   \
    do {                                                 \
        if (s) s->field = base ? base + off : NULL;      \
        off += ((n) + 15) & ~(size_t)15;                 \
    } while (0)
    TAKE(dres0, N * C);
    TAKE(dres1, c->post_norm ? N * C : 0);
    TAKE(dln, N * C);
    TAKE(dctx, N * C);
    TAKE(dq, N * C);
    TAKE(dk, N * C);
    TAKE(dv, N * C);
    TAKE(dqkv, 3 * N * C);
    TAKE(dpat, att);
    TAKE(dsc, att);
    TAKE(dact, c->mlp ? 4 * N * C : 0);
    TAKE(dfc, c->mlp ? 4 * N * C : 0);
    TAKE(dlogits, N * (size_t)c->vocab);
    TAKE(dtmp, N * C);
#undef TAKE
    return off;
}

size_t back_scratch_bytes(const GptConfig *c, int B, int T)
{
    return scratch_layout(c, B, T, NULL, NULL) * sizeof(float);
}

BackScratch *back_scratch_new(const Model *m, int B, int T, GrErr *e)
{
    if (B < 1 || T < 1 || T > m->cfg.ctx) {
        gr_fail(e, "cannot backpropagate %d×%d tokens through a model with context %d", B, T, m->cfg.ctx);
        return NULL;
    }
    BackScratch *s = calloc(1, sizeof *s);
    if (!s) { gr_fail(e, "out of memory"); return NULL; }
    s->B = B;
    s->T = T;
    s->bytes = back_scratch_bytes(&m->cfg, B, T);
    double avail = (double)model_mem_available();
    if (m->be == &backend_cpu && (double)s->bytes > 0.7 * avail) {
        gr_fail(e, "backpropagating %d×%d tokens needs %.1f GB; the machine has %.1f GB", B, T, s->bytes / 1e9,
                avail / 1e9);
        free(s);
        return NULL;
    }
    s->block = m->be->alloc(s->bytes);
    if (!s->block) {
        gr_fail(e, "out of memory: backpropagating %d×%d tokens needs %.1f MB on %s", B, T, s->bytes / 1e6,
                m->be->name);
        free(s);
        return NULL;
    }
    scratch_layout(&m->cfg, B, T, s, s->block);
    return s;
}

void back_scratch_free(const Model *m, BackScratch *s)
{
    if (!s) return;
    if (s->block) m->be->free(s->block);
    free(s);
}

/* ---------------- the backward pass ---------------- */

/* The trace tensors one fused step of the backward pass goes over, and the gradient it
 * forms instead: these have no gradient of their own, and no ablation of them can be
 * differentiated (stages.c's abl_backward_ok asks here). */
static const char *const FUSED[][2] = {
    {"masked", "scores (softmax, mask and scale in one step)"}, {"ln1.xhat", "ln1"}, {"ln2.xhat", "ln2"},
    {"lnf.xhat", "lnf"}, {"probs", "logits (softmax and cross-entropy in one step)"}, {"losses", "logits"},
};

const char *backward_fused_into(const char *suffix)
{
    for (size_t k = 0; k < sizeof FUSED / sizeof FUSED[0]; k++)
        if (!strcmp(suffix, FUSED[k][0])) return FUSED[k][1];
    return NULL;
}

typedef struct {
    Model *m;
    Acts *a;
    BackScratch *s;
    const Backend *be;
    int B, T, C, H, hd, N;
    size_t NC;
    Acts *g; /* when not NULL: d(loss)/d(trace tensor) is copied into g's entry of that name */
} Bw;

/* d(name) (layer l, or -1) is in d: kept in w->g when asked for (the whole (B, T, ...)
 * buffer, so g's entry reads as the tensor's gradient), then passed back through the
 * ablations of that tensor in force. d is changed in place, unless alias (d is also the
 * residual stream's gradient): then the ablated gradient goes to tmp. Returns where it is. */
static float *through(Bw *w, const char *name, int l, float *d, int alias)
{
    if (!w->g && !w->a->nabl) return d; /* training: nothing to keep, nothing ablated */
    char full[48];
    if (l >= 0) snprintf(full, sizeof full, "L%d.%s", l, name);
    else snprintf(full, sizeof full, "%s", name);
    if (w->g) {
        TraceEntry *t = (TraceEntry *)acts_find(w->g, full);
        if (t) {
            w->be->copy(t->data, d, t->per_batch * (size_t)w->B * sizeof(float));
            t->stage = 0;
        }
    }
    float *out = d;
    for (int i = 0; i < w->a->nabl; i++) {
        const Ablation *ab = &w->a->abl[i];
        if (strcmp(ab->target, full)) continue;
        if (alias && out == d) {
            out = w->s->dtmp;
            w->be->copy(out, d, w->NC * sizeof(float));
        }
        abl_backward(w->a, ab, out);
    }
    return out;
}

static void keep(Bw *w, const char *name, int l, float *d) { (void)through(w, name, l, d, 0); }

/* Attention sublayer: dattn is d(L.attn); xin the qkv matmul's input; dxin += d(xin). */
static void attn_backward(Bw *w, int l, float *dattn, const float *xin, float *dxin)
{
    const Backend *be = w->be;
    BackScratch *s = w->s;
    const LayerActs *la = &w->a->layer[l];
    const LayerParams *P = &w->m->p.layer[l];
    LayerParams *G = &w->m->g.layer[l];
    int N = w->N, C = w->C, B = w->B, H = w->H, T = w->T, hd = w->hd;
    size_t nb = w->NC * sizeof(float);
    dattn = through(w, "attn", l, dattn, 1); /* dattn is also the residual stream's gradient */
    be->zero(s->dctx, nb);
    be->matmul_backward(s->dctx, G->projw, G->projb, dattn, la->ctx, P->projw, N, C, C);
    keep(w, "ctx", l, s->dctx);
    be->zero(s->dv, nb);
    be->attn_apply_backward(s->dpat, s->dv, s->dctx, la->pattern, la->v, B, H, T, hd);
    keep(w, "pattern", l, s->dpat);
    keep(w, "v", l, s->dv);
    be->attn_softmax_backward(s->dsc, s->dpat, la->pattern, 1.0f / sqrtf((float)hd), B * H, T);
    keep(w, "scores", l, s->dsc); /* through softmax, mask and scale at once */
    be->zero(s->dq, nb);
    be->zero(s->dk, nb);
    be->attn_scores_backward(s->dq, s->dk, s->dsc, la->q, la->k, B * H, T, hd);
    keep(w, "q", l, s->dq);
    keep(w, "k", l, s->dk);
    be->qkv_merge_backward(s->dqkv, s->dq, s->dk, s->dv, B, T, H, hd);
    keep(w, "qkv", l, s->dqkv);
    be->matmul_backward(dxin, G->qkvw, G->qkvb, s->dqkv, xin, P->qkvw, N, C, 3 * C);
}

/* MLP sublayer: dmlp is d(L.mlp); xin the fc matmul's input; dxin += d(xin).
 * dmlp may alias dxin: it is read only before dxin is written. */
static void mlp_backward(Bw *w, int l, float *dmlp, const float *xin, float *dxin)
{
    const Backend *be = w->be;
    BackScratch *s = w->s;
    const LayerActs *la = &w->a->layer[l];
    const LayerParams *P = &w->m->p.layer[l];
    LayerParams *G = &w->m->g.layer[l];
    int N = w->N, C = w->C;
    size_t n4 = 4 * w->NC;
    dmlp = through(w, "mlp", l, dmlp, 1);
    be->zero(s->dact, n4 * sizeof(float));
    be->matmul_backward(s->dact, G->fcprojw, G->fcprojb, dmlp, la->act, P->fcprojw, N, 4 * C, C);
    keep(w, w->m->cfg.relu ? "relu" : "gelu", l, s->dact);
    be->zero(s->dfc, n4 * sizeof(float));
    (w->m->cfg.relu ? be->relu_backward : be->gelu_backward)(s->dfc, la->fc, s->dact, n4);
    keep(w, "fc", l, s->dfc);
    be->matmul_backward(dxin, G->fcw, G->fcb, s->dfc, xin, P->fcw, N, C, 4 * C);
}

/* Pre-LN layer: d holds d(output) on entry and d(input) on exit. */
static void pre_layer_backward(Bw *w, int l, float *d)
{
    const Backend *be = w->be;
    BackScratch *s = w->s;
    const LayerActs *la = &w->a->layer[l];
    const LayerParams *P = &w->m->p.layer[l];
    LayerParams *G = &w->m->g.layer[l];
    size_t nb = w->NC * sizeof(float);
    if (w->m->cfg.mlp) {
        /* resid = resid_mid + mlp(LN2(resid_mid)) */
        keep(w, "resid", l, d);
        be->zero(s->dln, nb);
        mlp_backward(w, l, d, la->ln2, s->dln);
        keep(w, "ln2", l, s->dln);
        be->layernorm_backward(d, G->ln2w, G->ln2b, s->dln, la->ln2_xhat, la->ln2_rstd, P->ln2w, w->N, w->C);
    }
    /* resid_mid = x + attn(LN1(x)) */
    keep(w, "resid_mid", l, d);
    be->zero(s->dln, nb);
    attn_backward(w, l, d, la->ln1, s->dln);
    keep(w, "ln1", l, s->dln);
    be->layernorm_backward(d, G->ln1w, G->ln1b, s->dln, la->ln1_xhat, la->ln1_rstd, P->ln1w, w->N, w->C);
}

/* Post-LN layer: *d holds d(output) on entry; on exit *d holds d(input) (the two
 * residual buffers swap roles). */
static void post_layer_backward(Bw *w, int l, float **d, float **alt)
{
    const Backend *be = w->be;
    const LayerActs *la = &w->a->layer[l];
    const LayerParams *P = &w->m->p.layer[l];
    LayerParams *G = &w->m->g.layer[l];
    size_t nb = w->NC * sizeof(float);
    float *t;
    if (w->m->cfg.mlp) {
        /* output = LN2(resid), resid = ln1 + mlp(ln1) */
        keep(w, "ln2", l, *d);
        be->zero(*alt, nb);
        be->layernorm_backward(*alt, G->ln2w, G->ln2b, *d, la->ln2_xhat, la->ln2_rstd, P->ln2w, w->N, w->C);
        keep(w, "resid", l, *alt);
        mlp_backward(w, l, *alt, la->ln1, *alt); /* *alt: d(resid) → d(ln1) */
        t = *d; *d = *alt; *alt = t;
    }
    /* ln1 = LN1(resid_mid), resid_mid = x + attn(x) */
    keep(w, "ln1", l, *d);
    be->zero(*alt, nb);
    be->layernorm_backward(*alt, G->ln1w, G->ln1b, *d, la->ln1_xhat, la->ln1_rstd, P->ln1w, w->N, w->C);
    keep(w, "resid_mid", l, *alt);
    attn_backward(w, l, *alt, acts_block_in(w->a, l), *alt); /* *alt: d(resid_mid) → d(x) */
    t = *d; *d = *alt; *alt = t;
}

static int backward_impl(Model *m, Acts *a, BackScratch *s, float loss_scale, Acts *g, GrErr *e);

int model_backward_with(Model *m, Acts *a, BackScratch *s, float loss_scale, GrErr *e)
{
    return backward_impl(m, a, s, loss_scale, NULL, e);
}

static int backward_impl(Model *m, Acts *a, BackScratch *s, float loss_scale, Acts *g, GrErr *e)
{
    const GptConfig *c = &m->cfg;
    if (!m->grads && model_alloc_train(m, e)) return -1;
    if (!s || s->B != a->B || s->T != a->T)
        return gr_fail(e, "internal: backward scratch is for another batch shape");
    if (a->K != a->T || a->p0 != 0) return gr_fail(e, "internal: backward needs a whole run (K = T, p0 = 0)");
    if (a->n_targets <= 0) return gr_fail(e, "nothing to learn from: no position has a target token");
    for (int i = 0; i < a->nabl; i++)
        if (abl_backward_ok(&a->abl[i], e)) return -1;
    Bw w = {.m = m, .a = a, .s = s, .be = m->be, .B = a->B, .T = a->T, .C = c->d, .H = c->n_head, .g = g};
    w.hd = w.C / w.H;
    w.N = w.B * w.T;
    w.NC = (size_t)w.N * w.C;
    const Backend *be = m->be;
    int N = w.N, C = w.C, V = c->vocab;
    size_t nb = w.NC * sizeof(float);

    /* loss → logits (through softmax and cross-entropy, and the optional 1/√C) */
    be->crossentropy_softmax_backward(s->dlogits, a->probs, a->targets, loss_scale / (float)a->n_targets, N, V);
    keep(&w, "logits", -1, s->dlogits);
    if (c->logit_scale) be->scale(s->dlogits, 1.0f / sqrtf((float)C), (size_t)N * V);

    /* logits → final hidden state; W's gradient goes to wte when tied */
    const float *W = c->tie ? m->p.wte : m->p.lm_head;
    float *dW = c->tie ? m->g.wte : m->g.lm_head;
    float *d = s->dres0, *alt = s->dres1;
    if (!c->post_norm) {
        be->zero(s->dln, nb);
        be->matmul_backward(s->dln, dW, NULL, s->dlogits, a->lnf, W, N, C, V);
        keep(&w, "lnf", -1, s->dln);
        be->zero(d, nb);
        be->layernorm_backward(d, m->g.lnfw, m->g.lnfb, s->dln, a->lnf_xhat, a->lnf_rstd, m->p.lnfw, N, C);
    } else {
        be->zero(d, nb);
        be->matmul_backward(d, dW, NULL, s->dlogits, acts_block_in(a, c->n_layer), W, N, C, V);
    }

    for (int l = c->n_layer - 1; l >= 0; l--) {
        if (c->post_norm) post_layer_backward(&w, l, &d, &alt);
        else pre_layer_backward(&w, l, d);
    }
    keep(&w, "embed", -1, d);

    /* embed = wte[tok] + wpe[t] */
    be->encoder_backward(m->g.wte, c->pos ? m->g.wpe : NULL, d, a->tokens, N, w.T, C);
    return 0;
}

int model_backward_trace(Model *m, Acts *a, Acts *g, GrErr *e)
{
    if (!m->grads && model_alloc_train(m, e)) return -1;
    if (g->B != a->B || g->T != a->T || g->K != a->K) return gr_fail(e, "internal: gradient trace of another shape");
    for (int i = 0; i < g->nentries; i++) g->entries[i].stage = -1; /* nothing kept yet */
    g->next = 1;
    BackScratch *s = back_scratch_new(m, a->B, a->T, e);
    if (!s) return -1;
    int rc = backward_impl(m, a, s, 1.0f, g, e);
    back_scratch_free(m, s);
    return rc;
}

int model_backward(Model *m, Acts *a, GrErr *e)
{
    if (!m->grads && model_alloc_train(m, e)) return -1;
    BackScratch *s = back_scratch_new(m, a->B, a->T, e);
    if (!s) return -1;
    int rc = model_backward_with(m, a, s, 1.0f, e);
    back_scratch_free(m, s);
    return rc;
}
