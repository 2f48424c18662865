/* Pushing files to a destination with retries and the sent-ledger (pacs_ledger.c): used
 * by `c2seg push` and `c2seg predict --store`. Objects the ledger lists as arrived at
 * this destination are skipped; the rest go in one association / one series of STOW-RS
 * requests per attempt; a transport failure (server down, association refused, broken
 * transfer, timeout) is retried after a back-off that doubles; an object the server
 * refuses is not retried in the same run. Files are only read, never moved or removed. */
#include "pipeline/pacs/pacs.h"
#include "pipeline/pipeline.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/dicom.h"

typedef struct file_list {
    char **v;
    int n;
    size_t cap;
} file_list;

static int list_add(file_list *l, const char *path, c2_err *e)
{
    if (c2_grow(&l->v, sizeof *l->v, (size_t)l->n + 1, &l->cap) != C2_OK)
        return c2_fail(e, C2_ENOMEM, "out of memory listing files");
    if (!(l->v[l->n] = strdup(path)))
        return c2_fail(e, C2_ENOMEM, "out of memory listing files");
    l->n++;
    return C2_OK;
}

static int walk(file_list *l, const char *path, int depth, c2_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return c2_fail(e, C2_ENOTFOUND, "%s: no such file or folder", path);
    if (!S_ISDIR(st.st_mode)) {
        /* temporaries of an interrupted write are never sent */
        if (strstr(c2_basename(path), ".tmp.") || !S_ISREG(st.st_mode) || !dicom_probe(path))
            return C2_OK;
        return list_add(l, path, e);
    }
    if (depth > c2_limits_get()->max_depth)
        return c2_fail(e, C2_ELIMIT, "%s: folders nested deeper than %d", path, c2_limits_get()->max_depth);
    DIR *d = opendir(path);
    if (!d)
        return c2_fail(e, C2_EIO, "%s: cannot read the folder", path);
    int rc = C2_OK;
    for (struct dirent *de; rc == C2_OK && (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4096];
        if (c2_path_join(sub, sizeof sub, path, de->d_name) != C2_OK)
            continue;
        rc = walk(l, sub, depth + 1, e);
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int pacs_collect_files(const char *path, char ***files, int *n, c2_err *e)
{
    file_list l = {0};
    struct stat st;
    int rc = C2_OK;
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
        rc = list_add(&l, path, e); /* a named file is sent (or refused) as given */
    else
        rc = walk(&l, path, 0, e);
    if (rc != C2_OK) {
        pacs_free_files(l.v, l.n);
        return rc;
    }
    qsort(l.v, (size_t)l.n, sizeof *l.v, cmp_str);
    *files = l.v;
    *n = l.n;
    return C2_OK;
}

void pacs_free_files(char **files, int n)
{
    for (int i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

typedef struct push_ctx {
    pacs_ledger *ledger;
    const char *dest;
    progress *prog;
    int n_sent, ledger_failed;
} push_ctx;

static void on_confirmed(void *user, pacs_item *it)
{
    push_ctx *c = user;
    c2_err e = {0};
    if (c->ledger && pacs_ledger_add(c->ledger, c->dest, it->sop_uid, it->path, &e) != C2_OK && !c->ledger_failed++)
        c2_warn("%s", e.msg);
    c->n_sent++;
    progress_step(c->prog, 1, c2_basename(it->path));
}


int pacs_push_files(const pacs_endpoint *ep, const char *const *files, int n_files, const pacs_push_options *o,
                    pacs_push_result *res, c2_err *e)
{
    memset(res, 0, sizeof *res);
    res->n_files = n_files;
    char dest[1100];
    snprintf(dest, sizeof dest, "%s", pacs_endpoint_name(ep));
    if (ep->kind == PACS_DIMSE) /* the same server under another calling AE is the same destination */
        snprintf(dest, sizeof dest, "dicom://%s@%s:%d", ep->called_aet, ep->host, ep->port);
    pacs_ledger *ledger = NULL;
    int rc = o->ledger ? pacs_ledger_open(&ledger, o->ledger, e) : C2_OK;
    if (rc != C2_OK)
        return rc;
    pacs_item *items = calloc((size_t)(n_files ? n_files : 1), sizeof *items);
    if (!items) {
        pacs_ledger_close(ledger);
        return c2_fail(e, C2_ENOMEM, "out of memory for %d files to push", n_files);
    }
    int n = 0, unreadable = 0;
    for (int i = 0; i < n_files; i++) {
        c2_err fe = {0};
        if (pacs_item_read(&items[n], files[i], &fe) != C2_OK) {
            c2_warn("not sent: %s", fe.msg);
            unreadable++;
            continue;
        }
        if (ledger && pacs_ledger_has(ledger, dest, items[n].sop_uid)) {
            res->n_skipped++;
            continue;
        }
        /* the same object twice among the inputs is sent once */
        int dup = 0;
        for (int k = 0; k < n && !dup; k++)
            dup = strcmp(items[k].sop_uid, items[n].sop_uid) == 0;
        if (dup) {
            res->n_skipped++;
            continue;
        }
        n++;
    }
    progress p;
    progress_start(&p, "objects", n);
    push_ctx ctx = {.ledger = ledger, .dest = dest, .prog = &p};
    int retries = o->retries >= 0 ? o->retries : 3;
    double wait = o->backoff_s > 0 ? o->backoff_s : 1.0;
    c2_err last = {0};
    int transport_ok = n == 0;
    for (int attempt = 0; attempt <= retries && n > 0; attempt++) {
        int pending = 0;
        for (int i = 0; i < n; i++)
            pending += !items[i].done;
        if (pending == 0)
            break;
        if (attempt > 0) {
            if (!o->quiet)
                cli_log("%s; retrying in %.1f s (attempt %d of %d)", last.msg, wait, attempt + 1, retries + 1);
            pacs_sleep(wait);
            wait *= 2;
        }
        for (int i = 0; i < n; i++)
            items[i].reason[0] = 0;
        c2_err_clear(&last);
        int src = pacs_store(ep, items, n, on_confirmed, &ctx, &last);
        if (src == C2_OK) {
            transport_ok = 1;
            break;
        }
        if (src != C2_EIO) /* a refusal (HTTP 4xx, bad input): the same again would fail the same way */
            break;
    }
    progress_finish(&p);
    res->n_sent = ctx.n_sent;
    for (int i = 0; i < n; i++) {
        if (items[i].done)
            continue;
        res->n_failed++;
        c2_warn("did not arrive at %s: %s (SOP Instance %s): %s", dest, items[i].path, items[i].sop_uid,
                items[i].reason[0] ? items[i].reason : transport_ok ? "not confirmed" : "not sent (see the error)");
    }
    res->n_failed += unreadable;
    free(items);
    pacs_ledger_close(ledger);
    if (res->n_failed == 0)
        return C2_OK;
    if (!transport_ok)
        return c2_fail(e, C2_EIO, "%s (%d attempt(s)); %d of %d objects did not arrive; a re-run sends only those",
                       last.msg, retries + 1, res->n_failed, n_files);
    return c2_fail(e, C2_EIO, "%d of %d objects did not arrive at %s; a re-run sends only those", res->n_failed,
                   n_files, dest);
}

int pacs_store_endpoint(const pacs_store_options *s, pacs_endpoint *ep, c2_err *e)
{
    memset(ep, 0, sizeof *ep);
    int rc = s->aet ? pacs_endpoint_option(ep, "--aet", s->aet, e) : 2;
    if (rc < 0)
        return rc;
    ep->tls = s->tls;
    ep->ca_file = s->ca;
    ep->cert_file = s->cert;
    ep->key_file = s->key;
    return pacs_endpoint_parse(s->dest, ep, e);
}

int pacs_store_folder(const pacs_store_options *s, const char *outdir, pacs_push_result *res, c2_err *e)
{
    memset(res, 0, sizeof *res);
    pacs_endpoint ep;
    int rc = pacs_store_endpoint(s, &ep, e);
    if (rc != C2_OK)
        return rc;
    char ledger[4200];
    pacs_default_ledger(ledger, sizeof ledger, outdir);
    char **files = NULL;
    int n = 0;
    rc = pacs_collect_files(outdir, &files, &n, e);
    if (rc != C2_OK)
        return rc;
    pacs_push_options po = {.retries = 3, .backoff_s = 1.0, .ledger = ledger};
    rc = pacs_push_files(&ep, (const char *const *)files, n, &po, res, e);
    pacs_free_files(files, n);
    return rc;
}
