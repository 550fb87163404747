/*
 * test_event.c - event classification over AWS's own sample events and edge cases.
 */
#include <stdio.h>
#include <string.h>

#include "etl_event.h"
#include "test_util.h"

struct sample_row {
    const char *name; /* file under tests/vectors/events */
    enum err_code code;
    enum etl_event_kind kind;
    size_t n_records;
    const char *type; /* errorType when code != ERR_OK */
};

static const struct sample_row sample_rows[] = {
    {"aws-sam-cli__DynamoDBUpdate.json", ERR_OK, ETL_EVENT_STREAM, 3, NULL},
    {"aws-lambda-go__dynamodb-event.json", ERR_OK, ETL_EVENT_STREAM, 2, NULL},
    {"aws-lambda-go__dynamodb-time-window-event.json", ERR_OK, ETL_EVENT_STREAM, 3, NULL},
    {"powertools-lambda-python__dynamoStreamEvent.json", ERR_OK, ETL_EVENT_STREAM, 2, NULL},
    {"aws-lambda-dotnet__dynamodb-event.json", ERR_OK, ETL_EVENT_STREAM, 2, NULL},
    {"powertools-lambda-java__dynamo_event_big.json", ERR_OK, ETL_EVENT_STREAM, 12, NULL},
    {"aws-sam-cli__ScheduledEvent.json", ERR_OK, ETL_EVENT_SCHEDULED, 0, NULL},
    {"aws-lambda-rust-runtime__example-eventbridge-schedule.json", ERR_OK, ETL_EVENT_SCHEDULED, 0,
     NULL},
    {"powertools-lambda-python__eventBridgeEvent.json", ERR_INVALID_INPUT, 0, 0,
     "UnsupportedEvent"},
    {"powertools-lambda-python__awsConfigRuleScheduled.json", ERR_INVALID_INPUT, 0, 0,
     "UnsupportedEvent"},
    {"aws-lambda-go__s3-event.json", ERR_INVALID_INPUT, 0, 0, "UnsupportedEvent"},
    {"aws-lambda-go__sqs-event.json", ERR_INVALID_INPUT, 0, 0, "UnsupportedEvent"},
    {"aws-lambda-go__apigw-request.json", ERR_INVALID_INPUT, 0, 0, "UnsupportedEvent"},
};

static void test_sample_row(void **state)
{
    const struct sample_row *row = *state;
    char path[512];
    snprintf(path, sizeof(path), "%s/events/%s", ETL_VECTORS_DIR, row->name);
    struct buf body = BUF_INIT(0);
    test_read_file(path, &body);
    struct etl_event ev;
    struct err err = ERR_INIT;
    struct json_index index;
    json_index_init(&index, 1024 * 1024);
    assert_int_equal(etl_event_parse(buf_cur(&body), &index, &ev, &err), row->code);
    if (row->code == ERR_OK) {
        assert_int_equal(ev.kind, row->kind);
        assert_int_equal(ev.n_records, row->n_records);
    } else {
        assert_string_equal(err.type, row->type);
    }
    json_index_cleanup(&index);
    buf_cleanup(&body);
}

struct inline_row {
    const char *name;
    const char *body;
    enum err_code code;
    const char *type;
    const char *msg_part;
};

static const struct inline_row inline_rows[] = {
    {"malformed", "{\"Records\":[", ERR_INVALID_INPUT, "InvalidEvent", "not valid JSON"},
    {"empty", "", ERR_INVALID_INPUT, "InvalidEvent", "not valid JSON: invalid JSON: empty input"},
    {"not_json", "hello", ERR_INVALID_INPUT, "InvalidEvent", "invalid JSON at byte 0"},
    {"null", "null", ERR_INVALID_INPUT, "UnsupportedEvent", "got a JSON null"},
    {"array", "[1,2]", ERR_INVALID_INPUT, "UnsupportedEvent", "a JSON array"},
    {"empty_object", "{}", ERR_INVALID_INPUT, "UnsupportedEvent", "an empty object"},
    {"s3_in_records", "{\"Records\":[{\"eventSource\":\"aws:s3\"}]}", ERR_INVALID_INPUT,
     "UnsupportedEvent", "Records[0].eventSource \"aws:s3\""},
    {"mixed_sources",
     "{\"Records\":[{\"eventSource\":\"aws:dynamodb\"},{\"eventSource\":\"aws:sqs\"}]}",
     ERR_INVALID_INPUT, "UnsupportedEvent", "Records[1].eventSource \"aws:sqs\""},
    {"records_not_array", "{\"Records\":{}}", ERR_INVALID_INPUT, "UnsupportedEvent",
     "not an array"},
    {"empty_records", "{\"Records\":[]}", ERR_INVALID_INPUT, "UnsupportedEvent", "empty Records"},
    {"window_final", "{\"Records\":[],\"shardId\":\"s\",\"window\":{}}", ERR_OK, NULL, NULL},
    {"ec2_event",
     "{\"source\":\"aws.ec2\",\"detail-type\":\"EC2 Instance State-change Notification\"}",
     ERR_INVALID_INPUT, "UnsupportedEvent", "source \"aws.ec2\""},
    {"export_request", "{\"export\":{\"table\":\"t\"}}", ERR_OK, NULL, NULL},
    {"escaped_source", "{\"Records\":[{\"eventSource\":\"aws:dynam\\u006fdb\"}]}", ERR_OK, NULL,
     NULL},
};

static void test_inline_row(void **state)
{
    const struct inline_row *row = *state;
    struct etl_event ev;
    struct err err = ERR_INIT;
    assert_int_equal(etl_event_parse(cur_from_str(row->body), NULL, &ev, &err), row->code);
    if (row->code != ERR_OK) {
        assert_string_equal(err.type, row->type);
        assert_non_null(strstr(err.msg, row->msg_part));
    }
}

int main(void)
{
    enum { NS = sizeof(sample_rows) / sizeof(sample_rows[0]) };
    enum { NI = sizeof(inline_rows) / sizeof(inline_rows[0]) };
    struct CMUnitTest tests[NS + NI];
    for (size_t i = 0; i < NS; i++) {
        tests[i] = (struct CMUnitTest){sample_rows[i].name, test_sample_row, NULL, NULL,
                                       (void *)&sample_rows[i]};
    }
    for (size_t i = 0; i < NI; i++) {
        tests[NS + i] = (struct CMUnitTest){inline_rows[i].name, test_inline_row, NULL, NULL,
                                            (void *)&inline_rows[i]};
    }
    return _cmocka_run_group_tests("event", tests, NS + NI, NULL, NULL);
}
