/* cmd_run.c — the forward pass and what it leaves: tokens run step next continue where
 * reset show explain eval check loss logits generate ablate unablate. */
#include "cmds.h"
#include "expr.h"
#include "names.h"
#include "param_abl.h"
#include "paths.h"
#include "runs.h"
#include "pictures.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- tokens and runs ---------------- */

int cmd_tokens(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const FieldVal *text = arg(a, "text"), *file = arg(a, "file");
    if (text->given == file->given)
        return gr_fail(e, "tokens: give a TEXT or --file PATH%s (usage: tokens [--ids] TEXT | --file PATH)",
                       text->given ? ", not both" : ""), CMD_ERR;
    StrBuf b;
    sb_init(&b);
    if (file->given) {
        FILE *f = fopen(file->s, "rb");
        if (!f) return gr_fail(e, "tokens: cannot open %s: %s", file->s, strerror(errno)), CMD_ERR;
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(&b, buf, k);
        fclose(f);
    } else sb_puts(&b, text->s);
    if (!b.s) sb_puts(&b, "");
    int *ids;
    size_t nids;
    int rc = tok_encode(&s->tok, b.s, b.len, &ids, &nids, e);
    sb_free(&b);
    if (rc) return CMD_ERR;
    if (arg_given(a, "ids")) {
        for (size_t i = 0; i < nids; i++) sb_printf(&s->out, "%s%d", i ? " " : "", ids[i]);
        sb_putc(&s->out, '\n');
    } else {
        sb_printf(&s->out, "%zu token%s (%s)\n", nids, nids == 1 ? "" : "s", tok_kind_name(&s->tok));
        for (size_t i = 0; i < nids; i++) {
            StrBuf p;
            sb_init(&p);
            tok_piece(&s->tok, ids[i], &p);
            sb_printf(&s->out, "  %3zu  %6d  '%s'\n", i, ids[i], p.s ? p.s : "");
            sb_free(&p);
        }
    }
    free(ids);
    return CMD_OK;
}

int cmd_run(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const char *text = arg_str(a, "text", "");
    double t0 = now_ms();
    GrErr re;
    Acts *t = session_new_trace(s, text, &re);
    if (!t) return gr_fail(e, "run: %s", re.msg), CMD_ERR;
    if (acts_run(t, &re)) {
        /* a failed op: the previous trace stays */
        acts_free(s->m, t);
        return gr_fail(e, "run: %s; the previous run is kept", re.msg), CMD_ERR;
    }
    s->m->be->sync();
    double ms = now_ms() - t0;
    session_set_trace(s, t, text);
    const char *as = arg_given(a, "as") ? arg_str(a, "as", "") : NULL;
    if (as && runs_keep(s, as, t, text, e)) return CMD_ERR;
    sb_printf(&s->out, "ran %d stages on %d token%s in %.1f ms", t->nstages, t->T, t->T == 1 ? "" : "s", ms);
    if (!isnan(t->loss)) sb_printf(&s->out, "; loss %.4f (ln V = %.4f)", t->loss, log((double)s->m->cfg.vocab));
    if (abl_count(s)) sb_printf(&s->out, " [%d ablation%s active]", abl_count(s), abl_count(s) > 1 ? "s" : "");
    if (as) sb_printf(&s->out, "; kept as %s", as);
    sb_putc(&s->out, '\n');
    return CMD_OK;
}

