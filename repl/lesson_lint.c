/* lesson_lint.c — what a lesson needs (`// needs: ...`, honoured by the runner) and
 * `lesson --lint`: for course authors, the checks the runner cannot do while teaching. */
#include "cmds.h"
#include "expr.h"
#include "hub.h"
#include "lesson.h"
#include "paths.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- needs: one row per thing a lesson may need ---- */

static int have_gpt2_weights(void)
{
    char path[4400];
    GrErr e;
    return hub_locate(hub_find("gpt2"), path, sizeof path, &e) == 0;
}

static int have_gpt2_tokenizer(void)
{
    const char *dirs[8];
    int nd = paths_model_dirs(dirs, 8);
    for (int i = 0; i < nd; i++) {
        char p[4200];
        struct stat st;
        snprintf(p, sizeof p, "%s/gpt2/encoder.json", dirs[i]);
        if (stat(p, &st) == 0) return 1;
    }
    return 0;
}

static int not_skipping_slow(void)
{
    const char *v = getenv("GPTREPL_SKIP_SLOW");
    return !(v && *v && strcmp(v, "0"));
}

static const struct {
    const char *name;
    int (*met)(void);
    const char *why; /* said when the lesson is skipped */
} NEEDS[] = {
    {"gpt2-weights", have_gpt2_weights, "the trained GPT-2 weights are not downloaded ('load gpt2' at the prompt fetches them)"},
    {"gpt2-tokenizer", have_gpt2_tokenizer, "the GPT-2 tokenizer files are missing from models/gpt2/ ('make gpt2-tokenizer')"},
    {"slow", not_skipping_slow, "it takes minutes, and GPTREPL_SKIP_SLOW is set (valgrind and sanitizer runs)"},
};
#define NNEEDS (int)(sizeof NEEDS / sizeof NEEDS[0])

/* Calls fn for each word of every `// needs: a | b` line (a note before the first prose). */
static int each_need(const Lesson *l, int (*fn)(void *ctx, const char *word, int line), void *ctx)
{
    for (int i = 0; i < l->n; i++) {
        const LessonItem *it = &l->items[i];
        if (it->kind != LI_NOTE) continue;
        const char *p = it->text;
        while (*p == ' ') p++;
        if (strncmp(p, "needs:", 6)) continue;
        char buf[512];
        snprintf(buf, sizeof buf, "%s", p + 6);
        for (char *tok = strtok(buf, "|, "); tok; tok = strtok(NULL, "|, ")) {
            int rc = fn(ctx, tok, it->line);
            if (rc) return rc;
        }
    }
    return 0;
}

typedef struct {
    StrBuf *why;
    int unknown;
} NeedCtx;

static int check_need(void *ctx, const char *word, int line)
{
    NeedCtx *c = ctx;
    for (int i = 0; i < NNEEDS; i++)
        if (!strcmp(word, NEEDS[i].name)) {
            if (!NEEDS[i].met()) {
                sb_printf(c->why, "needs %s: %s", word, NEEDS[i].why);
                return 1;
            }
            return 0;
        }
    sb_printf(c->why, "line %d: unknown need '%s' (gpt2-weights, gpt2-tokenizer, slow)", line, word);
    c->unknown = 1;
    return 1;
}

int lesson_unmet_need(const Lesson *l, StrBuf *why)
{
    NeedCtx c = {why, 0};
    return each_need(l, check_need, &c) ? (c.unknown ? -1 : 1) : 0;
}

/* ---- lint ---- */

/* Options before the text (run --as NAME TEXT) stay, with the value of each one that
 * takes a value (the command table says which); returns where the text begins. */
static const char *keep_leading_options(const char *cmd, size_t w, const char *q, StrBuf *o)
{
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)(w < sizeof name ? w : sizeof name - 1), cmd);
    const Command *c = cmd_find(name);
    const FieldDef *opts[64];
    int n = c ? args_options(c, opts, 64) : 0;
    while (q[0] == '-' && q[1] == '-') {
        size_t k = strcspn(q, " ");
        int takes_value = 0;
        for (int i = 0; i < n; i++)
            if (strlen(opts[i]->name) == k - 2 && !strncmp(opts[i]->name, q + 2, k - 2)) takes_value = opts[i]->kind != FK_FLAG;
        if (takes_value) {
            const char *v = q + k;
            while (*v == ' ') v++;
            k = (size_t)(v - q) + strcspn(v, " ");
        }
        sb_printf(o, " %.*s", (int)k, q);
        q += k;
        while (*q == ' ') q++;
    }
    return q;
}

