/* Training loops (Stage I and Stage II), the split policy and batch assembly.
 * See fit.h for the recipe; c2seg_ref.py `train_cmd` / `train_stage1` is the exact
 * definition this follows step for step (schedule, shuffling, dropped last batch). */
#include "train/fit.h"

#include "model/cacl.h"
#include "model/losses.h"
#include "model/optim.h"
#include "model/text_encoder.h"
#include "train/dist.h"
#include "train/trainlog.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IMG_MEAN 0.5f
#define IMG_STD 0.25f

void fit_options_default(fit_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->preset, sizeof o->preset, "small");
    snprintf(o->fusion, sizeof o->fusion, "bcam_kgate");
    snprintf(o->stage1, sizeof o->stage1, "cacl");
    o->epochs = 60;
    o->batch = 16;
    o->lr = 3e-4;
    o->weight_decay = 1e-2;
    o->encoder_lr_scale = 0.1;
    o->warmup_frac = 0.05;
    o->seed = 0;
    o->shards = 1;
}

static double wall_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* ---- the run's random stream: xoshiro256** (state saved in checkpoints) ---------- */
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static void rng_seed(uint64_t s[4], uint64_t seed)
{
    for (int i = 0; i < 4; i++) { /* splitmix64 expansion of the seed */
        uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        s[i] = z ^ (z >> 31);
    }
}

static void shuffle(int64_t *v, int64_t n, uint64_t s[4])
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(rng_next(s) % (uint64_t)(i + 1));
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* Batches per epoch for n samples: a last batch smaller than min_last is dropped
 * (2 for one shard: train-mode BatchNorm needs two samples; 2 per shard otherwise). */
static int64_t batches_per_epoch(int64_t n, int bs, int min_last)
{
    int64_t k = (n + bs - 1) / bs;
    if (k > 1 && n - (k - 1) * bs < min_last)
        k--;
    return k;
}

/* ---- data parallelism ------------------------------------------------------------
 * A global batch of nb samples is cut into G = ranks x L shards, shard g being samples
 * [g*nb/G, (g+1)*nb/G) of the batch. Rank r computes shards r*L .. r*L+L-1 (contiguous
 * rows of the batch) one after the other, each a forward / backward of its own: its
 * BatchNorm layers normalise with the shard's statistics, as torch DDP without
 * SyncBatchNorm. Gradients of the shards are summed (in shard order, into acc when
 * L > 1), then over ranks by one MPI_Allreduce of the contiguous gradient arena. The
 * BatchNorm running statistics kept are those of the rank's first shard (torch DDP
 * broadcasts rank 0's buffers), so rank 0's model is the one written. */
typedef struct shard_plan {
    int G, L, rank, ranks;
    int cap;                  /* the largest shard of a full batch */
    float *acc;               /* [n_params] gradient sum over local shards (L > 1) */
    float *bn_keep;           /* [n_buffers] buffers after the first shard (L > 1) */
    int32_t *counters_keep;   /* [n_counters] */
    int *gather;              /* [4][ranks] Stage-I gather counts / displacements (ranks > 1) */
} shard_plan;

static int shard_begin(int nb, const shard_plan *p, int g) { return (int)((int64_t)g * nb / p->G); }

/* Local shard j of a global batch of nb: its first row (*k0) and its row count. */
static int shard_rows(const shard_plan *p, int nb, int j, int *k0)
{
    int g = p->rank * p->L + j;
    *k0 = shard_begin(nb, p, g);
    return shard_begin(nb, p, g + 1) - *k0;
}

static int shard_plan_create(shard_plan *p, const c2seg_model *m, int B, int shards, c2_err *e)
{
    memset(p, 0, sizeof *p);
    p->L = shards > 0 ? shards : 1;
    p->rank = dist_rank();
    p->ranks = dist_size();
    p->G = p->L * p->ranks;
    p->cap = (B + p->G - 1) / p->G;
    if (p->G > 1 && B < 2 * p->G)
        return c2_fail(e, C2_EINVAL,
                       "a batch of %d is too small for %d ranks x %d shards: every shard needs at least 2 samples "
                       "(train-mode BatchNorm)", B, p->ranks, p->L);
    if (p->L > 1) {
        p->acc = malloc(m->n_params * sizeof(float));
        p->bn_keep = malloc((m->n_buffers + 1) * sizeof(float));
        p->counters_keep = malloc((m->n_counters + 1) * sizeof(int32_t));
        if (!p->acc || !p->bn_keep || !p->counters_keep)
            return c2_fail(e, C2_ENOMEM, "out of memory for the shard buffers");
    }
    if (p->ranks > 1 && !(p->gather = malloc((size_t)p->ranks * 4 * sizeof(int))))
        return c2_fail(e, C2_ENOMEM, "out of memory for the shard buffers");
    return C2_OK;
}

static void shard_plan_free(shard_plan *p)
{
    free(p->acc);
    free(p->bn_keep);
    free(p->counters_keep);
    free(p->gather);
    memset(p, 0, sizeof *p);
}

/* After local shard j's forward: keep the running statistics of shard 0, undo the rest. */
static void shard_bn_keep(shard_plan *p, c2seg_model *m, int j, int last)
{
    if (p->L == 1)
        return;
    if (j == 0) {
        memcpy(p->bn_keep, m->buffers, m->n_buffers * sizeof(float));
        memcpy(p->counters_keep, m->counters, m->n_counters * sizeof(int32_t));
    } else if (last) {
        memcpy(m->buffers, p->bn_keep, m->n_buffers * sizeof(float));
        memcpy(m->counters, p->counters_keep, m->n_counters * sizeof(int32_t));
    }
}

/* After local shard j's backward (into zeroed m->grads): add its gradient to the sum;
 * after the last shard m->grads holds the rank's sum, then the sum over ranks. */
