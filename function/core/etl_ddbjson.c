/*
 * etl_ddbjson.c - DynamoDB JSON to plain JSON. Recursion is bounded by ETL_DDB_MAX_DEPTH, and
 * every error names the attribute path so a bad record can be found in the source table.
 */
#include "etl_ddbjson.h"

#include <stdio.h>
#include <string.h>

#include "digest.h"

void etl_path_init(struct etl_path *p)
{
    p->n = 0;
}

/* Counts n bytes just printed at the end of the text (snprintf's count: clipped to cap - 1). */
static void text_grow(size_t *len, size_t cap, int n)
{
    if (n > 0) {
        *len += (size_t)n;
        if (*len >= cap) {
            *len = cap - 1;
        }
    }
}

void etl_path_format(const struct etl_path *p, char *out, size_t cap)
{
    size_t len = 0;
    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    size_t n = p->n < ETL_PATH_SEGMENTS ? p->n : ETL_PATH_SEGMENTS;
    for (size_t i = 0; i < n; i++) {
        const struct etl_path_seg *s = &p->seg[i];
        int w;
        if (s->name.ptr != NULL) {
            w = snprintf(out + len, cap - len, "%s%.*s", len > 0 ? "." : "",
                         (int)(s->name.len > 80 ? 80 : s->name.len), (const char *)s->name.ptr);
        } else {
            w = snprintf(out + len, cap - len, "[%zu]", s->index);
        }
        text_grow(&len, cap, w);
    }
}

static size_t path_push_key(struct etl_path *p, const struct json_val *key)
{
    size_t saved = p->n;
    if (p->n < ETL_PATH_SEGMENTS) {
        struct cur name = json_string_inner(key);
        /* An empty name is still a step ("a." + ""), never an index. */
        p->seg[p->n] =
            (struct etl_path_seg){name.ptr != NULL ? name : cur_make((const uint8_t *)"", 0), 0};
    }
    p->n++;
    return saved;
}

static size_t path_push_index(struct etl_path *p, size_t i)
{
    size_t saved = p->n;
    if (p->n < ETL_PATH_SEGMENTS) {
        p->seg[p->n] = (struct etl_path_seg){cur_make(NULL, 0), i};
    }
    p->n++;
    return saved;
}

static void path_pop(struct etl_path *p, size_t saved)
{
    p->n = saved;
}

static enum err_code fail(struct err *err, const struct etl_path *path, const char *what)
{
    char text[ETL_PATH_MAX];
    etl_path_format(path, text, sizeof(text));
    return err_set(err, ERR_INVALID_INPUT, "attribute \"%s\": %s", text, what);
}

/* An N (or NS member) at path: its error names the attribute. */
static enum err_code
number_at(const struct etl_path *path, struct cur text, struct buf *out, struct err *err)
{
    enum err_code rc = etl_ddbjson_number(text, out, err);
    if (rc != ERR_OK) {
        char where[ETL_PATH_MAX];
        etl_path_format(path, where, sizeof(where));
        (void)err_prefix(err, "attribute \"%s\"", where);
    }
    return rc;
}

