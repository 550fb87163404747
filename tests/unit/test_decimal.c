/*
 * test_decimal.c - exact decimals: parsing in JSON and DynamoDB grammar, exact comparison across
 * exponents, integer and double conversion, fixed-scale formatting that never rounds, and exact
 * sums and products up to 38 significant digits.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "etl_decimal.h"
#include "test_util.h"

static void parse_ok(const char *text, struct etl_decimal *d)
{
    struct err err = ERR_INIT;
    if (etl_decimal_parse(cur_from_str(text), d, &err) != ERR_OK) {
        fail_msg("parse \"%s\": %s", text, err.msg);
    }
}

/* The plain text of d (no exponent), as a test expectation reads best. */
static void plain(const struct etl_decimal *d, char *out, size_t cap)
{
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    bool fits = false;
    assert_int_equal(etl_decimal_plain(d, 1000, &fits, &b, &err), ERR_OK);
    assert_true(fits);
    assert_true(cur_copy_to(buf_cur(&b), out, cap));
    buf_cleanup(&b);
}

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
    const char *expected; /* plain text, or a fragment of the message */
};

static const struct parse_row parse_rows[] = {
    {"int", "123", ERR_OK, "123"},
    {"neg", "-42", ERR_OK, "-42"},
    {"plus", "+5", ERR_OK, "5"},
    {"leading_zeros", "007.50", ERR_OK, "7.5"},
    {"bare_fraction", ".5", ERR_OK, "0.5"},
    {"bare_point", "5.", ERR_OK, "5"},
    {"exponent", "1E+10", ERR_OK, "10000000000"},
    {"exponent_lower_neg", "25e-3", ERR_OK, "0.025"},
    {"small_fraction", "0.000120", ERR_OK, "0.00012"},
    {"zero", "0", ERR_OK, "0"},
    {"neg_zero", "-0.000", ERR_OK, "0"},
    {"zero_exponent", "0e99", ERR_OK, "0"},
    {"digits_38", "12345678901234567890123456789012345678", ERR_OK,
     "12345678901234567890123456789012345678"},
    {"digits_38_fraction", "-0.12345678901234567890123456789012345678", ERR_OK,
     "-0.12345678901234567890123456789012345678"},
    {"zeros_do_not_count", "1000000000000000000000000000000000000000000", ERR_OK,
     "1000000000000000000000000000000000000000000"},
    {"digits_39", "123456789012345678901234567890123456789", ERR_INVALID_INPUT,
     "has 39 significant digits (max 38)"},
    {"empty", "", ERR_INVALID_INPUT, "is not a number"},
    {"sign_only", "-", ERR_INVALID_INPUT, "is not a number"},
    {"point_only", ".", ERR_INVALID_INPUT, "is not a number"},
    {"letters", "12abc", ERR_INVALID_INPUT, "\"12abc\" is not a number"},
    {"space", " 12", ERR_INVALID_INPUT, "is not a number"},
    {"nan", "NaN", ERR_INVALID_INPUT, "is not a number"},
    {"empty_exponent", "1e", ERR_INVALID_INPUT, "empty exponent"},
    {"huge_exponent", "1e999999999999", ERR_INVALID_INPUT, "exponent out of range"},
    {"two_points", "1.2.3", ERR_INVALID_INPUT, "is not a number"},
};

static void test_parse_row(void **state)
{
    const struct parse_row *row = *state;
    struct etl_decimal d;
    struct err err = ERR_INIT;
    assert_int_equal(etl_decimal_parse(cur_from_str(row->text), &d, &err), row->code);
    if (row->code == ERR_OK) {
        char text[128];
        plain(&d, text, sizeof(text));
        assert_string_equal(text, row->expected);
        assert_true(d.n <= ETL_DECIMAL_MAX_DIGITS);
        assert_true(d.n == 0 || (d.digits[0] != '0' && d.digits[d.n - 1] != '0'));
    } else {
        assert_contains(err.msg, row->expected);
    }
}

/* ---- compare ---- */

struct cmp_row {
    const char *name;
    const char *a;
    const char *b;
    int expected; /* sign */
};

static const struct cmp_row cmp_rows[] = {
    {"equal_scale", "1.50", "1.5", 0},
    {"equal_exponent", "1E+2", "100", 0},
    {"equal_neg_zero", "-0", "0.0", 0},
    {"less", "1.49", "1.5", -1},
    {"greater_by_exponent", "1E+3", "999.999", 1},
    {"neg_less", "-2", "-1", -1},
    {"neg_vs_pos", "-0.001", "0", -1},
    {"zero_vs_neg", "0", "-5", 1},
    {"digits_38_last_differs", "12345678901234567890123456789012345678",
     "12345678901234567890123456789012345679", -1},
    {"digits_38_equal", "1234567890123456789012345678901234567.8",
     "1234567890123456789012345678901234567.80", 0},
    {"tiny", "1E-130", "2E-130", -1},
    {"huge_vs_tiny", "9.9999999999999999999999999999999999999E+125", "1E-130", 1},
};

