/* base/words: c2_next_word, the word rule the text encoder's tokeniser and the caption
 * parser share: lower-cased ASCII [a-z0-9] runs, everything else separates. */
#include "base/base.h"
#include "tests/support/check.h"

#include <string.h>

static void words_are_lowercased_alnum_runs(void)
{
    const char *p = "  Left-LUNG, 2 areas!";
    char w[32];
    const char *want[] = {"left", "lung", "2", "areas"};
    for (int i = 0; i < 4; i++) {
        CHECK(c2_next_word(&p, w, sizeof w) == strlen(want[i]));
        CHECK_MSG(strcmp(w, want[i]) == 0, "word %d: '%s'", i, w);
    }
    CHECK(c2_next_word(&p, w, sizeof w) == 0 && w[0] == 0);
    CHECK(c2_next_word(&p, w, sizeof w) == 0); /* stays at the end */
}

static void non_ascii_bytes_separate_words(void)
{
    const char *p = "caf\xc3\xa9s x\xe2\x80\x94y";
    char w[32];
    CHECK(c2_next_word(&p, w, sizeof w) == 3 && strcmp(w, "caf") == 0);
    CHECK(c2_next_word(&p, w, sizeof w) == 1 && strcmp(w, "s") == 0);
    CHECK(c2_next_word(&p, w, sizeof w) == 1 && strcmp(w, "x") == 0);
    CHECK(c2_next_word(&p, w, sizeof w) == 1 && strcmp(w, "y") == 0);
    CHECK(c2_next_word(&p, w, sizeof w) == 0);
}

static void long_words_are_truncated_but_counted(void)
{
    const char *p = "ABCDEFGH ij";
    char w[4];
    memset(w, 'z', sizeof w);
    CHECK(c2_next_word(&p, w, sizeof w) == 8 && strcmp(w, "abc") == 0);
    CHECK(c2_next_word(&p, NULL, 0) == 2); /* counting only: no output */
    CHECK(c2_next_word(&p, w, sizeof w) == 0);
}

static void null_and_empty_texts_have_no_words(void)
{
    const char *p = NULL;
    char w[8] = "x";
    CHECK(c2_next_word(&p, w, sizeof w) == 0 && w[0] == 0);
    p = "";
    CHECK(c2_next_word(&p, w, sizeof w) == 0);
    p = " ,;-- ";
    CHECK(c2_next_word(&p, w, sizeof w) == 0);
}

int main(void)
{
    RUN_TEST(words_are_lowercased_alnum_runs);
    RUN_TEST(non_ascii_bytes_separate_words);
    RUN_TEST(long_words_are_truncated_but_counted);
    RUN_TEST(null_and_empty_texts_have_no_words);
    return test_summary();
}
