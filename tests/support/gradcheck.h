/* gradcheck: what the gradient tests share: a reproducible uniform stream for their
 * inputs, and the central-difference check of an analytic gradient (in double, where
 * h = 1e-6 leaves a truncation + rounding error near 1e-9 relative). */
#ifndef C2SEG_TESTS_GRADCHECK_H
#define C2SEG_TESTS_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

/* xorshift64* on *state: a uniform double in [lo, hi), the same stream on every run
 * and platform for the same starting state. */
double test_uniform(uint64_t *state, double lo, double hi);

/* The scalar loss being differentiated, at the inputs ctx currently holds. */
typedef double (*fd_loss_fn)(void *ctx);

/* Central differences (h = 1e-6) of L over every entry of x [n] (an input L reads
 * through ctx) against the analytic gradient an [n]; returns the worst
 * |fd − an| / max(|an|, 1). x is left as it was. */
double fd_worst(fd_loss_fn L, void *ctx, double *x, size_t n, const double *an);

#endif
