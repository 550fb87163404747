/*
 * etl_dq_row.c - one row through every rule: the where clause, the row condition as deequ's
 * generated SQL decides it (three-valued: a comparison with NULL fails), the aggregates, and the
 * row's verdict. Column values are looked up once per row and kept for the rules that share
 * them; everything a row computes lives in the state's arena, reset at the next row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "etl_cast.h"
#include "etl_datetime.h"
#include "etl_dq.h"
#include "etl_dq_partial.h"
#include "etl_dq_private.h"
#include "json.h"

/* A row's outcome for one leaf. */
enum outcome {
    OUT_PASS,      /* the condition held, or the row is outside the where clause */
    OUT_FAIL,      /* it did not */
    OUT_NULL_FAIL, /* it did not, and the value was NULL */
};

struct etl_dq_state {
    const struct etl_dq_rules *rules;
    struct etl_dq_partial *partial;
    int64_t now_ms;
    struct etl_arena arena;
    struct etl_expr_env env; /* the caller's, with the state's arena */
    struct etl_value *vals;  /* per column: this row's value */
    bool *have;              /* per column: looked up */
    enum outcome *leaf_out;  /* per leaf */
    signed char *rule_out;   /* per rule: 1 passed, 0 failed, -1 dataset-level */
    size_t *failed;          /* per rule */
    size_t n_failed;
    struct buf tuple; /* the bytes a distinct value hashes */
};

/* ---- state ---- */

enum err_code etl_dq_state_new(const struct etl_dq_rules *r,
                               int64_t now_ms,
                               struct etl_dq_state **out,
                               struct err *err)
{
    *out = NULL;
    struct etl_dq_state *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return err_set(err, ERR_NOMEM, "dq: out of memory");
    }
    s->rules = r;
    s->now_ms = now_ms;
    etl_arena_init(&s->arena, 0);
    buf_init(&s->tuple, BUF_NO_LIMIT);
    size_t cols = r->n_cols > 0 ? r->n_cols : 1, leaves = r->n_leaves > 0 ? r->n_leaves : 1;
    size_t rules = r->n > 0 ? r->n : 1;
    s->vals = calloc(cols, sizeof(*s->vals));
    s->have = calloc(cols, sizeof(*s->have));
    s->leaf_out = calloc(leaves, sizeof(*s->leaf_out));
    s->rule_out = calloc(rules, sizeof(*s->rule_out));
    s->failed = calloc(rules, sizeof(*s->failed));
    enum err_code rc = ERR_OK;
    if (s->vals == NULL || s->have == NULL || s->leaf_out == NULL || s->rule_out == NULL ||
        s->failed == NULL) {
        rc = err_set(err, ERR_NOMEM, "dq: out of memory");
    } else {
        rc = etl_dq_partial_new(r, &s->partial, err);
    }
    if (rc != ERR_OK) {
        etl_dq_state_free(s);
        return rc;
    }
    for (size_t i = 0; i < r->n; i++) {
        s->rule_out[i] = -1;
    }
    *out = s;
    return ERR_OK;
}

void etl_dq_state_free(struct etl_dq_state *s)
{
    if (s == NULL) {
        return;
    }
    etl_dq_partial_free(s->partial);
    etl_arena_cleanup(&s->arena);
    buf_cleanup(&s->tuple);
    free(s->vals);
    free(s->have);
    free(s->leaf_out);
    free(s->rule_out);
    free(s->failed);
    free(s);
}

struct etl_dq_partial *etl_dq_state_partial(struct etl_dq_state *s)
{
    return s->partial;
}

/* ---- values ---- */

static enum err_code
value_of(struct etl_dq_state *s, size_t col, const struct etl_value **out, struct err *err)
{
    if (!s->have[col]) {
        s->vals[col] = etl_value_null();
        enum err_code rc = s->env.lookup(s->env.ctx, &s->rules->cols[col].path, &s->vals[col], err);
        if (rc != ERR_OK) {
            return rc;
        }
        s->have[col] = true;
    }
    *out = &s->vals[col];
    return ERR_OK;
}

static bool is_null(const struct etl_value *v)
{
    return v->kind == ETL_V_NULL;
}

/* The text string conditions, regexes and lengths see (etl_value_text). */
static enum err_code
text_of(struct etl_dq_state *s, const struct etl_value *v, struct cur *out, struct err *err)
{
    return etl_value_text(v, &s->arena, out, err);
}