static void shard_grads_add(shard_plan *p, c2seg_model *m, int j)
{
    if (p->L > 1) {
        if (j == 0)
            memcpy(p->acc, m->grads, m->n_params * sizeof(float));
        else
            for (size_t i = 0; i < m->n_params; i++)
                p->acc[i] += m->grads[i];
        if (j < p->L - 1)
            return;
        memcpy(m->grads, p->acc, m->n_params * sizeof(float));
    }
    dist_sum_floats(m->grads, m->n_params);
}

/* ---- split --------------------------------------------------------------------- */
static int push(int64_t **v, int64_t *n, int64_t x)
{
    int64_t *t = realloc(*v, (size_t)(*n + 1) * sizeof **v);
    if (!t)
        return C2_ENOMEM;
    t[(*n)++] = x;
    *v = t;
    return C2_OK;
}

static uint64_t hash_string(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 29;
    return h * 0xBF58476D1CE4E5B9ull;
}

/* The split key of sample i: its case id, or its index when not every sample has one. */
static uint64_t sample_hash(const cache *c, int64_t i, int by_case, uint64_t seed)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)i);
    return hash_string(by_case ? c->samples[i].case_id : key, seed);
}

int fit_split_make(const cache *c, uint64_t seed, fit_split *s, c2_err *e)
{
    memset(s, 0, sizeof *s);
    int64_t has_train = 0, has_case = 0;
    for (int64_t i = 0; i < c->n; i++) {
        has_train += c->samples[i].split == CACHE_SPLIT_TRAIN;
        has_case += c->samples[i].case_id && c->samples[i].case_id[0];
    }
    int rc = C2_OK;
    if (has_train) {
        snprintf(s->policy, sizeof s->policy, "the dataset's own split");
        for (int64_t i = 0; i < c->n && !rc; i++) {
            int sp = c->samples[i].split;
            if (sp == CACHE_SPLIT_TRAIN)
                rc = push(&s->train, &s->n_train, i);
            else if (sp == CACHE_SPLIT_VALID)
                rc = push(&s->valid, &s->n_valid, i);
            else if (sp == CACHE_SPLIT_TEST)
                rc = push(&s->test, &s->n_test, i);
        }
    } else {
        /* 80 / 20 by a seeded hash of the case id, so every slice of a study or
         * patient lands on the same side; by sample when no ids exist */
        int by_case = has_case == c->n;
        snprintf(s->policy, sizeof s->policy, by_case ? "seeded 80/20 split by case (seed %llu)"
                                                      : "seeded 80/20 split by sample (no case ids; seed %llu)",
                 (unsigned long long)seed);
        /* With few cases the hash can send every one of them to training; then the case
         * with the largest hash becomes the validation set, so a small cohort still
         * gets a validation Dice (and never the only case). */
        uint64_t hmax = 0, hmin = UINT64_MAX;
        int64_t n_val = 0;
        for (int64_t i = 0; i < c->n; i++) {
            uint64_t h = sample_hash(c, i, by_case, seed);
            n_val += h % 100 >= 80;
            hmax = h > hmax ? h : hmax;
            hmin = h < hmin ? h : hmin;
        }
        int force = n_val == 0 && hmin != hmax;
        for (int64_t i = 0; i < c->n && !rc; i++) {
            uint64_t h = sample_hash(c, i, by_case, seed);
            int valid = force ? h == hmax : h % 100 >= 80;
            rc = valid ? push(&s->valid, &s->n_valid, i) : push(&s->train, &s->n_train, i);
        }
    }
    if (rc) {
        fit_split_free(s);
        return c2_fail(e, C2_ENOMEM, "out of memory building the split");
    }
    return C2_OK;
}

void fit_split_free(fit_split *s)
{
    free(s->train);
    free(s->valid);
    free(s->test);
    memset(s, 0, sizeof *s);
}

/* ---- batches ------------------------------------------------------------------- */
int fit_batch_create(fit_batch *b, int cap, int S, c2_err *e)
{
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->S = S;
    size_t px = (size_t)cap * S * S, tk = (size_t)cap * TEXT_MAX_TOKENS * TEXT_DIM;
    b->img = malloc(px * sizeof(float));
    b->gt = malloc(px * sizeof(float));
    b->tokens = malloc(tk * sizeof(float));
    b->pooled = malloc((size_t)cap * TEXT_DIM * sizeof(float));
    b->tmask = malloc((size_t)cap * TEXT_MAX_TOKENS * sizeof(int32_t));
    b->empty_tokens = malloc((size_t)TEXT_MAX_TOKENS * TEXT_DIM * sizeof(float));
    b->empty_pooled = malloc(TEXT_DIM * sizeof(float));
    b->empty_mask = malloc(TEXT_MAX_TOKENS * sizeof(int32_t));
    if (!b->img || !b->gt || !b->tokens || !b->pooled || !b->tmask || !b->empty_tokens || !b->empty_pooled ||
        !b->empty_mask) {
        fit_batch_free(b);
        return c2_fail(e, C2_ENOMEM, "out of memory for a batch of %d", cap);
    }
    hash_text_encode("", b->empty_tokens, b->empty_mask, b->empty_pooled);
    return C2_OK;
}

void fit_batch_free(fit_batch *b)
{
    free(b->img);
    free(b->gt);
    free(b->tokens);
    free(b->pooled);
    free(b->tmask);
    free(b->empty_tokens);
    free(b->empty_pooled);
    free(b->empty_mask);
    memset(b, 0, sizeof *b);
}

