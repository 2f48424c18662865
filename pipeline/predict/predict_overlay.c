/* pipeline/predict_overlay: a picture of a prediction for people: the model-resolution
 * image in gray, enlarged by an integer factor (nearest) to at least 128 pixels, with
 * the outline of the predicted mask in red and of the ground truth in green. An outline
 * pixel is a mask pixel with a 4-neighbour outside the mask. Written as an RGB PNG
 * (io/image2d.h: a temporary name, then renamed). For a volume, a strip: small thumbnails of the
 * slices with lesion (predicted or ground truth) side by side. */
#include "pipeline/predict/predict.h"
#include "io/image2d.h"

#include <stdlib.h>
#include <string.h>

static int on_outline(const uint8_t *m, int S, int y, int x)
{
    if (!m || !m[(size_t)y * S + x])
        return 0;
    return y == 0 || x == 0 || y == S - 1 || x == S - 1 || !m[(size_t)(y - 1) * S + x] ||
           !m[(size_t)(y + 1) * S + x] || !m[(size_t)y * S + x - 1] || !m[(size_t)y * S + x + 1];
}

void predict_overlay_thumb(uint8_t *rgb, int T, const float *image, const uint8_t *pred, const uint8_t *gt, int S)
{
    for (int y = 0; y < T; y++)
        for (int x = 0; x < T; x++) {
            int y0 = (int)((int64_t)y * S / T), y1 = (int)((int64_t)(y + 1) * S / T);
            int x0 = (int)((int64_t)x * S / T), x1 = (int)((int64_t)(x + 1) * S / T);
            y1 = y1 > y0 ? y1 : y0 + 1;
            x1 = x1 > x0 ? x1 : x0 + 1;
            float v = image[(size_t)((y0 + y1) / 2) * S + (x0 + x1) / 2];
            uint8_t g = (uint8_t)(v <= 0 ? 0 : v >= 1 ? 255 : v * 255.0f + 0.5f);
            int red = 0, green = 0;
            for (int sy = y0; sy < y1; sy++)
                for (int sx = x0; sx < x1; sx++) {
                    red |= on_outline(pred, S, sy, sx);
                    green |= on_outline(gt, S, sy, sx);
                }
            uint8_t *px = rgb + ((size_t)y * T + x) * 3;
            px[0] = red ? 255 : green ? 0 : g;
            px[1] = red ? 0 : green ? 255 : g;
            px[2] = red || green ? 0 : g;
        }
}

int predict_overlay_strip_write(const char *path, const uint8_t *thumbs, const int *which, int n, int T, c2_err *e)
{
    int gap = 2, cols = n * T + (n - 1) * gap;
    uint8_t *rgb = calloc((size_t)T * cols * 3, 1);
    if (!rgb)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the overlay strip", path);
    for (int k = 0; k < n; k++)
        for (int y = 0; y < T; y++)
            memcpy(rgb + ((size_t)y * cols + (size_t)k * (T + gap)) * 3,
                   thumbs + ((size_t)which[k] * T * T + (size_t)y * T) * 3, (size_t)T * 3);
    int rc = image2d_write_png(path, rgb, T, cols, 3, e);
    free(rgb);
    return rc;
}

int predict_overlay_write(const char *path, const float *image, const uint8_t *pred, const uint8_t *gt, int S,
                          c2_err *e)
{
    int f = S >= 128 ? 1 : (128 + S - 1) / S, side = S * f;
    uint8_t *rgb = malloc((size_t)side * side * 3);
    if (!rgb)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the overlay", path);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            int sy = y / f, sx = x / f;
            float v = image[(size_t)sy * S + sx];
            uint8_t g = (uint8_t)(v <= 0 ? 0 : v >= 1 ? 255 : v * 255.0f + 0.5f);
            uint8_t *px = rgb + ((size_t)y * side + x) * 3;
            px[0] = px[1] = px[2] = g;
            if (on_outline(gt, S, sy, sx)) {
                px[0] = 0, px[1] = 255, px[2] = 0;
            }
            if (on_outline(pred, S, sy, sx)) {
                px[0] = 255, px[1] = 0, px[2] = 0;
            }
        }
    int rc = image2d_write_png(path, rgb, side, side, 3, e);
    free(rgb);
    return rc;
}
