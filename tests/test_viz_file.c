/* test_viz_file.c — the pictures as files, measured: PNGs decoded back with stb_image
 * (cell colours are the map's colours, the same probability has the same colour in two
 * exports, the colour bar is exactly the map's height, 0 is the middle colour of a
 * signed map, text is drawn at the stated sizes) and SVGs checked (valid XML by xmllint,
 * one <text> per token label, the same cell colours as the PNG, a raster above the
 * stated number of cells). */
#include "viz_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#include <stb_image.h>
#pragma GCC diagnostic pop

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char p[4][160];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

typedef struct {
    int w, h;
    unsigned char *px;
} Img;

static Img load(const char *path)
{
    Img m = {0, 0, NULL};
    int n;
    m.px = stbi_load(path, &m.w, &m.h, &n, 3);
    CHECK(m.px != NULL);
    return m;
}

static const unsigned char *at(const Img *m, int x, int y) { return m->px + ((size_t)y * m->w + x) * 3; }

static int same_rgb(const unsigned char *a, const unsigned char *b) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2]; }

/* A point inside cell (r, c), away from its centre (where a number may be drawn). */
static void cell_point(const VizGeom *g, int r, int c, int *x, int *y)
{
    *x = (int)(g->x0 + c * g->cw + g->cw * 0.15 + 1);
    *y = (int)(g->y0 + r * g->ch + g->ch * 0.15 + 1);
}

/* Rows [y0, y1) × columns [x0, x1): the height of the ink (pixels darker than 128). */
static int ink_height(const Img *m, int x0, int x1, int y0, int y1)
{
    int top = -1, bot = -1;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < m->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < m->w; x++) {
            const unsigned char *p = at(m, x, y);
            if (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2] < 128) {
                if (top < 0) top = y;
                bot = y;
                break;
            }
        }
    return top < 0 ? 0 : bot - top + 1;
}

/* ---- PNG ---- */

TEST(png_cells_are_the_map)
{
    float d[36];
    causal_matrix(d, 6);
    VizHeatmap h = causal_map(d, 6, LABELS);
    GrErr e = {{0}};
    const char *path = tmp_path("heat.png");
    CHECK(viz_file_heatmap(path, 0, 0, &h, &e) == 0);
    VizGeom g;
    CHECK(viz_file_heatmap_geom(0, 0, &h, &g, &e) == 0);
    Img m = load(path);
    if (!m.px) return;
    CHECK(m.w == 1920 && m.h == 1080 && g.w == 1920 && g.h == 1080);
    for (int r = 0; r < 6; r++)
        for (int c = 0; c < 6; c++) {
            int x, y;
            cell_point(&g, r, c, &x, &y);
            const unsigned char *p = at(&m, x, y);
            if (c > r) {
                CHECK(same_rgb(p, VIZ_MASK_RGB) || (p[0] == 232 && p[1] == 232)); /* hatched grey */
                continue;
            }
            unsigned char want[3];
            viz_cmap_seq(d[r * 6 + c], want); /* fixed 0–1: t is the weight itself */
            CHECK(same_rgb(p, want));
        }
    free(m.px);
}

