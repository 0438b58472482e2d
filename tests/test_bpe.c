/* test_bpe.c — the GPT-2 BPE tokenizer (core/bpe.c).
 *
 *   test_bpe                 unit tests (run from the repository root); fetches the
 *                            vocabulary with models/gpt2/fetch.sh if it is missing and
 *                            skips (0 passed, 0 failed) if that fails
 *   test_bpe --encode FILE   prints FILE's ids, space-separated, on one line
 *   test_bpe --chunks FILE   one line per pre-token word: "<bytes>: id id ..." (the ids
 *                            of that word); used by tests/bpe_parity.sh
 *   test_bpe --bench [FILE]  encoding speed in MB/s
 * The vocabulary directory is models/gpt2, or $GPT2_DIR. */
#include "harness.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpe.h"

static Bpe *g_bpe;

static const char *vocab_dir(void)
{
    const char *d = getenv("GPT2_DIR");
    return d && *d ? d : "models/gpt2";
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - 1 - len, f);
        if (!got) break;
        len += got;
    }
    fclose(f);
    if (buf) buf[len] = 0;
    *n = len;
    return buf;
}

static int write_file(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(s, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* encode + compare with the expected ids */
static int ids_are(const char *s, size_t len, const int *want, size_t nwant)
{
    int *ids;
    size_t n;
    GrErr e = {{0}};
    if (bpe_encode(g_bpe, s, len, &ids, &n, &e) < 0) {
        fprintf(stderr, "encode failed: %s\n", e.msg);
        return 0;
    }
    int ok = n == nwant && (n == 0 || memcmp(ids, want, n * sizeof(int)) == 0);
    if (!ok) {
        fprintf(stderr, "ids for \"%.*s\":", (int)(len < 60 ? len : 60), s);
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n  want:");
        for (size_t i = 0; i < nwant; i++) fprintf(stderr, " %d", want[i]);
        fprintf(stderr, "\n");
    }
    free(ids);
    return ok;
}
#define IDS_ARE(s, ...)                                                                  \
    do {                                                                                 \
        static const int want_[] = {__VA_ARGS__};                                        \
        CHECK(ids_are(s, sizeof(s) - 1, want_, sizeof want_ / sizeof want_[0]));         \
    } while (0)

/* decode(encode(s)) == s, byte for byte */
static int roundtrips(const char *s, size_t len)
{
    int *ids;
    size_t n;
    GrErr e = {{0}};
    if (bpe_encode(g_bpe, s, len, &ids, &n, &e) < 0) {
        fprintf(stderr, "encode failed: %s\n", e.msg);
        return 0;
    }
    StrBuf out;
    sb_init(&out);
    int ok = bpe_decode(g_bpe, ids, n, &out, &e) == 0 && out.len == len && (len == 0 || memcmp(out.s, s, len) == 0);
    if (!ok) fprintf(stderr, "round trip failed for %zu bytes \"%.*s\"\n", len, (int)(len < 60 ? len : 60), s);
    /* every token is a real one, and no more tokens than bytes */
    for (size_t i = 0; i < n; i++) ok &= ids[i] >= 0 && ids[i] < bpe_vocab_size(g_bpe);
    ok &= n <= len;
    sb_free(&out);
    free(ids);
    return ok;
}

/* ------------------------------------------------------------------ tests ---------- */

TEST(known_ids)
{
    IDS_ARE("Hello world", 15496, 995);
    CHECK(bpe_vocab_size(g_bpe) == 50257);
    CHECK(bpe_eot(g_bpe) == 50256);
    size_t len;
    const char *t = bpe_token_bytes(g_bpe, 50256, &len);
    CHECK(t && len == 13 && memcmp(t, "<|endoftext|>", 13) == 0);
    t = bpe_token_bytes(g_bpe, 995, &len);
    CHECK(t && len == 6 && memcmp(t, " world", 6) == 0);
    CHECK(bpe_token_bytes(g_bpe, -1, &len) == NULL && len == 0);
    CHECK(bpe_token_bytes(g_bpe, 50257, &len) == NULL && len == 0);
}

TEST(empty_and_single_bytes)
{
    int *ids;
    size_t n = 99;
    GrErr e = {{0}};
    CHECK(bpe_encode(g_bpe, "", 0, &ids, &n, &e) == 0 && ids != NULL && n == 0);
    free(ids);
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        CHECK(bpe_encode(g_bpe, &c, 1, &ids, &n, &e) == 0 && n == 1);
        size_t len;
        const char *t = bpe_token_bytes(g_bpe, ids[0], &len);
        CHECK(t && len == 1 && (unsigned char)t[0] == b);
        free(ids);
    }
}

/* Reference quirks, ids from node running gpt-3-encoder@1.1.4. */
TEST(reference_quirks)
{
    /* '","' is one token (2430), as in JSON-ish code */
    IDS_ARE("x = [\"a\",\"b\"]", 87, 796, 14631, 64, 2430, 65, 8973);
    /* U+FEFF is whitespace to JavaScript's \s, U+0085 is not */
    IDS_ARE("a\xEF\xBB\xBF" "b", 64, 171, 119, 123, 65);
    IDS_ARE("a  \xC2\x85 b", 64, 220, 1587, 227, 275);
    /* contractions are lowercase-only and cut before the apostrophe */
    IDS_ARE("I'll don't", 40, 1183, 836, 470);
}

TEST(mixed_round_trip)
{
    static const char *texts[] = {
        "The quick brown fox jumps over the lazy dog.",
        "int main(void) {\n\treturn printf(\"%d\\n\", 42) < 0;\n}\n",
        "   leading spaces, trailing spaces   ",
        "\t\ttabs\tand\nnewlines\n\n\n  \n",
        "3.14159 1,000,000 0xDEADBEEF 2024-01-01",
        "Tiếng Việt có dấu: Nguyễn Đà Nẵng, người, khuỷu",
        "emoji 😀👍🏽 👨‍👩‍👧‍👦 🇻🇳!",
        "中文，日本語、한국어",
        "invalid \xff\xfe bytes \x80 \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98",
        "\xff",
        "\xe2\x82",
        "caf\xe9",
        " 's 't 're 've 'm 'll 'd 'S",
        "<|endoftext|>",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) CHECK(roundtrips(texts[i], strlen(texts[i])));
    static const char nul[] = "before\0after \0\0 x\0";
    CHECK(roundtrips(nul, sizeof nul - 1));
}

TEST(corpus_round_trip)
{
    DIR *d = opendir("tests/bpe_corpus");
    CHECK(d != NULL);
    if (!d) return;
    int files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "tests/bpe_corpus/%s", de->d_name);
        size_t n;
        char *s = read_all(path, &n);
        CHECK(s != NULL);
        if (!s) continue;
        if (!roundtrips(s, n)) {
            fprintf(stderr, "  (%s)\n", path);
            CHECK(0);
        }
        free(s);
        files++;
    }
    closedir(d);
    CHECK(files >= 5);
}

