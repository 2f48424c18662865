/* consistency: one case's text-mask agreement record (METHOD.md §7) and the cohort
 * accumulator of its rates, with their JSON form. Same definitions as c2seg_ref.py
 * consistency(): laterality of the mask's zones vs the text's, zone vectors equal,
 * zone Jaccard, stated count vs zone count and vs component count. */
#include "dicom-sr/consistency.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void consistency_compare(consistency_record *r, const char *case_id, const caption_attrs *text, mask_zones *z,
                         double dice)
{
    memset(r, 0, sizeof *r);
    snprintf(r->case_id, sizeof r->case_id, "%s", case_id ? case_id : "");
    r->text = *text;
    r->mask = *z;
    memset(z, 0, sizeof *z);   /* the record owns the components now */
    r->laterality_exact = r->mask.lat == text->lat;
    r->zone_exact = memcmp(r->mask.zones, text->zones, ZONE_COUNT) == 0;
    r->zone_jaccard = zones_jaccard(r->mask.zones, text->zones);
    r->count_exact_zones = text->count >= 0 && r->mask.n_zones == text->count;
    r->count_exact_components = text->count >= 0 && r->mask.n_components == text->count;
    r->consistent = r->laterality_exact && r->zone_exact;
    r->dice = dice;
}

int consistency_evaluate(consistency_record *r, const char *case_id, const char *caption, lr_convention conv,
                         const uint8_t *mask, int H, int W, const uint8_t *lung, const zone_rule *rule, double dice,
                         c2_err *e)
{
    caption_attrs a;
    caption_parse(caption, conv, &a);
    mask_zones z;
    int rc = mask_zones_compute(mask, H, W, lung, rule, &z, e);
    if (rc != C2_OK)
        return rc;
    consistency_compare(r, case_id, &a, &z, dice);
    return C2_OK;
}

void consistency_record_free(consistency_record *r) { mask_zones_free(&r->mask); }

static cJSON *zones_json(const uint8_t z[ZONE_COUNT])
{
    int v[ZONE_COUNT];
    for (int k = 0; k < ZONE_COUNT; k++)
        v[k] = z[k];
    return cJSON_CreateIntArray(v, ZONE_COUNT);
}

cJSON *consistency_record_json(const consistency_record *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "case", r->case_id);
    cJSON_AddItemToObject(o, "text", caption_attrs_json(&r->text));
    cJSON *m = cJSON_AddObjectToObject(o, "mask");
    cJSON_AddStringToObject(m, "laterality", laterality_name(r->mask.lat));
    cJSON_AddItemToObject(m, "zones", zones_json(r->mask.zones));
    cJSON_AddNumberToObject(m, "n_zones", r->mask.n_zones);
    cJSON_AddItemToObject(m, "runs", cJSON_CreateIntArray(r->mask.runs, 2));
    cJSON_AddNumberToObject(m, "foreground_px", (double)r->mask.fg);
    cJSON_AddNumberToObject(m, "n_components", r->mask.n_components);
    cJSON *cs = cJSON_AddArrayToObject(m, "components");
    for (int k = 0; k < r->mask.n_components_all; k++) {
        const mask_component *c = &r->mask.components[k];
        cJSON *co = cJSON_CreateObject();
        cJSON_AddNumberToObject(co, "area", (double)c->area);
        int box[4] = {c->x0, c->y0, c->x1, c->y1};
        cJSON_AddItemToObject(co, "box", cJSON_CreateIntArray(box, 4));
        cJSON_AddNumberToObject(co, "cx", c->cx);
        cJSON_AddNumberToObject(co, "cy", c->cy);
        cJSON_AddItemToArray(cs, co);
    }
    cJSON *a = cJSON_AddObjectToObject(o, "agreement");
    cJSON_AddBoolToObject(a, "laterality_exact", r->laterality_exact);
    cJSON_AddBoolToObject(a, "zone_exact", r->zone_exact);
    cJSON_AddNumberToObject(a, "zone_jaccard", r->zone_jaccard);
    cJSON_AddBoolToObject(a, "count_exact_zones", r->count_exact_zones);
    cJSON_AddBoolToObject(a, "count_exact_components", r->count_exact_components);
    cJSON_AddBoolToObject(a, "consistent", r->consistent);
    if (r->dice >= 0)
        cJSON_AddNumberToObject(o, "dice", r->dice);
    else
        cJSON_AddNullToObject(o, "dice");
    return o;
}

void consistency_cohort_init(consistency_cohort *c) { memset(c, 0, sizeof *c); }

void consistency_cohort_add(consistency_cohort *c, const consistency_record *r)
{
    c->n++;
    c->laterality_exact += r->laterality_exact;
    c->zone_exact += r->zone_exact;
    c->zone_jaccard += r->zone_jaccard;
    c->count_exact_zones += r->count_exact_zones;
    c->count_exact_components += r->count_exact_components;
    if (r->consistent)
        c->n_consistent++;
    else
        c->n_inconsistent++;
    if (r->dice >= 0) {
        if (r->consistent) {
            c->n_dice_consistent++;
            c->dice_consistent += r->dice;
        } else {
            c->n_dice_inconsistent++;
            c->dice_inconsistent += r->dice;
        }
    }
}

static void add_mean(cJSON *o, const char *name, double sum, int64_t n)
{
    if (n > 0)
        cJSON_AddNumberToObject(o, name, sum / (double)n);
    else
        cJSON_AddNullToObject(o, name);
}

cJSON *consistency_cohort_json(const consistency_cohort *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "n", (double)c->n);
    add_mean(o, "laterality_exact", c->laterality_exact, c->n);
    add_mean(o, "zone_exact", c->zone_exact, c->n);
    add_mean(o, "zone_jaccard", c->zone_jaccard, c->n);
    add_mean(o, "count_exact_zones", c->count_exact_zones, c->n);
    add_mean(o, "count_exact_components", c->count_exact_components, c->n);
    cJSON_AddNumberToObject(o, "n_consistent", (double)c->n_consistent);
    cJSON_AddNumberToObject(o, "n_inconsistent", (double)c->n_inconsistent);
    add_mean(o, "dice_consistent", c->dice_consistent, c->n_dice_consistent);
    add_mean(o, "dice_inconsistent", c->dice_inconsistent, c->n_dice_inconsistent);
    return o;
}
