/* pipeline/ingest/ingest_slices: 2D slice datasets in their publishers' layouts.
 *   SGSeg QaTa     SPLIT/images/NAME.png   SPLIT/masks/mask_NAME.png      (domain xray)
 *   LViT           SPLIT_Folder/img/NAME   SPLIT_Folder/labelcol/[mask_]NAME (xray)
 *   GuideDecoder   [SPLIT/]Images/NAME     [SPLIT/]GTs/[mask_]NAME        (xray)
 *   Inf-Net        Imgs/N.jpg              GT/N.png                       (raw: CT slices
 *                                                                          already windowed)
 * Folder and file names match case-insensitively; a mask is the file in the sibling
 * mask folder whose name, without extension and without a "mask_" prefix, equals
 * the image's. The split is the name of the folder above (train / valid / val /
 * test, or LViT's Train_Folder ...); other names give split "none". Images without
 * a mask are ingested with has_mask 0; masks without an image are reported.
 * Captions come from --captions or the publisher's table (see caption_attach).
 * Pairs are read, normalised, resized and compressed on the pool (base/pool.h, --jobs); the
 * calling thread attaches captions and writes them in file order. */
#include "base/pool.h"
#include "pipeline/ingest/ingest_parts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const image_dirs[] = {"images", "img", "imgs", "image", NULL};
static const char *const mask_dirs[] = {"masks", "labelcol", "gt", "gts", "mask", "labels", NULL};

static int name_in(const char *name, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (c2_strcasecmp_ascii(name, list[i]) == 0)
            return 1;
    return 0;
}

/* The last component of the folder of path, and of the folder above it. */
static void parent_names(const char *path, char *parent, char *grand, size_t cap)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *s = strrchr(tmp, '/');
    parent[0] = grand[0] = 0;
    if (!s)
        return;
    *s = 0;
    s = strrchr(tmp, '/');
    snprintf(parent, cap, "%s", s ? s + 1 : tmp);
    if (!s)
        return;
    *s = 0;
    s = strrchr(tmp, '/');
    snprintf(grand, cap, "%s", s ? s + 1 : tmp);
}

/* Match key: lower-cased "<folder above the file's folder>/<stem without mask_>". */
static void pair_key(char *out, size_t cap, const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *slash = strrchr(tmp, '/');
    char *base = slash ? slash + 1 : tmp;
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = 0;
    const char *stem = strncmp(base, "mask_", 5) == 0 && base[5] ? base + 5 : base;
    const char *root = "";
    if (slash) {
        *slash = 0;
        char *up = strrchr(tmp, '/');
        if (up) {
            *up = 0;
            root = tmp;
        }
    }
    snprintf(out, cap, "%s/%s", root, stem);
}

typedef struct mask_entry {
    char key[4200];
    int file;
} mask_entry;

static int mask_entry_compare(const void *a, const void *b)
{
    return strcmp(((const mask_entry *)a)->key, ((const mask_entry *)b)->key);
}

/* Which layout an image folder belongs to decides the intensity domain. */
static const char *layout_domain(const char *image_dir)
{
    return c2_strcasecmp_ascii(image_dir, "imgs") == 0 ? "raw" : "xray";
}

caption_table *ingest_table_get(ingest_ctx *c, const char *path, const char *split)
{
    int json = c2_ends_with_ci(path, ".json");
    for (int i = 0; i < c->n_tables; i++)
        if (strcmp(c->tables[i].path, path) == 0 && (!json || strcmp(c->tables[i].split, split) == 0))
            return c->tables[i].table;
    if (c->n_tables == (int)(sizeof c->tables / sizeof c->tables[0]))
        return NULL;
    struct caption_source *t = &c->tables[c->n_tables++];
    snprintf(t->path, sizeof t->path, "%s", path);
    snprintf(t->split, sizeof t->split, "%s", split);
    c2_err e = {0};
    if (caption_table_load(path, json && split[0] ? split : NULL, &t->table, &e) != C2_OK) {
        ingest_error(c, "%s", e.msg);
        t->table = NULL;
    }
    return t->table;
}

/* Caption of a 2D sample: --captions, else annotation.json beside the split folders
 * (or inside one), else LViT's SPLIT_text.xlsx in the split folder, else
 * GuideDecoder's prompt/SPLIT.csv. Fills s's text slot when a row matches. */
