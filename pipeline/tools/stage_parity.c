/* `c2seg parity <dump dir> [--params-from DIR] [--tolerance-scale X]`: runs a dump's
 * inputs through the imported model in the dump's mode and prints, per tensor, the
 * error against the PyTorch reference (tolerances of issue 13, docs/model.md):
 * - forward tensors (act.*, out.*, cacl.* values, post.* buffers):
 *   max|c - ref| <= 1e-5 * max|ref|;
 * - gradients (grad.*, cacl.grad_*): ||c - ref|| / ||ref|| <= max(10 * f64_check, 1e-4);
 *   conv biases that feed a train-mode BatchNorm have a true gradient of exactly 0, so
 *   for them ||c - ref|| <= 1e-4 (absolute);
 * - post.* parameters after one SGD step (lr 1e-3 encoder, 1e-2 the rest): as forward.
 * Train dumps: a tolerance is never below NOISE_K times the tensor's float32 noise floor,
 * measured here: the train step is run NOISE_RUNS more times with every parameter and
 * input pixel moved one ulp up or down (at random) and the same metric taken between
 * those runs and the unperturbed one. The manifest's f64_check is one sample of that
 * noise on the machine that made the dump; where train-mode BatchNorm normalises 2 values
 * (batch 2 on a 1x1 map, tiny preset) the noise is 10-100x larger and depends on how the
 * sums were rounded (OpenBLAS's kernel for the CPU), so a tolerance below it rejects a
 * correct result on some CPUs (docs/model.md).
 * Exits 0 only when every compared tensor is within tolerance (times X). */
#include "model/model.h"
#include "pipeline/pipeline.h"
#include "train/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL_FORWARD 1e-5
#define TOL_GRAD_FLOOR 1e-4
#define TOL_BN_BIAS_ABS 1e-4
#define NOISE_RUNS 2           /* perturbed train steps that measure the noise floor */
#define NOISE_K 10.0           /* tolerance >= NOISE_K * noise (as 10 * f64_check) */

/* One compared tensor as a perturbed run computed it. */
typedef struct noise_rec {
    char name[80];
    float *v;
    int64_t n;
} noise_rec;

typedef struct parity {
    double scale;
    int compared, failed;
    float *tmp;            /* a tokens -> map conversion buffer */
    cJSON *rows;
    int recording;         /* a perturbed run: cmp_* store their tensor instead of comparing */
    noise_rec *recs;
    int n_recs, cap_recs;
    int oom;               /* a recording could not be stored */
} parity;

/* Stores a copy of c as `name` (recording runs). */
static void record(parity *p, const char *name, const float *c, int64_t n)
{
    if (p->n_recs == p->cap_recs) {
        int cap = p->cap_recs ? 2 * p->cap_recs : 256;
        noise_rec *r = realloc(p->recs, (size_t)cap * sizeof *r);
        if (!r) {
            p->oom = 1;
            return;
        }
        p->recs = r;
        p->cap_recs = cap;
    }
    noise_rec *r = &p->recs[p->n_recs];
    if (!(r->v = malloc((size_t)n * sizeof(float)))) {
        p->oom = 1;
        return;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    memcpy(r->v, c, (size_t)n * sizeof(float));
    r->n = n;
    p->n_recs++;
}

enum { NOISE_MAX_REL, NOISE_NORM_REL, NOISE_NORM_ABS };

/* The noise floor of `name`: the largest difference between c and the perturbed runs'
 * copies, in the metric `how` (max|c - rec| / max|c|, ||c - rec|| / max(||c||, 1e-6) or
 * ||c - rec||); 0 without any copy. */
static double noise_of(const parity *p, const char *name, const float *c, int64_t n, int how)
{
    int norm = how != NOISE_MAX_REL;
    double worst = 0;
    for (int k = 0; k < p->n_recs; k++) {
        const noise_rec *r = &p->recs[k];
        if (r->n != n || strcmp(r->name, name) != 0)
            continue;
        double e = 0, mx = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = (double)c[i] - r->v[i];
            e = norm ? e + d * d : fmax(e, fabs(d));
            mx = norm ? mx + (double)c[i] * c[i] : fmax(mx, fabs((double)c[i]));
        }
        worst = fmax(worst, how == NOISE_NORM_ABS ? sqrt(e)
                            : how == NOISE_NORM_REL ? sqrt(e) / fmax(sqrt(mx), 1e-6)
                                                    : e / fmax(mx, 1e-30));
    }
    return worst;
}