/* A B value (or BS member): a string of plain base64, with no JSON escapes. */
static bool is_base64_string(const struct json_val *v)
{
    struct cur in = json_string_inner(v);
    return v->type == JSON_STRING && json_string_is_plain(v) &&
           digest_is_base64((const char *)in.ptr, in.len);
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Notes the positions of non-zero digits among n more digits (*idx counts all seen so far). */
static void note_nonzero(const uint8_t *digits, size_t n, size_t *idx, size_t *first, size_t *last)
{
    for (size_t i = 0; i < n; i++, (*idx)++) {
        if (digits[i] != '0') {
            if (*first == SIZE_MAX) {
                *first = *idx;
            }
            *last = *idx;
        }
    }
}

enum err_code etl_ddbjson_number(struct cur text, struct buf *out, struct err *err)
{
    const uint8_t *p = text.ptr;
    const uint8_t *end = p + text.len;
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    const uint8_t *int_start = p;
    while (p < end && is_digit(*p)) {
        p++;
    }
    const uint8_t *int_end = p;
    const uint8_t *frac_start = NULL, *frac_end = NULL;
    if (p < end && *p == '.') {
        p++;
        frac_start = p;
        while (p < end && is_digit(*p)) {
            p++;
        }
        frac_end = p;
    }
    size_t int_len = (size_t)(int_end - int_start);
    size_t frac_len = frac_start != NULL ? (size_t)(frac_end - frac_start) : 0;
    if (int_len + frac_len == 0) {
        return err_set(err, ERR_INVALID_INPUT, "N \"%.*s\" is not a number",
                       (int)(text.len > 40 ? 40 : text.len), (const char *)text.ptr);
    }
    const uint8_t *exp_start = NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        exp_start = p;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        const uint8_t *ed = p;
        while (p < end && is_digit(*p)) {
            p++;
        }
        if (p == ed) {
            return err_set(err, ERR_INVALID_INPUT, "N \"%.*s\" has an empty exponent",
                           (int)(text.len > 40 ? 40 : text.len), (const char *)text.ptr);
        }
    }
    if (p != end) {
        return err_set(err, ERR_INVALID_INPUT, "N \"%.*s\" is not a number",
                       (int)(text.len > 40 ? 40 : text.len), (const char *)text.ptr);
    }
    /* Significant digits: from the first non-zero digit to the last non-zero digit. */
    size_t first = SIZE_MAX, last = 0, idx = 0;
    note_nonzero(int_start, int_len, &idx, &first, &last);
    note_nonzero(frac_start, frac_len, &idx, &first, &last);
    size_t sig = first == SIZE_MAX ? 0 : last - first + 1;
    if (sig > ETL_DDB_MAX_DIGITS) {
        return err_set(err, ERR_INVALID_INPUT, "N has %zu significant digits (max %d)", sig,
                       ETL_DDB_MAX_DIGITS);
    }
    /* Emit in JSON grammar with the same digits. */
    enum err_code rc = ERR_OK;
    if (neg) {
        rc = buf_append_byte(out, '-', err);
    }
    while (int_len > 1 && *int_start == '0') {
        int_start++;
        int_len--;
    }
    if (rc == ERR_OK) {
        rc =
            int_len > 0 ? buf_append(out, int_start, int_len, err) : buf_append_byte(out, '0', err);
    }
    if (rc == ERR_OK && frac_len > 0) {
        rc = buf_append_byte(out, '.', err);
        if (rc == ERR_OK) {
            rc = buf_append(out, frac_start, frac_len, err);
        }
    }
    if (rc == ERR_OK && exp_start != NULL) {
        rc = buf_append(out, exp_start, (size_t)(end - exp_start), err);
    }
    return rc;
}

static enum err_code append_set(const struct json_val *arr,
                                char type,
                                struct buf *out,
                                struct etl_path *path,
                                struct err *err)
{
    if (arr->type != JSON_ARRAY) {
        return fail(err, path, "a set must be an array");
    }
    struct json_iter it;
    struct json_val v;
    size_t i = 0;
    enum err_code rc = buf_append_byte(out, '[', err);
    json_iter_init(&it, arr);
    while (rc == ERR_OK && json_array_next(&it, &v)) {
        size_t saved = path_push_index(path, i);
        if (v.type != JSON_STRING) {
            rc = fail(err, path, "set members must be strings");
        }
        if (rc == ERR_OK && i > 0) {
            rc = buf_append_byte(out, ',', err);
        }
        if (rc == ERR_OK) {
            if (type == 'N') {
                rc = number_at(path, json_string_inner(&v), out, err);
            } else {
                if (type == 'B' && !is_base64_string(&v)) {
                    rc = fail(err, path, "BS member is not base64");
                }
                if (rc == ERR_OK) {
                    rc = buf_append_cur(out, v.raw, err);
                }
            }
        }
        path_pop(path, saved);
        i++;
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(out, ']', err);
    }
    return rc;
}

