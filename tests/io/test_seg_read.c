/* seg_read on every SEG in ../shared/data/dicom/seg, compared frame by frame with
 * dcmjs's view (tests/node/seg_check.js: counts, sums, bounding boxes, segment and
 * referenced source instance); liver_rle.dcm (RLE, 1 bit), which dcmjs cannot read, is
 * compared with the uncompressed dcmqi_liver.dcm it was made from. Plus the bit
 * packing helpers on sizes that are not a multiple of 8, and a seg_write -> seg_read
 * round trip on the odd-size 23x38x3 series. */
#include "io/seg.h"
#include "tests/support/check.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static cJSON *dcmjs_view(const char *path)
{
    char *out = run_capture("node '%s/tests/node/seg_check.js' '%s' 2>/dev/null", getenv("C2SEG_SOURCE"), path);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    free(out);
    return j;
}

/* Compares s with dcmjs's JSON frame by frame. */
static void compare_with_dcmjs(const char *name, const seg_image *s, const cJSON *j)
{
    CHECK_MSG(j != NULL, "%s: dcmjs gave no JSON", name);
    if (!j)
        return;
    CHECK(cJSON_GetObjectItem(j, "rows")->valueint == s->rows);
    CHECK(cJSON_GetObjectItem(j, "columns")->valueint == s->cols);
    CHECK(cJSON_GetObjectItem(j, "frames")->valueint == s->n_frames);
    const cJSON *pf = cJSON_GetObjectItem(j, "perFrame");
    CHECK(cJSON_GetArraySize(pf) == s->n_frames);
    size_t plane = (size_t)s->rows * s->cols;
    for (int f = 0; f < s->n_frames && f < cJSON_GetArraySize(pf); f++) {
        const cJSON *g = cJSON_GetArrayItem(pf, f);
        long count = 0, sum = 0;
        int r0 = s->rows, c0 = s->cols, r1 = -1, c1 = -1;
        for (int r = 0; r < s->rows; r++)
            for (int c = 0; c < s->cols; c++) {
                uint8_t v = s->pixels[f * plane + (size_t)r * s->cols + c];
                if (!v)
                    continue;
                count++;
                sum += s->type == SEG_TYPE_BINARY ? 255 : v;   /* dcmjs unpacks set bits as 255 */
                r0 = r < r0 ? r : r0, r1 = r > r1 ? r : r1, c0 = c < c0 ? c : c0, c1 = c > c1 ? c : c1;
            }
        CHECK_MSG(count == cJSON_GetObjectItem(g, "count")->valueint, "%s frame %d: count %ld vs dcmjs %d", name, f,
                  count, cJSON_GetObjectItem(g, "count")->valueint);
        CHECK_MSG(sum == (long)cJSON_GetObjectItem(g, "sum")->valuedouble, "%s frame %d: sum", name, f);
        const cJSON *bb = cJSON_GetObjectItem(g, "bbox");
        if (count) {
            CHECK(cJSON_GetArrayItem(bb, 0)->valueint == r0 && cJSON_GetArrayItem(bb, 1)->valueint == c0);
            CHECK(cJSON_GetArrayItem(bb, 2)->valueint == r1 && cJSON_GetArrayItem(bb, 3)->valueint == c1);
        }
        CHECK_MSG(s->frames[f].segment == cJSON_GetObjectItem(g, "segment")->valueint, "%s frame %d: segment", name, f);
        CHECK_MSG(!strcmp(s->frames[f].ref_sop_instance, cJSON_GetObjectItem(g, "refSOP")->valuestring),
                  "%s frame %d: referenced SOP %s", name, f, s->frames[f].ref_sop_instance);
        CHECK(s->frames[f].ref_frame == cJSON_GetObjectItem(g, "refFrame")->valueint);
    }
}

static void test_shared_segs_match_dcmjs(void)
{
    static const char *files[] = {"dcmqi_liver.dcm", "liver_nonbyte_aligned.dcm", "seg_image_cr_binary.dcm",
                                  "seg_image_ct_binary.dcm", "seg_image_ct_binary_fractional.dcm",
                                  "seg_image_ct_binary_overlap.dcm", "seg_image_ct_true_fractional.dcm",
                                  "sparse-labelmap-ppv5.dcm"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/dicom/seg/%s", files[i]);
        const char *path = shared_path(rel);
        seg_image s;
        c2_err e = {0};
        int rc = seg_read(path, &s, &e);
        CHECK_MSG(rc == 0, "%s: %s", files[i], e.msg);
        if (rc)
            continue;
        cJSON *j = dcmjs_view(path);
        compare_with_dcmjs(files[i], &s, j);
        cJSON_Delete(j);
        seg_image_free(&s);
    }
}