void fit_batch_fill(fit_batch *b, const cache *c, const int64_t *idx, int n)
{
    size_t px = (size_t)b->S * b->S, tk = (size_t)TEXT_MAX_TOKENS * TEXT_DIM;
    for (int k = 0; k < n; k++) {
        int64_t i = idx[k];
        const float *src = c->images + (size_t)i * px;
        const uint8_t *msk = c->masks + (size_t)i * px;
        for (size_t p = 0; p < px; p++) {
            b->img[k * px + p] = (src[p] - IMG_MEAN) / IMG_STD;
            b->gt[k * px + p] = msk[p] ? 1.0f : 0.0f;
        }
        int32_t t = c->caption_index ? c->caption_index[i] : -1;
        int have = c->has_embeddings && t >= 0 && t < c->n_captions;
        memcpy(b->tokens + k * tk, have ? c->text_tokens + (size_t)t * tk : b->empty_tokens, tk * sizeof(float));
        memcpy(b->pooled + (size_t)k * TEXT_DIM, have ? c->text_pooled + (size_t)t * TEXT_DIM : b->empty_pooled,
               TEXT_DIM * sizeof(float));
        memcpy(b->tmask + (size_t)k * TEXT_MAX_TOKENS,
               have ? c->text_mask + (size_t)t * TEXT_MAX_TOKENS : b->empty_mask, TEXT_MAX_TOKENS * sizeof(int32_t));
    }
}

/* ---- prediction and metrics --------------------------------------------------- */
int fit_predict(c2seg_model *m, const cache *c, const int64_t *idx, int64_t n, int batch, uint8_t *pred,
                float *prob, c2_err *e)
{
    int S = c->size;
    size_t px = (size_t)S * S;
    c2seg_workspace w;
    fit_batch b;
    int rc = c2seg_workspace_create(&w, m, batch, e);
    if (rc)
        return rc;
    if ((rc = fit_batch_create(&b, batch, S, e))) {
        c2seg_workspace_free(&w);
        return rc;
    }
    for (int64_t s = 0; s < n; s += batch) {
        int B = (int)(n - s < batch ? n - s : batch);
        fit_batch_fill(&b, c, idx + s, B);
        c2seg_forward(m, &w, b.img, b.tokens, b.tmask, B, 0);
        const float *lg = w.acts.logits;
        for (size_t p = 0; p < (size_t)B * px; p++) {
            pred[(size_t)s * px + p] = lg[p] > 0.0f;
            if (prob)
                prob[(size_t)s * px + p] = 1.0f / (1.0f + expf(-lg[p]));
        }
    }
    fit_batch_free(&b);
    c2seg_workspace_free(&w);
    return C2_OK;
}

void fit_dice_iou(const cache *c, const int64_t *idx, int64_t n, const uint8_t *pred, double *dice, double *iou)
{
    size_t px = (size_t)c->size * c->size;
    double sd = 0, si = 0;
    for (int64_t k = 0; k < n; k++) {
        const uint8_t *g = c->masks + (size_t)idx[k] * px, *p = pred + (size_t)k * px;
        int64_t inter = 0, sp = 0, sg = 0;
        for (size_t q = 0; q < px; q++) {
            inter += p[q] && g[q];
            sp += p[q] != 0;
            sg += g[q] != 0;
        }
        int64_t uni = sp + sg - inter;
        sd += (sp + sg) ? 2.0 * inter / (double)(sp + sg) : 1.0;
        si += uni ? (double)inter / (double)uni : 1.0;
    }
    *dice = n ? sd / n : NAN;
    *iou = n ? si / n : NAN;
}

/* ---- shared training state ------------------------------------------------------ */
typedef struct run_state {
    c2seg_model m;
    checkpoint_meta meta;
    float *opt_state;
    adamw opt;
    param_group groups[2];
    int n_groups;
    uint64_t rng[4];
    int64_t step;
    int model_ready;
    char resume_path[4200];   /* OUT.resume.ckpt: the state --resume continues from */
    char log_prefix[4200];    /* OUT.log: the history (.json, .csv) */
} run_state;

static void run_state_free(run_state *st)
{
    if (st->model_ready)
        c2seg_model_free(&st->m);
    free(st->opt_state);
    memset(st, 0, sizeof *st);
}

static int save_state(run_state *st, const char *path, int with_optimizer, c2_err *e)
{
    st->meta.step = st->step;
    memcpy(st->meta.rng_state, st->rng, sizeof st->rng);
    checkpoint_optim o = {.step = st->opt.step, .m = st->opt.m, .v = st->opt.v, .n = st->opt.n};
    snprintf(o.type, sizeof o.type, "adamw");
    return checkpoint_save(path, &st->m, &st->meta, with_optimizer ? &o : NULL, e);
}

/* Restores the history of an interrupted run (OUT.log.json) into l and the best. */
static void history_restore(trainlog *l, const char *prefix, int upto_epoch, fit_result *r)
{
    char path[4200];
    snprintf(path, sizeof path, "%s.json", prefix);
    uint8_t *text = NULL;
    size_t n = 0;
    c2_err e = {0};
    if (c2_read_file(path, (size_t)64 << 20, &text, &n, &e))
        return;
    cJSON *j = cJSON_Parse((const char *)text);
    free(text);
    const cJSON *ep;
    cJSON_ArrayForEach(ep, cJSON_GetObjectItem(j, "epochs"))
    {
        trainlog_row row = {0};
        row.epoch = cJSON_GetObjectItem(ep, "epoch")->valueint;
        if (row.epoch > upto_epoch)
            break;
        const char *keys[] = {"loss", "lr", "val_dice", "val_iou", "images_per_s", "seconds"};
        double *dst[] = {&row.loss, &row.lr, &row.val_dice, &row.val_iou, &row.images_per_s, &row.seconds};
        for (int k = 0; k < 6; k++) {
            const cJSON *v = cJSON_GetObjectItem(ep, keys[k]);
            *dst[k] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
        row.step = (int64_t)cJSON_GetObjectItem(ep, "step")->valuedouble;
        trainlog_add(l, &row, &e);
        if (isfinite(row.val_dice) && row.val_dice > r->best_val_dice) {
            r->best_val_dice = row.val_dice;
            r->best_val_iou = row.val_iou;
            r->best_epoch = row.epoch;
        }
    }
    cJSON_Delete(j);
}

/* Removes OUT*.tmp.PID files that a killed run of this output left (PID no longer
 * alive): the crash-recovery counterpart of the atomic writes. */
static void remove_stale_temporaries(const char *out_path)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", out_path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : out_path;
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t nb = strlen(base);
    struct dirent *ent;
    while ((ent = readdir(d))) {
        const char *t = strstr(ent->d_name, ".tmp.");
        if (strncmp(ent->d_name, base, nb) != 0 || !t)
            continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[8400];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (remove(path) == 0)
            c2_warn("removed %s, left by an interrupted run", path);
    }
    closedir(d);
}

