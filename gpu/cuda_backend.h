/* cuda_backend.h — what the CUDA backend exposes besides core/backend.h's table.
 *
 * The table's operations return void, so the backend never exits or prints: the first
 * CUDA or cuBLAS error it meets is kept here, for a caller (or a test) to read. */
#ifndef GR_CUDA_BACKEND_H
#define GR_CUDA_BACKEND_H

#ifdef __cplusplus
extern "C" {
#endif

/* The first CUDA/cuBLAS error since start (or the last clear), or NULL if none. */
const char *gr_cuda_last_error(void);
void gr_cuda_clear_error(void);

#ifdef __cplusplus
}
#endif

#endif
