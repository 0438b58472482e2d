/* test_viz.c — terminal renderers (golden text, colour escapes, width clipping,
 * label alignment) and PNG export (decoded back with stb_image).
 *
 * Golden files live in tests/golden/viz/ (read relative to the repo root, where the
 * tests run). VIZ_GOLDEN_UPDATE=1 rewrites them from the current output. */
#include "harness.h"
#include "viz/viz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#include <stb_image.h>
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wunused-function"

#define GOLDEN_DIR "tests/golden/viz/"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ---- helpers ------------------------------------------------------------------ */

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

/* ---- shared test data ------------------------------------------------------------------ */

/* "Việt" precomposed (ệ = U+1EC7) and decomposed (e + U+0323 + U+0302), a wide
 * character, a newline, a leading space, a long token. */
static const char *const LABELS[6] = {"The", " cat", "Vi\xe1\xbb\x87t", "Vie\xcc\xa3\xcc\x82t", "\xe5\xad\x97", "a\nb"};

static void causal_matrix(float *d, int n)
{
    for (int r = 0; r < n; r++) {
        float s = 0;
        for (int c = 0; c <= r; c++) s += (float)(c + 1);
        for (int c = 0; c < n; c++) d[r * n + c] = c <= r ? (float)(c + 1) / s : 0.0f;
    }
}

/* ---- colour modes ------------------------------------------------------------------ */

TEST(color_parse_name)
{
    VizColor c = VIZ_COLOR_NONE;
    GrErr e = {{0}};
    CHECK(viz_color_parse("truecolor", &c, &e) == 0 && c == VIZ_COLOR_TRUE);
    CHECK(viz_color_parse("256", &c, &e) == 0 && c == VIZ_COLOR_256);
    CHECK(viz_color_parse("16", &c, &e) == 0 && c == VIZ_COLOR_16);
    CHECK(viz_color_parse("NONE", &c, &e) == 0 && c == VIZ_COLOR_NONE);
    CHECK(viz_color_parse("24bit", &c, &e) == 0 && c == VIZ_COLOR_TRUE);
    CHECK(viz_color_parse("rainbow", &c, &e) == -1);
    CHECK(strstr(e.msg, "rainbow") != NULL);
    for (int m = VIZ_COLOR_NONE; m <= VIZ_COLOR_TRUE; m++) {
        VizColor back;
        CHECK(viz_color_parse(viz_color_name((VizColor)m), &back, NULL) == 0 && back == (VizColor)m);
    }
}

TEST(color_detect)
{
    char *saved[3];
    const char *names[3] = {"NO_COLOR", "COLORTERM", "TERM"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        saved[i] = v ? strdup(v) : NULL;
    }
    unsetenv("NO_COLOR");
    setenv("COLORTERM", "truecolor", 1);
    setenv("TERM", "xterm-256color", 1);
    CHECK(viz_color_detect(1) == VIZ_COLOR_TRUE);
    CHECK(viz_color_detect(0) == VIZ_COLOR_NONE);
    setenv("COLORTERM", "24bit", 1);
    CHECK(viz_color_detect(1) == VIZ_COLOR_TRUE);
    unsetenv("COLORTERM");
    CHECK(viz_color_detect(1) == VIZ_COLOR_256);
    setenv("TERM", "xterm", 1);
    CHECK(viz_color_detect(1) == VIZ_COLOR_16);
    setenv("NO_COLOR", "", 1); /* empty: ignored */
    CHECK(viz_color_detect(1) == VIZ_COLOR_16);
    setenv("NO_COLOR", "1", 1);
    setenv("COLORTERM", "truecolor", 1);
    CHECK(viz_color_detect(1) == VIZ_COLOR_NONE);
    for (int i = 0; i < 3; i++) {
        if (saved[i]) setenv(names[i], saved[i], 1);
        else unsetenv(names[i]);
        free(saved[i]);
    }
}

/* ---- labels ------------------------------------------------------------------ */

