/* SEG helpers that need no DCMTK: the continuous LSB-first bit packing of binary
 * frames (the DICOM_NOTES §2.1 workaround), the laterality of a mask in patient
 * coordinates, UTF-8-safe truncation of LO fields and UID generation. */
#include "io/seg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void seg_bits_pack(const uint8_t *in, size_t n, uint8_t *out)
{
    memset(out, 0, (n + 7) / 8);
    for (size_t i = 0; i < n; i++)
        if (in[i])
            out[i >> 3] |= (uint8_t)(1u << (i & 7));
}

void seg_bits_unpack(const uint8_t *in, size_t n, uint8_t *out)
{
    seg_bits_unpack_range(in, 0, n, out);
}

void seg_bits_unpack_range(const uint8_t *in, size_t start, size_t n, uint8_t *out)
{
    size_t i = 0;
    for (; i < n && ((start + i) & 7); i++)
        out[i] = (in[(start + i) >> 3] >> ((start + i) & 7)) & 1u;
    for (; i + 8 <= n; i += 8) { /* whole bytes */
        uint8_t b = in[(start + i) >> 3];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* bit k to byte k of one word: byte k keeps bit k of b (the mask), adding 0x80 - 2^k
         * carries a set bit into bit 7 of that byte only; shifted down to bit 0 */
        uint64_t x = ((b * 0x0101010101010101ull) & 0x8040201008040201ull) + 0x00406070787C7E7Full;
        x = (x >> 7) & 0x0101010101010101ull;
        memcpy(out + i, &x, sizeof x);
#else
        for (int k = 0; k < 8; k++)
            out[i + k] = (b >> k) & 1u;
#endif
    }
    for (; i < n; i++)
        out[i] = (in[(start + i) >> 3] >> ((start + i) & 7)) & 1u;
}

int64_t seg_bits_count(const uint8_t *in, size_t start, size_t n)
{
    int64_t c = 0;
    size_t i = 0;
    for (; i < n && ((start + i) & 7); i++)
        c += (in[(start + i) >> 3] >> ((start + i) & 7)) & 1u;
    for (; i + 64 <= n; i += 64) { /* whole 8-byte words */
        uint64_t w;
        memcpy(&w, in + ((start + i) >> 3), sizeof w);
        c += __builtin_popcountll(w);
    }
    for (; i < n; i++)
        c += (in[(start + i) >> 3] >> ((start + i) & 7)) & 1u;
    return c;
}

void seg_bits_copy(uint8_t *dst, size_t dst_at, const uint8_t *src, size_t src_at, size_t n)
{
    size_t i = 0;
    if ((dst_at & 7) == 0 && (src_at & 7) == 0) { /* both on byte boundaries: whole bytes at once */
        memcpy(dst + (dst_at >> 3), src + (src_at >> 3), n >> 3);
        i = n & ~(size_t)7;
    }
    for (; i < n; i++) {
        size_t d = dst_at + i, s = src_at + i;
        dst[d >> 3] |= (uint8_t)(((src[s >> 3] >> (s & 7)) & 1u) << (d & 7));
    }
}

void seg_utf8_truncate(char *dst, size_t cap, const char *src, size_t max_chars)
{
    size_t i = 0, chars = 0;
    if (cap == 0)
        return;
    while (src[i] && chars < max_chars) {
        unsigned char c = (unsigned char)src[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
        size_t k = 1;
        while (k < len && ((unsigned char)src[i + k] & 0xC0) == 0x80)
            k++;
        if (k < len)            /* a broken sequence counts as its lead byte alone */
            len = k;
        if (i + len >= cap)
            break;
        i += len;
        chars++;
    }
    memcpy(dst, src, i);
    dst[i] = 0;
}

/* Reads n random bytes from the kernel. */
static int random_bytes(uint8_t *buf, size_t n, c2_err *e)
{
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f)
        return c2_fail(e, C2_EIO, "/dev/urandom: cannot open it for a new UID");
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    return got == n ? C2_OK : c2_fail(e, C2_EIO, "/dev/urandom: short read for a new UID");
}

/* Decimal digits of a big-endian unsigned integer (destroys num). */
static void big_to_decimal(uint8_t *num, size_t n, char *out, size_t cap)
{
    char rev[64];
    size_t nd = 0;
    for (;;) {
        int zero = 1;
        unsigned rem = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned cur = rem * 256u + num[i];
            num[i] = (uint8_t)(cur / 10u);
            rem = cur % 10u;
            if (num[i])
                zero = 0;
        }
        if (nd < sizeof rev)
            rev[nd++] = (char)('0' + rem);
        if (zero)
            break;
    }
    size_t k = 0;
    while (nd > 0 && k + 1 < cap)
        out[k++] = rev[--nd];
    out[k] = 0;
}

