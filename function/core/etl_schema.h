/*
 * etl_schema.h - what a crawler would infer, observed on rows: each top-level attribute's
 * DynamoDB types with counts, and for numbers the widest integer part and scale, so the DDL (and
 * a typed writer, told the schema before its first row) can choose bigint, decimal(38,s) or
 * string without losing a digit. Metadata columns are not attributes and are not counted.
 * Ownership: a schema owns its attributes (etl_schema_cleanup); inputs are borrowed.
 * Threads: one owner at a time (each export segment has its own; they are merged at the end).
 */
#ifndef ETL_SCHEMA_H
#define ETL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_names.h"
#include "etl_row.h"
#include "jsonw.h"

struct etl_schema_attr {
    char *name;                   /* unescaped UTF-8 */
    uint64_t counts[ETL_T_COUNT]; /* DynamoDB types, and TIMESTAMP from a cast */
    int int_digits;               /* widest integer part among N values */
    int scale;                    /* most digits after the point among N values */
    bool exponent;                /* some N value used an exponent */
};

/* Attribute names a schema tracks: the first this many it meets (a merge adds the other's in
 * its order). Values of any further attribute are only counted (overflow_values): memory, the
 * checkpoints and the DDL stay bounded whatever the table holds. */
#define ETL_SCHEMA_MAX_ATTRS 1000

struct etl_schema {
    struct etl_schema_attr *attrs;
    size_t n;
    size_t cap;
    uint64_t items;
    uint64_t overflow_values; /* values of attributes past ETL_SCHEMA_MAX_ATTRS */
    struct etl_names index;   /* attribute names (borrowing attrs[i].name) to i */
    struct buf name;          /* etl_schema_observe's scratch: the unescaped attribute name */
};

void etl_schema_init(struct etl_schema *s);
void etl_schema_cleanup(struct etl_schema *s);
void etl_schema_reset(struct etl_schema *s);

/* Counts one row (its item attributes). */
MUST_CHECK enum err_code
etl_schema_observe(struct etl_schema *s, const struct etl_row_ref *row, struct err *err);
MUST_CHECK enum err_code
etl_schema_merge(struct etl_schema *dst, const struct etl_schema *src, struct err *err);

/* {"items":N,"attributes":[{"name":...,"types":{"S":n,...},"number":{...}}]} sorted by name,
 * and "overflow_values":N when there were more attributes than ETL_SCHEMA_MAX_ATTRS. */
MUST_CHECK enum err_code
etl_schema_to_json(const struct etl_schema *s, struct buf *out, struct err *err);
/* The same document as a value of a larger one. */
void etl_schema_write(const struct etl_schema *s, struct jsonw *w);
/* Reads what etl_schema_to_json wrote (merging into s). */
MUST_CHECK enum err_code
etl_schema_from_json(struct etl_schema *s, struct cur text, struct err *err);

/* The Athena type for an attribute (string, bigint, decimal(38,s), boolean, array<string>). */
void etl_schema_athena_type(const struct etl_schema_attr *a, char *out, size_t cap);

/* The attributes in name order (pointers into s; valid until s changes). */
MUST_CHECK enum err_code
etl_schema_sorted(const struct etl_schema *s, const struct etl_schema_attr ***out, struct err *err);

#endif
