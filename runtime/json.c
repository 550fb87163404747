/*
 * json.c - RFC 8259 validation and span iteration without building a tree.
 * The validator is recursive with an explicit depth limit, so hostile nesting cannot exhaust the
 * stack; the iterators skip values by scanning brackets and strings.
 */
#include "json.h"

#include <stdint.h>
#include <string.h>

struct scan {
    const uint8_t *p;
    const uint8_t *start;
    const uint8_t *end;
    int depth;
    int max_depth;
    struct err *err;
};

/* What a failure says: the validator and the checking walk use the same words. */
static const char E_DEPTH[] = "nesting too deep";
static const char E_KEY[] = "expected a string key";
static const char E_COLON[] = "expected ':'";
static const char E_CHAR[] = "unexpected character";
static const char E_END[] = "unexpected end of input";

static const char *unterminated(bool object)
{
    return object ? "unterminated object" : "unterminated array";
}

static const char *expected_separator(bool object)
{
    return object ? "expected ',' or '}'" : "expected ',' or ']'";
}

static enum err_code fail(struct scan *s, const char *what)
{
    return err_set(s->err, ERR_INVALID_INPUT, "invalid JSON at byte %zu: %s",
                   (size_t)(s->p - s->start), what);
}

static const uint8_t *skip_ws_p(const uint8_t *p, const uint8_t *end)
{
    if (p < end && ' ' < *p) {
        return p; /* the common case: no whitespace between tokens */
    }
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

/* ---- eight bytes at a time ----
 * A string's bytes are mostly plain ASCII; these skip them a 64-bit word at a time. Each test is
 * exact about whether a byte of the word matches (a borrow can mark a byte above a real match,
 * never one below it), so on a little-endian machine the lowest marked byte is the first match. */

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static uint64_t load8(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* High bit set in (at least) each byte of w below n (n <= 128), and in none when no byte is. */
static uint64_t bytes_below(uint64_t w, uint8_t n)
{
    return (w - ONES * n) & ~w & HIGHS;
}

/* The same for bytes equal to c. */
static uint64_t bytes_equal(uint64_t w, uint8_t c)
{
    return bytes_below(w ^ (ONES * c), 1);
}

/* A kind of byte to stop at: marks() flags a word's matching bytes as above, is() tests one. */
struct stop {
    uint64_t (*marks)(uint64_t w);
    bool (*is)(uint8_t c);
};

/* The first byte at or after p (before end) that stop matches, or end. */
static const uint8_t *find_stop(const uint8_t *p, const uint8_t *end, struct stop stop)
{
    while (end - p >= 8) {
        uint64_t m = stop.marks(load8(p));
        if (m != 0) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + (size_t)__builtin_ctzll(m) / 8;
#else
            break; /* the byte loop below finds it within the word */
#endif
        }
        p += 8;
    }
    while (p < end && !stop.is(*p)) {
        p++;
    }
    return p;
}

/* In a string being validated: a quote, a backslash, a control character or a non-ASCII byte. */
static uint64_t string_stop_marks(uint64_t w)
{
    return (w & HIGHS) | bytes_below(w, 0x20) | bytes_equal(w, '"') | bytes_equal(w, '\\');
}

static bool is_string_stop(uint8_t c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

static const struct stop STRING_STOP = {string_stop_marks, is_string_stop};

/* In validated text: a quote or a backslash. */
static uint64_t quote_or_escape_marks(uint64_t w)
{
    return bytes_equal(w, '"') | bytes_equal(w, '\\');
}

static bool is_quote_or_escape(uint8_t c)
{
    return c == '"' || c == '\\';
}

static const struct stop QUOTE_OR_ESCAPE = {quote_or_escape_marks, is_quote_or_escape};

static enum err_code scan_string(struct scan *s)
{
    s->p++; /* opening quote */
    while ((s->p = find_stop(s->p, s->end, STRING_STOP)) < s->end) {
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
        return fail(s, E_DEPTH);
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
                return fail(s, E_KEY);
            }
            enum err_code rc = scan_string(s);
            if (rc != ERR_OK) {
                return rc;
            }
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') {
                return fail(s, E_COLON);
            }
            s->p++;
        }
        enum err_code rc = scan_value(s, &v);
        if (rc != ERR_OK) {
            return rc;
        }
        skip_ws(s);
        if (s->p >= s->end) {
            return fail(s, unterminated(is_object));
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
        return fail(s, expected_separator(is_object));
    }
}

