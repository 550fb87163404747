/*
 * etl_value.c - values from typed row columns and JSON, SQL comparison, and rendering back to
 * the JSON a row holds. Values borrow the row store where they can; what must be decoded
 * (escaped strings, base64) goes into the caller's arena, so reading a column costs no malloc.
 */
#include "etl_value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "etl_datetime.h"
#include "etl_decimal.h"
#include "etl_time.h"

/* Doubles are rendered with the fewest of these significant digits that read back exactly. */
#define DOUBLE_TEXT_MAX 32
/* A NUMBER that is not in JSON grammar is rewritten plain when that is at most this long. */
#define NUMBER_PLAIN_MAX 64

const char *etl_vkind_name(enum etl_vkind k)
{
    static const char *const names[] = {
        [ETL_V_NULL] = "NULL",           [ETL_V_BOOL] = "BOOL",     [ETL_V_NUMBER] = "NUMBER",
        [ETL_V_DOUBLE] = "DOUBLE",       [ETL_V_STRING] = "STRING", [ETL_V_BINARY] = "BINARY",
        [ETL_V_TIMESTAMP] = "TIMESTAMP", [ETL_V_DATE] = "DATE",     [ETL_V_JSON] = "JSON",
    };
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* ---- decoding into the arena ---- */

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Four hex digits at p (end - p >= 4 checked by the caller), or -1. */
static long hex4(const uint8_t *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

/*
 * Unescapes a JSON string body into the arena. The result is never longer than the escaped
 * text (an escape of 2, 6 or 12 bytes stands for 1 to 4 bytes), so one allocation suffices.
 * Lone surrogates become U+FFFD, as json_string_unescape does.
 */
static enum err_code
unescape_to_arena(struct cur in, struct etl_arena *arena, struct cur *out, struct err *err)
{
    uint8_t *dst = NULL;
    enum err_code rc = etl_arena_alloc(arena, in.len > 0 ? in.len : 1, &dst, err);
    if (rc != ERR_OK) {
        return rc;
    }
    const uint8_t *p = in.ptr;
    const uint8_t *end = in.ptr + in.len;
    size_t n = 0;
    while (p < end) {
        if (*p != '\\' || end - p < 2) {
            dst[n++] = *p++;
            continue;
        }
        uint8_t e = p[1];
        p += 2;
        switch (e) {
        case 'b':
            dst[n++] = '\b';
            continue;
        case 'f':
            dst[n++] = '\f';
            continue;
        case 'n':
            dst[n++] = '\n';
            continue;
        case 'r':
            dst[n++] = '\r';
            continue;
        case 't':
            dst[n++] = '\t';
            continue;
        case 'u':
            break;
        default:
            dst[n++] = e; /* " \ / */
            continue;
        }
        long cp = end - p >= 4 ? hex4(p) : -1;
        if (cp < 0) {
            return err_set(err, ERR_INVALID_INPUT, "invalid \\u escape in a JSON string");
        }
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            long lo = hex4(p + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        n += buf_utf8_encode((uint32_t)cp, dst + n);
    }
    *out = cur_make(dst, n);
    return ERR_OK;
}

/* The unescaped bytes of a JSON string literal: borrowed when plain, else in the arena. */
static enum err_code
string_bytes(const struct json_val *str, struct etl_arena *arena, struct cur *out, struct err *err)
{
    struct cur inner = json_string_inner(str);
    if (json_string_is_plain(str)) {
        *out = inner;
        return ERR_OK;
    }
    return unescape_to_arena(inner, arena, out, err);
}

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    return c == '/' ? 63 : -1;
}

/* Decodes padded base64 into the arena (B values are checked by etl_ddbjson; checked again). */
static enum err_code
base64_to_arena(struct cur in, struct etl_arena *arena, struct cur *out, struct err *err)
{
    if (in.len % 4 != 0) {
        return err_set(err, ERR_INVALID_INPUT, "B value is not padded base64");
    }
    uint8_t *dst = NULL;
    enum err_code rc = etl_arena_alloc(arena, in.len / 4 * 3 + 1, &dst, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t n = 0;
    for (size_t i = 0; i < in.len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            uint8_t c = in.ptr[i + k];
            bool last_quad = i + 4 == in.len;
            if (c == '=' && last_quad && k >= 2 && (k == 3 || in.ptr[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            v[k] = b64val(c);
            if (v[k] < 0 || pad > 0) {
                return err_set(err, ERR_INVALID_INPUT, "B value is not valid base64");
            }
        }
        uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
        dst[n++] = (uint8_t)(bits >> 16);
        if (pad < 2) {
            dst[n++] = (uint8_t)(bits >> 8);
        }
        if (pad < 1) {
            dst[n++] = (uint8_t)bits;
        }
    }
    *out = cur_make(dst, n);
    return ERR_OK;
}

/* ---- making values ---- */

enum err_code etl_value_from_col(const struct etl_col *c,
                                 struct etl_arena *arena,
                                 struct etl_value *out,
                                 struct err *err)
{
    *out = etl_value_null();
    if (cur_eq_str(c->value, "null")) {
        return ERR_OK; /* NULL, or a column a transform or metadata left empty */
    }
    struct json_val str = {.type = JSON_STRING, .raw = c->value};
    bool is_literal = c->value.len >= 2 && c->value.ptr[0] == '"';
    switch (c->type) {
    case ETL_T_S:
        if (!is_literal) {
            break;
        }
        out->kind = ETL_V_STRING;
        return string_bytes(&str, arena, &out->s, err);
    case ETL_T_N:
        out->kind = ETL_V_NUMBER;
        out->s = c->value;
        return ERR_OK;
    case ETL_T_B:
        if (!is_literal || !json_string_is_plain(&str)) {
            break;
        }
        out->kind = ETL_V_BINARY;
        return base64_to_arena(json_string_inner(&str), arena, &out->s, err);
    case ETL_T_BOOL:
        out->kind = ETL_V_BOOL;
        out->b = cur_eq_str(c->value, "true");
        if (out->b || cur_eq_str(c->value, "false")) {
            return ERR_OK;
        }
        break;
    case ETL_T_NULL:
        return ERR_OK;
    case ETL_T_TIMESTAMP: {
        if (!is_literal) {
            break;
        }
        struct cur text = json_string_inner(&str);
        bool date_only = false;
        const char *why = NULL;
        out->kind = ETL_V_TIMESTAMP;
        /* The lake's own form first; other ISO-8601 forms a transform may have written next. */
        if (etl_time_parse_iso8601_ms(text, &out->i) ||
            etl_datetime_parse_iso8601(text, &out->i, &date_only, &why)) {
            return ERR_OK;
        }
        break;
    }
    case ETL_T_M:
    case ETL_T_L:
    case ETL_T_SS:
    case ETL_T_NS:
    case ETL_T_BS:
        out->kind = ETL_V_JSON;
        out->s = c->value;
        return ERR_OK;
    default:
        break;
    }
    *out = etl_value_null();
    return err_set(err, ERR_INVALID_INPUT, "column %.*s of type %s holds %.*s", (int)c->name.len,
                   (const char *)c->name.ptr, etl_type_name(c->type),
                   (int)(c->value.len > 40 ? 40 : c->value.len), (const char *)c->value.ptr);
}

enum err_code etl_value_from_json(const struct json_val *v,
                                  struct etl_arena *arena,
                                  struct etl_value *out,
                                  struct err *err)
{
    *out = etl_value_null();
    switch (v->type) {
    case JSON_STRING:
        out->kind = ETL_V_STRING;
        return string_bytes(v, arena, &out->s, err);
    case JSON_NUMBER:
        out->kind = ETL_V_NUMBER;
        out->s = v->raw;
        return ERR_OK;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = ETL_V_BOOL;
        out->b = v->type == JSON_TRUE;
        return ERR_OK;
    case JSON_OBJECT:
    case JSON_ARRAY:
        out->kind = ETL_V_JSON;
        out->s = v->raw;
        return ERR_OK;
    case JSON_NULL:
    default:
        return ERR_OK;
    }
}

/* ---- comparing ---- */

static int sign_of(int c)
{
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

static int cmp_bytes(struct cur a, struct cur b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c != 0) {
        return sign_of(c);
    }
    return a.len < b.len ? -1 : (a.len > b.len ? 1 : 0);
}

static bool as_double(const struct etl_value *v, double *out)
{
    if (v->kind == ETL_V_DOUBLE) {
        *out = v->d;
        return !isnan(v->d);
    }
    struct etl_decimal d;
    struct err ignored = ERR_INIT;
    if (v->kind != ETL_V_NUMBER || etl_decimal_parse(v->s, &d, &ignored) != ERR_OK) {
        return false;
    }
    *out = etl_decimal_to_double(&d);
    return true;
}

/* TIMESTAMP, DATE (its midnight) or an ISO-8601 STRING as epoch ms. */
static bool as_epoch_ms(const struct etl_value *v, int64_t *ms)
{
    bool date_only = false;
    const char *why = NULL;
    switch (v->kind) {
    case ETL_V_TIMESTAMP:
        *ms = v->i;
        return true;
    case ETL_V_DATE:
        *ms = v->i * ETL_DATETIME_MS_PER_DAY;
        return true;
    case ETL_V_STRING:
        return etl_datetime_parse_iso8601(v->s, ms, &date_only, &why);
    default:
        return false;
    }
}

static bool is_time_kind(enum etl_vkind k)
{
    return k == ETL_V_TIMESTAMP || k == ETL_V_DATE;
}

bool etl_value_compare(const struct etl_value *a, const struct etl_value *b, int *cmp)
{
    enum etl_vkind ka = a->kind, kb = b->kind;
    if (ka == ETL_V_NULL || kb == ETL_V_NULL) {
        return false;
    }
    if (ka == ETL_V_NUMBER && kb == ETL_V_NUMBER) {
        struct etl_decimal da, db;
        struct err ignored = ERR_INIT;
        if (etl_decimal_parse(a->s, &da, &ignored) != ERR_OK ||
            etl_decimal_parse(b->s, &db, &ignored) != ERR_OK) {
            return false;
        }
        *cmp = sign_of(etl_decimal_cmp(&da, &db));
        return true;
    }
    if ((ka == ETL_V_DOUBLE && (kb == ETL_V_DOUBLE || kb == ETL_V_NUMBER)) ||
        (kb == ETL_V_DOUBLE && ka == ETL_V_NUMBER)) {
        double x, y;
        if (!as_double(a, &x) || !as_double(b, &y)) {
            return false; /* NaN is unordered */
        }
        *cmp = x < y ? -1 : (x > y ? 1 : 0);
        return true;
    }
    if (is_time_kind(ka) || is_time_kind(kb)) {
        int64_t x, y;
        bool comparable_kinds =
            (is_time_kind(ka) || ka == ETL_V_STRING) && (is_time_kind(kb) || kb == ETL_V_STRING);
        if (!comparable_kinds || !as_epoch_ms(a, &x) || !as_epoch_ms(b, &y)) {
            return false;
        }
        *cmp = x < y ? -1 : (x > y ? 1 : 0);
        return true;
    }
    if (ka != kb) {
        return false;
    }
    switch (ka) {
    case ETL_V_STRING:
    case ETL_V_BINARY:
    case ETL_V_JSON:
        *cmp = cmp_bytes(a->s, b->s);
        return true;
    case ETL_V_BOOL:
        *cmp = (int)a->b - (int)b->b;
        return true;
    default:
        return false;
    }
}

/* ---- rendering ---- */

/* The shortest %.15g/%.16g/%.17g text of a finite double; returns its length. */
static int double_text(double d, char out[DOUBLE_TEXT_MAX])
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, DOUBLE_TEXT_MAX, "%.*g", prec, d);
        if (strtod(out, NULL) == d) {
            break;
        }
    }
    return n;
}

/* A NUMBER that is not in JSON grammar ("+5", ".5"): plain when short, else d.dddE+x. */
static enum err_code append_number(struct cur text, struct buf *out, struct err *err)
{
    if (json_is_number((const char *)text.ptr, text.len)) {
        return buf_append_cur(out, text, err);
    }
    struct etl_decimal d;
    enum err_code rc = etl_decimal_parse(text, &d, err);
    bool fits = false;
    if (rc == ERR_OK) {
        rc = etl_decimal_plain(&d, NUMBER_PLAIN_MAX, &fits, out, err);
    }
    if (rc != ERR_OK || fits) {
        return rc;
    }
    return buf_printf(out, err, "%s%c%s%.*sE%d", d.neg ? "-" : "", d.digits[0], d.n > 1 ? "." : "",
                      (int)d.n - 1, d.digits + 1, (int)d.exp - 1);
}

static enum err_code append_quoted_base64(struct cur bytes, struct buf *out, struct err *err)
{
    size_t enc = 4 * ((bytes.len + 2) / 3);
    enum err_code rc = buf_reserve(out, enc + 2, err);
    if (rc != ERR_OK) {
        return rc;
    }
    char *w = (char *)out->data + out->len;
    w[0] = '"';
    digest_base64(bytes.ptr, bytes.len, w + 1, enc + 1);
    w[enc + 1] = '"';
    buf_commit(out, enc + 2);
    return ERR_OK;
}

enum err_code etl_value_render_json(const struct etl_value *v, struct buf *out, struct err *err)
{
    char text[ETL_DATETIME_TEXT_MAX > DOUBLE_TEXT_MAX ? ETL_DATETIME_TEXT_MAX : DOUBLE_TEXT_MAX];
    switch (v->kind) {
    case ETL_V_BOOL:
        return buf_append_str(out, v->b ? "true" : "false", err);
    case ETL_V_NUMBER:
        return append_number(v->s, out, err);
    case ETL_V_DOUBLE:
        if (!isfinite(v->d)) {
            return buf_append_str(out, "null", err);
        }
        return buf_append(out, text, (size_t)double_text(v->d, text), err);
    case ETL_V_STRING:
        return buf_append_json_str(out, (const char *)v->s.ptr, v->s.len, err);
    case ETL_V_BINARY:
        return append_quoted_base64(v->s, out, err);
    case ETL_V_TIMESTAMP:
        etl_datetime_format_timestamp(v->i, text);
        return buf_printf(out, err, "\"%s\"", text);
    case ETL_V_DATE:
        etl_datetime_format_date(v->i, text);
        return buf_printf(out, err, "\"%s\"", text);
    case ETL_V_JSON:
        return buf_append_cur(out, v->s, err);
    case ETL_V_NULL:
    default:
        return buf_append_str(out, "null", err);
    }
}

enum etl_type etl_value_row_type(const struct etl_value *v)
{
    switch (v->kind) {
    case ETL_V_BOOL:
        return ETL_T_BOOL;
    case ETL_V_NUMBER:
    case ETL_V_DOUBLE:
        return ETL_T_N;
    case ETL_V_STRING:
    case ETL_V_DATE:
        return ETL_T_S;
    case ETL_V_BINARY:
        return ETL_T_B;
    case ETL_V_TIMESTAMP:
        return ETL_T_TIMESTAMP;
    case ETL_V_JSON: {
        size_t i = 0;
        while (i < v->s.len && (v->s.ptr[i] == ' ' || v->s.ptr[i] == '\t' || v->s.ptr[i] == '\n' ||
                                v->s.ptr[i] == '\r')) {
            i++;
        }
        return i < v->s.len && v->s.ptr[i] == '{' ? ETL_T_M : ETL_T_L;
    }
    case ETL_V_NULL:
    default:
        return ETL_T_NULL;
    }
}

enum err_code
etl_value_text(const struct etl_value *v, struct etl_arena *arena, struct cur *out, struct err *err)
{
    char text[ETL_DATETIME_TEXT_MAX > DOUBLE_TEXT_MAX ? ETL_DATETIME_TEXT_MAX : DOUBLE_TEXT_MAX];
    size_t n = 0;
    *out = cur_make(NULL, 0);
    switch (v->kind) {
    case ETL_V_STRING:
    case ETL_V_NUMBER:
    case ETL_V_JSON:
        *out = v->s;
        return ERR_OK;
    case ETL_V_BOOL:
        *out = cur_from_str(v->b ? "true" : "false");
        return ERR_OK;
    case ETL_V_DOUBLE:
        if (isnan(v->d)) {
            n = (size_t)snprintf(text, sizeof(text), "NaN");
        } else if (isinf(v->d)) {
            n = (size_t)snprintf(text, sizeof(text), v->d > 0 ? "Infinity" : "-Infinity");
        } else {
            n = (size_t)double_text(v->d, text);
        }
        break;
    case ETL_V_TIMESTAMP:
        n = etl_datetime_format_timestamp(v->i, text);
        break;
    case ETL_V_DATE:
        n = etl_datetime_format_date(v->i, text);
        break;
    case ETL_V_BINARY: {
        size_t enc = 4 * ((v->s.len + 2) / 3);
        uint8_t *dst = NULL;
        enum err_code rc = etl_arena_alloc(arena, enc + 1, &dst, err);
        if (rc == ERR_OK) {
            digest_base64(v->s.ptr, v->s.len, (char *)dst, enc + 1);
            *out = cur_make(dst, enc);
        }
        return rc;
    }
    case ETL_V_NULL:
    default:
        return ERR_OK;
    }
    return etl_arena_copy(arena, text, n, out, err);
}
