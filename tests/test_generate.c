/* test_generate.c — the KV cache against full forward passes, and the sampler. */
#include "harness.h"
#include "generate.h"
#include "gemv.h"
#include "sample.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static Model *make(const char *overrides[], uint64_t seed)
{
    GptConfig c;
    GrErr e;
    cfg_preset(&c, "tiny", &e);
    c.ctx = 48;
    for (int i = 0; overrides && overrides[i]; i += 2) cfg_set(&c, overrides[i], overrides[i + 1], &e);
    Model *m = model_new(&c, &backend_cpu, &e);
    model_init_random(m, seed);
    /* Wider weights than GPT-2's init so the logits are far from uniform. */
    float scale = 3.0f;
    for (size_t i = 0; i < m->total; i++) m->params[i] *= scale;
    return m;
}

static void greedy_same(const char *ov[])
{
    Model *m = make(ov, 7);
    GrErr e;
    KVCache *kv = kv_new(m, NULL, 0, &e);
    CHECK(kv != NULL);
    int V = m->cfg.vocab, toks[48] = {5, 17, 33, 2};
    int n = 4;
    float *lc = malloc(sizeof(float) * V), *ln = malloc(sizeof(float) * V);
    for (int i = 0; i < n - 1; i++) kv_forward(m, kv, toks[i], lc, &e);
    double maxdiff = 0, maxlogit = 1;
    int same = 1;
    while (n < 40) {
        kv_forward(m, kv, toks[n - 1], lc, &e);
        nocache_forward(m, NULL, 0, toks, n, ln, &e);
        for (int i = 0; i < V; i++) {
            if (fabs(lc[i] - ln[i]) > maxdiff) maxdiff = fabs(lc[i] - ln[i]);
            if (fabs(ln[i]) > maxlogit) maxlogit = fabs(ln[i]);
        }
        int a = argmax_f(lc, V), b = argmax_f(ln, V);
        if (a != b) same = 0;
        toks[n++] = b;
    }
    CHECK(same);
    /* sgemv vs sgemm sum in different orders: float32 rounding relative to the logits' size. */
    CHECK(maxdiff / maxlogit < 1e-5);
    printf("kv cache (%s): 36 greedy tokens identical=%d, max logit diff %.3g (max |logit| %.3g)\n",
           ov ? ov[1] : "default", same, maxdiff, maxlogit);
    free(lc);
    free(ln);
    kv_free(m, kv);
    model_free(m);
}

TEST(kv_cache_matches_full_forward)
{
    greedy_same(NULL);
    const char *post[] = {"norm", "post", "act", "relu", "tie", "off", NULL};
    greedy_same(post);
    const char *misc[] = {"pos", "none", "mlp", "off", "logit_scale", "on", NULL};
    greedy_same(misc);
}

TEST(kv_cache_slides)
{
    const char *small[] = {"ctx", "8", NULL};
    Model *m = make(small, 3);
    GrErr e;
    KVCache *kv = kv_new(m, NULL, 0, &e);
    float *l = malloc(sizeof(float) * m->cfg.vocab);
    int tok = 1;
    for (int i = 0; i < 30; i++) {
        CHECK(kv_forward(m, kv, tok, l, &e) == 0);
        CHECK(kv->len <= 8);
        tok = argmax_f(l, m->cfg.vocab);
    }
    CHECK(kv->slides > 0);
    /* After a slide the cache holds the last tokens re-encoded from position 0: the
     * next logits equal a fresh full pass over exactly those tokens. */
    float *ln = malloc(sizeof(float) * m->cfg.vocab);
    int n = kv->len;
    int *ctx = malloc(sizeof(int) * (n + 1));
    for (int i = 0; i < n; i++) ctx[i] = kv->tokens[i];
    ctx[n] = tok;
    kv_forward(m, kv, tok, l, &e);
    nocache_forward(m, NULL, 0, ctx, n + 1, ln, &e);
    CHECK(argmax_f(l, m->cfg.vocab) == argmax_f(ln, m->cfg.vocab));
    CHECK(kv_forward(m, kv, 999999, l, &e) == -1);
    free(ctx);
    free(ln);
    free(l);
    kv_free(m, kv);
    model_free(m);
}

