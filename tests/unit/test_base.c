/* base/: error messages, limits, atomic files and safe names. */
#include "base/base.h"
#include "tests/support/check.h"

#include <string.h>
#include <sys/stat.h>

static void limits_reject_huge_images_before_allocating(void)
{
    c2_err e = {0};
    CHECK(c2_check_dims(&e, "x.dcm", 512, 512, 100, 4) == C2_OK);
    CHECK(c2_check_dims(&e, "x.dcm", 65536, 10, 1, 4) == C2_ELIMIT);
    CHECK(strstr(e.msg, "x.dcm") != NULL);
    CHECK(c2_check_dims(&e, "x.dcm", 65535, 65535, 1, 4) == C2_ELIMIT);
    CHECK(c2_check_dims(&e, "x.dcm", 0, 10, 1, 4) == C2_EINVAL);
    CHECK(c2_check_dims(&e, "x.dcm", -5, 10, 1, 4) == C2_EINVAL);
}

static void atomic_write_leaves_no_temporary(void)
{
    char path[4096], tmp[4200];
    c2_err e = {0};
    c2_path_join(path, sizeof path, test_tmpdir(), "out.bin");
    CHECK(c2_write_file(path, "abc", 3, &e) == C2_OK);
    c2_temp_name(tmp, sizeof tmp, path);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 3);
    CHECK(stat(tmp, &st) != 0);
    c2_atomic a;
    CHECK(c2_atomic_open(&a, path, &e) == C2_OK);
    fputs("half", a.f);
    c2_atomic_abort(&a);
    CHECK(stat(path, &st) == 0 && st.st_size == 3); /* the old file survives an aborted write */
    CHECK(stat(tmp, &st) != 0);
}

static void safe_names_never_escape_the_folder(void)
{
    char out[64];
    c2_safe_name(out, sizeof out, "../../etc/passwd");
    CHECK(strchr(out, '/') == NULL && out[0] != '.');
    c2_safe_name(out, sizeof out, "..");
    CHECK(strcmp(out, "__") == 0);
    c2_safe_name(out, sizeof out, "");
    CHECK(strcmp(out, "_") == 0);
    c2_safe_name(out, sizeof out, "1.2.840.113619");
    CHECK(strcmp(out, "1.2.840.113619") == 0);
}

static void error_prefix_names_the_file(void)
{
    c2_err e = {0};
    c2_fail(&e, C2_EINVAL, "bad VR");
    c2_err_prefix(&e, "%s", "a.dcm");
    CHECK(strcmp(e.msg, "a.dcm: bad VR") == 0);
    CHECK(e.code == C2_EINVAL);
}

int main(void)
{
    RUN_TEST(limits_reject_huge_images_before_allocating);
    RUN_TEST(atomic_write_leaves_no_temporary);
    RUN_TEST(safe_names_never_escape_the_folder);
    RUN_TEST(error_prefix_names_the_file);
    return test_summary();
}
