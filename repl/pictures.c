/* pictures.c — the heatmap pictures the commands build (pictures.h): windows, labels,
 * titles, the scale from the trace table's kind, and the notes that say what is shown. */
#include "pictures.h"
#include "cmds.h"
#include "names.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The model's name for a title: a preset or Hub name as it is, a file by its base name
 * without .safetensors ("/x/models/tiny-vi-en.safetensors" → "tiny-vi-en"). */
static void model_short(const Session *s, StrBuf *out)
{
    const char *n = s->model_name[0] ? s->model_name : "model", *b = strrchr(n, '/');
    b = b ? b + 1 : n;
    size_t l = strlen(b);
    if (l > 12 && !strcmp(b + l - 12, ".safetensors")) l -= 12;
    sb_putn(out, b, l);
}

void pic_model_desc(const Session *s, StrBuf *out) { model_short(s, out); }

void pic_model_dims(const Session *s, StrBuf *out)
{
    const GptConfig *c = &s->m->cfg;
    model_short(s, out);
    sb_printf(out, ": %d layer%s × %d head%s, d=%d", c->n_layer,
              c->n_layer == 1 ? "" : "s", c->n_head, c->n_head == 1 ? "" : "s", c->d);
}

void pic_prompt(const Session *s, StrBuf *out, int max_cols)
{
    if (!s->run_text) return;
    StrBuf t;
    sb_init(&t);
    viz_text_escape(&t, s->run_text);
    const char *p = t.s ? t.s : "";
    sb_puts(out, "\xe2\x80\x9c"); /* “ */
    if (gr_utf8_width(p, strlen(p)) <= max_cols) sb_puts(out, p);
    else {
        size_t n = strlen(p), i = 0;
        int w = 0;
        while (i < n) {
            unsigned cp;
            int k = gr_utf8_decode(p + i, n - i, &cp);
            w += gr_utf8_width(p + i, (size_t)k);
            if (w > max_cols - 1) break;
            i += (size_t)k;
        }
        sb_putn(out, p, i);
        sb_puts(out, "\xe2\x80\xa6");
    }
    sb_puts(out, "\xe2\x80\x9d"); /* ” */
    sb_free(&t);
}

void pic_free(Pic *p)
{
    free(p->maps);
    free_labels(p->names, p->nmaps);
    free_labels(p->labels, p->nlab);
    free_labels(p->rlab, p->nrlab);
    free_labels(p->words, p->nwords);
    free(p->data);
    sb_free(&p->title);
    sb_free(&p->subtitle);
    sb_free(&p->note);
    memset(p, 0, sizeof *p);
}

void pic_init(Pic *p)
{
    memset(p, 0, sizeof *p);
    sb_init(&p->title);
    sb_init(&p->subtitle);
    sb_init(&p->note);
}

/* ---- options every heatmap takes ---- */

static void scale_opts(const Args *a, VizScaleMode *mode, double *clip)
{
    const FieldVal *v = arg(a, "scale");
    *mode = v->given ? (VizScaleMode)(v->i + 1) : VIZ_SCALE_DEFAULT;
    *clip = arg_num(a, "clip", 0);
}

typedef struct {
    int a, b, given;
} Win;

/* The window --rows or --cols asks for within n; without the option, [da, db). */
static int window(const Args *a, const char *opt, int n, int da, int db, const char *what, Win *w, GrErr *e)
{
    const FieldVal *v = arg(a, opt);
    w->given = v->given;
    if (!v->given) {
        w->a = da;
        w->b = db;
        return 0;
    }
    w->a = v->w >= 0 ? v->w : 0;
    w->b = v->h >= 0 ? v->h : n;
    if (w->a >= n || w->b > n)
        return gr_fail(e, "%s%s%s: --%s %s is outside the %d %s (0:%d)", a->parent ? a->parent->name : "",
                       a->parent ? " " : "", a->cmd->name, opt, v->s, n, what, n);
    return 0;
}

static VizData kind_of_trace(const TraceEntry *t)
{
    return t->def->kind == TK_PROB ? VIZ_DATA_PROB : VIZ_DATA_SIGNED;
}

