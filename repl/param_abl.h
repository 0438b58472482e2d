/* param_abl.h — ablations of weights (param_abl.c): in place, restored bit for bit. */
#ifndef GR_PARAM_ABL_H
#define GR_PARAM_ABL_H

#include "session.h"

/* Does spec ("wte", "L0.attn.qkv.w[0:8]") name a parameter of the live model? */
int pabl_is_param(const Session *s, const char *spec);
/* Sets the chosen elements to zero or to their mean; keeps the old values. */
int pabl_add(Session *s, const char *spec, const char *mode, GrErr *e);
/* Restores spec's values: 1 done, 0 not ablated, -1 with why. */
int pabl_remove(Session *s, const char *spec, GrErr *e);
/* Restores every one, newest first; how many there were. */
int pabl_clear(Session *s);
/* Drops them without restoring (the model they changed is gone). */
void pabl_forget(Session *s);
/* -1 naming the first one when any is active ("train: L3.mlp.fc.w is ablated ..."). */
int pabl_refuse(const Session *s, const char *what, GrErr *e);
/* Swaps the live weights with the kept ones: to_clean 1 brings back the model's own
 * weights, 0 the ablated ones again (for a clean comparison). */
void pabl_swap(Session *s, int to_clean);

/* Trace and parameter ablations together: how many, and "L0.pattern[h=2] uniform",
 * "wte[v=3] zero (weights)" for the i-th (trace ones first). */
int abl_count(const Session *s);
void abl_describe(const Session *s, int i, char *buf, size_t n);

#endif
