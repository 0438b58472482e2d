/* cmd_pictures.c — pictures in the terminal and as files: attn hist heatmap export dump. */
#include "cmds.h"
#include "names.h"
#include "safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One layer's pattern (H, T, T) as H maps named "head h", for the side-by-side pictures. */
typedef struct {
    const float **data;
    const char **names;
    char *buf; /* the names' text */
} HeadMaps;

static int head_maps(HeadMaps *hm, const float *pattern, int H, int T, GrErr *e)
{
    hm->data = malloc(sizeof(float *) * (size_t)H);
    hm->names = malloc(sizeof(char *) * (size_t)H);
    hm->buf = malloc((size_t)H * 24);
    if (!hm->data || !hm->names || !hm->buf) {
        free(hm->data), free(hm->names), free(hm->buf);
        return gr_fail(e, "out of memory");
    }
    for (int h = 0; h < H; h++) {
        hm->data[h] = pattern + (size_t)h * T * T;
        snprintf(hm->buf + (size_t)h * 24, 24, "head %d", h);
        hm->names[h] = hm->buf + (size_t)h * 24;
    }
    return 0;
}

static void head_maps_free(HeadMaps *hm)
{
    free(hm->data);
    free(hm->names);
    free(hm->buf);
}

/* The pattern of a layer (host view) and the head asked for (-1: all). */
static int pattern_of(Session *s, const Args *a, TensorView *v, long *layer, long *head, GrErr *e)
{
    if (need_run(s, e)) return -1;
    *layer = arg_int(a, "layer", 0);
    const FieldVal *h = arg(a, "head");
    *head = h->given && h->choice < 0 ? h->i : -1;
    char name[32];
    snprintf(name, sizeof name, "L%ld.pattern", *layer);
    return names_lookup(s, name, v, e);
}

int cmd_attn(Session *s, const Args *a, GrErr *e)
{
    TensorView v;
    long layer, head;
    if (pattern_of(s, a, &v, &layer, &head, e)) return CMD_ERR;
    int T = s->trace->T, H = s->m->cfg.n_head;
    char **lab = token_labels(s, T);
    VizOpts o = session_vopts(s);
    char title[160];
    int rc;
    if (head >= 0) {
        snprintf(title, sizeof title, "layer %ld head %ld attention (rows: queries, cols: keys)", layer, head);
        rc = viz_heatmap(&s->out, &o, title, v.data + (size_t)head * T * T, T, T, (const char *const *)lab,
                         (const char *const *)lab, 1, e);
    } else {
        HeadMaps hm;
        if (head_maps(&hm, v.data, H, T, e)) { free_labels(lab, T); return CMD_ERR; }
        snprintf(title, sizeof title, "layer %ld, all %d heads", layer, H);
        rc = viz_heatmap_multi(&s->out, &o, title, hm.data, hm.names, H, T, T, (const char *const *)lab,
                               (const char *const *)lab, 1, e);
        head_maps_free(&hm);
    }
    free_labels(lab, T);
    return rc ? CMD_ERR : CMD_OK;
}

/* A copy of NAME[slice]'s values. */
static float *values_of(Session *s, const char *spec, size_t *n, GrErr *e)
{
    TensorView v;
    if (names_view(s, spec, &v, e)) return NULL;
    *n = tv_numel(&v);
    float *data = malloc(sizeof(float) * (*n ? *n : 1));
    if (!data) { gr_fail(e, "out of memory copying %zu values", *n); return NULL; }
    tv_copy_out(&v, data);
    return data;
}

int cmd_hist(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const char *spec = arg_str(a, "name", "");
    size_t n;
    float *data = values_of(s, spec, &n, e);
    if (!data) return CMD_ERR;
    VizOpts o = session_vopts(s);
    int rc = viz_hist(&s->out, &o, spec, data, n, (int)arg_int(a, "bins", 20), e);
    free(data);
    return rc ? CMD_ERR : CMD_OK;
}

/* A 2-D view of NAME[slice] for heatmaps: 1-D becomes one row, more than 2-D is refused. */
static int view2d(Session *s, const char *spec, float **data, int *rows, int *cols, GrErr *e)
{
    TensorView v;
    if (names_view(s, spec, &v, e)) return -1;
    if (v.ndim > 2) {
        char shp[64];
        tv_shape_str(&v, shp, sizeof shp);
        return gr_fail(e, "heatmap: '%s' is %s; slice it to 2-D, e.g. %s[h=0]", spec, shp, spec);
    }
    *rows = v.ndim == 2 ? v.shape[0] : 1;
    *cols = v.ndim >= 1 ? v.shape[v.ndim - 1] : 1;
    size_t n = tv_numel(&v);
    *data = malloc(sizeof(float) * (n ? n : 1));
    if (!*data) return gr_fail(e, "out of memory copying %zu values", n);
    tv_copy_out(&v, *data);
    return 0;
}

