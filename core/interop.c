#include "interop.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------- Hugging Face GPT-2 ---------------- */

static const StTensor *hf_find(const StFile *f, const char *name)
{
    const StTensor *t = st_find(f, name);
    if (t) return t;
    char buf[200];
    snprintf(buf, sizeof buf, "transformer.%.160s", name);
    return st_find(f, buf);
}

int hf_is_gpt2(const StFile *f) { return hf_find(f, "wte.weight") != NULL && hf_find(f, "h.0.attn.c_attn.weight") != NULL; }

static int heads_from_config(const char *path)
{
    char dir[1024], cfg[1100];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(cfg, sizeof cfg, "%s/config.json", dirname(dir));
    FILE *fp = fopen(cfg, "rb");
    if (!fp) return 0;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    int h = 0;
    if (j) {
        cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "n_head");
        if (cJSON_IsNumber(x) && x->valuedouble >= 1 && x->valuedouble <= 4096) h = (int)x->valuedouble;
        cJSON_Delete(j);
    }
    return h;
}

/* Reads an HF tensor of the expected shape into dst, transposing Conv1D (in, out) → (out, in). */
static int hf_read(const StFile *f, const char *path, const char *name, int r, int c, int transpose, float *dst,
                   float *tmp, GrErr *e)
{
    const StTensor *t = hf_find(f, name);
    if (!t) return gr_fail(e, "%s: missing tensor '%s'", path, name);
    int ok = c ? (t->ndim == 2 && t->shape[0] == (transpose ? c : r) && t->shape[1] == (transpose ? r : c))
               : (t->ndim == 1 && t->shape[0] == r);
    if (!ok) return gr_fail(e, "%s: tensor '%s' has an unexpected shape for GPT-2 with this width", path, name);
    if (!dst) return 0; /* checking shapes only */
    if (!transpose) return st_read_f32(f, t, dst, e);
    if (st_read_f32(f, t, tmp, e)) return -1;
    /* tmp is (c, r) = (in, out); 32×32 tiles keep both sides in cache. */
    for (int i0 = 0; i0 < c; i0 += 32)
        for (int o0 = 0; o0 < r; o0 += 32)
            for (int i = i0; i < i0 + 32 && i < c; i++)
                for (int o = o0; o < o0 + 32 && o < r; o++) dst[(size_t)o * c + i] = tmp[(size_t)i * r + o];
    return 0;
}

/* Reads every tensor of the model into p's buffers, or with p NULL only checks that each
 * is there with the shape the config needs (so nothing is allocated for a file that
 * does not hold the weights). */
static int hf_read_all(const StFile *f, const char *path, const GptConfig *c, const ParamPtrs *p, float *tmp, GrErr *e)
{
    static const LayerParams none;
    char nm[160];
    int C = c->d, rc = hf_read(f, path, "wte.weight", c->vocab, C, 0, p ? p->wte : NULL, tmp, e);
    if (!rc) rc = hf_read(f, path, "wpe.weight", c->ctx, C, 0, p ? p->wpe : NULL, tmp, e);
    for (int l = 0; l < c->n_layer && !rc; l++) {
        const LayerParams *lp = p ? &p->layer[l] : &none;
#define R(suffix, dst, r, cc, tr) \
    if (!rc) { snprintf(nm, sizeof nm, "h.%d." suffix, l); rc = hf_read(f, path, nm, r, cc, tr, dst, tmp, e); }
        R("ln_1.weight", lp->ln1w, C, 0, 0) R("ln_1.bias", lp->ln1b, C, 0, 0)
        R("attn.c_attn.weight", lp->qkvw, 3 * C, C, 1) R("attn.c_attn.bias", lp->qkvb, 3 * C, 0, 0)
        R("attn.c_proj.weight", lp->projw, C, C, 1) R("attn.c_proj.bias", lp->projb, C, 0, 0)
        R("ln_2.weight", lp->ln2w, C, 0, 0) R("ln_2.bias", lp->ln2b, C, 0, 0)
        R("mlp.c_fc.weight", lp->fcw, 4 * C, C, 1) R("mlp.c_fc.bias", lp->fcb, 4 * C, 0, 0)
        R("mlp.c_proj.weight", lp->fcprojw, C, 4 * C, 1) R("mlp.c_proj.bias", lp->fcprojb, C, 0, 0)
#undef R
    }
    if (!rc) rc = hf_read(f, path, "ln_f.weight", C, 0, 0, p ? p->lnfw : NULL, tmp, e);
    if (!rc) rc = hf_read(f, path, "ln_f.bias", C, 0, 0, p ? p->lnfb : NULL, tmp, e);
    return rc;
}

