/*
 * etl_dq_run.h - a dataset's rules over one batch (stream) or one run (snapshot), as the
 * pipelines use them: each row's verdict and the DataQualityRulesFail column of a row to
 * quarantine; the schema of the rows written; at the end, the evaluation from the rows' partial
 * (or a merge of saved partials), Glue's result document, the anomaly history with this batch's
 * or run's values appended, schema drift against a reference, and one EMF line per rule.
 * Anomaly history document: {"version":1,"ids":[...],"metrics":{"<metric>":[oldest, ...,
 * newest]}}, the last ETL_DQ_RUN_HISTORY values of each metric and the ids of the evaluations
 * that wrote them: an evaluation whose id is there already (a retry) appends nothing, nor does
 * one with a failed rule of action fail (the batch is retried, the run not completed).
 * Ownership: a run borrows its rules and owns its state and schema (etl_dq_run_cleanup).
 * Threads: one run per thread (the rules too: see etl_dq.h).
 */
#ifndef ETL_DQ_RUN_H
#define ETL_DQ_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_dq.h"
#include "etl_dq_partial.h"
#include "etl_dq_report.h"
#include "etl_dq_result.h"
#include "etl_expr.h"
#include "etl_row.h"
#include "etl_schema.h"

#define ETL_DQ_RUN_HISTORY 20 /* values kept per metric: DetectAnomalies' N */
#define ETL_DQ_RUN_ID_MAX  256

struct etl_dq_run {
    const struct etl_dq_rules *rules; /* NULL: the dataset has none */
    struct etl_dq_state *state;       /* made at the first row */
    struct etl_schema observed;       /* the rows written */
    int64_t now_ms;
    uint64_t rows;
};

void etl_dq_run_init(struct etl_dq_run *run, const struct etl_dq_rules *rules, int64_t now_ms);
void etl_dq_run_cleanup(struct etl_dq_run *run);
/* Forgets every row (a new batch), keeping the allocations. */
void etl_dq_run_reset(struct etl_dq_run *run, int64_t now_ms);

/* Checks one row (its columns through env). rejected: a JSON array of the failures the row
 * already has (failed casts), or empty. *quarantine when there are such failures or a failed
 * rule's action says so; fail_json then gets the JSON array of those failures, then the texts of
 * the rules the row broke. */
MUST_CHECK enum err_code etl_dq_run_row(struct etl_dq_run *run,
                                        const struct etl_expr_env *env,
                                        struct cur rejected,
                                        bool *quarantine,
                                        struct buf *fail_json,
                                        struct err *err);
/* Counts a row written as data in the observed schema. */
MUST_CHECK enum err_code
etl_dq_run_observe(struct etl_dq_run *run, const struct etl_row_ref *row, struct err *err);
/* The partial the rows went into (NULL before the first row). */
struct etl_dq_partial *etl_dq_run_partial(struct etl_dq_run *run);

struct etl_dq_run_summary {
    double score;
    size_t rules;
    size_t passed;
    size_t failed;
    uint64_t rows;
    uint64_t rows_failed;
    bool fail;    /* a rule with action fail did not pass */
    size_t drift; /* columns and types the reference schema does not have */
};

struct etl_dq_run_eval {
    const struct etl_dq_partial *partial; /* NULL: the run's own */
    const struct etl_schema *observed;    /* NULL: the run's own */
    const struct etl_schema *reference;   /* SchemaMatch and drift; NULL: none stored */
    struct cur history;                   /* the stored history document; empty: none */
    const char *evaluation_id;            /* names this batch or run in the history; NULL: none */
    const struct etl_dq_report_meta *meta;
    const char *dataset;           /* names the dataset in messages and metrics */
    const char *metrics_namespace; /* EMF */
    const char *service;           /* EMF */
    int64_t emf_time_ms;
};

/*
 * Evaluates the rules: report gets Glue's result document; history_out the history with the
 * values DetectAnomalies asked to store (left empty when there are none: nothing to write);
 * emf one EMF line per rule ("RulePassed" 1 or 0 with dimensions service, dataset, rule),
 * each ending in '\n'.
 */
MUST_CHECK enum err_code etl_dq_run_evaluate(struct etl_dq_run *run,
                                             const struct etl_dq_run_eval *in,
                                             struct buf *report,
                                             struct buf *history_out,
                                             struct buf *emf,
                                             struct etl_dq_run_summary *out,
                                             struct err *err);

/* Counts (and lists, in note) the attributes and types of observed that reference lacks. */
size_t etl_dq_run_drift(const struct etl_schema *observed,
                        const struct etl_schema *reference,
                        char *note,
                        size_t cap);

#endif
