/* Gradient-test helpers; see gradcheck.h. */
#include "tests/support/gradcheck.h"

#include <math.h>
#include <stdlib.h>

double test_uniform(uint64_t *state, double lo, double hi)
{
    uint64_t s = *state;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    *state = s;
    return lo + (hi - lo) * (double)((s * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

double fd_worst(fd_loss_fn L, void *ctx, double *x, size_t n, const double *an)
{
    const double h = 1e-6;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double lp = L(ctx);
        x[i] = keep - h;
        double lm = L(ctx);
        x[i] = keep;
        worst = fmax(worst, fabs((lp - lm) / (2 * h) - an[i]) / fmax(fabs(an[i]), 1.0));
    }
    return worst;
}

double test_dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

double max_abs_f64(const double *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

float *float_copy(const double *x, size_t n)
{
    float *f = malloc((n ? n : 1) * sizeof *f);
    for (size_t i = 0; f && i < n; i++)
        f[i] = (float)x[i];
    return f;
}

double max_err_f32(const float *got, const double *want, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(got[i] - want[i]));
    return m;
}

double rel_err_f32(const float *got, const double *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    return sqrt(num / den);
}
