/* train.c — the trainer: batches, forward, backward, clipping, AdamW, schedule.
 *
 * Stepwise so the REPL owns the loop. Everything that decides a step (the batch, the
 * learning rate, AdamW's bias correction) is a function of m->step, which checkpoints
 * save, so a resumed run continues bit for bit. */
#include "train.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void train_cfg_default(TrainCfg *c)
{
    memset(c, 0, sizeof *c);
    c->batch = 16;
    c->ctx = 0;
    c->lr = 1e-3f;
    c->min_lr = 1e-4f;
    c->warmup = 0;
    c->steps = 1000;
    c->wd = 0.1f;
    c->b1 = 0.9f;
    c->b2 = 0.95f;
    c->eps = 1e-8f;
    c->clip = 1.0f;
    c->accum = 1;
    c->eval_every = 50;
    c->eval_batches = 8;
    c->seed = 1;
}

#define OPT_INT(nm, l, u, f, d, h) \
    {.name = nm, .kind = FK_INT, .lo = l, .hi = u, .store = FS_INT, .off = offsetof(TrainCfg, f), .def = d, .help = h}
#define OPT_FLOAT(nm, l, u, f, d, h) \
    {.name = nm, .kind = FK_FLOAT, .lo = l, .hi = u, .store = FS_FLOAT, .off = offsetof(TrainCfg, f), .def = d, .help = h}
static const FieldDef OPTIONS[] = {
    OPT_INT("batch", 1, 1048576, batch, "16 (4 when ctx < 64 or V > 1000)", "rows per micro-batch (B)"),
    OPT_INT("ctx", 0, 1048576, ctx, "0: the model's ctx", "tokens per row (T), at most the model's context"),
    OPT_FLOAT("lr", 0, 1e30, lr, "0.001", "peak learning rate"),
    OPT_FLOAT("min-lr", 0, 1e30, min_lr, "lr / 10", "learning rate at the end of the cosine"),
    OPT_INT("warmup", 0, 1000000000, warmup, "0", "steps of linear warmup"),
    OPT_INT("eval-every", 0, 1000000000, eval_every, "50", "validation loss every N steps (0: only at the end)"),
    OPT_FLOAT("clip", 0, 1000000, clip, "1", "gradient-norm clipping (0: off)"),
    OPT_INT("accum", 1, 65536, accum, "1", "micro-batches per optimizer step"),
    OPT_FLOAT("wd", 0, 10, wd, "0.1", "AdamW weight decay (2-D weights only)"),
    {.name = NULL},
};

const FieldDef *train_options(void) { return OPTIONS; }

int train_cfg_validate(const TrainCfg *c, const Model *m, GrErr *e)
{
    for (const FieldDef *f = OPTIONS; f->name; f++) {
        const char *p = (const char *)c + f->off;
        double x = f->store == FS_INT ? *(const int *)p : *(const float *)p;
        char got[32];
        snprintf(got, sizeof got, "%g", x);
        double lo = f->store == FS_FLOAT ? (float)f->lo : f->lo, hi = f->store == FS_FLOAT ? (float)f->hi : f->hi;
        if (!(x >= lo && x <= hi)) return gr_fail_range(e, "", f->name, got, f->lo, f->hi, 0);
    }
    if (m && c->ctx > m->cfg.ctx)
        return gr_fail(e, "ctx %d is longer than the model's context of %d tokens", c->ctx, m->cfg.ctx);
    if (c->min_lr > c->lr) return gr_fail(e, "min-lr must be between 0 and lr = %g, not %g", c->lr, c->min_lr);
    if (c->steps < 0) return gr_fail(e, "steps must be ≥ 0 (got %d)", c->steps);
    if (!(c->b1 >= 0 && c->b1 < 1)) return gr_fail(e, "b1 must be in [0, 1) (got %g)", c->b1);
    if (!(c->b2 >= 0 && c->b2 < 1)) return gr_fail(e, "b2 must be in [0, 1) (got %g)", c->b2);
    if (!(c->eps > 0) || !isfinite(c->eps)) return gr_fail(e, "eps must be > 0 (got %g)", c->eps);
    if ((long)c->batch * c->accum > (1L << 22))
        return gr_fail(e, "batch × accum = %ld rows per step is too many", (long)c->batch * c->accum);
    if (c->eval_every < 0) return gr_fail(e, "eval_every must be ≥ 0 (got %d)", c->eval_every);
    if (c->eval_batches < 1) return gr_fail(e, "eval_batches must be at least 1 (got %d)", c->eval_batches);
    return 0;
}

