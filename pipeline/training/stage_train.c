/* `c2seg pretrain`, `c2seg train` and `c2seg eval`: option parsing, progress and the
 * JSON summary around the loops of train/fit.c and train/evaluate.c. */
#include "pipeline/pipeline.h"

#include "io/cache.h"
#include "model/threads.h"
#include "train/checkpoint.h"
#include "train/dist.h"
#include "train/evaluate.h"
#include "train/fit.h"
#include "train/preprocess_match.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *train_help =
    "usage: c2seg train COHORT.h5 -o MODEL.ckpt [options]\n"
    "Stage II: segmentation training with BCE + Dice (METHOD.md §6).\n"
    "  -o, --output FILE      best checkpoint (HDF5); FILE.resume.ckpt and FILE.log.{csv,json,svg} beside it\n"
    "      --init FILE        start from a Stage-I checkpoint (c2seg pretrain) or imported weights\n"
    "                         (c2seg import-torch); without it, a seeded initialisation\n"
    "      --preset NAME      " C2SEG_PRESET_NAMES "; with --init or --resume the\n"
    "                         checkpoint's preset (a different --preset is an error)\n"
    "      --fusion NAME      bcam_kgate (default) | bcam | duala | vision\n"
    "      --epochs N         default 60\n"
    "      --batch N          default 16\n"
    "      --lr X             AdamW learning rate, default 3e-4 (encoder at 0.1x)\n"
    "      --weight-decay X   default 1e-2\n"
    "      --clip X           clip the global gradient norm at X (default off)\n"
    "      --seed N           default 0 (shuffling, split, initialisation)\n"
    "      --threads N|auto   engine threads (default auto: the CPUs this process may use, from its\n"
    "                         affinity mask and cgroup CPU quota; docs/engine.md)\n"
    "      --max-steps N      stop after N optimizer steps (smoke runs)\n"
    "      --resume           continue an interrupted run from FILE.resume.ckpt\n"
    "      --shards K         compute each batch as K shards in turn, gradients summed (default 1);\n"
    "                         the single-process twin of K MPI ranks\n"
    "  -q, --quiet            no progress output\n"
    "Split: the cache's own train / valid labels when present, else a seeded 80/20 split by case.\n"
    "Data-parallel: mpirun -np N c2seg train ... splits every --batch across the N ranks\n"
    "(docs/scale-out.md); rank 0 prints and writes.\n";

static const char *pretrain_help =
    "usage: c2seg pretrain COHORT.h5 -o STAGE1.ckpt [options]\n"
    "Stage I: contrastive alignment of image and text embeddings (CaCL or HardCL, METHOD.md §6).\n"
    "  -o, --output FILE      checkpoint of the whole model (Stage I trains the encoder and projection\n"
    "                         heads); FILE.log.{csv,json,svg} beside it\n"
    "      --objective NAME   cacl (default) | hardcl\n"
    "      --preset NAME      " C2SEG_PRESET_NAMES "\n"
    "      --epochs N         default 20\n"
    "      --batch N          default 256 (capped at the training-set size; one forward per batch)\n"
    "      --lr X             default 3e-4;  --weight-decay X default 1e-2\n"
    "      --init FILE        start from a checkpoint, e.g. weights from c2seg import-torch\n"
    "      --seed N, --threads N|auto, --max-steps N, --resume, --shards K, -q   as for train\n"
    "Data-parallel: mpirun -np N c2seg pretrain ...; the CaCL loss sees the whole batch.\n";

static const char *eval_help =
    "usage: c2seg eval MODEL.ckpt COHORT.h5 [--split valid|test|train] [-o CASES.csv]\n"
    "Per-image Dice, IoU and HD95 (pixels, and mm when the spacing is known), and the text-mask\n"
    "consistency of METHOD.md §7 for predictions and ground truth. Writes a per-case CSV\n"
    "(default MODEL.eval-SPLIT.csv) and prints the summary table as JSON on stdout.\n"
    "      --batch N          default 16;  --threads N|auto\n"
    "      --threshold P      binary masks are probability > P (default 0.5); the summary's\n"
    "                         dice_by_threshold (P = 0.05 .. 0.95) is the curve to choose predict's\n"
    "                         --threshold from (docs/predict.md)\n"
    "      --preset NAME      check that MODEL.ckpt has this preset (an error naming both if not)\n";

