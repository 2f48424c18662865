/* onnx_c2seg: the eval-mode C2Seg segmentation network as ONNX nodes (onnx.h), module by
 * module as model/c2seg_forward.c runs it. Parameters become initializers under their
 * state_dict names (transposed copies for MatMul get ".T"; KAN's Ws·S ".spline_fused.T").
 * Only the batch dimension is dynamic: the map sides follow from the preset. */
#include "pipeline/tools/onnx.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    onnx_graph *g;
    const c2seg_model *m;
    c2_err *e;
    int bad;
    const char *ninf, *zero, *mask_f, *valid;   /* shared constants and mask views */
} ctx;

#define INS(...) (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *const[]){__VA_ARGS__}
#define OP(type, ...) onnx_node(c->g, type, INS(__VA_ARGS__), 0, NULL)
#define OPA(type, at, ...) onnx_node(c->g, type, INS(__VA_ARGS__), (int)(sizeof(at) / sizeof(onnx_attr)), at)

static const char *shape(ctx *c, int n, int64_t a, int64_t b, int64_t d, int64_t e)
{
    int64_t v[4] = {a, b, d, e};
    return onnx_init_i64(c->g, v, n);
}

static const char *scalar(ctx *c, float v)
{
    return onnx_init_f32(c->g, NULL, &v, 0, NULL);
}

/* The registry's parameter `name` (state_dict name); NULL, with the first such error set,
 * when the model has none (or only a counter) by that name. */
static const c2seg_tensor_info *param(ctx *c, const char *name)
{
    const c2seg_tensor_info *t = c2seg_tensor_find(c->m, name);
    if (!t || t->kind == C2SEG_COUNTER) {
        if (!c->bad)
            c2_fail(c->e, C2_EINVAL, "the model has no parameter %s for the ONNX graph", name);
        c->bad = 1;
        return NULL;
    }
    return t;
}

/* The registry tensor `fmt...` as an initializer of its own shape (state_dict name). */
static const c2seg_tensor_info *tensor(ctx *c, char *name, size_t cap, const char *fmt, va_list ap)
{
    vsnprintf(name, cap, fmt, ap);
    return param(c, name);
}

static const char *P(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *P(ctx *c, const char *fmt, ...)
{
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    const c2seg_tensor_info *t = tensor(c, name, sizeof name, fmt, ap);
    va_end(ap);
    if (!t)
        return "";
    int64_t dims[4];
    for (int i = 0; i < t->ndim; i++)
        dims[i] = t->shape[i];
    return onnx_init_f32(c->g, name, c2seg_tensor_data(c->m, t), t->ndim, dims);
}

/* The transpose [cols, rows] of a [rows, cols] float matrix as an initializer. */
static const char *transposed(ctx *c, const char *name, const float *w, int rows, int cols)
{
    float *t = malloc((size_t)rows * cols * sizeof(float));
    if (!t) {
        c->bad = 1;
        c2_fail(c->e, C2_ENOMEM, "out of memory for %s", name);
        return "";
    }
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < cols; k++)
            t[(size_t)k * rows + r] = w[(size_t)r * cols + k];
    int64_t dims[2] = {cols, rows};
    const char *n = onnx_init_f32(c->g, name, t, 2, dims);
    free(t);
    return n;
}

static const float *data(ctx *c, const char *name)
{
    const c2seg_tensor_info *t = param(c, name);
    return t ? c2seg_tensor_data(c->m, t) : NULL;
}

/* ---- layers ------------------------------------------------------------------------ */
static const char *conv(ctx *c, const char *pfx, const char *x, int k, int stride, int group)
{
    int p = k / 2;
    onnx_attr at[] = {ONNX_INTS("kernel_shape", k, k), ONNX_INTS("pads", p, p, p, p), ONNX_INTS("strides", stride, stride),
                      ONNX_INT("group", group)};
    return OPA("Conv", at, x, P(c, "%s.weight", pfx), P(c, "%s.bias", pfx));
}

static const char *bn(ctx *c, const char *pfx, const char *x)
{
    onnx_attr at[] = {ONNX_FLOAT("epsilon", 1e-5f)};
    return OPA("BatchNormalization", at, x, P(c, "%s.weight", pfx), P(c, "%s.bias", pfx),
               P(c, "%s.running_mean", pfx), P(c, "%s.running_var", pfx));
}

