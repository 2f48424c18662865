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
            "                       it, ROOT/annotation.json, SPLIT/SPLIT_text.xlsx and ROOT/prompt/SPLIT.csv are used.\n"
            "                       Also per-slice captions of DICOM slices (a row per slice file name, or per\n"
            "                       SOPInstanceUID when the table has that column); without it, a captions.csv in\n"
            "                       the series' folder or the one above it (MosMedData+-style, docs/text.md)\n"
            "  --caption-convention image|patient  which 'left' the 2D caption tables mean: the image's left\n"
            "                       (default; QaTa, MosMedData+) or the patient's (axial CT shown radiologically)\n"
            "  --sr-caption canonical|raw  text fed to the model for DICOM SR reports: the canonical caption\n"
            "                       regenerated from the parsed report (default) or the report text itself\n"
            "  --label SPEC         DICOM SEG ground truth: the segment(s) that are the lesion, by number, label,\n"
            "                       SNOMED CT code (52988006) or SCHEME:CODE, comma-separated and merged; default:\n"
            "                       the segments coded as lesion or infection\n"
            "  --modality LIST      DICOM modalities ingested, comma-separated, or all (default CT,CR,DX); time /\n"
            "                       cine frames of one object (no distinct positions) are never stacked as slices\n"
            "  --max-depth N        folder levels to descend (default 64)\n"
            "  --jobs N             threads reading, decoding and preprocessing (default: the cores this\n"
            "                       process may use, at most one per 16 files found); one thread writes the\n"
            "                       cache, which is the same for any N\n"
            "  --max-memory SIZE    fit this memory (512M, 2G): fewer jobs when the default would not fit;\n"
            "                       exit 3 when one does not (docs/exit-codes-and-limits.md)\n"
            "  -q, --quiet          no progress or info lines\n"
            "\n"
            "DICOM SR reports give their findings / impression text to the images they reference, else to every\n"
            "slice of every series of their study (StudyInstanceUID); /text/source names the SR and content path.\n"
            "A per-slice caption table row replaces the SR's caption as the slice's model text; the SR stays its\n"
            "report text (/text/raw, /text/source 'slice caption TABLE; report SR ...').\n"
            "The same file reached twice (an input given twice) is ingested once.\n"
            "DICOM SEG objects are the masks of the series they reference (per-frame Referenced SOP Instance UID;\n"
            "Frame of Reference + plane position for frames without one); a SEG whose series is absent or whose\n"
            "frames do not land on its slices is reported.\n"
            "Hidden files are skipped; a DICOMDIR is read: its records are logged, the files it references are\n"
            "inputs, those missing or outside its folder are reported. Symbolic-link loops are entered once. Every file that cannot\n"
            "be ingested gets one line 'file: reason' on stderr and in the report; the rest is ingested.\n"
            "exit codes: 0 all inputs ingested, 1 partial (some files reported), 2 usage, 3 nothing usable.\n"
            "stdout: one JSON object: samples per split, volumes, series, 2D images, files reported by reason,\n"
            "seconds and slices/s.\n");
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
    cJSON_AddStringToObject(o, "seg_label", c->seg_label ? c->seg_label : "");
    cJSON_AddStringToObject(o, "modality", c->modalities ? c->modalities : "CT,CR,DX");
    cJSON_AddStringToObject(o, "resize_image", "bilinear, align_corners=False, no antialias");
    cJSON_AddStringToObject(o, "resize_mask", "nearest, src=floor(dst*in/out), after binarising");
    cJSON_AddStringToObject(o, "non_square", "anisotropic resize to SxS");
    char *s = c2_json_utf8(cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
    return s;
}

/* --window C,W (HU) into a preprocess_params. */
static int window_parse(void *out, const char *value, char *why, size_t cap)
{
    preprocess_params *pp = out;
    char *end;
    double c = strtod(value, &end), w = 0;
    int ok = end != value && *end == ',';
    if (ok) {
        const char *ws = end + 1;
        w = strtod(ws, &end);
        ok = end != ws && *end == 0 && w > 0;
    }
    if (!ok) {
        snprintf(why, cap, "not CENTRE,WIDTH in HU with a positive width (e.g. -600,1500)");
        return -1;
    }
    pp->window_center = c;
    pp->window_width = w;
    return 0;
}

