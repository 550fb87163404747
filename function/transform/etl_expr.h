/*
 * etl_expr.h - the expression language of filters, derived columns, routing conditions and the
 * where clauses of data-quality rules: a subset of SQL with Trino's (Athena's) function names.
 *   values     column paths (etl_colpath.h: address.city, items[0], "Order Id"), literals
 *              ('text' with '' for a quote, 12, -1.5, 1e3, TRUE, FALSE, NULL,
 *              DATE '2026-11-24', TIMESTAMP '2026-11-24 07:00:00[.123]')
 *   operators  = <> != < <= > >=, [NOT] IN (...), [NOT] BETWEEN a AND b, IS [NOT] NULL,
 *              [NOT] LIKE 'pattern' [ESCAPE 'c'] (% and _), AND, OR, NOT, parentheses,
 *              || (concatenation), + - * (exact on numbers), / (double), unary -
 *   functions  lower, upper, length, trim, ltrim, rtrim, substr(s, start[, length]) (1-based, as
 *              Trino), split_part(s, delimiter, index), concat(a, ...), replace(s, from[, to]),
 *              starts_with(s, prefix), ends_with(s, suffix), strpos(s, sub), regexp_like(s, re),
 *              regexp_extract(s, re[, group]), coalesce(a, ...), nullif(a, b), if(c, a[, b]),
 *              from_unixtime(seconds), to_unixtime(ts), date_format(ts, format) (MySQL's
 *              specifiers, as Trino: %Y %m %d %H %i %s %f %y %M %b %a %W %j %p %T %r ...),
 *              to_iso8601(ts), date(x), abs(n), cast(x AS type), try_cast(x AS type)
 *   keywords and function names are case-insensitive; column names are case-sensitive.
 * Semantics follow SQL: NULL propagates through operators and most functions, AND/OR use
 * three-valued logic, a comparison of kinds that do not compare (etl_value_compare) is NULL, and
 * a filter keeps a row only when its condition is TRUE. Regular expressions are POSIX extended
 * with Java's \d \D \w \W \s \S classes translated; constructs POSIX lacks (lookaround,
 * backreferences, lazy quantifiers) are compile errors, never silently different matches.
 * Evaluation is deterministic (no now(), no random): the same row always gives the same value.
 * Ownership: a compiled expression owns its tree; values it returns borrow the row or the
 *   environment's arena.
 * Errors: compile errors name the 1-based column: `column 17: expected ')' after the arguments
 *   of substr`; an unknown function or a wrong number of arguments is a compile error. At run
 *   time a value a function cannot take (cast of "abc" to bigint; date_format of a number) is
 *   ERR_INVALID_INPUT naming the function and the value, except in try_cast (NULL).
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
