/*
 * test_s3.c - the S3 object calls against an in-memory S3 (fake_s3) and scripted answers: keys
 * encoded exactly once, addressing styles, integrity headers, SSE options, listing across pages,
 * and S3's errors. Multipart uploads are test_s3_upload.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_test_env.h"

static char *const aws_env[] = {
    "AWS_REGION=us-east-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    NULL,
};

static char *const aws_eu_env[] = {
    "AWS_REGION=eu-west-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    NULL,
};

static char *const path_style_env[] = {
    "AWS_REGION=us-east-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_S3_USE_PATH_STYLE=true",
    NULL,
};

static char *const base_path_env[] = {
    "AWS_REGION=us-east-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_S3=https://minio.internal:9000/store",
    NULL,
};

/* ---- put / get ------------------------------------------------------------------------ */

static void test_put_get_round_trip(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct err err = ERR_INIT;
    struct s3_object_info info;
    const char *body = "hello world";
    assert_int_equal(
        s3_put_object(&e->c, "bkt", "dir/hello.txt", cur_from_str(body), NULL, &info, &err),
        ERR_OK);
    const struct fake_request *r = last_req(e);
    assert_string_equal(r->method, "PUT");
    assert_string_equal(r->url, "http://127.0.0.1:4569/bkt/dir/hello.txt");
    /* Content-MD5 is base64 of the binary MD5 (RFC 1864), not of its hex. */
    assert_string_equal(fake_request_header(r, "Content-MD5"), "XrY7u+Ae7tCTyyK7j1rNww==");
    assert_null(fake_request_header(r, "x-amz-checksum-crc32c"));
    assert_string_equal(fake_request_header(r, "Content-Type"), "application/octet-stream");
    assert_string_equal(buf_cstr(&r->body), body);
    assert_string_equal(info.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3");
    assert_int_equal(info.size, 11);
    assert_int_equal(info.parts, 0);
    char hex[33];
    hex16(info.md5, hex);
    assert_string_equal(hex, "5eb63bbbe01eeed093cb22bb8f5acdc3");

    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "dir/hello.txt", &bytes, &len));
    assert_int_equal(len, 11);
    assert_memory_equal(bytes, body, 11);

    struct buf out = BUF_INIT(1024);
    assert_int_equal(s3_get_object(&e->c, "bkt", "dir/hello.txt", &out, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), body);
    assert_string_equal(last_req(e)->method, "GET");
    buf_cleanup(&out);

    bool exists = false;
    assert_int_equal(s3_head_object(&e->c, "bkt", "dir/hello.txt", &exists, &info, &err), ERR_OK);
    assert_true(exists);
    assert_int_equal(info.size, 11);
    assert_string_equal(info.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3");

    assert_int_equal(s3_delete_object(&e->c, "bkt", "dir/hello.txt", &err), ERR_OK);
    assert_string_equal(last_req(e)->method, "DELETE");
    assert_int_equal(fake_s3_count(e->s3), 0);
    assert_int_equal(s3_head_object(&e->c, "bkt", "dir/hello.txt", &exists, &info, &err), ERR_OK);
    assert_false(exists);
    env_free(e);
}

static void test_put_empty_object(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct err err = ERR_INIT;
    struct s3_object_info info;
    assert_int_equal(s3_put_object(&e->c, "bkt", "empty", cur_make(NULL, 0), NULL, &info, &err),
                     ERR_OK);
    assert_string_equal(fake_request_header(last_req(e), "Content-MD5"),
                        "1B2M2Y8AsgTpgAmY7PhCfg==");
    assert_string_equal(info.etag, "d41d8cd98f00b204e9800998ecf8427e");
    const uint8_t *bytes;
    size_t len = 1;
    assert_true(fake_s3_get(e->s3, "bkt", "empty", &bytes, &len));
    assert_int_equal(len, 0);
    env_free(e);
}

static void test_get_missing_and_bounded(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct err err = ERR_INIT;
    struct buf out = BUF_INIT(10);
    assert_int_equal(s3_get_object(&e->c, "bkt", "nope", &out, &err), ERR_HTTP);
    assert_int_equal(err.http_status, 404);
    assert_string_equal(err.aws_code, "NoSuchKey");
    assert_false(err.retryable);
    assert_non_null(strstr(err.msg, "GetObject s3://bkt/nope"));
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_GET_OBJECT), 1);
    /* S3's <Error> document is not left where the caller expects the object. */
    assert_int_equal(out.len, 0);
    assert_int_equal(out.max, 10);

    /* A body past out->max is refused, not truncated. */
    uint8_t *big = test_bytes(100, 1);
    fake_s3_put(e->s3, "bkt", "big", big, 100);
    assert_int_equal(s3_get_object(&e->c, "bkt", "big", &out, &err), ERR_TOO_LARGE);
    assert_int_equal(out.len, 0);
    assert_int_equal(out.max, 10);
    fake_s3_put(e->s3, "bkt", "fits", big, 10);
    assert_int_equal(s3_get_object(&e->c, "bkt", "fits", &out, &err), ERR_OK);
    assert_int_equal(out.len, 10);
    assert_memory_equal(out.data, big, 10);
    buf_cleanup(&out);
    free(big);
    env_free(e);
}

