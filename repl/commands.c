/* commands.c — every REPL command: one table {name, handler, arity, usage, summary, help}
 * generates help, completion and arity checks (redis-cli style). */
#include "session.h"
#include "expr.h"
#include "safetensors.h"
#include "interop.h"
#include "train.h"
#include "stages.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------- helpers ---------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Value of --name VALUE or --name=VALUE, or NULL. */
static const char *opt(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], name) && i + 1 < argc) return argv[i + 1];
        if (!strncmp(argv[i], name, n) && argv[i][n] == '=') return argv[i] + n + 1;
    }
    return NULL;
}
static int flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++) if (!strcmp(argv[i], name)) return 1;
    return 0;
}
/* The i-th positional word (1-based), skipping --options and their values. */
static const char *pos_arg(int argc, char **argv, int want)
{
    int k = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2) && strlen(argv[i]) > 2) {
            /* The same value-less flags as session_exec's arity count, or the two disagree. */
            if (!strchr(argv[i], '=') && i + 1 < argc && strncmp(argv[i + 1], "--", 2) && strcmp(argv[i], "--greedy") &&
                strcmp(argv[i], "--ids") && strcmp(argv[i], "--by-layer") && strcmp(argv[i], "--all") &&
                strcmp(argv[i], "--nocache") && strcmp(argv[i], "--cache"))
                i++;
            continue;
        }
        if (++k == want) return argv[i];
    }
    return NULL;
}

static int parse_long(const char *what, const char *s, long lo, long hi, long *out, GrErr *e)
{
    if (!s) return gr_fail(e, "%s: missing", what);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno) return gr_fail(e, "%s: '%s' is not a whole number", what, s);
    if (v < lo || v > hi) return gr_fail(e, "%s: %ld is out of range (%ld..%ld)", what, v, lo, hi);
    *out = v;
    return 0;
}

static int parse_double(const char *what, const char *s, double lo, double hi, double *out, GrErr *e)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || isnan(v)) return gr_fail(e, "%s: '%s' is not a number", what, s);
    if (v < lo || v > hi) return gr_fail(e, "%s: %g is out of range (%g..%g)", what, v, lo, hi);
    *out = v;
    return 0;
}

static int need_model(Session *s, GrErr *e)
{
    if (!s->m) return gr_fail(e, "no model: make one with 'new tiny' or 'load PATH'");
    return 0;
}

static int need_run(Session *s, GrErr *e)
{
    if (need_model(s, e)) return -1;
    if (!s->trace) return gr_fail(e, "nothing has run yet: try 'run \"some text\"' first");
    return 0;
}

static VizOpts vopts(Session *s)
{
    VizOpts o = {.color = s->color, .width = s->width};
    return o;
}

/* Text argument: the rest of the line with one layer of quotes removed. */
static char *text_arg(const char *rest)
{
    size_t n = strlen(rest);
    while (n && isspace((unsigned char)rest[n - 1])) n--;
    StrBuf b;
    sb_init(&b);
    if (n >= 2 && rest[0] == '"' && rest[n - 1] == '"') {
        for (size_t i = 1; i + 1 < n; i++) {
            if (rest[i] == '\\' && i + 2 < n) {
                char c = rest[++i];
                sb_putc(&b, c == 'n' ? '\n' : c == 't' ? '\t' : c);
            } else sb_putc(&b, rest[i]);
        }
    } else sb_putn(&b, rest, n);
    if (!b.s) sb_puts(&b, "");
    return b.s;
}

static void drop_trace(Session *s)
{
    if (s->trace && s->m) acts_free(s->m, s->trace);
    s->trace = NULL;
}

static const char *MODELS_DIR(void)
{
    const char *d = getenv("GPTREPL_MODELS");
    return d && *d ? d : "models";
}

/* Installs a model and the tokenizer that goes with it. Takes ownership of m. */
static int adopt_model(Session *s, Model *m, const char *chars, const char *name, GrErr *e)
{
    Tokenizer t;
    memset(&t, 0, sizeof t);
    const char *note = NULL;
    if (m->cfg.tokenizer == TOK_CHAR) {
        const char *vocab = chars ? chars : tok_default_chars();
        if (tok_init_chars(&t, vocab, strlen(vocab), e)) { model_free(m); return -1; }
        if (t.nchars != m->cfg.vocab) {
            tok_free(&t);
            model_free(m);
            return gr_fail(e, "the char vocabulary has %d symbols but the model expects %d", t.nchars, m->cfg.vocab);
        }
    } else if (m->cfg.tokenizer == TOK_GPT2) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/gpt2", MODELS_DIR());
        GrErr ignore;
        if (tok_init_gpt2(&t, dir, &ignore)) {
            tok_init_byte(&t, m->cfg.vocab);
            note = "note: GPT-2 tokenizer files not found (run 'make gpt2-tokenizer'); using bytes (ids 0-255)\n";
        }
    } else {
        tok_init_byte(&t, m->cfg.vocab);
    }
    drop_trace(s);
    model_free(s->m);
    tok_free(&s->tok);
    s->m = m;
    s->tok = t;
    s->tok.vocab = m->cfg.vocab;
    s->nabl = 0;
    s->clean_loss = NAN;
    free(s->run_text);
    s->run_text = NULL;
    snprintf(s->model_name, sizeof s->model_name, "%s", name);
    if (note) sb_puts(&s->out, note);
    return 0;
}

/* Loss of the last run's tokens with no ablation: a second forward pass over the same
 * tokens, so the comparison is always like for like. */
static float clean_loss_now(Session *s)
{
    if (!s->trace) return NAN;
    if (!s->nabl) return s->trace->loss;
    GrErr e;
    Acts *a = acts_new(s->m, 1, s->trace->T, &e);
    if (!a) return NAN;
    float loss = NAN;
    if (acts_set_tokens(s->m, a, s->trace->tokens_host, NULL, &e) == 0 && acts_run(a, &e) == 0) loss = a->loss;
    acts_free(s->m, a);
    return loss;
}

/* ---------------- tensor lookup (for eval, check, show, hist …) ---------------- */

static float g_scalar[16];
static int g_nscalar;

static TensorView scalar_view(float v)
{
    float *p = &g_scalar[g_nscalar++ % 16];
    *p = v;
    return tv_make(p, 0, NULL);
}

/* Host view of a trace entry (batch row 0). */
static int trace_view(Session *s, const TraceEntry *t, TensorView *out, GrErr *e)
{
    const float *data = t->data;
    if (s->m->be != &backend_cpu) {
        static float *mirror;
        static size_t cap;
        if (cap < t->per_batch) {
            float *nm = realloc(mirror, t->per_batch * sizeof(float));
            if (!nm) return gr_fail(e, "out of memory reading '%s'", t->name);
            mirror = nm;
            cap = t->per_batch;
        }
        s->m->be->download(mirror, t->data, t->per_batch * sizeof(float));
        data = mirror;
    }
    *out = tv_make(data, t->ndim, t->shape);
    for (int i = 0; i < t->ndim; i++) out->dimname[i] = t->dimname[i];
    return 0;
}

static int stage_done(Session *s, const char *name)
{
    if (!s->trace) return 1;
    const TraceEntry *t = acts_find(s->trace, name);
    return !t || acts_computed(s->trace, t);
}

static int lookup(void *ctx, const char *name, TensorView *out, GrErr *e)
{
    Session *s = ctx;
    if (!s->m) return gr_fail(e, "no model loaded");
    const GptConfig *c = &s->m->cfg;
    if (!strcmp(name, "V")) { *out = scalar_view((float)c->vocab); return 0; }
    if (!strcmp(name, "C") || !strcmp(name, "d")) { *out = scalar_view((float)c->d); return 0; }
    if (!strcmp(name, "H")) { *out = scalar_view((float)c->n_head); return 0; }
    if (!strcmp(name, "L")) { *out = scalar_view((float)c->n_layer); return 0; }
    if (!strcmp(name, "ctx")) { *out = scalar_view((float)c->ctx); return 0; }
    if (!strcmp(name, "step")) { *out = scalar_view((float)s->m->step); return 0; }
    if (!strcmp(name, "params")) { *out = scalar_view((float)s->m->total); return 0; }
    if (!strcmp(name, "T")) {
        if (!s->trace) return gr_fail(e, "T is unknown: nothing has run yet");
        *out = scalar_view((float)s->trace->T);
        return 0;
    }
    if (!strcmp(name, "loss")) {
        if (!s->trace || isnan(s->trace->loss))
            return gr_fail(e, s->nloss ? "no loss yet: 'run' a text of at least two tokens first (after training: "
                                         "train_loss and val_loss)"
                                       : "no loss yet: 'run' a text of at least two tokens first");
        *out = scalar_view(s->trace->loss);
        return 0;
    }
    if (!strcmp(name, "clean_loss")) {
        float cl = clean_loss_now(s);
        if (isnan(cl)) return gr_fail(e, "no clean loss: 'run' a text of at least two tokens first");
        *out = scalar_view(cl);
        return 0;
    }
    if (!strcmp(name, "val_loss")) {
        if (!s->nval) return gr_fail(e, "no validation loss yet: train first");
        *out = scalar_view(s->val_curve[s->nval - 1]);
        return 0;
    }
    if (!strcmp(name, "train_loss")) {
        if (!s->nloss) return gr_fail(e, "no training loss yet: train first");
        *out = scalar_view(s->loss_curve[s->nloss - 1]);
        return 0;
    }
    if (!strcmp(name, "ids") || !strcmp(name, "generated")) {
        int gen = name[0] == 'g';
        static float *buf;
        static int cap;
        int n = gen ? s->ngen : (s->trace ? s->trace->T : 0);
        if (!n) return gr_fail(e, gen ? "nothing generated yet: 'generate N' first" : "no token ids yet: 'run' a text first");
        if (cap < n) {
            float *nb = realloc(buf, sizeof(float) * (size_t)n);
            if (!nb) return gr_fail(e, "out of memory");
            buf = nb;
            cap = n;
        }
        for (int i = 0; i < n; i++) buf[i] = (float)(gen ? s->gen_ids[i] : s->trace->tokens_host[i]);
        int sh[1] = {n};
        *out = tv_make(buf, 1, sh);
        out->dimname[0] = 't';
        return 0;
    }
    if (!strcmp(name, "loss_curve")) {
        if (!s->nloss) return gr_fail(e, "no loss curve yet: train first");
        int sh[1] = {s->nloss};
        *out = tv_make(s->loss_curve, 1, sh);
        return 0;
    }
    if (s->trace) {
        const TraceEntry *t = acts_find(s->trace, name);
        if (t) {
            if (!stage_done(s, name)) return gr_fail(e, "'%s' has not been computed yet: 'step' further or 'continue'", name);
            return trace_view(s, t, out, e);
        }
    }
    if (model_find_param(s->m, name)) return model_param_view(s->m, name, out, e);
    /* A helpful message: is it a trace name that needs a run, or a layer out of range? */
    if (name[0] == 'L' && isdigit((unsigned char)name[1])) {
        int l = atoi(name + 1);
        if (l >= c->n_layer)
            return gr_fail(e, "unknown tensor '%s' (the model has %d layer%s: L0..L%d)", name, c->n_layer,
                           c->n_layer == 1 ? "" : "s", c->n_layer - 1);
    }
    if (!s->trace) return gr_fail(e, "unknown tensor '%s' (nothing has run yet; parameters are wte, L0.attn.qkv.w, ...)", name);
    return gr_fail(e, "unknown tensor '%s' (see 'where' for trace names, 'params' for parameters)", name);
}

