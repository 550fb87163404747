/*
 * test_value.c - values as transforms see them: every row type read into its kind (strings
 * borrowed when plain, unescaped when not; B decoded), rendered back byte for byte, compared as
 * SQL compares (exact numbers, NULL and incomparable kinds unknown), their text, and the arena
 * that computed values live in.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_datetime.h"
#include "etl_value.h"
#include "test_util.h"

static void assert_contains(const char *msg, const char *want)
{
    if (strstr(msg, want) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", msg, want);
    }
}

static void assert_cur_eq(struct cur c, const char *want, size_t want_len)
{
    if (c.len != want_len || (want_len > 0 && memcmp(c.ptr, want, want_len) != 0)) {
        fail_msg("got \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", (int)c.len,
                 (const char *)c.ptr, c.len, (int)want_len, want, want_len);
    }
}

/* A store holding one row with one column "c" of the given type and JSON value. */
static void one_column(struct buf *store, enum etl_type type, const char *value, struct etl_col *c)
{
    struct etl_row_builder rb;
    struct err err = ERR_INIT;
    assert_int_equal(etl_row_begin(&rb, store, &err), ERR_OK);
    assert_int_equal(etl_row_add(&rb, type, 0, cur_from_str("\"c\""), cur_from_str(value), &err),
                     ERR_OK);
    etl_row_end(&rb);
    struct etl_row_iter it;
    uint32_t n = 0;
    etl_row_iter_init(&it, store, 0);
    assert_true(etl_row_next(&it, &n));
    assert_true(etl_row_col(&it, c));
}

/* ---- from_col and rendering back ---- */

struct col_row {
    const char *name;
    enum etl_type type;
    const char *value; /* the column's JSON */
    enum err_code code;
    enum etl_vkind kind;
    const char *text;   /* etl_value_text, or a fragment of the error */
    size_t text_len;    /* 0: strlen(text) */
    const char *render; /* NULL: the same bytes as value */
    bool borrowed;      /* the value's bytes point into the store */
};

