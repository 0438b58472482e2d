/* model_prec.c — the bf16 / int8 copies of the matmul weights that `set precision` keeps
 * (the schemes: quant.h). The fp32 parameters are the model; the copies are made from
 * them, remade after any write to them (model_weights_changed), and dropped by fp32. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

static void free_copies(Model *m)
{
    if (m->qw)
        for (int i = 0; i < m->nparams; i++) quant_weight_free(&m->qw[i]);
    free(m->qw);
    m->qw = NULL;
}

/* Copies of every matmul weight at p into a new array (the old one stays until this succeeds). */
static QWeight *make_copies(const Model *m, Precision p, GrErr *e)
{
    QWeight *qw = calloc((size_t)m->nparams, sizeof *qw);
    if (!qw) return gr_fail(e, "out of memory"), NULL;
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *pi = &m->info[i];
        if (!pi->matmul) continue;
        if (quant_weight(&qw[i], p, m->params + pi->offset, pi->shape[0], pi->shape[1], e)) {
            for (int j = 0; j < i; j++) quant_weight_free(&qw[j]);
            free(qw);
            return NULL;
        }
    }
    return qw;
}

int model_set_precision(Model *m, Precision p, GrErr *e)
{
    if (p == PREC_FP32) {
        free_copies(m);
        m->prec = PREC_FP32;
        return 0;
    }
    if (!m->be->matmul_q)
        return gr_fail(e, "the %s backend has no %s kernels yet (they run on the cpu: 'device cpu')", m->be->name,
                       prec_def(p)->name);
    if (m->prec == p && m->qw && m->qgen == m->wgen) return 0;
    QWeight *qw = make_copies(m, p, e);
    if (!qw) return -1;
    free_copies(m);
    m->qw = qw;
    m->prec = p;
    m->qgen = m->wgen;
    return 0;
}

void model_weights_changed(Model *m) { m->wgen++; }

int model_precision_ready(Model *m, GrErr *e)
{
    if (m->prec == PREC_FP32 || (m->qw && m->qgen == m->wgen)) return 0;
    return model_set_precision(m, m->prec, e);
}

/* The parameter that starts at w, or -1. */
static int param_at(const Model *m, const float *w)
{
    if (w < m->params || w >= m->params + m->total) return -1;
    size_t off = (size_t)(w - m->params);
    int lo = 0, hi = m->nparams - 1; /* info is in buffer order */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->info[mid].offset <= off) lo = mid;
        else hi = mid - 1;
    }
    return m->info[lo].offset == off ? lo : -1;
}

const QWeight *model_qweight(const Model *m, const float *w)
{
    int i = m->qw ? param_at(m, w) : -1;
    return i >= 0 && m->qw[i].type != PREC_FP32 ? &m->qw[i] : NULL;
}

const void *model_stored_weight(const Model *m, Precision p, const float *w, size_t *bytes)
{
    int i = param_at(m, w);
    const QWeight *q = i >= 0 && p != PREC_FP32 && m->qw && m->qw[i].type != PREC_FP32 ? &m->qw[i] : NULL;
    *bytes = i < 0 ? 0 : m->info[i].numel * (q ? (size_t)prec_def(q->type)->bytes : sizeof(float));
    return i < 0 ? NULL : q ? q->q : w;
}

static double stored_bytes(const ParamInfo *pi, Precision p)
{
    double n = (double)pi->numel, rows = pi->shape[0];
    if (p == PREC_INT8) return n + rows * (sizeof(float) + sizeof(int32_t));
    return n * prec_def(p)->bytes;
}

double model_bytes_per_token(const Model *m, Precision p)
{
    double b = 0;
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *pi = &m->info[i];
        int lookup = !strcmp(pi->name, "wpe") || !strcmp(pi->name, "wte");
        if (lookup) b += (double)pi->shape[1] * sizeof(float); /* one row of the fp32 table */
        if (pi->matmul) b += stored_bytes(pi, p);
        else if (!lookup) b += (double)pi->numel * sizeof(float);
    }
    return b;
}

double model_bytes_per_weight(const Model *m, Precision p)
{
    double b = 0, n = 0;
    for (int i = 0; i < m->nparams; i++)
        if (m->info[i].matmul) b += stored_bytes(&m->info[i], p), n += (double)m->info[i].numel;
    return n > 0 ? b / n : 0;
}
