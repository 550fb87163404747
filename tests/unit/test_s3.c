/*
 * test_s3.c - the S3 client against an in-memory S3 (fake_s3) and scripted answers: keys encoded
 * exactly once, addressing styles, integrity headers, SSE options, multipart streaming with its
 * retries and aborts, listing across pages, and S3's errors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fake_http.h"
#include "fake_s3.h"
#include "fake_sys.h"
#include "log.h"
#include "s3.h"
#include "test_util.h"

#define MIB ((size_t)1024 * 1024)

static char *const local_env[] = {
    "AWS_REGION=us-east-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569",
    "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567",
    NULL,
};

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

/* Everything one test needs: a client on a fake transport, with an in-memory S3 behind it. */
struct env {
    struct fake_sys fs;
    struct fake_http *fh;
    struct fake_s3 *s3;
    struct creds_provider creds;
    struct aws_endpoints eps;
    struct aws_client c;
};

static struct env *env_new(char *const *envp)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    struct err err = ERR_INIT;
    fake_sys_init(&e->fs, 1700000000000LL);
    e->fh = fake_http_new();
    e->s3 = fake_s3_new();
    fake_s3_install(e->s3, e->fh);
    assert_int_equal(aws_endpoints_load(&e->eps, envp, &err), ERR_OK);
    assert_int_equal(creds_provider_init(&e->creds, envp, NULL, &e->fs.sys, &err), ERR_OK);
    aws_client_init(&e->c, &e->fh->base, &e->fs.sys, &e->creds, &e->eps, 3);
    return e;
}

static void env_free(struct env *e)
{
    aws_client_cleanup(&e->c);
    creds_provider_cleanup(&e->creds);
    http_transport_free(&e->fh->base);
    fake_s3_free(e->s3);
    free(e);
}

static const struct fake_request *last_req(const struct env *e)
{
    assert_true(e->fh->n_reqs > 0);
    return &e->fh->reqs[e->fh->n_reqs - 1];
}

/* Lowercase hex of a 16-byte digest (not digest_hex: this checks the client's digests). */
static void hex16(const uint8_t p[16], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[32] = '\0';
}

static void md5_hex(const void *p, size_t n, char out[33])
{
    uint8_t sum[16];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, sum, &len, EVP_md5(), NULL), 1);
    hex16(sum, out);
}

/* Deterministic, incompressible test bytes. */
static uint8_t *test_bytes(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n > 0 ? n : 1);
    assert_non_null(p);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
    return p;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

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

/* ---- multipart ----------------------------------------------------------------------------- */

/* The n-th (0-based) recorded request whose method is method and whose URL contains needle. */
static const struct fake_request *
find_req(const struct env *e, const char *method, const char *needle, size_t nth)
{
    for (size_t i = 0; i < e->fh->n_reqs; i++) {
        const struct fake_request *r = &e->fh->reqs[i];
        if (strcmp(r->method, method) == 0 && strstr(r->url, needle) != NULL && nth-- == 0) {
            return r;
        }
    }
    return NULL;
}

static size_t count_req(const struct env *e, const char *method, const char *needle)
{
    size_t n = 0;
    while (find_req(e, method, needle, n) != NULL) {
        n++;
    }
    return n;
}

/* Writes data in odd-sized chunks; returns the largest part buffer capacity seen. */
static size_t write_in_chunks(struct s3_upload *u, const uint8_t *data, size_t n)
{
    static const size_t chunks[] = {1, 7, 4093, 65537, 1048583, 3, 2097169, 131071};
    size_t off = 0, i = 0, max_cap = 0;
    struct err err = ERR_INIT;
    while (off < n) {
        size_t c = chunks[i++ % (sizeof(chunks) / sizeof(chunks[0]))];
        if (c > n - off) {
            c = n - off;
        }
        assert_int_equal(s3_upload_write(u, data + off, c, &err), ERR_OK);
        off += c;
        if (u->part.cap > max_cap) {
            max_cap = u->part.cap;
        }
    }
    return max_cap;
}

