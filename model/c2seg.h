/* c2seg: the C2Seg network (METHOD.md §4) assembled from the engine's layers.
 *
 * Parameters. Every parameter and buffer of the reference's state_dict is registered,
 * in state_dict order and under its exact name (`enc1.conv1.weight`,
 * `block1.fc1.spline_weight`, `enc1.bn1.num_batches_tracked`, ...), into one registry.
 * Storage is ONE float allocation: the trainable parameters first, contiguous and
 * grouped (encoder = enc1..norm4, then the rest, then the stage-I heads), followed by
 * the float buffers (BatchNorm running statistics, KAN grids). A matching gradient
 * arena holds exactly one float per trainable parameter at the same offset, so an
 * optimizer sees three contiguous ranges. num_batches_tracked counters are int32.
 *
 * The module structs below hold pointers into those arenas; forward / backward
 * (model/c2seg_forward.c, model/c2seg_backward.c) use them. */
#ifndef C2SEG_MODEL_C2SEG_H
#define C2SEG_MODEL_C2SEG_H

#include "base/base.h"
#include "model/arena.h"
#include "model/fusion.h"

#include <stddef.h>
#include <stdint.h>

#define C2SEG_TEXT_TOKENS 24   /* N */
#define C2SEG_TEXT_DIM 512     /* Ct */
#define C2SEG_KAN_BASES 8      /* B-spline bases per KAN input */
#define C2SEG_KAN_KNOTS 12

typedef enum { C2SEG_FUSION_VISION, C2SEG_FUSION_DUALA, C2SEG_FUSION_BCAM, C2SEG_FUSION_BCAM_KGATE } c2seg_fusion;

/* Widths of one preset (METHOD.md §0). */
typedef struct c2seg_config {
    char preset[16];       /* "full" | "small" | "tiny" */
    c2seg_fusion fusion;
    int img;               /* H = W of the input */
    int c0, c1, c2;        /* dims */
    int ca;                /* text adapter width */
    int proj;              /* stage-I embedding width */
    int ct;                /* frozen text width (512) */
    int ntok;              /* text tokens N (24) */
} c2seg_config;

/* The preset every stage uses when none is given (ingest, pretrain, train, run). */
#define C2SEG_PRESET_DEFAULT "small"
#define C2SEG_PRESET_NAMES "small (128x128, default) | full (224x224) | tiny (32x32, tests)"

/* Fills cfg for a preset name and a fusion name ("vision|duala|bcam|bcam_kgate"). */
int c2seg_config_make(c2seg_config *cfg, const char *preset, const char *fusion, c2_err *e);
const char *c2seg_fusion_name(c2seg_fusion f);

/* ---- the registry -------------------------------------------------------------- */
typedef enum { C2SEG_PARAM, C2SEG_BUFFER, C2SEG_COUNTER } c2seg_kind;
typedef enum { C2SEG_GROUP_ENCODER, C2SEG_GROUP_REST, C2SEG_GROUP_HEADS, C2SEG_NGROUPS } c2seg_group;

typedef struct c2seg_tensor_info {
    char name[64];         /* state_dict name */
    int ndim;
    int shape[4];          /* as in the reference (num_batches_tracked: [1]) */
    int64_t numel;
    c2seg_kind kind;
    c2seg_group group;
    size_t offset;         /* PARAM: into params/grads; BUFFER: into buffers; COUNTER: into counters */
} c2seg_tensor_info;

/* ---- module parameter views (pointers into the arenas; d* = gradients) ---------- */
typedef struct c2seg_affine {          /* weight + bias of a conv, linear or LayerNorm */
    float *w, *b, *dw, *db;
} c2seg_affine;

typedef struct c2seg_bn {              /* BatchNorm2d(c) */
    c2seg_affine aff;
    float *running_mean, *running_var;
    int32_t *num_batches_tracked;
} c2seg_bn;

