/* stages.c — the block wiring as one table of stages, stepping, and ablation.
 *
 * Each stage reads tensors written by earlier stages and writes its own (trace.c's table
 * says which). A LayerNorm is two stages (normalise, then gain and bias) and the QKV
 * projection two (project, then split into heads), so that every tensor of the trace is
 * read by a later stage and ablating any of them changes what follows. */
#include "stages.h"
#include "backward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*StageFn)(Acts *a, int l);

typedef struct StageDef {
    const char *name;    /* "embed", or the suffix after "L{l}." */
    StageFn fn;
    int per_layer;
    unsigned when;       /* W_* bits the config must have */
    const char *formula; /* short, for the `model` diagram */
    const char *meaning;
    /* A matrix product's stage: the weight it multiplies by (generation reads it ahead). */
    const float *(*weight)(const Acts *a, int l);
} StageDef;

#define CTX                                                                                       \
    Model *m = a->m;                                                                              \
    const Backend *be = m->be;                                                                    \
    const GptConfig *c = &m->cfg;                                                                 \
    int B = a->B, T = a->T, K = a->K, p0 = a->p0, C = c->d, H = c->n_head, hd = C / H, N = B * T; \
    LayerActs *la = l >= 0 ? &a->layer[l] : NULL;                                                 \
    const LayerParams *P = l >= 0 ? &m->p.layer[l] : NULL;                                        \
    (void)be; (void)B; (void)T; (void)K; (void)p0; (void)C; (void)H; (void)hd; (void)N; (void)la; (void)P

/* ---------------- the wiring ---------------- */

float *acts_block_in(const Acts *a, int l)
{
    if (l == 0) return a->embed;
    const GptConfig *c = &a->m->cfg;
    const LayerActs *p = &a->layer[l - 1];
    if (!c->post_norm) return c->mlp ? p->resid : p->resid_mid;
    return c->mlp ? p->ln2 : p->ln1;
}

float *acts_final_hidden(const Acts *a)
{
    return a->m->cfg.post_norm ? acts_block_in(a, a->m->cfg.n_layer) : a->lnf;
}

/* What the QKV projection reads: ln1 (Pre-LN) or the block's input (Post-LN). The
 * identity ablation of q, k, v uses the same input. */
static const float *qkv_input(const Acts *a, int l)
{
    return a->m->cfg.post_norm ? acts_block_in(a, l) : a->layer[l].ln1;
}

void acts_matmul(const Acts *a, float *out, const float *x, const float *w, const float *b, int N, int IC, int OC)
{
    const Model *m = a->m;
    const QWeight *q = a->prec != PREC_FP32 ? model_qweight(m, w) : NULL;
    if (q) m->be->matmul_q(out, x, q, b, N, IC, OC);
    else m->be->matmul(out, x, w, b, N, IC, OC);
}

static const float *w_qkv(const Acts *a, int l) { return a->m->p.layer[l].qkvw; }
static const float *w_proj(const Acts *a, int l) { return a->m->p.layer[l].projw; }
static const float *w_fc(const Acts *a, int l) { return a->m->p.layer[l].fcw; }
static const float *w_fcproj(const Acts *a, int l) { return a->m->p.layer[l].fcprojw; }
static const float *w_unembed(const Acts *a, int l)
{
    (void)l;
    return a->m->cfg.tie ? a->m->p.wte : a->m->p.lm_head;
}

static void st_embed(Acts *a, int l)
{
    CTX;
    be->encoder(a->embed, a->tokens, m->p.wte, c->pos ? m->p.wpe + (size_t)p0 * C : NULL, N, T, C);
}

static void st_ln1_xhat(Acts *a, int l)
{
    CTX;
    be->norm(la->ln1_xhat, la->ln1_mean, la->ln1_rstd, c->post_norm ? la->resid_mid : acts_block_in(a, l), N, C);
}

static void st_ln1(Acts *a, int l)
{
    CTX;
    be->affine(la->ln1, la->ln1_xhat, P->ln1w, P->ln1b, N, C);
}

static void st_qkv(Acts *a, int l)
{
    CTX;
    acts_matmul(a, la->qkv, qkv_input(a, l), w_qkv(a, l), P->qkvb, N, C, 3 * C);
}

static void st_heads(Acts *a, int l)
{
    CTX;
    be->qkv_split(la->q, la->k, la->v, la->qkv, B, T, K, p0, H, hd);
}

