/* session.c — session state, the line and word splitters, dispatch through the command table. */
#include "session.h"
#include "param_abl.h"
#include "runs.h"
#include "args.h"
#include "cmds.h"
#include "paths.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t g_interrupted;

static void flush_stdout_cb(Session *s) { session_flush_stdout(s); }

static void report_stderr(Session *s, const char *msg)
{
    if (s->src_file) fprintf(stderr, "%s:%d: error: %s\n", s->src_file, s->src_line, msg);
    else fprintf(stderr, "error: %s\n", msg);
    fflush(stderr);
}

void session_init(Session *s)
{
    memset(s, 0, sizeof *s);
    sb_init(&s->out);
    s->seed = 1337;
    rng_seed(&s->rng, s->seed);
    sample_cfg_default(&s->samp);
    s->width = 80;
    s->height = 24;
    s->flush = flush_stdout_cb;
    s->report = report_stderr;
}

void session_free(Session *s)
{
    if (s->trace && s->m) acts_free(s->m, s->trace);
    s->trace = NULL;
    free(s->run_text);
    pabl_forget(s);
    if (s->m) runs_clear(s);
    snap_clear(s);
    free(s->head_score);
    model_free(s->m);
    tok_free(&s->tok);
    free(s->gen_ids);
    sb_free(&s->out);
    if (s->log) fclose(s->log);
    for (int i = 0; i < s->nhist; i++) free(s->hist[i]);
    free(s->hist);
}

void session_log_text(Session *s, const char *text, size_t n)
{
    if (!s->log || !text) return;
    size_t i = 0, run = 0;
    while (i < n) {
        if (text[i] == '\x1b') {
            fwrite(text + run, 1, i - run, s->log);
            i += viz_escape_len(text + i, n - i);
            run = i;
        } else {
            i++;
        }
    }
    fwrite(text + run, 1, n - run, s->log);
    fflush(s->log);
}

void session_log_out(Session *s)
{
    if (s->log_mark > s->out.len) s->log_mark = 0;
    if (s->log) session_log_text(s, s->out.s + s->log_mark, s->out.len - s->log_mark);
    s->log_mark = s->out.len;
}

void session_out_done(Session *s)
{
    sb_clear(&s->out);
    s->log_mark = 0;
}

void session_flush_stdout(Session *s)
{
    session_log_out(s);
    if (s->out.len) {
        fwrite(s->out.s, 1, s->out.len, stdout);
        fflush(stdout);
    }
    session_out_done(s);
}

const Command *cmd_find(const char *name)
{
    for (const Command *c = COMMANDS; c->name; c++)
        if (!strcmp(c->name, name)) return c;
    return NULL;
}

const char *cmd_suggest(const char *name)
{
    const char *cands[128];
    int n = 0;
    for (const Command *c = COMMANDS; c->name && n < 128; c++) cands[n++] = c->name;
    return gr_suggest(name, cands, n);
}

int session_may_quit(Session *s)
{
    if (!s->interactive || !s->m || !s->m->unsaved || s->quit_warned) return 1;
    s->quit_warned = 1;
    sb_printf(&s->out, "the model has training that is not saved (step %ld): 'save PATH' keeps it; quit again to leave "
                       "without saving\n", s->m->step);
    return 0;
}

void session_report(Session *s, const char *msg)
{
    if (s->log) {
        session_log_out(s);
        fprintf(s->log, "error: %s\n", msg);
        fflush(s->log);
    }
    s->report(s, msg);
}

/* ---------------- words ---------------- */

