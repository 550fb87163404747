/*
 * etl_row.c - the typed row store. Lengths are patched in place after a value is written, so
 * values are produced straight into the store without intermediate copies.
 */
#include "etl_row.h"

#include <string.h>

#include "digest.h"
#include "json.h"

/* A column's header: one byte of type (low 5 bits) and flags (high 3), then the name's and the
 * value's lengths. The store's size is what ETL_MAX_OBJECT_BYTES counts, so it stays compact. */
#define COL_HEADER_BYTES 9
#define TYPE_BITS        5
_Static_assert(ETL_T_COUNT <= (1 << TYPE_BITS), "types fit the type bits");

static const char *const type_names[ETL_T_COUNT] = {
    "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS", "TIMESTAMP",
};

const char *etl_type_name(enum etl_type t)
{
    return (unsigned)t < ETL_T_COUNT ? type_names[t] : "?";
}

enum etl_json_kind etl_type_json_kind(enum etl_type t)
{
    switch (t) {
    case ETL_T_N:
        return ETL_JSON_NUMBER;
    case ETL_T_BOOL:
        return ETL_JSON_BOOL;
    case ETL_T_NULL:
        return ETL_JSON_NULL;
    case ETL_T_M:
    case ETL_T_L:
    case ETL_T_SS:
    case ETL_T_NS:
    case ETL_T_BS:
        return ETL_JSON_NESTED;
    default:
        return ETL_JSON_STRING;
    }
}

bool etl_type_from_ddb(struct cur name, enum etl_type *out)
{
    for (int t = 0; t < ETL_T_DDB_COUNT; t++) {
        if (cur_eq_str(name, type_names[t])) {
            *out = (enum etl_type)t;
            return true;
        }
    }
    return false;
}

static enum err_code put_u32(struct buf *b, uint32_t v, struct err *err)
{
    return buf_append(b, &v, sizeof(v), err);
}

