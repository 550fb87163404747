/*
 * test_spec.c - ETL_TRANSFORM's validation: a good spec parses into its plan; every mistake is
 * ERR_CONFIG naming the JSON path and what was expected (an expression's error names its column).
 */
#include <string.h>

#include "etl_spec.h"
#include "test_util.h"

struct bad_row {
    const char *name;
    const char *spec;
    const char *msg_part;
};

#define DS(body) "{\"version\":1,\"datasets\":[{\"name\":\"users\"," body "}]}"

static const struct bad_row bad_rows[] = {
    {"not_json", "{\"version\":1,", "ETL_TRANSFORM is not valid JSON"},
    {"not_object", "[1]", "expected a JSON object"},
    {"no_version", "{\"datasets\":[{\"name\":\"a\"}]}", "\"version\" is required"},
    {"version_2", "{\"version\":2,\"datasets\":[{\"name\":\"a\"}]}",
     "version: expected an integer from 1 to 1, got 2"},
    {"unknown_top", "{\"version\":1,\"datasetz\":[]}",
     "unknown member \"datasetz\" (expected one of version, pii_key, datasets)"},
    {"no_datasets", "{\"version\":1}", "\"datasets\" must be an array of 1 to 64 datasets"},
    {"empty_datasets", "{\"version\":1,\"datasets\":[]}", "\"datasets\" must be an array"},
    {"dataset_not_object", "{\"version\":1,\"datasets\":[3]}",
     "datasets[0]: expected a dataset object"},
    {"no_name", "{\"version\":1,\"datasets\":[{\"when\":\"true\"}]}",
     "datasets[0]: a dataset needs a name"},
    {"bad_name", "{\"version\":1,\"datasets\":[{\"name\":\"_x\"}]}",
     "datasets[0].name: \"_x\": 1 to 200 letters"},
    {"dup_name", "{\"version\":1,\"datasets\":[{\"name\":\"a\"},{\"name\":\"a\"}]}",
     "datasets[1]: dataset name \"a\" is also datasets[0]'s"},
    {"unknown_member", DS("\"mapings\":[]"),
     "datasets[0]: unknown member \"mapings\" (expected one of name, when, mappings"},
    {"mapping_short", DS("\"mappings\":[[\"a\",\"string\",\"b\"]]"),
     "datasets[0].mappings[0]: expected [source, source_type, target, target_type]"},
    {"mapping_type",
     DS("\"mappings\":[[\"a\",\"string\",\"a\",\"string\"],[\"b\",\"string\",\"b\",\"string\"],[\"c\",\"string\",\"c\",\"int64\"]]"),
     "datasets[0].mappings[2][3]: unknown type \"int64\" (expected one of string, bigint"},
    {"mapping_source_type", DS("\"mappings\":[[\"a\",\"strin\",\"b\",\"string\"]]"),
     "datasets[0].mappings[0][1]: unknown type"},
    {"mapping_meta_target", DS("\"mappings\":[[\"a\",\"string\",\"_op\",\"string\"]]"),
     "datasets[0].mappings[0][2]: \"_op\" is a metadata column's name"},
    {"mapping_dup_target",
     DS("\"mappings\":[[\"a\",\"string\",\"x\",\"string\"],[\"b\",\"string\",\"x\",\"string\"]]"),
     "datasets[0].mappings[1]: target \"x\" is also the target of mappings[0]"},
    {"mapping_bad_path", DS("\"mappings\":[[\"a..b\",\"string\",\"x\",\"string\"]]"),
     "datasets[0].mappings[0][0]: column 3"},
    {"mapping_policy", DS("\"mappings\":[[\"a\",\"string\",\"x\",\"int\",\"drop\"]]"),
     "datasets[0].mappings[0][4]: expected \"null\", \"keep\" or \"reject\""},
    {"mapping_object_missing", DS("\"mappings\":[{\"source\":\"a\",\"type\":\"int\"}]"),
     "datasets[0].mappings[0]: a mapping needs source, target and type"},
    {"filter_syntax", DS("\"filter\":\"_op = = 'INSERT'\""), "datasets[0].filter: column 7"},
    {"when_not_string", DS("\"when\":true"), "datasets[0].when: expected a string, got boolean"},
    {"derive_no_expr", DS("\"derive\":[{\"name\":\"d\"}]"),
     "datasets[0].derive[0]: a derived column needs an expr"},
    {"derive_bad_expr", DS("\"derive\":[{\"name\":\"d\",\"expr\":\"lower(\"}]"),
     "datasets[0].derive[0].expr: column"},
    {"flatten_zero", DS("\"flatten\":0"), "datasets[0].flatten: expected an integer from 1 to 32"},
    {"flatten_empty_sep", DS("\"flatten\":{\"depth\":2,\"separator\":\"\"}"),
     "datasets[0].flatten.separator: the separator cannot be empty"},
    {"rename_not_object", DS("\"rename\":[\"a\"]"), "datasets[0].rename: expected an object"},
    {"select_not_array", DS("\"select\":\"a\""),
     "datasets[0].select: expected an array of column names"},
    {"constant_object", DS("\"constants\":{\"c\":{\"x\":1}}"),
     "a constant is a string, number, boolean or null"},
    {"pii_no_key", DS("\"pii\":[{\"column\":\"email\",\"method\":\"hmac_sha256\"}]"),
     "hmac_sha256 needs \"pii_key\""},
    {"pii_method", DS("\"pii\":[{\"column\":\"email\",\"method\":\"md5\"}]"),
     "datasets[0].pii[0].method: expected \"hmac_sha256\", \"redact\" or \"truncate\""},
    {"pii_keep_on_redact", DS("\"pii\":[{\"column\":\"e\",\"method\":\"redact\",\"keep\":2}]"),
     "datasets[0].pii[0].keep: only truncate takes keep"},
    {"dedupe_empty_key", DS("\"dedupe\":{\"key\":[]}"),
     "datasets[0].dedupe.key: name at least one column"},
    {"rule_action", DS("\"rule_actions\":{\"Rule_1\":\"ignore\"}"),
     "datasets[0].rule_actions.Rule_1: expected \"warn\", \"quarantine\" or \"fail\""},
    /* Rulesets: the position is the rule text's own line and column. */
    {"rules_unsupported_type",
     DS("\"rules\":\"Rules = [\\n  IsComplete \\\"a\\\",\\n  CustomSql \\\"select 1\\\" > 0 ]\""),
     "datasets[0].rules: dqdl: line 3, column 3: CustomSql is not supported (supported: "},
    {"rules_unknown_type", DS("\"rules\":\"Rules = [ IsCompleted \\\"a\\\" ]\""),
     "datasets[0].rules: dqdl: line 1, column 11: "},
    {"rules_malformed_between", DS("\"rules\":\"Rules = [ ColumnValues \\\"a\\\" between 1 ]\""),
     "datasets[0].rules: dqdl: line 1, column 38: expected 'and' between the bounds of 'between'"},
    {"rules_empty", DS("\"rules\":\"Rules = [ ]\""), "datasets[0].rules: dqdl: line 1"},
    {"rules_bad_where", DS("\"rules\":\"Rules = [ IsComplete \\\"a\\\" where \\\"b = \\\" ]\""),
     "datasets[0].rules: dqdl: line 1, column "},
    {"rule_action_unknown_rule",
     DS("\"rules\":\"Rules = [ IsComplete \\\"a\\\" ]\",\"rule_actions\":{\"Rule_2\":\"fail\"}"),
     "datasets[0].rule_actions: dq: an action is given for \"Rule_2\", which is no rule"},
    {"key_both",
     "{\"version\":1,\"pii_key\":{\"env\":\"A\",\"secret_arn\":\"arn:x\"},"
     "\"datasets\":[{\"name\":\"a\"}]}",
     "pii_key: expected {\"env\": \"VARIABLE\"}, {\"secret_arn\": \"arn:...\"} or "},
    {"key_not_arn",
     "{\"version\":1,\"pii_key\":{\"secret_arn\":\"mykey\"},"
     "\"datasets\":[{\"name\":\"a\"}]}",
     "pii_key.secret_arn: expected a Secrets Manager ARN"},
};

