/*
 * etl_stream.h - the stream pipeline: a DynamoDB Streams batch becomes rows (the item plus
 * _op, _seq, _ts, _table, _event_id and, for REMOVE, _ttl_delete), grouped by table and partition
 * into objects {prefix}{table}/changes/{partition}/{first_seq}-{last_seq}.{ext}, and the answer
 * names the earliest record not durably written ({"batchItemFailures":[...]}).
 * Object names and bytes are a pure function of the batch, so a retried batch rewrites
 * identical objects at identical keys. Records that cannot be converted go, with the error, to
 * {prefix}_quarantine/{table}/{partition}/...; they never stop the batch.
 * Ownership: struct etl_stream owns reusable buffers and the upload workers' clients
 *   (etl_stream_cleanup); it borrows the config, sink and clock. The event is borrowed for the
 *   call.
 * Threads: one caller at a time; etl_stream_process runs the object writes on up to
 *   upload_concurrency threads of its own and joins them before it returns.
 */
#ifndef ETL_STREAM_H
#define ETL_STREAM_H

#include <stdint.h>

#include "aws_clients.h"
#include "buf.h"
#include "err.h"
#include "etl_catalog.h"
#include "etl_dq_run.h"
#include "etl_partition.h"
#include "etl_sink.h"
#include "etl_spec.h"
#include "etl_transform.h"
#include "etl_writer.h"
#include "json.h"
#include "sys.h"

struct etl_stream_config {
    struct etl_encoding enc;               /* change objects */
    const struct etl_partition *partition; /* ETL_PARTITION */
    int64_t max_object_records;            /* ETL_MAX_OBJECT_RECORDS */
    int64_t max_object_bytes;              /* ETL_MAX_OBJECT_BYTES (uncompressed rows) */
    int64_t deadline_margin_ms;            /* ETL_DEADLINE_MARGIN_MS */
    int64_t upload_concurrency;            /* ETL_UPLOAD_CONCURRENCY: objects written at once */
    const char *metrics_namespace;         /* EMF lines of data-quality rules */
    const char *service;
};

struct etl_stream_stats {
    size_t records_in;
    size_t records_out;      /* rows durably written to change objects */
    size_t records_failed;   /* quarantined (conversion failed) or not written */
    size_t records_rejected; /* rows written to rejected/ (a cast or a rule) */
    size_t records_filtered; /* no row by design: filtered, routed to no dataset, or a duplicate */
    size_t quarantined;
    size_t dq_rules_passed; /* data-quality rules evaluated on the batch, by outcome */
    size_t dq_rules_failed;
    bool dq_fail;        /* a rule with action fail did not pass: nothing written */
    size_t schema_drift; /* columns or types the datasets' reference schemas lack */
    bool catalog_failed; /* the Glue catalog could not be updated: the batch is retried */
    size_t objects_written;
    uint64_t bytes_written;
    int64_t oldest_ts_ms; /* -1 when no record had a timestamp */
    char failed_seq[64];  /* the reported itemIdentifier, "" when none */
    bool event_rejected;  /* not a usable batch: the error says why, nothing was done */
};

struct etl_stream_worker; /* one concurrent object write: its render buffers and AWS client */

struct etl_stream {
    const struct etl_stream_config *cfg;
    struct etl_sink *sink;
    const struct sys *sys;
    struct buf store; /* rows of the batch */
    struct buf text;  /* scratch */
    /* Objects are compressed whole (a batch is in memory anyway), reusing the compressor; one
     * object renders at a time, so the workers share it. */
    struct etl_codec_cache codecs;
    /* Writing a batch's objects at once (upload_concurrency of them): each worker renders and
     * writes one object at a time on its own client; clients and buffers stay warm. */
    struct aws_clients clients;
    struct etl_stream_worker *workers;
    size_t n_workers;
    /* with a transform (ETL_TRANSFORM) */
    const struct etl_spec *spec;
    struct etl_transform *tx;
    struct buf src;         /* one record's source row */
    struct buf staged;      /* transformed rows waiting for dedupe and rules */
    struct etl_dq_run *dq;  /* per dataset: its rules over the batch */
    struct etl_schema *ref; /* per dataset: the latest snapshot's schema.json, when stored */
    bool *ref_known;        /* per dataset: ref was looked for */
    int64_t ref_read_ms;    /* when the references were last all forgotten (monotonic) */
    struct buf doc;         /* scratch for documents */
    struct buf doc2;
    struct etl_catalog *catalog; /* borrowed; NULL: no catalog */
};

