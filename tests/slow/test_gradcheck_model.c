/* Whole-model gradient check of C2Seg (tiny preset, bcam_kgate, batch 2, train-mode
 * BatchNorm): the analytic gradient of the stage-II loss (c2seg_backward) against
 * central finite differences through the full float forward, on the reference's
 * golden inputs and weights.
 *
 * The layers' fast paths are float only, so the differences are taken in float:
 * - per tensor, a directional derivative: every element moves by ±eta (a seeded
 *   random sign), eta = 1e-5 * max(rms(tensor), 0.1); the check is
 *   |(L(p+d) - L(p-d))/2 - g.d| <= 3e-2 |g.d| + 2e-6 (the absolute term is float
 *   rounding of a loss near 1: a few ulps over 2 forwards);
 * - per sampled scalar (every 7th tensor, the largest |g| in each of 3 strides so the
 *   difference stays above rounding): the same with step 3e-5 * max(|p|, 0.1).
 * Conv biases that feed a train-mode BatchNorm have an exactly-zero gradient; for
 * them both sides must be below the absolute term.
 * Kinks: at batch 2 and 1x1 / 2x2 maps, some ReLU inputs sit within ~1e-4 of 0, and a
 * central difference whose step crosses one measures the mean of the two one-sided
 * slopes: a bias that does not shrink with the step (measured: ~10% on norm3.weight
 * at steps 1e-3 and 3e-4, gone at 1e-4). Hence steps of 1e-5 / 3e-5, the smallest
 * at which float rounding stays well under the 3e-2 bound (docs/model.md).  */
#include "io/torch_dump.h"
#include "model/model.h"
#include "tests/support/check.h"
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static c2seg_model m;
static c2seg_workspace w;
static torch_dump d;
static const float *img, *gt, *tokens;
static const int32_t *mask;
static const int B = 2;

static double loss_at(void)
{
    c2seg_forward(&m, &w, img, tokens, mask, B, 1);
    return seg_loss_forward(NULL, NULL, w.acts.logits, gt, B, (size_t)m.cfg.img * m.cfg.img);
}

static int feeds_bn(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".bias") == 0 &&
           (strstr(name, ".conv1.") || strstr(name, ".conv2.") || strstr(name, ".dwconv."));
}

static uint64_t rng = 0x1234567;
static int coin(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (int)(rng >> 63);
}

/* |fd - an| within the documented bound; prints the failures. */
static int close_enough(const char *what, double fd, double an, int zero)
{
    double bound = zero ? 2e-6 : 3e-2 * fabs(an) + 2e-6;
    int ok = zero ? fabs(fd) <= bound && fabs(an) <= bound : fabs(fd - an) <= bound;
    if (!ok)
        fprintf(stderr, "  %s: finite difference %.6e, analytic %.6e\n", what, fd, an);
    return ok;
}

static void test_directional_every_tensor(void)
{
    int checked = 0, bad = 0;
    float *delta = malloc(m.n_params * sizeof(float));
    for (int i = 0; i < m.n_tensors; i++) {
        const c2seg_tensor_info *t = &m.tensors[i];
        if (t->kind != C2SEG_PARAM || t->group == C2SEG_GROUP_HEADS)
            continue;
        float *p = m.params + t->offset;
        const float *g = m.grads + t->offset;
        double ss = 0, an = 0;
        for (int64_t j = 0; j < t->numel; j++)
            ss += (double)p[j] * p[j];
        float eta = (float)(1e-5 * fmax(sqrt(ss / (double)t->numel), 0.1));
        for (int64_t j = 0; j < t->numel; j++) {
            delta[j] = coin() ? eta : -eta;
            an += (double)g[j] * delta[j];
        }
        for (int64_t j = 0; j < t->numel; j++)
            p[j] += delta[j];
        double lp = loss_at();
        for (int64_t j = 0; j < t->numel; j++)
            p[j] -= 2 * delta[j];
        double lm = loss_at();
        for (int64_t j = 0; j < t->numel; j++)
            p[j] += delta[j];
        checked++;
        bad += !close_enough(t->name, (lp - lm) / 2, an, feeds_bn(t->name));
    }
    free(delta);
    CHECK_MSG(bad == 0, "%d of %d tensors off", bad, checked);
    CHECK(checked > 200);
}

static void test_sampled_scalars(void)
{
    int checked = 0, bad = 0, k = 0;
    for (int i = 0; i < m.n_tensors; i++) {
        const c2seg_tensor_info *t = &m.tensors[i];
        if (t->kind != C2SEG_PARAM || t->group == C2SEG_GROUP_HEADS || feeds_bn(t->name) || k++ % 7)
            continue;
        float *p = m.params + t->offset;
        const float *g = m.grads + t->offset;
        for (int s = 0; s < 3; s++) {
            int64_t best = 0;   /* the s-th largest |g| in a stride, to stay above rounding */
            for (int64_t j = s; j < t->numel; j += 3)
                if (fabsf(g[j]) > fabsf(g[best]))
                    best = j;
            float h = 3e-5f * fmaxf(fabsf(p[best]), 0.1f), keep = p[best];
            p[best] = keep + h;
            double lp = loss_at();
            p[best] = keep - h;
            double lm = loss_at();
            p[best] = keep;
            char what[96];
            snprintf(what, sizeof what, "%s[%lld]", t->name, (long long)best);
            checked++;
            bad += !close_enough(what, (lp - lm) / 2, (double)g[best] * h, 0);
        }
    }
    CHECK_MSG(bad == 0, "%d of %d scalars off", bad, checked);
    CHECK(checked > 60);
}

int main(void)
{
    c2_err e = {0};
    int rc = torch_dump_load(&d, shared_path("reference/golden_tiny_eval"), &e);
    if (rc == C2_OK)
        rc = torch_import_model(&m, &d, "golden_tiny_eval", &d, "golden_tiny_eval", &e);
    if (rc == C2_OK)
        rc = c2seg_workspace_create(&w, &m, B, &e);
    if (rc != C2_OK) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return 1;
    }
    img = torch_dump_f32(&d, "in.image");
    gt = torch_dump_f32(&d, "in.gt");
    tokens = torch_dump_f32(&d, "in.text_tokens");
    mask = torch_dump_find(&d, "in.text_mask")->data;
    c2seg_zero_grads(&m, &w);
    loss_at();
    float *dlogits = w.grads.logits;
    seg_loss_backward(dlogits, w.acts.logits, gt, B, (size_t)m.cfg.img * m.cfg.img, 1.0f);
    c2seg_backward(&m, &w, dlogits, mask, B, 1);
    RUN_TEST(test_directional_every_tensor);
    RUN_TEST(test_sampled_scalars);
    c2seg_workspace_free(&w);
    c2seg_model_free(&m);
    torch_dump_free(&d);
    return test_summary();
}
