/* harness.h — a tiny test harness. Each test program ends with the line
 * "N passed, N failed" (the line CI reads) and exits non-zero on any failure.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(name); return harness_done("viz"); }
 */
#ifndef GR_HARNESS_H
#define GR_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int h_passed, h_failed, h_cur_failed;
static const char *h_cur;

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                              \
    do {                                                                       \
        h_cur = #name;                                                         \
        h_cur_failed = 0;                                                      \
        test_##name();                                                         \
        if (h_cur_failed) h_failed++; else h_passed++;                         \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: %s: CHECK failed: %s\n", __FILE__,         \
                    __LINE__, h_cur, #cond);                                   \
            h_cur_failed = 1;                                                  \
        }                                                                      \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double h_a = (double)(a), h_b = (double)(b);                           \
        if (!(fabs(h_a - h_b) <= (tol))) {                                     \
            fprintf(stderr, "%s:%d: %s: %s = %.9g, %s = %.9g, diff %.3g > %g\n", \
                    __FILE__, __LINE__, h_cur, #a, h_a, #b, h_b,               \
                    fabs(h_a - h_b), (double)(tol));                           \
            h_cur_failed = 1;                                                  \
        }                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *h_sa = (a), *h_sb = (b);                                   \
        if (!h_sa || !h_sb || strcmp(h_sa, h_sb) != 0) {                       \
            fprintf(stderr, "%s:%d: %s: strings differ:\n--- got\n%s\n--- want\n%s\n", \
                    __FILE__, __LINE__, h_cur, h_sa ? h_sa : "(null)",         \
                    h_sb ? h_sb : "(null)");                                   \
            h_cur_failed = 1;                                                  \
        }                                                                      \
    } while (0)

static inline int harness_done(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, h_passed, h_failed);
    return h_failed ? 1 : 0;
}

#endif
