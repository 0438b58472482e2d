/* common.h — errors and growable strings shared by every module.
 *
 * core/ never prints and never exits on a user error: a function that can fail
 * returns 0 on success or -1 with a one-line message in a GrErr the caller owns. */
#ifndef GR_COMMON_H
#define GR_COMMON_H

#include <stddef.h>
#include <stdarg.h>

typedef struct {
    char msg[512];
} GrErr;

/* Formats msg into e (if non-NULL) and returns -1, so `return gr_fail(e, ...)` reads well. */
int gr_fail(GrErr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A growable, always NUL-terminated string: renderers write into one, the REPL
 * prints it (plain mode) or places it in a pane (TUI). */
typedef struct {
    char *s;
    size_t len, cap;
} StrBuf;

void sb_init(StrBuf *b);
void sb_free(StrBuf *b);
void sb_clear(StrBuf *b);
void sb_puts(StrBuf *b, const char *s);
void sb_putn(StrBuf *b, const char *s, size_t n);
void sb_putc(StrBuf *b, char c);
void sb_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *b, const char *fmt, va_list ap);

/* Overflow-checked size arithmetic for anything derived from files or user input. */
int gr_mul_ok(size_t a, size_t b, size_t *out);
int gr_add_ok(size_t a, size_t b, size_t *out);

/* Display width (terminal columns) of a UTF-8 string's first `bytes` bytes;
 * wide (CJK, emoji) code points count 2, combining marks 0. */
int gr_utf8_width(const char *s, size_t bytes);
/* Decodes one code point at s (n bytes available); returns bytes used (>=1) and
 * stores the code point, or U+FFFD for an invalid sequence (consuming 1 byte). */
int gr_utf8_decode(const char *s, size_t n, unsigned *cp);
/* Encodes cp into out (>= 4 bytes); returns bytes written. */
int gr_utf8_encode(unsigned cp, char *out);

#endif
