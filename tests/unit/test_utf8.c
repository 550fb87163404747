/*
 * test_utf8.c - code points as Trino's string functions count them: every width, the sequences
 * RFC 3629 forbids (read as single stray bytes, never past the end), counting and offsets.
 */
#include <string.h>

#include "etl_utf8.h"
#include "test_util.h"

struct decode_row {
    const char *name;
    const char *bytes;
    size_t n; /* 0: strlen */
    uint32_t cp;
    size_t len;
    bool valid;
};

static const struct decode_row decode_rows[] = {
    {"ascii", "A", 0, 'A', 1, true},
    {"two_bytes", "\xc3\xa9", 0, 0xE9, 2, true},
    {"three_bytes", "\xe6\x97\xa5", 0, 0x65E5, 3, true},
    {"four_bytes", "\xf0\x9f\x98\x80", 0, 0x1F600, 4, true},
    {"max", "\xf4\x8f\xbf\xbf", 0, 0x10FFFF, 4, true},
    {"nul", "", 1, 0, 1, true},
    {"stray_continuation", "\x80", 0, 0x80, 1, false},
    {"stray_ff", "\xff", 0, 0xFF, 1, false},
    {"truncated", "\xc3", 0, 0xC3, 1, false},
    {"truncated_four", "\xf0\x9f\x98", 0, 0xF0, 1, false},
    {"bad_continuation", "\xc3\x41", 0, 0xC3, 1, false},
    {"overlong_two", "\xc0\xaf", 0, 0xC0, 1, false},
    {"overlong_three", "\xe0\x80\xaf", 0, 0xE0, 1, false},
    {"overlong_four", "\xf0\x80\x80\xaf", 0, 0xF0, 1, false},
    {"surrogate", "\xed\xa0\x80", 0, 0xED, 1, false},
    {"past_max", "\xf4\x90\x80\x80", 0, 0xF4, 1, false},
    {"f5", "\xf5\x80\x80\x80", 0, 0xF5, 1, false},
};

static void test_decode_row(void **state)
{
    const struct decode_row *row = *state;
    size_t n = row->n > 0 ? row->n : strlen(row->bytes);
    size_t len = 99;
    bool valid = !row->valid;
    assert_int_equal(etl_utf8_decode((const uint8_t *)row->bytes, n, &len, &valid), row->cp);
    assert_int_equal(len, row->len);
    assert_int_equal(valid, row->valid);
    if (valid) {
        assert_int_equal(etl_utf8_width(row->cp), row->len);
    }
}

static void test_count_and_offset(void **state)
{
    (void)state;
    const char *s = "h\xc3\xa9llo \xf0\x9f\x98\x80!";
    struct cur c = cur_from_str(s);
    assert_int_equal(etl_utf8_count(c.ptr, c.len), 8);
    assert_int_equal(etl_utf8_count(c.ptr, 0), 0);
    assert_int_equal(etl_utf8_offset(c, 0), 0);
    assert_int_equal(etl_utf8_offset(c, 2), 3);
    assert_int_equal(etl_utf8_offset(c, 7), 11);
    assert_int_equal(etl_utf8_offset(c, 8), c.len);
    assert_int_equal(etl_utf8_offset(c, 100), c.len);
    /* Stray bytes count as characters of their own. */
    struct cur bad = cur_from_str("a\x80\x80"
                                  "b\xff");
    assert_int_equal(etl_utf8_count(bad.ptr, bad.len), 3);
    assert_int_equal(etl_utf8_offset(bad, 1), 3);
}

int main(void)
{
    static struct CMUnitTest tests[32];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(decode_rows) / sizeof(decode_rows[0]); i++) {
        tests[n++] = (struct CMUnitTest){decode_rows[i].name, test_decode_row, NULL, NULL,
                                         (void *)&decode_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_count_and_offset);
    return _cmocka_run_group_tests("utf8", tests, n, NULL, NULL);
}
