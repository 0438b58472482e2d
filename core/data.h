/* data.h — training text as token ids: from ids, from a file, or a generated task;
 * split 90/10 into train and validation, sampled as batches of rows.
 *
 * core/ never prints: every failure is a one-line message in the caller's GrErr. */
#ifndef GR_DATA_H
#define GR_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "rng.h"
#include "tokenizer.h"

typedef struct {
    int *train;
    size_t ntrain;
    int *val;
    size_t nval;
    char name[128];
} Dataset;

/* Copies ids; the first 90% become train, the last 10% val. Fails on n < 2. */
int data_from_ids(Dataset *d, const int *ids, size_t n, const char *name, GrErr *e);
/* Reads and encodes a text file. Missing file, empty file and a character outside the
 * tokenizer's vocabulary (named, with its line and column) are one-line errors. */
int data_from_file(Dataset *d, const char *path, const Tokenizer *tok, GrErr *e);
/* A generated task (about 200k characters, text made with our Rng from `seed`):
 *   "copy"  lines "hbdaggce|hbdaggce\n" (8 random letters a-h, then repeated)
 *   "add"   lines "123+456=579\n"     (operands 0..999)
 *   "sort"  lines "dbca>abcd\n"       (4 to 8 random letters, then sorted)
 * encoded with tok (the default char vocabulary has every symbol they use). */
int data_task(Dataset *d, const char *task, const Tokenizer *tok, uint64_t seed, GrErr *e);
/* Names of the tasks, NULL-terminated, and as a choice list "copy|add|sort". */
const char *const *data_task_names(void);
const char *data_task_choices(void);
void data_free(Dataset *d);

/* B rows of T+1 consecutive tokens starting at uniform random offsets of the split
 * (val = 0: train, 1: val), drawn from r, into out (B*(T+1) ints). A split shorter than
 * T+1 tokens wraps around (callers check lengths first; trainer_new does). */
void data_batch(const Dataset *d, int val, int B, int T, Rng *r, int *out);

#endif
