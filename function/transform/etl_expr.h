/*
 * etl_expr.h - the expression language of filters, derived columns, routing conditions and the
 * where clauses of data-quality rules: a subset of SQL with Trino's (Athena's) function names.
 *   values     column paths (etl_colpath.h: address.city, items[0], "Order Id"), literals
 *              ('text' with '' for a quote, 12, -1.5, 1e3, TRUE, FALSE, NULL,
 *              DATE '2026-11-24', TIMESTAMP '2026-11-24 07:00:00[.123]' (ISO-8601, UTC unless
 *              it has an offset))
 *   operators  = <> != < <= > >=, [NOT] IN (...), [NOT] BETWEEN a AND b, IS [NOT] NULL,
 *              [NOT] LIKE 'pattern' [ESCAPE 'c'] (% and _), AND, OR, NOT, parentheses,
 *              || (concatenation), + - * (exact on numbers), / (double), unary - and +
 *              (precedence and keywords: etl_expr_parse.h)
 *   functions  lower, upper, length, trim, ltrim, rtrim, substr(s, start[, length]) (1-based, as
 *              Trino; also substring), split_part(s, delimiter, index), concat(a, ...),
 *              replace(s, from[, to]), starts_with(s, prefix), ends_with(s, suffix),
 *              strpos(s, sub), regexp_like(s, re), regexp_extract(s, re[, group]),
 *              coalesce(a, ...), nullif(a, b), if(c, a[, b]), from_unixtime(seconds),
 *              to_unixtime(ts), date_format(ts, format) (MySQL's specifiers, as Trino: %Y %m %d
 *              %H %i %s %f %y %M %b %a %W %j %p %T %r ...; etl_datetime.h), to_iso8601(ts),
 *              date(x), abs(n), cast(x AS type), try_cast(x AS type)
 *   keywords and function names are case-insensitive; column names are case-sensitive.
 * Semantics follow SQL: NULL propagates through operators and most functions, AND/OR use
 * three-valued logic, a comparison of kinds that do not compare (etl_value_compare) is NULL, and
 * a filter keeps a row only when its condition is TRUE. Regular expressions are POSIX extended
 * with Java's \d \D \w \W \s \S classes translated; constructs POSIX lacks (lookaround,
 * backreferences, lazy quantifiers) are compile errors, never silently different matches
 * (etl_regex.h). Evaluation is deterministic (no now(), no random): the same row always gives
 * the same value.
 * Trino's semantics kept: substr counts code points, 0 or past the end is '', a negative start
 * counts from the end; split_part's index is 1-based, past the last field is NULL, 0 or less is
 * an error, an empty delimiter splits into code points; concat and || with a NULL are NULL;
 * strpos is 1-based (0: absent, 1 for ''); replace with an empty search inserts between code
 * points; trim removes Java's whitespace (not U+00A0); lower/upper map code points one to one
 * (etl_casemap.h: ß stays); LIKE's escape must precede %, _ or itself; regexp_extract with a
 * group past the pattern's is an error; coalesce and if evaluate only what they return;
 * from_unixtime rounds to the millisecond as Math.round does (halves up), but on the exact
 * number; %D %U %u %V %w %X are refused.
 * Where we differ on purpose (values are typed per row, and numbers are exact):
 *   - numeric literals are exact NUMBERs (Trino reads 1e3 as DOUBLE); + - * on NUMBERs are exact
 *     and written in their shortest form (12.50 + 1 is 13.5; Trino's decimal keeps 13.50); a
 *     result needing more than 38 digits is an error; / always divides as doubles (5 / 2 is
 *     2.5, not 2) and dividing by zero is an error (not Infinity).
 *   - no implicit casts: NUMBER = STRING is NULL, not a type error or a cast; string functions,
 *     || and LIKE take any non-NULL value through its text (etl_value_text: 12.50, true, the
 *     ISO time) where Trino would reject the call; date_format, to_unixtime and to_iso8601 also
 *     take an ISO-8601 STRING (read as CAST(x AS timestamp) does).
 *   - TIMESTAMP values are UTC instants: to_iso8601 and CAST(ts AS varchar) write
 *     2026-11-24T07:00:00.000Z (Trino: 2026-11-24 07:00:00.000 for a timestamp without zone);
 *     from_unixtime gives a TIMESTAMP, not a timestamp with the session's zone.
 *   - casts never round or truncate (etl_cast.h); try_cast gives NULL only for a value that does
 *     not cast.
 *   - regular expressions take the leftmost-longest match (POSIX; Trino the leftmost-first).
 *   - JSON values (M, L, sets) compare for equality only, bytewise; NaN compares as NULL.
 *   - at most 64 arguments a call (Trino 254), 64 levels of nesting, 65536 bytes of text.
 * Ownership: a compiled expression owns its tree; values it returns borrow the row, the
 *   expression (literals) or the environment's arena; they are valid until the arena is reset
 *   and the expression freed. Evaluation allocates nothing but arena bytes (regexec allocates
 *   internally).
 * Errors: compile errors name the 1-based column (in characters): `column 17: expected ')' after
 *   the arguments of substr, found the end`; an unknown function or a wrong number of arguments
 *   is a compile error, as are literal arguments a function cannot take (a refused regex, a
 *   refused date_format specifier, split_part index 0, a regexp_extract group past the
 *   pattern's). At run time a value a function cannot take (cast of "abc" to bigint;
 *   date_format of a number) is ERR_INVALID_INPUT naming the column, the function and the value
 *   (`column 1: CAST: "abc" is not a number: it does not cast to bigint`), except in try_cast
 *   (NULL).
 * Threads: a compiled expression may be evaluated by one thread at a time (its regexes).
 */
#ifndef ETL_EXPR_H
#define ETL_EXPR_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"
#include "etl_colpath.h"
#include "etl_value.h"

struct etl_expr;

/* Where column paths are looked up: the row being transformed or checked. */
struct etl_expr_env {
    MUST_CHECK enum err_code (*lookup)(void *ctx,
                                       const struct etl_colpath *path,
                                       struct etl_value *out,
                                       struct err *err);
    void *ctx;
    struct etl_arena *arena; /* computed values */
};

MUST_CHECK enum err_code etl_expr_compile(struct cur text, struct etl_expr **out, struct err *err);
/* Accepts NULL. */
void etl_expr_free(struct etl_expr *e);
MUST_CHECK enum err_code etl_expr_eval(const struct etl_expr *e,
                                       const struct etl_expr_env *env,
                                       struct etl_value *out,
                                       struct err *err);
/* SQL's WHERE: true only for BOOL true. */
static inline bool etl_value_is_true(const struct etl_value *v)
{
    return v->kind == ETL_V_BOOL && v->b;
}
/* Calls fn for every column path the expression reads (validation, lineage). */
void etl_expr_paths(const struct etl_expr *e,
                    void (*fn)(void *ctx, const struct etl_colpath *path),
                    void *ctx);
/* The expression's text as compiled (for messages). */
const char *etl_expr_text(const struct etl_expr *e);

#endif
