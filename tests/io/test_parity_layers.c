/* Parity of the engine's layers with the PyTorch reference on its golden dumps
 * (../shared/reference/golden_{tiny,small}_{eval,train}), module by module where the
 * module's input is in the dump:
 * - eval: enc1 from in.image, enc2 / enc3 from act.enc1 / act.enc2 (ConvLayer, maxpool,
 *   ReLU, BN with running statistics); pe3 / pe4 (conv stride 2, tokens, LayerNorm) from
 *   act.enc3 / act.norm3; norm3 / norm4 from act.block1 / act.block2; dec3, dec4, dec5
 *   (ConvLayer, up2, ReLU, skip add) and final (1x1) from act.dblock2 and the skips;
 *   BCE + Dice from out.logits and in.gt.
 * - train: the encoder ConvLayers in train mode from in.image against the post-step BN
 *   running statistics (unbiased variance) and num_batches_tracked; the decoder tail
 *   (dec3 .. final) from act.dblock2 against out.logits, and its backward from the
 *   BCE + Dice loss against grad.{dec3,dec4,dec5,final}.*; the SGD step against
 *   post.final.*.
 * Tolerances: activations max |c - torch| <= 1e-5 * max |torch| (float32, different
 * summation order); gradients ||c - torch|| / ||torch|| <= max(10 * f64_check, 1e-4), the
 * reference's own float32 noise floor, except conv biases that feed a train-mode BN,
 * whose true gradient is exactly 0: there ||c - torch|| <= 1e-5 absolute. */
#include "io/torch_dump.h"
#include "model/model.h"
#include "tests/support/check.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const float *param(const torch_dump *d, const char *fmt, const char *module)
{
    char name[200];
    snprintf(name, sizeof name, fmt, module);
    const float *p = torch_dump_f32(d, name);
    CHECK_MSG(p != NULL, "missing %s", name);
    return p;
}

static void check_act(const char *what, const float *got, const float *want, size_t n)
{
    torch_diff f = torch_diff_f32(got, want, (int64_t)n);
    CHECK_MSG(f.max_err <= 1e-5 * f.max_ref, "%s: max error %.3g, max |torch| %.3g", what, f.max_err, f.max_ref);
}

static float *floats(size_t n)
{
    return calloc(n ? n : 1, sizeof(float));
}

/* ConvLayer (conv3x3 BN ReLU conv3x3 BN ReLU) with everything backward needs. */
typedef struct convlayer {
    char name[32];
    int B, C, mid, OC, H, W;
    const float *w1, *b1, *g1, *be1, *w2, *b2, *g2, *be2;
    float rm1[512], rv1[512], rm2[512], rv2[512];
    int32_t nbt1, nbt2;
    const float *x;
    float *c1, *n1, *r1, *c2, *n2, *out, *scratch;
    float mean1[512], rstd1[512], mean2[512], rstd2[512];
    float *dw1, *db1, *dg1, *dbe1, *dw2, *db2, *dg2, *dbe2;
} convlayer;

static void convlayer_init(convlayer *L, const torch_dump *params, const char *name, int B,
                           int C, int mid, int OC, int H, int W)
{
    memset(L, 0, sizeof *L);
    snprintf(L->name, sizeof L->name, "%s", name);
    L->B = B, L->C = C, L->mid = mid, L->OC = OC, L->H = H, L->W = W;
    L->w1 = param(params, "param.%s.conv1.weight", name);
    L->b1 = param(params, "param.%s.conv1.bias", name);
    L->g1 = param(params, "param.%s.bn1.weight", name);
    L->be1 = param(params, "param.%s.bn1.bias", name);
    L->w2 = param(params, "param.%s.conv2.weight", name);
    L->b2 = param(params, "param.%s.conv2.bias", name);
    L->g2 = param(params, "param.%s.bn2.weight", name);
    L->be2 = param(params, "param.%s.bn2.bias", name);
    memcpy(L->rm1, param(params, "param.%s.bn1.running_mean", name), mid * sizeof(float));
    memcpy(L->rv1, param(params, "param.%s.bn1.running_var", name), mid * sizeof(float));
    memcpy(L->rm2, param(params, "param.%s.bn2.running_mean", name), OC * sizeof(float));
    memcpy(L->rv2, param(params, "param.%s.bn2.running_var", name), OC * sizeof(float));
    size_t HW = (size_t)H * W;
    L->c1 = floats(B * mid * HW), L->n1 = floats(B * mid * HW), L->r1 = floats(B * mid * HW);
    L->c2 = floats(B * OC * HW), L->n2 = floats(B * OC * HW), L->out = floats(B * OC * HW);
    int cmax = C > mid ? C : mid;
    L->scratch = floats(conv2d_scratch_floats(cmax, H, W, 3, 1));
    L->dw1 = floats((size_t)mid * C * 9), L->db1 = floats(mid), L->dg1 = floats(mid);
    L->dbe1 = floats(mid), L->dw2 = floats((size_t)OC * mid * 9), L->db2 = floats(OC);
    L->dg2 = floats(OC), L->dbe2 = floats(OC);
}

