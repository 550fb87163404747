/*
 * test_handler.c - one invocation through etl_handler_invoke: a stream batch, a scheduled event
 * and an export request reach their pipelines and each logs exactly one EMF metrics document
 * with the invocation's numbers; the invocation's deadline reaches the pipeline and the AWS
 * client; malformed and unsupported events fail with InvalidEvent / UnsupportedEvent before any
 * request; snapshots without AWS fail with Runtime.ConfigInvalid while the stream still works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_handler.h"
#include "etl_test_env.h"

#define T0 1764028800LL /* ETE_WALL_MS in seconds */
#define SCHEDULE                                                                                   \
    "{\"version\":\"0\",\"id\":\"89d1a02d\",\"detail-type\":\"Scheduled Event\","                  \
    "\"source\":\"aws.events\",\"time\":\"2026-11-24T00:00:00Z\",\"region\":\"us-east-1\","        \
    "\"resources\":[],\"detail\":{}}"

static const struct ete_rec records[] = {
    {"Orders", "INSERT", "701", T0 - 60, "{\"pk\":{\"S\":\"a\"}}", "{\"pk\":{\"S\":\"a\"}}", false},
    {"Orders", "MODIFY", "702", T0 - 30, "{\"pk\":{\"S\":\"a\"}}",
     "{\"pk\":{\"S\":\"a\"},\"n\":{\"N\":\"2\"}}", false},
};

struct fixture {
    struct etl_test_env *e;
    struct etl_handler h;
    struct rt_invocation inv;
    struct buf response;
    struct err err;
    cJSON *emf; /* the last metrics document logged */
};

static struct fixture *fixture_new(struct etl_test_env *e, bool with_aws)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->e = e;
    etl_handler_init(&f->h, &e->cfg, &e->sink, with_aws ? &e->aws : NULL, &e->fs.sys);
    buf_init(&f->response, 0);
    rt_invocation_init(&f->inv);
    return f;
}

static void fixture_free(struct fixture *f)
{
    cJSON_Delete(f->emf);
    rt_invocation_cleanup(&f->inv);
    etl_handler_cleanup(&f->h);
    buf_cleanup(&f->response);
    ete_free(f->e);
    free(f);
}

/* Invokes the handler with text as the event (deadline_ms: epoch, 0 for none), with the log and
 * requests of earlier invocations forgotten; parses the one EMF document, if any, into f->emf. */
static enum err_code invoke(struct fixture *f, const char *text, int64_t deadline_ms)
{
    rt_invocation_cleanup(&f->inv);
    ete_invocation(&f->inv, text, deadline_ms);
    ete_forget(f->e);
    buf_reset(&f->response);
    err_clear(&f->err);
    cJSON_Delete(f->emf);
    f->emf = NULL;
    enum err_code rc = etl_handler_invoke(&f->h, &f->inv, &f->response, &f->err);
    /* The invocation's metrics come last, after any data-quality rule's own EMF line. */
    const char *line = NULL;
    for (const char *p = strstr(buf_cstr(&f->e->log), "{\"_aws\":{"); p != NULL;
         p = strstr(p + 1, "{\"_aws\":{")) {
        line = p;
    }
    if (line != NULL) {
        f->emf = cJSON_ParseWithLength(line, strcspn(line, "\n"));
        assert_non_null(f->emf);
    }
    return rc;
}

static size_t emf_lines(const struct fixture *f)
{
    return ete_log_count(f->e, "{\"_aws\":{");
}

/* A metric's value in the EMF document, after checking it is declared with its unit. */
static double metric(const struct fixture *f, const char *name, const char *unit)
{
    const cJSON *aws = cJSON_GetObjectItemCaseSensitive(f->emf, "_aws");
    const cJSON *cwm =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(aws, "CloudWatchMetrics"), 0);
    const cJSON *m;
    bool declared = false;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(cwm, "Metrics"))
    {
        if (strcmp(ete_json_str(m, "Name"), name) == 0) {
            assert_string_equal(ete_json_str(m, "Unit"), unit);
            declared = true;
        }
    }
    if (!declared) {
        fail_msg("metric %s is not declared", name);
    }
    return ete_json_num(f->emf, name);
}

static void assert_emf_envelope(const struct fixture *f)
{
    const cJSON *aws = cJSON_GetObjectItemCaseSensitive(f->emf, "_aws");
    assert_int_equal((int64_t)ete_json_num(aws, "Timestamp"), f->e->fs.wall_ms);
    const cJSON *cwm =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(aws, "CloudWatchMetrics"), 0);
    assert_string_equal(ete_json_str(cwm, "Namespace"), "DdbS3Etl");
    assert_string_equal(ete_json_str(f->emf, "service"), "ddb-s3-etl");
}

