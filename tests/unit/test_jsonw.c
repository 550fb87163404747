/*
 * test_jsonw.c - the JSON writer: the three styles byte for byte (the manifest's pretty form
 * included), nesting, empty containers, escaping, numbers and doubles, raw values, JSON Lines,
 * and the sticky error with its misuse cases.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonw.h"
#include "test_util.h"

typedef void (*build_fn)(struct jsonw *w);

struct row {
    const char *name;
    build_fn build;
    size_t max;           /* the buf's max; 0 = none */
    enum err_code code;   /* jsonw_finish */
    const char *expected; /* the whole output on ERR_OK; a part of err.msg otherwise */
    bool json_lines;      /* several documents: not parsed as one */
};

/* ---- styles ---- */

static void compact(struct jsonw *w)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "a");
    jsonw_i64(w, 1);
    jsonw_key(w, "b");
    jsonw_array(w, JSONW_COMPACT);
    jsonw_i64(w, 1);
    jsonw_i64(w, 2);
    jsonw_end(w);
    jsonw_end(w);
}

static void spaced(struct jsonw *w)
{
    jsonw_object(w, JSONW_SPACED);
    jsonw_key(w, "a");
    jsonw_i64(w, 1);
    jsonw_key(w, "b");
    jsonw_i64(w, 2);
    jsonw_end(w);
}

static void spaced_array(struct jsonw *w)
{
    jsonw_array(w, JSONW_SPACED);
    jsonw_i64(w, 1);
    jsonw_str(w, "x");
    jsonw_bool(w, false);
    jsonw_end(w);
}

static void file_entry(struct jsonw *w, const char *key, int64_t n)
{
    jsonw_object(w, JSONW_SPACED);
    jsonw_key(w, "key");
    jsonw_str(w, key);
    jsonw_key(w, "n");
    jsonw_i64(w, n);
    jsonw_end(w);
}

/* The manifest's shape: a pretty object holding a pretty array of spaced objects. */
static void manifest(struct jsonw *w)
{
    jsonw_object(w, JSONW_PRETTY);
    jsonw_key(w, "run_id");
    jsonw_str(w, "x");
    jsonw_key(w, "files");
    jsonw_array(w, JSONW_PRETTY);
    file_entry(w, "a", 1);
    file_entry(w, "b", 2);
    jsonw_end(w);
    jsonw_end(w);
}

static void manifest_no_files(struct jsonw *w)
{
    jsonw_object(w, JSONW_PRETTY);
    jsonw_key(w, "files");
    jsonw_array(w, JSONW_PRETTY);
    jsonw_end(w);
    jsonw_end(w);
}

static void pretty_scalars(struct jsonw *w)
{
    jsonw_array(w, JSONW_PRETTY);
    jsonw_i64(w, 1);
    jsonw_array(w, JSONW_PRETTY);
    jsonw_i64(w, 2);
    jsonw_end(w);
    jsonw_end(w);
}

/* A pretty object one level down in a compact array indents by its depth. */
static void pretty_in_compact(struct jsonw *w)
{
    jsonw_array(w, JSONW_COMPACT);
    jsonw_object(w, JSONW_PRETTY);
    jsonw_key(w, "a");
    jsonw_i64(w, 1);
    jsonw_end(w);
    jsonw_null(w);
    jsonw_end(w);
}

static void empty_containers(struct jsonw *w)
{
    jsonw_array(w, JSONW_COMPACT);
    jsonw_object(w, JSONW_COMPACT);
    jsonw_end(w);
    jsonw_array(w, JSONW_SPACED);
    jsonw_end(w);
    jsonw_object(w, JSONW_PRETTY);
    jsonw_end(w);
    jsonw_end(w);
}

static void deep_nesting(struct jsonw *w)
{
    for (int i = 0; i < JSONW_MAX_DEPTH; i++) {
        jsonw_array(w, JSONW_COMPACT);
    }
    for (int i = 0; i < JSONW_MAX_DEPTH; i++) {
        jsonw_end(w);
    }
}

