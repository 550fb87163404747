/*
 * s3.h - S3 over aws_call: PutObject (Content-MD5 or x-amz-checksum-crc32c, optional SSE and
 * storage class), streamed multipart uploads, GetObject, HeadObject, DeleteObject and
 * ListObjectsV2. S3's XML errors are parsed into code, message and request id.
 * Ownership: buffers passed in are borrowed for the call. A struct s3_upload owns its part
 *   buffer and part list (s3_upload_cleanup frees them; it does not abort: call s3_upload_abort).
 * Errors: every call returns ERR_OK or fills *err (HTTP status, S3 code, request id).
 * Threads: an s3_upload and the aws_client it uses have one owner at a time.
 */
#ifndef ETL_S3_H
#define ETL_S3_H

#include <stdbool.h>
#include <stdint.h>

#include "aws.h"
#include "buf.h"
#include "digest.h"
#include "err.h"

#define S3_MIN_PART_BYTES     (5 * 1024 * 1024) /* UploadPart rejects smaller non-final parts */
#define S3_DEFAULT_PART_BYTES (8 * 1024 * 1024)
#define S3_MAX_PART_BYTES     ((size_t)5 * 1024 * 1024 * 1024)
#define S3_MAX_PARTS          10000 /* CompleteMultipartUpload accepts at most 10,000 parts */
#define S3_MAX_KEY_BYTES      1024  /* S3 object keys are at most 1,024 bytes of UTF-8 */
#define S3_ETAG_MAX           80

enum s3_checksum { S3_CHECKSUM_MD5 = 0, S3_CHECKSUM_CRC32C };

struct s3_put_options {
    const char *content_type;   /* NULL: application/octet-stream */
    enum s3_checksum checksum;  /* integrity check S3 verifies on receipt */
    const char *sse;            /* NULL, "AES256" or "aws:kms" */
    const char *sse_kms_key_id; /* with "aws:kms"; NULL = the AWS managed key */
    const char *storage_class;  /* NULL = STANDARD */
};

struct s3_object_info {
    char etag[S3_ETAG_MAX]; /* without quotes */
    uint64_t size;
    uint8_t md5[DIGEST_MD5_BYTES]; /* MD5 of the whole object as written (uploads only) */
    uint32_t parts;                /* 0 for a single PutObject */
    char meta_md5[DIGEST_MD5_HEX]; /* x-amz-meta-md5 (HeadObject), "" when absent */
};

/* Checks a bucket name and key (length, characters); ERR_INVALID_INPUT says what is wrong. */
MUST_CHECK enum err_code s3_check_location(const char *bucket, const char *key, struct err *err);

/* PutObject also stores the body's hex MD5 as x-amz-meta-md5, which HeadObject returns whatever
 * the encryption (the ETag is an MD5 only without SSE-KMS). */
MUST_CHECK enum err_code s3_put_object(struct aws_client *c,
                                       const char *bucket,
                                       const char *key,
                                       struct cur body,
                                       const struct s3_put_options *opts,
                                       struct s3_object_info *out,
                                       struct err *err);

/* Reads an object into out (bounded by out->max); a missing key is ERR_HTTP with status 404. */
MUST_CHECK enum err_code s3_get_object(struct aws_client *c,
                                       const char *bucket,
                                       const char *key,
                                       struct buf *out,
                                       struct err *err);

/* *exists is false (and ERR_OK) for a missing key. */
MUST_CHECK enum err_code s3_head_object(struct aws_client *c,
                                        const char *bucket,
                                        const char *key,
                                        bool *exists,
                                        struct s3_object_info *out,
                                        struct err *err);

MUST_CHECK enum err_code
s3_delete_object(struct aws_client *c, const char *bucket, const char *key, struct err *err);

/* Called once per listed key; returning an error stops the listing with it. */
typedef enum err_code (
    *s3_list_fn)(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err);

