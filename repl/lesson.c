/* lesson.c — lesson scripts: the parser, finding them, and the one stepper that runs them.
 *
 * The stepper writes to the session's output sink and reports errors through it, so the
 * same code runs a lesson in --batch (CI), at the plain prompt (pausing between
 * paragraphs) and in the TUI (which calls lesson_step on Enter). */
#include "lesson.h"
#include "cmds.h"
#include "paths.h"
#include "safetensors.h" /* gr_atomic_write */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------- the format ---------------- */

int lesson_parse(const char *text, size_t len, Lesson *out, GrErr *e)
{
    memset(out, 0, sizeof *out);
    int cap = 0, line = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n') j++;
        line++;
        size_t n = j - i;
        if (n && text[i + n - 1] == '\r') n--;
        if (memchr(text + i, 0, n)) { lesson_free(out); return gr_fail(e, "line %d: a NUL byte in a lesson", line); }
        if (n > 4000) { lesson_free(out); return gr_fail(e, "line %d: longer than 4000 bytes", line); }
        const char *l = text + i;
        int kind = LI_PROSE;
        size_t skip = 0;
        if (n == 0) kind = LI_BREAK;
        else if (line == 1 && n >= 2 && l[0] == '#' && l[1] == ' ') { kind = LI_TITLE; skip = 2; }
        else if (l[0] == '>') { kind = LI_CMD; skip = 1; }
        else if (l[0] == '?') { kind = LI_CHECK; skip = 1; }
        else if (l[0] == '!') { kind = LI_FAIL; skip = 1; }
        else if (n >= 2 && l[0] == '/' && l[1] == '/') { kind = LI_NOTE; skip = 2; }
        while (skip < n && (kind == LI_CMD || kind == LI_CHECK || kind == LI_FAIL) && l[skip] == ' ') skip++;
        if ((kind == LI_CMD || kind == LI_CHECK || kind == LI_FAIL) && skip >= n) {
            lesson_free(out);
            return gr_fail(e, "line %d: '%c' with nothing after it", line, l[0]);
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            LessonItem *ni = realloc(out->items, sizeof(LessonItem) * (size_t)cap);
            if (!ni) { lesson_free(out); return gr_fail(e, "out of memory"); }
            out->items = ni;
        }
        LessonItem *it = &out->items[out->n++];
        it->kind = kind;
        it->line = line;
        it->text = strndup(l + skip, n - skip);
        if (kind == LI_TITLE && !out->title) out->title = strdup(it->text);
        i = j + 1;
    }
    return 0;
}

void lesson_free(Lesson *l)
{
    for (int i = 0; i < l->n; i++) free(l->items[i].text);
    free(l->items);
    free(l->title);
    memset(l, 0, sizeof *l);
}

/* ---------------- finding lessons ---------------- */

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The root a lesson file belongs to: the folder holding its language folder when that
 * looks like a lessons tree (it has data/ or en/), else the file's own folder. */
static void root_of(const char *file, char *root, size_t rn)
{
    char real[PATH_MAX];
    if (!realpath(file, real)) { root[0] = 0; return; }
    char *s = strrchr(real, '/');
    *s = 0; /* real: the lesson's folder */
    char up[PATH_MAX];
    snprintf(up, sizeof up, "%s", real);
    char *t = strrchr(up, '/');
    if (t && t > up) {
        *t = 0;
        char d1[PATH_MAX + 8], d2[PATH_MAX + 8];
        snprintf(d1, sizeof d1, "%s/data", up);
        snprintf(d2, sizeof d2, "%s/en", up);
        if (is_dir(d1) || is_dir(d2)) { snprintf(root, rn, "%s", up); return; }
    }
    snprintf(root, rn, "%s", real);
}

