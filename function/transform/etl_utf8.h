/*
 * etl_utf8.h - UTF-8 as Trino's string functions see it: code points, counted the way
 * airlift's SliceUtf8 counts them (every byte that does not continue a sequence starts one), so
 * text that is not valid UTF-8 is still measured and cut without failing.
 * Ownership: plain functions on borrowed bytes.
 */
#ifndef ETL_UTF8_H
#define ETL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The code point at p (n > 0 bytes left) and its length in bytes. A byte that does not start a
 * well-formed sequence is returned as itself with length 1 and *valid false. */
uint32_t etl_utf8_decode(const uint8_t *p, size_t n, size_t *len, bool *valid);
/* The bytes UTF-8 needs for a code point (1 to 4). */
size_t etl_utf8_width(uint32_t cp);
/* Code points in n bytes: the bytes that are not continuation bytes (10xxxxxx). */
size_t etl_utf8_count(const uint8_t *p, size_t n);
/* The byte offset of the k-th code point (0-based) of s; s.len when s has k or fewer. */
size_t etl_utf8_offset(struct cur s, size_t k);

#endif
