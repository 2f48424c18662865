/* torch_dump: reads a tensor dump in the PyTorch reference's format
 * (`manifest.json` + `tensors.bin`, see ../shared/reference/README.md).
 * Used by `c2seg import-torch`, `c2seg parity` and the parity tests. */
#ifndef C2SEG_IO_TORCH_DUMP_H
#define C2SEG_IO_TORCH_DUMP_H

#include "base/base.h"

typedef struct torch_tensor {
    char name[160];
    int ndim;
    int64_t shape[8];
    int64_t numel;
    int is_int32;        /* dtype int32 (else float32) */
    void *data;          /* points into the dump's buffer; float* or int32_t* */
} torch_tensor;

typedef struct torch_dump {
    int n;
    torch_tensor *tensors;
    void *blob;          /* tensors.bin, owned */
    size_t blob_size;
    struct cJSON *manifest;  /* the whole manifest, owned (for config fields) */
} torch_dump;

/* Loads dir/manifest.json and dir/tensors.bin, checking every offset and size. */
int torch_dump_load(torch_dump *d, const char *dir, c2_err *e);
void torch_dump_free(torch_dump *d);
/* The tensor named `name`, or NULL. */
const torch_tensor *torch_dump_find(const torch_dump *d, const char *name);
/* Float data of `name` (NULL if absent or not float32). */
const float *torch_dump_f32(const torch_dump *d, const char *name);
/* The manifest's f64_check.grad_rel entry for the parameter `param`: the reference's own
 * float32-against-float64 relative gradient error, which sets the floor of a gradient's
 * tolerance (10 times it). -1 when the dump has none. */
double torch_dump_f64_check(const torch_dump *d, const char *param);

/* How far values c [n] lie from reference values r [n], in double: what every parity
 * comparison (c2seg parity, the parity tests) judges, as max-rel or norm-rel. */
typedef struct torch_diff {
    double max_err;  /* max |c - r| */
    double max_ref;  /* max |r| */
    double err_norm; /* ||c - r|| */
    double ref_norm; /* ||r|| */
} torch_diff;
torch_diff torch_diff_f32(const float *c, const float *r, int64_t n);

#endif
