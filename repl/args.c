/* args.c — parsing a command's words against its rows in the command table. */
#include "args.h"
#include "paths.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int npos_rows(const Command *c)
{
    int n = 0;
    while (c->pos && c->pos[n].name) n++;
    return n;
}

int args_options(const Command *c, const FieldDef **out, int max)
{
    int n = 0;
    for (const FieldDef *f = c->opts; f && f->name && n < max; f++) out[n++] = f;
    if (c->more_opts)
        for (const FieldDef *f = c->more_opts(); f && f->name && n < max; f++) out[n++] = f;
    return n;
}

static int is_textlike(const FieldDef *f) { return f->kind == FK_TEXT || f->kind == FK_REST || f->kind == FK_KV; }

void args_meta(const FieldDef *f, StrBuf *out)
{
    if (f->meta) {
        sb_puts(out, f->meta);
    } else if (f->kind == FK_CHOICE && field_nchoices(f) <= 4) {
        sb_puts(out, field_choices(f));
    } else {
        for (const char *p = f->name; *p; p++) sb_putc(out, *p == '-' ? '_' : (char)toupper((unsigned char)*p));
    }
    if (f->kind != FK_CHOICE && !f->meta && field_choices(f) && field_nchoices(f) <= 4) {
        sb_putc(out, '|');
        sb_puts(out, field_choices(f));
    }
}

/* "generate: PROMPT", "generate: --temp" */
static void label_of(const Args *a, const FieldDef *f, int is_opt, char *buf, size_t n)
{
    StrBuf m;
    sb_init(&m);
    if (is_opt) sb_printf(&m, "--%s", f->name);
    else if (f->meta && !strpbrk(f->meta, "|[ ")) sb_puts(&m, f->meta);
    else for (const char *p = f->name; *p; p++) sb_putc(&m, (char)toupper((unsigned char)*p));
    if (a->parent) snprintf(buf, n, "%s %s: %s", a->parent->name, a->cmd->name, m.s);
    else snprintf(buf, n, "%s: %s", a->cmd->name, m.s);
    sb_free(&m);
}

static void usage_short(const Command *c, const Command *parent, StrBuf *out)
{
    if (parent) sb_printf(out, "%s ", parent->name);
    sb_puts(out, c->name);
    if (c->subs) {
        sb_puts(out, " ");
        for (const Command *s = c->subs; s->name; s++) sb_printf(out, "%s%s", s == c->subs ? "" : "|", s->name);
        sb_puts(out, " ...");
    }
    for (const FieldDef *f = c->pos; f && f->name; f++) {
        sb_puts(out, f->flags & FF_OPTIONAL ? " [" : " ");
        args_meta(f, out);
        if (f->kind == FK_KV) sb_puts(out, " ...");
        if (f->flags & FF_OPTIONAL) sb_puts(out, "]");
    }
}

void args_usage(const Command *c, StrBuf *out)
{
    usage_short(c, NULL, out);
    const FieldDef *o[ARGS_MAX];
    int no = args_options(c, o, ARGS_MAX);
    for (int i = 0; i < no; i++) {
        sb_printf(out, " [--%s", o[i]->name);
        if (o[i]->kind != FK_FLAG) {
            sb_putc(out, ' ');
            args_meta(o[i], out);
        }
        sb_putc(out, ']');
    }
}

