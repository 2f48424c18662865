/* c2seg-sample-data: writes the deterministic synthetic cohort (sample-data/README.md).
 *   c2seg-sample-data -o DIR [--studies N] [--seed S] [--size N] [--slices N] [--slice-captions]
 * Log lines go to stderr, one JSON summary object to stdout; exit 0 ok, 2 usage, 3 failed. */
#include "sample-data/sample.h"

#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STUDIES 12
#define DEFAULT_SIZE 128
#define DEFAULT_SLICES 24
#define DEFAULT_SEED 2026

static void usage(FILE *f)
{
    fprintf(f,
            "usage: c2seg-sample-data -o DIR [--studies N] [--seed S] [--size N] [--slices N] [--slice-captions]\n"
            "Writes a deterministic synthetic chest CT cohort into DIR (same options -> same bytes):\n"
            "  DIR/dicom/caseNN/CT/IM0001.dcm ...   CT Image Storage, 1 = most cranial slice\n"
            "  DIR/dicom/caseNN/SEG/truth.seg.dcm   the lesion mask as a DICOM SEG of the CT series\n"
            "  DIR/dicom/caseNN/SR/report.dcm       Basic Text SR, clinical prose (patient left/right)\n"
            "  DIR/nifti/caseNN.nii.gz, caseNN_mask.nii.gz   int16 HU volume and uint8 lesion mask\n"
            "  DIR/png/{train,valid,test}/images/NAME.png, masks/mask_NAME.png, DIR/png/annotation.json\n"
            "                                       SGSeg QaTa layout, lesion slices, lung window\n"
            "  DIR/truth/caseNN.json, DIR/cohort.json   ground truth and the cohort manifest\n"
            "options:\n"
            "  -o, --out DIR     output folder (created)\n"
            "  --studies N       number of studies, 1..10000 (default %d)\n"
            "  --seed S          unsigned 64-bit seed (default %d)\n"
            "  --size N          rows = columns, 64..1024 (default %d)\n"
            "  --slices N        slices per study, 6..512 (default %d)\n"
            "  --slice-captions  also DIR/dicom/caseNN/captions.csv: one caption per CT slice the way\n"
            "                    MosMedData+ ships them (image convention), derived from the known lesion\n"
            "                    zones, keyed by SOPInstanceUID (c2seg ingest reads it beside the series)\n",
            DEFAULT_STUDIES, DEFAULT_SEED, DEFAULT_SIZE, DEFAULT_SLICES);
}

