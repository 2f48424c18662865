/* `c2seg pretrain`, `c2seg train` and `c2seg eval`: option parsing, progress and the
 * JSON summary around the loops of train/fit.c and train/evaluate.c. */
#include "pipeline/pipeline.h"
#include "pipeline/training/training.h"

#include "dicom-sr/quality_gate.h"
#include "io/cache.h"
#include "model/precision.h"
#include "model/threads.h"
#include "train/checkpoint.h"
#include "train/dist.h"
#include "train/evaluate.h"
#include "train/fit.h"
#include "train/preprocess_match.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *train_help =
    "usage: c2seg train COHORT.h5 -o MODEL.ckpt [options]\n"
    "Stage II: segmentation training with BCE + Dice (docs/model.md).\n"
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
    "      --wait             another c2seg is writing FILE (FILE.lock): wait for it instead of exiting 3\n"
    "      --shards K         compute each batch as K shards in turn, gradients summed (default 1);\n"
    "                         the single-process twin of K MPI ranks\n"
    "      --max-memory SIZE  fit this memory (512M, 2G): without --shards, each batch is computed in as\n"
    "                         many shards as needed; exit 3 when one shard of 2 does not fit\n"
    "  -q, --quiet            no progress output\n"
    "Split: the cache's own train / valid labels when present, else a seeded 80/20 split by case.\n"
    "Data-parallel: mpirun -np N c2seg train ... splits every --batch across the N ranks\n"
    "(docs/scale-out.md); rank 0 prints and writes.\n";

static const char *pretrain_help =
    "usage: c2seg pretrain COHORT.h5 -o STAGE1.ckpt [options]\n"
    "Stage I: contrastive alignment of image and text embeddings (CaCL or HardCL, docs/model.md).\n"
    "  -o, --output FILE      checkpoint of the whole model (Stage I trains the encoder and projection\n"
    "                         heads); FILE.log.{csv,json,svg} beside it\n"
    "      --objective NAME   cacl (default) | hardcl\n"
    "      --preset NAME      " C2SEG_PRESET_NAMES "\n"
    "      --epochs N         default 20\n"
    "      --batch N          default 256 (capped at the training-set size; one forward per batch)\n"
    "      --lr X             default 3e-4;  --weight-decay X default 1e-2\n"
    "      --init FILE        start from a checkpoint, e.g. weights from c2seg import-torch\n"
    "      --seed N, --threads N|auto, --max-steps N, --resume, --shards K, --wait, -q   as for train\n"
    "Data-parallel: mpirun -np N c2seg pretrain ...; the CaCL loss sees the whole batch.\n";

static const char *eval_help =
    "usage: c2seg eval MODEL.ckpt COHORT.h5 [--split valid|test|train] [-o CASES.csv] [--gate-dice D]\n"
    "Per-image Dice, IoU and HD95 (pixels, and mm when the spacing is known), and the text-mask\n"
    "consistency (docs/consistency.md) of predictions and ground truth. Writes a per-case CSV\n"
    "(default MODEL.eval-SPLIT.csv) and prints the summary table as JSON on stdout.\n"
    "      --gate-dice D      quality gate: precision and recall of \"inconsistent with the text\" at\n"
    "                         catching the images with Dice below D (default 0.5)\n"
    "      --batch N          default 16;  --threads N|auto\n"
    "      --precision fp32|bf16|auto  inference arithmetic (default $C2SEG_PRECISION, else fp32): bf16\n"
    "                         products, fp32 sums where the CPU has AVX512_BF16 (docs/engine.md)\n"
    "      --seed N           the training run's --seed (default 0): the same seeded split\n"
    "      --threshold P      binary masks are probability > P (default 0.5); the summary's\n"
    "                         dice_by_threshold (P = 0.05 .. 0.95) is the curve to choose predict's\n"
    "                         --threshold from (docs/predict.md)\n"
    "      --preset NAME      check that MODEL.ckpt has this preset (an error naming both if not)\n";

static void train_usage(FILE *f) { fputs(train_help, f); }
static void pretrain_usage(FILE *f) { fputs(pretrain_help, f); }
static void eval_usage(FILE *f) { fputs(eval_help, f); }

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

static int wait_lock; /* --wait: for another writer of the checkpoint (base/lock.c) */
static double gate_dice = QUALITY_GATE_DICE; /* eval's --gate-dice */

/* --gate-dice D: a Dice threshold in [0, 1]. */
static int gate_arg(void *out, const char *value, char *why, size_t cap)
{
    if (quality_gate_parse(value, (double *)out)) {
        snprintf(why, cap, "not a number in [0, 1]");
        return -1;
    }
    return 0;
}

