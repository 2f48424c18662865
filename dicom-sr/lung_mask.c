/* lung_mask: the lungs of a CT volume from Hounsfield units (rule in lung_mask.h):
 * air threshold, 3-D components of air that do not touch the in-plane border, the largest
 * one or two kept, holes filled slice by slice. Flood fills use explicit growable stacks. */
#include "dicom-sr/lung_mask.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

lung_mask_rule lung_mask_rule_default(void)
{
    lung_mask_rule r = {-320.0, 2, 0.1};
    return r;
}

typedef struct stack {
    int64_t *v;
    int64_t n, cap;
} stack;

static int push(stack *s, int64_t x)
{
    if (s->n == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 4096;
        int64_t *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

typedef struct comp {
    int64_t size;
    int border;
    int32_t label;
} comp;

static int comp_by_size(const void *a, const void *b)
{
    const comp *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : x->label - y->label;
}

/* 4-connected fill of the slice's non-lung pixels from its border; the rest becomes lung. */
static int fill_holes(uint8_t *lung, int H, int W, uint8_t *seen, stack *st)
{
    memset(seen, 0, (size_t)H * (size_t)W);
    st->n = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (y != 0 && y != H - 1 && x != 0 && x != W - 1)
                continue;
            int64_t i = (int64_t)y * W + x;
            if (!lung[i] && !seen[i]) {
                seen[i] = 1;
                if (push(st, i) != 0)
                    return -1;
            }
        }
    while (st->n > 0) {
        int64_t i = st->v[--st->n];
        int y = (int)(i / W), x = (int)(i % W);
        int64_t nb[4] = {y > 0 ? i - W : -1, y < H - 1 ? i + W : -1, x > 0 ? i - 1 : -1, x < W - 1 ? i + 1 : -1};
        for (int k = 0; k < 4; k++)
            if (nb[k] >= 0 && !lung[nb[k]] && !seen[nb[k]]) {
                seen[nb[k]] = 1;
                if (push(st, nb[k]) != 0)
                    return -1;
            }
    }
    for (int64_t i = 0; i < (int64_t)H * W; i++)
        if (!lung[i] && !seen[i])
            lung[i] = 1;
    return 0;
}

int lung_mask_from_hu(const float *hu, int D, int H, int W, const lung_mask_rule *rule, uint8_t *lung,
                      lung_mask_stats *stats, c2_err *e)
{
    lung_mask_rule r = rule ? *rule : lung_mask_rule_default();
    memset(stats, 0, sizeof *stats);
    if (!hu || !lung || D < 1 || H < 3 || W < 3 || r.max_components < 1)
        return c2_fail(e, C2_EINVAL, "lung_mask: bad volume %d x %d x %d or rule", D, H, W);
    int rc = c2_check_dims(e, "lung mask", D, H, (int64_t)W, sizeof(int32_t) + 1);
    if (rc != C2_OK)
        return rc;
    int64_t plane = (int64_t)H * W, n = plane * D;
    int32_t *label = malloc((size_t)n * sizeof *label);
    comp *comps = NULL;
    int ncomp = 0, capcomp = 0;
    stack st = {0};
    uint8_t *seen = malloc((size_t)plane);
    if (!label || !seen) {
        rc = c2_fail(e, C2_ENOMEM, "lung_mask: out of memory for %lld voxels", (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        int air = !isnan(hu[i]) && hu[i] < r.air_hu;
        label[i] = air ? -1 : 0;
        stats->air_voxels += air;
    }
    /* 6-connected components of air */
    for (int64_t s0 = 0; s0 < n; s0++) {
        if (label[s0] != -1)
            continue;
        if (ncomp == capcomp) {
            int cap = capcomp ? capcomp * 2 : 64;
            comp *c = realloc(comps, (size_t)cap * sizeof *c);
            if (!c) {
                rc = c2_fail(e, C2_ENOMEM, "lung_mask: out of memory for components");
                goto done;
            }
            comps = c;
            capcomp = cap;
        }
        comp *c = &comps[ncomp];
        c->label = ncomp + 1;
        c->size = 0;
        c->border = 0;
        label[s0] = c->label;
        st.n = 0;
        if (push(&st, s0) != 0) {
            rc = c2_fail(e, C2_ENOMEM, "lung_mask: out of memory for the fill stack");
            goto done;
        }
        while (st.n > 0) {
            int64_t i = st.v[--st.n];
            c->size++;
            int z = (int)(i / plane);
            int64_t rem = i % plane;
            int y = (int)(rem / W), x = (int)(rem % W);
            if (y == 0 || y == H - 1 || x == 0 || x == W - 1)
                c->border = 1;
            int64_t nb[6] = {x > 0 ? i - 1 : -1,     x < W - 1 ? i + 1 : -1,     y > 0 ? i - W : -1,
                             y < H - 1 ? i + W : -1, z > 0 ? i - plane : -1, z < D - 1 ? i + plane : -1};
            for (int k = 0; k < 6; k++)
                if (nb[k] >= 0 && label[nb[k]] == -1) {
                    label[nb[k]] = c->label;
                    if (push(&st, nb[k]) != 0) {
                        rc = c2_fail(e, C2_ENOMEM, "lung_mask: out of memory for the fill stack");
                        goto done;
                    }
                }
        }
        ncomp++;
    }
    /* keep the largest inner components */
    uint8_t *keep = calloc((size_t)ncomp + 1, 1);
    if (!keep) {
        rc = c2_fail(e, C2_ENOMEM, "lung_mask: out of memory");
        goto done;
    }
    int ninner = 0;
    for (int k = 0; k < ncomp; k++)
        if (!comps[k].border)
            comps[ninner++] = comps[k];
    stats->n_components = ninner;
    qsort(comps, (size_t)ninner, sizeof *comps, comp_by_size);
    for (int k = 0; k < ninner && k < r.max_components; k++)
        if (comps[k].size >= r.min_frac * (double)comps[0].size) {
            keep[comps[k].label] = 1;
            stats->n_kept++;
            stats->kept_voxels += comps[k].size;
        }
    for (int64_t i = 0; i < n; i++)
        lung[i] = label[i] > 0 && keep[label[i]];
    free(keep);
    for (int z = 0; z < D; z++)
        if (fill_holes(lung + (int64_t)z * plane, H, W, seen, &st) != 0) {
            rc = c2_fail(e, C2_ENOMEM, "lung_mask: out of memory for the hole fill");
            goto done;
        }
    for (int64_t i = 0; i < n; i++)
        stats->lung_voxels += lung[i];
    rc = C2_OK;
done:
    free(label);
    free(comps);
    free(st.v);
    free(seen);
    return rc;
}
