/*
 * fuzz_json.c - the zero-copy JSON scanner (runtime/json.c). Validated text is walked with the
 * iterators, and every span must validate again on its own, as the type the iterator said, inside
 * its parent; strings must unescape to UTF-8 that re-escapes and unescapes to the same bytes, and
 * json_object_get must find a member under its own unescaped name. The same bytes are also
 * walked unvalidated, where the iterators promise only to stay in bounds. Every span is the same
 * when each value is entered as it comes (json_iter_enter) instead of skipped.
 * As one string's contents, the bytes are accepted exactly when a byte-at-a-time reference
 * accepts them (the validator scans strings a word at a time). Walked with checking iterators
 * (json_check_begin), entering, skipping or giving up inside values as it goes, the bytes are
 * accepted exactly when json_validate accepts them, with its error message otherwise.
 */
#include <string.h>

#include "fuzz_util.h"
#include "json.h"

#define MAX_DEPTH 64

static bool within(struct cur inner, struct cur outer)
{
    return inner.ptr >= outer.ptr && inner.ptr + inner.len <= outer.ptr + outer.len;
}

/* A string's value: unescaped, re-escaped (buf_append_json_str), validated and unescaped again. */
static void check_string(const struct json_val *s)
{
    struct buf u = BUF_INIT(0), lit = BUF_INIT(0), again = BUF_INIT(0);
    struct err err = ERR_INIT;
    FUZZ_CHECK(json_string_unescape(s, &u, &err) == ERR_OK);
    FUZZ_CHECK(buf_append_json_str(&lit, (const char *)u.data, u.len, &err) == ERR_OK);
    struct json_val v;
    FUZZ_CHECK(json_validate(buf_cur(&lit), 1, &v, &err) == ERR_OK);
    FUZZ_CHECK(v.type == JSON_STRING);
    FUZZ_CHECK(json_string_unescape(&v, &again, &err) == ERR_OK);
    FUZZ_CHECK(again.len == u.len && (u.len == 0 || memcmp(again.data, u.data, u.len) == 0));
    if (u.len == 0 || memchr(u.data, '\0', u.len) == NULL) {
        FUZZ_CHECK(json_string_eq(s, buf_cstr(&u)));
    }
    buf_cleanup(&u);
    buf_cleanup(&lit);
    buf_cleanup(&again);
}

static void walk_valid(const struct json_val *v, int depth)
{
    struct err err = ERR_INIT;
    struct json_val again;
    FUZZ_CHECK(depth <= MAX_DEPTH);
    FUZZ_CHECK(json_validate(v->raw, MAX_DEPTH, &again, &err) == ERR_OK);
    FUZZ_CHECK(again.type == v->type && again.raw.ptr == v->raw.ptr && again.raw.len == v->raw.len);
    if (v->type == JSON_STRING) {
        check_string(v);
        return;
    }
    if (v->type != JSON_OBJECT && v->type != JSON_ARRAY) {
        return;
    }
    struct json_iter it;
    struct json_val key, val;
    size_t n = 0;
    json_iter_init(&it, v);
    if (v->type == JSON_OBJECT) {
        while (json_object_next(&it, &key, &val)) {
            FUZZ_CHECK(key.type == JSON_STRING && within(key.raw, v->raw));
            FUZZ_CHECK(within(val.raw, v->raw));
            walk_valid(&key, depth + 1);
            walk_valid(&val, depth + 1);
            /* The first member of that name is this one or an earlier one. */
            struct buf name = BUF_INIT(0);
            struct json_val found;
            FUZZ_CHECK(json_string_unescape(&key, &name, &err) == ERR_OK);
            if (name.len == 0 || memchr(name.data, '\0', name.len) == NULL) {
                FUZZ_CHECK(json_object_get(v, buf_cstr(&name), &found));
                FUZZ_CHECK(found.raw.ptr <= val.raw.ptr);
            }
            buf_cleanup(&name);
            n++;
        }
    } else {
        while (json_array_next(&it, &val)) {
            FUZZ_CHECK(within(val.raw, v->raw));
            walk_valid(&val, depth + 1);
            n++;
        }
    }
    FUZZ_CHECK(json_count(v) == n);
}

