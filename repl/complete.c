/* complete.c — completion and hints from the command table (redis-cli's idea: the table the
 * dispatcher uses also drives the editor). */
#include "complete.h"
#include "args.h"
#include "expr.h"
#include "lesson.h"
#include "names.h"
#include "paths.h"

#include <dirent.h>
#include <editline/readline.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void push(Completions *c, const char *s) { sl_push(c, s); }

void completions_free(Completions *c) { sl_free(c); }

typedef struct {
    Completions *c;
    const char *prefix;
    const char *before;  /* prepended to each candidate ("--data=", "norm=") */
    const char *after;   /* appended ("=", "(") */
} Adder;

static void add(Adder *a, const char *cand)
{
    if (strncmp(cand, a->prefix, strlen(a->prefix))) return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s%s", a->before ? a->before : "", cand, a->after ? a->after : "");
    push(a->c, buf);
}

static void add_cb(void *ctx, const char *name) { add(ctx, name); }

static void add_choices(Adder *a, const FieldDef *f)
{
    char w[64];
    for (int i = 0; field_choice(f, i, w, sizeof w) == 0; i++) add(a, w);
}

static void add_files(Adder *a)
{
    const char *prefix = a->prefix, *slash = strrchr(prefix, '/');
    char dir[1024];
    const char *base = prefix;
    if (slash) {
        size_t n = (size_t)(slash - prefix) + 1;
        if (n >= sizeof dir) return;
        memcpy(dir, prefix, n);
        dir[n] = 0;
        base = slash + 1;
    } else dir[0] = 0;
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d) return;
    struct dirent *de;
    size_t bl = strlen(base);
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (de->d_name[0] == '.' && base[0] != '.') continue;
        if (strncmp(de->d_name, base, bl)) continue;
        char full[2200];
        snprintf(full, sizeof full, "%s%s", dir, de->d_name);
        struct stat sb;
        if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) strcat(full, "/");
        Adder b = *a;
        b.prefix = "";
        add(&b, full);
    }
    closedir(d);
}

static void add_lessons(Adder *a)
{
    const char *roots[8];
    int nr = paths_lesson_roots(roots, 8);
    for (int r = 0; r < nr; r++) {
        DIR *d = opendir(roots[r]);
        if (!d) continue;
        struct dirent *lang;
        while ((lang = readdir(d))) {
            if (lang->d_name[0] == '.') continue;
            char dir[4400];
            snprintf(dir, sizeof dir, "%s/%s", roots[r], lang->d_name);
            DIR *dd = opendir(dir);
            if (!dd) continue;
            struct dirent *de;
            while ((de = readdir(dd))) {
                size_t n = strlen(de->d_name);
                if (n <= 7 || strcmp(de->d_name + n - 7, ".lesson")) continue;
                char name[600];
                snprintf(name, sizeof name, "%s/%.*s", lang->d_name, (int)(n - 7), de->d_name);
                add(a, name);
            }
            closedir(dd);
        }
        closedir(d);
    }
}

static void add_functions(Adder *a)
{
    Adder b = *a;
    b.after = "(";
    for (int i = 0; i < expr_function_count(); i++) {
        const char *name, *usage, *help;
        expr_function(i, &name, &usage, &help);
        add(&b, name);
    }
}

