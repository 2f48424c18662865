/* c2seg_forward: the C2Seg forward pass (METHOD.md §4; c2seg_ref.py C2Seg.encode,
 * C2Seg.forward, C2Seg.stage1_embed) on the engine's layers. Every intermediate that
 * backward needs lands in the workspace (model/c2seg_acts.c); nothing is allocated
 * here. `train` selects BatchNorm's batch statistics (and running-stat updates). */
#include "model/model.h"

#include <string.h>
#include <time.h>

static kan_linear_params kan_params(const c2seg_kan *k)
{
    kan_linear_params p = {k->base_weight, k->spline_weight, k->spline_scaler};
    return p;
}

/* Charges the wall time since the previous lap to module `name` (when w->times is set). */
static void lap(c2seg_workspace *w, const char *name)
{
    c2seg_module_times *t = w->times;
    if (!t)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
    if (name) {
        int i = 0;
        while (i < t->n && strcmp(t->name[i], name) != 0)
            i++;
        if (i == t->n && t->n < C2SEG_MAX_MODULES)
            t->name[t->n++] = name, t->ms[i] = 0;
        if (i < t->n)
            t->ms[i] += now - t->last;
    }
    t->last = now;
}

/* conv3x3 BN ReLU conv3x3 BN ReLU: inp (B,cin,H,W) -> a->out (B,cout,H,W). In eval mode
 * BN + ReLU run inside each convolution's store (conv2d_forward_bn_relu, bit-identical), and
 * only relu1, out and the statistics are written: the rest is for backward. */
static void convlayer_forward(c2seg_convlayer_acts *a, const float *inp, const c2seg_convlayer *p, float *scratch,
                              int B, int H, int W, int train)
{
    size_t HW = (size_t)H * W;
    if (!train) {
        batchnorm_eval_stats(a->mean1, a->rstd1, p->bn1.running_mean, p->bn1.running_var, p->mid);
        batchnorm_eval_stats(a->mean2, a->rstd2, p->bn2.running_mean, p->bn2.running_var, p->cout);
        conv_bn_relu bn1 = {a->mean1, a->rstd1, p->bn1.aff.w, p->bn1.aff.b};
        conv_bn_relu bn2 = {a->mean2, a->rstd2, p->bn2.aff.w, p->bn2.aff.b};
        conv2d_forward_bn_relu(a->relu1, scratch, inp, p->conv1.w, p->conv1.b, &bn1, B, p->cin, H, W, p->mid, 3, 1);
        conv2d_forward_bn_relu(a->out, scratch, a->relu1, p->conv2.w, p->conv2.b, &bn2, B, p->mid, H, W, p->cout, 3,
                               1);
        return;
    }
    conv2d_forward(a->conv1, scratch, inp, p->conv1.w, p->conv1.b, B, p->cin, H, W, p->mid, 3, 1);
    batchnorm_forward(a->bn1, a->mean1, a->rstd1, a->conv1, p->bn1.aff.w, p->bn1.aff.b, p->bn1.running_mean,
                      p->bn1.running_var, p->bn1.num_batches_tracked, train, B, p->mid, (int)HW);
    relu_forward(a->relu1, a->bn1, (size_t)B * p->mid * HW);
    conv2d_forward(a->conv2, scratch, a->relu1, p->conv2.w, p->conv2.b, B, p->mid, H, W, p->cout, 3, 1);
    batchnorm_forward(a->bn2, a->mean2, a->rstd2, a->conv2, p->bn2.aff.w, p->bn2.aff.b, p->bn2.running_mean,
                      p->bn2.running_var, p->bn2.num_batches_tracked, train, B, p->cout, (int)HW);
    relu_forward(a->out, a->bn2, (size_t)B * p->cout * HW);
}

/* x (B,P,C) tokens on an h x w grid -> a->out = x + DW3(fc3(DW2(fc2(DW1(fc1(LN(x))))))).
 * In eval mode each DW-BN-ReLU runs on the tokens in one pass (dwconv3_bn_relu_tokens). */
