/*
 * etl_layout.c - the two snapshot layouts.
 */
#include "etl_layout.h"

#include <stdio.h>
#include <string.h>

void etl_layout_export_dir(const char *run_dir, const char *export_id, char *out, size_t cap)
{
    snprintf(out, cap, "%sAWSDynamoDB/%s/", run_dir, export_id);
}

static void rows_file_key(const char *run_dir,
                          const char *export_id,
                          int segment,
                          uint32_t n,
                          const char *attempt,
                          const char *ext,
                          char *out,
                          size_t cap)
{
    (void)export_id;
    snprintf(out, cap, "%spart-%05d-%05u-%s.%s", run_dir, segment, n, attempt, ext);
}

static bool rows_is_data_key(const char *rest)
{
    return strncmp(rest, "part-", 5) == 0;
}

static enum err_code rows_table_ddl(struct buf *out,
                                    const struct etl_ddl_ctx *ctx,
                                    const struct etl_schema *schema,
                                    const char *run_dir,
                                    const char *export_id,
                                    struct err *err)
{
    (void)run_dir;
    (void)export_id;
    return etl_ddl_snapshot(out, ctx, schema, err);
}

static void export_file_key(const char *run_dir,
                            const char *export_id,
                            int segment,
                            uint32_t n,
                            const char *attempt,
                            const char *ext,
                            char *out,
                            size_t cap)
{
    snprintf(out, cap, "%sAWSDynamoDB/%s/data/%05d-%05u-%s.%s", run_dir, export_id, segment, n,
             attempt, ext);
}

static bool export_is_data_key(const char *rest)
{
    return strstr(rest, "/data/") != NULL;
}

static enum err_code export_table_ddl(struct buf *out,
                                      const struct etl_ddl_ctx *ctx,
                                      const struct etl_schema *schema,
                                      const char *run_dir,
                                      const char *export_id,
                                      struct err *err)
{
    char data_loc[2600];
    snprintf(data_loc, sizeof(data_loc), "%s%sAWSDynamoDB/%s/data/", ctx->location_root, run_dir,
             export_id);
    return etl_ddl_export_table(out, ctx, schema, data_loc, err);
}

const struct etl_snapshot_layout etl_layout_rows = {
    .name = "rows",
    .format = NULL,
    .force_multipart = false,
    .current_view = true,
    .dynamodb_manifests = false,
    .file_key = rows_file_key,
    .is_data_key = rows_is_data_key,
    .table_ddl = rows_table_ddl,
};

const struct etl_snapshot_layout etl_layout_ddb_export = {
    .name = "ddb-export",
    .format = &etl_fmt_ddb_export,
    .force_multipart = true,
    .current_view = false,
    .dynamodb_manifests = true,
    .file_key = export_file_key,
    .is_data_key = export_is_data_key,
    .table_ddl = export_table_ddl,
};

const char *const etl_layout_names[] = {"rows", "ddb-export", NULL};

const struct etl_snapshot_layout *etl_layout_find(const char *name)
{
    if (strcmp(name, etl_layout_rows.name) == 0) {
        return &etl_layout_rows;
    }
    if (strcmp(name, etl_layout_ddb_export.name) == 0) {
        return &etl_layout_ddb_export;
    }
    return NULL;
}