static void st_scores(Acts *a, int l)
{
    CTX;
    be->attn_scores(la->scores, la->q, la->k, B * H, T, K, p0, hd);
}

static void st_masked(Acts *a, int l)
{
    CTX;
    be->attn_mask(la->masked, la->scores, 1.0f / sqrtf((float)hd), B * H, T, K, p0);
}

static void st_pattern(Acts *a, int l)
{
    CTX;
    be->attn_softmax(la->pattern, la->masked, B * H, T, K, p0);
}

static void st_ctx(Acts *a, int l)
{
    CTX;
    be->attn_apply(la->ctx, la->pattern, la->v, B, H, T, K, p0, hd);
}

static void st_attn(Acts *a, int l)
{
    CTX;
    acts_matmul(a, la->attn, la->ctx, w_proj(a, l), P->projb, N, C, C);
}

static void st_resid_mid(Acts *a, int l)
{
    CTX;
    be->add(la->resid_mid, acts_block_in(a, l), la->attn, (size_t)N * C);
}

static void st_ln2_xhat(Acts *a, int l)
{
    CTX;
    be->norm(la->ln2_xhat, la->ln2_mean, la->ln2_rstd, c->post_norm ? la->resid : la->resid_mid, N, C);
}

static void st_ln2(Acts *a, int l)
{
    CTX;
    be->affine(la->ln2, la->ln2_xhat, P->ln2w, P->ln2b, N, C);
}

static void st_fc(Acts *a, int l)
{
    CTX;
    acts_matmul(a, la->fc, c->post_norm ? la->ln1 : la->ln2, w_fc(a, l), P->fcb, N, C, 4 * C);
}

static void st_act(Acts *a, int l)
{
    CTX;
    (c->relu ? be->relu : be->gelu)(la->act, la->fc, (size_t)N * 4 * C);
}

static void st_mlp(Acts *a, int l)
{
    CTX;
    acts_matmul(a, la->mlp, la->act, w_fcproj(a, l), P->fcprojb, N, 4 * C, C);
}

static void st_resid(Acts *a, int l)
{
    CTX;
    be->add(la->resid, c->post_norm ? la->ln1 : la->resid_mid, la->mlp, (size_t)N * C);
}

static void st_lnf_xhat(Acts *a, int l)
{
    CTX;
    be->norm(a->lnf_xhat, a->lnf_mean, a->lnf_rstd, acts_block_in(a, c->n_layer), N, C);
}

static void st_lnf(Acts *a, int l)
{
    CTX;
    be->affine(a->lnf, a->lnf_xhat, m->p.lnfw, m->p.lnfb, N, C);
}

static void st_logits(Acts *a, int l)
{
    CTX;
    acts_matmul(a, a->logits, acts_final_hidden(a), w_unembed(a, l), NULL, N, C, c->vocab);
    if (c->logit_scale) be->scale(a->logits, 1.0f / sqrtf((float)C), (size_t)N * c->vocab);
}

static void st_probs(Acts *a, int l)
{
    CTX;
    be->softmax(a->probs, a->logits, N, c->vocab);
}

static void st_loss(Acts *a, int l)
{
    CTX;
    be->crossentropy(a->losses, a->probs, a->targets, N, c->vocab);
    a->loss = NAN;
    if (a->n_targets == 0) return;
    float *host = malloc(sizeof(float) * (size_t)N);
    if (!host) return;
    be->download(host, a->losses, sizeof(float) * (size_t)N);
    double s = 0;
    for (int i = 0; i < N; i++) s += host[i];
    free(host);
    a->loss = (float)(s / a->n_targets);
}

/* The forward pass, in order. A per-layer row runs in every block; the model-level rows
 * before the first per-layer row run before the blocks, the others after them. Pre-LN
 * and Post-LN differ only in where the LayerNorms sit (and what the stages read). */
