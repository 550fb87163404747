/*
 * json.c - RFC 8259 validation and span iteration without building a tree.
 * The validator is recursive with an explicit depth limit, so hostile nesting cannot exhaust the
 * stack; the iterators skip values by scanning brackets and strings.
 */
#include "json.h"

#include <string.h>

struct scan {
    const uint8_t *p;
    const uint8_t *start;
    const uint8_t *end;
    int depth;
    int max_depth;
    struct err *err;
};

static enum err_code fail(struct scan *s, const char *what)
{
    return err_set(s->err, ERR_INVALID_INPUT, "invalid JSON at byte %zu: %s",
                   (size_t)(s->p - s->start), what);
}

static const uint8_t *skip_ws_p(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

static void skip_ws(struct scan *s)
{
    s->p = skip_ws_p(s->p, s->end);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 if invalid (RFC 3629, no surrogates). */
static size_t utf8_len(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    size_t avail = (size_t)(end - p);
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) {
            return 0;
        }
        if (c == 0xE0 && p[1] < 0xA0) {
            return 0; /* overlong */
        }
        if (c == 0xED && p[1] >= 0xA0) {
            return 0; /* surrogate */
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) {
            return 0;
        }
        if (c == 0xF0 && p[1] < 0x90) {
            return 0;
        }
        if (c == 0xF4 && p[1] >= 0x90) {
            return 0;
        }
        return 4;
    }
    return 0;
}

static enum err_code scan_string(struct scan *s)
{
    s->p++; /* opening quote */
    while (s->p < s->end) {
        uint8_t c = *s->p;
        if (c == '"') {
            s->p++;
            return ERR_OK;
        }
        if (c < 0x20) {
            return fail(s, "control character in string");
        }
        if (c == '\\') {
            if (s->p + 1 >= s->end) {
                break;
            }
            uint8_t e = s->p[1];
            if (e == 'u') {
                if (s->end - s->p < 6) {
                    return fail(s, "truncated \\u escape");
                }
                for (int i = 2; i < 6; i++) {
                    if (hexval(s->p[i]) < 0) {
                        return fail(s, "bad \\u escape");
                    }
                }
                s->p += 6;
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
                e != 't') {
                return fail(s, "bad escape");
            }
            s->p += 2;
            continue;
        }
        size_t n = utf8_len(s->p, s->end);
        if (n == 0) {
            return fail(s, "invalid UTF-8 in string");
        }
        s->p += n;
    }
    return fail(s, "unterminated string");
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Length of the JSON number at p (0 if none). */
static size_t number_len(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *q = p;
    if (q < end && *q == '-') {
        q++;
    }
    if (q >= end) {
        return 0;
    }
    if (*q == '0') {
        q++;
    } else if (*q >= '1' && *q <= '9') {
        while (q < end && is_digit(*q)) {
            q++;
        }
    } else {
        return 0;
    }
    if (q < end && *q == '.') {
        q++;
        if (q >= end || !is_digit(*q)) {
            return 0;
        }
        while (q < end && is_digit(*q)) {
            q++;
        }
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (q >= end || !is_digit(*q)) {
            return 0;
        }
        while (q < end && is_digit(*q)) {
            q++;
        }
    }
    return (size_t)(q - p);
}

bool json_is_number(const char *s, size_t n)
{
    return n > 0 && number_len((const uint8_t *)s, (const uint8_t *)s + n) == n;
}

static enum err_code scan_value(struct scan *s, struct json_val *out);

static enum err_code scan_container(struct scan *s, bool is_object)
{
    uint8_t close = is_object ? '}' : ']';
    if (++s->depth > s->max_depth) {
        return fail(s, "nesting too deep");
    }
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return ERR_OK;
    }
    for (;;) {
        struct json_val v;
        if (is_object) {
            skip_ws(s);
            if (s->p >= s->end || *s->p != '"') {
                return fail(s, "expected a string key");
            }
            enum err_code rc = scan_string(s);
            if (rc != ERR_OK) {
                return rc;
            }
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') {
                return fail(s, "expected ':'");
            }
            s->p++;
        }
        enum err_code rc = scan_value(s, &v);
        if (rc != ERR_OK) {
            return rc;
        }
        skip_ws(s);
        if (s->p >= s->end) {
            return fail(s, is_object ? "unterminated object" : "unterminated array");
        }
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == close) {
            s->p++;
            s->depth--;
            return ERR_OK;
        }
        return fail(s, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static enum err_code scan_literal(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) {
        return fail(s, "unexpected character");
    }
    s->p += n;
    return ERR_OK;
}

