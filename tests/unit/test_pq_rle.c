/*
 * test_pq_rle.c - the RLE / bit-packed hybrid: hand-worked bytes from Encodings.md's rules (an RLE
 * run, a bit-packed group padded to 8, a run that must wait for a group boundary), and round
 * trips of mixed sequences at every width the writer uses.
 */
#include <stdlib.h>
#include <string.h>

#include "pq_rle.h"
#include "test_util.h"

struct rle_row {
    const char *name;
    uint32_t values[24];
    size_t n;
    int width;
    uint8_t want[16];
    size_t want_n;
};

static const struct rle_row rows[] = {
    /* 10 ones: RLE header 10 << 1 = 20, value in 1 byte. */
    {"rle run", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 10, 1, {0x14, 0x01}, 2},
    /* 0 1 1 0 1: one bit-packed group (1 << 1 | 1 = 3), bits LSB first: 0b10110 = 0x16. */
    {"bit-packed padded", {0, 1, 1, 0, 1}, 5, 1, {0x03, 0x16}, 2},
    /* 1 then nine 0s: the run starts at the group boundary: literals 1,0x7 then RLE of 2 zeros
     * is too short, so all 10 are literals: 2 groups. */
    {"short tail run", {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10, 1, {0x05, 0x01, 0x00}, 3},
    /* 1 then 16 zeros: 8 literals (1 and seven 0s), then RLE of 9 zeros. */
    {"run after group",
     {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
     17,
     1,
     {0x03, 0x01, 0x12, 0x00},
     4},
    /* Width 2, values 0..3: 2 bits each, 8 values in 2 bytes. */
    {"width 2", {0, 1, 2, 3, 3, 2, 1, 0}, 8, 2, {0x03, 0xe4, 0x1b}, 3},
    /* Width 9: the RLE value takes 2 bytes. */
    {"wide rle", {300, 300, 300, 300, 300, 300, 300, 300}, 8, 9, {0x10, 0x2c, 0x01}, 3},
};

static void test_row(void **state)
{
    const struct rle_row *r = *state;
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(pq_rle_encode(r->values, r->n, r->width, &b, &err), ERR_OK);
    if (b.len != r->want_n || memcmp(b.data, r->want, b.len) != 0) {
        fail_msg("%s: got %zu bytes, first %02x", r->name, b.len, b.len > 0 ? b.data[0] : 0);
    }
    uint32_t back[24];
    assert_true(pq_rle_decode(b.data, b.len, r->width, back, r->n));
    assert_memory_equal(back, r->values, r->n * sizeof(uint32_t));
    buf_cleanup(&b);
}

static void test_round_trips(void **state)
{
    (void)state;
    uint32_t *v = malloc(5000 * sizeof(*v));
    uint32_t *back = malloc(5000 * sizeof(*back));
    uint8_t *v8 = malloc(5000);
    assert_non_null(v);
    assert_non_null(back);
    assert_non_null(v8);
    uint64_t x = 88172645463325252u;
    for (int width = 1; width <= 20; width++) {
        for (size_t n = 1; n < 5000; n = n * 3 + 1) {
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                /* runs of random length, so RLE and bit-packed runs alternate */
                v[i] = (i > 0 && x % 3 != 0) ? v[i - 1] : (uint32_t)(x >> 20) & ((1u << width) - 1);
                v8[i] = (uint8_t)(v[i] & 3);
            }
            struct buf b = BUF_INIT(0);
            struct err err = ERR_INIT;
            assert_int_equal(pq_rle_encode(v, n, width, &b, &err), ERR_OK);
            assert_true(pq_rle_decode(b.data, b.len, width, back, n));
            assert_memory_equal(back, v, n * sizeof(*v));
            buf_reset(&b);
            assert_int_equal(pq_rle_encode_u8(v8, n, 2, &b, &err), ERR_OK);
            assert_true(pq_rle_decode(b.data, b.len, 2, back, n));
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(back[i], v8[i]);
            }
            buf_cleanup(&b);
        }
    }
    free(v);
    free(back);
    free(v8);
}

static void test_bit_width(void **state)
{
    (void)state;
    assert_int_equal(pq_rle_bit_width(0), 0);
    assert_int_equal(pq_rle_bit_width(1), 1);
    assert_int_equal(pq_rle_bit_width(3), 2);
    assert_int_equal(pq_rle_bit_width(4), 3);
    assert_int_equal(pq_rle_bit_width(UINT32_MAX), 32);
}

int main(void)
{
    static struct CMUnitTest tests[16];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tests[n++] = (struct CMUnitTest){rows[i].name, test_row, NULL, NULL, (void *)&rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_round_trips);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_bit_width);
    return _cmocka_run_group_tests("pq_rle", tests, n, NULL, NULL);
}
