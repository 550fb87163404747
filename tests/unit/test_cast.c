/*
 * test_cast.c - every row of the cast table in etl_cast.h, each with what casts and what does
 * not: integers never truncated or wrapped, decimals never rounded (38 digits included), epoch
 * seconds and milliseconds, ISO-8601 with offsets, arrays and maps element by element, and the
 * messages that say why.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "etl_cast.h"
#include "etl_datetime.h"
#include "test_util.h"

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
        v.d = strcmp(s->text, "nan") == 0 ? NAN : strtod(s->text, NULL);
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

struct cast_row {
    const char *name;
    struct vspec in;
    const char *type;
    enum err_code code;
    enum etl_vkind kind;  /* of the result */
    const char *expected; /* the result rendered as JSON, or a fragment of the message */
};

#define OK  ERR_OK
#define BAD ERR_INVALID_INPUT
#define N   ETL_V_NUMBER
#define S   ETL_V_STRING
#define D   ETL_V_DOUBLE
#define T   ETL_V_TIMESTAMP

static const struct cast_row cast_rows[] = {
    /* string: anything but NULL, as etl_value_text writes it */
    {"string_from_number", {N, "12.50"}, "string", OK, S, "\"12.50\""},
    {"string_from_double", {D, "0.1"}, "string", OK, S, "\"0.1\""},
    {"string_from_bool", {ETL_V_BOOL, "true"}, "string", OK, S, "\"true\""},
    {"string_from_timestamp",
     {T, "2026-11-24T07:00:00Z"},
     "string",
     OK,
     S,
     "\"2026-11-24T07:00:00.000Z\""},
    {"string_from_date", {ETL_V_DATE, "2026-11-24"}, "varchar", OK, S, "\"2026-11-24\""},
    {"string_from_binary", {ETL_V_BINARY, "\x01\x02\x03\x04"}, "string", OK, S, "\"AQIDBA==\""},
    {"string_from_json", {ETL_V_JSON, "[1,\"a\"]"}, "string", OK, S, "\"[1,\\\"a\\\"]\""},
    {"string_from_string", {S, "h\xc3\xa9"}, "string", OK, S, "\"h\xc3\xa9\""},
    /* bigint, int, smallint, tinyint */
    {"bigint_from_number", {N, "42"}, "bigint", OK, N, "42"},
    {"bigint_from_exponent", {N, "1E+2"}, "bigint", OK, N, "100"},
    {"bigint_from_neg_zero", {N, "-0"}, "bigint", OK, N, "0"},
    {"bigint_from_zero_fraction", {N, "12.000"}, "bigint", OK, N, "12"},
    {"bigint_from_double", {D, "3"}, "bigint", OK, N, "3"},
    {"bigint_from_double_big", {D, "1e18"}, "bigint", OK, N, "1000000000000000000"},
    {"bigint_from_string", {S, "-9223372036854775808"}, "bigint", OK, N, "-9223372036854775808"},
    {"bigint_from_true", {ETL_V_BOOL, "true"}, "bigint", OK, N, "1"},
    {"bigint_from_false", {ETL_V_BOOL, "false"}, "bigint", OK, N, "0"},
    {"bigint_fraction",
     {N, "1.5"},
     "bigint",
     BAD,
     0,
     "1.5 is not an integer: it does not cast to bigint"},
    {"bigint_tiny_fraction", {N, "1E-130"}, "bigint", BAD, 0, "is not an integer"},
    {"bigint_over_max",
     {N, "9223372036854775808"},
     "bigint",
     BAD,
     0,
     "9223372036854775808 is out of range for bigint"},
    {"bigint_38_digits",
     {N, "12345678901234567890123456789012345678"},
     "bigint",
     BAD,
     0,
     "is out of range for bigint"},
    {"bigint_double_fraction", {D, "1.5"}, "bigint", BAD, 0, "is not an integer"},
    {"bigint_double_2e19", {D, "2e19"}, "bigint", BAD, 0, "is out of range for bigint"},
    {"bigint_double_nan", {D, "nan"}, "bigint", BAD, 0, "does not cast to bigint"},
    {"bigint_string_abc",
     {S, "abc"},
     "bigint",
     BAD,
     0,
     "\"abc\" is not a number: it does not cast to bigint"},
    {"bigint_string_space", {S, " 12"}, "bigint", BAD, 0, "is not a number"},
    {"bigint_string_empty", {S, ""}, "bigint", BAD, 0, "\"\" is not a number"},
    {"bigint_string_39_digits",
     {S, "123456789012345678901234567890123456789"},
     "bigint",
     BAD,
     0,
     "has 39 significant digits (max 38)"},
    {"bigint_from_timestamp",
     {T, "2026-11-24T07:00:00Z"},
     "bigint",
     BAD,
     0,
     "cannot cast TIMESTAMP 2026-11-24T07:00:00.000Z to bigint"},
    {"bigint_from_json", {ETL_V_JSON, "[1]"}, "bigint", BAD, 0, "cannot cast JSON [1] to bigint"},
    {"int_max", {N, "2147483647"}, "int", OK, N, "2147483647"},
    {"int_over", {N, "2147483648"}, "int", BAD, 0, "2147483648 is out of range for int"},
    {"smallint_min", {S, "-32768"}, "smallint", OK, N, "-32768"},
    {"smallint_over", {N, "32768"}, "smallint", BAD, 0, "is out of range for smallint"},
    {"tinyint_max", {N, "127"}, "tinyint", OK, N, "127"},
    {"tinyint_300", {N, "300"}, "tinyint", BAD, 0, "300 is out of range for tinyint"},
    {"tinyint_under", {N, "-129"}, "tinyint", BAD, 0, "is out of range for tinyint"},
    /* decimal(p,s) */
    {"decimal_pad", {N, "12.5"}, "decimal(10,2)", OK, N, "12.50"},
    {"decimal_no_round",
     {N, "12.345"},
     "decimal(10,2)",
     BAD,
     0,
     "12.345 does not fit decimal(10,2) exactly"},
    {"decimal_too_big", {N, "123456789.5"}, "decimal(10,2)", BAD, 0, "does not fit"},
    {"decimal_from_double", {D, "0.1"}, "decimal(10,2)", OK, N, "0.10"},
    {"decimal_from_double_inexact",
     {D, "0.30000000000000004"},
     "decimal(10,2)",
     BAD,
     0,
     "does not fit decimal(10,2) exactly"},
    {"decimal_from_string", {S, "7"}, "decimal(10,2)", OK, N, "7.00"},
    {"decimal_neg_zero", {N, "-0"}, "decimal(3,2)", OK, N, "0.00"},
    {"decimal_38_0",
     {N, "12345678901234567890123456789012345678"},
     "decimal(38,0)",
     OK,
     N,
     "12345678901234567890123456789012345678"},
    {"decimal_38_2_too_big",
     {N, "12345678901234567890123456789012345678"},
     "decimal(38,2)",
     BAD,
     0,
     "does not fit decimal(38,2) exactly"},
    {"decimal_38_38",
     {N, "-0.12345678901234567890123456789012345678"},
     "decimal(38,38)",
     OK,
     N,
     "-0.12345678901234567890123456789012345678"},
    {"decimal_exponent", {N, "1.5E+3"}, "decimal(6,1)", OK, N, "1500.0"},
    {"decimal_huge_exponent", {S, "1e400"}, "decimal(10,2)", BAD, 0, "does not fit"},
    {"decimal_string_39",
     {S, "123456789012345678901234567890123456789"},
     "decimal(38,0)",
     BAD,
     0,
     "does not cast to decimal(38,0): \"123456789012345678901234567890123456789\" has 39 "
     "significant digits"},
    {"decimal_from_bool",
     {ETL_V_BOOL, "true"},
     "decimal(10,2)",
     BAD,
     0,
     "cannot cast BOOL true to decimal(10,2)"},
    /* double, float */
    {"double_from_number", {N, "0.1"}, "double", OK, D, "0.1"},
    {"double_from_38_digits",
     {N, "12345678901234567890123456789012345678"},
     "double",
     OK,
     D,
     "1.2345678901234568e+37"},
    {"double_from_string", {S, "1e3"}, "double", OK, D, "1000"},
    {"double_from_string_many_digits",
     {S, "0.1000000000000000055511151231257827021181583404541"},
     "double",
     OK,
     D,
     "0.1"},
    {"double_from_double", {D, "2.5"}, "double", OK, D, "2.5"},
    {"double_string_abc",
     {S, "abc"},
     "double",
     BAD,
     0,
     "\"abc\" is not a number: it does not cast to double"},
    {"double_string_nan", {S, "NaN"}, "double", BAD, 0, "is not a number"},
    {"double_out_of_range", {S, "1e400"}, "double", BAD, 0, "is out of range for double"},
    {"double_from_bool", {ETL_V_BOOL, "false"}, "double", BAD, 0, "cannot cast BOOL"},
    {"float_rounded", {N, "0.1"}, "float", OK, D, "0.10000000149011612"},
    {"float_out_of_range", {S, "1e39"}, "real", BAD, 0, "is out of range for float"},
    /* boolean */
    {"boolean_from_bool", {ETL_V_BOOL, "false"}, "boolean", OK, ETL_V_BOOL, "false"},
    {"boolean_from_1", {N, "1"}, "boolean", OK, ETL_V_BOOL, "true"},
    {"boolean_from_1_00", {N, "1.00"}, "boolean", OK, ETL_V_BOOL, "true"},
    {"boolean_from_0_0", {N, "0.0"}, "boolean", OK, ETL_V_BOOL, "false"},
    {"boolean_from_2", {N, "2"}, "boolean", BAD, 0, "2 is neither 0 nor 1"},
    {"boolean_from_minus_1", {N, "-1"}, "boolean", BAD, 0, "is neither 0 nor 1"},
    {"boolean_from_TRUE", {S, "TRUE"}, "boolean", OK, ETL_V_BOOL, "true"},
    {"boolean_from_False", {S, "False"}, "boolean", OK, ETL_V_BOOL, "false"},
    {"boolean_from_string_1", {S, "1"}, "boolean", OK, ETL_V_BOOL, "true"},
    {"boolean_from_string_0", {S, "0"}, "boolean", OK, ETL_V_BOOL, "false"},
    {"boolean_from_yes",
     {S, "yes"},
     "boolean",
     BAD,
     0,
     "\"yes\" is not true, false, 1 or 0: it does not cast to boolean"},
    {"boolean_from_double", {D, "1"}, "boolean", BAD, 0, "cannot cast DOUBLE"},
    /* timestamp */
    {"timestamp_from_timestamp",
     {T, "2026-11-24T07:00:00.5Z"},
     "timestamp",
     OK,
     T,
     "\"2026-11-24T07:00:00.500Z\""},
    {"timestamp_from_date",
     {ETL_V_DATE, "2026-11-24"},
     "timestamp",
     OK,
     T,
     "\"2026-11-24T00:00:00.000Z\""},
    {"timestamp_epoch_seconds",
     {N, "1795503600"},
     "timestamp",
     OK,
     T,
     "\"2026-11-24T07:00:00.000Z\""},
    {"timestamp_epoch_seconds_fraction",
     {N, "1795503600.123"},
     "timestamp",
     OK,
     T,
     "\"2026-11-24T07:00:00.123Z\""},
    {"timestamp_epoch_ms",
     {N, "1795503600123"},
     "timestamp",
     OK,
     T,
     "\"2026-11-24T07:00:00.123Z\""},
    {"timestamp_epoch_negative", {N, "-1"}, "timestamp", OK, T, "\"1969-12-31T23:59:59.000Z\""},
    {"timestamp_epoch_double",
     {D, "1795503600.5"},
     "timestamp",
     OK,
     T,
     "\"2026-11-24T07:00:00.500Z\""},
    {"timestamp_epoch_sub_ms",
     {N, "1795503600.1234"},
     "timestamp",
     BAD,
     0,
     "1795503600.1234 has a fraction of a millisecond: it does not cast to timestamp"},
    {"timestamp_epoch_ms_fraction",
     {N, "1795503600123.5"},
     "timestamp",
     BAD,
     0,
     "has a fraction of a millisecond"},
    {"timestamp_epoch_huge", {N, "1e30"}, "timestamp", BAD, 0, "is out of range for timestamp"},
    {"timestamp_from_iso_offset",
     {S, "2026-11-24 02:00:00-05:00"},
     "timestamp",
     OK,
     T,
     "\"2026-11-24T07:00:00.000Z\""},
    {"timestamp_from_iso_date",
     {S, "2026-11-24"},
     "timestamp",
     OK,
     T,
     "\"2026-11-24T00:00:00.000Z\""},
    {"timestamp_from_iso_fraction",
     {S, "2026-11-24T07:00:00.123456Z"},
     "timestamp",
     BAD,
     0,
     "does not cast to timestamp: the fraction is finer than milliseconds"},
    {"timestamp_from_bad_day",
     {S, "2026-02-30"},
     "timestamp",
     BAD,
     0,
     "\"2026-02-30\" does not cast to timestamp: the day is out of range for its month"},
    {"timestamp_from_words",
     {S, "next tuesday"},
     "timestamp",
     BAD,
     0,
     "not an ISO-8601 date or time"},
    {"timestamp_from_bool", {ETL_V_BOOL, "true"}, "timestamp", BAD, 0, "cannot cast BOOL"},
    /* date */
    {"date_from_date", {ETL_V_DATE, "2026-11-24"}, "date", OK, ETL_V_DATE, "\"2026-11-24\""},
    {"date_from_timestamp",
     {T, "2026-11-24T23:59:59.999Z"},
     "date",
     OK,
     ETL_V_DATE,
     "\"2026-11-24\""},
    {"date_from_timestamp_1969",
     {T, "1969-12-31T23:00:00Z"},
     "date",
     OK,
     ETL_V_DATE,
     "\"1969-12-31\""},
    {"date_from_string", {S, "2026-11-24"}, "date", OK, ETL_V_DATE, "\"2026-11-24\""},
    {"date_from_string_offset",
     {S, "2026-11-24T23:00:00-05:00"},
     "date",
     OK,
     ETL_V_DATE,
     "\"2026-11-25\""},
    {"date_from_epoch", {N, "1795503600"}, "date", OK, ETL_V_DATE, "\"2026-11-24\""},
    {"date_from_slashes",
     {S, "24/11/2026"},
     "date",
     BAD,
     0,
     "\"24/11/2026\" does not cast to date: not an ISO-8601 date or time"},
    {"date_from_json", {ETL_V_JSON, "{}"}, "date", BAD, 0, "cannot cast JSON {} to date"},
    /* binary */
    {"binary_from_binary", {ETL_V_BINARY, "\xff"}, "binary", OK, ETL_V_BINARY, "\"/w==\""},
    {"binary_from_string", {S, "hi"}, "binary", OK, ETL_V_BINARY, "\"aGk=\""},
    {"binary_from_number", {N, "1"}, "binary", BAD, 0, "cannot cast NUMBER 1 to binary"},
    /* array<T> */
    {"array_bigint", {ETL_V_JSON, "[1,2.0,\"3\"]"}, "array<bigint>", OK, ETL_V_JSON, "[1,2,3]"},
    {"array_empty", {ETL_V_JSON, "[]"}, "array<bigint>", OK, ETL_V_JSON, "[]"},
    {"array_nulls_kept", {ETL_V_JSON, "[1, null]"}, "array<int>", OK, ETL_V_JSON, "[1,null]"},
    {"array_strings",
     {ETL_V_JSON, "[\"a\",1,true,[2]]"},
     "array<string>",
     OK,
     ETL_V_JSON,
     "[\"a\",\"1\",\"true\",\"[2]\"]"},
    {"array_nested",
     {ETL_V_JSON, "[[1,2.5],[]]"},
     "array<array<decimal(4,1)>>",
     OK,
     ETL_V_JSON,
     "[[1.0,2.5],[]]"},
    {"array_bad_element",
     {ETL_V_JSON, "[1,\"x\"]"},
     "array<bigint>",
     BAD,
     0,
     "element 1: \"x\" is not a number: it does not cast to bigint"},
    {"array_from_object",
     {ETL_V_JSON, "{\"a\":1}"},
     "array<bigint>",
     BAD,
     0,
     "is not a JSON array: it does not cast to array<bigint>"},
    {"array_from_string", {S, "[1]"}, "array<bigint>", BAD, 0, "is not a JSON array"},
    /* map<string,T> */
    {"map_int",
     {ETL_V_JSON, "{\"a\":1,\"b\":\"2\"}"},
     "map<string,int>",
     OK,
     ETL_V_JSON,
     "{\"a\":1,\"b\":2}"},
    {"map_timestamps",
     {ETL_V_JSON, "{\"t\":\"2026-11-24\"}"},
     "map<string,timestamp>",
     OK,
     ETL_V_JSON,
     "{\"t\":\"2026-11-24T00:00:00.000Z\"}"},
    {"map_escaped_key_kept",
     {ETL_V_JSON, "{\"Z\\u00fc\":\"x\"}"},
     "map<string,string>",
     OK,
     ETL_V_JSON,
     "{\"Z\\u00fc\":\"x\"}"},
    {"map_bad_member",
     {ETL_V_JSON, "{\"a\":1.5}"},
     "map<string,int>",
     BAD,
     0,
     "member \"a\": 1.5 is not an integer"},
    {"map_from_array", {ETL_V_JSON, "[]"}, "map<string,int>", BAD, 0, "is not a JSON object"},
};

