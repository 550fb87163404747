/*
 * etl_utf8.c - decoding and counting UTF-8 without validating first: the strings come from
 * validated JSON or from expression text, and a stray byte must cost a wrong answer for that
 * byte, never a read out of bounds.
 */
#include "etl_utf8.h"

uint32_t etl_utf8_decode(const uint8_t *p, size_t n, size_t *len, bool *valid)
{
    uint8_t c = p[0];
    size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
    *valid = c < 0x80;
    *len = 1;
    if (want == 1 || want > n || c > 0xF4) {
        return c;
    }
    /* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
    uint8_t c1 = p[1];
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
        (c == 0xF4 && c1 >= 0x90)) {
        return c;
    }
    uint32_t cp = c & (want == 2 ? 0x1F : want == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < want; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            return c;
        }
        cp = cp << 6 | (p[k] & 0x3F);
    }
    *valid = true;
    *len = want;
    return cp;
}

size_t etl_utf8_width(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

size_t etl_utf8_count(const uint8_t *p, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        count += (p[i] & 0xC0) != 0x80;
    }
    return count;
}

size_t etl_utf8_offset(struct cur s, size_t k)
{
    size_t i = 0;
    while (i < s.len && k > 0) {
        i++;
        while (i < s.len && (s.ptr[i] & 0xC0) == 0x80) {
            i++;
        }
        k--;
    }
    return i;
}