/* ---- dispatch and metrics ------------------------------------------------------------------ */

static void test_stream_event(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(ete_new(NULL), true);
    struct buf text = BUF_INIT(0);
    ete_stream_event(records, 2, &text);
    assert_int_equal(invoke(f, buf_cstr(&text), 0), ERR_OK);
    assert_string_equal(buf_cstr(&f->response), "{\"batchItemFailures\":[]}");
    assert_int_equal(ete_count(f->e, "Orders/changes/dt=2025-11-24/hour=23/701-702.jsonl.gz"), 1);
    assert_int_equal(emf_lines(f), 1);
    assert_emf_envelope(f);
    assert_true(metric(f, "RecordsIn", "Count") == 2);
    assert_true(metric(f, "RecordsOut", "Count") == 2);
    assert_true(metric(f, "RecordsFailed", "Count") == 0);
    assert_true(metric(f, "ObjectsWritten", "Count") == 1);
    assert_true(metric(f, "BytesWritten", "Bytes") > 0);
    assert_true(metric(f, "FreshnessSeconds", "Seconds") == 60); /* the oldest record's age */
    (void)metric(f, "DurationMs", "Milliseconds");
    assert_null(cJSON_GetObjectItemCaseSensitive(f->emf, "SnapshotItems"));
    assert_null(cJSON_GetObjectItemCaseSensitive(f->emf, "RecordsRejected")); /* no transform */
    assert_int_equal(ete_log_count(f->e, "stream batch processed"), 1);
    buf_cleanup(&text);
    fixture_free(f);
}

/* A quarantined record reaches its object as its own text in the event, byte for byte (the one
 * walk keeps each record's span), and the same event processed again gives the same. */
static void test_stream_record_text_kept(void **state)
{
    (void)state;
    static const struct ete_rec recs[] = {
        {"Orders", "INSERT", "701", T0 - 60, "{\"pk\":{\"S\":\"a\"}}",
         "{\"pk\":{\"S\":\"a\"},\"m\":{\"M\":{\"note\":{\"S\":\"a value long enough to be indexed\"}}}}",
         false},
        {"Orders", "INSERT", "702", T0 - 50, "{\"pk\":{\"S\":\"b\"}}",
         "{\"pk\":{\"S\":\"b\"},\"x\":{\"Q\":\"1\"},\"pad\":{\"S\":\"to make the record indexed\"}}",
         false},
    };
    struct fixture *f = fixture_new(ete_new(NULL), true);
    struct buf text = BUF_INIT(0), bad = BUF_INIT(0);
    ete_stream_event(recs, 2, &text);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(invoke(f, buf_cstr(&text), 0), ERR_OK);
        assert_string_equal(buf_cstr(&f->response), "{\"batchItemFailures\":[]}");
        assert_true(metric(f, "RecordsOut", "Count") == 1);
        buf_reset(&bad);
        ete_text(f->e, "_quarantine/Orders/dt=2025-11-24/hour=23/702-702.jsonl.gz", &bad);
        cJSON *line = cJSON_Parse(buf_cstr(&bad));
        assert_non_null(line);
        const cJSON *record = cJSON_GetObjectItemCaseSensitive(line, "record");
        const cJSON *ddb = cJSON_GetObjectItemCaseSensitive(record, "dynamodb");
        assert_string_equal(ete_json_str(ddb, "SequenceNumber"), "702");
        /* the record's own text, as it came in the event */
        char *printed = cJSON_PrintUnformatted(record);
        assert_non_null(strstr(buf_cstr(&text), printed));
        free(printed);
        cJSON_Delete(line);
    }
    buf_cleanup(&text);
    buf_cleanup(&bad);
    fixture_free(f);
}

/* With a transform, the batch's metrics add RecordsRejected, RecordsFiltered,
 * DataQualityRulesFailed and SchemaDrift, and each rule logs its own RulePassed line (dimensions
 * service, dataset, rule) before them. */
