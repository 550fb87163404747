/*
 * etl_dq.c - compiles a parsed DQDL ruleset for evaluation: a tree of nodes per top-level rule,
 * its leaves with their columns, compiled where clauses and regexes, operands turned into values
 * and doubles, metric names as Glue reports them, and each rule's resolved action.
 */
#include "etl_dq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "etl_dq_private.h"
#include "etl_dqdl_lex.h"
#include "etl_dqdl_types.h"

#define MS_PER_MINUTE 60000LL

/* ---- columns ---- */

static enum err_code
column_index(struct etl_dq_rules *r, const char *name, size_t *out, struct err *err)
{
    for (size_t i = 0; i < r->n_cols; i++) {
        if (strcmp(r->cols[i].name, name) == 0) {
            *out = i;
            return ERR_OK;
        }
    }
    /* r->cols was sized for every parameter of every leaf */
    struct etl_dq_column *c = &r->cols[r->n_cols];
    struct etl_colpath_seg *seg = calloc(1, sizeof(*seg));
    char *copy = strdup(name);
    if (seg == NULL || copy == NULL) {
        free(seg);
        free(copy);
        return err_set(err, ERR_NOMEM, "dq: out of memory");
    }
    seg->name = copy;
    seg->name_len = strlen(copy);
    c->name = copy;
    c->path.segs = seg;
    c->path.n = 1;
    *out = r->n_cols++;
    return ERR_OK;
}

/* ---- operands ---- */

/* The value of a number expression: + - * / on doubles, left to right, as deequ's
 * DefaultOperandEvaluator (function calls never get here: the parser refuses them). */
static double fold(const struct etl_dqdl_num *n)
{
    if (n->kind == ETL_DQDL_N_ATOM) {
        return strtod(n->atom, NULL);
    }
    double a = fold(n->lhs), b = fold(n->rhs);
    switch (n->op) {
    case '+':
        return a + b;
    case '-':
        return a - b;
    case '*':
        return a * b;
    default:
        return a / b;
    }
}

/* A duration in hours, as deequ's DataFreshnessRule.evaluateDurationToHours: minutes become
 * hours rounded half-up to four decimals. */
static double duration_hours(int64_t amount, enum etl_dqdl_unit unit)
{
    switch (unit) {
    case ETL_DQDL_DAYS:
        return 24.0 * (double)amount;
    case ETL_DQDL_HOURS:
        return (double)amount;
    default:
        return floor((double)amount / 60.0 * 10000.0 + 0.5) / 10000.0;
    }
}

static int64_t unit_ms(enum etl_dqdl_unit unit)
{
    return unit == ETL_DQDL_DAYS    ? 1440 * MS_PER_MINUTE
           : unit == ETL_DQDL_HOURS ? 60 * MS_PER_MINUTE
                                    : MS_PER_MINUTE;
}

static enum err_code
compile_cond(const struct etl_dqdl_cond *src, struct etl_dq_cond *c, struct err *err)
{
    c->op = src->op;
    c->kind = src->kind;
    c->n = src->n;
    if (src->n == 0) {
        return ERR_OK;
    }
    c->ops = calloc(src->n, sizeof(*c->ops));
    if (c->ops == NULL) {
        return err_set(err, ERR_NOMEM, "dq: out of memory");
    }
    for (size_t i = 0; i < src->n; i++) {
        const struct etl_dqdl_value *v = &src->values[i];
        struct etl_dq_operand *o = &c->ops[i];
        o->kind = v->kind;
        o->v = etl_value_null();
        switch (v->kind) {
        case ETL_DQDL_V_NUMBER:
            o->d = fold(v->num);
            if (v->num->kind == ETL_DQDL_N_ATOM) {
                o->v.kind = ETL_V_NUMBER;
                o->v.s = cur_from_str(v->num->atom);
            } else {
                o->v.kind = ETL_V_DOUBLE;
                o->v.d = o->d;
            }
            break;
        case ETL_DQDL_V_NULL:
            c->has_null = true;
            break;
        case ETL_DQDL_V_STRING:
        case ETL_DQDL_V_DATE:
        case ETL_DQDL_V_TIME:
            o->str = v->str;
            o->str_len = v->str_len;
            o->days = v->days;
            break;
        case ETL_DQDL_V_NOW:
            o->offset_ms = v->amount * unit_ms(v->unit);
            break;
        case ETL_DQDL_V_DURATION:
            o->d = duration_hours(v->amount, v->unit);
            break;
        default:
            break; /* EMPTY, WHITESPACES_ONLY */
        }
    }
    return ERR_OK;
}

