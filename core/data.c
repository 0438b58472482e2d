/* data.c — datasets: token ids split 90/10, files, generated tasks, batches. */
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int data_from_ids(Dataset *d, const int *ids, size_t n, const char *name, GrErr *e)
{
    memset(d, 0, sizeof *d);
    if (n < 2) return gr_fail(e, "%s has %zu token%s: training needs at least 2", name, n, n == 1 ? "" : "s");
    size_t ntrain = n - n / 10; /* the first 90% (rounded up); the last 10% is validation */
    if (ntrain >= n) ntrain = n - 1;
    size_t nval = n - ntrain;
    d->train = malloc(ntrain * sizeof(int));
    d->val = malloc(nval * sizeof(int));
    if (!d->train || !d->val) {
        data_free(d);
        return gr_fail(e, "out of memory for %zu tokens", n);
    }
    memcpy(d->train, ids, ntrain * sizeof(int));
    memcpy(d->val, ids + ntrain, nval * sizeof(int));
    d->ntrain = ntrain;
    d->nval = nval;
    snprintf(d->name, sizeof d->name, "%s", name);
    return 0;
}

/* The file's last path component, for the dataset's name. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int data_from_file(Dataset *d, const char *path, const Tokenizer *tok, GrErr *e)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "rb");
    if (!f) return gr_fail(e, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return gr_fail(e, "'%s' is a directory, not a text file", path);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *nb = cap < ((size_t)1 << 40) ? realloc(buf, cap * 2) : NULL;
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf) return gr_fail(e, "out of memory reading '%s'", path);
    if (rerr) { free(buf); return gr_fail(e, "cannot read '%s'", path); }
    if (n == 0) { free(buf); return gr_fail(e, "'%s' is empty: there is no text to train on", path); }
    int *ids = NULL;
    size_t nids = 0;
    GrErr te = {{0}};
    int rc = tok_encode(tok, buf, n, &ids, &nids, &te);
    free(buf);
    if (rc) return gr_fail(e, "%s: %s", path, te.msg);
    rc = data_from_ids(d, ids, nids, base_name(path), e);
    free(ids);
    return rc;
}

/* ---------------- generated tasks ---------------- */

#define TASK_CHARS 200000

/* copy: 8 letters from a-h, then the same 8 again. The small alphabet keeps the loss
 * of a model that has learned the line structure but not yet to copy at 16·ln 8 / 18
 * ≈ 1.85, so a few hundred steps visibly take the loss below ln V / 2; copying (an
 * induction or look-back-9 head) later takes it towards 8·ln 8 / 18 ≈ 0.92. With 26
 * letters the tiny model needs ~700 steps before copying starts. */
#define COPY_LEN 8
#define COPY_LETTERS 8

static void task_copy(StrBuf *b, Rng *r)
{
    char w[COPY_LEN + 1];
    for (int i = 0; i < COPY_LEN; i++) w[i] = (char)('a' + rng_below(r, COPY_LETTERS));
    w[COPY_LEN] = 0;
    sb_printf(b, "%s|%s\n", w, w);
}

static void task_add(StrBuf *b, Rng *r)
{
    int x = (int)rng_below(r, 1000), y = (int)rng_below(r, 1000);
    sb_printf(b, "%d+%d=%d\n", x, y, x + y);
}

static int cmp_char(const void *a, const void *b) { return *(const char *)a - *(const char *)b; }

static void task_sort(StrBuf *b, Rng *r)
{
    char w[9], s[9];
    int n = 4 + (int)rng_below(r, 5);
    for (int i = 0; i < n; i++) w[i] = (char)('a' + rng_below(r, 26));
    w[n] = 0;
    memcpy(s, w, sizeof w);
    qsort(s, (size_t)n, 1, cmp_char);
    sb_printf(b, "%s>%s\n", w, s);
}

/* repeat: 4 to 13 random letters of all 26, then the same twice more (no separator). The
 * later copies are predictable only by looking back at what followed the same letter
 * before; the length varies, so no fixed look-back does it: the task induction heads
 * (Olsson et al. 2022) solve. A 2-layer attention-only model (d 64) forms them after about
 * 2500 steps of 32 × 32 tokens at lr 3e-3, half a minute on 2 cores (lesson 24). */
#define REPEAT_MIN 4
#define REPEAT_MAX 13