/* Generation and run share the block wiring: under an ablation, greedy decoding through
 * the KV cache picks, token by token, the argmax of a full pass over the growing text
 * with the same ablation. Positions where the top two full-pass logits are closer than
 * a margin are skipped (cached and full paths round differently). */
static void ablated_greedy_same(const Ablation *ab, int nab, const char *what)
{
    Model *m = make(NULL, 21);
    GrErr e;
    KVCache *kv = kv_new(m, ab, nab, &e);
    CHECK(kv != NULL);
    if (!kv) { fprintf(stderr, "%s\n", e.msg); model_free(m); return; }
    int V = m->cfg.vocab, toks[48] = {7, 40, 12}, n = 3, compared = 0, same = 1, differs_from_clean = 0;
    float *lc = malloc(sizeof(float) * V), *ln = malloc(sizeof(float) * V), *l0 = malloc(sizeof(float) * V);
    for (int i = 0; i < n - 1; i++) kv_forward(m, kv, toks[i], lc, &e);
    while (n < 40) {
        CHECK(kv_forward(m, kv, toks[n - 1], lc, &e) == 0);
        CHECK(nocache_forward(m, ab, nab, toks, n, ln, &e) == 0);
        nocache_forward(m, NULL, 0, toks, n, l0, &e);
        int b = argmax_f(ln, V);
        float top2 = -INFINITY;
        for (int i = 0; i < V; i++)
            if (i != b && ln[i] > top2) top2 = ln[i];
        if (ln[b] - top2 > 1e-3f) {
            compared++;
            same &= argmax_f(lc, V) == b;
        }
        differs_from_clean |= argmax_f(l0, V) != b;
        toks[n++] = b;
    }
    CHECK(same && compared >= 30);
    CHECK(differs_from_clean); /* the ablation changed what was generated */
    printf("kv cache under ablation %s: %d greedy tokens compared, identical=%d\n", what, compared, same);
    free(lc);
    free(ln);
    free(l0);
    kv_free(m, kv);
    model_free(m);
}

TEST(kv_cache_keeps_ablations)
{
    Ablation q = {.target = "L0.q", .mode = ABL_ZERO};
    ablated_greedy_same(&q, 1, "L0.q zero");
    Ablation two[2] = {{.target = "L1.k", .mode = ABL_COPY, .other = "L1.q"}, {.target = "L2.v", .mode = ABL_IDENTITY}};
    ablated_greedy_same(two, 2, "L1.k copy:L1.q + L2.v identity");
    Ablation pat = {.target = "L3.pattern", .mode = ABL_ZERO};
    ablated_greedy_same(&pat, 1, "L3.pattern zero");
    /* mean needs every position of a run: the cache refuses it, saying why */
    Model *m = make(NULL, 1);
    GrErr e;
    Ablation mean = {.target = "L0.attn", .mode = ABL_MEAN};
    CHECK(kv_new(m, &mean, 1, &e) == NULL && strstr(e.msg, "every position"));
    model_free(m);
}

