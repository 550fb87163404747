/*
 * pq_codec.h - Parquet's page compression codecs (parquet.thrift CompressionCodec): NONE,
 * SNAPPY (pq_snappy.h), GZIP (zlib, RFC 1952 gzip as Parquet's Compression.md requires) and
 * ZSTD (libzstd). Each is deterministic: the same page gives the same bytes at a given library
 * version, so a retried batch writes the same object.
 * Ownership: output is appended to the caller's buf; a compressor owns its codec state
 *   (pq_compressor_cleanup frees it).
 */
#ifndef PQ_CODEC_H
#define PQ_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The values are parquet.thrift's. */
enum pq_codec {
    PQ_CODEC_NONE = 0,
    PQ_CODEC_SNAPPY = 1,
    PQ_CODEC_GZIP = 2,
    PQ_CODEC_ZSTD = 6,
};

/* zlib's default level and zstd's: the engines' defaults too (Spark, arrow-rs). */
#define PQ_GZIP_LEVEL 6
#define PQ_ZSTD_LEVEL 3

/* "none", "snappy", "gzip", "zstd" (case-insensitive) to its codec; false if none. */
bool pq_codec_from_name(const char *name, enum pq_codec *out);
/* The upper-case name ("SNAPPY"), as parquet_metadata shows it. */
const char *pq_codec_name(enum pq_codec c);
/* Every codec's lower-case name, NULL-terminated (for choices and messages). */
extern const char *const pq_codec_names[];

/* A codec with its state kept between pages: zstd's context and zlib's stream are made once
 * (each is hundreds of KiB; made per page, their allocation and release cost more than the
 * compression of a small page). Reuse does not change the output. */
struct pq_compressor {
    enum pq_codec codec;
    void *zstd;    /* ZSTD_CCtx */
    void *deflate; /* z_stream, set up with deflateInit2 */
};

void pq_compressor_init(struct pq_compressor *c, enum pq_codec codec);
/* Accepts a zeroed compressor. */
void pq_compressor_cleanup(struct pq_compressor *c);
/* Appends n bytes at p, compressed, to out. */
MUST_CHECK enum err_code pq_compressor_run(struct pq_compressor *c,
                                           const uint8_t *p,
                                           size_t n,
                                           struct buf *out,
                                           struct err *err);

/* One-shot: a compressor made and freed for one call. */
MUST_CHECK enum err_code
pq_codec_compress(enum pq_codec c, const uint8_t *p, size_t n, struct buf *out, struct err *err);

#endif