static enum err_code scan_value(struct scan *s, struct json_val *out)
{
    skip_ws(s);
    if (s->p >= s->end) {
        return fail(s, "unexpected end of input");
    }
    const uint8_t *start = s->p;
    enum err_code rc;
    switch (*s->p) {
    case '{':
        out->type = JSON_OBJECT;
        rc = scan_container(s, true);
        break;
    case '[':
        out->type = JSON_ARRAY;
        rc = scan_container(s, false);
        break;
    case '"':
        out->type = JSON_STRING;
        rc = scan_string(s);
        break;
    case 't':
        out->type = JSON_TRUE;
        rc = scan_literal(s, "true");
        break;
    case 'f':
        out->type = JSON_FALSE;
        rc = scan_literal(s, "false");
        break;
    case 'n':
        out->type = JSON_NULL;
        rc = scan_literal(s, "null");
        break;
    default: {
        size_t n = number_len(s->p, s->end);
        if (n == 0) {
            return fail(s, "unexpected character");
        }
        out->type = JSON_NUMBER;
        s->p += n;
        rc = ERR_OK;
        break;
    }
    }
    if (rc == ERR_OK) {
        out->raw = cur_make(start, (size_t)(s->p - start));
    }
    return rc;
}

enum err_code json_validate(struct cur text, int max_depth, struct json_val *root, struct err *err)
{
    struct scan s = {text.ptr, text.ptr, text.ptr + text.len, 0, max_depth, err};
    if (text.len == 0) {
        return err_set(err, ERR_INVALID_INPUT, "invalid JSON: empty input");
    }
    enum err_code rc = scan_value(&s, root);
    if (rc != ERR_OK) {
        return rc;
    }
    skip_ws(&s);
    if (s.p != s.end) {
        return fail(&s, "trailing data after the JSON value");
    }
    return ERR_OK;
}

/* ---- iteration over validated text ---- */

static const uint8_t *skip_string_p(const uint8_t *p, const uint8_t *end)
{
    p++;
    while (p < end) {
        if (*p == '\\') {
            p += 2;
            continue;
        }
        if (*p == '"') {
            return p + 1;
        }
        p++;
    }
    return end;
}

/* Skips one value; returns its end (bounded by end). */
static const uint8_t *skip_value_p(const uint8_t *p, const uint8_t *end, enum json_type *type)
{
    p = skip_ws_p(p, end);
    if (p >= end) {
        return end;
    }
    switch (*p) {
    case '"':
        *type = JSON_STRING;
        return skip_string_p(p, end);
    case '{':
    case '[': {
        *type = *p == '{' ? JSON_OBJECT : JSON_ARRAY;
        size_t depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string_p(p, end);
                continue;
            }
            if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                depth--;
                if (depth == 0) {
                    return p + 1;
                }
            }
            p++;
        }
        return end;
    }
    case 't':
        *type = JSON_TRUE;
        return (end - p >= 4) ? p + 4 : end;
    case 'f':
        *type = JSON_FALSE;
        return (end - p >= 5) ? p + 5 : end;
    case 'n':
        *type = JSON_NULL;
        return (end - p >= 4) ? p + 4 : end;
    default: {
        *type = JSON_NUMBER;
        size_t n = number_len(p, end);
        return p + (n > 0 ? n : 1);
    }
    }
}

void json_iter_init(struct json_iter *it, const struct json_val *container)
{
    if ((container->type != JSON_OBJECT && container->type != JSON_ARRAY) ||
        container->raw.len < 2) {
        it->p = it->end = NULL;
        return;
    }
    it->p = container->raw.ptr + 1;
    it->end = container->raw.ptr + container->raw.len - 1; /* at the closing bracket */
}

static bool next_value(struct json_iter *it, struct json_val *value)
{
    const uint8_t *p = skip_ws_p(it->p, it->end);
    if (p >= it->end) {
        return false;
    }
    const uint8_t *e = skip_value_p(p, it->end, &value->type);
    value->raw = cur_make(p, (size_t)(e - p));
    p = skip_ws_p(e, it->end);
    if (p < it->end && *p == ',') {
        p++;
    }
    it->p = p;
    return true;
}

bool json_array_next(struct json_iter *it, struct json_val *value)
{
    if (it->p == NULL) {
        return false;
    }
    return next_value(it, value);
}

bool json_object_next(struct json_iter *it, struct json_val *key, struct json_val *value)
{
    if (it->p == NULL) {
        return false;
    }
    const uint8_t *p = skip_ws_p(it->p, it->end);
    if (p >= it->end || *p != '"') {
        return false;
    }
    const uint8_t *e = skip_string_p(p, it->end);
    key->type = JSON_STRING;
    key->raw = cur_make(p, (size_t)(e - p));
    p = skip_ws_p(e, it->end);
    if (p < it->end && *p == ':') {
        p++;
    }
    it->p = p;
    return next_value(it, value);
}

size_t json_count(const struct json_val *container)
{
    struct json_iter it;
    struct json_val k, v;
    size_t n = 0;
    json_iter_init(&it, container);
    if (container->type == JSON_OBJECT) {
        while (json_object_next(&it, &k, &v)) {
            n++;
        }
    } else {
        while (json_array_next(&it, &v)) {
            n++;
        }
    }
    return n;
}

struct cur json_string_inner(const struct json_val *str)
{
    if (str->type != JSON_STRING || str->raw.len < 2) {
        return cur_make(NULL, 0);
    }
    return cur_make(str->raw.ptr + 1, str->raw.len - 2);
}

