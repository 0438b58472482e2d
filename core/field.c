/* field.c — parsing, range checks, help text and did-you-mean for FieldDef rows. */
#include "field.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- numbers as people write them ---------------- */

/* "1e+06" → "1000000", "0.001" stays: %g, but whole numbers below 1e15 in full. */
static void fmt_num(char *buf, size_t n, double x)
{
    if (x == floor(x) && fabs(x) < 1e15) snprintf(buf, n, "%.0f", x);
    else snprintf(buf, n, "%g", x);
}

int gr_fail_range(GrErr *e, const char *who, const char *name, const char *got, double lo, double hi, int lo_open)
{
    char a[32], b[32];
    fmt_num(a, sizeof a, lo);
    fmt_num(b, sizeof b, hi);
    if (lo_open) return gr_fail(e, "%s%s must be above %s and at most %s, not %s", who, name, a, b, got);
    return gr_fail(e, "%s%s must be between %s and %s, not %s", who, name, a, b, got);
}

const char *field_choices(const FieldDef *f) { return f->choices_fn ? f->choices_fn() : f->choices; }

int field_nchoices(const FieldDef *f)
{
    const char *c = field_choices(f);
    if (!c || !*c) return 0;
    int n = 1;
    for (const char *p = c; *p; p++) n += *p == '|';
    return n;
}

int field_choice(const FieldDef *f, int i, char *buf, size_t n)
{
    const char *p = field_choices(f);
    if (!p || !*p || i < 0) return -1;
    for (; i > 0; i--) {
        p = strchr(p, '|');
        if (!p) return -1;
        p++;
    }
    size_t len = strcspn(p, "|");
    if (len >= n) len = n - 1;
    memcpy(buf, p, len);
    buf[len] = 0;
    return 0;
}

int field_choice_index(const FieldDef *f, const char *word)
{
    char buf[64];
    for (int i = 0; field_choice(f, i, buf, sizeof buf) == 0; i++)
        if (!strcmp(buf, word)) return i;
    return -1;
}

const FieldDef *field_find(const FieldDef *table, const char *name)
{
    for (const FieldDef *f = table; f && f->name; f++)
        if (!strcmp(f->name, name)) return f;
    return NULL;
}

/* "a, b or c" */
static void list_choices(const FieldDef *f, StrBuf *out)
{
    int n = field_nchoices(f);
    char buf[64];
    for (int i = 0; i < n; i++) {
        field_choice(f, i, buf, sizeof buf);
        sb_printf(out, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", buf);
    }
}

static int fail_choice(const FieldDef *f, const char *who, const char *name, const char *got, GrErr *e)
{
    StrBuf b;
    sb_init(&b);
    list_choices(f, &b);
    char sug[64];
    const char *s = gr_suggest_words(got, field_choices(f), sug, sizeof sug);
    if (s) gr_fail(e, "%s%s must be %s, not '%s' (did you mean '%s'?)", who, name, b.s, got, s);
    else gr_fail(e, "%s%s must be %s, not '%s'", who, name, b.s, got);
    sb_free(&b);
    return -1;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno == ERANGE || isnan(v) || isspace((unsigned char)*s)) return -1;
    *out = v;
    return 0;
}

/* 0; -1 not a whole number; -2 a whole number too large for a long (out of any range). */
static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || isspace((unsigned char)*s)) return -1;
    if (errno == ERANGE) return -2;
    *out = v;
    return 0;
}

static int in_range(const FieldDef *f, double x, double lo, double hi)
{
    return (f->flags & FF_LO_OPEN ? x > lo : x >= lo) && x <= hi;
}

