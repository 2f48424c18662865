/* io/cache: the HDF5 cohort cache (layout in docs/cache.md). The writer streams the
 * pixel tensors into extendible chunked datasets and keeps the per-sample metadata
 * in growable columns until close; the reader loads everything into one struct, and
 * the pixel reader (cache_pixels_*) reads single samples' images and masks on demand.
 * Every HDF5 call's status is checked; failures name the file and the object. */
#include "io/cache.h"
#include "io/h5.h"

#include <hdf5.h>
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Deflate level of every chunked dataset as HDF5 records it: /images and /masks without
 * shuffle (the windowed floats compress better and faster unshuffled; their chunks are encoded
 * here by igzip, deflate_bytes), the numeric columns and embeddings after shuffle (shuffled and
encoded here too, whole_chunk_write). Measured in
 * docs/cache.md; HDF5 readers do not depend on either choice (inflate reads any level). */
#define CACHE_DEFLATE_LEVEL 1
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "cache_chunk_encode writes native floats as F32LE: a big-endian host needs a byte swap"
#endif

const char *cache_split_name(int split)
{
    static const char *names[] = {"none", "train", "valid", "test"};
    return split >= 0 && split <= 3 ? names[split] : "none";
}

int cache_split_parse(const char *name)
{
    static const struct { const char *name; int split; } map[] = {
        {"none", CACHE_SPLIT_NONE},   {"train", CACHE_SPLIT_TRAIN},      {"training", CACHE_SPLIT_TRAIN},
        {"valid", CACHE_SPLIT_VALID}, {"val", CACHE_SPLIT_VALID},        {"validation", CACHE_SPLIT_VALID},
        {"test", CACHE_SPLIT_TEST},   {"testing", CACHE_SPLIT_TEST},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (c2_strcasecmp_ascii(name, map[i].name) == 0)
            return map[i].split;
    return -1;
}

/* The per-sample string columns, in file order (names of the datasets in /samples
 * and /text). Index constants below address them. */
enum { COL_FILE, COL_MASK_FILE, COL_STUDY, COL_SERIES, COL_SOP, COL_CASE, COL_MODALITY, COL_DOMAIN,
       COL_TEXT_RAW, COL_TEXT_SOURCE, COL_TEXT_CONVENTION, N_STRING_COLS };
static const char *const string_col_path[N_STRING_COLS] = {
    "/samples/file",     "/samples/mask_file", "/samples/study_uid", "/samples/series_uid",
    "/samples/sop_uid",  "/samples/case_id",   "/samples/modality",  "/samples/domain",
    "/text/raw",         "/text/source",       "/text/convention",
};

static const char **sample_string_field(cache_sample *s, int col)
{
    switch (col) {
    case COL_FILE: return &s->file;
    case COL_MASK_FILE: return &s->mask_file;
    case COL_STUDY: return &s->study_uid;
    case COL_SERIES: return &s->series_uid;
    case COL_SOP: return &s->sop_uid;
    case COL_CASE: return &s->case_id;
    case COL_MODALITY: return &s->modality;
    case COL_DOMAIN: return &s->domain;
    case COL_TEXT_RAW: return &s->text_raw;
    case COL_TEXT_SOURCE: return &s->text_source;
    default: return &s->text_convention;
    }
}

struct cache_writer {
    char path[4096], tmp[4200];
    int size;
    hid_t file, images, masks;
    int64_t n;
    size_t cap_meta, cap_index;
    cache_sample *meta;        /* [cap_meta]; string fields point into strdup'd copies */
    int32_t *caption_index;    /* [cap_index] */
    char **captions;           /* [n_captions], unique, first-use order */
    int64_t n_captions;
    size_t cap_captions;
};

static char *string_copy(const char *s)
{
    return strdup(s ? s : "");
}

/* The split enum type: h5dump shows the names, h5py reads the integers. */
static hid_t split_type_create(void)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_UINT8);
    for (int s = CACHE_SPLIT_NONE; s <= CACHE_SPLIT_TEST; s++) {
        uint8_t v = (uint8_t)s;
        H5Tenum_insert(t, cache_split_name(s), &v);
    }
    return t;
}

/* Creates a dataset of rank dims with chunking (chunk[0] along the sample axis), deflate
 * (CACHE_DEFLATE_LEVEL) after the shuffle filter when shuffle is set, no object times (so reruns
 * give the same bytes), the first axis extendible when extendible is set. */
