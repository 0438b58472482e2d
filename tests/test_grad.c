/* test_grad.c — the backward pass and AdamW against PyTorch (tests/fixtures), and
 * central finite differences on tiny random models of every variant. */
#include "harness.h"
#include "fixture.h"
#include "ckpt.h"
#include "backward.h"
#include "gradcheck.h"
#include "stages.h"
#include "rng.h"
#include "safetensors.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>


static float *read_ref(StFile *ref, const char *name, size_t want_numel)
{
    GrErr e = {{0}};
    const StTensor *t = st_find(ref, name);
    if (!t) { fprintf(stderr, "fixture has no '%s'\n", name); return NULL; }
    if (want_numel && t->numel != want_numel) {
        fprintf(stderr, "fixture '%s' has %zu values, expected %zu\n", name, t->numel, want_numel);
        return NULL;
    }
    float *x = malloc(sizeof(float) * t->numel);
    if (x && st_read_f32(ref, t, x, &e)) { fprintf(stderr, "%s\n", e.msg); free(x); return NULL; }
    return x;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double md = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= md)) md = d; /* NaN propagates */
    }
    return md;
}

/* (a) every grad.<param> after forward + backward on the ref tokens */
static void grad_parity(const char *name)
{
    StFile ref;
    Model *m = fixture_open(name, &ref);
    if (!m) return;
    GrErr e = {{0}};
    const StTensor *tt = st_find(&ref, "tokens");
    int T = (int)tt->numel;
    int *tok = malloc(sizeof(int) * (size_t)T);
    st_read_i32(&ref, tt, tok, &e);
    Acts *a = acts_new(m, 1, T, &e);
    CHECK(a && acts_set_tokens(m, a, tok, NULL, &e) == 0);
    CHECK(acts_run(a, &e) == 0);
    CHECK(model_alloc_train(m, &e) == 0);
    model_zero_grad(m);
    CHECK(model_backward(m, a, &e) == 0);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *p = &m->info[i];
        char gn[64];
        snprintf(gn, sizeof gn, "grad.%s", p->name);
        float *want = read_ref(&ref, gn, p->numel);
        CHECK(want != NULL);
        if (!want) continue;
        double md = max_abs_diff(m->grads + p->offset, want, p->numel);
        if (!(md <= 1e-4)) fprintf(stderr, "%s: %s max abs diff %.3g\n", name, gn, md);
        CHECK(md <= 1e-4);
        if (!(md <= worst)) { worst = md; worst_name = p->name; }
        free(want);
    }
    /* Backward accumulates: a second pass doubles the gradient. */
    float *g1 = malloc(m->total * sizeof(float));
    memcpy(g1, m->grads, m->total * sizeof(float));
    CHECK(model_backward(m, a, &e) == 0);
    double acc = 0;
    for (size_t i = 0; i < m->total; i++) acc = fmax(acc, fabs(m->grads[i] - 2.0f * g1[i]));
    CHECK(acc <= 1e-6);
    printf("grad %-5s: %d parameters, max abs diff %.3g (%s); accumulation %.2g\n", name, m->nparams, worst,
           worst_name, acc);
    free(g1);
    acts_free(m, a);
    free(tok);
    st_close(&ref);
    model_free(m);
}

TEST(grad_gpt) { grad_parity("gpt"); }
TEST(grad_post) { grad_parity("post"); }
TEST(grad_misc) { grad_parity("misc"); }

/* (b) 10 AdamW steps on train.batch with the fixture's hyperparameters */
static double meta_num(const StFile *f, const char *key)
{
    const char *v = st_meta(f, key);
    return v ? atof(v) : NAN;
}

