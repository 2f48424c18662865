/* CLI plumbing shared by every stage: the dispatcher, log lines, JSON summary
 * and the progress display. */
#include "io/cache.h"
#include "io/dcmtk_log.h"
#include "model/threads.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *current_stage = "c2seg";
static int quiet;

void cli_set_stage(const char *stage) { current_stage = stage; }
const char *cli_stage(void) { return current_stage; }
void cli_set_quiet(int q) { quiet = q; }
int cli_get_quiet(void) { return quiet; }

/* One line, written with one write: lines of parallel workers and threads do not
 * interleave inside a line. The message names files and quotes their values: a control byte
 * or a newline in either is written \xNN (c2_printable), so one message stays one line. */
static void vlog(const char *kind, const char *fmt, va_list ap)
{
    char msg[4096], safe[4096], line[4200];
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        msg[0] = 0;
    int n = snprintf(line, sizeof line, "c2seg %s: %s%s\n", current_stage, kind, c2_printable(safe, sizeof safe, msg));
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (len && line[len - 1] != '\n')
        line[len - 1] = '\n';   /* cut: the line still ends with its newline */
    fwrite(line, 1, len, stderr);
}

void cli_log(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog("", fmt, ap);
    va_end(ap);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("error: ", fmt, ap);
    va_end(ap);
}

/* Each distinct warning is printed once per run: the same series is grouped by more than
 * one reader (predict's ingest, then its SEG writer, which runs in a sandbox worker: another
 * process), and a repeat says nothing new. Seen messages are 64-bit FNV-1a hashes in an
 * open-addressed table in memory shared with the forked workers (mapped before any fork),
 * claimed by compare-and-swap so two processes never both print one message. */
enum { WARN_SEEN_SLOTS = 8192 };
static uint64_t warn_seen_local[WARN_SEEN_SLOTS];
static uint64_t *warn_seen = warn_seen_local;

static void warn_seen_share(void)
{
    void *p = mmap(NULL, sizeof warn_seen_local, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        warn_seen = p;   /* zero-filled; kept for the life of the process */
}

static int warn_first_time(const char *msg)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *q = (const unsigned char *)msg; *q; q++)
        h = (h ^ *q) * 1099511628211ull;
    h |= 1;   /* 0 marks an empty slot */
    for (size_t i = 0; i < WARN_SEEN_SLOTS; i++) {
        uint64_t *slot = &warn_seen[(h + i) % WARN_SEEN_SLOTS], expected = 0;
        if (__atomic_compare_exchange_n(slot, &expected, h, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return 1;
        if (expected == h)
            return 0;
    }
    return 1;   /* table full: print */
}

/* DCMTK's own log lines (io/dcmtk_log.h): info lines of the stage, so -q drops them. They
 * name no file, so each distinct line is printed once per run, as warnings are (a cohort of
 * one scanner's odd-length Pixel Data drew the same line once a file). */
static void dcmtk_line(void *user, char level, const char *logger, const char *msg)
{
    (void)user;
    char line[2048];
    snprintf(line, sizeof line, "DCMTK %s (%s): %s", level == 'W' ? "warning" : level == 'E' ? "error" : "fatal error",
             logger, msg);
    if (!quiet && warn_first_time(line))
        cli_log("%s", line);
}

static void warn_sink(void *user, const char *msg)
{
    (void)user;
    char safe[4096];
    if (warn_first_time(msg))
        fprintf(stderr, "c2seg %s: warning: %s\n", current_stage, c2_printable(safe, sizeof safe, msg));
}

void cli_print_json(cJSON *obj)
{
    char *s = c2_json_utf8(cJSON_PrintUnformatted(obj));   /* a file name's bytes outside UTF-8: \udcXX */
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(s);
    }
    cJSON_Delete(obj);
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

void progress_start(progress *p, const char *what, int64_t total)
{
    memset(p, 0, sizeof *p);
    p->what = what;
    p->total = total;
    p->tty = isatty(STDERR_FILENO) && !quiet;
    p->t0 = p->last_draw = now_seconds();
    p->every = total > 0 ? (total + 19) / 20 : 50; /* about 20 lines when not a terminal */
    if (p->every < 1)
        p->every = 1;
}

static void eta_text(char *buf, size_t cap, double seconds)
{
    if (seconds < 0 || seconds > 1e7)
        snprintf(buf, cap, "--:--");
    else if (seconds >= 3600)
        snprintf(buf, cap, "%d:%02d:%02d", (int)seconds / 3600, ((int)seconds / 60) % 60, (int)seconds % 60);
    else
        snprintf(buf, cap, "%02d:%02d", (int)seconds / 60, (int)seconds % 60);
}

static void progress_draw(progress *p, const char *note, int final)
{
    double t = now_seconds(), el = t - p->t0;
    double rate = el > 0 ? (p->done - p->base) / el : 0;
    char eta[32], safe[256];
    eta_text(eta, sizeof eta, (p->total > 0 && rate > 0) ? (p->total - p->done) / rate : -1);
    note = note ? c2_printable(safe, sizeof safe, note) : NULL;   /* a file's name */
    if (p->tty) {
        int width = 30, fill = p->total > 0 ? (int)(width * p->done / p->total) : 0;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r%s [%s] %lld/%lld %.1f/s ETA %s %-40.40s%s", p->what, bar, (long long)p->done,
                (long long)p->total, rate, eta, note ? note : "", final ? "\n" : "");
    } else {
        fprintf(stderr, "c2seg %s: %s %lld/%lld (%.1f/s, ETA %s)%s%s\n", current_stage, p->what, (long long)p->done,
                (long long)p->total, rate, eta, note ? " " : "", note ? note : "");
    }
    p->last_draw = t;
    p->last_line = p->done;
}

