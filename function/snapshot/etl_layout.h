/*
 * etl_layout.h - how a snapshot run lays out its files (ETL_SNAPSHOT_FORMAT), one entry each:
 *   rows        part-{segment:05d}-{n:05d}.{ext} in the run folder, in ETL_FORMAT, with the
 *               snapshot table DDL and the current-state view;
 *   ddb-export  DynamoDB's own Export to S3 layout, AWSDynamoDB/{export_id}/data/{segment}-{n}.json
 *               (.gz), always multipart (its manifests carry multipart ETags), with DynamoDB's
 *               manifest-summary.json and manifest-files.json and a DDL over the typed items.
 * Everything that differs between the two is here, so the scan and the commit never ask which.
 * Ownership: static tables.
 */
#ifndef ETL_LAYOUT_H
#define ETL_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_ddl.h"
#include "etl_format.h"
#include "etl_schema.h"

struct etl_snapshot_layout {
    const char *name;                /* the ETL_SNAPSHOT_FORMAT value, and run.json's "format" */
    const struct etl_format *format; /* the files' format; NULL: ETL_FORMAT's */
    bool force_multipart;
    bool current_view;       /* {table}/current.sql over the snapshot and the changes */
    bool dynamodb_manifests; /* DynamoDB Export's manifest-summary.json and manifest-files.json */
    /* The key of file n of a segment written by invocation `attempt` (hex), relative to the
     * output root; ext is the files' extension. Keys never repeat across invocations, so an
     * invocation that overlaps another cannot overwrite what the checkpoint lists. */
    void (*file_key)(const char *run_dir,
                     const char *export_id,
                     int segment,
                     uint32_t n,
                     const char *attempt,
                     const char *ext,
                     char *out,
                     size_t cap);
    /* Whether a key below the run folder (rest) is a data file of this layout. */
    bool (*is_data_key)(const char *rest);
    /* The run's _meta/table.ddl. */
    MUST_CHECK enum err_code (*table_ddl)(struct buf *out,
                                          const struct etl_ddl_ctx *ctx,
                                          const struct etl_schema *schema,
                                          const char *run_dir,
                                          const char *export_id,
                                          struct err *err);
};

extern const struct etl_snapshot_layout etl_layout_rows;
extern const struct etl_snapshot_layout etl_layout_ddb_export;

/* Every layout's name, NULL-terminated, in the order config errors list them. */
extern const char *const etl_layout_names[];
/* The layout named name, or NULL. */
const struct etl_snapshot_layout *etl_layout_find(const char *name);

/* "DynamoDB Export's folder of a run": "{run_dir}AWSDynamoDB/{export_id}/" */
void etl_layout_export_dir(const char *run_dir, const char *export_id, char *out, size_t cap);

#endif
