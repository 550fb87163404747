/*
 * test_expr.c - the expression language end to end, on a typed row: every function with its
 * Trino edge cases (1-based substr with negative starts, split_part past the end, concat with
 * NULL, code points not bytes), operators with SQL's NULL semantics and precedence, exact
 * numbers, LIKE with escapes, regexes, times with offsets, casts and TRY_CAST, and compile and
 * run-time errors with their columns.
 */
#include <stdio.h>
#include <string.h>

#include "etl_colpath.h"
#include "etl_expr.h"
#include "test_util.h"

/* ---- the row every expression reads ---- */

struct col_spec {
    enum etl_type type;
    const char *name;
    const char *value;
};

static const struct col_spec row_cols[] = {
    {ETL_T_S, "\"pk\"", "\"order#1\""},
    {ETL_T_S, "\"name\"", "\"\\t Z\\u00fcrich Caf\\u00e9 \\u3000\""},
    {ETL_T_S, "\"word\"", "\"h\xc3\xa9llo\""},
    {ETL_T_S, "\"emoji\"",
     "\"a\xf0\x9f\x98\x80"
     "b\""},
    {ETL_T_N, "\"amount\"", "12.50"},
    {ETL_T_N, "\"big\"", "12345678901234567890123456789012345678"},
    {ETL_T_N, "\"neg\"", "-7"},
    {ETL_T_N, "\"zero\"", "0"},
    {ETL_T_N, "\"qty\"", "3"},
    {ETL_T_N, "\"ratio\"", "0.1"},
    {ETL_T_BOOL, "\"flag\"", "true"},
    {ETL_T_BOOL, "\"off\"", "false"},
    {ETL_T_NULL, "\"nothing\"", "null"},
    {ETL_T_M, "\"address\"",
     "{\"city\":\"Z\\u00fcrich\",\"zip\":\"8001\",\"lines\":[\"a\",\"b\"]}"},
    {ETL_T_L, "\"items\"", "[{\"sku\":\"A1\",\"price\":10.5},{\"sku\":\"B2\",\"price\":2}]"},
    {ETL_T_SS, "\"tags\"", "[\"x\",\"y\"]"},
    {ETL_T_TIMESTAMP, "\"_ts\"", "\"2026-11-24T07:05:09.123Z\""},
    {ETL_T_S, "\"created\"", "\"2026-11-24T02:00:00-05:00\""},
    {ETL_T_S, "\"day\"", "\"2026-11-24\""},
    {ETL_T_N, "\"epoch\"", "1795503600"},
    {ETL_T_S, "\"csv\"", "\"a,b,,d\""},
    {ETL_T_S, "\"path\"", "\"a.b*c\""},
    {ETL_T_S, "\"pct\"", "\"100%_done\""},
    {ETL_T_S, "\"date\"", "\"2026-01-01\""},
    {ETL_T_S, "\"Order Id\"", "\"X-1\""},
    {ETL_T_S, "\"in\"", "\"kw\""},
    {ETL_T_B, "\"blob\"", "\"AAEqQQ==\""},
    {ETL_T_S, "\"empty\"", "\"\""},
    {ETL_T_S, "\"bang\"", "\"!\""},
};

struct row_ctx {
    struct buf store;
    struct etl_arena arena;
};

static enum err_code
lookup(void *ctx, const struct etl_colpath *path, struct etl_value *out, struct err *err)
{
    struct row_ctx *r = ctx;
    return etl_colpath_get(path, &r->store, 0, &r->arena, out, err);
}

static void row_init(struct row_ctx *r)
{
    struct etl_row_builder rb;
    struct err err = ERR_INIT;
    buf_init(&r->store, 0);
    etl_arena_init(&r->arena, 0);
    assert_int_equal(etl_row_begin(&rb, &r->store, &err), ERR_OK);
    for (size_t i = 0; i < sizeof(row_cols) / sizeof(row_cols[0]); i++) {
        assert_int_equal(etl_row_add(&rb, row_cols[i].type, 0, cur_from_str(row_cols[i].name),
                                     cur_from_str(row_cols[i].value), &err),
                         ERR_OK);
    }
    etl_row_end(&rb);
}

static void row_cleanup(struct row_ctx *r)
{
    buf_cleanup(&r->store);
    etl_arena_cleanup(&r->arena);
}

/* ---- rows: an expression, and its value (kind and text) or its error ---- */

struct expr_row {
    const char *name;
    const char *expr;
    enum err_code code;
    enum etl_vkind kind;
    const char *text; /* etl_value_text of the result, or a fragment of the error */
};

#define STR  ETL_V_STRING
#define NUM  ETL_V_NUMBER
#define DBL  ETL_V_DOUBLE
#define BOOL ETL_V_BOOL
#define NUL  ETL_V_NULL
#define TS   ETL_V_TIMESTAMP
#define DT   ETL_V_DATE
#define JSN  ETL_V_JSON
#define V(name, expr, kind, text)                                                                  \
    {                                                                                              \
        name, expr, ERR_OK, kind, text                                                             \
    }
#define E(name, expr, msg)                                                                         \
    {                                                                                              \
        name, expr, ERR_INVALID_INPUT, NUL, msg                                                    \
    }