/* Opens the model: from --resume's state, from --init, or freshly initialised. */
/* The optimizer group of model group g (a contiguous range of the parameter arena). */
static param_group group_of(const c2seg_model *m, int g, double lr, double weight_decay)
{
    return (param_group){m->group_begin[g], m->group_begin[g + 1] - m->group_begin[g], (float)lr,
                         (float)weight_decay};
}

static int run_state_open(run_state *st, const cache *c, const fit_options *o, int *resumed, c2_err *e)
{
    memset(st, 0, sizeof *st);
    snprintf(st->resume_path, sizeof st->resume_path, "%s.resume.ckpt", o->out_path);
    snprintf(st->log_prefix, sizeof st->log_prefix, "%s.log", o->out_path);
    *resumed = 0;
    int rc;
    checkpoint_optim saved = {0};
    if (o->resume && dist_rank() == 0)
        remove_stale_temporaries(o->out_path);
    FILE *f = o->resume ? fopen(st->resume_path, "rb") : NULL;
    if (f) {
        fclose(f);
        if ((rc = checkpoint_load(st->resume_path, &st->m, &st->meta, &saved, e)))
            return rc;
        st->model_ready = 1;
        *resumed = 1;
    } else if (o->init_path) {
        if ((rc = checkpoint_load(o->init_path, &st->m, &st->meta, NULL, e)))
            return rc;
        st->model_ready = 1;
        c2seg_config want;
        if ((rc = c2seg_config_make(&want, st->m.cfg.preset, o->fusion, e)))
            return rc;
        if (want.fusion != st->m.cfg.fusion) {
            /* a Stage-I checkpoint carries the encoder only: copy it into a model of
             * the requested fusion (every tensor whose name exists in both) */
            c2seg_model fresh;
            if ((rc = c2seg_model_create(&fresh, &want, e)))
                return rc;
            c2seg_model_init_weights(&fresh, o->seed);
            for (int i = 0; i < fresh.n_tensors; i++) {
                const c2seg_tensor_info *t = &fresh.tensors[i], *s = c2seg_tensor_find(&st->m, t->name);
                if (!s || t->kind == C2SEG_COUNTER || s->numel != t->numel)
                    continue;
                const char *top = t->name;
                int encoder = t->group == C2SEG_GROUP_ENCODER || t->group == C2SEG_GROUP_HEADS ||
                              strncmp(top, "enc", 3) == 0 || strncmp(top, "pe", 2) == 0 ||
                              strncmp(top, "block", 5) == 0 || strncmp(top, "norm", 4) == 0;
                if (encoder)
                    memcpy(c2seg_tensor_data(&fresh, t), c2seg_tensor_data(&st->m, s), (size_t)t->numel * 4);
            }
            c2seg_model_free(&st->m);
            st->m = fresh;
        }
    } else {
        c2seg_config cfg;
        if ((rc = c2seg_config_make(&cfg, o->preset, o->fusion, e)))
            return rc;
        if ((rc = c2seg_model_create(&st->m, &cfg, e)))
            return rc;
        st->model_ready = 1;
        c2seg_model_init_weights(&st->m, o->seed);
        checkpoint_meta_default(&st->meta, &cfg);
    }
    if (st->m.cfg.img != c->size)
        return c2_fail(e, C2_EMISMATCH, "the cache holds %dx%d samples but the %s preset takes %dx%d; re-ingest with --preset %s",
                       c->size, c->size, st->m.cfg.preset, st->m.cfg.img, st->m.cfg.img, st->m.cfg.preset);
    /* the intensity domain of the data, recorded for prediction to check */
    if (c->n > 0 && c->samples[0].domain)
        snprintf(st->meta.preprocess.intensity_domain, sizeof st->meta.preprocess.intensity_domain, "%s",
                 c->samples[0].domain);
    st->meta.preprocess.size = c->size;
    size_t n = st->m.n_params;
    st->opt_state = calloc(adamw_state_floats(n), sizeof(float));
    if (!st->opt_state)
        return c2_fail(e, C2_ENOMEM, "out of memory for the optimizer state");
    adamw_init(&st->opt, st->opt_state, n);
    rng_seed(st->rng, o->seed);
    if (*resumed) {
        st->step = st->meta.step;
        memcpy(st->rng, st->meta.rng_state, sizeof st->rng);
        if (saved.m && saved.n == n) {
            memcpy(st->opt.m, saved.m, n * sizeof(float));
            memcpy(st->opt.v, saved.v, n * sizeof(float));
            st->opt.step = (long)saved.step;
        }
        free(saved.m);
        free(saved.v);
    }
    return C2_OK;
}

/* Stage I: rows [begin(r*L), begin((r+1)*L)) of v_raw, l_raw [nb,D] and pooled [nb,512]
 * are rank r's; after this every rank holds all rows. */