int words_split(const char *line, Words *out, GrErr *e)
{
    out->w = NULL;
    out->n = 0;
    int cap = 0;
    StrBuf w;
    sb_init(&w);
    const char *p = line;
    while (*p) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        size_t start = (size_t)(p - line);
        int quoted = 0;
        sb_clear(&w);
        sb_putn(&w, "", 0);
        /* 'single quotes' at the start of a word keep everything inside as it is (an
         * expression with "strings": --metric 'logit("a") - logit("b")'); an apostrophe
         * anywhere else, or one never closed, is just a character (run it's fine) */
        const char *close = *p == '\'' ? strchr(p + 1, '\'') : NULL;
        if (close) {
            sb_putn(&w, p + 1, (size_t)(close - p - 1));
            quoted = 1;
            p = close + 1;
        }
        while (*p && !isspace((unsigned char)*p)) {
            if (*p != '"') { sb_putc(&w, *p++); continue; }
            quoted = 1;
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) {
                    p++;
                    sb_putc(&w, *p == 'n' ? '\n' : *p == 't' ? '\t' : *p);
                    p++;
                } else sb_putc(&w, *p++);
            }
            if (*p != '"') {
                sb_free(&w);
                words_free(out);
                return gr_fail(e, "unterminated quote in: %s", line);
            }
            p++;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 8;
            Word *nw = realloc(out->w, sizeof(Word) * (size_t)cap);
            if (!nw) { sb_free(&w); words_free(out); return gr_fail(e, "out of memory"); }
            out->w = nw;
        }
        Word *x = &out->w[out->n++];
        x->text = strdup(w.s ? w.s : "");
        x->quoted = quoted;
        x->start = start;
        x->end = (size_t)(p - line);
    }
    sb_free(&w);
    return 0;
}

void words_free(Words *w)
{
    for (int i = 0; i < w->n; i++) free(w->w[i].text);
    free(w->w);
    w->w = NULL;
    w->n = 0;
}

/* ---------------- lines ---------------- */

size_t line_next_cut(const char *line, size_t from, int *in_quote)
{
    int inq = 0;
    size_t i = from;
    for (; line[i]; i++) {
        if (line[i] == '\\' && inq && line[i + 1]) { i++; continue; } /* an escaped character inside quotes */
        if (line[i] == '"') inq = !inq;
        else if (line[i] == ';' && !inq) break;
    }
    if (in_quote) *in_quote = inq;
    return i;
}

int line_split(const char *line, int (*fn)(void *ctx, const char *cmd), void *ctx)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#') return 0; /* a comment line, ';' and all */
    size_t n = strlen(line), i = 0;
    char *buf = malloc(n + 1);
    if (!buf) return 0;
    int rc = 0;
    for (;;) {
        size_t j = line_next_cut(line, i, NULL);
        memcpy(buf, line + i, j - i);
        buf[j - i] = 0;
        if ((rc = fn(ctx, buf)) || !line[j]) break;
        i = j + 1;
    }
    free(buf);
    return rc;
}

