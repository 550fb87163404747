/*
 * etl_cast.c - casts that never round: integers and decimals go through etl_decimal and fail
 * when a digit would be lost; times through etl_datetime. Results are written into the arena,
 * arrays and maps included (their text grows there by doubling, so a cast costs no malloc).
 */
#include "etl_cast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_datetime.h"
#include "etl_decimal.h"

/* Longer number texts are not numbers a double cast takes (strtod needs a NUL-terminated copy). */
#define CAST_DOUBLE_TEXT_MAX 400
/* Epoch numbers below this magnitude are seconds, at or above it milliseconds (1e11 s is in the
 * year 5138; 1e11 ms is 1973-03-03). */
#define CAST_EPOCH_SECONDS_BELOW_EXP 11

/* ---- messages ---- */

/* A short description of v for a message: 12.5, "abc", true, BINARY of 3 bytes. */
static void describe(const struct etl_value *v, char *out, size_t cap)
{
    char text[ETL_DATETIME_TEXT_MAX];
    size_t n = v->s.len > 40 ? 40 : v->s.len;
    /* Never cut a UTF-8 sequence in half. */
    while (n > 0 && n < v->s.len && (v->s.ptr[n] & 0xC0) == 0x80) {
        n--;
    }
    const char *more = n < v->s.len ? "..." : "";
    switch (v->kind) {
    case ETL_V_STRING:
        snprintf(out, cap, "\"%.*s%s\"", (int)n, (const char *)v->s.ptr, more);
        break;
    case ETL_V_NUMBER:
    case ETL_V_JSON:
        snprintf(out, cap, "%.*s%s", (int)n, (const char *)v->s.ptr, more);
        break;
    case ETL_V_DOUBLE:
        snprintf(out, cap, "%.17g", v->d);
        break;
    case ETL_V_BOOL:
        snprintf(out, cap, "%s", v->b ? "true" : "false");
        break;
    case ETL_V_TIMESTAMP:
        etl_datetime_format_timestamp(v->i, text);
        snprintf(out, cap, "TIMESTAMP %s", text);
        break;
    case ETL_V_DATE:
        etl_datetime_format_date(v->i, text);
        snprintf(out, cap, "DATE %s", text);
        break;
    case ETL_V_BINARY:
        snprintf(out, cap, "BINARY of %zu bytes", v->s.len);
        break;
    case ETL_V_NULL:
    default:
        snprintf(out, cap, "NULL");
        break;
    }
}

/* "<value> <before> <type><after>": "12.345 does not fit decimal(10,2) exactly". */
static enum err_code fail(const struct etl_value *in,
                          const struct etl_typespec *to,
                          const char *before,
                          const char *after,
                          struct err *err)
{
    char what[80], type[64];
    describe(in, what, sizeof(what));
    etl_typespec_name(to, type, sizeof(type));
    return err_set(err, ERR_INVALID_INPUT, "%s %s %s%s", what, before, type, after);
}

static enum err_code
cannot(const struct etl_value *in, const struct etl_typespec *to, struct err *err)
{
    char what[80], type[64];
    describe(in, what, sizeof(what));
    etl_typespec_name(to, type, sizeof(type));
    /* TIMESTAMP, DATE and BINARY descriptions name their kind already. */
    const char *kind = etl_vkind_name(in->kind);
    bool named = strncmp(what, kind, strlen(kind)) == 0;
    return err_set(err, ERR_INVALID_INPUT, "cannot cast %s%s%s to %s", named ? "" : kind,
                   named ? "" : " ", what, type);
}

/* ---- text built in the arena ---- */

/*
 * A struct buf whose bytes live in the arena. Before every write the caller makes room with
 * arena_room, so buf_reserve never reallocates (the buf is never cleaned up: the arena owns the
 * bytes). Growth doubles; superseded copies stay in the arena until it is reset.
 */
