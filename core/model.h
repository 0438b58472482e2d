/* model.h — configuration, parameters, the forward stages and the trace.
 *
 * The exact contract (names, shapes, formulas) is core/README.md. */
#ifndef GR_MODEL_H
#define GR_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "tensor.h"
#include "backend.h"

enum { TOK_BYTE, TOK_CHAR, TOK_GPT2 };

typedef struct {
    char preset[32];
    int n_layer, n_head, d, ctx, vocab;
    int post_norm;   /* 0: Pre-LN (GPT-2), 1: Post-LN (original Transformer) */
    int tie;         /* logits = h·wteᵀ */
    int relu;        /* 0: GELU (tanh form), 1: ReLU */
    int pos;         /* learned position embedding */
    int mlp;         /* MLP sublayer present */
    int logit_scale; /* logits /= √d */
    int tokenizer;   /* TOK_* */
} GptConfig;

/* Presets: gpt2, gpt2-medium, gpt2-large, gpt2-xl, tiny, one-head. */
int cfg_preset(GptConfig *c, const char *name, GrErr *e);
const char *const *cfg_preset_names(void);
/* key=value override: layers heads d ctx vocab norm tie act pos mlp logit_scale. */
int cfg_set(GptConfig *c, const char *key, const char *val, GrErr *e);
int cfg_validate(const GptConfig *c, GrErr *e);
const char *const *cfg_keys(void);

/* ---- parameters: one buffer, named views (llm.c style) ---- */

enum { PG_EMBED, PG_ATTN, PG_MLP, PG_LN, PG_HEAD, PG_COUNT };

typedef struct {
    char name[32];
    int ndim;
    int shape[2];
    size_t offset, numel;  /* in floats, into the parameter buffer */
    int layer;             /* -1 for embeddings, lnf, head */
    int group;             /* PG_* for `params` */
    int decay;             /* weight decay applies (rank ≥ 2) */
} ParamInfo;

/* Per-layer parameter pointers (into whichever buffer: params, grads, moments). */
typedef struct {
    float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb;
    float *ln2w, *ln2b, *fcw, *fcb, *fcprojw, *fcprojb;
} LayerParams;

typedef struct {
    float *wte, *wpe, *lnfw, *lnfb, *lm_head;
    LayerParams *layer;    /* n_layer entries */
} ParamPtrs;

typedef struct Model {
    GptConfig cfg;
    const Backend *be;
    int nparams;
    ParamInfo *info;
    size_t total;          /* floats */
    float *params;         /* backend memory, total floats */
    ParamPtrs p;
    /* training state (allocated lazily by the trainer; NULL until then) */
    float *grads, *m, *v;
    ParamPtrs g;
    long step;
} Model;

int model_layout(const GptConfig *c, ParamInfo **info, int *n, size_t *total, GrErr *e);
Model *model_new(const GptConfig *c, const Backend *be, GrErr *e);  /* zeroed parameters */
void model_free(Model *m);
/* GPT-2 init from a seeded RNG (core/README.md). */
void model_init_random(Model *m, uint64_t seed);
const ParamInfo *model_find_param(const Model *m, const char *name);
/* Fills ptrs with views into buf (a params-sized buffer). */
void model_param_ptrs(const Model *m, float *buf, ParamPtrs *ptrs);
/* Bytes needed by the parameters, and a rough count for training (params+grads+2 moments). */
size_t cfg_param_count(const GptConfig *c);
/* Moves the model to another backend (copies parameters and optimizer state). */
int model_to_backend(Model *m, const Backend *be, GrErr *e);
/* Host copy of one parameter (for show/hist on any backend): returns a view valid until the next call. */
int model_param_view(Model *m, const char *name, TensorView *out, GrErr *e);
size_t model_mem_available(void);

/* ---- activations: one set of buffers per (B, T), named for the trace ---- */

typedef struct {
    float *ln1_xhat, *ln1, *ln1_mean, *ln1_rstd, *qkv, *q, *k, *v, *scores, *masked, *pattern;
    float *ctx, *attn, *resid_mid;
    float *ln2_xhat, *ln2, *ln2_mean, *ln2_rstd, *fc, *act, *mlp, *resid;
} LayerActs;

typedef struct {
    char name[32];
    float *data;           /* backend memory */
    int ndim;
    int shape[TV_MAX_DIMS];  /* without the batch dimension */
    char dimname[TV_MAX_DIMS];
    size_t per_batch;      /* floats per batch row */
} TraceEntry;

typedef struct {
    int B, T;
    int *tokens, *targets;           /* backend memory, B*T each; target -1 = none */
    int *tokens_host, *targets_host; /* host copies */
    float *embed, *lnf_xhat, *lnf, *lnf_mean, *lnf_rstd, *logits, *probs, *losses;
    LayerActs *layer;
    float loss;                      /* mean over counted targets; NAN if none */
    int n_targets;
    TraceEntry *entries;
    int nentries;
    size_t bytes;                    /* activation memory */
    float *block;                    /* one allocation for all of it */
} Acts;

/* Allocates activations for B sequences of T tokens. */
Acts *acts_new(const Model *m, int B, int T, GrErr *e);
void acts_free(const Model *m, Acts *a);
size_t acts_bytes(const GptConfig *c, int B, int T);
const TraceEntry *acts_find(const Acts *a, const char *name);

/* ---- the forward pass as a list of stages ---- */

typedef struct Ablation {
    char target[32];
    int mode;            /* ABL_* */
    char other[32];      /* copy:OTHER */
} Ablation;
enum { ABL_ZERO, ABL_MEAN, ABL_IDENTITY, ABL_COPY };

typedef struct Forward Forward;
typedef void (*StageFn)(Forward *f, int layer);

typedef struct {
    char name[32];       /* "embed", "L0.ln1", "L0.qkv", ... */
    int layer;           /* -1 outside the blocks */
    StageFn fn;
    char outputs[4][32]; /* trace names it writes */
    int nout;
} Stage;

struct Forward {
    Model *m;
    Acts *a;
    Stage *stages;
    int nstages;
    int next;                 /* index of the next stage to run */
    const Ablation *abl;      /* ablations applied after the stage writing their target */
    int nabl;
};

/* Builds the stage list for a's shapes. Tokens and targets must already be set. */
int fwd_init(Forward *f, Model *m, Acts *a, GrErr *e);
void fwd_free(Forward *f);
/* Runs the next stage; returns the index it ran, or -1 when finished. */
int fwd_step(Forward *f);
/* Runs to the end. */
void fwd_run(Forward *f);
/* Sets tokens (B*T) and targets (next tokens within each row, last = -1 unless given). */
int acts_set_tokens(const Model *m, Acts *a, const int *tokens, const int *targets, GrErr *e);
/* Applies ablations to the model's validated names: checks target/other exist. */
int fwd_check_ablation(const Model *m, const Acts *a, const Ablation *ab, GrErr *e);

#endif
