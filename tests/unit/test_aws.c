/*
 * test_aws.c - the signed call with the SDKs' standard retry mode: which failures are retried,
 * backoff bounds, re-signing with a fresh date, attempt budget and the invocation deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws.h"
#include "digest.h"
#include "fake_http.h"
#include "fake_sys.h"
#include "test_util.h"

struct fixture {
    struct fake_http *fh;
    struct fake_sys fs;
    struct creds_provider creds;
    struct aws_endpoints eps;
    struct aws_client c;
};

static char *const base_env[] = {
    "AWS_REGION=eu-west-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEXAMPLETOKEN",
    "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567",
    NULL,
};

static void fixture_init(struct fixture *f, int max_attempts)
{
    struct err err = ERR_INIT;
    memset(f, 0, sizeof(*f));
    f->fh = fake_http_new();
    fake_sys_init(&f->fs, 1440000000000LL); /* 2015-08-19T16:00:00Z */
    f->fs.fixed_random = 0x123456789ULL;
    assert_int_equal(aws_endpoints_load(&f->eps, base_env, &err), ERR_OK);
    assert_int_equal(creds_provider_init(&f->creds, base_env, NULL, &f->fs.sys, &err), ERR_OK);
    aws_client_init(&f->c, &f->fh->base, &f->fs.sys, &f->creds, &f->eps, max_attempts);
}

static void fixture_cleanup(struct fixture *f)
{
    aws_client_cleanup(&f->c);
    creds_provider_cleanup(&f->creds);
    http_transport_free(&f->fh->base);
}

static void parse_ddb_error(const struct http_response *resp,
                            char *code,
                            size_t code_cap,
                            char *message,
                            size_t message_cap)
{
    const char *b = buf_cstr(&resp->body);
    const char *hash = strchr(b, '#');
    code[0] = '\0';
    message[0] = '\0';
    (void)message_cap;
    if (hash != NULL) {
        size_t n = strcspn(hash + 1, "\"");
        if (n < code_cap) {
            memcpy(code, hash + 1, n);
            code[n] = '\0';
        }
    }
}

/* One DynamoDB Scan through aws_call, as ddb.c makes it. */
static enum err_code call(struct fixture *f, struct http_response *resp, struct err *err)
{
    static const struct http_header headers[] = {
        {"Content-Type", "application/x-amz-json-1.0"},
        {"X-Amz-Target", "DynamoDB_20120810.Scan"},
    };
    struct aws_request req = {
        .op = "Scan t",
        .service = "dynamodb",
        .ep = &f->eps.dynamodb,
        .method = "POST",
        .path = "/",
        .headers = headers,
        .n_headers = 2,
        .body = cur_from_str("{\"TableName\":\"t\"}"),
        .parse_error = parse_ddb_error,
    };
    return aws_call(&f->c, &req, resp, err);
}

#define OK_200                                                                                     \
    {                                                                                              \
        200, NULL, "{}", 0, false                                                                  \
    }
#define E503                                                                                       \
    {                                                                                              \
        503, NULL, "", 0, false                                                                    \
    }
#define RESET                                                                                      \
    {                                                                                              \
        0, NULL, NULL, 0, true                                                                     \
    }

struct retry_row {
    const char *name;
    struct fake_response script[4];
    size_t n_script;
    int max_attempts;
    enum err_code code;
    size_t requests;
};

static const struct retry_row retry_rows[] = {
    {"ok_first_try", {OK_200}, 1, 3, ERR_OK, 1},
    {"503_then_ok", {E503, OK_200}, 2, 3, ERR_OK, 2},
    {"reset_then_ok", {RESET, OK_200}, 2, 3, ERR_OK, 2},
    {"500_500_ok",
     {{500, NULL, "{}", 0, false}, {500, NULL, "{}", 0, false}, OK_200},
     3,
     3,
     ERR_OK,
     3},
    {"budget_exhausted", {E503, E503, E503, OK_200}, 4, 3, ERR_HTTP, 3},
    {"budget_of_one", {E503, OK_200}, 2, 1, ERR_HTTP, 1},
    {"validation_not_retried",
     {{400, NULL, "{\"__type\":\"com.amazon.coral.validate#ValidationException\"}", 0, false},
      OK_200},
     2,
     3,
     ERR_HTTP,
     1},
    {"403_not_retried", {{403, NULL, "", 0, false}, OK_200}, 2, 3, ERR_HTTP, 1},
    {"throttling_400_retried",
     {{400, NULL, "{\"__type\":\"x#ThrottlingException\"}", 0, false}, OK_200},
     2,
     3,
     ERR_OK,
     2},
    {"429_retried", {{429, NULL, "", 0, false}, OK_200}, 2, 3, ERR_OK, 2},
};

