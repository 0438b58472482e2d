/* trace.c — the trace table, and the activation buffers laid out from it. */
#include "trace.h"
#include "stages.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M(nm, f, sh, st, w, k, mean, eq) {nm, 0, offsetof(Acts, f), sh, st, w, k, 0, mean, eq, NULL}
#define L(nm, f, sh, st, w, k, mean, eq, eqp) {nm, 1, offsetof(LayerActs, f), sh, st, w, k, 0, mean, eq, eqp}
#define HIDDEN_M(nm, f, st, w) {nm, 0, offsetof(Acts, f), TS_T, st, w, TK_SIGNED, 1, NULL, NULL, NULL}
#define HIDDEN_L(nm, f, st, w) {nm, 1, offsetof(LayerActs, f), TS_T, st, w, TK_SIGNED, 1, NULL, NULL, NULL}

/* Every tensor of the forward pass, in forward order (Pre-LN order where Post-LN differs;
 * the stage list in stages.c decides when each is written). Model-level rows before the
 * first per-layer row come before the blocks, the rest after them. */
static const TraceDef DEFS[] = {
    M("embed", embed, TS_TC, "embed", 0, TK_SIGNED, "token embedding plus position embedding",
      "wte[tok[t]] + wpe[t]"),
    L("ln1.xhat", ln1_xhat, TS_TC, "ln1.xhat", 0, TK_SIGNED,
      "the block's input normalised per token: mean 0, variance 1 (before gain and bias)",
      "(x - mean(x)) / sqrt(var(x) + 1e-5), x = the block's input",
      "(x - mean(x)) / sqrt(var(x) + 1e-5), x = resid_mid"),
    HIDDEN_L("ln1.mean", ln1_mean, "ln1.xhat", 0),
    HIDDEN_L("ln1.rstd", ln1_rstd, "ln1.xhat", 0),
    L("ln1", ln1, TS_TC, "ln1", 0, TK_SIGNED, "LayerNorm's output: xhat scaled by the gain, shifted by the bias",
      "ln1.xhat * ln1.w + ln1.b", NULL),
    L("qkv", qkv, TS_T3C, "qkv", 0, TK_SIGNED,
      "queries, keys and values of every token side by side, from one projection",
      "ln1 · attn.qkv.wᵀ + attn.qkv.b", "x · attn.qkv.wᵀ + attn.qkv.b, x = the block's input"),
    L("q", q, TS_HTD, "heads", 0, TK_SIGNED, "queries split into heads: what each token looks for",
      "qkv[:, h*hd : (h+1)*hd] for head h", NULL),
    L("k", k, TS_HKD, "heads", 0, TK_SIGNED, "keys split into heads: what each token offers to be found by",
      "qkv[:, C + h*hd : C + (h+1)*hd] for head h", NULL),
    L("v", v, TS_HKD, "heads", 0, TK_SIGNED, "values split into heads: what each token passes on when attended to",
      "qkv[:, 2C + h*hd : 2C + (h+1)*hd] for head h", NULL),
    L("scores", scores, TS_HTK, "scores", 0, TK_SIGNED,
      "every query's dot product with every key, unscaled, the future included", "q · kᵀ", NULL),
    L("masked", masked, TS_HTK, "masked", 0, TK_MASKED, "scores scaled by 1/sqrt(hd), the future set to -inf",
      "scores / sqrt(hd) where j <= i, -inf where j > i", NULL),
    L("pattern", pattern, TS_HTK, "pattern", 0, TK_PROB,
      "attention weights: each row sums to 1 over the past and is exactly 0 over the future",
      "softmax of each row of masked", NULL),
    L("ctx", ctx, TS_TC, "ctx", 0, TK_SIGNED, "each head's weighted average of the values, heads side by side",
      "pattern · v, head h at columns h*hd", NULL),
    L("attn", attn, TS_TC, "attn", 0, TK_SIGNED, "the attention sublayer's output, projected back to width C",
      "ctx · attn.proj.wᵀ + attn.proj.b", NULL),
    L("resid_mid", resid_mid, TS_TC, "resid_mid", 0, TK_SIGNED, "the residual stream after attention",
      "x + attn, x = the block's input", NULL),
    L("ln2.xhat", ln2_xhat, TS_TC, "ln2.xhat", W_MLP, TK_SIGNED,
      "the residual stream normalised again, for the MLP (Post-LN: the block's output, normalised)",
      "(resid_mid - mean) / sqrt(var + 1e-5)", "(resid - mean) / sqrt(var + 1e-5)"),
    HIDDEN_L("ln2.mean", ln2_mean, "ln2.xhat", W_MLP),
    HIDDEN_L("ln2.rstd", ln2_rstd, "ln2.xhat", W_MLP),
    L("ln2", ln2, TS_TC, "ln2", W_MLP, TK_SIGNED, "LayerNorm's output: xhat scaled by the gain, shifted by the bias",
      "ln2.xhat * ln2.w + ln2.b", NULL),
    L("fc", fc, TS_T4C, "fc", W_MLP, TK_SIGNED, "the MLP's first projection, four times wider",
      "ln2 · mlp.fc.wᵀ + mlp.fc.b", "ln1 · mlp.fc.wᵀ + mlp.fc.b"),
    L("gelu", act, TS_T4C, "gelu", W_MLP | W_GELU, TK_SIGNED, "GELU of fc (GPT-2's tanh form)",
      "0.5·fc·(1 + tanh(sqrt(2/pi)·(fc + 0.044715·fc³)))", NULL),
    L("relu", act, TS_T4C, "relu", W_MLP | W_RELU, TK_SIGNED, "ReLU of fc", "max(0, fc)", NULL),
    L("mlp", mlp, TS_TC, "mlp", W_MLP, TK_SIGNED, "the MLP sublayer's output, back at width C",
      "act · mlp.proj.wᵀ + mlp.proj.b", NULL),
    L("resid", resid, TS_TC, "resid", W_MLP, TK_SIGNED, "the residual stream after the MLP",
      "resid_mid + mlp", "ln1 + mlp"),
    M("lnf.xhat", lnf_xhat, TS_TC, "lnf.xhat", W_PRE, TK_SIGNED, "the last block's output normalised per token",
      "(x - mean(x)) / sqrt(var(x) + 1e-5)"),
    HIDDEN_M("lnf.mean", lnf_mean, "lnf.xhat", W_PRE),
    HIDDEN_M("lnf.rstd", lnf_rstd, "lnf.xhat", W_PRE),
    M("lnf", lnf, TS_TC, "lnf", W_PRE, TK_SIGNED, "the final LayerNorm's output, what the unembedding reads",
      "lnf.xhat * lnf.w + lnf.b"),
    M("logits", logits, TS_TV, "logits", 0, TK_SIGNED, "a score for every vocabulary entry as the next token",
      "h · Wᵀ, W = wte (tied) or lm_head.w; h = lnf (Pre-LN) or the last block's output; / sqrt(C) with logit_scale"),
    M("probs", probs, TS_TV, "probs", 0, TK_PROB, "the next-token distribution at every position",
      "softmax of each row of logits"),
    M("losses", losses, TS_TM1, "loss", 0, TK_SIGNED,
      "the loss of each prediction: position t predicting token t+1 (their mean is loss)",
      "-ln probs[t, tokens[t+1]]"),
};
#undef M
#undef L
#undef HIDDEN_M
#undef HIDDEN_L
#define NDEFS (int)(sizeof DEFS / sizeof DEFS[0])

