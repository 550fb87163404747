/*
 * etl_time.c - ISO-8601 times. gmtime_r and timegm work on whole seconds; milliseconds are
 * carried beside them.
 */
#include "etl_time.h"

#include <stdio.h>
#include <time.h>

/* Years 0000 to 9999: the range four digits write (and gmtime's int year holds). */
#define ISO_MIN_MS (-62167219200000LL)
#define ISO_MAX_MS 253402300799999LL

/* 1970-01-01 to 9999-12-31T23:59:59, in seconds. */
#define CIVIL_MAX_S 253402300799LL

void etl_time_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    /* H. Hinnant's civil_from_days: eras of 400 years (floored), March-based years. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

bool etl_time_civil(int64_t epoch_s, struct etl_civil *out)
{
    if (epoch_s < 0 || epoch_s > CIVIL_MAX_S) {
        return false;
    }
    int64_t year;
    int64_t rem = epoch_s % 86400;
    etl_time_civil_from_days(epoch_s / 86400, &year, &out->month, &out->day);
    out->year = (int)year;
    out->hour = (int)(rem / 3600);
    out->minute = (int)(rem / 60 % 60);
    out->second = (int)(rem % 60);
    return true;
}

bool etl_time_fields(int64_t epoch_s, struct etl_civil *out)
{
    if (etl_time_civil(epoch_s, out)) {
        return true;
    }
    time_t t = (time_t)epoch_s;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        return false;
    }
    *out = (struct etl_civil){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                              tm.tm_hour,        tm.tm_min,     tm.tm_sec};
    return true;
}

size_t etl_time_digits(char *out, int v, int width)
{
    char tmp[12];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && n < sizeof(tmp));
    while (n < (size_t)width && n < sizeof(tmp)) {
        tmp[n++] = '0';
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    return n;
}

void etl_time_format_iso8601(int64_t epoch_ms, char out[ETL_ISO8601_MAX])
{
    if (epoch_ms < ISO_MIN_MS) {
        epoch_ms = ISO_MIN_MS; /* a time no source sends; clamped rather than overflowed */
    } else if (epoch_ms > ISO_MAX_MS) {
        epoch_ms = ISO_MAX_MS;
    }
    /* Floor division without epoch_ms - ms, which overflows at INT64_MIN. */
    int64_t ms = epoch_ms % 1000;
    int64_t whole = epoch_ms / 1000;
    if (ms < 0) {
        ms += 1000;
        whole--;
    }
    struct etl_civil c;
    if (!etl_time_fields(whole, &c)) {
        snprintf(out, ETL_ISO8601_MAX, "1970-01-01T00:00:00.000Z");
        return;
    }
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ", 24 characters (the clamp keeps the year at 0 to 9999) */
    char *p = out;
    p += etl_time_digits(p, c.year, 4);
    *p++ = '-';
    p += etl_time_digits(p, c.month, 2);
    *p++ = '-';
    p += etl_time_digits(p, c.day, 2);
    *p++ = 'T';
    p += etl_time_digits(p, c.hour, 2);
    *p++ = ':';
    p += etl_time_digits(p, c.minute, 2);
    *p++ = ':';
    p += etl_time_digits(p, c.second, 2);
    *p++ = '.';
    p += etl_time_digits(p, (int)ms, 3);
    *p++ = 'Z';
    *p = '\0';
}

/* n digits at p as a number; false if any is not a digit. */
static bool digits(const uint8_t *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

bool etl_time_parse_iso8601_ms(struct cur text, int64_t *epoch_ms)
{
    /* 2016-12-02T01:27:00.000Z */
    const uint8_t *p = text.ptr;
    int y, mo, d, h, mi, s, ms;
    if (text.len != 24 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' ||
        p[16] != ':' || p[19] != '.' || p[23] != 'Z' || !digits(p, 4, &y) ||
        !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d) || !digits(p + 11, 2, &h) ||
        !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &s) || !digits(p + 20, 3, &ms)) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
        return false;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    time_t t = timegm(&tm);
    *epoch_ms = (int64_t)t * 1000 + ms;
    return true;
}
