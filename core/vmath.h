/* vmath.h — exp and tanh in float that loops can vectorise (libm's cannot): the CPU
 * backend's softmax, GELU and attention, and the sampler's softmax, call these. Include
 * it after a `#pragma GCC optimize("no-trapping-math", "no-math-errno", ...)` (see
 * backend_cpu.c's): included before, these functions keep the file's default options and
 * GCC no longer vectorises the loops that call them (seen with -fopt-info-vec). */
#ifndef GR_VMATH_H
#define GR_VMATH_H

#include <stdint.h>
#include <string.h>

/* exp: Cody-Waite range reduction and a degree-6 polynomial (Cephes expf), within 2 ulp
 * of expf on [-87.3, 88]; 0 below (where expf gives denormals), clamped at e^88 above
 * (callers pass x <= 18), NaN for NaN. Loops calling it vectorise, unlike libm's expf. */
static inline float vexpf(float x)
{
    float xc = x < 88.0f ? x : 88.0f; /* NaN → 88: keeps the int conversion below defined */
    xc = xc > -87.3f ? xc : -87.3f;
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = n * -0.693359375f + xc;
    r = n * 2.12194440e-4f + r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* 2^n, n in [-126, 127] */
    float sc;
    memcpy(&sc, &bits, sizeof sc);
    float y = p * sc;
    y = x < -87.3f ? 0.0f : y;
    return x == x ? y : x;
}

/* tanh(z) = (e^{2z} - 1)/(e^{2z} + 1): absolute error < 2e-7, exactly ±1 beyond |z| = 9. */
static inline float vtanhf(float z)
{
    float zc = z > 9.0f ? 9.0f : z;
    zc = zc < -9.0f ? -9.0f : zc;
    float e = vexpf(2.0f * zc);
    return (e - 1.0f) / (e + 1.0f);
}

#endif
