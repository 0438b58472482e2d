/* model.c — the parameter table, layout, init, moving between backends. */
#include "model.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---------------- the parameter table ---------------- */

/* Sizes a table row can have. */
typedef enum { PD_1, PD_C, PD_3C, PD_4C, PD_V, PD_CTX } ParamDim;
/* How a row is initialised (GPT-2, core/README.md). */
enum { PI_ZERO, PI_ONE, PI_NORMAL, PI_RESID };

typedef struct {
    const char *name;   /* "wte", or the suffix after "L{l}." */
    int per_layer;
    size_t field;       /* offsetof(ParamPtrs, ...) or offsetof(LayerParams, ...) */
    ParamDim rows, cols;/* cols PD_1: a vector */
    int group;          /* PG_* */
    unsigned when;      /* W_* bits the config must have */
    int init;           /* PI_* */
    int mm;             /* MM_*: does a matrix product read it (the weights `set precision` stores) */
} ParamDef;

/* Read by a matrix product: never (a lookup, or a vector), always, or when the embedding
 * is tied (wte is then the unembedding too). */
enum { MM_NO, MM_YES, MM_TIED };

#define G(nm, f, r, c, g, w, i, mm) {nm, 0, offsetof(ParamPtrs, f), r, c, g, w, i, mm}
#define L(nm, f, r, c, g, w, i, mm) {nm, 1, offsetof(LayerParams, f), r, c, g, w, i, mm}
/* Every parameter, in buffer order. The model-level rows before the first per-layer row
 * come before the blocks, the others after them. */
static const ParamDef PARAMS[] = {
    G("wte", wte, PD_V, PD_C, PG_EMBED, 0, PI_NORMAL, MM_TIED),
    G("wpe", wpe, PD_CTX, PD_C, PG_EMBED, W_POS, PI_NORMAL, MM_NO),
    L("ln1.w", ln1w, PD_C, PD_1, PG_LN, 0, PI_ONE, MM_NO),
    L("ln1.b", ln1b, PD_C, PD_1, PG_LN, 0, PI_ZERO, MM_NO),
    L("attn.qkv.w", qkvw, PD_3C, PD_C, PG_ATTN, 0, PI_NORMAL, MM_YES),
    L("attn.qkv.b", qkvb, PD_3C, PD_1, PG_ATTN, 0, PI_ZERO, MM_NO),
    L("attn.proj.w", projw, PD_C, PD_C, PG_ATTN, 0, PI_RESID, MM_YES),
    L("attn.proj.b", projb, PD_C, PD_1, PG_ATTN, 0, PI_ZERO, MM_NO),
    L("ln2.w", ln2w, PD_C, PD_1, PG_LN, W_MLP, PI_ONE, MM_NO),
    L("ln2.b", ln2b, PD_C, PD_1, PG_LN, W_MLP, PI_ZERO, MM_NO),
    L("mlp.fc.w", fcw, PD_4C, PD_C, PG_MLP, W_MLP, PI_NORMAL, MM_YES),
    L("mlp.fc.b", fcb, PD_4C, PD_1, PG_MLP, W_MLP, PI_ZERO, MM_NO),
    L("mlp.proj.w", fcprojw, PD_C, PD_4C, PG_MLP, W_MLP, PI_RESID, MM_YES),
    L("mlp.proj.b", fcprojb, PD_C, PD_1, PG_MLP, W_MLP, PI_ZERO, MM_NO),
    G("lnf.w", lnfw, PD_C, PD_1, PG_LN, W_PRE, PI_ONE, MM_NO),
    G("lnf.b", lnfb, PD_C, PD_1, PG_LN, W_PRE, PI_ZERO, MM_NO),
    G("lm_head.w", lm_head, PD_V, PD_C, PG_HEAD, W_UNTIED, PI_NORMAL, MM_YES),
};
#undef G
#undef L
#define NPARAMDEFS (int)(sizeof PARAMS / sizeof PARAMS[0])

