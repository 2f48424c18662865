/* DICOMweb through libcurl: QIDO-RS (studies / series / instances as application/dicom+json),
 * WADO-RS (a series or single instances as multipart/related application/dicom, kept byte
 * for byte) and STOW-RS (files in multipart/related requests, the answer's Referenced /
 * Failed SOP Sequences read per instance). Only http and https are allowed, no redirects
 * are followed, a connection must open within the endpoint's timeout and a transfer that
 * moves less than one byte per second for that long is abandoned. Answers are untrusted:
 * JSON answers are refused over 64 MiB, retrieved bodies over c2_limits' max_bytes (they
 * go to an unlinked temporary file, not to memory), and every part must be a DICOM file
 * whose UIDs match what was asked for. */
#define _GNU_SOURCE /* memmem, strncasecmp */
#include "pipeline/pacs/pacs_dimse.h"

#include "io/dicom.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { JSON_MAX = 64 << 20, STOW_BATCH_FILES = 32, STOW_BATCH_BYTES = 64 << 20, QIDO_PAGE = 1000 };

/* libcurl is opened on first use (base.h, c2_lazylib), not linked: every other c2seg command
 * starts without it and the ~25 libraries it needs. C2SEG_CURL_SONAME: the soname of the
 * libcurl whose headers the build found (CMakeLists.txt). */
#ifndef C2SEG_CURL_SONAME
#define C2SEG_CURL_SONAME "libcurl.so.4"
#endif
static struct {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    __typeof__(curl_easy_perform) *easy_perform;
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_escape) *easy_escape;
    __typeof__(curl_free) *free;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
} cu;
static const char *const cu_names[] = {"curl_global_init", "curl_easy_init",     "curl_easy_setopt",
                                       "curl_easy_perform", "curl_easy_getinfo", "curl_easy_strerror",
                                       "curl_easy_cleanup", "curl_easy_escape",  "curl_free",
                                       "curl_slist_append", "curl_slist_free_all"};
static c2_lazylib cu_lib = {C2SEG_CURL_SONAME, "DICOMweb", 0, cu_names, sizeof cu_names / sizeof cu_names[0],
                            &cu, sizeof cu, 0, 0};
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { cu.global_init(CURL_GLOBAL_DEFAULT); }

/* Opens libcurl (once) and runs its global initialisation (once). */
static int curl_open(c2_err *e)
{
    int rc = c2_lazylib_open(&cu_lib, e);
    if (rc == C2_OK)
        pthread_once(&curl_once, curl_init);
    return rc;
}

/* Where an answer body goes: memory (up to max) or a file. */
typedef struct sink_buf {
    uint8_t *data;
    size_t n, cap, max;
    FILE *file;
    int over;
    int more;   /* the answer carried "Warning: 299 ...": a QIDO-RS page with more results after it */
} sink_buf;

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *user)
{
    size_t n = size * nmemb;
    if (n >= 12 && strncasecmp(ptr, "Warning:", 8) == 0) {
        const char *v = ptr + 8;
        while (v < ptr + n && (*v == ' ' || *v == '\t'))
            v++;
        if (v + 3 <= ptr + n && memcmp(v, "299", 3) == 0)
            ((sink_buf *)user)->more = 1;
    }
    return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    sink_buf *s = user;
    size_t n = size * nmemb;
    if (s->n + n > s->max) {
        s->over = 1;
        return 0;
    }
    if (s->file) {
        if (fwrite(ptr, 1, n, s->file) != n)
            return 0;
        s->n += n;
        return n;
    }
    if (c2_grow(&s->data, 1, s->n + n + 1, &s->cap) != C2_OK)
        return 0;
    memcpy(s->data + s->n, ptr, n);
    s->n += n;
    s->data[s->n] = 0;
    return n;
}

/* One HTTP request. body / body_n: a POST body (NULL for GET). The answer goes to out;
 * its status to *status and Content-Type to ctype. Fails (C2_EIO) only when no HTTP
 * answer arrived (connection refused, timeout, broken transfer, over the size limit). */