/* ---- awkward keys ------------------------------------------------------------------------ */

struct key_row {
    const char *name;
    const char *key;
    const char *wire_path; /* after http://127.0.0.1:4569 */
};

static const struct key_row key_rows[] = {
    {"key_space", "dir/a b.txt", "/bkt/dir/a%20b.txt"},
    {"key_plus", "a+b", "/bkt/a%2Bb"},
    {"key_percent", "100%/x%41", "/bkt/100%25/x%2541"},
    {"key_encoded_lookalike", "a%20b", "/bkt/a%2520b"},
    {"key_unicode", "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.json",
     "/bkt/caf%C3%A9/%E6%97%A5%E6%9C%AC.json"},
    {"key_emoji", "\xf0\x9f\x98\x80", "/bkt/%F0%9F%98%80"},
    {"key_tilde", "~user/x~y", "/bkt/~user/x~y"},
    {"key_equals_ampersand", "k=v&x=y", "/bkt/k%3Dv%26x%3Dy"},
    {"key_query_chars", "q?x#y;z", "/bkt/q%3Fx%23y%3Bz"},
    {"key_xml_chars", "a<b>&'\"", "/bkt/a%3Cb%3E%26%27%22"},
    {"key_double_slash", "a//b/", "/bkt/a//b/"},
    {"key_unreserved", "AZaz09-._~", "/bkt/AZaz09-._~"},
    {"key_colon_at", "t=2024-01-01T00:00:00Z@x", "/bkt/t%3D2024-01-01T00%3A00%3A00Z%40x"},
};

static enum err_code
collect_key(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err)
{
    (void)size;
    (void)etag;
    return buf_printf(ctx, err, "%s\n", key);
}

static void test_key_row(void **state)
{
    const struct key_row *row = *state;
    struct env *e = env_new(local_env);
    struct err err = ERR_INIT;
    struct s3_object_info info;
    assert_int_equal(s3_put_object(&e->c, "bkt", row->key, cur_from_str("v"), NULL, &info, &err),
                     ERR_OK);
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:4569%s", row->wire_path);
    assert_string_equal(last_req(e)->url, url);
    /* Stored under the decoded key: encoded exactly once. */
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", row->key, &bytes, &len));
    assert_int_equal(fake_s3_count(e->s3), 1);

    struct buf out = BUF_INIT(64);
    assert_int_equal(s3_get_object(&e->c, "bkt", row->key, &out, &err), ERR_OK);
    assert_string_equal(last_req(e)->url, url);
    assert_string_equal(buf_cstr(&out), "v");
    buf_cleanup(&out);

    /* The key as a listing prefix goes in the query, and comes back decoded from the XML. */
    struct buf keys = BUF_INIT(0);
    assert_int_equal(s3_list_objects(&e->c, "bkt", row->key, collect_key, &keys, &err), ERR_OK);
    char want[256];
    snprintf(want, sizeof(want), "%s\n", row->key);
    assert_string_equal(buf_cstr(&keys), want);
    buf_cleanup(&keys);

    assert_int_equal(s3_delete_object(&e->c, "bkt", row->key, &err), ERR_OK);
    assert_int_equal(fake_s3_count(e->s3), 0);
    env_free(e);
}

static void test_object_path(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(s3_object_path(&out, "b.k", "x y/z", true, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), "/b.k/x%20y/z");
    buf_reset(&out);
    assert_int_equal(s3_object_path(&out, "bk", "x y/z", false, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), "/x%20y/z");
    buf_reset(&out);
    assert_int_equal(s3_object_path(&out, "bk", NULL, true, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), "/bk");
    buf_reset(&out);
    assert_int_equal(s3_object_path(&out, "bk", NULL, false, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), "/");
    buf_cleanup(&out);
}

/* ---- addressing ------------------------------------------------------------------------ */

struct addr_row {
    const char *name;
    char *const *envp;
    const char *bucket;
    const char *url; /* of PutObject "k v" */
};