/* ---- attention ---- */

/* Rows the terminal gives a heatmap: its height less the title, labels and legend. */
static int term_rows(const Session *s)
{
    int h = s->height > 0 ? s->height : 24;
    return h - 8 > 24 ? h - 8 : 24;
}

int pic_attn(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e)
{
    pic_init(p);
    if (need_run(s, e)) return -1;
    const FieldVal *lv = arg(a, "layer"), *hv = arg(a, "head");
    int T = s->trace->T;
    int layer = lv->choice >= 0 ? -1 : (int)lv->i, head = hv->given && hv->choice < 0 ? (int)hv->i : -1;
    Win rw, cw;
    if (window(a, "rows", T, -1, -1, "queries", &rw, e) || window(a, "cols", T, -1, -1, "keys", &cw, e)) return -1;
    VizScaleMode mode;
    double clip;
    scale_opts(a, &mode, &clip);
    return pic_attn_at(s, layer, head, rw.a, rw.b, cw.a, cw.b, mode, clip, term, p, e);
}

int pic_attn_at(Session *s, int layer, int head, int ra, int rb, int ca, int cb, VizScaleMode mode, double clip,
                const VizOpts *term, Pic *p, GrErr *e)
{
    pic_init(p);
    if (need_run(s, e)) return -1;
    int L = s->m->cfg.n_layer, H = s->m->cfg.n_head, T = s->trace->T;
    int l0 = layer < 0 ? 0 : layer, l1 = layer < 0 ? L : layer + 1, h0 = head < 0 ? 0 : head, h1 = head < 0 ? H : head + 1;
    int one = layer >= 0 && head >= 0;
    /* the default window: in a terminal, the most recent queries that fit, and the keys
     * up to the last of them (the diagonal) as far back as fit; in a file, everything */
    Win rw = {ra, rb, ra >= 0}, cw = {ca, cb, ca >= 0};
    if (!rw.given) {
        rw.a = term && T > term_rows(s) ? T - term_rows(s) : 0;
        rw.b = T;
    }
    p->labels = token_labels(s, T);
    p->nlab = p->labels ? T : 0;
    if (!p->labels) return gr_fail(e, "out of memory");
    if (!cw.given) {
        cw.a = 0;
        cw.b = rw.b;
        if (term && one) {
            VizHeatmap probe = {.rows = rw.b - rw.a, .row_labels = (const char *const *)p->labels + rw.a,
                                .label_index = 1, .row_offset = rw.a};
            int fit = viz_term_heatmap_fit(term, &probe);
            if (cw.b - cw.a > fit) cw.a = cw.b - fit;
        }
    }
    int R = rw.b - rw.a, C = cw.b - cw.a, nm = (l1 - l0) * (h1 - h0);
    size_t cells = (size_t)R * C * nm;
    if (cells > (size_t)64 << 20)
        return gr_fail(e, "attn: %d maps of %d × %d are too many cells; choose a window with --rows and --cols", nm, R, C);
    p->data = malloc(sizeof(float) * (cells ? cells : 1));
    p->maps = calloc((size_t)nm, sizeof *p->maps);
    p->names = calloc((size_t)nm, sizeof *p->names);
    if (!p->data || !p->maps || !p->names) return gr_fail(e, "out of memory");
    p->nmaps = nm;
    const TraceEntry *te = NULL;
    int k = 0;
    for (int l = l0; l < l1; l++) {
        char name[32];
        snprintf(name, sizeof name, "L%d.pattern", l);
        te = acts_find(s->trace, name);
        TensorView v;
        if (!te || names_trace_view(s, te, &v, e)) return -1;
        int K = v.shape[2];
        for (int h = h0; h < h1; h++, k++) {
            float *dst = p->data + (size_t)k * R * C;
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++)
                    dst[(size_t)r * C + c] = tv_get(&v, ((size_t)h * T + (size_t)(rw.a + r)) * K + (size_t)(cw.a + c));
            VizHeatmap *m = &p->maps[k];
            m->data = dst;
            m->rows = R;
            m->cols = C;
            m->causal = 1;
            m->row_offset = rw.a;
            m->col_offset = cw.a;
            m->row_labels = (const char *const *)p->labels + rw.a;
            m->col_labels = (const char *const *)p->labels + cw.a;
            m->label_index = 1;
            m->row_title = "query";
            m->col_title = "key";
            StrBuf nb;
            sb_init(&nb);
            if (layer >= 0) sb_printf(&nb, "head %d", h);
            else if (head >= 0) sb_printf(&nb, "layer %d", l);
            else if (h == h0) sb_printf(&nb, "L%d h%d", l, h); /* the layer once per grid row */
            else sb_printf(&nb, "h%d", h);
            p->names[k] = nb.s;
        }
    }
    /* title: what, which, the model, the prompt */
    sb_puts(&p->title, "Attention");
    if (one) sb_printf(&p->title, " · layer %d head %d", layer, head);
    else if (layer >= 0) sb_printf(&p->title, " · layer %d, all %d heads", layer, H);
    else if (head >= 0) sb_printf(&p->title, " · head %d in all %d layers", head, L);
    else sb_printf(&p->title, " · all %d layers × %d heads", L, H);
    sb_puts(&p->title, " · ");
    pic_model_desc(s, &p->title);
    sb_puts(&p->title, " · ");
    pic_prompt(s, &p->title, 60);
    pic_model_dims(s, &p->subtitle);
    sb_puts(&p->subtitle, " · each row: how much one query attends to each key (rows sum to 1)");
    if (rw.a > 0 || rw.b < T || cw.a > 0 || cw.b < rw.b) {
        sb_printf(&p->note, "queries %d–%d and keys %d–%d of %d", rw.a, rw.b - 1, cw.a, cw.b - 1, T);
        if (!rw.given && !cw.given) sb_puts(&p->note, " (the most recent; --rows A:B, --cols A:B for others)");
    }
    if (one) {
        p->heat = p->maps[0];
        p->heat.title = p->title.s;
        p->heat.subtitle = p->subtitle.s;
        p->heat.note = p->note.s;
        viz_heatmap_pick_scale(&p->heat, kind_of_trace(te), mode, clip);
        return 0;
    }
    p->grid = 1;
    p->g.maps = p->maps;
    p->g.n = nm;
    p->g.ncols = h1 - h0;
    if (layer < 0 && head >= 0) p->g.ncols = L <= 6 ? L : (L + 1) / 2;
    p->g.names = (const char *const *)p->names;
    p->g.title = p->title.s;
    p->g.subtitle = p->subtitle.s;
    p->g.note = p->note.s;
    p->g.thumbnails = layer < 0 && head < 0;
    viz_grid_pick_scale(&p->g, kind_of_trace(te), mode, clip);
    return 0;
}

