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

/*
 * The converter reads each value as its iterator reaches it (json_iter_enter and friends): a
 * descriptor such as {"S":"..."} is walked once, where finding its end first (json_object_next)
 * and then reading it walked it twice.
 */

/* After an entered container's last member: `at` moves past it, and its bracket is written. */
static enum err_code close_container(struct json_iter *at,
                                     const struct json_iter *it,
                                     char bracket,
                                     struct buf *out,
                                     struct err *err)
{
    json_iter_leave(at, it);
    return buf_append_byte(out, (uint8_t)bracket, err);
}

/* A set (SS, NS, BS): the array the iterator stands at; members are strings. */
static enum err_code
append_set(struct json_iter *at, char type, struct buf *out, struct etl_path *path, struct err *err)
{
    struct json_iter it;
    if (!json_iter_enter(at, JSON_ARRAY, &it)) {
        return fail(err, path, "a set must be an array");
    }
    struct json_val v;
    size_t i = 0;
    enum err_code rc = buf_append_byte(out, '[', err);
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
    return rc == ERR_OK ? close_container(at, &it, ']', out, err) : rc;
}

static enum err_code value_at(struct json_iter *at,
                              struct buf *out,
                              enum etl_type *type,
                              int depth,
                              struct etl_path *path,
                              struct err *err);