/* A row's label: each leading index named by its dimension ("h2", "3 ␣be"). */
static void show_row_label(Session *s, const TensorView *v, size_t row, StrBuf *b)
{
    int lead = v->ndim - 1, idx[TV_MAX_DIMS] = {0};
    for (int d = lead - 1; d >= 0; d--) {
        idx[d] = (int)(row % (size_t)v->shape[d]);
        row /= (size_t)v->shape[d];
    }
    sb_clear(b);
    for (int d = 0; d < lead; d++) {
        if (d) sb_putc(b, ' ');
        char dn = v->dimname[d];
        int T = s->trace ? s->trace->T : -1;
        if ((dn == 't' || dn == 's') && v->shape[d] == T) {
            StrBuf p;
            sb_init(&p);
            tok_piece(&s->tok, s->trace->tokens_host[idx[d]], &p);
            sb_printf(b, "t%d ", idx[d]);
            StrBuf esc;
            sb_init(&esc);
            viz_label_escape(&esc, p.s ? p.s : "");
            /* at most 8 columns of the piece */
            const char *q = esc.s ? esc.s : "";
            size_t n = strlen(q), i = 0;
            int w = 0;
            while (i < n) {
                unsigned cp;
                int k = gr_utf8_decode(q + i, n - i, &cp);
                int cw = gr_utf8_width(q + i, (size_t)k);
                if (w + cw > 8) break;
                w += cw;
                i += (size_t)k;
            }
            sb_putn(b, q, i);
            if (i < n) sb_puts(b, "\xe2\x80\xa6");
            sb_free(&esc);
            sb_free(&p);
        } else if (dn == 'v' && v->shape[d] == s->m->cfg.vocab) {
            StrBuf p, esc;
            sb_init(&p);
            sb_init(&esc);
            tok_piece(&s->tok, idx[d], &p);
            viz_label_escape(&esc, p.s ? p.s : "");
            sb_printf(b, "v%d %s", idx[d], esc.s ? esc.s : "");
            sb_free(&p);
            sb_free(&esc);
        } else if (dn) {
            sb_printf(b, "%c%d", dn, idx[d]);
        } else {
            sb_printf(b, "%d", idx[d]);
        }
    }
    if (!b->s) sb_puts(b, "");
}

/* Shows a view: shape, stats and as many values as fit in width × maxrows. */
static void show_view(Session *s, const char *label, const TensorView *v, int maxrows, int width)
{
    StrBuf *o = &s->out;
    char shp[64];
    tv_shape_str(v, shp, sizeof shp);
    TvStats st = tv_stats(v);
    sb_printf(o, "%s %s  ", label, shp);
    expr_put_stats(o, &st);
    sb_putc(o, '\n');
    if (v->ndim == 0) {
        sb_puts(o, "  ");
        expr_put_cell(o, v->data[0]);
        sb_putc(o, '\n');
        return;
    }
    int cols = v->shape[v->ndim - 1];
    size_t rows = tv_numel(v) / (size_t)(cols ? cols : 1);
    StrBuf lab;
    sb_init(&lab);
    int lw = 0;
    size_t shown_rows = rows < (size_t)maxrows ? rows : (size_t)maxrows;
    for (size_t r = 0; r < shown_rows; r++) {
        show_row_label(s, v, r, &lab);
        int w = gr_utf8_width(lab.s, lab.len);
        if (w > lw) lw = w;
    }
    int fit = (width - 2 - lw) / 11;
    if (fit < 1) fit = 1;
    int shown_cols = cols < fit ? cols : fit;
    for (size_t r = 0; r < shown_rows; r++) {
        show_row_label(s, v, r, &lab);
        sb_printf(o, "  %s%*s", lab.s, lw - gr_utf8_width(lab.s, lab.len), "");
        for (int c = 0; c < shown_cols; c++) expr_put_cell(o, tv_get(v, r * (size_t)cols + (size_t)c));
        sb_putc(o, '\n');
    }
    sb_free(&lab);
    size_t mr = rows - shown_rows;
    int mc = cols - shown_cols;
    if (mr || mc) {
        sb_puts(o, "  …");
        if (mc) sb_printf(o, " %d more column%s", mc, mc == 1 ? "" : "s");
        if (mr) sb_printf(o, "%s %zu more row%s", mc ? "," : "", mr, mr == 1 ? "" : "s");
        sb_puts(o, " (slice it: NAME[0:4, :8])\n");
    }
}

