/*
 * test_codec.c - the codecs through both ways in: streaming (begin/write, zlib) and whole-object
 * (compress, libdeflate with a reused cache). Each case checks a zlib inflate round trip (one
 * member, nothing after it), the deterministic header, and same input -> same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_codec.h"
#include "test_util.h"

enum input_kind { IN_TEXT, IN_RANDOM, IN_REPEAT };

struct codec_case {
    const char *name;
    enum input_kind kind;
    size_t len;
    int level;
};

/* Stream objects run from empty to several MiB; the 9 MiB case crosses the writer's and zlib's
 * buffer sizes many times over, and random bytes exercise stored blocks. */
static const struct codec_case cases[] = {
    {"empty", IN_TEXT, 0, 6},
    {"one_byte", IN_TEXT, 1, 6},
    {"text_level1", IN_TEXT, 100000, 1},
    {"text_level6", IN_TEXT, 100000, 6},
    {"text_level9", IN_TEXT, 100000, 9},
    {"random_64k", IN_RANDOM, 65536, 6},
    {"repeat_1m", IN_REPEAT, 1 << 20, 6},
    {"large_text_9m", IN_TEXT, 9u << 20, 6},
};

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64: a fixed sequence, so every run tests the same bytes. */
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* JSON-Lines-like text (repetitive keys, varying values), random bytes, or one repeated byte. */
static void make_input(enum input_kind kind, size_t len, struct buf *out)
{
    struct err err = ERR_INIT;
    uint64_t s = 0x9e3779b97f4a7c15u;
    char line[160];
    assert_int_equal(buf_reserve(out, len, &err), ERR_OK);
    while (out->len < len) {
        size_t n;
        if (kind == IN_TEXT) {
            uint64_t r = next_rand(&s);
            int k = snprintf(line, sizeof(line),
                             "{\"pk\":\"CUST#%llu\",\"sk\":\"ORDER#%llu\",\"qty\":%u,\"ok\":%s}\n",
                             (unsigned long long)(r % 100000), (unsigned long long)(r >> 40),
                             (unsigned)(r % 97), (r & 1) != 0 ? "true" : "false");
            n = (size_t)k;
        } else {
            for (size_t i = 0; i < sizeof(line); i++) {
                line[i] = kind == IN_RANDOM ? (char)next_rand(&s) : 'a';
            }
            n = sizeof(line);
        }
        n = n < len - out->len ? n : len - out->len;
        assert_int_equal(buf_append(out, line, n, &err), ERR_OK);
    }
}

/* ID1 ID2 CM=8 FLG=0 MTIME=0; XFL (byte 8) is the library's speed hint; OS 255 "unknown". */
static void check_header(const struct buf *gz)
{
    static const uint8_t head[] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0};
    assert_true(gz->len >= 18); /* header + empty deflate block + CRC32 + ISIZE */
    assert_memory_equal(gz->data, head, sizeof(head));
    assert_int_equal(gz->data[9], 0xff);
}

static void compress_stream(const struct buf *in, int level, struct buf *out)
{
    _Alignas(16) unsigned char state[ETL_CODEC_STATE_BYTES];
    memset(state, 0, sizeof(state));
    struct err err = ERR_INIT;
    assert_int_equal(etl_codec_gzip.begin(state, level, &err), ERR_OK);
    /* In pieces, as the writer hands them over. */
    size_t off = 0, piece = 256 * 1024;
    while (off < in->len) {
        size_t n = in->len - off < piece ? in->len - off : piece;
        assert_int_equal(etl_codec_gzip.write(state, in->data + off, n, false, out, &err), ERR_OK);
        off += n;
    }
    assert_int_equal(etl_codec_gzip.write(state, NULL, 0, true, out, &err), ERR_OK);
    etl_codec_gzip.cleanup(state);
}

static void
compress_whole(struct etl_codec_cache *cache, const struct buf *in, int level, struct buf *out)
{
    struct err err = ERR_INIT;
    assert_int_equal(etl_codec_gzip.compress(cache, level, in->data, in->len, out, &err), ERR_OK);
}

