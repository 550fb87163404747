/*
 * test_dqdl.c - the DQDL parser: every supported rule type and condition form as a compact dump
 * of the tree, composites and their precedence, numbers and dates as written, variables, labels
 * and tags, the exact source text and names of rules, and errors with their line and column
 * (unknown and unsupported rule types, Glue's listener checks, malformed rulesets).
 */
#include <stdio.h>
#include <string.h>

#include "etl_dqdl.h"
#include "test_util.h"

struct row {
    const char *name;
    const char *text;
    enum err_code code;
    const char *expected; /* the dump on ERR_OK; a part of err.msg otherwise */
};

/* ---- a compact dump of the tree ---- */

static void dump_num(struct buf *b, const struct etl_dqdl_num *n)
{
    struct err err = ERR_INIT;
    switch (n->kind) {
    case ETL_DQDL_N_ATOM:
        assert_int_equal(buf_append_str(b, n->atom, &err), ERR_OK);
        break;
    case ETL_DQDL_N_BINARY:
        assert_int_equal(buf_append_str(b, "(", &err), ERR_OK);
        dump_num(b, n->lhs);
        assert_int_equal(buf_printf(b, &err, "%c", n->op), ERR_OK);
        dump_num(b, n->rhs);
        assert_int_equal(buf_append_str(b, ")", &err), ERR_OK);
        break;
    case ETL_DQDL_N_CALL:
        assert_int_equal(buf_printf(b, &err, "%s(", n->fn), ERR_OK);
        for (size_t i = 0; i < n->n_args; i++) {
            if (i > 0) {
                assert_int_equal(buf_append_str(b, ",", &err), ERR_OK);
            }
            dump_num(b, n->args[i]);
        }
        assert_int_equal(buf_append_str(b, ")", &err), ERR_OK);
        break;
    }
}

static const char *unit_name(enum etl_dqdl_unit u)
{
    return u == ETL_DQDL_DAYS ? "days" : u == ETL_DQDL_HOURS ? "hours" : "minutes";
}

static void dump_value(struct buf *b, const struct etl_dqdl_value *v)
{
    struct err err = ERR_INIT;
    enum err_code rc = ERR_OK;
    switch (v->kind) {
    case ETL_DQDL_V_NUMBER:
        dump_num(b, v->num);
        return;
    case ETL_DQDL_V_NULL:
        rc = buf_append_str(b, "NULL", &err);
        break;
    case ETL_DQDL_V_EMPTY:
        rc = buf_append_str(b, "EMPTY", &err);
        break;
    case ETL_DQDL_V_WHITESPACES_ONLY:
        rc = buf_append_str(b, "WS", &err);
        break;
    case ETL_DQDL_V_STRING:
        rc = buf_printf(b, &err, "'%s'", v->str);
        break;
    case ETL_DQDL_V_DATE:
        rc = buf_printf(b, &err, "date:%d", (int)v->days);
        break;
    case ETL_DQDL_V_TIME:
        rc = buf_printf(b, &err, "time:%d", (int)v->minute);
        break;
    case ETL_DQDL_V_NOW:
        rc = buf_printf(b, &err, "now%+lld%s", (long long)v->amount, unit_name(v->unit));
        break;
    case ETL_DQDL_V_DURATION:
        rc = buf_printf(b, &err, "%lld%s", (long long)v->amount, unit_name(v->unit));
        break;
    }
    assert_int_equal(rc, ERR_OK);
}

static const char *op_name(enum etl_dqdl_op op)
{
    static const char *const NAMES[] = {
        [ETL_DQDL_OP_NONE] = "",
        [ETL_DQDL_OP_BETWEEN] = "between",
        [ETL_DQDL_OP_NOT_BETWEEN] = "!between",
        [ETL_DQDL_OP_GT] = ">",
        [ETL_DQDL_OP_GE] = ">=",
        [ETL_DQDL_OP_LT] = "<",
        [ETL_DQDL_OP_LE] = "<=",
        [ETL_DQDL_OP_EQ] = "=",
        [ETL_DQDL_OP_NE] = "!=",
        [ETL_DQDL_OP_IN] = "in",
        [ETL_DQDL_OP_NOT_IN] = "!in",
        [ETL_DQDL_OP_MATCHES] = "~",
        [ETL_DQDL_OP_NOT_MATCHES] = "!~",
    };
    return NAMES[op];
}

static const char *ckind_name(enum etl_dqdl_ckind k)
{
    static const char *const NAMES[] = {"?", "num", "str", "date", "dur"};
    return NAMES[k];
}