int session_exec(Session *s, const char *line, GrErr *e)
{
    while (isspace((unsigned char)*line)) line++;
    if (!*line || *line == '#') return CMD_OK;
    if (s->log) {
        session_log_out(s);
        fprintf(s->log, "%s%s\n", s->lesson ? "> " : "gptrepl> ", line);
        fflush(s->log);
    }
    size_t n = strcspn(line, " \t\r\n");
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), line);
    const Command *c = n < sizeof name ? cmd_find(name) : NULL;
    if (!c) {
        const char *hint = cmd_suggest(name);
        if (hint) gr_fail(e, "unknown command '%s' (did you mean '%s'? 'help' lists the commands)", name, hint);
        else gr_fail(e, "unknown command '%s' ('help' lists the commands)", name);
        return CMD_ERR;
    }
    Args a;
    if (args_parse(s, c, line + n, &a, e)) return CMD_ERR;
    int rc = a.cmd->fn(s, &a, e);
    args_free(&a);
    /* the session as a script (history --save): what was typed and worked */
    if (rc == CMD_OK && !s->depth && !s->lesson && strcmp(c->name, "history") && strcmp(c->name, "quit") &&
        strcmp(c->name, "log") && strcmp(c->name, "clear")) {
        if (s->nhist == s->hist_cap) {
            int cap = s->hist_cap ? 2 * s->hist_cap : 64;
            char **nh = realloc(s->hist, sizeof(char *) * (size_t)cap);
            if (nh) s->hist = nh, s->hist_cap = cap;
        }
        if (s->nhist < s->hist_cap) {
            size_t len = strlen(line);
            while (len && (line[len - 1] == ' ' || line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
            s->hist[s->nhist] = strndup(line, len);
            if (s->hist[s->nhist]) s->nhist++;
        }
    }
    return rc;
}

typedef struct {
    Session *s;
    int rc;
} MultiCtx;

static int exec_part(void *ctx, const char *cmd)
{
    MultiCtx *m = ctx;
    Session *s = m->s;
    GrErr e = {{0}};
    int r = session_exec(s, cmd, &e);
    if (s->flush) s->flush(s);
    if (r == CMD_ERR) {
        s->errors++;
        session_report(s, e.msg);
        m->rc = CMD_ERR;
        if (s->bail) return 1;
    } else if (r == CMD_QUIT) {
        m->rc = CMD_QUIT;
        return 1;
    }
    return 0;
}

int session_exec_multi(Session *s, const char *line)
{
    MultiCtx m = {s, CMD_OK};
    line_split(line, exec_part, &m);
    return m.rc;
}

/* ---------------- what the handlers share ---------------- */

double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int need_model(Session *s, GrErr *e)
{
    if (!s->m) return gr_fail(e, "no model: make one with 'new tiny' or 'load PATH'");
    return 0;
}

int need_run(Session *s, GrErr *e)
{
    if (need_model(s, e)) return -1;
    if (!s->trace) return gr_fail(e, "nothing has run yet: try 'run \"some text\"' first");
    return 0;
}

int need_finished_run(Session *s, const char *who, GrErr *e)
{
    if (need_run(s, e)) return -1;
    if (s->trace->next < s->trace->nstages) return gr_fail(e, "%s: the run has not finished ('continue' runs the rest)", who);
    return 0;
}

int session_one_token(Session *s, const char *text, GrErr *e)
{
    int *ids = NULL;
    size_t n = 0;
    if (tok_encode(&s->tok, text, strlen(text), &ids, &n, e)) return -1;
    int id = n == 1 ? ids[0] : -1;
    free(ids);
    if (id < 0) gr_fail(e, "\"%s\" is %zu tokens for this tokenizer, not one ('tokens \"%s\"' shows them)", text, n, text);
    return id;
}

VizOpts session_vopts(const Session *s)
{
    /* the projector theme: heatmap cells up to 3 columns wide */
    VizOpts o = {.color = s->color, .width = s->width, .height = s->height, .cell_w = s->theme ? 3 : 0};
    return o;
}

char **token_labels(Session *s, int n)
{
    char **l = calloc((size_t)n, sizeof(char *));
    if (!l) return NULL;
    for (int i = 0; i < n; i++) {
        StrBuf b;
        sb_init(&b);
        tok_piece(&s->tok, s->trace->tokens_host[i], &b);
        l[i] = b.s ? b.s : strdup("");
    }
    return l;
}

void free_labels(char **l, int n)
{
    if (!l) return;
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

void session_drop_trace(Session *s)
{
    if (s->trace && s->m) acts_free(s->m, s->trace);
    s->trace = NULL;
    /* the trace's gradients belong to it */
    if (s->grad_trace && s->m) acts_free(s->m, s->grad_trace);
    s->grad_trace = NULL;
}

int session_adopt_model(Session *s, Model *m, const char *chars, const char *name, GrErr *e)
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
        const char *dirs[8];
        int nd = paths_model_dirs(dirs, 8), ok = 0;
        /* the model's own folder first (a Hub download has vocab.json and merges.txt) */
        char own[4200];
        snprintf(own, sizeof own, "%s", name);
        char *slash = strrchr(own, '/');
        if (slash) {
            *slash = 0;
            GrErr ignore;
            ok = tok_init_gpt2(&t, own, &ignore) == 0;
        }
        for (int i = 0; i < nd && !ok; i++) {
            char dir[4200];
            snprintf(dir, sizeof dir, "%s/gpt2", dirs[i]);
            GrErr ignore;
            ok = tok_init_gpt2(&t, dir, &ignore) == 0;
        }
        if (!ok) {
            tok_init_byte(&t, m->cfg.vocab);
            note = "note: GPT-2 tokenizer files not found (models/gpt2/, or vocab.json and merges.txt beside the model; "
                   "'make gpt2-tokenizer' fetches them); using bytes (ids 0-255)\n";
        }
    } else {
        tok_init_byte(&t, m->cfg.vocab);
    }
    session_drop_trace(s);
    pabl_forget(s); /* they changed the model that is going */
    s->grad_what[0] = 0;
    free(s->head_score);
    s->head_score = NULL;
    int nr = s->m ? runs_clear(s) : 0;
    snap_clear(s);
    model_free(s->m);
    tok_free(&s->tok);
    s->m = m;
    s->tok = t;
    s->tok.vocab = m->cfg.vocab;
    s->nabl = 0;
    free(s->run_text);
    s->run_text = NULL;
    snprintf(s->model_name, sizeof s->model_name, "%s", name);
    s->corpus[0] = 0;
    if (note) sb_puts(&s->out, note);
    if (s->prec != PREC_FP32) { /* the precision the learner chose applies to the new model too */
        GrErr pe;
        if (model_set_precision(m, (Precision)s->prec, &pe)) {
            sb_printf(&s->out, "precision back to fp32: %s\n", pe.msg);
            s->prec = PREC_FP32;
        }
    }
    if (nr) sb_printf(&s->out, "(%d named run%s dropped: they ran on the previous model)\n", nr, nr == 1 ? "" : "s");
    return 0;
}

