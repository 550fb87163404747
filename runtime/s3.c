/*
 * s3.c - S3 object requests, and the request plumbing s3_upload.c shares (s3_private.h). Keys
 * are percent-encoded exactly once ('/' kept), as S3's SigV4 wants; every body goes with an
 * integrity checksum S3 verifies (Content-MD5 or CRC32C), and PutObject's ETag is compared with
 * our MD5 where S3 defines it as one (no SSE-KMS).
 */
#include "s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limit.h"
#include "s3_private.h"
#include "sigv4.h"
#include "xml.h"

#define S3_OP_MAX (S3_MAX_KEY_BYTES + 128)

void s3_parse_error(const struct http_response *resp,
                    char *code,
                    size_t code_cap,
                    char *message,
                    size_t message_cap)
{
    struct cur doc = buf_cur(&resp->body);
    (void)xml_text_copy(doc, "Code", code, code_cap);
    (void)xml_text_copy(doc, "Message", message, message_cap);
    if (code[0] == '\0') {
        /* HEAD and some proxies answer without a body: name the status instead. */
        const char *name = resp->status == 404   ? "NotFound"
                           : resp->status == 403 ? "Forbidden"
                           : resp->status == 503 ? "ServiceUnavailable"
                                                 : "";
        snprintf(code, code_cap, "%s", name);
    }
}

enum err_code s3_check_location(const char *bucket, const char *key, struct err *err)
{
    size_t bl = strlen(bucket);
    if (bl < 3 || bl > 63) {
        return err_set(err, ERR_INVALID_INPUT, "S3 bucket \"%.70s\": names are 3 to 63 characters",
                       bucket);
    }
    for (size_t i = 0; i < bl; i++) {
        char ch = bucket[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.')) {
            return err_set(err, ERR_INVALID_INPUT,
                           "S3 bucket \"%.70s\": only lowercase letters, digits, '-' and '.'",
                           bucket);
        }
    }
    /* S3's bucket naming rules: begin and end with a letter or digit; no adjacent periods. */
    if (bucket[0] == '-' || bucket[0] == '.' || bucket[bl - 1] == '-' || bucket[bl - 1] == '.') {
        return err_set(err, ERR_INVALID_INPUT,
                       "S3 bucket \"%.70s\": names begin and end with a letter or digit", bucket);
    }
    if (strstr(bucket, "..") != NULL) {
        return err_set(err, ERR_INVALID_INPUT, "S3 bucket \"%.70s\": no \"..\" in names", bucket);
    }
    if (key != NULL) {
        size_t kl = strlen(key);
        if (kl == 0 || kl > S3_MAX_KEY_BYTES) {
            return err_set(err, ERR_INVALID_INPUT, "S3 key of %zu bytes: keys are 1 to %d bytes",
                           kl, S3_MAX_KEY_BYTES);
        }
    }
    return ERR_OK;
}

enum err_code s3_object_path(struct buf *out,
                             const char *bucket,
                             const char *key,
                             bool path_style,
                             struct err *err)
{
    enum err_code rc = buf_append_byte(out, '/', err);
    if (rc == ERR_OK && path_style) {
        rc = buf_append_str(out, bucket, err);
        if (rc == ERR_OK && key != NULL) {
            rc = buf_append_byte(out, '/', err);
        }
    }
    if (rc == ERR_OK && key != NULL) {
        rc = sigv4_canonical_uri_encode(out, (const uint8_t *)key, strlen(key), false, err);
    }
    return rc;
}

const struct s3_body s3_no_body = {{NULL, 0}, NULL, NULL};

/* One S3 request on bucket[/key]; key NULL addresses the bucket. */
enum err_code s3_call(struct aws_client *c,
                      const char *op_name,
                      const char *bucket,
                      const char *key,
                      const char *method,
                      const char *query,
                      const struct http_header *headers,
                      size_t n_headers,
                      const struct s3_body *body,
                      aws_check_fn check,
                      struct http_response *resp,
                      struct err *err)
{
    bool path_style = aws_endpoints_s3_path_style(c->eps, bucket);
    struct buf path = BUF_INIT(4 * S3_MAX_KEY_BYTES);
    char op[S3_OP_MAX];
    snprintf(op, sizeof(op), "%s s3://%s/%s", op_name, bucket, key != NULL ? key : "");
    enum err_code rc = s3_check_location(bucket, key, err);
    if (rc == ERR_OK) {
        rc = s3_object_path(&path, bucket, key, path_style, err);
    }
    if (rc == ERR_OK) {
        struct aws_request req = {
            .op = op,
            .service = "s3",
            .ep = &c->eps->s3,
            .bucket = path_style ? NULL : bucket,
            .method = method,
            .path = buf_cstr(&path),
            .query = query,
            .headers = headers,
            .n_headers = n_headers,
            .body = body->mem,
            .body_file = body->file,
            .payload_hash = body->sha256_hex,
            .s3_mode = true,
            .parse_error = s3_parse_error,
            .check = check,
        };
        rc = aws_call(c, &req, resp, err);
    }
    buf_cleanup(&path);
    return rc;
}