static enum err_code
arena_room(struct buf *b, struct etl_arena *arena, size_t extra, struct err *err)
{
    if (b->data != NULL && extra < b->cap - b->len) {
        return ERR_OK;
    }
    size_t need = b->len + extra + 1;
    if (need < extra) {
        return err_set(err, ERR_TOO_LARGE, "cast result too large");
    }
    size_t cap = b->cap * 2 > need ? b->cap * 2 : need;
    cap = cap < 64 ? 64 : cap;
    uint8_t *p = NULL;
    enum err_code rc = etl_arena_alloc(arena, cap, &p, err);
    if (rc == ERR_OK) {
        if (b->len > 0) {
            memcpy(p, b->data, b->len);
        }
        p[b->len] = '\0';
        b->data = p;
        b->cap = cap;
        b->max = BUF_NO_LIMIT;
    }
    return rc;
}

static struct etl_value number_value(struct buf *b)
{
    struct etl_value v = etl_value_null();
    v.kind = ETL_V_NUMBER;
    v.s = buf_cur(b);
    return v;
}

/* ---- numbers ---- */

/* The exact decimal of a NUMBER, DOUBLE (its shortest text) or number STRING. */
static enum err_code decimal_of(const struct etl_value *in,
                                const struct etl_typespec *to,
                                struct etl_arena *arena,
                                struct etl_decimal *d,
                                struct err *err)
{
    struct cur text = in->s;
    if (in->kind == ETL_V_DOUBLE) {
        if (!isfinite(in->d)) {
            return fail(in, to, "does not cast to", "", err);
        }
        enum err_code rc = etl_value_text(in, arena, &text, err);
        if (rc != ERR_OK) {
            return rc;
        }
    } else if (in->kind != ETL_V_NUMBER && in->kind != ETL_V_STRING) {
        return cannot(in, to, err);
    }
    struct err why = ERR_INIT;
    if (etl_decimal_parse(text, d, &why) == ERR_OK) {
        return ERR_OK;
    }
    if (strstr(why.msg, "significant digits") == NULL && strstr(why.msg, "range") == NULL) {
        return fail(in, to, "is not a number: it does not cast to", "", err);
    }
    char what[80], type[64];
    describe(in, what, sizeof(what));
    etl_typespec_name(to, type, sizeof(type));
    return err_set(err, ERR_INVALID_INPUT, "%s does not cast to %s: %s", what, type, why.msg);
}

static enum err_code cast_integer(const struct etl_value *in,
                                  const struct etl_typespec *to,
                                  struct etl_arena *arena,
                                  struct etl_value *out,
                                  struct err *err)
{
    int64_t v = 0;
    if (in->kind == ETL_V_BOOL) {
        v = in->b ? 1 : 0;
    } else {
        struct etl_decimal d;
        enum err_code rc = decimal_of(in, to, arena, &d, err);
        if (rc != ERR_OK) {
            return rc;
        }
        int int_d, frac_d;
        etl_decimal_shape(&d, &int_d, &frac_d);
        if (frac_d > 0) {
            return fail(in, to, "is not an integer: it does not cast to", "", err);
        }
        if (!etl_decimal_to_i64(&d, &v)) {
            return fail(in, to, "is out of range for", "", err);
        }
    }
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    switch (to->kind) {
    case ETL_TK_INT:
        lo = INT32_MIN;
        hi = INT32_MAX;
        break;
    case ETL_TK_SMALLINT:
        lo = INT16_MIN;
        hi = INT16_MAX;
        break;
    case ETL_TK_TINYINT:
        lo = INT8_MIN;
        hi = INT8_MAX;
        break;
    default:
        break;
    }
    if (v < lo || v > hi) {
        return fail(in, to, "is out of range for", "", err);
    }
    struct buf b = BUF_INIT(0);
    enum err_code rc = arena_room(&b, arena, 24, err);
    if (rc == ERR_OK) {
        rc = buf_append_i64(&b, v, err);
    }
    if (rc == ERR_OK) {
        *out = number_value(&b);
    }
    return rc;
}

