/*
 * test_json.c - the validating scanner: accepts RFC 8259, rejects malformed text with an offset,
 * iterates spans exactly, unescapes strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "test_util.h"

struct validate_row {
    const char *name;
    const char *input;
    enum err_code code;
    enum json_type type;
};

static const struct validate_row validate_rows[] = {
    {"object", "{\"a\":1,\"b\":[true,false,null]}", ERR_OK, JSON_OBJECT},
    {"whitespace", " \n\t{ } \r\n", ERR_OK, JSON_OBJECT},
    {"string_escapes", "\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"", ERR_OK, JSON_STRING},
    {"utf8", "\"\xe1\x88\xb4 \xf0\x9f\x98\x80\"", ERR_OK, JSON_STRING},
    {"number_exp", "-0.5e+10", ERR_OK, JSON_NUMBER},
    {"number_38_digits", "12345678901234567890123456789012345678", ERR_OK, JSON_NUMBER},
    {"empty", "", ERR_INVALID_INPUT, JSON_NULL},
    {"truncated", "{\"a\":", ERR_INVALID_INPUT, JSON_NULL},
    {"trailing_comma", "[1,]", ERR_INVALID_INPUT, JSON_NULL},
    {"trailing_data", "{} x", ERR_INVALID_INPUT, JSON_NULL},
    {"leading_zero", "01", ERR_INVALID_INPUT, JSON_NULL},
    {"bare_dot", "1.", ERR_INVALID_INPUT, JSON_NULL},
    {"single_quotes", "{'a':1}", ERR_INVALID_INPUT, JSON_NULL},
    {"control_char", "\"a\x01\"", ERR_INVALID_INPUT, JSON_NULL},
    {"bad_escape", "\"\\x\"", ERR_INVALID_INPUT, JSON_NULL},
    {"bad_utf8", "\"\xc3\x28\"", ERR_INVALID_INPUT, JSON_NULL},
    {"surrogate_utf8", "\"\xed\xa0\x80\"", ERR_INVALID_INPUT, JSON_NULL},
    {"overlong_utf8", "\"\xc0\xaf\"", ERR_INVALID_INPUT, JSON_NULL},
    {"nan", "NaN", ERR_INVALID_INPUT, JSON_NULL},
    {"unterminated_string", "\"abc", ERR_INVALID_INPUT, JSON_NULL},
    {"missing_colon", "{\"a\" 1}", ERR_INVALID_INPUT, JSON_NULL},
};

static void test_validate_row(void **state)
{
    const struct validate_row *row = *state;
    struct json_val root;
    struct err err = ERR_INIT;
    enum err_code rc = json_validate(cur_from_str(row->input), 64, &root, &err);
    assert_int_equal(rc, row->code);
    if (rc == ERR_OK) {
        assert_int_equal(root.type, row->type);
    } else {
        assert_non_null(strstr(err.msg, "invalid JSON"));
    }
}

static void test_depth_limit(void **state)
{
    (void)state;
    char deep[300];
    memset(deep, '[', 150);
    memset(deep + 150, ']', 150);
    struct json_val root;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_make(deep, 300), 200, &root, &err), ERR_OK);
    assert_int_equal(json_validate(cur_make(deep, 300), 100, &root, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "nesting too deep"));
}

static void test_error_offset(void **state)
{
    (void)state;
    struct json_val root;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str("{\"a\":tru}"), 8, &root, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "at byte 5"));
}

static void test_iterate_object(void **state)
{
    (void)state;
    const char *text = "{ \"a\" : 1 , \"b\":{\"x\":[1,{\"y\":\"}\"}]}, \"c\":\"q\\\"\" }";
    struct json_val root, k, v;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str(text), 8, &root, &err), ERR_OK);
    struct json_iter it;
    json_iter_init(&it, &root);
    const char *want_keys[] = {"a", "b", "c"};
    const char *want_raw[] = {"1", "{\"x\":[1,{\"y\":\"}\"}]}", "\"q\\\"\""};
    for (int i = 0; i < 3; i++) {
        assert_true(json_object_next(&it, &k, &v));
        assert_true(json_string_eq(&k, want_keys[i]));
        assert_int_equal(v.raw.len, strlen(want_raw[i]));
        assert_memory_equal(v.raw.ptr, want_raw[i], v.raw.len);
    }
    assert_false(json_object_next(&it, &k, &v));
    assert_int_equal(json_count(&root), 3);
    struct json_val got;
    assert_true(json_object_get(&root, "c", &got));
    assert_int_equal(got.type, JSON_STRING);
    assert_false(json_string_is_plain(&got));
    assert_true(json_string_eq(&got, "q\""));
    assert_false(json_object_get(&root, "zz", &got));
}

static void test_iterate_array(void **state)
{
    (void)state;
    struct json_val root, v;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str("[ ]"), 8, &root, &err), ERR_OK);
    assert_int_equal(json_count(&root), 0);
    assert_int_equal(json_validate(cur_from_str("[1, \"two\" ,[3],null]"), 8, &root, &err), ERR_OK);
    struct json_iter it;
    json_iter_init(&it, &root);
    enum json_type types[] = {JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_NULL};
    for (int i = 0; i < 4; i++) {
        assert_true(json_array_next(&it, &v));
        assert_int_equal(v.type, types[i]);
    }
    assert_false(json_array_next(&it, &v));
}

static void test_unescape(void **state)
{
    (void)state;
    const char *text = "\"a\\u00e9\\ud83d\\ude00\\n\\\\ \\ud800x\"";
    struct json_val root;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str(text), 8, &root, &err), ERR_OK);
    struct buf out = BUF_INIT(0);
    assert_int_equal(json_string_unescape(&root, &out, &err), ERR_OK);
    const char *want = "a\xc3\xa9\xf0\x9f\x98\x80\n\\ \xef\xbf\xbdx";
    assert_string_equal(buf_cstr(&out), want);
    assert_true(json_string_eq(&root, want));
    char small[4];
    assert_false(json_string_copy(&root, small, sizeof(small)));
    buf_cleanup(&out);
}

/* fuzz json (tests/fuzz/regressions/json/unescape-short-span): an iterator over unvalidated text
 * can hand out a "string" span too short for its quotes; unescaping it counted from a NULL
 * pointer (UBSan) and claimed an empty value. It is an error now. */
