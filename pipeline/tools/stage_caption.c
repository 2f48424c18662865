/* `c2seg caption`: the clinical-text parser and the caption generator on the command line.
 *   caption parse <file|-> [--convention image|patient]
 *                                    one JSON object per caption (attributes, status, problems;
 *                                    report prose also its prose record with evidence spans)
 *   caption from-mask <masks...> --convention image|patient [--size N]
 *                                    a derived caption per mask from its zones */
#include "dicom-sr/dicom_sr.h"
#include "pipeline/pipeline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg caption parse <file|-> [--convention image|patient]\n"
               "       c2seg caption from-mask <mask files...> --convention image|patient [--size N]\n\n"
               "parse: reads a CSV with a Description column, an LViT xlsx, an SGSeg annotation.json\n"
               "  or one caption per line ('-' = stdin) and prints one JSON object per caption.\n"
               "  The kind of input comes from the file name (.json .csv .tsv .xlsx .txt), then from\n"
               "  the content (zip signature, a whole-file JSON document, an Image,Description header\n"
               "  line, else plain lines): a plain line starting with '{' stays a line. Templated\n"
               "  captions take the template grammar, other text the report-prose parser (its record\n"
               "  and evidence spans under \"prose\").\n"
               "  --convention: which left the text means; default from the source: the public caption\n"
               "  tables (json, csv, xlsx) image, plain lines (report prose, SR text) patient.\n"
               "from-mask: zones of each mask (docs/consistency.md) -> a caption marked derived.\n"
               "  --convention image: the caption's left is the image's left half (QaTa captions);\n"
               "  patient: the patient's left, shown on the image's right half (PA / AP chest, axial LPS).\n"
               "  --size N resizes the mask to NxN (nearest) first, as the small preset (128) does.\n");
}

