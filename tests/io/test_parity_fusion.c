/* Parity with the PyTorch reference (../shared/reference/golden_*): BCAM + K-Gate
 * (fuse4, fuse5) from the dumped t4 / t5, La and text mask, against every recorded
 * fusion activation; CaCL / HardCL against the cacl.* tensors and gradients.
 * Tolerances: forward max |c − torch| ≤ 1e-5 · max|torch| per tensor; gradients
 * ‖c − torch‖ / ‖torch‖ ≤ 1e-4 (README: max(10·f64_check, 1e-4)). */
#include "io/torch_dump.h"
#include "model/cacl.h"
#include "model/fusion.h"
#include "tests/support/check.h"
#include "tests/support/reference.h"

#include <stdlib.h>
#include <string.h>

static const float *need(const torch_dump *d, const char *name)
{
    const float *t = torch_dump_f32(d, name);
    CHECK_MSG(t != NULL, "%s missing from the dump", name);
    return t;
}

/* Max |a − ref| against 1e-5 · max|ref|; prints the ratio. */
static void compare_forward(const torch_dump *d, const char *name, const float *a, size_t n)
{
    const torch_tensor *t = torch_dump_find(d, name);
    CHECK_MSG(t && (size_t)t->numel == n, "%s: shape differs", name);
    if (!t || (size_t)t->numel != n)
        return;
    torch_diff f = torch_diff_f32(a, t->data, t->numel);
    double err = f.max_err, scale = f.max_ref;
    fprintf(stderr, "  %-16s max err %.3g  (%.3g of max %.3g)\n", name, err, err / fmax(scale, 1e-30), scale);
    CHECK_MSG(err <= 1e-5 * scale, "%s max err %g > 1e-5 x %g", name, err, scale);
}

static void compare_grad(const torch_dump *d, const char *name, const float *a, size_t n)
{
    const float *ref = need(d, name);
    if (!ref)
        return;
    torch_diff f = torch_diff_f32(a, ref, (int64_t)n);
    fprintf(stderr, "  %-16s rel err %.3g\n", name, f.err_norm / f.ref_norm);
    CHECK(f.err_norm <= 1e-4 * f.ref_norm);
}

static void kan_from_dump(kan_linear_params *k, const torch_dump *d, const char *prefix)
{
    char n[200];
    snprintf(n, sizeof n, "%s.base_weight", prefix);
    k->base_weight = (float *)need(d, n);
    snprintf(n, sizeof n, "%s.spline_weight", prefix);
    k->spline_weight = (float *)need(d, n);
    snprintf(n, sizeof n, "%s.spline_scaler", prefix);
    k->spline_scaler = (float *)need(d, n);
    snprintf(n, sizeof n, "%s.grid", prefix);
    const float *grid = need(d, n);
    for (int i = 0; grid && i < KAN_NKNOTS; i++)   /* fusion.c uses one shared knot vector */
        CHECK(grid[i] == kan_default_grid[i]);
}

static void fusion_parity(const torch_dump *d, const char *mod, const char *input)
{
    char n[200], pre[64];
    const torch_tensor *x = torch_dump_find(d, input), *La = torch_dump_find(d, "act.txt_adapt");
    const torch_tensor *m = torch_dump_find(d, "in.text_mask");
    CHECK(x && La && m && x->ndim == 4 && La->ndim == 3 && m->is_int32);
    if (!x || !La || !m)
        return;
    bcam_dims dims = {.B = (int)x->shape[0], .C = (int)x->shape[1],
                      .P = (int)(x->shape[2] * x->shape[3]), .N = (int)La->shape[1],
                      .ca = (int)La->shape[2], .kgate = 1};
    bcam_params p;
    snprintf(pre, sizeof pre, "param.%s", mod);
#define P_(field, suffix) (snprintf(n, sizeof n, "%s.%s", pre, suffix), p.field = (float *)need(d, n))
    P_(ln_v_weight, "ln_v.weight"); P_(ln_v_bias, "ln_v.bias");
    P_(ln_l_weight, "ln_l.weight"); P_(ln_l_bias, "ln_l.bias");
    P_(out_weight, "out.weight"); P_(out_bias, "out.bias");
#undef P_
    const char *kn[8] = {"v_key", "v_val", "l_key", "l_val", "gate_v.kan1", "gate_v.kan2",
                         "gate_l.kan1", "gate_l.kan2"};
    kan_linear_params *kp[8] = {&p.v_key, &p.v_val, &p.l_key, &p.l_val, &p.gate_v1, &p.gate_v2,
                                &p.gate_l1, &p.gate_l2};
    for (int k = 0; k < 8; k++) {
        snprintf(n, sizeof n, "%s.%s", pre, kn[k]);
        kan_from_dump(kp[k], d, n);
    }
    if (check_failed_in_test)
        return;
    float *abuf = malloc(bcam_act_floats(&dims) * sizeof(float));
    float *scratch = malloc(bcam_scratch_floats(&dims) * sizeof(float));
    bcam_acts a;
    bcam_acts_carve(&a, abuf, &dims);
    bcam_forward(&a, x->data, La->data, m->data, &p, kan_default_grid, &dims, scratch);
    size_t PN = (size_t)dims.B * dims.P * dims.N, PC = (size_t)dims.B * dims.P * dims.C;
    const char *names[8] = {"A", "Sv", "Sl", "Fv", "Fl", "gv", "gl", "out"};
    const float *mine[8] = {a.A, a.Sv, a.Sl, a.Fv, a.Fl, a.gv, a.gl, a.out};
    size_t sizes[8] = {PN, PN, PN, PC, PC, PC, PC, PC};
    for (int k = 0; k < 8; k++) {
        snprintf(n, sizeof n, "act.%s.%s", mod, names[k]);
        compare_forward(d, n, mine[k], sizes[k]);
    }
    free(abuf);
    free(scratch);
}

