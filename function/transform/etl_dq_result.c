/*
 * etl_dq_result.c - verdicts from aggregates, rule type by rule type, following how deequ's DQDL
 * translators check each one (which metric, which assertion, which message), and Glue's result
 * document. Java's Double.toString is reproduced because deequ's messages embed it.
 */
#include "etl_dq_result.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_dq_anomaly.h"
#include "etl_dq_partial.h"
#include "etl_dq_private.h"

const char *etl_dq_outcome_name(enum etl_dq_outcome o)
{
    return o == ETL_DQ_PASS ? "PASS" : o == ETL_DQ_FAIL ? "FAIL" : "ERROR";
}

/* ---- Java's Double.toString ---- */

size_t etl_dq_result_java_double(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        return (size_t)snprintf(out, cap, "NaN");
    }
    if (isinf(v)) {
        return (size_t)snprintf(out, cap, v < 0 ? "-Infinity" : "Infinity");
    }
    if (v == 0) {
        return (size_t)snprintf(out, cap, signbit(v) ? "-0.0" : "0.0");
    }
    /* the shortest digits that read back as v (what Java prints since JDK 19) */
    char sci[40];
    for (int p = 0; p < 17; p++) {
        snprintf(sci, sizeof(sci), "%.*e", p, v);
        if (strtod(sci, NULL) == v) {
            break;
        }
    }
    char digits[24];
    size_t nd = 0;
    const char *s = sci + (sci[0] == '-');
    for (; *s != 'e'; s++) {
        if (*s != '.') {
            digits[nd++] = *s;
        }
    }
    int exp = (int)strtol(s + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    const char *sign = v < 0 ? "-" : "";
    if (fabs(v) >= 1e-3 && fabs(v) < 1e7) {
        char plain[48];
        size_t n = 0;
        if (exp < 0) {
            n += (size_t)snprintf(plain + n, sizeof(plain) - n, "0.");
            for (int i = -1; i > exp; i--) {
                plain[n++] = '0';
            }
            memcpy(plain + n, digits, nd);
            n += nd;
        } else {
            for (int i = 0; i <= exp; i++) {
                plain[n++] = (size_t)i < nd ? digits[i] : '0';
            }
            plain[n++] = '.';
            if ((size_t)exp + 1 < nd) {
                memcpy(plain + n, digits + exp + 1, nd - (size_t)exp - 1);
                n += nd - (size_t)exp - 1;
            } else {
                plain[n++] = '0';
            }
        }
        plain[n] = '\0';
        return (size_t)snprintf(out, cap, "%s%s", sign, plain);
    }
    return (size_t)snprintf(out, cap, "%s%c.%.*sE%d", sign, digits[0], nd > 1 ? (int)nd - 1 : 1,
                            nd > 1 ? digits + 1 : "0", exp);
}

/* ---- verdicts ---- */

struct verdict {
    enum etl_dq_outcome outcome;
    struct buf msg;
    struct etl_dq_metric *metrics;
    size_t n_metrics;
    size_t cap_metrics;
    struct etl_dq_observation *obs;
    size_t n_obs;
    size_t cap_obs;
};

struct ctx {
    const struct etl_dq_rules *rules;
    const struct etl_dq_partial *p;
    const struct etl_dq_result_input *in;
    struct etl_dq_results *res;
    size_t cap_stores;
    struct err *err;
    enum err_code rc;
};

static void nomem(struct ctx *cx)
{
    if (cx->rc == ERR_OK) {
        cx->rc = err_set(cx->err, ERR_NOMEM, "dq: out of memory for the results");
    }
}

PRINTF_FMT(3, 4)
static void line(struct ctx *cx, struct verdict *v, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    struct err e = ERR_INIT;
    if ((v->msg.len > 0 && buf_append_str(&v->msg, "\n", &e) != ERR_OK) ||
        buf_append_str(&v->msg, text, &e) != ERR_OK) {
        nomem(cx);
    }
}

