/*
 * etl_decimal.c - exact decimals as a digit string and an exponent: parsing, comparison, and
 * exact addition and multiplication by schoolbook arithmetic on at most a few dozen digits.
 * Nothing here goes through a double, except etl_decimal_to_double when asked.
 */
#include "etl_decimal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exponents past this are refused: far beyond DynamoDB's 1E-130 .. 9.99E+125, and small enough
 * that sums of two exponents and digit counts never overflow an int32. */
#define DEC_EXP_LIMIT 100000000
/* Longer texts are refused before counting digits, so positions fit an int64 with room. */
#define DEC_TEXT_MAX 100000
/* Digit positions an exact sum may span. Two operands of at most 38 digits whose positions span
 * more than this leave a gap of zeros (or a run of nines after a borrow) between them, so the
 * result needs more than 38 significant digits anyway. */
#define DEC_SUM_WIDTH 96

_Static_assert(2 * ETL_DECIMAL_MAX_DIGITS + 2 < DEC_SUM_WIDTH, "a sum of aligned operands fits");

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int quoted_len(struct cur text)
{
    return (int)(text.len > 40 ? 40 : text.len);
}

enum err_code etl_decimal_parse(struct cur text, struct etl_decimal *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (text.len > DEC_TEXT_MAX) {
        return err_set(err, ERR_INVALID_INPUT, "number of %zu characters is too long", text.len);
    }
    const uint8_t *p = text.ptr;
    const uint8_t *end = p + text.len;
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    const uint8_t *int_start = p;
    while (p < end && is_digit(*p)) {
        p++;
    }
    int64_t int_len = p - int_start;
    const uint8_t *frac_start = p;
    int64_t frac_len = 0;
    if (p < end && *p == '.') {
        p++;
        frac_start = p;
        while (p < end && is_digit(*p)) {
            p++;
        }
        frac_len = p - frac_start;
    }
    if (int_len + frac_len == 0) {
        return err_set(err, ERR_INVALID_INPUT, "\"%.*s\" is not a number", quoted_len(text),
                       (const char *)text.ptr);
    }
    int64_t exp_val = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool exp_neg = false;
        if (p < end && (*p == '+' || *p == '-')) {
            exp_neg = *p == '-';
            p++;
        }
        const uint8_t *exp_start = p;
        while (p < end && is_digit(*p)) {
            if (exp_val <= DEC_EXP_LIMIT) {
                exp_val = exp_val * 10 + (*p - '0'); /* saturates just past the limit */
            }
            p++;
        }
        if (p == exp_start) {
            return err_set(err, ERR_INVALID_INPUT, "\"%.*s\" has an empty exponent",
                           quoted_len(text), (const char *)text.ptr);
        }
        exp_val = exp_neg ? -exp_val : exp_val;
    }
    if (p != end) {
        return err_set(err, ERR_INVALID_INPUT, "\"%.*s\" is not a number", quoted_len(text),
                       (const char *)text.ptr);
    }
    /* Significant digits run from the first non-zero digit to the last, across the point. */
    int64_t first = -1, last = -1;
    for (int64_t i = 0; i < int_len + frac_len; i++) {
        uint8_t c = i < int_len ? int_start[i] : frac_start[i - int_len];
        if (c != '0') {
            if (first < 0) {
                first = i;
            }
            last = i;
        }
    }
    if (first < 0) {
        return ERR_OK; /* zero, whatever its sign and exponent */
    }
    int64_t sig = last - first + 1;
    if (sig > ETL_DECIMAL_MAX_DIGITS) {
        return err_set(err, ERR_INVALID_INPUT, "\"%.*s\" has %lld significant digits (max %d)",
                       quoted_len(text), (const char *)text.ptr, (long long)sig,
                       ETL_DECIMAL_MAX_DIGITS);
    }
    /* The digit at index first has place value 10^(int_len - first - 1): as 0.d1d2..., the
     * exponent is int_len - first. */
    int64_t exp = int_len - first + exp_val;
    if (exp > DEC_EXP_LIMIT || exp < -DEC_EXP_LIMIT) {
        return err_set(err, ERR_INVALID_INPUT, "\"%.*s\": exponent out of range", quoted_len(text),
                       (const char *)text.ptr);
    }
    for (int64_t i = first; i <= last; i++) {
        out->digits[i - first] = (char)(i < int_len ? int_start[i] : frac_start[i - int_len]);
    }
    out->n = (uint8_t)sig;
    out->neg = neg;
    out->exp = (int32_t)exp;
    return ERR_OK;
}

/* Compares magnitudes of two non-zero decimals. */
static int cmp_mag(const struct etl_decimal *a, const struct etl_decimal *b)
{
    if (a->exp != b->exp) {
        return a->exp > b->exp ? 1 : -1;
    }
    int n = a->n > b->n ? a->n : b->n;
    for (int i = 0; i < n; i++) {
        char da = i < a->n ? a->digits[i] : '0';
        char db = i < b->n ? b->digits[i] : '0';
        if (da != db) {
            return da > db ? 1 : -1;
        }
    }
    return 0;
}

