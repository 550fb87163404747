/*
 * test_dq.c - evaluating DQDL rules on rows: every rule type and ColumnValues operator with its
 * NULL handling, thresholds, composites, actions and verdicts, messages and metric names as
 * deequ writes them, where clauses, schema rules, DetectAnomalies (warming up, in band, out of
 * band), the result document, and partials: merging any split of the rows gives what one pass
 * gives, and the JSON form round-trips exactly. The distinct-value set and the anomaly band have
 * their own tests.
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "etl_dq.h"
#include "etl_dq_anomaly.h"
#include "etl_dq_hashset.h"
#include "etl_dq_partial.h"
#include "etl_dq_report.h"
#include "etl_dq_result.h"
#include "etl_schema.h"
#include "json.h"
#include "test_util.h"

/* 2024-06-15T12:00:00Z */
#define NOW_MS 1718452800000LL

/* ---- rows from JSON objects ---- */

struct fake_row {
    struct json_val obj;
    struct etl_arena arena;
};

static enum err_code
fake_lookup(void *ctx, const struct etl_colpath *path, struct etl_value *out, struct err *err)
{
    struct fake_row *row = ctx;
    struct json_val v;
    if (!json_object_get(&row->obj, path->segs[0].name, &v)) {
        *out = etl_value_null();
        return ERR_OK;
    }
    return etl_value_from_json(&v, &row->arena, out, err);
}

struct run {
    struct etl_dq_rules *rules;
    struct etl_dq_state *st;
    struct etl_dq_results *res;
    char fails[512]; /* per row: the rules it failed ("1,2"), "-" for none, rows joined by | */
    bool quarantined[64];
};

/* Feeds the rows (one JSON object a line) to a state of rules. */
static void feed(struct etl_dq_state *st, const char *rows, struct run *r)
{
    struct fake_row row;
    struct err err = ERR_INIT;
    etl_arena_init(&row.arena, 0);
    size_t k = 0;
    for (const char *p = rows; p != NULL && *p != '\0'; k++) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        etl_arena_reset(&row.arena);
        if (json_validate(cur_make(p, n), 8, &row.obj, &err) != ERR_OK) {
            fail_msg("row %zu: %s", k, err.msg);
        }
        struct etl_expr_env env = {fake_lookup, &row, NULL};
        struct etl_dq_verdict v;
        if (etl_dq_row(st, &env, &v, &err) != ERR_OK) {
            fail_msg("row %zu: %s", k, err.msg);
        }
        if (r != NULL) {
            size_t len = strlen(r->fails);
            char one[64] = "";
            for (size_t i = 0; i < v.n_failed; i++) {
                size_t used = strlen(one);
                snprintf(one + used, sizeof(one) - used, "%s%zu", i > 0 ? "," : "",
                         v.failed[i] + 1);
            }
            snprintf(r->fails + len, sizeof(r->fails) - len, "%s%s", k > 0 ? "|" : "",
                     v.n_failed > 0 ? one : "-");
            if (k < 64) {
                r->quarantined[k] = v.quarantine;
            }
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    etl_arena_cleanup(&row.arena);
}

static void run_full(struct run *r,
                     const char *dqdl,
                     const char *rows,
                     const struct etl_dq_config *cfg,
                     const struct etl_dq_result_input *in)
{
    struct err err = ERR_INIT;
    memset(r, 0, sizeof(*r));
    if (etl_dq_new(cur_from_str(dqdl), cfg, &r->rules, &err) != ERR_OK) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(etl_dq_state_new(r->rules, NOW_MS, &r->st, &err), ERR_OK);
    feed(r->st, rows, r);
    if (etl_dq_result_evaluate(etl_dq_state_partial(r->st), in, &r->res, &err) != ERR_OK) {
        fail_msg("%s", err.msg);
    }
}

static void run_cleanup(struct run *r)
{
    etl_dq_result_free(r->res);
    etl_dq_state_free(r->st);
    etl_dq_free(r->rules);
}

/* The outcomes of every rule, space-separated: "PASS FAIL". */
static void outcomes(const struct etl_dq_results *res, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < res->n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", i > 0 ? " " : "",
                 etl_dq_outcome_name(res->rules[i].outcome));
    }
}

static bool has_metric(const struct etl_dq_rule_result *rr, const char *name, double value)
{
    for (size_t i = 0; i < rr->n_metrics; i++) {
        if (strcmp(rr->metrics[i].name, name) == 0) {
            return rr->metrics[i].value == value ||
                   fabs(rr->metrics[i].value - value) <= 1e-12 * fabs(value);
        }
    }
    return false;
}

static void dump_metrics(const struct etl_dq_rule_result *rr)
{
    for (size_t i = 0; i < rr->n_metrics; i++) {
        print_message("  %s = %.17g\n", rr->metrics[i].name, rr->metrics[i].value);
    }
}

/* ---- the table ---- */

struct row {
    const char *name;
    const char *dqdl;
    const char *rows;     /* JSON objects, one a line */
    const char *outcomes; /* per rule: "PASS FAIL ERROR" */
    const char *fails;    /* per row: the rules it failed ("-" none), rows joined by | */
    const char *message;  /* part of the first rule's message; NULL: it has none */
    const char *metric;   /* a metric of the first rule; NULL: not checked */
    double value;
};