void s3_copy_etag(const struct http_response *resp, char out[S3_ETAG_MAX])
{
    struct cur v;
    out[0] = '\0';
    if (!http_response_header(resp, "ETag", &v)) {
        return;
    }
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"') {
        v.ptr++;
        v.len -= 2;
    }
    (void)cur_copy_to(v, out, S3_ETAG_MAX);
}

/* Adds the content headers common to PutObject and CreateMultipartUpload. */
size_t s3_object_headers(const struct s3_put_options *o, struct http_header *h)
{
    size_t n = 0;
    h[n++] = (struct http_header){
        "Content-Type", o->content_type != NULL ? o->content_type : "application/octet-stream"};
    if (o->sse != NULL && o->sse[0] != '\0') {
        h[n++] = (struct http_header){"x-amz-server-side-encryption", o->sse};
        if (strcmp(o->sse, "aws:kms") == 0 && o->sse_kms_key_id != NULL &&
            o->sse_kms_key_id[0] != '\0') {
            h[n++] = (struct http_header){"x-amz-server-side-encryption-aws-kms-key-id",
                                          o->sse_kms_key_id};
        }
    }
    if (o->storage_class != NULL && o->storage_class[0] != '\0') {
        h[n++] = (struct http_header){"x-amz-storage-class", o->storage_class};
    }
    return n;
}

/* The checksum header of kind for body; value storage is the caller's. */
struct http_header s3_checksum_header(enum s3_checksum kind,
                                      struct cur body,
                                      const uint8_t md5[DIGEST_MD5_BYTES],
                                      char value[DIGEST_MD5_B64])
{
    if (kind == S3_CHECKSUM_CRC32C) {
        digest_crc32c_base64(digest_crc32c(0, body.ptr, body.len), value);
        return (struct http_header){"x-amz-checksum-crc32c", value};
    }
    digest_base64(md5, DIGEST_MD5_BYTES, value, DIGEST_MD5_B64);
    return (struct http_header){"Content-MD5", value};
}

/* Drops the quotes S3 puts around an ETag, in place. */
void s3_strip_etag_quotes(char *etag)
{
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
        memmove(etag, etag + 1, n - 2);
        etag[n - 2] = '\0';
    }
}

static bool etag_is_md5(const struct s3_put_options *o)
{
    /* S3 documents the ETag as the MD5 of the body for SSE-S3 or no encryption. */
    return o->sse == NULL || o->sse[0] == '\0' || strcmp(o->sse, "AES256") == 0;
}

