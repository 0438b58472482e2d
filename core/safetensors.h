/* safetensors.h — reading (mmap, every size validated before use) and atomic writing.
 *
 * Format: u64 little-endian header length N, N bytes of JSON, then the data;
 * offsets are relative to the first byte after the header. */
#ifndef GR_SAFETENSORS_H
#define GR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

enum { ST_F32, ST_F16, ST_BF16, ST_I32, ST_I64, ST_U8, ST_OTHER };

#define ST_MAX_RANK 8
#define ST_MAX_TENSORS 100000
#define ST_MAX_HEADER (100u << 20) /* 100 MB of JSON is already absurd */

typedef struct {
    char *name;
    int dtype;
    int ndim;
    int64_t shape[ST_MAX_RANK];
    size_t numel;
    size_t begin, end; /* byte offsets into the data section */
} StTensor;

typedef struct {
    void *map;
    size_t map_size;
    const unsigned char *data; /* start of the data section */
    size_t data_len;
    StTensor *t;
    int n;
    char **meta_keys, **meta_vals;
    int nmeta;
} StFile;

int st_open(StFile *f, const char *path, GrErr *e);
void st_close(StFile *f);
const StTensor *st_find(const StFile *f, const char *name);
const char *st_meta(const StFile *f, const char *key);
/* Converts a tensor to float32 (F32, F16, BF16 supported) into dst (t->numel floats). */
int st_read_f32(const StFile *f, const StTensor *t, float *dst, GrErr *e);
/* Reads an I32 or I64 tensor into int dst (t->numel ints). */
int st_read_i32(const StFile *f, const StTensor *t, int *dst, GrErr *e);

typedef struct {
    const char *name;
    int dtype;          /* ST_F32 or ST_I32 */
    int ndim;
    int64_t shape[ST_MAX_RANK];
    const void *data;
} StOut;

/* Writes atomically: PATH.tmp-PID, fsync, rename over PATH, fsync the directory.
 * meta is NULL-terminated key, value pairs. */
int st_write(const char *path, const StOut *ts, int n, const char *const *meta, GrErr *e);

/* Atomic write of an arbitrary buffer set, shared with other writers (llm.c .bin). */
typedef struct {
    const void *p;
    size_t n;
} StChunk;
int gr_atomic_write(const char *path, const StChunk *chunks, int n, GrErr *e);

#endif