/* M: the object the iterator stands at; each member's value is a descriptor. */
static enum err_code
append_map(struct json_iter *at, struct buf *out, int depth, struct etl_path *path, struct err *err)
{
    struct json_iter it;
    struct json_val k;
    enum etl_type ignored;
    bool first = true;
    (void)json_iter_enter(at, JSON_OBJECT, &it);
    enum err_code rc = buf_append_byte(out, '{', err);
    while (rc == ERR_OK && json_object_next_key(&it, &k)) {
        size_t saved = path_push_key(path, &k);
        if (!first) {
            rc = buf_append_byte(out, ',', err);
        }
        first = false;
        if (rc == ERR_OK) {
            rc = buf_append_cur(out, k.raw, err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(out, ':', err);
        }
        if (rc == ERR_OK) {
            rc = value_at(&it, out, &ignored, depth + 1, path, err);
        }
        path_pop(path, saved);
    }
    return rc == ERR_OK ? close_container(at, &it, '}', out, err) : rc;
}

/* L: the array the iterator stands at; each element is a descriptor. */
static enum err_code append_list(struct json_iter *at,
                                 struct buf *out,
                                 int depth,
                                 struct etl_path *path,
                                 struct err *err)
{
    struct json_iter it;
    enum json_type jt;
    enum etl_type ignored;
    size_t i = 0;
    (void)json_iter_enter(at, JSON_ARRAY, &it);
    enum err_code rc = buf_append_byte(out, '[', err);
    while (rc == ERR_OK && json_iter_peek(&it, &jt)) {
        size_t saved = path_push_index(path, i);
        if (i > 0) {
            rc = buf_append_byte(out, ',', err);
        }
        if (rc == ERR_OK) {
            rc = value_at(&it, out, &ignored, depth + 1, path, err);
        }
        path_pop(path, saved);
        i++;
    }
    return rc == ERR_OK ? close_container(at, &it, ']', out, err) : rc;
}

/* The value of a descriptor of type t (its JSON type jt), read from d, which stands at it. */
static enum err_code typed_value(struct json_iter *d,
                                 struct cur t,
                                 enum json_type jt,
                                 struct buf *out,
                                 enum etl_type *type,
                                 int depth,
                                 struct etl_path *path,
                                 struct err *err)
{
    struct json_val v;
    if (cur_eq_str(t, "S")) {
        if (jt != JSON_STRING || !json_array_next(d, &v)) {
            return fail(err, path, "S must be a string");
        }
        *type = ETL_T_S;
        return buf_append_cur(out, v.raw, err);
    }
    if (cur_eq_str(t, "N")) {
        if (jt != JSON_STRING || !json_array_next(d, &v)) {
            return fail(err, path, "N must be a string");
        }
        *type = ETL_T_N;
        return number_at(path, json_string_inner(&v), out, err);
    }
    if (cur_eq_str(t, "B")) {
        if (!json_array_next(d, &v) || !is_base64_string(&v)) {
            return fail(err, path, "B must be a base64 string");
        }
        *type = ETL_T_B;
        return buf_append_cur(out, v.raw, err);
    }
    if (cur_eq_str(t, "BOOL")) {
        if ((jt != JSON_TRUE && jt != JSON_FALSE) || !json_array_next(d, &v)) {
            return fail(err, path, "BOOL must be true or false");
        }
        *type = ETL_T_BOOL;
        return buf_append_cur(out, v.raw, err);
    }
    if (cur_eq_str(t, "NULL")) {
        if (jt != JSON_TRUE || !json_array_next(d, &v)) {
            return fail(err, path, "NULL must be true");
        }
        *type = ETL_T_NULL;
        return buf_append_str(out, "null", err);
    }
    if (cur_eq_str(t, "M")) {
        if (jt != JSON_OBJECT) {
            return fail(err, path, "M must be an object");
        }
        *type = ETL_T_M;
        return append_map(d, out, depth, path, err);
    }
    if (cur_eq_str(t, "L")) {
        if (jt != JSON_ARRAY) {
            return fail(err, path, "L must be an array");
        }
        *type = ETL_T_L;
        return append_list(d, out, depth, path, err);
    }
    if (cur_eq_str(t, "SS") || cur_eq_str(t, "NS") || cur_eq_str(t, "BS")) {
        *type = t.ptr[0] == 'S' ? ETL_T_SS : (t.ptr[0] == 'N' ? ETL_T_NS : ETL_T_BS);
        return append_set(d, (char)t.ptr[0], out, path, err);
    }
    char what[64];
    snprintf(what, sizeof(what), "unknown type \"%.*s\"", (int)(t.len > 20 ? 20 : t.len),
             (const char *)t.ptr);
    return fail(err, path, what);
}

/* True if the value `at` stands at is an object of more than one member (read from a copy). */
static bool several_members(struct json_iter at)
{
    struct json_val whole;
    return json_array_next(&at, &whole) && whole.type == JSON_OBJECT && json_count(&whole) > 1;
}

/* The descriptor `at` stands at, appended as plain JSON; `at` moves past it. A descriptor with
 * two types is reported as such even when its first type's value is also wrong (the check
 * comes first in meaning; in the walk it comes last, so it is repeated on the error path). */
static enum err_code value_at(struct json_iter *at,
                              struct buf *out,
                              enum etl_type *type,
                              int depth,
                              struct etl_path *path,
                              struct err *err)
{
    if (depth > ETL_DDB_MAX_DEPTH + 1) {
        return fail(err, path, "nested deeper than DynamoDB's 32 levels");
    }
    struct json_iter start = *at;
    struct json_iter d;
    struct json_val tkey, extra;
    enum json_type jt;
    if (!json_iter_enter(at, JSON_OBJECT, &d)) {
        return fail(err, path, "expected a type descriptor object like {\"S\": ...}");
    }
    if (!json_object_next_key(&d, &tkey) || !json_iter_peek(&d, &jt)) {
        return fail(err, path, "empty type descriptor");
    }
    enum err_code rc = typed_value(&d, json_string_inner(&tkey), jt, out, type, depth, path, err);
    if (rc == ERR_OK ? json_object_next_key(&d, &extra) : several_members(start)) {
        return fail(err, path, "type descriptor with more than one type");
    }
    if (rc == ERR_OK) {
        json_iter_leave(at, &d);
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
    struct json_iter one;
    json_iter_single(&one, typed);
    return value_at(&one, out, type, depth, path, err);
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

/* The attribute `name` whose descriptor `at` stands at (`at` moves past it). */
static enum err_code add_column(struct etl_row_builder *b,
                                const struct json_val *name,
                                struct json_iter *at,
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
        rc = value_at(at, b->store, &type, 1, &path, err);
    }
    if (rc == ERR_OK) {
        etl_row_col_set_type(b, type);
        etl_row_col_end(b);
    }
    return rc;
}

/* The item's attributes, each converted as the walk `it` (inside the item) reaches it; bit i of
 * *seen is set when an attribute's name, as it stands, is names[i]. */
static enum err_code item_walk_at(struct etl_row_builder *b,
                                  struct json_iter *it,
                                  const struct cur *names,
                                  size_t n_names,
                                  unsigned *seen,
                                  const char *const *reserved,
                                  struct err *err)
{
    struct json_val k;
    enum err_code rc = ERR_OK;
    while (rc == ERR_OK && json_object_next_key(it, &k)) {
        struct cur name = json_string_inner(&k);
        for (size_t i = 0; i < n_names; i++) {
            if (cur_eq(name, names[i])) {
                *seen |= 1u << i;
            }
        }
        rc = add_column(b, &k, it, reserved, err);
    }
    return rc;
}

static enum err_code item_walk(struct etl_row_builder *b,
                               const struct json_val *item,
                               const struct cur *names,
                               size_t n_names,
                               unsigned *seen,
                               const char *const *reserved,
                               struct err *err)
{
    struct json_iter it;
    json_iter_init(&it, item);
    return item_walk_at(b, &it, names, n_names, seen, reserved, err);
}

/* Key attributes the image lacks (looked up by name), then the image's attributes. */
static enum err_code keys_first(struct etl_row_builder *b,
                                const struct json_val *item,
                                const struct json_val *keys,
                                const char *const *reserved,
                                struct err *err)
{
    struct json_iter it;
    struct json_val k, v, found;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, keys);
    while (rc == ERR_OK && json_object_next_key(&it, &k)) {
        char name[512];
        if (json_string_copy(&k, name, sizeof(name)) && !json_object_get(item, name, &found)) {
            rc = add_column(b, &k, &it, reserved, err);
        } else {
            (void)json_array_next(&it, &v); /* in the image: skipped here */
        }
    }
    unsigned none = 0;
    return rc == ERR_OK ? item_walk(b, item, NULL, 0, &none, reserved, err) : rc;
}

/* DynamoDB keys have one or two attributes; more (or a name with escapes) are looked up. */
#define KEY_NAMES_MAX 4

/* The names of keys, unescaped being their own text; false if one has escapes or too many. */
static bool plain_key_names(const struct json_val *keys, struct cur *names, size_t *n)
{
    struct json_iter it;
    struct json_val k, v;
    *n = 0;
    json_iter_init(&it, keys);
    while (json_object_next(&it, &k, &v)) {
        if (*n == KEY_NAMES_MAX || !json_string_is_plain(&k)) {
            return false;
        }
        names[(*n)++] = json_string_inner(&k);
    }
    return true;
}

enum err_code etl_ddbjson_item_columns(struct etl_row_builder *b,
                                       const struct json_val *item,
                                       const struct json_val *keys,
                                       const char *const *reserved,
                                       struct err *err)
{
    struct json_iter one;
    json_iter_single(&one, item);
    return etl_ddbjson_item_columns_at(b, &one, keys == item ? NULL : keys, reserved, err);
}

enum err_code etl_ddbjson_item_columns_at(struct etl_row_builder *b,
                                          struct json_iter *at,
                                          const struct json_val *keys,
                                          const char *const *reserved,
                                          struct err *err)
{
    struct json_iter before = *at, it;
    struct json_val item;
    if (!json_iter_enter(at, JSON_OBJECT, &it)) {
        return err_set(err, ERR_INVALID_INPUT, "item image is not an object");
    }
    unsigned seen = 0;
    struct cur names[KEY_NAMES_MAX];
    size_t n_names = 0;
    bool with_keys = keys != NULL && keys->type == JSON_OBJECT;
    /* Key attributes the image lacks come first. Images almost always carry their keys: find
     * them by name while converting the image, and only if one is not found start again with
     * keys_first, which looks each key up (an image's name with escapes is not compared: if it
     * is a key's, keys_first finds it). An error starts again too, so that the error is the one
     * keys_first alone would give. */
    if (!with_keys || plain_key_names(keys, names, &n_names)) {
        struct etl_row_mark mark = etl_row_mark(b);
        enum err_code rc =
            item_walk_at(b, &it, with_keys ? names : NULL, n_names, &seen, reserved, err);
        if (rc == ERR_OK && (!with_keys || seen == (1u << n_names) - 1)) {
            json_iter_leave(at, &it);
            return ERR_OK;
        }
        if (!with_keys) {
            return rc;
        }
        etl_row_rewind(b, mark);
    }
    /* A key the image lacks, or an error: the image read whole, for keys_first. */
    *at = before;
    if (!json_array_next(at, &item)) {
        return err_set(err, ERR_INVALID_INPUT, "item image is not valid JSON");
    }
    return keys_first(b, &item, keys, reserved, err);
}
