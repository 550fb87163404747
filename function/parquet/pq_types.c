/*
 * pq_types.c - physical types, widths and exact decimal conversion.
 */
#include "pq_types.h"

#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

static u128 pow10_u128(int n)
{
    u128 v = 1;
    for (int i = 0; i < n; i++) {
        v *= 10;
    }
    return v;
}

enum pq_physical pq_type_physical(const struct pq_type *t)
{
    switch (t->kind) {
    case PQ_STRING:
    case PQ_BINARY:
        return PQ_PHYS_BYTE_ARRAY;
    case PQ_BOOLEAN:
        return PQ_PHYS_BOOLEAN;
    case PQ_INT64:
    case PQ_TIMESTAMP_MS:
        return PQ_PHYS_INT64;
    case PQ_DECIMAL:
        break;
    }
    /* LogicalTypes.md, DECIMAL: int32 for 1 <= precision <= 9, int64 for precision <= 18. */
    if (t->precision <= 9) {
        return PQ_PHYS_INT32;
    }
    return t->precision <= 18 ? PQ_PHYS_INT64 : PQ_PHYS_FIXED_LEN_BYTE_ARRAY;
}

int pq_type_width(const struct pq_type *t)
{
    if (pq_type_physical(t) != PQ_PHYS_FIXED_LEN_BYTE_ARRAY) {
        return 0;
    }
    u128 largest = pow10_u128(t->precision) - 1;
    for (int n = 1; n <= 16; n++) {
        if (((u128)1 << (8 * n - 1)) > largest) {
            return n;
        }
    }
    return 16;
}

void pq_type_athena(const struct pq_type *t, char *out, size_t cap)
{
    char elem[32];
    switch (t->kind) {
    case PQ_STRING:
        snprintf(elem, sizeof(elem), "string");
        break;
    case PQ_BINARY:
        snprintf(elem, sizeof(elem), "binary");
        break;
    case PQ_BOOLEAN:
        snprintf(elem, sizeof(elem), "boolean");
        break;
    case PQ_INT64:
        snprintf(elem, sizeof(elem), "bigint");
        break;
    case PQ_TIMESTAMP_MS:
        snprintf(elem, sizeof(elem), "timestamp");
        break;
    case PQ_DECIMAL:
        snprintf(elem, sizeof(elem), "decimal(%d,%d)", t->precision, t->scale);
        break;
    }
    if (t->list) {
        snprintf(out, cap, "array<%s>", elem);
    } else {
        snprintf(out, cap, "%s", elem);
    }
}

static enum err_code bad(struct err *err, struct cur text, const char *why)
{
    return err_set(err, ERR_INVALID_INPUT, "number \"%.*s\": %s",
                   (int)(text.len > 64 ? 64 : text.len), (const char *)text.ptr, why);
}

enum err_code
pq_decimal_parse(struct cur text, int precision, int scale, pq_i128 *out, struct err *err)
{
    const uint8_t *p = text.ptr, *end = text.ptr + text.len;
    bool neg = false;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p++ == '-';
    }
    /* Significant digits without leading zeros, and the power of ten of the last one. */
    char digits[PQ_DECIMAL_MAX_PRECISION + 1];
    int nd = 0;
    long exp10 = 0;
    bool any = false, point = false;
    int trailing_lost = 0; /* digits past 38 that are zeros: they only scale */
    for (; p < end; p++) {
        if (*p == '.' && !point) {
            point = true;
            continue;
        }
        if (*p < '0' || *p > '9') {
            break;
        }
        any = true;
        if (point) {
            exp10--;
        }
        if (nd == 0 && *p == '0') {
            continue;
        }
        if (nd == PQ_DECIMAL_MAX_PRECISION) {
            if (*p != '0') {
                return bad(err, text, "has more than 38 significant digits");
            }
            trailing_lost++;
            exp10++;
            continue;
        }
        digits[nd++] = (char)*p;
    }
    if (!any) {
        return bad(err, text, "is not a number");
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '-' || *p == '+')) {
            eneg = *p++ == '-';
        }
        long e = 0;
        bool edig = false;
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            edig = true;
            if (e < 100000) {
                e = e * 10 + (*p - '0');
            }
        }
        if (!edig) {
            return bad(err, text, "has an empty exponent");
        }
        exp10 += eneg ? -e : e;
    }
    if (p != end) {
        return bad(err, text, "is not a number");
    }
    (void)trailing_lost;
    /* Drop trailing zeros of the digits while the scale does not need them. */
    while (nd > 0 && digits[nd - 1] == '0' && exp10 + scale < 0) {
        nd--;
        exp10++;
    }
    if (nd == 0) {
        *out = 0;
        return ERR_OK;
    }
    long shift = exp10 + scale; /* unscaled = digits * 10^shift */
    if (shift < 0) {
        char why[96];
        snprintf(why, sizeof(why), "has %ld decimal places, the column keeps %d", scale - shift,
                 scale);
        return bad(err, text, why);
    }
    if (nd + shift > precision) {
        char why[96];
        snprintf(why, sizeof(why), "needs %ld digits, decimal(%d,%d) holds %d", nd + shift,
                 precision, scale, precision);
        return bad(err, text, why);
    }
    u128 v = 0;
    for (int i = 0; i < nd; i++) {
        v = v * 10 + (u128)(digits[i] - '0');
    }
    v *= pow10_u128((int)shift);
    *out = neg ? -(pq_i128)v : (pq_i128)v;
    return ERR_OK;
}

void pq_decimal_to_be(pq_i128 v, int width, uint8_t *out)
{
    u128 u = (u128)v;
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (uint8_t)u;
        u >>= 8;
    }
}

void pq_decimal_format(pq_i128 v, int scale, char *out, size_t cap)
{
    char tmp[64];
    int n = 0;
    u128 u = v < 0 ? (u128)0 - (u128)v : (u128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0 || n <= scale);
    size_t o = 0;
    if (v < 0 && o + 1 < cap) {
        out[o++] = '-';
    }
    for (int i = n - 1; i >= 0 && o + 1 < cap; i--) {
        out[o++] = tmp[i];
        if (i == scale && scale > 0 && o + 1 < cap) {
            out[o++] = '.';
        }
    }
    if (cap > 0) {
        out[o] = '\0';
    }
}