static hid_t dataset_create(hid_t file, const char *path, hid_t type, int rank, const hsize_t *dims,
                            const hsize_t *chunk, int extendible, int shuffle)
{
    hsize_t maxdims[4];
    for (int i = 0; i < rank; i++)
        maxdims[i] = (i == 0 && extendible) ? H5S_UNLIMITED : dims[i];
    hid_t sp = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_obj_track_times(dcpl, 0);
    int empty = 0;
    for (int i = 0; i < rank; i++)
        empty |= dims[i] == 0 && !(i == 0 && extendible);
    if (!empty && (extendible || dims[0] > 0)) {
        H5Pset_chunk(dcpl, rank, chunk);
        if (H5Tget_class(type) != H5T_STRING) {
            if (shuffle)
                H5Pset_shuffle(dcpl);
            H5Pset_deflate(dcpl, CACHE_DEFLATE_LEVEL);
        }
    }
    hid_t d = H5Dcreate2(file, path, type, sp, lcpl, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(sp);
    return d;
}

static int whole_chunk_write(hid_t d, hid_t type, int rank, size_t n, const void *data);

/* Writes a whole [dims] array as a new dataset (chunk = up to 4096 samples). A numeric array
 * of one chunk whose memory type is its file type is shuffled and deflated here (igzip, as the
 * pixel chunks: whole_chunk_write), not by HDF5's zlib filter: the same values for every reader. */
/* A transfer property list for a whole-dataset read or write of d as mem_type: HDF5 converts
 * through a buffer of H5Pset_buffer's size, 1 MiB by default, which it allocates zeroed for
 * every call (H5D__typeinfo_init): ~690 page faults of a 3-slice ingest for a few short
 * strings. Here the buffer holds the whole array (4 KiB to 1 MiB). H5P_DEFAULT when a list
 * cannot be made (the default buffer then). */
static hid_t conversion_xfer(hid_t d, hid_t mem_type)
{
    hid_t sp = H5Dget_space(d), ft = H5Dget_type(d);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    size_t el = ft >= 0 ? H5Tget_size(ft) : 0, em = H5Tget_size(mem_type);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    size_t cap = (size_t)1 << 20, want = 4096, per = el > em ? el : em;
    if (n > 0 && per > 0)
        want = (size_t)n > cap / per ? cap : (size_t)n * per < want ? want : (size_t)n * per;
    hid_t x = H5Pcreate(H5P_DATASET_XFER);
    if (x >= 0 && H5Pset_buffer(x, want, NULL, NULL) < 0) {
        H5Pclose(x);
        x = -1;
    }
    return x >= 0 ? x : H5P_DEFAULT;
}

static void xfer_close(hid_t x)
{
    if (x != H5P_DEFAULT)
        H5Pclose(x);
}

static int dataset_write(hid_t file, const char *path, hid_t file_type, hid_t mem_type, int rank,
                         const hsize_t *dims, const void *data)
{
    hsize_t chunk[4];
    for (int i = 0; i < rank; i++)
        chunk[i] = dims[i] ? dims[i] : 1;
    chunk[0] = dims[0] > 4096 ? 4096 : dims[0] ? dims[0] : 1;
    hid_t d = dataset_create(file, path, file_type, rank, dims, chunk, 0, 1);
    if (d < 0)
        return -1;
    herr_t st = 0;
    int64_t total = 1;
    for (int i = 0; i < rank; i++)
        total *= (int64_t)dims[i];
    int direct = total > 0 && dims[0] <= 4096 && H5Tget_class(file_type) != H5T_STRING &&
                 H5Tequal(file_type, mem_type) > 0;
    if (direct && whole_chunk_write(d, file_type, rank, (size_t)total, data) == 0)
        total = 0;
    if (total > 0) {
        hid_t x = conversion_xfer(d, mem_type);
        st = H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, x, data);
        xfer_close(x);
    }
    H5Dclose(d);
    return st < 0 ? -1 : 0;
}

static int strings_write(hid_t file, const char *path, const char *const *v, int64_t n)
{
    hid_t t = h5_string_type();
    hsize_t dims[1] = {(hsize_t)n};
    int rc = dataset_write(file, path, t, t, 1, dims, v);
    H5Tclose(t);
    return rc;
}

int cache_writer_open(cache_writer **out, const char *path, int size, const char *params_json, c2_err *e)
{
    *out = NULL;
    if (size < 8 || size > 4096)
        return c2_fail(e, C2_EINVAL, "%s: image size %d is outside 8..4096", path, size);
    cache_writer *w = calloc(1, sizeof *w);
    if (!w)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    snprintf(w->path, sizeof w->path, "%s", path);
    c2_temp_name(w->tmp, sizeof w->tmp, path);
    w->size = size;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* our messages replace HDF5's error stack dump */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    errno = 0;
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (w->file < 0) {
        int err = errno;
        remove(w->tmp);         /* created, then its superblock could not be written (disk full) */
        free(w);
        return c2_fail(e, C2_EIO, "%s: cannot create the HDF5 file%s%s%s", path, err ? " (" : "",
                       err ? strerror(err) : "", err ? ")" : "");
    }
    hsize_t dims[3] = {0, (hsize_t)size, (hsize_t)size}, chunk[3] = {1, (hsize_t)size, (hsize_t)size};
    w->images = dataset_create(w->file, "/images", H5T_IEEE_F32LE, 3, dims, chunk, 1, 0);
    w->masks = dataset_create(w->file, "/masks", H5T_STD_U8LE, 3, dims, chunk, 1, 0);
    int bad = w->images < 0 || w->masks < 0;
    bad |= h5_attr_write_i64(w->file, "schema_version", CACHE_SCHEMA_VERSION) < 0;
    bad |= h5_attr_write_string(w->file, "tool", "c2seg") < 0;
    bad |= h5_attr_write_string(w->file, "tool_version", c2_version()) < 0;
    bad |= h5_attr_write_string(w->file, "parameters", params_json ? params_json : "{}") < 0;
    bad |= h5_attr_write_i64(w->file, "image_size", size) < 0;
    bad |= h5_attr_write_string(w->images, "range", "[0,1]; model input = (x - 0.5) / 0.25") < 0;
    bad |= h5_attr_write_string(w->masks, "values", "{0,1}") < 0;
    if (bad) {
        cache_writer_abort(w);
        return c2_fail(e, C2_EIO, "%s: cannot create the cache datasets", path);
    }
    *out = w;
    return C2_OK;
}

int64_t cache_writer_count(const cache_writer *w) { return w->n; }

static int64_t caption_intern(cache_writer *w, const char *caption)
{
    for (int64_t i = 0; i < w->n_captions; i++)
        if (strcmp(w->captions[i], caption) == 0)
            return i;
    if (c2_grow(&w->captions, sizeof *w->captions, (size_t)w->n_captions + 1, &w->cap_captions))
        return -2;
    if (!(w->captions[w->n_captions] = strdup(caption)))
        return -2;
    return w->n_captions++;
}

/* Each thread keeps its compressor (its state: allocating it per sample cost page faults)
 * and the encoded all-zero mask of the last size: the same bytes every time. Freed when the
 * thread ends (the main thread's stays reachable through its TLS until exit). */
typedef struct chunk_coder {
    struct isal_zstream *zs;   /* ISA-L's igzip stream */
    uint8_t *level_buf;        /* [ISAL_DEF_LVL2_DEFAULT]: its hash tables at CACHE_IGZIP_LEVEL */
    int zero_S;
    uint8_t *zero;
    size_t zero_n;
} chunk_coder;

