/* A DICOM SEG as ground truth (io/seg.h): picking the lesion segment(s) of a SEG by
 * label, code or number, and placing its frames on the source series' slices by the
 * per-frame Referenced SOP Instance UID (Frame of Reference + plane position as the
 * fallback for frames without a reference). Nothing is guessed: a frame that lands on
 * no source slice fails the whole SEG with the reason. */
#include "io/seg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SNOMED CT codes that make a segment "lesion or infection" by default; the retired
 * SNOMED RT (SRT) forms that older SEGs (dcmqi) carry count as the same concepts. */
static const char *const LESION_TYPES[] = {"52988006" /* Lesion */, "M-01100" /* Lesion, SRT */,
                                           "40733004" /* Infectious disease */, "128601007" /* Infection */};
static const char *const LESION_CATEGORIES[] = {"49755003" /* Morphologically Altered Structure (CID 7150) */,
                                                "M-01000" /* the same, SRT */};

static int is_sct(const char *scheme)
{
    return strcmp(scheme, "SCT") == 0 || strcmp(scheme, "SRT") == 0; /* SRT: the retired SNOMED designator */
}

static int default_pick(const seg_segment_info *g)
{
    for (size_t i = 0; i < sizeof LESION_TYPES / sizeof *LESION_TYPES; i++)
        if (is_sct(g->type_scheme) && strcmp(g->type_code, LESION_TYPES[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof LESION_CATEGORIES / sizeof *LESION_CATEGORIES; i++)
        if (is_sct(g->category_scheme) && strcmp(g->category_code, LESION_CATEGORIES[i]) == 0)
            return 1;
    return 0;
}

static int all_digits(const char *t)
{
    if (!*t)
        return 0;
    for (; *t; t++)
        if (*t < '0' || *t > '9')
            return 0;
    return 1;
}

/* Marks the segments matching one term; returns how many matched. */
static int pick_term(const seg_image *s, const char *term, uint8_t *chosen)
{
    int n = 0;
    const char *colon = strchr(term, ':');
    if (all_digits(term)) {
        long v = strtol(term, NULL, 10);
        for (int i = 0; i < s->n_segments; i++)
            if (s->segments[i].number == v) {
                chosen[i] = 1;
                n++;
            }
        if (n)
            return n;
    }
    for (int i = 0; i < s->n_segments; i++) {
        const seg_segment_info *g = &s->segments[i];
        int hit;
        if (all_digits(term))
            hit = strcmp(g->type_code, term) == 0 || strcmp(g->category_code, term) == 0;
        else if (colon && colon > term && colon[1]) {
            char scheme[17];
            snprintf(scheme, sizeof scheme, "%.*s", (int)(colon - term), term);
            const char *code = colon + 1;
            int scheme_t = c2_strcasecmp_ascii(g->type_scheme, scheme) == 0;
            int scheme_c = c2_strcasecmp_ascii(g->category_scheme, scheme) == 0;
            if (c2_strcasecmp_ascii(scheme, "SCT") == 0) {
                scheme_t = is_sct(g->type_scheme);
                scheme_c = is_sct(g->category_scheme);
            }
            hit = (scheme_t && strcmp(g->type_code, code) == 0) || (scheme_c && strcmp(g->category_code, code) == 0);
        } else
            hit = c2_strcasecmp_ascii(g->label, term) == 0;
        if (hit) {
            chosen[i] = 1;
            n++;
        }
    }
    return n;
}

/* "1 \"Lesion\" (SCT 52988006), 2 ..." into buf */
static void describe_segments(const seg_image *s, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < s->n_segments && o + 1 < cap; i++) {
        const seg_segment_info *g = &s->segments[i];
        int w = snprintf(buf + o, cap - o, "%s%d \"%s\" (%s %s)", i ? ", " : "", g->number, g->label,
                         g->type_scheme[0] ? g->type_scheme : "no", g->type_code[0] ? g->type_code : "type code");
        if (w < 0)
            break;
        o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
    }
}

int seg_select_segments(const seg_image *s, const char *spec, uint8_t *chosen, c2_err *e)
{
    char have[512];
    memset(chosen, 0, (size_t)(s->n_segments > 0 ? s->n_segments : 0));
    describe_segments(s, have, sizeof have);
    if (s->n_segments < 1)
        return c2_fail(e, C2_ENOTFOUND, "%s: the SEG lists no segment", s->sop_instance);
    if (!spec || !*spec) {
        int n = 0;
        for (int i = 0; i < s->n_segments; i++)
            n += chosen[i] = (uint8_t)default_pick(&s->segments[i]);
        if (!n)
            return c2_fail(e, C2_ENOTFOUND,
                           "no segment coded as lesion or infection (segments: %s); pick one with --label", have);
        return C2_OK;
    }
    char buf[1024];
    if (strlen(spec) >= sizeof buf)
        return c2_fail(e, C2_EINVAL, "--label: longer than %zu characters", sizeof buf - 1);
    strcpy(buf, spec);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        size_t l = strlen(t);
        while (l > 0 && t[l - 1] == ' ')
            t[--l] = 0;
        if (!*t)
            continue;
        if (!pick_term(s, t, chosen))
            return c2_fail(e, C2_ENOTFOUND, "--label %s: no segment matches (segments: %s)", t, have);
    }
    return C2_OK;
}

