/* pipeline/report/report.html: report.html, one self-contained page: the cohort tables, one row
 * per case (named after its source, the source file shown; sortable by clicking a column
 * head, a checkbox that shows only the inconsistent cases; a merged report's cases labelled
 * "PART/NAME") and each case's
 * overlay thumbnail embedded as a base64 PNG data URI, so the page can be mailed or
 * archived alone (up to REPORT_EMBED_MAX cases; above that the thumbnails are linked from
 * the overlays folder with loading="lazy" and the rows shown a page at a time). Cases
 * without text say "no text" (neither consistent nor shaded); the text's evidence words
 * (prose parser spans) are marked; a legend names the overlay colours; the quality-gate
 * table gives precision / recall of "inconsistent" at catching low-Dice cases. A small inline script sorts, filters and, once the page has loaded,
 * records in body[data-images] how many images decoded ("loaded/total"), which the
 * headless-browser test reads. */
#include "pipeline/report/report.h"

#include "dicom-sr/dicom_sr.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many cases the thumbnails are embedded (the page stands alone); above it they
 * are linked relative to the page and loaded lazily, so the page stays small. */
#define REPORT_EMBED_MAX 500
/* Rows shown per page (the page script's PAGE): rows after the first page are written
 * hidden, so a browser lays out one page of a large cohort, not all of it. */
#define REPORT_PAGE_ROWS 200
#define REPORT_STR_(x) #x
#define REPORT_STR(x) REPORT_STR_(x)

static void html_textn(FILE *f, const char *s, size_t n)
{
    for (const char *end = s ? s + n : s; s && s < end && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void html_text(FILE *f, const char *s) { html_textn(f, s, s ? strlen(s) : 0); }

/* The text with the prose parser's evidence words (dicom-sr/prose_parse.h) in <mark>, each
 * titled with the attribute it sets; a templated caption has none. */
static void text_marked(FILE *f, const char *text)
{
    prose_attrs p;
    caption_attrs a;
    caption_parse_full(text, CONV_PATIENT, &a, &p);
    size_t n = strlen(text), i = 0;
    int *attr = calloc(n + 1, sizeof *attr);
    if (!attr) {
        html_text(f, text);
        return;
    }
    for (int k = 0; k < p.n_spans; k++)
        for (int b = p.spans[k].start < 0 ? 0 : p.spans[k].start; b < p.spans[k].end && (size_t)b < n; b++)
            if (!attr[b])
                attr[b] = p.spans[k].attr + 1;
    while (i < n) {
        size_t j = i;
        while (j < n && attr[j] == attr[i])
            j++;
        if (attr[i])
            fprintf(f, "<mark title=\"%s\">", prose_attr_name((prose_attr)(attr[i] - 1)));
        html_textn(f, text + i, j - i);
        if (attr[i])
            fputs("</mark>", f);
        i = j;
    }
    free(attr);
}

static void base64_write(FILE *f, const uint8_t *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        fputc(tab[v >> 18 & 63], f);
        fputc(tab[v >> 12 & 63], f);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? tab[v & 63] : '=', f);
    }
}

static void num_cell(FILE *f, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        fprintf(f, "<td data-v=\"%.6f\">%.3f</td>", v->valuedouble, v->valuedouble);
    else if (cJSON_IsBool(v))
        fprintf(f, "<td data-v=\"%d\">%s</td>", cJSON_IsTrue(v), cJSON_IsTrue(v) ? "yes" : "no");
    else
        fputs("<td data-v=\"-1\">&ndash;</td>", f);
}

static void zones_cell(FILE *f, const cJSON *attrs)
{
    const cJSON *z = cJSON_GetObjectItemCaseSensitive(attrs, "zones");
    static const char *const names[6] = {"LU", "LM", "LL", "RU", "RM", "RL"};
    fputs("<td>", f);
    int i = 0, any = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, z)
    {
        if (i < 6 && cJSON_IsNumber(v) && v->valueint) {
            fprintf(f, "%s%s", any ? " " : "", names[i]);
            any = 1;
        }
        i++;
    }
    fputs(any ? "</td>" : "&ndash;</td>", f);
}