/* Row labels when the rows are the run's positions. */
static char **row_labels_for(Session *s, const char *spec, int rows)
{
    int T = s->trace ? s->trace->T : 0;
    return T && rows == T && spec[0] != 'w' ? token_labels(s, T) : NULL;
}

int cmd_heatmap(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const char *spec = arg_str(a, "name", "");
    float *d;
    int r, c;
    if (view2d(s, spec, &d, &r, &c, e)) return CMD_ERR;
    VizOpts o = session_vopts(s);
    char **lab = row_labels_for(s, spec, r);
    int rc = viz_heatmap(&s->out, &o, spec, d, r, c, (const char *const *)lab, NULL, 0, e);
    free_labels(lab, lab ? r : 0);
    free(d);
    return rc ? CMD_ERR : CMD_OK;
}

/* ---------------- export ---------------- */

static int wrote(Session *s, const Args *a, double t0, int rc)
{
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "wrote %s (%.0f ms)\n", arg_str(a, "file", ""), now_ms() - t0);
    return CMD_OK;
}

/* Every export writes a PNG: refuse another extension before drawing anything. */
static int png_file(const Args *a, GrErr *e)
{
    const char *f = arg_str(a, "file", "");
    size_t n = strlen(f);
    if (n > 4 && !strcasecmp(f + n - 4, ".png")) return 0;
    return gr_fail(e, "export %s: FILE must end in .png, not '%s'", a->cmd->name, f);
}

static void size_of(const Args *a, int *w, int *h)
{
    const FieldVal *v = arg(a, "size");
    *w = v->given ? v->w : 0;
    *h = v->given ? v->h : 0;
}

int cmd_export_attn(Session *s, const Args *a, GrErr *e)
{
    if (png_file(a, e)) return CMD_ERR;
    double t0 = now_ms();
    TensorView v;
    long layer, head;
    if (pattern_of(s, a, &v, &layer, &head, e)) return CMD_ERR;
    int W, Hh;
    size_of(a, &W, &Hh);
    const char *file = arg_str(a, "file", "");
    int T = s->trace->T, H = s->m->cfg.n_head, rc;
    char **lab = token_labels(s, T);
    char title[96];
    if (head >= 0) {
        snprintf(title, sizeof title, "Layer %ld, head %ld: attention pattern", layer, head);
        rc = viz_png_heatmap(file, W, Hh, title, v.data + (size_t)head * T * T, T, T, (const char *const *)lab,
                             (const char *const *)lab, 1, e);
    } else {
        HeadMaps hm;
        if (head_maps(&hm, v.data, H, T, e)) { free_labels(lab, T); return CMD_ERR; }
        snprintf(title, sizeof title, "Layer %ld: all %d heads", layer, H);
        rc = viz_png_heatmap_multi(file, W, Hh, title, hm.data, hm.names, H, T, T, (const char *const *)lab,
                                   (const char *const *)lab, 1, e);
        head_maps_free(&hm);
    }
    free_labels(lab, T);
    return wrote(s, a, t0, rc);
}

int cmd_export_hist(Session *s, const Args *a, GrErr *e)
{
    if (png_file(a, e)) return CMD_ERR;
    if (need_model(s, e)) return CMD_ERR;
    double t0 = now_ms();
    const char *spec = arg_str(a, "name", "");
    size_t n;
    float *data = values_of(s, spec, &n, e);
    if (!data) return CMD_ERR;
    int W, H;
    size_of(a, &W, &H);
    char title[200];
    snprintf(title, sizeof title, "Histogram of %s", spec);
    int rc = viz_png_hist(arg_str(a, "file", ""), W, H, title, data, n, (int)arg_int(a, "bins", 40), e);
    free(data);
    return wrote(s, a, t0, rc);
}

int cmd_export_heatmap(Session *s, const Args *a, GrErr *e)
{
    if (png_file(a, e)) return CMD_ERR;
    if (need_model(s, e)) return CMD_ERR;
    double t0 = now_ms();
    const char *spec = arg_str(a, "name", "");
    float *d;
    int r, c, W, H;
    if (view2d(s, spec, &d, &r, &c, e)) return CMD_ERR;
    size_of(a, &W, &H);
    char **lab = row_labels_for(s, spec, r);
    int rc = viz_png_heatmap(arg_str(a, "file", ""), W, H, spec, d, r, c, (const char *const *)lab, NULL, 0, e);
    free_labels(lab, lab ? r : 0);
    free(d);
    return wrote(s, a, t0, rc);
}

