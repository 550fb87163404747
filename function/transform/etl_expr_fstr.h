/*
 * etl_expr_fstr.h - the string functions expressions may call: lower, upper, length, trim, ltrim,
 * rtrim, substr (substring), split_part, concat, replace, starts_with, ends_with, strpos, as
 * Trino defines them (etl_expr.h lists the semantics). etl_expr_func_lookup finds them here.
 * Ownership: a static table.
 */
#ifndef ETL_EXPR_FSTR_H
#define ETL_EXPR_FSTR_H

#include <stddef.h>

#include "etl_expr_func.h"

extern const struct etl_expr_func etl_expr_fstr_funcs[];
extern const size_t etl_expr_fstr_count;

#endif