const TraceDef *trace_defs(int *n)
{
    *n = NDEFS;
    return DEFS;
}

const char *trace_shape_str(const TraceDef *d)
{
    static const char *s[] = {[TS_TC] = "(T, C)", [TS_T3C] = "(T, 3C)", [TS_T4C] = "(T, 4C)", [TS_TV] = "(T, V)",
                              [TS_HTD] = "(H, T, C/H)", [TS_HKD] = "(H, T, C/H)", [TS_HTK] = "(H, T, T)",
                              [TS_T] = "(T)", [TS_TM1] = "(T-1)"};
    return s[d->shape];
}

static int applies(const TraceDef *d, unsigned flags) { return (d->when & flags) == d->when; }

int trace_lookup(const GptConfig *c, const char *name, const TraceDef **def, int *layer)
{
    unsigned flags = cfg_flags(c);
    int l = -1;
    const char *suffix = name;
    if (name[0] == 'L' && name[1] >= '0' && name[1] <= '9') {
        char *end;
        long v = strtol(name + 1, &end, 10);
        if (*end != '.' || v < 0 || v >= c->n_layer) return -1;
        l = (int)v;
        suffix = end + 1;
    }
    for (int i = 0; i < NDEFS; i++) {
        const TraceDef *d = &DEFS[i];
        if (d->hidden || d->per_layer != (l >= 0) || strcmp(d->name, suffix) || !applies(d, flags)) continue;
        *def = d;
        *layer = l;
        return 0;
    }
    return -1;
}

