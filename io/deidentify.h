/* io/deidentify: the DICOM Basic Application Level Confidentiality Profile (PS3.15
 * E.1.1, Table E.1-1) applied to a written DICOM file, for exports that leave the site.
 *
 * What happens to a file (recursively, inside every sequence item too):
 *   - every private attribute (odd group) is removed;
 *   - identifying attributes of the profile are removed (X), emptied (Z) or, where an
 *     IOD makes them Type 1, replaced by a dummy (D: Content Date 19000101, Content Time
 *     000000, Device Serial Number DEIDENTIFIED): names, birth date, sex, age, addresses,
 *     institution, physicians, operators, descriptions and comments, dates and times of
 *     study / series / acquisition, request attributes, other patient IDs
 *     (docs/reliability.md lists them);
 *   - PatientID becomes a pseudonym "ANON-<16 hex digits>" and every instance UID
 *     (Study, Series, SOP Instance, Frame of Reference, references, the file meta's
 *     Media Storage SOP Instance UID, ...) becomes "2.25.<decimal of 128 bits>", both
 *     computed with HMAC-SHA-256 under the key: the same input always maps to the same
 *     output under one key, so a SEG, an SR and a copied source image that referred to
 *     each other still do. Class UIDs, transfer syntaxes and every UID under the DICOM
 *     root 1.2.840.10008 are kept;
 *   - Patient Identity Removed = YES, De-identification Method (+ code 113100 DCM),
 *     Longitudinal Temporal Information Modified = REMOVED are added.
 * Kept: the image pixels, the geometry, the SR content tree (its TEXT values are the
 * report and are NOT scrubbed: a caller that exports free-text reports must review them). */
#ifndef C2SEG_IO_DEIDENTIFY_H
#define C2SEG_IO_DEIDENTIFY_H

#include "base/base.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct deidentify_opts {
    const char *key;     /* secret of the UID / PatientID mapping; NULL = one random key per
                            process (consistent within a run, unlinkable across runs) */
} deidentify_opts;

/* Rewrites the DICOM file at path de-identified, atomically (temporary + rename); on
 * error the file is left as it was. opt NULL = defaults. */
int deidentify_file(const char *path, const deidentify_opts *opt, c2_err *e);

/* The replacement of one UID under opt: "2.25.<decimal>", at most 44 characters. UIDs
 * that are kept (DICOM-defined, under 1.2.840.10008) are copied unchanged. */
void deidentify_uid(const deidentify_opts *opt, const char *uid, char out[65]);

#ifdef __cplusplus
}
#endif
#endif
