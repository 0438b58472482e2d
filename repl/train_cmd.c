/* train_cmd.c — `train`: the loop lives here (core's trainer is stepwise), so progress,
 * Ctrl-C and the loss curve are the REPL's business. */
#include "session.h"
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <time.h>

static const char *opt_of(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], name) && i + 1 < argc) return argv[i + 1];
        if (!strncmp(argv[i], name, n) && argv[i][n] == '=') return argv[i] + n + 1;
    }
    return NULL;
}

static int num(const char *name, const char *v, double *out, GrErr *e)
{
    char *end;
    double d = strtod(v, &end);
    if (!*v || *end || isnan(d)) return gr_fail(e, "train %s: '%s' is not a number", name, v);
    *out = d;
    return 0;
}

static void push(float **arr, int *n, int *cap, float v)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *arr = realloc(*arr, sizeof(float) * (size_t)*cap);
    }
    (*arr)[(*n)++] = v;
}

int cmd_train(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (!s->m) return gr_fail(e, "no model: make one with 'new tiny' or 'load PATH'"), CMD_ERR;
    double d = 0;
    char *end;
    long steps = strtol(argv[1], &end, 10);
    if (!*argv[1] || *end || steps < 1 || steps > 10000000)
        return gr_fail(e, "train STEPS: '%s' is not a whole number of steps (1..10000000)", argv[1]), CMD_ERR;
    TrainCfg c;
    train_cfg_default(&c);
    c.steps = (int)(s->m->step + steps);
    c.seed = s->seed;
    c.batch = 16;
    if (s->m->cfg.ctx < 64 || s->m->cfg.vocab > 1000) c.batch = 4;
    static const struct { const char *name; int is_int; size_t off; } OPTS[] = {
        {"--batch", 1, offsetof(TrainCfg, batch)}, {"--ctx", 1, offsetof(TrainCfg, ctx)},
        {"--lr", 0, offsetof(TrainCfg, lr)}, {"--warmup", 1, offsetof(TrainCfg, warmup)},
        {"--eval-every", 1, offsetof(TrainCfg, eval_every)}, {"--clip", 0, offsetof(TrainCfg, clip)},
        {"--accum", 1, offsetof(TrainCfg, accum)}, {"--wd", 0, offsetof(TrainCfg, wd)},
        {"--min-lr", 0, offsetof(TrainCfg, min_lr)},
    };
    int lr_given = 0, minlr_given = 0;
    for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++) {
        const char *v = opt_of(argc, argv, OPTS[i].name);
        if (!v) continue;
        if (num(OPTS[i].name, v, &d, e)) return CMD_ERR;
        if (OPTS[i].is_int) {
            if (d != floor(d) || d < -1e9 || d > 1e9) return gr_fail(e, "train %s: '%s' is not a whole number", OPTS[i].name, v), CMD_ERR;
            *(int *)((char *)&c + OPTS[i].off) = (int)d;
        } else *(float *)((char *)&c + OPTS[i].off) = (float)d;
        if (!strcmp(OPTS[i].name, "--lr")) lr_given = 1;
        if (!strcmp(OPTS[i].name, "--min-lr")) minlr_given = 1;
    }
    if (lr_given && !minlr_given) c.min_lr = c.lr / 10;
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--", 2)) {
            const char *known[] = {"--data", "--batch", "--ctx", "--lr", "--warmup", "--eval-every", "--clip",
                                   "--accum", "--wd", "--min-lr", NULL};
            int ok = 0;
            for (int k = 0; known[k]; k++)
                if (!strncmp(argv[i], known[k], strlen(known[k]))) ok = 1;
            if (!ok) return gr_fail(e, "train: unknown option '%s'", argv[i]), CMD_ERR;
            if (!strchr(argv[i], '=')) i++;
        }
    if (train_cfg_validate(&c, s->m, e)) return CMD_ERR;

    const char *data = opt_of(argc, argv, "--data");
    if (!data) data = "copy";
    Dataset ds;
    memset(&ds, 0, sizeof ds);
    int rc;
    if (!strcmp(data, "copy") || !strcmp(data, "add") || !strcmp(data, "sort"))
        rc = data_task(&ds, data, &s->tok, s->seed, e);
    else {
        rc = data_from_file(&ds, data, &s->tok, e);
        if (rc && s->tok.kind == TOK_CHAR && strstr(e->msg, "vocabulary")) {
            size_t l = strlen(e->msg);
            snprintf(e->msg + l, sizeof e->msg - l, " (start a model on this text's characters: new tiny vocab=chars:%s)", data);
        }
    }
    if (rc) return CMD_ERR;
    Trainer *t = trainer_new(s->m, &c, &ds, e);
    if (!t) { data_free(&ds); return CMD_ERR; }
    const TrainCfg *tc = trainer_cfg(t);
    double lnv = log((double)s->m->cfg.vocab);
    char acc[32] = "";
    if (tc->accum > 1) snprintf(acc, sizeof acc, " × accum %d", tc->accum);
    sb_printf(&s->out, "training on %s: %zu train / %zu val tokens, batch %d × ctx %d%s, lr %g → %g, %ld steps (ln V = %.3f)\n",
              ds.name, ds.ntrain, ds.nval, tc->batch, tc->ctx, acc, tc->lr, tc->min_lr, steps, lnv);
    if (s->flush) s->flush(s);
    s->nloss = 0;
    s->nval = 0;
    g_interrupted = 0;
    long done = 0;
    double tok_s = 0, t_total = 0;
    float last_val = NAN;
    int failed = 0;
    for (long i = 0; i < steps; i++) {
        StepInfo si;
        if (trainer_step(t, &si, e)) {
            failed = 1;
            break;
        }
        done++;
        push(&s->loss_curve, &s->nloss, &s->loss_cap, si.loss);
        t_total += si.ms;
        tok_s = si.tok_s;
        int last = i + 1 == steps || g_interrupted;
        if ((tc->eval_every > 0 && (i + 1) % tc->eval_every == 0) || last) {
            last_val = trainer_eval(t);
            push(&s->val_curve, &s->nval, &s->val_cap, last_val);
        }
        double eta = (steps - i - 1) * (t_total / done) / 1e3;
        if (s->is_tty) {
            sb_printf(&s->out, "\r\x1b[Kstep %ld/%ld  loss %.4f  val %.4f  lr %.2e  %.0f tok/s  ETA %.0fs", i + 1, steps,
                      si.loss, last_val, si.lr, tok_s, eta);
            if (s->flush) s->flush(s);
        } else if ((tc->eval_every > 0 && (i + 1) % tc->eval_every == 0) || last) {
            sb_printf(&s->out, "step %ld/%ld  loss %.4f  val %.4f  lr %.2e\n", i + 1, steps, si.loss, last_val, si.lr);
            if (s->flush) s->flush(s);
        }
        if (g_interrupted) break;
    }
    if (s->is_tty) sb_putc(&s->out, '\n');
    int interrupted = g_interrupted;
    g_interrupted = 0;
    trainer_free(t);
    data_free(&ds);
    VizOpts o = {.color = s->color, .width = s->width};
    if (s->nloss > 1) {
        sb_puts(&s->out, "loss ");
        viz_sparkline(&s->out, &o, s->loss_curve, s->nloss);
        if (s->out.len && s->out.s[s->out.len - 1] != '\n') sb_putc(&s->out, '\n');
    }
    if (done)
        sb_printf(&s->out, "%s after %ld step%s: train loss %.4f, val loss %.4f (ln V = %.3f); %.0f tokens/s, %.1f s\n",
                  interrupted ? "stopped (Ctrl-C)" : "done", done, done == 1 ? "" : "s", s->loss_curve[s->nloss - 1],
                  last_val, lnv, tok_s, t_total / 1e3);
    /* The old trace describes the old weights: recompute it. */
    if (s->run_text) {
        char line[64];
        GrErr ig;
        StrBuf keep = s->out;
        sb_init(&s->out);
        snprintf(line, sizeof line, "reset");
        if (session_exec(s, line, &ig) == CMD_OK) {
            acts_run(s->trace, &ig);
            if (!s->nabl) s->clean_loss = s->trace->loss;
        }
        sb_free(&s->out);
        s->out = keep;
    }
    return failed ? CMD_ERR : CMD_OK;
}
