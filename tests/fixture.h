/* fixture.h — opens a PyTorch fixture pair from tests/fixtures (made by
 * tests/make_fixtures.py): NAME.safetensors, the model, and NAME.ref.safetensors, the
 * reference tensors. Include after harness.h; a failure counts as a failed CHECK. */
#ifndef GR_FIXTURE_H
#define GR_FIXTURE_H

#include "ckpt.h"
#include "safetensors.h"

/* The model, with *ref open; NULL (and nothing left open) on failure. */
static inline Model *fixture_open(const char *name, StFile *ref)
{
    char path[256], refp[256];
    snprintf(path, sizeof path, "tests/fixtures/%s.safetensors", name);
    snprintf(refp, sizeof refp, "tests/fixtures/%s.ref.safetensors", name);
    GrErr e = {{0}};
    Model *m = ckpt_load(path, &backend_cpu, NULL, &e);
    CHECK(m != NULL);
    if (!m) { fprintf(stderr, "%s\n", e.msg); return NULL; }
    if (st_open(ref, refp, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        CHECK(0);
        model_free(m);
        return NULL;
    }
    return m;
}

#endif
