/*
 * etl_record.c - rows from items. Metadata values are plain text we made (table names, sequence
 * numbers, ISO times) or JSON literals that arrived validated (eventID), so no value here needs
 * more than quoting.
 */
#include "etl_record.h"

#include <string.h>

#include "etl_ddbjson.h"

const struct etl_meta_col etl_meta_cols[ETL_META_COUNT] = {
    [ETL_META_OP] = {"_op", "\"_op\"", ETL_T_S, "string"},
    [ETL_META_SEQ] = {"_seq", "\"_seq\"", ETL_T_S, "string"},
    [ETL_META_TS] = {"_ts", "\"_ts\"", ETL_T_TIMESTAMP, "string"},
    [ETL_META_TABLE] = {"_table", "\"_table\"", ETL_T_S, "string"},
    [ETL_META_EVENT_ID] = {"_event_id", "\"_event_id\"", ETL_T_S, "string"},
    [ETL_META_TTL_DELETE] = {"_ttl_delete", "\"_ttl_delete\"", ETL_T_BOOL, "boolean"},
};

const char *const etl_meta_names[ETL_META_COUNT + 1] = {
    "_op", "_seq", "_ts", "_table", "_event_id", "_ttl_delete", NULL,
};

bool etl_meta_escaped(struct cur name)
{
    return etl_ddbjson_escaped(name, etl_meta_names);
}

bool etl_meta_is_name(struct cur name)
{
    for (int m = 0; m < ETL_META_COUNT; m++) {
        if (cur_eq_str(name, etl_meta_cols[m].name)) {
            return true;
        }
    }
    return false;
}

static enum err_code
meta_str(struct etl_row_builder *rb, enum etl_meta_id id, const char *s, struct err *err)
{
    const struct etl_meta_col *m = &etl_meta_cols[id];
    if (s == NULL) {
        return etl_row_add(rb, ETL_T_NULL, ETL_COL_META, cur_from_str(m->name_json),
                           cur_from_str("null"), err);
    }
    return etl_row_add_str(rb, m->type, ETL_COL_META, cur_from_str(m->name_json), s, strlen(s),
                           err);
}

enum err_code
etl_record_begin(struct etl_row_builder *rb, struct buf *store, size_t *row_offset, struct err *err)
{
    *row_offset = store->len;
    return etl_row_begin(rb, store, err);
}

enum err_code
etl_record_finish(struct etl_row_builder *rb, const struct etl_record_meta *meta, struct err *err)
{
    enum err_code rc = meta_str(rb, ETL_META_OP, meta->op, err);
    if (rc == ERR_OK) {
        rc = meta_str(rb, ETL_META_SEQ, meta->seq, err);
    }
    if (rc == ERR_OK) {
        rc = meta_str(rb, ETL_META_TS, meta->ts, err);
    }
    if (rc == ERR_OK) {
        rc = meta_str(rb, ETL_META_TABLE, meta->table, err);
    }
    if (rc == ERR_OK) {
        const struct etl_meta_col *m = &etl_meta_cols[ETL_META_EVENT_ID];
        bool present = meta->event_id.len > 0;
        rc = etl_row_add(rb, present ? m->type : ETL_T_NULL, ETL_COL_META,
                         cur_from_str(m->name_json),
                         present ? meta->event_id : cur_from_str("null"), err);
    }
    if (rc == ERR_OK && meta->has_ttl_delete) {
        const struct etl_meta_col *m = &etl_meta_cols[ETL_META_TTL_DELETE];
        rc = etl_row_add(rb, m->type, ETL_COL_META, cur_from_str(m->name_json),
                         cur_from_str(meta->ttl_delete ? "true" : "false"), err);
    }
    if (rc != ERR_OK) {
        etl_row_abandon(rb);
        return rc;
    }
    etl_row_end(rb);
    return ERR_OK;
}

enum err_code etl_record_build(struct buf *store,
                               const struct json_val *item,
                               const struct json_val *keys,
                               const struct etl_record_meta *meta,
                               size_t *row_offset,
                               struct err *err)
{
    struct etl_row_builder rb;
    enum err_code rc = etl_record_begin(&rb, store, row_offset, err);
    if (rc != ERR_OK) {
        return rc;
    }
    rc = etl_ddbjson_item_columns(&rb, item, keys, etl_meta_names, err);
    if (rc != ERR_OK) {
        etl_row_abandon(&rb);
        return rc;
    }
    return etl_record_finish(&rb, meta, err);
}