int etl_decimal_cmp(const struct etl_decimal *a, const struct etl_decimal *b)
{
    if (a->n == 0 || b->n == 0) {
        if (a->n == 0 && b->n == 0) {
            return 0;
        }
        if (a->n == 0) {
            return b->neg ? 1 : -1;
        }
        return a->neg ? -1 : 1;
    }
    if (a->neg != b->neg) {
        return a->neg ? -1 : 1;
    }
    int mag = cmp_mag(a, b);
    return a->neg ? -mag : mag;
}

bool etl_decimal_to_i64(const struct etl_decimal *d, int64_t *out)
{
    if (d->n == 0) {
        *out = 0;
        return true;
    }
    if (d->exp < d->n || d->exp > 19) {
        return false; /* a fraction, or at least 10^19 */
    }
    uint64_t limit = d->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (int i = 0; i < d->exp; i++) {
        unsigned digit = i < d->n ? (unsigned)(d->digits[i] - '0') : 0;
        if (v > (limit - digit) / 10) {
            return false;
        }
        v = v * 10 + digit;
    }
    if (d->neg) {
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        *out = (int64_t)v;
    }
    return true;
}

double etl_decimal_to_double(const struct etl_decimal *d)
{
    if (d->n == 0) {
        return 0.0;
    }
    /* The integer coefficient and its exponent: no decimal point, so no locale is involved. */
    char text[ETL_DECIMAL_MAX_DIGITS + 24];
    snprintf(text, sizeof(text), "%s%.*se%d", d->neg ? "-" : "", (int)d->n, d->digits,
             (int)(d->exp - d->n));
    return strtod(text, NULL);
}

void etl_decimal_shape(const struct etl_decimal *d, int *int_digits, int *frac_digits)
{
    *int_digits = d->n > 0 && d->exp > 0 ? d->exp : 0;
    *frac_digits = d->n > 0 && d->n - d->exp > 0 ? d->n - d->exp : 0;
}

/* The digit at 0-based position i of the digit string, counting past either end as zeros. */
static char digit_at(const struct etl_decimal *d, int64_t i)
{
    return i >= 0 && i < d->n ? d->digits[i] : '0';
}

/* Appends the value without an exponent, with frac digits after the point; the caller checked
 * that no non-zero digit falls past them. */
static enum err_code
append_fixed(const struct etl_decimal *d, int frac, struct buf *out, struct err *err)
{
    int int_d, frac_d;
    etl_decimal_shape(d, &int_d, &frac_d);
    size_t len = (size_t)(d->n > 0 && d->neg) + (size_t)(int_d > 0 ? int_d : 1) +
                 (frac > 0 ? 1 + (size_t)frac : 0);
    enum err_code rc = buf_reserve(out, len, err);
    if (rc != ERR_OK) {
        return rc;
    }
    uint8_t *w = out->data + out->len;
    if (d->n > 0 && d->neg) {
        *w++ = '-';
    }
    if (int_d == 0) {
        *w++ = '0';
    }
    for (int i = 0; i < int_d; i++) {
        *w++ = (uint8_t)digit_at(d, i);
    }
    if (frac > 0) {
        *w++ = '.';
        for (int k = 0; k < frac; k++) {
            *w++ = (uint8_t)digit_at(d, (int64_t)d->exp + k);
        }
    }
    buf_commit(out, len);
    return ERR_OK;
}

enum err_code etl_decimal_format(const struct etl_decimal *d,
                                 int precision,
                                 int scale,
                                 bool *fits,
                                 struct buf *out,
                                 struct err *err)
{
    int int_d, frac_d;
    etl_decimal_shape(d, &int_d, &frac_d);
    *fits = scale >= 0 && precision >= scale && frac_d <= scale && int_d <= precision - scale;
    if (!*fits) {
        return ERR_OK;
    }
    return append_fixed(d, scale, out, err);
}

enum err_code etl_decimal_plain(const struct etl_decimal *d,
                                size_t max_len,
                                bool *fits,
                                struct buf *out,
                                struct err *err)
{
    int int_d, frac_d;
    etl_decimal_shape(d, &int_d, &frac_d);
    size_t len = (size_t)(d->n > 0 && d->neg) + (size_t)(int_d > 0 ? int_d : 1) +
                 (frac_d > 0 ? 1 + (size_t)frac_d : 0);
    *fits = len <= max_len;
    if (!*fits) {
        return ERR_OK;
    }
    return append_fixed(d, frac_d, out, err);
}

/*
 * Builds *out from little-endian digit values v[0..width) whose v[0] has place value 10^lo:
 * strips zeros at both ends and refuses more than 38 significant digits.
 */