static int uid_root_valid(const char *root)
{
    size_t n = strlen(root);
    if (n == 0 || root[0] == '.' || root[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = root[i];
        if (c == '.') {
            if (root[i + 1] == '.')
                return 0;
        } else if (c < '0' || c > '9') {
            return 0;
        } else if (c == '0' && (i == 0 || root[i - 1] == '.') && root[i + 1] && root[i + 1] != '.') {
            return 0;           /* a component with a leading zero */
        }
    }
    return 1;
}

int seg_uid_make(char out[65], const char *root, c2_err *e)
{
    uint8_t r[16];
    char digits[64];
    int rc = random_bytes(r, sizeof r, e);
    if (rc)
        return rc;
    if (!root || !*root) {
        big_to_decimal(r, sizeof r, digits, sizeof digits);
        snprintf(out, 65, "2.25.%s", digits);
        return C2_OK;
    }
    if (!uid_root_valid(root))
        return c2_fail(e, C2_EINVAL, "UID root \"%s\": not a dotted list of numbers without leading zeros", root);
    size_t room = 64 - strlen(root) - 1;   /* characters left for the random part */
    if (strlen(root) > 64 - 11)
        return c2_fail(e, C2_EINVAL, "UID root \"%s\": longer than 53 characters leaves too few random digits",
                       root);
    r[0] |= 0x10;               /* at least 37 digits, no leading zero */
    big_to_decimal(r, sizeof r, digits, sizeof digits);
    if (strlen(digits) > room)
        digits[room] = 0;
    snprintf(out, 65, "%s.%s", root, digits);
    return C2_OK;
}

const char *seg_side_name(int side)
{
    switch (side) {
    case SEG_SIDE_LEFT: return "left";
    case SEG_SIDE_RIGHT: return "right";
    case SEG_SIDE_BILATERAL: return "bilateral";
    default: return "none";
    }
}

/* Patient-left direction of the columns for a projection image: +1 when column index
 * grows towards the patient's left, -1 towards the right. */
static int projection_column_sign(const char *orientation)
{
    if (orientation[0] == 'R')
        return -1;
    return 1;                   /* "L..." or absent: standard PA display */
}

/* Row r of slice k as foreground flags: the byte mask's row (>= 128 is foreground) or, for
 * a bit mask, the row unpacked into buf (0 / 1); NULL for a bit mask's empty row (nothing to
 * count). Returns the row and sets *cut to compare against (>= cut is foreground). */
static const uint8_t *mask_row(const uint8_t *mask, int bits, size_t at, size_t C, uint8_t *buf, int *cut)
{
    if (!bits) {
        *cut = 128;
        return mask + at;
    }
    if (seg_bits_count(mask, at, C) == 0)
        return NULL;
    seg_bits_unpack_range(mask, at, C, buf);
    *cut = 1;
    return buf;
}

uint64_t seg_bits_word(const uint8_t *in, size_t at, size_t n)
{
    size_t b0 = at >> 3, nb = ((at & 7) + n + 7) / 8; /* the bytes holding them: at most 9 */
    uint64_t lo = 0, hi = 0;
    for (size_t i = 0; i < nb && i < 8; i++)
        lo |= (uint64_t)in[b0 + i] << (8 * i);
    if (nb > 8)
        hi = in[b0 + 8];
    unsigned sh = (unsigned)(at & 7);
    uint64_t w = sh ? (lo >> sh) | (hi << (64 - sh)) : lo;
    return n < 64 ? w & ((1ull << n) - 1) : w;
}

/* The same for n <= 64 mask bytes: bit i set when v[i] >= 128. */
static uint64_t bytes_word(const uint8_t *v, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)(v[i] >= 128) << i;
    return w;
}

/* The side of patient x against the midline mid: 1 left (x > mid), 2 right, 0 within 1e-6 of it. */
static inline uint8_t x_side(double x, double mid)
{
    return fabs(x - mid) < 1e-6 ? 0 : x > mid ? 1 : 2;
}