void progress_step(progress *p, int64_t n, const char *note)
{
    p->done += n;
    if (quiet)
        return;
    if (p->tty ? now_seconds() - p->last_draw > 0.1 : p->done - p->last_line >= p->every)
        progress_draw(p, note, 0);
}

void progress_finish(progress *p)
{
    if (!quiet && (p->tty || p->done != p->last_line))
        progress_draw(p, NULL, 1);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg <stage> [options]   (c2seg <stage> --help for its options)\n\nstages:\n");
    for (const stage_def *s = c2seg_stages; s->name; s++)
        fprintf(f, "  %-13s %s\n", s->name, s->summary);
    fprintf(f, "\nexit codes: 0 ok, 1 partial (some inputs failed), 2 usage error, 3 failed\n"
               "log lines go to stderr; each stage prints a JSON summary to stdout.\n");
}

int c2seg_main(int argc, char **argv)
{
    cache_library_init();   /* before any HDF5 call: no HDF5 shutdown at exit (disk-full crash) */
    warn_seen_share();      /* before any sandbox worker is forked */
    c2_set_warn_sink(warn_sink, NULL);
    dcmtk_log_route(dcmtk_line, NULL);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("c2seg %s\n", c2_version());
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
            cli_set_quiet(1);
    for (const stage_def *s = c2seg_stages; s->name; s++) {
        if (strcmp(s->name, argv[1]) == 0) {
            cli_set_stage(s->name);
            threads_init(0);   /* stages with --threads set it again */
            return s->run(argc - 1, argv + 1);
        }
    }
    const stage_def *best = NULL;
    int best_d = 3;
    for (const stage_def *s = c2seg_stages; s->name; s++) {
        int d = cli_name_distance(argv[1], s->name);
        if (d < best_d) {
            best_d = d;
            best = s;
        }
    }
    char safe[256];
    c2_printable(safe, sizeof safe, argv[1]);
    if (best)
        fprintf(stderr, "c2seg: error: '%s': unknown stage (did you mean %s?); see c2seg --help\n", safe, best->name);
    else
        fprintf(stderr, "c2seg: error: '%s': unknown stage; see c2seg --help\n", safe);
    return EXIT_USAGE;
}
