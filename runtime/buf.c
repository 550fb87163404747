/*
 * buf.c - growable byte buffers with a ceiling, and borrowed cursors.
 * Growth doubles (as aws_byte_buf and sds do) so appends are amortised O(1); the ceiling makes a
 * hostile input fail with ERR_TOO_LARGE before it can exhaust memory.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define BUF_MIN_CAP 64

void buf_init(struct buf *b, size_t max_bytes)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max_bytes;
}

void buf_cleanup(struct buf *b)
{
    if (b == NULL) {
        return;
    }
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_cleanup_secure(struct buf *b)
{
    if (b == NULL) {
        return;
    }
    if (b->data != NULL) {
        OPENSSL_cleanse(b->data, b->cap);
    }
    buf_cleanup(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

enum err_code buf_reserve(struct buf *b, size_t extra, struct err *err)
{
    size_t max = b->max == 0 ? BUF_NO_LIMIT : b->max;
    if (extra > max || b->len > max - extra) {
        return err_set(err, ERR_TOO_LARGE, "buffer limit of %zu bytes reached", max);
    }
    size_t needed = b->len + extra;
    if (needed == SIZE_MAX) {
        return err_set(err, ERR_TOO_LARGE, "buffer size overflow");
    }
    needed += 1; /* the NUL kept after len */
    if (needed <= b->cap) {
        return ERR_OK;
    }
    size_t new_cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
    while (new_cap < needed) {
        if (new_cap > SIZE_MAX / 2) {
            new_cap = needed;
            break;
        }
        new_cap *= 2;
    }
    /* Never more than the ceiling (plus the NUL): an 8 MiB part buffer must not become 16. */
    if (max != BUF_NO_LIMIT && new_cap > max + 1) {
        new_cap = max + 1;
    }
    uint8_t *p = realloc(b->data, new_cap);
    if (p == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory growing a buffer to %zu bytes", new_cap);
    }
    b->data = p;
    b->cap = new_cap;
    b->data[b->len] = '\0';
    return ERR_OK;
}

enum err_code buf_append(struct buf *b, const void *p, size_t n, struct err *err)
{
    if (n == 0) {
        return buf_reserve(b, 0, err);
    }
    enum err_code rc = buf_reserve(b, n, err);
    if (rc != ERR_OK) {
        return rc;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ERR_OK;
}

enum err_code buf_append_str(struct buf *b, const char *s, struct err *err)
{
    return buf_append(b, s, strlen(s), err);
}

enum err_code buf_append_byte(struct buf *b, uint8_t c, struct err *err)
{
    if (b->len + 1 < b->cap && (b->max == 0 || b->len < b->max)) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return ERR_OK;
    }
    return buf_append(b, &c, 1, err);
}

enum err_code buf_append_cur(struct buf *b, struct cur c, struct err *err)
{
    return buf_append(b, c.ptr, c.len, err);
}

enum err_code buf_printf(struct buf *b, struct err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return err_set(err, ERR_INVALID_INPUT, "buf_printf: bad format");
    }
    enum err_code rc = buf_reserve(b, (size_t)n, err);
    if (rc != ERR_OK) {
        return rc;
    }
    va_start(ap, fmt);
    (void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ERR_OK;
}

enum err_code buf_append_i64(struct buf *b, int64_t n, struct err *err)
{
    char tmp[24];
    int len = snprintf(tmp, sizeof(tmp), "%lld", (long long)n);
    return buf_append(b, tmp, (size_t)len, err);
}

enum err_code buf_append_hex(struct buf *b, const uint8_t *p, size_t n, struct err *err)
{
    static const char digits[] = "0123456789abcdef";
    if (n > SIZE_MAX / 2) {
        return err_set(err, ERR_TOO_LARGE, "hex input too large");
    }
    enum err_code rc = buf_reserve(b, n * 2, err);
    if (rc != ERR_OK) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        b->data[b->len++] = (uint8_t)digits[p[i] >> 4];
        b->data[b->len++] = (uint8_t)digits[p[i] & 0x0f];
    }
    b->data[b->len] = '\0';
    return ERR_OK;
}