static int http(const pacs_endpoint *ep, const char *url, const char *accept, const char *body_type,
                const void *body, size_t body_n, sink_buf *out, long *status, char *ctype, size_t ctype_cap,
                c2_err *e)
{
    int rc = curl_open(e);
    if (rc != C2_OK)
        return rc;
    CURL *c = cu.easy_init();
    if (!c)
        return c2_fail(e, C2_ENOMEM, "%s: cannot start libcurl", pacs_endpoint_name(ep));
    struct curl_slist *h = NULL;
    char hb[300];
    snprintf(hb, sizeof hb, "Accept: %s", accept);
    h = cu.slist_append(h, hb);
    if (body_type) {
        snprintf(hb, sizeof hb, "Content-Type: %s", body_type);
        h = cu.slist_append(h, hb);
        h = cu.slist_append(h, "Expect:");
    }
    long t = ep->timeout_s > 0 ? ep->timeout_s : 30;
    char errbuf[CURL_ERROR_SIZE] = "";
    cu.easy_setopt(c, CURLOPT_URL, url);
    cu.easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, t);
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, t);
    cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    cu.easy_setopt(c, CURLOPT_WRITEDATA, out);
    cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    cu.easy_setopt(c, CURLOPT_HEADERDATA, out);
    cu.easy_setopt(c, CURLOPT_USERAGENT, "c2seg");
    if (ep->insecure) {
        cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (ep->ca_file)
        cu.easy_setopt(c, CURLOPT_CAINFO, ep->ca_file);
    if (ep->cert_file) { /* client authentication, for a server that asks */
        cu.easy_setopt(c, CURLOPT_SSLCERT, ep->cert_file);
        cu.easy_setopt(c, CURLOPT_SSLKEY, ep->key_file);
    }
    if (body) {
        cu.easy_setopt(c, CURLOPT_POST, 1L);
        cu.easy_setopt(c, CURLOPT_POSTFIELDS, body);
        cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_n);
    }
    CURLcode r = cu.easy_perform(c);
    if (r != CURLE_OK) {
        if (out->over)
            rc = c2_fail(e, C2_ELIMIT, "%s: the answer to %s is larger than %zu bytes", pacs_endpoint_name(ep), url,
                         out->max);
        else
            rc = c2_fail(e, C2_EIO, "%s: %s%s", pacs_endpoint_name(ep), errbuf[0] ? errbuf : cu.easy_strerror(r),
                         r == CURLE_COULDNT_CONNECT ? " (is the server running?)" : "");
    } else {
        char *ct = NULL;
        cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        cu.easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(ctype, ctype_cap, "%s", ct ? ct : "");
    }
    cu.slist_free_all(h);
    cu.easy_cleanup(c);
    return rc;
}

/* Appends "&key=value" (value escaped) to url when value is set. */
static void url_param(char *url, size_t cap, const char *key, const char *value)
{
    if (!value || !value[0])
        return;
    char *esc = cu.easy_escape(NULL, value, 0);
    size_t n = strlen(url);
    snprintf(url + n, cap - n, "%s%s=%s", strchr(url, '?') ? "&" : "?", key, esc ? esc : "");
    cu.free(esc);
}

/* A DICOM JSON attribute's first value as text (strings, numbers, PN's Alphabetic). */
static void json_value(const cJSON *obj, const char *tag, char *out, size_t cap)
{
    out[0] = 0;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, tag);
    const cJSON *v = a ? cJSON_GetObjectItemCaseSensitive(a, "Value") : NULL;
    if (!cJSON_IsArray(v))
        return;
    size_t o = 0;
    int k = 0;
    for (const cJSON *x = v->child; x && o + 1 < cap && k < 16; x = x->next, k++) {
        char buf[80];
        const char *s = NULL;
        if (cJSON_IsString(x))
            s = x->valuestring;
        else if (cJSON_IsNumber(x) && x->valuedouble >= 0 && x->valuedouble < 9e15) {
            snprintf(buf, sizeof buf, "%.0f", x->valuedouble);
            s = buf;
        } else if (cJSON_IsObject(x) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(x, "Alphabetic")))
            s = cJSON_GetObjectItemCaseSensitive(x, "Alphabetic")->valuestring;
        if (!s)
            continue;
        if (o)
            out[o++] = '\\';
        pacs_copy_text(out + o, cap - o, s, strlen(s));
        o += strlen(out + o);
    }
}

