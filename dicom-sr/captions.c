/* captions: caption tables (SGSeg annotation.json, LViT xlsx, GuideDecoder csv, plain
 * lines) loaded into one row list, and the file-name matcher. The xlsx reader opens the
 * zip with libzip and reads the first worksheet (the first <sheet> of xl/workbook.xml,
 * found through its relationships; Excel need not name it sheet1.xml) and the shared
 * strings with libxml2 (network and entity expansion off). */
#include "dicom-sr/captions.h"

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#define TABLE_MAX_BYTES ((size_t)512 << 20)

const char *caption_format_name(caption_format f)
{
    static const char *names[] = {"json", "xlsx", "csv", "lines"};
    return (unsigned)f <= CAPTIONS_LINES ? names[f] : "?";
}

static int row_add(caption_table *t, size_t *cap, const char *file, size_t nfile, const char *caption, size_t ncap,
                   c2_err *e)
{
    if (c2_grow(&t->rows, sizeof *t->rows, (size_t)t->n + 1, cap))
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for %d caption rows", t->path, t->n + 1);
    caption_row *r = &t->rows[t->n];
    memset(r, 0, sizeof *r);
    r->file = strndup(file, nfile);
    r->caption = strndup(caption, ncap);
    r->infected_area = r->pulmonary_infection = -1;
    if (!r->file || !r->caption) {
        free(r->file), free(r->caption);
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", t->path);
    }
    t->n++;
    return C2_OK;
}

/* ---- annotation.json ---- */
static int load_json_entries(caption_table *t, size_t *cap, const cJSON *arr, const char *split, c2_err *e)
{
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "image_path");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "caption");
        if (!cJSON_IsString(f))
            f = cJSON_GetObjectItemCaseSensitive(it, "image");
        if (!cJSON_IsString(c))
            c = cJSON_GetObjectItemCaseSensitive(it, "text");
        if (!cJSON_IsString(f) || !cJSON_IsString(c))
            return c2_fail(e, C2_EINVAL, "%s: entry %d of '%s' has no string image_path / caption", t->path, i,
                           split);
        int rc = row_add(t, cap, f->valuestring, strlen(f->valuestring), c->valuestring, strlen(c->valuestring), e);
        if (rc != C2_OK)
            return rc;
        caption_row *r = &t->rows[t->n - 1];
        snprintf(r->split, sizeof r->split, "%s", split);
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(it, "pseudo_label");
        if (cJSON_IsArray(pl) && cJSON_GetArraySize(pl) == ZONE_COUNT) {
            r->has_pseudo = 1;
            for (int k = 0; k < ZONE_COUNT; k++)
                r->pseudo[k] = cJSON_GetArrayItem(pl, k)->valuedouble != 0;
        }
        const cJSON *ia = cJSON_GetObjectItemCaseSensitive(it, "infected_area");
        const cJSON *pi = cJSON_GetObjectItemCaseSensitive(it, "pulmonary_infection");
        if (cJSON_IsNumber(ia))
            r->infected_area = ia->valueint;
        if (cJSON_IsNumber(pi))
            r->pulmonary_infection = pi->valueint;
        i++;
    }
    return C2_OK;
}

static int load_json(caption_table *t, const char *data, size_t n, const char *split, c2_err *e)
{
    cJSON *root = cJSON_ParseWithLength(data, n);
    if (!root)
        return c2_fail(e, C2_EINVAL, "%s: not valid JSON (near byte %ld)", t->path,
                       cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - data) : -1L);
    size_t cap = 0;
    int rc = C2_OK, found = 0;
    if (cJSON_IsArray(root)) {
        rc = load_json_entries(t, &cap, root, "", e);
        found = 1;
    } else {
        const cJSON *it;
        cJSON_ArrayForEach(it, root)
        {
            if (!cJSON_IsArray(it) || (split && strcmp(split, it->string) != 0))
                continue;
            found = 1;
            rc = load_json_entries(t, &cap, it, it->string, e);
            if (rc != C2_OK)
                break;
        }
    }
    cJSON_Delete(root);
    if (rc == C2_OK && !found)
        rc = split ? c2_fail(e, C2_ENOTFOUND, "%s: no split '%s'", t->path, split)
                   : c2_fail(e, C2_EINVAL, "%s: no list of caption entries", t->path);
    return rc;
}

/* ---- CSV (RFC 4180) and plain lines ---- */

/* One field starting at *p; returns its unquoted copy (malloc'd) and advances past the separator.
 * *eol is set when the field ended a record. */