static const char *ln(ctx *c, const char *pfx, const char *x)
{
    onnx_attr at[] = {ONNX_INT("axis", -1), ONNX_FLOAT("epsilon", 1e-5f)};
    return OPA("LayerNormalization", at, x, P(c, "%s.weight", pfx), P(c, "%s.bias", pfx));
}

/* x [.., in] W[out,in]ᵀ + b */
static const char *linear(ctx *c, const char *pfx, const char *x, int in, int out)
{
    char name[96];
    snprintf(name, sizeof name, "%s.weight", pfx);
    const float *w = data(c, name);
    if (!w)
        return "";
    snprintf(name, sizeof name, "%s.weight.T", pfx);
    return OP("Add", OP("MatMul", x, transposed(c, name, w, out, in)), P(c, "%s.bias", pfx));
}

static const char *map2tok(ctx *c, const char *x, int C, int P_)
{
    onnx_attr at[] = {ONNX_INTS("perm", 0, 2, 1)};
    return OPA("Transpose", at, OP("Reshape", x, shape(c, 3, -1, C, P_, 0)));
}

static const char *tok2map(ctx *c, const char *x, int C, int h)
{
    onnx_attr at[] = {ONNX_INTS("perm", 0, 2, 1)};
    return OP("Reshape", OPA("Transpose", at, x), shape(c, 4, -1, C, h, h));
}

/* KANLinear on x [B, R, in] -> [B, R, out]: SiLU(x) Wbᵀ + B(x) (Ws·S)ᵀ, the bases by
 * Cox–de Boor on the layer's own knots (order 3, 8 bases). */
static const char *kan(ctx *c, const char *pfx, const char *x, int in, int out)
{
    char name[96];
    snprintf(name, sizeof name, "%s.grid", pfx);
    const float *t = data(c, name);
    snprintf(name, sizeof name, "%s.base_weight", pfx);
    const float *wb = data(c, name);
    snprintf(name, sizeof name, "%s.spline_weight", pfx);
    const float *ws = data(c, name);
    snprintf(name, sizeof name, "%s.spline_scaler", pfx);
    const float *sc = data(c, name);
    if (!t || !wb || !ws || !sc)
        return "";
    size_t k8 = (size_t)in * C2SEG_KAN_BASES;
    float *wf = malloc((size_t)out * k8 * sizeof(float));
    if (!wf) {
        c->bad = 1;
        c2_fail(c->e, C2_ENOMEM, "out of memory for %s", pfx);
        return "";
    }
    for (size_t oi = 0; oi < (size_t)out * in; oi++)   /* torch's product Ws * S[..., None] */
        for (int k = 0; k < C2SEG_KAN_BASES; k++)
            wf[oi * C2SEG_KAN_BASES + k] = ws[oi * C2SEG_KAN_BASES + k] * sc[oi];
    snprintf(name, sizeof name, "%s.spline_fused.T", pfx);
    const char *wsT = transposed(c, name, wf, out, (int)k8);
    free(wf);
    snprintf(name, sizeof name, "%s.base_weight.T", pfx);
    const char *wbT = transposed(c, name, wb, out, in);

    const char *base = OP("MatMul", OP("Mul", x, OP("Sigmoid", x)), wbT);
    const char *xu = OP("Unsqueeze", x, shape(c, 1, -1, 0, 0, 0));   /* [B,R,in,1] */
    enum { NK = C2SEG_KAN_KNOTS };
    float lo[NK], hi[NK];
    int64_t d = NK - 1;
    for (int j = 0; j < NK - 1; j++)
        lo[j] = t[j], hi[j] = t[j + 1];
    onnx_attr to[] = {ONNX_INT("to", 1)};
    const char *b = OPA("Cast", to, OP("And", OP("GreaterOrEqual", xu, onnx_init_f32(c->g, NULL, lo, 1, &d)),
                          OP("Less", xu, onnx_init_f32(c->g, NULL, hi, 1, &d))));
    for (int k = 1; k <= 3; k++) {
        int n = NK - 1 - k;   /* bases of order k */
        float l1[NK], d1[NK], h2[NK], d2[NK];
        for (int j = 0; j < n; j++) {
            l1[j] = t[j], d1[j] = t[j + k] - t[j];
            h2[j] = t[j + k + 1], d2[j] = t[j + k + 1] - t[j + 1];
        }
        int64_t dn = n;
        const char *left = OP("Slice", b, shape(c, 1, 0, 0, 0, 0), shape(c, 1, n, 0, 0, 0), shape(c, 1, -1, 0, 0, 0));
        const char *right = OP("Slice", b, shape(c, 1, 1, 0, 0, 0), shape(c, 1, n + 1, 0, 0, 0), shape(c, 1, -1, 0, 0, 0));
        const char *a1 = OP("Mul", OP("Div", OP("Sub", xu, onnx_init_f32(c->g, NULL, l1, 1, &dn)),
                                     onnx_init_f32(c->g, NULL, d1, 1, &dn)), left);
        const char *a2 = OP("Mul", OP("Div", OP("Sub", onnx_init_f32(c->g, NULL, h2, 1, &dn), xu),
                                     onnx_init_f32(c->g, NULL, d2, 1, &dn)), right);
        b = OP("Add", a1, a2);
    }
    const char *flat = OP("Reshape", b, shape(c, 3, 0, 0, (int64_t)k8, 0));
    return OP("Add", base, OP("MatMul", flat, wsT));
}

