/*
 * etl_fmt_jsonl.c - JSON Lines: one object per row, names and values copied as the row holds
 * them (so numbers keep their digits and strings their bytes), '\n' after each.
 */
#include "etl_format.h"

static enum err_code jsonl_begin(void *state,
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
jsonl_row(void *state, const struct etl_row_ref *row, struct etl_encode_out *out, struct err *err)
{
    (void)state;
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t n = 0;
    struct buf *t = out->text;
    etl_row_iter_init(&it, row->store, row->offset);
    if (!etl_row_next(&it, &n)) {
        return err_set(err, ERR_INVALID_INPUT, "row store: no row at %zu", row->offset);
    }
    enum err_code rc = buf_append_byte(t, '{', err);
    for (uint32_t i = 0; rc == ERR_OK && etl_row_col(&it, &col); i++) {
        if (i > 0) {
            rc = buf_append_byte(t, ',', err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_cur(t, col.name, err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(t, ':', err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_cur(t, col.value, err);
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(t, "}\n", err);
    }
    return rc == ERR_OK ? etl_encode_out_flush(out, err) : rc;
}

static enum err_code jsonl_end(void *state, struct etl_encode_out *out, struct err *err)
{
    (void)state;
    (void)out;
    (void)err;
    return ERR_OK;
}

static void jsonl_cleanup(void *state)
{
    (void)state;
}

const struct etl_format etl_fmt_jsonl = {
    .name = "jsonl",
    .extension = "jsonl",
    .content_type = "application/x-ndjson",
    .manifest_name = "jsonl",
    .stream_format = true,
    .serde = &etl_serde_openx_json,
    .begin = jsonl_begin,
    .row = jsonl_row,
    .end = jsonl_end,
    .cleanup = jsonl_cleanup,
};