static void adamw_parity(const char *name)
{
    StFile ref;
    Model *m = fixture_open(name, &ref);
    if (!m) return;
    GrErr e = {{0}};
    int B = (int)meta_num(&ref, "train.B"), T = (int)meta_num(&ref, "train.T"), steps = (int)meta_num(&ref, "train.steps");
    const StTensor *bt = st_find(&ref, "train.batch");
    CHECK(bt && bt->numel == (size_t)B * (T + 1));
    int *rows = malloc(sizeof(int) * bt->numel);
    st_read_i32(&ref, bt, rows, &e);
    float *losses = read_ref(&ref, "train.losses", (size_t)steps);
    TrainCfg c;
    train_cfg_default(&c);
    c.batch = B;
    c.ctx = T;
    c.lr = c.min_lr = (float)meta_num(&ref, "train.lr");
    c.warmup = 0;
    c.steps = 0;
    c.b1 = (float)meta_num(&ref, "train.beta1");
    c.b2 = (float)meta_num(&ref, "train.beta2");
    c.eps = (float)meta_num(&ref, "train.eps");
    c.wd = (float)meta_num(&ref, "train.weight_decay");
    c.clip = 0;
    c.accum = 1;
    Trainer *t = trainer_new(m, &c, NULL, &e);
    CHECK(t != NULL);
    if (!t) fprintf(stderr, "%s\n", e.msg);
    double worst = 0;
    for (int i = 0; t && losses && i < steps; i++) {
        StepInfo si;
        CHECK(trainer_step_rows(t, rows, &si, &e) == 0);
        CHECK(si.lr == c.lr);
        double d = fabs((double)si.loss - losses[i]);
        if (!(d <= 1e-4)) fprintf(stderr, "%s: step %d loss %.7f vs torch %.7f\n", name, i + 1, si.loss, losses[i]);
        CHECK(d <= 1e-4);
        if (!(d <= worst)) worst = d;
    }
    CHECK(m->step == steps);
    const char *finals[2] = {"wte", "L0.attn.qkv.w"};
    double fd[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char rn[64];
        snprintf(rn, sizeof rn, "train.final.%s", finals[k]);
        const ParamInfo *p = model_find_param(m, finals[k]);
        float *want = p ? read_ref(&ref, rn, p->numel) : NULL;
        CHECK(want != NULL);
        if (!want) continue;
        fd[k] = max_abs_diff(m->params + p->offset, want, p->numel);
        if (!(fd[k] <= 1e-4)) fprintf(stderr, "%s: %s after %d steps: max abs diff %.3g\n", name, rn, steps, fd[k]);
        CHECK(fd[k] <= 1e-4);
        free(want);
    }
    printf("adamw %-5s: %d steps, loss %.5f -> %.5f, max loss diff %.3g, final wte diff %.3g, qkv.w diff %.3g\n",
           name, steps, losses ? losses[0] : NAN, losses ? losses[steps - 1] : NAN, worst, fd[0], fd[1]);
    trainer_free(t);
    free(losses);
    free(rows);
    st_close(&ref);
    model_free(m);
}

TEST(adamw_gpt) { adamw_parity("gpt"); }
TEST(adamw_post) { adamw_parity("post"); }
TEST(adamw_misc) { adamw_parity("misc"); }

/* (c) central finite differences on tiny random models of every variant.
 *
 * The loss is float32 (spacing 2.4e-7 near 2.5), so the step h trades truncation
 * error (∝ h²) against rounding (≈ 2.4e-7 / 2h): h = 1e-2 on weights of size ~0.3
 * leaves ~1e-5 of noise and ~1e-3 relative truncation error. For each parameter tensor
 * we test its FD_PICK largest-|gradient| entries and FD_PICK random ones; an entry
 * passes when |fd - g| ≤ FD_REL·|g| + FD_ABS (FD_ABS lets entries with negligible
 * gradient pass on their absolute error).
 * ReLU is not differentiable at 0: with h = 1e-2 some of the ~900 ReLU inputs cross 0
 * and the difference quotient includes the kink. For act=relu we use h = 1e-3 and skip
 * (and count) the entries whose ±h perturbation flips the sign of any ReLU input. */
#define FD_H 1e-2f
#define FD_H_RELU 1e-3f
#define FD_REL 1e-2
#define FD_ABS 2e-4
#define FD_PICK 3

typedef struct {
    const char *name;
    const char *kv[6][2];
} Variant;

