/* forward.c — activations (the trace) and the forward pass as a list of stages.
 *
 * `run` executes every stage; `step` executes one. Training runs the same stages
 * with B > 1. There is no second "teaching" implementation that could drift. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- activations ---------------- */

typedef struct {
    Acts *a;
    size_t off;           /* floats so far */
    int pass;             /* 0: count, 1: assign */
    float *base;
    int n, cap;
} ActBuilder;

/* Reserves `per_batch * B` floats; names it in the trace when name != NULL. */
static float *ab_take(ActBuilder *b, const char *name, int ndim, const int *shape, const char *dims)
{
    size_t per = 1;
    for (int i = 0; i < ndim; i++) per *= (size_t)shape[i];
    size_t n = per * (size_t)b->a->B;
    n = (n + 15) & ~(size_t)15; /* 64-byte alignment for every buffer */
    float *p = b->pass ? b->base + b->off : NULL;
    if (b->pass && name) {
        TraceEntry *t = &b->a->entries[b->a->nentries++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", name);
        t->data = p;
        t->ndim = ndim;
        for (int i = 0; i < ndim; i++) {
            t->shape[i] = shape[i];
            t->dimname[i] = dims[i];
        }
        t->per_batch = per;
    }
    if (!b->pass && name) b->n++;
    b->off += n;
    return p;
}

static void acts_layout(ActBuilder *b, const GptConfig *c)
{
    Acts *a = b->a;
    int T = a->T, C = c->d, H = c->n_head, hd = C / H, V = c->vocab;
    int tc[2] = {T, C}, t3c[2] = {T, 3 * C}, t4c[2] = {T, 4 * C}, htd[3] = {H, T, hd}, htt[3] = {H, T, T};
    int t1[1] = {T}, tv[2] = {T, V};
    char nm[64];
    a->embed = ab_take(b, "embed", 2, tc, "tc");
    for (int l = 0; l < c->n_layer; l++) {
        LayerActs *la = b->pass ? &a->layer[l] : &(LayerActs){0};
#define NM(s) (snprintf(nm, sizeof nm, "L%d." s, l), nm)
        la->ln1_xhat = ab_take(b, NM("ln1.xhat"), 2, tc, "tc");
        la->ln1 = ab_take(b, NM("ln1"), 2, tc, "tc");
        la->ln1_mean = ab_take(b, NULL, 1, t1, "t");
        la->ln1_rstd = ab_take(b, NULL, 1, t1, "t");
        la->qkv = ab_take(b, NM("qkv"), 2, t3c, "tc");
        la->q = ab_take(b, NM("q"), 3, htd, "htc");
        la->k = ab_take(b, NM("k"), 3, htd, "htc");
        la->v = ab_take(b, NM("v"), 3, htd, "htc");
        la->scores = ab_take(b, NM("scores"), 3, htt, "hts");
        la->masked = ab_take(b, NM("masked"), 3, htt, "hts");
        la->pattern = ab_take(b, NM("pattern"), 3, htt, "hts");
        la->ctx = ab_take(b, NM("ctx"), 2, tc, "tc");
        la->attn = ab_take(b, NM("attn"), 2, tc, "tc");
        la->resid_mid = ab_take(b, NM("resid_mid"), 2, tc, "tc");
        if (c->mlp) {
            la->ln2_xhat = ab_take(b, NM("ln2.xhat"), 2, tc, "tc");
            la->ln2 = ab_take(b, NM("ln2"), 2, tc, "tc");
            la->ln2_mean = ab_take(b, NULL, 1, t1, "t");
            la->ln2_rstd = ab_take(b, NULL, 1, t1, "t");
            la->fc = ab_take(b, NM("fc"), 2, t4c, "tc");
            la->act = ab_take(b, c->relu ? NM("relu") : NM("gelu"), 2, t4c, "tc");
            la->mlp = ab_take(b, NM("mlp"), 2, tc, "tc");
            la->resid = ab_take(b, NM("resid"), 2, tc, "tc");
        }
#undef NM
    }
    if (!c->post_norm) {
        a->lnf_xhat = ab_take(b, "lnf.xhat", 2, tc, "tc");
        a->lnf = ab_take(b, "lnf", 2, tc, "tc");
        a->lnf_mean = ab_take(b, NULL, 1, t1, "t");
        a->lnf_rstd = ab_take(b, NULL, 1, t1, "t");
    }
    a->logits = ab_take(b, "logits", 2, tv, "tv");
    a->probs = ab_take(b, "probs", 2, tv, "tv");
    a->losses = ab_take(b, NULL, 1, t1, "t");
}

size_t acts_bytes(const GptConfig *c, int B, int T)
{
    Acts a = {.B = B, .T = T};
    ActBuilder b = {.a = &a};
    acts_layout(&b, c);
    return b.off * sizeof(float);
}

Acts *acts_new(const Model *m, int B, int T, GrErr *e)
{
    const GptConfig *c = &m->cfg;
    if (T < 1 || T > c->ctx) {
        gr_fail(e, "%d tokens do not fit: the model's context is %d", T, c->ctx);
        return NULL;
    }
    Acts *a = calloc(1, sizeof *a);
    if (!a) { gr_fail(e, "out of memory"); return NULL; }
    a->B = B;
    a->T = T;
    a->loss = NAN;
    ActBuilder b = {.a = a};
    acts_layout(&b, c);
    a->bytes = b.off * sizeof(float);
    double avail = (double)model_mem_available();
    if (m->be == &backend_cpu && (double)a->bytes > 0.7 * avail) {
        gr_fail(e, "the trace for %d tokens needs %.1f GB; the machine has %.1f GB", T, a->bytes / 1e9, avail / 1e9);
        free(a);
        return NULL;
    }
    a->layer = calloc((size_t)c->n_layer, sizeof(LayerActs));
    a->entries = calloc((size_t)b.n, sizeof(TraceEntry));
    a->tokens_host = calloc((size_t)B * T, sizeof(int));
    a->targets_host = calloc((size_t)B * T, sizeof(int));
    a->block = m->be->alloc(a->bytes);
    a->tokens = m->be->alloc((size_t)B * T * sizeof(int));
    a->targets = m->be->alloc((size_t)B * T * sizeof(int));
    if (!a->layer || !a->entries || !a->tokens_host || !a->targets_host || !a->block || !a->tokens || !a->targets) {
        gr_fail(e, "out of memory: the activations for %d×%d tokens need %.1f MB on %s", B, T, a->bytes / 1e6,
                m->be->name);
        acts_free(m, a);
        return NULL;
    }
    m->be->zero(a->block, a->bytes);
    ActBuilder b2 = {.a = a, .pass = 1, .base = a->block};
    acts_layout(&b2, c);
    return a;
}

void acts_free(const Model *m, Acts *a)
{
    if (!a) return;
    if (a->block) m->be->free(a->block);
    if (a->tokens) m->be->free(a->tokens);
    if (a->targets) m->be->free(a->targets);
    free(a->tokens_host);
    free(a->targets_host);
    free(a->layer);
    free(a->entries);
    free(a);
}

const TraceEntry *acts_find(const Acts *a, const char *name)
{
    for (int i = 0; i < a->nentries; i++)
        if (!strcmp(a->entries[i].name, name)) return &a->entries[i];
    return NULL;
}

int acts_set_tokens(const Model *m, Acts *a, const int *tokens, const int *targets, GrErr *e)
{
    size_t n = (size_t)a->B * a->T;
    for (size_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= m->cfg.vocab)
            return gr_fail(e, "token id %d is outside the vocabulary (0..%d)", tokens[i], m->cfg.vocab - 1);
        if (targets && targets[i] >= m->cfg.vocab)
            return gr_fail(e, "target id %d is outside the vocabulary (0..%d)", targets[i], m->cfg.vocab - 1);
    }
    memcpy(a->tokens_host, tokens, n * sizeof(int));
    if (targets) {
        memcpy(a->targets_host, targets, n * sizeof(int));
    } else {
        /* The input's own next tokens; the last position has none. */
        for (int b = 0; b < a->B; b++)
            for (int t = 0; t < a->T; t++) {
                size_t i = (size_t)b * a->T + t;
                a->targets_host[i] = t + 1 < a->T ? tokens[i + 1] : -1;
            }
    }
    m->be->upload(a->tokens, a->tokens_host, n * sizeof(int));
    m->be->upload(a->targets, a->targets_host, n * sizeof(int));
    a->n_targets = 0;
    for (size_t i = 0; i < n; i++) a->n_targets += a->targets_host[i] >= 0;
    a->loss = NAN;
    return 0;
}

