/* dicomdir: reading a DICOMDIR (PS3.10 media directory) to find the files of a CD /
 * USB export, including those whose names do not look like DICOM (IMG00001, 17106).
 *
 * dicomdir_read() lists the directory records (patient / study / series / image and
 * other leaf records) and resolves each Referenced File ID against the DICOMDIR's own
 * folder: components are joined with '/', matched exactly, else ASCII case-insensitively
 * (ISO 9660 names are upper case; copies are often lower case). A file ID that is
 * absolute, holds "." / ".." / '/' components, or resolves (symbolic links included)
 * outside the DICOMDIR's folder is refused, never followed. Errors through c2_err. */
#ifndef C2SEG_IO_DICOMDIR_H
#define C2SEG_IO_DICOMDIR_H

#include "base/base.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { DICOMDIR_FILE_OK = 0, DICOMDIR_FILE_MISSING = 1, DICOMDIR_FILE_OUTSIDE = 2 };

typedef struct dicomdir_file {
    char file_id[512];          /* Referenced File ID as in the record, components joined by '/' */
    char path[4096];            /* resolved path (state OK), else the folder + file_id as named */
    int state;                  /* DICOMDIR_FILE_* */
    char sop_uid[65];           /* Referenced SOP Instance UID in File, "" when absent */
} dicomdir_file;

typedef struct dicomdir_info {
    int n_patients, n_studies, n_series, n_images; /* records by type (IMAGE only in n_images) */
    int n_other;                /* other record types (SR DOCUMENT, PRESENTATION, ...) */
    dicomdir_file *files;       /* [n_files]: every record with a Referenced File ID, in record order */
    int n_files;
    int n_missing, n_outside;   /* files with those states */
} dicomdir_info;

/* Reads the DICOMDIR at path. Fails (C2_EINVAL) on a file that is not a DICOMDIR. */
int dicomdir_read(const char *path, dicomdir_info *d, c2_err *e);
/* The same with DCMTK's reading of the records in a sandbox worker (io/isolated_files.c,
 * reader "dicomdir"); the file IDs are resolved here, in the caller. */
int dicomdir_read_isolated(const char *path, dicomdir_info *d, c2_err *e);
void dicomdir_free(dicomdir_info *d);

/* ---- the DCMTK shim (io/dicomdir_dcmtk.cc) ---- */
enum { DICOMDIR_REC_PATIENT = 1, DICOMDIR_REC_STUDY, DICOMDIR_REC_SERIES, DICOMDIR_REC_IMAGE, DICOMDIR_REC_OTHER };
typedef struct dicomdir_record {
    int type;                   /* DICOMDIR_REC_* */
    char file_id[512];          /* "" when the record references no file */
    char sop_uid[65];
} dicomdir_record;
/* The directory records of the DICOMDIR at path, in file order; *recs malloc'd. */
int dicomdir_records(const char *path, dicomdir_record **recs, int *n, c2_err *e);
int dicomdir_records_isolated(const char *path, dicomdir_record **recs, int *n, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
