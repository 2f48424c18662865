/* `c2seg predict`: a checkpoint applied to DICOM series, NIfTI volumes and 2D images.
 * Inputs are found and preprocessed by ingest's driver (ingest_run, pipeline/ingest/)
 * into OUTDIR/inputs.h5 with the checkpoint's size and window; SR documents among the
 * inputs give their text to the slices they reference, else to their study, by the same
 * rule as c2seg ingest (dicom-sr's sr_report_text), so training and prediction see the
 * same text. Each case (one series / volume / image) is then predicted and
 * written by pipeline/predict/predict_case.c; one failed case never stops the others. The
 * cache is read as metadata once and its pixels one batch at a time, so the peak
 * memory does not grow with the cohort. Reported DICOM files are kept (with their
 * reason and series) so a case can list the slices its series is missing.
 * OUTDIR/predictions.json records every case (docs/predict.md). */
#include "io/isolated.h"
#include "pipeline/ingest/ingest.h"
#include "pipeline/predict/predict.h"
#include "pipeline/pacs/pacs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: c2seg predict MODEL.ckpt <folder|file>... -o OUTDIR [options]\n"
            "\n"
            "Predicts lesion masks for DICOM series, NIfTI volumes and PNG / JPEG images (found as c2seg ingest\n"
            "finds them) and writes them in the geometry of their source: DICOM -> OUTDIR/NAME.seg.dcm (SEG),\n"
            "NIfTI -> NAME_mask.nii.gz (source affine), images -> NAME_mask.png (source size). NAME is the case's\n"
            "source: a file's stem, a DICOM series' description and number made a safe name (CT_chest_3),\n"
            "a suffix -2, -3 ... where two sources give the same name.\n"
            "Text: --text, else a DICOM SR of the same study among the inputs, else the caption table.\n"
            "\n"
            "options:\n"
            "  -o, --output DIR     output folder (required); predictions.json lists every case\n"
            "  --text \"...\"         one report text for every case\n"
            "  --convention image|patient  which 'left' --text means (default: image for PNG / JPEG,\n"
            "                       patient for DICOM / NIfTI)\n"
            "  --captions FILE      caption table for 2D images (annotation.json, *.xlsx, *.csv), or per-slice\n"
            "                       captions of DICOM slices (by file name, or SOPInstanceUID when the table has\n"
            "                       that column; a captions.csv beside a series is read without it): each slice\n"
            "                       then goes through the model with its own caption, the SR stays the report\n"
            "  --masks DIR          NIfTI ground-truth masks named like their images (for Dice)\n"
            "  --batch N            slices per forward pass (default 8); memory does not grow with a series\n"
            "  --precision fp32|bf16|auto  inference arithmetic (default $C2SEG_PRECISION, else fp32): bf16 runs\n"
            "                       the heavy GEMMs with bf16 products and fp32 sums where the CPU has\n"
            "                       AVX512_BF16 (auto: bf16 there, fp32 elsewhere; docs/engine.md)\n"
            "  --max-memory SIZE    fit this memory (512M, 2G): fewer slices per forward pass and fewer ingest\n"
            "                       jobs; exit 3 when one slice does not fit (docs/exit-codes-and-limits.md)\n"
            "  --overlays           OUTDIR/overlays/NAME.png: mask outline on the image\n"
            "  --fractional         probabilities (fractional SEG, float NIfTI, gray PNG) instead of binary\n"
            "  --threshold P        binary masks are probability > P (default 0.5; docs/predict.md: choosing it\n"
            "                       from c2seg eval's Dice-by-threshold curve); recorded in predictions.json\n"
            "  --text-decode        drop predicted components lying only in zones the text rules out\n"
            "                       (both raw and decoded agreement are reported)\n"
            "  --uid-root ROOT      UID root for new DICOM UIDs (default 2.25.<random>)\n"
            "  --store DEST         then send the DICOM outputs to a PACS (dicom://AET@host:port or\n"
            "                       http(s)://host:port/dicom-web) as c2seg push OUTDIR does\n"
            "  --store-aet AE       our calling AE title for --store over DIMSE (default C2SEG)\n"
            "  --store-tls          --store over DIMSE with TLS (as c2seg push --tls)\n"
            "  --store-ca FILE      CA certificates (PEM) for --store over https or TLS (default: the system's)\n"
            "  --store-cert FILE    our certificate (PEM) for --store, for a server that asks for one\n"
            "  --store-key FILE     the private key (PEM) of --store-cert\n"
            "  --modality LIST      DICOM modalities predicted, comma-separated, or all (default CT,CR,DX)\n"
            "  --label SPEC         which segments of a DICOM SEG among the inputs are the ground truth\n"
            "                       (as c2seg ingest --label; default: those coded as lesion or infection)\n"
            "  --deidentify         de-identified outputs (docs/reliability.md): each SEG gets the DICOM basic\n"
            "                       confidentiality profile with the key in $C2SEG_DEIDENTIFY_KEY (required; the\n"
            "                       key of `c2seg deidentify` copies of the sources, which the SEG then references);\n"
            "                       predictions.json has no source paths and remapped UIDs; inputs.h5 is removed\n"
            "  --wait               another c2seg is writing OUTDIR (OUTDIR/.c2seg.lock): wait for it\n"
            "                       instead of exiting 3\n"
            "  --preset NAME        check that MODEL.ckpt has this preset (an error naming both if not); the\n"
            "                       checkpoint's preset, size and window are used in any case\n"
            "  -q, --quiet          no progress or info lines\n"
            "\n"
            "exit codes: 0 all cases written, 1 partial (some inputs or cases failed), 2 usage, 3 nothing written.\n");
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }

