/*
 * etl_decimal.h - exact decimal numbers, as DynamoDB's N holds them: up to 38 significant digits
 * and a decimal exponent, parsed from text and compared, converted and rendered without ever
 * going through a binary floating-point type (except etl_decimal_to_double, on request).
 * Ownership: plain values.
 */
#ifndef ETL_DECIMAL_H
#define ETL_DECIMAL_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ETL_DECIMAL_MAX_DIGITS 38 /* DynamoDB's precision */

/* value = (neg ? -1 : 1) * 0.d1d2...dn * 10^exp, digits without leading or trailing zeros;
 * zero has n == 0 (and neg false). */
struct etl_decimal {
    bool neg;
    uint8_t n;
    char digits[ETL_DECIMAL_MAX_DIGITS + 2];
    int32_t exp;
};

/* Parses a number in JSON or DynamoDB grammar ("+5", "007.50", ".5", "1E+10" accepted); more than
 * 38 significant digits is ERR_INVALID_INPUT (more digits than DynamoDB keeps). */
MUST_CHECK enum err_code
etl_decimal_parse(struct cur text, struct etl_decimal *out, struct err *err);
/* Exact comparison: <0, 0, >0 (1.50 equals 1.5). */
int etl_decimal_cmp(const struct etl_decimal *a, const struct etl_decimal *b);
/* The value as an int64 when it is an integer in range; false otherwise. */
bool etl_decimal_to_i64(const struct etl_decimal *d, int64_t *out);
/* The nearest double (strtod of the digits: correctly rounded). */
double etl_decimal_to_double(const struct etl_decimal *d);
/* Digits before and after the point once written without an exponent (integer part >= 1 digit
 * counts as 0 for values below 1). */
void etl_decimal_shape(const struct etl_decimal *d, int *int_digits, int *frac_digits);
/*
 * Appends the value with exactly `scale` digits after the point (no exponent), when that is exact
 * (no nonzero digit would be dropped) and the total digits fit `precision`: *fits true. Otherwise
 * *fits is false and nothing is appended. scale 0 writes an integer. "-0" is written "0".
 */
MUST_CHECK enum err_code etl_decimal_format(const struct etl_decimal *d,
                                            int precision,
                                            int scale,
                                            bool *fits,
                                            struct buf *out,
                                            struct err *err);
/* Appends the shortest plain text of the value without an exponent ("1E+3" -> "1000", "1.50"
 * -> "1.5") when it has at most max_len characters: *fits true; else *fits false, nothing
 * appended. */
MUST_CHECK enum err_code etl_decimal_plain(const struct etl_decimal *d,
                                           size_t max_len,
                                           bool *fits,
                                           struct buf *out,
                                           struct err *err);

/* Exact a + b, a - b and a * b; ERR_INVALID_INPUT when the result needs more than 38 significant
 * digits (it would be rounded). */
MUST_CHECK enum err_code etl_decimal_add(const struct etl_decimal *a,
                                         const struct etl_decimal *b,
                                         bool subtract,
                                         struct etl_decimal *out,
                                         struct err *err);
MUST_CHECK enum err_code etl_decimal_mul(const struct etl_decimal *a,
                                         const struct etl_decimal *b,
                                         struct etl_decimal *out,
                                         struct err *err);

#endif
