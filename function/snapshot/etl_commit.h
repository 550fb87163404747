/*
 * etl_commit.h - finishes a snapshot run whose segments are all done: removes files no
 * checkpoint names (left by an attempt that crashed between completing a file and saving its
 * checkpoint), then writes _meta/manifest.json, _meta/schema.json, _meta/table.ddl (or, for
 * ETL_SNAPSHOT_FORMAT=ddb-export, DynamoDB Export's manifest-summary.json and
 * manifest-files.json with their .md5 files), {table}/changes.ddl once per table,
 * {table}/current.sql, and _SUCCESS last: a reader that sees _SUCCESS sees a finished run.
 * The metadata lives under _meta/ because Athena and Trino skip names starting with '_' or '.',
 * so a table over the run's folder reads only data files.
 * Ownership: borrows everything.
 */
#ifndef ETL_COMMIT_H
#define ETL_COMMIT_H

#include <stdint.h>

#include "err.h"
#include "etl_catalog.h"
#include "etl_checkpoint.h"
#include "etl_sink.h"
#include "etl_snapshot.h"
#include "sys.h"

struct etl_commit_summary {
    uint64_t items;
    uint64_t scanned;
    uint64_t files;
    uint64_t bytes;
    double rcu;
    uint32_t invocations;
    int orphans_removed;
};

/* datasets: the name of each dataset rows went to (the table's own name without a transform);
 * each gets its manifest, schema, DDL and table documents, its catalog tables when catalog is
 * enabled ({name}_snapshot with the run's partition, {name}_changes; a catalog failure fails
 * the commit, which the next invocation runs again), then the table's run _SUCCESS. */
MUST_CHECK enum err_code etl_commit_run(const struct etl_snapshot_config *cfg,
                                        struct etl_sink *sink,
                                        const struct sys *sys,
                                        struct etl_catalog *catalog,
                                        const struct etl_run *run,
                                        const char *run_dir,
                                        const char *const *datasets,
                                        size_t n_datasets,
                                        const struct etl_ckpt *cks,
                                        int n,
                                        struct etl_commit_summary *out,
                                        struct err *err);

/* "{table}/snapshots/run={run_id}/" */
void etl_commit_run_dir(const char *table, const char *run_id, char *out, size_t cap);

#endif
