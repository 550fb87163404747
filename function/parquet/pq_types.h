/*
 * pq_types.h - the column types this writer produces, and how each maps onto Parquet's physical
 * type and annotations (LogicalTypes.md): STRING, BINARY, BOOLEAN, INT64, TIMESTAMP(MILLIS, UTC),
 * DECIMAL(p,s) on the narrowest physical type (INT32 to 9 digits, INT64 to 18, else
 * FIXED_LEN_BYTE_ARRAY of the fewest bytes), each optional, alone or as the element of a 3-level
 * LIST. Also the exact conversion of decimal text to a DECIMAL's unscaled integer.
 * Ownership: plain values.
 */
#ifndef PQ_TYPES_H
#define PQ_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* parquet.thrift Type. */
enum pq_physical {
    PQ_PHYS_BOOLEAN = 0,
    PQ_PHYS_INT32 = 1,
    PQ_PHYS_INT64 = 2,
    PQ_PHYS_BYTE_ARRAY = 6,
    PQ_PHYS_FIXED_LEN_BYTE_ARRAY = 7,
};

enum pq_kind {
    PQ_STRING = 0, /* BYTE_ARRAY, STRING / UTF8 */
    PQ_BINARY,     /* BYTE_ARRAY */
    PQ_BOOLEAN,
    PQ_INT64,
    PQ_TIMESTAMP_MS, /* INT64, TIMESTAMP(isAdjustedToUTC=true, MILLIS) / TIMESTAMP_MILLIS */
    PQ_DECIMAL,      /* DECIMAL(precision, scale) / DECIMAL */
};

struct pq_type {
    enum pq_kind kind;
    int precision; /* PQ_DECIMAL: 1 to 38 */
    int scale;     /* PQ_DECIMAL: 0 to precision */
    bool list;     /* a 3-level LIST of optional elements of this kind */
};

#define PQ_DECIMAL_MAX_PRECISION 38

enum pq_physical pq_type_physical(const struct pq_type *t);
/* FIXED_LEN_BYTE_ARRAY's width (the fewest bytes whose two's complement holds 10^p - 1); 0 for
 * other physical types. */
int pq_type_width(const struct pq_type *t);
/* "string", "binary", "boolean", "bigint", "timestamp", "decimal(p,s)", "array<...>": the Athena
 * (Hive) type that reads the column. */
void pq_type_athena(const struct pq_type *t, char *out, size_t cap);

__extension__ typedef __int128 pq_i128;

/* The unscaled integer of a DynamoDB number (optional sign, digits, optional fraction and
 * exponent) as DECIMAL(precision, scale): exact or an error that says why ("has 3 decimal places,
 * the column keeps 2", "needs 13 digits, the column holds 12"). Nothing is ever rounded. */
MUST_CHECK enum err_code
pq_decimal_parse(struct cur text, int precision, int scale, pq_i128 *out, struct err *err);
/* Big-endian two's complement of v in width bytes (FIXED_LEN_BYTE_ARRAY decimals). */
void pq_decimal_to_be(pq_i128 v, int width, uint8_t *out);
/* The decimal text of unscaled v at scale ("-12.50"), NUL-terminated (cap >= 42). */
void pq_decimal_format(pq_i128 v, int scale, char *out, size_t cap);

#endif