static void test_stream_transform_metrics(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(ete_new(NULL), true);
    struct etl_spec *spec =
        ete_spec("{`version`:1,`datasets`:[{`name`:`users`,`filter`:`_op <> 'REMOVE'`,"
                 " `rules`:`Rules = [ IsComplete ~email~, RowCount > 0 ]`}]}");
    assert_int_equal(etl_handler_set_transform(&f->h, spec, NULL, 0, &f->err), ERR_OK);
    /* The latest snapshot's schema: pk and email, no "nick". */
    const char *schema = "{\"items\":1,\"attributes\":[{\"name\":\"email\",\"types\":{\"S\":1}},"
                         "{\"name\":\"pk\",\"types\":{\"S\":1}}]}";
    assert_int_equal(etl_sink_put(&f->e->sink, "users/schema.json", cur_from_str(schema),
                                  "application/json", &f->err),
                     ERR_OK);
    const struct ete_rec recs[] = {
        {"Orders", "INSERT", "801", T0 - 60, "{\"pk\":{\"S\":\"a\"}}",
         "{\"pk\":{\"S\":\"a\"},\"email\":{\"S\":\"e\"}}", false},
        {"Orders", "INSERT", "802", T0 - 60, "{\"pk\":{\"S\":\"b\"}}", "{\"pk\":{\"S\":\"b\"}}",
         false},
        {"Orders", "REMOVE", "803", T0 - 60, "{\"pk\":{\"S\":\"c\"}}", "{\"pk\":{\"S\":\"c\"}}",
         false},
        {"Orders", "INSERT", "804", T0 - 60, "{\"pk\":{\"S\":\"d\"}}",
         "{\"pk\":{\"S\":\"d\"},\"email\":{\"S\":\"e\"},\"nick\":{\"S\":\"n\"}}", false},
    };
    struct buf text = BUF_INIT(0);
    ete_stream_event(recs, 4, &text);
    assert_int_equal(invoke(f, buf_cstr(&text), 0), ERR_OK);
    assert_string_equal(buf_cstr(&f->response), "{\"batchItemFailures\":[]}");
    assert_int_equal(emf_lines(f), 3);
    assert_emf_envelope(f);
    assert_true(metric(f, "RecordsIn", "Count") == 4);
    assert_true(metric(f, "RecordsOut", "Count") == 2);
    assert_true(metric(f, "RecordsRejected", "Count") == 1);
    assert_true(metric(f, "RecordsFiltered", "Count") == 1);
    assert_true(metric(f, "RecordsFailed", "Count") == 0);
    assert_true(metric(f, "DataQualityRulesFailed", "Count") == 1);
    assert_true(metric(f, "SchemaDrift", "Count") == 1);
    assert_true(metric(f, "ObjectsWritten", "Count") == 2);
    /* Rule_1 (IsComplete) failed: its line says so, with the dataset and the rule. */
    const char *line = strstr(buf_cstr(&f->e->log), "{\"_aws\":{");
    assert_non_null(line);
    cJSON *rule = cJSON_ParseWithLength(line, strcspn(line, "\n"));
    assert_non_null(rule);
    assert_string_equal(ete_json_str(rule, "service"), "ddb-s3-etl");
    assert_string_equal(ete_json_str(rule, "dataset"), "users");
    assert_string_equal(ete_json_str(rule, "rule"), "Rule_1");
    assert_true(ete_json_num(rule, "RulePassed") == 0);
    const cJSON *cwm =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(rule, "_aws"), "CloudWatchMetrics"),
                           0);
    assert_string_equal(ete_json_str(cwm, "Namespace"), "DdbS3Etl");
    cJSON_Delete(rule);
    buf_cleanup(&text);
    fixture_free(f);
    etl_spec_free(spec);
}

static void test_scheduled_event(void **state)
{
    (void)state;
    const char *vars[] = {"ETL_TABLE=Orders", "ETL_SEGMENTS=2", NULL};
    struct fixture *f = fixture_new(ete_new(vars), true);
    ete_add_table(f->e, ETE_TABLE, 9);
    assert_int_equal(invoke(f, SCHEDULE, 0), ERR_OK);
    cJSON *answer = cJSON_Parse(buf_cstr(&f->response));
    assert_string_equal(ete_json_str(answer, "status"), "complete");
    assert_string_equal(ete_json_str(answer, "run_id"), "2026-11-24T000000Z");
    assert_int_equal((int)ete_json_num(answer, "items"), 9);
    cJSON_Delete(answer);
    assert_int_equal(ete_count(f->e, "Orders/snapshots/run=2026-11-24T000000Z/_SUCCESS"), 1);
    assert_int_equal(emf_lines(f), 1);
    assert_emf_envelope(f);
    assert_true(metric(f, "SnapshotItems", "Count") == 9);
    assert_true(metric(f, "SnapshotFiles", "Count") == 2);
    assert_true(metric(f, "SnapshotBytes", "Bytes") > 0);
    assert_true(metric(f, "SnapshotReadUnits", "Count") == 9 * FAKE_DDB_UNITS_PER_ITEM);
    assert_true(metric(f, "SnapshotComplete", "Count") == 1);
    assert_true(metric(f, "SnapshotFailed", "Count") == 0);
    (void)metric(f, "DurationMs", "Milliseconds");
    assert_null(cJSON_GetObjectItemCaseSensitive(f->emf, "RecordsIn"));
    fixture_free(f);
}

