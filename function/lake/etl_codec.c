/*
 * etl_codec.c - the none and gzip codecs. Streaming gzip (zlib) grows the caller's buf in steps
 * of half the input plus 64 KiB, so an object costs its compressed size in memory; whole-object
 * gzip (libdeflate) reserves the compressor's worst-case bound once.
 */
#include "etl_codec.h"

#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#define GZIP_OUT_STEP (64 * 1024)

struct gzip_state {
    z_stream z;
    gz_header head; /* deflateSetHeader keeps a pointer: it must live as long as z */
    bool open;
};
_Static_assert(sizeof(struct gzip_state) <= ETL_CODEC_STATE_BYTES, "gzip state too large");

static enum err_code none_begin(void *state, int level, struct err *err)
{
    (void)state;
    (void)level;
    (void)err;
    return ERR_OK;
}

static enum err_code
none_write(void *state, const uint8_t *p, size_t n, bool finish, struct buf *out, struct err *err)
{
    (void)state;
    (void)finish;
    return n > 0 ? buf_append(out, p, n, err) : ERR_OK;
}

static void none_cleanup(void *state)
{
    (void)state;
}

static enum err_code none_compress(struct etl_codec_cache *cache,
                                   int level,
                                   const uint8_t *p,
                                   size_t n,
                                   struct buf *out,
                                   struct err *err)
{
    (void)cache;
    (void)level;
    return n > 0 ? buf_append(out, p, n, err) : ERR_OK;
}

static enum err_code gzip_begin(void *state, int level, struct err *err)
{
    struct gzip_state *g = state;
    memset(g, 0, sizeof(*g));
    /* windowBits 15 + 16 selects the gzip wrapper. */
    if (deflateInit2(&g->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return err_set(err, ERR_NOMEM, "deflateInit2 failed");
    }
    g->open = true;
    g->head.os = 255; /* "unknown", as DynamoDB's exports write; MTIME stays 0 */
    if (deflateSetHeader(&g->z, &g->head) != Z_OK) {
        return err_set(err, ERR_NOMEM, "deflateSetHeader failed");
    }
    return ERR_OK;
}

static enum err_code
gzip_write(void *state, const uint8_t *p, size_t n, bool finish, struct buf *out, struct err *err)
{
    struct gzip_state *g = state;
    int flush = finish ? Z_FINISH : Z_NO_FLUSH;
    g->z.next_in = (Bytef *)(uintptr_t)p;
    g->z.avail_in = (uInt)n;
    for (;;) {
        size_t room = n / 2 + GZIP_OUT_STEP;
        enum err_code rc = buf_reserve(out, room, err);
        if (rc != ERR_OK) {
            return rc;
        }
        g->z.next_out = out->data + out->len;
        g->z.avail_out = (uInt)room;
        int zr = deflate(&g->z, flush);
        if (zr == Z_STREAM_ERROR) {
            return err_set(err, ERR_INVALID_INPUT, "deflate failed");
        }
        buf_commit(out, room - g->z.avail_out);
        if (finish ? zr == Z_STREAM_END : (g->z.avail_in == 0 && g->z.avail_out != 0)) {
            return ERR_OK;
        }
    }
}

static void gzip_cleanup(void *state)
{
    struct gzip_state *g = state;
    if (g->open) {
        deflateEnd(&g->z);
        g->open = false;
    }
}

void etl_codec_cache_init(struct etl_codec_cache *c)
{
    memset(c, 0, sizeof(*c));
}

void etl_codec_cache_cleanup(struct etl_codec_cache *c)
{
    if (c == NULL) {
        return;
    }
    libdeflate_free_compressor(c->deflate);
    buf_cleanup(&c->stage);
    memset(c, 0, sizeof(*c));
}

/* libdeflate's level n gives smaller output than zlib's level n, in a fraction of the time
 * (README, Benchmarks: every level 1-9 measured on a stream batch), so ETL_GZIP_LEVEL keeps its
 * meaning: the same number, at least as small. */
static enum err_code gzip_compress(struct etl_codec_cache *cache,
                                   int level,
                                   const uint8_t *p,
                                   size_t n,
                                   struct buf *out,
                                   struct err *err)
{
    if (cache->deflate == NULL || cache->deflate_level != level) {
        libdeflate_free_compressor(cache->deflate);
        cache->deflate_level = level;
        cache->deflate = libdeflate_alloc_compressor(level);
        if (cache->deflate == NULL) {
            return err_set(err, ERR_NOMEM, "libdeflate_alloc_compressor(%d) failed", level);
        }
    }
    size_t bound = libdeflate_gzip_compress_bound(cache->deflate, n);
    enum err_code rc = buf_reserve(out, bound, err);
    if (rc != ERR_OK) {
        return rc;
    }
    /* libdeflate's header is the streaming codec's: no name, MTIME 0, OS 255 (test_codec). */
    size_t k = libdeflate_gzip_compress(cache->deflate, p, n, out->data + out->len, bound);
    if (k == 0) { /* "did not fit", which the bound rules out */
        return err_set(err, ERR_INVALID_INPUT, "libdeflate_gzip_compress of %zu bytes failed", n);
    }
    buf_commit(out, k);
    return ERR_OK;
}

const struct etl_codec etl_codec_none = {
    .name = "none",
    .suffix = "",
    .content_type = NULL,
    .begin = none_begin,
    .write = none_write,
    .cleanup = none_cleanup,
    .compress = none_compress,
};

const struct etl_codec etl_codec_gzip = {
    .name = "gzip",
    .suffix = ".gz",
    .content_type = "application/gzip",
    .begin = gzip_begin,
    .write = gzip_write,
    .cleanup = gzip_cleanup,
    .compress = gzip_compress,
};

const char *const etl_codec_names[] = {"gzip", "none", NULL};

const struct etl_codec *etl_codec_find(const char *name)
{
    static const struct etl_codec *const all[] = {&etl_codec_gzip, &etl_codec_none};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(all[i]->name, name) == 0) {
            return all[i];
        }
    }
    return NULL;
}
