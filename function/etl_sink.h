/*
 * etl_sink.h - where finished objects go: S3 (PutObject under the configured prefix, with the
 * configured checksum, encryption and storage class) or a local directory (same layout; written
 * to a temporary name and renamed, so a reader never sees half an object).
 * Ownership: borrows the config and the aws_client (NULL for file output).
 * Errors: an S3 failure carries S3's code; a file failure names the path and errno text.
 */
#ifndef ETL_SINK_H
#define ETL_SINK_H

#include "aws.h"
#include "buf.h"
#include "digest.h"
#include "err.h"
#include "etl_config.h"
#include "s3.h"

struct etl_sink {
    const struct etl_config *cfg;
    struct aws_client *aws;
    uint64_t objects;
    uint64_t bytes;
};

void etl_sink_init(struct etl_sink *s, const struct etl_config *cfg, struct aws_client *aws);

/* Writes one object at {prefix}{rel_key}. */
MUST_CHECK enum err_code etl_sink_put(struct etl_sink *s,
                                      const char *rel_key,
                                      struct cur body,
                                      const char *content_type,
                                      struct err *err);

enum etl_put_outcome {
    ETL_PUT_WRITTEN,   /* a new object */
    ETL_PUT_IDENTICAL, /* the same bytes were already there: nothing written */
    ETL_PUT_RENAMED,   /* another object held the name: written under a content-hash name */
};

/*
 * Writes {prefix}{stem}.{ext} unless that object exists: with the same bytes (by MD5) it is left
 * alone, so a retried batch is idempotent; with other bytes the object goes to
 * {stem}-{md5 prefix}.{ext} instead, so nothing is ever overwritten with different data.
 * The key used is copied to key_out.
 */
MUST_CHECK enum err_code etl_sink_put_new(struct etl_sink *s,
                                          const char *stem,
                                          const char *ext,
                                          struct cur body,
                                          const char *content_type,
                                          char *key_out,
                                          size_t key_cap,
                                          enum etl_put_outcome *outcome,
                                          struct err *err);

/* Reads an object (used for checkpoints and idempotency markers); *found false when absent. */
MUST_CHECK enum err_code etl_sink_get(struct etl_sink *s,
                                      const char *rel_key,
                                      struct buf *out,
                                      bool *found,
                                      struct err *err);

/* A streamed object: S3 multipart (parts spooled to spool_dir) or a temporary file renamed into
 * place at finish. Memory stays a few small buffers whatever the object's size. */
struct etl_object {
    struct etl_sink *sink;
    bool s3;
    struct s3_upload up;
    int fd;
    char tmp_path[1200];
    char path[1100];
    struct digest_md5 md5; /* file output (an S3 upload hashes the object itself) */
    uint64_t bytes;
};

/*
 * Opens {prefix}{rel_key} for streaming. aws is the client to use (threads bring their own);
 * force_multipart makes even a small S3 object a 1-part multipart upload (whose ETag has the
 * "-1" form DynamoDB's export manifests carry).
 */
MUST_CHECK enum err_code etl_sink_object_open(struct etl_sink *s,
                                              struct aws_client *aws,
                                              const char *rel_key,
                                              const char *content_type,
                                              bool force_multipart,
                                              const char *spool_dir,
                                              struct etl_object *obj,
                                              struct err *err);
MUST_CHECK enum err_code
etl_object_write(struct etl_object *obj, const void *p, size_t n, struct err *err);
/* Completes the object; info gets size, MD5, ETag (S3) and part count. */
MUST_CHECK enum err_code
etl_object_finish(struct etl_object *obj, struct s3_object_info *info, struct err *err);
/* Drops an unfinished object (aborts the upload, removes the temporary file); accepts finished
 * and zeroed objects. */
void etl_object_abort(struct etl_object *obj);

/* Calls fn for every object under {prefix}{rel_prefix} (keys relative to the output prefix). */
MUST_CHECK enum err_code etl_sink_list(struct etl_sink *s,
                                       const char *rel_prefix,
                                       s3_list_fn fn,
                                       void *ctx,
                                       struct err *err);
MUST_CHECK enum err_code etl_sink_delete(struct etl_sink *s, const char *rel_key, struct err *err);

/* Human-readable location of a key ("s3://bucket/prefix/key" or "/dir/key") for logs. */
void etl_sink_location(const struct etl_sink *s, const char *rel_key, char *out, size_t cap);

#endif