TEST(softmax_temperature_facts)
{
    float logits[5] = {2.0f, 1.0f, 0.5f, -1.0f, 3.0f};
    double p[5], h_prev = -1;
    double temps[] = {0.1, 0.5, 1, 1.3, 10};
    for (int t = 0; t < 5; t++) {
        softmax_temp(logits, 5, temps[t], p);
        double s = 0;
        for (int i = 0; i < 5; i++) s += p[i];
        CHECK_NEAR(s, 1.0, 1e-12);
        double h = entropy(p, 5);
        CHECK(h > h_prev); /* entropy rises with T */
        h_prev = h;
    }
    softmax_temp(logits, 5, 1e-3, p);
    CHECK_NEAR(p[4], 1.0, 1e-9);   /* T → 0: argmax */
    softmax_temp(logits, 5, 1e6, p);
    CHECK_NEAR(p[0], 0.2, 1e-5);   /* T → ∞: uniform */
    float big[3] = {1000.0f, 999.0f, 0.0f}; /* max-subtracted: no overflow */
    softmax_temp(big, 3, 1.0, p);
    CHECK(isfinite(p[0]) && p[0] > 0.7 && p[0] < 0.74);
    softmax_temp(logits, 5, 1e-300, p); /* 1/T would overflow: still the argmax */
    CHECK(p[4] == 1.0 && p[0] == 0.0);
    /* GPT-2's vocabulary against exp in double: e^z comes from a float exp (2 ulp) of z
     * in float, (l - max)·(1/T) with three roundings, so each probability is within
     * (3|z| + 4)·2⁻²⁴ of its own size; past e^-87.3 it is 0 */
    enum { V = 50257 };
    static float lg[V];
    static double q[V], ref[V];
    for (int i = 0; i < V; i++) lg[i] = 8.0f * sinf((float)i * 0.37f) + (float)(i % 7);
    double worst_all = 0;
    for (int t = 0; t < 3; t++) {
        double T = (double[]){0.3, 0.8, 1.7}[t], mx = -INFINITY, sum = 0, worst = 0;
        softmax_temp(lg, V, T, q);
        for (int i = 0; i < V; i++) mx = lg[i] > mx ? lg[i] : mx;
        for (int i = 0; i < V; i++) sum += ref[i] = exp((lg[i] - mx) / T);
        double qs = 0;
        int zeros_ok = 1;
        for (int i = 0; i < V; i++) {
            double z = (lg[i] - mx) / T, rel = fabs(q[i] - ref[i] / sum) / (ref[i] / sum) / (3.0 * fabs(z) + 4.0);
            if (z > -87.3) worst = rel > worst ? rel : worst;
            else zeros_ok &= q[i] == 0.0;
            qs += q[i];
        }
        CHECK(worst < 0x1p-24 && zeros_ok);
        worst_all = worst > worst_all ? worst : worst_all;
        CHECK_NEAR(qs, 1.0, 1e-12);
    }
    printf("softmax_temp: 50,257 logits at T = 0.3, 0.8, 1.7: worst error %.2f of (3|z| + 4)·2⁻²⁴\n", worst_all / 0x1p-24);
}

TEST(sampler_is_seeded_and_follows_probs)
{
    float logits[4] = {0.0f, 1.0f, 2.0f, 0.5f};
    double p[4], ps[4];
    int ids[4], counts[4] = {0};
    SampleCfg c;
    sample_cfg_default(&c);
    softmax_temp(logits, 4, 1.0, ps);
    Rng r1, r2;
    rng_seed(&r1, 42);
    rng_seed(&r2, 42);
    int same = 1;
    for (int i = 0; i < 200000; i++) {
        int a = sample_token(logits, 4, &c, &r1, p, ids), b = sample_token(logits, 4, &c, &r2, p, ids);
        same &= a == b;
        counts[a]++;
    }
    CHECK(same);
    for (int i = 0; i < 4; i++) CHECK_NEAR(counts[i] / 200000.0, ps[i], 0.005);
    /* Known first draws for seed 42: the RNG is ours, so this holds on every machine. */
    Rng r;
    rng_seed(&r, 42);
    uint64_t first = rng_u64(&r);
    CHECK(first == 0x15780b2e0c2ec716ull);
}