static const struct row rows[] = {
    /* ColumnValues on numbers: NULL fails every form but != and not in */
    {"cv_gt_pass", "Rules = [ ColumnValues \"n\" > 0 ]", "{\"n\":1}\n{\"n\":2.5}", "PASS", "-|-",
     NULL, "Column.n.Minimum", 1},
    {"cv_gt_min", "Rules = [ ColumnValues \"n\" > 0 ]", "{\"n\":5}\n{\"n\":-1}", "FAIL", "-|1",
     "Value: -1.0 does not meet the constraint requirement!", "Column.n.Minimum", -1},
    {"cv_lt_max", "Rules = [ ColumnValues \"n\" <= 10 ]", "{\"n\":5}\n{\"n\":1E+2}", "FAIL", "-|1",
     "Value: 100.0 does not meet the constraint requirement!", "Column.n.Maximum", 100},
    {"cv_gt_null", "Rules = [ ColumnValues \"n\" > 0 ]", "{\"n\":5}\n{\"n\":null}\n{}", "FAIL",
     "-|1|1", "Value: NULL does not meet the constraint requirement!", NULL, 0},
    {"cv_gt_null_and_value", "Rules = [ ColumnValues \"n\" >= 0 ]", "{\"n\":-3}\n{\"n\":null}",
     "FAIL", "1|1",
     "Value: -3.0 does not meet the constraint requirement!\nValue: NULL does not meet the "
     "constraint requirement!",
     NULL, 0},
    {"cv_ne_null_passes", "Rules = [ ColumnValues \"n\" != 3 ]", "{\"n\":null}\n{\"n\":4}", "PASS",
     "-|-", NULL, "Column.n.ColumnValues.Compliance", 1},
    {"cv_ne_fails", "Rules = [ ColumnValues \"n\" != 3 ]", "{\"n\":3.0}\n{\"n\":4}", "FAIL", "1|-",
     "Value: 0.5 does not meet the constraint requirement!", "Column.n.ColumnValues.Compliance",
     0.5},
    {"cv_not_in_null_passes", "Rules = [ ColumnValues \"n\" not in [1, 2] ]",
     "{\"n\":null}\n{\"n\":3}\n{\"n\":2}", "FAIL", "-|-|1", NULL, NULL, 0},
    {"cv_not_in_listed_null", "Rules = [ ColumnValues \"n\" not in [1, NULL] ]",
     "{\"n\":null}\n{\"n\":3}", "FAIL", "1|-",
     "Value: NULL does not meet the constraint requirement!", NULL, 0},
    {"cv_in_null", "Rules = [ ColumnValues \"n\" in [1, NULL] ]",
     "{\"n\":null}\n{\"n\":1.0}\n{\"n\":2}", "FAIL", "-|-|1", NULL, NULL, 0},
    {"cv_in_no_null", "Rules = [ ColumnValues \"n\" in [1, 2] ]", "{\"n\":null}\n{\"n\":2}", "FAIL",
     "1|-", "Value: NULL does not meet the constraint requirement!", NULL, 0},
    {"cv_between_exclusive", "Rules = [ ColumnValues \"n\" between 1 and 3 ]",
     "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":2.999}", "FAIL", "1|-|1|-", NULL, NULL, 0},
    {"cv_not_between", "Rules = [ ColumnValues \"n\" not between 1 and 3 ]",
     "{\"n\":1}\n{\"n\":2}\n{\"n\":null}\n{\"n\":3}", "FAIL", "-|1|1|-", NULL, NULL, 0},
    {"cv_eq_null", "Rules = [ ColumnValues \"n\" = NULL ]", "{\"n\":null}\n{}\n{\"n\":0}", "FAIL",
     "-|-|1", NULL, NULL, 0},
    {"cv_ne_null", "Rules = [ ColumnValues \"n\" != NULL ]", "{\"n\":null}\n{\"n\":0}", "FAIL",
     "1|-", NULL, NULL, 0},
    {"cv_38_digits", "Rules = [ ColumnValues \"n\" <= 12345678901234567890123456789012345678 ]",
     "{\"n\":12345678901234567890123456789012345678}\n"
     "{\"n\":12345678901234567890123456789012345679}",
     "FAIL", "-|1", NULL, NULL, 0},
    {"cv_decimal_forms", "Rules = [ ColumnValues \"n\" = 1.5 ]",
     "{\"n\":1.50}\n{\"n\":15E-1}\n{\"n\":0.15e1}", "PASS", "-|-|-", NULL, "Column.n.Minimum", 1.5},
    {"cv_string_holding_number", "Rules = [ ColumnValues \"n\" > 5 ]",
     "{\"n\":\"7\"}\n{\"n\":\"abc\"}\n{\"n\":true}", "FAIL", "-|1|1", NULL, NULL, 0},
    {"cv_eq_both_bounds", "Rules = [ ColumnValues \"n\" = 5 ]", "{\"n\":4}\n{\"n\":6}\n{\"n\":5}",
     "FAIL", "1|1|-",
     "Value: 4.0 does not meet the constraint requirement!\nValue: 6.0 does not meet the "
     "constraint requirement!",
     "Column.n.Maximum", 6},
    {"cv_gt_share_when_min_holds", "Rules = [ ColumnValues \"n\" > 0 ]",
     "{\"n\":5}\n{\"n\":\"abc\"}", "FAIL", "-|1",
     "Value: 0.5 does not meet the constraint requirement!", "Column.n.Minimum", 5},
    /* ColumnValues on strings */
    {"cv_in_strings", "Rules = [ ColumnValues \"s\" in [\"A\", \"B\"] ]",
     "{\"s\":\"A\"}\n{\"s\":\"C\"}\n{\"s\":null}", "FAIL", "-|1|1",
     "Value: 0.3333333333333333 does not meet the constraint requirement!\nValue: NULL does not "
     "meet the constraint requirement!",
     "Column.s.ColumnValues.Compliance", 1.0 / 3},
    {"cv_keywords", "Rules = [ ColumnValues \"s\" in [EMPTY, WHITESPACES_ONLY, NULL] ]",
     "{\"s\":\"\"}\n{\"s\":\"   \"}\n{\"s\":null}\n{\"s\":\"a\"}\n{\"s\":\"\\t\"}", "FAIL",
     "-|-|-|1|1", NULL, NULL, 0},
    {"cv_not_in_empty", "Rules = [ ColumnValues \"s\" not in [EMPTY] ]",
     "{\"s\":\"\"}\n{\"s\":\"a\"}\n{\"s\":null}", "FAIL", "1|-|1", NULL, NULL, 0},
    {"cv_not_in_strings", "Rules = [ ColumnValues \"s\" not in [\"x\", \"y\"] ]",
     "{\"s\":null}\n{\"s\":\"x\"}\n{\"s\":\"z\"}", "FAIL", "-|1|-", NULL, NULL, 0},
    {"cv_ne_string", "Rules = [ ColumnValues \"s\" != \"x\" ]",
     "{\"s\":null}\n{\"s\":\"x\"}\n{\"s\":\"y\"}", "FAIL", "-|1|-", NULL, NULL, 0},
    {"cv_eq_empty", "Rules = [ ColumnValues \"s\" = EMPTY ]", "{\"s\":\"\"}\n{\"s\":\" \"}", "FAIL",
     "-|1", NULL, NULL, 0},
    {"cv_eq_whitespace", "Rules = [ ColumnValues \"s\" = WHITESPACES_ONLY ]",
     "{\"s\":\"\"}\n{\"s\":\"  \"}", "FAIL", "1|-", NULL, NULL, 0},
    {"cv_string_of_number", "Rules = [ ColumnValues \"s\" in [\"10\", \"true\"] ]",
     "{\"s\":10}\n{\"s\":true}\n{\"s\":10.0}", "FAIL", "-|-|1", NULL, NULL, 0},
    {"cv_threshold_pass", "Rules = [ ColumnValues \"s\" in [\"A\"] with threshold > 0.5 ]",
     "{\"s\":\"A\"}\n{\"s\":\"A\"}\n{\"s\":\"B\"}", "PASS", "-|-|1", NULL,
     "Column.s.ColumnValues.Compliance", 2.0 / 3},
    {"cv_threshold_fail", "Rules = [ ColumnValues \"s\" in [\"A\"] with threshold >= 0.5 ]",
     "{\"s\":\"A\"}\n{\"s\":\"B\"}\n{\"s\":null}", "FAIL", "-|1|1",
     "Value: 0.3333333333333333 does not meet the constraint requirement!", NULL, 0},
    {"cv_threshold_number", "Rules = [ ColumnValues \"n\" > 0 with threshold between 0.2 and 0.8 ]",
     "{\"n\":1}\n{\"n\":-1}", "PASS", "-|1", NULL, "Column.n.ColumnValues.Compliance", 0.5},
    /* matches: a whole-value match in Java's syntax; NULL fails both forms */
    {"cv_matches", "Rules = [ ColumnValues \"s\" matches \"[a-z]+\\d\" ]",
     "{\"s\":\"abc1\"}\n{\"s\":\"abc\"}\n{\"s\":\"xabc1y!\"}\n{\"s\":null}", "FAIL", "-|1|1|1",
     "Value: 0.25 does not meet the constraint requirement!\nValue: NULL does not meet the "
     "constraint requirement!",
     "Column.s.PatternMatch", 0.25},
    {"cv_not_matches", "Rules = [ ColumnValues \"s\" not matches \"[a-z]+\\d\" ]",
     "{\"s\":\"abc1\"}\n{\"s\":\"x\"}\n{\"s\":null}", "FAIL", "1|-|1", NULL, NULL, 0},
    {"cv_matches_alternation", "Rules = [ ColumnValues \"s\" matches \"a|bc\" ]",
     "{\"s\":\"a\"}\n{\"s\":\"bc\"}\n{\"s\":\"abc\"}", "FAIL", "-|-|1", NULL, NULL, 0},
    {"cv_matches_icase", "Rules = [ ColumnValues \"s\" matches \"(?i)ab+c\" ]",
     "{\"s\":\"ABBC\"}\n{\"s\":\"abc\"}", "PASS", "-|-", NULL, NULL, 0},
    {"cv_matches_number", "Rules = [ ColumnValues \"s\" matches \"\\d{3}\" ]",
     "{\"s\":123}\n{\"s\":1234}", "FAIL", "-|1", NULL, NULL, 0},
    /* ColumnValues on dates: to_date of the value against the day of the operand (deequ) */
    {"cv_date_now_minus", "Rules = [ ColumnValues \"d\" > (now() - 3 days) ]",
     "{\"d\":\"2024-06-13T00:00:00Z\"}\n{\"d\":\"2024-06-12T23:59:59Z\"}\n{\"d\":null}\n"
     "{\"d\":\"not a date\"}",
     "FAIL", "-|1|1|1", NULL, NULL, 0},
    {"cv_date_hours_are_days", "Rules = [ ColumnValues \"d\" >= (now() - 2 hours) ]",
     "{\"d\":\"2024-06-15T00:00:01Z\"}\n{\"d\":\"2024-06-14\"}", "FAIL", "-|1", NULL, NULL, 0},
    {"cv_date_between", "Rules = [ ColumnValues \"d\" between \"2024-01-01\" and \"2024-12-31\" ]",
     "{\"d\":\"2024-01-01\"}\n{\"d\":\"2024-06-01\"}\n{\"d\":\"2024-12-31T10:00:00Z\"}", "FAIL",
     "1|-|1", NULL, NULL, 0},
    {"cv_date_not_between_null",
     "Rules = [ ColumnValues \"d\" not between \"2024-01-01\" and "
     "\"2024-12-31\" ]",
     "{\"d\":null}\n{\"d\":\"2023-05-05\"}\n{\"d\":\"2024-05-05\"}", "FAIL", "-|-|1", NULL, NULL,
     0},
    {"cv_date_in", "Rules = [ ColumnValues \"d\" in [\"2024-06-15\", NULL] ]",
     "{\"d\":null}\n{\"d\":\"2024-06-15T23:00:00Z\"}\n{\"d\":\"2024-06-16\"}", "FAIL", "-|-|1",
     NULL, NULL, 0},
    {"cv_date_today", "Rules = [ ColumnValues \"d\" = now(), ColumnValues \"d\" = \"10:00\" ]",
     "{\"d\":\"2024-06-15T01:00:00Z\"}", "PASS PASS", "-", NULL, NULL, 0},
    /* ColumnLength: characters, NULL as length 0 (Glue's documentation) */
    {"len_null_gt", "Rules = [ ColumnLength \"s\" > 4 ]", "{\"s\":null}\n{\"s\":\"hello\"}", "FAIL",
     "1|-", "Value: 0.0 does not meet the constraint requirement!", "Column.s.MinimumLength", 0},
    {"len_null_lt", "Rules = [ ColumnLength \"s\" < 6 ]", "{\"s\":null}\n{\"s\":\"hello\"}", "PASS",
     "-|-", NULL, "Column.s.MaximumLength", 5},
    {"len_utf8", "Rules = [ ColumnLength \"s\" = 5 ]",
     "{\"s\":\"h\\u00e9llo\"}\n{\"s\":\"日本語です\"}", "PASS", "-|-", NULL, NULL, 0},
    {"len_between", "Rules = [ ColumnLength \"s\" between 1 and 3 ]",
     "{\"s\":\"a\"}\n{\"s\":\"ab\"}\n{\"s\":\"abc\"}", "FAIL", "1|-|1", NULL, NULL, 0},
    {"len_in_zero", "Rules = [ ColumnLength \"s\" in [0, 2] ]", "{\"s\":null}\n{\"s\":\"ab\"}",
     "PASS", "-|-", NULL, "Column.s.LengthCompliance", 1},
    {"len_number", "Rules = [ ColumnLength \"s\" <= 3 ]", "{\"s\":1234}", "FAIL", "1",
     "Value: 4.0 does not meet the constraint requirement!", NULL, 0},
    {"len_between_bounds", "Rules = [ ColumnLength \"s\" between 1 and 4 ]",
     "{\"s\":\"a\"}\n{\"s\":\"abcd\"}\n{\"s\":\"ab\"}", "FAIL", "1|1|-",
     "Value: 1.0 does not meet the constraint requirement!\nValue: 4.0 does not meet the "
     "constraint requirement!",
     "Column.s.MinimumLength", 1},
    /* completeness */
    {"is_complete", "Rules = [ IsComplete \"a\" ]", "{\"a\":1}\n{\"a\":null}\n{\"b\":1}", "FAIL",
     "-|1|1", "Value: 0.3333333333333333 does not meet the constraint requirement!",
     "Column.a.Completeness", 1.0 / 3},
    {"is_complete_empty_string", "Rules = [ IsComplete \"a\" ]", "{\"a\":\"\"}", "PASS", "-", NULL,
     "Column.a.Completeness", 1},
    {"completeness", "Rules = [ Completeness \"a\" >= 0.5 ]", "{\"a\":1}\n{\"a\":null}", "PASS",
     "-|-", NULL, "Column.a.Completeness", 0.5},
    {"completeness_fail", "Rules = [ Completeness \"a\" > 0.5 ]", "{\"a\":1}\n{\"a\":null}", "FAIL",
     "-|-", "Value: 0.5 does not meet the constraint requirement!", NULL, 0},
    /* uniqueness: values seen once among rows with a value (deequ's Uniqueness) */
    {"uniqueness", "Rules = [ Uniqueness \"a\" > 0.5 ]",
     "{\"a\":1}\n{\"a\":1}\n{\"a\":2}\n{\"a\":null}", "FAIL", "-|-|-|-",
     "Value: 0.3333333333333333 does not meet the constraint requirement!", "Column.a.Uniqueness",
     1.0 / 3},
    {"uniqueness_number_forms", "Rules = [ IsUnique \"a\" ]", "{\"a\":1}\n{\"a\":1.0}", "FAIL",
     "-|-", "Value: 0.0 does not meet the constraint requirement!", NULL, 0},
    {"is_unique_kinds", "Rules = [ IsUnique \"a\" ]", "{\"a\":1}\n{\"a\":\"1\"}\n{\"a\":true}",
     "PASS", "-|-|-", NULL, "Column.a.Uniqueness", 1},
    {"is_unique_multi", "Rules = [ IsUnique \"a\" \"b\" ]",
     "{\"a\":1,\"b\":\"x\"}\n{\"a\":1,\"b\":\"y\"}\n{\"a\":1}", "PASS", "-|-|-", NULL,
     "Multicolumn.a,b.Uniqueness", 1},
    {"is_unique_multi_dup", "Rules = [ Uniqueness \"a\" and \"b\" = 0.5 ]",
     "{\"a\":1,\"b\":\"x\"}\n{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"x\"}\n{\"a\":3,\"b\":\"x\"}",
     "PASS", "-|-|-|-", NULL, "Multicolumn.a,b.Uniqueness", 0.5},
    {"is_primary_key", "Rules = [ IsPrimaryKey \"a\" ]", "{\"a\":1}\n{\"a\":2}\n{\"a\":null}",
     "FAIL", "-|-|-", "Value: 0.6666666666666666 does not meet the constraint requirement!",
     "Column.a.Uniqueness", 1},
    {"is_primary_key_multi", "Rules = [ IsPrimaryKey \"a\" \"b\" ]",
     "{\"a\":1,\"b\":1}\n{\"a\":1,\"b\":2}", "PASS", "-|-", NULL, "Column.b.Completeness", 1},
    {"distinct_values", "Rules = [ DistinctValuesCount \"a\" = 3 ]",
     "{\"a\":1}\n{\"a\":1.0}\n{\"a\":2}\n{\"a\":null}\n{}", "PASS", "-|-|-|-|-", NULL,
     "Column.a.DistinctValuesCount", 3},
    {"distinct_values_fail", "Rules = [ DistinctValuesCount \"a\" > 3 ]", "{\"a\":1}\n{\"a\":2}",
     "FAIL", "-|-", "Value: 2 does not meet the constraint requirement!", NULL, 0},
    /* numbers */
    {"mean_sum_stddev",
     "Rules = [ Mean \"x\" between 2 and 3, Sum \"x\" = 10, StandardDeviation \"x\" < 1.2 ]",
     "{\"x\":1}\n{\"x\":2}\n{\"x\":3}\n{\"x\":4}\n{\"x\":null}", "PASS PASS PASS", "-|-|-|-|-",
     NULL, "Column.x.Mean", 2.5},
    {"sum_exact", "Rules = [ Sum \"x\" = 0.3 ]", "{\"x\":0.1}\n{\"x\":0.2}", "PASS", "-|-", NULL,
     "Column.x.Sum", 0.3},
    {"sum_38_digits", "Rules = [ Sum \"x\" > 0 ]",
     "{\"x\":99999999999999999999999999999999999999}\n{\"x\":1}", "PASS", "-|-", NULL,
     "Column.x.Sum", 1e38},
    {"stddev_population", "Rules = [ StandardDeviation \"x\" = 2 ]",
     "{\"x\":2}\n{\"x\":4}\n{\"x\":4}\n{\"x\":4}\n{\"x\":5}\n{\"x\":5}\n{\"x\":7}\n{\"x\":9}",
     "PASS", "-|-|-|-|-|-|-|-", NULL, "Column.x.StandardDeviation", 2},
    {"mean_not_numeric", "Rules = [ Mean \"x\" > 0 ]", "{\"x\":1}\n{\"x\":\"2\"}", "FAIL", "-|-",
     "Expected type of column x to be numeric, but found 1 values that are not numbers!", NULL, 0},
    {"mean_empty", "Rules = [ Mean \"x\" > 0 ]", "{\"x\":null}", "FAIL", "-",
     "Empty state for analyzer Column.x.Mean, all input values were NULL.", NULL, 0},
    {"row_count", "Rules = [ RowCount between 1 and 3, RowCount = 0 ]", "{}\n{}", "PASS FAIL",
     "-|-", NULL, "Dataset.*.RowCount", 2},
    {"row_count_arith", "Rules = [ RowCount = 1 + 1 * 2 ]", "{}\n{}\n{}\n{}", "PASS", "-|-|-|-",
     NULL, NULL, 0},
    /* DataFreshness: hours from now, every row must pass */
    {"freshness", "Rules = [ DataFreshness \"t\" <= 24 hours ]",
     "{\"t\":\"2024-06-14T13:00:00Z\"}\n{\"t\":\"2024-06-14T11:00:00Z\"}\n{\"t\":null}", "FAIL",
     "-|-|-", "33.33% of rows passed", "Column.t.DataFreshness.Compliance", 1.0 / 3},
    {"freshness_minutes", "Rules = [ DataFreshness \"t\" < 90 minutes ]",
     "{\"t\":\"2024-06-15T10:31:00Z\"}\n{\"t\":1718447460}", "PASS", "-|-", NULL, NULL, 0},
    {"freshness_between", "Rules = [ DataFreshness \"t\" between 1 hours and 2 days ]",
     "{\"t\":\"2024-06-15T11:00:00Z\"}\n{\"t\":\"2024-06-15T10:00:00Z\"}", "FAIL", "-|-",
     "50.00% of rows passed", NULL, 0},
    /* ColumnDataType: the share of values that cast exactly */
    {"data_type", "Rules = [ ColumnDataType \"x\" = \"Integer\" ]",
     "{\"x\":1}\n{\"x\":\"2\"}\n{\"x\":1.5}\n{\"x\":null}", "FAIL", "-|-|-|-",
     "Value: 0.5 does not meet the constraint requirement.", "Column.x.ColumnDataType.Compliance",
     0.5},
    {"data_type_threshold",
     "Rules = [ ColumnDataType \"x\" = \"DECIMAL(5,2)\" with threshold >= "
     "0.5 ]",
     "{\"x\":1.25}\n{\"x\":1.255}", "PASS", "-|-", NULL, NULL, 0},
    {"data_type_not", "Rules = [ ColumnDataType \"x\" != \"Boolean\" ]",
     "{\"x\":\"yes\"}\n{\"x\":null}", "PASS", "-|-", NULL, NULL, 0},
    /* composites */
    {"composite_and", "Rules = [ (IsComplete \"a\") and (IsComplete \"b\") ]",
     "{\"a\":1,\"b\":1}\n{\"a\":1}", "FAIL", "-|1",
     "Value: 0.5 does not meet the constraint requirement!", "Column.b.Completeness", 0.5},
    {"composite_or_rows", "Rules = [ (IsComplete \"a\") or (IsComplete \"b\") ]",
     "{\"a\":1}\n{\"b\":1}\n{}", "FAIL", "-|-|1", NULL, "Column.a.Completeness", 1.0 / 3},
    {"composite_or_dataset", "Rules = [ (RowCount > 5) or (ColumnValues \"a\" > 0) ]",
     "{\"a\":1}\n{\"a\":-1}", "FAIL", "-|-",
     "Value: 2 does not meet the constraint requirement!\nValue: -1.0 does not meet the "
     "constraint requirement!",
     "Dataset.*.RowCount", 2},
    {"composite_mixed_levels",
     "Rules = [ (RowCount > 0) and (IsComplete \"a\"), IsComplete "
     "\"a\" ]",
     "{\"a\":1}\n{}", "FAIL FAIL", "-|2", NULL, NULL, 0},
    {"composite_precedence", "Rules = [ (RowCount = 0) or (RowCount = 1) and (RowCount = 1) ]",
     "{}", "PASS", "-", "Value: 1 does not meet the constraint requirement!", NULL, 0},
    /* where clauses: SQL on the output columns; rows outside pass and are not counted */
    {"where_filters",
     "Rules = [ ColumnValues \"amount\" between 0 and 100 where \"currency = 'EUR'\" ]",
     "{\"currency\":\"EUR\",\"amount\":50}\n{\"currency\":\"USD\",\"amount\":500}\n"
     "{\"currency\":\"EUR\",\"amount\":500}",
     "FAIL", "-|-|1", "Value: 0.5 does not meet the constraint requirement!",
     "Column.amount.ColumnValues.Compliance", 0.5},
    {"where_counts",
     "Rules = [ RowCount = 2 where \"a >= 1\", Completeness \"b\" = 1.0 where \"a "
     "= 1\" ]",
     "{\"a\":1,\"b\":1}\n{\"a\":2}\n{\"a\":0}", "PASS PASS", "-|-|-", NULL, "Dataset.*.RowCount",
     2},
    {"where_filters_all",
     "Rules = [ Mean \"x\" > 0 where \"x > 100\", IsComplete \"x\" where \"x "
     "> 100\", DataFreshness \"x\" < 1 hours where \"x > 100\" ]",
     "{\"x\":1}\n{\"x\":2}", "PASS PASS PASS", "-|-", NULL, NULL, 0},
    {"where_null_is_outside", "Rules = [ IsComplete \"b\" where \"a > 1\" ]",
     "{\"a\":null}\n{\"a\":2,\"b\":1}\n{}", "PASS", "-|-|-", NULL, "Column.b.Completeness", 1},
    {"where_quoted_column", "Rules = [ IsComplete \"a\" where \"\\\"Order Id\\\" > 5\" ]",
     "{\"Order Id\":6}\n{\"Order Id\":1}", "FAIL", "1|-", NULL, "Column.a.Completeness", 0},
    {"where_in_composite",
     "Rules = [ (IsComplete \"a\" where \"k = 'x'\") and (ColumnValues "
     "\"n\" > 0 where \"k = 'y'\") ]",
     "{\"k\":\"x\",\"a\":1,\"n\":-1}\n{\"k\":\"y\",\"n\":-1}\n{\"k\":\"x\"}", "FAIL", "-|1|1", NULL,
     NULL, 0},
    {"where_bad_row", "Rules = [ IsComplete \"a\" where \"cast(b AS bigint) > 1\", RowCount = 2 ]",
     "{\"a\":1,\"b\":5}\n{\"a\":1,\"b\":\"abc\"}", "ERROR PASS", "-|1",
     "1 rows could not be evaluated: ", NULL, 0},
};

