/*
 * etl_dqdl_types.h - the DQDL rule types this pipeline evaluates, with what awslabs/dqdl's
 * rules-config.json declares for each (parameters, the condition its return type takes, where
 * clause and threshold support), and the checks Glue's parser makes on a rule against them.
 * Ownership: specs are static; checks borrow the rule.
 */
#ifndef ETL_DQDL_TYPES_H
#define ETL_DQDL_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "etl_dqdl.h"

#define ETL_DQDL_MANY ((unsigned)-1) /* a var-arg parameter list: no upper bound */

struct etl_dqdl_type_spec {
    const char *name;
    enum etl_dqdl_rtype type;
    unsigned min_params;
    unsigned max_params;
    unsigned conds; /* bits (1u << ETL_DQDL_C_*) of the condition kinds it takes; 0: none */
    bool where;     /* is_where_clause_supported */
    bool threshold; /* is_threshold_supported */
    bool row_level; /* decides each row (IsComplete, ColumnValues, ColumnLength) */
};

/* The spec of a supported rule type by its DQDL name (case-sensitive); NULL when it is not one.
 * *known_to_glue tells whether Glue has a rule type of that name. */
const struct etl_dqdl_type_spec *etl_dqdl_types_find(const char *name, bool *known_to_glue);
/* The spec of a type (NULL for ETL_DQDL_COMPOSITE). */
const struct etl_dqdl_type_spec *etl_dqdl_types_spec(enum etl_dqdl_rtype type);
/* Writes "RowCount, ColumnCount, ..." into out, as many names as fit, then " and N more". */
void etl_dqdl_types_list(char *out, size_t cap);

/*
 * Checks a parsed leaf against its spec, as Glue's listener does, and decides the kind of its
 * condition and threshold (r->cond.kind, r->threshold.kind). On failure *off is where the
 * problem is in the ruleset's text and err holds the message without a position.
 */
MUST_CHECK enum err_code etl_dqdl_types_check(const struct etl_dqdl_type_spec *spec,
                                              struct etl_dqdl_rule *r,
                                              size_t *off,
                                              struct err *err);

/* The metric a DetectAnomalies rule watches, from its parameters ("RowCount"; "Completeness"
 * "email"): the rule type whose metric it is; ETL_DQDL_COMPOSITE when it names none we have. */
enum etl_dqdl_rtype etl_dqdl_types_anomaly_metric(const struct etl_dqdl_rule *r);

#endif