static void kanblock_forward(c2seg_kanblock_acts *a, const float *x, const c2seg_kanblock *p, float *scratch, int B,
                             int h, int w, int train)
{
    int C = p->c, P = h * w, M = B * P;
    size_t n = (size_t)M * C;
    layernorm_forward(a->ln, a->ln_mean, a->ln_rstd, x, p->norm.w, p->norm.b, M, C);
    const float *in = a->ln;
    for (int i = 0; i < 3; i++) {
        kan_linear_params kp = kan_params(&p->fc[i]);
        kan_linear_forward(a->fc[i], in, &kp, p->fc[i].grid, M, C, C, scratch);
        if (!train) {   /* DW-BN-ReLU on the tokens, bit-identical; map, dw and relu are for backward */
            batchnorm_eval_stats(a->bn_mean[i], a->bn_rstd[i], p->bn[i].running_mean, p->bn[i].running_var, C);
            conv_bn_relu bn = {a->bn_mean[i], a->bn_rstd[i], p->bn[i].aff.w, p->bn[i].aff.b};
            dwconv3_bn_relu_tokens(a->tok[i], a->fc[i], p->dw[i].w, p->dw[i].b, &bn, B, C, h, w);
            in = a->tok[i];
            continue;
        }
        tokens_to_map_forward(a->map[i], a->fc[i], B, C, P);
        dwconv3_forward(a->dw[i], a->map[i], p->dw[i].w, p->dw[i].b, B, C, h, w);
        batchnorm_forward(a->bn[i], a->bn_mean[i], a->bn_rstd[i], a->dw[i], p->bn[i].aff.w, p->bn[i].aff.b,
                          p->bn[i].running_mean, p->bn[i].running_var, p->bn[i].num_batches_tracked, train, B, C, P);
        relu_forward(a->relu[i], a->bn[i], n);
        map_to_tokens_forward(a->tok[i], a->relu[i], B, C, P);
        in = a->tok[i];
    }
    add_forward(a->out, x, a->tok[2], n);
}

/* PatchEmbed(inp (B,cin,2h,2w)) -> KANBlock -> LN -> s->map (B,C,h,w). */
static void stage_forward(c2seg_workspace *w, c2seg_stage_acts *s, const float *inp, const c2seg_patchembed *pe,
                          const c2seg_kanblock *blk, const c2seg_affine *norm, int B, int h, int train,
                          const char *names[3])
{
    int C = pe->cout, P = h * h, M = B * P;
    float *scratch = w->scratch;
    conv2d_forward(s->conv, scratch, inp, pe->proj.w, pe->proj.b, B, pe->cin, 2 * h, 2 * h, C, 3, 2);
    map_to_tokens_forward(s->tok, s->conv, B, C, P);
    layernorm_forward(s->pe, s->pe_mean, s->pe_rstd, s->tok, pe->norm.w, pe->norm.b, M, C);
    lap(w, names[0]);
    kanblock_forward(&s->block, s->pe, blk, scratch, B, h, h, train);
    lap(w, names[1]);
    layernorm_forward(s->norm, s->norm_mean, s->norm_rstd, s->block.out, norm->w, norm->b, M, C);
    tokens_to_map_forward(s->map, s->norm, B, C, P);
    lap(w, names[2]);
}

/* enc1..enc3, pe3/block1/norm3, pe4/block2/norm4: img -> t1..t3, t4 = s4.map, t5 = s5.map. */
static void encode_forward(c2seg_model *m, c2seg_workspace *w, const float *img, int B, int train)
{
    c2seg_acts *a = &w->acts;
    const c2seg_convlayer *enc[3] = {&m->enc1, &m->enc2, &m->enc3};
    static const char *enc_name[3] = {"enc1", "enc2", "enc3"}, *s4_name[3] = {"pe3", "block1", "norm3"},
                      *s5_name[3] = {"pe4", "block2", "norm4"};
    const float *in = img;
    int H = m->cfg.img;
    lap(w, NULL);
    for (int i = 0; i < 3; i++) {
        int h = H >> i;
        convlayer_forward(&a->enc[i], in, enc[i], w->scratch, B, h, h, train);
        if (train) {
            maxpool2_forward(a->pool[i], a->enc[i].out, B, enc[i]->cout, h, h);
            relu_forward(a->t[i], a->pool[i], (size_t)B * enc[i]->cout * (h / 2) * (h / 2));
        } else {   /* pool is t: one pass */
            maxpool2_relu_forward(a->t[i], a->enc[i].out, B, enc[i]->cout, h, h);
        }
        in = a->t[i];
        lap(w, enc_name[i]);
    }
    stage_forward(w, &a->s4, a->t[2], &m->pe3, &m->block1, &m->norm3, B, H / 16, train, s4_name);
    stage_forward(w, &a->s5, a->s4.map, &m->pe4, &m->block2, &m->norm4, B, H / 32, train, s5_name);
}