/* NAME or NAME[slice] → view. */
static int resolve(Session *s, const char *spec, TensorView *out, char *label, size_t lablen, GrErr *e)
{
    char name[128];
    if (!spec) return gr_fail(e, "expected a tensor name");
    const char *br = strchr(spec, '[');
    size_t n = br ? (size_t)(br - spec) : strlen(spec);
    if (n >= sizeof name) return gr_fail(e, "name too long: %.40s...", spec);
    memcpy(name, spec, n);
    name[n] = 0;
    TensorView v;
    if (lookup(s, name, &v, e)) return -1;
    if (br) {
        const char *end = strrchr(br, ']');
        if (!end || end[1]) return gr_fail(e, "bad slice in '%s': expected NAME[...]", spec);
        char sl[128];
        size_t k = (size_t)(end - br - 1);
        if (k >= sizeof sl) return gr_fail(e, "slice too long");
        memcpy(sl, br + 1, k);
        sl[k] = 0;
        if (tv_slice(&v, sl, out, e)) return -1;
    } else *out = v;
    if (label) snprintf(label, lablen, "%s", spec);
    return 0;
}

/* Labels of the last run's tokens. Caller frees with free_labels. */
static char **token_labels(Session *s, int n)
{
    char **l = calloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        StrBuf b;
        sb_init(&b);
        tok_piece(&s->tok, s->trace->tokens_host[i], &b);
        l[i] = b.s ? b.s : strdup("");
    }
    return l;
}
static void free_labels(char **l, int n)
{
    if (!l) return;
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* ---------------- model lifecycle ---------------- */

static int cmd_new(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    GptConfig c;
    if (cfg_preset(&c, argv[1], e)) return CMD_ERR;
    char *chars_file = NULL;
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) { free(chars_file); return gr_fail(e, "expected key=value, got '%s'", argv[i]), CMD_ERR; }
        *eq = 0;
        if (!strcmp(argv[i], "vocab") && !strncmp(eq + 1, "chars:", 6)) {
            free(chars_file);
            chars_file = strdup(eq + 7);
            c.tokenizer = TOK_CHAR;
            continue;
        }
        if (cfg_set(&c, argv[i], eq + 1, e)) { free(chars_file); return CMD_ERR; }
    }
    char *chars = NULL;
    if (chars_file) {
        FILE *f = fopen(chars_file, "rb");
        if (!f) {
            gr_fail(e, "cannot open %s: %s", chars_file, strerror(errno));
            free(chars_file);
            return CMD_ERR;
        }
        StrBuf b;
        sb_init(&b);
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(&b, buf, k);
        fclose(f);
        Tokenizer t;
        int rc = tok_build_chars(&t, b.s ? b.s : "", b.len, e);
        sb_free(&b);
        free(chars_file);
        if (rc) return CMD_ERR;
        chars = tok_chars_utf8(&t);
        c.vocab = t.nchars;
        tok_free(&t);
    } else if (c.tokenizer == TOK_CHAR) {
        c.vocab = 96;
    }
    if (cfg_validate(&c, e)) { free(chars); return CMD_ERR; }
    Model *m = model_new(&c, s->m ? s->m->be : &backend_cpu, e);
    if (!m) { free(chars); return CMD_ERR; }
    model_init_random(m, s->seed);
    int rc = adopt_model(s, m, chars, c.preset, e);
    free(chars);
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "new %s: %d layer%s, %d head%s, d %d, ctx %d, vocab %d (%s) — %zu parameters, seed %llu\n",
              c.preset, c.n_layer, c.n_layer == 1 ? "" : "s", c.n_head, c.n_head == 1 ? "" : "s", c.d, c.ctx, c.vocab,
              tok_kind_name(&s->tok), s->m->total, (unsigned long long)s->seed);
    return CMD_OK;
}

static int cmd_load(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    const char *path = argv[1];
    char buf[1024];
    struct stat sb;
    if (stat(path, &sb) != 0 && !strchr(path, '/')) {
        /* A bare name: look in $GPTREPL_MODELS, then models/. */
        const char *dirs[2] = {getenv("GPTREPL_MODELS"), "models"};
        for (int d = 0; d < 2 && path == argv[1]; d++) {
            if (!dirs[d] || !*dirs[d]) continue;
            snprintf(buf, sizeof buf, "%s/%s.safetensors", dirs[d], argv[1]);
            if (stat(buf, &sb) == 0) { path = buf; break; }
            snprintf(buf, sizeof buf, "%s/%s/model.safetensors", dirs[d], argv[1]);
            if (stat(buf, &sb) == 0) { path = buf; break; }
        }
    }
    if (path == argv[1] && !strncmp(argv[1], "gpt2", 4) && !strchr(argv[1], '.'))
        return gr_fail(e, "%s weights not found: looked for %s/%s/model.safetensors and %s/%s.safetensors. Download "
                          "model.safetensors (and config.json) from https://huggingface.co/openai-community/%s into %s/%s/ "
                          "(or set GPTREPL_MODELS), then 'load %s'; 'make gpt2-tokenizer' fetches its tokenizer",
                       argv[1], MODELS_DIR(), argv[1], MODELS_DIR(), argv[1], argv[1], MODELS_DIR(), argv[1], argv[1]),
               CMD_ERR;
    CkptExtra ex = {0};
    Model *m = ckpt_load(path, s->m ? s->m->be : &backend_cpu, &ex, e);
    if (!m) return CMD_ERR;
    int rc = adopt_model(s, m, ex.chars, path, e);
    free(ex.chars);
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "loaded %s: %d layers, %d heads, d %d, ctx %d, vocab %d (%s), step %ld\n", path,
              m->cfg.n_layer, m->cfg.n_head, m->cfg.d, m->cfg.ctx, m->cfg.vocab, tok_kind_name(&s->tok), m->step);
    return CMD_OK;
}

static int cmd_save(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const char *path = pos_arg(argc, argv, 1), *fmt = opt(argc, argv, "--format");
    if (fmt && strcmp(fmt, "llmc") && strcmp(fmt, "safetensors"))
        return gr_fail(e, "save: --format takes safetensors or llmc, not '%s'", fmt), CMD_ERR;
    if ((fmt && !strcmp(fmt, "llmc")) || (!fmt && strlen(path) > 4 && !strcmp(path + strlen(path) - 4, ".bin"))) {
        if (llmc_save(s->m, path, e)) return CMD_ERR;
        sb_printf(&s->out, "saved %s (llm.c format, %zu parameters)\n", path, s->m->total);
        return CMD_OK;
    }
    char *chars = tok_chars_utf8(&s->tok);
    int rc = ckpt_save(s->m, chars, path, e);
    free(chars);
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "saved %s (%zu parameters%s)\n", path, s->m->total, s->m->m ? " + optimizer state" : "");
    return CMD_OK;
}

/* ---------------- inspecting the model ---------------- */

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

