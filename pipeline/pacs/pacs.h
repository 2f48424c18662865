/* pipeline/pacs: talking to a PACS (docs/pacs.md).
 *   pacs_endpoint.c      SOURCE / DEST strings: dicom://AET@host:port, http(s)://host:port/path
 *   pacs.c               query / retrieve / store dispatched to the two transports, UID checks
 *   pacs_dimse_dcmtk.cc  DIMSE through DCMTK's dcmnet (C-ECHO, C-FIND, C-GET, C-STORE), C API
 *                        in pacs_dimse.h
 *   pacs_web.c           DICOMweb through libcurl (QIDO-RS, WADO-RS, STOW-RS)
 *   pacs_multipart.c     multipart/related bodies (WADO-RS responses, STOW-RS requests)
 *   pacs_ledger.c        the sent-ledger of `c2seg push` (what already arrived, per destination)
 *   stage_pull.c, stage_push.c, pacs_push.c   `c2seg pull`, `c2seg push`, predict --store
 * Everything a server sends is untrusted: sizes are checked against limits before
 * allocating, UIDs must be UIDs (digits and dots, 1..64 characters), other strings are
 * truncated to their DICOM maximum, and file names come from c2_safe_name only. */
#ifndef C2SEG_PIPELINE_PACS_H
#define C2SEG_PIPELINE_PACS_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { PACS_DIMSE = 1, PACS_WEB = 2 };
enum { PACS_UID_CAP = 65, PACS_AE_CAP = 17 };
enum { PACS_MAX_RESULTS = 200000 };          /* most records one query may return */

typedef struct pacs_endpoint {
    int kind;                         /* PACS_DIMSE or PACS_WEB */
    char called_aet[PACS_AE_CAP];     /* DIMSE: the server's AE title */
    char calling_aet[PACS_AE_CAP];    /* DIMSE: ours (--aet, default C2SEG) */
    char host[256];
    int port;
    char url[1024];                   /* DICOMweb: the service root, no trailing '/' */
    int timeout_s;                    /* connect and per-message timeout (default 30) */
    int move_port;                    /* DIMSE: retrieve by C-MOVE to our SCP on this port (0: C-GET) */
    int insecure;                     /* https / DIMSE TLS: do not verify the server's certificate */
    const char *ca_file;              /* https / DIMSE TLS: CA certificates (PEM), or NULL: the system's */
    int tls;                          /* DIMSE: associations over TLS (DCMTK's dcmtls, --tls) */
    const char *cert_file, *key_file; /* our certificate and its private key (PEM), or NULL: DIMSE TLS
                                         and https client authentication; the C-MOVE SCP's over TLS */
} pacs_endpoint;

/* Parses "dicom://AET@host:port" or "http(s)://host[:port]/path" into ep, keeping the
 * calling AE, timeout and TLS options already in ep (zeroed ep: "C2SEG", 30 s). Fails (C2_EINVAL) with the reason for anything else,
 * and for TLS options that do not fit: an unreadable --ca / --cert / --key file, --cert without --key (or the reverse), --tls with an
 * http(s) address, --tls with --move-port but no --cert (our storage SCP's certificate). */
int pacs_endpoint_parse(const char *s, pacs_endpoint *ep, c2_err *e);
/* The endpoint as text without credentials, for messages. */
const char *pacs_endpoint_name(const pacs_endpoint *ep);

/* The endpoint options every PACS stage takes: --aet AE (our calling AE title),
 * --timeout S, --move-port PORT, --insecure, --ca FILE, --tls, --cert FILE, --key FILE. Returns 0 when opt is none of them, 1 when it was a
 * flag, 2 when it also took value (NULL: missing), or a C2_E* code with e filled. */
int pacs_endpoint_option(pacs_endpoint *ep, const char *opt, const char *value, c2_err *e);
/* pull's and push's options: pacs_endpoint_option's, and --retries N (0..100) into *retries,
 * -q / --quiet into *quiet; the same returns. */
