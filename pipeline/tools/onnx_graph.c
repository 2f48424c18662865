/* onnx_graph: an ONNX GraphProto / ModelProto in the protobuf wire format, built in memory
 * (onnx.h). Field numbers from onnx.proto: ModelProto ir_version 1, producer_name 2,
 * producer_version 3, doc_string 6, graph 7, opset_import 8 (domain 1, version 2);
 * GraphProto node 1, name 2, initializer 5, input 11, output 12; NodeProto input 1,
 * output 2, name 3, op_type 4, attribute 5; AttributeProto name 1, f 2, i 3, s 4, ints 8,
 * type 20; TensorProto dims 1, data_type 2, name 8, raw_data 9; ValueInfoProto name 1,
 * type 2; TypeProto tensor_type 1 (elem_type 1, shape 2); TensorShapeProto dim 1
 * (dim_value 1, dim_param 2). */
#include "pipeline/tools/onnx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pb_reserve(onnx_pb *b, size_t more)
{
    if (b->oom || b->n + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *d = realloc(b->d, cap);
    if (!d) {
        b->oom = 1;
        return;
    }
    b->d = d, b->cap = cap;
}

static void pb_raw(onnx_pb *b, const void *p, size_t n)
{
    pb_reserve(b, n);
    if (b->oom)
        return;
    if (n)
        memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void pb_varint(onnx_pb *b, uint64_t v)
{
    uint8_t t[10];
    int n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pb_raw(b, t, (size_t)n);
}

static void pb_int(onnx_pb *b, int field, int64_t v)   /* wire type 0; negatives as 10 bytes */
{
    pb_varint(b, (uint64_t)field << 3);
    pb_varint(b, (uint64_t)v);
}

static void pb_bytes(onnx_pb *b, int field, const void *p, size_t n)   /* wire type 2 */
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, n);
    pb_raw(b, p, n);
}

static void pb_str(onnx_pb *b, int field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

static void pb_f32(onnx_pb *b, int field, float f)   /* wire type 5, little-endian */
{
    uint8_t t[4];
    uint32_t u;
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++)
        t[i] = (uint8_t)(u >> (8 * i));
    pb_varint(b, (uint64_t)field << 3 | 5);
    pb_raw(b, t, 4);
}

/* Appends sub as a length-delimited field and frees it. */
static void pb_msg(onnx_pb *b, int field, onnx_pb *sub)
{
    if (sub->oom)
        b->oom = 1;
    pb_bytes(b, field, sub->d, sub->n);
    free(sub->d);
    memset(sub, 0, sizeof *sub);
}

void onnx_graph_init(onnx_graph *g)
{
    memset(g, 0, sizeof *g);
}

void onnx_graph_free(onnx_graph *g)
{
    for (int i = 0; i < g->n_names; i++)
        free(g->names[i]);
    free(g->names);
    free(g->body.d);
    memset(g, 0, sizeof *g);
}

/* A new value name owned by the graph ("" after a failed allocation). */
static const char *new_name(onnx_graph *g, const char *fmt, const char *arg)
{
    if (g->n_names == g->cap_names) {
        int cap = g->cap_names ? 2 * g->cap_names : 256;
        char **n = realloc(g->names, (size_t)cap * sizeof *n);
        if (!n) {
            g->oom = 1;
            return "";
        }
        g->names = n, g->cap_names = cap;
    }
    char buf[160];
    if (arg)
        snprintf(buf, sizeof buf, "%s", arg);
    else
        snprintf(buf, sizeof buf, fmt, g->counter++);
    char *s = malloc(strlen(buf) + 1);
    if (!s) {
        g->oom = 1;
        return "";
    }
    strcpy(s, buf);
    g->names[g->n_names++] = s;
    return s;
}

const char *onnx_node(onnx_graph *g, const char *op, int nin, const char *const *in, int nat, const onnx_attr *at)
{
    return onnx_node_named(g, NULL, op, nin, in, nat, at);
}

