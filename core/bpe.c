/* bpe.c — GPT-2 byte-level BPE: file loading, pre-tokenization, merging.
 *
 * The reference is the npm package gpt-3-encoder@1.1.4 (Encoder.js) under node; we
 * reproduce its ids exactly, including where it differs from OpenAI's encoder.py.
 * The three places where "exactly" needs care, each explained where it is handled:
 *
 *   - the regex: JavaScript's \s, \p{L} and \p{N} are not PCRE2's (see PRETOKENIZER);
 *   - invalid UTF-8: node decodes text to a JS string first, so every invalid byte
 *     sequence becomes U+FFFD before the regex runs (see "Invalid UTF-8");
 *   - merge ranks are looked up by the string "A,B", so a few pairs of tokens that
 *     contain commas get a rank they do not own (see add_comma_aliases).
 *
 * Merging uses a hash map from (id, id) to (rank, merged id) and a bucket queue of
 * candidate pairs, so a word of n bytes costs about O(n), not the reference's O(n^2);
 * a per-call cache skips words seen before. One core encodes ~30 MB/s of ordinary
 * text, ~6 MB/s of words that never repeat, ~3 MB/s of one giant word such as a
 * megabyte of base64 (tests/test_bpe --bench). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "bpe.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
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

/* ---------------------------------------------------------------- the tables --------- */

typedef struct {
    int a, b;      /* the pair of token ids */
    int rank;      /* < 0: empty slot */
    int result;    /* id of the merged token */
} PairSlot;

