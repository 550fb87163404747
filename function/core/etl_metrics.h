/*
 * etl_metrics.h - one CloudWatch Embedded Metric Format document per invocation, in the shape
 * Powertools for AWS Lambda emits: {"_aws":{"Timestamp","CloudWatchMetrics":[{"Namespace",
 * "Dimensions":[["service"]],"Metrics":[{"Name","Unit"}...]}]},"service":..., "<Name>": value}.
 * Ownership: renders into the caller's buf.
 */
#ifndef ETL_METRICS_H
#define ETL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ETL_METRICS_MAX 24

struct etl_metric {
    const char *name;
    const char *unit; /* "Count", "Bytes", "Milliseconds", "Seconds" */
    double value;
};

struct etl_metrics {
    struct etl_metric items[ETL_METRICS_MAX];
    size_t n;
};

void etl_metrics_init(struct etl_metrics *m);
void etl_metrics_add(struct etl_metrics *m, const char *name, const char *unit, double value);

/* Renders the EMF document (one line, no newline); props are extra string properties
 * (name/value pairs, NULL-terminated) kept for Logs Insights, not dimensions. */
MUST_CHECK enum err_code etl_metrics_render(const struct etl_metrics *m,
                                            const char *namespace_,
                                            const char *service,
                                            int64_t timestamp_ms,
                                            const char *const *props,
                                            struct buf *out,
                                            struct err *err);

#endif
