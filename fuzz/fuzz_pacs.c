/* fuzz/fuzz_pacs: what pipeline/pacs parses from a server or from disk: the first byte
 * picks the parser, the rest is its input. 0: a multipart/related body (a WADO-RS
 * answer) with the boundary taken from its first line as a Content-Type; every part must
 * lie inside the body. 1: a push ledger file (open, look up, append, reopen). 2: a PACS
 * address, a UID and server text. */
#include "fuzz/fuzz_support.h"
#include "pipeline/pacs/pacs.h"
#include "pipeline/pacs/pacs_dimse.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 3;
    data++;
    size--;
    c2_err e = {0};
    if (mode == 0) {
        const uint8_t *nl = memchr(data, '\n', size < 200 ? size : 200);
        char ct[256] = "", b[80];
        size_t hl = nl ? (size_t)(nl - data) : 0;
        memcpy(ct, data, hl);
        ct[hl] = 0;
        if (pacs_multipart_boundary(ct, b, sizeof b, &e) != C2_OK)
            snprintf(b, sizeof b, "BND");
        const uint8_t *body = nl ? nl + 1 : data;
        size_t n = size - (size_t)(body - data);
        pacs_part *p = NULL;
        int np = 0;
        if (pacs_multipart_parse(body, n, b, &p, &np, 64, &e) == C2_OK)
            for (int i = 0; i < np; i++)
                if (p[i].off > n || p[i].len > n - p[i].off || strlen(p[i].type) >= sizeof p[i].type)
                    abort();
        free(p);
    } else if (mode == 1) {
        const char *path = fuzz_write_temp(data, size, ".tsv");
        pacs_ledger *l = NULL;
        if (path && pacs_ledger_open(&l, path, &e) == C2_OK) {
            pacs_ledger_has(l, "dicom://A@h:1", "1.2.3");
            pacs_ledger_add(l, "dicom://A@h:1", "1.2.3", "x.dcm", &e);
            pacs_ledger_close(l);
            if (pacs_ledger_open(&l, path, &e) != C2_OK || !pacs_ledger_has(l, "dicom://A@h:1", "1.2.3"))
                abort(); /* an appended confirmation must survive a reopen */
            pacs_ledger_close(l);
        }
    } else {
        char *s = fuzz_text(data, size);
        if (!s)
            return 0;
        pacs_endpoint ep;
        memset(&ep, 0, sizeof ep);
        if (pacs_endpoint_parse(s, &ep, &e) == C2_OK && ep.kind == PACS_DIMSE &&
            (ep.port < 1 || ep.port > 65535 || strlen(ep.called_aet) > 16))
            abort();
        pacs_endpoint_name(&ep);
        if (pacs_is_uid(s) && (strlen(s) > 64 || strstr(s, "..") || strchr(s, '/')))
            abort();
        char t[65];
        pacs_copy_text(t, sizeof t, s, size);
        for (const char *c = t; *c; c++)
            if ((unsigned char)*c < 0x20)
                abort();
        free(s);
    }
    return 0;
}