Model *hf_load_gpt2(const StFile *f, const char *path, const Backend *be, int heads, GrErr *e)
{
    const StTensor *wte = hf_find(f, "wte.weight"), *wpe = hf_find(f, "wpe.weight");
    if (!wte || wte->ndim != 2 || !wpe || wpe->ndim != 2) {
        gr_fail(e, "%s: not a GPT-2 checkpoint (needs wte.weight and wpe.weight)", path);
        return NULL;
    }
    if (wte->shape[0] < 1 || wte->shape[0] > (1 << 24) || wte->shape[1] < 1 || wte->shape[1] > (1 << 20) ||
        wpe->shape[0] < 1 || wpe->shape[0] > (1 << 20)) {
        gr_fail(e, "%s: wte.weight / wpe.weight have implausible shapes for GPT-2", path);
        return NULL;
    }
    GptConfig c;
    memset(&c, 0, sizeof c);
    snprintf(c.preset, sizeof c.preset, "gpt2-hf");
    c.vocab = (int)wte->shape[0];
    c.d = (int)wte->shape[1];
    c.ctx = (int)wpe->shape[0];
    int L = 0;
    char nm[160];
    for (; L <= 4096; L++) {
        snprintf(nm, sizeof nm, "h.%d.ln_1.weight", L);
        if (!hf_find(f, nm)) break;
    }
    c.n_layer = L;
    int from_config = heads_from_config(path);
    c.n_head = from_config ? from_config : heads;
    if (from_config && heads && heads != from_config) {
        gr_fail(e, "%s: heads=%d disagrees with its config.json (n_head %d)", path, heads, from_config);
        return NULL;
    }
    if (!c.n_head) c.n_head = c.d == 768 ? 12 : c.d == 1024 ? 16 : c.d == 1280 ? 20 : c.d == 1600 ? 25 : 0;
    if (!c.n_head) {
        gr_fail(e, "%s: no config.json beside it says how many heads its width d=%d has, and %d is not a GPT-2 width "
                   "(768, 1024, 1280, 1600); load it with heads=N", path, c.d, c.d);
        return NULL;
    }
    if (c.d % c.n_head) {
        gr_fail(e, "%s: heads=%d does not divide the width d=%d", path, c.n_head, c.d);
        return NULL;
    }
    c.tie = 1;
    c.pos = 1;
    c.mlp = 1;
    c.tokenizer = c.vocab == 50257 ? TOK_GPT2 : TOK_BYTE;
    if (L == 0) { gr_fail(e, "%s: no transformer blocks (h.0.*) found", path); return NULL; }
    if (cfg_validate(&c, e) || hf_read_all(f, path, &c, NULL, NULL, e)) return NULL;
    Model *m = model_new(&c, be, e);
    if (!m) return NULL;
    ParamPtrs p;
    /* On the CPU the parameters are host memory already: read straight into them. */
    float *host = be == &backend_cpu ? m->params : malloc(m->total * sizeof(float));
    float *tmp = malloc((size_t)4 * c.d * c.d * sizeof(float));
    p.layer = calloc((size_t)L, sizeof(LayerParams));
    if (!host || !tmp || !p.layer) {
        gr_fail(e, "out of memory loading %s", path);
        goto fail;
    }
    model_param_ptrs(m, host, &p);
    if (hf_read_all(f, path, &c, &p, tmp, e)) goto fail;
    if (host != m->params) be->upload(m->params, host, m->total * sizeof(float));
    free(p.layer);
    if (host != m->params) free(host);
    free(tmp);
    return m;
fail:
    free(p.layer);
    if (host != m->params) free(host);
    free(tmp);
    model_free(m);
    return NULL;
}

/* ---------------- llm.c ---------------- */

#define LLMC_MAGIC 20240326