int stage_ingest(int argc, char **argv)
{
    ingest_ctx c;
    ingest_ctx_init(&c);
    const char *out = NULL, *preset = NULL, *intensity = NULL, *convention = NULL, *sr_caption = NULL;
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n_inputs = 0, size = 0, jobs_given = 0;
    int64_t max_memory = 0;
    if (!inputs)
        return EXIT_FAILED;
    const cli_option opts[] = {
        CLI_OPT_TEXT("output", 'o', &out, "FILE"),       CLI_OPT_CHOICE("preset", &preset, "small|full|tiny"),
        CLI_OPT_INT("size", &size, "N", 8, 4096),        CLI_OPT_CALL("window", &c.pp, "C,W", window_parse),
        CLI_OPT_CHOICE("intensity", &intensity, "hu|raw"), CLI_OPT_TEXT("masks", 0, &c.masks_dir, "DIR"),
        CLI_OPT_TEXT("captions", 0, &c.captions_path, "FILE"),
        CLI_OPT_CHOICE("caption-convention", &convention, "image|patient"),
        CLI_OPT_CHOICE("sr-caption", &sr_caption, "canonical|raw"),
        {.name = "jobs", .kind = CLI_INT, .out = &c.jobs, .value = "N", .lo = 1, .hi = 1024, .seen = &jobs_given},
        CLI_OPT_CALL("max-memory", &max_memory, "SIZE", cli_memory_size),
        CLI_OPT_INT("max-depth", &c.max_depth, "N", 0, 4096),
        CLI_OPT_TEXT("label", 0, &c.seg_label, "SPEC"),  CLI_OPT_TEXT("modality", 0, &c.modalities, "LIST"),
        CLI_OPT_END};
    int ex = cli_parse(argc, argv, opts, inputs, argc, &n_inputs, usage);
    if (!ex)
        ex = cli_require(out, "-o FILE (the cohort cache to write)");
    if (!ex && n_inputs == 0)
        ex = cli_usage_error("no input folder or file given");
    if (ex) {
        free(inputs);
        return ex < 0 ? EXIT_OK : ex;
    }
    c.intensity = intensity && strcmp(intensity, "raw") == 0 ? INTENSITY_RAW : INTENSITY_HU;
    c.captions_patient = convention && strcmp(convention, "patient") == 0;
    c.sr_caption_raw = sr_caption && strcmp(sr_caption, "raw") == 0;
    /* --size N overrides the preset's size; the preset (default small) is recorded otherwise */
    c2seg_config preset_cfg;
    c2_err pe = {0};
    if (!preset)
        preset = C2SEG_PRESET_DEFAULT;
    if (c2seg_config_make(&preset_cfg, preset, "bcam_kgate", &pe) == C2_OK)
        c.pp.size = preset_cfg.img;
    if (size) {
        c.pp.size = size;
        preset = NULL;
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
    c.geometry = cJSON_CreateArray();
    c.files_per_job = INGEST_FILES_PER_JOB;
    c.max_memory = max_memory; /* the jobs are planned in the run (a refusal: as a failed walk below) */
    c.jobs_fixed = jobs_given;
    int rc = ingest_run(&c, inputs, n_inputs, out, params, &enc, &sink, &e);
    free(params);
    if (rc != C2_OK && rc != C2_ENOTFOUND && c.started) {
        /* a write failed (a full disk): one line, no output (ingest_run removed it), no summary */
        cli_error("%s", e.msg);
        cJSON_Delete(c.geometry);
        ingest_ctx_free(&c);
        free(inputs);
        return EXIT_FAILED;
    }
    if (rc != C2_OK && !c.started) {
        cli_error("%s", e.msg); /* the plan, the walk, the report or the writer failed: nothing was read */
        cJSON_Delete(c.geometry);
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
    cJSON_AddNumberToObject(o, "slice_captioned", (double)c.n_slice_captioned);
    cJSON_AddNumberToObject(o, "series", c.n_series);
    cJSON_AddNumberToObject(o, "series_with_seg_truth", c.n_seg_truth);
    cJSON_AddItemToObject(o, "series_geometry", c.geometry);
    cJSON_AddNumberToObject(o, "volumes", c.n_volumes);
    cJSON_AddNumberToObject(o, "images_2d", c.n_images2d);
    cJSON_AddNumberToObject(o, "files", c.n_files);
    cJSON_AddNumberToObject(o, "files_reported", c.n_failed);
    cJSON *why = cJSON_AddObjectToObject(o, "reported_by_reason");
    for (int i = 0; i < c.n_reasons; i++)
        cJSON_AddNumberToObject(why, c.reasons[i].reason, c.reasons[i].n);
    cJSON_AddNumberToObject(o, "jobs", c.jobs > 0 ? c.jobs : c2_usable_cpus());
    ingest_memory_json(o, &c); /* --max-memory: the plan's numbers */
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddNumberToObject(o, "slices_per_second", seconds > 0 ? slices / seconds : 0);
    cli_print_json(o);
    int n_files = c.n_files, n_failed = c.n_failed;
    ingest_ctx_free(&c);
    if (n == 0) {
        char names[1024] = "";
        for (int i = 0; i < n_inputs; i++) {
            size_t at = strlen(names);
            snprintf(names + at, sizeof names - at, "%s%s", i ? ", " : "", inputs[i]);
        }
        cli_error("nothing usable in %s (%d files looked at, %d reported in %s): c2seg ingest reads DICOM image "
                  "series, NIfTI volumes (.nii, .nii.gz) and PNG / JPEG slice datasets in the layouts of c2seg "
                  "ingest --help",
                  names, n_files, n_failed, report_path);
    }
    free(inputs);
    if (rc != C2_OK || n == 0)
        return EXIT_FAILED;
    return n_failed ? EXIT_PARTIAL : EXIT_OK;
}