/* Random bytes and random mixtures of awkward pieces. */
TEST(random_round_trip)
{
    uint64_t st = 12345;
#define RND() (st = st * 6364136223846793005ULL + 1442695040888963407ULL, (unsigned)(st >> 33))
    static const char *pieces[] = {" ", "  ", "\t", "\n", "a", "Z", "é", "ế", "😀", "\xff", "\xe2\x82", "\xf0\x9f",
                                   "'s", "'", "1", "٣", "\xEF\xBB\xBF", "\xC2\x85", "\xC2\xA0", ",", "\"", "\0", "字"};
    char buf[400];
    int bad = 0;
    for (int it = 0; it < 3000 && !bad; it++) {
        size_t n = 0;
        if (it % 2) {
            size_t len = RND() % 200;
            for (size_t i = 0; i < len; i++) buf[n++] = (char)(RND() & 0xFF);
        } else {
            size_t k = RND() % 40;
            for (size_t i = 0; i < k; i++) {
                const char *p = pieces[RND() % (sizeof pieces / sizeof pieces[0])];
                size_t pl = p[0] ? strlen(p) : 1;
                memcpy(buf + n, p, pl);
                n += pl;
            }
        }
        if (!roundtrips(buf, n)) bad = 1;
    }
    CHECK(!bad);
}

/* Long words: the merge loop must stay near-linear (a quadratic one takes minutes). */
TEST(long_words)
{
    size_t n = 200000;
    char *s = malloc(n);
    CHECK(s != NULL);
    if (!s) return;
    const char *fills[] = {"a", " ", "!", "7", "ab", "\xff", ",\"", "é"};
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
        size_t fl = strlen(fills[f]);
        for (size_t i = 0; i < n; i++) s[i] = fills[f][i % fl];
        CHECK(roundtrips(s, n - n % fl));
    }
    free(s);
}

