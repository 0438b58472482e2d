/* train_cmd.c — `train`: the loop lives here (core's trainer is stepwise), so progress,
 * Ctrl-C and the loss curve are the REPL's business. The options are core/train.c's table. */
#include "cmds.h"
#include "param_abl.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

/* One frame of --watch: TEXT run on the current weights, then the picture command (in the
 * TUI the pane is cleared first, so the picture changes in place), and with --frames the
 * same picture exported to DIR/frame-NNNN.png. */
static int watch_frame(Session *s, const char *cmd, const char *text, const char *frames, int k, GrErr *e)
{
    Acts *t = session_new_trace(s, text, e);
    if (!t) return -1;
    if (acts_run(t, e)) { acts_free(s->m, t); return -1; }
    session_set_trace(s, t, text);
    if (s->clear) s->clear(s);
    sb_printf(&s->out, "[watch: step %ld] %s\n", s->m->step, cmd);
    if (session_exec(s, cmd, e) == CMD_ERR) return -1;
    if (frames) {
        char line[1400];
        snprintf(line, sizeof line, "export %s %s/frame-%04d.png", cmd, frames, k);
        if (session_exec(s, line, e) == CMD_ERR) return -1;
    }
    if (s->flush) s->flush(s);
    return 0;
}

int cmd_train(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    if (pabl_refuse(s, "train", e)) return CMD_ERR;
    long steps = arg_int(a, "steps", 1);
    TrainCfg c;
    train_cfg_default(&c);
    c.steps = (int)(s->m->step + steps);
    c.seed = s->seed;
    c.batch = s->m->cfg.ctx < 64 || s->m->cfg.vocab > 1000 ? 4 : 16;
    for (const FieldDef *f = train_options(); f->name; f++) {
        const FieldVal *v = arg(a, f->name);
        if (v->given) field_store(f, v, &c);
    }
    if (arg_given(a, "lr") && !arg_given(a, "min-lr")) c.min_lr = c.lr / 10;
    GrErr ve;
    if (train_cfg_validate(&c, s->m, &ve)) return gr_fail(e, "train: %s", ve.msg), CMD_ERR;

    /* --watch: a picture command re-run every K steps on TEXT with the current weights */
    const char *watch = arg_given(a, "watch") ? arg_str(a, "watch", "") : NULL;
    const char *wtext = arg_given(a, "text") ? arg_str(a, "text", "") : s->run_text;
    const char *frames = arg_given(a, "frames") ? arg_str(a, "frames", "") : NULL;
    long every = arg_given(a, "every") ? arg_int(a, "every", 1) : (steps >= 10 ? steps / 10 : 1);
    if (!watch && (arg_given(a, "every") || arg_given(a, "text") || frames))
        return gr_fail(e, "train: --every, --text and --frames go with --watch CMD"), CMD_ERR;
    if (watch && !wtext) return gr_fail(e, "train --watch: nothing has run yet; give --text TEXT"), CMD_ERR;
    if (frames && mkdir(frames, 0777) != 0 && errno != EEXIST)
        return gr_fail(e, "train --frames: cannot make %s: %s", frames, strerror(errno)), CMD_ERR;
    char *wtext_copy = watch ? strdup(wtext) : NULL;
    if (watch && !wtext_copy) return gr_fail(e, "out of memory"), CMD_ERR;
    int frame = 0;
    if (watch && watch_frame(s, watch, wtext_copy, frames, frame, e)) { free(wtext_copy); return CMD_ERR; }
    const FieldVal *dv = arg(a, "data");
    const char *data = dv->given ? dv->s : "copy";
    Dataset ds;
    memset(&ds, 0, sizeof ds);
    int rc;
    if (!dv->given && s->corpus[0]) {
        rc = data_from_file(&ds, s->corpus, &s->tok, e); /* the model's own corpus */
    } else if (!dv->given || dv->choice >= 0) {
        rc = data_task(&ds, data, &s->tok, s->seed, e);
    } else {
        rc = data_from_file(&ds, data, &s->tok, e);
        if (rc && s->tok.kind == TOK_CHAR && strstr(e->msg, "vocabulary")) {
            /* the specific way out: a model on this text's own characters */
            char *gen = strstr(e->msg, " (a model that reads it:");
            if (gen) *gen = 0;
            size_t l = strlen(e->msg);
            snprintf(e->msg + l, sizeof e->msg - l, " (a model that reads it: new tiny vocab=vi, or on this text's own "
                     "characters: new tiny vocab=chars:%s)", arg_str(a, "data", ""));
        }
    }
    if (rc) return CMD_ERR;
    Trainer *t = trainer_new(s->m, &c, &ds, e);
    if (!t) { data_free(&ds); return CMD_ERR; }
    const TrainCfg *tc = trainer_cfg(t);
    double lnv = log((double)s->m->cfg.vocab);
    char acc[32] = "";
    if (tc->accum > 1) snprintf(acc, sizeof acc, " × accum %d", tc->accum);
    sb_printf(&s->out, "training on %s: %zu train / %zu val tokens, batch %d × ctx %d%s, lr %g → %g, %ld step%s (ln V = %.3f)\n",
              ds.name, ds.ntrain, ds.nval, tc->batch, tc->ctx, acc, tc->lr, tc->min_lr, steps, steps == 1 ? "" : "s", lnv);
    if (s->m->prec != PREC_FP32)
        sb_printf(&s->out, "  in fp32: training updates the fp32 weights (precision %s is for runs and generation; its copies "
                           "are remade from the new weights)\n", prec_def(s->m->prec)->name);
    if (s->flush) s->flush(s);
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
        model_hist_loss(s->m, si.loss);
        s->m->unsaved = 1;
        t_total += si.ms;
        tok_s = si.tok_s;
        int last = i + 1 == steps || g_interrupted;
        if ((tc->eval_every > 0 && (i + 1) % tc->eval_every == 0) || last) {
            last_val = trainer_eval(t);
            model_hist_val(s->m, s->m->step, last_val);
        }
        double eta = (steps - i - 1) * (t_total / done) / 1e3;
        if (s->is_tty) {
            char val[32] = "\xe2\x80\x94"; /* — before the first evaluation */
            if (!isnan(last_val)) snprintf(val, sizeof val, "%.4f", last_val);
            sb_printf(&s->out, "\r\x1b[Kstep %ld/%ld  loss %.4f  val %s  lr %.2e  %.0f tok/s  ETA %.0fs", i + 1, steps,
                      si.loss, val, si.lr, tok_s, eta);
            if (s->flush) s->flush(s);
        } else if ((tc->eval_every > 0 && (i + 1) % tc->eval_every == 0) || last) {
            sb_printf(&s->out, "step %ld/%ld  loss %.4f  val %.4f  lr %.2e\n", i + 1, steps, si.loss, last_val, si.lr);
            if (s->flush) s->flush(s);
        }
        if (watch && !g_interrupted && ((i + 1) % every == 0 || last)) {
            if (s->is_tty) sb_putc(&s->out, '\n');
            GrErr we;
            if (watch_frame(s, watch, wtext_copy, frames, ++frame, &we)) {
                sb_printf(&s->out, "--watch stopped: %s\n", we.msg);
                watch = NULL;
            }
        }
        if (g_interrupted) break;
    }
    free(wtext_copy);
    if (s->is_tty) sb_putc(&s->out, '\n');
    if (done) snprintf(s->grad_what, sizeof s->grad_what, "the last training step (step %ld)", s->m->step);
    int interrupted = g_interrupted;
    g_interrupted = 0;
    trainer_free(t);
    data_free(&ds);
    VizOpts o = session_vopts(s);
    const LossHistory *hist = &s->m->hist;
    if (hist->n > 1) {
        sb_puts(&s->out, "loss ");
        o.width -= 5; /* after "loss ": the line never wraps */
        viz_sparkline(&s->out, &o, hist->loss, hist->n);
        if (s->out.len && s->out.s[s->out.len - 1] != '\n') sb_putc(&s->out, '\n');
    }
    if (done)
        sb_printf(&s->out, "%s after %ld step%s: train loss %.4f, val loss %.4f (ln V = %.3f); %.0f tokens/s, %.1f s\n",
                  interrupted ? "stopped (Ctrl-C)" : "done", done, done == 1 ? "" : "s", hist->loss[hist->n - 1],
                  last_val, lnv, tok_s, t_total / 1e3);
    /* The old trace describes the old weights: run its text again. */
    GrErr ig;
    session_rerun(s, &ig);
    return failed ? CMD_ERR : CMD_OK;
}