TEST(label_escape)
{
    StrBuf b;
    sb_init(&b);
    viz_label_escape(&b, " a\nb\tc\x01\x7f");
    CHECK_STR(b.s, "\xe2\x90\xa3" "a\xe2\x8f\x8e" "b\xe2\x87\xa5" "c\xe2\x90\x81\xe2\x90\xa1");
    sb_clear(&b);
    viz_label_escape(&b, "x\xff\xc3"); /* invalid UTF-8 → U+FFFD per byte */
    CHECK_STR(b.s, "x\xef\xbf\xbd\xef\xbf\xbd");
    sb_clear(&b);
    viz_text_escape(&b, "head 1\n");
    CHECK_STR(b.s, "head 1\xe2\x8f\x8e");
    sb_clear(&b);
    viz_label_escape(&b, NULL);
    CHECK(b.len == 0);
    CHECK(viz_display_width("\x1b[38;2;1;2;3m\xe5\xad\x97" "a\x1b[0m", 21) == 3);
    sb_free(&b);
}

/* ---- golden text (NONE mode) ------------------------------------------------------------------ */

TEST(golden_heatmap)
{
    float d[36];
    causal_matrix(d, 6);
    d[2 * 6 + 0] = 0.0f; /* an unmasked zero: drawn as ' ', not as the mask */
    d[5 * 6 + 3] = NAN;  /* masked like the upper triangle */
    VizOpts o = {VIZ_COLOR_NONE, 60};
    StrBuf b;
    sb_init(&b);
    GrErr e = {{0}};
    CHECK(viz_heatmap(&b, &o, "L0 H0 attention", d, 6, 6, LABELS, LABELS, 1, &e) == 0);
    check_golden("heatmap_none.txt", b.s);
    /* the row lines: frame at the same display column, same display width */
    AlignCtx a = {'|', 0, 0, 0, 0};
    each_line(b.s, align_line, &a);
    CHECK(a.n == 6);
    CHECK(a.bad == 0);
    CHECK(strchr(b.s, '\x1b') == NULL);
    /* the unmasked zero is ' ', the NaN and the upper triangle are '/' */
    CHECK(strstr(b.s, "|  ") != NULL || strstr(b.s, "| ") != NULL);

    /* other column labels: index legend; no labels at all: indices */
    sb_clear(&b);
    const char *cols[6] = {"c0", "c1", "c2", "c3", "c4", "\xe5\xad\x97\xe5\xad\x97"};
    CHECK(viz_heatmap(&b, &o, NULL, d, 6, 6, NULL, cols, 0, &e) == 0);
    check_golden("heatmap_none_nolabels.txt", b.s);

    sb_clear(&b);
    const float *ds[3] = {d, d, d};
    const char *subs[3] = {"head 0", "head 1", "head 2"};
    CHECK(viz_heatmap_multi(&b, &o, "layer 0", ds, subs, 3, 6, 6, LABELS, LABELS, 1, &e) == 0);
    check_golden("heatmap_multi_none.txt", b.s);
    int bad = 0;
    CHECK(max_line_width(b.s, 60, &bad) <= 60);
    sb_free(&b);
}

TEST(golden_hist)
{
    float v[200];
    for (int i = 0; i < 200; i++) v[i] = (float)((i * 37) % 101) / 50.0f - 1.0f; /* -1 .. 1 */
    v[7] = NAN;
    v[8] = INFINITY;
    v[9] = -INFINITY;
    VizOpts o = {VIZ_COLOR_NONE, 60};
    StrBuf b;
    sb_init(&b);
    GrErr e = {{0}};
    CHECK(viz_hist(&b, &o, "weights", v, 200, 8, &e) == 0);
    check_golden("hist_none.txt", b.s);
    CHECK(strstr(b.s, "not binned: 1 nan  1 +inf  1 -inf") != NULL);
    CHECK(strstr(b.s, "n 197") != NULL);
    /* counts add up to the finite values */
    long total = 0;
    for (const char *p = b.s; (p = strchr(p, '[')) != NULL; p++) {
        const char *q = strpbrk(p, ")]");
        if (q) total += strtol(q + 1, NULL, 10);
    }
    CHECK(total == 197);
    /* constant data still makes a histogram */
    float k[5] = {2, 2, 2, 2, 2};
    sb_clear(&b);
    CHECK(viz_hist(&b, &o, NULL, k, 5, 3, &e) == 0);
    CHECK(strstr(b.s, "mean 2  std 0") != NULL);
    sb_free(&b);
}

