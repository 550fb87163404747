/*
 * test_creds.c - credential sources (environment, container endpoint), refresh before expiry,
 * failure handling, and that secrets are registered for redaction.
 */
#include <stdio.h>
#include <string.h>

#include "creds.h"
#include "fake_http.h"
#include "fake_sys.h"
#include "log.h"
#include "test_util.h"

static void test_env_source(void **state)
{
    (void)state;
    char *const env[] = {"AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=secretsecretsecret",
                         "AWS_SESSION_TOKEN=tokentokentoken", NULL};
    struct fake_sys fs;
    fake_sys_init(&fs, 0);
    struct creds_provider p;
    struct err err = ERR_INIT;
    assert_int_equal(creds_provider_init(&p, env, NULL, &fs.sys, &err), ERR_OK);
    struct creds c;
    assert_int_equal(creds_provider_get(&p, &c, &err), ERR_OK);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.secret_access_key, "secretsecretsecret");
    assert_string_equal(c.session_token, "tokentokentoken");
    assert_int_equal(c.expires_ms, 0);
    creds_wipe(&c);
    assert_int_equal(c.secret_access_key[0], 0);
    creds_provider_cleanup(&p);
    log_clear_secrets();
}

struct missing_row {
    const char *name;
    char *env[4];
    const char *msg_part;
};