/* The options of the three stages (pipeline/cli/args.c): one table each over one set
 * of destinations. */
typedef struct fit_args {
    fit_options o;
    const char *preset, *fusion, *objective, *split, *precision;
    int threads, preset_given, shards_given;
    int64_t max_memory;       /* train's --max-memory */
    long long seed, max_steps;
    double threshold;
} fit_args;

#define OPT_OUT(a) CLI_OPT_TEXT("output", 'o', &(a)->o.out_path, "FILE")
#define OPT_PRESET(a)                                                                                            \
    {.name = "preset", .kind = CLI_CHOICE, .out = &(a)->preset, .value = "NAME", .choices = "small|full|tiny",   \
     .seen = &(a)->preset_given}
#define OPT_BATCH(a) CLI_OPT_INT("batch", &(a)->o.batch, "N", 1, 1 << 20)
#define OPT_THREADS(a) CLI_OPT_CALL("threads", &(a)->threads, "N|auto", threads_arg)
#define OPT_SEED(a) CLI_OPT_LONG("seed", &(a)->seed, "N", 0, 9e18)
#define OPT_FIT(a)                                                                                               \
    OPT_OUT(a), OPT_PRESET(a), OPT_BATCH(a), OPT_THREADS(a), OPT_SEED(a),                                        \
        CLI_OPT_TEXT("init", 0, &(a)->o.init_path, "FILE"), CLI_OPT_INT("epochs", &(a)->o.epochs, "N", 1, 1e6), \
        CLI_OPT_NUM("lr", &(a)->o.lr, "X", CLI_NUM_TINY, CLI_NUM_MAX),                                            \
        CLI_OPT_NUM("weight-decay", &(a)->o.weight_decay, "X", 0, CLI_NUM_MAX), \
        CLI_OPT_LONG("max-steps", &(a)->max_steps, "N", 1, 9e18), CLI_OPT_FLAG("resume", &(a)->o.resume),         \
        {.name = "shards", .kind = CLI_INT, .out = &(a)->o.shards, .value = "K", .lo = 1, .hi = 4096,            \
         .seen = &(a)->shards_given}

/* --threads N|auto: auto (0) is the CPUs this process may use. */
static int threads_arg(void *out, const char *value, char *why, size_t cap)
{
    char *end;
    long v = strcmp(value, "auto") == 0 ? 0 : strtol(value, &end, 10);
    if (strcmp(value, "auto") != 0 && (!*value || *end || v < 1 || v > 4096)) {
        snprintf(why, cap, "not auto or an integer in 1..4096");
        return -1;
    }
    *(int *)out = (int)v;
    return 0;
}

/* Parses argv for a stage (train, pretrain or eval) into a; returns 0, -1 (help
 * printed) or EXIT_USAGE. */