/* Unvalidated text: only staying in bounds (ASan) and terminating are promised. */
static void walk_any(const struct json_val *v, int depth)
{
    if (depth > 8) {
        return;
    }
    if (v->type == JSON_STRING) {
        struct buf u = BUF_INIT(0);
        struct err err = ERR_INIT;
        char small[16];
        enum err_code rc = json_string_unescape(v, &u, &err);
        if (rc != ERR_OK) {
            fuzz_check_failure(rc, &err);
        }
        (void)json_string_eq(v, "eventSource");
        (void)json_string_copy(v, small, sizeof(small));
        buf_cleanup(&u);
        return;
    }
    struct json_iter it;
    struct json_val key, val;
    json_iter_init(&it, v);
    size_t guard = 0;
    if (v->type == JSON_OBJECT) {
        while (json_object_next(&it, &key, &val) && guard++ < 4096) {
            walk_any(&key, depth + 1);
            walk_any(&val, depth + 1);
        }
        (void)json_object_get(v, "Records", &val);
    } else if (v->type == JSON_ARRAY) {
        while (json_array_next(&it, &val) && guard++ < 4096) {
            walk_any(&val, depth + 1);
        }
    }
    (void)json_count(v);
}

/* The next member (obj: key and value) or element of a container, read the plain way. */
static bool next_plain(struct json_iter *it, bool obj, struct json_val *k, struct json_val *v)
{
    return obj ? json_object_next(it, k, v) : json_array_next(it, v);
}

/* Reads the value `at` stands at by entering it (json_iter_enter/leave, json_object_next_key,
 * json_iter_peek): the same types and spans as ref read by json_object_next, and the outer
 * iterator ends where json_array_next leaves it. */
static void walk_entered(struct json_iter *at, const struct json_val *ref, int depth)
{
    struct json_iter skipped = *at;
    struct json_val whole;
    enum json_type type;
    FUZZ_CHECK(json_iter_peek(at, &type) && type == ref->type);
    FUZZ_CHECK(json_array_next(&skipped, &whole));
    FUZZ_CHECK(whole.raw.ptr == ref->raw.ptr && whole.raw.len == ref->raw.len);
    if ((type != JSON_OBJECT && type != JSON_ARRAY) || depth > MAX_DEPTH) {
        *at = skipped;
        return;
    }
    struct json_iter inner, it;
    struct json_val k, rk, rv, none;
    json_iter_init(&it, ref);
    FUZZ_CHECK(json_iter_enter(at, type, &inner));
    for (;;) {
        bool obj = type == JSON_OBJECT;
        enum json_type t;
        bool more = obj ? json_object_next_key(&inner, &k) : json_iter_peek(&inner, &t);
        bool more_ref = next_plain(&it, obj, &rk, &rv);
        FUZZ_CHECK(more == more_ref);
        if (!more) {
            break;
        }
        FUZZ_CHECK(!obj || (k.raw.ptr == rk.raw.ptr && k.raw.len == rk.raw.len));
        walk_entered(&inner, &rv, depth + 1);
    }
    FUZZ_CHECK(!json_array_next(&inner, &none) && !json_object_next(&inner, &k, &none));
    json_iter_leave(at, &inner);
    FUZZ_CHECK(at->p == skipped.p);
}

static void check_entered(const struct json_val *root, const struct json_val *ref)
{
    struct json_iter one;
    enum json_type type;
    json_iter_single(&one, root);
    walk_entered(&one, ref, 0);
    FUZZ_CHECK(!json_iter_peek(&one, &type));
}