static void patch_u32(struct buf *b, size_t at, uint32_t v)
{
    memcpy(b->data + at, &v, sizeof(v));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

enum err_code etl_row_begin(struct etl_row_builder *b, struct buf *store, struct err *err)
{
    b->store = store;
    b->row_start = store->len;
    b->col_start = 0;
    b->n_cols = 0;
    return put_u32(store, 0, err);
}

enum err_code etl_row_col_begin(struct etl_row_builder *b,
                                enum etl_type type,
                                unsigned flags,
                                struct cur name_json,
                                struct err *err)
{
    if (name_json.len > UINT32_MAX) {
        return err_set(err, ERR_TOO_LARGE, "column name too long");
    }
    if (flags >= (1u << (8 - TYPE_BITS))) {
        return err_set(err, ERR_INVALID_INPUT, "column flags 0x%x out of range", flags);
    }
    uint8_t head = (uint8_t)((unsigned)type | flags << TYPE_BITS);
    b->type_pos = b->store->len;
    enum err_code rc = buf_append(b->store, &head, 1, err);
    if (rc == ERR_OK) {
        rc = put_u32(b->store, (uint32_t)name_json.len, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_cur(b->store, name_json, err);
    }
    if (rc == ERR_OK) {
        b->col_start = b->store->len;
        rc = put_u32(b->store, 0, err);
    }
    return rc;
}

void etl_row_col_end(struct etl_row_builder *b)
{
    size_t value_len = b->store->len - b->col_start - sizeof(uint32_t);
    patch_u32(b->store, b->col_start, (uint32_t)value_len);
    b->n_cols++;
}

void etl_row_col_set_type(struct etl_row_builder *b, enum etl_type type)
{
    uint8_t *head = &b->store->data[b->type_pos];
    *head = (uint8_t)((*head & ~((1u << TYPE_BITS) - 1)) | (unsigned)type);
}

enum err_code etl_row_add(struct etl_row_builder *b,
                          enum etl_type type,
                          unsigned flags,
                          struct cur name_json,
                          struct cur value_json,
                          struct err *err)
{
    enum err_code rc = etl_row_col_begin(b, type, flags, name_json, err);
    if (rc == ERR_OK) {
        rc = buf_append_cur(b->store, value_json, err);
    }
    if (rc == ERR_OK) {
        etl_row_col_end(b);
    }
    return rc;
}

enum err_code etl_row_add_str(struct etl_row_builder *b,
                              enum etl_type type,
                              unsigned flags,
                              struct cur name_json,
                              const char *s,
                              size_t n,
                              struct err *err)
{
    enum err_code rc = etl_row_col_begin(b, type, flags, name_json, err);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(b->store, s, n, err);
    }
    if (rc == ERR_OK) {
        etl_row_col_end(b);
    }
    return rc;
}

void etl_row_end(struct etl_row_builder *b)
{
    patch_u32(b->store, b->row_start, b->n_cols);
}

void etl_row_abandon(struct etl_row_builder *b)
{
    buf_truncate(b->store, b->row_start);
}

struct etl_row_mark etl_row_mark(const struct etl_row_builder *b)
{
    return (struct etl_row_mark){b->store->len, b->n_cols};
}

void etl_row_rewind(struct etl_row_builder *b, struct etl_row_mark mark)
{
    buf_truncate(b->store, mark.len);
    b->n_cols = mark.n_cols;
}

struct cur etl_col_source_name(const struct etl_col *c)
{
    struct cur inner = cur_make(c->name.ptr + 1, c->name.len >= 2 ? c->name.len - 2 : 0);
    if ((c->flags & ETL_COL_RENAMED) != 0 && inner.len >= 5) {
        inner.ptr += 5; /* "_item" */
        inner.len -= 5;
    }
    return inner;
}

enum err_code
etl_col_text(const struct etl_col *c, struct buf *scratch, struct cur *out, struct err *err)
{
    struct json_val s = {.type = JSON_STRING, .raw = c->value};
    if (etl_type_json_kind(c->type) != ETL_JSON_STRING || c->value.len < 2) {
        return err_set(err, ERR_INVALID_INPUT, "column of type %s is not text",
                       etl_type_name(c->type));
    }
    if (json_string_is_plain(&s)) {
        *out = json_string_inner(&s);
        return ERR_OK;
    }
    buf_reset(scratch);
    enum err_code rc = json_string_unescape(&s, scratch, err);
    *out = buf_cur(scratch);
    return rc;
}

enum err_code etl_col_bytes(const struct etl_col *c, struct buf *out, struct err *err)
{
    if (c->type != ETL_T_B || c->value.len < 2) {
        return err_set(err, ERR_INVALID_INPUT, "column of type %s is not binary",
                       etl_type_name(c->type));
    }
    /* B values are plain base64 (etl_ddbjson checks it), so the literal's inside is the text. */
    return digest_base64_decode((const char *)c->value.ptr + 1, c->value.len - 2, out, err);
}

void etl_row_iter_init(struct etl_row_iter *it, const struct buf *store, size_t start)
{
    it->p = store->data != NULL ? store->data + start : NULL;
    it->end = store->data != NULL ? store->data + store->len : NULL;
    it->cols_left = 0;
}

bool etl_row_next(struct etl_row_iter *it, uint32_t *n_cols)
{
    /* Skip what is left of the current row. */
    struct etl_col c;
    while (it->cols_left > 0 && etl_row_col(it, &c)) {
    }
    if (it->p == NULL || it->end - it->p < (ptrdiff_t)sizeof(uint32_t)) {
        return false;
    }
    it->cols_left = get_u32(it->p);
    it->p += sizeof(uint32_t);
    *n_cols = it->cols_left;
    return true;
}

bool etl_row_col(struct etl_row_iter *it, struct etl_col *col)
{
    if (it->cols_left == 0 || it->end - it->p < COL_HEADER_BYTES) {
        return false;
    }
    col->type = (enum etl_type)(it->p[0] & ((1u << TYPE_BITS) - 1));
    col->flags = it->p[0] >> TYPE_BITS;
    uint32_t nl = get_u32(it->p + 1);
    col->name = cur_make(it->p + 5, nl);
    uint32_t vl = get_u32(it->p + 5 + nl);
    col->value = cur_make(it->p + COL_HEADER_BYTES + nl, vl);
    it->p += COL_HEADER_BYTES + (size_t)nl + vl;
    it->cols_left--;
    return true;
}