TEST(top_k_top_p)
{
    double probs[6] = {0.05, 0.4, 0.1, 0.3, 0.1, 0.05};
    int ids[6];
    int n = sample_filter(probs, 6, 0, 0.7f, ids);
    CHECK(n == 2 && ids[0] == 1 && ids[1] == 3); /* 0.4 + 0.3 ≥ 0.7 */
    n = sample_filter(probs, 6, 0, 0.71f, ids);
    CHECK(n == 3); /* smallest set with mass ≥ p */
    n = sample_filter(probs, 6, 2, 1.0f, ids);
    CHECK(n == 2 && ids[0] == 1 && ids[1] == 3);
    float logits[6] = {0, 3, 1, 2, 1, 0};
    SampleCfg c;
    sample_cfg_default(&c);
    c.top_k = 2;
    Rng r;
    rng_seed(&r, 1);
    double p[6];
    int ok = 1;
    for (int i = 0; i < 2000; i++) {
        int t = sample_token(logits, 6, &c, &r, p, ids);
        ok &= t == 1 || t == 3;
    }
    CHECK(ok);
    c.greedy = 1;
    CHECK(sample_token(logits, 6, &c, &r, p, ids) == 1);
}

/* Batch generation: B sequences side by side give each one's logits as a cache of its own
 * would (to float rounding of a wider GEMM), through a slide of the window, and greedy
 * decoding of B copies of a prompt is the single greedy continuation. */
TEST(batched_cache_matches_single)
{
    Model *m = make(NULL, 11);
    GrErr e;
    int B = 3, V = m->cfg.vocab, steps = 70; /* ctx 48: slides once */
    KVCache *kb = kv_new_batch(m, B, NULL, 0, &e), *k1[3];
    CHECK(kb != NULL);
    for (int b = 0; b < B; b++) k1[b] = kv_new(m, NULL, 0, &e);
    float *lb = malloc(sizeof(float) * B * V), *l1 = malloc(sizeof(float) * V);
    int tok[3] = {5, 17, 33};
    double md = 0;
    for (int i = 0; i < steps; i++) {
        CHECK(kv_forward_batch(m, kb, tok, lb, &e) == 0);
        for (int b = 0; b < B; b++) {
            CHECK(kv_forward(m, k1[b], tok[b], l1, &e) == 0);
            for (int v = 0; v < V; v++) md = fmax(md, fabs(lb[(size_t)b * V + v] - l1[v]));
            /* the next token: each row's own argmax, so the rows stay different */
            int best = 0;
            for (int v = 1; v < V; v++)
                if (l1[v] > l1[best]) best = v;
            tok[b] = (best + b * 7) % V;
        }
    }
    printf("batched KV cache: B = %d, %d steps (a slide at %d), max |logit difference| %.2g\n", B, steps, m->cfg.ctx, md);
    CHECK(kb->slides == 1 && md < 1e-4);
    /* greedy: every row of a batch of one prompt is the single greedy continuation */
    kv_reset(kb);
    KVCache *g1 = kv_new(m, NULL, 0, &e);
    int tb[3] = {9, 9, 9}, t1 = 9, same = 1;
    for (int i = 0; i < 30; i++) {
        kv_forward_batch(m, kb, tb, lb, &e);
        kv_forward(m, g1, t1, l1, &e);
        int best1 = 0;
        for (int v = 1; v < V; v++)
            if (l1[v] > l1[best1]) best1 = v;
        for (int b = 0; b < B; b++) {
            int bb = 0;
            for (int v = 1; v < V; v++)
                if (lb[(size_t)b * V + v] > lb[(size_t)b * V + bb]) bb = v;
            same &= bb == best1;
            tb[b] = bb;
        }
        t1 = best1;
    }
    CHECK(same);
    kv_free(m, g1);
    for (int b = 0; b < B; b++) kv_free(m, k1[b]);
    kv_free(m, kb);
    free(lb), free(l1);
    model_free(m);
}

/* `set precision`: the copies change the logits a little, never the fp32 weights (back to
 * fp32 is bit for bit), follow writes to the weights, keep batched rows equal to single
 * ones, and training ignores them. */
