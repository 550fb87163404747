/*
 * pq_thrift.h - a writer of the Thrift compact protocol, as much as Parquet's footer and page
 * headers need: structs, lists, i32, i64, bool and binary fields (apache/thrift
 * doc/specs/thrift-compact-protocol.md).
 * Errors are sticky, as in jsonw: the first failed append is kept and every later call is a
 * no-op, so a header is written as straight-line code and checked once with pq_thrift_finish.
 * Ownership: the writer borrows out and err for its lifetime and owns nothing.
 */
#ifndef PQ_THRIFT_H
#define PQ_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Compact protocol element types (the low nibble of a field header). */
enum pq_thrift_type {
    PQ_THRIFT_BOOL_TRUE = 1,
    PQ_THRIFT_BOOL_FALSE = 2,
    PQ_THRIFT_BYTE = 3,
    PQ_THRIFT_I16 = 4,
    PQ_THRIFT_I32 = 5,
    PQ_THRIFT_I64 = 6,
    PQ_THRIFT_DOUBLE = 7,
    PQ_THRIFT_BINARY = 8,
    PQ_THRIFT_LIST = 9,
    PQ_THRIFT_SET = 10,
    PQ_THRIFT_MAP = 11,
    PQ_THRIFT_STRUCT = 12,
};

/* Parquet's structs nest 5 deep at most (FileMetaData > RowGroup > ColumnChunk > ColumnMetaData
 * > Statistics); the margin is for LogicalType unions inside SchemaElement. */
#define PQ_THRIFT_MAX_DEPTH 12

struct pq_thrift {
    struct buf *out;
    struct err *err;
    enum err_code rc;
    int depth;
    int16_t last_id[PQ_THRIFT_MAX_DEPTH]; /* the previous field id of each open struct */
};

void pq_thrift_init(struct pq_thrift *t, struct buf *out, struct err *err);

/* A struct that is not a field: the top-level message, or an element of a list of structs. */
void pq_thrift_begin(struct pq_thrift *t);
/* Ends the innermost struct (a stop byte). */
void pq_thrift_end(struct pq_thrift *t);

/* Fields of the innermost struct. Ids must increase within a struct. */
void pq_thrift_field_i32(struct pq_thrift *t, int16_t id, int32_t v);
void pq_thrift_field_i64(struct pq_thrift *t, int16_t id, int64_t v);
void pq_thrift_field_bool(struct pq_thrift *t, int16_t id, bool v);
void pq_thrift_field_binary(struct pq_thrift *t, int16_t id, const void *p, size_t n);
/* A struct-valued field: its fields follow, then pq_thrift_end. */
void pq_thrift_field_struct(struct pq_thrift *t, int16_t id);
/* An empty struct-valued field (a union member such as StringType). */
void pq_thrift_field_empty(struct pq_thrift *t, int16_t id);
/* A list field of n elements of type elem; the elements follow (pq_thrift_elem_*, or
 * pq_thrift_begin ... pq_thrift_end for structs). */
void pq_thrift_field_list(struct pq_thrift *t, int16_t id, enum pq_thrift_type elem, uint32_t n);

/* List elements. */
void pq_thrift_elem_i32(struct pq_thrift *t, int32_t v);
void pq_thrift_elem_binary(struct pq_thrift *t, const void *p, size_t n);

/* ERR_OK, or the first error (and *err as it set it); also an error if a struct is left open. */
MUST_CHECK enum err_code pq_thrift_finish(struct pq_thrift *t);

/* Unsigned LEB128 varint, as the compact protocol and the RLE hybrid write lengths. */
MUST_CHECK enum err_code pq_varint(struct buf *out, uint64_t v, struct err *err);

#endif
