/*
 * s3_private.h - the request plumbing s3.c shares with s3_upload.c: one signed S3 call, request
 * bodies, the object and checksum headers, ETags and query parameters. Not for other callers:
 * use s3.h and s3_upload.h.
 * Ownership: everything passed is borrowed for the call; header values point into storage the
 *   caller provides.
 */
#ifndef ETL_S3_PRIVATE_H
#define ETL_S3_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "buf.h"
#include "digest.h"
#include "err.h"
#include "http.h"
#include "s3.h"

/* A request body: bytes in memory, or a spool file with its precomputed SHA-256. */
struct s3_body {
    struct cur mem;
    const struct http_body_file *file;
    const char *sha256_hex;
};

extern const struct s3_body s3_no_body;

/* One S3 request on bucket[/key]; key NULL addresses the bucket. op_name names the call in
 * messages ("PutObject"), which add "s3://bucket/key". */
MUST_CHECK enum err_code s3_call(struct aws_client *c,
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
                                 struct err *err);

/* PutObject of a memory or spooled body whose MD5 (and, spooled, SHA-256) is known. */
MUST_CHECK enum err_code s3_put_body(struct aws_client *c,
                                     const char *bucket,
                                     const char *key,
                                     const struct s3_body *body,
                                     uint64_t size,
                                     const uint8_t md5[DIGEST_MD5_BYTES],
                                     const struct s3_put_options *o,
                                     struct s3_object_info *out,
                                     struct err *err);

/* Fills h (room for 4) with the content headers of PutObject and CreateMultipartUpload; returns
 * how many. */
size_t s3_object_headers(const struct s3_put_options *o, struct http_header *h);

/* The checksum header of kind for body; value is the caller's storage for its text. */
struct http_header s3_checksum_header(enum s3_checksum kind,
                                      struct cur body,
                                      const uint8_t md5[DIGEST_MD5_BYTES],
                                      char value[DIGEST_MD5_B64]);

/* Copies a response's ETag header, without its quotes, into out ("" when absent). */
void s3_copy_etag(const struct http_response *resp, char out[S3_ETAG_MAX]);

/* Drops the quotes S3 puts around an ETag, in place. */
void s3_strip_etag_quotes(char *etag);

/* Appends "[&]name=value" to a query, the value percent-encoded as SigV4 wants. */
MUST_CHECK enum err_code
s3_append_query_param(struct buf *q, const char *name, const char *value, struct err *err);

#endif
