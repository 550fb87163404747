/*
 * test_ddbjson.c - DynamoDB JSON to plain JSON: every type, numbers digit for digit (never via a
 * double), base64 kept, sets as arrays, nesting limits, and errors that name the attribute.
 */
#include <stdio.h>
#include <string.h>

#include "etl_ddbjson.h"
#include "etl_record.h"
#include "test_util.h"

struct value_row {
    const char *name;
    const char *typed;
    enum err_code code;
    const char *expected; /* plain JSON, or a fragment of the error message */
    enum etl_type type;
};

static const struct value_row value_rows[] = {
    {"S", "{\"S\":\"h\\u00e9llo \\\"q\\\"\"}", ERR_OK, "\"h\\u00e9llo \\\"q\\\"\"", ETL_T_S},
    {"S_utf8", "{\"S\":\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"}", ERR_OK,
     "\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"", ETL_T_S},
    {"S_empty", "{\"S\":\"\"}", ERR_OK, "\"\"", ETL_T_S},
    {"N_int", "{\"N\":\"123\"}", ERR_OK, "123", ETL_T_N},
    {"N_38_digits", "{\"N\":\"12345678901234567890123456789012345678\"}", ERR_OK,
     "12345678901234567890123456789012345678", ETL_T_N},
    {"N_38_digits_fraction", "{\"N\":\"-0.12345678901234567890123456789012345678\"}", ERR_OK,
     "-0.12345678901234567890123456789012345678", ETL_T_N},
    {"N_trailing_zeros_kept", "{\"N\":\"1.50000\"}", ERR_OK, "1.50000", ETL_T_N},
    {"N_exponent", "{\"N\":\"9.9999999999999999999999999999999999999E+125\"}", ERR_OK,
     "9.9999999999999999999999999999999999999E+125", ETL_T_N},
    {"N_tiny", "{\"N\":\"1E-130\"}", ERR_OK, "1E-130", ETL_T_N},
    {"N_plus_sign", "{\"N\":\"+5\"}", ERR_OK, "5", ETL_T_N},
    {"N_leading_zeros", "{\"N\":\"007.25\"}", ERR_OK, "7.25", ETL_T_N},
    {"N_bare_fraction", "{\"N\":\".5\"}", ERR_OK, "0.5", ETL_T_N},
    {"N_bare_point", "{\"N\":\"5.\"}", ERR_OK, "5", ETL_T_N},
    {"N_zero", "{\"N\":\"-0\"}", ERR_OK, "-0", ETL_T_N},
    {"N_big_integer_not_rounded", "{\"N\":\"9007199254740993\"}", ERR_OK, "9007199254740993",
     ETL_T_N},
    {"N_1e39_precision_1", "{\"N\":\"1000000000000000000000000000000000000000\"}", ERR_OK,
     "1000000000000000000000000000000000000000", ETL_T_N},
    {"N_39_digits", "{\"N\":\"123456789012345678901234567890123456789\"}", ERR_INVALID_INPUT,
     "39 significant digits (max 38)", 0},
    {"N_nan", "{\"N\":\"NaN\"}", ERR_INVALID_INPUT, "not a number", 0},
    {"N_empty", "{\"N\":\"\"}", ERR_INVALID_INPUT, "not a number", 0},
    /* The message quotes the value and nothing after it. */
    {"N_nan_quoted", "{\"L\":[{\"N\":\"NaN\"},{\"S\":\"after\"}]}", ERR_INVALID_INPUT,
     "N \"NaN\" is not a number", 0},
    {"N_empty_exponent_quoted", "{\"L\":[{\"N\":\"1e\"},{\"S\":\"after\"}]}", ERR_INVALID_INPUT,
     "N \"1e\" has an empty exponent", 0},
    {"N_json_number_not_string", "{\"N\":12}", ERR_INVALID_INPUT, "N must be a string", 0},
    {"B", "{\"B\":\"AAEqQQ==\"}", ERR_OK, "\"AAEqQQ==\"", ETL_T_B},
    {"B_bad", "{\"B\":\"not base64!\"}", ERR_INVALID_INPUT, "B must be a base64 string", 0},
    {"BOOL_true", "{\"BOOL\":true}", ERR_OK, "true", ETL_T_BOOL},
    {"BOOL_false", "{\"BOOL\":false}", ERR_OK, "false", ETL_T_BOOL},
    {"BOOL_string", "{\"BOOL\":\"true\"}", ERR_INVALID_INPUT, "BOOL must be true or false", 0},
    {"NULL", "{\"NULL\":true}", ERR_OK, "null", ETL_T_NULL},
    {"M", "{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"S\":\"x\"},\"c\":{\"M\":{}}}}", ERR_OK,
     "{\"a\":1,\"b\":\"x\",\"c\":{}}", ETL_T_M},
    {"L", "{\"L\":[{\"S\":\"Cookies\"},{\"N\":\"3.14159\"},{\"L\":[]},{\"NULL\":true}]}", ERR_OK,
     "[\"Cookies\",3.14159,[],null]", ETL_T_L},
    {"SS", "{\"SS\":[\"a\",\"b\"]}", ERR_OK, "[\"a\",\"b\"]", ETL_T_SS},
    {"SS_empty", "{\"SS\":[]}", ERR_OK, "[]", ETL_T_SS},
    {"NS", "{\"NS\":[\"1\",\"-2.50\",\"12345678901234567890123456789012345678\"]}", ERR_OK,
     "[1,-2.50,12345678901234567890123456789012345678]", ETL_T_NS},
    {"BS", "{\"BS\":[\"AAEqQQ==\",\"QSoBAA==\"]}", ERR_OK, "[\"AAEqQQ==\",\"QSoBAA==\"]", ETL_T_BS},
    {"NS_bad_member", "{\"NS\":[\"1\",\"x\"]}", ERR_INVALID_INPUT, "attribute \"a[1]\"", 0},
    {"unknown_type", "{\"Q\":\"1\"}", ERR_INVALID_INPUT, "unknown type \"Q\"", 0},
    {"two_types", "{\"S\":\"1\",\"N\":\"1\"}", ERR_INVALID_INPUT, "more than one type", 0},
    {"not_object", "\"x\"", ERR_INVALID_INPUT, "type descriptor", 0},
    {"nested_error_path", "{\"M\":{\"b\":{\"L\":[{\"S\":\"ok\"},{\"M\":{\"c\":{\"N\":\"1x\"}}}]}}}",
     ERR_INVALID_INPUT, "attribute \"a.b[1].c\"", 0},
    /* A second type is reported before anything wrong with the first type's value, which the
     * walk reads first. */
    {"two_types_first_bad", "{\"S\":1,\"N\":\"1\"}", ERR_INVALID_INPUT,
     "attribute \"a\": type descriptor with more than one type", 0},
    {"two_types_first_unknown", "{\"Q\":\"1\",\"S\":\"x\"}", ERR_INVALID_INPUT,
     "attribute \"a\": type descriptor with more than one type", 0},
    {"two_types_nested_bad", "{\"M\":{\"b\":{\"N\":\"x\"}},\"S\":\"1\"}", ERR_INVALID_INPUT,
     "attribute \"a\": type descriptor with more than one type", 0},
    {"nested_two_types", "{\"L\":[{\"S\":\"ok\"},{\"S\":\"1\",\"S\":\"2\"}]}", ERR_INVALID_INPUT,
     "attribute \"a[1]\": type descriptor with more than one type", 0},
    {"empty_descriptor_in_map", "{\"M\":{\"b\":{}}}", ERR_INVALID_INPUT,
     "attribute \"a.b\": empty type descriptor", 0},
    {"list_member_not_object", "{\"L\":[{\"S\":\"ok\"},\"x\"]}", ERR_INVALID_INPUT,
     "attribute \"a[1]\": expected a type descriptor", 0},
    {"set_not_array", "{\"SS\":{\"a\":\"b\"}}", ERR_INVALID_INPUT, "a set must be an array", 0},
    {"M_not_object", "{\"M\":[]}", ERR_INVALID_INPUT, "M must be an object", 0},
    {"L_not_array", "{\"L\":{}}", ERR_INVALID_INPUT, "L must be an array", 0},
    /* Whitespace everywhere a walk stops: between members, around brackets, before commas. */
    {"spaced",
     " { \"M\" : { \"a\" : { \"N\" : \"1\" } , \"b\" : { \"L\" : [ { \"S\" : \"x\" } ,"
     " { \"NULL\" : true } , { \"SS\" : [ \"p\" , \"q\" ] } ] } , \"c\" : { \"M\" : { } } } } ",
     ERR_OK, "{\"a\":1,\"b\":[\"x\",null,[\"p\",\"q\"]],\"c\":{}}", ETL_T_M},
    /* Nested containers, empty ones, and a long one among short ones. */
    {"nested_mixed",
     "{\"L\":[{\"L\":[{\"L\":[]}]},{\"M\":{}},{\"M\":{\"long\":{\"S\":\"a string long enough that"
     " its map is indexed on its own\"},\"n\":{\"NS\":[\"1\",\"2\"]}}},{\"BOOL\":false}]}",
     ERR_OK,
     "[[[]],{},{\"long\":\"a string long enough that its map is indexed on its own\",\"n\":[1,2]},"
     "false]",
     ETL_T_L},
};

