/* cmd_runs.c — comparing runs: `runs`, `snapshot`, `restore`, `diff A B [TENSOR]`, and
 * activation patching (`patch TENSOR from RUN`, `patch sweep …`, `unpatch`). */
#include "cmds.h"
#include "expr.h"
#include "names.h"
#include "pictures.h"
#include "runs.h"
#include "sample.h"
#include "stages.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cmd_runs(Session *s, const Args *a, GrErr *e)
{
    if (arg_given(a, "action")) {
        if (!arg_given(a, "name")) return gr_fail(e, "runs drop: which run? (runs drop NAME)"), CMD_ERR;
        if (runs_drop(s, arg_str(a, "name", ""), e)) return CMD_ERR;
        sb_printf(&s->out, "dropped run %s\n", arg_str(a, "name", ""));
        return CMD_OK;
    }
    runs_list(s, &s->out);
    return CMD_OK;
}

int cmd_snapshot(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    if (snap_take(s, arg_str(a, "name", ""), e)) return CMD_ERR;
    sb_printf(&s->out, "snapshot %s: the weights at step %ld ('restore %s' brings them back exactly)\n",
              arg_str(a, "name", ""), s->m->step, arg_str(a, "name", ""));
    return CMD_OK;
}

int cmd_restore(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    if (snap_restore(s, arg_str(a, "name", ""), e)) return CMD_ERR;
    if (s->trace && session_rerun(s, e)) return CMD_ERR;
    sb_printf(&s->out, "restored the weights of snapshot %s (step %ld; the optimizer's moments are not part of it)\n",
              arg_str(a, "name", ""), s->m->step);
    return CMD_OK;
}

/* A host copy of a trace entry of a run (views share one mirror on a device). */
static float *entry_copy(Session *s, const TraceEntry *t, size_t *n, GrErr *e)
{
    TensorView v;
    if (names_trace_view(s, t, &v, e)) return NULL;
    *n = tv_numel(&v);
    float *x = malloc(sizeof(float) * (*n ? *n : 1));
    if (!x) return gr_fail(e, "out of memory"), NULL;
    tv_copy_out(&v, x);
    return x;
}

/* Top-1 agreement of the next-token predictions (argmax of each logits row). */
static int top1_agree(const float *la, const float *lb, int T, int V)
{
    int k = 0;
    for (int t = 0; t < T; t++) k += argmax_f(la + (size_t)t * V, V) == argmax_f(lb + (size_t)t * V, V);
    return k;
}

static int diff_table(Session *s, const char *cmd, const char *an, const Acts *A, const char *bn, const Acts *B, GrErr *e)
{
    int same = 0;
    for (int t = 0; t < A->T; t++) same += A->tokens_host[t] == B->tokens_host[t];
    sb_printf(&s->out, "%s %s %s: %d tokens, %s; loss %.4f vs %.4f (%+.4f)\n", cmd, an, bn, A->T,
              same == A->T ? "the same tokens" : "different tokens", A->loss, B->loss, B->loss - A->loss);
    sb_puts(&s->out, "  tensor             max |A-B|   mean |A-B|\n");
    const char *first = NULL;
    float *la = NULL, *lb = NULL;
    for (int i = 0; i < A->nentries; i++) {
        const TraceEntry *ta = &A->entries[i], *tb = acts_find(B, ta->name);
        if (!tb || !acts_computed(A, ta) || !acts_computed(B, tb)) continue;
        size_t na, nb;
        float *x = entry_copy(s, ta, &na, e), *y = x ? entry_copy(s, tb, &nb, e) : NULL;
        if (!y) { free(x); free(la); free(lb); return -1; }
        double mx = 0, mean = 0;
        for (size_t k = 0; k < na && k < nb; k++) {
            double d = fabs((double)x[k] - y[k]);
            if (isinf(x[k]) && isinf(y[k]) && x[k] == y[k]) d = 0; /* masked cells: -inf in both */
            if (d > mx || isnan(d)) mx = d;
            mean += d;
        }
        mean /= (double)(na ? na : 1);
        int starts = !first && mx > 0;
        if (starts) first = ta->name;
        sb_printf(&s->out, "  %-16s %11.4g  %11.4g%s\n", ta->name, mx, mean, starts ? "   \xe2\x86\x90 first difference" : "");
        if (!strcmp(ta->name, "logits")) la = x, lb = y;
        else free(x), free(y);
    }
    if (la && lb) {
        int V = s->m->cfg.vocab, k = top1_agree(la, lb, A->T, V);
        sb_printf(&s->out, "  top-1 next-token agreement: %d of %d positions (%.1f%%)\n", k, A->T, 100.0 * k / A->T);
    }
    free(la), free(lb);
    if (!first) sb_puts(&s->out, "  identical, bit for bit\n");
    return 0;
}

