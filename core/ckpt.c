#include "ckpt.h"
#include "interop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ckpt_config_from_meta(const StFile *f, const char *path, GptConfig *c, GrErr *e)
{
    memset(c, 0, sizeof *c);
    const char *fmt = st_meta(f, "format");
    if (!fmt || strcmp(fmt, "gptrepl"))
        return gr_fail(e, "%s: not a gptrepl checkpoint (no format=gptrepl in its metadata)", path);
    /* The config's own keys (config.c's table); sizes are required, switches default to GPT-2's. */
    c->tie = c->pos = c->mlp = 1;
    for (const FieldDef *k = cfg_keys(); k->name; k++) {
        const char *v = st_meta(f, k->name);
        if (!v && k->kind == FK_INT) return gr_fail(e, "%s: metadata has no '%s'", path, k->name);
        GrErr ke;
        if (v && cfg_set(c, k->name, v, &ke)) return gr_fail(e, "%s: metadata %s", path, ke.msg);
    }
    const char *tok = st_meta(f, "tokenizer");
    GrErr ke;
    if (cfg_set(c, "tokenizer", tok ? tok : "byte", &ke)) return gr_fail(e, "%s: metadata %s", path, ke.msg);
    const char *preset = st_meta(f, "preset");
    snprintf(c->preset, sizeof c->preset, "%s", preset ? preset : "custom");
    return cfg_validate(c, e);
}

/* Reads tensors named prefix+param into buf (a params-sized host buffer), shapes checked;
 * with buf NULL, only checks that every tensor is there with its shape. */
static int read_params(const StFile *f, const char *path, const Model *m, const char *prefix, float *buf, GrErr *e)
{
    char nm[160];
    for (int i = 0; i < m->nparams; i++) {
        const ParamInfo *p = &m->info[i];
        snprintf(nm, sizeof nm, "%s%s", prefix, p->name);
        const StTensor *t = st_find(f, nm);
        if (!t) return gr_fail(e, "%s: missing tensor '%s'", path, nm);
        int ok = t->ndim == p->ndim && t->shape[0] == p->shape[0] && (p->ndim == 1 || t->shape[1] == p->shape[1]);
        if (!ok) {
            if (p->ndim == 2)
                return gr_fail(e, "%s: tensor '%s' should be (%d, %d) for this config", path, nm, p->shape[0], p->shape[1]);
            return gr_fail(e, "%s: tensor '%s' should be (%d) for this config", path, nm, p->shape[0]);
        }
        if (buf && st_read_f32(f, t, buf + p->offset, e)) return -1;
    }
    return 0;
}

/* The training history, when the file has one (history.loss (n), history.val (n, 2)). */
static int read_history(const StFile *f, const char *path, Model *m, GrErr *e)
{
    const StTensor *tl = st_find(f, "history.loss"), *tv = st_find(f, "history.val");
    LossHistory *h = &m->hist;
    if (tl) {
        if (tl->ndim != 1 || tl->shape[0] < 1 || tl->shape[0] > (1 << 26))
            return gr_fail(e, "%s: tensor 'history.loss' should be (n) with n in 1..%d", path, 1 << 26);
        h->loss = malloc(sizeof(float) * (size_t)tl->shape[0]);
        if (!h->loss) return gr_fail(e, "out of memory reading %s", path);
        h->n = h->cap = tl->shape[0];
        if (st_read_f32(f, tl, h->loss, e)) return -1;
        const char *s0 = st_meta(f, "history_step0");
        h->step0 = s0 ? strtol(s0, NULL, 10) : m->step - h->n;
        if (h->step0 < 0) h->step0 = 0;
    }
    if (tv) {
        if (tv->ndim != 2 || tv->shape[1] != 2 || tv->shape[0] < 1 || tv->shape[0] > (1 << 24))
            return gr_fail(e, "%s: tensor 'history.val' should be (n, 2): step, loss", path);
        h->val = malloc(sizeof(float) * 2 * (size_t)tv->shape[0]);
        if (!h->val) return gr_fail(e, "out of memory reading %s", path);
        h->nval = h->vcap = tv->shape[0];
        h->vcap *= 2;
        if (st_read_f32(f, tv, h->val, e)) return -1;
    }
    return 0;
}

