/* lesson.c — lesson scripts: prose is shown, "> cmd" lines run, "? expr" lines are checks.
 * Interactive mode pauses between paragraphs; batch mode runs through and counts failures. */
#include "session.h"
#include "lesson.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *lessons_dir(void)
{
    const char *d = getenv("GPTREPL_LESSONS");
    return d && *d ? d : "lessons";
}

/* NAME, LANG/NAME or a path → a readable file path. */
int lesson_find(const char *name, char *path, size_t n)
{
    struct stat sb;
    if (strchr(name, '/') && stat(name, &sb) == 0 && S_ISREG(sb.st_mode)) {
        snprintf(path, n, "%s", name);
        return 0;
    }
    const char *fmts[] = {"%s/%s.lesson", "%s/en/%s.lesson", "%s/%s"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, n, fmts[i], lessons_dir(), name);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) return 0;
    }
    return -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_lessons(StrBuf *out)
{
    const char *langs[] = {"en", "vi"};
    for (int l = 0; l < 2; l++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", lessons_dir(), langs[l]);
        DIR *d = opendir(dir);
        if (!d) continue;
        char *names[256];
        int k = 0;
        struct dirent *de;
        while ((de = readdir(d)) && k < 256) {
            size_t len = strlen(de->d_name);
            if (len > 7 && !strcmp(de->d_name + len - 7, ".lesson")) names[k++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, (size_t)k, sizeof(char *), cmp_str);
        sb_printf(out, "%s:\n", langs[l]);
        for (int i = 0; i < k; i++) {
            char path[1024], title[256] = "";
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            FILE *f = fopen(path, "r");
            if (f) {
                if (fgets(title, sizeof title, f)) title[strcspn(title, "\n")] = 0;
                fclose(f);
            }
            names[i][strlen(names[i]) - 7] = 0;
            sb_printf(out, "  %s/%-28s %s\n", langs[l], names[i], title[0] == '#' ? title + 2 : title);
            free(names[i]);
        }
    }
}

/* Waits for the learner between paragraphs: Enter or "next" goes on, "back" repeats the
 * previous paragraph, "quit" leaves; any other line runs as a command. Returns -1 to stop,
 * 1 to go back. */
static int pause_for_user(Session *s)
{
    for (;;) {
        printf("\n-- Enter: next · back · quit · or type a command -- ");
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

int lesson_run_file(Session *s, const char *name, int batch)
{
    char path[1024];
    if (lesson_find(name, path, sizeof path)) {
        StrBuf b;
        sb_init(&b);
        list_lessons(&b);
        fprintf(stderr, "error: no lesson named '%s'. Available lessons:\n%s", name, b.s ? b.s : "(none)\n");
        sb_free(&b);
        s->errors++;
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno));
        s->errors++;
        return -1;
    }
    StrBuf text;
    sb_init(&text);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(&text, buf, k);
    fclose(f);
    Lesson les;
    GrErr pe;
    if (lesson_parse(text.s ? text.s : "", text.len, &les, &pe)) {
        /* "line N: why" → "path:N: error: why" */
        const char *why = strchr(pe.msg, ':');
        fprintf(stderr, "%s:%d: error: %s\n", path, atoi(pe.msg + 5), why ? why + 2 : pe.msg);
        sb_free(&text);
        s->errors++;
        return -1;
    }
    sb_free(&text);
    int checks = 0, failed = 0, cmd_errors = 0;
    int para_start = 0, prev_para = 0;
    const char *saved_file = s->src_file;
    s->src_file = path;
    for (int i = 0; i < les.n; i++) {
        const LessonItem *it = &les.items[i];
        s->src_line = it->line;
        switch (it->kind) {
        case LI_TITLE:
            printf("%s\n", it->text);
            break;
        case LI_PROSE:
            printf("%s\n", it->text);
            break;
        case LI_NOTE:
            break;
        case LI_CMD: {
            printf("> %s\n", it->text);
            fflush(stdout);
            int before = s->errors;
            session_exec_multi(s, it->text);
            if (s->errors > before) cmd_errors++;
            break;
        }
        case LI_CHECK: {
            char cbuf[4100];
            snprintf(cbuf, sizeof cbuf, "check %s", it->text);
            checks++;
            int before = s->errors;
            session_exec_multi(s, cbuf);
            if (s->errors > before) failed++;
            break;
        }
        case LI_FAIL: {
            GrErr e = {{0}};
            printf("> %s\n", it->text);
            int rc = session_exec(s, it->text, &e);
            session_flush_stdout(s);
            checks++;
            if (rc == CMD_ERR) printf("error (expected): %s\n", e.msg);
            else {
                fprintf(stderr, "%s:%d: error: expected '%s' to fail\n", path, it->line, it->text);
                s->errors++;
                failed++;
            }
            break;
        }
        case LI_BREAK:
            printf("\n");
            if (!batch && i > para_start) {
                int r = pause_for_user(s);
                if (r < 0) i = les.n;
                else if (r == 1) {
                    i = prev_para - 1;
                    para_start = prev_para;
                } else {
                    prev_para = para_start;
                    para_start = i + 1;
                }
            }
            break;
        }
    }
    fflush(stdout);
    s->src_file = saved_file;
    lesson_free(&les);
    printf("lesson %s: %d checks, %d failed, %d command errors\n", path, checks, failed, cmd_errors);
    return failed || cmd_errors ? -1 : 0;
}

int cmd_lesson(Session *s, int argc, char **argv, const char *rest, GrErr *e)
{
    if (argc < 2) {
        list_lessons(&s->out);
        return CMD_OK;
    }
    session_flush_stdout(s);
    int before = s->errors;
    lesson_run_file(s, argv[1], s->lesson_batch || !s->is_tty);
    /* Failures were reported and counted inside; do not count them twice. */
    if (s->errors > before) {
        s->errors = before;
        return gr_fail(e, "lesson %s had failures (see above)", argv[1]), CMD_ERR;
    }
    return CMD_OK;
}
