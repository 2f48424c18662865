/* io/image2d: 2D image files of the slice datasets. PNG (8- or 16-bit, gray, gray +
 * alpha, RGB(A), palette) and JPEG (baseline / progressive, gray or colour) are
 * decoded to one gray channel; 8-bit gray PNG masks and images are written.
 *
 * Colour sources become luma exactly as PIL's convert('L') (the reference's
 * read_gray): L = (19595 R + 38470 G + 7471 B + 32768) >> 16 on 8-bit samples
 * (ITU-R 601-2 weights 0.299, 0.587, 0.114). Alpha is ignored. Palette images are
 * expanded first. 16-bit sources keep their 16-bit values (maxval 65535); an 8-bit
 * source has maxval 255, so model input x = value / maxval. */
#ifndef C2SEG_IO_IMAGE2D_H
#define C2SEG_IO_IMAGE2D_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct image2d {
    int rows, cols;
    int maxval;            /* 255 for 8-bit sources, 65535 for 16-bit */
    int source_channels;   /* channels in the file before luma conversion (1..4) */
    uint16_t *pixels;      /* [rows][cols] gray values 0..maxval; owned, image2d_free */
} image2d;

/* Reads a PNG or JPEG, chosen by content (signature), not by extension. Dimensions
 * are checked with c2_check_dims before decoding. Errors name the file and reason. */
int image2d_read(const char *path, image2d *img, c2_err *e);
/* image2d_read in a sandbox worker (io/isolated_files.c; base/sandbox.h): a crash, hang
 * or memory blow-up of libpng / libjpeg becomes one error naming the file ("<file>: the
 * image decoder crashed ..."). Fault-hook reader name: image. Readers of the cohort's
 * files (ingest, predict, export, caption) use this one. */
int image2d_read_isolated(const char *path, image2d *img, c2_err *e);
/* An image and its mask (mask_path NULL: the image only) in one call to the worker, half
 * the round trips of two reads; a failure names both files ("<image> (and its mask
 * <mask>): the image decoder crashed ..."), or the one whose decoding failed. */
int image2d_read_pair_isolated(const char *image_path, const char *mask_path, image2d *img, image2d *mask,
                               c2_err *e);
void image2d_free(image2d *img);

/* 1 if the file name ends in .png, .jpg or .jpeg (case-insensitive). */
int image2d_path_is_image(const char *path);

/* Writes an 8-bit PNG of [rows][cols][channels] bytes (1: gray, 3: RGB) atomically
 * (temporary + rename); a write the file system refuses for space is C2_ENOSPC. */
int image2d_write_png(const char *path, const uint8_t *pixels, int rows, int cols, int channels, c2_err *e);
/* The gray case. */
int image2d_write_png8(const char *path, const uint8_t *pixels, int rows, int cols, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