static void test_cmp_row(void **state)
{
    const struct cmp_row *row = *state;
    struct etl_decimal a, b;
    parse_ok(row->a, &a);
    parse_ok(row->b, &b);
    int c = etl_decimal_cmp(&a, &b);
    assert_int_equal(c < 0 ? -1 : (c > 0 ? 1 : 0), row->expected);
    c = etl_decimal_cmp(&b, &a);
    assert_int_equal(c < 0 ? -1 : (c > 0 ? 1 : 0), -row->expected);
}

/* ---- to_i64 and to_double ---- */

struct i64_row {
    const char *name;
    const char *text;
    bool ok;
    int64_t expected;
};

static const struct i64_row i64_rows[] = {
    {"small", "42", true, 42},
    {"exponent", "1E+2", true, 100},
    {"trailing_zero_fraction", "12.000", true, 12},
    {"neg_zero", "-0", true, 0},
    {"max", "9223372036854775807", true, INT64_MAX},
    {"min", "-9223372036854775808", true, INT64_MIN},
    {"over_max", "9223372036854775808", false, 0},
    {"under_min", "-9223372036854775809", false, 0},
    {"digits_38", "12345678901234567890123456789012345678", false, 0},
    {"fraction", "1.5", false, 0},
    {"tiny_fraction", "1E-130", false, 0},
};

static void test_i64_row(void **state)
{
    const struct i64_row *row = *state;
    struct etl_decimal d;
    parse_ok(row->text, &d);
    int64_t v = -1;
    assert_int_equal(etl_decimal_to_i64(&d, &v), row->ok);
    if (row->ok) {
        assert_true(v == row->expected);
    }
}

static void test_to_double(void **state)
{
    (void)state;
    struct etl_decimal d;
    parse_ok("0.1", &d);
    assert_true(etl_decimal_to_double(&d) == 0.1);
    parse_ok("-1.5E+3", &d);
    assert_true(etl_decimal_to_double(&d) == -1500.0);
    /* Correctly rounded, like strtod of the text. */
    parse_ok("9007199254740993", &d);
    assert_true(etl_decimal_to_double(&d) == 9007199254740992.0);
    parse_ok("12345678901234567890123456789012345678", &d);
    assert_true(etl_decimal_to_double(&d) == 12345678901234567890123456789012345678.0);
    parse_ok("0", &d);
    assert_true(etl_decimal_to_double(&d) == 0.0 && !signbit(etl_decimal_to_double(&d)));
}

/* ---- shape, format, plain ---- */

struct format_row {
    const char *name;
    const char *text;
    int precision;
    int scale;
    const char *expected; /* NULL: does not fit */
};

static const struct format_row format_rows[] = {
    {"pad_scale", "12.5", 10, 2, "12.50"},
    {"exact_scale", "12.34", 4, 2, "12.34"},
    {"too_many_decimals", "12.345", 10, 2, NULL},
    {"trailing_zeros_drop", "12.3400", 4, 2, "12.34"},
    {"too_many_int_digits", "123.4", 4, 2, NULL},
    {"scale_0", "1E+2", 3, 0, "100"},
    {"scale_0_fraction", "0.5", 5, 0, NULL},
    {"below_one", "0.05", 2, 2, "0.05"},
    {"below_one_p1", "0.5", 1, 1, "0.5"},
    {"zero_scale_1", "-0", 3, 1, "0.0"},
    {"neg", "-7.25", 5, 3, "-7.250"},
    {"p38_s0", "12345678901234567890123456789012345678", 38, 0,
     "12345678901234567890123456789012345678"},
    {"p38_s2", "123456789012345678901234567890123456.78", 38, 2,
     "123456789012345678901234567890123456.78"},
    {"p38_s2_too_big", "12345678901234567890123456789012345678", 38, 2, NULL},
    {"p38_s38", "0.12345678901234567890123456789012345678", 38, 38,
     "0.12345678901234567890123456789012345678"},
    {"huge_exponent", "1E+125", 38, 0, NULL},
};

static void test_format_row(void **state)
{
    const struct format_row *row = *state;
    struct etl_decimal d;
    parse_ok(row->text, &d);
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    bool fits = true;
    assert_int_equal(etl_decimal_format(&d, row->precision, row->scale, &fits, &b, &err), ERR_OK);
    if (row->expected == NULL) {
        assert_false(fits);
        assert_int_equal(b.len, 0);
    } else {
        assert_true(fits);
        assert_string_equal(buf_cstr(&b), row->expected);
    }
    buf_cleanup(&b);
}