static void convlayer_free(convlayer *L)
{
    float *p[] = {L->c1, L->n1, L->r1, L->c2, L->n2, L->out, L->scratch, L->dw1, L->db1,
                  L->dg1, L->dbe1, L->dw2, L->db2, L->dg2, L->dbe2};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
}

static void convlayer_forward(convlayer *L, const float *x, int train)
{
    int B = L->B, H = L->H, W = L->W, HW = H * W;
    L->x = x;
    conv2d_forward(L->c1, L->scratch, x, L->w1, L->b1, B, L->C, H, W, L->mid, 3, 1);
    batchnorm_forward(L->n1, L->mean1, L->rstd1, L->c1, L->g1, L->be1, L->rm1, L->rv1, &L->nbt1,
                      train, B, L->mid, HW);
    relu_forward(L->r1, L->n1, (size_t)B * L->mid * HW);
    conv2d_forward(L->c2, L->scratch, L->r1, L->w2, L->b2, B, L->mid, H, W, L->OC, 3, 1);
    batchnorm_forward(L->n2, L->mean2, L->rstd2, L->c2, L->g2, L->be2, L->rm2, L->rv2, &L->nbt2,
                      train, B, L->OC, HW);
    relu_forward(L->out, L->n2, (size_t)B * L->OC * HW);
}

/* dx (+=) from dout; parameter grads accumulate in L (train-mode BN). */
static void convlayer_backward(convlayer *L, float *dx, const float *dout)
{
    int B = L->B, H = L->H, W = L->W, HW = H * W;
    size_t n1 = (size_t)B * L->mid * HW, n2 = (size_t)B * L->OC * HW;
    float *dn2 = floats(n2), *dc2 = floats(n2), *dr1 = floats(n1), *dn1 = floats(n1),
          *dc1 = floats(n1);
    relu_backward(dn2, dout, L->n2, n2);
    batchnorm_backward(dc2, L->dg2, L->dbe2, dn2, L->c2, L->mean2, L->rstd2, L->g2, 1, B, L->OC, HW);
    conv2d_backward(dr1, L->dw2, L->db2, L->scratch, dc2, L->r1, L->w2, B, L->mid, H, W, L->OC, 3, 1);
    relu_backward(dn1, dr1, L->n1, n1);
    batchnorm_backward(dc1, L->dg1, L->dbe1, dn1, L->c1, L->mean1, L->rstd1, L->g1, 1, B, L->mid, HW);
    conv2d_backward(dx, L->dw1, L->db1, L->scratch, dc1, L->x, L->w1, B, L->C, H, W, L->mid, 3, 1);
    free(dn2), free(dc2), free(dr1), free(dn1), free(dc1);
}

