/*
 * etl_expr_func.h - the functions an expression may call, with Trino's names and semantics (see
 * etl_expr.h for the list and the deliberate differences), found by name at compile time.
 * Arguments are checked for count when the call is compiled, for kind when it runs; a call whose
 * arguments are literals (a regex, a date_format format) is prepared once at compile time.
 * Ownership: the table is static; prepared state belongs to the call node.
 */
#ifndef ETL_EXPR_FUNC_H
#define ETL_EXPR_FUNC_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_expr_node.h"

struct etl_expr_func {
    const char *name;
    unsigned min_args;
    unsigned max_args;
    /* Called even when an argument is NULL (nullif); otherwise any NULL argument gives NULL. */
    bool keeps_null;
    /* With the arguments evaluated (args has call->n_kids values). */
    enum err_code (*eval)(const struct etl_expr_node *call,
                          const struct etl_value *args,
                          const struct etl_expr_env *env,
                          struct etl_value *out,
                          struct err *err);
    /* Instead of eval, for functions that evaluate only some arguments (coalesce, if). */
    enum err_code (*eval_lazy)(const struct etl_expr_node *call,
                               etl_expr_node_eval_fn eval,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err);
    /* At compile time, with the expression's text (for the columns of errors); may be NULL. */
    enum err_code (*prepare)(struct etl_expr_node *call, struct cur text, struct err *err);
};

/* The function of that name (case-insensitive), or NULL. */
const struct etl_expr_func *etl_expr_func_lookup(struct cur name);

/* ---- for the modules that implement functions ---- */

void etl_expr_func_set_string(struct etl_value *out, struct cur s);
void etl_expr_func_set_bool(struct etl_value *out, bool b);
/* A NUMBER holding v, its text in the arena. */
MUST_CHECK enum err_code
etl_expr_func_set_i64(struct etl_value *out, int64_t v, struct etl_arena *arena, struct err *err);
/* An integer argument: an integral NUMBER or DOUBLE within int64; otherwise "column N: substr:
 * start must be an integer, got NUMBER 1.5" (what names the argument). */
MUST_CHECK enum err_code etl_expr_func_int_arg(const struct etl_expr_node *call,
                                               const struct etl_value *v,
                                               const char *what,
                                               int64_t *out,
                                               struct err *err);

#endif
