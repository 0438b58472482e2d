/* viz_util.h — what the two picture test programs share: golden files, line walks,
 * and the test data (labels that stress alignment, a causal pattern). */
#ifndef GR_VIZ_UTIL_H
#define GR_VIZ_UTIL_H

#include "harness.h"
#include "viz/viz.h"

#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR "tests/golden/viz/"

/* Each program uses some of these. */
#pragma GCC diagnostic ignored "-Wunused-function"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    StrBuf b;
    sb_init(&b);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(&b, buf, n);
    fclose(f);
    if (!b.s) sb_puts(&b, "");
    return b.s;
}

/* Compares got with tests/golden/viz/NAME (or rewrites it under VIZ_GOLDEN_UPDATE). */
static void check_golden(const char *name, const char *got)
{
    char path[256];
    snprintf(path, sizeof path, GOLDEN_DIR "%s", name);
    const char *upd = getenv("VIZ_GOLDEN_UPDATE");
    if (upd && *upd && strcmp(upd, "0") != 0) {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            fputs(got, f);
            fclose(f);
        }
        return;
    }
    char *want = read_file(path);
    if (!want) fprintf(stderr, "missing golden file %s (run from the repo root)\n", path);
    CHECK(want != NULL);
    if (want) CHECK_STR(got, want);
    free(want);
}

/* Calls fn(line, len, ctx) for each line of s (without the newline). */
typedef void (*LineFn)(const char *line, size_t len, void *ctx);
static void each_line(const char *s, LineFn fn, void *ctx)
{
    while (s && *s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        fn(s, len, ctx);
        s += len + (nl ? 1 : 0);
    }
}

typedef struct {
    int maxw, widest, bad, lines;
} WidthCtx;
static void width_line(const char *line, size_t len, void *vctx)
{
    WidthCtx *c = vctx;
    int w = viz_display_width(line, len);
    c->lines++;
    if (w > c->widest) c->widest = w;
    if (w > c->maxw) {
        c->bad++;
        fprintf(stderr, "line wider than %d (%d): %.*s\n", c->maxw, w, (int)len, line);
    }
}
static int max_line_width(const char *s, int limit, int *nbad)
{
    WidthCtx c = {limit, 0, 0, 0};
    each_line(s, width_line, &c);
    if (nbad) *nbad = c.bad;
    return c.widest;
}

/* Every line containing an escape code ends with a reset. */
typedef struct {
    int bad;
} ResetCtx;
static void reset_line(const char *line, size_t len, void *vctx)
{
    ResetCtx *c = vctx;
    if (memchr(line, '\x1b', len) && (len < 4 || memcmp(line + len - 4, "\x1b[0m", 4) != 0)) c->bad++;
}
static int lines_without_reset(const char *s)
{
    ResetCtx c = {0};
    each_line(s, reset_line, &c);
    return c.bad;
}

/* Display column of the first occurrence of ch in each line that has it, and the
 * line's display width: all must agree. */
typedef struct {
    char ch;
    int col, width, n, bad;
} AlignCtx;
static void align_line(const char *line, size_t len, void *vctx)
{
    AlignCtx *c = vctx;
    const char *p = memchr(line, c->ch, len);
    if (!p) return;
    int col = viz_display_width(line, (size_t)(p - line)), w = viz_display_width(line, len);
    if (c->n == 0) {
        c->col = col;
        c->width = w;
    } else if (col != c->col || w != c->width) {
        c->bad++;
        fprintf(stderr, "misaligned (col %d vs %d, width %d vs %d): %.*s\n", col, c->col, w, c->width, (int)len,
                line);
    }
    c->n++;
}

/* "Việt" precomposed (ệ = U+1EC7) and decomposed (e + U+0323 + U+0302), a wide
 * character, a newline, a leading space, a long token. */
static const char *const LABELS[6] = {"The", " cat", "Vi\xe1\xbb\x87t", "Vie\xcc\xa3\xcc\x82t", "\xe5\xad\x97", "a\nb"};

/* A causal attention pattern: row r attends to key c <= r with weight (c + 1) / sum. */
static void causal_matrix(float *d, int n)
{
    for (int r = 0; r < n; r++) {
        float s = 0;
        for (int c = 0; c <= r; c++) s += (float)(c + 1);
        for (int c = 0; c < n; c++) d[r * n + c] = c <= r ? (float)(c + 1) / s : 0.0f;
    }
}

/* A causal map of n × n with its labels, on the probability scale. */
static VizHeatmap causal_map(const float *d, int n, const char *const *labels)
{
    VizHeatmap h = {.data = d, .rows = n, .cols = n, .causal = 1, .row_labels = labels, .col_labels = labels,
                    .label_index = 1, .row_title = "query", .col_title = "key", .title = "layer 0 head 0"};
    viz_heatmap_pick_scale(&h, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    return h;
}

#endif
