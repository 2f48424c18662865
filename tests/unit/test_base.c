/* base/: error messages, limits, atomic files and safe names. */
#include "base/base.h"
#include "tests/support/check.h"

#include <stdlib.h>
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

/* Outside text for a terminal line or a TSV cell: expected strings written by hand. */
static void printable_escapes_what_breaks_a_line_and_keeps_utf8(void)
{
    char out[128];
    CHECK(strcmp(c2_printable(out, sizeof out, "a\tb\nc\rd"), "a\\x09b\\x0ac\\x0dd") == 0);
    CHECK(strcmp(c2_printable(out, sizeof out, "\x01\x1b[31m\x7f"), "\\x01\\x1b[31m\\x7f") == 0);
    CHECK(strcmp(c2_printable(out, sizeof out, "caf\xc3\xa9 \xe8\x82\xba \xf0\x9f\xa9\xbb"),
                 "caf\xc3\xa9 \xe8\x82\xba \xf0\x9f\xa9\xbb") == 0);                 /* é, 肺, an emoji */
    CHECK(strcmp(c2_printable(out, sizeof out, "\xc2\x85\xc2\x9b\xc2\xa0"), "\\xc2\\x85\\xc2\\x9b\xc2\xa0") == 0); /* C1 */
    CHECK(strcmp(c2_printable(out, sizeof out, "\xc0\xaf"), "\\xc0\\xaf") == 0);          /* overlong '/' */
    CHECK(strcmp(c2_printable(out, sizeof out, "\xed\xa0\x80"), "\\xed\\xa0\\x80") == 0); /* a surrogate */
    CHECK(strcmp(c2_printable(out, sizeof out, "\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80") == 0);
    CHECK(strcmp(c2_printable(out, sizeof out, "\x80x\xe2\x82"), "\\x80x\\xe2\\x82") == 0); /* stray, cut short */
    CHECK(strcmp(c2_printable(out, sizeof out, "C:\\x01"), "C:\\x01") == 0);  /* a backslash is itself */
    CHECK(strcmp(c2_printable(out, sizeof out, NULL), "") == 0);
    CHECK(strcmp(c2_printable(out, 7, "ab\ncd"), "ab\\x0a") == 0);   /* cut before what does not fit */
    CHECK(strcmp(c2_printable(out, 6, "ab\ncd"), "ab") == 0);        /* never half an escape */
    CHECK(strcmp(c2_printable(out, 1, "ab"), "") == 0);

    char path[4096];
    c2_path_join(path, sizeof path, test_tmpdir(), "cells.tsv");
    FILE *f = fopen(path, "w+");
    CHECK(f != NULL);
    CHECK(c2_fput_printable("x\ty\nz\xff", f) == 0);
    rewind(f);
    char back[64] = {0};
    CHECK(fread(back, 1, sizeof back - 1, f) == 15);
    CHECK(strcmp(back, "x\\x09y\\x0az\\xff") == 0);
    fclose(f);
}

/* JSON texts with a file name's bytes outside UTF-8: escaped as \udcXX, read back as the bytes. */
static void json_text_keeps_file_name_bytes(void)
{
    char *t = c2_json_utf8(strdup("{\"file\":\"caf\xe9.dcm\",\"ok\":\"caf\xc3\xa9 \xc2\x85\"}"));
    CHECK(t && strcmp(t, "{\"file\":\"caf\\udce9.dcm\",\"ok\":\"caf\xc3\xa9 \xc2\x85\"}") == 0);
    size_t n = c2_json_bytes(t, strlen(t));
    CHECK(n == 35 && memcmp(t, "{\"file\":\"caf\xe9.dcm\",\"ok\":\"caf\xc3\xa9 \xc2\x85\"}", n) == 0);
    free(t);
    char *same = strdup("[\"plain\"]");
    CHECK(c2_json_utf8(same) == same);   /* valid UTF-8: the text itself */
    free(same);
    /* what stays as it is: an escaped backslash before "udcff", a surrogate pair, a key outside strings */
    char keep[] = "[\"\\\\udcff\",\"\\ud83d\\udca9\",\"\\udc41\"]";
    CHECK(c2_json_bytes(keep, strlen(keep)) == strlen("[\"\\\\udcff\",\"\\ud83d\\udca9\",\"\\udc41\"]"));
    CHECK(strcmp(keep, "[\"\\\\udcff\",\"\\ud83d\\udca9\",\"\\udc41\"]") == 0);
    char cut[] = "[\"\\udc";   /* a torn escape at the end is copied, not read past */
    CHECK(c2_json_bytes(cut, strlen(cut)) == strlen(cut));
}

int main(void)
{
    RUN_TEST(limits_reject_huge_images_before_allocating);
    RUN_TEST(atomic_write_leaves_no_temporary);
    RUN_TEST(safe_names_never_escape_the_folder);
    RUN_TEST(error_prefix_names_the_file);
    RUN_TEST(printable_escapes_what_breaks_a_line_and_keeps_utf8);
    RUN_TEST(json_text_keeps_file_name_bytes);
    return test_summary();
}
