/*
 * etl_stream_tx.c - the transform step of a stream batch. Pass 1 routes, maps and filters each
 * record's row and stages the kept ones (before PII: rules and dedupe keys see the real values);
 * after the batch, duplicates are dropped (the last change of a key, by stream order, is kept),
 * each staged row is checked against its dataset's rules and emitted, with the PII methods
 * applied, into its dataset's group or its rejected group.
 */
#include <stdio.h>
#include <string.h>

#include "etl_stream_batch.h"
#include "jsonw.h"
#include "log.h"

#define DQ_FAIL_COLUMN "\"DataQualityRulesFail\""

/* The column rejected rows carry: the names of what they broke, as Glue's row-level outcome. */
static enum err_code fail_column(struct buf *text,
                                 const char *const *reasons,
                                 size_t n,
                                 struct etl_col *out,
                                 struct err *err)
{
    struct jsonw w;
    buf_reset(text);
    jsonw_init(&w, text, err);
    jsonw_array(&w, JSONW_COMPACT);
    for (size_t i = 0; i < n; i++) {
        jsonw_str(&w, reasons[i]);
    }
    jsonw_end(&w);
    *out = (struct etl_col){ETL_T_L, 0, cur_from_str(DQ_FAIL_COLUMN), buf_cur(text)};
    return jsonw_finish(&w);
}

/* Emits the working row into the store, filed under (dataset, partition, kind). */
static enum err_code emit(struct etl_stream *s,
                          struct batch *b,
                          uint32_t rec,
                          const struct etl_col *extra,
                          const char *partition,
                          enum group_kind kind,
                          struct err *err)
{
    struct rec *r = &b->recs[rec];
    enum err_code rc = etl_transform_emit(s->tx, extra, &s->store, &r->row_offset, err);
    if (rc == ERR_OK) {
        r->row_len = s->store.len - r->row_offset;
        rc = etl_stream_file(b, rec, s->spec->datasets[r->dataset].name, partition, kind, err);
    }
    return rc;
}

/* The key a dataset dedupes on: its key columns, or the record's table and DynamoDB key. */
static enum err_code
dedupe_key(struct etl_stream *s, struct batch *b, struct rec *r, const char *table, struct err *err)
{
    bool has = false;
    uint8_t ds = (uint8_t)r->dataset;
    buf_reset(&s->text);
    enum err_code rc = buf_append_byte(&s->text, ds, err);
    if (rc == ERR_OK) {
        rc = etl_transform_dedupe_key(s->tx, &s->text, &has, err);
    }
    if (rc == ERR_OK && !has) {
        rc = buf_append_str(&s->text, table, err);
        if (rc == ERR_OK) {
            rc = buf_append_byte(&s->text, 0x1f, err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_cur(&s->text, r->keys, err);
        }
    }
    if (rc == ERR_OK) {
        rc = etl_arena_copy(&b->keys, s->text.data, s->text.len, &r->dedupe_key, err);
    }
    return rc;
}

enum err_code etl_stream_tx_record(struct etl_stream *s,
                                   struct batch *b,
                                   uint32_t rec,
                                   const char *table,
                                   const char *partition,
                                   struct etl_stream_stats *st,
                                   struct err *err)
{
    struct rec *r = &b->recs[rec];
    struct etl_row_ref src = {&s->src, r->row_offset, {NULL, 0}};
    struct etl_tx_result res;
    enum err_code rc = etl_transform_apply(s->tx, &src, &res, err);
    if (rc != ERR_OK) {
        return rc;
    }
    r->dataset = res.dataset;
    switch (res.outcome) {
    case ETL_TX_UNROUTED:
    case ETL_TX_FILTERED:
        r->durable = true; /* nothing to write, by design */
        st->records_filtered++;
        return ERR_OK;
    case ETL_TX_REJECTED: {
        struct etl_col extra;
        const char *reasons[] = {res.reason};
        rc = fail_column(&s->text, reasons, 1, &extra, err);
        return rc == ERR_OK ? emit(s, b, rec, &extra, partition, G_REJECTED, err) : rc;
    }
    case ETL_TX_KEEP:
        break;
    }
    r->staged = true;
    rc = etl_transform_store(s->tx, &s->staged, &r->staged_offset, err);
    if (rc == ERR_OK && s->spec->datasets[r->dataset].dedupe) {
        rc = dedupe_key(s, b, r, table, err);
    }
    return rc;
}

/* Keeps the last change of each key: earlier ones are dropped as duplicates. */
static enum err_code dedupe(struct batch *b, struct etl_stream_stats *st, struct err *err)
{
    etl_names_reset(&b->seen);
    for (size_t i = b->n_recs; i-- > 0;) {
        struct rec *r = &b->recs[i];
        if (!r->staged || r->dedupe_key.len == 0) {
            continue;
        }
        size_t index = 0;
        bool added = false;
        enum err_code rc = etl_names_add(&b->seen, r->dedupe_key, &index, &added, err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (!added) {
            r->staged = false;
            r->durable = true;
            st->records_filtered++;
        }
    }
    return ERR_OK;
}

enum err_code etl_stream_tx_finish(struct etl_stream *s,
                                   struct batch *b,
                                   struct etl_stream_stats *st,
                                   struct err *err)
{
    enum err_code rc = dedupe(b, st, err);
    for (size_t i = 0; rc == ERR_OK && i < b->n_recs; i++) {
        struct rec *r = &b->recs[i];
        if (!r->staged) {
            continue;
        }
        struct etl_row_ref row = {&s->staged, r->staged_offset, {NULL, 0}};
        char partition[ETL_PARTITION_MAX];
        etl_stream_partition(s, b, r, partition, sizeof(partition));
        rc = etl_transform_load(s->tx, r->dataset, &row, err);
        if (rc == ERR_OK) {
            rc = emit(s, b, (uint32_t)i, NULL, partition, G_DATA, err);
        }
    }
    return rc;
}
