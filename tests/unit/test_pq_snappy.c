/*
 * test_pq_snappy.c - the Snappy encoder: known bytes for tiny inputs, round trips through the
 * decoder on inputs that exercise literals (short and 1-4 byte lengths), both copy forms, long
 * and self-overlapping matches and offsets near 64 KiB, determinism, and corrupt blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "pq_snappy.h"
#include "test_util.h"

static void round_trip(const uint8_t *p, size_t n, size_t *compressed)
{
    struct buf c = BUF_INIT(0), d = BUF_INIT(0), again = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(pq_snappy_compress(p, n, &c, &err), ERR_OK);
    assert_true(c.len <= pq_snappy_max_compressed(n));
    assert_int_equal(pq_snappy_decompress(c.data, c.len, &d, &err), ERR_OK);
    assert_int_equal(d.len, n);
    if (n > 0) {
        assert_memory_equal(d.data, p, n);
    }
    assert_int_equal(pq_snappy_compress(p, n, &again, &err), ERR_OK);
    assert_int_equal(again.len, c.len); /* deterministic */
    assert_memory_equal(again.data, c.data, c.len);
    if (compressed != NULL) {
        *compressed = c.len;
    }
    buf_cleanup(&c);
    buf_cleanup(&d);
    buf_cleanup(&again);
}

static void test_known_bytes(void **state)
{
    (void)state;
    struct buf c = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(pq_snappy_compress((const uint8_t *)"a", 1, &c, &err), ERR_OK);
    static const uint8_t one[] = {0x01, 0x00, 'a'}; /* length 1, literal of 1 */
    assert_int_equal(c.len, sizeof(one));
    assert_memory_equal(c.data, one, sizeof(one));
    buf_reset(&c);
    assert_int_equal(pq_snappy_compress(NULL, 0, &c, &err), ERR_OK);
    assert_int_equal(c.len, 1);
    assert_int_equal(c.data[0], 0);
    buf_cleanup(&c);
}

static void test_round_trips(void **state)
{
    (void)state;
    size_t sizes[] = {1, 3, 4, 5, 59, 60, 61, 255, 256, 257, 65535, 65536, 70000, 300000};
    uint8_t *p = malloc(300000);
    assert_non_null(p);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s];
        for (int kind = 0; kind < 4; kind++) {
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                switch (kind) {
                case 0: /* random: literals */
                    p[i] = (uint8_t)x;
                    break;
                case 1: /* one byte: overlapping copies */
                    p[i] = 'z';
                    break;
                case 2: /* text-like: short copies */
                    p[i] = (uint8_t)("abcdefgh"[x % 8]);
                    break;
                default: /* a block that repeats 65000 bytes later: far copies */
                    p[i] = i < 65000 ? (uint8_t)x : p[i - 65000];
                    break;
                }
            }
            round_trip(p, n, NULL);
        }
    }
    size_t c = 0;
    memset(p, 'a', 100000);
    round_trip(p, 100000, &c);
    assert_true(c < 100000 / 20);
    free(p);
}

static void test_corrupt(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint8_t bytes[8];
        size_t n;
    } rows[] = {
        {"empty", {0}, 0},
        {"short literal", {0x05, 0x10, 'a'}, 3},
        {"copy before start", {0x04, 0x01, 0x01}, 3},
        {"zero offset", {0x04, 0x00, 'a', 0x01, 0x00}, 5},
        {"too long", {0x01, 0x04, 'a', 'b'}, 4},
        {"length short", {0x03, 0x00, 'a'}, 3},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct buf d = BUF_INIT(0);
        struct err err = ERR_INIT;
        if (pq_snappy_decompress(rows[i].bytes, rows[i].n, &d, &err) == ERR_OK) {
            fail_msg("%s: decoded", rows[i].name);
        }
        buf_cleanup(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_bytes),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests_name("pq_snappy", tests, NULL, NULL);
}