static void test_retry_row(void **state)
{
    const struct retry_row *row = *state;
    struct fixture f;
    fixture_init(&f, row->max_attempts);
    fake_http_script(f.fh, row->script, row->n_script);
    struct http_response resp;
    http_response_init(&resp, 1024);
    struct err err = ERR_INIT;
    assert_int_equal(call(&f, &resp, &err), row->code);
    assert_int_equal(f.fh->n_reqs, row->requests);
    assert_int_equal(f.fs.n_sleeps, row->requests - 1);
    if (row->code != ERR_OK) {
        assert_non_null(strstr(err.msg, "Scan t"));
    }
    http_response_cleanup(&resp);
    fixture_cleanup(&f);
}

static void test_each_attempt_resigned(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 3);
    static const struct fake_response script[] = {E503, E503, OK_200};
    fake_http_script(f.fh, script, 3);
    f.fs.fixed_random = 5000; /* delays of 5000 % (ceiling + 1) ms */
    struct http_response resp;
    http_response_init(&resp, 1024);
    struct err err = ERR_INIT;
    assert_int_equal(call(&f, &resp, &err), ERR_OK);
    assert_int_equal(f.fh->n_reqs, 3);
    char dates[3][32];
    char auths[3][512];
    for (int i = 0; i < 3; i++) {
        snprintf(dates[i], sizeof(dates[i]), "%s",
                 fake_request_header(&f.fh->reqs[i], "X-Amz-Date"));
        snprintf(auths[i], sizeof(auths[i]), "%s",
                 fake_request_header(&f.fh->reqs[i], "Authorization"));
        assert_string_equal(fake_request_header(&f.fh->reqs[i], "X-Amz-Security-Token"),
                            "IQoJb3JpZ2luX2VjEXAMPLETOKEN");
        assert_non_null(strstr(auths[i], "x-amz-security-token"));
        assert_non_null(
            strstr(auths[i], "Credential=AKIDEXAMPLE/20150819/eu-west-1/dynamodb/aws4_request"));
        assert_string_equal(f.fh->reqs[i].url, "http://127.0.0.1:4567/");
    }
    /* The sleeps advanced the clock (by 5000 % 101 = 51 ms, then 5000 % 201 = 176 ms), so the
     * dates differ only if the sleeps crossed a second; the signatures must differ anyway
     * whenever the date does. */
    assert_int_equal(f.fs.sleeps[0], 5000 % 101);
    assert_int_equal(f.fs.sleeps[1], 5000 % 201);
    assert_string_equal(dates[0], "20150819T160000Z");
    f.fs.wall_ms += 2000;
    fake_http_clear(f.fh);
    static const struct fake_response script2[] = {OK_200};
    fake_http_script(f.fh, script2, 1);
    assert_int_equal(call(&f, &resp, &err), ERR_OK);
    assert_string_not_equal(fake_request_header(&f.fh->reqs[0], "X-Amz-Date"), dates[0]);
    assert_string_not_equal(fake_request_header(&f.fh->reqs[0], "Authorization"), auths[0]);
    http_response_cleanup(&resp);
    fixture_cleanup(&f);
}

/* A streamed body after a reset and a 500: each attempt sends the whole file span again, from
 * its first byte, under the same payload hash (what the signature covers). */
