/* paths.h — where gptrepl's own files are, and the one resolver of every file argument.
 *
 * Every argument of kind path-in or path-out (save, export, dump, load, --data, tokens
 * --file, vocab=chars:FILE, ...) goes through paths_resolve. Typed at the prompt or in
 * the user's own script, a path is used as given: those are the user's, like a shell
 * script. While a lesson runs (course material is shared, so it is untrusted), output
 * paths resolve inside the lesson's output folder and input paths are looked up in the
 * lessons root, that output folder and the model folders; an absolute path, '..', or a
 * symbolic link that leaves them is refused, unless gptrepl was started --allow-files. */
#ifndef GR_PATHS_H
#define GR_PATHS_H

#include <stddef.h>
#include "session.h"

/* The folder holding the bundled models/ and lessons/: next to the executable (a build
 * tree), or PREFIX/share/gptrepl beside PREFIX/bin (an install); "" if neither exists. */
const char *paths_data_dir(void);
/* Folders lessons are looked up in: $GPTREPL_LESSONS (':'-separated), then the bundled
 * lessons/. Returns how many (at most max). */
int paths_lesson_roots(const char **out, int max);
/* Folders models are looked up in: $GPTREPL_MODELS, then the bundled models/. */
int paths_model_dirs(const char **out, int max);
/* $XDG_CACHE_HOME/gptrepl/SUB, else ~/.cache/gptrepl/SUB (not created); -1 with why. */
int paths_cache_dir(const char *sub, char *buf, size_t n, GrErr *e);
/* mkdir -p */
int paths_mkdirs(const char *dir, GrErr *e);

/* Resolves a file argument (out: it will be written). See the top of this file. */
int paths_resolve(Session *s, const char *path, int out, char *buf, size_t n, GrErr *e);

#endif
