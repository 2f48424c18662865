/* sr: DICOM Structured Report text, through the DCMTK shim (sr_dcmtk.cc).
 * Reading: Basic Text, Enhanced, Comprehensive and Comprehensive 3D SR (and any other SR
 * document DCMTK parses, e.g. TID 1500 measurement reports): every TEXT content item with
 * its concept-name path in document order, converted to UTF-8, plus the document's UIDs
 * and referenced SOP instances. Robust to invalid references (read leniently, recorded in
 * `lenient`), character sets iconv cannot convert (ISO 2022: a warning, the raw value with
 * escape sequences stripped), deep trees (bounded by c2_limits.max_depth) and CR/LF in values.
 * SR text means the patient's left (CONV_PATIENT).
 * Writing: a Basic Text SR holding one caption, valid for dciodvfy (DICOM_NOTES.md §3.3). */
#ifndef C2SEG_DICOM_SR_SR_H
#define C2SEG_DICOM_SR_SR_H

#include "base/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_UID_LEN 65

typedef struct sr_text_item {
    char *path;        /* concept names from the root, " > " separated: "Imaging Report > Findings > Finding" */
    char *concept;     /* the item's own concept name (code meaning), "" if none */
    char *text;        /* UTF-8 value (CR/LF kept) */
    int depth;         /* 0 = root */
} sr_text_item;

typedef struct sr_reference {
    char sop_class_uid[SR_UID_LEN];
    char sop_instance_uid[SR_UID_LEN];
} sr_reference;

typedef struct sr_document {
    char study_uid[SR_UID_LEN];
    char series_uid[SR_UID_LEN];
    char sop_uid[SR_UID_LEN];
    char sop_class_uid[SR_UID_LEN];
    char document_type[64];     /* DCMTK's readable name, e.g. "Comprehensive SR" */
    char charset[128];          /* Specific Character Set as found ("" = default repertoire) */
    char title[128];            /* root concept name */
    int lenient;                /* 1 when the strict read failed and the lenient one was used */
    int charset_failed;         /* 1 when UTF-8 conversion failed (values kept raw) */
    int n_items;
    sr_text_item *items;
    int n_refs;                 /* referenced SOP instances (evidence + IMAGE items), unique */
    sr_reference *refs;
} sr_document;

/* Reads path into out (zeroed first). Fails only when no SR document can be read. */
int sr_read_text(const char *path, sr_document *out, c2_err *e);
void sr_document_free(sr_document *d);
/* sr_read_text in a sandbox worker (base/sandbox.h, dicom-sr/sr_isolated.c): the same
 * contract, plus "<file>: the SR parser crashed (signal N, ...)" / "did not finish within
 * N s (stopped)". Fault-hook reader name: sr. Cohort readers (ingest, predict, sr-text) use it. */
int sr_read_text_isolated(const char *path, sr_document *out, c2_err *e);

/* The report text of a document: the one rule used by ingest (training), predict and
 * sr-text (dicom-sr/sr_text.c). Selected items: findings / impression / conclusion /
 * report text items (concept or path, ASCII case-insensitively), or, when a document has
 * none of those, every TEXT item that is not a name or identifier (observer names,
 * tracking identifiers, organisations, UIDs); empty values are skipped.
 * *raw = the selected texts joined by "\n" (NULL when nothing is selected);
 * *source = "SR <SOP Instance UID> <content path>[; <content path>...]".
 * Both malloc'ed (caller frees). Returns C2_OK or C2_ENOMEM. */
int sr_report_text(const sr_document *d, char **raw, char **source);

typedef struct sr_write_info {
    const char *study_uid;        /* required: the study the report belongs to */
    const char *patient_id;       /* NULL = "" */
    const char *patient_name;     /* NULL = "" */
    const char *study_date;       /* YYYYMMDD, NULL = today */
    const char *study_time;       /* HHMMSS, NULL = now */
    const char *study_id;         /* NULL = "1" */
    const char *accession;        /* NULL = "" */
    const char *series_uid;       /* NULL = new */
    const char *sop_uid;          /* NULL = new */
    const char *uid_root;         /* NULL = DCMTK's site root */
    const char *concept;          /* content item concept: NULL = (121071, DCM, "Finding") */
    int series_number, instance_number; /* 0 = 1 */
} sr_write_info;

/* Writes a Basic Text SR (root CONTAINER "Diagnostic imaging report" 18748-4 LN, one TEXT
 * item with utf8_text, Specific Character Set ISO_IR 192) atomically to path. */
int sr_write_basic_text(const char *path, const sr_write_info *info, const char *utf8_text, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