/* ---------------- stages ---------------- */

#define CTX                                                                                       \
    Model *m = f->m;                                                                              \
    Acts *a = f->a;                                                                               \
    const Backend *be = m->be;                                                                    \
    const GptConfig *c = &m->cfg;                                                                 \
    int B = a->B, T = a->T, C = c->d, H = c->n_head, hd = C / H, N = B * T;                       \
    (void)be; (void)B; (void)T; (void)C; (void)H; (void)hd; (void)N

/* The residual stream entering layer l. */
static float *layer_in(const Model *m, const Acts *a, int l)
{
    if (l == 0) return a->embed;
    const LayerActs *p = &a->layer[l - 1];
    if (!m->cfg.post_norm) return m->cfg.mlp ? p->resid : p->resid_mid;
    return m->cfg.mlp ? p->ln2 : p->ln1;
}

static float *final_hidden(const Model *m, const Acts *a)
{
    return m->cfg.post_norm ? layer_in(m, a, m->cfg.n_layer) : a->lnf;
}

static void st_embed(Forward *f, int l)
{
    CTX;
    be->encoder(a->embed, a->tokens, m->p.wte, c->pos ? m->p.wpe : NULL, N, T, C);
}

static void st_ln1(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    const float *x = c->post_norm ? la->resid_mid : layer_in(m, a, l);
    be->layernorm(la->ln1, la->ln1_xhat, la->ln1_mean, la->ln1_rstd, x, m->p.layer[l].ln1w, m->p.layer[l].ln1b, N, C);
}