static void gather_rows(const shard_plan *p, int nb, int D, float *v_raw, float *l_raw, float *pooled)
{
    int *cnt = p->gather, *dsp = cnt + p->ranks, *cnt_t = dsp + p->ranks, *dsp_t = cnt_t + p->ranks;
    for (int r = 0; r < p->ranks; r++) {
        int k0 = shard_begin(nb, p, r * p->L), k1 = shard_begin(nb, p, (r + 1) * p->L);
        cnt[r] = (k1 - k0) * D;
        dsp[r] = k0 * D;
        cnt_t[r] = (k1 - k0) * TEXT_DIM;
        dsp_t[r] = k0 * TEXT_DIM;
    }
    dist_gather_floats(v_raw, cnt, dsp);
    dist_gather_floats(l_raw, cnt, dsp);
    dist_gather_floats(pooled, cnt_t, dsp_t);
}

/* Every rank learns of a failure on any rank (rank 0's writes); the ranks that did not
 * fail themselves say so. */
static int agree_on(int rc, int rank, c2_err *e)
{
    int all = dist_agree(rc);
    if (all && !rc)
        c2_fail(e, all, "rank %d stops because another rank failed (rank 0 reports why)", rank);
    return all;
}

/* The validation set's masks, predicted in shares: rank r predicts rows [n r/R, n (r+1)/R)
 * with rank 0's BatchNorm running statistics (broadcast first: each rank kept those of its
 * own first shard, and only rank 0's are written), then every rank holds all n masks in
 * vpred, in the order one process predicts them, so the scores are one process's to the bit
 * (tests/slow/test_mpi.sh compares the val_dice column). */
static int64_t share_begin(int64_t n, int r, int ranks) { return n * r / ranks; }

static int validate_in_shares(shard_plan *p, c2seg_model *m, const cache *c, const fit_split *sp, int B,
                              uint8_t *vpred, c2_err *e)
{
    int64_t n = sp->n_valid, lo = share_begin(n, p->rank, p->ranks), hi = share_begin(n, p->rank + 1, p->ranks);
    size_t px = (size_t)c->size * c->size;
    if (p->ranks > 1)
        dist_broadcast_floats(m->buffers, m->n_buffers);
    int rc = hi > lo ? fit_predict(m, c, sp->valid + lo, hi - lo, B, vpred + (size_t)lo * px, NULL, e) : C2_OK;
    if ((rc = agree_on(rc, p->rank, e)))
        return rc;
    if (p->ranks > 1) {
        int *cnt = p->gather, *dsp = cnt + p->ranks;
        for (int r = 0; r < p->ranks; r++) {
            dsp[r] = (int)share_begin(n, r, p->ranks);
            cnt[r] = (int)share_begin(n, r + 1, p->ranks) - dsp[r];
        }
        dist_gather_rows(vpred, px, cnt, dsp);
    }
    return C2_OK;
}

static int check_all_finite(const cache *c, const int64_t *idx, int64_t n, c2_err *e)
{
    size_t px = (size_t)c->size * c->size;
    for (int64_t k = 0; k < n; k++)
        for (size_t p = 0; p < px; p++)
            if (!isfinite(c->images[(size_t)idx[k] * px + p]))
                return c2_fail(e, C2_EINVAL, "sample %lld (%s) has a non-finite pixel in the cache",
                               (long long)idx[k], c->samples[idx[k]].file ? c->samples[idx[k]].file : "?");
    return C2_OK;
}

/* ---- the loop both stages run: epochs of shuffled batches, one AdamW step a batch -- */
typedef struct run_loop {
    int64_t per_epoch, total, warm;   /* batches an epoch; steps of the run (--max-steps caps it); warm-up steps */
    double t_run, t_train;            /* s: the run's start (monotonic); spent in the epochs' steps */
    int64_t n_img;                    /* images stepped on by the completed epochs */
    double t0, loss_sum;              /* the current epoch: its start; sum of loss x batch size */
    int64_t cnt;                      /* the current epoch's images */
} run_loop;

static void run_loop_plan(run_loop *L, const fit_options *o, int64_t n_train, int B, const shard_plan *p)
{
    memset(L, 0, sizeof *L);
    L->per_epoch = batches_per_epoch(n_train, B, p->G > 1 ? 2 * p->G : 2);
    L->total = (int64_t)o->epochs * L->per_epoch;
    if (o->max_steps > 0 && o->max_steps < L->total)
        L->total = o->max_steps;
    L->warm = (int64_t)llround(o->warmup_frac * (double)L->total);
    if (L->warm < 1)
        L->warm = 1;
}

/* The first epoch to run (after the resume state's last one, whose history is restored
 * into l and r); starts the run's clock. */
static int run_loop_start(run_loop *L, const run_state *st, int resumed, trainlog *l, fit_result *r)
{
    int start_epoch = resumed ? (int)(st->step / L->per_epoch) + 1 : 1;
    if (resumed)
        history_restore(l, st->log_prefix, start_epoch - 1, r);
    L->t_run = wall_seconds();
    return start_epoch;
}

/* order [n_train] = the training indices in this epoch's shuffled order. */
static void run_loop_epoch_begin(run_loop *L, run_state *st, const fit_split *sp, int64_t *order)
{
    L->t0 = wall_seconds();
    L->loss_sum = 0;
    L->cnt = 0;
    for (int64_t i = 0; i < sp->n_train; i++)
        order[i] = sp->train[i];
    shuffle(order, sp->n_train, st->rng);
}

/* After a global batch of nb with gradients in st->m.grads: the optimizer step at the
 * schedule's factor f, the epoch's running loss, the progress callback. */
static void run_loop_step(run_loop *L, run_state *st, const fit_options *o, int ep, float loss, int nb, double f)
{
    adamw_step(&st->opt, st->m.params, st->m.grads, st->groups, st->n_groups, (float)f);
    st->step++;
    L->loss_sum += (double)loss * nb;
    L->cnt += nb;
    if (o->on_step) {
        double el = wall_seconds() - L->t0;
        o->on_step(o->user, ep, o->epochs, st->step, L->total, loss, o->lr * f, el > 0 ? L->cnt / el : 0, 0, NAN);
    }
}