static char *csv_field(const char **p, const char *end, int *eol)
{
    const char *s = *p;
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int quoted = s < end && *s == '"';
    if (quoted)
        s++;
    *eol = 0;
    while (s < end) {
        char c = *s;
        if (quoted) {
            if (c == '"') {
                if (s + 1 < end && s[1] == '"') {
                    s += 2;
                    c = '"';
                } else {
                    quoted = 0;
                    s++;
                    continue;
                }
            } else {
                s++;
            }
        } else {
            if (c == ',') {
                s++;
                break;
            }
            if (c == '\n' || c == '\r') {
                s += (c == '\r' && s + 1 < end && s[1] == '\n') ? 2 : 1;
                *eol = 1;
                break;
            }
            s++;
        }
        if (n + 2 > cap) {
            char *o = realloc(out, cap *= 2);
            if (!o) {
                free(out);
                return NULL;
            }
            out = o;
        }
        out[n++] = c;
    }
    if (s >= end)
        *eol = 1;
    out[n] = 0;
    *p = s;
    return out;
}

static int header_is(const char *h, const char *const *names)
{
    for (; *names; names++)
        if (c2_strcasecmp_ascii(h, *names) == 0)
            return 1;
    return 0;
}

static const char *const IMAGE_NAMES[] = {"image", "image_path", "filename", "file", "name", NULL};
static const char *const TEXT_NAMES[] = {"description", "caption", "text", "report", NULL};
static const char *const UID_NAMES[] = {"sopinstanceuid", "sop_instance_uid", "sop_uid", NULL};

static int load_csv(caption_table *t, const char *data, size_t n, c2_err *e)
{
    const char *p = data, *end = data + n;
    int col_img = -1, col_txt = -1, col_uid = -1, ncols = 0, eol = 0;
    size_t cap = 0;
    while (!eol && p < end) {
        char *f = csv_field(&p, end, &eol);
        if (!f)
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", t->path);
        if (col_uid < 0 && header_is(f, UID_NAMES))
            col_uid = ncols;
        else if (col_img < 0 && header_is(f, IMAGE_NAMES))
            col_img = ncols;
        else if (col_txt < 0 && header_is(f, TEXT_NAMES))
            col_txt = ncols;
        free(f);
        ncols++;
    }
    if (col_txt < 0)
        return c2_fail(e, C2_EINVAL, "%s: CSV header has no Description / caption column", t->path);
    if (col_uid >= 0) {   /* a DICOM table: rows are matched by SOP Instance UID, not by file name */
        col_img = col_uid;
        t->keyed_by_uid = 1;
    }
    int line = 1;
    while (p < end) {
        char *img = NULL, *txt = NULL;
        int col = 0, blank = 1;
        eol = 0;
        while (!eol) {
            char *f = csv_field(&p, end, &eol);
            if (!f) {
                free(img), free(txt);
                return c2_fail(e, C2_ENOMEM, "%s: out of memory", t->path);
            }
            if (f[0])
                blank = 0;
            if (col == col_img)
                img = f;
            else if (col == col_txt)
                txt = f;
            else
                free(f);
            col++;
        }
        line++;
        int rc = C2_OK;
        if (!blank && !txt)
            c2_warn("%s: record %d has no Description field, skipped", t->path, line);
        else if (!blank)
            rc = row_add(t, &cap, img ? img : "", img ? strlen(img) : 0, txt, strlen(txt), e);
        free(img), free(txt);
        if (rc != C2_OK)
            return rc;
    }
    return C2_OK;
}

static int load_lines(caption_table *t, const char *data, size_t n, c2_err *e)
{
    size_t cap = 0;
    const char *p = data, *end = data + n;
    while (p < end) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        if (!q)
            q = end;
        const char *b = p, *z = q;
        while (b < z && (*b == ' ' || *b == '\t'))
            b++;
        while (z > b && (z[-1] == '\r' || z[-1] == ' ' || z[-1] == '\t'))
            z--;
        if (z > b) {
            int rc = row_add(t, &cap, "", 0, b, (size_t)(z - b), e);
            if (rc != C2_OK)
                return rc;
        }
        p = q + 1;
    }
    return C2_OK;
}

/* libzip is opened on first use (base.h, c2_lazylib), not linked: only an xlsx caption table
 * needs it. C2SEG_ZIP_SONAME: the soname of the libzip whose headers the build found. */
