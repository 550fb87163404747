/*
 * test_dq_hashset.c - the distinct-value set: counting values seen once and more often, merging
 * in any order, the cap, the encoded form (round trip, hashes at the extremes, corrupt input),
 * and a hash that is the same on every host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_dq_hashset.h"
#include "test_util.h"

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void add(struct etl_dq_hashset *s, uint64_t h)
{
    struct err err = ERR_INIT;
    assert_int_equal(etl_dq_hashset_add(s, h, false, &err), ERR_OK);
}

static void test_counts(void **state)
{
    (void)state;
    struct etl_dq_hashset s;
    etl_dq_hashset_init(&s, 100);
    add(&s, 5);
    add(&s, 7);
    add(&s, 5);
    add(&s, 0); /* stored as 1 */
    add(&s, 9);
    add(&s, 9);
    add(&s, 9);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.once, 2); /* 7 and 0 */
    etl_dq_hashset_cleanup(&s);
    etl_dq_hashset_cleanup(&s);
    etl_dq_hashset_cleanup(NULL);
}

/* Growing past the first table keeps every count. */
static void test_grow(void **state)
{
    (void)state;
    struct etl_dq_hashset s;
    uint64_t seed = 42;
    etl_dq_hashset_init(&s, 1u << 20);
    for (int i = 0; i < 10000; i++) {
        uint64_t h = next(&seed);
        add(&s, h);
        if (i % 10 == 0) {
            add(&s, h);
        }
    }
    assert_int_equal(s.n, 10000);
    assert_int_equal(s.once, 9000);
    etl_dq_hashset_cleanup(&s);
}

/* A full set refuses new values and says so; values it has still count. */
static void test_cap(void **state)
{
    (void)state;
    struct etl_dq_hashset s;
    etl_dq_hashset_init(&s, 3);
    add(&s, 1);
    add(&s, 2);
    add(&s, 3);
    assert_false(etl_dq_hashset_overflowed(&s));
    add(&s, 3);
    assert_false(etl_dq_hashset_overflowed(&s));
    add(&s, 4);
    assert_true(etl_dq_hashset_overflowed(&s));
    assert_int_equal(s.n, 3);
    assert_int_equal(s.once, 2);
    etl_dq_hashset_cleanup(&s);
}