static int mask_side(const seg_source *src, const uint8_t *mask, int bits, uint8_t *buf)
{
    int64_t left = 0, right = 0;
    int R = src->rows, C = src->cols, S = src->n_slices, cut;
    const size_t plane = (size_t)R * (size_t)C;
    if (src->projection || !src->has_iop) {
        int sign = projection_column_sign(src->patient_orientation);
        double mid = (C - 1) * 0.5;
        for (int k = 0; k < S; k++)
            for (int r = 0; r < R; r++) {
                const uint8_t *row = mask_row(mask, bits, k * plane + (size_t)r * C, (size_t)C, buf, &cut);
                for (int c = 0; row && c < C; c++) {
                    if (row[c] < cut || c == mid)
                        continue;
                    if ((c > mid) == (sign > 0))
                        left++;
                    else
                        right++;
                }
            }
    } else {
        /* x_patient(k, r, c) = ipp_k.x + c * col_spacing * iop[0] + r * row_spacing * iop[3]: the side
         * of every (r, c) computed once per distinct ipp_k.x (x_side, in the same arithmetic as
         * voxel by voxel), kept as left / right bit words per row; a bit mask's row is then
         * counted with popcounts, a byte mask's against the same words. Without the table's
         * memory, voxel by voxel. */
        double dr = src->has_spacing ? src->spacing[0] : 1.0, dc = src->has_spacing ? src->spacing[1] : 1.0;
        const seg_slice *mid_slice = &src->slices[S / 2];
        double mid = mid_slice->ipp[0] + (C - 1) * 0.5 * dc * src->iop[0] + (R - 1) * 0.5 * dr * src->iop[3];
        size_t nw = ((size_t)C + 63) / 64; /* words per row */
        uint64_t *lw = calloc((size_t)R * nw, sizeof *lw), *rw = calloc((size_t)R * nw, sizeof *rw);
        double side_x0 = 0;
        for (int k = 0; k < S; k++) {
            double x0 = src->slices[k].has_ipp ? src->slices[k].ipp[0] : mid_slice->ipp[0];
            if (lw && rw && (k == 0 || x0 != side_x0)) {
                side_x0 = x0;
                memset(lw, 0, (size_t)R * nw * sizeof *lw);
                memset(rw, 0, (size_t)R * nw * sizeof *rw);
                for (int r = 0; r < R; r++)
                    for (int c = 0; c < C; c++) {
                        int sd = x_side(x0 + c * dc * src->iop[0] + r * dr * src->iop[3], mid);
                        uint64_t *w = sd == 1 ? lw : sd == 2 ? rw : NULL;
                        if (w)
                            w[(size_t)r * nw + c / 64] |= 1ull << (c % 64);
                    }
            }
            for (int r = 0; r < R; r++) {
                size_t at = k * plane + (size_t)r * C;
                if (lw && rw) {
                    for (size_t j = 0; j < nw; j++) {
                        size_t n = (size_t)C - 64 * j < 64 ? (size_t)C - 64 * j : 64;
                        uint64_t f = bits ? seg_bits_word(mask, at + 64 * j, n) : bytes_word(mask + at + 64 * j, n);
                        left += __builtin_popcountll(f & lw[(size_t)r * nw + j]);
                        right += __builtin_popcountll(f & rw[(size_t)r * nw + j]);
                    }
                    continue;
                }
                const uint8_t *row = mask_row(mask, bits, at, (size_t)C, buf, &cut);
                for (int c = 0; row && c < C; c++) {
                    int sd = row[c] >= cut ? x_side(x0 + c * dc * src->iop[0] + r * dr * src->iop[3], mid) : 0;
                    left += sd == 1;
                    right += sd == 2;
                }
            }
        }
        free(lw);
        free(rw);
    }
    int64_t total = left + right;
    if (total == 0)
        return SEG_SIDE_NONE;
    int has_left = left * 20 >= total, has_right = right * 20 >= total;
    return has_left && has_right ? SEG_SIDE_BILATERAL : has_left ? SEG_SIDE_LEFT : SEG_SIDE_RIGHT;
}

int seg_mask_side(const seg_source *src, const uint8_t *mask)
{
    return mask_side(src, mask, 0, NULL);
}

int seg_mask_side_bits(const seg_source *src, const uint8_t *bits)
{
    uint8_t buf[65536]; /* one row: a SEG has at most 65535 columns */
    return src->cols <= 65536 ? mask_side(src, bits, 1, buf) : SEG_SIDE_NONE;
}

