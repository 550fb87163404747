/*
 * fake_ddb.c - an in-memory DynamoDB table for unit tests: Scan (segments, Limit, paging by
 * key) and DescribeTable, with DynamoDB's error bodies and CRC32 header.
 */
#include "fake_ddb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "json.h"

#define FAKE_DDB_TARGET "DynamoDB_20120810."

struct fake_item {
    char *json;     /* the item as added */
    char *key_json; /* {"<hash key>":{"S":"..."}} */
    char *key;      /* the key's value, unescaped */
};

struct fake_ddb_fault {
    int after;
    int count;
    int status;
    char *type;
};

struct fake_ddb {
    char table[256];
    char hash_key[256];
    struct fake_item *items;
    size_t n_items;
    size_t cap_items;
    struct fake_ddb_fault *faults;
    size_t n_faults;
    size_t cap_faults;
    size_t scans;
    size_t describes;
    size_t next_request_no;
    struct fake_sys *clock;
    int64_t ms_per_request;
    fake_http_fn next_fn;
    void *next_ctx;
};

static void must(enum err_code rc)
{
    if (rc != ERR_OK) {
        abort(); /* test helper: out of memory is fatal */
    }
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) {
        abort();
    }
    return p;
}

struct fake_ddb *fake_ddb_new(const char *table, const char *hash_key)
{
    struct fake_ddb *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        abort();
    }
    snprintf(d->table, sizeof(d->table), "%s", table);
    snprintf(d->hash_key, sizeof(d->hash_key), "%s", hash_key);
    return d;
}

void fake_ddb_free(struct fake_ddb *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n_items; i++) {
        free(d->items[i].json);
        free(d->items[i].key_json);
        free(d->items[i].key);
    }
    free(d->items);
    for (size_t i = 0; i < d->n_faults; i++) {
        free(d->faults[i].type);
    }
    free(d->faults);
    free(d);
}

/* The scalar inside an attribute value {"S": "..."} or {"N": "..."}, unescaped. */
static bool attr_scalar(const struct json_val *attr, char *out, size_t cap)
{
    struct json_iter it;
    struct json_val k, v;
    if (attr->type != JSON_OBJECT) {
        return false;
    }
    json_iter_init(&it, attr);
    return json_object_next(&it, &k, &v) && (json_string_eq(&k, "S") || json_string_eq(&k, "N")) &&
           json_string_copy(&v, out, cap);
}

void fake_ddb_add_item(struct fake_ddb *d, const char *item)
{
    struct json_val root, key;
    struct err e = ERR_INIT;
    char scalar[1024];
    if (json_validate(cur_from_str(item), 64, &root, &e) != ERR_OK ||
        !json_object_get(&root, d->hash_key, &key) || !attr_scalar(&key, scalar, sizeof(scalar))) {
        fprintf(stderr, "fake_ddb: item without hash key %s: %s\n", d->hash_key, item);
        abort();
    }
    struct fake_item *items = mem_grow(d->items, &d->cap_items, d->n_items, sizeof(*items), 16);
    if (items == NULL) {
        abort();
    }
    d->items = items;
    struct fake_item *it = &d->items[d->n_items++];
    struct buf kj = BUF_INIT(0);
    must(buf_append_byte(&kj, '{', &e));
    must(buf_append_json_str(&kj, d->hash_key, strlen(d->hash_key), &e));
    must(buf_append_byte(&kj, ':', &e));
    must(buf_append_cur(&kj, key.raw, &e));
    must(buf_append_byte(&kj, '}', &e));
    it->json = xstrdup(item);
    it->key_json = xstrdup(buf_cstr(&kj));
    it->key = xstrdup(scalar);
    buf_cleanup(&kj);
}

size_t fake_ddb_item_count(const struct fake_ddb *d)
{
    return d->n_items;
}

long fake_ddb_segment_item(const struct fake_ddb *d, int segment, int total, size_t nth)
{
    size_t i = (size_t)segment + nth * (size_t)total;
    return i < d->n_items ? (long)i : -1;
}

const char *fake_ddb_item_key(const struct fake_ddb *d, size_t i)
{
    return i < d->n_items ? d->items[i].key : NULL;
}

