/*
 * etl_time.h - the times rows carry: ISO-8601 UTC with milliseconds ("2016-12-02T01:27:00.000Z"),
 * as _ts and run times are written, and back.
 * Ownership: plain values.
 */
#ifndef ETL_TIME_H
#define ETL_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

#define ETL_ISO8601_MAX 64

/* Formats epoch ms as ISO-8601 UTC with milliseconds; times outside years 0000 to 9999 are
 * clamped to them. */
void etl_time_format_iso8601(int64_t epoch_ms, char out[ETL_ISO8601_MAX]);
/* Parses exactly what etl_time_format_iso8601 writes (24 characters); false otherwise. */
bool etl_time_parse_iso8601_ms(struct cur text, int64_t *epoch_ms);

#endif
