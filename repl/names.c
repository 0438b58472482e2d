/* names.c — trace names, parameters and scalars: lookup, listing, explanations. */
#include "names.h"
#include "cmds.h"
#include "backward.h"
#include "expr.h"
#include "lens.h"
#include "runs.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- scalars ---------------- */

static float g_scalar[16];
static int g_nscalar;

static TensorView scalar_view(float v)
{
    float *p = &g_scalar[g_nscalar++ % 16];
    *p = v;
    return tv_make(p, 0, NULL);
}

/* A host list (ids, a loss curve) as a 1-D view; buf grows as needed. */
static int list_view(float **buf, int *cap, int n, const int *ids, const float *vals, TensorView *out, GrErr *e)
{
    if (*cap < n) {
        float *nb = realloc(*buf, sizeof(float) * (size_t)n);
        if (!nb) return gr_fail(e, "out of memory");
        *buf = nb;
        *cap = n;
    }
    for (int i = 0; i < n; i++) (*buf)[i] = ids ? (float)ids[i] : vals[i];
    int sh[1] = {n};
    *out = tv_make(*buf, 1, sh);
    out->dimname[0] = ids ? 't' : 0;
    return 0;
}

#define NEED_MODEL if (!s->m) return gr_fail(e, "no model: make one with 'new tiny' or 'load PATH'")
static int sc_V(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)s->m->cfg.vocab); return 0; }
static int sc_C(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)s->m->cfg.d); return 0; }
static int sc_H(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)s->m->cfg.n_head); return 0; }
static int sc_L(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)s->m->cfg.n_layer); return 0; }
static int sc_ctx(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)s->m->cfg.ctx); return 0; }
static int sc_step(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)s->m->step); return 0; }
static int sc_bpw(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)model_bytes_per_weight(s->m, s->m->prec)); return 0; }
static int sc_bpt(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)model_bytes_per_token(s->m, s->m->prec)); return 0; }
static int sc_params(Session *s, TensorView *o, GrErr *e) { NEED_MODEL; *o = scalar_view((float)s->m->total); return 0; }
static int sc_T(Session *s, TensorView *o, GrErr *e)
{
    if (!s->trace) return gr_fail(e, "T is unknown: nothing has run yet");
    *o = scalar_view((float)s->trace->T);
    return 0;
}
static int sc_loss(Session *s, TensorView *o, GrErr *e)
{
    if (!s->trace || isnan(s->trace->loss))
        return gr_fail(e, s->m && s->m->hist.n ? "no loss yet: 'run' a text of at least two tokens first (after training: "
                                     "train_loss and val_loss)"
                                   : "no loss yet: 'run' a text of at least two tokens first");
    *o = scalar_view(s->trace->loss);
    return 0;
}
static int sc_clean_loss(Session *s, TensorView *o, GrErr *e)
{
    float cl = session_clean_loss(s);
    if (isnan(cl)) return gr_fail(e, "no clean loss: 'run' a text of at least two tokens first");
    *o = scalar_view(cl);
    return 0;
}
static int sc_val_loss(Session *s, TensorView *o, GrErr *e)
{
    NEED_MODEL;
    const LossHistory *h = &s->m->hist;
    if (!h->nval || isnan(h->val[2 * h->nval - 1])) return gr_fail(e, "no validation loss yet: train first");
    *o = scalar_view(h->val[2 * h->nval - 1]);
    return 0;
}
static int sc_train_loss(Session *s, TensorView *o, GrErr *e)
{
    NEED_MODEL;
    if (!s->m->hist.n) return gr_fail(e, "no training loss yet: train first");
    *o = scalar_view(s->m->hist.loss[s->m->hist.n - 1]);
    return 0;
}
static int sc_loss_curve(Session *s, TensorView *o, GrErr *e)
{
    static float *buf;
    static int cap;
    NEED_MODEL;
    if (!s->m->hist.n) return gr_fail(e, "no loss curve yet: train first");
    return list_view(&buf, &cap, s->m->hist.n, NULL, s->m->hist.loss, o, e);
}
static int sc_ids(Session *s, TensorView *o, GrErr *e)
{
    static float *buf;
    static int cap;
    if (!s->trace) return gr_fail(e, "no token ids yet: 'run' a text first");
    return list_view(&buf, &cap, s->trace->T, s->trace->tokens_host, NULL, o, e);
}
static int sc_generated(Session *s, TensorView *o, GrErr *e)
{
    static float *buf;
    static int cap;
    if (!s->ngen) return gr_fail(e, "nothing generated yet: 'generate N' first");
    return list_view(&buf, &cap, s->ngen, s->gen_ids, NULL, o, e);
}