static void test_shape_and_plain(void **state)
{
    (void)state;
    struct etl_decimal d;
    int i, f;
    parse_ok("123.45", &d);
    etl_decimal_shape(&d, &i, &f);
    assert_int_equal(i, 3);
    assert_int_equal(f, 2);
    parse_ok("0.005", &d);
    etl_decimal_shape(&d, &i, &f);
    assert_int_equal(i, 0);
    assert_int_equal(f, 3);
    parse_ok("5E+3", &d);
    etl_decimal_shape(&d, &i, &f);
    assert_int_equal(i, 4);
    assert_int_equal(f, 0);
    parse_ok("0", &d);
    etl_decimal_shape(&d, &i, &f);
    assert_int_equal(i + f, 0);
    /* plain respects max_len and appends nothing when it does not fit. */
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    bool fits = true;
    parse_ok("1E+125", &d);
    assert_int_equal(etl_decimal_plain(&d, 40, &fits, &b, &err), ERR_OK);
    assert_false(fits);
    assert_int_equal(b.len, 0);
    assert_int_equal(etl_decimal_plain(&d, 126, &fits, &b, &err), ERR_OK);
    assert_true(fits);
    assert_int_equal(b.len, 126);
    buf_reset(&b);
    parse_ok("-1.50", &d);
    assert_int_equal(etl_decimal_plain(&d, 4, &fits, &b, &err), ERR_OK);
    assert_true(fits);
    assert_string_equal(buf_cstr(&b), "-1.5");
    buf_cleanup(&b);
}

/* ---- add, subtract, multiply ---- */

struct arith_row {
    const char *name;
    const char *a;
    char op; /* + - * */
    const char *b;
    enum err_code code;
    const char *expected;
};

static const struct arith_row arith_rows[] = {
    {"add", "1.5", '+', "2.25", ERR_OK, "3.75"},
    {"add_carry", "999", '+', "1", ERR_OK, "1000"},
    {"add_exponents", "1E+3", '+', "0.001", ERR_OK, "1000.001"},
    {"add_neg", "-5", '+', "3", ERR_OK, "-2"},
    {"add_cancel", "1.50", '+', "-1.5", ERR_OK, "0"},
    {"add_zero", "0", '+', "-7.5", ERR_OK, "-7.5"},
    {"sub", "10", '-', "0.01", ERR_OK, "9.99"},
    {"sub_neg_result", "1", '-', "2", ERR_OK, "-1"},
    {"sub_zero_from", "0", '-', "3", ERR_OK, "-3"},
    {"sub_zero", "3", '-', "0", ERR_OK, "3"},
    {"sub_negative", "-1", '-', "-1", ERR_OK, "0"},
    {"add_38_digits", "99999999999999999999999999999999999998", '+', "1", ERR_OK,
     "99999999999999999999999999999999999999"},
    {"add_38_digits_carry_trailing_zeros", "99999999999999999999999999999999999999", '+', "1",
     ERR_OK, "100000000000000000000000000000000000000"},
    {"add_39_digits", "12345678901234567890123456789012345678", '+', "0.1", ERR_INVALID_INPUT,
     "needs 39 significant digits (max 38)"},
    {"add_far_apart", "1E+100", '+', "1E-100", ERR_INVALID_INPUT, "more than 38 significant"},
    {"mul", "1.5", '*', "-2", ERR_OK, "-3"},
    {"mul_fraction", "0.1", '*', "0.1", ERR_OK, "0.01"},
    {"mul_zero", "123", '*', "-0", ERR_OK, "0"},
    {"mul_big", "12345678901234567890", '*', "1000000000000000000", ERR_OK,
     "12345678901234567890000000000000000000"},
    {"mul_38", "9999999999999999999", '*', "9999999999999999999", ERR_OK,
     "99999999999999999980000000000000000001"},
    {"mul_39", "99999999999999999999", '*', "99999999999999999999", ERR_INVALID_INPUT,
     "needs 40 significant digits"},
    {"mul_neg_neg", "-2.5", '*', "-4", ERR_OK, "10"},
};

static void test_arith_row(void **state)
{
    const struct arith_row *row = *state;
    struct etl_decimal a, b, r;
    struct err err = ERR_INIT;
    parse_ok(row->a, &a);
    parse_ok(row->b, &b);
    enum err_code rc = row->op == '*' ? etl_decimal_mul(&a, &b, &r, &err)
                                      : etl_decimal_add(&a, &b, row->op == '-', &r, &err);
    assert_int_equal(rc, row->code);
    if (rc == ERR_OK) {
        char text[128];
        plain(&r, text, sizeof(text));
        assert_string_equal(text, row->expected);
        assert_false(r.n == 0 && r.neg);
    } else {
        assert_contains(err.msg, row->expected);
    }
}

#define ADD_ROWS(rows, fn)                                                                         \
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {                                  \
        tests[n++] = (struct CMUnitTest){rows[i].name, fn, NULL, NULL, (void *)&rows[i]};          \
    }

int main(void)
{
    static struct CMUnitTest tests[256];
    size_t n = 0;
    ADD_ROWS(parse_rows, test_parse_row);
    ADD_ROWS(cmp_rows, test_cmp_row);
    ADD_ROWS(i64_rows, test_i64_row);
    ADD_ROWS(format_rows, test_format_row);
    ADD_ROWS(arith_rows, test_arith_row);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_to_double);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_shape_and_plain);
    return _cmocka_run_group_tests("decimal", tests, n, NULL, NULL);
}