static const char *convlayer(ctx *c, const char *pfx, const char *x)
{
    char n[64];
    snprintf(n, sizeof n, "%s.conv1", pfx);
    const char *y = conv(c, n, x, 3, 1, 1);
    snprintf(n, sizeof n, "%s.bn1", pfx);
    y = OP("Relu", bn(c, n, y));
    snprintf(n, sizeof n, "%s.conv2", pfx);
    y = conv(c, n, y, 3, 1, 1);
    snprintf(n, sizeof n, "%s.bn2", pfx);
    return OP("Relu", bn(c, n, y));
}

/* KANBlock on tokens [B, h*h, C]. */
static const char *kanblock(ctx *c, const char *pfx, const char *x, int C, int h)
{
    char n[64];
    snprintf(n, sizeof n, "%s.norm", pfx);
    const char *y = ln(c, n, x);
    for (int i = 1; i <= 3; i++) {
        snprintf(n, sizeof n, "%s.fc%d", pfx, i);
        y = kan(c, n, y, C, C);
        snprintf(n, sizeof n, "%s.dw%d.dwconv", pfx, i);
        const char *map = conv(c, n, tok2map(c, y, C, h), 3, 1, C);
        snprintf(n, sizeof n, "%s.dw%d.bn", pfx, i);
        y = map2tok(c, OP("Relu", bn(c, n, map)), C, h * h);
    }
    return OP("Add", x, y);
}

static const char *up2(ctx *c, const char *x)
{
    float s[4] = {1, 1, 2, 2};
    int64_t d = 4;
    onnx_attr at[] = {ONNX_STR("mode", "linear"), ONNX_STR("coordinate_transformation_mode", "half_pixel")};
    return OPA("Resize", at, x, "", onnx_init_f32(c->g, NULL, s, 1, &d));
}

static const char *maxpool_relu(ctx *c, const char *x)
{
    onnx_attr at[] = {ONNX_INTS("kernel_shape", 2, 2), ONNX_INTS("strides", 2, 2)};
    return OP("Relu", OPA("MaxPool", at, x));
}

static const char *softmax(ctx *c, const char *x, int axis)
{
    onnx_attr at[] = {ONNX_INT("axis", axis)};
    return OPA("Softmax", at, x);
}

static const char *trans12(ctx *c, const char *x)
{
    onnx_attr at[] = {ONNX_INTS("perm", 0, 2, 1)};
    return OPA("Transpose", at, x);
}

/* KGate: F * tanh(kan2(ReLU(kan1(F)))) */
static const char *kgate(ctx *c, const char *pfx, const char *f, int C)
{
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s.kan1", pfx);
    snprintf(n2, sizeof n2, "%s.kan2", pfx);
    return OP("Mul", f, OP("Tanh", kan(c, n2, OP("Relu", kan(c, n1, f, C, C / 4)), C / 4, C)));
}

