/*
 * etl_config.h - the function's configuration, read once from the environment block at init and
 * validated; a bad value is ERR_CONFIG naming the variable and what it accepts.
 * Ownership: plain values (no heap).
 */
#ifndef ETL_CONFIG_H
#define ETL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "etl_partition.h"
#include "s3.h"

enum etl_format { ETL_FORMAT_JSONL = 0, ETL_FORMAT_CSV };
enum etl_compression { ETL_COMPRESSION_GZIP = 0, ETL_COMPRESSION_NONE };

#define ETL_DEFAULT_MAX_OBJECT_RECORDS 100000
#define ETL_DEFAULT_MAX_OBJECT_BYTES   (64 * 1024 * 1024)
#define ETL_DEFAULT_DEADLINE_MARGIN_MS 1000
#define ETL_DEFAULT_NAMESPACE          "DdbS3Etl"
#define ETL_DEFAULT_SEGMENTS           4
/* Items per Scan page: pages of a size independent of the table keep memory flat. */
#define ETL_DEFAULT_PAGE_LIMIT          500
#define ETL_DEFAULT_EXPORT_OBJECT_BYTES ((int64_t)128 * 1024 * 1024)
#define ETL_DEFAULT_EXPORT_MARGIN_MS    10000

struct etl_output {
    bool is_s3;
    char bucket[64];  /* s3 */
    char prefix[512]; /* s3: "" or ending in '/' */
    char dir[1024];   /* file: absolute, no trailing '/' */
};

struct etl_config {
    struct etl_output out;
    enum etl_format format;
    enum etl_compression compression;
    int gzip_level;
    struct etl_partition partition;
    int64_t max_object_records;
    int64_t max_object_bytes;
    char metrics_namespace[256];
    char service_name[128];
    struct s3_put_options put; /* points into the strings below */
    char sse[16];
    char kms_key_id[256];
    char storage_class[32];
    int64_t deadline_margin_ms;
    /* snapshots */
    char table[256];             /* ETL_TABLE; "" when unset */
    int segments;                /* ETL_SEGMENTS: parallel scan segments of a run */
    int threads;                 /* ETL_EXPORT_THREADS: segments scanned at once per invocation */
    int64_t export_object_bytes; /* ETL_EXPORT_OBJECT_BYTES: uncompressed bytes per file */
    int64_t max_rcu;             /* ETL_MAX_RCU: read units per second; 0 = unlimited */
    int64_t page_limit;          /* ETL_SCAN_PAGE_LIMIT: items per Scan page; 0 = DynamoDB's 1 MB */
    bool ddb_export_format;      /* ETL_SNAPSHOT_FORMAT=ddb-export */
    char spool_dir[512];         /* ETL_SPOOL_DIR: where multipart parts wait (default /tmp) */
    int64_t export_margin_ms; /* ETL_EXPORT_MARGIN_MS: checkpoint this long before the deadline */
};

MUST_CHECK enum err_code
etl_config_load(struct etl_config *cfg, char *const *envp, struct err *err);

/* Parses ETL_OUTPUT: "s3://bucket/prefix/" or "file:///dir/". */
MUST_CHECK enum err_code
etl_output_parse(const char *value, struct etl_output *out, struct err *err);

/* "jsonl" or "csv", plus ".gz" when compressed. */
const char *etl_format_extension(enum etl_format format, enum etl_compression compression);
/* The extension of the configured format and compression. */
const char *etl_config_extension(const struct etl_config *cfg);
/* The Content-Type of objects in that format: application/gzip, text/csv or
 * application/x-ndjson. */
const char *etl_format_content_type(enum etl_format format, enum etl_compression compression);
/* The Content-Type of the configured format and compression. */
const char *etl_config_content_type(const struct etl_config *cfg);

#endif
