/*
 * etl_scan.h - scans one segment of a snapshot run into files: Scan pages (Segment of
 * TotalSegments, resumed from the checkpoint's LastEvaluatedKey) become rows (the stream's row
 * format with _op SNAPSHOT and _ts the run time), encoded in the layout's format (etl_layout.h),
 * streamed through the writer into multipart uploads of at most ETL_EXPORT_OBJECT_BYTES
 * (uncompressed) each. After every completed file the checkpoint is saved; before stop_at_ms the
 * open file is completed and the checkpoint saved, so the next invocation resumes exactly there.
 * A page is not started when the time left before stop_at_ms is less than the last page took.
 * Overlapping invocations of one segment: file names carry the invocation's attempt id, and the
 * checkpoint is saved only if it is still the version this invocation read; the loser stops and
 * deletes the files it completed since its last save (the commit removes any left behind).
 * Throttling slows the scan (backoff, smaller pages) instead of failing it.
 * With a transform, rows are routed to their datasets: each dataset has its own files, data in
 * {dataset}/snapshots/run={id}/ and rejected rows in {dataset}/rejected/run={id}/, and they are
 * completed together, so the one LastEvaluatedKey of the checkpoint stays true for all of them.
 * Ownership: a job borrows everything; memory is one page, one row store and the writers'
 *   buffers per open file (parts are spooled to ETL_SPOOL_DIR), whatever the table's size.
 * Threads: one job per thread; jobs share only the rate limiter (thread-safe).
 */
#ifndef ETL_SCAN_H
#define ETL_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "aws.h"
#include "err.h"
#include "etl_checkpoint.h"
#include "etl_rate.h"
#include "etl_sink.h"
#include "etl_snapshot.h"
#include "etl_transform.h"
#include "sys.h"

struct etl_scan_job {
    const struct etl_snapshot_config *cfg;
    const struct etl_run *run;
    struct etl_sink sink;   /* this thread's sink, writing with `aws` */
    struct aws_client *aws; /* this thread's client */
    const struct sys *sys;
    struct etl_rate *rate;
    int64_t stop_at_ms;                /* monotonic: no page is started after this (0: never) */
    char attempt[17];                  /* this invocation's id (hex), in its files' names */
    char run_dir[LIMIT_RUN_DIR_BYTES]; /* "{table}/snapshots/run={run_id}/" */
    /* The datasets rows go to: the table's own (no transform) or the spec's, routed by tx. */
    struct etl_transform *tx;    /* this thread's; NULL without a transform */
    const struct etl_spec *spec; /* this thread's compiled copy (its rules); NULL without */
    int64_t now_ms;              /* "now" of the run's data-quality rules */
    const char *const *datasets;
    size_t n_datasets;
};

struct etl_scan_stats {
    uint64_t items;
    uint64_t pages;
    uint64_t files;
    bool stopped_for_deadline;
    bool superseded; /* another invocation saved the segment's checkpoint first: this one
                        stopped and removed the files it had not got into a checkpoint */
};

/* The checkpoint key of a segment: "{run_dir}_checkpoint/segment-N.json". */
void etl_scan_checkpoint_key(const char *run_dir, int segment, char *out, size_t cap);

/*
 * Saves ck as a compare-and-swap on the version it was read or last saved as (ck->etag): *lost
 * when another invocation saved the segment in between (nothing written). Every save of a
 * segment's checkpoint goes through here, so of two overlapping invocations only one moves a
 * segment on from a given version.
 */
MUST_CHECK enum err_code etl_scan_save_checkpoint(struct etl_scan_job *job,
                                                  struct etl_ckpt *ck,
                                                  bool *lost,
                                                  struct err *err);

/* Scans from ck's position until the segment is done or stop_at_ms; updates and saves ck. */
MUST_CHECK enum err_code etl_scan_segment(struct etl_scan_job *job,
                                          struct etl_ckpt *ck,
                                          struct etl_scan_stats *st,
                                          struct err *err);

#endif