void etl_stream_init(struct etl_stream *s,
                     const struct etl_stream_config *cfg,
                     struct etl_sink *sink,
                     const struct sys *sys);
void etl_stream_cleanup(struct etl_stream *s);
/* Lets S3 objects be written in parallel, each worker on a connection of its own made with
 * new_transport (kept across batches). Without it they are written one after another on the
 * sink's client; file output needs no connections and is always written in parallel. */
void etl_stream_set_clients(struct etl_stream *s, aws_transport_fn new_transport, void *ctx);
/* Runs every batch through spec (NULL: rows as they are); key is the PII key. */
MUST_CHECK enum err_code etl_stream_set_transform(struct etl_stream *s,
                                                  const struct etl_spec *spec,
                                                  const uint8_t *key,
                                                  size_t key_len,
                                                  struct err *err);

/* Keeps the Glue catalog current (ETL_CATALOG_DATABASE) from now on; NULL: no catalog.
 * After a batch's objects are written, each dataset's {name}_changes table gains the columns
 * its rows brought, and new partitions are registered. A catalog failure reports the whole
 * batch for retry: its objects are rewritten identically, so nothing is lost or doubled, and
 * the catalog is tried again. */
void etl_stream_set_catalog(struct etl_stream *s, struct etl_catalog *catalog);

/* What a record's reader tells the walk that handed it the record (the event's checks). */
struct etl_record_seen {
    bool is_object;
    bool has_source;        /* it has an eventSource member */
    struct json_val source; /* the first one's value */
};

/*
 * Reads the record `at` stands at: exactly one value, with json.h's checking iterators, walking
 * every byte of it; an error return may leave `at` anywhere (the walk then reads the record
 * again to check it). Errors are the reader's own (out of memory, a full buffer): a record the
 * reader cannot use is for it to set aside, not an error.
 */
typedef enum err_code (*etl_record_read_fn)(void *ctx,
                                            struct json_iter *at,
                                            size_t index,
                                            struct etl_record_seen *seen,
                                            struct err *err);

/* A walk over a batch's records (etl_event_walk_records, on the event it is given): hands each
 * to read, in order, checks the event, and counts the records. */
typedef enum err_code (*etl_records_walk_fn)(const void *event,
                                             etl_record_read_fn read,
                                             void *ctx,
                                             size_t *n_records,
                                             struct err *err);

/*
 * Processes a batch: walk(event, ...) hands over its records, which are read, converted and
 * checked in that one walk. ERR_INVALID_INPUT, with stats->event_rejected,
 * means the event is not a usable batch (invalid JSON, a record from elsewhere, an empty batch
 * outside a tumbling window): nothing was written or logged. deadline_mono_ms (0 = none)
 * bounds the writes: no object is started with less than the configured margin left, and its
 * records are reported for retry instead. Objects are written concurrently; their names, bytes
 * and the answer do not depend on the order the writes finish in. On ERR_OK, response holds the
 * partial batch response. A record that is neither written nor reportable (no SequenceNumber) makes
 * the whole invocation fail, so Lambda retries it all.
 */
MUST_CHECK enum err_code etl_stream_process(struct etl_stream *s,
                                            etl_records_walk_fn walk,
                                            const void *event,
                                            int64_t deadline_mono_ms,
                                            struct buf *response,
                                            struct etl_stream_stats *stats,
                                            struct err *err);

/* Extracts the table name from a stream ARN (arn:...:table/<name>/stream/...); false, with out
 * untouched, if the ARN names no valid table. */
bool etl_stream_table_from_arn(const char *arn, char *out, size_t cap);

/* Parses ApproximateCreationDateTime (seconds, fractional or exponent; milliseconds when the
 * value is too large to be seconds) into epoch ms. */
bool etl_stream_parse_time(struct cur number, int64_t *out_ms);

#endif