static void report(parity *p, const char *name, const char *kind, double err, double tol, double noise)
{
    tol = fmax(tol, NOISE_K * noise);
    int ok = err <= tol * p->scale;
    p->compared++;
    p->failed += !ok;
    fprintf(stderr, "  %-44s %-9s %11.3e %11.3e %11.3e  %s\n", name, kind, err, tol * p->scale, noise,
            ok ? "ok" : "FAIL");
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", name);
    cJSON_AddStringToObject(r, "metric", kind);
    cJSON_AddNumberToObject(r, "error", err);
    cJSON_AddNumberToObject(r, "tolerance", tol * p->scale);
    cJSON_AddNumberToObject(r, "noise", noise);
    cJSON_AddBoolToObject(r, "ok", ok);
    cJSON_AddItemToArray(p->rows, r);
}

/* max|c - ref| / max|ref| (forward). */
static void cmp_forward(parity *p, const torch_dump *d, const char *name, const float *c)
{
    const torch_tensor *t = torch_dump_find(d, name);
    if (!t || t->is_int32 || !c)
        return;
    if (p->recording) {
        record(p, name, c, t->numel);
        return;
    }
    torch_diff f = torch_diff_f32(c, t->data, t->numel);
    report(p, name, "max-rel", f.max_err / fmax(f.max_ref, 1e-30), TOL_FORWARD,
           noise_of(p, name, c, t->numel, NOISE_MAX_REL));
}

/* The same for a tensor we hold as tokens (B,P,C) and the dump as a map (B,C,h,w). */
static void cmp_tokens(parity *p, const torch_dump *d, const char *name, const float *tok)
{
    const torch_tensor *t = torch_dump_find(d, name);
    if (!t || t->ndim != 4 || !tok)
        return;
    tokens_to_map_forward(p->tmp, tok, (int)t->shape[0], (int)t->shape[1], (int)(t->shape[2] * t->shape[3]));
    cmp_forward(p, d, name, p->tmp);
}

/* ||c - ref|| / max(||ref||, 1e-6) (gradients), or the absolute norm when abs_bound. */
static void cmp_grad(parity *p, const torch_dump *d, const char *name, const float *c, double f64, int abs_bound)
{
    const torch_tensor *t = torch_dump_find(d, name);
    if (!t || !c)
        return;
    if (p->recording) {
        record(p, name, c, t->numel);
        return;
    }
    torch_diff f = torch_diff_f32(c, t->data, t->numel);
    if (abs_bound)
        report(p, name, "abs-norm", f.err_norm, TOL_BN_BIAS_ABS, noise_of(p, name, c, t->numel, NOISE_NORM_ABS));
    else
        report(p, name, "norm-rel", f.err_norm / fmax(f.ref_norm, 1e-6), fmax(10 * f64, TOL_GRAD_FLOOR),
               noise_of(p, name, c, t->numel, NOISE_NORM_REL));
}

static void cmp_bcam(parity *p, const torch_dump *d, const char *pfx, const bcam_acts *f)
{
    const struct {
        const char *n;
        const float *x;
    } t[] = {{"A", f->A}, {"Sv", f->Sv}, {"Sl", f->Sl}, {"Fv", f->Fv}, {"Fl", f->Fl},
             {"gv", f->gv}, {"gl", f->gl}, {"out", f->out}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "act.%s.%s", pfx, t[i].n);
        cmp_forward(p, d, name, t[i].x);
    }
}

