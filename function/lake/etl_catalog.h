/*
 * etl_catalog.h - the Glue Data Catalog kept current, so no crawler and no hand-run DDL: the
 * database (ETL_CATALOG_DATABASE) is created if missing, and each table the DDL describes
 * ({table}_changes, {table}_snapshot, per routed dataset) is created or brought up to date from
 * the same model (etl_ddl_table): columns, SerDe, location, partition projection.
 * Updates are read-modify-write: GetTable, merge, UpdateTable with the VersionId read; on
 * ConcurrentModificationException the table is read again and merged again, so concurrent shards
 * never lose each other's columns. Columns are never dropped. Schema change policy
 * (ETL_CATALOG_SCHEMA_CHANGE): update adds columns and widens a changed type (integers to
 * decimal, decimal scales up; anything else to string), logging each change once; log never calls
 * UpdateTable, and logs and counts each drifting column once per container.
 * Partitions are registered with BatchCreatePartition (already there = done) at most once per
 * value per container, for engines that ignore partition projection.
 * Ownership: an etl_catalog borrows its config and aws_client and owns its caches
 *   (etl_catalog_cleanup). Models are borrowed for the call.
 * Errors: Glue's, with the table named. Nothing is cached from a failed call, so a retry does
 *   the work again.
 * Threads: one owner at a time (the invocation's thread).
 */
#ifndef ETL_CATALOG_H
#define ETL_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "err.h"
#include "etl_ddl.h"
#include "etl_names.h"

#define ETL_CATALOG_MAX_CONFLICTS 8 /* re-read and merge at most this often per update */

enum etl_catalog_policy { ETL_CATALOG_UPDATE, ETL_CATALOG_LOG };

struct etl_catalog_config {
    char database[256]; /* ETL_CATALOG_DATABASE; "" = no catalog */
    enum etl_catalog_policy policy;
};

struct etl_catalog_stats {
    uint64_t tables_created;
    uint64_t tables_updated;
    uint64_t conflicts;  /* ConcurrentModificationException answers, each re-merged */
    uint64_t drift;      /* columns or types the catalog lacks, left as they are (log) */
    uint64_t widened;    /* column types changed (update) */
    uint64_t partitions; /* partition values sent to BatchCreatePartition */
    uint64_t failures;   /* calls of etl_catalog_sync_table or _add_partitions that failed */
};

/* Strings and what they map to, kept for the container's life. */
struct etl_catalog_set {
    struct etl_names idx;
    char **keys;
    char **values;
    size_t n, cap;
};

struct etl_catalog {
    const struct etl_catalog_config *cfg;
    struct aws_client *aws; /* borrowed */
    bool database_ready;
    struct etl_catalog_set columns;    /* "table\tcolumn" -> the catalog's type */
    struct etl_catalog_set partitions; /* "table\tpath" registered */
    struct etl_catalog_set logged;     /* "table\tcolumn" whose change was logged */
    struct etl_catalog_stats stats;    /* since init; callers take differences */
};

/* A catalog that is off (cfg NULL, no database, or aws NULL) does nothing and returns ERR_OK. */
void etl_catalog_init(struct etl_catalog *c,
                      const struct etl_catalog_config *cfg,
                      struct aws_client *aws);
void etl_catalog_cleanup(struct etl_catalog *c);
bool etl_catalog_enabled(const struct etl_catalog *c);

/*
 * Makes the catalog's table hold t's columns: created if missing; otherwise, when t brings a
 * column or a type the catalog lacks (or always, with refresh: the snapshot commit re-applies
 * the whole definition), read, merged and updated. Without refresh, columns already known to
 * be in the catalog cost no call.
 */
MUST_CHECK enum err_code etl_catalog_sync_table(struct etl_catalog *c,
                                                const struct etl_ddl_table *t,
                                                bool refresh,
                                                struct err *err);

/* Registers the partitions at these paths ("dt=2026-01-02/hour=05") of table t; those already
 * registered from this container are skipped. */
MUST_CHECK enum err_code etl_catalog_add_partitions(struct etl_catalog *c,
                                                    const struct etl_ddl_table *t,
                                                    const char *const *paths,
                                                    size_t n,
                                                    struct err *err);

/* t's TableInput (as CreateTable and UpdateTable take it) with these columns. */
MUST_CHECK enum err_code etl_catalog_table_input(const struct etl_ddl_table *t,
                                                 const struct etl_ddl_col *cols,
                                                 size_t n_cols,
                                                 struct buf *out,
                                                 struct err *err);

/* The type a column of type have gets when rows of type incoming arrive: have when it holds
 * them, a wider number, or string. */
void etl_catalog_merge_type(const char *have, const char *incoming, char *out, size_t cap);

#endif