static int parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    *out = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int parse_int(const char *s, int *out)
{
    unsigned long long v;
    if (parse_u64(s, &v) || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

static cJSON *manifest_json(const sample_cohort *c, const sample_counts *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "generator", "c2seg-sample-data");
    cJSON_AddStringToObject(o, "version", c2_version());
    char seed[24];   /* a string: a 64-bit seed does not fit a JSON double */
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddNumberToObject(o, "studies", c->n_studies);
    cJSON_AddNumberToObject(o, "size", c->size);
    cJSON_AddNumberToObject(o, "slices_per_study", c->n_slices);
    cJSON_AddNumberToObject(o, "pixel_spacing_mm", c->pixel_mm);
    cJSON_AddNumberToObject(o, "slice_spacing_mm", c->slice_mm);
    cJSON_AddStringToObject(o, "uid_root", "2.25 (RFC 9562 version-8 UUID from a hash of the seed and the object's name)");
    cJSON_AddStringToObject(o, "caption_convention", "image (left = image left half = patient right)");
    cJSON_AddStringToObject(o, "report_convention", "patient");
    int cuts[2] = {c->cut_upper, c->cut_middle};
    cJSON_AddItemToObject(o, "zone_row_cuts", cJSON_CreateIntArray(cuts, 2));
    cJSON_AddNumberToObject(o, "zone_margin_rows", c->margin);
    cJSON *splits = cJSON_AddObjectToObject(o, "splits");
    for (int sp = SPLIT_TRAIN; sp <= SPLIT_TEST; sp++) {
        cJSON *a = cJSON_AddArrayToObject(splits, sample_split_name(sp));
        for (int i = 0; i < c->n_studies; i++)
            if (c->studies[i].split == sp)
                cJSON_AddItemToArray(a, cJSON_CreateString(c->studies[i].name));
    }
    cJSON_AddNumberToObject(o, "dicom_slices", n->slices);
    cJSON_AddNumberToObject(o, "lesion_slices", n->lesion_slices);
    cJSON_AddNumberToObject(o, "sr_reports", n->reports);
    return o;
}

static int json_file_write(const char *dir, const char *name, const cJSON *o, c2_err *e)
{
    char path[4096];
    c2_path_join(path, sizeof path, dir, name);
    char *text = cJSON_Print(o);
    if (!text)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory while formatting JSON", path);
    size_t n = strlen(text);
    text[n] = '\n';
    int rc = c2_write_file(path, text, n + 1, e);
    cJSON_free(text);
    return rc;
}

int main(int argc, char **argv)
{
    cli_set_stage("sample-data");
    const char *out = NULL;
    unsigned long long seed = DEFAULT_SEED;
    int studies = DEFAULT_STUDIES, size = DEFAULT_SIZE, slices = DEFAULT_SLICES, slice_captions = 0;
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return EXIT_OK;
    }
    for (int i = 1; i < argc; i += 2) {   /* every option takes one value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--slice-captions")) {   /* the one flag without a value */
            slice_captions = 1;
            i--;
            continue;
        }
        if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && v)
            out = v;
        else if (!strcmp(a, "--seed"))
            bad = parse_u64(v, &seed);
        else if (!strcmp(a, "--studies"))
            bad = parse_int(v, &studies);
        else if (!strcmp(a, "--size"))
            bad = parse_int(v, &size);
        else if (!strcmp(a, "--slices"))
            bad = parse_int(v, &slices);
        else
            bad = 1;
        if (bad) {
            cli_error("bad option or value: %s%s%s", a, v ? " " : "", v ? v : "");
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!out) {
        cli_error("the output folder (-o DIR) is required");
        usage(stderr);
        return EXIT_USAGE;
    }
    c2_err e = {0};
    sample_cohort c;
    if (sample_cohort_design(&c, seed, studies, size, slices, &e)) {
        cli_error("%s", e.msg);
        return EXIT_USAGE;
    }
    c.slice_captions = slice_captions;
    double t0 = now_seconds();
    sample_counts counts = {0};
    cJSON *annotation = cJSON_CreateObject();
    for (int sp = SPLIT_TRAIN; sp <= SPLIT_TEST; sp++)
        cJSON_AddArrayToObject(annotation, sample_split_name(sp));
    char png_dir[4096];
    c2_path_join(png_dir, sizeof png_dir, out, "png");
    int rc = c2_mkdirs(png_dir, &e);
    progress p;
    progress_start(&p, "studies", studies);
    for (int i = 0; i < studies && rc == C2_OK; i++) {
        rc = study_write(&c, &c.studies[i], out, annotation, &counts, &e);
        progress_step(&p, 1, c.studies[i].name);
    }
    progress_finish(&p);
    if (rc == C2_OK)
        rc = json_file_write(png_dir, "annotation.json", annotation, &e);
    cJSON *manifest = manifest_json(&c, &counts);
    if (rc == C2_OK)
        rc = json_file_write(out, "cohort.json", manifest, &e);
    cJSON_Delete(annotation);
    cJSON_Delete(manifest);
    sample_cohort_free(&c);
    if (rc) {
        cli_error("%s", e.msg);
        return EXIT_FAILED;
    }
    double secs = now_seconds() - t0;
    cli_log("wrote %d studies (%d CT slices, %d lesion slices) into %s in %.1f s", studies, counts.slices,
            counts.lesion_slices, out, secs);
    cJSON *sum = cJSON_CreateObject();
    cJSON_AddStringToObject(sum, "out", out);
    cJSON_AddNumberToObject(sum, "studies", studies);
    cJSON_AddNumberToObject(sum, "dicom_slices", counts.slices);
    cJSON_AddNumberToObject(sum, "lesion_slices", counts.lesion_slices);
    cJSON_AddNumberToObject(sum, "sr_reports", counts.reports);
    cJSON_AddNumberToObject(sum, "seconds", secs);
    cli_print_json(sum);
    return EXIT_OK;
}
