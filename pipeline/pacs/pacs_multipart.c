/* multipart/related bodies (RFC 2046 5.1, as WADO-RS answers and STOW-RS requests use
 * them): the boundary parameter of a Content-Type, and the parts of a body. The body is
 * a server's answer: every offset is checked against its length, header blocks are
 * bounded, and the number of parts is limited before the part table grows. */
#define _GNU_SOURCE /* memmem */
#include "pipeline/pacs/pacs_dimse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int pacs_multipart_boundary(const char *ct, char *out, size_t cap, c2_err *e)
{
    out[0] = 0;
    if (!ct || c2_strcasecmp_ascii(ct, "") == 0)
        return c2_fail(e, C2_EINVAL, "the answer has no Content-Type");
    if (strncasecmp(ct, "multipart/related", 17) != 0)
        return c2_fail(e, C2_EINVAL, "the answer is '%.80s', not multipart/related", ct);
    for (const char *p = ct; (p = strchr(p, ';')) != NULL;) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        int quoted = *p == '"';
        p += quoted;
        size_t n = 0;
        while (p[n] && (quoted ? p[n] != '"' : p[n] != ';' && p[n] != ' '))
            n++;
        if (n == 0 || n > 70 || n >= cap)
            return c2_fail(e, C2_EINVAL, "the multipart boundary has %zu characters (1..70)", n);
        memcpy(out, p, n);
        out[n] = 0;
        return C2_OK;
    }
    return c2_fail(e, C2_EINVAL, "the multipart/related answer has no boundary");
}

/* The Content-Type header among the part headers [h, end), into type. */
static void part_type(const uint8_t *h, const uint8_t *end, char *type, size_t cap)
{
    type[0] = 0;
    while (h < end) {
        const uint8_t *eol = memchr(h, '\n', (size_t)(end - h));
        if (!eol)
            eol = end;
        size_t n = (size_t)(eol - h);
        if (n > 13 && strncasecmp((const char *)h, "content-type:", 13) == 0) {
            const uint8_t *v = h + 13;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t vn = (size_t)(eol - v);
            while (vn > 0 && (v[vn - 1] == '\r' || v[vn - 1] == ' '))
                vn--;
            if (vn >= cap)
                vn = cap - 1;
            for (size_t i = 0; i < vn; i++)
                type[i] = isprint(v[i]) ? (char)v[i] : '?';
            type[vn] = 0;
        }
        h = eol + 1;
    }
}

int pacs_multipart_parse(const uint8_t *body, size_t n, const char *boundary, pacs_part **parts, int *n_parts,
                         int max_parts, c2_err *e)
{
    *parts = NULL;
    *n_parts = 0;
    char delim[80];
    int dl = snprintf(delim, sizeof delim, "--%s", boundary);
    if (dl <= 2 || (size_t)dl >= sizeof delim)
        return c2_fail(e, C2_EINVAL, "invalid multipart boundary");
    /* the first delimiter: at the start or after a CRLF */
    const uint8_t *p = NULL;
    if (n >= (size_t)dl && memcmp(body, delim, (size_t)dl) == 0)
        p = body;
    else {
        char d2[84];
        snprintf(d2, sizeof d2, "\r\n%s", delim);
        const uint8_t *f = memmem(body, n, d2, (size_t)dl + 2);
        p = f ? f + 2 : NULL;
    }
    if (!p)
        return c2_fail(e, C2_EINVAL, "the multipart answer has no part (boundary '%s' not found)", boundary);
    char next[84];
    int nl = snprintf(next, sizeof next, "\r\n%s", delim);
    const uint8_t *end = body + n;
    pacs_part *list = NULL;
    int count = 0;
    size_t cap = 0;
    for (;;) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break; /* the closing delimiter */
        /* rest of the delimiter line (transport padding), then the headers */
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) {
            free(list);
            return c2_fail(e, C2_EINVAL, "the multipart answer ends inside a delimiter line (truncated?)");
        }
        const uint8_t *h = eol + 1;
        size_t hmax = (size_t)(end - h) < 16384 ? (size_t)(end - h) : 16384;
        const uint8_t *hend = memmem(h, hmax, "\r\n\r\n", 4);
        size_t skip = 4;
        if (h + 1 < end && h[0] == '\r' && h[1] == '\n') { /* no headers */
            hend = h;
            skip = 2;
        }
        if (!hend) {
            free(list);
            return c2_fail(e, C2_EINVAL, "part %d of the multipart answer has no end of headers within 16 KiB",
                           count + 1);
        }
        const uint8_t *b = hend + skip;
        const uint8_t *f = memmem(b, (size_t)(end - b), next, (size_t)nl);
        if (!f) {
            free(list);
            return c2_fail(e, C2_EINVAL, "part %d of the multipart answer is not closed (truncated answer?)",
                           count + 1);
        }
        if (count >= max_parts) {
            free(list);
            return c2_fail(e, C2_ELIMIT, "the multipart answer has more than %d parts", max_parts);
        }
        if (c2_grow(&list, sizeof *list, (size_t)count + 1, &cap) != C2_OK) {
            free(list);
            return c2_fail(e, C2_ENOMEM, "out of memory for %d multipart parts", count + 1);
        }
        pacs_part *pt = &list[count++];
        pt->off = (size_t)(b - body);
        pt->len = (size_t)(f - b);
        part_type(h, hend, pt->type, sizeof pt->type);
        p = f + 2;
    }
    *parts = list;
    *n_parts = count;
    return C2_OK;
}