static void show_stage_result(Session *s, int idx)
{
    const Stage *st = &s->trace->stages[idx];
    sb_printf(&s->out, "[%d/%d] %s — %s\n", idx + 1, s->trace->nstages, st->name, stage_meaning(st));
    if (!strcmp(st->name, "loss")) {
        if (!isnan(s->trace->loss))
            sb_printf(&s->out, "  loss %.4f   ln(V) %.4f\n", s->trace->loss, log((double)s->m->cfg.vocab));
        return;
    }
    const TraceEntry *outs[4];
    int nout = acts_stage_outputs(s->trace, idx, outs, 4);
    for (int j = 0; j < nout; j++) {
        TensorView v;
        GrErr e;
        if (names_trace_view(s, outs[j], &v, &e)) continue;
        show_view(s, outs[j]->name, &v, 4, s->width);
    }
    /* A picture of what attention just computed: head 0's pattern (attn L H for others). */
    if (nout && outs[0]->def->kind == TK_PROB && outs[0]->def->shape == TS_HTK && outs[0]->layer >= 0) {
        GrErr e;
        Pic p;
        VizOpts o = session_vopts(s);
        if (!pic_attn_at(s, outs[0]->layer, 0, -1, -1, -1, -1, VIZ_SCALE_DEFAULT, 0, &o, &p, &e))
            pic_draw_term(&p, &o, &s->out, &e);
        pic_free(&p);
    }
}

/* One stage; a failed op leaves the cursor where it was. */
static int step_once(Session *s, int *idx, GrErr *e)
{
    GrErr pe;
    if (s->trace->next == 0 && acts_prepare(s->trace, &pe)) return gr_fail(e, "step: %s", pe.msg);
    int i = acts_step(s->trace);
    GrErr be;
    if (be_check(s->m->be, &be)) {
        s->trace->next = i;
        return gr_fail(e, "step: %s; the stage did not complete", be.msg);
    }
    *idx = i;
    return 0;
}

int cmd_step(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const FieldVal *text = arg(a, "text"), *to = arg(a, "to");
    if (text->given) {
        GrErr re;
        Acts *t = session_new_trace(s, text->s, &re);
        if (!t) return gr_fail(e, "step: %s", re.msg), CMD_ERR;
        session_set_trace(s, t, text->s);
        if (!to->given) {
            sb_printf(&s->out, "prepared %d stages over %d token%s; 'step' runs the next one\n", t->nstages, t->T,
                      t->T == 1 ? "" : "s");
            return CMD_OK;
        }
    }
    if (!s->trace) {
        if (!s->run_text) return gr_fail(e, "step: nothing to step through; 'step \"some text\"' starts"), CMD_ERR;
        GrErr re;
        Acts *t = session_new_trace(s, s->run_text, &re); /* the trace was dropped (a device move) */
        if (!t) return gr_fail(e, "step: %s", re.msg), CMD_ERR;
        session_set_trace(s, t, s->run_text);
    }
    Acts *t = s->trace;
    int stop = t->next;
    if (to->given) {
        stop = acts_stage_index(t, to->s);
        if (stop < 0) {
            const char *cands[1024];
            int n = 0;
            for (int i = 0; i < t->nstages && n < 1024; i++) cands[n++] = t->stages[i].name;
            const char *sug = gr_suggest(to->s, cands, n);
            if (sug) return gr_fail(e, "step: no stage named '%s' (did you mean '%s'? 'where' lists them)", to->s, sug), CMD_ERR;
            return gr_fail(e, "step: no stage named '%s' ('where' lists them)", to->s), CMD_ERR;
        }
        if (stop < t->next) return gr_fail(e, "step: stage %s has already run ('reset' to start over)", to->s), CMD_ERR;
    }
    if (t->next >= t->nstages) return gr_fail(e, "step: the forward pass is complete ('reset' to start over)"), CMD_ERR;
    int idx = -1;
    while (t->next <= stop)
        if (step_once(s, &idx, e)) return CMD_ERR;
    show_stage_result(s, idx);
    return CMD_OK;
}

