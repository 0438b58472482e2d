/* sha256.h — SHA-256 (FIPS 180-4), to verify downloads against the Hub's checksums. */
#ifndef GR_SHA256_H
#define GR_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;        /* bytes so far */
    unsigned char buf[64];
    size_t nbuf;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
/* 64 lowercase hex digits and a NUL into hex. */
void sha256_final_hex(Sha256 *s, char hex[65]);
/* The digest of a whole file; -1 when it cannot be read. */
int sha256_file_hex(const char *path, char hex[65]);

#endif