static int sc_lens(Session *s, TensorView *o, GrErr *e)
{
    /* computed once per run: a check names lens several times (and explains itself) */
    static float *buf;
    static size_t cap;
    static unsigned long serial, epoch;
    if (need_finished_run(s, "lens", e)) return -1;
    int D = s->m->cfg.n_layer + 1, T = s->trace->T, V = s->m->cfg.vocab;
    size_t n = (size_t)D * T * V;
    if (serial != s->trace_serial || epoch != s->trace->epoch || cap < n) {
        if (cap < n) {
            float *nb = realloc(buf, sizeof(float) * n);
            if (!nb) return gr_fail(e, "lens: out of memory for %d × %d × %d probabilities", D, T, V);
            buf = nb, cap = n;
        }
        serial = 0; /* nothing valid until every depth is in */
        for (int d = 0; d < D; d++)
            if (lens_probs(s->trace, d, buf + (size_t)d * T * V, NULL, e)) return -1;
        serial = s->trace_serial, epoch = s->trace->epoch;
    }
    int shape[3] = {D, T, V};
    *o = tv_make(buf, 3, shape);
    o->dimname[0] = 'l', o->dimname[1] = 't', o->dimname[2] = 'v';
    return 0;
}
/* The loss each depth's lens prediction would have: mean -ln lens[d, t, tokens[t+1]]. */
static int sc_lens_loss(Session *s, TensorView *o, GrErr *e)
{
    static float buf[4096];
    TensorView lv;
    if (sc_lens(s, &lv, e)) return -1;
    int D = lv.shape[0], T = lv.shape[1], V = lv.shape[2];
    if (T < 2) return gr_fail(e, "lens_loss: the run needs two tokens or more");
    if (D > 4096) return gr_fail(e, "lens_loss: too many layers");
    for (int d = 0; d < D; d++) {
        double acc = 0;
        for (int t = 0; t + 1 < T; t++)
            acc -= log((double)lv.data[((size_t)d * T + t) * V + s->trace->tokens_host[t + 1]]);
        buf[d] = (float)(acc / (T - 1));
    }
    *o = tv_make(buf, 1, &D);
    o->dimname[0] = 'l';
    return 0;
}
static int sc_head_score(Session *s, TensorView *o, GrErr *e)
{
    if (!s->head_score) return gr_fail(e, "head_score: no scores yet: 'heads --score prev|first|induction' first");
    int shape[2] = {s->hs_rows, s->hs_cols};
    *o = tv_make(s->head_score, 2, shape);
    o->dimname[0] = 'l', o->dimname[1] = 'h';
    return 0;
}

typedef struct {
    const char *name;
    int (*get)(Session *s, TensorView *out, GrErr *e);
    const char *help;
} ScalarDef;

static const ScalarDef SCALARS[] = {
    {"V", sc_V, "vocabulary size"},
    {"C", sc_C, "width of the residual stream (also d)"},
    {"d", sc_C, "width of the residual stream (also C)"},
    {"H", sc_H, "attention heads per block"},
    {"L", sc_L, "blocks"},
    {"ctx", sc_ctx, "the model's context: the longest sequence"},
    {"T", sc_T, "tokens in the last run"},
    {"step", sc_step, "optimizer steps the model has taken"},
    {"params", sc_params, "number of parameters"},
    {"bytes_per_weight", sc_bpw, "bytes a matmul weight takes at the current precision, its row's scale included"},
    {"bytes_per_token", sc_bpt, "bytes generation reads per token at the current precision (every weight once)"},
    {"loss", sc_loss, "the last run's loss: mean -ln p(next token)"},
    {"clean_loss", sc_clean_loss, "the last run's loss without the ablations"},
    {"train_loss", sc_train_loss, "the last training step's loss"},
    {"val_loss", sc_val_loss, "the last validation loss"},
    {"loss_curve", sc_loss_curve, "training loss of every step since new or load (1-D; saved with the model)"},
    {"ids", sc_ids, "the last run's token ids (1-D)"},
    {"generated", sc_generated, "the last generate's token ids (1-D)"},
    {"lens", sc_lens, "the logit lens of the last run (L+1, T, V): depth 0 the embedding, L the model's probs"},
    {"lens_loss", sc_lens_loss, "the loss the lens's prediction at each depth would have (L+1); the last is loss"},
    {"head_score", sc_head_score, "the last 'heads' command's scores (L, H)"},
};
#define NSCALARS (int)(sizeof SCALARS / sizeof SCALARS[0])