int llmc_is_bin(const char *path)
{
    /* O_NONBLOCK and regular files only: `load` on a FIFO or a device must not hang here. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return 0;
    struct stat sb;
    int32_t h[1] = {0};
    ssize_t n = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? read(fd, h, 4) : 0;
    close(fd);
    return n == 4 && h[0] == LLMC_MAGIC;
}

/* Order and shapes of llm.c's tensors (grouped by type across layers). */
static void llmc_sizes(int L, int C, int Vp, int maxT, size_t sz[16])
{
    size_t l = (size_t)L, c = (size_t)C;
    size_t s[16] = {(size_t)Vp * c, (size_t)maxT * c, l * c, l * c, l * 3 * c * c, l * 3 * c, l * c * c, l * c,
                    l * c, l * c, l * 4 * c * c, l * 4 * c, l * c * 4 * c, l * c, c, c};
    memcpy(sz, s, sizeof s);
}

Model *llmc_load(const char *path, const Backend *be, GrErr *e)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) { gr_fail(e, "cannot open %s: %s", path, strerror(errno)); return NULL; }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size < 1024) {
        close(fd);
        gr_fail(e, "%s: too short for an llm.c checkpoint (needs a 1024-byte header)", path);
        return NULL;
    }
    size_t fsize = (size_t)sb.st_size;
    const unsigned char *map = mmap(NULL, fsize, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) { gr_fail(e, "cannot map %s", path); return NULL; }
    int32_t h[256];
    memcpy(h, map, sizeof h);
    Model *m = NULL;
    float *host = NULL;
    if (h[0] != LLMC_MAGIC) { gr_fail(e, "%s: bad magic %d (an llm.c model file starts with %d)", path, h[0], LLMC_MAGIC); goto out; }
    if (h[1] != 3 && h[1] != 5) { gr_fail(e, "%s: llm.c version %d is not supported (3 = fp32, 5 = bf16)", path, h[1]); goto out; }
    int maxT = h[2], V = h[3], L = h[4], H = h[5], C = h[6], Vp = h[7];
    if (maxT < 1 || V < 1 || L < 1 || H < 1 || C < 1 || Vp < V || maxT > (1 << 20) || V > (1 << 24) || Vp > (1 << 24) ||
        L > 4096 || C > (1 << 16) || H > C) {
        gr_fail(e, "%s: header sizes are not plausible (T %d, V %d, Vp %d, L %d, H %d, C %d)", path, maxT, V, Vp, L, H, C);
        goto out;
    }
    size_t sz[16], total = 0;
    llmc_sizes(L, C, Vp, maxT, sz);
    for (int i = 0; i < 16; i++) total += sz[i];
    size_t esize = h[1] == 3 ? 4 : 2;
    if (fsize != 1024 + total * esize) {
        gr_fail(e, "%s: the header promises %zu bytes of weights but the file has %zu (truncated or wrong header)", path,
                total * esize, fsize - 1024);
        goto out;
    }
    GptConfig c;
    memset(&c, 0, sizeof c);
    snprintf(c.preset, sizeof c.preset, "llmc");
    c.n_layer = L; c.n_head = H; c.d = C; c.ctx = maxT; c.vocab = V;
    c.tie = 1; c.pos = 1; c.mlp = 1;
    c.tokenizer = V == 50257 ? TOK_GPT2 : TOK_BYTE;
    m = model_new(&c, be, e);
    if (!m) goto out;
    host = malloc(m->total * sizeof(float));
    ParamPtrs p;
    p.layer = calloc((size_t)L, sizeof(LayerParams));
    if (!host || !p.layer) { free(p.layer); gr_fail(e, "out of memory loading %s", path); model_free(m); m = NULL; goto out; }
    model_param_ptrs(m, host, &p);
    /* Convert everything to fp32 in file order. */
    const unsigned char *src = map + 1024;
    float *all = malloc(total * sizeof(float));
    if (!all) { free(p.layer); gr_fail(e, "out of memory loading %s", path); model_free(m); m = NULL; goto out; }
    if (esize == 4) memcpy(all, src, total * 4);
    else
        for (size_t i = 0; i < total; i++) {
            uint32_t bits = (uint32_t)(src[2 * i] | (src[2 * i + 1] << 8)) << 16;
            memcpy(&all[i], &bits, 4);
        }
    float *q = all;
    memcpy(p.wte, q, (size_t)V * C * 4); /* the padded rows (V..Vp) are dropped */
    q += sz[0];
    memcpy(p.wpe, q, sz[1] * 4);
    q += sz[1];
    /* Per-type tensors stacked over layers → our per-layer layout. */
    size_t per[14] = {(size_t)C, (size_t)C, (size_t)3 * C * C, (size_t)3 * C, (size_t)C * C, (size_t)C, (size_t)C,
                      (size_t)C, (size_t)4 * C * C, (size_t)4 * C, (size_t)4 * C * C, (size_t)C};
    for (int k = 0; k < 12; k++) {
        for (int l = 0; l < L; l++) {
            LayerParams *lp = &p.layer[l];
            float *dst[12] = {lp->ln1w, lp->ln1b, lp->qkvw, lp->qkvb, lp->projw, lp->projb,
                              lp->ln2w, lp->ln2b, lp->fcw, lp->fcb, lp->fcprojw, lp->fcprojb};
            memcpy(dst[k], q + (size_t)l * per[k], per[k] * 4);
        }
        q += sz[2 + k];
    }
    memcpy(p.lnfw, q, (size_t)C * 4);
    q += C;
    memcpy(p.lnfb, q, (size_t)C * 4);
    be->upload(m->params, host, m->total * sizeof(float));
    free(all);
    free(p.layer);
