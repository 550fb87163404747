/*
 * pq_column.h - one column's values for the row group being built, and their encoding as a
 * column chunk: an optional dictionary page (PLAIN), then one data page V1 whose body holds the
 * repetition levels (lists), the definition levels (RLE hybrid, 4-byte length prefix each) and
 * the values (PLAIN, or RLE_DICTIONARY indices), compressed with the file's codec. Statistics
 * (null count, min, max in the type's defined order) come along.
 * Levels: a scalar column has max definition level 1 (0 null, 1 value); a LIST column 3
 * (0 null list, 1 empty list, 2 null element, 3 element) and max repetition level 1.
 * Ownership: a column owns its name and buffers (pq_column_cleanup frees them); chunk metadata
 *   owns its statistics bytes (pq_chunk_meta_cleanup).
 */
#ifndef PQ_COLUMN_H
#define PQ_COLUMN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "pq_codec.h"
#include "pq_types.h"

/* Dictionary pages stay under this (arrow-rs and parquet-mr use 1 MiB); larger: PLAIN. */
#define PQ_DICT_MAX_BYTES (1024 * 1024)
/* Statistics values over this are left out (the footer would carry every long string twice);
 * the null count is always written. */
#define PQ_STATS_MAX_BYTES 1024

struct pq_span {
    size_t off;   /* of the PLAIN encoding in values */
    uint32_t len; /* of the PLAIN encoding (a BYTE_ARRAY's includes its 4-byte length) */
};

struct pq_column {
    char *name; /* UTF-8, NUL-terminated */
    struct pq_type type;
    int width;         /* FIXED_LEN_BYTE_ARRAY bytes */
    struct buf def;    /* one byte per level */
    struct buf rep;    /* one byte per level (lists) */
    struct buf values; /* PLAIN encodings of the non-null values (BOOLEAN: a byte each) */
    struct buf spans;  /* struct pq_span per non-null value */
    uint64_t n_values; /* non-null leaf values */
    uint64_t n_levels; /* level entries (the data page's num_values) */
    uint64_t n_rows;   /* rows (records) */
    uint64_t nulls;    /* levels below the maximum definition level */
    bool in_list;
    uint32_t list_len;
    bool has_minmax;
    struct pq_span min, max; /* into values */
    struct buf scratch;      /* page bodies */
    struct buf page;         /* a compressed page */
    struct buf dict;         /* dictionary: PLAIN bytes */
};

/* What the footer says of a written chunk. */
struct pq_chunk_meta {
    int64_t file_offset;            /* where the chunk starts */
    int64_t dictionary_page_offset; /* -1: no dictionary */
    int64_t data_page_offset;
    int64_t num_values;
    int64_t total_uncompressed; /* page headers included */
    int64_t total_compressed;
    int64_t null_count;
    bool has_minmax;
    uint8_t *min, *max; /* owned */
    size_t min_len, max_len;
};

/* name: n bytes of UTF-8 (copied). */
MUST_CHECK enum err_code pq_column_init(struct pq_column *c,
                                        const char *name,
                                        size_t n,
                                        const struct pq_type *type,
                                        struct err *err);
void pq_column_cleanup(struct pq_column *c);

int pq_column_max_def(const struct pq_column *c);

/* A null (outside a list: a null row; inside: a null element). */
MUST_CHECK enum err_code pq_column_add_null(struct pq_column *c, struct err *err);
/* Values of the column's (or its elements') physical type. */
MUST_CHECK enum err_code
pq_column_add_bytes(struct pq_column *c, const void *p, size_t n, struct err *err);
MUST_CHECK enum err_code pq_column_add_i32(struct pq_column *c, int32_t v, struct err *err);
MUST_CHECK enum err_code pq_column_add_i64(struct pq_column *c, int64_t v, struct err *err);
MUST_CHECK enum err_code pq_column_add_bool(struct pq_column *c, bool v, struct err *err);
/* width bytes, big-endian (FIXED_LEN_BYTE_ARRAY). */
MUST_CHECK enum err_code
pq_column_add_fixed(struct pq_column *c, const uint8_t *p, struct err *err);
/* A DECIMAL on whatever physical type the precision gives. */
MUST_CHECK enum err_code pq_column_add_decimal(struct pq_column *c, pq_i128 v, struct err *err);
/* A list row: begin, its elements (values or nulls), end. An empty list is begin then end. */
void pq_column_list_begin(struct pq_column *c);
MUST_CHECK enum err_code pq_column_list_end(struct pq_column *c, struct err *err);

/* Bytes buffered for the row group so far (values, spans and levels). */
size_t pq_column_buffered_bytes(const struct pq_column *c);

/* Encodes the buffered values as a chunk appended to out, which starts at file offset `at`;
 * fills meta and empties the column for the next row group. */
MUST_CHECK enum err_code pq_column_write_chunk(struct pq_column *c,
                                               struct pq_compressor *codec,
                                               struct buf *out,
                                               int64_t at,
                                               struct pq_chunk_meta *meta,
                                               struct err *err);
void pq_chunk_meta_cleanup(struct pq_chunk_meta *m);

#endif
