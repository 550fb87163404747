/*
 * etl_config.h - the function's configuration, read once from the environment block at init and
 * validated; a bad value is ERR_CONFIG naming the variable and what it accepts. It fills each
 * stage's own settings (the lake's location and put options, the stream's, the snapshots').
 * Ownership: plain values; the stages' settings point into the config (never copy it).
 */
#ifndef ETL_CONFIG_H
#define ETL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "etl_catalog.h"
#include "etl_partition.h"
#include "etl_sink.h"
#include "etl_snapshot.h"
#include "etl_stream.h"
#include "s3.h"

#define ETL_DEFAULT_MAX_OBJECT_RECORDS 100000
#define ETL_DEFAULT_MAX_OBJECT_BYTES   (64 * 1024 * 1024)
#define ETL_DEFAULT_DEADLINE_MARGIN_MS 1000
/* A batch's objects written at once: S3's PutObject latency (tens of ms) dominates a warm
 * invocation, and 8 connections cover the usual 2 tables x a few hours in one round trip. */
#define ETL_DEFAULT_UPLOAD_CONCURRENCY 8
#define ETL_MAX_UPLOAD_CONCURRENCY     64
#define ETL_DEFAULT_NAMESPACE          "DdbS3Etl"
#define ETL_DEFAULT_SEGMENTS           4
/* Items per Scan page: pages of a size independent of the table keep memory flat. */
#define ETL_DEFAULT_PAGE_LIMIT          500
#define ETL_DEFAULT_EXPORT_OBJECT_BYTES ((int64_t)128 * 1024 * 1024)
#define ETL_DEFAULT_EXPORT_MARGIN_MS    10000
/* Values a Parquet row group buffers before it is written: with the object's rows, the writer's
 * memory (README, "Parquet"). 64 KiB to 1 GiB. */
#define ETL_DEFAULT_PARQUET_ROW_GROUP_BYTES ((int64_t)32 * 1024 * 1024)
#define ETL_MIN_PARQUET_ROW_GROUP_BYTES     ((int64_t)64 * 1024)
#define ETL_MAX_PARQUET_ROW_GROUP_BYTES     ((int64_t)1024 * 1024 * 1024)

struct etl_config {
    struct etl_location out; /* ETL_OUTPUT */
    struct etl_encoding enc; /* ETL_FORMAT, ETL_COMPRESSION, ETL_GZIP_LEVEL, ETL_PARQUET_* */
    struct etl_partition partition;
    struct s3_put_options put; /* points into the strings below */
    char sse[16];
    char kms_key_id[256];
    char storage_class[32];
    struct etl_stream_config stream;
    struct etl_snapshot_config snapshot;
    struct etl_catalog_config catalog; /* ETL_CATALOG_DATABASE, ETL_CATALOG_SCHEMA_CHANGE */
    const char *transform; /* ETL_TRANSFORM as given (borrowed from the environment); NULL: none */
    char metrics_namespace[256];
    char service_name[128];
};

MUST_CHECK enum err_code
etl_config_load(struct etl_config *cfg, char *const *envp, struct err *err);

#endif