static void test_cast_row(void **state)
{
    const struct cast_row *row = *state;
    struct etl_typespec *t = NULL;
    struct etl_arena arena;
    struct err err = ERR_INIT;
    struct etl_value in = make(&row->in), out;
    etl_arena_init(&arena, 0);
    assert_int_equal(etl_typespec_parse(cur_from_str(row->type), &t, &err), ERR_OK);
    enum err_code rc = etl_cast(&in, t, &arena, &out, &err);
    if (rc != row->code) {
        fail_msg("%s: code %d, want %d (%s)", row->name, rc, row->code, err.msg);
    }
    if (rc == ERR_OK) {
        struct buf json = BUF_INIT(0);
        assert_int_equal(out.kind, row->kind);
        assert_int_equal(etl_value_render_json(&out, &json, &err), ERR_OK);
        assert_string_equal(buf_cstr(&json), row->expected);
        buf_cleanup(&json);
    } else if (strstr(err.msg, row->expected) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, row->expected);
    }
    etl_typespec_free(t);
    etl_arena_cleanup(&arena);
}

/* NULL casts to NULL for every type. */
static void test_null_casts_to_null(void **state)
{
    (void)state;
    const char *types[] = {"string", "bigint", "int",           "smallint",       "tinyint",
                           "double", "float",  "decimal(10,2)", "boolean",        "timestamp",
                           "date",   "binary", "array<int>",    "map<string,int>"};
    struct etl_arena arena;
    etl_arena_init(&arena, 0);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct etl_typespec *t = NULL;
        struct err err = ERR_INIT;
        struct etl_value in = etl_value_null(), out;
        out.kind = ETL_V_BOOL;
        assert_int_equal(etl_typespec_parse(cur_from_str(types[i]), &t, &err), ERR_OK);
        assert_int_equal(etl_cast(&in, t, &arena, &out, &err), ERR_OK);
        assert_int_equal(out.kind, ETL_V_NULL);
        etl_typespec_free(t);
    }
    etl_arena_cleanup(&arena);
}

