/* fuzz_safetensors.c — bytes → a file → st_open (reading every tensor it lists) and
 * ckpt_load (our checkpoints, Hugging Face GPT-2 and, by magic, llm.c). A file may
 * make the loader allocate about as much as it holds, never more: libFuzzer's
 * -malloc_limit_mb (run.sh) turns a larger allocation into a crash. */
#include "fuzz_util.h"
#include "core/ckpt.h"
#include "core/safetensors.h"

static void read_all(const char *path)
{
    StFile f;
    GrErr e = {{0}};
    if (st_open(&f, path, &e)) {
        if (!e.msg[0]) abort();
        return;
    }
    for (int i = 0; i < f.n; i++) {
        const StTensor *t = &f.t[i];
        if (t->end > f.data_len || t->begin > t->end) abort(); /* st_open promised this */
        void *buf = malloc(t->numel * sizeof(float) + 1);
        if (!buf) continue;
        GrErr re;
        if (t->dtype == ST_I32 || t->dtype == ST_I64) st_read_i32(&f, t, buf, &re);
        else st_read_f32(&f, t, buf, &re);
        free(buf);
        if (st_find(&f, t->name) == NULL) abort();
    }
    (void)st_meta(&f, "format");
    st_close(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzFile ff;
    fuzz_file_open(&ff, data, size);
    read_all(ff.path);
    CkptExtra ex;
    GrErr e = {{0}};
    Model *m = ckpt_load(ff.path, &backend_cpu, &ex, &e);
    if (m) {
        if (m->total == 0 || m->cfg.d < 1 || m->cfg.n_layer < 1) abort();
        model_free(m);
        free(ex.chars);
    } else if (!e.msg[0]) {
        abort();
    }
    fuzz_file_close(&ff);
    return 0;
}
