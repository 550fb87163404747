/*
 * test_rt_loop.c - Runtime API client: /next header parsing, the invocation context, error
 * bodies, and the loop's behaviour on handler failures, oversize events and API failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fake_http.h"
#include "fake_sys.h"
#include "log.h"
#include "rt_loop.h"
#include "test_util.h"

struct header_row {
    const char *name;
    const char *headers;
    enum err_code code;
    const char *request_id;
    int64_t deadline_ms;
};

static const struct header_row header_rows[] = {
    {"all_headers",
     "Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n"
     "Lambda-Runtime-Deadline-Ms: 1542409706888\r\n"
     "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:fn\r\n"
     "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n"
     "Lambda-Runtime-Client-Context: {\"client\":{}}\r\n"
     "Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\":\"x\"}\r\n",
     ERR_OK, "8476a536-e9f4-11e8-9739-2dfe598c3fcd", 1542409706888LL},
    {"lowercase_names", "lambda-runtime-aws-request-id:  abc \r\nlambda-runtime-deadline-ms: 5\r\n",
     ERR_OK, "abc", 5},
    {"no_deadline", "Lambda-Runtime-Aws-Request-Id: abc\r\n", ERR_OK, "abc", 0},
    {"missing_id", "Lambda-Runtime-Deadline-Ms: 5\r\n", ERR_INVALID_INPUT, "", 0},
    {"empty_id", "Lambda-Runtime-Aws-Request-Id: \r\n", ERR_INVALID_INPUT, "", 0},
    {"id_with_slash", "Lambda-Runtime-Aws-Request-Id: ../x\r\n", ERR_INVALID_INPUT, "", 0},
    {"bad_deadline", "Lambda-Runtime-Aws-Request-Id: a\r\nLambda-Runtime-Deadline-Ms: 12x\r\n",
     ERR_INVALID_INPUT, "a", 0},
};

static void test_header_row(void **state)
{
    const struct header_row *row = *state;
    struct http_response resp;
    http_response_init(&resp, 0);
    struct err err = ERR_INIT;
    assert_int_equal(buf_append_str(&resp.headers, row->headers, &err), ERR_OK);
    struct rt_invocation inv;
    rt_invocation_init(&inv);
    assert_int_equal(rt_parse_next_headers(&resp, &inv, &err), row->code);
    if (row->code == ERR_OK) {
        assert_string_equal(inv.request_id, row->request_id);
        assert_int_equal(inv.deadline_ms, row->deadline_ms);
    } else {
        assert_true(strlen(err.msg) > 0);
    }
    rt_invocation_cleanup(&inv);
    http_response_cleanup(&resp);
}

static void test_optional_headers(void **state)
{
    (void)state;
    struct http_response resp;
    http_response_init(&resp, 0);
    struct err err = ERR_INIT;
    assert_int_equal(buf_append_str(&resp.headers, header_rows[0].headers, &err), ERR_OK);
    struct rt_invocation inv;
    rt_invocation_init(&inv);
    assert_int_equal(rt_parse_next_headers(&resp, &inv, &err), ERR_OK);
    assert_string_equal(inv.function_arn, "arn:aws:lambda:us-east-2:123456789012:function:fn");
    assert_string_equal(
        inv.trace_id, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1");
    assert_string_equal(inv.client_context, "{\"client\":{}}");
    assert_string_equal(inv.cognito_identity, "{\"cognitoIdentityId\":\"x\"}");
    /* Parsing again for the next invocation drops the previous optional values. */
    http_response_reset(&resp);
    assert_int_equal(buf_append_str(&resp.headers, "Lambda-Runtime-Aws-Request-Id: b\r\n", &err),
                     ERR_OK);
    assert_int_equal(rt_parse_next_headers(&resp, &inv, &err), ERR_OK);
    assert_null(inv.client_context);
    assert_string_equal(inv.trace_id, "");
    rt_invocation_cleanup(&inv);
    http_response_cleanup(&resp);
}

