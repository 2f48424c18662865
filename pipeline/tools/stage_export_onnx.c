/* `c2seg export-onnx MODEL.ckpt -o model.onnx`: a trained checkpoint as an ONNX graph of
 * standard operators (opset 17, dynamic batch; pipeline/tools/onnx.h), for ONNX Runtime,
 * TensorRT or another runtime. Inputs: image float32 [B,1,S,S] (preprocessed as the
 * checkpoint's `preprocess` says), tokens float32 [B,24,512] and mask int32 [B,24] (the
 * text encoder's output); output: logits [B,1,S,S] (mask = logits > 0).
 *
 * Hidden, for tests/io/test_export_onnx.sh: --logits-for PREFIX reads PREFIX.image.f32
 * (float32 [B,1,S,S]) and PREFIX.captions.txt (B lines), and writes the text encoder's
 * PREFIX.tokens.f32 / PREFIX.mask.i32 and c2seg's own eval forward PREFIX.logits.f32. */
#include "pipeline/pipeline.h"
#include "pipeline/tools/onnx.h"
#include "model/model.h"
#include "train/train.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: c2seg export-onnx MODEL.ckpt -o MODEL.onnx\n"
            "  Writes the checkpoint's segmentation network as an ONNX graph (opset 17, standard operators,\n"
            "  dynamic batch). Inputs: image float32 [B,1,S,S] (preprocessed as the checkpoint says),\n"
            "  tokens float32 [B,24,512] and mask int32 [B,24] (hash-text-512); output: logits [B,1,S,S].\n");
}

/* c2seg's own eval logits for PREFIX.image.f32 + PREFIX.captions.txt (see the header). */
static int logits_for(c2seg_model *m, const char *prefix, c2_err *e)
{
    char path[4096];
    uint8_t *img = NULL, *txt = NULL;
    size_t nimg = 0, ntxt = 0, plane = (size_t)m->cfg.img * m->cfg.img * sizeof(float);
    snprintf(path, sizeof path, "%s.image.f32", prefix);
    int rc = c2_read_file(path, (size_t)1 << 30, &img, &nimg, e);
    if (rc == C2_OK && (nimg == 0 || nimg % plane))
        rc = c2_fail(e, C2_EINVAL, "%s: %zu bytes is not a whole number of %dx%d float32 images", path, nimg,
                     m->cfg.img, m->cfg.img);
    snprintf(path, sizeof path, "%s.captions.txt", prefix);
    if (rc == C2_OK)
        rc = c2_read_file(path, (size_t)1 << 24, &txt, &ntxt, e);
    int B = (int)(nimg / plane), N = m->cfg.ntok, Ct = m->cfg.ct;
    float *tok = NULL, pooled[TEXT_DIM];
    int32_t *mask = NULL;
    if (rc == C2_OK) {
        tok = calloc((size_t)B * N * Ct, sizeof(float));
        mask = calloc((size_t)B * N, sizeof(int32_t));
        char *s = realloc(txt, ntxt + 1);
        if (!tok || !mask || !s)
            rc = c2_fail(e, C2_ENOMEM, "out of memory for %d captions", B);
        else
            txt = (uint8_t *)s, txt[ntxt] = 0;
    }
    char *line = (char *)txt;
    for (int b = 0; rc == C2_OK && b < B; b++) {
        if (!line || !*line) {
            rc = c2_fail(e, C2_EINVAL, "%s: fewer than %d caption lines", path, B);
            break;
        }
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        int n = hash_text_encode(line, tok + (size_t)b * N * Ct, mask + (size_t)b * N, pooled);
        if (n < 0)
            rc = c2_fail(e, n, "%s: caption %d cannot be encoded", path, b + 1);
        line = nl ? nl + 1 : NULL;
    }
    c2seg_workspace w = {0};
    if (rc == C2_OK)
        rc = c2seg_workspace_create(&w, m, B, e);
    if (rc == C2_OK) {
        c2seg_forward(m, &w, (const float *)img, tok, mask, B, 0);
        snprintf(path, sizeof path, "%s.tokens.f32", prefix);
        rc = c2_write_file(path, tok, (size_t)B * N * Ct * sizeof(float), e);
        snprintf(path, sizeof path, "%s.mask.i32", prefix);
        if (rc == C2_OK)
            rc = c2_write_file(path, mask, (size_t)B * N * sizeof(int32_t), e);
        snprintf(path, sizeof path, "%s.logits.f32", prefix);
        if (rc == C2_OK)
            rc = c2_write_file(path, w.acts.logits, nimg, e);
        c2seg_workspace_free(&w);
    }
    free(img), free(txt), free(tok), free(mask);
    return rc;
}

int stage_export_onnx(int argc, char **argv)
{
    const char *ckpt = NULL, *out = NULL, *prefix = NULL;
    int npos = 0;
    const cli_option opts[] = {CLI_OPT_TEXT("output", 'o', &out, "FILE"),
                               CLI_OPT_TEXT("logits-for", 0, &prefix, "PREFIX"), CLI_OPT_END};
    int ex = cli_parse(argc, argv, opts, &ckpt, 1, &npos, usage);
    if (ex)
        return ex < 0 ? EXIT_OK : ex;
    if ((ex = cli_require(ckpt, "MODEL.ckpt")))
        return ex;
    if (!out && !prefix)
        return cli_usage_error("-o MODEL.onnx (the ONNX file to write) is required");
    c2seg_model m = {0};
    checkpoint_meta meta;
    c2_err e = {0};
    onnx_graph g;
    onnx_graph_init(&g);
    double t0 = now_seconds();
    int rc = checkpoint_load(ckpt, &m, &meta, NULL, &e);
    if (rc == C2_OK && prefix)
        rc = logits_for(&m, prefix, &e);
    if (rc == C2_OK && out) {
        char doc[256];
        snprintf(doc, sizeof doc, "C2Seg %s / %s from %s; inputs preprocessed as: %s, %d px, mean %g std %g",
                 m.cfg.preset, c2seg_fusion_name(m.cfg.fusion), c2_basename(ckpt), meta.preprocess.intensity_domain,
                 meta.preprocess.size, meta.preprocess.mean, meta.preprocess.std);
        rc = onnx_c2seg_graph(&g, &m, &e);
        if (rc == C2_OK)
            rc = onnx_model_write(&g, out, doc, &e);
    }
    if (rc != C2_OK) {
        cli_error("%s: %s", ckpt, e.msg);
    } else if (out) {
        cli_log("%s: %s / %s -> %s (%.1f MB)", ckpt, m.cfg.preset, c2seg_fusion_name(m.cfg.fusion), out,
                g.body.n / 1e6);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "stage", "export-onnx");
        cJSON_AddStringToObject(o, "checkpoint", ckpt);
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "preset", m.cfg.preset);
        cJSON_AddStringToObject(o, "fusion", c2seg_fusion_name(m.cfg.fusion));
        cJSON_AddNumberToObject(o, "opset", 17);
        cJSON_AddNumberToObject(o, "image_size", m.cfg.img);
        cJSON_AddNumberToObject(o, "seconds", now_seconds() - t0);
        cli_print_json(o);
    }
    onnx_graph_free(&g);
    c2seg_model_free(&m);
    return rc == C2_OK ? EXIT_OK : rc == C2_EINVAL && !out ? EXIT_USAGE : EXIT_FAILED;
}