bcam_params c2seg_bcam_view(const c2seg_bcam_params *f, int grads)
{
    bcam_params p;
    memset(&p, 0, sizeof p);
#define KAN(dst, src)                                                                                                \
    p.dst = grads ? (kan_linear_params){f->src.d_base_weight, f->src.d_spline_weight, f->src.d_spline_scaler}        \
                  : kan_params(&f->src)
    p.ln_v_weight = grads ? f->ln_v.dw : f->ln_v.w;
    p.ln_v_bias = grads ? f->ln_v.db : f->ln_v.b;
    p.ln_l_weight = grads ? f->ln_l.dw : f->ln_l.w;
    p.ln_l_bias = grads ? f->ln_l.db : f->ln_l.b;
    KAN(v_key, v_key);
    KAN(v_val, v_val);
    KAN(l_key, l_key);
    KAN(l_val, l_val);
    if (f->kgate) {
        KAN(gate_v1, gate_v1);
        KAN(gate_v2, gate_v2);
        KAN(gate_l1, gate_l1);
        KAN(gate_l2, gate_l2);
    }
#undef KAN
    p.out_weight = grads ? f->out.dw : f->out.w;
    p.out_bias = grads ? f->out.db : f->out.b;
    return p;
}

duala_params c2seg_duala_view(const c2seg_duala_params *f, int grads)
{
#define AFF(dst, src) (p.dst##_weight = grads ? f->src.dw : f->src.w, p.dst##_bias = grads ? f->src.db : f->src.b)
    duala_params p;
    AFF(ln_v, ln_v);
    AFF(ln_l, ln_l);
    AFF(l_proj, l_proj);
    AFF(q, v_q);
    AFF(k, v_k);
    AFF(v, v_v);
    AFF(out, out);
#undef AFF
    return p;
}

bcam_dims c2seg_bcam_dims(const c2seg_config *cfg, int B, int C, int h)
{
    bcam_dims d = {.B = B, .P = h * h, .N = cfg->ntok, .C = C, .ca = cfg->ca,
                   .kgate = cfg->fusion == C2SEG_FUSION_BCAM_KGATE};
    return d;
}

/* One decoder step: ConvLayer at h x h, up2, ReLU, + skip (NULL for dec5). */
static void dec_forward(c2seg_dec_acts *d, const float *in, const c2seg_convlayer *p, const float *skip,
                        float *scratch, int B, int h, int train)
{
    convlayer_forward(&d->conv, in, p, scratch, B, h, h, train);
    if (!train) {   /* one pass; up and relu are for backward */
        upsample2_relu_add_forward(d->out, d->conv.out, skip, B, p->cout, h, h);
        return;
    }
    upsample2_forward(d->up, d->conv.out, B, p->cout, h, h);
    size_t n = (size_t)B * p->cout * 4 * h * h;
    relu_forward(d->relu, d->up, n);
    if (skip)
        add_forward(d->out, d->relu, skip, n);   /* without a skip, out is relu */
}

/* dec1 / dec2: the step above, then tokens -> KANBlock -> LN -> map. */
static void dec_block_forward(c2seg_workspace *w, c2seg_dec_acts *d, const float *in, const c2seg_convlayer *p,
                              const float *skip, const c2seg_kanblock *blk, const c2seg_affine *norm, int B, int h,
                              int train, const char *names[3])
{
    float *scratch = w->scratch;
    dec_forward(d, in, p, skip, scratch, B, h, train);
    int C = p->cout, h2 = 2 * h, P = h2 * h2;
    map_to_tokens_forward(d->tok, d->out, B, C, P);
    lap(w, names[0]);
    kanblock_forward(&d->block, d->tok, blk, scratch, B, h2, h2, train);
    lap(w, names[1]);
    layernorm_forward(d->norm, d->norm_mean, d->norm_rstd, d->block.out, norm->w, norm->b, B * P, C);
    tokens_to_map_forward(d->map, d->norm, B, C, P);
    lap(w, names[2]);
}