static void test_export_request(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(ete_new(NULL), true);
    ete_add_table(f->e, ETE_TABLE, 6);
    assert_int_equal(
        invoke(f,
               "{\"export\":{\"table\":\"Orders\",\"run_id\":\"2026-11-25T000000Z\",\"segment\":1,"
               "\"total_segments\":2}}",
               0),
        ERR_OK);
    cJSON *answer = cJSON_Parse(buf_cstr(&f->response));
    assert_string_equal(ete_json_str(answer, "status"), "complete");
    assert_int_equal((int)ete_json_num(answer, "segment"), 1);
    assert_int_equal((int)ete_json_num(answer, "items"), 3);
    cJSON_Delete(answer);
    assert_int_equal(emf_lines(f), 1);
    assert_true(metric(f, "SnapshotItems", "Count") == 3);
    assert_true(metric(f, "SnapshotComplete", "Count") == 1);
    fixture_free(f);
}

/* A failed snapshot request still logs its one metrics document, counting the failure. */
static void test_failed_export_counted(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(ete_new(NULL), true);
    assert_int_equal(invoke(f, "{\"export\":{\"table\":\"Orders\",\"segment\":5}}", 0),
                     ERR_INVALID_INPUT);
    assert_string_equal(rt_error_type(&f->err), "InvalidExportRequest");
    assert_int_equal(emf_lines(f), 1);
    assert_true(metric(f, "SnapshotFailed", "Count") == 1);
    assert_true(metric(f, "SnapshotComplete", "Count") == 0);
    fixture_free(f);
}

/* The invocation's deadline reaches the pipeline (no object with less than the margin left, the
 * first record reported) and the AWS client (the deadline less the reply reserve: 500 ms, or a
 * tenth of a short invocation). */
static void test_deadline_from_invocation(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(ete_new(NULL), true);
    struct buf text = BUF_INIT(0);
    ete_stream_event(records, 2, &text);
    assert_int_equal(invoke(f, buf_cstr(&text), f->e->fs.wall_ms + 900), ERR_OK);
    assert_string_equal(buf_cstr(&f->response),
                        "{\"batchItemFailures\":[{\"itemIdentifier\":\"701\"}]}");
    assert_int_equal(f->e->fh->n_reqs, 0);
    assert_int_equal(f->e->aws.deadline_mono_ms, f->e->fs.mono_ms + 900 - 90);
    assert_int_equal(emf_lines(f), 1);
    assert_true(metric(f, "RecordsFailed", "Count") == 2);
    assert_true(metric(f, "RecordsOut", "Count") == 0);

    /* The next invocation has no deadline: the client's is cleared, and everything is written. */
    assert_int_equal(invoke(f, buf_cstr(&text), 0), ERR_OK);
    assert_string_equal(buf_cstr(&f->response), "{\"batchItemFailures\":[]}");
    assert_int_equal(f->e->aws.deadline_mono_ms, 0);
    buf_cleanup(&text);
    fixture_free(f);
}

/* ---- events that are not for us ------------------------------------------------------------- */

struct bad_event_row {
    const char *name;
    const char *event;
    const char *type;
    const char *message;
};