/* Merging three sets in any order gives the set of all their values. */
static void test_merge_any_order(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    struct etl_dq_hashset parts[3], all, ab, abc, cb, cba;
    uint64_t seed = 7;
    etl_dq_hashset_init(&all, 1000);
    for (int p = 0; p < 3; p++) {
        etl_dq_hashset_init(&parts[p], 1000);
    }
    for (int i = 0; i < 300; i++) {
        uint64_t h = next(&seed) % 200 + 1; /* repeats within and across parts */
        add(&parts[i % 3], h);
        add(&all, h);
    }
    etl_dq_hashset_init(&ab, 1000);
    etl_dq_hashset_init(&abc, 1000);
    etl_dq_hashset_init(&cb, 1000);
    etl_dq_hashset_init(&cba, 1000);
    assert_int_equal(etl_dq_hashset_merge(&ab, &parts[0], &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_merge(&ab, &parts[1], &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_merge(&abc, &ab, &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_merge(&abc, &parts[2], &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_merge(&cb, &parts[2], &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_merge(&cb, &parts[1], &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_merge(&cba, &cb, &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_merge(&cba, &parts[0], &err), ERR_OK);
    assert_int_equal(abc.n, all.n);
    assert_int_equal(abc.once, all.once);
    assert_int_equal(cba.n, all.n);
    assert_int_equal(cba.once, all.once);
    struct buf x = BUF_INIT(0), y = BUF_INIT(0);
    assert_int_equal(etl_dq_hashset_encode(&all, &x, &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_encode(&cba, &y, &err), ERR_OK);
    assert_string_equal(buf_cstr(&x), buf_cstr(&y));
    buf_cleanup(&x);
    buf_cleanup(&y);
    for (int p = 0; p < 3; p++) {
        etl_dq_hashset_cleanup(&parts[p]);
    }
    etl_dq_hashset_cleanup(&all);
    etl_dq_hashset_cleanup(&ab);
    etl_dq_hashset_cleanup(&abc);
    etl_dq_hashset_cleanup(&cb);
    etl_dq_hashset_cleanup(&cba);
}

/* Encoding and decoding gives the same set, extremes included; empty is "". */
static void test_round_trip(void **state)
{
    (void)state;
    struct err err = ERR_INIT;
    struct etl_dq_hashset s, back;
    uint64_t seed = 99;
    etl_dq_hashset_init(&s, 100000);
    etl_dq_hashset_init(&back, 100000);
    struct buf text = BUF_INIT(0), again = BUF_INIT(0);
    assert_int_equal(etl_dq_hashset_encode(&s, &text, &err), ERR_OK);
    assert_int_equal(text.len, 0);
    add(&s, 1);
    add(&s, UINT64_MAX);
    add(&s, UINT64_MAX);
    add(&s, (uint64_t)1 << 63);
    add(&s, ((uint64_t)1 << 63) + 1);
    for (int i = 0; i < 5000; i++) {
        uint64_t h = next(&seed);
        add(&s, h);
        if (i % 3 == 0) {
            add(&s, h);
        }
    }
    assert_int_equal(etl_dq_hashset_encode(&s, &text, &err), ERR_OK);
    assert_int_equal(etl_dq_hashset_decode(&back, buf_cur(&text), &err), ERR_OK);
    assert_int_equal(back.n, s.n);
    assert_int_equal(back.once, s.once);
    assert_int_equal(etl_dq_hashset_encode(&back, &again, &err), ERR_OK);
    assert_string_equal(buf_cstr(&text), buf_cstr(&again));
    /* about 9 bytes a value for 5000 random 64-bit hashes (gaps of ~2^52), base64 included */
    assert_true(text.len < 5005 * 12);
    buf_cleanup(&text);
    buf_cleanup(&again);
    etl_dq_hashset_cleanup(&s);
    etl_dq_hashset_cleanup(&back);
}

static void test_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *b64;
        const char *msg;
    } cases[] = {
        {"not base64!", "not base64"},
        {"gA==", "truncated"},             /* 0x80: a continuation with nothing after it */
        {"AgA=", "out of order"},          /* gap 1, then gap 0 (a repeat) */
        {"AA==", "out of order"},          /* gap 0 first: 0 is never stored */
        {"/////////////w==", "truncated"}, /* more than 64 bits */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct etl_dq_hashset s;
        struct err err = ERR_INIT;
        etl_dq_hashset_init(&s, 100);
        assert_int_equal(etl_dq_hashset_decode(&s, cur_from_str(cases[i].b64), &err),
                         ERR_INVALID_INPUT);
        if (strstr(err.msg, cases[i].msg) == NULL) {
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].b64, err.msg, cases[i].msg);
        }
        etl_dq_hashset_cleanup(&s);
    }
}

/* Known values: a change of the hash would make saved partials disagree with new ones. */
static void test_hash_stable(void **state)
{
    (void)state;
    assert_true(etl_dq_hashset_hash("", 0) != etl_dq_hashset_hash("\0", 1));
    assert_true(etl_dq_hashset_hash("abc", 3) != etl_dq_hashset_hash("abd", 3));
    assert_true(etl_dq_hashset_hash("12345678", 8) != etl_dq_hashset_hash("123456789", 9));
    uint64_t a = etl_dq_hashset_hash("s5:hello", 8);
    assert_int_equal(a, etl_dq_hashset_hash("s5:hello", 8));
    char expected[17];
    snprintf(expected, sizeof(expected), "%016llx", (unsigned long long)a);
    assert_string_equal(expected, "98b876839958c955");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),      cmocka_unit_test(test_grow),
        cmocka_unit_test(test_cap),         cmocka_unit_test(test_merge_any_order),
        cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_hash_stable),
    };
    return cmocka_run_group_tests_name("dq_hashset", tests, NULL, NULL);
}
