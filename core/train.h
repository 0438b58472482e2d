/* train.h — the trainer (AdamW, clipping, schedule, accumulation); backpropagation is backward.h.
 *
 * The trainer is stepwise: the REPL owns the loop and prints; core never prints.
 * Losses, AdamW and the parameter layout are specified in core/README.md. */
#ifndef GR_TRAIN_H
#define GR_TRAIN_H

#include <stdint.h>
#include "common.h"
#include "data.h"
#include "backward.h"
#include "stages.h"

/* ---------------- trainer (core/train.c) ---------------- */

typedef struct {
    int batch;         /* rows per micro-batch (B) */
    int ctx;           /* tokens per row (T); 0 = the model's ctx */
    float lr, min_lr;  /* peak and final learning rate */
    int warmup;        /* linear warmup steps */
    int steps;         /* the cosine reaches min_lr at this optimizer step; 0 = constant lr */
    float wd, b1, b2, eps;
    float clip;        /* global gradient-norm clip; 0 = off */
    int accum;         /* micro-batches per optimizer step */
    int eval_every;    /* for the REPL's loop: evaluate every this many steps (0 = never) */
    int eval_batches;  /* batches trainer_eval averages over */
    uint64_t seed;     /* batch sampling */
} TrainCfg;

/* The options a user sets (`train N --lr 3e-4`), with their ranges and defaults: the REPL's
 * parser, help and completion read this table, and train_cfg_validate checks against it. */
const FieldDef *train_options(void);

/* lr 1e-3, min_lr 1e-4, warmup 0, steps 1000, wd 0.1, b1 0.9, b2 0.95, eps 1e-8, clip 1,
 * accum 1, batch 16, ctx 0 (the model's), eval_every 50, eval_batches 8, seed 1. */
void train_cfg_default(TrainCfg *c);
/* Checks every field against itself and the model; m may be NULL (skips ctx vs model). */
int train_cfg_validate(const TrainCfg *c, const Model *m, GrErr *e);
/* Learning rate for optimizer step `step` (0-based: the model's m->step before the
 * update): linear warmup to lr over `warmup` steps, then cosine from lr to min_lr
 * reaching it at `steps`, min_lr after. Constant lr when steps <= warmup or min_lr == lr. */
float train_lr_at(const TrainCfg *c, long step);

typedef struct Trainer Trainer;

/* A trainer for m on d (d may be NULL: then only trainer_step_rows works). Allocates
 * the training buffers, the activations for (batch, ctx), the backward scratch and a
 * copy of the weights and moments to roll back to (skipped when memory is short);
 * checks the data is long enough and its ids fit the model's vocabulary. The model and
 * the dataset must outlive the trainer; make a new trainer after moving the model to
 * another backend or changing its weights outside the trainer. */
Trainer *trainer_new(Model *m, const TrainCfg *c, const Dataset *d, GrErr *e);

typedef struct {
    long step;         /* m->step after this step */
    float loss;        /* mean training loss of the step's batch (before the update) */
    float lr;          /* learning rate used */
    float grad_norm;   /* global gradient norm before clipping */
    double ms;         /* wall time of the step */
    double tok_s;      /* tokens per second (batch · ctx · accum / time) */
    int nonfinite;     /* NaN or inf in the loss, the gradient or the updated weights: rolled back */
} StepInfo;

/* One optimizer step: accum micro-batches sampled from the train split with an Rng
 * seeded from (seed, m->step), so training is a function of the step count: 10 steps
 * equal 5 steps + save + load + 5 steps bit for bit (same build and thread count).
 * On a NaN or inf loss or gradient: restores the parameters, AdamW moments and m->step
 * to the last good state — the one before the last update whose loss and gradient were
 * finite (that update may be what produced the bad weights) — sets out->nonfinite and
 * returns -1 with a one-line message. An update that itself makes a weight inf or NaN
 * is undone at once (back to the start of this step). */
int trainer_step(Trainer *t, StepInfo *out, GrErr *e);
/* The same step on given rows: accum·batch rows of ctx+1 token ids (inputs are the
 * first ctx of a row, targets the last ctx). */
int trainer_step_rows(Trainer *t, const int *rows, StepInfo *out, GrErr *e);
/* Mean validation loss over eval_batches fixed batches (the same ones every call;
 * rows shorten to fit a short validation split). NAN when there is no usable split. */
float trainer_eval(Trainer *t);
const TrainCfg *trainer_cfg(const Trainer *t);
void trainer_free(Trainer *t);

#endif