static void test_odd_size_dcmqi_segs_match_dcmjs(void)
{
    const char *sizes[] = {"23x38x3", "24x38x3"};
    for (int i = 0; i < 2; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/dicom/odd_size/%s/seg/label.seg", sizes[i]);
        seg_image s;
        c2_err e = {0};
        int rc = seg_read(shared_path(rel), &s, &e);
        CHECK_MSG(rc == 0, "%s", e.msg);
        if (rc)
            continue;
        cJSON *j = dcmjs_view(shared_path(rel));
        compare_with_dcmjs(rel, &s, j);
        cJSON_Delete(j);
        seg_image_free(&s);
    }
}

static void test_rle_equals_uncompressed(void)
{
    seg_image a, b;
    c2_err e = {0};
    int rc = seg_read(shared_path("data/dicom/seg/liver_rle.dcm"), &a, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    if (rc)
        return;
    CHECK(seg_read(shared_path("data/dicom/seg/dcmqi_liver.dcm"), &b, &e) == 0);
    CHECK(a.rows == b.rows && a.cols == b.cols && a.n_frames == b.n_frames && a.type == SEG_TYPE_BINARY);
    if (a.rows == b.rows && a.cols == b.cols && a.n_frames == b.n_frames) {
        size_t n = (size_t)a.rows * a.cols * a.n_frames, diff = 0, on = 0;
        for (size_t i = 0; i < n; i++)
            diff += a.pixels[i] != b.pixels[i], on += a.pixels[i];
        CHECK_MSG(diff == 0, "%zu pixels differ", diff);
        CHECK(on > 100000);
    }
    seg_image_free(&a);
    seg_image_free(&b);
}

static void test_not_a_seg_is_refused(void)
{
    seg_image s;
    c2_err e = {0};
    CHECK(seg_read(shared_path("data/dicom/ct_single/CT_small.dcm"), &s, &e) == C2_EUNSUPPORTED);
    CHECK(strstr(e.msg, "not a segmentation") != NULL);
    CHECK(seg_read(shared_path("data/dicom/broken/MR_truncated.dcm"), &s, &e) != 0);
}

static void test_bits_pack_roundtrip(void)
{
    /* 23*38*3 = 2622 bits: frames are not byte aligned */
    size_t n = 23 * 38 * 3;
    uint8_t *in = malloc(n), *packed = malloc((n + 7) / 8), *out = malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (i * 7919 + i / 13) % 5 == 0;
    seg_bits_pack(in, n, packed);
    /* bit 874 (first pixel of frame 1) sits in byte 109, bit 2 */
    CHECK(((packed[874 >> 3] >> (874 & 7)) & 1) == in[874]);
    seg_bits_unpack(packed, n, out);
    CHECK(memcmp(in, out, n) == 0);
    free(in), free(packed), free(out);
}

static void test_utf8_truncate(void)
{
    char out[65];
    /* 63 ASCII + "Ä" (2 bytes) must not be split: 63 bytes remain */
    char src[80];
    memset(src, 'a', 63);
    strcpy(src + 63, "\xc3\x84zz");
    seg_utf8_truncate(out, sizeof out, src, 64);
    CHECK(strlen(out) == 63);
    seg_utf8_truncate(out, sizeof out, "L\xc3\xa4sion", 3);
    CHECK(strcmp(out, "L\xc3\xa4s") == 0);
}

static void test_uid_make(void)
{
    char a[65], b[65];
    c2_err e = {0};
    CHECK(seg_uid_make(a, NULL, &e) == 0 && strncmp(a, "2.25.", 5) == 0 && strlen(a) <= 64);
    CHECK(seg_uid_make(b, NULL, &e) == 0 && strcmp(a, b) != 0);
    CHECK(seg_uid_make(a, "1.2.826.0.1.3680043.10.999", &e) == 0 && strlen(a) <= 64 && a[27] != '0');
    CHECK(seg_uid_make(a, "1.02.3", &e) == C2_EINVAL);
    CHECK(seg_uid_make(a, "1..3", &e) == C2_EINVAL);
}

/* The odd-size 23x38x3 series of ../shared/data as a SEG source; nonzero (checked) when it fails. */
static int odd_source(seg_source *src)
{
    c2_err e = {0};
    int rc = seg_source_load(shared_path("data/dicom/odd_size/23x38x3/image"), src, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    return rc;
}

/* seg_bits_count / seg_bits_word / seg_bits_copy / seg_bits_unpack_range from any bit on (frames of a 23x38
 * plane are not byte aligned) against bit-by-bit reference loops. */
static void test_bits_ranges(void)
{
    size_t n = 23 * 38 * 3, nb = (n + 7) / 8;
    uint8_t *bits = malloc(nb), *out = malloc(n), *dst = calloc(nb + 8, 1);
    for (size_t i = 0; i < nb; i++)
        bits[i] = (uint8_t)(i * 37 + (i >> 3) * 101);
    const size_t starts[] = {0, 1, 7, 8, 874, 875, 1748}, lens[] = {0, 1, 7, 8, 63, 64, 65, 130, 874};
    for (size_t a = 0; a < sizeof starts / sizeof *starts; a++)
        for (size_t b = 0; b < sizeof lens / sizeof *lens; b++) {
            size_t st = starts[a], len = lens[b];
            if (st + len > n)
                continue;
            int64_t want = 0;
            int same = 1;
            seg_bits_unpack_range(bits, st, len, out);
            for (size_t i = 0; i < len; i++) {
                int bit = (bits[(st + i) >> 3] >> ((st + i) & 7)) & 1;
                want += bit;
                same &= out[i] == bit;
            }
            CHECK_MSG(seg_bits_count(bits, st, len) == want, "count from %zu, %zu bits", st, len);
            if (len <= 64) {
                uint64_t w = 0;
                for (size_t i = 0; i < len; i++)
                    w |= (uint64_t)out[i] << i;
                CHECK_MSG(seg_bits_word(bits, st, len) == w, "word from %zu, %zu bits", st, len);
            }
            CHECK_MSG(same, "unpack from %zu, %zu bits", st, len);
            for (size_t to = 0; to < 16; to += 5) { /* dst offsets 0, 5, 10, 15 */
                memset(dst, 0, nb + 8);
                seg_bits_copy(dst, to, bits, st, len);
                int ok = 1;
                for (size_t i = 0; i < len + 16 && to + i < (nb + 8) * 8; i++) {
                    int got = (dst[(to + i) >> 3] >> ((to + i) & 7)) & 1;
                    int exp = i < len ? (bits[(st + i) >> 3] >> ((st + i) & 7)) & 1 : 0;
                    ok &= got == exp;
                }
                for (size_t i = 0; i < to; i++)
                    ok &= !((dst[i >> 3] >> (i & 7)) & 1);
                CHECK_MSG(ok, "copy from %zu to %zu, %zu bits", st, to, len);
            }
        }
    free(bits), free(out), free(dst);
}

/* seg_mask_side and seg_mask_side_bits on src against the rule worked here from the source
 * geometry: patient x = IPP.x + column * column spacing * IOP[0] + row * row spacing * IOP[3],
 * left where it is above the grid centre's x; a side counts at 5 % of the foreground. */
static void side_check(const seg_source *src, const char *what)
{
    int R = src->rows, C = src->cols, S = src->n_slices;
    size_t plane = (size_t)R * C, n = plane * S;
    uint8_t *m = malloc(n), *bits = malloc((n + 7) / 8);
    double dr = src->spacing[0], dc = src->spacing[1], x0 = src->slices[S / 2].ipp[0];
    double mid = x0 + (C - 1) * 0.5 * dc * src->iop[0] + (R - 1) * 0.5 * dr * src->iop[3];
    for (int pattern = 0; pattern < 5; pattern++) { /* one half, the other, both, a sliver of one, none */
        int64_t left = 0, right = 0;
        for (size_t i = 0; i < n; i++) {
            int k = (int)(i / plane), r = (int)(i % plane / C), c = (int)(i % C);
            double x = src->slices[k].ipp[0] + c * dc * src->iop[0] + r * dr * src->iop[3];
            int is_left = x > mid + 1e-6, is_right = x < mid - 1e-6;
            int on = pattern == 0 ? is_left : pattern == 1 ? is_right : pattern == 2 ? (i % 3 == 0)
                     : pattern == 3 ? (is_left || (is_right && i % 97 == 0)) : 0;
            m[i] = on ? 200 : (i % 5 == 0 ? 127 : 0); /* 127: below the half, not foreground */
            left += on && is_left;
            right += on && is_right;
        }
        int64_t total = left + right;
        int want = total == 0                                           ? SEG_SIDE_NONE
                   : left * 20 >= total && right * 20 >= total ? SEG_SIDE_BILATERAL
                   : left * 20 >= total                        ? SEG_SIDE_LEFT
                                                               : SEG_SIDE_RIGHT;
        seg_bits_pack(m, n, bits);
        for (size_t i = 0; i < n; i++) /* bits: foreground only */
            if (m[i] < 128)
                bits[i >> 3] &= (uint8_t)~(1u << (i & 7));
        int got = seg_mask_side(src, m), got_bits = seg_mask_side_bits(src, bits);
        CHECK_MSG(got == want, "%s pattern %d: bytes %d, want %d", what, pattern, got, want);
        CHECK_MSG(got_bits == want, "%s pattern %d: bits %d, want %d", what, pattern, got_bits, want);
    }
    free(m), free(bits);
}

/* The side on the odd-size series (23 columns), and on a made-up grid of 131 columns (rows of
 * more than 64 bits starting anywhere in a byte) whose slices shift in patient x. */
static void test_mask_side(void)
{
    seg_source src;
    if (odd_source(&src) != 0)
        return;
    side_check(&src, "23x38x3");
    seg_source_free(&src);
    seg_slice sl[3];
    memset(sl, 0, sizeof sl);
    memset(&src, 0, sizeof src);
    for (int k = 0; k < 3; k++) {
        sl[k].has_ipp = 1;
        sl[k].ipp[0] = -50 + 0.45 * k * (k - 1), sl[k].ipp[1] = -40, sl[k].ipp[2] = 2.5 * k;
    }
    src.rows = 7, src.cols = 131, src.n_slices = 3, src.slices = sl;
    src.has_iop = 1, src.has_spacing = 1;
    const double iop[6] = {0.98, 0.0, -0.2, 0.05, 0.99, 0.0};
    memcpy(src.iop, iop, sizeof iop);
    src.spacing[0] = 0.7, src.spacing[1] = 0.9;
    side_check(&src, "131x7x3");
}

/* seg_write -> seg_read on the odd-size series: the exact pixels and slice order come back. */
static void test_write_read_roundtrip(void)
{
    seg_source src;
    c2_err e = {0};
    int rc = odd_source(&src);
    if (rc)
        return;
    CHECK(src.rows == 38 && src.cols == 23 && src.n_slices == 3 && !src.projection);
    size_t plane = (size_t)src.rows * src.cols, n = plane * src.n_slices;
    uint8_t *m = calloc(n, 1);
    for (size_t i = 0; i < n; i++)
        m[i] = (i % 11 == 0 || (i / plane == 2 && i % 3 == 0)) ? 255 : 0;
    char out[4096];
    snprintf(out, sizeof out, "%s/rt.dcm", test_tmpdir());
    seg_write_opts opt = {0};
    seg_write_info info;
    rc = seg_write(&src, m, &opt, out, &info, &e);
    CHECK_MSG(rc == 0, "%s", e.msg);
    seg_image s;
    if (!rc && seg_read(out, &s, &e) == 0) {
        CHECK(s.n_frames == 3 && s.type == SEG_TYPE_BINARY);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += s.pixels[i] != (m[i] ? 1 : 0);
        CHECK_MSG(diff == 0, "%zu pixels differ after the round trip", diff);
        for (int k = 0; k < 3; k++) {
            CHECK(strcmp(s.frames[k].ref_sop_instance, src.slices[k].sop_instance) == 0);
            CHECK(s.frames[k].has_ipp && fabs(s.frames[k].ipp[2] - src.slices[k].ipp[2]) < 1e-6);
        }
        seg_image_free(&s);
    }
    free(m);
    seg_source_free(&src);
}

int main(void)
{
    RUN_TEST(test_bits_pack_roundtrip);
    RUN_TEST(test_bits_ranges);
    RUN_TEST(test_mask_side);
    RUN_TEST(test_utf8_truncate);
    RUN_TEST(test_uid_make);
    RUN_TEST(test_shared_segs_match_dcmjs);
    RUN_TEST(test_odd_size_dcmqi_segs_match_dcmjs);
    RUN_TEST(test_rle_equals_uncompressed);
    RUN_TEST(test_not_a_seg_is_refused);
    RUN_TEST(test_write_read_roundtrip);
    return test_summary();
}