static int cmd_model(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const GptConfig *c = &s->m->cfg;
    StrBuf *o = &s->out;
    char cnt[32];
    fmt_count(cnt, sizeof cnt, s->m->total);
    int C = c->d, H = c->n_head;
    sb_printf(o, "model %s on %s\n", s->model_name, s->m->be->name);
    sb_printf(o, "  layers %d  heads %d  d %d (head dim %d)  ctx %d  vocab %d  tokenizer %s\n", c->n_layer, H, C, C / H,
              c->ctx, c->vocab, tok_kind_name(&s->tok));
    sb_printf(o, "  norm %s  tie %s  act %s  pos %s  mlp %s  logit_scale %s\n", c->post_norm ? "post" : "pre",
              c->tie ? "on" : "off", c->relu ? "relu" : "gelu", c->pos ? "learned" : "none", c->mlp ? "on" : "off",
              c->logit_scale ? "on" : "off");
    sb_printf(o, "  parameters %s (%.1f MB fp32), step %ld\n", cnt, s->m->total * 4.0 / 1e6, s->m->step);
    int T = s->trace ? s->trace->T : 0;
    const char *Ts = "T";
    sb_puts(o, "\n  tokens (T)\n");
    sb_printf(o, "  │ embed       wte[tok]%s               → (%s, %d)\n", c->pos ? " + wpe[pos]" : "          ", Ts, C);
    sb_printf(o, "  ├─ block × %d (%s-LN)\n", c->n_layer, c->post_norm ? "Post" : "Pre");
    if (!c->post_norm) sb_printf(o, "  │   ln1       LayerNorm                          → (%s, %d)\n", Ts, C);
    sb_printf(o, "  │   q k v     x·Wqkvᵀ + b, split into %d head%s%*s → 3 × (%d, %s, %d)\n", H, H == 1 ? "" : "s",
              H == 1 ? 5 : 4 - (H >= 10), "", H, Ts, C / H);
    sb_printf(o, "  │   scores    q·kᵀ                               → (%d, %s, %s)\n", H, Ts, Ts);
    sb_printf(o, "  │   masked    scores/√%d, future = -inf           → (%d, %s, %s)\n", C / H, H, Ts, Ts);
    sb_printf(o, "  │   pattern   softmax over each row              → (%d, %s, %s)\n", H, Ts, Ts);
    sb_printf(o, "  │   ctx       pattern·v, heads side by side      → (%s, %d)\n", Ts, C);
    sb_printf(o, "  │   attn      ctx·Wprojᵀ + b                     → (%s, %d)\n", Ts, C);
    sb_printf(o, "  │   resid_mid x + attn                           → (%s, %d)\n", Ts, C);
    if (c->post_norm) sb_printf(o, "  │   ln1       LayerNorm                          → (%s, %d)\n", Ts, C);
    if (c->mlp) {
        if (!c->post_norm) sb_printf(o, "  │   ln2       LayerNorm                          → (%s, %d)\n", Ts, C);
        sb_printf(o, "  │   fc        ·Wfcᵀ + b                          → (%s, %d)\n", Ts, 4 * C);
        sb_printf(o, "  │   %-9s %-34s → (%s, %d)\n", c->relu ? "relu" : "gelu", c->relu ? "max(0, x)" : "GELU (tanh form)", Ts, 4 * C);
        sb_printf(o, "  │   mlp       ·Wprojᵀ + b                        → (%s, %d)\n", Ts, C);
        sb_printf(o, "  │   resid     + mlp                              → (%s, %d)\n", Ts, C);
        if (c->post_norm) sb_printf(o, "  │   ln2       LayerNorm                          → (%s, %d)\n", Ts, C);
    }
    if (!c->post_norm) sb_printf(o, "  │ lnf         LayerNorm                          → (%s, %d)\n", Ts, C);
    sb_printf(o, "  │ logits      h·%-9s%-5s                    → (%s, %d)\n", c->tie ? "wteᵀ" : "lm_head.wᵀ",
              c->logit_scale ? " / √d" : "", Ts, c->vocab);
    sb_printf(o, "  └ probs       softmax                            → (%s, %d)\n", Ts, c->vocab);
    if (T) sb_printf(o, "\n  last run: T = %d, trace memory %.2f MB\n", T, s->trace->bytes / 1e6);
    else sb_printf(o, "\n  trace memory grows with the input: %.2f MB at T = %d\n", acts_bytes(c, 1, c->ctx) / 1e6, c->ctx);
    return CMD_OK;
}

static int cmd_params(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    const char *by = opt(argc, argv, "--by");
    if (by && strcmp(by, "group") && strcmp(by, "layer"))
        return gr_fail(e, "params: --by takes group or layer, not '%s'", by), CMD_ERR;
    Model *m = s->m;
    size_t g[PG_COUNT] = {0};
    for (int i = 0; i < m->nparams; i++) g[m->info[i].group] += m->info[i].numel;
    size_t total = m->total;
    char a[32];
    static const char *names[PG_COUNT] = {"embeddings", "attention", "MLP", "LayerNorm", "unembedding"};
    if (by && !strcmp(by, "layer")) {
        sb_puts(&s->out, "  name                       shape           count\n");
        for (int i = 0; i < m->nparams; i++) {
            const ParamInfo *p = &m->info[i];
            char shp[32];
            if (p->ndim == 2) snprintf(shp, sizeof shp, "(%d, %d)", p->shape[0], p->shape[1]);
            else snprintf(shp, sizeof shp, "(%d)", p->shape[0]);
            fmt_count(a, sizeof a, p->numel);
            sb_printf(&s->out, "  %-26s %-15s %13s\n", p->name, shp, a);
        }
    }
    fmt_count(a, sizeof a, total);
    sb_printf(&s->out, "total        %15s\n", a);
    for (int i = 0; i < PG_COUNT; i++) {
        if (!g[i] && i == PG_HEAD) continue;
        fmt_count(a, sizeof a, g[i]);
        sb_printf(&s->out, "%-12s %15s  %5.1f%%\n", names[i], a, 100.0 * g[i] / total);
    }
    size_t VC = (size_t)m->cfg.vocab * m->cfg.d;
    if (m->cfg.tie) {
        fmt_count(a, sizeof a, total + VC);
        sb_printf(&s->out, "tied: the unembedding reuses wte. Untied it would be %s: tying saves %.1f%%\n", a,
                  100.0 * VC / (total + VC));
    } else {
        fmt_count(a, sizeof a, total - VC);
        sb_printf(&s->out, "untied: lm_head.w is separate. Tied it would be %s (saves %.1f%%)\n", a, 100.0 * VC / total);
    }
    return CMD_OK;
}

static int cmd_seed(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    long v;
    if (parse_long("seed", argv[1], 0, 0x7fffffffffffffffL, &v, e)) return CMD_ERR;
    s->seed = (uint64_t)v;
    rng_seed(&s->rng, s->seed);
    return CMD_OK;
}

static int cmd_set(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (argc < 3) {
        sb_printf(&s->out, "temperature %g\ntop_k %d\ntop_p %g\ncolor %s\nwidth %d\nseed %llu\n", s->samp.temperature,
                  s->samp.top_k, s->samp.top_p, viz_color_name(s->color), s->width, (unsigned long long)s->seed);
        return CMD_OK;
    }
    const char *k = argv[1], *v = argv[2];
    double d;
    long l;
    if (!strcmp(k, "temperature")) {
        if (parse_double(k, v, 0, 1000, &d, e)) return CMD_ERR;
        s->samp.temperature = (float)d;
    } else if (!strcmp(k, "top_k")) {
        if (parse_long(k, v, 0, 1 << 24, &l, e)) return CMD_ERR;
        s->samp.top_k = (int)l;
    } else if (!strcmp(k, "top_p")) {
        if (parse_double(k, v, 0, 1, &d, e)) return CMD_ERR;
        if (d <= 0) return gr_fail(e, "top_p must be above 0"), CMD_ERR;
        s->samp.top_p = (float)d;
    } else if (!strcmp(k, "color")) {
        VizColor c;
        if (!strcmp(v, "auto")) c = viz_color_detect(s->is_tty);
        else if (viz_color_parse(v, &c, e)) return CMD_ERR;
        s->color = c;
    } else if (!strcmp(k, "width")) {
        if (parse_long(k, v, 20, 1000, &l, e)) return CMD_ERR;
        s->width = (int)l;
    } else {
        return gr_fail(e, "set: unknown setting '%s' (temperature, top_k, top_p, color, width)", k), CMD_ERR;
    }
    return CMD_OK;
}

/* ---------------- tokens and runs ---------------- */

static int read_file(const char *path, char **out, size_t *n, GrErr *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return gr_fail(e, "cannot open %s: %s", path, strerror(errno));
    StrBuf b;
    sb_init(&b);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(&b, buf, k);
    fclose(f);
    if (!b.s) sb_puts(&b, "");
    *out = b.s;
    *n = b.len;
    return 0;
}

static int cmd_tokens(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    int ids_only = 0;
    const char *file = NULL;
    const char *p = rest;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (!strncmp(p, "--ids", 5) && (isspace((unsigned char)p[5]) || !p[5])) { ids_only = 1; p += 5; continue; }
        if (!strncmp(p, "--file", 6) && isspace((unsigned char)p[6])) {
            file = opt(argc, argv, "--file");
            break;
        }
        break;
    }
    char *text;
    size_t n;
    if (file) {
        if (read_file(file, &text, &n, e)) return CMD_ERR;
    } else {
        if (!*p) return gr_fail(e, "tokens: give a TEXT or --file PATH (usage: tokens [--ids] TEXT | --file PATH)"), CMD_ERR;
        text = text_arg(p);
        n = strlen(text);
    }
    int *ids;
    size_t nids;
    if (tok_encode(&s->tok, text, n, &ids, &nids, e)) { free(text); return CMD_ERR; }
    if (ids_only) {
        for (size_t i = 0; i < nids; i++) sb_printf(&s->out, "%s%d", i ? " " : "", ids[i]);
        sb_putc(&s->out, '\n');
    } else {
        sb_printf(&s->out, "%zu tokens (%s)\n", nids, tok_kind_name(&s->tok));
        for (size_t i = 0; i < nids; i++) {
            StrBuf b;
            sb_init(&b);
            tok_piece(&s->tok, ids[i], &b);
            sb_printf(&s->out, "  %3zu  %6d  '%s'\n", i, ids[i], b.s ? b.s : "");
            sb_free(&b);
        }
    }
    free(ids);
    free(text);
    return CMD_OK;
}