/* ---- ColumnValues on numbers (deequ's ColumnValuesRule.mkNumericCheck) ---- */

/* v as a number: NUMBER and DOUBLE as they are, a STRING holding a JSON number as a NUMBER
 * (SQL's implicit cast of a string compared with a number); false for anything else. */
static bool as_number(const struct etl_value *v, struct etl_value *out)
{
    if (v->kind == ETL_V_NUMBER || v->kind == ETL_V_DOUBLE) {
        *out = *v;
        return true;
    }
    if (v->kind == ETL_V_STRING && json_is_number((const char *)v->s.ptr, v->s.len)) {
        *out = *v;
        out->kind = ETL_V_NUMBER;
        return true;
    }
    return false;
}

static double to_double(const struct etl_value *v)
{
    if (v->kind == ETL_V_DOUBLE) {
        return v->d;
    }
    struct etl_decimal dec;
    struct err err = ERR_INIT;
    return etl_decimal_parse(v->s, &dec, &err) == ERR_OK ? etl_decimal_to_double(&dec) : NAN;
}

static bool equals_operand(const struct etl_value *v, const struct etl_dq_operand *o)
{
    int cmp = 0;
    return o->kind != ETL_DQDL_V_NULL && etl_value_compare(v, &o->v, &cmp) && cmp == 0;
}

/* The row condition on a NULL value, for numbers and dates: only "= NULL", "!= x",
 * "not in [x]" and "in [..., NULL]" hold (the SQL deequ writes for each operator). */
static enum outcome null_outcome(const struct etl_dq_cond *c, bool date)
{
    switch (c->op) {
    case ETL_DQDL_OP_EQ:
    case ETL_DQDL_OP_IN:
        return c->has_null ? OUT_PASS : OUT_NULL_FAIL;
    case ETL_DQDL_OP_NE:
    case ETL_DQDL_OP_NOT_IN:
        return c->has_null ? OUT_NULL_FAIL : OUT_PASS;
    case ETL_DQDL_OP_NOT_BETWEEN:
        /* numbers: "col IS NOT NULL AND (...)"; dates: "col IS NULL OR (...)" */
        return date ? OUT_PASS : OUT_NULL_FAIL;
    default:
        return OUT_NULL_FAIL;
    }
}

static enum outcome
cv_number(struct etl_dq_agg *a, const struct etl_dq_cond *c, const struct etl_value *v)
{
    if (is_null(v)) {
        return null_outcome(c, false);
    }
    struct etl_value n;
    if (!as_number(v, &n)) {
        return OUT_FAIL; /* the implicit cast gives NULL: every comparison is unknown */
    }
    double d = to_double(&n);
    if (!isnan(d)) {
        a->min = a->has_range && a->min <= d ? a->min : d;
        a->max = a->has_range && a->max >= d ? a->max : d;
        a->has_range = true;
    }
    int lo = 0, hi = 0;
    bool ok = true, any = false;
    switch (c->op) {
    case ETL_DQDL_OP_IN:
    case ETL_DQDL_OP_NOT_IN:
        for (size_t i = 0; i < c->n; i++) {
            any = any || equals_operand(&n, &c->ops[i]);
        }
        return (any == (c->op == ETL_DQDL_OP_IN)) ? OUT_PASS : OUT_FAIL;
    case ETL_DQDL_OP_EQ:
    case ETL_DQDL_OP_NE:
        if (c->has_null) {
            return c->op == ETL_DQDL_OP_NE ? OUT_PASS : OUT_FAIL; /* IS NOT NULL / IS NULL */
        }
        break;
    default:
        break;
    }
    ok = etl_value_compare(&n, &c->ops[0].v, &lo);
    if (c->n > 1) {
        ok = ok && etl_value_compare(&n, &c->ops[1].v, &hi);
    }
    if (!ok) {
        return OUT_FAIL;
    }
    bool holds = false;
    switch (c->op) {
    case ETL_DQDL_OP_GT:
        holds = lo > 0;
        break;
    case ETL_DQDL_OP_GE:
        holds = lo >= 0;
        break;
    case ETL_DQDL_OP_LT:
        holds = lo < 0;
        break;
    case ETL_DQDL_OP_LE:
        holds = lo <= 0;
        break;
    case ETL_DQDL_OP_EQ:
        holds = lo == 0;
        break;
    case ETL_DQDL_OP_NE:
        holds = lo != 0;
        break;
    case ETL_DQDL_OP_BETWEEN: /* exclusive, as deequ's isContainedIn(..., false, false) */
        holds = lo > 0 && hi < 0;
        break;
    case ETL_DQDL_OP_NOT_BETWEEN:
        holds = lo <= 0 || hi >= 0;
        break;
    default:
        break;
    }
    return holds ? OUT_PASS : OUT_FAIL;
}

