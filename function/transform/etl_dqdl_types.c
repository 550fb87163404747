/*
 * etl_dqdl_types.c - the supported subset of Glue's rule types and the per-rule checks of
 * DQDLParserListener.getDQRule (parameter counts, boolean types take no condition, where clause
 * and threshold support, tag forms), plus the limits of deequ's evaluator that we enforce when
 * the ruleset loads instead of failing the rule at run time: ColumnValues and ColumnLength
 * take literal operands only, NULL only in ColumnValues, no dynamic rules.
 */
#include "etl_dqdl_types.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define C_NUM  (1u << ETL_DQDL_C_NUMBER)
#define C_STR  (1u << ETL_DQDL_C_STRING)
#define C_DATE (1u << ETL_DQDL_C_DATE)
#define C_DUR  (1u << ETL_DQDL_C_DURATION)

/* rules-config.json, for the types we evaluate; the most used first, since a message listing
 * them may have room for only some. */
static const struct etl_dqdl_type_spec SPECS[] = {
    {"IsComplete", ETL_DQDL_IS_COMPLETE, 1, 1, 0, true, false, true},
    {"ColumnValues", ETL_DQDL_COLUMN_VALUES, 1, 1, C_NUM | C_STR | C_DATE, true, true, true},
    {"Completeness", ETL_DQDL_COMPLETENESS, 1, 1, C_NUM, true, false, false},
    {"RowCount", ETL_DQDL_ROW_COUNT, 0, 0, C_NUM, true, false, false},
    {"IsUnique", ETL_DQDL_IS_UNIQUE, 1, ETL_DQDL_MANY, 0, true, false, false},
    {"Uniqueness", ETL_DQDL_UNIQUENESS, 1, ETL_DQDL_MANY, C_NUM, true, false, false},
    {"IsPrimaryKey", ETL_DQDL_IS_PRIMARY_KEY, 1, ETL_DQDL_MANY, 0, true, false, false},
    {"ColumnLength", ETL_DQDL_COLUMN_LENGTH, 1, 1, C_NUM, true, false, true},
    {"ColumnExists", ETL_DQDL_COLUMN_EXISTS, 1, 1, 0, false, false, false},
    {"ColumnCount", ETL_DQDL_COLUMN_COUNT, 0, 0, C_NUM, false, false, false},
    {"ColumnDataType", ETL_DQDL_COLUMN_DATA_TYPE, 1, 1, C_STR, true, true, false},
    {"Mean", ETL_DQDL_MEAN, 1, 1, C_NUM, true, false, false},
    {"Sum", ETL_DQDL_SUM, 1, 1, C_NUM, true, false, false},
    {"StandardDeviation", ETL_DQDL_STANDARD_DEVIATION, 1, 1, C_NUM, true, false, false},
    {"DistinctValuesCount", ETL_DQDL_DISTINCT_VALUES_COUNT, 1, 1, C_NUM, true, false, false},
    {"DataFreshness", ETL_DQDL_DATA_FRESHNESS, 1, 1, C_DUR, true, false, false},
    {"SchemaMatch", ETL_DQDL_SCHEMA_MATCH, 1, 1, C_NUM, false, false, false},
    {"DetectAnomalies", ETL_DQDL_DETECT_ANOMALIES, 1, ETL_DQDL_MANY, 0, false, false, false},
};

/* The rest of rules-config.json and deequ's DQDLRuleTranslator: types a ruleset may hold that
 * we refuse by name. */
static const char *const GLUE_ONLY[] = {
    "RowCountMatch",
    "ColumnNamesMatchPattern",
    "ColumnCorrelation",
    "Variance",
    "Entropy",
    "UniqueValueRatio",
    "CustomSql",
    "ReferentialIntegrity",
    "DatasetMatch",
    "AggregateMatch",
    "AllStatistics",
    "FileMatch",
    "FileUniqueness",
    "FileFreshness",
    "FileSize",
    "ZerosCount",
    "Range",
    "InterquartileRange",
    "Skewness",
    "Kurtosis",
    "DuplicateRowCount",
};