/* Encodes text, allocates a trace for it and prepares the stage list (nothing run yet). */
static int prepare_run(Session *s, const char *text, GrErr *e)
{
    int *ids;
    size_t n;
    if (tok_encode(&s->tok, text, strlen(text), &ids, &n, e)) return -1;
    if (n == 0) { free(ids); return gr_fail(e, "run: the text is empty"); }
    if ((int)n > s->m->cfg.ctx) {
        free(ids);
        return gr_fail(e, "run: %zu tokens do not fit the model's context of %d", n, s->m->cfg.ctx);
    }
    Acts *a = acts_new(s->m, 1, (int)n, e);
    if (!a) { free(ids); return -1; }
    if (acts_set_tokens(s->m, a, ids, NULL, e)) { free(ids); acts_free(s->m, a); return -1; }
    free(ids);
    drop_trace(s);
    s->trace = a;
    s->trace->abl = s->abl;
    s->trace->nabl = s->nabl;
    free(s->run_text);
    s->run_text = strdup(text);
    return 0;
}

static void after_full_run(Session *s)
{
    if (s->nabl == 0) s->clean_loss = s->trace->loss;
}

static int cmd_run(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    char *text = text_arg(rest);
    double t0 = now_ms();
    int rc = prepare_run(s, text, e);
    free(text);
    if (rc) return CMD_ERR;
    if (acts_run(s->trace, e)) return CMD_ERR;
    s->m->be->sync();
    double ms = now_ms() - t0;
    after_full_run(s);
    Acts *a = s->trace;
    sb_printf(&s->out, "ran %d stages on %d tokens in %.1f ms", s->trace->nstages, a->T, ms);
    if (!isnan(a->loss))
        sb_printf(&s->out, "; loss %.4f (ln V = %.4f)", a->loss, log((double)s->m->cfg.vocab));
    if (s->nabl) sb_printf(&s->out, " [%d ablation%s active]", s->nabl, s->nabl > 1 ? "s" : "");
    sb_putc(&s->out, '\n');
    return CMD_OK;
}

/* Shows a view: shape, stats and the leading values. */
static void show_view(StrBuf *o, const char *label, const TensorView *v, int maxrows, int maxcols)
{
    char shp[64];
    tv_shape_str(v, shp, sizeof shp);
    TvStats st = tv_stats(v);
    sb_printf(o, "%s %s  mean %.6g  std %.6g  min %.6g  max %.6g", label, shp, st.mean, st.std, st.min, st.max);
    if (st.nan_count || st.inf_count) sb_printf(o, "  (%zu nan, %zu inf)", st.nan_count, st.inf_count);
    sb_putc(o, '\n');
    if (v->ndim == 0) {
        sb_printf(o, "  %.6g\n", v->data[0]);
        return;
    }
    int rows = 1, cols = v->shape[v->ndim - 1];
    for (int i = 0; i < v->ndim - 1; i++) rows *= v->shape[i];
    for (int r = 0; r < rows && r < maxrows; r++) {
        sb_puts(o, "  ");
        for (int c = 0; c < cols && c < maxcols; c++) {
            float x = tv_get(v, (size_t)r * cols + c);
            if (isinf(x)) sb_printf(o, " %9s", x < 0 ? "-inf" : "inf");
            else sb_printf(o, " % 9.4f", x);
        }
        if (cols > maxcols) sb_printf(o, "  … (%d more)", cols - maxcols);
        sb_putc(o, '\n');
    }
    if (rows > maxrows) sb_printf(o, "  … (%d more rows)\n", rows - maxrows);
}

static int cmd_show(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    TensorView v;
    char label[160];
    if (resolve(s, argv[1], &v, label, sizeof label, e)) return CMD_ERR;
    show_view(&s->out, label, &v, 8, 8);
    return CMD_OK;
}

static int cmd_eval(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    ExprValue v;
    if (expr_eval(rest, lookup, s, &v, e)) return CMD_ERR;
    expr_format(&v, &s->out);
    if (s->out.len && s->out.s[s->out.len - 1] != '\n') sb_putc(&s->out, '\n');
    expr_value_free(&v);
    return CMD_OK;
}

static int cmd_check(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    ExprValue v;
    if (expr_eval(rest, lookup, s, &v, e)) return CMD_ERR;
    int ok = expr_truthy(&v);
    expr_value_free(&v);
    if (!ok) return gr_fail(e, "check failed: %s", rest), CMD_ERR;
    sb_printf(&s->out, "ok: %s\n", rest);
    return CMD_OK;
}

static int cmd_loss(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    float loss = s->trace->loss;
    if (isnan(loss)) return gr_fail(e, "loss: the last run has a single token, so nothing to predict"), CMD_ERR;
    double lnv = log((double)s->m->cfg.vocab);
    VizOpts o = vopts(s);
    sb_printf(&s->out, "loss %.4f over %d predictions   ln(V) = ln %d = %.4f   perplexity %.1f\n", loss,
              s->trace->n_targets, s->m->cfg.vocab, lnv, exp(loss));
    viz_gauge(&s->out, &o, "loss", loss, lnv, "ln V", fmax(lnv * 1.5, loss * 1.1));
    const char *verdict;
    double r = loss / lnv;
    if (fabs(loss - lnv) < 0.15 * lnv && r > 0.9)
        verdict = "≈ ln V: the model guesses uniformly over the vocabulary, as a random init should";
    else if (loss < lnv) verdict = "below ln V: the model has learned something about the text";
    else verdict = "above ln V: worse than uniform guessing — confidently wrong";
    sb_printf(&s->out, "verdict: %s\n", verdict);
    if (s->nabl) {
        float cl = clean_loss_now(s);
        sb_printf(&s->out, "ablated: %.4f vs clean %.4f on the same tokens (%+.4f)\n", loss, cl, loss - cl);
    }
    return CMD_OK;
}

static int cmd_logits(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    if (!stage_done(s, "logits")) return gr_fail(e, "logits have not been computed yet: 'continue' first"), CMD_ERR;
    int T = s->trace->T, V = s->m->cfg.vocab;
    long pos = T - 1, top = 10;
    const char *ps = pos_arg(argc, argv, 1);
    if (ps && parse_long("logits POS", ps, -T, T - 1, &pos, e)) return CMD_ERR;
    if (pos < 0) pos += T;
    const char *ts = opt(argc, argv, "--temp");
    const char *tops = opt(argc, argv, "--top");
    if (tops && parse_long("--top", tops, 1, 100, &top, e)) return CMD_ERR;
    double temps[8];
    int nt = 0;
    if (ts) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", ts);
        for (char *tk = strtok(buf, ","); tk; tk = strtok(NULL, ",")) {
            if (nt == 8) return gr_fail(e, "--temp: at most 8 temperatures"), CMD_ERR;
            if (parse_double("--temp", tk, 1e-6, 1e6, &temps[nt], e)) return CMD_ERR;
            nt++;
        }
    } else temps[nt++] = 1.0;
    TensorView lv;
    const TraceEntry *te = acts_find(s->trace, "logits");
    if (trace_view(s, te, &lv, e)) return CMD_ERR;
    const float *logits = lv.data + (size_t)pos * V;
    double *p = malloc(sizeof(double) * (size_t)V * nt);
    int *ids = malloc(sizeof(int) * (size_t)V);
    if (!p || !ids) { free(p); free(ids); return gr_fail(e, "out of memory for %d × %d probabilities", nt, V), CMD_ERR; }
    for (int i = 0; i < nt; i++) softmax_temp(logits, V, temps[i], p + (size_t)i * V);
    sample_filter(p, V, (int)top, 1.0f, ids); /* order by T = first temperature */
    StrBuf lab;
    sb_init(&lab);
    tok_piece(&s->tok, s->trace->tokens_host[pos], &lab);
    sb_printf(&s->out, "next-token distribution after position %ld ('%s'), top %ld of %d\n", pos, lab.s ? lab.s : "",
              top, V);
    sb_puts(&s->out, "  rank  token           logit");
    for (int i = 0; i < nt; i++) sb_printf(&s->out, "   T=%-6g", temps[i]);
    sb_putc(&s->out, '\n');
    for (long r = 0; r < top && r < V; r++) {
        int id = ids[r];
        sb_clear(&lab);
        tok_piece(&s->tok, id, &lab);
        char pad[64];
        snprintf(pad, sizeof pad, "'%s'", lab.s ? lab.s : "");
        int w = gr_utf8_width(pad, strlen(pad));
        sb_printf(&s->out, "  %4ld  %s%*s %8.3f", r + 1, pad, w < 14 ? 14 - w : 0, "", logits[id]);
        for (int i = 0; i < nt; i++) sb_printf(&s->out, "   %8.4f", p[(size_t)i * V + id]);
        sb_putc(&s->out, '\n');
    }
    sb_puts(&s->out, "  entropy (nats)              ");
    for (int i = 0; i < nt; i++) sb_printf(&s->out, "   %8.4f", entropy(p + (size_t)i * V, V));
    sb_printf(&s->out, "\n  (uniform would be ln V = %.4f)\n", log((double)V));
    if (nt >= 1 && s->color != VIZ_COLOR_NONE) {
        int nb = top < V ? (int)top : V;
        float *vals = malloc(sizeof(float) * nb);
        char **labels = calloc((size_t)nb, sizeof(char *));
        for (int r = 0; r < nb; r++) {
            vals[r] = (float)p[ids[r]];
            sb_clear(&lab);
            tok_piece(&s->tok, ids[r], &lab);
            labels[r] = strdup(lab.s ? lab.s : "");
        }
        VizOpts o = vopts(s);
        char title[96];
        snprintf(title, sizeof title, "p(next) at T=%g", temps[0]);
        viz_bars(&s->out, &o, title, (const char *const *)labels, vals, nb, e);
        for (int r = 0; r < nb; r++) free(labels[r]);
        free(labels);
        free(vals);
    }
    sb_free(&lab);
    free(ids);
    free(p);
    return CMD_OK;
}