/* Greedy steps through the KV cache, every step's logits kept in out (steps x V). */
static void greedy_logits(Model *m, int steps, float *out)
{
    GrErr e;
    KVCache *kv = kv_new(m, NULL, 0, &e);
    CHECK(kv != NULL);
    int V = m->cfg.vocab, tok = 3;
    for (int i = 0; kv && i < steps; i++) {
        CHECK(kv_forward(m, kv, tok, out + (size_t)i * V, &e) == 0);
        tok = argmax_f(out + (size_t)i * V, V);
    }
    kv_free(m, kv);
}

/* Generation hints the next product's weights to the backend, and the CPU backend's idle
 * worker reads them ahead and takes chunks from the back. Each stage names the next
 * product's stage; the hint is the bytes that product reads; with weights big enough for
 * the pool (GPT-2's width) every logit is the same bit for bit with the hints ignored, at
 * each precision. Last, hint / sync / free of a buffer, which SAN=1 and valgrind watch. */
TEST(read_ahead_changes_nothing)
{
    const char *ov[] = {"d", "768", "heads", "12", "layers", "2", "vocab", "300", NULL};
    Model *m = make(ov, 11);
    GrErr e;
    int V = m->cfg.vocab, steps = 6;
    size_t nb;
    const QWeight *q;
    Acts *a = acts_new(m, 1, 1, &e);
    CHECK(a != NULL);
    const char *order[][2] = {{"embed", "L0.qkv"}, {"L0.ln1", "L0.qkv"}, {"L0.qkv", "L0.attn"}, {"L0.ctx", "L0.attn"},
                              {"L0.attn", "L0.fc"}, {"L0.fc", "L0.mlp"}, {"L0.mlp", "L1.qkv"}, {"L1.mlp", "logits"},
                              {"lnf", "logits"}, {"logits", NULL}, {"probs", NULL}};
    for (size_t i = 0; a && i < sizeof order / sizeof order[0]; i++) {
        int s = acts_stage_index(a, order[i][0]), want = order[i][1] ? acts_stage_index(a, order[i][1]) : -1;
        CHECK(s >= 0 && (want >= 0 || !order[i][1]) && a->stages[s].ahead == want);
    }
    acts_free(m, a);
    CHECK(model_stored_weight(m, PREC_FP32, m->p.layer[0].fcw, &nb) == m->p.layer[0].fcw && nb == 768u * 3072 * 4);
    CHECK(model_stored_weight(m, PREC_FP32, m->p.layer[0].fcw + 1, &nb) == NULL && nb == 0);
    float *on = malloc(sizeof(float) * V * steps), *off = malloc(sizeof(float) * V * steps);
    for (int p = PREC_FP32; p < PREC_COUNT; p++) {
        CHECK(model_set_precision(m, (Precision)p, &e) == 0);
        if (p != PREC_FP32) {
            q = model_qweight(m, m->p.layer[0].projw);
            CHECK(q && model_stored_weight(m, (Precision)p, m->p.layer[0].projw, &nb) == q->q &&
                  nb == 768u * 768 * (size_t)prec_def((Precision)p)->bytes);
        }
        backend_cpu_use_read_ahead(1);
        greedy_logits(m, steps, on);
        backend_cpu_use_read_ahead(0);
        greedy_logits(m, steps, off);
        backend_cpu_use_read_ahead(1);
        CHECK(memcmp(on, off, sizeof(float) * V * steps) == 0);
        printf("read-ahead (%s): %d greedy steps, logits identical with and without: %d\n", prec_def((Precision)p)->name,
               steps, memcmp(on, off, sizeof(float) * V * steps) == 0);
    }
    model_set_precision(m, PREC_FP32, &e);
    for (int i = 0; i < 50; i++) {
        size_t n = (size_t)(64 + i * 4096) * 16;
        unsigned char *buf = malloc(n);
        memset(buf, i, n);
        backend_cpu.read_ahead(buf, n);
        for (volatile int spin = 0; spin < 2000 * (i % 5); spin++) {}
        backend_cpu.sync();
        free(buf);
    }
    free(on);
    free(off);
    model_free(m);
}

