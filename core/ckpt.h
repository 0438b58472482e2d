/* ckpt.h — checkpoints: our safetensors format (core/README.md), atomically written. */
#ifndef GR_CKPT_H
#define GR_CKPT_H

#include "model.h"
#include "safetensors.h"

/* What goes with a model besides its weights. */
typedef struct {
    char *chars; /* out: the char tokenizer's vocabulary (UTF-8), NULL when not a char model */
    int heads;   /* in: the head count of a Hugging Face checkpoint without config.json (0: none) */
} CkptExtra;

/* Loads a gptrepl safetensors checkpoint (and its optimizer state when present).
 * Every shape is checked against the config before any data is read. */
Model *ckpt_load(const char *path, const Backend *be, CkptExtra *extra, GrErr *e);
/* Reads the config from a file's metadata. */
int ckpt_config_from_meta(const StFile *f, const char *path, GptConfig *c, GrErr *e);
int ckpt_save(Model *m, const char *chars, const char *path, GrErr *e);

#endif
