/* dicom_deflate: element lengths of a deflated dataset checked against its inflated size
 * before DCMTK reads it (io/dicom_deflate.h says why). Where the dataset starts is DCMTK's
 * own answer (io/dicom_load_dcmtk.cc): this file parses no File Meta Information.
 *
 * The walk follows DCMTK's reading: explicit VR little endian; an element of defined length
 * (a sequence or item included) is skipped whole, its length checked: DCMTK checks what is
 * inside a defined-length container against the container's length, and the container's
 * against the end here; an element of undefined length (a sequence, an item, or encapsulated
 * data) is entered, and its content walked until its delimiter; the content of a UN of
 * undefined length is implicit VR (CP-246, as DCMTK reads it). */
#include "io/dicom_deflate.h"

#include <stdio.h>
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK 65536
#define MAX_NEST 64
#define UNDEFINED 0xFFFFFFFFu

static uint32_t u16le(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32le(const unsigned char *p) { return u16le(p) | u16le(p + 2) << 16; }

/* Explicit VR with a 2-byte reserved field and a 4-byte length: the standard's long VRs, and
 * (as DCMTK reads them) any other VR of two upper-case letters; everything else has 2 bytes. */
static int long_vr(const unsigned char *v)
{
    static const char *vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    static const char *short_vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                      "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    for (size_t i = 0; i < sizeof vrs / sizeof vrs[0]; i++)
        if (v[0] == vrs[i][0] && v[1] == vrs[i][1])
            return 1;
    for (size_t i = 0; i < sizeof short_vrs / sizeof short_vrs[0]; i++)
        if (v[0] == short_vrs[i][0] && v[1] == short_vrs[i][1])
            return 0;
    return v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z';
}

typedef struct walker {
    uint64_t pos;            /* inflated bytes consumed */
    uint64_t skip;           /* value bytes still to skip */
    unsigned char hdr[12];
    int have;                /* header bytes collected */
    int depth;               /* open containers of undefined length */
    unsigned char implicit[MAX_NEST + 1];   /* per level: implicit VR inside */
    uint64_t worst_end;      /* the furthest end any element claims, and that element */
    uint32_t worst_tag, worst_len;
    int too_deep;
} walker;

static void claim(walker *w, uint32_t tag, uint32_t len)
{
    uint64_t end = w->pos + len;
    if (end > w->worst_end)
        w->worst_end = end, w->worst_tag = tag, w->worst_len = len;
    w->skip = len;
}

/* One complete header in w->hdr (w->pos is just past it). */
static void header_done(walker *w)
{
    const unsigned char *h = w->hdr;
    uint32_t group = u16le(h), elem = u16le(h + 2), tag = group << 16 | elem;
    int implicit = w->implicit[w->depth];
    uint32_t len;
    int enters_implicit = implicit;
    if (group == 0xFFFE || implicit) {
        len = u32le(h + 4);
    } else if (long_vr(h + 4)) {
        len = u32le(h + 8);
        enters_implicit = h[4] == 'U' && h[5] == 'N';
    } else {
        len = u16le(h + 6);
    }
    if (group == 0xFFFE && (elem == 0xE00D || elem == 0xE0DD)) {   /* item / sequence delimiter */
        if (w->depth > 0)
            w->depth--;
        return;
    }
    if (len != UNDEFINED) {
        claim(w, tag, len);
        return;
    }
    if (w->depth == MAX_NEST) {
        w->too_deep = 1;
        return;
    }
    w->depth++;
    w->implicit[w->depth] = (unsigned char)enters_implicit;
}

/* The header length once its first 6 bytes are known. */
static int header_size(const walker *w)
{
    if (w->have < 6)
        return 6;
    if (u16le(w->hdr) == 0xFFFE || w->implicit[w->depth] || !long_vr(w->hdr + 4))
        return 8;
    return 12;
}

static void walk(walker *w, const unsigned char *p, size_t n)
{
    while (n > 0 && !w->too_deep) {
        if (w->skip > 0) {
            size_t k = w->skip < n ? (size_t)w->skip : n;
            w->skip -= k, w->pos += k, p += k, n -= k;
            continue;
        }
        w->hdr[w->have++] = *p++;
        w->pos++, n--;
        if (w->have >= 6 && w->have == header_size(w)) {
            header_done(w);
            w->have = 0;
        }
    }
}

int dicom_deflate_check(const char *path, const char *shown, int64_t start, c2_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return C2_OK;
    unsigned char *in = malloc(CHUNK), *out = malloc(CHUNK);
    int rc = C2_OK;
    path = shown;   /* from here on, the name in messages */
    if (!in || !out) {
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for the deflate check", path);
        goto done;
    }
    if (start < 0 || fseeko(f, (off_t)start, SEEK_SET) != 0)
        goto done;   /* not ours to judge: DCMTK reports a file it cannot read */

    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {   /* raw deflate, as the standard and DCMTK */
        rc = c2_fail(e, C2_ENOMEM, "%s: zlib could not start", path);
        goto done;
    }
    walker w;
    memset(&w, 0, sizeof w);
    const uint64_t max_bytes = (uint64_t)c2_limits_get()->max_bytes;
    int zr = Z_OK;
    while (zr != Z_STREAM_END && !w.too_deep) {
        z.avail_in = (uInt)fread(in, 1, CHUNK, f);
        z.next_in = in;
        if (z.avail_in == 0)
            break;   /* the stream ends early: what was inflated is the dataset */
        do {
            z.next_out = out, z.avail_out = CHUNK;
            zr = inflate(&z, Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                rc = c2_fail(e, C2_EINVAL, "%s: the deflated dataset is damaged (zlib: %s, after %llu bytes)", path,
                             z.msg ? z.msg : "error", (unsigned long long)w.pos);
                break;
            }
            walk(&w, out, CHUNK - z.avail_out);
            if (w.pos > max_bytes) {
                rc = c2_fail(e, C2_ELIMIT, "%s: the deflated dataset inflates past the limit (%lld bytes)", path,
                             (long long)max_bytes);
                break;
            }
        } while (z.avail_out == 0 && zr != Z_STREAM_END);
        if (rc)
            break;
    }
    inflateEnd(&z);
    if (rc)
        goto done;
    if (w.too_deep)
        rc = c2_fail(e, C2_EINVAL, "%s: the deflated dataset nests sequences deeper than %d", path, MAX_NEST);
    else if (w.worst_end > w.pos)
        rc = c2_fail(e, C2_EINVAL,
                     "%s: an element is longer than the deflated dataset (element (%04X,%04X) claims %lu bytes, "
                     "the dataset has %llu)",
                     path, (unsigned)(w.worst_tag >> 16), (unsigned)(w.worst_tag & 0xFFFF),
                     (unsigned long)w.worst_len, (unsigned long long)w.pos);
done:
    fclose(f);
    free(in);
    free(out);
    return rc;
}