static enum err_code scan_literal(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) {
        return fail(s, E_CHAR);
    }
    s->p += n;
    return ERR_OK;
}

static enum err_code scan_value(struct scan *s, struct json_val *out)
{
    skip_ws(s);
    if (s->p >= s->end) {
        return fail(s, E_END);
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
            return fail(s, E_CHAR);
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
    while ((p = find_stop(p, end, QUOTE_OR_ESCAPE)) < end) {
        if (*p == '"') {
            return p + 1;
        }
        if (end - p < 2) {
            break; /* a backslash at the end of an unvalidated span */
        }
        p += 2; /* a backslash and the character it escapes */
    }
    return end;
}

/* The type of the value that starts with byte c (in validated text). */
static enum json_type type_at(uint8_t c)
{
    switch (c) {
    case '"':
        return JSON_STRING;
    case '{':
        return JSON_OBJECT;
    case '[':
        return JSON_ARRAY;
    case 't':
        return JSON_TRUE;
    case 'f':
        return JSON_FALSE;
    case 'n':
        return JSON_NULL;
    default:
        return JSON_NUMBER;
    }
}

enum json_type json_type_of(struct cur text)
{
    return text.len == 0 ? JSON_NULL : type_at(text.ptr[0]);
}

/* Past the whitespace and the one comma that may follow a value. */
static const uint8_t *past_separator(const uint8_t *p, const uint8_t *end)
{
    p = skip_ws_p(p, end);
    return p < end && *p == ',' ? p + 1 : p;
}

/* Skips one value; returns its end (bounded by end). */
static const uint8_t *skip_value_p(const uint8_t *p, const uint8_t *end, enum json_type *type)
{
    p = skip_ws_p(p, end);
    if (p >= end) {
        return end;
    }
    *type = type_at(*p);
    switch (*type) {
    case JSON_STRING:
        return skip_string_p(p, end);
    case JSON_OBJECT:
    case JSON_ARRAY: {
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
    case JSON_TRUE:
    case JSON_NULL:
        return (end - p >= 4) ? p + 4 : end;
    case JSON_FALSE:
        return (end - p >= 5) ? p + 5 : end;
    case JSON_NUMBER:
        break;
    }
    size_t n = number_len(p, end);
    return p + (n > 0 ? n : 1);
}

/* ---- checking as walking (json_check_begin): the validator's steps, taken one call at a time ----
 */

enum check_state {
    CK_SINGLE = 1, /* json_check_begin's iterator: the root value is due */
    CK_DONE,       /* the root value was read */
    CK_FIRST,      /* just inside a container */
    CK_SEP,        /* after an item: a comma or the closing bracket is due */
    CK_ITEM,       /* after a comma (or at the first item): a key, or an array's element */
    CK_VALUE,      /* after a key and its colon: the member's value */
    CK_CLOSED      /* at the closing bracket (p points at it) */
};

static bool check_fail(struct json_check *c, const uint8_t *at, const char *what)
{
    if (!c->failed) {
        struct scan s = {.p = at, .start = c->start, .end = c->end, .err = &c->err};
        c->failed = true;
        (void)fail(&s, what);
    }
    return false;
}

/* The validator's state at the iterator: its position and depth. */
static struct scan check_scan(const struct json_iter *it, const uint8_t *p)
{
    struct json_check *c = it->chk;
    return (struct scan){p, c->start, c->end, it->depth, c->max_depth, &c->err};
}

/* From CK_FIRST or CK_SEP to the next item (CK_ITEM), or to the closing bracket (false). */
static bool check_next_item(struct json_iter *it)
{
    const uint8_t *p = skip_ws_p(it->p, it->end);
    uint8_t close = it->object ? '}' : ']';
    if (it->state == CK_SEP) {
        if (p >= it->end) {
            return check_fail(it->chk, p, unterminated(it->object));
        }
        if (*p == ',') {
            it->p = p + 1;
            it->state = CK_ITEM;
            return true;
        }
        if (*p != close) {
            return check_fail(it->chk, p, expected_separator(it->object));
        }
    } else if (p >= it->end || *p != close) {
        it->p = p;
        it->state = CK_ITEM;
        return true;
    }
    it->p = p;
    it->state = CK_CLOSED;
    return false;
}

/* True when a value is due at the iterator: the root, a member's value, an array's element. */
static bool check_value_due(struct json_iter *it)
{
    if (it->chk->failed) {
        return false;
    }
    switch (it->state) {
    case CK_SINGLE:
    case CK_VALUE:
        return true;
    case CK_ITEM:
        return !it->object;
    case CK_FIRST:
    case CK_SEP:
        return !it->object && check_next_item(it);
    default:
        return false;
    }
}

static void check_value_read(struct json_iter *it, const uint8_t *end)
{
    it->p = end;
    it->state = it->state == CK_SINGLE ? CK_DONE : CK_SEP;
}

static bool check_read(struct json_iter *it, struct json_val *value)
{
    if (!check_value_due(it)) {
        return false;
    }
    struct scan s = check_scan(it, it->p);
    if (scan_value(&s, value) != ERR_OK) {
        it->chk->failed = true;
        return false;
    }
    check_value_read(it, s.p);
    return true;
}

static bool check_next_key(struct json_iter *it, struct json_val *key)
{
    if (it->chk->failed || !it->object ||
        ((it->state == CK_FIRST || it->state == CK_SEP) && !check_next_item(it)) ||
        it->state != CK_ITEM) {
        return false;
    }
    const uint8_t *p = skip_ws_p(it->p, it->end);
    if (p >= it->end || *p != '"') {
        return check_fail(it->chk, p, E_KEY);
    }
    struct scan s = check_scan(it, p);
    if (scan_string(&s) != ERR_OK) {
        it->chk->failed = true;
        return false;
    }
    *key = (struct json_val){JSON_STRING, cur_make(p, (size_t)(s.p - p))};
    p = skip_ws_p(s.p, it->end);
    if (p >= it->end || *p != ':') {
        return check_fail(it->chk, p, E_COLON);
    }
    it->p = p + 1;
    it->state = CK_VALUE;
    return true;
}

/* A byte a JSON value can start with (scan_value fails on any other, E_CHAR). */
static bool value_start(uint8_t c)
{
    return c == '{' || c == '[' || c == '"' || c == 't' || c == 'f' || c == 'n' || c == '-' ||
           is_digit(c);
}

static bool check_peek(struct json_iter *it, enum json_type *type)
{
    if (!check_value_due(it)) {
        return false;
    }
    const uint8_t *p = skip_ws_p(it->p, it->end);
    it->p = p;
    if (p >= it->end) {
        return check_fail(it->chk, p, E_END);
    }
    if (!value_start(*p)) {
        return check_fail(it->chk, p, E_CHAR);
    }
    *type = type_at(*p);
    return true;
}

static bool check_enter(struct json_iter *it, enum json_type type, struct json_iter *inner)
{
    enum json_type found;
    if ((type != JSON_OBJECT && type != JSON_ARRAY) || !check_peek(it, &found) || found != type) {
        return false;
    }
    if (it->depth + 1 > it->chk->max_depth) {
        return check_fail(it->chk, it->p, E_DEPTH);
    }
    *inner = (struct json_iter){.p = it->p + 1,
                                .end = it->end,
                                .chk = it->chk,
                                .depth = it->depth + 1,
                                .state = CK_FIRST,
                                .object = type == JSON_OBJECT};
    return true;
}

static void check_leave(struct json_iter *it, const struct json_iter *inner)
{
    if (it->chk->failed) {
        return;
    }
    if (inner->state != CK_CLOSED) {
        (void)check_fail(it->chk, inner->p, "left a container before its end (a bug)");
        return;
    }
    check_value_read(it, inner->p + 1);
}

void json_check_begin(struct json_check *chk,
                      struct cur text,
                      int max_depth,
                      struct json_iter *root)
{
    *chk = (struct json_check){text.ptr, text.ptr + text.len, max_depth, false, ERR_INIT};
    *root = (struct json_iter){.p = text.ptr, .end = chk->end, .chk = chk, .state = CK_SINGLE};
    if (text.len == 0) {
        chk->failed = true;
        (void)err_set(&chk->err, ERR_INVALID_INPUT, "invalid JSON: empty input");
    }
}

bool json_check_end(struct json_check *chk, const struct json_iter *root)
{
    if (chk->failed) {
        return false;
    }
    if (root->chk != chk || root->state != CK_DONE) {
        return check_fail(chk, root->p, "ended before the root value was read (a bug)");
    }
    const uint8_t *p = skip_ws_p(root->p, chk->end);
    return p == chk->end || check_fail(chk, p, "trailing data after the JSON value");
}

/* ---- the iterators: over validated text, or checking as they walk ---- */

void json_iter_init(struct json_iter *it, const struct json_val *container)
{
    it->chk = NULL;
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
    /* A closing bracket ends an entered container (json_iter_enter): its iterator's end is the
     * outer one's, not the bracket. */
    if (p >= it->end || *p == ']' || *p == '}') {
        return false;
    }
    const uint8_t *e = skip_value_p(p, it->end, &value->type);
    value->raw = cur_make(p, (size_t)(e - p));
    it->p = past_separator(e, it->end);
    return true;
}

bool json_array_next(struct json_iter *it, struct json_val *value)
{
    if (it->chk != NULL) {
        return check_read(it, value);
    }
    return it->p != NULL && next_value(it, value);
}

bool json_object_next_key(struct json_iter *it, struct json_val *key)
{
    if (it->chk != NULL) {
        return check_next_key(it, key);
    }
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
    return true;
}

bool json_object_next(struct json_iter *it, struct json_val *key, struct json_val *value)
{
    return json_object_next_key(it, key) && next_value(it, value);
}

bool json_iter_peek(struct json_iter *it, enum json_type *type)
{
    if (it->chk != NULL) {
        return check_peek(it, type);
    }
    if (it->p == NULL) {
        return false;
    }
    const uint8_t *p = skip_ws_p(it->p, it->end);
    it->p = p;
    if (p >= it->end || *p == ']' || *p == '}') {
        return false;
    }
    *type = type_at(*p);
    return true;
}

bool json_iter_enter(struct json_iter *it, enum json_type type, struct json_iter *inner)
{
    if (it->chk != NULL) {
        return check_enter(it, type, inner);
    }
    enum json_type found;
    if ((type != JSON_OBJECT && type != JSON_ARRAY) || !json_iter_peek(it, &found) ||
        found != type) {
        return false;
    }
    *inner = (struct json_iter){.p = it->p + 1, .end = it->end};
    return true;
}

void json_iter_leave(struct json_iter *it, const struct json_iter *inner)
{
    if (it->chk != NULL) {
        check_leave(it, inner);
        return;
    }
    const uint8_t *p = skip_ws_p(inner->p, it->end);
    if (p < it->end && (*p == ']' || *p == '}')) {
        p++;
    }
    it->p = past_separator(p, it->end);
}

void json_iter_single(struct json_iter *it, const struct json_val *value)
{
    it->chk = NULL;
    it->p = value->raw.ptr;
    it->end = value->raw.ptr != NULL ? value->raw.ptr + value->raw.len : NULL;
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
    struct cur in = json_string_inner(str);
    if (in.ptr != NULL && json_string_is_plain(str)) {
        return cur_copy_to(in, dst, cap); /* no escapes: the value is the bytes as they are */
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
