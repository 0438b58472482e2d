/* cmd_model.c — the model's lifecycle and settings: new load save model params device seed set. */
#include "cmds.h"
#include "param_abl.h"
#include "runs.h"
#include "hub.h"
#include "interop.h"
#include "paths.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------- tables ---------------- */

/* Names `load` looks up in the model folders without a path. */
/* The Hub's names (hub.c's table) and the bundled model. */
const char *model_name_choices(void)
{
    static char buf[320];
    if (!buf[0]) snprintf(buf, sizeof buf, "%s|" GPTREPL_BUNDLED, hub_choices());
    return buf;
}

/* `set KEY VALUE`: every setting, its range, where it lives. color is applied by hand. */
static const FieldDef SETTINGS[] = {
    {.name = "temperature", .kind = FK_FLOAT, .lo = 0, .hi = 1000, .store = FS_FLOAT,
     .off = offsetof(Session, samp.temperature), .def = "1", .help = "sampling temperature of generate (0: greedy)"},
    {.name = "top_k", .kind = FK_INT, .lo = 0, .hi = 16777216, .store = FS_INT, .off = offsetof(Session, samp.top_k),
     .def = "0", .help = "sample among the k most likely tokens (0: all)"},
    {.name = "top_p", .kind = FK_FLOAT, .lo = 0, .hi = 1, .flags = FF_LO_OPEN, .store = FS_FLOAT,
     .off = offsetof(Session, samp.top_p), .def = "1", .help = "sample among the smallest set with mass >= p"},
    {.name = "color", .kind = FK_CHOICE, .choices = "auto|none|16|256|truecolor", .comp = COMP_CHOICES, .def = "auto",
     .help = "colours of the pictures"},
    {.name = "width", .kind = FK_INT, .lo = 20, .hi = 1000, .store = FS_INT, .off = offsetof(Session, width),
     .def = "the terminal's", .help = "columns the pictures use"},
    {.name = "theme", .kind = FK_CHOICE, .choices = "dark|light", .comp = COMP_CHOICES, .store = FS_INT,
     .off = offsetof(Session, theme), .def = "dark",
     .help = "light: for a projector (dark text on white, larger cells, no side panel)"},
    {.name = "precision", .kind = FK_CHOICE, .choices_fn = prec_names, .comp = COMP_CHOICES, .store = FS_INT,
     .off = offsetof(Session, prec), .def = "fp32",
     .help = "weights runs and generation read: bf16, or int8 with a scale per row (training stays fp32)"},
    {.name = NULL},
};

const FieldDef *settings_table(void) { return SETTINGS; }