/* Spooled parts: memory stays empty, the bytes and checksums are the same as in memory. */
static void test_multipart_spooled(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    size_t total = 12 * MIB + 3;
    uint8_t *data = test_bytes(total, 17);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "spooled.bin", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_spool_to(&u, "/tmp", &err), ERR_OK);
    (void)write_in_chunks(&u, data, total);
    assert_int_equal(u.part.cap, 0); /* nothing held in memory */
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 3);
    assert_int_equal(info.parts, 3);
    const uint8_t *got = NULL;
    size_t got_len = 0;
    assert_true(fake_s3_get(e->s3, "bkt", "spooled.bin", &got, &got_len));
    assert_int_equal(got_len, total);
    assert_memory_equal(got, data, total);
    uint8_t md5[DIGEST_MD5_BYTES];
    digest_md5(data, total, md5);
    assert_memory_equal(info.md5, md5, sizeof(md5));
    /* Each part was signed with the SHA-256 of its own bytes. */
    for (size_t i = 0; i < 3; i++) {
        const struct fake_request *r = find_req(e, "PUT", "partNumber=", i);
        const char *sha = fake_request_header(r, "x-amz-content-sha256");
        assert_non_null(sha);
        assert_int_equal(strlen(sha), 64);
    }
    s3_upload_cleanup(&u);
    /* A small spooled object is one PutObject, streamed. */
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "small.bin", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_spool_to(&u, "/tmp", &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data, 1000, &err), ERR_OK);
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_true(fake_s3_get(e->s3, "bkt", "small.bin", &got, &got_len));
    assert_int_equal(got_len, 1000);
    assert_memory_equal(got, data, 1000);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 1);
    s3_upload_cleanup(&u);
    assert_int_equal(s3_upload_spool_to(&u, "/nonexistent-dir", &err), ERR_CONFIG);
    free(data);
    env_free(e);
}

/* Spool failures are local I/O: ERR_IO, never retried, and the upload is then unusable. A
 * directory that is not there stays a configuration error (above). */
static void test_spool_io_errors(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    uint8_t *data = test_bytes(1000, 5);
    struct s3_upload u;
    struct err err = ERR_INIT;
    /* A write the file system refuses: the spool descriptor swapped for a read-only one. */
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "io.bin", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_spool_to(&u, "/tmp", &err), ERR_OK);
    int ro = open("/dev/null", O_RDONLY);
    assert_true(ro >= 0);
    assert_int_equal(dup2(ro, u.spool_fd), u.spool_fd);
    close(ro);
    assert_int_equal(s3_upload_write(&u, data, 1000, &err), ERR_IO);
    assert_false(err.retryable);
    assert_non_null(strstr(err.msg, "writing the spool file"));
    assert_int_equal(s3_upload_finish(&u, NULL, &err), ERR_INVALID_INPUT);
    s3_upload_cleanup(&u);
    assert_int_equal(e->fh->n_reqs, 0);
    /* Out of descriptors while creating the spool file: the lowest free descriptor is made the
     * limit, so the next open fails with EMFILE. */
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int lowest = open("/dev/null", O_RDONLY);
    assert_true(lowest >= 0);
    close(lowest);
    struct rlimit tight = {(rlim_t)lowest, old.rlim_max};
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "io.bin", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
    enum err_code rc = s3_upload_spool_to(&u, "/tmp", &err);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, ERR_IO);
    assert_non_null(strstr(err.msg, "cannot create a spool file in /tmp"));
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

/* A zeroed upload (memset 0, never begun) owns no descriptor: cleanup must leave fd 0 alone. */
static void test_zeroed_upload_keeps_fd0(void **state)
{
    (void)state;
    int saved = dup(0); /* fd 0 may be closed under ctest: make it a known open file */
    int null_fd = open("/dev/null", O_RDONLY);
    assert_true(null_fd >= 0);
    assert_int_equal(dup2(null_fd, 0), 0);
    close(null_fd);
    struct s3_upload u;
    memset(&u, 0, sizeof(u));
    s3_upload_cleanup(&u);
    s3_upload_cleanup(&u); /* twice is fine too */
    assert_true(fcntl(0, F_GETFD) != -1);
    if (saved >= 0) {
        assert_int_equal(dup2(saved, 0), 0);
        close(saved);
    } else {
        close(0);
    }
}

