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
 * The snapshot and changes tables are first built as a model (struct etl_ddl_table: columns,
 * partition keys, SerDe and its properties, location, table properties), which both the DDL text
 * and the Glue Data Catalog's TableInput (etl_catalog.h) are rendered from.
 * Ownership: output is appended to the caller's buf; inputs are borrowed; a model owns its
 *   columns and properties (etl_ddl_table_cleanup).
 */
#ifndef ETL_DDL_H
#define ETL_DDL_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_format.h"
#include "etl_partition.h"
#include "etl_schema.h"

/* Declared types collected from a transform's dataset (etl_spec_declared calls
 * etl_ddl_declared_add with each); names and types are copied. */
struct etl_ddl_declared_list {
    struct etl_ddl_declared *v;
    size_t n, cap;
    bool failed; /* out of memory: the list is incomplete */
};

void etl_ddl_declared_add(void *list, const char *name, const char *athena_type);
void etl_ddl_declared_list_cleanup(struct etl_ddl_declared_list *l);

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

#define ETL_DDL_NAME_MAX      256
#define ETL_DDL_TYPE_MAX      160
#define ETL_DDL_MAX_PART_COLS 16 /* partition columns taken from ETL_PARTITION */

struct etl_ddl_col {
    char name[ETL_DDL_NAME_MAX]; /* the Athena/Glue column name */
    char type[ETL_DDL_TYPE_MAX]; /* "bigint", "decimal(12,2)", "string" */
    bool untyped;                /* inferred from NULLs only: "string" is no evidence */
};

/* A partition column: its name, and how its value appears in an object's key. */
struct etl_ddl_part {
    char name[64];
    char key[ETL_PARTITION_MAX]; /* the segment's "dt=" as written; "" for an unnamed segment */
    char fmt[ETL_PARTITION_MAX]; /* the segment's value template, e.g. "%Y-%m-%d" */
};

struct etl_ddl_prop {
    char *key;
    char *value;
};

/* One table as the DDL declares it. */
struct etl_ddl_table {
    char name[ETL_DDL_NAME_MAX];   /* "orders_changes" */
    char *location;                /* "s3://bucket/prefix/orders/changes/" */
    const struct etl_serde *serde; /* the data files' */
    struct etl_ddl_col *cols;      /* the rows' columns, then the metadata columns */
    size_t n_cols;
    struct etl_ddl_part parts[ETL_DDL_MAX_PART_COLS];
    size_t n_parts;
    struct etl_ddl_prop *serde_props; /* fixed SERDEPROPERTIES, then mapping.<column> */
    size_t n_serde_props, cap_serde_props;
    struct etl_ddl_prop *props; /* TBLPROPERTIES: partition projection, in order */
    size_t n_props, cap_props;
};

void etl_ddl_table_cleanup(struct etl_ddl_table *t);

/* The models of {table}_snapshot and {table}_changes (ctx->format must have a SerDe). */
MUST_CHECK enum err_code etl_ddl_snapshot_table(const struct etl_ddl_ctx *ctx,
                                                const struct etl_schema *schema,
                                                struct etl_ddl_table *out,
                                                struct err *err);
MUST_CHECK enum err_code etl_ddl_changes_table(const struct etl_ddl_ctx *ctx,
                                               const struct etl_schema *schema,
                                               struct etl_ddl_table *out,
                                               struct err *err);

/* Splits a partition path as the table's parts render it ("dt=2024-01-02/hr=05") into one value
 * per partition column ("2024-01-02", "05"); false if it does not have that shape. */
bool etl_ddl_partition_values(const struct etl_ddl_table *t,
                              const char *path,
                              char (*values)[ETL_PARTITION_MAX],
                              size_t cap);

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
