/*
 * ddb.c - DynamoDB requests. Scan pages are not parsed into trees: the response is validated
 * once and items are spans of it, so a 1 MB page costs about 1 MB.
 */
#include "ddb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "awsjson.h"
#include "limit.h"
#include "log.h"

void ddb_parse_error(const struct http_response *resp,
                     char *code,
                     size_t code_cap,
                     char *message,
                     size_t message_cap)
{
    awsjson_parse_error(resp, code, code_cap, message, message_cap);
}

enum err_code ddb_check_table_name(const char *table, struct err *err)
{
    size_t n = table != NULL ? strlen(table) : 0;
    if (n < 3 || n > 255) {
        return err_set(err, ERR_INVALID_INPUT, "DynamoDB table name \"%.60s\": 3 to 255 characters",
                       table != NULL ? table : "");
    }
    for (size_t i = 0; i < n; i++) {
        char ch = table[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.')) {
            return err_set(err, ERR_INVALID_INPUT,
                           "DynamoDB table name \"%.60s\": only letters, digits, '_', '-' and '.'",
                           table);
        }
    }
    return ERR_OK;
}

static enum err_code check_crc32(const struct http_response *resp, struct err *err)
{
    struct cur v;
    int64_t want = 0;
    if (!http_response_header(resp, "x-amz-crc32", &v) || !cur_to_i64(v, &want)) {
        return ERR_OK; /* not every endpoint sends it */
    }
    uLong got = crc32(0L, Z_NULL, 0);
    const uint8_t *p = resp->body.data;
    size_t left = resp->body.len;
    while (left > 0) {
        uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        got = crc32(got, p, chunk);
        p += chunk;
        left -= chunk;
    }
    if ((int64_t)got != want) {
        (void)err_set(err, ERR_TRANSPORT,
                      "response CRC32 %lu does not match x-amz-crc32 %lld: corrupted in transit",
                      (unsigned long)got, (long long)want);
        err->retryable = true;
        return ERR_TRANSPORT;
    }
    return ERR_OK;
}

/* A Scan answer must also be complete JSON: a body cut short in transit is retried. */
static enum err_code check_scan(const struct http_response *resp, struct err *err)
{
    enum err_code rc = check_crc32(resp, err);
    struct json_val root;
    if (rc == ERR_OK && (json_validate(buf_cur(&resp->body), 128, &root, err) != ERR_OK ||
                         root.type != JSON_OBJECT)) {
        (void)err_set(err, ERR_TRANSPORT, "the response body is not a complete JSON object");
        err->retryable = true;
        rc = ERR_TRANSPORT;
    }
    return rc;
}

static enum err_code ddb_call(struct aws_client *c,
                              const char *operation,
                              const char *table,
                              struct cur body,
                              aws_check_fn check,
                              struct http_response *resp,
                              struct err *err)
{
    char target[64];
    char op[LIMIT_DDB_OP_BYTES];
    snprintf(target, sizeof(target), "DynamoDB_20120810.%s", operation);
    snprintf(op, sizeof(op), "%s %s", operation, table);
    const struct awsjson_call call = {
        .service = "dynamodb",
        .ep = &c->eps->dynamodb,
        .json_version = "1.0",
        .target = target,
        .op = op,
        .body = body,
        .check = check,
    };
    return awsjson_call(c, &call, resp, err);
}

void ddb_scan_page_init(struct ddb_scan_page *p)
{
    memset(p, 0, sizeof(*p));
    buf_init(&p->body, DDB_MAX_RESPONSE_BYTES);
}

void ddb_scan_page_cleanup(struct ddb_scan_page *p)
{
    if (p != NULL) {
        buf_cleanup(&p->body);
    }
}