static void test_value_row(void **state)
{
    const struct value_row *row = *state;
    struct json_val v;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str(row->typed), 128, &v, &err), ERR_OK);
    struct buf out = BUF_INIT(0);
    struct etl_path path;
    etl_path_init(&path);
    path.seg[0] = (struct etl_path_seg){cur_from_str("a"), 0};
    path.n = 1;
    enum etl_type type = ETL_T_NULL;
    assert_int_equal(etl_ddbjson_value(&v, &out, &type, 1, &path, &err), row->code);
    if (row->code == ERR_OK) {
        assert_string_equal(buf_cstr(&out), row->expected);
        assert_int_equal(type, row->type);
        /* The output is valid JSON. */
        struct json_val back;
        assert_int_equal(json_validate(buf_cur(&out), 128, &back, &err), ERR_OK);
    } else {
        if (strstr(err.msg, row->expected) == NULL) {
            fail_msg("message \"%s\" lacks \"%s\"", err.msg, row->expected);
        }
    }
    buf_cleanup(&out);
}

/* {"M":{"n":{"M":{"n":...{"S":"leaf"}}}}} with `levels` maps. */
static void nested_maps(struct buf *b, int levels)
{
    struct err err = ERR_INIT;
    for (int i = 0; i < levels; i++) {
        assert_int_equal(buf_append_str(b, "{\"M\":{\"n\":", &err), ERR_OK);
    }
    assert_int_equal(buf_append_str(b, "{\"S\":\"leaf\"}", &err), ERR_OK);
    for (int i = 0; i < levels; i++) {
        assert_int_equal(buf_append_str(b, "}}", &err), ERR_OK);
    }
}

