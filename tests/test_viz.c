/* test_viz.c — the terminal pictures: golden text of every picture at 80 and 160 columns
 * in colour and without, cells that can never be mistaken for one another, the fixed
 * scale that lets two pictures compare, width clipping, scales, pooling, colour maps,
 * bars whose lengths are the probabilities. The file pictures are test_viz_file.c.
 *
 * Golden files live in tests/golden/viz/ (read relative to the repo root, where the
 * tests run). VIZ_GOLDEN_UPDATE=1 rewrites them from the current output. */
#include "viz_util.h"

/* ---- colour modes and labels ---- */

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


/* ---- every terminal picture ---- */

/* One-character pieces (a label line), short pieces (vertical labels), long and wide
 * pieces (index ticks and a key list), signed data, grids, histogram, bars, sparkline,
 * gauge. */
static void render_all(StrBuf *b, VizColor m, int width)
{
    VizOpts o = {.color = m, .width = width};
    GrErr e = {{0}};
    float d[12 * 12];
    causal_matrix(d, 12);
    static const char *const CH[12] = {"t", "o", " ", "b", "e", " ", "o", "r", " ", "n", "o", "t"};
    VizHeatmap h = causal_map(d, 12, CH);
    h.title = "one-character pieces";
    CHECK(viz_term_heatmap(b, &o, &h, &e) == 0);
    static const char *const SHORT[6] = {"The", " cat", "sat", " on", "a", " mat"};
    float d6[36];
    causal_matrix(d6, 6);
    h = causal_map(d6, 6, SHORT);
    h.title = "short pieces";
    h.note = "keys 0–5 of 6";
    CHECK(viz_term_heatmap(b, &o, &h, &e) == 0);
    h = causal_map(d6, 6, LABELS);
    h.title = "long and wide pieces";
    CHECK(viz_term_heatmap(b, &o, &h, &e) == 0);
    float sg[5 * 8];
    for (int i = 0; i < 40; i++) sg[i] = (float)((i * 7) % 17 - 8) / 8.0f;
    sg[3] = 0;
    VizHeatmap s = {.data = sg, .rows = 5, .cols = 8, .title = "signed", .row_title = "position", .col_title = "channel"};
    viz_heatmap_pick_scale(&s, VIZ_DATA_SIGNED, VIZ_SCALE_DEFAULT, 0);
    CHECK(viz_term_heatmap(b, &o, &s, &e) == 0);
    VizHeatmap maps[6];
    const char *names[6] = {"L0 h0", "L0 h1", "L0 h2", "L1 h0", "L1 h1", "L1 h2"};
    for (int i = 0; i < 6; i++) maps[i] = causal_map(d6, 6, SHORT);
    VizGrid g = {.maps = maps, .n = 6, .ncols = 3, .names = names, .title = "layers × heads", .thumbnails = 1};
    viz_grid_pick_scale(&g, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    CHECK(viz_term_grid(b, &o, &g, &e) == 0);
    g.thumbnails = 0;
    g.n = 3;
    g.title = "layer 0";
    CHECK(viz_term_grid(b, &o, &g, &e) == 0);
    float v[200];
    for (int i = 0; i < 200; i++) v[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    VizHist hs = {.data = v, .n = 200, .bins = 8, .title = "weights"};
    CHECK(viz_term_hist(b, &o, &hs, &e) == 0);
    const float pv[12] = {0.5f, 0.25f, 0.125f, 0.0625f, 0.4f, 0.3f, 0.2f, 0.1f, 0.3f, 0.27f, 0.23f, 0.2f};
    const char *series[3] = {"temp 0.5", "temp 1", "temp 2"};
    VizBars bars = {.labels = SHORT, .n = 4, .values = pv, .nseries = 3, .series = series, .prob = 1, .title = "next token"};
    CHECK(viz_term_bars(b, &o, &bars, &e) == 0);
    float loss[64];
    for (int i = 0; i < 64; i++) loss[i] = 10.8f - 8.0f * (float)i / 63.0f + ((i % 5) == 0 ? 0.5f : 0.0f);
    viz_sparkline(b, &o, loss, 64);
    viz_gauge(b, &o, "loss", 10.83, 10.825, "ln(V)", 12);
}

TEST(golden_pictures)
{
    static const struct { int w; VizColor m; const char *file; } G[] = {
        {80, VIZ_COLOR_NONE, "term_80_none.txt"},
        {160, VIZ_COLOR_NONE, "term_160_none.txt"},
        {80, VIZ_COLOR_TRUE, "term_80_color.txt"},
        {160, VIZ_COLOR_TRUE, "term_160_color.txt"},
    };
    for (size_t i = 0; i < sizeof G / sizeof G[0]; i++) {
        StrBuf b;
        sb_init(&b);
        render_all(&b, G[i].m, G[i].w);
        check_golden(G[i].file, b.s);
        int bad = 0;
        max_line_width(b.s, G[i].w, &bad);
        CHECK(bad == 0);
        CHECK(lines_without_reset(b.s) == 0);
        if (G[i].m == VIZ_COLOR_NONE) CHECK(memchr(b.s, '\x1b', b.len) == NULL);
        sb_free(&b);
    }
}

/* Every picture at widths from 24 to 200 in every mode: no line wider, every coloured line reset. */
TEST(width_clipping)
{
    int widths[] = {24, 40, 61, 80, 133, 200};
    for (int m = VIZ_COLOR_NONE; m <= VIZ_COLOR_TRUE; m++)
        for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
            StrBuf b;
            sb_init(&b);
            render_all(&b, (VizColor)m, widths[k]);
            int bad = 0;
            max_line_width(b.s, widths[k], &bad);
            CHECK(bad == 0);
            CHECK(lines_without_reset(b.s) == 0);
            sb_free(&b);
        }
}

/* ---- cells ---- */

/* The cell a 1 × 1 map draws for v on scale sc (the text after the row label "0 "). */
static char *one_cell(VizColor m, float v, const VizScale *sc)
{
    VizHeatmap h = {.data = &v, .rows = 1, .cols = 1, .scale = *sc};
    VizOpts o = {.color = m, .width = 80, .cell_w = 1};
    StrBuf b;
    sb_init(&b);
    CHECK(viz_term_heatmap(&b, &o, &h, NULL) == 0);
    /* line 0: the key ticks; line 1: the row, "0 " and the cell (a plain blank trimmed) */
    const char *row = strchr(b.s, '\n');
    char *out = NULL;
    if (row && row[1] == '0') {
        row += 2;
        if (*row == ' ') row++;
        const char *nl = strchr(row, '\n');
        out = strndup(row, nl ? (size_t)(nl - row) : strlen(row));
    }
    sb_free(&b);
    CHECK(out != NULL);
    return out ? out : strdup("?");
}

/* Exactly zero, masked, the lowest non-zero bucket and a high value: four different
 * cells in every colour mode, for sequential and diverging maps. */
TEST(cells_never_alike)
{
    VizScale seq = {VIZ_MAP_SEQ, VIZ_SCALE_FIXED, 0, 1, 0}, div = {VIZ_MAP_DIV, VIZ_SCALE_AUTO, -1, 1, 0};
    for (int m = VIZ_COLOR_NONE; m <= VIZ_COLOR_TRUE; m++) {
        float sv[4] = {0.0f, NAN, 0.004f, 0.9f}, dv[4] = {0.0f, NAN, -0.004f, 0.004f};
        for (int which = 0; which < 2; which++) {
            char *c[4];
            for (int i = 0; i < 4; i++) c[i] = one_cell((VizColor)m, which ? dv[i] : sv[i], which ? &div : &seq);
            for (int i = 0; i < 4; i++)
                for (int j = i + 1; j < 4; j++) {
                    if (which && i == 2 && j == 3 && m >= VIZ_COLOR_256) continue; /* ±tiny: both near white */
                    if (!strcmp(c[i], c[j])) fprintf(stderr, "mode %d map %d: cells %d and %d look alike: '%s'\n", m, which, i, j, c[i]);
                    CHECK(strcmp(c[i], c[j]) != 0);
                }
            for (int i = 0; i < 4; i++) free(c[i]);
        }
    }
    /* ASCII: exactly zero blank, the lowest non-zero '.', masked '/' */
    char *z = one_cell(VIZ_COLOR_NONE, 0.0f, &seq), *lo = one_cell(VIZ_COLOR_NONE, 1e-6f, &seq),
         *mk = one_cell(VIZ_COLOR_NONE, NAN, &seq);
    CHECK_STR(z, "");  /* a blank at the end of a plain line is trimmed */
    CHECK_STR(lo, ".");
    CHECK_STR(mk, "/");
    free(z), free(lo), free(mk);
}

/* On the fixed scale a weight looks the same whatever else the picture holds; on an
 * auto scale it would not. */
TEST(fixed_scale_compares)
{
    float a[3] = {0.05f, 0.1f, 0.2f}, b2[3] = {0.05f, 0.1f, 0.9f};
    for (int m = VIZ_COLOR_NONE; m <= VIZ_COLOR_TRUE; m++) {
        VizHeatmap ha = {.data = a, .rows = 1, .cols = 3}, hb = {.data = b2, .rows = 1, .cols = 3};
        viz_heatmap_pick_scale(&ha, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
        viz_heatmap_pick_scale(&hb, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
        CHECK(ha.scale.lo == 0 && ha.scale.hi == 1 && ha.scale.mode == VIZ_SCALE_FIXED);
        char *ca = one_cell((VizColor)m, 0.1f, &ha.scale), *cb = one_cell((VizColor)m, 0.1f, &hb.scale);
        CHECK_STR(ca, cb);
        free(ca), free(cb);
        viz_heatmap_pick_scale(&ha, VIZ_DATA_PROB, VIZ_SCALE_AUTO, 0);
        viz_heatmap_pick_scale(&hb, VIZ_DATA_PROB, VIZ_SCALE_AUTO, 0);
        ca = one_cell((VizColor)m, 0.1f, &ha.scale);
        cb = one_cell((VizColor)m, 0.1f, &hb.scale);
        if (m != VIZ_COLOR_NONE) CHECK(strcmp(ca, cb) != 0);
        free(ca), free(cb);
    }
}

/* One query row per line, labelled by position and token; keys labelled by their tokens. */
TEST(rows_and_labels)
{
    float d[12 * 12];
    causal_matrix(d, 12);
    static const char *const CH[12] = {"t", "o", " ", "b", "e", " ", "o", "r", " ", "n", "o", "t"};
    VizHeatmap h = causal_map(d, 12, CH);
    VizOpts o = {.color = VIZ_COLOR_TRUE, .width = 80};
    StrBuf b;
    sb_init(&b);
    CHECK(viz_term_heatmap(&b, &o, &h, NULL) == 0);
    CHECK(strstr(b.s, "\n 0 t ") != NULL);
    CHECK(strstr(b.s, "\n11 t ") != NULL);
    CHECK(strstr(b.s, "t o \xe2\x90\xa3 b e \xe2\x90\xa3 o r \xe2\x90\xa3 n o t") != NULL); /* the key label line */
    int rows = 0;
    for (const char *p = b.s; (p = strchr(p, '\n')) != NULL; p++)
        if (p[1] && (p[1] == ' ' || (p[1] >= '0' && p[1] <= '9')) && strchr("0123456789", p[2])) rows++;
    CHECK(rows == 12);
    CHECK(strstr(b.s, "\xe2\x96\x80") == NULL); /* no half blocks: one row per line */
    sb_free(&b);
}

/* ---- scales ---- */

TEST(scales)
{
    float p[4] = {0.001f, 0.01f, 0.1f, 0.5f}, sg[4] = {-0.3f, 0.1f, 0.6f, -2.0f};
    VizHeatmap h = {.data = p, .rows = 1, .cols = 4};
    viz_heatmap_pick_scale(&h, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    CHECK(h.scale.map == VIZ_MAP_SEQ && h.scale.lo == 0 && h.scale.hi == 1);
    viz_heatmap_pick_scale(&h, VIZ_DATA_PROB, VIZ_SCALE_LOG, 0);
    CHECK(h.scale.mode == VIZ_SCALE_LOG);
    CHECK_NEAR(viz_scale_t(&h.scale, 0.001, 0, 0), 0, 1e-6);
    CHECK_NEAR(viz_scale_t(&h.scale, 0.5, 0, 0), 1, 1e-6);
    viz_heatmap_pick_scale(&h, VIZ_DATA_PROB, VIZ_SCALE_ROW, 0);
    CHECK_NEAR(viz_scale_t(&h.scale, 0.25, 0, 0.5), 0.5, 1e-9);
    h.data = sg;
    viz_heatmap_pick_scale(&h, VIZ_DATA_SIGNED, VIZ_SCALE_DEFAULT, 0);
    CHECK(h.scale.map == VIZ_MAP_DIV);
    CHECK_NEAR(h.scale.hi, 2.0, 1e-6);
    CHECK_NEAR(h.scale.lo, -2.0, 1e-6);
    CHECK_NEAR(viz_scale_t(&h.scale, 0, 0, 0), 0.5, 1e-12); /* 0 in the middle */
    viz_heatmap_pick_scale(&h, VIZ_DATA_SIGNED, VIZ_SCALE_DEFAULT, 50);
    CHECK(h.scale.clip == 50);
    CHECK(h.scale.hi < 2.0 && h.scale.hi >= 0.3); /* the median |x| of {0.3, 0.1, 0.6, 2} */
    viz_heatmap_pick_scale(&h, VIZ_DATA_ANY, VIZ_SCALE_DEFAULT, 0);
    CHECK(h.scale.map == VIZ_MAP_DIV); /* a negative value: diverging */
    h.data = p;
    viz_heatmap_pick_scale(&h, VIZ_DATA_ANY, VIZ_SCALE_DEFAULT, 0);
    CHECK(h.scale.map == VIZ_MAP_SEQ && h.scale.mode == VIZ_SCALE_AUTO);
    StrBuf b;
    sb_init(&b);
    viz_heatmap_pick_scale(&h, VIZ_DATA_PROB, VIZ_SCALE_DEFAULT, 0);
    viz_scale_describe(&h.scale, &b);
    CHECK(strstr(b.s, "fixed 0..1") != NULL && strstr(b.s, "viridis") != NULL);
    sb_free(&b);
    CHECK_STR(viz_scale_choices(), "fixed|auto|row|log");
}

TEST(pooling)
{
    static float d[100 * 7];
    for (int i = 0; i < 700; i++) d[i] = 0.01f * (float)(i % 7);
    d[57 * 7 + 3] = -5.0f;
    VizHeatmap h = {.data = d, .rows = 100, .cols = 7};
    VizPooled P;
    CHECK(viz_heatmap_pool(&h, 10, 100, &P, NULL) == 0);
    CHECK(P.h.rows == 10 && P.h.cols == 7 && P.rblock == 10 && P.cblock == 1);
    CHECK(P.h.data[5 * 7 + 3] == -5.0f); /* the strong weight survives pooling */
    CHECK(P.h.data[0 * 7 + 6] == 0.06f);
    CHECK_STR(P.h.row_labels[5], "50\xe2\x80\x93" "59");
    CHECK(strstr(P.h.note, "largest magnitude") != NULL);
    viz_pooled_free(&P);
    /* a causal map pooled keeps its mask where a block is all masked */
    float c[8 * 8];
    causal_matrix(c, 8);
    VizHeatmap ch = causal_map(c, 8, NULL);
    CHECK(viz_heatmap_pool(&ch, 4, 4, &P, NULL) == 0);
    CHECK(viz_heatmap_masked(&P.h, 0, 1, NULL) == 1);
    CHECK(viz_heatmap_masked(&P.h, 1, 0, NULL) == 0);
    CHECK(viz_heatmap_masked(&P.h, 1, 1, NULL) == 0); /* the block holds the diagonal */
    viz_pooled_free(&P);
}

/* ---- colour maps ---- */

static double luma(const unsigned char *c) { return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }

TEST(colormaps)
{
    unsigned char prev[3], cur[3];
    viz_cmap_seq(0, prev);
    CHECK(prev[0] == 68 && prev[1] == 1 && prev[2] == 84);
    int min_dist = 1 << 30;
    for (int i = 1; i <= 1000; i++) {
        viz_cmap_seq(i / 1000.0, cur);
        CHECK(luma(cur) >= luma(prev) - 0.8); /* perceptually ordered: brighter = larger */
        int dd = 0;
        for (int k = 0; k < 3; k++) dd += (cur[k] - VIZ_MASK_RGB[k]) * (cur[k] - VIZ_MASK_RGB[k]);
        if (dd < min_dist) min_dist = dd;
        memcpy(prev, cur, 3);
    }
    CHECK(cur[0] == 253 && cur[1] == 231 && cur[2] == 37);
    CHECK(min_dist > 40 * 40); /* the mask is on neither map */
    viz_cmap_div(0.5, cur);
    CHECK(cur[0] == 247 && cur[1] == 247 && cur[2] == 247); /* 0 is white */
    viz_cmap_div(0, cur);
    CHECK(cur[2] > cur[0]); /* negative blue */
    viz_cmap_div(1, cur);
    CHECK(cur[0] > cur[2]); /* positive red */
    for (int i = 0; i < 50; i++) { /* darker away from 0 on both sides */
        unsigned char a[3], b[3];
        viz_cmap_div(0.5 + i / 100.0, a);
        viz_cmap_div(0.5 + (i + 1) / 100.0, b);
        CHECK(luma(b) <= luma(a) + 0.8);
        viz_cmap_div(0.5 - i / 100.0, a);
        viz_cmap_div(0.5 - (i + 1) / 100.0, b);
        CHECK(luma(b) <= luma(a) + 0.8);
    }
    viz_cmap_seq(NAN, cur);
    CHECK(cur[0] == 68);
}

/* ---- bars ---- */

/* The eighths of block characters before each number on a line, and the numbers. */
static int bar_runs(const char *line, int *eighths, double *vals, int max)
{
    int n = 0, acc = 0;
    const char *p = line;
    while (*p && n < max) {
        if (*p == '\x1b') { p += viz_escape_len(p, strlen(p)); continue; }
        unsigned cp;
        int k = gr_utf8_decode(p, strlen(p), &cp);
        if (cp >= 0x2589 && cp <= 0x258f) acc += 0x2590 - cp; /* ▉ 7 … ▏ 1 */
        else if (cp == 0x2588) acc += 8;                      /* █ */
        else if (cp == '0' || cp == '1') {
            char *end;
            double v = strtod(p, &end);
            if (end > p + 2) {
                eighths[n] = acc;
                vals[n++] = v;
                acc = 0;
                p = end;
                continue;
            }
        }
        p += k;
    }
    return n;
}

/* `logits --temp 0.5,1,2`'s bars: three columns whose lengths are the probabilities
 * printed beside them, with and without colour. */
TEST(bars_match_values)
{
    const char *labels[4] = {"a", "b", "c", "d"};
    const float v[12] = {1.0f, 0.5f, 0.25f, 0.125f, 0.3f, 0.3f, 0.2f, 0.2f, 0.01f, 0.001f, 0.6f, 0.389f};
    const char *series[3] = {"temp 0.5", "temp 1", "temp 2"};
    VizBars b = {.labels = labels, .n = 4, .values = v, .nseries = 3, .series = series, .prob = 1};
    for (int m = VIZ_COLOR_NONE; m <= VIZ_COLOR_TRUE; m += 3) {
        for (int w = 80; w <= 160; w += 80) {
            VizOpts o = {.color = (VizColor)m, .width = w};
            StrBuf s;
            sb_init(&s);
            CHECK(viz_term_bars(&s, &o, &b, NULL) == 0);
            CHECK(strstr(s.s, "temp 0.5") && strstr(s.s, "temp 1") && strstr(s.s, "temp 2"));
            int lines = 0, bw8 = 0;
            for (const char *p = strchr(s.s, '\n') + 1; p && *p; lines++) {
                const char *nl = strchr(p, '\n');
                char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
                int e8[8];
                double vals[8];
                int n = bar_runs(line, e8, vals, 8);
                CHECK(n == 3);
                if (lines == 0) bw8 = e8[0]; /* 1.0: the whole bar */
                for (int k = 0; k < n && bw8 > 0; k++) {
                    CHECK_NEAR(vals[k], v[k * 4 + lines], 0.0005);
                    double want = vals[k] * bw8, got = e8[k];
                    CHECK(fabs(got - want) <= 0.5 + 1e-9 || (vals[k] > 0 && got == 1 && want < 1));
                }
                free(line);
                p = nl ? nl + 1 : NULL;
            }
            CHECK(lines == 4);
            CHECK(bw8 >= 8 * 8);
            sb_free(&s);
        }
    }
}

/* ---- errors ---- */

TEST(errors)
{
    StrBuf b;
    sb_init(&b);
    GrErr e = {{0}};
    float d[4] = {0};
    VizOpts o = {.color = VIZ_COLOR_NONE, .width = 80};
    VizHeatmap h = {.data = d, .rows = 0, .cols = 2};
    CHECK(viz_term_heatmap(&b, &o, &h, &e) == -1);
    CHECK(strstr(e.msg, "0 x 2") != NULL);
    h.rows = 2;
    h.data = NULL;
    CHECK(viz_term_heatmap(&b, &o, &h, &e) == -1);
    VizHist hs = {.data = d, .n = 4, .bins = 0};
    CHECK(viz_term_hist(&b, &o, &hs, &e) == -1);
    CHECK(strstr(e.msg, "bins") != NULL);
    hs.bins = 201;
    CHECK(viz_term_hist(&b, &o, &hs, &e) == -1);
    hs.bins = 200;
    CHECK(viz_term_hist(&b, &o, &hs, &e) == 0);
    VizBars bars = {.n = -1, .values = d};
    CHECK(viz_term_bars(&b, &o, &bars, &e) == -1);
    VizOpts tiny = {.color = VIZ_COLOR_NONE, .width = 2};
    h.data = d;
    CHECK(viz_term_heatmap(&b, &tiny, &h, &e) == -1);
    CHECK(strstr(e.msg, "narrow") != NULL);
    VizHeatmap two[2] = {{.data = d, .rows = 2, .cols = 2}, {.data = d, .rows = 1, .cols = 2}};
    VizGrid g = {.maps = two, .n = 2};
    CHECK(viz_term_grid(&b, &o, &g, &e) == -1);
    CHECK(strstr(e.msg, "one shape") != NULL);
    sb_clear(&b);
    viz_sparkline(&b, &o, d, 0);
    CHECK_STR(b.s, "(no data)\n");
    sb_free(&b);
}

int main(void)
{
    RUN(color_parse_name);
    RUN(color_detect);
    RUN(label_escape);
    RUN(golden_pictures);
    RUN(width_clipping);
    RUN(cells_never_alike);
    RUN(fixed_scale_compares);
    RUN(rows_and_labels);
    RUN(scales);
    RUN(pooling);
    RUN(colormaps);
    RUN(bars_match_values);
    RUN(errors);
    return harness_done("viz");
}
