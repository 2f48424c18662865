/* The texts of the sample cohort: per-slice captions in SGSeg's QaTa wording (image
 * convention, the words the model is trained on) and the study report in clinical prose
 * (patient convention, what a radiologist writes into an SR). Both are generated from the
 * known zones of the lesions drawn, never from a mask analysis. */
#include "sample-data/sample.h"

#include <stdio.h>
#include <string.h>

static const char *count_word(int n)
{
    static const char *words[] = {"no", "one", "two", "three", "four", "five", "six"};
    return n >= 0 && n <= 6 ? words[n] : "many";
}

/* "upper middle left lung" for the three zones z3 of one side. */
static void side_phrase(const uint8_t z3[3], const char *side, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int level = 0; level < 3; level++)
        if (z3[level] && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s ", sample_level_name(level));
    if (n < cap)
        snprintf(out + n, cap - n, "%s lung", side);
}

void caption_of_zones(const uint8_t zones[6], char *out, size_t cap)
{
    int left = zones[0] | zones[1] | zones[2], right = zones[3] | zones[4] | zones[5];
    int n = 0;
    for (int i = 0; i < 6; i++)
        n += zones[i] != 0;
    if (n == 0) {
        snprintf(out, cap, "no pulmonary infection.");
        return;
    }
    char lp[64], rp[64];
    side_phrase(zones, "left", lp, sizeof lp);
    side_phrase(zones + 3, "right", rp, sizeof rp);
    if (left && right)
        snprintf(out, cap, "bilateral pulmonary infection, %s infected areas, %s and %s.", count_word(n), lp, rp);
    else
        snprintf(out, cap, "unilateral pulmonary infection, %s infected area%s, %s.", count_word(n),
                 n > 1 ? "s" : "", left ? lp : rp);
}

void report_of_zones(const uint8_t zones[6], char *out, size_t cap)
{
    /* Image left = patient right (axial slices displayed from the feet, IOP 1\0\0\0\1\0). */
    static const char *lobes[6] = {"right upper lobe", "right middle lobe", "right lower lobe",
                                   "left upper lobe", "lingula", "left lower lobe"};
    const char *found[6];
    int n = 0, right = 0, left = 0;
    for (int i = 0; i < 6; i++) {
        if (!zones[i])
            continue;
        found[n++] = lobes[i];
        right |= i < 3;
        left |= i >= 3;
    }
    if (n == 0) {
        snprintf(out, cap, "Findings: no pulmonary opacity; the lungs are clear. Impression: no pulmonary infection.");
        return;
    }
    char list[256];
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%sthe %s",
                                i == 0 ? "" : i == n - 1 ? " and " : ", ", found[i]);
    snprintf(out, cap, "Findings: ground-glass opacit%s in %s. Impression: %s pulmonary infection, %s.",
             n > 1 ? "ies" : "y", list, left && right ? "bilateral" : "unilateral",
             left && right ? "both lungs" : left ? "left lung" : "right lung");
}