/* BCAM (+ K-Gate) on the map x [B,C,h,h] with the adapted text L [B,N,ca]. */
static const char *bcam(ctx *c, const char *pfx, const char *x, const char *L, int C, int h, int with_gate)
{
    const c2seg_config *cfg = &c->m->cfg;
    char n[64];
    int P_ = h * h;
    const char *V = map2tok(c, x, C, P_);
    snprintf(n, sizeof n, "%s.ln_v", pfx);
    const char *Vn = ln(c, n, V);
    snprintf(n, sizeof n, "%s.ln_l", pfx);
    const char *Ln = ln(c, n, L);
    snprintf(n, sizeof n, "%s.v_key", pfx);
    const char *Vk = kan(c, n, Vn, C, C);
    snprintf(n, sizeof n, "%s.v_val", pfx);
    const char *Vv = kan(c, n, Vn, C, C);
    snprintf(n, sizeof n, "%s.l_key", pfx);
    const char *Lk = kan(c, n, Ln, cfg->ca, C);
    snprintf(n, sizeof n, "%s.l_val", pfx);
    const char *Lv = kan(c, n, Ln, cfg->ca, C);
    const char *A = OP("Div", OP("MatMul", Vk, trans12(c, Lk)), scalar(c, sqrtf((float)C)));   /* [B,P,N] */
    const char *Fv = OP("MatMul", softmax(c, OP("Where", c->valid, A, c->ninf), 2), Lv);
    onnx_attr keep[] = {ONNX_INT("keepdims", 1)};
    const char *nval = OPA("ReduceSum", keep, c->mask_f, shape(c, 1, 1, 0, 0, 0));   /* [B,1] */
    const char *scale = OP("Unsqueeze", OP("Div", scalar(c, (float)P_), nval), shape(c, 1, 2, 0, 0, 0));
    onnx_attr to[] = {ONNX_INT("to", 1)};
    const char *Wl = OP("Mul", OP("Mul", softmax(c, A, 1), OPA("Cast", to, c->valid)), scale);
    const char *Fl = OP("Mul", Vv, OP("MatMul", Wl, Lv));
    if (with_gate) {
        snprintf(n, sizeof n, "%s.gate_v", pfx);
        Fv = kgate(c, n, Fv, C);
        snprintf(n, sizeof n, "%s.gate_l", pfx);
        Fl = kgate(c, n, Fl, C);
    }
    onnx_attr ax[] = {ONNX_INT("axis", 2)};
    const char *cat = tok2map(c, OPA("Concat", ax, Fv, Fl), 2 * C, h);
    snprintf(n, sizeof n, "%s.out", pfx);
    return OP("Add", x, conv(c, n, cat, 1, 1, 1));
}

/* DualA on the map x [B,C,h,h] with L [B,N,ca]. */
static const char *duala(ctx *c, const char *pfx, const char *x, const char *L, int C, int h)
{
    const c2seg_config *cfg = &c->m->cfg;
    char n[64];
    const char *V = map2tok(c, x, C, h * h);
    snprintf(n, sizeof n, "%s.ln_v", pfx);
    const char *Vn = ln(c, n, V);
    snprintf(n, sizeof n, "%s.ln_l", pfx);
    const char *Lln = ln(c, n, L);
    snprintf(n, sizeof n, "%s.l_proj", pfx);
    const char *l = linear(c, n, Lln, cfg->ca, C);
    snprintf(n, sizeof n, "%s.v_q", pfx);
    const char *q = linear(c, n, Vn, C, C);
    snprintf(n, sizeof n, "%s.v_k", pfx);
    const char *k = linear(c, n, Vn, C, C);
    snprintf(n, sizeof n, "%s.v_v", pfx);
    const char *v = linear(c, n, Vn, C, C);
    const char *s = scalar(c, sqrtf((float)C));
    const char *Al = OP("Div", OP("MatMul", l, trans12(c, k)), s);               /* [B,N,P] */
    const char *l2 = OP("Add", l, OP("MatMul", softmax(c, Al, 2), v));
    const char *Av = OP("Div", OP("MatMul", q, trans12(c, l2)), s);              /* [B,P,N] */
    const char *Fv = OP("MatMul", softmax(c, OP("Where", c->valid, Av, c->ninf), 2), l2);
    snprintf(n, sizeof n, "%s.out", pfx);
    return OP("Add", x, tok2map(c, linear(c, n, Fv, C, C), C, h));
}