static void test_row(void **state)
{
    const struct row *row = *state;
    struct run r;
    run_full(&r, row->dqdl, row->rows, NULL, NULL);
    char got[128];
    outcomes(r.res, got, sizeof(got));
    if (strcmp(got, row->outcomes) != 0 || strcmp(r.fails, row->fails) != 0) {
        print_message("message: %s\n", r.res->rules[0].message ? r.res->rules[0].message : "-");
        dump_metrics(&r.res->rules[0]);
        fail_msg("%s: outcomes \"%s\" (want \"%s\"), rows \"%s\" (want \"%s\")", row->name, got,
                 row->outcomes, r.fails, row->fails);
    }
    const char *msg = r.res->rules[0].message;
    if (row->message != NULL && (msg == NULL || strstr(msg, row->message) == NULL)) {
        fail_msg("%s: message \"%s\" lacks \"%s\"", row->name, msg ? msg : "(none)", row->message);
    }
    if (row->message == NULL && r.res->rules[0].outcome == ETL_DQ_PASS && msg != NULL) {
        fail_msg("%s: unexpected message \"%s\"", row->name, msg);
    }
    if (row->metric != NULL && !has_metric(&r.res->rules[0], row->metric, row->value)) {
        dump_metrics(&r.res->rules[0]);
        fail_msg("%s: no metric %s = %.17g", row->name, row->metric, row->value);
    }
    run_cleanup(&r);
}