static void cmp_activations(parity *p, const torch_dump *d, const c2seg_acts *a)
{
    const char *enc[3] = {"act.enc1", "act.enc2", "act.enc3"};
    for (int i = 0; i < 3; i++)
        cmp_forward(p, d, enc[i], a->t[i]);
    cmp_tokens(p, d, "act.pe3", a->s4.pe);
    cmp_tokens(p, d, "act.block1", a->s4.block.out);
    cmp_forward(p, d, "act.norm3", a->s4.map);
    cmp_tokens(p, d, "act.pe4", a->s5.pe);
    cmp_tokens(p, d, "act.block2", a->s5.block.out);
    cmp_forward(p, d, "act.norm4", a->s5.map);
    cmp_forward(p, d, "act.txt_adapt", a->La);
    if (a->f4.out) {
        cmp_bcam(p, d, "fuse4", &a->f4);
        cmp_bcam(p, d, "fuse5", &a->f5);
    }
    cmp_forward(p, d, "act.dblock1", a->dec[0].map);
    cmp_forward(p, d, "act.dblock2", a->dec[1].map);
    cmp_forward(p, d, "act.dec3", a->dec[2].out);
    cmp_forward(p, d, "act.dec4", a->dec[3].out);
    cmp_forward(p, d, "act.dec5", a->dec[4].out);
    cmp_forward(p, d, "act.final", a->logits);
    cmp_forward(p, d, "out.logits", a->logits);
}

static void cmp_scalar(parity *p, const torch_dump *d, const char *name, double v)
{
    float f = (float)v;
    cmp_forward(p, d, name, &f);
}

/* cacl.*: CaCL on the dump's 8 captions and random embeddings (model/cacl.h). */
static int check_cacl(parity *p, const torch_dump *d)
{
    const torch_tensor *pt = torch_dump_find(d, "cacl.pooled"), *vt = torch_dump_find(d, "cacl.v_raw");
    const float *lr = torch_dump_f32(d, "cacl.l_raw");
    if (!pt || !vt || !lr)
        return 0;
    int B = (int)vt->shape[0], D = (int)vt->shape[1], Dp = (int)pt->shape[1];
    size_t bb = (size_t)B * B, bd = (size_t)B * D;
    float *buf = calloc(7 * bb + 4 * bd + contrastive_scratch_floats(B, D), sizeof(float));
    if (!buf)
        return -1;
    float *Y = buf, *M = Y + bb, *Mp = M + bb, *Yh = Mp + bb, *s = Yh + bb, *v = s + bb, *l = v + bd;
    float *gv = l + bd, *gl = gv + bd, *scratch = gl + bd;
    cacl_targets(Y, M, Mp, Yh, pt->data, B, Dp, (float)CACL_TAU, (float)CACL_RHO);
    float v2l, l2v;
    float loss = contrastive_forward(&v2l, &l2v, s, v, l, vt->data, lr, Y, B, D, (float)CACL_TAU);
    contrastive_backward(gv, gl, 1.0f, s, v, l, vt->data, lr, Y, B, D, (float)CACL_TAU, scratch);
    cmp_forward(p, d, "cacl.M", M);
    cmp_forward(p, d, "cacl.Mp", Mp);
    cmp_forward(p, d, "cacl.Yhat", Yh);
    cmp_forward(p, d, "cacl.Y", Y);
    cmp_forward(p, d, "cacl.s", s);
    cmp_scalar(p, d, "cacl.loss", loss);
    cmp_scalar(p, d, "cacl.loss_v2l", v2l);
    cmp_scalar(p, d, "cacl.loss_l2v", l2v);
    cmp_grad(p, d, "cacl.grad_v_raw", gv, 0, 0);
    cmp_grad(p, d, "cacl.grad_l_raw", gl, 0, 0);
    float hard = contrastive_forward(NULL, NULL, s, v, l, vt->data, lr, NULL, B, D, (float)CACL_TAU);
    cmp_scalar(p, d, "cacl.hard_loss", hard);
    free(buf);
    return 0;
}

/* The stage-I heads on the dump's batch and CaCL on them (eval dumps). */
static void check_stage1(parity *p, const torch_dump *d, c2seg_model *m, c2seg_workspace *w, const float *img,
                         const float *pooled, int B)
{
    c2seg_stage1_forward(m, w, img, pooled, B, 0);
    cmp_forward(p, d, "out.v_raw", w->acts.v_raw);
    cmp_forward(p, d, "out.l_raw", w->acts.l_raw);
    int P = m->cfg.proj, Ct = m->cfg.ct;
    float Y[64], M[64], Mp[64], Yh[64], s[64], v[8 * 256], l[8 * 256];
    if (B > 8 || P > 256)
        return;
    cacl_targets(Y, M, Mp, Yh, pooled, B, Ct, (float)CACL_TAU, (float)CACL_RHO);
    float loss = contrastive_forward(NULL, NULL, s, v, l, w->acts.v_raw, w->acts.l_raw, Y, B, P, (float)CACL_TAU);
    cmp_scalar(p, d, "out.cacl_loss", loss);
}