int cmd_next(Session *s, const Args *a, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    Acts *t = s->trace;
    if (t->next >= t->nstages) return gr_fail(e, "next: the forward pass is complete ('reset' to start over)"), CMD_ERR;
    int layer = t->stages[t->next].layer, idx = -1;
    /* To the end of the current block (or the next stage outside blocks). */
    do {
        if (step_once(s, &idx, e)) return CMD_ERR;
    } while (t->next < t->nstages && layer >= 0 && t->stages[t->next].layer == layer);
    show_stage_result(s, idx);
    return CMD_OK;
}

int cmd_continue(Session *s, const Args *a, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    int n = s->trace->nstages - s->trace->next;
    if (acts_run(s->trace, e)) return CMD_ERR;
    sb_printf(&s->out, "ran %d remaining stage%s", n, n == 1 ? "" : "s");
    if (!isnan(s->trace->loss)) sb_printf(&s->out, "; loss %.4f", s->trace->loss);
    sb_putc(&s->out, '\n');
    return CMD_OK;
}

int cmd_where(Session *s, const Args *a, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    const Acts *t = s->trace;
    for (int i = 0; i < t->nstages; i++) {
        const Stage *st = &t->stages[i];
        sb_printf(&s->out, "%s %3d %-14s", i == t->next ? "→" : i < t->next ? "✓" : " ", i + 1, st->name);
        const TraceEntry *outs[4];
        int nout = acts_stage_outputs(t, i, outs, 4);
        for (int j = 0; j < nout; j++) sb_printf(&s->out, " %s", outs[j]->name);
        sb_putc(&s->out, '\n');
    }
    if (t->next >= t->nstages) sb_puts(&s->out, "  (complete)\n");
    return CMD_OK;
}

int cmd_reset(Session *s, const Args *a, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    acts_rewind(s->trace);
    sb_printf(&s->out, "reset: %d stages ready over %d token%s\n", s->trace->nstages, s->trace->T,
              s->trace->T == 1 ? "" : "s");
    return CMD_OK;
}

/* ---------------- looking at tensors ---------------- */

int cmd_show(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    TensorView v;
    const char *spec = arg_str(a, "name", "");
    if (names_view(s, spec, &v, e)) return CMD_ERR;
    show_view(s, spec, &v, (s->height > 0 ? s->height : 24) - 4, s->width);
    return CMD_OK;
}

int cmd_explain(Session *s, const Args *a, GrErr *e)
{
    return names_explain(s, arg_str(a, "name", ""), &s->out, e) ? CMD_ERR : CMD_OK;
}

int cmd_eval(Session *s, const Args *a, GrErr *e)
{
    ExprValue v;
    ExprHost h = names_host(s);
    if (expr_eval_host(arg_str(a, "expr", ""), &h, &v, e)) return CMD_ERR;
    expr_format(&v, &s->out);
    if (s->out.len && s->out.s[s->out.len - 1] != '\n') sb_putc(&s->out, '\n');
    expr_value_free(&v);
    return CMD_OK;
}

int cmd_check(Session *s, const Args *a, GrErr *e)
{
    const char *src = arg_str(a, "expr", "");
    ExprValue v;
    ExprHost h = names_host(s);
    if (expr_eval_host(src, &h, &v, e)) return CMD_ERR;
    int ok = expr_truthy(&v);
    expr_value_free(&v);
    StrBuf why;
    sb_init(&why);
    expr_explain(src, &h, &why);
    const char *w = why.s ? why.s : "";
    if (!ok) gr_fail(e, "check failed: %s%s%s", src, *w ? "   " : "", w);
    else sb_printf(&s->out, "ok: %s%s%s\n", src, *w ? "   " : "", w);
    sb_free(&why);
    return ok ? CMD_OK : CMD_ERR;
}