static const struct expr_row value_rows[] = {
    /* literals */
    V("lit_string", "'it''s'", STR, "it's"),
    V("lit_empty_string", "''", STR, ""),
    V("lit_utf8", "'\xc3\xa9'", STR, "\xc3\xa9"),
    V("lit_int", "12", NUM, "12"),
    V("lit_fraction", ".5", NUM, "0.5"),
    V("lit_leading_zeros", "007", NUM, "7"),
    V("lit_exponent_exact", "1e3", NUM, "1e3"),
    V("lit_negative", "-1.5", NUM, "-1.5"),
    V("lit_38_digits",
      "12345678901234567890123456789012345678",
      NUM,
      "12345678901234567890123456789012345678"),
    V("lit_true", "TRUE", BOOL, "true"),
    V("lit_false_lower", "false", BOOL, "false"),
    V("lit_null", "null", NUL, ""),
    V("lit_date", "DATE '2026-11-24'", DT, "2026-11-24"),
    V("lit_timestamp", "TIMESTAMP '2026-11-24 07:00:00.123'", TS, "2026-11-24T07:00:00.123Z"),
    V("lit_timestamp_date_only", "timestamp '2026-11-24'", TS, "2026-11-24T00:00:00.000Z"),
    V("lit_timestamp_offset",
      "TIMESTAMP '2026-11-24T09:00:00+02:00'",
      TS,
      "2026-11-24T07:00:00.000Z"),
    /* paths */
    V("path_column", "pk", STR, "order#1"),
    V("path_member", "address.city", STR, "Z\xc3\xbcrich"),
    V("path_list_in_map", "address.lines[1]", STR, "b"),
    V("path_member_in_list", "items[1].sku", STR, "B2"),
    V("path_number_in_list", "items[0].price", NUM, "10.5"),
    V("path_past_end", "items[5].sku", NUL, ""),
    V("path_missing", "missing", NUL, ""),
    V("path_quoted", "\"Order Id\"", STR, "X-1"),
    V("path_keyword_quoted", "\"in\"", STR, "kw"),
    V("path_named_date", "date", STR, "2026-01-01"),
    V("path_named_date_compared", "date = '2026-01-01'", BOOL, "true"),
    V("path_set_element", "tags[0]", STR, "x"),
    V("path_map", "address.lines", JSN, "[\"a\",\"b\"]"),
    V("path_binary", "blob", ETL_V_BINARY, "AAEqQQ=="),
    /* comparisons: exact numbers, strings, times, NULL and incomparable kinds */
    V("cmp_scale", "amount = 12.5", BOOL, "true"),
    V("cmp_same_text", "amount = 12.50", BOOL, "true"),
    V("cmp_36_digits", "amount > 12.499999999999999999999999999999999", BOOL, "true"),
    V("cmp_38_equal", "big = 12345678901234567890123456789012345678", BOOL, "true"),
    V("cmp_38_greater", "big > 12345678901234567890123456789012345677", BOOL, "true"),
    V("cmp_38_not_equal", "big = 12345678901234567890123456789012345679", BOOL, "false"),
    V("cmp_number_string_unknown", "amount = '12.50'", NUL, ""),
    V("cmp_ne", "amount <> 1", BOOL, "true"),
    V("cmp_ne_bang", "amount != 12.5", BOOL, "false"),
    V("cmp_le", "qty <= 3", BOOL, "true"),
    V("cmp_ge", "qty >= 4", BOOL, "false"),
    V("cmp_string", "pk = 'order#1'", BOOL, "true"),
    V("cmp_string_order", "pk < 'p'", BOOL, "true"),
    V("cmp_null_null", "nothing = nothing", NUL, ""),
    V("cmp_null_number", "nothing = 1", NUL, ""),
    V("cmp_missing", "missing <> 1", NUL, ""),
    V("cmp_timestamp", "_ts > TIMESTAMP '2026-11-24 07:00:00'", BOOL, "true"),
    V("cmp_timestamp_date", "_ts > DATE '2026-11-24'", BOOL, "true"),
    V("cmp_timestamp_string", "_ts >= '2026-11-24T07:05:09.123Z'", BOOL, "true"),
    V("cmp_string_date", "day = DATE '2026-11-24'", BOOL, "true"),
    V("cmp_string_with_offset", "created = TIMESTAMP '2026-11-24 07:00:00'", BOOL, "true"),
    V("cmp_json_equal", "tags = tags", BOOL, "true"),
    V("cmp_json_order_unknown", "tags < tags", NUL, ""),
    V("cmp_bool", "off < flag", BOOL, "true"),
    V("cmp_bool_literal", "flag = TRUE", BOOL, "true"),
    V("cmp_number_double", "amount = CAST(12.5 AS double)", BOOL, "true"),
    V("exact_tenths", "ratio + 0.2 = 0.3", BOOL, "true"),
    V("exact_product", "ratio * 3 = 0.3", BOOL, "true"),
    V("double_tenths", "CAST(ratio AS double) + 0.2 = 0.3", BOOL, "false"),
    /* IN */
    V("in_found", "pk IN ('a', 'order#1')", BOOL, "true"),
    V("in_not_found", "pk IN ('a', 'b')", BOOL, "false"),
    V("in_null_item", "pk IN ('a', NULL)", NUL, ""),
    V("in_found_with_null", "pk IN ('order#1', NULL)", BOOL, "true"),
    V("not_in_null_item", "pk NOT IN ('a', NULL)", NUL, ""),
    V("not_in", "pk NOT IN ('a', 'b')", BOOL, "true"),
    V("not_in_found", "pk not in ('order#1')", BOOL, "false"),
    V("in_null_value", "nothing IN (1, 2)", NUL, ""),
    V("in_exact", "amount IN (12.5, 13)", BOOL, "true"),
    V("in_incomparable", "amount IN ('12.50')", NUL, ""),
    V("in_expressions", "qty IN (1, 1 + 2)", BOOL, "true"),
    /* BETWEEN, with Trino's NULL table */
    V("between", "amount BETWEEN 10 AND 13", BOOL, "true"),
    V("between_no", "amount BETWEEN 13 AND 20", BOOL, "false"),
    V("not_between", "amount NOT BETWEEN 13 AND 20", BOOL, "true"),
    V("between_null_value", "nothing BETWEEN 1 AND 2", NUL, ""),
    V("between_null_low", "2 BETWEEN NULL AND 6", NUL, ""),
    V("between_null_high_false", "2 BETWEEN 3 AND NULL", BOOL, "false"),
    V("between_null_low_false", "8 BETWEEN NULL AND 6", BOOL, "false"),
    V("between_strings", "'Paul' BETWEEN 'John' AND 'Ringo'", BOOL, "true"),
    V("between_then_and", "qty BETWEEN 1 AND 3 AND flag", BOOL, "true"),
    /* LIKE */
    V("like_prefix", "pk LIKE 'order%'", BOOL, "true"),
    V("like_underscore", "pk LIKE 'order_1'", BOOL, "true"),
    V("like_underscore_short", "pk LIKE 'order_'", BOOL, "false"),
    V("like_contains", "pk LIKE '%#%'", BOOL, "true"),
    V("like_code_point", "word LIKE 'h_llo'", BOOL, "true"),
    V("like_four_byte", "emoji LIKE 'a_b'", BOOL, "true"),
    V("like_escape_backslash", "pct LIKE '100\\%\\_done' ESCAPE '\\'", BOOL, "true"),
    V("like_escape_bang", "pct LIKE '100!%!_done' ESCAPE '!'", BOOL, "true"),
    V("like_escape_literal_percent_middle", "pct LIKE '%!%%' ESCAPE '!'", BOOL, "true"),
    V("like_escaped_escape", "'a\\b' LIKE 'a\\\\b' ESCAPE '\\'", BOOL, "true"),
    V("like_escape_from_column", "'!x' LIKE '!!x' ESCAPE bang", BOOL, "true"),
    V("like_no_regex_meaning", "path LIKE 'a.b*c'", BOOL, "true"),
    V("like_case_sensitive", "pk LIKE 'ORDER%'", BOOL, "false"),
    V("not_like", "pk NOT LIKE 'x%'", BOOL, "true"),
    V("like_null_value", "nothing LIKE 'a'", NUL, ""),
    V("like_null_pattern", "pk LIKE nothing", NUL, ""),
    V("like_empty_empty", "empty LIKE ''", BOOL, "true"),
    V("like_empty_percent", "empty LIKE '%'", BOOL, "true"),
    V("like_empty_underscore", "empty LIKE '_'", BOOL, "false"),
    V("like_backtracking", "'aaaaaaaaab' LIKE '%a%a%a%b'", BOOL, "true"),
    V("like_pattern_from_column", "'100%_done' LIKE pct", BOOL, "true"),
    /* IS NULL */
    V("is_null", "nothing IS NULL", BOOL, "true"),
    V("is_null_missing", "missing IS NULL", BOOL, "true"),
    V("is_null_member", "address.missing IS NULL", BOOL, "true"),
    V("is_null_no", "pk IS NULL", BOOL, "false"),
    V("is_not_null", "pk IS NOT NULL", BOOL, "true"),
    V("is_not_null_null", "items[9] is not null", BOOL, "false"),
    /* three-valued logic and precedence */
    V("and", "flag AND off", BOOL, "false"),
    V("or", "flag OR off", BOOL, "true"),
    V("and_null", "flag AND nothing", NUL, ""),
    V("and_null_false", "off AND nothing", BOOL, "false"),
    V("or_null_true", "flag OR nothing", BOOL, "true"),
    V("or_null", "off OR nothing", NUL, ""),
    V("not_null", "NOT nothing", NUL, ""),
    V("not", "NOT off", BOOL, "true"),
    V("not_not", "NOT NOT flag", BOOL, "true"),
    V("and_chain", "flag AND NOT off AND pk = 'order#1'", BOOL, "true"),
    V("short_circuit", "off AND CAST(pk AS bigint) = 1", BOOL, "false"),
    V("and_before_or", "off AND off OR flag", BOOL, "true"),
    V("and_before_or_2", "TRUE OR FALSE AND FALSE", BOOL, "true"),
    V("not_before_and", "NOT off AND off", BOOL, "false"),
    V("not_over_comparison", "NOT qty = 4", BOOL, "true"),
    V("keywords_any_case", "pk like 'order%' And flag Is Not Null", BOOL, "true"),
    V("function_any_case", "LOWER(pk) = 'order#1'", BOOL, "true"),
    /* arithmetic: exact on numbers, double with doubles and for '/' */
    V("add", "amount + 1", NUM, "13.5"),
    V("mul", "amount * qty", NUM, "37.5"),
    V("sub", "amount - 20", NUM, "-7.5"),
    V("add_38_digits", "big + 1", NUM, "12345678901234567890123456789012345679"),
    V("mul_shift", "big * 10", NUM, "123456789012345678901234567890123456780"),
    V("mul_neg", "neg * neg", NUM, "49"),
    V("add_exponent", "1e3 + 1", NUM, "1001"),
    V("precedence_mul", "2 + 3 * 4", NUM, "14"),
    V("parentheses", "(2 + 3) * 4", NUM, "20"),
    V("left_assoc", "10 - 2 - 3", NUM, "5"),
    V("unary_in_product", "2 * -3", NUM, "-6"),
    V("div_double", "amount / 4", DBL, "3.125"),
    V("div_third", "1 / 3", DBL, "0.3333333333333333"),
    V("add_double", "amount + CAST(1 AS double)", DBL, "13.5"),
    V("neg_column", "-amount", NUM, "-12.50"),
    V("neg_neg_column", "-neg", NUM, "7"),
    V("neg_literal_twice", "- -1", NUM, "1"),
    V("neg_expression", "-(1 + 2)", NUM, "-3"),
    V("neg_zero", "-zero", NUM, "0"),
    V("neg_double", "-CAST(2 AS double)", DBL, "-2"),
    V("unary_plus", "+qty", NUM, "3"),
    V("arith_null", "nothing + 1", NUL, ""),
    V("concat_precedence", "'x' || 1 + 2", STR, "x3"),
    V("huge_result_scientific", "1e60 * 1e60", NUM, "1E120"),
    /* || */
    V("concat_op", "'a' || 'b'", STR, "ab"),
    V("concat_op_null", "pk || NULL", NUL, ""),
    V("concat_op_number", "'n=' || amount", STR, "n=12.50"),
    V("concat_op_bool", "flag || 'x'", STR, "truex"),
    V("concat_op_timestamp", "_ts || ''", STR, "2026-11-24T07:05:09.123Z"),
    V("concat_op_many", "'1' || '2' || '3' || '4' || '5' || '6'", STR, "123456"),
    /* string functions */
    V("lower_latin1",
      "lower('\xc3\x89"
      "COLE')",
      STR,
      "\xc3\xa9"
      "cole"),
    V("lower_unchanged", "lower(pk)", STR, "order#1"),
    V("upper_utf8", "upper(word)", STR, "H\xc3\x89LLO"),
    V("upper_sharp_s_stays",
      "upper('stra\xc3\x9f"
      "e')",
      STR,
      "STRA\xc3\x9f"
      "E"),
    V("lower_greek", "lower('\xce\xa3\xce\x91\xce\xa3')", STR, "\xcf\x83\xce\xb1\xcf\x83"),
    V("lower_null", "lower(nothing)", NUL, ""),
    V("lower_missing", "lower(missing)", NUL, ""),
    V("upper_number_text", "upper(amount)", STR, "12.50"),
    V("lower_member", "lower(address.city)", STR, "z\xc3\xbcrich"),
    V("length_code_points", "length(word)", NUM, "5"),
    V("length_four_byte", "length(emoji)", NUM, "3"),
    V("length_empty", "length(empty)", NUM, "0"),
    V("length_null", "length(nothing)", NUL, ""),
    V("trim_java_whitespace", "trim(name)", STR, "Z\xc3\xbcrich Caf\xc3\xa9"),
    V("ltrim", "ltrim(name)", STR, "Z\xc3\xbcrich Caf\xc3\xa9 \xe3\x80\x80"),
    V("rtrim", "rtrim(name)", STR, "\t Z\xc3\xbcrich Caf\xc3\xa9"),
    V("trim_nbsp_kept", "trim('\xc2\xa0x ')", STR, "\xc2\xa0x"),
    V("trim_all_spaces", "trim('   ')", STR, ""),
    V("substr_from", "substr('hello', 2)", STR, "ello"),
    V("substr_length", "substr('hello', 2, 3)", STR, "ell"),
    V("substr_negative", "substr('hello', -3)", STR, "llo"),
    V("substr_negative_length", "substr('hello', -3, 2)", STR, "ll"),
    V("substr_negative_past_end", "substr('hello', -2, 5)", STR, "lo"),
    V("substr_zero", "substr('hello', 0)", STR, ""),
    V("substr_past_end", "substr('hello', 6)", STR, ""),
    V("substr_last", "substr('hello', 5)", STR, "o"),
    V("substr_negative_all", "substr('hello', -5)", STR, "hello"),
    V("substr_negative_before", "substr('hello', -6)", STR, ""),
    V("substr_length_zero", "substr('hello', 2, 0)", STR, ""),
    V("substr_length_negative", "substr('hello', 2, -1)", STR, ""),
    V("substr_length_long", "substr('hello', 3, 100)", STR, "llo"),
    V("substr_code_points", "substr(word, 2, 3)", STR, "\xc3\xa9ll"),
    V("substr_four_byte", "substr(emoji, 2, 1)", STR, "\xf0\x9f\x98\x80"),
    V("substr_four_byte_negative", "substr(emoji, -1)", STR, "b"),
    V("substr_empty", "substr('', 1)", STR, ""),
    V("substr_null", "substr(nothing, 1)", NUL, ""),
    V("substr_null_start", "substr(pk, NULL)", NUL, ""),
    V("substring_alias", "substring('hello', 1, 1)", STR, "h"),
    V("substr_double_start", "substr('hello', CAST(2 AS double))", STR, "ello"),
    V("split_part_1", "split_part(csv, ',', 1)", STR, "a"),
    V("split_part_2", "split_part(csv, ',', 2)", STR, "b"),
    V("split_part_empty_field", "split_part(csv, ',', 3)", STR, ""),
    V("split_part_last", "split_part(csv, ',', 4)", STR, "d"),
    V("split_part_past_end", "split_part(csv, ',', 5)", NUL, ""),
    V("split_part_no_delimiter", "split_part('a', ',', 1)", STR, "a"),
    V("split_part_empty_string", "split_part('', ',', 1)", STR, ""),
    V("split_part_empty_string_2", "split_part('', ',', 2)", NUL, ""),
    V("split_part_code_points", "split_part(word, '', 2)", STR, "\xc3\xa9"),
    V("split_part_code_points_past", "split_part(word, '', 6)", NUL, ""),
    V("split_part_long_delimiter", "split_part('a::b', '::', 2)", STR, "b"),
    V("split_part_null", "split_part(csv, nothing, 1)", NUL, ""),
    V("concat", "concat('a', 'b', 'c')", STR, "abc"),
    V("concat_kinds", "concat(pk, '-', amount)", STR, "order#1-12.50"),
    V("concat_null", "concat('a', NULL)", NUL, ""),
    V("concat_null_column", "concat('a', nothing)", NUL, ""),
    V("concat_utf8",
      "concat(word, emoji)",
      STR,
      "h\xc3\xa9lloa\xf0\x9f\x98\x80"
      "b"),
    V("concat_six", "concat('1', '2', '3', '4', '5', '6')", STR, "123456"),
    V("replace", "replace('hello', 'l', 'L')", STR, "heLLo"),
    V("replace_remove", "replace('hello', 'l')", STR, "heo"),
    V("replace_non_overlapping", "replace('aaa', 'aa', 'b')", STR, "ba"),
    V("replace_empty_search", "replace('abc', '', '-')", STR, "-a-b-c-"),
    V("replace_empty_search_utf8", "replace(word, '', '.')", STR, ".h.\xc3\xa9.l.l.o."),
    V("replace_empty_both", "replace('', '', 'x')", STR, "x"),
    V("replace_utf8", "replace(word, '\xc3\xa9', 'e')", STR, "hello"),
    V("replace_none", "replace('abc', 'x', 'y')", STR, "abc"),
    V("starts_with", "starts_with(pk, 'order')", BOOL, "true"),
    V("starts_with_empty", "starts_with(pk, '')", BOOL, "true"),
    V("starts_with_longer", "starts_with('a', 'ab')", BOOL, "false"),
    V("starts_with_null", "starts_with(nothing, 'a')", NUL, ""),
    V("ends_with", "ends_with(pk, '#1')", BOOL, "true"),
    V("ends_with_utf8", "ends_with(word, 'llo')", BOOL, "true"),
    V("ends_with_longer", "ends_with('a', 'ba')", BOOL, "false"),
    V("strpos", "strpos(word, 'l')", NUM, "3"),
    V("strpos_missing", "strpos(word, 'x')", NUM, "0"),
    V("strpos_empty", "strpos(word, '')", NUM, "1"),
    V("strpos_after_four_byte", "strpos(emoji, 'b')", NUM, "3"),
    V("strpos_first", "strpos('abcabc', 'c')", NUM, "3"),
    /* regular expressions */
    V("regexp_like_trino", "regexp_like('1a 2b 14m', '\\d+b')", BOOL, "true"),
    V("regexp_like_anchored", "regexp_like(pk, '^order#\\d$')", BOOL, "true"),
    V("regexp_like_not_anchored_no", "regexp_like(pk, '^rder')", BOOL, "false"),
    V("regexp_like_contains", "regexp_like(pk, 'der')", BOOL, "true"),
    V("regexp_like_dot_code_point", "regexp_like(word, '^h.llo$')", BOOL, "true"),
    V("regexp_like_escapes", "regexp_like(path, '^a\\.b\\*c$')", BOOL, "true"),
    V("regexp_like_icase", "regexp_like(pk, '(?i)^ORDER')", BOOL, "true"),
    V("regexp_like_quote_in_literal", "regexp_like('it''s', '^it''s$')", BOOL, "true"),
    V("regexp_like_null", "regexp_like(nothing, 'a')", NUL, ""),
    V("regexp_like_pattern_from_column", "regexp_like('xa.bbbcx', path)", BOOL, "true"),
    V("regexp_extract_trino", "regexp_extract('1a 2b 14m', '\\d+')", STR, "1"),
    V("regexp_extract_group", "regexp_extract('1a 2b 14m', '(\\d+)([a-z]+)', 2)", STR, "a"),
    V("regexp_extract_no_match", "regexp_extract(pk, 'x')", NUL, ""),
    V("regexp_extract_group_absent", "regexp_extract('ab', '(a)|(b)', 2)", NUL, ""),
    V("regexp_extract_code_point", "regexp_extract(word, 'h(.)l', 1)", STR, "\xc3\xa9"),
    V("regexp_extract_dynamic", "regexp_extract('xa.bcd', path || '?', 0)", STR, "a.bc"),
    /* conditionals */
    V("coalesce", "coalesce(nothing, missing, pk)", STR, "order#1"),
    V("coalesce_all_null", "coalesce(nothing)", NUL, ""),
    V("coalesce_lazy", "coalesce(1, CAST(pk AS bigint))", NUM, "1"),
    V("nullif_equal_exact", "nullif(amount, 12.5)", NUL, ""),
    V("nullif_different", "nullif(amount, 1)", NUM, "12.50"),
    V("nullif_null", "nullif(nothing, 1)", NUL, ""),
    V("nullif_incomparable", "nullif(pk, 1)", STR, "order#1"),
    V("if_true", "if(flag, 'y', 'n')", STR, "y"),
    V("if_false", "if(off, 'y', 'n')", STR, "n"),
    V("if_null_condition", "if(nothing, 'y', 'n')", STR, "n"),
    V("if_no_else", "if(off, 'y')", NUL, ""),
    V("if_lazy", "if(flag, 'y', CAST(pk AS bigint))", STR, "y"),
    /* times */
    V("from_unixtime", "from_unixtime(epoch)", TS, "2026-11-24T07:00:00.000Z"),
    V("from_unixtime_round_half_up",
      "from_unixtime(1795503600.1235)",
      TS,
      "2026-11-24T07:00:00.124Z"),
    V("from_unixtime_negative", "from_unixtime(-1.5)", TS, "1969-12-31T23:59:58.500Z"),
    V("from_unixtime_negative_half", "from_unixtime(-0.0015)", TS, "1969-12-31T23:59:59.999Z"),
    V("from_unixtime_negative_more", "from_unixtime(-0.0016)", TS, "1969-12-31T23:59:59.998Z"),
    V("from_unixtime_half_ms", "from_unixtime(0.0005)", TS, "1970-01-01T00:00:00.001Z"),
    V("from_unixtime_double", "from_unixtime(CAST(1.5 AS double))", TS, "1970-01-01T00:00:01.500Z"),
    V("to_unixtime", "to_unixtime(_ts)", DBL, "1795503909.123"),
    V("to_unixtime_date", "to_unixtime(DATE '1970-01-02')", DBL, "86400"),
    V("to_unixtime_string", "to_unixtime(created)", DBL, "1795503600"),
    V("date_format", "date_format(_ts, '%Y-%m-%d %H:%i:%s.%f')", STR, "2026-11-24 07:05:09.123000"),
    V("date_format_names", "date_format(created, '%W %M %e')", STR, "Tuesday November 24"),
    V("date_format_day_of_year", "date_format(day, '%j')", STR, "328"),
    V("date_format_12_hour",
      "date_format(TIMESTAMP '2026-11-24 19:00:00', '%r')",
      STR,
      "07:00:00 PM"),
    V("date_format_null", "date_format(nothing, '%Y')", NUL, ""),
    V("date_format_dynamic_format", "date_format(_ts, pct)", STR, "100_done"),
    V("to_iso8601", "to_iso8601(_ts)", STR, "2026-11-24T07:05:09.123Z"),
    V("to_iso8601_date", "to_iso8601(DATE '2026-11-24')", STR, "2026-11-24"),
    V("to_iso8601_string_time", "to_iso8601(created)", STR, "2026-11-24T07:00:00.000Z"),
    V("to_iso8601_string_date", "to_iso8601(day)", STR, "2026-11-24"),
    V("date_of_timestamp", "date(_ts)", DT, "2026-11-24"),
    V("date_of_offset_string", "date('2026-11-24T23:00:00-05:00')", DT, "2026-11-25"),
    V("date_of_epoch", "date(epoch)", DT, "2026-11-24"),
    V("abs_negative", "abs(neg)", NUM, "7"),
    V("abs_positive", "abs(amount)", NUM, "12.50"),
    V("abs_literal", "abs(-1.5e0)", NUM, "1.5e0"),
    V("abs_double", "abs(CAST(-2.5 AS double))", DBL, "2.5"),
    /* casts */
    V("cast_decimal_scale", "CAST(amount AS decimal(10,1))", NUM, "12.5"),
    V("cast_decimal_pad", "CAST(amount AS DECIMAL(10, 3))", NUM, "12.500"),
    V("cast_int_from_string", "CAST('12' AS int)", NUM, "12"),
    V("cast_decimal_38",
      "CAST(big AS decimal(38,0))",
      NUM,
      "12345678901234567890123456789012345678"),
    V("cast_bool_to_int", "CAST(flag AS int)", NUM, "1"),
    V("cast_string_to_date", "CAST(day AS date)", DT, "2026-11-24"),
    V("cast_offset_to_timestamp", "CAST(created AS timestamp)", TS, "2026-11-24T07:00:00.000Z"),
    V("cast_set_to_array", "CAST(tags AS array<string>)", JSN, "[\"x\",\"y\"]"),
    V("cast_to_string", "CAST(amount AS varchar)", STR, "12.50"),
    V("cast_to_double", "CAST(amount AS double)", DBL, "12.5"),
    V("try_cast_fails", "TRY_CAST(pk AS bigint)", NUL, ""),
    V("try_cast_null", "try_cast(nothing AS bigint)", NUL, ""),
    V("try_cast_works", "TRY_CAST('7' AS tinyint)", NUM, "7"),
    V("try_cast_range", "TRY_CAST(300 AS tinyint)", NUL, ""),
    V("cast_nested", "CAST(CAST(amount AS varchar) AS decimal(4,2))", NUM, "12.50"),
};