/* ---------------- generation ---------------- */

static int cmd_generate(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    long n;
    if (parse_long("generate N", argv[1], 1, 100000, &n, e)) return CMD_ERR;
    SampleCfg c = s->samp;
    const char *v;
    double d;
    long l;
    if ((v = opt(argc, argv, "--temp"))) {
        if (parse_double("--temp", v, 0, 1000, &d, e)) return CMD_ERR;
        c.temperature = (float)d;
    }
    if ((v = opt(argc, argv, "--top-k"))) {
        if (parse_long("--top-k", v, 0, 1 << 24, &l, e)) return CMD_ERR;
        c.top_k = (int)l;
    }
    if ((v = opt(argc, argv, "--top-p"))) {
        if (parse_double("--top-p", v, 1e-6, 1, &d, e)) return CMD_ERR;
        c.top_p = (float)d;
    }
    if (flag(argc, argv, "--greedy")) c.greedy = 1;
    int nocache = flag(argc, argv, "--nocache");
    /* Prompt: the text after N (quoted), else the last run's text. */
    const char *prompt = pos_arg(argc, argv, 2);
    char *text = strdup(prompt ? prompt : s->run_text ? s->run_text : "");
    int *ids = NULL;
    size_t nids = 0;
    if (tok_encode(&s->tok, text, strlen(text), &ids, &nids, e)) { free(text); return CMD_ERR; }
    free(text);
    if (nids == 0) {
        free(ids);
        ids = malloc(sizeof(int));
        if (!ids) return gr_fail(e, "out of memory"), CMD_ERR;
        ids[0] = s->tok.kind == TOK_GPT2 ? 50256 : s->tok.kind == TOK_CHAR ? 0 : '\n' % s->m->cfg.vocab;
        nids = 1;
    }
    KVCache *kv = kv_new(s->m, s->abl, s->nabl, e);
    if (!kv) { free(ids); return CMD_ERR; }
    int V = s->m->cfg.vocab;
    float *logits = malloc(sizeof(float) * V);
    double *p = malloc(sizeof(double) * V);
    int *scratch = malloc(sizeof(int) * V);
    if (!logits || !p || !scratch) {
        free(logits); free(p); free(scratch); free(ids);
        kv_free(s->m, kv);
        return gr_fail(e, "out of memory for a vocabulary of %d", V), CMD_ERR;
    }
    double t0 = now_ms();
    for (size_t i = 0; i < nids; i++) kv_forward(s->m, kv, ids[i], logits, e);
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
    /* Without the cache every token re-runs the whole window: the same tokens, O(T²) work. */
    int *window = NULL, wlen = 0;
    if (nocache) {
        window = malloc(sizeof(int) * (size_t)s->m->cfg.ctx);
        for (size_t i = nids > (size_t)s->m->cfg.ctx ? nids - s->m->cfg.ctx : 0; i < nids; i++) window[wlen++] = ids[i];
    }
    s->ngen = 0;
    for (long i = 0; i < n && !g_interrupted; i++) {
        int next = sample_token(logits, V, &c, &s->rng, p, scratch);
        tok_decode(&s->tok, &next, 1, &s->out);
        if (s->flush) s->flush(s);
        if (s->ngen == s->gen_cap) {
            s->gen_cap = s->gen_cap ? 2 * s->gen_cap : 256;
            s->gen_ids = realloc(s->gen_ids, sizeof(int) * (size_t)s->gen_cap);
        }
        s->gen_ids[s->ngen++] = next;
        made++;
        if (i + 1 == n) break;
        if (nocache) {
            if (wlen == s->m->cfg.ctx) {
                /* Same sliding rule as the cache: keep the last half of the window. */
                int keep = s->m->cfg.ctx / 2;
                memmove(window, window + wlen - keep, sizeof(int) * (size_t)keep);
                wlen = keep;
            }
            window[wlen++] = next;
            nocache_forward(s->m, s->abl, s->nabl, window, wlen, logits, e);
        } else {
            kv_forward(s->m, kv, next, logits, e);
        }
    }
    free(window);
    double t2 = now_ms();
    sb_printf(&s->out, "\n[%ld tokens in %.0f ms: %.1f tokens/s%s; prompt %zu tokens in %.0f ms%s%s]\n", made, t2 - t1,
              made / ((t2 - t1) / 1e3), nocache ? " without the KV cache" : "", nids, t1 - t0,
              kv->slides ? "; context window slid" : "", g_interrupted ? "; interrupted" : "");
    g_interrupted = 0;
    free(logits);
    free(p);
    free(scratch);
    free(ids);
    kv_free(s->m, kv);
    return CMD_OK;
}

/* ---------------- stepping ---------------- */

static void show_stage_result(Session *s, int idx)
{
    Stage *st = &s->trace->stages[idx];
    sb_printf(&s->out, "[%d/%d] %s\n", idx + 1, s->trace->nstages, st->name);
    if (!strcmp(st->name, "loss")) {
        if (!isnan(s->trace->loss))
            sb_printf(&s->out, "  loss %.4f   ln(V) %.4f\n", s->trace->loss, log((double)s->m->cfg.vocab));
        return;
    }
    const TraceEntry *outs[4];
    int nout = acts_stage_outputs(s->trace, idx, outs, 4);
    for (int j = 0; j < nout; j++) {
        const TraceEntry *t = outs[j];
        TensorView v;
        GrErr e;
        if (!t || trace_view(s, t, &v, &e)) continue;
        StrBuf tmp;
        sb_init(&tmp);
        show_view(&tmp, t->name, &v, 4, 6);
        sb_puts(&s->out, tmp.s);
        sb_free(&tmp);
    }
    /* A small picture where one fits: the attention pattern of head 0. */
    if (strstr(st->name, ".pattern") && s->trace->T <= 32) {
        const TraceEntry *t = nout ? outs[0] : NULL;
        TensorView v;
        GrErr e;
        if (t && !trace_view(s, t, &v, &e)) {
            int T = s->trace->T;
            char **lab = token_labels(s, T);
            VizOpts o = vopts(s);
            viz_heatmap(&s->out, &o, "head 0", v.data, T, T, (const char *const *)lab, (const char *const *)lab, 1, &e);
            free_labels(lab, T);
        }
    }
}

static int cmd_step(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    if (rest && *rest) {
        /* `step TEXT` starts a new stepped run. */
        char *text = text_arg(rest);
        int rc = prepare_run(s, text, e);
        free(text);
        if (rc) return CMD_ERR;
        sb_printf(&s->out, "prepared %d stages over %d tokens; 'step' runs the next one\n", s->trace->nstages, s->trace->T);
        return CMD_OK;
    }
    if (!s->trace) {
        if (!s->run_text) return gr_fail(e, "step: nothing to step through; 'step \"some text\"' starts"), CMD_ERR;
        /* The trace was dropped (a failed 'device' move): start the last text over. */
        char *text = strdup(s->run_text);
        int rc = text ? prepare_run(s, text, e) : gr_fail(e, "out of memory");
        free(text);
        if (rc) return CMD_ERR;
    }
    if (s->trace->next >= s->trace->nstages) return gr_fail(e, "step: the forward pass is complete ('reset' to start over)"), CMD_ERR;
    int idx = acts_step(s->trace);
    if (s->trace->next == s->trace->nstages) after_full_run(s);
    show_stage_result(s, idx);
    return CMD_OK;
}

static int cmd_next(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    if (s->trace->next >= s->trace->nstages) return gr_fail(e, "next: the forward pass is complete ('reset' to start over)"), CMD_ERR;
    int layer = s->trace->stages[s->trace->next].layer, idx = -1;
    /* To the end of the current block (or the next stage outside blocks). */
    do {
        idx = acts_step(s->trace);
    } while (s->trace->next < s->trace->nstages && layer >= 0 && s->trace->stages[s->trace->next].layer == layer);
    if (s->trace->next == s->trace->nstages) after_full_run(s);
    show_stage_result(s, idx);
    return CMD_OK;
}

static int cmd_continue(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    int n = 0;
    while (acts_step(s->trace) >= 0) n++;
    after_full_run(s);
    sb_printf(&s->out, "ran %d remaining stage%s", n, n == 1 ? "" : "s");
    if (!isnan(s->trace->loss)) sb_printf(&s->out, "; loss %.4f", s->trace->loss);
    sb_putc(&s->out, '\n');
    return CMD_OK;
}