int cmd_loss(Session *s, const Args *a, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    float loss = s->trace->loss;
    if (isnan(loss)) {
        if (s->trace->T == 1) return gr_fail(e, "loss: the last run has a single token, so nothing to predict"), CMD_ERR;
        return gr_fail(e, "loss: the forward pass has not reached the loss yet ('continue')"), CMD_ERR;
    }
    double lnv = log((double)s->m->cfg.vocab);
    VizOpts o = session_vopts(s);
    sb_printf(&s->out, "loss %.4f over %d prediction%s   ln(V) = ln %d = %.4f   perplexity %.1f\n", loss,
              s->trace->n_targets, s->trace->n_targets == 1 ? "" : "s", s->m->cfg.vocab, lnv, exp(loss));
    viz_gauge(&s->out, &o, "loss", loss, lnv, "ln V", fmax(lnv * 1.5, loss * 1.1));
    const char *verdict;
    double r = loss / lnv;
    if (fabs(loss - lnv) < 0.15 * lnv && r > 0.9)
        verdict = "≈ ln V: the model guesses uniformly over the vocabulary, as a random init should";
    else if (loss < lnv) verdict = "below ln V: the model has learned something about the text";
    else verdict = "above ln V: worse than uniform guessing — confidently wrong";
    sb_printf(&s->out, "verdict: %s\n", verdict);
    if (abl_count(s)) {
        float cl = session_clean_loss(s);
        sb_printf(&s->out, "ablated: %.4f vs clean %.4f on the same tokens (%+.4f)\n", loss, cl, loss - cl);
    }
    return CMD_OK;
}

int cmd_logits(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *tv = arg(a, "temp");
    double temps[FIELD_LIST_MAX];
    int nt = tv->given ? tv->n : 1;
    for (int i = 0; i < nt; i++) temps[i] = tv->given ? tv->list[i] : 1.0;
    PicBars pb;
    if (pic_logits(s, arg_int(a, "pos", -1), temps, nt, (int)arg_int(a, "top", 10), 0, &pb, e)) {
        pic_bars_free(&pb);
        return CMD_ERR;
    }
    int V = pb.V;
    const float *logits = NULL;
    TensorView lv;
    long pos = arg_int(a, "pos", -1);
    if (pos < 0) pos += s->trace->T;
    if (!names_trace_view(s, acts_find(s->trace, "logits"), &lv, e)) logits = lv.data + (size_t)pos * V;
    sb_printf(&s->out, "%s\n", pb.title.s);
    sb_puts(&s->out, "  rank  token           logit");
    for (int i = 0; i < nt; i++) sb_printf(&s->out, "   temp=%-5g", temps[i]);
    sb_putc(&s->out, '\n');
    StrBuf lab;
    sb_init(&lab);
    for (int r = 0; r < pb.top; r++) {
        int id = pb.ids[r];
        sb_clear(&lab);
        sb_putc(&lab, '\'');
        viz_label_escape(&lab, pb.labels[r]);
        sb_putc(&lab, '\'');
        int w = gr_utf8_width(lab.s, lab.len);
        sb_printf(&s->out, "  %4d  %s%*s %8.3f", r + 1, lab.s, w < 14 ? 14 - w : 0, "", logits ? logits[id] : NAN);
        for (int i = 0; i < nt; i++) sb_printf(&s->out, "   %10.4f", pb.p[(size_t)i * V + id]);
        sb_putc(&s->out, '\n');
    }
    sb_free(&lab);
    sb_puts(&s->out, "  entropy (nats)              ");
    for (int i = 0; i < nt; i++) sb_printf(&s->out, "   %10.4f", entropy(pb.p + (size_t)i * V, V));
    sb_printf(&s->out, "\n  (uniform would be ln V = %.4f)\n", log((double)V));
    VizOpts o = session_vopts(s);
    pb.b.title = NULL; /* said above the table */
    int rc = viz_term_bars(&s->out, &o, &pb.b, e);
    pic_bars_free(&pb);
    return rc ? CMD_ERR : CMD_OK;
}

