/* c2seg_backward: the C2Seg backward pass, the forward of model/c2seg_forward.c in
 * reverse. w->grads mirrors w->acts (the gradient of each saved activation sits at
 * the same place in the gradient arena); every layer backward ACCUMULATES, so the
 * skip connections (t1..t3, t4', residuals, La shared by both fusions) need no
 * copies. The caller zeroes both gradient arenas first (c2seg_zero_grads). */
#include "model/model.h"

#include <assert.h>
#include <string.h>

static kan_linear_params kan_params(const c2seg_kan *k)
{
    kan_linear_params p = {k->base_weight, k->spline_weight, k->spline_scaler};
    return p;
}

static kan_linear_params kan_grads(const c2seg_kan *k)
{
    kan_linear_params p = {k->d_base_weight, k->d_spline_weight, k->d_spline_scaler};
    return p;
}

void c2seg_zero_grads(c2seg_model *m, c2seg_workspace *w)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
    arena_zero(&w->grad_arena);
}

/* d of ConvLayer: g->out (B,cout,H,W) -> dinp (B,cin,H,W) +=, parameter grads +=. */
static void convlayer_backward(float *dinp, c2seg_convlayer_acts *g, const c2seg_convlayer_acts *a, const float *inp,
                               const c2seg_convlayer *p, float *scratch, int B, int H, int W, int train)
{
    int HW = H * W;
    relu_backward_inplace(g->bn2, a->bn2, (size_t)B * p->cout * HW);   /* g->bn2 is g->out */
    batchnorm_backward(g->conv2, p->bn2.aff.dw, p->bn2.aff.db, g->bn2, a->conv2, a->mean2, a->rstd2, p->bn2.aff.w,
                       train, B, p->cout, HW);
    conv2d_backward(g->relu1, p->conv2.dw, p->conv2.db, scratch, g->conv2, a->relu1, p->conv2.w, B, p->mid, H, W,
                    p->cout, 3, 1);
    relu_backward_inplace(g->bn1, a->bn1, (size_t)B * p->mid * HW);   /* g->bn1 is g->relu1 */
    batchnorm_backward(g->conv1, p->bn1.aff.dw, p->bn1.aff.db, g->bn1, a->conv1, a->mean1, a->rstd1, p->bn1.aff.w,
                       train, B, p->mid, HW);
    conv2d_backward(dinp, p->conv1.dw, p->conv1.db, scratch, g->conv1, inp, p->conv1.w, B, p->cin, H, W, p->mid, 3,
                    1);
}

/* d of KANBlock: g->out -> dx (B,P,C) +=. */
static void kanblock_backward(float *dx, c2seg_kanblock_acts *g, const c2seg_kanblock_acts *a, const float *x,
                              const c2seg_kanblock *p, float *scratch, int B, int h, int w, int train)
{
    int C = p->c, P = h * w, M = B * P;
    size_t n = (size_t)M * C;
    add_backward(dx, g->tok[2], g->out, n);
    for (int i = 2; i >= 0; i--) {
        map_to_tokens_backward(g->relu[i], g->tok[i], B, C, P);
        relu_backward_inplace(g->bn[i], a->bn[i], n);   /* g->bn[i] is g->relu[i] */
        batchnorm_backward(g->dw[i], p->bn[i].aff.dw, p->bn[i].aff.db, g->bn[i], a->dw[i], a->bn_mean[i],
                           a->bn_rstd[i], p->bn[i].aff.w, train, B, C, P);
        dwconv3_backward(g->map[i], p->dw[i].dw, p->dw[i].db, g->dw[i], a->map[i], p->dw[i].w, B, C, h, w);
        tokens_to_map_backward(g->fc[i], g->map[i], B, C, P);
        kan_linear_params kp = kan_params(&p->fc[i]), kg = kan_grads(&p->fc[i]);
        const float *in = i ? a->tok[i - 1] : a->ln;
        float *din = i ? g->tok[i - 1] : g->ln;
        kan_linear_backward(din, &kg, g->fc[i], in, &kp, p->fc[i].grid, M, C, C, scratch);
    }
    layernorm_backward(dx, p->norm.dw, p->norm.db, g->ln, x, a->ln_mean, a->ln_rstd, p->norm.w, M, C);
}