static const struct bad_event_row bad_event_rows[] = {
    {"event_truncated_json", "{\"Records\":[{\"eventSource\":\"aws:dynamodb\"", "InvalidEvent",
     "event is not valid JSON"},
    {"event_not_json", "hello", "InvalidEvent", "event is not valid JSON"},
    {"event_s3",
     "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":"
     "\"us-east-1\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"}}}]}",
     "UnsupportedEvent", "Records[0].eventSource \"aws:s3\""},
    {"event_sqs_after_dynamodb",
     "{\"Records\":[{\"eventSource\":\"aws:dynamodb\",\"dynamodb\":{}},"
     "{\"eventSource\":\"aws:sqs\",\"body\":\"x\"}]}",
     "UnsupportedEvent", "Records[1].eventSource \"aws:sqs\""},
    {"event_other_eventbridge",
     "{\"source\":\"aws.ec2\",\"detail-type\":\"EC2 Instance State-change Notification\"}",
     "UnsupportedEvent", "source \"aws.ec2\""},
    {"event_array", "[1,2]", "UnsupportedEvent", "a JSON array"},
    {"event_empty_records", "{\"Records\":[]}", "UnsupportedEvent", "an empty Records array"},
    /* Records read (one converted, one set aside) before the walk reaches the error: nothing of
     * them is filed, logged or written. */
    {"event_invalid_after_records",
     "{\"Records\":[{\"eventSource\":\"aws:dynamodb\",\"eventName\":\"INSERT\",\"dynamodb\":"
     "{\"SequenceNumber\":\"1\",\"NewImage\":{\"pk\":{\"S\":\"a\"}}}},{\"eventSource\":"
     "\"aws:dynamodb\",\"eventName\":\"INSERT\",\"dynamodb\":{\"SequenceNumber\":\"2\"}}],"
     "\"window\":{\"start\":}}",
     "InvalidEvent", "event is not valid JSON: invalid JSON at byte 231"},
};

/* The right errorType and a message saying what was seen; nothing is requested or written. */
static void test_bad_event_row(void **state)
{
    const struct bad_event_row *row = *state;
    struct fixture *f = fixture_new(ete_new(NULL), true);
    assert_int_equal(invoke(f, row->event, 0), ERR_INVALID_INPUT);
    assert_string_equal(rt_error_type(&f->err), row->type);
    ete_assert_contains(f->err.msg, row->message);
    assert_int_equal(f->e->fh->n_reqs, 0);
    assert_int_equal(buf_cstr(&f->response)[0], '\0');
    /* Neither a stream nor a snapshot invocation: no metrics document (README, "Metrics"). */
    assert_int_equal(emf_lines(f), 0);
    assert_int_equal(ete_log_count(f->e, "quarantined"), 0);
    assert_int_equal(ete_log_count(f->e, "stream batch processed"), 0);
    fixture_free(f);
}

/* ---- without AWS ----------------------------------------------------------------------------- */

/* file:// output and no AWS client (a local run without credentials): the stream works, and a
 * snapshot fails with Runtime.ConfigInvalid saying what is missing. */
static void test_file_output_without_aws(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(ete_new_file(NULL), false);
    struct buf text = BUF_INIT(0), object = BUF_INIT(0);
    ete_stream_event(records, 2, &text);
    assert_int_equal(invoke(f, buf_cstr(&text), 0), ERR_OK);
    assert_string_equal(buf_cstr(&f->response), "{\"batchItemFailures\":[]}");
    ete_text(f->e, "Orders/changes/dt=2025-11-24/hour=23/701-702.jsonl.gz", &object);
    assert_int_equal(ete_lines(&object), 2);

    assert_int_equal(invoke(f, "{\"export\":{\"table\":\"Orders\",\"segments\":2}}", 0),
                     ERR_CONFIG);
    assert_string_equal(rt_error_type(&f->err), "Runtime.ConfigInvalid");
    ete_assert_contains(f->err.msg, "snapshots read DynamoDB");
    assert_int_equal(f->e->fh->n_reqs, 0);
    assert_int_equal(emf_lines(f), 1);
    assert_true(metric(f, "SnapshotFailed", "Count") == 1);
    buf_cleanup(&text);
    buf_cleanup(&object);
    fixture_free(f);
}

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

int main(void)
{
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_stream_event),
        cmocka_unit_test(test_stream_record_text_kept),
        cmocka_unit_test(test_stream_transform_metrics),
        cmocka_unit_test(test_scheduled_event),
        cmocka_unit_test(test_export_request),
        cmocka_unit_test(test_failed_export_counted),
        cmocka_unit_test(test_deadline_from_invocation),
        cmocka_unit_test(test_file_output_without_aws),
    };
    static struct CMUnitTest tests[ROWS(plain) + ROWS(bad_event_rows)];
    size_t n = 0;
    for (size_t i = 0; i < ROWS(plain); i++) {
        tests[n++] = plain[i];
    }
    for (size_t i = 0; i < ROWS(bad_event_rows); i++) {
        tests[n++] = (struct CMUnitTest){bad_event_rows[i].name, test_bad_event_row, NULL, NULL,
                                         (void *)&bad_event_rows[i]};
    }
    return _cmocka_run_group_tests("test_handler", tests, n, NULL, NULL);
}
