/*
 * etl_row.h - rows as every stage carries them: a compact, append-only store of typed columns.
 * A column is a name (a JSON string literal, quotes included), a type (the DynamoDB type the
 * value came with, or the type metadata or a transform gave it), flags, and the value as the
 * JSON text it renders to (N: its exact digits; S: the literal as it arrived, escapes and UTF-8
 * untouched; B: the base64 string; sets: arrays; M and L: plain JSON). A writer copies the
 * rendering; a columnar writer, a transform, a rule or the schema reads the type and gets the
 * value through the accessors below, never by guessing from the text.
 * Inside M and L values the JSON types are what is kept (B inside a map is its base64 string, a
 * set inside a map an array), as the lake stores them.
 * Layout per row: u32 column count, then per column: u8 type (low 5 bits) and flags (high 3),
 * u32 name length, name, u32 value length, value (host byte order; a store never leaves the
 * process).
 * Ownership: the store is a struct buf its owner frees; builders and iterators borrow it.
 */
#ifndef ETL_ROW_H
#define ETL_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

enum etl_type {
    /* DynamoDB's attribute types, in the order the schema counts them. */
    ETL_T_S = 0,
    ETL_T_N,
    ETL_T_B,
    ETL_T_BOOL,
    ETL_T_NULL,
    ETL_T_M,
    ETL_T_L,
    ETL_T_SS,
    ETL_T_NS,
    ETL_T_BS,
    ETL_T_DDB_COUNT,
    /* Types a column gets from metadata or a transform. */
    ETL_T_TIMESTAMP = ETL_T_DDB_COUNT, /* "2026-11-24T07:00:00.000Z": ISO-8601 UTC, millis */
    ETL_T_COUNT
};

/* How a type renders in JSON: what a text writer needs to know. */
enum etl_json_kind {
    ETL_JSON_STRING, /* a JSON string literal (S, B, TIMESTAMP) */
    ETL_JSON_NUMBER, /* N */
    ETL_JSON_BOOL,
    ETL_JSON_NULL,
    ETL_JSON_NESTED, /* object or array (M, L, sets) */
};

/* Column flags: at most 3 bits. */
enum etl_col_flags {
    ETL_COL_META = 1,    /* a metadata column (_op, _seq, ...), not an item attribute */
    ETL_COL_RENAMED = 2, /* an attribute written as "_item<name>": its source name is <name> */
};

/* DynamoDB's name of a type ("S", "N", ..., "BS"); "TIMESTAMP" and so on for the others. */
const char *etl_type_name(enum etl_type t);
enum etl_json_kind etl_type_json_kind(enum etl_type t);
/* The type named by a DynamoDB type descriptor key ("S", "NS", ...); false if none. */
bool etl_type_from_ddb(struct cur name, enum etl_type *out);

struct etl_row_builder {
    struct buf *store;
    size_t row_start;
    size_t col_start; /* where the open column's value length goes */
    size_t type_pos;  /* where the open column's type byte is */
    uint32_t n_cols;
};

/* Starts a row at the end of store. */
MUST_CHECK enum err_code
etl_row_begin(struct etl_row_builder *b, struct buf *store, struct err *err);
/* Opens a column: writes type, flags and name; the caller then appends the value's JSON text to
 * b->store and calls etl_row_col_end. */
MUST_CHECK enum err_code etl_row_col_begin(struct etl_row_builder *b,
                                           enum etl_type type,
                                           unsigned flags,
                                           struct cur name_json,
                                           struct err *err);
void etl_row_col_end(struct etl_row_builder *b);
/* Sets the type of the open column (known only after its value was converted). */
void etl_row_col_set_type(struct etl_row_builder *b, enum etl_type type);
/* Adds a whole column. */
MUST_CHECK enum err_code etl_row_add(struct etl_row_builder *b,
                                     enum etl_type type,
                                     unsigned flags,
                                     struct cur name_json,
                                     struct cur value_json,
                                     struct err *err);
/* Adds a column whose value is the JSON string of the n bytes at s. */
MUST_CHECK enum err_code etl_row_add_str(struct etl_row_builder *b,
                                         enum etl_type type,
                                         unsigned flags,
                                         struct cur name_json,
                                         const char *s,
                                         size_t n,
                                         struct err *err);
void etl_row_end(struct etl_row_builder *b);
/* Drops the row being built (after a conversion error). */
void etl_row_abandon(struct etl_row_builder *b);

/* A point in the row being built (between columns); etl_row_rewind drops the columns added
 * since. */
struct etl_row_mark {
    size_t len;
    uint32_t n_cols;
};
struct etl_row_mark etl_row_mark(const struct etl_row_builder *b);
void etl_row_rewind(struct etl_row_builder *b, struct etl_row_mark mark);

struct etl_col {
    enum etl_type type;
    unsigned flags;
    struct cur name;  /* JSON string literal */
    struct cur value; /* JSON text */
};

static inline bool etl_col_is_meta(const struct etl_col *c)
{
    return (c->flags & ETL_COL_META) != 0;
}

/* The attribute's name in the source item, as an escaped JSON string body (no quotes): the
 * column name without the "_item" that a clash with a metadata column added. */
struct cur etl_col_source_name(const struct etl_col *c);

/* The unescaped bytes of a string-rendered value (S, B's base64 text, TIMESTAMP): borrowed from
 * the store when the literal has no escapes, else unescaped into scratch. */
MUST_CHECK enum err_code
etl_col_text(const struct etl_col *c, struct buf *scratch, struct cur *out, struct err *err);
/* The decoded bytes of a B value, into out (appended). */
MUST_CHECK enum err_code etl_col_bytes(const struct etl_col *c, struct buf *out, struct err *err);

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

/* A row as the stages hand it on: where it is, and the DynamoDB JSON item it was built from
 * while that is still alive (an encoder of DynamoDB's own export format copies it). */
struct etl_row_ref {
    const struct buf *store;
    size_t offset;
    struct cur source; /* len 0 when not available */
};

#endif
