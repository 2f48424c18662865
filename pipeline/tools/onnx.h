/* onnx: a trained C2Seg model as an ONNX graph (`c2seg export-onnx`), written without a
 * protobuf library.
 *
 * onnx_graph (onnx_graph.c) builds one GraphProto in memory: nodes of standard operators
 * (default domain, opset 17), initializers (float32 / int64 tensors as raw little-endian
 * data), graph inputs and outputs with a symbolic batch dimension; onnx_model_write wraps
 * it in a ModelProto (IR version 8) and writes the file atomically. The encoding is the
 * protobuf wire format: varints, length-delimited fields and fixed32 floats.
 *
 * onnx_c2seg_graph (onnx_c2seg.c) lays the whole eval-mode segmentation network of a
 * c2seg_model into a graph: inputs image float32 [B,1,S,S], tokens float32 [B,24,512],
 * mask int32 [B,24]; output logits float32 [B,1,S,S]. Every module as the reference
 * (METHOD.md §4) and model/c2seg_forward.c compute it: BatchNorm with running statistics,
 * KANLinear as SiLU(x) Wbᵀ + B(x) (Ws·S)ᵀ with the cubic B-spline bases by Cox–de Boor in
 * Less / GreaterOrEqual / Cast / Sub / Div / Mul / Add (zero outside the grid, intervals
 * t_j <= x < t_{j+1}, as model/kan.c), attention masks by Where, bilinear up-sampling by
 * Resize (half_pixel). */
#ifndef C2SEG_PIPELINE_TOOLS_ONNX_H
#define C2SEG_PIPELINE_TOOLS_ONNX_H

#include "base/base.h"
#include "model/c2seg.h"

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer holding protobuf wire data; oom set on a failed allocation (every
 * later append is dropped). */
typedef struct onnx_pb {
    uint8_t *d;
    size_t n, cap;
    int oom;
} onnx_pb;

typedef struct onnx_graph {
    onnx_pb body;          /* GraphProto fields: nodes, initializers, inputs, outputs */
    char **names;          /* every generated value name (freed with the graph) */
    int n_names, cap_names, counter;
    int oom;
} onnx_graph;

/* One node attribute: ONNX AttributeProto types FLOAT 1, INT 2, STRING 3, INTS 7. */
typedef struct onnx_attr {
    const char *name;
    int type;
    int64_t i;
    float f;
    const char *s;
    const int64_t *ints;
    int n;
} onnx_attr;
#define ONNX_INT(nm, v) ((onnx_attr){.name = (nm), .type = 2, .i = (v)})
#define ONNX_FLOAT(nm, v) ((onnx_attr){.name = (nm), .type = 1, .f = (v)})
#define ONNX_STR(nm, v) ((onnx_attr){.name = (nm), .type = 3, .s = (v)})
#define ONNX_INTS(nm, ...)                                                                                   \
    ((onnx_attr){.name = (nm), .type = 7, .ints = (const int64_t[]){__VA_ARGS__},                           \
                 .n = (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))})

void onnx_graph_init(onnx_graph *g);
void onnx_graph_free(onnx_graph *g);
/* Adds a node; returns its (one) output's generated name, or "" after an allocation failure.
 * An input name "" is an omitted optional input. */
const char *onnx_node(onnx_graph *g, const char *op, int nin, const char *const *in, int nat, const onnx_attr *at);
/* The same with the output named `out` (a graph output). */
const char *onnx_node_named(onnx_graph *g, const char *out, const char *op, int nin, const char *const *in, int nat,
                            const onnx_attr *at);
/* A float32 initializer of the given shape (ndim 0: a scalar) under `name` (NULL: generated). */
const char *onnx_init_f32(onnx_graph *g, const char *name, const float *data, int ndim, const int64_t *dims);
/* A 1-D int64 initializer (shapes, axes, slice bounds). */
const char *onnx_init_i64(onnx_graph *g, const int64_t *v, int n);
/* A graph input or output: elem_type ONNX FLOAT 1 / INT32 6; dims < 0 become the symbolic "batch". */
void onnx_graph_io(onnx_graph *g, int output, const char *name, int elem_type, int ndim, const int64_t *dims);
/* Wraps the graph in a ModelProto (ir_version 8, opset 17, producer c2seg) and writes it to
 * path atomically. */
int onnx_model_write(const onnx_graph *g, const char *path, const char *doc, c2_err *e);

/* The eval-mode segmentation network of m (described above) into g. */
int onnx_c2seg_graph(onnx_graph *g, const c2seg_model *m, c2_err *e);

#endif