/* Lists every key under prefix (all pages, in S3's key order). */
MUST_CHECK enum err_code s3_list_objects(struct aws_client *c,
                                         const char *bucket,
                                         const char *prefix,
                                         s3_list_fn fn,
                                         void *ctx,
                                         struct err *err);

struct s3_part {
    char etag[S3_ETAG_MAX];
    uint8_t md5[DIGEST_MD5_BYTES];
};

/* A streamed upload: bytes accumulate in one part-sized buffer; each full part is uploaded at
 * once. Small objects (one part or less) become a single PutObject at finish. */
struct s3_upload {
    struct aws_client *aws; /* borrowed */
    char bucket[64];
    char key[S3_MAX_KEY_BYTES + 1];
    struct s3_put_options opts; /* strings borrowed: must outlive the upload */
    char upload_id[1024];       /* "" until CreateMultipartUpload */
    struct buf part;
    size_t part_bytes;
    struct s3_part *parts;
    size_t n_parts;
    size_t cap_parts;
    uint64_t total_bytes;
    struct digest_md5 whole; /* MD5 of the whole object */
    bool force_multipart;    /* even a small object becomes a 1-part multipart upload */
    bool failed;             /* a write or finish failed: the upload is aborted, finish refuses */
    bool spooled;            /* parts wait in spool_fd; false (a zeroed upload too): in memory */
    int spool_fd;            /* an unlinked temp file, owned; meaningful only when spooled */
    uint64_t spool_len;
    struct digest_md5 part_md5;
    struct digest_sha256 part_sha;
};

MUST_CHECK enum err_code s3_upload_begin(struct s3_upload *u,
                                         struct aws_client *c,
                                         const char *bucket,
                                         const char *key,
                                         const struct s3_put_options *opts,
                                         size_t part_bytes,
                                         struct err *err);
/*
 * Holds parts in an anonymous file in dir (e.g. /tmp) instead of memory, and streams them from
 * there: memory then stays a few buffers whatever the part size. Call right after begin.
 * A dir that is missing or closed to us is ERR_CONFIG; any other failure to create, write or
 * read the spool file (here, in write or finish) is ERR_IO, which is never retried.
 */
MUST_CHECK enum err_code s3_upload_spool_to(struct s3_upload *u, const char *dir, struct err *err);

/* On any failure, write and finish abort the multipart upload themselves before returning, and
 * the upload is then unusable (finish returns ERR_INVALID_INPUT). Parts always carry Content-MD5,
 * whatever opts->checksum says: S3 wants a per-part CRC32C declared at create time otherwise. */
MUST_CHECK enum err_code
s3_upload_write(struct s3_upload *u, const void *p, size_t n, struct err *err);
/* Uploads what is left and completes; out gets S3's ETag, the size and the whole MD5. */
MUST_CHECK enum err_code
s3_upload_finish(struct s3_upload *u, struct s3_object_info *out, struct err *err);
/* Best effort: aborts a started multipart upload so no parts linger (and cost). */
void s3_upload_abort(struct s3_upload *u);
/* Frees what the upload holds and closes its spool file. Accepts NULL, a zeroed upload and one
 * already cleaned up. */
void s3_upload_cleanup(struct s3_upload *u);

/* The multipart ETag S3 computes: hex(MD5(MD5(part1) || ... )) + "-" + count. */
void s3_multipart_etag(const struct s3_part *parts, size_t n, char out[S3_ETAG_MAX]);

/* Parses an S3 XML error body into code and message (either may stay ""). */
void s3_parse_error(const struct http_response *resp,
                    char *code,
                    size_t code_cap,
                    char *message,
                    size_t message_cap);

/* Appends the wire path for an object: "/<bucket>/<key>" (path style) or "/<key>", with the key
 * percent-encoded once ('/' kept). */
MUST_CHECK enum err_code s3_object_path(struct buf *out,
                                        const char *bucket,
                                        const char *key,
                                        bool path_style,
                                        struct err *err);

#endif