static void test_multipart_odd_chunks(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    size_t total = 12 * MIB + 3;
    uint8_t *data = test_bytes(total, 7);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(
        s3_upload_begin(&u, &e->c, "bkt", "exports/part 1.json.gz", NULL, 5 * MIB, &err), ERR_OK);
    size_t max_cap = write_in_chunks(&u, data, total);
    /* The part buffer holds one part (and buf's NUL), never more. */
    assert_true(max_cap <= 5 * MIB + 1);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_true(u.part.cap <= 5 * MIB + 1);

    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_CREATE_MULTIPART), 1);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 3);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_COMPLETE_MULTIPART), 1);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 0);
    assert_int_equal(fake_s3_open_uploads(e->s3), 0);

    /* Parts 1..3 in order: 5 MiB, 5 MiB, 2 MiB + 3; the upload id encoded once in each. */
    static const size_t sizes[] = {5 * MIB, 5 * MIB, 2 * MIB + 3};
    for (size_t i = 0; i < 3; i++) {
        const struct fake_request *r = find_req(e, "PUT", "partNumber=", i);
        assert_non_null(r);
        char want[128];
        snprintf(
            want, sizeof(want),
            "/bkt/exports/part%%201.json.gz?partNumber=%zu&uploadId=up%%2Fload%%2Bid%%3D1%%26v%%3D2",
            i + 1);
        assert_non_null(strstr(r->url, want));
        assert_int_equal(r->body.len, sizes[i]);
        assert_non_null(fake_request_header(r, "Content-MD5"));
        assert_null(fake_request_header(r, "Content-Type"));
    }
    assert_int_equal(count_req(e, "PUT", "partNumber="), 3);
    const struct fake_request *done = find_req(e, "POST", "uploadId=", 0);
    assert_non_null(done);
    assert_string_equal(fake_request_header(done, "Content-Type"), "application/xml");
    const char *xml = buf_cstr(&done->body);
    assert_non_null(strstr(xml, "<Part><PartNumber>1</PartNumber><ETag>\""));
    assert_non_null(strstr(xml, "<Part><PartNumber>3</PartNumber>"));
    assert_null(strstr(xml, "<PartNumber>4</PartNumber>"));

    /* The object is the input, byte for byte. */
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "exports/part 1.json.gz", &bytes, &len));
    assert_int_equal(len, total);
    assert_memory_equal(bytes, data, total);

    /* Result: S3's multipart ETag, our formula for it, and the whole object's MD5. */
    assert_int_equal(info.parts, 3);
    assert_int_equal(info.size, total);
    assert_true(ends_with(info.etag, "-3"));
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "exports/part 1.json.gz"));
    char formula[S3_ETAG_MAX];
    s3_multipart_etag(u.parts, u.n_parts, formula);
    assert_string_equal(info.etag, formula);
    char got[33], want[33];
    hex16(info.md5, got);
    md5_hex(data, total, want);
    assert_string_equal(got, want);

    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_multipart_exact_parts(void **state)
{
    (void)state;
    /* Exactly two parts' worth: no empty third part, and no extra PutObject. */
    struct env *e = env_new(local_env);
    size_t total = 10 * MIB;
    uint8_t *data = test_bytes(total, 3);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "even", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data, total, &err), ERR_OK);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(info.parts, 2);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 2);
    assert_true(ends_with(info.etag, "-2"));
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "even", &bytes, &len));
    assert_int_equal(len, total);
    assert_memory_equal(bytes, data, total);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_multipart_small_is_put(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct s3_upload u;
    struct err err = ERR_INIT;
    struct s3_put_options opts = {.content_type = "application/json"};
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "small", &opts, 5 * MIB, &err), ERR_OK);
    uint8_t *data = test_bytes(1000, 5);
    assert_int_equal(s3_upload_write(&u, data, 600, &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data + 600, 400, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 0); /* nothing sent before finish */
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 1);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_CREATE_MULTIPART), 0);
    assert_int_equal(e->fh->n_reqs, 1);
    assert_string_equal(fake_request_header(last_req(e), "Content-Type"), "application/json");
    assert_int_equal(info.parts, 0);
    assert_int_equal(info.size, 1000);
    char want[33], got[33];
    md5_hex(data, 1000, want);
    assert_string_equal(info.etag, want);
    hex16(info.md5, got);
    assert_string_equal(got, want);
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "small", &bytes, &len));
    assert_int_equal(len, 1000);
    assert_memory_equal(bytes, data, 1000);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_force_multipart_one_part(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct s3_upload u;
    struct err err = ERR_INIT;
    struct s3_put_options opts = {
        .content_type = "application/x-ndjson",
        .sse = "AES256",
        .storage_class = "INTELLIGENT_TIERING",
    };
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "forced", &opts, 0, &err), ERR_OK);
    assert_int_equal(u.part_bytes, S3_DEFAULT_PART_BYTES);
    u.force_multipart = true;
    assert_int_equal(s3_upload_write(&u, "{\"a\":1}\n", 8, &err), ERR_OK);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 0);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 1);
    assert_int_equal(info.parts, 1);
    assert_true(ends_with(info.etag, "-1"));
    char formula[S3_ETAG_MAX];
    s3_multipart_etag(u.parts, 1, formula);
    assert_string_equal(info.etag, formula);
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "forced"));
    /* The object options go with CreateMultipartUpload, not with the parts. */
    const struct fake_request *create = find_req(e, "POST", "?uploads", 0);
    assert_non_null(create);
    assert_string_equal(fake_request_header(create, "Content-Type"), "application/x-ndjson");
    assert_string_equal(fake_request_header(create, "x-amz-server-side-encryption"), "AES256");
    assert_string_equal(fake_request_header(create, "x-amz-storage-class"), "INTELLIGENT_TIERING");
    const struct fake_request *part = find_req(e, "PUT", "partNumber=1", 0);
    assert_non_null(part);
    assert_null(fake_request_header(part, "x-amz-server-side-encryption"));
    assert_null(fake_request_header(part, "x-amz-storage-class"));
    char v[64];
    assert_true(fake_s3_object_header(e->s3, "bkt", "forced", "x-amz-storage-class", v, sizeof(v)));
    assert_string_equal(v, "INTELLIGENT_TIERING");
    s3_upload_cleanup(&u);
    env_free(e);
}