const struct etl_dqdl_type_spec *etl_dqdl_types_find(const char *name, bool *known_to_glue)
{
    *known_to_glue = false;
    for (size_t i = 0; i < sizeof(SPECS) / sizeof(SPECS[0]); i++) {
        if (strcmp(SPECS[i].name, name) == 0) {
            *known_to_glue = true;
            return &SPECS[i];
        }
    }
    for (size_t i = 0; i < sizeof(GLUE_ONLY) / sizeof(GLUE_ONLY[0]); i++) {
        *known_to_glue = *known_to_glue || strcmp(GLUE_ONLY[i], name) == 0;
    }
    return NULL;
}

const struct etl_dqdl_type_spec *etl_dqdl_types_spec(enum etl_dqdl_rtype type)
{
    for (size_t i = 0; i < sizeof(SPECS) / sizeof(SPECS[0]); i++) {
        if (SPECS[i].type == type) {
            return &SPECS[i];
        }
    }
    return NULL;
}

const char *etl_dqdl_rtype_name(enum etl_dqdl_rtype t)
{
    const struct etl_dqdl_type_spec *s = etl_dqdl_types_spec(t);
    return s != NULL ? s->name : "Composite";
}

void etl_dqdl_types_list(char *out, size_t cap)
{
    size_t n = sizeof(SPECS) / sizeof(SPECS[0]), used = 0, i = 0;
    out[0] = '\0';
    for (; i < n; i++) {
        char tail[32];
        snprintf(tail, sizeof(tail), " and %zu more", n - i - 1);
        size_t need = strlen(SPECS[i].name) + (i > 0 ? 2 : 0);
        /* room for this name, and for " and N more" unless it is the last */
        if (used + need + (i + 1 < n ? strlen(tail) : 0) + 1 > cap) {
            break;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i > 0 ? ", " : "", SPECS[i].name);
    }
    if (i < n && cap > used) {
        snprintf(out + used, cap - used, " and %zu more", n - i);
    }
}

/* ---- conditions ---- */

static bool is_string_value(enum etl_dqdl_vkind k)
{
    return k == ETL_DQDL_V_STRING || k == ETL_DQDL_V_EMPTY || k == ETL_DQDL_V_WHITESPACES_ONLY;
}

static const char *kind_name(enum etl_dqdl_ckind k)
{
    switch (k) {
    case ETL_DQDL_C_NUMBER:
        return "a number";
    case ETL_DQDL_C_STRING:
        return "a string";
    case ETL_DQDL_C_DATE:
        return "a date";
    case ETL_DQDL_C_DURATION:
        return "a duration";
    default:
        return "no";
    }
}

/* The kind the operands make, with NULL fitting any; `allowed` breaks the tie of an all-NULL
 * condition. A date-shaped string among plain strings is a string (Glue lexes "2024-01-01" as a
 * DATE token, so only a list of dates is a date condition). ETL_DQDL_C_NONE when the operands do
 * not agree (*bad is the first odd one). */
