/*
 * test_pq_codec.c - page codecs: a compressor reused across pages gives, page for page, the
 * bytes of a fresh one (retries must write the same file), GZIP is RFC 1952 (magic, MTIME 0)
 * and every codec inflates back through its own library; names map both ways.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include <zlib.h>

#include "pq_codec.h"
#include "pq_snappy.h"
#include "test_util.h"

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (i % 50 < 30) ? (uint8_t) "order#000123,café,"[i % 18] : (uint8_t)(seed >> 16);
    }
}

static void decompress(enum pq_codec c, const struct buf *in, size_t n, uint8_t *out)
{
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    switch (c) {
    case PQ_CODEC_NONE:
        assert_int_equal(in->len, n);
        memcpy(out, in->data, n);
        break;
    case PQ_CODEC_SNAPPY:
        assert_int_equal(pq_snappy_decompress(in->data, in->len, &b, &err), ERR_OK);
        assert_int_equal(b.len, n);
        memcpy(out, b.data, n);
        break;
    case PQ_CODEC_GZIP: {
        assert_true(in->len > 10);
        assert_int_equal(in->data[0], 0x1f);
        assert_int_equal(in->data[1], 0x8b);
        assert_int_equal(in->data[4] | in->data[5] | in->data[6] | in->data[7], 0); /* MTIME */
        z_stream z = {0};
        assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
        z.next_in = in->data;
        z.avail_in = (uInt)in->len;
        z.next_out = out;
        z.avail_out = (uInt)n;
        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
        assert_int_equal(z.total_out, n);
        inflateEnd(&z);
        break;
    }
    case PQ_CODEC_ZSTD:
        assert_int_equal(ZSTD_decompress(out, n, in->data, in->len), n);
        break;
    }
    buf_cleanup(&b);
}

static void test_reuse_is_fresh(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 100, 5000, 70000, 300000, 17};
    const enum pq_codec codecs[] = {PQ_CODEC_NONE, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
    uint8_t *p = malloc(300000), *back = malloc(300000);
    assert_non_null(p);
    assert_non_null(back);
    for (size_t c = 0; c < 4; c++) {
        struct pq_compressor comp;
        pq_compressor_init(&comp, codecs[c]);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            struct buf reused = BUF_INIT(0), fresh = BUF_INIT(0);
            struct err err = ERR_INIT;
            fill(p, sizes[i], (unsigned)(i + 1));
            assert_int_equal(pq_compressor_run(&comp, p, sizes[i], &reused, &err), ERR_OK);
            assert_int_equal(pq_codec_compress(codecs[c], p, sizes[i], &fresh, &err), ERR_OK);
            assert_int_equal(reused.len, fresh.len);
            assert_memory_equal(reused.data, fresh.data, fresh.len);
            decompress(codecs[c], &reused, sizes[i], back);
            assert_memory_equal(back, p, sizes[i]);
            buf_cleanup(&reused);
            buf_cleanup(&fresh);
        }
        pq_compressor_cleanup(&comp);
    }
    free(p);
    free(back);
}

static void test_names(void **state)
{
    (void)state;
    enum pq_codec c = PQ_CODEC_NONE;
    assert_true(pq_codec_from_name("ZSTD", &c));
    assert_int_equal(c, PQ_CODEC_ZSTD);
    assert_string_equal(pq_codec_name(c), "ZSTD");
    assert_true(pq_codec_from_name("none", &c));
    assert_string_equal(pq_codec_name(c), "UNCOMPRESSED");
    assert_false(pq_codec_from_name("lz4", &c));
    struct pq_compressor zeroed = {0};
    pq_compressor_cleanup(&zeroed);
    pq_compressor_cleanup(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_is_fresh),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("pq_codec", tests, NULL, NULL);
}
