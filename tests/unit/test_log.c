/*
 * test_log.c - Lambda log lines (JSON and text), level filtering, and redaction of secrets.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "test_util.h"

struct capture {
    struct buf lines;
    int count;
};

static void capture_sink(void *ctx, const char *line, size_t len)
{
    struct capture *c = ctx;
    struct err e = ERR_INIT;
    assert_int_equal(buf_append(&c->lines, line, len, &e), ERR_OK);
    c->count++;
}

static void test_render_json(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct log_field fields[] = {LOG_STR("table", "Orders\"x"), LOG_INT("records", 42),
                                 LOG_BOOL("partial", true)};
    assert_int_equal(log_render(&out, LOG_FORMAT_JSON, 1764072000123LL, LOG_WARN, "req-1",
                                "line1\nline2", fields, 3, &err),
                     ERR_OK);
    cJSON *j = cJSON_Parse(buf_cstr(&out));
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "timestamp")->valuestring,
                        "2025-11-25T12:00:00.123Z");
    assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "WARN");
    assert_string_equal(cJSON_GetObjectItem(j, "requestId")->valuestring, "req-1");
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring, "line1\nline2");
    assert_string_equal(cJSON_GetObjectItem(j, "table")->valuestring, "Orders\"x");
    assert_int_equal(cJSON_GetObjectItem(j, "records")->valueint, 42);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "partial")));
    /* Lambda reads timestamp and level first. */
    assert_true(strncmp(buf_cstr(&out), "{\"timestamp\":", 13) == 0);
    cJSON_Delete(j);
    buf_cleanup(&out);
}

static void test_render_text(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct log_field fields[] = {LOG_INT("n", 3)};
    assert_int_equal(log_render(&out, LOG_FORMAT_TEXT, 0, LOG_INFO, NULL, "a\nb", fields, 1, &err),
                     ERR_OK);
    assert_string_equal(buf_cstr(&out), "1970-01-01T00:00:00.000Z\t-\tINFO\ta b n=3");
    buf_cleanup(&out);
}

static void test_configure(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    assert_int_equal(log_configure("json", "debug", &err), ERR_OK);
    assert_true(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_TRACE));
    assert_int_equal(log_configure("xml", NULL, &err), ERR_CONFIG);
    assert_non_null(strstr(err.msg, "AWS_LAMBDA_LOG_FORMAT"));
    assert_int_equal(log_configure(NULL, "LOUD", &err), ERR_CONFIG);
    assert_non_null(strstr(err.msg, "AWS_LAMBDA_LOG_LEVEL"));
    /* A rejected configuration leaves the previous one in place. */
    assert_true(log_enabled(LOG_DEBUG));
    assert_int_equal(log_configure(NULL, NULL, &err), ERR_OK);
    assert_false(log_enabled(LOG_DEBUG));
    assert_true(log_enabled(LOG_INFO));
}

static void test_level_filter_and_request_id(void **state)
{
    (void)state;
    struct capture cap = {BUF_INIT(0), 0};
    struct err err = ERR_INIT;
    log_set_sink(capture_sink, &cap);
    assert_int_equal(log_configure("JSON", "WARN", &err), ERR_OK);
    log_info("hidden");
    log_set_request_id("abc-123");
    log_error("shown %d", 1);
    log_set_request_id(NULL);
    assert_int_equal(cap.count, 1);
    assert_non_null(strstr(buf_cstr(&cap.lines), "\"requestId\":\"abc-123\""));
    assert_non_null(strstr(buf_cstr(&cap.lines), "\"message\":\"shown 1\""));
    assert_null(strstr(buf_cstr(&cap.lines), "hidden"));
    log_set_sink(NULL, NULL);
    assert_int_equal(log_configure(NULL, NULL, &err), ERR_OK);
    buf_cleanup(&cap.lines);
}

static void test_redaction(void **state)
{
    (void)state;
    struct capture cap = {BUF_INIT(0), 0};
    struct err err = ERR_INIT;
    log_set_sink(capture_sink, &cap);
    assert_int_equal(log_configure("TEXT", "TRACE", &err), ERR_OK);
    log_add_secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    log_add_secret("short"); /* too short to register: would mask ordinary words */
    log_trace("key=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY short");
    log_trace(
        "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/aws4_request, Signature=abcdef0123");
    log_trace("GET /k?X-Amz-Credential=AKID%%2F2015&X-Amz-Signature=deadbeef&x=1");
    const char *all = buf_cstr(&cap.lines);
    assert_null(strstr(all, "wJalrXUtnFEMI"));
    assert_non_null(strstr(all, "short"));
    assert_null(strstr(all, "AWS4-HMAC-SHA256 Credential"));
    assert_null(strstr(all, "deadbeef"));
    assert_null(strstr(all, "AKID%2F2015"));
    assert_non_null(strstr(all, "x=1"));
    log_clear_secrets();
    log_set_sink(NULL, NULL);
    assert_int_equal(log_configure(NULL, NULL, &err), ERR_OK);
    buf_cleanup(&cap.lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_json), cmocka_unit_test(test_render_text),
        cmocka_unit_test(test_configure),   cmocka_unit_test(test_level_filter_and_request_id),
        cmocka_unit_test(test_redaction),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