float train_lr_at(const TrainCfg *c, long step)
{
    if (step < 0) step = 0;
    if (c->warmup > 0 && step < c->warmup) return c->lr * (float)(step + 1) / (float)c->warmup;
    if (c->steps <= c->warmup || c->min_lr == c->lr) return c->lr;
    if (step >= c->steps) return c->min_lr;
    double p = (double)(step - c->warmup) / (double)(c->steps - c->warmup);
    return (float)(c->min_lr + 0.5 * ((double)c->lr - c->min_lr) * (1.0 + cos(3.14159265358979323846 * p)));
}

/* ---------------- the trainer ---------------- */

struct Trainer {
    Model *m;
    TrainCfg c;            /* ctx resolved */
    const Dataset *d;
    Acts *a;
    BackScratch *bs;
    int *rows;             /* accum·B rows of T+1 (host) */
    int *tok, *tgt;        /* B·T (host) */
    /* the last good state: before the last update whose loss and gradient were finite
     * (NULL when there was no memory for it: then a bad step cannot be rolled back) */
    float *good_p, *good_m, *good_v;
    long good_step;
    /* evaluation (its own activations when the val rows are shorter than ctx) */
    Acts *ea;
    int eT;
};

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A seed for step `step` of stream `tag`: distinct steps give unrelated streams. */
static uint64_t step_seed(uint64_t seed, uint64_t tag, long step)
{
    return mix64(mix64(seed ^ tag) ^ (uint64_t)step);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void snapshot(Trainer *t)
{
    Model *m = t->m;
    if (!t->good_p) return;
    size_t nb = m->total * sizeof(float);
    m->be->copy(t->good_p, m->params, nb);
    m->be->copy(t->good_m, m->m, nb);
    m->be->copy(t->good_v, m->v, nb);
    t->good_step = m->step;
}

/* Returns 0 when the last good state was restored, -1 when there is none. */
static int restore(Trainer *t)
{
    Model *m = t->m;
    size_t nb = m->total * sizeof(float);
    m->be->zero(m->grads, nb);
    if (!t->good_p) return -1;
    m->be->copy(m->params, t->good_p, nb);
    model_weights_changed(m);
    m->be->copy(m->m, t->good_m, nb);
    m->be->copy(m->v, t->good_v, nb);
    m->step = t->good_step;
    return 0;
}

static int check_ids(const int *ids, size_t n, int V, const char *split, GrErr *e)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V)
            return gr_fail(e, "the %s data has token id %d but the model's vocabulary has %d ids (0..%d): "
                              "was it encoded with another tokenizer?", split, ids[i], V, V - 1);
    return 0;
}