static void test_depth_limit(void **state)
{
    (void)state;
    struct buf in = BUF_INIT(0), out = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct json_val v;
    struct etl_path path;
    enum etl_type kind;
    /* 32 levels of nesting (31 maps around a leaf) are DynamoDB's maximum: accepted. */
    nested_maps(&in, 31);
    assert_int_equal(json_validate(buf_cur(&in), 256, &v, &err), ERR_OK);
    etl_path_init(&path);
    assert_int_equal(etl_ddbjson_value(&v, &out, &kind, 1, &path, &err), ERR_OK);
    buf_reset(&in);
    buf_reset(&out);
    nested_maps(&in, 40);
    assert_int_equal(json_validate(buf_cur(&in), 256, &v, &err), ERR_OK);
    etl_path_init(&path);
    assert_int_equal(etl_ddbjson_value(&v, &out, &kind, 1, &path, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "32 levels"));
    buf_cleanup(&in);
    buf_cleanup(&out);
}

/* The path is written only for the error, as it always read: names cut at 80 bytes, the
 * message at its 255. */
static void test_error_path_long_names(void **state)
{
    (void)state;
    char name_b[101], name_c[101], text[600];
    memset(name_b, 'b', 100);
    memset(name_c, 'c', 100);
    name_b[100] = name_c[100] = '\0';
    snprintf(text, sizeof(text),
             "{\"M\":{\"%s\":{\"L\":[{\"S\":\"x\"},{\"M\":{\"%s\":{\"N\":\"1x\"}}}]}}}", name_b,
             name_c);
    struct json_val v;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str(text), 128, &v, &err), ERR_OK);
    struct buf out = BUF_INIT(0);
    struct etl_path path;
    etl_path_init(&path);
    enum etl_type type = ETL_T_NULL;
    assert_int_equal(etl_ddbjson_value(&v, &out, &type, 1, &path, &err), ERR_INVALID_INPUT);
    char want[300];
    snprintf(want, sizeof(want), "attribute \"%.80s[1].%.80s\": N \"1x\" is not a number", name_b,
             name_c);
    assert_string_equal(err.msg, want);
    char formatted[16];
    path.n = 0;
    etl_path_format(&path, formatted, sizeof(formatted));
    assert_string_equal(formatted, "");
    buf_cleanup(&out);
}