static int cmd_where(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    for (int i = 0; i < s->trace->nstages; i++) {
        const Stage *st = &s->trace->stages[i];
        sb_printf(&s->out, "%s %3d %-14s", i == s->trace->next ? "→" : i < s->trace->next ? "✓" : " ", i + 1, st->name);
        const TraceEntry *outs[4];
        int nout = acts_stage_outputs(s->trace, i, outs, 4);
        for (int j = 0; j < nout; j++) sb_printf(&s->out, " %s", outs[j]->name);
        sb_putc(&s->out, '\n');
    }
    if (s->trace->next >= s->trace->nstages) sb_puts(&s->out, "  (complete)\n");
    return CMD_OK;
}

static int cmd_reset(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    if (!s->run_text) return gr_fail(e, "reset: nothing to start over"), CMD_ERR;
    char *text = strdup(s->run_text);
    int rc = prepare_run(s, text, e);
    free(text);
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "reset: %d stages ready over %d tokens\n", s->trace->nstages, s->trace->T);
    return CMD_OK;
}

/* ---------------- pictures ---------------- */

static int layer_head_args(Session *s, int argc, char **argv, long *layer, long *head, GrErr *e)
{
    const GptConfig *c = &s->m->cfg;
    if (parse_long("attn LAYER", pos_arg(argc, argv, 1), 0, c->n_layer - 1, layer, e)) return -1;
    const char *h = pos_arg(argc, argv, 2);
    *head = -1;
    if (h && strcmp(h, "all") && parse_long("attn HEAD", h, 0, c->n_head - 1, head, e)) return -1;
    return 0;
}

/* One layer's pattern (H, T, T) as H maps named "head h", for the side-by-side pictures
 * of `attn L all` and `export attn L all`. */
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

static int cmd_attn(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_run(s, e)) return CMD_ERR;
    long layer, head;
    if (layer_head_args(s, argc, argv, &layer, &head, e)) return CMD_ERR;
    char name[32];
    snprintf(name, sizeof name, "L%ld.pattern", layer);
    TensorView v;
    if (lookup(s, name, &v, e)) return CMD_ERR;
    int T = s->trace->T, H = s->m->cfg.n_head;
    char **lab = token_labels(s, T);
    VizOpts o = vopts(s);
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

static int cmd_hist(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    long bins = 20;
    const char *b = opt(argc, argv, "--bins");
    if (b && parse_long("--bins", b, 1, 200, &bins, e)) return CMD_ERR;
    TensorView v;
    char label[160];
    if (resolve(s, pos_arg(argc, argv, 1), &v, label, sizeof label, e)) return CMD_ERR;
    size_t n = tv_numel(&v);
    float *data = malloc(sizeof(float) * (n ? n : 1));
    if (!data) return gr_fail(e, "out of memory copying %zu values", n), CMD_ERR;
    tv_copy_out(&v, data);
    VizOpts o = vopts(s);
    int rc = viz_hist(&s->out, &o, label, data, n, (int)bins, e);
    free(data);
    return rc ? CMD_ERR : CMD_OK;
}

/* A 2-D view of NAME[slice] for heatmaps: 1-D becomes one row, >2-D is refused. */
static int view2d(Session *s, const char *spec, float **data, int *rows, int *cols, char *label, size_t ll, GrErr *e)
{
    TensorView v;
    if (resolve(s, spec, &v, label, ll, e)) return -1;
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

static int cmd_heatmap(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    float *d;
    int r, c;
    char label[160];
    if (view2d(s, argv[1], &d, &r, &c, label, sizeof label, e)) return CMD_ERR;
    VizOpts o = vopts(s);
    char **lab = NULL;
    int T = s->trace ? s->trace->T : 0;
    if (T && r == T && strncmp(argv[1], "w", 1)) lab = token_labels(s, T);
    int rc = viz_heatmap(&s->out, &o, label, d, r, c, (const char *const *)lab, NULL, 0, e);
    free_labels(lab, T);
    free(d);
    return rc ? CMD_ERR : CMD_OK;
}

static int parse_size(int argc, char **argv, int *w, int *h, GrErr *e)
{
    *w = 0;
    *h = 0;
    const char *sz = opt(argc, argv, "--size");
    if (!sz) return 0;
    int a, b;
    char x;
    if (sscanf(sz, "%d%c%d", &a, &x, &b) != 3 || (x != 'x' && x != 'X') || a < 64 || b < 64 || a > 8192 || b > 8192)
        return gr_fail(e, "--size: expected WxH between 64x64 and 8192x8192, got '%s'", sz);
    *w = a;
    *h = b;
    return 0;
}

static int cmd_export(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    int W, Hh;
    if (parse_size(argc, argv, &W, &Hh, e)) return CMD_ERR;
    const char *what = pos_arg(argc, argv, 1);
    /* The last positional word is the file. */
    int np = 0;
    while (pos_arg(argc, argv, np + 1)) np++;
    const char *file = pos_arg(argc, argv, np);
    if (np < 2 || !file || !strstr(file, ".png"))
        return gr_fail(e, "export: usage: export attn|hist|logits|loss|heatmap … FILE.png [--size WxH]"), CMD_ERR;
    int rc = -1;
    double t0 = now_ms();
    if (!strcmp(what, "attn")) {
        if (need_run(s, e)) return CMD_ERR;
        long layer, head = 0;
        const GptConfig *c = &s->m->cfg;
        if (np < 3) return gr_fail(e, "export attn LAYER [HEAD|all] FILE.png"), CMD_ERR;
        if (parse_long("export attn LAYER", pos_arg(argc, argv, 2), 0, c->n_layer - 1, &layer, e)) return CMD_ERR;
        const char *hs = np >= 4 ? pos_arg(argc, argv, 3) : "0";
        if (strcmp(hs, "all") && parse_long("export attn HEAD", hs, 0, c->n_head - 1, &head, e)) return CMD_ERR;
        if (!strcmp(hs, "all")) head = -1;
        char name[32], title[96];
        snprintf(name, sizeof name, "L%ld.pattern", layer);
        TensorView v;
        if (lookup(s, name, &v, e)) return CMD_ERR;
        int T = s->trace->T, H = c->n_head;
        char **lab = token_labels(s, T);
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
    } else if (!strcmp(what, "hist")) {
        long bins = 40;
        const char *b = opt(argc, argv, "--bins");
        if (b && parse_long("--bins", b, 1, 200, &bins, e)) return CMD_ERR;
        TensorView v;
        char label[160];
        if (np < 3 || resolve(s, pos_arg(argc, argv, 2), &v, label, sizeof label, e)) {
            if (np < 3) gr_fail(e, "export hist NAME FILE.png");
            return CMD_ERR;
        }
        size_t n = tv_numel(&v);
        float *data = malloc(sizeof(float) * (n ? n : 1));
        if (!data) return gr_fail(e, "out of memory copying %zu values", n), CMD_ERR;
        tv_copy_out(&v, data);
        char title[200];
        snprintf(title, sizeof title, "Histogram of %s", label);
        rc = viz_png_hist(file, W, Hh, title, data, n, (int)bins, e);
        free(data);
    } else if (!strcmp(what, "heatmap")) {
        float *d;
        int r, c;
        char label[160];
        if (np < 3) return gr_fail(e, "export heatmap NAME[slice] FILE.png"), CMD_ERR;
        if (view2d(s, pos_arg(argc, argv, 2), &d, &r, &c, label, sizeof label, e)) return CMD_ERR;
        int T = s->trace ? s->trace->T : 0;
        char **lab = (T && r == T) ? token_labels(s, T) : NULL;
        rc = viz_png_heatmap(file, W, Hh, label, d, r, c, (const char *const *)lab, NULL, 0, e);
        free_labels(lab, T);
        free(d);
    } else if (!strcmp(what, "logits")) {
        if (need_run(s, e) || !stage_done(s, "logits")) {
            if (s->trace) gr_fail(e, "export logits: run the forward pass to the logits first");
            return CMD_ERR;
        }
        int T = s->trace->T, V = s->m->cfg.vocab, top = 15;
        double temp = 1.0;
        const char *ts = opt(argc, argv, "--temp");
        if (ts && parse_double("--temp", ts, 1e-6, 1e6, &temp, e)) return CMD_ERR;
        TensorView lv;
        trace_view(s, acts_find(s->trace, "logits"), &lv, e);
        double *p = malloc(sizeof(double) * V);
        int *ids = malloc(sizeof(int) * V);
        if (!p || !ids) { free(p); free(ids); return gr_fail(e, "out of memory for a vocabulary of %d", V), CMD_ERR; }
        softmax_temp(lv.data + (size_t)(T - 1) * V, V, temp, p);
        sample_filter(p, V, top, 1.0f, ids);
        if (top > V) top = V;
        float vals[15];
        char *labels[15];
        for (int i = 0; i < top; i++) {
            vals[i] = (float)p[ids[i]];
            StrBuf b;
            sb_init(&b);
            tok_piece(&s->tok, ids[i], &b);
            labels[i] = b.s ? b.s : strdup("");
        }
        char title[96];
        snprintf(title, sizeof title, "Next-token probabilities (T = %g)", temp);
        rc = viz_png_bars(file, W, Hh, title, (const char *const *)labels, vals, top, e);
        for (int i = 0; i < top; i++) free(labels[i]);
        free(p);
        free(ids);
    } else if (!strcmp(what, "loss")) {
        if (!s->nloss) return gr_fail(e, "export loss: no loss curve yet (train first)"), CMD_ERR;
        rc = viz_png_line(file, W, Hh, "Training loss", "step", "loss", s->loss_curve, s->nloss,
                          log((double)s->m->cfg.vocab), e);
    } else {
        return gr_fail(e, "export: unknown picture '%s' (attn, hist, logits, loss, heatmap)", what), CMD_ERR;
    }
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "wrote %s (%.0f ms)\n", file, now_ms() - t0);
    return CMD_OK;
}