struct Bpe {
    int n_vocab, eot;
    unsigned char *blob;   /* token bytes, token i = blob[start[i] .. start[i] + len[i]) */
    size_t *start, *len;
    int byte_id[256];      /* the single-byte tokens */
    PairSlot *pairs;       /* open addressing, capacity pair_mask + 1 (a power of two) */
    size_t pair_mask, n_pairs;
    int n_ranks;           /* merges in vocab.bpe: ranks 0 .. n_ranks-1 */
    pcre2_code *re;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static size_t pair_hash(int a, int b)
{
    return (size_t)mix64(((uint64_t)(uint32_t)a << 32) | (uint32_t)b);
}

static const PairSlot *pair_find(const Bpe *bp, int a, int b)
{
    size_t i = pair_hash(a, b) & bp->pair_mask;
    for (;;) {
        const PairSlot *s = &bp->pairs[i];
        if (s->rank < 0) return NULL;
        if (s->a == a && s->b == b) return s;
        i = (i + 1) & bp->pair_mask;
    }
}

static int pair_grow(Bpe *bp)
{
    size_t cap = bp->pair_mask + 1, ncap, bytes;
    if (!gr_mul_ok(cap, 2, &ncap) || !gr_mul_ok(ncap, sizeof(PairSlot), &bytes)) return -1;
    PairSlot *ns = malloc(bytes);
    if (!ns) return -1;
    for (size_t i = 0; i < ncap; i++) ns[i].rank = -1;
    for (size_t i = 0; i < cap; i++) {
        PairSlot s = bp->pairs[i];
        if (s.rank < 0) continue;
        size_t j = pair_hash(s.a, s.b) & (ncap - 1);
        while (ns[j].rank >= 0) j = (j + 1) & (ncap - 1);
        ns[j] = s;
    }
    free(bp->pairs);
    bp->pairs = ns;
    bp->pair_mask = ncap - 1;
    return 0;
}

/* Returns the slot for (a, b), creating an empty-looking one (rank -1 must then be set
 * by the caller) if absent; *fresh tells which. NULL on out of memory. */
static PairSlot *pair_slot(Bpe *bp, int a, int b, int *fresh)
{
    if ((bp->n_pairs + 1) * 2 > bp->pair_mask + 1 && pair_grow(bp) < 0) return NULL;
    size_t i = pair_hash(a, b) & bp->pair_mask;
    for (;;) {
        PairSlot *s = &bp->pairs[i];
        if (s->rank < 0) {
            s->a = a;
            s->b = b;
            bp->n_pairs++;
            *fresh = 1;
            return s;
        }
        if (s->a == a && s->b == b) {
            *fresh = 0;
            return s;
        }
        i = (i + 1) & bp->pair_mask;
    }
}

/* Token bytes -> id, used while loading only (encoding works on ids). */
typedef struct {
    const Bpe *bp;
    int *slot;     /* id + 1, 0 = empty */
    size_t mask;
} StrMap;

static uint64_t hash_bytes(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return mix64(h ^ n);
}

static int strmap_get(const StrMap *m, const unsigned char *s, size_t n)
{
    size_t i = (size_t)hash_bytes(s, n) & m->mask;
    for (;;) {
        int v = m->slot[i];
        if (!v) return -1;
        int id = v - 1;
        if (m->bp->len[id] == n && memcmp(m->bp->blob + m->bp->start[id], s, n) == 0) return id;
        i = (i + 1) & m->mask;
    }
}

/* Inserts token id (its bytes are already in bp); returns the id already holding the
 * same bytes, or -1 if none did. */
static int strmap_put(StrMap *m, int id)
{
    const unsigned char *s = m->bp->blob + m->bp->start[id];
    size_t n = m->bp->len[id];
    size_t i = (size_t)hash_bytes(s, n) & m->mask;
    for (;;) {
        int v = m->slot[i];
        if (!v) {
            m->slot[i] = id + 1;
            return -1;
        }
        int other = v - 1;
        if (m->bp->len[other] == n && memcmp(m->bp->blob + m->bp->start[other], s, n) == 0) return other;
        i = (i + 1) & m->mask;
    }
}

/* ---------------------------------------------------------------- UTF-8 -------------- */

/* One step of the WHATWG UTF-8 decoder (what node's TextDecoder and Buffer.toString
 * do): returns the bytes consumed (>= 1) and sets *valid. An invalid sequence is
 * consumed as its "maximal subpart" (a truncated but so-far-valid prefix counts as one
 * unit; a byte that can't start or continue a sequence is one unit), and each unit
 * becomes one U+FFFD in the JS string. */
static size_t utf8_unit(const unsigned char *s, size_t n, unsigned *cp, int *valid)
{
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    *valid = 0;
    *cp = 0xFFFD;
    if (c < 0x80) {
        *cp = c;
        *valid = 1;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
        c &= 0x07;
    } else {
        return 1;
    }
    size_t i = 1;
    for (; need; need--, i++) {
        if (i >= n || s[i] < lo || s[i] > hi) return i;
        c = (c << 6) | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    *valid = 1;
    return i;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        unsigned cp;
        int ok;
        i += utf8_unit(s + i, n - i, &cp, &ok);
        if (!ok) return 0;
    }
    return 1;
}

/* GPT-2's byte <-> "printable character" map: the bytes '!'..'~', 0xA1..0xAC and
 * 0xAE..0xFF stand for themselves; the other 68 bytes become U+0100, U+0101, ... in
 * byte order. encoder.json and vocab.bpe spell tokens with these characters. */
#define MAP_CPS 324
static void byte_maps(unsigned byte_to_cp[256], int cp_to_byte[MAP_CPS])
{
    unsigned n = 0;
    for (int i = 0; i < MAP_CPS; i++) cp_to_byte[i] = -1;
    for (unsigned b = 0; b < 256; b++) {
        int self = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        byte_to_cp[b] = self ? b : 256 + n++;
        cp_to_byte[byte_to_cp[b]] = (int)b;
    }
}

/* Mapped string (UTF-8) -> raw bytes into out (room for n bytes: never longer). -1 if
 * it is not valid UTF-8 or uses a character outside the map; *bad then holds the
 * offending code point (or 0xFFFD for bad UTF-8). */
static int unmap(const int cp_to_byte[MAP_CPS], const unsigned char *s, size_t n,
                 unsigned char *out, size_t *outn, unsigned *bad)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned cp;
        int ok;
        i += utf8_unit(s + i, n - i, &cp, &ok);
        if (!ok || cp >= MAP_CPS || cp_to_byte[cp] < 0) {
            *bad = ok ? cp : 0xFFFD;
            return -1;
        }
        out[o++] = (unsigned char)cp_to_byte[cp];
    }
    *outn = o;
    return 0;
}