/* A large array casts in the arena, its text growing by doubling, and stays intact. */
static void test_large_array(void **state)
{
    (void)state;
    struct buf in = BUF_INIT(0), want = BUF_INIT(0), got = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct etl_typespec *t = NULL;
    struct etl_arena arena;
    etl_arena_init(&arena, 0);
    /* ["0","1",...] to array<decimal(10,1)> is [0.0,1.0,...]. */
    assert_int_equal(buf_append_byte(&in, '[', &err), ERR_OK);
    assert_int_equal(buf_append_byte(&want, '[', &err), ERR_OK);
    for (int i = 0; i < 20000; i++) {
        assert_int_equal(buf_printf(&in, &err, "%s\"%d\"", i > 0 ? "," : "", i), ERR_OK);
        assert_int_equal(buf_printf(&want, &err, "%s%d.0", i > 0 ? "," : "", i), ERR_OK);
    }
    assert_int_equal(buf_append_byte(&in, ']', &err), ERR_OK);
    assert_int_equal(buf_append_byte(&want, ']', &err), ERR_OK);
    struct etl_value v = etl_value_null(), out;
    v.kind = ETL_V_JSON;
    v.s = buf_cur(&in);
    assert_int_equal(etl_typespec_parse(cur_from_str("array<decimal(10,1)>"), &t, &err), ERR_OK);
    assert_int_equal(etl_cast(&v, t, &arena, &out, &err), ERR_OK);
    assert_int_equal(etl_value_render_json(&out, &got, &err), ERR_OK);
    assert_string_equal(buf_cstr(&got), buf_cstr(&want));
    etl_typespec_free(t);
    etl_arena_cleanup(&arena);
    buf_cleanup(&in);
    buf_cleanup(&want);
    buf_cleanup(&got);
}

int main(void)
{
    static struct CMUnitTest tests[160];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(cast_rows) / sizeof(cast_rows[0]); i++) {
        tests[n++] = (struct CMUnitTest){cast_rows[i].name, test_cast_row, NULL, NULL,
                                         (void *)&cast_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_null_casts_to_null);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_large_array);
    return _cmocka_run_group_tests("cast", tests, n, NULL, NULL);
}
