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

/* Human-readable location of a key ("s3://bucket/prefix/key" or "/dir/key") for logs. */
void etl_sink_location(const struct etl_sink *s, const char *rel_key, char *out, size_t cap);

#endif