/* ---- actions and verdicts ---- */

/* Row-level rules quarantine, dataset-level rules warn; a tag sets the action, the caller's map
 * wins; fail makes the results say so. */
static void test_actions(void **state)
{
    (void)state;
    const char *dqdl = "Rules = [ IsComplete \"a\", ColumnValues \"b\" > 0 with action = \"warn\", "
                       "RowCount > 5, RowCount > 0 with action = \"fail\", (IsComplete \"a\") and "
                       "(ColumnValues \"b\" > 0 with action = \"fail\") ]";
    struct run r;
    run_full(&r, dqdl, "{\"a\":1,\"b\":1}\n{\"b\":-1}", NULL, NULL);
    const enum etl_dqdl_action want[] = {ETL_DQDL_ACTION_QUARANTINE, ETL_DQDL_ACTION_WARN,
                                         ETL_DQDL_ACTION_WARN, ETL_DQDL_ACTION_FAIL,
                                         ETL_DQDL_ACTION_FAIL};
    assert_int_equal(etl_dq_rule_count(r.rules), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(etl_dq_rule(r.rules, i)->action, want[i]);
    }
    assert_true(etl_dq_rule(r.rules, 0)->row_level);
    assert_false(etl_dq_rule(r.rules, 2)->row_level);
    assert_true(etl_dq_rule(r.rules, 4)->row_level);
    assert_string_equal(etl_dq_rule(r.rules, 4)->name, "Rule_5");
    assert_null(etl_dq_rule(r.rules, 5));
    assert_string_equal(r.fails, "-|1,2,5");
    assert_false(r.quarantined[0]);
    assert_true(r.quarantined[1]); /* Rule_1 quarantines */
    /* Rule_4 passes; Rule_5 (fail) fails */
    assert_true(r.res->fail);
    assert_int_equal(r.res->rules_passed, 1);
    assert_int_equal(r.res->rules_failed, 4);
    assert_true(r.res->score == 0.2);
    run_cleanup(&r);

    /* the spec's map: Rule_1 warns, Rule_5 warns, Rule_3 fails */
    const struct etl_dq_action_override map[] = {
        {"Rule_1", ETL_DQDL_ACTION_WARN},
        {"Rule_5", ETL_DQDL_ACTION_WARN},
        {"Rule_3", ETL_DQDL_ACTION_FAIL},
    };
    struct etl_dq_config cfg = {map, 3, 0};
    run_full(&r, dqdl, "{\"a\":1,\"b\":1}\n{\"b\":-1}", &cfg, NULL);
    assert_int_equal(etl_dq_rule(r.rules, 0)->action, ETL_DQDL_ACTION_WARN);
    assert_int_equal(etl_dq_rule(r.rules, 2)->action, ETL_DQDL_ACTION_FAIL);
    assert_false(r.quarantined[1]);
    assert_true(r.res->fail); /* Rule_3: RowCount > 5 */
    run_cleanup(&r);
}

