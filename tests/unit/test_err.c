/*
 * test_err.c - messages, prefixes and the retry classification of HTTP and transport errors.
 */
#include <string.h>

#include "err.h"
#include "test_util.h"

struct http_row {
    const char *name;
    int status;
    const char *code;
    bool retryable;
};

static const struct http_row http_rows[] = {
    {"500", 500, "InternalError", true},
    {"501_not_implemented", 501, "NotImplemented", false},
    {"503_slowdown", 503, "SlowDown", true},
    {"400_throttling", 400, "ThrottlingException", true},
    {"400_provisioned", 400, "ProvisionedThroughputExceededException", true},
    {"400_request_limit", 400, "RequestLimitExceeded", true},
    {"400_too_many", 400, "TooManyRequestsException", true},
    {"429_no_code", 429, NULL, true},
    {"400_validation", 400, "ValidationException", false},
    {"403_denied", 403, "AccessDenied", false},
    {"404_no_bucket", 404, "NoSuchBucket", false},
    {"400_request_timeout", 400, "RequestTimeout", true},
};

static void test_http_row(void **state)
{
    const struct http_row *row = *state;
    struct err err = ERR_INIT;
    assert_int_equal(
        err_from_http(&err, "PutObject s3://b/k", row->status, row->code, "msg", "RID"), ERR_HTTP);
    assert_int_equal(err.retryable, row->retryable);
    assert_int_equal(err.http_status, row->status);
    assert_string_equal(err.request_id, "RID");
    assert_non_null(strstr(err.msg, "PutObject s3://b/k"));
}

static void test_set_and_prefix(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    assert_int_equal(err_set(&err, ERR_INVALID_INPUT, "attribute \"%s\": bad", "price"),
                     ERR_INVALID_INPUT);
    assert_int_equal(err_prefix(&err, "record %d", 3), ERR_INVALID_INPUT);
    assert_string_equal(err.msg, "record 3: attribute \"price\": bad");
    assert_false(err.retryable);
    assert_int_equal(err_transport(&err, "GetObject", "timeout"), ERR_TRANSPORT);
    assert_true(err.retryable);
    assert_string_equal(err_code_name(ERR_DEADLINE), "ERR_DEADLINE");
}

struct name_row {
    const char *name;
    enum err_code code;
    const char *expected;
};

static const struct name_row name_rows[] = {
    {"name_ok", ERR_OK, "ERR_OK"},
    {"name_transport", ERR_TRANSPORT, "ERR_TRANSPORT"},
    {"name_deadline", ERR_DEADLINE, "ERR_DEADLINE"},
    {"name_io", ERR_IO, "ERR_IO"},
    {"name_unknown", (enum err_code)99, "ERR_UNKNOWN"},
};

static void test_name_row(void **state)
{
    const struct name_row *row = *state;
    assert_string_equal(err_code_name(row->code), row->expected);
}

/* The errorType is its own field: the AWS code stays the AWS code. */
static void test_type_field(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    assert_false(err_has_type(&err));
    assert_int_equal(
        err_from_http(&err, "Scan t", 400, "ResourceNotFoundException", "no table", NULL),
        ERR_HTTP);
    err_set_type(&err, "ExportFailed");
    assert_true(err_has_type(&err));
    assert_string_equal(err.type, "ExportFailed");
    assert_string_equal(err.aws_code, "ResourceNotFoundException");
    assert_int_equal(err.code, ERR_HTTP);
    /* err_prefix keeps it; err_set clears it with the rest. */
    assert_int_equal(err_prefix(&err, "segment %d", 2), ERR_HTTP);
    assert_string_equal(err.type, "ExportFailed");
    assert_int_equal(err_set(&err, ERR_IO, "disk full"), ERR_IO);
    assert_false(err_has_type(&err));
    assert_string_equal(err.aws_code, "");
    assert_false(err.retryable);
    /* Too long a type is cut to fit, never overflows. */
    char big[200];
    memset(big, 'T', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    err_set_type(&err, big);
    assert_int_equal(strlen(err.type), sizeof(err.type) - 1);
    err_set_type(&err, NULL);
    assert_false(err_has_type(&err));
}

static void test_long_message_truncates(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    (void)err_set(&err, ERR_CONFIG, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    (void)err_prefix(&err, "ctx");
    assert_true(strncmp(err.msg, "ctx: ", 5) == 0);
}

int main(void)
{
    enum { N = sizeof(http_rows) / sizeof(http_rows[0]) };
    enum { M = sizeof(name_rows) / sizeof(name_rows[0]) };
    struct CMUnitTest tests[N + M + 3];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){http_rows[i].name, test_http_row, NULL, NULL,
                                       (void *)&http_rows[i]};
    }
    for (size_t i = 0; i < M; i++) {
        tests[N + i] = (struct CMUnitTest){name_rows[i].name, test_name_row, NULL, NULL,
                                           (void *)&name_rows[i]};
    }
    tests[N + M] = (struct CMUnitTest)cmocka_unit_test(test_set_and_prefix);
    tests[N + M + 1] = (struct CMUnitTest)cmocka_unit_test(test_long_message_truncates);
    tests[N + M + 2] = (struct CMUnitTest)cmocka_unit_test(test_type_field);
    return _cmocka_run_group_tests("err", tests, N + M + 3, NULL, NULL);
}
