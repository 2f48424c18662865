/* captions: caption tables of the public datasets, matched to image / mask files by name.
 *   SGSeg annotation.json  {"train":[{"image_path","caption","pseudo_label",...}],"valid":..,"test":..}
 *   LViT *_text.xlsx       first sheet, columns "Image" and "Description" (zip + sheet XML + shared strings)
 *   GuideDecoder *.csv     header "Image,Description" (any column order), RFC 4180 quoted fields, UTF-8;
 *                          with a SOPInstanceUID column (a DICOM series' per-slice table, e.g. the
 *                          sample generator's captions.csv) rows are keyed by that UID instead of
 *                          the file name (keyed_by_uid)
 *   plain text             one caption per line, no file names (for `caption parse`)
 * The format is chosen by extension (.json .csv .tsv .xlsx .txt), then by content (zip magic,
 * a document that parses as JSON as a whole, an "Image,Description" header line), never by
 * the first byte alone: a plain caption line starting with '{' is a line. These captions mean
 * the image's left half (CONV_IMAGE). Rows whose file is never matched are counted and
 * reported by the caller, not fatal (some workbooks list the whole dataset in every split). */
#ifndef C2SEG_DICOM_SR_CAPTIONS_H
#define C2SEG_DICOM_SR_CAPTIONS_H

#include "dicom-sr/zones.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum caption_format { CAPTIONS_JSON, CAPTIONS_XLSX, CAPTIONS_CSV, CAPTIONS_LINES } caption_format;

typedef struct caption_row {
    char *file;                 /* as written in the table ("" for plain lines) */
    char *caption;              /* UTF-8 */
    char split[16];             /* "train" / "valid" / "test" for annotation.json, else "" */
    int has_pseudo;             /* annotation.json pseudo_label present */
    uint8_t pseudo[ZONE_COUNT]; /* SGSeg pseudo_label */
    int infected_area;          /* annotation.json, -1 if absent */
    int pulmonary_infection;    /* annotation.json (1 unilateral, 2 bilateral), -1 if absent */
    int matched;                /* times caption_table_find returned this row */
} caption_row;

typedef struct caption_table {
    int n;
    caption_row *rows;
    caption_format format;
    lr_convention convention;   /* CONV_IMAGE for every public table */
    int keyed_by_uid;           /* CSV with a SOPInstanceUID column: rows[].file holds the UID */
    char path[1024];
    int *order;                 /* private: rows sorted by match key (built on first find) */
} caption_table;

/* Loads path; split ("train", "valid", "test") keeps only that split of an annotation.json
 * (NULL = all). *t is malloc'd; free with caption_table_free. */
int caption_table_load(const char *path, const char *split, caption_table **t, c2_err *e);
void caption_table_free(caption_table *t);

/* The row for an image or mask file name (a path is reduced to its base name), compared
 * case-insensitively with any "mask_" prefix removed on both sides. NULL when absent.
 * Counts the match in row->matched. */
caption_row *caption_table_find(caption_table *t, const char *file_name);
/* Rows never returned by caption_table_find. */
int caption_table_unmatched(const caption_table *t);
const char *caption_format_name(caption_format f);   /* "json" "xlsx" "csv" "lines" */

#ifdef __cplusplus
}
#endif
#endif