static int cmd_dump(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    TensorView v;
    char label[160];
    if (resolve(s, argv[1], &v, label, sizeof label, e)) return CMD_ERR;
    const char *path = argv[2];
    size_t n = tv_numel(&v);
    float *data = malloc(sizeof(float) * (n ? n : 1));
    if (!data) return gr_fail(e, "out of memory copying %zu values", n), CMD_ERR;
    tv_copy_out(&v, data);
    int rc;
    size_t len = strlen(path);
    if (len > 4 && !strcmp(path + len - 4, ".npy")) {
        /* NPY v1.0: magic, version, header length, a Python dict literal padded to 64 bytes. */
        char hdr[256], shape[128] = "";
        size_t k = 0;
        for (int i = 0; i < v.ndim; i++) k += (size_t)snprintf(shape + k, sizeof shape - k, "%d,%s", v.shape[i], v.ndim > 1 && i + 1 < v.ndim ? " " : "");
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
    } else if (len > 12 && !strcmp(path + len - 12, ".safetensors")) {
        StOut t = {.name = label, .dtype = ST_F32, .ndim = v.ndim, .data = data};
        for (int i = 0; i < v.ndim; i++) t.shape[i] = v.shape[i];
        rc = st_write(path, &t, 1, NULL, e);
    } else {
        free(data);
        return gr_fail(e, "dump: the file must end in .npy or .safetensors"), CMD_ERR;
    }
    free(data);
    if (rc) return CMD_ERR;
    sb_printf(&s->out, "wrote %s (%zu floats)\n", path, n);
    return CMD_OK;
}

/* ---------------- ablation ---------------- */

static int cmd_ablate(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    if (argc < 2) {
        if (!s->nabl) sb_puts(&s->out, "no ablations\n");
        for (int i = 0; i < s->nabl; i++) {
            static const char *modes[] = {"zero", "mean", "identity", "copy"};
            sb_printf(&s->out, "  %s %s%s%s\n", s->abl[i].target, modes[s->abl[i].mode], s->abl[i].mode == ABL_COPY ? ":" : "",
                      s->abl[i].mode == ABL_COPY ? s->abl[i].other : "");
        }
        return CMD_OK;
    }
    if (argc < 3) return gr_fail(e, "ablate: usage: ablate NAME zero|mean|identity|copy:OTHER"), CMD_ERR;
    if (s->nabl == MAX_ABL) return gr_fail(e, "ablate: at most %d ablations at once", MAX_ABL), CMD_ERR;
    Ablation ab;
    memset(&ab, 0, sizeof ab);
    if (strlen(argv[1]) >= sizeof ab.target) return gr_fail(e, "ablate: name too long"), CMD_ERR;
    strcpy(ab.target, argv[1]);
    const char *m = argv[2];
    if (!strcmp(m, "zero")) ab.mode = ABL_ZERO;
    else if (!strcmp(m, "mean")) ab.mode = ABL_MEAN;
    else if (!strcmp(m, "identity")) ab.mode = ABL_IDENTITY;
    else if (!strncmp(m, "copy:", 5) && strlen(m + 5) < sizeof ab.other) {
        ab.mode = ABL_COPY;
        strcpy(ab.other, m + 5);
    } else return gr_fail(e, "ablate: unknown mode '%s' (zero, mean, identity, copy:OTHER)", m), CMD_ERR;
    /* Validate against a trace of the model (the last run's, or a one-token dummy). */
    Acts *a = s->trace;
    Acts *tmp = NULL;
    if (!a) {
        tmp = acts_new(s->m, 1, 1, e);
        if (!tmp) return CMD_ERR;
        a = tmp;
    }
    int rc = acts_check_ablation(a, &ab, e);
    if (tmp) acts_free(s->m, tmp);
    if (rc) return CMD_ERR;
    s->abl[s->nabl++] = ab;
    if (s->trace) s->trace->nabl = s->nabl;
    sb_printf(&s->out, "ablating %s (%s); 'run' again to see the effect, 'loss' compares with the clean model\n",
              ab.target, m);
    return CMD_OK;
}

static int cmd_unablate(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    int n = s->nabl;
    s->nabl = 0;
    if (s->trace) s->trace->nabl = 0;
    sb_printf(&s->out, "removed %d ablation%s\n", n, n == 1 ? "" : "s");
    return CMD_OK;
}

/* ---------------- device and bench ---------------- */

static int cmd_device(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (argc < 2) {
        const char *why = NULL;
        const Backend *cu = backend_cuda(&why);
        sb_printf(&s->out, "device %s\n", s->m ? s->m->be->name : "cpu (no model yet)");
        if (cu) sb_puts(&s->out, "available: cpu, cuda\n");
        else sb_printf(&s->out, "available: cpu (cuda unavailable: %s)\n", why ? why : "unknown");
        return CMD_OK;
    }
    if (need_model(s, e)) return CMD_ERR;
    const Backend *be;
    if (!strcmp(argv[1], "cpu")) be = &backend_cpu;
    else if (!strcmp(argv[1], "cuda")) {
        const char *why = NULL;
        be = backend_cuda(&why);
        if (!be) return gr_fail(e, "device cuda: %s", why ? why : "unavailable"), CMD_ERR;
    } else return gr_fail(e, "device: expected cpu or cuda, not '%s'", argv[1]), CMD_ERR;
    drop_trace(s);
    if (model_to_backend(s->m, be, e)) return CMD_ERR;
    if (s->run_text) {
        char *t = strdup(s->run_text);
        if (prepare_run(s, t, e) == 0 && acts_run(s->trace, e) == 0) after_full_run(s);
        free(t);
    }
    sb_printf(&s->out, "model now on %s\n", be->name);
    return CMD_OK;
}

static int cmd_bench(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (need_model(s, e)) return CMD_ERR;
    Model *m = s->m;
    int T = m->cfg.ctx < 64 ? m->cfg.ctx : 64;
    int *ids = malloc(sizeof(int) * T);
    Rng r;
    rng_seed(&r, 1);
    for (int i = 0; i < T; i++) ids[i] = (int)rng_below(&r, (uint64_t)m->cfg.vocab);
    Acts *a = acts_new(m, 1, T, e);
    if (!a) { free(ids); return CMD_ERR; }
    acts_set_tokens(m, a, ids, NULL, e);
    acts_run(a, e); /* warm-up */
    /* Best of the repetitions, the statistic tests/bench_torch.py takes for PyTorch. */
    int reps = 0;
    double t0 = now_ms(), t1 = t0, fwd_ms = 1e300;
    do {
        double r0 = now_ms();
        acts_rewind(a);
        acts_run(a, e);
        m->be->sync();
        reps++;
        t1 = now_ms();
        if (t1 - r0 < fwd_ms) fwd_ms = t1 - r0;
    } while (t1 - t0 < 1000 && reps < 50);
    /* Pictures of this model: every terminal picture a learner draws, then one PNG. */
    double render_ms = 0, png_ms = 0;
    {
        const TraceEntry *pe = acts_find(a, "L0.pattern");
        float *pat = malloc(sizeof(float) * pe->per_batch);
        m->be->download(pat, pe->data, sizeof(float) * pe->per_batch);
        const char **lab = malloc(sizeof(char *) * (size_t)T);
        for (int i = 0; i < T; i++) lab[i] = "tok";
        VizOpts o = {.color = VIZ_COLOR_TRUE, .width = 120};
        StrBuf tmp;
        sb_init(&tmp);
        TensorView wv;
        model_param_view(m, "L0.attn.qkv.w", &wv, e);
        double r0 = now_ms();
        viz_heatmap(&tmp, &o, "attn", pat, T, T, lab, lab, 1, e);
        viz_hist(&tmp, &o, "w", wv.data, tv_numel(&wv), 40, e);
        render_ms = now_ms() - r0;
        char png[64];
        snprintf(png, sizeof png, "/tmp/gptrepl-bench-%d.png", (int)getpid());
        r0 = now_ms();
        viz_png_heatmap(png, 0, 0, "attn", pat, T, T, lab, lab, 1, e);
        png_ms = now_ms() - r0;
        unlink(png);
        sb_free(&tmp);
        free(lab);
        free(pat);
    }
    acts_free(m, a);
    /* generation with the KV cache, B = 1 */
    KVCache *kv = kv_new(m, NULL, 0, e);
    if (!kv) { free(ids); return CMD_ERR; }
    float *lg = malloc(sizeof(float) * m->cfg.vocab);
    int ngen = m->cfg.ctx < 128 ? m->cfg.ctx - 1 : 128, tok = ids[0];
    kv_forward(m, kv, tok, lg, e);
    t0 = now_ms();
    for (int i = 0; i < ngen; i++) {
        tok = argmax_f(lg, m->cfg.vocab);
        kv_forward(m, kv, tok, lg, e);
    }
    double gen_s = (now_ms() - t0) / 1e3;
    kv_free(m, kv);
    free(lg);
    free(ids);
    sb_printf(&s->out, "device=%s\nT=%d\nforward_ms=%.2f\ngenerate_tok_s=%.1f\nrender_ms=%.2f\npng_ms=%.1f\n", m->be->name, T,
              fwd_ms, ngen / gen_s, render_ms, png_ms);
    /* One training step on random rows (the model's weights are restored afterwards,
     * so bench never changes what the learner has). */
    int B = m->cfg.vocab > 1000 ? 4 : 16, TT = m->cfg.vocab > 1000 ? 64 : (m->cfg.ctx < 128 ? m->cfg.ctx : 128);
    const char *bs = opt(argc, argv, "--batch");
    if (bs) B = atoi(bs) > 0 ? atoi(bs) : B;
    if (flag(argc, argv, "--no-train")) return CMD_OK;
    int had_opt = m->m != NULL;
    /* Parameters and, when present, the AdamW moments are restored afterwards. */
    float *saved = malloc(m->total * sizeof(float) * (had_opt ? 3 : 1));
    if (!saved) return CMD_OK;
    m->be->download(saved, m->params, m->total * sizeof(float));
    if (had_opt) {
        m->be->download(saved + m->total, m->m, m->total * sizeof(float));
        m->be->download(saved + 2 * m->total, m->v, m->total * sizeof(float));
    }
    long step0 = m->step;
    TrainCfg tc;
    train_cfg_default(&tc);
    tc.batch = B;
    tc.ctx = TT;
    tc.steps = 0;
    Trainer *tr = trainer_new(m, &tc, NULL, e);
    if (tr) {
        int *rows = malloc(sizeof(int) * (size_t)B * (TT + 1));
        for (int i = 0; i < B * (TT + 1); i++) rows[i] = (int)rng_below(&r, (uint64_t)m->cfg.vocab);
        StepInfo si;
        trainer_step_rows(tr, rows, &si, e); /* warm-up */
        double best = 1e30;
        int k = 0;
        t0 = now_ms();
        do {
            trainer_step_rows(tr, rows, &si, e);
            if (si.ms < best) best = si.ms;
            k++;
        } while (now_ms() - t0 < 3000 && k < 20);
        sb_printf(&s->out, "train_B=%d\ntrain_T=%d\ntrain_step_ms=%.2f\ntrain_tok_s=%.0f\n", B, TT, best, B * TT / (best / 1e3));
        free(rows);
        trainer_free(tr);
    }
    m->be->upload(m->params, saved, m->total * sizeof(float));
    if (had_opt) {
        m->be->upload(m->m, saved + m->total, m->total * sizeof(float));
        m->be->upload(m->v, saved + 2 * m->total, m->total * sizeof(float));
    }
    free(saved);
    m->step = step0;
    if (!had_opt) {
        m->be->free(m->m);
        m->be->free(m->v);
        m->be->free(m->grads);
        m->m = m->v = m->grads = NULL;
    }
    return CMD_OK;
}