static const Variant VARIANTS[] = {
    {"pre", {{NULL, NULL}}},
    {"post", {{"norm", "post"}}},
    {"tie-off", {{"tie", "off"}}},
    {"post-tie-off", {{"norm", "post"}, {"tie", "off"}}},
    {"relu", {{"act", "relu"}}},
    {"pos-none", {{"pos", "none"}}},
    {"mlp-off", {{"mlp", "off"}}},
    {"post-mlp-off", {{"norm", "post"}, {"mlp", "off"}}},
    {"logit-scale", {{"logit_scale", "on"}}},
};

static double fd_worst_rel_all;

static float loss_at(Model *m, Acts *a)
{
    (void)m;
    acts_rewind(a);
    acts_run(a, NULL);
    return a->loss;
}

/* Signs of every MLP pre-activation (the ReLU inputs), packed into signs. */
static void relu_signs(const Model *m, const Acts *a, unsigned char *signs)
{
    size_t n = (size_t)a->B * a->T * 4 * m->cfg.d, k = 0;
    for (int l = 0; l < m->cfg.n_layer; l++)
        for (size_t i = 0; i < n; i++) signs[k++] = a->layer[l].fc[i] > 0;
}

static void fd_variant(const Variant *v, uint64_t seed)
{
    GrErr e = {{0}};
    GptConfig c;
    memset(&c, 0, sizeof c);
    snprintf(c.preset, sizeof c.preset, "fd");
    c.n_layer = 2;
    c.n_head = 2;
    c.d = 8;
    c.ctx = 8;
    c.vocab = 13;
    c.tie = 1;
    c.pos = 1;
    c.mlp = 1;
    c.tokenizer = TOK_BYTE;
    for (int i = 0; i < 6 && v->kv[i][0]; i++) CHECK(cfg_set(&c, v->kv[i][0], v->kv[i][1], &e) == 0);
    Model *m = model_new(&c, &backend_cpu, &e);
    CHECK(m != NULL);
    if (!m) { fprintf(stderr, "%s\n", e.msg); return; }
    /* Weights well away from the 0.02 init so every path carries a visible gradient. */
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *p = &m->info[i];
        int gain = strstr(p->name, "ln") && p->name[strlen(p->name) - 1] == 'w';
        for (size_t j = 0; j < p->numel; j++) {
            double z = rng_normal(&r);
            m->params[p->offset + j] = (float)(p->ndim == 2 ? 0.3 * z : gain ? 1.0 + 0.1 * z : 0.1 * z);
        }
    }
    int B = 2, T = 7;
    int tok[14], tgt[14];
    for (int i = 0; i < B * T; i++) {
        tok[i] = (int)rng_below(&r, (uint64_t)c.vocab);
        tgt[i] = (int)rng_below(&r, (uint64_t)c.vocab);
    }
    tgt[3] = -1; /* ignored positions must not contribute */
    tgt[13] = -1;
    Acts *a = acts_new(m, B, T, &e);
    CHECK(a && acts_set_tokens(m, a, tok, tgt, &e) == 0);
    loss_at(m, a);
    model_zero_grad(m);
    CHECK(model_backward(m, a, &e) == 0);
    float *g = malloc(m->total * sizeof(float));
    memcpy(g, m->grads, m->total * sizeof(float));
    int relu = c.relu && c.mlp;
    float h = relu ? FD_H_RELU : FD_H;
    size_t nsign = (size_t)c.n_layer * B * T * 4 * c.d;
    unsigned char *s0 = malloc(nsign), *s1 = malloc(nsign);
    if (relu) relu_signs(m, a, s0);
    int tested = 0, failed = 0, kinks = 0;
    double worst_rel = 0, worst_abs = 0;
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *p = &m->info[i];
        size_t pick[2 * FD_PICK];
        int np = 0;
        /* the largest |g| entries */
        for (int k = 0; k < FD_PICK && (size_t)k < p->numel; k++) {
            size_t best = 0;
            double bv = -1;
            for (size_t j = 0; j < p->numel; j++) {
                int used = 0;
                for (int q = 0; q < np; q++) used |= pick[q] == j;
                if (!used && fabs(g[p->offset + j]) > bv) { bv = fabs(g[p->offset + j]); best = j; }
            }
            pick[np++] = best;
        }
        for (int k = 0; k < FD_PICK; k++) pick[np++] = (size_t)rng_below(&r, p->numel);
        for (int k = 0; k < np; k++) {
            float *x = &m->params[p->offset + pick[k]];
            float x0 = *x, xp = x0 + h, xm = x0 - h;
            int kink = 0;
            *x = xp;
            double lp = loss_at(m, a);
            if (relu) { relu_signs(m, a, s1); kink |= memcmp(s0, s1, nsign) != 0; }
            *x = xm;
            double lm = loss_at(m, a);
            if (relu) { relu_signs(m, a, s1); kink |= memcmp(s0, s1, nsign) != 0; }
            *x = x0;
            if (kink) { kinks++; continue; }
            double fd = (lp - lm) / ((double)xp - xm);
            double an = g[p->offset + pick[k]];
            double err = fabs(fd - an);
            int ok = err <= FD_REL * fabs(an) + FD_ABS;
            tested++;
            if (!ok) {
                failed++;
                fprintf(stderr, "fd %s: %s[%zu] analytic %.6g, finite difference %.6g\n", v->name, p->name, pick[k], an, fd);
            }
            if (fabs(an) > 1e-2 && err / fabs(an) > worst_rel) worst_rel = err / fabs(an);
            if (err > worst_abs) worst_abs = err;
        }
    }
    CHECK(failed == 0);
    CHECK(tested >= 2 * m->nparams);
    if (worst_rel > fd_worst_rel_all) fd_worst_rel_all = worst_rel;
    printf("fd %-13s: h %g, %3d entries, %d outside tolerance, max rel err %.2g (|g| > 1e-2), max abs err %.2g",
           v->name, (double)h, tested, failed, worst_rel, worst_abs);
    if (relu) printf(", %d skipped (a ReLU input crossed 0)", kinks);
    printf("\n");
    free(s0);
    free(s1);
    free(g);
    acts_free(m, a);
    model_free(m);
}