static void test_remaining_time(void **state)
{
    (void)state;
    struct fake_sys fs;
    fake_sys_init(&fs, 1000000);
    struct rt_invocation inv;
    rt_invocation_init(&inv);
    assert_int_equal(rt_invocation_remaining_ms(&inv, &fs.sys), INT64_MAX);
    inv.deadline_ms = 1003000;
    assert_int_equal(rt_invocation_remaining_ms(&inv, &fs.sys), 3000);
    fs.wall_ms = 1004000;
    assert_int_equal(rt_invocation_remaining_ms(&inv, &fs.sys), -1000);
    rt_invocation_cleanup(&inv);
}

/* The wall-clock deadline read once into the monotonic base, then counted down by it. */
struct deadline_row {
    const char *name;
    int64_t wall_ms;     /* the wall clock when converting */
    int64_t mono_ms;     /* the monotonic clock then */
    int64_t deadline_ms; /* Lambda-Runtime-Deadline-Ms; 0 = none */
    int64_t expected;    /* rt_invocation_deadline_mono */
    int64_t left_ms;     /* sys_ms_left right after */
};

static const struct deadline_row deadline_rows[] = {
    {"deadline_none", 1000000, 5000, 0, 0, INT64_MAX},
    {"deadline_ahead", 1000000, 5000, 1003000, 8000, 3000},
    {"deadline_passed", 1004000, 5000, 1003000, 4000, -1000},
    {"deadline_before_mono_zero", 1000000, 100, 1, 1, -99},
};

static void test_deadline_row(void **state)
{
    const struct deadline_row *row = *state;
    struct fake_sys fs;
    fake_sys_init(&fs, row->wall_ms);
    fs.mono_ms = row->mono_ms;
    struct rt_invocation inv;
    rt_invocation_init(&inv);
    inv.deadline_ms = row->deadline_ms;
    int64_t deadline = rt_invocation_deadline_mono(&inv, &fs.sys);
    assert_int_equal(deadline, row->expected);
    assert_int_equal(sys_ms_left(&fs.sys, deadline), row->left_ms);
    if (deadline != 0) {
        /* A wall-clock step (NTP) moves neither the deadline nor the time left; waiting does. */
        fs.wall_ms += 60000;
        assert_int_equal(sys_ms_left(&fs.sys, deadline), row->left_ms);
        sys_sleep_ms(&fs.sys, 500);
        fs.wall_ms -= 500;
        assert_int_equal(sys_ms_left(&fs.sys, deadline), row->left_ms - 500);
    }
    rt_invocation_cleanup(&inv);
}

static void test_deadline_in(void **state)
{
    (void)state;
    struct fake_sys fs;
    fake_sys_init(&fs, 1000000);
    int64_t deadline = sys_deadline_in(&fs.sys, 2500);
    assert_int_equal(deadline, fs.mono_ms + 2500);
    assert_int_equal(sys_ms_left(&fs.sys, deadline), 2500);
    sys_sleep_ms(&fs.sys, 3000);
    assert_int_equal(sys_ms_left(&fs.sys, deadline), -500);
    assert_int_equal(sys_ms_left(&fs.sys, 0), INT64_MAX);
}

static void test_error_body(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(rt_error_body(&out, "InvalidEvent", "bad \"json\"\n", &err), ERR_OK);
    cJSON *j = cJSON_Parse(buf_cstr(&out));
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring, "bad \"json\"\n");
    assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "InvalidEvent");
    cJSON *st = cJSON_GetObjectItem(j, "stackTrace");
    assert_true(cJSON_IsArray(st));
    assert_int_equal(cJSON_GetArraySize(st), 0);
    cJSON_Delete(j);
    buf_cleanup(&out);
}

static void test_error_type(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    (void)err_set(&err, ERR_INVALID_INPUT, "x");
    assert_string_equal(rt_error_type(&err), "InvalidEvent");
    err_set_type(&err, "UnsupportedEvent");
    assert_string_equal(rt_error_type(&err), "UnsupportedEvent");
    (void)err_set(&err, ERR_DEADLINE, "x");
    assert_string_equal(rt_error_type(&err), "DeadlineExceeded");
}

/* rt_error_type's order: the handler's type, else the AWS code, else a name for the code. */
struct type_row {
    const char *name;
    enum err_code code;
    const char *aws_code; /* NULL: not an HTTP failure */
    const char *type;     /* NULL: err_set_type not called */
    const char *expected;
};

