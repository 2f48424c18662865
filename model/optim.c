/* optim: SGD, AdamW (torch semantics), global-norm clipping and the warm-up + cosine
 * schedule, over parameter groups of the flat arenas (optim.h). Single-threaded loops:
 * they are a few passes over memory per step, negligible next to the GEMMs. */
#include "model/optim.h"
#include "model/threads.h"

#include <math.h>
#include <string.h>

void sgd_step(float *params, const float *grads, const param_group *groups, int n_groups,
              float lr_factor)
{
    for (int g = 0; g < n_groups; g++) {
        float lr = groups[g].lr * lr_factor;
        float *p = params + groups[g].offset;
        const float *d = grads + groups[g].offset;
        for (size_t i = 0; i < groups[g].count; i++)
            p[i] -= lr * d[i];
    }
}

size_t adamw_state_floats(size_t n)
{
    return 2 * n;
}

void adamw_init(adamw *opt, float *state, size_t n)
{
    opt->beta1 = 0.9f;
    opt->beta2 = 0.999f;
    opt->eps = 1e-8f;
    opt->step = 0;
    opt->n = n;
    opt->m = state;
    opt->v = state + n;
    memset(state, 0, adamw_state_floats(n) * sizeof(float));
}

void adamw_step(adamw *opt, float *params, const float *grads, const param_group *groups,
                int n_groups, float lr_factor)
{
    opt->step++;
    float b1 = opt->beta1, b2 = opt->beta2;
    double bc1 = 1.0 - pow(b1, (double)opt->step);
    double bc2_sqrt = sqrt(1.0 - pow(b2, (double)opt->step));
    for (int g = 0; g < n_groups; g++) {
        float lr = groups[g].lr * lr_factor;
        float step_size = (float)(lr / bc1);
        float decay = 1.0f - lr * groups[g].weight_decay;
        size_t o = groups[g].offset, end = o + groups[g].count;
        C2_OMP(parallel for schedule(static) if(groups[g].count > C2_PAR_MIN))
        for (size_t i = o; i < end; i++) {
            float d = grads[i];
            params[i] *= decay;
            opt->m[i] = b1 * opt->m[i] + (1.0f - b1) * d;
            opt->v[i] = b2 * opt->v[i] + (1.0f - b2) * d * d;
            float denom = sqrtf(opt->v[i]) / (float)bc2_sqrt + opt->eps;
            params[i] -= step_size * opt->m[i] / denom;
        }
    }
}

double grad_clip_norm(float *grads, const param_group *groups, int n_groups, double max_norm)
{
    double ss = 0.0;
    for (int g = 0; g < n_groups; g++)
        for (size_t i = groups[g].offset; i < groups[g].offset + groups[g].count; i++)
            ss += (double)grads[i] * grads[i];
    double norm = sqrt(ss);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0)
        for (int g = 0; g < n_groups; g++) {
            size_t o = groups[g].offset, end = o + groups[g].count;
            C2_OMP(parallel for schedule(static) if(groups[g].count > C2_PAR_MIN))
            for (size_t i = o; i < end; i++)
                grads[i] = (float)(grads[i] * coef);
        }
    return norm;
}

double lr_schedule(long step, long total, long warm)
{
    if (step < warm)
        return (double)(step + 1) / (double)warm;
    long span = total - warm > 1 ? total - warm : 1;
    return 0.5 * (1.0 + cos(M_PI * (double)(step - warm) / (double)span));
}
