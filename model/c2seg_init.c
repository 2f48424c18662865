/* c2seg_init: initial weights of C2Seg per METHOD.md §3, from a seed. The
 * distributions follow the reference (c2seg_ref.py C2Seg._init and KANLinear); the
 * random stream is our own splitmix64, so values are deterministic for a seed but
 * not bit-equal to torch's (parity imports the reference's weights instead). The
 * kind of each tensor is read from its state_dict name, so the registry stays the
 * single list of what exists. */
#include "model/c2seg.h"

#include <math.h>
#include <string.h>

static const float kan_knots[C2SEG_KAN_KNOTS] = {-2.2f, -1.8f, -1.4f, -1.0f, -0.6f, -0.2f,
                                                 0.2f,  0.6f,  1.0f,  1.4f,  1.8f,  2.2f};

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in (0, 1), never 0 (safe for log) */
static double rng_uniform(uint64_t *s) { return ((double)(rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

static double rng_normal(uint64_t *s)
{
    double u1 = rng_uniform(s), u2 = rng_uniform(s);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* 1 when the tensor's module is a LayerNorm or a BatchNorm (weight 1, bias 0): the
 * module names of the reference are bn*, *norm*, ln_* and txt_ln. */
static int is_norm(const char *name)
{
    char module[64];
    snprintf(module, sizeof module, "%s", name);
    char *dot = strrchr(module, '.');
    if (dot)
        *dot = '\0';
    const char *last = strrchr(module, '.');
    last = last ? last + 1 : module;
    return strncmp(last, "bn", 2) == 0 || strstr(last, "norm") || strncmp(last, "ln_", 3) == 0 ||
           strcmp(last, "txt_ln") == 0;
}

void c2seg_model_init_weights(c2seg_model *m, uint64_t seed)
{
    uint64_t s = seed ^ 0xC25E600DC25E600Dull;
    for (int i = 0; i < m->n_tensors; i++) {
        const c2seg_tensor_info *t = &m->tensors[i];
        if (t->kind == C2SEG_COUNTER) {
            m->counters[t->offset] = 0;
            continue;
        }
        float *x = c2seg_tensor_data(m, t);
        int64_t n = t->numel;
        if (ends_with(t->name, ".grid")) {
            memcpy(x, kan_knots, sizeof kan_knots);
        } else if (ends_with(t->name, ".running_var")) {
            for (int64_t j = 0; j < n; j++)
                x[j] = 1.0f;
        } else if (ends_with(t->name, ".bias") || ends_with(t->name, ".running_mean")) {
            memset(x, 0, (size_t)n * sizeof *x);
        } else if (ends_with(t->name, ".base_weight") || ends_with(t->name, ".spline_scaler")) {
            double bound = 1.0 / sqrt((double)t->shape[1]);   /* [out, in] */
            for (int64_t j = 0; j < n; j++)
                x[j] = (float)((2.0 * rng_uniform(&s) - 1.0) * bound);
        } else if (ends_with(t->name, ".spline_weight")) {
            for (int64_t j = 0; j < n; j++)
                x[j] = (float)((2.0 * rng_uniform(&s) - 1.0) * 0.01);
        } else if (is_norm(t->name)) {
            for (int64_t j = 0; j < n; j++)
                x[j] = 1.0f;
        } else if (t->ndim == 4) {
            /* conv: N(0, sqrt(2 / fan_out)), fan_out = k*k*out/groups; a depthwise
             * conv (weight [c,1,3,3]) has groups = c, so fan_out = k*k */
            int groups = strstr(t->name, "dwconv") ? t->shape[0] : 1;
            double std = sqrt(2.0 / ((double)t->shape[2] * t->shape[3] * t->shape[0] / groups));
            for (int64_t j = 0; j < n; j++)
                x[j] = (float)(rng_normal(&s) * std);
        } else {
            /* linear: trunc_normal(std 0.02) on [-0.04, 0.04] by rejection */
            for (int64_t j = 0; j < n; j++) {
                double v;
                do
                    v = rng_normal(&s) * 0.02;
                while (v < -0.04 || v > 0.04);
                x[j] = (float)v;
            }
        }
    }
}
