/*
 * etl_writer.c - encoder, staging and codec. Text is staged and handed to the codec in pieces
 * of STAGE_FLUSH_BYTES, so the codec works on large chunks and memory stays small; in
 * whole-object mode the cache's stage (kept warm) holds the whole text, compressed at once at
 * close.
 */
#include "etl_writer.h"

#include <stdio.h>
#include <string.h>

#include "limit.h"

#define STAGE_FLUSH_BYTES   (256 * 1024)
#define STAGE_INITIAL_BYTES (256 * 1024) /* whole-object mode: the cache's stage, at first */

/* Moves staged text to the codec (force: whatever is there). */
static enum err_code drain(struct etl_writer *w, bool force, struct err *err)
{
    if (w->cache != NULL || (!force && w->stage.len < STAGE_FLUSH_BYTES)) {
        return ERR_OK;
    }
    w->raw_bytes += w->stage.len;
    enum err_code rc =
        w->codec->write(w->codec_state, w->stage.data, w->stage.len, false, w->out, err);
    buf_reset(&w->stage);
    return rc;
}

static enum err_code flush_hook(struct etl_encode_out *o, struct err *err)
{
    struct etl_writer *w = (struct etl_writer *)((char *)o - offsetof(struct etl_writer, enc_out));
    return drain(w, false, err);
}

enum err_code etl_writer_open(struct etl_writer *w,
                              struct buf *out,
                              const struct etl_encoding *enc,
                              const struct etl_schema *schema,
                              struct err *err)
{
    const struct etl_format *fmt = enc->format;
    const struct etl_codec *codec = etl_writer_codec(enc);
    memset(w, 0, sizeof(*w));
    w->fmt = fmt;
    w->codec = codec;
    w->out = out;
    w->enc_out.text = &w->stage;
    w->enc_out.flush = flush_hook;
    if (fmt->needs_schema && schema == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "%s: the writer needs the object's schema",
                       fmt->name);
    }
    enum err_code rc = ERR_OK;
    if (enc->cache != NULL && !fmt->own_codec) { /* Parquet compresses its pages itself */
        w->cache = enc->cache;
        w->level = enc->level;
        struct buf *stage = &enc->cache->stage; /* kept warm by the cache */
        w->enc_out.text = stage;
        buf_reset(stage);
        if (stage->cap == 0) {
            /* Straight to its own mapping (main() fixes glibc's mmap threshold at 128 KiB), not
             * by doubling through the calling thread's malloc arena, which would keep every
             * smaller step. A buf keeps a NUL after its bytes: this reserves exactly 256 KiB. */
            rc = buf_reserve(stage, STAGE_INITIAL_BYTES - 1, err);
        }
    } else {
        w->codec_open = true;
        rc = codec->begin(w->codec_state, enc->level, err);
    }
    if (rc == ERR_OK) {
        w->enc_open = true;
        rc = fmt->begin(w->enc, schema, &enc->opts, err);
    }
    return rc;
}

enum err_code etl_writer_row(struct etl_writer *w, const struct etl_row_ref *row, struct err *err)
{
    w->rows++;
    return w->fmt->row(w->enc, row, &w->enc_out, err);
}

enum err_code etl_writer_raw(struct etl_writer *w, const void *p, size_t n, struct err *err)
{
    enum err_code rc = buf_append(w->enc_out.text, p, n, err);
    return rc == ERR_OK ? drain(w, false, err) : rc;
}

enum err_code etl_writer_close(struct etl_writer *w, struct err *err)
{
    enum err_code rc = w->fmt->end(w->enc, &w->enc_out, err);
    if (rc == ERR_OK && w->cache != NULL) {
        struct buf *t = w->enc_out.text;
        w->raw_bytes += t->len;
        rc = w->codec->compress(w->cache, w->level, t->data, t->len, w->out, err);
        buf_reset(t);
        return rc;
    }
    if (rc == ERR_OK) {
        rc = drain(w, true, err);
    }
    if (rc == ERR_OK) {
        rc = w->codec->write(w->codec_state, NULL, 0, true, w->out, err);
    }
    return rc;
}

void etl_writer_cleanup(struct etl_writer *w)
{
    if (w == NULL) {
        return;
    }
    if (w->enc_open) {
        w->fmt->cleanup(w->enc);
        w->enc_open = false;
    }
    if (w->codec_open) {
        w->codec->cleanup(w->codec_state);
        w->codec_open = false;
    }
    /* The cache's stage stays warm for the next object, but never more than a few MiB idle,
     * whether or not this object was closed. */
    if (w->cache != NULL) {
        buf_reset(&w->cache->stage);
        if (w->cache->stage.cap > LIMIT_KEEP_WARM_BYTES) {
            buf_cleanup(&w->cache->stage);
        }
    }
    buf_cleanup(&w->stage);
}

const struct etl_codec *etl_writer_codec(const struct etl_encoding *enc)
{
    return enc->format->own_codec ? &etl_codec_none : enc->codec;
}

void etl_writer_extension(const struct etl_encoding *enc, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", enc->format->extension, etl_writer_codec(enc)->suffix);
}

const char *etl_writer_content_type(const struct etl_encoding *enc)
{
    const struct etl_codec *codec = etl_writer_codec(enc);
    return codec->content_type != NULL ? codec->content_type : enc->format->content_type;
}
