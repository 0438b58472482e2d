/* backward.h — backpropagation through the stages of stages.c, for every variant. */
#ifndef GR_BACKWARD_H
#define GR_BACKWARD_H

#include "trace.h"

/* Allocates m->grads, m->m, m->v (backend memory, zeroed) and points m->g into
 * m->grads. Buffers that already exist (a checkpoint with optimizer state) are kept. */
int model_alloc_train(Model *m, GrErr *e);
/* Zeroes m->grads (allocating the training buffers first if needed; no-op on failure). */
void model_zero_grad(Model *m);

/* Gradient buffers for the activations of one (B, T) shape, reused across steps. */
typedef struct BackScratch BackScratch;
BackScratch *back_scratch_new(const Model *m, int B, int T, GrErr *e);
void back_scratch_free(const Model *m, BackScratch *s);
size_t back_scratch_bytes(const GptConfig *c, int B, int T);

/* After a complete forward over a (acts_run; a whole run: K = T, p0 = 0), adds d(mean loss)/d(param) into m->grads
 * (accumulating: call model_zero_grad first for a fresh gradient). The mean is over the
 * a->n_targets counted targets (targets < 0 are ignored). Works for every variant.
 * Allocates the training buffers if needed, and a scratch for this call. */
int model_backward(Model *m, Acts *a, GrErr *e);
/* model_backward, and d(mean loss)/d(tensor) of the trace tensors into g (an Acts of a's
 * shape, used as storage): logits, lnf, each block's resid, ln2, mlp, gelu/relu, fc,
 * resid_mid, attn, ctx, pattern, scores (through softmax, mask and scale), q, k, v, qkv,
 * ln1, and embed. The others (the xhat's, masked, probs, losses) are not materialised by
 * the backward pass: their entries are left marked as not computed (stage -1). */
int model_backward_trace(Model *m, Acts *a, Acts *g, GrErr *e);
/* For a trace name's suffix ("masked", "ln1.xhat", "probs"): the gradient a fused step
 * forms in its place ("scores ...", "ln1", "logits ..."), or NULL if it has its own. */
const char *backward_fused_into(const char *suffix);
/* The same with a cached scratch of a's shape, adding loss_scale · d(mean loss)/d(param)
 * (loss_scale = 1/accum averages accumulated micro-batches). */
int model_backward_with(Model *m, Acts *a, BackScratch *s, float loss_scale, GrErr *e);

#endif