Model *ckpt_load(const char *path, const Backend *be, CkptExtra *extra, GrErr *e)
{
    if (extra) extra->chars = NULL;
    if (llmc_is_bin(path)) return llmc_load(path, be, e);
    StFile f;
    if (st_open(&f, path, e)) return NULL;
    const char *fmt = st_meta(&f, "format");
    if ((!fmt || strcmp(fmt, "gptrepl")) && hf_is_gpt2(&f)) {
        Model *hm = hf_load_gpt2(&f, path, be, extra ? extra->heads : 0, e);
        st_close(&f);
        return hm;
    }
    GptConfig c;
    Model *m = NULL;
    float *host = NULL;
    if (ckpt_config_from_meta(&f, path, &c, e)) goto fail;
    const char *chars = st_meta(&f, "chars");
    if (c.tokenizer == TOK_CHAR && !chars) {
        gr_fail(e, "%s: a char-tokenizer model without its 'chars' vocabulary", path);
        goto fail;
    }
    /* The file must hold the weights its config promises (at 2 bytes each, the smallest
     * dtype we read) before we allocate for them: a few bytes of header never make us
     * allocate gigabytes. */
    size_t need;
    if (!gr_mul_ok(cfg_param_count(&c), 2, &need) || need > f.data_len) {
        gr_fail(e, "%s: its config needs %zu parameters but the file holds only %zu bytes of data (truncated or a wrong header)",
                path, cfg_param_count(&c), f.data_len);
        goto fail;
    }
    m = model_new(&c, be, e);
    if (!m) goto fail;
    host = malloc(m->total * sizeof(float));
    if (!host) { gr_fail(e, "out of memory reading %s", path); goto fail; }
    if (read_params(&f, path, m, "", host, e)) goto fail;
    be->upload(m->params, host, m->total * sizeof(float));
    const char *step = st_meta(&f, "step");
    m->step = step ? strtol(step, NULL, 10) : 0; /* strtol clamps; atol on a huge number is undefined */
    if (m->step < 0) m->step = 0;
    if (st_find(&f, "opt.m.wte")) {
        if (read_params(&f, path, m, "opt.m.", NULL, e) || read_params(&f, path, m, "opt.v.", NULL, e)) goto fail;
        m->m = be->alloc(m->total * sizeof(float));
        m->v = be->alloc(m->total * sizeof(float));
        m->grads = be->alloc(m->total * sizeof(float));
        if (!m->m || !m->v || !m->grads) { gr_fail(e, "out of memory for the optimizer state"); goto fail; }
        be->zero(m->grads, m->total * sizeof(float));
        model_param_ptrs(m, m->grads, &m->g);
        if (read_params(&f, path, m, "opt.m.", host, e)) goto fail;
        be->upload(m->m, host, m->total * sizeof(float));
        if (read_params(&f, path, m, "opt.v.", host, e)) goto fail;
        be->upload(m->v, host, m->total * sizeof(float));
    }
    if (read_history(&f, path, m, e)) goto fail;
    if (extra) extra->chars = chars ? strdup(chars) : NULL;
    free(host);
    st_close(&f);
    return m;
fail:
    free(host);
    model_free(m);
    st_close(&f);
    return NULL;
}

int ckpt_save(Model *m, const char *chars, const char *path, GrErr *e)
{
    const GptConfig *c = &m->cfg;
    int has_opt = m->m && m->v;
    int nt = m->nparams * (has_opt ? 3 : 1);
    StOut *ts = calloc((size_t)nt + 2, sizeof(StOut));
    char (*names)[48] = calloc((size_t)nt, 48);
    float *host = malloc(m->total * sizeof(float) * (has_opt ? 3 : 1));
    if (!ts || !names || !host) {
        free(ts); free(names); free(host);
        return gr_fail(e, "out of memory saving %s", path);
    }
    m->be->download(host, m->params, m->total * sizeof(float));
    if (has_opt) {
        m->be->download(host + m->total, m->m, m->total * sizeof(float));
        m->be->download(host + 2 * m->total, m->v, m->total * sizeof(float));
    }
    static const char *prefixes[3] = {"", "opt.m.", "opt.v."};
    int k = 0;
    for (int s = 0; s < (has_opt ? 3 : 1); s++)
        for (int i = 0; i < m->nparams; i++) {
            const ParamInfo *p = &m->info[i];
            snprintf(names[k], 48, "%s%s", prefixes[s], p->name);
            ts[k].name = names[k];
            ts[k].dtype = ST_F32;
            ts[k].ndim = p->ndim;
            ts[k].shape[0] = p->shape[0];
            ts[k].shape[1] = p->shape[1];
            ts[k].data = host + (size_t)s * m->total + p->offset;
            k++;
        }
    /* the training history since new/load */
    if (m->hist.n > 0) {
        ts[k] = (StOut){.name = "history.loss", .dtype = ST_F32, .ndim = 1, .shape = {m->hist.n}, .data = m->hist.loss};
        k++;
    }
    if (m->hist.nval > 0) {
        ts[k] = (StOut){.name = "history.val", .dtype = ST_F32, .ndim = 2, .shape = {m->hist.nval, 2}, .data = m->hist.val};
        k++;
    }
    nt = k;
    /* Metadata: the config's keys as `new` would read them back, then step and chars. */
    const char *meta[64];
    StrBuf vals[24];
    int nm = 0, nv = 0;
    meta[nm++] = "format";
    meta[nm++] = "gptrepl";
    meta[nm++] = "preset";
    meta[nm++] = c->preset;
    for (const FieldDef *f = cfg_keys(); f->name; f++) {
        sb_init(&vals[nv]);
        field_format(f, c, &vals[nv]);
        meta[nm++] = f->name;
        meta[nm++] = vals[nv++].s;
    }
    sb_init(&vals[nv]);
    field_format(cfg_tokenizer_key(), c, &vals[nv]);
    meta[nm++] = "tokenizer";
    meta[nm++] = vals[nv++].s;
    sb_init(&vals[nv]);
    sb_printf(&vals[nv], "%ld", m->step);
    meta[nm++] = "step";
    meta[nm++] = vals[nv++].s;
    if (m->hist.n > 0) {
        sb_init(&vals[nv]);
        sb_printf(&vals[nv], "%ld", m->hist.step0);
        meta[nm++] = "history_step0";
        meta[nm++] = vals[nv++].s;
    }
    if (chars) { meta[nm++] = "chars"; meta[nm++] = chars; }
    meta[nm] = NULL;
    int rc = st_write(path, ts, nt, meta, e);
    if (!rc) m->unsaved = 0;
    for (int i = 0; i < nv; i++) sb_free(&vals[i]);
    free(ts);
    free(names);
    free(host);
    return rc;
}