/* Source slice of frame fr, or -1 (why says which rule failed). */
static int frame_slice(const seg_image *s, const seg_frame *fr, const seg_source *src, int *by_position,
                       char *why, size_t cap)
{
    *by_position = 0;
    if (fr->ref_sop_instance[0]) {
        for (int k = 0; k < src->n_slices; k++) {
            const seg_slice *sl = &src->slices[k];
            if (strcmp(sl->sop_instance, fr->ref_sop_instance) == 0 &&
                (fr->ref_frame == 0 ? sl->frame <= 1 : sl->frame == fr->ref_frame))
                return k;
        }
        snprintf(why, cap, "references instance %s%s%.0d that the source series does not hold",
                 fr->ref_sop_instance, fr->ref_frame ? " frame " : "", fr->ref_frame);
        return -1;
    }
    if (!fr->has_ipp || !s->for_uid[0] || strcmp(s->for_uid, src->for_uid) != 0) {
        snprintf(why, cap, "has no source reference%s", !fr->has_ipp ? " and no position"
                                                         : " and another Frame of Reference than the source");
        return -1;
    }
    int best = -1;
    double best_d = 0.05;
    for (int k = 0; k < src->n_slices; k++) {
        const double *p = src->slices[k].ipp;
        double d = sqrt((p[0] - fr->ipp[0]) * (p[0] - fr->ipp[0]) + (p[1] - fr->ipp[1]) * (p[1] - fr->ipp[1]) +
                        (p[2] - fr->ipp[2]) * (p[2] - fr->ipp[2]));
        if (src->slices[k].has_ipp && d <= best_d) {
            best = k;
            best_d = d;
        }
    }
    if (best < 0)
        snprintf(why, cap, "at (%.3f, %.3f, %.3f) mm lands on no source slice (none within 0.05 mm)", fr->ipp[0],
                 fr->ipp[1], fr->ipp[2]);
    *by_position = best >= 0;
    return best;
}

/* o[i] = 255 where px[i] is set, else kept: a binary frame merged as the loop of
 * seg_to_source_mask does (255 is the largest value). */
static void mask_merge_set(uint8_t *restrict o, const uint8_t *restrict px, size_t n)
{
    for (size_t i = 0; i < n; i++)
        o[i] |= (uint8_t)-(px[i] != 0);
}

int seg_to_source_mask(const seg_image *s, const uint8_t *chosen, const seg_source *src, uint8_t *out,
                       seg_map_info *info, c2_err *e)
{
    const size_t plane = (size_t)src->rows * (size_t)src->cols;
    seg_map_info local = {0};
    if (s->rows != src->rows || s->cols != src->cols)
        return c2_fail(e, C2_EMISMATCH, "SEG %s is %dx%d, its source series %s is %dx%d: not on the source grid",
                       s->sop_instance, s->cols, s->rows, src->series_uid, src->cols, src->rows);
    if (s->has_iop && src->has_iop)
        for (int i = 0; i < 6; i++)
            if (fabs(s->iop[i] - src->iop[i]) > 1e-3)
                return c2_fail(e, C2_EMISMATCH,
                               "SEG %s has another plane orientation than its source series %s: not on the source grid",
                               s->sop_instance, src->series_uid);
    memset(out, 0, plane * (size_t)src->n_slices);
    uint8_t *hit = calloc((size_t)src->n_slices, 1);
    if (!hit)
        return c2_fail(e, C2_ENOMEM, "out of memory placing SEG %s", s->sop_instance);
    int rc = C2_OK;
    for (int f = 0; f < s->n_frames && rc == C2_OK; f++) {
        const seg_frame *fr = &s->frames[f];
        int idx = -1;   /* index of the frame's segment in s->segments */
        for (int i = 0; i < s->n_segments; i++)
            if (s->segments[i].number == fr->segment)
                idx = i;
        if (s->type != SEG_TYPE_LABELMAP && (idx < 0 || !chosen[idx]))
            continue;
        char why[200];
        int by_pos = 0;
        int k = frame_slice(s, fr, src, &by_pos, why, sizeof why);
        if (k < 0) {
            rc = c2_fail(e, C2_EMISMATCH, "SEG %s frame %d %s", s->sop_instance, f + 1, why);
            break;
        }
        const uint8_t *px = s->pixels + (size_t)f * plane;
        uint8_t *o = out + (size_t)k * plane;
        if (s->type == SEG_TYPE_BINARY)
            mask_merge_set(o, px, plane);
        else
            for (size_t i = 0; i < plane; i++) {
                unsigned v = 0;
                if (s->type == SEG_TYPE_FRACTIONAL)
                    v = s->max_fractional > 0
                            ? (unsigned)lround(fmin(px[i], s->max_fractional) * 255.0 / s->max_fractional)
                            : 0;
                else
                    for (int j = 0; j < s->n_segments && !v; j++)
                        v = chosen[j] && px[i] == s->segments[j].number ? 255 : 0;
                if (v > o[i])
                    o[i] = (uint8_t)v;
            }
        local.frames_used++;
        local.by_position += by_pos;
        local.slices_covered += !hit[k];
        hit[k] = 1;
    }
    free(hit);
    if (rc == C2_OK && info)
        *info = local;
    return rc;
}
