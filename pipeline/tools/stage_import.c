/* `c2seg import-torch <dump dir> -o model.ckpt [--params-from DIR]`: turns a dump of the
 * PyTorch reference (manifest.json + tensors.bin, state_dict names) into a c2seg
 * checkpoint, so weights trained in PyTorch can be used by every other stage. */
#include "pipeline/pipeline.h"
#include "train/train.h"

#include <cjson/cJSON.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: c2seg import-torch <dump dir> -o model.ckpt [--params-from DIR]\n"
                    "  Reads param.* (state_dict names) of a reference dump and writes an HDF5 checkpoint.\n"
                    "  --params-from DIR  take the parameters from another dump with the same params_sha256\n"
                    "                     (train dumps carry none; their eval twin does)\n");
}

int stage_import(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *pdir = NULL;
    int npos = 0;
    const cli_option opts[] = {CLI_OPT_TEXT("output", 'o', &out, "FILE"), CLI_OPT_TEXT("params-from", 0, &pdir, "DIR"),
                               CLI_OPT_END};
    int ex = cli_parse(argc, argv, opts, &dir, 1, &npos, usage);
    if (ex)
        return ex < 0 ? EXIT_OK : ex;
    if ((ex = cli_require(dir, "the reference dump folder")) || (ex = cli_require(out, "-o FILE (the checkpoint to write)")))
        return ex;
    torch_dump d = {0}, p = {0};
    c2seg_model m = {0};
    c2_err e = {0};
    int rc = torch_dump_load(&d, dir, &e);
    if (rc == C2_OK && pdir)
        rc = torch_dump_load(&p, pdir, &e);
    if (rc == C2_OK)
        rc = torch_import_model(&m, &d, dir, pdir ? &p : &d, pdir ? pdir : dir, &e);
    if (rc == C2_OK) {
        checkpoint_meta meta;
        checkpoint_meta_default(&meta, &m.cfg);
        rc = checkpoint_save(out, &m, &meta, NULL, &e);
    }
    if (rc != C2_OK) {
        cli_error("%s", e.msg);
    } else {
        cli_log("%s: %s / %s, %zu parameters (%zu without the stage-I heads) -> %s", dir, m.cfg.preset,
                c2seg_fusion_name(m.cfg.fusion), c2seg_count_params(&m), c2seg_count_seg_params(&m), out);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "checkpoint", out);
        cJSON_AddStringToObject(o, "preset", m.cfg.preset);
        cJSON_AddStringToObject(o, "fusion", c2seg_fusion_name(m.cfg.fusion));
        cJSON_AddNumberToObject(o, "params", (double)c2seg_count_params(&m));
        cJSON_AddNumberToObject(o, "params_seg", (double)c2seg_count_seg_params(&m));
        cJSON_AddNumberToObject(o, "tensors", m.n_tensors);
        cli_print_json(o);
    }
    c2seg_model_free(&m);
    torch_dump_free(&d);
    if (pdir)
        torch_dump_free(&p);
    return rc == C2_OK ? EXIT_OK : EXIT_FAILED;
}
