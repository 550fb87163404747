/*
 * etl_value.h - a value as transforms, expressions and data-quality rules see it: one of a few
 * SQL-like kinds, each holding exactly what the data held (a NUMBER is its decimal text, never a
 * double; a STRING its unescaped UTF-8 bytes), plus the arena computed values live in.
 *
 * Kinds and where they come from (etl_value_from_col):
 *   NULL      DynamoDB NULL, a missing column or path, an SQL NULL
 *   BOOL      DynamoDB BOOL, comparisons, boolean casts
 *   NUMBER    DynamoDB N (its exact digits, in JSON grammar: -?D+(.D+)?([eE][+-]?D+)?), integer and
 *             decimal casts; compared exactly, never through a double
 *   DOUBLE    double casts and functions that return doubles
 *   STRING    DynamoDB S (unescaped UTF-8), string functions
 *   BINARY    DynamoDB B (decoded bytes)
 *   TIMESTAMP the _ts column, timestamp casts, from_unixtime: epoch milliseconds, UTC
 *   DATE      date casts: days since 1970-01-01
 *   JSON      M, L, SS, NS, BS: the JSON text they render to (object or array)
 * Inside a JSON value, members are read with JSON's types (etl_value_from_json): string, number,
 * true/false, null, object/array.
 *
 * Ownership: a value borrows its bytes (from a row store, an event, or an arena, etl_arena.h);
 *   it is valid as long as they are.
 * Threads: one owner at a time.
 */
#ifndef ETL_VALUE_H
#define ETL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_arena.h"
#include "etl_row.h"
#include "json.h"

enum etl_vkind {
    ETL_V_NULL = 0,
    ETL_V_BOOL,
    ETL_V_NUMBER,
    ETL_V_DOUBLE,
    ETL_V_STRING,
    ETL_V_BINARY,
    ETL_V_TIMESTAMP,
    ETL_V_DATE,
    ETL_V_JSON,
};

struct etl_value {
    enum etl_vkind kind;
    bool b;       /* BOOL */
    double d;     /* DOUBLE */
    int64_t i;    /* TIMESTAMP: epoch ms; DATE: days since 1970-01-01 */
    struct cur s; /* NUMBER: decimal text; STRING, BINARY: bytes; JSON: JSON text */
};

/* The name of a kind, for messages ("NUMBER", "STRING", ...). */
const char *etl_vkind_name(enum etl_vkind k);

static inline struct etl_value etl_value_null(void)
{
    struct etl_value v = {ETL_V_NULL, false, 0, 0, {NULL, 0}};
    return v;
}

/* ---- making values ---- */

/* The value of a typed row column (see the table above). Strings with escapes and B values are
 * decoded into the arena; everything else borrows the row store. A column whose value is null
 * is NULL whatever its type; a TIMESTAMP column is read as the lake writes it
 * (etl_time_parse_iso8601_ms), or as any ISO-8601 form etl_datetime_parse_iso8601 takes. A value
 * that does not fit its type (a BOOL column holding 1) is ERR_INVALID_INPUT. */
MUST_CHECK enum err_code etl_value_from_col(const struct etl_col *c,
                                            struct etl_arena *arena,
                                            struct etl_value *out,
                                            struct err *err);
/* The value of a JSON value found inside an M or L rendering (or any validated JSON). */
MUST_CHECK enum err_code etl_value_from_json(const struct json_val *v,
                                             struct etl_arena *arena,
                                             struct etl_value *out,
                                             struct err *err);

/* ---- comparing ---- */

/*
 * SQL comparison of a and b: *cmp is <0, 0 or >0. Kinds that compare: NUMBER with NUMBER
 * (exactly, by value: 1.50 = 1.5, 1E+2 = 100), NUMBER or DOUBLE with DOUBLE (as doubles), STRING
 * with STRING (bytewise, as Trino's varchar), BOOL with BOOL (false < true), TIMESTAMP with
 * TIMESTAMP, DATE with DATE, TIMESTAMP with DATE (the date's midnight), TIMESTAMP or DATE with a
 * STRING that parses as an ISO-8601 date or time, BINARY with BINARY, JSON with JSON (equality
 * only: bytewise; *cmp orders the bytes, which means nothing, so callers use it for = and <>
 * only). Any NULL, NaN, a NUMBER that does not parse (over 38 digits), or kinds that do not
 * compare (NUMBER with STRING: no implicit casts) give false (SQL's unknown): the caller treats
 * the comparison as NULL. Returns true when *cmp is meaningful.
 */
bool etl_value_compare(const struct etl_value *a, const struct etl_value *b, int *cmp);

/* ---- rendering ---- */

/*
 * Appends v as the JSON a row holds: NULL null; BOOL true/false; NUMBER its text (a text not in
 * JSON grammar, "+5" or ".5", is rewritten plain: "5", "0.5"); DOUBLE the shortest text that
 * reads back as the same double (%.15g, %.16g or %.17g; NaN and infinities are null); STRING a
 * JSON string literal; BINARY its base64 as a string; TIMESTAMP "2026-11-24T07:00:00.000Z"; DATE
 * "2026-11-24"; JSON its text.
 * Byte-exactness: every kind read from a column renders back to the same bytes, except a STRING
 * whose S literal had escapes: it is re-escaped canonically (buf_append_json_str: \" \\ \n \r
 * \t \b \f, other control characters \u00xx, everything else raw UTF-8), so "\u00e9" comes
 * back as "é" and "\/" as "/". A caller that must keep such a literal copies the column.
 */
MUST_CHECK enum err_code
etl_value_render_json(const struct etl_value *v, struct buf *out, struct err *err);
/* The row type that rendering has (ETL_T_S for STRING, ETL_T_N for NUMBER and DOUBLE, ETL_T_B,
 * ETL_T_BOOL, ETL_T_NULL, ETL_T_TIMESTAMP, ETL_T_S for DATE, ETL_T_M or ETL_T_L for JSON by its
 * first byte). */
enum etl_type etl_value_row_type(const struct etl_value *v);

/* The text of v as string functions and string casts see it: STRING its bytes; NUMBER its
 * digits; DOUBLE as rendered (NaN, Infinity and -Infinity, which render as null, as Trino
 * writes them); BOOL "true"/"false"; TIMESTAMP and DATE as rendered, unquoted; BINARY its
 * base64; JSON its text. Only BINARY, DOUBLE, TIMESTAMP and DATE text is written into the arena.
 * NULL has no text: *out is empty (ptr NULL) and the call returns ERR_OK, so callers check the
 * kind first. */
MUST_CHECK enum err_code etl_value_text(const struct etl_value *v,
                                        struct etl_arena *arena,
                                        struct cur *out,
                                        struct err *err);

#endif