static void dump_cond(struct buf *b, const struct etl_dqdl_cond *c)
{
    struct err err = ERR_INIT;
    assert_int_equal(buf_printf(b, &err, " %s %s[", op_name(c->op), ckind_name(c->kind)), ERR_OK);
    for (size_t i = 0; i < c->n; i++) {
        if (i > 0) {
            assert_int_equal(buf_append_str(b, " ", &err), ERR_OK);
        }
        dump_value(b, &c->values[i]);
    }
    assert_int_equal(buf_append_str(b, "]", &err), ERR_OK);
}

static void dump_rule(struct buf *b, const struct etl_dqdl_rule *r)
{
    struct err err = ERR_INIT;
    if (r->type == ETL_DQDL_COMPOSITE) {
        assert_int_equal(buf_append_str(b, "(", &err), ERR_OK);
        dump_rule(b, r->lhs);
        assert_int_equal(buf_append_str(b, r->is_or ? " or " : " and ", &err), ERR_OK);
        dump_rule(b, r->rhs);
        assert_int_equal(buf_append_str(b, ")", &err), ERR_OK);
        return;
    }
    assert_int_equal(buf_printf(b, &err, "%s(", etl_dqdl_rtype_name(r->type)), ERR_OK);
    for (size_t i = 0; i < r->n_params; i++) {
        assert_int_equal(buf_printf(b, &err, "%s%s", i > 0 ? "," : "", r->params[i]), ERR_OK);
    }
    assert_int_equal(buf_append_str(b, ")", &err), ERR_OK);
    if (r->cond.op != ETL_DQDL_OP_NONE) {
        dump_cond(b, &r->cond);
    }
    if (r->where != NULL) {
        assert_int_equal(buf_printf(b, &err, " where{%s}", r->where), ERR_OK);
    }
    if (r->threshold.op != ETL_DQDL_OP_NONE) {
        assert_int_equal(buf_append_str(b, " threshold", &err), ERR_OK);
        dump_cond(b, &r->threshold);
    }
    if (r->action != ETL_DQDL_ACTION_DEFAULT) {
        assert_int_equal(buf_printf(b, &err, " action=%s", etl_dqdl_action_name(r->action)),
                         ERR_OK);
    }
    for (size_t i = 0; i < r->n_labels; i++) {
        assert_int_equal(buf_printf(b, &err, " %s=%s", r->labels[i].key, r->labels[i].value),
                         ERR_OK);
    }
}

static void dump(struct buf *b, const struct etl_dqdl_ruleset *rs)
{
    struct err err = ERR_INIT;
    for (size_t i = 0; i < rs->n; i++) {
        if (i > 0) {
            assert_int_equal(buf_append_str(b, "; ", &err), ERR_OK);
        }
        dump_rule(b, rs->rules[i]);
    }
}

/* ---- rows ---- */