static void test_unescape_short_span(void **state)
{
    (void)state;
    const struct json_val spans[] = {
        {.type = JSON_STRING, .raw = {(const uint8_t *)"b", 1}},
        {.type = JSON_STRING, .raw = {NULL, 0}},
        {.type = JSON_NUMBER, .raw = {(const uint8_t *)"12", 2}},
    };
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
        struct buf out = BUF_INIT(0);
        struct err err = ERR_INIT;
        assert_int_equal(json_string_unescape(&spans[i], &out, &err), ERR_INVALID_INPUT);
        assert_non_null(strstr(err.msg, "expected a string"));
        assert_int_equal(out.len, 0);
        buf_cleanup(&out);
    }
    struct json_val empty = {.type = JSON_STRING, .raw = {(const uint8_t *)"\"\"", 2}};
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(json_string_unescape(&empty, &out, &err), ERR_OK);
    assert_int_equal(out.len, 0);
    buf_cleanup(&out);
}

static void test_is_number(void **state)
{
    (void)state;
    assert_true(json_is_number("0", 1));
    assert_true(json_is_number("-1.5E-130", 9));
    assert_false(json_is_number("+1", 2));
    assert_false(json_is_number(".5", 2));
    assert_false(json_is_number("1e", 2));
    assert_false(json_is_number("", 0));
}

/* Strings are scanned eight bytes at a time: every special byte is found wherever it falls in
 * or across a word, and the error names its exact offset. */