/* diff A B TENSOR[slice]: the statistics of A - B and its picture on the diverging scale. */
static int diff_tensor(Session *s, const char *an, const char *bn, const char *spec, GrErr *e)
{
    char sa[200], sb2[200];
    snprintf(sa, sizeof sa, "%s%s%s", strcmp(an, "last") ? an : "", strcmp(an, "last") ? "." : "", spec);
    snprintf(sb2, sizeof sb2, "%s%s%s", strcmp(bn, "last") ? bn : "", strcmp(bn, "last") ? "." : "", spec);
    TensorView va, vb;
    if (names_view(s, sa, &va, e)) return -1;
    size_t n = tv_numel(&va);
    Pic p;
    pic_init(&p);
    p.data = malloc(sizeof(float) * (n ? n : 1));
    if (!p.data) return gr_fail(e, "out of memory");
    tv_copy_out(&va, p.data);
    int ndim = va.ndim, shape[TV_MAX_DIMS];
    char dn[TV_MAX_DIMS];
    for (int i = 0; i < ndim; i++) shape[i] = va.shape[i], dn[i] = va.dimname[i];
    if (names_view(s, sb2, &vb, e)) { pic_free(&p); return -1; }
    if (tv_numel(&vb) != n) { pic_free(&p); return gr_fail(e, "diff: %s and %s have different shapes", sa, sb2); }
    float *y = malloc(sizeof(float) * (n ? n : 1));
    if (!y) { pic_free(&p); return gr_fail(e, "out of memory"); }
    tv_copy_out(&vb, y);
    double mx = 0, mean = 0;
    for (size_t k = 0; k < n; k++) {
        float d = p.data[k] - y[k];
        if (isinf(p.data[k]) && p.data[k] == y[k]) d = 0;
        p.data[k] = d;
        mx = fmax(mx, fabs(d));
        mean += fabs(d);
    }
    free(y);
    sb_printf(&s->out, "%s - %s: max |diff| %.4g, mean |diff| %.4g over %zu values\n", sa, sb2, mx, mean / (double)(n ? n : 1), n);
    int rc = 0;
    if (ndim == 2) {
        int T = s->trace ? s->trace->T : -1;
        if ((dn[0] == 't' || dn[0] == 's') && shape[0] == T) {
            p.labels = token_labels(s, T);
            p.nlab = T;
        }
        sb_printf(&p.title, "%s - %s · ", sa, sb2);
        pic_model_desc(s, &p.title);
        p.heat = (VizHeatmap){.data = p.data, .rows = shape[0], .cols = shape[1],
                              .row_labels = p.labels ? (const char *const *)p.labels : NULL,
                              .col_labels = p.labels && (dn[1] == 't' || dn[1] == 's') && shape[1] == T
                                                ? (const char *const *)p.labels : NULL,
                              .title = p.title.s};
        viz_heatmap_pick_scale(&p.heat, VIZ_DATA_SIGNED, VIZ_SCALE_DEFAULT, 0);
        VizOpts o = session_vopts(s);
        rc = pic_draw_term(&p, &o, &s->out, e);
    } else if (ndim == 1) {
        for (size_t k = 0; k < n; k++) expr_put_cell(&s->out, p.data[k]);
        sb_putc(&s->out, '\n');
    } else {
        sb_puts(&s->out, "(a picture needs a 2-D slice, like [h=0])\n");
    }
    pic_free(&p);
    return rc;
}

int cmd_diff(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const char *an = arg_str(a, "a", ""), *bn = arg_str(a, "b", "");
    const Acts *A = runs_get(s, an, e), *B = A ? runs_get(s, bn, e) : NULL;
    if (!B) return CMD_ERR;
    if (A->T != B->T)
        return gr_fail(e, "diff: %s has %d tokens and %s %d; runs of the same length compare position by position", an,
                       A->T, bn, B->T), CMD_ERR;
    int rc = arg_given(a, "tensor") ? diff_tensor(s, an, bn, arg_str(a, "tensor", ""), e) : diff_table(s, "diff", an, A, bn, B, e);
    return rc ? CMD_ERR : CMD_OK;
}

/* compare A B [TEXT]: the text run at precision A and at B (the session's ablations in
 * force in both), diff's table between them; the session's precision is left as it was. */