static enum etl_dqdl_ckind decide_kind(const struct etl_dqdl_cond *c, unsigned allowed, size_t *bad)
{
    size_t first[5] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    enum { NUM, DUR, NOW, DATE, STR };
    for (size_t i = 0; i < c->n; i++) {
        enum etl_dqdl_vkind v = c->values[i].kind;
        int k = v == ETL_DQDL_V_NUMBER                           ? NUM
                : v == ETL_DQDL_V_DURATION                       ? DUR
                : v == ETL_DQDL_V_NOW                            ? NOW
                : (v == ETL_DQDL_V_DATE || v == ETL_DQDL_V_TIME) ? DATE
                : is_string_value(v)                             ? STR
                                                                 : -1;
        if (k >= 0 && first[k] == SIZE_MAX) {
            first[k] = i;
        }
    }
    bool num = first[NUM] != SIZE_MAX, dur = first[DUR] != SIZE_MAX, now = first[NOW] != SIZE_MAX;
    bool date = first[DATE] != SIZE_MAX, str = first[STR] != SIZE_MAX;
    bool matches = c->op == ETL_DQDL_OP_MATCHES || c->op == ETL_DQDL_OP_NOT_MATCHES;
    *bad = 0;
    if (num) {
        *bad = dur ? first[DUR] : now ? first[NOW] : date ? first[DATE] : first[STR];
        return (dur || now || date || str) ? ETL_DQDL_C_NONE : ETL_DQDL_C_NUMBER;
    }
    if (dur) {
        *bad = now ? first[NOW] : date ? first[DATE] : first[STR];
        return (now || date || str) ? ETL_DQDL_C_NONE : ETL_DQDL_C_DURATION;
    }
    if (now) {
        *bad = first[STR];
        return str ? ETL_DQDL_C_NONE : ETL_DQDL_C_DATE;
    }
    if (str || matches) {
        return ETL_DQDL_C_STRING;
    }
    if (date) {
        return ETL_DQDL_C_DATE;
    }
    /* only NULLs */
    return (allowed & C_NUM)   ? ETL_DQDL_C_NUMBER
           : (allowed & C_STR) ? ETL_DQDL_C_STRING
                               : ETL_DQDL_C_DATE;
}

static bool num_is_dynamic(const struct etl_dqdl_num *n)
{
    if (n->kind == ETL_DQDL_N_CALL) {
        return true;
    }
    return n->kind == ETL_DQDL_N_BINARY && (num_is_dynamic(n->lhs) || num_is_dynamic(n->rhs));
}

/* Fills err with a message (no position) and *off with v's position. */
PRINTF_FMT(4, 5)
static enum err_code bad_at(struct err *err, size_t *off, size_t at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *off = at;
    return err_set(err, ERR_INVALID_INPUT, "%s", msg);
}

static enum err_code check_operands(const char *type,
                                    const struct etl_dqdl_cond *c,
                                    bool literal_only,
                                    bool null_ok,
                                    size_t *off,
                                    struct err *err)
{
    bool range = c->op == ETL_DQDL_OP_BETWEEN || c->op == ETL_DQDL_OP_NOT_BETWEEN;
    for (size_t i = 0; i < c->n; i++) {
        const struct etl_dqdl_value *v = &c->values[i];
        if (v->kind == ETL_DQDL_V_NULL && (!null_ok || range)) {
            return bad_at(err, off, v->off,
                          "NULL is not a bound here: %s takes NULL only with =, !=, in and not in "
                          "in ColumnValues",
                          type);
        }
        if (v->kind != ETL_DQDL_V_NUMBER) {
            continue;
        }
        if (num_is_dynamic(v->num)) {
            return bad_at(err, off, v->off,
                          "dynamic rules (functions such as avg(last(10))) are not supported; use "
                          "DetectAnomalies");
        }
        if (literal_only && v->num->kind != ETL_DQDL_N_ATOM) {
            return bad_at(err, off, v->off, "%s only supports literal numbers in conditions", type);
        }
    }
    return ERR_OK;
}

static enum err_code check_condition(const struct etl_dqdl_type_spec *spec,
                                     struct etl_dqdl_cond *c,
                                     size_t *off,
                                     struct err *err)
{
    size_t bad = 0;
    c->kind = decide_kind(c, spec->conds, &bad);
    if (c->kind == ETL_DQDL_C_NONE) {
        return bad_at(err, off, c->values[bad].off, "a condition cannot mix kinds of operands");
    }
    if ((spec->conds & (1u << c->kind)) == 0) {
        const char *want = (spec->conds & C_DUR) ? "a duration" : "a number";
        if (spec->type == ETL_DQDL_COLUMN_DATA_TYPE) {
            want = "a type name";
        }
        return bad_at(err, off, c->off, "%s takes %s condition, found %s condition", spec->name,
                      want, kind_name(c->kind));
    }
    bool string_op = c->op == ETL_DQDL_OP_EQ || c->op == ETL_DQDL_OP_NE ||
                     c->op == ETL_DQDL_OP_IN || c->op == ETL_DQDL_OP_NOT_IN ||
                     c->op == ETL_DQDL_OP_MATCHES || c->op == ETL_DQDL_OP_NOT_MATCHES;
    if (c->kind == ETL_DQDL_C_STRING && !string_op) {
        return bad_at(
            err, off, c->off,
            "strings take =, !=, in, not in, matches or not matches; a range needs numbers or dates");
    }
    bool column_values = spec->type == ETL_DQDL_COLUMN_VALUES;
    bool literal_only = column_values || spec->type == ETL_DQDL_COLUMN_LENGTH;
    return check_operands(spec->name, c, literal_only, column_values, off, err);
}