/* The largest zlib stream isal_deflate_stateless writes for n bytes: when its compressed
 * output does not fit the buffer it writes stored blocks instead, so the bound is theirs
 * (ISA-L igzip.c, isal_deflate_stateless: TYPE0_BLK_HDR_LEN 5 bytes for each block of at most
 * TYPE0_MAX_BLK_LEN 65535 bytes, one empty block for n = 0, the zlib header 2 and its Adler-32
 * trailer 4), and it wants at least 8 bytes of output. 0 when the bound overflows. */
#define STORED_BLOCK_MAX 65535u
#define STORED_BLOCK_HEADER 5u
#define ZLIB_WRAP_BYTES (2u + 4u)
static size_t zlib_stored_bound(size_t n)
{
    size_t blocks = n ? (n + STORED_BLOCK_MAX - 1) / STORED_BLOCK_MAX : 1;
    if (n > SIZE_MAX - ZLIB_WRAP_BYTES - blocks * STORED_BLOCK_HEADER)
        return 0;
    size_t b = n + blocks * STORED_BLOCK_HEADER + ZLIB_WRAP_BYTES;
    return b < 8 ? 8 : b;
}

/* HDF5's deflate filter (H5Zdeflate.c) reads a zlib stream; the chunks of /images and /masks
 * are encoded by ISA-L's igzip at its level 2 (docs/cache.md: 26-52 % less CPU than libdeflate's
 * level 1 on the images, a twelfth of the time on the masks, for a 2-3 % larger cache), into a
 * fresh buffer of the stored bound (zlib_stored_bound: incompressible bytes become stored
 * blocks). -1 when the buffer cannot be had, -2 when igzip fails (no chunk is written). */
#define CACHE_IGZIP_LEVEL 2
static int deflate_bytes(chunk_coder *k, const uint8_t *in, size_t n, uint8_t **out, size_t *out_n)
{
    size_t bound = zlib_stored_bound(n);
    if (n > UINT32_MAX || bound == 0 || bound > UINT32_MAX)
        return -2;              /* igzip counts in 32 bits: the cache's chunks are far smaller */
    uint8_t *z = malloc(bound);
    if (!z)
        return -1;
    struct isal_zstream *s = k->zs;
    isal_deflate_stateless_init(s);
    s->level = CACHE_IGZIP_LEVEL;
    s->level_buf = k->level_buf;
    s->level_buf_size = ISAL_DEF_LVL2_DEFAULT;
    s->gzip_flag = IGZIP_ZLIB;
    s->next_in = (uint8_t *)in;
    s->avail_in = (uint32_t)n;
    s->next_out = z;
    s->avail_out = (uint32_t)bound;
    s->end_of_stream = 1;
    s->flush = NO_FLUSH;
    if (isal_deflate_stateless(s) != COMP_OK || s->avail_in != 0 || s->total_out == 0 || s->total_out > bound) {
        free(z);
        return -2;
    }
    *out = z;
    *out_n = s->total_out;
    return 0;
}
static _Thread_local chunk_coder *thread_coder;
static pthread_key_t coder_key;
static pthread_once_t coder_once = PTHREAD_ONCE_INIT;

static void coder_free(void *p)
{
    chunk_coder *k = p;
    if (!k)
        return;
    free(k->zs);
    free(k->level_buf);
    free(k->zero);
    free(k);
}

static void coder_key_make(void) { pthread_key_create(&coder_key, coder_free); }

static chunk_coder *coder_get(void)
{
    if (thread_coder)
        return thread_coder;
    chunk_coder *k = calloc(1, sizeof *k);
    if (!k || !(k->zs = malloc(sizeof *k->zs)) || !(k->level_buf = malloc(ISAL_DEF_LVL2_DEFAULT))) {
        coder_free(k);
        return NULL;
    }
    pthread_once(&coder_once, coder_key_make);
    pthread_setspecific(coder_key, k);
    return thread_coder = k;
}

/* The one chunk of a dataset_write array of n elements of type, through the dataset's filters
 * done here: HDF5's shuffle (byte j of every element together, H5Zshuffle.c) and a zlib stream
 * (deflate_bytes), written with H5Dwrite_chunk. 0 done, -1 not written (the caller writes it
 * through HDF5's own filters). */
static int whole_chunk_write(hid_t d, hid_t type, int rank, size_t n, const void *data)
{
    size_t size = H5Tget_size(type);
    chunk_coder *k = coder_get();
    if (!k || size == 0 || n > SIZE_MAX / size || n * size > UINT32_MAX)
        return -1;
    const uint8_t *in = data;
    uint8_t *shuffled = size > 1 && n > 1 ? malloc(n * size) : NULL, *z = NULL;
    if (size > 1 && n > 1) {
        if (!shuffled)
            return -1;
        for (size_t j = 0; j < size; j++)
            for (size_t i = 0; i < n; i++)
                shuffled[j * n + i] = in[i * size + j];
        in = shuffled;
    }
    size_t zn = 0;
    hsize_t offset[4] = {0, 0, 0, 0};
    int rc = deflate_bytes(k, in, n * size, &z, &zn) == 0 && rank <= 4 &&
                     H5Dwrite_chunk(d, H5P_DEFAULT, 0, offset, zn, z) >= 0
                 ? 0
                 : -1;
    free(shuffled);
    free(z);
    return rc;
}

/* The encoded all-zero [S,S] mask, a fresh copy in *out. */
static int zero_mask_encode(chunk_coder *k, int S, uint8_t **out, size_t *out_n)
{
    if (k->zero_S != S) {
        size_t px = (size_t)S * S;
        uint8_t *zeros = calloc(px, 1), *z = NULL;
        size_t n = 0;
        int rc = zeros ? deflate_bytes(k, zeros, px, &z, &n) : -1;
        free(zeros);
        if (rc)
            return rc;
        free(k->zero);
        k->zero = z;
        k->zero_n = n;
        k->zero_S = S;
    }
    if (!(*out = malloc(k->zero_n)))
        return -1;
    memcpy(*out, k->zero, k->zero_n);
    *out_n = k->zero_n;
    return 0;
}

