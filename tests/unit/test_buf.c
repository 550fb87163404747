/*
 * test_buf.c - growth, ceilings, JSON string escaping and cursor helpers.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "test_util.h"

static void test_append_and_ceiling(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(10);
    struct err err = ERR_INIT;
    assert_int_equal(buf_append_str(&b, "hello", &err), ERR_OK);
    assert_int_equal(buf_append_str(&b, "world", &err), ERR_OK);
    assert_string_equal(buf_cstr(&b), "helloworld");
    assert_int_equal(buf_append_byte(&b, '!', &err), ERR_TOO_LARGE);
    assert_int_equal(err.code, ERR_TOO_LARGE);
    assert_string_equal(buf_cstr(&b), "helloworld");
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_true(b.cap > 0);
    buf_cleanup(&b);
    buf_cleanup(&b); /* idempotent */
}

static void test_growth_is_geometric(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    size_t reallocs = 0, last_cap = 0;
    for (int i = 0; i < 1000000; i++) {
        assert_int_equal(buf_append_byte(&b, 'x', &err), ERR_OK);
        if (b.cap != last_cap) {
            reallocs++;
            last_cap = b.cap;
        }
    }
    assert_true(reallocs < 20);
    assert_int_equal(b.len, 1000000);
    buf_cleanup(&b);
}

static void test_printf_and_hex(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(buf_printf(&b, &err, "%s-%d", "a", 42), ERR_OK);
    const uint8_t bytes[] = {0x00, 0xab, 0xff};
    assert_int_equal(buf_append_hex(&b, bytes, 3, &err), ERR_OK);
    assert_int_equal(buf_append_i64(&b, -7, &err), ERR_OK);
    assert_string_equal(buf_cstr(&b), "a-4200abff-7");
    char *s = NULL;
    assert_int_equal(buf_take_str(&b, &s, &err), ERR_OK);
    assert_string_equal(s, "a-4200abff-7");
    assert_null(b.data);
    free(s);
}

static void test_json_escape(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    const char in[] = "q\"b\\n\n\x01\xc3\xa9/";
    assert_int_equal(buf_append_json_str(&b, in, sizeof(in) - 1, &err), ERR_OK);
    assert_string_equal(buf_cstr(&b), "\"q\\\"b\\\\n\\n\\u0001\xc3\xa9/\"");
    buf_cleanup(&b);
}

static void test_cur_hash(void **state)
{
    (void)state;
    /* FNV-1a 32-bit reference values. */
    assert_int_equal(cur_hash(cur_from_str("")), 0x811c9dc5u);
    assert_int_equal(cur_hash(cur_from_str("a")), 0xe40c292cu);
    assert_int_equal(cur_hash(cur_from_str("foobar")), 0xbf9cf968u);
    assert_int_equal(cur_hash(cur_make("\xff", 1)), 0x7a0b824eu); /* bytes are unsigned */
}

static void test_mem_grow(void **state)
{
    (void)state;
    size_t cap = 0;
    int *a = mem_grow(NULL, &cap, 0, sizeof(int), 4);
    assert_non_null(a);
    assert_int_equal(cap, 4);
    for (int i = 0; i < 4; i++) {
        a[i] = i;
    }
    assert_ptr_equal(mem_grow(a, &cap, 3, sizeof(int), 4), a); /* room left: unchanged */
    assert_int_equal(cap, 4);
    int *b = mem_grow(a, &cap, 4, sizeof(int), 4);
    assert_non_null(b);
    assert_int_equal(cap, 8);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(b[i], i); /* contents kept */
    }
    /* A size that would overflow size_t fails and leaves the array and cap alone. */
    size_t huge = SIZE_MAX / 2 + 1;
    assert_null(mem_grow(b, &huge, huge, 1, 4));
    assert_int_equal(huge, SIZE_MAX / 2 + 1);
    free(b);
}

static void test_utf8_encode(void **state)
{
    (void)state;
    static const struct {
        uint32_t cp;
        const char *utf8;
    } rows[] = {
        {0x41, "A"},
        {0x7F, "\x7f"},
        {0x80, "\xc2\x80"},
        {0xE9, "\xc3\xa9"},
        {0x7FF, "\xdf\xbf"},
        {0x800, "\xe0\xa0\x80"},
        {0x65E5, "\xe6\x97\xa5"},
        {0xFFFD, "\xef\xbf\xbd"},
        {0x10000, "\xf0\x90\x80\x80"},
        {0x1F600, "\xf0\x9f\x98\x80"},
        {0x10FFFF, "\xf4\x8f\xbf\xbf"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint8_t out[4];
        size_t n = buf_utf8_encode(rows[i].cp, out);
        assert_int_equal(n, strlen(rows[i].utf8));
        assert_memory_equal(out, rows[i].utf8, n);
    }
}

static void test_cursors(void **state)
{
    (void)state;
    struct cur c = cur_trim(cur_from_str("  \tabc \r\n"));
    assert_true(cur_eq_str(c, "abc"));
    /* Equal only with the same length and bytes: empty, prefixes, a first or last byte apart,
     * a NUL inside the span. */
    static const char with_nul[] = {'a', '\0', 'b'};
    assert_true(cur_eq_str(cur_make("", 0), ""));
    assert_false(cur_eq_str(cur_make("", 0), "a"));
    assert_false(cur_eq_str(cur_make("a", 1), ""));
    assert_false(cur_eq_str(cur_make(with_nul, 1), ""));
    assert_false(cur_eq_str(cur_make("\0", 1), ""));
    assert_false(cur_eq_str(cur_make("ab", 2), "abc"));
    assert_false(cur_eq_str(cur_make("abcd", 4), "abc"));
    assert_false(cur_eq_str(cur_make("xbc", 3), "abc"));
    assert_false(cur_eq_str(cur_make("abx", 3), "abc"));
    assert_false(cur_eq_str(cur_make(with_nul, 3), "a"));
    assert_true(cur_eq_str(cur_make(with_nul, 1), "a"));
    assert_true(cur_eq_nocase(cur_from_str("Content-Type"), "content-type"));
    assert_true(cur_starts_with(cur_from_str("abcdef"), "abc"));
    int64_t v = 0;
    assert_true(cur_to_i64(cur_from_str("1700000000123"), &v));
    assert_int_equal(v, 1700000000123LL);
    assert_false(cur_to_i64(cur_from_str("12a"), &v));
    assert_false(cur_to_i64(cur_from_str("-1"), &v));
    assert_false(cur_to_i64(cur_from_str(""), &v));
    char small[4];
    assert_false(cur_copy_to(cur_from_str("abcd"), small, sizeof(small)));
    assert_true(cur_copy_to(cur_from_str("abc"), small, sizeof(small)));
    assert_string_equal(small, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_ceiling), cmocka_unit_test(test_growth_is_geometric),
        cmocka_unit_test(test_printf_and_hex),     cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_utf8_encode),        cmocka_unit_test(test_mem_grow),
        cmocka_unit_test(test_cur_hash),           cmocka_unit_test(test_cursors),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