/* ---------------- help ---------------- */

static int cmd_help(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (argc >= 2) {
        const Command *c = cmd_find(argv[1]);
        if (!c) return gr_fail(e, "help: unknown command '%s'", argv[1]), CMD_ERR;
        sb_printf(&s->out, "%s\n  %s\n", c->usage, c->summary);
        if (c->help) sb_printf(&s->out, "%s\n", c->help);
        return CMD_OK;
    }
    sb_puts(&s->out, "commands (help CMD for details):\n");
    for (const Command *c = COMMANDS; c->name; c++) sb_printf(&s->out, "  %-40s %s\n", c->usage, c->summary);
    return CMD_OK;
}

static int cmd_quit(Session *s, int argc, char **argv, const char *rest, GrErr *e) { return CMD_QUIT; }

/* Train and lesson commands live in their own files. */
int cmd_train(Session *s, int argc, char **argv, const char *rest, GrErr *e);
int cmd_lesson(Session *s, int argc, char **argv, const char *rest, GrErr *e);

const Command COMMANDS[] = {
    {"help", cmd_help, 0, 1, "help [CMD]", "list commands, or explain one", NULL},
    {"quit", cmd_quit, 0, 0, "quit", "leave gptrepl (also: Ctrl-D)", NULL},
    {"new", cmd_new, 1, -1, "new PRESET [key=value ...]", "a fresh randomly initialised model",
     "  presets: gpt2 gpt2-medium gpt2-large gpt2-xl tiny one-head\n"
     "  keys: layers heads d ctx vocab=N|chars|chars:FILE|bytes norm=pre|post tie=on|off\n"
     "        act=gelu|relu pos=learned|none mlp=on|off logit_scale=on|off\n"
     "  init: N(0, 0.02), residual projections 0.02/sqrt(2*layers), seeded by 'seed N'"},
    {"load", cmd_load, 1, 1, "load PATH|NAME", "load a checkpoint: ours, Hugging Face GPT-2, or llm.c .bin",
     "  NAME (e.g. gpt2) looks for models/NAME/model.safetensors and models/NAME.safetensors,\n"
     "  and in $GPTREPL_MODELS; Hugging Face Conv1D weights are transposed on load"},
    {"save", cmd_save, 1, 1, "save PATH [--format safetensors|llmc]", "save the model (and optimizer state) atomically",
     "  PATH.bin or --format llmc writes an llm.c model file (GPT-2 configs only)"},
    {"model", cmd_model, 0, 0, "model", "config, the block diagram with shapes, device", NULL},
    {"params", cmd_params, 0, 0, "params [--by group|layer]", "exact parameter counts and shares, tied vs untied", NULL},
    {"device", cmd_device, 0, 1, "device [cpu|cuda]", "show or move the live model's device", NULL},
    {"seed", cmd_seed, 1, 1, "seed N", "seed for new models and sampling", NULL},
    {"set", cmd_set, 0, 2, "set [KEY VALUE]", "temperature top_k top_p color width", NULL},
    {"tokens", cmd_tokens, 0, -1, "tokens [--ids] TEXT | --file PATH", "ids and pieces of a text", NULL},
    {"run", cmd_run, 1, -1, "run TEXT", "full forward pass; every intermediate kept in the trace", NULL},
    {"step", cmd_step, 0, -1, "step [TEXT]", "run the next stage and show what it produced", NULL},
    {"next", cmd_next, 0, 0, "next", "run to the end of the current block", NULL},
    {"continue", cmd_continue, 0, 0, "continue", "run the remaining stages", NULL},
    {"where", cmd_where, 0, 0, "where", "the stage list with the cursor", NULL},
    {"reset", cmd_reset, 0, 0, "reset", "rewind the stepped run to its first stage", NULL},
    {"show", cmd_show, 1, 1, "show NAME[slice]", "values and stats of a tensor (e.g. L0.pattern[h=0])", NULL},
    {"eval", cmd_eval, 1, -1, "eval EXPR", "evaluate an expression over tensors",
     "  e.g. eval mean(L0.ln1.xhat[3])   eval rowsum(L0.pattern[h=0])   eval loss - ln(V)\n"
     "  functions: mean std var min max sum numel abs exp ln log sqrt tanh rowsum rowmax argmax maxabs allclose"},
    {"check", cmd_check, 1, -1, "check EXPR", "like eval; fails (and fails the script) when false", NULL},
    {"loss", cmd_loss, 0, 0, "loss", "loss of the last run beside ln(V), with the verdict", NULL},
    {"logits", cmd_logits, 0, 1, "logits [POS] [--temp T,T,...] [--top N]", "next-token probabilities under temperatures", NULL},
    {"generate", cmd_generate, 1, 2, "generate N [PROMPT] [--temp T --top-k K --top-p P --greedy --nocache]",
     "stream N tokens with the KV cache", "  --nocache recomputes the whole window for every token (same tokens, slower);\n"
     "  the ids are kept: eval generated"},
    {"attn", cmd_attn, 1, 2, "attn LAYER [HEAD|all]", "attention heatmap with token labels", NULL},
    {"hist", cmd_hist, 1, 1, "hist NAME[slice] [--bins N]", "histogram of any weight or activation", NULL},
    {"heatmap", cmd_heatmap, 1, 1, "heatmap NAME[slice]", "heatmap of any 2-D slice", NULL},
    {"export", cmd_export, 2, 5, "export attn|hist|logits|loss|heatmap ... FILE.png [--size WxH]", "the same pictures as PNG", NULL},
    {"dump", cmd_dump, 2, 2, "dump NAME[slice] FILE.npy|FILE.safetensors", "write a tensor for other tools", NULL},
    {"ablate", cmd_ablate, 0, 2, "ablate [NAME zero|mean|identity|copy:OTHER]", "change a tensor in the forward pass", NULL},
    {"unablate", cmd_unablate, 0, 0, "unablate", "remove every ablation", NULL},
    {"train", cmd_train, 1, 1, "train STEPS [--data FILE|copy|add|sort] [--batch B] [--ctx T] [--lr X] ...",
     "train the live model; progress, loss curve, val loss",
     "  options: --batch B --ctx T --lr X --warmup N --eval-every N --clip X --accum N\n"
     "  Ctrl-C stops after the current step and keeps the weights"},
    {"bench", cmd_bench, 0, 0, "bench [--batch B] [--no-train]", "forward / generation / train-step timings on the live model", NULL},
    {"lesson", cmd_lesson, 0, 1, "lesson [NAME]", "list lessons, or start one", NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL},
};