/* 1 when the n bytes at p are all zero (a mask slice without a finding). */
static int bytes_all_zero(const uint8_t *p, size_t n)
{
    uint64_t any = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        any |= w;
    }
    for (; i < n; i++)
        any |= p[i];
    return any == 0;
}

/* /images and /masks have no shuffle filter: the chunk is the F32LE / u8 bytes deflated. An
 * all-zero mask (most slices of a series with a SEG) is the cached encoding of the zero mask:
 * the same bytes as deflating it again, since the compressor and its input are the same. */
int cache_chunk_encode(int S, const float *image, const uint8_t *mask, cache_chunk *out, c2_err *e)
{
    memset(out, 0, sizeof *out);
    size_t px = (size_t)S * S;
    chunk_coder *k = coder_get();
    /* little-endian host: the native floats are F32LE as stored */
    int rc = k ? deflate_bytes(k, (const uint8_t *)image, px * sizeof(float), &out->image, &out->image_n) : -1;
    if (rc == 0)
        rc = mask && !bytes_all_zero(mask, px) ? deflate_bytes(k, mask, px, &out->mask, &out->mask_n)
                                              : zero_mask_encode(k, S, &out->mask, &out->mask_n);
    out->has_mask = mask != NULL;
    if (rc) {
        cache_chunk_free(out);
        if (rc == -2)
            return c2_fail(e, C2_EINVAL, "igzip could not compress a %dx%d sample within its stored-block bound", S, S);
        return c2_fail(e, C2_ENOMEM, "out of memory compressing a %dx%d sample", S, S);
    }
    return C2_OK;
}

void cache_chunk_free(cache_chunk *c)
{
    free(c->image);
    free(c->mask);
    memset(c, 0, sizeof *c);
}

/* Stores one encoded [1,S,S] chunk at row `row` of an extendible dataset. */
static int append_chunk(hid_t d, int64_t row, int S, const uint8_t *data, size_t n)
{
    hsize_t dims[3] = {(hsize_t)row + 1, (hsize_t)S, (hsize_t)S}, offset[3] = {(hsize_t)row, 0, 0};
    if (H5Dset_extent(d, dims) < 0)
        return -1;
    return H5Dwrite_chunk(d, H5P_DEFAULT, 0, offset, n, data) < 0 ? -1 : 0;
}

int cache_writer_add_chunk(cache_writer *w, const cache_sample *meta, const cache_chunk *chunk, c2_err *e)
{
    if (c2_grow(&w->meta, sizeof *w->meta, (size_t)w->n + 1, &w->cap_meta) ||
        c2_grow(&w->caption_index, sizeof *w->caption_index, (size_t)w->n + 1, &w->cap_index))
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for sample metadata", w->path);
    int S = w->size;
    if (append_chunk(w->images, w->n, S, chunk->image, chunk->image_n) < 0 ||
        append_chunk(w->masks, w->n, S, chunk->mask, chunk->mask_n) < 0)
        return c2_fail(e, C2_EIO, "%s: writing sample %lld failed (disk full?)", w->path, (long long)w->n);
    cache_sample *m = &w->meta[w->n];
    *m = *meta;
    m->has_mask = chunk->has_mask ? meta->has_mask : 0;
    m->caption = NULL;
    for (int col = 0; col < N_STRING_COLS; col++) {
        const char **f = sample_string_field(m, col);
        if (!(*f = string_copy(*f)))
            return c2_fail(e, C2_ENOMEM, "%s: out of memory", w->path);
    }
    int64_t ci = meta->caption && meta->caption[0] ? caption_intern(w, meta->caption) : -1;
    if (ci == -2)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for captions", w->path);
    w->caption_index[w->n] = (int32_t)ci;
    w->n++;
    return C2_OK;
}

int cache_writer_add(cache_writer *w, const cache_sample *meta, const float *image, const uint8_t *mask, c2_err *e)
{
    cache_chunk chunk;
    int rc = cache_chunk_encode(w->size, image, mask, &chunk, e);
    if (rc == C2_OK)
        rc = cache_writer_add_chunk(w, meta, &chunk, e);
    cache_chunk_free(&chunk);
    return rc;
}

int cache_writer_set_nonfinite(cache_writer *w, int64_t i, int64_t count, c2_err *e)
{
    if (i < 0 || i >= w->n)
        return c2_fail(e, C2_EINVAL, "%s: no sample %lld to update", w->path, (long long)i);
    w->meta[i].nonfinite_count = count;
    return C2_OK;
}

/* The staging buffers of the numeric /samples and /geometry columns of n samples, the
 * same for metadata_write (filled from the samples) and metadata_read (from the file);
 * un = n, at least 1, so that an empty cache allocates too. */
typedef struct meta_columns {
    size_t un;
    uint8_t *u8;       /* split, has_mask [un] each (has_patient_geometry reuses split's) */
    int32_t *i32;      /* frame, slice_index, source_rows, source_cols [un] each */
    int64_t *i64;      /* nonfinite_count [un] */
    double *m33, *m44; /* model_to_source [un,3,3], source_to_patient [un,4,4] */
} meta_columns;

static int meta_columns_alloc(meta_columns *b, int64_t n)
{
    b->un = n ? (size_t)n : 1;
    b->u8 = malloc(b->un * 2);
    b->i32 = malloc(b->un * 4 * sizeof(int32_t));
    b->i64 = malloc(b->un * sizeof(int64_t));
    b->m33 = malloc(b->un * 9 * sizeof(double));
    b->m44 = malloc(b->un * 16 * sizeof(double));
    return b->u8 && b->i32 && b->i64 && b->m33 && b->m44 ? 0 : -1;
}

