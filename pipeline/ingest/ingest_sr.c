/* pipeline/ingest/ingest_sr: DICOM SR report text met during the ingest walk, linked to image
 * samples. Each SR's text (dicom-sr/sr.h) is reduced to its findings / impression items
 * (every TEXT item when it has none of those) and linked
 *   1. to the image instances the SR references (evidence / IMAGE items), when it has any
 *      that were ingested, else
 *   2. to every image of its study (same StudyInstanceUID): a study-level report applies
 *      to every slice of every series of that study, including slices without a lesion.
 * A sample referenced by an SR gets that SR even when another SR covers its study. For the
 * study link an SR without references (a study-level report) is preferred to one with;
 * among equals the first in file-name order wins (the others are reported). The text is
 * dicom-sr's one rule, sr_report_text (dicom-sr/sr.h), also used by predict and sr-text
 * (TID 1500 measurement reports carry only observer names and tracking identifiers: no
 * report text, reported).
 * The text slot: text_raw = sr_report_text's raw text; caption = the canonical
 * caption regenerated from the parsed attributes (caption_parse + caption_generate, patient
 * convention), or the raw text with --sr-caption raw, or when the parser finds nothing
 * (a canonical "No infection." for text it cannot read would be a false statement).
 * The zones are parsed from the whole selected text: a summary such as "Impression:
 * bilateral ..., both lungs" states laterality and does not widen the zones the findings
 * name (dicom-sr/caption_parse.c);
 * text_source = "SR <SOP Instance UID> <content path>[; <content path>...]";
 * text_convention = "patient". SRs linked to no ingested image are reported. */
#include "dicom-sr/dicom_sr.h"
#include "pipeline/ingest/ingest_parts.h"

#include <stdlib.h>
#include <string.h>

int ingest_sr_add(ingest_ctx *c, int file, sr_document *doc, c2_err *e)
{
    const char *path = c->files[file].path;
    if (c2_grow(&c->srs, sizeof *c->srs, (size_t)c->n_srs + 1, &c->cap_srs) != C2_OK) {
        sr_document_free(doc);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for SR text", path);
    }
    ingest_sr *s = &c->srs[c->n_srs];
    memset(s, 0, sizeof *s);
    s->doc = *doc;
    memset(doc, 0, sizeof *doc);
    s->file = file;
    if (sr_report_text(&s->doc, &s->raw, &s->source) != C2_OK) {
        sr_document_free(&s->doc);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for SR text", path);
    }
    if (!s->raw) {
        sr_document_free(&s->doc);
        free(s->source);
        return c2_fail(e, C2_EINVAL, "%s: Structured Report without report text (no TEXT item other than names and identifiers)", path);
    }
    caption_attrs a;
    caption_parse(s->raw, CONV_PATIENT, &a);
    char canonical[512];
    int use_raw = c->sr_caption_raw || a.status == CAPTION_UNPARSED;
    if (!use_raw)
        caption_generate(&a, canonical, sizeof canonical);
    s->unparsed = a.status == CAPTION_UNPARSED;
    s->caption = strdup(use_raw ? s->raw : canonical);
    if (!s->caption) {
        sr_document_free(&s->doc);
        free(s->raw);
        free(s->source);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for SR text", path);
    }
    c->n_srs++;
    return C2_OK;
}

static ingest_sr *sr_by_reference(ingest_ctx *c, const char *sop_uid)
{
    for (int i = 0; sop_uid && sop_uid[0] && i < c->n_srs; i++)
        for (int r = 0; r < c->srs[i].doc.n_refs; r++)
            if (strcmp(c->srs[i].doc.refs[r].sop_instance_uid, sop_uid) == 0)
                return &c->srs[i];
    return NULL;
}

/* The SR of a study: the first without references (a study-level report), else the first. */
static ingest_sr *sr_by_study(ingest_ctx *c, const char *study_uid)
{
    ingest_sr *any = NULL;
    for (int i = 0; study_uid && study_uid[0] && i < c->n_srs; i++)
        if (strcmp(c->srs[i].doc.study_uid, study_uid) == 0) {
            if (c->srs[i].doc.n_refs == 0)
                return &c->srs[i];
            any = any ? any : &c->srs[i];
        }
    return any;
}

void ingest_sr_attach(ingest_ctx *c, cache_sample *m)
{
    ingest_sr *s = sr_by_reference(c, m->sop_uid);
    if (!s)
        s = sr_by_study(c, m->study_uid);
    if (!s)
        return;
    s->used++;
    m->caption = s->caption;
    m->text_raw = s->raw;
    m->text_source = s->source;
    m->text_convention = convention_name(CONV_PATIENT);
}

void ingest_sr_finish(ingest_ctx *c)
{
    for (int i = 0; i < c->n_srs; i++) {
        ingest_sr *s = &c->srs[i];
        ingest_file *f = &c->files[s->file];
        if (s->used && s->unparsed && !c->sr_caption_raw)
            ingest_warn(c, "%s: the report text names no lung zone the parser knows; its raw text is the caption", f->path);
        if (s->used)
            ingest_done(c, f, FILE_CONSUMED);
        else if (sr_by_study(c, s->doc.study_uid)->used)
            ingest_report(c, f, "Structured Report not used: another SR of the same study supplies its text");
        else
            ingest_report(c, f, "Structured Report not used: no image of its study (or referenced instance) "
                                "was ingested");
        sr_document_free(&s->doc);
        free(s->raw);
        free(s->caption);
        free(s->source);
    }
    free(c->srs);
    c->srs = NULL;
    c->n_srs = c->cap_srs = 0;
}
