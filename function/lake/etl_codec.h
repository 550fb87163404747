/*
 * etl_codec.h - compression of an object's bytes as a layer of its own, under the format's
 * encoder: none, or gzip (one member with a deterministic header: no name, MTIME 0, OS 255, as
 * DynamoDB's own exports, so the same rows always give the same bytes). Formats that compress
 * inside their own structure (Parquet pages) use the none codec.
 * Two ways in: begin/write/cleanup stream an object of any size through a fixed window (zlib),
 *   for snapshot files sent as multipart parts; compress takes a whole object at once
 *   (libdeflate: half the time of zlib or less, and smaller output, at the same level), for
 *   objects held in memory anyway (stream batches). The two give different bytes for the same
 *   input; each is deterministic.
 * Ownership: a codec's state lives in the caller's storage (ETL_CODEC_STATE_BYTES, aligned) and
 *   owns what the codec allocates (cleanup frees it); output is appended to the caller's buf.
 *   A struct etl_codec_cache belongs to its caller, who keeps it across objects and invocations
 *   so that the compressor and the stage are allocated once (etl_codec_cache_cleanup frees them);
 *   it serves one writer at a time.
 */
#ifndef ETL_CODEC_H
#define ETL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ETL_CODEC_STATE_BYTES 256

struct libdeflate_compressor;

/* What whole-object compression keeps between calls: the compressor of the last level used, and
 * the buffer the writer stages an object's text in (one object at a time per cache), so that
 * neither is allocated and grown again for every object. */
struct etl_codec_cache {
    struct libdeflate_compressor *deflate;
    int deflate_level;
    struct buf stage;
};

/* Zeroes; a zeroed cache is valid. */
void etl_codec_cache_init(struct etl_codec_cache *c);
/* Frees what the cache holds; accepts NULL and zeroed caches. */
void etl_codec_cache_cleanup(struct etl_codec_cache *c);

struct etl_codec {
    const char *name;         /* the ETL_COMPRESSION value */
    const char *suffix;       /* added to the format's extension: ".gz", or "" */
    const char *content_type; /* of compressed objects; NULL: the format's own */
    MUST_CHECK enum err_code (*begin)(void *state, int level, struct err *err);
    /* Compresses n bytes at p onto out; finish ends the stream (trailer). */
    MUST_CHECK enum err_code (*write)(void *state,
                                      const uint8_t *p,
                                      size_t n,
                                      bool finish,
                                      struct buf *out,
                                      struct err *err);
    void (*cleanup)(void *state); /* accepts a state whose begin failed or never ran (zeroed) */
    /* Compresses the whole object (n bytes at p) onto out in one call, reusing cache. */
    MUST_CHECK enum err_code (*compress)(struct etl_codec_cache *cache,
                                         int level,
                                         const uint8_t *p,
                                         size_t n,
                                         struct buf *out,
                                         struct err *err);
};

extern const struct etl_codec etl_codec_none;
extern const struct etl_codec etl_codec_gzip;

/* The codec named name ("gzip", "none"), or NULL. */
const struct etl_codec *etl_codec_find(const char *name);
/* Every codec's name, NULL-terminated, in a stable order (for choices and messages). */
extern const char *const etl_codec_names[];

#endif
