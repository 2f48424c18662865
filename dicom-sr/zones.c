/* zones: the METHOD.md §7 zone extractor (mask -> sides, 6 zones, runs, components),
 * identical to c2seg_ref.py mask_zones / count_components. See zones.h for the rule. */
#include "dicom-sr/zones.h"
#include "io/image2d.h"
#include "io/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

zone_rule zone_rule_default(void)
{
    zone_rule r = {1.0 / 3.0, 0.4, 0.005, 0.001, HALF_IMAGE_LEFT};
    return r;
}

const char *laterality_name(laterality l)
{
    static const char *names[] = {"none", "left", "right", "bilateral", "unknown"};
    return (unsigned)l <= LAT_UNKNOWN ? names[l] : "unknown";
}

const char *convention_name(lr_convention c)
{
    return c == CONV_IMAGE ? "image" : c == CONV_PATIENT ? "patient" : "unknown";
}

const char *zone_name(int zone)
{
    static const char *names[ZONE_COUNT] = {"L-upper", "L-middle", "L-lower", "R-upper", "R-middle", "R-lower"};
    return zone >= 0 && zone < ZONE_COUNT ? names[zone] : "?";
}

laterality zones_laterality(const uint8_t z[ZONE_COUNT])
{
    int l = z[0] || z[1] || z[2], r = z[3] || z[4] || z[5];
    return l && r ? LAT_BILATERAL : l ? LAT_LEFT : r ? LAT_RIGHT : LAT_NONE;
}

int zones_side_runs(const uint8_t z3[3])
{
    int runs = 0;
    for (int k = 0; k < 3; k++)
        if (z3[k] && (k == 0 || !z3[k - 1]))
            runs++;
    return runs;
}

int zones_count(const uint8_t z[ZONE_COUNT])
{
    int n = 0;
    for (int k = 0; k < ZONE_COUNT; k++)
        n += z[k] != 0;
    return n;
}

double zones_jaccard(const uint8_t a[ZONE_COUNT], const uint8_t b[ZONE_COUNT])
{
    int inter = 0, uni = 0;
    for (int k = 0; k < ZONE_COUNT; k++) {
        inter += a[k] && b[k];
        uni += a[k] || b[k];
    }
    return uni == 0 ? 1.0 : (double)inter / uni;
}

/* Union-find over horizontal runs: run r of the current row joins every run of the
 * previous row that overlaps [s-1, e] (8-connectivity). */
typedef struct run {
    int y, s, e;       /* row, columns [s, e) */
    int parent;
} run;

static int run_find(run *r, int a)
{
    while (r[a].parent != a) {
        r[a].parent = r[r[a].parent].parent;
        a = r[a].parent;
    }
    return a;
}

static int component_cmp(const void *a, const void *b)
{
    const mask_component *x = a, *y = b;
    if (x->area != y->area)
        return x->area > y->area ? -1 : 1;
    if (x->y0 != y->y0)
        return x->y0 - y->y0;
    return x->x0 - y->x0;
}

int mask_components(const uint8_t *mask, int H, int W, mask_component **out, int *n, c2_err *e)
{
    *out = NULL;
    *n = 0;
    if (H <= 0 || W <= 0)
        return c2_fail(e, C2_EINVAL, "mask components: bad size %dx%d", W, H);
    /* at most ceil(W/2) runs per row */
    size_t cap = (size_t)H * (size_t)((W + 1) / 2);
    run *runs = malloc((cap ? cap : 1) * sizeof *runs);
    if (!runs)
        return c2_fail(e, C2_ENOMEM, "mask components: out of memory for %dx%d", W, H);
    int nr = 0, prev0 = 0, prev1 = 0;
    for (int y = 0; y < H; y++) {
        const uint8_t *row = mask + (size_t)y * W;
        int cur0 = nr;
        for (int x = 0; x < W;) {
            if (!row[x]) {
                x++;
                continue;
            }
            int s = x;
            while (x < W && row[x])
                x++;
            runs[nr] = (run){y, s, x, nr};
            for (int p = prev0; p < prev1; p++)
                if (runs[p].s <= x && runs[p].e >= s) {   /* touching, diagonals included */
                    int ra = run_find(runs, nr), rb = run_find(runs, p);
                    if (ra != rb)
                        runs[rb].parent = ra;
                }
            nr++;
        }
        prev0 = cur0;
        prev1 = nr;
    }
    int *label = malloc((nr ? nr : 1) * sizeof *label);
    mask_component *comp = malloc((nr ? nr : 1) * sizeof *comp);
    double *sx = calloc(nr ? nr : 1, sizeof *sx), *sy = calloc(nr ? nr : 1, sizeof *sy);
    if (!label || !comp || !sx || !sy) {
        free(runs), free(label), free(comp), free(sx), free(sy);
        return c2_fail(e, C2_ENOMEM, "mask components: out of memory for %d runs", nr);
    }
    int nc = 0;
    for (int i = 0; i < nr; i++)
        label[i] = -1;
    for (int i = 0; i < nr; i++) {
        int root = run_find(runs, i);
        if (label[root] < 0) {
            label[root] = nc;
            comp[nc] = (mask_component){0, runs[i].s, runs[i].y, runs[i].e, runs[i].y + 1, 0, 0};
            nc++;
        }
        mask_component *c = &comp[label[root]];
        int64_t len = runs[i].e - runs[i].s;
        c->area += len;
        if (runs[i].s < c->x0)
            c->x0 = runs[i].s;
        if (runs[i].e > c->x1)
            c->x1 = runs[i].e;
        if (runs[i].y < c->y0)
            c->y0 = runs[i].y;
        if (runs[i].y + 1 > c->y1)
            c->y1 = runs[i].y + 1;
        /* sum of x over the run = len * (s + e - 1) / 2 */
        sx[label[root]] += (double)len * (runs[i].s + runs[i].e - 1) / 2.0;
        sy[label[root]] += (double)len * runs[i].y;
    }
    for (int k = 0; k < nc; k++) {
        comp[k].cx = sx[k] / (double)comp[k].area;
        comp[k].cy = sy[k] / (double)comp[k].area;
    }
    qsort(comp, nc, sizeof *comp, component_cmp);
    free(runs), free(label), free(sx), free(sy);
    *out = comp;
    *n = nc;
    return C2_OK;
}

