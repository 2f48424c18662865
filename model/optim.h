/* optim: optimizers over the flat parameter and gradient arenas (model/arena.h).
 *
 * Parameters are split into groups (contiguous ranges of the arena), each with its own
 * learning rate and weight decay, like torch's param_groups; e.g. the encoder at 0.1x
 * the decoder's rate (METHOD.md §6). The schedule's factor multiplies every group's rate.
 * - sgd_step: p -= lr * g (no momentum, no weight decay: the golden step).
 * - adamw_step: torch.optim.AdamW exactly (decoupled decay p *= 1 - lr*wd first, then
 *   Adam with bias corrections; denom = sqrt(v)/sqrt(1 - b2^t) + eps).
 * - grad_clip_norm: torch.nn.utils.clip_grad_norm_ over all groups (one global L2 norm).
 * - lr_schedule: linear warm-up then cosine to 0 (c2seg_ref.py lr_factor). */
#ifndef C2SEG_MODEL_OPTIM_H
#define C2SEG_MODEL_OPTIM_H

#include <stddef.h>

typedef struct param_group {
    size_t offset;      /* first float in the parameter / gradient arena */
    size_t count;       /* floats in the group */
    float lr;           /* base learning rate (before the schedule factor) */
    float weight_decay; /* AdamW decoupled decay; ignored by sgd_step */
} param_group;

typedef struct adamw {
    float beta1, beta2, eps; /* torch defaults 0.9, 0.999, 1e-8 */
    long step;               /* steps taken so far */
    size_t n;                /* floats of the parameter arena covered */
    float *m, *v;            /* first / second moments (n each), from the state arena */
} adamw;

/* params, grads: the flat arenas. lr_factor scales every group's lr. */
void sgd_step(float *params, const float *grads, const param_group *groups, int n_groups,
              float lr_factor);

/* Floats of optimizer state adamw_init needs for n parameters (2n). */
size_t adamw_state_floats(size_t n);
/* torch defaults; state (adamw_state_floats(n) floats) is zeroed. */
void adamw_init(adamw *opt, float *state, size_t n);
void adamw_step(adamw *opt, float *params, const float *grads, const param_group *groups,
                int n_groups, float lr_factor);

/* Global L2 norm of the groups' gradients; if it exceeds max_norm, scales them by
 * max_norm / (norm + 1e-6) (torch). Returns the norm before clipping. */
double grad_clip_norm(float *grads, const param_group *groups, int n_groups, double max_norm);

/* Learning-rate factor of step (0-based) out of total with warm warm-up steps:
 * (step+1)/warm during warm-up, then 0.5 (1 + cos(pi (step-warm) / max(1, total-warm))). */
double lr_schedule(long step, long total, long warm);

#endif