/* ---------------- lookup ---------------- */

int names_trace_view(Session *s, const TraceEntry *t, TensorView *out, GrErr *e)
{
    const float *data = t->data;
    if (s->m->be != &backend_cpu) {
        static float *mirror;
        static size_t cap;
        if (cap < t->per_batch) {
            float *nm = realloc(mirror, t->per_batch * sizeof(float));
            if (!nm) return gr_fail(e, "out of memory reading '%s'", t->name);
            mirror = nm;
            cap = t->per_batch;
        }
        s->m->be->download(mirror, t->data, t->per_batch * sizeof(float));
        if (be_check(s->m->be, e)) return -1;
        data = mirror;
    }
    *out = tv_make(data, t->ndim, t->shape);
    for (int i = 0; i < t->ndim; i++) out->dimname[i] = t->dimname[i];
    return 0;
}

/* grad.NAME: the gradient of a parameter, after backward, gradcheck or train. */
static int grad_view(Session *s, const char *pname, TensorView *out, GrErr *e)
{
    const ParamInfo *p = model_find_param(s->m, pname);
    if (!p) {
        const TraceDef *d;
        int l;
        if (trace_lookup(&s->m->cfg, pname, &d, &l) == 0) {
            /* a trace tensor's gradient: kept by backward for the last run */
            const TraceEntry *t = s->grad_trace ? acts_find(s->grad_trace, pname) : NULL;
            if (!s->grad_trace)
                return gr_fail(e, "grad.%s: no gradients of the last run yet: 'backward' computes them", pname);
            if (!t || !acts_computed(s->grad_trace, t)) {
                const char *near = backward_fused_into(d->name);
                if (!near) near = "its neighbours";
                return gr_fail(e, "grad.%s: the backward pass steps over %s in one fused operation, so its gradient "
                                  "is never formed; look at grad of %s", pname, d->name, near);
            }
            return names_trace_view(s, t, out, e);
        }
        return gr_fail(e, "grad.%s: '%s' is neither a parameter nor a trace tensor", pname, pname);
    }
    if (!s->grad_what[0] || !s->m->grads)
        return gr_fail(e, "grad.%s: no gradient yet: 'backward' computes them for the last run (train does too)", pname);
    static float *buf;
    static size_t cap;
    if (cap < p->numel) {
        float *nb = realloc(buf, sizeof(float) * p->numel);
        if (!nb) return gr_fail(e, "out of memory reading grad.%s", pname);
        buf = nb, cap = p->numel;
    }
    s->m->be->download(buf, s->m->grads + p->offset, sizeof(float) * p->numel);
    int shape[2] = {p->shape[0], p->shape[1]};
    *out = tv_make(buf, p->ndim, shape);
    if (p->ndim == 2) out->dimname[0] = p->dimname[0], out->dimname[1] = p->dimname[1];
    return 0;
}

/* qerr.NAME: what the stored copy of a matmul weight at the current precision differs
 * from the fp32 weight by (copy - fp32), for hist and eval. */