static const struct row rows[] = {
    /* documents */
    {"two_rules", "Rules = [ IsComplete \"order-id\", IsUnique \"order-id\" ]", ERR_OK,
     "IsComplete(order-id); IsUnique(order-id)"},
    {"no_spaces", "Rules=[RowCount>0,ColumnCount>=3]", ERR_OK,
     "RowCount() > num[0]; "
     "ColumnCount() >= num[3]"},
    {"comments_crlf",
     "# a ruleset\r\nRules = [\r\n  RowCount > 0, # at least one\r\n"
     "  IsComplete \"id\"\r\n]\r\n# the end",
     ERR_OK, "RowCount() > num[0]; IsComplete(id)"},
    {"metadata_sources",
     "Metadata = { \"Version\": \"1.0\" }\nDataSources = { \"Primary\": \"orders\", "
     "\"AdditionalDataSources\": [\"ref\"] }\nRules = [ RowCount > 0 ]",
     ERR_OK, "RowCount() > num[0]"},
    {"default_labels",
     "DefaultLabels = [\"team\" = \"data\", \"tier\" = \"1\"]\nRules = [ RowCount > 0, IsComplete "
     "\"a\" labels = [\"tier\" = \"2\", \"x\" = \"y\"] ]",
     ERR_OK, "RowCount() > num[0] team=data tier=1; IsComplete(a) team=data tier=2 x=y"},
    {"variables",
     "allowed = [\"A\", \"B\", NULL]\ncol = \"status\"\nRules = [ ColumnValues $col in $allowed, "
     "ColumnValues \"s\" = $col ]",
     ERR_OK, "ColumnValues(status) in str['A' 'B' NULL]; ColumnValues(s) = str['status']"},
    /* every rule type */
    {"row_count_where", "Rules = [ RowCount between 10 and 100 where \"region = 'eu'\" ]", ERR_OK,
     "RowCount() between num[10 100] where{region = 'eu'}"},
    {"completeness", "Rules = [ Completeness \"phone\" >= 0.8 ]", ERR_OK,
     "Completeness(phone) >= num[0.8]"},
    {"column_data_type",
     "Rules = [ ColumnDataType \"price\" = \"DECIMAL(10,2)\" with threshold > 0.9 ]", ERR_OK,
     "ColumnDataType(price) = str['DECIMAL(10,2)'] threshold > num[0.9]"},
    {"column_exists", "Rules = [ ColumnExists \"email\" ]", ERR_OK, "ColumnExists(email)"},
    {"uniqueness_multi", "Rules = [ Uniqueness \"a\" and \"b\" > 0.99 ]", ERR_OK,
     "Uniqueness(a,b) > num[0.99]"},
    {"is_primary_key", "Rules = [ IsPrimaryKey \"pk\" \"sk\" ]", ERR_OK, "IsPrimaryKey(pk,sk)"},
    {"stats",
     "Rules = [ Mean \"x\" between -5.5 and -1, Sum \"x\" < 1e3, StandardDeviation \"x\" "
     "<= 2.5 ]",
     ERR_INVALID_INPUT,
     "line 1, column 51: expected a number, a quoted string, NULL, EMPTY, WHITESPACES_ONLY, a date or a duration, found '1e3'"},
    {"stats_ok",
     "Rules = [ Mean \"x\" between -5.5 and -1, Sum \"x\" < 1000, StandardDeviation "
     "\"x\" <= 2.5, DistinctValuesCount \"x\" = 3 ]",
     ERR_OK,
     "Mean(x) between num[-5.5 -1]; Sum(x) < num[1000]; StandardDeviation(x) <= "
     "num[2.5]; DistinctValuesCount(x) = num[3]"},
    {"column_length", "Rules = [ ColumnLength \"zip\" = 5, ColumnLength \"n\" in [0, 2] ]", ERR_OK,
     "ColumnLength(zip) = num[5]; ColumnLength(n) in num[0 2]"},
    {"freshness",
     "Rules = [ DataFreshness \"ts\" <= 24 hours, DataFreshness \"ts\" between 90 "
     "minutes and 3 days ]",
     ERR_OK, "DataFreshness(ts) <= dur[24hours]; DataFreshness(ts) between dur[90minutes 3days]"},
    {"schema_match", "Rules = [ SchemaMatch \"reference\" = 1.0 ]", ERR_OK,
     "SchemaMatch(reference) = num[1.0]"},
    {"detect_anomalies",
     "Rules = [ DetectAnomalies \"RowCount\", DetectAnomalies "
     "\"Completeness\" \"email\", DetectAnomalies \"Uniqueness\" \"a\" \"b\" ]",
     ERR_OK,
     "DetectAnomalies(RowCount); DetectAnomalies(Completeness,email); "
     "DetectAnomalies(Uniqueness,a,b)"},
    /* ColumnValues forms */
    {"cv_in_keywords",
     "Rules = [ ColumnValues \"Country\" in [ \"US\", \"CA\", NULL, EMPTY, WHITESPACES_ONLY ] ]",
     ERR_OK, "ColumnValues(Country) in str['US' 'CA' NULL EMPTY WS]"},
    {"cv_lowercase_keywords",
     "Rules = [ ColumnValues \"c\" not in [ null, empty, "
     "whitespaces_only ] ]",
     ERR_OK, "ColumnValues(c) !in str[NULL EMPTY WS]"},
    {"cv_numbers",
     "Rules = [ ColumnValues \"n\" in [1, 2.5, -3], ColumnValues \"n\" not between "
     "0 and 10, ColumnValues \"n\" ! = 4 ]",
     ERR_OK,
     "ColumnValues(n) in num[1 2.5 -3]; ColumnValues(n) !between num[0 10]; "
     "ColumnValues(n) != num[4]"},
    {"cv_38_digits", "Rules = [ ColumnValues \"n\" <= 12345678901234567890123456789012345678 ]",
     ERR_OK, "ColumnValues(n) <= num[12345678901234567890123456789012345678]"},
    {"cv_matches",
     "Rules = [ ColumnValues \"n\" matches \"[A-Z]\\d+\", ColumnValues \"n\" not "
     "matches \"2024-01-01\" ]",
     ERR_OK, "ColumnValues(n) ~ str['[A-Z]d+']; ColumnValues(n) !~ str['2024-01-01']"},
    {"cv_null", "Rules = [ ColumnValues \"a\" = NULL, ColumnValues \"a\" != NULL ]", ERR_OK,
     "ColumnValues(a) = num[NULL]; ColumnValues(a) != num[NULL]"},
    {"cv_dates",
     "Rules = [ ColumnValues \"d\" > (now() - 3 days), ColumnValues \"d\" between "
     "\"2024-01-01\" and now(), ColumnValues \"d\" < (now() + 12 hours) ]",
     ERR_OK,
     "ColumnValues(d) > date[now-3days]; ColumnValues(d) between date[date:19723 "
     "now+0minutes]; ColumnValues(d) < date[now+12hours]"},
    {"cv_date_list", "Rules = [ ColumnValues \"d\" in [\"2024-02-29\", \"1970-01-01\"] ]", ERR_OK,
     "ColumnValues(d) in date[date:19782 date:0]"},
    {"cv_date_edges",
     "Rules = [ ColumnValues \"d\" in [\"2000-02-29\", \"0000-03-01\", \"9999-12-31\", "
     "\"1969-12-31\"] ]",
     ERR_OK, "ColumnValues(d) in date[date:11016 date:-719468 date:2932896 date:-1]"},
    {"cv_date_shaped_string", "Rules = [ ColumnValues \"d\" in [\"2024-02-29\", \"other\"] ]",
     ERR_OK, "ColumnValues(d) in str[date:19782 'other']"},
    {"cv_times",
     "Rules = [ ColumnValues \"t\" > \"9:30 AM\", ColumnValues \"t\" < \"23:59\", "
     "ColumnValues \"t\" = \"12:00 AM\" with timeZone = \"UTC\" ]",
     ERR_OK,
     "ColumnValues(t) > date[time:570]; ColumnValues(t) < date[time:1439]; "
     "ColumnValues(t) = date[time:0]"},
    {"cv_threshold_action",
     "Rules = [ ColumnValues \"s\" in [\"A\"] with threshold >= 0.9 with action = \"fail\" ]",
     ERR_OK, "ColumnValues(s) in str['A'] threshold >= num[0.9] action=fail"},
    {"cv_escapes",
     "Rules = [ ColumnValues \"s\" = \"say \\\"hi\\\"\" where \"\\\"Order Id\\\" > "
     "5\" ]",
     ERR_OK, "ColumnValues(s) = str['say \"hi\"'] where{\"Order Id\" > 5}"},
    {"identifier_param", "Rules = [ IsComplete col.with.dots ]", ERR_OK,
     "IsComplete(col.with.dots)"},
    /* numbers: one precedence, left to right */
    {"arithmetic", "Rules = [ RowCount > 1 + 2 * 3, RowCount < (10 - 4) / 2 ]", ERR_OK,
     "RowCount() > num[((1+2)*3)]; RowCount() < num[((10-4)/2)]"},
    {"negative_space", "Rules = [ Sum \"x\" > - 7 ]", ERR_OK, "Sum(x) > num[-7]"},
    /* composites */
    {"composite_and", "Rules = [ (IsComplete \"id\") and (IsUnique \"id\") ]", ERR_OK,
     "(IsComplete(id) and IsUnique(id))"},
    {"composite_or_and", "Rules = [ (RowCount > 0) or (IsComplete \"a\") and (IsUnique \"a\") ]",
     ERR_OK, "(RowCount() > num[0] or (IsComplete(a) and IsUnique(a)))"},
    {"composite_and_or", "Rules = [ (RowCount > 0) AND (IsComplete \"a\") OR (IsUnique \"a\") ]",
     ERR_OK, "((RowCount() > num[0] and IsComplete(a)) or IsUnique(a))"},
    {"composite_nested",
     "Rules = [ (Mean \"s\" > 3) and ((Mean \"t\" > 500) or (IsComplete "
     "\"o\")) ]",
     ERR_OK, "(Mean(s) > num[3] and (Mean(t) > num[500] or IsComplete(o)))"},
    {"composite_bare", "Rules = [ RowCount > 0 and (IsComplete \"a\") ]", ERR_OK,
     "(RowCount() > num[0] and IsComplete(a))"},
    {"composite_labels",
     "Rules = [ ((IsComplete \"a\") and (IsUnique \"a\")) labels = [\"k\" = "
     "\"v\"] ]",
     ERR_OK, "(IsComplete(a) and IsUnique(a))"},
    /* errors: the document */
    {"empty_rules", "Rules = [ ]", ERR_INVALID_INPUT,
     "dqdl: line 1, column 1: No rules or analyzers provided."},
    {"no_rules_section", "RowCount > 0", ERR_INVALID_INPUT,
     "line 1, column 1: expected 'Rules' (the ruleset must have Rules = [ ... ]), found 'RowCount'"},
    {"missing_bracket", "Rules = [ IsComplete \"a\"", ERR_INVALID_INPUT,
     "line 1, column 25: expected ',' or ']' after a rule"},
    {"trailing", "Rules = [ RowCount > 0 ] x", ERR_INVALID_INPUT,
     "line 1, column 26: expected the end of the ruleset after Rules = [ ... ], found 'x'"},
    {"unterminated", "Rules = [ IsComplete \"a ]", ERR_INVALID_INPUT,
     "line 1, column 22: unterminated string"},
    {"bad_char", "Rules = [ RowCount > 0 ; ]", ERR_INVALID_INPUT,
     "line 1, column 24: unexpected character ';'"},
    {"analyzers", "Rules = [ RowCount > 0 ] Analyzers = [ RowCount ]", ERR_INVALID_INPUT,
     "line 1, column 26: an Analyzers section is not supported"},
    {"metadata_key", "Metadata = { \"Owner\": \"me\" } Rules = [ RowCount > 0 ]", ERR_INVALID_INPUT,
     "line 1, column 14: Unsupported key provided in Metadata section"},
    {"nul_byte", "Rules = [ RowCount > 0 ]\0", ERR_INVALID_INPUT, "NUL"},
    {"empty_text", "", ERR_INVALID_INPUT,
     "dqdl: line 1, column 1: expected 'Rules' (the ruleset must have Rules = [ ... ]), found the "
     "end of the ruleset"},
    {"comment_only", "# nothing", ERR_INVALID_INPUT, "line 1, column 10: expected 'Rules'"},
    {"position_utf8", "Rules = [\n  RowCount > 0,\n  # é\n  IsComplete \"é\" \"x\" > 3\n]",
     ERR_INVALID_INPUT,
     "line 4, column 3: Unexpected number of parameters: IsComplete takes 1, "
     "found 2"},
    {"position_utf8_column", "Rules = [ ColumnValues \"é\" > \"x\" ]", ERR_INVALID_INPUT,
     "line 1, column 28: strings take"},
    /* errors: rule types */
    {"unknown_type", "Rules = [ Foo \"a\" ]", ERR_INVALID_INPUT,
     "line 1, column 11: unknown rule type Foo (supported: IsComplete, ColumnValues"},
    {"unsupported_type", "Rules = [ CustomSql \"select count(*) from primary\" > 0 ]",
     ERR_INVALID_INPUT,
     "line 1, column 11: CustomSql is not supported (supported: "
     "IsComplete, ColumnValues, Completeness, RowCount,"},
    {"unsupported_in_composite", "Rules = [ (RowCount > 0) and (Entropy \"a\" > 1) ]",
     ERR_INVALID_INPUT, "line 1, column 31: Entropy is not supported"},
    {"case_sensitive_type", "Rules = [ iscomplete \"a\" ]", ERR_INVALID_INPUT,
     "unknown rule type iscomplete"},
    /* errors: Glue's listener checks */
    {"params_count", "Rules = [ IsComplete \"a\" \"b\" ]", ERR_INVALID_INPUT,
     "line 1, column 11: Unexpected number of parameters: IsComplete takes 1, found 2"},
    {"composite_needs_parens", "Rules = [ IsComplete \"a\" and IsComplete \"b\" ]",
     ERR_INVALID_INPUT, "found 3 (put each rule of a composite in parentheses)"},
    {"var_args_none", "Rules = [ IsUnique ]", ERR_INVALID_INPUT,
     "IsUnique takes at least 1, found 0"},
    {"boolean_condition", "Rules = [ IsComplete \"a\" > 0 ]", ERR_INVALID_INPUT,
     "line 1, column 26: Unexpected condition for rule of type IsComplete with boolean return type"},
    {"missing_condition", "Rules = [ RowCount ]", ERR_INVALID_INPUT,
     "line 1, column 19: RowCount needs a condition (such as > 0)"},
    {"where_unsupported", "Rules = [ ColumnCount > 1 where \"a > 1\" ]", ERR_INVALID_INPUT,
     "line 1, column 33: Where clause is not supported for rule type: ColumnCount"},
    {"where_empty", "Rules = [ IsComplete \"a\" where \" \" ]", ERR_INVALID_INPUT,
     "Empty where condition provided for rule type: IsComplete"},
    {"threshold_unsupported", "Rules = [ Completeness \"a\" > 0.5 with threshold > 0.9 ]",
     ERR_INVALID_INPUT,
     "line 1, column 49: Threshold condition not supported for rule type: "
     "Completeness"},
    {"threshold_column_length", "Rules = [ ColumnLength \"a\" < 5 with threshold > 0.9 ]",
     ERR_INVALID_INPUT, "Threshold condition not supported for rule type: ColumnLength"},
    {"two_thresholds",
     "Rules = [ ColumnValues \"a\" > 1 with threshold > 0.5 with threshold > "
     "0.6 ]",
     ERR_INVALID_INPUT, "Only one threshold condition at a time is supported."},
    {"threshold_string", "Rules = [ ColumnValues \"a\" > 1 with threshold = \"x\" ]",
     ERR_INVALID_INPUT, "threshold takes a number condition, found a string condition"},
    {"unknown_tag", "Rules = [ RowCount > 0 with owner = \"me\" ]", ERR_INVALID_INPUT,
     "line 1, column 29: tag \"owner\" is not supported (supported: threshold, action, timeZone)"},
    {"tag_not_equals", "Rules = [ RowCount > 0 with action > 1 ]", ERR_INVALID_INPUT,
     "expected '=' after the tag name"},
    {"bad_action", "Rules = [ RowCount > 0 with action = \"drop\" ]", ERR_INVALID_INPUT,
     "action \"drop\" is not one of warn, quarantine, fail"},
    {"quarantine_dataset_rule", "Rules = [ RowCount > 0 with action = \"quarantine\" ]",
     ERR_INVALID_INPUT, "RowCount is a dataset-level rule: it cannot quarantine rows"},
    {"time_zone", "Rules = [ ColumnValues \"t\" > \"9:00 AM\" with timeZone = \"Europe/Paris\" ]",
     ERR_INVALID_INPUT, "timeZone \"Europe/Paris\" is not supported (only \"UTC\")"},
    /* errors: operands */
    {"dynamic_rule", "Rules = [ RowCount > avg(last(10)) ]", ERR_INVALID_INPUT,
     "line 1, column 22: dynamic rules (functions such as avg(last(10))) are not supported"},
    {"cv_arithmetic", "Rules = [ ColumnValues \"a\" > 1 + 1 ]", ERR_INVALID_INPUT,
     "ColumnValues only supports literal numbers in conditions"},
    {"cv_null_bound", "Rules = [ ColumnValues \"a\" between NULL and 5 ]", ERR_INVALID_INPUT,
     "line 1, column 36: NULL is not a bound here"},
    {"null_dataset", "Rules = [ RowCount = NULL ]", ERR_INVALID_INPUT, "NULL is not a bound"},
    {"mixed_kinds", "Rules = [ ColumnValues \"a\" in [1, \"x\"] ]", ERR_INVALID_INPUT,
     "line 1, column 35: a condition cannot mix kinds of operands"},
    {"string_range", "Rules = [ ColumnValues \"a\" > \"x\" ]", ERR_INVALID_INPUT,
     "strings take =, !=, in, not in, matches or not matches"},
    {"invalid_date", "Rules = [ ColumnValues \"d\" > \"2023-02-29\" ]", ERR_INVALID_INPUT,
     "line 1, column 30: 2023-02-29 is not a valid date"},
    {"invalid_date_century", "Rules = [ ColumnValues \"d\" > \"1900-02-29\" ]", ERR_INVALID_INPUT,
     "line 1, column 30: 1900-02-29 is not a valid date"},
    {"invalid_date_april_31", "Rules = [ ColumnValues \"d\" > \"2024-04-31\" ]", ERR_INVALID_INPUT,
     "line 1, column 30: 2024-04-31 is not a valid date"},
    {"invalid_date_month_13", "Rules = [ ColumnValues \"d\" > \"2024-13-01\" ]", ERR_INVALID_INPUT,
     "line 1, column 30: 2024-13-01 is not a valid date"},
    {"invalid_date_month_0", "Rules = [ ColumnValues \"d\" > \"2024-00-10\" ]", ERR_INVALID_INPUT,
     "line 1, column 30: 2024-00-10 is not a valid date"},
    {"invalid_date_day_0", "Rules = [ ColumnValues \"d\" > \"2024-01-00\" ]", ERR_INVALID_INPUT,
     "line 1, column 30: 2024-01-00 is not a valid date"},
    {"invalid_time", "Rules = [ ColumnValues \"d\" > \"13:00 PM\" ]", ERR_INVALID_INPUT,
     "13:00 PM is not a valid time"},
    {"undeclared_var", "Rules = [ ColumnValues \"a\" in $nope ]", ERR_INVALID_INPUT,
     "line 1, column 31: variable $nope is not declared"},
    {"var_list_scalar", "l = [\"a\"] Rules = [ ColumnValues \"a\" = $l ]", ERR_INVALID_INPUT,
     "$l is a list; only 'in' and 'not in' take one"},
    {"var_underscore", "_x = \"a\" Rules = [ RowCount > 0 ]", ERR_INVALID_INPUT,
     "Variable name '_x' cannot start with '.' or '_'"},
    {"var_twice", "x = \"a\" x = \"b\" Rules = [ RowCount > 0 ]", ERR_INVALID_INPUT,
     "Variable 'x' is already defined"},
    {"data_type_name", "Rules = [ ColumnDataType \"a\" = \"Int64\" ]", ERR_INVALID_INPUT,
     "Unrecognized data type: Int64"},
    {"data_type_in", "Rules = [ ColumnDataType \"a\" in [\"Long\"] ]", ERR_INVALID_INPUT,
     "ColumnDataType only supports = or != with one quoted type name"},
    {"freshness_number", "Rules = [ DataFreshness \"t\" > 5 ]", ERR_INVALID_INPUT,
     "DataFreshness takes a duration condition, found a number condition"},
    {"anomaly_metric", "Rules = [ DetectAnomalies \"Entropy\" \"a\" ]", ERR_INVALID_INPUT,
     "DetectAnomalies watches one of RowCount"},
    {"anomaly_columns", "Rules = [ DetectAnomalies \"RowCount\" \"a\" ]", ERR_INVALID_INPUT,
     "found \"RowCount\" with 1 column(s)"},
    {"duration_size", "Rules = [ DataFreshness \"t\" < 3000000000 hours ]", ERR_INVALID_INPUT,
     "duration 3000000000 is too large"},
    {"now_without_sign", "Rules = [ ColumnValues \"d\" > (now() 3 days) ]", ERR_INVALID_INPUT,
     "expected '+' or '-' after now(), found '3'"},
    {"empty_column", "Rules = [ IsComplete \"\" ]", ERR_INVALID_INPUT, "a column name is empty"},
    {"not_alone", "Rules = [ ColumnValues \"a\" not 5 ]", ERR_INVALID_INPUT,
     "expected 'between', 'in' or 'matches' after 'not', found '5'"},
};