/* 1 when an earlier case (cs[0..n)) has the name (compared ignoring case, for file
 * systems that do). */
static int name_taken(const predict_case *cs, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (c2_strcasecmp_ascii(cs[k].id, name) == 0)
            return 1;
    return 0;
}

/* Names case n (0-based) after its source: a NIfTI / image file's stem; a DICOM series'
 * SeriesDescription and SeriesNumber read from its first slice ("CT_chest_3"; the header
 * is read again in a sandbox worker, as every untrusted read), "CT-series-3" without a
 * description, "series-N" when the header cannot be read again. De-identified outputs
 * (anonymous) are "case-0001" ...: file names and series descriptions can identify the
 * patient. Always made a safe file name (c2_safe_name: never a raw tag value, never a
 * path); a name an earlier case has gets "-2", "-3" ... */
static void case_name(const cache_sample *s, int dicom, int anonymous, const predict_case *cs, int n, char *out,
                      size_t cap)
{
    char raw[160] = "", base[112]; /* room for a suffix within cap */
    if (anonymous) {
        snprintf(raw, sizeof raw, "case-%04d", n + 1);
    } else if (dicom) {
        dicom_object o;
        c2_err e = {0};
        if (s->file && dicom_read_meta_isolated(s->file, &o, &e) == C2_OK) {
            char desc[40];
            snprintf(desc, sizeof desc, "%s", o.series_description);
            for (size_t k = strlen(desc); k > 0 && desc[k - 1] == ' '; k--)
                desc[k - 1] = 0;
            if (desc[0] && o.has_series_number)
                snprintf(raw, sizeof raw, "%s_%d", desc, o.series_number);
            else if (desc[0])
                snprintf(raw, sizeof raw, "%s", desc);
            else if (o.has_series_number)
                snprintf(raw, sizeof raw, "%.16s-series-%d", o.modality[0] ? o.modality : "dicom", o.series_number);
            dicom_object_free(&o);
        }
        if (!raw[0])
            snprintf(raw, sizeof raw, "series-%d", n + 1);
    } else {
        snprintf(raw, sizeof raw, "%s", c2_basename(s->file ? s->file : ""));
        size_t len = strlen(raw);
        char *dot = strrchr(raw, '.');
        if (c2_ends_with_ci(raw, ".nii.gz") && len > 7)
            raw[len - 7] = 0;
        else if (dot && dot != raw)
            *dot = 0;
        if (!raw[0])
            snprintf(raw, sizeof raw, "image-%d", n + 1);
    }
    c2_safe_name(base, sizeof base, raw);
    snprintf(out, cap, "%s", base);
    for (int k = 2; name_taken(cs, n, out); k++)
        snprintf(out, cap, "%s-%d", base, k);
}

