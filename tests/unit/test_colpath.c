/*
 * test_colpath.c - column paths: parsing bare and quoted names, list indexes, errors with their
 * 1-based columns, the canonical text, and lookups in typed rows: columns by unescaped name,
 * members and elements inside M, L and sets, and NULL for anything missing or misfit.
 */
#include <string.h>

#include "etl_colpath.h"
#include "test_util.h"

static void assert_contains(const char *msg, const char *want)
{
    if (strstr(msg, want) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", msg, want);
    }
}

/* ---- parse ---- */

struct parse_row {
    const char *name;
    const char *text;
    enum err_code code;
    const char *expected; /* canonical text, or the message */
};

static const struct parse_row parse_rows[] = {
    {"column", "pk", ERR_OK, "pk"},
    {"member", "address.city", ERR_OK, "address.city"},
    {"index_member", "items[0].sku", ERR_OK, "items[0].sku"},
    {"quoted_column", "\"Order Id\".total", ERR_OK, "\"Order Id\".total"},
    {"quoted_quote", "\"a\"\"b\"", ERR_OK, "\"a\"\"b\""},
    {"quoted_plain_unquoted", "\"plain\".\"x_1\"", ERR_OK, "plain.x_1"},
    {"quoted_dot", "a.\"b.c\"[12]", ERR_OK, "a.\"b.c\"[12]"},
    {"quoted_utf8", "\"caf\xc3\xa9\"", ERR_OK, "\"caf\xc3\xa9\""},
    {"quoted_digit_start", "\"9lives\"", ERR_OK, "\"9lives\""},
    {"underscore_digits", "_x9", ERR_OK, "_x9"},
    {"nested_indexes", "m[1][0]", ERR_OK, "m[1][0]"},
    {"leading_zeros", "l[007]", ERR_OK, "l[7]"},
    {"empty", "", ERR_INVALID_INPUT, "column 1: expected a column name"},
    {"digit_start", "9a", ERR_INVALID_INPUT, "column 1: expected a column name"},
    {"index_first", "[0]", ERR_INVALID_INPUT, "column 1: expected a column name"},
    {"dot_end", "a.", ERR_INVALID_INPUT, "column 3: expected a name after '.'"},
    {"double_dot", "a..b", ERR_INVALID_INPUT, "column 3: expected a name after '.'"},
    {"bracket_end", "a[", ERR_INVALID_INPUT, "column 3: expected an index (0, 1, ...) after '['"},
    {"bracket_unclosed", "a[1", ERR_INVALID_INPUT, "column 4: expected ']' after the index"},
    {"negative_index", "a[-1]", ERR_INVALID_INPUT,
     "column 3: expected an index (0, 1, ...) after '['"},
    {"index_name", "a[b]", ERR_INVALID_INPUT, "column 3: expected an index (0, 1, ...) after '['"},
    {"huge_index", "a[99999999999]", ERR_INVALID_INPUT, "column 3: index too large"},
    {"unterminated", "\"abc", ERR_INVALID_INPUT, "column 1: unterminated quoted name"},
    {"unterminated_member", "a.\"b", ERR_INVALID_INPUT, "column 3: unterminated quoted name"},
    {"empty_quoted", "\"\"", ERR_INVALID_INPUT, "column 1: empty quoted name"},
    {"space_after", "a b", ERR_INVALID_INPUT, "column 2: unexpected ' ' after the path"},
    {"columns_count_characters", "\"\xc3\xa9\".x y", ERR_INVALID_INPUT,
     "column 6: unexpected ' ' after the path"},
    {"nul_in_name", "\"a\0b\"", ERR_INVALID_INPUT, "column 1: unterminated quoted name"},
};

