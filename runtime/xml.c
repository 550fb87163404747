/*
 * xml.c - element lookup and entity decoding for S3's XML responses.
 */
#include "xml.h"

#include <string.h>

bool xml_next(struct cur doc, const char *tag, size_t *pos, struct cur *inner)
{
    size_t tlen = strlen(tag);
    const char *base = (const char *)doc.ptr;
    size_t i = *pos;
    while (i < doc.len) {
        const char *lt = memchr(base + i, '<', doc.len - i);
        if (lt == NULL) {
            return false;
        }
        size_t at = (size_t)(lt - base);
        size_t after = at + 1 + tlen;
        if (after < doc.len && memcmp(lt + 1, tag, tlen) == 0) {
            char c = base[after];
            if (c == '/' && after + 1 < doc.len && base[after + 1] == '>') {
                *inner = cur_make(base + after + 2, 0);
                *pos = after + 2;
                return true;
            }
            if (c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                const char *gt = memchr(base + after, '>', doc.len - after);
                if (gt == NULL) {
                    return false;
                }
                size_t start = (size_t)(gt - base) + 1;
                if (gt[-1] == '/') {
                    *inner = cur_make(base + start, 0);
                    *pos = start;
                    return true;
                }
                /* Find </tag>. */
                size_t j = start;
                while (j < doc.len) {
                    const char *close = memchr(base + j, '<', doc.len - j);
                    if (close == NULL) {
                        return false;
                    }
                    size_t cat = (size_t)(close - base);
                    if (cat + 2 + tlen < doc.len && close[1] == '/' &&
                        memcmp(close + 2, tag, tlen) == 0 && close[2 + tlen] == '>') {
                        *inner = cur_make(base + start, cat - start);
                        *pos = cat + 3 + tlen;
                        return true;
                    }
                    j = cat + 1;
                }
                return false;
            }
        }
        i = at + 1;
    }
    return false;
}

/*
 * Parses the digits of a character reference, between "&#" and ';': decimal, or hex after a
 * lowercase 'x' (XML 1.0, production [66] CharRef). strtoul would also take spaces, a sign and
 * "0x"; none of those is XML. False unless the code point is a Unicode scalar value other than 0.
 */
static bool char_ref(const char *p, const char *semi, unsigned long *cp)
{
    unsigned base = 10;
    if (p < semi && *p == 'x') {
        base = 16;
        p++;
    }
    if (p == semi) {
        return false;
    }
    unsigned long v = 0;
    for (; p < semi; p++) {
        char c = *p;
        unsigned d = c >= '0' && c <= '9'                 ? (unsigned)(c - '0')
                     : base == 16 && c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : base == 16 && c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                          : base;
        if (d >= base) {
            return false;
        }
        v = v * base + d;
        if (v > 0x10FFFF) {
            return false; /* also keeps v from overflowing, however many digits */
        }
    }
    *cp = v;
    return v > 0 && !(v >= 0xD800 && v <= 0xDFFF);
}

enum err_code xml_decode(struct cur raw, struct buf *out, struct err *err)
{
    static const struct {
        const char *name;
        char c;
    } entities[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    const char *p = (const char *)raw.ptr;
    const char *end = p + raw.len;
    enum err_code rc = ERR_OK;
    while (rc == ERR_OK && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        rc = buf_append(out, p, (size_t)(stop - p), err);
        if (rc != ERR_OK || amp == NULL) {
            break;
        }
        p = amp + 1;
        bool done = false;
        for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
            size_t n = strlen(entities[i].name);
            if ((size_t)(end - p) >= n && memcmp(p, entities[i].name, n) == 0) {
                rc = buf_append_byte(out, (uint8_t)entities[i].c, err);
                p += n;
                done = true;
                break;
            }
        }
        if (done) {
            continue;
        }
        if (p < end && *p == '#') {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            unsigned long cp = 0;
            if (semi != NULL && char_ref(p + 1, semi, &cp)) {
                uint8_t u[4];
                rc = buf_append(out, u, buf_utf8_encode((uint32_t)cp, u), err);
                p = semi + 1;
                continue;
            }
        }
        return err_set(err, ERR_INVALID_INPUT, "XML: unknown entity");
    }
    return rc;
}

bool xml_text_copy(struct cur doc, const char *tag, char *dst, size_t cap)
{
    size_t pos = 0;
    struct cur inner;
    if (cap == 0 || !xml_next(doc, tag, &pos, &inner)) {
        if (cap > 0) {
            dst[0] = '\0';
        }
        return false;
    }
    struct buf b = BUF_INIT(cap - 1); /* cap 1 gives max 0, which buf reads as "no limit" */
    struct err e = ERR_INIT;
    bool ok = xml_decode(inner, &b, &e) == ERR_OK && cur_copy_to(buf_cur(&b), dst, cap);
    if (!ok) {
        dst[0] = '\0';
    }
    buf_cleanup(&b);
    return ok;
}