/* PutObject of a memory or spooled body whose MD5 (and, spooled, SHA-256) is known. */
enum err_code s3_put_body(struct aws_client *c,
                          const char *bucket,
                          const char *key,
                          const struct s3_body *body,
                          uint64_t size,
                          const uint8_t md5[DIGEST_MD5_BYTES],
                          const struct s3_put_options *o,
                          struct s3_object_info *out,
                          struct err *err)
{
    struct http_header headers[8];
    char sum[DIGEST_MD5_B64];
    char md5_hex[DIGEST_MD5_HEX];
    digest_hex(md5, DIGEST_MD5_BYTES, md5_hex, sizeof(md5_hex));
    size_t n = s3_object_headers(o, headers);
    /* A spooled body is not in memory to take its CRC32C: it goes with its MD5. */
    enum s3_checksum kind = body->file == NULL ? o->checksum : S3_CHECKSUM_MD5;
    headers[n++] = s3_checksum_header(kind, body->mem, md5, sum);
    headers[n++] = (struct http_header){"x-amz-meta-md5", md5_hex};
    char if_match[S3_ETAG_MAX + 2];
    if (o->if_none_match) {
        headers[n++] = (struct http_header){"If-None-Match", "*"};
    } else if (o->if_match != NULL) {
        snprintf(if_match, sizeof(if_match), "\"%.*s\"", S3_ETAG_MAX - 1, o->if_match);
        headers[n++] = (struct http_header){"If-Match", if_match};
    }
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    enum err_code rc =
        s3_call(c, "PutObject", bucket, key, "PUT", NULL, headers, n, body, NULL, &resp, err);
    if (rc == ERR_OK && out != NULL) {
        memset(out, 0, sizeof(*out));
        s3_copy_etag(&resp, out->etag);
        out->size = size;
        memcpy(out->md5, md5, DIGEST_MD5_BYTES);
        if (etag_is_md5(o) && out->etag[0] != '\0' && strcmp(out->etag, md5_hex) != 0) {
            rc = err_set(err, ERR_TRANSPORT,
                         "PutObject s3://%s/%s: ETag %s does not match the MD5 %s of what we sent",
                         bucket, key, out->etag, md5_hex);
            err->retryable = true;
        }
    }
    http_response_cleanup(&resp);
    return rc;
}

enum err_code s3_put_object(struct aws_client *c,
                            const char *bucket,
                            const char *key,
                            struct cur body,
                            const struct s3_put_options *opts,
                            struct s3_object_info *out,
                            struct err *err)
{
    static const struct s3_put_options defaults = {0};
    uint8_t md5[DIGEST_MD5_BYTES];
    digest_md5(body.ptr, body.len, md5);
    struct s3_body b = {body, NULL, NULL};
    return s3_put_body(c, bucket, key, &b, body.len, md5, opts != NULL ? opts : &defaults, out,
                       err);
}

enum err_code s3_get_object(struct aws_client *c,
                            const char *bucket,
                            const char *key,
                            struct buf *out,
                            struct err *err)
{
    char etag[S3_ETAG_MAX];
    return s3_get_object_etag(c, bucket, key, out, etag, err);
}

enum err_code s3_get_object_etag(struct aws_client *c,
                                 const char *bucket,
                                 const char *key,
                                 struct buf *out,
                                 char etag[S3_ETAG_MAX],
                                 struct err *err)
{
    etag[0] = '\0';
    size_t max = out->max;
    size_t limit = max == 0 ? BUF_NO_LIMIT : max;
    struct http_response resp;
    http_response_init(&resp, 0);
    resp.body = *out; /* the response lands in the caller's buffer */
    if (limit < LIMIT_ERROR_BODY_BYTES) {
        /* A small limit must not turn S3's 404 <Error> document into ERR_TOO_LARGE. */
        resp.body.max = LIMIT_ERROR_BODY_BYTES;
    }
    enum err_code rc =
        s3_call(c, "GetObject", bucket, key, "GET", NULL, NULL, 0, &s3_no_body, NULL, &resp, err);
    if (rc == ERR_OK) {
        s3_copy_etag(&resp, etag);
    }
    *out = resp.body;
    out->max = max;
    buf_cleanup(&resp.headers);
    if (rc == ERR_OK && out->len > limit) {
        rc = err_set(err, ERR_TOO_LARGE, "GetObject s3://%s/%s: %zu bytes, over the limit of %zu",
                     bucket, key, out->len, limit);
    }
    if (rc != ERR_OK) {
        buf_reset(out); /* no error document where the caller expects the object */
    }
    return rc;
}

enum err_code s3_head_object(struct aws_client *c,
                             const char *bucket,
                             const char *key,
                             bool *exists,
                             struct s3_object_info *out,
                             struct err *err)
{
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    *exists = false;
    enum err_code rc =
        s3_call(c, "HeadObject", bucket, key, "HEAD", NULL, NULL, 0, &s3_no_body, NULL, &resp, err);
    if (rc == ERR_HTTP && err->http_status == 404) {
        err_clear(err);
        rc = ERR_OK;
    } else if (rc == ERR_OK) {
        *exists = true;
        if (out != NULL) {
            memset(out, 0, sizeof(*out));
            s3_copy_etag(&resp, out->etag);
            struct cur v;
            int64_t size = 0;
            if (http_response_header(&resp, "Content-Length", &v) && cur_to_i64(v, &size)) {
                out->size = (uint64_t)size;
            }
            if (http_response_header(&resp, "x-amz-meta-md5", &v)) {
                (void)cur_copy_to(v, out->meta_md5, sizeof(out->meta_md5));
            }
        }
    }
    http_response_cleanup(&resp);
    return rc;
}