static void test_action_errors(void **state)
{
    (void)state;
    static const struct {
        const char *dqdl;
        const char *rule;
        enum etl_dqdl_action action;
        enum err_code code;
        const char *msg;
    } cases[] = {
        {"Rules = [ RowCount > 0 ]", "Rule_2", ETL_DQDL_ACTION_WARN, ERR_CONFIG,
         "dq: an action is given for \"Rule_2\", which is no rule of the ruleset (it has Rule_1 "
         "to Rule_1)"},
        {"Rules = [ RowCount > 0 ]", "Rule_1", ETL_DQDL_ACTION_QUARANTINE, ERR_CONFIG,
         "dq: Rule_1 is a dataset-level rule: its action cannot be quarantine"},
        {"Rules = [ (RowCount > 0) and (IsComplete \"a\" with action = \"quarantine\") ]", NULL,
         ETL_DQDL_ACTION_DEFAULT, ERR_INVALID_INPUT,
         "dqdl: line 1, column 11: Rule_1 is dataset-level (a composite with dataset-level "
         "rules): it cannot quarantine rows"},
        {"Rules = [ (IsComplete \"a\" with action = \"warn\") or (IsComplete \"b\" with action = "
         "\"fail\") ]",
         NULL, ETL_DQDL_ACTION_DEFAULT, ERR_INVALID_INPUT,
         "line 1, column 53: the rules of a composite ask for different actions (warn and fail)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct etl_dq_action_override o = {cases[i].rule, cases[i].action};
        struct etl_dq_config cfg = {&o, cases[i].rule != NULL ? 1 : 0, 0};
        struct etl_dq_rules *rules = NULL;
        struct err err = ERR_INIT;
        assert_int_equal(etl_dq_new(cur_from_str(cases[i].dqdl), &cfg, &rules, &err),
                         cases[i].code);
        assert_null(rules);
        if (strstr(err.msg, cases[i].msg) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg);
        }
    }
}

/* The last row's outcome as Glue's row-level columns. */
static void test_verdict_write(void **state)
{
    (void)state;
    struct run r;
    run_full(&r, "Rules = [ IsComplete \"a\", RowCount > 0, ColumnValues \"b\" in [\"x\"] ]",
             "{\"b\":\"x\"}", NULL, NULL);
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct jsonw w;
    jsonw_init(&w, &out, &err);
    jsonw_object(&w, JSONW_COMPACT);
    etl_dq_verdict_write(r.st, &w);
    jsonw_end(&w);
    assert_int_equal(jsonw_finish(&w), ERR_OK);
    assert_string_equal(buf_cstr(&out),
                        "{\"DataQualityRulesPass\":[\"ColumnValues \\\"b\\\" in [\\\"x\\\"]\"],"
                        "\"DataQualityRulesFail\":[\"IsComplete \\\"a\\\"\"],"
                        "\"DataQualityRulesSkip\":[\"RowCount > 0\"],"
                        "\"DataQualityEvaluationResult\":\"Failed\"}");
    buf_cleanup(&out);
    run_cleanup(&r);
}

/* A row whose value cannot be read fails the rule for that row; the rule says ERROR and why. */
static enum err_code
boom_lookup(void *ctx, const struct etl_colpath *path, struct etl_value *out, struct err *err)
{
    if (strcmp(path->segs[0].name, "boom") == 0) {
        return err_set(err, ERR_INVALID_INPUT, "value of boom cannot be read");
    }
    return fake_lookup(ctx, path, out, err);
}

static void test_row_errors(void **state)
{
    (void)state;
    struct etl_dq_rules *rules = NULL;
    struct etl_dq_state *st = NULL;
    struct etl_dq_results *res = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_dq_new(cur_from_str("Rules = [ IsComplete \"boom\", IsComplete \"a\" ]"),
                                NULL, &rules, &err),
                     ERR_OK);
    assert_int_equal(etl_dq_state_new(rules, NOW_MS, &st, &err), ERR_OK);
    struct fake_row row;
    etl_arena_init(&row.arena, 0);
    assert_int_equal(json_validate(cur_from_str("{\"a\":1}"), 4, &row.obj, &err), ERR_OK);
    struct etl_expr_env env = {boom_lookup, &row, NULL};
    struct etl_dq_verdict v;
    assert_int_equal(etl_dq_row(st, &env, &v, &err), ERR_OK);
    assert_int_equal(v.n_failed, 1);
    assert_int_equal(v.failed[0], 0);
    assert_int_equal(etl_dq_result_evaluate(etl_dq_state_partial(st), NULL, &res, &err), ERR_OK);
    assert_int_equal(res->rules[0].outcome, ETL_DQ_ERROR);
    assert_string_equal(res->rules[0].message,
                        "1 rows could not be evaluated: value of boom cannot be read");
    assert_int_equal(res->rules[1].outcome, ETL_DQ_PASS);
    etl_arena_cleanup(&row.arena);
    etl_dq_result_free(res);
    etl_dq_state_free(st);
    etl_dq_free(rules);
}

/* A set over its cap makes the rule ERROR rather than report a wrong count. */
static void test_distinct_cap(void **state)
{
    (void)state;
    struct etl_dq_config cfg = {NULL, 0, 2};
    struct run r;
    run_full(&r, "Rules = [ IsUnique \"a\", IsComplete \"a\" ]", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}",
             &cfg, NULL);
    assert_int_equal(r.res->rules[0].outcome, ETL_DQ_ERROR);
    assert_string_equal(
        r.res->rules[0].message,
        "more than 2 distinct values: the count would be wrong (raise max_distinct)");
    assert_int_equal(r.res->rules[1].outcome, ETL_DQ_PASS);
    run_cleanup(&r);
}

/* ---- rules on the schema ---- */

static void load_schema(struct etl_schema *s, const char *json)
{
    struct err err = ERR_INIT;
    etl_schema_init(s);
    if (etl_schema_from_json(s, cur_from_str(json), &err) != ERR_OK) {
        fail_msg("%s", err.msg);
    }
}

static void test_schema_rules(void **state)
{
    (void)state;
    struct etl_schema observed, same, other, fewer;
    load_schema(&observed, "{\"items\":2,\"attributes\":[{\"name\":\"id\",\"types\":{\"S\":2}},"
                           "{\"name\":\"n\",\"types\":{\"N\":2},\"number\":{\"integer_digits\":3,"
                           "\"scale\":0,\"exponent\":false}}]}");
    load_schema(&same, "{\"items\":9,\"attributes\":[{\"name\":\"id\",\"types\":{\"S\":9}},"
                       "{\"name\":\"n\",\"types\":{\"N\":9},\"number\":{\"integer_digits\":5,"
                       "\"scale\":0,\"exponent\":false}}]}");
    load_schema(&other, "{\"items\":9,\"attributes\":[{\"name\":\"id\",\"types\":{\"S\":9}},"
                        "{\"name\":\"n\",\"types\":{\"S\":9}}]}");
    load_schema(&fewer, "{\"items\":9,\"attributes\":[{\"name\":\"id\",\"types\":{\"S\":9}}]}");
    const char *dqdl = "Rules = [ ColumnExists \"id\", ColumnExists \"zip\", ColumnCount = 2, "
                       "SchemaMatch \"ref\" = 1.0, IsComplete \"zip\", SchemaMatch \"ref\" >= 0.5 "
                       "]";
    const char *data = "{\"id\":\"a\",\"n\":1}\n{\"id\":\"b\",\"n\":2}";
    struct etl_dq_result_input in = {&observed, NULL, 0, &same, NULL, 0};
    struct run r;
    char got[128];
    run_full(&r, dqdl, data, NULL, &in);
    outcomes(r.res, got, sizeof(got));
    assert_string_equal(got, "PASS FAIL PASS PASS FAIL PASS");
    assert_string_equal(r.res->rules[1].message, "Input data does not include column zip!");
    assert_true(has_metric(&r.res->rules[1], "Dataset.zip.ColumnExists", 0));
    assert_true(has_metric(&r.res->rules[2], "Dataset.*.ColumnCount", 2));
    assert_true(has_metric(&r.res->rules[3], "Dataset.ref.SchemaMatch", 1));
    assert_string_equal(r.res->rules[4].message, "Input data does not include column zip!");
    run_cleanup(&r);

    in.reference = &other;
    run_full(&r, dqdl, data, NULL, &in);
    assert_int_equal(r.res->rules[3].outcome, ETL_DQ_FAIL);
    assert_string_equal(r.res->rules[3].message, "50.00% of columns passed the threshold");
    assert_int_equal(r.res->rules[5].outcome, ETL_DQ_PASS);
    run_cleanup(&r);

    in.reference = &fewer;
    run_full(&r, dqdl, data, NULL, &in);
    assert_string_equal(r.res->rules[3].message, "Column counts do not match");
    assert_true(has_metric(&r.res->rules[3], "Dataset.ref.SchemaMatch", 0));
    run_cleanup(&r);

    in.reference = NULL;
    run_full(&r, dqdl, data, NULL, &in);
    assert_string_equal(r.res->rules[3].message, "Reference dataset 'ref' not found");
    run_cleanup(&r);

    /* declared columns win over the observed ones; without either, schema rules say ERROR */
    const char *const cols[] = {"id", "n", "zip"};
    struct etl_dq_result_input declared = {&observed, cols, 3, &same, NULL, 0};
    run_full(&r, dqdl, data, NULL, &declared);
    outcomes(r.res, got, sizeof(got));
    assert_string_equal(got, "PASS PASS FAIL PASS FAIL PASS");
    run_cleanup(&r);
    run_full(&r, dqdl, data, NULL, NULL);
    outcomes(r.res, got, sizeof(got));
    assert_string_equal(got, "ERROR ERROR ERROR ERROR FAIL ERROR");
    assert_string_equal(r.res->rules[0].message, "the output's columns are not known");
    run_cleanup(&r);

    etl_schema_cleanup(&observed);
    etl_schema_cleanup(&same);
    etl_schema_cleanup(&other);
    etl_schema_cleanup(&fewer);
}

