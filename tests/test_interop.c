/* test_interop.c — Hugging Face GPT-2 and llm.c checkpoints against PyTorch logits
 * (tests/make_interop_fixtures.py), llm.c write→read, and hostile .bin files. */
#include "harness.h"
#include "ckpt.h"
#include "interop.h"
#include "stages.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>

static double logits_diff(Model *m)
{
    GrErr e;
    StFile ref;
    if (st_open(&ref, "tests/fixtures/hf-tiny.ref.safetensors", &e)) return INFINITY;
    const StTensor *tt = st_find(&ref, "tokens"), *lt = st_find(&ref, "logits");
    int T = (int)tt->numel;
    int *tok = malloc(sizeof(int) * T);
    float *want = malloc(sizeof(float) * lt->numel);
    st_read_i32(&ref, tt, tok, &e);
    st_read_f32(&ref, lt, want, &e);
    Acts *a = acts_new(m, 1, T, &e);
    acts_set_tokens(m, a, tok, NULL, &e);
    acts_run(a, &e);
    double md = 0;
    for (size_t i = 0; i < lt->numel; i++) md = fmax(md, fabs((double)a->logits[i] - want[i]));
    acts_free(m, a);
    free(tok);
    free(want);
    st_close(&ref);
    return md;
}

TEST(huggingface_gpt2)
{
    GrErr e = {{0}};
    Model *m = ckpt_load("tests/fixtures/hf-tiny/model.safetensors", &backend_cpu, NULL, &e);
    CHECK(m != NULL);
    if (!m) { fprintf(stderr, "%s\n", e.msg); return; }
    CHECK(m->cfg.n_layer == 2 && m->cfg.n_head == 4 && m->cfg.d == 32 && m->cfg.vocab == 70 && m->cfg.ctx == 16);
    double d = logits_diff(m);
    printf("hf-tiny logits max abs diff vs PyTorch (float64): %.3g\n", d);
    CHECK(d < 1e-5);
    model_free(m);
}

TEST(llmc_load_and_roundtrip)
{
    GrErr e = {{0}};
    Model *m = ckpt_load("tests/fixtures/llmc-tiny.bin", &backend_cpu, NULL, &e);
    CHECK(m != NULL);
    if (!m) { fprintf(stderr, "%s\n", e.msg); return; }
    double d = logits_diff(m);
    printf("llmc-tiny logits max abs diff vs PyTorch: %.3g\n", d);
    CHECK(d < 1e-5);
    CHECK(llmc_save(m, "/tmp/gptrepl-rt.bin", &e) == 0);
    Model *m2 = ckpt_load("/tmp/gptrepl-rt.bin", &backend_cpu, NULL, &e);
    CHECK(m2 && m2->total == m->total && memcmp(m2->params, m->params, m->total * sizeof(float)) == 0);
    /* Byte-identical to the file PyTorch wrote: same layout, same padding. */
    FILE *a = fopen("tests/fixtures/llmc-tiny.bin", "rb"), *b = fopen("/tmp/gptrepl-rt.bin", "rb");
    int same = a && b;
    while (same) {
        int x = fgetc(a), y = fgetc(b);
        if (x != y) same = 0;
        if (x == EOF) break;
    }
    if (a) fclose(a);
    if (b) fclose(b);
    CHECK(same);
    model_free(m2);
    /* Non-GPT-2 configs cannot be written in llm.c's format. */
    GptConfig c;
    cfg_preset(&c, "tiny", &e);
    c.post_norm = 1;
    Model *pm = model_new(&c, &backend_cpu, &e);
    CHECK(llmc_save(pm, "/tmp/gptrepl-post.bin", &e) == -1 && strstr(e.msg, "Pre-LN"));
    model_free(pm);
    model_free(m);
}

static void write_bin(const char *path, const int32_t *hdr, size_t extra_floats)
{
    FILE *f = fopen(path, "wb");
    fwrite(hdr, 4, 256, f);
    float z = 0;
    for (size_t i = 0; i < extra_floats; i++) fwrite(&z, 4, 1, f);
    fclose(f);
}

TEST(hostile_llmc)
{
    GrErr e = {{0}};
    int32_t h[256] = {20240326, 3, 16, 70, 2, 4, 32, 128};
    write_bin("/tmp/gptrepl-h1.bin", h, 100); /* header fine, data truncated */
    CHECK(ckpt_load("/tmp/gptrepl-h1.bin", &backend_cpu, NULL, &e) == NULL && strstr(e.msg, "truncated"));
    h[1] = 7;
    write_bin("/tmp/gptrepl-h2.bin", h, 0);
    CHECK(ckpt_load("/tmp/gptrepl-h2.bin", &backend_cpu, NULL, &e) == NULL && strstr(e.msg, "version 7"));
    h[1] = 3;
    h[6] = 2000000000; /* absurd width */
    write_bin("/tmp/gptrepl-h3.bin", h, 0);
    CHECK(ckpt_load("/tmp/gptrepl-h3.bin", &backend_cpu, NULL, &e) == NULL && strstr(e.msg, "plausible"));
    h[6] = 32;
    h[7] = 10; /* padded vocab smaller than vocab */
    write_bin("/tmp/gptrepl-h4.bin", h, 0);
    CHECK(ckpt_load("/tmp/gptrepl-h4.bin", &backend_cpu, NULL, &e) == NULL);
    h[0] = 12345; /* wrong magic: not recognised as llm.c, and not safetensors either */
    write_bin("/tmp/gptrepl-h5.bin", h, 0);
    CHECK(ckpt_load("/tmp/gptrepl-h5.bin", &backend_cpu, NULL, &e) == NULL);
    CHECK(llmc_load("/tmp/gptrepl-h5.bin", &backend_cpu, &e) == NULL && strstr(e.msg, "magic"));
}

int main(void)
{
    RUN(huggingface_gpt2);
    RUN(llmc_load_and_roundtrip);
    RUN(hostile_llmc);
    return harness_done("interop");
}