/* ---------------- layout ---------------- */

typedef struct {
    Acts *a;
    const GptConfig *c;
    size_t off;       /* floats so far */
    float *base;      /* NULL: count only */
    int n;            /* named entries */
} Layout;

static void shape_of(const Layout *L, const TraceDef *d, int *ndim, int *shape, const char **dims)
{
    int T = L->a->T, K = L->a->K, C = L->c->d, H = L->c->n_head, hd = C / H, V = L->c->vocab;
    switch (d->shape) {
    case TS_TC: *ndim = 2; shape[0] = T; shape[1] = C; *dims = "tc"; break;
    case TS_T3C: *ndim = 2; shape[0] = T; shape[1] = 3 * C; *dims = "tc"; break;
    case TS_T4C: *ndim = 2; shape[0] = T; shape[1] = 4 * C; *dims = "tc"; break;
    case TS_TV: *ndim = 2; shape[0] = T; shape[1] = V; *dims = "tv"; break;
    case TS_HTD: *ndim = 3; shape[0] = H; shape[1] = T; shape[2] = hd; *dims = "htc"; break;
    case TS_HKD: *ndim = 3; shape[0] = H; shape[1] = K; shape[2] = hd; *dims = "htc"; break;
    case TS_HTK: *ndim = 3; shape[0] = H; shape[1] = T; shape[2] = K; *dims = "hts"; break;
    case TS_T: *ndim = 1; shape[0] = T; *dims = "t"; break;
    case TS_TM1: *ndim = 1; shape[0] = T > 1 ? T - 1 : 1; *dims = "t"; break;
    }
}

static void lay_one(Layout *L, const TraceDef *d, int layer)
{
    int ndim = 0, shape[TV_MAX_DIMS] = {0};
    const char *dims = "";
    shape_of(L, d, &ndim, shape, &dims);
    size_t per = 1;
    for (int i = 0; i < ndim; i++) per *= (size_t)shape[i];
    if (d->shape == TS_TM1) per = (size_t)L->a->T; /* the stage writes every row; the name shows T - 1 */
    size_t n = (per * (size_t)L->a->B + 15) & ~(size_t)15; /* 64-byte alignment for every buffer */
    if (L->base) {
        float *p = L->base + L->off;
        char *owner = layer >= 0 ? (char *)&L->a->layer[layer] : (char *)L->a;
        *(float **)(owner + d->off) = p;
        if (!d->hidden) {
            TraceEntry *t = &L->a->entries[L->a->nentries++];
            memset(t, 0, sizeof *t);
            if (layer >= 0) snprintf(t->name, sizeof t->name, "L%d.%s", layer, d->name);
            else snprintf(t->name, sizeof t->name, "%s", d->name);
            t->def = d;
            t->layer = layer;
            t->data = p;
            t->ndim = ndim;
            for (int i = 0; i < ndim; i++) {
                t->shape[i] = shape[i];
                t->dimname[i] = dims[i];
            }
            t->per_batch = per;
            t->stage = -1;
        }
    }
    if (!d->hidden) L->n++;
    L->off += n;
}

