/*
 * test_ddb.c - the DynamoDB client on scripted answers: Scan request bodies (the start key sent
 * back byte for byte), page parsing, DynamoDB's errors and which are retried, the x-amz-crc32
 * check, DescribeTable parsing and the input checks made before any request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ddb.h"
#include "fake_http.h"
#include "fake_sys.h"
#include "json_client_env.h"
#include "log.h"
#include "test_util.h"

#define CUR_LIT(s)                                                                                 \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

static char *const ddb_env[] = {
    "AWS_REGION=us-east-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569",
    "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567",
    NULL,
};

/* "x-amz-crc32: <CRC32 of body>\r\n", as DynamoDB sends it (unsigned decimal). */
static void crc_header(const char *body, char *out, size_t cap)
{
    uLong c = crc32(0L, (const Bytef *)body, (uInt)strlen(body));
    snprintf(out, cap, "x-amz-crc32: %lu\r\nx-amzn-RequestId: REQ1\r\n", (unsigned long)c);
}

static const char empty_page[] = "{\"Count\":0,\"Items\":[],\"ScannedCount\":0}";

/* One Scan with params (NULL: of "orders") into a page of its own; for tests of the call, not of
 * the page. */
static enum err_code
scan(struct json_client_env *e, const struct ddb_scan_params *params, struct err *err)
{
    static const struct ddb_scan_params orders = {.table = "orders"};
    struct ddb_scan_page page;
    ddb_scan_page_init(&page);
    enum err_code rc = ddb_scan(&e->c, params != NULL ? params : &orders, &page, err);
    ddb_scan_page_cleanup(&page);
    return rc;
}

/* ---- Scan requests -------------------------------------------------------------------- */

struct scan_body_row {
    const char *name;
    struct ddb_scan_params params;
    const char *body;
};

static const struct scan_body_row scan_body_rows[] = {
    {"scan_minimal", {.table = "orders"}, "{\"TableName\":\"orders\"}"},
    {"scan_parallel",
     {.table = "orders", .segment = 3, .total_segments = 8},
     "{\"TableName\":\"orders\",\"Segment\":3,\"TotalSegments\":8}"},
    {"scan_segment_zero_of_one",
     {.table = "orders", .segment = 0, .total_segments = 1},
     "{\"TableName\":\"orders\",\"Segment\":0,\"TotalSegments\":1}"},
    {"scan_all_options",
     {.table = "my.Table-1_x",
      .segment = 0,
      .total_segments = 4,
      .limit = 100,
      .consistent_read = true,
      .return_consumed_capacity = true},
     "{\"TableName\":\"my.Table-1_x\",\"Segment\":0,\"TotalSegments\":4,\"Limit\":100,"
     "\"ConsistentRead\":true,\"ReturnConsumedCapacity\":\"TOTAL\"}"},
    {"scan_start_key_38_digits",
     {.table = "orders",
      .exclusive_start_key = CUR_LIT("{\"pk\":{\"N\":\"12345678901234567890123456789012345678\"},"
                                     "\"sk\":{\"S\":\"a\\\"b\\u00e9 \xc3\xa9\"}}")},
     "{\"TableName\":\"orders\",\"ExclusiveStartKey\":{\"pk\":{\"N\":"
     "\"12345678901234567890123456789012345678\"},\"sk\":{\"S\":\"a\\\"b\\u00e9 \xc3\xa9\"}}}"},
    {"scan_start_key_exponent",
     {.table = "orders",
      .limit = 1,
      .exclusive_start_key =
          CUR_LIT("{ \"n\" : {\"N\":\"-1.0000000000000000000000000000000000001E-130\"} }")},
     "{\"TableName\":\"orders\",\"Limit\":1,\"ExclusiveStartKey\":{ \"n\" : "
     "{\"N\":\"-1.0000000000000000000000000000000000001E-130\"} }}"},
    {"scan_no_limit_when_negative", {.table = "orders", .limit = -5}, "{\"TableName\":\"orders\"}"},
};