const char *onnx_node_named(onnx_graph *g, const char *name, const char *op, int nin, const char *const *in, int nat,
                            const onnx_attr *at)
{
    const char *out = new_name(g, "v%d", name);
    onnx_pb n = {0};
    for (int i = 0; i < nin; i++)
        pb_str(&n, 1, in[i]);
    pb_str(&n, 2, out);
    pb_str(&n, 3, out);
    pb_str(&n, 4, op);
    for (int i = 0; i < nat; i++) {
        onnx_pb a = {0};
        pb_str(&a, 1, at[i].name);
        switch (at[i].type) {
        case 1: pb_f32(&a, 2, at[i].f); break;
        case 2: pb_int(&a, 3, at[i].i); break;
        case 3: pb_str(&a, 4, at[i].s); break;
        case 7:
            for (int k = 0; k < at[i].n; k++)
                pb_int(&a, 8, at[i].ints[k]);
            break;
        }
        pb_int(&a, 20, at[i].type);
        pb_msg(&n, 5, &a);
    }
    pb_msg(&g->body, 1, &n);
    g->oom |= g->body.oom;
    return g->oom ? "" : out;
}

static const char *init_raw(onnx_graph *g, const char *name, int dtype, const void *data, size_t bytes, int ndim,
                            const int64_t *dims)
{
    const char *nm = new_name(g, "c%d", name);
    onnx_pb t = {0};
    for (int i = 0; i < ndim; i++)
        pb_int(&t, 1, dims[i]);
    pb_int(&t, 2, dtype);
    pb_str(&t, 8, nm);
    pb_bytes(&t, 9, data, bytes);   /* x86 and every host we build on are little-endian */
    pb_msg(&g->body, 5, &t);
    g->oom |= g->body.oom;
    return g->oom ? "" : nm;
}

const char *onnx_init_f32(onnx_graph *g, const char *name, const float *data, int ndim, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)dims[i];
    return init_raw(g, name, 1, data, n * sizeof(float), ndim, dims);
}

const char *onnx_init_i64(onnx_graph *g, const int64_t *v, int n)
{
    int64_t d = n;
    return init_raw(g, NULL, 7, v, (size_t)n * sizeof(int64_t), 1, &d);
}

void onnx_graph_io(onnx_graph *g, int output, const char *name, int elem_type, int ndim, const int64_t *dims)
{
    onnx_pb shape = {0}, tensor = {0}, type = {0}, vi = {0};
    for (int i = 0; i < ndim; i++) {
        onnx_pb d = {0};
        if (dims[i] < 0)
            pb_str(&d, 2, "batch");
        else
            pb_int(&d, 1, dims[i]);
        pb_msg(&shape, 1, &d);
    }
    pb_int(&tensor, 1, elem_type);
    pb_msg(&tensor, 2, &shape);
    pb_msg(&type, 1, &tensor);
    pb_str(&vi, 1, name);
    pb_msg(&vi, 2, &type);
    pb_msg(&g->body, output ? 12 : 11, &vi);
    g->oom |= g->body.oom;
}

int onnx_model_write(const onnx_graph *g, const char *path, const char *doc, c2_err *e)
{
    if (g->oom || g->body.oom)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory while building the ONNX graph", path);
    onnx_pb m = {0}, op = {0};
    pb_int(&m, 1, 8);                       /* ir_version 8 (ONNX 1.10+, opset 17 fine) */
    pb_str(&m, 2, "c2seg");
    pb_str(&m, 3, c2_version());
    pb_str(&m, 6, doc ? doc : "");
    pb_str(&op, 1, "");
    pb_int(&op, 2, 17);
    pb_msg(&m, 8, &op);
    /* graph: its body plus a name */
    pb_varint(&m, (uint64_t)7 << 3 | 2);
    onnx_pb nm = {0};
    pb_str(&nm, 2, "c2seg");
    pb_varint(&m, g->body.n + nm.n);
    pb_raw(&m, g->body.d, g->body.n);
    pb_raw(&m, nm.d, nm.n);
    free(nm.d);
    int rc = m.oom || nm.oom ? c2_fail(e, C2_ENOMEM, "%s: out of memory while encoding the ONNX model", path)
                             : c2_write_file(path, m.d, m.n, e);
    free(m.d);
    return rc;
}
