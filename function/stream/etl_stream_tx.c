/*
 * etl_stream_tx.c - the transform step of a stream batch. Pass 1 routes, maps and filters each
 * record's row and stages the kept and cast-rejected ones (before PII: rules and dedupe keys see
 * the real values);
 * after the batch, duplicates are dropped (the last change of a key, by stream order, is kept),
 * each staged row is checked against its dataset's rules and emitted, with the PII methods
 * applied, into its dataset's group or its rejected group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_dq_run.h"
#include "etl_stream_batch.h"
#include "jsonw.h"
#include "log.h"

#define DQ_FAIL_COLUMN "\"DataQualityRulesFail\""

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
        r->row_len = (uint32_t)(s->store.len - r->row_offset);
        rc = etl_stream_file(b, rec, s->spec->datasets[b->tx[rec].dataset].name, partition, kind,
                             err);
    }
    return rc;
}

/* The key a dataset dedupes on: its key columns, or the record's table and DynamoDB key. */
static enum err_code
dedupe_key(struct etl_stream *s, struct batch *b, uint32_t rec, const char *table, struct err *err)
{
    const struct rec *r = &b->recs[rec];
    struct rec_tx *t = &b->tx[rec];
    bool has = false;
    uint8_t ds = (uint8_t)t->dataset;
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
            rc = buf_append_cur(&s->text, rec_keys(b, r), err);
        }
    }
    if (rc == ERR_OK) {
        rc = etl_arena_copy(&b->keys, s->text.data, s->text.len, &t->dedupe_key, err);
    }
    return rc;
}

enum err_code etl_stream_tx_record(struct etl_stream *s,
                                   struct batch *b,
                                   uint32_t rec,
                                   const char *table,
                                   struct etl_stream_stats *st,
                                   struct err *err)
{
    struct rec *r = &b->recs[rec];
    struct rec_tx *t = &b->tx[rec];
    struct etl_row_ref src = {&s->src, r->row_offset, {NULL, 0}};
    struct etl_tx_result res;
    enum err_code rc = etl_transform_apply(s->tx, &src, &res, err);
    if (rc != ERR_OK) {
        return rc;
    }
    t->dataset = res.dataset;
    switch (res.outcome) {
    case ETL_TX_UNROUTED:
    case ETL_TX_FILTERED:
        r->durable = true; /* nothing to write, by design */
        st->records_filtered++;
        return ERR_OK;
    case ETL_TX_REJECTED: {
        struct cur fails = etl_transform_failures(s->tx);
        rc = etl_arena_copy(&b->keys, fails.ptr, fails.len, &t->fails, err);
        if (rc != ERR_OK) {
            return rc;
        }
        break;
    }
    case ETL_TX_KEEP:
        break;
    }
    t->staged = true;
    rc = etl_transform_store(s->tx, &s->staged, &t->staged_offset, err);
    if (rc == ERR_OK && s->spec->datasets[t->dataset].dedupe) {
        rc = dedupe_key(s, b, rec, table, err);
    }
    return rc;
}

