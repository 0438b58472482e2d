/* trace.h — the trace: every intermediate of a forward pass, under a name.
 *
 * One table (trace.c) gives each name its shape, the stage that writes it, the kind of
 * numbers it holds, a one-line meaning and its equation. The activation buffers are laid
 * out from it, and `where`, `explain`, completion and the pictures' scales all read it;
 * stages.h runs the stages that fill it. */
#ifndef GR_TRACE_H
#define GR_TRACE_H

#include "model.h"

typedef enum {
    TS_TC,   /* (T, C) */
    TS_T3C,  /* (T, 3C) */
    TS_T4C,  /* (T, 4C) */
    TS_TV,   /* (T, V) */
    TS_HTD,  /* (H, T, hd): queries */
    TS_HKD,  /* (H, K, hd): keys and values; K = T in a whole run, the context in generation */
    TS_HTK,  /* (H, T, K): scores, masked, pattern */
    TS_T,    /* (T): LayerNorm statistics, kept for the backward pass */
    TS_TM1,  /* (T - 1): one per prediction (losses; the buffer holds T, the last 0) */
} TraceShape;

/* What a tensor's numbers are, so a picture can pick its scale (issue: scales that tell
 * the truth): probabilities in [0, 1] compare on a fixed scale, signed values centre on 0. */
typedef enum { TK_SIGNED, TK_PROB, TK_MASKED } TraceKind;

typedef struct TraceDef {
    const char *name;      /* "embed", or the suffix after "L{l}." */
    int per_layer;
    size_t off;            /* offsetof(Acts, ...) or offsetof(LayerActs, ...) */
    TraceShape shape;
    const char *stage;     /* the stage that writes it (stages.c's table) */
    unsigned when;         /* W_* bits the config must have */
    TraceKind kind;
    int hidden;            /* backward's statistics: not a name users see */
    const char *meaning;   /* one line */
    const char *equation;  /* as core/README.md writes it */
    const char *equation_post; /* Post-LN's, where it differs */
} TraceDef;

/* One block's activations; B rows of T tokens (k, v: K rows). */
typedef struct {
    float *ln1_xhat, *ln1;           /* (B, T, C) */
    float *ln1_mean, *ln1_rstd;      /* (B, T) */
    float *qkv;                      /* (B, T, 3C) */
    float *q;                        /* (B, H, T, hd) */
    float *k, *v;                    /* (B, H, K, hd) */
    float *scores, *masked, *pattern;/* (B, H, T, K) */
    float *ctx, *attn, *resid_mid;   /* (B, T, C) */
    float *ln2_xhat, *ln2;           /* (B, T, C)   mlp=on */
    float *ln2_mean, *ln2_rstd;      /* (B, T)      mlp=on */
    float *fc, *act;                 /* (B, T, 4C)  mlp=on; act is gelu or relu */
    float *mlp, *resid;              /* (B, T, C)   mlp=on */
} LayerActs;

typedef struct {
    char name[32];         /* "L0.pattern" */
    const TraceDef *def;
    int layer;             /* -1 outside the blocks */
    float *data;           /* backend memory */
    int ndim;
    int shape[TV_MAX_DIMS];  /* without the batch dimension */
    char dimname[TV_MAX_DIMS];
    size_t per_batch;      /* floats per batch row */
    int stage;             /* index of the stage that writes it, in Acts.stages */
} TraceEntry;

struct Stage;
struct Ablation;

/* The activations of B sequences and the forward pass over them, as a list of stages
 * with a cursor: `run` executes them all, `step` one at a time. */
typedef struct Acts {
    int B, T;                        /* B sequences of T query rows */
    int K;                           /* key rows per sequence (= T for a whole run) */
    int p0;                          /* absolute position of row 0 (generation) */
    int *tokens, *targets;           /* backend memory, B*T each; target -1 = none */
    int *tokens_host, *targets_host; /* host copies */
    float *embed;                    /* (B, T, C) */
    float *lnf_xhat, *lnf;           /* (B, T, C)   norm=pre */
    float *lnf_mean, *lnf_rstd;      /* (B, T)      norm=pre */
    float *logits, *probs;           /* (B, T, V) */
    float *losses;                   /* (B, T) */
    LayerActs *layer;                /* n_layer */
    float loss;                      /* mean over counted targets; NAN if none */
    int n_targets;
    TraceEntry *entries;
    int nentries;
    size_t bytes;                    /* activation memory */
    float *block;                    /* one allocation for all of it */
    /* the forward pass (stages.c) */
    Model *m;
    struct Stage *stages;
    int nstages;
    int next;                        /* index of the next stage to run */
    unsigned long epoch;             /* times the first stage has run (values computed from it are fresh for one epoch) */
    const struct Ablation *abl;      /* applied after the stage writing their target */
    int nabl;
    int fp32_only;                   /* ignore the model's precision (training, gradients) */
    int prec;                        /* the Precision the current epoch runs at (set by its first stage) */
} Acts;

/* The whole table, in forward order. */
const TraceDef *trace_defs(int *n);
/* A name as it would be in a run of this config ("L3.pattern"): its row and layer; -1 if
 * the config has no such tensor (a hidden statistic counts as none). */
int trace_lookup(const GptConfig *c, const char *name, const TraceDef **def, int *layer);
/* "(H, T, T)" for a row, in the letters of core/README.md. */
const char *trace_shape_str(const TraceDef *d);

/* Activations and stages for B sequences of T tokens (a whole run: K = T, p0 = 0). */
Acts *acts_new(Model *m, int B, int T, GrErr *e);
/* For generation: B sequences of T rows whose keys and values fill K rows (p0 set per step). */
Acts *acts_new_window(Model *m, int B, int T, int K, GrErr *e);
void acts_free(const Model *m, Acts *a);
/* A copy of a whole run, its tensors, tokens, loss and cursor (no ablations attached). */
Acts *acts_clone(const Acts *a, GrErr *e);
size_t acts_bytes(const GptConfig *c, int B, int T);
/* The entry named `name` (never a hidden one), or NULL. */
const TraceEntry *acts_find(const Acts *a, const char *name);
/* Has the stage that writes t run? */
int acts_computed(const Acts *a, const TraceEntry *t);
/* Sets tokens (B*T) and targets (next tokens within each row, last = -1 unless given). */
int acts_set_tokens(const Model *m, Acts *a, const int *tokens, const int *targets, GrErr *e);

#endif