TEST(golden_bars_sparkline_gauge)
{
    const float p[6] = {0.5f, 0.25f, 0.125f, 0.0625f, 0.0f, 0.0625f};
    const float lg[6] = {3.25f, -1.5f, 0.75f, -4.0f, 8.5f, NAN};
    float loss[64];
    for (int i = 0; i < 64; i++) loss[i] = 10.8f - 8.0f * (float)i / 63.0f + ((i % 5) == 0 ? 0.5f : 0.0f);
    VizOpts o = {VIZ_COLOR_NONE, 60};
    StrBuf b;
    sb_init(&b);
    GrErr e = {{0}};
    CHECK(viz_bars(&b, &o, "next token", LABELS, p, 6, &e) == 0);
    CHECK(viz_bars(&b, &o, "logits", LABELS, lg, 6, &e) == 0);
    viz_sparkline(&b, &o, loss, 64);
    viz_sparkline(&b, &o, loss, 10);
    viz_gauge(&b, &o, "loss", 10.83, 10.825, "ln(V)", 12);
    check_golden("bars_spark_gauge_none.txt", b.s);
    CHECK(strstr(b.s, "0.500") != NULL);
    CHECK(strstr(b.s, "nan") != NULL);
    CHECK(strstr(b.s, "min 2.8  max 11.3  last 2.8") != NULL);
    CHECK(strstr(b.s, "ln(V) 10.825") != NULL);
    CHECK(strchr(b.s, '\x1b') == NULL);
    sb_free(&b);
}

/* ---- colour modes ------------------------------------------------------------------ */

static void render_all(StrBuf *b, VizColor m, int width)
{
    float d[64 * 64];
    causal_matrix(d, 64);
    const char *labs[64];
    char store[64][32];
    for (int i = 0; i < 64; i++) {
        snprintf(store[i], sizeof store[i], i % 3 ? " token%d" : "Vi\xe1\xbb\x87t\xe5\xad\x97%d", i);
        labs[i] = store[i];
    }
    float v[1000];
    for (int i = 0; i < 1000; i++) v[i] = (float)sin(i * 0.37) * 3;
    VizOpts o = {m, width};
    GrErr e = {{0}};
    const float *ds[4] = {d, d, d, d};
    CHECK(viz_heatmap(b, &o, "a rather long title that will not fit in a narrow terminal at all", d, 64, 64, labs,
                      labs, 1, &e) == 0);
    CHECK(viz_heatmap(b, &o, "small", d, 6, 6, LABELS, LABELS, 1, &e) == 0);
    CHECK(viz_heatmap_multi(b, &o, "heads", ds, NULL, 4, 12, 12, labs, labs, 1, &e) == 0);
    CHECK(viz_hist(b, &o, "hist", v, 1000, 20, &e) == 0);
    CHECK(viz_bars(b, &o, "bars", labs, v, 20, &e) == 0);
    viz_sparkline(b, &o, v, 1000);
    viz_gauge(b, &o, "loss", 10.83, 10.825, "ln(V)", 12);
    viz_gauge(b, &o, "loss", 2.5, NAN, NULL, 0);
}