int pacs_stage_option(pacs_endpoint *ep, int *retries, int *quiet, const char *opt, const char *value, c2_err *e);
#define PACS_ENDPOINT_HELP                                                                         \
    "  --aet AE             our calling AE title for DIMSE (default C2SEG; the server must know it)\n" \
    "  --move-port PORT     retrieve by C-MOVE to a storage SCP of ours on PORT (default: C-GET);\n"  \
    "                       the server must know our AE title with this host and port\n"         \
    "  --timeout S          seconds to connect and between messages before giving up (default 30)\n"  \
    "  --retries N          attempts after a failed one, with a doubling back-off from 1 s (default 3)\n" \
    "  --tls                DIMSE over TLS (DICOM's secure transport connection profile, BCP 195)\n"  \
    "  --ca FILE            CA certificates (PEM) the server's certificate must chain to, for https\n"  \
    "                       and --tls (default: the system's)\n"                                      \
    "  --cert FILE          our certificate (PEM) for a server that asks for one (--tls, https); with\n" \
    "                       --tls and --move-port also the certificate of our C-MOVE storage SCP\n"    \
    "  --key FILE           the private key (PEM, unencrypted) of --cert\n"                          \
    "  --insecure           https / --tls without checking the server's certificate\n"

/* 1 when s is a DICOM UID: 1..64 characters of digits and dots, no empty component. */
int pacs_is_uid(const char *s);
/* Copies a server string into out (cap bytes) dropping control characters and DICOM
 * padding; truncates. */
void pacs_copy_text(char *out, size_t cap, const char *in, size_t n);

typedef enum { PACS_STUDY = 0, PACS_SERIES = 1, PACS_IMAGE = 2 } pacs_level;

/* Query keys; NULL or "" means any. */
typedef struct pacs_query {
    const char *patient_id;
    const char *study_uid;
    const char *series_uid;
    const char *accession;
    const char *date;                 /* StudyDate: YYYYMMDD, or a range YYYYMMDD-YYYYMMDD */
} pacs_query;

/* One query result (the fields its level has; others ""). */
typedef struct pacs_record {
    char patient_id[65];
    char study_uid[PACS_UID_CAP];
    char series_uid[PACS_UID_CAP];
    char sop_uid[PACS_UID_CAP];
    char sop_class[PACS_UID_CAP];
    char accession[17];
    char study_date[9];
    char modality[17];
    int64_t n_instances;              /* Number of Study / Series Related Instances, -1 unknown */
} pacs_record;

/* A study-, series- or image-level query. Results whose own UID (study at STUDY level,
 * series at SERIES, SOP instance at IMAGE) is not a UID are dropped with a warning. */
int pacs_find(const pacs_endpoint *ep, pacs_level level, const pacs_query *q, pacs_record **out, int *n_out,
              c2_err *e);

/* Where retrieved instances go. place() is asked first for each arriving instance (its
 * UIDs read from the object) and fills path; it returns 1 to write there, 0 to drop the
 * instance (not asked for). stored() follows each written file. */
typedef struct pacs_sink {
    void *user;
    int (*place)(void *user, const pacs_record *r, char *path, size_t cap);
    void (*stored)(void *user, const pacs_record *r, const char *path);
} pacs_sink;

/* Retrieves a whole series (sops NULL) or the listed instances of it into the sink:
 * C-GET on one association (C-MOVE to our own SCP when ep->move_port is set), or WADO-RS. *n_stored counts the files written. A file is
 * written to a temporary name and renamed, so a broken transfer leaves no partial file. */
int pacs_retrieve(const pacs_endpoint *ep, const char *study_uid, const char *series_uid, const char *const *sops,
                  int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e);

/* Sleeps s seconds (the back-off between retries). */
void pacs_sleep(double s);

/* Ends what retrieves left running (the C-MOVE storage SCP); call once a pull is done. */
void pacs_shutdown(void);

/* One file to store, with its result. */
typedef struct pacs_item {
    const char *path;
    char sop_uid[PACS_UID_CAP];
    char sop_class[PACS_UID_CAP];
    char study_uid[PACS_UID_CAP];
    char transfer_syntax[PACS_UID_CAP];
    int done;                         /* 1 once the server confirmed it */
    char reason[200];                 /* why it did not arrive ("" when done) */
} pacs_item;

/* Reads the UIDs of a file to store (meta only). */
int pacs_item_read(pacs_item *it, const char *path, c2_err *e);

