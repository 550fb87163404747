/*
 * s3.h - S3 objects over aws_call: PutObject (Content-MD5 or x-amz-checksum-crc32c, optional SSE
 * and storage class), GetObject, HeadObject, DeleteObject and ListObjectsV2, with S3's XML errors
 * parsed into code, message and request id. Streamed multipart uploads are s3_upload.h, included
 * at the end so that callers of s3.h see them too.
 * Ownership: buffers passed in are borrowed for the call; nothing is kept after it returns.
 * Errors: every call returns ERR_OK or fills *err (HTTP status, S3 code, request id).
 * Threads: the aws_client a call uses has one owner at a time.
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
    /* Conditional writes (PutObject only): S3 answers 412 PreconditionFailed instead of
     * writing when the condition does not hold (s3_put_object reports it as ERR_HTTP 412). */
    bool if_none_match;   /* only if the key does not exist (If-None-Match: *) */
    const char *if_match; /* only if the object's ETag (without quotes) is this one */
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
/* The same, also giving the object's ETag (without quotes), for a conditional write after it. */
MUST_CHECK enum err_code s3_get_object_etag(struct aws_client *c,
                                            const char *bucket,
                                            const char *key,
                                            struct buf *out,
                                            char etag[S3_ETAG_MAX],
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

#include "s3_upload.h" /* last: it needs the declarations above */

#endif