static const struct col_row col_rows[] = {
    {"S_plain", ETL_T_S, "\"hello\"", ERR_OK, ETL_V_STRING, "hello", 0, NULL, true},
    {"S_empty", ETL_T_S, "\"\"", ERR_OK, ETL_V_STRING, "", 0, NULL, true},
    {"S_utf8", ETL_T_S, "\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"", ERR_OK, ETL_V_STRING,
     "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 0, NULL, true},
    {"S_escapes_reescaped", ETL_T_S, "\"h\\u00e9llo \\\"q\\\" \\/ \\t\"", ERR_OK, ETL_V_STRING,
     "h\xc3\xa9llo \"q\" / \t", 0, "\"h\xc3\xa9llo \\\"q\\\" / \\t\"", false},
    {"S_canonical_escapes_kept", ETL_T_S, "\"a\\\"b\\\\c\\nd\\u0001\"", ERR_OK, ETL_V_STRING,
     "a\"b\\c\nd\x01", 0, NULL, false},
    {"S_surrogate_pair", ETL_T_S, "\"\\ud83d\\ude00\"", ERR_OK, ETL_V_STRING, "\xf0\x9f\x98\x80", 0,
     "\"\xf0\x9f\x98\x80\"", false},
    {"S_lone_surrogate", ETL_T_S, "\"\\ud800x\"", ERR_OK, ETL_V_STRING, "\xef\xbf\xbdx", 0,
     "\"\xef\xbf\xbdx\"", false},
    {"S_nul_escape", ETL_T_S, "\"a\\u0000b\"", ERR_OK, ETL_V_STRING, "a\0b", 3, NULL, false},
    {"N_int", ETL_T_N, "123", ERR_OK, ETL_V_NUMBER, "123", 0, NULL, true},
    {"N_38_digits", ETL_T_N, "-12345678901234567890123456789012345678", ERR_OK, ETL_V_NUMBER,
     "-12345678901234567890123456789012345678", 0, NULL, true},
    {"N_trailing_zeros", ETL_T_N, "1.50000", ERR_OK, ETL_V_NUMBER, "1.50000", 0, NULL, true},
    {"N_exponent", ETL_T_N, "1E-130", ERR_OK, ETL_V_NUMBER, "1E-130", 0, NULL, true},
    {"N_neg_zero", ETL_T_N, "-0", ERR_OK, ETL_V_NUMBER, "-0", 0, NULL, true},
    {"B", ETL_T_B, "\"AAEqQQ==\"", ERR_OK, ETL_V_BINARY, "AAEqQQ==", 0, NULL, false},
    {"B_one_byte", ETL_T_B, "\"QQ==\"", ERR_OK, ETL_V_BINARY, "QQ==", 0, NULL, false},
    {"B_empty", ETL_T_B, "\"\"", ERR_OK, ETL_V_BINARY, "", 0, NULL, false},
    {"B_bad", ETL_T_B, "\"AA=A\"", ERR_INVALID_INPUT, ETL_V_NULL, "not valid base64", 0, NULL,
     false},
    {"BOOL_true", ETL_T_BOOL, "true", ERR_OK, ETL_V_BOOL, "true", 0, NULL, false},
    {"BOOL_false", ETL_T_BOOL, "false", ERR_OK, ETL_V_BOOL, "false", 0, NULL, false},
    {"BOOL_bad", ETL_T_BOOL, "1", ERR_INVALID_INPUT, ETL_V_NULL, "column \"c\" of type BOOL", 0,
     NULL, false},
    {"NULL", ETL_T_NULL, "null", ERR_OK, ETL_V_NULL, "", 0, NULL, false},
    {"S_null_value", ETL_T_S, "null", ERR_OK, ETL_V_NULL, "", 0, NULL, false},
    {"TIMESTAMP", ETL_T_TIMESTAMP, "\"2026-11-24T07:00:00.123Z\"", ERR_OK, ETL_V_TIMESTAMP,
     "2026-11-24T07:00:00.123Z", 0, NULL, false},
    {"TIMESTAMP_other_form", ETL_T_TIMESTAMP, "\"2026-11-24 09:00:00+02:00\"", ERR_OK,
     ETL_V_TIMESTAMP, "2026-11-24T07:00:00.000Z", 0, "\"2026-11-24T07:00:00.000Z\"", false},
    {"TIMESTAMP_null", ETL_T_TIMESTAMP, "null", ERR_OK, ETL_V_NULL, "", 0, NULL, false},
    {"TIMESTAMP_bad", ETL_T_TIMESTAMP, "\"yesterday\"", ERR_INVALID_INPUT, ETL_V_NULL,
     "of type TIMESTAMP holds \"yesterday\"", 0, NULL, false},
    {"M", ETL_T_M, "{\"a\":1,\"b\":{\"c\":\"Z\\u00fcrich\"}}", ERR_OK, ETL_V_JSON,
     "{\"a\":1,\"b\":{\"c\":\"Z\\u00fcrich\"}}", 0, NULL, true},
    {"L", ETL_T_L, "[\"x\",1.50,[],null]", ERR_OK, ETL_V_JSON, "[\"x\",1.50,[],null]", 0, NULL,
     true},
    {"SS", ETL_T_SS, "[\"a\",\"b\"]", ERR_OK, ETL_V_JSON, "[\"a\",\"b\"]", 0, NULL, true},
    {"NS", ETL_T_NS, "[1,-2.50]", ERR_OK, ETL_V_JSON, "[1,-2.50]", 0, NULL, true},
    {"BS", ETL_T_BS, "[\"AAEqQQ==\"]", ERR_OK, ETL_V_JSON, "[\"AAEqQQ==\"]", 0, NULL, true},
};

static void test_col_row(void **state)
{
    const struct col_row *row = *state;
    struct buf store = BUF_INIT(0), out = BUF_INIT(0);
    struct etl_arena arena;
    struct err err = ERR_INIT;
    struct etl_col col;
    struct etl_value v;
    etl_arena_init(&arena, 0);
    one_column(&store, row->type, row->value, &col);
    assert_int_equal(etl_value_from_col(&col, &arena, &v, &err), row->code);
    if (row->code != ERR_OK) {
        assert_contains(err.msg, row->text);
        goto out;
    }
    assert_int_equal(v.kind, row->kind);
    struct cur text;
    assert_int_equal(etl_value_text(&v, &arena, &text, &err), ERR_OK);
    assert_cur_eq(text, row->text, row->text_len > 0 ? row->text_len : strlen(row->text));
    if (row->borrowed) {
        assert_true(v.s.ptr >= store.data && v.s.ptr + v.s.len <= store.data + store.len);
    }
    assert_int_equal(etl_value_render_json(&v, &out, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), row->render != NULL ? row->render : row->value);
    enum etl_type back = etl_value_row_type(&v);
    assert_int_equal(back, v.kind == ETL_V_NULL ? ETL_T_NULL
                           : row->type == ETL_T_SS || row->type == ETL_T_NS || row->type == ETL_T_BS
                               ? ETL_T_L
                               : row->type);
out:
    buf_cleanup(&store);
    buf_cleanup(&out);
    etl_arena_cleanup(&arena);
}

/* ---- from_json ---- */

struct json_row {
    const char *name;
    const char *json;
    enum etl_vkind kind;
    const char *text;
};

static const struct json_row json_rows[] = {
    {"json_string", "\"x y\"", ETL_V_STRING, "x y"},
    {"json_string_escaped", "\"Z\\u00fcrich\"", ETL_V_STRING, "Z\xc3\xbcrich"},
    {"json_number", "-2.50", ETL_V_NUMBER, "-2.50"},
    {"json_true", "true", ETL_V_BOOL, "true"},
    {"json_false", "false", ETL_V_BOOL, "false"},
    {"json_null", "null", ETL_V_NULL, ""},
    {"json_object", "{\"a\": [1, 2]}", ETL_V_JSON, "{\"a\": [1, 2]}"},
    {"json_array", "[]", ETL_V_JSON, "[]"},
};

static void test_json_row(void **state)
{
    const struct json_row *row = *state;
    struct etl_arena arena;
    struct err err = ERR_INIT;
    struct json_val jv;
    struct etl_value v;
    struct cur text;
    etl_arena_init(&arena, 0);
    assert_int_equal(json_validate(cur_from_str(row->json), 8, &jv, &err), ERR_OK);
    assert_int_equal(etl_value_from_json(&jv, &arena, &v, &err), ERR_OK);
    assert_int_equal(v.kind, row->kind);
    assert_int_equal(etl_value_text(&v, &arena, &text, &err), ERR_OK);
    assert_cur_eq(text, row->text, strlen(row->text));
    etl_arena_cleanup(&arena);
}

/* ---- values from a compact spec ---- */

struct vspec {
    enum etl_vkind kind;
    const char *text; /* NUMBER, STRING, BINARY, JSON bytes; DOUBLE, BOOL, TIMESTAMP, DATE text */
};

static struct etl_value make(const struct vspec *s)
{
    struct etl_value v = etl_value_null();
    bool date_only = false;
    const char *why = NULL;
    v.kind = s->kind;
    switch (s->kind) {
    case ETL_V_BOOL:
        v.b = strcmp(s->text, "true") == 0;
        break;
    case ETL_V_DOUBLE:
        v.d = strcmp(s->text, "nan") == 0    ? NAN
              : strcmp(s->text, "inf") == 0  ? INFINITY
              : strcmp(s->text, "-inf") == 0 ? -INFINITY
                                             : strtod(s->text, NULL);
        break;
    case ETL_V_TIMESTAMP:
    case ETL_V_DATE:
        assert_true(etl_datetime_parse_iso8601(cur_from_str(s->text), &v.i, &date_only, &why));
        if (s->kind == ETL_V_DATE) {
            v.i = etl_datetime_day_of(v.i);
        }
        break;
    case ETL_V_NULL:
        break;
    default:
        v.s = cur_from_str(s->text);
        break;
    }
    return v;
}

/* ---- compare ---- */

struct cmp_row {
    const char *name;
    struct vspec a;
    struct vspec b;
    bool comparable;
    int expected;
};

static const struct cmp_row cmp_rows[] = {
    {"cmp_number_scale", {ETL_V_NUMBER, "1.50"}, {ETL_V_NUMBER, "1.5"}, true, 0},
    {"cmp_number_exponent", {ETL_V_NUMBER, "1E+2"}, {ETL_V_NUMBER, "100"}, true, 0},
    {"cmp_number_38_digits",
     {ETL_V_NUMBER, "12345678901234567890123456789012345678"},
     {ETL_V_NUMBER, "12345678901234567890123456789012345677"},
     true,
     1},
    {"cmp_number_not_via_double",
     {ETL_V_NUMBER, "9007199254740993"},
     {ETL_V_NUMBER, "9007199254740992"},
     true,
     1},
    {"cmp_number_neg", {ETL_V_NUMBER, "-3"}, {ETL_V_NUMBER, "2"}, true, -1},
    {"cmp_number_too_long",
     {ETL_V_NUMBER, "123456789012345678901234567890123456789"},
     {ETL_V_NUMBER, "1"},
     false,
     0},
    {"cmp_number_double", {ETL_V_NUMBER, "0.5"}, {ETL_V_DOUBLE, "0.25"}, true, 1},
    {"cmp_double_number", {ETL_V_DOUBLE, "1.5"}, {ETL_V_NUMBER, "1.50"}, true, 0},
    {"cmp_double_nan", {ETL_V_DOUBLE, "nan"}, {ETL_V_DOUBLE, "nan"}, false, 0},
    {"cmp_string_bytewise", {ETL_V_STRING, "Zebra"}, {ETL_V_STRING, "apple"}, true, -1},
    {"cmp_string_prefix", {ETL_V_STRING, "ab"}, {ETL_V_STRING, "abc"}, true, -1},
    {"cmp_string_utf8", {ETL_V_STRING, "\xc3\xa9"}, {ETL_V_STRING, "z"}, true, 1},
    {"cmp_string_empty", {ETL_V_STRING, ""}, {ETL_V_STRING, ""}, true, 0},
    {"cmp_bool", {ETL_V_BOOL, "false"}, {ETL_V_BOOL, "true"}, true, -1},
    {"cmp_timestamps",
     {ETL_V_TIMESTAMP, "2026-11-24T07:00:00.001Z"},
     {ETL_V_TIMESTAMP, "2026-11-24T07:00:00Z"},
     true,
     1},
    {"cmp_timestamp_date",
     {ETL_V_TIMESTAMP, "2026-11-24T00:00:00Z"},
     {ETL_V_DATE, "2026-11-24"},
     true,
     0},
    {"cmp_date_date", {ETL_V_DATE, "2026-11-23"}, {ETL_V_DATE, "2026-11-24"}, true, -1},
    {"cmp_timestamp_string_offset",
     {ETL_V_TIMESTAMP, "2026-11-24T07:00:00Z"},
     {ETL_V_STRING, "2026-11-24T09:00:00+02:00"},
     true,
     0},
    {"cmp_string_date", {ETL_V_STRING, "2026-11-25"}, {ETL_V_DATE, "2026-11-24"}, true, 1},
    {"cmp_timestamp_bad_string",
     {ETL_V_TIMESTAMP, "2026-11-24T07:00:00Z"},
     {ETL_V_STRING, "tomorrow"},
     false,
     0},
    {"cmp_binary", {ETL_V_BINARY, "\x01\x02"}, {ETL_V_BINARY, "\x01\x03"}, true, -1},
    {"cmp_json_equal", {ETL_V_JSON, "[1,2]"}, {ETL_V_JSON, "[1,2]"}, true, 0},
    {"cmp_json_unequal", {ETL_V_JSON, "[1,2]"}, {ETL_V_JSON, "[1, 2]"}, true, 1},
    {"cmp_null_left", {ETL_V_NULL, NULL}, {ETL_V_NUMBER, "1"}, false, 0},
    {"cmp_null_both", {ETL_V_NULL, NULL}, {ETL_V_NULL, NULL}, false, 0},
    {"cmp_number_string", {ETL_V_NUMBER, "12"}, {ETL_V_STRING, "12"}, false, 0},
    {"cmp_bool_number", {ETL_V_BOOL, "true"}, {ETL_V_NUMBER, "1"}, false, 0},
    {"cmp_timestamp_number",
     {ETL_V_TIMESTAMP, "2026-11-24T07:00:00Z"},
     {ETL_V_NUMBER, "1"},
     false,
     0},
    {"cmp_string_binary", {ETL_V_STRING, "a"}, {ETL_V_BINARY, "a"}, false, 0},
};

static void test_cmp_row(void **state)
{
    const struct cmp_row *row = *state;
    struct etl_value a = make(&row->a), b = make(&row->b);
    int c = 99;
    assert_int_equal(etl_value_compare(&a, &b, &c), row->comparable);
    if (row->comparable) {
        assert_int_equal(c < 0 ? -1 : (c > 0 ? 1 : 0), row->expected);
        assert_true(etl_value_compare(&b, &a, &c));
        assert_int_equal(c < 0 ? -1 : (c > 0 ? 1 : 0), -row->expected);
    } else {
        assert_false(etl_value_compare(&b, &a, &c));
    }
}

/* ---- rendering computed values, their row types and text ---- */

struct render_row {
    const char *name;
    struct vspec v;
    const char *json;
    enum etl_type type;
    const char *text;
};

static const struct render_row render_rows[] = {
    {"render_double_short", {ETL_V_DOUBLE, "0.1"}, "0.1", ETL_T_N, "0.1"},
    {"render_double_third",
     {ETL_V_DOUBLE, "0.3333333333333333"},
     "0.3333333333333333",
     ETL_T_N,
     "0.3333333333333333"},
    {"render_double_17_digits",
     {ETL_V_DOUBLE, "0.30000000000000004"},
     "0.30000000000000004",
     ETL_T_N,
     "0.30000000000000004"},
    {"render_double_integral", {ETL_V_DOUBLE, "100"}, "100", ETL_T_N, "100"},
    {"render_double_big", {ETL_V_DOUBLE, "1e21"}, "1e+21", ETL_T_N, "1e+21"},
    {"render_double_neg_zero", {ETL_V_DOUBLE, "-0"}, "-0", ETL_T_N, "-0"},
    {"render_double_nan", {ETL_V_DOUBLE, "nan"}, "null", ETL_T_N, "NaN"},
    {"render_double_inf", {ETL_V_DOUBLE, "inf"}, "null", ETL_T_N, "Infinity"},
    {"render_double_neg_inf", {ETL_V_DOUBLE, "-inf"}, "null", ETL_T_N, "-Infinity"},
    {"render_number_plus", {ETL_V_NUMBER, "+5"}, "5", ETL_T_N, "+5"},
    {"render_number_bare_fraction", {ETL_V_NUMBER, ".5"}, "0.5", ETL_T_N, ".5"},
    {"render_number_long_rewritten", {ETL_V_NUMBER, "+1.5E+100"}, "1.5E100", ETL_T_N, "+1.5E+100"},
    {"render_string_control", {ETL_V_STRING, "a\"\x1f"}, "\"a\\\"\\u001f\"", ETL_T_S, "a\"\x1f"},
    {"render_binary", {ETL_V_BINARY, "\x01\x02\x03\x04"}, "\"AQIDBA==\"", ETL_T_B, "AQIDBA=="},
    {"render_timestamp_1969",
     {ETL_V_TIMESTAMP, "1969-12-31T23:59:59.999Z"},
     "\"1969-12-31T23:59:59.999Z\"",
     ETL_T_TIMESTAMP,
     "1969-12-31T23:59:59.999Z"},
    {"render_date", {ETL_V_DATE, "2026-11-24"}, "\"2026-11-24\"", ETL_T_S, "2026-11-24"},
    {"render_json_object", {ETL_V_JSON, " {\"a\":1}"}, " {\"a\":1}", ETL_T_M, " {\"a\":1}"},
    {"render_json_array", {ETL_V_JSON, "[1]"}, "[1]", ETL_T_L, "[1]"},
    {"render_bool", {ETL_V_BOOL, "true"}, "true", ETL_T_BOOL, "true"},
    {"render_null", {ETL_V_NULL, NULL}, "null", ETL_T_NULL, ""},
};

static void test_render_row(void **state)
{
    const struct render_row *row = *state;
    struct etl_value v = make(&row->v);
    struct buf out = BUF_INIT(0);
    struct etl_arena arena;
    struct err err = ERR_INIT;
    struct cur text;
    etl_arena_init(&arena, 0);
    assert_int_equal(etl_value_render_json(&v, &out, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), row->json);
    struct json_val back;
    assert_int_equal(json_validate(buf_cur(&out), 8, &back, &err), ERR_OK);
    if (v.kind == ETL_V_DOUBLE && isfinite(v.d)) {
        assert_true(strtod(buf_cstr(&out), NULL) == v.d);
    }
    assert_int_equal(etl_value_row_type(&v), row->type);
    assert_int_equal(etl_value_text(&v, &arena, &text, &err), ERR_OK);
    assert_cur_eq(text, row->text, strlen(row->text));
    if (v.kind == ETL_V_NULL) {
        assert_null(text.ptr);
    }
    buf_cleanup(&out);
    etl_arena_cleanup(&arena);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(etl_vkind_name(ETL_V_NULL), "NULL");
    assert_string_equal(etl_vkind_name(ETL_V_NUMBER), "NUMBER");
    assert_string_equal(etl_vkind_name(ETL_V_JSON), "JSON");
    assert_string_equal(etl_vkind_name((enum etl_vkind)99), "?");
}

/*
 * The arena keeps values valid: thousands of values of mixed sizes (some larger than a block)
 * stay byte-exact until reset; reset keeps one block for the next row; a ceiling is enforced.
 */
static void test_arena_keeps_values(void **state)
{
    (void)state;
    enum { N = 5000 };
    static struct cur saved[N];
    struct etl_arena arena;
    struct err err = ERR_INIT;
    etl_arena_init(&arena, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            char text[64];
            int n = snprintf(text, sizeof(text), "value-%d-%d", round, i);
            if (i % 1000 == 999) {
                /* A value larger than a block gets a block of its own. */
                uint8_t *big = NULL;
                assert_int_equal(etl_arena_alloc(&arena, ETL_ARENA_BLOCK_BYTES + 100, &big, &err),
                                 ERR_OK);
                memset(big, 'x', ETL_ARENA_BLOCK_BYTES + 100);
                memcpy(big, text, (size_t)n);
                saved[i] = cur_make(big, (size_t)n);
                continue;
            }
            assert_int_equal(etl_arena_copy(&arena, text, (size_t)n, &saved[i], &err), ERR_OK);
            assert_int_equal((uintptr_t)saved[i].ptr % 8, 0);
        }
        for (int i = 0; i < N; i++) {
            char text[64];
            int n = snprintf(text, sizeof(text), "value-%d-%d", round, i);
            assert_cur_eq(saved[i], text, (size_t)n);
        }
        etl_arena_reset(&arena);
        assert_non_null(arena.head);
        assert_null(arena.head->next);
        assert_int_equal(arena.head->used, 0);
    }
    struct cur empty;
    assert_int_equal(etl_arena_copy(&arena, "", 0, &empty, &err), ERR_OK);
    assert_int_equal(empty.len, 0);
    etl_arena_cleanup(&arena);
    etl_arena_cleanup(&arena); /* twice is harmless */
    etl_arena_cleanup(NULL);

    uint8_t *p = NULL;
    etl_arena_init(&arena, 2 * ETL_ARENA_BLOCK_BYTES);
    assert_int_equal(etl_arena_alloc(&arena, ETL_ARENA_BLOCK_BYTES, &p, &err), ERR_OK);
    assert_int_equal(etl_arena_alloc(&arena, ETL_ARENA_BLOCK_BYTES, &p, &err), ERR_OK);
    assert_int_equal(etl_arena_alloc(&arena, 1, &p, &err), ERR_TOO_LARGE);
    etl_arena_cleanup(&arena);
}