static void test_string_every_position(void **state)
{
    (void)state;
    struct special {
        const char *bytes;
        enum err_code code;
        const char *why;
    } specials[] = {
        {"\\\"", ERR_OK, NULL},
        {"\\\\", ERR_OK, NULL},
        {"\\u00e9", ERR_OK, NULL},
        {"\xc3\xa9", ERR_OK, NULL},
        {"\xf0\x9f\x98\x80", ERR_OK, NULL},
        {"\xe2\x82\xac", ERR_OK, NULL},
        {" ", ERR_OK, NULL},
        {"\x7f", ERR_OK, NULL},
        {"\x1f", ERR_INVALID_INPUT, "control character"},
        {"\x01", ERR_INVALID_INPUT, "control character"},
        {"\xff", ERR_INVALID_INPUT, "invalid UTF-8"},
        {"\x80", ERR_INVALID_INPUT, "invalid UTF-8"},
        {"\\q", ERR_INVALID_INPUT, "bad escape"},
    };
    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        for (size_t at = 0; at <= 40; at++) {
            char str[64], text[160];
            memset(str, 'a', at);
            size_t n = strlen(specials[k].bytes);
            memcpy(str + at, specials[k].bytes, n);
            memset(str + at + n, 'b', 40 - at);
            str[at + n + 40 - at] = '\0';
            /* {"<str>":"<str>","z":7}: the key at byte 1, its special at 2 + at */
            snprintf(text, sizeof text, "{\"%s\":\"%s\",\"z\":7}", str, str);
            struct json_val root, got, k1, v1;
            struct err err = ERR_INIT;
            enum err_code rc = json_validate(cur_from_str(text), 8, &root, &err);
            assert_int_equal(rc, specials[k].code);
            if (rc != ERR_OK) {
                char where[64];
                snprintf(where, sizeof where, "at byte %zu: %s", 2 + at, specials[k].why);
                assert_non_null(strstr(err.msg, where));
                continue;
            }
            struct json_iter it;
            json_iter_init(&it, &root);
            assert_true(json_object_next(&it, &k1, &v1));
            assert_int_equal(k1.raw.len, strlen(str) + 2);
            assert_int_equal(v1.raw.len, strlen(str) + 2);
            assert_memory_equal(v1.raw.ptr + 1, str, strlen(str));
            assert_true(json_object_get(&root, "z", &got));
            assert_int_equal(got.raw.len, 1);
            assert_int_equal(got.raw.ptr[0], '7');
        }
    }
}

/*
 * Reads the value `at` stands at by entering it (json_iter_peek, json_object_next_key,
 * json_iter_enter/leave), checking every type and span against ref (read with json_iter_init
 * and json_object_next), and that the outer iterator ends where json_array_next leaves it.
 */
static void assert_entered_walk(struct json_iter *at, const struct json_val *ref)
{
    struct json_iter skipped = *at;
    struct json_val whole;
    enum json_type type;
    assert_true(json_iter_peek(at, &type));
    assert_int_equal(type, ref->type);
    assert_true(json_array_next(&skipped, &whole));
    assert_ptr_equal(whole.raw.ptr, ref->raw.ptr);
    assert_int_equal(whole.raw.len, ref->raw.len);
    if (type != JSON_OBJECT && type != JSON_ARRAY) {
        assert_false(json_iter_enter(at, JSON_OBJECT, &(struct json_iter){0}));
        assert_false(json_iter_enter(at, JSON_ARRAY, &(struct json_iter){0}));
        *at = skipped;
        return;
    }
    struct json_iter inner, it;
    json_iter_init(&it, ref);
    assert_true(json_iter_enter(at, type, &inner));
    for (;;) {
        struct json_val k, rk, rv;
        bool more, more_ref;
        if (type == JSON_OBJECT) {
            more = json_object_next_key(&inner, &k);
            more_ref = json_object_next(&it, &rk, &rv);
        } else {
            enum json_type t;
            more = json_iter_peek(&inner, &t);
            more_ref = json_array_next(&it, &rv);
        }
        assert_int_equal(more, more_ref);
        if (!more) {
            break;
        }
        if (type == JSON_OBJECT) {
            assert_ptr_equal(k.raw.ptr, rk.raw.ptr);
            assert_int_equal(k.raw.len, rk.raw.len);
        }
        assert_entered_walk(&inner, &rv);
    }
    /* An entered container ends at its closing bracket, for every way of asking. */
    struct json_val none, none_key;
    assert_false(json_array_next(&inner, &none));
    assert_false(json_object_next(&inner, &none_key, &none));
    json_iter_leave(at, &inner);
    assert_ptr_equal(at->p, skipped.p);
}