/* ---- expressions ---- */

/* An expression error, placed at off in the ruleset: "dqdl: line L, column C: what: msg". */
static enum err_code
expr_error(const struct etl_dq_rules *r, size_t off, const char *what, struct err *err)
{
    char msg[256];
    int line = 0, col = 0;
    snprintf(msg, sizeof(msg), "%s", err->msg);
    etl_dqdl_lex_position(buf_cur(&r->rs->text), off, &line, &col);
    return err_set(err, ERR_INVALID_INPUT, "dqdl: line %d, column %d: %s: %s", line, col, what,
                   msg);
}

/* Glue's `matches` is a whole-value match (deequ anchors the pattern: ^pattern$), in Java's
 * syntax, which etl_regex translates. The operand keeps its backslashes; a leading (?i) stays in
 * front of the anchor. */
static enum err_code compile_regex(struct etl_dq_rules *r,
                                   struct etl_dq_leaf *leaf,
                                   const struct etl_dqdl_value *v,
                                   struct err *err)
{
    struct buf pattern = BUF_INIT(BUF_NO_LIMIT);
    const char *raw = v->raw;
    bool icase = strncmp(raw, "(?i)", 4) == 0;
    enum err_code rc =
        buf_printf(&pattern, err, "%s^(?:%s)$", icase ? "(?i)" : "", raw + (icase ? 4 : 0));
    if (rc == ERR_OK) {
        leaf->regex = calloc(1, sizeof(*leaf->regex));
        rc = leaf->regex == NULL ? err_set(err, ERR_NOMEM, "dq: out of memory") : ERR_OK;
    }
    if (rc == ERR_OK) {
        size_t where = 0;
        rc = etl_regex_compile(buf_cur(&pattern), false, leaf->regex, &where, err);
        if (rc == ERR_INVALID_INPUT) {
            /* where counts in the pattern, which has "^(?:" (4 bytes) before the operand's own
             * bytes (after its "(?i)", when it has one); the operand starts after its quote */
            size_t at = icase ? (where < 4   ? where
                                 : where < 8 ? 4
                                             : where - 4)
                              : (where < 4 ? 0 : where - 4);
            at = at > strlen(raw) ? strlen(raw) : at;
            rc = expr_error(r, v->off + 1 + at, "regular expression", err);
        }
    }
    buf_cleanup(&pattern);
    return rc;
}

/* ColumnDataType's names (deequ's dataTypeToSparkType) in our type language. */
static enum err_code compile_cast(struct etl_dq_leaf *leaf, const char *name, struct err *err)
{
    static const struct {
        const char *glue;
        const char *ours;
    } TYPES[] = {
        {"Boolean", "boolean"}, {"Date", "date"},   {"Timestamp", "timestamp"},
        {"Integer", "int"},     {"Long", "bigint"}, {"Double", "double"},
        {"Float", "float"},
    };
    const char *ours = name; /* DECIMAL(p,s) reads as ours does */
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++) {
        if (strcasecmp(TYPES[i].glue, name) == 0) {
            ours = TYPES[i].ours;
        }
    }
    return etl_typespec_parse(cur_from_str(ours), &leaf->cast, err);
}

/* ---- metric names ---- */

