/* bpe.c — GPT-2 byte-level BPE: pre-tokenization, merging, encoding (loading: bpe_load.c).
 *
 * The reference is the npm package gpt-3-encoder@1.1.4 (Encoder.js) under node; we
 * reproduce its ids exactly, including where it differs from OpenAI's encoder.py.
 * The three places where "exactly" needs care, each explained where it is handled:
 *
 *   - the regex: JavaScript's \s, \p{L} and \p{N} are not PCRE2's (see PRETOKENIZER, bpe_load.c);
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
#include "bpe_internal.h"

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

/* ---------------------------------------------------------------- the tables --------- */

uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

size_t pair_hash(int a, int b)
{
    return (size_t)mix64(((uint64_t)(uint32_t)a << 32) | (uint32_t)b);
}

const PairSlot *pair_find(const Bpe *bp, int a, int b)
{
    size_t i = pair_hash(a, b) & bp->pair_mask;
    for (;;) {
        const PairSlot *s = &bp->pairs[i];
        if (s->rank < 0) return NULL;
        if (s->a == a && s->b == b) return s;
        i = (i + 1) & bp->pair_mask;
    }
}

int pair_grow(Bpe *bp)
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
PairSlot *bpe_pair_slot(Bpe *bp, int a, int b, int *fresh)
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
uint64_t hash_bytes(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return mix64(h ^ n);
}

int bpe_strmap_get(const StrMap *m, const unsigned char *s, size_t n)
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
int bpe_strmap_put(StrMap *m, int id)
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
size_t utf8_unit(const unsigned char *s, size_t n, unsigned *cp, int *valid)
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

int utf8_valid(const unsigned char *s, size_t n)
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
void bpe_byte_maps(unsigned byte_to_cp[256], int cp_to_byte[MAP_CPS])
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
int bpe_unmap(const int cp_to_byte[MAP_CPS], const unsigned char *s, size_t n,
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
const char *bpe_show(const char *s, size_t n, char *buf, size_t cap)
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

int pretokenize(const Bpe *b, const unsigned char *text, size_t len, ChunkFn fn, void *ctx, GrErr *e)
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

int collect_end(void *ctx, size_t start, size_t end, GrErr *e)
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

void work_free(Work *w)
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

int grow(void **p, size_t *cap, size_t need, size_t elem)
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
int work_reserve(Work *w, size_t n)
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

int work_init(Work *w, int n_ranks)
{
    w->n0 = ((size_t)n_ranks + 63) / 64;
    w->n1 = (w->n0 + 63) / 64;
    w->head = calloc(n_ranks ? (size_t)n_ranks : 1, sizeof *w->head);
    w->bits0 = calloc(w->n0 ? w->n0 : 1, sizeof *w->bits0);
    w->bits1 = calloc(w->n1 ? w->n1 : 1, sizeof *w->bits1);
    return w->head && w->bits0 && w->bits1 ? 0 : -1;
}

int queue_push(Work *w, Cand c)
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
int queue_min(const Work *w)
{
    for (size_t i = 0; i < w->n1; i++) {
        if (!w->bits1[i]) continue;
        size_t j = i * 64 + (size_t)__builtin_ctzll(w->bits1[i]);
        return (int)(j * 64 + (size_t)__builtin_ctzll(w->bits0[j]));
    }
    return -1;
}

int cand_live(const Work *w, const Cand *c)
{
    uint32_t q = w->next[c->pos];
    return w->id[c->pos] == c->a && q != NIL && w->id[q] == c->b;
}

/* Queues the pair starting at symbol p, if it exists and has a rank. */
int push_pair(const Bpe *bp, Work *w, uint32_t p)
{
    if (p == NIL || w->next[p] == NIL) return 0;
    const PairSlot *s = pair_find(bp, w->id[p], w->id[w->next[p]]);
    if (!s) return 0;
    return queue_push(w, (Cand){s->rank, s->a, s->b, p});
}

int cand_cmp(const void *x, const void *y)
{
    uint32_t a = ((const Cand *)x)->pos, b = ((const Cand *)y)->pos;
    return (a > b) - (a < b);
}

/* BPE of one word of 1 <= n <= MAX_WORD bytes; writes its ids to out (room for n).
 * Returns the count, or 0 on out of memory (the Work is then unusable). */
size_t bpe_word(const Bpe *bp, Work *w, const unsigned char *s, size_t n, int *out)
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

CacheEnt *cache_find(Enc *x, const unsigned char *s, size_t len, uint64_t h)
{
    size_t i = (size_t)h & x->cmask;
    for (;;) {
        CacheEnt *c = &x->cache[i];
        if (!c->len || (c->h == h && c->len == len && memcmp(x->text + c->off, s, len) == 0)) return c;
        i = (i + 1) & x->cmask;
    }
}

void cache_grow(Enc *x)
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

int encode_word(void *ctx, size_t start, size_t end, GrErr *e)
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