static const StageDef STAGES[] = {
    {"embed", st_embed, 0, 0, "wte[tok] + wpe[pos]", "look up each token's embedding and add its position's", NULL},
    {"ln1.xhat", st_ln1_xhat, 1, W_PRE, "(x - mean) / std", "normalise each token's residual vector (mean 0, variance 1)", NULL},
    {"ln1", st_ln1, 1, W_PRE, "xhat·w + b", "apply LayerNorm's gain and bias", NULL},
    {"qkv", st_qkv, 1, 0, "x·Wqkvᵀ + b", "project every token to its query, key and value (one matmul)", w_qkv},
    {"heads", st_heads, 1, 0, "split into heads", "split q, k and v into heads", NULL},
    {"scores", st_scores, 1, 0, "q·kᵀ", "dot product of every query with every key", NULL},
    {"masked", st_masked, 1, 0, "scores/√hd, future = -inf", "scale by 1/sqrt(head dim) and hide the future (-inf)", NULL},
    {"pattern", st_pattern, 1, 0, "softmax over each row", "softmax each row: how much each token attends to each earlier one", NULL},
    {"ctx", st_ctx, 1, 0, "pattern·v, heads side by side", "weighted sum of the values under the pattern, per head", NULL},
    {"attn", st_attn, 1, 0, "ctx·Wprojᵀ + b", "project the heads back to the residual width", w_proj},
    {"resid_mid", st_resid_mid, 1, 0, "x + attn", "add attention's output to the residual stream", NULL},
    {"ln1.xhat", st_ln1_xhat, 1, W_POST, "(x - mean) / std", "normalise the residual stream after attention (Post-LN)", NULL},
    {"ln1", st_ln1, 1, W_POST, "xhat·w + b", "apply LayerNorm's gain and bias", NULL},
    {"ln2.xhat", st_ln2_xhat, 1, W_PRE | W_MLP, "(x - mean) / std", "normalise again, for the MLP", NULL},
    {"ln2", st_ln2, 1, W_PRE | W_MLP, "xhat·w + b", "apply LayerNorm's gain and bias", NULL},
    {"fc", st_fc, 1, W_MLP, "·Wfcᵀ + b", "the MLP's first projection, to 4 times the width", w_fc},
    {"gelu", st_act, 1, W_MLP | W_GELU, "GELU (tanh form)", "GELU, elementwise", NULL},
    {"relu", st_act, 1, W_MLP | W_RELU, "max(0, x)", "ReLU, elementwise", NULL},
    {"mlp", st_mlp, 1, W_MLP, "·Wprojᵀ + b", "project back to the residual width", w_fcproj},
    {"resid", st_resid, 1, W_MLP, "+ mlp", "add the MLP's output to the residual stream", NULL},
    {"ln2.xhat", st_ln2_xhat, 1, W_POST | W_MLP, "(x - mean) / std", "normalise the block's output (Post-LN)", NULL},
    {"ln2", st_ln2, 1, W_POST | W_MLP, "xhat·w + b", "apply LayerNorm's gain and bias", NULL},
    {"lnf.xhat", st_lnf_xhat, 0, W_PRE, "(x - mean) / std", "normalise the last block's output", NULL},
    {"lnf", st_lnf, 0, W_PRE, "xhat·w + b", "apply the final LayerNorm's gain and bias", NULL},
    {"logits", st_logits, 0, 0, "h·Wᵀ (W = wte when tied)", "score every vocabulary entry: the hidden state times the unembedding", w_unembed},
    {"probs", st_probs, 0, 0, "softmax", "softmax each row of the logits", NULL},
    {"loss", st_loss, 0, 0, "mean -ln p(next token)", "mean of -ln p(the actual next token)", NULL},
};
#define NSTAGES (int)(sizeof STAGES / sizeof STAGES[0])

const char *stage_meaning(const Stage *s) { return s->def->meaning; }
const char *stage_formula(const Stage *s) { return s->def->formula; }

static int applies(const StageDef *d, unsigned flags) { return (d->when & flags) == d->when; }

static void add_stage(Acts *a, const StageDef *d, int layer)
{
    Stage *s = a->stages ? &a->stages[a->nstages] : NULL;
    if (s) {
        memset(s, 0, sizeof *s);
        if (layer >= 0) snprintf(s->name, sizeof s->name, "L%d.%s", layer, d->name);
        else snprintf(s->name, sizeof s->name, "%s", d->name);
        s->layer = layer;
        s->def = d;
    }
    a->nstages++;
}