/* Words are cut where node cuts the text after turning each invalid UTF-8 sequence into
 * one U+FFFD, and each invalid byte keeps its own byte token. */
TEST(invalid_utf8)
{
    size_t *ends, n;
    GrErr e = {{0}};
    int a = 64, b = 65;
    size_t len;
    int ff = -1, fe = -1;
    for (int id = 0; id < bpe_vocab_size(g_bpe); id++) {
        const char *t = bpe_token_bytes(g_bpe, id, &len);
        if (len == 1 && (unsigned char)t[0] == 0xFF) ff = id;
        if (len == 1 && (unsigned char)t[0] == 0xFE) fe = id;
    }
    CHECK(ff >= 0 && fe >= 0);
    {
        const int want[] = {a, ff, b};
        CHECK(ids_are("a\xff" "b", 3, want, 3));
    }
    /* node sees "a\uFFFD\uFFFD!b": U+FFFD is a symbol (So), so "a", "\xff\xfe!", "b" */
    CHECK(bpe_pretokenize(g_bpe, "a\xff\xfe!b", 5, &ends, &n, &e) == 0);
    CHECK(n == 3 && ends[0] == 1 && ends[1] == 4 && ends[2] == 5);
    free(ends);
    /* E2 82 is one truncated sequence, so one U+FFFD: "x", "\xe2\x82", "y" */
    CHECK(bpe_pretokenize(g_bpe, "x\xe2\x82y", 4, &ends, &n, &e) == 0);
    CHECK(n == 3 && ends[0] == 1 && ends[1] == 3 && ends[2] == 4);
    free(ends);
    /* a space joins the symbol run in front of it, as " \uFFFD" does */
    CHECK(bpe_pretokenize(g_bpe, "x \xff\xfe", 4, &ends, &n, &e) == 0);
    CHECK(n == 2 && ends[0] == 1 && ends[1] == 4);
    free(ends);
    /* the encoding of the invalid word is its raw bytes, merged where merges apply */
    {
        const int want[] = {a, ff, fe, b};
        CHECK(ids_are("a\xff\xfe" "b", 4, want, 4));
    }
}

TEST(pretokenize)
{
    size_t *ends, n;
    GrErr e = {{0}};
    CHECK(bpe_pretokenize(g_bpe, "Hello world", 11, &ends, &n, &e) == 0);
    CHECK(n == 2 && ends[0] == 5 && ends[1] == 11);
    free(ends);
    /* "  hello": the last space goes with the word */
    CHECK(bpe_pretokenize(g_bpe, "  hello", 7, &ends, &n, &e) == 0);
    CHECK(n == 2 && ends[0] == 1 && ends[1] == 7);
    free(ends);
    /* trailing whitespace stays whole; "it's" splits before the apostrophe */
    CHECK(bpe_pretokenize(g_bpe, "it's  \n", 7, &ends, &n, &e) == 0);
    CHECK(n == 3 && ends[0] == 2 && ends[1] == 4 && ends[2] == 7);
    free(ends);
    CHECK(bpe_pretokenize(g_bpe, "", 0, &ends, &n, &e) == 0 && ends && n == 0);
    free(ends);
}

TEST(decode_errors)
{
    GrErr e = {{0}};
    StrBuf out;
    sb_init(&out);
    sb_puts(&out, "keep");
    int bad1[] = {15496, 50257};
    CHECK(bpe_decode(g_bpe, bad1, 2, &out, &e) < 0);
    CHECK(strstr(e.msg, "50257") && strstr(e.msg, "out of range"));
    CHECK(out.len == 4 && strcmp(out.s, "keep") == 0); /* nothing appended on error */
    int bad2[] = {-1};
    CHECK(bpe_decode(g_bpe, bad2, 1, &out, &e) < 0 && strstr(e.msg, "-1"));
    int good[] = {15496, 995, 50256};
    CHECK(bpe_decode(g_bpe, good, 3, &out, &e) == 0);
    CHECK_STR(out.s, "keepHello world<|endoftext|>");
    CHECK(bpe_decode(g_bpe, NULL, 0, &out, &e) == 0);
    sb_free(&out);
}

