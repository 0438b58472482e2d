/* fuzz_util.h — helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput. Built with clang -fsanitize=fuzzer it is
 * a libFuzzer binary (tests/fuzz/run.sh); built with replay_main.c (gcc, no libFuzzer)
 * it replays the files named on its command line, which is how tests/regress/ runs in
 * `make test`. Inputs that reach a loader are written to an anonymous memory file
 * (memfd) and opened by its /proc/self/fd/N name, so nothing touches the disk. */
#ifndef GR_FUZZ_UTIL_H
#define GR_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int fd;
    char path[64];
} FuzzFile;

/* Writes data into a fresh memfd; path names it. Aborts on a system failure (not a bug
 * in the code under test, but the run cannot go on). */
static inline void fuzz_file_open(FuzzFile *f, const void *data, size_t size)
{
    f->fd = memfd_create("gptrepl-fuzz", 0);
    if (f->fd < 0) { perror("memfd_create"); abort(); }
    const char *p = data;
    size_t left = size;
    while (left) {
        ssize_t w = write(f->fd, p, left);
        if (w <= 0) { perror("write"); abort(); }
        p += w;
        left -= (size_t)w;
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

static inline void fuzz_file_close(FuzzFile *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

#endif