static const struct expr_row error_rows[] = {
    /* compile errors: the 1-based column and what was expected */
    E("err_unclosed_args",
      "substr(pk, 1",
      "column 13: expected ')' after the arguments of substr, found the end"),
    E("err_args_separator",
      "substr(pk 1)",
      "column 11: expected ')' after the arguments of substr, found the number 1"),
    E("err_arity", "substr(pk)", "column 1: substr takes 2 or 3 arguments, got 1"),
    E("err_arity_one", "lower()", "column 1: lower takes 1 argument, got 0"),
    E("err_arity_many", "concat('a')", "column 1: concat takes 2 to 64 arguments, got 1"),
    E("err_arity_if", "x = if(a)", "column 5: if takes 2 or 3 arguments, got 1"),
    E("err_unknown_function", "foo(1)", "column 1: unknown function \"foo\""),
    E("err_missing_operand", "a = ", "column 5: expected an expression, found the end"),
    E("err_chained_comparison",
      "a = b = c",
      "column 7: comparisons do not chain: join them with AND"),
    E("err_unterminated_string", "pk = 'abc", "column 6: unterminated string literal"),
    E("err_unterminated_name", "\"abc = 1", "column 1: unterminated quoted name"),
    E("err_and_end", "a AND", "column 6: expected an expression, found the end"),
    E("err_paren", "(a = 1", "column 7: expected ')' to close the '(' of column 1, found the end"),
    E("err_in_paren", "a IN 1", "column 6: expected '(' after IN, found the number 1"),
    E("err_in_list",
      "a IN (1 2)",
      "column 9: expected ',' or ')' in the IN list, found the number 2"),
    E("err_between_and",
      "a BETWEEN 1 OR 2",
      "column 13: expected AND in BETWEEN, found the keyword OR"),
    E("err_is", "a IS 1", "column 6: expected NULL or NOT NULL after IS, found the number 1"),
    E("err_not_what", "a NOT = 1", "column 7: expected IN, BETWEEN or LIKE after NOT, found '='"),
    E("err_cast_as", "CAST(a bigint)", "column 8: expected AS in CAST, found bigint"),
    E("err_cast_type", "CAST(a AS int64)", "column 11: unknown type \"int64\" (expected one of"),
    E("err_cast_unclosed",
      "CAST(a AS decimal(10,2)",
      "column 11: expected ')' after the type in CAST"),
    E("err_cast_bad_precision",
      "x = CAST(a AS decimal(40,2))",
      "column 15: type \"decimal(40,2)\": decimal precision must be 1 to 38"),
    E("err_plus_end", "1 +", "column 4: expected an expression, found the end"),
    E("err_path", "x.=1", "column 3: expected a name after '.'"),
    E("err_path_index", "a = items[x]", "column 11: expected an index (0, 1, ...) after '['"),
    E("err_keyword_as_operand", "AND", "column 1: expected an expression, found the keyword AND"),
    E("err_bang", "a ! b", "column 3: expected an operator or the end, found '!'"),
    E("err_trailing", "a = 1 b", "column 7: expected an operator or the end, found b"),
    E("err_non_ascii", "\xc3\xa9 = 1", "column 1: expected an expression, found '\xc3\xa9'"),
    E("err_columns_count_characters",
      "'\xc3\xa9' = x y",
      "column 9: expected an operator or the end, found y"),
    E("err_number_digits",
      "123456789012345678901234567890123456789",
      "column 1: number \"123456789012345678901234567890123456789\" has 39 significant digits (max 38)"),
    E("err_date_literal",
      "DATE '2026-13-01'",
      "column 1: DATE literal must be 'YYYY-MM-DD': the month is out of range"),
    E("err_date_literal_time",
      "DATE '2026-11-24 07:00'",
      "column 1: DATE literal must be 'YYYY-MM-DD': a time is not a date"),
    E("err_timestamp_literal",
      "TIMESTAMP 'soon'",
      "column 1: TIMESTAMP literal is not an ISO-8601 time: not an ISO-8601 date or time"),
    E("err_regex_lookahead",
      "regexp_like(pk, '(?=a)')",
      "column 18: regexp_like: regex: lookahead (?= is not supported"),
    E("err_regex_lazy",
      "regexp_like(pk, 'ab*?')",
      "column 20: regexp_like: regex: lazy quantifiers"),
    E("err_regex_after_quote",
      "regexp_like(pk, 'it''s(?=x)')",
      "column 23: regexp_like: regex: lookahead"),
    E("err_regex_backreference",
      "regexp_extract(pk, '(a)\\1')",
      "column 24: regexp_extract: regex: backreferences (\\1) are not supported"),
    E("err_regex_group",
      "regexp_extract(pk, '(a)', 2)",
      "column 27: regexp_extract: pattern has 1 groups, cannot access group 2"),
    E("err_date_format_spec",
      "date_format(_ts, '%D')",
      "column 18: date_format: %D is not supported in a date_format format (as in Trino)"),
    E("err_split_part_zero",
      "split_part(csv, ',', 0)",
      "column 22: split_part: index must be greater than zero"),
    E("err_like_escape_use",
      "pk LIKE 'a!b' ESCAPE '!'",
      "column 11: the LIKE escape character must be followed by '%', '_' or itself"),
    E("err_like_escape_length",
      "pk LIKE 'a' ESCAPE 'ab'",
      "column 20: ESCAPE must be a single character"),
    /* run-time errors name the function and the value */
    E("err_cast",
      "CAST(pk AS bigint)",
      "column 1: CAST: \"order#1\" is not a number: it does not cast to bigint"),
    E("err_cast_fraction", "x = CAST(amount AS bigint)", "column 5: CAST: 12.50 is not an integer"),
    E("err_cast_range", "CAST(big AS bigint)", "is out of range for bigint"),
    E("err_date_format_number",
      "date_format(amount, '%Y')",
      "column 1: date_format: expected a timestamp, got NUMBER 12.50"),
    E("err_date_format_bad_string",
      "date_format(pk, '%Y')",
      "column 1: date_format: STRING \"order#1\" is not a time: not an ISO-8601 date or time"),
    E("err_date_format_dynamic",
      "date_format(_ts, concat('%', 'D'))",
      "column 1: date_format: %D is not supported"),
    E("err_substr_start",
      "substr(pk, 1.5)",
      "column 1: substr: start must be an integer, got NUMBER 1.5"),
    E("err_substr_length",
      "substr(pk, 1, 'x')",
      "column 1: substr: length must be an integer, got STRING \"x\""),
    E("err_split_part_runtime",
      "split_part(csv, ',', qty - 4)",
      "column 1: split_part: index must be greater than zero"),
    E("err_add_string",
      "amount + pk",
      "column 8: +: expected numbers, got NUMBER 12.50 and STRING \"order#1\""),
    E("err_divide_zero", "amount / zero", "column 8: /: division by zero"),
    E("err_digits",
      "big + 0.1",
      "column 5: +: the exact result needs 39 significant digits (max 38)"),
    E("err_digits_mul",
      "1e38 + 1",
      "column 6: +: the exact result needs 39 significant digits (max 38)"),
    E("err_not_number", "NOT amount", "column 1: NOT: expected a boolean, got NUMBER 12.50"),
    E("err_and_number", "flag AND amount", "column 6: AND: expected a boolean, got NUMBER 12.50"),
    E("err_if_condition",
      "if(amount, 1, 2)",
      "column 1: if: the condition must be a boolean, got NUMBER 12.50"),
    E("err_negate_string", "-pk", "column 1: unary -: expected a number, got STRING \"order#1\""),
    E("err_abs_string", "abs(pk)", "column 1: abs: expected a number, got STRING"),
    E("err_from_unixtime_string",
      "from_unixtime(pk)",
      "column 1: from_unixtime: expected a number of seconds in range"),
    E("err_date_bad",
      "date(pk)",
      "column 1: date: \"order#1\" does not cast to date: not an ISO-8601 date or time"),
    E("err_regex_dynamic",
      "regexp_like(pk, pct || '(?=')",
      "column 1: regexp_like: regex: lookahead (?= is not supported (at byte 9 of the pattern)"),
    E("err_regex_group_dynamic",
      "regexp_extract(pk, path, 1)",
      "column 1: regexp_extract: pattern has 0 groups, cannot access group 1"),
    E("err_to_unixtime_number",
      "to_unixtime(amount)",
      "column 1: to_unixtime: expected a timestamp, got NUMBER 12.50"),
    E("err_to_iso8601_bool",
      "to_iso8601(flag)",
      "column 1: to_iso8601: expected a timestamp, got BOOL true"),
    E("err_regexp_extract_group_type",
      "regexp_extract(pk, '(o)', 'x')",
      "column 1: regexp_extract: group must be an integer, got STRING \"x\""),
    E("err_split_part_index_type",
      "split_part(csv, ',', 1.5)",
      "column 1: split_part: index must be an integer, got NUMBER 1.5"),
    E("err_abs_json", "abs(tags)", "column 1: abs: expected a number, got JSON [\"x\",\"y\"]"),
    E("err_multiply_bool",
      "qty * flag",
      "column 5: *: expected numbers, got NUMBER 3 and BOOL true"),
    E("err_like_escape_dynamic",
      "pk LIKE 'a' ESCAPE pk",
      "column 4: LIKE: ESCAPE must be a single character"),
};