#ifndef C2SEG_ZIP_SONAME
#define C2SEG_ZIP_SONAME "libzip.so.4"
#endif
static struct {
    __typeof__(zip_stat) *stat;
    __typeof__(zip_fopen) *fopen;
    __typeof__(zip_fread) *fread;
    __typeof__(zip_fclose) *fclose;
    __typeof__(zip_error_init) *error_init;
    __typeof__(zip_source_buffer_create) *source_buffer_create;
    __typeof__(zip_open_from_source) *open_from_source;
    __typeof__(zip_error_strerror) *error_strerror;
    __typeof__(zip_source_free) *source_free;
    __typeof__(zip_error_fini) *error_fini;
    __typeof__(zip_close) *close;
} zl;
static const char *const zl_names[] = {"zip_stat",           "zip_fopen",       "zip_fread",
                                       "zip_fclose",         "zip_error_init",  "zip_source_buffer_create",
                                       "zip_open_from_source", "zip_error_strerror", "zip_source_free",
                                       "zip_error_fini",     "zip_close"};
static c2_lazylib zl_lib = {C2SEG_ZIP_SONAME, "an xlsx caption table", 0, zl_names,
                            sizeof zl_names / sizeof zl_names[0], &zl, sizeof zl, 0, 0};

/* ---- xlsx ---- */
static int zip_read_entry(zip_t *z, const char *name, char **out, size_t *n)
{
    zip_stat_t st;
    if (zl.stat(z, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || st.size > TABLE_MAX_BYTES)
        return -1;
    zip_file_t *f = zl.fopen(z, name, 0);
    if (!f)
        return -1;
    char *buf = malloc(st.size + 1);
    zip_int64_t got = buf ? zl.fread(f, buf, st.size) : -1;
    zl.fclose(f);
    if (got < 0 || (zip_uint64_t)got != st.size) {
        free(buf);
        return -1;
    }
    buf[st.size] = 0;
    *out = buf;
    *n = st.size;
    return 0;
}

static int is_elem(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* Text of every <t> under node, skipping phonetic runs (<rPh>). */
static void xml_text_append(const xmlNode *node, char **buf, size_t *len)
{
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (is_elem(c, "rPh") || is_elem(c, "phoneticPr"))
            continue;
        if (is_elem(c, "t")) {
            xmlChar *s = xmlNodeGetContent(c);
            if (s) {
                size_t k = strlen((const char *)s);
                char *b = realloc(*buf, *len + k + 1);
                if (b) {
                    memcpy(b + *len, s, k + 1);
                    *buf = b;
                    *len += k;
                }
                xmlFree(s);
            }
        } else {
            xml_text_append(c, buf, len);
        }
    }
}

static char *xml_text(const xmlNode *node)
{
    char *buf = calloc(1, 1);
    size_t len = 0;
    if (buf)
        xml_text_append(node, &buf, &len);
    return buf;
}

typedef struct shared_strings {
    int n;
    char **s;
} shared_strings;

static void shared_strings_free(shared_strings *ss)
{
    for (int i = 0; i < ss->n; i++)
        free(ss->s[i]);
    free(ss->s);
}

/* The parsed XML of zip entry `name` -> *doc: 0 ok, 1 absent (or over the size limit),
 * -1 not well-formed. */
static int zip_read_xml(zip_t *z, const char *name, xmlDoc **doc)
{
    char *data;
    size_t n;
    *doc = NULL;
    if (zip_read_entry(z, name, &data, &n) != 0)
        return 1;
    *doc = xmlReadMemory(data, (int)n, name, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE);
    free(data);
    if (*doc && !xmlDocGetRootElement(*doc)) {
        xmlFreeDoc(*doc);
        *doc = NULL;
    }
    return *doc ? 0 : -1;
}

static const char *const RELATIONSHIP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/* Target of relationship `id` in the parsed .rels document, or NULL (xmlFree it). */
static xmlChar *relationship_target(xmlDoc *rels, const xmlChar *id)
{
    for (const xmlNode *k = xmlDocGetRootElement(rels)->children; k; k = k->next) {
        if (!is_elem(k, "Relationship"))
            continue;
        xmlChar *kid = xmlGetProp(k, (const xmlChar *)"Id");
        int hit = kid && xmlStrcmp(kid, id) == 0;
        xmlFree(kid);
        if (hit)
            return xmlGetProp(k, (const xmlChar *)"Target");
    }
    return NULL;
}

/* Zip entry name of the workbook's first sheet -> out: the first <sheet> of xl/workbook.xml,
 * resolved through its r:id in xl/_rels/workbook.xml.rels (targets are relative to xl/ or
 * absolute from the package root). Workbooks without xl/workbook.xml: xl/worksheets/sheet1.xml. */
static int first_sheet_name(zip_t *z, char *out, size_t cap, const char *path, c2_err *e)
{
    snprintf(out, cap, "xl/worksheets/sheet1.xml");
    xmlDoc *wb, *rels = NULL;
    int st = zip_read_xml(z, "xl/workbook.xml", &wb);
    if (st > 0)
        return C2_OK;
    if (st < 0)
        return c2_fail(e, C2_EINVAL, "%s: xl/workbook.xml is not well-formed XML", path);
    xmlChar *rid = NULL, *target = NULL;
    for (const xmlNode *k = xmlDocGetRootElement(wb)->children; k && !rid; k = k->next)
        for (const xmlNode *sh = is_elem(k, "sheets") ? k->children : NULL; sh && !rid; sh = sh->next)
            if (is_elem(sh, "sheet"))
                rid = xmlGetNsProp(sh, (const xmlChar *)"id", (const xmlChar *)RELATIONSHIP_NS);
    xmlFreeDoc(wb);
    int rc = C2_OK;
    if (!rid)
        rc = c2_fail(e, C2_EINVAL, "%s: xl/workbook.xml names no sheet (no <sheet r:id>)", path);
    else if ((st = zip_read_xml(z, "xl/_rels/workbook.xml.rels", &rels)) != 0)
        rc = c2_fail(e, C2_EINVAL, "%s: xl/_rels/workbook.xml.rels is %s", path,
                     st > 0 ? "missing" : "not well-formed XML");
    else if (!(target = relationship_target(rels, rid)))
        rc = c2_fail(e, C2_EINVAL, "%s: the first sheet's relationship %s is not in xl/_rels/workbook.xml.rels", path,
                     (const char *)rid);
    else if (target[0] == '/')
        snprintf(out, cap, "%s", (const char *)target + 1);
    else
        snprintf(out, cap, "xl/%s", (const char *)target);
    xmlFree(target);
    xmlFree(rid);
    if (rels)
        xmlFreeDoc(rels);
    return rc;
}

static int shared_strings_load(zip_t *z, shared_strings *ss, const char *path, c2_err *e)
{
    memset(ss, 0, sizeof *ss);
    xmlDoc *doc;
    int st = zip_read_xml(z, "xl/sharedStrings.xml", &doc);
    if (st > 0)
        return C2_OK; /* a workbook with inline strings only */
    if (st < 0)
        return c2_fail(e, C2_EINVAL, "%s: xl/sharedStrings.xml is not well-formed XML", path);
    size_t cap = 0;
    for (const xmlNode *si = xmlDocGetRootElement(doc)->children; si; si = si->next) {
        if (!is_elem(si, "si"))
            continue;
        if (c2_grow(&ss->s, sizeof *ss->s, (size_t)ss->n + 1, &cap)) {
            xmlFreeDoc(doc);
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
        }
        ss->s[ss->n++] = xml_text(si);
    }
    xmlFreeDoc(doc);
    return C2_OK;
}

/* Column index of a cell reference "B12" -> 1. */
static int cell_column(const char *ref)
{
    int c = 0;
    for (; *ref >= 'A' && *ref <= 'Z'; ref++)
        c = c * 26 + (*ref - 'A' + 1);
    return c - 1;
}

static char *cell_value(const xmlNode *c, const shared_strings *ss)
{
    xmlChar *type = xmlGetProp(c, (const xmlChar *)"t");
    char *out = NULL;
    if (type && strcmp((const char *)type, "inlineStr") == 0) {
        for (const xmlNode *k = c->children; k; k = k->next)
            if (is_elem(k, "is"))
                out = xml_text(k);
    } else {
        for (const xmlNode *k = c->children; k; k = k->next)
            if (is_elem(k, "v")) {
                xmlChar *v = xmlNodeGetContent(k);
                if (type && strcmp((const char *)type, "s") == 0) {
                    long idx = v ? strtol((const char *)v, NULL, 10) : -1;
                    out = strdup(idx >= 0 && idx < ss->n ? ss->s[idx] : "");
                } else {
                    out = strdup(v ? (const char *)v : "");
                }
                xmlFree(v);
            }
    }
    xmlFree(type);
    return out ? out : strdup("");
}

static int load_xlsx(caption_table *t, const char *data, size_t n, c2_err *e)
{
    int lrc = c2_lazylib_open(&zl_lib, e);
    if (lrc != C2_OK) {
        c2_err_prefix(e, "%s", t->path);
        return lrc;
    }
    zip_error_t ze;
    zl.error_init(&ze);
    zip_source_t *src = zl.source_buffer_create(data, n, 0, &ze);
    zip_t *z = src ? zl.open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!z) {
        int rc = c2_fail(e, C2_EINVAL, "%s: not a readable xlsx (zip) file: %s", t->path, zl.error_strerror(&ze));
        if (src)
            zl.source_free(src);
        zl.error_fini(&ze);
        return rc;
    }
    zl.error_fini(&ze);
    shared_strings ss;
    int rc = shared_strings_load(z, &ss, t->path, e);
    char sheet[512];
    if (rc == C2_OK)
        rc = first_sheet_name(z, sheet, sizeof sheet, t->path, e);
    xmlDoc *doc = NULL;
    int st = rc == C2_OK ? zip_read_xml(z, sheet, &doc) : 0;
    if (st)
        rc = c2_fail(e, C2_EINVAL, "%s: first worksheet %s is %s", t->path, sheet,
                     st > 0 ? "missing" : "not well-formed XML");
    zl.close(z);
    int col_img = -1, col_txt = -1, header = 1;
    size_t cap = 0;
    const xmlNode *sd = NULL;
    if (doc)
        for (const xmlNode *k = xmlDocGetRootElement(doc)->children; k; k = k->next)
            if (is_elem(k, "sheetData"))
                sd = k;
    for (const xmlNode *row = sd ? sd->children : NULL; row && rc == C2_OK; row = row->next) {
        if (!is_elem(row, "row"))
            continue;
        char *img = NULL, *txt = NULL;
        int col = 0;
        for (const xmlNode *c = row->children; c; c = c->next) {
            if (!is_elem(c, "c"))
                continue;
            xmlChar *ref = xmlGetProp(c, (const xmlChar *)"r");
            if (ref)
                col = cell_column((const char *)ref);
            xmlFree(ref);
            char *v = cell_value(c, &ss);
            if (header) {
                if (col_img < 0 && header_is(v, IMAGE_NAMES))
                    col_img = col;
                else if (col_txt < 0 && header_is(v, TEXT_NAMES))
                    col_txt = col;
                free(v);
            } else if (col == col_img) {
                free(img);
                img = v;
            } else if (col == col_txt) {
                free(txt);
                txt = v;
            } else {
                free(v);
            }
            col++;
        }
        if (header) {
            header = 0;
            if (col_txt < 0)
                rc = c2_fail(e, C2_EINVAL, "%s: first row has no Description / caption header", t->path);
        } else if (txt && txt[0]) {
            rc = row_add(t, &cap, img ? img : "", img ? strlen(img) : 0, txt, strlen(txt), e);
        }
        free(img), free(txt);
    }
    if (doc)
        xmlFreeDoc(doc);
    shared_strings_free(&ss);
    return rc;
}