/* Keeps the last change of each key: earlier ones are dropped as duplicates. */
static enum err_code dedupe(struct batch *b, struct etl_stream_stats *st, struct err *err)
{
    etl_names_reset(&b->seen);
    for (size_t i = b->n_recs; i-- > 0;) {
        struct rec_tx *t = &b->tx[i];
        if (!t->staged || t->dedupe_key.len == 0) {
            continue;
        }
        size_t index = 0;
        bool added = false;
        enum err_code rc = etl_names_add(&b->seen, t->dedupe_key, &index, &added, err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (!added) {
            t->staged = false;
            b->recs[i].durable = true;
            st->records_filtered++;
        }
    }
    return ERR_OK;
}

/* The reference schemas (each dataset's latest snapshot schema.json) are read again after this
 * long, so a new snapshot's schema reaches warm containers. */
#define REF_REFRESH_MS (5 * 60 * 1000)

/* Reads {dataset}/schema.json, written by every snapshot commit, when it is time to. */
static enum err_code
reference(struct etl_stream *s, size_t d, const struct etl_schema **out, struct err *err)
{
    *out = NULL;
    int64_t now = sys_mono_ms(s->sys);
    if (now - s->ref_read_ms >= REF_REFRESH_MS) {
        /* A new period: every dataset's reference is read again, not only the first one's. */
        memset(s->ref_known, 0, s->spec->n_datasets * sizeof(*s->ref_known));
        s->ref_read_ms = now;
    }
    if (s->ref_known[d]) {
        *out = s->ref[d].items > 0 || s->ref[d].n > 0 ? &s->ref[d] : NULL;
        return ERR_OK;
    }
    char key[LIMIT_KEY_BYTES];
    bool found = false;
    snprintf(key, sizeof(key), "%s/schema.json", s->spec->datasets[d].name);
    buf_reset(&s->doc);
    etl_schema_reset(&s->ref[d]);
    enum err_code rc = etl_sink_get(s->sink, key, &s->doc, &found, err);
    if (rc == ERR_OK && found) {
        struct err perr = ERR_INIT;
        if (etl_schema_from_json(&s->ref[d], buf_cur(&s->doc), &perr) != ERR_OK) {
            log_warn("%s: not a schema document (%s); schema drift is not checked", key, perr.msg);
            etl_schema_reset(&s->ref[d]);
            found = false;
        }
    }
    if (rc == ERR_OK) {
        s->ref_known[d] = true;
        *out = found ? &s->ref[d] : NULL;
    }
    return rc;
}

static bool has_anomaly_rules(const struct etl_dq_rules *r)
{
    for (size_t i = 0; r != NULL && i < etl_dq_rule_count(r); i++) {
        if (etl_dq_rule(r, i)->rule->type == ETL_DQDL_DETECT_ANOMALIES) {
            return true;
        }
    }
    return false;
}

/* The first and last records whose rows reach a dataset's rules in this batch (none: no rows,
 * so no evaluation). */
struct ds_span {
    long first;
    long last;
};

/* Evaluates a dataset's rules over the batch: the result document under
 * {dataset}/dq/{partition}/{first}-{last}.json, the anomaly history, one EMF line per rule. */
static enum err_code evaluate(struct etl_stream *s,
                              struct batch *b,
                              size_t d,
                              const struct ds_span *span,
                              struct etl_stream_stats *st,
                              struct err *err)
{
    const struct etl_spec_dataset *ds = &s->spec->datasets[d];
    const struct rec *first = &b->recs[span->first], *last = &b->recs[span->last];
    const struct etl_schema *ref = NULL;
    char key[LIMIT_KEY_BYTES], hkey[LIMIT_KEY_BYTES], partition[ETL_PARTITION_MAX];
    struct buf emf = BUF_INIT(0);
    snprintf(hkey, sizeof(hkey), "%s/dq/history.json", ds->name);
    enum err_code rc = reference(s, d, &ref, err);
    bool anomalies = has_anomaly_rules(ds->dq);
    buf_reset(&s->doc);
    if (rc == ERR_OK && anomalies) {
        bool found = false;
        rc = etl_sink_get(s->sink, hkey, &s->doc, &found, err);
    }
    struct etl_dq_report_meta meta = {NULL, ds->name, s->dq[d].now_ms, sys_wall_ms(s->sys)};
    /* The batch's name in the history ("{partition}/{first}-{last}"): a retried batch is the
     * same evaluation. */
    char id[ETL_DQ_RUN_ID_MAX];
    etl_stream_partition(s, b, first, partition, sizeof(partition));
    char first_seq[ETL_STREAM_SEQ_MAX], last_seq[ETL_STREAM_SEQ_MAX];
    (void)rec_seq(first, first_seq);
    (void)rec_seq(last, last_seq);
    snprintf(key, sizeof(key), "%s/dq/%s/%s-%s.json", ds->name, partition, first_seq, last_seq);
    snprintf(id, sizeof(id), "%s/%s-%s", partition, first_seq, last_seq);
    struct etl_dq_run_eval in = {
        .reference = ref,
        .history = buf_cur(&s->doc),
        .evaluation_id = id,
        .meta = &meta,
        .dataset = ds->name,
        .metrics_namespace = s->cfg->metrics_namespace,
        .service = s->cfg->service,
        .emf_time_ms = meta.completed_ms,
    };
    struct etl_dq_run_summary sum;
    struct buf report = BUF_INIT(0);
    buf_reset(&s->doc2);
    if (rc == ERR_OK) {
        rc = etl_dq_run_evaluate(&s->dq[d], &in, &report, &s->doc2, &emf, &sum, err);
    }
    if (rc == ERR_OK && sum.drift > 0) {
        char note[512];
        (void)etl_dq_run_drift(&s->dq[d].observed, ref, note, sizeof(note));
        log_write(LOG_WARN,
                  (struct log_field[]){LOG_STR("dataset", ds->name),
                                       LOG_INT("drift", (int64_t)sum.drift)},
                  2, "schema drift against the latest snapshot: %s", note);
        st->schema_drift += sum.drift;
    }
    if (rc == ERR_OK && ds->dq != NULL) {
        rc = etl_sink_put(s->sink, key, buf_cur(&report), "application/json", err);
    }
    if (rc == ERR_OK && s->doc2.len > 0) {
        rc = etl_sink_put(s->sink, hkey, buf_cur(&s->doc2), "application/json", err);
    }
    for (size_t i = 0; rc == ERR_OK && i < emf.len;) {
        const uint8_t *nl = memchr(emf.data + i, '\n', emf.len - i);
        size_t n = nl != NULL ? (size_t)(nl - (emf.data + i)) : emf.len - i;
        log_raw_line((const char *)emf.data + i, n);
        i += n + 1;
    }
    if (rc == ERR_OK && ds->dq != NULL) {
        st->dq_rules_passed += sum.passed;
        st->dq_rules_failed += sum.failed;
        if (sum.fail) {
            st->dq_fail = true;
            log_write(LOG_ERROR,
                      (struct log_field[]){LOG_STR("dataset", ds->name), LOG_STR("result", key)}, 2,
                      "a data-quality rule with action fail did not pass: the batch is not "
                      "written and is reported failed");
        }
    }
    buf_cleanup(&report);
    buf_cleanup(&emf);
    return rc;
}

enum err_code etl_stream_tx_finish(struct etl_stream *s,
                                   struct batch *b,
                                   struct etl_stream_stats *st,
                                   struct err *err)
{
    size_t n_ds = s->spec->n_datasets;
    struct ds_span *spans = calloc(n_ds, sizeof(*spans));
    if (spans == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for the batch's datasets");
    }
    int64_t now = sys_wall_ms(s->sys);
    for (size_t d = 0; d < n_ds; d++) {
        etl_dq_run_reset(&s->dq[d], now);
        spans[d].first = spans[d].last = -1;
    }
    enum err_code rc = dedupe(b, st, err);
    for (size_t i = 0; rc == ERR_OK && i < b->n_recs; i++) {
        struct rec *r = &b->recs[i];
        const struct rec_tx *t = &b->tx[i];
        if (t->staged) { /* the rows that reach the rules, after dedupe */
            struct ds_span *sp = &spans[t->dataset];
            sp->first = sp->first < 0 ? (long)i : sp->first;
            sp->last = (long)i;
        }
        if (!t->staged) {
            continue;
        }
        struct etl_row_ref row = {&s->staged, t->staged_offset, {NULL, 0}};
        struct etl_dq_run *dq = &s->dq[t->dataset];
        char partition[ETL_PARTITION_MAX];
        bool quarantine = false;
        etl_stream_partition(s, b, r, partition, sizeof(partition));
        rc = etl_transform_load(s->tx, t->dataset, &row, err);
        if (rc == ERR_OK) {
            rc = etl_dq_run_row(dq, etl_transform_env(s->tx), t->fails, &quarantine, &s->text, err);
        }
        if (rc == ERR_OK && quarantine) {
            struct etl_col extra = {ETL_T_L, 0, cur_from_str(DQ_FAIL_COLUMN), buf_cur(&s->text)};
            rc = emit(s, b, (uint32_t)i, &extra, partition, G_REJECTED, err);
        } else if (rc == ERR_OK) {
            rc = emit(s, b, (uint32_t)i, NULL, partition, G_DATA, err);
            struct etl_row_ref out = {&s->store, r->row_offset, {NULL, 0}};
            if (rc == ERR_OK) {
                rc = etl_dq_run_observe(dq, &out, err);
            }
        }
    }
    for (size_t d = 0; rc == ERR_OK && d < n_ds; d++) {
        if (spans[d].first >= 0) {
            rc = evaluate(s, b, d, &spans[d], st, err);
        }
    }
    free(spans);
    return rc;
}
