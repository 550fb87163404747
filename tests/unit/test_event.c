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

/* etl_event_parse, then a stream batch's walk over its records (checking only). */
static enum err_code parse_all(struct cur body, struct etl_event *ev, size_t *n, struct err *err)
{
    enum err_code rc = etl_event_parse(body, ev, err);
    *n = 0;
    if (rc == ERR_OK && ev->kind == ETL_EVENT_STREAM) {
        rc = etl_event_walk_records(ev, NULL, NULL, n, err);
    }
    return rc;
}

static void test_sample_row(void **state)
{
    const struct sample_row *row = *state;
    char path[512];
    snprintf(path, sizeof(path), "%s/events/%s", ETL_VECTORS_DIR, row->name);
    struct buf body = BUF_INIT(0);
    test_read_file(path, &body);
    struct etl_event ev;
    struct err err = ERR_INIT;
    size_t n = 0;
    assert_int_equal(parse_all(buf_cur(&body), &ev, &n, &err), row->code);
    if (row->code == ERR_OK) {
        assert_int_equal(ev.kind, row->kind);
        assert_int_equal(n, row->n_records);
    } else {
        assert_string_equal(err.type, row->type);
    }
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
    /* The records are checked as they are read: invalid JSON anywhere still wins. */
    {"invalid_after_unsupported",
     "{\"Records\":[{\"eventSource\":\"aws:s3\"},{\"eventSource\":\"aws:dynamodb\",\"x\":tru}]}",
     ERR_INVALID_INPUT, "InvalidEvent", "invalid JSON at byte 71: unexpected character"},
    {"invalid_after_records", "{\"Records\":[{\"eventSource\":\"aws:s3\"}],\"shardId\":}",
     ERR_INVALID_INPUT, "InvalidEvent", "invalid JSON at byte 48: unexpected character"},
    {"invalid_before_records", "{\"a\":[1,],\"Records\":[]}", ERR_INVALID_INPUT, "InvalidEvent",
     "invalid JSON at byte 8: unexpected character"},
    {"trailing_data", "{\"Records\":[{\"eventSource\":\"aws:dynamodb\"}]} x", ERR_INVALID_INPUT,
     "InvalidEvent", "trailing data"},
    {"too_deep_in_record",
     "{\"Records\":[{\"eventSource\":\"aws:dynamodb\",\"d\":"
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}",
     ERR_INVALID_INPUT, "InvalidEvent", "nesting too deep"},
    {"second_records_ignored", "{\"Records\":[{\"eventSource\":\"aws:dynamodb\"}],\"Records\":{}}",
     ERR_OK, NULL, NULL},
};

static void test_inline_row(void **state)
{
    const struct inline_row *row = *state;
    struct etl_event ev;
    struct err err = ERR_INIT;
    size_t n = 0;
    assert_int_equal(parse_all(cur_from_str(row->body), &ev, &n, &err), row->code);
    if (row->code != ERR_OK) {
        assert_string_equal(err.type, row->type);
        assert_non_null(strstr(err.msg, row->msg_part));
    }
}

/* Every one-byte variant of a two-record batch (replaced, removed, cut off): InvalidEvent exactly
 * when json_validate fails, with its message, as when the event was validated whole first. */
static void test_walk_like_validate(void **state)
{
    (void)state;
    static const char base[] =
        "{\"x\":[1],\"Records\":[{\"eventSource\":\"aws:dynamodb\",\"dynamodb\":{\"Keys\":"
        "{\"pk\":{\"S\":\"a\\u00e9\"}},\"N\":-1.5e3}},{\"eventSource\":\"aws:dynamodb\",\"b\":[true,"
        "false,null]}],\"shardId\":\"s\"}";
    static const char subs[] = "\"\\,:{}[] x\x01\xff"
                               "1-e";
    size_t n = sizeof(base) - 1;
    char text[sizeof(base)];
    for (size_t i = 0; i <= n; i++) {
        for (size_t k = 0; k <= sizeof(subs); k++) {
            size_t len = n;
            if (i == n && k < sizeof(subs)) {
                continue; /* only a cut at the end */
            }
            memcpy(text, base, n);
            if (k < sizeof(subs) - 1) {
                text[i] = subs[k];
            } else if (k == sizeof(subs) - 1) {
                memmove(text + i, text + i + 1, n - i - 1); /* removed */
                len = n - 1;
            } else {
                len = i; /* cut off */
            }
            struct etl_event ev;
            struct json_val root;
            struct err err = ERR_INIT, verr = ERR_INIT;
            size_t records = 0;
            enum err_code rc = parse_all(cur_make(text, len), &ev, &records, &err);
            bool valid =
                json_validate(cur_make(text, len), ETL_EVENT_MAX_DEPTH, &root, &verr) == ERR_OK;
            bool invalid_event = rc != ERR_OK && strcmp(err.type, "InvalidEvent") == 0;
            if (invalid_event == valid ||
                (!valid && strcmp(err.msg + strlen("event is not valid JSON: "), verr.msg) != 0)) {
                fail_msg("%.*s: %s / %s", (int)len, text, rc == ERR_OK ? "ok" : err.msg,
                         valid ? "valid" : verr.msg);
            }
        }
    }
}