static void st_qkv(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    const float *x = c->post_norm ? layer_in(m, a, l) : la->ln1;
    be->matmul(la->qkv, x, m->p.layer[l].qkvw, m->p.layer[l].qkvb, N, C, 3 * C);
    be->qkv_split(la->q, la->k, la->v, la->qkv, B, T, H, hd);
}

static void st_scores(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    be->attn_scores(la->scores, la->q, la->k, B * H, T, hd);
}

static void st_masked(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    be->attn_mask(la->masked, la->scores, 1.0f / sqrtf((float)hd), B * H, T);
}

static void st_pattern(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    be->attn_softmax(la->pattern, la->masked, B * H, T);
}

static void st_ctx(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    be->attn_apply(la->ctx, la->pattern, la->v, B, H, T, hd);
}

static void st_attn(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    be->matmul(la->attn, la->ctx, m->p.layer[l].projw, m->p.layer[l].projb, N, C, C);
}

static void st_resid_mid(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    be->add(la->resid_mid, layer_in(m, a, l), la->attn, (size_t)N * C);
}

static void st_ln2(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    const float *x = c->post_norm ? la->resid : la->resid_mid;
    be->layernorm(la->ln2, la->ln2_xhat, la->ln2_mean, la->ln2_rstd, x, m->p.layer[l].ln2w, m->p.layer[l].ln2b, N, C);
}

static void st_fc(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    const float *x = c->post_norm ? la->ln1 : la->ln2;
    be->matmul(la->fc, x, m->p.layer[l].fcw, m->p.layer[l].fcb, N, C, 4 * C);
}

static void st_act(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    (c->relu ? be->relu : be->gelu)(la->act, la->fc, (size_t)N * 4 * C);
}

static void st_mlp(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    be->matmul(la->mlp, la->act, m->p.layer[l].fcprojw, m->p.layer[l].fcprojb, N, 4 * C, C);
}

static void st_resid(Forward *f, int l)
{
    CTX;
    LayerActs *la = &a->layer[l];
    be->add(la->resid, c->post_norm ? la->ln1 : la->resid_mid, la->mlp, (size_t)N * C);
}

static void st_lnf(Forward *f, int l)
{
    CTX;
    be->layernorm(a->lnf, a->lnf_xhat, a->lnf_mean, a->lnf_rstd, layer_in(m, a, c->n_layer), m->p.lnfw, m->p.lnfb,
                  N, C);
}

static void st_logits(Forward *f, int l)
{
    CTX;
    const float *w = c->tie ? m->p.wte : m->p.lm_head;
    be->matmul(a->logits, final_hidden(m, a), w, NULL, N, C, c->vocab);
    if (c->logit_scale) be->scale(a->logits, 1.0f / sqrtf((float)C), (size_t)N * c->vocab);
}

