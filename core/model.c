/* model.c — config and presets, the parameter layout, init, moving between backends. */
#include "model.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---------------- config ---------------- */

typedef struct {
    const char *name;
    int L, H, d, ctx, V, mlp, tok;
} Preset;

static const Preset PRESETS[] = {
    {"gpt2", 12, 12, 768, 1024, 50257, 1, TOK_GPT2},
    {"gpt2-medium", 24, 16, 1024, 1024, 50257, 1, TOK_GPT2},
    {"gpt2-large", 36, 20, 1280, 1024, 50257, 1, TOK_GPT2},
    {"gpt2-xl", 48, 25, 1600, 1024, 50257, 1, TOK_GPT2},
    {"tiny", 4, 4, 128, 128, 96, 1, TOK_CHAR},       /* the default char vocabulary has 96 symbols */
    {"one-head", 1, 1, 64, 8, 50257, 0, TOK_GPT2},   /* the seeds' "Model 3" */
};
#define NPRESETS (int)(sizeof PRESETS / sizeof PRESETS[0])

const char *const *cfg_preset_names(void)
{
    static const char *names[NPRESETS + 1];
    for (int i = 0; i < NPRESETS; i++) names[i] = PRESETS[i].name;
    names[NPRESETS] = NULL;
    return names;
}

const char *const *cfg_keys(void)
{
    static const char *keys[] = {"layers", "heads", "d", "ctx", "vocab", "norm", "tie", "act",
                                 "pos", "mlp", "logit_scale", NULL};
    return keys;
}

int cfg_preset(GptConfig *c, const char *name, GrErr *e)
{
    for (int i = 0; i < NPRESETS; i++) {
        const Preset *p = &PRESETS[i];
        if (strcmp(p->name, name) != 0) continue;
        memset(c, 0, sizeof *c);
        snprintf(c->preset, sizeof c->preset, "%s", p->name);
        c->n_layer = p->L;
        c->n_head = p->H;
        c->d = p->d;
        c->ctx = p->ctx;
        c->vocab = p->V;
        c->tie = 1;
        c->pos = 1;
        c->mlp = p->mlp;
        c->tokenizer = p->tok;
        return 0;
    }
    StrBuf b;
    sb_init(&b);
    for (int i = 0; i < NPRESETS; i++) sb_printf(&b, "%s%s", i ? ", " : "", PRESETS[i].name);
    gr_fail(e, "unknown preset '%s' (presets: %s)", name, b.s);
    sb_free(&b);
    return -1;
}

static int parse_int(const char *key, const char *val, int *out, GrErr *e)
{
    char *end;
    long v = strtol(val, &end, 10);
    if (!*val || *end) return gr_fail(e, "%s=%s: expected a whole number", key, val);
    if (v <= 0 || v > 1000000000L) return gr_fail(e, "%s=%s: must be between 1 and 1000000000", key, val);
    *out = (int)v;
    return 0;
}

static int parse_choice(const char *key, const char *val, const char *a, const char *b, int *out, GrErr *e)
{
    if (strcmp(val, a) == 0) *out = 0;
    else if (strcmp(val, b) == 0) *out = 1;
    else return gr_fail(e, "%s=%s: expected %s or %s", key, val, a, b);
    return 0;
}

int cfg_set(GptConfig *c, const char *key, const char *val, GrErr *e)
{
    int on = 0;
    if (!strcmp(key, "layers")) return parse_int(key, val, &c->n_layer, e);
    if (!strcmp(key, "heads")) return parse_int(key, val, &c->n_head, e);
    if (!strcmp(key, "d")) return parse_int(key, val, &c->d, e);
    if (!strcmp(key, "ctx")) return parse_int(key, val, &c->ctx, e);
    if (!strcmp(key, "vocab")) {
        if (!strcmp(val, "chars")) { c->tokenizer = TOK_CHAR; c->vocab = 96; return 0; }
        if (!strcmp(val, "bytes")) { c->tokenizer = TOK_BYTE; c->vocab = 256; return 0; }
        if (!strcmp(val, "gpt2")) { c->tokenizer = TOK_GPT2; c->vocab = 50257; return 0; }
        if (parse_int(key, val, &c->vocab, e)) return -1;
        if (c->tokenizer == TOK_CHAR || (c->tokenizer == TOK_GPT2 && c->vocab != 50257)) c->tokenizer = TOK_BYTE;
        return 0;
    }
    if (!strcmp(key, "norm")) return parse_choice(key, val, "pre", "post", &c->post_norm, e);
    if (!strcmp(key, "act")) return parse_choice(key, val, "gelu", "relu", &c->relu, e);
    if (!strcmp(key, "tie")) {
        if (parse_choice(key, val, "off", "on", &on, e)) return -1;
        c->tie = on;
        return 0;
    }
    if (!strcmp(key, "pos")) {
        if (parse_choice(key, val, "none", "learned", &on, e)) return -1;
        c->pos = on;
        return 0;
    }
    if (!strcmp(key, "mlp")) {
        if (parse_choice(key, val, "off", "on", &on, e)) return -1;
        c->mlp = on;
        return 0;
    }
    if (!strcmp(key, "logit_scale")) {
        if (parse_choice(key, val, "off", "on", &on, e)) return -1;
        c->logit_scale = on;
        return 0;
    }
    return gr_fail(e, "unknown setting '%s' (known: layers heads d ctx vocab norm tie act pos mlp logit_scale)", key);
}

