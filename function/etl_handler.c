/*
 * etl_handler.c - event dispatch and per-invocation bookkeeping (deadline, metrics).
 */
#include "etl_handler.h"

#include <string.h>

#include "etl_event.h"
#include "etl_metrics.h"
#include "limit.h"
#include "log.h"

/* Time kept back from the AWS clients so the answer can still be posted. */
#define HANDLER_REPLY_RESERVE_MS 500

void etl_handler_init(struct etl_handler *h,
                      const struct etl_config *cfg,
                      struct etl_sink *sink,
                      struct aws_client *aws,
                      const struct sys *sys)
{
    memset(h, 0, sizeof(*h));
    h->sys = sys;
    h->cfg = cfg;
    h->aws = aws;
    h->sink = sink;
    etl_stream_init(&h->stream, &cfg->stream, sink, sys);
    etl_export_init(&h->export_, &cfg->snapshot, sys, sink, aws, NULL, NULL);
    etl_catalog_init(&h->catalog, &cfg->catalog, aws);
    if (etl_catalog_enabled(&h->catalog)) {
        etl_stream_set_catalog(&h->stream, &h->catalog);
        etl_export_set_catalog(&h->export_, &h->catalog);
    }
    buf_init(&h->metrics, LIMIT_EMF_DOC_BYTES);
}

void etl_handler_set_export_clients(struct etl_handler *h,
                                    etl_transport_fn new_transport,
                                    void *transport_ctx)
{
    etl_export_init(&h->export_, &h->cfg->snapshot, h->sys, h->sink, h->aws, new_transport,
                    transport_ctx);
    etl_stream_set_clients(&h->stream, new_transport, transport_ctx);
    if (etl_catalog_enabled(&h->catalog)) {
        etl_export_set_catalog(&h->export_, &h->catalog);
    }
}

enum err_code etl_handler_set_transform(struct etl_handler *h,
                                        const struct etl_spec *spec,
                                        const uint8_t *key,
                                        size_t key_len,
                                        struct err *err)
{
    return etl_stream_set_transform(&h->stream, spec, key, key_len, err);
}

void etl_handler_cleanup(struct etl_handler *h)
{
    if (h == NULL) {
        return;
    }
    etl_stream_cleanup(&h->stream);
    etl_catalog_cleanup(&h->catalog);
    buf_cleanup(&h->metrics);
}

/* Logs m as one EMF document; a failure to render only loses the metrics. */
static void emit_metrics(struct etl_handler *h, const struct etl_metrics *m, int64_t now_ms)
{
    struct err err = ERR_INIT;
    buf_reset(&h->metrics);
    if (etl_metrics_render(m, h->cfg->metrics_namespace, h->cfg->service_name, now_ms, NULL,
                           &h->metrics, &err) == ERR_OK) {
        log_raw_line((const char *)h->metrics.data, h->metrics.len);
    }
}

/* The catalog's work since the last metrics (nothing when there is no catalog). */
static void add_catalog_metrics(struct etl_handler *h, struct etl_metrics *m)
{
    if (!etl_catalog_enabled(&h->catalog)) {
        return;
    }
    const struct etl_catalog_stats *now = &h->catalog.stats, *was = &h->catalog_seen;
    etl_metrics_add(m, "CatalogTablesCreated", "Count",
                    (double)(now->tables_created - was->tables_created));
    etl_metrics_add(m, "CatalogTablesUpdated", "Count",
                    (double)(now->tables_updated - was->tables_updated));
    etl_metrics_add(m, "CatalogConflicts", "Count", (double)(now->conflicts - was->conflicts));
    etl_metrics_add(m, "CatalogSchemaDrift", "Count", (double)(now->drift - was->drift));
    etl_metrics_add(m, "CatalogPartitions", "Count", (double)(now->partitions - was->partitions));
    etl_metrics_add(m, "CatalogFailures", "Count", (double)(now->failures - was->failures));
    h->catalog_seen = *now;
}

static void
emit_stream_metrics(struct etl_handler *h, const struct etl_stream_stats *st, int64_t duration_ms)
{
    struct etl_metrics m;
    int64_t now = sys_wall_ms(h->sys);
    etl_metrics_init(&m);
    etl_metrics_add(&m, "RecordsIn", "Count", (double)st->records_in);
    etl_metrics_add(&m, "RecordsOut", "Count", (double)st->records_out);
    etl_metrics_add(&m, "RecordsFailed", "Count", (double)st->records_failed);
    if (h->stream.spec != NULL) {
        etl_metrics_add(&m, "RecordsRejected", "Count", (double)st->records_rejected);
        etl_metrics_add(&m, "RecordsFiltered", "Count", (double)st->records_filtered);
        etl_metrics_add(&m, "DataQualityRulesFailed", "Count", (double)st->dq_rules_failed);
        etl_metrics_add(&m, "SchemaDrift", "Count", (double)st->schema_drift);
    }
    etl_metrics_add(&m, "ObjectsWritten", "Count", (double)st->objects_written);
    etl_metrics_add(&m, "BytesWritten", "Bytes", (double)st->bytes_written);
    etl_metrics_add(&m, "DurationMs", "Milliseconds", (double)duration_ms);
    add_catalog_metrics(h, &m);
    if (st->oldest_ts_ms >= 0) {
        double freshness = (double)(now - st->oldest_ts_ms) / 1000.0;
        etl_metrics_add(&m, "FreshnessSeconds", "Seconds", freshness > 0 ? freshness : 0);
    }
    emit_metrics(h, &m, now);
}