TEST(color_escapes)
{
    StrBuf b;
    sb_init(&b);
    render_all(&b, VIZ_COLOR_TRUE, 100);
    CHECK(strstr(b.s, "\x1b[38;2;") != NULL);
    CHECK(strstr(b.s, "\x1b[48;2;") != NULL);
    CHECK(strstr(b.s, "\xe2\x96\x80") != NULL); /* ▀ half blocks */
    CHECK(lines_without_reset(b.s) == 0);
    sb_clear(&b);
    render_all(&b, VIZ_COLOR_256, 100);
    CHECK(strstr(b.s, "\x1b[38;5;") != NULL);
    CHECK(strstr(b.s, "\x1b[48;5;") != NULL);
    CHECK(strstr(b.s, ";2;") == NULL);
    CHECK(lines_without_reset(b.s) == 0);
    sb_clear(&b);
    render_all(&b, VIZ_COLOR_16, 100);
    CHECK(strstr(b.s, "38;") == NULL && strstr(b.s, "48;") == NULL);
    CHECK(strstr(b.s, "\x1b[3") != NULL || strstr(b.s, "\x1b[9") != NULL);
    CHECK(strstr(b.s, "\x1b[4") != NULL || strstr(b.s, "\x1b[10") != NULL);
    CHECK(lines_without_reset(b.s) == 0);
    sb_clear(&b);
    render_all(&b, VIZ_COLOR_NONE, 100);
    CHECK(memchr(b.s, '\x1b', b.len) == NULL);
    sb_free(&b);
}

/* Masked cells never share a colour with any value, in every mode. */
TEST(mask_distinct)
{
    float d[4] = {0.0f, 0.0f, 0.0f, 1.0f}; /* row 0: 0 and masked */
    for (int m = VIZ_COLOR_16; m <= VIZ_COLOR_TRUE; m++) {
        VizOpts o = {(VizColor)m, 80};
        StrBuf b;
        sb_init(&b);
        CHECK(viz_heatmap(&b, &o, NULL, d, 2, 2, NULL, NULL, 1, NULL) == 0);
        /* first cell: fg of value 0; second: fg of the mask; they differ */
        const char *cell = strstr(b.s, "\x1b[");
        CHECK(cell != NULL);
        if (cell) {
            const char *end = strstr(cell, "\xe2\x96\x80");
            const char *second = end ? strstr(end, "\x1b[") : NULL;
            CHECK(second != NULL);
            if (end && second) CHECK(strncmp(cell, second, 8) != 0);
        }
        sb_free(&b);
    }
}

/* ---- width clipping ------------------------------------------------------------------ */

TEST(width_clipping)
{
    int widths[] = {40, 24, 61, 80, 200};
    for (int m = VIZ_COLOR_NONE; m <= VIZ_COLOR_TRUE; m++)
        for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
            StrBuf b;
            sb_init(&b);
            render_all(&b, (VizColor)m, widths[k]);
            int bad = 0;
            max_line_width(b.s, widths[k], &bad);
            CHECK(bad == 0);
            if (widths[k] < 64) CHECK(strstr(b.s, " of 64 col") != NULL);
            sb_free(&b);
        }
    /* the 64×64 heatmap at width 40 keeps its rows aligned */
    StrBuf b;
    sb_init(&b);
    float d[64 * 64];
    causal_matrix(d, 64);
    const char *labs[64];
    char store[64][32];
    for (int i = 0; i < 64; i++) {
        snprintf(store[i], sizeof store[i], i % 2 ? "\xe5\xad\x97\xe5\xad\x97%d" : "Vie\xcc\xa3\xcc\x82t%d", i);
        labs[i] = store[i];
    }
    VizOpts o = {VIZ_COLOR_NONE, 40};
    CHECK(viz_heatmap(&b, &o, NULL, d, 64, 64, labs, labs, 1, NULL) == 0);
    AlignCtx a = {'|', 0, 0, 0, 0};
    each_line(b.s, align_line, &a);
    CHECK(a.n == 64 && a.bad == 0);
    CHECK(a.width <= 40);
    sb_free(&b);
}

/* ---- errors ------------------------------------------------------------------ */