/* Validates an item and its keys, and starts a row in store. */
static void begin_item_row(const char *item,
                           const char *keys,
                           struct json_val *iv,
                           struct json_val *kv,
                           struct buf *store,
                           struct etl_row_builder *rb)
{
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str(item), 64, iv, &err), ERR_OK);
    assert_int_equal(json_validate(cur_from_str(keys), 64, kv, &err), ERR_OK);
    assert_int_equal(etl_row_begin(rb, store, &err), ERR_OK);
}

/* Ends the row in store and starts reading it back: *n is its column count. */
static void
read_back(struct etl_row_builder *rb, struct buf *store, struct etl_row_iter *it, uint32_t *n)
{
    etl_row_end(rb);
    etl_row_iter_init(it, store, 0);
    assert_true(etl_row_next(it, n));
}

static void test_item_columns(void **state)
{
    (void)state;
    const char *item = "{\"Message\":{\"S\":\"hi\"},\"_op\":{\"S\":\"user\"},\"n\":{\"N\":\"2\"}}";
    const char *keys = "{\"Id\":{\"N\":\"101\"},\"n\":{\"N\":\"999\"}}";
    static const char *const reserved[] = {"_op", NULL};
    struct json_val iv, kv;
    struct err err = ERR_INIT;
    struct buf store = BUF_INIT(0);
    struct etl_row_builder rb;
    begin_item_row(item, keys, &iv, &kv, &store, &rb);
    assert_int_equal(etl_ddbjson_item_columns(&rb, &iv, &kv, reserved, &err), ERR_OK);
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t n = 0;
    read_back(&rb, &store, &it, &n);
    assert_int_equal(n, 4);
    /* The key the image lacks comes first; the image's own "n" wins over the key's. */
    const char *want_names[] = {"\"Id\"", "\"Message\"", "\"_item_op\"", "\"n\""};
    const char *want_values[] = {"101", "\"hi\"", "\"user\"", "2"};
    enum etl_type want_types[] = {ETL_T_N, ETL_T_S, ETL_T_S, ETL_T_N};
    unsigned want_flags[] = {0, 0, ETL_COL_RENAMED, 0};
    for (int i = 0; i < 4; i++) {
        assert_true(etl_row_col(&it, &col));
        assert_true(cur_eq_str(col.name, want_names[i]));
        assert_true(cur_eq_str(col.value, want_values[i]));
        assert_int_equal(col.type, want_types[i]);
        assert_int_equal(col.flags, want_flags[i]);
    }
    assert_false(etl_row_col(&it, &col));
    assert_false(etl_row_next(&it, &n));
    buf_cleanup(&store);
}

