/*
 * etl_datetime.c - civil dates by Howard Hinnant's days_from_civil and civil_from_days (core's
 * etl_time_civil_from_days), exact for every int64 day count, ISO-8601 parsing by hand, and
 * MySQL-style formatting. libc's gmtime_r/timegm are avoided: they depend on time_t and tm_year
 * ranges, and need no locale here.
 */
#include "etl_datetime.h"

#include <stdio.h>
#include <string.h>

#include "etl_time.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t etl_datetime_days_from_civil(int64_t year, int month, int day)
{
    int64_t y = year - (month <= 2);
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                                                 /* [0, 399] */
    int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                         /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

int64_t etl_datetime_day_of(int64_t epoch_ms)
{
    return floor_div(epoch_ms, ETL_DATETIME_MS_PER_DAY);
}

void etl_datetime_split(int64_t epoch_ms, struct etl_datetime_fields *out)
{
    /* Floor division without forming days * 86400000, which overflows near INT64_MIN. */
    int64_t days = epoch_ms / ETL_DATETIME_MS_PER_DAY;
    int64_t rest = epoch_ms % ETL_DATETIME_MS_PER_DAY;
    if (rest < 0) {
        rest += ETL_DATETIME_MS_PER_DAY;
        days--;
    }
    etl_time_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(rest / 3600000);
    out->minute = (int)(rest / 60000 % 60);
    out->second = (int)(rest / 1000 % 60);
    out->ms = (int)(rest % 1000);
    out->weekday = (int)(days + 4 - floor_div(days + 4, 7) * 7); /* 1970-01-01 was a Thursday */
    out->yday = (int)(days - etl_datetime_days_from_civil(out->year, 1, 1) + 1);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int etl_datetime_days_in_month(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) {
        return 0;
    }
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* ---- ISO-8601 ---- */

/* n digits at *p as a number, advancing *p; false if they are not all digits. */
static bool take_digits(const uint8_t **p, const uint8_t *end, int n, int *out)
{
    if (end - *p < n) {
        return false;
    }
    int v = 0;
    for (int i = 0; i < n; i++) {
        uint8_t c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool take(const uint8_t **p, const uint8_t *end, uint8_t c)
{
    if (*p < end && **p == c) {
        (*p)++;
        return true;
    }
    return false;
}

/* The zone at p (to the end of the text) as an offset in minutes east of UTC. */
static bool parse_zone(const uint8_t *p, const uint8_t *end, int *offset_min, const char **why)
{
    *offset_min = 0;
    if (p < end && *p == ' ') {
        p++;
        if (end - p == 3 && memcmp(p, "UTC", 3) == 0) {
            return true;
        }
    }
    if (p == end) {
        return true;
    }
    if ((end - p == 1 && (*p == 'Z' || *p == 'z')) || (end - p == 3 && memcmp(p, "UTC", 3) == 0)) {
        return true;
    }
    if (*p != '+' && *p != '-') {
        *why = "unexpected text after the time";
        return false;
    }
    int sign = *p == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    p++;
    if (!take_digits(&p, end, 2, &hh)) {
        *why = "the offset is not +HH, +HHMM or +HH:MM";
        return false;
    }
    if (p < end) {
        take(&p, end, ':');
        if (!take_digits(&p, end, 2, &mm) || p != end) {
            *why = "the offset is not +HH, +HHMM or +HH:MM";
            return false;
        }
    }
    if (hh > 18 || mm > 59) {
        *why = "the offset is out of range";
        return false;
    }
    *offset_min = sign * (hh * 60 + mm);
    return true;
}

bool etl_datetime_parse_iso8601(struct cur text,
                                int64_t *epoch_ms,
                                bool *date_only,
                                const char **why)
{
    const uint8_t *p = text.ptr;
    const uint8_t *end = p + text.len;
    int y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
    *why = "not an ISO-8601 date or time";
    if (!take_digits(&p, end, 4, &y) || !take(&p, end, '-') || !take_digits(&p, end, 2, &mo) ||
        !take(&p, end, '-') || !take_digits(&p, end, 2, &d)) {
        return false;
    }
    if (mo < 1 || mo > 12) {
        *why = "the month is out of range";
        return false;
    }
    if (d < 1 || d > etl_datetime_days_in_month(y, mo)) {
        *why = "the day is out of range for its month";
        return false;
    }
    *date_only = p == end;
    int offset_min = 0;
    if (!*date_only) {
        if (*p != 'T' && *p != 't' && *p != ' ') {
            return false;
        }
        p++;
        if (!take_digits(&p, end, 2, &h) || !take(&p, end, ':') || !take_digits(&p, end, 2, &mi)) {
            return false;
        }
        if (take(&p, end, ':')) {
            if (!take_digits(&p, end, 2, &s)) {
                return false;
            }
            if (p < end && (*p == '.' || *p == ',')) {
                p++;
                int digits = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                    if (digits < 3) {
                        ms = ms * 10 + (*p - '0');
                    } else if (*p != '0') {
                        *why = "the fraction is finer than milliseconds";
                        return false;
                    }
                    digits++;
                    p++;
                }
                if (digits == 0 || digits > 9) {
                    return false;
                }
                for (int i = digits; i < 3; i++) {
                    ms *= 10;
                }
            }
        }
        if (h > 23 || mi > 59 || s > 59) {
            *why = "the time is out of range";
            return false;
        }
        if (!parse_zone(p, end, &offset_min, why)) {
            return false;
        }
    }
    int64_t days = etl_datetime_days_from_civil(y, mo, d);
    *epoch_ms = days * ETL_DATETIME_MS_PER_DAY + (int64_t)h * 3600000 + (int64_t)mi * 60000 +
                (int64_t)s * 1000 + ms - (int64_t)offset_min * 60000;
    return true;
}

/* ---- rendering ---- */

/* The year as ISO-8601 writes it: at least 4 digits, a sign only when negative. */
static int format_year(int64_t y, char *out, size_t cap)
{
    return snprintf(out, cap, y < 0 ? "-%04lld" : "%04lld", (long long)(y < 0 ? -y : y));
}

size_t etl_datetime_format_timestamp(int64_t epoch_ms, char out[ETL_DATETIME_TEXT_MAX])
{
    struct etl_datetime_fields f;
    etl_datetime_split(epoch_ms, &f);
    int n = format_year(f.year, out, ETL_DATETIME_TEXT_MAX);
    n += snprintf(out + n, ETL_DATETIME_TEXT_MAX - (size_t)n, "-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  f.month, f.day, f.hour, f.minute, f.second, f.ms);
    return (size_t)n;
}

size_t etl_datetime_format_date(int64_t days, char out[ETL_DATETIME_TEXT_MAX])
{
    int64_t y;
    int m, d;
    etl_time_civil_from_days(days, &y, &m, &d);
    int n = format_year(y, out, ETL_DATETIME_TEXT_MAX);
    n += snprintf(out + n, ETL_DATETIME_TEXT_MAX - (size_t)n, "-%02d-%02d", m, d);
    return (size_t)n;
}

/* ---- MySQL specifiers ---- */

static const char *const month_names[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};
static const char *const day_names[7] = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};

/* Longest output of one specifier: %r "hh:mm:ss AM" (11), or a year of int64 ms (10 + sign). */
#define MYSQL_SPEC_MAX 12

enum err_code etl_datetime_mysql_check(struct cur format, struct err *err)
{
    for (size_t i = 0; i + 1 < format.len; i++) {
        if (format.ptr[i] != '%') {
            continue;
        }
        char c = (char)format.ptr[++i];
        if (strchr("DUuVwX", c) != NULL) {
            return err_set(err, ERR_INVALID_INPUT,
                           "%%%c is not supported in a date_format format (as in Trino)", c);
        }
    }
    return ERR_OK;
}

size_t etl_datetime_mysql_bound(size_t format_len)
{
    return format_len / 2 * MYSQL_SPEC_MAX + format_len % 2 + 1;
}

static int hour12(int h)
{
    return h % 12 == 0 ? 12 : h % 12;
}

/* ISO-8601 week number and week-based year (weeks start on Monday; week 1 holds a Thursday). */
static void iso_week(const struct etl_datetime_fields *f, int *week, int64_t *week_year)
{
    int wd = f->weekday == 0 ? 7 : f->weekday; /* Monday 1 .. Sunday 7 */
    int w = (f->yday - wd + 10) / 7;
    int64_t y = f->year;
    /* A year has 53 weeks when it starts on a Thursday, or is a leap year starting on Wednesday. */
    if (w < 1) {
        y--;
        int64_t jan1 = etl_datetime_days_from_civil(y, 1, 1);
        int p = (int)(jan1 + 4 - floor_div(jan1 + 4, 7) * 7);
        w = (p == 4 || (is_leap(y) && p == 3)) ? 53 : 52;
    } else if (w == 53) {
        int64_t jan1 = etl_datetime_days_from_civil(y, 1, 1);
        int p = (int)(jan1 + 4 - floor_div(jan1 + 4, 7) * 7);
        if (!(p == 4 || (is_leap(y) && p == 3))) {
            w = 1;
            y++;
        }
    }
    *week = w;
    *week_year = y;
}

/* Writes one specifier's text into s (MYSQL_SPEC_MAX + 1 bytes); returns its length. */
static int format_spec(char c, const struct etl_datetime_fields *f, char *s)
{
    const size_t cap = MYSQL_SPEC_MAX + 1;
    int week = 0;
    int64_t week_year = 0;
    switch (c) {
    case 'a':
        return snprintf(s, cap, "%.3s", day_names[f->weekday]);
    case 'b':
        return snprintf(s, cap, "%.3s", month_names[f->month - 1]);
    case 'c':
        return snprintf(s, cap, "%d", f->month);
    case 'd':
        return snprintf(s, cap, "%02d", f->day);
    case 'e':
        return snprintf(s, cap, "%d", f->day);
    case 'f':
        return snprintf(s, cap, "%06d", f->ms * 1000);
    case 'H':
        return snprintf(s, cap, "%02d", f->hour);
    case 'h':
    case 'I':
        return snprintf(s, cap, "%02d", hour12(f->hour));
    case 'i':
        return snprintf(s, cap, "%02d", f->minute);
    case 'j':
        return snprintf(s, cap, "%03d", f->yday);
    case 'k':
        return snprintf(s, cap, "%d", f->hour);
    case 'l':
        return snprintf(s, cap, "%d", hour12(f->hour));
    case 'M':
        return snprintf(s, cap, "%s", month_names[f->month - 1]);
    case 'm':
        return snprintf(s, cap, "%02d", f->month);
    case 'p':
        return snprintf(s, cap, "%s", f->hour < 12 ? "AM" : "PM");
    case 'r':
        return snprintf(s, cap, "%02d:%02d:%02d %s", hour12(f->hour), f->minute, f->second,
                        f->hour < 12 ? "AM" : "PM");
    case 'S':
    case 's':
        return snprintf(s, cap, "%02d", f->second);
    case 'T':
        return snprintf(s, cap, "%02d:%02d:%02d", f->hour, f->minute, f->second);
    case 'v':
        iso_week(f, &week, &week_year);
        return snprintf(s, cap, "%02d", week);
    case 'W':
        return snprintf(s, cap, "%s", day_names[f->weekday]);
    case 'x':
        iso_week(f, &week, &week_year);
        return format_year(week_year, s, cap);
    case 'Y':
        return format_year(f->year, s, cap);
    case 'y':
        return snprintf(s, cap, "%02d", (int)((f->year % 100 + 100) % 100));
    default:
        s[0] = c; /* %% and any character not listed stand for themselves */
        s[1] = '\0';
        return 1;
    }
}

size_t etl_datetime_mysql_format(int64_t epoch_ms, struct cur format, char *out, size_t cap)
{
    struct etl_datetime_fields f;
    etl_datetime_split(epoch_ms, &f);
    size_t n = 0;
    for (size_t i = 0; i < format.len; i++) {
        char spec[MYSQL_SPEC_MAX + 1];
        int len = 1;
        if (format.ptr[i] == '%' && i + 1 < format.len) {
            len = format_spec((char)format.ptr[++i], &f, spec);
        } else {
            spec[0] = (char)format.ptr[i];
        }
        if (len < 0 || n + (size_t)len >= cap) {
            break; /* cannot happen with cap >= etl_datetime_mysql_bound */
        }
        memcpy(out + n, spec, (size_t)len);
        n += (size_t)len;
    }
    if (cap > 0) {
        out[n] = '\0';
    }
    return n;
}