typedef struct progress_ctx {
    progress bar;
    int started;
    const char *stage;
} progress_ctx;

/* One progress display for the whole run (steps, rate, ETA, the current loss and
 * learning rate), plus one log line per finished epoch. */
static void on_step(void *user, int epoch, int epochs, int64_t step, int64_t total, double loss, double lr,
                    double ips, int epoch_done, double val)
{
    progress_ctx *p = user;
    if (!p->started) {
        progress_start(&p->bar, p->stage, total);
        p->bar.done = p->bar.base = p->bar.last_line = step - 1; /* a resumed run starts part-way */
        p->started = 1;
    }
    if (epoch_done) {
        if (p->bar.tty)
            fputs("\r\033[K", stderr);
        cli_log("epoch %d/%d  loss %.4f  %s %.4f  %.1f img/s", epoch, epochs, loss,
                strcmp(p->stage, "pretrain") == 0 ? "retrieval" : "val Dice", val, ips);
        return;
    }
    char note[160];
    snprintf(note, sizeof note, "ep %d loss %.4f lr %.2e %.1f img/s", epoch, loss, lr, ips);
    progress_step(&p->bar, step - p->bar.done, note);
}

enum { OPT_INIT = 1000, OPT_PRESET, OPT_FUSION, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_WD, OPT_CLIP, OPT_SEED,
       OPT_THREADS, OPT_MAXSTEPS, OPT_RESUME, OPT_OBJECTIVE, OPT_SPLIT, OPT_SHARDS,
       OPT_THRESHOLD };

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'},      {"init", required_argument, 0, OPT_INIT},
    {"preset", required_argument, 0, OPT_PRESET}, {"fusion", required_argument, 0, OPT_FUSION},
    {"epochs", required_argument, 0, OPT_EPOCHS}, {"batch", required_argument, 0, OPT_BATCH},
    {"lr", required_argument, 0, OPT_LR},         {"weight-decay", required_argument, 0, OPT_WD},
    {"clip", required_argument, 0, OPT_CLIP},     {"seed", required_argument, 0, OPT_SEED},
    {"threads", required_argument, 0, OPT_THREADS}, {"max-steps", required_argument, 0, OPT_MAXSTEPS},
    {"resume", no_argument, 0, OPT_RESUME},       {"objective", required_argument, 0, OPT_OBJECTIVE},
    {"split", required_argument, 0, OPT_SPLIT},   {"quiet", no_argument, 0, 'q'},
    {"shards", required_argument, 0, OPT_SHARDS}, {"threshold", required_argument, 0, OPT_THRESHOLD},
    {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};

