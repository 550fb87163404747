/*
 * etl_fmt_csv.c - CSV (RFC 4180): a header of the union of the object's columns in first-seen
 * order, then one line per row, CRLF line ends, quoting as needed, nested values as JSON text,
 * NULL and missing values empty. The header needs every row, so the object is written at end.
 */
#include "etl_fmt_csv.h"

#include <stdlib.h>
#include <string.h>

#include "etl_format.h"
#include "etl_names.h"
#include "json.h"

struct csv_state {
    struct etl_names cols; /* names are JSON literals borrowed from the rows' stores */
    struct etl_row_ref *rows;
    size_t n_rows;
    size_t cap_rows;
    struct buf tmp; /* unescaped strings */
};
_Static_assert(sizeof(struct csv_state) <= ETL_ENCODER_STATE_BYTES, "CSV state too large");

enum err_code etl_fmt_csv_field(struct buf *out, const uint8_t *p, size_t n, struct err *err)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++) {
        quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
    }
    if (!quote) {
        return buf_append(out, p, n, err);
    }
    enum err_code rc = buf_append_byte(out, '"', err);
    size_t run = 0;
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        if (p[i] == '"') {
            rc = buf_append(out, p + run, i + 1 - run, err); /* includes this quote */
            if (rc == ERR_OK) {
                rc = buf_append_byte(out, '"', err); /* doubled */
            }
            run = i + 1;
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append(out, p + run, n - run, err);
    }
    return rc == ERR_OK ? buf_append_byte(out, '"', err) : rc;
}

static enum err_code csv_begin(void *state,
                               const struct etl_schema *schema,
                               const struct etl_format_options *opts,
                               struct err *err)
{
    (void)schema;
    (void)opts;
    (void)err;
    struct csv_state *c = state;
    memset(c, 0, sizeof(*c));
    etl_names_init(&c->cols);
    return ERR_OK;
}

/* Rows wait for the header: only their places are kept. */
static enum err_code
csv_row(void *state, const struct etl_row_ref *row, struct etl_encode_out *out, struct err *err)
{
    (void)out;
    struct csv_state *c = state;
    struct etl_row_ref *rows = mem_grow(c->rows, &c->cap_rows, c->n_rows, sizeof(*rows), 256);
    if (rows == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory collecting CSV rows");
    }
    c->rows = rows;
    c->rows[c->n_rows++] = *row;
    return ERR_OK;
}

/* An unescaped JSON string literal as a CSV field. */
static enum err_code
string_field(struct csv_state *c, struct buf *text, struct cur literal, struct err *err)
{
    struct json_val s = {.type = JSON_STRING, .raw = literal};
    buf_reset(&c->tmp);
    enum err_code rc = json_string_unescape(&s, &c->tmp, err);
    return rc == ERR_OK ? etl_fmt_csv_field(text, c->tmp.data, c->tmp.len, err) : rc;
}

static enum err_code
csv_cell(struct csv_state *c, struct buf *text, const struct etl_col *col, struct err *err)
{
    switch (etl_type_json_kind(col->type)) {
    case ETL_JSON_NULL:
        return ERR_OK;
    case ETL_JSON_NUMBER:
    case ETL_JSON_BOOL:
        return buf_append_cur(text, col->value, err);
    case ETL_JSON_NESTED:
        return etl_fmt_csv_field(text, col->value.ptr, col->value.len, err);
    case ETL_JSON_STRING:
        break;
    }
    return string_field(c, text, col->value, err);
}

static enum err_code collect_columns(struct csv_state *c, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t r = 0; r < c->n_rows && rc == ERR_OK; r++) {
        struct etl_row_iter it;
        struct etl_col col;
        uint32_t nc = 0;
        etl_row_iter_init(&it, c->rows[r].store, c->rows[r].offset);
        (void)etl_row_next(&it, &nc);
        while (rc == ERR_OK && etl_row_col(&it, &col)) {
            size_t index = 0;
            bool added = false;
            rc = etl_names_add(&c->cols, col.name, &index, &added, err);
        }
    }
    return rc;
}

static enum err_code csv_end(void *state, struct etl_encode_out *out, struct err *err)
{
    struct csv_state *c = state;
    struct buf *text = out->text;
    struct etl_col *cells = NULL;
    enum err_code rc = collect_columns(c, err);
    size_t n_cols = c->cols.n;
    if (rc == ERR_OK && n_cols > 0) {
        cells = calloc(n_cols, sizeof(*cells));
        if (cells == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory rendering CSV");
        }
    }
    /* Header: unescaped names. */
    for (size_t i = 0; rc == ERR_OK && i < n_cols; i++) {
        rc = i > 0 ? buf_append_byte(text, ',', err) : ERR_OK;
        if (rc == ERR_OK) {
            rc = string_field(c, text, c->cols.names[i], err);
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(text, "\r\n", err);
    }
    for (size_t r = 0; r < c->n_rows && rc == ERR_OK; r++) {
        struct etl_row_iter it;
        struct etl_col col;
        uint32_t nc = 0;
        for (size_t i = 0; i < n_cols; i++) {
            cells[i] = (struct etl_col){.type = ETL_T_NULL};
        }
        etl_row_iter_init(&it, c->rows[r].store, c->rows[r].offset);
        (void)etl_row_next(&it, &nc);
        while (etl_row_col(&it, &col)) {
            long idx = etl_names_find(&c->cols, col.name);
            if (idx >= 0) {
                cells[idx] = col;
            }
        }
        for (size_t i = 0; rc == ERR_OK && i < n_cols; i++) {
            if (i > 0) {
                rc = buf_append_byte(text, ',', err);
            }
            if (rc == ERR_OK) {
                rc = csv_cell(c, text, &cells[i], err);
            }
        }
        if (rc == ERR_OK) {
            rc = buf_append_str(text, "\r\n", err);
        }
        if (rc == ERR_OK) {
            rc = etl_encode_out_flush(out, err);
        }
    }
    free(cells);
    return rc;
}

static void csv_cleanup(void *state)
{
    struct csv_state *c = state;
    etl_names_cleanup(&c->cols);
    free(c->rows);
    c->rows = NULL;
    c->n_rows = c->cap_rows = 0;
    buf_cleanup(&c->tmp);
}

const struct etl_format etl_fmt_csv = {
    .name = "csv",
    .extension = "csv",
    .content_type = "text/csv; charset=utf-8",
    .manifest_name = "csv",
    .stream_format = true,
    .whole_object = true,
    .serde = NULL,
    .ddl_note = "-- ETL_FORMAT=csv: each object has its own header (the union of its rows'\n"
                "-- columns), so no single CSV table definition fits every object of %s.\n"
                "-- Query the objects with DuckDB (read_csv(..., union_by_name=true)), or use\n"
                "-- ETL_FORMAT=jsonl, for which this file holds the Athena DDL.\n",
    .begin = csv_begin,
    .row = csv_row,
    .end = csv_end,
    .cleanup = csv_cleanup,
};