static enum err_code scan_request(struct buf *out, const struct ddb_scan_params *p, struct err *err)
{
    enum err_code rc = buf_append_str(out, "{\"TableName\":", err);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(out, p->table, strlen(p->table), err);
    }
    if (rc == ERR_OK && p->total_segments > 0) {
        rc = buf_printf(out, err, ",\"Segment\":%d,\"TotalSegments\":%d", p->segment,
                        p->total_segments);
    }
    if (rc == ERR_OK && p->limit > 0) {
        rc = buf_printf(out, err, ",\"Limit\":%d", p->limit);
    }
    if (rc == ERR_OK && p->consistent_read) {
        rc = buf_append_str(out, ",\"ConsistentRead\":true", err);
    }
    if (rc == ERR_OK && p->return_consumed_capacity) {
        rc = buf_append_str(out, ",\"ReturnConsumedCapacity\":\"TOTAL\"", err);
    }
    if (rc == ERR_OK && p->exclusive_start_key.len > 0) {
        /* The key goes back exactly as DynamoDB sent it: numbers stay digit for digit. */
        rc = buf_append_str(out, ",\"ExclusiveStartKey\":", err);
        if (rc == ERR_OK) {
            rc = buf_append_cur(out, p->exclusive_start_key, err);
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(out, '}', err);
    }
    return rc;
}

static bool json_number_i64(const struct json_val *v, int64_t *out)
{
    if (v->type != JSON_NUMBER || v->raw.len == 0 || v->raw.len > 18) {
        return false;
    }
    return cur_to_i64(v->raw, out);
}