static void walk(Acts *a)
{
    unsigned flags = cfg_flags(&a->m->cfg);
    int first_layer = 0;
    while (first_layer < NSTAGES && !STAGES[first_layer].per_layer) first_layer++;
    a->nstages = 0;
    for (int i = 0; i < first_layer; i++)
        if (applies(&STAGES[i], flags)) add_stage(a, &STAGES[i], -1);
    for (int l = 0; l < a->m->cfg.n_layer; l++)
        for (int i = 0; i < NSTAGES; i++)
            if (STAGES[i].per_layer && applies(&STAGES[i], flags)) add_stage(a, &STAGES[i], l);
    for (int i = first_layer; i < NSTAGES; i++)
        if (!STAGES[i].per_layer && applies(&STAGES[i], flags)) add_stage(a, &STAGES[i], -1);
}

int stages_build(Acts *a, GrErr *e)
{
    free(a->stages);
    a->stages = NULL;
    walk(a);
    a->stages = calloc((size_t)a->nstages, sizeof(Stage));
    if (!a->stages) return gr_fail(e, "out of memory");
    walk(a);
    for (int i = a->nstages - 1, next = -1; i >= 0; i--) {
        a->stages[i].ahead = next;
        if (a->stages[i].def->weight) next = i;
    }
    a->next = 0;
    for (int i = 0; i < a->nentries; i++) {
        TraceEntry *t = &a->entries[i];
        for (int s = 0; s < a->nstages && t->stage < 0; s++)
            if (a->stages[s].layer == t->layer && !strcmp(a->stages[s].def->name, t->def->stage)) t->stage = s;
        if (t->stage < 0) return gr_fail(e, "internal: no stage writes %s", t->name);
    }
    return 0;
}

int acts_stage_index(const Acts *a, const char *name)
{
    for (int i = 0; i < a->nstages; i++)
        if (!strcmp(a->stages[i].name, name)) return i;
    return -1;
}

int acts_stage_outputs(const Acts *a, int stage, const TraceEntry **out, int max)
{
    int n = 0;
    for (int i = 0; i < a->nentries && n < max; i++)
        if (a->entries[i].stage == stage) out[n++] = &a->entries[i];
    return n;
}

/* ---------------- ablation ---------------- */

static const char *const MODE_HELP[] = {
    [ABL_ZERO] = "all zeros",
    [ABL_MEAN] = "every position replaced by the mean over the run's positions (mean:RUN: over a kept run's)",
    [ABL_IDENTITY] = "q, k or v replaced by the projection's input (W = I, b = 0)",
    [ABL_COPY] = "copy:OTHER, a copy of another tensor of the same shape computed no later",
    [ABL_UNIFORM] = "attention patterns only: 1/(i+1) over the causal past of query i",
};

const char *abl_mode_choices(void) { return "zero|mean|identity|copy|uniform"; }
const char *abl_mode_help(AblMode m) { return MODE_HELP[m]; }
int abl_incremental(const Ablation *ab) { return ab->mode != ABL_MEAN || ab->src != NULL; }
int abl_is_patch(const Ablation *ab) { return ab->mode == ABL_COPY && ab->src != NULL; }

/* The part of a tensor one pass of its stage writes: `groups` blocks `gstride` floats
 * apart, each `rows` rows of `cols` contiguous floats. Keys and values are written at
 * rows p0.. of their K-row buffers; everything else whole. */
typedef struct {
    float *base;
    size_t groups, gstride, rows, cols;
} Region;

static Region region_of(const Acts *a, const TraceEntry *t)
{
    Region r = {.base = t->data, .groups = (size_t)a->B, .gstride = t->per_batch};
    switch (t->def->shape) {
    case TS_HTD:
    case TS_HTK:
        r.groups = (size_t)a->B * t->shape[0];
        r.gstride = (size_t)t->shape[1] * t->shape[2];
        r.rows = (size_t)t->shape[1];
        r.cols = (size_t)t->shape[2];
        break;
    case TS_HKD:
        r.groups = (size_t)a->B * t->shape[0];
        r.gstride = (size_t)a->K * t->shape[2];
        r.base = t->data + (size_t)a->p0 * t->shape[2];
        r.rows = (size_t)a->T;
        r.cols = (size_t)t->shape[2];
        break;
    default:
        r.rows = (size_t)t->shape[0];
        r.cols = t->ndim > 1 ? (size_t)t->shape[1] : 1;
        break;
    }
    return r;
}