/* ---- ColumnValues on strings (deequ's constructComplianceCondition) ---- */

/* Spark's TRIM removes spaces only: WHITESPACES_ONLY is one or more ' '. */
static bool spaces_only(struct cur t)
{
    for (size_t i = 0; i < t.len; i++) {
        if (t.ptr[i] != ' ') {
            return false;
        }
    }
    return t.len > 0;
}

static bool text_equals(struct cur t, const struct etl_dq_operand *o)
{
    return t.len == o->str_len && (t.len == 0 || memcmp(t.ptr, o->str, t.len) == 0);
}

/* One operand of `in` (or `=`) on a value: 1 true, 0 false, -1 unknown (NULL). */
static int string_term(bool null, struct cur t, const struct etl_dq_operand *o, bool negated)
{
    switch (o->kind) {
    case ETL_DQDL_V_NULL:
        return negated ? !null : null; /* IS NOT NULL / IS NULL */
    case ETL_DQDL_V_EMPTY:
        return null ? -1 : (negated ? t.len != 0 : t.len == 0);
    case ETL_DQDL_V_WHITESPACES_ONLY:
        return null ? -1 : (negated ? !spaces_only(t) : spaces_only(t));
    default:
        /* negated: (col IS NULL OR col NOT IN (...)); else (col IS NOT NULL AND col IN (...)) */
        return null ? negated : (negated ? !text_equals(t, o) : text_equals(t, o));
    }
}