typedef struct c2seg_kan {             /* KANLinear(in, out) */
    int in, out;
    float *base_weight, *spline_weight, *spline_scaler;   /* [out,in], [out,in,8], [out,in] */
    float *d_base_weight, *d_spline_weight, *d_spline_scaler;
    float *grid;                                          /* [12] */
} c2seg_kan;

typedef struct c2seg_convlayer {       /* conv3x3(cin->mid) BN ReLU conv3x3(mid->cout) BN ReLU */
    int cin, mid, cout;
    c2seg_affine conv1, conv2;
    c2seg_bn bn1, bn2;
} c2seg_convlayer;

typedef struct c2seg_patchembed {      /* conv3x3 stride 2 (cin->cout) then LayerNorm(cout) */
    int cin, cout;
    c2seg_affine proj, norm;
} c2seg_patchembed;

typedef struct c2seg_kanblock {        /* x + DW3(fc3(DW2(fc2(DW1(fc1(LN(x))))))) */
    int c;
    c2seg_affine norm;
    c2seg_kan fc[3];
    c2seg_affine dw[3];                /* depthwise 3x3: w [c,1,3,3], b [c] */
    c2seg_bn bn[3];
} c2seg_kanblock;

typedef struct c2seg_bcam_params {     /* BCAM(c, ca, kgate) (METHOD.md §5) */
    int c, ca, kgate;
    c2seg_affine ln_v, ln_l;
    c2seg_kan v_key, v_val, l_key, l_val;
    c2seg_kan gate_v1, gate_v2, gate_l1, gate_l2;   /* only when kgate */
    c2seg_affine out;                  /* conv1x1 2c -> c: w [c,2c,1,1] */
} c2seg_bcam_params;

typedef struct c2seg_duala_params {    /* DualA(c, ca) */
    int c, ca;
    c2seg_affine ln_v, ln_l, l_proj, v_q, v_k, v_v, out;
} c2seg_duala_params;

typedef struct c2seg_fusion_params {
    c2seg_bcam_params bcam;            /* BCAM / BCAM + K-Gate */
    c2seg_duala_params duala;          /* DualA */
} c2seg_fusion_params;

typedef struct c2seg_model {
    c2seg_config cfg;
    int n_tensors;
    c2seg_tensor_info *tensors;        /* state_dict order */
    size_t n_params, n_buffers, n_counters;
    size_t group_begin[C2SEG_NGROUPS + 1];   /* params of group g: [group_begin[g], group_begin[g+1]) */
    float *params;                     /* n_params + n_buffers floats, one allocation */
    float *buffers;                    /* = params + n_params */
    float *grads;                      /* n_params floats */
    int32_t *counters;                 /* n_counters (int32, as the dumps store them) */

    c2seg_convlayer enc1, enc2, enc3;
    c2seg_patchembed pe3, pe4;
    c2seg_kanblock block1, block2;
    c2seg_affine norm3, norm4;
    c2seg_affine txt_ln, txt_adapt;    /* absent (NULL) for vision */
    c2seg_fusion_params fuse4, fuse5;
    c2seg_convlayer dec1, dec2, dec3, dec4, dec5;
    c2seg_kanblock dblock1, dblock2;
    c2seg_affine dnorm1, dnorm2;
    c2seg_affine final;
    c2seg_affine head_v, head_l;
} c2seg_model;

/* Builds the registry and allocates the arenas (zeroed). */
int c2seg_model_create(c2seg_model *m, const c2seg_config *cfg, c2_err *e);
void c2seg_model_free(c2seg_model *m);
/* The entry named `name` (state_dict name), or NULL. */
const c2seg_tensor_info *c2seg_tensor_find(const c2seg_model *m, const char *name);
/* Float storage of a PARAM or BUFFER entry (NULL for a COUNTER). */
float *c2seg_tensor_data(const c2seg_model *m, const c2seg_tensor_info *t);
/* Trainable parameter counts: the whole network, and the segmentation network
 * without the stage-I heads (the numbers of METHOD.md §0). */
size_t c2seg_count_params(const c2seg_model *m);
size_t c2seg_count_seg_params(const c2seg_model *m);