static void test_scan_body_row(void **state)
{
    const struct scan_body_row *row = *state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    char hdr[128];
    crc_header(empty_page, hdr, sizeof(hdr));
    struct fake_response ok[] = {{200, hdr, empty_page, 0, false}};
    fake_http_script(e->fh, ok, 1);
    struct ddb_scan_page page;
    ddb_scan_page_init(&page);
    struct err err = ERR_INIT;
    assert_int_equal(ddb_scan(&e->c, &row->params, &page, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 1);
    const struct fake_request *r = &e->fh->reqs[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, "http://127.0.0.1:4567/");
    assert_string_equal(fake_request_header(r, "X-Amz-Target"), "DynamoDB_20120810.Scan");
    assert_string_equal(fake_request_header(r, "Content-Type"), "application/x-amz-json-1.0");
    assert_non_null(strstr(fake_request_header(r, "Authorization"), "/dynamodb/aws4_request"));
    assert_string_equal(buf_cstr(&r->body), row->body);
    struct json_val root;
    assert_int_equal(json_validate(buf_cur(&r->body), 64, &root, &err), ERR_OK);
    assert_int_equal(page.count, 0);
    assert_int_equal(page.last_evaluated_key.len, 0);
    ddb_scan_page_cleanup(&page);
    json_client_env_free(e);
}

/* ---- Scan responses --------------------------------------------------------------------- */

static void test_scan_page_parsing(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    static const char page1[] =
        "{\"ConsumedCapacity\":{\"CapacityUnits\":12.5,\"TableName\":\"orders\"},\"Count\":2,"
        "\"Items\":[{\"pk\":{\"S\":\"a\"}},{\"pk\":{\"S\":\"b\"},\"n\":{\"N\":\"1\"}}],"
        "\"LastEvaluatedKey\":{\"pk\":{\"N\":\"99999999999999999999999999999999999999\"},"
        "\"sk\":{\"B\":\"AAE=\"}},\"ScannedCount\":5}";
    static const char last_key[] =
        "{\"pk\":{\"N\":\"99999999999999999999999999999999999999\"},\"sk\":{\"B\":\"AAE=\"}}";
    static const char page2[] = "{\"Items\":[{\"pk\":{\"S\":\"c\"}}],\"ScannedCount\":1}";
    char h1[128], h2[128];
    crc_header(page1, h1, sizeof(h1));
    crc_header(page2, h2, sizeof(h2));
    struct fake_response script[] = {
        {200, h1, page1, 0, false},
        {200, h2, page2, 0, false},
    };
    fake_http_script(e->fh, script, 2);
    struct ddb_scan_page page;
    ddb_scan_page_init(&page);
    struct err err = ERR_INIT;
    struct ddb_scan_params params = {.table = "orders", .return_consumed_capacity = true};
    assert_int_equal(ddb_scan(&e->c, &params, &page, &err), ERR_OK);
    assert_int_equal(page.count, 2);
    assert_int_equal(page.scanned_count, 5);
    assert_int_equal(json_count(&page.items), 2);
    assert_int_equal(page.items.type, JSON_ARRAY);
    assert_int_equal(page.last_evaluated_key.len, strlen(last_key));
    assert_memory_equal(page.last_evaluated_key.ptr, last_key, strlen(last_key));
    assert_true(page.consumed_capacity == 12.5);

    /* The next page starts from the last key, which points into the page being reused. */
    params.exclusive_start_key = page.last_evaluated_key;
    assert_int_equal(ddb_scan(&e->c, &params, &page, &err), ERR_OK);
    char want[256];
    snprintf(
        want, sizeof(want),
        "{\"TableName\":\"orders\",\"ReturnConsumedCapacity\":\"TOTAL\",\"ExclusiveStartKey\":%s}",
        last_key);
    assert_string_equal(buf_cstr(&e->fh->reqs[1].body), want);
    assert_int_equal(page.count, 1); /* no Count: the items are counted */
    assert_int_equal(page.scanned_count, 1);
    assert_int_equal(page.last_evaluated_key.len, 0); /* the segment is done */
    assert_true(page.consumed_capacity == 0);
    ddb_scan_page_cleanup(&page);
    json_client_env_free(e);
}

struct bad_page_row {
    const char *name;
    const char *body;
    const char *msg;
    enum err_code code; /* ERR_TRANSPORT: cut or garbled, retried (all 3 attempts fail here) */
};

static const struct bad_page_row bad_page_rows[] = {
    {"page_not_json", "<html>oops</html>", "not a complete JSON object", ERR_TRANSPORT},
    {"page_array", "[]", "not a complete JSON object", ERR_TRANSPORT},
    {"page_truncated", "{\"Items\":[{\"a\":", "not a complete JSON object", ERR_TRANSPORT},
    {"page_no_items", "{\"Count\":0}", "no Items array", ERR_INVALID_INPUT},
    {"page_items_not_array", "{\"Items\":{}}", "no Items array", ERR_INVALID_INPUT},
};

static void test_bad_page_row(void **state)
{
    const struct bad_page_row *row = *state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    struct fake_response script[] = {{200, NULL, row->body, 0, false},
                                     {200, NULL, row->body, 0, false},
                                     {200, NULL, row->body, 0, false}};
    fake_http_script(e->fh, script, 3);
    struct err err = ERR_INIT;
    assert_int_equal(scan(e, NULL, &err), row->code);
    assert_int_equal(e->fh->n_reqs, row->code == ERR_TRANSPORT ? 3 : 1);
    assert_non_null(strstr(err.msg, row->msg));
    assert_non_null(strstr(err.msg, "Scan orders"));
    json_client_env_free(e);
}

/* ---- errors --------------------------------------------------------------------------------- */

static void test_throughput_exceeded_retried(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    char hdr[128];
    crc_header(empty_page, hdr, sizeof(hdr));
    struct fake_response script[] = {
        {400, "x-amzn-RequestId: THROTTLED1\r\n",
         "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\","
         "\"message\":\"The level of configured provisioned throughput for the table was "
         "exceeded.\"}",
         0, false},
        {200, hdr, empty_page, 0, false},
    };
    fake_http_script(e->fh, script, 2);
    struct err err = ERR_INIT;
    struct ddb_scan_params params = {.table = "orders", .segment = 1, .total_segments = 2};
    assert_int_equal(scan(e, &params, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 2);
    assert_string_equal(buf_cstr(&e->fh->reqs[0].body), buf_cstr(&e->fh->reqs[1].body));
    assert_int_equal(e->c.stats.retries, 1);
    assert_int_equal(e->c.stats.throttled, 1);
    assert_int_equal(e->fs.n_sleeps, 1);
    assert_true(e->fs.sleeps[0] <= AWS_THROTTLE_BASE_MS);
    json_client_env_free(e);
}

static void test_throughput_exceeded_exhausted(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    static const struct fake_response t = {
        400, "x-amzn-RequestId: THROTTLED\r\n",
        "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\","
        "\"message\":\"Rate exceeded\"}",
        0, false};
    struct fake_response script[] = {t, t, t, t};
    fake_http_script(e->fh, script, 4);
    struct err err = ERR_INIT;
    assert_int_equal(scan(e, NULL, &err), ERR_HTTP);
    assert_int_equal(e->fh->n_reqs, 3);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.aws_code, "ProvisionedThroughputExceededException");
    assert_string_equal(err.request_id, "THROTTLED");
    assert_true(err.retryable);
    assert_non_null(strstr(err.msg, "after 3 attempts"));
    assert_non_null(strstr(err.msg, "Scan orders"));
    assert_non_null(strstr(err.msg, "Rate exceeded"));
    json_client_env_free(e);
}

static void test_validation_not_retried(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    static const struct fake_response script[] = {
        {400, "x-amzn-RequestId: VAL123\r\n",
         "{\"__type\":\"com.amazon.coral.validate#ValidationException\","
         "\"Message\":\"1 validation error detected: Value 'x' at 'limit' failed\"}",
         0, false},
        {200, NULL, "{\"Items\":[]}", 0, false},
    };
    fake_http_script(e->fh, script, 2);
    struct err err = ERR_INIT;
    assert_int_equal(scan(e, NULL, &err), ERR_HTTP);
    assert_int_equal(e->fh->n_reqs, 1);
    assert_string_equal(err.aws_code, "ValidationException");
    assert_string_equal(err.request_id, "VAL123");
    assert_false(err.retryable);
    assert_non_null(strstr(err.msg, "1 validation error detected"));
    assert_int_equal(e->fs.n_sleeps, 0);
    json_client_env_free(e);
}

static void test_server_error_retried(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    char hdr[128];
    crc_header(empty_page, hdr, sizeof(hdr));
    struct fake_response script[] = {
        {500, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\"}", 0,
         false},
        {0, NULL, NULL, 0, true},
        {200, hdr, empty_page, 0, false},
    };
    fake_http_script(e->fh, script, 3);
    struct err err = ERR_INIT;
    assert_int_equal(scan(e, NULL, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 3);
    assert_int_equal(e->c.stats.throttled, 0);
    json_client_env_free(e);
}

struct parse_error_row {
    const char *name;
    const char *body;
    const char *code;
    const char *message;
};

static const struct parse_error_row parse_error_rows[] = {
    {"error_lowercase_message",
     "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
     "\"message\":\"Requested resource not found\"}",
     "ResourceNotFoundException", "Requested resource not found"},
    {"error_capital_message",
     "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"Message\":\"bad\"}",
     "ValidationException", "bad"},
    {"error_both_messages", "{\"__type\":\"a#B\",\"Message\":\"upper\",\"message\":\"lower\"}", "B",
     "lower"},
    {"error_type_without_hash", "{\"__type\":\"ThrottlingException\"}", "ThrottlingException", ""},
    {"error_escaped_message", "{\"__type\":\"x#Y\",\"message\":\"a \\\"quoted\\\" \\u00e9\"}", "Y",
     "a \"quoted\" \xc3\xa9"},
    {"error_not_json", "<html>502 Bad Gateway</html>", "", ""},
    {"error_empty", "", "", ""},
    {"error_array", "[\"x\"]", "", ""},
    {"error_type_not_string", "{\"__type\":5,\"message\":7}", "", ""},
};

static void test_parse_error_row(void **state)
{
    const struct parse_error_row *row = *state;
    struct http_response resp;
    http_response_init(&resp, 4096);
    struct err err = ERR_INIT;
    resp.status = 400;
    assert_int_equal(buf_append_str(&resp.body, row->body, &err), ERR_OK);
    char code[64] = "x", message[128] = "x";
    ddb_parse_error(&resp, code, sizeof(code), message, sizeof(message));
    assert_string_equal(code, row->code);
    assert_string_equal(message, row->message);
    http_response_cleanup(&resp);
}

/* ---- x-amz-crc32 -------------------------------------------------------------------------- */

static void test_crc32_high_bit_passes(void **state)
{
    (void)state;
    /* CRC32 of this body is 3413411624, above INT32_MAX: the header is unsigned decimal. */
    struct json_client_env *e = json_client_env_new(ddb_env);
    static const struct fake_response script[] = {
        {200, "x-amz-crc32: 3413411624\r\n", empty_page, 0, false},
    };
    fake_http_script(e->fh, script, 1);
    struct err err = ERR_INIT;
    assert_int_equal(scan(e, NULL, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 1);
    json_client_env_free(e);
}

static void test_crc32_wrong_retried(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    char hdr[128];
    crc_header(empty_page, hdr, sizeof(hdr));
    struct fake_response script[] = {
        {200, "x-amz-crc32: 3413411625\r\n", empty_page, 0, false},
        {200, hdr, empty_page, 0, false},
    };
    fake_http_script(e->fh, script, 2);
    struct err err = ERR_INIT;
    assert_int_equal(scan(e, NULL, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 2);
    assert_int_equal(e->c.stats.retries, 1);
    json_client_env_free(e);
}

static void test_crc32_wrong_exhausted(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    static const struct fake_response bad = {200, "x-amz-crc32: 1\r\n", empty_page, 0, false};
    struct fake_response script[] = {bad, bad, bad, bad};
    fake_http_script(e->fh, script, 4);
    struct err err = ERR_INIT;
    assert_int_equal(scan(e, NULL, &err), ERR_TRANSPORT);
    assert_int_equal(e->fh->n_reqs, 3);
    assert_true(err.retryable);
    assert_non_null(strstr(err.msg, "after 3 attempts"));
    assert_non_null(strstr(err.msg, "CRC32 3413411624 does not match x-amz-crc32 1"));
    json_client_env_free(e);
}

static void test_crc32_absent_or_unparsable(void **state)
{
    (void)state;
    /* Not every endpoint sends it (DynamoDB Local, some proxies): no header, no check. */
    struct json_client_env *e = json_client_env_new(ddb_env);
    static const struct fake_response script[] = {
        {200, NULL, empty_page, 0, false},
        {200, "x-amz-crc32: -1\r\n", empty_page, 0, false},
    };
    fake_http_script(e->fh, script, 2);
    struct err err = ERR_INIT;
    assert_int_equal(scan(e, NULL, &err), ERR_OK);
    assert_int_equal(scan(e, NULL, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 2);
    json_client_env_free(e);
}

/* ---- DescribeTable ------------------------------------------------------------------------ */

static void test_describe_on_demand(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    static const char body[] =
        "{\"Table\":{\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},"
        "{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"}],"
        "\"BillingModeSummary\":{\"BillingMode\":\"PAY_PER_REQUEST\","
        "\"LastUpdateToPayPerRequestDateTime\":1.7E9},\"CreationDateTime\":1.6E9,"
        "\"ItemCount\":1234567,"
        "\"KeySchema\":[{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"},"
        "{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
        "\"LatestStreamArn\":\"arn:aws:dynamodb:us-east-1:111122223333:table/orders/stream/"
        "2024-01-01T00:00:00.000\",\"LatestStreamLabel\":\"2024-01-01T00:00:00.000\","
        "\"ProvisionedThroughput\":{\"NumberOfDecreasesToday\":0,\"ReadCapacityUnits\":0,"
        "\"WriteCapacityUnits\":0},"
        "\"StreamSpecification\":{\"StreamEnabled\":true,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},"
        "\"TableArn\":\"arn:aws:dynamodb:us-east-1:111122223333:table/orders\","
        "\"TableId\":\"e1b6f1a2-0000-4000-8000-0123456789ab\",\"TableName\":\"orders\","
        "\"TableSizeBytes\":98765432100,\"TableStatus\":\"ACTIVE\"}}";
    char hdr[128];
    crc_header(body, hdr, sizeof(hdr));
    struct fake_response script[] = {{200, hdr, body, 0, false}};
    fake_http_script(e->fh, script, 1);
    struct ddb_table_desc d;
    struct err err = ERR_INIT;
    assert_int_equal(ddb_describe_table(&e->c, "orders", &d, &err), ERR_OK);
    const struct fake_request *r = &e->fh->reqs[0];
    assert_string_equal(r->url, "http://127.0.0.1:4567/");
    assert_string_equal(fake_request_header(r, "X-Amz-Target"), "DynamoDB_20120810.DescribeTable");
    assert_string_equal(fake_request_header(r, "Content-Type"), "application/x-amz-json-1.0");
    assert_string_equal(buf_cstr(&r->body), "{\"TableName\":\"orders\"}");
    assert_string_equal(d.table_name, "orders");
    assert_string_equal(d.table_arn, "arn:aws:dynamodb:us-east-1:111122223333:table/orders");
    assert_string_equal(d.table_id, "e1b6f1a2-0000-4000-8000-0123456789ab");
    assert_string_equal(d.status, "ACTIVE");
    assert_string_equal(d.hash_key, "pk");
    assert_string_equal(d.range_key, "sk");
    assert_string_equal(d.billing_mode, "PAY_PER_REQUEST");
    assert_int_equal(d.item_count, 1234567);
    assert_int_equal(d.size_bytes, 98765432100LL);
    assert_int_equal(d.read_capacity_units, 0);
    assert_string_equal(d.stream_arn, "arn:aws:dynamodb:us-east-1:111122223333:table/orders/stream/"
                                      "2024-01-01T00:00:00.000");
    assert_string_equal(d.stream_view_type, "NEW_AND_OLD_IMAGES");
    json_client_env_free(e);
}

static void test_describe_provisioned(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    static const char body[] =
        "{\"Table\":{\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
        "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":25,\"WriteCapacityUnits\":5},"
        "\"TableName\":\"legacy\",\"TableStatus\":\"UPDATING\",\"ItemCount\":0,"
        "\"TableSizeBytes\":0}}";
    struct fake_response script[] = {{200, NULL, body, 0, false}};
    fake_http_script(e->fh, script, 1);
    struct ddb_table_desc d;
    struct err err = ERR_INIT;
    assert_int_equal(ddb_describe_table(&e->c, "legacy", &d, &err), ERR_OK);
    assert_string_equal(d.hash_key, "id");
    assert_string_equal(d.range_key, "");
    assert_string_equal(d.billing_mode, "PROVISIONED");
    assert_int_equal(d.read_capacity_units, 25);
    assert_string_equal(d.status, "UPDATING");
    assert_string_equal(d.stream_arn, "");
    assert_string_equal(d.stream_view_type, "");
    json_client_env_free(e);
}

struct bad_describe_row {
    const char *name;
    int status;
    const char *body;
    enum err_code code;
    const char *msg;
};

static const struct bad_describe_row bad_describe_rows[] = {
    {"describe_no_table", 200, "{\"TableDescription\":{}}", ERR_INVALID_INPUT, "no Table object"},
    {"describe_not_json", 200, "nope", ERR_INVALID_INPUT, "no Table object"},
    {"describe_no_hash_key", 200,
     "{\"Table\":{\"TableName\":\"t\",\"KeySchema\":[{\"AttributeName\":\"s\",\"KeyType\":"
     "\"RANGE\"}]}}",
     ERR_INVALID_INPUT, "no HASH key"},
    {"describe_not_found", 400,
     "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
     "\"message\":\"Requested resource not found: Table: orders not found\"}",
     ERR_HTTP, "Table: orders not found"},
};

static void test_bad_describe_row(void **state)
{
    const struct bad_describe_row *row = *state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    struct fake_response script[] = {{row->status, NULL, row->body, 0, false}};
    fake_http_script(e->fh, script, 1);
    struct ddb_table_desc d;
    struct err err = ERR_INIT;
    assert_int_equal(ddb_describe_table(&e->c, "orders", &d, &err), row->code);
    assert_non_null(strstr(err.msg, row->msg));
    assert_non_null(strstr(err.msg, "DescribeTable orders"));
    assert_int_equal(e->fh->n_reqs, 1); /* none of these is retried */
    json_client_env_free(e);
}

/* ---- input checks ------------------------------------------------------------------------- */

struct table_name_row {
    const char *name;
    const char *table;
    enum err_code code;
};

static char name_255[256];
static char name_256[257];

static const struct table_name_row table_name_rows[] = {
    {"table_ok", "orders", ERR_OK},
    {"table_ok_all_classes", "My.Table-2024_v1", ERR_OK},
    {"table_ok_3_chars", "abc", ERR_OK},
    {"table_ok_255_chars", name_255, ERR_OK},
    {"table_too_short", "ab", ERR_INVALID_INPUT},
    {"table_empty", "", ERR_INVALID_INPUT},
    {"table_null", NULL, ERR_INVALID_INPUT},
    {"table_256_chars", name_256, ERR_INVALID_INPUT},
    {"table_space", "my table", ERR_INVALID_INPUT},
    {"table_slash", "a/b/c", ERR_INVALID_INPUT},
    {"table_quote", "a\"bc", ERR_INVALID_INPUT},
    {"table_non_ascii", "caf\xc3\xa9", ERR_INVALID_INPUT},
};

static void test_table_name_row(void **state)
{
    const struct table_name_row *row = *state;
    struct err err = ERR_INIT;
    assert_int_equal(ddb_check_table_name(row->table, &err), row->code);
    if (row->code != ERR_OK) {
        assert_non_null(strstr(err.msg, "DynamoDB table name"));
    }
}

struct segment_row {
    const char *name;
    int segment;
    int total_segments;
};

static const struct segment_row segment_rows[] = {
    {"segment_negative", -1, 8},           {"segment_equals_total", 8, 8},
    {"segment_past_total", 9, 8},          {"segments_negative_total", 0, -1},
    {"segments_over_million", 0, 1000001},
};

static void test_segment_row(void **state)
{
    const struct segment_row *row = *state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    struct err err = ERR_INIT;
    struct ddb_scan_params params = {
        .table = "orders", .segment = row->segment, .total_segments = row->total_segments};
    assert_int_equal(scan(e, &params, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(e->fh->n_reqs, 0);
    json_client_env_free(e);
}

static void test_bad_table_sends_nothing(void **state)
{
    (void)state;
    struct json_client_env *e = json_client_env_new(ddb_env);
    struct err err = ERR_INIT;
    struct ddb_scan_params params = {.table = "no such table"};
    assert_int_equal(scan(e, &params, &err), ERR_INVALID_INPUT);
    struct ddb_table_desc d;
    assert_int_equal(ddb_describe_table(&e->c, "x", &d, &err), ERR_INVALID_INPUT);
    assert_int_equal(e->fh->n_reqs, 0);
    json_client_env_free(e);
}

static void drop_line(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    (void)line;
    (void)len;
}

int main(void)
{
    memset(name_255, 'a', 255);
    memset(name_256, 'a', 256);
    log_set_sink(drop_line, NULL); /* retry warnings are expected here */

    enum {
        N_BODY = sizeof(scan_body_rows) / sizeof(scan_body_rows[0]),
        N_PAGE = sizeof(bad_page_rows) / sizeof(bad_page_rows[0]),
        N_PARSE = sizeof(parse_error_rows) / sizeof(parse_error_rows[0]),
        N_DESC = sizeof(bad_describe_rows) / sizeof(bad_describe_rows[0]),
        N_NAME = sizeof(table_name_rows) / sizeof(table_name_rows[0]),
        N_SEG = sizeof(segment_rows) / sizeof(segment_rows[0]),
    };
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_scan_page_parsing),
        cmocka_unit_test(test_throughput_exceeded_retried),
        cmocka_unit_test(test_throughput_exceeded_exhausted),
        cmocka_unit_test(test_validation_not_retried),
        cmocka_unit_test(test_server_error_retried),
        cmocka_unit_test(test_crc32_high_bit_passes),
        cmocka_unit_test(test_crc32_wrong_retried),
        cmocka_unit_test(test_crc32_wrong_exhausted),
        cmocka_unit_test(test_crc32_absent_or_unparsable),
        cmocka_unit_test(test_describe_on_demand),
        cmocka_unit_test(test_describe_provisioned),
        cmocka_unit_test(test_bad_table_sends_nothing),
    };
    enum { N_PLAIN = sizeof(plain) / sizeof(plain[0]) };
    static struct CMUnitTest tests[N_BODY + N_PAGE + N_PARSE + N_DESC + N_NAME + N_SEG + N_PLAIN];
    size_t n = 0;
    for (size_t i = 0; i < N_BODY; i++) {
        tests[n++] = (struct CMUnitTest){scan_body_rows[i].name, test_scan_body_row, NULL, NULL,
                                         (void *)&scan_body_rows[i]};
    }
    for (size_t i = 0; i < N_PAGE; i++) {
        tests[n++] = (struct CMUnitTest){bad_page_rows[i].name, test_bad_page_row, NULL, NULL,
                                         (void *)&bad_page_rows[i]};
    }
    for (size_t i = 0; i < N_PARSE; i++) {
        tests[n++] = (struct CMUnitTest){parse_error_rows[i].name, test_parse_error_row, NULL, NULL,
                                         (void *)&parse_error_rows[i]};
    }
    for (size_t i = 0; i < N_DESC; i++) {
        tests[n++] = (struct CMUnitTest){bad_describe_rows[i].name, test_bad_describe_row, NULL,
                                         NULL, (void *)&bad_describe_rows[i]};
    }
    for (size_t i = 0; i < N_NAME; i++) {
        tests[n++] = (struct CMUnitTest){table_name_rows[i].name, test_table_name_row, NULL, NULL,
                                         (void *)&table_name_rows[i]};
    }
    for (size_t i = 0; i < N_SEG; i++) {
        tests[n++] = (struct CMUnitTest){segment_rows[i].name, test_segment_row, NULL, NULL,
                                         (void *)&segment_rows[i]};
    }
    for (size_t i = 0; i < N_PLAIN; i++) {
        tests[n++] = plain[i];
    }
    int failed = _cmocka_run_group_tests("ddb", tests, n, NULL, NULL);
    log_clear_secrets();
    return failed;
}