int abl_parse_target(Ablation *ab, const char *spec, GrErr *e)
{
    ab->only_head = ab->only_pos = ab->head = ab->pos = 0;
    const char *br = strchr(spec, '[');
    size_t n = br ? (size_t)(br - spec) : strlen(spec);
    if (n == 0 || n >= sizeof ab->target) return gr_fail(e, "'%s' is not a tensor name", spec);
    memcpy(ab->target, spec, n);
    ab->target[n] = 0;
    if (!br) return 0;
    const char *p = br + 1;
    for (;;) {
        char key = *p;
        char *end;
        if ((key != 'h' && key != 't') || p[1] != '=')
            return gr_fail(e, "'%s': an ablation takes [h=N] (one head), [t=N] (one position) or both, "
                              "like L0.pattern[h=2,t=3]", spec);
        long v = strtol(p + 2, &end, 10);
        if (end == p + 2 || v < 0 || v > 1000000) return gr_fail(e, "'%s': %c= needs a number 0 or more", spec, key);
        if (key == 'h') ab->only_head = 1, ab->head = (int)v;
        else ab->only_pos = 1, ab->pos = (int)v;
        p = end;
        if (*p == ',') { p++; continue; }
        if (*p == ']' && !p[1]) return 0;
        return gr_fail(e, "'%s': expected ',' or a final ']' after %c=%ld", spec, key, v);
    }
}

void abl_name(const Ablation *ab, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s", ab->target);
    if (k < 0 || (size_t)k >= n || (!ab->only_head && !ab->only_pos)) return;
    if (ab->only_head && ab->only_pos) snprintf(buf + k, n - (size_t)k, "[h=%d,t=%d]", ab->head, ab->pos);
    else if (ab->only_head) snprintf(buf + k, n - (size_t)k, "[h=%d]", ab->head);
    else snprintf(buf + k, n - (size_t)k, "[t=%d]", ab->pos);
}

/* Head-shaped tensors: one group per (batch row, head). ctx (T, C) holds head h at
 * columns h·hd..(h+1)·hd. */
static int head_groups(const TraceDef *d) { return d->shape == TS_HTD || d->shape == TS_HKD || d->shape == TS_HTK; }
static int is_ctx(const TraceDef *d) { return !strcmp(d->name, "ctx"); }

/* A restricted ablation (one head, one position, or uniform): on the host, block by
 * block. Row r of a block is absolute position p0 + r. */
static void apply_restricted(Acts *a, const Ablation *ab, const TraceEntry *t, Region r)
{
    const Backend *be = a->m->be;
    const GptConfig *c = &a->m->cfg;
    int H = c->n_head, hd = c->d / H;
    size_t block = r.rows * r.cols;
    float *buf = malloc(sizeof(float) * block * 2), *src = buf + block;
    if (!buf) return; /* a few KB per block; the forward pass itself needed far more */
    const Acts *sa = ab->src ? ab->src : a;
    const TraceEntry *o = ab->mode == ABL_COPY ? acts_find(sa, ab->other) : NULL;
    Region ro = o ? region_of(sa, o) : r;
    size_t c0 = 0, c1 = r.cols;
    if (ab->only_head && is_ctx(t->def)) c0 = (size_t)ab->head * hd, c1 = c0 + (size_t)hd;
    for (size_t g = 0; g < r.groups; g++) {
        if (ab->only_head && head_groups(t->def) && (int)(g % (size_t)H) != ab->head) continue;
        float *dev = r.base + g * r.gstride;
        be->download(buf, dev, sizeof(float) * block);
        if (o) be->download(src, ro.base + g * ro.gstride, sizeof(float) * block);
        else memcpy(src, buf, sizeof(float) * block); /* mean: the block as it was */
        for (size_t row = 0; row < r.rows; row++) {
            int abs_pos = a->p0 + (int)row;
            if (ab->only_pos && abs_pos != ab->pos) continue;
            for (size_t col = c0; col < c1; col++) {
                float *x = &buf[row * r.cols + col];
                switch (ab->mode) {
                case ABL_ZERO: *x = 0; break;
                case ABL_COPY: *x = src[row * r.cols + col]; break;
                case ABL_UNIFORM: *x = (int)col <= abs_pos ? 1.0f / (float)(abs_pos + 1) : 0.0f; break;
                case ABL_MEAN: {
                    double m = 0; /* over the run's positions, as the unrestricted mode */
                    for (size_t q = 0; q < r.rows; q++) m += src[q * r.cols + col];
                    *x = (float)(m / (double)r.rows);
                    break;
                }
                case ABL_IDENTITY: break; /* refused by acts_check_ablation */
                }
            }
        }
        be->upload(dev, buf, sizeof(float) * block);
    }
    free(buf);
}