/* dec step: ReLU(up2(ConvLayer(x))) (+ skip) */
static const char *dec(ctx *c, const char *pfx, const char *x, const char *skip)
{
    const char *y = OP("Relu", up2(c, convlayer(c, pfx, x)));
    return skip ? OP("Add", y, skip) : y;
}

/* dec1 / dec2's KANBlock and LayerNorm on the map x [B,C,h,h]. */
static const char *dblock(ctx *c, const char *blk, const char *norm, const char *x, int C, int h)
{
    return tok2map(c, ln(c, norm, kanblock(c, blk, map2tok(c, x, C, h * h), C, h)), C, h);
}

int onnx_c2seg_graph(onnx_graph *g, const c2seg_model *m, c2_err *e)
{
    const c2seg_config *cfg = &m->cfg;
    ctx cc = {.g = g, .m = m, .e = e}, *c = &cc;
    int S = cfg->img, h4 = S / 16, h5 = S / 32;
    int64_t di[4] = {-1, 1, S, S}, dt[3] = {-1, cfg->ntok, cfg->ct}, dm[2] = {-1, cfg->ntok};
    onnx_graph_io(g, 0, "image", 1, 4, di);
    onnx_graph_io(g, 0, "tokens", 1, 3, dt);
    onnx_graph_io(g, 0, "mask", 6, 2, dm);
    onnx_graph_io(g, 1, "logits", 1, 4, di);

    /* encoder */
    const char *t1 = maxpool_relu(c, convlayer(c, "enc1", "image"));
    const char *t2 = maxpool_relu(c, convlayer(c, "enc2", t1));
    const char *t3 = maxpool_relu(c, convlayer(c, "enc3", t2));
    const char *x = ln(c, "pe3.norm", map2tok(c, conv(c, "pe3.proj", t3, 3, 2, 1), cfg->c1, h4 * h4));
    x = kanblock(c, "block1", x, cfg->c1, h4);
    const char *t4 = tok2map(c, ln(c, "norm3", x), cfg->c1, h4);
    x = ln(c, "pe4.norm", map2tok(c, conv(c, "pe4.proj", t4, 3, 2, 1), cfg->c2, h5 * h5));
    x = kanblock(c, "block2", x, cfg->c2, h5);
    const char *t5 = tok2map(c, ln(c, "norm4", x), cfg->c2, h5);

    /* fusion */
    if (cfg->fusion != C2SEG_FUSION_VISION) {
        float ninf = -INFINITY;
        onnx_attr to[] = {ONNX_INT("to", 1)};
        cc.ninf = scalar(c, ninf);
        cc.zero = scalar(c, 0.0f);
        cc.mask_f = OPA("Cast", to, "mask");                                            /* [B,N] */
        cc.valid = OP("Unsqueeze", OP("Greater", cc.mask_f, cc.zero), shape(c, 1, 1, 0, 0, 0));   /* [B,1,N] */
        const char *L = linear(c, "txt_adapt", ln(c, "txt_ln", "tokens"), cfg->ct, cfg->ca);
        if (cfg->fusion == C2SEG_FUSION_DUALA) {
            t4 = duala(c, "fuse4", t4, L, cfg->c1, h4);
            t5 = duala(c, "fuse5", t5, L, cfg->c2, h5);
        } else {
            int kg = cfg->fusion == C2SEG_FUSION_BCAM_KGATE;
            t4 = bcam(c, "fuse4", t4, L, cfg->c1, h4, kg);
            t5 = bcam(c, "fuse5", t5, L, cfg->c2, h5, kg);
        }
    }

    /* decoder */
    x = dblock(c, "dblock1", "dnorm1", dec(c, "dec1", t5, t4), cfg->c1, h4);
    x = dblock(c, "dblock2", "dnorm2", dec(c, "dec2", x, t3), cfg->c0, 2 * h4);
    x = dec(c, "dec3", x, t2);
    x = dec(c, "dec4", x, t1);
    x = dec(c, "dec5", x, NULL);
    const char *logits = conv(c, "final", x, 1, 1, 1);
    onnx_node_named(g, "logits", "Identity", 1, &logits, 0, NULL);
    if (c->bad)
        return e->code ? e->code : C2_EINVAL;
    if (g->oom)
        return c2_fail(e, C2_ENOMEM, "out of memory while building the ONNX graph");
    return C2_OK;
}
