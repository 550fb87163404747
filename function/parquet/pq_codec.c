/*
 * pq_codec.c - one call per page: the whole page in, its compressed form out.
 */
#include "pq_codec.h"

#include <stdlib.h>
#include <strings.h>
#include <zstd.h>

#include <zlib.h>

#include "pq_snappy.h"

const char *const pq_codec_names[] = {"none", "snappy", "gzip", "zstd", NULL};

bool pq_codec_from_name(const char *name, enum pq_codec *out)
{
    static const enum pq_codec codecs[] = {PQ_CODEC_NONE, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
                                           PQ_CODEC_ZSTD};
    for (size_t i = 0; pq_codec_names[i] != NULL; i++) {
        if (strcasecmp(name, pq_codec_names[i]) == 0) {
            *out = codecs[i];
            return true;
        }
    }
    return false;
}

const char *pq_codec_name(enum pq_codec c)
{
    switch (c) {
    case PQ_CODEC_NONE:
        return "UNCOMPRESSED";
    case PQ_CODEC_SNAPPY:
        return "SNAPPY";
    case PQ_CODEC_GZIP:
        return "GZIP";
    case PQ_CODEC_ZSTD:
        return "ZSTD";
    }
    return "?";
}

void pq_compressor_init(struct pq_compressor *c, enum pq_codec codec)
{
    c->codec = codec;
    c->zstd = NULL;
    c->deflate = NULL;
}

void pq_compressor_cleanup(struct pq_compressor *c)
{
    if (c == NULL) {
        return;
    }
    ZSTD_freeCCtx(c->zstd);
    c->zstd = NULL;
    if (c->deflate != NULL) {
        deflateEnd(c->deflate);
        free(c->deflate);
        c->deflate = NULL;
    }
}

/* One gzip member (windowBits 15 + 16): zlib writes MTIME 0 and no name, so it is stable. The
 * stream is set up once and reset per page. */
static enum err_code
gzip(struct pq_compressor *c, const uint8_t *p, size_t n, struct buf *out, struct err *err)
{
    z_stream *z = c->deflate;
    if (z == NULL) {
        z = calloc(1, sizeof(*z));
        if (z == NULL) {
            return err_set(err, ERR_NOMEM, "gzip: out of memory");
        }
        if (deflateInit2(z, PQ_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(z);
            return err_set(err, ERR_NOMEM, "gzip: deflateInit2 failed");
        }
        c->deflate = z;
    } else if (deflateReset(z) != Z_OK) {
        return err_set(err, ERR_INVALID_INPUT, "gzip: deflateReset failed");
    }
    uLong bound = deflateBound(z, (uLong)n);
    enum err_code rc = buf_reserve(out, bound, err);
    if (rc != ERR_OK) {
        return rc;
    }
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    z->next_out = out->data + out->len;
    z->avail_out = (uInt)bound;
    if (deflate(z, Z_FINISH) != Z_STREAM_END) {
        return err_set(err, ERR_INVALID_INPUT, "gzip: deflate did not finish (%s)",
                       z->msg != NULL ? z->msg : "no message");
    }
    buf_commit(out, z->total_out);
    return ERR_OK;
}

static enum err_code
zstd(struct pq_compressor *c, const uint8_t *p, size_t n, struct buf *out, struct err *err)
{
    if (c->zstd == NULL) {
        c->zstd = ZSTD_createCCtx();
        if (c->zstd == NULL) {
            return err_set(err, ERR_NOMEM, "zstd: out of memory for a context");
        }
    }
    size_t bound = ZSTD_compressBound(n);
    enum err_code rc = buf_reserve(out, bound, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t got = ZSTD_compressCCtx(c->zstd, out->data + out->len, bound, p, n, PQ_ZSTD_LEVEL);
    if (ZSTD_isError(got)) {
        return err_set(err, ERR_NOMEM, "zstd: %s", ZSTD_getErrorName(got));
    }
    buf_commit(out, got);
    return ERR_OK;
}

enum err_code pq_compressor_run(struct pq_compressor *c,
                                const uint8_t *p,
                                size_t n,
                                struct buf *out,
                                struct err *err)
{
    /* zlib counts in uInt: pages are far smaller (a row group's column), but check. */
    if (n > UINT32_MAX / 2) {
        return err_set(err, ERR_TOO_LARGE, "parquet: a %zu-byte page is over 2 GiB", n);
    }
    switch (c->codec) {
    case PQ_CODEC_NONE:
        return buf_append(out, p, n, err);
    case PQ_CODEC_SNAPPY:
        return pq_snappy_compress(p, n, out, err);
    case PQ_CODEC_GZIP:
        return gzip(c, p, n, out, err);
    case PQ_CODEC_ZSTD:
        return zstd(c, p, n, out, err);
    }
    return err_set(err, ERR_INVALID_INPUT, "parquet: unknown codec %d", (int)c->codec);
}

enum err_code
pq_codec_compress(enum pq_codec codec, const uint8_t *p, size_t n, struct buf *out, struct err *err)
{
    struct pq_compressor c;
    pq_compressor_init(&c, codec);
    enum err_code rc = pq_compressor_run(&c, p, n, out, err);
    pq_compressor_cleanup(&c);
    return rc;
}
