/* gradcheck.h — backpropagation checked against central finite differences, the
 * backprop lesson's experiment: for entries of one parameter, compare d loss / d w from
 * model_backward with (L(w + h) - L(w - h)) / 2h from two forward passes.
 *
 * h = 1e-3: small enough that the curvature of LayerNorm at init (the residual stream's
 * rows have std ~0.02) does not bend the difference, large enough for fp32. The loss is
 * a float, so L(w ± h) move in steps of ulp(L) and the difference in steps of
 * ulp(L)/2h (about 2.4e-4 at L = 4.6): an entry passes when
 * |fd - g| <= 1e-2·|g| + 2·ulp(L)/2h. */
#ifndef GR_GRADCHECK_H
#define GR_GRADCHECK_H

#include "stages.h"

#define GRADCHECK_H 1e-3f
#define GRADCHECK_REL 1e-2

typedef struct {
    size_t index;      /* into the parameter, row-major */
    double analytic, numeric, err;
    double tol;        /* 1e-2·|g| + 2·ulp(L)/2h */
    int ok;
} GradCheckEntry;

/* n entries of parameter `name` (the largest |g| first, then random ones seeded by seed)
 * on the tokens (T of them, targets the next tokens) with the given trace ablations;
 * m's gradients are left as the backward of these tokens. out holds n entries. */
int gradcheck_param(Model *m, const int *tokens, int T, const Ablation *abl, int nabl, const char *name, int n,
                    uint64_t seed, GradCheckEntry *out, GrErr *e);

#endif
