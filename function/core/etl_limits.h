/*
 * etl_limits.h - the function's size limits, named once. (Moves into runtime/limits.h, beside the
 * runtime's, when that lands.)
 */
#ifndef ETL_LIMITS_H
#define ETL_LIMITS_H

#include "s3.h"

/* An object key relative to the output prefix, with its NUL: S3 keys are at most 1,024 bytes. */
#define ETL_KEY_MAX (S3_MAX_KEY_BYTES + 1)
/* A human-readable location: the root ("s3://bucket/prefix/" or the directory) plus a key. */
#define ETL_LOCATION_MAX (ETL_KEY_MAX + 1600)
/* DynamoDB table names are 3 to 255 characters. */
#define ETL_TABLE_NAME_MAX 256
/* "{table}/snapshots/run={run_id}/" */
#define ETL_RUN_DIR_MAX 640
/* Buffers kept between invocations: kept warm up to this, freed beyond. */
#define ETL_KEEP_WARM_BYTES (8 * 1024 * 1024)
/* Documents read back: a run.json, a _SUCCESS. */
#define ETL_SMALL_DOC_MAX (1024 * 1024)
/* A checkpoint (its schema grows with the table's attribute names). */
#define ETL_CHECKPOINT_DOC_MAX (64 * 1024 * 1024)
/* A LastEvaluatedKey (a DynamoDB key: at most 2 KB of hash and 1 KB of range value, as JSON). */
#define ETL_LEK_MAX (64 * 1024)

#endif
