/* c2seg_params: the parameter registry of C2Seg. One builder walks the network in
 * the reference's state_dict order (c2seg_ref.py C2Seg.__init__: modules in
 * registration order, inside a module its parameters first and then its buffers)
 * and registers every tensor. It runs twice: once to count (arenas NULL), once to
 * record offsets and point the module views into the freshly allocated arenas.
 * Trainable parameters get consecutive offsets in one range, buffers in another,
 * so the registry order (names) and the storage order (groups) stay independent. */
#include "model/c2seg.h"

#include <stdlib.h>
#include <string.h>

typedef struct builder {
    c2seg_model *m;            /* arenas NULL while counting */
    int counting;
    int n;                     /* tensors registered */
    size_t n_params, n_buffers, n_counters;
    c2seg_group group;
    char prefix[64];
} builder;

static float *add_tensor(builder *b, const char *name, c2seg_kind kind, int ndim, int d0, int d1, int d2, int d3,
                         float **grad, int32_t **counter)
{
    int dims[4] = {d0, d1, d2, d3};
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= dims[i];
    size_t *next = kind == C2SEG_PARAM ? &b->n_params : kind == C2SEG_BUFFER ? &b->n_buffers : &b->n_counters;
    size_t offset = *next;
    *next += (size_t)numel;
    int idx = b->n++;
    if (b->counting)
        return NULL;
    c2seg_model *m = b->m;
    c2seg_tensor_info *t = &m->tensors[idx];
    snprintf(t->name, sizeof t->name, "%s%s", b->prefix, name);
    t->ndim = ndim;
    memcpy(t->shape, dims, sizeof dims);
    t->numel = numel;
    t->kind = kind;
    t->group = b->group;
    t->offset = offset;
    if (kind == C2SEG_COUNTER) {
        *counter = m->counters + offset;
        return NULL;
    }
    if (kind == C2SEG_PARAM) {
        /* state_dict order is encoder, rest, heads, so each group is one range */
        m->group_begin[b->group + 1] = offset + (size_t)numel;
        *grad = m->grads + offset;
        return m->params + offset;
    }
    return m->buffers + offset;
}

/* Appends "name." to the prefix; returns the old length for pop(). */
static size_t push(builder *b, const char *name)
{
    size_t len = strlen(b->prefix);
    snprintf(b->prefix + len, sizeof b->prefix - len, "%s.", name);
    return len;
}

static void pop(builder *b, size_t len) { b->prefix[len] = '\0'; }

static void set_top(builder *b, const char *name, c2seg_group g)
{
    b->group = g;
    b->prefix[0] = '\0';
    if (name[0])
        push(b, name);
}

/* conv weight [cout, cin/groups, k, k] + bias [cout] */
static void reg_conv(builder *b, const char *name, c2seg_affine *a, int cin, int cout, int k, int groups)
{
    size_t len = push(b, name);
    a->w = add_tensor(b, "weight", C2SEG_PARAM, 4, cout, cin / groups, k, k, &a->dw, NULL);
    a->b = add_tensor(b, "bias", C2SEG_PARAM, 1, cout, 0, 0, 0, &a->db, NULL);
    pop(b, len);
}

/* weight [c] + bias [c] of a LayerNorm */
static void reg_norm(builder *b, const char *name, c2seg_affine *a, int c)
{
    size_t len = push(b, name);
    a->w = add_tensor(b, "weight", C2SEG_PARAM, 1, c, 0, 0, 0, &a->dw, NULL);
    a->b = add_tensor(b, "bias", C2SEG_PARAM, 1, c, 0, 0, 0, &a->db, NULL);
    pop(b, len);
}