/* Groups the cache's samples into cases: DICOM by series, NIfTI and images by file. */
static int cases_make(const cache *c, int anonymous, predict_case **out, int *n_out, c2_err *e)
{
    predict_case *cs = calloc((size_t)(c->n ? c->n : 1), sizeof *cs);
    int64_t *idx = malloc((size_t)(c->n ? c->n : 1) * sizeof *idx);
    int *of = malloc((size_t)(c->n ? c->n : 1) * sizeof *of);
    int64_t *first = malloc((size_t)(c->n ? c->n : 1) * sizeof *first);
    if (!cs || !idx || !of || !first) {
        free(cs);
        free(idx);
        free(of);
        free(first);
        return c2_fail(e, C2_ENOMEM, "out of memory grouping %lld samples", (long long)c->n);
    }
    int n = 0;
    for (int64_t i = 0; i < c->n; i++) {
        const cache_sample *s = &c->samples[i];
        int dicom = str_or_empty(s->series_uid)[0] != 0;
        int g = -1;
        for (int k = n - 1; k >= 0 && g < 0; k--) {
            const cache_sample *f = &c->samples[first[k]];
            if (dicom ? strcmp(str_or_empty(f->series_uid), s->series_uid) == 0
                      : !str_or_empty(f->series_uid)[0] && strcmp(f->file, s->file) == 0)
                g = k;
        }
        if (g < 0) {
            g = n;
            cs[g].kind = dicom ? CASE_DICOM : nifti_path_is_nifti(s->file) ? CASE_NIFTI : CASE_IMAGE;
            case_name(s, dicom, anonymous, cs, n, cs[g].id, sizeof cs[g].id);
            n++;
            first[g] = i;
        }
        of[i] = g;
        cs[g].n++;
    }
    /* lay the indices out per case, in cache order (ingest writes slices in order) */
    int64_t at = 0;
    for (int g = 0; g < n; g++) {
        cs[g].idx = idx + at;
        at += cs[g].n;
        cs[g].n = 0;
    }
    for (int64_t i = 0; i < c->n; i++)
        cs[of[i]].idx[cs[of[i]].n++] = i;
    free(of);
    free(first);
    *out = cs;
    *n_out = n;
    return C2_OK;
}

static void failed_free(predict_failed *f, int n)
{
    for (int i = 0; i < n; i++) {
        free(f[i].path);
        free(f[i].reason);
    }
    free(f);
}

/* The reported files, each with its reason from the driver's context and its series
 * when it is DICOM with readable metadata (read in the sandbox: these files already
 * failed once). */
static int failed_collect(const ingest_ctx *c, predict_failed **out, int *n_out, c2_err *e)
{
    *out = NULL;
    *n_out = 0;
    int n_failed = 0;
    for (int i = 0; i < c->n_files; i++)
        n_failed += c->files[i].state == FILE_FAILED;
    if (n_failed == 0)
        return C2_OK;
    predict_failed *list = calloc((size_t)n_failed, sizeof *list);
    if (!list)
        return c2_fail(e, C2_ENOMEM, "out of memory listing %d reported files", n_failed);
    int n = 0;
    for (int i = 0; i < c->n_files; i++) {
        const ingest_file *f = &c->files[i];
        if (f->state != FILE_FAILED)
            continue;
        predict_failed *pf = &list[n];
        pf->path = strdup(f->path);
        pf->reason = strdup(f->reason ? f->reason : "");
        if (!pf->path || !pf->reason) {
            free(pf->path);
            free(pf->reason);
            failed_free(list, n);
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", f->path);
        }
        dicom_object o;
        c2_err me = {0};
        memset(&o, 0, sizeof o);
        if (dicom_probe(f->path) && dicom_read_meta_isolated(f->path, &o, &me) == C2_OK) {
            snprintf(pf->series_uid, sizeof pf->series_uid, "%s", o.series_uid);
            dicom_object_free(&o);
        }
        n++;
    }
    *out = list;
    *n_out = n;
    return C2_OK;
}

/* Removes the files the cases in arr (predictions.json's "cases") wrote under outdir. */
static void outputs_remove(const char *outdir, const cJSON *arr)
{
    static const char *const keys[] = {"mask", "overlay"};
    const cJSON *one;
    cJSON_ArrayForEach(one, arr) {
        const cJSON *outs = cJSON_GetObjectItemCaseSensitive(one, "outputs");
        for (size_t k = 0; outs && k < sizeof keys / sizeof keys[0]; k++) {
            const char *rel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(outs, keys[k]));
            char path[4400];
            if (rel && rel[0] && c2_path_join(path, sizeof path, outdir, rel) == C2_OK)
                remove(path);
        }
    }
}

