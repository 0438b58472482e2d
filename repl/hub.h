/* hub.h — models by name from the Hugging Face Hub: one table of names → repositories,
 * where each is found already (the model folders, our cache, an existing Hugging Face
 * cache), and the download of what is missing.
 *
 * The download speaks the Hub's protocol as it is: GET {endpoint}/{repo}/resolve/main/FILE
 * answers 200 with small files, or redirects large ones to a storage host, with the
 * sha256 and size in X-Linked-Etag / X-Linked-Size on that first response. Redirect URLs
 * expire, so a resume asks the resolve URL again and goes on with Range. Bytes go to
 * FILE.part in the cache and are renamed into place only once their size and sha256
 * match, so nothing half-written is ever where `load` looks. libcurl is opened with
 * dlopen: the binary starts (and everything but downloads works) without it. */
#ifndef GR_HUB_H
#define GR_HUB_H

#include "session.h"

#define HUB_FILES 4

typedef struct {
    const char *name;   /* what `load` takes: "gpt2" */
    const char *repo;   /* "openai-community/gpt2" */
    const char *size;   /* for `models`: "548 MB" */
} HubModel;

/* The row for name, or NULL. */
const HubModel *hub_find(const char *name);
/* "gpt2|gpt2-medium|...": the names, for completion and the command table. */
const char *hub_choices(void);
/* The files a model folder needs (model.safetensors, config.json, vocab.json, merges.txt). */
extern const char *const HUB_FILE_NAMES[HUB_FILES];

/* Where NAME's files are: GPTREPL_MODELS and the bundled folders (NAME/ with a
 * model.safetensors), our cache, or a Hugging Face cache snapshot. 0 with the folder in
 * dir; -1 when it is nowhere (e says where it was looked for). */
int hub_locate(const HubModel *hm, char *dir, size_t n, GrErr *e);
/* hub_locate, else the download into our cache (not in a lesson, not HF_HUB_OFFLINE). */
int hub_fetch(Session *s, const HubModel *hm, char *dir, size_t n, GrErr *e);
/* `models`: every name with where it is and its size, then what the cache holds. */
void hub_list(StrBuf *out);
/* Our cache's folder for a repository: $XDG_CACHE_HOME/gptrepl/hub/OWNER--NAME. */
int hub_cache_dir(const char *repo, char *buf, size_t n, GrErr *e);

#endif
