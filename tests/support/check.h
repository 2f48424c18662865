/* A minimal test harness: CHECK macros, one runner per test function, and the
 * closing line "N passed, N failed" that CI reads. Helpers for the paths that
 * tests need (../shared data, the built c2seg, a scratch folder) and for running
 * the independent tools (dcmdump, dciodvfy, h5dump, nifti_tool, python3). */
#ifndef C2SEG_TESTS_CHECK_H
#define C2SEG_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>

extern int check_failed_in_test;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
            check_failed_in_test++;                                                      \
        }                                                                                \
    } while (0)

#define CHECK_MSG(cond, ...)                                                             \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                                \
            fprintf(stderr, "\n");                                                       \
            check_failed_in_test++;                                                      \
        }                                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        double a_ = (double)(a), b_ = (double)(b);                                       \
        if (!(fabs(a_ - b_) <= (tol))) {                                                 \
            fprintf(stderr, "  %s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g (tol %g)\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol));                  \
            check_failed_in_test++;                                                      \
        }                                                                                \
    } while (0)

#define RUN_TEST(fn) test_run(#fn, fn)

void test_run(const char *name, void (*fn)(void));
/* Prints "N passed, N failed" and returns the process exit code. */
int test_summary(void);

/* $C2SEG_SHARED/rel (the read-only ../shared folder). Returns a static buffer from a
 * small ring, valid for the next 16 calls. */
const char *shared_path(const char *rel);
/* The built c2seg binary ($C2SEG_BIN). */
const char *c2seg_bin(void);
/* A fresh scratch folder for this test program (under the build folder). */
const char *test_tmpdir(void);
/* test_tmpdir()/name. Returns a static buffer from a small ring, valid for the next 16
 * calls (as shared_path). */
const char *tmp_path(const char *name);
/* A fresh folder <test_tmpdir>/name holding writable copies of the *.dcm files of the
 * shared folder rel (e.g. "data/dicom/ct_series/dcmqi_ct-3slice"), after the shell command
 * edit (NULL: none) ran inside it, e.g. "head -c 200000 01.dcm > 04_cut.dcm". Returns its
 * path (a static buffer from a ring of 4); a CHECK fails when a step failed. */
const char *test_series_copy(const char *name, const char *rel, const char *edit);
/* Runs a shell command; returns its exit status (0..255) or -1. */
int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs a shell command and returns its stdout (malloc'd, NUL-terminated) or NULL. */
char *run_capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 if a program is on PATH. */
int have_tool(const char *name);

#endif