out:
    free(host);
    munmap((void *)map, fsize);
    return m;
}

int llmc_save(Model *m, const char *path, GrErr *e)
{
    const GptConfig *c = &m->cfg;
    if (c->post_norm || !c->tie || c->relu || !c->pos || !c->mlp || c->logit_scale)
        return gr_fail(e, "llm.c files hold GPT-2 models only (Pre-LN, tied, GELU, learned positions, MLP, no logit scale)");
    int L = c->n_layer, C = c->d, V = c->vocab, Vp = (V + 127) / 128 * 128, T = c->ctx;
    size_t sz[16], total = 0;
    llmc_sizes(L, C, Vp, T, sz);
    for (int i = 0; i < 16; i++) total += sz[i];
    float *host = malloc(m->total * sizeof(float)), *all = calloc(total, sizeof(float));
    ParamPtrs p;
    p.layer = calloc((size_t)L, sizeof(LayerParams));
    if (!host || !all || !p.layer) {
        free(host); free(all); free(p.layer);
        return gr_fail(e, "out of memory saving %s", path);
    }
    m->be->download(host, m->params, m->total * sizeof(float));
    model_param_ptrs(m, host, &p);
    float *q = all;
    memcpy(q, p.wte, (size_t)V * C * 4);
    q += sz[0];
    memcpy(q, p.wpe, sz[1] * 4);
    q += sz[1];
    size_t per[12] = {(size_t)C, (size_t)C, (size_t)3 * C * C, (size_t)3 * C, (size_t)C * C, (size_t)C, (size_t)C,
                      (size_t)C, (size_t)4 * C * C, (size_t)4 * C, (size_t)4 * C * C, (size_t)C};
    for (int k = 0; k < 12; k++) {
        for (int l = 0; l < L; l++) {
            LayerParams *lp = &p.layer[l];
            const float *s[12] = {lp->ln1w, lp->ln1b, lp->qkvw, lp->qkvb, lp->projw, lp->projb,
                                  lp->ln2w, lp->ln2b, lp->fcw, lp->fcb, lp->fcprojw, lp->fcprojb};
            memcpy(q + (size_t)l * per[k], s[k], per[k] * 4);
        }
        q += sz[2 + k];
    }
    memcpy(q, p.lnfw, (size_t)C * 4);
    memcpy(q + C, p.lnfb, (size_t)C * 4);
    int32_t h[256] = {LLMC_MAGIC, 3, T, V, L, c->n_head, C, Vp};
    StChunk ch[2] = {{h, sizeof h}, {all, total * 4}};
    int rc = gr_atomic_write(path, ch, 2, e);
    free(host);
    free(all);
    free(p.layer);
    return rc;
}