static int body_error(const pacs_endpoint *ep, const char *what, long status, const sink_buf *b, c2_err *e)
{
    char snippet[160];
    pacs_copy_text(snippet, sizeof snippet, b->data ? (const char *)b->data : "", b->data ? b->n : 0);
    /* 5xx, 408 and 429 may pass: retried; other answers are refusals */
    int code = status >= 500 || status == 408 || status == 429 ? C2_EIO : C2_EINVAL;
    return c2_fail(e, code, "%s: %s answered HTTP %ld%s%s", pacs_endpoint_name(ep), what, status,
                   snippet[0] ? ": " : "", snippet);
}

/* The UID a record of this level is about. */
static const char *own_uid(const pacs_record *p, pacs_level level)
{
    return level == PACS_STUDY ? p->study_uid : level == PACS_SERIES ? p->series_uid : p->sop_uid;
}

/* One QIDO-RS page: the records of the answer to url appended to *r (n used, cap
 * allocated). *got: results in the answer (valid or not), *more: the server said more
 * results follow (Warning 299), *added: records appended. */
static int qido_page(const pacs_endpoint *ep, pacs_level level, const char *url, const char *st, const char *se,
                     pacs_record **r, int *n, size_t *cap, int *got, int *more, int *added, int *dropped, c2_err *e)
{
    sink_buf b = {.max = JSON_MAX};
    long status = 0;
    char ct[256];
    *got = *more = *added = 0;
    int rc = http(ep, url, "application/dicom+json", NULL, NULL, 0, &b, &status, ct, sizeof ct, e);
    if (rc == C2_OK && status == 204)
        b.n = 0; /* no match */
    else if (rc == C2_OK && status != 200)
        rc = body_error(ep, "QIDO-RS", status, &b, e);
    cJSON *doc = NULL;
    if (rc == C2_OK && b.n > 0) {
        doc = cJSON_ParseWithLength((const char *)b.data, b.n);
        if (!cJSON_IsArray(doc))
            rc = c2_fail(e, C2_EINVAL, "%s: the QIDO-RS answer is not a JSON array", pacs_endpoint_name(ep));
    }
    *got = doc ? cJSON_GetArraySize(doc) : 0;
    *more = b.more;
    if (rc == C2_OK && *n + *got > PACS_MAX_RESULTS)
        rc = c2_fail(e, C2_ELIMIT, "%s: the QIDO-RS answers have more than %d results", pacs_endpoint_name(ep),
                     PACS_MAX_RESULTS);
    if (rc == C2_OK && *got > 0)
        rc = c2_grow(r, sizeof **r, (size_t)(*n + *got), cap);
    for (const cJSON *x = doc ? doc->child : NULL; rc == C2_OK && x; x = x->next) {
        pacs_record *p = &(*r)[*n];
        memset(p, 0, sizeof *p);
        char num[32];
        json_value(x, "00100020", p->patient_id, sizeof p->patient_id);
        json_value(x, "0020000D", p->study_uid, sizeof p->study_uid);
        json_value(x, "0020000E", p->series_uid, sizeof p->series_uid);
        json_value(x, "00080018", p->sop_uid, sizeof p->sop_uid);
        json_value(x, "00080016", p->sop_class, sizeof p->sop_class);
        json_value(x, "00080050", p->accession, sizeof p->accession);
        json_value(x, "00080020", p->study_date, sizeof p->study_date);
        json_value(x, level == PACS_STUDY ? "00080061" : "00080060", p->modality, sizeof p->modality);
        json_value(x, level == PACS_STUDY ? "00201208" : "00201209", num, sizeof num);
        char *end;
        long long v = strtoll(num, &end, 10);
        p->n_instances = num[0] && !*end && v >= 0 ? v : -1;
        if (!p->study_uid[0] && st)
            snprintf(p->study_uid, sizeof p->study_uid, "%s", st);
        if (!p->series_uid[0] && se && level == PACS_IMAGE)
            snprintf(p->series_uid, sizeof p->series_uid, "%s", se);
        if (!pacs_is_uid(own_uid(p, level))) {
            (*dropped)++;
            continue;
        }
        (*n)++, (*added)++;
    }
    cJSON_Delete(doc);
    free(b.data);
    return rc;
}

