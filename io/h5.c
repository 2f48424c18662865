/* HDF5 attribute helpers shared by the cohort cache and the checkpoints (see h5.h). */
#include "io/h5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hid_t h5_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int h5_attr_write(hid_t obj, const char *name, hid_t mem_type, hid_t file_type, hsize_t n, const void *v)
{
    hid_t sp = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(obj, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = a < 0 ? -1 : H5Awrite(a, mem_type, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return st < 0 ? -1 : 0;
}

int h5_attr_write_string(hid_t obj, const char *name, const char *value)
{
    hid_t t = h5_string_type();
    const char *v = value ? value : "";
    int rc = h5_attr_write(obj, name, t, t, 0, &v);
    H5Tclose(t);
    return rc;
}

int h5_attr_write_i64(hid_t obj, const char *name, int64_t value)
{
    return h5_attr_write(obj, name, H5T_NATIVE_INT64, H5T_STD_I64LE, 0, &value);
}

int h5_attr_read(hid_t obj, const char *name, hid_t mem_type, void *v)
{
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    herr_t st = H5Aread(a, mem_type, v);
    H5Aclose(a);
    return st < 0 ? -1 : 0;
}

int h5_attr_read_i64(hid_t obj, const char *name, int64_t *out)
{
    return h5_attr_read(obj, name, H5T_NATIVE_INT64, out);
}

/* The fixed-length string of the attribute's own size n, NUL-terminated in a copy. */
static int read_fixed(hid_t a, size_t n, char *out, size_t cap)
{
    char *buf = calloc(n + 1, 1);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, n);
    int rc = buf && H5Aread(a, mt, buf) >= 0 ? 0 : -1;
    H5Tclose(mt);
    if (rc == 0)
        snprintf(out, cap, "%s", buf);
    free(buf);
    return rc;
}

static int read_variable(hid_t a, char *out, size_t cap)
{
    hid_t t = h5_string_type();
    char *v = NULL;
    int rc = H5Aread(a, t, &v) < 0 ? -1 : 0;
    if (rc == 0 && v)
        snprintf(out, cap, "%s", v);
    if (v)
        H5free_memory(v);
    H5Tclose(t);
    return rc;
}

int h5_attr_read_string(hid_t obj, const char *name, char *out, size_t cap)
{
    if (cap)
        out[0] = 0;
    if (cap == 0 || H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a);
    int rc = -1;
    if (H5Tget_class(ft) == H5T_STRING)
        rc = H5Tis_variable_str(ft) > 0 ? read_variable(a, out, cap) : read_fixed(a, H5Tget_size(ft), out, cap);
    H5Tclose(ft);
    H5Aclose(a);
    if (rc)
        out[0] = 0;
    return rc;
}