/* For messages: a token or symbol, quoted, with control bytes escaped, shortened. */
static const char *show(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == '\'' || c == '\\') o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", c);
        else buf[o++] = (char)c;
        if (i + 1 < n && o + 8 >= cap) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
    }
    buf[o++] = '\'';
    buf[o] = 0;
    return buf;
}

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
                    show(at, strnlen(at, 16), sbuf, sizeof sbuf));
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
        show(key, kn, sbuf, sizeof sbuf);
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
        if (unmap(cp_to_byte, (const unsigned char *)key, kn, bp->blob + used, &rn, &bad) < 0) {
            gr_fail(e, "%s: entry %zu (%s): U+%04X is not one of GPT-2's 256 byte characters", path, k + 1,
                    sbuf, bad);
            goto out;
        }
        bp->start[id] = used;
        bp->len[id] = rn;
        used += rn;
        int dup = strmap_put(sm, id);
        if (dup >= 0) {
            gr_fail(e, "%s: entry %zu (%s): the same token as id %d", path, k + 1, sbuf, dup);
            goto out;
        }
    }
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        bp->byte_id[b] = strmap_get(sm, &c, 1);
        if (bp->byte_id[b] < 0) {
            gr_fail(e, "%s: no token for byte 0x%02X (the 256 single-byte tokens are required)", path, b);
            goto out;
        }
    }
    bp->eot = strmap_get(sm, (const unsigned char *)"<|endoftext|>", 13);
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
            int x = strmap_get(sm, key, p), y = strmap_get(sm, key + p + 1, kn - p - 1);
            if (x < 0 || y < 0) continue;
            memcpy(cat, key, p);
            memcpy(cat + p, key + p + 1, kn - p - 1);
            int z = strmap_get(sm, cat, kn - 1);
            if (z < 0) continue;
            int fresh;
            PairSlot *s = pair_slot(bp, x, y, &fresh);
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
            show(f[k], (size_t)(fe[k] - f[k]), s1, sizeof s1);
            if (unmap(cp_to_byte, (const unsigned char *)f[k], (size_t)(fe[k] - f[k]), sym, &rn, &bad) < 0) {
                gr_fail(e, "%s: line %zu: symbol %s: U+%04X is not one of GPT-2's 256 byte characters", path, line,
                        s1, bad);
                goto out;
            }
            id[k] = strmap_get(sm, sym, rn);
            if (id[k] < 0) {
                gr_fail(e, "%s: line %zu: symbol %s is not a token in encoder.json", path, line, s1);
                goto out;
            }
        }
        size_t la = bp->len[id[0]], lb = bp->len[id[1]];
        memcpy(sym, bp->blob + bp->start[id[0]], la);
        memcpy(sym + la, bp->blob + bp->start[id[1]], lb);
        int z = strmap_get(sm, sym, la + lb);
        if (z < 0) {
            gr_fail(e, "%s: line %zu: the merge %s + %s makes a token that is not in encoder.json", path, line,
                    show(f[0], (size_t)(fe[0] - f[0]), s1, sizeof s1),
                    show(f[1], (size_t)(fe[1] - f[1]), s2, sizeof s2));
            goto out;
        }
        if (nm >= (size_t)INT_MAX) {
            gr_fail(e, "%s: too many merges", path);
            goto out;
        }
        int fresh;
        PairSlot *s = pair_slot(bp, id[0], id[1], &fresh);
        if (!s) {
            gr_fail(e, "%s: out of memory", path);
            goto out;
        }
        if (!fresh) {
            gr_fail(e, "%s: line %zu: the merge %s %s is listed twice (first as rank %d)", path, line,
                    show(f[0], (size_t)(fe[0] - f[0]), s1, sizeof s1),
                    show(f[1], (size_t)(fe[1] - f[1]), s2, sizeof s2), s->rank);
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
    byte_maps(byte_to_cp, cp_to_byte);
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
    static const char *names[2] = {"encoder.json", "vocab.bpe"};
    char *path[2] = {NULL, NULL};
    Bpe *bp = NULL;
    size_t dn = strlen(dir);
    for (int i = 0; i < 2; i++) {
        size_t n;
        if (!gr_add_ok(dn, strlen(names[i]) + 2, &n) || !(path[i] = malloc(n))) {
            gr_fail(e, "out of memory");
            goto out;
        }
        snprintf(path[i], n, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path[i], &st) != 0) {
            gr_fail(e, "%s: %s; run `make gpt2-tokenizer` to download the GPT-2 vocabulary", path[i],
                    strerror(errno));
            goto out;
        }
    }
    bp = bpe_load(path[0], path[1], e);