static void test_multipart_crc32c_parts(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    size_t total = 5 * MIB + 10;
    uint8_t *data = test_bytes(total, 11);
    struct s3_upload u;
    struct err err = ERR_INIT;
    struct s3_put_options opts = {.checksum = S3_CHECKSUM_CRC32C};
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "crc", &opts, 5 * MIB, &err), ERR_OK);
    (void)write_in_chunks(&u, data, total);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    for (size_t i = 0; i < 2; i++) {
        const struct fake_request *r = find_req(e, "PUT", "partNumber=", i);
        assert_non_null(r);
        /* Parts carry Content-MD5 whatever the object checksum (see s3.h). */
        assert_null(fake_request_header(r, "x-amz-checksum-crc32c"));
        assert_non_null(fake_request_header(r, "Content-MD5"));
    }
    assert_int_equal(info.parts, 2);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_upload_part_failure_aborts(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_UPLOAD_PART, 1, 400, "InvalidArgument");
    size_t total = 5 * MIB + 1;
    uint8_t *data = test_bytes(total, 9);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "fails", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data, total, &err), ERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.aws_code, "InvalidArgument");
    assert_false(err.retryable);
    assert_true(strncmp(err.request_id, "FAKE", 4) == 0);
    assert_non_null(strstr(err.msg, "UploadPart s3://bkt/fails"));
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 1); /* not retried */
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 1);
    assert_int_equal(fake_s3_open_uploads(e->s3), 0);
    assert_int_equal(fake_s3_count(e->s3), 0);
    assert_string_equal(u.upload_id, "");
    const struct fake_request *abort_req = find_req(e, "DELETE", "uploadId=", 0);
    assert_non_null(abort_req);
    assert_string_equal(abort_req->url,
                        "http://127.0.0.1:4569/bkt/fails?uploadId=up%2Fload%2Bid%3D1%26v%3D2");
    s3_upload_abort(&u); /* a second abort sends nothing */
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 1);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_create_failure_no_abort(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_CREATE_MULTIPART, 1, 403, "AccessDenied");
    uint8_t *data = test_bytes(5 * MIB, 2);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "k", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data, 5 * MIB, &err), ERR_HTTP);
    assert_string_equal(err.aws_code, "AccessDenied");
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 0);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 0);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_upload_part_503_retried(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_UPLOAD_PART, 1, 503, "SlowDown");
    size_t total = 6 * MIB;
    uint8_t *data = test_bytes(total, 4);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "retry", NULL, 5 * MIB, &err), ERR_OK);
    (void)write_in_chunks(&u, data, total);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 3);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 0);
    assert_int_equal(e->c.stats.retries, 1);
    assert_int_equal(e->c.stats.throttled, 1);
    assert_int_equal(e->fs.n_sleeps, 1);
    assert_true(e->fs.sleeps[0] <= AWS_THROTTLE_BASE_MS);
    /* The retry re-sends part 1 with the same bytes. */
    const struct fake_request *first = find_req(e, "PUT", "partNumber=1&", 0);
    const struct fake_request *again = find_req(e, "PUT", "partNumber=1&", 1);
    assert_non_null(again);
    assert_int_equal(first->body.len, again->body.len);
    assert_memory_equal(first->body.data, again->body.data, first->body.len);
    assert_int_equal(info.parts, 2);
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "retry", &bytes, &len));
    assert_int_equal(len, total);
    assert_memory_equal(bytes, data, total);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

/* Begins a 1-part multipart upload of "abc" at bkt/key, ready to finish. */
static void begin_tiny_multipart(struct env *e, struct s3_upload *u, const char *key)
{
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(u, &e->c, "bkt", key, NULL, 5 * MIB, &err), ERR_OK);
    u->force_multipart = true;
    assert_int_equal(s3_upload_write(u, "abc", 3, &err), ERR_OK);
}

