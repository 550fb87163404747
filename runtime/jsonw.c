/*
 * jsonw.c - the JSON writer: each value first writes what separates it from the previous one
 * (nothing, ",", ", " or a newline and indentation, by its container's style), then itself. The
 * first failure sticks, so call sites need no error checks between calls.
 */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Two spaces per level, JSONW_MAX_DEPTH levels at most. */
static const char SPACES[] = "                                                                ";

_Static_assert(sizeof(SPACES) - 1 == 2 * JSONW_MAX_DEPTH, "indentation for every level");

void jsonw_init(struct jsonw *w, struct buf *out, struct err *err)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->err = err;
    w->rc = ERR_OK;
}

static void fail_invalid(struct jsonw *w, const char *what)
{
    if (w->rc == ERR_OK) {
        w->rc = err_set(w->err, ERR_INVALID_INPUT, "jsonw: %s", what);
    }
}

static void put(struct jsonw *w, const void *p, size_t n)
{
    if (w->rc == ERR_OK) {
        w->rc = buf_append(w->out, p, n, w->err);
    }
}

static void put_str(struct jsonw *w, const char *s)
{
    put(w, s, strlen(s));
}

static void newline_indent(struct jsonw *w, int levels)
{
    put(w, "\n", 1);
    put(w, SPACES, 2 * (size_t)levels);
}

/* What goes before a member or element of the innermost container. */
static void separate(struct jsonw *w)
{
    int d = w->depth - 1;
    if (!w->first[d]) {
        put(w, ",", 1);
    }
    if (w->style[d] == JSONW_PRETTY) {
        newline_indent(w, w->depth);
    } else if (w->style[d] == JSONW_SPACED && !w->first[d]) {
        put(w, " ", 1);
    }
    w->first[d] = false;
}

/* Separates a value from what came before; false when nothing may be written. */
static bool begin_value(struct jsonw *w)
{
    if (w->rc != ERR_OK) {
        return false;
    }
    if (w->after_key) {
        w->after_key = false;
        return true;
    }
    if (w->depth == 0) {
        return true;
    }
    if (w->object[w->depth - 1]) {
        fail_invalid(w, "a value inside an object needs its key first");
        return false;
    }
    separate(w);
    return w->rc == ERR_OK;
}

static void begin_container(struct jsonw *w, enum jsonw_style style, bool object)
{
    if (w->rc == ERR_OK && w->depth == JSONW_MAX_DEPTH) {
        fail_invalid(w, "containers nested more than JSONW_MAX_DEPTH deep");
    }
    if (!begin_value(w)) {
        return;
    }
    put(w, object ? "{" : "[", 1);
    w->style[w->depth] = style;
    w->first[w->depth] = true;
    w->object[w->depth] = object;
    w->depth++;
}

void jsonw_object(struct jsonw *w, enum jsonw_style style)
{
    begin_container(w, style, true);
}

void jsonw_array(struct jsonw *w, enum jsonw_style style)
{
    begin_container(w, style, false);
}

void jsonw_end(struct jsonw *w)
{
    if (w->rc != ERR_OK) {
        return;
    }
    if (w->depth == 0) {
        fail_invalid(w, "end with no container open");
        return;
    }
    if (w->after_key) {
        fail_invalid(w, "a key has no value before the end of its object");
        return;
    }
    int d = w->depth - 1;
    if (w->style[d] == JSONW_PRETTY) {
        /* Even when empty: the manifest's "files": [\n  ] depends on it. */
        newline_indent(w, d);
    }
    put(w, w->object[d] ? "}" : "]", 1);
    w->depth--;
}

void jsonw_key(struct jsonw *w, const char *key)
{
    if (w->rc != ERR_OK) {
        return;
    }
    if (w->depth == 0 || !w->object[w->depth - 1]) {
        fail_invalid(w, "a key outside an object");
        return;
    }
    if (w->after_key) {
        fail_invalid(w, "a key follows a key without a value");
        return;
    }
    if (key == NULL) {
        fail_invalid(w, "a NULL key");
        return;
    }
    separate(w);
    if (w->rc == ERR_OK) {
        w->rc = buf_append_json_str(w->out, key, strlen(key), w->err);
    }
    put_str(w, w->style[w->depth - 1] == JSONW_COMPACT ? ":" : ": ");
    w->after_key = w->rc == ERR_OK;
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
    if (!begin_value(w)) {
        return;
    }
    if (s == NULL) {
        put_str(w, "null");
        return;
    }
    w->rc = buf_append_json_str(w->out, s, n, w->err);
}