/* A probability of 0.25 is the same colour in two exports whatever else they hold. */
TEST(png_same_probability_same_colour)
{
    float a[4] = {0.25f, 0.05f, 0.05f, 0.05f}, b[4] = {0.25f, 0.9f, 0.6f, 0.75f};
    VizHeatmap ha = {.data = a, .rows = 2, .cols = 2, .title = "a"}, hb = {.data = b, .rows = 2, .cols = 2, .title = "b"};
    viz_heatmap_pick_scale(&ha, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    viz_heatmap_pick_scale(&hb, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    GrErr e = {{0}};
    CHECK(viz_file_heatmap(tmp_path("pa.png"), 800, 600, &ha, &e) == 0);
    CHECK(viz_file_heatmap(tmp_path("pb.png"), 1000, 700, &hb, &e) == 0);
    VizGeom ga, gb;
    viz_file_heatmap_geom(800, 600, &ha, &ga, &e);
    viz_file_heatmap_geom(1000, 700, &hb, &gb, &e);
    Img ma = load(tmp_path("pa.png")), mb = load(tmp_path("pb.png"));
    if (ma.px && mb.px) {
        int xa, ya, xb, yb;
        cell_point(&ga, 0, 0, &xa, &ya);
        cell_point(&gb, 0, 0, &xb, &yb);
        CHECK(same_rgb(at(&ma, xa, ya), at(&mb, xb, yb)));
    }
    free(ma.px);
    free(mb.px);
}

/* The colour bar spans exactly the map's rows, bright at the top, dark at the bottom. */
TEST(png_colour_bar_is_map_height)
{
    float d[64];
    causal_matrix(d, 8);
    VizHeatmap h = causal_map(d, 8, NULL);
    GrErr e = {{0}};
    CHECK(viz_file_heatmap(tmp_path("bar.png"), 0, 0, &h, &e) == 0);
    VizGeom g;
    viz_file_heatmap_geom(0, 0, &h, &g, &e);
    CHECK_NEAR(g.bar_y0, g.y0, 1e-9);
    CHECK_NEAR(g.bar_y1, g.y0 + 8 * g.ch, 1e-9);
    Img m = load(tmp_path("bar.png"));
    if (!m.px) return;
    /* measured: the rows whose pixel is not white, down the bar's and the map's first column */
    int bx = (int)((g.bar_x0 + g.bar_x1) / 2), mx = (int)(g.x0 + g.cw / 2);
    int bt = -1, bb = -1, mt = -1, mb = -1;
    for (int y = 0; y < m.h; y++) {
        const unsigned char *p = at(&m, bx, y), *q = at(&m, mx, y);
        int pw = p[0] == 255 && p[1] == 255 && p[2] == 255, qw = q[0] == 255 && q[1] == 255 && q[2] == 255;
        if (!pw && y > g.y0 - 5 && y < g.y0 + 8 * g.ch + 5) { if (bt < 0) bt = y; bb = y; }
        if (!qw && y > g.y0 - 5 && y < g.y0 + 8 * g.ch + 5) { if (mt < 0) mt = y; mb = y; }
    }
    CHECK(bt == mt && bb == mb);
    unsigned char top[3], bottom[3];
    viz_cmap_seq(1, top);
    viz_cmap_seq(0, bottom);
    const unsigned char *pt = at(&m, bx, (int)g.bar_y0 + 1), *pb = at(&m, bx, (int)g.bar_y1 - 2);
    CHECK(abs(pt[0] - top[0]) + abs(pt[1] - top[1]) + abs(pt[2] - top[2]) < 12);
    CHECK(abs(pb[0] - bottom[0]) + abs(pb[1] - bottom[1]) + abs(pb[2] - bottom[2]) < 12);
    free(m.px);
}

/* Signed data: diverging, 0 is the middle (white) colour, ±max the ends. */
TEST(png_signed_zero_is_middle)
{
    float d[6] = {0.0f, 0.5f, -0.5f, 2.0f, -2.0f, 1.0f};
    VizHeatmap h = {.data = d, .rows = 2, .cols = 3, .title = "residual"};
    viz_heatmap_pick_scale(&h, VIZ_DATA_SIGNED, VIZ_SCALE_DEFAULT, 0);
    GrErr e = {{0}};
    CHECK(viz_file_heatmap(tmp_path("signed.png"), 0, 0, &h, &e) == 0);
    VizGeom g;
    viz_file_heatmap_geom(0, 0, &h, &g, &e);
    Img m = load(tmp_path("signed.png"));
    if (!m.px) return;
    unsigned char mid[3], lo[3], hi[3];
    viz_cmap_div(0.5, mid);
    viz_cmap_div(0, lo);
    viz_cmap_div(1, hi);
    int x, y;
    cell_point(&g, 0, 0, &x, &y);
    CHECK(same_rgb(at(&m, x, y), mid));
    cell_point(&g, 1, 0, &x, &y);
    CHECK(same_rgb(at(&m, x, y), hi));
    cell_point(&g, 1, 1, &x, &y);
    CHECK(same_rgb(at(&m, x, y), lo));
    free(m.px);
}

/* Titles at 36 px, axis titles 24 px, token labels 16 px at 1920×1080: measured. */
TEST(png_text_sizes)
{
    float d[36];
    causal_matrix(d, 6);
    static const char *const HS[6] = {"H", "H", "H", "H", "H", "H"};
    VizHeatmap h = causal_map(d, 6, HS);
    h.label_index = 0;
    h.title = "HHHH";
    GrErr e = {{0}};
    CHECK(viz_file_heatmap(tmp_path("text.png"), 0, 0, &h, &e) == 0);
    VizGeom g;
    viz_file_heatmap_geom(0, 0, &h, &g, &e);
    CHECK(g.title_px >= 36 && g.axis_px >= 24 && g.label_px >= 16);
    Img m = load(tmp_path("text.png"));
    if (!m.px) return;
    int title = ink_height(&m, 0, 400, 0, (int)g.y0 - 2);
    CHECK(abs(title - viz_font_ink_height("HHHH", g.title_px)) <= 1);
    CHECK(title >= 25); /* a 36 px cap height */
    int label = ink_height(&m, (int)g.x0 - 80, (int)g.x0 - 2, (int)g.y0, (int)(g.y0 + g.ch));
    CHECK(abs(label - viz_font_ink_height("H", g.label_px)) <= 1);
    CHECK(label >= 11); /* a 16 px cap height */
    free(m.px);
}

/* Long sequences: the labels that fit, every k-th, and the page says so. */
TEST(every_kth_label)
{
    enum { N = 120 };
    static float d[N * N];
    causal_matrix(d, N);
    static char store[N][16];
    static const char *labs[N];
    for (int i = 0; i < N; i++) {
        snprintf(store[i], sizeof store[i], "k%d", i);
        labs[i] = store[i];
    }
    VizHeatmap h = causal_map(d, N, labs);
    GrErr e = {{0}};
    VizGeom g;
    viz_file_heatmap_geom(0, 0, &h, &g, &e);
    CHECK(g.label_every >= 2);
    CHECK(g.label_px >= 16);
    CHECK(viz_file_heatmap(tmp_path("long.svg"), 0, 0, &h, &e) == 0);
    char *svg = read_file(tmp_path("long.svg"));
    CHECK(svg && strstr(svg, "token labelled") != NULL);
    /* the last token always has its label */
    char want[32];
    snprintf(want, sizeof want, ">k%d<", N - 1);
    CHECK(svg && strstr(svg, want) != NULL);
    free(svg);
}

/* ---- SVG ---- */

static int xml_valid(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "xmllint rejects %s (is libxml2-utils installed?)\n", path);
    return rc == 0;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

TEST(svg_text_labels_and_colours)
{
    float d[36];
    causal_matrix(d, 6);
    static const char *const KS[6] = {"k0", "k1", "k2", "k3", "k4", "<&>"};
    VizHeatmap h = causal_map(d, 6, KS);
    GrErr e = {{0}};
    const char *svg_path = tmp_path("heat.svg"), *png_path = tmp_path("heat6.png");
    CHECK(viz_file_heatmap(svg_path, 0, 0, &h, &e) == 0);
    CHECK(viz_file_heatmap(png_path, 0, 0, &h, &e) == 0);
    CHECK(xml_valid(svg_path));
    char *svg = read_file(svg_path);
    if (!svg) return;
    /* one <text> per token label on each axis (rows carry their position) */
    for (int i = 0; i < 5; i++) {
        char col[32], row[48];
        snprintf(col, sizeof col, ">k%d</text>", i);
        snprintf(row, sizeof row, ">%d  k%d</text>", i, i);
        CHECK(count(svg, col) == 1);
        CHECK(count(svg, row) == 1);
    }
    CHECK(count(svg, ">&lt;&amp;&gt;</text>") == 1); /* escaped, still one text */
    CHECK(strstr(svg, "<image") == NULL);
    /* the cells' fills, in row-major order of the unmasked cells, are the PNG's colours */
    VizGeom g;
    viz_file_heatmap_geom(0, 0, &h, &g, &e);
    Img m = load(png_path);
    const char *p = svg;
    int cells = 0;
    for (int r = 0; r < 6 && m.px; r++)
        for (int c = 0; c <= r; c++) {
            p = strstr(p, "<rect class=\"cell\"");
            CHECK(p != NULL);
            if (!p) break;
            const char *f = strstr(p, "fill=\"#");
            unsigned rr, gg, bb;
            CHECK(f && sscanf(f + 7, "%2x%2x%2x", &rr, &gg, &bb) == 3);
            int x, y;
            cell_point(&g, r, c, &x, &y);
            const unsigned char *px = at(&m, x, y);
            CHECK(px[0] == rr && px[1] == gg && px[2] == bb);
            cells++;
            p++;
        }
    CHECK(cells == 21);
    free(m.px);
    free(svg);
}

/* Above VIZ_SVG_MAX_RECTS cells the field is one embedded PNG; labels stay text. */
TEST(svg_raster_field)
{
    enum { N = 80 };
    static float d[N * N];
    causal_matrix(d, N);
    VizHeatmap h = causal_map(d, N, NULL);
    CHECK(N * N > VIZ_SVG_MAX_RECTS);
    GrErr e = {{0}};
    CHECK(viz_file_heatmap(tmp_path("big.svg"), 0, 0, &h, &e) == 0);
    CHECK(xml_valid(tmp_path("big.svg")));
    char *svg = read_file(tmp_path("big.svg"));
    CHECK(svg && count(svg, "<image class=\"cells\"") == 1);
    CHECK(svg && strstr(svg, "class=\"cell\"") == NULL);
    CHECK(svg && count(svg, "<text") > 10);
    free(svg);
}

/* Histogram, bars, line: PNG at the size asked, SVG valid, the words a slide needs. */
TEST(other_pictures)
{
    GrErr e = {{0}};
    float v[500];
    for (int i = 0; i < 500; i++) v[i] = (float)sin(i * 0.37);
    VizHist hs = {.data = v, .n = 500, .bins = 30, .title = "Histogram of w"};
    const float p[6] = {0.5f, 0.3f, 0.2f, 0.4f, 0.35f, 0.25f};
    const char *labels[3] = {"a", " b", "c"}, *series[2] = {"\xcf\x84 = 0.5", "\xcf\x84 = 1"};
    VizBars b = {.labels = labels, .n = 3, .values = p, .nseries = 2, .series = series, .prob = 1, .title = "next"};
    float xs[50], ys[50], vx[3] = {10, 30, 50}, vy[3] = {4.0f, 3.0f, 2.5f};
    for (int i = 0; i < 50; i++) xs[i] = (float)(i + 1), ys[i] = 4.6f - 0.04f * (float)i;
    const float *X[2] = {xs, vx}, *Y[2] = {ys, vy};
    int N[2] = {50, 3};
    const char *names[2] = {"train", "validation"};
    VizLine l = {.nseries = 2, .x = X, .y = Y, .n = N, .names = names, .markers_from = 1, .ref = 4.5643,
                 .ref_label = "ln V = 4.56", .title = "loss", .xtitle = "step", .ytitle = "loss"};
    for (int k = 0; k < 2; k++) {
        const char *ext = k ? "svg" : "png";
        char n1[32], n2[32], n3[32];
        snprintf(n1, sizeof n1, "hist.%s", ext);
        snprintf(n2, sizeof n2, "bars.%s", ext);
        snprintf(n3, sizeof n3, "line.%s", ext);
        CHECK(viz_file_hist(tmp_path(n1), 1000, 600, &hs, &e) == 0);
        CHECK(viz_file_bars(tmp_path(n2), 0, 0, &b, &e) == 0);
        CHECK(viz_file_line(tmp_path(n3), 0, 720, &l, &e) == 0);
        if (!k) {
            Img m = load(tmp_path(n1));
            CHECK(m.w == 1000 && m.h == 600);
            free(m.px);
            m = load(tmp_path(n3));
            CHECK(m.w == 1280 && m.h == 720); /* one side given: 16:9 */
            free(m.px);
        } else {
            CHECK(xml_valid(tmp_path(n1)) && xml_valid(tmp_path(n2)) && xml_valid(tmp_path(n3)));
            char *s2 = read_file(tmp_path(n2)), *s3 = read_file(tmp_path(n3));
            CHECK(s2 && strstr(s2, ">\xcf\x84 = 0.5</text>") && strstr(s2, ">\xcf\x84 = 1</text>"));
            CHECK(s3 && strstr(s3, ">ln V = 4.56</text>") && strstr(s3, ">validation</text>"));
            free(s2);
            free(s3);
        }
    }
}

/* Bad input: one line, and nothing left behind. */
TEST(file_errors)
{
    float d[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    VizHeatmap h = {.data = d, .rows = 2, .cols = 2};
    viz_heatmap_pick_scale(&h, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    GrErr e = {{0}};
    CHECK(viz_file_heatmap(tmp_path("nope/x.png"), 0, 0, &h, &e) == -1);
    CHECK(strstr(e.msg, "does not exist") != NULL);
    CHECK(viz_file_heatmap(tmp_path("x.jpg"), 0, 0, &h, &e) == -1);
    CHECK(strstr(e.msg, ".png or .svg") != NULL);
    CHECK(viz_file_heatmap(tmp_path("x.png"), 10, 10, &h, &e) == -1);
    CHECK(strstr(e.msg, "10x10") != NULL);
    CHECK(viz_file_heatmap(tmp_path("x.png"), 100000, 0, &h, &e) == -1);
    VizHist hs = {.data = d, .n = 4, .bins = 0};
    CHECK(viz_file_hist(tmp_path("x.png"), 0, 0, &hs, &e) == -1);
    VizLine l = {.nseries = 0};
    CHECK(viz_file_line(tmp_path("x.png"), 0, 0, &l, &e) == -1);
    struct stat st;
    CHECK(stat(tmp_path("x.png"), &st) != 0);
    /* no temporary left: every name in the folder is a finished picture */
    DIR *dir = opendir(tmpdir);
    struct dirent *de;
    while (dir && (de = readdir(dir)) != NULL) CHECK(strstr(de->d_name, ".tmp") == NULL);
    if (dir) closedir(dir);
}

TEST(without_font)
{
    float d[36];
    causal_matrix(d, 6);
    VizHeatmap h = causal_map(d, 6, LABELS);
    GrErr e = {{0}};
    viz_font_set("/nonexistent/font.ttf");
    CHECK(viz_file_heatmap(tmp_path("nofont.png"), 400, 300, &h, &e) == 0);
    viz_font_set(NULL);
    Img m = load(tmp_path("nofont.png"));
    CHECK(m.w == 400 && m.h == 300);
    free(m.px);
}

static void cleanup(void)
{
    const char *keep = getenv("VIZ_KEEP_PNG");
    if (keep && *keep) {
        printf("viz files kept in %s\n", tmpdir);
        return;
    }
    DIR *dir = opendir(tmpdir);
    struct dirent *de;
    while (dir && (de = readdir(dir)) != NULL)
        if (de->d_name[0] != '.') remove(tmp_path(de->d_name));
    if (dir) closedir(dir);
    rmdir(tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_viz_file.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(png_cells_are_the_map);
    RUN(png_same_probability_same_colour);
    RUN(png_colour_bar_is_map_height);
    RUN(png_signed_zero_is_middle);
    RUN(png_text_sizes);
    RUN(every_kth_label);
    RUN(svg_text_labels_and_colours);
    RUN(svg_raster_field);
    RUN(other_pictures);
    RUN(file_errors);
    RUN(without_font);
    cleanup();
    return harness_done("viz_file");
}