size_t model_mem_available(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || psz <= 0) return (size_t)8 << 30;
    return (size_t)pages * (size_t)psz;
}

size_t cfg_param_count(const GptConfig *c)
{
    size_t C = (size_t)c->d, V = (size_t)c->vocab, L = (size_t)c->n_layer;
    size_t per = 2 * C + 3 * C * C + 3 * C + C * C + C;
    if (c->mlp) per += 2 * C + 4 * C * C + 4 * C + 4 * C * C + C;
    size_t n = V * C + (c->pos ? (size_t)c->ctx * C : 0) + L * per;
    if (!c->post_norm) n += 2 * C;
    if (!c->tie) n += V * C;
    return n;
}

int cfg_validate(const GptConfig *c, GrErr *e)
{
    if (c->n_layer < 1) return gr_fail(e, "layers must be at least 1");
    if (c->n_head < 1) return gr_fail(e, "heads must be at least 1");
    if (c->d < 1 || c->ctx < 1 || c->vocab < 1) return gr_fail(e, "d, ctx and vocab must be at least 1");
    if (c->d % c->n_head) return gr_fail(e, "heads (%d) must divide d (%d)", c->n_head, c->d);
    if (c->tokenizer == TOK_BYTE && c->vocab < 2) return gr_fail(e, "vocab must be at least 2");
    if (c->n_layer > 4096 || c->n_head > 4096) return gr_fail(e, "layers and heads must be at most 4096");
    if (c->d > (1 << 20) || c->ctx > (1 << 20) || c->vocab > (1 << 24))
        return gr_fail(e, "d and ctx must be at most 1048576, vocab at most 16777216");
    /* Sizes are bounded above, so this product cannot overflow 64 bits. */
    double n = (double)c->vocab * c->d * (c->tie ? 1 : 2) + (double)c->ctx * c->d +
               (double)c->n_layer * (12.0 * c->d * c->d + 13.0 * c->d);
    double bytes = n * 4.0, avail = (double)model_mem_available();
    if (bytes > 0.8 * avail)
        return gr_fail(e, "this model needs %.1f GB for its parameters alone; the machine has %.1f GB",
                       bytes / 1e9, avail / 1e9);
    return 0;
}

/* ---------------- parameter layout ---------------- */

typedef struct {
    ParamInfo *v;
    int n, cap;
    size_t total;
} Layout;

static void lay_add(Layout *l, const char *name, int layer, int group, int r, int c)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        ParamInfo *nv = realloc(l->v, sizeof(ParamInfo) * (size_t)l->cap);
        if (!nv) abort();
        l->v = nv;
    }
    ParamInfo *p = &l->v[l->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->layer = layer;
    p->group = group;
    p->ndim = c ? 2 : 1;
    p->shape[0] = r;
    p->shape[1] = c;
    p->numel = (size_t)r * (size_t)(c ? c : 1);
    p->offset = l->total;
    p->decay = p->ndim >= 2;
    l->total += p->numel;
}