static void test_row(void **state)
{
    const struct row *row = *state;
    size_t len = strlen(row->text);
    if (strcmp(row->name, "nul_byte") == 0) {
        len++;
    }
    struct etl_dqdl_ruleset *rs = NULL;
    struct err err = ERR_INIT;
    enum err_code rc = etl_dqdl_parse(cur_make(row->text, len), &rs, &err);
    if (rc != row->code) {
        fail_msg("%s: rc %d (%s)", row->name, rc, err.msg);
    }
    if (rc != ERR_OK) {
        assert_null(rs);
        if (strstr(err.msg, row->expected) == NULL) {
            fail_msg("%s: message \"%s\" lacks \"%s\"", row->name, err.msg, row->expected);
        }
        return;
    }
    struct buf b = BUF_INIT(0);
    dump(&b, rs);
    assert_string_equal(buf_cstr(&b), row->expected);
    buf_cleanup(&b);
    etl_dqdl_free(rs);
}

/* Names are Rule_1.. in order; each rule keeps its exact text (parentheses of a top-level
 * "(rule)" excluded; a composite's from its first to its last operand). */
static void test_names_and_text(void **state)
{
    (void)state;
    const char *text = "Rules = [\n"
                       "  ColumnValues  \"s\" in [\"A\",\"B\"]   with threshold > 0.9,\n"
                       "  (IsComplete \"a\"),\n"
                       "  (RowCount > 0) or ((IsComplete \"b\") and (IsUnique \"b\"))\n"
                       "]";
    struct etl_dqdl_ruleset *rs = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_dqdl_parse(cur_from_str(text), &rs, &err), ERR_OK);
    assert_int_equal(rs->n, 3);
    const char *names[] = {"Rule_1", "Rule_2", "Rule_3"};
    const char *texts[] = {
        "ColumnValues  \"s\" in [\"A\",\"B\"]   with threshold > 0.9",
        "IsComplete \"a\"",
        "(RowCount > 0) or ((IsComplete \"b\") and (IsUnique \"b\"))",
    };
    int lines[] = {2, 3, 4}, cols[] = {3, 4, 3};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(rs->rules[i]->name, names[i]);
        assert_int_equal(rs->rules[i]->text_len, strlen(texts[i]));
        assert_memory_equal(rs->rules[i]->text, texts[i], strlen(texts[i]));
        assert_int_equal(rs->rules[i]->line, lines[i]);
        assert_int_equal(rs->rules[i]->col, cols[i]);
    }
    const struct etl_dqdl_rule *c = rs->rules[2];
    assert_int_equal(etl_dqdl_leaf_count(c), 3);
    assert_string_equal(c->lhs->name, "");
    assert_memory_equal(c->lhs->text, "RowCount > 0", c->lhs->text_len);
    assert_string_equal(c->rhs->text, "(IsComplete \"b\") and (IsUnique \"b\")");
    assert_string_equal(rs->rules[0]->cond.text, "in [\"A\",\"B\"]");
    assert_string_equal(rs->rules[0]->threshold.text, "> 0.9");
    etl_dqdl_free(rs);
    etl_dqdl_free(NULL);
}

