/* model.h — the parameters: one buffer, named views placed from one table (llm.c's ptrs[]).
 *
 * The exact contract (names, shapes, init) is core/README.md. The forward pass and its
 * trace are trace.h and stages.h; training is train.h and backward.h. */
#ifndef GR_MODEL_H
#define GR_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "backend.h"
#include "common.h"
#include "config.h"
#include "quant.h"
#include "tensor.h"

/* Parameter groups, for `params`. */
enum { PG_EMBED, PG_ATTN, PG_MLP, PG_LN, PG_HEAD, PG_COUNT };

typedef struct {
    char name[32];         /* "wte", "L3.attn.qkv.w" */
    int ndim;
    int shape[2];
    size_t offset, numel;  /* in floats, into the parameter buffer */
    int layer;             /* -1 for embeddings, lnf, head */
    int group;             /* PG_* */
    int decay;             /* weight decay applies (rank ≥ 2) */
    int init;              /* how model_init_random draws it (model.c's table) */
    char dimname[2];       /* 'v' vocab, 't' position, 'c' channel, 0 none (for slices like wte[v=3]) */
    int matmul;            /* a matrix product reads it: `set precision` keeps a bf16 / int8 copy */
} ParamInfo;

/* One block's parameters, as pointers into whichever buffer (params, grads, moments). */
typedef struct {
    float *ln1w, *ln1b;        /* (C), (C) */
    float *qkvw, *qkvb;        /* (3C, C), (3C): rows 0..C-1 → q, C..2C-1 → k, 2C.. → v */
    float *projw, *projb;      /* (C, C), (C) */
    float *ln2w, *ln2b;        /* (C), (C)        mlp=on */
    float *fcw, *fcb;          /* (4C, C), (4C)   mlp=on */
    float *fcprojw, *fcprojb;  /* (C, 4C), (C)    mlp=on */
} LayerParams;

typedef struct {
    float *wte;                /* (V, C) */
    float *wpe;                /* (ctx, C)        pos=learned */
    float *lnfw, *lnfb;        /* (C), (C)        norm=pre */
    float *lm_head;            /* (V, C)          tie=off */
    LayerParams *layer;        /* n_layer entries */
} ParamPtrs;

/* The training history since `new` or `load`: kept with the weights (saved in
 * checkpoints as history.loss and history.val), so a loss chart shows all of it. */
typedef struct {
    float *loss;           /* (n): training loss of optimizer steps step0+1 .. step0+n */
    int n, cap;
    long step0;            /* the step count when the history began */
    float *val;            /* (nval, 2): step, validation loss */
    int nval, vcap;
} LossHistory;

typedef struct Model {
    GptConfig cfg;
    const Backend *be;
    int nparams;
    ParamInfo *info;       /* nparams entries, in buffer order */
    size_t total;          /* floats */
    float *params;         /* backend memory, total floats */
    ParamPtrs p;
    /* training state (allocated lazily by the trainer; NULL until then) */
    float *grads, *m, *v;  /* total floats each */
    ParamPtrs g;           /* views into grads */
    long step;             /* optimizer steps taken */
    LossHistory hist;
    int unsaved;           /* trained since the last save or load */
    /* inference precision (model_prec.c): the fp32 weights above are never changed by it */
    Precision prec;        /* what runs and generation use; training is always fp32 */
    QWeight *qw;           /* nparams entries: the copy of each matmul weight at prec (type fp32: none) */
    unsigned long wgen;    /* bumped by model_weights_changed */
    unsigned long qgen;    /* the wgen qw was made from */
} Model;

/* Names, shapes and places of every parameter of c (cfg_validate first). */
int model_layout(const GptConfig *c, ParamInfo **info, int *n, size_t *total, GrErr *e);
Model *model_new(const GptConfig *c, const Backend *be, GrErr *e);  /* zeroed parameters */
void model_free(Model *m);
/* GPT-2 init from a seeded RNG (core/README.md). */
void model_init_random(Model *m, uint64_t seed);
const ParamInfo *model_find_param(const Model *m, const char *name);
/* Fills ptrs with views into buf (a params-sized buffer); ptrs->layer must hold n_layer. */
void model_param_ptrs(const Model *m, float *buf, ParamPtrs *ptrs);
/* Moves the model to another backend (copies parameters and optimizer state). */
int model_to_backend(Model *m, const Backend *be, GrErr *e);
/* Appends to the history (0, or -1 when out of memory: the point is dropped). */
int model_hist_loss(Model *m, float loss);
int model_hist_val(Model *m, long step, float val);

/* ---- inference precision (model_prec.c) ---- */
/* Keeps a copy of every matmul weight at p (fp32: frees them). The backend must have
 * matmul_q. -1 with one line (out of memory, no kernels on this backend): nothing changed. */
int model_set_precision(Model *m, Precision p, GrErr *e);
/* Every write to the parameters calls this: the copies are remade before the next run at
 * a reduced precision. */
void model_weights_changed(Model *m);
/* Remakes stale copies (a run at m->prec calls it first). */
int model_precision_ready(Model *m, GrErr *e);
/* The copy the product of weight w (a pointer to a parameter's first element) reads, or
 * NULL when it has none (fp32). */
const QWeight *model_qweight(const Model *m, const float *w);
/* Where the product of weight w reads it at precision p (the copy, else w itself) and
 * how many bytes of weights it reads (scales not counted); NULL, 0 when w starts no
 * parameter. */
const void *model_stored_weight(const Model *m, Precision p, const float *w, size_t *bytes);
/* Bytes generation reads per token at B = 1 at precision p: every matmul weight as
 * stored (scales included), the other parameters in fp32 except the lookups (wpe, and wte
 * when it is not the unembedding: one row each). */
double model_bytes_per_token(const Model *m, Precision p);
/* Bytes per matmul weight at p, scales included, averaged over those weights. */
double model_bytes_per_weight(const Model *m, Precision p);

/* Host copy of one parameter (for show/hist on any backend): returns a view valid until the next call. */
int model_param_view(Model *m, const char *name, TensorView *out, GrErr *e);

#endif