static void logits_at(Model *m, const int *toks, int n, float *out)
{
    GrErr e;
    CHECK(nocache_forward(m, NULL, 0, toks, n, out, &e) == 0);
}

TEST(precision_model)
{
    Model *m = make(NULL, 5);
    GrErr e;
    int V = m->cfg.vocab, toks[20];
    for (int i = 0; i < 20; i++) toks[i] = (i * 37 + 3) % V;
    float *l32 = malloc(sizeof(float) * V), *lq = malloc(sizeof(float) * V), *back = malloc(sizeof(float) * V);
    logits_at(m, toks, 20, l32);
    double amax = 0;
    for (int v = 0; v < V; v++) amax = fmax(amax, fabs(l32[v]));
    double err[PREC_COUNT] = {0};
    for (int p = PREC_BF16; p < PREC_COUNT; p++) {
        CHECK(model_set_precision(m, (Precision)p, &e) == 0);
        CHECK(m->prec == (Precision)p && model_qweight(m, m->p.layer[0].qkvw) != NULL);
        CHECK(model_qweight(m, m->p.layer[0].qkvb) == NULL && model_qweight(m, m->p.wpe) == NULL);
        logits_at(m, toks, 20, lq);
        for (int v = 0; v < V; v++) err[p] = fmax(err[p], fabs(lq[v] - l32[v]));
        CHECK(err[p] > 0);                                       /* it is a different product */
        CHECK(err[p] < (p == PREC_BF16 ? 0.02 : 0.08) * amax);   /* and a close one */
        CHECK(argmax_f(lq, V) == argmax_f(l32, V));
    }
    CHECK(err[PREC_BF16] < err[PREC_INT8]);
    CHECK(model_set_precision(m, PREC_FP32, &e) == 0 && m->qw == NULL);
    logits_at(m, toks, 20, back);
    CHECK(memcmp(back, l32, sizeof(float) * V) == 0);
    printf("precision: max |logit - fp32| bf16 %.3g, int8 %.3g (max |logit| %.3g); back to fp32 bit for bit\n",
           err[PREC_BF16], err[PREC_INT8], amax);

    /* a write to the weights remakes the copies before the next run */
    CHECK(model_set_precision(m, PREC_INT8, &e) == 0);
    logits_at(m, toks, 20, lq);
    const QWeight *q0 = model_qweight(m, m->p.wte);
    float before = quant_value(q0, 3, 0);
    for (int c = 0; c < m->cfg.d; c++) m->p.wte[3 * m->cfg.d + c] *= 4.0f;
    model_weights_changed(m);
    logits_at(m, toks, 20, back);
    CHECK(quant_value(model_qweight(m, m->p.wte), 3, 0) != before);
    for (int c = 0; c < m->cfg.d; c++) m->p.wte[3 * m->cfg.d + c] /= 4.0f;
    model_weights_changed(m);
    logits_at(m, toks, 20, back);
    CHECK(memcmp(back, lq, sizeof(float) * V) == 0);

    /* batched rows equal single ones exactly: each row's activations are its own */
    for (int p = PREC_BF16; p < PREC_COUNT; p++) {
        CHECK(model_set_precision(m, (Precision)p, &e) == 0);
        KVCache *kb = kv_new_batch(m, 3, NULL, 0, &e), *k1 = kv_new(m, NULL, 0, &e);
        float *lb = malloc(sizeof(float) * 3 * V);
        int tb[3] = {9, 9, 9}, t1 = 9, same = 1;
        for (int i = 0; i < 20; i++) {
            kv_forward_batch(m, kb, tb, lb, &e);
            kv_forward(m, k1, t1, back, &e);
            for (int b = 0; b < 3; b++) same &= memcmp(lb + (size_t)b * V, back, sizeof(float) * V) == 0;
            t1 = tb[0] = tb[1] = tb[2] = argmax_f(back, V);
        }
        CHECK(same);
        kv_free(m, kb), kv_free(m, k1), free(lb);
    }

    /* a training step at int8 is the fp32 step, bit for bit */
    Model *m2 = make(NULL, 5);
    CHECK(model_set_precision(m, PREC_INT8, &e) == 0);
    TrainCfg tc;
    train_cfg_default(&tc);
    tc.batch = 2;
    tc.ctx = 16;
    int rows[2 * 17];
    for (int i = 0; i < 34; i++) rows[i] = (i * 11 + 1) % V;
    Model *ms[2] = {m, m2};
    for (int k = 0; k < 2; k++) {
        Trainer *tr = trainer_new(ms[k], &tc, NULL, &e);
        StepInfo si;
        CHECK(tr && trainer_step_rows(tr, rows, &si, &e) == 0);
        trainer_free(tr);
    }
    CHECK(memcmp(m->params, m2->params, sizeof(float) * m->total) == 0);
    CHECK(m->prec == PREC_INT8);
    model_free(m2);
    free(l32), free(lq), free(back);
    model_free(m);
}