/* Stores items whose done is 0: C-STORE on one association (a presentation context per
 * SOP class with the file's transfer syntax, Explicit and Implicit VR Little Endian),
 * or STOW-RS (batches of files in one multipart request). Sets done / reason per item.
 * confirmed (or NULL) is called as each item is confirmed, before the next is sent.
 * Returns C2_OK when the transport worked (items may still be refused; see reason), an
 * error when the server could not be reached or the transfer broke off. */
typedef void (*pacs_confirmed_fn)(void *user, pacs_item *it);
int pacs_store(const pacs_endpoint *ep, pacs_item *items, int n, pacs_confirmed_fn confirmed, void *user, c2_err *e);

/* C-ECHO, or a QIDO-RS request for one study (a liveness check). */
int pacs_echo(const pacs_endpoint *ep, c2_err *e);

/* ---- pacs_push.c: push with retries and a sent-ledger (used by push and predict --store) --- */
typedef struct pacs_push_options {
    int retries;                      /* extra attempts after a failed one (default 3) */
    double backoff_s;                 /* first wait, doubled each attempt (default 1) */
    const char *ledger;               /* the ledger file (see pacs_ledger.c) */
    int quiet;
} pacs_push_options;

typedef struct pacs_push_result {
    int n_files, n_sent, n_skipped, n_failed;
} pacs_push_result;

/* Sends files (DICOM files only; others are errors) to ep, skipping those the ledger
 * lists as arrived at this destination, retrying what failed. Every failed object is
 * reported through c2_warn with its file and reason. Returns C2_OK when everything
 * arrived (or was there), C2_EIO when some did not. */
int pacs_push_files(const pacs_endpoint *ep, const char *const *files, int n_files, const pacs_push_options *o,
                    pacs_push_result *res, c2_err *e);

/* The default ledger of a push input: INPUT/c2seg-sent.tsv for a folder, else beside the file. */
void pacs_default_ledger(char *out, size_t cap, const char *input);

/* `--store DEST` of predict and report, with its options. */
typedef struct pacs_store_options {
    const char *dest, *aet;           /* --store, --store-aet (NULL: C2SEG) */
    int tls;                          /* --store-tls */
    const char *ca, *cert, *key;      /* --store-ca, --store-cert, --store-key */
} pacs_store_options;
/* Their cli_option entries (pipeline.h) for a pacs_store_options *s. */
#define PACS_STORE_CLI_OPTIONS(s)                                                                       \
    CLI_OPT_TEXT("store", 0, &(s)->dest, "DEST"), CLI_OPT_TEXT("store-aet", 0, &(s)->aet, "AE"),         \
        CLI_OPT_FLAG("store-tls", &(s)->tls), CLI_OPT_TEXT("store-ca", 0, &(s)->ca, "FILE"),             \
        CLI_OPT_TEXT("store-cert", 0, &(s)->cert, "FILE"), CLI_OPT_TEXT("store-key", 0, &(s)->key, "FILE")
/* The endpoint of s->dest with its options (pacs_endpoint_parse's checks). */
int pacs_store_endpoint(const pacs_store_options *s, pacs_endpoint *ep, c2_err *e);
/* `predict --store DEST`: every DICOM file under outdir to s->dest, ledger
 * outdir/c2seg-sent.tsv, 3 retries; logs what did not arrive. */
int pacs_store_folder(const pacs_store_options *s, const char *outdir, pacs_push_result *res, c2_err *e);

/* Collects the DICOM files under a file or folder (recursive, sorted) into *files. */
int pacs_collect_files(const char *path, char ***files, int *n, c2_err *e);
void pacs_free_files(char **files, int n);

/* ---- pacs_ledger.c ------------------------------------------------------------------------ */
/* The ledger: lines "destination<TAB>SOP Instance UID<TAB>file", appended and flushed as
 * each object is confirmed. */
typedef struct pacs_ledger pacs_ledger;
int pacs_ledger_open(pacs_ledger **l, const char *path, c2_err *e);
int pacs_ledger_has(const pacs_ledger *l, const char *dest, const char *sop_uid);
int pacs_ledger_add(pacs_ledger *l, const char *dest, const char *sop_uid, const char *file, c2_err *e);
void pacs_ledger_close(pacs_ledger *l);

#ifdef __cplusplus
}
#endif
#endif
