/*
 * test_stream_tx.c - the transform step of stream batches through the in-memory S3: routing to
 * datasets, filtered and unrouted records written nowhere, failed `reject` casts that go on
 * through derive, filter and dedupe, dedupe by Keys and by columns, row-level rules that
 * quarantine or warn, dataset-level results in Glue's shape, the `fail` action, the anomaly
 * history, schema drift against the latest snapshot's schema, expression errors quarantined,
 * PII on written rows only after the rules, and counters that add up to the records in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "etl_record.h"
#include "etl_schema.h"
#include "etl_spec.h"
#include "etl_stream.h"
#include "etl_test_env.h"

#define T0      1764028800LL /* 2025-11-25T00:00:00Z */
#define H00     "dt=2025-11-25/hour=00/"
#define PII_KEY "k3y"

/* DynamoDB JSON attributes, for images and keys. */
#define S(name, v) "\"" name "\":{\"S\":\"" v "\"}"
#define N(name, v) "\"" name "\":{\"N\":\"" v "\"}"
#define PK(v)      "{" S("pk", v) "}"

/* A change of table App at T0 + seq seconds (so every record is in hour 00). */
#define REC(op, seq, pk, image)                                                                    \
    {                                                                                              \
        "App", op, #seq, T0 + (seq) % 3600, PK(pk), image, false                                   \
    }
#define INSERT(seq, pk, image) REC("INSERT", seq, pk, image)

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* A stream with a transform, over a fresh lake. */
struct txrun {
    struct etl_test_env *e;
    struct etl_spec *spec;
    struct buf event;
    struct etl_event ev;
    struct etl_stream stream;
    struct buf response;
    struct etl_stream_stats st;
    struct err err;
};

static struct txrun *tx_new(const char *spec)
{
    struct txrun *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->e = ete_new(NULL);
    t->spec = ete_spec(spec);
    buf_init(&t->event, 0);
    buf_init(&t->response, 0);
    etl_stream_init(&t->stream, &t->e->cfg.stream, &t->e->sink, &t->e->fs.sys);
    assert_int_equal(etl_stream_set_transform(&t->stream, t->spec, (const uint8_t *)PII_KEY,
                                              strlen(PII_KEY), &t->err),
                     ERR_OK);
    return t;
}

/* Processes a batch of recs (the stream keeps its state between batches). */
static enum err_code tx_process(struct txrun *t, const struct ete_rec *recs, size_t n)
{
    buf_reset(&t->event);
    buf_reset(&t->response);
    err_clear(&t->err);
    ete_stream_event(recs, n, &t->event);
    ete_parse_event(&t->event, &t->ev);
    return etl_stream_process(&t->stream, etl_event_records_walk, &t->ev, 0, &t->response, &t->st,
                              &t->err);
}

static void tx_free(struct txrun *t)
{
    etl_stream_cleanup(&t->stream);
    etl_spec_free(t->spec);
    buf_cleanup(&t->event);
    buf_cleanup(&t->response);
    ete_free(t->e);
    free(t);
}

static void assert_object_text(struct txrun *t, const char *key, const char *want)
{
    struct buf text = BUF_INIT(0);
    ete_text(t->e, key, &text);
    assert_string_equal(buf_cstr(&text), want);
    buf_cleanup(&text);
}

/* The batch was answered with no failure. */
static void assert_all_written(const struct txrun *t)
{
    assert_string_equal(buf_cstr(&t->response), "{\"batchItemFailures\":[]}");
    assert_string_equal(t->st.failed_seq, "");
}

/* Every record is accounted for once: written, rejected, filtered, or failed (quarantined). */
static void assert_stats_add_up(const struct etl_stream_stats *st)
{
    assert_int_equal(st->records_out + st->records_rejected + st->records_filtered +
                         st->records_failed,
                     st->records_in);
}