/* ---- DetectAnomalies ---- */

static void test_anomalies(void **state)
{
    (void)state;
    const char *dqdl = "Rules = [ DetectAnomalies \"RowCount\", DetectAnomalies \"Completeness\" "
                       "\"a\", DetectAnomalies \"Mean\" \"a\" ]";
    const char *data = "{\"a\":1}\n{\"a\":3}\n{}\n{\"a\":2}";
    const double warm[] = {4, 4, 5, 4};
    const double band[] = {3, 4, 5, 4, 4, 4, 3, 5};
    const double high[] = {0.99, 1.0, 0.98, 1.0, 0.99};
    struct etl_dq_history hist[] = {
        {"Dataset.*.RowCount", warm, 4},
        {"Column.a.Completeness", high, 5},
    };
    struct etl_dq_result_input in = {NULL, NULL, 0, NULL, hist, 2};
    struct run r;
    char got[64];
    run_full(&r, dqdl, data, NULL, &in);
    outcomes(r.res, got, sizeof(got));
    assert_string_equal(got, "PASS FAIL PASS");
    assert_string_equal(r.res->rules[0].message,
                        "Warming up: 4 of the 5 values needed to detect anomalies of "
                        "Dataset.*.RowCount are stored");
    assert_string_equal(r.res->rules[2].message,
                        "Warming up: 0 of the 5 values needed to detect anomalies of "
                        "Column.a.Mean are stored");
    /* completeness 0.75 against 0.99 +/- 3 x 1.4826 x 0.01 */
    assert_string_equal(r.res->rules[1].message,
                        "Value: 0.75 is outside the expected range 0.945522 to 1.034478");
    assert_int_equal(r.res->rules[1].n_observations, 1);
    const struct etl_dq_observation *o = &r.res->rules[1].observations[0];
    assert_string_equal(o->metric, "Column.a.Completeness");
    assert_true(o->actual == 0.75 && o->expected == 0.99);
    assert_true(fabs(o->lower - 0.945522) < 1e-12 && fabs(o->upper - 1.034478) < 1e-12);
    /* every DetectAnomalies rule stores its value */
    assert_int_equal(r.res->n_stores, 3);
    assert_string_equal(r.res->stores[0].metric, "Dataset.*.RowCount");
    assert_true(r.res->stores[0].value == 4);
    assert_string_equal(r.res->stores[1].metric, "Column.a.Completeness");
    assert_true(r.res->stores[1].value == 0.75);
    assert_string_equal(r.res->stores[2].metric, "Column.a.Mean");
    assert_true(r.res->stores[2].value == 2);
    run_cleanup(&r);

    hist[0].values = band;
    hist[0].n = 8;
    run_full(&r, dqdl, data, NULL, &in);
    assert_int_equal(r.res->rules[0].outcome, ETL_DQ_PASS);
    assert_null(r.res->rules[0].message);
    run_cleanup(&r);

    /* a metric with no value (a mean of no numbers) cannot be compared or stored */
    run_full(&r, dqdl, "{}", NULL, &in);
    assert_int_equal(r.res->rules[2].outcome, ETL_DQ_ERROR);
    assert_int_equal(r.res->n_stores, 2);
    run_cleanup(&r);
}

/* ---- the result document ---- */

static void test_document(void **state)
{
    (void)state;
    const double hist[] = {10, 10, 10, 10, 10};
    struct etl_dq_history h = {"Dataset.*.RowCount", hist, 5};
    struct etl_dq_result_input in = {NULL, NULL, 0, NULL, &h, 1};
    struct run r;
    run_full(&r,
             "DefaultLabels = [\"team\" = \"lake\"]\n"
             "Rules = [ IsComplete \"a\", RowCount > 1, DetectAnomalies \"RowCount\" ]",
             "{\"a\":1}\n{}", NULL, &in);
    struct etl_dq_report_meta meta = {"dqresult-1", "orders", 1718452800000LL, 1718452801250LL};
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_dq_report_to_json(r.res, &meta, &out, &err), ERR_OK);
    const char *want =
        "{\n"
        "  \"ResultId\": \"dqresult-1\",\n"
        "  \"RulesetName\": \"orders\",\n"
        "  \"Score\": 0.3333333333333333,\n"
        "  \"StartedOn\": 1718452800.000,\n"
        "  \"CompletedOn\": 1718452801.250,\n"
        "  \"RuleResults\": [\n"
        "    {\n"
        "      \"Name\": \"Rule_1\",\n"
        "      \"Description\": \"IsComplete \\\"a\\\"\",\n"
        "      \"EvaluationMessage\": \"Value: 0.5 does not meet the constraint requirement!\",\n"
        "      \"Result\": \"FAIL\",\n"
        "      \"EvaluatedMetrics\": {\n"
        "        \"Column.a.Completeness\": 0.5\n"
        "      },\n"
        "      \"EvaluatedRule\": \"IsComplete \\\"a\\\"\",\n"
        "      \"Labels\": {\"team\": \"lake\"}\n"
        "    },\n"
        "    {\n"
        "      \"Name\": \"Rule_2\",\n"
        "      \"Description\": \"RowCount > 1\",\n"
        "      \"Result\": \"PASS\",\n"
        "      \"EvaluatedMetrics\": {\n"
        "        \"Dataset.*.RowCount\": 2\n"
        "      },\n"
        "      \"EvaluatedRule\": \"RowCount > 1\",\n"
        "      \"Labels\": {\"team\": \"lake\"}\n"
        "    },\n"
        "    {\n"
        "      \"Name\": \"Rule_3\",\n"
        "      \"Description\": \"DetectAnomalies \\\"RowCount\\\"\",\n"
        "      \"EvaluationMessage\": \"Value: 2.0 is outside the expected range 9.9 to 10.1\",\n"
        "      \"Result\": \"FAIL\",\n"
        "      \"EvaluatedMetrics\": {\n"
        "        \"Dataset.*.RowCount\": 2\n"
        "      },\n"
        "      \"EvaluatedRule\": \"DetectAnomalies \\\"RowCount\\\"\",\n"
        "      \"Labels\": {\"team\": \"lake\"}\n"
        "    }\n"
        "  ],\n"
        "  \"Observations\": [\n"
        "    {\n"
        "      \"Description\": \"Dataset.*.RowCount: 2.0 is outside the expected range 9.9 to "
        "10.1 (the median 10.0 of the last 5 values +/- 3 x 1.4826 x MAD)\",\n"
        "      \"MetricBasedObservation\": {\n"
        "        \"MetricName\": \"Dataset.*.RowCount\",\n"
        "        \"MetricValues\": {\"ActualValue\": 2, \"ExpectedValue\": 10, \"LowerLimit\": "
        "9.9, \"UpperLimit\": 10.1}\n"
        "      }\n"
        "    }\n"
        "  ],\n"
        "  \"AggregatedMetrics\": {\n"
        "    \"TotalRowsProcessed\": 2,\n"
        "    \"TotalRowsPassed\": 1,\n"
        "    \"TotalRowsFailed\": 1,\n"
        "    \"TotalRulesProcessed\": 3,\n"
        "    \"TotalRulesPassed\": 1,\n"
        "    \"TotalRulesFailed\": 2\n"
        "  }\n"
        "}";
    assert_string_equal(buf_cstr(&out), want);
    /* it is JSON, with botocore's member names */
    cJSON *doc = cJSON_Parse(buf_cstr(&out));
    assert_non_null(doc);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "AggregatedMetrics"));
    cJSON_Delete(doc);
    buf_cleanup(&out);
    run_cleanup(&r);
}

/* Java's Double.toString, as deequ's messages print values. */
static void test_java_double(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.5, "0.5"},
        {3, "3.0"},
        {-2.5, "-2.5"},
        {1e7, "1.0E7"},
        {1234567, "1234567.0"},
        {9999999.5, "9999999.5"},
        {0.001, "0.001"},
        {0.0001, "1.0E-4"},
        {1.0 / 3, "0.3333333333333333"},
        {2.0 / 3, "0.6666666666666666"},
        {123456789, "1.23456789E8"},
        {1e21, "1.0E21"},
        {0.1 + 0.2, "0.30000000000000004"},
        {0, "0.0"},
        {-0.0, "-0.0"},
        {1e-300, "1.0E-300"},
        {NAN, "NaN"},
        {-INFINITY, "-Infinity"},
        {100, "100.0"},
        {1.5e-3, "0.0015"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[40];
        etl_dq_result_java_double(cases[i].v, out, sizeof(out));
        assert_string_equal(out, cases[i].s);
    }
}

/* ---- partials: merging and saving ---- */