out:
    free(path[0]);
    free(path[1]);
    return bp;
}

void bpe_free(Bpe *b)
{
    if (!b) return;
    pcre2_code_free(b->re);
    free(b->pairs);
    free(b->blob);
    free(b->start);
    free(b->len);
    free(b);
}

int bpe_vocab_size(const Bpe *b) { return b->n_vocab; }
int bpe_eot(const Bpe *b) { return b->eot; }

const char *bpe_token_bytes(const Bpe *b, int id, size_t *len)
{
    if (id < 0 || id >= b->n_vocab) {
        *len = 0;
        return NULL;
    }
    *len = b->len[id];
    return (const char *)b->blob + b->start[id];
}

int bpe_decode(const Bpe *b, const int *ids, size_t n, StrBuf *out, GrErr *e)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= b->n_vocab)
            return gr_fail(e, "token id %d (position %zu) is out of range: the vocabulary has ids 0..%d", ids[i], i,
                           b->n_vocab - 1);
        if (!gr_add_ok(total, b->len[ids[i]], &total)) return gr_fail(e, "decoded text too large");
    }
    for (size_t i = 0; i < n; i++) sb_putn(out, (const char *)b->blob + b->start[ids[i]], b->len[ids[i]]);
    return 0;
}

/* ---------------------------------------------------------------- pre-tokenization --- */

/* Invalid UTF-8. The reference's encode() takes a JS string, so the text has been
 * decoded by node before the tokenizer sees it, and each invalid sequence (WHATWG
 * "maximal subpart": see utf8_unit) is already U+FFFD; the regex sees U+FFFD (a
 * symbol, category So) and the BPE then runs on its bytes EF BF BD.
 * We cut the text exactly where node cuts the decoded string (the regex runs on a
 * shadow copy with each invalid sequence replaced by U+FFFD), but keep the original
 * bytes inside each word, so the words and their ids are the reference's wherever the
 * text is valid, and decode(encode(x)) == x always: the byte-level vocabulary can
 * spell any byte, and replacing them would lose data. */
typedef int (*ChunkFn)(void *ctx, size_t start, size_t end, GrErr *e);

