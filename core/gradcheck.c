/* gradcheck.c — finite differences against model_backward (gradcheck.h). */
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backward.h"
#include "rng.h"

/* The loss of one forward pass over a (rewound), in double. */
static double loss_of(Acts *a, GrErr *e, int *rc)
{
    acts_rewind(a);
    *rc = acts_run(a, e);
    return a->loss;
}

int gradcheck_param(Model *m, const int *tokens, int T, const Ablation *abl, int nabl, const char *name, int n,
                    uint64_t seed, GradCheckEntry *out, GrErr *e)
{
    const ParamInfo *p = model_find_param(m, name);
    if (!p) return gr_fail(e, "gradcheck: unknown parameter '%s'", name);
    if (T < 2) return gr_fail(e, "gradcheck: the run needs two tokens or more (one prediction)");
    if (n < 1 || (size_t)n > p->numel) return gr_fail(e, "gradcheck: %d entries asked, '%s' has %zu", n, name, p->numel);
    Acts *a = acts_new(m, 1, T, e);
    if (!a) return -1;
    a->fp32_only = 1; /* gradients are of the fp32 model */
    int rc = acts_set_tokens(m, a, tokens, NULL, e);
    a->abl = abl;
    a->nabl = nabl;
    if (!rc) rc = acts_run(a, e);
    if (!rc) {
        model_zero_grad(m);
        rc = model_backward(m, a, e);
    }
    float *g = rc ? NULL : malloc(sizeof(float) * p->numel);
    if (!rc && !g) rc = gr_fail(e, "gradcheck: out of memory");
    if (!rc) m->be->download(g, m->grads + p->offset, sizeof(float) * p->numel);
    /* the largest |g| first (where a wrong gradient shows), then random entries */
    Rng r;
    rng_seed(&r, seed);
    int nbig = n / 2;
    for (int k = 0; k < n && !rc; k++) {
        size_t idx = 0;
        if (k < nbig) {
            double bv = -1;
            for (size_t j = 0; j < p->numel; j++) {
                int used = 0;
                for (int q = 0; q < k && !used; q++) used = out[q].index == j;
                if (!used && fabs(g[j]) > bv) bv = fabs(g[j]), idx = j;
            }
        } else {
            idx = (size_t)rng_below(&r, p->numel);
        }
        float *dev = m->params + p->offset + idx, x0, xp, xm;
        m->be->download(&x0, dev, sizeof x0);
        xp = x0 + GRADCHECK_H, xm = x0 - GRADCHECK_H;
        model_weights_changed(m);
        m->be->upload(dev, &xp, sizeof xp);
        double lp = loss_of(a, e, &rc);
        m->be->upload(dev, &xm, sizeof xm);
        double lm = rc ? 0 : loss_of(a, e, &rc);
        m->be->upload(dev, &x0, sizeof x0); /* exactly as it was */
        double fd = (lp - lm) / ((double)xp - (double)xm), an = g[idx];
        float L = a->loss;
        double ulp = (double)nextafterf(L, INFINITY) - L;
        out[k] = (GradCheckEntry){.index = idx, .analytic = an, .numeric = fd, .err = fabs(fd - an)};
        out[k].tol = GRADCHECK_REL * fabs(an) + 2 * ulp / ((double)xp - (double)xm);
        out[k].ok = out[k].err <= out[k].tol;
    }
    free(g);
    acts_free(m, a);
    return rc;
}
