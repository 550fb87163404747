/*
 * etl_export.h - scheduled snapshots: a run exports a whole table through parallel Scan segments
 * into {prefix}{table}/snapshots/run={run_id}/, resumable across invocations, exactly once.
 *   requests: an EventBridge Scheduled Event (run id from its time, table from ETL_TABLE);
 *     {"export":{"table","segments"}} (a run in this invocation); {"export":{"table","run_id",
 *     "segment","total_segments"}} (one segment, for fan-out); {"export":{"table","run_id",
 *     "commit":true}} (the finisher). Instead of run_id, a request may give the run's "time"
 *     (ISO-8601), from which the run id is derived as for scheduled events.
 *   answers: {"status":"complete"|"incomplete", "run_id", ...counts}; a request for a run that
 *     has completed changes nothing and answers "complete" again.
 *   commit: orphaned files removed, _meta/manifest.json, _meta/schema.json, _meta/table.ddl (or
 *     the DynamoDB Export layout's manifests), {table}/changes.ddl once, {table}/current.sql,
 *     then _SUCCESS last.
 * Ownership: borrows config, sink, clients and clock; per-thread transports come from
 *   new_transport and are freed by the export.
 */
#ifndef ETL_EXPORT_H
#define ETL_EXPORT_H

#include "aws.h"
#include "buf.h"
#include "err.h"
#include "etl_catalog.h"
#include "etl_sink.h"
#include "etl_snapshot.h"
#include "http.h"
#include "json.h"
#include "sys.h"

/* Makes the HTTP transport of one export thread (production: curl; tests: a fake). */
typedef struct http_transport *(*etl_transport_fn)(void *ctx, struct err *err);

struct etl_export_stats {
    uint64_t items;
    uint64_t files;
    uint64_t bytes;
    double rcu;
    int segments_done;
    int segments;
    bool complete;
};

/* What asked for a snapshot: an EventBridge Scheduled Event (its "time", a JSON string, or of
 * type JSON_NULL when absent) or an {"export": {...}} request (the object). Borrowed. */
struct etl_export_input {
    bool scheduled;
    struct json_val time;
    struct json_val request;
};

struct etl_export {
    const struct etl_snapshot_config *cfg;
    const struct sys *sys;
    struct etl_sink *sink;  /* the invoking thread's */
    struct aws_client *aws; /* the invoking thread's; NULL without AWS */
    etl_transport_fn new_transport;
    void *transport_ctx;
    struct etl_catalog *catalog; /* borrowed; NULL: no catalog (etl_export_set_catalog) */
};

void etl_export_init(struct etl_export *x,
                     const struct etl_snapshot_config *cfg,
                     const struct sys *sys,
                     struct etl_sink *sink,
                     struct aws_client *aws,
                     etl_transport_fn new_transport,
                     void *transport_ctx);

/* Keeps the Glue catalog current at each commit; NULL: no catalog. */
void etl_export_set_catalog(struct etl_export *x, struct etl_catalog *catalog);

/* Handles a scheduled event or an export request; deadline_mono_ms 0 = none. */
MUST_CHECK enum err_code etl_export_handle(struct etl_export *x,
                                           const struct etl_export_input *in,
                                           int64_t deadline_mono_ms,
                                           struct buf *response,
                                           struct etl_export_stats *stats,
                                           struct err *err);

#endif