void c2seg_forward(c2seg_model *m, c2seg_workspace *w, const float *img, const float *tokens, const int32_t *mask,
                   int B, int train)
{
    const c2seg_config *cfg = &m->cfg;
    c2seg_acts *a = &w->acts;
    int H = cfg->img, h4 = H / 16, h5 = H / 32;
    w->img = img;
    w->txt_tokens = tokens;
    w->train_forward = train != 0;
    int outer = gemm_precision();   /* eval forwards run at the workspace's precision, training at fp32 */
    gemm_precision_set(train ? PRECISION_FP32 : w->precision);
    gemm_pack_arena_set(w->bf16_pack, w->bf16_pack_words);
    gemm_pack_cache_set(w->bf16_cache);
    encode_forward(m, w, img, B, train);
    if (cfg->fusion != C2SEG_FUSION_VISION) {
        int M = B * cfg->ntok;
        layernorm_forward(a->txt_ln, a->txt_mean, a->txt_rstd, tokens, m->txt_ln.w, m->txt_ln.b, M, cfg->ct);
        lap(w, "txt_ln");
        linear_forward(a->La, a->txt_ln, m->txt_adapt.w, m->txt_adapt.b, M, cfg->ct, cfg->ca);
        lap(w, "txt_adapt");
        bcam_dims d4 = c2seg_bcam_dims(cfg, B, cfg->c1, h4), d5 = c2seg_bcam_dims(cfg, B, cfg->c2, h5);
        if (cfg->fusion == C2SEG_FUSION_DUALA) {
            duala_params p4 = c2seg_duala_view(&m->fuse4.duala, 0), p5 = c2seg_duala_view(&m->fuse5.duala, 0);
            duala_forward(&a->d4, a->s4.map, a->La, mask, &p4, &d4);
            lap(w, "fuse4");
            duala_forward(&a->d5, a->s5.map, a->La, mask, &p5, &d5);
        } else {
            bcam_params p4 = c2seg_bcam_view(&m->fuse4.bcam, 0), p5 = c2seg_bcam_view(&m->fuse5.bcam, 0);
            bcam_forward(&a->f4, a->s4.map, a->La, mask, &p4, m->fuse4.bcam.v_key.grid, &d4, w->scratch);
            lap(w, "fuse4");
            bcam_forward(&a->f5, a->s5.map, a->La, mask, &p5, m->fuse5.bcam.v_key.grid, &d5, w->scratch);
        }
        lap(w, "fuse5");
    }
    static const char *d1_name[3] = {"dec1", "dblock1", "dnorm1"}, *d2_name[3] = {"dec2", "dblock2", "dnorm2"};
    dec_block_forward(w, &a->dec[0], a->fuse5, &m->dec1, a->fuse4, &m->dblock1, &m->dnorm1, B, h5, train, d1_name);
    dec_block_forward(w, &a->dec[1], a->dec[0].map, &m->dec2, a->t[2], &m->dblock2, &m->dnorm2, B, h4, train,
                      d2_name);
    dec_forward(&a->dec[2], a->dec[1].map, &m->dec3, a->t[1], w->scratch, B, H / 8, train);
    lap(w, "dec3");
    dec_forward(&a->dec[3], a->dec[2].out, &m->dec4, a->t[0], w->scratch, B, H / 4, train);
    lap(w, "dec4");
    dec_forward(&a->dec[4], a->dec[3].out, &m->dec5, NULL, w->scratch, B, H / 2, train);
    lap(w, "dec5");
    conv2d_forward(a->logits, w->scratch, a->dec[4].out, m->final.w, m->final.b, B, cfg->c0 / 8, H, H, 1, 1, 1);
    lap(w, "final");
    gemm_pack_arena_set(NULL, 0);
    gemm_pack_cache_set(NULL);
    gemm_precision_set(outer);
}

void c2seg_stage1_forward(c2seg_model *m, c2seg_workspace *w, const float *img, const float *pooled, int B, int train)
{
    const c2seg_config *cfg = &m->cfg;
    c2seg_acts *a = &w->acts;
    int C = cfg->c2, P = (cfg->img / 32) * (cfg->img / 32);
    w->img = img;
    w->train_forward = train != 0;
    encode_forward(m, w, img, B, train);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            const float *x = a->s5.map + ((size_t)b * C + c) * P;
            double s = 0;
            for (int p = 0; p < P; p++)
                s += x[p];
            a->pooled5[(size_t)b * C + c] = (float)(s / P);
        }
    linear_forward(a->v_raw, a->pooled5, m->head_v.w, m->head_v.b, B, C, cfg->proj);
    linear_forward(a->l_raw, pooled, m->head_l.w, m->head_l.b, B, cfg->ct, cfg->proj);
}
