/*
 * etl_ddl.h - Athena DDL and views for the lake, so no crawler and no MSCK REPAIR is needed:
 *   snapshot table: the JSON SerDe over {table}/snapshots/, partition `run` (injected projection);
 *   changes table: over {table}/changes/ with partition projection built from ETL_PARTITION;
 *   current view: the latest snapshot merged with later changes by key (latest _seq wins,
 *   deletes dropped);
 *   export table: the native DynamoDB-export shape (Item struct) for
 * ETL_SNAPSHOT_FORMAT=ddb-export. Column types come from the snapshot's schema
 * (etl_schema_athena_type), the metadata columns' from etl_record.h; the row format is the
 * format's SerDe (etl_format.h); names Athena cannot take are lowercased/sanitised and mapped back
 * with the SerDe's mapping.* properties. A format without a SerDe gets its note instead.
 * Ownership: output is appended to the caller's buf; inputs are borrowed.
 */
#ifndef ETL_DDL_H
#define ETL_DDL_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_format.h"
#include "etl_partition.h"
#include "etl_schema.h"

/* A column whose type is declared (a transform's mapping or cast), not inferred. */
struct etl_ddl_declared {
    const char *name;        /* the column (attribute) name */
    const char *athena_type; /* "decimal(12,2)", "timestamp", "array<string>" */
};

struct etl_ddl_ctx {
    const struct etl_format *format;       /* of the data files: its SerDe */
    const struct etl_partition *partition; /* of the change objects */
    const char *table;                     /* DynamoDB table name, or a transform's dataset */
    const char *location_root;             /* "s3://bucket/prefix/" or "file:///dir/" */
    const char *hash_key;
    const char *range_key;                   /* "" when none */
    const struct etl_ddl_declared *declared; /* types that win over the schema's; may be NULL */
    size_t n_declared;
    unsigned meta_omit; /* metadata columns the rows do not have: bit 1 << ETL_META_* */
};

/* Lowercases and replaces what Athena does not take in a name with '_'. */
void etl_ddl_name(const char *in, char *out, size_t cap);

MUST_CHECK enum err_code etl_ddl_snapshot(struct buf *out,
                                          const struct etl_ddl_ctx *ctx,
                                          const struct etl_schema *schema,
                                          struct err *err);
MUST_CHECK enum err_code etl_ddl_changes(struct buf *out,
                                         const struct etl_ddl_ctx *ctx,
                                         const struct etl_schema *schema,
                                         struct err *err);
MUST_CHECK enum err_code etl_ddl_current_view(struct buf *out,
                                              const struct etl_ddl_ctx *ctx,
                                              const struct etl_schema *schema,
                                              const char *run_id,
                                              int64_t run_ms,
                                              struct err *err);
/* The table over a DynamoDB-export-format snapshot's data/ folder (data_location ends in '/'). */
MUST_CHECK enum err_code etl_ddl_export_table(struct buf *out,
                                              const struct etl_ddl_ctx *ctx,
                                              const struct etl_schema *schema,
                                              const char *data_location,
                                              struct err *err);

#endif