void fake_ddb_fail_scan(struct fake_ddb *d, int after, int count, int status, const char *type)
{
    struct fake_ddb_fault *faults =
        mem_grow(d->faults, &d->cap_faults, d->n_faults, sizeof(*faults), 4);
    if (faults == NULL) {
        abort();
    }
    d->faults = faults;
    d->faults[d->n_faults++] = (struct fake_ddb_fault){after, count, status, xstrdup(type)};
}

void fake_ddb_advance_clock(struct fake_ddb *d, struct fake_sys *fs, int64_t ms)
{
    d->clock = fs;
    d->ms_per_request = ms;
}

size_t fake_ddb_calls(const struct fake_ddb *d, const char *op)
{
    if (strcmp(op, "Scan") == 0) {
        return d->scans;
    }
    return strcmp(op, "DescribeTable") == 0 ? d->describes : 0;
}

/* ---- answers ------------------------------------------------------------------------------ */

static enum err_code
reply(struct fake_ddb *d, struct http_response *resp, int status, struct buf *body)
{
    struct err e = ERR_INIT;
    unsigned long crc = crc32(0L, body->data, (uInt)body->len);
    resp->status = status;
    must(buf_printf(&resp->headers, &e,
                    "x-amzn-RequestId: FAKEDDB%06zu\r\nx-amz-crc32: %lu\r\n"
                    "Content-Type: application/x-amz-json-1.0\r\n",
                    ++d->next_request_no, crc));
    must(buf_append(&resp->body, body->data, body->len, &e));
    buf_cleanup(body);
    return ERR_OK;
}

static enum err_code reply_error(struct fake_ddb *d,
                                 struct http_response *resp,
                                 int status,
                                 const char *type,
                                 const char *msg)
{
    struct buf body = BUF_INIT(0);
    struct err e = ERR_INIT;
    must(buf_printf(&body, &e,
                    "{\"__type\":\"com.amazonaws.dynamodb.v20120810#%s\",\"message\":", type));
    must(buf_append_json_str(&body, msg, strlen(msg), &e));
    must(buf_append_byte(&body, '}', &e));
    return reply(d, resp, status, &body);
}

/* The fault for this Scan, if one is due. */
static const struct fake_ddb_fault *take_fault(struct fake_ddb *d)
{
    for (size_t i = 0; i < d->n_faults; i++) {
        struct fake_ddb_fault *f = &d->faults[i];
        if (f->count == 0) {
            continue;
        }
        if (f->after > 0) {
            f->after--;
            return NULL;
        }
        f->count--;
        return f;
    }
    return NULL;
}

static bool int_member(const struct json_val *obj, const char *name, int64_t *out)
{
    struct json_val v;
    return json_object_get_type(obj, name, JSON_NUMBER, &v) && cur_to_i64(v.raw, out);
}

static bool table_matches(const struct fake_ddb *d, const struct json_val *req)
{
    struct json_val v;
    return json_object_get_type(req, "TableName", JSON_STRING, &v) && json_string_eq(&v, d->table);
}

static enum err_code
scan(struct fake_ddb *d, const struct json_val *req, struct http_response *resp)
{
    d->scans++;
    const struct fake_ddb_fault *f = take_fault(d);
    if (f != NULL) {
        return reply_error(d, resp, f->status, f->type, "injected by fake_ddb");
    }
    if (!table_matches(d, req)) {
        return reply_error(d, resp, 400, "ResourceNotFoundException",
                           "Requested resource not found");
    }
    int64_t segment = 0, total = 1, limit = FAKE_DDB_DEFAULT_PAGE;
    if (int_member(req, "TotalSegments", &total) && !int_member(req, "Segment", &segment)) {
        return reply_error(d, resp, 400, "ValidationException", "Segment without TotalSegments");
    }
    (void)int_member(req, "Limit", &limit);
    if (total < 1 || segment < 0 || segment >= total || limit < 1) {
        return reply_error(d, resp, 400, "ValidationException",
                           "bad Segment, TotalSegments or Limit");
    }
    size_t nth = 0;
    struct json_val esk, key;
    if (json_object_get(req, "ExclusiveStartKey", &esk)) {
        char want[1024];
        if (!json_object_get(&esk, d->hash_key, &key) || !attr_scalar(&key, want, sizeof(want))) {
            return reply_error(d, resp, 400, "ValidationException",
                               "The provided starting key is invalid");
        }
        long i;
        while ((i = fake_ddb_segment_item(d, (int)segment, (int)total, nth)) >= 0 &&
               strcmp(d->items[i].key, want) != 0) {
            nth++;
        }
        if (i < 0) {
            return reply_error(d, resp, 400, "ValidationException",
                               "The provided starting key does not name an item of the segment");
        }
        nth++;
    }
    struct buf body = BUF_INIT(0);
    struct err e = ERR_INIT;
    must(buf_append_str(&body, "{\"Items\":[", &e));
    int64_t n = 0;
    long last = -1, i;
    while (n < limit &&
           (i = fake_ddb_segment_item(d, (int)segment, (int)total, nth + (size_t)n)) >= 0) {
        must(buf_printf(&body, &e, "%s%s", n > 0 ? "," : "", d->items[i].json));
        last = i;
        n++;
    }
    must(buf_printf(&body, &e, "],\"Count\":%lld,\"ScannedCount\":%lld", (long long)n,
                    (long long)n));
    struct json_val v;
    if (json_object_get_type(req, "ReturnConsumedCapacity", JSON_STRING, &v) &&
        json_string_eq(&v, "TOTAL")) {
        must(buf_printf(&body, &e,
                        ",\"ConsumedCapacity\":{\"TableName\":\"%s\",\"CapacityUnits\":%.1f}",
                        d->table, (double)n * FAKE_DDB_UNITS_PER_ITEM));
    }
    if (n == limit && last >= 0) {
        must(buf_printf(&body, &e, ",\"LastEvaluatedKey\":%s", d->items[last].key_json));
    }
    must(buf_append_byte(&body, '}', &e));
    return reply(d, resp, 200, &body);
}

