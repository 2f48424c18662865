/* Validation: eval-mode prediction, per-image Dice / IoU, and the sharing of a
 * validation set over the ranks of a data-parallel run. */
#include "train/validate.h"

#include "train/batch.h"
#include "train/dist.h"
#include "train/shard.h"

#include <math.h>
#include <stdlib.h>

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

static int64_t share_begin(int64_t n, int r, int ranks) { return n * r / ranks; }

int fit_validate_in_shares(shard_plan *p, c2seg_model *m, const cache *c, const int64_t *valid, int64_t n, int B,
                           uint8_t *vpred, c2_err *e)
{
    int64_t lo = share_begin(n, p->rank, p->ranks), hi = share_begin(n, p->rank + 1, p->ranks);
    size_t px = (size_t)c->size * c->size;
    if (p->ranks > 1)
        dist_broadcast_floats(m->buffers, m->n_buffers);
    int rc = hi > lo ? fit_predict(m, c, valid + lo, hi - lo, B, vpred + (size_t)lo * px, NULL, e) : C2_OK;
    if ((rc = shard_agree(p, rc, e)))
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