/* Entering values as they come gives the spans of skipping them and iterating each, whitespace
 * anywhere. */
static void test_enter_same_spans(void **state)
{
    (void)state;
    const char *texts[] = {
        "{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"pk\":{\"S\":\"a\"}},"
        "\"NewImage\":{\"pk\":{\"S\":\"a\"},\"m\":{\"M\":{\"deep\":{\"L\":[{\"S\":\"x\"},{\"N\":\"1\"},"
        "{\"M\":{\"k\":{\"S\":\"a string long enough to be indexed on its own, past 64 bytes\"}}}]}}},"
        "\"e\":{\"M\":{}},\"l\":{\"L\":[]}}},\"eventSource\":\"aws:dynamodb\"},[],{},"
        "[[[[\"nested arrays, long enough to be indexed on their own: 64 bytes and more\"]]]]],"
        "\"tail\":{\"x\":[1,2,3]},\"after\":\"the end\"}",
        " [ { } , [ ] , { \"a\" : [ 1 , true , null , false , -2.5e3 , \"s\\\"]}\" ] , \"b\" : { \"c\" :"
        " { \"d\" : \"padding to pass sixty-four bytes in this inner object\" } } } , \"}]\" ] ",
        "\"a lone string\"",
        "[]",
    };
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        struct json_val root;
        struct err err = ERR_INIT;
        assert_int_equal(json_validate(cur_from_str(texts[t]), 64, &root, &err), ERR_OK);
        struct json_iter one;
        enum json_type type;
        json_iter_single(&one, &root);
        assert_entered_walk(&one, &root);
        assert_false(json_iter_peek(&one, &type)); /* the single value was all */
    }
}

/*
 * Walks the value `at` stands at with checking iterators, choosing per value (from *choice, a
 * pseudo-random sequence) to read it whole, to enter it, or to enter it, stop after one item and
 * read it again whole from a copy taken before it (as a caller that gives up inside does).
 */
static void check_walk(struct json_iter *at, unsigned *choice)
{
    *choice = *choice * 1103515245u + 12345u;
    unsigned how = (*choice >> 28) % 4;
    enum json_type t;
    struct json_val v;
    if (!json_iter_peek(at, &t)) {
        return;
    }
    if ((t != JSON_OBJECT && t != JSON_ARRAY) || how == 0) {
        (void)json_array_next(at, &v);
        return;
    }
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
        check_walk(&inner, choice);
    }
    json_iter_leave(at, &inner);
}

/* A checked walk, however it goes, accepts what json_validate accepts and fails with its error. */
static void assert_check_like_validate(const char *text, size_t len, int max_depth, unsigned seed)
{
    struct json_val root;
    struct err verr = ERR_INIT;
    enum err_code vrc = json_validate(cur_make(text, len), max_depth, &root, &verr);
    struct json_check chk;
    struct json_iter it;
    unsigned choice = (seed + 1) * 0x9E3779B9u;
    json_check_begin(&chk, cur_make(text, len), max_depth, &it);
    check_walk(&it, &choice);
    bool ok = json_check_end(&chk, &it);
    if (ok != (vrc == ERR_OK) || (!ok && strcmp(chk.err.msg, verr.msg) != 0)) {
        fail_msg("%.*s (depth %d, seed %u): checked %s, validated %s", (int)len, text, max_depth,
                 seed, ok ? "ok" : chk.err.msg, vrc == ERR_OK ? "ok" : verr.msg);
    }
}

