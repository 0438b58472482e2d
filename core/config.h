/* config.h — what a model is: GptConfig, the presets, and the one table of its keys.
 *
 * The key table (cfg_keys) is the single description of the config: `new tiny
 * layers=2 norm=post` parses through it, `help new` and Tab completion list it,
 * checkpoints write and read their metadata with it, and `model` prints it. */
#ifndef GR_CONFIG_H
#define GR_CONFIG_H

#include <stddef.h>
#include "common.h"
#include "field.h"
#include "tokenizer.h"

typedef struct {
    char preset[32];
    int n_layer, n_head, d, ctx, vocab; /* L, H, C, longest T, V */
    int post_norm;   /* 0: Pre-LN (GPT-2), 1: Post-LN (original Transformer) */
    int tie;         /* logits = h·wteᵀ */
    int relu;        /* 0: GELU (tanh form), 1: ReLU */
    int pos;         /* learned position embedding */
    int mlp;         /* MLP sublayer present */
    int logit_scale; /* logits /= √d */
    int tokenizer;   /* TOK_* */
} GptConfig;

/* The keys of `new PRESET key=value`, in the order `model` shows them (NULL-terminated).
 * `vocab` also takes chars, bytes and gpt2 (and chars:FILE, which the REPL reads). */
const FieldDef *cfg_keys(void);
/* The tokenizer key of checkpoint metadata (byte, char, gpt2). */
const FieldDef *cfg_tokenizer_key(void);

/* Presets: gpt2, gpt2-medium, gpt2-large, gpt2-xl, tiny, one-head. */
int cfg_preset(GptConfig *c, const char *name, GrErr *e);
/* "gpt2|gpt2-medium|...": the preset names as a choice list. */
const char *cfg_preset_choices(void);
/* key=value; errors name the key and what it takes ("layers must be between 1 and 4096, not 0"). */
int cfg_set(GptConfig *c, const char *key, const char *val, GrErr *e);
/* The value of a key as `new` would take it back ("post", "12"). */
void cfg_get(const GptConfig *c, const char *key, StrBuf *out);
/* Checks the combination: heads divide d, sizes, and that the parameters fit in memory. */
int cfg_validate(const GptConfig *c, GrErr *e);
/* Number of parameters of this configuration (the same count the layout gives). */
size_t cfg_param_count(const GptConfig *c);
size_t model_mem_available(void);

/* Which variant a config is, as bits: a row of the parameter, trace or stage tables
 * exists in a model when every bit of its `when` is set in cfg_flags(). */
enum {
    W_PRE = 1,      /* Pre-LN */
    W_POST = 2,     /* Post-LN */
    W_MLP = 4,      /* MLP sublayer */
    W_GELU = 8,
    W_RELU = 16,
    W_POS = 32,     /* learned position embedding */
    W_UNTIED = 64,  /* lm_head.w */
};
unsigned cfg_flags(const GptConfig *c);

#endif