static const struct addr_row addr_rows[] = {
    {"virtual_hosted_default", aws_env, "my-bucket",
     "https://my-bucket.s3.us-east-1.amazonaws.com/k%20v"},
    {"virtual_hosted_region", aws_eu_env, "my-bucket",
     "https://my-bucket.s3.eu-west-1.amazonaws.com/k%20v"},
    {"path_style_for_dots", aws_env, "my.bucket",
     "https://s3.us-east-1.amazonaws.com/my.bucket/k%20v"},
    {"path_style_forced", path_style_env, "my-bucket",
     "https://s3.us-east-1.amazonaws.com/my-bucket/k%20v"},
    {"path_style_custom_endpoint", local_env, "my-bucket", "http://127.0.0.1:4569/my-bucket/k%20v"},
    {"custom_endpoint_base_path", base_path_env, "my-bucket",
     "https://minio.internal:9000/store/my-bucket/k%20v"},
};

static void test_addr_row(void **state)
{
    const struct addr_row *row = *state;
    struct env *e = env_new(row->envp);
    static const struct fake_response ok[] = {{200, NULL, "", 0, false}};
    fake_http_script(e->fh, ok, 1);
    struct err err = ERR_INIT;
    assert_int_equal(s3_put_object(&e->c, row->bucket, "k v", cur_from_str("x"), NULL, NULL, &err),
                     ERR_OK);
    assert_int_equal(e->fh->n_reqs, 1);
    assert_string_equal(e->fh->reqs[0].url, row->url);
    /* Host is signed: the signed-headers list must name it (curl sends it from the URL). */
    const char *auth = fake_request_header(&e->fh->reqs[0], "Authorization");
    assert_non_null(auth);
    assert_non_null(strstr(auth, "SignedHeaders=content-md5;content-type;host;"));
    assert_non_null(strstr(auth, "/s3/aws4_request"));
    env_free(e);
}

static void test_virtual_hosted_fake_s3(void **state)
{
    (void)state;
    /* The fake understands virtual-hosted URLs too: the object lands in the right bucket. */
    struct env *e = env_new(aws_env);
    struct err err = ERR_INIT;
    assert_int_equal(
        s3_put_object(&e->c, "my-bucket", "a/b+c", cur_from_str("x"), NULL, NULL, &err), ERR_OK);
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "my-bucket", "a/b+c", &bytes, &len));
    struct buf keys = BUF_INIT(0);
    assert_int_equal(s3_list_objects(&e->c, "my-bucket", NULL, collect_key, &keys, &err), ERR_OK);
    assert_string_equal(last_req(e)->url,
                        "https://my-bucket.s3.us-east-1.amazonaws.com/?list-type=2");
    assert_string_equal(buf_cstr(&keys), "a/b+c\n");
    buf_cleanup(&keys);
    env_free(e);
}

/* ---- integrity and object options ---------------------------------------------------- */

static void test_put_crc32c(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct err err = ERR_INIT;
    struct s3_put_options opts = {.checksum = S3_CHECKSUM_CRC32C};
    struct s3_object_info info;
    assert_int_equal(
        s3_put_object(&e->c, "bkt", "k", cur_from_str("123456789"), &opts, &info, &err), ERR_OK);
    const struct fake_request *r = last_req(e);
    /* CRC32C("123456789") = 0xE3069283, sent big-endian in base64. */
    assert_string_equal(fake_request_header(r, "x-amz-checksum-crc32c"), "4waSgw==");
    assert_null(fake_request_header(r, "Content-MD5"));
    /* The ETag is still the MD5 and still checked. */
    char hex[33];
    md5_hex("123456789", 9, hex);
    assert_string_equal(info.etag, hex);
    env_free(e);
}