/* ---- activations (model/c2seg_acts.c) ---------------------------------------- */
typedef struct c2seg_convlayer_acts {  /* maps; mean / rstd [channels] of each BN */
    float *conv1, *bn1, *mean1, *rstd1, *relu1;   /* [B,mid,H,W] */
    float *conv2, *bn2, *mean2, *rstd2, *out;     /* [B,cout,H,W] */
} c2seg_convlayer_acts;

typedef struct c2seg_kanblock_acts {   /* tokens [B,P,C] unless noted */
    float *ln, *ln_mean, *ln_rstd;     /* LN(x); mean, rstd [B*P] */
    float *fc[3];                      /* KAN outputs */
    float *map[3], *dw[3], *bn[3];     /* maps [B,C,h,w]: fc as map, dwconv, BN */
    float *bn_mean[3], *bn_rstd[3];    /* [C] */
    float *relu[3];                    /* map */
    float *tok[3];                     /* relu as tokens */
    float *out;                        /* x + tok[2] */
} c2seg_kanblock_acts;

typedef struct c2seg_stage_acts {      /* PatchEmbed -> KANBlock -> LN of one KAN scale */
    float *conv;                       /* [B,cout,h,w] */
    float *tok, *pe, *pe_mean, *pe_rstd;   /* tokens; LN(tokens) = pe; [B*P] */
    c2seg_kanblock_acts block;
    float *norm, *norm_mean, *norm_rstd;   /* LN(block out) tokens */
    float *map;                        /* norm as a map [B,cout,h,w] = t4 / t5 */
} c2seg_stage_acts;

typedef struct c2seg_dec_acts {        /* x = ReLU(up2(ConvLayer(in))) (+ skip) */
    c2seg_convlayer_acts conv;
    float *up, *relu;                  /* [B,cout,2H,2W] */
    float *out;                        /* relu + skip (or relu for dec5) */
    float *tok;                        /* out as tokens (dec1, dec2: KANBlock input) */
    c2seg_kanblock_acts block;         /* dec1 / dec2 only */
    float *norm, *norm_mean, *norm_rstd, *map;   /* dnorm1 / dnorm2 */
} c2seg_dec_acts;

/* Everything forward saves for backward, for batch B; also used (same layout, second
 * arena) for the gradients of each activation. */
typedef struct c2seg_acts {
    int B;
    c2seg_convlayer_acts enc[3];
    float *pool[3], *t[3];             /* maxpool(enc out), ReLU(pool) = t1..t3 */
    c2seg_stage_acts s4, s5;           /* pe3/block1/norm3, pe4/block2/norm4 */
    float *txt_ln, *txt_mean, *txt_rstd, *La;   /* [B,N,Ct], [B*N] x2, [B,N,ca] */
    bcam_acts f4, f5;                  /* BCAM internals (forward arena only) */
    duala_acts d4, d5;                 /* DualA internals (forward arena only) */
    float *fuse4, *fuse5;              /* fused maps (t4', t5'); = s4.map / s5.map for vision */
    c2seg_dec_acts dec[5];
    float *logits;                     /* [B,1,H,W] */
    float *pooled5, *v_raw, *l_raw;    /* stage I: mean_hw(t5) [B,c2], heads [B,proj] */
} c2seg_acts;

/* Per-module forward wall times in ms, summed over forward calls, under the module names of
 * c2seg_ref.py bench's breakdown (enc1 .. final). Collected only when workspace.times points
 * to one (bench_model); NULL, the default, costs one test per module. */
#define C2SEG_MAX_MODULES 32
typedef struct c2seg_module_times {
    int n;
    const char *name[C2SEG_MAX_MODULES];
    double ms[C2SEG_MAX_MODULES];
    double last;   /* the clock at the previous module's end (internal) */
} c2seg_module_times;

/* The activation memory of one batch size: forward activations, their gradients and
 * the shared kernel scratch, each one allocation made once. */