TEST(finite_differences)
{
    printf("fd: pass when |fd - g| <= %g|g| + %g; %d largest + %d random entries per tensor\n", FD_REL, FD_ABS,
           FD_PICK, FD_PICK);
    for (size_t i = 0; i < sizeof VARIANTS / sizeof VARIANTS[0]; i++) fd_variant(&VARIANTS[i], 1000 + i);
    printf("fd: worst relative error over all variants %.2g\n", fd_worst_rel_all);
}

/* A backward with no counted target is an error, not a NaN gradient. */
TEST(no_targets)
{
    GrErr e = {{0}};
    Model *m = ckpt_load("tests/fixtures/misc.safetensors", &backend_cpu, NULL, &e);
    CHECK(m != NULL);
    if (!m) return;
    Acts *a = acts_new(m, 1, 1, &e);
    int tok = 3;
    CHECK(acts_set_tokens(m, a, &tok, NULL, &e) == 0);
    acts_run(a, &e);
    e.msg[0] = 0;
    CHECK(model_backward(m, a, &e) == -1);
    CHECK(strstr(e.msg, "target") != NULL);
    acts_free(m, a);
    model_free(m);
}

/* gradcheck passes on every parameter of a tiny model, and fails when the backward pass
 * is wrong: a backend whose GELU backward is 10% too large. */
static void broken_gelu_backward(float *dx, const float *x, const float *dout, size_t n)
{
    float *tmp = calloc(n, sizeof(float));
    backend_cpu.gelu_backward(tmp, x, dout, n);
    for (size_t i = 0; i < n; i++) dx[i] += 1.1f * tmp[i];
    free(tmp);
}

