/*
 * etl_record.h - the one record builder: an item (DynamoDB JSON) plus its metadata becomes a
 * row. The metadata columns are declared here, once, with their types: the stream, snapshots,
 * the DDL and the schema all read this table.
 *   _op         INSERT, MODIFY, REMOVE (stream) or SNAPSHOT
 *   _seq        the stream record's SequenceNumber (null in snapshots)
 *   _ts         the change time (stream) or the run time (snapshot), ISO-8601 UTC millis
 *   _table      the DynamoDB table
 *   _event_id   the stream record's eventID (null in snapshots)
 *   _ttl_delete REMOVE rows only: true when DynamoDB's TTL deleted the item
 * An item attribute named like a metadata column is written as "_item<name>".
 * Ownership: inputs are borrowed; the row is appended to the caller's store.
 * Errors: a conversion error names the attribute (etl_ddbjson.h); the store is then unchanged.
 */
#ifndef ETL_RECORD_H
#define ETL_RECORD_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"
#include "etl_row.h"
#include "json.h"

enum etl_meta_id {
    ETL_META_OP = 0,
    ETL_META_SEQ,
    ETL_META_TS,
    ETL_META_TABLE,
    ETL_META_EVENT_ID,
    ETL_META_TTL_DELETE,
    ETL_META_COUNT
};

struct etl_meta_col {
    const char *name;        /* "_op" */
    const char *name_json;   /* "\"_op\"" */
    enum etl_type type;      /* the type of a present value */
    const char *athena_type; /* the column's type in the generated DDL */
};

/* In row order. */
extern const struct etl_meta_col etl_meta_cols[ETL_META_COUNT];
/* The same names, NULL-terminated (for etl_ddbjson_item_columns' renaming). */
extern const char *const etl_meta_names[ETL_META_COUNT + 1];

/* True if name (unescaped) is a metadata column's. */
bool etl_meta_is_name(struct cur name);
/* True if an attribute of this name (unescaped) is written "_item<name>" (etl_ddbjson.h). */
bool etl_meta_escaped(struct cur name);

struct etl_record_meta {
    const char *op;
    const char *seq;     /* NULL: null */
    const char *ts;      /* ISO-8601 text; NULL: null */
    const char *table;   /* never NULL */
    struct cur event_id; /* the eventID's JSON string literal; len 0: null */
    bool has_ttl_delete; /* REMOVE rows carry _ttl_delete */
    bool ttl_delete;
};

/*
 * Appends the row of item (the attributes; key attributes of `keys`, which may be NULL, that the
 * item lacks come first) followed by the metadata columns. *row_offset gets where it starts.
 */
MUST_CHECK enum err_code etl_record_build(struct buf *store,
                                          const struct json_val *item,
                                          const struct json_val *keys,
                                          const struct etl_record_meta *meta,
                                          size_t *row_offset,
                                          struct err *err);

/* etl_record_build in steps, for a caller that converts the item as its walk reaches it:
 * etl_record_begin opens the row (*row_offset as above); the caller appends the item's columns
 * (etl_ddbjson_item_columns_at); etl_record_finish appends the metadata columns and closes the
 * row, or drops it on an error; etl_row_abandon drops it instead. */
MUST_CHECK enum err_code etl_record_begin(struct etl_row_builder *rb,
                                          struct buf *store,
                                          size_t *row_offset,
                                          struct err *err);
MUST_CHECK enum err_code
etl_record_finish(struct etl_row_builder *rb, const struct etl_record_meta *meta, struct err *err);

#endif