static void layout(Layout *L)
{
    unsigned flags = cfg_flags(L->c);
    int first_layer = 0;
    while (first_layer < NDEFS && !DEFS[first_layer].per_layer) first_layer++;
    for (int i = 0; i < first_layer; i++)
        if (applies(&DEFS[i], flags)) lay_one(L, &DEFS[i], -1);
    for (int l = 0; l < L->c->n_layer; l++)
        for (int i = 0; i < NDEFS; i++)
            if (DEFS[i].per_layer && applies(&DEFS[i], flags)) lay_one(L, &DEFS[i], l);
    for (int i = first_layer; i < NDEFS; i++)
        if (!DEFS[i].per_layer && applies(&DEFS[i], flags)) lay_one(L, &DEFS[i], -1);
}

size_t acts_bytes(const GptConfig *c, int B, int T)
{
    Acts a = {.B = B, .T = T, .K = T};
    Layout L = {.a = &a, .c = c};
    layout(&L);
    return L.off * sizeof(float);
}

Acts *acts_new_window(Model *m, int B, int T, int K, GrErr *e)
{
    const GptConfig *c = &m->cfg;
    if (T < 1 || T > c->ctx) {
        gr_fail(e, "%d tokens do not fit: the model's context is %d", T, c->ctx);
        return NULL;
    }
    if (B < 1 || K < T || K > c->ctx) {
        gr_fail(e, "internal: a window of %d rows over %d keys (B %d, context %d)", T, K, B, c->ctx);
        return NULL;
    }
    Acts *a = calloc(1, sizeof *a);
    if (!a) { gr_fail(e, "out of memory"); return NULL; }
    a->B = B;
    a->T = T;
    a->K = K;
    a->loss = NAN;
    a->m = m;
    Layout L = {.a = a, .c = c};
    layout(&L);
    a->bytes = L.off * sizeof(float);
    double avail = (double)model_mem_available();
    if (m->be == &backend_cpu && (double)a->bytes > 0.7 * avail) {
        gr_fail(e, "the trace for %d tokens needs %.1f GB; the machine has %.1f GB", T, a->bytes / 1e9, avail / 1e9);
        free(a);
        return NULL;
    }
    a->layer = calloc((size_t)c->n_layer, sizeof(LayerActs));
    a->entries = calloc((size_t)L.n, sizeof(TraceEntry));
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
    Layout L2 = {.a = a, .c = c, .base = a->block};
    layout(&L2);
    if (stages_build(a, e)) {
        acts_free(m, a);
        return NULL;
    }
    return a;
}

Acts *acts_new(Model *m, int B, int T, GrErr *e) { return acts_new_window(m, B, T, T, e); }

Acts *acts_clone(const Acts *a, GrErr *e)
{
    Acts *c = acts_new_window(a->m, a->B, a->T, a->K, e);
    if (!c) return NULL;
    const Backend *be = a->m->be;
    size_t n = (size_t)a->B * a->T;
    be->copy(c->block, a->block, a->bytes); /* the same config and shape: the same layout */
    if (acts_set_tokens(a->m, c, a->tokens_host, a->targets_host, e)) {
        acts_free(a->m, c);
        return NULL;
    }
    memcpy(c->targets_host, a->targets_host, sizeof(int) * n);
    c->p0 = a->p0;
    c->loss = a->loss;
    c->n_targets = a->n_targets;
    c->next = a->next;
    c->abl = NULL; /* a kept run is data: nothing is applied to it again */
    c->nabl = 0;
    if (be_check(be, e)) {
        acts_free(a->m, c);
        return NULL;
    }
    return c;
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
    free(a->stages);
    free(a);
}

const TraceEntry *acts_find(const Acts *a, const char *name)
{
    for (int i = 0; i < a->nentries; i++)
        if (!strcmp(a->entries[i].name, name)) return &a->entries[i];
    return NULL;
}

int acts_computed(const Acts *a, const TraceEntry *t) { return t->stage >= 0 && t->stage < a->next; }

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
