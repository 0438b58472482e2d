/* cmd_interp.c — looking inside like a researcher: `lens` (what the model would predict after the
 * embedding and after each block; core/lens.c computes it) and `heads --score` (head detectors). */
#include "cmds.h"
#include "lens.h"
#include "names.h"
#include "pictures.h"
#include "rng.h"
#include "stages.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --token's id: one token, or why not */
static int token_arg(Session *s, const char *text, GrErr *e)
{
    GrErr te;
    int id = session_one_token(s, text, &te);
    if (id < 0) gr_fail(e, "lens --token: %s", te.msg);
    return id;
}

/* The k most probable ids of row p (V), most probable first (ties: the lower id). */
static void top_ids(const float *p, int V, int k, int *out)
{
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int v = 0; v < V; v++) {
            int taken = 0;
            for (int i = 0; i < j && !taken; i++) taken = out[i] == v;
            if (!taken && (best < 0 || p[v] > p[best])) best = v;
        }
        out[j] = best;
    }
}

static int rank_of(const float *p, int V, int id)
{
    int r = 1;
    for (int v = 0; v < V; v++) r += p[v] > p[id];
    return r;
}

/* "embed", "L0", ...; in the table the last row is marked as the model's own output */
static void depth_name(int d, int last_marked, int n_layer, char *buf, size_t n)
{
    if (d == 0) snprintf(buf, n, "embed");
    else if (d == n_layer && last_marked) snprintf(buf, n, "L%d=probs", d - 1);
    else snprintf(buf, n, "L%d", d - 1);
}