static void meta_columns_free(meta_columns *b)
{
    free(b->u8);
    free(b->i32);
    free(b->i64);
    free(b->m33);
    free(b->m44);
}

/* /samples and /text columns from the in-memory metadata. */
static int metadata_write(cache_writer *w)
{
    int64_t n = w->n;
    meta_columns b;
    int bad = meta_columns_alloc(&b, n) < 0;
    size_t un = b.un;
    const char **col = malloc(un * sizeof *col);
    bad |= !col;
    hsize_t d1[1] = {(hsize_t)n}, d33[3] = {(hsize_t)n, 3, 3}, d44[3] = {(hsize_t)n, 4, 4};
    if (!bad) {
        uint8_t *split = b.u8, *has_mask = b.u8 + un;
        int32_t *frame = b.i32, *slice = b.i32 + un, *rows = b.i32 + 2 * un, *cols = b.i32 + 3 * un;
        for (int64_t i = 0; i < n; i++) {
            const cache_sample *s = &w->meta[i];
            split[i] = (uint8_t)s->split;
            has_mask[i] = (uint8_t)s->has_mask;
            frame[i] = s->frame;
            slice[i] = s->slice_index;
            rows[i] = s->source_rows;
            cols[i] = s->source_cols;
            b.i64[i] = s->nonfinite_count;
            memcpy(b.m33 + 9 * i, s->model_to_source, 9 * sizeof(double));
            memcpy(b.m44 + 16 * i, s->source_to_patient, 16 * sizeof(double));
        }
        hid_t st = split_type_create();
        bad |= dataset_write(w->file, "/split", st, st, 1, d1, split) < 0;
        H5Tclose(st);
        bad |= dataset_write(w->file, "/has_mask", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d1, has_mask) < 0;
        bad |= dataset_write(w->file, "/samples/frame", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d1, frame) < 0;
        bad |= dataset_write(w->file, "/samples/slice_index", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d1, slice) < 0;
        bad |= dataset_write(w->file, "/samples/source_rows", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d1, rows) < 0;
        bad |= dataset_write(w->file, "/samples/source_cols", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d1, cols) < 0;
        bad |= dataset_write(w->file, "/samples/nonfinite_count", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, d1, b.i64) < 0;
        bad |= dataset_write(w->file, "/geometry/model_to_source", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, d33, b.m33) <
               0;
        bad |= dataset_write(w->file, "/geometry/source_to_patient", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, d44, b.m44) <
               0;
        for (int64_t i = 0; i < n; i++)
            split[i] = (uint8_t)w->meta[i].has_patient_geometry;
        bad |= dataset_write(w->file, "/geometry/has_patient_geometry", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, d1, split) <
               0;
        bad |= dataset_write(w->file, "/text/caption_index", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d1,
                             w->caption_index) < 0;
        for (int c = 0; c < N_STRING_COLS && !bad; c++) {
            for (int64_t i = 0; i < n; i++)
                col[i] = *sample_string_field(&w->meta[i], c);
            bad |= strings_write(w->file, string_col_path[c], col, n) < 0;
        }
        bad |= strings_write(w->file, "/text/captions", (const char *const *)w->captions, w->n_captions) < 0;
    }
    meta_columns_free(&b);
    free(col);
    return bad ? -1 : 0;
}

/* Encodes every unique caption into /text/tokens [U,24,512], /text/token_mask [U,24]
 * and /text/pooled [U,512], with the encoder's identity on /text. */
static int embeddings_write(cache_writer *w, const cache_encoder *enc, c2_err *e)
{
    int64_t U = w->n_captions;
    size_t uu = U ? (size_t)U : 1;
    float *tokens = malloc(uu * CACHE_TEXT_TOKENS * CACHE_TEXT_DIM * sizeof(float));
    int32_t *mask = malloc(uu * CACHE_TEXT_TOKENS * sizeof(int32_t));
    float *pooled = malloc(uu * CACHE_TEXT_DIM * sizeof(float));
    int rc = C2_OK;
    if (!tokens || !mask || !pooled)
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for %lld caption embeddings", w->path, (long long)U);
    for (int64_t u = 0; u < U && rc == C2_OK; u++) {
        int r = enc->encode(enc->user, w->captions[u], tokens + (size_t)u * CACHE_TEXT_TOKENS * CACHE_TEXT_DIM,
                            mask + (size_t)u * CACHE_TEXT_TOKENS, pooled + (size_t)u * CACHE_TEXT_DIM, e);
        if (r < 0)
            rc = c2_err_prefix(e, "%s: encoding caption %lld", w->path, (long long)u);
    }
    if (rc == C2_OK) {
        hsize_t dt[3] = {(hsize_t)U, CACHE_TEXT_TOKENS, CACHE_TEXT_DIM}, dm[2] = {(hsize_t)U, CACHE_TEXT_TOKENS},
                dp[2] = {(hsize_t)U, CACHE_TEXT_DIM};
        int bad = dataset_write(w->file, "/text/tokens", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, dt, tokens) < 0;
        bad |= dataset_write(w->file, "/text/token_mask", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, dm, mask) < 0;
        bad |= dataset_write(w->file, "/text/pooled", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dp, pooled) < 0;
        hid_t g = bad ? -1 : H5Gopen2(w->file, "/text", H5P_DEFAULT);
        bad |= g < 0;
        if (g >= 0) {
            bad |= h5_attr_write_string(g, "encoder_name", enc->name ? enc->name : "") < 0;
            bad |= h5_attr_write_string(g, "encoder_version", enc->version ? enc->version : "") < 0;
            bad |= h5_attr_write_string(g, "encoder_params", enc->params ? enc->params : "") < 0;
            H5Gclose(g);
        }
        if (bad)
            rc = c2_fail(e, C2_EIO, "%s: writing the text embeddings failed", w->path);
    }
    free(tokens);
    free(mask);
    free(pooled);
    return rc;
}

