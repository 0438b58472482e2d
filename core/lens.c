/* lens.c — the logit lens (lens.h): the last stages of the forward pass, applied to an
 * earlier residual stream. */
#include "lens.h"

#include <math.h>

#include "backend.h"
#include "stages.h"

int lens_probs(const Acts *a, int depth, float *probs, float *logits, GrErr *e)
{
    const Model *m = a->m;
    const GptConfig *c = &m->cfg;
    const Backend *be = m->be;
    if (depth < 0 || depth > c->n_layer)
        return gr_fail(e, "lens: depth %d is not in 0..%d (embedding, then after each block)", depth, c->n_layer);
    if (a->next < a->nstages) return gr_fail(e, "lens: the run has not finished (continue runs the rest)");
    int T = a->T, C = c->d, V = c->vocab;
    size_t tc = (size_t)T * C, tv = (size_t)T * V;
    /* one device block: xhat, h (T, C), mean, rstd (T), logits, probs (T, V) */
    float *blk = be->alloc(sizeof(float) * (2 * tc + 2 * (size_t)T + 2 * tv));
    if (!blk) return gr_fail(e, "lens: out of memory for %d × %d logits", T, V);
    float *xhat = blk, *h = xhat + tc, *mean = h + tc, *rstd = mean + T, *lg = rstd + T, *pr = lg + tv;
    const float *x = acts_block_in(a, depth); /* batch row 0 is the first T rows */
    if (!c->post_norm) {
        be->norm(xhat, mean, rstd, x, T, C);
        be->affine(h, xhat, m->p.lnfw, m->p.lnfb, T, C);
        x = h;
    }
    acts_matmul(a, lg, x, c->tie ? m->p.wte : m->p.lm_head, NULL, T, C, V); /* at the run's precision */
    if (c->logit_scale) be->scale(lg, 1.0f / sqrtf((float)C), tv);
    be->softmax(pr, lg, T, V);
    char msg[200];
    if (be->status(msg, sizeof msg)) {
        be->free(blk);
        return gr_fail(e, "lens: %s", msg);
    }
    be->download(probs, pr, sizeof(float) * tv);
    if (logits) be->download(logits, lg, sizeof(float) * tv);
    be->free(blk);
    return 0;
}