static void caption_attach(ingest_ctx *c, cache_sample *s, const char *image_path, const char *split_name,
                           char *source, size_t cap)
{
    char split_dir[4096], root[4096], cand[4][4200];
    snprintf(split_dir, sizeof split_dir, "%s", image_path);
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(split_dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(split_dir, sizeof split_dir, ".");
    }
    snprintf(root, sizeof root, "%s", split_dir);
    char *slash = strrchr(root, '/');
    if (slash)
        *slash = 0;
    const char *split = cache_split_parse(split_name) == CACHE_SPLIT_VALID ? "valid" : split_name;
    int n = 0;
    if (c->captions_path)
        snprintf(cand[n++], sizeof cand[0], "%s", c->captions_path);
    snprintf(cand[n++], sizeof cand[0], "%s/annotation.json", root);
    snprintf(cand[n++], sizeof cand[0], "%s/%s_text.xlsx", split_dir, split_name);
    snprintf(cand[n++], sizeof cand[0], "%s/prompt/%s.csv", root, split);
    for (int i = 0; i < n; i++) {
        if ((i > 0 || !c->captions_path) && access(cand[i], R_OK) != 0)
            continue;
        char lower[16];
        snprintf(lower, sizeof lower, "%s", split);
        for (char *p = lower; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        caption_table *t = ingest_table_get(c, cand[i], lower);
        caption_row *row = t ? caption_table_find(t, c2_basename(image_path)) : NULL;
        if (!row)
            continue;
        snprintf(source, cap, "%s%s%s", c2_basename(cand[i]), lower[0] ? ":" : "", lower);
        s->caption = s->text_raw = row->caption;
        s->text_source = source;
        s->text_convention = c->captions_patient ? "patient" : "image";
        return;
    }
}

/* One image of a layout (or a file outside any layout: reported) to ingest. */
typedef struct slice_entry {
    int file, mask;             /* indices into c->files; mask -1 = none */
    int outside;                /* not in a layout folder: reported, no job */
    int split;
    char split_name[512];
    const char *domain;
} slice_entry;

typedef struct slices_work {
    ingest_ctx *c;
    const slice_entry *entries;
} slices_work;

/* One pair's pixels: image [S,S] then mask [S,S] follow the header. */
typedef struct pair_slot {
    int rc, has_mask, rows, cols;
    c2_err e;
    double model_to_source[3][3];
    cache_chunk chunk;          /* the encoded sample (the writer frees it) */
    float image[];
} pair_slot;

/* A pair job: read, normalise (METHOD.md §6: x = pixel / 255 in float32; masks binarised at
 * half range, > 127) and resize. */
static void pair_job(void *user, int64_t i, void *slot_mem)
{
    slices_work *w = user;
    pair_slot *slot = slot_mem;
    const slice_entry *en = &w->entries[i];
    const ingest_ctx *c = w->c;
    if (en->outside)
        return;
    if (ingest_stopping(c)) {   /* a failed write stopped the run: not read */
        slot->rc = C2_EIO;
        return;
    }
    const char *image_path = c->files[en->file].path, *mask_path = en->mask >= 0 ? c->files[en->mask].path : NULL;
    int S = c->pp.size;
    uint8_t *mask = (uint8_t *)(slot->image + (size_t)S * S);
    image2d img = {0}, msk = {0};
    c2_err *e = &slot->e;
    const ingest_file *over = c->files[en->file].over ? &c->files[en->file]
                              : en->mask >= 0 && c->files[en->mask].over ? &c->files[en->mask] : NULL;
    if (over) {   /* left out by --max-memory's plan: reported, not decoded */
        ingest_image_over_reason(c, over->path, over->over, e);
        slot->rc = C2_ELIMIT;
        return;
    }
    int rc = image2d_read_pair_isolated(image_path, mask_path, &img, &msk, e);
    if (rc == C2_OK && mask_path && (msk.rows != img.rows || msk.cols != img.cols))
        rc = c2_fail(e, C2_EMISMATCH, "%s: mask is %dx%d, its image %s is %dx%d", mask_path, msk.cols, msk.rows,
                     c2_basename(image_path), img.cols, img.rows);
    size_t n = (size_t)img.rows * img.cols;
    float *x = rc == C2_OK ? malloc(n * sizeof *x) : NULL;
    uint8_t *g = rc == C2_OK && mask_path ? malloc(n) : NULL;
    if (rc == C2_OK && (!x || (mask_path && !g)))
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory", image_path);
    if (rc == C2_OK) {
        for (size_t k = 0; k < n; k++)
            x[k] = (float)img.pixels[k] / (float)img.maxval;
        for (size_t k = 0; g && k < n; k++)
            g[k] = msk.pixels[k] > msk.maxval / 2;
        ingest_resize(c, x, g, img.rows, img.cols, slot->image, mask, slot->model_to_source);
        slot->model_to_source[2][2] = 0; /* a 2D image is its own plane: a2 = 0 (io/cache.h) */
        slot->has_mask = g != NULL;
        slot->rows = img.rows;
        slot->cols = img.cols;
        rc = cache_chunk_encode(S, slot->image, g ? mask : NULL, &slot->chunk, e);
    }
    slot->rc = rc;
    free(x);
    free(g);
    image2d_free(&img);
    image2d_free(&msk);
}

/* One pair -> one sample, in file order on the calling thread (captions, the writer). */
static void pair_done(void *user, int64_t i, void *slot_mem)
{
    slices_work *w = user;
    pair_slot *slot = slot_mem;
    const slice_entry *en = &w->entries[i];
    ingest_ctx *c = w->c;
    ingest_file *f = &c->files[en->file], *mf = en->mask >= 0 ? &c->files[en->mask] : NULL;
    if (en->outside) {
        ingest_report(c, f, "image file outside a slice-dataset layout (expected images/, img/, Imgs/ or Images/ "
                            "beside masks/, labelcol/, GT/ or GTs/)");
        return;
    }
    int rc = slot->rc;
    c2_err e = slot->e;
    if (rc == C2_OK) {
        cache_sample s = {0};
        memcpy(s.model_to_source, slot->model_to_source, sizeof s.model_to_source);
        char case_id[256];
        snprintf(case_id, sizeof case_id, "%s", c2_basename(f->path));
        char *dot = strrchr(case_id, '.');
        if (dot)
            *dot = 0;
        s.split = en->split;
        s.has_mask = slot->has_mask;
        s.file = f->path;
        s.mask_file = mf ? mf->path : NULL;
        s.case_id = case_id;
        s.modality = "";
        s.domain = en->domain;
        s.source_rows = slot->rows;
        s.source_cols = slot->cols;
        char source[4200];
        caption_attach(c, &s, f->path, en->split_name, source, sizeof source);
        rc = ingest_add_chunk(c, &s, &slot->chunk, &e);
        c->n_images2d++;
    }
    cache_chunk_free(&slot->chunk);
    if (rc != C2_OK)
        ingest_report(c, f, e.msg);
    else
        ingest_done(c, f, FILE_DONE);
    if (mf && mf->state == FILE_PENDING)
        ingest_done(c, mf, FILE_CONSUMED);
}

void ingest_slices(ingest_ctx *c)
{
    char parent[512], grand[512];
    size_t cap = c->n_files ? (size_t)c->n_files : 1;
    mask_entry *masks = malloc(cap * sizeof *masks);
    slice_entry *entries = malloc(cap * sizeof *entries);
    int n_masks = 0, n_entries = 0;
    if (!masks || !entries) {
        ingest_error(c, "out of memory pairing slice datasets");
        free(masks);
        free(entries);
        return;
    }
    for (int i = 0; i < c->n_files; i++) {
        ingest_file *f = &c->files[i];
        if (f->state != FILE_PENDING || !image2d_path_is_image(f->path))
            continue;
        parent_names(f->path, parent, grand, sizeof parent);
        if (name_in(parent, mask_dirs)) {
            pair_key(masks[n_masks].key, sizeof masks[n_masks].key, f->path);
            masks[n_masks++].file = i;
        }
    }
    qsort(masks, n_masks, sizeof *masks, mask_entry_compare);
    for (int i = 0; i < c->n_files; i++) {
        ingest_file *f = &c->files[i];
        if (f->state != FILE_PENDING || !image2d_path_is_image(f->path))
            continue;
        parent_names(f->path, parent, grand, sizeof parent);
        if (name_in(parent, mask_dirs))
            continue;
        slice_entry *en = &entries[n_entries++];
        memset(en, 0, sizeof *en);
        en->file = i;
        en->mask = -1;
        if ((en->outside = !name_in(parent, image_dirs)) != 0)
            continue;
        mask_entry key;
        pair_key(key.key, sizeof key.key, f->path);
        mask_entry *m = bsearch(&key, masks, n_masks, sizeof *masks, mask_entry_compare);
        en->mask = m ? m->file : -1;
        snprintf(en->split_name, sizeof en->split_name, "%s", grand);
        char *folder = strchr(en->split_name, '_');
        if (folder && c2_strcasecmp_ascii(folder, "_folder") == 0)
            *folder = 0; /* LViT: Train_Folder -> Train */
        int split = cache_split_parse(en->split_name);
        en->split = split < 0 ? CACHE_SPLIT_NONE : split;
        if (split < 0)
            en->split_name[0] = 0;
        en->domain = layout_domain(parent);
    }
    slices_work w = {c, entries};
    size_t S = (size_t)c->pp.size;
    c2_err e = {0};
    if (c2_pool_map(c->pool, n_entries, sizeof(pair_slot) + S * S * (sizeof(float) + 1), pair_job, pair_done, &w,
                    &e) != C2_OK)
        ingest_error(c, "%s", e.msg);
    free(entries);
    for (int k = 0; k < n_masks; k++) {
        ingest_file *f = &c->files[masks[k].file];
        if (f->state == FILE_PENDING)
            ingest_report(c, f, "mask without a matching image in the sibling image folder");
    }
    for (int i = 0; i < c->n_tables; i++) {
        int unmatched = c->tables[i].table ? caption_table_unmatched(c->tables[i].table) : 0;
        if (unmatched)
            ingest_warn(c, "%s%s%s: %d of %d rows name no ingested image (not used)", c->tables[i].path,
                    c->tables[i].split[0] ? ":" : "", c->tables[i].split, unmatched, c->tables[i].table->n);
    }
    free(masks);
}