/* Unvalidated text entered: only staying in bounds and terminating are promised. */
static void walk_any_entered(struct json_iter *at, int depth, size_t *budget)
{
    enum json_type type, element;
    struct json_val v, k;
    struct json_iter inner;
    if (depth > 8 || *budget == 0 || !json_iter_peek(at, &type)) {
        return;
    }
    (*budget)--;
    if (!json_iter_enter(at, type, &inner)) {
        (void)json_array_next(at, &v);
        return;
    }
    /* (element: the container's own type must outlive its elements' peeks) */
    while (*budget > 0 && (type == JSON_OBJECT ? json_object_next_key(&inner, &k)
                                               : json_iter_peek(&inner, &element))) {
        const uint8_t *before = inner.p;
        walk_any_entered(&inner, depth + 1, budget);
        if (inner.p == before && !json_array_next(&inner, &v)) {
            break;
        }
    }
    json_iter_leave(at, &inner);
}

/* The reference for one string's bytes, a byte at a time: escapes as RFC 8259 has them, no
 * control characters, and UTF-8 as Unicode's Table 3-7 lists the well-formed sequences. */
static bool ref_string_ok(const uint8_t *p, size_t n)
{
    static const struct {
        uint8_t lo, hi, lo1, hi1;
        size_t len;
    } seqs[] = {
        {0xC2, 0xDF, 0x80, 0xBF, 2}, {0xE0, 0xE0, 0xA0, 0xBF, 3}, {0xE1, 0xEC, 0x80, 0xBF, 3},
        {0xED, 0xED, 0x80, 0x9F, 3}, {0xEE, 0xEF, 0x80, 0xBF, 3}, {0xF0, 0xF0, 0x90, 0xBF, 4},
        {0xF1, 0xF3, 0x80, 0xBF, 4}, {0xF4, 0xF4, 0x80, 0x8F, 4},
    };
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c == '"' || c < 0x20) {
            return false;
        }
        if (c == '\\') {
            if (i + 1 >= n) {
                return false;
            }
            if (p[i + 1] == 'u') {
                if (i + 6 > n) {
                    return false;
                }
                for (size_t h = i + 2; h < i + 6; h++) {
                    if (!strchr("0123456789abcdefABCDEF", p[h]) || p[h] == '\0') {
                        return false;
                    }
                }
                i += 6;
            } else if (p[i + 1] != '\0' && strchr("\"\\/bfnrt", p[i + 1])) {
                i += 2;
            } else {
                return false;
            }
            continue;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = 0;
        for (size_t k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
            if (c >= seqs[k].lo && c <= seqs[k].hi) {
                len = seqs[k].len;
                if (i + len > n || p[i + 1] < seqs[k].lo1 || p[i + 1] > seqs[k].hi1) {
                    return false;
                }
            }
        }
        if (len == 0) {
            return false;
        }
        for (size_t k = 2; k < len; k++) {
            if (p[i + k] < 0x80 || p[i + k] > 0xBF) {
                return false;
            }
        }
        i += len;
    }
    return true;
}

/* The input as one string's contents: the validator agrees with the reference on "D" (a raw quote
 * inside D leaves trailing data, so the top-level string is exact), and a string it accepts spans
 * the whole text and skips as a whole as an object's key and value. */
