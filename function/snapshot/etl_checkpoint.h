/*
 * etl_checkpoint.h - the durable state of a snapshot run, as small JSON objects in the run folder:
 *   _checkpoint/run.json        the run: table, total segments, times, key schema, estimate
 *   _checkpoint/segment-N.json  one segment: done or the LastEvaluatedKey to resume from, the
 *                               files completed (key, records, bytes, MD5, ETag, dataset), counts,
 *                               and per dataset its schema, row counts and data-quality partials
 * A segment's checkpoint is written only after the files it lists are complete, and its key is
 * where the next file starts, so a resumed run loses nothing and writes nothing twice.
 * Ownership: structs own their buffers (cleanup functions); JSON goes to/from caller buffers.
 */
#ifndef ETL_CHECKPOINT_H
#define ETL_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_schema.h"
#include "limit.h"
#include "s3.h"

#define ETL_RUN_ID_MAX 32

struct etl_ckpt_file {
    char key[LIMIT_KEY_BYTES]; /* relative to the output prefix */
    uint64_t records;
    uint64_t bytes;     /* as stored (compressed) */
    uint64_t raw_bytes; /* uncompressed */
    char md5[33];       /* hex MD5 of the stored bytes */
    char etag[80];
    uint32_t parts;
    uint16_t dataset; /* index of the transform's dataset (0 without a transform) */
    bool rejected;    /* rows that broke a rule or a cast, not data */
};

struct etl_ckpt {
    int segment;
    int total_segments;
    bool done;
    struct buf lek; /* LastEvaluatedKey (exact JSON text); empty = from the start / done */
    uint32_t next_file;
    struct etl_ckpt_file *files;
    size_t n_files;
    size_t cap_files;
    uint64_t items;    /* read and accounted for by completed files */
    uint64_t unrouted; /* of those, items no dataset's `when` took */
    uint64_t scanned;
    double rcu;
    uint32_t invocations;   /* invocations that worked on the segment */
    uint32_t progress_at;   /* the value of invocations when the segment last moved on */
    int32_t page_limit;     /* items per Scan page, once stalls made it smaller (0: configured) */
    struct etl_ckpt_ds *ds; /* one per dataset (the table's own without a transform) */
    size_t n_ds;
    /* Not stored: the version this invocation read or wrote, for the next conditional write. */
    bool stored;            /* a checkpoint exists */
    char etag[S3_ETAG_MAX]; /* its ETag */
};

/* What a segment knows of one dataset: everything the commit merges. */
struct etl_ckpt_ds {
    struct etl_schema schema;
    uint64_t rows;     /* written as data */
    uint64_t rejected; /* written to rejected/ */
    uint64_t filtered; /* no row: filtered or routed elsewhere */
    struct buf dq;     /* the rules' partial aggregates (JSON; empty: none) */
};

/* n_datasets: 1 without a transform. Returns ERR_NOMEM only. */
MUST_CHECK enum err_code etl_ckpt_init(struct etl_ckpt *ck,
                                       int segment,
                                       int total_segments,
                                       size_t n_datasets,
                                       struct err *err);
void etl_ckpt_cleanup(struct etl_ckpt *ck);
MUST_CHECK enum err_code
etl_ckpt_add_file(struct etl_ckpt *ck, const struct etl_ckpt_file *f, struct err *err);
MUST_CHECK enum err_code etl_ckpt_to_json(const struct etl_ckpt *ck,
                                          const char *table,
                                          const char *run_id,
                                          struct buf *out,
                                          struct err *err);
/* Reads a checkpoint into a freshly initialised ck (segment numbers are checked). */
MUST_CHECK enum err_code etl_ckpt_from_json(struct etl_ckpt *ck, struct cur text, struct err *err);

struct etl_run {
    char table[256];
    char run_id[ETL_RUN_ID_MAX];
    int64_t run_ms;     /* the time the run id stands for */
    int64_t started_ms; /* when the run's first invocation began */
    int total_segments;
    char format[16]; /* "rows" or "ddb-export" */
    char export_id[40];
    char table_arn[512];
    char table_id[64];
    char hash_key[256];
    char range_key[256];
    int64_t est_items;
    int64_t est_bytes;
    double est_rcu;
    double est_seconds; /* 0 when ETL_MAX_RCU is unset */
    int64_t max_rcu;
};

MUST_CHECK enum err_code
etl_run_to_json(const struct etl_run *run, struct buf *out, struct err *err);
MUST_CHECK enum err_code etl_run_from_json(struct etl_run *run, struct cur text, struct err *err);

/* "2026-11-24T00:00:00Z" (EventBridge's time) -> "2026-11-24T000000Z" and its epoch ms. */
MUST_CHECK enum err_code etl_run_id_from_time(const char *iso,
                                              char run_id[ETL_RUN_ID_MAX],
                                              int64_t *run_ms,
                                              struct err *err);
/* Validates a run id from a request ("2026-11-24T000000Z") and returns its epoch ms. */
MUST_CHECK enum err_code etl_run_id_parse(const char *run_id, int64_t *run_ms, struct err *err);

#endif
