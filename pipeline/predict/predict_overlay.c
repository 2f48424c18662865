/* pipeline/predict_overlay: a picture of a prediction for people: the model-resolution
 * image in gray, enlarged by an integer factor (nearest) to at least 128 pixels, with
 * the outline of the predicted mask in red and of the ground truth in green. An outline
 * pixel is a mask pixel with a 4-neighbour outside the mask. Written with libpng as
 * RGB to a temporary name, then renamed. */
#include "pipeline/predict/predict.h"

#include <png.h>
#include <stdlib.h>

static int on_outline(const uint8_t *m, int S, int y, int x)
{
    if (!m || !m[(size_t)y * S + x])
        return 0;
    return y == 0 || x == 0 || y == S - 1 || x == S - 1 || !m[(size_t)(y - 1) * S + x] ||
           !m[(size_t)(y + 1) * S + x] || !m[(size_t)y * S + x - 1] || !m[(size_t)y * S + x + 1];
}

static int png_write_rgb(FILE *f, const uint8_t *rgb, int rows, int cols)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)cols, (png_uint_32)rows, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int r = 0; r < rows; r++)
        png_write_row(png, rgb + (size_t)r * cols * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
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
    c2_atomic a;
    int rc = c2_atomic_open(&a, path, e);
    if (rc == C2_OK) {
        if (png_write_rgb(a.f, rgb, side, side) != 0) {
            c2_atomic_abort(&a);
            rc = c2_fail(e, C2_EIO, "%s: PNG encoding failed", path);
        } else {
            rc = c2_atomic_commit(&a, e);
        }
    }
    free(rgb);
    return rc;
}