/* The only time-dependent value of the file: /provenance:created_utc. */
static int provenance_write(hid_t file)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    hid_t g = H5Gcreate2(file, "/provenance", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (g < 0)
        return -1;
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int rc = h5_attr_write_string(g, "created_utc", when);
    H5Gclose(g);
    return rc;
}

int cache_writer_set_attr(cache_writer *w, const char *name, const char *text, c2_err *e)
{
    static const char *const reserved[] = {"schema_version", "tool", "tool_version", "parameters", "image_size",
                                           "n_samples", NULL};
    for (int i = 0; reserved[i]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return c2_fail(e, C2_EINVAL, "%s: attribute %s belongs to the cache schema", w->path, name);
    if (H5Aexists(w->file, name) > 0)
        H5Adelete(w->file, name);
    if (h5_attr_write_string(w->file, name, text) < 0)
        return c2_fail(e, C2_EIO, "%s: cannot write the attribute %s", w->path, name);
    return C2_OK;
}

void cache_library_init(void)
{
    H5dont_atexit();
}

static void writer_free(cache_writer *w)
{
    for (int64_t i = 0; i < w->n; i++)
        for (int c = 0; c < N_STRING_COLS; c++)
            free((void *)*sample_string_field(&w->meta[i], c));
    for (int64_t i = 0; i < w->n_captions; i++)
        free(w->captions[i]);
    free(w->captions);
    free(w->meta);
    free(w->caption_index);
    free(w);
}

int cache_writer_close(cache_writer *w, const cache_encoder *enc, c2_err *e)
{
    int rc = C2_OK;
    if (metadata_write(w) < 0 || h5_attr_write_i64(w->file, "n_samples", w->n) < 0 || provenance_write(w->file) < 0)
        rc = c2_fail(e, C2_EIO, "%s: writing the sample metadata failed", w->path);
    if (rc == C2_OK && enc)
        rc = embeddings_write(w, enc, e);
    H5Dclose(w->images);
    H5Dclose(w->masks);
    w->images = w->masks = -1;
    errno = 0;
    if (H5Fclose(w->file) < 0 && rc == C2_OK)
        rc = c2_fail(e, C2_EIO, "%s: closing the HDF5 file failed%s%s%s", w->path, errno ? " (" : "",
                     errno ? strerror(errno) : "", errno ? ")" : "");
    w->file = -1;
    if (rc == C2_OK)
        rc = c2_rename_into_place(w->tmp, w->path, e);
    else
        remove(w->tmp);
    writer_free(w);
    return rc;
}

/* Closes the pixel datasets and the file (negative ids are "not open"). */
static void pixel_handles_close(hid_t file, hid_t images, hid_t masks)
{
    if (images >= 0)
        H5Dclose(images);
    if (masks >= 0)
        H5Dclose(masks);
    if (file >= 0)
        H5Fclose(file);
}

void cache_writer_abort(cache_writer *w)
{
    if (!w)
        return;
    pixel_handles_close(w->file, w->images, w->masks);
    remove(w->tmp);
    writer_free(w);
}

/* ---- reader ---- */

/* The reader's string storage: every string of every column, in one list. */
typedef struct string_store {
    char **all;
    int64_t n;
    size_t cap;
} string_store;

static char *store_keep(string_store *st, const char *s)
{
    if (c2_grow(&st->all, sizeof *st->all, (size_t)st->n + 1, &st->cap))
        return NULL;
    char *c = strdup(s ? s : "");
    if (c)
        st->all[st->n++] = c;
    return c;
}

/* Dims of a dataset (rank <= 3) or -1 when absent. */
static int dataset_dims(hid_t file, const char *path, hsize_t dims[3])
{
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    dims[0] = dims[1] = dims[2] = 1;
    int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    H5Dclose(d);
    return rank;
}

static int dataset_read(hid_t file, const char *path, hid_t mem_type, void *out)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t x = conversion_xfer(d, mem_type);
    herr_t st = H5Dread(d, mem_type, H5S_ALL, H5S_ALL, x, out);
    xfer_close(x);
    H5Dclose(d);
    return st < 0 ? -1 : 0;
}

/* Reads a string column of n entries; each string is copied into the store. */
static int strings_read(hid_t file, const char *path, int64_t n, string_store *st, char **out)
{
    hsize_t dims[3];
    if (dataset_dims(file, path, dims) != 1 || (int64_t)dims[0] != n)
        return -1;
    if (n == 0)
        return 0;
    char **raw = calloc((size_t)n, sizeof *raw);
    hid_t t = h5_string_type();
    int rc = raw ? dataset_read(file, path, t, raw) : -1;
    for (int64_t i = 0; i < n && rc == 0; i++)
        if (!(out[i] = store_keep(st, raw[i])))
            rc = -1;
    if (raw && rc == 0) {
        hid_t sp = H5Screate_simple(1, dims, NULL);
        H5Dvlen_reclaim(t, sp, H5P_DEFAULT, raw);
        H5Sclose(sp);
    }
    H5Tclose(t);
    free(raw);
    return rc;
}