static void test_parse_row(void **state)
{
    const struct parse_row *row = *state;
    struct etl_colpath p;
    struct err err = ERR_INIT;
    assert_int_equal(etl_colpath_parse(cur_from_str(row->text), &p, &err), row->code);
    if (row->code == ERR_OK) {
        char text[128];
        etl_colpath_text(&p, text, sizeof(text));
        assert_string_equal(text, row->expected);
        /* The canonical text parses back to the same path. */
        struct etl_colpath back;
        assert_int_equal(etl_colpath_parse(cur_from_str(text), &back, &err), ERR_OK);
        assert_int_equal(back.n, p.n);
        for (size_t i = 0; i < p.n; i++) {
            assert_int_equal(back.segs[i].is_index, p.segs[i].is_index);
            if (p.segs[i].is_index) {
                assert_int_equal(back.segs[i].index, p.segs[i].index);
            } else {
                assert_string_equal(back.segs[i].name, p.segs[i].name);
            }
        }
        etl_colpath_cleanup(&back);
    } else {
        assert_string_equal(err.msg, row->expected);
        assert_int_equal(p.n, 0);
        assert_null(p.segs);
    }
    etl_colpath_cleanup(&p);
}

static void test_nul_inside_quotes(void **state)
{
    (void)state;
    struct etl_colpath p;
    struct err err = ERR_INIT;
    assert_int_equal(etl_colpath_parse(cur_make("\"a\0b\"", 5), &p, &err), ERR_INVALID_INPUT);
    assert_string_equal(err.msg, "column 3: a name cannot hold a NUL byte");
}

static void test_segments(void **state)
{
    (void)state;
    struct etl_colpath p;
    struct err err = ERR_INIT;
    assert_int_equal(etl_colpath_parse(cur_from_str("items[2].\"sku \"\"id\"\"\""), &p, &err),
                     ERR_OK);
    assert_int_equal(p.n, 3);
    assert_false(p.segs[0].is_index);
    assert_string_equal(p.segs[0].name, "items");
    assert_int_equal(p.segs[0].name_len, 5);
    assert_true(p.segs[1].is_index);
    assert_int_equal(p.segs[1].index, 2);
    assert_string_equal(p.segs[2].name, "sku \"id\"");
    assert_int_equal(p.segs[2].name_len, 8);
    char small[6];
    etl_colpath_text(&p, small, sizeof(small));
    assert_string_equal(small, "items");
    etl_colpath_text(&p, small, 1);
    assert_string_equal(small, "");
    etl_colpath_cleanup(&p);
    etl_colpath_cleanup(&p);
    etl_colpath_cleanup(NULL);
}

struct prefix_row {
    const char *name;
    const char *text;
    size_t used;
};

static const struct prefix_row prefix_rows[] = {
    {"prefix_comparison", "a.b = 1", 3},
    {"prefix_call", "lower(x)", 5},
    {"prefix_string", "'x'", 0},
    {"prefix_number", "123", 0},
    {"prefix_index_plus", "a[0]+1", 4},
    {"prefix_quoted_then", "\"x y\".z||'a'", 7},
    {"prefix_empty", "", 0},
};

static void test_prefix_row(void **state)
{
    const struct prefix_row *row = *state;
    struct etl_colpath p;
    struct err err = ERR_INIT;
    size_t used = 99;
    assert_int_equal(etl_colpath_parse_prefix(cur_from_str(row->text), &p, &used, &err), ERR_OK);
    assert_int_equal(used, row->used);
    assert_int_equal(p.n > 0, row->used > 0);
    etl_colpath_cleanup(&p);
}

/* ---- lookups in typed rows ---- */

struct col_spec {
    enum etl_type type;
    const char *name;
    const char *value;
};