/* ColumnDataType's names (deequ's ColumnDataTypeRule.dataTypeToSparkType). */
static bool data_type_name(const char *s)
{
    static const char *const NAMES[] = {"BOOLEAN", "DATE",  "TIMESTAMP", "INTEGER",
                                        "DOUBLE",  "FLOAT", "LONG"};
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
        if (strcasecmp(s, NAMES[i]) == 0) {
            return true;
        }
    }
    unsigned p = 0, sc = 0;
    char close = 0;
    return strncasecmp(s, "DECIMAL(", 8) == 0 && sscanf(s + 8, "%u,%u%c", &p, &sc, &close) == 3 &&
           close == ')' && p >= 1 && p <= 38 && sc <= p;
}

static enum err_code check_data_type(struct etl_dqdl_rule *r, size_t *off, struct err *err)
{
    const struct etl_dqdl_cond *c = &r->cond;
    if ((c->op != ETL_DQDL_OP_EQ && c->op != ETL_DQDL_OP_NE) || c->n != 1 ||
        c->values[0].kind != ETL_DQDL_V_STRING) {
        return bad_at(err, off, c->off,
                      "ColumnDataType only supports = or != with one quoted type name");
    }
    if (!data_type_name(c->values[0].str)) {
        return bad_at(err, off, c->values[0].off,
                      "Unrecognized data type: %s (expected Boolean, Date, Timestamp, Integer, "
                      "Double, Float, Long or DECIMAL(p,s))",
                      c->values[0].str);
    }
    return ERR_OK;
}

enum etl_dqdl_rtype etl_dqdl_types_anomaly_metric(const struct etl_dqdl_rule *r)
{
    static const struct {
        const char *name;
        enum etl_dqdl_rtype type;
        unsigned min, max; /* further parameters */
    } METRICS[] = {
        {"RowCount", ETL_DQDL_ROW_COUNT, 0, 0},
        {"ColumnCount", ETL_DQDL_COLUMN_COUNT, 0, 0},
        {"Completeness", ETL_DQDL_COMPLETENESS, 1, 1},
        {"Uniqueness", ETL_DQDL_UNIQUENESS, 1, ETL_DQDL_MANY},
        {"DistinctValuesCount", ETL_DQDL_DISTINCT_VALUES_COUNT, 1, 1},
        {"Mean", ETL_DQDL_MEAN, 1, 1},
        {"Sum", ETL_DQDL_SUM, 1, 1},
        {"StandardDeviation", ETL_DQDL_STANDARD_DEVIATION, 1, 1},
    };
    for (size_t i = 0; r->n_params > 0 && i < sizeof(METRICS) / sizeof(METRICS[0]); i++) {
        unsigned more = (unsigned)(r->n_params - 1);
        if (strcmp(r->params[0], METRICS[i].name) == 0 && more >= METRICS[i].min &&
            more <= METRICS[i].max) {
            return METRICS[i].type;
        }
    }
    return ETL_DQDL_COMPOSITE;
}

static bool names_a_rule_type(const char *s)
{
    bool known = false;
    return etl_dqdl_types_find(s, &known) != NULL || known;
}