int field_parse(const FieldDef *f, const char *label, const char *text, double lo, double hi, FieldVal *v, GrErr *e)
{
    memset(v, 0, sizeof *v);
    v->choice = -1;
    v->s = text;
    if (isnan(lo)) lo = f->lo;
    if (isnan(hi)) hi = f->hi;
    if (!label) label = f->name;
    if (!text) return gr_fail(e, "%s needs a value", label);
    /* Words that stand instead of a value: "all" for a head, "copy" for --data. */
    if (f->kind != FK_CHOICE && field_choices(f)) {
        int c = field_choice_index(f, text);
        if (c >= 0) {
            v->choice = c;
            v->i = -1;
            v->given = 1;
            return 0;
        }
    }
    switch (f->kind) {
    case FK_INT: {
        long x;
        int pr = parse_long(text, &x);
        if (pr == -2) return gr_fail_range(e, "", label, text, lo, hi, f->flags & FF_LO_OPEN);
        if (pr) {
            if (field_choices(f)) {
                StrBuf b;
                sb_init(&b);
                list_choices(f, &b);
                gr_fail(e, "%s must be a whole number or %s, not '%s'", label, b.s, text);
                sb_free(&b);
                return -1;
            }
            return gr_fail(e, "%s must be a whole number, not '%s'", label, text);
        }
        if (!in_range(f, (double)x, lo, hi)) return gr_fail_range(e, "", label, text, lo, hi, f->flags & FF_LO_OPEN);
        v->i = x;
        v->d = (double)x;
        break;
    }
    case FK_FLOAT: {
        double x;
        if (parse_double(text, &x)) return gr_fail(e, "%s must be a number, not '%s'", label, text);
        if (!in_range(f, x, lo, hi)) return gr_fail_range(e, "", label, text, lo, hi, f->flags & FF_LO_OPEN);
        v->d = x;
        break;
    }
    case FK_CHOICE: {
        int c = field_choice_index(f, text);
        if (c < 0) return fail_choice(f, "", label, text, e);
        v->i = c;
        v->choice = c;
        break;
    }
    case FK_LIST: {
        const char *p = text;
        if (!*p) return gr_fail(e, "%s needs at least one number", label);
        while (*p) {
            size_t len = strcspn(p, ",");
            char buf[64];
            if (len == 0 || len >= sizeof buf)
                return gr_fail(e, "%s must be numbers separated by commas, not '%s'", label, text);
            memcpy(buf, p, len);
            buf[len] = 0;
            double x;
            if (parse_double(buf, &x)) return gr_fail(e, "%s must be numbers separated by commas, not '%s'", label, text);
            if (!in_range(f, x, lo, hi)) return gr_fail_range(e, "", label, buf, lo, hi, f->flags & FF_LO_OPEN);
            if (v->n == FIELD_LIST_MAX) return gr_fail(e, "%s takes at most %d numbers", label, FIELD_LIST_MAX);
            v->list[v->n++] = x;
            p += len;
            if (*p == ',') {
                p++;
                if (!*p) return gr_fail(e, "%s must be numbers separated by commas, not '%s'", label, text);
            }
        }
        break;
    }
    case FK_SIZE: {
        int a, b, k = 0;
        char x = 0;
        if (sscanf(text, "%d%c%d%n", &a, &x, &b, &k) != 3 || text[k] || (x != 'x' && x != 'X'))
            return gr_fail(e, "%s must be WIDTHxHEIGHT in pixels (e.g. 1920x1080), not '%s'", label, text);
        char got[32];
        char side[96];
        snprintf(side, sizeof side, "%s width", label);
        if (a < lo || a > hi) { snprintf(got, sizeof got, "%d", a); return gr_fail_range(e, "", side, got, lo, hi, 0); }
        snprintf(side, sizeof side, "%s height", label);
        if (b < lo || b > hi) { snprintf(got, sizeof got, "%d", b); return gr_fail_range(e, "", side, got, lo, hi, 0); }
        v->w = a;
        v->h = b;
        break;
    }
    case FK_RANGE: {
        /* "A:B", "A:", ":B" */
        const char *colon = strchr(text, ':');
        if (!colon) return gr_fail(e, "%s must be START:END (e.g. 0:16, 40:, :8), not '%s'", label, text);
        long ab[2] = {-1, -1};
        const char *parts[2] = {text, colon + 1};
        size_t lens[2] = {(size_t)(colon - text), strlen(colon + 1)};
        for (int k = 0; k < 2; k++) {
            if (!lens[k]) continue;
            char buf[32], *end;
            if (lens[k] >= sizeof buf) return gr_fail(e, "%s must be START:END (e.g. 0:16, 40:, :8), not '%s'", label, text);
            memcpy(buf, parts[k], lens[k]);
            buf[lens[k]] = 0;
            errno = 0;
            long x = strtol(buf, &end, 10);
            if (*end || errno) return gr_fail(e, "%s must be START:END in whole numbers, not '%s'", label, text);
            if (x < lo || x > hi) return gr_fail_range(e, "", label, buf, lo, hi, 0);
            ab[k] = x;
        }
        if (ab[0] >= 0 && ab[1] >= 0 && ab[1] <= ab[0])
            return gr_fail(e, "%s %s is empty: END must be above START (it is not included)", label, text);
        v->w = (int)ab[0];
        v->h = (int)ab[1];
        break;
    }
    case FK_FLAG:
        break;
    default: /* words, text, names, paths: checked by their users */
        if (!*text && f->kind != FK_REST) return gr_fail(e, "%s is empty", label);
        break;
    }
    v->given = 1;
    return 0;
}

void field_store(const FieldDef *f, const FieldVal *v, void *obj)
{
    char *p = (char *)obj + f->off;
    switch (f->store) {
    case FS_INT: *(int *)p = (int)(f->kind == FK_FLOAT ? v->d : v->i); break;
    case FS_LONG: *(long *)p = f->kind == FK_FLOAT ? (long)v->d : v->i; break;
    case FS_FLOAT: *(float *)p = (float)(f->kind == FK_INT ? (double)v->i : v->d); break;
    case FS_DOUBLE: *(double *)p = f->kind == FK_INT ? (double)v->i : v->d; break;
    case FS_NONE: break;
    }
}

