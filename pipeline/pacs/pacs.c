/* pipeline/pacs: endpoints (SOURCE / DEST strings), UID and text checks, and the
 * query / retrieve / store entry points dispatched to DIMSE (pacs_dimse_dcmtk.cc) or
 * DICOMweb (pacs_web.c). */
#include "pipeline/pacs/pacs.h"
#include "pipeline/pacs/pacs_dimse.h"

#include "io/dicom.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int pacs_is_uid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isdigit((unsigned char)s[i]) || (s[i] == '.' && s[i + 1] != '.')))
            return 0;
    return 1;
}

void pacs_copy_text(char *out, size_t cap, const char *in, size_t n)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < n && in[i] && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch >= 0x20 && ch != 0x7f)
            out[o++] = (char)ch;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = 0;
    size_t b = 0;
    while (out[b] == ' ')
        b++;
    if (b)
        memmove(out, out + b, o - b + 1);
}

static int valid_aet(const char *s, size_t n)
{
    if (n == 0 || n > 16 || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '\\')
            return 0;
    return 1;
}

int pacs_endpoint_parse(const char *s, pacs_endpoint *ep, c2_err *e)
{
    /* options given before the address (pacs_endpoint_option) are kept */
    pacs_endpoint keep = *ep;
    memset(ep, 0, sizeof *ep);
    snprintf(ep->calling_aet, sizeof ep->calling_aet, "%s", keep.calling_aet[0] ? keep.calling_aet : "C2SEG");
    ep->timeout_s = keep.timeout_s > 0 ? keep.timeout_s : 30;
    ep->insecure = keep.insecure;
    ep->move_port = keep.move_port;
    ep->ca_file = keep.ca_file;
    ep->tls = keep.tls;
    ep->cert_file = keep.cert_file;
    ep->key_file = keep.key_file;
    if (!ep->cert_file != !ep->key_file)
        return c2_fail(e, C2_EINVAL, "--cert and --key go together (our certificate and its private key)");
    const char *files[3][2] = {{ep->ca_file, "--ca"}, {ep->cert_file, "--cert"}, {ep->key_file, "--key"}};
    for (int i = 0; i < 3; i++) /* a mistyped name stops here, not at the first association */
        if (files[i][0] && access(files[i][0], R_OK) != 0)
            return c2_fail(e, C2_EINVAL, "%s: cannot read the file of %s (%s)", files[i][0], files[i][1], strerror(errno));
    if (!s || strlen(s) >= sizeof ep->url)
        return c2_fail(e, C2_EINVAL, "no PACS address, or one longer than %zu characters", sizeof ep->url - 1);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return c2_fail(e, C2_EINVAL, "'%s': a PACS address has no spaces or control characters", s);
    if (strncmp(s, "dicom://", 8) == 0) {
        const char *a = s + 8, *at = strchr(a, '@');
        if (!at || !valid_aet(a, (size_t)(at - a)))
            return c2_fail(e, C2_EINVAL, "'%s': expected dicom://AET@host:port with an AE title of 1-16 characters", s);
        memcpy(ep->called_aet, a, (size_t)(at - a));
        const char *h = at + 1, *colon = strrchr(h, ':');
        if (!colon || colon == h || (size_t)(colon - h) >= sizeof ep->host)
            return c2_fail(e, C2_EINVAL, "'%s': expected dicom://AET@host:port", s);
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || port < 1 || port > 65535)
            return c2_fail(e, C2_EINVAL, "'%s': the port must be 1..65535", s);
        memcpy(ep->host, h, (size_t)(colon - h));
        for (const char *p = ep->host; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
                return c2_fail(e, C2_EINVAL, "'%s': the host name has a character other than letters, digits, '.', '-'",
                               s);
        ep->port = (int)port;
        ep->kind = PACS_DIMSE;
        if (ep->tls && ep->move_port && !ep->cert_file)
            return c2_fail(e, C2_EINVAL, "--tls with --move-port needs --cert and --key: the certificate our C-MOVE "
                                         "storage SCP shows the server");
        return C2_OK;
    }
    if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) {
        if (ep->tls)
            return c2_fail(e, C2_EINVAL, "'%s': --tls is for dicom:// addresses (DICOMweb uses TLS with https://)", s);
        const char *h = strstr(s, "//") + 2;
        if (!*h || *h == '/' || *h == ':')
            return c2_fail(e, C2_EINVAL, "'%s': no host in the DICOMweb address", s);
        snprintf(ep->url, sizeof ep->url, "%s", s);
        size_t n = strlen(ep->url);
        while (n > 0 && ep->url[n - 1] == '/')
            ep->url[--n] = 0;
        ep->kind = PACS_WEB;
        return C2_OK;
    }
    return c2_fail(e, C2_EINVAL, "'%s': a PACS address is dicom://AET@host:port or http(s)://host:port/dicom-web", s);
}