int pic_lens(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e)
{
    pic_init(p);
    const char *token = arg_given(a, "token") ? arg_str(a, "token", "") : NULL;
    if (need_finished_run(s, "lens", e)) return -1;
    int tid = token ? token_arg(s, token, e) : -1;
    if (token && tid < 0) return -1;
    const GptConfig *c = &s->m->cfg;
    int D = c->n_layer + 1, T = s->trace->T, V = c->vocab;
    float *pr = malloc(sizeof(float) * (size_t)T * V);
    p->data = malloc(sizeof(float) * (size_t)D * T);
    p->words = calloc((size_t)D * T, sizeof(char *));
    p->rlab = calloc((size_t)D, sizeof(char *));
    if (!pr || !p->data || !p->words || !p->rlab) {
        free(pr);
        return gr_fail(e, "lens: out of memory for %d × %d probabilities", T, V);
    }
    p->nwords = D * T;
    p->nrlab = D;
    for (int d = 0; d < D; d++) {
        if (lens_probs(s->trace, d, pr, NULL, e)) {
            free(pr);
            return -1;
        }
        char nm[32];
        depth_name(d, 0, c->n_layer, nm, sizeof nm);
        p->rlab[d] = strdup(nm);
        for (int t = 0; t < T; t++) {
            const float *row = pr + (size_t)t * V;
            int top;
            top_ids(row, V, 1, &top);
            StrBuf w;
            sb_init(&w);
            tok_piece(&s->tok, top, &w);
            p->words[(size_t)d * T + t] = w.s ? w.s : strdup("");
            p->data[(size_t)d * T + t] = tid >= 0 ? row[tid] : row[top];
        }
    }
    free(pr);
    p->labels = token_labels(s, T);
    p->nlab = T;
    /* the terminal shows the most recent positions that fit */
    int c0 = 0;
    VizHeatmap *h = &p->heat;
    *h = (VizHeatmap){.data = p->data, .rows = D, .cols = T, .stride = (size_t)T,
                      .row_labels = (const char *const *)p->rlab, .col_labels = (const char *const *)p->labels,
                      .cell_text = (const char *const *)p->words, .row_title = "read after",
                      .col_title = "position (its token); in each cell the top next token"};
    if (term) {
        int fit = viz_term_heatmap_fit(term, h);
        if (fit < T) c0 = T - fit;
    }
    if (c0 > 0) {
        /* a window of columns: rows keep their stride, words are moved to the window */
        for (int d = 0; d < D; d++)
            for (int t = 0; t < T - c0; t++) {
                p->data[(size_t)d * (T - c0) + t] = p->data[(size_t)d * T + c0 + t];
                char *w = p->words[(size_t)d * T + c0 + t];
                p->words[(size_t)d * T + c0 + t] = NULL;
                free(p->words[(size_t)d * (T - c0) + t]);
                p->words[(size_t)d * (T - c0) + t] = w;
            }
        h->cols = T - c0;
        h->stride = (size_t)(T - c0);
        h->col_offset = c0;
        h->col_labels = (const char *const *)p->labels + c0;
        sb_printf(&p->note, "positions %d–%d of %d (the most recent; 'export lens' draws them all)", c0, T - 1, T);
        h->note = p->note.s;
    }
    viz_heatmap_pick_scale(h, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    sb_puts(&p->title, "Logit lens: the next token read after each block");
    if (c->post_norm) sb_puts(&p->title, " (Post-LN: through the unembedding alone)");
    sb_puts(&p->title, " · ");
    pic_model_desc(s, &p->title);
    sb_puts(&p->title, " · ");
    pic_prompt(s, &p->title, 40);
    if (tid >= 0) {
        sb_puts(&p->subtitle, "colour: the probability of ");
        StrBuf w;
        sb_init(&w);
        tok_piece(&s->tok, tid, &w);
        sb_putc(&p->subtitle, '\'');
        viz_label_escape(&p->subtitle, w.s ? w.s : "");
        sb_putc(&p->subtitle, '\'');
        sb_free(&w);
    } else {
        sb_puts(&p->subtitle, "colour: the top token's probability");
    }
    h->title = p->title.s;
    h->subtitle = p->subtitle.s;
    return 0;
}

/* The table at one position: the top k after each block, and token's probability and rank. */
static int lens_table(Session *s, long pos, int k, const char *token, GrErr *e)
{
    if (need_finished_run(s, "lens", e)) return -1;
    int tid = token ? token_arg(s, token, e) : -1;
    if (token && tid < 0) return -1;
    const GptConfig *c = &s->m->cfg;
    int D = c->n_layer + 1, T = s->trace->T, V = c->vocab;
    if (pos < -T || pos >= T) return gr_fail(e, "lens: position %ld is not in 0..%d (or -%d..-1)", pos, T - 1, T);
    if (pos < 0) pos += T;
    if (k > V) k = V;
    float *pr = malloc(sizeof(float) * (size_t)T * V);
    int *ids = malloc(sizeof(int) * (size_t)k);
    if (!pr || !ids) {
        free(pr), free(ids);
        return gr_fail(e, "lens: out of memory for %d × %d probabilities", T, V);
    }
    StrBuf lab;
    sb_init(&lab);
    tok_piece(&s->tok, s->trace->tokens_host[pos], &lab);
    sb_printf(&s->out, "logit lens at position %ld ('", pos);
    viz_label_escape(&s->out, lab.s ? lab.s : "");
    sb_printf(&s->out, "'): the top %d next tokens read after each block%s\n", k,
              c->post_norm ? " (Post-LN: the unembedding alone)" : ", through lnf and the unembedding");
    int rc = 0;
    for (int d = 0; d < D && !rc; d++) {
        if ((rc = lens_probs(s->trace, d, pr, NULL, e))) break;
        const float *row = pr + (size_t)pos * V;
        top_ids(row, V, k, ids);
        char nm[32];
        depth_name(d, 1, c->n_layer, nm, sizeof nm);
        sb_printf(&s->out, "  %-11s", nm);
        for (int j = 0; j < k; j++) {
            sb_clear(&lab);
            tok_piece(&s->tok, ids[j], &lab);
            StrBuf q;
            sb_init(&q);
            sb_putc(&q, '\'');
            viz_label_escape(&q, lab.s ? lab.s : "");
            sb_putc(&q, '\'');
            int w = gr_utf8_width(q.s, q.len);
            sb_printf(&s->out, " %s%*s %.3f", q.s, w < 8 ? 8 - w : 0, "", row[ids[j]]);
            sb_free(&q);
        }
        if (tid >= 0) sb_printf(&s->out, "   │ %.4f (rank %d)", row[tid], rank_of(row, V, tid));
        sb_putc(&s->out, '\n');
    }
    if (!rc && tid >= 0) {
        sb_clear(&lab);
        tok_piece(&s->tok, tid, &lab);
        sb_puts(&s->out, "  (│ the probability and rank of '");
        viz_label_escape(&s->out, lab.s ? lab.s : "");
        sb_puts(&s->out, "')\n");
    }
    sb_free(&lab);
    free(pr);
    free(ids);
    return rc;
}

int cmd_lens(Session *s, const Args *a, GrErr *e)
{
    const char *token = arg_given(a, "token") ? arg_str(a, "token", "") : NULL;
    int k = (int)arg_int(a, "top", 5);
    /* without POS: the picture over the positions, then the table at the last one */
    if (!arg_given(a, "pos") && pic_show(s, a, pic_lens, e) != CMD_OK) return CMD_ERR;
    return lens_table(s, arg_int(a, "pos", -1), k, token, e) ? CMD_ERR : CMD_OK;
}

/* ---------------- head detectors ---------------- */

/* One row per score: `heads --score` takes the names, help and pictures the meanings. */
typedef struct {
    const char *name;
    const char *meaning;
    int repeated; /* computed on a repeated random sequence, not the last run */
    /* the score of one head from its pattern (T, T); n: the repeat's length */
    double (*score)(const float *pat, int T, int n);
} HeadScore;

static double score_prev(const float *pat, int T, int n)
{
    (void)n;
    double s = 0;
    for (int i = 1; i < T; i++) s += pat[(size_t)i * T + i - 1];
    return s / (T - 1);
}

static double score_first(const float *pat, int T, int n)
{
    (void)n;
    double s = 0;
    for (int i = 1; i < T; i++) s += pat[(size_t)i * T];
    return s / (T - 1);
}

/* From each token of the second copy to the token after its first occurrence. */
static double score_induction(const float *pat, int T, int n)
{
    double s = 0;
    for (int i = n; i < T; i++) s += pat[(size_t)i * T + i - n + 1];
    return s / (T - n);
}

static const HeadScore SCORES[] = {
    {"prev", "attention to the previous token, mean over positions 1..T-1 of the last run", 0, score_prev},
    {"first", "attention to the first token, mean over positions 1..T-1 of the last run", 0, score_first},
    {"induction", "attention from each token of a repeated random sequence's second copy to the token after its "
                  "first occurrence (Olsson et al. 2022)", 1, score_induction},
    {NULL, NULL, 0, NULL},
};

const char *head_score_choices(void)
{
    static char buf[128];
    if (!buf[0])
        for (const HeadScore *h = SCORES; h->name; h++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", h == SCORES ? "" : "|", h->name);
    return buf;
}

/* n random tokens twice, seeded by the session's seed, through the current model. */
static Acts *repeated_run(Session *s, int n, GrErr *e)
{
    int T = 2 * n;
    if (T > s->m->cfg.ctx)
        return gr_fail(e, "heads: --seq %d needs %d positions; the context is %d (--seq at most %d)", n, T, s->m->cfg.ctx,
                       s->m->cfg.ctx / 2), NULL;
    int *ids = malloc(sizeof(int) * (size_t)T);
    if (!ids) return gr_fail(e, "heads: out of memory"), NULL;
    /* the tokens: for a character model its lowercase letters (the random characters of a
     * model trained on text or on --data repeat), else any id */
    int pool[26], np = 0;
    if (s->tok.kind == TOK_CHAR)
        for (char c = 'a'; c <= 'z'; c++)
            if (tok_has_char(&s->tok, (unsigned char)c)) {
                int *one = NULL;
                size_t k = 0;
                GrErr ie;
                if (!tok_encode(&s->tok, &c, 1, &one, &k, &ie) && k == 1) pool[np++] = one[0];
                free(one);
            }
    Rng r;
    rng_seed(&r, s->seed ^ 0x1dc7104eULL);
    for (int i = 0; i < n; i++)
        ids[i] = ids[n + i] = np >= 8 ? pool[rng_below(&r, (uint64_t)np)] : (int)rng_below(&r, (uint64_t)s->m->cfg.vocab);
    Acts *a = acts_new(s->m, 1, T, e);
    int rc = a ? acts_set_tokens(s->m, a, ids, NULL, e) : -1;
    free(ids);
    for (int i = 0; i < s->nabl && rc == 0; i++) rc = acts_check_ablation(a, &s->abl[i], e);
    if (!rc) {
        a->abl = s->abl;
        a->nabl = s->nabl;
        rc = acts_run_until(a, "logits", e);
    }
    if (rc) {
        if (a) acts_free(s->m, a);
        return NULL;
    }
    return a;
}

int pic_heads(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e)
{
    (void)term; /* a layers × heads grid always fits */
    pic_init(p);
    if (need_model(s, e)) return -1;
    const FieldVal *sv = arg(a, "score");
    const HeadScore *hs = &SCORES[sv->given ? sv->choice : 0];
    int n = (int)arg_int(a, "seq", 20);
    Acts *act = NULL;
    if (hs->repeated) {
        if (!(act = repeated_run(s, n, e))) return -1;
    } else {
        if (need_finished_run(s, "heads", e)) return -1;
        if (s->trace->T < 2) return gr_fail(e, "heads: the last run has one token; a score needs two or more");
        act = s->trace;
    }
    const GptConfig *c = &s->m->cfg;
    int L = c->n_layer, H = c->n_head, T = act->T, rc = 0;
    p->data = malloc(sizeof(float) * (size_t)L * H);
    p->words = calloc((size_t)L * H, sizeof(char *));
    p->rlab = calloc((size_t)L, sizeof(char *));
    p->labels = calloc((size_t)H, sizeof(char *));
    if (!p->data || !p->words || !p->rlab || !p->labels) rc = gr_fail(e, "heads: out of memory");
    p->nwords = L * H, p->nrlab = L, p->nlab = H;
    int best = 0;
    for (int l = 0; l < L && !rc; l++) {
        char nm[32];
        snprintf(nm, sizeof nm, "L%d.pattern", l);
        TensorView v;
        if ((rc = names_trace_view(s, acts_find(act, nm), &v, e))) break;
        snprintf(nm, sizeof nm, "L%d", l);
        p->rlab[l] = strdup(nm);
        for (int h = 0; h < H; h++) {
            float sc = (float)hs->score(v.data + (size_t)h * T * T, T, n);
            p->data[l * H + h] = sc;
            if (sc > p->data[best]) best = l * H + h;
            char w[16];
            snprintf(w, sizeof w, "%.2f", sc);
            p->words[l * H + h] = strdup(w);
        }
    }
    for (int h = 0; h < H && !rc; h++) {
        char nm[16];
        snprintf(nm, sizeof nm, "h%d", h);
        p->labels[h] = strdup(nm);
    }
    if (act != s->trace) acts_free(s->m, act);
    if (rc) return -1;
    /* kept for head_score in expressions (lessons check it) */
    float *keep = malloc(sizeof(float) * (size_t)L * H);
    if (keep) {
        memcpy(keep, p->data, sizeof(float) * (size_t)L * H);
        free(s->head_score);
        s->head_score = keep;
        s->hs_rows = L, s->hs_cols = H;
        snprintf(s->hs_what, sizeof s->hs_what, "%s", hs->name);
    }
    p->heat = (VizHeatmap){.data = p->data, .rows = L, .cols = H, .row_labels = (const char *const *)p->rlab,
                           .col_labels = (const char *const *)p->labels, .cell_text = (const char *const *)p->words,
                           .row_title = "layer", .col_title = "head"};
    viz_heatmap_pick_scale(&p->heat, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    sb_printf(&p->title, "Head scores: %s · ", hs->name);
    pic_model_desc(s, &p->title);
    if (!hs->repeated) {
        sb_puts(&p->title, " · ");
        pic_prompt(s, &p->title, 40);
    }
    sb_puts(&p->subtitle, hs->meaning);
    if (hs->repeated)
        sb_printf(&p->subtitle, "; %d random %s twice, seed %llu", n, s->tok.kind == TOK_CHAR ? "letters" : "tokens",
                  (unsigned long long)s->seed);
    sb_printf(&p->note, "highest: L%d h%d %.3f", best / H, best % H, p->data[best]);
    p->heat.title = p->title.s;
    p->heat.subtitle = p->subtitle.s;
    p->heat.note = p->note.s;
    return 0;
}

int cmd_heads(Session *s, const Args *a, GrErr *e) { return pic_show(s, a, pic_heads, e); }