static enum err_code cv_string(struct etl_dq_state *s,
                               const struct etl_dq_leaf *leaf,
                               const struct etl_value *v,
                               enum outcome *out,
                               struct err *err)
{
    const struct etl_dq_cond *c = &leaf->cond;
    bool null = is_null(v);
    struct cur t = {NULL, 0};
    if (!null) {
        enum err_code rc = text_of(s, v, &t, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (c->op == ETL_DQDL_OP_MATCHES || c->op == ETL_DQDL_OP_NOT_MATCHES) {
        if (null) {
            *out = OUT_NULL_FAIL; /* deequ's hasPattern: NULL never matches, nor "not matches" */
            return ERR_OK;
        }
        bool matched = false;
        enum err_code rc = etl_regex_search(leaf->regex, t, &matched, NULL, 0, err);
        if (rc != ERR_OK) {
            return rc;
        }
        *out = matched == (c->op == ETL_DQDL_OP_MATCHES) ? OUT_PASS : OUT_FAIL;
        return ERR_OK;
    }
    bool negated = c->op == ETL_DQDL_OP_NE || c->op == ETL_DQDL_OP_NOT_IN;
    /* positive: OR of the terms holds; negated: AND of the terms holds (unknown fails both) */
    bool holds = negated;
    for (size_t i = 0; i < c->n; i++) {
        int term = string_term(null, t, &c->ops[i], negated);
        holds = negated ? (holds && term == 1) : (holds || term == 1);
    }
    *out = holds ? OUT_PASS : (null ? OUT_NULL_FAIL : OUT_FAIL);
    return ERR_OK;
}

/* ---- ColumnValues on dates (deequ's buildDateSql: to_date(col) against dates) ---- */

/* The UTC day of a value as Spark's to_date gives it: *valid false when it has none (NULL, or
 * a value that does not cast to a date). */
static enum err_code date_of(struct etl_dq_state *s,
                             const struct etl_value *v,
                             int64_t *days,
                             bool *valid,
                             struct err *err)
{
    struct etl_value d = etl_value_null();
    struct err local = ERR_INIT;
    *valid = false;
    if (is_null(v)) {
        return ERR_OK;
    }
    enum err_code rc = etl_cast(v, s->rules->date_type, &s->arena, &d, &local);
    if (rc == ERR_INVALID_INPUT) {
        return ERR_OK; /* to_date gives NULL */
    }
    if (rc != ERR_OK) {
        *err = local;
        return rc;
    }
    *valid = d.kind == ETL_V_DATE;
    *days = d.i;
    return ERR_OK;
}

static int64_t operand_days(const struct etl_dq_state *s, const struct etl_dq_operand *o)
{
    switch (o->kind) {
    case ETL_DQDL_V_DATE:
        return o->days;
    case ETL_DQDL_V_NOW:
        return etl_datetime_day_of(s->now_ms + o->offset_ms);
    default: /* TIME: today at that time, whose date is today (UTC) */
        return etl_datetime_day_of(s->now_ms);
    }
}

static enum err_code cv_date(struct etl_dq_state *s,
                             const struct etl_dq_cond *c,
                             const struct etl_value *v,
                             enum outcome *out,
                             struct err *err)
{
    if (is_null(v)) {
        *out = null_outcome(c, true);
        return ERR_OK;
    }
    int64_t days = 0;
    bool valid = false;
    enum err_code rc = date_of(s, v, &days, &valid, err);
    if (rc != ERR_OK) {
        return rc;
    }
    bool holds = false, any = false;
    if (!valid) {
        /* to_date is NULL: every comparison is unknown; only "!= NULL" (IS NOT NULL) holds */
        *out = (c->op == ETL_DQDL_OP_NE && c->has_null) ? OUT_PASS : OUT_FAIL;
        return ERR_OK;
    }
    int64_t a = operand_days(s, &c->ops[0]);
    switch (c->op) {
    case ETL_DQDL_OP_GT:
        holds = days > a;
        break;
    case ETL_DQDL_OP_GE:
        holds = days >= a;
        break;
    case ETL_DQDL_OP_LT:
        holds = days < a;
        break;
    case ETL_DQDL_OP_LE:
        holds = days <= a;
        break;
    case ETL_DQDL_OP_EQ:
        holds = !c->has_null && days == a;
        break;
    case ETL_DQDL_OP_NE:
        holds = c->has_null || days != a;
        break;
    case ETL_DQDL_OP_BETWEEN:
        holds = days > a && days < operand_days(s, &c->ops[1]);
        break;
    case ETL_DQDL_OP_NOT_BETWEEN:
        holds = days <= a || days >= operand_days(s, &c->ops[1]);
        break;
    case ETL_DQDL_OP_IN:
    case ETL_DQDL_OP_NOT_IN:
        for (size_t i = 0; i < c->n; i++) {
            any = any || (c->ops[i].kind != ETL_DQDL_V_NULL && operand_days(s, &c->ops[i]) == days);
        }
        holds = any == (c->op == ETL_DQDL_OP_IN);
        break;
    default:
        break;
    }
    *out = holds ? OUT_PASS : OUT_FAIL;
    return ERR_OK;
}

/* ---- ColumnLength (NULL is a string of length 0, as Glue's documentation says) ---- */

static size_t utf8_chars(struct cur t)
{
    size_t n = 0;
    for (size_t i = 0; i < t.len; i++) {
        n += (t.ptr[i] & 0xC0) != 0x80;
    }
    return n;
}

static enum err_code column_length(struct etl_dq_state *s,
                                   struct etl_dq_agg *a,
                                   const struct etl_dq_cond *c,
                                   const struct etl_value *v,
                                   enum outcome *out,
                                   struct err *err)
{
    struct cur t = {NULL, 0};
    if (!is_null(v)) {
        enum err_code rc = text_of(s, v, &t, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    double len = (double)utf8_chars(t);
    a->min = a->has_range && a->min <= len ? a->min : len;
    a->max = a->has_range && a->max >= len ? a->max : len;
    a->has_range = true;
    *out = etl_dq_cond_holds(c, len) ? OUT_PASS : (is_null(v) ? OUT_NULL_FAIL : OUT_FAIL);
    return ERR_OK;
}

/* ---- DataFreshness (deequ's DataFreshnessRule: hours between now and the value) ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static enum err_code freshness(struct etl_dq_state *s,
                               const struct etl_dq_cond *c,
                               const struct etl_value *v,
                               enum outcome *out,
                               struct err *err)
{
    *out = is_null(v) ? OUT_NULL_FAIL : OUT_FAIL;
    if (is_null(v)) {
        return ERR_OK;
    }
    struct etl_value ts = etl_value_null();
    struct err local = ERR_INIT;
    enum err_code rc = etl_cast(v, s->rules->timestamp_type, &s->arena, &ts, &local);
    if (rc == ERR_INVALID_INPUT || (rc == ERR_OK && ts.kind != ETL_V_TIMESTAMP)) {
        return ERR_OK; /* to_timestamp gives NULL: the comparison fails */
    }
    if (rc != ERR_OK) {
        *err = local;
        return rc;
    }
    /* Spark: (current_timestamp as long - to_timestamp(col) as long) seconds, then
     * round(secs / 3600, 2) half-up */
    int64_t secs = floor_div(s->now_ms, 1000) - floor_div(ts.i, 1000);
    int64_t q = secs * 100, hundredths = q >= 0 ? (q + 1800) / 3600 : -((-q + 1800) / 3600);
    *out = etl_dq_cond_holds(c, (double)hundredths / 100.0) ? OUT_PASS : OUT_FAIL;
    return ERR_OK;
}

/* ---- distinct values ---- */

/* A tag byte, then n as 8 little-endian bytes: a length or an instant, the same on every host. */
static enum err_code append_tagged(struct buf *b, uint8_t tag, uint64_t n, struct err *err)
{
    uint8_t bytes[9];
    bytes[0] = tag;
    for (int i = 0; i < 8; i++) {
        bytes[1 + i] = (uint8_t)(n >> (8 * i));
    }
    return buf_append(b, bytes, sizeof(bytes), err);
}

/* The bytes a value hashes as: a tag, then a canonical form (so 1.50 and 1.5 are one value),
 * lengths included so that no two tuples of columns run together. Saved partials hold hashes of
 * these bytes: changing them would split old and new values. */
static enum err_code
append_canonical(struct etl_dq_state *s, const struct etl_value *v, struct err *err)
{
    struct buf *b = &s->tuple;
    struct cur text = {NULL, 0};
    struct etl_decimal dec;
    struct err local = ERR_INIT;
    enum err_code rc = ERR_OK;
    uint8_t tag = 'z';
    switch (v->kind) {
    case ETL_V_NULL:
        return buf_append_byte(b, 'z', err);
    case ETL_V_BOOL:
        return buf_append(b, v->b ? "bt" : "bf", 2, err);
    case ETL_V_NUMBER:
    case ETL_V_DOUBLE:
        rc = text_of(s, v, &text, err);
        if (rc == ERR_OK && etl_decimal_parse(text, &dec, &local) == ERR_OK) {
            /* sign and exponent in the tagged word, then the digits */
            uint64_t head = ((uint64_t)(uint32_t)dec.exp << 8) | (dec.neg ? 1u : 0u);
            rc = append_tagged(b, 'n', head, err);
            return rc == ERR_OK ? buf_append(b, dec.digits, dec.n, err) : rc;
        }
        tag = 'N'; /* NaN, infinities, over 38 digits: their text */
        break;
    case ETL_V_STRING:
        tag = 's';
        break;
    case ETL_V_BINARY:
        tag = 'x';
        break;
    case ETL_V_TIMESTAMP:
        return append_tagged(b, 't', (uint64_t)v->i, err);
    case ETL_V_DATE:
        return append_tagged(b, 'd', (uint64_t)v->i, err);
    case ETL_V_JSON:
        tag = 'j';
        break;
    }
    if (rc == ERR_OK && text.ptr == NULL) {
        rc = text_of(s, v, &text, err);
    }
    if (rc == ERR_OK) {
        rc = append_tagged(b, tag, text.len, err);
    }
    return rc == ERR_OK ? buf_append_cur(b, text, err) : rc;
}

static enum err_code distinct(struct etl_dq_state *s,
                              const struct etl_dq_leaf *leaf,
                              struct etl_dq_agg *a,
                              struct err *err)
{
    bool some = false;
    buf_reset(&s->tuple);
    for (size_t i = 0; i < leaf->n_cols; i++) {
        const struct etl_value *v = NULL;
        enum err_code rc = value_of(s, leaf->cols[i], &v, err);
        if (rc == ERR_OK) {
            rc = append_canonical(s, v, err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
        if (!is_null(v)) {
            a->nonnull[i]++;
            some = true;
        }
    }
    /* deequ groups rows with a non-NULL value in some column (Uniqueness); its Histogram,
     * behind DistinctValuesCount, counts NULL as a value ("NullValue") */
    if (!some && leaf->metric != ETL_DQDL_DISTINCT_VALUES_COUNT) {
        return ERR_OK;
    }
    a->grouped++;
    uint64_t h = etl_dq_hashset_hash(s->tuple.data, s->tuple.len);
    return etl_dq_hashset_add(&a->set, h, false, err);
}

/* ---- numbers: Mean, Sum, StandardDeviation ---- */

static enum err_code
number(struct etl_dq_state *s, struct etl_dq_agg *a, const struct etl_value *v, struct err *err)
{
    if (is_null(v)) {
        return ERR_OK;
    }
    struct cur text = {NULL, 0};
    struct etl_decimal dec;
    struct err local = ERR_INIT;
    bool finite = v->kind == ETL_V_NUMBER || (v->kind == ETL_V_DOUBLE && isfinite(v->d));
    if (!finite) {
        a->bad++; /* deequ requires a numeric column */
        return ERR_OK;
    }
    enum err_code rc = text_of(s, v, &text, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (etl_decimal_parse(text, &dec, &local) != ERR_OK) {
        a->bad++;
        return ERR_OK;
    }
    long double x =
        v->kind == ETL_V_DOUBLE ? (long double)v->d : (long double)etl_decimal_to_double(&dec);
    return etl_dq_agg_add_number(a, &dec, x, err);
}

/* ---- one leaf ---- */

static enum err_code
in_scope(struct etl_dq_state *s, const struct etl_dq_leaf *leaf, bool *yes, struct err *err)
{
    *yes = true;
    if (leaf->where == NULL) {
        return ERR_OK;
    }
    struct etl_value res = etl_value_null();
    enum err_code rc = etl_expr_eval(leaf->where, &s->env, &res, err);
    *yes = rc == ERR_OK && etl_value_is_true(&res);
    return rc;
}

static enum err_code cast_check(struct etl_dq_state *s,
                                const struct etl_dq_leaf *leaf,
                                const struct etl_value *v,
                                enum outcome *out,
                                struct err *err)
{
    struct etl_value res = etl_value_null();
    struct err local = ERR_INIT;
    enum err_code rc = etl_cast(v, leaf->cast, &s->arena, &res, &local);
    if (rc != ERR_OK && rc != ERR_INVALID_INPUT) {
        *err = local;
        return rc;
    }
    /* deequ: when(col.cast(type).isNotNull, isEquals).otherwise(!isEquals) */
    bool castable = rc == ERR_OK && !is_null(&res);
    bool holds = castable == (leaf->cond.op == ETL_DQDL_OP_EQ);
    *out = holds ? OUT_PASS : (is_null(v) ? OUT_NULL_FAIL : OUT_FAIL);
    return ERR_OK;
}

static enum err_code leaf_row(struct etl_dq_state *s, size_t i, struct err *err)
{
    const struct etl_dq_leaf *leaf = &s->rules->leaves[i];
    struct etl_dq_agg *a = &s->partial->aggs[i];
    enum outcome out = OUT_PASS;
    const struct etl_value *v = NULL;
    bool yes = true;
    enum err_code rc = in_scope(s, leaf, &yes, err);
    if (rc != ERR_OK || !yes) {
        s->leaf_out[i] = rc == ERR_OK ? OUT_PASS : OUT_FAIL;
        return rc;
    }
    a->rows++;
    if (leaf->n_cols > 0 && leaf->metric != ETL_DQDL_UNIQUENESS &&
        leaf->metric != ETL_DQDL_IS_UNIQUE && leaf->metric != ETL_DQDL_IS_PRIMARY_KEY &&
        leaf->metric != ETL_DQDL_DISTINCT_VALUES_COUNT) {
        rc = value_of(s, leaf->cols[0], &v, err);
        if (rc != ERR_OK) {
            return rc;
        }
        a->nonnull[0] += !is_null(v);
    }
    switch (leaf->metric) {
    case ETL_DQDL_COMPLETENESS:
    case ETL_DQDL_IS_COMPLETE:
        out = is_null(v) ? OUT_NULL_FAIL : OUT_PASS;
        break;
    case ETL_DQDL_UNIQUENESS:
    case ETL_DQDL_IS_UNIQUE:
    case ETL_DQDL_IS_PRIMARY_KEY:
    case ETL_DQDL_DISTINCT_VALUES_COUNT:
        rc = distinct(s, leaf, a, err);
        break;
    case ETL_DQDL_MEAN:
    case ETL_DQDL_SUM:
    case ETL_DQDL_STANDARD_DEVIATION:
        rc = number(s, a, v, err);
        break;
    case ETL_DQDL_COLUMN_VALUES:
        if (leaf->cond.kind == ETL_DQDL_C_NUMBER) {
            out = cv_number(a, &leaf->cond, v);
        } else if (leaf->cond.kind == ETL_DQDL_C_STRING) {
            rc = cv_string(s, leaf, v, &out, err);
        } else {
            rc = cv_date(s, &leaf->cond, v, &out, err);
        }
        break;
    case ETL_DQDL_COLUMN_LENGTH:
        rc = column_length(s, a, &leaf->cond, v, &out, err);
        break;
    case ETL_DQDL_DATA_FRESHNESS:
        rc = freshness(s, &leaf->cond, v, &out, err);
        break;
    case ETL_DQDL_COLUMN_DATA_TYPE:
        rc = cast_check(s, leaf, v, &out, err);
        break;
    default:
        break; /* RowCount counts rows; ColumnCount, ColumnExists, SchemaMatch read no rows */
    }
    a->pass += out == OUT_PASS;
    a->null_fail += out == OUT_NULL_FAIL;
    s->leaf_out[i] = out;
    return rc;
}

/* ---- the row ---- */

static bool node_passes(const struct etl_dq_state *s, const struct etl_dq_node *n)
{
    if (n->is_leaf) {
        return s->leaf_out[n->leaf] == OUT_PASS;
    }
    bool a = node_passes(s, n->lhs), b = node_passes(s, n->rhs);
    return n->is_or ? (a || b) : (a && b);
}

enum err_code etl_dq_row(struct etl_dq_state *s,
                         const struct etl_expr_env *env,
                         struct etl_dq_verdict *out,
                         struct err *err)
{
    const struct etl_dq_rules *r = s->rules;
    etl_arena_reset(&s->arena);
    s->env = *env;
    s->env.arena = &s->arena;
    memset(s->have, 0, r->n_cols * sizeof(*s->have));
    s->n_failed = 0;
    for (size_t i = 0; i < r->n_leaves; i++) {
        struct err local = ERR_INIT;
        enum err_code rc = leaf_row(s, i, &local);
        if (rc == ERR_INVALID_INPUT) {
            /* this row cannot be evaluated for this rule: it fails it, and the rule says why */
            etl_dq_agg_error(&s->partial->aggs[i], &local);
            s->leaf_out[i] = OUT_FAIL;
        } else if (rc != ERR_OK) {
            *err = local;
            return rc;
        }
    }
    bool quarantine = false;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->info[i].row_level) {
            continue;
        }
        bool pass = node_passes(s, r->roots[i]);
        s->rule_out[i] = pass ? 1 : 0;
        if (!pass) {
            s->failed[s->n_failed++] = i;
            quarantine = quarantine || r->info[i].action == ETL_DQDL_ACTION_QUARANTINE;
        }
    }
    s->partial->rows++;
    s->partial->rows_failed += s->n_failed > 0;
    out->failed = s->failed;
    out->n_failed = s->n_failed;
    out->quarantine = quarantine;
    return ERR_OK;
}

static void rule_texts(const struct etl_dq_state *s, struct jsonw *w, const char *key, int which)
{
    jsonw_key(w, key);
    jsonw_array(w, JSONW_COMPACT);
    for (size_t i = 0; i < s->rules->n; i++) {
        if (s->rule_out[i] == which) {
            jsonw_str(w, s->rules->info[i].text);
        }
    }
    jsonw_end(w);
}

void etl_dq_verdict_write(const struct etl_dq_state *s, struct jsonw *w)
{
    rule_texts(s, w, "DataQualityRulesPass", 1);
    rule_texts(s, w, "DataQualityRulesFail", 0);
    rule_texts(s, w, "DataQualityRulesSkip", -1);
    jsonw_key(w, "DataQualityEvaluationResult");
    jsonw_str(w, s->n_failed > 0 ? "Failed" : "Passed");
}
