/* base/printable: bytes of outside origin (file names, DICOM values, a PACS's answers) made
 * safe for a terminal line or a TSV cell. UTF-8 text passes unchanged; every byte that could
 * end a line, split a cell, drive a terminal or is no part of valid UTF-8 becomes \xNN. */
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t c2_utf8_char_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0];
    if (c >= 0x01 && c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;   /* NUL, a stray continuation byte, 0xc0 / 0xc1 / 0xf5-0xff */
}

/* The length of the valid UTF-8 sequence at p that is no control (C0, DEL, C1: U+0080-U+009F),
 * 0 when p starts none. */
static size_t utf8_printable_len(const unsigned char *p)
{
    if (p[0] < 0x20 || p[0] == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0))
        return 0;
    return c2_utf8_char_len((const char *)p);
}

/* Calls put(user, bytes, n) for each printable run and each \xNN of s. */
static void each_piece(const char *s, void (*put)(void *, const char *, size_t), void *user)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        size_t n = utf8_printable_len(p);   /* reads past a NUL never: a NUL fails every test */
        if (n) {
            put(user, (const char *)p, n);
            p += n;
        } else {
            char hex[5];
            snprintf(hex, sizeof hex, "\\x%02x", *p++);
            put(user, hex, 4);
        }
    }
}

typedef struct {
    char *out;
    size_t cap, len;
} sink_buf;

static void put_buf(void *user, const char *bytes, size_t n)
{
    sink_buf *b = user;
    if (b->len + n < b->cap)   /* a piece that does not fit whole is left out, and all after it */
        for (size_t i = 0; i < n; i++)
            b->out[b->len++] = bytes[i];
    else
        b->cap = b->len + 1;
}

const char *c2_printable(char *out, size_t cap, const char *s)
{
    if (cap == 0)
        return out;
    sink_buf b = { out, cap, 0 };
    each_piece(s, put_buf, &b);
    out[b.len] = 0;
    return out;
}

static void put_file(void *user, const char *bytes, size_t n) { fwrite(bytes, 1, n, user); }

int c2_fput_printable(const char *s, FILE *f)
{
    each_piece(s, put_file, f);
    return ferror(f) ? -1 : 0;
}

/* A printed JSON text whose strings hold bytes outside UTF-8 (a file name in Latin-1): every
 * such byte is inside a string literal (the structure is ASCII, and the printer escapes control
 * characters), so writing it as the escape \udcXX keeps the text JSON and makes it UTF-8. */
char *c2_json_utf8(char *text)
{
    if (!text)
        return NULL;
    size_t bad = 0, n = strlen(text);
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        size_t k = c2_utf8_char_len((const char *)p);
        bad += !k;
        p += k ? k : 1;
    }
    if (!bad)
        return text;
    char *out = malloc(n + 5 * bad + 1);   /* one byte becomes six */
    if (out) {
        char *o = out;
        for (const unsigned char *p = (const unsigned char *)text; *p;) {
            size_t k = c2_utf8_char_len((const char *)p);
            if (k) {
                memcpy(o, p, k);
                o += k, p += k;
            } else {
                o += sprintf(o, "\\udc%02x", *p++);
            }
        }
        *o = 0;
    }
    free(text);
    return out;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++, p++) {
        if (p >= end)
            return 0;
        unsigned c = (unsigned char)*p;
        unsigned d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
        if (d > 15)
            return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

size_t c2_json_bytes(char *text, size_t n)
{
    const char *p = text, *end = text + n;
    char *o = text;
    int in_string = 0, after_high = 0;
    while (p < end) {
        if (!in_string || *p != '\\') {
            in_string ^= *p == '"';
            after_high = 0;
            *o++ = *p++;
            continue;
        }
        unsigned u;
        if (p + 1 < end && p[1] == 'u' && hex4(p + 2, end, &u)) {
            if (u >= 0xdc80 && u <= 0xdcff && !after_high) {   /* a byte that c2_json_utf8 escaped */
                *o++ = (char)(u - 0xdc00);
                p += 6;
                continue;
            }
            after_high = u >= 0xd800 && u <= 0xdbff;   /* the next escape is its pair's low half */
            memmove(o, p, 6);
            o += 6, p += 6;
            continue;
        }
        after_high = 0;
        size_t k = p + 1 < end ? 2 : 1;   /* \" \\ \n ...: the escaped byte is no string's end */
        memmove(o, p, k);
        o += k, p += k;
    }
    return (size_t)(o - text);
}