TEST(errors)
{
    StrBuf b;
    sb_init(&b);
    GrErr e = {{0}};
    float d[4] = {0};
    VizOpts o = {VIZ_COLOR_NONE, 80};
    CHECK(viz_heatmap(&b, &o, NULL, d, 0, 2, NULL, NULL, 0, &e) == -1);
    CHECK(strstr(e.msg, "0 x 2") != NULL);
    CHECK(viz_heatmap(&b, &o, NULL, NULL, 2, 2, NULL, NULL, 0, &e) == -1);
    CHECK(viz_hist(&b, &o, NULL, d, 4, 0, &e) == -1);
    CHECK(strstr(e.msg, "bins") != NULL);
    CHECK(viz_hist(&b, &o, NULL, d, 4, 201, &e) == -1);
    CHECK(viz_hist(&b, &o, NULL, d, 4, 200, &e) == 0);
    CHECK(viz_bars(&b, &o, NULL, NULL, d, -1, &e) == -1);
    VizOpts tiny = {VIZ_COLOR_NONE, 2};
    CHECK(viz_heatmap(&b, &tiny, NULL, d, 2, 2, NULL, NULL, 0, &e) == -1);
    CHECK(strstr(e.msg, "narrow") != NULL);
    const float *ds[2] = {d, NULL};
    CHECK(viz_heatmap_multi(&b, &o, NULL, ds, NULL, 2, 2, 2, NULL, NULL, 0, &e) == -1);
    sb_clear(&b);
    viz_sparkline(&b, &o, d, 0);
    CHECK_STR(b.s, "(no data)\n");
    CHECK(viz_png_heatmap("/tmp/x.png", 10, 10, NULL, d, 2, 2, NULL, NULL, 0, &e) == -1);
    CHECK(strstr(e.msg, "10x10") != NULL);
    CHECK(viz_png_hist("/tmp/x.png", 0, 0, NULL, d, 4, 0, &e) == -1);
    CHECK(viz_png_line("/tmp/x.png", 0, 0, NULL, NULL, NULL, d, 0, NAN, &e) == -1);
    sb_free(&b);
}

/* ---- colour map ------------------------------------------------------------------ */

static double luma(const unsigned char *c) { return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }

TEST(colormap)
{
    unsigned char prev[3], cur[3];
    viz_colormap(0, prev);
    CHECK(prev[0] == 68 && prev[1] == 1 && prev[2] == 84);
    int min_dist = 1 << 30;
    for (int i = 1; i <= 1000; i++) {
        viz_colormap(i / 1000.0, cur);
        CHECK(luma(cur) >= luma(prev) - 0.8); /* brighter = larger (up to 8-bit rounding) */
        int dd = 0;
        for (int k = 0; k < 3; k++) dd += (cur[k] - VIZ_MASK_RGB[k]) * (cur[k] - VIZ_MASK_RGB[k]);
        if (dd < min_dist) min_dist = dd;
        memcpy(prev, cur, 3);
    }
    CHECK(cur[0] == 253 && cur[1] == 231 && cur[2] == 37);
    for (int i = 1; i <= 20; i++) { /* strictly brighter at a coarser step */
        viz_colormap((i - 1) / 20.0, prev);
        viz_colormap(i / 20.0, cur);
        CHECK(luma(cur) > luma(prev));
    }
    CHECK(min_dist > 40 * 40); /* the mask colour is far from every map colour */
    viz_colormap(-5, cur);
    CHECK(cur[0] == 68);
    viz_colormap(NAN, cur);
    CHECK(cur[0] == 68);
}

/* ---- PNG ------------------------------------------------------------------ */

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char p[160];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static unsigned char *load_png(const char *path, int *w, int *h)
{
    int n;
    return stbi_load(path, w, h, &n, 3);
}

static const unsigned char *pixel(const unsigned char *img, int w, int x, int y)
{
    return img + ((size_t)y * w + x) * 3;
}

