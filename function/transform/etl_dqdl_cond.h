/*
 * etl_dqdl_cond.h - the conditions of DQDL rules and their operands: numbers (literals,
 * arithmetic, function calls), strings, NULL/EMPTY/WHITESPACES_ONLY, dates, times, now() with an
 * offset, durations, and $variables. Which kinds a rule accepts is etl_dqdl_types' business.
 * Private to the parser (etl_dqdl_parser.h).
 */
#ifndef ETL_DQDL_COND_H
#define ETL_DQDL_COND_H

#include <stdbool.h>

#include "err.h"
#include "etl_dqdl.h"
#include "etl_dqdl_lex.h"
#include "etl_dqdl_parser.h"

/* True when a token of this kind starts a condition (between, not, > >= < <= = !, in, matches). */
bool etl_dqdl_cond_starts(enum etl_dqdl_tok kind);
/* A whole condition: operator and operands; c->text is what was written. */
enum err_code etl_dqdl_cond_parse(struct etl_dqdl_parser *ps, struct etl_dqdl_cond *c);
/* One operand (a $variable standing for one string included). */
enum err_code etl_dqdl_cond_operand(struct etl_dqdl_parser *ps, struct etl_dqdl_value *v);
/* [operand, ...] or a $variable holding a list. */
enum err_code etl_dqdl_cond_operand_list(struct etl_dqdl_parser *ps, struct etl_dqdl_cond *c);
/* $name: the declared variable; NULL (and an error) when it is not declared. */
const struct etl_dqdl_parser_var *etl_dqdl_cond_var_ref(struct etl_dqdl_parser *ps);

#endif