static const struct missing_row missing_rows[] = {
    {"nothing", {NULL}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
    {"empty_strings_as_the_rie_passes",
     {"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", NULL},
     "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
    {"key_without_secret", {"AWS_ACCESS_KEY_ID=AKID", NULL}, "must be set together"},
    {"http_full_uri_not_local",
     {"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://example.com/creds", NULL},
     "plain http is allowed only"},
};

static void test_missing_row(void **state)
{
    const struct missing_row *row = *state;
    struct fake_sys fs;
    fake_sys_init(&fs, 0);
    struct fake_http *fh = fake_http_new();
    struct creds_provider p;
    struct err err = ERR_INIT;
    assert_int_equal(creds_provider_init(&p, (char *const *)row->env, &fh->base, &fs.sys, &err),
                     ERR_CONFIG);
    assert_non_null(strstr(err.msg, row->msg_part));
    assert_int_equal(fh->n_reqs, 0);
    creds_provider_cleanup(&p);
    http_transport_free(&fh->base);
}

static char creds_body[512];

static const char *container_json(const char *akid, const char *expiration)
{
    snprintf(
        creds_body, sizeof(creds_body),
        "{\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"secret-%s-xxxxxxxx\",\"Token\":\"token-%s-yyyyyyyy\",\"Expiration\":\"%s\"}",
        akid, akid, akid, expiration);
    return creds_body;
}

static void test_container_source_and_refresh(void **state)
{
    (void)state;
    char *const env[] = {"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9999/creds",
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN=auth-token-value", NULL};
    struct fake_sys fs;
    int64_t t0 = 1764072000000LL; /* 2025-11-25T12:00:00Z */
    fake_sys_init(&fs, t0);
    struct fake_http *fh = fake_http_new();
    char first[512], second[512];
    snprintf(first, sizeof(first), "%s", container_json("AKID1", "2025-11-25T13:00:00Z"));
    snprintf(second, sizeof(second), "%s", container_json("AKID2", "2025-11-25T14:00:00.000Z"));
    struct fake_response script[] = {
        {200, NULL, first, 0, false},
        {200, NULL, second, 0, false},
    };
    fake_http_script(fh, script, 2);
    struct creds_provider p;
    struct err err = ERR_INIT;
    assert_int_equal(creds_provider_init(&p, env, &fh->base, &fs.sys, &err), ERR_OK);
    assert_int_equal(fh->n_reqs, 1);
    assert_string_equal(fh->reqs[0].url, "http://127.0.0.1:9999/creds");
    assert_string_equal(fake_request_header(&fh->reqs[0], "Authorization"), "auth-token-value");
    struct creds c;
    assert_int_equal(creds_provider_get(&p, &c, &err), ERR_OK);
    assert_string_equal(c.access_key_id, "AKID1");
    assert_int_equal(c.expires_ms, t0 + 3600 * 1000);
    /* 50 minutes later: within 5 minutes of expiry, so refreshed. */
    fs.wall_ms = t0 + 56 * 60 * 1000;
    assert_int_equal(creds_provider_get(&p, &c, &err), ERR_OK);
    assert_int_equal(fh->n_reqs, 2);
    assert_string_equal(c.access_key_id, "AKID2");
    assert_string_equal(c.session_token, "token-AKID2-yyyyyyyy");
    /* Not near expiry: no fetch. */
    assert_int_equal(creds_provider_get(&p, &c, &err), ERR_OK);
    assert_int_equal(fh->n_reqs, 2);
    creds_wipe(&c);
    creds_provider_cleanup(&p);
    http_transport_free(&fh->base);
    log_clear_secrets();
}

static void test_refresh_failure(void **state)
{
    (void)state;
    char *const env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/abc", NULL};
    struct fake_sys fs;
    int64_t t0 = 1764072000000LL;
    fake_sys_init(&fs, t0);
    struct fake_http *fh = fake_http_new();
    char first[512];
    snprintf(first, sizeof(first), "%s", container_json("AKID1", "2025-11-25T13:00:00Z"));
    struct fake_response script[] = {
        {200, NULL, first, 0, false},  {500, NULL, "oops", 0, false}, {500, NULL, "oops", 0, false},
        {500, NULL, "oops", 0, false}, {500, NULL, "oops", 0, false}, {500, NULL, "oops", 0, false},
        {500, NULL, "oops", 0, false},
    };
    fake_http_script(fh, script, 7);
    struct creds_provider p;
    struct err err = ERR_INIT;
    assert_int_equal(creds_provider_init(&p, env, &fh->base, &fs.sys, &err), ERR_OK);
    assert_string_equal(fh->reqs[0].url, "http://169.254.170.2/v2/credentials/abc");
    struct creds c;
    /* Near expiry, refresh fails (3 attempts), but the current ones are still valid. */
    fs.wall_ms = t0 + 58 * 60 * 1000;
    assert_int_equal(creds_provider_get(&p, &c, &err), ERR_OK);
    assert_string_equal(c.access_key_id, "AKID1");
    assert_int_equal(fh->n_reqs, 4);
    /* Expired and the refresh fails again: an error, not stale credentials. */
    fs.wall_ms = t0 + 61 * 60 * 1000;
    assert_int_not_equal(creds_provider_get(&p, &c, &err), ERR_OK);
    assert_non_null(strstr(err.msg, "expired"));
    creds_wipe(&c);
    creds_provider_cleanup(&p);
    http_transport_free(&fh->base);
    log_clear_secrets();
}

struct json_row {
    const char *name;
    const char *body;
    enum err_code code;
};

static const struct json_row json_rows[] = {
    {"complete",
     "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
     ERR_OK},
    {"no_expiration", "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}", ERR_OK},
    {"missing_secret", "{\"AccessKeyId\":\"A\"}", ERR_INVALID_INPUT},
    {"bad_expiration", "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"soon\"}",
     ERR_INVALID_INPUT},
    {"not_json", "<html>", ERR_INVALID_INPUT},
};

static void test_json_row(void **state)
{
    const struct json_row *row = *state;
    struct creds c;
    struct err err = ERR_INIT;
    assert_int_equal(creds_parse_container_json(cur_from_str(row->body), &c, &err), row->code);
    if (row->code != ERR_OK) {
        assert_null(strstr(err.msg, "\"S\""));
    }
}

static void test_iso8601(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_true(creds_parse_iso8601("1970-01-01T00:00:00Z", &ms));
    assert_int_equal(ms, 0);
    assert_true(creds_parse_iso8601("2026-11-25T13:00:00.5Z", &ms));
    assert_int_equal(ms, 1795611600500LL);
    assert_true(creds_parse_iso8601("2024-02-29T23:59:59+01:00", &ms));
    assert_int_equal(ms, 1709247599000LL); /* 22:59:59Z */
    assert_false(creds_parse_iso8601("2026-13-01T00:00:00Z", &ms));
    assert_false(creds_parse_iso8601("2026-11-25 13:00:00Z", &ms));
    assert_false(creds_parse_iso8601("2026-11-25T13:00:00", &ms));
}

int main(void)
{
    enum { NM = sizeof(missing_rows) / sizeof(missing_rows[0]) };
    enum { NJ = sizeof(json_rows) / sizeof(json_rows[0]) };
    struct CMUnitTest tests[NM + NJ + 4];
    size_t n = 0;
    for (size_t i = 0; i < NM; i++) {
        tests[n++] = (struct CMUnitTest){missing_rows[i].name, test_missing_row, NULL, NULL,
                                         (void *)&missing_rows[i]};
    }
    for (size_t i = 0; i < NJ; i++) {
        tests[n++] = (struct CMUnitTest){json_rows[i].name, test_json_row, NULL, NULL,
                                         (void *)&json_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_env_source);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_container_source_and_refresh);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_refresh_failure);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_iso8601);
    return _cmocka_run_group_tests("creds", tests, n, NULL, NULL);
}