/* Reading a row's values allocates only for what must be decoded. */
static void test_plain_values_need_no_arena(void **state)
{
    (void)state;
    struct buf store = BUF_INIT(0);
    struct etl_arena arena;
    struct err err = ERR_INIT;
    struct etl_col col;
    struct etl_value v;
    etl_arena_init(&arena, 0);
    one_column(&store, ETL_T_S, "\"plain\"", &col);
    assert_int_equal(etl_value_from_col(&col, &arena, &v, &err), ERR_OK);
    assert_null(arena.head);
    buf_cleanup(&store);
    etl_arena_cleanup(&arena);
}

#define ADD_ROWS(rows, fn)                                                                         \
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {                                  \
        tests[n++] = (struct CMUnitTest){rows[i].name, fn, NULL, NULL, (void *)&rows[i]};          \
    }

int main(void)
{
    static struct CMUnitTest tests[256];
    size_t n = 0;
    ADD_ROWS(col_rows, test_col_row);
    ADD_ROWS(json_rows, test_json_row);
    ADD_ROWS(cmp_rows, test_cmp_row);
    ADD_ROWS(render_rows, test_render_row);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_kind_names);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_arena_keeps_values);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_plain_values_need_no_arena);
    return _cmocka_run_group_tests("value", tests, n, NULL, NULL);
}
