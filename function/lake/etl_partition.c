/*
 * etl_partition.c - partition templates. Rendering uses the calendar of whole seconds
 * (etl_time_fields); the template is validated up front so rendering cannot fail.
 */
#include "etl_partition.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "etl_time.h"

static bool literal_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '=' ||
           c == '-' || c == '_' || c == '.' || c == '/';
}

enum err_code etl_partition_compile(struct etl_partition *p, const char *tmpl, struct err *err)
{
    size_t n = strlen(tmpl);
    if (n == 0 || n >= sizeof(p->tmpl)) {
        return err_set(err, ERR_CONFIG, "ETL_PARTITION=\"%.60s\": expected 1 to %d characters",
                       tmpl, ETL_PARTITION_MAX - 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (tmpl[i] == '%') {
            char t = i + 1 < n ? tmpl[i + 1] : '\0';
            if (t != 'Y' && t != 'm' && t != 'd' && t != 'H' && t != 'M' && t != '%') {
                return err_set(
                    err, ERR_CONFIG,
                    "ETL_PARTITION=\"%s\": unknown token %%%c (use %%Y %%m %%d %%H %%M %%%%)", tmpl,
                    t != '\0' ? t : ' ');
            }
            i++;
            continue;
        }
        if (!literal_ok(tmpl[i])) {
            return err_set(
                err, ERR_CONFIG,
                "ETL_PARTITION=\"%s\": character '%c' not allowed (letters, digits, = - _ . / and %% tokens)",
                tmpl, tmpl[i]);
        }
    }
    /* Path segments: none empty, none "." or "..". */
    const char *seg = tmpl;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') ||
            (len == 2 && seg[0] == '.' && seg[1] == '.')) {
            return err_set(err, ERR_CONFIG,
                           "ETL_PARTITION=\"%s\": empty, \".\" or \"..\" path segment", tmpl);
        }
        if (slash == NULL) {
            break;
        }
        seg = slash + 1;
    }
    memcpy(p->tmpl, tmpl, n + 1);
    return ERR_OK;
}

size_t etl_partition_render(const struct etl_partition *p, int64_t epoch_ms, char *out, size_t cap)
{
    int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
    struct etl_civil cv;
    if (cap == 0) {
        return 0;
    }
    if (!etl_time_fields(secs, &cv)) {
        return 0;
    }
    size_t o = 0;
    for (const char *c = p->tmpl; *c != '\0'; c++) {
        char tmp[16];
        const char *piece = tmp;
        size_t plen;
        if (*c == '%') {
            c++;
            switch (*c) {
            case 'Y':
                plen = cv.year >= 0 ? etl_time_digits(tmp, cv.year, 4)
                                    : (size_t)snprintf(tmp, sizeof(tmp), "%04d", cv.year);
                break;
            case 'm':
                plen = etl_time_digits(tmp, cv.month, 2);
                break;
            case 'd':
                plen = etl_time_digits(tmp, cv.day, 2);
                break;
            case 'H':
                plen = etl_time_digits(tmp, cv.hour, 2);
                break;
            case 'M':
                plen = etl_time_digits(tmp, cv.minute, 2);
                break;
            default: /* %% */
                tmp[0] = '%';
                plen = 1;
                break;
            }
        } else {
            piece = c;
            plen = 1;
        }
        if (o + plen >= cap) {
            out[0] = '\0';
            return 0;
        }
        memcpy(out + o, piece, plen);
        o += plen;
    }
    out[o] = '\0';
    return o;
}