/* d of PatchEmbed -> KANBlock -> LN: g->map -> dinp (B,cin,2h,2h) +=. */
static void stage_backward(float *dinp, c2seg_stage_acts *g, const c2seg_stage_acts *a, const float *inp,
                           const c2seg_patchembed *pe, const c2seg_kanblock *blk, const c2seg_affine *norm,
                           float *scratch, int B, int h, int train)
{
    int C = pe->cout, P = h * h, M = B * P;
    tokens_to_map_backward(g->norm, g->map, B, C, P);
    layernorm_backward(g->block.out, norm->dw, norm->db, g->norm, a->block.out, a->norm_mean, a->norm_rstd, norm->w, M,
                       C);
    kanblock_backward(g->pe, &g->block, &a->block, a->pe, blk, scratch, B, h, h, train);
    layernorm_backward(g->tok, pe->norm.dw, pe->norm.db, g->pe, a->tok, a->pe_mean, a->pe_rstd, pe->norm.w, M, C);
    map_to_tokens_backward(g->conv, g->tok, B, C, P);
    conv2d_backward(dinp, pe->proj.dw, pe->proj.db, scratch, g->conv, inp, pe->proj.w, B, pe->cin, 2 * h, 2 * h, C, 3,
                    2);
}

/* d of the encoder, from the gradients already accumulated in g->s5.map (t5),
 * g->s4.map (t4) and g->t[0..2] (t1..t3). */
static void encode_backward(c2seg_model *m, c2seg_workspace *w, const float *img, int B, int train)
{
    c2seg_acts *a = &w->acts, *g = &w->grads;
    int H = m->cfg.img;
    stage_backward(g->s4.map, &g->s5, &a->s5, a->s4.map, &m->pe4, &m->block2, &m->norm4, w->scratch, B, H / 32, train);
    stage_backward(g->t[2], &g->s4, &a->s4, a->t[2], &m->pe3, &m->block1, &m->norm3, w->scratch, B, H / 16, train);
    const c2seg_convlayer *enc[3] = {&m->enc1, &m->enc2, &m->enc3};
    for (int i = 2; i >= 0; i--) {
        int h = H >> i;
        size_t n = (size_t)B * enc[i]->cout * (h / 2) * (h / 2);
        relu_backward_inplace(g->pool[i], a->pool[i], n);   /* g->pool[i] is g->t[i] */
        maxpool2_backward(g->enc[i].out, g->pool[i], a->enc[i].out, B, enc[i]->cout, h, h);
        convlayer_backward(i ? g->t[i - 1] : NULL, &g->enc[i], &a->enc[i], i ? a->t[i - 1] : img, enc[i], w->scratch,
                           B, h, h, train);
    }
}

/* d of one decoder step: g->out -> d input (B,cin,h,h) +=, d skip +=. */
static void dec_backward(float *dinp, float *dskip, c2seg_dec_acts *g, const c2seg_dec_acts *a, const float *inp,
                         const c2seg_convlayer *p, float *scratch, int B, int h, int train)
{
    size_t n = (size_t)B * p->cout * 4 * h * h;
    if (dskip)
        add_backward(g->relu, dskip, g->out, n);   /* without a skip, g->out is g->relu */
    relu_backward_inplace(g->up, a->up, n);   /* g->up is g->relu */
    upsample2_backward(g->conv.out, g->up, B, p->cout, h, h);
    convlayer_backward(dinp, &g->conv, &a->conv, inp, p, scratch, B, h, h, train);
}

static void dec_block_backward(float *dinp, float *dskip, c2seg_dec_acts *g, const c2seg_dec_acts *a,
                               const float *inp, const c2seg_convlayer *p, const c2seg_kanblock *blk,
                               const c2seg_affine *norm, float *scratch, int B, int h, int train)
{
    int C = p->cout, h2 = 2 * h, P = h2 * h2;
    tokens_to_map_backward(g->norm, g->map, B, C, P);
    layernorm_backward(g->block.out, norm->dw, norm->db, g->norm, a->block.out, a->norm_mean, a->norm_rstd, norm->w,
                       B * P, C);
    kanblock_backward(g->tok, &g->block, &a->block, a->tok, blk, scratch, B, h2, h2, train);
    map_to_tokens_backward(g->out, g->tok, B, C, P);
    dec_backward(dinp, dskip, g, a, inp, p, scratch, B, h, train);
}

