/*
 * etl_colpath.c - column paths: parsed once (at spec load), walked per row without allocating:
 * the row's columns are scanned for the name, then the column's JSON is walked with json_iter.
 */
#include "etl_colpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_utf8.h"

/* Indexes past this are refused: DynamoDB items hold at most 400 KB, so no list is longer. */
#define COLPATH_MAX_INDEX 1000000000u

static bool is_name_start(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(uint8_t c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* The 1-based column of byte offset pos, counting UTF-8 characters. */
static size_t column_of(struct cur text, size_t pos)
{
    return 1 + etl_utf8_count(text.ptr, pos < text.len ? pos : text.len);
}

static enum err_code fail(struct cur text, size_t pos, const char *what, struct err *err)
{
    return err_set(err, ERR_INVALID_INPUT, "column %zu: %s", column_of(text, pos), what);
}

static enum err_code add_seg(struct etl_colpath *p, size_t *cap, struct err *err)
{
    struct etl_colpath_seg *segs = mem_grow(p->segs, cap, p->n, sizeof(*segs), 4);
    if (segs == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory parsing a column path");
    }
    p->segs = segs;
    memset(&p->segs[p->n], 0, sizeof(p->segs[p->n]));
    p->n++;
    return ERR_OK;
}

/* A bare or quoted name at *pos into seg; advances *pos. */
static enum err_code parse_name(struct cur text,
                                size_t *pos,
                                struct etl_colpath_seg *seg,
                                const char *expected,
                                struct err *err)
{
    size_t i = *pos;
    if (i < text.len && is_name_start(text.ptr[i])) {
        size_t start = i;
        while (i < text.len && is_name_char(text.ptr[i])) {
            i++;
        }
        seg->name = cur_strdup(cur_make(text.ptr + start, i - start));
        seg->name_len = i - start;
    } else if (i < text.len && text.ptr[i] == '"') {
        /* "" stands for one quote; the unescaped name is never longer than the quoted text. */
        char *name = malloc(text.len - i);
        if (name == NULL) {
            return err_set(err, ERR_NOMEM, "out of memory parsing a column path");
        }
        size_t n = 0;
        i++;
        for (;;) {
            if (i >= text.len) {
                free(name);
                return fail(text, *pos, "unterminated quoted name", err);
            }
            uint8_t c = text.ptr[i];
            if (c == '"' && i + 1 < text.len && text.ptr[i + 1] == '"') {
                name[n++] = '"';
                i += 2;
                continue;
            }
            if (c == '"') {
                i++;
                break;
            }
            if (c == '\0') {
                free(name);
                return fail(text, i, "a name cannot hold a NUL byte", err);
            }
            name[n++] = (char)c;
            i++;
        }
        if (n == 0) {
            free(name);
            return fail(text, *pos, "empty quoted name", err);
        }
        name[n] = '\0';
        seg->name = name;
        seg->name_len = n;
    } else {
        return fail(text, i, expected, err);
    }
    if (seg->name == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory parsing a column path");
    }
    *pos = i;
    return ERR_OK;
}

static enum err_code parse_index(struct cur text, size_t *pos, size_t *index, struct err *err)
{
    size_t i = *pos + 1; /* after '[' */
    size_t start = i, v = 0;
    while (i < text.len && text.ptr[i] >= '0' && text.ptr[i] <= '9') {
        v = v * 10 + (text.ptr[i] - '0');
        if (v > COLPATH_MAX_INDEX) {
            return fail(text, start, "index too large", err);
        }
        i++;
    }
    if (i == start) {
        return fail(text, i, "expected an index (0, 1, ...) after '['", err);
    }
    if (i >= text.len || text.ptr[i] != ']') {
        return fail(text, i, "expected ']' after the index", err);
    }
    *index = v;
    *pos = i + 1;
    return ERR_OK;
}

enum err_code
etl_colpath_parse_prefix(struct cur text, struct etl_colpath *out, size_t *used, struct err *err)
{
    memset(out, 0, sizeof(*out));
    *used = 0;
    if (text.len == 0 || (!is_name_start(text.ptr[0]) && text.ptr[0] != '"')) {
        return ERR_OK;
    }
    size_t cap = 0, pos = 0;
    enum err_code rc = add_seg(out, &cap, err);
    if (rc == ERR_OK) {
        rc = parse_name(text, &pos, &out->segs[0], "expected a column name", err);
    }
    while (rc == ERR_OK && pos < text.len && (text.ptr[pos] == '.' || text.ptr[pos] == '[')) {
        rc = add_seg(out, &cap, err);
        if (rc != ERR_OK) {
            break;
        }
        struct etl_colpath_seg *seg = &out->segs[out->n - 1];
        if (text.ptr[pos] == '.') {
            pos++;
            rc = parse_name(text, &pos, seg, "expected a name after '.'", err);
        } else {
            seg->is_index = true;
            rc = parse_index(text, &pos, &seg->index, err);
        }
    }
    if (rc != ERR_OK) {
        etl_colpath_cleanup(out);
        return rc;
    }
    *used = pos;
    return ERR_OK;
}

enum err_code etl_colpath_parse(struct cur text, struct etl_colpath *out, struct err *err)
{
    size_t used = 0;
    enum err_code rc = etl_colpath_parse_prefix(text, out, &used, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (used == 0) {
        return fail(text, 0, "expected a column name", err);
    }
    if (used != text.len) {
        etl_colpath_cleanup(out);
        char what[64];
        uint8_t c = text.ptr[used];
        snprintf(what, sizeof(what),
                 c >= 0x20 && c < 0x7F ? "unexpected '%c' after the path"
                                       : "unexpected byte 0x%02x after the path",
                 c);
        return fail(text, used, what, err);
    }
    return ERR_OK;
}

void etl_colpath_cleanup(struct etl_colpath *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        free(p->segs[i].name);
    }
    free(p->segs);
    p->segs = NULL;
    p->n = 0;
}

/* ---- text ---- */

struct text_out {
    char *out;
    size_t cap;
    size_t len;
};

static void put(struct text_out *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n && t->len + 1 < t->cap; i++) {
        t->out[t->len++] = s[i];
    }
    t->out[t->len] = '\0';
}

static void put_name(struct text_out *t, const struct etl_colpath_seg *seg)
{
    bool bare = seg->name_len > 0 && is_name_start((uint8_t)seg->name[0]);
    for (size_t i = 1; bare && i < seg->name_len; i++) {
        bare = is_name_char((uint8_t)seg->name[i]);
    }
    if (bare) {
        put(t, seg->name, seg->name_len);
        return;
    }
    put(t, "\"", 1);
    for (size_t i = 0; i < seg->name_len; i++) {
        put(t, seg->name[i] == '"' ? "\"\"" : &seg->name[i], seg->name[i] == '"' ? 2 : 1);
    }
    put(t, "\"", 1);
}

void etl_colpath_text(const struct etl_colpath *p, char *out, size_t cap)
{
    if (cap == 0) {
        return;
    }
    struct text_out t = {out, cap, 0};
    out[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        const struct etl_colpath_seg *seg = &p->segs[i];
        if (seg->is_index) {
            char index[32];
            int n = snprintf(index, sizeof(index), "[%zu]", seg->index);
            put(&t, index, (size_t)n);
        } else {
            if (i > 0) {
                put(&t, ".", 1);
            }
            put_name(&t, seg);
        }
    }
}

/* ---- lookup ---- */

static bool find_column(const struct etl_colpath_seg *seg,
                        const struct buf *store,
                        size_t offset,
                        struct etl_col *col)
{
    struct etl_row_iter it;
    uint32_t n_cols = 0;
    etl_row_iter_init(&it, store, offset);
    if (!etl_row_next(&it, &n_cols)) {
        return false;
    }
    while (etl_row_col(&it, col)) {
        struct json_val name = {.type = JSON_STRING, .raw = col->name};
        if (json_string_eq(&name, seg->name)) {
            return true;
        }
    }
    return false;
}

/* One step into a JSON container; false when the segment does not fit or is missing. */
static bool step(const struct json_val *in, const struct etl_colpath_seg *seg, struct json_val *out)
{
    if (!seg->is_index) {
        return json_object_get(in, seg->name, out);
    }
    if (in->type != JSON_ARRAY) {
        return false;
    }
    struct json_iter it;
    json_iter_init(&it, in);
    for (size_t i = 0; json_array_next(&it, out); i++) {
        if (i == seg->index) {
            return true;
        }
    }
    return false;
}

enum err_code etl_colpath_get(const struct etl_colpath *p,
                              const struct buf *store,
                              size_t offset,
                              struct etl_arena *arena,
                              struct etl_value *out,
                              struct err *err)
{
    *out = etl_value_null();
    struct etl_col col;
    if (p->n == 0 || p->segs[0].is_index || !find_column(&p->segs[0], store, offset, &col)) {
        return ERR_OK;
    }
    if (p->n == 1) {
        return etl_value_from_col(&col, arena, out, err);
    }
    if (etl_type_json_kind(col.type) != ETL_JSON_NESTED || col.value.len == 0) {
        return ERR_OK; /* a scalar has no members or elements */
    }
    struct json_val at = {.type = col.value.ptr[0] == '{' ? JSON_OBJECT : JSON_ARRAY,
                          .raw = col.value};
    for (size_t i = 1; i < p->n; i++) {
        struct json_val next;
        if (!step(&at, &p->segs[i], &next)) {
            return ERR_OK;
        }
        at = next;
    }
    return etl_value_from_json(&at, arena, out, err);
}