/* mean:RUN — each chosen row replaced by the mean over another run's positions of the
 * same tensor (a reference activation; the runs may differ in length). */
static void apply_mean_from(Acts *a, const Ablation *ab, const TraceEntry *t, Region r)
{
    const Backend *be = a->m->be;
    const GptConfig *c = &a->m->cfg;
    const TraceEntry *o = acts_find(ab->src, t->name);
    if (!o) return; /* acts_check_ablation refused it */
    Region ro = region_of(ab->src, o);
    int H = c->n_head, hd = c->d / H;
    size_t block = r.rows * r.cols, sblock = ro.rows * ro.cols;
    float *buf = malloc(sizeof(float) * (block + sblock + r.cols)), *sb = buf + block, *mean = sb + sblock;
    if (!buf) return;
    size_t c0 = 0, c1 = r.cols;
    if (ab->only_head && is_ctx(t->def)) c0 = (size_t)ab->head * hd, c1 = c0 + (size_t)hd;
    for (size_t g = 0; g < r.groups; g++) {
        if (ab->only_head && head_groups(t->def) && (int)(g % (size_t)H) != ab->head) continue;
        be->download(sb, ro.base + (g % ro.groups) * ro.gstride, sizeof(float) * sblock);
        for (size_t col = 0; col < r.cols; col++) {
            double m = 0;
            for (size_t q = 0; q < ro.rows; q++) m += sb[q * ro.cols + col];
            mean[col] = (float)(m / (double)ro.rows);
        }
        float *dev = r.base + g * r.gstride;
        be->download(buf, dev, sizeof(float) * block);
        for (size_t row = 0; row < r.rows; row++) {
            if (ab->only_pos && a->p0 + (int)row != ab->pos) continue;
            for (size_t col = c0; col < c1; col++) buf[row * r.cols + col] = mean[col];
        }
        be->upload(dev, buf, sizeof(float) * block);
    }
    free(buf);
}

static void apply_ablation(Acts *a, const Ablation *ab, const TraceEntry *t)
{
    const Backend *be = a->m->be;
    const GptConfig *c = &a->m->cfg;
    Region r = region_of(a, t);
    size_t block = r.rows * r.cols;
    if (ab->mode == ABL_MEAN && ab->src) {
        apply_mean_from(a, ab, t, r);
        return;
    }
    if (ab->only_head || ab->only_pos || ab->mode == ABL_UNIFORM) {
        apply_restricted(a, ab, t, r);
        return;
    }
    switch (ab->mode) {
    case ABL_ZERO:
        for (size_t g = 0; g < r.groups; g++) be->zero(r.base + g * r.gstride, block * sizeof(float));
        break;
    case ABL_MEAN: /* whole runs only (kv_new refuses it): groups are contiguous there */
        be->mean_rows(r.base, (int)r.groups, (int)r.rows, (int)r.cols);
        break;
    case ABL_COPY: {
        const Acts *sa = ab->src ? ab->src : a;
        const TraceEntry *o = acts_find(sa, ab->other);
        if (!o) break;
        Region s = region_of(sa, o);
        for (size_t g = 0; g < r.groups; g++) be->copy(r.base + g * r.gstride, s.base + g * s.gstride, block * sizeof(float));
        break;
    }
    case ABL_IDENTITY: {
        int H = c->n_head, K = t->def->shape == TS_HKD ? a->K : a->T, p0 = t->def->shape == TS_HKD ? a->p0 : 0;
        be->split_heads(t->data, qkv_input(a, t->layer), a->B, a->T, K, p0, H, c->d / H);
        break;
    }
    case ABL_UNIFORM: break; /* always restricted (above) */
    }
}

/* ---------------- ablations in the backward pass ---------------- */

int abl_backward_ok(const Ablation *ab, GrErr *e)
{
    const char *dot = strchr(ab->target, '.'), *suffix = ab->target[0] == 'L' && dot ? dot + 1 : ab->target;
    if (backward_fused_into(suffix))
        return gr_fail(e, "the backward pass steps over %s in a fused operation, so it cannot go through its "
                          "ablation ('unablate %s' first)", ab->target, ab->target);
    if (ab->mode == ABL_IDENTITY || (ab->mode == ABL_COPY && !ab->src))
        return gr_fail(e, "the backward pass does not go through %s ablations yet (%s; 'unablate' it first)",
                       ab->mode == ABL_IDENTITY ? "identity" : "copy:OTHER", ab->target);
    if (ab->mode == ABL_MEAN && !ab->src && (ab->only_head || ab->only_pos))
        return gr_fail(e, "the backward pass does not go through a mean ablation of one head or position yet (%s)",
                       ab->target);
    return 0;
}

