/*
 * etl_dq.h - Glue Data Quality rules (DQDL, etl_dqdl.h) compiled against a transform's output
 * and evaluated on a stream of rows: each row gets a verdict from the row-level rules, and
 * every row feeds mergeable per-rule aggregates (etl_dq_partial.h) from which the dataset-level
 * results are computed at the end of a batch or snapshot (etl_dq_result.h).
 *
 * Rule levels. IsComplete, ColumnValues and ColumnLength decide each row (row-level); a
 * composite decides rows when all its rules do, combining their row outcomes with and/or (as
 * Glue's row-level results do). Every other rule is dataset-level. A row outside a rule's where
 * clause passes it at row level and is not counted by it.
 *
 * Actions. Each top-level rule has one: warn (the result says FAIL, nothing else happens),
 * quarantine (rows failing it go to rejected/; row-level rules only), or fail (a FAIL or ERROR
 * result fails the batch or run). Defaults: row-level rules quarantine, dataset-level rules warn.
 * A rule's `with action = "..."` tag sets it (in a composite, the tags of its rules must agree);
 * the caller's map (the spec field) wins over the tag.
 *
 * Thresholds and quarantine. `with threshold > 0.9` makes a row-level rule PASS when that share
 * of its rows pass, as in Glue. Rows are still decided one by one: a row failing the condition
 * fails the rule in its verdict and is quarantined if the action says so, whatever the share
 * turns out to be. A stream cannot wait for the batch's share before routing a row, and a
 * snapshot segment cannot take back rows it wrote; "quarantine" means "these rows are bad",
 * and the threshold only decides whether the rule as a whole passes. Use action "warn" to keep
 * such rows in the lake and only report them.
 *
 * Counting. Every row given to etl_dq_row counts in every aggregate, quarantined rows included,
 * because Glue evaluates rules over all the rows of its dataset: a quarantining rule's result
 * then shows how many rows failed it.
 *
 * Columns. A rule's column parameter names one output column (dots are part of the name, not a
 * path); the caller's lookup resolves it, and a missing column is NULL.
 *
 * Ownership: etl_dq_new copies what it needs from the text. A state owns its partial and a
 *   per-row arena, reset at each row, so evaluating a row allocates nothing once warm.
 * Threads: compiled where clauses and regexes run from one thread at a time, so each thread
 *   compiles its own rules (etl_dq_new is cheap) and its own state; partials of rules compiled
 *   from the same ruleset merge.
 * Errors: etl_dq_new fails with the parser's positioned message (ERR_INVALID_INPUT) or, for
 *   where clauses and regexes, `dqdl: line L, column C: where clause: <expression error>`.
 */
#ifndef ETL_DQ_H
#define ETL_DQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_dqdl.h"
#include "etl_expr.h"
#include "jsonw.h"

/* Distinct values a Uniqueness, IsUnique, IsPrimaryKey or DistinctValuesCount rule keeps per
 * partial (about 32 bytes each: 32 MiB at this default); past it the rule reports ERROR. */
#define ETL_DQ_DEFAULT_MAX_DISTINCT ((size_t)1 << 20)

/* The spec field's action for one rule, by its name ("Rule_3"). */
struct etl_dq_action_override {
    const char *rule;
    enum etl_dqdl_action action; /* WARN, QUARANTINE or FAIL */
};

struct etl_dq_config {
    const struct etl_dq_action_override *actions;
    size_t n_actions;
    size_t max_distinct; /* 0: ETL_DQ_DEFAULT_MAX_DISTINCT */
};

/* A top-level rule as callers see it. */
struct etl_dq_rule_info {
    const char *name;                 /* "Rule_1" */
    const char *text;                 /* as written (Glue's Description), NUL-terminated */
    enum etl_dqdl_action action;      /* resolved: never ETL_DQDL_ACTION_DEFAULT */
    bool row_level;                   /* decides rows */
    const struct etl_dqdl_rule *rule; /* the parsed rule */
};

struct etl_dq_rules;
struct etl_dq_state;
struct etl_dq_partial;

/* Parses the ruleset and compiles it: where clauses and regexes through etl_expr_compile. A
 * name in cfg->actions that is no rule, or quarantine for a dataset-level rule, is an error.
 * cfg may be NULL. */
MUST_CHECK enum err_code etl_dq_new(struct cur dqdl,
                                    const struct etl_dq_config *cfg,
                                    struct etl_dq_rules **out,
                                    struct err *err);
/* Accepts NULL. */
void etl_dq_free(struct etl_dq_rules *r);

size_t etl_dq_rule_count(const struct etl_dq_rules *r);
const struct etl_dq_rule_info *etl_dq_rule(const struct etl_dq_rules *r, size_t i);
/* The output columns the rules read, in first-use order (for validation against the spec). */
size_t etl_dq_column_count(const struct etl_dq_rules *r);
const char *etl_dq_column_name(const struct etl_dq_rules *r, size_t i);

/* ---- rows ---- */

/*
 * Per-thread evaluation state: its own partial (etl_dq_state_partial), a per-row arena and the
 * last row's outcomes. now_ms is "now" for now(), (now() - 3 days) and DataFreshness: pass the
 * same instant to every segment of a run.
 */
MUST_CHECK enum err_code etl_dq_state_new(const struct etl_dq_rules *r,
                                          int64_t now_ms,
                                          struct etl_dq_state **out,
                                          struct err *err);
void etl_dq_state_free(struct etl_dq_state *s);
/* The partial the rows went into (owned by the state; merge or serialize it). */
struct etl_dq_partial *etl_dq_state_partial(struct etl_dq_state *s);

struct etl_dq_verdict {
    const size_t *failed; /* the top-level rules (indexes) the row failed; valid until next row */
    size_t n_failed;
    bool quarantine; /* a failed rule's action is quarantine: send the row to rejected/ */
};

/*
 * Evaluates every rule on one row, read through env->lookup: each column a rule names is looked
 * up once per row, and the values must stay valid until the call returns (the lookup's storage
 * is its ctx's). Expressions compute into the state's arena, reset first, not env->arena. A
 * where clause or value that cannot be evaluated on this row (ERR_INVALID_INPUT) fails the row
 * for that rule and is reported in the rule's result; other errors (ERR_NOMEM, ERR_TOO_LARGE)
 * are returned. Every row counts in the partial (see Counting above).
 */
MUST_CHECK enum err_code etl_dq_row(struct etl_dq_state *s,
                                    const struct etl_expr_env *env,
                                    struct etl_dq_verdict *out,
                                    struct err *err);

/* Writes the last row's outcome as Glue's row-level columns into an open object:
 * "DataQualityRulesPass", "DataQualityRulesFail", "DataQualityRulesSkip" (arrays of rule texts;
 * dataset-level rules are skipped) and "DataQualityEvaluationResult" ("Passed" or "Failed"). */
void etl_dq_verdict_write(const struct etl_dq_state *s, struct jsonw *w);

#endif