enum err_code ddb_scan(struct aws_client *c,
                       const struct ddb_scan_params *params,
                       struct ddb_scan_page *page,
                       struct err *err)
{
    struct buf req = BUF_INIT(LIMIT_DDB_SCAN_REQUEST_BYTES);
    struct http_response resp;
    enum err_code rc = ddb_check_table_name(params->table, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (params->total_segments < 0 || params->total_segments > 1000000 ||
        (params->total_segments > 0 &&
         (params->segment < 0 || params->segment >= params->total_segments))) {
        return err_set(err, ERR_INVALID_INPUT, "Scan %s: segment %d of %d is out of range",
                       params->table, params->segment, params->total_segments);
    }
    rc = scan_request(&req, params, err);
    if (rc != ERR_OK) {
        goto out_req;
    }
    http_response_init(&resp, 0);
    resp.body = page->body; /* reuse the page's capacity */
    rc = ddb_call(c, "Scan", params->table, buf_cur(&req), check_scan, &resp, err);
    page->body = resp.body;
    buf_cleanup(&resp.headers);
    if (rc != ERR_OK) {
        goto out_req;
    }
    /* check_scan validated the body as one JSON object before aws_call returned ERR_OK: the
     * root is the body without its surrounding whitespace, and a 1 MB page is scanned once. */
    struct json_val root = {.type = JSON_OBJECT, .raw = cur_trim(buf_cur(&page->body))};
    struct json_val v;
    if (!json_object_get_type(&root, "Items", JSON_ARRAY, &page->items)) {
        rc = err_set(err, ERR_INVALID_INPUT, "Scan %s: response has no Items array", params->table);
        goto out_req;
    }
    int64_t n = 0;
    page->count = json_object_get(&root, "Count", &v) && json_number_i64(&v, &n)
                      ? (size_t)n
                      : json_count(&page->items);
    page->scanned_count =
        json_object_get(&root, "ScannedCount", &v) && json_number_i64(&v, &n) ? (size_t)n : 0;
    page->last_evaluated_key = cur_make(NULL, 0);
    if (json_object_get_type(&root, "LastEvaluatedKey", JSON_OBJECT, &v)) {
        page->last_evaluated_key = v.raw;
    }
    page->consumed_capacity = 0;
    struct json_val cc, units;
    if (json_object_get_type(&root, "ConsumedCapacity", JSON_OBJECT, &cc) &&
        json_object_get_type(&cc, "CapacityUnits", JSON_NUMBER, &units)) {
        char num[64];
        if (units.raw.len < sizeof(num)) {
            memcpy(num, units.raw.ptr, units.raw.len);
            num[units.raw.len] = '\0';
            page->consumed_capacity = strtod(num, NULL);
        }
    }
out_req:
    buf_cleanup(&req);
    return rc;
}

static void copy_str_member(const struct json_val *obj, const char *key, char *dst, size_t cap)
{
    struct json_val v;
    dst[0] = '\0';
    if (json_object_get_type(obj, key, JSON_STRING, &v)) {
        (void)json_string_copy(&v, dst, cap);
    }
}

static int64_t i64_member(const struct json_val *obj, const char *key)
{
    struct json_val v;
    int64_t n = 0;
    if (json_object_get(obj, key, &v) && json_number_i64(&v, &n)) {
        return n;
    }
    return 0;
}

enum err_code ddb_describe_table(struct aws_client *c,
                                 const char *table,
                                 struct ddb_table_desc *out,
                                 struct err *err)
{
    struct buf req = BUF_INIT(LIMIT_DDB_DESCRIBE_REQUEST_BYTES);
    struct http_response resp;
    http_response_init(&resp, LIMIT_DDB_DESCRIBE_RESPONSE_BYTES);
    memset(out, 0, sizeof(*out));
    enum err_code rc = ddb_check_table_name(table, err);
    if (rc == ERR_OK) {
        rc = buf_append_str(&req, "{\"TableName\":", err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_json_str(&req, table, strlen(table), err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(&req, '}', err);
    }
    if (rc == ERR_OK) {
        rc = ddb_call(c, "DescribeTable", table, buf_cur(&req), check_crc32, &resp, err);
    }
    if (rc != ERR_OK) {
        goto out;
    }
    struct json_val root, t, ks, elem, v;
    if (json_validate(buf_cur(&resp.body), 64, &root, err) != ERR_OK ||
        !json_object_get_type(&root, "Table", JSON_OBJECT, &t)) {
        rc = err_set(err, ERR_INVALID_INPUT, "DescribeTable %s: response has no Table object",
                     table);
        goto out;
    }
    copy_str_member(&t, "TableName", out->table_name, sizeof(out->table_name));
    copy_str_member(&t, "TableArn", out->table_arn, sizeof(out->table_arn));
    copy_str_member(&t, "TableId", out->table_id, sizeof(out->table_id));
    copy_str_member(&t, "TableStatus", out->status, sizeof(out->status));
    copy_str_member(&t, "LatestStreamArn", out->stream_arn, sizeof(out->stream_arn));
    out->item_count = i64_member(&t, "ItemCount");
    out->size_bytes = i64_member(&t, "TableSizeBytes");
    snprintf(out->billing_mode, sizeof(out->billing_mode), "PROVISIONED");
    if (json_object_get_type(&t, "BillingModeSummary", JSON_OBJECT, &v)) {
        copy_str_member(&v, "BillingMode", out->billing_mode, sizeof(out->billing_mode));
    }
    if (json_object_get_type(&t, "ProvisionedThroughput", JSON_OBJECT, &v)) {
        out->read_capacity_units = i64_member(&v, "ReadCapacityUnits");
    }
    if (json_object_get_type(&t, "StreamSpecification", JSON_OBJECT, &v)) {
        copy_str_member(&v, "StreamViewType", out->stream_view_type, sizeof(out->stream_view_type));
    }
    if (json_object_get_type(&t, "KeySchema", JSON_ARRAY, &ks)) {
        struct json_iter it;
        json_iter_init(&it, &ks);
        while (json_array_next(&it, &elem)) {
            char name[256], type[16];
            copy_str_member(&elem, "AttributeName", name, sizeof(name));
            copy_str_member(&elem, "KeyType", type, sizeof(type));
            if (strcmp(type, "HASH") == 0) {
                snprintf(out->hash_key, sizeof(out->hash_key), "%s", name);
            } else if (strcmp(type, "RANGE") == 0) {
                snprintf(out->range_key, sizeof(out->range_key), "%s", name);
            }
        }
    }
    if (out->hash_key[0] == '\0') {
        rc = err_set(err, ERR_INVALID_INPUT, "DescribeTable %s: no HASH key in KeySchema", table);
    }
out:
    http_response_cleanup(&resp);
    buf_cleanup(&req);
    return rc;
}