static void test_complete_200_error_retried(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_COMPLETE_MULTIPART, 1, 200, "InternalError");
    struct s3_upload u;
    begin_tiny_multipart(e, &u, "c200");
    struct err err = ERR_INIT;
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_COMPLETE_MULTIPART), 2);
    assert_int_equal(e->c.stats.retries, 1);
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "c200"));
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 0);
    s3_upload_cleanup(&u);
    env_free(e);
}

static void test_complete_200_error_exhausted(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_COMPLETE_MULTIPART, 3, 200, "InternalError");
    struct s3_upload u;
    begin_tiny_multipart(e, &u, "c200");
    struct err err = ERR_INIT;
    struct s3_object_info info;
    memset(&info, 0x5a, sizeof(info));
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_HTTP);
    assert_int_equal(err.http_status, 200);
    assert_string_equal(err.aws_code, "InternalError");
    assert_non_null(strstr(err.msg, "after 3 attempts"));
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_COMPLETE_MULTIPART), 3);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 1);
    assert_int_equal(fake_s3_open_uploads(e->s3), 0);
    assert_int_equal(fake_s3_count(e->s3), 0);
    assert_int_equal(info.etag[0], 0x5a); /* out untouched on failure */
    s3_upload_cleanup(&u);
    env_free(e);
}

static void test_complete_answer_lost(void **state)
{
    (void)state;
    /* The first Complete succeeds but its answer is lost; the retry sees NoSuchUpload, and the
     * client confirms with HeadObject that the object is the one it uploaded. */
    struct env *e = env_new(local_env);
    fake_s3_lose_next(e->s3, FAKE_S3_COMPLETE_MULTIPART, 1);
    struct s3_upload u;
    begin_tiny_multipart(e, &u, "lost");
    struct err err = ERR_INIT;
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_COMPLETE_MULTIPART), 2);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_HEAD_OBJECT), 1);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 0);
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "lost"));
    assert_int_equal(info.parts, 1);
    s3_upload_cleanup(&u);
    env_free(e);
}

static void test_multipart_etag_formula(void **state)
{
    (void)state;
    /* hex(MD5(MD5(p1) || MD5(p2))) + "-2", computed here independently. */
    struct s3_part parts[2];
    memset(parts, 0, sizeof(parts));
    uint8_t cat[32];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest("abc", 3, parts[0].md5, &len, EVP_md5(), NULL), 1);
    assert_int_equal(EVP_Digest("", 0, parts[1].md5, &len, EVP_md5(), NULL), 1);
    memcpy(cat, parts[0].md5, 16);
    memcpy(cat + 16, parts[1].md5, 16);
    char hex[33], want[S3_ETAG_MAX], got[S3_ETAG_MAX];
    md5_hex(cat, 32, hex);
    snprintf(want, sizeof(want), "%s-2", hex);
    s3_multipart_etag(parts, 2, got);
    assert_string_equal(got, want);
}

static void test_upload_begin_part_size(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "k", NULL, 5 * MIB - 1, &err),
                     ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "5 MiB"));
    s3_upload_cleanup(&u);
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "k", NULL, 5 * MIB, &err), ERR_OK);
    s3_upload_cleanup(&u);
    env_free(e);
}

static void drop_line(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    (void)line;
    (void)len;
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
        cmocka_unit_test(test_multipart_odd_chunks),
        cmocka_unit_test(test_multipart_spooled),
        cmocka_unit_test(test_spool_io_errors),
        cmocka_unit_test(test_zeroed_upload_keeps_fd0),
        cmocka_unit_test(test_multipart_exact_parts),
        cmocka_unit_test(test_multipart_small_is_put),
        cmocka_unit_test(test_force_multipart_one_part),
        cmocka_unit_test(test_multipart_crc32c_parts),
        cmocka_unit_test(test_upload_part_failure_aborts),
        cmocka_unit_test(test_create_failure_no_abort),
        cmocka_unit_test(test_upload_part_503_retried),
        cmocka_unit_test(test_complete_200_error_retried),
        cmocka_unit_test(test_complete_200_error_exhausted),
        cmocka_unit_test(test_complete_answer_lost),
        cmocka_unit_test(test_multipart_etag_formula),
        cmocka_unit_test(test_upload_begin_part_size),
    };
    enum { N_PLAIN = sizeof(plain) / sizeof(plain[0]) };
    static struct CMUnitTest tests[N_KEY + N_ADDR + N_PARSE + N_LOC + N_LIST + N_PLAIN];
    size_t n = 0;
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