int mask_zones_compute(const uint8_t *mask, int H, int W, const uint8_t *lung, const zone_rule *rule,
                       mask_zones *out, c2_err *e)
{
    memset(out, 0, sizeof *out);
    zone_rule def = zone_rule_default();
    const zone_rule *r = rule ? rule : &def;
    if (H <= 0 || W <= 0 || (int64_t)H * W > c2_limits_get()->max_pixels)
        return c2_fail(e, C2_EINVAL, "zones: bad mask size %dx%d", W, H);
    double x_mid = W / 2.0;
    int y0 = 0, y1 = H;
    if (lung) {
        double sum = 0;
        int64_t cnt = 0;
        y0 = H, y1 = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (lung[(size_t)y * W + x]) {
                    sum += x;
                    cnt++;
                    if (y < y0)
                        y0 = y;
                    y1 = y + 1;
                }
        if (cnt == 0)
            return c2_fail(e, C2_EINVAL, "zones: the lung mask is empty");
        x_mid = sum / (double)cnt;
    }
    int box = y1 - y0;
    out->row_cuts[0] = y0;
    out->row_cuts[1] = y0 + (int)nearbyint(r->cut_upper * box);   /* round half even, as Python's round */
    out->row_cuts[2] = y0 + (int)nearbyint(r->cut_middle * box);
    out->row_cuts[3] = y1;
    out->x_mid = x_mid;
    /* side 0 = the text's left: image left half (x + 0.5 < x_mid) unless left_half says otherwise */
    int64_t ncols[2] = {0, 0};
    for (int x = 0; x < W; x++) {
        int img_right = x + 0.5 >= x_mid;
        int side = r->left_half == HALF_IMAGE_RIGHT ? !img_right : img_right;
        ncols[side]++;
    }
    for (int s = 0; s < 2; s++)
        out->side_px[s] = (int64_t)box * ncols[s];
    for (int y = 0; y < H; y++) {
        int k = y < out->row_cuts[1] ? 0 : y < out->row_cuts[2] ? 1 : 2;
        int in_box = y >= y0 && y < y1;
        for (int x = 0; x < W; x++) {
            if (!mask[(size_t)y * W + x])
                continue;
            out->fg++;
            if (!in_box)
                continue;
            int img_right = x + 0.5 >= x_mid;
            int side = r->left_half == HALF_IMAGE_RIGHT ? !img_right : img_right;
            out->zone_fg[3 * side + k]++;
        }
    }
    for (int z = 0; z < ZONE_COUNT; z++) {
        int64_t n = out->zone_fg[z];
        out->zones[z] = n > 0 && (double)n >= r->thr * (double)out->side_px[z / 3];
    }
    out->lat = zones_laterality(out->zones);
    out->n_zones = zones_count(out->zones);
    out->runs[0] = zones_side_runs(out->zones);
    out->runs[1] = zones_side_runs(out->zones + 3);
    int rc = mask_components(mask, H, W, &out->components, &out->n_components_all, e);
    if (rc != C2_OK)
        return rc;
    double min_area = r->cc_min_frac * (double)H * (double)W;
    for (int k = 0; k < out->n_components_all; k++)
        out->n_components += (double)out->components[k].area >= min_area;
    return C2_OK;
}

void mask_zones_free(mask_zones *z)
{
    free(z->components);
    z->components = NULL;
    z->n_components_all = 0;
}

int mask_read_binary(const char *path, int size, uint8_t **mask, int *H, int *W, c2_err *e)
{
    *mask = NULL;
    image2d img;
    int rc = image2d_read_isolated(path, &img, e);
    if (rc != C2_OK)
        return rc;
    size_t n = (size_t)img.rows * (size_t)img.cols;
    uint16_t vmax = 0;
    for (size_t i = 0; i < n; i++)
        if (img.pixels[i] > vmax)
            vmax = img.pixels[i];
    unsigned thr = vmax <= 1 ? 0 : (unsigned)img.maxval / 2;
    uint8_t *bin = malloc(n ? n : 1);
    uint8_t *out = size > 0 ? malloc((size_t)size * size) : bin;
    if (!bin || !out) {
        free(bin);
        if (out != bin)
            free(out);
        image2d_free(&img);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the mask", path);
    }
    for (size_t i = 0; i < n; i++)
        bin[i] = img.pixels[i] > thr;
    *H = img.rows;
    *W = img.cols;
    if (size > 0) {
        resize_nearest_u8(out, size, size, bin, img.rows, img.cols);
        free(bin);
        *H = *W = size;
    }
    image2d_free(&img);
    *mask = out;
    return C2_OK;
}