void field_format(const FieldDef *f, const void *obj, StrBuf *out)
{
    const char *p = (const char *)obj + f->off;
    char buf[64];
    double x = 0;
    switch (f->store) {
    case FS_INT: x = *(const int *)p; break;
    case FS_LONG: x = (double)*(const long *)p; break;
    case FS_FLOAT: x = *(const float *)p; break;
    case FS_DOUBLE: x = *(const double *)p; break;
    case FS_NONE: return;
    }
    if (f->kind == FK_CHOICE && field_choice(f, (int)x, buf, sizeof buf) == 0) {
        sb_puts(out, buf);
        return;
    }
    fmt_num(buf, sizeof buf, x);
    sb_puts(out, buf);
}

void field_describe(const FieldDef *f, StrBuf *out)
{
    char a[32], b[32];
    fmt_num(a, sizeof a, f->lo);
    fmt_num(b, sizeof b, f->hi);
    const char *dyn = f->dyn == DYN_LAYER ? "0..L-1" : f->dyn == DYN_HEAD ? "0..H-1" : f->dyn == DYN_POS ? "-T..T-1" : NULL;
    switch (f->kind) {
    case FK_INT:
        if (dyn) sb_printf(out, "whole number %s", dyn);
        else sb_printf(out, "whole number %s..%s", a, b);
        if (field_choices(f)) { sb_puts(out, " or "); list_choices(f, out); }
        break;
    case FK_FLOAT:
        if (f->flags & FF_LO_OPEN) sb_printf(out, "number above %s, at most %s", a, b);
        else sb_printf(out, "number %s..%s", a, b);
        break;
    case FK_CHOICE: list_choices(f, out); break;
    case FK_FLAG: sb_puts(out, "flag"); break;
    case FK_LIST: sb_printf(out, "numbers %s..%s, comma-separated", a, b); break;
    case FK_STR: sb_puts(out, "word"); break;
    case FK_TEXT: sb_puts(out, "text: \"quoted\", or the rest of the line"); break;
    case FK_REST: sb_puts(out, "the rest of the line"); break;
    case FK_PATH_IN:
        sb_puts(out, "file to read");
        if (field_choices(f)) { sb_puts(out, ", or "); list_choices(f, out); }
        break;
    case FK_PATH_OUT: sb_puts(out, "file to write"); break;
    case FK_NAME: sb_puts(out, "tensor name[slice]"); break;
    case FK_SIZE: sb_printf(out, "WxH pixels, %s..%s each", a, b); break;
    case FK_KV: sb_puts(out, "key=value ..."); break;
    case FK_RANGE: sb_puts(out, "START:END, END not included (either may be left out)"); break;
    }
    if (f->def) sb_printf(out, ", default %s", f->def);
}

/* ---------------- did you mean ---------------- */

/* Optimal string alignment distance (Levenshtein with adjacent transpositions). */
static int edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63) return 99;
    int d[64][64];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

static int closeness(const char *word, const char *cand)
{
    size_t a = strlen(word), b = strlen(cand);
    int d = edit_distance(word, cand);
    /* "--temperature" for "--temp", "--bin" for "--bins": one is a prefix of the other. */
    if (a >= 3 && b >= 3 && (!strncmp(word, cand, b) || !strncmp(cand, word, a)) && d > 1) d = 1;
    return d;
}

const char *gr_suggest(const char *word, const char *const *cands, int n)
{
    if (!word || !*word) return NULL;
    const char *best = NULL;
    int bd = 1 << 20;
    for (int i = 0; i < n; i++) {
        if (!cands[i] || !strcmp(cands[i], word)) continue;
        int d = closeness(word, cands[i]);
        if (d < bd) { bd = d; best = cands[i]; }
    }
    int len = (int)strlen(word), allowed = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    return best && bd <= allowed ? best : NULL;
}

const char *gr_suggest_words(const char *word, const char *words, char *buf, size_t n)
{
    if (!words) return NULL;
    const char *cands[64];
    char store[64][48];
    int k = 0;
    const char *p = words;
    while (*p && k < 64) {
        size_t len = strcspn(p, "|");
        if (len >= sizeof store[0]) len = sizeof store[0] - 1;
        memcpy(store[k], p, len);
        store[k][len] = 0;
        cands[k] = store[k];
        k++;
        p += strcspn(p, "|");
        if (*p) p++;
    }
    const char *s = gr_suggest(word, cands, k);
    if (!s) return NULL;
    snprintf(buf, n, "%s", s);
    return buf;
}

const char *gr_suggest_fields(const char *word, const FieldDef *table)
{
    const char *cands[128];
    int k = 0;
    for (const FieldDef *f = table; f && f->name && k < 128; f++) cands[k++] = f->name;
    return gr_suggest(word, cands, k);
}