/* Compiles, evaluates on the row, and checks the value or the error. */
static void test_expr_row(void **state)
{
    const struct expr_row *row = *state;
    struct row_ctx ctx;
    struct etl_expr *e = NULL;
    struct err err = ERR_INIT;
    struct etl_value v;
    row_init(&ctx);
    struct etl_expr_env env = {lookup, &ctx, &ctx.arena};
    enum err_code rc = etl_expr_compile(cur_from_str(row->expr), &e, &err);
    if (rc == ERR_OK) {
        assert_string_equal(etl_expr_text(e), row->expr);
        rc = etl_expr_eval(e, &env, &v, &err);
    } else {
        assert_null(e);
    }
    if (rc != row->code) {
        fail_msg("%s: code %d, want %d (%s)", row->expr, rc, row->code, err.msg);
    }
    if (rc == ERR_OK) {
        struct cur text;
        if (v.kind != row->kind) {
            fail_msg("%s: kind %s, want %s", row->expr, etl_vkind_name(v.kind),
                     etl_vkind_name(row->kind));
        }
        assert_int_equal(etl_value_text(&v, &ctx.arena, &text, &err), ERR_OK);
        if (text.len != strlen(row->text) ||
            (text.len > 0 && memcmp(text.ptr, row->text, text.len) != 0)) {
            fail_msg("%s: got \"%.*s\", want \"%s\"", row->expr, (int)text.len,
                     (const char *)text.ptr, row->text);
        }
        /* The value renders as valid JSON of the row type it claims. */
        struct buf json = BUF_INIT(0);
        struct json_val back;
        assert_int_equal(etl_value_render_json(&v, &json, &err), ERR_OK);
        assert_int_equal(json_validate(buf_cur(&json), 64, &back, &err), ERR_OK);
        buf_cleanup(&json);
    } else if (strstr(err.msg, row->text) == NULL) {
        fail_msg("%s: message \"%s\" lacks \"%s\"", row->expr, err.msg, row->text);
    }
    etl_expr_free(e);
    row_cleanup(&ctx);
}