/* cacl.*: 8 captions' pooled text, random 32-d v_raw / l_raw (every dump has them). */
static void cacl_parity(const torch_dump *d)
{
    const torch_tensor *pooled = torch_dump_find(d, "cacl.pooled"), *vr = torch_dump_find(d, "cacl.v_raw");
    const float *lr = need(d, "cacl.l_raw");
    CHECK(pooled && vr && lr);
    if (!pooled || !vr || !lr)
        return;
    int B = (int)pooled->shape[0], DP = (int)pooled->shape[1], D = (int)vr->shape[1];
    size_t BB = (size_t)B * B;
    float *Y = malloc(4 * BB * sizeof(float)), *M = Y + BB, *Mp = M + BB, *Yh = Mp + BB;
    float *s = malloc(BB * sizeof(float)), *v = malloc(2 * (size_t)B * D * sizeof(float)), *l = v + B * D;
    float *g = calloc(2 * (size_t)B * D, sizeof(float));
    float *scratch = malloc(contrastive_scratch_floats(B, D) * sizeof(float));
    cacl_targets(Y, M, Mp, Yh, pooled->data, B, DP, (float)CACL_TAU, (float)CACL_RHO);
    compare_forward(d, "cacl.M", M, BB);
    compare_forward(d, "cacl.Mp", Mp, BB);
    compare_forward(d, "cacl.Yhat", Yh, BB);
    compare_forward(d, "cacl.Y", Y, BB);
    float v2l, l2v;
    float L = contrastive_forward(&v2l, &l2v, s, v, l, vr->data, lr, Y, B, D, (float)CACL_TAU);
    compare_forward(d, "cacl.s", s, BB);
    compare_forward(d, "cacl.loss", &L, 1);
    compare_forward(d, "cacl.loss_v2l", &v2l, 1);
    compare_forward(d, "cacl.loss_l2v", &l2v, 1);
    contrastive_backward(g, g + B * D, 1.0f, s, v, l, vr->data, lr, Y, B, D, (float)CACL_TAU, scratch);
    compare_grad(d, "cacl.grad_v_raw", g, (size_t)B * D);
    compare_grad(d, "cacl.grad_l_raw", g + B * D, (size_t)B * D);
    float H = contrastive_forward(NULL, NULL, s, v, l, vr->data, lr, NULL, B, D, (float)CACL_TAU);
    compare_forward(d, "cacl.hard_loss", &H, 1);
    free(Y); free(s); free(v); free(g); free(scratch);
}

/* out.cacl_loss: CaCL of the model's own stage-I embeddings (B = 2, eval dumps). */
static void model_cacl_parity(const torch_dump *d)
{
    const torch_tensor *vr = torch_dump_find(d, "out.v_raw"), *pooled = torch_dump_find(d, "in.text_pooled");
    const float *lr = need(d, "out.l_raw");
    CHECK(vr && pooled && lr);
    if (!vr || !pooled || !lr)
        return;
    int B = (int)vr->shape[0], D = (int)vr->shape[1], DP = (int)pooled->shape[1];
    float Y[4 * 4 * 4], s[16], *v = malloc(2 * (size_t)B * D * sizeof(float));
    CHECK(B <= 4);
    cacl_targets(Y, Y + 16, Y + 32, Y + 48, pooled->data, B, DP, (float)CACL_TAU, (float)CACL_RHO);
    float L = contrastive_forward(NULL, NULL, s, v, v + B * D, vr->data, lr, Y, B, D, (float)CACL_TAU);
    compare_forward(d, "out.cacl_loss", &L, 1);
    free(v);
}

static void run_dump(const char *name, int eval)
{
    torch_dump d;
    char rel[128];
    snprintf(rel, sizeof rel, "reference/%s", name);
    if (!reference_load(&d, rel))
        return;
    fprintf(stderr, " %s\n", name);
    if (eval) {
        fusion_parity(&d, "fuse4", "act.norm3");
        fusion_parity(&d, "fuse5", "act.norm4");
        model_cacl_parity(&d);
    }
    cacl_parity(&d);
    torch_dump_free(&d);
}

static void golden_tiny_eval(void) { run_dump("golden_tiny_eval", 1); }
static void golden_small_eval(void) { run_dump("golden_small_eval", 1); }
static void golden_tiny_train_cacl(void) { run_dump("golden_tiny_train", 0); }
static void golden_small_train_cacl(void) { run_dump("golden_small_train", 0); }

int main(void)
{
    RUN_TEST(golden_tiny_eval);
    RUN_TEST(golden_small_eval);
    RUN_TEST(golden_tiny_train_cacl);
    RUN_TEST(golden_small_train_cacl);
    return test_summary();
}