/* QIDO-RS in pages of QIDO_PAGE (limit / offset): the next page is asked for while a page
 * comes back full or with a "Warning: 299" (a server that caps its answers below our
 * limit says so that way, PS3.18 8.3.4.4); a page that starts with the record the previous
 * one started with (a server that ignores offset) is dropped and ends the query. */

int pacs_web_find(const pacs_endpoint *ep, pacs_level level, const pacs_query *q, pacs_record **out, int *n_out,
                  c2_err *e)
{
    *out = NULL;
    *n_out = 0;
    int rc = curl_open(e);   /* url_param escapes with libcurl */
    if (rc != C2_OK)
        return rc;
    char base[4096];
    const char *st = q->study_uid && q->study_uid[0] ? q->study_uid : NULL;
    const char *se = q->series_uid && q->series_uid[0] ? q->series_uid : NULL;
    if (level == PACS_STUDY)
        snprintf(base, sizeof base, "%s/studies", ep->url);
    else if (level == PACS_SERIES)
        snprintf(base, sizeof base, st ? "%s/studies/%s/series" : "%s/series", ep->url, st ? st : "");
    else if (st && se)
        snprintf(base, sizeof base, "%s/studies/%s/series/%s/instances", ep->url, st, se);
    else
        snprintf(base, sizeof base, st ? "%s/studies/%s/instances" : "%s/instances", ep->url, st ? st : "");
    if (level == PACS_STUDY || !st)
        url_param(base, sizeof base, "StudyInstanceUID", st);
    if (level == PACS_IMAGE && !(st && se))
        url_param(base, sizeof base, "SeriesInstanceUID", se);
    url_param(base, sizeof base, "PatientID", q->patient_id);
    url_param(base, sizeof base, "AccessionNumber", q->accession);
    url_param(base, sizeof base, "StudyDate", q->date);
    url_param(base, sizeof base, "includefield",
              level == PACS_STUDY    ? "00100020,00080050,00080020,00080061,00201208"
              : level == PACS_SERIES ? "00100020,00080060,00201209"
                                     : "00100020,00080060,00080016");
    pacs_record *r = NULL;
    size_t cap = 0;
    int n = 0, dropped = 0, offset = 0, prev = 0, got, more, added;
    do {
        char url[4200], page[64];
        snprintf(page, sizeof page, "%d", QIDO_PAGE);
        snprintf(url, sizeof url, "%s", base);
        url_param(url, sizeof url, "limit", page);
        snprintf(page, sizeof page, "%d", offset);
        if (offset)
            url_param(url, sizeof url, "offset", page);
        int before = n;
        rc = qido_page(ep, level, url, st, se, &r, &n, &cap, &got, &more, &added, &dropped, e);
        if (rc == C2_OK && offset && added && strcmp(own_uid(&r[before], level), own_uid(&r[prev], level)) == 0) {
            c2_warn("%s: the QIDO-RS server ignored offset=%d; its first %d results are used", pacs_endpoint_name(ep),
                    offset, before);
            n = before;
            break;
        }
        prev = before;
        offset += got;
    } while (rc == C2_OK && got > 0 && added > 0 && (got >= QIDO_PAGE || more));
    if (dropped)
        c2_warn("%s: %d QIDO-RS results without a valid UID were ignored", pacs_endpoint_name(ep), dropped);
    if (rc != C2_OK || n == 0) {
        free(r);
        return rc;
    }
    *out = r;
    *n_out = n;
    return C2_OK;
}

int pacs_web_echo(const pacs_endpoint *ep, c2_err *e)
{
    char url[1200];
    snprintf(url, sizeof url, "%s/studies?limit=1", ep->url);
    sink_buf b = {.max = JSON_MAX};
    long status = 0;
    char ct[256];
    int rc = http(ep, url, "application/dicom+json", NULL, NULL, 0, &b, &status, ct, sizeof ct, e);
    if (rc == C2_OK && status != 200 && status != 204)
        rc = body_error(ep, "QIDO-RS", status, &b, e);
    free(b.data);
    return rc;
}

/* The File Meta Information of a Part 10 file in memory (explicit VR little endian,
 * group 0002): its SOP Class / Instance UIDs. 0 when it is not a Part 10 file. */