int cmd_compare(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    Model *m = s->m;
    const char *text = arg_given(a, "text") ? arg_str(a, "text", "") : s->run_text;
    if (!text) return gr_fail(e, "compare: which text? ('compare fp32 int8 \"some text\"', or run one first)"), CMD_ERR;
    Precision p[2] = {(Precision)arg(a, "a")->i, (Precision)arg(a, "b")->i}, was = m->prec;
    Acts *r[2] = {NULL, NULL};
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        if (model_set_precision(m, p[k], e) || !(r[k] = session_new_trace(s, text, e)) || acts_run(r[k], e)) rc = -1;
    }
    GrErr pe;
    if (model_set_precision(m, was, rc ? &pe : e)) rc = -1;
    if (!rc) {
        const char *an = prec_def(p[0])->name, *bn = prec_def(p[1])->name;
        rc = diff_table(s, "compare", an, r[0], bn, r[1], e);
        if (!rc)
            sb_printf(&s->out, "  bytes per matmul weight: %s %.3g, %s %.3g; generation reads %.1f vs %.1f MB per token\n", an,
                      model_bytes_per_weight(m, p[0]), bn, model_bytes_per_weight(m, p[1]),
                      model_bytes_per_token(m, p[0]) / 1e6, model_bytes_per_token(m, p[1]) / 1e6);
    }
    for (int k = 0; k < 2; k++) acts_free(m, r[k]);
    return rc ? CMD_ERR : CMD_OK;
}

/* ---------------- activation patching ---------------- */

static int count_patches(const Session *s)
{
    int n = 0;
    for (int i = 0; i < s->nabl; i++) n += abl_is_patch(&s->abl[i]);
    return n;
}

/* One patch: target[slice] of the session's runs, from run src. */
static int add_patch(Session *s, const char *spec, const Acts *src, const char *srcname, int quiet, GrErr *e)
{
    if (s->nabl + s->npabl >= MAX_ABL) return gr_fail(e, "patch: at most %d ablations and patches at once", MAX_ABL);
    Ablation ab;
    memset(&ab, 0, sizeof ab);
    GrErr pe;
    if (abl_parse_target(&ab, spec, &pe)) return gr_fail(e, "patch: %s", pe.msg);
    ab.mode = ABL_COPY;
    ab.src = src;
    snprintf(ab.other, sizeof ab.other, "%s", ab.target);
    Acts *t = s->trace;
    if (!t) return gr_fail(e, "patch: run the text to patch into first");
    if (acts_check_ablation(t, &ab, &pe)) return gr_fail(e, "patch: %s", pe.msg);
    char nm[64];
    abl_name(&ab, nm, sizeof nm);
    for (int i = 0; i < s->nabl; i++) {
        char o[64];
        abl_name(&s->abl[i], o, sizeof o);
        if (!strcmp(o, nm)) return gr_fail(e, "patch: %s is already ablated or patched ('unpatch %s' first)", nm, nm);
    }
    s->abl[s->nabl++] = ab;
    t->nabl = s->nabl;
    if (!quiet)
        sb_printf(&s->out, "patching %s from run %s; 'run' again (or 'patch sweep') to see it, 'unpatch' removes it\n", nm,
                  srcname);
    return 0;
}

static int unpatch_all(Session *s)
{
    int k = 0, n = 0;
    for (int i = 0; i < s->nabl; i++) {
        if (abl_is_patch(&s->abl[i])) n++;
        else s->abl[k++] = s->abl[i];
    }
    s->nabl = k;
    if (s->trace) s->trace->nabl = s->nabl;
    return n;
}

/* The value of metric on the current trace: one number, or -1 with why. */
static int metric_of(Session *s, const char *metric, double *out, GrErr *e)
{
    ExprValue v;
    ExprHost h = names_host(s);
    if (expr_eval_host(metric, &h, &v, e)) return -1;
    int ok = v.ndim == 0 && !v.str;
    *out = v.scalar;
    expr_value_free(&v);
    if (!ok) return gr_fail(e, "patch sweep: --metric must give one number, like logit(\"a\") - logit(\"b\")");
    return 0;
}

/* patch sweep PATTERN from A into B: every layer (L* in PATTERN) × every position; heads too
 * when the tensor has them. Each cell: the metric on B's text with that one patch. */
