/*
 * etl_writer.h - renders rows into an object's bytes: JSON Lines or CSV (RFC 4180: a header of
 * the union of the object's columns, quoting as needed, CRLF line ends, nested values as JSON
 * text), optionally gzip-compressed as it goes (deterministic header: no name, MTIME 0, OS 255,
 * as DynamoDB's own exports), so the same rows always give the same bytes.
 * Ownership: the writer borrows the output buf and the row store; it owns its zlib stream and
 *   staging buffer (etl_writer_cleanup frees them).
 */
#ifndef ETL_WRITER_H
#define ETL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "buf.h"
#include "err.h"
#include "etl_config.h"
#include "etl_row.h"

struct etl_writer {
    enum etl_format format;
    enum etl_compression compression;
    struct buf *out;
    z_stream z;
    gz_header gzhead; /* deflateSetHeader keeps a pointer: it must live as long as z */
    bool z_open;
    struct buf stage; /* rendered text waiting to be compressed */
    struct buf tmp;   /* unescaped CSV cells */
    uint64_t raw_bytes;
    uint64_t rows;
};

MUST_CHECK enum err_code etl_writer_open(struct etl_writer *w,
                                         struct buf *out,
                                         enum etl_format format,
                                         enum etl_compression compression,
                                         int gzip_level,
                                         struct err *err);

/* Writes the rows that start at the given offsets of store, in order. CSV objects must be written
 * in one call (the header is the union of these rows' columns). */
MUST_CHECK enum err_code etl_writer_rows(struct etl_writer *w,
                                         const struct buf *store,
                                         const size_t *offsets,
                                         size_t n,
                                         struct err *err);

/* Appends raw text as it is (one JSON line, for quarantine objects). */
MUST_CHECK enum err_code
etl_writer_raw(struct etl_writer *w, const void *p, size_t n, struct err *err);

/* Finishes the stream (gzip trailer). */
MUST_CHECK enum err_code etl_writer_close(struct etl_writer *w, struct err *err);
void etl_writer_cleanup(struct etl_writer *w);

/* Appends one CSV field, quoted when it holds a comma, quote, CR or LF. */
MUST_CHECK enum err_code
etl_csv_field(struct buf *out, const uint8_t *p, size_t n, struct err *err);

#endif