static int part10_meta(const uint8_t *d, size_t n, char *cls, char *sop)
{
    cls[0] = sop[0] = 0;
    if (n < 132 || memcmp(d + 128, "DICM", 4) != 0)
        return 0;
    size_t p = 132;
    while (p + 8 <= n) {
        unsigned g = d[p] | d[p + 1] << 8, el = d[p + 2] | d[p + 3] << 8;
        if (g != 2)
            break;
        char vr[3] = {(char)d[p + 4], (char)d[p + 5], 0};
        size_t len, hdr;
        if (!strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "UN") || !strcmp(vr, "SQ") || !strcmp(vr, "UT") ||
            !strcmp(vr, "UC") || !strcmp(vr, "UR")) {
            if (p + 12 > n)
                return 0;
            len = (size_t)d[p + 8] | (size_t)d[p + 9] << 8 | (size_t)d[p + 10] << 16 | (size_t)d[p + 11] << 24;
            hdr = 12;
        } else {
            len = (size_t)(d[p + 6] | d[p + 7] << 8);
            hdr = 8;
        }
        if (len > n - p - hdr)
            return 0;
        if ((el == 2 || el == 3) && len < PACS_UID_CAP) {
            char *dst = el == 2 ? cls : sop;
            pacs_copy_text(dst, PACS_UID_CAP, (const char *)d + p + hdr, len);
        }
        p += hdr + len;
    }
    return pacs_is_uid(cls) && pacs_is_uid(sop);
}

/* One retrieved part: placed by the sink, written to a temporary, checked (its study /
 * series / SOP UIDs as read by dicom_read_meta), renamed. Returns 1 written, 0 dropped,
 * or an error. */