static void cohort_table(FILE *f, const char *title, const cJSON *r)
{
    if (!cJSON_IsObject(r))
        return;
    fprintf(f, "<tr><th>");
    html_text(f, title);
    fputs("</th>", f);
    static const char *const cols[] = {"n", "laterality_exact", "zone_exact", "zone_jaccard", "count_exact_zones",
                                       "count_exact_components"};
    for (int k = 0; k < 6; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, cols[k]);
        if (k == 0 && cJSON_IsNumber(v))
            fprintf(f, "<td>%d</td>", v->valueint);
        else if (cJSON_IsNumber(v))
            fprintf(f, "<td>%.3f</td>", v->valuedouble);
        else
            fputs("<td>&ndash;</td>", f);
    }
    fputs("</tr>\n", f);
}

static void gate_row(FILE *f, const char *name, const cJSON *g)
{
    fputs("<tr><td>", f);
    html_text(f, name);
    fputs("</td>", f);
    static const char *const ints[] = {"n", "n_poor", "n_flagged", "tp", "fp", "fn"};
    for (int k = 0; k < 6; k++)
        fprintf(f, "<td>%d</td>", (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(g, ints[k])));
    num_cell(f, cJSON_GetObjectItemCaseSensitive(g, "precision"));
    num_cell(f, cJSON_GetObjectItemCaseSensitive(g, "recall"));
    fputs("</tr>\n", f);
}

/* The quality gate: "inconsistent" as a detector of Dice below the threshold, for the
 * cohort and (merged report) each part. */
static void gate_table(FILE *f, const cJSON *g)
{
    if (!cJSON_IsObject(g))
        return;
    fprintf(f, "<h2>Quality gate</h2>\n<p>Cases with text and ground truth; poor = Dice below %.3g, flagged = "
               "prediction inconsistent with its text.</p>\n<table id=\"gate\"><thead><tr><th>cohort</th><th>n</th>"
               "<th>poor</th><th>flagged</th><th>flagged &amp; poor</th><th>flagged, not poor</th>"
               "<th>poor, not flagged</th><th>precision</th><th>recall</th></tr></thead><tbody>\n",
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(g, "dice_threshold")));
    gate_row(f, "all", g);
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(g, "by_part")) gate_row(f, p->string, p);
    fputs("</tbody></table>\n", f);
}

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>c2seg report</title>\n"
    "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #bbb;padding:3px 7px;font-size:13px}th{background:#eee}"
    "#cases th{cursor:pointer}tr.inconsistent td,tr.failed td{background:#fff0f0}td.no-text{color:#777}mark{background:#fff3a0}"
    "img{display:block}.swatch{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em}"
    "</style></head>\n"
    "<body data-images=\"pending\">\n<h1>c2seg text-mask consistency report</h1>\n";

static const char page_script[] =
    "<script>\n"
    "function sortBy(col){var t=document.getElementById('cases'),b=t.tBodies[0],rows=[].slice.call(b.rows);"
    "var dir=t.getAttribute('data-col')==col&&t.getAttribute('data-dir')=='1'?-1:1;"
    "rows.sort(function(x,y){var a=x.cells[col],c=y.cells[col];"
    "var u=a.getAttribute('data-v'),w=c.getAttribute('data-v');"
    "if(u!==null&&w!==null)return dir*(parseFloat(u)-parseFloat(w));"
    "return dir*a.textContent.localeCompare(c.textContent);});"
    "rows.forEach(function(r){b.appendChild(r);});t.setAttribute('data-col',col);"
    "t.setAttribute('data-dir',dir==1?'1':'0');render();}\n"
    "var PAGE=" REPORT_STR(REPORT_PAGE_ROWS) ",page=0;\n"
    "function render(){var only=document.getElementById('only').checked,rows=document.getElementById('cases')"
    ".tBodies[0].rows,k=0;for(var i=0;i<rows.length;i++){var r=rows[i],m=!(only&&!r.classList.contains("
    "'inconsistent'));r.style.display=m&&k>=page*PAGE&&k<(page+1)*PAGE?'':'none';if(m)k++;}"
    "var np=Math.max(1,Math.ceil(k/PAGE));if(page>=np){page=np-1;return render();}"
    "document.getElementById('pageno').textContent='page '+(page+1)+' of '+np+' ('+k+' cases)';}\n"
    "function go(d){page=Math.max(0,page+d);render();}\n"
    "function filterRows(){page=0;render();}\n"
    "render();\n"
    "window.addEventListener('load',function(){var im=document.images,ok=0;"
    "for(var i=0;i<im.length;i++)if(im[i].complete&&im[i].naturalWidth>0)ok++;"
    "document.body.setAttribute('data-images',ok+'/'+im.length);});\n"
    "</script>\n";

/* The case's source: its first input file (the whole path in the title), "+ N files" for a
 * series or a multi-file volume. */
