/* Gradient-test helpers; see gradcheck.h. */
#include "tests/support/gradcheck.h"

#include <math.h>

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