static void reg_bn(builder *b, const char *name, c2seg_bn *bn, int c)
{
    size_t len = push(b, name);
    bn->aff.w = add_tensor(b, "weight", C2SEG_PARAM, 1, c, 0, 0, 0, &bn->aff.dw, NULL);
    bn->aff.b = add_tensor(b, "bias", C2SEG_PARAM, 1, c, 0, 0, 0, &bn->aff.db, NULL);
    bn->running_mean = add_tensor(b, "running_mean", C2SEG_BUFFER, 1, c, 0, 0, 0, NULL, NULL);
    bn->running_var = add_tensor(b, "running_var", C2SEG_BUFFER, 1, c, 0, 0, 0, NULL, NULL);
    add_tensor(b, "num_batches_tracked", C2SEG_COUNTER, 1, 1, 0, 0, 0, NULL, &bn->num_batches_tracked);
    pop(b, len);
}

/* nn.Linear(in, out): weight [out, in] + bias [out] */
static void reg_linear(builder *b, const char *name, c2seg_affine *a, int in, int out)
{
    size_t len = push(b, name);
    a->w = add_tensor(b, "weight", C2SEG_PARAM, 2, out, in, 0, 0, &a->dw, NULL);
    a->b = add_tensor(b, "bias", C2SEG_PARAM, 1, out, 0, 0, 0, &a->db, NULL);
    pop(b, len);
}

static void reg_kan(builder *b, const char *name, c2seg_kan *k, int in, int out)
{
    size_t len = push(b, name);
    k->in = in;
    k->out = out;
    k->base_weight = add_tensor(b, "base_weight", C2SEG_PARAM, 2, out, in, 0, 0, &k->d_base_weight, NULL);
    k->spline_weight = add_tensor(b, "spline_weight", C2SEG_PARAM, 3, out, in, C2SEG_KAN_BASES, 0,
                                  &k->d_spline_weight, NULL);
    k->spline_scaler = add_tensor(b, "spline_scaler", C2SEG_PARAM, 2, out, in, 0, 0, &k->d_spline_scaler, NULL);
    k->grid = add_tensor(b, "grid", C2SEG_BUFFER, 1, C2SEG_KAN_KNOTS, 0, 0, 0, NULL, NULL);
    pop(b, len);
}

static void reg_convlayer(builder *b, c2seg_convlayer *l, int cin, int cout, int mid)
{
    l->cin = cin;
    l->mid = mid;
    l->cout = cout;
    reg_conv(b, "conv1", &l->conv1, cin, mid, 3, 1);
    reg_bn(b, "bn1", &l->bn1, mid);
    reg_conv(b, "conv2", &l->conv2, mid, cout, 3, 1);
    reg_bn(b, "bn2", &l->bn2, cout);
}

static void reg_patchembed(builder *b, c2seg_patchembed *p, int cin, int cout)
{
    p->cin = cin;
    p->cout = cout;
    reg_conv(b, "proj", &p->proj, cin, cout, 3, 1);
    reg_norm(b, "norm", &p->norm, cout);
}

static void reg_kanblock(builder *b, c2seg_kanblock *k, int c)
{
    static const char *const fc[3] = {"fc1", "fc2", "fc3"}, *const dw[3] = {"dw1", "dw2", "dw3"};
    k->c = c;
    reg_norm(b, "norm", &k->norm, c);
    for (int i = 0; i < 3; i++) {
        reg_kan(b, fc[i], &k->fc[i], c, c);
        size_t len = push(b, dw[i]);
        reg_conv(b, "dwconv", &k->dw[i], c, c, 3, c);
        reg_bn(b, "bn", &k->bn[i], c);
        pop(b, len);
    }
}

static void reg_gate(builder *b, const char *name, c2seg_kan *k1, c2seg_kan *k2, int c)
{
    size_t len = push(b, name);
    reg_kan(b, "kan1", k1, c, c / 4);
    reg_kan(b, "kan2", k2, c / 4, c);
    pop(b, len);
}

static void reg_bcam(builder *b, c2seg_bcam_params *f, int c, int ca, int kgate)
{
    f->c = c;
    f->ca = ca;
    f->kgate = kgate;
    reg_norm(b, "ln_v", &f->ln_v, c);
    reg_norm(b, "ln_l", &f->ln_l, ca);
    reg_kan(b, "v_key", &f->v_key, c, c);
    reg_kan(b, "v_val", &f->v_val, c, c);
    reg_kan(b, "l_key", &f->l_key, ca, c);
    reg_kan(b, "l_val", &f->l_val, ca, c);
    if (kgate) {
        reg_gate(b, "gate_v", &f->gate_v1, &f->gate_v2, c);
        reg_gate(b, "gate_l", &f->gate_l1, &f->gate_l2, c);
    }
    reg_conv(b, "out", &f->out, 2 * c, c, 1, 1);
}