/* The epoch's seconds of stepping, counted into the run's unless no step ran (then the
 * caller stops: the schedule is spent). */
static double run_loop_epoch_end(run_loop *L)
{
    double dt = wall_seconds() - L->t0;
    if (L->cnt > 0) {
        L->t_train += dt;
        L->n_img += L->cnt;
    }
    return dt;
}

/* The progress callback for a completed (and committed) epoch. */
static void run_loop_epoch_report(const run_loop *L, const run_state *st, const fit_options *o,
                                  const trainlog_row *row)
{
    if (o->on_step)
        o->on_step(o->user, row->epoch, o->epochs, st->step, L->total, row->loss, row->lr, row->images_per_s, 1,
                   row->val_dice);
}

static void run_loop_finish(const run_loop *L, const run_state *st, fit_result *r)
{
    r->steps = st->step;
    r->images_per_s = L->t_train > 0 ? L->n_img / L->t_train : 0;
    r->seconds = wall_seconds() - L->t_run;
}

/* ---- Stage II ------------------------------------------------------------------ */
int fit_segmentation(const cache *c, const fit_options *o, fit_result *r, c2_err *e)
{
    memset(r, 0, sizeof *r);
    r->best_val_dice = -1;
    if (!c->images || !c->masks)
        return c2_fail(e, C2_EINVAL, "the cache was read without pixels");
    fit_split sp;
    int rc = fit_split_make(c, o->seed, &sp, e);
    if (rc)
        return rc;
    snprintf(r->split_policy, sizeof r->split_policy, "%s", sp.policy);
    r->n_train = (int)sp.n_train;
    r->n_valid = (int)sp.n_valid;
    if (sp.n_train < 2) {
        fit_split_free(&sp);
        return c2_fail(e, C2_EINVAL, "the training split has %lld samples; at least 2 are needed",
                       (long long)sp.n_train);
    }
    if ((rc = check_all_finite(c, sp.train, sp.n_train, e))) {
        fit_split_free(&sp);
        return rc;
    }
    run_state st;
    int resumed;
    if ((rc = run_state_open(&st, c, o, &resumed, e)))
        goto out_state;
    snprintf(st.meta.stage1, sizeof st.meta.stage1, "%s", o->init_path ? st.meta.stage1 : "none");
    st.groups[0] = group_of(&st.m, C2SEG_GROUP_ENCODER, o->lr * o->encoder_lr_scale, o->weight_decay);
    st.groups[1] = group_of(&st.m, C2SEG_GROUP_REST, o->lr, o->weight_decay);
    st.n_groups = 2;

    int B = o->batch;
    shard_plan plan;
    if ((rc = shard_plan_create(&plan, &st.m, B, o->shards, e)))
        goto out_plan;
    run_loop L;
    run_loop_plan(&L, o, sp.n_train, B, &plan);
    int S = c->size;
    size_t px = (size_t)S * S;
    c2seg_workspace w;
    fit_batch b;
    float *dlogits = NULL;
    uint8_t *vpred = NULL;
    int64_t *order = NULL;
    trainlog log;
    trainlog_init(&log, "train");
    memset(&b, 0, sizeof b);
    if ((rc = c2seg_workspace_create(&w, &st.m, plan.cap, e)))
        goto out_ws;
    if ((rc = fit_batch_create(&b, plan.cap, S, e)))
        goto out_ws;
    dlogits = malloc((size_t)plan.cap * px * sizeof(float));
    vpred = malloc(((size_t)sp.n_valid + 1) * px);
    order = malloc((size_t)sp.n_train * sizeof(int64_t));
    if (!dlogits || !vpred || !order) {
        rc = c2_fail(e, C2_ENOMEM, "out of memory for training buffers");
        goto out_all;
    }
    for (int ep = run_loop_start(&L, &st, resumed, &log, r); ep <= o->epochs && st.step < L.total; ep++) {
        run_loop_epoch_begin(&L, &st, &sp, order);
        for (int64_t bi = 0; bi < L.per_epoch && st.step < L.total; bi++) {
            int nb = (int)((bi + 1) * B <= sp.n_train ? B : sp.n_train - bi * B);
            double f = lr_schedule(st.step, L.total, L.warm);
            /* the loss is a mean over the global batch: shard k adds (n_k / nb) x its own
             * mean loss, and the same factor scales its gradient */
            double loss_part = 0;
            for (int j = 0; j < plan.L; j++) {
                int k0, nk = shard_rows(&plan, nb, j, &k0);
                fit_batch_fill(&b, c, order + bi * B + k0, nk);
                c2seg_forward(&st.m, &w, b.img, b.tokens, b.tmask, nk, 1);
                shard_bn_keep(&plan, &st.m, j, j == plan.L - 1);
                float bce, dice;
                float lk = seg_loss_forward(&bce, &dice, w.acts.logits, b.gt, nk, px);
                loss_part += (double)lk * nk / nb;
                c2seg_zero_grads(&st.m, &w);
                memset(dlogits, 0, (size_t)nk * px * sizeof(float));
                seg_loss_backward(dlogits, w.acts.logits, b.gt, nk, px, (float)nk / (float)nb);
                c2seg_backward(&st.m, &w, dlogits, b.tmask, nk, 1);
                shard_grads_add(&plan, &st.m, j);
            }
            dist_sum_doubles(&loss_part, 1);
            float loss = (float)loss_part;
            if (!isfinite(loss)) {
                if (r->best_epoch > 0)
                    rc = c2_fail(e, C2_EINVAL,
                                 "the loss became %s at epoch %d, step %lld; training stopped, the last good state "
                                 "is %s (epoch %d) and the best weights are %s",
                                 isnan(loss) ? "NaN" : "infinite", ep, (long long)st.step, st.resume_path, ep - 1,
                                 o->out_path);
                else
                    rc = c2_fail(e, C2_EINVAL,
                                 "the loss became %s at epoch %d, step %lld, before any epoch completed; nothing "
                                 "was written (try a lower --lr)",
                                 isnan(loss) ? "NaN" : "infinite", ep, (long long)st.step);
                goto out_all;
            }
            if (o->clip_norm > 0)
                grad_clip_norm(st.m.grads, st.groups, st.n_groups, o->clip_norm);
            run_loop_step(&L, &st, o, ep, loss, nb, f);
        }
        double dt_train = run_loop_epoch_end(&L);
        if (L.cnt == 0)
            break;
        /* every rank predicts a share of the validation set; rank 0 scores it and writes,
         * and every rank learns whether that failed */
        double vd = NAN, vi = NAN;
        if (sp.n_valid > 0) {
            if ((rc = validate_in_shares(&plan, &st.m, c, &sp, B, vpred, e)))
                goto out_all;
            if (plan.rank == 0)
                fit_dice_iou(c, sp.valid, sp.n_valid, vpred, &vd, &vi);
        }
        trainlog_row row = {.epoch = ep, .step = st.step, .loss = L.loss_sum / L.cnt,
                            .lr = o->lr * lr_schedule(st.step > 0 ? st.step - 1 : 0, L.total, L.warm),
                            .val_dice = vd, .val_iou = vi, .images_per_s = L.cnt / dt_train,
                            .seconds = wall_seconds() - L.t0};
        trainlog_add(&log, &row, e);
        r->final_loss = row.loss;
        /* the best epoch (or, without validation, the latest) is the output */
        int better = sp.n_valid > 0 && plan.rank == 0 ? vd > r->best_val_dice : 1;
        if (better) {
            r->best_val_dice = sp.n_valid > 0 ? vd : NAN;
            r->best_val_iou = vi;
            r->best_epoch = ep;
            if (plan.rank == 0)
                rc = save_state(&st, o->out_path, 0, e);
        }
        /* the resume state is written last: it is the commit point of the epoch, and the
         * history (which --resume reads for the best so far) must not lag behind it */
        if (plan.rank == 0 && !rc && !(rc = trainlog_write(&log, st.log_prefix, e)))
            rc = save_state(&st, st.resume_path, 1, e);
        if ((rc = agree_on(rc, plan.rank, e)))
            goto out_all;
        r->epochs_run = ep;
        run_loop_epoch_report(&L, &st, o, &row);
    }
    run_loop_finish(&L, &st, r);
    if (r->best_epoch == 0)
        rc = c2_fail(e, C2_EINVAL, "no epoch was completed (the resume state is already at the end?)");
out_all:
    free(dlogits);
    free(vpred);
    free(order);
    fit_batch_free(&b);
out_ws:
    c2seg_workspace_free(&w);
    trainlog_free(&log);
out_plan:
    shard_plan_free(&plan);
out_state:
    run_state_free(&st);
    fit_split_free(&sp);
    return rc;
}

