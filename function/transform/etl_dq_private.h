/*
 * etl_dq_private.h - compiled rules and the per-rule aggregates, shared by the modules of the
 * evaluator (etl_dq.c compiles, etl_dq_row.c decides rows, etl_dq_partial.c aggregates and
 * serializes, etl_dq_result.c renders verdicts). Not for callers: they use etl_dq.h,
 * etl_dq_partial.h and etl_dq_result.h.
 */
#ifndef ETL_DQ_PRIVATE_H
#define ETL_DQ_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etl_colpath.h"
#include "etl_decimal.h"
#include "etl_dq.h"
#include "etl_dq_hashset.h"
#include "etl_dqdl.h"
#include "etl_expr.h"
#include "etl_regex.h"
#include "etl_typespec.h"
#include "etl_value.h"

/* A column a rule reads: its name as the rule gives it, as a one-segment path. */
struct etl_dq_column {
    const char *name;
    struct etl_colpath path;
};

/* A condition operand, compiled. */
struct etl_dq_operand {
    enum etl_dqdl_vkind kind;
    struct etl_value v; /* NUMBER: ETL_V_NUMBER holding the literal's text (compared exactly) */
    double d;           /* NUMBER: the value as a double; DURATION: hours, as deequ rounds them */
    const char *str;    /* STRING, DATE, TIME: the text a string condition compares */
    size_t str_len;
    int64_t days;      /* DATE */
    int64_t offset_ms; /* NOW: the signed offset from now */
};

struct etl_dq_cond {
    enum etl_dqdl_op op;
    enum etl_dqdl_ckind kind;
    struct etl_dq_operand *ops;
    size_t n;
    bool has_null; /* a NULL operand (ColumnValues = NULL, in [..., NULL]) */
};

struct etl_dq_leaf {
    const struct etl_dqdl_rule *src;
    enum etl_dqdl_rtype type;   /* the rule's own type */
    enum etl_dqdl_rtype metric; /* what is aggregated: the type, or DetectAnomalies' metric */
    size_t *cols;               /* indexes into rules->cols */
    size_t n_cols;
    struct etl_expr *where;
    struct etl_regex *regex;   /* matches: the whole value must match */
    struct etl_typespec *cast; /* ColumnDataType: the type a value must cast to */
    struct etl_dq_cond cond;
    struct etl_dq_cond threshold;
    bool row_level;
    char *metric_name; /* "Dataset.*.RowCount", "Column.email.Completeness", ... */
};

struct etl_dq_node {
    bool is_leaf;
    size_t leaf; /* is_leaf */
    bool is_or;
    const struct etl_dq_node *lhs;
    const struct etl_dq_node *rhs;
    bool row_level; /* every leaf below decides rows */
};

struct etl_dq_rules {
    struct etl_dqdl_ruleset *rs;
    struct etl_dq_rule_info *info; /* one per top-level rule */
    const struct etl_dq_node **roots;
    size_t n;
    struct etl_dq_leaf *leaves;
    size_t n_leaves;
    struct etl_dq_node *nodes;
    size_t n_nodes;
    struct etl_dq_column *cols;
    size_t n_cols;
    struct etl_typespec *date_type;
    struct etl_typespec *timestamp_type;
    size_t max_distinct;
};

/* What one leaf has seen; which fields count depends on its metric. */
struct etl_dq_agg {
    uint64_t rows;      /* rows in scope (the where clause held) */
    uint64_t pass;      /* of them, rows whose row condition held */
    uint64_t null_fail; /* rows that failed it with a NULL value */
    uint64_t *nonnull;  /* per column: rows whose value was not NULL */
    uint64_t grouped;   /* rows with a non-NULL value in some column (Uniqueness' denominator) */
    bool has_range;     /* min and max are set */
    double min;         /* ColumnValues on numbers: the values; ColumnLength: the lengths */
    double max;
    uint64_t n;   /* numbers seen (Mean, Sum, StandardDeviation) */
    uint64_t bad; /* values that are not numbers and not NULL */
    struct etl_decimal sum;
    bool sum_inexact;   /* the exact sum left 38 digits: sum_ld holds it */
    long double sum_ld; /* the sum, always */
    long double mean;   /* Welford's and Chan's running mean and M2 */
    long double m2;
    struct etl_dq_hashset set;
    uint64_t errors; /* rows whose evaluation failed (a where clause that does not run) */
    char first_error[256];
};

struct etl_dq_partial {
    const struct etl_dq_rules *rules;
    struct etl_dq_agg *aggs; /* one per leaf */
    uint64_t *nonnull;       /* the columns of every agg */
    uint64_t rows;           /* rows given to etl_dq_row */
    uint64_t rows_failed;    /* of them, rows that failed a row-level rule */
};

/* Whether a condition on numbers holds for x (doubles; between is exclusive, as Glue's
 * NumberBasedCondition). */
bool etl_dq_cond_holds(const struct etl_dq_cond *c, double x);

/* Adds one number to an aggregate's sum, mean and M2 (dec: its exact value, x the same as a
 * long double). */
MUST_CHECK enum err_code etl_dq_agg_add_number(struct etl_dq_agg *a,
                                               const struct etl_decimal *dec,
                                               long double x,
                                               struct err *err);
/* Records a row's evaluation error in the aggregate (the first message is kept). */
void etl_dq_agg_error(struct etl_dq_agg *a, const struct err *e);

#endif