/* A reader that fails on the record at index `fail_at`, counting its calls. */
struct counting {
    size_t calls;
    size_t fail_at;
};

static enum err_code
count_read(void *ctx, struct json_iter *at, size_t i, struct etl_record_seen *seen, struct err *err)
{
    struct counting *c = ctx;
    struct json_val rec;
    c->calls++;
    if (i == c->fail_at) {
        return err_set(err, ERR_NOMEM, "the reader ran out");
    }
    if (json_array_next(at, &rec) && rec.type == JSON_OBJECT) {
        seen->is_object = true;
        seen->has_source = json_object_get(&rec, "eventSource", &seen->source);
    }
    return ERR_OK;
}

/* Parses text and walks it with count_read failing at fail_at (counted in *c). */
static enum err_code walk_counting(const char *text,
                                   size_t fail_at,
                                   struct etl_event *ev,
                                   struct counting *c,
                                   size_t *n,
                                   struct err *err)
{
    *c = (struct counting){0, fail_at};
    assert_int_equal(etl_event_parse(cur_from_str(text), ev, err), ERR_OK);
    return etl_event_walk_records(ev, count_read, c, n, err);
}

/* The reader's error comes after invalid JSON and unsupported records, before nothing else; the
 * records after it are not read. */
static void test_reader_error(void **state)
{
    (void)state;
    const char *three = "{\"Records\":[{\"eventSource\":\"aws:dynamodb\"},"
                        "{\"eventSource\":\"aws:dynamodb\"},{\"eventSource\":\"aws:dynamodb\"}]}";
    const char *then_invalid = "{\"Records\":[{\"eventSource\":\"aws:dynamodb\"},"
                               "{\"eventSource\":\"aws:dynamodb\"},{\"eventSource\":}]}";
    const char *unsupported_first = "{\"Records\":[{\"eventSource\":\"aws:sqs\"},"
                                    "{\"eventSource\":\"aws:dynamodb\"}]}";
    const char *unsupported_after =
        "{\"Records\":[{\"eventSource\":\"aws:dynamodb\"},"
        "{\"eventSource\":\"aws:dynamodb\"},{\"eventSource\":\"aws:s3\"}]}";
    struct etl_event ev;
    struct err err = ERR_INIT;
    size_t n = 9;
    struct counting c;
    assert_int_equal(walk_counting(three, 1, &ev, &c, &n, &err), ERR_NOMEM);
    assert_string_equal(err.msg, "the reader ran out");
    assert_int_equal(c.calls, 2);
    assert_int_equal(n, 0);
    c = (struct counting){0, 99}; /* walked again: the event is unchanged */
    assert_int_equal(etl_event_walk_records(&ev, count_read, &c, &n, &err), ERR_OK);
    assert_int_equal(c.calls, 3);
    assert_int_equal(n, 3);
    assert_int_equal(walk_counting(then_invalid, 1, &ev, &c, &n, &err), ERR_INVALID_INPUT);
    assert_string_equal(err.type, "InvalidEvent");
    assert_int_equal(walk_counting(unsupported_first, 1, &ev, &c, &n, &err), ERR_INVALID_INPUT);
    assert_string_equal(err.type, "UnsupportedEvent");
    assert_non_null(strstr(err.msg, "Records[0].eventSource \"aws:sqs\""));
    assert_int_equal(c.calls, 1);
    /* A record from elsewhere after the reader failed is still found. */
    assert_int_equal(walk_counting(unsupported_after, 0, &ev, &c, &n, &err), ERR_INVALID_INPUT);
    assert_string_equal(err.type, "UnsupportedEvent");
    assert_non_null(strstr(err.msg, "Records[2].eventSource \"aws:s3\""));
    assert_int_equal(c.calls, 1);
}

int main(void)
{
    enum { NS = sizeof(sample_rows) / sizeof(sample_rows[0]) };
    enum { NI = sizeof(inline_rows) / sizeof(inline_rows[0]) };
    struct CMUnitTest tests[NS + NI + 2];
    for (size_t i = 0; i < NS; i++) {
        tests[i] = (struct CMUnitTest){sample_rows[i].name, test_sample_row, NULL, NULL,
                                       (void *)&sample_rows[i]};
    }
    for (size_t i = 0; i < NI; i++) {
        tests[NS + i] = (struct CMUnitTest){inline_rows[i].name, test_inline_row, NULL, NULL,
                                            (void *)&inline_rows[i]};
    }
    tests[NS + NI] = (struct CMUnitTest)cmocka_unit_test(test_walk_like_validate);
    tests[NS + NI + 1] = (struct CMUnitTest)cmocka_unit_test(test_reader_error);
    return _cmocka_run_group_tests("event", tests, NS + NI + 2, NULL, NULL);
}