static int qerr_view(Session *s, const char *pname, TensorView *out, GrErr *e)
{
    Model *m = s->m;
    const ParamInfo *p = model_find_param(m, pname);
    if (!p) return gr_fail(e, "qerr.%s: '%s' is not a parameter", pname, pname);
    if (!p->matmul)
        return gr_fail(e, "qerr.%s: no matrix product reads %s, so it stays fp32 at every precision (the weights "
                          "that have copies: L0.attn.qkv.w, L0.mlp.fc.w, ...)", pname, pname);
    if (m->prec == PREC_FP32)
        return gr_fail(e, "qerr.%s: the precision is fp32, which keeps every weight exactly: 'set precision int8' "
                          "(or bf16) first", pname);
    if (model_precision_ready(m, e)) return -1;
    const QWeight *q = model_qweight(m, m->params + p->offset);
    TensorView w;
    if (!q || model_param_view(m, pname, &w, e)) return q ? -1 : gr_fail(e, "qerr.%s: internal: no copy", pname);
    static float *buf;
    static size_t cap;
    if (cap < p->numel) {
        float *nb = realloc(buf, sizeof(float) * p->numel);
        if (!nb) return gr_fail(e, "out of memory reading qerr.%s", pname);
        buf = nb, cap = p->numel;
    }
    size_t cols = (size_t)p->shape[1];
    for (size_t i = 0; i < p->numel; i++) buf[i] = quant_value(q, i / cols, i % cols) - w.data[i];
    int shape[2] = {p->shape[0], p->shape[1]};
    *out = tv_make(buf, 2, shape);
    out->dimname[0] = p->dimname[0], out->dimname[1] = p->dimname[1];
    return 0;
}

static int piece_id(void *session, const char *text, GrErr *e) { return session_one_token(session, text, e); }

static void decode_ids(void *session, const int *ids, size_t n, StrBuf *out)
{
    Session *s = session;
    tok_decode(&s->tok, ids, n, out);
}

ExprHost names_host(Session *s)
{
    return (ExprHost){.lookup = names_lookup, .ctx = s, .piece_id = s->m ? piece_id : NULL,
                      .decode = s->m ? decode_ids : NULL, .vocab = s->m ? s->m->cfg.vocab : 0};
}

/* RUN.REST: a tensor of a kept run, or its loss, T or ids. */
static int run_view(Session *s, const Acts *a, const char *run, const char *rest, TensorView *out, GrErr *e)
{
    static float *buf;
    static int cap;
    if (!strcmp(rest, "loss")) {
        if (isnan(a->loss)) return gr_fail(e, "%s.loss: the run has one token, so no loss", run);
        *out = scalar_view(a->loss);
        return 0;
    }
    if (!strcmp(rest, "T")) { *out = scalar_view((float)a->T); return 0; }
    if (!strncmp(rest, "grad.", 5))
        return gr_fail(e, "%s.%s: gradients belong to the model, not to a kept run (grad.NAME after backward)", run, rest);
    if (!strcmp(rest, "ids")) return list_view(&buf, &cap, a->T, a->tokens_host, NULL, out, e);
    const TraceEntry *t = acts_find(a, rest);
    if (!t) return gr_fail(e, "run %s has no tensor '%s' (its names are the trace's, and loss, T, ids)", run, rest);
    if (!acts_computed(a, t)) return gr_fail(e, "%s.%s was not computed in that run", run, rest);
    return names_trace_view(s, t, out, e);
}

int names_reserved(Session *s, const char *word)
{
    if (!strcmp(word, "grad") || !strcmp(word, "qerr") || !strcmp(word, "last")) return 1;
    for (int i = 0; i < NSCALARS; i++)
        if (!strcmp(SCALARS[i].name, word)) return 1;
    size_t n = strlen(word);
    int nd;
    const TraceDef *defs = trace_defs(&nd);
    for (int i = 0; i < nd; i++)
        if (!defs[i].per_layer && !strncmp(defs[i].name, word, n) && (!defs[i].name[n] || defs[i].name[n] == '.')) return 1;
    if (s->m)
        for (int i = 0; i < s->m->nparams; i++) {
            const char *p = s->m->info[i].name;
            if (!strncmp(p, word, n) && (!p[n] || p[n] == '.')) return 1;
        }
    return 0;
}