static int parse_positive(const char *s, const char *what, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0) {
        cli_error("%s must be a positive integer, not '%s'", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses the shared options into o; positional arguments into pos[]. Returns 0, or an
 * exit code. */
static int parse(int argc, char **argv, fit_options *o, int *threads, const char **split, const char **pos, int *npos,
                 int maxpos, const char *help, int *preset_given, double *threshold)
{
    *preset_given = 0;
    optind = 1;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "o:qh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out_path = optarg; break;
        case 'q': cli_set_quiet(1); break;
        case 'h': fputs(help, stdout); return -1;
        case OPT_INIT: o->init_path = optarg; break;
        case OPT_PRESET: snprintf(o->preset, sizeof o->preset, "%s", optarg); *preset_given = 1; break;
        case OPT_FUSION: snprintf(o->fusion, sizeof o->fusion, "%s", optarg); break;
        case OPT_OBJECTIVE: snprintf(o->stage1, sizeof o->stage1, "%s", optarg); break;
        case OPT_EPOCHS: if (parse_positive(optarg, "--epochs", &v)) return EXIT_USAGE; o->epochs = (int)v; break;
        case OPT_BATCH: if (parse_positive(optarg, "--batch", &v)) return EXIT_USAGE; o->batch = (int)v; break;
        case OPT_THREADS:   /* auto (0): the CPUs this process may use */
            if (strcmp(optarg, "auto") == 0)
                v = 0;
            else if (parse_positive(optarg, "--threads N|auto", &v))
                return EXIT_USAGE;
            *threads = (int)v;
            break;
        case OPT_SHARDS: if (parse_positive(optarg, "--shards", &v)) return EXIT_USAGE; o->shards = (int)v; break;
        case OPT_MAXSTEPS: if (parse_positive(optarg, "--max-steps", &v)) return EXIT_USAGE; o->max_steps = v; break;
        case OPT_SEED: o->seed = strtoull(optarg, NULL, 10); break;
        case OPT_LR: o->lr = atof(optarg); break;
        case OPT_WD: o->weight_decay = atof(optarg); break;
        case OPT_CLIP: o->clip_norm = atof(optarg); break;
        case OPT_RESUME: o->resume = 1; break;
        case OPT_SPLIT: *split = optarg; break;
        case OPT_THRESHOLD: {
            if (!threshold) {
                cli_error("--threshold: not an option of c2seg %s (eval and predict take it)", argv[0]);
                return EXIT_USAGE;
            }
            char *end;
            *threshold = strtod(optarg, &end);
            if (*end || !(*threshold > 0 && *threshold < 1)) {
                cli_error("invalid value '%s' for --threshold (a probability strictly between 0 and 1)", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        default: fputs(help, stderr); return EXIT_USAGE;
        }
    }
    *npos = 0;
    for (int i = optind; i < argc; i++) {
        if (*npos == maxpos) {
            cli_error("unexpected argument '%s'", argv[i]);
            return EXIT_USAGE;
        }
        pos[(*npos)++] = argv[i];
    }
    if (!(o->lr > 0) || o->weight_decay < 0) {
        cli_error("--lr must be positive and --weight-decay not negative");
        return EXIT_USAGE;
    }
    return 0;
}

/* An explicit --preset against the checkpoint that decides the model (--init, the
 * resume state, eval's model): a difference is an error naming both. */
static int preset_check(const char *given, const char *ckpt_path, const char *ckpt_preset, c2_err *e)
{
    if (strcmp(given, ckpt_preset) == 0)
        return C2_OK;
    return c2_fail(e, C2_EMISMATCH,
                   "--preset %s, but %s is a %s-preset checkpoint; drop --preset (the checkpoint decides) or give "
                   "--preset %s",
                   given, ckpt_path, ckpt_preset, ckpt_preset);
}

/* The checkpoint a training run starts from (its resume state, else --init), checked
 * against an explicit --preset (without one, its preset is the run's) and, when it
 * records the preprocessing of its data, against the cache's. */
static int start_check(fit_options *o, int preset_given, const cache *c, const char *cache_path, c2_err *e)
{
    char resume[4200];
    snprintf(resume, sizeof resume, "%s.resume.ckpt", o->out_path);
    const char *from = o->resume && access(resume, R_OK) == 0 ? resume : o->init_path;
    if (!from)
        return C2_OK;
    c2seg_config cfg;
    checkpoint_meta meta;
    int rc = checkpoint_peek(from, &cfg, &meta, e);
    if (!rc && preset_given)
        rc = preset_check(o->preset, from, cfg.preset, e);
    if (!rc)
        snprintf(o->preset, sizeof o->preset, "%s", cfg.preset);
    if (!rc && meta.preprocess.from_cache)
        rc = preprocess_match(&meta.preprocess, from, c, cache_path, e);
    return rc;
}

/* Segmentation needs ground truth: none in the training split is an error that says
 * how to bring masks; some samples without one is a warning (they train as empty). */
static int ground_truth_check(const cache *c, const char *cache_path, uint64_t seed, c2_err *e)
{
    fit_split sp;
    int rc = fit_split_make(c, seed, &sp, e);
    if (rc)
        return rc;
    int64_t with = 0;
    for (int64_t k = 0; k < sp.n_train; k++)
        with += c->samples[sp.train[k]].has_mask != 0;
    if (sp.n_train > 0 && with == 0)
        rc = c2_fail(e, C2_EINVAL,
                     "%s: none of the %lld training samples has a ground-truth mask, so there is nothing to learn; "
                     "ingest images with their masks: NIfTI pairs (NAME_mask.nii.gz beside NAME.nii.gz, or --masks "
                     "DIR) or PNG / JPEG image-mask folders (docs/getting-started.md, Bringing your own annotations); "
                     "DICOM SEG labels are not read yet",
                     cache_path, (long long)sp.n_train);
    else if (with < sp.n_train)
        c2_warn("%s: %lld of %lld training samples have no ground-truth mask and train as empty masks (no "
                "lesion)",
                cache_path, (long long)(sp.n_train - with), (long long)sp.n_train);
    fit_split_free(&sp);
    return rc;
}

static cJSON *result_json(const char *stage, const fit_options *o, const fit_result *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "stage", stage);
    cJSON_AddStringToObject(j, "checkpoint", o->out_path);
    cJSON_AddStringToObject(j, "preset", o->preset);
    cJSON_AddStringToObject(j, "fusion", o->fusion);
    cJSON_AddStringToObject(j, "split", r->split_policy);
    cJSON_AddNumberToObject(j, "n_train", r->n_train);
    cJSON_AddNumberToObject(j, "n_valid", r->n_valid);
    cJSON_AddNumberToObject(j, "epochs_run", r->epochs_run);
    cJSON_AddNumberToObject(j, "steps", (double)r->steps);
    cJSON_AddNumberToObject(j, "final_loss", r->final_loss);
    cJSON_AddNumberToObject(j, "best_epoch", r->best_epoch);
    if (strcmp(stage, "pretrain") == 0 && isfinite(r->retrieval_accuracy))
        cJSON_AddNumberToObject(j, "retrieval_accuracy", r->retrieval_accuracy);
    if (strcmp(stage, "train") == 0 && isfinite(r->best_val_dice))
        cJSON_AddNumberToObject(j, "best_val_dice", r->best_val_dice);
    if (strcmp(stage, "train") == 0 && isfinite(r->best_val_iou))
        cJSON_AddNumberToObject(j, "best_val_iou", r->best_val_iou);
    cJSON_AddNumberToObject(j, "images_per_s", r->images_per_s);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    return j;
}

static int run_fit(int argc, char **argv, int pretrain)
{
    fit_options o;
    fit_options_default(&o);
    if (pretrain) {
        o.epochs = 20;
        o.batch = 256;
    }
    snprintf(o.preset, sizeof o.preset, "%s", C2SEG_PRESET_DEFAULT);
    int threads = 0, npos = 0, preset_given;
    const char *split = NULL, *pos[1];
    const char *help = pretrain ? pretrain_help : train_help;
    int rc = parse(argc, argv, &o, &threads, &split, pos, &npos, 1, help, &preset_given, NULL);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (npos != 1 || !o.out_path) {
        fputs(help, stderr);
        return EXIT_USAGE;
    }
    threads_init(threads);
    c2_err e = {0};
    /* under mpirun: join the ranks; rank 0 alone logs, shows progress and prints JSON */
    if (dist_init(&e)) {
        cli_error("%s", e.msg);
        return EXIT_FAILED;
    }
    int rank = dist_rank();
    if (rank != 0)
        cli_set_quiet(1);
    cache c;
    cli_log("reading %s", pos[0]);
    if (cache_read(pos[0], 1, &c, &e)) {
        cli_error("%s", e.msg);
        dist_finalize();
        return EXIT_FAILED;
    }
    checkpoint_preprocess pre = {0}; /* the cache records what training will record */
    if (preprocess_from_cache(&pre, &c, pos[0], &e) || start_check(&o, preset_given, &c, pos[0], &e) ||
        (!pretrain && ground_truth_check(&c, pos[0], o.seed, &e))) {
        cli_error("%s", e.msg);
        cache_free(&c);
        dist_finalize();
        return EXIT_FAILED;
    }
    progress_ctx pc = {.stage = pretrain ? "pretrain" : "train"};
    o.on_step = rank == 0 ? on_step : NULL;
    o.user = &pc;
    fit_result r;
    cli_log("%s: preset %s, fusion %s, %d epochs, batch %d, lr %g, %d threads%s", pc.stage, o.preset, o.fusion,
            o.epochs, o.batch, o.lr, threads_count(), o.resume ? ", resuming" : "");
    if (dist_size() > 1 || o.shards > 1)
        cli_log("data-parallel: %d ranks x %d shards per batch of %d", dist_size(), o.shards, o.batch);
    rc = pretrain ? fit_pretrain(&c, &o, &r, &e) : fit_segmentation(&c, &o, &r, &e);
    if (pc.started)
        progress_finish(&pc.bar);
    cache_free(&c);
    dist_finalize();
    if (rc) {
        if (rank == 0)
            cli_error("%s", e.msg);
        else if (!strstr(e.msg, "another rank failed"))
            cli_error("rank %d: %s", rank, e.msg);
        return EXIT_FAILED;
    }
    if (rank != 0)
        return EXIT_OK;
    cli_log("split: %s (%d train, %d valid)", r.split_policy, r.n_train, r.n_valid);
    if (!pretrain)
        cli_log("best epoch %d: val Dice %.4f IoU %.4f; wrote %s", r.best_epoch, r.best_val_dice, r.best_val_iou,
                o.out_path);
    cli_print_json(result_json(pc.stage, &o, &r));
    return EXIT_OK;
}

int stage_train(int argc, char **argv) { return run_fit(argc, argv, 0); }
int stage_pretrain(int argc, char **argv) { return run_fit(argc, argv, 1); }

int stage_eval(int argc, char **argv)
{
    fit_options o;
    fit_options_default(&o);
    int threads = 0, npos = 0, preset_given;
    const char *split = "valid", *pos[2];
    double threshold = 0.5;
    int rc = parse(argc, argv, &o, &threads, &split, pos, &npos, 2, eval_help, &preset_given, &threshold);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (npos != 2) {
        fputs(eval_help, stderr);
        return EXIT_USAGE;
    }
    int want = cache_split_parse(split);
    if (want < 0) {
        cli_error("unknown split '%s' (train, valid, test)", split);
        return EXIT_USAGE;
    }
    threads_init(threads);
    c2_err e = {0};
    c2seg_model m;
    checkpoint_meta meta;
    if (checkpoint_load(pos[0], &m, &meta, NULL, &e)) {
        cli_error("%s", e.msg);
        return EXIT_FAILED;
    }
    if (preset_given && preset_check(o.preset, pos[0], m.cfg.preset, &e)) {
        cli_error("%s", e.msg);
        c2seg_model_free(&m);
        return EXIT_FAILED;
    }
    cache c;
    if (cache_read(pos[1], 1, &c, &e)) {
        cli_error("%s", e.msg);
        c2seg_model_free(&m);
        return EXIT_FAILED;
    }
    rc = EXIT_FAILED;
    fit_split sp = {0};
    if (preprocess_match(&meta.preprocess, pos[0], &c, pos[1], &e) || fit_split_make(&c, o.seed, &sp, &e)) {
        cli_error("%s", e.msg);
        goto out;
    }
    const int64_t *idx = want == CACHE_SPLIT_TRAIN ? sp.train : want == CACHE_SPLIT_TEST ? sp.test : sp.valid;
    int64_t n = want == CACHE_SPLIT_TRAIN ? sp.n_train : want == CACHE_SPLIT_TEST ? sp.n_test : sp.n_valid;
    if (n == 0) {
        cli_error("%s: the %s split is empty (split policy: %s)", pos[1], split, sp.policy);
        goto out;
    }
    char csv[4200];
    if (o.out_path)
        snprintf(csv, sizeof csv, "%s", o.out_path);
    else
        snprintf(csv, sizeof csv, "%s.eval-%s.csv", pos[0], split);
    cJSON *summary = NULL;
    cli_log("evaluating %lld %s samples", (long long)n, split);
    if (evaluate_split(&m, &c, idx, n, o.batch, threshold, csv, &summary, &e)) {
        cli_error("%s", e.msg);
        goto out;
    }
    cJSON_AddStringToObject(summary, "split", split);
    cJSON_AddStringToObject(summary, "split_policy", sp.policy);
    cli_log("Dice %.4f  IoU %.4f  HD95 %.2f px; per-case rows in %s",
            cJSON_GetObjectItem(summary, "dice")->valuedouble, cJSON_GetObjectItem(summary, "iou")->valuedouble,
            cJSON_GetObjectItem(summary, "hd95_px")->valuedouble, csv);
    cli_print_json(summary);
    rc = EXIT_OK;
out:
    fit_split_free(&sp);
    cache_free(&c);
    c2seg_model_free(&m);
    return rc;
}
