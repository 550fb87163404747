/*
 * s3_upload.h - streamed S3 multipart uploads: bytes accumulate in one part-sized buffer (or an
 * anonymous spool file); each full part is uploaded at once, and small objects become a single
 * PutObject at finish. CreateMultipartUpload, UploadPart, CompleteMultipartUpload and
 * AbortMultipartUpload, over the same aws_client as s3.h.
 * Ownership: a struct s3_upload owns its part buffer, part list and spool file
 *   (s3_upload_cleanup frees them; it does not abort: call s3_upload_abort). It borrows its
 *   aws_client and the strings in its put options.
 * Errors: every call returns ERR_OK or fills *err (HTTP status, S3 code, request id); local spool
 *   failures are ERR_IO. After a failed write or finish the upload is aborted and unusable.
 * Threads: an s3_upload and the aws_client it uses have one owner at a time.
 */
#ifndef ETL_S3_UPLOAD_H
#define ETL_S3_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "buf.h"
#include "digest.h"
#include "err.h"
#include "s3.h"

struct s3_upload_part {
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
    struct s3_upload_part *parts;
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
void s3_upload_etag(const struct s3_upload_part *parts, size_t n, char out[S3_ETAG_MAX]);

#endif
