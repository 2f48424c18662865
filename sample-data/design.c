/* The cohort design: everything about a study that is decided before a pixel is drawn
 * (identities, dates, split, anatomy scale, lesions with their known zones), derived from
 * the seed only. Geometry is axial, 350 mm field of view, 10 mm slices. */
#include "sample-data/sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_OF_VIEW_MM 350.0
#define SLICE_MM 10.0

const char *sample_split_name(int split)
{
    static const char *names[] = {"train", "valid", "test"};
    return split >= 0 && split < 3 ? names[split] : "none";
}

const char *sample_level_name(int level)
{
    static const char *names[] = {"upper", "middle", "lower"};
    return level >= 0 && level < 3 ? names[level] : "none";
}

/* Gregorian date of a day count from 1970-01-01 (H. Hinnant's civil_from_days). */
static void date_of_days(long z, char out[9])
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    long y = yoe + era * 400 + (m <= 2);
    snprintf(out, 9, "%04ld%02ld%02ld", y % 10000, m, d);
}

void sample_slice_position(const sample_cohort *c, int k, double pos[3])
{
    /* Pixel centres are symmetric about x = y = 0; slice 0 is the most cranial (largest z). */
    pos[0] = -(c->size - 1) * 0.5 * c->pixel_mm;
    pos[1] = -(c->size - 1) * 0.5 * c->pixel_mm;
    pos[2] = (c->n_slices - 1 - k) * c->slice_mm - 300.0;
}

/* Python's round() for the positive, never-half values of H/3 and 0.4 H. */
static int round_half_even(double v)
{
    double f = floor(v), d = v - f;
    if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0))
        return (int)f + 1;
    return (int)f;
}

/* The lesion's centre and size for its level: inside its rows (see sample.h) and inside
 * the lung of its side. Image column fraction: patient right = image left half. */
static void lesion_place(const sample_cohort *c, sample_lesion *l, sample_rng *r)
{
    double lung_cx = l->side == SIDE_PATIENT_RIGHT ? 0.30 : 0.70;
    l->cx = lung_cx + sample_rng_range(r, -0.05, 0.05);
    l->rx = sample_rng_range(r, 0.055, 0.085);
    l->ry = sample_rng_range(r, 0.045, 0.070);
    double H = c->size;
    double top = (c->cut_upper - c->margin) / H, mid0 = (c->cut_upper + c->margin) / H;
    double mid1 = (c->cut_middle - c->margin) / H, low = (c->cut_middle + c->margin) / H;
    switch (l->level) {
    case LEVEL_UPPER:
        l->cy = top - sample_rng_range(r, 0.03, 0.06);
        break;
    case LEVEL_MIDDLE:   /* the middle band is only ~7 % of H: a wide, band-clipped opacity */
        l->cy = 0.5 * (mid0 + mid1);
        l->rx = sample_rng_range(r, 0.075, 0.10);
        l->ry = 0.06;
        break;
    default:
        l->cy = low + sample_rng_range(r, 0.06, 0.22);
        break;
    }
    /* Slices: 2..7 slices (clamped to the third) of the level's third. */
    int t0 = l->level * c->n_slices / 3, t1 = (l->level + 1) * c->n_slices / 3 - 1;
    int span = 2 + (int)(sample_rng_next(r) % 6);
    if (span > t1 - t0 + 1)
        span = t1 - t0 + 1;
    l->k0 = t0 + (int)(sample_rng_next(r) % (uint64_t)(t1 - t0 + 2 - span));
    l->k1 = l->k0 + span - 1;
    l->phase[0] = sample_rng_range(r, 0.0, 6.283185307179586);
    l->phase[1] = sample_rng_range(r, 0.0, 6.283185307179586);
    l->hu = sample_rng_range(r, -300.0, -150.0);
}

