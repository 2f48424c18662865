/* The sent-ledger of `c2seg push` / `predict --store`: one line per object a destination
 * confirmed, "destination<TAB>SOP Instance UID<TAB>file", appended and flushed (fsync)
 * as each confirmation arrives, so a push that breaks off still knows what arrived and
 * a re-run sends only the rest. Lines that do not parse are ignored; a torn last line
 * (no newline: the process died while writing it) is not a confirmation and is cut
 * off before anything is appended.
 * The ledger file is at most 64 MiB. */
#include "pipeline/pacs/pacs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct pacs_ledger {
    FILE *f;
    char **keys; /* "destination\tuid" */
    size_t n, cap;
};

static int ledger_remember(pacs_ledger *l, const char *dest, const char *uid, c2_err *e)
{
    if (c2_grow(&l->keys, sizeof *l->keys, l->n + 1, &l->cap) != C2_OK)
        return c2_fail(e, C2_ENOMEM, "out of memory for the push ledger");
    size_t n = strlen(dest) + strlen(uid) + 2;
    char *k = malloc(n);
    if (!k)
        return c2_fail(e, C2_ENOMEM, "out of memory for the push ledger");
    snprintf(k, n, "%s\t%s", dest, uid);
    l->keys[l->n++] = k;
    return C2_OK;
}

int pacs_ledger_open(pacs_ledger **out, const char *path, c2_err *e)
{
    *out = NULL;
    pacs_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return c2_fail(e, C2_ENOMEM, "out of memory for the push ledger");
    uint8_t *data = NULL;
    size_t n = 0;
    FILE *probe = fopen(path, "rb");
    int rc = C2_OK;
    if (probe) {
        fclose(probe);
        rc = c2_read_file(path, (size_t)64 << 20, &data, &n, e);
    }
    /* a torn last line is cut off (below), so that the next entry starts a line of its own */
    size_t whole = n;
    while (whole > 0 && data[whole - 1] != '\n')
        whole--;
    for (char *line = (char *)data, *next; rc == C2_OK && line && line < (char *)data + n; line = next) {
        char *nl = memchr(line, '\n', (size_t)((char *)data + n - line));
        if (!nl)
            break; /* a torn last line: not confirmed */
        *nl = 0;
        next = nl + 1;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2)
            continue;
        *t1 = *t2 = 0;
        if (pacs_is_uid(t1 + 1))
            rc = ledger_remember(l, line, t1 + 1, e);
    }
    free(data);
    if (rc == C2_OK && whole < n && truncate(path, (off_t)whole) != 0)
        rc = c2_fail(e, C2_EIO, "%s: cannot cut the torn last line of the push ledger", path);
    if (rc == C2_OK && !(l->f = fopen(path, "ab")))
        rc = c2_fail(e, C2_EIO, "%s: cannot open the push ledger for appending", path);
    if (rc != C2_OK) {
        pacs_ledger_close(l);
        return rc;
    }
    *out = l;
    return C2_OK;
}

int pacs_ledger_has(const pacs_ledger *l, const char *dest, const char *uid)
{
    size_t dl = strlen(dest);
    for (size_t i = 0; i < l->n; i++)
        if (strncmp(l->keys[i], dest, dl) == 0 && l->keys[i][dl] == '\t' && strcmp(l->keys[i] + dl + 1, uid) == 0)
            return 1;
    return 0;
}

int pacs_ledger_add(pacs_ledger *l, const char *dest, const char *uid, const char *file, c2_err *e)
{
    int rc = ledger_remember(l, dest, uid, e);
    if (rc != C2_OK)
        return rc;
    /* a file name with a tab or newline would break the line: it is informative only */
    char clean[4096];
    c2_printable(clean, sizeof clean, file);
    if (fprintf(l->f, "%s\t%s\t%s\n", dest, uid, clean) < 0 || fflush(l->f) != 0 || fsync(fileno(l->f)) != 0)
        return c2_fail(e, C2_EIO, "cannot append to the push ledger");
    return C2_OK;
}

void pacs_ledger_close(pacs_ledger *l)
{
    if (!l)
        return;
    if (l->f)
        fclose(l->f);
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l);
}