static size_t dim_of(const GptConfig *c, ParamDim d)
{
    switch (d) {
    case PD_1: return 1;
    case PD_C: return (size_t)c->d;
    case PD_3C: return 3 * (size_t)c->d;
    case PD_4C: return 4 * (size_t)c->d;
    case PD_V: return (size_t)c->vocab;
    case PD_CTX: return (size_t)c->ctx;
    }
    return 0;
}

/* Calls fn for every parameter of c in buffer order: (def, layer or -1). */
typedef void (*ParamVisit)(void *ctx, const ParamDef *d, int layer);
static void visit_params(const GptConfig *c, ParamVisit fn, void *ctx)
{
    unsigned flags = cfg_flags(c);
    int first_layer = 0;
    while (first_layer < NPARAMDEFS && !PARAMS[first_layer].per_layer) first_layer++;
    for (int i = 0; i < NPARAMDEFS; i++) {
        const ParamDef *d = &PARAMS[i];
        if ((d->when & flags) != d->when) continue;
        if (!d->per_layer && i < first_layer) fn(ctx, d, -1);
    }
    for (int l = 0; l < c->n_layer; l++)
        for (int i = 0; i < NPARAMDEFS; i++)
            if (PARAMS[i].per_layer && (PARAMS[i].when & flags) == PARAMS[i].when) fn(ctx, &PARAMS[i], l);
    for (int i = first_layer; i < NPARAMDEFS; i++) {
        const ParamDef *d = &PARAMS[i];
        if (!d->per_layer && (d->when & flags) == d->when) fn(ctx, d, -1);
    }
}

static void count_one(void *ctx, const ParamDef *d, int layer)
{
    const GptConfig *c = ((const GptConfig **)ctx)[0];
    size_t *n = ((size_t **)ctx)[1];
    (void)layer;
    *n += dim_of(c, d->rows) * dim_of(c, d->cols);
}

size_t cfg_param_count(const GptConfig *c)
{
    size_t n = 0;
    const void *ctx[2] = {c, &n};
    visit_params(c, count_one, ctx);
    return n;
}

typedef struct {
    const GptConfig *c;
    ParamInfo *v;
    int n;
    size_t total;
} Layout;

static void lay_one(void *ctx, const ParamDef *d, int layer)
{
    Layout *l = ctx;
    ParamInfo *p = &l->v[l->n++];
    memset(p, 0, sizeof *p);
    if (layer >= 0) snprintf(p->name, sizeof p->name, "L%d.%s", layer, d->name);
    else snprintf(p->name, sizeof p->name, "%s", d->name);
    p->layer = layer;
    p->group = d->group;
    p->ndim = d->cols == PD_1 ? 1 : 2;
    p->shape[0] = (int)dim_of(l->c, d->rows);
    p->shape[1] = d->cols == PD_1 ? 0 : (int)dim_of(l->c, d->cols);
    p->numel = dim_of(l->c, d->rows) * dim_of(l->c, d->cols);
    p->offset = l->total;
    p->decay = p->ndim >= 2;
    p->init = d->init;
    p->matmul = d->mm == MM_YES || (d->mm == MM_TIED && l->c->tie);
    static const char letter[] = {[PD_V] = 'v', [PD_CTX] = 't'};
    p->dimname[0] = letter[d->rows];
    p->dimname[1] = p->ndim == 2 ? 'c' : 0;
    l->total += p->numel;
}

static void count_rows(void *ctx, const ParamDef *d, int layer)
{
    (void)d;
    (void)layer;
    (*(int *)ctx)++;
}

int model_layout(const GptConfig *c, ParamInfo **info, int *n, size_t *total, GrErr *e)
{
    if (cfg_validate(c, e)) return -1;
    int rows = 0;
    visit_params(c, count_rows, &rows);
    Layout l = {.c = c, .v = calloc((size_t)rows, sizeof(ParamInfo))};
    if (!l.v) return gr_fail(e, "out of memory");
    visit_params(c, lay_one, &l);
    *info = l.v;
    *n = l.n;
    *total = l.total;
    return 0;
}