void jsonw_str(struct jsonw *w, const char *s)
{
    jsonw_strn(w, s, s != NULL ? strlen(s) : 0);
}

void jsonw_i64(struct jsonw *w, int64_t v)
{
    if (begin_value(w)) {
        w->rc = buf_append_i64(w->out, v, w->err);
    }
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
    if (begin_value(w)) {
        char tmp[24];
        int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
        put(w, tmp, (size_t)n);
    }
}

/* True for "%[.P][l]C" with P of 0 to 2 digits and C one of f e E g G: formats whose output for a
 * finite double is a JSON number. Flags are refused: '+' and '0' padding and '#' ("3.") are not
 * JSON; width pads with spaces; %a is hexadecimal. */
static bool is_double_format(const char *fmt)
{
    const char *p = fmt;
    if (*p++ != '%') {
        return false;
    }
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
        if (digits == 0 || digits > 2) {
            return false;
        }
    }
    if (*p == 'l') {
        p++;
    }
    if (*p == '\0' || strchr("feEgG", *p) == NULL) {
        return false;
    }
    return p[1] == '\0';
}

/* fmt was checked by is_double_format: one double conversion, nothing else. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int format_double(char *dst, size_t cap, const char *fmt, double v)
{
    return snprintf(dst, cap, fmt, v);
}
#pragma GCC diagnostic pop

void jsonw_double(struct jsonw *w, const char *fmt, double v)
{
    if (w->rc != ERR_OK) {
        return;
    }
    if (fmt == NULL || !is_double_format(fmt)) {
        fail_invalid(w, "a double format other than one %[.P]f/e/g conversion");
        return;
    }
    if (!begin_value(w)) {
        return;
    }
    if (!isfinite(v)) {
        put_str(w, "null"); /* JSON has no NaN or infinity */
        return;
    }
    /* The longest: "%.99f" of -DBL_MAX, a sign, 309 digits, a point and 99 decimals. */
    char tmp[512];
    int n = format_double(tmp, sizeof(tmp), fmt, v);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        fail_invalid(w, "a double that does not fit its format's buffer");
        return;
    }
    put(w, tmp, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
    if (begin_value(w)) {
        put_str(w, v ? "true" : "false");
    }
}

void jsonw_null(struct jsonw *w)
{
    if (begin_value(w)) {
        put_str(w, "null");
    }
}

void jsonw_raw(struct jsonw *w, struct cur json)
{
    if (w->rc != ERR_OK) {
        return;
    }
    if (json.len == 0 || json.ptr == NULL) {
        fail_invalid(w, "an empty raw value");
        return;
    }
    if (begin_value(w)) {
        put(w, json.ptr, json.len);
    }
}

void jsonw_text(struct jsonw *w, const char *text)
{
    if (w->rc != ERR_OK) {
        return;
    }
    if (w->depth > 0 || w->after_key) {
        fail_invalid(w, "text inside a value (only between top-level values)");
        return;
    }
    put_str(w, text != NULL ? text : "");
}

void jsonw_fail(struct jsonw *w, const struct err *e)
{
    if (w->rc != ERR_OK) {
        return;
    }
    w->rc = e->code != ERR_OK ? e->code : ERR_INVALID_INPUT;
    if (w->err != NULL) {
        *w->err = *e;
        w->err->code = w->rc;
    }
}

enum err_code jsonw_finish(struct jsonw *w)
{
    if (w->rc != ERR_OK) {
        return w->rc;
    }
    if (w->after_key) {
        fail_invalid(w, "a key has no value");
    } else if (w->depth > 0) {
        w->rc = err_set(w->err, ERR_INVALID_INPUT, "jsonw: %d container(s) still open", w->depth);
    }
    return w->rc;
}
