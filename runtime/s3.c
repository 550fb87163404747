/*
 * s3.c - S3 requests. Keys are percent-encoded exactly once ('/' kept), as S3's SigV4 wants;
 * every body goes with an integrity checksum S3 verifies (Content-MD5 or CRC32C), and PutObject's
 * ETag is compared with our MD5 where S3 defines it as one (no SSE-KMS).
 */
#include "s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limit.h"
#include "log.h"
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
        rc = sigv4_uri_encode(out, (const uint8_t *)key, strlen(key), false, err);
    }
    return rc;
}

/* A request body: bytes in memory, or a spool file with its precomputed SHA-256. */
struct s3_body {
    struct cur mem;
    const struct http_body_file *file;
    const char *sha256_hex;
};

static const struct s3_body no_body = {{NULL, 0}, NULL, NULL};

/* One S3 request on bucket[/key]; key NULL addresses the bucket. */
static enum err_code s3_call(struct aws_client *c,
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

static void copy_etag(const struct http_response *resp, char out[S3_ETAG_MAX])
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
static size_t object_headers(const struct s3_put_options *o, struct http_header *h)
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
static struct http_header checksum_header(enum s3_checksum kind,
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
static void strip_etag_quotes(char *etag)
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
static enum err_code put_object(struct aws_client *c,
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
    size_t n = object_headers(o, headers);
    /* A spooled body is not in memory to take its CRC32C: it goes with its MD5. */
    enum s3_checksum kind = body->file == NULL ? o->checksum : S3_CHECKSUM_MD5;
    headers[n++] = checksum_header(kind, body->mem, md5, sum);
    headers[n++] = (struct http_header){"x-amz-meta-md5", md5_hex};
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    enum err_code rc =
        s3_call(c, "PutObject", bucket, key, "PUT", NULL, headers, n, body, NULL, &resp, err);
    if (rc == ERR_OK && out != NULL) {
        memset(out, 0, sizeof(*out));
        copy_etag(&resp, out->etag);
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
    return put_object(c, bucket, key, &b, body.len, md5, opts != NULL ? opts : &defaults, out, err);
}

enum err_code s3_get_object(struct aws_client *c,
                            const char *bucket,
                            const char *key,
                            struct buf *out,
                            struct err *err)
{
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
        s3_call(c, "GetObject", bucket, key, "GET", NULL, NULL, 0, &no_body, NULL, &resp, err);
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
        s3_call(c, "HeadObject", bucket, key, "HEAD", NULL, NULL, 0, &no_body, NULL, &resp, err);
    if (rc == ERR_HTTP && err->http_status == 404) {
        err_clear(err);
        rc = ERR_OK;
    } else if (rc == ERR_OK) {
        *exists = true;
        if (out != NULL) {
            memset(out, 0, sizeof(*out));
            copy_etag(&resp, out->etag);
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
    enum err_code rc = s3_call(c, "DeleteObject", bucket, key, "DELETE", NULL, NULL, 0, &no_body,
                               NULL, &resp, err);
    http_response_cleanup(&resp);
    return rc;
}

static enum err_code
append_query_param(struct buf *q, const char *name, const char *value, struct err *err)
{
    enum err_code rc = buf_printf(q, err, "%s%s=", q->len > 0 ? "&" : "", name);
    if (rc == ERR_OK) {
        rc = sigv4_uri_encode(q, (const uint8_t *)value, strlen(value), true, err);
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
        strip_etag_quotes(etag);
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
        rc = append_query_param(&query, "list-type", "2", err);
        if (rc == ERR_OK && token[0] != '\0') {
            rc = append_query_param(&query, "continuation-token", token, err);
        }
        if (rc == ERR_OK && prefix != NULL && prefix[0] != '\0') {
            rc = append_query_param(&query, "prefix", prefix, err);
        }
        if (rc == ERR_OK) {
            rc = s3_call(c, "ListObjectsV2", bucket, NULL, "GET", buf_cstr(&query), NULL, 0,
                         &no_body, NULL, &resp, err);
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

/* ---- multipart ------------------------------------------------------------------------- */

void s3_multipart_etag(const struct s3_part *parts, size_t n, char out[S3_ETAG_MAX])
{
    struct digest_md5 d;
    struct err e = ERR_INIT;
    uint8_t sum[DIGEST_MD5_BYTES];
    char hex[DIGEST_MD5_HEX];
    out[0] = '\0';
    if (digest_md5_init(&d, &e) != ERR_OK) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        digest_md5_update(&d, parts[i].md5, DIGEST_MD5_BYTES);
    }
    digest_md5_final(&d, sum);
    digest_md5_cleanup(&d);
    digest_hex(sum, DIGEST_MD5_BYTES, hex, sizeof(hex));
    snprintf(out, S3_ETAG_MAX, "%s-%zu", hex, n);
}

enum err_code s3_upload_begin(struct s3_upload *u,
                              struct aws_client *c,
                              const char *bucket,
                              const char *key,
                              const struct s3_put_options *opts,
                              size_t part_bytes,
                              struct err *err)
{
    memset(u, 0, sizeof(*u));
    u->spool_fd = -1;
    enum err_code rc = s3_check_location(bucket, key, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (part_bytes == 0) {
        part_bytes = S3_DEFAULT_PART_BYTES;
    }
    if (part_bytes < S3_MIN_PART_BYTES || part_bytes > S3_MAX_PART_BYTES) {
        return err_set(err, ERR_INVALID_INPUT, "multipart part size %zu: must be 5 MiB to 5 GiB",
                       part_bytes);
    }
    u->aws = c;
    snprintf(u->bucket, sizeof(u->bucket), "%s", bucket);
    snprintf(u->key, sizeof(u->key), "%s", key);
    if (opts != NULL) {
        u->opts = *opts;
    }
    u->part_bytes = part_bytes;
    buf_init(&u->part, part_bytes);
    return digest_md5_init(&u->whole, err);
}

static enum err_code create_upload(struct s3_upload *u, struct err *err)
{
    struct http_header headers[8];
    size_t n = object_headers(&u->opts, headers);
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    enum err_code rc = s3_call(u->aws, "CreateMultipartUpload", u->bucket, u->key, "POST",
                               "uploads", headers, n, &no_body, NULL, &resp, err);
    if (rc == ERR_OK &&
        (!xml_text_copy(buf_cur(&resp.body), "UploadId", u->upload_id, sizeof(u->upload_id)) ||
         u->upload_id[0] == '\0')) {
        rc = err_set(err, ERR_INVALID_INPUT,
                     "CreateMultipartUpload s3://%s/%s: no UploadId in the response", u->bucket,
                     u->key);
    }
    http_response_cleanup(&resp);
    return rc;
}

/* The spooled part as a request body; finishes the part's digests into md5 and sha. */
static struct s3_body spooled_part(struct s3_upload *u,
                                   struct http_body_file *file,
                                   uint8_t md5[DIGEST_MD5_BYTES],
                                   char sha[DIGEST_SHA256_HEX])
{
    digest_md5_final(&u->part_md5, md5);
    digest_sha256_final_hex(&u->part_sha, sha);
    *file = (struct http_body_file){u->spool_fd, 0, u->spool_len};
    return (struct s3_body){{NULL, 0}, file, sha};
}

/* Uploads the current part: the memory buffer, or the spool file's first spool_len bytes. */
static enum err_code upload_part(struct s3_upload *u, struct err *err)
{
    enum err_code rc = ERR_OK;
    if (u->upload_id[0] == '\0') {
        rc = create_upload(u, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (u->n_parts == S3_MAX_PARTS) {
        return err_set(err, ERR_TOO_LARGE, "s3://%s/%s: more than %d parts", u->bucket, u->key,
                       S3_MAX_PARTS);
    }
    struct s3_part *parts = mem_grow(u->parts, &u->cap_parts, u->n_parts, sizeof(*parts), 16);
    if (parts == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory tracking upload parts");
    }
    u->parts = parts;
    struct s3_part *part = &u->parts[u->n_parts];
    memset(part, 0, sizeof(*part));
    char sha[DIGEST_SHA256_HEX];
    struct http_body_file file;
    struct s3_body body = {buf_cur(&u->part), NULL, NULL};
    if (u->spooled) {
        body = spooled_part(u, &file, part->md5, sha);
    } else {
        digest_md5(body.mem.ptr, body.mem.len, part->md5);
    }
    char sum[DIGEST_MD5_B64];
    /* Content-MD5 for every part (see s3.h). */
    const struct http_header headers[] = {
        checksum_header(S3_CHECKSUM_MD5, body.mem, part->md5, sum),
    };
    struct buf query = BUF_INIT(0);
    rc = buf_printf(&query, err, "partNumber=%zu", u->n_parts + 1);
    if (rc == ERR_OK) {
        rc = append_query_param(&query, "uploadId", u->upload_id, err);
    }
    if (rc != ERR_OK) {
        buf_cleanup(&query);
        return rc;
    }
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    rc = s3_call(u->aws, "UploadPart", u->bucket, u->key, "PUT", buf_cstr(&query), headers, 1,
                 &body, NULL, &resp, err);
    buf_cleanup(&query);
    if (rc == ERR_OK) {
        copy_etag(&resp, part->etag);
        if (part->etag[0] == '\0') {
            rc = err_set(err, ERR_INVALID_INPUT, "UploadPart s3://%s/%s: no ETag in the response",
                         u->bucket, u->key);
        } else {
            u->n_parts++;
        }
    }
    http_response_cleanup(&resp);
    /* The part is gone either way: a failed upload is aborted. */
    u->spool_len = 0;
    if (u->spooled && ftruncate(u->spool_fd, 0) != 0 && rc == ERR_OK) {
        char ebuf[LIMIT_ERRNO_TEXT_BYTES];
        rc = err_set(err, ERR_IO, "s3://%s/%s: truncating the spool file: %s", u->bucket, u->key,
                     strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    return rc;
}

/* Appends to the spool file (and the part's digests). */
static enum err_code spool_write(struct s3_upload *u, const uint8_t *p, size_t n, struct err *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(u->spool_fd, p + done, n - done, (off_t)(u->spool_len + done));
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            char ebuf[LIMIT_ERRNO_TEXT_BYTES];
            return err_set(err, ERR_IO, "s3://%s/%s: writing the spool file: %s", u->bucket, u->key,
                           strerror_r(errno, ebuf, sizeof(ebuf)));
        }
        done += (size_t)w;
    }
    digest_md5_update(&u->part_md5, p, n);
    digest_sha256_update(&u->part_sha, p, n);
    u->spool_len += n;
    return ERR_OK;
}

enum err_code s3_upload_spool_to(struct s3_upload *u, const char *dir, struct err *err)
{
    char path[LIMIT_SPOOL_PATH_BYTES];
    int n = snprintf(path, sizeof(path), "%s/etl-part-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return err_set(err, ERR_CONFIG, "spool directory path too long: %s", dir);
    }
    int fd = mkstemp(path);
    if (fd < 0) {
        char ebuf[LIMIT_ERRNO_TEXT_BYTES];
        int e = errno;
        /* A directory that is missing or closed to us is the setting's fault (ETL_SPOOL_DIR);
         * anything else (disk full, out of descriptors, EIO) is the file system's. */
        bool bad_dir = e == ENOENT || e == ENOTDIR || e == EACCES || e == EPERM || e == EROFS ||
                       e == ELOOP || e == ENAMETOOLONG;
        return err_set(err, bad_dir ? ERR_CONFIG : ERR_IO, "cannot create a spool file in %s: %s",
                       dir, strerror_r(e, ebuf, sizeof(ebuf)));
    }
    unlink(path); /* anonymous: the kernel frees it when the descriptor closes */
    enum err_code rc = digest_md5_init(&u->part_md5, err);
    if (rc == ERR_OK) {
        rc = digest_sha256_init(&u->part_sha, err);
    }
    if (rc != ERR_OK) {
        close(fd);
        return rc;
    }
    u->spool_fd = fd;
    u->spooled = true;
    return ERR_OK;
}

enum err_code s3_upload_write(struct s3_upload *u, const void *p, size_t n, struct err *err)
{
    const uint8_t *b = p;
    if (u->failed) {
        return err_set(err, ERR_INVALID_INPUT, "s3://%s/%s: the upload already failed", u->bucket,
                       u->key);
    }
    digest_md5_update(&u->whole, p, n);
    u->total_bytes += n;
    while (n > 0) {
        size_t held = u->spooled ? (size_t)u->spool_len : u->part.len;
        size_t room = u->part_bytes - held;
        size_t take = n < room ? n : room;
        enum err_code rc =
            u->spooled ? spool_write(u, b, take, err) : buf_append(&u->part, b, take, err);
        held += take;
        if (rc == ERR_OK && held == u->part_bytes) {
            rc = upload_part(u, err);
            buf_reset(&u->part);
        }
        if (rc != ERR_OK) {
            u->failed = true;
            s3_upload_abort(u);
            return rc;
        }
        b += take;
        n -= take;
    }
    return ERR_OK;
}

static enum err_code check_complete(const struct http_response *resp, struct err *err)
{
    /* CompleteMultipartUpload can answer 200 and still fail: the error is in the body. */
    struct cur doc = buf_cur(&resp->body);
    size_t pos = 0;
    struct cur inner;
    if (xml_next(doc, "Error", &pos, &inner)) {
        char code[LIMIT_AWS_ERROR_CODE_BYTES] = "";
        char message[LIMIT_AWS_ERROR_MESSAGE_BYTES] = "";
        (void)xml_text_copy(inner, "Code", code, sizeof(code));
        (void)xml_text_copy(inner, "Message", message, sizeof(message));
        return err_from_http(err, "error in a 200 response", resp->status,
                             code[0] != '\0' ? code : "InternalError", message, NULL);
    }
    return ERR_OK;
}

static enum err_code
complete_upload(struct s3_upload *u, struct s3_object_info *out, struct err *err)
{
    struct buf body = BUF_INIT(0);
    struct buf id = BUF_INIT(LIMIT_S3_UPLOAD_ID_QUERY_BYTES);
    struct http_response resp;
    http_response_init(&resp, LIMIT_S3_COMPLETE_RESPONSE_BYTES);
    char expected[S3_ETAG_MAX];
    s3_multipart_etag(u->parts, u->n_parts, expected);
    enum err_code rc = buf_append_str(&body, "<CompleteMultipartUpload>", err);
    for (size_t i = 0; rc == ERR_OK && i < u->n_parts; i++) {
        rc = buf_printf(&body, err, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>",
                        i + 1, u->parts[i].etag);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(&body, "</CompleteMultipartUpload>", err);
    }
    if (rc == ERR_OK) {
        rc = append_query_param(&id, "uploadId", u->upload_id, err);
    }
    if (rc != ERR_OK) {
        goto out;
    }
    static const struct http_header headers[] = {{"Content-Type", "application/xml"}};
    uint64_t attempts_before = u->aws->stats.attempts;
    struct s3_body xml = {buf_cur(&body), NULL, NULL};
    rc = s3_call(u->aws, "CompleteMultipartUpload", u->bucket, u->key, "POST", buf_cstr(&id),
                 headers, 1, &xml, check_complete, &resp, err);
    if (rc == ERR_HTTP && strcmp(err->aws_code, "NoSuchUpload") == 0 &&
        u->aws->stats.attempts - attempts_before > 1) {
        /* An earlier attempt may have completed it and lost the answer: check the object. */
        bool exists = false;
        struct s3_object_info info;
        struct err herr = ERR_INIT;
        if (s3_head_object(u->aws, u->bucket, u->key, &exists, &info, &herr) == ERR_OK && exists &&
            strcmp(info.etag, expected) == 0) {
            err_clear(err);
            rc = ERR_OK;
            snprintf(out->etag, sizeof(out->etag), "%s", expected);
        }
    } else if (rc == ERR_OK) {
        (void)xml_text_copy(buf_cur(&resp.body), "ETag", out->etag, sizeof(out->etag));
        strip_etag_quotes(out->etag);
        if (out->etag[0] != '\0' && strcmp(out->etag, expected) != 0) {
            /* S3 answers with exactly this form; some stand-ins (s3rver) with a plain MD5. The
             * caller gets S3's documented form, which is what readers of a manifest expect. */
            log_debug("CompleteMultipartUpload s3://%s/%s: ETag %s, S3's form is %s", u->bucket,
                      u->key, out->etag, expected);
        }
        snprintf(out->etag, sizeof(out->etag), "%s", expected);
    }
out:
    http_response_cleanup(&resp);
    buf_cleanup(&body);
    buf_cleanup(&id);
    return rc;
}

enum err_code s3_upload_finish(struct s3_upload *u, struct s3_object_info *out, struct err *err)
{
    enum err_code rc = ERR_OK;
    if (u->failed) {
        return err_set(err, ERR_INVALID_INPUT, "s3://%s/%s: the upload already failed", u->bucket,
                       u->key);
    }
    struct s3_object_info info;
    memset(&info, 0, sizeof(info));
    digest_md5_final(&u->whole, info.md5);
    info.size = u->total_bytes;
    bool held = u->spooled ? u->spool_len > 0 : u->part.len > 0;
    if (u->upload_id[0] == '\0' && !u->force_multipart) {
        struct s3_object_info put;
        if (u->spooled) {
            char sha[DIGEST_SHA256_HEX];
            uint8_t md5[DIGEST_MD5_BYTES];
            struct http_body_file file;
            struct s3_body body = spooled_part(u, &file, md5, sha);
            rc = put_object(u->aws, u->bucket, u->key, &body, u->spool_len, md5, &u->opts, &put,
                            err);
        } else {
            rc = s3_put_object(u->aws, u->bucket, u->key, buf_cur(&u->part), &u->opts, &put, err);
        }
        if (rc == ERR_OK) {
            snprintf(info.etag, sizeof(info.etag), "%s", put.etag);
        }
    } else {
        if (held || u->n_parts == 0) {
            rc = upload_part(u, err);
            buf_reset(&u->part);
        }
        if (rc == ERR_OK) {
            rc = complete_upload(u, &info, err);
            info.parts = (uint32_t)u->n_parts;
        }
        if (rc != ERR_OK) {
            u->failed = true;
            s3_upload_abort(u);
        } else {
            u->upload_id[0] = '\0'; /* completed: nothing to abort any more */
        }
    }
    if (rc == ERR_OK && out != NULL) {
        *out = info;
    }
    return rc;
}

void s3_upload_abort(struct s3_upload *u)
{
    if (u == NULL || u->aws == NULL || u->upload_id[0] == '\0') {
        return;
    }
    struct buf id = BUF_INIT(LIMIT_S3_UPLOAD_ID_QUERY_BYTES);
    struct err err = ERR_INIT;
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    if (append_query_param(&id, "uploadId", u->upload_id, &err) == ERR_OK &&
        s3_call(u->aws, "AbortMultipartUpload", u->bucket, u->key, "DELETE", buf_cstr(&id), NULL, 0,
                &no_body, NULL, &resp, &err) != ERR_OK) {
        log_warn("%s (the bucket's lifecycle rule for incomplete uploads will remove the parts)",
                 err.msg);
    }
    u->upload_id[0] = '\0';
    http_response_cleanup(&resp);
    buf_cleanup(&id);
}

void s3_upload_cleanup(struct s3_upload *u)
{
    if (u == NULL) {
        return;
    }
    buf_cleanup(&u->part);
    free(u->parts);
    u->parts = NULL;
    u->n_parts = u->cap_parts = 0;
    digest_md5_cleanup(&u->whole);
    digest_md5_cleanup(&u->part_md5);
    digest_sha256_cleanup(&u->part_sha);
    if (u->spooled) {
        close(u->spool_fd);
        u->spooled = false;
    }
    u->spool_fd = -1;
}