int lesson_find(const char *name, char *path, size_t n, char *root, size_t rn)
{
    if (strchr(name, '/') && is_file(name)) {
        snprintf(path, n, "%s", name);
        root_of(path, root, rn);
        return 0;
    }
    const char *roots[8];
    int nr = paths_lesson_roots(roots, 8);
    const char *fmts[] = {"%s/%s.lesson", "%s/en/%s.lesson", "%s/%s"};
    for (int r = 0; r < nr; r++)
        for (int i = 0; i < 3; i++) {
            snprintf(path, n, fmts[i], roots[r], name);
            if (is_file(path)) {
                root_of(path, root, rn);
                return 0;
            }
        }
    return -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void lesson_list(StrBuf *out)
{
    const char *roots[8];
    int nr = paths_lesson_roots(roots, 8), any = 0;
    for (int r = 0; r < nr; r++) {
        DIR *d = opendir(roots[r]);
        if (!d) continue;
        char *langs[64];
        int nl = 0;
        struct dirent *de;
        while ((de = readdir(d)) && nl < 64)
            if (de->d_name[0] != '.' && strcmp(de->d_name, "data")) langs[nl++] = strdup(de->d_name);
        closedir(d);
        qsort(langs, (size_t)nl, sizeof(char *), cmp_str);
        for (int l = 0; l < nl; l++) {
            char dir[PATH_MAX + 300];
            snprintf(dir, sizeof dir, "%s/%s", roots[r], langs[l]);
            DIR *dd = opendir(dir);
            if (!dd) { free(langs[l]); continue; }
            char *names[512];
            int k = 0;
            while ((de = readdir(dd)) && k < 512) {
                size_t len = strlen(de->d_name);
                if (len > 7 && !strcmp(de->d_name + len - 7, ".lesson")) names[k++] = strdup(de->d_name);
            }
            closedir(dd);
            qsort(names, (size_t)k, sizeof(char *), cmp_str);
            if (k) sb_printf(out, "%s:\n", langs[l]);
            for (int i = 0; i < k; i++) {
                char p[PATH_MAX * 2], title[256] = "";
                snprintf(p, sizeof p, "%s/%s", dir, names[i]);
                FILE *f = fopen(p, "r");
                if (f) {
                    if (fgets(title, sizeof title, f)) title[strcspn(title, "\n")] = 0;
                    fclose(f);
                }
                names[i][strlen(names[i]) - 7] = 0;
                char nm[600];
                snprintf(nm, sizeof nm, "%s/%s", langs[l], names[i]);
                sb_printf(out, "  %-30s %s\n", nm, title[0] == '#' ? title + 2 : title);
                free(names[i]);
                any = 1;
            }
            free(langs[l]);
        }
    }
    if (!any) sb_puts(out, "(no lessons found: they live in lessons/ beside gptrepl, or in $GPTREPL_LESSONS)\n");
}

/* ---------------- running ---------------- */

int lesson_open(Session *s, const char *name, LessonRun *L, GrErr *e)
{
    memset(L, 0, sizeof *L);
    if (lesson_find(name, L->path, sizeof L->path, L->root, sizeof L->root))
        return gr_fail(e, "no lesson named '%s'. Available lessons:", name);
    FILE *f = fopen(L->path, "rb");
    if (!f) return gr_fail(e, "cannot open %s: %s", L->path, strerror(errno));
    StrBuf text;
    sb_init(&text);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(&text, buf, k);
    fclose(f);
    GrErr pe;
    int rc = lesson_parse(text.s ? text.s : "", text.len, &L->les, &pe);
    sb_free(&text);
    if (rc) {
        /* "line N: why" → reported as "path:N: error: why" */
        const char *why = strchr(pe.msg, ':');
        L->err_line = atoi(pe.msg + 5);
        return gr_fail(e, "%s", why ? why + 2 : pe.msg);
    }
    /* Its name: LANG/NAME inside a lessons tree, else the file's name. */
    const char *base = strrchr(L->path, '/');
    base = base ? base + 1 : L->path;
    char real[PATH_MAX];
    if (L->root[0] && realpath(L->path, real) && !strncmp(real, L->root, strlen(L->root)))
        snprintf(L->name, sizeof L->name, "%.200s", real + strlen(L->root) + 1);
    else snprintf(L->name, sizeof L->name, "%.200s", base);
    size_t nl = strlen(L->name);
    if (nl > 7 && !strcmp(L->name + nl - 7, ".lesson")) L->name[nl - 7] = 0;
    /* Its output folder (made when the lesson first writes): --out, else one per user and
     * lesson in the cache. */
    if (s->lesson_out) {
        snprintf(L->outdir, sizeof L->outdir, "%s", s->lesson_out);
    } else {
        char sub[300];
        snprintf(sub, sizeof sub, "lessons/%s", L->name);
        for (char *p = sub + 8; *p; p++) if (*p == '/') *p = '-';
        if (paths_cache_dir(sub, L->outdir, sizeof L->outdir, e)) { lesson_free(&L->les); return -1; }
    }
    return 0;
}

void lesson_close(LessonRun *L) { lesson_free(&L->les); }

/* Runs one command line of the lesson with its files confined. */
static int run_confined(Session *s, LessonRun *L, const char *line)
{
    LessonRun *saved = s->lesson;
    s->lesson = L;
    int before = s->errors;
    session_exec_multi(s, line); /* 'quit' in a lesson does not leave gptrepl */
    s->lesson = saved;
    return s->errors > before;
}

static void echo(Session *s, const char *prefix, const char *text)
{
    int bold = s->color != VIZ_COLOR_NONE;
    sb_printf(&s->out, "%s%s", bold ? "\x1b[1m" : "", prefix);
    viz_text_escape(&s->out, text);
    sb_printf(&s->out, "%s\n", bold ? "\x1b[0m" : "");
}

static void save_position(const LessonRun *L);

int lesson_step(Session *s, LessonRun *L)
{
    const char *saved_file = s->src_file;
    s->src_file = L->path;
    int paused = 0;
    for (; L->i < L->les.n && !paused; L->i++) {
        const LessonItem *it = &L->les.items[L->i];
        s->src_line = it->line;
        switch (it->kind) {
        case LI_TITLE:
        case LI_PROSE:
            sb_printf(&s->out, "%s\n", it->text);
            break;
        case LI_NOTE:
            break;
        case LI_CMD:
            echo(s, "> ", it->text);
            if (s->flush) s->flush(s);
            L->cmd_errors += run_confined(s, L, it->text);
            break;
        case LI_CHECK: {
            char cbuf[4100];
            snprintf(cbuf, sizeof cbuf, "check %s", it->text);
            L->checks++;
            L->failed += run_confined(s, L, cbuf);
            break;
        }
        case LI_FAIL: {
            echo(s, "> ", it->text);
            GrErr e = {{0}};
            LessonRun *saved = s->lesson;
            s->lesson = L;
            int rc = session_exec(s, it->text, &e);
            s->lesson = saved;
            L->checks++;
            if (rc == CMD_ERR) {
                sb_printf(&s->out, "error (expected): %s\n", e.msg);
            } else {
                char msg[1200];
                snprintf(msg, sizeof msg, "expected '%s' to fail", it->text);
                if (s->flush) s->flush(s);
                session_report(s, msg);
                s->errors++;
                L->failed++;
            }
            break;
        }
        case LI_BREAK:
            sb_putc(&s->out, '\n');
            if (!L->batch && L->i > L->para_start) {
                paused = 1;
                L->i--; /* stays on the break; lesson_resume moves past it */
                save_position(L);
            }
            break;
        }
        if (s->flush) s->flush(s);
    }
    s->src_file = saved_file;
    return paused;
}

/* Paragraph breaks that end a non-empty paragraph, before item `upto`. */
static int paras_before(const LessonRun *L, int upto)
{
    int n = 0, content = 0;
    for (int i = 0; i < upto && i < L->les.n; i++) {
        int k = L->les.items[i].kind;
        if (k == LI_BREAK) {
            if (content) n++;
            content = 0;
        } else if (k != LI_NOTE) {
            content = 1;
        }
    }
    return n;
}

int lesson_paragraph(const LessonRun *L)
{
    /* paused on a break, the paragraph it ends (the one just shown); after lesson_resume,
     * the next one */
    return paras_before(L, L->i) + 1;
}

int lesson_paragraphs(const LessonRun *L)
{
    int n = paras_before(L, L->les.n);
    int content = 0;
    for (int i = L->les.n - 1; i >= 0 && L->les.items[i].kind != LI_BREAK; i--)
        if (L->les.items[i].kind != LI_NOTE) content = 1;
    return n + content;
}

/* $XDG_STATE_HOME/gptrepl/lesson-positions: "NAME PARAGRAPH" lines. */
static void positions_path(char *buf, size_t n)
{
    const char *st = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (st && *st == '/') snprintf(buf, n, "%s/gptrepl/lesson-positions", st);
    else snprintf(buf, n, "%s/.local/state/gptrepl/lesson-positions", home && *home ? home : ".");
}

int lesson_saved_paragraph(const char *name)
{
    char path[1200], line[600];
    positions_path(path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int para = 0;
    while (fgets(line, sizeof line, f)) {
        char nm[512];
        int p;
        if (sscanf(line, "%511s %d", nm, &p) == 2 && !strcmp(nm, name) && p > 0) para = p;
    }
    fclose(f);
    return para;
}

/* Saved at every pause; best effort (a read-only home only loses the bookmark). */
static void save_position(const LessonRun *L)
{
    char path[1200];
    positions_path(path, sizeof path);
    StrBuf keep;
    sb_init(&keep);
    FILE *f = fopen(path, "r");
    char line[600];
    while (f && fgets(line, sizeof line, f)) {
        char nm[512];
        if (sscanf(line, "%511s", nm) == 1 && strcmp(nm, L->name)) sb_puts(&keep, line);
    }
    if (f) fclose(f);
    sb_printf(&keep, "%s %d\n", L->name, lesson_paragraph(L));
    char dir[1200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        GrErr e;
        paths_mkdirs(dir, &e);
    }
    StChunk ch = {keep.s, keep.len};
    GrErr e;
    gr_atomic_write(path, &ch, 1, &e);
    sb_free(&keep);
}

int lesson_skip_to(Session *s, LessonRun *L, int para, GrErr *e)
{
    int total = lesson_paragraphs(L);
    if (para < 1 || para > total)
        return gr_fail(e, "lesson %s has %d paragraph%s, not %d", L->name, total, total == 1 ? "" : "s", para);
    int batch = L->batch;
    L->batch = 0;
    void (*flush)(Session *) = s->flush;
    s->flush = NULL; /* nothing of the skipped paragraphs is shown */
    while (lesson_paragraph(L) < para) {
        size_t keep = s->out.len;
        int paused = lesson_step(s, L);
        s->out.len = keep;
        if (s->out.s) s->out.s[keep] = 0;
        if (!paused) break;
        lesson_resume(L, 0);
    }
    s->flush = flush;
    L->batch = batch;
    sb_printf(&s->out, "%s — from paragraph %d of %d (%s ran without being shown)\n\n", L->les.title ? L->les.title : L->name,
              para, total, para == 2 ? "paragraph 1" : "the ones before");
    return 0;
}

void lesson_resume(LessonRun *L, int back)
{
    if (back) {
        L->i = L->prev_para;
        L->para_start = L->prev_para;
    } else {
        L->prev_para = L->para_start;
        L->i++;
        L->para_start = L->i;
    }
}

int lesson_finish(Session *s, LessonRun *L)
{
    sb_printf(&s->out, "lesson %s: %d check%s, %d failed, %d command error%s\n", L->name, L->checks,
              L->checks == 1 ? "" : "s", L->failed, L->cmd_errors, L->cmd_errors == 1 ? "" : "s");
    if (s->flush) s->flush(s);
    return L->failed || L->cmd_errors ? -1 : 0;
}

/* Between paragraphs at the plain prompt: Enter or "next" goes on, "back" repeats the
 * previous paragraph, "quit" leaves; any other line runs as a command (the user's own:
 * not confined). Returns -1 to stop, 1 to go back, 0 to go on. */
static int pause_for_user(Session *s, const LessonRun *L)
{
    for (;;) {
        printf("\n-- ¶ %d/%d · Enter: next · back · quit · or type a command -- ", lesson_paragraph(L),
               lesson_paragraphs(L));
        fflush(stdout);
        char buf[1024];
        if (!fgets(buf, sizeof buf, stdin)) return -1;
        buf[strcspn(buf, "\n")] = 0;
        if (!buf[0] || !strcmp(buf, "next")) return 0;
        if (!strcmp(buf, "back")) return 1;
        if (!strcmp(buf, "quit")) return -1;
        session_exec_multi(s, buf);
    }
}

void lesson_report_open(Session *s, const LessonRun *L, const GrErr *e)
{
    const char *file = s->src_file;
    int line = s->src_line;
    if (L->err_line) {
        s->src_file = L->path;
        s->src_line = L->err_line;
    }
    session_report(s, e->msg);
    s->src_file = file;
    s->src_line = line;
    if (strstr(e->msg, "Available lessons")) {
        lesson_list(&s->out);
        if (s->flush) s->flush(s);
    }
}

int lesson_run_file(Session *s, const char *name, int batch)
{
    LessonRun L;
    GrErr e;
    if (lesson_open(s, name, &L, &e)) {
        lesson_report_open(s, &L, &e);
        s->errors++;
        return -1;
    }
    L.batch = batch;
    StrBuf why;
    sb_init(&why);
    if (lesson_unmet_need(&L.les, &why) > 0) {
        /* counted as skipped, not failed: it says why */
        sb_printf(&s->out, "lesson %s: skipped (%s)\n", L.name, why.s);
        if (s->flush) s->flush(s);
        sb_free(&why);
        s->lesson_start_para = 0;
        lesson_close(&L);
        return 0;
    }
    sb_free(&why);
    int at = s->lesson_start_para;
    s->lesson_start_para = 0;
    if (at > 1 && lesson_skip_to(s, &L, at, &e)) {
        session_report(s, e.msg);
        s->errors++;
        lesson_close(&L);
        return -1;
    }
    while (lesson_step(s, &L)) {
        int r = pause_for_user(s, &L);
        if (r < 0) break;
        lesson_resume(&L, r == 1);
    }
    int rc = lesson_finish(s, &L);
    lesson_close(&L);
    return rc;
}

int cmd_lesson(Session *s, const Args *a, GrErr *e)
{
    const FieldVal *n = arg(a, "name");
    if (!n->given) {
        lesson_list(&s->out);
        return CMD_OK;
    }
    if (s->lesson) return gr_fail(e, "lesson: a lesson cannot start another lesson"), CMD_ERR;
    if (arg_given(a, "lint")) return lesson_lint(s, n->s, arg_given(a, "time"), e) ? CMD_ERR : CMD_OK;
    s->lesson_start_para = (int)arg_int(a, "at", 0);
    if (arg_given(a, "resume")) {
        char path[PATH_MAX], root[PATH_MAX];
        /* the bookmark is kept under the lesson's own name: LANG/NAME, or the file's */
        int at = lesson_saved_paragraph(n->s);
        if (!at && !lesson_find(n->s, path, sizeof path, root, sizeof root)) {
            LessonRun probe;
            GrErr pe;
            if (!lesson_open(s, n->s, &probe, &pe)) {
                at = lesson_saved_paragraph(probe.name);
                lesson_close(&probe);
            }
        }
        s->lesson_start_para = at;
        if (!at) sb_printf(&s->out, "(no bookmark for %s yet: starting at the beginning)\n", n->s);
    }
    if (s->start_lesson) return s->start_lesson(s, n->s, e) ? CMD_ERR : CMD_OK;
    if (s->flush) s->flush(s);
    int before = s->errors;
    int rc = lesson_run_file(s, n->s, s->lesson_batch || !isatty(0));
    if (rc || s->errors > before) {
        /* failures were reported and counted inside; count the lesson once */
        s->errors = before;
        return gr_fail(e, "lesson %s had failures (see above)", n->s), CMD_ERR;
    }
    return CMD_OK;
}