static const struct col_spec row1[] = {
    {ETL_T_S, "\"pk\"", "\"order#1\""},
    {ETL_T_N, "\"amount\"", "12.50"},
    {ETL_T_M, "\"address\"",
     "{\"city\":\"Z\\u00fcrich\",\"zip\":\"8001\",\"geo\":{\"lat\":47.37}}"},
    {ETL_T_L, "\"items\"",
     "[{\"sku\":\"A1\",\"qty\":2},{\"sku\":\"B2\",\"qty\":1,\"tags\":[\"x\",\"y\"]}]"},
    {ETL_T_SS, "\"tags\"", "[\"a\",\"b\"]"},
    {ETL_T_NS, "\"scores\"", "[1,-2.5]"},
    {ETL_T_S, "\"Order Id\"", "\"x\""},
    {ETL_T_N, "\"caf\\u00e9\"", "1"},
    {ETL_T_BOOL, "\"flag\"", "true"},
    {ETL_T_NULL, "\"nothing\"", "null"},
    {ETL_T_S, "\"_item_op\"", "\"user\""},
    {ETL_T_TIMESTAMP, "\"_ts\"", "\"2026-11-24T07:00:00.000Z\""},
    {ETL_T_M, "\"m\"", "{\"a.b\":1,\"\\\"q\\\"\":2,\"dup\":3,\"dup\":4}"},
    {ETL_T_S, "\"pk\"", "\"a later column of the same name\""},
};

static const struct col_spec row2[] = {
    {ETL_T_S, "\"pk\"", "\"order#2\""},
};

static size_t add_row(struct buf *store, const struct col_spec *cols, size_t n)
{
    struct etl_row_builder rb;
    struct err err = ERR_INIT;
    size_t offset = store->len;
    assert_int_equal(etl_row_begin(&rb, store, &err), ERR_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(etl_row_add(&rb, cols[i].type, 0, cur_from_str(cols[i].name),
                                     cur_from_str(cols[i].value), &err),
                         ERR_OK);
    }
    etl_row_end(&rb);
    return offset;
}

struct get_row {
    const char *name;
    const char *path;
    enum etl_vkind kind;
    const char *text; /* etl_value_text */
};

static const struct get_row get_rows[] = {
    {"get_string", "pk", ETL_V_STRING, "order#1"},
    {"get_number", "amount", ETL_V_NUMBER, "12.50"},
    {"get_member_unescaped", "address.city", ETL_V_STRING, "Z\xc3\xbcrich"},
    {"get_nested_member", "address.geo.lat", ETL_V_NUMBER, "47.37"},
    {"get_map", "address.geo", ETL_V_JSON, "{\"lat\":47.37}"},
    {"get_list_element", "items[0].sku", ETL_V_STRING, "A1"},
    {"get_list_in_list", "items[1].tags[1]", ETL_V_STRING, "y"},
    {"get_list_number", "items[1].qty", ETL_V_NUMBER, "1"},
    {"get_list_object", "items[0]", ETL_V_JSON, "{\"sku\":\"A1\",\"qty\":2}"},
    {"get_list_past_end", "items[2].sku", ETL_V_NULL, ""},
    {"get_string_set", "tags[1]", ETL_V_STRING, "b"},
    {"get_number_set", "scores[1]", ETL_V_NUMBER, "-2.5"},
    {"get_whole_set", "tags", ETL_V_JSON, "[\"a\",\"b\"]"},
    {"get_quoted_column", "\"Order Id\"", ETL_V_STRING, "x"},
    {"get_escaped_column_name", "\"caf\xc3\xa9\"", ETL_V_NUMBER, "1"},
    {"get_bool", "flag", ETL_V_BOOL, "true"},
    {"get_null", "nothing", ETL_V_NULL, ""},
    {"get_timestamp", "_ts", ETL_V_TIMESTAMP, "2026-11-24T07:00:00.000Z"},
    {"get_renamed_column", "_item_op", ETL_V_STRING, "user"},
    {"get_member_with_dot", "m.\"a.b\"", ETL_V_NUMBER, "1"},
    {"get_member_with_quotes", "m.\"\"\"q\"\"\"", ETL_V_NUMBER, "2"},
    {"get_first_duplicate_member", "m.dup", ETL_V_NUMBER, "3"},
    {"get_missing_column", "missing", ETL_V_NULL, ""},
    {"get_case_sensitive", "PK", ETL_V_NULL, ""},
    {"get_missing_member", "address.missing", ETL_V_NULL, ""},
    {"get_index_into_map", "address[0]", ETL_V_NULL, ""},
    {"get_name_into_list", "items.sku", ETL_V_NULL, ""},
    {"get_member_of_scalar", "pk.x", ETL_V_NULL, ""},
    {"get_index_of_number", "amount[0]", ETL_V_NULL, ""},
    {"get_member_of_string_in_map", "address.city.x", ETL_V_NULL, ""},
};