static int pretokenize(const Bpe *b, const unsigned char *text, size_t len, ChunkFn fn, void *ctx, GrErr *e)
{
    const unsigned char *subj = text;
    unsigned char *shadow = NULL;
    size_t slen = len;
    if (!utf8_valid(text, len)) {
        size_t cap;
        if (!gr_mul_ok(len, 3, &cap) || !(shadow = malloc(cap))) return gr_fail(e, "out of memory");
        slen = 0;
        for (size_t i = 0; i < len;) {
            unsigned cp;
            int ok;
            size_t u = utf8_unit(text + i, len - i, &cp, &ok);
            if (ok) {
                memcpy(shadow + slen, text + i, u);
                slen += u;
            } else {
                memcpy(shadow + slen, "\xEF\xBF\xBD", 3);
                slen += 3;
            }
            i += u;
        }
        subj = shadow;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(b->re, NULL);
    if (!md) {
        free(shadow);
        return gr_fail(e, "out of memory");
    }
    int rc = 0;
    size_t pos = 0, raw = 0, spos = 0; /* spos in subj corresponds to raw in text */
    while (pos < slen && rc == 0) {
        size_t ms, me;
        int m = pcre2_match(b->re, subj, slen, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (m == PCRE2_ERROR_NOMATCH) {
            ms = me = slen; /* cannot happen (every character matches some branch); keep the bytes anyway */
        } else if (m < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(m, msg, sizeof msg);
            rc = gr_fail(e, "pre-tokenizer: %s", (const char *)msg);
            break;
        } else {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            ms = ov[0];
            me = ov[1];
            if (me <= ms) { /* no branch can match empty; never loop forever */
                rc = gr_fail(e, "pre-tokenizer: empty match at byte %zu", ms);
                break;
            }
        }
        size_t cuts[2] = {ms, me};
        for (int k = 0; k < 2 && rc == 0; k++) {
            size_t target = cuts[k];
            if (target <= pos) continue;
            size_t r0 = raw;
            if (!shadow) {
                raw = target;
            } else {
                while (spos < target) {
                    unsigned cp;
                    int ok;
                    size_t u = utf8_unit(text + raw, len - raw, &cp, &ok);
                    spos += ok ? u : 3;
                    raw += u;
                }
            }
            rc = fn(ctx, r0, raw, e);
            pos = target;
        }
    }
    pcre2_match_data_free(md);
    free(shadow);
    return rc;
}

typedef struct {
    size_t *ends, n, cap;
} Ends;

static int collect_end(void *ctx, size_t start, size_t end, GrErr *e)
{
    Ends *c = ctx;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64, bytes;
        size_t *ne;
        if (!gr_mul_ok(ncap, sizeof *ne, &bytes) || !(ne = realloc(c->ends, bytes))) return gr_fail(e, "out of memory");
        c->ends = ne;
        c->cap = ncap;
    }
    c->ends[c->n++] = end;
    return 0;
}

int bpe_pretokenize(const Bpe *b, const char *text, size_t len, size_t **ends, size_t *n, GrErr *e)
{
    Ends c = {0};
    *ends = NULL;
    *n = 0;
    if (pretokenize(b, (const unsigned char *)text, len, collect_end, &c, e) < 0) {
        free(c.ends);
        return -1;
    }
    if (!c.ends && !(c.ends = malloc(sizeof *c.ends))) return gr_fail(e, "out of memory");
    *ends = c.ends;
    *n = c.n;
    return 0;
}

/* ---------------------------------------------------------------- merging ------------ */

/* The reference's bpe(word): while some adjacent pair has a rank, take the pair P with
 * the lowest rank and replace every occurrence of P, left to right, with the merged
 * token. Done naively that is O(n^2) per word. Here every candidate pair sits in a
 * bucket for its rank (a bucket queue: one list per rank, plus a two-level bitmap of
 * the non-empty ones to find the lowest in a few instructions); one step empties the
 * lowest bucket, sorts it by position and merges. Entries whose symbols have changed
 * since they were queued are stale and skipped. (If two different pairs share a rank,
 * which only the comma aliases can cause, the reference picks the one occurring last
 * in the word and the other waits for the next step.) Cost: O(n log n) for a word of
 * n bytes, and nearly linear in practice. */
typedef struct {
    int rank, a, b;
    uint32_t pos; /* index of the left symbol (symbols keep their first byte's index) */
} Cand;

#define NIL UINT32_MAX
#define MAX_WORD ((size_t)UINT32_MAX / 4) /* queue entries (< 3n) are numbered with uint32_t */

typedef struct {
    int *id;               /* per symbol; -1 once merged into its left neighbour */
    uint32_t *prev, *next; /* linked list of live symbols */
    uint32_t *merged;      /* positions merged in the current step */
    size_t cap;
    Cand *pool;            /* queued candidates */
    uint32_t *link;        /* next entry in the same bucket, + 1 (0 = end) */
    size_t pn, pcap;
    uint32_t *head;        /* per rank: first entry + 1, 0 = empty */
    uint64_t *bits0, *bits1; /* non-empty buckets; bits1 bit i: bits0[i] != 0 */
    size_t n0, n1;
    Cand *step;
    size_t sn, scap;
} Work;

static void work_free(Work *w)
{
    free(w->id);
    free(w->prev);
    free(w->next);
    free(w->merged);
    free(w->pool);
    free(w->link);
    free(w->head);
    free(w->bits0);
    free(w->bits1);
    free(w->step);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 16, bytes;
    while (ncap < need) {
        if (!gr_mul_ok(ncap, 2, &ncap)) return -1;
    }
    if (!gr_mul_ok(ncap, elem, &bytes)) return -1;
    void *np = realloc(*p, bytes);
    if (!np) return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

/* Room for n symbols in each per-symbol array. */
static int work_reserve(Work *w, size_t n)
{
    if (n <= w->cap) return 0;
    _Static_assert(sizeof(int) == sizeof(uint32_t), "one size for the four arrays");
    size_t cap = w->cap ? w->cap : 64, b4;
    while (cap < n)
        if (!gr_mul_ok(cap, 2, &cap)) return -1;
    if (!gr_mul_ok(cap, sizeof(uint32_t), &b4)) return -1;
    void *id = realloc(w->id, b4);
    if (id) w->id = id;
    void *prev = realloc(w->prev, b4);
    if (prev) w->prev = prev;
    void *next = realloc(w->next, b4);
    if (next) w->next = next;
    void *merged = realloc(w->merged, b4);
    if (merged) w->merged = merged;
    if (!id || !prev || !next || !merged) return -1; /* the grown ones are kept; cap stays */
    w->cap = cap;
    return 0;
}

static int work_init(Work *w, int n_ranks)
{
    w->n0 = ((size_t)n_ranks + 63) / 64;
    w->n1 = (w->n0 + 63) / 64;
    w->head = calloc(n_ranks ? (size_t)n_ranks : 1, sizeof *w->head);
    w->bits0 = calloc(w->n0 ? w->n0 : 1, sizeof *w->bits0);
    w->bits1 = calloc(w->n1 ? w->n1 : 1, sizeof *w->bits1);
    return w->head && w->bits0 && w->bits1 ? 0 : -1;
}

static int queue_push(Work *w, Cand c)
{
    if (w->pn == w->pcap) {
        size_t c1 = w->pcap, c2 = w->pcap;
        int bad = grow((void **)&w->pool, &c1, w->pn + 1, sizeof(Cand)) < 0 ||
                  grow((void **)&w->link, &c2, w->pn + 1, sizeof(uint32_t)) < 0;
        w->pcap = c1 < c2 ? c1 : c2;
        if (bad) return -1;
    }
    size_t i = w->pn++, r = (size_t)c.rank;
    w->pool[i] = c;
    w->link[i] = w->head[r];
    w->head[r] = (uint32_t)i + 1;
    w->bits0[r / 64] |= (uint64_t)1 << (r % 64);
    w->bits1[r / 4096] |= (uint64_t)1 << (r / 64 % 64);
    return 0;
}

/* The lowest non-empty rank, or -1. */
static int queue_min(const Work *w)
{
    for (size_t i = 0; i < w->n1; i++) {
        if (!w->bits1[i]) continue;
        size_t j = i * 64 + (size_t)__builtin_ctzll(w->bits1[i]);
        return (int)(j * 64 + (size_t)__builtin_ctzll(w->bits0[j]));
    }
    return -1;
}

static int cand_live(const Work *w, const Cand *c)
{
    uint32_t q = w->next[c->pos];
    return w->id[c->pos] == c->a && q != NIL && w->id[q] == c->b;
}

/* Queues the pair starting at symbol p, if it exists and has a rank. */
static int push_pair(const Bpe *bp, Work *w, uint32_t p)
{
    if (p == NIL || w->next[p] == NIL) return 0;
    const PairSlot *s = pair_find(bp, w->id[p], w->id[w->next[p]]);
    if (!s) return 0;
    return queue_push(w, (Cand){s->rank, s->a, s->b, p});
}

static int cand_cmp(const void *x, const void *y)
{
    uint32_t a = ((const Cand *)x)->pos, b = ((const Cand *)y)->pos;
    return (a > b) - (a < b);
}

/* BPE of one word of 1 <= n <= MAX_WORD bytes; writes its ids to out (room for n).
 * Returns the count, or 0 on out of memory (the Work is then unusable). */
static size_t bpe_word(const Bpe *bp, Work *w, const unsigned char *s, size_t n, int *out)
{
    if (n == 1) {
        out[0] = bp->byte_id[s[0]];
        return 1;
    }
    if (work_reserve(w, n) < 0) return 0;
    for (uint32_t i = 0; i < n; i++) {
        w->id[i] = bp->byte_id[s[i]];
        w->prev[i] = i ? i - 1 : NIL;
        w->next[i] = i + 1 < n ? i + 1 : NIL;
    }
    w->pn = 0; /* every bucket is empty between words */
    for (uint32_t i = 0; i + 1 < n; i++)
        if (push_pair(bp, w, i) < 0) return 0;

    int r;
    while ((r = queue_min(w)) >= 0) {
        /* empty bucket r: its live candidates, in position order */
        uint32_t e = w->head[r];
        w->head[r] = 0;
        w->bits0[r / 64] &= ~((uint64_t)1 << (r % 64));
        if (!w->bits0[r / 64]) w->bits1[r / 4096] &= ~((uint64_t)1 << (r / 64 % 64));
        w->sn = 0;
        int sorted = 1;
        for (; e; e = w->link[e - 1]) {
            const Cand *c = &w->pool[e - 1];
            if (!cand_live(w, c)) continue;
            if (grow((void **)&w->step, &w->scap, w->sn + 1, sizeof(Cand)) < 0) return 0;
            if (w->sn && w->step[w->sn - 1].pos < c->pos) sorted = 0; /* the lists run backwards */
            w->step[w->sn++] = *c;
        }
        if (!w->sn) continue;
        if (sorted) {
            for (size_t i = 0, j = w->sn - 1; i < j; i++, j--) {
                Cand t = w->step[i];
                w->step[i] = w->step[j];
                w->step[j] = t;
            }
        } else {
            qsort(w->step, w->sn, sizeof(Cand), cand_cmp);
        }
        /* the pair the reference picks: the last one in the word with this rank */
        int pa = w->step[w->sn - 1].a, pb = w->step[w->sn - 1].b;
        const PairSlot *ps = pair_find(bp, pa, pb);
        size_t nm = 0;
        for (size_t k = 0; k < w->sn; k++) {
            Cand *c = &w->step[k];
            if (c->a != pa || c->b != pb || !cand_live(w, c)) continue; /* overlaps the previous merge */
            uint32_t p = c->pos, q = w->next[p];
            w->id[p] = ps->result;
            w->id[q] = -1;
            w->next[p] = w->next[q];
            if (w->next[q] != NIL) w->prev[w->next[q]] = p;
            w->merged[nm++] = p;
        }
        /* the other pair(s) of the same rank, still there, wait for the next step */
        for (size_t k = 0; k < w->sn; k++) {
            Cand *c = &w->step[k];
            if ((c->a != pa || c->b != pb) && cand_live(w, c) && queue_push(w, *c) < 0) return 0;
        }
        /* new neighbours, queued once the step is done so none is stale at birth:
         * (left, merged) unless left merged too (then it was queued as its right pair) */
        for (size_t k = 0; k < nm; k++) {
            uint32_t p = w->merged[k];
            if ((k == 0 || w->merged[k - 1] != w->prev[p]) && push_pair(bp, w, w->prev[p]) < 0) return 0;
            if (push_pair(bp, w, p) < 0) return 0;
        }
    }
    size_t m = 0;
    for (uint32_t p = 0; p != NIL; p = w->next[p]) out[m++] = w->id[p];
    return m;
}

/* ---------------------------------------------------------------- encoding ----------- */

/* Per-call cache: word bytes (a span of the caller's text) -> its ids (a span of the
 * output). Ordinary text repeats words constantly; this makes it ~5x faster. */
typedef struct {
    uint64_t h;
    size_t off, len, ids_off, ids_n; /* len == 0: empty */
} CacheEnt;

#define CACHE_MAX_SLOTS ((size_t)1 << 18)

typedef struct {
    const Bpe *bp;
    const unsigned char *text;
    int *ids;
    size_t n;
    Work w;
    CacheEnt *cache;
    size_t cmask, cused;
} Enc;

static CacheEnt *cache_find(Enc *x, const unsigned char *s, size_t len, uint64_t h)
{
    size_t i = (size_t)h & x->cmask;
    for (;;) {
        CacheEnt *c = &x->cache[i];
        if (!c->len || (c->h == h && c->len == len && memcmp(x->text + c->off, s, len) == 0)) return c;
        i = (i + 1) & x->cmask;
    }
}

static void cache_grow(Enc *x)
{
    size_t cap = x->cmask + 1;
    if (cap >= CACHE_MAX_SLOTS) return;
    CacheEnt *nc = calloc(cap * 2, sizeof *nc);
    if (!nc) return; /* the cache is optional */
    for (size_t i = 0; i < cap; i++) {
        CacheEnt c = x->cache[i];
        if (!c.len) continue;
        size_t j = (size_t)c.h & (cap * 2 - 1);
        while (nc[j].len) j = (j + 1) & (cap * 2 - 1);
        nc[j] = c;
    }
    free(x->cache);
    x->cache = nc;
    x->cmask = cap * 2 - 1;
}

static int encode_word(void *ctx, size_t start, size_t end, GrErr *e)
{
    Enc *x = ctx;
    const unsigned char *s = x->text + start;
    size_t len = end - start;
    if (len == 1) {
        x->ids[x->n++] = x->bp->byte_id[s[0]];
        return 0;
    }
    CacheEnt *c = NULL;
    uint64_t h = 0;
    if (x->cache) {
        h = hash_bytes(s, len);
        c = cache_find(x, s, len, h);
        if (c->len) {
            memcpy(x->ids + x->n, x->ids + c->ids_off, c->ids_n * sizeof(int));
            x->n += c->ids_n;
            return 0;
        }
    }
    if (len > MAX_WORD) return gr_fail(e, "a single word of %zu bytes: too long to encode", len);
    if (!x->w.head && work_init(&x->w, x->bp->n_ranks) < 0) return gr_fail(e, "out of memory");
    size_t m = bpe_word(x->bp, &x->w, s, len, x->ids + x->n);
    if (!m) return gr_fail(e, "out of memory encoding a word of %zu bytes", len);
    if (c) {
        if ((x->cused + 1) * 2 > x->cmask + 1) {
            cache_grow(x); /* may refuse (size cap, memory): then the cache just stops filling */
            c = cache_find(x, s, len, h);
        }
        if ((x->cused + 1) * 2 <= x->cmask + 1) {
            *c = (CacheEnt){h, start, len, x->n, m};
            x->cused++;
        }
    }
    x->n += m;
    return 0;
}

int bpe_encode(const Bpe *b, const char *text, size_t len, int **ids, size_t *n, GrErr *e)
{
    *ids = NULL;
    *n = 0;
    size_t bytes;
    Enc x = {0};
    x.bp = b;
    x.text = (const unsigned char *)text;
    /* every byte yields at most one token */
    if (!gr_mul_ok(len ? len : 1, sizeof(int), &bytes) || !(x.ids = malloc(bytes)))
        return gr_fail(e, "out of memory encoding %zu bytes", len);
    if (len > 64 && (x.cache = calloc(1024, sizeof *x.cache))) x.cmask = 1023;
    int rc = len ? pretokenize(b, x.text, len, encode_word, &x, e) : 0;
    work_free(&x.w);
    free(x.cache);
    if (rc < 0) {
        free(x.ids);
        return -1;
    }
    if (x.n && x.n < len) {
        int *shrunk = realloc(x.ids, x.n * sizeof(int));
        if (shrunk) x.ids = shrunk;
    }
    *ids = x.ids;
    *n = x.n;
    return 0;
}