static int usage_fail(const Args *a, GrErr *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int usage_fail(const Args *a, GrErr *e, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    StrBuf u;
    sb_init(&u);
    usage_short(a->cmd, a->parent, &u);
    const FieldDef *o[ARGS_MAX];
    if (args_options(a->cmd, o, ARGS_MAX)) sb_puts(&u, " [options]");
    gr_fail(e, "%s (usage: %s)", what, u.s);
    sb_free(&u);
    return -1;
}

static const char *keep(Args *a, const char *s, size_t n)
{
    if (a->nstore >= (int)(sizeof a->store / sizeof a->store[0])) return "";
    char *c = strndup(s, n);
    if (!c) return "";
    a->store[a->nstore++] = c;
    return c;
}

/* The value's text: parse and check it, resolve paths. */
static int take(Session *s, Args *a, const FieldDef *f, int is_opt, const char *text, FieldVal *v, GrErr *e)
{
    char label[160];
    label_of(a, f, is_opt, label, sizeof label);
    double lo = NAN, hi = NAN;
    const GptConfig *c = s && s->m ? &s->m->cfg : NULL;
    if (f->dyn == DYN_LAYER && c) { lo = 0; hi = c->n_layer - 1; }
    if (f->dyn == DYN_HEAD && c) { lo = 0; hi = c->n_head - 1; }
    if (f->dyn == DYN_POS && s && s->trace) { lo = -s->trace->T; hi = s->trace->T - 1; }
    if (field_parse(f, label, text, lo, hi, v, e)) return -1;
    if ((f->kind == FK_PATH_IN || f->kind == FK_PATH_OUT) && v->choice < 0) {
        char path[4096];
        if (paths_resolve(s, text, f->kind == FK_PATH_OUT, path, sizeof path, e)) {
            char why[sizeof e->msg];
            snprintf(why, sizeof why, "%s", e->msg);
            return gr_fail(e, "%s: %s", label, why);
        }
        v->s = keep(a, path, strlen(path));
    } else {
        v->s = keep(a, text, strlen(text));
    }
    return 0;
}

static int find_option(const FieldDef **o, int no, const char *name, size_t len)
{
    for (int i = 0; i < no; i++)
        if (strlen(o[i]->name) == len && !strncmp(o[i]->name, name, len)) return i;
    return -1;
}

/* Does an unquoted text end before this word? It does at anything written as an option
 * ("--temp", "--frobnicate"): a known one is taken, an unknown one is an error, never text.
 * Quote the text to put "--" in it. */
static int names_option(const Word *w)
{
    return !w->quoted && w->text[0] == '-' && w->text[1] == '-' && w->text[2];
}

int args_parse(Session *s, const Command *c, const char *rest, Args *a, GrErr *e)
{
    memset(a, 0, sizeof *a);
    a->cmd = c;
    for (int i = 0; i < ARGS_MAX; i++) a->pos[i].choice = a->opt[i].choice = -1;
    Words w;
    if (words_split(rest, &w, e)) return -1;
    int wi = 0, rc = -1;
    if (c->subs) {
        StrBuf names;
        sb_init(&names);
        for (const Command *k = c->subs; k->name; k++) sb_printf(&names, "%s%s", k == c->subs ? "" : "|", k->name);
        FieldDef pick = {.name = "WHAT", .kind = FK_CHOICE, .choices = names.s};
        const Command *sub = NULL;
        if (w.n == 0 || w.w[0].quoted) {
            gr_fail(e, "%s: say which: %s (usage: %s %s ...)", c->name, names.s, c->name, names.s);
        } else {
            for (const Command *k = c->subs; k->name && !sub; k++)
                if (!strcmp(k->name, w.w[0].text)) sub = k;
            FieldVal v;
            char label[64];
            snprintf(label, sizeof label, "%s: WHAT", c->name);
            if (!sub) field_parse(&pick, label, w.w[0].text, NAN, NAN, &v, e);
        }
        sb_free(&names);
        if (!sub) goto out;
        a->parent = c;
        a->cmd = c = sub;
        wi = 1;
    }
    const FieldDef *o[ARGS_MAX];
    int no = args_options(c, o, ARGS_MAX), np = npos_rows(c);
    int text_row = np > 0 && is_textlike(&c->pos[np - 1]) ? np - 1 : -1;
    int singles[ARGS_MAX], nsingle = 0, text_done = 0;
    for (; wi < w.n; wi++) {
        const Word *x = &w.w[wi];
        /* An expression takes the rest of the line as it is ("--1" is a number there), but a
         * leading "--word" is a mistaken option, not an expression. */
        int rest_mode = text_row >= 0 && nsingle == text_row && c->pos[text_row].kind == FK_REST &&
                        !(x->text[0] == '-' && x->text[1] == '-' && isalpha((unsigned char)x->text[2]));
        if (!rest_mode && !x->quoted && !strncmp(x->text, "--", 2) && x->text[2]) {
            const char *nm = x->text + 2, *eq = strchr(nm, '=');
            size_t len = eq ? (size_t)(eq - nm) : strlen(nm);
            int k = find_option(o, no, nm, len);
            if (k < 0) {
                char name[80];
                snprintf(name, sizeof name, "%.*s", (int)(len < 70 ? len : 70), nm);
                const char *cands[ARGS_MAX];
                for (int i = 0; i < no; i++) cands[i] = o[i]->name;
                const char *sug = gr_suggest(name, cands, no);
                const char *who = a->parent ? a->parent->name : c->name;
                if (!no) gr_fail(e, "%s: unknown option '--%s' (%s takes no options)", c->name, name, c->name);
                else if (sug) gr_fail(e, "%s: unknown option '--%s' (did you mean '--%s'? 'help %s' lists the options)",
                                      c->name, name, sug, who);
                else gr_fail(e, "%s: unknown option '--%s' ('help %s' lists the options)", c->name, name, who);
                goto out;
            }
            if (a->opt[k].given) {
                gr_fail(e, "%s: --%s is given twice", c->name, o[k]->name);
                goto out;
            }
            if (o[k]->kind == FK_FLAG) {
                if (eq) { gr_fail(e, "%s: --%s takes no value", c->name, o[k]->name); goto out; }
                a->opt[k].given = 1;
                continue;
            }
            const char *val = eq ? eq + 1 : NULL;
            if (!val && wi + 1 < w.n && !(!w.w[wi + 1].quoted && !strncmp(w.w[wi + 1].text, "--", 2)))
                val = w.w[++wi].text;
            if (!val) {
                StrBuf d;
                sb_init(&d);
                field_describe(o[k], &d);
                gr_fail(e, "%s: --%s needs a value (%s)", c->name, o[k]->name, d.s);
                sb_free(&d);
                goto out;
            }
            if (take(s, a, o[k], 1, val, &a->opt[k], e)) goto out;
            continue;
        }
        if (text_row >= 0 && nsingle == text_row && !text_done) {
            const FieldDef *f = &c->pos[text_row];
            if (f->kind == FK_REST) {
                size_t end = strlen(rest);
                while (end > x->start && isspace((unsigned char)rest[end - 1])) end--;
                if (take(s, a, f, 0, keep(a, rest + x->start, end - x->start), &a->pos[text_row], e)) goto out;
                text_done = 1;
                break;
            }
            if (f->kind == FK_KV) {
                if (x->quoted || !strchr(x->text, '=')) {
                    usage_fail(a, e, "%s: expected key=value, not '%s'", c->name, x->text);
                    goto out;
                }
                if (a->nkv < ARGS_KV_MAX) a->kv[a->nkv++] = keep(a, x->text, strlen(x->text));
                a->pos[text_row].given = 1;
                continue;
            }
            /* FK_TEXT: one quoted word, or the words up to the next option, as typed */
            const char *val;
            if (x->quoted) {
                val = x->text;
            } else {
                int j = wi;
                while (j + 1 < w.n && !names_option(&w.w[j + 1])) j++;
                val = keep(a, rest + x->start, w.w[j].end - x->start);
                wi = j;
            }
            if (take(s, a, f, 0, val, &a->pos[text_row], e)) goto out;
            text_done = 1;
            continue;
        }
        int room = text_row >= 0 ? text_row : np;
        if (text_done || nsingle >= room) {
            usage_fail(a, e, "%s: unexpected argument '%s'", c->name, x->text);
            goto out;
        }
        singles[nsingle++] = wi;
    }
    /* Positional words to rows: optional rows only when there are words to spare. */
    int room = text_row >= 0 ? text_row : np, required = 0;
    for (int i = 0; i < room; i++) required += !(c->pos[i].flags & FF_OPTIONAL);
    int spare = nsingle - required, k = 0;
    for (int i = 0; i < room; i++) {
        const FieldDef *f = &c->pos[i];
        if (f->flags & FF_OPTIONAL) {
            if (spare <= 0) continue;
            spare--;
        } else if (k >= nsingle) {
            char label[160];
            label_of(a, f, 0, label, sizeof label);
            usage_fail(a, e, "%s is missing", label);
            goto out;
        }
        if (take(s, a, f, 0, w.w[singles[k++]].text, &a->pos[i], e)) goto out;
    }
    if (text_row >= 0 && !a->pos[text_row].given && !(c->pos[text_row].flags & FF_OPTIONAL)) {
        char label[160];
        label_of(a, &c->pos[text_row], 0, label, sizeof label);
        usage_fail(a, e, "%s is missing", label);
        goto out;
    }
    rc = 0;
out:
    words_free(&w);
    if (rc) args_free(a);
    return rc;
}

void args_free(Args *a)
{
    for (int i = 0; i < a->nstore; i++) free(a->store[i]);
    a->nstore = 0;
}

const FieldVal *arg(const Args *a, const char *name)
{
    const Command *c = a->cmd;
    for (int i = 0; c->pos && c->pos[i].name; i++)
        if (!strcmp(c->pos[i].name, name)) return &a->pos[i];
    const FieldDef *o[ARGS_MAX];
    int no = args_options(c, o, ARGS_MAX);
    for (int i = 0; i < no; i++)
        if (!strcmp(o[i]->name, name)) return &a->opt[i];
    fprintf(stderr, "internal error: command '%s' has no argument '%s'\n", c->name, name);
    abort();
}

int arg_given(const Args *a, const char *name) { return arg(a, name)->given; }
long arg_int(const Args *a, const char *name, long dflt)
{
    const FieldVal *v = arg(a, name);
    return v->given ? v->i : dflt;
}
double arg_num(const Args *a, const char *name, double dflt)
{
    const FieldVal *v = arg(a, name);
    return v->given ? v->d : dflt;
}
const char *arg_str(const Args *a, const char *name, const char *dflt)
{
    const FieldVal *v = arg(a, name);
    return v->given ? v->s : dflt;
}

/* ---------------- help ---------------- */

static void help_row(StrBuf *out, const char *name, const FieldDef *f)
{
    StrBuf d;
    sb_init(&d);
    field_describe(f, &d);
    int w = gr_utf8_width(name, strlen(name));
    sb_printf(out, "  %s%*s %s", name, w < 20 ? 20 - w : 1, "", f->help ? f->help : "");
    sb_printf(out, "%s(%s)\n", f->help ? " " : "", d.s);
    sb_free(&d);
}

void args_help(const Command *c, const Command *parent, StrBuf *out)
{
    StrBuf u;
    sb_init(&u);
    usage_short(c, parent, &u);
    const FieldDef *o[ARGS_MAX];
    int no = args_options(c, o, ARGS_MAX);
    sb_printf(out, "usage: %s%s\n  %s\n", u.s, no ? " [options]" : "", c->summary);
    sb_free(&u);
    for (const FieldDef *f = c->pos; f && f->name; f++) {
        StrBuf m;
        sb_init(&m);
        args_meta(f, &m);
        help_row(out, m.s, f);
        sb_free(&m);
        if (f->kind == FK_KV && f->kv)
            for (const FieldDef *k = f->kv(); k->name; k++) {
                char nm[64];
                snprintf(nm, sizeof nm, "  %s=", k->name);
                help_row(out, nm, k);
            }
    }
    if (no) sb_puts(out, "options:\n");
    for (int i = 0; i < no; i++) {
        StrBuf m;
        sb_init(&m);
        sb_printf(&m, "--%s", o[i]->name);
        if (o[i]->kind != FK_FLAG) {
            sb_putc(&m, ' ');
            args_meta(o[i], &m);
        }
        help_row(out, m.s, o[i]);
        sb_free(&m);
    }
    if (c->subs) {
        sb_puts(out, "pictures:\n");
        for (const Command *k = c->subs; k->name; k++) {
            StrBuf m;
            sb_init(&m);
            usage_short(k, c, &m);
            int w = gr_utf8_width(m.s, m.len);
            sb_printf(out, "  %s%*s %s\n", m.s, w < 44 ? 44 - w : 1, "", k->summary);
            sb_free(&m);
        }
        sb_printf(out, "  ('help %s WHAT' for the options of each)\n", c->name);
    }
    if (c->help) sb_printf(out, "%s\n", c->help);
}