const char *settings_choices(void)
{
    static char buf[256];
    if (!buf[0])
        for (const FieldDef *f = SETTINGS; f->name; f++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", f == SETTINGS ? "" : "|", f->name);
    return buf;
}

/* ---------------- new, load, save ---------------- */

static int read_all(const char *path, StrBuf *b, GrErr *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return gr_fail(e, "cannot open %s: %s", path, strerror(errno));
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(b, buf, k);
    fclose(f);
    if (!b->s) sb_puts(b, "");
    return 0;
}

int cmd_new(Session *s, const Args *a, GrErr *e)
{
    GptConfig c;
    if (cfg_preset(&c, arg_str(a, "preset", ""), e)) return CMD_ERR;
    char *chars = NULL;
    int rc = CMD_ERR;
    for (int i = 0; i < a->nkv; i++) {
        char key[64];
        const char *eq = strchr(a->kv[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - a->kv[i] < 63 ? eq - a->kv[i] : 63), a->kv[i]);
        const char *val = eq + 1;
        GrErr ke;
        if (!strcmp(key, "vocab") && !strcmp(val, "vi")) {
            /* the fixed table: ASCII and every Vietnamese letter with every tone */
            free(chars);
            chars = strdup(tok_vi_chars());
            c.tokenizer = TOK_CHAR;
            c.vocab = 237;
            continue;
        }
        if (!strcmp(key, "vocab") && !strncmp(val, "chars:", 6)) {
            /* the characters of a file (its path goes through the one resolver) */
            char path[4096];
            StrBuf b;
            sb_init(&b);
            Tokenizer t;
            if (paths_resolve(s, val + 6, 0, path, sizeof path, &ke) || read_all(path, &b, &ke) ||
                tok_build_chars(&t, b.s, b.len, &ke)) {
                sb_free(&b);
                gr_fail(e, "new: vocab=%s: %s", val, ke.msg);
                goto out;
            }
            sb_free(&b);
            free(chars);
            chars = tok_chars_utf8(&t);
            c.vocab = t.nchars;
            c.tokenizer = TOK_CHAR;
            tok_free(&t);
            continue;
        }
        if (cfg_set(&c, key, val, &ke)) { gr_fail(e, "new: %s", ke.msg); goto out; }
    }
    if (!chars && c.tokenizer == TOK_CHAR) c.vocab = 96;
    GrErr ve;
    if (cfg_validate(&c, &ve)) { gr_fail(e, "new: %s", ve.msg); goto out; }
    Model *m = model_new(&c, s->m ? s->m->be : &backend_cpu, e);
    if (!m) goto out;
    model_init_random(m, s->seed);
    if (session_adopt_model(s, m, chars, c.preset, e)) goto out;
    sb_printf(&s->out, "new %s: %d layer%s, %d head%s, d %d, ctx %d, vocab %d (%s) — %zu parameters, seed %llu\n",
              c.preset, c.n_layer, c.n_layer == 1 ? "" : "s", c.n_head, c.n_head == 1 ? "" : "s", c.d, c.ctx, c.vocab,
              tok_kind_name(&s->tok), s->m->total, (unsigned long long)s->seed);
    rc = CMD_OK;
out:
    free(chars);
    return rc;
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* NAME.chars beside NAME.bin: the char vocabulary llm.c's format has no place for. */
static void chars_path(const char *bin, char *buf, size_t n)
{
    size_t l = strlen(bin);
    if (l > 4 && !strcmp(bin + l - 4, ".bin")) snprintf(buf, n, "%.*s.chars", (int)(l - 4), bin);
    else snprintf(buf, n, "%s.chars", bin);
}

int cmd_load(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *pv = arg(a, "path");
    const char *given = pv->s;
    char path[4400] = "";
    const HubModel *hm = hub_find(given);
    if (hm && !exists(given)) {
        /* a Hub name: found locally, else downloaded into the cache */
        if (hub_fetch(s, hm, path, sizeof path, e)) return CMD_ERR;
    } else if (pv->choice >= 0 || (!strchr(given, '/') && !exists(given))) {
        /* A name: NAME.safetensors or NAME/model.safetensors in a model folder. */
        const char *dirs[8];
        int nd = paths_model_dirs(dirs, 8);
        for (int d = 0; d < nd && !path[0]; d++) {
            snprintf(path, sizeof path, "%s/%s.safetensors", dirs[d], given);
            if (!exists(path)) snprintf(path, sizeof path, "%s/%s/model.safetensors", dirs[d], given);
            if (!exists(path)) path[0] = 0;
        }
        if (!path[0])
            return gr_fail(e, "load: no file or model named '%s' ('models' lists them; %s come from the Hub)", given,
                           hub_choices()), CMD_ERR;
    } else if (is_dir(given)) {
        /* A Hugging Face folder: its model.safetensors (config.json beside it). */
        snprintf(path, sizeof path, "%s/model.safetensors", given);
        if (!exists(path)) return gr_fail(e, "load: %s is a folder without a model.safetensors", given), CMD_ERR;
    } else {
        snprintf(path, sizeof path, "%s", given);
    }
    CkptExtra ex = {0};
    for (int i = 0; i < a->nkv; i++)
        if (!strncmp(a->kv[i], "heads=", 6)) ex.heads = atoi(a->kv[i] + 6);
    Model *m = ckpt_load(path, s->m ? s->m->be : &backend_cpu, &ex, e);
    if (!m) return CMD_ERR;
    /* an llm.c file of a char model: its vocabulary beside it (save writes it there) */
    char cpath[4400];
    chars_path(path, cpath, sizeof cpath);
    StrBuf cb;
    sb_init(&cb);
    if (!ex.chars && llmc_is_bin(path) && exists(cpath) && !read_all(cpath, &cb, e) && cb.s) {
        m->cfg.tokenizer = TOK_CHAR;
        ex.chars = strdup(cb.s);
    }
    sb_free(&cb);
    int rc = session_adopt_model(s, m, ex.chars, path, e);
    free(ex.chars);
    if (rc) return CMD_ERR;
    if (hm) snprintf(s->model_name, sizeof s->model_name, "%s", hm->name);
    /* the text a bundled char model was trained on, beside it: train's default data */
    size_t pl = strlen(path);
    if (s->tok.kind == TOK_CHAR && pl > 12 && !strcmp(path + pl - 12, ".safetensors")) {
        snprintf(cpath, sizeof cpath, "%.*s.txt", (int)(pl - 12), path);
        size_t cl = strlen(cpath);
        if (exists(cpath) && cl < sizeof s->corpus) memcpy(s->corpus, cpath, cl + 1);
    }
    sb_printf(&s->out, "loaded %s: %d layers, %d heads, d %d, ctx %d, vocab %d (%s), step %ld\n", path,
              m->cfg.n_layer, m->cfg.n_head, m->cfg.d, m->cfg.ctx, m->cfg.vocab, tok_kind_name(&s->tok), m->step);
    return CMD_OK;
}

int cmd_models(Session *s, const Args *a, GrErr *e)
{
    (void)a, (void)e;
    hub_list(&s->out);
    return CMD_OK;
}

int cmd_save(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    if (pabl_refuse(s, "save", e)) return CMD_ERR;
    const char *path = arg_str(a, "path", "");
    const FieldVal *fmt = arg(a, "format");
    size_t n = strlen(path);
    int llmc = fmt->given ? fmt->i == 1 : n > 4 && !strcmp(path + n - 4, ".bin");
    if (llmc) {
        char *chars = s->tok.kind == TOK_CHAR ? tok_chars_utf8(&s->tok) : NULL;
        char cpath[4400];
        chars_path(path, cpath, sizeof cpath);
        if (chars) {
            /* llm.c's format holds no vocabulary: it goes beside the file, first */
            StChunk ch = {chars, strlen(chars)};
            int crc = gr_atomic_write(cpath, &ch, 1, e);
            free(chars);
            if (crc) return CMD_ERR;
        }
        if (llmc_save(s->m, path, e)) return CMD_ERR;
        s->m->unsaved = 0;
        if (s->tok.kind == TOK_CHAR)
            sb_printf(&s->out, "saved %s (llm.c format, %zu parameters) and its vocabulary %s (llm.c's format has no "
                               "place for it; load reads it back)\n", path, s->m->total, cpath);
        else sb_printf(&s->out, "saved %s (llm.c format, %zu parameters)\n", path, s->m->total);
        return CMD_OK;
    }
    char *chars = tok_chars_utf8(&s->tok);
    int rc = ckpt_save(s->m, chars, path, e);
    free(chars);
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "saved %s (%zu parameters%s)\n", path, s->m->total, s->m->m ? " + optimizer state" : "");
    return CMD_OK;
}

/* ---------------- inspecting ---------------- */

static void fmt_count(char *buf, size_t n, size_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%zu", v);
    size_t len = strlen(tmp), k = 0;
    for (size_t i = 0; i < len && k + 2 < n; i++) {
        buf[k++] = tmp[i];
        if ((len - i - 1) % 3 == 0 && i + 1 < len) buf[k++] = ',';
    }
    buf[k] = 0;
}

/* "(T, C)" with the config's numbers: "(T, 128)". */
static void shape_with(const GptConfig *c, const TraceDef *d, char *buf, size_t n)
{
    int C = c->d, H = c->n_head;
    switch (d->shape) {
    case TS_TC: snprintf(buf, n, "(T, %d)", C); break;
    case TS_T3C: snprintf(buf, n, "(T, %d)", 3 * C); break;
    case TS_T4C: snprintf(buf, n, "(T, %d)", 4 * C); break;
    case TS_TV: snprintf(buf, n, "(T, %d)", c->vocab); break;
    case TS_HTD:
    case TS_HKD: snprintf(buf, n, "(%d, T, %d)", H, C / H); break;
    case TS_HTK: snprintf(buf, n, "(%d, T, T)", H); break;
    case TS_T: snprintf(buf, n, "(T)"); break;
    case TS_TM1: snprintf(buf, n, "(T-1)"); break;
    }
}

int cmd_model(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const GptConfig *c = &s->m->cfg;
    StrBuf *o = &s->out;
    char cnt[32];
    fmt_count(cnt, sizeof cnt, s->m->total);
    sb_printf(o, "model %s on %s\n", s->model_name, s->m->be->name);
    sb_printf(o, "  layers %d  heads %d  d %d (head dim %d)  ctx %d  vocab %d  tokenizer %s\n", c->n_layer, c->n_head,
              c->d, c->d / c->n_head, c->ctx, c->vocab, tok_kind_name(&s->tok));
    sb_puts(o, " ");
    for (const FieldDef *k = cfg_keys(); k->name; k++) {
        if (k->kind != FK_CHOICE) continue;
        sb_printf(o, " %s ", k->name);
        field_format(k, c, o);
        sb_putc(o, ' ');
    }
    o->len--; /* the last space */
    sb_putc(o, '\n');
    sb_printf(o, "  parameters %s (%.1f MB fp32), step %ld\n", cnt, s->m->total * 4.0 / 1e6, s->m->step);
    if (s->m->prec != PREC_FP32)
        sb_printf(o, "  precision %s: matmul weights %.3g bytes each, %.1f MB read per generated token (training: fp32)\n",
                  prec_def(s->m->prec)->name, model_bytes_per_weight(s->m, s->m->prec),
                  model_bytes_per_token(s->m, s->m->prec) / 1e6);
    /* The block diagram is the stage list itself (core/stages.c), with each stage's outputs. */
    Acts *t = acts_new(s->m, 1, 1, e);
    if (!t) return CMD_ERR;
    sb_puts(o, "\n  tokens (T)\n");
    int in_block = 0;
    for (int i = 0; i < t->nstages; i++) {
        const Stage *st = &t->stages[i];
        if (st->layer > 0) continue; /* one block shown: they are all alike */
        if (st->layer == 0 && !in_block) {
            sb_printf(o, "  ├─ block × %d (%s-LN)\n", c->n_layer, c->post_norm ? "Post" : "Pre");
            in_block = 1;
        }
        const char *nm = st->layer == 0 ? strchr(st->name, '.') + 1 : st->name;
        const TraceEntry *outs[4];
        int n = acts_stage_outputs(t, i, outs, 4);
        StrBuf r;
        sb_init(&r);
        for (int j = 0; j < n; j++) {
            char shp[48];
            shape_with(c, outs[j]->def, shp, sizeof shp);
            sb_printf(&r, "%s%s", j ? ", " : "", shp);
        }
        int last = i + 1 == t->nstages;
        /* columns by display width: the formulas hold ·, ᵀ and √ */
        char head[96];
        snprintf(head, sizeof head, "%s%s%s", last ? "└ " : "│ ", st->layer == 0 ? "  " : "", nm);
        int hw = gr_utf8_width(head, strlen(head)), fw = gr_utf8_width(stage_formula(st), strlen(stage_formula(st)));
        sb_printf(o, "  %s%*s %s%*s %s%s\n", head, hw < 16 ? 16 - hw : 0, "", stage_formula(st), fw < 30 ? 30 - fw : 0,
                  "", n ? "→ " : "", r.s ? r.s : "");
        sb_free(&r);
    }
    acts_free(s->m, t);
    if (s->trace) sb_printf(o, "\n  last run: T = %d, trace memory %.2f MB\n", s->trace->T, s->trace->bytes / 1e6);
    else sb_printf(o, "\n  trace memory grows with the input: %.2f MB at T = %d\n", acts_bytes(c, 1, c->ctx) / 1e6, c->ctx);
    return CMD_OK;
}

int cmd_params(Session *s, const Args *a, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    int by_layer = arg_int(a, "by", 0) == 1;
    Model *m = s->m;
    size_t g[PG_COUNT] = {0};
    for (int i = 0; i < m->nparams; i++) g[m->info[i].group] += m->info[i].numel;
    size_t total = m->total;
    char n[32];
    static const char *names[PG_COUNT] = {"embeddings", "attention", "MLP", "LayerNorm", "unembedding"};
    if (by_layer) {
        sb_puts(&s->out, "  name                       shape           count\n");
        for (int i = 0; i < m->nparams; i++) {
            const ParamInfo *p = &m->info[i];
            char shp[32];
            if (p->ndim == 2) snprintf(shp, sizeof shp, "(%d, %d)", p->shape[0], p->shape[1]);
            else snprintf(shp, sizeof shp, "(%d)", p->shape[0]);
            fmt_count(n, sizeof n, p->numel);
            sb_printf(&s->out, "  %-26s %-15s %13s\n", p->name, shp, n);
        }
    }
    fmt_count(n, sizeof n, total);
    sb_printf(&s->out, "total        %15s\n", n);
    for (int i = 0; i < PG_COUNT; i++) {
        if (!g[i] && i == PG_HEAD) continue;
        fmt_count(n, sizeof n, g[i]);
        sb_printf(&s->out, "%-12s %15s  %5.1f%%\n", names[i], n, 100.0 * g[i] / total);
    }
    size_t VC = (size_t)m->cfg.vocab * m->cfg.d;
    if (m->cfg.tie) {
        fmt_count(n, sizeof n, total + VC);
        sb_printf(&s->out, "tied: the unembedding reuses wte. Untied it would be %s: tying saves %.1f%%\n", n,
                  100.0 * VC / (total + VC));
    } else {
        fmt_count(n, sizeof n, total - VC);
        sb_printf(&s->out, "untied: lm_head.w is separate. Tied it would be %s (saves %.1f%%)\n", n, 100.0 * VC / total);
    }
    return CMD_OK;
}

/* ---------------- device, seed, settings ---------------- */

int cmd_device(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *d = arg(a, "device");
    if (!d->given) {
        const char *why = NULL;
        const Backend *cu = backend_cuda(&why);
        sb_printf(&s->out, "device %s\n", s->m ? s->m->be->name : "cpu (no model yet)");
        if (cu) sb_puts(&s->out, "available: cpu, cuda\n");
        else sb_printf(&s->out, "available: cpu (cuda unavailable: %s)\n", why ? why : "unknown");
        return CMD_OK;
    }
    if (need_model(s, e)) return CMD_ERR;
    const Backend *be = &backend_cpu;
    if (d->i == 1) {
        const char *why = NULL;
        be = backend_cuda(&why);
        if (!be) return gr_fail(e, "device cuda: %s", why ? why : "unavailable"), CMD_ERR;
    }
    session_drop_trace(s);
    int nr = runs_clear(s); /* their tensors live on the device they ran on */
    if (model_to_backend(s->m, be, e)) return CMD_ERR;
    if (session_rerun(s, e)) return CMD_ERR;
    sb_printf(&s->out, "model now on %s\n", be->name);
    if (s->prec != (int)s->m->prec) { /* model_to_backend dropped the copies: no kernels for them there */
        sb_printf(&s->out, "precision back to fp32: the %s backend has no %s kernels yet\n", be->name,
                  prec_def((Precision)s->prec)->name);
        s->prec = s->m->prec;
    }
    if (nr) sb_printf(&s->out, "(%d named run%s dropped: they were on the other device)\n", nr, nr == 1 ? "" : "s");
    return CMD_OK;
}

int cmd_seed(Session *s, const Args *a, GrErr *e)
{
    s->seed = (uint64_t)arg_int(a, "n", 0);
    rng_seed(&s->rng, s->seed);
    return CMD_OK;
}

/* set precision P: the copies made now (so running out of memory is said here), the last
 * run rerun at P, and what it costs and saves. */
static int set_precision(Session *s, Precision p, GrErr *e)
{
    if (s->m && model_set_precision(s->m, p, e)) return CMD_ERR;
    s->prec = p;
    if (!s->m) {
        sb_printf(&s->out, "precision %s: applies to the next model\n", prec_def(p)->name);
        return CMD_OK;
    }
    const Model *m = s->m;
    sb_printf(&s->out, "precision %s: matmul weights %s, %.3g bytes each; generation reads %.1f MB per token (fp32: %.1f)\n",
              prec_def(p)->name, prec_def(p)->weights, model_bytes_per_weight(m, p), model_bytes_per_token(m, p) / 1e6,
              model_bytes_per_token(m, PREC_FP32) / 1e6);
    if (p != PREC_FP32)
        sb_printf(&s->out, "  activations %s; the fp32 weights are kept: train trains them, 'set precision fp32' "
                           "is the model exactly\n", prec_def(p)->acts);
    if (s->trace) {
        if (session_rerun(s, e)) return CMD_ERR;
        sb_printf(&s->out, "  the last run again at %s: loss %.4f\n", prec_def(p)->name, s->trace->loss);
    }
    return CMD_OK;
}

int cmd_set(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *k = arg(a, "key"), *v = arg(a, "value");
    if (!k->given) {
        for (const FieldDef *f = SETTINGS; f->name; f++) {
            sb_printf(&s->out, "%-12s ", f->name);
            if (!strcmp(f->name, "color")) sb_printf(&s->out, "%s%s", viz_color_name(s->color), s->color_auto ? " (auto)" : "");
            else field_format(f, s, &s->out);
            sb_printf(&s->out, "   %s\n", f->help);
        }
        sb_printf(&s->out, "%-12s %llu   ('seed N' sets it)\n", "seed", (unsigned long long)s->seed);
        return CMD_OK;
    }
    const FieldDef *f = &SETTINGS[k->i];
    if (!v->given) {
        StrBuf d;
        sb_init(&d);
        field_describe(f, &d);
        gr_fail(e, "set: %s needs a value (%s)", f->name, d.s);
        sb_free(&d);
        return CMD_ERR;
    }
    char label[64];
    snprintf(label, sizeof label, "set: %s", f->name);
    FieldVal val;
    if (field_parse(f, label, v->s, NAN, NAN, &val, e)) return CMD_ERR;
    if (!strcmp(f->name, "color")) {
        s->color_auto = val.i == 0;
        if (s->color_auto) s->color = viz_color_detect(s->is_tty);
        else if (viz_color_parse(v->s, &s->color, e)) return CMD_ERR;
        return CMD_OK;
    }
    if (!strcmp(f->name, "precision")) return set_precision(s, (Precision)val.i, e);
    field_store(f, &val, s);
    return CMD_OK;
}