/* ---- the rest of the interface ---- */

struct paths_seen {
    char text[8][64];
    int n;
};

static void collect_path(void *ctx, const struct etl_colpath *path)
{
    struct paths_seen *seen = ctx;
    if (seen->n < 8) {
        etl_colpath_text(path, seen->text[seen->n++], sizeof(seen->text[0]));
    }
}

static void test_paths_and_text(void **state)
{
    (void)state;
    struct etl_expr *e = NULL;
    struct err err = ERR_INIT;
    const char *text = "lower(address.city) = 'x' AND items[0].sku IN (\"Order Id\", pk)";
    assert_int_equal(etl_expr_compile(cur_from_str(text), &e, &err), ERR_OK);
    assert_string_equal(etl_expr_text(e), text);
    struct paths_seen seen = {{{0}}, 0};
    etl_expr_paths(e, collect_path, &seen);
    assert_int_equal(seen.n, 4);
    assert_string_equal(seen.text[0], "address.city");
    assert_string_equal(seen.text[1], "items[0].sku");
    assert_string_equal(seen.text[2], "\"Order Id\"");
    assert_string_equal(seen.text[3], "pk");
    etl_expr_free(e);
    etl_expr_free(NULL);
    assert_string_equal(etl_expr_text(NULL), "");
}

