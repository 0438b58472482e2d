/* interop.h — other people's checkpoints: Hugging Face GPT-2 (safetensors, Conv1D
 * weights stored (in, out)) and llm.c's .bin (magic 20240326), in and out. */
#ifndef GR_INTEROP_H
#define GR_INTEROP_H

#include "model.h"
#include "safetensors.h"

/* Is this safetensors file a Hugging Face GPT-2 (has wte.weight / transformer.wte.weight)? */
int hf_is_gpt2(const StFile *f);
/* Loads HF GPT-2 weights; heads come from config.json beside the file, else from the width
 * (768→12, 1024→16, 1280→20, 1600→25, else d/64). */
/* heads: from config.json beside path; else the override; else GPT-2's own widths
 * (768 → 12, 1024 → 16, 1280 → 20, 1600 → 25); else refused, never guessed. */
Model *hf_load_gpt2(const StFile *f, const char *path, const Backend *be, int heads, GrErr *e);
/* llm.c model files. */
int llmc_is_bin(const char *path);
Model *llmc_load(const char *path, const Backend *be, GrErr *e);
int llmc_save(Model *m, const char *path, GrErr *e);

#endif