TEST(gradcheck_every_parameter_and_a_broken_backward)
{
    GrErr e = {{0}};
    GptConfig c;
    cfg_preset(&c, "tiny", &e);
    c.n_layer = 2, c.d = 16, c.ctx = 12;
    Model *m = model_new(&c, &backend_cpu, &e);
    model_init_random(m, 77);
    int tok[10] = {5, 17, 33, 2, 71, 40, 12, 9, 88, 61};
    GradCheckEntry r[4];
    int all_ok = 1;
    for (int i = 0; i < m->nparams; i++) {
        CHECK(gradcheck_param(m, tok, 10, NULL, 0, m->info[i].name, 4, 5, r, &e) == 0);
        for (int k = 0; k < 4; k++) {
            if (!r[k].ok) fprintf(stderr, "gradcheck %s[%zu]: %g vs %g\n", m->info[i].name, r[k].index, r[k].analytic, r[k].numeric);
            all_ok &= r[k].ok;
        }
    }
    CHECK(all_ok);
    static Backend broken;
    broken = backend_cpu;
    broken.gelu_backward = broken_gelu_backward;
    m->be = &broken;
    CHECK(gradcheck_param(m, tok, 10, NULL, 0, "L0.mlp.fc.w", 4, 5, r, &e) == 0);
    int caught = 0;
    for (int k = 0; k < 4; k++) caught += !r[k].ok;
    CHECK(caught >= 2); /* the largest gradients are 10% off: far outside 1% */
    m->be = &backend_cpu;
    CHECK(gradcheck_param(m, tok, 1, NULL, 0, "wte", 4, 5, r, &e) == -1 && strstr(e.msg, "two tokens"));
    CHECK(gradcheck_param(m, tok, 10, NULL, 0, "nope", 4, 5, r, &e) == -1 && strstr(e.msg, "unknown parameter"));
    model_free(m);
}

/* The trace's gradients (model_backward_trace) against finite differences through the
 * stages themselves: run to the stage that writes X, nudge one entry of X, run the rest. */
static double loss_nudged(Acts *a, const TraceEntry *t, size_t k, float h)
{
    GrErr e;
    acts_rewind(a);
    while (a->next <= t->stage) acts_step(a);
    t->data[k] += h;
    acts_run(a, &e);
    return a->loss;
}