static void test_bad_digest_is_refused(void **state)
{
    (void)state;
    /* The fake checks Content-MD5 like S3: a body changed after hashing is a 400 BadDigest. */
    struct env *e = env_new(local_env);
    struct http_response resp;
    http_response_init(&resp, 4096);
    struct err err = ERR_INIT;
    const struct http_header h[] = {
        {"Authorization", "AWS4-HMAC-SHA256 Credential=x"},
        {"X-Amz-Date", "20240101T000000Z"},
        {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
        {"Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="},
    };
    struct http_request req = {
        .method = "PUT",
        .url = "http://127.0.0.1:4569/bkt/k",
        .headers = h,
        .n_headers = 4,
        .body = cur_from_str("hello world!"),
    };
    assert_int_equal(http_send(&e->fh->base, &req, &resp, &err), ERR_OK);
    assert_int_equal(resp.status, 400);
    assert_non_null(strstr(buf_cstr(&resp.body), "<Code>BadDigest</Code>"));
    assert_int_equal(fake_s3_count(e->s3), 0);
    /* And a raw '+' in a path is refused: keys must be percent-encoded. */
    req.url = "http://127.0.0.1:4569/bkt/a+b";
    req.body = cur_from_str("hello world");
    assert_int_equal(http_send(&e->fh->base, &req, &resp, &err), ERR_OK);
    assert_int_equal(resp.status, 400);
    assert_non_null(strstr(buf_cstr(&resp.body), "<Code>InvalidURI</Code>"));
    http_response_cleanup(&resp);
    env_free(e);
}

static void test_put_sse_kms_headers(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct err err = ERR_INIT;
    struct s3_put_options opts = {
        .content_type = "application/x-ndjson",
        .sse = "aws:kms",
        .sse_kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/1234abcd",
        .storage_class = "STANDARD_IA",
    };
    struct s3_object_info info;
    assert_int_equal(
        s3_put_object(&e->c, "bkt", "k.json", cur_from_str("{}\n"), &opts, &info, &err), ERR_OK);
    const struct fake_request *r = last_req(e);
    assert_string_equal(fake_request_header(r, "Content-Type"), "application/x-ndjson");
    assert_string_equal(fake_request_header(r, "x-amz-server-side-encryption"), "aws:kms");
    assert_string_equal(fake_request_header(r, "x-amz-server-side-encryption-aws-kms-key-id"),
                        "arn:aws:kms:us-east-1:111122223333:key/1234abcd");
    assert_string_equal(fake_request_header(r, "x-amz-storage-class"), "STANDARD_IA");
    /* With SSE-KMS the ETag is not an MD5: it is reported, not compared. */
    char hex[33];
    md5_hex("{}\n", 3, hex);
    assert_string_not_equal(info.etag, hex);
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "k.json"));
    char v[128];
    assert_true(fake_s3_object_header(e->s3, "bkt", "k.json", "x-amz-storage-class", v, sizeof(v)));
    assert_string_equal(v, "STANDARD_IA");
    env_free(e);
}

static void test_put_sse_s3_headers(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct err err = ERR_INIT;
    struct s3_put_options opts = {.sse = "AES256"};
    assert_int_equal(s3_put_object(&e->c, "bkt", "k", cur_from_str("x"), &opts, NULL, &err),
                     ERR_OK);
    const struct fake_request *r = last_req(e);
    assert_string_equal(fake_request_header(r, "x-amz-server-side-encryption"), "AES256");
    assert_null(fake_request_header(r, "x-amz-server-side-encryption-aws-kms-key-id"));
    assert_null(fake_request_header(r, "x-amz-storage-class"));
    env_free(e);
}

