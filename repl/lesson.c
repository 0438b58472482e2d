/* lesson.c — lesson scripts: prose is shown, "> cmd" lines run, "? expr" lines are checks.
 * Interactive mode pauses between paragraphs; batch mode runs through and counts failures. */
#include "session.h"

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
static int find_lesson(const char *name, char *path, size_t n)
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

int lesson_run_file(Session *s, const char *name, int batch)
{
    char path[1024];
    if (find_lesson(name, path, sizeof path)) {
        StrBuf b;
        sb_init(&b);
        list_lessons(&b);
        fprintf(stderr, "error: no lesson named '%s'. Available lessons:\n%s", name, b.s ? b.s : "(none)\n");
        sb_free(&b);
        s->errors++;
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno));
        s->errors++;
        return -1;
    }
    /* Read all lines so "back" can rewind. */
    char **lines = NULL;
    int n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 128;
            lines = realloc(lines, sizeof(char *) * (size_t)cap);
        }
        lines[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    int checks = 0, failed = 0, cmd_errors = 0;
    int para_start = 0, prev_para = 0;
    const char *saved_file = s->src_file;
    for (int i = 0; i < n; i++) {
        const char *l = lines[i];
        s->src_file = path;
        s->src_line = i + 1;
        if (l[0] == '>' ) {
            const char *cmd = l + 1 + (l[1] == ' ');
            if (!batch) printf("\x1b[1m> %s\x1b[0m\n" + (s->color == VIZ_COLOR_NONE ? 0 : 0), cmd);
            else printf("> %s\n", cmd);
            fflush(stdout);
            int before = s->errors;
            session_exec_multi(s, cmd);
            if (s->errors > before) cmd_errors++;
        } else if (l[0] == '?') {
            const char *expr = l + 1 + (l[1] == ' ');
            char buf[2048];
            snprintf(buf, sizeof buf, "check %s", expr);
            checks++;
            int before = s->errors;
            session_exec_multi(s, buf);
            if (s->errors > before) failed++;
        } else if (l[0] == '!' ) {
            /* "! cmd": a command that must fail (teaches an error message). */
            const char *cmd = l + 1 + (l[1] == ' ');
            GrErr e = {{0}};
            printf("> %s\n", cmd);
            int rc = session_exec(s, cmd, &e);
            session_flush_stdout(s);
            if (rc == CMD_ERR) printf("error (expected): %s\n", e.msg);
            else {
                fprintf(stderr, "%s:%d: error: expected '%s' to fail\n", path, i + 1, cmd);
                s->errors++;
                failed++;
            }
            checks++;
        } else if (l[0] == 0) {
            printf("\n");
            if (!batch && i > para_start) {
                int r = pause_for_user(s);
                if (r < 0) break;
                if (r == 1) {
                    i = prev_para - 1;
                    para_start = prev_para;
                    continue;
                }
                prev_para = para_start;
                para_start = i + 1;
            }
        } else if (!strncmp(l, "//", 2)) {
            /* a note for lesson authors */
        } else {
            printf("%s\n", l);
        }
    }
    fflush(stdout);
    s->src_file = saved_file;
    for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
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