/* 1 for a conv bias whose output feeds a BatchNorm (true gradient 0 in train mode). */
static int feeds_bn(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".bias") == 0 &&
           (strstr(name, ".conv1.") || strstr(name, ".conv2.") || strstr(name, ".dwconv."));
}

/* A parameter after the SGD step: the error of the update p0 - lr*g, judged like its
 * gradient (||c - ref|| / ||lr * g_ref||, or absolute / lr for a bias feeding a BN). */
static void cmp_post(parity *p, const torch_dump *d, const c2seg_tensor_info *t, const float *c, const float *grad,
                     float lr)
{
    if (p->recording)
        return;    /* its noise is its gradient's, recorded as grad.* */
    char name[80], gname[80];
    snprintf(name, sizeof name, "post.%s", t->name);
    snprintf(gname, sizeof gname, "grad.%s", t->name);
    const torch_tensor *r = torch_dump_find(d, name);
    const float *g = torch_dump_f32(d, gname);
    if (!r || !g || r->numel != t->numel)
        return;
    const float *rv = r->data;
    double e2 = 0, g2 = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        e2 += ((double)c[i] - rv[i]) * ((double)c[i] - rv[i]);
        g2 += (double)g[i] * g[i];
    }
    if (feeds_bn(t->name))
        report(p, name, "abs/lr", sqrt(e2) / lr, TOL_BN_BIAS_ABS, noise_of(p, gname, grad, t->numel, NOISE_NORM_ABS));
    else
        report(p, name, "step-rel", sqrt(e2) / fmax(lr * sqrt(g2), 1e-30), fmax(10 * torch_dump_f64_check(d, t->name), TOL_GRAD_FLOOR),
               noise_of(p, gname, grad, t->numel, NOISE_NORM_REL));
}

static void check_train(parity *p, const torch_dump *d, c2seg_model *m, c2seg_workspace *w, const float *img,
                        const float *gt, const float *tokens, const int32_t *mask, int B)
{
    int H = m->cfg.img;
    size_t n_per = (size_t)H * H;
    c2seg_zero_grads(m, w);
    c2seg_forward(m, w, img, tokens, mask, B, 1);
    float bce, dice, loss = seg_loss_forward(&bce, &dice, w->acts.logits, gt, B, n_per);
    cmp_activations(p, d, &w->acts);
    cmp_scalar(p, d, "out.loss", loss);
    cmp_scalar(p, d, "out.bce", bce);
    cmp_scalar(p, d, "out.dice", dice);
    float *dlogits = w->grads.logits;
    seg_loss_backward(dlogits, w->acts.logits, gt, B, n_per, 1.0f);
    c2seg_backward(m, w, dlogits, mask, B, 1);
    for (int i = 0; i < m->n_tensors; i++) {
        const c2seg_tensor_info *t = &m->tensors[i];
        if (t->kind != C2SEG_PARAM || t->group == C2SEG_GROUP_HEADS)
            continue;
        char name[80];
        snprintf(name, sizeof name, "grad.%s", t->name);
        cmp_grad(p, d, name, m->grads + t->offset, torch_dump_f64_check(d, t->name), feeds_bn(t->name));
    }
    param_group groups[C2SEG_NGROUPS];
    for (int g = 0; g < C2SEG_NGROUPS; g++) {
        groups[g].offset = m->group_begin[g];
        groups[g].count = m->group_begin[g + 1] - m->group_begin[g];
        groups[g].lr = g == C2SEG_GROUP_ENCODER ? 1e-3f : 1e-2f;
        groups[g].weight_decay = 0;
    }
    sgd_step(m->params, m->grads, groups, C2SEG_NGROUPS, 1.0f);
    for (int i = 0; i < m->n_tensors; i++) {
        const c2seg_tensor_info *t = &m->tensors[i];
        char name[80];
        snprintf(name, sizeof name, "post.%s", t->name);
        const torch_tensor *r = torch_dump_find(d, name);
        if (!r)
            continue;
        if (t->kind == C2SEG_COUNTER) {
            if (!p->recording)
                report(p, name, "exact", r->numel == 1 && *(const int32_t *)r->data == m->counters[t->offset] ? 0 : 1,
                       0, 0);
        } else if (t->kind == C2SEG_BUFFER) {
            cmp_forward(p, d, name, c2seg_tensor_data(m, t));
        } else {
            cmp_post(p, d, t, c2seg_tensor_data(m, t), m->grads + t->offset, groups[t->group].lr);
        }
    }
}

