#include "tokenizer.h"
#include "bpe.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tok_init_byte(Tokenizer *t, int vocab)
{
    memset(t, 0, sizeof *t);
    t->kind = TOK_BYTE;
    t->vocab = vocab;
}

const char *tok_default_chars(void)
{
    static char buf[97];
    if (!buf[0]) {
        buf[0] = '\n';
        for (int c = 32; c < 127; c++) buf[c - 31] = (char)c;
        buf[96] = 0;
    }
    return buf;
}

static int cmp_u(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

int tok_init_chars(Tokenizer *t, const char *utf8, size_t n, GrErr *e)
{
    memset(t, 0, sizeof *t);
    t->kind = TOK_CHAR;
    t->chars = malloc(sizeof(unsigned) * (n + 1));
    if (!t->chars) return gr_fail(e, "out of memory");
    size_t i = 0;
    while (i < n) {
        unsigned cp;
        int k = gr_utf8_decode(utf8 + i, n - i, &cp);
        t->chars[t->nchars++] = cp;
        i += (size_t)k;
    }
    if (t->nchars == 0) {
        tok_free(t);
        return gr_fail(e, "the character vocabulary is empty");
    }
    /* Duplicates, found on a sorted copy: O(n log n), since the vocabulary comes from a file. */
    unsigned *sorted = malloc(sizeof(unsigned) * (size_t)t->nchars);
    if (!sorted) { tok_free(t); return gr_fail(e, "out of memory"); }
    memcpy(sorted, t->chars, sizeof(unsigned) * (size_t)t->nchars);
    qsort(sorted, (size_t)t->nchars, sizeof(unsigned), cmp_u);
    for (int j = 1; j < t->nchars; j++)
        if (sorted[j] == sorted[j - 1]) {
            unsigned dup = sorted[j];
            free(sorted);
            tok_free(t);
            return gr_fail(e, "the character vocabulary lists U+%04X twice", dup);
        }
    free(sorted);
    t->vocab = t->nchars;
    return 0;
}

int tok_build_chars(Tokenizer *t, const char *text, size_t n, GrErr *e)
{
    memset(t, 0, sizeof *t);
    unsigned *all = malloc(sizeof(unsigned) * (n + 1));
    if (!all) return gr_fail(e, "out of memory");
    size_t k = 0, i = 0;
    while (i < n) {
        unsigned cp;
        i += (size_t)gr_utf8_decode(text + i, n - i, &cp);
        all[k++] = cp;
    }
    if (k == 0) { free(all); return gr_fail(e, "the text is empty: no characters to build a vocabulary from"); }
    qsort(all, k, sizeof(unsigned), cmp_u);
    size_t u = 0;
    for (size_t j = 0; j < k; j++)
        if (j == 0 || all[j] != all[j - 1]) all[u++] = all[j];
    t->kind = TOK_CHAR;
    t->chars = all;
    t->nchars = (int)u;
    t->vocab = (int)u;
    return 0;
}

int tok_init_gpt2(Tokenizer *t, const char *dir, GrErr *e)
{
    memset(t, 0, sizeof *t);
    t->bpe = bpe_load_dir(dir, e);
    if (!t->bpe) return -1;
    t->kind = TOK_GPT2;
    t->vocab = bpe_vocab_size(t->bpe);
    return 0;
}

void tok_free(Tokenizer *t)
{
    free(t->chars);
    if (t->bpe) bpe_free(t->bpe);
    memset(t, 0, sizeof *t);
}

/* Index of a code point in the char vocabulary, or -1. Vocabularies are small; a
 * linear scan keeps the id order the file gave us. */
static int char_id(const Tokenizer *t, unsigned cp)
{
    for (int i = 0; i < t->nchars; i++)
        if (t->chars[i] == cp) return i;
    return -1;
}

int tok_has_char(const Tokenizer *t, unsigned cp) { return t->kind != TOK_CHAR || char_id(t, cp) >= 0; }

int tok_encode(const Tokenizer *t, const char *text, size_t n, int **ids, size_t *nids, GrErr *e)
{
    *ids = NULL;
    *nids = 0;
    if (t->kind == TOK_GPT2) return bpe_encode(t->bpe, text, n, ids, nids, e);
    int *out = malloc(sizeof(int) * (n + 1));
    if (!out) return gr_fail(e, "out of memory");
    size_t k = 0;
    if (t->kind == TOK_BYTE) {
        for (size_t i = 0; i < n; i++) {
            int b = (unsigned char)text[i];
            if (b >= t->vocab) {
                free(out);
                return gr_fail(e, "byte 0x%02x at offset %zu is outside this model's vocabulary of %d ids", b, i, t->vocab);
            }
            out[k++] = b;
        }
    } else {
        /* a char model reads NFC: "e" + combining marks is the one letter "ệ" */
        StrBuf nfc;
        sb_init(&nfc);
        if (memchr(text, 0xCC, n) || memchr(text, 0xCD, n)) {
            tok_nfc(text, n, &nfc);
            if (nfc.s) text = nfc.s, n = nfc.len;
        }
        size_t i = 0;
        int line = 1, col = 1;
        while (i < n) {
            unsigned cp;
            int len = gr_utf8_decode(text + i, n - i, &cp);
            int id = char_id(t, cp);
            if (id < 0) {
                char shown[8] = {0};
                if (cp >= 32 && cp != 0xFFFD) gr_utf8_encode(cp, shown);
                free(out);
                sb_free(&nfc);
                return gr_fail(e, "character '%s' (U+%04X) at line %d, column %d is not in the model's vocabulary of %d "
                                  "characters (a model that reads it: new tiny vocab=vi, vocab=chars:FILE or vocab=bytes)",
                               shown[0] ? shown : "?", cp, line, col, t->nchars);
            }
            out[k++] = id;
            i += (size_t)len;
            if (cp == '\n') { line++; col = 1; } else col++;
        }
        sb_free(&nfc);
    }
    *ids = out;
    *nids = k;
    return 0;
}

void tok_decode(const Tokenizer *t, const int *ids, size_t n, StrBuf *out)
{
    for (size_t i = 0; i < n; i++) {
        int id = ids[i];
        if (t->kind == TOK_GPT2 && t->bpe) {
            size_t len;
            const char *p = bpe_token_bytes(t->bpe, id, &len);
            if (p) { sb_putn(out, p, len); continue; }
        } else if (t->kind == TOK_CHAR && id >= 0 && id < t->nchars) {
            char buf[4];
            sb_putn(out, buf, (size_t)gr_utf8_encode(t->chars[id], buf));
            continue;
        } else if (t->kind == TOK_BYTE && id >= 0 && id < 256) {
            sb_putc(out, (char)id);
            continue;
        }
        sb_printf(out, "<%d>", id);
    }
}

void tok_piece(const Tokenizer *t, int id, StrBuf *out)
{
    StrBuf raw;
    sb_init(&raw);
    tok_decode(t, &id, 1, &raw);
    size_t i = 0;
    while (i < raw.len) {
        unsigned cp;
        int k = gr_utf8_decode(raw.s + i, raw.len - i, &cp);
        if (cp == 0xFFFD && k == 1 && (unsigned char)raw.s[i] >= 0x80) sb_printf(out, "\\x%02x", (unsigned char)raw.s[i]);
        else if (cp == '\n') sb_puts(out, "\\n");
        else if (cp == '\t') sb_puts(out, "\\t");
        else if (cp == '\r') sb_puts(out, "\\r");
        else if (cp < 32 || cp == 127) sb_printf(out, "\\x%02x", cp);
        else sb_putn(out, raw.s + i, (size_t)k);
        i += (size_t)k;
    }
    sb_free(&raw);
}

char *tok_chars_utf8(const Tokenizer *t)
{
    if (t->kind != TOK_CHAR) return NULL;
    char *s = malloc((size_t)t->nchars * 4 + 1);
    if (!s) return NULL;
    size_t k = 0;
    for (int i = 0; i < t->nchars; i++) k += (size_t)gr_utf8_encode(t->chars[i], s + k);
    s[k] = 0;
    return s;
}

const char *tok_kind_name(const Tokenizer *t)
{
    return t->kind == TOK_GPT2 ? "gpt2 BPE" : t->kind == TOK_CHAR ? "char" : "byte";
}