/* ---- Stage I ------------------------------------------------------------------- */
int fit_pretrain(const cache *c, const fit_options *o, fit_result *r, c2_err *e)
{
    memset(r, 0, sizeof *r);
    trainlog log;
    trainlog_init(&log, "pretrain");
    int hard = strcmp(o->stage1, "hardcl") == 0;
    if (!hard && strcmp(o->stage1, "cacl") != 0)
        return c2_fail(e, C2_EINVAL, "unknown Stage-I objective '%s' (cacl or hardcl)", o->stage1);
    if (!c->has_embeddings || !c->images)
        return c2_fail(e, C2_EINVAL, "the cache has no text embeddings or pixels; Stage I needs both");
    fit_split sp;
    int rc = fit_split_make(c, o->seed, &sp, e);
    if (rc)
        return rc;
    c2seg_workspace *ws = NULL;   /* one per local shard: each is kept until its backward */
    fit_batch *bs = NULL;
    shard_plan plan;
    int64_t *order = NULL;
    float *buf = NULL;
    memset(&plan, 0, sizeof plan);
    snprintf(r->split_policy, sizeof r->split_policy, "%s", sp.policy);
    r->n_train = (int)sp.n_train;
    run_state st;
    int resumed;
    if ((rc = run_state_open(&st, c, o, &resumed, e)))
        goto out_state;
    snprintf(st.meta.stage1, sizeof st.meta.stage1, "%s", o->stage1);
    /* encoder and heads at the full rate; the rest untouched */
    st.groups[0] = group_of(&st.m, C2SEG_GROUP_ENCODER, o->lr, o->weight_decay);
    st.groups[1] = group_of(&st.m, C2SEG_GROUP_HEADS, o->lr, o->weight_decay);
    st.n_groups = 2;
    int B = (int)(sp.n_train < o->batch ? sp.n_train : o->batch);
    if (B < 2) {
        rc = c2_fail(e, C2_EINVAL, "Stage I needs at least 2 training samples");
        goto out_state;
    }
    if ((rc = shard_plan_create(&plan, &st.m, B, o->shards, e)))
        goto out_state;
    run_loop L;
    run_loop_plan(&L, o, sp.n_train, B, &plan);
    int D = st.m.cfg.proj;
    order = malloc((size_t)sp.n_train * sizeof(int64_t));
    size_t bb = (size_t)B * B, bd = (size_t)B * D;
    /* + the global batch's v_raw, l_raw [B,D] and pooled [B,512], gathered from the shards */
    buf = malloc((5 * bb + 6 * bd + (size_t)B * TEXT_DIM + contrastive_scratch_floats(B, D)) * sizeof(float));
    ws = calloc((size_t)plan.L, sizeof *ws);
    bs = calloc((size_t)plan.L, sizeof *bs);
    if (!order || !buf || !ws || !bs) {
        rc = c2_fail(e, C2_ENOMEM, "out of memory for Stage I buffers");
        goto out_all;
    }
    for (int j = 0; j < plan.L; j++)
        if ((rc = c2seg_workspace_create(&ws[j], &st.m, plan.cap, e)) ||
            (rc = fit_batch_create(&bs[j], plan.cap, c->size, e)))
            goto out_all;
    float *Y = buf, *M = Y + bb, *Mp = M + bb, *Yhat = Mp + bb, *s = Yhat + bb, *v = s + bb, *l = v + bd,
          *dv = l + bd, *dl = dv + bd, *v_raw = dl + bd, *l_raw = v_raw + bd, *pooled = l_raw + bd,
          *scratch = pooled + (size_t)B * TEXT_DIM;
    for (int ep = run_loop_start(&L, &st, resumed, &log, r); ep <= o->epochs && st.step < L.total; ep++) {
        double correct = 0;
        run_loop_epoch_begin(&L, &st, &sp, order);
        for (int64_t bi = 0; bi < L.per_epoch && st.step < L.total; bi++) {
            int nb = (int)((bi + 1) * B <= sp.n_train ? B : sp.n_train - bi * B);
            double f = lr_schedule(st.step, L.total, L.warm);
            /* every shard's embeddings into the global batch's rows, then from every rank */
            for (int j = 0; j < plan.L; j++) {
                int k0, nk = shard_rows(&plan, nb, j, &k0);
                fit_batch_fill(&bs[j], c, order + bi * B + k0, nk);
                c2seg_stage1_forward(&st.m, &ws[j], bs[j].img, bs[j].pooled, nk, 1);
                shard_bn_keep(&plan, &st.m, j, j == plan.L - 1);
                memcpy(v_raw + (size_t)k0 * D, ws[j].acts.v_raw, (size_t)nk * D * sizeof(float));
                memcpy(l_raw + (size_t)k0 * D, ws[j].acts.l_raw, (size_t)nk * D * sizeof(float));
                memcpy(pooled + (size_t)k0 * TEXT_DIM, bs[j].pooled, (size_t)nk * TEXT_DIM * sizeof(float));
            }
            if (plan.ranks > 1)
                gather_rows(&plan, nb, D, v_raw, l_raw, pooled);
            if (hard) {
                memset(Y, 0, (size_t)nb * nb * sizeof(float));
                for (int i = 0; i < nb; i++)
                    Y[i * nb + i] = 1;
            } else {
                cacl_targets(Y, M, Mp, Yhat, pooled, nb, TEXT_DIM, (float)CACL_TAU, (float)CACL_RHO);
            }
            float l12[2];
            float loss = contrastive_forward(&l12[0], &l12[1], s, v, l, v_raw, l_raw, Y, nb, D, (float)CACL_TAU);
            if (!isfinite(loss)) {
                rc = c2_fail(e, C2_EINVAL, "the Stage-I loss became non-finite at epoch %d, step %lld", ep,
                             (long long)st.step);
                goto out_all;
            }
            /* in-batch retrieval accuracy: image i's most similar text is its own */
            for (int i = 0; i < nb; i++) {
                int best = 0;
                for (int j = 1; j < nb; j++)
                    if (s[i * nb + j] > s[i * nb + best])
                        best = j;
                correct += best == i || memcmp(pooled + (size_t)best * TEXT_DIM, pooled + (size_t)i * TEXT_DIM,
                                               TEXT_DIM * sizeof(float)) == 0;
            }
            /* every rank holds dL/d(v_raw, l_raw) of the whole batch; each back-propagates
             * its own rows (the loss is global, so no per-shard scaling) */
            memset(dv, 0, 2 * bd * sizeof(float));
            contrastive_backward(dv, dl, 1.0f, s, v, l, v_raw, l_raw, Y, nb, D, (float)CACL_TAU, scratch);
            for (int j = 0; j < plan.L; j++) {
                int k0, nk = shard_rows(&plan, nb, j, &k0);
                c2seg_zero_grads(&st.m, &ws[j]);
                c2seg_stage1_backward(&st.m, &ws[j], dv + (size_t)k0 * D, dl + (size_t)k0 * D, bs[j].pooled, nk, 1);
                shard_grads_add(&plan, &st.m, j);
            }
            run_loop_step(&L, &st, o, ep, loss, nb, f);
        }
        double dt = run_loop_epoch_end(&L);
        if (L.cnt == 0)
            break;
        /* the "val_dice" column of a pretraining log holds the in-batch retrieval accuracy */
        trainlog_row row = {.epoch = ep, .step = st.step, .loss = L.loss_sum / L.cnt,
                            .lr = o->lr * lr_schedule(st.step - 1, L.total, L.warm), .val_dice = correct / L.cnt,
                            .val_iou = NAN, .images_per_s = L.cnt / dt, .seconds = dt};
        trainlog_add(&log, &row, e);
        r->final_loss = row.loss;
        r->best_val_dice = row.val_dice;
        r->best_epoch = ep;
        r->epochs_run = ep;
        if (plan.rank == 0 && !(rc = save_state(&st, o->out_path, 0, e)) &&
            !(rc = trainlog_write(&log, st.log_prefix, e)))
            rc = save_state(&st, st.resume_path, 1, e);
        if ((rc = agree_on(rc, plan.rank, e)))
            goto out_all;
        run_loop_epoch_report(&L, &st, o, &row);
    }
    run_loop_finish(&L, &st, r);
out_all:
    for (int j = 0; ws && bs && j < plan.L; j++) {
        fit_batch_free(&bs[j]);
        c2seg_workspace_free(&ws[j]);
    }
    free(ws);
    free(bs);
out_state:
    shard_plan_free(&plan);
    free(order);
    free(buf);
    trainlog_free(&log);
    run_state_free(&st);
    fit_split_free(&sp);
    return rc;
}