void c2seg_backward(c2seg_model *m, c2seg_workspace *w, const float *dlogits, const int32_t *mask, int B, int train)
{
    const c2seg_config *cfg = &m->cfg;
    c2seg_acts *a = &w->acts, *g = &w->grads;
    int H = cfg->img, h4 = H / 16, h5 = H / 32;
    assert(w->train_forward && "c2seg_backward after an eval-mode forward");
    conv2d_backward(g->dec[4].out, m->final.dw, m->final.db, w->scratch, dlogits, a->dec[4].out, m->final.w, B,
                    cfg->c0 / 8, H, H, 1, 1, 1);
    dec_backward(g->dec[3].out, NULL, &g->dec[4], &a->dec[4], a->dec[3].out, &m->dec5, w->scratch, B, H / 2, train);
    dec_backward(g->dec[2].out, g->t[0], &g->dec[3], &a->dec[3], a->dec[2].out, &m->dec4, w->scratch, B, H / 4, train);
    dec_backward(g->dec[1].map, g->t[1], &g->dec[2], &a->dec[2], a->dec[1].map, &m->dec3, w->scratch, B, H / 8, train);
    dec_block_backward(g->dec[0].map, g->t[2], &g->dec[1], &a->dec[1], a->dec[0].map, &m->dec2, &m->dblock2,
                       &m->dnorm2, w->scratch, B, h4, train);
    dec_block_backward(g->fuse5, g->fuse4, &g->dec[0], &a->dec[0], a->fuse5, &m->dec1, &m->dblock1, &m->dnorm1,
                       w->scratch, B, h5, train);
    if (cfg->fusion != C2SEG_FUSION_VISION) {
        int M = B * cfg->ntok;
        bcam_dims d4 = c2seg_bcam_dims(cfg, B, cfg->c1, h4), d5 = c2seg_bcam_dims(cfg, B, cfg->c2, h5);
        if (cfg->fusion == C2SEG_FUSION_DUALA) {
            duala_params p4 = c2seg_duala_view(&m->fuse4.duala, 0), p5 = c2seg_duala_view(&m->fuse5.duala, 0);
            duala_params g4 = c2seg_duala_view(&m->fuse4.duala, 1), g5 = c2seg_duala_view(&m->fuse5.duala, 1);
            duala_backward(g->s5.map, g->La, &g5, g->fuse5, &a->d5, a->La, &p5, &d5, w->scratch);
            duala_backward(g->s4.map, g->La, &g4, g->fuse4, &a->d4, a->La, &p4, &d4, w->scratch);
        } else {
            bcam_params p4 = c2seg_bcam_view(&m->fuse4.bcam, 0), p5 = c2seg_bcam_view(&m->fuse5.bcam, 0);
            bcam_params g4 = c2seg_bcam_view(&m->fuse4.bcam, 1), g5 = c2seg_bcam_view(&m->fuse5.bcam, 1);
            bcam_backward(g->s5.map, g->La, &g5, g->fuse5, &a->f5, a->s5.map, a->La, mask, &p5,
                          m->fuse5.bcam.v_key.grid, &d5, w->scratch);
            bcam_backward(g->s4.map, g->La, &g4, g->fuse4, &a->f4, a->s4.map, a->La, mask, &p4,
                          m->fuse4.bcam.v_key.grid, &d4, w->scratch);
        }
        /* the text tokens are frozen: no gradient below txt_ln */
        linear_backward(g->txt_ln, m->txt_adapt.dw, m->txt_adapt.db, g->La, a->txt_ln, m->txt_adapt.w, M, cfg->ct,
                        cfg->ca);
        layernorm_backward(NULL, m->txt_ln.dw, m->txt_ln.db, g->txt_ln, w->txt_tokens, a->txt_mean, a->txt_rstd,
                           m->txt_ln.w, M, cfg->ct);
    }
    encode_backward(m, w, w->img, B, train);
}

void c2seg_stage1_backward(c2seg_model *m, c2seg_workspace *w, const float *dv_raw, const float *dl_raw,
                           const float *pooled, int B, int train)
{
    const c2seg_config *cfg = &m->cfg;
    c2seg_acts *a = &w->acts, *g = &w->grads;
    int C = cfg->c2, P = (cfg->img / 32) * (cfg->img / 32);
    assert(w->train_forward && "c2seg_stage1_backward after an eval-mode forward");
    linear_backward(g->pooled5, m->head_v.dw, m->head_v.db, dv_raw, a->pooled5, m->head_v.w, B, C, cfg->proj);
    linear_backward(NULL, m->head_l.dw, m->head_l.db, dl_raw, pooled, m->head_l.w, B, cfg->ct, cfg->proj);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            float d = g->pooled5[(size_t)b * C + c] / (float)P;
            float *dx = g->s5.map + ((size_t)b * C + c) * P;
            for (int p = 0; p < P; p++)
                dx[p] += d;
        }
    encode_backward(m, w, w->img, B, train);
}