/* One compiled expression over many rows: values stay right, the arena is reused. */
static void test_many_rows_reuse_the_arena(void **state)
{
    (void)state;
    struct row_ctx ctx;
    struct etl_expr *e = NULL;
    struct err err = ERR_INIT;
    row_init(&ctx);
    struct etl_expr_env env = {lookup, &ctx, &ctx.arena};
    assert_int_equal(etl_expr_compile(cur_from_str("concat(upper(word), '-', substr(pk, 7), "
                                                   "'-', amount * qty) || "
                                                   "regexp_extract(pk, '\\d')"),
                                      &e, &err),
                     ERR_OK);
    size_t bytes = 0;
    for (int i = 0; i < 10000; i++) {
        struct etl_value v;
        etl_arena_reset(&ctx.arena);
        assert_int_equal(etl_expr_eval(e, &env, &v, &err), ERR_OK);
        assert_int_equal(v.kind, ETL_V_STRING);
        assert_true(v.s.len == 14 && memcmp(v.s.ptr, "H\xc3\x89LLO-1-37.51", 14) == 0);
        if (i == 0) {
            bytes = ctx.arena.bytes;
        }
        assert_int_equal(ctx.arena.bytes, bytes);
    }
    etl_expr_free(e);
    row_cleanup(&ctx);
}