/* The rule results of a result document: "Rule_1:PASS,Rule_2:FAIL,...". */
static void rule_outcomes(const cJSON *doc, char *out, size_t cap)
{
    const cJSON *rr;
    size_t used = 0;
    out[0] = '\0';
    cJSON_ArrayForEach(rr, cJSON_GetObjectItemCaseSensitive(doc, "RuleResults"))
    {
        int n = snprintf(out + used, cap - used, "%s%s:%s", used > 0 ? "," : "",
                         ete_json_str(rr, "Name"), ete_json_str(rr, "Result"));
        assert_true(n > 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
}

static double aggregated(const cJSON *doc, const char *name)
{
    return ete_json_num(cJSON_GetObjectItemCaseSensitive(doc, "AggregatedMetrics"), name);
}

/* ---- routing and filtering ----------------------------------------------------------------- */

static const char routing_spec[] =
    "{`version`:1,`datasets`:["
    "{`name`:`users`,`when`:`starts_with(pk, 'USER#')`,"
    " `mappings`:[[`pk`,`string`,`user_id`,`string`],[`age`,`string`,`age`,`int`]],"
    " `filter`:`_op <> 'REMOVE'`,`drop`:[`_event_id`,`_table`]},"
    "{`name`:`orders`,`when`:`starts_with(pk, 'ORDER#')`,`select`:[`pk`,`total`],"
    " `drop`:[`_event_id`,`_ts`,`_table`]}]}";

/* Rows go to {dataset}/changes/ of the first dataset whose `when` holds, mapped and shaped; a
 * record no dataset takes and a row the filter drops are counted as filtered and written
 * nowhere (not under the table's name either). */
static void test_routing(void **state)
{
    (void)state;
    struct txrun *t = tx_new(routing_spec);
    const struct ete_rec recs[] = {
        INSERT(1, "USER#1", "{" S("pk", "USER#1") "," S("age", "42") "," S("x", "y") "}"),
        INSERT(2, "ORDER#1", "{" S("pk", "ORDER#1") "," N("total", "12.50") "," S("x", "y") "}"),
        INSERT(3, "THING#1", "{" S("pk", "THING#1") "}"),
        REC("REMOVE", 4, "USER#2", "{" S("pk", "USER#2") "}"),
        INSERT(5, "ORDER#2", "{" S("pk", "ORDER#2") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_int_equal(ete_count(t->e, ""), 2);
    assert_object_text(t, "users/changes/" H00 "1-1.jsonl.gz",
                       "{\"user_id\":\"USER#1\",\"age\":42,\"_op\":\"INSERT\",\"_seq\":\"1\","
                       "\"_ts\":\"2025-11-25T00:00:01.000Z\"}\n");
    assert_object_text(t, "orders/changes/" H00 "2-5.jsonl.gz",
                       "{\"pk\":\"ORDER#1\",\"total\":12.50,\"_op\":\"INSERT\",\"_seq\":\"2\"}\n"
                       "{\"pk\":\"ORDER#2\",\"_op\":\"INSERT\",\"_seq\":\"5\"}\n");
    assert_int_equal(t->st.records_in, 5);
    assert_int_equal(t->st.records_out, 3);
    assert_int_equal(t->st.records_filtered, 2);
    assert_int_equal(t->st.records_rejected, 0);
    assert_int_equal(t->st.records_failed, 0);
    assert_int_equal(t->st.objects_written, 2);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

/* ---- failed casts with policy reject ------------------------------------------------------- */

/* A row whose `reject` casts fail goes to {dataset}/rejected/ naming every failed cast, with
 * the values NULL and the derived columns computed from them; the filter still drops such a
 * row, and dedupe still replaces it with a later change of its key (or drops it for one). */
static void test_rejected_cast_goes_on(void **state)
{
    (void)state;
    struct txrun *t = tx_new(
        "{`version`:1,`datasets`:[{`name`:`users`,"
        " `mappings`:[[`pk`,`string`,`user_id`,`string`],[`age`,`string`,`age`,`int`,`reject`],"
        "             [`score`,`string`,`score`,`int`,`reject`],[`name`,`string`,`name`,`string`]],"
        " `derive`:[{`name`:`age_known`,`expr`:`age IS NOT NULL`},"
        "           {`name`:`shout`,`expr`:`upper(name)`}],"
        " `filter`:`name <> 'drop'`,`drop`:[`_event_id`,`_table`,`_ts`],`dedupe`:true}]}");
    const struct ete_rec recs[] = {
        INSERT(
            21, "USER#1",
            "{" S("pk", "USER#1") "," S("age", "x") "," S("score", "y") "," S("name", "ann") "}"),
        INSERT(22, "USER#2", "{" S("pk", "USER#2") "," S("age", "x") "," S("name", "drop") "}"),
        INSERT(23, "USER#3", "{" S("pk", "USER#3") "," S("age", "x") "," S("name", "bob") "}"),
        REC("MODIFY", 24, "USER#3",
            "{" S("pk", "USER#3") "," N("age", "30") "," S("name", "bob") "}"),
        INSERT(25, "USER#4", "{" S("pk", "USER#4") "," N("age", "40") "," S("name", "cy") "}"),
        REC("MODIFY", 26, "USER#4",
            "{" S("pk", "USER#4") "," S("age", "bad") "," S("name", "cy") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_int_equal(ete_count(t->e, ""), 2);
    assert_object_text(
        t, "users/changes/" H00 "24-24.jsonl.gz",
        "{\"user_id\":\"USER#3\",\"age\":30,\"score\":null,\"name\":\"bob\","
        "\"age_known\":true,\"shout\":\"BOB\",\"_op\":\"MODIFY\",\"_seq\":\"24\"}\n");
    assert_object_text(
        t, "users/rejected/" H00 "21-26.jsonl.gz",
        "{\"user_id\":\"USER#1\",\"age\":null,\"score\":null,\"name\":\"ann\",\"age_known\":false,"
        "\"shout\":\"ANN\",\"_op\":\"INSERT\",\"_seq\":\"21\",\"DataQualityRulesFail\":["
        "\"CastFailed \\\"age\\\": \\\"x\\\" is not a number: it does not cast to int\","
        "\"CastFailed \\\"score\\\": \\\"y\\\" is not a number: it does not cast to int\"]}\n"
        "{\"user_id\":\"USER#4\",\"age\":null,\"score\":null,\"name\":\"cy\",\"age_known\":false,"
        "\"shout\":\"CY\",\"_op\":\"MODIFY\",\"_seq\":\"26\",\"DataQualityRulesFail\":["
        "\"CastFailed \\\"age\\\": \\\"bad\\\" is not a number: it does not cast to int\"]}\n");
    assert_int_equal(t->st.records_out, 1);
    assert_int_equal(t->st.records_rejected, 2);
    assert_int_equal(t->st.records_filtered, 3); /* 22 filtered, 23 and 25 replaced */
    assert_int_equal(t->st.records_failed, 0);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

/* Rejected rows are written as surely as the others: when their object cannot be written, the
 * answer names the earliest such record, so Lambda retries from it. */
static void test_rejected_write_fails(void **state)
{
    (void)state;
    struct txrun *t = tx_new("{`version`:1,`datasets`:[{`name`:`users`,"
                             " `mappings`:[[`pk`,`string`,`pk`,`string`],"
                             "             [`age`,`string`,`age`,`int`,`reject`]]}]}");
    fake_s3_fail_key(t->e->s3, FAKE_S3_PUT_OBJECT,
                     ETE_PREFIX "users/rejected/" H00 "152-152.jsonl.gz", t->e->max_attempts, 503,
                     "SlowDown");
    const struct ete_rec recs[] = {
        INSERT(151, "U1", "{" S("pk", "U1") "," N("age", "1") "}"),
        INSERT(152, "U2", "{" S("pk", "U2") "," S("age", "x") "}"),
        INSERT(153, "U3", "{" S("pk", "U3") "," N("age", "3") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_string_equal(buf_cstr(&t->response),
                        "{\"batchItemFailures\":[{\"itemIdentifier\":\"152\"}]}");
    assert_int_equal(ete_count(t->e, "users/changes/" H00 "151-153."), 1);
    assert_int_equal(ete_count(t->e, "users/rejected/"), 0);
    assert_int_equal(t->st.records_out, 2);
    assert_int_equal(t->st.records_rejected, 0);
    assert_int_equal(t->st.records_failed, 1);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

/* ---- dedupe ------------------------------------------------------------------------------- */

/* "dedupe": true keeps the last change of each DynamoDB key (the record's table and Keys) in
 * stream order; the rows kept stay in stream order. */
static void test_dedupe_by_keys(void **state)
{
    (void)state;
    struct txrun *t =
        tx_new("{`version`:1,`datasets`:[{`name`:`all`,`dedupe`:true,`select`:[`pk`,`v`],"
               " `drop`:[`_event_id`,`_ts`,`_table`]}]}");
    const struct ete_rec recs[] = {
        INSERT(31, "K1", "{" S("pk", "K1") "," S("v", "1") "}"),
        INSERT(32, "K2", "{" S("pk", "K2") "," S("v", "1") "}"),
        REC("MODIFY", 33, "K1", "{" S("pk", "K1") "," S("v", "2") "}"),
        REC("REMOVE", 34, "K1", "{" S("pk", "K1") "," S("v", "2") "}"),
        REC("MODIFY", 35, "K2", "{" S("pk", "K2") "," S("v", "2") "}"),
        {"Other", "INSERT", "36", T0 + 36, PK("K1"), "{" S("pk", "K1") "," S("v", "9") "}", false},
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_int_equal(ete_count(t->e, ""), 1);
    assert_object_text(t, "all/changes/" H00 "34-36.jsonl.gz",
                       "{\"pk\":\"K1\",\"v\":\"2\",\"_op\":\"REMOVE\",\"_seq\":\"34\","
                       "\"_ttl_delete\":false}\n"
                       "{\"pk\":\"K2\",\"v\":\"2\",\"_op\":\"MODIFY\",\"_seq\":\"35\"}\n"
                       "{\"pk\":\"K1\",\"v\":\"9\",\"_op\":\"INSERT\",\"_seq\":\"36\"}\n");
    assert_int_equal(t->st.records_out, 3);
    assert_int_equal(t->st.records_filtered, 3);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

/* "dedupe": {"key": [...]} keys on output columns instead of Keys (P2's first change is kept,
 * P1's is replaced by P2's of the same email), within each dataset. */
static void test_dedupe_by_columns(void **state)
{
    (void)state;
    struct txrun *t = tx_new(
        "{`version`:1,`datasets`:["
        "{`name`:`people`,`when`:`starts_with(pk, 'P')`,`dedupe`:{`key`:[`mail`]},"
        " `rename`:{`email`:`mail`},`select`:[`pk`,`mail`],`drop`:[`_event_id`,`_ts`,`_table`,`_op`]},"
        "{`name`:`others`,`dedupe`:{`key`:[`email`]},`select`:[`pk`,`email`],"
        " `drop`:[`_event_id`,`_ts`,`_table`,`_op`]}]}");
    const struct ete_rec recs[] = {
        INSERT(41, "P1", "{" S("pk", "P1") "," S("email", "x") "}"),
        INSERT(42, "P2", "{" S("pk", "P2") "," S("email", "x") "}"),
        REC("MODIFY", 43, "P2", "{" S("pk", "P2") "," S("email", "y") "}"),
        INSERT(44, "Q1", "{" S("pk", "Q1") "," S("email", "x") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_int_equal(ete_count(t->e, ""), 2);
    assert_object_text(t, "people/changes/" H00 "42-43.jsonl.gz",
                       "{\"pk\":\"P2\",\"mail\":\"x\",\"_seq\":\"42\"}\n"
                       "{\"pk\":\"P2\",\"mail\":\"y\",\"_seq\":\"43\"}\n");
    assert_object_text(t, "others/changes/" H00 "44-44.jsonl.gz",
                       "{\"pk\":\"Q1\",\"email\":\"x\",\"_seq\":\"44\"}\n");
    assert_int_equal(t->st.records_filtered, 1);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

/* ---- rules -------------------------------------------------------------------------------- */

/* Row-level rules quarantine by default: a row breaking one goes to rejected/ with the text of
 * every rule it broke; a rule whose action is warn (by rule_actions or DQDL's tag) keeps its
 * rows; rule_actions overrides the tag. */
static void test_row_rules_quarantine_or_warn(void **state)
{
    (void)state;
    struct txrun *t = tx_new(
        "{`version`:1,`datasets`:[{`name`:`users`,`select`:[`pk`,`email`,`age`,`name`],"
        " `drop`:[`_event_id`,`_ts`,`_table`,`_op`],"
        " `rules`:`Rules = [ IsComplete ~email~, ColumnValues ~age~ > 10,"
        "  ColumnValues ~age~ <= 100 with action = ~warn~, IsComplete ~name~ with action = ~warn~,"
        "  IsComplete ~pk~ ]`,"
        " `rule_actions`:{`Rule_2`:`warn`,`Rule_4`:`quarantine`}}]}");
    const struct ete_rec recs[] = {
        INSERT(51, "P1",
               "{" S("pk", "P1") "," S("email", "a") "," N("age", "42") "," S("name", "n") "}"),
        INSERT(52, "P2", "{" S("pk", "P2") "," N("age", "42") "," S("name", "n") "}"),
        INSERT(53, "P3",
               "{" S("pk", "P3") "," S("email", "a") "," N("age", "5") "," S("name", "n") "}"),
        INSERT(54, "P4", "{" S("pk", "P4") "," N("age", "500") "," S("name", "n") "}"),
        INSERT(55, "P5", "{" S("pk", "P5") "," S("email", "a") "," N("age", "42") "}"),
        INSERT(56, "P6",
               "{" S("pk", "P6") "," S("email", "a") "," N("age", "200") "," S("name", "n") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_object_text(
        t, "users/changes/" H00 "51-56.jsonl.gz",
        "{\"pk\":\"P1\",\"email\":\"a\",\"age\":42,\"name\":\"n\",\"_seq\":\"51\"}\n"
        "{\"pk\":\"P3\",\"email\":\"a\",\"age\":5,\"name\":\"n\",\"_seq\":\"53\"}\n"
        "{\"pk\":\"P6\",\"email\":\"a\",\"age\":200,\"name\":\"n\",\"_seq\":\"56\"}\n");
    assert_object_text(
        t, "users/rejected/" H00 "52-55.jsonl.gz",
        "{\"pk\":\"P2\",\"age\":42,\"name\":\"n\",\"_seq\":\"52\","
        "\"DataQualityRulesFail\":[\"IsComplete \\\"email\\\"\"]}\n"
        "{\"pk\":\"P4\",\"age\":500,\"name\":\"n\",\"_seq\":\"54\",\"DataQualityRulesFail\":["
        "\"IsComplete \\\"email\\\"\",\"ColumnValues \\\"age\\\" <= 100 with action = \\\"warn\\\"\"]}\n"
        "{\"pk\":\"P5\",\"email\":\"a\",\"age\":42,\"_seq\":\"55\","
        "\"DataQualityRulesFail\":[\"IsComplete \\\"name\\\" with action = \\\"warn\\\"\"]}\n");
    cJSON *doc = ete_json(t->e, "users/dq/" H00 "51-56.json");
    char outcomes[256];
    rule_outcomes(doc, outcomes, sizeof(outcomes));
    assert_string_equal(outcomes, "Rule_1:FAIL,Rule_2:FAIL,Rule_3:FAIL,Rule_4:FAIL,Rule_5:PASS");
    assert_int_equal(aggregated(doc, "TotalRowsProcessed"), 6);
    assert_int_equal(aggregated(doc, "TotalRowsFailed"), 5);
    cJSON_Delete(doc);
    assert_int_equal(t->st.records_out, 3);
    assert_int_equal(t->st.records_rejected, 3);
    assert_int_equal(t->st.dq_rules_passed, 1);
    assert_int_equal(t->st.dq_rules_failed, 4);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

/* Dataset-level rules are evaluated over the dataset's rows of the batch into
 * {dataset}/dq/{partition}/{first}-{last}.json, Glue's GetDataQualityResult (a Result per rule,
 * the Score, the aggregated counts), with one RulePassed EMF line per rule; failing ones warn by
 * default (every row is written). A dataset without rules gets no document. */
static void test_dataset_rules_result(void **state)
{
    (void)state;
    struct txrun *t =
        tx_new("{`version`:1,`datasets`:["
               "{`name`:`orders`,`when`:`starts_with(pk, 'O')`,`select`:[`pk`,`amount`],"
               " `rules`:`Rules = [ RowCount = 3, Mean ~amount~ > 100, Sum ~amount~ = 60,"
               "  IsUnique ~pk~, ColumnValues ~amount~ > 0 ]`},"
               "{`name`:`misc`}]}");
    const struct ete_rec recs[] = {
        INSERT(61, "O1", "{" S("pk", "O1") "," N("amount", "10") "}"),
        INSERT(62, "O2", "{" S("pk", "O2") "," N("amount", "20") "}"),
        INSERT(63, "O3", "{" S("pk", "O3") "," N("amount", "30") "}"),
        INSERT(64, "X1", "{" S("pk", "X1") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_int_equal(ete_count(t->e, "orders/dq/"), 1);
    assert_int_equal(ete_count(t->e, "misc/dq/"), 0);
    cJSON *doc = ete_json(t->e, "orders/dq/" H00 "61-63.json");
    char outcomes[256];
    rule_outcomes(doc, outcomes, sizeof(outcomes));
    assert_string_equal(outcomes, "Rule_1:PASS,Rule_2:FAIL,Rule_3:PASS,Rule_4:PASS,Rule_5:PASS");
    assert_true(ete_json_num(doc, "Score") == 0.8);
    assert_string_equal(ete_json_str(doc, "RulesetName"), "orders");
    const cJSON *mean = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "RuleResults"), 1);
    assert_string_equal(ete_json_str(mean, "Description"), "Mean \"amount\" > 100");
    assert_true(ete_json_num(cJSON_GetObjectItemCaseSensitive(mean, "EvaluatedMetrics"),
                             "Column.amount.Mean") == 20);
    assert_int_equal(aggregated(doc, "TotalRowsProcessed"), 3);
    assert_int_equal(aggregated(doc, "TotalRulesProcessed"), 5);
    assert_int_equal(aggregated(doc, "TotalRulesPassed"), 4);
    assert_int_equal(aggregated(doc, "TotalRulesFailed"), 1);
    cJSON_Delete(doc);
    assert_int_equal(ete_count(t->e, "orders/changes/"), 1);
    assert_int_equal(t->st.records_out, 4);
    assert_int_equal(t->st.dq_rules_passed, 4);
    assert_int_equal(t->st.dq_rules_failed, 1);
    assert_int_equal(ete_log_count(t->e, "\"RulePassed\":"), 5);
    assert_int_equal(
        ete_log_count(t->e, "\"dataset\":\"orders\",\"rule\":\"Rule_2\",\"outcome\":\"FAIL\","
                            "\"RulePassed\":0"),
        1);
    assert_int_equal(
        ete_log_count(t->e, "\"dataset\":\"orders\",\"rule\":\"Rule_1\",\"outcome\":\"PASS\","
                            "\"RulePassed\":1"),
        1);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

struct fail_row {
    const char *name;
    const char *spec;
};

static const struct fail_row fail_rows[] = {
    {"fail_by_rule_actions",
     "{`version`:1,`datasets`:[{`name`:`users`,`select`:[`pk`,`email`,`n`],`filter`:`pk <> 'U4'`,"
     " `derive`:[{`name`:`n`,`expr`:`cast(code as bigint)`}],"
     " `rules`:`Rules = [ RowCount > 5, IsComplete ~email~ ]`,`rule_actions`:{`Rule_1`:`fail`}}]}"},
    {"fail_by_dqdl_tag",
     "{`version`:1,`datasets`:[{`name`:`users`,`select`:[`pk`,`email`,`n`],`filter`:`pk <> 'U4'`,"
     " `derive`:[{`name`:`n`,`expr`:`cast(code as bigint)`}],"
     " `rules`:`Rules = [ RowCount > 5 with action = ~fail~, IsComplete ~email~ ]`}]}"},
};

/* A rule with action fail that does not pass: nothing of the batch is written (no rows, no
 * rejected rows, no quarantine), and the answer names the first record, so Lambda retries all
 * of it: every record, the filtered one too, counts as failed (once); the result document says
 * why. */
static void test_fail_row(void **state)
{
    const struct fail_row *row = *state;
    struct txrun *t = tx_new(row->spec);
    const struct ete_rec recs[] = {
        INSERT(71, "U1", "{" S("pk", "U1") "," S("email", "a") "}"),
        INSERT(72, "U2", "{" S("pk", "U2") "," S("email", "a") "," S("code", "abc") "}"),
        INSERT(73, "U3", "{" S("pk", "U3") "}"),
        INSERT(74, "U4", "{" S("pk", "U4") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_string_equal(buf_cstr(&t->response),
                        "{\"batchItemFailures\":[{\"itemIdentifier\":\"71\"}]}");
    assert_true(t->st.dq_fail);
    assert_int_equal(ete_count(t->e, "users/changes/"), 0);
    assert_int_equal(ete_count(t->e, "users/rejected/"), 0);
    assert_int_equal(ete_count(t->e, "_quarantine/"), 0);
    assert_int_equal(t->st.objects_written, 0);
    assert_int_equal(t->st.records_out, 0);
    assert_int_equal(t->st.records_rejected, 0);
    assert_int_equal(t->st.records_failed, 4);
    assert_int_equal(t->st.records_filtered, 0);
    assert_stats_add_up(&t->st);
    cJSON *doc = ete_json(t->e, "users/dq/" H00 "71-73.json");
    char outcomes[128];
    rule_outcomes(doc, outcomes, sizeof(outcomes));
    assert_string_equal(outcomes, "Rule_1:FAIL,Rule_2:FAIL");
    cJSON_Delete(doc);
    tx_free(t);
}

struct no_rows_row {
    const char *name;
    const char *spec;
    struct ete_rec rec;
    size_t filtered;
    size_t quarantined;
};

/* users' rules fail on a batch without users rows: they must not be evaluated at all. */
#define USERS_MUST_HAVE_ROWS                                                                       \
    "{`name`:`users`,`when`:`starts_with(pk, 'USER#')`,`filter`:`_op <> 'REMOVE'`,"                \
    " `rules`:`Rules = [ RowCount > 0 with action = ~fail~ ]`}"

static const struct no_rows_row no_rows_rows[] = {
    {"no_rows_all_filtered",
     "{`version`:1,`datasets`:[" USERS_MUST_HAVE_ROWS ",{`name`:`orders`}]}",
     REC("REMOVE", 121, "USER#1", "{" S("pk", "USER#1") "}"), 1, 0},
    {"no_rows_expression_error_elsewhere",
     "{`version`:1,`datasets`:[" USERS_MUST_HAVE_ROWS ",{`name`:`orders`,"
     " `derive`:[{`name`:`n`,`expr`:`cast(code as bigint)`}]}]}",
     INSERT(122, "ORDER#1", "{" S("pk", "ORDER#1") "," S("code", "abc") "}"), 0, 1},
};

/* Rules are evaluated over the rows that reach them: a dataset whose records were all filtered
 * out, or that got none (a record of another dataset whose expression failed), has no rows in
 * the batch, so it gets no result document and its rules (here RowCount > 0, action fail)
 * cannot fail the batch. */
static void test_no_rows_row(void **state)
{
    const struct no_rows_row *row = *state;
    struct txrun *t = tx_new(row->spec);
    const struct ete_rec recs[] = {
        row->rec,
        INSERT(130, "ORDER#2", "{" S("pk", "ORDER#2") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_false(t->st.dq_fail);
    assert_int_equal(ete_count(t->e, "users/"), 0);
    assert_int_equal(ete_count(t->e, "orders/changes/" H00 "130-130."), 1);
    assert_int_equal(t->st.records_filtered, row->filtered);
    assert_int_equal(t->st.quarantined, row->quarantined);
    assert_int_equal(t->st.dq_rules_passed + t->st.dq_rules_failed, 0);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

/* n INSERTs with sequence numbers first, first + 1, ... (seqs holds their text). */
static void make_batch(struct ete_rec *recs, char (*seqs)[16], size_t n, unsigned first)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(seqs[i], sizeof(seqs[i]), "%u", first + (unsigned)i);
        recs[i] = (struct ete_rec){"App",   "INSERT",
                                   seqs[i], T0 + (int64_t)(first + i) % 3600,
                                   PK("E"), "{" S("pk", "E") "}",
                                   false};
    }
}

/* DetectAnomalies appends each batch's value to {dataset}/dq/history.json with the batch's id;
 * a retried batch appends nothing; after five values, a batch far outside them fails the rule
 * (and still writes its rows: the action is warn). */
static void test_anomaly_history(void **state)
{
    (void)state;
    struct txrun *t = tx_new("{`version`:1,`datasets`:[{`name`:`events`,"
                             " `rules`:`Rules = [ DetectAnomalies ~RowCount~ ]`}]}");
    static const size_t sizes[] = {2, 3, 2, 2, 3, 12};
    static const char *const histories[] = {
        "[2]", "[2,3]", "[2,3,2]", "[2,3,2,2]", "[2,3,2,2,3]", "[2,3,2,2,3,12]",
    };
    struct ete_rec recs[12];
    char seqs[12][16];
    unsigned seq = 1000;
    char ids[1024] = "";
    for (size_t b = 0; b < ROWS(sizes); b++) {
        make_batch(recs, seqs, sizes[b], seq);
        seq += 100;
        size_t used = strlen(ids);
        snprintf(ids + used, sizeof(ids) - used, "%s\"" H00 "%s-%s\"", b > 0 ? "," : "", seqs[0],
                 seqs[sizes[b] - 1]);
        char want[1400];
        snprintf(want, sizeof(want),
                 "{\"version\":1,\"ids\":[%s],\"metrics\":{\"Dataset.*.RowCount\":%s}}", ids,
                 histories[b]);
        for (int attempt = 0; attempt < (b == 2 ? 2 : 1); attempt++) { /* batch 2 retried */
            assert_int_equal(tx_process(t, recs, sizes[b]), ERR_OK);
            assert_all_written(t);
            assert_int_equal(t->st.records_out, sizes[b]);
            assert_object_text(t, "events/dq/history.json", want);
        }
        bool last = b + 1 == ROWS(sizes);
        assert_int_equal(t->st.dq_rules_failed, last ? 1 : 0);
        assert_int_equal(t->st.dq_rules_passed, last ? 0 : 1);
    }
    char key[128];
    snprintf(key, sizeof(key), "events/dq/" H00 "%s-%s.json", seqs[0], seqs[11]);
    cJSON *doc = ete_json(t->e, key);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "Observations")), 1);
    cJSON_Delete(doc);
    tx_free(t);
}

/* An anomaly that fails the batch (action fail) is not appended: the batch is retried, and its
 * value must not become part of what is normal. */
static void test_failed_anomaly_not_in_history(void **state)
{
    (void)state;
    struct txrun *t =
        tx_new("{`version`:1,`datasets`:[{`name`:`events`,"
               " `rules`:`Rules = [ DetectAnomalies ~RowCount~ with action = ~fail~ ]`}]}");
    static const size_t sizes[] = {2, 3, 2, 2, 3, 12};
    struct ete_rec recs[12];
    char seqs[12][16];
    unsigned seq = 1000;
    struct buf before = BUF_INIT(0), after = BUF_INIT(0);
    for (size_t b = 0; b < ROWS(sizes); b++) {
        make_batch(recs, seqs, sizes[b], seq);
        seq += 100;
        if (b + 1 == ROWS(sizes)) {
            assert_true(ete_get(t->e, "events/dq/history.json", &before));
        }
        assert_int_equal(tx_process(t, recs, sizes[b]), ERR_OK);
        assert_int_equal(t->st.dq_fail, b + 1 == ROWS(sizes));
    }
    assert_true(ete_get(t->e, "events/dq/history.json", &after));
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.data, before.data, before.len);
    buf_cleanup(&before);
    buf_cleanup(&after);
    tx_free(t);
}

/* ---- schema drift ------------------------------------------------------------------------- */

/* The schema document a snapshot commit writes for rows with these attributes (DynamoDB
 * JSON), stored at key. */
static void put_reference(struct txrun *t, const char *key, const char *item)
{
    struct etl_schema schema;
    struct json_val v;
    struct buf store = BUF_INIT(0), doc = BUF_INIT(0);
    struct etl_record_meta meta = {.op = "SNAPSHOT", .table = "App"};
    struct etl_row_ref row = {&store, 0, {NULL, 0}};
    etl_schema_init(&schema);
    assert_int_equal(json_validate(cur_from_str(item), 64, &v, &t->err), ERR_OK);
    assert_int_equal(etl_record_build(&store, &v, NULL, &meta, &row.offset, &t->err), ERR_OK);
    assert_int_equal(etl_schema_observe(&schema, &row, &t->err), ERR_OK);
    assert_int_equal(etl_schema_to_json(&schema, &doc, &t->err), ERR_OK);
    assert_int_equal(etl_sink_put(&t->e->sink, key, buf_cur(&doc), "application/json", &t->err),
                     ERR_OK);
    etl_schema_cleanup(&schema);
    buf_cleanup(&store);
    buf_cleanup(&doc);
}

struct drift_row {
    const char *name;
    const char *reference; /* users/schema.json's item; NULL: none stored */
    const char *image;
    size_t drift;
    const char *note; /* in the warning; NULL: no warning */
};

static const struct drift_row drift_rows[] = {
    {"drift_without_reference", NULL, "{" S("pk", "U1") "," S("nick", "x") "}", 0, NULL},
    {"drift_same_columns", "{" S("pk", "U0") "," N("age", "1") "}",
     "{" S("pk", "U1") "," N("age", "2") "}", 0, NULL},
    {"drift_new_column", "{" S("pk", "U0") "," N("age", "1") "}",
     "{" S("pk", "U1") "," N("age", "2") "," S("nick", "x") "}", 1, "\"nick\" new, S"},
    {"drift_new_type", "{" S("pk", "U0") "," N("age", "1") "}",
     "{" S("pk", "U1") "," S("age", "2") "}", 1, "\"age\" now also S"},
};

/* With {dataset}/schema.json stored (the latest snapshot's), a batch whose rows have a column
 * or a type it lacks is counted in schema_drift and logged, rules or not. */
static void test_drift_row(void **state)
{
    const struct drift_row *row = *state;
    struct txrun *t = tx_new("{`version`:1,`datasets`:[{`name`:`users`}]}");
    if (row->reference != NULL) {
        put_reference(t, "users/schema.json", row->reference);
    }
    const struct ete_rec recs[] = {INSERT(81, "U1", row->image)};
    assert_int_equal(tx_process(t, recs, 1), ERR_OK);
    assert_all_written(t);
    assert_int_equal(t->st.records_out, 1);
    assert_int_equal(t->st.schema_drift, row->drift);
    assert_int_equal(ete_log_count(t->e, "schema drift against the latest snapshot"),
                     row->note != NULL ? 1 : 0);
    if (row->note != NULL) {
        assert_int_equal(ete_log_count(t->e, row->note), 1);
    }
    tx_free(t);
}

/* The reference schemas are read again every 5 minutes, each dataset's: a warm container sees
 * a new snapshot's schema.json within that time, whatever the datasets' order in its batches. */
static void test_reference_refresh(void **state)
{
    (void)state;
    struct txrun *t = tx_new("{`version`:1,`datasets`:["
                             "{`name`:`a`,`when`:`starts_with(pk, 'A')`},{`name`:`b`}]}");
    char seqs[3][2][16];
    struct ete_rec recs[2];
    for (int batch = 0; batch < 3; batch++) {
        for (int i = 0; i < 2; i++) {
            snprintf(seqs[batch][i], sizeof(seqs[batch][i]), "%d", 140 + 2 * batch + i);
            recs[i] = (struct ete_rec){"App",
                                       "INSERT",
                                       seqs[batch][i],
                                       T0 + 140,
                                       i == 0 ? PK("A1") : PK("B1"),
                                       i == 0 ? "{" S("pk", "A1") "," S("nick", "x") "}"
                                              : "{" S("pk", "B1") "," S("nick", "x") "}",
                                       false};
        }
        if (batch == 1) {
            /* A snapshot commits both datasets' schemas, without "nick". */
            put_reference(t, "a/schema.json", "{" S("pk", "A0") "}");
            put_reference(t, "b/schema.json", "{" S("pk", "B0") "}");
        }
        if (batch == 2) {
            t->e->fs.mono_ms += 5 * 60 * 1000;
        }
        assert_int_equal(tx_process(t, recs, 2), ERR_OK);
        assert_all_written(t);
        /* Read at the first batch (none yet), kept for the second, read again at the third. */
        assert_int_equal(t->st.schema_drift, batch < 2 ? 0 : 2);
        assert_int_equal(ete_requests(t->e, "GET", "a/schema.json"), batch < 2 ? 1 : 2);
        assert_int_equal(ete_requests(t->e, "GET", "b/schema.json"), batch < 2 ? 1 : 2);
    }
    tx_free(t);
}

/* ---- expression errors, PII, counting ----------------------------------------------------- */

/* A record whose expression cannot be evaluated (a cast of 'abc' to bigint in a derive) goes
 * to _quarantine/{table}/ with the error and counts as failed; the batch goes on. */
static void test_expression_error_quarantined(void **state)
{
    (void)state;
    struct txrun *t = tx_new("{`version`:1,`datasets`:[{`name`:`items`,"
                             " `derive`:[{`name`:`n`,`expr`:`cast(code as bigint)`}],"
                             " `select`:[`pk`,`n`],`drop`:[`_event_id`,`_ts`,`_table`,`_op`]}]}");
    const struct ete_rec recs[] = {
        INSERT(91, "I1", "{" S("pk", "I1") "," S("code", "12") "}"),
        INSERT(92, "I2", "{" S("pk", "I2") "," S("code", "abc") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_int_equal(ete_count(t->e, ""), 2);
    assert_object_text(t, "items/changes/" H00 "91-91.jsonl.gz",
                       "{\"pk\":\"I1\",\"n\":12,\"_seq\":\"91\"}\n");
    struct buf q = BUF_INIT(0);
    ete_text(t->e, "_quarantine/App/" H00 "92-92.jsonl.gz", &q);
    ete_assert_contains(buf_cstr(&q),
                        "{\"error\":\"derive \\\"n\\\": column 1: CAST: \\\"abc\\\" is "
                        "not a number: it does not cast to bigint\",");
    ete_assert_contains(buf_cstr(&q), "\"record\":{\"eventID\":\"ev-92\"");
    assert_int_equal(ete_lines(&q), 1);
    buf_cleanup(&q);
    assert_int_equal(t->st.records_out, 1);
    assert_int_equal(t->st.quarantined, 1);
    assert_int_equal(t->st.records_failed, 1);
    assert_stats_add_up(&t->st);
    tx_free(t);
}

/* Lowercase hex HMAC-SHA256 of text under PII_KEY (OpenSSL's, independent of the transform). */
static void hmac_hex(const char *text, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t mac[32];
    unsigned int len = 0;
    assert_non_null(HMAC(EVP_sha256(), PII_KEY, (int)strlen(PII_KEY), (const uint8_t *)text,
                         strlen(text), mac, &len));
    assert_int_equal(len, 32);
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[mac[i] >> 4];
        out[2 * i + 1] = digits[mac[i] & 0xf];
    }
    out[64] = '\0';
}

/* PII methods apply to the rows written, good and rejected alike, after the rules: the rules
 * see the real values (a hash has no '@', "REDACTED" is not a name, 4 digits are not 10), the
 * lake never does. */
static void test_pii_after_rules(void **state)
{
    (void)state;
    struct txrun *t = tx_new(
        "{`version`:1,`pii_key`:{`env`:`ETL_PII_KEY`},`datasets`:[{`name`:`users`,"
        " `select`:[`pk`,`email`,`name`,`phone`],`drop`:[`_event_id`,`_ts`,`_table`,`_op`],"
        " `pii`:[{`column`:`email`,`method`:`hmac_sha256`},{`column`:`name`,`method`:`redact`},"
        "        {`column`:`phone`,`method`:`truncate`,`keep`:4}],"
        " `rules`:`Rules = [ ColumnValues ~email~ matches ~[a-z]+@[a-z]+[.]org~,"
        "  ColumnValues ~name~ in [~Ann~, ~Bob~], ColumnLength ~phone~ = 10 ]`}]}");
    const struct ete_rec recs[] = {
        INSERT(93, "U1",
               "{" S("pk", "U1") "," S("email", "a@b.org") "," S("name", "Ann") "," S(
                   "phone", "0123456789") "}"),
        INSERT(94, "U2",
               "{" S("pk", "U2") "," S("email", "nope") "," S("name", "Bob") "," S(
                   "phone", "0123456789") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    char h1[65], h2[65], want[512];
    hmac_hex("a@b.org", h1);
    hmac_hex("nope", h2);
    snprintf(want, sizeof(want),
             "{\"pk\":\"U1\",\"email\":\"%s\",\"name\":\"REDACTED\",\"phone\":\"6789\","
             "\"_seq\":\"93\"}\n",
             h1);
    assert_object_text(t, "users/changes/" H00 "93-93.jsonl.gz", want);
    snprintf(want, sizeof(want),
             "{\"pk\":\"U2\",\"email\":\"%s\",\"name\":\"REDACTED\",\"phone\":\"6789\","
             "\"_seq\":\"94\",\"DataQualityRulesFail\":[\"ColumnValues \\\"email\\\" matches "
             "\\\"[a-z]+@[a-z]+[.]org\\\"\"]}\n",
             h2);
    assert_object_text(t, "users/rejected/" H00 "94-94.jsonl.gz", want);
    assert_int_equal(t->st.dq_rules_failed, 1);
    assert_int_equal(t->st.dq_rules_passed, 2);
    tx_free(t);
}

/* One batch with every outcome: each record is counted once, in the counter of what became of
 * it, and the counters add up to the records in. */
static void test_stats_add_up(void **state)
{
    (void)state;
    struct txrun *t = tx_new(
        "{`version`:1,`datasets`:[{`name`:`users`,`when`:`starts_with(pk, 'USER#')`,"
        " `mappings`:[[`pk`,`string`,`user_id`,`string`],[`age`,`string`,`age`,`int`,`reject`],"
        "             [`email`,`string`,`email`,`string`],[`code`,`string`,`code`,`string`]],"
        " `keep_unmapped`:false,`derive`:[{`name`:`n`,`expr`:`cast(code as bigint)`}],"
        " `filter`:`_op <> 'REMOVE'`,`dedupe`:true,"
        " `rules`:`Rules = [ IsComplete ~email~, ColumnValues ~age~ > 0 with action = ~warn~,"
        "  RowCount > 0 ]`}]}");
    const struct ete_rec recs[] = {
        INSERT(101, "USER#1", "{" S("pk", "USER#1") "," N("age", "1") "," S("email", "e") "}"),
        INSERT(102, "USER#2", "{" S("pk", "USER#2") "," S("age", "x") "," S("email", "e") "}"),
        INSERT(103, "USER#3", "{" S("pk", "USER#3") "," N("age", "1") "}"),
        REC("REMOVE", 104, "USER#4", "{" S("pk", "USER#4") "}"),
        INSERT(105, "THING#1", "{" S("pk", "THING#1") "}"),
        INSERT(106, "USER#5", "{" S("pk", "USER#5") "," N("age", "1") "," S("email", "e") "}"),
        REC("MODIFY", 107, "USER#5",
            "{" S("pk", "USER#5") "," N("age", "2") "," S("email", "e") "}"),
        INSERT(108, "USER#6", "{" S("pk", "USER#6") "," S("code", "abc") "," S("email", "e") "}"),
        INSERT(109, "USER#7",
               "{" S("pk", "USER#7") "," N("big", "1234567890123456789012345678901234567890") "}"),
        INSERT(110, "USER#8", "{" S("pk", "USER#8") "," N("age", "-1") "," S("email", "e") "}"),
    };
    assert_int_equal(tx_process(t, recs, ROWS(recs)), ERR_OK);
    assert_all_written(t);
    assert_int_equal(t->st.records_in, 10);
    assert_int_equal(t->st.records_out, 3);      /* 101, 107, 110 */
    assert_int_equal(t->st.records_rejected, 2); /* 102 (cast), 103 (rule) */
    assert_int_equal(t->st.records_filtered, 3); /* 104 (filter), 105 (unrouted), 106 (dup) */
    assert_int_equal(t->st.records_failed, 2);   /* 108 (expression), 109 (conversion) */
    assert_int_equal(t->st.quarantined, 2);
    assert_int_equal(t->st.dq_rules_passed, 1);
    assert_int_equal(t->st.dq_rules_failed, 2);
    assert_int_equal(t->st.objects_written, 3); /* result documents are not counted */
    assert_stats_add_up(&t->st);
    assert_int_equal(ete_count(t->e, "users/changes/" H00 "101-110."), 1);
    assert_int_equal(ete_count(t->e, "users/rejected/" H00 "102-103."), 1);
    assert_int_equal(ete_count(t->e, "_quarantine/App/" H00 "108-109."), 1);
    assert_int_equal(ete_count(t->e, "users/dq/" H00), 1);
    tx_free(t);
}

int main(void)
{
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_rejected_cast_goes_on),
        cmocka_unit_test(test_rejected_write_fails),
        cmocka_unit_test(test_dedupe_by_keys),
        cmocka_unit_test(test_dedupe_by_columns),
        cmocka_unit_test(test_row_rules_quarantine_or_warn),
        cmocka_unit_test(test_dataset_rules_result),
        cmocka_unit_test(test_anomaly_history),
        cmocka_unit_test(test_failed_anomaly_not_in_history),
        cmocka_unit_test(test_reference_refresh),
        cmocka_unit_test(test_expression_error_quarantined),
        cmocka_unit_test(test_pii_after_rules),
        cmocka_unit_test(test_stats_add_up),
    };
    static struct CMUnitTest
        tests[ROWS(plain) + ROWS(fail_rows) + ROWS(no_rows_rows) + ROWS(drift_rows)];
    size_t n = 0;
    for (size_t i = 0; i < ROWS(plain); i++) {
        tests[n++] = plain[i];
    }
    for (size_t i = 0; i < ROWS(fail_rows); i++) {
        tests[n++] = (struct CMUnitTest){fail_rows[i].name, test_fail_row, NULL, NULL,
                                         (void *)&fail_rows[i]};
    }
    for (size_t i = 0; i < ROWS(no_rows_rows); i++) {
        tests[n++] = (struct CMUnitTest){no_rows_rows[i].name, test_no_rows_row, NULL, NULL,
                                         (void *)&no_rows_rows[i]};
    }
    for (size_t i = 0; i < ROWS(drift_rows); i++) {
        tests[n++] = (struct CMUnitTest){drift_rows[i].name, test_drift_row, NULL, NULL,
                                         (void *)&drift_rows[i]};
    }
    return _cmocka_run_group_tests("test_stream_tx", tests, n, NULL, NULL);
}
