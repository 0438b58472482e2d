/* cmd_pictures.c — pictures in the terminal and as files: attn hist heatmap export dump. */
#include "cmds.h"
#include "names.h"
#include "pictures.h"
#include "safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int pic_show(Session *s, const Args *a, PicBuild build, GrErr *e)
{
    VizOpts o = session_vopts(s);
    Pic p;
    int rc = build(s, a, &o, &p, e);
    if (!rc) rc = pic_draw_term(&p, &o, &s->out, e);
    pic_free(&p);
    return rc ? CMD_ERR : CMD_OK;
}

int cmd_attn(Session *s, const Args *a, GrErr *e) { return pic_show(s, a, pic_attn, e); }

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

/* The histogram `hist` and `export hist` draw. */
static float *hist_of(Session *s, const Args *a, VizHist *h, StrBuf *title, int bins_default, GrErr *e)
{
    if (need_model(s, e)) return NULL;
    const char *spec = arg_str(a, "name", "");
    size_t n;
    float *data = values_of(s, spec, &n, e);
    if (!data) return NULL;
    TensorView v;
    char shp[64] = "";
    if (!names_view(s, spec, &v, e)) tv_shape_str(&v, shp, sizeof shp);
    sb_printf(title, "Histogram of %s %s · ", spec, shp);
    pic_model_desc(s, title);
    *h = (VizHist){.data = data, .n = n, .bins = (int)arg_int(a, "bins", bins_default), .title = title->s, .xtitle = "value"};
    return data;
}

int cmd_hist(Session *s, const Args *a, GrErr *e)
{
    VizHist h;
    StrBuf t;
    sb_init(&t);
    float *data = hist_of(s, a, &h, &t, 20, e);
    VizOpts o = session_vopts(s);
    int rc = data ? viz_term_hist(&s->out, &o, &h, e) : -1;
    free(data);
    sb_free(&t);
    return rc ? CMD_ERR : CMD_OK;
}

int cmd_heatmap(Session *s, const Args *a, GrErr *e) { return pic_show(s, a, pic_heatmap, e); }

/* ---------------- export ---------------- */

/* Checks FILE and --size before anything is computed, so a bad path costs nothing. */
static int export_begin(const Args *a, int *w, int *h, GrErr *e)
{
    const FieldVal *v = arg(a, "size");
    *w = v->given ? v->w : 0;
    *h = v->given ? v->h : 0;
    return viz_file_kind(arg_str(a, "file", ""), e) < 0 ? -1 : 0;
}

static int wrote(Session *s, const Args *a, double t0, int rc)
{
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "wrote %s (%.0f ms)\n", arg_str(a, "file", ""), now_ms() - t0);
    return CMD_OK;
}

int pic_export(Session *s, const Args *a, PicBuild build, GrErr *e)
{
    int W, H;
    if (export_begin(a, &W, &H, e)) return CMD_ERR;
    double t0 = now_ms();
    Pic p;
    int rc = build(s, a, NULL, &p, e);
    if (!rc) rc = pic_draw_file(&p, arg_str(a, "file", ""), W, H, e);
    pic_free(&p);
    return wrote(s, a, t0, rc);
}

int cmd_export_attn(Session *s, const Args *a, GrErr *e) { return pic_export(s, a, pic_attn, e); }

int cmd_export_heatmap(Session *s, const Args *a, GrErr *e) { return pic_export(s, a, pic_heatmap, e); }

int cmd_export_hist(Session *s, const Args *a, GrErr *e)
{
    int W, H;
    if (export_begin(a, &W, &H, e)) return CMD_ERR;
    double t0 = now_ms();
    VizHist h;
    StrBuf t;
    sb_init(&t);
    float *data = hist_of(s, a, &h, &t, 40, e);
    int rc = data ? viz_file_hist(arg_str(a, "file", ""), W, H, &h, e) : -1;
    free(data);
    sb_free(&t);
    return wrote(s, a, t0, rc);
}

int cmd_export_logits(Session *s, const Args *a, GrErr *e)
{
    int W, H;
    if (export_begin(a, &W, &H, e)) return CMD_ERR;
    double t0 = now_ms();
    const FieldVal *tv = arg(a, "temp");
    double temps[FIELD_LIST_MAX];
    int nt = tv->given ? tv->n : 1;
    for (int i = 0; i < nt; i++) temps[i] = tv->given ? tv->list[i] : 1.0;
    PicBars pb;
    int rc = pic_logits(s, arg_int(a, "pos", -1), temps, nt, (int)arg_int(a, "top", 15), 1, &pb, e);
    if (!rc) rc = viz_file_bars(arg_str(a, "file", ""), W, H, &pb.b, e);
    pic_bars_free(&pb);
    return wrote(s, a, t0, rc);
}

int cmd_export_lens(Session *s, const Args *a, GrErr *e) { return pic_export(s, a, pic_lens, e); }

int cmd_export_heads(Session *s, const Args *a, GrErr *e) { return pic_export(s, a, pic_heads, e); }

int cmd_export_loss(Session *s, const Args *a, GrErr *e)
{
    int W, H;
    if (export_begin(a, &W, &H, e)) return CMD_ERR;
    if (need_model(s, e)) return CMD_ERR;
    const LossHistory *h = &s->m->hist;
    if (!h->n) return gr_fail(e, "export loss: no training yet since new or load (train first)"), CMD_ERR;
    double t0 = now_ms();
    /* x: the optimizer step of each point; validation points at the step they were taken */
    float *xs = malloc(sizeof(float) * (size_t)h->n), *vx = malloc(sizeof(float) * (size_t)(h->nval + 1)),
          *vy = malloc(sizeof(float) * (size_t)(h->nval + 1));
    if (!xs || !vx || !vy) { free(xs), free(vx), free(vy); return gr_fail(e, "out of memory"), CMD_ERR; }
    for (int i = 0; i < h->n; i++) xs[i] = (float)(h->step0 + 1 + i);
    for (int i = 0; i < h->nval; i++) vx[i] = h->val[2 * i], vy[i] = h->val[2 * i + 1];
    double lnv = log((double)s->m->cfg.vocab);
    char ref[48];
    snprintf(ref, sizeof ref, "ln V = %.2f", lnv);
    const float *X[2] = {xs, vx}, *Y[2] = {h->loss, vy};
    int N[2] = {h->n, h->nval};
    const char *names[2] = {"train", "validation"};
    StrBuf title;
    sb_init(&title);
    sb_puts(&title, "Training loss · ");
    pic_model_desc(s, &title);
    StrBuf sub;
    sb_init(&sub);
    sb_printf(&sub, "%d step%s since new or load (steps %ld–%ld); the dashed line is uniform guessing", h->n,
              h->n == 1 ? "" : "s", h->step0 + 1, h->step0 + h->n);
    VizLine l = {.nseries = h->nval ? 2 : 1, .x = X, .y = Y, .n = N, .names = names, .markers_from = 1, .ref = lnv,
                 .ref_label = ref, .title = title.s, .subtitle = sub.s, .xtitle = "step", .ytitle = "loss (nats)"};
    int rc = viz_file_line(arg_str(a, "file", ""), W, H, &l, e);
    free(xs), free(vx), free(vy);
    sb_free(&title);
    sb_free(&sub);
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
