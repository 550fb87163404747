/*
 * fake_s3.h - an in-memory S3 for unit tests, answering through fake_http_set_fn(): objects,
 * ListObjectsV2 pages, multipart uploads, S3's integrity checks (Content-MD5,
 * x-amz-checksum-crc32c, x-amz-content-sha256) and injectable faults.
 * Addressing: path style ("http://host[:port]/<bucket>/<key>?query") and virtual-hosted
 *   ("https://<bucket>.s3.<region>.amazonaws.com/<key>"). The path must be encoded as SigV4 does
 *   (unreserved bytes, '/' and %XX only; anything else is 400 InvalidURI) and is decoded once, so
 *   a key encoded twice is stored under a different name and a key not encoded is refused.
 * Ownership: the fake owns its objects and uploads; fake_s3_free() frees them. fake_s3_install()
 *   lends the fake to a fake_http, which must not send after the fake is freed.
 * Strictness: every request must carry an Authorization header (the signature is not checked).
 * Reads: GetObject and HeadObject return the Content-Type and x-amz-meta-* headers the object
 *   was written with, as S3 does.
 */
#ifndef ETL_FAKE_S3_H
#define ETL_FAKE_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_http.h"

enum fake_s3_op {
    FAKE_S3_PUT_OBJECT = 0,
    FAKE_S3_GET_OBJECT,
    FAKE_S3_HEAD_OBJECT,
    FAKE_S3_DELETE_OBJECT,
    FAKE_S3_LIST_OBJECTS,
    FAKE_S3_CREATE_MULTIPART,
    FAKE_S3_UPLOAD_PART,
    FAKE_S3_COMPLETE_MULTIPART,
    FAKE_S3_ABORT_MULTIPART,
    FAKE_S3_UNKNOWN, /* a request the fake does not implement (answered 501 NotImplemented) */
    FAKE_S3_OP_COUNT,
    FAKE_S3_ANY = FAKE_S3_OP_COUNT, /* for faults: whichever request comes next */
};

#define FAKE_S3_DEFAULT_MAX_KEYS 1000              /* ListObjectsV2's page size */
#define FAKE_S3_MIN_PART_BYTES   (5 * 1024 * 1024) /* S3 refuses smaller non-final parts */

struct fake_s3;

/* Never NULL (aborts when out of memory: a test helper). */
struct fake_s3 *fake_s3_new(void);
/* Accepts NULL. */
void fake_s3_free(struct fake_s3 *s);
/* Makes fh answer every request not covered by its script from this S3. */
void fake_s3_install(struct fake_s3 *s, struct fake_http *fh);

/* Stores an object directly (test setup), replacing any; its ETag is the hex MD5. */
void fake_s3_put(struct fake_s3 *s,
                 const char *bucket,
                 const char *key,
                 const void *bytes,
                 size_t len);
/* Removes an object directly (test setup); false when there was none. */
bool fake_s3_delete(struct fake_s3 *s, const char *bucket, const char *key);
/* Finds an object by its decoded key; bytes are borrowed until the object changes. */
bool fake_s3_get(const struct fake_s3 *s,
                 const char *bucket,
                 const char *key,
                 const uint8_t **bytes,
                 size_t *len);
/* The object's ETag without quotes, or NULL when there is no such object. */
const char *fake_s3_etag(const struct fake_s3 *s, const char *bucket, const char *key);
/* A header the object was written with (PutObject, or CreateMultipartUpload for a multipart
 * object), copied into out; false when absent. */
bool fake_s3_object_header(const struct fake_s3 *s,
                           const char *bucket,
                           const char *key,
                           const char *name,
                           char *out,
                           size_t cap);

/* Objects stored, in all buckets. */
size_t fake_s3_count(const struct fake_s3 *s);
/* The key of object i (0 <= i < fake_s3_count, in no particular order), or NULL; borrowed until
 * the store changes. */
const char *fake_s3_key(const struct fake_s3 *s, size_t i);
/* Multipart uploads neither completed nor aborted. */
size_t fake_s3_open_uploads(const struct fake_s3 *s);
/* Requests of op received so far, failed and faulted ones included. */
size_t fake_s3_calls(const struct fake_s3 *s, enum fake_s3_op op);
void fake_s3_reset_calls(struct fake_s3 *s);

/* ListObjectsV2 returns at most this many keys per page (default 1000), so small tests page. */
void fake_s3_set_max_keys(struct fake_s3 *s, size_t max_keys);
/* CompleteMultipartUpload refuses smaller non-final parts (default 5 MiB). */
void fake_s3_set_min_part_bytes(struct fake_s3 *s, size_t min_part_bytes);

/*
 * The next count requests of op (or FAKE_S3_ANY) are answered with status and an S3 <Error>
 * document whose <Code> is code (NULL: no body), and are not performed. Status 0 is a transport
 * error (no response); a 2xx status with a code is CompleteMultipartUpload's "200 with an
 * <Error> body". Faults queue up and are used in the order given.
 */
void fake_s3_fail_next(struct fake_s3 *s,
                       enum fake_s3_op op,
                       int count,
                       int status,
                       const char *code);
/* Like fake_s3_fail_next, with the raw response: headers ("Name: value\r\n" lines) and body. */
void fake_s3_fail_next_raw(struct fake_s3 *s,
                           enum fake_s3_op op,
                           int count,
                           int status,
                           const char *headers,
                           const char *body);
/* The next count requests of op are performed, then the answer is lost (a transport error). */
void fake_s3_lose_next(struct fake_s3 *s, enum fake_s3_op op, int count);
/* Like fake_s3_fail_next, for requests on one key (decoded, bucket not included) only. */
void fake_s3_fail_key(struct fake_s3 *s,
                      enum fake_s3_op op,
                      const char *key,
                      int count,
                      int status,
                      const char *code);
/* Injected faults not used yet. */
int fake_s3_faults_left(const struct fake_s3 *s);

/* The operation's name ("UploadPart"). */
const char *fake_s3_op_name(enum fake_s3_op op);

#endif
