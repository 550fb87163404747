/*
 * etl_snapshot.h - the settings of scheduled snapshots, shared by the export, the segment scan
 * and the commit (the application fills them from ETL_* variables).
 * Ownership: plain values; the pointers are to static tables or to the application's config.
 */
#ifndef ETL_SNAPSHOT_H
#define ETL_SNAPSHOT_H

#include <stdint.h>

#include "etl_layout.h"
#include "etl_partition.h"
#include "etl_spec.h"
#include "etl_writer.h"
#include "limit.h"

struct etl_snapshot_config {
    struct etl_encoding rows;                 /* ETL_FORMAT, ETL_COMPRESSION, ETL_GZIP_LEVEL */
    const struct etl_snapshot_layout *layout; /* ETL_SNAPSHOT_FORMAT */
    const struct etl_partition *partition;    /* ETL_PARTITION (changes.ddl) */
    char table[LIMIT_TABLE_NAME_BYTES];       /* ETL_TABLE; "" when unset */
    int segments;                             /* ETL_SEGMENTS: parallel scan segments of a run */
    int threads;                 /* ETL_EXPORT_THREADS: segments scanned at once per invocation */
    int64_t export_object_bytes; /* ETL_EXPORT_OBJECT_BYTES: uncompressed bytes per file */
    int64_t max_rcu;             /* ETL_MAX_RCU: read units per second; 0 = unlimited */
    int64_t page_limit;          /* ETL_SCAN_PAGE_LIMIT: items per Scan page; 0 = DynamoDB's 1 MB */
    int64_t export_margin_ms; /* ETL_EXPORT_MARGIN_MS: checkpoint this long before the deadline */
    char spool_dir[512];      /* ETL_SPOOL_DIR: where multipart parts wait (default /tmp) */
    /* ETL_TRANSFORM: rows are routed to the spec's datasets (NULL: the table's own rows). Its
     * compiled expressions serve one thread at a time, so each segment task compiles its own
     * from spec_text. */
    const struct etl_spec *spec;
    struct cur spec_text;
    const uint8_t *pii_key;
    size_t pii_key_len;
    const char *metrics_namespace; /* EMF lines of data-quality rules */
    const char *service;
};

/* The encoding of the run's files: the layout's own format, or ETL_FORMAT's. */
static inline struct etl_encoding etl_snapshot_encoding(const struct etl_snapshot_config *cfg)
{
    struct etl_encoding e = cfg->rows;
    if (cfg->layout->format != NULL) {
        e.format = cfg->layout->format;
    }
    return e;
}

#endif
