/* param_abl.c — ablating weights: `ablate L3.mlp.fc.w zero`, `ablate wte[v=3] zero`.
 *
 * Unlike a trace ablation (applied after a stage on every pass), a parameter ablation
 * changes the weights in place, so run, step, generate and lessons all see it. The whole
 * parameter's previous values are kept on the host and `unablate` puts them back bit for
 * bit, newest first (two ablations of one parameter undo in order). While one is active
 * train and save refuse: the changed weights must not become the model by accident. */
#include "param_abl.h"

#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "model.h"
#include "stages.h"
#include "tensor.h"

int pabl_is_param(const Session *s, const char *spec)
{
    char name[64];
    size_t n = strcspn(spec, "[");
    if (!s->m || n >= sizeof name) return 0;
    memcpy(name, spec, n);
    name[n] = 0;
    return model_find_param(s->m, name) != NULL;
}

/* Pointer to element `flat` (row-major over the view) of a view into our own buffer. */
static float *view_at(const TensorView *v, size_t flat)
{
    ptrdiff_t off = 0;
    for (int d = v->ndim - 1; d >= 0; d--) {
        off += (ptrdiff_t)(flat % (size_t)v->shape[d]) * v->stride[d];
        flat /= (size_t)v->shape[d];
    }
    return (float *)v->data + off;
}

int pabl_add(Session *s, const char *spec, const char *mode, GrErr *e)
{
    if (s->npabl + s->nabl >= MAX_ABL) return gr_fail(e, "ablate: at most %d ablations at once", MAX_ABL);
    if (strcmp(mode, "zero") && strcmp(mode, "mean"))
        return gr_fail(e, "ablate: a parameter takes zero or mean (of the elements chosen), not '%s'", mode);
    if (strlen(spec) >= sizeof s->pabl[0].spec) return gr_fail(e, "ablate: '%s' is too long", spec);
    for (int i = 0; i < s->npabl; i++)
        if (!strcmp(s->pabl[i].spec, spec))
            return gr_fail(e, "ablate: %s is already ablated ('unablate %s' first)", spec, spec);
    char name[64];
    size_t n = strcspn(spec, "[");
    memcpy(name, spec, n);
    name[n] = 0;
    const ParamInfo *p = model_find_param(s->m, name);
    if (!p) return gr_fail(e, "ablate: unknown parameter '%s'", name);
    float *saved = malloc(sizeof(float) * p->numel), *work = malloc(sizeof(float) * p->numel);
    if (!saved || !work) {
        free(saved), free(work);
        return gr_fail(e, "ablate: out of memory keeping %zu values of %s", p->numel, name);
    }
    const Backend *be = s->m->be;
    be->download(saved, s->m->params + p->offset, sizeof(float) * p->numel);
    memcpy(work, saved, sizeof(float) * p->numel);
    int shape[2] = {p->shape[0], p->shape[1]};
    TensorView whole = tv_make(work, p->ndim, shape);
    if (p->ndim == 2) whole.dimname[0] = p->dimname[0], whole.dimname[1] = p->dimname[1];
    TensorView v = whole;
    GrErr se;
    if (spec[n]) {
        /* NAME[slice]: the text inside the one pair of brackets */
        char inner[64];
        size_t l = strlen(spec + n);
        int bad = l < 2 || spec[n + l - 1] != ']' || l - 2 >= sizeof inner || memchr(spec + n + 1, '[', l - 1);
        if (!bad) {
            memcpy(inner, spec + n + 1, l - 2);
            inner[l - 2] = 0;
        }
        if (bad || tv_slice(&whole, inner, &v, &se)) {
            free(saved), free(work);
            if (bad) return gr_fail(e, "ablate: '%s': a parameter takes one slice, like wte[v=3] or L0.attn.qkv.w[0:8]", spec);
            return gr_fail(e, "ablate: %s", se.msg);
        }
    }
    size_t k = tv_numel(&v);
    double mean = 0;
    for (size_t i = 0; i < k; i++) mean += *view_at(&v, i);
    mean = k ? mean / (double)k : 0;
    float val = strcmp(mode, "mean") ? 0.0f : (float)mean;
    for (size_t i = 0; i < k; i++) *view_at(&v, i) = val;
    be->upload(s->m->params + p->offset, work, sizeof(float) * p->numel);
    model_weights_changed(s->m);
    free(work);
    char msg[200];
    if (be->status(msg, sizeof msg)) {
        be->upload(s->m->params + p->offset, saved, sizeof(float) * p->numel);
        free(saved);
        return gr_fail(e, "ablate: %s", msg);
    }
    struct ParamAbl *pa = &s->pabl[s->npabl++];
    snprintf(pa->spec, sizeof pa->spec, "%s", spec);
    snprintf(pa->mode, sizeof pa->mode, "%s", mode);
    pa->offset = p->offset;
    pa->numel = p->numel;
    pa->saved = saved;
    return 0;
}