static void test_bad_row(void **state)
{
    const struct bad_row *row = *state;
    struct etl_spec *spec = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_spec_parse(cur_from_str(row->spec), &spec, &err), ERR_CONFIG);
    assert_null(spec);
    if (strstr(err.msg, row->msg_part) == NULL) {
        fail_msg("\"%s\" lacks \"%s\"", err.msg, row->msg_part);
    }
}

static void test_full_spec(void **state)
{
    (void)state;
    const char *text =
        "{\"version\": 1, \"pii_key\": {\"env\": \"PII_KEY\"},"
        " \"datasets\": ["
        "  {\"name\": \"users\", \"when\": \"starts_with(pk, 'USER#')\","
        "   \"mappings\": [[\"pk\", \"string\", \"user_id\", \"string\"],"
        "                  [\"profile.age\", \"string\", \"age\", \"int\", \"reject\"],"
        "                  {\"source\": \"balance\", \"target\": \"balance\", \"type\": \"decimal(38,2)\"}],"
        "   \"keep_unmapped\": true, \"on_cast_error\": \"keep\","
        "   \"flatten\": {\"depth\": 2, \"separator\": \"__\"},"
        "   \"rename\": {\"email\": \"email_address\"}, \"drop\": [\"_event_id\"],"
        "   \"constants\": {\"source\": \"crm\", \"schema_version\": 12345678901234567890123},"
        "   \"derive\": [{\"name\": \"domain\", \"expr\": \"split_part(email_address, '@', 2)\"}],"
        "   \"filter\": \"_op <> 'REMOVE'\", \"dedupe\": true,"
        "   \"pii\": [{\"column\": \"email_address\", \"method\": \"hmac_sha256\"},"
        "           {\"column\": \"phone\", \"method\": \"truncate\", \"keep\": 4}],"
        "   \"rules\": \"Rules = [ IsComplete \\\"user_id\\\" ]\","
        "   \"rule_actions\": {\"Rule_1\": \"fail\"}},"
        "  {\"name\": \"orders\", \"when\": \"starts_with(pk, 'ORDER#')\","
        "   \"dedupe\": {\"key\": [\"pk\", \"sk\"]}},"
        "  {\"name\": \"other\"}]}";
    struct etl_spec *spec = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_spec_parse(cur_from_str(text), &spec, &err), ERR_OK);
    assert_int_equal(spec->n_datasets, 3);
    assert_int_equal(spec->key_source, ETL_PII_KEY_ENV);
    assert_string_equal(spec->key_ref, "PII_KEY");
    assert_true(etl_spec_needs_key(spec));
    const struct etl_spec_dataset *u = &spec->datasets[0];
    assert_string_equal(u->name, "users");
    assert_non_null(u->when);
    assert_int_equal(u->n_mappings, 3);
    assert_string_equal(u->mappings[1].source_text, "profile.age");
    assert_int_equal(u->mappings[1].source.n, 2);
    assert_string_equal(u->mappings[1].target.json, "\"age\"");
    assert_int_equal(u->mappings[1].type->kind, ETL_TK_INT);
    assert_int_equal(u->mappings[1].on_error, ETL_CAST_REJECT);
    assert_int_equal(u->mappings[2].on_error, ETL_CAST_KEEP); /* the dataset's default */
    assert_int_equal(u->mappings[2].type->precision, 38);
    assert_null(u->mappings[2].source_type);
    assert_true(u->keep_unmapped);
    assert_int_equal(u->flatten_depth, 2);
    assert_string_equal(u->flatten_sep, "__");
    assert_string_equal(u->renames[0].to.text, "email_address");
    assert_string_equal(u->drop[0], "_event_id");
    /* Constants keep their digits: no double in between. */
    assert_string_equal(u->constants[1].value_json, "12345678901234567890123");
    assert_int_equal(u->n_derive, 1);
    assert_true(u->dedupe);
    assert_int_equal(u->n_dedupe_keys, 0);
    assert_int_equal(u->pii[1].method, ETL_PII_TRUNCATE);
    assert_int_equal(u->pii[1].keep, 4);
    assert_false(u->pii[1].keep_start);
    assert_string_equal(u->rules, "Rules = [ IsComplete \"user_id\" ]");
    assert_int_equal(u->rule_actions[0].action, ETL_RULE_FAIL);
    assert_int_equal(spec->datasets[1].n_dedupe_keys, 2);
    assert_true(spec->datasets[2].keep_unmapped); /* no mappings: every column */
    assert_null(spec->datasets[2].when);
    etl_spec_free(spec);
}

int main(void)
{
    enum { N = sizeof(bad_rows) / sizeof(bad_rows[0]) };
    struct CMUnitTest tests[N + 1];
    for (size_t i = 0; i < N; i++) {
        tests[i] =
            (struct CMUnitTest){bad_rows[i].name, test_bad_row, NULL, NULL, (void *)&bad_rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_full_spec);
    return _cmocka_run_group_tests("spec", tests, N + 1, NULL, NULL);
}