static int load(torch_dump *d, const char *rel)
{
    c2_err e = {0};
    int rc = torch_dump_load(d, shared_path(rel), &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    return rc;
}

static int dump_dims(const torch_dump *d, int *c0, int *img, int *B)
{
    const torch_tensor *t = torch_dump_find(d, "in.image");
    const torch_tensor *e1 = torch_dump_find(d, "act.enc3");
    if (!t)
        return -1;
    *B = (int)t->shape[0], *img = (int)t->shape[2];
    *c0 = e1 ? (int)e1->shape[1] : 0;
    return 0;
}

/* t = ReLU(maxpool(ConvLayer(x))) for encoder stage k (1-based) */
static void encoder_stage(convlayer *L, float *t, const float *x, int train)
{
    convlayer_forward(L, x, train);
    maxpool2_forward(t, L->out, L->B, L->OC, L->H, L->W);
    relu_forward(t, t, (size_t)L->B * L->OC * (L->H / 2) * (L->W / 2));
}

/* x_out = ReLU(up2(ConvLayer(x))) (+ skip); up is the pre-ReLU upsampled map (for backward). */
static void decoder_stage(convlayer *L, float *up, float *x_out, const float *x, const float *skip,
                          int train)
{
    convlayer_forward(L, x, train);
    size_t n = (size_t)L->B * L->OC * 4 * L->H * L->W;
    upsample2_forward(up, L->out, L->B, L->OC, L->H, L->W);
    relu_forward(x_out, up, n);
    if (skip)
        add_forward(x_out, x_out, skip, n);
}

static void pe_and_norm_match(const torch_dump *d, const char *pe, const char *in_name,
                              const char *out_name, int B, int C, int OC, int h)
{
    int ho = h / 2, P = ho * ho;
    const float *x = torch_dump_f32(d, in_name), *want = torch_dump_f32(d, out_name);
    if (!x || !want)
        return;
    float *conv = floats((size_t)B * OC * P), *tok = floats((size_t)B * OC * P);
    float *ln = floats((size_t)B * OC * P), *map = floats((size_t)B * OC * P);
    float *scratch = floats(conv2d_scratch_floats(C, h, h, 3, 2)), *mean = floats((size_t)B * P),
          *rstd = floats((size_t)B * P);
    conv2d_forward(conv, scratch, x, param(d, "param.%s.proj.weight", pe),
                   param(d, "param.%s.proj.bias", pe), B, C, h, h, OC, 3, 2);
    map_to_tokens_forward(tok, conv, B, OC, P);
    layernorm_forward(ln, mean, rstd, tok, param(d, "param.%s.norm.weight", pe),
                      param(d, "param.%s.norm.bias", pe), B * P, OC);
    tokens_to_map_forward(map, ln, B, OC, P);
    check_act(out_name, map, want, (size_t)B * OC * P);
    free(conv), free(tok), free(ln), free(map), free(scratch), free(mean), free(rstd);
}

static void norm_matches(const torch_dump *d, const char *norm, const char *in_name,
                         const char *out_name)
{
    const torch_tensor *t = torch_dump_find(d, in_name);
    const float *want = torch_dump_f32(d, out_name);
    if (!t || !want)
        return;
    int B = (int)t->shape[0], C = (int)t->shape[1], P = (int)(t->shape[2] * t->shape[3]);
    size_t n = (size_t)B * C * P;
    float *tok = floats(n), *ln = floats(n), *map = floats(n), *mean = floats((size_t)B * P),
          *rstd = floats((size_t)B * P);
    map_to_tokens_forward(tok, t->data, B, C, P);
    layernorm_forward(ln, mean, rstd, tok, param(d, "param.%s.weight", norm),
                      param(d, "param.%s.bias", norm), B * P, C);
    tokens_to_map_forward(map, ln, B, C, P);
    check_act(out_name, map, want, n);
    free(tok), free(ln), free(map), free(mean), free(rstd);
}

static void check_eval_dump(const char *rel)
{
    torch_dump d = {0};
    if (load(&d, rel) != C2_OK)
        return;
    int c0 = 0, S = 0, B = 0;
    CHECK(dump_dims(&d, &c0, &S, &B) == 0 && c0 >= 8);
    int ch[3] = {c0 / 8, c0 / 4, c0};
    const torch_tensor *b1 = torch_dump_find(&d, "act.block1"), *b2 = torch_dump_find(&d, "act.block2");
    int c1 = (int)b1->shape[1], c2 = (int)b2->shape[1];
    /* encoder */
    const char *enc_in[3] = {"in.image", "act.enc1", "act.enc2"};
    const char *enc_out[3] = {"act.enc1", "act.enc2", "act.enc3"};
    const char *enc_name[3] = {"enc1", "enc2", "enc3"};
    for (int k = 0; k < 3; k++) {
        convlayer L;
        int h = S >> k, cin = k ? ch[k - 1] : 1;
        convlayer_init(&L, &d, enc_name[k], B, cin, ch[k], ch[k], h, h);
        float *t = floats((size_t)B * ch[k] * (h / 2) * (h / 2));
        encoder_stage(&L, t, torch_dump_f32(&d, enc_in[k]), 0);
        check_act(enc_out[k], t, torch_dump_f32(&d, enc_out[k]), (size_t)B * ch[k] * (h / 2) * (h / 2));
        CHECK(L.nbt1 == 0); /* eval mode updates nothing */
        free(t);
        convlayer_free(&L);
    }
    pe_and_norm_match(&d, "pe3", "act.enc3", "act.pe3", B, c0, c1, S / 8);
    pe_and_norm_match(&d, "pe4", "act.norm3", "act.pe4", B, c1, c2, S / 16);
    norm_matches(&d, "norm3", "act.block1", "act.norm3");
    norm_matches(&d, "norm4", "act.block2", "act.norm4");
    /* decoder tail: dec3 (c0 -> c0/4, mid c0), dec4 (c0/4 -> c0/8), dec5 (c0/8 -> c0/8) */
    const char *dec_in[3] = {"act.dblock2", "act.dec3", "act.dec4"};
    const char *dec_skip[3] = {"act.enc2", "act.enc1", NULL};
    const char *dec_out[3] = {"act.dec3", "act.dec4", "act.dec5"};
    const char *dec_name[3] = {"dec3", "dec4", "dec5"};
    int dec_c[4] = {c0, c0 / 4, c0 / 8, c0 / 8};
    for (int k = 0; k < 3; k++) {
        convlayer L;
        int h = S >> (3 - k);
        convlayer_init(&L, &d, dec_name[k], B, dec_c[k], dec_c[k], dec_c[k + 1], h, h);
        size_t n = (size_t)B * dec_c[k + 1] * 4 * h * h;
        float *up = floats(n), *x = floats(n);
        decoder_stage(&L, up, x, torch_dump_f32(&d, dec_in[k]),
                      dec_skip[k] ? torch_dump_f32(&d, dec_skip[k]) : NULL, 0);
        check_act(dec_out[k], x, torch_dump_f32(&d, dec_out[k]), n);
        free(up), free(x);
        convlayer_free(&L);
    }
    size_t npix = (size_t)B * S * S;
    float *logits = floats(npix);
    conv2d_forward(logits, NULL, torch_dump_f32(&d, "act.dec5"), param(&d, "param.%s.weight", "final"),
                   param(&d, "param.%s.bias", "final"), B, c0 / 8, S, S, 1, 1, 1);
    check_act("act.final", logits, torch_dump_f32(&d, "act.final"), npix);
    free(logits);
    torch_dump_free(&d);
}

static void eval_modules_match_tiny(void) { check_eval_dump("reference/golden_tiny_eval"); }
static void eval_modules_match_small(void) { check_eval_dump("reference/golden_small_eval"); }

static void check_seg_loss(const char *rel)
{
    torch_dump d = {0};
    if (load(&d, rel) != C2_OK)
        return;
    const torch_tensor *lg = torch_dump_find(&d, "out.logits");
    int B = (int)lg->shape[0];
    size_t n_per = (size_t)(lg->numel / B);
    float bce, dice;
    float loss = seg_loss_forward(&bce, &dice, lg->data, torch_dump_f32(&d, "in.gt"), B, n_per);
    CHECK_NEAR(bce, torch_dump_f32(&d, "out.bce")[0], 1e-6 * fabs(torch_dump_f32(&d, "out.bce")[0]));
    CHECK_NEAR(dice, torch_dump_f32(&d, "out.dice")[0], 1e-6 * fabs(torch_dump_f32(&d, "out.dice")[0]));
    CHECK_NEAR(loss, torch_dump_f32(&d, "out.loss")[0], 1e-6 * fabs(torch_dump_f32(&d, "out.loss")[0]));
    torch_dump_free(&d);
}

static void seg_loss_matches_all_dumps(void)
{
    check_seg_loss("reference/golden_tiny_eval");
    check_seg_loss("reference/golden_small_eval");
    check_seg_loss("reference/golden_tiny_train");
    check_seg_loss("reference/golden_small_train");
}

/* The manifest's f64_check for param_name; a CHECK fails when the dump has none. */
static double f64_check(const torch_dump *d, const char *param_name)
{
    double v = torch_dump_f64_check(d, param_name);
    CHECK_MSG(v >= 0, "no f64_check for %s", param_name);
    return v >= 0 ? v : 0.0;
}

static void check_grad(const torch_dump *d, const char *module, const char *leaf, const float *got,
                       int bias_before_bn)
{
    char pname[160], gname[170];
    snprintf(pname, sizeof pname, "%s.%s", module, leaf);
    snprintf(gname, sizeof gname, "grad.%s", pname);
    const torch_tensor *t = torch_dump_find(d, gname);
    CHECK_MSG(t != NULL, "missing %s", gname);
    if (!t)
        return;
    torch_diff f = torch_diff_f32(got, t->data, t->numel);
    if (bias_before_bn) {
        CHECK_MSG(f.err_norm <= 1e-5, "%s: absolute error %.3g", gname, f.err_norm);
        return;
    }
    double tol = fmax(10 * f64_check(d, pname), 1e-4), rel = f.err_norm / fmax(f.ref_norm, 1e-30);
    CHECK_MSG(rel <= tol, "%s: relative error %.3g > %.3g", gname, rel, tol);
}

static void check_convlayer_grads(const torch_dump *d, const convlayer *L)
{
    check_grad(d, L->name, "conv1.weight", L->dw1, 0);
    check_grad(d, L->name, "conv1.bias", L->db1, 1);
    check_grad(d, L->name, "bn1.weight", L->dg1, 0);
    check_grad(d, L->name, "bn1.bias", L->dbe1, 0);
    check_grad(d, L->name, "conv2.weight", L->dw2, 0);
    check_grad(d, L->name, "conv2.bias", L->db2, 1);
    check_grad(d, L->name, "bn2.weight", L->dg2, 0);
    check_grad(d, L->name, "bn2.bias", L->dbe2, 0);
}

static void check_running_stats(const torch_dump *d, const convlayer *L)
{
    char name[160];
    const float *src[4] = {L->rm1, L->rv1, L->rm2, L->rv2};
    const char *leaf[4] = {"bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var"};
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "post.%s.%s", L->name, leaf[k]);
        const torch_tensor *t = torch_dump_find(d, name);
        CHECK_MSG(t != NULL, "missing %s", name);
        if (t)
            check_act(name, src[k], t->data, (size_t)t->numel);
    }
    snprintf(name, sizeof name, "post.%s.bn1.num_batches_tracked", L->name);
    const torch_tensor *t = torch_dump_find(d, name);
    CHECK(t && t->is_int32 && ((const int32_t *)t->data)[0] == L->nbt1);
}

