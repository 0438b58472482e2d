/* lineedit.c — editing the prompt line, and its history. */
#include "lineedit.h"
#include "common.h"

#include <ctype.h>
#include <editline/readline.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HIST_MAX 1000

void sl_push(StrList *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 32;
        char **v = realloc(l->v, sizeof(char *) * (size_t)cap);
        if (!v) return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    if (l->v[l->n]) l->n++;
}

void sl_clear(StrList *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    l->n = 0;
}

void sl_free(StrList *l)
{
    sl_clear(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

static void reserve(LineEdit *e, int n)
{
    if (n <= e->cap) return;
    int cap = n * 2 + 16;
    uint32_t *b = realloc(e->b, sizeof(uint32_t) * (size_t)cap);
    if (!b) return;
    e->b = b;
    e->cap = cap;
}

void ed_insert(LineEdit *e, const uint32_t *cps, int k)
{
    reserve(e, e->n + k);
    if (e->cap < e->n + k) return;
    memmove(e->b + e->cur + k, e->b + e->cur, sizeof(uint32_t) * (size_t)(e->n - e->cur));
    memcpy(e->b + e->cur, cps, sizeof(uint32_t) * (size_t)k);
    e->n += k;
    e->cur += k;
}

void ed_insert_utf8(LineEdit *e, const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        unsigned cp;
        i += (size_t)gr_utf8_decode(s + i, n - i, &cp);
        uint32_t c = cp;
        ed_insert(e, &c, 1);
    }
}

void ed_delete(LineEdit *e, int from, int to)
{
    if (from < 0) from = 0;
    if (to > e->n) to = e->n;
    if (to <= from) return;
    memmove(e->b + from, e->b + to, sizeof(uint32_t) * (size_t)(e->n - to));
    e->n -= to - from;
    if (e->cur > to) e->cur -= to - from;
    else if (e->cur > from) e->cur = from;
}

char *ed_utf8(const LineEdit *e, int n)
{
    StrBuf sb;
    sb_init(&sb);
    for (int i = 0; i < n && i < e->n; i++) {
        char t[4];
        int k = gr_utf8_encode(e->b[i], t);
        sb_putn(&sb, t, (size_t)k);
    }
    if (!sb.s) sb_puts(&sb, "");
    return sb.s;
}

int ed_byte_of(const LineEdit *e, int i)
{
    int bytes = 0;
    for (int k = 0; k < i && k < e->n; k++) {
        char t[4];
        bytes += gr_utf8_encode(e->b[k], t);
    }
    return bytes;
}

int ed_cp_of(const LineEdit *e, int byte)
{
    int bytes = 0, k = 0;
    while (k < e->n && bytes < byte) {
        char t[4];
        bytes += gr_utf8_encode(e->b[k++], t);
    }
    return k;
}

void ed_set(LineEdit *e, const char *s)
{
    e->n = e->cur = 0;
    ed_insert_utf8(e, s);
}

void ed_kill(LineEdit *e, int from, int to)
{
    if (to <= from) return;
    char *full = ed_utf8(e, to);
    int b0 = ed_byte_of(e, from);
    free(e->killbuf);
    e->killbuf = strdup(full + b0);
    free(full);
    ed_delete(e, from, to);
}

void ed_yank(LineEdit *e)
{
    if (e->killbuf) ed_insert_utf8(e, e->killbuf);
}

static int is_word_cp(uint32_t c) { return c > 127 || isalnum((int)c) || c == '_' || c == '.'; }

int ed_word_left(const LineEdit *e, int i)
{
    while (i > 0 && !is_word_cp(e->b[i - 1])) i--;
    while (i > 0 && is_word_cp(e->b[i - 1])) i--;
    return i;
}

int ed_word_right(const LineEdit *e, int i)
{
    while (i < e->n && !is_word_cp(e->b[i])) i++;
    while (i < e->n && is_word_cp(e->b[i])) i++;
    return i;
}

void ed_free(LineEdit *e)
{
    free(e->b);
    free(e->killbuf);
    free(e->draft);
    sl_free(&e->hist);
    e->b = NULL;
    e->killbuf = e->draft = NULL;
}

/* ---------------- history ---------------- */

const char *history_path(void)
{
    static char path[1024];
    if (path[0]) return path;
    const char *st = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[900];
    if (st && *st == '/') snprintf(dir, sizeof dir, "%s/gptrepl", st);
    else snprintf(dir, sizeof dir, "%s/.local/state/gptrepl", home && *home ? home : ".");
    GrErr e;
    (void)e;
    char tmp[900];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *q = tmp + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            mkdir(tmp, 0755);
            *q = '/';
        }
    mkdir(tmp, 0755);
    snprintf(path, sizeof path, "%s/history", dir);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        /* carry over the history of versions that kept it in ~/.gptrepl_history */
        char old[1024];
        snprintf(old, sizeof old, "%s/.gptrepl_history", home && *home ? home : ".");
        FILE *in = fopen(old, "r"), *out = in ? fopen(path, "w") : NULL;
        char buf[4096];
        size_t k;
        while (in && out && (k = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, k, out);
        if (out) fclose(out);
        if (in) fclose(in);
    }
    return path;
}

void hist_load(LineEdit *e)
{
    snprintf(e->path, sizeof e->path, "%s", history_path());
    using_history();
    stifle_history(HIST_MAX);
    read_history(e->path);
    for (int i = 0; i < history_length; i++) {
        HIST_ENTRY *h = history_get(history_base + i);
        if (h && h->line) sl_push(&e->hist, h->line);
    }
    e->hpos = e->hist.n;
}

void hist_add(LineEdit *e, const char *line)
{
    if (!*line) return;
    if (!(e->hist.n && !strcmp(e->hist.v[e->hist.n - 1], line))) {
        if (e->hist.n >= HIST_MAX) {
            free(e->hist.v[0]);
            memmove(e->hist.v, e->hist.v + 1, sizeof(char *) * (size_t)(e->hist.n - 1));
            e->hist.n--;
        }
        sl_push(&e->hist, line);
        add_history(line);
        e->nnew++;
    }
    e->hpos = e->hist.n;
}

int hist_move(LineEdit *e, int d)
{
    int np = e->hpos + d;
    if (np < 0 || np > e->hist.n) return -1;
    if (e->hpos == e->hist.n) {
        free(e->draft);
        e->draft = ed_utf8(e, e->n);
    }
    e->hpos = np;
    ed_set(e, np == e->hist.n ? (e->draft ? e->draft : "") : e->hist.v[np]);
    return 0;
}

/* At exit: the file as it is now (another session may have added to it) plus this
 * session's lines, the last HIST_MAX kept. */
void hist_save(LineEdit *e)
{
    if (!e->path[0]) return;
    if (e->nnew > 0) {
        clear_history();
        read_history(e->path);
        int n = e->nnew < e->hist.n ? e->nnew : e->hist.n;
        for (int i = e->hist.n - n; i < e->hist.n; i++) add_history(e->hist.v[i]);
        write_history(e->path);
    }
    clear_history();
}