/* ---- any 2-D tensor ---- */

/* Rows that are the run's positions or the vocabulary get token labels. */
static char **labels_for_dim(Session *s, char dim, int n, int *nl)
{
    *nl = 0;
    if ((dim == 't' || dim == 's') && s->trace && n == s->trace->T) {
        *nl = n;
        return token_labels(s, n);
    }
    if (dim == 'v' && n == s->m->cfg.vocab) {
        char **l = calloc((size_t)n, sizeof *l);
        for (int i = 0; l && i < n; i++) {
            StrBuf b;
            sb_init(&b);
            tok_piece(&s->tok, i, &b);
            l[i] = b.s ? b.s : strdup("");
        }
        *nl = l ? n : 0;
        return l;
    }
    return NULL;
}

int pic_heatmap(Session *s, const Args *a, const VizOpts *term, Pic *p, GrErr *e)
{
    pic_init(p);
    if (need_model(s, e)) return -1;
    const char *spec = arg_str(a, "name", "");
    TensorView v;
    if (names_view(s, spec, &v, e)) return -1;
    const char *who = a->parent ? "export heatmap" : "heatmap";
    if (v.ndim > 2 || v.ndim < 1) {
        char shp[64];
        tv_shape_str(&v, shp, sizeof shp);
        return gr_fail(e, "%s: '%s' is %s; a heatmap needs 1-D or 2-D: slice it, e.g. %s[h=0]", who, spec, shp, spec);
    }
    int rows = v.ndim == 2 ? v.shape[0] : 1, cols = v.shape[v.ndim - 1];
    char rdim = v.ndim == 2 ? v.dimname[0] : 0, cdim = v.dimname[v.ndim - 1];
    /* the kind: the trace table's, weights are signed, anything else by its sign */
    char base[64];
    size_t bl = strcspn(spec, "[");
    snprintf(base, sizeof base, "%.*s", (int)(bl < 63 ? bl : 63), spec);
    const TraceEntry *te = s->trace ? acts_find(s->trace, base) : NULL;
    VizData kind = te ? kind_of_trace(te) : model_find_param(s->m, base) ? VIZ_DATA_SIGNED : VIZ_DATA_ANY;
    Win rw, cw;
    if (window(a, "rows", rows, 0, rows, "rows", &rw, e) || window(a, "cols", cols, 0, cols, "columns", &cw, e)) return -1;
    int R = rw.b - rw.a, C = cw.b - cw.a;
    p->data = malloc(sizeof(float) * (size_t)R * C);
    if (!p->data) return gr_fail(e, "out of memory copying %d × %d values", R, C);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) p->data[(size_t)r * C + c] = tv_get(&v, (size_t)(rw.a + r) * cols + (size_t)(cw.a + c));
    p->rlab = labels_for_dim(s, rdim, rows, &p->nrlab);
    p->labels = labels_for_dim(s, cdim, cols, &p->nlab);
    VizHeatmap *h = &p->heat;
    h->data = p->data;
    h->rows = R;
    h->cols = C;
    h->row_offset = rw.a;
    h->col_offset = cw.a;
    h->row_labels = p->rlab ? (const char *const *)p->rlab + rw.a : NULL;
    h->col_labels = p->labels ? (const char *const *)p->labels + cw.a : NULL;
    h->label_index = 1;
    /* a pattern or scores slice keeps its causal mask */
    h->causal = te && te->def->shape == TS_HTK && rdim == 't';
    static const struct { char d; const char *name; } DIMS[] = {
        {'t', "position"}, {'s', "key position"}, {'c', "channel"}, {'v', "token id"}, {'h', "head"}};
    for (size_t i = 0; i < sizeof DIMS / sizeof DIMS[0]; i++) {
        if (DIMS[i].d == rdim) h->row_title = DIMS[i].name;
        if (DIMS[i].d == cdim) h->col_title = DIMS[i].name;
    }
    char shp[64];
    tv_shape_str(&v, shp, sizeof shp);
    sb_printf(&p->title, "%s %s · ", spec, shp);
    pic_model_desc(s, &p->title);
    pic_model_dims(s, &p->subtitle);
    if (te) {
        sb_puts(&p->title, " · ");
        pic_prompt(s, &p->title, 60);
        sb_printf(&p->subtitle, " · %s", te->def->meaning);
    }
    if (R < rows || C < cols) sb_printf(&p->note, "rows %d–%d of %d, columns %d–%d of %d", rw.a, rw.b - 1, rows, cw.a, cw.b - 1, cols);
    h->title = p->title.s;
    h->subtitle = p->subtitle.s;
    h->note = p->note.s;
    VizScaleMode mode;
    double clip;
    scale_opts(a, &mode, &clip);
    viz_heatmap_pick_scale(h, kind, mode, clip);
    (void)term;
    return 0;
}