/* ---------------------------------------------------- hostile vocabulary files ----- */

static char g_tmp[64];

/* A tiny valid vocabulary: the 256 byte tokens (ids 0..255 in byte order), then
 * "he" "ll" "hell" "hello" (256..259) from 4 merges. */
static void byte_char(unsigned b, char *out)
{
    static unsigned map[256];
    static int init;
    if (!init) {
        unsigned n = 0;
        for (unsigned i = 0; i < 256; i++) {
            int self = (i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE;
            map[i] = self ? i : 256 + n++;
        }
        init = 1;
    }
    out[gr_utf8_encode(map[b], out)] = 0;
}

static void tiny_encoder(StrBuf *j, const char *extra)
{
    sb_puts(j, "{");
    for (unsigned b = 0; b < 256; b++) {
        char c[8];
        byte_char(b, c);
        if (b == '"' || b == '\\') sb_printf(j, "\"\\%s\": %u, ", c, b);
        else sb_printf(j, "\"%s\": %u, ", c, b);
    }
    sb_puts(j, "\"he\": 256, \"ll\": 257, \"hell\": 258, \"hello\": 259");
    sb_puts(j, extra);
    sb_puts(j, "}");
}

static const char TINY_MERGES[] = "#version: 0.2\nh e\nl l\nhe ll\nhell o\n";

/* Writes the two files and tries to load them; returns the Bpe (or NULL, message in e). */
static Bpe *try_load(const char *json, const char *merges, GrErr *e)
{
    char pj[128], pm[128];
    snprintf(pj, sizeof pj, "%s/encoder.json", g_tmp);
    snprintf(pm, sizeof pm, "%s/vocab.bpe", g_tmp);
    if (write_file(pj, json, strlen(json)) < 0 || write_file(pm, merges, strlen(merges)) < 0) {
        snprintf(e->msg, sizeof e->msg, "cannot write %s", g_tmp);
        return NULL;
    }
    return bpe_load(pj, pm, e);
}

static int load_fails(const char *json, const char *merges, const char *want1, const char *want2)
{
    GrErr e = {{0}};
    Bpe *b = try_load(json, merges, &e);
    if (b) {
        bpe_free(b);
        fprintf(stderr, "load unexpectedly succeeded (wanted an error with '%s')\n", want1);
        return 0;
    }
    int ok = strstr(e.msg, want1) && (!want2 || strstr(e.msg, want2));
    if (!ok) fprintf(stderr, "error message '%s' lacks '%s'%s%s\n", e.msg, want1, want2 ? " / " : "", want2 ? want2 : "");
    return ok;
}

TEST(tiny_vocabulary)
{
    StrBuf j;
    sb_init(&j);
    tiny_encoder(&j, "");
    GrErr e = {{0}};
    Bpe *b = try_load(j.s, TINY_MERGES, &e);
    CHECK(b != NULL);
    if (b) {
        CHECK(bpe_vocab_size(b) == 260 && bpe_eot(b) == -1);
        int *ids;
        size_t n;
        CHECK(bpe_encode(b, "hello hell", 10, &ids, &n, &e) == 0);
        CHECK(n == 3 && ids[0] == 259 && ids[1] == ' ' && ids[2] == 258);
        free(ids);
        bpe_free(b);
    }
    /* CRLF line ends are accepted like the reference does */
    b = try_load(j.s, "#version: 0.2\r\nh e\r\nl l\r\n", &e);
    CHECK(b != NULL);
    bpe_free(b);
    sb_free(&j);
}

/* The reference looks ranks up by the string "A,B", so the pair ('!,', '?') takes the
 * rank of the merge ('!', ',?'), which has the same key "!,,?". Expected ids are what
 * gpt-3-encoder's Encoder.js gives with these two files (OpenAI's encoder.py would give
 * 256 63 for "!,?"). */
TEST(comma_rank_quirk)
{
    StrBuf j;
    sb_init(&j);
    tiny_encoder(&j, ", \"!,\": 260, \",?\": 261, \"!,?\": 262, \"?!\": 263, \"?!,\": 264, \",?!\": 265");
    GrErr e = {{0}};
    Bpe *b = try_load(j.s, "#version: 0.2\n! ,\n, ?\n! ,?\n? !\n?! ,\n, ?!\n", &e);
    CHECK(b != NULL);
    if (b) {
        static const struct {
            const char *text;
            int ids[4];
            size_t n;
        } cases[] = {{"!,?", {262}, 1}, {"!,?!", {262, '!'}, 2}, {",?!,?", {261, 262}, 2}, {"?!,?!,", {'?', 262, 260}, 3}};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            int *ids;
            size_t n;
            CHECK(bpe_encode(b, cases[i].text, strlen(cases[i].text), &ids, &n, &e) == 0);
            CHECK(n == cases[i].n && memcmp(ids, cases[i].ids, n * sizeof(int)) == 0);
            free(ids);
        }
        bpe_free(b);
    }
    sb_free(&j);
}