static int sweep(Session *s, const char *pattern, const char *an, const char *bn, const char *metric, GrErr *e)
{
    const Acts *A = runs_get(s, an, e), *B = A ? runs_get(s, bn, e) : NULL;
    if (!B) return -1;
    if (!metric) return gr_fail(e, "patch sweep: --metric EXPR says what to measure, e.g. --metric 'logit(\"a\") - logit(\"b\")'");
    if (A->T != B->T)
        return gr_fail(e, "patch sweep: %s has %d tokens and %s %d; patching needs the same positions", an, A->T, bn, B->T);
    const char *star = strstr(pattern, "L*.");
    int L = s->m->cfg.n_layer, T = B->T, nl = star ? L : 1;
    if (count_patches(s)) return gr_fail(e, "patch sweep: 'unpatch' the patches in force first");
    /* head-shaped tensors (q k v scores masked pattern, and ctx's head columns): one row per
     * layer and head */
    const char *base = star ? star + 3 : strrchr(pattern, '.') ? strrchr(pattern, '.') + 1 : pattern;
    static const char *const HEADED[] = {"q", "k", "v", "scores", "masked", "pattern", "ctx"};
    int nh = 1;
    for (size_t k = 0; k < sizeof HEADED / sizeof HEADED[0]; k++)
        if (!strcmp(base, HEADED[k])) nh = s->m->cfg.n_head;
    int rows = nl * nh;
    /* the text B ran on */
    const char *btext = NULL;
    for (int i = 0; i < s->nruns; i++)
        if (s->runs[i].a == B) btext = s->runs[i].text;
    if (B == s->trace) btext = s->run_text;
    if (!btext) return gr_fail(e, "patch sweep: no text for run %s", bn);
    Acts *saved = s->trace;
    s->trace = NULL; /* each cell runs on its own trace; the last run comes back after */
    Pic p;
    pic_init(&p);
    p.data = malloc(sizeof(float) * (size_t)rows * T);
    p.rlab = calloc((size_t)rows, sizeof(char *));
    p.nrlab = rows;
    int rc = p.data && p.rlab ? 0 : gr_fail(e, "out of memory");
    double clean = NAN;
    for (int r = 0; r < rows && !rc; r++) {
        int l = r / nh, h = r % nh;
        char tname[64], lab[80];
        if (star) snprintf(tname, sizeof tname, "%.*sL%d.%s", (int)(star - pattern), pattern, l, star + 3);
        else snprintf(tname, sizeof tname, "%s", pattern);
        if (nh > 1) snprintf(lab, sizeof lab, "L%d.h%d", star ? l : 0, h);
        else snprintf(lab, sizeof lab, "%s", star ? tname + (star - pattern) : tname);
        if (nh > 1 && !star) snprintf(lab, sizeof lab, "h%d", h);
        p.rlab[r] = strdup(lab);
        for (int t = 0; t < T && !rc; t++) {
            Acts *run = session_new_trace(s, btext, e);
            if (!run) { rc = -1; break; }
            s->trace = run;
            s->trace_serial++; /* names derived from the trace (lens) are of this one */
            char spec[96];
            if (nh > 1) snprintf(spec, sizeof spec, "%s[h=%d,t=%d]", tname, h, t);
            else snprintf(spec, sizeof spec, "%s[t=%d]", tname, t);
            rc = add_patch(s, spec, A, an, 1, e);
            if (!rc) run->abl = s->abl, run->nabl = s->nabl, rc = acts_run(run, e);
            double m = NAN;
            if (!rc) rc = metric_of(s, metric, &m, e);
            unpatch_all(s);
            if (!rc && isnan(clean)) {
                /* B's text unpatched (other ablations in force), for the note */
                acts_rewind(run);
                run->nabl = s->nabl;
                if (!acts_run(run, e)) metric_of(s, metric, &clean, e);
            }
            s->trace = NULL;
            acts_free(s->m, run);
            p.data[(size_t)r * T + t] = (float)m;
        }
    }
    s->trace = saved;
    s->trace_serial++;
    double cm = NAN;
    if (!rc) {
        /* the metric on A itself: the clean end of the scale */
        Acts *keep = s->trace;
        s->trace = (Acts *)A;
        s->trace_serial++;
        rc = metric_of(s, metric, &cm, e);
        s->trace = keep;
        s->trace_serial++;
    }
    if (!rc) {
        char **lab = calloc((size_t)T, sizeof(char *));
        for (int t = 0; t < T && lab; t++) {
            StrBuf b;
            sb_init(&b);
            tok_piece(&s->tok, B->tokens_host[t], &b);
            lab[t] = b.s ? b.s : strdup("");
        }
        p.labels = lab;
        p.nlab = lab ? T : 0;
        /* the fraction of the clean-minus-corrupt difference each patch restores (1: all of it) */
        int norm = fabs(cm - clean) > 1e-9;
        double raw_best = NAN;
        int bi = 0;
        for (int i = 0; i < rows * T; i++) {
            if (i == 0 || p.data[i] > raw_best) raw_best = p.data[i], bi = i;
            /* in float, as the cells were kept: a patch that changed nothing is exactly 0 */
            float d = p.data[i] - (float)clean;
            p.data[i] = norm ? (float)(d / ((float)cm - (float)clean)) : d;
        }
        sb_printf(&p.title, "Patching %s from %s into %s · %s", pattern, an, bn, metric);
        if (norm) sb_printf(&p.subtitle, "colour: the fraction restored, (metric - %s) / (%s - %s): 0 as %s, 1 as %s", bn, an, bn, bn, an);
        else sb_printf(&p.subtitle, "colour: the metric minus %s's (%s and %s agree on it)", bn, an, bn);
        sb_printf(&p.note, "metric on %s %.4g, on %s %.4g", an, cm, bn, clean);
        p.heat = (VizHeatmap){.data = p.data, .rows = rows, .cols = T, .row_labels = (const char *const *)p.rlab,
                              .col_labels = (const char *const *)p.labels, .title = p.title.s, .subtitle = p.subtitle.s,
                              .note = p.note.s, .row_title = "patched", .col_title = "position"};
        viz_heatmap_pick_scale(&p.heat, VIZ_DATA_SIGNED, VIZ_SCALE_DEFAULT, 0);
        VizOpts o = session_vopts(s);
        rc = pic_draw_term(&p, &o, &s->out, e);
        if (!rc)
            sb_printf(&s->out, "largest metric: %s at position %d: %.4g (%s %.4g, %s %.4g)\n", p.rlab[bi / T], bi % T,
                      raw_best, an, cm, bn, clean);
    }
    pic_free(&p);
    return rc;
}

