/* reference: loading the PyTorch reference dumps (../shared/reference/NAME, read by
 * io/torch_dump.h) the way the tests do. Header-only, because the support library is
 * libc-only and this needs io/: a test that includes it includes io/torch_dump.h too (the
 * build picks a test's layer from its own includes). */
#ifndef C2SEG_TESTS_REFERENCE_H
#define C2SEG_TESTS_REFERENCE_H

#include "io/torch_dump.h"
#include "tests/support/check.h"

/* Loads ../shared/REL (e.g. "reference/golden_tiny_eval") into d. Returns 1 when loaded
 * (the caller frees d with torch_dump_free); otherwise a CHECK fails naming the reason and
 * it returns 0. */
static inline int reference_load(torch_dump *d, const char *rel)
{
    c2_err e = {0};
    int rc = torch_dump_load(d, shared_path(rel), &e);
    CHECK_MSG(rc == C2_OK, "%s", e.msg);
    return rc == C2_OK;
}

#endif