static void metric(struct ctx *cx, struct verdict *v, const char *name, double value)
{
    for (size_t i = 0; i < v->n_metrics; i++) {
        if (strcmp(v->metrics[i].name, name) == 0) {
            v->metrics[i].value = value;
            return;
        }
    }
    struct etl_dq_metric *m = mem_grow(v->metrics, &v->cap_metrics, v->n_metrics, sizeof(*m), 4);
    char *copy = strdup(name);
    if (m == NULL || copy == NULL) {
        free(copy);
        nomem(cx);
        return;
    }
    v->metrics = m;
    v->metrics[v->n_metrics++] = (struct etl_dq_metric){copy, value};
}

static void verdict_cleanup(struct verdict *v)
{
    buf_cleanup(&v->msg);
    for (size_t i = 0; i < v->n_metrics; i++) {
        free(v->metrics[i].name);
    }
    free(v->metrics);
    for (size_t i = 0; i < v->n_obs; i++) {
        free(v->obs[i].description);
        free(v->obs[i].metric);
    }
    free(v->obs);
    memset(v, 0, sizeof(*v));
}

/* "Value: X does not meet the constraint requirement!" (deequ's AnalysisBasedConstraint), with X
 * as a Scala Long for counting metrics and as a Double otherwise. */
static void value_line(struct ctx *cx, struct verdict *v, double x, bool integer)
{
    char num[40];
    if (integer) {
        snprintf(num, sizeof(num), "%.0f", x);
    } else {
        etl_dq_result_java_double(x, num, sizeof(num));
    }
    line(cx, v, "Value: %s does not meet the constraint requirement!", num);
}

static void fail_with_value(struct ctx *cx, struct verdict *v, double x, bool integer)
{
    v->outcome = ETL_DQ_FAIL;
    value_line(cx, v, x, integer);
}

/* ---- columns ---- */