/* "Column.a.X" for one column, "Multicolumn.a,b.X" for several (deequ's DeequMetricMapping). */
static char *
column_metric(const struct etl_dq_rules *r, const struct etl_dq_leaf *leaf, const char *name)
{
    struct buf b = BUF_INIT(BUF_NO_LIMIT);
    struct err err = ERR_INIT;
    enum err_code rc = buf_append_str(&b, leaf->n_cols > 1 ? "Multicolumn." : "Column.", &err);
    for (size_t i = 0; i < leaf->n_cols && rc == ERR_OK; i++) {
        rc = buf_printf(&b, &err, "%s%s", i > 0 ? "," : "", r->cols[leaf->cols[i]].name);
    }
    char *s = NULL;
    if (rc == ERR_OK) {
        rc = buf_printf(&b, &err, ".%s", name);
    }
    if (rc == ERR_OK && buf_take_str(&b, &s, &err) != ERR_OK) {
        s = NULL;
    }
    buf_cleanup(&b);
    return s;
}

static char *metric_name(const struct etl_dq_rules *r, const struct etl_dq_leaf *leaf)
{
    char *s = NULL;
    switch (leaf->metric) {
    case ETL_DQDL_ROW_COUNT:
        return strdup("Dataset.*.RowCount");
    case ETL_DQDL_COLUMN_COUNT:
        return strdup("Dataset.*.ColumnCount");
    case ETL_DQDL_COMPLETENESS:
    case ETL_DQDL_IS_COMPLETE:
        return column_metric(r, leaf, "Completeness");
    case ETL_DQDL_UNIQUENESS:
    case ETL_DQDL_IS_UNIQUE:
    case ETL_DQDL_IS_PRIMARY_KEY:
        return column_metric(r, leaf, "Uniqueness");
    case ETL_DQDL_MEAN:
        return column_metric(r, leaf, "Mean");
    case ETL_DQDL_SUM:
        return column_metric(r, leaf, "Sum");
    case ETL_DQDL_STANDARD_DEVIATION:
        return column_metric(r, leaf, "StandardDeviation");
    case ETL_DQDL_DISTINCT_VALUES_COUNT:
        return column_metric(r, leaf, "DistinctValuesCount");
    case ETL_DQDL_COLUMN_LENGTH:
        return column_metric(r, leaf, "LengthCompliance");
    case ETL_DQDL_COLUMN_VALUES:
        /* deequ asserts matches with hasPattern, whose metric is PatternMatch */
        return column_metric(r, leaf,
                             leaf->cond.op == ETL_DQDL_OP_MATCHES ||
                                     leaf->cond.op == ETL_DQDL_OP_NOT_MATCHES
                                 ? "PatternMatch"
                                 : "ColumnValues.Compliance");
    case ETL_DQDL_DATA_FRESHNESS:
        return column_metric(r, leaf, "DataFreshness.Compliance");
    case ETL_DQDL_COLUMN_DATA_TYPE:
        return column_metric(r, leaf, "ColumnDataType.Compliance");
    case ETL_DQDL_COLUMN_EXISTS:
        if (asprintf(&s, "Dataset.%s.ColumnExists", leaf->src->params[0]) < 0) {
            s = NULL;
        }
        return s;
    case ETL_DQDL_SCHEMA_MATCH:
        if (asprintf(&s, "Dataset.%s.SchemaMatch", leaf->src->params[0]) < 0) {
            s = NULL;
        }
        return s;
    default:
        return NULL;
    }
}

/* ---- leaves and trees ---- */