TEST(trace_gradients_against_finite_differences)
{
    GrErr e = {{0}};
    /* the third pass: Pre-LN with ablations and a patch in force, backwards too */
    for (int post = 0; post < 3; post++) {
        GptConfig c;
        cfg_preset(&c, "tiny", &e);
        c.n_layer = 2, c.d = 16, c.ctx = 12, c.post_norm = post == 1;
        Model *m = model_new(&c, &backend_cpu, &e);
        model_init_random(m, 31);
        for (size_t i = 0; i < m->total; i++) m->params[i] *= 4.0f; /* away from uniform attention */
        int tok[10] = {5, 17, 33, 2, 71, 40, 12, 9, 88, 61};
        Acts *a = acts_new(m, 1, 10, &e), *g = acts_new(m, 1, 10, &e), *src = NULL;
        Ablation ab[6];
        memset(ab, 0, sizeof ab);
        if (post == 2) {
            int tok2[10] = {5, 17, 33, 2, 70, 40, 12, 9, 88, 61};
            src = acts_new(m, 1, 10, &e);
            CHECK(acts_set_tokens(m, src, tok2, NULL, &e) == 0 && acts_run(src, &e) == 0);
            const char *spec[6] = {"L0.pattern[h=1]", "L1.ctx[h=0,t=3]", "L0.attn", "L1.mlp", "L0.resid[t=6]", "L1.q[h=2]"};
            AblMode mode[6] = {ABL_UNIFORM, ABL_ZERO, ABL_MEAN, ABL_ZERO, ABL_COPY, ABL_ZERO};
            for (int k = 0; k < 6; k++) {
                CHECK(abl_parse_target(&ab[k], spec[k], &e) == 0);
                ab[k].mode = mode[k];
                if (mode[k] == ABL_COPY) ab[k].src = src, memcpy(ab[k].other, ab[k].target, sizeof ab[k].other);
                CHECK(acts_check_ablation(a, &ab[k], &e) == 0 && abl_backward_ok(&ab[k], &e) == 0);
            }
            a->abl = ab;
            a->nabl = 6;
        }
        CHECK(acts_set_tokens(m, a, tok, NULL, &e) == 0 && acts_run(a, &e) == 0);
        model_zero_grad(m);
        CHECK(model_backward_trace(m, a, g, &e) == 0);
        int kept = 0, tested = 0, bad = 0;
        for (int i = 0; i < g->nentries; i++) {
            const TraceEntry *gt = &g->entries[i], *t = acts_find(a, gt->name);
            if (!acts_computed(g, gt)) continue;
            kept++;
            /* the entry of largest |g|, and two random ones */
            size_t n = gt->per_batch, pick[3] = {0, (size_t)(i * 7919) % n, (size_t)(i * 104729 + 13) % n};
            for (size_t k = 1; k < n; k++)
                if (fabsf(gt->data[k]) > fabsf(gt->data[pick[0]])) pick[0] = k;
            for (int q = 0; q < 3; q++) {
                size_t k = pick[q];
                if (!isfinite(t->data[k])) continue;
                float x0 = t->data[k], h = 1e-3f;
                double lp = loss_nudged(a, t, k, h);
                t->data[k] = x0;
                double lm = loss_nudged(a, t, k, -h);
                t->data[k] = x0;
                double fd = (lp - lm) / (2.0 * h), an = gt->data[k];
                double ulp = (double)nextafterf(a->loss, INFINITY) - a->loss;
                int ok = fabs(fd - an) <= 1e-2 * fabs(an) + 2 * ulp / (2.0 * h) + 1e-6;
                tested++;
                if (!ok) {
                    bad++;
                    fprintf(stderr, "trace grad %s %s[%zu]: backprop %.6g, finite difference %.6g\n",
                            post ? "post" : "pre", gt->name, k, an, fd);
                }
            }
        }
        acts_rewind(a);
        acts_run(a, &e);
        printf("trace gradients %s: %d tensors kept, %d entries against finite differences, %d outside\n",
               post == 1 ? "Post-LN" : post ? "Pre-LN, 5 ablations and a patch in force" : "Pre-LN", kept, tested, bad);
        CHECK(bad == 0);
        CHECK(kept >= 2 + 14 * 2 - (post == 1 ? 2 : 0));
        if (post == 2) {
            /* nothing flows back through what an ablation made constant: L1.mlp zeroed, so its
             * weights get no gradient; the patched position's upstream neither */
            double gs = 0;
            const ParamInfo *pf = model_find_param(m, "L1.mlp.fc.w");
            for (size_t k = 0; k < pf->numel; k++) gs += fabs(m->grads[pf->offset + k]);
            CHECK(gs == 0);
        }
        /* closed forms: d(embed) is d(wpe) row by row; each logits row's gradient sums to 0 */
        const TraceEntry *ge = acts_find(g, "embed"), *gl = acts_find(g, "logits");
        double md = 0, rs = 0;
        for (int t = 0; t < 10; t++)
            for (int k = 0; k < c.d; k++) md = fmax(md, fabs(ge->data[t * c.d + k] - m->grads[m->info[1].offset + t * c.d + k]));
        for (int t = 0; t < 10; t++) {
            double r = 0;
            for (int v = 0; v < c.vocab; v++) r += gl->data[(size_t)t * c.vocab + v];
            rs = fmax(rs, fabs(r));
        }
        CHECK(strcmp(m->info[1].name, "wpe") == 0 && md == 0);
        CHECK(rs < 1e-6);
        acts_free(m, a);
        acts_free(m, g);
        if (src) acts_free(m, src);
        model_free(m);
    }
    /* refused where the backward pass cannot follow */
    Ablation bad;
    memset(&bad, 0, sizeof bad);
    CHECK(abl_parse_target(&bad, "L0.masked", &e) == 0);
    CHECK(abl_backward_ok(&bad, &e) == -1 && strstr(e.msg, "fused"));
    CHECK(abl_parse_target(&bad, "L0.q", &e) == 0);
    bad.mode = ABL_IDENTITY;
    CHECK(abl_backward_ok(&bad, &e) == -1 && strstr(e.msg, "identity"));
}

int main(void)
{
    RUN(grad_gpt);
    RUN(grad_post);
    RUN(grad_misc);
    RUN(adamw_gpt);
    RUN(adamw_post);
    RUN(adamw_misc);
    RUN(finite_differences);
    RUN(no_targets);
    RUN(gradcheck_every_parameter_and_a_broken_backward);
    RUN(trace_gradients_against_finite_differences);
    return harness_done("grad");
}