static void source_cell(FILE *f, const cJSON *c)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(c, "inputs");
    const cJSON *first = cJSON_GetArrayItem(in, 0);
    if (!cJSON_IsString(first)) {
        fputs("&ndash;", f);
        return;
    }
    fputs("<span title=\"", f);
    html_text(f, first->valuestring);
    fputs("\">", f);
    html_text(f, c2_basename(first->valuestring));
    fputs("</span>", f);
    int n = cJSON_GetArraySize(in);
    if (n > 1)
        fprintf(f, " + %d files", n - 1);
}

static void case_row(FILE *f, const char *outdir, const cJSON *c, int embed, int hidden)
{
    int ok = strcmp(report_str(c, "status"), "ok") == 0;
    const cJSON *cons = cJSON_GetObjectItemCaseSensitive(c, "consistency");
    const cJSON *agr = cJSON_GetObjectItemCaseSensitive(cons, "agreement");
    int consistent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(agr, "consistent"));
    int has_text = cJSON_IsString(report_path_get(c, "text", "text"));
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(c, "ground_truth");
    char label[600];
    report_case_label(label, sizeof label, c);
    const char *cls = !ok ? "failed" : !has_text ? "no-text" : consistent ? "consistent" : "inconsistent";
    fprintf(f, "<tr class=\"%s\" data-case=\"", cls);
    html_text(f, label);
    fputs(hidden ? "\" style=\"display:none\"><td>" : "\"><td>", f);
    html_text(f, label);
    fputs("</td><td class=\"source\">", f);
    source_cell(f, c);
    fputs("</td><td>", f);
    html_text(f, report_str(c, "kind"));
    fputs("</td><td>", f);
    if (ok)
        text_marked(f, report_str(report_path_get(c, "text", NULL), "text"));
    else
        html_text(f, report_str(c, "error"));
    fputs("</td><td>", f);
    html_text(f, report_str(report_path_get(cons, "text", NULL), "laterality"));
    fputs("</td><td>", f);
    html_text(f, report_str(report_path_get(cons, "mask", NULL), "laterality"));
    fputs("</td>", f);
    zones_cell(f, report_path_get(cons, "text", NULL));
    zones_cell(f, report_path_get(cons, "mask", NULL));
    if (ok && !has_text)
        fputs("<td data-v=\"-1\" class=\"no-text\">no text</td><td data-v=\"-1\">&ndash;</td>", f);
    else {
        num_cell(f, cJSON_GetObjectItemCaseSensitive(agr, "consistent"));
        num_cell(f, cJSON_GetObjectItemCaseSensitive(agr, "zone_jaccard"));
    }
    num_cell(f, cJSON_GetObjectItemCaseSensitive(g, "dice"));
    fputs("<td>", f);
    const cJSON *strip = report_path_get(report_path_get(c, "outputs", NULL), "overlay_slices", NULL);
    if (cJSON_GetArraySize(strip) > 0) {
        fputs("<div class=\"strip\">slices", f);
        const cJSON *v;
        cJSON_ArrayForEach(v, strip) fprintf(f, " %d", (int)cJSON_GetNumberValue(v));
        fputs("</div>", f);
    }
    const char *overlay = report_str(report_path_get(c, "outputs", NULL), "overlay");
    char path[4400];
    uint8_t *png = NULL;
    size_t n = 0;
    c2_err e = {0};
    if (overlay[0] && !embed) {
        fputs("<img alt=\"overlay\" height=\"128\" loading=\"lazy\" src=\"", f);
        html_text(f, overlay);
        fputs("\">", f);
    } else if (overlay[0] && c2_path_join(path, sizeof path, outdir, overlay) == 0 &&
               c2_read_file(path, 16u << 20, &png, &n, &e) == C2_OK) {
        fputs("<img alt=\"overlay\" height=\"128\" src=\"data:image/png;base64,", f);
        base64_write(f, png, n);
        fputs("\">", f);
    }
    free(png);
    fputs("</td></tr>\n", f);
}