/* The matches operand keeps its backslashes (a regex wants them); other strings lose them. */
static void test_regex_raw(void **state)
{
    (void)state;
    struct etl_dqdl_ruleset *rs = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_dqdl_parse(cur_from_str("Rules = [ ColumnValues \"a\" matches "
                                                 "\"\\d+\\.\\d{2}\" ]"),
                                    &rs, &err),
                     ERR_OK);
    assert_string_equal(rs->rules[0]->cond.values[0].raw, "\\d+\\.\\d{2}");
    assert_string_equal(rs->rules[0]->cond.values[0].str, "d+.d{2}");
    etl_dqdl_free(rs);
}

/* Parentheses nest at most 64 deep: deeper input is an error, never a crash. */
static void test_depth_limit(void **state)
{
    (void)state;
    struct buf text = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(buf_append_str(&text, "Rules = [ ", &err), ERR_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(buf_append_str(&text, "(", &err), ERR_OK);
    }
    assert_int_equal(buf_append_str(&text, "RowCount > 0", &err), ERR_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(buf_append_str(&text, ")", &err), ERR_OK);
    }
    assert_int_equal(buf_append_str(&text, " ]", &err), ERR_OK);
    struct etl_dqdl_ruleset *rs = NULL;
    assert_int_equal(etl_dqdl_parse(buf_cur(&text), &rs, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "parentheses nest deeper than 64"));
    buf_cleanup(&text);
}

