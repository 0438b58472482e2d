/* lens.h — the logit lens: what the model would predict if it stopped after the
 * embedding or after block l, read through the final LayerNorm and the unembedding.
 *
 * Depth d = 0 reads the embedding, d = l + 1 the output of block l; d = n_layer is the
 * forward pass's own last hidden state, and the lens there runs the same backend ops in
 * the same order as the lnf, logits and probs stages, so its row equals `probs` bit for
 * bit. Post-LN models have no final LayerNorm (each block ends with one): the lens is the
 * unembedding alone. The residual stream is read as the run left it (ablations in force). */
#ifndef GR_LENS_H
#define GR_LENS_H

#include "trace.h"

/* Probabilities (T, V) in host memory at depth 0..n_layer for batch row 0 of a finished
 * run; logits (T, V) too when not NULL. */
int lens_probs(const Acts *a, int depth, float *probs, float *logits, GrErr *e);

#endif
