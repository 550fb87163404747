/*
 * etl_typespec.h - the column types a transform spec names, in Athena's and Glue's words:
 *   string (varchar), bigint, int (integer), smallint, tinyint, double, float (real),
 *   decimal(p,s) (1 <= p <= 38, 0 <= s <= p), boolean, timestamp, date, binary,
 *   array<T>, map<string,T>
 * Names are case-insensitive and may have spaces after commas ("decimal(10, 2)"). Aliases Trino
 * and Hive use are accepted: varchar (string), integer (int), real (float), varbinary (binary),
 * decimal(p) (decimal(p,0)). varchar(n) is refused: Trino truncates to n, and our casts never
 * truncate. Nesting is at most 16 levels.
 * Ownership: a parsed type is a small tree the caller frees with etl_typespec_free.
 */
#ifndef ETL_TYPESPEC_H
#define ETL_TYPESPEC_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

enum etl_tkind {
    ETL_TK_STRING = 0,
    ETL_TK_BIGINT,
    ETL_TK_INT,
    ETL_TK_SMALLINT,
    ETL_TK_TINYINT,
    ETL_TK_DOUBLE,
    ETL_TK_FLOAT,
    ETL_TK_DECIMAL,
    ETL_TK_BOOLEAN,
    ETL_TK_TIMESTAMP,
    ETL_TK_DATE,
    ETL_TK_BINARY,
    ETL_TK_ARRAY,
    ETL_TK_MAP,
};

struct etl_typespec {
    enum etl_tkind kind;
    int precision;             /* DECIMAL */
    int scale;                 /* DECIMAL */
    struct etl_typespec *elem; /* ARRAY: the element type; MAP: the value type (keys: string) */
};

/* The text every "expected one of" message lists. */
#define ETL_TYPESPEC_EXPECTED                                                                      \
    "string, bigint, int, smallint, tinyint, double, float, decimal(p,s), boolean, timestamp, "    \
    "date, binary, array<T>, map<string,T>"

/* Parses a type name; an unknown one is ERR_INVALID_INPUT: `unknown type "int64" (expected one of
 * ...)`; other errors quote the text and name the 1-based column or the bound: `type
 * "decimal(10,2": expected ')' at column 13`, `type "decimal(40,2)": decimal precision must be 1 to
 * 38`. */
MUST_CHECK enum err_code
etl_typespec_parse(struct cur text, struct etl_typespec **out, struct err *err);
/* Accepts NULL. */
void etl_typespec_free(struct etl_typespec *t);
/* The Athena DDL spelling ("decimal(10,2)", "array<bigint>", "map<string,string>"), cut to fit
 * cap (always NUL-terminated when cap > 0). */
void etl_typespec_name(const struct etl_typespec *t, char *out, size_t cap);

#endif
