/* lung_mask: the lungs of a CT volume from Hounsfield units (rule in lung_mask.h):
 * air threshold, 3-D components of air that do not touch the in-plane border, the largest
 * one or two kept, holes filled slice by slice. The volume is taken one slice at a time
 * (lung_mask_stream): each slice's 4-connected air components are joined to the previous
 * slice's through a union-find (6-connectivity in 3-D), the air kept as bits; a second pass
 * fills each kept component of a slice from its first pixel over the bits and fills the holes. Memory: one bit per voxel and
 * a few slices, never a float or label volume. */
#include "dicom-sr/lung_mask.h"
#include "io/seg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

lung_mask_rule lung_mask_rule_default(void)
{
    lung_mask_rule r = {-320.0, 2, 0.1};
    return r;
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

/* ---- the streaming form (lung_mask.h): 2-D components per slice joined across slices ---- */

struct lung_mask_stream {
    int D, H, W, z;            /* z: slices added so far (pass 1), then the next slice out (pass 2) */
    lung_mask_rule r;
    lung_mask_stats st;
    uint8_t *air;              /* [D * H * W] bits: the air of every slice, for pass 2 */
    int32_t *prev, *cur;       /* [H * W] 2-D component ids of the previous and this slice, 0 = not air */
    int32_t *fill;             /* [H * W] flood-fill stack of one slice */
    int32_t *base;             /* [D + 1] first component id of each slice */
    int32_t *parent;           /* union-find over 2-D component ids (1-based); root = smallest id */
    int32_t *seed;             /* first pixel (raster order) of each 2-D component in its slice */
    int32_t *run_x0, *run_x1, *run_parent, *run_comp; /* the air runs of one slice (label_slice) */
    int32_t *run_row;          /* [H + 1] first run of each row */
    int64_t *size;             /* voxels of each 2-D component, then of each root */
    uint8_t *border;           /* the component touches the in-plane border; then: kept as lung */
    int32_t n_ids, cap_ids;
    uint8_t *seen;             /* [H * W] the air of the slice being added, as bytes */
    int finished;
};

static int32_t uf_find(int32_t *parent, int32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* The runs of one box of a slice (rows y0..y1, columns x0..x1 of rows W wide): the maximal
 * horizontal runs of pixels whose m[p] != 0 equals want, in raster order (run r: row
 * rows[y - y0] .. , columns rx0[r]..rx1[r]), joined to the overlapping runs of the row above
 * by the union-find par (4-connectivity; a component's root is its first run, which holds its
 * first pixel). Returns the number of runs; rows[y1 - y0 + 1] = that number. */
static int32_t runs_join(const uint8_t *m, int want, int W, int y0, int y1, int x0, int x1, int32_t *rx0,
                         int32_t *rx1, int32_t *par, int32_t *rows)
{
    int32_t nr = 0;
    for (int y = y0; y <= y1; y++) {
        const uint8_t *a = m + (size_t)y * W;
        rows[y - y0] = nr;
        int32_t j = y > y0 ? rows[y - y0 - 1] : 0, jend = nr;
        for (int x = x0; x <= x1; x++) {
            if ((a[x] != 0) != want)
                continue;
            int32_t r = nr++;
            rx0[r] = x;
            while (x <= x1 && (a[x] != 0) == want)
                x++;
            rx1[r] = x - 1;
            par[r] = r;
            while (j < jend && rx1[j] < rx0[r]) /* the row above's runs that end before this one */
                j++;
            for (int32_t k = j; k < jend && rx0[k] <= rx1[r]; k++) {
                int32_t u = uf_find(par, r), v = uf_find(par, k);
                if (u != v)
                    par[u > v ? u : v] = u < v ? u : v;
            }
        }
    }
    rows[y1 - y0 + 1] = nr;
    return nr;
}

/* Grows the per-id arrays to hold id; -1 when out of memory. */
static int ids_reserve(lung_mask_stream *s, int32_t id)
{
    if (id < s->cap_ids)
        return 0;
    int32_t cap = s->cap_ids ? s->cap_ids * 2 : 4096;
    int32_t *pa = realloc(s->parent, (size_t)cap * sizeof *pa);
    if (pa)
        s->parent = pa;
    int64_t *sz = realloc(s->size, (size_t)cap * sizeof *sz);
    if (sz)
        s->size = sz;
    uint8_t *bd = realloc(s->border, (size_t)cap);
    if (bd)
        s->border = bd;
    int32_t *sd = realloc(s->seed, (size_t)cap * sizeof *sd);
    if (sd)
        s->seed = sd;
    if (!pa || !sz || !bd || !sd)
        return -1;
    s->cap_ids = cap;
    return 0;
}

/* 4-connected components of the air pixels (air[p] nonzero) of one slice, numbered from
 * first + 1 in raster order of their first pixel: ids[p], 0 for non-air. Runs of air along
 * the rows are joined to the overlapping runs of the row above (a union-find whose root is
 * the first run, which holds the component's first pixel), so each pixel is looked at once.
 * Records each component's first pixel, size and border flag. Returns the count (-1: out of
 * memory). */
static int32_t label_slice(lung_mask_stream *s, const uint8_t *air, int32_t first, int32_t *ids)
{
    int H = s->H, W = s->W;
    int32_t *x0 = s->run_x0, *x1 = s->run_x1, *par = s->run_parent, *comp = s->run_comp, *row = s->run_row;
    runs_join(air, 1, W, 0, H - 1, 0, W - 1, x0, x1, par, row);
    memset(ids, 0, (size_t)H * W * sizeof *ids);
    int32_t next = first;
    for (int y = 0; y < H; y++)
        for (int32_t r = row[y]; r < row[y + 1]; r++) {
            int32_t root = uf_find(par, r), id;
            if (root == r) {
                id = ++next;
                if (ids_reserve(s, id) != 0)
                    return -1;
                s->parent[id] = id;
                s->seed[id] = y * W + x0[r];
                s->size[id] = 0;
                s->border[id] = 0;
            } else {
                id = comp[root];
            }
            comp[r] = id;
            s->size[id] += x1[r] - x0[r] + 1;
            s->border[id] |= y == 0 || y == H - 1 || x0[r] == 0 || x1[r] == W - 1;
            for (int x = x0[r]; x <= x1[r]; x++)
                ids[(size_t)y * W + x] = id;
        }
    return next - first;
}

/* Fills the holes of one slice's lung: the 4-connected regions of non-lung pixels not
 * reached from the slice border become lung. Only the box rows y0..y1, columns x0..x1 are
 * looked at: the lung's bounding box grown by one pixel (clamped to the slice), whose ring
 * is non-lung and reached from the border outside it, so a pixel inside is reached from the
 * border exactly when its region touches the box's edge. */
static void fill_holes(lung_mask_stream *s, uint8_t *lung, int y0, int y1, int x0, int x1)
{
    int W = s->W;
    int32_t *rx0 = s->run_x0, *rx1 = s->run_x1, *par = s->run_parent, *open = s->run_comp, *row = s->run_row;
    int32_t nr = runs_join(lung, 0, W, y0, y1, x0, x1, rx0, rx1, par, row);
    for (int32_t r = 0; r < nr; r++)
        open[r] = 0;
    for (int y = y0; y <= y1; y++) /* a region is open when one of its runs touches the box's edge */
        for (int32_t r = row[y - y0]; r < row[y - y0 + 1]; r++)
            if (y == y0 || y == y1 || rx0[r] == x0 || rx1[r] == x1)
                open[uf_find(par, r)] = 1;
    for (int y = y0; y <= y1; y++)
        for (int32_t r = row[y - y0]; r < row[y - y0 + 1]; r++)
            if (!open[uf_find(par, r)])
                memset(lung + (size_t)y * W + rx0[r], 1, (size_t)(rx1[r] - rx0[r] + 1));
}

int lung_mask_stream_create(lung_mask_stream **out, int D, int H, int W, const lung_mask_rule *rule, c2_err *e)
{
    *out = NULL;
    lung_mask_rule r = rule ? *rule : lung_mask_rule_default();
    if (D < 1 || H < 3 || W < 3 || r.max_components < 1)
        return c2_fail(e, C2_EINVAL, "lung_mask: bad volume %d x %d x %d or rule", D, H, W);
    int rc = c2_check_dims(e, "lung mask", D, H, (int64_t)W, 1);
    if (rc != C2_OK)
        return rc;
    if ((int64_t)H * W > INT32_MAX / 2)
        return c2_fail(e, C2_ELIMIT, "lung_mask: a %d x %d slice is too large", H, W);
    lung_mask_stream *s = calloc(1, sizeof *s);
    if (!s)
        return c2_fail(e, C2_ENOMEM, "lung_mask: out of memory");
    size_t plane = (size_t)H * W;
    s->D = D, s->H = H, s->W = W, s->r = r;
    s->air = calloc(((size_t)D * plane + 7) / 8, 1);
    s->prev = calloc(plane, sizeof *s->prev);
    s->cur = calloc(plane, sizeof *s->cur);
    s->fill = malloc(plane * sizeof *s->fill);
    s->base = calloc((size_t)D + 1, sizeof *s->base);
    s->seen = malloc(plane);
    size_t runs = (size_t)H * (((size_t)W + 1) / 2);
    s->run_x0 = malloc(runs * sizeof *s->run_x0);
    s->run_x1 = malloc(runs * sizeof *s->run_x1);
    s->run_parent = malloc(runs * sizeof *s->run_parent);
    s->run_comp = malloc(runs * sizeof *s->run_comp);
    s->run_row = malloc(((size_t)H + 1) * sizeof *s->run_row);
    if (!s->air || !s->prev || !s->cur || !s->fill || !s->base || !s->seen || !s->run_x0 || !s->run_x1 ||
        !s->run_parent || !s->run_comp || !s->run_row) {
        lung_mask_stream_free(s);
        return c2_fail(e, C2_ENOMEM, "lung_mask: out of memory for %d slices of %d x %d", D, H, W);
    }
    *out = s;
    return C2_OK;
}

void lung_mask_stream_free(lung_mask_stream *s)
{
    if (!s)
        return;
    free(s->air);
    free(s->prev);
    free(s->cur);
    free(s->fill);
    free(s->base);
    free(s->parent);
    free(s->size);
    free(s->border);
    free(s->seed);
    free(s->seen);
    free(s->run_x0);
    free(s->run_x1);
    free(s->run_parent);
    free(s->run_comp);
    free(s->run_row);
    free(s);
}

/* Slice s->z's air: s->seen holds it as bytes 0/1, s->air as bits (pass 2), st.air_voxels
 * counts it; its 2-D components labelled and joined to the previous slice's. */
static int stream_join(lung_mask_stream *s, c2_err *e)
{
    size_t plane = (size_t)s->H * s->W;
    uint8_t *air = s->seen;
    int32_t n = label_slice(s, air, s->n_ids, s->cur);
    if (n < 0)
        return c2_fail(e, C2_ENOMEM, "lung_mask: out of memory for components");
    s->base[s->z] = s->n_ids;
    s->n_ids += n;
    int32_t last_cur = 0, last_prev = 0; /* the pair just joined: its repeats are no-ops */
    if (s->z > 0) /* 6-connectivity across slices: the same pixel air in both */
        for (size_t p = 0; p < plane; p++)
            if (s->cur[p] && s->prev[p] && (s->cur[p] != last_cur || s->prev[p] != last_prev)) {
                last_cur = s->cur[p], last_prev = s->prev[p];
                int32_t a = uf_find(s->parent, s->cur[p]), b = uf_find(s->parent, s->prev[p]);
                if (a == b)
                    continue;
                int32_t lo = a < b ? a : b, hi = a < b ? b : a;
                s->parent[hi] = lo;
                s->size[lo] += s->size[hi];
                s->border[lo] |= s->border[hi];
            }
    int32_t *t = s->prev;
    s->prev = s->cur;
    s->cur = t;
    s->z++;
    return C2_OK;
}

static int stream_full(const lung_mask_stream *s, c2_err *e)
{
    if (s->finished || s->z >= s->D)
        return c2_fail(e, C2_EINVAL, "lung_mask: slice %d added to a volume of %d", s->z, s->D);
    return C2_OK;
}

int lung_mask_stream_add(lung_mask_stream *s, const float *hu, c2_err *e)
{
    if (stream_full(s, e) != C2_OK)
        return C2_EINVAL;
    size_t plane = (size_t)s->H * s->W, at = (size_t)s->z * plane;
    for (size_t p = 0; p < plane; p++) {
        int a = !isnan(hu[p]) && hu[p] < s->r.air_hu;
        s->seen[p] = (uint8_t)a;
        s->st.air_voxels += a;
        s->air[(at + p) >> 3] |= (uint8_t)(a << ((at + p) & 7));
    }
    return stream_join(s, e);
}

int lung_mask_stream_add_air(lung_mask_stream *s, const uint8_t *bits, c2_err *e)
{
    if (stream_full(s, e) != C2_OK)
        return C2_EINVAL;
    size_t plane = (size_t)s->H * s->W, at = (size_t)s->z * plane;
    int64_t n = 0;
    seg_bits_unpack_range(bits, 0, plane, s->seen);
    for (size_t p = 0; p < plane; p++)
        n += s->seen[p];
    s->st.air_voxels += n;
    if ((at & 7) == 0) { /* whole bytes, then the plane's last bits */
        memcpy(s->air + (at >> 3), bits, plane >> 3);
        for (size_t p = plane & ~(size_t)7; p < plane; p++)
            s->air[(at + p) >> 3] |= (uint8_t)(s->seen[p] << ((at + p) & 7));
    } else {
        for (size_t p = 0; p < plane; p++)
            s->air[(at + p) >> 3] |= (uint8_t)(s->seen[p] << ((at + p) & 7));
    }
    return stream_join(s, e);
}

int lung_mask_stream_finish(lung_mask_stream *s, c2_err *e)
{
    if (s->finished || s->z != s->D)
        return c2_fail(e, C2_EINVAL, "lung_mask: %d of %d slices added", s->z, s->D);
    s->base[s->D] = s->n_ids;
    /* the 3-D components are the roots; the smallest id is the first voxel in raster order,
     * which orders equal sizes as a raster-order labelling would */
    comp *comps = malloc(((size_t)s->n_ids + 1) * sizeof *comps);
    if (!comps)
        return c2_fail(e, C2_ENOMEM, "lung_mask: out of memory for components");
    int ninner = 0;
    for (int32_t i = 1; i <= s->n_ids; i++)
        if (s->parent[i] == i && !s->border[i])
            comps[ninner++] = (comp){s->size[i], 0, i};
    s->st.n_components = ninner;
    qsort(comps, (size_t)ninner, sizeof *comps, comp_by_size);
    for (int32_t i = 1; i <= s->n_ids; i++) /* border[] now means: kept */
        s->border[i] = 0;
    for (int k = 0; k < ninner && k < s->r.max_components; k++)
        if (comps[k].size >= s->r.min_frac * (double)comps[0].size) {
            s->border[comps[k].label] = 1;
            s->st.n_kept++;
            s->st.kept_voxels += comps[k].size;
        }
    free(comps);
    for (int32_t i = 1; i <= s->n_ids; i++)
        s->border[i] = s->border[uf_find(s->parent, i)];
    s->finished = 1;
    s->z = 0;
    return C2_OK;
}

int lung_mask_stream_slice(lung_mask_stream *s, uint8_t *lung, c2_err *e)
{
    if (!s->finished || s->z >= s->D)
        return c2_fail(e, C2_EINVAL, "lung_mask: slice %d asked of a volume of %d", s->z, s->D);
    int H = s->H, W = s->W;
    size_t plane = (size_t)H * W, at = (size_t)s->z * plane;
    const uint8_t *air = s->air;
#define AIR(p) ((air[(at + (size_t)(p)) >> 3] >> ((at + (size_t)(p)) & 7)) & 1)
    /* the kept components of this slice, each filled from its first pixel over the air bits */
    memset(lung, 0, plane);
    int by0 = H, by1 = -1, bx0 = W, bx1 = -1; /* the lung's bounding box */
    for (int32_t id = s->base[s->z] + 1; id <= s->base[s->z + 1]; id++) {
        if (!s->border[id])
            continue;
        int64_t top = 0;
        lung[s->seed[id]] = 1;
        s->fill[top++] = s->seed[id];
        while (top > 0) {
            int32_t i = s->fill[--top];
            int y = i / W, x = i % W;
            by0 = y < by0 ? y : by0, by1 = y > by1 ? y : by1, bx0 = x < bx0 ? x : bx0, bx1 = x > bx1 ? x : bx1;
            int32_t nb[4] = {x > 0 ? i - 1 : -1, x < W - 1 ? i + 1 : -1, y > 0 ? i - W : -1, y < H - 1 ? i + W : -1};
            for (int k = 0; k < 4; k++)
                if (nb[k] >= 0 && !lung[nb[k]] && AIR(nb[k])) {
                    lung[nb[k]] = 1;
                    s->fill[top++] = nb[k];
                }
        }
    }
#undef AIR
    if (by1 >= 0) /* no lung in the slice: nothing enclosed */
        fill_holes(s, lung, by0 > 0 ? by0 - 1 : 0, by1 < H - 1 ? by1 + 1 : H - 1, bx0 > 0 ? bx0 - 1 : 0,
                   bx1 < W - 1 ? bx1 + 1 : W - 1);
    for (size_t p = 0; p < plane; p++)
        s->st.lung_voxels += lung[p];
    s->z++;
    return C2_OK;
}

int lung_mask_stream_to_bits(lung_mask_stream *s, const uint8_t **bits, c2_err *e)
{
    size_t plane = (size_t)s->H * s->W;
    while (s->z < s->D) {
        size_t at = (size_t)s->z * plane;
        int rc = lung_mask_stream_slice(s, s->seen, e); /* seen: free since pass 1 */
        if (rc != C2_OK)
            return rc;
        size_t p = 0; /* this slice's air is read by this slice alone: overwritten */
        if ((at & 7) == 0) /* whole bytes, eight voxels at a time */
            for (; p + 8 <= plane; p += 8) {
                unsigned b = 0;
                for (int j = 0; j < 8; j++)
                    b |= (unsigned)s->seen[p + j] << j;
                s->air[(at + p) >> 3] = (uint8_t)b;
            }
        for (; p < plane; p++) {
            size_t i = at + p;
            s->air[i >> 3] = (uint8_t)((s->air[i >> 3] & ~(1u << (i & 7))) | ((unsigned)s->seen[p] << (i & 7)));
        }
    }
    *bits = s->air;
    return C2_OK;
}

void lung_mask_stream_stats(const lung_mask_stream *s, lung_mask_stats *stats)
{
    *stats = s->st;
}

int lung_mask_from_hu(const float *hu, int D, int H, int W, const lung_mask_rule *rule, uint8_t *lung,
                      lung_mask_stats *stats, c2_err *e)
{
    memset(stats, 0, sizeof *stats);
    if (!hu || !lung)
        return c2_fail(e, C2_EINVAL, "lung_mask: no volume");
    lung_mask_stream *s;
    int rc = lung_mask_stream_create(&s, D, H, W, rule, e);
    if (rc != C2_OK)
        return rc;
    size_t plane = (size_t)H * W;
    for (int z = 0; z < D && rc == C2_OK; z++)
        rc = lung_mask_stream_add(s, hu + z * plane, e);
    if (rc == C2_OK)
        rc = lung_mask_stream_finish(s, e);
    for (int z = 0; z < D && rc == C2_OK; z++)
        rc = lung_mask_stream_slice(s, lung + z * plane, e);
    if (rc == C2_OK)
        lung_mask_stream_stats(s, stats);
    lung_mask_stream_free(s);
    return rc;
}