typedef struct c2seg_workspace {
    int B;
    arena act_arena, grad_arena;
    float *scratch;
    size_t scratch_floats;
    c2seg_acts acts, grads;
    const float *img, *txt_tokens;     /* the last forward's inputs (backward reads them) */
    int train_forward;                 /* the last c2seg_forward ran in train mode (backward needs it) */
    int precision;                     /* eval forwards' GEMM precision, resolved (model/precision.h):
                                        * create sets precision_inference(): PRECISION_FP32 unless
                                        * predict / eval chose bf16 */
    uint32_t *bf16_pack;               /* a layer's weight packed to bf16 (the largest layer's size) */
    size_t bf16_pack_words;
    struct gemm_pack_cache *bf16_cache; /* the KANLinears' packed fused weights, kept between bf16 forwards */
    c2seg_module_times *times;         /* optional, see above */
} c2seg_workspace;

int c2seg_workspace_create(c2seg_workspace *w, const c2seg_model *m, int B, c2_err *e);
/* The same for eval forwards only (c2seg predict): no activation-gradient arena (grads'
 * pointers NULL), so neither its memory nor its zeroing; never pass it to a backward, to
 * c2seg_zero_grads or to a train-mode forward. */
int c2seg_workspace_create_eval(c2seg_workspace *w, const c2seg_model *m, int B, c2_err *e);
void c2seg_workspace_free(c2seg_workspace *w);
/* The bytes c2seg_workspace_create(w, m, B) allocates (its layout counted, nothing
 * allocated): the memory planner's cost of a batch of B (pipeline/cli/memory.c). */
size_t c2seg_workspace_bytes(const c2seg_model *m, int B);

/* ---- forward / backward (model/c2seg_forward.c, model/c2seg_backward.c) -------- */
/* Segmentation forward: img [B,1,H,W], text tokens [B,N,Ct], mask [B,N] (int32) ->
 * w->acts.logits [B,1,H,W]. The inputs must stay valid until the backward. train != 0: BatchNorm uses batch statistics and updates
 * the running ones (as torch's train mode). B <= w->B. */
void c2seg_forward(c2seg_model *m, c2seg_workspace *w, const float *img, const float *tokens,
                   const int32_t *mask, int B, int train);
/* Gradients of the segmentation forward's inputs (everything saved by the last
 * c2seg_forward, which must have run with train != 0: an eval forward keeps only what
 * inference needs) for dlogits [B,1,H,W]; ACCUMULATES into m->grads (zero them first,
 * with c2seg_zero_grads). */
void c2seg_backward(c2seg_model *m, c2seg_workspace *w, const float *dlogits, const int32_t *mask, int B,
                    int train);
/* Stage I: encode img, v_raw = head_v(mean_hw t5), l_raw = head_l(pooled) ->
 * w->acts.v_raw, w->acts.l_raw [B,proj]. */
void c2seg_stage1_forward(c2seg_model *m, c2seg_workspace *w, const float *img, const float *pooled, int B,
                          int train);
/* dv_raw, dl_raw [B,proj] -> += encoder and head gradients (after a train-mode stage-I forward). */
void c2seg_stage1_backward(c2seg_model *m, c2seg_workspace *w, const float *dv_raw, const float *dl_raw,
                           const float *pooled, int B, int train);
/* Zeroes m->grads and the workspace's activation gradients. */
void c2seg_zero_grads(c2seg_model *m, c2seg_workspace *w);

/* The engine's view of a BCAM's parameters (grads = 1: of their gradients), and the
 * sizes of a fusion at C channels on an h x h grid (shared by forward and backward). */
bcam_params c2seg_bcam_view(const c2seg_bcam_params *f, int grads);
duala_params c2seg_duala_view(const c2seg_duala_params *f, int grads);
bcam_dims c2seg_bcam_dims(const c2seg_config *cfg, int B, int C, int h);

/* Initialises every parameter and buffer per METHOD.md §3 from `seed` (our own
 * generator: deterministic, not bit-equal to torch's). Counters are set to 0. */
void c2seg_model_init_weights(c2seg_model *m, uint64_t seed);

#endif