static void test_etag_mismatch_detected(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    static const struct fake_response wrong[] = {
        {200, "ETag: \"00000000000000000000000000000000\"\r\n", "", 0, false},
        {200, "ETag: \"00000000000000000000000000000000\"\r\n", "", 0, false},
    };
    fake_http_script(e->fh, wrong, 2);
    struct err err = ERR_INIT;
    struct s3_object_info info;
    assert_int_equal(s3_put_object(&e->c, "bkt", "k", cur_from_str("x"), NULL, &info, &err),
                     ERR_TRANSPORT);
    assert_true(err.retryable);
    assert_non_null(strstr(err.msg, "does not match the MD5 9dd4e461268c8034f5c8564e155c67a6"));
    assert_non_null(strstr(err.msg, "s3://bkt/k"));
    /* SSE-KMS: S3's ETag is not an MD5, so the same answer is fine. */
    struct s3_put_options kms = {.sse = "aws:kms"};
    assert_int_equal(s3_put_object(&e->c, "bkt", "k", cur_from_str("x"), &kms, &info, &err),
                     ERR_OK);
    assert_string_equal(info.etag, "00000000000000000000000000000000");
    env_free(e);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_access_denied(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    static const struct fake_response denied[] = {
        {403, "x-amz-request-id: 4442587FB7D0A2F9\r\nContent-Type: application/xml\r\n",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
         "<Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId>"
         "<HostId>abc</HostId></Error>",
         0, false},
    };
    fake_http_script(e->fh, denied, 1);
    struct err err = ERR_INIT;
    assert_int_equal(s3_put_object(&e->c, "bkt", "a/b", cur_from_str("x"), NULL, NULL, &err),
                     ERR_HTTP);
    assert_int_equal(err.http_status, 403);
    assert_string_equal(err.aws_code, "AccessDenied");
    assert_string_equal(err.request_id, "4442587FB7D0A2F9");
    assert_false(err.retryable);
    assert_non_null(strstr(err.msg, "PutObject s3://bkt/a/b"));
    assert_non_null(strstr(err.msg, "Access Denied"));
    assert_int_equal(e->fh->n_reqs, 1); /* not retried */
    assert_int_equal(e->fs.n_sleeps, 0);
    env_free(e);
}

static void test_slowdown_retried(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_PUT_OBJECT, 1, 503, "SlowDown");
    fake_s3_fail_next(e->s3, FAKE_S3_PUT_OBJECT, 1, 0, NULL); /* then a reset connection */
    struct err err = ERR_INIT;
    assert_int_equal(s3_put_object(&e->c, "bkt", "k", cur_from_str("x"), NULL, NULL, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 3);
    assert_int_equal(e->c.stats.retries, 2);
    assert_int_equal(e->c.stats.throttled, 1);
    assert_int_equal(e->fs.n_sleeps, 2);
    assert_true(e->fs.sleeps[0] <= AWS_THROTTLE_BASE_MS);
    assert_true(fake_s3_etag(e->s3, "bkt", "k") != NULL);
    env_free(e);
}

/* Each object call under each fault, on its first AWS_MAX_ATTEMPTS - 1 attempts (it succeeds)
 * and on every attempt (it fails, naming the call, after exactly AWS_MAX_ATTEMPTS). The rows are
 * the product of these three tables, built in main(). */
static const enum fake_s3_op fault_ops[] = {
    FAKE_S3_PUT_OBJECT,    FAKE_S3_GET_OBJECT,   FAKE_S3_HEAD_OBJECT,
    FAKE_S3_DELETE_OBJECT, FAKE_S3_LIST_OBJECTS,
};

static const struct {
    const char *label;
    int status; /* 0: a reset, no answer */
    const char *code;
} fault_kinds[] = {
    {"reset", 0, NULL},
    {"500", 500, "InternalError"},
    {"503", 503, "SlowDown"},
};

static const int fault_counts[] = {2, 3}; /* the client makes 3 attempts */

struct fault_row {
    char name[64];
    enum fake_s3_op op;
    int status;
    const char *code;
    int count;
};

#define N_FAULT_ROWS                                                                               \
    (sizeof(fault_ops) / sizeof(fault_ops[0]) * sizeof(fault_kinds) / sizeof(fault_kinds[0]) *     \
     sizeof(fault_counts) / sizeof(fault_counts[0]))

static enum err_code
count_key(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err)
{
    (void)key;
    (void)size;
    (void)etag;
    (void)err;
    (*(int *)ctx)++;
    return ERR_OK;
}

static void test_fault_row(void **state)
{
    const struct fault_row *row = *state;
    struct env *e = env_new(local_env);
    fake_s3_put(e->s3, "bkt", "dir/k", "hello", 5);
    fake_s3_fail_next(e->s3, row->op, row->count, row->status, row->code);
    struct err err = ERR_INIT;
    struct buf got = BUF_INIT(1024);
    bool exists = false;
    struct s3_object_info info;
    int listed = 0;
    enum err_code rc = ERR_OK;
    switch (row->op) {
    case FAKE_S3_PUT_OBJECT:
        rc = s3_put_object(&e->c, "bkt", "dir/k", cur_from_str("hello"), NULL, NULL, &err);
        break;
    case FAKE_S3_GET_OBJECT:
        rc = s3_get_object(&e->c, "bkt", "dir/k", &got, &err);
        break;
    case FAKE_S3_HEAD_OBJECT:
        rc = s3_head_object(&e->c, "bkt", "dir/k", &exists, &info, &err);
        break;
    case FAKE_S3_DELETE_OBJECT:
        rc = s3_delete_object(&e->c, "bkt", "dir/k", &err);
        break;
    default:
        rc = s3_list_objects(&e->c, "bkt", "dir/", count_key, &listed, &err);
        break;
    }
    assert_int_equal(fake_s3_calls(e->s3, row->op), (size_t)(row->count < 3 ? row->count + 1 : 3));
    if (row->count < 3) {
        assert_int_equal(rc, ERR_OK);
        assert_true(row->op != FAKE_S3_GET_OBJECT || cur_eq_str(buf_cur(&got), "hello"));
        assert_true(row->op != FAKE_S3_HEAD_OBJECT || exists);
        assert_true(row->op != FAKE_S3_LIST_OBJECTS || listed == 1);
        assert_true(row->op != FAKE_S3_DELETE_OBJECT || fake_s3_count(e->s3) == 0);
    } else {
        assert_int_equal(rc, row->status == 0 ? ERR_TRANSPORT : ERR_HTTP);
        assert_true(err.retryable);
        assert_non_null(strstr(err.msg, fake_s3_op_name(row->op)));
        assert_non_null(strstr(err.msg, "after 3 attempts"));
    }
    buf_cleanup(&got);
    env_free(e);
}

struct parse_error_row {
    const char *name;
    int status;
    const char *body;
    const char *code;
    const char *message;
};

static const struct parse_error_row parse_error_rows[] = {
    {"error_xml", 403,
     "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access &amp; "
     "Denied</Message></Error>",
     "AccessDenied", "Access & Denied"},
    {"error_xml_no_message", 400, "<Error><Code>InvalidArgument</Code></Error>", "InvalidArgument",
     ""},
    {"head_404_no_body", 404, "", "NotFound", ""},
    {"head_403_no_body", 403, "", "Forbidden", ""},
    {"head_503_no_body", 503, "", "ServiceUnavailable", ""},
    {"no_body_500", 500, "", "", ""},
    {"html_from_proxy", 502, "<html><body>Bad Gateway</body></html>", "", ""},
};

static void test_parse_error_row(void **state)
{
    const struct parse_error_row *row = *state;
    struct http_response resp;
    http_response_init(&resp, 4096);
    struct err err = ERR_INIT;
    resp.status = row->status;
    assert_int_equal(buf_append_str(&resp.body, row->body, &err), ERR_OK);
    char code[64] = "x", message[128] = "x";
    s3_parse_error(&resp, code, sizeof(code), message, sizeof(message));
    assert_string_equal(code, row->code);
    assert_string_equal(message, row->message);
    http_response_cleanup(&resp);
}

/* ---- s3_check_location ---------------------------------------------------------------- */

struct location_row {
    const char *name;
    const char *bucket;
    const char *key;
    enum err_code code;
    const char *msg; /* part of the message */
};

static char key_1024[S3_MAX_KEY_BYTES + 1];
static char key_1025[S3_MAX_KEY_BYTES + 2];

static const struct location_row location_rows[] = {
    {"loc_ok", "my-bucket", "a/b.json", ERR_OK, ""},
    {"loc_ok_dots_digits", "my.bucket.2024", "k", ERR_OK, ""},
    {"loc_ok_bucket_only", "abc", NULL, ERR_OK, ""},
    {"loc_ok_63_chars", "a23456789012345678901234567890123456789012345678901234567890123", "k",
     ERR_OK, ""},
    {"loc_ok_key_1024", "bkt", key_1024, ERR_OK, ""},
    {"loc_bucket_short", "ab", "k", ERR_INVALID_INPUT, "3 to 63"},
    {"loc_bucket_empty", "", "k", ERR_INVALID_INPUT, "3 to 63"},
    {"loc_bucket_64_chars", "a234567890123456789012345678901234567890123456789012345678901234", "k",
     ERR_INVALID_INPUT, "3 to 63"},
    {"loc_bucket_uppercase", "MyBucket", "k", ERR_INVALID_INPUT, "lowercase"},
    {"loc_bucket_underscore", "my_bucket", "k", ERR_INVALID_INPUT, "lowercase"},
    {"loc_bucket_slash", "my/bucket", "k", ERR_INVALID_INPUT, "lowercase"},
    {"loc_bucket_space", "my bucket", "k", ERR_INVALID_INPUT, "lowercase"},
    {"loc_bucket_leading_hyphen", "-bucket", "k", ERR_INVALID_INPUT, "begin and end"},
    {"loc_bucket_trailing_dot", "bucket.", "k", ERR_INVALID_INPUT, "begin and end"},
    {"loc_bucket_double_dot", "my..bucket", "k", ERR_INVALID_INPUT, "\"..\""},
    {"loc_key_empty", "bkt", "", ERR_INVALID_INPUT, "1 to 1024"},
    {"loc_key_1025", "bkt", key_1025, ERR_INVALID_INPUT, "1 to 1024"},
};

static void test_location_row(void **state)
{
    const struct location_row *row = *state;
    struct err err = ERR_INIT;
    assert_int_equal(s3_check_location(row->bucket, row->key, &err), row->code);
    if (row->code != ERR_OK) {
        assert_non_null(strstr(err.msg, row->msg));
    }
}

static void test_invalid_location_sends_nothing(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct err err = ERR_INIT;
    assert_int_equal(s3_put_object(&e->c, "Bad_Bucket", "k", cur_from_str("x"), NULL, NULL, &err),
                     ERR_INVALID_INPUT);
    assert_int_equal(s3_put_object(&e->c, "bkt", "", cur_from_str("x"), NULL, NULL, &err),
                     ERR_INVALID_INPUT);
    struct s3_upload u;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", key_1025, NULL, 0, &err), ERR_INVALID_INPUT);
    s3_upload_cleanup(&u);
    assert_int_equal(e->fh->n_reqs, 0);
    env_free(e);
}

/* ---- listing ------------------------------------------------------------------------------ */

struct listed {
    struct buf keys;
    uint64_t total_size;
    size_t n;
    size_t stop_at; /* 0 = never */
    char etags[16][S3_ETAG_MAX];
};

static enum err_code
collect(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err)
{
    struct listed *l = ctx;
    if (l->stop_at != 0 && l->n + 1 == l->stop_at) {
        return err_set(err, ERR_INVALID_INPUT, "stop at %s", key);
    }
    if (l->n < 16) {
        snprintf(l->etags[l->n], S3_ETAG_MAX, "%s", etag);
    }
    l->n++;
    l->total_size += size;
    return buf_printf(&l->keys, err, "%s|", key);
}

static void test_list_pagination(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    static const char *const keys[] = {
        "logs/z",      "logs/a&b.json",          "logs/a<b>.json", "logs/c d",
        "logs/e\"f'g", "logs/\xc3\xa9t\xc3\xa9", "logs/plus+sign", "logs/]]>cdata",
    };
    size_t n_keys = sizeof(keys) / sizeof(keys[0]);
    for (size_t i = 0; i < n_keys; i++) {
        fake_s3_put(e->s3, "bkt", keys[i], keys[i], i + 1);
    }
    fake_s3_put(e->s3, "bkt", "logt/outside", "x", 1);
    fake_s3_put(e->s3, "other", "logs/other-bucket", "x", 1);
    fake_s3_set_max_keys(e->s3, 3);
    struct listed l = {.keys = BUF_INIT(0)};
    struct err err = ERR_INIT;
    assert_int_equal(s3_list_objects(&e->c, "bkt", "logs/", collect, &l, &err), ERR_OK);
    /* S3's order is byte order of the UTF-8 keys. */
    assert_string_equal(buf_cstr(&l.keys), "logs/]]>cdata|logs/a&b.json|logs/a<b>.json|logs/c "
                                           "d|logs/e\"f'g|logs/plus+sign|logs/z|logs/"
                                           "\xc3\xa9t\xc3\xa9|");
    assert_int_equal(l.n, 8);
    assert_int_equal(l.total_size, 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8);
    assert_string_equal(l.etags[1], fake_s3_etag(e->s3, "bkt", "logs/a&b.json"));
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_LIST_OBJECTS), 3);
    assert_int_equal(e->fh->n_reqs, 3);
    assert_string_equal(e->fh->reqs[0].url, "http://127.0.0.1:4569/bkt?list-type=2&prefix=logs%2F");
    /* The token is sent back percent-encoded ('/', '+' and '=' in it). */
    assert_non_null(strstr(e->fh->reqs[1].url, "&continuation-token=tok%2F"));
    assert_non_null(strstr(e->fh->reqs[1].url, "%2B%3D%3D"));
    assert_non_null(strstr(e->fh->reqs[2].url, "&prefix=logs%2F"));
    buf_cleanup(&l.keys);

    /* No prefix: every key of the bucket. */
    struct listed all = {.keys = BUF_INIT(0)};
    assert_int_equal(s3_list_objects(&e->c, "bkt", NULL, collect, &all, &err), ERR_OK);
    assert_int_equal(all.n, 9);
    buf_cleanup(&all.keys);
    env_free(e);
}

