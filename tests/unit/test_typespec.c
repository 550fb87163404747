/*
 * test_typespec.c - Athena type names: every name and alias, case and spaces, nesting, and the
 * refusals (unknown names, decimal bounds, map keys, varchar lengths) with what they say.
 */
#include <string.h>

#include "etl_typespec.h"
#include "test_util.h"

struct type_row {
    const char *name;
    const char *text;
    enum err_code code;
    const char *expected; /* the canonical name, or a fragment of the message */
};

static const struct type_row type_rows[] = {
    {"string", "string", ERR_OK, "string"},
    {"varchar", "VARCHAR", ERR_OK, "string"},
    {"bigint", "bigint", ERR_OK, "bigint"},
    {"int", "Int", ERR_OK, "int"},
    {"integer", "integer", ERR_OK, "int"},
    {"smallint", "smallint", ERR_OK, "smallint"},
    {"tinyint", "tinyint", ERR_OK, "tinyint"},
    {"double", "double", ERR_OK, "double"},
    {"float", "float", ERR_OK, "float"},
    {"real", "real", ERR_OK, "float"},
    {"decimal", "decimal(10,2)", ERR_OK, "decimal(10,2)"},
    {"decimal_spaces", " DECIMAL ( 38 , 0 ) ", ERR_OK, "decimal(38,0)"},
    {"decimal_space_after_comma", "decimal(10, 2)", ERR_OK, "decimal(10,2)"},
    {"decimal_precision_only", "decimal(5)", ERR_OK, "decimal(5,0)"},
    {"decimal_38_38", "decimal(38,38)", ERR_OK, "decimal(38,38)"},
    {"boolean", "boolean", ERR_OK, "boolean"},
    {"timestamp", "timestamp", ERR_OK, "timestamp"},
    {"date", "date", ERR_OK, "date"},
    {"binary", "binary", ERR_OK, "binary"},
    {"varbinary", "varbinary", ERR_OK, "binary"},
    {"array", "array<bigint>", ERR_OK, "array<bigint>"},
    {"array_nested", "array< array<string> >", ERR_OK, "array<array<string>>"},
    {"map", "map<string,decimal(10,2)>", ERR_OK, "map<string,decimal(10,2)>"},
    {"map_varchar_key", "MAP<varchar, int>", ERR_OK, "map<string,int>"},
    {"map_of_arrays", "map<string,array<map<string,date>>>", ERR_OK,
     "map<string,array<map<string,date>>>"},
    {"unknown", "int64", ERR_INVALID_INPUT,
     "unknown type \"int64\" (expected one of string, bigint, int, smallint, tinyint, double, "
     "float, decimal(p,s), boolean, timestamp, date, binary, array<T>, map<string,T>)"},
    {"unknown_nested", "array<uuid>", ERR_INVALID_INPUT, "unknown type \"uuid\""},
    {"empty", "", ERR_INVALID_INPUT, "expected a type name at column 1"},
    {"precision_40", "decimal(40,2)", ERR_INVALID_INPUT, "decimal precision must be 1 to 38"},
    {"precision_0", "decimal(0,0)", ERR_INVALID_INPUT, "decimal precision must be 1 to 38"},
    {"precision_huge", "decimal(99999,1)", ERR_INVALID_INPUT, "expected the precision"},
    {"scale_over_precision", "decimal(10,11)", ERR_INVALID_INPUT,
     "decimal scale must be 0 to the precision"},
    {"scale_missing", "decimal(10,)", ERR_INVALID_INPUT, "expected the scale at column 12"},
    {"decimal_bare", "decimal", ERR_INVALID_INPUT, "expected '(' at column 8"},
    {"decimal_unclosed", "decimal(10,2", ERR_INVALID_INPUT, "expected ')' at column 13"},
    {"array_unclosed", "array<bigint", ERR_INVALID_INPUT, "expected '>' at column 13"},
    {"array_empty", "array<>", ERR_INVALID_INPUT, "expected a type name at column 7"},
    {"map_int_keys", "map<int,string>", ERR_INVALID_INPUT, "map keys must be string"},
    {"map_one_type", "map<string>", ERR_INVALID_INPUT, "expected ','"},
    {"varchar_length", "varchar(10)", ERR_INVALID_INPUT, "only decimal takes parameters"},
    {"trailing", "bigint x", ERR_INVALID_INPUT, "unexpected text at column 8"},
    {"too_deep",
     "array<array<array<array<array<array<array<array<array<array<array<array<array<array<array<"
     "array<array<int>>>>>>>>>>>>>>>>>",
     ERR_INVALID_INPUT, "nested deeper than 16 levels"},
};

static void test_type_row(void **state)
{
    const struct type_row *row = *state;
    struct etl_typespec *t = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_typespec_parse(cur_from_str(row->text), &t, &err), row->code);
    if (row->code == ERR_OK) {
        char name[128];
        etl_typespec_name(t, name, sizeof(name));
        assert_string_equal(name, row->expected);
        /* The name parses back to the same type. */
        struct etl_typespec *back = NULL;
        assert_int_equal(etl_typespec_parse(cur_from_str(name), &back, &err), ERR_OK);
        char again[128];
        etl_typespec_name(back, again, sizeof(again));
        assert_string_equal(again, name);
        etl_typespec_free(back);
    } else {
        assert_null(t);
        if (strstr(err.msg, row->expected) == NULL) {
            fail_msg("message \"%s\" lacks \"%s\"", err.msg, row->expected);
        }
    }
    etl_typespec_free(t);
}

static void test_fields_and_truncation(void **state)
{
    (void)state;
    struct etl_typespec *t = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_typespec_parse(cur_from_str("map<string,decimal(12,3)>"), &t, &err),
                     ERR_OK);
    assert_int_equal(t->kind, ETL_TK_MAP);
    assert_non_null(t->elem);
    assert_int_equal(t->elem->kind, ETL_TK_DECIMAL);
    assert_int_equal(t->elem->precision, 12);
    assert_int_equal(t->elem->scale, 3);
    assert_null(t->elem->elem);
    char small[8];
    etl_typespec_name(t, small, sizeof(small));
    assert_string_equal(small, "map<str");
    etl_typespec_name(t, small, 1);
    assert_string_equal(small, "");
    etl_typespec_name(NULL, small, sizeof(small));
    assert_string_equal(small, "");
    etl_typespec_free(t);
    etl_typespec_free(NULL);
}

int main(void)
{
    static struct CMUnitTest tests[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(type_rows) / sizeof(type_rows[0]); i++) {
        tests[n++] = (struct CMUnitTest){type_rows[i].name, test_type_row, NULL, NULL,
                                         (void *)&type_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fields_and_truncation);
    return _cmocka_run_group_tests("typespec", tests, n, NULL, NULL);
}