static enum err_code
describe(struct fake_ddb *d, const struct json_val *req, struct http_response *resp)
{
    d->describes++;
    if (!table_matches(d, req)) {
        return reply_error(d, resp, 400, "ResourceNotFoundException",
                           "Requested resource not found: Table not found");
    }
    size_t bytes = 0;
    for (size_t i = 0; i < d->n_items; i++) {
        bytes += strlen(d->items[i].json);
    }
    struct buf body = BUF_INIT(0);
    struct err e = ERR_INIT;
    must(buf_printf(
        &body, &e,
        "{\"Table\":{\"TableName\":\"%s\",\"TableArn\":\"" FAKE_DDB_TABLE_ARN_PREFIX
        "%s\",\"TableId\":\"0f0e0d0c-0b0a-0908-0706-050403020100\",\"TableStatus\":\"ACTIVE\","
        "\"ItemCount\":%zu,\"TableSizeBytes\":%zu,\"KeySchema\":[{\"AttributeName\":\"%s\","
        "\"KeyType\":\"HASH\"}],\"BillingModeSummary\":{\"BillingMode\":\"PAY_PER_REQUEST\"}}}",
        d->table, d->table, d->n_items, bytes, d->hash_key));
    return reply(d, resp, 200, &body);
}

static const char *header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

static enum err_code fake_ddb_handle(void *ctx,
                                     const struct http_request *req,
                                     struct http_response *resp,
                                     struct err *err)
{
    struct fake_ddb *d = ctx;
    const char *target = header(req, "X-Amz-Target");
    if (target == NULL || strncmp(target, FAKE_DDB_TARGET, strlen(FAKE_DDB_TARGET)) != 0) {
        if (d->next_fn == NULL) {
            return err_transport(err, req->method, "fake_ddb: not a DynamoDB request");
        }
        return d->next_fn(d->next_ctx, req, resp, err);
    }
    if (d->clock != NULL) {
        d->clock->mono_ms += d->ms_per_request;
        d->clock->wall_ms += d->ms_per_request;
    }
    const char *op = target + strlen(FAKE_DDB_TARGET);
    struct json_val root;
    struct err e = ERR_INIT;
    if (json_validate(req->body, 64, &root, &e) != ERR_OK || root.type != JSON_OBJECT) {
        return reply_error(d, resp, 400, "SerializationException", "the body is not a JSON object");
    }
    if (strcmp(op, "Scan") == 0) {
        return scan(d, &root, resp);
    }
    if (strcmp(op, "DescribeTable") == 0) {
        return describe(d, &root, resp);
    }
    return reply_error(d, resp, 400, "UnknownOperationException", "fake_ddb: not implemented");
}

void fake_ddb_install(struct fake_ddb *d, struct fake_http *fh)
{
    d->next_fn = fh->fn;
    d->next_ctx = fh->fn_ctx;
    fake_http_set_fn(fh, fake_ddb_handle, d);
}
