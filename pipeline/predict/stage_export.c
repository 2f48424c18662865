/* `c2seg export`: a mask (NIfTI volume or PNG image) becomes a DICOM SEG of its
 * source images (io/seg.h). The mask must lie on the source grid; see docs/export.md. */
#include "io/deidentify.h"
#include "io/image2d.h"
#include "io/isolated.h"
#include "io/nifti.h"
#include "io/seg.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: c2seg export <mask> --reference <series folder | image file> -o out.dcm [options]\n"
            "\n"
            "Writes <mask> as a DICOM Segmentation of the reference images.\n"
            "  <mask>               NIfTI (.nii / .nii.gz; mapped onto the reference through its affine)\n"
            "                       or PNG / JPEG (single-slice references: CR, DX, one image)\n"
            "  --reference PATH     folder of one DICOM series, a multi-frame file, or one image\n"
            "  -o, --output FILE    the SEG to write (atomically)\n"
            "  --fractional         FRACTIONAL / PROBABILITY SEG, 8-bit 0..255 (default: BINARY, >= 50 %%)\n"
            "  --omit-empty-frames  drop all-zero frames (default: keep every slice)\n"
            "  --uid-root ROOT      UID root for new UIDs (default: 2.25.<random 128 bits>)\n"
            "  --label TEXT         Segment Label (default \"Lesion\"; cut to 64 characters)\n"
            "  --description TEXT   Series / Content / Segment Description (cut to 64 characters)\n"
            "  --deidentify         apply the DICOM basic confidentiality profile to the SEG (docs/reliability.md);\n"
            "                       UIDs and PatientID are remapped with the key in $C2SEG_DEIDENTIFY_KEY\n"
            "Mask values: a maximum <= 1 means probabilities or 0/1 labels; a larger maximum means\n"
            "0..255 probabilities with --fractional (8-bit masks), else any nonzero label.\n"
            "Prints a JSON summary (frames, side of the patient, foreground pixels, UIDs) on stdout.\n");
}

/* Reads the mask into a [n_slices, rows, cols] byte volume on src's grid. */
static int export_load_mask(const char *path, const seg_source *src, int fractional, uint8_t **out, c2_err *e)
{
    size_t n = (size_t)src->rows * (size_t)src->cols * (size_t)src->n_slices;
    int rc = c2_check_dims(e, path, src->rows, src->cols, src->n_slices, 1);
    if (rc)
        return rc;
    uint8_t *m = malloc(n);
    if (!m)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    if (nifti_path_is_nifti(path)) {
        nifti_volume v;
        rc = nifti_volume_read_isolated(path, 0, &v, e);
        if (!rc) {
            int by_index = v.geom_source == NIFTI_GEOM_PIXDIM;
            if (by_index)
                c2_warn("%s: no sform / qform: mask voxels are matched to the reference by index", path);
            rc = seg_mask_resample(src, v.data, v.nx, v.ny, v.nz, by_index ? NULL : (const double(*)[4])v.voxel_to_lps,
                                   fractional, m, e);
            nifti_volume_free(&v);
        }
    } else {
        image2d img;
        rc = image2d_read_isolated(path, &img, e);
        if (!rc) {
            float *f = malloc((size_t)img.rows * img.cols * sizeof *f);
            if (!f) {
                rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
            } else {
                /* 8-bit stays 0..255; 16-bit is scaled to 0..255 */
                for (size_t i = 0; i < (size_t)img.rows * img.cols; i++)
                    f[i] = img.maxval == 255 ? img.pixels[i] : img.pixels[i] * (255.0f / img.maxval);
                rc = seg_mask_resample(src, f, img.cols, img.rows, 1, NULL, 1, m, e);
                free(f);
            }
            image2d_free(&img);
        }
    }
    if (rc) {
        free(m);
        return c2_err_prefix(e, "%s", path);
    }
    *out = m;
    return C2_OK;
}

int stage_export(int argc, char **argv)
{
    const char *mask_path = NULL, *ref = NULL, *out = NULL;
    seg_write_opts opt = {0};
    int deidentify = 0, npos = 0;
    const cli_option opts[] = {
        CLI_OPT_TEXT("reference", 0, &ref, "PATH"),      CLI_OPT_TEXT("output", 'o', &out, "FILE"),
        CLI_OPT_FLAG("fractional", &opt.fractional),     CLI_OPT_FLAG("deidentify", &deidentify),
        CLI_OPT_FLAG("omit-empty-frames", &opt.omit_empty_frames),
        CLI_OPT_TEXT("uid-root", 0, &opt.uid_root, "ROOT"), CLI_OPT_TEXT("label", 0, &opt.label, "TEXT"),
        CLI_OPT_TEXT("description", 0, &opt.description, "TEXT"), CLI_OPT_END};
    int rc = cli_parse(argc, argv, opts, &mask_path, 1, &npos, export_usage);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_require(mask_path, "the mask (NIfTI or PNG / JPEG)")) ||
        (rc = cli_require(ref, "--reference PATH (the DICOM series or image the mask belongs to)")) ||
        (rc = cli_require(out, "-o FILE (the SEG to write)")))
        return rc;
    c2_err e = {0};
    seg_source src;
    rc = seg_source_load_isolated(ref, &src, &e); /* the reference is untrusted: a sandbox worker */
    if (rc) {
        cli_error("%s", e.msg);
        return EXIT_FAILED;
    }
    uint8_t *mask = NULL;
    rc = export_load_mask(mask_path, &src, opt.fractional, &mask, &e);
    seg_write_info info = {0};
    if (!rc)
        rc = seg_write_isolated(&src, mask, &opt, out, &info, &e);
    deidentify_opts deid = {getenv("C2SEG_DEIDENTIFY_KEY")};
    if (!rc && deidentify && (rc = deidentify_file(out, &deid, &e)) == C2_OK) {
        deidentify_uid(&deid, info.sop_instance, info.sop_instance);
        deidentify_uid(&deid, info.series_uid, info.series_uid);
    }
    if (rc) {
        cli_error("%s", e.msg);
        free(mask);
        seg_source_free(&src);
        return EXIT_FAILED;
    }
    cli_log("%s: %d frames (%s), %lld foreground pixels, %s side", out, info.n_frames,
            opt.fractional ? "fractional" : "binary", (long long)info.n_foreground, seg_side_name(info.side));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "output", out);
    cJSON_AddStringToObject(j, "type", opt.fractional ? "FRACTIONAL" : "BINARY");
    cJSON_AddNumberToObject(j, "rows", src.rows);
    cJSON_AddNumberToObject(j, "columns", src.cols);
    cJSON_AddNumberToObject(j, "source_slices", src.n_slices);
    cJSON_AddNumberToObject(j, "frames", info.n_frames);
    cJSON_AddNumberToObject(j, "foreground_pixels", (double)info.n_foreground);
    cJSON_AddStringToObject(j, "side", seg_side_name(info.side));
    cJSON_AddBoolToObject(j, "projection", src.projection);
    cJSON_AddStringToObject(j, "sop_instance_uid", info.sop_instance);
    cJSON_AddStringToObject(j, "series_instance_uid", info.series_uid);
    cli_print_json(j);
    free(mask);
    seg_source_free(&src);
    return EXIT_OK;
}
