/* quality_gate: precision and recall of the "inconsistent with the text" flag at catching
 * the cases whose Dice is below a threshold (see quality_gate.h). */
#include "dicom-sr/quality_gate.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void quality_gate_init(quality_gate *g, double dice_threshold)
{
    memset(g, 0, sizeof *g);
    g->dice_threshold = dice_threshold;
}

void quality_gate_add(quality_gate *g, int consistent, double dice)
{
    int poor = dice < g->dice_threshold;
    if (!consistent)
        poor ? g->tp++ : g->fp++;
    else
        poor ? g->fn++ : g->tn++;
}

static void ratio(cJSON *o, const char *name, int64_t num, int64_t den)
{
    if (den > 0)
        cJSON_AddNumberToObject(o, name, (double)num / (double)den);
    else
        cJSON_AddNullToObject(o, name);
}

cJSON *quality_gate_json(const quality_gate *g)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "dice_threshold", g->dice_threshold);
    cJSON_AddNumberToObject(o, "n", (double)(g->tp + g->fp + g->fn + g->tn));
    cJSON_AddNumberToObject(o, "n_poor", (double)(g->tp + g->fn));
    cJSON_AddNumberToObject(o, "n_flagged", (double)(g->tp + g->fp));
    cJSON_AddNumberToObject(o, "tp", (double)g->tp);
    cJSON_AddNumberToObject(o, "fp", (double)g->fp);
    cJSON_AddNumberToObject(o, "fn", (double)g->fn);
    cJSON_AddNumberToObject(o, "tn", (double)g->tn);
    ratio(o, "precision", g->tp, g->tp + g->fp);
    ratio(o, "recall", g->tp, g->tp + g->fn);
    return o;
}

int quality_gate_parse(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}