static enum err_code handle_export(struct etl_handler *h,
                                   int64_t deadline_mono_ms,
                                   const struct etl_event *ev,
                                   struct buf *response,
                                   struct err *err)
{
    struct etl_export_stats st;
    struct etl_export_input in = {
        .scheduled = ev->kind == ETL_EVENT_SCHEDULED,
        .time = ev->time,
        .request = ev->export,
    };
    int64_t t0 = sys_mono_ms(h->sys);
    enum err_code rc = etl_export_handle(&h->export_, &in, deadline_mono_ms, response, &st, err);
    struct etl_metrics m;
    etl_metrics_init(&m);
    etl_metrics_add(&m, "SnapshotItems", "Count", (double)st.items);
    etl_metrics_add(&m, "SnapshotFiles", "Count", (double)st.files);
    etl_metrics_add(&m, "SnapshotBytes", "Bytes", (double)st.bytes);
    etl_metrics_add(&m, "SnapshotReadUnits", "Count", st.rcu);
    etl_metrics_add(&m, "SnapshotComplete", "Count", st.complete ? 1 : 0);
    etl_metrics_add(&m, "SnapshotFailed", "Count", rc != ERR_OK ? 1 : 0);
    etl_metrics_add(&m, "DurationMs", "Milliseconds", (double)(sys_mono_ms(h->sys) - t0));
    add_catalog_metrics(h, &m);
    emit_metrics(h, &m, sys_wall_ms(h->sys));
    return rc;
}

static enum err_code handle_stream(struct etl_handler *h,
                                   int64_t deadline_mono_ms,
                                   const struct etl_event *ev,
                                   struct buf *response,
                                   struct err *err)
{
    struct etl_stream_stats st;
    int64_t t0 = sys_mono_ms(h->sys);
    enum err_code rc = etl_stream_process(&h->stream, etl_event_records_walk, ev, deadline_mono_ms,
                                          response, &st, err);
    int64_t duration = sys_mono_ms(h->sys) - t0;
    if (st.event_rejected) {
        return rc; /* not a batch: its error, as for any event we cannot take */
    }
    if (rc == ERR_OK) {
        log_write(LOG_INFO,
                  (struct log_field[]){
                      LOG_INT("recordsIn", (int64_t)st.records_in),
                      LOG_INT("recordsOut", (int64_t)st.records_out),
                      LOG_INT("recordsFailed", (int64_t)st.records_failed),
                      LOG_INT("quarantined", (int64_t)st.quarantined),
                      LOG_INT("objectsWritten", (int64_t)st.objects_written),
                      LOG_INT("bytesWritten", (int64_t)st.bytes_written),
                      LOG_STR("retryFrom", st.failed_seq),
                  },
                  7, "stream batch processed");
    }
    emit_stream_metrics(h, &st, duration);
    return rc;
}

enum err_code etl_handler_invoke(void *ctx,
                                 const struct rt_invocation *inv,
                                 struct buf *response,
                                 struct err *err)
{
    struct etl_handler *h = ctx;
    struct etl_event ev;
    enum err_code rc = etl_event_parse(buf_cur(&inv->event), &ev, err);
    if (rc != ERR_OK) {
        return rc;
    }
    /* One time base from here on: the invocation's deadline on the monotonic clock. */
    int64_t deadline = rt_invocation_deadline_mono(inv, h->sys);
    if (h->aws != NULL) {
        /* Time kept for the reply: HANDLER_REPLY_RESERVE_MS, or a tenth of a short invocation. */
        int64_t reserve = HANDLER_REPLY_RESERVE_MS;
        if (deadline != 0 && sys_ms_left(h->sys, deadline) / 10 < reserve) {
            reserve = sys_ms_left(h->sys, deadline) / 10;
        }
        aws_client_set_deadline(h->aws, deadline != 0 ? deadline - reserve : 0);
    }
    switch (ev.kind) {
    case ETL_EVENT_STREAM:
        return handle_stream(h, deadline, &ev, response, err);
    case ETL_EVENT_SCHEDULED:
    case ETL_EVENT_EXPORT:
        return handle_export(h, deadline, &ev, response, err);
    }
    return err_set(err, ERR_INVALID_INPUT, "unhandled event kind");
}