static void reg_duala(builder *b, c2seg_duala_params *f, int c, int ca)
{
    f->c = c;
    f->ca = ca;
    reg_norm(b, "ln_v", &f->ln_v, c);
    reg_norm(b, "ln_l", &f->ln_l, ca);
    reg_linear(b, "l_proj", &f->l_proj, ca, c);
    reg_linear(b, "v_q", &f->v_q, c, c);
    reg_linear(b, "v_k", &f->v_k, c, c);
    reg_linear(b, "v_v", &f->v_v, c, c);
    reg_linear(b, "out", &f->out, c, c);
}

static void reg_fusion(builder *b, c2seg_fusion_params *f, int c, const c2seg_config *cfg)
{
    if (cfg->fusion == C2SEG_FUSION_DUALA)
        reg_duala(b, &f->duala, c, cfg->ca);
    else
        reg_bcam(b, &f->bcam, c, cfg->ca, cfg->fusion == C2SEG_FUSION_BCAM_KGATE);
}

/* The whole network, in C2Seg.__init__ order. */
static void build(builder *b)
{
    c2seg_model *m = b->m;
    const c2seg_config *cfg = &m->cfg;
    int c0 = cfg->c0, c1 = cfg->c1, c2 = cfg->c2;
    const c2seg_group E = C2SEG_GROUP_ENCODER, R = C2SEG_GROUP_REST, H = C2SEG_GROUP_HEADS;

    set_top(b, "enc1", E), reg_convlayer(b, &m->enc1, 1, c0 / 8, c0 / 8);
    set_top(b, "enc2", E), reg_convlayer(b, &m->enc2, c0 / 8, c0 / 4, c0 / 4);
    set_top(b, "enc3", E), reg_convlayer(b, &m->enc3, c0 / 4, c0, c0);
    set_top(b, "pe3", E), reg_patchembed(b, &m->pe3, c0, c1);
    set_top(b, "block1", E), reg_kanblock(b, &m->block1, c1);
    set_top(b, "", E), reg_norm(b, "norm3", &m->norm3, c1);
    set_top(b, "pe4", E), reg_patchembed(b, &m->pe4, c1, c2);
    set_top(b, "block2", E), reg_kanblock(b, &m->block2, c2);
    set_top(b, "", E), reg_norm(b, "norm4", &m->norm4, c2);
    if (cfg->fusion != C2SEG_FUSION_VISION) {
        set_top(b, "", R), reg_norm(b, "txt_ln", &m->txt_ln, cfg->ct);
        reg_linear(b, "txt_adapt", &m->txt_adapt, cfg->ct, cfg->ca);
        set_top(b, "fuse4", R), reg_fusion(b, &m->fuse4, c1, cfg);
        set_top(b, "fuse5", R), reg_fusion(b, &m->fuse5, c2, cfg);
    }
    set_top(b, "dec1", R), reg_convlayer(b, &m->dec1, c2, c1, c2);
    set_top(b, "dblock1", R), reg_kanblock(b, &m->dblock1, c1);
    set_top(b, "", R), reg_norm(b, "dnorm1", &m->dnorm1, c1);
    set_top(b, "dec2", R), reg_convlayer(b, &m->dec2, c1, c0, c1);
    set_top(b, "dblock2", R), reg_kanblock(b, &m->dblock2, c0);
    set_top(b, "", R), reg_norm(b, "dnorm2", &m->dnorm2, c0);
    set_top(b, "dec3", R), reg_convlayer(b, &m->dec3, c0, c0 / 4, c0);
    set_top(b, "dec4", R), reg_convlayer(b, &m->dec4, c0 / 4, c0 / 8, c0 / 4);
    set_top(b, "dec5", R), reg_convlayer(b, &m->dec5, c0 / 8, c0 / 8, c0 / 8);
    set_top(b, "", R), reg_conv(b, "final", &m->final, c0 / 8, 1, 1, 1);
    set_top(b, "", H), reg_linear(b, "head_v", &m->head_v, c2, cfg->proj);
    reg_linear(b, "head_l", &m->head_l, cfg->ct, cfg->proj);
}