enum err_code
s3_delete_object(struct aws_client *c, const char *bucket, const char *key, struct err *err)
{
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    enum err_code rc = s3_call(c, "DeleteObject", bucket, key, "DELETE", NULL, NULL, 0, &s3_no_body,
                               NULL, &resp, err);
    http_response_cleanup(&resp);
    return rc;
}

enum err_code
s3_append_query_param(struct buf *q, const char *name, const char *value, struct err *err)
{
    enum err_code rc = buf_printf(q, err, "%s%s=", q->len > 0 ? "&" : "", name);
    if (rc == ERR_OK) {
        rc = sigv4_canonical_uri_encode(q, (const uint8_t *)value, strlen(value), true, err);
    }
    return rc;
}

static enum err_code list_page(struct cur doc, s3_list_fn fn, void *ctx, struct err *err)
{
    size_t pos = 0;
    struct cur contents;
    struct buf key = BUF_INIT(S3_MAX_KEY_BYTES * 2);
    enum err_code rc = ERR_OK;
    while (rc == ERR_OK && xml_next(doc, "Contents", &pos, &contents)) {
        size_t kpos = 0;
        struct cur raw_key;
        char size_text[32] = "";
        char etag[S3_ETAG_MAX] = "";
        buf_reset(&key);
        if (!xml_next(contents, "Key", &kpos, &raw_key)) {
            rc = err_set(err, ERR_INVALID_INPUT, "ListObjectsV2: <Contents> without <Key>");
            break;
        }
        rc = xml_decode(raw_key, &key, err);
        if (rc != ERR_OK) {
            break;
        }
        (void)xml_text_copy(contents, "Size", size_text, sizeof(size_text));
        (void)xml_text_copy(contents, "ETag", etag, sizeof(etag));
        s3_strip_etag_quotes(etag);
        rc = fn(ctx, buf_cstr(&key), strtoull(size_text, NULL, 10), etag, err);
    }
    buf_cleanup(&key);
    return rc;
}

enum err_code s3_list_objects(struct aws_client *c,
                              const char *bucket,
                              const char *prefix,
                              s3_list_fn fn,
                              void *ctx,
                              struct err *err)
{
    struct buf query = BUF_INIT(LIMIT_S3_LIST_QUERY_BYTES);
    char token[LIMIT_S3_CONTINUATION_TOKEN_BYTES] = "";
    struct http_response resp;
    http_response_init(&resp, LIMIT_S3_LIST_RESPONSE_BYTES);
    enum err_code rc = ERR_OK;
    for (;;) {
        buf_reset(&query);
        rc = s3_append_query_param(&query, "list-type", "2", err);
        if (rc == ERR_OK && token[0] != '\0') {
            rc = s3_append_query_param(&query, "continuation-token", token, err);
        }
        if (rc == ERR_OK && prefix != NULL && prefix[0] != '\0') {
            rc = s3_append_query_param(&query, "prefix", prefix, err);
        }
        if (rc == ERR_OK) {
            rc = s3_call(c, "ListObjectsV2", bucket, NULL, "GET", buf_cstr(&query), NULL, 0,
                         &s3_no_body, NULL, &resp, err);
        }
        if (rc == ERR_OK) {
            rc = list_page(buf_cur(&resp.body), fn, ctx, err);
        }
        if (rc != ERR_OK) {
            break;
        }
        char truncated[8] = "";
        (void)xml_text_copy(buf_cur(&resp.body), "IsTruncated", truncated, sizeof(truncated));
        if (strcmp(truncated, "true") != 0) {
            break;
        }
        char previous[sizeof(token)];
        memcpy(previous, token, sizeof(token));
        if (!xml_text_copy(buf_cur(&resp.body), "NextContinuationToken", token, sizeof(token)) ||
            token[0] == '\0' || strcmp(token, previous) == 0) {
            rc = err_set(
                err, ERR_INVALID_INPUT,
                "ListObjectsV2 s3://%s/%s: truncated page without a new NextContinuationToken",
                bucket, prefix != NULL ? prefix : "");
            break;
        }
    }
    http_response_cleanup(&resp);
    buf_cleanup(&query);
    return rc;
}