/* stdin into a temporary file, so every format goes through caption_table_load. */
static int stdin_to_file(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/c2seg-caption-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    char buf[65536];
    size_t n;
    int ok = 1;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        ok &= write(fd, buf, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

/* argv[0] is the subcommand. */
static int caption_parse_cmd(int argc, char **argv)
{
    const char *path = NULL;
    const char *convention = NULL;
    int npos = 0;
    const cli_option opts[] = {CLI_OPT_CHOICE("convention", &convention, "image|patient"), CLI_OPT_END};
    int ex = cli_parse(argc, argv, opts, &path, 1, &npos, usage);
    if (ex)
        return ex < 0 ? EXIT_OK : ex;
    if ((ex = cli_require(path, "the caption file ('-' for stdin)")))
        return ex;
    int conv = !convention ? -1 : strcmp(convention, "patient") == 0 ? CONV_PATIENT : CONV_IMAGE;
    char tmp[64] = "";
    if (strcmp(path, "-") == 0) {
        if (stdin_to_file(tmp, sizeof tmp) != 0) {
            cli_error("cannot buffer stdin");
            return EXIT_FAILED;
        }
        path = tmp;
    }
    caption_table *t;
    c2_err e = {0};
    int rc = caption_table_load(path, NULL, &t, &e);
    if (tmp[0])
        unlink(tmp);
    if (rc != C2_OK) {
        cli_error("%s", e.msg);
        return EXIT_FAILED;
    }
    /* public caption tables: the image's left; plain lines are report prose: the patient's */
    lr_convention use = conv >= 0 ? (lr_convention)conv : t->format == CAPTIONS_LINES ? CONV_PATIENT : t->convention;
    const char *source = conv >= 0 ? "--convention" : t->format == CAPTIONS_LINES ? "default: plain lines are report prose"
                                                                                   : "default: public caption table";
    int counts[4] = {0}, n_prose = 0;
    for (int i = 0; i < t->n; i++) {
        caption_attrs a;
        prose_attrs p;
        int prose = caption_parse_full(t->rows[i].caption, use, &a, &p);
        n_prose += prose;
        counts[a.status]++;
        cJSON *o = cJSON_CreateObject();
        if (t->rows[i].file[0])
            cJSON_AddStringToObject(o, "file", t->rows[i].file);
        if (t->rows[i].split[0])
            cJSON_AddStringToObject(o, "split", t->rows[i].split);
        cJSON_AddStringToObject(o, "text", t->rows[i].caption);
        cJSON_AddItemToObject(o, "attributes", caption_attrs_json(&a));
        cJSON_AddStringToObject(o, "convention", convention_name(use));
        cJSON_AddStringToObject(o, "convention_source", source);
        if (prose)
            cJSON_AddItemToObject(o, "prose", prose_attrs_json(&p, t->rows[i].caption));
        if (t->rows[i].has_pseudo) {
            int z[ZONE_COUNT];
            for (int k = 0; k < ZONE_COUNT; k++)
                z[k] = t->rows[i].pseudo[k];
            cJSON_AddItemToObject(o, "pseudo_label", cJSON_CreateIntArray(z, ZONE_COUNT));
            cJSON_AddBoolToObject(o, "zones_equal_pseudo_label", memcmp(a.zones, t->rows[i].pseudo, ZONE_COUNT) == 0);
        }
        cli_print_json(o);
    }
    cli_log("%d captions from %s (%s, convention %s): %d ok, %d contradiction, %d partial, %d unparsed; %d as report "
            "prose",
            t->n, strcmp(path, tmp) == 0 ? "stdin" : path, caption_format_name(t->format), convention_name(use),
            counts[CAPTION_OK], counts[CAPTION_CONTRADICTION], counts[CAPTION_PARTIAL], counts[CAPTION_UNPARSED],
            n_prose);
    caption_table_free(t);
    return EXIT_OK;
}

/* argv[0] is the subcommand. */
static int caption_from_mask_cmd(int argc, char **argv)
{
    int size = 0, nfiles = 0;
    const char *convention = NULL;
    const char **files = calloc(argc > 0 ? argc : 1, sizeof *files);
    if (!files)
        return EXIT_FAILED;
    const cli_option opts[] = {CLI_OPT_CHOICE("convention", &convention, "image|patient"),
                               CLI_OPT_INT("size", &size, "N", 1, 65535), CLI_OPT_END};
    int ex = cli_parse(argc, argv, opts, files, argc, &nfiles, usage);
    if (!ex && !(ex = cli_require(convention, "--convention image|patient")) && nfiles == 0)
        ex = cli_usage_error("no mask file given");
    if (ex) {
        free(files);
        return ex < 0 ? EXIT_OK : ex;
    }
    int conv = strcmp(convention, "patient") == 0 ? CONV_PATIENT : CONV_IMAGE;
    zone_rule rule = zone_rule_default();
    rule.left_half = conv == CONV_PATIENT ? HALF_IMAGE_RIGHT : HALF_IMAGE_LEFT;
    int failed = 0;
    for (int i = 0; i < nfiles; i++) {
        uint8_t *m;
        int H, W;
        c2_err e = {0};
        mask_zones z;
        if (mask_read_binary(files[i], size, &m, &H, &W, &e) != C2_OK ||
            mask_zones_compute(m, H, W, NULL, &rule, &z, &e) != C2_OK) {
            if (e.msg[0] && !strstr(e.msg, files[i]))
                c2_err_prefix(&e, "%s", files[i]);
            cli_error("%s", e.msg);
            free(m);
            failed++;
            continue;
        }
        free(m);
        caption_attrs a;
        caption_attrs_from_zones(&z, (lr_convention)conv, &a);
        char text[256];
        caption_generate(&a, text, sizeof text);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", files[i]);
        cJSON_AddStringToObject(o, "caption", text);
        cJSON_AddBoolToObject(o, "derived", 1);
        cJSON_AddStringToObject(o, "convention", convention_name((lr_convention)conv));
        cJSON_AddNumberToObject(o, "rows", H);
        cJSON_AddNumberToObject(o, "cols", W);
        cJSON_AddNumberToObject(o, "components", z.n_components);
        cJSON_AddItemToObject(o, "attributes", caption_attrs_json(&a));
        cli_print_json(o);
        mask_zones_free(&z);
    }
    free(files);
    return failed == 0 ? EXIT_OK : failed < nfiles ? EXIT_PARTIAL : EXIT_FAILED;
}

int stage_caption(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc < 2)
        return cli_usage_error("a subcommand is required (parse, from-mask)");
    if (strcmp(argv[1], "parse") == 0)
        return caption_parse_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "from-mask") == 0)
        return caption_from_mask_cmd(argc - 1, argv + 1);
    return cli_usage_error("unknown subcommand '%s' (parse, from-mask)", argv[1]);
}