bool json_string_is_plain(const struct json_val *str)
{
    struct cur in = json_string_inner(str);
    return in.len == 0 || memchr(in.ptr, '\\', in.len) == NULL;
}

/* Decodes the escape at p (after the backslash) into out[0..4); returns bytes consumed. */
static size_t decode_escape(const uint8_t *p, const uint8_t *end, uint8_t *out, size_t *out_len)
{
    if (p >= end) {
        *out_len = 0;
        return 0;
    }
    switch (*p) {
    case 'b':
        out[0] = '\b';
        break;
    case 'f':
        out[0] = '\f';
        break;
    case 'n':
        out[0] = '\n';
        break;
    case 'r':
        out[0] = '\r';
        break;
    case 't':
        out[0] = '\t';
        break;
    case 'u': {
        if (end - p < 5) {
            *out_len = 0;
            return (size_t)(end - p);
        }
        unsigned cp = 0;
        for (int i = 1; i <= 4; i++) {
            cp = cp * 16 + (unsigned)hexval(p[i]);
        }
        size_t used = 5;
        if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 11 && p[5] == '\\' && p[6] == 'u') {
            unsigned lo = 0;
            for (int i = 7; i <= 10; i++) {
                lo = lo * 16 + (unsigned)hexval(p[i]);
            }
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                used = 11;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD; /* a lone surrogate has no UTF-8 form */
        }
        *out_len = buf_utf8_encode(cp, out);
        return used;
    }
    default:
        out[0] = *p; /* " \ / */
        break;
    }
    *out_len = 1;
    return 1;
}

enum err_code json_string_unescape(const struct json_val *str, struct buf *out, struct err *err)
{
    struct cur in = json_string_inner(str);
    if (in.ptr == NULL) {
        /* Not a string, or a span too short to hold its quotes: only iterators over unvalidated
         * text make one, and there is no value to append (nor a pointer to count from). */
        return err_set(err, ERR_INVALID_INPUT, "JSON: expected a string, got a %s of %zu bytes",
                       json_type_name(str->type), str->raw.len);
    }
    const uint8_t *p = in.ptr;
    const uint8_t *end = in.ptr + in.len;
    enum err_code rc = buf_reserve(out, in.len, err);
    while (rc == ERR_OK && p < end) {
        const uint8_t *bs = memchr(p, '\\', (size_t)(end - p));
        const uint8_t *run_end = bs != NULL ? bs : end;
        rc = buf_append(out, p, (size_t)(run_end - p), err);
        if (rc != ERR_OK || bs == NULL) {
            break;
        }
        uint8_t tmp[4];
        size_t tlen = 0;
        size_t used = decode_escape(bs + 1, end, tmp, &tlen);
        rc = buf_append(out, tmp, tlen, err);
        p = bs + 1 + used;
    }
    return rc;
}

bool json_string_eq(const struct json_val *str, const char *s)
{
    if (str->type != JSON_STRING) {
        return false;
    }
    struct cur in = json_string_inner(str);
    if (json_string_is_plain(str)) {
        return cur_eq_str(in, s);
    }
    /* Rare: compare through a decode without allocating. */
    size_t n = strlen(s);
    const uint8_t *p = in.ptr;
    const uint8_t *end = in.ptr + in.len;
    size_t i = 0;
    while (p < end) {
        uint8_t tmp[4];
        size_t tlen = 1;
        if (*p == '\\') {
            size_t used = decode_escape(p + 1, end, tmp, &tlen);
            p += 1 + used;
        } else {
            tmp[0] = *p++;
        }
        if (i + tlen > n || memcmp(s + i, tmp, tlen) != 0) {
            return false;
        }
        i += tlen;
    }
    return i == n;
}

bool json_string_copy(const struct json_val *str, char *dst, size_t cap)
{
    if (str->type != JSON_STRING || cap == 0) {
        return false;
    }
    struct buf b = BUF_INIT(cap - 1);
    struct err e = ERR_INIT;
    bool ok = json_string_unescape(str, &b, &e) == ERR_OK && cur_copy_to(buf_cur(&b), dst, cap);
    if (!ok) {
        dst[0] = '\0';
    }
    buf_cleanup(&b);
    return ok;
}

bool json_object_get(const struct json_val *obj, const char *key, struct json_val *out)
{
    if (obj->type != JSON_OBJECT) {
        return false;
    }
    struct json_iter it;
    struct json_val k;
    json_iter_init(&it, obj);
    while (json_object_next(&it, &k, out)) {
        if (json_string_eq(&k, key)) {
            return true;
        }
    }
    return false;
}

bool json_object_get_type(const struct json_val *obj,
                          const char *key,
                          enum json_type type,
                          struct json_val *out)
{
    return json_object_get(obj, key, out) && out->type == type;
}

const char *json_type_name(enum json_type type)
{
    switch (type) {
    case JSON_NULL:
        return "null";
    case JSON_FALSE:
    case JSON_TRUE:
        return "boolean";
    case JSON_NUMBER:
        return "number";
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "array";
    case JSON_OBJECT:
        return "object";
    }
    return "unknown";
}