Acts *session_new_trace(Session *s, const char *text, GrErr *e)
{
    int *ids;
    size_t n;
    if (tok_encode(&s->tok, text, strlen(text), &ids, &n, e)) return NULL;
    if (n == 0) {
        free(ids);
        gr_fail(e, "the text is empty");
        return NULL;
    }
    if ((int)n > s->m->cfg.ctx) {
        free(ids);
        gr_fail(e, "%zu tokens do not fit the model's context of %d", n, s->m->cfg.ctx);
        return NULL;
    }
    Acts *a = acts_new(s->m, 1, (int)n, e);
    if (!a) { free(ids); return NULL; }
    int rc = acts_set_tokens(s->m, a, ids, NULL, e);
    free(ids);
    for (int i = 0; i < s->nabl && rc == 0; i++) rc = acts_check_ablation(a, &s->abl[i], e);
    if (rc) { acts_free(s->m, a); return NULL; }
    a->abl = s->abl;
    a->nabl = s->nabl;
    return a;
}

void session_set_trace(Session *s, Acts *a, const char *text)
{
    session_drop_trace(s);
    s->trace = a;
    s->trace_serial++;
    if (text != s->run_text) {
        free(s->run_text);
        s->run_text = strdup(text);
    }
}

float session_clean_loss(Session *s)
{
    if (!s->trace) return NAN;
    if (!s->nabl && !s->npabl) return s->trace->loss;
    GrErr e;
    Acts *a = acts_new(s->m, 1, s->trace->T, &e);
    if (!a) return NAN;
    float loss = NAN;
    pabl_swap(s, 1); /* the model's own weights for the comparison, then the ablated ones again */
    if (acts_set_tokens(s->m, a, s->trace->tokens_host, NULL, &e) == 0 && acts_run(a, &e) == 0) loss = a->loss;
    pabl_swap(s, 0);
    acts_free(s->m, a);
    return loss;
}

int session_rerun(Session *s, GrErr *e)
{
    if (!s->run_text || !s->m) return 0;
    Acts *a = session_new_trace(s, s->run_text, e);
    if (!a) return -1;
    if (acts_run(a, e)) { acts_free(s->m, a); return -1; }
    session_set_trace(s, a, s->run_text);
    return 0;
}

int session_run_stream(Session *s, FILE *f, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    const char *saved_file = s->src_file;
    int saved_line = s->src_line, rc = CMD_OK;
    s->src_file = name;
    s->src_line = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        s->src_line++;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        int r = session_exec_multi(s, line);
        if (r == CMD_ERR) rc = CMD_ERR;
        if (r == CMD_QUIT || (r == CMD_ERR && s->bail)) { rc = r; break; }
    }
    free(line);
    s->src_file = saved_file;
    s->src_line = saved_line;
    return rc;
}
