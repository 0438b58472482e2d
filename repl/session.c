/* session.c — session state, line splitting, dispatch through the command table. */
#include "session.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t g_interrupted;

static void flush_stdout_cb(Session *s) { session_flush_stdout(s); }

void session_init(Session *s)
{
    memset(s, 0, sizeof *s);
    sb_init(&s->out);
    s->seed = 1337;
    rng_seed(&s->rng, s->seed);
    sample_cfg_default(&s->samp);
    s->clean_loss = NAN;
    s->width = 100;
    s->flush = flush_stdout_cb;
}

static void drop_trace(Session *s)
{
    if (s->trace && s->m) acts_free(s->m, s->trace);
    s->trace = NULL;
}

void session_free(Session *s)
{
    drop_trace(s);
    free(s->run_text);
    model_free(s->m);
    tok_free(&s->tok);
    free(s->loss_curve);
    free(s->val_curve);
    free(s->gen_ids);
    sb_free(&s->out);
}

void session_flush_stdout(Session *s)
{
    if (s->out.len) {
        fwrite(s->out.s, 1, s->out.len, stdout);
        fflush(stdout);
    }
    sb_clear(&s->out);
}

const Command *cmd_find(const char *name)
{
    for (const Command *c = COMMANDS; c->name; c++)
        if (!strcmp(c->name, name)) return c;
    return NULL;
}

/* Splits a command line into words: "double quotes" group and understand \n \t \" \\. */
static int split_words(const char *line, char ***out, int *n, GrErr *e)
{
    int cap = 8, k = 0;
    char **v = malloc(sizeof(char *) * (size_t)cap);
    StrBuf w;
    sb_init(&w);
    const char *p = line;
    while (*p) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        sb_clear(&w);
        sb_putn(&w, "", 0);
        while (*p && !isspace((unsigned char)*p)) {
            if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1]) {
                        p++;
                        char c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
                        sb_putc(&w, c);
                        p++;
                    } else sb_putc(&w, *p++);
                }
                if (*p != '"') {
                    for (int i = 0; i < k; i++) free(v[i]);
                    free(v);
                    sb_free(&w);
                    return gr_fail(e, "unterminated quote in: %s", line);
                }
                p++;
            } else sb_putc(&w, *p++);
        }
        if (k + 1 >= cap) {
            cap *= 2;
            v = realloc(v, sizeof(char *) * (size_t)cap);
        }
        v[k++] = strdup(w.s ? w.s : "");
    }
    v[k] = NULL;
    sb_free(&w);
    *out = v;
    *n = k;
    return 0;
}

int session_exec(Session *s, const char *line, GrErr *e)
{
    while (isspace((unsigned char)*line)) line++;
    if (!*line || *line == '#') return CMD_OK;
    char **argv = NULL;
    int argc = 0;
    if (split_words(line, &argv, &argc, e)) return CMD_ERR;
    int rc = CMD_OK;
    const Command *c = cmd_find(argv[0]);
    if (!c) {
        /* Suggest the closest command by prefix. */
        const char *hint = NULL;
        for (const Command *k = COMMANDS; k->name; k++)
            if (!strncmp(k->name, argv[0], 2)) { hint = k->name; break; }
        if (hint) gr_fail(e, "unknown command '%s' (did you mean '%s'? type 'help' for the list)", argv[0], hint);
        else gr_fail(e, "unknown command '%s' (type 'help' for the list)", argv[0]);
        rc = CMD_ERR;
        goto out;
    }
    /* Positional words exclude --options and their values. */
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2) && strlen(argv[i]) > 2) {
            if (strchr(argv[i], '=') == NULL && i + 1 < argc && strncmp(argv[i + 1], "--", 2) &&
                strcmp(argv[i], "--greedy") && strcmp(argv[i], "--ids") && strcmp(argv[i], "--by-layer") &&
                strcmp(argv[i], "--all") && strcmp(argv[i], "--nocache") && strcmp(argv[i], "--cache"))
                i++;
            continue;
        }
        npos++;
    }
    if (npos < c->min_args || (c->max_args >= 0 && npos > c->max_args)) {
        gr_fail(e, "%s: wrong number of arguments (usage: %s)", c->name, c->usage);
        rc = CMD_ERR;
        goto out;
    }
    const char *rest = line + strlen(argv[0]);
    while (isspace((unsigned char)*rest)) rest++;
    rc = c->fn(s, argc, argv, rest, e);
out:
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    return rc;
}

int session_exec_multi(Session *s, const char *line)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#') return CMD_OK; /* a comment line, ';' and all */
    /* Split at ';' outside quotes. */
    size_t n = strlen(line);
    char *buf = malloc(n + 1);
    int inq = 0, rc = CMD_OK;
    size_t k = 0;
    for (size_t i = 0; i <= n && rc != CMD_QUIT; i++) {
        char c = line[i];
        if (c == '"' && (i == 0 || line[i - 1] != '\\')) inq = !inq;
        if ((c == ';' && !inq) || c == 0) {
            buf[k] = 0;
            GrErr e = {{0}};
            int r = session_exec(s, buf, &e);
            session_flush_stdout(s);
            if (r == CMD_ERR) {
                s->errors++;
                if (s->src_file) fprintf(stderr, "%s:%d: error: %s\n", s->src_file, s->src_line, e.msg);
                else fprintf(stderr, "error: %s\n", e.msg);
                fflush(stderr);
                rc = CMD_ERR;
                if (s->bail) break;
            } else if (r == CMD_QUIT) {
                rc = CMD_QUIT;
            }
            k = 0;
            continue;
        }
        buf[k++] = c;
    }
    free(buf);
    return rc;
}
