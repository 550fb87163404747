/*
 * etl_row.c - the row store. Lengths are patched in place after a value is written, so values
 * are produced straight into the store without intermediate copies.
 */
#include "etl_row.h"

#include <string.h>

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
                                enum etl_kind kind,
                                struct cur name_json,
                                struct err *err)
{
    if (name_json.len > UINT32_MAX) {
        return err_set(err, ERR_TOO_LARGE, "column name too long");
    }
    uint8_t k = (uint8_t)kind;
    b->kind_pos = b->store->len;
    enum err_code rc = buf_append(b->store, &k, 1, err);
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

void etl_row_col_set_kind(struct etl_row_builder *b, enum etl_kind kind)
{
    b->store->data[b->kind_pos] = (uint8_t)kind;
}

enum err_code etl_row_add(struct etl_row_builder *b,
                          enum etl_kind kind,
                          struct cur name_json,
                          struct cur value_json,
                          struct err *err)
{
    enum err_code rc = etl_row_col_begin(b, kind, name_json, err);
    if (rc == ERR_OK) {
        rc = buf_append_cur(b->store, value_json, err);
    }
    if (rc == ERR_OK) {
        etl_row_col_end(b);
    }
    return rc;
}

enum err_code etl_row_add_str(struct etl_row_builder *b,
                              struct cur name_json,
                              const char *s,
                              size_t n,
                              struct err *err)
{
    enum err_code rc = etl_row_col_begin(b, ETL_KIND_STRING, name_json, err);
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
    if (it->cols_left == 0 || it->end - it->p < 9) {
        return false;
    }
    col->kind = (enum etl_kind)it->p[0];
    uint32_t nl = get_u32(it->p + 1);
    col->name = cur_make(it->p + 5, nl);
    uint32_t vl = get_u32(it->p + 5 + nl);
    col->value = cur_make(it->p + 9 + nl, vl);
    it->p += 9 + (size_t)nl + vl;
    it->cols_left--;
    return true;
}
