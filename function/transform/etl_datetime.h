/*
 * etl_datetime.h - the calendar behind TIMESTAMP and DATE values: epoch milliseconds and days in
 * the proleptic Gregorian calendar, UTC only (no time zones, no libc time functions, so any
 * int64 instant works), ISO-8601 parsing in the forms data and expressions hold, and formatting
 * with MySQL's specifiers as Trino's date_format does.
 * Ownership: plain values; formatting writes into the caller's array.
 */
#ifndef ETL_DATETIME_H
#define ETL_DATETIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ETL_DATETIME_MS_PER_DAY 86400000LL
/* Room for any rendered TIMESTAMP or DATE, a sign and a NUL included. */
#define ETL_DATETIME_TEXT_MAX 48

/* The fields of an instant, in UTC. */
struct etl_datetime_fields {
    int64_t year;
    int month; /* 1..12 */
    int day;   /* 1..31 */
    int hour;
    int minute;
    int second;
    int ms;
    int weekday; /* 0 = Sunday .. 6 = Saturday */
    int yday;    /* 1..366 */
};

/* Days since 1970-01-01 of a civil date (month 1..12, day 1..31, not range-checked). */
int64_t etl_datetime_days_from_civil(int64_t year, int month, int day);
/* The days of a month of a year (28 to 31), 0 for a month outside 1..12. */
int etl_datetime_days_in_month(int64_t year, int month);
/* The UTC day an instant falls on (floor division, so 1969 instants give negative days). */
int64_t etl_datetime_day_of(int64_t epoch_ms);
void etl_datetime_split(int64_t epoch_ms, struct etl_datetime_fields *out);

/*
 * Parses ISO-8601 as data and expressions hold it, into epoch ms UTC:
 *   YYYY-MM-DD
 *   YYYY-MM-DD{T|t|space}HH:MM[:SS[{.|,}fraction]][zone]
 *   zone: Z, z, +HH, +HHMM, +HH:MM (or -), or UTC (a space may precede it); none means UTC
 * The fraction may have up to 9 digits, but digits past milliseconds must be zeros (a time is
 * never truncated). *date_only tells the first form. On failure returns false and *why says
 * what was wrong ("the day is out of range for its month").
 */
bool etl_datetime_parse_iso8601(struct cur text,
                                int64_t *epoch_ms,
                                bool *date_only,
                                const char **why);

/* "2026-11-24T07:00:00.000Z", as the lake holds times; returns the length. */
size_t etl_datetime_format_timestamp(int64_t epoch_ms, char out[ETL_DATETIME_TEXT_MAX]);
/* "2026-11-24"; returns the length. */
size_t etl_datetime_format_date(int64_t days, char out[ETL_DATETIME_TEXT_MAX]);

/*
 * MySQL's date_format specifiers, as Trino implements them:
 *   %a Sun..Sat   %b Jan..Dec   %c month 1..12   %d day 01..31   %e day 1..31
 *   %f microseconds 000000..999000 (from milliseconds)   %H 00..23   %h %I 01..12   %i 00..59
 *   %j day of year 001..366   %k 0..23   %l 1..12   %M January..December   %m 01..12
 *   %p AM/PM   %r hh:mm:ss AM   %S %s 00..59   %T hh:mm:ss   %v ISO week 01..53
 *   %W Sunday..Saturday   %x ISO week-year   %Y year (at least 4 digits)   %y 00..99
 *   %% a percent sign; %<other> that character; a lone % at the end, itself
 * %D %U %u %V %w %X are refused, as Trino refuses them ("not supported").
 */
MUST_CHECK enum err_code etl_datetime_mysql_check(struct cur format, struct err *err);
/* The most bytes etl_datetime_mysql_format writes for a format of format_len bytes. */
size_t etl_datetime_mysql_bound(size_t format_len);
/* Writes epoch_ms formatted into out (cap >= etl_datetime_mysql_bound), returns the length;
 * the format must have passed etl_datetime_mysql_check. */
size_t etl_datetime_mysql_format(int64_t epoch_ms, struct cur format, char *out, size_t cap);

#endif
