/*
 * etl_like.c - LIKE by the classic two-pointer wildcard match: on a mismatch, the last '%' takes
 * one more character and matching resumes after it, so the worst case is quadratic, never
 * exponential, and no state is allocated.
 */
#include "etl_like.h"

#include "etl_utf8.h"

/* The code point at p and its length; stray bytes stand for themselves. */
static uint32_t decode(const uint8_t *p, size_t n, size_t *len)
{
    bool valid = false;
    return etl_utf8_decode(p, n, len, &valid);
}

enum err_code etl_like_check(struct cur pattern,
                             const struct cur *escape,
                             uint32_t *escape_cp,
                             size_t *where,
                             struct err *err)
{
    *escape_cp = ETL_LIKE_NO_ESCAPE;
    *where = 0;
    if (escape == NULL) {
        return ERR_OK;
    }
    size_t len = 0;
    uint32_t esc = escape->len > 0 ? decode(escape->ptr, escape->len, &len) : 0;
    if (escape->len == 0 || len != escape->len) {
        return err_set(err, ERR_INVALID_INPUT, "ESCAPE must be a single character");
    }
    *escape_cp = esc;
    for (size_t i = 0; i < pattern.len;) {
        uint32_t cp = decode(pattern.ptr + i, pattern.len - i, &len);
        if (cp != *escape_cp) {
            i += len;
            continue;
        }
        size_t next_len = 0;
        uint32_t next = i + len < pattern.len
                            ? decode(pattern.ptr + i + len, pattern.len - i - len, &next_len)
                            : ETL_LIKE_NO_ESCAPE;
        if (next != '%' && next != '_' && next != *escape_cp) {
            *where = i;
            return err_set(err, ERR_INVALID_INPUT,
                           "the LIKE escape character must be followed by '%%', '_' or itself");
        }
        i += len + next_len;
    }
    return ERR_OK;
}

bool etl_like_match(struct cur text, struct cur pattern, uint32_t escape_cp)
{
    size_t t = 0, p = 0;
    size_t star_p = SIZE_MAX, star_t = 0; /* after the last '%', and where it resumes */
    while (t < text.len) {
        if (p < pattern.len) {
            size_t plen = 0, tlen = 0;
            uint32_t pc = decode(pattern.ptr + p, pattern.len - p, &plen);
            bool literal = false;
            if (pc == escape_cp && p + plen < pattern.len) {
                size_t elen = 0;
                pc = decode(pattern.ptr + p + plen, pattern.len - p - plen, &elen);
                plen += elen;
                literal = true;
            }
            if (!literal && pc == '%') {
                p += plen;
                star_p = p;
                star_t = t;
                continue;
            }
            uint32_t tc = decode(text.ptr + t, text.len - t, &tlen);
            if ((!literal && pc == '_') || pc == tc) {
                p += plen;
                t += tlen;
                continue;
            }
        }
        if (star_p == SIZE_MAX) {
            return false;
        }
        size_t skip = 0;
        (void)decode(text.ptr + star_t, text.len - star_t, &skip);
        star_t += skip;
        t = star_t;
        p = star_p;
    }
    /* The text is used up: what is left of the pattern must be all '%'. */
    while (p < pattern.len && pattern.ptr[p] == '%' && escape_cp != '%') {
        p++;
    }
    return p == pattern.len;
}