static int metadata_read(hid_t file, cache *c, string_store *st)
{
    int64_t n = c->n;
    meta_columns b;
    int bad = meta_columns_alloc(&b, n) < 0;
    size_t un = b.un;
    char **col = malloc(un * sizeof *col);
    bad |= !col;
    if (!bad && n > 0) {
        bad |= dataset_read(file, "/split", H5T_NATIVE_UINT8, b.u8) < 0;
        bad |= dataset_read(file, "/has_mask", H5T_NATIVE_UINT8, b.u8 + un) < 0;
        bad |= dataset_read(file, "/samples/frame", H5T_NATIVE_INT32, b.i32) < 0;
        bad |= dataset_read(file, "/samples/slice_index", H5T_NATIVE_INT32, b.i32 + un) < 0;
        bad |= dataset_read(file, "/samples/source_rows", H5T_NATIVE_INT32, b.i32 + 2 * un) < 0;
        bad |= dataset_read(file, "/samples/source_cols", H5T_NATIVE_INT32, b.i32 + 3 * un) < 0;
        bad |= dataset_read(file, "/samples/nonfinite_count", H5T_NATIVE_INT64, b.i64) < 0;
        bad |= dataset_read(file, "/geometry/model_to_source", H5T_NATIVE_DOUBLE, b.m33) < 0;
        bad |= dataset_read(file, "/geometry/source_to_patient", H5T_NATIVE_DOUBLE, b.m44) < 0;
        bad |= dataset_read(file, "/text/caption_index", H5T_NATIVE_INT32, c->caption_index) < 0;
        for (int64_t i = 0; i < n && !bad; i++) {
            cache_sample *s = &c->samples[i];
            s->split = b.u8[i];
            s->has_mask = b.u8[un + i];
            s->frame = b.i32[i];
            s->slice_index = b.i32[un + i];
            s->source_rows = b.i32[2 * un + i];
            s->source_cols = b.i32[3 * un + i];
            s->nonfinite_count = b.i64[i];
            memcpy(s->model_to_source, b.m33 + 9 * i, 9 * sizeof(double));
            memcpy(s->source_to_patient, b.m44 + 16 * i, 16 * sizeof(double));
        }
        bad |= dataset_read(file, "/geometry/has_patient_geometry", H5T_NATIVE_UINT8, b.u8) < 0;
        for (int64_t i = 0; i < n && !bad; i++)
            c->samples[i].has_patient_geometry = b.u8[i];
        for (int k = 0; k < N_STRING_COLS && !bad; k++) {
            bad |= strings_read(file, string_col_path[k], n, st, col) < 0;
            for (int64_t i = 0; i < n && !bad; i++)
                *sample_string_field(&c->samples[i], k) = col[i];
        }
        for (int64_t i = 0; i < n && !bad; i++) {
            int32_t ci = c->caption_index[i];
            bad |= ci >= c->n_captions;
            c->samples[i].caption = ci >= 0 && !bad ? c->captions[ci] : NULL;
        }
    }
    meta_columns_free(&b);
    free(col);
    return bad ? -1 : 0;
}

static int embeddings_read(hid_t file, cache *c)
{
    hsize_t dt[3], dm[3], dp[3];
    if (dataset_dims(file, "/text/tokens", dt) != 3)
        return 0; /* a cache without embeddings */
    int64_t U = c->n_captions;
    if ((int64_t)dt[0] != U || dt[1] != CACHE_TEXT_TOKENS || dt[2] != CACHE_TEXT_DIM ||
        dataset_dims(file, "/text/token_mask", dm) != 2 || dataset_dims(file, "/text/pooled", dp) != 2 ||
        (int64_t)dm[0] != U || (int64_t)dp[0] != U)
        return -1;
    size_t uu = U ? (size_t)U : 1;
    c->text_tokens = malloc(uu * CACHE_TEXT_TOKENS * CACHE_TEXT_DIM * sizeof(float));
    c->text_mask = malloc(uu * CACHE_TEXT_TOKENS * sizeof(int32_t));
    c->text_pooled = malloc(uu * CACHE_TEXT_DIM * sizeof(float));
    if (!c->text_tokens || !c->text_mask || !c->text_pooled)
        return -1;
    if (U > 0 && (dataset_read(file, "/text/tokens", H5T_NATIVE_FLOAT, c->text_tokens) < 0 ||
                  dataset_read(file, "/text/token_mask", H5T_NATIVE_INT32, c->text_mask) < 0 ||
                  dataset_read(file, "/text/pooled", H5T_NATIVE_FLOAT, c->text_pooled) < 0))
        return -1;
    hid_t g = H5Gopen2(file, "/text", H5P_DEFAULT);
    h5_attr_read_string(g, "encoder_name", c->encoder_name, sizeof c->encoder_name);
    h5_attr_read_string(g, "encoder_version", c->encoder_version, sizeof c->encoder_version);
    H5Gclose(g);
    c->has_embeddings = 1;
    return 0;
}