/* ---- next-token probabilities ---- */

int pic_logits(Session *s, long pos, const double *temps, int nt, int top, int for_file, PicBars *pb, GrErr *e)
{
    memset(pb, 0, sizeof *pb);
    sb_init(&pb->title);
    if (need_run(s, e)) return -1;
    const TraceEntry *te = acts_find(s->trace, "logits");
    if (!acts_computed(s->trace, te)) return gr_fail(e, "logits have not been computed yet: 'continue' first");
    int T = s->trace->T, V = s->m->cfg.vocab;
    if (pos < 0) pos += T;
    TensorView lv;
    if (names_trace_view(s, te, &lv, e)) return -1;
    const float *logits = lv.data + (size_t)pos * V;
    if (top > V) top = V;
    pb->V = V;
    pb->top = top;
    pb->nt = nt;
    pb->p = malloc(sizeof(double) * (size_t)V * nt);
    pb->ids = malloc(sizeof(int) * (size_t)V);
    pb->labels = calloc((size_t)top, sizeof(char *));
    pb->series = calloc((size_t)nt, sizeof(char *));
    pb->values = malloc(sizeof(float) * (size_t)top * nt);
    if (!pb->p || !pb->ids || !pb->labels || !pb->series || !pb->values)
        return gr_fail(e, "out of memory for %d × %d probabilities", nt, V);
    for (int i = 0; i < nt; i++) softmax_temp(logits, V, temps[i], pb->p + (size_t)i * V);
    sample_filter(pb->p, V, top, 1.0f, pb->ids); /* by the first temperature: the logits' order */
    for (int r = 0; r < top; r++) {
        StrBuf b;
        sb_init(&b);
        tok_piece(&s->tok, pb->ids[r], &b);
        pb->labels[r] = b.s ? b.s : strdup("");
        for (int i = 0; i < nt; i++) pb->values[(size_t)i * top + r] = (float)pb->p[(size_t)i * V + pb->ids[r]];
    }
    for (int i = 0; i < nt; i++) {
        StrBuf b;
        sb_init(&b);
        /* τ in pictures, temp in text: T is the sequence length */
        sb_printf(&b, for_file ? "\xcf\x84 = %g" : "temp %g", temps[i]);
        pb->series[i] = b.s;
    }
    StrBuf lab;
    sb_init(&lab);
    tok_piece(&s->tok, s->trace->tokens_host[pos], &lab);
    sb_printf(&pb->title, "Next-token probabilities after position %ld (", pos);
    viz_label_escape(&pb->title, lab.s ? lab.s : "");
    sb_printf(&pb->title, "), top %d of %d · ", top, V);
    sb_free(&lab);
    pic_model_desc(s, &pb->title);
    sb_puts(&pb->title, " · ");
    pic_prompt(s, &pb->title, 50);
    pb->b = (VizBars){.labels = (const char *const *)pb->labels, .n = top, .values = pb->values, .nseries = nt,
                      .series = (const char *const *)pb->series, .prob = 1, .title = pb->title.s};
    return 0;
}