static int part_store(const uint8_t *d, size_t n, const char *study, const char *series, const pacs_sink *sink,
                      int *foreign, c2_err *e)
{
    pacs_record r;
    memset(&r, 0, sizeof r);
    if (!part10_meta(d, n, r.sop_class, r.sop_uid)) {
        (*foreign)++;
        return 0;
    }
    snprintf(r.study_uid, sizeof r.study_uid, "%s", study);
    snprintf(r.series_uid, sizeof r.series_uid, "%s", series);
    char path[4096], tmp[4200];
    if (sink->place(sink->user, &r, path, sizeof path) != 1)
        return 0;
    c2_temp_name(tmp, sizeof tmp, path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return c2_fail(e, C2_EIO, "%s: cannot create the file", tmp);
    int ok = fwrite(d, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        remove(tmp);
        return c2_fail(e, C2_EIO, "%s: cannot write the file", tmp);
    }
    dicom_object o;
    c2_err me = {0};
    memset(&o, 0, sizeof o);
    if (dicom_read_meta(tmp, &o, &me) != C2_OK || strcmp(o.study_uid, study) != 0 || strcmp(o.series_uid, series) != 0 ||
        strcmp(o.sop_instance_uid, r.sop_uid) != 0) {
        if (o.frame)
            dicom_object_free(&o);
        remove(tmp);
        (*foreign)++;
        return 0;
    }
    snprintf(r.patient_id, sizeof r.patient_id, "%s", o.patient_id);
    snprintf(r.modality, sizeof r.modality, "%s", o.modality);
    snprintf(r.accession, sizeof r.accession, "%s", o.accession_number);
    dicom_object_free(&o);
    int rc = c2_rename_into_place(tmp, path, e);
    if (rc != C2_OK) {
        remove(tmp);
        return rc;
    }
    if (sink->stored)
        sink->stored(sink->user, &r, path);
    return 1;
}

/* GET one WADO-RS resource into an unlinked temporary file and store its parts. */
static int wado_one(const pacs_endpoint *ep, const char *url, const char *study, const char *series,
                    const pacs_sink *sink, int *n_stored, int *foreign, c2_err *e)
{
    sink_buf b = {.max = (size_t)c2_limits_get()->max_bytes};
    b.file = tmpfile();
    if (!b.file)
        return c2_fail(e, C2_EIO, "cannot create a temporary file for the WADO-RS answer");
    long status = 0;
    char ct[256];
    int rc = http(ep, url, "multipart/related; type=\"application/dicom\"; transfer-syntax=*", NULL, NULL, 0, &b,
                  &status, ct, sizeof ct, e);
    if (rc == C2_OK && fflush(b.file) != 0)
        rc = c2_fail(e, C2_EIO, "cannot write the temporary file for the WADO-RS answer");
    uint8_t *map = NULL;
    if (rc == C2_OK && b.n > 0) {
        map = mmap(NULL, b.n, PROT_READ, MAP_PRIVATE, fileno(b.file), 0);
        if (map == MAP_FAILED) {
            map = NULL;
            rc = c2_fail(e, C2_EIO, "cannot map the WADO-RS answer (%zu bytes)", b.n);
        }
    }
    if (rc == C2_OK && status != 200) {
        char snippet[160];
        pacs_copy_text(snippet, sizeof snippet, map ? (const char *)map : "", map ? (b.n < 159 ? b.n : 159) : 0);
        rc = c2_fail(e, status >= 500 || status == 408 || status == 429 ? C2_EIO : C2_EINVAL,
                     "%s: WADO-RS %s answered HTTP %ld%s%s", pacs_endpoint_name(ep), url, status,
                     snippet[0] ? ": " : "", snippet);
    }
    char boundary[80];
    pacs_part *parts = NULL;
    int n_parts = 0;
    if (rc == C2_OK)
        rc = pacs_multipart_boundary(ct, boundary, sizeof boundary, e);
    if (rc == C2_OK)
        rc = pacs_multipart_parse(map, b.n, boundary, &parts, &n_parts, 1000000, e);
    if (rc != C2_OK)
        c2_err_prefix(e, "%s: WADO-RS", pacs_endpoint_name(ep));
    for (int i = 0; rc == C2_OK && i < n_parts; i++) {
        int w = part_store(map + parts[i].off, parts[i].len, study, series, sink, foreign, e);
        if (w < 0)
            rc = w;
        else
            *n_stored += w;
    }
    free(parts);
    if (map)
        munmap(map, b.n);
    fclose(b.file);
    return rc;
}

int pacs_web_get(const pacs_endpoint *ep, const char *study_uid, const char *series_uid, const char *const *sops,
                 int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e)
{
    *n_stored = 0;
    int foreign = 0, rc = C2_OK;
    char url[4096];
    if (!sops) {
        snprintf(url, sizeof url, "%s/studies/%s/series/%s", ep->url, study_uid, series_uid);
        rc = wado_one(ep, url, study_uid, series_uid, sink, n_stored, &foreign, e);
    }
    for (int i = 0; sops && i < n_sops && rc == C2_OK; i++) {
        snprintf(url, sizeof url, "%s/studies/%s/series/%s/instances/%s", ep->url, study_uid, series_uid, sops[i]);
        rc = wado_one(ep, url, study_uid, series_uid, sink, n_stored, &foreign, e);
    }
    if (foreign)
        c2_warn("%s: %d retrieved parts were not DICOM files of the series asked for and were not kept",
                pacs_endpoint_name(ep), foreign);
    return rc;
}

/* Marks the items of a STOW-RS answer: Referenced SOP Sequence (0008,1199) arrived,
 * Failed SOP Sequence (0008,1198) with its Failure Reason (0008,1197). */
static void stow_answer(const cJSON *doc, pacs_item **batch, int nb, pacs_confirmed_fn cb, void *user)
{
    const char *seqs[2] = {"00081199", "00081198"};
    for (int s = 0; s < 2; s++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, seqs[s]);
        const cJSON *v = a ? cJSON_GetObjectItemCaseSensitive(a, "Value") : NULL;
        for (const cJSON *x = cJSON_IsArray(v) ? v->child : NULL; x; x = x->next) {
            char uid[PACS_UID_CAP], why[32];
            json_value(x, "00081155", uid, sizeof uid);
            json_value(x, "00081197", why, sizeof why);
            for (int i = 0; i < nb; i++) {
                if (strcmp(batch[i]->sop_uid, uid) != 0)
                    continue;
                if (s == 0) {
                    if (!batch[i]->done && cb) {
                        batch[i]->done = 1;
                        cb(user, batch[i]);
                    }
                    batch[i]->done = 1;
                    batch[i]->reason[0] = 0;
                } else {
                    snprintf(batch[i]->reason, sizeof batch[i]->reason,
                             "the server refused it (STOW-RS failure reason %s)", why[0] ? why : "not given");
                }
            }
        }
    }
}

