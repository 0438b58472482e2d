/* test_inside.c — stepping and ablation against independent references. */
#include "harness.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static Model *tiny(uint64_t seed, int post)
{
    GptConfig c;
    GrErr e;
    cfg_preset(&c, "tiny", &e);
    c.n_layer = 2;
    c.d = 32;
    c.ctx = 24;
    c.post_norm = post;
    Model *m = model_new(&c, &backend_cpu, &e);
    model_init_random(m, seed);
    for (size_t i = 0; i < m->total; i++) m->params[i] *= 5.0f; /* far from uniform attention */
    return m;
}

static const int TOK[12] = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26};

static Acts *forward(Model *m, const Ablation *ab, int nab, Forward *keep)
{
    GrErr e;
    Acts *a = acts_new(m, 1, 12, &e);
    acts_set_tokens(m, a, TOK, NULL, &e);
    Forward f;
    fwd_init(&f, m, a, &e);
    f.abl = ab;
    f.nabl = nab;
    fwd_run(&f);
    if (keep) *keep = f;
    else fwd_free(&f);
    return a;
}

TEST(stepping_visits_every_stage_and_equals_run)
{
    for (int post = 0; post < 2; post++) {
        Model *m = tiny(5, post);
        GrErr e;
        Acts *ref = forward(m, NULL, 0, NULL);
        Acts *a = acts_new(m, 1, 12, &e);
        acts_set_tokens(m, a, TOK, NULL, &e);
        Forward f;
        fwd_init(&f, m, a, &e);
        int expect = 0, in_order = 1, idx;
        while ((idx = fwd_step(&f)) >= 0) in_order &= idx == expect++;
        CHECK(in_order && expect == f.nstages);
        CHECK(strcmp(f.stages[0].name, "embed") == 0 && strcmp(f.stages[f.nstages - 1].name, "loss") == 0);
        /* every trace entry is written by exactly one stage */
        for (int i = 0; i < a->nentries; i++) {
            int writers = 0;
            for (int s = 0; s < f.nstages; s++)
                for (int j = 0; j < f.stages[s].nout; j++) writers += !strcmp(f.stages[s].outputs[j], a->entries[i].name);
            if (!strstr(a->entries[i].name, "qkv")) CHECK(writers == 1);
        }
        CHECK(a->bytes == ref->bytes && memcmp(a->block, ref->block, a->bytes) == 0); /* bit for bit */
        CHECK(a->loss == ref->loss);
        fwd_free(&f);
        acts_free(m, a);
        acts_free(m, ref);
        model_free(m);
    }
}

TEST(ablate_q_zero_equals_zeroed_query_weights)
{
    Model *m = tiny(9, 0);
    Ablation ab = {.target = "L0.q", .mode = ABL_ZERO};
    Acts *clean = forward(m, NULL, 0, NULL);
    Acts *abl = forward(m, &ab, 1, NULL);
    /* Reference: zero the query rows of Wqkv and the query bias in a copy of the weights. */
    int C = m->cfg.d;
    memset(m->p.layer[0].qkvw, 0, sizeof(float) * (size_t)C * C);
    memset(m->p.layer[0].qkvb, 0, sizeof(float) * (size_t)C);
    Acts *ref = forward(m, NULL, 0, NULL);
    printf("ablate L0.q zero: clean %.6f, ablated %.6f, reference %.6f (change %+.6f)\n", clean->loss, abl->loss,
           ref->loss, abl->loss - clean->loss);
    CHECK(fabsf(abl->loss - ref->loss) <= 1e-6f);
    CHECK(fabsf(abl->loss - clean->loss) > 1e-3f);
    /* q = 0 ⇒ row i of the pattern is uniform over j ≤ i */
    const TraceEntry *p = acts_find(abl, "L0.pattern");
    int T = 12;
    double md = 0;
    for (int h = 0; h < m->cfg.n_head; h++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                double want = j <= i ? 1.0 / (i + 1) : 0.0;
                md = fmax(md, fabs(p->data[((size_t)h * T + i) * T + j] - want));
            }
    CHECK(md < 1e-6);
    acts_free(m, clean);
    acts_free(m, abl);
    acts_free(m, ref);
    model_free(m);
}

TEST(ablate_q_copy_k_equals_tied_weights)
{
    Model *m = tiny(11, 0);
    Ablation ab = {.target = "L1.q", .mode = ABL_COPY, .other = "L1.k"};
    Acts *abl = forward(m, &ab, 1, NULL);
    int C = m->cfg.d;
    LayerParams *lp = &m->p.layer[1];
    memcpy(lp->qkvw, lp->qkvw + (size_t)C * C, sizeof(float) * (size_t)C * C);
    memcpy(lp->qkvb, lp->qkvb + C, sizeof(float) * (size_t)C);
    Acts *ref = forward(m, NULL, 0, NULL);
    CHECK(fabsf(abl->loss - ref->loss) <= 1e-6f);
    acts_free(m, abl);
    acts_free(m, ref);
    model_free(m);
}

TEST(ablate_identity_and_mean)
{
    Model *m = tiny(13, 0);
    int C = m->cfg.d;
    Ablation ab = {.target = "L0.v", .mode = ABL_IDENTITY};
    Acts *abl = forward(m, &ab, 1, NULL);
    /* Reference: Wv = I, bv = 0 */
    LayerParams *lp = &m->p.layer[0];
    float *wv = lp->qkvw + (size_t)2 * C * C;
    memset(wv, 0, sizeof(float) * (size_t)C * C);
    for (int i = 0; i < C; i++) wv[(size_t)i * C + i] = 1.0f;
    memset(lp->qkvb + 2 * C, 0, sizeof(float) * (size_t)C);
    Acts *ref = forward(m, NULL, 0, NULL);
    CHECK(fabsf(abl->loss - ref->loss) <= 1e-6f);
    acts_free(m, abl);
    acts_free(m, ref);
    /* mean: every position of L0.attn equals the column mean */
    Ablation mb = {.target = "L0.attn", .mode = ABL_MEAN};
    Acts *a = forward(m, &mb, 1, NULL);
    const TraceEntry *t = acts_find(a, "L0.attn");
    double md = 0;
    for (int r = 1; r < 12; r++)
        for (int c = 0; c < C; c++) md = fmax(md, fabs(t->data[(size_t)r * C + c] - t->data[c]));
    CHECK(md == 0);
    acts_free(m, a);
    model_free(m);
}

int main(void)
{
    RUN(stepping_visits_every_stage_and_equals_run);
    RUN(ablate_q_zero_equals_zeroed_query_weights);
    RUN(ablate_q_copy_k_equals_tied_weights);
    RUN(ablate_identity_and_mean);
    return harness_done("inside");
}