/* Inverse of the 3x3 part m (row-major); 0 when singular. */
static int invert3(const double m[3][3], double inv[3][3])
{
    double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                 m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if (fabs(det) < 1e-12)
        return 0;
    inv[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det;
    inv[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det;
    inv[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det;
    inv[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det;
    inv[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det;
    inv[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det;
    inv[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det;
    inv[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det;
    inv[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det;
    return 1;
}

static uint8_t mask_byte(float v, float vmax, int keep_bytes)
{
    if (!(v > 0))
        return 0;
    if (vmax <= 1.0f)
        return (uint8_t)lrintf((v > 1.0f ? 1.0f : v) * 255.0f);
    if (keep_bytes && vmax <= 255.0f)
        return (uint8_t)lrintf(v);
    return 255;
}

int seg_mask_resample(const seg_source *src, const float *vol, int64_t nx, int64_t ny, int64_t nz,
                      const double vox_to_lps[4][4], int keep_bytes, uint8_t *out, c2_err *e)
{
    const int R = src->rows, C = src->cols, S = src->n_slices;
    if (nx * ny * nz != (int64_t)R * C * S)
        return c2_fail(e, C2_EMISMATCH, "mask grid %lldx%lldx%lld does not match the reference's %dx%dx%d",
                       (long long)nx, (long long)ny, (long long)nz, C, R, S);
    float vmax = 0;
    for (int64_t i = 0; i < nx * ny * nz; i++)
        if (vol[i] > vmax)
            vmax = vol[i];
    const size_t plane = (size_t)R * (size_t)C;
    if (!vox_to_lps || src->projection || !src->has_iop) {
        if (nx != C || ny != R)
            return c2_fail(e, C2_EMISMATCH, "mask grid %lldx%lldx%lld does not match the reference's %dx%dx%d",
                           (long long)nx, (long long)ny, (long long)nz, C, R, S);
        for (size_t i = 0; i < plane * (size_t)S; i++)
            out[i] = mask_byte(vol[i], vmax, keep_bytes);
        return C2_OK;
    }
    double m[3][3], inv[3][3];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            m[a][b] = vox_to_lps[a][b];
    if (!invert3(m, inv))
        return c2_fail(e, C2_EINVAL, "mask affine is singular");
    double dr = src->has_spacing ? src->spacing[0] : 1.0, dc = src->has_spacing ? src->spacing[1] : 1.0;
    /* voxel steps per source column / row: inv * (spacing * direction) */
    double step_c[3], step_r[3];
    for (int a = 0; a < 3; a++) {
        step_c[a] = step_r[a] = 0;
        for (int b = 0; b < 3; b++) {
            step_c[a] += inv[a][b] * dc * src->iop[b];
            step_r[a] += inv[a][b] * dr * src->iop[3 + b];
        }
    }
    /* a series with uneven gaps has no NIfTI grid: slices then go by sorted order */
    int uneven = 0;
    if (S > 2) {
        double g0 = 0, g;
        for (int k = 1; k < S; k++) {
            const double *a = src->slices[k - 1].ipp, *b = src->slices[k].ipp;
            g = sqrt((b[0] - a[0]) * (b[0] - a[0]) + (b[1] - a[1]) * (b[1] - a[1]) + (b[2] - a[2]) * (b[2] - a[2]));
            if (k == 1)
                g0 = g;
            else if (fabs(g - g0) > 0.01 * g0 + 1e-3)
                uneven = 1;
        }
        if (uneven)
            c2_warn("reference slices are unevenly spaced: mask slice k is matched to the k-th source slice");
    }
    double vsize[3];            /* voxel size along i, j, k (mm) */
    for (int a = 0; a < 3; a++)
        vsize[a] = sqrt(m[0][a] * m[0][a] + m[1][a] * m[1][a] + m[2][a] * m[2][a]);
    for (int k = 0; k < S; k++) {
        double d[3], base[3];
        for (int a = 0; a < 3; a++)
            d[a] = src->slices[k].ipp[a] - vox_to_lps[a][3];
        for (int a = 0; a < 3; a++)
            base[a] = inv[a][0] * d[0] + inv[a][1] * d[1] + inv[a][2] * d[2];
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) {
                double v[3];
                int64_t idx[3];
                const int64_t dim[3] = {nx, ny, nz};
                for (int a = 0; a < 3; a++) {
                    v[a] = a == 2 && uneven ? k : base[a] + c * step_c[a] + r * step_r[a];
                    idx[a] = (int64_t)llround(v[a]);
                    double off = fabs(v[a] - (double)idx[a]);
                    if (off > 0.05 || off * vsize[a] > 0.1 || idx[a] < 0 || idx[a] >= dim[a])
                        return c2_fail(e, C2_EMISMATCH,
                                       "source pixel (slice %d, row %d, column %d) falls at mask voxel (%.2f, %.2f, "
                                       "%.2f): the mask is not on the reference's grid",
                                       k, r, c, v[0], v[1], v[2]);
                }
                out[(size_t)k * plane + (size_t)r * C + c] =
                    mask_byte(vol[(idx[2] * ny + idx[1]) * nx + idx[0]], vmax, keep_bytes);
            }
    }
    return C2_OK;
}