/* ---- values ---- */

static void escaping(struct jsonw *w)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "q\"k\\");
    jsonw_str(w, "line\nbreak\ttab \x01 \xc3\xa9");
    jsonw_key(w, "nul");
    jsonw_strn(w, "a\0b", 3);
    jsonw_key(w, "none");
    jsonw_str(w, NULL);
    jsonw_key(w, "none_n");
    jsonw_strn(w, NULL, 5);
    jsonw_key(w, "");
    jsonw_str(w, "");
    jsonw_end(w);
}

static void integers(struct jsonw *w)
{
    jsonw_array(w, JSONW_COMPACT);
    jsonw_i64(w, INT64_MIN);
    jsonw_i64(w, INT64_MAX);
    jsonw_i64(w, 0);
    jsonw_u64(w, UINT64_MAX);
    jsonw_bool(w, true);
    jsonw_null(w);
    jsonw_end(w);
}

static void doubles(struct jsonw *w)
{
    jsonw_array(w, JSONW_COMPACT);
    jsonw_double(w, "%.2f", 3.14159);
    jsonw_double(w, "%.1f", 0.25);
    jsonw_double(w, "%.0f", 1234.0);
    jsonw_double(w, "%g", 0.5);
    jsonw_double(w, "%.17g", 1e21);
    jsonw_double(w, "%.3e", -12345.678);
    jsonw_double(w, "%lf", 1.0);
    jsonw_double(w, "%.1f", NAN);
    jsonw_double(w, "%.1f", INFINITY);
    jsonw_double(w, "%.1f", -INFINITY);
    jsonw_end(w);
}

static void raw_values(struct jsonw *w)
{
    jsonw_object(w, JSONW_SPACED);
    jsonw_key(w, "key");
    jsonw_raw(w, cur_from_str("{\"S\":\"a\"}"));
    jsonw_key(w, "list");
    jsonw_array(w, JSONW_COMPACT);
    jsonw_raw(w, cur_from_str("1.50"));
    jsonw_raw(w, cur_from_str("[true]"));
    jsonw_end(w);
    jsonw_end(w);
}

static void top_level_scalar(struct jsonw *w)
{
    jsonw_i64(w, 5);
}

static void json_lines(struct jsonw *w)
{
    for (int i = 1; i <= 2; i++) {
        jsonw_object(w, JSONW_COMPACT);
        jsonw_key(w, "n");
        jsonw_i64(w, i);
        jsonw_end(w);
        jsonw_text(w, "\n");
    }
}

/* ---- errors ---- */

static void too_large(struct jsonw *w)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "a");
    jsonw_str(w, "a string longer than the buffer allows");
    /* All no-ops now: the buf keeps what it had (checked in the test). */
    jsonw_end(w);
    jsonw_text(w, "\n");
    jsonw_i64(w, 1);
}

static void unclosed(struct jsonw *w)
{
    jsonw_object(w, JSONW_PRETTY);
    jsonw_key(w, "a");
    jsonw_array(w, JSONW_COMPACT);
}

static void key_without_value(struct jsonw *w)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "a");
}

static void key_without_value_end(struct jsonw *w)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "a");
    jsonw_end(w);
}

static void value_without_key(struct jsonw *w)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_i64(w, 1);
    jsonw_end(w);
}

static void key_in_array(struct jsonw *w)
{
    jsonw_array(w, JSONW_COMPACT);
    jsonw_key(w, "a");
}

static void key_after_key(struct jsonw *w)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "a");
    jsonw_key(w, "b");
}

static void end_without_container(struct jsonw *w)
{
    jsonw_end(w);
}

static void too_deep(struct jsonw *w)
{
    for (int i = 0; i <= JSONW_MAX_DEPTH; i++) {
        jsonw_array(w, JSONW_COMPACT);
    }
}

static void text_inside(struct jsonw *w)
{
    jsonw_array(w, JSONW_COMPACT);
    jsonw_text(w, "\n");
    jsonw_end(w);
}

