/*
 * test_pq_thrift.c - the compact protocol writer against bytes worked out by hand from
 * thrift-compact-protocol.md: field header deltas and the long form, zigzag varints, list
 * headers short and long, bools as type nibbles, nested structs, and sticky errors.
 */
#include <string.h>

#include "pq_thrift.h"
#include "test_util.h"

static void assert_bytes(const struct buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
}

static void test_fields(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct pq_thrift t;
    pq_thrift_init(&t, &b, &err);
    pq_thrift_begin(&t);
    pq_thrift_field_i32(&t, 1, 1);          /* 0x15, zigzag(1) = 2 */
    pq_thrift_field_i64(&t, 3, -1);         /* delta 2: 0x26, zigzag(-1) = 1 */
    pq_thrift_field_binary(&t, 4, "ab", 2); /* 0x18, 2, 'a', 'b' */
    pq_thrift_field_bool(&t, 5, true);      /* 0x11 */
    pq_thrift_field_bool(&t, 6, false);     /* 0x12 */
    pq_thrift_field_i32(
        &t, 30, 300); /* delta 24: long form 0x05, zigzag(30)=60, zigzag(300) = 600 = 0xd8 0x04 */
    pq_thrift_end(&t);
    assert_int_equal(pq_thrift_finish(&t), ERR_OK);
    static const uint8_t want[] = {0x15, 0x02, 0x26, 0x01, 0x18, 0x02, 'a', 'b',
                                   0x11, 0x12, 0x05, 0x3c, 0xd8, 0x04, 0x00};
    assert_bytes(&b, want, sizeof(want));
    buf_cleanup(&b);
}

static void test_lists_and_structs(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct pq_thrift t;
    pq_thrift_init(&t, &b, &err);
    pq_thrift_begin(&t);
    pq_thrift_field_list(&t, 2, PQ_THRIFT_I32, 2); /* 0x29, 0x25 */
    pq_thrift_elem_i32(&t, 0);
    pq_thrift_elem_i32(&t, 3);
    pq_thrift_field_list(&t, 3, PQ_THRIFT_STRUCT, 15); /* 0x19, 0xfc, 15 */
    for (int i = 0; i < 15; i++) {
        pq_thrift_begin(&t);
        pq_thrift_end(&t);
    }
    pq_thrift_field_struct(&t, 5); /* 0x2c */
    pq_thrift_field_empty(&t, 1);  /* 0x1c 0x00 */
    pq_thrift_end(&t);             /* 0x00 */
    pq_thrift_end(&t);             /* 0x00 */
    assert_int_equal(pq_thrift_finish(&t), ERR_OK);
    uint8_t want[64];
    size_t n = 0;
    const uint8_t head[] = {0x29, 0x25, 0x00, 0x06, 0x19, 0xfc, 0x0f};
    memcpy(want, head, sizeof(head));
    n = sizeof(head);
    for (int i = 0; i < 15; i++) {
        want[n++] = 0x00;
    }
    const uint8_t tail[] = {0x2c, 0x1c, 0x00, 0x00, 0x00};
    memcpy(want + n, tail, sizeof(tail));
    n += sizeof(tail);
    assert_bytes(&b, want, n);
    buf_cleanup(&b);
}

static void test_errors(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    struct pq_thrift t;
    pq_thrift_init(&t, &b, &err);
    pq_thrift_field_i32(&t, 1, 1); /* outside a struct */
    pq_thrift_begin(&t);
    assert_int_equal(pq_thrift_finish(&t), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "outside a struct"));

    struct buf small = BUF_INIT(2);
    struct err err2 = ERR_INIT;
    pq_thrift_init(&t, &small, &err2);
    pq_thrift_begin(&t);
    pq_thrift_field_binary(&t, 1, "abcdef", 6);
    pq_thrift_end(&t);
    assert_int_equal(pq_thrift_finish(&t), ERR_TOO_LARGE);

    struct err err3 = ERR_INIT;
    buf_reset(&b);
    pq_thrift_init(&t, &b, &err3);
    pq_thrift_begin(&t);
    assert_int_equal(pq_thrift_finish(&t), ERR_INVALID_INPUT);
    assert_non_null(strstr(err3.msg, "left open"));
    buf_cleanup(&b);
    buf_cleanup(&small);
}

static void test_varint(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        uint8_t bytes[10];
        size_t n;
    } rows[] = {
        {0, {0}, 1},
        {127, {0x7f}, 1},
        {128, {0x80, 0x01}, 2},
        {300, {0xac, 0x02}, 2},
        {UINT64_MAX, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct buf b = BUF_INIT(0);
        struct err err = ERR_INIT;
        assert_int_equal(pq_varint(&b, rows[i].v, &err), ERR_OK);
        assert_bytes(&b, rows[i].bytes, rows[i].n);
        buf_cleanup(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_lists_and_structs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_varint),
    };
    return cmocka_run_group_tests_name("pq_thrift", tests, NULL, NULL);
}
