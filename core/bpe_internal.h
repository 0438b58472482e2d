/* bpe_internal.h — what bpe.c (merging, encoding) and bpe_load.c (reading the vocabulary
 * files) share: the tables of a loaded tokenizer and a few helpers. Not for other modules. */
#ifndef GR_BPE_INTERNAL_H
#define GR_BPE_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "bpe.h"

#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

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

typedef struct {
    const Bpe *bp;
    int *slot;     /* id + 1, 0 = empty */
    size_t mask;
} StrMap;

/* Code points the byte-to-unicode map uses (bytes map to U+0021..U+0143). */
#define MAP_CPS 324

PairSlot *bpe_pair_slot(Bpe *bp, int a, int b, int *fresh);
int bpe_strmap_get(const StrMap *m, const unsigned char *s, size_t n);
int bpe_strmap_put(StrMap *m, int id);
void bpe_byte_maps(unsigned byte_to_cp[256], int cp_to_byte[MAP_CPS]);
int bpe_unmap(const int cp_to_byte[MAP_CPS], const unsigned char *s, size_t n, unsigned char *out, size_t *outn,
              unsigned *bad);
const char *bpe_show(const char *s, size_t n, char *buf, size_t cap);

#endif