const ParamInfo *model_find_param(const Model *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (!strcmp(m->info[i].name, name)) return &m->info[i];
    return NULL;
}

typedef struct {
    const Model *m;
    float *buf;
    ParamPtrs *ptrs;
    int i;
} Placing;

static void place_one(void *ctx, const ParamDef *d, int layer)
{
    Placing *pl = ctx;
    float *x = pl->buf + pl->m->info[pl->i++].offset;
    char *base = layer >= 0 ? (char *)&pl->ptrs->layer[layer] : (char *)pl->ptrs;
    *(float **)(base + d->field) = x;
}

void model_param_ptrs(const Model *m, float *buf, ParamPtrs *ptrs)
{
    LayerParams *layers = ptrs->layer;
    memset(ptrs, 0, sizeof *ptrs);
    memset(layers, 0, sizeof(LayerParams) * (size_t)m->cfg.n_layer);
    ptrs->layer = layers;
    Placing pl = {m, buf, ptrs, 0};
    visit_params(&m->cfg, place_one, &pl);
}

Model *model_new(const GptConfig *c, const Backend *be, GrErr *e)
{
    Model *m = calloc(1, sizeof *m);
    if (!m) { gr_fail(e, "out of memory"); return NULL; }
    m->cfg = *c;
    m->be = be;
    if (model_layout(c, &m->info, &m->nparams, &m->total, e)) { free(m); return NULL; }
    m->p.layer = calloc((size_t)c->n_layer, sizeof(LayerParams));
    m->g.layer = calloc((size_t)c->n_layer, sizeof(LayerParams));
    m->params = be->alloc(m->total * sizeof(float));
    if (!m->params || !m->p.layer || !m->g.layer) {
        gr_fail(e, "out of memory: the parameters need %.1f MB on %s", m->total * 4.0 / 1e6, be->name);
        model_free(m);
        return NULL;
    }
    be->zero(m->params, m->total * sizeof(float));
    model_param_ptrs(m, m->params, &m->p);
    return m;
}

void model_free(Model *m)
{
    if (!m) return;
    model_set_precision(m, PREC_FP32, NULL); /* frees the copies */
    const Backend *be = m->be;
    if (m->params) be->free(m->params);
    if (m->grads) be->free(m->grads);
    if (m->m) be->free(m->m);
    if (m->v) be->free(m->v);
    free(m->p.layer);
    free(m->g.layer);
    free(m->info);
    free(m->hist.loss);
    free(m->hist.val);
    free(m);
}

static int grow(float **a, int *cap, int need)
{
    if (need <= *cap) return 0;
    int c = *cap ? 2 * *cap : 256;
    while (c < need) c *= 2;
    float *na = realloc(*a, sizeof(float) * (size_t)c);
    if (!na) return -1;
    *a = na;
    *cap = c;
    return 0;
}

int model_hist_loss(Model *m, float loss)
{
    LossHistory *h = &m->hist;
    if (h->n == 0) h->step0 = m->step - 1;
    if (h->n == INT32_MAX / 2 || grow(&h->loss, &h->cap, h->n + 1)) return -1;
    h->loss[h->n++] = loss;
    return 0;
}

int model_hist_val(Model *m, long step, float val)
{
    LossHistory *h = &m->hist;
    if (h->nval == INT32_MAX / 4 || grow(&h->val, &h->vcap, 2 * (h->nval + 1))) return -1;
    h->val[2 * h->nval] = (float)step;
    h->val[2 * h->nval + 1] = val;
    h->nval++;
    return 0;
}