/* The kind of a caption file: its extension first (.json, .csv / .tsv, .xlsx, .txt); without
 * one of those, its content: a zip signature is a workbook, a document that parses as JSON
 * (object or array) as a whole is JSON, a first line naming an image and a text column is
 * CSV, anything else plain lines. So a plain caption line that starts with '{' stays a line. */
static caption_format input_kind(const char *path, const char *s, size_t n, size_t first, int zip)
{
    if (c2_ends_with_ci(path, ".json"))
        return CAPTIONS_JSON;
    if (c2_ends_with_ci(path, ".csv") || c2_ends_with_ci(path, ".tsv"))
        return CAPTIONS_CSV;
    if (c2_ends_with_ci(path, ".xlsx"))
        return CAPTIONS_XLSX;
    if (c2_ends_with_ci(path, ".txt"))
        return CAPTIONS_LINES;
    if (zip)
        return CAPTIONS_XLSX;
    if (first < n && (s[first] == '{' || s[first] == '[')) {
        cJSON *j = cJSON_ParseWithLength(s, n);
        int ok = j && (cJSON_IsObject(j) || cJSON_IsArray(j));
        cJSON_Delete(j);
        if (ok)
            return CAPTIONS_JSON;
    }
    /* "Image,Description" (any order, any of the accepted names) on the first line */
    const char *eol = memchr(s, '\n', n);
    size_t len = eol ? (size_t)(eol - s) : n;
    char line[512];
    if (len < sizeof line) {
        memcpy(line, s, len);
        line[len] = 0;
        int img = 0, txt = 0, fields = 0;
        for (char *save = NULL, *f = strtok_r(line, ",\r", &save); f; f = strtok_r(NULL, ",\r", &save), fields++) {
            while (*f == ' ' || *f == '"')
                f++;
            size_t fl = strlen(f);
            while (fl > 0 && (f[fl - 1] == ' ' || f[fl - 1] == '"'))
                f[--fl] = 0;
            img |= header_is(f, IMAGE_NAMES);
            txt |= header_is(f, TEXT_NAMES);
        }
        if (img && txt && fields >= 2)
            return CAPTIONS_CSV;
    }
    return CAPTIONS_LINES;
}

