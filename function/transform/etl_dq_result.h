/*
 * etl_dq_result.h - the verdict of every rule from a (merged) partial, with what Glue reports for
 * it (etl_dq_report.h writes the document).
 *
 * Per rule: PASS, FAIL or ERROR; the EvaluationMessage deequ writes ("Value: 0.5 does not meet
 * the constraint requirement!", "Value: NULL does not meet the constraint requirement!",
 * "50.00% of rows passed", ...; numbers as Java prints a double: 0.5, 3.0, 1.0E7); the metrics
 * under deequ's names (Dataset.*.RowCount, Column.email.Completeness,
 * Multicolumn.a,b.Uniqueness, ...); the rule's action; DetectAnomalies' observations and the
 * metric value to store. A composite combines its rules' verdicts with and/or (Glue's default,
 * dataset-level composite evaluation), its messages joined with newlines and its metrics merged.
 * A rule whose rows could not all be evaluated (a where clause that fails on some row), or
 * whose distinct-value set overflowed, is ERROR. An empty dataset fails rules that need values
 * ("Empty state for analyzer ..."), except where a where clause filtered everything (PASS), as in
 * deequ.
 *
 * Ownership: results own their strings and arrays (etl_dq_result_free) and borrow the rules.
 */
#ifndef ETL_DQ_RESULT_H
#define ETL_DQ_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_dq.h"
#include "etl_schema.h"

enum etl_dq_outcome { ETL_DQ_PASS, ETL_DQ_FAIL, ETL_DQ_ERROR };

/* "PASS", "FAIL", "ERROR" */
const char *etl_dq_outcome_name(enum etl_dq_outcome o);

/* A metric's past values (the DetectAnomalies history), oldest first. */
struct etl_dq_history {
    const char *metric; /* "Dataset.*.RowCount", "Column.email.Completeness", ... */
    const double *values;
    size_t n;
};

struct etl_dq_result_input {
    const struct etl_schema *observed;  /* the output's attributes; NULL: not known */
    const char *const *columns;         /* the output's declared columns (a typed output) */
    size_t n_columns;                   /* 0: use observed */
    const struct etl_schema *reference; /* SchemaMatch's stored schema; NULL: none stored */
    const struct etl_dq_history *history;
    size_t n_history;
};

struct etl_dq_metric {
    char *name;
    double value;
};

struct etl_dq_observation {
    char *description;
    char *metric;
    double actual;
    double expected; /* the median of the history */
    double lower;
    double upper;
};

/* A value a DetectAnomalies rule asks the caller to append to the metric's history. */
struct etl_dq_store {
    char *metric;
    double value;
};

struct etl_dq_rule_result {
    const struct etl_dq_rule_info *rule; /* name, text, action */
    enum etl_dq_outcome outcome;
    char *message; /* NULL when there is nothing to say */
    struct etl_dq_metric *metrics;
    size_t n_metrics;
    struct etl_dq_observation *observations; /* anomalies found */
    size_t n_observations;
};

struct etl_dq_results {
    struct etl_dq_rule_result *rules; /* one per top-level rule, in order */
    size_t n;
    double score;         /* rules passed / rules */
    uint64_t rows;        /* rows evaluated */
    uint64_t rows_failed; /* rows that failed a row-level rule (any action) */
    size_t rules_passed;
    size_t rules_failed; /* FAIL or ERROR */
    bool fail;           /* a rule whose action is fail did not pass: fail the batch or run */
    struct etl_dq_store *stores; /* DetectAnomalies' values to append, one per such rule */
    size_t n_stores;
};

MUST_CHECK enum err_code etl_dq_result_evaluate(const struct etl_dq_partial *p,
                                                const struct etl_dq_result_input *in,
                                                struct etl_dq_results **out,
                                                struct err *err);
/* Accepts NULL. */
void etl_dq_result_free(struct etl_dq_results *r);

/* Writes v as Java's Double.toString does (0.5, 3.0, 1.0E7, 1.5E-4, NaN, Infinity), the form
 * deequ's messages show; returns the length. */
size_t etl_dq_result_java_double(double v, char *out, size_t cap);

#endif