static enum err_code compile_leaf(struct etl_dq_rules *r,
                                  const struct etl_dqdl_rule *src,
                                  struct etl_dq_leaf *leaf,
                                  struct err *err)
{
    const struct etl_dqdl_type_spec *spec = etl_dqdl_types_spec(src->type);
    leaf->src = src;
    leaf->type = src->type;
    leaf->metric = src->type;
    leaf->row_level = spec->row_level;
    size_t first = 0;
    if (src->type == ETL_DQDL_DETECT_ANOMALIES) {
        leaf->metric = etl_dqdl_types_anomaly_metric(src);
        first = 1; /* the metric's name */
    } else if (src->type == ETL_DQDL_SCHEMA_MATCH || src->type == ETL_DQDL_COLUMN_EXISTS) {
        first = src->n_params; /* an alias and a name to look for, not columns to read */
    }
    enum err_code rc = ERR_OK;
    if (src->n_params > first) {
        leaf->cols = calloc(src->n_params - first, sizeof(*leaf->cols));
        if (leaf->cols == NULL) {
            return err_set(err, ERR_NOMEM, "dq: out of memory");
        }
    }
    for (size_t i = first; i < src->n_params && rc == ERR_OK; i++) {
        rc = column_index(r, src->params[i], &leaf->cols[leaf->n_cols++], err);
    }
    if (rc == ERR_OK && src->where != NULL) {
        rc = etl_expr_compile(cur_from_str(src->where), &leaf->where, err);
        if (rc == ERR_INVALID_INPUT) {
            rc = expr_error(r, src->where_off, "where clause", err);
        }
    }
    if (rc == ERR_OK) {
        rc = compile_cond(&src->cond, &leaf->cond, err);
    }
    if (rc == ERR_OK) {
        rc = compile_cond(&src->threshold, &leaf->threshold, err);
    }
    if (rc == ERR_OK &&
        (src->cond.op == ETL_DQDL_OP_MATCHES || src->cond.op == ETL_DQDL_OP_NOT_MATCHES)) {
        rc = compile_regex(r, leaf, &src->cond.values[0], err);
    }
    if (rc == ERR_OK && src->type == ETL_DQDL_COLUMN_DATA_TYPE) {
        rc = compile_cast(leaf, src->cond.values[0].str, err);
    }
    if (rc == ERR_OK && leaf->metric != ETL_DQDL_DETECT_ANOMALIES) {
        leaf->metric_name = metric_name(r, leaf);
        if (leaf->metric_name == NULL) {
            rc = err_set(err, ERR_NOMEM, "dq: out of memory");
        }
    }
    return rc;
}

static enum err_code build(struct etl_dq_rules *r,
                           const struct etl_dqdl_rule *src,
                           const struct etl_dq_node **out,
                           struct err *err)
{
    struct etl_dq_node *n = &r->nodes[r->n_nodes++];
    *out = n;
    if (src->type != ETL_DQDL_COMPOSITE) {
        n->is_leaf = true;
        n->leaf = r->n_leaves++;
        enum err_code rc = compile_leaf(r, src, &r->leaves[n->leaf], err);
        n->row_level = r->leaves[n->leaf].row_level;
        return rc;
    }
    n->is_or = src->is_or;
    enum err_code rc = build(r, src->lhs, &n->lhs, err);
    if (rc == ERR_OK) {
        rc = build(r, src->rhs, &n->rhs, err);
    }
    n->row_level = rc == ERR_OK && n->lhs->row_level && n->rhs->row_level;
    return rc;
}

/* ---- actions ---- */

/* The action the tags under a rule ask for: DEFAULT when none does; ERR_INVALID_INPUT when
 * two of them disagree. */
static enum err_code tagged_action(const struct etl_dqdl_ruleset *rs,
                                   const struct etl_dqdl_rule *src,
                                   enum etl_dqdl_action *action,
                                   struct err *err)
{
    if (src->type != ETL_DQDL_COMPOSITE) {
        if (src->action != ETL_DQDL_ACTION_DEFAULT && *action != ETL_DQDL_ACTION_DEFAULT &&
            src->action != *action) {
            return err_set(err, ERR_INVALID_INPUT,
                           "dqdl: line %d, column %d: the rules of a composite ask for different "
                           "actions (%s and %s)",
                           src->line, src->col, etl_dqdl_action_name(*action),
                           etl_dqdl_action_name(src->action));
        }
        if (src->action != ETL_DQDL_ACTION_DEFAULT) {
            *action = src->action;
        }
        return ERR_OK;
    }
    enum err_code rc = tagged_action(rs, src->lhs, action, err);
    return rc == ERR_OK ? tagged_action(rs, src->rhs, action, err) : rc;
}

