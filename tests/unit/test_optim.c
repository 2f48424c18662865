/* model/optim: SGD and AdamW per parameter group, global-norm clipping and the warm-up +
 * cosine schedule, against closed forms (not against a second implementation):
 * - Adam with a constant gradient g has bias-corrected moments m^ = g and v^ = g^2 at
 *   every step, so torch's AdamW moves p <- p (1 - lr wd) - lr g / (|g| + eps) exactly
 *   (up to float rounding) at every step.
 * - with gradients that vary in sign and size, the same update written out in double
 *   (catches a wrong beta1 / beta2, which the constant gradient cannot).
 * - clip_grad_norm_ of (3, 4) to 1 gives (3, 4) / (5 + 1e-6).
 * - the schedule is (step+1)/warm, then 0.5 (1 + cos(pi t / span)). */
#include "model/optim.h"
#include "tests/support/check.h"

#include <math.h>

static void sgd_uses_each_groups_rate(void)
{
    float p[4] = {1, 1, 1, 1};
    const float g[4] = {1, 2, 3, 4};
    param_group groups[2] = {{.offset = 0, .count = 2, .lr = 1e-3f}, {.offset = 2, .count = 2, .lr = 1e-2f}};
    sgd_step(p, g, groups, 2, 0.5f);
    CHECK_NEAR(p[0], 1 - 0.5e-3, 1e-7);
    CHECK_NEAR(p[1], 1 - 1e-3, 1e-7);
    CHECK_NEAR(p[2], 1 - 1.5e-2, 1e-7);
    CHECK_NEAR(p[3], 1 - 2e-2, 1e-7);
}

static void adamw_constant_gradient_follows_closed_form(void)
{
    float p[4] = {0.5f, -0.25f, 2.0f, 1.0f}, state[8];
    const float g[4] = {0.3f, -2.0f, 1e-3f, 0.0f};
    double want[4];
    for (int i = 0; i < 4; i++)
        want[i] = p[i];
    param_group groups[2] = {{.offset = 0, .count = 2, .lr = 3e-4f, .weight_decay = 1e-2f},
                             {.offset = 2, .count = 2, .lr = 3e-3f, .weight_decay = 0.1f}};
    adamw opt;
    adamw_init(&opt, state, 4);
    for (int t = 0; t < 20; t++) {
        double f = 0.5 + 0.025 * t; /* a changing schedule factor */
        adamw_step(&opt, p, g, groups, 2, (float)f);
        for (int i = 0; i < 4; i++) {
            const param_group *G = &groups[i / 2];
            double lr = G->lr * (float)f;
            want[i] = want[i] * (1 - lr * G->weight_decay) - lr * g[i] / (fabs(g[i]) + 1e-8);
        }
    }
    CHECK(opt.step == 20);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(p[i], want[i], 2e-6);
}

/* Gradients that change in sign and size every step (a constant gradient hides beta1 and
 * beta2 behind the bias correction): torch.optim.AdamW's update written out in double,
 *   p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
 *   p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),
 * with b1 = 0.9, b2 = 0.999, eps = 1e-8 written here, not read from the optimizer. */
static void adamw_varying_gradients_follow_the_double_recurrence(void)
{
    enum { N = 6, STEPS = 60 };
    float p[N] = {0.5f, -0.25f, 2.0f, 1.0f, -3.0f, 0.0f}, state[2 * N];
    double want[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++)
        want[i] = p[i];
    param_group groups[2] = {{.offset = 0, .count = 3, .lr = 1e-2f, .weight_decay = 1e-2f},
                             {.offset = 3, .count = 3, .lr = 3e-2f, .weight_decay = 0.1f}};
    adamw opt;
    adamw_init(&opt, state, N);
    double worst = 0, moved = 0;
    for (int t = 1; t <= STEPS; t++) {
        float g[N];
        for (int i = 0; i < N; i++) /* sign flips and a magnitude growing 100x over the run */
            g[i] = (float)(sin(0.7 * t + i) * (0.01 + 0.02 * t * (i + 1)) + (t % 7 == 0 ? 0.5 : 0.0));
        double f = 0.5 + 0.01 * t;
        adamw_step(&opt, p, g, groups, 2, (float)f);
        for (int i = 0; i < N; i++) {
            const param_group *G = &groups[i / 3];
            double lr = (double)(G->lr * (float)f), gd = g[i];
            want[i] *= 1 - lr * G->weight_decay;
            m[i] = 0.9 * m[i] + 0.1 * gd;
            v[i] = 0.999 * v[i] + 0.001 * gd * gd;
            double mh = m[i] / (1 - pow(0.9, t)), vh = v[i] / (1 - pow(0.999, t));
            want[i] -= lr * mh / (sqrt(vh) + 1e-8);
            double d = fabs(p[i] - want[i]);
            worst = d > worst ? d : worst;
        }
    }
    for (int i = 0; i < N; i++)
        moved += fabs(want[i]);
    CHECK(opt.step == STEPS && moved > 1);
    /* float32 state vs double: a few ulps per step; beta2 = 0.99 moves p by > 1e-3 */
    CHECK_MSG(worst < 2e-5, "largest difference from the double recurrence %.3g", worst);
}

static void clip_scales_to_max_norm(void)
{
    float g[3] = {3, 4, 100};
    param_group groups[1] = {{.offset = 0, .count = 2}}; /* the third float is not a parameter */
    double norm = grad_clip_norm(g, groups, 1, 1.0);
    CHECK_NEAR(norm, 5.0, 1e-12);
    CHECK_NEAR(g[0], 3 / (5 + 1e-6), 1e-7);
    CHECK_NEAR(g[1], 4 / (5 + 1e-6), 1e-7);
    CHECK(g[2] == 100);
    float h[2] = {0.3f, 0.4f};
    CHECK_NEAR(grad_clip_norm(h, groups, 1, 1.0), 0.5, 1e-7);
    CHECK(h[0] == 0.3f && h[1] == 0.4f); /* below the limit: untouched */
}

static void schedule_warms_up_then_cosine_decays(void)
{
    CHECK_NEAR(lr_schedule(0, 104, 4), 0.25, 1e-12);
    CHECK_NEAR(lr_schedule(3, 104, 4), 1.0, 1e-12);
    CHECK_NEAR(lr_schedule(4, 104, 4), 1.0, 1e-12);
    CHECK_NEAR(lr_schedule(54, 104, 4), 0.5, 1e-12);
    CHECK_NEAR(lr_schedule(104, 104, 4), 0.0, 1e-12);
    CHECK_NEAR(lr_schedule(0, 1, 0), 1.0, 1e-12);
}

int main(void)
{
    RUN_TEST(sgd_uses_each_groups_rate);
    RUN_TEST(adamw_constant_gradient_follows_closed_form);
    RUN_TEST(adamw_varying_gradients_follow_the_double_recurrence);
    RUN_TEST(clip_scales_to_max_norm);
    RUN_TEST(schedule_warms_up_then_cosine_decays);
    return test_summary();
}