static void bad_double_format(struct jsonw *w)
{
    jsonw_array(w, JSONW_COMPACT);
    jsonw_double(w, "%d", 1.0);
}

static void double_format_with_text(struct jsonw *w)
{
    jsonw_double(w, "%.1f%%", 1.0);
}

static void double_format_flag(struct jsonw *w)
{
    jsonw_double(w, "%#.0f", 3.0);
}

static void double_format_width(struct jsonw *w)
{
    jsonw_double(w, "%8.1f", 3.0);
}

static void double_format_hex(struct jsonw *w)
{
    jsonw_double(w, "%a", 3.0);
}

static void empty_raw(struct jsonw *w)
{
    jsonw_raw(w, cur_make(NULL, 0));
}

static const struct row rows[] = {
    {"compact", compact, 0, ERR_OK, "{\"a\":1,\"b\":[1,2]}", false},
    {"spaced", spaced, 0, ERR_OK, "{\"a\": 1, \"b\": 2}", false},
    {"spaced_array", spaced_array, 0, ERR_OK, "[1, \"x\", false]", false},
    {"pretty_manifest", manifest, 0, ERR_OK,
     "{\n"
     "  \"run_id\": \"x\",\n"
     "  \"files\": [\n"
     "    {\"key\": \"a\", \"n\": 1},\n"
     "    {\"key\": \"b\", \"n\": 2}\n"
     "  ]\n"
     "}",
     false},
    {"pretty_empty_array", manifest_no_files, 0, ERR_OK, "{\n  \"files\": [\n  ]\n}", false},
    {"pretty_nested_arrays", pretty_scalars, 0, ERR_OK, "[\n  1,\n  [\n    2\n  ]\n]", false},
    {"pretty_in_compact", pretty_in_compact, 0, ERR_OK, "[{\n    \"a\": 1\n  },null]", false},
    {"empty_containers", empty_containers, 0, ERR_OK, "[{},[],{\n  }]", false},
    {"deep_nesting", deep_nesting, 0, ERR_OK,
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", false},
    {"escaping", escaping, 0, ERR_OK,
     "{\"q\\\"k\\\\\":\"line\\nbreak\\ttab \\u0001 \xc3\xa9\",\"nul\":\"a\\u0000b\","
     "\"none\":null,\"none_n\":null,\"\":\"\"}",
     false},
    {"integers", integers, 0, ERR_OK,
     "[-9223372036854775808,9223372036854775807,0,18446744073709551615,true,null]", false},
    {"doubles", doubles, 0, ERR_OK, "[3.14,0.2,1234,0.5,1e+21,-1.235e+04,1.000000,null,null,null]",
     false},
    {"raw_values", raw_values, 0, ERR_OK, "{\"key\": {\"S\":\"a\"}, \"list\": [1.50,[true]]}",
     false},
    {"top_level_scalar", top_level_scalar, 0, ERR_OK, "5", false},
    {"json_lines", json_lines, 0, ERR_OK, "{\"n\":1}\n{\"n\":2}\n", true},
    {"sticky_too_large", too_large, 16, ERR_TOO_LARGE, "buffer limit of 16 bytes", false},
    {"unclosed_container", unclosed, 0, ERR_INVALID_INPUT, "2 container(s) still open", false},
    {"key_without_value", key_without_value, 0, ERR_INVALID_INPUT, "a key has no value", false},
    {"key_without_value_end", key_without_value_end, 0, ERR_INVALID_INPUT,
     "a key has no value before the end", false},
    {"value_without_key", value_without_key, 0, ERR_INVALID_INPUT, "needs its key", false},
    {"key_in_array", key_in_array, 0, ERR_INVALID_INPUT, "a key outside an object", false},
    {"key_after_key", key_after_key, 0, ERR_INVALID_INPUT, "a key follows a key", false},
    {"end_without_container", end_without_container, 0, ERR_INVALID_INPUT, "no container open",
     false},
    {"too_deep", too_deep, 0, ERR_INVALID_INPUT, "nested more than", false},
    {"text_inside_container", text_inside, 0, ERR_INVALID_INPUT, "text inside a value", false},
    {"bad_double_format", bad_double_format, 0, ERR_INVALID_INPUT, "double format", false},
    {"double_format_with_text", double_format_with_text, 0, ERR_INVALID_INPUT, "double format",
     false},
    {"double_format_flag", double_format_flag, 0, ERR_INVALID_INPUT, "double format", false},
    {"double_format_width", double_format_width, 0, ERR_INVALID_INPUT, "double format", false},
    {"double_format_hex", double_format_hex, 0, ERR_INVALID_INPUT, "double format", false},
    {"empty_raw", empty_raw, 0, ERR_INVALID_INPUT, "empty raw value", false},
};

static void test_row(void **state)
{
    const struct row *row = *state;
    struct buf out = BUF_INIT(row->max);
    struct err err = ERR_INIT;
    struct jsonw w;
    jsonw_init(&w, &out, &err);
    row->build(&w);
    size_t len_at_finish = out.len;
    assert_int_equal(jsonw_finish(&w), row->code);
    assert_int_equal(err.code, row->code);
    if (row->code == ERR_OK) {
        assert_string_equal(buf_cstr(&out), row->expected);
        if (!row->json_lines) {
            cJSON *j = cJSON_Parse(buf_cstr(&out));
            assert_non_null(j); /* every document written is valid JSON */
            cJSON_Delete(j);
        }
    } else {
        assert_non_null(strstr(err.msg, row->expected));
        /* Sticky: later calls write nothing and keep the first error. */
        jsonw_i64(&w, 7);
        jsonw_text(&w, "\n");
        jsonw_object(&w, JSONW_PRETTY);
        assert_int_equal(out.len, len_at_finish);
        assert_int_equal(jsonw_finish(&w), row->code);
    }
    buf_cleanup(&out);
}

/* After ERR_TOO_LARGE, nothing more reaches the buf, though smaller writes would fit. */
static void test_sticky_keeps_output(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(8);
    struct err err = ERR_INIT;
    struct jsonw w;
    jsonw_init(&w, &out, &err);
    jsonw_array(&w, JSONW_COMPACT);
    jsonw_str(&w, "0123456789");
    assert_int_equal(w.rc, ERR_TOO_LARGE);
    buf_reset(&out);
    jsonw_i64(&w, 1);
    jsonw_end(&w);
    assert_int_equal(out.len, 0);
    assert_int_equal(jsonw_finish(&w), ERR_TOO_LARGE);
    buf_cleanup(&out);
}

/* A NULL err is allowed: the code alone tells the failure. */
static void test_null_err(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct jsonw w;
    jsonw_init(&w, &out, NULL);
    jsonw_end(&w);
    assert_int_equal(jsonw_finish(&w), ERR_INVALID_INPUT);
    buf_cleanup(&out);
}

/* A failure found outside the writer fails the document, and the first one is kept. */
static void test_fail_from_outside(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT, outside = ERR_INIT, later = ERR_INIT;
    struct jsonw w;
    (void)err_set(&outside, ERR_NOMEM, "sorting the schema");
    (void)err_set(&later, ERR_IO, "later");
    jsonw_init(&w, &out, &err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_fail(&w, &outside);
    jsonw_fail(&w, &later);
    jsonw_end(&w);
    assert_int_equal(jsonw_finish(&w), ERR_NOMEM);
    assert_string_equal(err.msg, "sorting the schema");
    buf_cleanup(&out);
}

int main(void)
{
    enum { N = sizeof(rows) / sizeof(rows[0]) };
    struct CMUnitTest tests[N + 3];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){rows[i].name, test_row, NULL, NULL, (void *)&rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_sticky_keeps_output);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_null_err);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_fail_from_outside);
    return _cmocka_run_group_tests("jsonw", tests, N + 3, NULL, NULL);
}