void model_init_random(Model *m, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed);
    /* On the CPU the parameters are host memory: draw straight into them (no second copy,
     * so a model that fits in memory always gets its init). */
    float *host = m->be == &backend_cpu ? m->params : malloc(m->total * sizeof(float));
    if (!host) return;
    float resid_std = 0.02f / sqrtf(2.0f * (float)m->cfg.n_layer);
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *p = &m->info[i];
        float *x = host + p->offset;
        if (p->init == PI_ZERO || p->init == PI_ONE) {
            for (size_t j = 0; j < p->numel; j++) x[j] = p->init == PI_ONE ? 1.0f : 0.0f;
            continue;
        }
        float sd = p->init == PI_RESID ? resid_std : 0.02f;
        /* Box–Muller gives two normals per (log, sqrt, cos/sin): use both. */
        size_t j = 0;
        for (; j + 1 < p->numel; j += 2) {
            double a, b;
            rng_normal2(&r, &a, &b);
            x[j] = (float)(sd * a);
            x[j + 1] = (float)(sd * b);
        }
        if (j < p->numel) x[j] = (float)(sd * rng_normal(&r));
    }
    if (host != m->params) {
        m->be->upload(m->params, host, m->total * sizeof(float));
        free(host);
    }
    m->step = 0;
}

static float *move_buf(float *src, const Backend *from, const Backend *to, size_t n, int *fail)
{
    if (!src) return NULL;
    float *host = malloc(n * sizeof(float));
    float *dst = to->alloc(n * sizeof(float));
    if (!host || !dst) {
        free(host);
        if (dst) to->free(dst);
        *fail = 1;
        return NULL;
    }
    from->download(host, src, n * sizeof(float));
    to->upload(dst, host, n * sizeof(float));
    free(host);
    return dst;
}

int model_to_backend(Model *m, const Backend *be, GrErr *e)
{
    if (be == m->be) return 0;
    int fail = 0;
    float *p = move_buf(m->params, m->be, be, m->total, &fail);
    float *g = move_buf(m->grads, m->be, be, m->total, &fail);
    float *mm = move_buf(m->m, m->be, be, m->total, &fail);
    float *vv = move_buf(m->v, m->be, be, m->total, &fail);
    if (fail) {
        /* Nothing changed: the model stays where it was. */
        if (p) be->free(p);
        if (g) be->free(g);
        if (mm) be->free(mm);
        if (vv) be->free(vv);
        return gr_fail(e, "out of memory moving the model to %s; it stays on %s", be->name, m->be->name);
    }
    const Backend *old = m->be;
    old->free(m->params);
    if (m->grads) old->free(m->grads);
    if (m->m) old->free(m->m);
    if (m->v) old->free(m->v);
    m->params = p;
    m->grads = g;
    m->m = mm;
    m->v = vv;
    m->be = be;
    if (!be->matmul_q) model_set_precision(m, PREC_FP32, NULL); /* its kernels are the CPU's */
    model_param_ptrs(m, m->params, &m->p);
    if (m->grads) model_param_ptrs(m, m->grads, &m->g);
    return 0;
}

int model_param_view(Model *m, const char *name, TensorView *out, GrErr *e)
{
    const ParamInfo *p = model_find_param(m, name);
    if (!p) return gr_fail(e, "unknown parameter '%s'", name);
    const float *data = m->params + p->offset;
    if (m->be != &backend_cpu) {
        /* A host mirror per model, refreshed on each call: parameters change when training. */
        static float *mirror;
        static size_t cap;
        if (cap < p->numel) {
            float *nm = realloc(mirror, p->numel * sizeof(float));
            if (!nm) return gr_fail(e, "out of memory reading '%s'", name);
            mirror = nm;
            cap = p->numel;
        }
        m->be->download(mirror, data, p->numel * sizeof(float));
        data = mirror;
    }
    int shape[2] = {p->shape[0], p->shape[1]};
    *out = tv_make(data, p->ndim, shape);
    if (p->ndim == 2) {
        out->dimname[0] = p->dimname[0];
        out->dimname[1] = p->dimname[1];
    }
    return 0;
}