int cache_read(const char *path, int load_pixels, cache *c, c2_err *e)
{
    memset(c, 0, sizeof *c);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Fis_hdf5(path) <= 0)
        return c2_fail(e, C2_EINVAL, "%s: not an HDF5 file", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return c2_fail(e, C2_EIO, "%s: cannot open the HDF5 file", path);
    string_store *st = calloc(1, sizeof *st);
    c->strings = st;
    int64_t v = 0, size = 0;
    int rc = C2_OK;
    hsize_t dims[3];
    if (h5_attr_read_i64(file, "schema_version", &v) < 0 || h5_attr_read_i64(file, "image_size", &size) < 0) {
        rc = c2_fail(e, C2_EINVAL, "%s: not a c2seg cohort cache (no schema_version / image_size)", path);
        goto done;
    }
    c->schema_version = (int)v;
    if (v != CACHE_SCHEMA_VERSION) {
        rc = c2_fail(e, C2_EMISMATCH, "%s: cache schema version %lld, this build reads %d (re-run c2seg ingest)", path,
                     (long long)v, CACHE_SCHEMA_VERSION);
        goto done;
    }
    c->size = (int)size;
    h5_attr_read_string(file, "tool_version", c->tool_version, sizeof c->tool_version);
    char params[65536];
    h5_attr_read_string(file, "parameters", params, sizeof params);
    c->parameters = strdup(params);
    if (dataset_dims(file, "/images", dims) != 3 || dims[1] != (hsize_t)size || dims[2] != (hsize_t)size) {
        rc = c2_fail(e, C2_EINVAL, "%s: /images is missing or not [N,%lld,%lld]", path, (long long)size,
                     (long long)size);
        goto done;
    }
    c->n = (int64_t)dims[0];
    if ((rc = c2_check_dims(e, path, c->n ? c->n : 1, size, size, sizeof(float))) != C2_OK)
        goto done;
    size_t un = c->n ? (size_t)c->n : 1;
    hsize_t dc[3];
    c->n_captions = dataset_dims(file, "/text/captions", dc) == 1 ? (int64_t)dc[0] : 0;
    c->samples = calloc(un, sizeof *c->samples);
    c->caption_index = calloc(un, sizeof *c->caption_index);
    c->captions = calloc(c->n_captions ? (size_t)c->n_captions : 1, sizeof *c->captions);
    if (!st || !c->samples || !c->caption_index || !c->captions || !c->parameters) {
        rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for %lld samples", path, (long long)c->n);
        goto done;
    }
    if (c->n_captions && strings_read(file, "/text/captions", c->n_captions, st, c->captions) < 0) {
        rc = c2_fail(e, C2_EINVAL, "%s: /text/captions is unreadable", path);
        goto done;
    }
    if (metadata_read(file, c, st) < 0) {
        rc = c2_fail(e, C2_EINVAL, "%s: sample metadata is missing or inconsistent", path);
        goto done;
    }
    if (embeddings_read(file, c) < 0) {
        rc = c2_fail(e, C2_EINVAL, "%s: text embeddings are inconsistent with /text/captions", path);
        goto done;
    }
    if (load_pixels) {
        size_t plane = (size_t)size * (size_t)size;
        c->images = malloc(un * plane * sizeof(float));
        c->masks = malloc(un * plane);
        if (!c->images || !c->masks) {
            rc = c2_fail(e, C2_ENOMEM, "%s: out of memory for %lld images", path, (long long)c->n);
            goto done;
        }
        if (c->n && (dataset_read(file, "/images", H5T_NATIVE_FLOAT, c->images) < 0 ||
                     dataset_read(file, "/masks", H5T_NATIVE_UINT8, c->masks) < 0)) {
            rc = c2_fail(e, C2_EIO, "%s: reading /images or /masks failed", path);
            goto done;
        }
    }
done:
    H5Fclose(file);
    if (rc != C2_OK)
        cache_free(c);
    return rc;
}

void cache_free(cache *c)
{
    string_store *st = c->strings;
    if (st) {
        for (int64_t i = 0; i < st->n; i++)
            free(st->all[i]);
        free(st->all);
        free(st);
    }
    free(c->images);
    free(c->masks);
    free(c->samples);
    free(c->caption_index);
    free(c->captions);
    free(c->text_tokens);
    free(c->text_mask);
    free(c->text_pooled);
    free(c->parameters);
    memset(c, 0, sizeof *c);
}

/* ---- partial pixel reader ---- */

struct cache_pixels {
    hid_t file, images, masks;
    int64_t n;                 /* N samples */
    hsize_t size;              /* S */
    char path[4096];
};

void cache_pixels_close(cache_pixels *r)
{
    if (!r)
        return;
    pixel_handles_close(r->file, r->images, r->masks);
    free(r);
}

int cache_pixels_open(cache_pixels **out, const char *path, c2_err *e)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    cache_pixels *r = calloc(1, sizeof *r);
    if (!r)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory", path);
    r->images = r->masks = -1;
    snprintf(r->path, sizeof r->path, "%s", path);
    if (H5Fis_hdf5(path) <= 0 || (r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        r->file = -1;
        cache_pixels_close(r);
        return c2_fail(e, C2_EINVAL, "%s: not a readable HDF5 file", path);
    }
    int64_t size = 0;
    hsize_t di[3], dm[3];
    if (h5_attr_read_i64(r->file, "image_size", &size) < 0 || size < 1 || dataset_dims(r->file, "/images", di) != 3 ||
        dataset_dims(r->file, "/masks", dm) != 3 || di[1] != (hsize_t)size || di[2] != (hsize_t)size ||
        memcmp(di, dm, sizeof di) != 0) {
        cache_pixels_close(r);
        return c2_fail(e, C2_EINVAL, "%s: /images and /masks are missing or not both [N,S,S] with S = image_size",
                       path);
    }
    r->n = (int64_t)di[0];
    r->size = (hsize_t)size;
    r->images = H5Dopen2(r->file, "/images", H5P_DEFAULT);
    r->masks = H5Dopen2(r->file, "/masks", H5P_DEFAULT);
    if (r->images < 0 || r->masks < 0) {
        cache_pixels_close(r);
        return c2_fail(e, C2_EIO, "%s: cannot open /images or /masks", path);
    }
    *out = r;
    return C2_OK;
}

/* Sample i of dataset d [N,S,S] into out [S,S] (mem_type): one hyperslab. */
static int sample_read(const cache_pixels *r, hid_t d, hid_t mem_type, int64_t i, void *out)
{
    hsize_t start[3] = {(hsize_t)i, 0, 0}, count[3] = {1, r->size, r->size};
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(3, count, NULL);
    herr_t st = fs < 0 || ms < 0 ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (st >= 0)
        st = H5Dread(d, mem_type, ms, fs, H5P_DEFAULT, out);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return st < 0 ? -1 : 0;
}

int cache_pixels_read(cache_pixels *r, const int64_t *idx, int64_t n, float *images, uint8_t *masks, c2_err *e)
{
    size_t plane = (size_t)r->size * (size_t)r->size;
    for (int64_t k = 0; k < n; k++) {
        if (idx[k] < 0 || idx[k] >= r->n)
            return c2_fail(e, C2_EINVAL, "%s: sample %lld is outside the cache's %lld samples", r->path,
                           (long long)idx[k], (long long)r->n);
        if ((images && sample_read(r, r->images, H5T_NATIVE_FLOAT, idx[k], images + (size_t)k * plane) < 0) ||
            (masks && sample_read(r, r->masks, H5T_NATIVE_UINT8, idx[k], masks + (size_t)k * plane) < 0))
            return c2_fail(e, C2_EIO, "%s: reading the pixels of sample %lld failed", r->path, (long long)idx[k]);
    }
    return C2_OK;
}
