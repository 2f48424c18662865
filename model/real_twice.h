/* real_twice: compiles one source for both precisions. A file that defines
 * C2_REAL_TWICE as its own name and includes this gets that name included again with
 * C2_REAL = float, C2_FN(name) = name, then with C2_REAL = double,
 * C2_FN(name) = name_f64 (the `#else` branch of the file holds the kernels). Files
 * that need more per-precision macros (expf / exp, cblas_sgemm / dgemm) spell the two
 * inclusions out instead. No include guard: included once per such file. */
#define C2_REAL float
#define C2_FN(name) name
#include C2_REAL_TWICE
#undef C2_REAL
#undef C2_FN
#define C2_REAL double
#define C2_FN(name) name##_f64
#include C2_REAL_TWICE
#undef C2_REAL
#undef C2_FN
#undef C2_REAL_TWICE