static int parse(int argc, char **argv, fit_args *a, const char **pos, int maxpos, int *npos, void (*help)(FILE *))
{
    const cli_option train[] = {OPT_FIT(a), CLI_OPT_CHOICE("fusion", &a->fusion, "bcam_kgate|bcam|duala|vision"),
                                CLI_OPT_NUM("clip", &a->o.clip_norm, "X", 0, CLI_NUM_MAX),
                                CLI_OPT_CALL("max-memory", &a->max_memory, "SIZE", cli_memory_size),
                                CLI_OPT_FLAG("wait", &wait_lock), CLI_OPT_END};
    const cli_option pretrain[] = {OPT_FIT(a), CLI_OPT_CHOICE("objective", &a->objective, "cacl|hardcl"),
                                   CLI_OPT_FLAG("wait", &wait_lock), CLI_OPT_END};
    const cli_option eval[] = {OPT_OUT(a), OPT_PRESET(a), OPT_BATCH(a), OPT_THREADS(a), OPT_SEED(a),
                               CLI_OPT_CHOICE("precision", &a->precision, CLI_PRECISION_HELP),
                               CLI_OPT_CHOICE("split", &a->split, "valid|test|train"),
                               CLI_OPT_CALL("threshold", &a->threshold, "P", cli_probability),
                               CLI_OPT_CALL("gate-dice", &gate_dice, "D", gate_arg), CLI_OPT_END};
    const cli_option *opts = strcmp(argv[0], "eval") == 0 ? eval : strcmp(argv[0], "pretrain") == 0 ? pretrain : train;
    a->seed = (long long)a->o.seed;
    a->max_steps = a->o.max_steps;
    int rc = cli_parse(argc, argv, opts, pos, maxpos, npos, help);
    if (rc)
        return rc;
    a->o.seed = (uint64_t)a->seed;
    a->o.max_steps = a->max_steps;
    if (a->preset)
        snprintf(a->o.preset, sizeof a->o.preset, "%s", a->preset);
    if (a->fusion)
        snprintf(a->o.fusion, sizeof a->o.fusion, "%s", a->fusion);
    if (a->objective)
        snprintf(a->o.stage1, sizeof a->o.stage1, "%s", a->objective);
    return 0;
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
        rc = checkpoint_check_preset(from, cfg.preset, o->preset, e);
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
                     "DIR), PNG / JPEG image-mask folders, or a DICOM SEG of the series among the inputs (--label "
                     "picks its segments) (docs/getting-started.md, Bringing your own annotations)",
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
    fit_args a = {0};
    fit_options_default(&a.o);
    if (pretrain) {
        a.o.epochs = 20;
        a.o.batch = 256;
    }
    snprintf(a.o.preset, sizeof a.o.preset, "%s", C2SEG_PRESET_DEFAULT);
    int npos = 0, preset_given;
    const char *pos[1];
    int rc = parse(argc, argv, &a, pos, 1, &npos, pretrain ? pretrain_usage : train_usage);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (npos != 1)
        return cli_usage_error("the cohort cache (COHORT.h5, written by c2seg ingest) is required");
    if ((rc = cli_require(a.o.out_path, pretrain ? "-o STAGE1.ckpt (the checkpoint to write)"
                                                 : "-o MODEL.ckpt (the checkpoint to write)")))
        return rc;
    fit_options o = a.o;
    preset_given = a.preset_given;
    threads_init(a.threads);
    precision_set_inference(PRECISION_FP32);   /* training and its validation stay fp32 */
    c2_err e = {0};
    /* under mpirun: join the ranks; rank 0 alone logs, shows progress and prints JSON */
    if (dist_init(&e)) {
        cli_error("%s", e.msg);
        return EXIT_FAILED;
    }
    int rank = dist_rank();
    if (rank != 0)
        cli_set_quiet(1);
    /* one writer per checkpoint: CHECKPOINT.lock (base/lock.c). Under mpirun the ranks
     * share one output and rank 0 writes it; the lock is taken by single-process runs only
     * (a rank refused alone would leave the others waiting in a collective). */
    c2_lock lock = {.fd = -1};
    if (dist_size() == 1) {
        char lock_path[4200];
        snprintf(lock_path, sizeof lock_path, "%s.lock", o.out_path);
        if (c2_lock_acquire(&lock, lock_path, pretrain ? "pretrain" : "train", wait_lock, &e) != C2_OK) {
            cli_error("%s", e.msg);
            dist_finalize();
            return EXIT_FAILED;
        }
    }
    cache c;
    cli_log("reading %s", pos[0]);
    if (cache_read(pos[0], 1, &c, &e)) {
        cli_error("%s", e.msg);
        c2_lock_release(&lock);
        dist_finalize();
        return EXIT_FAILED;
    }
    checkpoint_preprocess pre = {0}; /* the cache records what training will record */
    if (preprocess_from_cache(&pre, &c, pos[0], &e) || start_check(&o, preset_given, &c, pos[0], &e) ||
        (!pretrain && ground_truth_check(&c, pos[0], o.seed, &e)) ||
        train_plan_shards(a.max_memory, a.shards_given, &o, &c, &e)) {
        cli_error("%s", e.msg);
        cache_free(&c);
        c2_lock_release(&lock);
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
    c2_lock_release(&lock); /* removes CHECKPOINT.lock: written or failed, nothing stays */
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
    fit_args a = {.split = "valid", .threshold = 0.5};
    fit_options_default(&a.o);
    int npos = 0;
    const char *pos[2];
    int rc = parse(argc, argv, &a, pos, 2, &npos, eval_usage);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (npos != 2)
        return cli_usage_error(npos ? "the cohort cache (COHORT.h5) is required after MODEL.ckpt"
                                    : "MODEL.ckpt and COHORT.h5 are required");
    fit_options o = a.o;
    const char *split = a.split;
    int preset_given = a.preset_given, want = cache_split_parse(split);
    double threshold = a.threshold;
    threads_init(a.threads);
    if ((rc = cli_precision_apply(a.precision)))
        return rc;
    c2_err e = {0};
    c2seg_model m;
    checkpoint_meta meta;
    if (checkpoint_load(pos[0], &m, &meta, NULL, &e)) {
        cli_error("%s", e.msg);
        return EXIT_FAILED;
    }
    if (preset_given && checkpoint_check_preset(pos[0], m.cfg.preset, o.preset, &e)) {
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
    if (evaluate_split(&m, &c, idx, n, o.batch, threshold, gate_dice, csv, &summary, &e)) {
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