/* The centre of the largest cell is the brightest centre; masked centres are
 * VIZ_MASK_RGB; every centre has exactly its colour-map colour. */
static void check_heat_png(const char *path, int w, int h, const float *d, int rows, int cols,
                           const char *const *labels, int mask_upper)
{
    GrErr e = {{0}};
    CHECK(viz_png_heatmap(path, w, h, "attention · Tiếng Việt", d, rows, cols, labels, labels, mask_upper, &e) == 0);
    VizPngGrid g;
    CHECK(viz_png_heatmap_grid(w, h, "attention · Tiếng Việt", rows, cols, labels, labels, &g, &e) == 0);
    int iw = 0, ih = 0;
    unsigned char *img = load_png(path, &iw, &ih);
    CHECK(img != NULL);
    if (!img) return;
    CHECK(iw == g.w && ih == g.h);
    CHECK(iw == (w ? w : 1600) && ih == (h ? h : 1000));
    CHECK(g.cw >= 1 && g.x0 >= 0 && g.y0 >= 0 && g.x0 + cols * g.cw <= iw && g.y0 + rows * g.ch <= ih);
    float mn = INFINITY, mx = -INFINITY;
    int br = -1, bc = -1;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float v = d[r * cols + c];
            if ((mask_upper && c > r) || isnan(v)) continue;
            if (v < mn) mn = v;
            if (v > mx) { mx = v; br = r; bc = c; }
        }
    double best = -1;
    int best_r = -1, best_c = -1, masked_seen = 0, exact_bad = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            int x = (int)(g.x0 + (c + 0.5) * g.cw), y = (int)(g.y0 + (r + 0.5) * g.ch);
            const unsigned char *p = pixel(img, iw, x, y);
            float v = d[r * cols + c];
            if ((mask_upper && c > r) || isnan(v)) {
                masked_seen++;
                if (memcmp(p, VIZ_MASK_RGB, 3) != 0) exact_bad++;
            } else {
                unsigned char want[3];
                viz_colormap(mx > mn ? (v - mn) / (mx - mn) : 0.5, want);
                if (abs(p[0] - want[0]) > 1 || abs(p[1] - want[1]) > 1 || abs(p[2] - want[2]) > 1) exact_bad++;
            }
            if (luma(p) > best) {
                best = luma(p);
                best_r = r;
                best_c = c;
            }
        }
    CHECK(best_r == br && best_c == bc);
    CHECK(exact_bad == 0);
    CHECK(masked_seen > 0 || !mask_upper);
    free(img);
}

TEST(png_heatmap)
{
    /* a 6×6 causal map whose largest weight is off the diagonal, plus a NaN */
    float d[36];
    causal_matrix(d, 6);
    d[4 * 6 + 1] = 1.25f;
    d[5 * 6 + 2] = NAN;
    check_heat_png(tmp_path("heat6.png"), 0, 0, d, 6, 6, LABELS, 1);
    check_heat_png(tmp_path("heat6_small.png"), 640, 400, d, 6, 6, NULL, 1);

    /* 64 tokens: timed */
    static float big[64 * 64];
    for (int r = 0; r < 64; r++) {
        double s = 0;
        for (int c = 0; c <= r; c++) s += exp(-0.15 * (r - c));
        for (int c = 0; c < 64; c++) big[r * 64 + c] = c <= r ? (float)(exp(-0.15 * (r - c)) / s) : 0.0f;
    }
    big[40 * 64 + 3] = 1.5f;
    const char *labs[64];
    char store[64][24];
    for (int i = 0; i < 64; i++) {
        snprintf(store[i], sizeof store[i], i % 4 ? " tok%d" : "Vi\xe1\xbb\x87t%d", i);
        labs[i] = store[i];
    }
    double t0 = now_ms(), c0 = cpu_ms();
    GrErr e = {{0}};
    CHECK(viz_png_heatmap(tmp_path("heat64.png"), 0, 0, "64 tokens", big, 64, 64, labs, labs, 1, &e) == 0);
    double t1 = now_ms(), c1 = cpu_ms();
    printf("viz: 64-token PNG attention map (1600x1000): %.1f ms wall, %.1f ms cpu\n", t1 - t0, c1 - c0);
    check_heat_png(tmp_path("heat64b.png"), 0, 0, big, 64, 64, labs, 1);

    /* no rename leftovers */
    struct stat st;
    CHECK(stat(tmp_path("heat64.png.tmp"), &st) != 0);
}