static void test_list_callback_error_stops(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    for (int i = 0; i < 10; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%02d", i);
        fake_s3_put(e->s3, "bkt", k, "x", 1);
    }
    fake_s3_set_max_keys(e->s3, 2);
    struct listed l = {.keys = BUF_INIT(0), .stop_at = 3};
    struct err err = ERR_INIT;
    assert_int_equal(s3_list_objects(&e->c, "bkt", NULL, collect, &l, &err), ERR_INVALID_INPUT);
    assert_string_equal(err.msg, "stop at k02");
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_LIST_OBJECTS), 2);
    buf_cleanup(&l.keys);
    env_free(e);
}

/* A malformed ListObjectsV2 page stops the listing with ERR_INVALID_INPUT. */
struct bad_list_row {
    const char *name;
    const char *prefix;
    const char *page;
    const char *msg; /* part of the message */
    size_t listed;   /* keys passed to the callback before the failure */
};

static const struct bad_list_row bad_list_rows[] = {
    {"test_list_truncated_without_token", "p",
     "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key><Size>1</Size>"
     "</Contents></ListBucketResult>",
     "NextContinuationToken", 1},
    {"test_list_contents_without_key", NULL,
     "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><KeyMarker>a</KeyMarker>"
     "</Contents></ListBucketResult>",
     "without <Key>", 0},
};

