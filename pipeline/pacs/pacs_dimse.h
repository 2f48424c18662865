/* pipeline/pacs: the DIMSE side (pacs_dimse_dcmtk.cc, DCMTK's dcmnet behind a C API).
 * Only pacs.c calls these; their arguments are already checked there. */
#ifndef C2SEG_PIPELINE_PACS_DIMSE_H
#define C2SEG_PIPELINE_PACS_DIMSE_H

#include "pipeline/pacs/pacs.h"

#ifdef __cplusplus
extern "C" {
#endif

int pacs_dimse_echo(const pacs_endpoint *ep, c2_err *e);
int pacs_dimse_find(const pacs_endpoint *ep, pacs_level level, const pacs_query *q, pacs_record **out, int *n_out,
                    c2_err *e);
int pacs_dimse_get(const pacs_endpoint *ep, const char *study_uid, const char *series_uid, const char *const *sops,
                   int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e);
/* C-MOVE to our AE title, received by a storage SCP on ep->move_port for the call's duration. */
int pacs_dimse_move(const pacs_endpoint *ep, const char *study_uid, const char *series_uid, const char *const *sops,
                    int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e);
void pacs_dimse_shutdown(void);
int pacs_dimse_store(const pacs_endpoint *ep, pacs_item *items, int n, pacs_confirmed_fn cb, void *user, c2_err *e);

/* pacs_web.c */
int pacs_web_echo(const pacs_endpoint *ep, c2_err *e);
int pacs_web_find(const pacs_endpoint *ep, pacs_level level, const pacs_query *q, pacs_record **out, int *n_out,
                  c2_err *e);
int pacs_web_get(const pacs_endpoint *ep, const char *study_uid, const char *series_uid, const char *const *sops,
                 int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e);
int pacs_web_store(const pacs_endpoint *ep, pacs_item *items, int n, pacs_confirmed_fn cb, void *user, c2_err *e);

/* pacs_multipart.c: the parts of a multipart/related body. boundary is the parameter of
 * the Content-Type header (pacs_multipart_boundary extracts it). Each part's body is
 * body[off .. off+len); its Content-Type (or "") in type. At most max_parts parts. */
typedef struct pacs_part {
    size_t off, len;
    char type[128];
} pacs_part;
int pacs_multipart_boundary(const char *content_type, char *out, size_t cap, c2_err *e);
int pacs_multipart_parse(const uint8_t *body, size_t n, const char *boundary, pacs_part **parts, int *n_parts,
                         int max_parts, c2_err *e);

#ifdef __cplusplus
}
#endif
#endif
