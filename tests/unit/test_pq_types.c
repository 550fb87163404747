/*
 * test_pq_types.c - DECIMAL's physical type and width per precision (LogicalTypes.md), the Athena
 * names, and exact decimal text to unscaled integers: scaling up, trailing zeros dropped only when
 * they are zeros, exponents, 38 digits, and refusals that say why (never a rounded value).
 */
#include <string.h>

#include "pq_types.h"
#include "test_util.h"

struct dec_row {
    const char *name;
    const char *text;
    int precision, scale;
    enum err_code code;
    const char *expected; /* pq_decimal_format of the result, or a fragment of the message */
};

static const struct dec_row dec_rows[] = {
    {"integer", "123", 10, 2, ERR_OK, "123.00"},
    {"fraction", "-12.5", 10, 2, ERR_OK, "-12.50"},
    {"exact scale", "0.01", 3, 2, ERR_OK, "0.01"},
    {"trailing zeros", "1.2300", 5, 2, ERR_OK, "1.23"},
    {"exponent", "1.5E3", 6, 1, ERR_OK, "1500.0"},
    {"negative exponent", "25e-3", 5, 3, ERR_OK, "0.025"},
    {"zero", "-0.000", 1, 0, ERR_OK, "0"},
    {"38 digits", "12345678901234567890123456789012345678", 38, 0, ERR_OK,
     "12345678901234567890123456789012345678"},
    {"38 digits negative", "-9999999999999999999999999999999999999.9", 38, 1, ERR_OK,
     "-9999999999999999999999999999999999999.9"},
    {"too many places", "1.234", 10, 2, ERR_INVALID_INPUT,
     "has 3 decimal places, the column keeps 2"},
    {"too many digits", "123456", 5, 0, ERR_INVALID_INPUT, "needs 6 digits"},
    {"scale pushes over", "1000", 5, 2, ERR_INVALID_INPUT, "needs 6 digits"},
    {"39 digits", "123456789012345678901234567890123456789", 38, 0, ERR_INVALID_INPUT,
     "more than 38"},
    {"not a number", "12a", 10, 0, ERR_INVALID_INPUT, "not a number"},
    {"empty exponent", "1e", 10, 0, ERR_INVALID_INPUT, "empty exponent"},
};

static void test_dec_row(void **state)
{
    const struct dec_row *r = *state;
    struct err err = ERR_INIT;
    pq_i128 v = 0;
    enum err_code rc = pq_decimal_parse(cur_from_str(r->text), r->precision, r->scale, &v, &err);
    assert_int_equal(rc, r->code);
    if (rc == ERR_OK) {
        char text[64];
        pq_decimal_format(v, r->scale, text, sizeof(text));
        assert_string_equal(text, r->expected);
    } else if (strstr(err.msg, r->expected) == NULL) {
        fail_msg("%s: message \"%s\" lacks \"%s\"", r->name, err.msg, r->expected);
    }
}

static void test_physical_and_width(void **state)
{
    (void)state;
    static const struct {
        int precision;
        enum pq_physical phys;
        int width;
    } rows[] = {
        {1, PQ_PHYS_INT32, 0},
        {9, PQ_PHYS_INT32, 0},
        {10, PQ_PHYS_INT64, 0},
        {18, PQ_PHYS_INT64, 0},
        {19, PQ_PHYS_FIXED_LEN_BYTE_ARRAY, 9},
        {20, PQ_PHYS_FIXED_LEN_BYTE_ARRAY, 9},
        {21, PQ_PHYS_FIXED_LEN_BYTE_ARRAY, 9},
        {22, PQ_PHYS_FIXED_LEN_BYTE_ARRAY, 10},
        {38, PQ_PHYS_FIXED_LEN_BYTE_ARRAY, 16},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct pq_type t = {PQ_DECIMAL, rows[i].precision, 0, false};
        assert_int_equal(pq_type_physical(&t), rows[i].phys);
        assert_int_equal(pq_type_width(&t), rows[i].width);
    }
    struct pq_type s = {PQ_STRING, 0, 0, false};
    assert_int_equal(pq_type_physical(&s), PQ_PHYS_BYTE_ARRAY);
    struct pq_type ts = {PQ_TIMESTAMP_MS, 0, 0, false};
    assert_int_equal(pq_type_physical(&ts), PQ_PHYS_INT64);
}

static void test_athena_names(void **state)
{
    (void)state;
    char out[64];
    struct pq_type d = {PQ_DECIMAL, 12, 2, false};
    pq_type_athena(&d, out, sizeof(out));
    assert_string_equal(out, "decimal(12,2)");
    struct pq_type l = {PQ_BINARY, 0, 0, true};
    pq_type_athena(&l, out, sizeof(out));
    assert_string_equal(out, "array<binary>");
    struct pq_type ts = {PQ_TIMESTAMP_MS, 0, 0, false};
    pq_type_athena(&ts, out, sizeof(out));
    assert_string_equal(out, "timestamp");
}

static void test_big_endian(void **state)
{
    (void)state;
    uint8_t be[16];
    pq_decimal_to_be(-2, 9, be);
    static const uint8_t minus2[9] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    assert_memory_equal(be, minus2, 9);
    pq_decimal_to_be(258, 9, be);
    static const uint8_t p258[9] = {0, 0, 0, 0, 0, 0, 0, 0x01, 0x02};
    assert_memory_equal(be, p258, 9);
}

int main(void)
{
    static struct CMUnitTest tests[32];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(dec_rows) / sizeof(dec_rows[0]); i++) {
        tests[n++] =
            (struct CMUnitTest){dec_rows[i].name, test_dec_row, NULL, NULL, (void *)&dec_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_physical_and_width);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_athena_names);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_big_endian);
    return _cmocka_run_group_tests("pq_types", tests, n, NULL, NULL);
}
