/*
 * pq_rle.h - the RLE / bit-packed hybrid of Parquet's Encodings.md, for definition and
 * repetition levels and dictionary indices: runs of 8 or more equal values become RLE runs,
 * the rest bit-packed runs of groups of 8 (the last group padded with zeros).
 * Ownership: output is appended to the caller's buf; values are borrowed.
 */
#ifndef PQ_RLE_H
#define PQ_RLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The bits needed for values up to max (0 for max 0). */
int pq_rle_bit_width(uint32_t max);

/* Appends the hybrid encoding of n values, each below 2^bit_width (bit_width 0 to 32), without a
 * length prefix. */
MUST_CHECK enum err_code
pq_rle_encode(const uint32_t *v, size_t n, int bit_width, struct buf *out, struct err *err);
/* The same, of byte-sized values (levels). */
MUST_CHECK enum err_code
pq_rle_encode_u8(const uint8_t *v, size_t n, int bit_width, struct buf *out, struct err *err);

/* Decodes n values (tests and the fuzz target): false if the input is short or malformed. */
bool pq_rle_decode(const uint8_t *p, size_t len, int bit_width, uint32_t *v, size_t n);

#endif
