/* cmd_grad.c — gradients you can look at: `backward` (d loss / d every parameter for the
 * last run, addressable as grad.NAME) and `gradcheck NAME [N]` (against finite
 * differences, core/gradcheck.c). */
#include "cmds.h"
#include "backward.h"
#include "gradcheck.h"
#include "names.h"
#include "stages.h"
#include "pictures.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int need_finished(Session *s, const char *who, GrErr *e)
{
    if (need_finished_run(s, who, e)) return -1;
    if (s->trace->T < 2) return gr_fail(e, "%s: the run has one token, so no prediction to take a loss of", who);
    for (int i = 0; i < s->nabl; i++) {
        GrErr be;
        if (abl_backward_ok(&s->abl[i], &be)) return gr_fail(e, "%s: %s", who, be.msg);
    }
    return 0;
}

static void describe_run(Session *s, const char *what, char *buf, size_t n)
{
    StrBuf b;
    sb_init(&b);
    pic_prompt(s, &b, 40);
    snprintf(buf, n, "%s of %s", what, b.s ? b.s : "the last run");
    sb_free(&b);
}

int cmd_backward(Session *s, const Args *a, GrErr *e)
{
    (void)a;
    if (need_finished(s, "backward", e)) return CMD_ERR;
    Model *m = s->m;
    Acts *act = acts_new(m, 1, s->trace->T, e), *g = act ? acts_new(m, 1, s->trace->T, e) : NULL;
    if (!g) {
        if (act) acts_free(m, act);
        return CMD_ERR;
    }
    act->fp32_only = g->fp32_only = 1; /* gradients are of the fp32 weights (set precision is for inference) */
    int rc = acts_set_tokens(m, act, s->trace->tokens_host, NULL, e);
    act->abl = s->abl; /* ablations and patches in force, forwards and backwards */
    act->nabl = s->nabl;
    if (!rc) rc = acts_run(act, e);
    if (!rc) {
        model_zero_grad(m);
        rc = model_backward_trace(m, act, g, e);
    }
    float loss = act->loss;
    int nt = act->n_targets;
    acts_free(m, act);
    if (rc) {
        acts_free(m, g);
        return CMD_ERR;
    }
    if (s->grad_trace) acts_free(m, s->grad_trace);
    s->grad_trace = g;
    describe_run(s, "backward", s->grad_what, sizeof s->grad_what);
    /* the norm per parameter, the largest three named */
    float *gv = malloc(sizeof(float) * m->total);
    if (!gv) return gr_fail(e, "backward: out of memory"), CMD_ERR;
    m->be->download(gv, m->grads, sizeof(float) * m->total);
    double total = 0, norms[3] = {-1, -1, -1};
    int best[3] = {-1, -1, -1};
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *p = &m->info[i];
        double ss = 0;
        for (size_t j = 0; j < p->numel; j++) ss += (double)gv[p->offset + j] * gv[p->offset + j];
        total += ss;
        double nv = sqrt(ss);
        for (int k = 0; k < 3; k++)
            if (nv > norms[k]) {
                for (int q = 2; q > k; q--) norms[q] = norms[q - 1], best[q] = best[q - 1];
                norms[k] = nv, best[k] = i;
                break;
            }
    }
    free(gv);
    sb_printf(&s->out, "backward: d loss / d every parameter for loss %.4f over %d prediction%s; |grad| = %.4g%s\n",
              loss, nt, nt == 1 ? "" : "s", sqrt(total), s->nabl ? " (through the ablations in force)" : "");
    if (m->prec != PREC_FP32)
        sb_printf(&s->out, "  (in fp32: gradients are of the trained weights; precision %s applies to inference)\n",
                  prec_def(m->prec)->name);
    sb_puts(&s->out, "  largest:");
    for (int k = 0; k < 3 && best[k] >= 0; k++) sb_printf(&s->out, "%s %s %.4g", k ? "," : "", m->info[best[k]].name, norms[k]);
    sb_puts(&s->out, "\n  look at them as grad.NAME: show grad.wte, hist grad.L0.attn.qkv.w, and the trace's: heatmap "
                       "grad.L0.pattern[h=0], eval norm(grad.embed)\n");
    return CMD_OK;
}

int cmd_gradcheck(Session *s, const Args *a, GrErr *e)
{
    if (need_finished(s, "gradcheck", e)) return CMD_ERR;
    const char *name = arg_str(a, "name", "");
    int n = (int)arg_int(a, "n", 6);
    GradCheckEntry *r = calloc((size_t)n, sizeof *r);
    if (!r) return gr_fail(e, "gradcheck: out of memory"), CMD_ERR;
    int rc = gradcheck_param(s->m, s->trace->tokens_host, s->trace->T, s->abl, s->nabl, name, n, s->seed, r, e);
    if (rc) {
        free(r);
        return CMD_ERR;
    }
    describe_run(s, "gradcheck", s->grad_what, sizeof s->grad_what);
    sb_printf(&s->out, "gradcheck %s: backprop against (L(w+h) - L(w-h)) / 2h, h = %g; pass when |fd - g| <= %g|g| + "
                       "2 ulp(L)/2h = %.2g (L is a float)\n",
              name, (double)GRADCHECK_H, GRADCHECK_REL, r[0].tol - GRADCHECK_REL * fabs(r[0].analytic));
    sb_puts(&s->out, "     entry      backprop   finite diff     |diff|      rel\n");
    double worst = 0;
    int bad = 0;
    for (int k = 0; k < n; k++) {
        double rel = fabs(r[k].analytic) > 0 ? r[k].err / fabs(r[k].analytic) : INFINITY;
        if (fabs(r[k].analytic) > 1e-2 && rel > worst) worst = rel;
        bad += !r[k].ok;
        sb_printf(&s->out, "  %8zu  %12.6g  %12.6g  %9.2g  %7.2g %s\n", r[k].index, r[k].analytic, r[k].numeric, r[k].err,
                  rel, r[k].ok ? "ok" : "FAIL");
    }
    sb_printf(&s->out, "  worst relative error %.2g (entries with |g| > 1e-2); fp32 allows about 1e-2\n", worst);
    free(r);
    if (bad) return gr_fail(e, "gradcheck: %d of %d entries disagree with finite differences", bad, n), CMD_ERR;
    sb_printf(&s->out, "  all %d agree\n", n);
    return CMD_OK;
}
