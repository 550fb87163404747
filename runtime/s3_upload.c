/*
 * s3_upload.c - streamed multipart uploads: one part-sized buffer (or spool file) filled by
 * writes, each full part uploaded with its Content-MD5, CompleteMultipartUpload checked against
 * the ETag S3 computes, and an abort on every failure so no parts linger.
 */
#include "s3_upload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limit.h"
#include "log.h"
#include "s3_private.h"
#include "xml.h"

void s3_upload_etag(const struct s3_upload_part *parts, size_t n, char out[S3_ETAG_MAX])
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
    size_t n = s3_object_headers(&u->opts, headers);
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    enum err_code rc = s3_call(u->aws, "CreateMultipartUpload", u->bucket, u->key, "POST",
                               "uploads", headers, n, &s3_no_body, NULL, &resp, err);
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
    struct s3_upload_part *parts =
        mem_grow(u->parts, &u->cap_parts, u->n_parts, sizeof(*parts), 16);
    if (parts == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory tracking upload parts");
    }
    u->parts = parts;
    struct s3_upload_part *part = &u->parts[u->n_parts];
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
        s3_checksum_header(S3_CHECKSUM_MD5, body.mem, part->md5, sum),
    };
    struct buf query = BUF_INIT(0);
    rc = buf_printf(&query, err, "partNumber=%zu", u->n_parts + 1);
    if (rc == ERR_OK) {
        rc = s3_append_query_param(&query, "uploadId", u->upload_id, err);
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
        s3_copy_etag(&resp, part->etag);
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
    s3_upload_etag(u->parts, u->n_parts, expected);
    enum err_code rc = buf_append_str(&body, "<CompleteMultipartUpload>", err);
    for (size_t i = 0; rc == ERR_OK && i < u->n_parts; i++) {
        rc = buf_printf(&body, err, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>",
                        i + 1, u->parts[i].etag);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(&body, "</CompleteMultipartUpload>", err);
    }
    if (rc == ERR_OK) {
        rc = s3_append_query_param(&id, "uploadId", u->upload_id, err);
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
        s3_strip_etag_quotes(out->etag);
        if (out->etag[0] == '\0') {
            snprintf(out->etag, sizeof(out->etag), "%s", expected);
        } else if (strcmp(out->etag, expected) != 0) {
            /* S3 answers with this form when each part's ETag is its MD5, which it is not under
             * SSE-KMS or SSE-C; stand-ins (s3rver) answer a plain MD5. The caller keeps the ETag
             * the object has: ListObjectsV2 gives it back, and the commit checks it. */
            log_debug("CompleteMultipartUpload s3://%s/%s: ETag %s, not %s", u->bucket, u->key,
                      out->etag, expected);
        }
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
            rc = s3_put_body(u->aws, u->bucket, u->key, &body, u->spool_len, md5, &u->opts, &put,
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
    if (s3_append_query_param(&id, "uploadId", u->upload_id, &err) == ERR_OK &&
        s3_call(u->aws, "AbortMultipartUpload", u->bucket, u->key, "DELETE", buf_cstr(&id), NULL, 0,
                &s3_no_body, NULL, &resp, &err) != ERR_OK) {
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
