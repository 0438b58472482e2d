/* paths.c — locating gptrepl's files, and confining a lesson's reads and writes. */
#include "paths.h"
#include "lesson.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *paths_data_dir(void)
{
    static char dir[PATH_MAX];
    static int done;
    if (done) return dir;
    done = 1;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return dir;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return dir;
    *slash = 0;
    /* A build: the binary sits in the repository (or build-san/ below it). */
    const char *ups[] = {"", "/.."};
    for (int i = 0; i < 2; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s%s/lessons", exe, ups[i]);
        if (is_dir(cand)) {
            snprintf(cand, sizeof cand, "%s%s", exe, ups[i]);
            if (realpath(cand, dir)) return dir;
        }
    }
    /* An install: PREFIX/bin/gptrepl and PREFIX/share/gptrepl. */
    char share[PATH_MAX + 32];
    snprintf(share, sizeof share, "%s/../share/gptrepl", exe);
    if (is_dir(share) && realpath(share, dir)) return dir;
    dir[0] = 0;
    return dir;
}

/* Splits a ':'-list from the environment plus a fixed folder under the data dir. */
static int dirs_from(const char *env, const char *sub, const char **out, int max, char store[][PATH_MAX])
{
    int n = 0;
    const char *v = getenv(env);
    while (v && *v && n < max - 1) {
        size_t len = strcspn(v, ":");
        if (len > 0 && len < PATH_MAX) {
            memcpy(store[n], v, len);
            store[n][len] = 0;
            out[n] = store[n];
            n++;
        }
        v += len;
        if (*v == ':') v++;
    }
    const char *d = paths_data_dir();
    if (*d && n < max && strlen(d) + strlen(sub) + 2 < PATH_MAX) {
        memcpy(store[n], d, strlen(d));
        store[n][strlen(d)] = '/';
        strcpy(store[n] + strlen(d) + 1, sub);
        if (is_dir(store[n])) { out[n] = store[n]; n++; }
    }
    return n;
}

int paths_lesson_roots(const char **out, int max)
{
    static char store[8][PATH_MAX];
    return dirs_from("GPTREPL_LESSONS", "lessons", out, max < 8 ? max : 8, store);
}

int paths_model_dirs(const char **out, int max)
{
    static char store[8][PATH_MAX];
    return dirs_from("GPTREPL_MODELS", "models", out, max < 8 ? max : 8, store);
}

int paths_mkdirs(const char *dir, GrErr *e)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return gr_fail(e, "path too long: %.60s...", dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        if (mkdir(p, 0755) && errno != EEXIST) return gr_fail(e, "cannot create %s: %s", p, strerror(errno));
        *q = '/';
    }
    if (mkdir(p, 0755) && errno != EEXIST) return gr_fail(e, "cannot create %s: %s", p, strerror(errno));
    if (!is_dir(p)) return gr_fail(e, "cannot create %s: a file of that name is in the way", p);
    return 0;
}

int paths_cache_dir(const char *sub, char *buf, size_t n, GrErr *e)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (x && *x == '/') snprintf(buf, n, "%s/gptrepl/%s", x, sub);
    else if (home && *home) snprintf(buf, n, "%s/.cache/gptrepl/%s", home, sub);
    else return gr_fail(e, "no cache folder: neither XDG_CACHE_HOME nor HOME is set");
    return 0;
}

/* ---------------- confinement ---------------- */

static int has_dotdot(const char *p)
{
    for (const char *q = p; *q;) {
        size_t len = strcspn(q, "/");
        if (len == 2 && q[0] == '.' && q[1] == '.') return 1;
        q += len;
        while (*q == '/') q++;
    }
    return 0;
}

/* Is the real path of p inside the real path of dir? */
static int inside(const char *p, const char *dir)
{
    char rp[PATH_MAX], rd[PATH_MAX];
    if (!realpath(p, rp) || !realpath(dir, rd)) return 0;
    size_t n = strlen(rd);
    return !strncmp(rp, rd, n) && (rp[n] == 0 || rp[n] == '/' || (n == 1 && rd[0] == '/'));
}

static int refuse(const char *path, const char *why, GrErr *e)
{
    return gr_fail(e, "a lesson may not use '%s': %s (gptrepl --allow-files lifts this)", path, why);
}

int paths_resolve(Session *s, const char *path, int out, char *buf, size_t n, GrErr *e)
{
    const LessonRun *L = s ? s->lesson : NULL;
    if (!L || s->allow_files) {
        if (snprintf(buf, n, "%s", path) >= (int)n) return gr_fail(e, "path too long: %.60s...", path);
        return 0;
    }
    if (path[0] == '/') return refuse(path, "it is an absolute path", e);
    if (path[0] == '~') return refuse(path, "it starts with ~", e);
    if (has_dotdot(path)) return refuse(path, "it contains '..'", e);
    if (out) {
        if (paths_mkdirs(L->outdir, e)) return -1;
        char full[PATH_MAX + 4096];
        snprintf(full, sizeof full, "%s/%s", L->outdir, path);
        /* Folders inside the output folder may be made; the file's folder must stay inside it. */
        char parent[sizeof full];
        snprintf(parent, sizeof parent, "%s", full);
        char *slash = strrchr(parent, '/');
        *slash = 0;
        if (!is_dir(parent)) {
            /* Before making folders, the deepest one that exists must be inside (a planted
             * link to a folder outside would otherwise get them). */
            char up[sizeof parent];
            snprintf(up, sizeof up, "%s", parent);
            char *cut;
            while (!is_dir(up) && (cut = strrchr(up, '/')) && cut > up) *cut = 0;
            if (!inside(up, L->outdir)) return refuse(path, "it leads out of the lesson's output folder", e);
            if (paths_mkdirs(parent, e)) return -1;
        }
        if (!inside(parent, L->outdir)) return refuse(path, "it leads out of the lesson's output folder", e);
        struct stat sb;
        if (lstat(full, &sb) == 0 && S_ISLNK(sb.st_mode)) return refuse(path, "it is a symbolic link", e);
        if (snprintf(buf, n, "%s", full) >= (int)n) return gr_fail(e, "path too long: %.60s...", path);
        return 0;
    }
    /* Inputs: the lessons root (a path may also start with "lessons/", as from the
     * repository root), the output folder, then the model folders. */
    const char *bases[12];
    int nb = 0;
    if (L->root[0]) bases[nb++] = L->root;
    bases[nb++] = L->outdir;
    nb += paths_model_dirs(bases + nb, 12 - nb);
    const char *rel = path;
    if (L->root[0] && !strncmp(path, "lessons/", 8)) rel = path + 8;
    for (int i = 0; i < nb; i++) {
        char full[PATH_MAX + 4096];
        snprintf(full, sizeof full, "%s/%s", bases[i], i == 0 && L->root[0] ? rel : path);
        struct stat sb;
        if (stat(full, &sb) != 0) continue;
        if (!inside(full, bases[i])) return refuse(path, "it leads out of the lesson's folders", e);
        if (snprintf(buf, n, "%s", full) >= (int)n) return gr_fail(e, "path too long: %.60s...", path);
        return 0;
    }
    return gr_fail(e, "no file '%s' in the lessons folder, the lesson's output folder or the model folders", path);
}