static void st_probs(Forward *f, int l)
{
    CTX;
    be->softmax(a->probs, a->logits, N, c->vocab);
}

static void st_loss(Forward *f, int l)
{
    CTX;
    be->crossentropy(a->losses, a->probs, a->targets, N, c->vocab);
    if (a->n_targets == 0) {
        a->loss = NAN;
        return;
    }
    float *host = malloc(sizeof(float) * (size_t)N);
    if (!host) { a->loss = NAN; return; }
    be->download(host, a->losses, sizeof(float) * (size_t)N);
    double s = 0;
    for (int i = 0; i < N; i++) s += host[i];
    free(host);
    a->loss = (float)(s / a->n_targets);
}

/* ---------------- the stage list ---------------- */

static void add_stage(Stage *s, int *n, const char *name, int layer, StageFn fn, const char *o1, const char *o2,
                      const char *o3)
{
    Stage *st = &s[(*n)++];
    memset(st, 0, sizeof *st);
    if (layer >= 0) snprintf(st->name, sizeof st->name, "L%d.%s", layer, name);
    else snprintf(st->name, sizeof st->name, "%s", name);
    st->layer = layer;
    st->fn = fn;
    const char *outs[3] = {o1, o2, o3};
    for (int i = 0; i < 3; i++) {
        if (!outs[i]) continue;
        if (layer >= 0) snprintf(st->outputs[st->nout++], 32, "L%d.%s", layer, outs[i]);
        else snprintf(st->outputs[st->nout++], 32, "%s", outs[i]);
    }
}

int fwd_init(Forward *f, Model *m, Acts *a, GrErr *e)
{
    const GptConfig *c = &m->cfg;
    memset(f, 0, sizeof *f);
    f->m = m;
    f->a = a;
    f->stages = calloc((size_t)(c->n_layer * 16 + 8), sizeof(Stage));
    if (!f->stages) return gr_fail(e, "out of memory");
    Stage *s = f->stages;
    int n = 0;
    const char *act = c->relu ? "relu" : "gelu";
    add_stage(s, &n, "embed", -1, st_embed, "embed", NULL, NULL);
    for (int l = 0; l < c->n_layer; l++) {
        if (!c->post_norm) add_stage(s, &n, "ln1", l, st_ln1, "ln1", "ln1.xhat", NULL);
        add_stage(s, &n, "qkv", l, st_qkv, "q", "k", "v");
        add_stage(s, &n, "scores", l, st_scores, "scores", NULL, NULL);
        add_stage(s, &n, "masked", l, st_masked, "masked", NULL, NULL);
        add_stage(s, &n, "pattern", l, st_pattern, "pattern", NULL, NULL);
        add_stage(s, &n, "ctx", l, st_ctx, "ctx", NULL, NULL);
        add_stage(s, &n, "attn", l, st_attn, "attn", NULL, NULL);
        add_stage(s, &n, "resid_mid", l, st_resid_mid, "resid_mid", NULL, NULL);
        if (c->post_norm) add_stage(s, &n, "ln1", l, st_ln1, "ln1", "ln1.xhat", NULL);
        if (c->mlp) {
            if (!c->post_norm) add_stage(s, &n, "ln2", l, st_ln2, "ln2", "ln2.xhat", NULL);
            add_stage(s, &n, "fc", l, st_fc, "fc", NULL, NULL);
            add_stage(s, &n, act, l, st_act, act, NULL, NULL);
            add_stage(s, &n, "mlp", l, st_mlp, "mlp", NULL, NULL);
            add_stage(s, &n, "resid", l, st_resid, "resid", NULL, NULL);
            if (c->post_norm) add_stage(s, &n, "ln2", l, st_ln2, "ln2", "ln2.xhat", NULL);
        }
    }
    if (!c->post_norm) add_stage(s, &n, "lnf", -1, st_lnf, "lnf", "lnf.xhat", NULL);
    add_stage(s, &n, "logits", -1, st_logits, "logits", NULL, NULL);
    add_stage(s, &n, "probs", -1, st_probs, "probs", NULL, NULL);
    add_stage(s, &n, "loss", -1, st_loss, NULL, NULL, NULL);
    f->nstages = n;
    return 0;
}

