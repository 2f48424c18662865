/* dicom-sr/caption_parse: the hand-checked fixture tests/fixtures/captions.tsv (every
 * distinct SGSeg caption with its pseudo_label, plus marked hand-written typo /
 * contradiction / prose variants) and the canonical caption round trip. */
#include "dicom-sr/dicom_sr.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

static void fixture_captions_parse_as_expected(void)
{
    char path[4096];
    const char *src = getenv("C2SEG_SOURCE");
    snprintf(path, sizeof path, "%s/tests/fixtures/captions.tsv", src ? src : ".");
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "%s", path);
    if (!f)
        return;
    char line[1024];
    int n = 0, n_real = 0, header = 1;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (header) {
            header = 0;
            continue;
        }
        line[strcspn(line, "\r\n")] = 0;
        char *kind = strtok(line, "\t"), *cap = strtok(NULL, "\t"), *lat = strtok(NULL, "\t");
        char *count = strtok(NULL, "\t"), *zones = strtok(NULL, "\t"), *status = strtok(NULL, "\t");
        CHECK(kind && cap && lat && count && zones && status && strlen(zones) == 6);
        if (!(kind && cap && lat && count && zones && status && strlen(zones) == 6))
            continue;
        caption_attrs a;
        caption_parse(cap, CONV_IMAGE, &a);
        char got[7];
        for (int k = 0; k < 6; k++)
            got[k] = (char)('0' + a.zones[k]);
        got[6] = 0;
        CHECK_MSG(strcmp(laterality_name(a.lat), lat) == 0, "'%s': laterality %s, expected %s", cap,
                  laterality_name(a.lat), lat);
        CHECK_MSG(a.count == atoi(count), "'%s': count %d, expected %s", cap, a.count, count);
        CHECK_MSG(strcmp(got, zones) == 0, "'%s': zones %s, expected %s", cap, got, zones);
        CHECK_MSG(strcmp(caption_status_name(a.status), status) == 0, "'%s': status %s, expected %s (%s)", cap,
                  caption_status_name(a.status), status, a.n_problems ? a.problems[0] : "");
        if (strcmp(kind, "real") == 0) {
            char canon[256];
            caption_generate(&a, canon, sizeof canon);
            CHECK_MSG(strcmp(canon, cap) == 0, "canonical '%s' != '%s'", canon, cap);
            CHECK(a.n_problems == 0 && a.count_is_zones);
            n_real++;
        }
        n++;
    }
    fclose(f);
    CHECK_MSG(n >= 80 && n_real == 63, "%d captions, %d real", n, n_real);
}

static void typos_are_reported_not_fatal(void)
{
    caption_attrs a;
    caption_parse("unilateral pulmonary infection, one infected area, mmiddle left lung.", CONV_IMAGE, &a);
    CHECK(a.status == CAPTION_OK && a.n_problems == 1 && strstr(a.problems[0], "mmiddle"));
    caption_parse("There are three infected areas, upper middle lower left lung.", CONV_IMAGE, &a);
    CHECK(a.count == 3 && a.status == CAPTION_OK);
    caption_parse("bilateral pulmonary infection, ten infected areas, upper left lung and upper right lung.",
                  CONV_PATIENT, &a);
    CHECK(a.convention == CONV_PATIENT && a.count == -1 && a.n_problems >= 1);
    caption_parse(NULL, CONV_IMAGE, &a);
    CHECK(a.status == CAPTION_UNPARSED);
}

static void runs_and_generation(void)
{
    caption_attrs a;
    caption_parse("bilateral pulmonary infection, four infected areas, upper lower left lung and upper lower right lung.",
                  CONV_IMAGE, &a);
    CHECK(a.runs[0] == 2 && a.runs[1] == 2 && a.n_zones == 4);
    char text[256];
    caption_generate(&a, text, sizeof text);
    CHECK(strcmp(text, "bilateral pulmonary infection, four infected areas, upper lower left lung and upper lower "
                       "right lung.") == 0);
    caption_parse("Patchy opacity in the right lower lobe.", CONV_PATIENT, &a);
    caption_generate(&a, text, sizeof text);
    CHECK(strcmp(text, "unilateral pulmonary infection, one infected area, lower right lung.") == 0);
    memset(a.zones, 0, sizeof a.zones);
    caption_generate(&a, text, sizeof text);
    CHECK(strcmp(text, "no infection.") == 0);
}

int main(void)
{
    RUN_TEST(fixture_captions_parse_as_expected);
    RUN_TEST(typos_are_reported_not_fatal);
    RUN_TEST(runs_and_generation);
    return test_summary();
}
