/* tokenizer.h — text ↔ ids: bytes (ids 0–255), characters (UTF-8 code points,
 * vocabulary built from a text) and GPT-2's byte-level BPE (core/bpe.h). */
#ifndef GR_TOKENIZER_H
#define GR_TOKENIZER_H

#include <stddef.h>
#include "common.h"

struct Bpe;

/* Tokenizer kinds; their names in checkpoints are cfg_tokenizer_key()'s choices, in this order. */
enum { TOK_BYTE, TOK_CHAR, TOK_GPT2 };

typedef struct {
    int kind;            /* TOK_* */
    int vocab;           /* the model's vocabulary size (≥ the tokenizer's own) */
    unsigned *chars;     /* TOK_CHAR: id → code point */
    int nchars;
    struct Bpe *bpe;     /* TOK_GPT2 */
} Tokenizer;

/* Byte tokenizer for a model with `vocab` ids (ids ≥ 256 have no text). */
void tok_init_byte(Tokenizer *t, int vocab);
/* Char tokenizer whose vocabulary is the code points of `utf8`, in order (id i = i-th code point). */
int tok_init_chars(Tokenizer *t, const char *utf8, size_t n, GrErr *e);
/* vocab=vi: '\n', printable ASCII, every Vietnamese letter with every tone (NFC), and
 * “ ” ‘ ’ … – — : a fixed table, whatever the text holds (vi_letters.c). */
const char *tok_vi_chars(void);
/* NFC for the letters of that table: a base and its combining marks become the one
 * precomposed letter, so "e" + U+0323 + U+0302 reads as "ệ". Returns whether anything
 * was composed; out gets the text. */
int tok_nfc(const char *in, size_t n, StrBuf *out);
/* The default char vocabulary: newline and printable ASCII (96 symbols). */
const char *tok_default_chars(void);
/* Char vocabulary from a corpus: its distinct code points, sorted. */
int tok_build_chars(Tokenizer *t, const char *text, size_t n, GrErr *e);
/* GPT-2 BPE from dir/encoder.json + dir/vocab.bpe. */
int tok_init_gpt2(Tokenizer *t, const char *dir, GrErr *e);
void tok_free(Tokenizer *t);

/* Encodes text; a symbol outside the vocabulary is an error naming it and its position. */
int tok_encode(const Tokenizer *t, const char *text, size_t n, int **ids, size_t *nids, GrErr *e);
/* Can a char model's vocabulary write code point cp? (Bytes and BPE write everything.) */
int tok_has_char(const Tokenizer *t, unsigned cp);
/* Appends the text of ids (raw; ids without text become "<id>"). */
void tok_decode(const Tokenizer *t, const int *ids, size_t n, StrBuf *out);
/* A printable label for one token: control characters escaped (\n, \t, \x07), a
 * leading space shown as '␣' is left to the caller; invalid UTF-8 bytes as \xNN. */
void tok_piece(const Tokenizer *t, int id, StrBuf *out);
/* The vocabulary as UTF-8 (char tokenizer), for checkpoints. */
char *tok_chars_utf8(const Tokenizer *t);
const char *tok_kind_name(const Tokenizer *t);

#endif