/* An integer option value in lo..hi into *out; returns 2 (option and value taken). */
static int int_option(const char *opt, const char *value, long lo, long hi, const char *unit, int *out, c2_err *e)
{
    char *end;
    long x = strtol(value, &end, 10);
    if (!*value || *end || x < lo || x > hi)
        return c2_fail(e, C2_EINVAL, "invalid value '%s' for %s (%ld..%ld%s)", value, opt, lo, hi, unit);
    *out = (int)x;
    return 2;
}

int pacs_endpoint_option(pacs_endpoint *ep, const char *opt, const char *value, c2_err *e)
{
    int *flag = strcmp(opt, "--insecure") == 0 ? &ep->insecure : strcmp(opt, "--tls") == 0 ? &ep->tls : NULL;
    if (flag) {
        *flag = 1;
        return 1;
    }
    const char **file = strcmp(opt, "--ca") == 0     ? &ep->ca_file
                        : strcmp(opt, "--cert") == 0 ? &ep->cert_file
                        : strcmp(opt, "--key") == 0  ? &ep->key_file
                                                     : NULL;
    int takes = file || strcmp(opt, "--aet") == 0 || strcmp(opt, "--timeout") == 0 || strcmp(opt, "--move-port") == 0;
    if (!takes)
        return 0;
    if (!value)
        return c2_fail(e, C2_EINVAL, "%s needs a value", opt);
    if (strcmp(opt, "--aet") == 0) {
        if (!valid_aet(value, strlen(value)))
            return c2_fail(e, C2_EINVAL, "invalid AE title '%s' (1-16 characters, no backslash)", value);
        snprintf(ep->calling_aet, sizeof ep->calling_aet, "%s", value);
    } else if (strcmp(opt, "--timeout") == 0) {
        return int_option(opt, value, 1, 86400, " seconds", &ep->timeout_s, e);
    } else if (strcmp(opt, "--move-port") == 0) {
        return int_option(opt, value, 1, 65535, "", &ep->move_port, e);
    } else {
        *file = value;
    }
    return 2;
}

int pacs_stage_option(pacs_endpoint *ep, int *retries, int *quiet, const char *opt, const char *value, c2_err *e)
{
    if (strcmp(opt, "-q") == 0 || strcmp(opt, "--quiet") == 0) {
        *quiet = 1;
        return 1;
    }
    if (strcmp(opt, "--retries") != 0)
        return pacs_endpoint_option(ep, opt, value, e);
    if (!value)
        return c2_fail(e, C2_EINVAL, "%s needs a value", opt);
    return int_option(opt, value, 0, 100, "", retries, e);
}

const char *pacs_endpoint_name(const pacs_endpoint *ep)
{
    static _Thread_local char name[1100];
    if (ep->kind == PACS_DIMSE) {
        snprintf(name, sizeof name, "dicom://%s@%s:%d", ep->called_aet, ep->host, ep->port);
        return name;
    }
    /* drop user:password@ from the address */
    const char *h = strstr(ep->url, "//");
    h = h ? h + 2 : ep->url;
    const char *slash = strchr(h, '/'), *at = strchr(h, '@');
    if (at && (!slash || at < slash))
        snprintf(name, sizeof name, "%.*s%s", (int)(h - ep->url), ep->url, at + 1);
    else
        snprintf(name, sizeof name, "%s", ep->url);
    return name;
}