/* A command as parity compares it: the prompt texts ("..." or the rest of run, step,
 * tokens, generate N) may be in the lesson's language; everything else is identical. */
static void normalise(const LessonItem *it, StrBuf *o)
{
    sb_clear(o);
    sb_putc(o, it->kind == LI_CHECK ? '?' : it->kind == LI_FAIL ? '!' : '>');
    const char *p = it->text;
    while (*p == ' ') p++;
    size_t w = strcspn(p, " ");
    int text_cmd = (w == 3 && !strncmp(p, "run", 3)) || (w == 4 && !strncmp(p, "step", 4)) ||
                   (w == 6 && !strncmp(p, "tokens", 6));
    int gen = w == 8 && !strncmp(p, "generate", 8);
    if (text_cmd || gen) {
        sb_putn(o, p, w);
        const char *q = p + w;
        while (*q == ' ') q++;
        q = keep_leading_options(p, w, q, o);
        if (gen) { /* the count stays */
            size_t k = strcspn(q, " ");
            sb_printf(o, " %.*s", (int)k, q);
            q += k;
            while (*q == ' ') q++;
        }
        /* options after the text stay too */
        const char *opt = strstr(q, " --");
        if (*q && *q != '-') sb_puts(o, " …");
        if (opt) sb_puts(o, opt);
        else if (*q == '-') sb_printf(o, " %s", q);
        return;
    }
    for (int inq = 0; *p; p++) { /* other commands: only their quoted texts */
        if (*p == '"' && (p == it->text || p[-1] != '\\')) {
            if (!inq) sb_puts(o, "\"…\"");
            inq = !inq;
            continue;
        }
        if (!inq) sb_putc(o, *p);
    }
}

/* A lookup that says every name is unknown: a check it evaluates uses none. */
static int no_names(void *ctx, const char *name, TensorView *out, GrErr *e)
{
    (void)out;
    *(int *)ctx = 1;
    return gr_fail(e, "'%s'", name);
}

static int is_run_item(int k) { return k == LI_CMD || k == LI_CHECK || k == LI_FAIL; }

/* The lesson in the other language: ROOT/LANG/NAME.lesson → ROOT/OTHER/NAME.lesson. */
static int sibling(const char *path, char *out, size_t n, char *lang, char *other)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash - path < 3) return -1;
    const char *l = slash - 2;
    if (l > path && l[-1] != '/') return -1;
    if (strncmp(l, "en", 2) && strncmp(l, "vi", 2)) return -1;
    snprintf(lang, 3, "%.2s", l);
    snprintf(other, 3, "%s", !strncmp(l, "en", 2) ? "vi" : "en");
    snprintf(out, n, "%.*s%s%s", (int)(l - path), path, other, slash);
    struct stat st;
    return stat(out, &st) == 0 ? 0 : -1;
}

static int read_lesson(const char *path, Lesson *l, GrErr *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return gr_fail(e, "cannot open %s", path);
    StrBuf t;
    sb_init(&t);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(&t, buf, k);
    fclose(f);
    int rc = lesson_parse(t.s ? t.s : "", t.len, l, e);
    sb_free(&t);
    return rc;
}

/* Runs the lesson in a fresh gptrepl (so the session is untouched): seconds, or -1. */
static double time_run(const char *path, int *status)
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", 1);
        if (null >= 0) { dup2(null, 1); dup2(null, 2); }
        execl("/proc/self/exe", "gptrepl", "--empty", "--lesson", path, "--batch", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) return -1;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return (now_ms() - t0) / 1e3;
}