/* ---------------- generation ---------------- */

int cmd_generate(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    long n = arg_int(a, "n", 1);
    SampleCfg c = s->samp;
    c.temperature = (float)arg_num(a, "temp", c.temperature);
    c.top_k = (int)arg_int(a, "top-k", c.top_k);
    c.top_p = (float)arg_num(a, "top-p", c.top_p);
    if (arg_given(a, "greedy")) c.greedy = 1;
    int nocache = arg_given(a, "nocache");
    /* Ablations stay in force. One that needs every position of a run (mean) cannot be
     * kept token by token: then the whole window is recomputed for every token. */
    const char *why_nocache = NULL;
    GrErr ke;
    for (int i = 0; i < s->nabl; i++)
        if (abl_is_patch(&s->abl[i]))
            return gr_fail(e, "generate: %s is patched from a kept run, whose positions end where it ended ('unpatch' "
                              "first)", s->abl[i].target), CMD_ERR;
    for (int i = 0; i < s->nabl; i++)
        if (!abl_incremental(&s->abl[i]) && !nocache) {
            nocache = 1;
            why_nocache = s->abl[i].target;
        }
    for (int i = 0; i < s->nabl; i++)
        if (abl_incremental(&s->abl[i]) && kv_check_ablations(&s->abl[i], 1, &ke))
            return gr_fail(e, "generate: %s", ke.msg), CMD_ERR;
    const FieldVal *pv = arg(a, "prompt");
    const char *prompt = pv->given ? pv->s : NULL;
    const char *text = prompt ? prompt : s->run_text ? s->run_text : "";
    int *ids = NULL;
    size_t nids = 0;
    if (tok_encode(&s->tok, text, strlen(text), &ids, &nids, e)) return CMD_ERR;
    if (nids == 0) {
        free(ids);
        ids = malloc(sizeof(int));
        if (!ids) return gr_fail(e, "out of memory"), CMD_ERR;
        ids[0] = s->tok.kind == TOK_GPT2 ? 50256 : s->tok.kind == TOK_CHAR ? 0 : '\n' % s->m->cfg.vocab;
        nids = 1;
    }
    if (arg_given(a, "samples")) {
        if (nocache) {
            free(ids);
            return gr_fail(e, "generate --samples decodes through the KV cache (%s)",
                           why_nocache ? "a mean ablation needs every position" : "drop --nocache"), CMD_ERR;
        }
        StrBuf shown;
        sb_init(&shown);
        if (prompt) sb_puts(&shown, prompt);
        else if (s->run_text) tok_decode(&s->tok, ids, nids, &shown);
        int rc2 = generate_samples(s, ids, nids, n, (int)arg_int(a, "samples", 1), &c, shown.s ? shown.s : "", e);
        sb_free(&shown);
        free(ids);
        return rc2;
    }
    int V = s->m->cfg.vocab, ctx = s->m->cfg.ctx;
    KVCache *kv = nocache ? NULL : kv_new(s->m, s->abl, s->nabl, e);
    float *logits = malloc(sizeof(float) * V);
    double *p = malloc(sizeof(double) * V);
    int *scratch = malloc(sizeof(int) * V), *window = malloc(sizeof(int) * (size_t)ctx);
    int rc = CMD_ERR, wlen = 0;
    if ((!nocache && !kv) || !logits || !p || !scratch || !window) {
        if (nocache || kv) gr_fail(e, "out of memory for a vocabulary of %d", V);
        goto out;
    }
    if (why_nocache)
        sb_printf(&s->out, "note: the ablation of %s averages over every position, so the whole window is recomputed "
                           "for every token (no KV cache)\n", why_nocache);
    double t0 = now_ms();
    for (size_t i = nids > (size_t)ctx ? nids - ctx : 0; i < nids; i++) window[wlen++] = ids[i];
    if (kv) {
        for (size_t i = 0; i < nids; i++)
            if (kv_forward(s->m, kv, ids[i], logits, e)) goto out;
    } else if (nocache_forward(s->m, s->abl, s->nabl, window, wlen, logits, e)) goto out;
    if (!prompt && s->run_text) {
        StrBuf b;
        sb_init(&b);
        tok_decode(&s->tok, ids, nids, &b);
        sb_puts(&s->out, b.s ? b.s : "");
        sb_free(&b);
    } else if (prompt) sb_puts(&s->out, prompt);
    double t1 = now_ms();
    long made = 0;
    g_interrupted = 0;
    s->ngen = 0;
    for (long i = 0; i < n && !g_interrupted; i++) {
        int next = sample_token(logits, V, &c, &s->rng, p, scratch);
        tok_decode(&s->tok, &next, 1, &s->out);
        if (s->flush) s->flush(s);
        if (s->ngen == s->gen_cap) {
            int cap = s->gen_cap ? 2 * s->gen_cap : 256;
            int *g = realloc(s->gen_ids, sizeof(int) * (size_t)cap);
            if (!g) { gr_fail(e, "out of memory"); goto out; }
            s->gen_ids = g;
            s->gen_cap = cap;
        }
        s->gen_ids[s->ngen++] = next;
        made++;
        if (i + 1 == n) break;
        if (kv) {
            if (kv_forward(s->m, kv, next, logits, e)) goto out;
        } else {
            /* Without the cache every token re-runs the whole window (the same sliding rule). */
            if (wlen == ctx) {
                int keep = ctx / 2;
                memmove(window, window + wlen - keep, sizeof(int) * (size_t)keep);
                wlen = keep;
            }
            window[wlen++] = next;
            if (nocache_forward(s->m, s->abl, s->nabl, window, wlen, logits, e)) goto out;
        }
    }
    double t2 = now_ms();
    sb_printf(&s->out, "\n[%ld token%s in %.0f ms: %.1f tokens/s%s; prompt %zu token%s in %.0f ms%s%s%s]\n", made,
              made == 1 ? "" : "s", t2 - t1, made / ((t2 - t1) / 1e3), nocache ? " without the KV cache" : "", nids,
              nids == 1 ? "" : "s", t1 - t0, kv && kv->slides ? "; context window slid" : "",
              abl_count(s) ? "; ablations in force" : "", g_interrupted ? "; interrupted" : "");
    g_interrupted = 0;
    rc = CMD_OK;
out:
    free(window);
    free(logits);
    free(p);
    free(scratch);
    free(ids);
    kv_free(s->m, kv);
    return rc;
}