static void test_bad_list_row(void **state)
{
    const struct bad_list_row *row = *state;
    struct env *e = env_new(local_env);
    const struct fake_response page[] = {{200, NULL, row->page, 0, false}};
    fake_http_script(e->fh, page, 1);
    struct listed l = {.keys = BUF_INIT(0)};
    struct err err = ERR_INIT;
    assert_int_equal(s3_list_objects(&e->c, "bkt", row->prefix, collect, &l, &err),
                     ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, row->msg));
    assert_int_equal(l.n, row->listed);
    buf_cleanup(&l.keys);
    env_free(e);
}

int main(void)
{
    memset(key_1024, 'k', S3_MAX_KEY_BYTES);
    memset(key_1025, 'k', S3_MAX_KEY_BYTES + 1);
    log_set_sink(drop_line, NULL); /* retry warnings are expected here */

    enum {
        N_KEY = sizeof(key_rows) / sizeof(key_rows[0]),
        N_ADDR = sizeof(addr_rows) / sizeof(addr_rows[0]),
        N_PARSE = sizeof(parse_error_rows) / sizeof(parse_error_rows[0]),
        N_LOC = sizeof(location_rows) / sizeof(location_rows[0]),
        N_LIST = sizeof(bad_list_rows) / sizeof(bad_list_rows[0]),
    };
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_put_get_round_trip),
        cmocka_unit_test(test_put_empty_object),
        cmocka_unit_test(test_get_missing_and_bounded),
        cmocka_unit_test(test_object_path),
        cmocka_unit_test(test_virtual_hosted_fake_s3),
        cmocka_unit_test(test_put_crc32c),
        cmocka_unit_test(test_bad_digest_is_refused),
        cmocka_unit_test(test_put_sse_kms_headers),
        cmocka_unit_test(test_put_sse_s3_headers),
        cmocka_unit_test(test_etag_mismatch_detected),
        cmocka_unit_test(test_access_denied),
        cmocka_unit_test(test_slowdown_retried),
        cmocka_unit_test(test_invalid_location_sends_nothing),
        cmocka_unit_test(test_list_pagination),
        cmocka_unit_test(test_list_callback_error_stops),
    };
    enum { N_PLAIN = sizeof(plain) / sizeof(plain[0]) };
    static struct fault_row fault_rows[N_FAULT_ROWS];
    static struct CMUnitTest
        tests[N_KEY + N_ADDR + N_PARSE + N_LOC + N_LIST + N_FAULT_ROWS + N_PLAIN];
    size_t n = 0;
    size_t nf = 0;
    for (size_t o = 0; o < sizeof(fault_ops) / sizeof(fault_ops[0]); o++) {
        for (size_t k = 0; k < sizeof(fault_kinds) / sizeof(fault_kinds[0]); k++) {
            for (size_t c = 0; c < sizeof(fault_counts) / sizeof(fault_counts[0]); c++) {
                struct fault_row *r = &fault_rows[nf++];
                r->op = fault_ops[o];
                r->status = fault_kinds[k].status;
                r->code = fault_kinds[k].code;
                r->count = fault_counts[c];
                snprintf(r->name, sizeof(r->name), "%s.%s.%s", fake_s3_op_name(r->op),
                         fault_kinds[k].label, r->count < 3 ? "k" : "all");
                tests[n++] = (struct CMUnitTest){r->name, test_fault_row, NULL, NULL, r};
            }
        }
    }
    for (size_t i = 0; i < N_KEY; i++) {
        tests[n++] =
            (struct CMUnitTest){key_rows[i].name, test_key_row, NULL, NULL, (void *)&key_rows[i]};
    }
    for (size_t i = 0; i < N_ADDR; i++) {
        tests[n++] = (struct CMUnitTest){addr_rows[i].name, test_addr_row, NULL, NULL,
                                         (void *)&addr_rows[i]};
    }
    for (size_t i = 0; i < N_PARSE; i++) {
        tests[n++] = (struct CMUnitTest){parse_error_rows[i].name, test_parse_error_row, NULL, NULL,
                                         (void *)&parse_error_rows[i]};
    }
    for (size_t i = 0; i < N_LOC; i++) {
        tests[n++] = (struct CMUnitTest){location_rows[i].name, test_location_row, NULL, NULL,
                                         (void *)&location_rows[i]};
    }
    for (size_t i = 0; i < N_LIST; i++) {
        tests[n++] = (struct CMUnitTest){bad_list_rows[i].name, test_bad_list_row, NULL, NULL,
                                         (void *)&bad_list_rows[i]};
    }
    for (size_t i = 0; i < N_PLAIN; i++) {
        tests[n++] = plain[i];
    }
    int failed = _cmocka_run_group_tests("s3", tests, n, NULL, NULL);
    log_clear_secrets();
    return failed;
}