static pacs_store_options store; /* --store and its options */
/* One writer per output folder (base/lock.c): held from the folder's creation to the end. */
static c2_lock out_lock = {.fd = -1};
static int out_lock_wait;
static int64_t max_memory; /* --max-memory, 0 = none */
static int batch_given;    /* --batch was given: the planner may not lower it */

/* Parses the options into opt and the ingest context; returns EXIT_OK, -1 (help
 * printed) or EXIT_USAGE. */
static int parse_args(int argc, char **argv, predict_options *opt, ingest_ctx *c, const char **model,
                      const char **inputs, int *n_inputs, const char **preset)
{
    memset(&store, 0, sizeof store); /* a stage may run more than once in a process (c2seg run) */
    max_memory = 0;
    batch_given = 0;
    int deidentify = 0;
    const char *precision = NULL;
    const cli_option opts[] = {
        CLI_OPT_TEXT("output", 'o', &opt->outdir, "DIR"),      CLI_OPT_TEXT("text", 0, &opt->text, "TEXT"),
        CLI_OPT_CHOICE("convention", &opt->convention, "image|patient"),
        CLI_OPT_TEXT("captions", 0, &c->captions_path, "FILE"), CLI_OPT_TEXT("masks", 0, &c->masks_dir, "DIR"),
        {.name = "batch", .kind = CLI_INT, .out = &opt->batch, .value = "N", .lo = 1, .hi = 1024, .seen = &batch_given},
        CLI_OPT_FLAG("overlays", &opt->overlays), CLI_OPT_CALL("max-memory", &max_memory, "SIZE", cli_memory_size),
        CLI_OPT_FLAG("fractional", &opt->fractional),          CLI_OPT_FLAG("text-decode", &opt->text_decode),
        CLI_OPT_CALL("threshold", &opt->threshold, "P", cli_probability),
        CLI_OPT_TEXT("uid-root", 0, &opt->uid_root, "ROOT"),   PACS_STORE_CLI_OPTIONS(&store),
        CLI_OPT_CHOICE("preset", preset, "small|full|tiny"),
        CLI_OPT_TEXT("modality", 0, &c->modalities, "LIST"),  CLI_OPT_TEXT("label", 0, &c->seg_label, "SPEC"),
        CLI_OPT_FLAG("wait", &out_lock_wait),                  CLI_OPT_FLAG("deidentify", &deidentify),
        CLI_OPT_CHOICE("precision", &precision, CLI_PRECISION_HELP), CLI_OPT_END};
    int npos = 0, ex = cli_parse(argc, argv, opts, inputs, argc, &npos, usage);
    if (ex || (ex = cli_precision_apply(precision)))
        return ex;
    if (deidentify) {
        const char *key = getenv("C2SEG_DEIDENTIFY_KEY");
        if (!key || !key[0])
            return cli_usage_error("--deidentify needs the key in C2SEG_DEIDENTIFY_KEY (the key of `c2seg deidentify`)");
        opt->deidentify_key = key;
    }
    pacs_endpoint probe;
    c2_err pe = {0};
    if (store.dest && pacs_store_endpoint(&store, &probe, &pe) != C2_OK)
        return cli_usage_error("--store: %s", pe.msg);
    if (npos == 0)
        return cli_usage_error("MODEL.ckpt and the inputs to predict are required");
    if ((ex = cli_require(opt->outdir, "-o DIR (the output folder)")))
        return ex;
    if (npos == 1)
        return cli_usage_error("no input folder or file given after %s", inputs[0]);
    *model = inputs[0];
    for (int i = 1; i < npos; i++)
        inputs[i - 1] = inputs[i];
    *n_inputs = npos - 1;
    return EXIT_OK;
}