static void study_design(const sample_cohort *c, sample_study *s, int index)
{
    char what[64];
    sample_rng r;
    snprintf(what, sizeof what, "study %d", index);
    sample_rng_init(&r, c->seed, what);
    s->index = index;
    snprintf(s->name, sizeof s->name, "case%02d", index + 1);
    /* Split by study: the last sixth is test, the sixth before it valid (at least one each
     * from three studies on), the rest train. */
    int n_test = c->n_studies >= 3 ? (c->n_studies + 5) / 6 : 0;
    int n_valid = n_test;
    s->split = index >= c->n_studies - n_test ? SPLIT_TEST
               : index >= c->n_studies - n_test - n_valid ? SPLIT_VALID : SPLIT_TRAIN;
    snprintf(s->patient_name, sizeof s->patient_name, "Phantom^Case%02d", index + 1);
    snprintf(s->patient_id, sizeof s->patient_id, "C2S-%llu-%02d", (unsigned long long)(c->seed % 100000), index + 1);
    /* A phantom has no sex or birth date: "O" and empty (Type 2), as the SR writer has them. */
    snprintf(s->patient_sex, sizeof s->patient_sex, "O");
    s->birth_date[0] = '\0';
    /* Days from 1970-01-01: studies 2020-01-01 + 0..1499 days. */
    date_of_days(18262 + (long)(sample_rng_next(&r) % 1500), s->study_date);
    long t = (long)(sample_rng_next(&r) % 36000) + 28800;   /* 08:00:00 .. 17:59:59 */
    snprintf(s->study_time, sizeof s->study_time, "%02ld%02ld%02ld", t / 3600, t / 60 % 60, t % 60);
    snprintf(s->study_id, sizeof s->study_id, "%d", index + 1);
    snprintf(s->accession, sizeof s->accession, "ACC%06llu", (unsigned long long)(sample_hash(c->seed, what, 9) % 1000000));
    const char *kinds[] = {"study", "ct series", "frame of reference", "sr series", "sr instance"};
    char *uids[] = {s->study_uid, s->series_uid, s->frame_uid, s->sr_series_uid, s->sr_uid};
    for (int i = 0; i < 5; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s %s", what, kinds[i]);
        sample_uid(uids[i], c->seed, name);
    }
    s->body_scale = sample_rng_range(&r, 0.95, 1.05);
    s->lung_scale = sample_rng_range(&r, 0.97, 1.03);
    s->n_lesions = 1 + (int)(sample_rng_next(&r) % SAMPLE_MAX_LESIONS);
    for (int i = 0; i < s->n_lesions; i++) {
        sample_lesion *l = &s->lesions[i];
        l->side = (int)(sample_rng_next(&r) % 2);
        l->level = (int)(sample_rng_next(&r) % 3);
        lesion_place(c, l, &r);
    }
}

int sample_cohort_design(sample_cohort *c, uint64_t seed, int n_studies, int size, int n_slices, c2_err *e)
{
    memset(c, 0, sizeof *c);
    if (n_studies < 1 || n_studies > 10000)
        return c2_fail(e, C2_EINVAL, "--studies must be 1..10000 (got %d)", n_studies);
    if (size < 64 || size > 1024)
        return c2_fail(e, C2_EINVAL, "--size must be 64..1024 (got %d)", size);
    if (n_slices < 6 || n_slices > 512)
        return c2_fail(e, C2_EINVAL, "--slices must be 6..512 (got %d)", n_slices);
    c->seed = seed;
    c->n_studies = n_studies;
    c->size = size;
    c->n_slices = n_slices;
    c->pixel_mm = FIELD_OF_VIEW_MM / size;
    c->slice_mm = SLICE_MM;
    c->cut_upper = round_half_even(size / 3.0);
    c->cut_middle = round_half_even(0.4 * size);
    c->margin = size / 128 > 1 ? size / 128 : 1;
    c->studies = calloc((size_t)n_studies, sizeof *c->studies);
    if (!c->studies)
        return c2_fail(e, C2_ENOMEM, "out of memory for %d studies", n_studies);
    for (int i = 0; i < n_studies; i++)
        study_design(c, &c->studies[i], i);
    return C2_OK;
}

void sample_cohort_free(sample_cohort *c)
{
    free(c->studies);
    c->studies = NULL;
}