/* Attributes named like metadata columns, and like their escaped forms, each keep a column of
 * their own: "_op" is "_item_op", "_item_op" is "_item_item_op", ... (no duplicate JSON keys). */
static void test_item_columns_meta_clash(void **state)
{
    (void)state;
    const char *item =
        "{\"_op\":{\"S\":\"a\"},\"_item_op\":{\"S\":\"b\"},\"_seq\":{\"N\":\"1\"},"
        "\"_item_seq\":{\"N\":\"2\"},\"_item_item_op\":{\"S\":\"c\"},"
        "\"_itemx\":{\"S\":\"d\"},\"\\u005fts\":{\"S\":\"e\"},\"_item\":{\"S\":\"f\"}}";
    struct json_val iv;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str(item), 64, &iv, &err), ERR_OK);
    struct buf store = BUF_INIT(0);
    struct etl_row_builder rb;
    assert_int_equal(etl_row_begin(&rb, &store, &err), ERR_OK);
    assert_int_equal(etl_ddbjson_item_columns(&rb, &iv, NULL, etl_meta_names, &err), ERR_OK);
    etl_row_end(&rb);
    const char *want[] = {
        "\"_item_op\"",           "\"_item_item_op\"", "\"_item_seq\"",      "\"_item_item_seq\"",
        "\"_item_item_item_op\"", "\"_itemx\"",        "\"_item\\u005fts\"", "\"_item\""};
    const char *values[] = {"\"a\"", "\"b\"", "1", "2", "\"c\"", "\"d\"", "\"e\"", "\"f\""};
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t n = 0;
    etl_row_iter_init(&it, &store, 0);
    assert_true(etl_row_next(&it, &n));
    assert_int_equal(n, 8);
    for (int i = 0; i < 8; i++) {
        assert_true(etl_row_col(&it, &col));
        if (!cur_eq_str(col.name, want[i])) {
            fail_msg("column %d: %.*s, want %s", i, (int)col.name.len, (const char *)col.name.ptr,
                     want[i]);
        }
        assert_true(cur_eq_str(col.value, values[i]));
        assert_int_equal(col.flags, i < 5 || i == 6 ? ETL_COL_RENAMED : 0);
    }
    buf_cleanup(&store);
    assert_true(etl_meta_escaped(cur_from_str("_item_item_seq")));
    assert_false(etl_meta_escaped(cur_from_str("_item_opx")));
    assert_false(etl_meta_escaped(cur_from_str("_item")));
}

/* Which key attributes an image lacks, found while the image is converted, or by looking each
 * key up when that cannot tell (escaped names, more than four keys, an error). */
struct keys_row {
    const char *name;
    const char *item;
    const char *keys;
    const char *columns; /* names of the row's columns, comma-separated; NULL: an error */
    const char *error;   /* a part of the error message */
};