Trainer *trainer_new(Model *m, const TrainCfg *cfg, const Dataset *d, GrErr *e)
{
    if (train_cfg_validate(cfg, m, e)) return NULL;
    TrainCfg c = *cfg;
    if (c.ctx == 0) c.ctx = m->cfg.ctx;
    int B = c.batch, T = c.ctx;
    if (d) {
        if (d->ntrain < (size_t)T + 1)
            return gr_fail(e, "the training split of %s has %zu tokens; a row needs ctx+1 = %d (use a smaller ctx or more text)",
                           d->name, d->ntrain, T + 1), NULL;
        if (check_ids(d->train, d->ntrain, m->cfg.vocab, "training", e) ||
            check_ids(d->val, d->nval, m->cfg.vocab, "validation", e))
            return NULL;
    }
    if (model_alloc_train(m, e)) return NULL;
    Trainer *t = calloc(1, sizeof *t);
    if (!t) { gr_fail(e, "out of memory"); return NULL; }
    t->m = m;
    t->c = c;
    t->d = d;
    t->a = acts_new(m, B, T, e);
    if (t->a) t->a->fp32_only = 1; /* training is fp32 whatever `set precision` says */
    if (!t->a) goto fail;
    t->bs = back_scratch_new(m, B, T, e);
    if (!t->bs) goto fail;
    t->rows = malloc(sizeof(int) * (size_t)c.accum * B * (T + 1));
    t->tok = malloc(sizeof(int) * (size_t)B * T);
    t->tgt = malloc(sizeof(int) * (size_t)B * T);
    if (!t->rows || !t->tok || !t->tgt) {
        gr_fail(e, "out of memory for the trainer's batches");
        goto fail;
    }
    /* A copy of the weights and moments to roll a NaN back to. Without the memory for it
     * training still works; a bad step then stops without rolling back. */
    size_t nb = m->total * sizeof(float);
    t->good_p = m->be->alloc(nb);
    t->good_m = t->good_p ? m->be->alloc(nb) : NULL;
    t->good_v = t->good_m ? m->be->alloc(nb) : NULL;
    if (!t->good_v) {
        if (t->good_p) m->be->free(t->good_p);
        if (t->good_m) m->be->free(t->good_m);
        t->good_p = t->good_m = NULL;
    }
    snapshot(t);
    return t;
fail:
    trainer_free(t);
    return NULL;
}

void trainer_free(Trainer *t)
{
    if (!t) return;
    Model *m = t->m;
    acts_free(m, t->a);
    acts_free(m, t->ea);
    back_scratch_free(m, t->bs);
    free(t->rows);
    free(t->tok);
    free(t->tgt);
    if (t->good_p) m->be->free(t->good_p);
    if (t->good_m) m->be->free(t->good_m);
    if (t->good_v) m->be->free(t->good_v);
    free(t);
}

const TrainCfg *trainer_cfg(const Trainer *t) { return &t->c; }

/* Splits rows of T+1 into inputs (first T) and targets (last T), then runs the forward. */
static int forward_rows(Model *m, Acts *a, const int *rows, int *tok, int *tgt, GrErr *e)
{
    int B = a->B, T = a->T;
    for (int b = 0; b < B; b++) {
        const int *r = rows + (size_t)b * (T + 1);
        memcpy(tok + (size_t)b * T, r, sizeof(int) * (size_t)T);
        memcpy(tgt + (size_t)b * T, r + 1, sizeof(int) * (size_t)T);
    }
    if (acts_set_tokens(m, a, tok, tgt, e)) return -1;
    acts_rewind(a);
    return acts_run(a, e);
}