static const struct type_row type_rows[] = {
    {"type_derived_invalid", ERR_INVALID_INPUT, NULL, NULL, "InvalidEvent"},
    {"type_derived_transport", ERR_TRANSPORT, NULL, NULL, "TransportError"},
    {"type_derived_io", ERR_IO, NULL, NULL, "IOError"},
    {"type_derived_http", ERR_HTTP, "", NULL, "ServiceError"},
    {"type_aws_code", ERR_HTTP, "ResourceNotFoundException", NULL, "ResourceNotFoundException"},
    {"type_over_aws_code", ERR_HTTP, "ThrottlingException", "ExportFailed", "ExportFailed"},
    {"type_over_derived", ERR_INVALID_INPUT, NULL, "UnsupportedEvent", "UnsupportedEvent"},
    {"type_io_named", ERR_IO, NULL, "CheckpointCorrupt", "CheckpointCorrupt"},
};

static void test_type_row(void **state)
{
    const struct type_row *row = *state;
    struct err err = ERR_INIT;
    if (row->aws_code != NULL) {
        (void)err_from_http(&err, "Scan t", 400, row->aws_code, "m", NULL);
    } else {
        (void)err_set(&err, row->code, "x");
    }
    if (row->type != NULL) {
        err_set_type(&err, row->type);
    }
    assert_int_equal(err.code, row->code);
    assert_string_equal(rt_error_type(&err), row->expected);
    if (row->aws_code != NULL) {
        assert_string_equal(err.aws_code, row->aws_code); /* the type never replaces it */
    }
}

/* Handler: fails on events containing "fail", answers {"ok":N} otherwise; stops after 3. */
struct handler_state {
    int calls;
    struct rt_signals *sig;
    char trace_seen[128];
};

static enum err_code
test_handler(void *ctx, const struct rt_invocation *inv, struct buf *response, struct err *err)
{
    struct handler_state *hs = ctx;
    hs->calls++;
    const char *trace = getenv("_X_AMZN_TRACE_ID");
    snprintf(hs->trace_seen, sizeof(hs->trace_seen), "%s", trace != NULL ? trace : "(unset)");
    if (strstr(buf_cstr(&inv->event), "fail") != NULL) {
        (void)err_set(err, ERR_INVALID_INPUT, "handler refused %s", inv->request_id);
        err_set_type(err, "Refused");
        return ERR_INVALID_INPUT;
    }
    return buf_printf(response, err, "{\"ok\":%d}", hs->calls);
}

