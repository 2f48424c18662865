/* `c2seg ingest`: DICOM series, NIfTI volumes and 2D slice datasets -> one HDF5
 * cohort cache (io/cache.h, docs/cache.md). Options, the per-file report (stderr
 * and COHORT.report.tsv beside the cache), the progress display and the JSON
 * summary live here; the driver (ingest_run) and the readers are in pipeline/ingest/ingest_*.c. */
#include "pipeline/ingest/ingest.h"
#include "model/model.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: c2seg ingest <folder|file>... -o cohort.h5 [options]\n"
            "\n"
            "Reads DICOM series (found by content), NIfTI volumes (.nii, .nii.gz) with their masks, and 2D\n"
            "slice datasets in their publishers' layouts, and writes one HDF5 cohort cache (docs/cache.md).\n"
            "  2D layouts: SPLIT/images + SPLIT/masks/mask_NAME (SGSeg QaTa, captions from annotation.json),\n"
            "  SPLIT_Folder/img + labelcol (LViT), Images + GTs (GuideDecoder), Imgs + GT (Inf-Net CT slices).\n"
            "  NIfTI masks: NAME_mask.nii[.gz] / NAME_label.nii[.gz] beside the image, or --masks DIR.\n"
            "\n"
            "options:\n"
            "  -o, --output FILE    the cache to write (required); FILE.report.tsv lists every skipped file\n"
            "  --preset NAME        model input size: " C2SEG_PRESET_NAMES "\n"
            "  --size N             model input size N x N (overrides --preset)\n"
            "  --window C,W         CT window in HU for CT and NIfTI --intensity hu (default -600,1500: lung)\n"
            "  --intensity hu|raw   NIfTI values are HU (window) or anything else (per-volume min/max); default hu\n"
            "  --masks DIR          folder with NIfTI masks named like their images\n"
            "  --captions FILE      caption table for 2D images (annotation.json, *_text.xlsx, *.csv); without\n"
            "                       it, ROOT/annotation.json, SPLIT/SPLIT_text.xlsx and ROOT/prompt/SPLIT.csv are used\n"
            "  --caption-convention image|patient  which 'left' the 2D caption tables mean: the image's left\n"
            "                       (default; QaTa, MosMedData+) or the patient's (axial CT shown radiologically)\n"
            "  --sr-caption canonical|raw  text fed to the model for DICOM SR reports: the canonical caption\n"
            "                       regenerated from the parsed report (default) or the report text itself\n"
            "  --max-depth N        folder levels to descend (default 64)\n"
            "  --jobs N             threads reading, decoding and preprocessing (default: the cores this\n"
            "                       process may use); one thread writes the cache, which is the same for any N\n"
            "  -q, --quiet          no progress or info lines\n"
            "\n"
            "DICOM SR reports give their findings / impression text to the images they reference, else to every\n"
            "slice of every series of their study (StudyInstanceUID); /text/source names the SR and content path.\n"
            "The same file reached twice (an input given twice) is ingested once.\n"
            "Hidden files and DICOMDIR are skipped; symbolic-link loops are entered once. Every file that cannot\n"
            "be ingested gets one line 'file: reason' on stderr and in the report; the rest is ingested.\n"
            "exit codes: 0 all inputs ingested, 1 partial (some files reported), 2 usage, 3 nothing usable.\n"
            "stdout: one JSON object: samples per split, volumes, series, 2D images, files reported by reason,\n"
            "seconds and slices/s.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* The CLI's sink: lines to stderr through cli_error / the warning sink, a progress bar. */
static void sink_error(void *user, const char *line)
{
    (void)user;
    cli_error("%s", line);
}

static void sink_warn(void *user, const char *line)
{
    (void)user;
    c2_warn("%s", line);
}

static void sink_progress_start(void *user, int64_t files) { progress_start(user, "files", files); }
static void sink_progress_step(void *user, int64_t files) { progress_step(user, files, NULL); }
static void sink_progress_finish(void *user) { progress_finish(user); }

void ingest_cli_sink(ingest_sink *s, struct progress *p)
{
    *s = (ingest_sink){p, sink_error, sink_warn, sink_progress_start, sink_progress_step, sink_progress_finish};
}