int names_lookup(void *session, const char *name, TensorView *out, GrErr *e)
{
    Session *s = session;
    const char *rest;
    const Acts *ra = runs_split(s, name, &rest);
    if (ra) {
        char run[40];
        snprintf(run, sizeof run, "%.*s", (int)(rest - 1 - name), name);
        return run_view(s, ra, run, rest, out, e);
    }
    for (int i = 0; i < NSCALARS; i++)
        if (!strcmp(SCALARS[i].name, name)) return SCALARS[i].get(s, out, e);
    if (!s->m) return gr_fail(e, "no model: make one with 'new tiny' or 'load PATH'");
    const GptConfig *c = &s->m->cfg;
    if (s->trace) {
        const TraceEntry *t = acts_find(s->trace, name);
        if (t) {
            if (!acts_computed(s->trace, t))
                return gr_fail(e, "'%s' has not been computed yet: 'step' further or 'continue'", name);
            return names_trace_view(s, t, out, e);
        }
    }
    if (model_find_param(s->m, name)) return model_param_view(s->m, name, out, e);
    if (!strncmp(name, "grad.", 5)) return grad_view(s, name + 5, out, e);
    if (!strncmp(name, "qerr.", 5)) return qerr_view(s, name + 5, out, e);
    const TraceDef *d;
    int layer;
    if (!s->trace && trace_lookup(c, name, &d, &layer) == 0)
        return gr_fail(e, "'%s' is part of a run: 'run \"some text\"' first", name);
    if (name[0] == 'L' && isdigit((unsigned char)name[1])) {
        long l = strtol(name + 1, NULL, 10);
        if (l >= c->n_layer)
            return gr_fail(e, "unknown tensor '%s' (the model has %d layer%s: L0..L%d)", name, c->n_layer,
                           c->n_layer == 1 ? "" : "s", c->n_layer - 1);
    }
    char sug[64];
    if (names_suggest(s, name, sug, sizeof sug))
        return gr_fail(e, "unknown tensor '%s' (did you mean '%s'? 'help names' says what names exist)", name, sug);
    return gr_fail(e, "unknown tensor '%s' ('where' lists the trace, 'params --by layer' the parameters)", name);
}

int names_view(Session *s, const char *spec, TensorView *out, GrErr *e)
{
    char name[128];
    const char *br = strchr(spec, '[');
    size_t n = br ? (size_t)(br - spec) : strlen(spec);
    if (n >= sizeof name) return gr_fail(e, "name too long: %.40s...", spec);
    if (n == 0) return gr_fail(e, "expected a tensor name before '[' in '%s'", spec);
    memcpy(name, spec, n);
    name[n] = 0;
    TensorView v;
    if (names_lookup(s, name, &v, e)) return -1;
    if (!br) {
        *out = v;
        return 0;
    }
    const char *end = strrchr(br, ']');
    if (!end || end[1]) return gr_fail(e, "bad slice in '%s': expected NAME[...]", spec);
    char sl[128];
    size_t k = (size_t)(end - br - 1);
    if (k >= sizeof sl) return gr_fail(e, "slice too long");
    memcpy(sl, br + 1, k);
    sl[k] = 0;
    return tv_slice(&v, sl, out, e);
}

/* ---------------- listing ---------------- */