static enum err_code
resolve_actions(struct etl_dq_rules *r, const struct etl_dq_config *cfg, struct err *err)
{
    for (size_t i = 0; i < r->n; i++) {
        struct etl_dq_rule_info *info = &r->info[i];
        enum etl_dqdl_action a = ETL_DQDL_ACTION_DEFAULT;
        enum err_code rc = tagged_action(r->rs, info->rule, &a, err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (a == ETL_DQDL_ACTION_QUARANTINE && !info->row_level) {
            return err_set(err, ERR_INVALID_INPUT,
                           "dqdl: line %d, column %d: %s is dataset-level (a composite with "
                           "dataset-level rules): it cannot quarantine rows",
                           info->rule->line, info->rule->col, info->name);
        }
        if (a == ETL_DQDL_ACTION_DEFAULT) {
            a = info->row_level ? ETL_DQDL_ACTION_QUARANTINE : ETL_DQDL_ACTION_WARN;
        }
        info->action = a;
    }
    for (size_t k = 0; cfg != NULL && k < cfg->n_actions; k++) {
        const struct etl_dq_action_override *o = &cfg->actions[k];
        size_t i = 0;
        while (i < r->n && (o->rule == NULL || strcmp(r->info[i].name, o->rule) != 0)) {
            i++;
        }
        if (i == r->n) {
            return err_set(err, ERR_CONFIG,
                           "dq: an action is given for \"%s\", which is no rule of the ruleset "
                           "(it has Rule_1 to Rule_%zu)",
                           o->rule != NULL ? o->rule : "", r->n);
        }
        if (o->action == ETL_DQDL_ACTION_QUARANTINE && !r->info[i].row_level) {
            return err_set(err, ERR_CONFIG,
                           "dq: %s is a dataset-level rule: its action cannot be quarantine "
                           "(warn or fail)",
                           o->rule);
        }
        if (o->action != ETL_DQDL_ACTION_DEFAULT) {
            r->info[i].action = o->action;
        }
    }
    return ERR_OK;
}

bool etl_dq_cond_holds(const struct etl_dq_cond *c, double x)
{
    bool any = false;
    switch (c->op) {
    case ETL_DQDL_OP_GT:
        return x > c->ops[0].d;
    case ETL_DQDL_OP_GE:
        return x >= c->ops[0].d;
    case ETL_DQDL_OP_LT:
        return x < c->ops[0].d;
    case ETL_DQDL_OP_LE:
        return x <= c->ops[0].d;
    case ETL_DQDL_OP_EQ:
        return x == c->ops[0].d;
    case ETL_DQDL_OP_NE:
        return x != c->ops[0].d;
    case ETL_DQDL_OP_BETWEEN:
        return x > c->ops[0].d && x < c->ops[1].d;
    case ETL_DQDL_OP_NOT_BETWEEN:
        return x <= c->ops[0].d || x >= c->ops[1].d;
    case ETL_DQDL_OP_IN:
    case ETL_DQDL_OP_NOT_IN:
        for (size_t i = 0; i < c->n; i++) {
            any = any || x == c->ops[i].d;
        }
        return any == (c->op == ETL_DQDL_OP_IN);
    default:
        return false;
    }
}

/* ---- public ---- */

static size_t param_count(const struct etl_dqdl_rule *src)
{
    if (src->type != ETL_DQDL_COMPOSITE) {
        return src->n_params;
    }
    return param_count(src->lhs) + param_count(src->rhs);
}

static enum err_code allocate(struct etl_dq_rules *r, struct err *err)
{
    size_t leaves = 0, params = 0;
    for (size_t i = 0; i < r->rs->n; i++) {
        leaves += etl_dqdl_leaf_count(r->rs->rules[i]);
        params += param_count(r->rs->rules[i]);
    }
    r->info = calloc(r->rs->n, sizeof(*r->info));
    r->roots = calloc(r->rs->n, sizeof(*r->roots));
    r->leaves = calloc(leaves, sizeof(*r->leaves));
    r->nodes = calloc(2 * leaves, sizeof(*r->nodes));
    r->cols = calloc(params + 1, sizeof(*r->cols));
    if (r->info == NULL || r->roots == NULL || r->leaves == NULL || r->nodes == NULL ||
        r->cols == NULL) {
        return err_set(err, ERR_NOMEM, "dq: out of memory");
    }
    return ERR_OK;
}

enum err_code etl_dq_new(struct cur dqdl,
                         const struct etl_dq_config *cfg,
                         struct etl_dq_rules **out,
                         struct err *err)
{
    *out = NULL;
    struct etl_dq_rules *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return err_set(err, ERR_NOMEM, "dq: out of memory");
    }
    r->max_distinct =
        cfg != NULL && cfg->max_distinct > 0 ? cfg->max_distinct : ETL_DQ_DEFAULT_MAX_DISTINCT;
    enum err_code rc = etl_dqdl_parse(dqdl, &r->rs, err);
    if (rc == ERR_OK) {
        rc = allocate(r, err);
    }
    for (size_t i = 0; rc == ERR_OK && i < r->rs->n; i++) {
        const struct etl_dqdl_rule *src = r->rs->rules[i];
        rc = build(r, src, &r->roots[i], err);
        r->n = i + 1;
        r->info[i] = (struct etl_dq_rule_info){src->name, src->text, ETL_DQDL_ACTION_DEFAULT,
                                               r->roots[i]->row_level, src};
    }
    if (rc == ERR_OK) {
        rc = resolve_actions(r, cfg, err);
    }
    if (rc == ERR_OK) {
        rc = etl_typespec_parse(cur_from_str("date"), &r->date_type, err);
    }
    if (rc == ERR_OK) {
        rc = etl_typespec_parse(cur_from_str("timestamp"), &r->timestamp_type, err);
    }
    if (rc != ERR_OK) {
        etl_dq_free(r);
        return rc;
    }
    *out = r;
    return ERR_OK;
}

