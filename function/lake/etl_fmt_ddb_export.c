/*
 * etl_fmt_ddb_export.c - DynamoDB's own export format (DYNAMODB_JSON): one {"Item": {...}} per
 * line, the item exactly as DynamoDB returned it (typed, its bytes untouched). Snapshots only:
 * the stream has no such format.
 */
#include "etl_format.h"

static enum err_code export_begin(void *state,
                                  const struct etl_schema *schema,
                                  const struct etl_format_options *opts,
                                  struct err *err)
{
    (void)state;
    (void)schema;
    (void)opts;
    (void)err;
    return ERR_OK;
}

static enum err_code
export_row(void *state, const struct etl_row_ref *row, struct etl_encode_out *out, struct err *err)
{
    (void)state;
    if (row->source.len == 0) {
        return err_set(err, ERR_INVALID_INPUT, "ddb-export: the row has no source item");
    }
    enum err_code rc = buf_append_str(out->text, "{\"Item\":", err);
    if (rc == ERR_OK) {
        rc = buf_append_cur(out->text, row->source, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out->text, "}\n", err);
    }
    return rc == ERR_OK ? etl_encode_out_flush(out, err) : rc;
}

static enum err_code export_end(void *state, struct etl_encode_out *out, struct err *err)
{
    (void)state;
    (void)out;
    (void)err;
    return ERR_OK;
}

static void export_cleanup(void *state)
{
    (void)state;
}

const struct etl_format etl_fmt_ddb_export = {
    .name = "ddb-export",
    .extension = "json",
    .content_type = "application/x-ndjson",
    .manifest_name = "dynamodb_json",
    .stream_format = false,
    .needs_source = true,
    .serde = &etl_serde_openx_json,
    .begin = export_begin,
    .row = export_row,
    .end = export_end,
    .cleanup = export_cleanup,
};
