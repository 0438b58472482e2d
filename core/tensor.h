/* tensor.h — a strided view of float data on the host, and the slice syntax.
 *
 * Everything a user can name (a parameter, a trace entry, a slice of either) is
 * shown to viz/ and the expression evaluator as a TensorView. Views never own data. */
#ifndef GR_TENSOR_H
#define GR_TENSOR_H

#include <stddef.h>
#include "common.h"

#define TV_MAX_DIMS 4

typedef struct {
    const float *data;           /* first element (host memory) */
    int ndim;                    /* 0 = scalar */
    int shape[TV_MAX_DIMS];
    ptrdiff_t stride[TV_MAX_DIMS]; /* in elements */
    char dimname[TV_MAX_DIMS];   /* 'h' head, 't' query pos, 's' key pos, 'c' channel, 'v' vocab, 0 = none */
} TensorView;

/* Contiguous row-major view. */
TensorView tv_make(const float *data, int ndim, const int *shape);
size_t tv_numel(const TensorView *v);
/* Element at a flat row-major index of the view (handles strides). */
float tv_get(const TensorView *v, size_t flat);
/* Copies the view into dst (tv_numel floats), row-major. */
void tv_copy_out(const TensorView *v, float *dst);

/* Applies a slice spec like "h=2", "3,:8", "0,1:5,-1", "t=3,c=:16" (the text inside
 * the brackets) to v. Integer index drops the dim; ranges a:b keep it (negative
 * counts from the end, Python-style). Named selectors use dimname letters.
 * Errors (out of range, too many indices, unknown dim name) say what was wrong. */
int tv_slice(const TensorView *v, const char *spec, TensorView *out, GrErr *e);

/* Stats over all elements (NaN-aware: nan_count counts them, others skip them). */
typedef struct {
    double mean, std, var, min, max, sum;
    size_t n, nan_count, inf_count;
} TvStats;
TvStats tv_stats(const TensorView *v);

/* "(12, 64, 64)" */
void tv_shape_str(const TensorView *v, char *buf, size_t n);

#endif
