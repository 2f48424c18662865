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

/* Σ a[i]·b[i]: the scalar losses L = Σ out ⊙ R (R random) of the module tests. */
double test_dot(const double *a, const double *b, size_t n);
/* max |x[i]| over n entries. */
double max_abs_f64(const double *x, size_t n);

/* A float module against its double twin: */
/* A float copy of x [n] (malloc'd; the caller frees it), or NULL when out of memory. */
float *float_copy(const double *x, size_t n);
/* max |got[i] − want[i]| over n entries. */
double max_err_f32(const float *got, const double *want, size_t n);
/* sqrt(Σ (got − want)² / Σ want²): the relative L2 error of got [n]. */
double rel_err_f32(const float *got, const double *want, size_t n);

#endif
