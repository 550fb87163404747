/*
 * test_endpoint.c - region and endpoint resolution with the SDKs' override variables, URL
 * parsing, Host header values and S3 addressing style.
 */
#include <string.h>

#include "endpoint.h"
#include "test_util.h"

struct load_row {
    const char *name;
    char *env[6];
    enum err_code code;
    const char *s3_host;
    int s3_port;
    const char *ddb_host;
    const char *err_part;
};

static const struct load_row load_rows[] = {
    {"default_aws",
     {"AWS_REGION=eu-west-1", NULL},
     ERR_OK,
     "s3.eu-west-1.amazonaws.com",
     0,
     "dynamodb.eu-west-1.amazonaws.com",
     NULL},
    {"default_region_var",
     {"AWS_DEFAULT_REGION=us-west-2", NULL},
     ERR_OK,
     "s3.us-west-2.amazonaws.com",
     0,
     "dynamodb.us-west-2.amazonaws.com",
     NULL},
    {"china",
     {"AWS_REGION=cn-north-1", NULL},
     ERR_OK,
     "s3.cn-north-1.amazonaws.com.cn",
     0,
     "dynamodb.cn-north-1.amazonaws.com.cn",
     NULL},
    {"global_override",
     {"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=http://localhost:4566", NULL},
     ERR_OK,
     "localhost",
     4566,
     "localhost",
     NULL},
    {"service_override_wins",
     {"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=http://localhost:4566",
      "AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569/", NULL},
     ERR_OK,
     "127.0.0.1",
     4569,
     "localhost",
     NULL},
    {"ignore_overrides",
     {"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569",
      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true", NULL},
     ERR_OK,
     "s3.us-east-1.amazonaws.com",
     0,
     "dynamodb.us-east-1.amazonaws.com",
     NULL},
    {"default_port_dropped",
     {"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=https://example.com:443", NULL},
     ERR_OK,
     "example.com",
     0,
     "example.com",
     NULL},
    {"no_region", {"AWS_ENDPOINT_URL=http://x:1", NULL}, ERR_CONFIG, NULL, 0, NULL, "AWS_REGION"},
    {"bad_region", {"AWS_REGION=EU West", NULL}, ERR_CONFIG, NULL, 0, NULL, "AWS_REGION"},
    {"bad_scheme",
     {"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_S3=ftp://x", NULL},
     ERR_CONFIG,
     NULL,
     0,
     NULL,
     "AWS_ENDPOINT_URL_S3"},
    {"bad_port",
     {"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_DYNAMODB=http://x:99999", NULL},
     ERR_CONFIG,
     NULL,
     0,
     NULL,
     "AWS_ENDPOINT_URL_DYNAMODB"},
    {"query_rejected",
     {"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=http://x:1/?a=b", NULL},
     ERR_CONFIG,
     NULL,
     0,
     NULL,
     "AWS_ENDPOINT_URL"},
    {"userinfo_rejected",
     {"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=http://u:p@x:1", NULL},
     ERR_CONFIG,
     NULL,
     0,
     NULL,
     "AWS_ENDPOINT_URL"},
    {"bad_bool",
     {"AWS_REGION=us-east-1", "AWS_S3_USE_PATH_STYLE=maybe", NULL},
     ERR_CONFIG,
     NULL,
     0,
     NULL,
     "AWS_S3_USE_PATH_STYLE"},
};

static void test_load_row(void **state)
{
    const struct load_row *row = *state;
    struct aws_endpoints eps;
    struct err err = ERR_INIT;
    assert_int_equal(aws_endpoints_load(&eps, (char *const *)row->env, &err), row->code);
    if (row->code == ERR_OK) {
        assert_string_equal(eps.s3.host, row->s3_host);
        assert_int_equal(eps.s3.port, row->s3_port);
        assert_string_equal(eps.dynamodb.host, row->ddb_host);
    } else {
        assert_non_null(strstr(err.msg, row->err_part));
    }
}

static void test_parse_details(void **state)
{
    (void)state;
    struct endpoint ep;
    struct err err = ERR_INIT;
    assert_int_equal(endpoint_parse("HTTPS://[::1]:8443/base/path/", "V", &ep, &err), ERR_OK);
    assert_string_equal(ep.scheme, "https");
    assert_string_equal(ep.host, "[::1]");
    assert_int_equal(ep.port, 8443);
    assert_string_equal(ep.base_path, "/base/path");
    assert_true(ep.custom);
    char host[300];
    endpoint_host_header(&ep, NULL, host, sizeof(host));
    assert_string_equal(host, "[::1]:8443");
    assert_int_equal(endpoint_parse("http://h:80", "V", &ep, &err), ERR_OK);
    endpoint_host_header(&ep, NULL, host, sizeof(host));
    assert_string_equal(host, "h");
}

static void test_s3_addressing(void **state)
{
    (void)state;
    struct aws_endpoints eps;
    struct err err = ERR_INIT;
    char *const aws_env[] = {"AWS_REGION=eu-west-1", NULL};
    assert_int_equal(aws_endpoints_load(&eps, aws_env, &err), ERR_OK);
    assert_false(aws_endpoints_s3_path_style(&eps, "my-lake"));
    assert_true(aws_endpoints_s3_path_style(&eps, "my.lake")); /* TLS wildcard cannot match dots */
    char host[300];
    endpoint_host_header(&eps.s3, "my-lake", host, sizeof(host));
    assert_string_equal(host, "my-lake.s3.eu-west-1.amazonaws.com");
    char *const forced[] = {"AWS_REGION=eu-west-1", "AWS_S3_USE_PATH_STYLE=true", NULL};
    assert_int_equal(aws_endpoints_load(&eps, forced, &err), ERR_OK);
    assert_true(aws_endpoints_s3_path_style(&eps, "my-lake"));
    char *const custom[] = {"AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569",
                            NULL};
    assert_int_equal(aws_endpoints_load(&eps, custom, &err), ERR_OK);
    assert_true(aws_endpoints_s3_path_style(&eps, "my-lake"));
}

int main(void)
{
    enum { N = sizeof(load_rows) / sizeof(load_rows[0]) };
    struct CMUnitTest tests[N + 2];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){load_rows[i].name, test_load_row, NULL, NULL,
                                       (void *)&load_rows[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_parse_details);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_s3_addressing);
    return _cmocka_run_group_tests("endpoint", tests, N + 2, NULL, NULL);
}