int c2seg_model_create(c2seg_model *m, const c2seg_config *cfg, c2_err *e)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    builder b = {.m = m, .counting = 1};
    build(&b);
    m->n_tensors = b.n;
    m->n_params = b.n_params;
    m->n_buffers = b.n_buffers;
    m->n_counters = b.n_counters;
    m->tensors = calloc((size_t)b.n, sizeof *m->tensors);
    m->params = calloc(b.n_params + b.n_buffers, sizeof(float));
    m->grads = calloc(b.n_params, sizeof(float));
    m->counters = calloc(b.n_counters, sizeof(int32_t));
    if (!m->tensors || !m->params || !m->grads || !m->counters) {
        c2seg_model_free(m);
        return c2_fail(e, C2_ENOMEM, "c2seg: cannot allocate %zu parameters (preset %s)", b.n_params,
                       cfg->preset);
    }
    m->buffers = m->params + b.n_params;
    b = (builder){.m = m};
    build(&b);
    return C2_OK;
}

void c2seg_model_free(c2seg_model *m)
{
    free(m->tensors);
    free(m->params);
    free(m->grads);
    free(m->counters);
    memset(m, 0, sizeof *m);
}

const c2seg_tensor_info *c2seg_tensor_find(const c2seg_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

float *c2seg_tensor_data(const c2seg_model *m, const c2seg_tensor_info *t)
{
    if (t->kind == C2SEG_PARAM)
        return m->params + t->offset;
    if (t->kind == C2SEG_BUFFER)
        return m->buffers + t->offset;
    return NULL;
}

size_t c2seg_count_params(const c2seg_model *m) { return m->n_params; }

size_t c2seg_count_seg_params(const c2seg_model *m) { return m->group_begin[C2SEG_GROUP_HEADS]; }

const char *c2seg_fusion_name(c2seg_fusion f)
{
    static const char *const names[] = {"vision", "duala", "bcam", "bcam_kgate"};
    return names[f];
}

int c2seg_config_make(c2seg_config *cfg, const char *preset, const char *fusion, c2_err *e)
{
    static const struct {
        const char *name;
        int img, c0, c1, c2, ca, proj;
    } presets[] = {
        {"full", 224, 128, 224, 336, 256, 256},
        {"small", 128, 64, 96, 128, 64, 128},
        {"tiny", 32, 16, 24, 32, 16, 16},
    };
    memset(cfg, 0, sizeof *cfg);
    int found = 0;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(preset, presets[i].name) != 0)
            continue;
        snprintf(cfg->preset, sizeof cfg->preset, "%s", presets[i].name);
        cfg->img = presets[i].img;
        cfg->c0 = presets[i].c0;
        cfg->c1 = presets[i].c1;
        cfg->c2 = presets[i].c2;
        cfg->ca = presets[i].ca;
        cfg->proj = presets[i].proj;
        found = 1;
    }
    if (!found)
        return c2_fail(e, C2_EINVAL, "unknown preset '%s' (expected full, small or tiny)", preset);
    cfg->ct = C2SEG_TEXT_DIM;
    cfg->ntok = C2SEG_TEXT_TOKENS;
    for (int f = C2SEG_FUSION_VISION; f <= C2SEG_FUSION_BCAM_KGATE; f++)
        if (strcmp(fusion, c2seg_fusion_name((c2seg_fusion)f)) == 0) {
            cfg->fusion = (c2seg_fusion)f;
            return C2_OK;
        }
    return c2_fail(e, C2_EINVAL, "unknown fusion '%s' (expected vision, duala, bcam or bcam_kgate)", fusion);
}
