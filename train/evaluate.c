/* Evaluation of a split: prediction, METHOD.md §7 metrics, consistency and the quality
 * gate (dicom-sr/quality_gate.h: "inconsistent" as a detector of Dice < gate_dice). The
 * consistency records come from dicom-sr/consistency.c, the module the prediction
 * report uses too, so `c2seg eval` and `c2seg report` count the same way. */
#include "train/evaluate.h"

#include "dicom-sr/consistency.h"
#include "dicom-sr/quality_gate.h"
#include "train/fit.h"
#include "train/metrics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('"', f);
}

/* Adds the Dice sums of n images at probability thresholds 0.05 .. 0.95 (step 0.05) to
 * sum[19]; bin is scratch [n * px]. */
#define CURVE_POINTS 19
static void dice_curve_add(const cache *c, const int64_t *idx, int64_t n, const float *prob, uint8_t *bin,
                           double sum[CURVE_POINTS])
{
    size_t px = (size_t)c->size * c->size;
    for (int k = 0; k < CURVE_POINTS; k++) {
        float t = 0.05f * (float)(k + 1);
        for (size_t p = 0; p < (size_t)n * px; p++)
            bin[p] = prob[p] > t;
        double dice, iou;
        fit_dice_iou(c, idx, n, bin, &dice, &iou);
        sum[k] += dice * (double)n;
    }
}