int trainer_step_rows(Trainer *t, const int *rows, StepInfo *out, GrErr *e)
{
    Model *m = t->m;
    const Backend *be = m->be;
    const TrainCfg *c = &t->c;
    StepInfo info;
    memset(&info, 0, sizeof info);
    double t0 = now_ms();
    int B = c->batch, T = c->ctx;
    float lr = train_lr_at(c, m->step);
    info.lr = lr;
    model_zero_grad(m);
    double lsum = 0;
    int bad = 0;
    for (int k = 0; k < c->accum && !bad; k++) {
        if (forward_rows(m, t->a, rows + (size_t)k * B * (T + 1), t->tok, t->tgt, e)) return -1;
        float loss = t->a->loss;
        if (!isfinite(loss)) {
            lsum = loss;
            bad = 1;
            break;
        }
        lsum += loss;
        if (model_backward_with(m, t->a, t->bs, 1.0f / (float)c->accum, e)) return -1;
    }
    /* A failed op (a device error) leaves the weights as they were: no update from it. */
    if (be_check(be, e)) return -1;
    info.loss = bad ? (float)lsum : (float)(lsum / c->accum);
    double ss = bad ? NAN : be->sumsq(m->grads, m->total);
    info.grad_norm = (float)sqrt(ss);
    const char *what = bad ? "loss" : "gradient";
    if (!bad && !isfinite(ss)) bad = 1;
    if (!bad) {
        float gscale = 1.0f;
        double norm = sqrt(ss);
        if (c->clip > 0 && norm > c->clip) gscale = (float)(c->clip / norm);
        snapshot(t);
        m->step++;
        model_weights_changed(m);
        for (int i = 0; i < m->nparams; i++) {
            const ParamInfo *p = &m->info[i];
            be->adamw(m->params + p->offset, m->grads + p->offset, m->m + p->offset, m->v + p->offset, p->numel, lr,
                      c->b1, c->b2, c->eps, p->decay ? c->wd : 0.0f, gscale, m->step);
        }
        /* An update can overflow the weights themselves; catch it now, not a step later. */
        if (!isfinite(be->sumsq(m->params, m->total))) {
            bad = 1;
            what = "update";
        }
    }
    if (bad) {
        long at = m->step + (strcmp(what, "update") ? 1 : 0); /* the step that was attempted */
        float v = !strcmp(what, "loss") ? info.loss : (float)ss;
        int restored = restore(t) == 0;
        info.nonfinite = 1;
        info.step = m->step;
        info.ms = now_ms() - t0;
        if (out) *out = info;
        if (!restored)
            return gr_fail(e, "step %ld: the %s is NaN or inf at lr %g; there was no memory for a copy of the last "
                              "good weights, so they could not be restored (try a lower learning rate)", at, what, lr);
        if (!strcmp(what, "update"))
            return gr_fail(e, "step %ld: the update at lr %g made the weights inf or NaN; went back to the weights "
                              "and optimizer state of step %ld (try a lower learning rate)", at, lr, m->step);
        return gr_fail(e, "step %ld: the %s is %s at lr %g; went back to the weights and optimizer state of step %ld, "
                          "the last that trained cleanly (try a lower learning rate or gradient clipping)",
                       at, what, isnan(v) ? "NaN" : "inf", lr, m->step);
    }
    be->sync();
    if (be_check(be, e)) {
        restore(t); /* the update may have been half applied */
        return -1;
    }
    info.step = m->step;
    info.ms = now_ms() - t0;
    info.tok_s = info.ms > 0 ? (double)B * T * c->accum / (info.ms / 1e3) : 0;
    if (out) *out = info;
    return 0;
}

int trainer_step(Trainer *t, StepInfo *out, GrErr *e)
{
    if (!t->d) return gr_fail(e, "this trainer has no dataset to sample batches from");
    const TrainCfg *c = &t->c;
    Rng r;
    rng_seed(&r, step_seed(c->seed, 0x7261696eull /* "rain" */, t->m->step));
    data_batch(t->d, 0, c->batch * c->accum, c->ctx, &r, t->rows);
    return trainer_step_rows(t, t->rows, out, e);
}

float trainer_eval(Trainer *t)
{
    const Dataset *d = t->d;
    if (!d || d->nval < 2) return NAN;
    Model *m = t->m;
    int B = t->c.batch, T = t->c.ctx;
    if ((size_t)T + 1 > d->nval) T = (int)d->nval - 1;
    Acts *a = t->a;
    if (T != t->c.ctx) {
        if (!t->ea || t->eT != T) {
            acts_free(m, t->ea);
            t->ea = acts_new(m, B, T, NULL);
            if (t->ea) t->ea->fp32_only = 1;
            t->eT = T;
            if (!t->ea) return NAN;
        }
        a = t->ea;
    }
    double s = 0;
    for (int i = 0; i < t->c.eval_batches; i++) {
        Rng r;
        rng_seed(&r, step_seed(t->c.seed, 0x6576616cull /* "eval" */, i));
        data_batch(d, 1, B, T, &r, t->rows);
        if (forward_rows(m, a, t->rows, t->tok, t->tgt, NULL)) return NAN;
        s += a->loss;
    }
    return (float)(s / t->c.eval_batches);
}