/* ---------------- ablation ---------------- */

static void list_ablations(Session *s)
{
    if (!abl_count(s)) sb_puts(&s->out, "no ablations\n");
    for (int i = 0; i < abl_count(s); i++) {
        char d[160];
        abl_describe(s, i, d, sizeof d);
        sb_printf(&s->out, "  %s\n", d);
    }
}

int cmd_ablate(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const FieldVal *nm = arg(a, "name"), *md = arg(a, "mode");
    if (!nm->given) {
        list_ablations(s);
        return CMD_OK;
    }
    if (!md->given) return gr_fail(e, "ablate: MODE is missing (usage: ablate NAME zero|mean|identity|copy:OTHER)"), CMD_ERR;
    if (pabl_is_param(s, nm->s)) {
        if (pabl_add(s, nm->s, md->s, e)) return CMD_ERR;
        if (s->trace && session_rerun(s, e)) return CMD_ERR;
        sb_printf(&s->out, "ablating the weights %s (%s) in place; run, generate and loss see them, train and save "
                           "refuse, 'unablate %s' restores them exactly\n", nm->s, md->s, nm->s);
        return CMD_OK;
    }
    if (abl_count(s) == MAX_ABL) return gr_fail(e, "ablate: at most %d ablations at once", MAX_ABL), CMD_ERR;
    Ablation ab;
    memset(&ab, 0, sizeof ab);
    GrErr pe;
    if (abl_parse_target(&ab, nm->s, &pe)) return gr_fail(e, "ablate: %s", pe.msg), CMD_ERR;
    const char *m = md->s;
    FieldDef modes = {.name = "MODE", .kind = FK_CHOICE, .choices = abl_mode_choices()};
    if (!strncmp(m, "mean:", 5) && m[5]) {
        /* the mean over a kept run's positions */
        ab.mode = ABL_MEAN;
        if (!(ab.src = runs_get(s, m + 5, e))) return CMD_ERR;
    } else if (!strncmp(m, "copy:", 5) && m[5] && strlen(m + 5) < sizeof ab.other) {
        ab.mode = ABL_COPY;
        strcpy(ab.other, m + 5);
    } else {
        int k = field_choice_index(&modes, m);
        if (k < 0 || k == ABL_COPY) {
            FieldVal v;
            if (k == ABL_COPY) return gr_fail(e, "ablate: copy needs the tensor to copy: copy:OTHER"), CMD_ERR;
            field_parse(&modes, "ablate: MODE", m, NAN, NAN, &v, e);
            return CMD_ERR;
        }
        ab.mode = (AblMode)k;
    }
    char name[64], other[64];
    abl_name(&ab, name, sizeof name);
    for (int i = 0; i < s->nabl; i++) {
        abl_name(&s->abl[i], other, sizeof other);
        if (!strcmp(other, name))
            return gr_fail(e, "ablate: %s is already ablated ('unablate %s' first)", name, name), CMD_ERR;
    }
    /* Validate against a trace of the model (the last run's, or a one-token one). */
    Acts *t = s->trace, *tmp = NULL;
    if (!t && !(t = tmp = acts_new(s->m, 1, 1, e))) return CMD_ERR;
    GrErr ce;
    int rc = acts_check_ablation(t, &ab, &ce);
    acts_free(s->m, tmp);
    if (rc) return gr_fail(e, "ablate: %s", ce.msg), CMD_ERR;
    s->abl[s->nabl++] = ab;
    if (s->trace) s->trace->nabl = s->nabl;
    sb_printf(&s->out, "ablating %s (%s); 'run' again to see the effect, 'loss' compares with the clean model\n",
              name, m);
    return CMD_OK;
}

