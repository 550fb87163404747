/*
 * etl_writer.h - one object's bytes: rows through the format's encoder, its text through the
 * codec, as they come, so an object costs about its compressed size in memory (a whole-object
 * format holds references to its rows until close).
 * Ownership: the writer borrows the output buf, the format, the codec and the rows (and, in
 *   whole-object mode, the cache with its stage); it owns its own staging buffer and the
 *   encoder's and codec's state (etl_writer_cleanup frees them).
 */
#ifndef ETL_WRITER_H
#define ETL_WRITER_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_codec.h"
#include "etl_format.h"
#include "etl_row.h"
#include "etl_schema.h"

/* How a pipeline encodes its objects: the format and its options, the codec and the codec's
 * level. With a cache, the writer holds the object's text and compresses it whole at close
 * (codec->compress, reusing the cache's compressor); without one, text streams through the codec
 * (bounded memory). */
struct etl_encoding {
    const struct etl_format *format;
    const struct etl_codec *codec;
    int level;
    struct etl_codec_cache *cache; /* borrowed; NULL: stream */
    struct etl_format_options opts;
};

struct etl_writer {
    const struct etl_format *fmt;
    const struct etl_codec *codec;
    struct buf *out;
    struct buf stage;              /* encoded text waiting for the codec (streaming mode) */
    struct etl_encode_out enc_out; /* its text: &stage, or the cache's stage (whole-object mode) */
    bool enc_open;
    bool codec_open;
    struct etl_codec_cache *cache; /* whole-object mode when non-NULL */
    int level;
    uint64_t raw_bytes; /* encoded (uncompressed) bytes handed to the codec so far */
    uint64_t rows;
    alignas(16) unsigned char enc[ETL_ENCODER_STATE_BYTES];
    alignas(16) unsigned char codec_state[ETL_CODEC_STATE_BYTES];
};

/* schema: the object's schema when the format needs it (fmt->needs_schema), else may be NULL. */
MUST_CHECK enum err_code etl_writer_open(struct etl_writer *w,
                                         struct buf *out,
                                         const struct etl_encoding *enc,
                                         const struct etl_schema *schema,
                                         struct err *err);
MUST_CHECK enum err_code
etl_writer_row(struct etl_writer *w, const struct etl_row_ref *row, struct err *err);
/* Appends text as it is, outside the format (one JSON line of a quarantine object). */
MUST_CHECK enum err_code
etl_writer_raw(struct etl_writer *w, const void *p, size_t n, struct err *err);
/* Text encoded but not yet given to the codec (in whole-object mode, all of it until close). */
static inline uint64_t etl_writer_pending_bytes(const struct etl_writer *w)
{
    return w->enc_out.text != NULL ? w->enc_out.text->len : 0;
}
/* Ends the format and the codec (gzip trailer); in whole-object mode, compresses the object. */
MUST_CHECK enum err_code etl_writer_close(struct etl_writer *w, struct err *err);
void etl_writer_cleanup(struct etl_writer *w);

/* The codec around the format's bytes: none for a format that compresses inside (Parquet),
 * else the encoding's (so ETL_COMPRESSION still applies to the JSON Lines side outputs). */
const struct etl_codec *etl_writer_codec(const struct etl_encoding *enc);
/* The extension of objects so encoded ("jsonl.gz"), into out. */
void etl_writer_extension(const struct etl_encoding *enc, char *out, size_t cap);
/* Their Content-Type: the codec's (application/gzip) or else the format's. */
const char *etl_writer_content_type(const struct etl_encoding *enc);

#endif
