/* fuzz_llmc.c — llm.c model files (core/interop.c): bytes → a file → llmc_is_bin and
 * llmc_load. The header's sizes are checked against the file's size before anything is
 * allocated; a loaded model must run a forward pass over two tokens. */
#include "fuzz_util.h"
#include "core/interop.h"
#include "core/stages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzFile ff;
    fuzz_file_open(&ff, data, size);
    (void)llmc_is_bin(ff.path);
    GrErr e = {{0}};
    Model *m = llmc_load(ff.path, &backend_cpu, &e);
    if (m) {
        if (m->cfg.d > 64 || m->cfg.n_layer > 4 || m->cfg.ctx < 2) {
            model_free(m); /* loading was the point; a big forward pass would only be slow */
        } else {
            Acts *a = acts_new(m, 1, 2, &e);
            if (a) {
                int ids[2] = {0, m->cfg.vocab - 1};
                if (acts_set_tokens(m, a, ids, NULL, &e) == 0) acts_run(a, &e);
                acts_free(m, a);
            }
            model_free(m);
        }
    } else if (!e.msg[0]) {
        abort();
    }
    fuzz_file_close(&ff);
    return 0;
}