static enum err_code check_params(const struct etl_dqdl_type_spec *spec,
                                  struct etl_dqdl_rule *r,
                                  size_t *off,
                                  struct err *err)
{
    if (r->n_params < spec->min_params || r->n_params > spec->max_params) {
        bool hint = false;
        for (size_t i = 0; i < r->n_params; i++) {
            hint = hint || names_a_rule_type(r->params[i]);
        }
        char want[32];
        snprintf(want, sizeof(want), spec->max_params == ETL_DQDL_MANY ? "at least %u" : "%u",
                 spec->min_params);
        return bad_at(err, off, r->off, "Unexpected number of parameters: %s takes %s, found %zu%s",
                      spec->name, want, r->n_params,
                      hint ? " (put each rule of a composite in parentheses)" : "");
    }
    for (size_t i = 0; i < r->n_params; i++) {
        if (r->params[i][0] == '\0') {
            return bad_at(err, off, r->off, "%s: a column name is empty", spec->name);
        }
    }
    if (spec->type == ETL_DQDL_DETECT_ANOMALIES &&
        etl_dqdl_types_anomaly_metric(r) == ETL_DQDL_COMPOSITE) {
        return bad_at(err, off, r->off,
                      "DetectAnomalies watches one of RowCount, ColumnCount, Completeness \"col\", "
                      "Uniqueness \"col\"..., DistinctValuesCount \"col\", Mean \"col\", Sum "
                      "\"col\", StandardDeviation \"col\"; found \"%s\" with %zu column(s)",
                      r->params[0], r->n_params - 1);
    }
    return ERR_OK;
}

enum err_code etl_dqdl_types_check(const struct etl_dqdl_type_spec *spec,
                                   struct etl_dqdl_rule *r,
                                   size_t *off,
                                   struct err *err)
{
    enum err_code rc = check_params(spec, r, off, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (spec->conds == 0 && r->cond.op != ETL_DQDL_OP_NONE) {
        return bad_at(err, off, r->cond.off,
                      "Unexpected condition for rule of type %s with boolean return type",
                      spec->name);
    }
    if (spec->conds != 0 && r->cond.op == ETL_DQDL_OP_NONE) {
        return bad_at(
            err, off, r->off + r->text_len, "%s needs a condition (such as %s)", spec->name,
            (spec->conds & C_DUR)                     ? "<= 24 hours"
            : spec->type == ETL_DQDL_COLUMN_DATA_TYPE ? "= \"Integer\""
            : spec->type == ETL_DQDL_COLUMN_VALUES    ? "in [\"a\", \"b\"]"
            : (spec->type == ETL_DQDL_UNIQUENESS || spec->type == ETL_DQDL_COMPLETENESS) ? "> 0.95"
                                                                                         : "> 0");
    }
    if (r->cond.op != ETL_DQDL_OP_NONE) {
        rc = check_condition(spec, &r->cond, off, err);
        if (rc == ERR_OK && spec->type == ETL_DQDL_COLUMN_DATA_TYPE) {
            rc = check_data_type(r, off, err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (r->where != NULL && !spec->where) {
        return bad_at(err, off, r->where_off, "Where clause is not supported for rule type: %s",
                      spec->name);
    }
    if (r->where != NULL && r->where[strspn(r->where, " \t\r\n")] == '\0') {
        return bad_at(err, off, r->where_off, "Empty where condition provided for rule type: %s",
                      spec->name);
    }
    if (r->threshold.op != ETL_DQDL_OP_NONE) {
        if (!spec->threshold) {
            return bad_at(err, off, r->threshold.off,
                          "Threshold condition not supported for rule type: %s", spec->name);
        }
        static const struct etl_dqdl_type_spec THRESHOLD = {
            "threshold", ETL_DQDL_COMPOSITE, 0, 0, C_NUM, false, false, false};
        rc = check_condition(&THRESHOLD, &r->threshold, off, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (r->action == ETL_DQDL_ACTION_QUARANTINE && !spec->row_level) {
        return bad_at(err, off, r->off,
                      "%s is a dataset-level rule: it cannot quarantine rows (actions: warn, fail)",
                      spec->name);
    }
    return ERR_OK;
}