/* One file: its problems as "path:line: ..." lines; returns how many. */
static int lint_one(Session *s, const char *path, int timed)
{
    Lesson l;
    GrErr e;
    int bad = 0;
    if (read_lesson(path, &l, &e)) {
        sb_printf(&s->out, "%s: %s\n", path, e.msg);
        return 1;
    }
    StrBuf why;
    sb_init(&why);
    if (lesson_unmet_need(&l, &why) < 0) {
        sb_printf(&s->out, "%s: %s\n", path, why.s);
        bad++;
    }
    int checks = 0;
    for (int i = 0; i < l.n; i++) {
        const LessonItem *it = &l.items[i];
        if (it->kind != LI_CHECK) continue;
        checks++;
        int used = 0;
        ExprValue v;
        GrErr ee;
        if (!expr_eval(it->text, no_names, &used, &v, &ee)) {
            expr_value_free(&v);
            sb_printf(&s->out, "%s:%d: the check '%s' cannot fail: it uses no tensor or scalar\n", path, it->line, it->text);
            bad++;
        }
    }
    char other[4200], lang[3], olang[3];
    const char *parity = "";
    if (!sibling(path, other, sizeof other, lang, olang)) {
        Lesson o;
        if (read_lesson(other, &o, &e)) {
            sb_printf(&s->out, "%s: %s\n", other, e.msg);
            bad++;
        } else {
            StrBuf a, b;
            sb_init(&a);
            sb_init(&b);
            int i = 0, j = 0;
            for (;;) {
                while (i < l.n && !is_run_item(l.items[i].kind)) i++;
                while (j < o.n && !is_run_item(o.items[j].kind)) j++;
                if (i >= l.n || j >= o.n) {
                    if (i < l.n || j < o.n) {
                        sb_printf(&s->out, "%s: %s has %s commands and checks than %s (from line %d)\n", path, lang,
                                  i < l.n ? "more" : "fewer", olang, i < l.n ? l.items[i].line : o.items[j].line);
                        bad++;
                    }
                    break;
                }
                normalise(&l.items[i], &a);
                normalise(&o.items[j], &b);
                if (strcmp(a.s, b.s)) {
                    sb_printf(&s->out, "%s:%d: differs from %s line %d: '%s' vs '%s' (only prompt text may differ)\n", path,
                              l.items[i].line, other, o.items[j].line, l.items[i].text, o.items[j].text);
                    bad++;
                    break;
                }
                i++, j++;
            }
            sb_free(&a);
            sb_free(&b);
            if (!bad) parity = ", same commands and checks as ";
            lesson_free(&o);
        }
    }
    sb_printf(&s->out, "%s: %d check%s%s%s", path, checks, checks == 1 ? "" : "s", parity, *parity ? olang : "");
    if (timed) {
        int status = 0;
        double secs = time_run(path, &status);
        sb_printf(&s->out, ", ran in %.1f s%s", secs, status ? " (FAILED)" : "");
        bad += status != 0;
    }
    sb_puts(&s->out, bad ? "\n" : " — ok\n");
    sb_free(&why);
    lesson_free(&l);
    return bad;
}

static int is_lesson(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 7 && !strcmp(d->d_name + n - 7, ".lesson");
}

static void lesson_list_dir(const char *dir, StrBuf *out)
{
    struct dirent **names;
    int n = scandir(dir, &names, is_lesson, alphasort);
    for (int i = 0; i < n; i++) {
        sb_printf(out, "%s/%s\n", dir, names[i]->d_name);
        free(names[i]);
    }
    if (n >= 0) free(names);
}

int lesson_lint(Session *s, const char *name, int timed, GrErr *e)
{
    int bad = 0, n = 0;
    if (!strcmp(name, "all")) {
        const char *roots[8];
        int nr = paths_lesson_roots(roots, 8);
        for (int r = 0; r < nr; r++)
            for (int k = 0; k < 2; k++) {
                char dir[4200];
                snprintf(dir, sizeof dir, "%s/%s", roots[r], k ? "vi" : "en");
                StrBuf list;
                sb_init(&list);
                lesson_list_dir(dir, &list);
                for (char *p = list.s; p && *p;) {
                    char *nl = strchr(p, '\n');
                    if (nl) *nl = 0;
                    if (*p) { bad += lint_one(s, p, timed); n++; }
                    p = nl ? nl + 1 : p + strlen(p);
                }
                sb_free(&list);
                if (s->flush) s->flush(s);
            }
    } else {
        char path[PATH_MAX], root[PATH_MAX];
        if (lesson_find(name, path, sizeof path, root, sizeof root)) return gr_fail(e, "lesson --lint: no lesson '%s'", name);
        bad = lint_one(s, path, timed);
        n = 1;
    }
    if (bad) return gr_fail(e, "lesson --lint: %d problem%s in %d lesson%s", bad, bad == 1 ? "" : "s", n, n == 1 ? "" : "s");
    return 0;
}