TEST(hostile_files)
{
    StrBuf j, t;
    sb_init(&j);
    sb_init(&t);
    tiny_encoder(&j, "");
    char vpath[128], jpath[128];
    snprintf(vpath, sizeof vpath, "%s/vocab.bpe", g_tmp);
    snprintf(jpath, sizeof jpath, "%s/encoder.json", g_tmp);

    /* vocab.bpe */
    CHECK(load_fails(j.s, "#version: 0.2\nh e\nl l x\n", vpath, "line 3: expected two space-separated symbols"));
    CHECK(load_fails(j.s, "#version: 0.2\nh e\nll\n", vpath, "line 3"));
    CHECK(load_fails(j.s, "#version: 0.2\nh e\n\nl l\n", vpath, "line 3"));
    CHECK(load_fails(j.s, "#version: 0.2\nh e\nhe l\n", "line 3", "not in encoder.json"));
    CHECK(load_fails(j.s, "#version: 0.2\nh e\nhel lo\n", "line 3: symbol 'hel' is not a token", NULL));
    CHECK(load_fails(j.s, "h e\nl l\n", vpath, "line 1: expected a '#version' header"));
    CHECK(load_fails(j.s, "", vpath, "#version"));
    CHECK(load_fails(j.s, "#version: 0.2\nh e\nl l", vpath, "line 3: no newline"));
    CHECK(load_fails(j.s, "#version: 0.2\nh e\nh e\n", "line 3", "listed twice"));
    CHECK(load_fails(j.s, "#version: 0.2\nh \xff\n", "line 2", "U+FFFD"));
    CHECK(load_fails(j.s, "#version: 0.2\nh \xc3\xa9\xc2\xa0\n", "line 2", "U+00A0"));

    /* encoder.json */
    CHECK(load_fails("[1, 2, 3]", TINY_MERGES, jpath, "expected a JSON object"));
    CHECK(load_fails("\"hello\"", TINY_MERGES, jpath, "expected a JSON object"));
    CHECK(load_fails("{\"a\": 1,\n\"b\": }", TINY_MERGES, jpath, "line 2: not valid JSON"));
    CHECK(load_fails("", TINY_MERGES, jpath, "not valid JSON"));
    CHECK(load_fails("{\"a\": 0}", TINY_MERGES, jpath, "256 single-byte tokens"));
    sb_clear(&t);
    tiny_encoder(&t, ", \"xy\": 260, \"yz\": 999");
    CHECK(load_fails(t.s, TINY_MERGES, jpath, "id 999 is not an integer in 0..261"));
    sb_clear(&t);
    tiny_encoder(&t, ", \"xy\": 260, \"yz\": 260");
    CHECK(load_fails(t.s, TINY_MERGES, jpath, "id 260 is used twice"));
    sb_clear(&t);
    tiny_encoder(&t, ", \"xy\": 260.5");
    CHECK(load_fails(t.s, TINY_MERGES, jpath, "260.5"));
    sb_clear(&t);
    tiny_encoder(&t, ", \"xy\": \"260\"");
    CHECK(load_fails(t.s, TINY_MERGES, jpath, "not a number"));
    sb_clear(&t);
    tiny_encoder(&t, ", \"x y\": 260");
    CHECK(load_fails(t.s, TINY_MERGES, jpath, "U+0020 is not one of GPT-2's 256 byte characters"));
    sb_clear(&t);
    tiny_encoder(&t, ", \"he\": 260");
    CHECK(load_fails(t.s, TINY_MERGES, jpath, "the same token as id 256"));
    sb_clear(&t);
    tiny_encoder(&t, ", \"\": 260");
    CHECK(load_fails(t.s, TINY_MERGES, jpath, "empty token"));
    /* a vocabulary missing a byte: drop "a" by renaming it */
    sb_clear(&t);
    char *pa = strstr(j.s, "\"a\": 97,");
    CHECK(pa != NULL);
    if (pa) {
        sb_putn(&t, j.s, (size_t)(pa - j.s));
        sb_puts(&t, "\"zz\": 97,");
        sb_puts(&t, pa + strlen("\"a\": 97,"));
    }
    CHECK(load_fails(t.s, TINY_MERGES, jpath, "no token for byte 0x61"));

    /* missing files */
    GrErr e = {{0}};
    char nofile[160];
    snprintf(nofile, sizeof nofile, "%s/nope.json", g_tmp);
    CHECK(bpe_load(nofile, vpath, &e) == NULL && strstr(e.msg, "nope.json") && strstr(e.msg, "No such file"));
    char empty_dir[160];
    snprintf(empty_dir, sizeof empty_dir, "%s/empty", g_tmp);
    mkdir(empty_dir, 0700);
    CHECK(bpe_load_dir(empty_dir, &e) == NULL && strstr(e.msg, "empty/encoder.json") &&
          strstr(e.msg, "make gpt2-tokenizer"));
    rmdir(empty_dir);
    /* only vocab.bpe missing: the message names that one */
    char half[160];
    snprintf(half, sizeof half, "%s/half", g_tmp);
    mkdir(half, 0700);
    char hj[200];
    snprintf(hj, sizeof hj, "%s/encoder.json", half);
    write_file(hj, j.s, j.len);
    CHECK(bpe_load_dir(half, &e) == NULL && strstr(e.msg, "half/vocab.bpe") && strstr(e.msg, "make gpt2-tokenizer"));
    unlink(hj);
    rmdir(half);

    sb_free(&j);
    sb_free(&t);
}