void fwd_free(Forward *f)
{
    free(f->stages);
    f->stages = NULL;
}

/* Index of the stage that writes trace entry `name`, or -1. */
static int stage_of(const Forward *f, const char *name)
{
    for (int i = 0; i < f->nstages; i++)
        for (int j = 0; j < f->stages[i].nout; j++)
            if (!strcmp(f->stages[i].outputs[j], name)) return i;
    return -1;
}

/* Rows of T within groups: (T, X) → B groups; (H, T, X) → B·H groups. */
static void entry_groups(const TraceEntry *t, int B, int *groups, int *rows, int *cols)
{
    if (t->ndim == 3) {
        *groups = B * t->shape[0];
        *rows = t->shape[1];
        *cols = t->shape[2];
    } else if (t->ndim == 2) {
        *groups = B;
        *rows = t->shape[0];
        *cols = t->shape[1];
    } else {
        *groups = B;
        *rows = t->shape[0];
        *cols = 1;
    }
}

static void apply_ablation(Forward *f, const Ablation *ab)
{
    Model *m = f->m;
    Acts *a = f->a;
    const Backend *be = m->be;
    const TraceEntry *t = acts_find(a, ab->target);
    if (!t) return;
    size_t n = t->per_batch * (size_t)a->B;
    int g, r, cols;
    switch (ab->mode) {
    case ABL_ZERO:
        be->zero(t->data, n * sizeof(float));
        break;
    case ABL_MEAN:
        entry_groups(t, a->B, &g, &r, &cols);
        be->mean_rows(t->data, g, r, cols);
        break;
    case ABL_COPY: {
        const TraceEntry *o = acts_find(a, ab->other);
        if (o && o->per_batch == t->per_batch) be->copy(t->data, o->data, n * sizeof(float));
        break;
    }
    case ABL_IDENTITY: {
        /* q, k or v replaced by the projection's input itself (W = I, b = 0), split into heads. */
        int l = atoi(ab->target + 1);
        const float *x = m->cfg.post_norm ? layer_in(m, a, l) : a->layer[l].ln1;
        int H = m->cfg.n_head;
        be->split_heads(t->data, x, a->B, a->T, H, m->cfg.d / H);
        break;
    }
    }
}

int fwd_check_ablation(const Model *m, const Acts *a, const Ablation *ab, GrErr *e)
{
    const TraceEntry *t = acts_find(a, ab->target);
    if (!t) return gr_fail(e, "unknown trace tensor '%s' (ablate works on tensors of the forward pass, e.g. L0.q)",
                           ab->target);
    if (ab->mode == ABL_IDENTITY) {
        const char *dot = strchr(ab->target, '.');
        if (ab->target[0] != 'L' || !dot || (strcmp(dot, ".q") && strcmp(dot, ".k") && strcmp(dot, ".v")))
            return gr_fail(e, "identity ablation applies to L*.q, L*.k or L*.v, not '%s'", ab->target);
    }
    if (ab->mode == ABL_COPY) {
        const TraceEntry *o = acts_find(a, ab->other);
        if (!o) return gr_fail(e, "unknown trace tensor '%s' to copy from", ab->other);
        if (o->per_batch != t->per_batch || o->ndim != t->ndim)
            return gr_fail(e, "cannot copy '%s' into '%s': shapes differ", ab->other, ab->target);
        Forward tmp = {0};
        GrErr ignore;
        if (fwd_init(&tmp, (Model *)m, (Acts *)a, &ignore) == 0) {
            int so = stage_of(&tmp, ab->other), st = stage_of(&tmp, ab->target);
            fwd_free(&tmp);
            if (so > st)
                return gr_fail(e, "cannot copy '%s' into '%s': it is computed later in the forward pass", ab->other,
                               ab->target);
        }
    }
    return 0;
}

int fwd_step(Forward *f)
{
    if (f->next >= f->nstages) return -1;
    int i = f->next++;
    Stage *s = &f->stages[i];
    s->fn(f, s->layer);
    for (int k = 0; k < f->nabl; k++)
        for (int j = 0; j < s->nout; j++)
            if (!strcmp(f->abl[k].target, s->outputs[j])) apply_ablation(f, &f->abl[k]);
    return i;
}

void fwd_run(Forward *f)
{
    while (fwd_step(f) >= 0) {
    }
}
