/*
 * etl_metrics.c - EMF rendering. Values are written with %.17g so integers stay integers and
 * fractions round-trip.
 */
#include "etl_metrics.h"

#include <string.h>

void etl_metrics_init(struct etl_metrics *m)
{
    memset(m, 0, sizeof(*m));
}

void etl_metrics_add(struct etl_metrics *m, const char *name, const char *unit, double value)
{
    if (m->n < ETL_METRICS_MAX) {
        m->items[m->n++] = (struct etl_metric){name, unit, value};
    }
}

enum err_code etl_metrics_render(const struct etl_metrics *m,
                                 const char *namespace_,
                                 const char *service,
                                 int64_t timestamp_ms,
                                 const char *const *props,
                                 struct buf *out,
                                 struct err *err)
{
    enum err_code rc =
        buf_printf(out, err, "{\"_aws\":{\"Timestamp\":%lld,\"CloudWatchMetrics\":[{\"Namespace\":",
                   (long long)timestamp_ms);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(out, namespace_, strlen(namespace_), err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, ",\"Dimensions\":[[\"service\"]],\"Metrics\":[", err);
    }
    for (size_t i = 0; rc == ERR_OK && i < m->n; i++) {
        rc = buf_printf(out, err, "%s{\"Name\":\"%s\",\"Unit\":\"%s\"}", i > 0 ? "," : "",
                        m->items[i].name, m->items[i].unit);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, "]}]},\"service\":", err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_json_str(out, service, strlen(service), err);
    }
    for (const char *const *p = props; rc == ERR_OK && p != NULL && p[0] != NULL && p[1] != NULL;
         p += 2) {
        rc = buf_append_byte(out, ',', err);
        if (rc == ERR_OK) {
            rc = buf_append_json_str(out, p[0], strlen(p[0]), err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(out, ':', err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_json_str(out, p[1], strlen(p[1]), err);
        }
    }
    for (size_t i = 0; rc == ERR_OK && i < m->n; i++) {
        rc = buf_printf(out, err, ",\"%s\":%.17g", m->items[i].name, m->items[i].value);
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(out, '}', err);
    }
    return rc;
}
