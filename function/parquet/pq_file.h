/*
 * pq_file.h - a Parquet file: "PAR1", row groups of column chunks (pq_column.h), then the footer
 * (FileMetaData in the Thrift compact protocol, pq_thrift.h) with created_by, a TypeDefinedOrder
 * per column (so readers trust min and max) and statistics per chunk, its 4-byte little-endian
 * length and "PAR1" (parquet-format README, "File Format").
 * The schema is fixed before the first row: a root group of optional columns, each a primitive
 * or a 3-level LIST. Every row gives each column exactly one entry (a value, a list or a null).
 * Bytes go to the caller's buf as they are made (the caller may drain it between calls); memory
 * holds the row group being built plus the footer's metadata.
 * Ownership: the file owns its columns and metadata (pq_file_cleanup); out is borrowed.
 */
#ifndef PQ_FILE_H
#define PQ_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "pq_codec.h"
#include "pq_column.h"
#include "pq_types.h"

struct pq_row_group {
    int64_t num_rows;
    int64_t file_offset;
    int64_t total_uncompressed;
    int64_t total_compressed;
    struct pq_chunk_meta *chunks; /* one per column */
};

struct pq_file {
    struct buf *out;
    int64_t offset; /* bytes made so far (the next byte's file offset) */
    enum pq_codec codec;
    struct pq_compressor compressor;
    const char *created_by; /* borrowed */
    struct pq_column *cols;
    size_t n_cols, cap_cols;
    struct pq_row_group *groups;
    size_t n_groups, cap_groups;
    int64_t num_rows;
    int64_t group_rows; /* rows in the group being built */
    bool started;
    struct buf footer;
};

void pq_file_init(struct pq_file *f, struct buf *out, enum pq_codec codec, const char *created_by);
void pq_file_cleanup(struct pq_file *f);

/* Adds a column (before the first row); its index is the order of addition. */
MUST_CHECK enum err_code pq_file_add_column(struct pq_file *f,
                                            const char *name,
                                            size_t n,
                                            const struct pq_type *type,
                                            struct err *err);
static inline struct pq_column *pq_file_column(struct pq_file *f, size_t i)
{
    return &f->cols[i];
}

/* Writes the magic (once, before the first row). */
MUST_CHECK enum err_code pq_file_begin(struct pq_file *f, struct err *err);
/* Counts a row whose entries every column has been given. */
MUST_CHECK enum err_code pq_file_end_row(struct pq_file *f, struct err *err);
/* Bytes the row group being built holds. */
size_t pq_file_buffered_bytes(const struct pq_file *f);
/* Writes the rows given so far as a row group (nothing if there are none). */
MUST_CHECK enum err_code pq_file_flush_row_group(struct pq_file *f, struct err *err);
/* Flushes, then writes the footer. */
MUST_CHECK enum err_code pq_file_finish(struct pq_file *f, struct err *err);

#endif