static enum err_code cast_decimal(const struct etl_value *in,
                                  const struct etl_typespec *to,
                                  struct etl_arena *arena,
                                  struct etl_value *out,
                                  struct err *err)
{
    struct etl_decimal d;
    enum err_code rc = decimal_of(in, to, arena, &d, err);
    if (rc != ERR_OK) {
        return rc;
    }
    struct buf b = BUF_INIT(0);
    bool fits = false;
    /* sign, point and a leading zero beside the digits */
    rc = arena_room(&b, arena, (size_t)to->precision + 4, err);
    if (rc == ERR_OK) {
        rc = etl_decimal_format(&d, to->precision, to->scale, &fits, &b, err);
    }
    if (rc == ERR_OK && !fits) {
        return fail(in, to, "does not fit", " exactly", err);
    }
    if (rc == ERR_OK) {
        *out = number_value(&b);
    }
    return rc;
}

/* strtod of a number text in JSON or DynamoDB grammar; false if it is not one. */
static bool parse_double(struct cur text, double *out)
{
    if (text.len == 0 || text.len > CAST_DOUBLE_TEXT_MAX) {
        return false;
    }
    size_t i = 0, digits = 0;
    const uint8_t *p = text.ptr;
    if (p[i] == '+' || p[i] == '-') {
        i++;
    }
    for (; i < text.len && p[i] >= '0' && p[i] <= '9'; i++) {
        digits++;
    }
    if (i < text.len && p[i] == '.') {
        for (i++; i < text.len && p[i] >= '0' && p[i] <= '9'; i++) {
            digits++;
        }
    }
    if (digits == 0) {
        return false;
    }
    if (i < text.len && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < text.len && (p[i] == '+' || p[i] == '-')) {
            i++;
        }
        size_t exp_digits = 0;
        for (; i < text.len && p[i] >= '0' && p[i] <= '9'; i++) {
            exp_digits++;
        }
        if (exp_digits == 0) {
            return false;
        }
    }
    if (i != text.len) {
        return false;
    }
    char copy[CAST_DOUBLE_TEXT_MAX + 1];
    memcpy(copy, text.ptr, text.len);
    copy[text.len] = '\0';
    *out = strtod(copy, NULL);
    return true;
}

static enum err_code cast_double(const struct etl_value *in,
                                 const struct etl_typespec *to,
                                 struct etl_value *out,
                                 struct err *err)
{
    double d = 0;
    if (in->kind == ETL_V_DOUBLE) {
        d = in->d;
    } else if (in->kind == ETL_V_NUMBER || in->kind == ETL_V_STRING) {
        if (!parse_double(in->s, &d)) {
            return fail(in, to, "is not a number: it does not cast to", "", err);
        }
    } else {
        return cannot(in, to, err);
    }
    if (to->kind == ETL_TK_FLOAT) {
        d = (double)(float)d; /* rounded to single precision, as the cast table says */
    }
    if (isinf(d) && !(in->kind == ETL_V_DOUBLE && isinf(in->d))) {
        return fail(in, to, "is out of range for", "", err);
    }
    *out = etl_value_null();
    out->kind = ETL_V_DOUBLE;
    out->d = d;
    return ERR_OK;
}

static enum err_code cast_boolean(const struct etl_value *in,
                                  const struct etl_typespec *to,
                                  struct etl_value *out,
                                  struct err *err)
{
    bool b = false;
    struct err ignored = ERR_INIT;
    struct etl_decimal d;
    switch (in->kind) {
    case ETL_V_BOOL:
        b = in->b;
        break;
    case ETL_V_NUMBER:
        if (etl_decimal_parse(in->s, &d, &ignored) != ERR_OK ||
            !(d.n == 0 || (d.n == 1 && d.digits[0] == '1' && d.exp == 1 && !d.neg))) {
            return fail(in, to, "is neither 0 nor 1: it does not cast to", "", err);
        }
        b = d.n == 1;
        break;
    case ETL_V_STRING:
        if (cur_eq_nocase(in->s, "true") || cur_eq_str(in->s, "1")) {
            b = true;
        } else if (!cur_eq_nocase(in->s, "false") && !cur_eq_str(in->s, "0")) {
            return fail(in, to, "is not true, false, 1 or 0: it does not cast to", "", err);
        }
        break;
    default:
        return cannot(in, to, err);
    }
    *out = etl_value_null();
    out->kind = ETL_V_BOOL;
    out->b = b;
    return ERR_OK;
}