static void test_streamed_body_resent_whole(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 3);
    static const struct fake_response script[] = {
        RESET, {500, NULL, "<Error><Code>InternalError</Code></Error>", 0, false}, OK_200};
    fake_http_script(f.fh, script, 3);
    char path[] = "/tmp/test-aws-body-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    static const char junk[] = "not the body";
    static const char body[] = "the part that is the body, sent whole each time";
    assert_int_equal(pwrite(fd, junk, sizeof(junk) - 1, 0), (ssize_t)(sizeof(junk) - 1));
    assert_int_equal(pwrite(fd, body, sizeof(body) - 1, sizeof(junk) - 1),
                     (ssize_t)(sizeof(body) - 1));
    struct http_body_file file = {fd, sizeof(junk) - 1, sizeof(body) - 1};
    struct digest_sha256 d;
    char sha[DIGEST_SHA256_HEX];
    struct err err = ERR_INIT;
    assert_int_equal(digest_sha256_init(&d, &err), ERR_OK);
    digest_sha256_update(&d, body, sizeof(body) - 1);
    digest_sha256_final_hex(&d, sha);
    digest_sha256_cleanup(&d);
    struct aws_request req = {
        .op = "UploadPart s3://b/k",
        .service = "s3",
        .ep = &f.eps.s3,
        .bucket = "bkt",
        .method = "PUT",
        .path = "/k",
        .query = "partNumber=1&uploadId=u",
        .body_file = &file,
        .payload_hash = sha,
        .s3_mode = true,
    };
    struct http_response resp;
    http_response_init(&resp, 1024);
    assert_int_equal(aws_call(&f.c, &req, &resp, &err), ERR_OK);
    assert_int_equal(f.fh->n_reqs, 3);
    for (size_t i = 0; i < 3; i++) {
        const struct fake_request *r = &f.fh->reqs[i];
        assert_int_equal(r->body.len, sizeof(body) - 1);
        assert_memory_equal(r->body.data, body, sizeof(body) - 1);
        assert_string_equal(fake_request_header(r, "x-amz-content-sha256"), sha);
        assert_non_null(fake_request_header(r, "Authorization"));
    }
    close(fd);
    http_response_cleanup(&resp);
    fixture_cleanup(&f);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    struct fake_sys fs;
    fake_sys_init(&fs, 0);
    for (int i = 0; i < 2000; i++) {
        int retry = 1 + i % 12;
        int64_t d = aws_backoff_ms(&fs.sys, retry, false);
        int64_t cap = AWS_BASE_DELAY_MS << (retry - 1);
        if (cap > AWS_MAX_BACKOFF_MS) {
            cap = AWS_MAX_BACKOFF_MS;
        }
        assert_true(d >= 0 && d <= cap);
        int64_t t = aws_backoff_ms(&fs.sys, retry, true);
        int64_t tcap = (int64_t)AWS_THROTTLE_BASE_MS << (retry - 1);
        if (tcap > AWS_MAX_BACKOFF_MS) {
            tcap = AWS_MAX_BACKOFF_MS;
        }
        assert_true(t >= 0 && t <= tcap);
    }
    fs.fixed_random = UINT64_MAX; /* the top of the range is reachable */
    assert_int_equal(aws_backoff_ms(&fs.sys, 1, false), UINT64_MAX % (AWS_BASE_DELAY_MS + 1));
}

static void test_deadline_stops_retries(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 5);
    static const struct fake_response script[] = {E503, E503, E503, OK_200};
    fake_http_script(f.fh, script, 4);
    f.fs.fixed_random = 99; /* 99 ms, then 99 ms... */
    /* 120 ms left: the first attempt runs; a retry needs 99 ms + the minimum attempt time
     * (a tenth of the time left, at least 50 ms), which does not fit. */
    aws_client_set_deadline(&f.c, f.fs.mono_ms + 120);
    struct http_response resp;
    http_response_init(&resp, 1024);
    struct err err = ERR_INIT;
    assert_int_equal(call(&f, &resp, &err), ERR_HTTP);
    assert_int_equal(f.fh->n_reqs, 1);
    assert_non_null(strstr(err.msg, "no time left"));
    /* The attempt's own timeout was cut to the time left. */
    assert_true(f.fh->reqs[0].timeout_ms <= 120);
    assert_true(f.fh->reqs[0].timeout_ms > 0);
    /* Less than the minimum attempt time left: no request at all. */
    fake_http_clear(f.fh);
    fake_http_script(f.fh, script + 3, 1);
    aws_client_set_deadline(&f.c, f.fs.mono_ms + 40);
    assert_int_equal(call(&f, &resp, &err), ERR_DEADLINE);
    assert_int_equal(f.fh->n_reqs, 0);
    /* A long invocation keeps the full minimum: 250 ms. */
    aws_client_set_deadline(&f.c, f.fs.mono_ms + 600000);
    assert_int_equal(f.c.min_attempt_ms, AWS_MIN_ATTEMPT_MS);
    aws_client_set_deadline(&f.c, f.fs.mono_ms + 1000);
    assert_int_equal(f.c.min_attempt_ms, 100);
    http_response_cleanup(&resp);
    fixture_cleanup(&f);
}

static void test_stats(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 3);
    static const struct fake_response script[] = {
        {400, NULL, "{\"__type\":\"x#ThrottlingException\"}", 0, false}, OK_200};
    fake_http_script(f.fh, script, 2);
    struct http_response resp;
    http_response_init(&resp, 1024);
    struct err err = ERR_INIT;
    assert_int_equal(call(&f, &resp, &err), ERR_OK);
    assert_int_equal(f.c.stats.calls, 1);
    assert_int_equal(f.c.stats.attempts, 2);
    assert_int_equal(f.c.stats.retries, 1);
    assert_int_equal(f.c.stats.throttled, 1);
    http_response_cleanup(&resp);
    fixture_cleanup(&f);
}

int main(void)
{
    enum { N = sizeof(retry_rows) / sizeof(retry_rows[0]) };
    struct CMUnitTest tests[N + 5];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){retry_rows[i].name, test_retry_row, NULL, NULL,
                                       (void *)&retry_rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_each_attempt_resigned);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_backoff_bounds);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_deadline_stops_retries);
    tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_stats);
    tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(test_streamed_body_resent_whole);
    return _cmocka_run_group_tests("aws", tests, N + 5, NULL, NULL);
}
