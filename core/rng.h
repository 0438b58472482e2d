/* rng.h — our own seeded RNG (xoshiro256** seeded by SplitMix64), so the same seed
 * gives the same weights, batches and sampled tokens on every machine. */
#ifndef GR_RNG_H
#define GR_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_u64(Rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rng_uniform(Rng *r);
/* Uniform integer in [0, n). */
uint64_t rng_below(Rng *r, uint64_t n);
/* Standard normal (Box–Muller in double). */
double rng_normal(Rng *r);
/* Two independent standard normals from one Box–Muller draw. */
void rng_normal2(Rng *r, double *a, double *b);

#endif