/* ---- times ---- */

/* An epoch NUMBER or DOUBLE as ms: seconds below 1e11, else ms; no fraction of a millisecond. */
static enum err_code epoch_ms(const struct etl_value *in,
                              const struct etl_typespec *to,
                              struct etl_arena *arena,
                              int64_t *ms,
                              struct err *err)
{
    struct etl_decimal d;
    enum err_code rc = decimal_of(in, to, arena, &d, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (d.n > 0 && d.exp <= CAST_EPOCH_SECONDS_BELOW_EXP) {
        d.exp += 3; /* seconds to milliseconds, exactly */
    }
    int int_d, frac_d;
    etl_decimal_shape(&d, &int_d, &frac_d);
    if (frac_d > 0) {
        return fail(in, to, "has a fraction of a millisecond: it does not cast to", "", err);
    }
    if (!etl_decimal_to_i64(&d, ms)) {
        return fail(in, to, "is out of range for", "", err);
    }
    return ERR_OK;
}

static enum err_code
iso_ms(const struct etl_value *in, const struct etl_typespec *to, int64_t *ms, struct err *err)
{
    bool date_only = false;
    const char *why = NULL;
    if (etl_datetime_parse_iso8601(in->s, ms, &date_only, &why)) {
        return ERR_OK;
    }
    char what[80], type[64];
    describe(in, what, sizeof(what));
    etl_typespec_name(to, type, sizeof(type));
    return err_set(err, ERR_INVALID_INPUT, "%s does not cast to %s: %s", what, type, why);
}

static enum err_code cast_time(const struct etl_value *in,
                               const struct etl_typespec *to,
                               struct etl_arena *arena,
                               struct etl_value *out,
                               struct err *err)
{
    int64_t ms = 0;
    enum err_code rc = ERR_OK;
    switch (in->kind) {
    case ETL_V_TIMESTAMP:
        ms = in->i;
        break;
    case ETL_V_DATE:
        if (__builtin_mul_overflow(in->i, ETL_DATETIME_MS_PER_DAY, &ms)) {
            return fail(in, to, "is out of range for", "", err);
        }
        break;
    case ETL_V_NUMBER:
    case ETL_V_DOUBLE:
        rc = epoch_ms(in, to, arena, &ms, err);
        break;
    case ETL_V_STRING:
        rc = iso_ms(in, to, &ms, err);
        break;
    default:
        return cannot(in, to, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    *out = etl_value_null();
    if (to->kind == ETL_TK_DATE) {
        out->kind = ETL_V_DATE;
        out->i = in->kind == ETL_V_DATE ? in->i : etl_datetime_day_of(ms);
    } else {
        out->kind = ETL_V_TIMESTAMP;
        out->i = ms;
    }
    return ERR_OK;
}

/* ---- arrays and maps ---- */

/* The most bytes etl_value_render_json writes for v. */
static size_t render_bound(const struct etl_value *v)
{
    switch (v->kind) {
    case ETL_V_STRING:
        return v->s.len * 6 + 2;
    case ETL_V_BINARY:
        return 4 * ((v->s.len + 2) / 3) + 2;
    case ETL_V_NUMBER:
    case ETL_V_JSON:
        return v->s.len + 72; /* a NUMBER outside JSON grammar may be rewritten (etl_value.c) */
    default:
        return 64;
    }
}

static enum err_code cast_nested(const struct etl_value *in,
                                 const struct etl_typespec *to,
                                 struct etl_arena *arena,
                                 struct etl_value *out,
                                 struct err *err)
{
    bool is_map = to->kind == ETL_TK_MAP;
    size_t lead = 0;
    while (lead < in->s.len && (in->s.ptr[lead] == ' ' || in->s.ptr[lead] == '\n' ||
                                in->s.ptr[lead] == '\t' || in->s.ptr[lead] == '\r')) {
        lead++;
    }
    if (in->kind != ETL_V_JSON || lead >= in->s.len || in->s.ptr[lead] != (is_map ? '{' : '[')) {
        return fail(in, to,
                    is_map ? "is not a JSON object: it does not cast to"
                           : "is not a JSON array: it does not cast to",
                    "", err);
    }
    struct json_val container = {.type = is_map ? JSON_OBJECT : JSON_ARRAY,
                                 .raw = cur_make(in->s.ptr + lead, in->s.len - lead)};
    struct json_iter it;
    struct json_val key, elem;
    struct buf b = BUF_INIT(0);
    size_t index = 0;
    enum err_code rc = arena_room(&b, arena, 2, err);
    if (rc == ERR_OK) {
        rc = buf_append_byte(&b, is_map ? '{' : '[', err);
    }
    json_iter_init(&it, &container);
    while (rc == ERR_OK &&
           (is_map ? json_object_next(&it, &key, &elem) : json_array_next(&it, &elem))) {
        struct etl_value v, cast;
        rc = etl_value_from_json(&elem, arena, &v, err);
        if (rc == ERR_OK) {
            rc = etl_cast(&v, to->elem, arena, &cast, err);
            if (rc != ERR_OK) {
                char where[96];
                if (is_map) {
                    snprintf(where, sizeof(where), "member %.*s",
                             (int)(key.raw.len > 40 ? 40 : key.raw.len), (const char *)key.raw.ptr);
                } else {
                    snprintf(where, sizeof(where), "element %zu", index);
                }
                (void)err_prefix(err, "%s", where);
            }
        }
        if (rc == ERR_OK) {
            rc = arena_room(&b, arena, (is_map ? key.raw.len + 2 : 1) + render_bound(&cast), err);
        }
        if (rc == ERR_OK && index > 0) {
            rc = buf_append_byte(&b, ',', err);
        }
        if (rc == ERR_OK && is_map) {
            rc = buf_append_cur(&b, key.raw, err);
            if (rc == ERR_OK) {
                rc = buf_append_byte(&b, ':', err);
            }
        }
        if (rc == ERR_OK) {
            rc = etl_value_render_json(&cast, &b, err);
        }
        index++;
    }
    if (rc == ERR_OK) {
        rc = arena_room(&b, arena, 1, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(&b, is_map ? '}' : ']', err);
    }
    if (rc == ERR_OK) {
        *out = etl_value_null();
        out->kind = ETL_V_JSON;
        out->s = buf_cur(&b);
    }
    return rc;
}

enum err_code etl_cast(const struct etl_value *in,
                       const struct etl_typespec *to,
                       struct etl_arena *arena,
                       struct etl_value *out,
                       struct err *err)
{
    if (in->kind == ETL_V_NULL) {
        *out = etl_value_null();
        return ERR_OK;
    }
    switch (to->kind) {
    case ETL_TK_STRING: {
        struct cur text;
        enum err_code rc = etl_value_text(in, arena, &text, err);
        if (rc == ERR_OK) {
            *out = etl_value_null();
            out->kind = ETL_V_STRING;
            out->s = text;
        }
        return rc;
    }
    case ETL_TK_BIGINT:
    case ETL_TK_INT:
    case ETL_TK_SMALLINT:
    case ETL_TK_TINYINT:
        return cast_integer(in, to, arena, out, err);
    case ETL_TK_DECIMAL:
        return cast_decimal(in, to, arena, out, err);
    case ETL_TK_DOUBLE:
    case ETL_TK_FLOAT:
        return cast_double(in, to, out, err);
    case ETL_TK_BOOLEAN:
        return cast_boolean(in, to, out, err);
    case ETL_TK_TIMESTAMP:
    case ETL_TK_DATE:
        return cast_time(in, to, arena, out, err);
    case ETL_TK_BINARY:
        if (in->kind != ETL_V_BINARY && in->kind != ETL_V_STRING) {
            return cannot(in, to, err);
        }
        *out = *in;
        out->kind = ETL_V_BINARY;
        return ERR_OK;
    case ETL_TK_ARRAY:
    case ETL_TK_MAP:
        return cast_nested(in, to, arena, out, err);
    default:
        return cannot(in, to, err);
    }
}
