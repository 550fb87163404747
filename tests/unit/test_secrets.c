/*
 * test_secrets.c - Secrets Manager's GetSecretValue on scripted answers: the request (JSON 1.1,
 * the target, the SigV4 scope, the endpoint override), SecretString with escapes, SecretBinary
 * decoded, a secret with neither, the service's errors (not found is not retried, throttling
 * is), and that nothing of the secret reaches the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "fake_http.h"
#include "fake_sys.h"
#include "json_client_env.h"
#include "log.h"
#include "secrets.h"
#include "test_util.h"

#define ARN "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pii-key-AbCdEf"

static char *const sm_env[] = {
    "AWS_REGION=eu-west-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:4580",
    NULL,
};

static void test_request_and_secret_string(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(sm_env);
    struct fake_response ok[] = {
        {200, "x-amzn-RequestId: R1\r\n",
         "{\"ARN\":\"" ARN "\",\"Name\":\"pii-key\",\"SecretString\":\"k\\u00e9y \\\"q\\\"\","
         "\"VersionId\":\"v1\"}",
         0, false}};
    fake_http_script(e->fh, ok, 1);
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(secrets_get_value(&e->c, ARN, &out, &err), ERR_OK);
    assert_int_equal(out.len, strlen("k\xc3\xa9y \"q\""));
    assert_memory_equal(out.data, "k\xc3\xa9y \"q\"", out.len);
    assert_int_equal(e->fh->n_reqs, 1);
    const struct fake_request *r = &e->fh->reqs[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, "http://127.0.0.1:4580/");
    assert_string_equal(fake_request_header(r, "X-Amz-Target"), "secretsmanager.GetSecretValue");
    assert_string_equal(fake_request_header(r, "Content-Type"), "application/x-amz-json-1.1");
    assert_non_null(
        strstr(fake_request_header(r, "Authorization"), "/eu-west-1/secretsmanager/aws4_request"));
    assert_string_equal(buf_cstr(&r->body), "{\"SecretId\":\"" ARN "\"}");
    buf_cleanup_secure(&out);
    json_client_env_free(e);
}

static void test_regional_endpoint_without_override(void **state)
{
    (void)state;
    char *const envp[] = {"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
                          "AWS_SECRET_ACCESS_KEY=secret", NULL};
    struct json_client_env *e = json_client_env_new(envp);
    struct fake_response ok[] = {{200, NULL, "{\"SecretString\":\"x\"}", 0, false}};
    fake_http_script(e->fh, ok, 1);
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(secrets_get_value(&e->c, ARN, &out, &err), ERR_OK);
    assert_string_equal(e->fh->reqs[0].url, "https://secretsmanager.eu-west-1.amazonaws.com/");
    buf_cleanup_secure(&out);
    json_client_env_free(e);
}

static void test_secret_binary_is_decoded(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(sm_env);
    /* base64 of the bytes 00 ff 10 80 */
    struct fake_response ok[] = {{200, NULL, "{\"SecretBinary\":\"AP8QgA==\"}", 0, false}};
    fake_http_script(e->fh, ok, 1);
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(secrets_get_value(&e->c, ARN, &out, &err), ERR_OK);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "\x00\xff\x10\x80", 4);
    buf_cleanup_secure(&out);
    json_client_env_free(e);
}

static void test_neither_string_nor_binary(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(sm_env);
    struct fake_response ok[] = {{200, NULL, "{\"ARN\":\"" ARN "\"}", 0, false}};
    fake_http_script(e->fh, ok, 1);
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(secrets_get_value(&e->c, ARN, &out, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "neither SecretString nor SecretBinary"));
    assert_int_equal(out.len, 0);
    buf_cleanup_secure(&out);
    json_client_env_free(e);
}

static void test_not_found_is_not_retried(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(sm_env);
    struct fake_response script[] = {
        {400, "x-amzn-RequestId: R2\r\n",
         "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Secrets Manager can't find the "
         "specified secret.\"}",
         0, false}};
    fake_http_script(e->fh, script, 1);
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_not_equal(secrets_get_value(&e->c, ARN, &out, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 1);
    assert_non_null(strstr(err.msg, "ResourceNotFoundException"));
    assert_non_null(strstr(err.msg, "pii-key"));
    buf_cleanup_secure(&out);
    json_client_env_free(e);
}

static void test_throttling_is_retried(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(sm_env);
    struct fake_response script[] = {
        {400, NULL, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}", 0, false},
        {200, NULL, "{\"SecretString\":\"s3cr3t-value\"}", 0, false},
    };
    fake_http_script(e->fh, script, 2);
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(secrets_get_value(&e->c, ARN, &out, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 2);
    assert_int_equal(out.len, strlen("s3cr3t-value"));
    buf_cleanup_secure(&out);
    json_client_env_free(e);
}

static void capture_sink(void *ctx, const char *line, size_t len)
{
    struct buf *b = ctx;
    struct err err = ERR_INIT;
    assert_int_equal(buf_append(b, line, len, &err), ERR_OK);
    assert_int_equal(buf_append_byte(b, '\n', &err), ERR_OK);
}

/* Nothing the client logs, at any level, holds the value; once registered, as the app does,
 * a line that tries to print it is redacted. */
static void test_value_never_logged(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(sm_env);
    struct fake_response script[] = {
        {500, NULL, "{\"__type\":\"InternalServiceError\",\"message\":\"try again\"}", 0, false},
        {200, NULL, "{\"SecretString\":\"s3cr3t-value-0123456789\"}", 0, false},
    };
    fake_http_script(e->fh, script, 2);
    struct buf out = BUF_INIT(0), logged = BUF_INIT(0);
    struct err err = ERR_INIT;
    log_set_sink(capture_sink, &logged);
    assert_int_equal(log_configure("TEXT", "TRACE", &err), ERR_OK);
    assert_int_equal(secrets_get_value(&e->c, ARN, &out, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 2);
    assert_true(logged.len > 0); /* the retry was logged */
    log_add_secret(buf_cstr(&out));
    log_write(LOG_INFO, NULL, 0, "the key is %s", buf_cstr(&out));
    log_set_sink(NULL, NULL);
    assert_int_equal(log_configure(NULL, NULL, &err), ERR_OK);
    log_clear_secrets();
    assert_null(strstr(buf_cstr(&logged), "s3cr3t-value"));
    assert_non_null(strstr(buf_cstr(&logged), "the key is "));
    buf_cleanup(&logged);
    buf_cleanup_secure(&out);
    json_client_env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_and_secret_string),
        cmocka_unit_test(test_regional_endpoint_without_override),
        cmocka_unit_test(test_secret_binary_is_decoded),
        cmocka_unit_test(test_neither_string_nor_binary),
        cmocka_unit_test(test_not_found_is_not_retried),
        cmocka_unit_test(test_throttling_is_retried),
        cmocka_unit_test(test_value_never_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