/* Every rule type that aggregates, on columns with NULLs, duplicates and numbers of many forms. */
static const char *MERGE_DQDL =
    "Rules = [ RowCount > 0, IsComplete \"amount\", Completeness \"s\" > 0.5, Uniqueness \"id\" > "
    "0.1, IsUnique \"id\", IsPrimaryKey \"id\" \"s\", DistinctValuesCount \"s\" > 1, Mean "
    "\"amount\" > 0, Sum \"amount\" > 0, StandardDeviation \"amount\" > 0, ColumnValues \"amount\" "
    "between -100 and 100, ColumnValues \"s\" in [\"a\", \"b\", EMPTY] with threshold > 0.5, "
    "ColumnLength \"s\" < 3, DataFreshness \"d\" <= 48 hours, ColumnDataType \"amount\" = "
    "\"DECIMAL(10,2)\" with threshold > 0.5, (IsComplete \"s\") or (ColumnValues \"id\" > 5), "
    "DetectAnomalies \"StandardDeviation\" \"amount\", Uniqueness \"id\" \"s\" > 0.1 ]";

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* n rows, one JSON object a line. */
static void random_rows(uint64_t seed, size_t n, struct buf *out)
{
    static const char *const S[] = {"\"a\"", "\"b\"", "\"\"", "\"  \"", "null", "\"abc\""};
    struct err err = ERR_INIT;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = xorshift(&seed);
        long cents = (long)(r % 40001) - 20000;
        const char *s = S[(r >> 20) % 6];
        int hours = (int)((r >> 30) % 72);
        assert_int_equal(buf_printf(out, &err,
                                    "%s{\"id\":%llu,\"s\":%s,\"d\":\"2024-06-%02dT%02d:00:00Z\"",
                                    i > 0 ? "\n" : "", (unsigned long long)((r >> 8) % (n / 2 + 1)),
                                    s, 12 + hours / 24, hours % 24),
                         ERR_OK);
        switch ((r >> 40) % 5) {
        case 0:
            break; /* no amount */
        case 1:
            assert_int_equal(buf_append_str(out, ",\"amount\":null", &err), ERR_OK);
            break;
        case 2:
            assert_int_equal(buf_printf(out, &err, ",\"amount\":%ldE-2", cents), ERR_OK);
            break;
        default:
            assert_int_equal(
                buf_printf(out, &err, ",\"amount\":%ld.%02ld", cents / 100, labs(cents % 100)),
                ERR_OK);
            break;
        }
        assert_int_equal(buf_append_str(out, "}", &err), ERR_OK);
    }
}

/* Results equal: outcomes, messages, metrics (standard deviations within rounding). */
static void assert_same_results(const struct etl_dq_results *a, const struct etl_dq_results *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->rows_failed, b->rows_failed);
    for (size_t i = 0; i < a->n; i++) {
        const struct etl_dq_rule_result *x = &a->rules[i], *y = &b->rules[i];
        assert_int_equal(x->outcome, y->outcome);
        assert_string_equal(x->message != NULL ? x->message : "",
                            y->message != NULL ? y->message : "");
        assert_int_equal(x->n_metrics, y->n_metrics);
        for (size_t k = 0; k < x->n_metrics; k++) {
            assert_string_equal(x->metrics[k].name, y->metrics[k].name);
            double u = x->metrics[k].value, v = y->metrics[k].value;
            if (strstr(x->metrics[k].name, "StandardDeviation") != NULL) {
                assert_true(fabs(u - v) <= 1e-12 * fabs(u));
            } else if (u != v) {
                fail_msg("%s: %.17g != %.17g", x->metrics[k].name, u, v);
            }
        }
    }
}

/* Any split of the rows into partials, merged in any order (some through their JSON form, by
 * rules compiled separately, as segments are), gives what one pass gives. */
static void test_merge_property(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 25; round++) {
        struct buf text = BUF_INIT(0);
        size_t n = 20 + xorshift(&seed) % 180;
        random_rows(xorshift(&seed), n, &text);
        struct run whole;
        run_full(&whole, MERGE_DQDL, buf_cstr(&text), NULL, NULL);

        /* cut the rows into k parts at random line boundaries */
        size_t k = 1 + xorshift(&seed) % 6;
        const char *starts[8];
        size_t n_parts = 0;
        starts[n_parts++] = buf_cstr(&text);
        for (const char *p = buf_cstr(&text); *p != '\0' && n_parts < k; p++) {
            if (*p == '\n' && xorshift(&seed) % (n / k + 1) == 0) {
                starts[n_parts++] = p + 1;
            }
        }
        struct etl_dq_rules *rules[8];
        struct etl_dq_state *states[8];
        for (size_t i = 0; i < n_parts; i++) {
            const char *end = i + 1 < n_parts ? starts[i + 1] - 1 : starts[0] + text.len;
            char *part = strndup(starts[i], (size_t)(end - starts[i]));
            assert_int_equal(etl_dq_new(cur_from_str(MERGE_DQDL), NULL, &rules[i], &err), ERR_OK);
            assert_int_equal(etl_dq_state_new(rules[i], NOW_MS, &states[i], &err), ERR_OK);
            feed(states[i], part, NULL);
            free(part);
        }
        /* merge into the last part, in a shuffled order, every other one through JSON */
        struct etl_dq_partial *into = etl_dq_state_partial(states[n_parts - 1]);
        for (size_t i = n_parts - 1; i-- > 0;) {
            size_t j = xorshift(&seed) % (i + 1);
            struct etl_dq_state *t = states[i];
            states[i] = states[j];
            states[j] = t;
        }
        for (size_t i = 0; i + 1 < n_parts; i++) {
            struct etl_dq_partial *src = etl_dq_state_partial(states[i]);
            if (i % 2 == 0) {
                struct buf saved = BUF_INIT(0);
                assert_int_equal(etl_dq_partial_to_json(src, &saved, &err), ERR_OK);
                assert_int_equal(etl_dq_partial_from_json(into, buf_cur(&saved), &err), ERR_OK);
                buf_cleanup(&saved);
            } else {
                assert_int_equal(etl_dq_partial_merge(into, src, &err), ERR_OK);
            }
        }
        struct etl_dq_results *merged = NULL;
        assert_int_equal(etl_dq_result_evaluate(into, NULL, &merged, &err), ERR_OK);
        assert_same_results(whole.res, merged);
        assert_int_equal(merged->rows, n);
        etl_dq_result_free(merged);
        for (size_t i = 0; i < n_parts; i++) {
            etl_dq_state_free(states[i]);
        }
        for (size_t i = 0; i < n_parts; i++) {
            etl_dq_free(rules[i]);
        }
        run_cleanup(&whole);
        buf_cleanup(&text);
    }
}

/* A partial's JSON reads back to the same partial: writing it again gives the same text. */
static void test_partial_round_trip(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT(0), a = BUF_INIT(0), b = BUF_INIT(0);
    random_rows(12345, 150, &text);
    struct run r;
    run_full(&r, MERGE_DQDL, buf_cstr(&text), NULL, NULL);
    struct etl_dq_partial *p = etl_dq_state_partial(r.st), *back = NULL;
    assert_int_equal(etl_dq_partial_to_json(p, &a, &err), ERR_OK);
    assert_int_equal(etl_dq_partial_new(r.rules, &back, &err), ERR_OK);
    assert_int_equal(etl_dq_partial_from_json(back, buf_cur(&a), &err), ERR_OK);
    assert_int_equal(etl_dq_partial_to_json(back, &b, &err), ERR_OK);
    assert_string_equal(buf_cstr(&a), buf_cstr(&b));
    assert_int_equal(etl_dq_partial_rows(back), 150);
    assert_true(etl_dq_partial_bytes(back) >= 2 * 64 * 16); /* three sets, two with values */
    struct etl_dq_results *res = NULL;
    assert_int_equal(etl_dq_result_evaluate(back, NULL, &res, &err), ERR_OK);
    assert_same_results(r.res, res);
    etl_dq_result_free(res);
    /* reset forgets the rows; the saved form still merges back */
    etl_dq_partial_reset(back);
    assert_int_equal(etl_dq_partial_rows(back), 0);
    assert_int_equal(etl_dq_partial_bytes(back), 0);
    assert_int_equal(etl_dq_partial_from_json(back, buf_cur(&a), &err), ERR_OK);
    buf_reset(&b);
    assert_int_equal(etl_dq_partial_to_json(back, &b, &err), ERR_OK);
    assert_string_equal(buf_cstr(&a), buf_cstr(&b));
    etl_dq_partial_free(back);
    etl_dq_partial_free(NULL);
    buf_cleanup(&text);
    buf_cleanup(&a);
    buf_cleanup(&b);
    run_cleanup(&r);
}