void names_each(Session *s, unsigned what, void (*fn)(void *ctx, const char *name), void *ctx)
{
    if (what & NAMES_SCALARS)
        for (int i = 0; i < NSCALARS; i++) fn(ctx, SCALARS[i].name);
    if (!s->m) return;
    if (what & NAMES_TRACE) {
        if (s->trace) {
            for (int i = 0; i < s->trace->nentries; i++) fn(ctx, s->trace->entries[i].name);
        } else {
            /* Nothing has run: the names a run of this model would have. */
            int n;
            const TraceDef *d = trace_defs(&n);
            unsigned flags = cfg_flags(&s->m->cfg);
            for (int l = -1; l < s->m->cfg.n_layer; l++)
                for (int i = 0; i < n; i++) {
                    if (d[i].hidden || (d[i].when & flags) != d[i].when || d[i].per_layer != (l >= 0)) continue;
                    char nm[64];
                    if (l >= 0) snprintf(nm, sizeof nm, "L%d.%s", l, d[i].name);
                    else snprintf(nm, sizeof nm, "%s", d[i].name);
                    fn(ctx, nm);
                }
        }
    }
    if (what & NAMES_TRACE) {
        /* a kept run's tensors: clean.L0.pattern, ... */
        for (int r = 0; r < s->nruns; r++)
            for (int i = 0; i < s->runs[r].a->nentries; i++) {
                char nm[80];
                snprintf(nm, sizeof nm, "%s.%s", s->runs[r].name, s->runs[r].a->entries[i].name);
                fn(ctx, nm);
            }
    }
    if (what & NAMES_PARAMS)
        for (int i = 0; i < s->m->nparams; i++) fn(ctx, s->m->info[i].name);
    if ((what & NAMES_PARAMS) && s->grad_what[0])
        for (int i = 0; i < s->m->nparams; i++) {
            char nm[48];
            snprintf(nm, sizeof nm, "grad.%s", s->m->info[i].name);
            fn(ctx, nm);
        }
    if ((what & NAMES_PARAMS) && s->m->prec != PREC_FP32)
        for (int i = 0; i < s->m->nparams; i++)
            if (s->m->info[i].matmul) {
                char nm[48];
                snprintf(nm, sizeof nm, "qerr.%s", s->m->info[i].name);
                fn(ctx, nm);
            }
    if ((what & NAMES_STAGES) && s->trace)
        for (int i = 0; i < s->trace->nstages; i++) fn(ctx, s->trace->stages[i].name);
}

typedef struct {
    const char *cands[4096];
    char store[4096][40];
    int n;
} Cands;

static void add_cand(void *ctx, const char *name)
{
    Cands *c = ctx;
    if (c->n >= 4096) return;
    snprintf(c->store[c->n], sizeof c->store[0], "%s", name);
    c->cands[c->n] = c->store[c->n];
    c->n++;
}

const char *names_suggest(Session *s, const char *name, char *buf, size_t n)
{
    static Cands c;
    c.n = 0;
    names_each(s, NAMES_TRACE | NAMES_PARAMS | NAMES_SCALARS, add_cand, &c);
    const char *sug = gr_suggest(name, c.cands, c.n);
    if (!sug) return NULL;
    snprintf(buf, n, "%s", sug);
    return buf;
}

/* ---------------- help and explain ---------------- */

void names_help(StrBuf *out)
{
    sb_puts(out,
            "names:\n"
            "  name    := [RUN '.'] [grad '.' | qerr '.'] BASE [ '[' slice ']' ]...\n"
            "  BASE    a trace name, a parameter or a scalar:\n"
            "  trace names    the last run's tensors: embed, L0.ln1.xhat, L0.q, L0.pattern, ..., logits, probs,\n"
            "                 losses ('where' lists them with their stages, 'explain NAME' says what one is)\n"
            "  parameters     wte, wpe, L0.attn.qkv.w, L0.mlp.fc.b, lnf.w, ... ('params --by layer')\n"
            "  RUN.NAME       a trace name of a kept run (run --as clean ...): clean.L0.pattern, clean.loss,\n"
            "                 clean.T, clean.ids. A run's name is lowercase letters, digits and _, and may not\n"
            "                 begin any other name (wte, lnf, embed, logits, grad, loss ... are refused), so\n"
            "                 clean.X means one thing; 'last' is the unnamed last run in diff\n"
            "  grad.NAME      d loss / d NAME after backward: a parameter (grad.wte; after train the last\n"
            "                 step's) or a trace tensor of the last run (grad.L0.pattern, grad.embed; not\n"
            "                 the xhat's, masked, probs, losses, which the backward pass steps over);\n"
            "                 kept runs have no gradients (RUN.grad.X is refused)\n"
            "  qerr.NAME      a matmul weight's stored copy minus the fp32 weight, at the precision 'set\n"
            "                 precision' chose (hist qerr.L0.mlp.fc.w; int8: within half a step of its row)\n"
            "  slices         NAME[3], NAME[3,:8], NAME[h=2,t=0:4], NAME[-1]: an index drops a dimension,\n"
            "                 a range a:b keeps it (negative counts from the end); h head, t query\n"
            "                 position, s key position, c channel, v vocabulary entry\n"
            "  in ablate and patch a slice restricts: L0.pattern[h=2], L0.ctx[h=1,t=3] (head h is\n"
            "                 ctx's columns h·hd..(h+1)·hd); a parameter takes any slice: wte[v=3]\n"
            "  ablate modes   zero, mean, identity, uniform, copy:OTHER (OTHER a trace name of the same\n"
            "                 run); patches copy from a kept run instead: patch NAME from RUN\n"
            "  in new         vocab=chars:FILE reads FILE's characters; FILE is a path, not a name\n"
            "  strings        \"to\" in expressions: id(\"to\"), logit(\"to\"), decode(ids) ('help eval')\n"
            "  scalars:\n");
    for (int i = 0; i < NSCALARS; i++) sb_printf(out, "    %-12s %s\n", SCALARS[i].name, SCALARS[i].help);
}

