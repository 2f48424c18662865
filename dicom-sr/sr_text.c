/* dicom-sr/sr_text: the one rule that turns an SR document's TEXT items into report text
 * (sr.h: sr_report_text). Training (ingest), prediction (predict reads ingest's cache) and
 * `c2seg sr-text` all call it, so the same SR gives the same text everywhere. */
#include "dicom-sr/sr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First occurrence of word (lower case) in s, ASCII case-insensitively, or NULL. */
static const char *find_ci(const char *s, const char *word)
{
    for (; *s; s++) {
        size_t i = 0;
        while (word[i] && tolower((unsigned char)s[i]) == word[i])
            i++;
        if (!word[i])
            return s;
    }
    return NULL;
}

static int contains_ci(const char *s, const char *word) { return find_ci(s, word) != NULL; }

/* Report items: findings, impression, conclusion, report text. */
static int item_is_report(const sr_text_item *it)
{
    static const char *const words[] = {"finding", "impression", "conclusion", "report text", NULL};
    for (int i = 0; words[i]; i++)
        if (contains_ci(it->concept, words[i]) || contains_ci(it->path, words[i]))
            return 1;
    return 0;
}

/* Identification items (TID 1500 observer names, tracking identifiers): never report text. */
static int item_is_identifier(const sr_text_item *it)
{
    static const char *const words[] = {"name", "identifier", "organization", "observer", "uid", NULL};
    for (int i = 0; words[i]; i++)
        if (contains_ci(it->concept, words[i]))
            return 1;
    return 0;
}

/* Appends "sep + s" to the growing string *buf (len / cap in bytes). */
static int append(char **buf, size_t *len, size_t *cap, const char *sep, const char *s)
{
    size_t need = *len + strlen(sep) + strlen(s) + 1;
    if (need > *cap) {
        size_t nc = need * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    *len += (size_t)sprintf(*buf + *len, "%s%s", *len ? sep : "", s);
    return 0;
}

int sr_report_text(const sr_document *d, char **raw, char **source)
{
    int any = 0;
    for (int i = 0; i < d->n_items; i++)
        any |= item_is_report(&d->items[i]);
    /* selected: a report item, or (when there are none) any item that is not an identifier */
    size_t rl = 0, rc = 0, sl = 0, sc = 0;
    *raw = *source = NULL;
    int bad = append(source, &sl, &sc, "", "SR ") || append(source, &sl, &sc, "", d->sop_uid);
    const char *last_path = NULL;
    for (int i = 0; i < d->n_items && !bad; i++) {
        const sr_text_item *it = &d->items[i];
        if (!(any ? item_is_report(it) : !item_is_identifier(it)) || !it->text[0])
            continue;
        bad |= append(raw, &rl, &rc, "\n", it->text);
        if (!last_path || strcmp(last_path, it->path) != 0)
            bad |= append(source, &sl, &sc, last_path ? "; " : " ", it->path);
        last_path = it->path;
    }
    if (bad) {
        free(*raw);
        free(*source);
        *raw = *source = NULL;
        return C2_ENOMEM;
    }
    /* a control byte of a hospital's text (a stray 0x01, a bell, an escape sequence's ESC) is
     * no word and no layout: a blank, so the text is valid UT wherever it is written again (the
     * findings SR) and shows as text; tab and line breaks stay */
    for (char *p = *raw; p && *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
            *p = ' ';
    return C2_OK;
}

