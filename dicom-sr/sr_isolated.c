/* dicom-sr/sr_isolated: sr_read_text in a sandbox worker (sr.h). The answer: the document
 * struct, then per item its depth and three length-prefixed strings, then the references;
 * counts are checked against the answer's size before anything is allocated. */
#include "base/sandbox.h"
#include "dicom-sr/sr.h"

#include <stdlib.h>
#include <string.h>

static int sr_job(const uint8_t *req, size_t n, sandbox_out *out, c2_err *e)
{
    char path[4096];
    if (n == 0 || n >= sizeof path)
        return c2_fail(e, C2_EINVAL, "bad SR request");
    memcpy(path, req, n);
    path[n] = 0;
    sr_document d;
    int rc = sr_read_text(path, &d, e);
    if (rc != C2_OK)
        return rc;
    rc = sandbox_out_append(out, &d, sizeof d);
    for (int i = 0; rc == C2_OK && i < d.n_items; i++) {
        int32_t depth = d.items[i].depth;
        rc = sandbox_out_append(out, &depth, sizeof depth);
        if (rc == C2_OK)
            rc = sandbox_out_string(out, d.items[i].path);
        if (rc == C2_OK)
            rc = sandbox_out_string(out, d.items[i].concept);
        if (rc == C2_OK)
            rc = sandbox_out_string(out, d.items[i].text);
    }
    if (rc == C2_OK)
        rc = sandbox_out_append(out, d.refs, (size_t)d.n_refs * sizeof *d.refs);
    if (rc != C2_OK)
        c2_fail(e, rc, "%s: out of memory", path);
    sr_document_free(&d);
    return rc;
}

int sr_read_text_isolated(const char *path, sr_document *d, c2_err *e)
{
    memset(d, 0, sizeof *d);
    sandbox_out r;
    int rc = sandbox_call(path, "sr", "SR parser", sr_job, path, strlen(path), NULL, &r, e);
    if (rc != C2_OK)
        return rc;
    sandbox_in in = {r.data, r.n, 0, 0};
    sandbox_in_read(&in, d, sizeof *d);
    int n_items = d->n_items, n_refs = d->n_refs;
    d->items = NULL;
    d->refs = NULL;
    d->n_items = d->n_refs = 0;
    char *fixed[] = {d->study_uid, d->series_uid, d->sop_uid, d->sop_class_uid};
    for (int i = 0; i < 4; i++)
        fixed[i][SR_UID_LEN - 1] = 0;
    d->document_type[sizeof d->document_type - 1] = d->charset[sizeof d->charset - 1] = 0;
    d->title[sizeof d->title - 1] = 0;
    /* each item takes at least 16 bytes (depth + three lengths) */
    if (in.bad || n_items < 0 || n_refs < 0 || (size_t)n_items > (in.n - in.at) / 16 ||
        (size_t)n_refs > (in.n - in.at) / sizeof(sr_reference))
        rc = c2_fail(e, C2_EINVAL, "%s: the SR parser returned an inconsistent result", path);
    if (rc == C2_OK) {
        d->items = calloc((size_t)(n_items ? n_items : 1), sizeof *d->items);
        d->refs = calloc((size_t)(n_refs ? n_refs : 1), sizeof *d->refs);
        if (!d->items || !d->refs)
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for SR text", path);
    }
    for (int i = 0; rc == C2_OK && i < n_items && !in.bad; i++) {
        sr_text_item *it = &d->items[i];
        int32_t depth = 0;
        sandbox_in_read(&in, &depth, sizeof depth);
        it->depth = depth;
        it->path = sandbox_in_string(&in);
        it->concept = sandbox_in_string(&in);
        it->text = sandbox_in_string(&in);
        d->n_items = i + 1;
    }
    if (rc == C2_OK) {
        sandbox_in_read(&in, d->refs, (size_t)n_refs * sizeof *d->refs);
        d->n_refs = n_refs;
        for (int i = 0; i < n_refs; i++) {
            d->refs[i].sop_class_uid[SR_UID_LEN - 1] = 0;
            d->refs[i].sop_instance_uid[SR_UID_LEN - 1] = 0;
        }
        if (in.bad || in.at != in.n)
            rc = c2_fail(e, C2_EINVAL, "%s: the SR parser returned an inconsistent result", path);
    }
    if (rc != C2_OK)
        sr_document_free(d);
    sandbox_out_free(&r);
    return rc;
}
