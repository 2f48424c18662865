/* base/words: the one word rule of the toolkit's text handling (the text encoder's
 * tokeniser and the caption parser): lower-cased runs of ASCII [a-z0-9]. */
#include "base/base.h"

static int word_byte(unsigned c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static unsigned lower_ascii(unsigned c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

size_t c2_next_word(const char **s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)(*s ? *s : "");
    while (*p && !word_byte(lower_ascii(*p)))
        p++;
    size_t len = 0;
    for (unsigned c; (c = lower_ascii(*p)) && word_byte(c); p++, len++)
        if (len + 1 < cap)
            out[len] = (char)c;
    if (cap > 0)
        out[len < cap ? len : cap - 1] = 0;
    *s = (const char *)p;
    return len;
}