int stage_predict(int argc, char **argv)
{
    predict_options opt = {0};
    opt.batch = 8;
    opt.threshold = 0.5;
    ingest_ctx c;
    ingest_ctx_init(&c);
    const char *model_path = NULL;
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n_inputs = 0;
    if (!inputs)
        return EXIT_FAILED;
    const char *preset = NULL;
    int ex = parse_args(argc, argv, &opt, &c, &model_path, inputs, &n_inputs, &preset);
    if (ex != EXIT_OK) {
        free(inputs);
        return ex < 0 ? EXIT_OK : ex;
    }
    double t0 = now_seconds();
    c2_err e = {0};
    c2seg_model m;
    checkpoint_meta meta;
    memset(&m, 0, sizeof m);
    int rc = checkpoint_load(model_path, &m, &meta, NULL, &e);
    if (rc == C2_OK && strcmp(meta.text_encoder, text_encoder_hash512()->name) != 0)
        rc = c2_fail(&e, C2_EUNSUPPORTED, "%s: text encoder '%s' is not available (this build has '%s')",
                     model_path, meta.text_encoder, text_encoder_hash512()->name);
    if (rc == C2_OK && preset)
        rc = checkpoint_check_preset(model_path, m.cfg.preset, preset, &e);
    opt.seg_label = c.seg_label;
    char overlays[4200], cache_path[4200];
    c2_path_join(overlays, sizeof overlays, opt.outdir, "overlays");
    c2_path_join(cache_path, sizeof cache_path, opt.outdir, "inputs.h5");
    struct stat outdir_st;
    int outdir_existed = stat(opt.outdir, &outdir_st) == 0, overlays_existed = stat(overlays, &outdir_st) == 0;
    if (rc == C2_OK)
        rc = c2_mkdirs(opt.overlays ? overlays : opt.outdir, &e);
    char lock_path[4300];
    snprintf(lock_path, sizeof lock_path, "%s/.c2seg.lock", opt.outdir);
    if (rc == C2_OK)
        rc = c2_lock_acquire(&out_lock, lock_path, "predict", out_lock_wait, &e);
    c.pp.size = meta.preprocess.size;
    c.pp.window_center = meta.preprocess.window_center;
    c.pp.window_width = meta.preprocess.window_width;
    c.intensity = strcmp(meta.preprocess.intensity_domain, "raw") == 0 ? INTENSITY_RAW : INTENSITY_HU;
    if (rc == C2_OK && !meta.preprocess.from_cache && strcmp(meta.preprocess.intensity_domain, "ct_hu") == 0)
        c2_warn("%s does not record the CT window of its training data (written before c2seg recorded it); CT "
                "input is windowed at centre %g, width %g HU, which may not be the training window",
                model_path, meta.preprocess.window_center, meta.preprocess.window_width);
    progress prog;
    ingest_sink sink;
    ingest_cli_sink(&sink, &prog);
    double t_setup = now_seconds() - t0, t_ingest = now_seconds();
    char params[256]; /* the checkpoint's preprocessing, recorded as ingest records its own */
    snprintf(params, sizeof params, "{\"by\":\"c2seg predict\",\"size\":%d,\"window_center\":%.17g,"
             "\"window_width\":%.17g}", c.pp.size, c.pp.window_center, c.pp.window_width);
    if (rc == C2_OK)
        rc = predict_plan_jobs(max_memory, &m, c.pp.size, &c, &e);
    if (rc == C2_OK) /* ingest's driver: the same readers, SR rule and report as c2seg ingest */
        rc = ingest_run(&c, inputs, n_inputs, cache_path, params, NULL, &sink, &e);
    t_ingest = now_seconds() - t_ingest;
    double t_prepare = now_seconds();
    predict_failed *failed = NULL;
    int n_failed = 0;
    if (rc == C2_OK)
        rc = failed_collect(&c, &failed, &n_failed, &e);
    cache ch;
    memset(&ch, 0, sizeof ch);
    cache_pixels *px = NULL;
    if (rc == C2_OK)
        rc = cache_read(cache_path, 0, &ch, &e);
    if (rc == C2_OK)
        rc = cache_pixels_open(&px, cache_path, &e);
    predict_case *cases = NULL;
    int n_cases = 0, n_ok = 0;
    if (rc == C2_OK)
        rc = cases_make(&ch, opt.deidentify_key != NULL, &cases, &n_cases, &e);
    if (rc == C2_OK)
        rc = predict_plan_batch(max_memory, batch_given, &opt, &m, &ch, cases, n_cases, &e);
    predict_run run;
    memset(&run, 0, sizeof run);
    if (rc == C2_OK)
        rc = predict_run_init(&run, &opt, &m, &meta, &ch, px, &e);
    run.failed = failed;
    run.n_failed = n_failed;
    if (rc != C2_OK) {
        cli_error("%s", e.msg);
    discard:   /* from the cases' loop too: a full disk */
        predict_run_free(&run);
        /* nothing of this run stays (a full disk fails inputs.h5 first); a de-identified run
         * never leaves its inputs cache (source paths and UIDs); busy: the holder's files */
        if (rc != C2_EBUSY && (!outdir_existed || opt.deidentify_key)) {
            char report_path[4300];
            snprintf(report_path, sizeof report_path, "%s.report.tsv", cache_path);
            remove(cache_path);
            remove(report_path);
        }
        c2_lock_release(&out_lock); /* removes OUTDIR/.c2seg.lock, so the folders can go */
        if (rc != C2_EBUSY) {       /* the folders this run made, when left empty (not the holder's) */
            if (!overlays_existed)
                rmdir(overlays);
            if (!outdir_existed)
                rmdir(opt.outdir);
        }
        cache_pixels_close(px);
        failed_free(failed, n_failed);
        free(cases ? cases[0].idx : NULL);
        free(cases);
        if (ch.samples)
            cache_free(&ch);
        if (m.params)
            c2seg_model_free(&m);
        ingest_ctx_free(&c);
        free(inputs);
        return EXIT_FAILED;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "tool", "c2seg predict");
    cJSON_AddStringToObject(doc, "version", c2_version());
    cJSON_AddStringToObject(doc, "checkpoint", model_path);
    cJSON_AddStringToObject(doc, "preset", m.cfg.preset);
    cJSON_AddStringToObject(doc, "fusion", c2seg_fusion_name(m.cfg.fusion));
    cJSON_AddStringToObject(doc, "intensity_domain", meta.preprocess.intensity_domain);
    cJSON_AddNumberToObject(doc, "size", meta.preprocess.size);
    cJSON_AddNumberToObject(doc, "window_center", meta.preprocess.window_center);
    cJSON_AddNumberToObject(doc, "window_width", meta.preprocess.window_width);
    if (!opt.fractional)
        cJSON_AddNumberToObject(doc, "threshold", opt.threshold);
    cJSON_AddBoolToObject(doc, "fractional", opt.fractional);
    cJSON_AddBoolToObject(doc, "text_decode", opt.text_decode);
    if (opt.deidentify_key) /* its paths, UIDs and case keys identify: removed below */
        cJSON_AddNullToObject(doc, "inputs_cache");
    else
        cJSON_AddStringToObject(doc, "inputs_cache", "inputs.h5");
    cJSON_AddBoolToObject(doc, "deidentified", opt.deidentify_key != NULL);
    if (opt.uid_root)
        cJSON_AddStringToObject(doc, "uid_root", opt.uid_root); /* c2seg report's SRs use it too */
    cJSON *arr = cJSON_AddArrayToObject(doc, "cases");
    t_prepare = now_seconds() - t_prepare;
    /* an earlier run's predictions.json lists files this run replaces (the same names): it goes
     * before the first case is written, so a run that stops (a full disk, a kill) leaves a
     * folder without one, which says partial, not one whose list no longer matches its files */
    char old_json[4200];
    c2_path_join(old_json, sizeof old_json, opt.outdir, "predictions.json");
    if (remove(old_json) != 0 && errno != ENOENT)
        c2_warn("%s: the earlier run's file cannot be removed (%s)", old_json, strerror(errno));
    progress p;
    progress_start(&p, "cases", n_cases);
    int full = 0;   /* an output did not fit (C2_ENOSPC): no later one will, the run stops */
    for (int k = 0; k < n_cases && !full; k++) {
        cJSON *one = NULL;
        c2_err ce = {0};
        int crc = predict_case_run(&run, &cases[k], &one, &ce);
        if (crc == C2_OK)
            n_ok++;
        else if (crc == C2_ENOSPC) {
            c2_fail(&e, crc, "%s: %s", cases[k].id, ce.msg);
            full = 1;
        } else
            cli_error("%s: %s", cases[k].id, ce.msg);
        cJSON_AddItemToArray(arr, one);
        progress_step(&p, 1, cases[k].id);
    }
    progress_finish(&p);
    char json_path[4200];
    c2_path_join(json_path, sizeof json_path, opt.outdir, "predictions.json");
    if (!full) {
        char *text = c2_json_utf8(cJSON_Print(doc));   /* file names' bytes outside UTF-8: \udcXX */
        rc = text ? c2_write_file(json_path, text, strlen(text), &e) : c2_fail(&e, C2_ENOMEM, "out of memory");
        free(text);
        full = rc == C2_ENOSPC;
        if (rc != C2_OK && !full)
            cli_error("%s", e.msg);
    }
    if (full) {   /* one line; the cases' files are removed: a folder without predictions.json is partial */
        cli_error("%s", e.msg);
        outputs_remove(opt.outdir, arr);
    }
    cJSON_Delete(doc);
    if (full) {
        rc = C2_ENOSPC;
        goto discard;
    }
    if (opt.deidentify_key) { /* the input cache and its report name source files and UIDs */
        char report_path[4300];
        snprintf(report_path, sizeof report_path, "%s.report.tsv", cache_path);
        remove(cache_path);
        remove(report_path);
    }

    cJSON *sum = cJSON_CreateObject();
    cJSON_AddStringToObject(sum, "stage", "predict");
    cJSON_AddStringToObject(sum, "output", opt.outdir);
    cJSON_AddStringToObject(sum, "predictions", rc == C2_OK ? json_path : "");
    cJSON_AddNumberToObject(sum, "cases", n_cases);
    cJSON_AddNumberToObject(sum, "cases_written", n_ok);
    cJSON_AddNumberToObject(sum, "cases_failed", n_cases - n_ok);
    cJSON_AddNumberToObject(sum, "files_reported", c.n_failed);
    cJSON_AddNumberToObject(sum, "sr_documents", c.n_sr_documents);
    cJSON_AddNumberToObject(sum, "slices", (double)ch.n);
    cJSON_AddNumberToObject(sum, "batch", opt.batch);
    ingest_memory_json(sum, &c); /* --max-memory: the plan of the inputs' reading */
    int store_failed = 0;
    if (store.dest && n_ok > 0) {
        pacs_push_result pr;
        c2_err pe = {0};
        store_failed = pacs_store_folder(&store, opt.outdir, &pr, &pe) != C2_OK;
        if (store_failed)
            cli_error("--store: %s (the outputs stay in %s)", pe.msg, opt.outdir);
        cJSON_AddNumberToObject(sum, "stored", pr.n_sent + pr.n_skipped);
        cJSON_AddNumberToObject(sum, "store_failed", pr.n_failed);
    }
    double seconds = now_seconds() - t0;
    cJSON_AddNumberToObject(sum, "seconds", seconds);
    /* where a study's time goes (scripts/bench --study): model load; reading, decoding and
     * resampling the inputs into inputs.h5 (ingest); opening it and the model's workspace;
     * then per batch reading the cache,
     * normalising, the forward, mapping back to the source grid; writing SEG / NIfTI / PNG,
     * overlays and records */
    cJSON *ph = cJSON_AddObjectToObject(sum, "phase_seconds");
    cJSON_AddNumberToObject(ph, "load_model", t_setup);
    cJSON_AddNumberToObject(ph, "read_decode_resample", t_ingest);
    cJSON_AddNumberToObject(ph, "open_cache_workspace", t_prepare);
    cJSON_AddNumberToObject(ph, "cache_read", run.t_cache_read);
    cJSON_AddNumberToObject(ph, "normalise", run.t_normalise);
    cJSON_AddNumberToObject(ph, "forward", run.t_forward);
    cJSON_AddNumberToObject(ph, "map_back", run.t_map_back);
    cJSON_AddNumberToObject(ph, "source_metadata", run.t_source);
    cJSON_AddNumberToObject(ph, "severity", run.t_severity);
    cJSON_AddNumberToObject(ph, "write", run.t_write);
    cli_print_json(sum);

    predict_run_free(&run);
    free(cases[0].idx);
    free(cases);
    cache_pixels_close(px);
    failed_free(failed, n_failed);
    cache_free(&ch);
    c2seg_model_free(&m);
    ingest_ctx_free(&c);
    free(inputs);
    c2_lock_release(&out_lock);
    if (rc != C2_OK || n_ok == 0)
        return EXIT_FAILED;
    return n_ok < n_cases || c.n_failed || store_failed ? EXIT_PARTIAL : EXIT_OK;
}