void abl_backward(const Acts *a, const Ablation *ab, float *d)
{
    const TraceEntry *t = acts_find(a, ab->target);
    if (!t) return;
    const Backend *be = a->m->be;
    Region r = region_of(a, t);
    r.base = d + (r.base - t->data); /* the gradient has the tensor's layout */
    if (ab->mode == ABL_MEAN && !ab->src) {
        /* x'_t = mean_s x_s: d x_s = mean_t d x'_t, the same op on the gradient */
        be->mean_rows(r.base, (int)r.groups, (int)r.rows, (int)r.cols);
        return;
    }
    /* zero, uniform, a patch, mean:RUN: the ablated part no longer depends on its inputs */
    const GptConfig *c = &a->m->cfg;
    int H = c->n_head, hd = c->d / H;
    size_t c0 = 0, c1 = r.cols;
    if (ab->only_head && is_ctx(t->def)) c0 = (size_t)ab->head * hd, c1 = c0 + (size_t)hd;
    for (size_t g = 0; g < r.groups; g++) {
        if (ab->only_head && head_groups(t->def) && (int)(g % (size_t)H) != ab->head) continue;
        for (size_t row = 0; row < r.rows; row++) {
            if (ab->only_pos && a->p0 + (int)row != ab->pos) continue;
            be->zero(r.base + g * r.gstride + row * r.cols + c0, (c1 - c0) * sizeof(float));
        }
    }
}

int acts_check_ablation(const Acts *a, const Ablation *ab, GrErr *e)
{
    const TraceEntry *t = acts_find(a, ab->target);
    if (!t) {
        const char *cands[1024];
        int n = 0;
        for (int i = 0; i < a->nentries && n < 1024; i++) cands[n++] = a->entries[i].name;
        const char *s = gr_suggest(ab->target, cands, n);
        if (s) return gr_fail(e, "unknown trace tensor '%s' (did you mean '%s'? 'where' lists them)", ab->target, s);
        return gr_fail(e, "unknown trace tensor '%s' (ablate works on tensors of the forward pass, e.g. L0.q; "
                          "'where' lists them)", ab->target);
    }
    if (ab->mode == ABL_IDENTITY && t->def->shape != TS_HTD && t->def->shape != TS_HKD)
        return gr_fail(e, "identity ablation applies to L*.q, L*.k or L*.v, not '%s'", ab->target);
    if (ab->mode == ABL_IDENTITY && (ab->only_head || ab->only_pos))
        return gr_fail(e, "identity ablation replaces the whole of q, k or v; it takes no [h=] or [t=]");
    if (ab->mode == ABL_UNIFORM && strcmp(t->def->name, "pattern"))
        return gr_fail(e, "uniform applies to attention patterns (L*.pattern), not '%s'", ab->target);
    if (ab->only_head) {
        int H = a->m->cfg.n_head;
        if (!head_groups(t->def) && !is_ctx(t->def))
            return gr_fail(e, "'%s' has no heads; [h=N] applies to q, k, v, scores, masked, pattern and ctx", ab->target);
        if (ab->head >= H) return gr_fail(e, "head %d of '%s': the model has %d heads (0..%d)", ab->head, ab->target, H, H - 1);
    }
    if (ab->only_pos && ab->pos >= a->m->cfg.ctx)
        return gr_fail(e, "position %d of '%s': the context is %d (0..%d)", ab->pos, ab->target, a->m->cfg.ctx,
                       a->m->cfg.ctx - 1);
    if (ab->only_pos && t->def->shape == TS_T)
        return gr_fail(e, "'%s' has no positions to choose from", ab->target);
    if (!strcmp(t->name, "losses"))
        return gr_fail(e, "losses are the last thing computed, so ablating them would change nothing");
    if (ab->mode == ABL_MEAN && ab->src) {
        if (t->def->shape == TS_HTK || t->def->shape == TS_HKD)
            return gr_fail(e, "mean:RUN averages over positions, which '%s' indexes by: use it on (T, C) tensors, q or ctx",
                           t->name);
        const TraceEntry *o = acts_find(ab->src, t->name);
        if (!o || !acts_computed(ab->src, o)) return gr_fail(e, "the run to average has no '%s'", t->name);
        Region rt = region_of(a, t), ro = region_of(ab->src, o);
        if (rt.cols != ro.cols || rt.groups % ro.groups) return gr_fail(e, "mean of '%s': the runs' shapes differ", t->name);
    } else if (ab->mode == ABL_COPY && ab->src) {
        /* a patch: the same tensor of another run of the same shape */
        const TraceEntry *o = acts_find(ab->src, ab->other);
        if (!o || !acts_computed(ab->src, o)) return gr_fail(e, "the run patched from has no '%s'", ab->other);
        if (ab->src->T != a->T || ab->src->B != a->B || ab->src->K != a->K)
            return gr_fail(e, "cannot patch from a run of %d tokens into one of %d: the positions must match",
                           ab->src->T, a->T);
        Region rt = region_of(a, t), ro = region_of(ab->src, o);
        if (rt.groups != ro.groups || rt.rows != ro.rows || rt.cols != ro.cols)
            return gr_fail(e, "cannot patch '%s': the runs' shapes differ", ab->target);
    } else if (ab->mode == ABL_COPY) {
        const TraceEntry *o = acts_find(a, ab->other);
        if (!o) return gr_fail(e, "unknown trace tensor '%s' to copy from", ab->other);
        Region rt = region_of(a, t), ro = region_of(a, o);
        if (rt.groups != ro.groups || rt.rows != ro.rows || rt.cols != ro.cols)
            return gr_fail(e, "cannot copy '%s' into '%s': shapes differ", ab->other, ab->target);
        if (o->stage > t->stage)
            return gr_fail(e, "cannot copy '%s' into '%s': it is computed later in the forward pass", ab->other,
                           ab->target);
    }
    return 0;
}