static enum err_code normalize(const uint8_t *v,
                               int width,
                               int64_t lo,
                               bool neg,
                               struct etl_decimal *out,
                               struct err *err)
{
    memset(out, 0, sizeof(*out));
    int top = width - 1;
    while (top >= 0 && v[top] == 0) {
        top--;
    }
    if (top < 0) {
        return ERR_OK; /* zero */
    }
    int bottom = 0;
    while (v[bottom] == 0) {
        bottom++;
    }
    int n = top - bottom + 1;
    if (n > ETL_DECIMAL_MAX_DIGITS) {
        return err_set(err, ERR_INVALID_INPUT,
                       "the exact result needs %d significant digits (max %d)", n,
                       ETL_DECIMAL_MAX_DIGITS);
    }
    int64_t exp = lo + top + 1;
    if (exp > DEC_EXP_LIMIT || exp < -DEC_EXP_LIMIT) {
        return err_set(err, ERR_INVALID_INPUT, "the exact result's exponent is out of range");
    }
    for (int i = 0; i < n; i++) {
        out->digits[i] = (char)('0' + v[top - i]);
    }
    out->n = (uint8_t)n;
    out->neg = neg;
    out->exp = (int32_t)exp;
    return ERR_OK;
}

/* Writes d's digits into little-endian v, where v[0] has place value 10^lo. */
static void spread(const struct etl_decimal *d, int64_t lo, uint8_t *v)
{
    for (int i = 0; i < d->n; i++) {
        int64_t place = (int64_t)d->exp - 1 - i;
        v[place - lo] = (uint8_t)(d->digits[i] - '0');
    }
}

enum err_code etl_decimal_add(const struct etl_decimal *a,
                              const struct etl_decimal *b,
                              bool subtract,
                              struct etl_decimal *out,
                              struct err *err)
{
    bool neg_b = b->n > 0 && (b->neg != subtract);
    if (b->n == 0) {
        *out = *a;
        return ERR_OK;
    }
    if (a->n == 0) {
        *out = *b;
        out->neg = neg_b;
        return ERR_OK;
    }
    /* Align both integer coefficients on the lowest place either has. */
    int64_t lo_a = (int64_t)a->exp - a->n, lo_b = (int64_t)b->exp - b->n;
    int64_t lo = lo_a < lo_b ? lo_a : lo_b;
    int64_t hi = a->exp > b->exp ? a->exp : b->exp;
    if (hi - lo > DEC_SUM_WIDTH - 2) {
        return err_set(err, ERR_INVALID_INPUT,
                       "the exact result needs more than %d significant digits",
                       ETL_DECIMAL_MAX_DIGITS);
    }
    int width = (int)(hi - lo) + 1; /* one more place for a carry */
    uint8_t va[DEC_SUM_WIDTH] = {0}, vb[DEC_SUM_WIDTH] = {0}, r[DEC_SUM_WIDTH] = {0};
    spread(a, lo, va);
    spread(b, lo, vb);
    bool neg;
    if (a->neg == neg_b) {
        int carry = 0;
        for (int i = 0; i < width; i++) {
            int s = va[i] + vb[i] + carry;
            r[i] = (uint8_t)(s % 10);
            carry = s / 10;
        }
        neg = a->neg;
    } else {
        int mag = cmp_mag(a, b);
        if (mag == 0) {
            memset(out, 0, sizeof(*out));
            return ERR_OK;
        }
        const uint8_t *big = mag > 0 ? va : vb, *small = mag > 0 ? vb : va;
        int borrow = 0;
        for (int i = 0; i < width; i++) {
            int s = big[i] - small[i] - borrow;
            borrow = s < 0;
            r[i] = (uint8_t)(s < 0 ? s + 10 : s);
        }
        neg = mag > 0 ? a->neg : neg_b;
    }
    return normalize(r, width, lo, neg, out, err);
}

enum err_code etl_decimal_mul(const struct etl_decimal *a,
                              const struct etl_decimal *b,
                              struct etl_decimal *out,
                              struct err *err)
{
    if (a->n == 0 || b->n == 0) {
        memset(out, 0, sizeof(*out));
        return ERR_OK;
    }
    /* Little-endian coefficients; the product has place value 10^(lo_a + lo_b) at index 0. */
    unsigned acc[2 * ETL_DECIMAL_MAX_DIGITS] = {0};
    for (int i = 0; i < a->n; i++) {
        unsigned da = (unsigned)(a->digits[a->n - 1 - i] - '0');
        for (int j = 0; j < b->n; j++) {
            acc[i + j] += da * (unsigned)(b->digits[b->n - 1 - j] - '0');
        }
    }
    uint8_t r[2 * ETL_DECIMAL_MAX_DIGITS + 1] = {0};
    unsigned carry = 0;
    int width = a->n + b->n;
    for (int i = 0; i < width; i++) {
        unsigned s = acc[i] + carry;
        r[i] = (uint8_t)(s % 10);
        carry = s / 10;
    }
    int64_t lo = ((int64_t)a->exp - a->n) + ((int64_t)b->exp - b->n);
    return normalize(r, width, lo, a->neg != b->neg, out, err);
}
