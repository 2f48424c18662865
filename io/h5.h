/* h5: the HDF5 attribute rules every c2seg HDF5 file follows (the cohort cache and
 * checkpoints). Strings are written as variable-length UTF-8 scalars (h5py reads them
 * as str, h5dump prints them quoted); string reads accept both variable- and fixed-
 * length strings, so files written before the two formats shared this rule still read.
 * Integers are written little-endian 64-bit. Every function returns 0 or -1 (the
 * caller names the file and the attribute in its c2_err). */
#ifndef C2SEG_IO_H5_H
#define C2SEG_IO_H5_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The variable-length UTF-8 string type (the caller closes it). */
hid_t h5_string_type(void);

/* An attribute of n values (n = 0: a scalar) of file_type, from v in mem_type. */
int h5_attr_write(hid_t obj, const char *name, hid_t mem_type, hid_t file_type, hsize_t n, const void *v);
int h5_attr_write_string(hid_t obj, const char *name, const char *value);
int h5_attr_write_i64(hid_t obj, const char *name, int64_t value);

/* Reads an attribute into v as mem_type; -1 when absent or unreadable as mem_type. */
int h5_attr_read(hid_t obj, const char *name, hid_t mem_type, void *v);
int h5_attr_read_i64(hid_t obj, const char *name, int64_t *out);
/* A string attribute (variable or fixed length) into out (cap bytes, truncated to fit,
 * always NUL-terminated; "" on failure); -1 when absent or not a string. */
int h5_attr_read_string(hid_t obj, const char *name, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