enum err_code etl_ddbjson_value(const struct json_val *typed,
                                struct buf *out,
                                enum etl_type *type,
                                int depth,
                                struct etl_path *path,
                                struct err *err)
{
    if (depth > ETL_DDB_MAX_DEPTH + 1) {
        return fail(err, path, "nested deeper than DynamoDB's 32 levels");
    }
    if (typed->type != JSON_OBJECT) {
        return fail(err, path, "expected a type descriptor object like {\"S\": ...}");
    }
    struct json_iter it;
    struct json_val tkey, v, extra_k, extra_v;
    json_iter_init(&it, typed);
    if (!json_object_next(&it, &tkey, &v)) {
        return fail(err, path, "empty type descriptor");
    }
    if (json_object_next(&it, &extra_k, &extra_v)) {
        return fail(err, path, "type descriptor with more than one type");
    }
    struct cur t = json_string_inner(&tkey);
    enum err_code rc = ERR_OK;
    if (cur_eq_str(t, "S")) {
        if (v.type != JSON_STRING) {
            return fail(err, path, "S must be a string");
        }
        *type = ETL_T_S;
        return buf_append_cur(out, v.raw, err);
    }
    if (cur_eq_str(t, "N")) {
        if (v.type != JSON_STRING) {
            return fail(err, path, "N must be a string");
        }
        *type = ETL_T_N;
        return number_at(path, json_string_inner(&v), out, err);
    }
    if (cur_eq_str(t, "B")) {
        if (!is_base64_string(&v)) {
            return fail(err, path, "B must be a base64 string");
        }
        *type = ETL_T_B;
        return buf_append_cur(out, v.raw, err);
    }
    if (cur_eq_str(t, "BOOL")) {
        if (v.type != JSON_TRUE && v.type != JSON_FALSE) {
            return fail(err, path, "BOOL must be true or false");
        }
        *type = ETL_T_BOOL;
        return buf_append_cur(out, v.raw, err);
    }
    if (cur_eq_str(t, "NULL")) {
        if (v.type != JSON_TRUE) {
            return fail(err, path, "NULL must be true");
        }
        *type = ETL_T_NULL;
        return buf_append_str(out, "null", err);
    }
    if (cur_eq_str(t, "M")) {
        if (v.type != JSON_OBJECT) {
            return fail(err, path, "M must be an object");
        }
        *type = ETL_T_M;
        struct json_iter mit;
        struct json_val mk, mv;
        enum etl_type ignored;
        bool first = true;
        rc = buf_append_byte(out, '{', err);
        json_iter_init(&mit, &v);
        while (rc == ERR_OK && json_object_next(&mit, &mk, &mv)) {
            size_t saved = path_push_key(path, &mk);
            if (!first) {
                rc = buf_append_byte(out, ',', err);
            }
            first = false;
            if (rc == ERR_OK) {
                rc = buf_append_cur(out, mk.raw, err);
            }
            if (rc == ERR_OK) {
                rc = buf_append_byte(out, ':', err);
            }
            if (rc == ERR_OK) {
                rc = etl_ddbjson_value(&mv, out, &ignored, depth + 1, path, err);
            }
            path_pop(path, saved);
        }
        return rc == ERR_OK ? buf_append_byte(out, '}', err) : rc;
    }
    if (cur_eq_str(t, "L")) {
        if (v.type != JSON_ARRAY) {
            return fail(err, path, "L must be an array");
        }
        *type = ETL_T_L;
        struct json_iter lit;
        struct json_val lv;
        enum etl_type ignored;
        size_t i = 0;
        rc = buf_append_byte(out, '[', err);
        json_iter_init(&lit, &v);
        while (rc == ERR_OK && json_array_next(&lit, &lv)) {
            size_t saved = path_push_index(path, i);
            if (i > 0) {
                rc = buf_append_byte(out, ',', err);
            }
            if (rc == ERR_OK) {
                rc = etl_ddbjson_value(&lv, out, &ignored, depth + 1, path, err);
            }
            path_pop(path, saved);
            i++;
        }
        return rc == ERR_OK ? buf_append_byte(out, ']', err) : rc;
    }
    if (cur_eq_str(t, "SS") || cur_eq_str(t, "NS") || cur_eq_str(t, "BS")) {
        *type = t.ptr[0] == 'S' ? ETL_T_SS : (t.ptr[0] == 'N' ? ETL_T_NS : ETL_T_BS);
        return append_set(&v, (char)t.ptr[0], out, path, err);
    }
    char what[64];
    snprintf(what, sizeof(what), "unknown type \"%.*s\"", (int)(t.len > 20 ? 20 : t.len),
             (const char *)t.ptr);
    return fail(err, path, what);
}

