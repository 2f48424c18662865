/* c2seg_acts: the activation layout of C2Seg for one batch size. One function lays
 * every saved tensor out in an arena (model/arena.h); it runs in planning mode to
 * size the arena, then again on the allocated memory, once for the forward
 * activations and once for their gradients (the same layout, so d(x) sits at the
 * same place in the second arena as x in the first). BCAM / DualA keep their internals in
 * their own carved block (model/fusion.h) and computes their gradients in scratch, so
 * the gradient layout holds only its output. Nothing is allocated after this. */
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

typedef struct layout {
    arena *a;
    int grads;        /* 1: the gradient layout */
    int B;
} layout;

static float *take(layout *l, size_t n) { return arena_take(l->a, n); }

/* A ReLU's input, which backward reads only through its sign, shares the ReLU's output
 * buffer (the ReLU runs in place; max(x,0) > 0 iff x > 0), which saves about a quarter of the
 * activation arena; in the gradient layout the two gradients share one buffer the same way
 * (backward masks d(out) in place into d(in), relu_backward_inplace). Below: bn1 = relu1,
 * bn2 = out, bn[i] = relu[i], up = relu, pool[i] = t[i]. */

/* A ConvLayer at H x W. */
static void lay_convlayer(layout *l, c2seg_convlayer_acts *c, const c2seg_convlayer *p, int HW)
{
    size_t nm = (size_t)l->B * p->mid * HW, no = (size_t)l->B * p->cout * HW;
    c->conv1 = take(l, nm), c->relu1 = take(l, nm), c->bn1 = c->relu1;
    c->mean1 = take(l, p->mid), c->rstd1 = take(l, p->mid);
    c->conv2 = take(l, no), c->out = take(l, no), c->bn2 = c->out;
    c->mean2 = take(l, p->cout), c->rstd2 = take(l, p->cout);
}

static void lay_kanblock(layout *l, c2seg_kanblock_acts *k, int C, int P)
{
    size_t n = (size_t)l->B * P * C, M = (size_t)l->B * P;
    k->ln = take(l, n), k->ln_mean = take(l, M), k->ln_rstd = take(l, M);
    for (int i = 0; i < 3; i++) {
        k->fc[i] = take(l, n), k->map[i] = take(l, n), k->dw[i] = take(l, n);
        k->bn_mean[i] = take(l, C), k->bn_rstd[i] = take(l, C);
        k->relu[i] = take(l, n), k->bn[i] = k->relu[i], k->tok[i] = take(l, n);
    }
    k->out = take(l, n);
}

/* One KAN scale: PatchEmbed(cin -> C) from a map at 2h x 2w, KANBlock, LN. */
static void lay_stage(layout *l, c2seg_stage_acts *s, int C, int P)
{
    size_t n = (size_t)l->B * P * C, M = (size_t)l->B * P;
    s->conv = take(l, n), s->tok = take(l, n), s->pe = take(l, n);
    s->pe_mean = take(l, M), s->pe_rstd = take(l, M);
    lay_kanblock(l, &s->block, C, P);
    s->norm = take(l, n), s->norm_mean = take(l, M), s->norm_rstd = take(l, M);
    s->map = take(l, n);
}

/* A decoder step whose ConvLayer runs at H x W and whose output is 2H x 2W. */
/* Without a skip (dec5) the output is the ReLU itself. */
static void lay_dec(layout *l, c2seg_dec_acts *d, const c2seg_convlayer *p, int H, int W, int block, int skip)
{
    lay_convlayer(l, &d->conv, p, H * W);
    int P = 4 * H * W;
    size_t n = (size_t)l->B * p->cout * P, M = (size_t)l->B * P;
    d->relu = take(l, n), d->up = d->relu;
    d->out = skip ? take(l, n) : d->relu;
    if (!block)
        return;
    d->tok = take(l, n);
    lay_kanblock(l, &d->block, p->cout, P);
    d->norm = take(l, n), d->norm_mean = take(l, M), d->norm_rstd = take(l, M), d->map = take(l, n);
}

static void lay_fusion(layout *l, bcam_acts *f, duala_acts *da, float **out, const c2seg_config *cfg, int C, int h)
{
    bcam_dims d = c2seg_bcam_dims(cfg, l->B, C, h);
    int duala = cfg->fusion == C2SEG_FUSION_DUALA;
    if (l->grads) {
        *out = take(l, (size_t)l->B * C * h * h);
        return;
    }
    float *buf = take(l, duala ? duala_act_floats(&d) : bcam_act_floats(&d));
    if (buf && duala)
        duala_acts_carve(da, buf, &d);
    else if (buf)
        bcam_acts_carve(f, buf, &d);
    *out = !buf ? NULL : duala ? da->out : f->out;
}