int model_layout(const GptConfig *c, ParamInfo **info, int *n, size_t *total, GrErr *e)
{
    if (cfg_validate(c, e)) return -1;
    Layout l = {0};
    int C = c->d;
    char nm[32];
    lay_add(&l, "wte", -1, PG_EMBED, c->vocab, C);
    if (c->pos) lay_add(&l, "wpe", -1, PG_EMBED, c->ctx, C);
    for (int i = 0; i < c->n_layer; i++) {
#define ADD(suffix, group, r, cc) (snprintf(nm, sizeof nm, "L%d." suffix, i), lay_add(&l, nm, i, group, r, cc))
        ADD("ln1.w", PG_LN, C, 0);
        ADD("ln1.b", PG_LN, C, 0);
        ADD("attn.qkv.w", PG_ATTN, 3 * C, C);
        ADD("attn.qkv.b", PG_ATTN, 3 * C, 0);
        ADD("attn.proj.w", PG_ATTN, C, C);
        ADD("attn.proj.b", PG_ATTN, C, 0);
        if (c->mlp) {
            ADD("ln2.w", PG_LN, C, 0);
            ADD("ln2.b", PG_LN, C, 0);
            ADD("mlp.fc.w", PG_MLP, 4 * C, C);
            ADD("mlp.fc.b", PG_MLP, 4 * C, 0);
            ADD("mlp.proj.w", PG_MLP, C, 4 * C);
            ADD("mlp.proj.b", PG_MLP, C, 0);
        }
#undef ADD
    }
    if (!c->post_norm) {
        lay_add(&l, "lnf.w", -1, PG_LN, C, 0);
        lay_add(&l, "lnf.b", -1, PG_LN, C, 0);
    }
    if (!c->tie) lay_add(&l, "lm_head.w", -1, PG_HEAD, c->vocab, C);
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

void model_param_ptrs(const Model *m, float *buf, ParamPtrs *ptrs)
{
    LayerParams *layers = ptrs->layer;
    memset(ptrs, 0, sizeof *ptrs);
    memset(layers, 0, sizeof(LayerParams) * (size_t)m->cfg.n_layer);
    ptrs->layer = layers;
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *p = &m->info[i];
        float *x = buf + p->offset;
        const char *n = p->name;
        if (p->layer < 0) {
            if (!strcmp(n, "wte")) ptrs->wte = x;
            else if (!strcmp(n, "wpe")) ptrs->wpe = x;
            else if (!strcmp(n, "lnf.w")) ptrs->lnfw = x;
            else if (!strcmp(n, "lnf.b")) ptrs->lnfb = x;
            else if (!strcmp(n, "lm_head.w")) ptrs->lm_head = x;
            continue;
        }
        LayerParams *lp = &layers[p->layer];
        const char *s = strchr(n, '.') + 1;
        if (!strcmp(s, "ln1.w")) lp->ln1w = x;
        else if (!strcmp(s, "ln1.b")) lp->ln1b = x;
        else if (!strcmp(s, "attn.qkv.w")) lp->qkvw = x;
        else if (!strcmp(s, "attn.qkv.b")) lp->qkvb = x;
        else if (!strcmp(s, "attn.proj.w")) lp->projw = x;
        else if (!strcmp(s, "attn.proj.b")) lp->projb = x;
        else if (!strcmp(s, "ln2.w")) lp->ln2w = x;
        else if (!strcmp(s, "ln2.b")) lp->ln2b = x;
        else if (!strcmp(s, "mlp.fc.w")) lp->fcw = x;
        else if (!strcmp(s, "mlp.fc.b")) lp->fcb = x;
        else if (!strcmp(s, "mlp.proj.w")) lp->fcprojw = x;
        else if (!strcmp(s, "mlp.proj.b")) lp->fcprojb = x;
    }
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
    const Backend *be = m->be;
    if (m->params) be->free(m->params);
    if (m->grads) be->free(m->grads);
    if (m->m) be->free(m->m);
    if (m->v) be->free(m->v);
    free(m->p.layer);
    free(m->g.layer);
    free(m->info);
    free(m);
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
        const char *n = p->name;
        size_t len = strlen(n);
        int is_ln_gain = len > 2 && !strcmp(n + len - 2, ".w") && strstr(n, "ln");
        if (p->ndim == 1) {
            for (size_t j = 0; j < p->numel; j++) x[j] = is_ln_gain ? 1.0f : 0.0f;
        } else {
            float sd = (strstr(n, "attn.proj.w") || strstr(n, "mlp.proj.w")) ? resid_std : 0.02f;
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
        int is_vocab = !strcmp(name, "wte") || !strcmp(name, "lm_head.w");
        out->dimname[0] = is_vocab ? 'v' : (!strcmp(name, "wpe") ? 't' : 0);
        out->dimname[1] = 'c';
    }
    return 0;
}