/* The gemv tests' inputs: every path this CPU has, and a matrix and vector of exact
 * small values. */
static const GemvPath k_paths[3] = {GEMV_PORTABLE, GEMV_AVX2, GEMV_AVX512};
static int gemv_npaths(void) { return gemv_path() == GEMV_AVX512 ? 3 : gemv_path() == GEMV_AVX2 ? 2 : 1; }
static void gemv_fill(float *w, size_t nw, float *x, int nx)
{
    for (size_t i = 0; i < nw; i++) w[i] = (float)((i * 7919) % 201) / 100.0f - 1.0f;
    for (int i = 0; i < nx; i++) x[i] = (float)((i * 31) % 17) / 8.0f - 1.0f;
}

/* The matrix-vector kernels: every path this CPU has against a double reference, on odd
 * shapes (rows not a multiple of 4, widths not a multiple of 16, a width of 1). */
TEST(gemv_paths_agree)
{
    static const int shapes[][2] = {{1, 1}, {3, 7}, {5, 17}, {33, 768}, {130, 100}, {7, 3072}};
    int npaths = gemv_npaths();
    double worst = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int OC = shapes[s][0], IC = shapes[s][1];
        float *w = malloc(sizeof(float) * (size_t)OC * IC), *x = malloc(sizeof(float) * IC), *b = malloc(sizeof(float) * OC),
              *y = malloc(sizeof(float) * OC);
        gemv_fill(w, (size_t)OC * IC, x, IC);
        for (int i = 0; i < OC; i++) b[i] = (float)i / 10.0f;
        for (int p = 0; p < npaths; p++) {
            for (int i = 0; i < OC; i++) y[i] = NAN;
            gemv_rows(k_paths[p], y, w, x, b, 0, (size_t)OC, IC);
            for (int r = 0; r < OC; r++) {
                double ref = b[r], mag = fabs(b[r]);
                for (int i = 0; i < IC; i++) ref += (double)w[(size_t)r * IC + i] * x[i], mag += fabs((double)w[(size_t)r * IC + i] * x[i]);
                double rel = fabs(y[r] - ref) / (mag > 1 ? mag : 1);
                if (rel > worst) worst = rel;
                CHECK(rel < 1e-6);
            }
        }
        /* a slice of rows writes only those rows */
        for (int i = 0; i < OC; i++) y[i] = -7;
        if (OC > 2) {
            gemv_rows(gemv_path(), y, w, x, NULL, 1, (size_t)OC - 1, IC);
            CHECK(y[0] == -7 && y[OC - 1] == -7);
        }
        free(w), free(x), free(b), free(y);
    }
    printf("gemv: %d path%s (this CPU runs %s), worst error %.2g of the sum of |terms|\n", npaths, npaths == 1 ? "" : "s",
           gemv_path_name(gemv_path()), worst);
}