int caption_table_load(const char *path, const char *split, caption_table **out, c2_err *e)
{
    *out = NULL;
    caption_table *t = calloc(1, sizeof *t);
    if (!t)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    snprintf(t->path, sizeof t->path, "%s", path);
    t->convention = CONV_IMAGE;
    uint8_t *data = NULL;
    size_t n = 0;
    int rc = c2_read_file(path, TABLE_MAX_BYTES, &data, &n, e);
    if (rc == C2_OK) {
        const char *s = (const char *)data;
        size_t skip = (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;   /* UTF-8 BOM */
        size_t i = skip;
        while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
            i++;
        int zip = n >= 4 && memcmp(s, "PK\x03\x04", 4) == 0;
        caption_format fmt = input_kind(path, s + skip, n - skip, i - skip, zip);
        t->format = fmt;
        if (fmt == CAPTIONS_XLSX && !zip)
            rc = c2_fail(e, C2_EINVAL, "%s: .xlsx file without a zip signature", path);
        else if (fmt == CAPTIONS_XLSX)
            rc = load_xlsx(t, s, n, e);
        else if (fmt == CAPTIONS_JSON)
            rc = load_json(t, s + skip, n - skip, split, e);
        else if (fmt == CAPTIONS_CSV)
            rc = load_csv(t, s + skip, n - skip, e);
        else
            rc = load_lines(t, s + skip, n - skip, e);
    }
    free(data);
    if (rc != C2_OK) {
        caption_table_free(t);
        return rc;
    }
    *out = t;
    return C2_OK;
}

void caption_table_free(caption_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n; i++) {
        free(t->rows[i].file);
        free(t->rows[i].caption);
    }
    free(t->rows);
    free(t->order);
    free(t);
}