int cmd_unablate(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *nm = arg(a, "name");
    int n = 0;
    if (nm->given && pabl_is_param(s, nm->s)) {
        int r = pabl_remove(s, nm->s, e);
        if (r < 0) return CMD_ERR;
        if (!r) return gr_fail(e, "unablate: %s is not ablated ('ablate' lists the ablations)", nm->s), CMD_ERR;
        if (s->trace && session_rerun(s, e)) return CMD_ERR;
        sb_puts(&s->out, "removed 1 ablation (the weights are the model's again)\n");
        return CMD_OK;
    }
    if (nm->given) {
        Ablation want;
        char wn[64], hn[64];
        if (abl_parse_target(&want, nm->s, e)) return CMD_ERR;
        abl_name(&want, wn, sizeof wn);
        for (int i = 0; i < s->nabl; i++) {
            abl_name(&s->abl[i], hn, sizeof hn);
            if (strcmp(hn, wn)) continue;
            memmove(&s->abl[i], &s->abl[i + 1], sizeof(Ablation) * (size_t)(s->nabl - i - 1));
            s->nabl--;
            n = 1;
            break;
        }
        if (!n) return gr_fail(e, "unablate: %s is not ablated ('ablate' lists the ablations)", nm->s), CMD_ERR;
    } else {
        int np = pabl_clear(s);
        n = s->nabl + np;
        s->nabl = 0;
        if (np && s->trace && session_rerun(s, e)) return CMD_ERR; /* the weights changed back */
    }
    if (s->trace) s->trace->nabl = s->nabl;
    sb_printf(&s->out, "removed %d ablation%s\n", n, n == 1 ? "" : "s");
    return CMD_OK;
}