static const struct keys_row keys_rows[] = {
    {"all_in_image", "{\"b\":{\"S\":\"x\"},\"Id\":{\"N\":\"1\"},\"sk\":{\"S\":\"s\"}}",
     "{\"sk\":{\"S\":\"s\"},\"Id\":{\"N\":\"1\"}}", "\"pre\",\"b\",\"Id\",\"sk\"", NULL},
    {"one_missing", "{\"b\":{\"S\":\"x\"},\"Id\":{\"N\":\"1\"}}",
     "{\"Id\":{\"N\":\"1\"},\"sk\":{\"S\":\"s\"}}", "\"pre\",\"sk\",\"b\",\"Id\"", NULL},
    {"all_missing", "{\"b\":{\"S\":\"x\"}}", "{\"Id\":{\"N\":\"1\"},\"sk\":{\"S\":\"s\"}}",
     "\"pre\",\"Id\",\"sk\",\"b\"", NULL},
    {"empty_image", "{}", "{\"Id\":{\"N\":\"1\"}}", "\"pre\",\"Id\"", NULL},
    {"no_keys", "{\"b\":{\"S\":\"x\"}}", "{}", "\"pre\",\"b\"", NULL},
    /* The image's name escaped: the same name once unescaped, so the key is not added. */
    {"image_name_escaped", "{\"\\u0049d\":{\"N\":\"1\"}}", "{\"Id\":{\"N\":\"1\"}}",
     "\"pre\",\"\\u0049d\"", NULL},
    {"key_name_escaped", "{\"Id\":{\"N\":\"1\"}}", "{\"\\u0049d\":{\"N\":\"1\"}}", "\"pre\",\"Id\"",
     NULL},
    {"five_keys_one_missing",
     "{\"a\":{\"N\":\"1\"},\"b\":{\"N\":\"1\"},\"c\":{\"N\":\"1\"},\"d\":{\"N\":\"1\"}}",
     "{\"a\":{\"N\":\"1\"},\"b\":{\"N\":\"1\"},\"c\":{\"N\":\"1\"},\"d\":{\"N\":\"1\"},"
     "\"e\":{\"N\":\"1\"}}",
     "\"pre\",\"e\",\"a\",\"b\",\"c\",\"d\"", NULL},
    /* Two errors: the missing key's comes first, as its column would have. */
    {"errors_key_first", "{\"b\":{\"N\":\"x\"}}", "{\"Id\":{\"N\":\"y\"}}", NULL,
     "attribute \"Id\": N \"y\""},
    {"error_in_image", "{\"b\":{\"N\":\"x\"},\"Id\":{\"N\":\"1\"}}", "{\"Id\":{\"N\":\"1\"}}", NULL,
     "attribute \"b\": N \"x\""},
};

static void test_keys_row(void **state)
{
    const struct keys_row *row = *state;
    struct json_val iv, kv;
    struct err err = ERR_INIT;
    struct buf store = BUF_INIT(0), names = BUF_INIT(0);
    struct etl_row_builder rb;
    begin_item_row(row->item, row->keys, &iv, &kv, &store, &rb);
    /* A column before the item's: starting again keeps it. */
    assert_int_equal(etl_row_add(&rb, ETL_T_N, 0, cur_from_str("\"pre\""), cur_from_str("0"), &err),
                     ERR_OK);
    enum err_code rc = etl_ddbjson_item_columns(&rb, &iv, &kv, NULL, &err);
    if (row->columns == NULL) {
        assert_int_equal(rc, ERR_INVALID_INPUT);
        if (strstr(err.msg, row->error) == NULL) {
            fail_msg("message \"%s\" lacks \"%s\"", err.msg, row->error);
        }
        buf_cleanup(&store);
        return;
    }
    assert_int_equal(rc, ERR_OK);
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t n = 0;
    read_back(&rb, &store, &it, &n);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(etl_row_col(&it, &col));
        assert_int_equal(buf_append(&names, col.name.ptr, col.name.len, &err), ERR_OK);
        assert_int_equal(buf_append_str(&names, i + 1 < n ? "," : "", &err), ERR_OK);
    }
    assert_false(etl_row_col(&it, &col));
    assert_false(etl_row_next(&it, &n));
    assert_string_equal(buf_cstr(&names), row->columns);
    buf_cleanup(&store);
    buf_cleanup(&names);
}

int main(void)
{
    enum { N = sizeof(value_rows) / sizeof(value_rows[0]) };
    enum { K = sizeof(keys_rows) / sizeof(keys_rows[0]) };
    struct CMUnitTest tests[N + K + 4];
    for (size_t i = 0; i < K; i++) {
        tests[N + 4 + i] = (struct CMUnitTest){keys_rows[i].name, test_keys_row, NULL, NULL,
                                               (void *)&keys_rows[i]};
    }
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){value_rows[i].name, test_value_row, NULL, NULL,
                                       (void *)&value_rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_depth_limit);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_item_columns);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_item_columns_meta_clash);
    tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_error_path_long_names);
    return _cmocka_run_group_tests("ddbjson", tests, N + K + 4, NULL, NULL);
}