/* One ulp up or down at random for each nonzero of the n values (a fixed LCG per seed);
 * zeros stay 0 (one ulp of 0 is a denormal, which would only slow the run down). */
static void nudge(float *v, size_t n, unsigned *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 1103515245u + 12345u;
        if (v[i] != 0.0f)
            v[i] = nextafterf(v[i], (*state >> 16) & 1 ? INFINITY : -INFINITY);
    }
}

/* The noise floor of a train dump: NOISE_RUNS train steps on one-ulp nudged parameters,
 * image and text tokens, each compared tensor recorded (noise_of compares them with the
 * real run). The model's parameters, buffers and counters are restored after each. */
static int measure_noise(parity *p, const torch_dump *d, c2seg_model *m, c2seg_workspace *w, const float *img,
                         const float *gt, const float *tokens, const int32_t *mask, int B, int64_t n_tokens)
{
    size_t np = m->n_params + m->n_buffers, ni = (size_t)B * m->cfg.img * m->cfg.img;
    float *saved = malloc(np * sizeof(float)), *im = malloc(ni * sizeof(float));
    float *tok = malloc((size_t)n_tokens * sizeof(float));
    int32_t *cnt = malloc((m->n_counters + 1) * sizeof(int32_t));
    if (!saved || !im || !tok || !cnt) {
        free(saved), free(im), free(tok), free(cnt);
        return -1;
    }
    memcpy(saved, m->params, np * sizeof(float));
    memcpy(cnt, m->counters, m->n_counters * sizeof(int32_t));
    for (int r = 0; r < NOISE_RUNS; r++) {
        unsigned state = 2654435761u * (unsigned)(r + 1);
        memcpy(im, img, ni * sizeof(float));
        memcpy(tok, tokens, (size_t)n_tokens * sizeof(float));
        nudge(m->params, m->n_params, &state);
        nudge(im, ni, &state);
        nudge(tok, (size_t)n_tokens, &state);
        p->recording = 1;
        check_train(p, d, m, w, im, gt, tok, mask, B);
        p->recording = 0;
        memcpy(m->params, saved, np * sizeof(float));
        memcpy(m->counters, cnt, m->n_counters * sizeof(int32_t));
    }
    free(saved), free(im), free(tok), free(cnt);
    return p->oom ? -1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg parity <dump dir> [--params-from DIR] [--tolerance-scale X]\n"
               "  Runs a reference dump's inputs through the imported model (eval or train, as the dump)\n"
               "  and prints the error of every dumped tensor; exit 0 when all are within tolerance.\n"
               "  --params-from DIR     initial parameters from another dump (train dumps carry none)\n"
               "  --tolerance-scale X   multiply every tolerance by X (default 1)\n");
}

