/*
 * etl_row.h - rows as the pipeline carries them: a compact, append-only store of columns, each a
 * name (a JSON string literal, quotes included) with a kind and a value as JSON text. Writers
 * turn rows into JSON Lines (names and values copied as they are) or CSV (unescaped).
 * Layout per row: u32 column count, then per column: u8 kind, u32 name length, name bytes,
 * u32 value length, value bytes (host byte order; a store never leaves the process).
 * Ownership: the store is a struct buf its owner frees; builders and iterators borrow it.
 */
#ifndef ETL_ROW_H
#define ETL_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

enum etl_kind {
    ETL_KIND_STRING = 0, /* value is a JSON string literal */
    ETL_KIND_NUMBER,     /* JSON number text */
    ETL_KIND_BOOL,       /* true or false */
    ETL_KIND_NULL,       /* null */
    ETL_KIND_NESTED,     /* a JSON object or array (maps, lists, sets) */
};

struct etl_row_builder {
    struct buf *store;
    size_t row_start;
    size_t col_start; /* where the open column's value length goes */
    size_t kind_pos;  /* where the open column's kind byte is */
    uint32_t n_cols;
};

/* Starts a row at the end of store. */
MUST_CHECK enum err_code
etl_row_begin(struct etl_row_builder *b, struct buf *store, struct err *err);
/* Opens a column: writes kind and name; the caller then appends the value's JSON text to
 * b->store and calls etl_row_col_end. */
MUST_CHECK enum err_code etl_row_col_begin(struct etl_row_builder *b,
                                           enum etl_kind kind,
                                           struct cur name_json,
                                           struct err *err);
void etl_row_col_end(struct etl_row_builder *b);
/* Sets the kind of the open column (known only after its value was converted). */
void etl_row_col_set_kind(struct etl_row_builder *b, enum etl_kind kind);
/* Adds a whole column. */
MUST_CHECK enum err_code etl_row_add(struct etl_row_builder *b,
                                     enum etl_kind kind,
                                     struct cur name_json,
                                     struct cur value_json,
                                     struct err *err);
/* Adds a string column whose value is the JSON string of the n bytes at s. */
MUST_CHECK enum err_code etl_row_add_str(struct etl_row_builder *b,
                                         struct cur name_json,
                                         const char *s,
                                         size_t n,
                                         struct err *err);
void etl_row_end(struct etl_row_builder *b);
/* Drops the row being built (after a conversion error). */
void etl_row_abandon(struct etl_row_builder *b);

struct etl_col {
    enum etl_kind kind;
    struct cur name;  /* JSON string literal */
    struct cur value; /* JSON text */
};

struct etl_row_iter {
    const uint8_t *p;
    const uint8_t *end;
    uint32_t cols_left;
};

/* Iterates rows from byte offset `start` of a store. */
void etl_row_iter_init(struct etl_row_iter *it, const struct buf *store, size_t start);
/* Moves to the next row; false at the end. */
bool etl_row_next(struct etl_row_iter *it, uint32_t *n_cols);
/* The next column of the current row; false when the row has no more. */
bool etl_row_col(struct etl_row_iter *it, struct etl_col *col);

#endif