static void check_train_dump(const char *eval_rel, const char *train_rel)
{
    torch_dump p = {0}, d = {0};
    if (load(&p, eval_rel) != C2_OK || load(&d, train_rel) != C2_OK) {
        torch_dump_free(&p);
        return;
    }
    int c0 = 0, S = 0, B = 0;
    CHECK(dump_dims(&p, &c0, &S, &B) == 0 && c0 >= 8);
    int ch[3] = {c0 / 8, c0 / 4, c0};
    /* encoder in train mode: t1, t2 feed the decoder's skips; running stats are checked */
    convlayer enc[3];
    float *t[3];
    const float *x = torch_dump_f32(&d, "in.image");
    const char *enc_name[3] = {"enc1", "enc2", "enc3"};
    for (int k = 0; k < 3; k++) {
        int h = S >> k;
        convlayer_init(&enc[k], &p, enc_name[k], B, k ? ch[k - 1] : 1, ch[k], ch[k], h, h);
        t[k] = floats((size_t)B * ch[k] * (h / 2) * (h / 2));
        encoder_stage(&enc[k], t[k], x, 1);
        check_running_stats(&d, &enc[k]);
        x = t[k];
    }
    /* decoder tail in train mode from act.dblock2 */
    convlayer dec[3];
    const char *dec_name[3] = {"dec3", "dec4", "dec5"};
    int dec_c[4] = {c0, c0 / 4, c0 / 8, c0 / 8};
    float *up[3], *xo[3];
    const float *skip[3] = {t[1], t[0], NULL};
    x = torch_dump_f32(&d, "act.dblock2");
    for (int k = 0; k < 3; k++) {
        int h = S >> (3 - k);
        convlayer_init(&dec[k], &p, dec_name[k], B, dec_c[k], dec_c[k], dec_c[k + 1], h, h);
        size_t n = (size_t)B * dec_c[k + 1] * 4 * h * h;
        up[k] = floats(n), xo[k] = floats(n);
        decoder_stage(&dec[k], up[k], xo[k], x, skip[k], 1);
        check_running_stats(&d, &dec[k]);
        x = xo[k];
    }
    size_t npix = (size_t)B * S * S;
    const float *fw = param(&p, "param.%s.weight", "final"), *fb = param(&p, "param.%s.bias", "final");
    float *logits = floats(npix);
    conv2d_forward(logits, NULL, xo[2], fw, fb, B, c0 / 8, S, S, 1, 1, 1);
    check_act("out.logits (train)", logits, torch_dump_f32(&d, "out.logits"), npix);
    /* backward: loss -> final -> dec5 -> dec4 -> dec3 */
    float *dlogits = floats(npix), *dfw = floats(c0 / 8), dfb[1] = {0};
    seg_loss_backward(dlogits, logits, torch_dump_f32(&d, "in.gt"), B, (size_t)S * S, 1.0f);
    float *dx = floats((size_t)B * (c0 / 8) * S * S);
    conv2d_backward(dx, dfw, dfb, NULL, dlogits, xo[2], fw, B, c0 / 8, S, S, 1, 1, 1);
    check_grad(&d, "final", "weight", dfw, 0);
    check_grad(&d, "final", "bias", dfb, 0);
    for (int k = 2; k >= 0; k--) {
        convlayer *L = &dec[k];
        size_t n = (size_t)B * L->OC * 4 * L->H * L->W;
        float *dup = floats(n), *dconv = floats((size_t)B * L->OC * L->H * L->W);
        float *dxin = floats((size_t)B * L->C * L->H * L->W);
        relu_backward(dup, dx, up[k], n);
        upsample2_backward(dconv, dup, B, L->OC, L->H, L->W);
        convlayer_backward(L, dxin, dconv);
        check_convlayer_grads(&d, L);
        free(dup), free(dconv), free(dx);
        dx = dxin;
    }
    /* one SGD step on final (lr 1e-2, not an encoder module) against post.final.* */
    float w2[64], b2[1];
    memcpy(w2, fw, (size_t)(c0 / 8) * sizeof(float));
    b2[0] = fb[0];
    param_group g = {.offset = 0, .count = (size_t)c0 / 8, .lr = 1e-2f};
    sgd_step(w2, dfw, &g, 1, 1.0f);
    sgd_step(b2, dfb, &(param_group){.offset = 0, .count = 1, .lr = 1e-2f}, 1, 1.0f);
    check_act("post.final.weight", w2, torch_dump_f32(&d, "post.final.weight"), (size_t)c0 / 8);
    check_act("post.final.bias", b2, torch_dump_f32(&d, "post.final.bias"), 1);
    free(dx), free(dlogits), free(dfw), free(logits);
    for (int k = 0; k < 3; k++) {
        convlayer_free(&enc[k]), convlayer_free(&dec[k]);
        free(t[k]), free(up[k]), free(xo[k]);
    }
    torch_dump_free(&p);
    torch_dump_free(&d);
}

static void train_tail_matches_tiny(void)
{
    check_train_dump("reference/golden_tiny_eval", "reference/golden_tiny_train");
}

static void train_tail_matches_small(void)
{
    check_train_dump("reference/golden_small_eval", "reference/golden_small_train");
}

int main(void)
{
    RUN_TEST(eval_modules_match_tiny);
    RUN_TEST(eval_modules_match_small);
    RUN_TEST(seg_loss_matches_all_dumps);
    RUN_TEST(train_tail_matches_tiny);
    RUN_TEST(train_tail_matches_small);
    return test_summary();
}