/* ------------------------------------------------------------------ tools ---------- */

static int cmd_encode(const char *path, int chunks)
{
    size_t n;
    char *s = read_all(path, &n);
    if (!s) {
        fprintf(stderr, "test_bpe: cannot read %s\n", path);
        return 2;
    }
    int *ids;
    size_t ni;
    GrErr e = {{0}};
    if (bpe_encode(g_bpe, s, n, &ids, &ni, &e) < 0) {
        fprintf(stderr, "test_bpe: %s\n", e.msg);
        free(s);
        return 2;
    }
    int rc = 0;
    if (!chunks) {
        for (size_t i = 0; i < ni; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    } else {
        /* the ids of each word: tokens never cross a word boundary */
        size_t *ends, nw, k = 0, at = 0;
        if (bpe_pretokenize(g_bpe, s, n, &ends, &nw, &e) < 0) {
            fprintf(stderr, "test_bpe: %s\n", e.msg);
            rc = 2;
            nw = 0;
            ends = NULL;
        }
        for (size_t w = 0; w < nw && !rc; w++) {
            printf("%zu:", ends[w] - at);
            while (at < ends[w] && k < ni) {
                size_t tl;
                bpe_token_bytes(g_bpe, ids[k], &tl);
                printf(" %d", ids[k++]);
                at += tl;
            }
            printf("\n");
            if (at != ends[w]) {
                fprintf(stderr, "test_bpe: a token crosses the end of word %zu\n", w);
                rc = 2;
            }
        }
        if (!rc && k != ni) {
            fprintf(stderr, "test_bpe: ids left over after the last word\n");
            rc = 2;
        }
        free(ends);
    }
    free(ids);
    free(s);
    return rc;
}

/* CPU time, not wall time: steadier on a shared machine (the encoder is single-threaded) */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void bench_one(const char *what, const char *s, size_t n)
{
    GrErr e = {{0}};
    int *ids;
    size_t ni;
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        if (bpe_encode(g_bpe, s, n, &ids, &ni, &e) < 0) {
            fprintf(stderr, "test_bpe: %s\n", e.msg);
            return;
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
        free(ids);
    }
    bpe_encode(g_bpe, s, n, &ids, &ni, &e);
    printf("bpe bench: %-34s %8.2f MB in %7.1f ms CPU = %6.1f MB/s (%zu tokens, %.2f bytes/token)\n", what, n / 1e6,
           best * 1e3, n / 1e6 / best, ni, ni ? (double)n / ni : 0.0);
    free(ids);
}

static int cmd_bench(const char *path)
{
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 65536);
    if (!buf) return 2;
    if (path) {
        free(buf);
        buf = read_all(path, &n);
        if (!buf) {
            fprintf(stderr, "test_bpe: cannot read %s\n", path);
            return 2;
        }
        bench_one(path, buf, n);
        free(buf);
        return 0;
    }
    /* 1 MB of the corpus files, repeated */
    static const char *files[] = {"english.txt", "code.c", "code.py", "vietnamese.txt", "mixed.txt", "numbers.txt",
                                  "emoji.txt", "cjk.txt", "whitespace.txt"};
    while (n < cap) {
        for (size_t f = 0; f < sizeof files / sizeof files[0] && n < cap; f++) {
            char p[256];
            size_t fl;
            snprintf(p, sizeof p, "tests/bpe_corpus/%s", files[f]);
            char *s = read_all(p, &fl);
            if (!s || !fl) {
                free(s);
                fprintf(stderr, "test_bpe: cannot read %s\n", p);
                free(buf);
                return 2;
            }
            if (fl > 65536) fl = 65536;
            memcpy(buf + n, s, fl);
            n += fl;
            free(s);
        }
    }
    bench_one("1 MB of tests/bpe_corpus, repeated", buf, n);
    /* 1 MB of pseudo-random words: few repeats, so the word cache rarely helps */
    uint64_t st = 99;
    n = 0;
    while (n < cap) {
        size_t wl = 1 + RND() % 12;
        buf[n++] = ' ';
        for (size_t i = 0; i < wl; i++) buf[n++] = (char)('a' + RND() % 26);
        if (RND() % 10 == 0) buf[n++] = RND() % 2 ? ',' : '.';
    }
    bench_one("1 MB of random lowercase words", buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = vocab_dir();
    char ej[512];
    snprintf(ej, sizeof ej, "%s/encoder.json", dir);
    int tool = argc >= 2 && (!strcmp(argv[1], "--encode") || !strcmp(argv[1], "--chunks") || !strcmp(argv[1], "--bench"));
    if (tool && strcmp(argv[1], "--bench") != 0 && argc != 3) {
        fprintf(stderr, "usage: test_bpe [--encode FILE | --chunks FILE | --bench [FILE]]\n");
        return 2;
    }
    if (access(ej, R_OK) != 0 && !strcmp(dir, "models/gpt2")) {
        if (!tool) printf("bpe: %s missing; running models/gpt2/fetch.sh\n", ej);
        fflush(stdout);
        int rc = system("models/gpt2/fetch.sh >&2");
        (void)rc;
    }
    GrErr e = {{0}};
    g_bpe = bpe_load_dir(dir, &e);
    if (!g_bpe) {
        if (tool) {
            fprintf(stderr, "test_bpe: %s\n", e.msg);
            return 3;
        }
        printf("bpe: SKIPPED (no vocabulary files: %s)\n", e.msg);
        return harness_done("bpe");
    }
    int rc = 0;
    if (tool) {
        if (!strcmp(argv[1], "--bench")) rc = cmd_bench(argc >= 3 ? argv[2] : NULL);
        else rc = cmd_encode(argv[2], !strcmp(argv[1], "--chunks"));
        bpe_free(g_bpe);
        return rc;
    }

    snprintf(g_tmp, sizeof g_tmp, "/tmp/test_bpe.XXXXXX");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(known_ids);
    RUN(empty_and_single_bytes);
    RUN(reference_quirks);
    RUN(mixed_round_trip);
    RUN(corpus_round_trip);
    RUN(random_round_trip);
    RUN(long_words);
    RUN(invalid_utf8);
    RUN(pretokenize);
    RUN(decode_errors);
    RUN(tiny_vocabulary);
    RUN(comma_rank_quirk);
    RUN(hostile_files);
    char p[128];
    snprintf(p, sizeof p, "%s/encoder.json", g_tmp);
    unlink(p);
    snprintf(p, sizeof p, "%s/vocab.bpe", g_tmp);
    unlink(p);
    rmdir(g_tmp);
    bpe_free(g_bpe);
    return harness_done("bpe");
}