static void check_png_size(const char *path, int w, int h)
{
    int iw = 0, ih = 0;
    unsigned char *img = load_png(path, &iw, &ih);
    CHECK(img != NULL);
    CHECK(iw == w && ih == h);
    /* not blank: some dark text or bars were drawn */
    int dark = 0;
    if (img)
        for (int i = 0; i < iw * ih; i++)
            if (luma(img + i * 3) < 128) dark++;
    CHECK(dark > 100);
    free(img);
}

TEST(png_other_charts)
{
    GrErr e = {{0}};
    float d[36];
    causal_matrix(d, 6);
    const float *ds[5] = {d, d, d, d, d};
    const char *subs[5] = {"head 0", "head 1", "head 2", "head 3", "head 4"};
    CHECK(viz_png_heatmap_multi(tmp_path("multi.png"), 1200, 700, "layer 0", ds, subs, 5, 6, 6, LABELS, LABELS, 1,
                                &e) == 0);
    check_png_size(tmp_path("multi.png"), 1200, 700);
    float v[5000];
    for (int i = 0; i < 5000; i++) v[i] = (float)(sin(i * 1.7) * cos(i * 0.31)) * 0.02f;
    v[10] = NAN;
    CHECK(viz_png_hist(tmp_path("hist.png"), 800, 500, "weights", v, 5000, 40, &e) == 0);
    check_png_size(tmp_path("hist.png"), 800, 500);
    CHECK(viz_png_hist(tmp_path("hist_default.png"), 0, 0, "weights", v, 5000, 40, &e) == 0);
    check_png_size(tmp_path("hist_default.png"), 1600, 1000);
    const float p[6] = {0.5f, 0.25f, 0.125f, 0.0625f, 0.0f, 0.0625f};
    CHECK(viz_png_bars(tmp_path("bars.png"), 1000, 600, "next token", LABELS, p, 6, &e) == 0);
    check_png_size(tmp_path("bars.png"), 1000, 600);
    const float lg[6] = {3.25f, -1.5f, 0.75f, -4.0f, 8.5f, NAN};
    CHECK(viz_png_bars(tmp_path("logits.png"), 0, 0, "logits", NULL, lg, 6, &e) == 0);
    check_png_size(tmp_path("logits.png"), 1600, 1000);
    float loss[300];
    for (int i = 0; i < 300; i++) loss[i] = 10.8f * expf(-i / 60.0f) + 2.0f;
    loss[100] = NAN;
    CHECK(viz_png_line(tmp_path("line.png"), 900, 0, "loss", "step", "loss", loss, 300, log(50257.0), &e) == 0);
    check_png_size(tmp_path("line.png"), 900, 563);
    CHECK(viz_png_line(tmp_path("line1.png"), 300, 200, NULL, NULL, NULL, loss, 1, NAN, &e) == 0);
}