static void task_repeat(StrBuf *b, Rng *r)
{
    char w[REPEAT_MAX + 1];
    int n = REPEAT_MIN + (int)rng_below(r, REPEAT_MAX - REPEAT_MIN + 1);
    for (int i = 0; i < n; i++) w[i] = (char)('a' + rng_below(r, 26));
    w[n] = 0;
    sb_printf(b, "%s%s%s\n", w, w, w);
}

/* The tasks: `--data NAME` parses, help and completion list them from here. */
static const struct {
    const char *name;
    void (*line)(StrBuf *, Rng *);
} TASKS[] = {{"copy", task_copy}, {"add", task_add}, {"sort", task_sort}, {"repeat", task_repeat}};
#define NTASKS (int)(sizeof TASKS / sizeof TASKS[0])

const char *const *data_task_names(void)
{
    static const char *names[NTASKS + 1];
    for (int i = 0; i < NTASKS; i++) names[i] = TASKS[i].name;
    return names;
}

const char *data_task_choices(void)
{
    static char buf[128];
    if (!buf[0])
        for (int i = 0; i < NTASKS; i++) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "|" : "", TASKS[i].name);
    return buf;
}

int data_task(Dataset *d, const char *task, const Tokenizer *tok, uint64_t seed, GrErr *e)
{
    memset(d, 0, sizeof *d);
    void (*line)(StrBuf *, Rng *) = NULL;
    for (int i = 0; i < NTASKS; i++)
        if (!strcmp(task, TASKS[i].name)) line = TASKS[i].line;
    if (!line) return gr_fail(e, "unknown task '%s' (tasks: %s)", task, data_task_choices());
    Rng r;
    rng_seed(&r, seed);
    StrBuf b;
    sb_init(&b);
    while (b.len < TASK_CHARS) line(&b, &r);
    if (!b.s) return gr_fail(e, "out of memory generating the %s task", task);
    /* A char model whose vocabulary lacks a task's separator ('|', '>', '=', '+'): the
     * task is written with a character it has and the task does not use otherwise. */
    char note[64] = "";
    if (tok->kind == TOK_CHAR) {
        static const char SEPS[] = "|>=+\n";
        static const char SUBST[] = ":;/-,.#*~_!?@ ";
        for (const char *sp = SEPS; *sp; sp++) {
            if (!memchr(b.s, *sp, b.len) || tok_has_char(tok, (unsigned char)*sp)) continue;
            char sub = 0;
            for (const char *c = SUBST; *c && !sub; c++)
                if (tok_has_char(tok, (unsigned char)*c) && !memchr(b.s, *c, b.len)) sub = *c;
            if (!sub) {
                sb_free(&b);
                return gr_fail(e, "task %s: the model's vocabulary has no '%c' and no character to write it with", task, *sp);
            }
            for (size_t i = 0; i < b.len; i++)
                if (b.s[i] == *sp) b.s[i] = sub;
            snprintf(note + strlen(note), sizeof note - strlen(note), "%s'%c' as '%c'", note[0] ? ", " : " (", *sp, sub);
        }
        if (note[0]) snprintf(note + strlen(note), sizeof note - strlen(note), ")");
    }
    int *ids = NULL;
    size_t nids = 0;
    GrErr te = {{0}};
    int rc = tok_encode(tok, b.s, b.len, &ids, &nids, &te);
    sb_free(&b);
    if (rc) return gr_fail(e, "task %s: %s", task, te.msg);
    char name[160];
    snprintf(name, sizeof name, "task:%s%s", task, note);
    rc = data_from_ids(d, ids, nids, name, e);
    free(ids);
    return rc;
}

void data_free(Dataset *d)
{
    free(d->train);
    free(d->val);
    memset(d, 0, sizeof *d);
}

void data_batch(const Dataset *d, int val, int B, int T, Rng *r, int *out)
{
    const int *src = val ? d->val : d->train;
    size_t n = val ? d->nval : d->ntrain, row = (size_t)T + 1;
    for (int b = 0; b < B; b++) {
        int *o = out + (size_t)b * row;
        if (n == 0) {
            memset(o, 0, row * sizeof(int));
            continue;
        }
        if (n >= row) {
            size_t off = (size_t)rng_below(r, n - row + 1);
            memcpy(o, src + off, row * sizeof(int));
        } else {
            size_t off = (size_t)rng_below(r, n);
            for (size_t i = 0; i < row; i++) o[i] = src[(off + i) % n];
        }
    }
}