static const char *kind_name(TraceKind k)
{
    return k == TK_PROB ? "probabilities in [0, 1]" : k == TK_MASKED ? "signed, -inf where masked" : "signed";
}

static const char *init_name(int init)
{
    static const char *n[] = {"0", "1", "N(0, 0.02)", "N(0, 0.02/sqrt(2·L))"};
    return init >= 0 && init < 4 ? n[init] : "?";
}

int names_explain(Session *s, const char *name, StrBuf *out, GrErr *e)
{
    for (int i = 0; i < NSCALARS; i++)
        if (!strcmp(SCALARS[i].name, name)) {
            sb_printf(out, "%s: %s (a name in expressions)\n", name, SCALARS[i].help);
            return 0;
        }
    if (!s->m) return gr_fail(e, "no model: make one with 'new tiny' or 'load PATH'");
    const GptConfig *c = &s->m->cfg;
    const TraceDef *d;
    int layer;
    if (trace_lookup(c, name, &d, &layer) == 0) {
        const TraceEntry *t = s->trace ? acts_find(s->trace, name) : NULL;
        sb_printf(out, "%s  %s\n", name, d->meaning);
        if (t) {
            TensorView v = tv_make(NULL, t->ndim, t->shape);
            char shp[64];
            tv_shape_str(&v, shp, sizeof shp);
            sb_printf(out, "  shape     %s %s\n", trace_shape_str(d), shp);
        } else sb_printf(out, "  shape     %s\n", trace_shape_str(d));
        sb_printf(out, "  equation  %s\n", c->post_norm && d->equation_post ? d->equation_post : d->equation);
        char stage[48];
        if (layer >= 0) snprintf(stage, sizeof stage, "L%d.%s", layer, d->stage);
        else snprintf(stage, sizeof stage, "%s", d->stage);
        if (s->trace) {
            int k = acts_stage_index(s->trace, stage);
            sb_printf(out, "  stage     %s (%d of %d)%s\n", stage, k + 1, s->trace->nstages,
                      t && acts_computed(s->trace, t) ? ", computed" : ", not computed yet");
        } else sb_printf(out, "  stage     %s\n", stage);
        sb_printf(out, "  values    %s\n", kind_name(d->kind));
        return 0;
    }
    const ParamInfo *p = model_find_param(s->m, name);
    if (p) {
        static const char *groups[PG_COUNT] = {"embeddings", "attention", "MLP", "LayerNorm", "unembedding"};
        if (p->ndim == 2) sb_printf(out, "%s  a parameter (%d, %d)", name, p->shape[0], p->shape[1]);
        else sb_printf(out, "%s  a parameter (%d)", name, p->shape[0]);
        sb_printf(out, ", %zu values, group %s, init %s%s\n", p->numel, groups[p->group], init_name(p->init),
                  p->decay ? ", weight decay" : "");
        return 0;
    }
    if (s->trace) {
        int k = acts_stage_index(s->trace, name);
        if (k >= 0) {
            sb_printf(out, "%s  stage %d of %d: %s\n", name, k + 1, s->trace->nstages, stage_meaning(&s->trace->stages[k]));
            return 0;
        }
    }
    char sug[64];
    if (names_suggest(s, name, sug, sizeof sug))
        return gr_fail(e, "'%s' names nothing (did you mean '%s'?)", name, sug);
    return gr_fail(e, "'%s' names nothing: 'help names' says what names exist", name);
}
