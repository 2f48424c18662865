/* pipeline/predict_decode: `--text-decode`, the text used at decode time. A predicted
 * component survives when it touches at least one zone the text allows; the zones are
 * those of METHOD.md §7 (dicom-sr/zones.h) with the text's left half from its
 * convention. Off by default; predict reports the raw and the decoded agreement. */
#include "pipeline/predict/predict.h"

#include <stdlib.h>
#include <string.h>

/* allowed[z] for the 6 zones: what the text permits. Returns 0 when nothing is ruled out. */
static int allowed_zones(const caption_attrs *t, int sides_only, uint8_t allowed[ZONE_COUNT])
{
    if (t->negative) {
        memset(allowed, 0, ZONE_COUNT);
        return 1;
    }
    if (!t->zones_stated || t->n_zones == 0) {
        memset(allowed, 1, ZONE_COUNT);
        return 0;
    }
    for (int z = 0; z < ZONE_COUNT; z++) {
        int side = z / 3;
        int side_any = t->zones[side * 3] || t->zones[side * 3 + 1] || t->zones[side * 3 + 2];
        allowed[z] = sides_only ? (uint8_t)side_any : t->zones[z];
    }
    return 1;
}

int predict_text_decode(uint8_t *mask, int H, int W, const caption_attrs *text, const zone_rule *rule,
                        int sides_only, c2_err *e)
{
    uint8_t allowed[ZONE_COUNT];
    if (!allowed_zones(text, sides_only, allowed))
        return 0;
    mask_zones z;
    int rc = mask_zones_compute(mask, H, W, NULL, rule, &z, e);
    if (rc != C2_OK)
        return rc;
    int cut1 = z.row_cuts[1], cut2 = z.row_cuts[2];
    double x_mid = z.x_mid;
    mask_zones_free(&z);
    size_t n = (size_t)H * W;
    int32_t *label = calloc(n, sizeof *label), *stack = malloc(n * sizeof *stack);
    if (!label || !stack) {
        free(label);
        free(stack);
        return c2_fail(e, C2_ENOMEM, "out of memory for text decoding of a %dx%d mask", H, W);
    }
    int dropped = 0, next = 0;
    for (size_t s = 0; s < n; s++) {
        if (!mask[s] || label[s])
            continue;
        /* flood fill one 8-connected component; note whether it touches an allowed zone */
        int id = ++next, keep = 0;
        size_t top = 0, first = s;
        label[s] = id;
        stack[top++] = (int32_t)s;
        while (top) {
            int32_t at = stack[--top];
            int y = at / W, x = at % W;
            int image_left = x + 0.5 < x_mid;
            int text_left = rule->left_half == HALF_IMAGE_LEFT ? image_left : !image_left;
            int band = y < cut1 ? 0 : y < cut2 ? 1 : 2;
            keep |= allowed[(text_left ? 0 : 3) + band];
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                        continue;
                    size_t nb = (size_t)yy * W + xx;
                    if (mask[nb] && !label[nb]) {
                        label[nb] = id;
                        stack[top++] = (int32_t)nb;
                    }
                }
        }
        if (!keep) {
            dropped++;
            for (size_t q = first; q < n; q++)
                if (label[q] == id)
                    mask[q] = 0;
        }
    }
    free(label);
    free(stack);
    return dropped;
}