TEST(png_errors)
{
    GrErr e = {{0}};
    float d[4] = {1, 2, 3, 4};
    const char *bad = "/nonexistent/dir/x.png";
    CHECK(viz_png_heatmap(bad, 0, 0, "t", d, 2, 2, NULL, NULL, 0, &e) == -1);
    CHECK(strstr(e.msg, bad) != NULL);
    e.msg[0] = 0;
    CHECK(viz_png_hist(bad, 0, 0, "t", d, 4, 4, &e) == -1);
    CHECK(strstr(e.msg, bad) != NULL);
    e.msg[0] = 0;
    CHECK(viz_png_bars(bad, 0, 0, "t", NULL, d, 4, &e) == -1);
    CHECK(strstr(e.msg, bad) != NULL);
    e.msg[0] = 0;
    CHECK(viz_png_line(bad, 0, 0, "t", NULL, NULL, d, 4, NAN, &e) == -1);
    CHECK(strstr(e.msg, bad) != NULL);
    const float *ds[1] = {d};
    CHECK(viz_png_heatmap_multi(bad, 0, 0, "t", ds, NULL, 1, 2, 2, NULL, NULL, 0, &e) == -1);
    CHECK(strstr(e.msg, bad) != NULL);
    /* a directory in the way of the final name: the temp file is cleaned up */
    const char *dir = tmp_path("adir.png");
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(viz_png_heatmap(dir, 0, 0, "t", d, 2, 2, NULL, NULL, 0, &e) == -1);
    CHECK(strstr(e.msg, dir) != NULL);
    char tmpf[200];
    snprintf(tmpf, sizeof tmpf, "%s.tmp", dir);
    struct stat st;
    CHECK(stat(tmpf, &st) != 0);
    rmdir(dir);
}

TEST(png_without_font)
{
    GrErr e = {{0}};
    float d[36];
    causal_matrix(d, 6);
    viz_png_font("/nonexistent/font.ttf");
    CHECK(viz_png_heatmap(tmp_path("nofont.png"), 400, 300, "title", d, 6, 6, LABELS, LABELS, 1, &e) == 0);
    CHECK(viz_png_line(tmp_path("nofont_line.png"), 400, 300, "title", "x", "y", d, 36, 0.5, &e) == 0);
    int w = 0, h = 0;
    unsigned char *img = load_png(tmp_path("nofont.png"), &w, &h);
    CHECK(img != NULL && w == 400 && h == 300);
    free(img);
    viz_png_font(NULL);
}

/* ---- timing ------------------------------------------------------------------ */

TEST(timing)
{
    static float d[64 * 64];
    causal_matrix(d, 64);
    const char *labs[64];
    char store[64][24];
    for (int i = 0; i < 64; i++) {
        snprintf(store[i], sizeof store[i], " tok%d", i);
        labs[i] = store[i];
    }
    StrBuf b;
    sb_init(&b);
    VizOpts o = {VIZ_COLOR_TRUE, 200};
    double t0 = now_ms();
    int reps = 20;
    for (int i = 0; i < reps; i++) {
        sb_clear(&b);
        CHECK(viz_heatmap(&b, &o, "t", d, 64, 64, labs, labs, 1, NULL) == 0);
    }
    double t1 = now_ms();
    printf("viz: 64x64 terminal heatmap (truecolor): %.3f ms (%zu bytes)\n", (t1 - t0) / reps, b.len);
    sb_free(&b);
}

static void cleanup_tmpdir(void)
{
    const char *names[] = {"heat6.png", "heat6_small.png", "heat64.png", "heat64b.png", "multi.png", "hist.png",
                           "hist_default.png", "bars.png", "logits.png", "line.png", "line1.png", "nofont.png",
                           "nofont_line.png"};
    const char *keep = getenv("VIZ_KEEP_PNG");
    if (keep && *keep) {
        printf("viz: PNGs kept in %s\n", tmpdir);
        return;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) remove(tmp_path(names[i]));
    rmdir(tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_viz.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(color_parse_name);
    RUN(color_detect);
    RUN(label_escape);
    RUN(golden_heatmap);
    RUN(golden_hist);
    RUN(golden_bars_sparkline_gauge);
    RUN(color_escapes);
    RUN(mask_distinct);
    RUN(width_clipping);
    RUN(errors);
    RUN(colormap);
    RUN(png_heatmap);
    RUN(png_other_charts);
    RUN(png_errors);
    RUN(png_without_font);
    RUN(timing);
    cleanup_tmpdir();
    return harness_done("viz");
}