int cmd_patch(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const char *target = arg_str(a, "target", ""), *w1 = arg_str(a, "w1", ""), *w2 = arg_str(a, "w2", "");
    if (!strcmp(target, "sweep")) {
        /* patch sweep PATTERN from A into B --metric EXPR */
        const char *w3 = arg_str(a, "w3", ""), *w4 = arg_str(a, "w4", "");
        if (strcmp(w2, "from") || !arg_given(a, "w3") || strcmp(arg_str(a, "w4", ""), "into") || !arg_given(a, "w5"))
            return gr_fail(e, "usage: patch sweep PATTERN from A into B --metric EXPR (PATTERN like 'L*.resid')"), CMD_ERR;
        (void)w4;
        return sweep(s, w1, w3, arg_str(a, "w5", ""), arg_given(a, "metric") ? arg_str(a, "metric", "") : NULL, e)
                   ? CMD_ERR : CMD_OK;
    }
    if (strcmp(w1, "from") || !arg_given(a, "w2") || arg_given(a, "w3"))
        return gr_fail(e, "usage: patch TENSOR[slice] from RUN, or patch sweep PATTERN from A into B --metric EXPR"), CMD_ERR;
    if (!strcmp(w2, "last")) return gr_fail(e, "patch: patch from a kept run (run --as NAME TEXT)"), CMD_ERR;
    const Acts *src = runs_get(s, w2, e);
    if (!src) return CMD_ERR;
    return add_patch(s, target, src, w2, 0, e) ? CMD_ERR : CMD_OK;
}

int cmd_unpatch(Session *s, const Args *a, GrErr *e)
{
    if (!arg_given(a, "target")) {
        int n = unpatch_all(s);
        sb_printf(&s->out, "removed %d patch%s\n", n, n == 1 ? "" : "es");
        return CMD_OK;
    }
    Ablation want;
    char wn[64], hn[64];
    if (abl_parse_target(&want, arg_str(a, "target", ""), e)) return CMD_ERR;
    abl_name(&want, wn, sizeof wn);
    for (int i = 0; i < s->nabl; i++) {
        abl_name(&s->abl[i], hn, sizeof hn);
        if (!abl_is_patch(&s->abl[i]) || strcmp(hn, wn)) continue;
        memmove(&s->abl[i], &s->abl[i + 1], sizeof(Ablation) * (size_t)(s->nabl - i - 1));
        s->nabl--;
        if (s->trace) s->trace->nabl = s->nabl;
        sb_puts(&s->out, "removed 1 patch\n");
        return CMD_OK;
    }
    return gr_fail(e, "unpatch: %s is not patched ('ablate' lists ablations and patches)", wn), CMD_ERR;
}