static void test_get_row(void **state)
{
    const struct get_row *row = *state;
    struct buf store = BUF_INIT(0);
    struct etl_arena arena;
    struct err err = ERR_INIT;
    struct etl_colpath p;
    struct etl_value v;
    struct cur text;
    etl_arena_init(&arena, 0);
    size_t first = add_row(&store, row1, sizeof(row1) / sizeof(row1[0]));
    (void)add_row(&store, row2, 1);
    assert_int_equal(etl_colpath_parse(cur_from_str(row->path), &p, &err), ERR_OK);
    assert_int_equal(etl_colpath_get(&p, &store, first, &arena, &v, &err), ERR_OK);
    assert_int_equal(v.kind, row->kind);
    assert_int_equal(etl_value_text(&v, &arena, &text, &err), ERR_OK);
    if (text.len != strlen(row->text) ||
        (text.len > 0 && memcmp(text.ptr, row->text, text.len) != 0)) {
        fail_msg("%s: got \"%.*s\", want \"%s\"", row->path, (int)text.len, (const char *)text.ptr,
                 row->text);
    }
    etl_colpath_cleanup(&p);
    etl_arena_cleanup(&arena);
    buf_cleanup(&store);
}

static void test_get_second_row_and_empty_store(void **state)
{
    (void)state;
    struct buf store = BUF_INIT(0);
    struct etl_arena arena;
    struct err err = ERR_INIT;
    struct etl_colpath p;
    struct etl_value v;
    etl_arena_init(&arena, 0);
    assert_int_equal(etl_colpath_parse(cur_from_str("pk"), &p, &err), ERR_OK);
    /* An empty store has no row: NULL. */
    assert_int_equal(etl_colpath_get(&p, &store, 0, &arena, &v, &err), ERR_OK);
    assert_int_equal(v.kind, ETL_V_NULL);
    (void)add_row(&store, row1, sizeof(row1) / sizeof(row1[0]));
    size_t second = add_row(&store, row2, 1);
    assert_int_equal(etl_colpath_get(&p, &store, second, &arena, &v, &err), ERR_OK);
    assert_int_equal(v.kind, ETL_V_STRING);
    assert_true(v.s.len == 7 && memcmp(v.s.ptr, "order#2", 7) == 0);
    /* A typed column whose value does not fit its type is the row's error. */
    struct buf bad = BUF_INIT(0);
    const struct col_spec bad_cols[] = {{ETL_T_BOOL, "\"pk\"", "1"}};
    (void)add_row(&bad, bad_cols, 1);
    assert_int_equal(etl_colpath_get(&p, &bad, 0, &arena, &v, &err), ERR_INVALID_INPUT);
    assert_contains(err.msg, "of type BOOL");
    buf_cleanup(&bad);
    etl_colpath_cleanup(&p);
    etl_arena_cleanup(&arena);
    buf_cleanup(&store);
}

#define ADD_ROWS(rows, fn)                                                                         \
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {                                  \
        tests[n++] = (struct CMUnitTest){rows[i].name, fn, NULL, NULL, (void *)&rows[i]};          \
    }

int main(void)
{
    static struct CMUnitTest tests[128];
    size_t n = 0;
    ADD_ROWS(parse_rows, test_parse_row);
    ADD_ROWS(prefix_rows, test_prefix_row);
    ADD_ROWS(get_rows, test_get_row);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_nul_inside_quotes);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_segments);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_get_second_row_and_empty_store);
    return _cmocka_run_group_tests("colpath", tests, n, NULL, NULL);
}