int cmd_export_logits(Session *s, const Args *a, GrErr *e)
{
    if (png_file(a, e)) return CMD_ERR;
    if (need_run(s, e)) return CMD_ERR;
    double t0 = now_ms();
    const TraceEntry *te = acts_find(s->trace, "logits");
    if (!acts_computed(s->trace, te)) return gr_fail(e, "export logits: run the forward pass to the logits first"), CMD_ERR;
    int T = s->trace->T, V = s->m->cfg.vocab, top = (int)arg_int(a, "top", 15), W, H;
    double temp = arg_num(a, "temp", 1.0);
    size_of(a, &W, &H);
    TensorView lv;
    if (names_trace_view(s, te, &lv, e)) return CMD_ERR;
    double *p = malloc(sizeof(double) * V);
    int *ids = malloc(sizeof(int) * V);
    if (!p || !ids) { free(p); free(ids); return gr_fail(e, "out of memory for a vocabulary of %d", V), CMD_ERR; }
    softmax_temp(lv.data + (size_t)(T - 1) * V, V, temp, p);
    sample_filter(p, V, top, 1.0f, ids);
    if (top > V) top = V;
    float vals[50];
    char *labels[50];
    for (int i = 0; i < top; i++) {
        vals[i] = (float)p[ids[i]];
        StrBuf b;
        sb_init(&b);
        tok_piece(&s->tok, ids[i], &b);
        labels[i] = b.s ? b.s : strdup("");
    }
    char title[96];
    snprintf(title, sizeof title, "Next-token probabilities (τ = %g)", temp);
    int rc = viz_png_bars(arg_str(a, "file", ""), W, H, title, (const char *const *)labels, vals, top, e);
    for (int i = 0; i < top; i++) free(labels[i]);
    free(p);
    free(ids);
    return wrote(s, a, t0, rc);
}

int cmd_export_loss(Session *s, const Args *a, GrErr *e)
{
    if (png_file(a, e)) return CMD_ERR;
    if (need_model(s, e)) return CMD_ERR;
    if (!s->nloss) return gr_fail(e, "export loss: no loss curve yet (train first)"), CMD_ERR;
    double t0 = now_ms();
    int W, H;
    size_of(a, &W, &H);
    int rc = viz_png_line(arg_str(a, "file", ""), W, H, "Training loss", "step", "loss", s->loss_curve, s->nloss,
                          log((double)s->m->cfg.vocab), e);
    return wrote(s, a, t0, rc);
}

/* ---------------- dump ---------------- */

int cmd_dump(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const char *spec = arg_str(a, "name", ""), *path = arg_str(a, "file", "");
    size_t len = strlen(path);
    int npy = len > 4 && !strcmp(path + len - 4, ".npy"), st = len > 12 && !strcmp(path + len - 12, ".safetensors");
    if (!npy && !st) return gr_fail(e, "dump: FILE must end in .npy or .safetensors, not '%s'", path), CMD_ERR;
    TensorView v;
    if (names_view(s, spec, &v, e)) return CMD_ERR;
    size_t n = tv_numel(&v);
    float *data = malloc(sizeof(float) * (n ? n : 1));
    if (!data) return gr_fail(e, "out of memory copying %zu values", n), CMD_ERR;
    tv_copy_out(&v, data);
    int rc;
    if (npy) {
        /* NPY v1.0: magic, version, header length, a Python dict literal padded to 64 bytes. */
        char hdr[256], shape[128] = "";
        size_t k = 0;
        for (int i = 0; i < v.ndim; i++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, "%d,%s", v.shape[i], v.ndim > 1 && i + 1 < v.ndim ? " " : "");
        if (v.ndim > 1) shape[strlen(shape) - 1] = 0;
        int hl = snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape);
        int total = 10 + hl + 1;
        int pad = (64 - total % 64) % 64;
        memset(hdr + 10 + hl, ' ', (size_t)pad);
        hdr[10 + hl + pad] = '\n';
        int hlen = hl + pad + 1;
        memcpy(hdr, "\x93NUMPY\x01\x00", 8);
        hdr[8] = (char)(hlen & 0xff);
        hdr[9] = (char)(hlen >> 8);
        StChunk ch[2] = {{hdr, (size_t)(10 + hlen)}, {data, n * sizeof(float)}};
        rc = gr_atomic_write(path, ch, 2, e);
    } else {
        StOut t = {.name = spec, .dtype = ST_F32, .ndim = v.ndim, .data = data};
        for (int i = 0; i < v.ndim; i++) t.shape[i] = v.shape[i];
        rc = st_write(path, &t, 1, NULL, e);
    }
    free(data);
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "wrote %s (%zu floats)\n", path, n);
    return CMD_OK;
}