void pic_bars_free(PicBars *pb)
{
    free(pb->p);
    free(pb->ids);
    free_labels(pb->labels, pb->top);
    free_labels(pb->series, pb->nt);
    free(pb->values);
    sb_free(&pb->title);
    memset(pb, 0, sizeof *pb);
}

/* ---- drawing ---- */

int pic_draw_term(const Pic *p, const VizOpts *o, StrBuf *out, GrErr *e)
{
    if (p->grid) return viz_term_grid(out, o, &p->g, e);
    /* larger than the terminal: pooled, by the rule the note states */
    const VizHeatmap *h = &p->heat;
    int maxr = o->height > 0 ? (o->height - 8 > 24 ? o->height - 8 : 24) : 24;
    int fit = viz_term_heatmap_fit(o, h);
    if (h->rows <= maxr && h->cols <= fit) return viz_term_heatmap(out, o, h, e);
    VizPooled P;
    if (h->rows > maxr) {
        /* pooled rows are labelled "a–b": the room for keys follows from those labels */
        if (viz_heatmap_pool(h, maxr, 1 << 30, &P, e)) return -1;
        fit = viz_term_heatmap_fit(o, &P.h);
        viz_pooled_free(&P);
    }
    if (viz_heatmap_pool(h, maxr, fit, &P, e)) return -1;
    int rc = viz_term_heatmap(out, o, &P.h, e);
    viz_pooled_free(&P);
    return rc;
}

int pic_draw_file(const Pic *p, const char *path, int w, int h, GrErr *e)
{
    return p->grid ? viz_file_grid(path, w, h, &p->g, e) : viz_file_heatmap(path, w, h, &p->heat, e);
}