void etl_dq_free(struct etl_dq_rules *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n_leaves; i++) {
        struct etl_dq_leaf *leaf = &r->leaves[i];
        free(leaf->cols);
        etl_expr_free(leaf->where);
        etl_regex_free(leaf->regex);
        free(leaf->regex);
        etl_typespec_free(leaf->cast);
        free(leaf->cond.ops);
        free(leaf->threshold.ops);
        free(leaf->metric_name);
    }
    for (size_t i = 0; i < r->n_cols; i++) {
        free(r->cols[i].path.segs);
        free((char *)r->cols[i].name);
    }
    etl_typespec_free(r->date_type);
    etl_typespec_free(r->timestamp_type);
    free(r->info);
    free(r->roots);
    free(r->leaves);
    free(r->nodes);
    free(r->cols);
    etl_dqdl_free(r->rs);
    free(r);
}

size_t etl_dq_rule_count(const struct etl_dq_rules *r)
{
    return r->n;
}

const struct etl_dq_rule_info *etl_dq_rule(const struct etl_dq_rules *r, size_t i)
{
    return i < r->n ? &r->info[i] : NULL;
}

size_t etl_dq_column_count(const struct etl_dq_rules *r)
{
    return r->n_cols;
}

const char *etl_dq_column_name(const struct etl_dq_rules *r, size_t i)
{
    return i < r->n_cols ? r->cols[i].name : NULL;
}