int evaluate_split(c2seg_model *m, const cache *c, const int64_t *idx, int64_t n, int batch, double threshold,
                   double gate_dice, const char *csv_path, cJSON **summary, c2_err *e)
{
    *summary = NULL;
    if (!(threshold > 0 && threshold < 1))
        return c2_fail(e, C2_EINVAL, "the threshold %g is not a probability strictly between 0 and 1", threshold);
    /* predictions of the whole split (1 byte a pixel); probabilities a chunk at a time */
    enum { CHUNK = 64 };
    size_t px = (size_t)c->size * c->size;
    uint8_t *pred = malloc((size_t)(n ? n : 1) * px), *bin = malloc(CHUNK * px);
    float *prob = malloc(CHUNK * px * sizeof *prob);
    if (!pred || !bin || !prob) {
        free(pred);
        free(bin);
        free(prob);
        return c2_fail(e, C2_ENOMEM, "out of memory for %lld predictions", (long long)n);
    }
    double curve[CURVE_POINTS] = {0};
    int rc = C2_OK;
    for (int64_t s = 0; s < n && !rc; s += CHUNK) {
        int64_t k = n - s < CHUNK ? n - s : CHUNK;
        uint8_t *out = pred + (size_t)s * px;
        if ((rc = fit_predict(m, c, idx + s, k, batch, out, prob, e)))
            break;
        dice_curve_add(c, idx + s, k, prob, bin, curve);
        if (threshold != 0.5) /* 0.5 keeps logits > 0: bit for bit training's validation */
            for (size_t p = 0; p < (size_t)k * px; p++)
                out[p] = prob[p] > (float)threshold;
    }
    free(bin);
    free(prob);
    if (rc) {
        free(pred);
        return rc;
    }
    c2_atomic out;
    if ((rc = c2_atomic_open(&out, csv_path, e))) {
        free(pred);
        return rc;
    }
    fprintf(out.f, "index,file,caption,convention,dice,iou,hd95_px,hd95_mm,text_laterality,pred_laterality,"
                   "gt_laterality,text_zones,pred_zones,gt_zones,pred_zone_exact,gt_zone_exact,pred_consistent\n");
    consistency_cohort pred_text, gt_text;
    consistency_cohort_init(&pred_text);
    consistency_cohort_init(&gt_text);
    quality_gate gate;
    quality_gate_init(&gate, gate_dice);
    double sum_d = 0, sum_i = 0, sum_h = 0, sum_hmm = 0, pg_zone_exact = 0, pg_lat_exact = 0;
    int64_t n_mm = 0, n_text = 0;
    for (int64_t k = 0; k < n && !rc; k++) {
        const cache_sample *s = &c->samples[idx[k]];
        const uint8_t *p = pred + (size_t)k * px, *g = c->masks + (size_t)idx[k] * px;
        double sy, sx;
        cache_sample_spacing(s, &sy, &sx);
        seg_metrics mt;
        if ((rc = metrics_image(&mt, p, g, c->size, c->size, sy, sx, e)))
            break;
        sum_d += mt.dice;
        sum_i += mt.iou;
        sum_h += mt.hd95_px;
        if (isfinite(mt.hd95_mm)) {
            sum_hmm += mt.hd95_mm;
            n_mm++;
        }
        zone_rule rule = zone_rule_default();
        rule.left_half = cache_sample_left_is_image_right(s) ? HALF_IMAGE_RIGHT : HALF_IMAGE_LEFT;
        mask_zones zp, zg;
        if ((rc = mask_zones_compute(p, c->size, c->size, NULL, &rule, &zp, e)))
            break;
        if ((rc = mask_zones_compute(g, c->size, c->size, NULL, &rule, &zg, e))) {
            mask_zones_free(&zp);
            break;
        }
        pg_zone_exact += memcmp(zp.zones, zg.zones, ZONE_COUNT) == 0;
        pg_lat_exact += zp.lat == zg.lat;
        char tz[8] = "", pz[8], gz[8];
        for (int z = 0; z < ZONE_COUNT; z++) {
            pz[z] = (char)('0' + zp.zones[z]);
            gz[z] = (char)('0' + zg.zones[z]);
        }
        pz[ZONE_COUNT] = gz[ZONE_COUNT] = 0;
        const char *tl = "", *pl = laterality_name(zp.lat), *gl = laterality_name(zg.lat);
        int pze = -1, gze = -1, pcons = -1;
        if (s->caption && s->caption[0]) {
            lr_convention conv = s->text_convention && strcmp(s->text_convention, "patient") == 0 ? CONV_PATIENT
                                                                                                   : CONV_IMAGE;
            caption_attrs ta;
            caption_parse(s->caption, conv, &ta);
            consistency_record rp, rg;
            consistency_compare(&rp, s->file ? s->file : "", &ta, &zp, mt.dice);
            consistency_compare(&rg, s->file ? s->file : "", &ta, &zg, -1);
            consistency_cohort_add(&pred_text, &rp);
            consistency_cohort_add(&gt_text, &rg);
            for (int z = 0; z < ZONE_COUNT; z++)
                tz[z] = (char)('0' + ta.zones[z]);
            tz[ZONE_COUNT] = 0;
            tl = laterality_name(ta.lat);
            pze = rp.zone_exact;
            gze = rg.zone_exact;
            pcons = rp.consistent;
            quality_gate_add(&gate, rp.consistent, mt.dice);
            consistency_record_free(&rp);
            consistency_record_free(&rg);
            n_text++;
        }
        mask_zones_free(&zp);
        mask_zones_free(&zg);
        fprintf(out.f, "%lld,", (long long)idx[k]);
        csv_field(out.f, s->file);
        fputc(',', out.f);
        csv_field(out.f, s->caption);
        fprintf(out.f, ",%s,%.6f,%.6f,%.4f,", s->text_convention ? s->text_convention : "", mt.dice, mt.iou,
                mt.hd95_px);
        if (isfinite(mt.hd95_mm))
            fprintf(out.f, "%.4f", mt.hd95_mm);
        fprintf(out.f, ",%s,%s,%s,%s,%s,%s,%d,%d,%d\n", tl, pl, gl, tz, pz, gz, pze, gze, pcons);
    }
    free(pred);
    if (rc) {
        c2_atomic_abort(&out);
        return rc;
    }
    if ((rc = c2_atomic_commit(&out, e)))
        return rc;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "n", (double)n);
    cJSON_AddNumberToObject(j, "dice", n ? sum_d / n : 0);
    cJSON_AddNumberToObject(j, "iou", n ? sum_i / n : 0);
    cJSON_AddNumberToObject(j, "hd95_px", n ? sum_h / n : 0);
    if (n_mm)
        cJSON_AddNumberToObject(j, "hd95_mm", sum_hmm / n_mm);
    else
        cJSON_AddNullToObject(j, "hd95_mm");
    cJSON_AddNumberToObject(j, "n_with_text", (double)n_text);
    cJSON_AddItemToObject(j, "consistency_pred_vs_text", consistency_cohort_json(&pred_text));
    cJSON_AddItemToObject(j, "consistency_gt_vs_text", consistency_cohort_json(&gt_text));
    cJSON_AddItemToObject(j, "quality_gate", quality_gate_json(&gate));
    cJSON *pg = cJSON_AddObjectToObject(j, "pred_vs_gt");
    cJSON_AddNumberToObject(pg, "zone_exact", n ? pg_zone_exact / n : 0);
    cJSON_AddNumberToObject(pg, "laterality_exact", n ? pg_lat_exact / n : 0);
    cJSON_AddNumberToObject(j, "threshold", threshold);
    cJSON *curve_j = cJSON_AddArrayToObject(j, "dice_by_threshold");
    for (int k = 0; k < CURVE_POINTS; k++) {
        cJSON *pt = cJSON_CreateObject();
        cJSON_AddNumberToObject(pt, "threshold", 0.05 * (k + 1));
        cJSON_AddNumberToObject(pt, "dice", n ? curve[k] / (double)n : 0);
        cJSON_AddItemToArray(curve_j, pt);
    }
    cJSON_AddStringToObject(j, "per_case_csv", csv_path);
    *summary = j;
    return C2_OK;
}