/* Bridges the model's text encoder to the cache (io/ does not know model/). */
static int encode_caption(void *user, const char *utf8, float *tokens, int32_t *mask, float *pooled, c2_err *e)
{
    const text_encoder *enc = user;
    return enc->encode(enc, utf8, tokens, mask, pooled, e);
}

static char *params_json(const ingest_ctx *c, const char *preset)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "size", c->pp.size);
    cJSON_AddStringToObject(o, "preset", preset ? preset : "");
    cJSON_AddNumberToObject(o, "window_center", c->pp.window_center);
    cJSON_AddNumberToObject(o, "window_width", c->pp.window_width);
    cJSON_AddStringToObject(o, "intensity", c->intensity == INTENSITY_HU ? "hu" : "raw");
    cJSON_AddStringToObject(o, "masks", c->masks_dir ? c->masks_dir : "");
    cJSON_AddStringToObject(o, "captions", c->captions_path ? c->captions_path : "");
    cJSON_AddStringToObject(o, "caption_convention", c->captions_patient ? "patient" : "image");
    cJSON_AddStringToObject(o, "sr_caption", c->sr_caption_raw ? "raw" : "canonical");
    cJSON_AddNumberToObject(o, "max_depth", c->max_depth);
    cJSON_AddStringToObject(o, "resize_image", "bilinear, align_corners=False, no antialias");
    cJSON_AddStringToObject(o, "resize_mask", "nearest, src=floor(dst*in/out), after binarising");
    cJSON_AddStringToObject(o, "non_square", "anisotropic resize to SxS");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int stage_ingest(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return EXIT_OK;
    }
    ingest_ctx c;
    ingest_ctx_init(&c);
    const char *out = NULL, *preset = C2SEG_PRESET_DEFAULT;
    c2seg_config preset_cfg;
    c2_err pe = {0};
    if (c2seg_config_make(&preset_cfg, preset, "bcam_kgate", &pe) == C2_OK)
        c.pp.size = preset_cfg.img;
    const char **inputs = calloc(argc, sizeof *inputs);
    if (!inputs)
        return EXIT_FAILED;
    int n_inputs = 0, size_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 || strcmp(a, "--preset") == 0 ||
                    strcmp(a, "--size") == 0 || strcmp(a, "--window") == 0 || strcmp(a, "--intensity") == 0 ||
                    strcmp(a, "--masks") == 0 || strcmp(a, "--max-depth") == 0 || strcmp(a, "--captions") == 0 ||
                    strcmp(a, "--sr-caption") == 0 || strcmp(a, "--caption-convention") == 0 ||
                    strcmp(a, "--jobs") == 0;
        if (takes && !v) {
            cli_error("%s needs a value (see c2seg ingest --help)", a);
            free(inputs);
            return EXIT_USAGE;
        }
        int bad = 0;
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            out = v;
        else if (strcmp(a, "--preset") == 0) {
            preset = v;
            bad = c2seg_config_make(&preset_cfg, v, "bcam_kgate", &pe) != C2_OK;
            if (!bad && !size_given)
                c.pp.size = preset_cfg.img;
        } else if (strcmp(a, "--size") == 0) {
            bad = parse_int(v, 8, 4096, &c.pp.size) < 0;
            size_given = 1;
            preset = NULL;
        } else if (strcmp(a, "--window") == 0) {
            char *end;
            c.pp.window_center = strtod(v, &end);
            bad = *end != ',';
            if (!bad) {
                c.pp.window_width = strtod(end + 1, &end);
                bad = *end != 0 || !(c.pp.window_width > 0);
            }
        } else if (strcmp(a, "--intensity") == 0) {
            bad = strcmp(v, "hu") != 0 && strcmp(v, "raw") != 0;
            c.intensity = strcmp(v, "raw") == 0 ? INTENSITY_RAW : INTENSITY_HU;
        } else if (strcmp(a, "--masks") == 0)
            c.masks_dir = v;
        else if (strcmp(a, "--captions") == 0)
            c.captions_path = v;
        else if (strcmp(a, "--caption-convention") == 0) {
            bad = strcmp(v, "image") != 0 && strcmp(v, "patient") != 0;
            c.captions_patient = strcmp(v, "patient") == 0;
        } else if (strcmp(a, "--sr-caption") == 0) {
            bad = strcmp(v, "canonical") != 0 && strcmp(v, "raw") != 0;
            c.sr_caption_raw = strcmp(v, "raw") == 0;
        } else if (strcmp(a, "--jobs") == 0)
            bad = parse_int(v, 1, 1024, &c.jobs) < 0;
        else if (strcmp(a, "--max-depth") == 0)
            bad = parse_int(v, 0, 4096, &c.max_depth) < 0;
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
            continue;
        else if (a[0] == '-' && a[1]) {
            cli_error("unknown option %s (see c2seg ingest --help)", a);
            free(inputs);
            return EXIT_USAGE;
        } else {
            inputs[n_inputs++] = a;
            continue;
        }
        if (bad) {
            cli_error("invalid value '%s' for %s (see c2seg ingest --help)", v, a);
            free(inputs);
            return EXIT_USAGE;
        }
        i++;
    }
    if (!out || n_inputs == 0) {
        cli_error(!out ? "no output given (-o cohort.h5)" : "no input folder or file given");
        free(inputs);
        return EXIT_USAGE;
    }
    double t0 = now_seconds();
    c2_err e = {0};
    char report_path[4200];
    snprintf(report_path, sizeof report_path, "%s.report.tsv", out);
    char *params = params_json(&c, preset);
    const text_encoder *te = text_encoder_hash512();
    cache_encoder enc = {te->name, te->version, te->params, encode_caption, (void *)te};
    progress prog;
    ingest_sink sink;
    ingest_cli_sink(&sink, &prog);
    int rc = ingest_run(&c, inputs, n_inputs, out, params, &enc, &sink, &e);
    free(params);
    if (rc != C2_OK && !c.started) {
        cli_error("%s", e.msg); /* the walk, the report or the writer failed: nothing was read */
        ingest_ctx_free(&c);
        free(inputs);
        return EXIT_FAILED;
    }
    if (rc != C2_OK && rc != C2_ENOTFOUND)
        cli_error("%s", e.msg);
    int64_t n = c.n_samples;
    double seconds = now_seconds() - t0;
    int64_t slices = c.n_slices + c.n_images2d;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stage", "ingest");
    cJSON_AddStringToObject(o, "output", n > 0 && rc == C2_OK ? out : "");
    cJSON_AddStringToObject(o, "report", report_path);
    cJSON_AddNumberToObject(o, "samples", (double)n);
    cJSON *sp = cJSON_AddObjectToObject(o, "samples_per_split");
    for (int s = 0; s < 4; s++)
        cJSON_AddNumberToObject(sp, cache_split_name(s), (double)c.per_split[s]);
    cJSON_AddNumberToObject(o, "captioned", (double)c.n_captioned);
    cJSON_AddNumberToObject(o, "series", c.n_series);
    cJSON_AddNumberToObject(o, "volumes", c.n_volumes);
    cJSON_AddNumberToObject(o, "images_2d", c.n_images2d);
    cJSON_AddNumberToObject(o, "files", c.n_files);
    cJSON_AddNumberToObject(o, "files_reported", c.n_failed);
    cJSON *why = cJSON_AddObjectToObject(o, "reported_by_reason");
    for (int i = 0; i < c.n_reasons; i++)
        cJSON_AddNumberToObject(why, c.reasons[i].reason, c.reasons[i].n);
    cJSON_AddNumberToObject(o, "jobs", c.jobs > 0 ? c.jobs : c2_usable_cpus());
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddNumberToObject(o, "slices_per_second", seconds > 0 ? slices / seconds : 0);
    cli_print_json(o);
    ingest_ctx_free(&c);
    free(inputs);
    if (rc != C2_OK || n == 0) {
        if (n == 0)
            cli_error("nothing usable was found in the inputs");
        return EXIT_FAILED;
    }
    return c.n_failed ? EXIT_PARTIAL : EXIT_OK;
}