/* Match key: base name without a leading "mask_", compared case-insensitively. */
static const char *match_key(const char *name)
{
    const char *b = c2_basename(name);
    if (strncasecmp(b, "mask_", 5) == 0)
        b += 5;
    return b;
}

static caption_table *sort_table;   /* qsort has no context argument; guarded by sort_lock */
static int order_cmp(const void *a, const void *b)
{
    const caption_row *ra = &sort_table->rows[*(const int *)a], *rb = &sort_table->rows[*(const int *)b];
    int c = c2_strcasecmp_ascii(match_key(ra->file), match_key(rb->file));
    return c ? c : *(const int *)a - *(const int *)b;
}

static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

caption_row *caption_table_find(caption_table *t, const char *file_name)
{
    if (!t || !file_name || t->n == 0)
        return NULL;
    if (!t->order) {
        int *o = malloc((size_t)t->n * sizeof *o);
        if (!o)
            return NULL;
        for (int i = 0; i < t->n; i++)
            o[i] = i;
        pthread_mutex_lock(&sort_lock);
        sort_table = t;
        qsort(o, t->n, sizeof *o, order_cmp);
        pthread_mutex_unlock(&sort_lock);
        t->order = o;
    }
    const char *key = match_key(file_name);
    int lo = 0, hi = t->n;
    while (lo < hi) {   /* first row whose key >= key */
        int mid = (lo + hi) / 2;
        if (c2_strcasecmp_ascii(match_key(t->rows[t->order[mid]].file), key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n && c2_strcasecmp_ascii(match_key(t->rows[t->order[lo]].file), key) == 0) {
        caption_row *r = &t->rows[t->order[lo]];
        r->matched++;
        return r;
    }
    return NULL;
}

int caption_table_unmatched(const caption_table *t)
{
    int n = 0;
    for (int i = 0; t && i < t->n; i++)
        n += t->rows[i].matched == 0;
    return n;
}
