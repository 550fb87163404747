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
    time_t secs = (time_t)whole;
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(out, ETL_ISO8601_MAX, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, ETL_ISO8601_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
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