/* argmax_f is two vector passes; the reference is the one-pass scan it replaced: the first
 * index of the largest, NaNs passed over, on every length around the vector width, with
 * ties, signed zeros and NaNs placed before, at and after the maximum. */
static int argmax_ref(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

TEST(argmax_first_largest)
{
    float x[50257];
    int cases = 0;
    for (int n = 1; n <= 40; n++)
        for (int kind = 0; kind < 6; kind++)
            for (int at = 0; at < n; at++) {
                for (int i = 0; i < n; i++) x[i] = (float)((i * 37) % 11) - 20.0f;
                if (kind == 0) x[at] = 5.0f;
                if (kind == 1) x[at] = 5.0f, x[n - 1] = 5.0f;        /* a tie: the first wins */
                if (kind == 2) x[at] = NAN;                          /* passed over (at 0: index 0) */
                if (kind == 3) x[at] = NAN, x[(at + 3) % n] = 9.0f;
                if (kind == 4) { for (int i = 0; i < n; i++) x[i] = i % 2 ? 0.0f : -0.0f; x[at] = -0.0f; }
                if (kind == 5) x[at] = INFINITY, x[(at + 1) % n] = -INFINITY;
                CHECK(argmax_f(x, n) == argmax_ref(x, n));
                cases++;
            }
    for (int i = 0; i < 50257; i++) x[i] = sinf((float)i * 0.37f);
    x[31000] = 2.0f, x[40000] = 2.0f;
    CHECK(argmax_f(x, 50257) == 31000 && argmax_ref(x, 50257) == 31000);
    printf("argmax: %d cases and 50,257 logits agree with the one-pass scan\n", cases + 1);
}

/* gemv_t, attention's Wᵀx at T = 1 (a pattern row times a head's values): every path against
 * a double reference on odd shapes. */
TEST(gemv_t_paths_agree)
{
    static const int shapes[][2] = {{1, 1}, {3, 7}, {5, 17}, {128, 64}, {33, 100}, {1, 200}};
    int npaths = gemv_npaths();
    double worst = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int R = shapes[s][0], IC = shapes[s][1];
        float *w = malloc(sizeof(float) * (size_t)R * IC), *x = malloc(sizeof(float) * R), *y = malloc(sizeof(float) * IC);
        gemv_fill(w, (size_t)R * IC, x, R);
        for (int p = 0; p < npaths; p++) {
            for (int i = 0; i < IC; i++) y[i] = NAN;
            gemv_t(k_paths[p], y, w, x, R, IC);
            for (int i = 0; i < IC; i++) {
                double ref = 0, mag = 0;
                for (int r = 0; r < R; r++) ref += (double)w[(size_t)r * IC + i] * x[r], mag += fabs((double)w[(size_t)r * IC + i] * x[r]);
                double rel = fabs(y[i] - ref) / (mag > 1 ? mag : 1);
                if (rel > worst) worst = rel;
                CHECK(rel < 1e-6);
            }
        }
        free(w), free(x), free(y);
    }
    printf("gemv_t: %d path%s, worst error %.2g of the sum of |terms|\n", npaths, npaths == 1 ? "" : "s", worst);
}

int main(void)
{
    RUN(kv_cache_matches_full_forward);
    RUN(kv_cache_slides);
    RUN(kv_cache_keeps_ablations);
    RUN(softmax_temperature_facts);
    RUN(sampler_is_seeded_and_follows_probs);
    RUN(top_k_top_p);
    RUN(batched_cache_matches_single);
    RUN(gemv_paths_agree);
    RUN(gemv_t_paths_agree);
    RUN(argmax_first_largest);
    RUN(precision_model);
    RUN(read_ahead_changes_nothing);
    return harness_done("generate");
}
