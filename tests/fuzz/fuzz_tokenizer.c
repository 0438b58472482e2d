/* fuzz_tokenizer.c — the vocabulary loaders (core/bpe.c, core/tokenizer.c).
 *
 * The input splits at its first NUL byte: before it, encoder.json text; after it,
 * vocab.bpe text (both written to memory files for bpe_load). A vocabulary that loads
 * must keep bpe.h's promise decode(encode(x)) == x on a sample and on the input.
 * The whole input also goes to tok_init_chars and tok_build_chars (the char
 * tokenizer's vocabulary from a checkpoint and from a corpus). */
#include "fuzz_util.h"
#include "core/bpe.h"
#include "core/tokenizer.h"

static void roundtrip(const Bpe *b, const char *text, size_t n)
{
    int *ids = NULL;
    size_t nids = 0;
    GrErr e;
    if (bpe_encode(b, text, n, &ids, &nids, &e)) return;
    StrBuf out;
    sb_init(&out);
    if (bpe_decode(b, ids, nids, &out, &e) == 0 && (out.len != n || (n && memcmp(out.s, text, n)))) {
        fprintf(stderr, "bpe: decode(encode(x)) != x\n");
        abort();
    }
    size_t *ends = NULL, nw = 0;
    if (bpe_pretokenize(b, text, n, &ends, &nw, &e) == 0) {
        if (n && (nw == 0 || ends[nw - 1] != n)) abort();
        free(ends);
    }
    sb_free(&out);
    free(ids);
}

static void chars(const char *text, size_t n)
{
    Tokenizer t;
    GrErr e;
    if (tok_init_chars(&t, text, n, &e) == 0) {
        int *ids;
        size_t nids;
        if (tok_encode(&t, text, n, &ids, &nids, &e) == 0) {
            StrBuf out;
            sb_init(&out);
            tok_decode(&t, ids, nids, &out);
            for (size_t i = 0; i < nids && i < 64; i++) tok_piece(&t, ids[i], &out);
            sb_free(&out);
            free(ids);
        }
        char *u = tok_chars_utf8(&t);
        free(u);
        tok_free(&t);
    }
    if (tok_build_chars(&t, text, n, &e) == 0) {
        if (t.nchars < 1) abort();
        char *u = tok_chars_utf8(&t);
        Tokenizer t2;
        if (u && tok_init_chars(&t2, u, strlen(u), &e) == 0) {
            /* a built vocabulary reloads as itself (what a checkpoint stores) */
            if (t2.nchars != t.nchars) abort();
            tok_free(&t2);
        }
        free(u);
        tok_free(&t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20)) return 0;
    const char *text = (const char *)data;
    chars(text, size);
    const uint8_t *nul = memchr(data, 0, size);
    size_t n1 = nul ? (size_t)(nul - data) : size;
    FuzzFile enc, voc;
    fuzz_file_open(&enc, data, n1);
    fuzz_file_open(&voc, nul ? nul + 1 : data + size, nul ? size - n1 - 1 : 0);
    GrErr e = {{0}};
    Bpe *b = bpe_load(enc.path, voc.path, &e);
    if (b) {
        static const char sample[] = "Hello, world! The quick brown fox's 123 jumps\n\n  over\xff\xfe the lazy dog.";
        roundtrip(b, sample, sizeof sample - 1);
        roundtrip(b, text, size < 512 ? size : 512);
        if (bpe_vocab_size(b) < 256) abort();
        bpe_free(b);
    } else if (!e.msg[0]) {
        abort();
    }
    fuzz_file_close(&enc);
    fuzz_file_close(&voc);
    return 0;
}
