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

/* A UTC time's calendar fields (proleptic Gregorian, as gmtime gives them). */
struct etl_civil {
    int year;  /* e.g. 2026 */
    int month; /* 1-12 */
    int day;   /* 1-31 */
    int hour;
    int minute;
    int second;
};

/* The civil date of a count of days since 1970-01-01 (H. Hinnant's civil_from_days: the
 * proleptic Gregorian calendar, exact for any day count an int64 of milliseconds reaches). */
void etl_time_civil_from_days(int64_t days, int64_t *year, int *month, int *day);
/* The calendar fields of epoch seconds from 1970 to the end of year 9999 (what stream records
 * carry), by arithmetic: no gmtime_r, no lock, no table. False outside that range (the caller
 * uses gmtime_r there). */
bool etl_time_civil(int64_t epoch_s, struct etl_civil *out);
/* The calendar fields of any epoch seconds: etl_time_civil, else gmtime_r's; false only where
 * gmtime_r fails. */
bool etl_time_fields(int64_t epoch_s, struct etl_civil *out);
/* Writes v (>= 0) as at least width decimal digits, zero-padded; returns the digits written. */
size_t etl_time_digits(char *out, int v, int width);

/* Formats epoch ms as ISO-8601 UTC with milliseconds; times outside years 0000 to 9999 are
 * clamped to them. */
void etl_time_format_iso8601(int64_t epoch_ms, char out[ETL_ISO8601_MAX]);
/* Parses exactly what etl_time_format_iso8601 writes (24 characters); false otherwise. */
bool etl_time_parse_iso8601_ms(struct cur text, int64_t *epoch_ms);

#endif