/* A saved partial of small numbers, byte for byte (the shape the checkpoint holds). */
static void test_partial_shape(void **state)
{
    (void)state;
    struct run r;
    run_full(
        &r, "Rules = [ IsComplete \"id\", Sum \"x\" > 0, IsUnique \"id\", ColumnValues \"x\" > 0 ]",
        "{\"id\":1,\"x\":1.5}\n{\"id\":2,\"x\":2}\n{\"x\":-1}", NULL, NULL);
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_dq_partial_to_json(etl_dq_state_partial(r.st), &out, &err), ERR_OK);
    /* long doubles are written with the platform's digits (LDBL_DECIMAL_DIG): read them back */
    cJSON *doc = cJSON_Parse(buf_cstr(&out));
    cJSON *sum = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "leaves"), 1);
    long double mean = strtold(cJSON_GetObjectItem(sum, "mean")->valuestring, NULL);
    long double m2 = strtold(cJSON_GetObjectItem(sum, "m2")->valuestring, NULL);
    assert_true(fabsl(mean - 2.5L / 3) < 1e-17L);
    assert_true(fabsl(m2 - 15.5L / 3) < 1e-17L);
    cJSON_DeleteItemFromObject(sum, "mean");
    cJSON_DeleteItemFromObject(sum, "m2");
    char *rest = cJSON_PrintUnformatted(doc);
    assert_string_equal(
        rest,
        "{\"version\":1,\"rows\":3,\"rows_failed\":1,\"leaves\":["
        "{\"rule\":\"IsComplete \\\"id\\\"\",\"rows\":3,\"pass\":2,\"null_fail\":1,\"nonnull\":[2]},"
        "{\"rule\":\"Sum \\\"x\\\" > 0\",\"rows\":3,\"pass\":3,\"null_fail\":0,\"nonnull\":[3],"
        "\"n\":3,\"bad\":0,\"sum\":\"0.25E1\",\"sum_ld\":\"2.5\"},"
        "{\"rule\":\"IsUnique \\\"id\\\"\",\"rows\":3,\"pass\":3,\"null_fail\":0,\"nonnull\":[2],"
        "\"grouped\":2,\"distinct\":{\"n\":2,\"once\":2,\"hashes\":\"qtGEsdjQ3MKLAtiw/bj5r4fXjwE=\"}},"
        "{\"rule\":\"ColumnValues \\\"x\\\" > 0\",\"rows\":3,\"pass\":2,\"null_fail\":0,"
        "\"nonnull\":[3],\"min\":-1,\"max\":2}]}");
    free(rest);
    cJSON_Delete(doc);
    buf_cleanup(&out);
    run_cleanup(&r);
}

static void test_partial_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"[]", "not a version 1 partial"},
        {"{\"version\":2,\"leaves\":[]}", "not a version 1 partial"},
        {"{\"version\":1,\"rows\":0,\"rows_failed\":0,\"leaves\":[]}",
         "made by another ruleset (not 2 rules)"},
        {"{\"version\":1,\"rows\":0,\"rows_failed\":0,\"leaves\":[{\"rule\":\"IsComplete "
         "\\\"b\\\"\"},{}]}",
         "leaf 1: made by another ruleset (its rule is not IsComplete \"a\")"},
        {"{\"version\":1,\"rows\":1,\"rows_failed\":0,\"leaves\":[{\"rule\":\"IsComplete "
         "\\\"a\\\"\",\"rows\":1,\"pass\":1,\"null_fail\":0,\"nonnull\":[1]},{\"rule\":\"IsUnique "
         "\\\"a\\\"\",\"rows\":1,\"pass\":1,\"null_fail\":0,\"nonnull\":[1],\"grouped\":1,"
         "\"distinct\":{\"n\":2,\"once\":1,\"hashes\":\"AgA=\"}}]}",
         "out of order"},
        {"{\"version\":1,\"rows\":1,\"rows_failed\":0,\"leaves\":[{\"rule\":\"IsComplete "
         "\\\"a\\\"\",\"rows\":-1,\"pass\":1,\"null_fail\":0,\"nonnull\":[1]},{}]}",
         "leaf 1: \"rows\" is not a count"},
        {"{\"version\":1,\"rows\":1,\"rows_failed\":0,\"leaves\":[{\"rule\":\"IsComplete "
         "\\\"a\\\"\",\"rows\":1,\"pass\":1,\"null_fail\":0,\"nonnull\":[]},{}]}",
         "leaf 1: \"nonnull\" needs 1 counts"},
        {"{\"version\":1,", "dq: partial: invalid JSON"},
    };
    struct run r;
    run_full(&r, "Rules = [ IsComplete \"a\", IsUnique \"a\" ]", "{\"a\":1}", NULL, NULL);
    struct etl_dq_partial *p = etl_dq_state_partial(r.st);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct err err = ERR_INIT;
        assert_int_equal(etl_dq_partial_from_json(p, cur_from_str(cases[i].json), &err),
                         ERR_INVALID_INPUT);
        if (strstr(err.msg, cases[i].msg) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg);
        }
        /* a refused document leaves the partial as it was */
        assert_int_equal(etl_dq_partial_rows(p), 1);
    }
    /* partials of another ruleset do not merge */
    struct run other;
    struct err err = ERR_INIT;
    run_full(&other, "Rules = [ IsComplete \"b\", IsUnique \"a\" ]", "{}", NULL, NULL);
    assert_int_equal(etl_dq_partial_merge(p, etl_dq_state_partial(other.st), &err),
                     ERR_INVALID_INPUT);
    run_cleanup(&other);
    run_cleanup(&r);
}

/* Regexes are compiled with the ruleset: what POSIX cannot do is an error at its position. */
static void test_compile_errors(void **state)
{
    (void)state;
    static const struct {
        const char *dqdl;
        const char *msg;
    } cases[] = {
        {"Rules = [ ColumnValues \"s\" matches \"ab(?=c)\" ]",
         "dqdl: line 1, column 39: regular expression: regex: lookahead (?= is not supported"},
        {"Rules = [\n  ColumnValues \"s\" matches \"(?i)x\\1\" ]",
         "dqdl: line 2, column 34: regular expression: regex: backreferences (\\1) are not supported"},
        {"Rules = [ IsComplete \"a\", Foo ]", "dqdl: line 1, column 27: unknown rule type Foo"},
        {"Rules = [ IsComplete \"a\" where \"a >\" ]", "dqdl: line 1, column 32: where clause: "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct etl_dq_rules *rules = NULL;
        struct err err = ERR_INIT;
        assert_int_equal(etl_dq_new(cur_from_str(cases[i].dqdl), NULL, &rules, &err),
                         ERR_INVALID_INPUT);
        assert_null(rules);
        if (strstr(err.msg, cases[i].msg) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg);
        }
    }
    etl_dq_free(NULL);
}

/* Once warm, a row allocates nothing: the heap in use is the same after a thousand more rows
 * (rules without distinct-value sets, whose growth is the aggregate's, not the row's). */
static void test_no_allocation_per_row(void **state)
{
    (void)state;
    const char *dqdl = "Rules = [ IsComplete \"a\", ColumnValues \"s\" in [\"x\", EMPTY] where \"a "
                       "> 0\", ColumnValues \"s\" matches \"[a-z]+\", ColumnLength \"s\" < 9, Mean "
                       "\"a\" > 0, ColumnValues \"d\" > (now() - 3 days), DataFreshness \"d\" < 9 "
                       "days, ColumnDataType \"a\" = \"Integer\" ]";
    struct etl_dq_rules *rules = NULL;
    struct etl_dq_state *st = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_dq_new(cur_from_str(dqdl), NULL, &rules, &err), ERR_OK);
    assert_int_equal(etl_dq_state_new(rules, NOW_MS, &st, &err), ERR_OK);
    struct fake_row row;
    etl_arena_init(&row.arena, 0);
    const char *text = "{\"a\":12,\"s\":\"xyz\",\"d\":\"2024-06-14T10:00:00Z\"}";
    assert_int_equal(json_validate(cur_from_str(text), 4, &row.obj, &err), ERR_OK);
    struct etl_expr_env env = {fake_lookup, &row, NULL};
    struct etl_dq_verdict v;
    size_t before = 0;
    for (int i = 0; i < 1100; i++) {
        if (i == 100) {
            before = mallinfo2().uordblks;
        }
        etl_arena_reset(&row.arena);
        assert_int_equal(etl_dq_row(st, &env, &v, &err), ERR_OK);
    }
    size_t after = mallinfo2().uordblks;
    if (before != 0) { /* sanitizers keep their own heap and report nothing here */
        assert_int_equal(after, before);
    }
    etl_arena_cleanup(&row.arena);
    etl_dq_state_free(st);
    etl_dq_free(rules);
}

int main(void)
{
    enum { N = sizeof(rows) / sizeof(rows[0]) };
    static const struct CMUnitTest more[] = {
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_action_errors),
        cmocka_unit_test(test_verdict_write),
        cmocka_unit_test(test_row_errors),
        cmocka_unit_test(test_distinct_cap),
        cmocka_unit_test(test_schema_rules),
        cmocka_unit_test(test_anomalies),
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_java_double),
        cmocka_unit_test(test_merge_property),
        cmocka_unit_test(test_partial_round_trip),
        cmocka_unit_test(test_partial_shape),
        cmocka_unit_test(test_partial_errors),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_no_allocation_per_row),
    };
    enum { M = sizeof(more) / sizeof(more[0]) };
    struct CMUnitTest tests[N + M];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){rows[i].name, test_row, NULL, NULL, (void *)&rows[i]};
    }
    memcpy(tests + N, more, sizeof(more));
    return _cmocka_run_group_tests("dq", tests, N + M, NULL, NULL);
}
