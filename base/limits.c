/* Resource limits. Inputs declare their sizes before their data; every reader
 * checks the declared size here before it allocates, so a hostile header cannot
 * make us allocate terabytes or overflow a size computation. */
#include "base/base.h"

static c2_limits limits = {
    .max_dim = 65535,
    .max_pixels = (int64_t)1 << 31,
    .max_bytes = (int64_t)8 << 30,
    .max_depth = 64,
};

const c2_limits *c2_limits_get(void) { return &limits; }

void c2_limits_set(const c2_limits *l) { limits = *l; }

int c2_check_dims(c2_err *e, const char *what, int64_t d0, int64_t d1, int64_t d2, size_t elem_size)
{
    int64_t d[3] = {d0, d1, d2};
    for (int i = 0; i < 3; i++) {
        if (d[i] <= 0)
            return c2_fail(e, C2_EINVAL, "%s has a dimension of %lld", what, (long long)d[i]);
        if (d[i] > limits.max_dim)
            return c2_fail(e, C2_ELIMIT, "%s dimension %lld exceeds the limit %lld", what,
                           (long long)d[i], (long long)limits.max_dim);
    }
    /* each factor <= 65535-ish, so the product of three fits in int64 before the check */
    int64_t n = d0 * d1;
    if (n > limits.max_pixels || n * d2 > limits.max_pixels)
        return c2_fail(e, C2_ELIMIT, "%s has %lld x %lld x %lld pixels, over the limit of %lld", what,
                       (long long)d0, (long long)d1, (long long)d2, (long long)limits.max_pixels);
    if (n * d2 > limits.max_bytes / (int64_t)(elem_size ? elem_size : 1))
        return c2_fail(e, C2_ELIMIT, "%s needs %lld bytes, over the memory limit of %lld", what,
                       (long long)(n * d2 * (int64_t)elem_size), (long long)limits.max_bytes);
    return C2_OK;
}