static void test_case(void **state)
{
    const struct codec_case *c = *state;
    struct buf in = BUF_INIT(0), s = BUF_INIT(0), w1 = BUF_INIT(0), w2 = BUF_INIT(0),
               w3 = BUF_INIT(0), back = BUF_INIT(0);
    struct etl_codec_cache cache, fresh;
    etl_codec_cache_init(&cache);
    etl_codec_cache_init(&fresh);
    make_input(c->kind, c->len, &in);

    compress_stream(&in, c->level, &s);
    check_header(&s);
    test_gunzip(&s, &back);
    assert_int_equal(back.len, in.len);
    assert_true(in.len == 0 || memcmp(back.data, in.data, in.len) == 0);

    /* Whole-object: twice on one cache (reused compressor), once on a fresh one; the same
     * bytes each time, appended after what out already holds. */
    compress_whole(&cache, &in, c->level, &w1);
    assert_int_equal(buf_append(&w2, "x", 1, &(struct err)ERR_INIT), ERR_OK);
    compress_whole(&cache, &in, c->level, &w2);
    compress_whole(&fresh, &in, c->level, &w3);
    check_header(&w1);
    assert_int_equal(w2.len, w1.len + 1);
    assert_memory_equal(w2.data + 1, w1.data, w1.len);
    assert_int_equal(w3.len, w1.len);
    assert_memory_equal(w3.data, w1.data, w1.len);
    buf_reset(&back);
    test_gunzip(&w1, &back);
    assert_int_equal(back.len, in.len);
    assert_true(in.len == 0 || memcmp(back.data, in.data, in.len) == 0);

    etl_codec_cache_cleanup(&cache);
    etl_codec_cache_cleanup(&fresh);
    etl_codec_cache_cleanup(&fresh); /* idempotent, as error paths need */
    buf_cleanup(&in);
    buf_cleanup(&s);
    buf_cleanup(&w1);
    buf_cleanup(&w2);
    buf_cleanup(&w3);
    buf_cleanup(&back);
}

/* A cache follows the level asked for: switching levels gives each level's own bytes. */
static void test_cache_level_switch(void **state)
{
    (void)state;
    struct buf in = BUF_INIT(0), a6 = BUF_INIT(0), a1 = BUF_INIT(0), b6 = BUF_INIT(0);
    struct etl_codec_cache cache;
    etl_codec_cache_init(&cache);
    make_input(IN_TEXT, 200000, &in);
    compress_whole(&cache, &in, 6, &a6);
    compress_whole(&cache, &in, 1, &a1);
    assert_int_equal(cache.deflate_level, 1);
    compress_whole(&cache, &in, 6, &b6);
    assert_true(a1.len > a6.len);
    assert_int_equal(b6.len, a6.len);
    assert_memory_equal(b6.data, a6.data, a6.len);
    etl_codec_cache_cleanup(&cache);
    buf_cleanup(&in);
    buf_cleanup(&a6);
    buf_cleanup(&a1);
    buf_cleanup(&b6);
}

/* ETL_GZIP_LEVEL keeps its meaning: at each level, whole-object output is no larger than the
 * streaming codec's on record-like text (the README's per-level figures, on real batches). */
static void test_whole_no_larger_than_stream(void **state)
{
    (void)state;
    struct buf in = BUF_INIT(0);
    struct etl_codec_cache cache;
    etl_codec_cache_init(&cache);
    make_input(IN_TEXT, 500000, &in);
    for (int level = 1; level <= 9; level++) {
        struct buf s = BUF_INIT(0), w = BUF_INIT(0);
        compress_stream(&in, level, &s);
        compress_whole(&cache, &in, level, &w);
        if (w.len > s.len) {
            fail_msg("level %d: libdeflate %zu bytes > zlib %zu", level, w.len, s.len);
        }
        buf_cleanup(&s);
        buf_cleanup(&w);
    }
    etl_codec_cache_cleanup(&cache);
    buf_cleanup(&in);
}

/* The none codec passes bytes through both ways. */
static void test_none(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_codec_none.compress(NULL, 0, (const uint8_t *)"abc", 3, &out, &err),
                     ERR_OK);
    assert_int_equal(etl_codec_none.compress(NULL, 0, NULL, 0, &out, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), "abc");
    assert_ptr_equal(etl_codec_find("gzip"), &etl_codec_gzip);
    assert_null(etl_codec_find("zstd"));
    buf_cleanup(&out);
}

int main(void)
{
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    struct CMUnitTest tests[N + 3];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, (void *)&cases[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_cache_level_switch);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_whole_no_larger_than_stream);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_none);
    return _cmocka_run_group_tests("codec", tests, N + 3, NULL, NULL);
}