static void test_loop_survives_handler_failure(void **state)
{
    (void)state;
    static const struct fake_response script[] = {
        {200, "Lambda-Runtime-Aws-Request-Id: r1\r\nLambda-Runtime-Trace-Id: Root=1-a\r\n",
         "{\"x\":\"fail\"}", 0, false},
        {202, NULL, "{\"status\":\"OK\"}\n", 0, false},
        {200, "Lambda-Runtime-Aws-Request-Id: r2\r\n", "{\"x\":1}", 0, false},
        {202, NULL, "{\"status\":\"OK\"}\n", 0, false},
        {200, "Lambda-Runtime-Aws-Request-Id: r3\r\n", "{}", 0, false},
        {400, NULL, "{\"errorType\":\"InvalidRequestID\"}", 0, false}, /* timed out: go on */
        {500, NULL, "{\"errorType\":\"InternalServerError\"}", 0, false},
    };
    struct fake_http *fh = fake_http_new();
    fake_http_script(fh, script, sizeof(script) / sizeof(script[0]));
    struct fake_sys fs;
    fake_sys_init(&fs, 1000);
    struct rt_client rt;
    struct err err = ERR_INIT;
    assert_int_equal(rt_client_init(&rt, "127.0.0.1:9001", &fh->base, &fs.sys, &err), ERR_OK);
    struct rt_signals sig = {0, 0};
    struct handler_state hs = {0, &sig, ""};
    log_set_sink(NULL, NULL);
    enum err_code rc = rt_run(&rt, test_handler, &hs, &sig, &err);
    /* The 500 on the fourth /next ends the loop; everything before was served. */
    assert_int_equal(rc, ERR_HTTP);
    assert_int_equal(err.http_status, 500);
    assert_int_equal(hs.calls, 3);
    assert_int_equal(fh->n_reqs, 7);
    assert_string_equal(fh->reqs[0].url,
                        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next");
    assert_int_equal(fh->reqs[0].timeout_ms, 0); /* never a client timeout on /next */
    assert_string_equal(fh->reqs[1].url,
                        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/r1/error");
    assert_string_equal(fake_request_header(&fh->reqs[1], "Lambda-Runtime-Function-Error-Type"),
                        "Refused");
    cJSON *j = cJSON_Parse(buf_cstr(&fh->reqs[1].body));
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "Refused");
    assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring, "handler refused r1");
    cJSON_Delete(j);
    assert_string_equal(fh->reqs[3].url,
                        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/r2/response");
    assert_string_equal(buf_cstr(&fh->reqs[3].body), "{\"ok\":2}");
    /* The trace id of r1 does not leak into r3, which had none. */
    assert_string_equal(hs.trace_seen, "(unset)");
    http_transport_free(&fh->base);
}

static void test_oversize_event_is_answered(void **state)
{
    (void)state;
    static char big[RT_MAX_EVENT_BYTES + 2];
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    static const struct fake_response tail[] = {
        {202, NULL, "{}", 0, false},
        {0, NULL, NULL, 0, true},
    };
    struct fake_response script[3];
    script[0] = (struct fake_response){200, "Lambda-Runtime-Aws-Request-Id: big1\r\n", big,
                                       sizeof(big) - 1, false};
    script[1] = tail[0];
    script[2] = tail[1];
    struct fake_http *fh = fake_http_new();
    fake_http_script(fh, script, 3);
    struct fake_sys fs;
    fake_sys_init(&fs, 1000);
    struct rt_client rt;
    struct err err = ERR_INIT;
    assert_int_equal(rt_client_init(&rt, "127.0.0.1:9001", &fh->base, &fs.sys, &err), ERR_OK);
    struct rt_signals sig = {0, 0};
    struct handler_state hs = {0, &sig, ""};
    assert_int_equal(rt_run(&rt, test_handler, &hs, &sig, &err), ERR_TRANSPORT);
    assert_int_equal(hs.calls, 0);
    assert_int_equal(fh->n_reqs, 3);
    assert_string_equal(fh->reqs[1].url,
                        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/big1/error");
    assert_non_null(strstr(buf_cstr(&fh->reqs[1].body), "EventTooLarge"));
    http_transport_free(&fh->base);
}

static void test_client_init_rejects_bad_api(void **state)
{
    (void)state;
    struct rt_client rt;
    struct err err = ERR_INIT;
    assert_int_equal(rt_client_init(&rt, NULL, NULL, NULL, &err), ERR_CONFIG);
    assert_non_null(strstr(err.msg, "AWS_LAMBDA_RUNTIME_API"));
    assert_int_equal(rt_client_init(&rt, "http://x/", NULL, NULL, &err), ERR_CONFIG);
}

int main(void)
{
    enum { N = sizeof(header_rows) / sizeof(header_rows[0]) };
    enum { T = sizeof(type_rows) / sizeof(type_rows[0]) };
    enum { D = sizeof(deadline_rows) / sizeof(deadline_rows[0]) };
    struct CMUnitTest tests[N + 7 + T + D + 1];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){header_rows[i].name, test_header_row, NULL, NULL,
                                       (void *)&header_rows[i]};
    }
    for (size_t i = 0; i < T; i++) {
        tests[N + 7 + i] = (struct CMUnitTest){type_rows[i].name, test_type_row, NULL, NULL,
                                               (void *)&type_rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_optional_headers);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_remaining_time);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_error_body);
    tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_error_type);
    tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(test_loop_survives_handler_failure);
    tests[N + 5] = (struct CMUnitTest)cmocka_unit_test(test_oversize_event_is_answered);
    tests[N + 6] = (struct CMUnitTest)cmocka_unit_test(test_client_init_rejects_bad_api);
    for (size_t i = 0; i < D; i++) {
        tests[N + 7 + T + i] = (struct CMUnitTest){deadline_rows[i].name, test_deadline_row, NULL,
                                                   NULL, (void *)&deadline_rows[i]};
    }
    tests[N + 7 + T + D] = (struct CMUnitTest)cmocka_unit_test(test_deadline_in);
    return _cmocka_run_group_tests("rt_loop", tests, N + 7 + T + D + 1, NULL, NULL);
}