bool etl_ddbjson_escaped(struct cur name, const char *const *reserved)
{
    while (name.len >= 5 && memcmp(name.ptr, "_item", 5) == 0) {
        name.ptr += 5;
        name.len -= 5;
    }
    for (const char *const *r = reserved; r != NULL && *r != NULL; r++) {
        if (cur_eq_str(name, *r)) {
            return true;
        }
    }
    return false;
}

/* etl_ddbjson_escaped on a name literal. */
static enum err_code
is_reserved(const struct json_val *name, const char *const *reserved, bool *out, struct err *err)
{
    if (json_string_is_plain(name)) {
        *out = etl_ddbjson_escaped(json_string_inner(name), reserved);
        return ERR_OK;
    }
    struct buf text = BUF_INIT(0);
    enum err_code rc = json_string_unescape(name, &text, err);
    *out = rc == ERR_OK && etl_ddbjson_escaped(buf_cur(&text), reserved);
    buf_cleanup(&text);
    return rc;
}

static enum err_code add_column(struct etl_row_builder *b,
                                const struct json_val *name,
                                const struct json_val *typed,
                                const char *const *reserved,
                                struct err *err)
{
    struct etl_path path;
    etl_path_init(&path);
    (void)path_push_key(&path, name);
    bool escape = false;
    enum err_code rc = is_reserved(name, reserved, &escape, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (escape) {
        /* "_op" becomes "_item_op": the metadata column keeps its meaning; and "_item_op"
         * becomes "_item_item_op", so that no two attributes get one name. */
        struct buf renamed = BUF_INIT(0);
        struct cur inner = json_string_inner(name);
        rc = buf_append_str(&renamed, "\"_item", err);
        if (rc == ERR_OK) {
            rc = buf_append(&renamed, inner.ptr, inner.len, err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(&renamed, '"', err);
        }
        if (rc == ERR_OK) {
            rc = etl_row_col_begin(b, ETL_T_NULL, ETL_COL_RENAMED, buf_cur(&renamed), err);
        }
        buf_cleanup(&renamed);
    } else {
        rc = etl_row_col_begin(b, ETL_T_NULL, 0, name->raw, err);
    }
    enum etl_type type = ETL_T_NULL;
    if (rc == ERR_OK) {
        rc = etl_ddbjson_value(typed, b->store, &type, 1, &path, err);
    }
    if (rc == ERR_OK) {
        etl_row_col_set_type(b, type);
        etl_row_col_end(b);
    }
    return rc;
}

enum err_code etl_ddbjson_item_columns(struct etl_row_builder *b,
                                       const struct json_val *item,
                                       const struct json_val *keys,
                                       const char *const *reserved,
                                       struct err *err)
{
    if (item->type != JSON_OBJECT) {
        return err_set(err, ERR_INVALID_INPUT, "item image is not an object");
    }
    struct json_iter it;
    struct json_val k, v, found;
    enum err_code rc = ERR_OK;
    if (keys != NULL && keys != item && keys->type == JSON_OBJECT) {
        /* Key attributes the image lacks come first, from Keys. */
        json_iter_init(&it, keys);
        while (rc == ERR_OK && json_object_next(&it, &k, &v)) {
            char name[512];
            if (json_string_copy(&k, name, sizeof(name)) && !json_object_get(item, name, &found)) {
                rc = add_column(b, &k, &v, reserved, err);
            }
        }
    }
    json_iter_init(&it, item);
    while (rc == ERR_OK && json_object_next(&it, &k, &v)) {
        rc = add_column(b, &k, &v, reserved, err);
    }
    return rc;
}
