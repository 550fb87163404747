/*
 * etl_expr_parse.h - the expression grammar: a hand-written recursive-descent parser with SQL's
 * precedence, lowest first:
 *   OR < AND < NOT < comparison, [NOT] IN, [NOT] BETWEEN, [NOT] LIKE, IS [NOT] NULL
 *      < || < + - < * / < unary - +
 * Comparisons do not chain (a = b = c is an error: write AND). AND, OR and || are n-ary nodes.
 * Keywords (AND OR NOT IN IS NULL TRUE FALSE LIKE BETWEEN ESCAPE) are reserved: a column of that
 * name is written quoted ("in"). CAST, TRY_CAST, DATE, TIMESTAMP and function names are
 * keywords only where the grammar needs them (before '(' or a string), so columns named date or
 * lower need no quotes.
 * Errors are ERR_INVALID_INPUT with the 1-based column (in characters) and what was expected:
 * `column 17: expected ')' after the arguments of substr`.
 * Ownership: the tree is the caller's (etl_expr_node_free).
 */
#ifndef ETL_EXPR_PARSE_H
#define ETL_EXPR_PARSE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "etl_expr_node.h"

/* Expressions longer than this are refused (specs are written by people, not generated). */
#define ETL_EXPR_PARSE_MAX_TEXT 65536

/* Parses a whole expression; calls are checked for arity and prepared (etl_expr_func). */
MUST_CHECK enum err_code
etl_expr_parse_tree(struct cur text, struct etl_expr_node **out, struct err *err);

/* The column of byte `offset` of a string literal's value (offset counts unescaped bytes: ''
 * in the source is one quote), for errors found inside a literal (a regex construct). */
size_t
etl_expr_parse_literal_column(struct cur text, const struct etl_expr_node *lit, size_t offset);

#endif
