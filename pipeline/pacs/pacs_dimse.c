/* pipeline/pacs: the DIMSE entry points of pacs_dimse.h, forwarded to DCMTK's dcmnet shim
 * (pacs_dimse_dcmtk.cc), which is built as a module beside the executable
 * (C2SEG_DIMSE_MODULE, e.g. build/c2seg-dimse.so; base/lazylib.c finds it) and opened at the first DIMSE call (base.h,
 * c2_lazylib): dcmnet and dcmtls bring OpenSSL, libwrap, libnsl, libtirpc and Kerberos, ~14
 * libraries that every other command would load at its start (docs/cache.md, "fifth round").
 * The module finds c2seg's own functions it uses in the executable (exported by name: the
 * dynamic list pipeline/pacs/pacs_dimse.exports). */
#include "pipeline/pacs/pacs_dimse.h"

#ifndef C2SEG_DIMSE_MODULE
#define C2SEG_DIMSE_MODULE "c2seg-dimse.so"
#endif

static struct {
    __typeof__(pacs_dimse_echo) *echo;
    __typeof__(pacs_dimse_find) *find;
    __typeof__(pacs_dimse_get) *get;
    __typeof__(pacs_dimse_move) *move;
    __typeof__(pacs_dimse_shutdown) *shutdown;
    __typeof__(pacs_dimse_store) *store;
} dm;
static const char *const dm_names[] = {"pacs_dimse_echo", "pacs_dimse_find",     "pacs_dimse_get",
                                       "pacs_dimse_move", "pacs_dimse_shutdown", "pacs_dimse_store"};
static c2_lazylib dm_lib = {C2SEG_DIMSE_MODULE, "DICOM networking (DIMSE)", 0, dm_names,
                            sizeof dm_names / sizeof dm_names[0], &dm, sizeof dm, 0, 1};

static int dm_open(c2_err *e)
{
    return c2_lazylib_open(&dm_lib, e);
}

int pacs_dimse_echo(const pacs_endpoint *ep, c2_err *e)
{
    int rc = dm_open(e);
    return rc != C2_OK ? rc : dm.echo(ep, e);
}

int pacs_dimse_find(const pacs_endpoint *ep, pacs_level level, const pacs_query *q, pacs_record **out, int *n_out,
                    c2_err *e)
{
    int rc = dm_open(e);
    return rc != C2_OK ? rc : dm.find(ep, level, q, out, n_out, e);
}

int pacs_dimse_get(const pacs_endpoint *ep, const char *study_uid, const char *series_uid, const char *const *sops,
                   int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e)
{
    int rc = dm_open(e);
    return rc != C2_OK ? rc : dm.get(ep, study_uid, series_uid, sops, n_sops, sink, n_stored, e);
}

int pacs_dimse_move(const pacs_endpoint *ep, const char *study_uid, const char *series_uid, const char *const *sops,
                    int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e)
{
    int rc = dm_open(e);
    return rc != C2_OK ? rc : dm.move(ep, study_uid, series_uid, sops, n_sops, sink, n_stored, e);
}

int pacs_dimse_store(const pacs_endpoint *ep, pacs_item *items, int n, pacs_confirmed_fn cb, void *user, c2_err *e)
{
    int rc = dm_open(e);
    return rc != C2_OK ? rc : dm.store(ep, items, n, cb, user, e);
}

void pacs_dimse_shutdown(void)
{
    if (__atomic_load_n(&dm_lib.opened, __ATOMIC_ACQUIRE))   /* nothing to stop when never opened */
        dm.shutdown();
}
