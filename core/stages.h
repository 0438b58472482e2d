/* stages.h — the forward pass as a list of stages over an Acts, and ablation.
 *
 * The block wiring is written once, as stages.c's table: `run` executes every stage,
 * `step` one, training runs them with B > 1, and generation runs them over one new
 * row at a time with the keys and values of earlier rows kept (the KV cache is the
 * trace's own k and v). There is no second "teaching" or "decoding" implementation that
 * could drift, so an ablation means the same thing in all of them. */
#ifndef GR_STAGES_H
#define GR_STAGES_H

#include "trace.h"

typedef struct Stage {
    char name[32];       /* "embed", "L0.ln1.xhat", "L0.heads", ... */
    int layer;           /* -1 outside the blocks */
    const struct StageDef *def;
    int ahead;           /* the next stage that is a matrix product, -1: none */
} Stage;

/* How an ablation replaces a tensor right after the stage that writes it. */
typedef enum {
    ABL_ZERO,      /* all zeros */
    ABL_MEAN,      /* every position replaced by the mean over the run's positions */
    ABL_IDENTITY,  /* q, k or v = the projection's input itself (W = I, b = 0) */
    ABL_COPY,      /* a copy of another tensor of the same shape, computed earlier */
    ABL_UNIFORM,   /* attention patterns: 1/(i+1) over the causal past of query i */
} AblMode;

typedef struct Ablation {
    char target[32];     /* a trace name, without the restriction below */
    AblMode mode;
    char other[32];      /* ABL_COPY: the tensor copied */
    const struct Acts *src; /* ABL_COPY from another run (a patch: `other` of that run); NULL: this one */
    /* restrictions; a zeroed Ablation is the whole tensor */
    int only_head, head; /* one head of q, k, v, scores, masked, pattern or ctx */
    int only_pos, pos;   /* one (absolute) position */
} Ablation;

/* "L0.pattern", "L0.pattern[h=2]", "L0.ctx[h=1,t=3]" → target, head, pos; -1 with why. */
int abl_parse_target(Ablation *ab, const char *spec, GrErr *e);
/* The name as the user writes it: target and restriction ("L0.pattern[h=2]"). */
void abl_name(const Ablation *ab, char *buf, size_t n);

/* The modes as `ablate` names them, in AblMode order ("zero|mean|identity|copy|uniform"). */
const char *abl_mode_choices(void);
/* One line each: what the mode does. */
const char *abl_mode_help(AblMode m);
/* Can the ablation be applied one new position at a time (generation with the KV cache)?
 * A mean over this run's positions needs every position at once; mean:RUN's is fixed. */
int abl_incremental(const Ablation *ab);
/* Is it a patch (patch TENSOR from RUN): a copy of the same tensor of another run? */
int abl_is_patch(const Ablation *ab);
/* Whether ablating target this way is allowed and has an effect; -1 with the reason if not. */
int acts_check_ablation(const Acts *a, const Ablation *ab, GrErr *e);

/* The backward pass through an ablation: may it, and d (the gradient of ab's target, in
 * the tensor's layout) becomes the gradient of what the ablation replaced. */
int abl_backward_ok(const Ablation *ab, GrErr *e);
void abl_backward(const Acts *a, const Ablation *ab, float *d);

/* Builds a->stages for a's model (acts_new does it). */
int stages_build(Acts *a, GrErr *e);
/* Runs the next stage (and the ablations of what it wrote); returns its index, -1 when done. */
int acts_step(Acts *a);
/* Before a run's first stage: the weights' bf16 / int8 copies made if stale (acts_run
 * calls it; a caller stepping by itself calls it at stage 0). */
int acts_prepare(Acts *a, GrErr *e);
/* out (N, OC) = x·wᵀ + b at the run's precision (w: a parameter; its copy when reduced). */
void acts_matmul(const Acts *a, float *out, const float *x, const float *w, const float *b, int N, int IC, int OC);
/* Runs the remaining stages; then the backend's status: -1 with its message if an op failed. */
int acts_run(Acts *a, GrErr *e);
/* Runs the remaining stages before the one named `stop` ("probs": the logits are enough). */
int acts_run_until(Acts *a, const char *stop, GrErr *e);
void acts_rewind(Acts *a);
/* Index of the stage called name ("L0.pattern"), or -1. */
int acts_stage_index(const Acts *a, const char *name);
/* The trace entries a stage writes: out[] gets up to max of them; returns how many. */
int acts_stage_outputs(const Acts *a, int stage, const TraceEntry **out, int max);
/* One line: what the stage computes; and as a short formula (the `model` diagram). */
const char *stage_meaning(const Stage *s);
const char *stage_formula(const Stage *s);

/* The residual stream entering block l (l = n_layer: the last block's output), and the
 * hidden state the unembedding reads: the wiring backward.c follows too. */
float *acts_block_in(const Acts *a, int l);
float *acts_final_hidden(const Acts *a);

#endif