/* The candidates a row's value gets. */
static void add_for(Session *s, Adder *a, const FieldDef *f, const char *prev_word, int *space)
{
    switch (f->comp) {
    case COMP_CHOICES: add_choices(a, f); break;
    case COMP_TENSOR: names_each(s, NAMES_TRACE | NAMES_PARAMS, add_cb, a); break;
    case COMP_PARAM: names_each(s, NAMES_PARAMS, add_cb, a); break;
    case COMP_STAGE: names_each(s, NAMES_STAGES, add_cb, a); break;
    case COMP_EXPR:
        names_each(s, NAMES_TRACE | NAMES_PARAMS | NAMES_SCALARS, add_cb, a);
        add_functions(a);
        *space = 0;
        break;
    case COMP_FILE:
        add_choices(a, f);
        add_files(a);
        *space = 0;
        break;
    case COMP_LESSON: add_lessons(a); break;
    case COMP_COMMAND:
        for (const Command *c = COMMANDS; c->name; c++) add(a, c->name);
        add(a, "names");
        break;
    case COMP_KEYS:
        if (f->kind == FK_KV && f->kv) {
            const char *eq = strchr(a->prefix, '=');
            if (!eq) {
                Adder b = *a;
                b.after = "=";
                for (const FieldDef *k = f->kv(); k->name; k++) add(&b, k->name);
                *space = 0;
            } else {
                char key[64];
                snprintf(key, sizeof key, "%.*s", (int)(eq - a->prefix < 63 ? eq - a->prefix : 63), a->prefix);
                const FieldDef *k = field_find(f->kv(), key);
                char before[80];
                snprintf(before, sizeof before, "%s=", key);
                Adder b = *a;
                b.before = before;
                b.prefix = eq + 1;
                if (k) add_choices(&b, k);
            }
        } else if (f->kv && prev_word) {
            /* set KEY VALUE: the value's choices come from KEY's row */
            const FieldDef *k = field_find(f->kv(), prev_word);
            if (k) add_choices(a, k);
        }
        break;
    case COMP_NONE: break;
    }
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void sort_unique(Completions *c)
{
    qsort(c->v, (size_t)c->n, sizeof(char *), cmp_strp);
    int k = 0;
    for (int i = 0; i < c->n; i++) {
        if (k && !strcmp(c->v[k - 1], c->v[i])) { free(c->v[i]); continue; }
        c->v[k++] = c->v[i];
    }
    c->n = k;
}

/* Where the command the cursor is in starts (after the last ';' outside quotes, found by
 * the one splitter's scanner); -1 when the cursor is inside a quoted text. */
static int segment_start(const char *line, int at)
{
    char *upto = strndup(line, (size_t)at);
    if (!upto) return -1;
    int inq = 0;
    size_t start = 0, j;
    while (upto[j = line_next_cut(upto, start, &inq)]) start = j + 1;
    free(upto);
    return inq ? -1 : (int)start;
}

static int is_delim(char c, int expr)
{
    if (c == ' ' || c == '\t') return 1;
    return expr && strchr("()+*/,<>=!-^", c) != NULL;
}

/* The words before the cursor of this command, and the row the current word fills. */
typedef struct {
    Words w;
    int nwords;          /* complete words before the current one */
    const Command *cmd;  /* the command (or subcommand) */
    const FieldDef *row; /* the row the current word fills, or NULL */
    const FieldDef *opt; /* the option the current word is the value of, or NULL */
    int is_option;       /* the current word starts with "--" */
    int npos;            /* positional words before the current one */
    const char *prev;    /* the previous positional word */
} Context;

static void context(Session *s, const char *seg, int seglen, Context *c)
{
    memset(c, 0, sizeof *c);
    char *copy = strndup(seg, (size_t)seglen);
    GrErr e;
    if (!copy || words_split(copy, &c->w, &e)) { free(copy); return; }
    free(copy);
    int ends_space = seglen > 0 && (seg[seglen - 1] == ' ' || seg[seglen - 1] == '\t');
    c->nwords = ends_space ? c->w.n : c->w.n - 1;
    if (c->nwords < 0) c->nwords = 0;
    if (c->nwords == 0) return;
    const Command *cmd = cmd_find(c->w.w[0].text);
    if (!cmd) return;
    int first = 1;
    if (cmd->subs) {
        if (c->nwords == 1) { c->cmd = cmd; return; }
        const Command *sub = NULL;
        for (const Command *k = cmd->subs; k->name; k++)
            if (!strcmp(k->name, c->w.w[1].text)) sub = k;
        if (!sub) return;
        cmd = sub;
        first = 2;
    }
    c->cmd = cmd;
    const FieldDef *o[ARGS_MAX];
    int no = args_options(cmd, o, ARGS_MAX);
    for (int i = first; i < c->nwords; i++) {
        const char *t = c->w.w[i].text;
        if (!c->w.w[i].quoted && !strncmp(t, "--", 2) && t[2]) {
            const FieldDef *f = NULL;
            size_t len = strcspn(t + 2, "=");
            for (int k = 0; k < no; k++)
                if (strlen(o[k]->name) == len && !strncmp(o[k]->name, t + 2, len)) f = o[k];
            if (f && f->kind != FK_FLAG && !strchr(t, '=')) {
                if (i + 1 == c->nwords) { c->opt = f; return; }
                i++; /* its value */
            }
            continue;
        }
        c->prev = t;
        c->npos++;
    }
    const char *cur = c->nwords < c->w.n ? c->w.w[c->nwords].text : "";
    c->is_option = !strncmp(cur, "--", 2);
    int np = 0;
    while (cmd->pos && cmd->pos[np].name) np++;
    if (np == 0) return;
    int k = c->npos < np ? c->npos : np - 1;
    if (c->npos >= np && !(cmd->pos[np - 1].kind == FK_KV || cmd->pos[np - 1].kind == FK_REST ||
                            cmd->pos[np - 1].kind == FK_TEXT))
        return;
    c->row = &cmd->pos[k];
}

int complete_line(Session *s, const char *line, int at, int *start, Completions *out, int *space)
{
    memset(out, 0, sizeof *out);
    *space = 1;
    int seg = segment_start(line, at);
    if (seg < 0) return 0;
    while (line[seg] == ' ' || line[seg] == '\t') seg++;
    if (seg > at) seg = at;
    Context c;
    context(s, line + seg, at - seg, &c);
    int expr = c.row && (c.row->comp == COMP_EXPR) && !c.opt;
    int st = at;
    while (st > seg && !is_delim(line[st - 1], expr)) st--;
    *start = st;
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%.*s", at - st < 511 ? at - st : 511, line + st);
    Adder a = {.c = out, .prefix = prefix};
    if (strchr(prefix, '[')) {
        /* a slice: nothing to offer */
    } else if (c.nwords == 0) {
        for (const Command *k = COMMANDS; k->name; k++) add(&a, k->name);
    } else if (c.cmd && c.cmd->subs && c.nwords == 1) {
        for (const Command *k = c.cmd->subs; k->name; k++) add(&a, k->name);
    } else if (c.cmd && c.opt) {
        add_for(s, &a, c.opt, NULL, space);
    } else if (c.cmd && c.is_option && !expr) {
        const FieldDef *o[ARGS_MAX];
        int no = args_options(c.cmd, o, ARGS_MAX);
        const char *eq = strchr(prefix, '=');
        if (eq) {
            /* --opt=VALUE */
            for (int i = 0; i < no; i++)
                if (strlen(o[i]->name) == (size_t)(eq - prefix - 2) && !strncmp(o[i]->name, prefix + 2, strlen(o[i]->name))) {
                    char before[80];
                    snprintf(before, sizeof before, "--%s=", o[i]->name);
                    Adder b = {.c = out, .prefix = eq + 1, .before = before};
                    add_for(s, &b, o[i], NULL, space);
                }
        } else {
            Adder b = {.c = out, .prefix = prefix + 2, .before = "--"};
            for (int i = 0; i < no; i++) add(&b, o[i]->name);
        }
    } else if (c.row) {
        add_for(s, &a, c.row, c.prev, space);
    }
    sort_unique(out);
    words_free(&c.w);
    return out->n;
}

void complete_hint(Session *s, const char *line, StrBuf *out)
{
    int at = (int)strlen(line), seg = segment_start(line, at);
    if (seg < 0) return;
    Context c;
    context(s, line + seg, at - seg, &c);
    if (c.cmd && !c.opt) {
        int np = 0;
        while (c.cmd->pos && c.cmd->pos[np].name) np++;
        int typed = c.npos + (c.nwords < c.w.n ? 1 : 0);
        for (int i = typed; i < np; i++) {
            const FieldDef *f = &c.cmd->pos[i];
            sb_puts(out, out->len ? " " : "");
            if (f->flags & FF_OPTIONAL) sb_putc(out, '[');
            args_meta(f, out);
            if (f->kind == FK_KV) sb_puts(out, " ...");
            if (f->flags & FF_OPTIONAL) sb_putc(out, ']');
        }
        const FieldDef *o[ARGS_MAX];
        int no = args_options(c.cmd, o, ARGS_MAX);
        if (no && (typed >= np || (np && c.cmd->pos[typed].flags & FF_OPTIONAL))) {
            /* one option: say which ("[--as NAME]"); more: "[options]" (help CMD lists them) */
            sb_puts(out, out->len ? " [" : "[");
            if (no == 1) {
                sb_printf(out, "--%s", o[0]->name);
                if (o[0]->kind != FK_FLAG) {
                    sb_putc(out, ' ');
                    args_meta(o[0], out);
                }
            } else {
                sb_puts(out, "options");
            }
            sb_putc(out, ']');
        }
    } else if (c.opt && c.opt->kind != FK_FLAG) {
        args_meta(c.opt, out);
    }
    words_free(&c.w);
}

/* ---------------- libedit (the plain prompt) ---------------- */

static Session *g_rl_session;

static char **gr_rl_complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1; /* no filename fallback: we said everything */
    Completions c;
    int st, space;
    const char *line = rl_line_buffer;
    int at = start + (int)strlen(text);
    if (complete_line(g_rl_session, line, at, &st, &c, &space) == 0) { completions_free(&c); return NULL; }
    /* libedit's word starts at `start`; ours may start later (inside "mean(L0.pa"). */
    int pre = st > start ? st - start : 0;
    char **m = calloc((size_t)c.n + 2, sizeof(char *));
    if (!m) { completions_free(&c); return NULL; }
    for (int i = 0; i < c.n; i++) {
        size_t n = (size_t)pre + strlen(c.v[i]) + 1;
        m[i + 1] = malloc(n);
        if (m[i + 1]) snprintf(m[i + 1], n, "%.*s%s", pre, text, c.v[i]);
    }
    /* m[0]: the longest common prefix */
    size_t lcp = strlen(m[1] ? m[1] : "");
    for (int i = 2; i <= c.n; i++) {
        size_t j = 0;
        while (j < lcp && m[i] && m[i][j] == m[1][j]) j++;
        lcp = j;
    }
    m[0] = strndup(m[1] ? m[1] : "", lcp);
    rl_completion_append_character = c.n == 1 && space ? ' ' : '\0';
    completions_free(&c);
    return m;
}

void complete_readline_init(Session *s)
{
    g_rl_session = s;
    rl_attempted_completion_function = gr_rl_complete;
    rl_basic_word_break_characters = " \t;";
}