static void test_limits(void **state)
{
    (void)state;
    struct etl_expr *e = NULL;
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT(0);
    /* Long AND chains and IN lists are flat: accepted. */
    for (int i = 0; i < 500; i++) {
        assert_int_equal(buf_printf(&text, &err, "%sqty <> %d", i > 0 ? " AND " : "", i + 10),
                         ERR_OK);
    }
    assert_int_equal(etl_expr_compile(buf_cur(&text), &e, &err), ERR_OK);
    etl_expr_free(e);
    buf_reset(&text);
    assert_int_equal(buf_append_str(&text, "qty IN (", &err), ERR_OK);
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(buf_printf(&text, &err, "%s%d", i > 0 ? ", " : "", i), ERR_OK);
    }
    assert_int_equal(buf_append_str(&text, ")", &err), ERR_OK);
    assert_int_equal(etl_expr_compile(buf_cur(&text), &e, &err), ERR_OK);
    struct row_ctx ctx;
    struct etl_value v;
    row_init(&ctx);
    struct etl_expr_env env = {lookup, &ctx, &ctx.arena};
    assert_int_equal(etl_expr_eval(e, &env, &v, &err), ERR_OK);
    assert_true(etl_value_is_true(&v));
    etl_expr_free(e);
    row_cleanup(&ctx);
    /* Deep nesting is refused, whatever builds it. */
    const char *deep[] = {"(", "NOT ", "-", "lower("};
    for (size_t k = 0; k < sizeof(deep) / sizeof(deep[0]); k++) {
        buf_reset(&text);
        for (int i = 0; i < 70; i++) {
            assert_int_equal(buf_append_str(&text, deep[k], &err), ERR_OK);
        }
        assert_int_equal(buf_append_str(&text, "x", &err), ERR_OK);
        assert_int_equal(etl_expr_compile(buf_cur(&text), &e, &err), ERR_INVALID_INPUT);
        assert_non_null(strstr(err.msg, "nested deeper than 64 levels"));
        assert_null(e);
    }
    /* A long arithmetic chain nests too. */
    buf_reset(&text);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(buf_printf(&text, &err, "%s1", i > 0 ? " + " : ""), ERR_OK);
    }
    assert_int_equal(etl_expr_compile(buf_cur(&text), &e, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "nested deeper than 64 levels"));
    /* And the text is bounded. */
    buf_reset(&text);
    for (int i = 0; i < 70000; i++) {
        assert_int_equal(buf_append_byte(&text, ' ', &err), ERR_OK);
    }
    assert_int_equal(etl_expr_compile(buf_cur(&text), &e, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "over 65536"));
    buf_cleanup(&text);
}

