/* io/image2d: PNG (libpng) and JPEG (libjpeg) decoding to one gray channel, and 8-bit
 * gray PNG writing. libpng and libjpeg report errors by longjmp; each decoder keeps
 * every resource it may need to free in one struct so the jump target can free it. */
#include "io/image2d.h"

#include <errno.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

int image2d_path_is_image(const char *path)
{
    return c2_ends_with_ci(path, ".png") || c2_ends_with_ci(path, ".jpg") || c2_ends_with_ci(path, ".jpeg");
}

void image2d_free(image2d *img)
{
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

/* PIL's convert('L') on 8-bit samples (ITU-R 601-2 luma, fixed point). */
static uint16_t luma8(unsigned r, unsigned g, unsigned b)
{
    return (uint16_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

/* One decoded row of `channels` interleaved samples (8- or 16-bit) -> gray. Channel
 * counts: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. 16-bit colour is reduced with the
 * same weights in floating point. */
static void row_to_gray(uint16_t *out, const uint8_t *row, int cols, int channels, int bit16)
{
    for (int c = 0; c < cols; c++) {
        unsigned s[3];
        for (int k = 0; k < 3 && k < channels; k++) {
            const uint8_t *p = row + ((size_t)c * channels + k) * (bit16 ? 2 : 1);
            s[k] = bit16 ? (unsigned)(p[0] << 8 | p[1]) : p[0];
        }
        if (channels < 3)
            out[c] = (uint16_t)s[0];
        else if (!bit16)
            out[c] = luma8(s[0], s[1], s[2]);
        else
            out[c] = (uint16_t)(0.299 * s[0] + 0.587 * s[1] + 0.114 * s[2] + 0.5);
    }
}

typedef struct png_decode {
    png_structp png;
    png_infop info;
    FILE *f;
    uint8_t *row;
    char msg[256];
} png_decode;

static void png_error_to_msg(png_structp png, png_const_charp text)
{
    png_decode *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "%s", text);
    png_longjmp(png, 1);
}

static void png_warning_ignored(png_structp png, png_const_charp text)
{
    (void)png;
    (void)text;
}

static int png_read_gray(const char *path, FILE *f, image2d *img, c2_err *e)
{
    png_decode d = {.f = f};
    int rc = C2_OK;
    d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, png_error_to_msg, png_warning_ignored);
    d.info = d.png ? png_create_info_struct(d.png) : NULL;
    if (!d.info) {
        png_destroy_read_struct(&d.png, NULL, NULL);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the PNG decoder", path);
    }
    if (setjmp(png_jmpbuf(d.png))) {
        rc = c2_fail(e, C2_EINVAL, "%s: unreadable PNG (%s)", path, d.msg);
        goto done;
    }
    png_init_io(d.png, f);
    png_read_info(d.png, d.info);
    png_uint_32 w = png_get_image_width(d.png, d.info), h = png_get_image_height(d.png, d.info);
    int depth = png_get_bit_depth(d.png, d.info), type = png_get_color_type(d.png, d.info);
    if ((rc = c2_check_dims(e, path, h, w, 1, 8)) != C2_OK)
        goto done;
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(d.png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(d.png);
    if (png_get_valid(d.png, d.info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(d.png);
    png_read_update_info(d.png, d.info);
    int channels = png_get_channels(d.png, d.info), bit16 = png_get_bit_depth(d.png, d.info) == 16;
    img->rows = (int)h;
    img->cols = (int)w;
    img->maxval = bit16 ? 65535 : 255;
    img->source_channels = channels;
    img->pixels = malloc((size_t)w * h * sizeof(uint16_t));
    d.row = malloc(png_get_rowbytes(d.png, d.info));
    if (!img->pixels || !d.row) {
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for %ux%u pixels", path, (unsigned)w, (unsigned)h);
        goto done;
    }
    int passes = png_set_interlace_handling(d.png);
    if (passes > 1) { /* Adam7: read the whole image, since rows are refined over passes */
        size_t rb = png_get_rowbytes(d.png, d.info);
        uint8_t *all = malloc(rb * h);
        png_bytep *rows = malloc(h * sizeof *rows);
        if (!all || !rows) {
            free(all);
            free(rows);
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        for (png_uint_32 r = 0; r < h; r++)
            rows[r] = all + r * rb;
        png_read_image(d.png, rows);
        for (png_uint_32 r = 0; r < h; r++)
            row_to_gray(img->pixels + (size_t)r * w, rows[r], (int)w, channels, bit16);
        free(all);
        free(rows);
    } else {
        for (png_uint_32 r = 0; r < h; r++) {
            png_read_row(d.png, d.row, NULL);
            row_to_gray(img->pixels + (size_t)r * w, d.row, (int)w, channels, bit16);
        }
    }
done:
    free(d.row);
    png_destroy_read_struct(&d.png, &d.info, NULL);
    if (rc != C2_OK)
        image2d_free(img);
    return rc;
}

typedef struct jpeg_decode {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_decode;

static void jpeg_error_to_msg(j_common_ptr cinfo)
{
    jpeg_decode *d = (jpeg_decode *)cinfo->err;
    cinfo->err->format_message(cinfo, d->msg);
    longjmp(d->jump, 1);
}

static void jpeg_message_ignored(j_common_ptr cinfo, int level)
{
    (void)cinfo;
    (void)level;
}

static int jpeg_read_gray(const char *path, FILE *f, image2d *img, c2_err *e)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_decode d;
    uint8_t *volatile row = NULL;
    cinfo.err = jpeg_std_error(&d.base);
    d.base.error_exit = jpeg_error_to_msg;
    d.base.emit_message = jpeg_message_ignored;
    if (setjmp(d.jump)) {
        free(row);
        jpeg_destroy_decompress(&cinfo);
        image2d_free(img);
        return c2_fail(e, C2_EINVAL, "%s: unreadable JPEG (%s)", path, d.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    int rc = c2_check_dims(e, path, cinfo.image_height, cinfo.image_width, 1, 8);
    if (rc != C2_OK) {
        jpeg_destroy_decompress(&cinfo);
        return rc;
    }
    /* Colour JPEGs are decoded to RGB and reduced with PIL's luma (not libjpeg's Y),
     * so a colour JPEG gives what the reference's convert('L') gives. */
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, ch = cinfo.output_components;
    img->rows = h;
    img->cols = w;
    img->maxval = 255;
    img->source_channels = cinfo.num_components;
    img->pixels = malloc((size_t)w * h * sizeof(uint16_t));
    row = malloc((size_t)w * ch);
    if (!img->pixels || !row) {
        free(row);
        jpeg_destroy_decompress(&cinfo);
        image2d_free(img);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for %dx%d pixels", path, w, h);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rp = row;
        int r = (int)cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &rp, 1);
        row_to_gray(img->pixels + (size_t)r * w, row, w, ch, 0);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    return C2_OK;
}

int image2d_read(const char *path, image2d *img, c2_err *e)
{
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (!f)
        return c2_fail(e, C2_ENOTFOUND, "%s: cannot open the file", path);
    uint8_t sig[8] = {0};
    size_t n = fread(sig, 1, sizeof sig, f);
    rewind(f);
    int rc;
    if (n == 8 && png_sig_cmp(sig, 0, 8) == 0)
        rc = png_read_gray(path, f, img, e);
    else if (n >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF)
        rc = jpeg_read_gray(path, f, img, e);
    else
        rc = c2_fail(e, C2_EINVAL, "%s: neither a PNG nor a JPEG file (signature)", path);
    fclose(f);
    return rc;
}

int image2d_write_png(const char *path, const uint8_t *pixels, int rows, int cols, int channels, c2_err *e)
{
    if (channels != 1 && channels != 3)
        return c2_fail(e, C2_EINVAL, "%s: a PNG of %d channels is not written (1: gray, 3: RGB)", path, channels);
    if (rows < 1 || cols < 1)
        return c2_fail(e, C2_EINVAL, "%s: cannot write an empty %dx%d image", path, rows, cols);
    c2_atomic a;
    int rc = c2_atomic_open(&a, path, e);
    if (rc != C2_OK)
        return rc;
    png_decode d = {.f = a.f};
    d.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &d, png_error_to_msg, png_warning_ignored);
    d.info = d.png ? png_create_info_struct(d.png) : NULL;
    if (!d.info) {
        png_destroy_write_struct(&d.png, NULL);
        c2_atomic_abort(&a);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for the PNG encoder", path);
    }
    if (setjmp(png_jmpbuf(d.png))) {
        int err = errno;   /* libpng's "Write Error" after a short fwrite */
        png_destroy_write_struct(&d.png, &d.info);
        c2_atomic_abort(&a);
        int code = c2_write_status(err);
        return c2_fail(e, code, "%s: PNG write failed (%s)", path, code == C2_ENOSPC ? strerror(err) : d.msg);
    }
    png_init_io(d.png, a.f);
    png_set_IHDR(d.png, d.info, (png_uint_32)cols, (png_uint_32)rows, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(d.png, d.info);
    for (int r = 0; r < rows; r++)
        png_write_row(d.png, pixels + (size_t)r * cols * channels);
    png_write_end(d.png, NULL);
    png_destroy_write_struct(&d.png, &d.info);
    return c2_atomic_commit(&a, e);
}

int image2d_write_png8(const char *path, const uint8_t *pixels, int rows, int cols, c2_err *e)
{
    return image2d_write_png(path, pixels, rows, cols, 1, e);
}
