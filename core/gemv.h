/* gemv.h — generation's matrix-vector product (gemv.c), by rows, on the fastest path the
 * CPU has. */
#ifndef GR_GEMV_H
#define GR_GEMV_H

#include <stddef.h>

typedef enum { GEMV_PORTABLE, GEMV_AVX2, GEMV_AVX512 } GemvPath;

/* The path this CPU runs (chosen once, at the first call). */
GemvPath gemv_path(void);
const char *gemv_path_name(GemvPath p);
/* out[r] = W[r, :] · x + b[r] for rows r0..r1-1 of W (OC, IC) row-major; b may be NULL. */
void gemv_rows(GemvPath p, float *out, const float *w, const float *x, const float *b, size_t r0, size_t r1, int IC);

/* out (IC) = Σ_r x[r] · W[r, :] over rows 0..rows-1 of W (rows, IC): Wᵀx. */
void gemv_t(GemvPath p, float *out, const float *w, const float *x, int rows, int IC);

#endif
