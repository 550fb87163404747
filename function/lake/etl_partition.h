/*
 * etl_partition.h - the partition part of object keys: a strftime-like template on the change
 * time in UTC (default "dt=%Y-%m-%d/hour=%H"), validated once, rendered per record.
 * Tokens: %Y (4-digit year), %m, %d, %H, %M (2 digits each), %% (a percent sign). Literals:
 * letters, digits, '=', '-', '_', '.', '/'. No empty, "." or ".." path segments.
 * Ownership: plain values.
 */
#ifndef ETL_PARTITION_H
#define ETL_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ETL_PARTITION_MAX     128
#define ETL_PARTITION_DEFAULT "dt=%Y-%m-%d/hour=%H"

struct etl_partition {
    char tmpl[ETL_PARTITION_MAX];
};

MUST_CHECK enum err_code
etl_partition_compile(struct etl_partition *p, const char *tmpl, struct err *err);

/* Renders for epoch_ms (UTC) into out; returns the length (0 if it did not fit). */
size_t etl_partition_render(const struct etl_partition *p, int64_t epoch_ms, char *out, size_t cap);

#endif