/* Every prefix of every expression above compiles or fails cleanly, with a column inside the
 * text: the parser's error paths free what they built (ASan checks) and never read past it. */
static void test_every_prefix(void **state)
{
    (void)state;
    const struct expr_row *sets[] = {value_rows, error_rows};
    size_t counts[] = {sizeof(value_rows) / sizeof(value_rows[0]),
                       sizeof(error_rows) / sizeof(error_rows[0])};
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < counts[k]; i++) {
            struct cur whole = cur_from_str(sets[k][i].expr);
            for (size_t len = 0; len <= whole.len; len++) {
                struct etl_expr *e = NULL;
                struct err err = ERR_INIT;
                enum err_code rc = etl_expr_compile(cur_make(whole.ptr, len), &e, &err);
                if (rc == ERR_OK) {
                    assert_non_null(e);
                    etl_expr_free(e);
                    continue;
                }
                assert_int_equal(rc, ERR_INVALID_INPUT);
                assert_null(e);
                size_t col = 0;
                if (sscanf(err.msg, "column %zu:", &col) != 1 || col < 1 || col > len + 1) {
                    fail_msg("\"%.*s\": message \"%s\"", (int)len, (const char *)whole.ptr,
                             err.msg);
                }
            }
        }
    }
}

/* The arena's ceiling stops a row whose values grow too large, as an error of that row. */
static void test_arena_ceiling(void **state)
{
    (void)state;
    struct row_ctx ctx;
    struct etl_expr *e = NULL;
    struct err err = ERR_INIT;
    struct etl_value v;
    struct buf text = BUF_INIT(0);
    row_init(&ctx);
    etl_arena_cleanup(&ctx.arena);
    etl_arena_init(&ctx.arena, ETL_ARENA_BLOCK_BYTES);
    struct etl_expr_env env = {lookup, &ctx, &ctx.arena};
    assert_int_equal(buf_append_str(&text, "replace('", &err), ERR_OK);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(buf_append_byte(&text, 'a', &err), ERR_OK);
    }
    assert_int_equal(buf_append_str(&text, "', '', '", &err), ERR_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(buf_append_byte(&text, 'b', &err), ERR_OK);
    }
    assert_int_equal(buf_append_str(&text, "')", &err), ERR_OK);
    assert_int_equal(etl_expr_compile(buf_cur(&text), &e, &err), ERR_OK);
    assert_int_equal(etl_expr_eval(e, &env, &v, &err), ERR_TOO_LARGE);
    etl_expr_free(e);
    buf_cleanup(&text);
    row_cleanup(&ctx);
}

/* The filter rule: only TRUE keeps a row. */
static void test_is_true(void **state)
{
    (void)state;
    struct etl_value v = etl_value_null();
    assert_false(etl_value_is_true(&v));
    v.kind = ETL_V_BOOL;
    v.b = false;
    assert_false(etl_value_is_true(&v));
    v.b = true;
    assert_true(etl_value_is_true(&v));
    v.kind = ETL_V_NUMBER;
    v.s = cur_from_str("1");
    assert_false(etl_value_is_true(&v));
}

#define ADD_ROWS(rows, fn)                                                                         \
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {                                  \
        tests[n++] = (struct CMUnitTest){rows[i].name, fn, NULL, NULL, (void *)&rows[i]};          \
    }

int main(void)
{
    static struct CMUnitTest tests[512];
    size_t n = 0;
    ADD_ROWS(value_rows, test_expr_row);
    ADD_ROWS(error_rows, test_expr_row);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_paths_and_text);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_rows_reuse_the_arena);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limits);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_is_true);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_every_prefix);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_arena_ceiling);
    return _cmocka_run_group_tests("expr", tests, n, NULL, NULL);
}