enum err_code buf_append_json_str(struct buf *b, const char *s, size_t n, struct err *err)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX (6 bytes), plus the quotes. */
    if (n > (SIZE_MAX - 2) / 6) {
        return err_set(err, ERR_TOO_LARGE, "JSON string too large");
    }
    enum err_code rc = buf_reserve(b, n + 2, err);
    if (rc != ERR_OK) {
        return rc;
    }
    b->data[b->len++] = '"';
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char ubuf[7];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            if (c < 0x20) {
                ubuf[0] = '\\';
                ubuf[1] = 'u';
                ubuf[2] = '0';
                ubuf[3] = '0';
                ubuf[4] = hex[c >> 4];
                ubuf[5] = hex[c & 0xf];
                ubuf[6] = '\0';
                esc = ubuf;
            }
            break;
        }
        if (esc == NULL) {
            continue;
        }
        rc = buf_append(b, s + run, i - run, err);
        if (rc == ERR_OK) {
            rc = buf_append_str(b, esc, err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
        run = i + 1;
    }
    rc = buf_append(b, s + run, n - run, err);
    if (rc != ERR_OK) {
        return rc;
    }
    return buf_append_byte(b, '"', err);
}

size_t buf_utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

void buf_commit(struct buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_truncate(struct buf *b, size_t new_len)
{
    if (new_len < b->len) {
        b->len = new_len;
        b->data[b->len] = '\0';
    }
}

const char *buf_cstr(const struct buf *b)
{
    return b->data != NULL ? (const char *)b->data : "";
}

struct cur buf_cur(const struct buf *b)
{
    struct cur c = {b->data, b->len};
    return c;
}

enum err_code buf_take_str(struct buf *b, char **out, struct err *err)
{
    enum err_code rc = buf_reserve(b, 0, err);
    if (rc != ERR_OK) {
        return rc;
    }
    *out = (char *)b->data;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return ERR_OK;
}

struct cur cur_from_str(const char *s)
{
    struct cur c = {(const uint8_t *)s, s != NULL ? strlen(s) : 0};
    return c;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool cur_eq_nocase(struct cur c, const char *s)
{
    size_t n = strlen(s);
    if (c.len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower(c.ptr[i]) != lower((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool cur_starts_with(struct cur c, const char *prefix)
{
    size_t n = strlen(prefix);
    return c.len >= n && memcmp(c.ptr, prefix, n) == 0;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct cur cur_trim(struct cur c)
{
    while (c.len > 0 && is_space(c.ptr[0])) {
        c.ptr++;
        c.len--;
    }
    while (c.len > 0 && is_space(c.ptr[c.len - 1])) {
        c.len--;
    }
    return c;
}

bool cur_to_i64(struct cur c, int64_t *out)
{
    if (c.len == 0 || c.len > 18) {
        return false;
    }
    int64_t v = 0;
    for (size_t i = 0; i < c.len; i++) {
        if (c.ptr[i] < '0' || c.ptr[i] > '9') {
            return false;
        }
        v = v * 10 + (c.ptr[i] - '0');
    }
    *out = v;
    return true;
}

bool cur_copy_to(struct cur c, char *dst, size_t cap)
{
    if (cap == 0) {
        return false;
    }
    if (c.len >= cap) {
        dst[0] = '\0';
        return false;
    }
    if (c.len > 0) {
        memcpy(dst, c.ptr, c.len);
    }
    dst[c.len] = '\0';
    return true;
}

uint32_t cur_hash(struct cur c)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < c.len; i++) {
        h = (h ^ c.ptr[i]) * 16777619u;
    }
    return h;
}

void *mem_grow(void *array, size_t *cap, size_t n, size_t elem_size, size_t first_cap)
{
    if (n < *cap) {
        return array;
    }
    size_t want = *cap == 0 ? first_cap : *cap * 2;
    if (want <= *cap || elem_size == 0 || want > SIZE_MAX / elem_size) {
        return NULL;
    }
    void *p = realloc(array, want * elem_size);
    if (p != NULL) {
        *cap = want;
    }
    return p;
}

char *cur_strdup(struct cur c)
{
    char *s = malloc(c.len + 1);
    if (s == NULL) {
        return NULL;
    }
    if (c.len > 0) {
        memcpy(s, c.ptr, c.len);
    }
    s[c.len] = '\0';
    return s;
}
