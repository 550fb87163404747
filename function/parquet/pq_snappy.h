/*
 * pq_snappy.h - Snappy compression (the raw block format of google/snappy
 * format_description.txt, not the framing format), as Parquet's SNAPPY codec wants it.
 * Debian's libsnappy is C++; the format is small: a varint length, then literals and copies.
 * The encoder is greedy LZ77 over a hash table of up to 16K entries; the output depends only on the
 * input, so the same page always compresses to the same bytes. Ownership: output is appended to the
 * caller's buf; the hash table is allocated per call.
 */
#ifndef PQ_SNAPPY_H
#define PQ_SNAPPY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Snappy's length prefix is a uint32 (format_description.txt, section 1). */
#define PQ_SNAPPY_MAX_INPUT ((size_t)UINT32_MAX)

MUST_CHECK enum err_code
pq_snappy_compress(const uint8_t *p, size_t n, struct buf *out, struct err *err);
/* The decoder serves tests and the fuzz target's round trip: it refuses blocks over this. */
#define PQ_SNAPPY_MAX_DECODED (64 * 1024 * 1024)
/* Decompresses a whole block; out gets the bytes. */
MUST_CHECK enum err_code
pq_snappy_decompress(const uint8_t *p, size_t n, struct buf *out, struct err *err);
/* The most bytes pq_snappy_compress can write for n input bytes. */
size_t pq_snappy_max_compressed(size_t n);

#endif
