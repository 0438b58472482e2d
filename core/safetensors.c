#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int dtype_of(const char *s, size_t *size)
{
    static const struct { const char *n; int t; size_t sz; } T[] = {
        {"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"I32", ST_I32, 4},
        {"I64", ST_I64, 8}, {"U8", ST_U8, 1}, {"F64", ST_OTHER, 8}, {"I16", ST_OTHER, 2},
        {"I8", ST_OTHER, 1}, {"BOOL", ST_OTHER, 1}, {"U16", ST_OTHER, 2}, {"U32", ST_OTHER, 4},
        {"U64", ST_OTHER, 8},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcmp(s, T[i].n)) { *size = T[i].sz; return T[i].t; }
    return -1;
}

void st_close(StFile *f)
{
    if (f->map) munmap(f->map, f->map_size);
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    free(f->t);
    for (int i = 0; i < f->nmeta; i++) { free(f->meta_keys[i]); free(f->meta_vals[i]); }
    free(f->meta_keys);
    free(f->meta_vals);
    memset(f, 0, sizeof *f);
}

static int parse_header(StFile *f, const char *path, const char *json, size_t len, GrErr *e)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return gr_fail(e, "%s: the safetensors header is not valid JSON", path);
    int rc = -1;
    if (!cJSON_IsObject(root)) { gr_fail(e, "%s: the safetensors header is not a JSON object", path); goto out; }
    int count = cJSON_GetArraySize(root);
    if (count > ST_MAX_TENSORS + 1) { gr_fail(e, "%s: the header lists %d entries (limit %d)", path, count, ST_MAX_TENSORS); goto out; }
    f->t = calloc((size_t)count + 1, sizeof(StTensor));
    if (!f->t) { gr_fail(e, "out of memory"); goto out; }
    for (cJSON *it = root->child; it; it = it->next) {
        const char *name = it->string ? it->string : "";
        if (!strcmp(name, "__metadata__")) {
            if (!cJSON_IsObject(it)) { gr_fail(e, "%s: __metadata__ is not an object", path); goto out; }
            if (f->meta_keys) { gr_fail(e, "%s: the header has two __metadata__ entries", path); goto out; }
            int nm = cJSON_GetArraySize(it);
            f->meta_keys = calloc((size_t)nm + 1, sizeof(char *));
            f->meta_vals = calloc((size_t)nm + 1, sizeof(char *));
            if (!f->meta_keys || !f->meta_vals) { gr_fail(e, "out of memory"); goto out; }
            for (cJSON *m = it->child; m; m = m->next) {
                if (!cJSON_IsString(m)) { gr_fail(e, "%s: metadata value '%s' is not a string", path, m->string); goto out; }
                f->meta_keys[f->nmeta] = strdup(m->string ? m->string : "");
                f->meta_vals[f->nmeta] = strdup(m->valuestring);
                f->nmeta++;
                if (!f->meta_keys[f->nmeta - 1] || !f->meta_vals[f->nmeta - 1]) { gr_fail(e, "out of memory"); goto out; }
            }
            continue;
        }
        StTensor *t = &f->t[f->n];
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        cJSON *off = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
            cJSON_GetArraySize(off) != 2) {
            gr_fail(e, "%s: tensor '%.64s' needs dtype, shape and data_offsets", path, name);
            goto out;
        }
        size_t esize;
        t->dtype = dtype_of(dt->valuestring, &esize);
        if (t->dtype < 0) { gr_fail(e, "%s: tensor '%.64s' has unknown dtype '%.16s'", path, name, dt->valuestring); goto out; }
        t->ndim = cJSON_GetArraySize(sh);
        if (t->ndim > ST_MAX_RANK) { gr_fail(e, "%s: tensor '%.64s' has rank %d (limit %d)", path, name, t->ndim, ST_MAX_RANK); goto out; }
        size_t numel = 1;
        int i = 0;
        for (cJSON *d = sh->child; d; d = d->next, i++) {
            double v = cJSON_IsNumber(d) ? d->valuedouble : -1;
            if (v < 0 || v != floor(v) || v > 9.0e15) { gr_fail(e, "%s: tensor '%.64s' has a bad dimension", path, name); goto out; }
            t->shape[i] = (int64_t)v;
            if (!gr_mul_ok(numel, (size_t)v, &numel)) { gr_fail(e, "%s: tensor '%.64s' claims an absurd size", path, name); goto out; }
        }
        t->numel = numel;
        double b = cJSON_IsNumber(off->child) ? off->child->valuedouble : -1;
        double en = cJSON_IsNumber(off->child->next) ? off->child->next->valuedouble : -1;
        if (b < 0 || en < b || b != floor(b) || en != floor(en) || en > 9.0e15) {
            gr_fail(e, "%s: tensor '%.64s' has bad data_offsets", path, name);
            goto out;
        }
        t->begin = (size_t)b;
        t->end = (size_t)en;
        size_t bytes;
        if (!gr_mul_ok(numel, esize, &bytes) || bytes != t->end - t->begin) {
            gr_fail(e, "%s: tensor '%.64s' has %zu bytes of data but its shape needs more or fewer", path, name,
                    t->end - t->begin);
            goto out;
        }
        if (t->end > f->data_len) {
            gr_fail(e, "%s: tensor '%.64s' ends at byte %zu but the file has only %zu bytes of data (truncated?)",
                    path, name, t->end, f->data_len);
            goto out;
        }
        t->name = strdup(name);
        if (!t->name) { gr_fail(e, "out of memory"); goto out; }
        f->n++;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int st_open(StFile *f, const char *path, GrErr *e)
{
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_NONBLOCK); /* a FIFO must not block us: it is refused below */
    if (fd < 0) return gr_fail(e, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return gr_fail(e, "%s is not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return gr_fail(e, "%s is too short to be a safetensors file (%zu bytes)", path, size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return gr_fail(e, "cannot map %s: %s", path, strerror(errno));
    f->map = map;
    f->map_size = size;
    const unsigned char *p = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen > ST_MAX_HEADER || hlen > size - 8) {
        st_close(f);
        return gr_fail(e, "%s: header length %llu does not fit the file (%zu bytes): not a safetensors file or truncated",
                       path, (unsigned long long)hlen, size);
    }
    f->data = p + 8 + hlen;
    f->data_len = size - 8 - (size_t)hlen;
    if (parse_header(f, path, (const char *)p + 8, (size_t)hlen, e)) {
        st_close(f);
        return -1;
    }
    return 0;
}

const StTensor *st_find(const StFile *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *st_meta(const StFile *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_vals[i];
    return NULL;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else {
            float v = ldexpf((float)man, -24);
            return sign ? -v : v;
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

int st_read_f32(const StFile *f, const StTensor *t, float *dst, GrErr *e)
{
    const unsigned char *src = f->data + t->begin;
    switch (t->dtype) {
    case ST_F32:
        memcpy(dst, src, t->numel * 4); /* little-endian host */
        return 0;
    case ST_F16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = half_to_float(h);
        }
        return 0;
    case ST_BF16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&dst[i], &bits, 4);
        }
        return 0;
    default:
        return gr_fail(e, "tensor '%s' is not a floating-point tensor", t->name);
    }
}

int st_read_i32(const StFile *f, const StTensor *t, int *dst, GrErr *e)
{
    const unsigned char *src = f->data + t->begin;
    if (t->dtype == ST_I32) {
        memcpy(dst, src, t->numel * 4);
        return 0;
    }
    if (t->dtype == ST_I64) {
        for (size_t i = 0; i < t->numel; i++) {
            int64_t v;
            memcpy(&v, src + 8 * i, 8);
            if (v < -2147483647LL || v > 2147483647LL) return gr_fail(e, "tensor '%s' holds a value out of range", t->name);
            dst[i] = (int)v;
        }
        return 0;
    }
    return gr_fail(e, "tensor '%s' is not an integer tensor", t->name);
}

int gr_atomic_write(const char *path, const StChunk *chunks, int n, GrErr *e)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= sizeof tmp)
        return gr_fail(e, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return gr_fail(e, "cannot write %s: %s", path, strerror(errno));
    for (int i = 0; i < n; i++) {
        const char *p = chunks[i].p;
        size_t left = chunks[i].n;
        while (left) {
            ssize_t w = write(fd, p, left);
            if (w < 0) {
                if (errno == EINTR) continue;
                int err = errno;
                close(fd);
                unlink(tmp);
                return gr_fail(e, "cannot write %s: %s (the old file, if any, is untouched)", path, strerror(err));
            }
            p += w;
            left -= (size_t)w;
        }
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int err = errno;
        unlink(tmp);
        return gr_fail(e, "cannot write %s: %s (the old file, if any, is untouched)", path, strerror(err));
    }
    if (rename(tmp, path) < 0) {
        int err = errno;
        unlink(tmp);
        return gr_fail(e, "cannot write %s: %s", path, strerror(err));
    }
    /* Make the rename itself durable. */
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    int dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int st_write(const char *path, const StOut *ts, int n, const char *const *meta, GrErr *e)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return gr_fail(e, "out of memory");
    if (meta && meta[0]) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; meta[i] && meta[i + 1]; i += 2) cJSON_AddStringToObject(m, meta[i], meta[i + 1]);
    }
    size_t off = 0;
    size_t *sizes = calloc((size_t)n + 1, sizeof(size_t));
    if (!sizes) { cJSON_Delete(root); return gr_fail(e, "out of memory"); }
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(root, ts[i].name);
        cJSON_AddStringToObject(t, "dtype", ts[i].dtype == ST_I32 ? "I32" : "F32");
        cJSON *sh = cJSON_AddArrayToObject(t, "shape");
        size_t numel = 1;
        for (int d = 0; d < ts[i].ndim; d++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)ts[i].shape[d]));
            numel *= (size_t)ts[i].shape[d];
        }
        sizes[i] = numel * 4;
        cJSON *o = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + sizes[i])));
        off += sizes[i];
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) { free(sizes); return gr_fail(e, "out of memory"); }
    size_t jl = strlen(json), padded = (jl + 7) & ~(size_t)7;
    char *hdr = malloc(8 + padded);
    StChunk *chunks = calloc((size_t)n + 1, sizeof(StChunk));
    if (!hdr || !chunks) {
        free(json); free(hdr); free(chunks); free(sizes);
        return gr_fail(e, "out of memory");
    }
    for (int i = 0; i < 8; i++) hdr[i] = (char)((uint64_t)padded >> (8 * i));
    memcpy(hdr + 8, json, jl);
    memset(hdr + 8 + jl, ' ', padded - jl);
    free(json);
    chunks[0] = (StChunk){hdr, 8 + padded};
    for (int i = 0; i < n; i++) chunks[i + 1] = (StChunk){ts[i].data, sizes[i]};
    int rc = gr_atomic_write(path, chunks, n + 1, e);
    free(hdr);
    free(chunks);
    free(sizes);
    return rc;
}