static int stow_batch(const pacs_endpoint *ep, pacs_item **batch, int nb, pacs_confirmed_fn cb, void *user,
                      c2_err *e)
{
    /* the files, then a boundary that none of them contains */
    uint8_t **data = calloc((size_t)nb, sizeof *data);
    size_t *len = calloc((size_t)nb, sizeof *len), total = 0;
    int rc = data && len ? C2_OK : c2_fail(e, C2_ENOMEM, "out of memory for a STOW-RS request");
    for (int i = 0; i < nb && rc == C2_OK; i++) {
        rc = c2_read_file(batch[i]->path, (size_t)c2_limits_get()->max_bytes, &data[i], &len[i], e);
        total += len[i] + 200;
    }
    char boundary[64];
    unsigned long long seed = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
    for (int tries = 0; rc == C2_OK; tries++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(boundary, sizeof boundary, "c2seg-%016llx-%d", seed, tries);
        int clash = 0;
        for (int i = 0; i < nb && !clash; i++)
            clash = memmem(data[i], len[i], boundary, strlen(boundary)) != NULL;
        if (!clash)
            break;
    }
    uint8_t *body = rc == C2_OK ? malloc(total + 100) : NULL;
    if (rc == C2_OK && !body)
        rc = c2_fail(e, C2_ENOMEM, "out of memory for a STOW-RS request of %zu bytes", total);
    size_t n = 0;
    for (int i = 0; i < nb && rc == C2_OK; i++) {
        n += (size_t)sprintf((char *)body + n, "--%s\r\nContent-Type: application/dicom\r\n\r\n", boundary);
        memcpy(body + n, data[i], len[i]);
        n += len[i];
        memcpy(body + n, "\r\n", 2);
        n += 2;
    }
    if (rc == C2_OK)
        n += (size_t)sprintf((char *)body + n, "--%s--\r\n", boundary);
    for (int i = 0; data && i < nb; i++)
        free(data[i]);
    free(data);
    free(len);
    char type[200], url[1200], ct[256];
    snprintf(type, sizeof type, "multipart/related; type=\"application/dicom\"; boundary=%s", boundary);
    snprintf(url, sizeof url, "%s/studies", ep->url);
    sink_buf b = {.max = JSON_MAX};
    long status = 0;
    if (rc == C2_OK)
        rc = http(ep, url, "application/dicom+json", type, body, n, &b, &status, ct, sizeof ct, e);
    free(body);
    if (rc == C2_OK && status != 200 && status != 202 && status != 409) {
        rc = body_error(ep, "STOW-RS", status, &b, e);
        for (int i = 0; i < nb; i++)
            snprintf(batch[i]->reason, sizeof batch[i]->reason, "STOW-RS answered HTTP %ld", status);
    }
    if (rc == C2_OK) {
        cJSON *doc = b.n ? cJSON_ParseWithLength((const char *)b.data, b.n) : NULL;
        if (cJSON_IsObject(doc))
            stow_answer(doc, batch, nb, cb, user);
        cJSON_Delete(doc);
        for (int i = 0; i < nb; i++)
            if (!batch[i]->done && !batch[i]->reason[0])
                snprintf(batch[i]->reason, sizeof batch[i]->reason,
                         "the STOW-RS answer (HTTP %ld) does not list it as stored", status);
    }
    free(b.data);
    return rc;
}

int pacs_web_store(const pacs_endpoint *ep, pacs_item *items, int n, pacs_confirmed_fn cb, void *user, c2_err *e)
{
    pacs_item *batch[STOW_BATCH_FILES];
    int nb = 0;
    size_t bytes = 0;
    for (int i = 0; i <= n; i++) {
        long long sz = 0;
        if (i < n) {
            if (items[i].done)
                continue;
            FILE *f = fopen(items[i].path, "rb");
            if (f && fseek(f, 0, SEEK_END) == 0)
                sz = ftell(f);
            if (f)
                fclose(f);
        }
        if (nb > 0 && (i == n || nb == STOW_BATCH_FILES || bytes + (size_t)sz > STOW_BATCH_BYTES)) {
            int rc = stow_batch(ep, batch, nb, cb, user, e);
            if (rc != C2_OK)
                return rc;
            nb = 0;
            bytes = 0;
        }
        if (i < n) {
            batch[nb++] = &items[i];
            bytes += (size_t)sz;
        }
    }
    return C2_OK;
}