static void check_as_string(const uint8_t *data, size_t size)
{
    struct buf text = BUF_INIT(0);
    struct err err = ERR_INIT;
    FUZZ_CHECK(buf_append_byte(&text, '"', &err) == ERR_OK);
    FUZZ_CHECK(buf_append(&text, data, size, &err) == ERR_OK);
    FUZZ_CHECK(buf_append_byte(&text, '"', &err) == ERR_OK);
    struct json_val root, k, v;
    bool ok = json_validate(buf_cur(&text), 1, &root, &err) == ERR_OK;
    FUZZ_CHECK(ok == ref_string_ok(data, size));
    if (ok) {
        FUZZ_CHECK(root.type == JSON_STRING && root.raw.len == size + 2);
        buf_reset(&text);
        FUZZ_CHECK(buf_append(&text, "{\"", 2, &err) == ERR_OK);
        FUZZ_CHECK(buf_append(&text, data, size, &err) == ERR_OK);
        FUZZ_CHECK(buf_append(&text, "\":\"", 3, &err) == ERR_OK);
        FUZZ_CHECK(buf_append(&text, data, size, &err) == ERR_OK);
        FUZZ_CHECK(buf_append(&text, "\",\"z\":1}", 8, &err) == ERR_OK);
        FUZZ_CHECK(json_validate(buf_cur(&text), 2, &root, &err) == ERR_OK);
        struct json_iter it;
        json_iter_init(&it, &root);
        FUZZ_CHECK(json_object_next(&it, &k, &v));
        FUZZ_CHECK(k.raw.len == size + 2 && v.raw.len == size + 2);
        FUZZ_CHECK(json_object_next(&it, &k, &v) && v.raw.len == 1 && v.raw.ptr[0] == '1');
    }
    buf_cleanup(&text);
}

/* A checking walk of the value `at` stands at: per value, from *choice, read whole, entered,
 * or entered and given up after one item (then read whole again from a copy). */
static void walk_checked(struct json_iter *at, unsigned *choice, size_t *budget)
{
    *choice = *choice * 1103515245u + 12345u;
    unsigned how = (*choice >> 28) % 4;
    enum json_type t;
    struct json_val v;
    if (!json_iter_peek(at, &t)) {
        return;
    }
    if ((t != JSON_OBJECT && t != JSON_ARRAY) || how == 0 || *budget == 0) {
        (void)json_array_next(at, &v);
        return;
    }
    (*budget)--;
    struct json_iter before = *at, inner;
    if (!json_iter_enter(at, t, &inner)) {
        return;
    }
    for (size_t n = 0;; n++) {
        struct json_val k;
        enum json_type et;
        if (t == JSON_OBJECT ? !json_object_next_key(&inner, &k) : !json_iter_peek(&inner, &et)) {
            break;
        }
        if (how == 1 && n == 1) {
            *at = before;
            (void)json_array_next(at, &v);
            return;
        }
        walk_checked(&inner, choice, budget);
    }
    json_iter_leave(at, &inner);
}

static void check_walked(struct cur text, enum err_code rc, const struct err *err, unsigned seed)
{
    struct json_check chk;
    struct json_iter it;
    unsigned choice = (seed + 1) * 0x9E3779B9u;
    size_t budget = 4096;
    json_check_begin(&chk, text, MAX_DEPTH, &it);
    walk_checked(&it, &choice, &budget);
    bool ok = json_check_end(&chk, &it);
    FUZZ_CHECK(ok == (rc == ERR_OK));
    FUZZ_CHECK(ok || strcmp(chk.err.msg, err->msg) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cur text = cur_make(data, size);
    struct json_val root;
    struct err err = ERR_INIT;
    enum err_code rc = json_validate(text, MAX_DEPTH, &root, &err);
    if (rc == ERR_OK) {
        FUZZ_CHECK(within(root.raw, text));
        walk_valid(&root, 0);
        check_entered(&root, &root);
    } else {
        fuzz_check_failure(rc, &err);
    }
    for (unsigned seed = 0; seed < 3; seed++) {
        check_walked(text, rc, &err, seed);
    }
    /* The same bytes as whatever they start with, unvalidated. */
    if (size > 0) {
        struct json_val any = {.type = JSON_STRING, .raw = text};
        any.type = data[0] == '{' ? JSON_OBJECT : data[0] == '[' ? JSON_ARRAY : JSON_STRING;
        walk_any(&any, 0);
        struct json_iter one;
        size_t budget = 4096;
        json_iter_single(&one, &any);
        while (budget > 0 && one.p < one.end) {
            const uint8_t *before = one.p;
            walk_any_entered(&one, 0, &budget);
            if (one.p == before) {
                one.p++;
            }
        }
    }
    (void)json_is_number((const char *)data, size);
    check_as_string(data, size);
    return 0;
}