static void lay_model(layout *l, c2seg_acts *x, const c2seg_model *m)
{
    const c2seg_config *cfg = &m->cfg;
    int H = cfg->img, B = l->B;
    const c2seg_convlayer *enc[3] = {&m->enc1, &m->enc2, &m->enc3};
    memset(x, 0, sizeof *x);
    x->B = B;
    for (int i = 0; i < 3; i++) {
        int h = H >> i;
        lay_convlayer(l, &x->enc[i], enc[i], h * h);
        size_t n = (size_t)B * enc[i]->cout * (h / 2) * (h / 2);
        x->t[i] = take(l, n), x->pool[i] = x->t[i];
    }
    int h4 = H / 16, h5 = H / 32;
    lay_stage(l, &x->s4, cfg->c1, h4 * h4);
    lay_stage(l, &x->s5, cfg->c2, h5 * h5);
    if (cfg->fusion == C2SEG_FUSION_VISION) {
        x->fuse4 = x->s4.map;
        x->fuse5 = x->s5.map;
    } else {
        size_t nt = (size_t)B * cfg->ntok;
        x->txt_ln = take(l, nt * cfg->ct), x->txt_mean = take(l, nt), x->txt_rstd = take(l, nt);
        x->La = take(l, nt * cfg->ca);
        lay_fusion(l, &x->f4, &x->d4, &x->fuse4, cfg, cfg->c1, h4);
        lay_fusion(l, &x->f5, &x->d5, &x->fuse5, cfg, cfg->c2, h5);
    }
    const c2seg_convlayer *dec[5] = {&m->dec1, &m->dec2, &m->dec3, &m->dec4, &m->dec5};
    for (int i = 0; i < 5; i++) {
        int h = H >> (5 - i);
        lay_dec(l, &x->dec[i], dec[i], h, h, i < 2, i < 4);
    }
    x->logits = take(l, (size_t)B * H * H);
    x->pooled5 = take(l, (size_t)B * cfg->c2);
    x->v_raw = take(l, (size_t)B * cfg->proj), x->l_raw = take(l, (size_t)B * cfg->proj);
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* The largest scratch any kernel of the network asks for at batch B. */
static size_t scratch_need(const c2seg_model *m, int B)
{
    const c2seg_config *cfg = &m->cfg;
    int H = cfg->img;
    size_t s = 0;
    const c2seg_convlayer *enc[3] = {&m->enc1, &m->enc2, &m->enc3};
    const c2seg_convlayer *dec[5] = {&m->dec1, &m->dec2, &m->dec3, &m->dec4, &m->dec5};
    for (int i = 0; i < 3; i++) {
        int h = H >> i;
        s = max_size(s, conv2d_scratch_floats(enc[i]->cin, h, h, 3, 1));
        s = max_size(s, conv2d_scratch_floats(enc[i]->mid, h, h, 3, 1));
    }
    for (int i = 0; i < 5; i++) {
        int h = H >> (5 - i);
        s = max_size(s, conv2d_scratch_floats(dec[i]->cin, h, h, 3, 1));
        s = max_size(s, conv2d_scratch_floats(dec[i]->mid, h, h, 3, 1));
    }
    s = max_size(s, conv2d_scratch_floats(cfg->c0, H / 8, H / 8, 3, 2));
    s = max_size(s, conv2d_scratch_floats(cfg->c1, H / 16, H / 16, 3, 2));
    s = max_size(s, conv2d_scratch_floats(cfg->c0 / 8, H, H, 1, 1));
    const int kc[4] = {cfg->c1, cfg->c2, cfg->c1, cfg->c0}, kh[4] = {H / 16, H / 32, H / 16, H / 8};
    for (int i = 0; i < 4; i++)
        s = max_size(s, kan_scratch_floats(B * kh[i] * kh[i], kc[i], kc[i]));
    if (cfg->fusion == C2SEG_FUSION_BCAM || cfg->fusion == C2SEG_FUSION_BCAM_KGATE) {
        bcam_dims d4 = c2seg_bcam_dims(cfg, B, cfg->c1, H / 16);
        bcam_dims d5 = c2seg_bcam_dims(cfg, B, cfg->c2, H / 32);
        s = max_size(s, max_size(bcam_scratch_floats(&d4), bcam_scratch_floats(&d5)));
    }
    if (cfg->fusion == C2SEG_FUSION_DUALA) {
        bcam_dims d4 = c2seg_bcam_dims(cfg, B, cfg->c1, H / 16);
        bcam_dims d5 = c2seg_bcam_dims(cfg, B, cfg->c2, H / 32);
        s = max_size(s, max_size(duala_scratch_floats(&d4), duala_scratch_floats(&d5)));
    }
    return s;
}

/* Words of the largest weight an eval forward at bf16 packs once per layer: the 3x3
 * convolutions' (OC, 9·C) and the KANLinears' fused (out, 9·in); 0 without the kernel. */
static size_t bf16_pack_need(const c2seg_model *m, int B)
{
    const c2seg_config *cfg = &m->cfg;
    size_t s = 0;
    const c2seg_convlayer *cl[8] = {&m->enc1, &m->enc2, &m->enc3, &m->dec1, &m->dec2, &m->dec3, &m->dec4, &m->dec5};
    for (int i = 0; i < 8; i++) {
        s = max_size(s, gemm_bf16_pack_words(cl[i]->mid, 9 * cl[i]->cin));
        s = max_size(s, gemm_bf16_pack_words(cl[i]->cout, 9 * cl[i]->mid));
    }
    s = max_size(s, gemm_bf16_pack_words(cfg->c1, 9 * cfg->c0));
    s = max_size(s, gemm_bf16_pack_words(cfg->c2, 9 * cfg->c1));
    const int kc[3] = {cfg->c0, cfg->c1, cfg->c2};
    for (int i = 0; i < 3; i++) {   /* KANBlocks C->C, BCAM's C->C/4, C/4->C and C->C */
        s = max_size(s, gemm_bf16_pack_words(kc[i], KAN_FUSED * kc[i]));
        s = max_size(s, gemm_bf16_pack_words(kc[i] / 4, KAN_FUSED * kc[i]));
        s = max_size(s, gemm_bf16_pack_words(kc[i], KAN_FUSED * (kc[i] / 4)));
    }
    (void)B;
    return s;
}

/* Lays the model's activations and gradients out in w's arenas (planning mode when they
 * hold no memory yet) and sets the scratch size. */
static void workspace_layout(c2seg_workspace *w, const c2seg_model *m)
{
    layout la = {.a = &w->act_arena, .grads = 0, .B = w->B}, lg = {.a = &w->grad_arena, .grads = 1, .B = w->B};
    lay_model(&la, &w->acts, m);
    lay_model(&lg, &w->grads, m);
    w->scratch_floats = scratch_need(m, w->B);
}

/* w's layout planned for a batch of B, nothing allocated. */
static void workspace_plan(c2seg_workspace *w, const c2seg_model *m, int B)
{
    memset(w, 0, sizeof *w);
    w->B = B;
    arena_plan(&w->act_arena, "activations");
    arena_plan(&w->grad_arena, "activation gradients");
    workspace_layout(w, m);
}

/* c2seg_workspace_create, with the activation gradients' arena or without it (eval). */
static int workspace_create(c2seg_workspace *w, const c2seg_model *m, int B, int grads, c2_err *e)
{
    workspace_plan(w, m, B);
    size_t na = w->act_arena.used, ng = w->grad_arena.used;
    int rc = arena_alloc(&w->act_arena, "activations", na, e);
    if (rc == C2_OK && grads)
        rc = arena_alloc(&w->grad_arena, "activation gradients", ng, e);
    if (rc == C2_OK && !(w->scratch = calloc(w->scratch_floats + 1, sizeof(float))))
        rc = c2_fail(e, C2_ENOMEM, "c2seg: cannot allocate %zu floats of kernel scratch", w->scratch_floats);
    w->precision = precision_inference();
    w->bf16_pack_words = bf16_pack_need(m, B);   /* untouched (not resident) unless a forward runs at bf16 */
    if (rc == C2_OK && w->bf16_pack_words && !(w->bf16_pack = calloc(w->bf16_pack_words, sizeof(uint32_t))))
        rc = c2_fail(e, C2_ENOMEM, "c2seg: cannot allocate %zu words for bf16 weights", w->bf16_pack_words);
    if (rc == C2_OK && w->bf16_pack_words && !(w->bf16_cache = gemm_pack_cache_create()))
        rc = c2_fail(e, C2_ENOMEM, "c2seg: cannot allocate the bf16 weight cache");
    if (rc != C2_OK) {
        c2seg_workspace_free(w);
        return rc;
    }
    workspace_layout(w, m);
    if (!grads)
        arena_plan(&w->grad_arena, "activation gradients"); /* none: the layout's pointers are NULL */
    return C2_OK;
}

int c2seg_workspace_create(c2seg_workspace *w, const c2seg_model *m, int B, c2_err *e)
{
    return workspace_create(w, m, B, 1, e);
}

int c2seg_workspace_create_eval(c2seg_workspace *w, const c2seg_model *m, int B, c2_err *e)
{
    return workspace_create(w, m, B, 0, e);
}

size_t c2seg_workspace_bytes(const c2seg_model *m, int B)
{
    c2seg_workspace w;
    workspace_plan(&w, m, B);
    return (w.act_arena.used + w.grad_arena.used + w.scratch_floats + 1) * sizeof(float);
}

void c2seg_workspace_free(c2seg_workspace *w)
{
    arena_free(&w->act_arena);
    arena_free(&w->grad_arena);
    free(w->scratch);
    free(w->bf16_pack);
    gemm_pack_cache_free(w->bf16_cache);
    memset(w, 0, sizeof *w);
}