static void restore(Session *s, int i)
{
    struct ParamAbl *pa = &s->pabl[i];
    if (s->m) s->m->be->upload(s->m->params + pa->offset, pa->saved, sizeof(float) * pa->numel);
    if (s->m) model_weights_changed(s->m);
    free(pa->saved);
    memmove(pa, pa + 1, sizeof *pa * (size_t)(s->npabl - i - 1));
    s->npabl--;
}

int pabl_remove(Session *s, const char *spec, GrErr *e)
{
    int i = s->npabl - 1;
    while (i >= 0 && strcmp(s->pabl[i].spec, spec)) i--;
    if (i < 0) return 0;
    /* newer ablations of the same parameter saved values that include this one's change:
     * undo them first, then this one, and apply them again */
    for (int j = s->npabl - 1; j > i; j--)
        if (s->pabl[j].offset == s->pabl[i].offset)
            return gr_fail(e, "unablate: %s was ablated after %s on the same parameter; unablate it first",
                           s->pabl[j].spec, spec), -1;
    restore(s, i);
    return 1;
}

int pabl_clear(Session *s)
{
    int n = s->npabl;
    while (s->npabl) restore(s, s->npabl - 1);
    return n;
}

void pabl_forget(Session *s)
{
    for (int i = 0; i < s->npabl; i++) free(s->pabl[i].saved);
    s->npabl = 0;
}

int pabl_refuse(const Session *s, const char *what, GrErr *e)
{
    if (!s->npabl) return 0;
    return gr_fail(e, "%s: %s is ablated, so the weights are not the model's ('unablate' restores them)", what,
                   s->pabl[0].spec);
}

void pabl_swap(Session *s, int to_clean)
{
    /* newest first on the way to the clean weights, oldest first on the way back: two
     * ablations of one parameter then undo and redo in order */
    const Backend *be = s->m->be;
    float tmp[4096];
    for (int k = 0; k < s->npabl; k++) {
        struct ParamAbl *pa = &s->pabl[to_clean ? s->npabl - 1 - k : k];
        for (size_t o = 0; o < pa->numel; o += 4096) {
            size_t n = pa->numel - o < 4096 ? pa->numel - o : 4096;
            float *dev = s->m->params + pa->offset + o;
            be->download(tmp, dev, sizeof(float) * n);
            be->upload(dev, pa->saved + o, sizeof(float) * n);
            memcpy(pa->saved + o, tmp, sizeof(float) * n);
        }
    }
    if (s->npabl) model_weights_changed(s->m);
}

int abl_count(const Session *s) { return s->nabl + s->npabl; }

void abl_describe(const Session *s, int i, char *buf, size_t n)
{
    if (i >= s->nabl) {
        const struct ParamAbl *pa = &s->pabl[i - s->nabl];
        snprintf(buf, n, "%s %s (weights)", pa->spec, pa->mode);
        return;
    }
    const Ablation *a = &s->abl[i];
    char mode[32], name[64];
    if (a->src) {
        const char *from = "a run";
        for (int k = 0; k < s->nruns; k++)
            if (s->runs[k].a == a->src) from = s->runs[k].name;
        abl_name(a, name, sizeof name);
        if (a->mode == ABL_MEAN) snprintf(buf, n, "%s mean:%s", name, from);
        else snprintf(buf, n, "%s patched from %s", name, from);
        return;
    }
    field_choice(&(FieldDef){.choices = abl_mode_choices()}, (int)a->mode, mode, sizeof mode);
    abl_name(a, name, sizeof name);
    snprintf(buf, n, "%s %s%s%s", name, mode, a->mode == ABL_COPY ? ":" : "", a->mode == ABL_COPY ? a->other : "");
}