int report_html_write(const char *outdir, const cJSON *cases, const cJSON *cohort, c2_err *e)
{
    char path[4200];
    c2_path_join(path, sizeof path, outdir, "report.html");
    c2_atomic a;
    int rc = c2_atomic_open(&a, path, e);
    if (rc != C2_OK)
        return rc;
    FILE *f = a.f;
    fputs(page_head, f);
    fprintf(f, "<p>%d cases, %d predicted, %d with text, %d consistent with their text.</p>\n",
            (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cohort, "cases")),
            (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cohort, "cases_ok")),
            (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cohort, "cases_with_text")),
            (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cohort, "cases_consistent")));
    fputs("<h2>Cohort agreement</h2>\n<table id=\"cohort\"><thead><tr><th>comparison</th><th>n</th>"
          "<th>laterality exact</th><th>zones exact</th><th>zone Jaccard</th><th>count = zones</th>"
          "<th>count = components</th></tr></thead><tbody>\n", f);
    cohort_table(f, "prediction vs text", cJSON_GetObjectItemCaseSensitive(cohort, "prediction_vs_text"));
    cohort_table(f, "text-decoded prediction vs text", cJSON_GetObjectItemCaseSensitive(cohort, "decoded_vs_text"));
    cohort_table(f, "prediction vs ground truth", cJSON_GetObjectItemCaseSensitive(cohort, "prediction_vs_ground_truth"));
    cohort_table(f, "ground truth vs text (ceiling)", cJSON_GetObjectItemCaseSensitive(cohort, "ground_truth_vs_text"));
    fputs("</tbody></table>\n<h2>Dice</h2>\n<table id=\"dice\"><thead><tr><th>cases</th><th>n</th><th>mean Dice</th>"
          "</tr></thead><tbody>\n", f);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(cohort, "dice");
    static const char *const rows[3][3] = {{"all with ground truth", "n", "mean"},
                                           {"consistent with the text", "n_consistent", "consistent"},
                                           {"inconsistent with the text", "n_inconsistent", "inconsistent"}};
    for (int k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, rows[k][2]);
        fprintf(f, "<tr><td>%s</td><td>%d</td>", rows[k][0],
                (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, rows[k][1])));
        num_cell(f, v);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    gate_table(f, cJSON_GetObjectItemCaseSensitive(cohort, "quality_gate"));
    const cJSON *sev = cJSON_GetObjectItemCaseSensitive(cohort, "severity");
    if (cJSON_IsObject(sev)) {
        fprintf(f, "<h2>Severity (CT volumes)</h2>\n<table id=\"severity\"><thead><tr><th>volumes</th>"
                   "<th>with a stated severity</th><th>agreement</th><th>mean category difference</th></tr></thead>"
                   "<tbody><tr><td>%d</td><td>%d</td>",
                (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sev, "n")),
                (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sev, "n_stated")));
        num_cell(f, cJSON_GetObjectItemCaseSensitive(sev, "agree_rate"));
        num_cell(f, cJSON_GetObjectItemCaseSensitive(sev, "mean_category_diff"));
        fputs("</tr></tbody></table>\n", f);
    }
    fputs("<h2>Cases</h2>\n"
          "<p id=\"legend\">Overlay outlines: <span class=\"swatch\" style=\"background:#f00\"></span>prediction "
          "<span class=\"swatch\" style=\"background:#0f0\"></span>ground truth</p>\n<label><input type=\"checkbox\" id=\"only\" onchange=\"filterRows()\"> "
          "only cases inconsistent with their text</label>\n<table id=\"cases\"><thead><tr>", f);
    static const char *const heads[] = {"case", "source", "kind", "text", "text side", "mask side", "text zones",
                                        "mask zones", "consistent", "zone Jaccard", "Dice", "overlay"};
    for (int k = 0; k < 12; k++)
        fprintf(f, "<th onclick=\"sortBy(%d)\">%s</th>", k, heads[k]);
    fputs("</tr></thead><tbody>\n", f);
    const cJSON *c;
    int embed = cJSON_GetArraySize(cases) <= REPORT_EMBED_MAX;
    if (!embed)
        fprintf(f, "<p id=\"lazy\">More than %d cases: thumbnails are loaded from the overlays folder as they "
                   "scroll into view (keep report.html beside it).</p>\n", REPORT_EMBED_MAX);
    int row = 0;
    cJSON_ArrayForEach(c, cases) case_row(f, outdir, c, embed, row++ >= REPORT_PAGE_ROWS);
    fputs("</tbody></table>\n<p id=\"pager\"><button onclick=\"go(-1)\">previous</button> <span id=\"pageno\">"
          "</span> <button onclick=\"go(1)\">next</button></p>\n", f);
    fputs(page_script, f);
    fputs("</body></html>\n", f);
    if (ferror(f)) {
        c2_atomic_abort(&a);
        return c2_fail(e, C2_EIO, "%s: write failed", path);
    }
    return c2_atomic_commit(&a, e);
}