int stage_parity(int argc, char **argv)
{
    const char *dir = NULL, *pdir = NULL;
    double scale = 1.0;
    int npos = 0;
    const cli_option opts[] = {CLI_OPT_TEXT("params-from", 0, &pdir, "DIR"),
                               CLI_OPT_NUM("tolerance-scale", &scale, "X", CLI_NUM_TINY, CLI_NUM_MAX), CLI_OPT_END};
    int ex = cli_parse(argc, argv, opts, &dir, 1, &npos, usage);
    if (ex)
        return ex < 0 ? EXIT_OK : ex;
    if ((ex = cli_require(dir, "the reference dump folder")))
        return ex;
    torch_dump d = {0}, pd = {0};
    c2seg_model m = {0};
    c2seg_workspace w = {0};
    c2_err e = {0};
    parity p = {.scale = scale, .rows = cJSON_CreateArray()};
    int rc = torch_dump_load(&d, dir, &e);
    if (rc == C2_OK && pdir)
        rc = torch_dump_load(&pd, pdir, &e);
    if (rc == C2_OK)
        rc = torch_import_model(&m, &d, dir, pdir ? &pd : &d, pdir ? pdir : dir, &e);
    const torch_tensor *img = rc == C2_OK ? torch_dump_find(&d, "in.image") : NULL;
    const float *gt = torch_dump_f32(&d, "in.gt"), *tokens = torch_dump_f32(&d, "in.text_tokens");
    const float *pooled = torch_dump_f32(&d, "in.text_pooled");
    const torch_tensor *mask = torch_dump_find(&d, "in.text_mask");
    const char *mode = torch_manifest_str(&d, "mode");
    if (rc == C2_OK && (!img || !gt || !tokens || !pooled || !mask || !mask->is_int32 || !mode || img->ndim != 4 ||
                        img->shape[2] != m.cfg.img || img->shape[3] != m.cfg.img))
        rc = c2_fail(&e, C2_EINVAL, "%s: the dump lacks in.image / in.gt / in.text_* or mode, or its image size is not %d",
                     dir, m.cfg.img);
    int B = img ? (int)img->shape[0] : 0;
    if (rc == C2_OK)
        rc = c2seg_workspace_create(&w, &m, B, &e);
    int cmax = m.cfg.c1 > m.cfg.c2 ? m.cfg.c1 : m.cfg.c2, h4 = m.cfg.img / 16;
    if (rc == C2_OK && !(p.tmp = malloc((size_t)B * cmax * h4 * h4 * sizeof(float))))
        rc = c2_fail(&e, C2_ENOMEM, "parity: out of memory");
    if (rc != C2_OK) {
        cli_error("%s", e.msg);
    } else {
        cli_log("%s: %s / %s, batch %d, %s mode", dir, m.cfg.preset, c2seg_fusion_name(m.cfg.fusion), B, mode);
        fprintf(stderr, "  %-44s %-9s %11s %11s %11s\n", "tensor", "metric", "error", "tolerance", "noise");
        if (strcmp(mode, "train") == 0) {
            const torch_tensor *tt = torch_dump_find(&d, "in.text_tokens");
            if (measure_noise(&p, &d, &m, &w, img->data, gt, tokens, mask->data, B, tt->numel) != 0)
                rc = c2_fail(&e, C2_ENOMEM, "parity: out of memory");
            check_train(&p, &d, &m, &w, img->data, gt, tokens, mask->data, B);
        } else {
            c2seg_forward(&m, &w, img->data, tokens, mask->data, B, 0);
            cmp_activations(&p, &d, &w.acts);
            float bce, dice, loss = seg_loss_forward(&bce, &dice, w.acts.logits, gt, B, (size_t)m.cfg.img * m.cfg.img);
            cmp_scalar(&p, &d, "out.loss", loss);
            cmp_scalar(&p, &d, "out.bce", bce);
            cmp_scalar(&p, &d, "out.dice", dice);
            check_stage1(&p, &d, &m, &w, img->data, pooled, B);
        }
        if (check_cacl(&p, &d) != 0)
            rc = c2_fail(&e, C2_ENOMEM, "parity: out of memory");
        cli_log("%d tensors compared, %d outside tolerance", p.compared, p.failed);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "dump", dir);
        cJSON_AddStringToObject(o, "mode", mode);
        cJSON_AddNumberToObject(o, "compared", p.compared);
        cJSON_AddNumberToObject(o, "failed", p.failed);
        cJSON_AddItemToObject(o, "tensors", p.rows);
        p.rows = NULL;
        cli_print_json(o);
    }
    cJSON_Delete(p.rows);
    for (int k = 0; k < p.n_recs; k++)
        free(p.recs[k].v);
    free(p.recs);
    free(p.tmp);
    c2seg_workspace_free(&w);
    c2seg_model_free(&m);
    torch_dump_free(&d);
    torch_dump_free(&pd);
    return rc != C2_OK ? EXIT_FAILED : p.failed || p.compared == 0 ? EXIT_FAILED : EXIT_OK;
}
