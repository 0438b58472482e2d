/* test_train.c — the trainer end to end: the copy task is learned, a resumed run is
 * bit-identical, NaN/inf is caught and rolled back, bad input gives clear errors,
 * gradient accumulation, the schedule, datasets and tasks. */
#include "harness.h"
#include "ckpt.h"
#include "model.h"
#include "tokenizer.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static Tokenizer TOK; /* the default char vocabulary: "\n" + printable ASCII, 96 ids */

static Model *tiny_model(uint64_t seed)
{
    GrErr e = {{0}};
    GptConfig c;
    if (cfg_preset(&c, "tiny", &e)) { fprintf(stderr, "%s\n", e.msg); return NULL; }
    Model *m = model_new(&c, &backend_cpu, &e);
    if (!m) { fprintf(stderr, "%s\n", e.msg); return NULL; }
    model_init_random(m, seed);
    return m;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* `new tiny` (cfg_preset "tiny", seed 1, model_init_random) on the copy task. The model
 * is the full tiny preset (L4 H4 d128 ctx128); to keep the test short the rows are
 * smaller than the REPL's defaults (batch 8 × ctx 64 instead of 16 × 128). */
TEST(copy_task_learns)
{
    GrErr e = {{0}};
    Model *m = tiny_model(1);
    CHECK(m != NULL);
    if (!m) return;
    Dataset d;
    CHECK(data_task(&d, "copy", &TOK, 1, &e) == 0);
    TrainCfg c;
    train_cfg_default(&c);
    c.batch = 8;
    c.ctx = 64;
    c.lr = 3e-3f;
    c.min_lr = 3e-4f;
    c.warmup = 10;
    c.steps = 300;
    Trainer *t = trainer_new(m, &c, &d, &e);
    CHECK(t != NULL);
    if (!t) { fprintf(stderr, "%s\n", e.msg); model_free(m); data_free(&d); return; }
    double lnV = log((double)m->cfg.vocab), t0 = now_s();
    float first = NAN, last = NAN, val0 = trainer_eval(t);
    StepInfo si;
    for (int i = 0; i < 300; i++) {
        if (trainer_step(t, &si, &e)) { fprintf(stderr, "step %d: %s\n", i + 1, e.msg); CHECK(0); break; }
        if (i == 0) first = si.loss;
    }
    last = si.loss;
    float val = trainer_eval(t);
    double dt = now_s() - t0;
    CHECK(m->step == 300);
    CHECK(fabs(first - lnV) < 0.2); /* starts at ln V */
    CHECK(last < 0.5 * lnV);
    CHECK(val < 0.5 * lnV);
    CHECK(trainer_eval(t) == val); /* fixed validation batches */
    printf("copy task: tiny (L4 H4 d128), batch 8 x ctx 64, 300 steps in %.1f s: train loss %.3f -> %.3f, "
           "val %.3f -> %.3f (ln V = %.3f, target < %.3f)\n", dt, first, last, val0, val, lnV, 0.5 * lnV);
    trainer_free(t);
    data_free(&d);
    model_free(m);
}

static TrainCfg small_cfg(void)
{
    TrainCfg c;
    train_cfg_default(&c);
    c.batch = 2;
    c.ctx = 16;
    c.lr = 3e-3f;
    c.min_lr = 3e-4f;
    c.warmup = 3;
    c.steps = 10;
    return c;
}

/* 10 steps == 5 steps + ckpt_save + ckpt_load + 5 steps, bit for bit. */
TEST(resume_is_bit_identical)
{
    GrErr e = {{0}};
    Dataset d;
    CHECK(data_task(&d, "copy", &TOK, 7, &e) == 0);
    TrainCfg c = small_cfg();
    StepInfo si;
    Model *a = tiny_model(3);
    Trainer *ta = trainer_new(a, &c, &d, &e);
    CHECK(ta != NULL);
    if (!ta) { fprintf(stderr, "%s\n", e.msg); return; }
    for (int i = 0; i < 10; i++) CHECK(trainer_step(ta, &si, &e) == 0);
    float loss_a = si.loss;

    Model *b = tiny_model(3);
    Trainer *tb = trainer_new(b, &c, &d, &e);
    for (int i = 0; i < 5; i++) CHECK(trainer_step(tb, &si, &e) == 0);
    trainer_free(tb);
    char path[128];
    snprintf(path, sizeof path, "/tmp/gptrepl-test-resume-%d.safetensors", (int)getpid());
    char *chars = tok_chars_utf8(&TOK);
    CHECK(ckpt_save(b, chars, path, &e) == 0);
    model_free(b);
    CkptExtra ex = {0};
    Model *r = ckpt_load(path, &backend_cpu, &ex, &e);
    CHECK(r != NULL);
    if (!r) { fprintf(stderr, "%s\n", e.msg); unlink(path); free(chars); trainer_free(ta); model_free(a); data_free(&d); return; }
    CHECK(r->step == 5);
    CHECK(ex.chars && !strcmp(ex.chars, chars));
    Trainer *tr = trainer_new(r, &c, &d, &e);
    for (int i = 0; i < 5; i++) CHECK(trainer_step(tr, &si, &e) == 0);
    CHECK(r->step == 10 && a->step == 10);
    CHECK(si.loss == loss_a);
    size_t nb = a->total * sizeof(float);
    int same_p = !memcmp(a->params, r->params, nb), same_m = !memcmp(a->m, r->m, nb), same_v = !memcmp(a->v, r->v, nb);
    CHECK(same_p);
    CHECK(same_m && same_v);
    printf("resume: 10 steps vs 5 + save + load + 5: parameters %s, AdamW moments %s, last loss %.6f vs %.6f\n",
           same_p ? "bit-identical" : "DIFFER", same_m && same_v ? "bit-identical" : "DIFFER", loss_a, si.loss);
    unlink(path);
    free(chars);
    free(ex.chars);
    trainer_free(tr);
    trainer_free(ta);
    model_free(r);
    model_free(a);
    data_free(&d);
}

/* Copies of (params, m, v) at the start of each step, indexed by m->step. */
typedef struct {
    float *p[16], *m[16], *v[16];
} History;

static void hist_save(History *h, const Model *m)
{
    long s = m->step;
    if (s < 0 || s >= 16) return;
    size_t nb = m->total * sizeof(float);
    if (!h->p[s]) { h->p[s] = malloc(nb); h->m[s] = malloc(nb); h->v[s] = malloc(nb); }
    memcpy(h->p[s], m->params, nb);
    memcpy(h->m[s], m->m, nb);
    memcpy(h->v[s], m->v, nb);
}

static int hist_matches(const History *h, const Model *m)
{
    long s = m->step;
    size_t nb = m->total * sizeof(float);
    return s >= 0 && s < 16 && h->p[s] && !memcmp(h->p[s], m->params, nb) && !memcmp(h->m[s], m->m, nb) &&
           !memcmp(h->v[s], m->v, nb);
}

static void hist_free(History *h)
{
    for (int i = 0; i < 16; i++) { free(h->p[i]); free(h->m[i]); free(h->v[i]); }
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* A huge lr: the step that goes bad returns -1, sets nonfinite, and the weights and
 * optimizer state are those of the last good step. */
TEST(nan_from_huge_lr)
{
    GrErr e = {{0}};
    Dataset d;
    CHECK(data_task(&d, "copy", &TOK, 1, &e) == 0);
    Model *m = tiny_model(5);
    TrainCfg c = small_cfg();
    c.lr = 1e30f;
    c.min_lr = 1e30f;
    c.warmup = 0;
    c.clip = 0;
    Trainer *t = trainer_new(m, &c, &d, &e);
    CHECK(t != NULL);
    if (!t) { fprintf(stderr, "%s\n", e.msg); return; }
    History h;
    memset(&h, 0, sizeof h);
    StepInfo si;
    int rc = 0, k;
    for (k = 0; k < 8; k++) {
        hist_save(&h, m);
        e.msg[0] = 0;
        rc = trainer_step(t, &si, &e);
        if (rc) break;
    }
    CHECK(rc == -1);
    CHECK(si.nonfinite == 1);
    CHECK(strstr(e.msg, "NaN") || strstr(e.msg, "inf"));
    CHECK(strstr(e.msg, "lr") != NULL);
    CHECK(hist_matches(&h, m));
    CHECK(all_finite(m->params, m->total));
    printf("huge lr: step %d failed (\"%s\"); back at step %ld with its weights and moments\n", k + 1, e.msg, m->step);
    /* Training goes on from there with a sane lr. */
    trainer_free(t);
    c.lr = 1e-3f;
    c.min_lr = 1e-4f;
    t = trainer_new(m, &c, &d, &e);
    CHECK(t && trainer_step(t, &si, &e) == 0 && isfinite(si.loss) && !si.nonfinite);
    hist_free(&h);
    trainer_free(t);
    model_free(m);
    data_free(&d);
}

TEST(nan_from_planted_inf)
{
    GrErr e = {{0}};
    Dataset d;
    CHECK(data_task(&d, "copy", &TOK, 1, &e) == 0);
    Model *m = tiny_model(6);
    TrainCfg c = small_cfg();
    Trainer *t = trainer_new(m, &c, &d, &e);
    CHECK(t != NULL);
    if (!t) return;
    History h;
    memset(&h, 0, sizeof h);
    StepInfo si;
    for (int k = 0; k < 3; k++) {
        hist_save(&h, m);
        CHECK(trainer_step(t, &si, &e) == 0);
    }
    hist_save(&h, m);
    m->params[model_find_param(m, "L1.mlp.fc.w")->offset + 17] = INFINITY; /* planted */
    e.msg[0] = 0;
    CHECK(trainer_step(t, &si, &e) == -1);
    CHECK(si.nonfinite == 1);
    CHECK(strstr(e.msg, "NaN") || strstr(e.msg, "inf"));
    CHECK(hist_matches(&h, m));
    CHECK(m->step == 2);
    CHECK(all_finite(m->params, m->total));
    printf("planted inf: \"%s\"\n", e.msg);
    /* the bad weight is gone: training goes on */
    CHECK(trainer_step(t, &si, &e) == 0 && !si.nonfinite);
    hist_free(&h);
    trainer_free(t);
    model_free(m);
    data_free(&d);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

TEST(bad_input)
{
    GrErr e = {{0}};
    Dataset d;
    char p1[128], p2[128];
    snprintf(p1, sizeof p1, "/tmp/gptrepl-test-empty-%d.txt", (int)getpid());
    snprintf(p2, sizeof p2, "/tmp/gptrepl-test-badchar-%d.txt", (int)getpid());

    CHECK(data_from_file(&d, "/nonexistent/shakespeare.txt", &TOK, &e) == -1);
    CHECK(strstr(e.msg, "cannot open") && strstr(e.msg, "/nonexistent/shakespeare.txt"));
    printf("missing file: %s\n", e.msg);

    CHECK(write_file(p1, "") == 0);
    CHECK(data_from_file(&d, p1, &TOK, &e) == -1);
    CHECK(strstr(e.msg, "empty") != NULL);
    printf("empty file:   %s\n", e.msg);

    CHECK(write_file(p2, "hello\nwor\xc3\xa9ld\n") == 0); /* é is not in the default vocabulary */
    CHECK(data_from_file(&d, p2, &TOK, &e) == -1);
    CHECK(strstr(e.msg, "line 2") && strstr(e.msg, "column 4") && strstr(e.msg, "\xc3\xa9"));
    printf("bad char:     %s\n", e.msg);
    unlink(p1);
    unlink(p2);

    CHECK(data_task(&d, "reverse", &TOK, 1, &e) == -1);
    CHECK(strstr(e.msg, "unknown task") && strstr(e.msg, "copy"));

    Model *m = tiny_model(1);
    TrainCfg c;
    train_cfg_default(&c);
    CHECK(train_cfg_validate(&c, m, &e) == 0);
    c.batch = 0;
    CHECK(train_cfg_validate(&c, m, &e) == -1 && strstr(e.msg, "batch"));
    printf("batch 0:      %s\n", e.msg);
    train_cfg_default(&c);
    c.lr = -1;
    CHECK(train_cfg_validate(&c, m, &e) == -1 && strstr(e.msg, "lr"));
    printf("lr -1:        %s\n", e.msg);
    train_cfg_default(&c);
    c.ctx = 256;
    CHECK(train_cfg_validate(&c, m, &e) == -1 && strstr(e.msg, "ctx") && strstr(e.msg, "128"));
    printf("ctx 256:      %s\n", e.msg);
    CHECK(trainer_new(m, &c, NULL, &e) == NULL);
    train_cfg_default(&c);
    c.accum = 0;
    CHECK(train_cfg_validate(&c, m, &e) == -1 && strstr(e.msg, "accum"));
    train_cfg_default(&c);
    c.b2 = 1.0f;
    CHECK(train_cfg_validate(&c, m, &e) == -1 && strstr(e.msg, "b2"));

    /* data too short for a row; ids outside the vocabulary */
    int ids[40];
    for (int i = 0; i < 40; i++) ids[i] = i % 50;
    CHECK(data_from_ids(&d, ids, 40, "tiny-text", &e) == 0);
    train_cfg_default(&c);
    CHECK(trainer_new(m, &c, &d, &e) == NULL && strstr(e.msg, "ctx"));
    printf("short data:   %s\n", e.msg);
    data_free(&d);
    ids[7] = 500;
    CHECK(data_from_ids(&d, ids, 40, "ids", &e) == 0);
    c.ctx = 8;
    CHECK(trainer_new(m, &c, &d, &e) == NULL && strstr(e.msg, "500") && strstr(e.msg, "vocabulary"));
    printf("bad id:       %s\n", e.msg);
    data_free(&d);
    CHECK(data_from_ids(&d, ids, 1, "one", &e) == -1);
    model_free(m);
}

/* accum micro-batches of B rows == one batch of accum·B rows (loss and gradient). */
TEST(gradient_accumulation)
{
    GrErr e = {{0}};
    Dataset d;
    CHECK(data_task(&d, "add", &TOK, 2, &e) == 0);
    int T = 16, rows[4 * 17];
    Rng r;
    rng_seed(&r, 9);
    data_batch(&d, 0, 4, T, &r, rows);
    TrainCfg c = small_cfg();
    c.ctx = T;
    StepInfo s1, s2;
    Model *a = tiny_model(8), *b = tiny_model(8);
    c.batch = 4;
    c.accum = 1;
    Trainer *ta = trainer_new(a, &c, NULL, &e);
    c.batch = 2;
    c.accum = 2;
    Trainer *tb = trainer_new(b, &c, NULL, &e);
    CHECK(ta && tb);
    if (!ta || !tb) return;
    CHECK(trainer_step_rows(ta, rows, &s1, &e) == 0);
    CHECK(trainer_step_rows(tb, rows, &s2, &e) == 0);
    CHECK_NEAR(s1.loss, s2.loss, 1e-6);
    CHECK_NEAR(s1.grad_norm, s2.grad_norm, 1e-5 * s1.grad_norm);
    double md = 0, gmax = 0;
    for (size_t i = 0; i < a->total; i++) {
        md = fmax(md, fabs(a->grads[i] - b->grads[i]));
        gmax = fmax(gmax, fabs(a->grads[i]));
    }
    CHECK(md <= 1e-6 * fmax(gmax, 1.0));
    printf("accumulation: 1x4 rows vs 2x2 rows: loss %.7f vs %.7f, grad max diff %.2g (max |g| %.2g)\n", s1.loss,
           s2.loss, md, gmax);
    trainer_free(ta);
    trainer_free(tb);
    model_free(a);
    model_free(b);
    data_free(&d);
}

TEST(clipping)
{
    GrErr e = {{0}};
    Dataset d;
    CHECK(data_task(&d, "copy", &TOK, 1, &e) == 0);
    Model *m = tiny_model(4);
    TrainCfg c = small_cfg();
    c.clip = 1e-3f; /* far below the norm: Adam's first step is then still ±lr, so check the moments */
    Trainer *t = trainer_new(m, &c, &d, &e);
    StepInfo si;
    CHECK(t && trainer_step(t, &si, &e) == 0);
    CHECK(si.grad_norm > c.clip);
    /* After one step m = (1-b1)·g·scale: its norm is (1-b1)·clip. */
    double s = 0;
    for (size_t i = 0; i < m->total; i++) s += (double)m->m[i] * m->m[i];
    CHECK_NEAR(sqrt(s), (1 - c.b1) * c.clip, 1e-6);
    trainer_free(t);
    model_free(m);
    data_free(&d);
}

TEST(schedule)
{
    TrainCfg c;
    train_cfg_default(&c);
    c.lr = 1e-3f;
    c.min_lr = 1e-4f;
    c.warmup = 10;
    c.steps = 110;
    CHECK_NEAR(train_lr_at(&c, 0), 1e-4, 1e-9);    /* (0+1)/10 of lr */
    CHECK_NEAR(train_lr_at(&c, 9), 1e-3, 1e-9);
    CHECK_NEAR(train_lr_at(&c, 10), 1e-3, 1e-9);   /* cosine starts at lr */
    CHECK_NEAR(train_lr_at(&c, 60), 5.5e-4, 1e-8); /* halfway */
    CHECK_NEAR(train_lr_at(&c, 110), 1e-4, 1e-9);
    CHECK_NEAR(train_lr_at(&c, 5000), 1e-4, 1e-9);
    for (long s = 11; s < 110; s++) CHECK(train_lr_at(&c, s) <= train_lr_at(&c, s - 1));
    c.warmup = 0;
    c.steps = 0;
    CHECK(train_lr_at(&c, 123) == c.lr); /* constant */
}

TEST(datasets_and_tasks)
{
    GrErr e = {{0}};
    Dataset d;
    int ids[100];
    for (int i = 0; i < 100; i++) ids[i] = i;
    CHECK(data_from_ids(&d, ids, 100, "ids", &e) == 0);
    CHECK(d.ntrain == 90 && d.nval == 10 && d.train[89] == 89 && d.val[0] == 90);
    Rng r;
    rng_seed(&r, 1);
    int rows[5 * 9];
    data_batch(&d, 0, 5, 8, &r, rows);
    for (int b = 0; b < 5; b++) {
        CHECK(rows[b * 9] >= 0 && rows[b * 9] + 8 < 90);
        for (int i = 1; i < 9; i++) CHECK(rows[b * 9 + i] == rows[b * 9] + i);
    }
    data_batch(&d, 1, 5, 8, &r, rows);
    for (int b = 0; b < 5; b++) CHECK(rows[b * 9] >= 90 && rows[b * 9 + 8] <= 99);
    data_free(&d);

    const char *const *names = data_task_names();
    for (int k = 0; names[k]; k++) {
        CHECK(data_task(&d, names[k], &TOK, 11, &e) == 0);
        size_t n = d.ntrain + d.nval;
        CHECK(n >= 200000 && d.nval == n / 10);
        StrBuf sb;
        sb_init(&sb);
        tok_decode(&TOK, d.train, 400, &sb);
        /* check the first complete lines */
        char *line = sb.s, *nl;
        int checked = 0;
        while ((nl = strchr(line, '\n')) && checked < 10) {
            *nl = 0;
            if (!strcmp(names[k], "copy")) {
                CHECK(strlen(line) == 17 && line[8] == '|' && !strncmp(line, line + 9, 8));
            } else if (!strcmp(names[k], "add")) {
                int x, y, z;
                CHECK(sscanf(line, "%d+%d=%d", &x, &y, &z) == 3 && x + y == z);
            } else if (!strcmp(names[k], "repeat")) {
                size_t L = strlen(line), h = L / 3;
                CHECK(L % 3 == 0 && h >= 4 && h <= 13 && !strncmp(line, line + h, h) && !strncmp(line, line + 2 * h, h));
                for (size_t q = 0; q < L; q++) CHECK(line[q] >= 'a' && line[q] <= 'z');
            } else {
                char *gt = strchr(line, '>');
                CHECK(gt && strlen(gt + 1) == (size_t)(gt - line));
                for (char *q = gt ? gt + 2 : line + strlen(line); *q; q++) CHECK(q[-1] <= q[0]);
            }
            checked++;
            line = nl + 1;
        }
        CHECK(checked == 10);
        if (k == 0) printf("task %s: %zu tokens, e.g. \"%s\"\n", names[k], n, sb.s);
        sb_free(&sb);
        data_free(&d);
    }
    /* the same seed gives the same text */
    Dataset d2;
    CHECK(data_task(&d, "sort", &TOK, 3, &e) == 0 && data_task(&d2, "sort", &TOK, 3, &e) == 0);
    CHECK(d.ntrain == d2.ntrain && !memcmp(d.train, d2.train, d.ntrain * sizeof(int)));
    data_free(&d);
    data_free(&d2);
}

int main(void)
{
    GrErr e = {{0}};
    if (tok_init_chars(&TOK, tok_default_chars(), strlen(tok_default_chars()), &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    RUN(schedule);
    RUN(datasets_and_tasks);
    RUN(bad_input);
    RUN(gradient_accumulation);
    RUN(clipping);
    RUN(nan_from_huge_lr);
    RUN(nan_from_planted_inf);
    RUN(resume_is_bit_identical);
    RUN(copy_task_learns);
    tok_free(&TOK);
    return harness_done("train");
}