static const char *const check_texts[] = {
    "{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"pk\":{\"S\":\"a\"}},"
    "\"NewImage\":{\"pk\":{\"S\":\"a\\u00e9\"},\"m\":{\"M\":{\"deep\":{\"L\":[{\"S\":\"x\"},{\"N\":\"-1.5e3\"},"
    "{\"BOOL\":true},{\"NULL\":true},{\"b\":false,\"n\":null}]}}},\"e\":{\"M\":{}},\"l\":{\"L\":[]}}},"
    "\"eventSource\":\"aws:dynamodb\"},[],{},[[[[\"\xc3\xa9\xe2\x82\xac\"]]]]],"
    "\"tail\":{\"x\":[1,2,3]},\"after\":\"the end\"}",
    " [ { } , [ ] , { \"a\" : [ 1 , true , null , false , -2.5e3 , \"s\\\"]}\" ] , \"b\" : { \"c\" :"
    " { \"d\" : 0.5 } } } , \"}]\" ] ",
    "\"a lone string\"",
    "[]",
    "7",
};

/* The texts above and every variant of them with one byte replaced, removed or cut off there,
 * walked six ways each, with a roomy and a tight nesting limit. */
static void test_check_same_as_validate(void **state)
{
    (void)state;
    static const char subs[] = "\"\\,:{}[] x\x01\xff"
                               "1-e.t";
    for (size_t r = 0; r < sizeof(validate_rows) / sizeof(validate_rows[0]); r++) {
        const char *in = validate_rows[r].input;
        assert_check_like_validate(in, strlen(in), 64, 0);
    }
    for (size_t t = 0; t < sizeof(check_texts) / sizeof(check_texts[0]); t++) {
        const char *base = check_texts[t];
        size_t n = strlen(base);
        char *text = malloc(n + 1);
        assert_non_null(text);
        for (size_t i = 0; i <= n; i++) {
            for (unsigned seed = 0; seed < 6; seed++) {
                int depth = seed % 2 ? 64 : 4;
                assert_check_like_validate(base, i, depth, seed); /* cut off at i */
                if (i == n) {
                    continue;
                }
                memcpy(text, base, i); /* byte i removed */
                memcpy(text + i, base + i + 1, n - i - 1);
                assert_check_like_validate(text, n - 1, depth, seed);
                for (size_t k = 0; k < sizeof(subs) - 1; k++) {
                    memcpy(text, base, n);
                    text[i] = subs[k];
                    assert_check_like_validate(text, n, depth, seed);
                }
            }
        }
        free(text);
    }
}

int main(void)
{
    enum { N = sizeof(validate_rows) / sizeof(validate_rows[0]) };
    struct CMUnitTest tests[N + 10];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){validate_rows[i].name, test_validate_row, NULL, NULL,
                                       (void *)&validate_rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_depth_limit);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_error_offset);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_iterate_object);
    tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_iterate_array);
    tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(test_unescape);
    tests[N + 5] = (struct CMUnitTest)cmocka_unit_test(test_is_number);
    tests[N + 6] = (struct CMUnitTest)cmocka_unit_test(test_unescape_short_span);
    tests[N + 7] = (struct CMUnitTest)cmocka_unit_test(test_string_every_position);
    tests[N + 8] = (struct CMUnitTest)cmocka_unit_test(test_enter_same_spans);
    tests[N + 9] = (struct CMUnitTest)cmocka_unit_test(test_check_same_as_validate);
    return _cmocka_run_group_tests("json", tests, N + 10, NULL, NULL);
}