static int query_check(const pacs_query *q, c2_err *e)
{
    const char *uids[2] = {q->study_uid, q->series_uid};
    for (int i = 0; i < 2; i++)
        if (uids[i] && uids[i][0] && !pacs_is_uid(uids[i]))
            return c2_fail(e, C2_EINVAL, "'%s' is not a DICOM UID", uids[i]);
    const char *d = q->date;
    if (d && d[0]) {
        size_t n = strlen(d);
        int ok = n == 8 || n == 9 || n == 17;
        for (size_t i = 0; i < n && ok; i++)
            ok = isdigit((unsigned char)d[i]) || (d[i] == '-' && (i == 8 || (i == 0 && n == 9)));
        if (!ok)
            return c2_fail(e, C2_EINVAL, "'%s' is not a date or date range (YYYYMMDD, YYYYMMDD-YYYYMMDD)", d);
    }
    const char *t[2] = {q->patient_id, q->accession};
    for (int i = 0; i < 2; i++)
        if (t[i] && (strlen(t[i]) > 64 || strchr(t[i], '\\')))
            return c2_fail(e, C2_EINVAL, "'%s' is not a valid Patient ID / Accession Number", t[i]);
    return C2_OK;
}

int pacs_find(const pacs_endpoint *ep, pacs_level level, const pacs_query *q, pacs_record **out, int *n_out,
              c2_err *e)
{
    *out = NULL;
    *n_out = 0;
    int rc = query_check(q, e);
    if (rc != C2_OK)
        return rc;
    return ep->kind == PACS_DIMSE ? pacs_dimse_find(ep, level, q, out, n_out, e)
                                  : pacs_web_find(ep, level, q, out, n_out, e);
}

int pacs_retrieve(const pacs_endpoint *ep, const char *study_uid, const char *series_uid, const char *const *sops,
                  int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e)
{
    *n_stored = 0;
    if (!pacs_is_uid(study_uid) || !pacs_is_uid(series_uid))
        return c2_fail(e, C2_EINVAL, "retrieve: invalid study or series UID");
    for (int i = 0; sops && i < n_sops; i++)
        if (!pacs_is_uid(sops[i]))
            return c2_fail(e, C2_EINVAL, "retrieve: '%s' is not a SOP Instance UID", sops[i]);
    if (ep->kind == PACS_WEB)
        return pacs_web_get(ep, study_uid, series_uid, sops, n_sops, sink, n_stored, e);
    return ep->move_port ? pacs_dimse_move(ep, study_uid, series_uid, sops, n_sops, sink, n_stored, e)
                         : pacs_dimse_get(ep, study_uid, series_uid, sops, n_sops, sink, n_stored, e);
}

int pacs_item_read(pacs_item *it, const char *path, c2_err *e)
{
    memset(it, 0, sizeof *it);
    it->path = path;
    if (!dicom_probe(path))
        return c2_fail(e, C2_EINVAL, "%s: not a DICOM file", path);
    dicom_object o;
    memset(&o, 0, sizeof o);
    int rc = dicom_read_meta(path, &o, e);
    if (rc != C2_OK)
        return rc;
    snprintf(it->sop_uid, sizeof it->sop_uid, "%s", o.sop_instance_uid);
    snprintf(it->sop_class, sizeof it->sop_class, "%s", o.sop_class_uid);
    snprintf(it->study_uid, sizeof it->study_uid, "%s", o.study_uid);
    snprintf(it->transfer_syntax, sizeof it->transfer_syntax, "%s", o.transfer_syntax);
    dicom_object_free(&o);
    if (!pacs_is_uid(it->sop_uid) || !pacs_is_uid(it->sop_class))
        return c2_fail(e, C2_EINVAL, "%s: no valid SOP Instance / SOP Class UID", path);
    if (!pacs_is_uid(it->transfer_syntax))
        snprintf(it->transfer_syntax, sizeof it->transfer_syntax, "1.2.840.10008.1.2.1");
    return C2_OK;
}

int pacs_store(const pacs_endpoint *ep, pacs_item *items, int n, pacs_confirmed_fn confirmed, void *user, c2_err *e)
{
    return ep->kind == PACS_DIMSE ? pacs_dimse_store(ep, items, n, confirmed, user, e)
                                  : pacs_web_store(ep, items, n, confirmed, user, e);
}

int pacs_echo(const pacs_endpoint *ep, c2_err *e)
{
    return ep->kind == PACS_DIMSE ? pacs_dimse_echo(ep, e) : pacs_web_echo(ep, e);
}

void pacs_shutdown(void) { pacs_dimse_shutdown(); }

void pacs_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) /* interrupted: sleep the rest */
        ;
}