/* Every prefix of a valid ruleset fails cleanly (no crash, no leak, a position). */
static void test_prefixes(void **state)
{
    (void)state;
    const char *text = "x = [\"a\"] DefaultLabels = [\"k\" = \"v\"] Rules = [ (ColumnValues \"s\" "
                       "in $x with threshold > 0.5) or (DataFreshness \"t\" < (1 + 2) hours) ]";
    struct err err = ERR_INIT;
    struct etl_dqdl_ruleset *rs = NULL;
    assert_int_equal(etl_dqdl_parse(cur_from_str(text), &rs, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "DataFreshness takes a duration condition"));
    const char *ok = "x = [\"a\"] DefaultLabels = [\"k\" = \"v\"] Rules = [ (ColumnValues \"s\" in "
                     "$x with threshold > 0.5) or (DataFreshness \"t\" < 3 hours) ]";
    size_t n = strlen(ok);
    for (size_t i = 0; i < n; i++) {
        err_clear(&err);
        assert_int_equal(etl_dqdl_parse(cur_make(ok, i), &rs, &err), ERR_INVALID_INPUT);
        assert_non_null(strstr(err.msg, "dqdl: line 1, column "));
        assert_null(rs);
    }
    assert_int_equal(etl_dqdl_parse(cur_make(ok, n), &rs, &err), ERR_OK);
    etl_dqdl_free(rs);
}

int main(void)
{
    enum { N = sizeof(rows) / sizeof(rows[0]) };
    struct CMUnitTest tests[N + 4];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){rows[i].name, test_row, NULL, NULL, (void *)&rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_names_and_text);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_regex_raw);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_depth_limit);
    tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_prefixes);
    return _cmocka_run_group_tests("dqdl", tests, N + 4, NULL, NULL);
}