static bool column_present(const struct ctx *cx, const char *name)
{
    const struct etl_dq_result_input *in = cx->in;
    if (in->n_columns > 0) {
        for (size_t i = 0; i < in->n_columns; i++) {
            if (strcmp(in->columns[i], name) == 0) {
                return true;
            }
        }
        return false;
    }
    if (in->observed == NULL) {
        return true; /* nothing to check against */
    }
    for (size_t i = 0; i < in->observed->n; i++) {
        if (strcmp(in->observed->attrs[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

static const char *missing_column(const struct ctx *cx, const struct etl_dq_leaf *leaf)
{
    for (size_t i = 0; i < leaf->n_cols; i++) {
        const char *name = cx->rules->cols[leaf->cols[i]].name;
        if (!column_present(cx, name)) {
            return name;
        }
    }
    return NULL;
}

static bool schema_known(const struct ctx *cx)
{
    return cx->in->n_columns > 0 || cx->in->observed != NULL;
}

/* ---- metrics ---- */

static double exact_sum(const struct etl_dq_agg *a)
{
    return a->sum_inexact ? (double)a->sum_ld : etl_decimal_to_double(&a->sum);
}

/* The square root of x >= 0, by Newton's iteration in long double from a guess within a factor
 * of two (half the exponent): the library links no libm, and this is its only root. */
static double square_root(long double x)
{
    if (!(x > 0)) {
        return 0; /* M2 is never negative; rounding can leave it a hair below 0 */
    }
    double d = (double)x;
    if (!isfinite(d)) {
        return d;
    }
    uint64_t bits = 0;
    memcpy(&bits, &d, sizeof(bits));
    bits = (bits >> 1) + (UINT64_C(0x3ff0000000000000) >> 1);
    double guess = 0;
    memcpy(&guess, &bits, sizeof(guess));
    long double g = guess;
    for (int i = 0; i < 8; i++) {
        g = (g + x / g) / 2;
    }
    return (double)g;
}

/* The metric a rule type asserts on: false when there is none (an empty state: deequ's
 * EmptyStateException). *integer tells a count. */
static bool metric_value(const struct ctx *cx,
                         const struct etl_dq_leaf *leaf,
                         const struct etl_dq_agg *a,
                         double *x,
                         bool *integer)
{
    *integer = false;
    switch (leaf->metric) {
    case ETL_DQDL_ROW_COUNT:
        *integer = true;
        *x = (double)a->rows;
        return true;
    case ETL_DQDL_COLUMN_COUNT:
        *integer = true;
        *x = cx->in->n_columns > 0      ? (double)cx->in->n_columns
             : cx->in->observed != NULL ? (double)cx->in->observed->n
                                        : NAN;
        return schema_known(cx);
    case ETL_DQDL_COMPLETENESS:
    case ETL_DQDL_IS_COMPLETE:
        *x = a->rows > 0 ? (double)a->nonnull[0] / (double)a->rows : NAN;
        return a->rows > 0;
    case ETL_DQDL_UNIQUENESS:
    case ETL_DQDL_IS_UNIQUE:
    case ETL_DQDL_IS_PRIMARY_KEY:
        *x = a->grouped > 0 ? (double)a->set.once / (double)a->grouped : NAN;
        return a->grouped > 0;
    case ETL_DQDL_DISTINCT_VALUES_COUNT:
        *integer = true;
        *x = (double)a->set.n;
        return true;
    case ETL_DQDL_MEAN:
        *x = a->n > 0 ? exact_sum(a) / (double)a->n : NAN;
        if (a->n > 0 && a->sum_inexact) {
            *x = (double)(a->sum_ld / (long double)a->n);
        }
        return a->n > 0;
    case ETL_DQDL_SUM:
        *x = exact_sum(a);
        return a->n > 0;
    case ETL_DQDL_STANDARD_DEVIATION:
        /* deequ's StandardDeviation is the population one: sqrt(M2 / n) */
        *x = a->n > 0 ? square_root(a->m2 / (long double)a->n) : NAN;
        return a->n > 0;
    default:
        *x = NAN;
        return false;
    }
}

/* The checks every column rule shares: a missing column, rows that could not be evaluated, an
 * overflowed set, non-numbers for the numeric rules. True when the verdict is decided. */
static bool common_checks(struct ctx *cx,
                          const struct etl_dq_leaf *leaf,
                          const struct etl_dq_agg *a,
                          struct verdict *v)
{
    const char *missing = missing_column(cx, leaf);
    if (missing != NULL) {
        v->outcome = leaf->type == ETL_DQDL_DETECT_ANOMALIES ? ETL_DQ_ERROR : ETL_DQ_FAIL;
        line(cx, v, "Input data does not include column %s!", missing);
        return true;
    }
    if (a->errors > 0) {
        v->outcome = ETL_DQ_ERROR;
        line(cx, v, "%llu rows could not be evaluated: %s", (unsigned long long)a->errors,
             a->first_error);
        return true;
    }
    if (a->set.overflowed) {
        v->outcome = ETL_DQ_ERROR;
        line(cx, v, "more than %zu distinct values: the count would be wrong (raise max_distinct)",
             cx->rules->max_distinct);
        return true;
    }
    bool numeric = leaf->metric == ETL_DQDL_MEAN || leaf->metric == ETL_DQDL_SUM ||
                   leaf->metric == ETL_DQDL_STANDARD_DEVIATION;
    if (numeric && a->bad > 0) {
        v->outcome = ETL_DQ_FAIL;
        line(cx, v,
             "Expected type of column %s to be numeric, but found %llu values that are not "
             "numbers!",
             cx->rules->cols[leaf->cols[0]].name, (unsigned long long)a->bad);
        return true;
    }
    return false;
}

/* An empty state: PASS when a where clause filtered every row (deequ's isEmptyDueToFilter),
 * FAIL otherwise. */
static void empty_state(struct ctx *cx, const struct etl_dq_leaf *leaf, struct verdict *v)
{
    if (leaf->where != NULL) {
        v->outcome = ETL_DQ_PASS;
        return;
    }
    v->outcome = ETL_DQ_FAIL;
    line(cx, v, "Empty state for analyzer %s, all input values were NULL.",
         leaf->metric_name != NULL ? leaf->metric_name : etl_dqdl_rtype_name(leaf->metric));
}

static double ratio(uint64_t a, uint64_t b)
{
    return b > 0 ? (double)a / (double)b : NAN;
}

/* ---- rule types ---- */

/* RowCount, ColumnCount, Completeness, Uniqueness, Mean, Sum, StandardDeviation,
 * DistinctValuesCount: a metric and a condition on it. */
static void metric_rule(struct ctx *cx,
                        const struct etl_dq_leaf *leaf,
                        const struct etl_dq_agg *a,
                        struct verdict *v)
{
    double x = 0;
    bool integer = false;
    if (!metric_value(cx, leaf, a, &x, &integer)) {
        if (leaf->metric == ETL_DQDL_COLUMN_COUNT) {
            v->outcome = ETL_DQ_ERROR;
            line(cx, v, "the output's columns are not known");
        } else {
            empty_state(cx, leaf, v);
        }
        return;
    }
    metric(cx, v, leaf->metric_name, x);
    if (!etl_dq_cond_holds(&leaf->cond, x)) {
        fail_with_value(cx, v, x, integer);
    }
}

/* IsComplete, IsUnique, IsPrimaryKey: metrics that must be 1. */
static void must_be_one(struct ctx *cx,
                        const struct etl_dq_leaf *leaf,
                        const struct etl_dq_agg *a,
                        struct verdict *v)
{
    double x = 0;
    bool integer = false;
    if (!metric_value(cx, leaf, a, &x, &integer)) {
        empty_state(cx, leaf, v);
        return;
    }
    metric(cx, v, leaf->metric_name, x);
    if (x != 1.0) {
        fail_with_value(cx, v, x, false);
    }
    if (leaf->metric != ETL_DQDL_IS_PRIMARY_KEY) {
        return;
    }
    for (size_t c = 0; c < leaf->n_cols; c++) {
        char name[300];
        double comp = ratio(a->nonnull[c], a->rows);
        snprintf(name, sizeof(name), "Column.%s.Completeness", cx->rules->cols[leaf->cols[c]].name);
        metric(cx, v, name, comp);
        if (comp != 1.0) {
            fail_with_value(cx, v, comp, false);
        }
    }
}

/* Which of the column's minimum and maximum deequ asserts on for the operator (hasMin, hasMax,
 * hasMinLength, hasMaxLength); neither means the share of compliant rows (satisfies). */
static void asserted_bounds(const struct etl_dq_leaf *leaf, bool *min, bool *max)
{
    const struct etl_dq_cond *c = &leaf->cond;
    bool length = leaf->metric == ETL_DQDL_COLUMN_LENGTH;
    *min = *max = false;
    if (c->has_null || (!length && c->kind != ETL_DQDL_C_NUMBER)) {
        return;
    }
    switch (c->op) {
    case ETL_DQDL_OP_GT:
    case ETL_DQDL_OP_GE:
        *min = true;
        break;
    case ETL_DQDL_OP_LT:
    case ETL_DQDL_OP_LE:
        *max = true;
        break;
    case ETL_DQDL_OP_EQ:
        *min = *max = true;
        break;
    case ETL_DQDL_OP_BETWEEN:
    case ETL_DQDL_OP_NE:
        *min = *max = length;
        break;
    default:
        break;
    }
}

/* Whether deequ's assertion on the minimum (or maximum) holds. */
static bool bound_holds(const struct etl_dq_cond *c, double x, bool is_min)
{
    if (c->op == ETL_DQDL_OP_BETWEEN) {
        return is_min ? x > c->ops[0].d : x < c->ops[1].d;
    }
    return etl_dq_cond_holds(c, x);
}

static void column_metric(struct ctx *cx,
                          struct verdict *v,
                          const struct etl_dq_leaf *leaf,
                          const char *what,
                          double x)
{
    char name[300];
    snprintf(name, sizeof(name), "Column.%s.%s", cx->rules->cols[leaf->cols[0]].name, what);
    metric(cx, v, name, x);
}

/* ColumnValues and ColumnLength: deequ asserts comparisons through the column's minimum and
 * maximum (hasMin, hasMax, hasMinLength, hasMaxLength) and the other operators through the
 * share of compliant rows; NULLs fail separately (isComplete). */
static void row_rule(struct ctx *cx,
                     const struct etl_dq_leaf *leaf,
                     const struct etl_dq_agg *a,
                     struct verdict *v)
{
    bool length = leaf->metric == ETL_DQDL_COLUMN_LENGTH;
    bool threshold = leaf->threshold.op != ETL_DQDL_OP_NONE;
    const struct etl_dq_cond *c = &leaf->cond;
    if (a->rows == 0) {
        empty_state(cx, leaf, v);
        return;
    }
    double compliance = ratio(a->pass, a->rows);
    bool min = false, max = false;
    asserted_bounds(leaf, &min, &max);
    if (min && a->has_range) {
        column_metric(cx, v, leaf, length ? "MinimumLength" : "Minimum", a->min);
    }
    if (max && a->has_range) {
        column_metric(cx, v, leaf, length ? "MaximumLength" : "Maximum", a->max);
    }
    if ((!min && !max) || threshold) {
        metric(cx, v, leaf->metric_name, compliance);
    }
    if (threshold) {
        if (!etl_dq_cond_holds(&leaf->threshold, compliance)) {
            fail_with_value(cx, v, compliance, false);
        }
        return;
    }
    if (a->pass == a->rows) {
        return;
    }
    v->outcome = ETL_DQ_FAIL;
    size_t said = v->msg.len;
    if (min && a->has_range && !bound_holds(c, a->min, true)) {
        value_line(cx, v, a->min, false);
    }
    if (max && a->has_range && !bound_holds(c, a->max, false)) {
        value_line(cx, v, a->max, false);
    }
    uint64_t value_fails = a->rows - a->pass - (length ? 0 : a->null_fail);
    if (v->msg.len == said && value_fails > 0) {
        value_line(cx, v, compliance, false); /* the share, when no bound explains it */
    }
    if (a->null_fail > 0 && !length) {
        line(cx, v, "Value: NULL does not meet the constraint requirement!");
    }
}

/* DataFreshness and ColumnDataType: deequ's RuleEvaluationHelper.evaluateRuleAgainstColumn. */
static void share_rule(struct ctx *cx,
                       const struct etl_dq_leaf *leaf,
                       const struct etl_dq_agg *a,
                       struct verdict *v)
{
    if (a->rows == 0) {
        line(cx, v, "No rows matched the filter");
        return;
    }
    double share = ratio(a->pass, a->rows);
    metric(cx, v, leaf->metric_name, share);
    char num[40];
    etl_dq_result_java_double(share, num, sizeof(num));
    if (leaf->metric == ETL_DQDL_DATA_FRESHNESS) {
        /* no assertion: every row must pass */
        if (share != 1.0) {
            v->outcome = ETL_DQ_FAIL;
            line(cx, v, "%.2f%% of rows passed", share * 100);
        }
        return;
    }
    bool holds = leaf->threshold.op != ETL_DQDL_OP_NONE ? etl_dq_cond_holds(&leaf->threshold, share)
                                                        : share == 1.0;
    if (!holds) {
        v->outcome = ETL_DQ_FAIL;
        line(cx, v, "Value: %s does not meet the constraint requirement.", num);
    }
}

static void column_exists(struct ctx *cx, const struct etl_dq_leaf *leaf, struct verdict *v)
{
    if (!schema_known(cx)) {
        v->outcome = ETL_DQ_ERROR;
        line(cx, v, "the output's columns are not known");
        return;
    }
    bool present = column_present(cx, leaf->src->params[0]);
    metric(cx, v, leaf->metric_name, present ? 1.0 : 0.0);
    if (!present) {
        v->outcome = ETL_DQ_FAIL;
        line(cx, v, "Input data does not include column %s!", leaf->src->params[0]);
    }
}

/* deequ's SchemaMatch.matchSchema: the share of columns whose name and type match. */
static void schema_match(struct ctx *cx, const struct etl_dq_leaf *leaf, struct verdict *v)
{
    const struct etl_schema *o = cx->in->observed, *ref = cx->in->reference;
    const char *alias = leaf->src->params[0];
    if (o == NULL) {
        v->outcome = ETL_DQ_ERROR;
        line(cx, v, "the output's schema is not known");
        return;
    }
    if (ref == NULL) {
        v->outcome = ETL_DQ_FAIL;
        line(cx, v, "Reference dataset '%s' not found", alias);
        return;
    }
    size_t matched = 0;
    for (size_t i = 0; i < o->n; i++) {
        for (size_t j = 0; j < ref->n; j++) {
            char a[64], b[64];
            if (strcmp(o->attrs[i].name, ref->attrs[j].name) != 0) {
                continue;
            }
            etl_schema_athena_type(&o->attrs[i], a, sizeof(a));
            etl_schema_athena_type(&ref->attrs[j], b, sizeof(b));
            matched += strcmp(a, b) == 0;
        }
    }
    double share = o->n > 0 ? (double)matched / (double)o->n : 0.0;
    if (o->n == 0 || ref->n == 0 || o->n != ref->n) {
        metric(cx, v, leaf->metric_name, 0.0);
        v->outcome = ETL_DQ_FAIL;
        line(cx, v,
             o->n == 0 || ref->n == 0 ? "One or both DataFrames have no columns"
                                      : "Column counts do not match");
        return;
    }
    metric(cx, v, leaf->metric_name, share);
    if (!etl_dq_cond_holds(&leaf->cond, share)) {
        v->outcome = ETL_DQ_FAIL;
        line(cx, v, "%.2f%% of columns passed the threshold", share * 100);
    }
}

static void store(struct ctx *cx, const char *name, double x)
{
    struct etl_dq_results *r = cx->res;
    for (size_t i = 0; i < r->n_stores; i++) {
        if (strcmp(r->stores[i].metric, name) == 0) {
            return; /* two rules watching one metric store it once */
        }
    }
    struct etl_dq_store *s = mem_grow(r->stores, &cx->cap_stores, r->n_stores, sizeof(*s), 4);
    char *copy = strdup(name);
    if (s == NULL || copy == NULL) {
        free(copy);
        nomem(cx);
        return;
    }
    r->stores = s;
    r->stores[r->n_stores++] = (struct etl_dq_store){copy, x};
}

static const struct etl_dq_history *history_of(const struct ctx *cx, const char *name)
{
    for (size_t i = 0; i < cx->in->n_history; i++) {
        if (cx->in->history[i].metric != NULL && strcmp(cx->in->history[i].metric, name) == 0) {
            return &cx->in->history[i];
        }
    }
    return NULL;
}

static void detect_anomalies(struct ctx *cx,
                             const struct etl_dq_leaf *leaf,
                             const struct etl_dq_agg *a,
                             struct verdict *v)
{
    double x = 0;
    bool integer = false;
    const char *name = leaf->metric_name;
    if (!metric_value(cx, leaf, a, &x, &integer) || !isfinite(x)) {
        v->outcome = ETL_DQ_ERROR;
        line(cx, v, "%s has no value in this dataset: nothing to compare or store", name);
        return;
    }
    metric(cx, v, name, x);
    store(cx, name, x);
    const struct etl_dq_history *h = history_of(cx, name);
    struct etl_dq_band band;
    char num[40], lo[40], hi[40], med[40];
    etl_dq_result_java_double(x, num, sizeof(num));
    if (!etl_dq_anomaly_band(h != NULL ? h->values : NULL, h != NULL ? h->n : 0, &band)) {
        line(cx, v, "Warming up: %zu of the %d values needed to detect anomalies of %s are stored",
             band.points, ETL_DQ_ANOMALY_MIN_POINTS, name);
        return;
    }
    if (!etl_dq_anomaly_outside(&band, x)) {
        return;
    }
    etl_dq_result_java_double(band.lower, lo, sizeof(lo));
    etl_dq_result_java_double(band.upper, hi, sizeof(hi));
    etl_dq_result_java_double(band.expected, med, sizeof(med));
    v->outcome = ETL_DQ_FAIL;
    line(cx, v, "Value: %s is outside the expected range %s to %s", num, lo, hi);
    struct etl_dq_observation *o = mem_grow(v->obs, &v->cap_obs, v->n_obs, sizeof(*o), 2);
    char *desc = NULL, *copy = strdup(name);
    if (o == NULL || copy == NULL ||
        asprintf(&desc,
                 "%s: %s is outside the expected range %s to %s (the median %s of the last %zu "
                 "values +/- %.0f x %.4f x MAD)",
                 name, num, lo, hi, med, band.points, ETL_DQ_ANOMALY_K,
                 ETL_DQ_ANOMALY_MAD_SCALE) < 0) {
        free(copy);
        nomem(cx);
        return;
    }
    v->obs = o;
    v->obs[v->n_obs++] =
        (struct etl_dq_observation){desc, copy, x, band.expected, band.lower, band.upper};
}

static void leaf_verdict(struct ctx *cx, size_t i, struct verdict *v)
{
    const struct etl_dq_leaf *leaf = &cx->rules->leaves[i];
    const struct etl_dq_agg *a = &cx->p->aggs[i];
    v->outcome = ETL_DQ_PASS;
    if (common_checks(cx, leaf, a, v)) {
        return;
    }
    switch (leaf->type) {
    case ETL_DQDL_IS_COMPLETE:
    case ETL_DQDL_IS_UNIQUE:
    case ETL_DQDL_IS_PRIMARY_KEY:
        must_be_one(cx, leaf, a, v);
        break;
    case ETL_DQDL_COLUMN_VALUES:
    case ETL_DQDL_COLUMN_LENGTH:
        row_rule(cx, leaf, a, v);
        break;
    case ETL_DQDL_DATA_FRESHNESS:
    case ETL_DQDL_COLUMN_DATA_TYPE:
        share_rule(cx, leaf, a, v);
        break;
    case ETL_DQDL_COLUMN_EXISTS:
        column_exists(cx, leaf, v);
        break;
    case ETL_DQDL_SCHEMA_MATCH:
        schema_match(cx, leaf, v);
        break;
    case ETL_DQDL_DETECT_ANOMALIES:
        detect_anomalies(cx, leaf, a, v);
        break;
    default:
        metric_rule(cx, leaf, a, v);
        break;
    }
}

/* Moves b's messages, metrics and observations into a. */
static void absorb(struct ctx *cx, struct verdict *a, struct verdict *b)
{
    if (b->msg.len > 0) {
        line(cx, a, "%s", buf_cstr(&b->msg));
    }
    for (size_t i = 0; i < b->n_metrics; i++) {
        metric(cx, a, b->metrics[i].name, b->metrics[i].value);
    }
    for (size_t i = 0; i < b->n_obs; i++) {
        struct etl_dq_observation *o = mem_grow(a->obs, &a->cap_obs, a->n_obs, sizeof(*o), 2);
        if (o == NULL) {
            nomem(cx);
            return;
        }
        a->obs = o;
        a->obs[a->n_obs++] = b->obs[i];
    }
    b->n_obs = 0;
}

/* A composite: and passes when both pass, or when either passes; otherwise an ERROR on a side
 * that did not FAIL makes it ERROR. */
static void node_verdict(struct ctx *cx, const struct etl_dq_node *n, struct verdict *v)
{
    if (n->is_leaf) {
        leaf_verdict(cx, n->leaf, v);
        return;
    }
    struct verdict a = {0}, b = {0};
    node_verdict(cx, n->lhs, &a);
    node_verdict(cx, n->rhs, &b);
    bool pa = a.outcome == ETL_DQ_PASS, pb = b.outcome == ETL_DQ_PASS;
    bool fa = a.outcome == ETL_DQ_FAIL, fb = b.outcome == ETL_DQ_FAIL;
    if (n->is_or ? (pa || pb) : (pa && pb)) {
        v->outcome = ETL_DQ_PASS;
    } else if (n->is_or ? (fa && fb) : (fa || fb)) {
        v->outcome = ETL_DQ_FAIL;
    } else {
        v->outcome = ETL_DQ_ERROR;
    }
    absorb(cx, v, &a);
    absorb(cx, v, &b);
    verdict_cleanup(&a);
    verdict_cleanup(&b);
}

static void take(struct ctx *cx, struct verdict *v, struct etl_dq_rule_result *out)
{
    struct err e = ERR_INIT;
    out->outcome = v->outcome;
    if (v->msg.len > 0 && buf_take_str(&v->msg, &out->message, &e) != ERR_OK) {
        nomem(cx);
    }
    out->metrics = v->metrics;
    out->n_metrics = v->n_metrics;
    out->observations = v->obs;
    out->n_observations = v->n_obs;
    v->metrics = NULL;
    v->n_metrics = 0;
    v->obs = NULL;
    v->n_obs = 0;
    verdict_cleanup(v);
}

enum err_code etl_dq_result_evaluate(const struct etl_dq_partial *p,
                                     const struct etl_dq_result_input *in,
                                     struct etl_dq_results **out,
                                     struct err *err)
{
    static const struct etl_dq_result_input NONE = {0};
    *out = NULL;
    struct etl_dq_results *r = calloc(1, sizeof(*r));
    if (r != NULL) {
        r->rules = calloc(p->rules->n > 0 ? p->rules->n : 1, sizeof(*r->rules));
    }
    if (r == NULL || r->rules == NULL) {
        etl_dq_result_free(r);
        return err_set(err, ERR_NOMEM, "dq: out of memory for the results");
    }
    struct ctx cx = {p->rules, p, in != NULL ? in : &NONE, r, 0, err, ERR_OK};
    for (size_t i = 0; i < p->rules->n && cx.rc == ERR_OK; i++) {
        struct verdict v = {0};
        node_verdict(&cx, p->rules->roots[i], &v);
        r->rules[i].rule = &p->rules->info[i];
        take(&cx, &v, &r->rules[i]);
        r->n = i + 1;
        if (r->rules[i].outcome == ETL_DQ_PASS) {
            r->rules_passed++;
        } else {
            r->rules_failed++;
            r->fail = r->fail || p->rules->info[i].action == ETL_DQDL_ACTION_FAIL;
        }
    }
    if (cx.rc != ERR_OK) {
        etl_dq_result_free(r);
        return cx.rc;
    }
    r->score = r->n > 0 ? (double)r->rules_passed / (double)r->n : 1.0;
    r->rows = etl_dq_partial_rows(p);
    r->rows_failed = etl_dq_partial_rows_failed(p);
    *out = r;
    return ERR_OK;
}

void etl_dq_result_free(struct etl_dq_results *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct verdict v = {0};
        struct etl_dq_rule_result *rr = &r->rules[i];
        v.metrics = rr->metrics;
        v.n_metrics = rr->n_metrics;
        v.obs = rr->observations;
        v.n_obs = rr->n_observations;
        verdict_cleanup(&v);
        free(rr->message);
    }
    for (size_t i = 0; i < r->n_stores; i++) {
        free(r->stores[i].metric);
    }
    free(r->stores);
    free(r->rules);
    free(r);
}