/* ---------------- stepping ---------------- */

int acts_step(Acts *a)
{
    if (a->next >= a->nstages) return -1;
    int i = a->next++;
    if (i == 0) a->epoch++;
    const Stage *s = &a->stages[i];
    s->def->fn(a, s->layer);
    for (int k = 0; k < a->nabl; k++) {
        const Ablation *ab = &a->abl[k];
        /* Cheap test first: the target's layer prefix must be this stage's. */
        if (s->layer >= 0 ? ab->target[0] != 'L' : ab->target[0] == 'L' && ab->target[1] >= '0' && ab->target[1] <= '9')
            continue;
        const TraceEntry *t = acts_find(a, ab->target);
        if (t && t->stage == i) apply_ablation(a, ab, t);
    }
    return i;
}

int acts_prepare(Acts *a, GrErr *e)
{
    a->prec = a->fp32_only ? PREC_FP32 : a->m->prec;
    return a->prec == PREC_FP32 ? 0 : model_precision_ready(a->m, e);
}

/* Generation's hint to the backend: the weights of stage s's product, read ahead. */
static void read_ahead(const Acts *a, const Stage *s)
{
    size_t n;
    const void *p = model_stored_weight(a->m, a->prec, s->def->weight(a, s->layer), &n);
    if (p) a->m->be->read_ahead(p, n);
}

/* With one row a sequence (T = 1: a step of generation), each product reads its weights
 * once and waits on memory, so at the start and at each product the next product's
 * weights are hinted to the backend, to be read while the stages between run. */
int acts_run_until(Acts *a, const char *stop, GrErr *e)
{
    if (a->next == 0 && acts_prepare(a, e)) return -1;
    const Backend *be = a->m->be;
    int ahead = a->T == 1 && be->read_ahead;
    while (a->next < a->nstages && (!stop || strcmp(a->stages[a->next].name, stop) != 0)) {
        const Stage *s = &a->stages[a->next];
        if (ahead && (a->next == 0 || s->def->weight) && s->ahead >= 0) read_ahead(a, &a->stages[s->ahead]);
        acts_step(a);
    }
    if (ahead) be->sync(); /* ends the hint: the weights may change before the next run */
    return be_check(be, e);
}

int acts_run(Acts *a, GrErr *e) { return acts_run_until(a, NULL, e); }

void acts_rewind(Acts *a) { a->next = 0; }
