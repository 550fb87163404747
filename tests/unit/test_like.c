/*
 * test_like.c - LIKE as Trino matches it: % and _ over code points, anchored at both ends,
 * case-sensitive, with an ESCAPE character (itself checked: one character, followed by %, _ or
 * itself), and patterns whose many '%' would make a backtracking matcher exponential.
 */
#include <string.h>

#include "etl_like.h"
#include "test_util.h"

struct like_row {
    const char *name;
    const char *text;
    const char *pattern;
    const char *escape; /* NULL: no ESCAPE */
    bool match;
};

static const struct like_row like_rows[] = {
    {"exact", "abc", "abc", NULL, true},
    {"exact_no", "abc", "abd", NULL, false},
    {"prefix", "abc", "a%", NULL, true},
    {"suffix", "abc", "%c", NULL, true},
    {"contains", "abc", "%b%", NULL, true},
    {"one", "abc", "a_c", NULL, true},
    {"one_short", "abc", "a_", NULL, false},
    {"anchored", "xabc", "abc", NULL, false},
    {"empty_empty", "", "", NULL, true},
    {"empty_percent", "", "%", NULL, true},
    {"empty_underscore", "", "_", NULL, false},
    {"text_empty_pattern", "abc", "", NULL, false},
    {"percent_only", "anything", "%%%", NULL, true},
    {"case_sensitive", "abc", "ABC", NULL, false},
    {"code_point", "h\xc3\xa9llo", "h_llo", NULL, true},
    {"three_code_points", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "___", NULL, true},
    {"four_is_too_many", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "____", NULL, false},
    {"multibyte_literal", "Z\xc3\xbcrich", "%\xc3\xbc%", NULL, true},
    {"escape_percent", "a%b", "a!%b", "!", true},
    {"escape_percent_no", "axb", "a!%b", "!", false},
    {"escape_underscore", "a_b", "a!_b", "!", true},
    {"escape_underscore_no", "axb", "a!_b", "!", false},
    {"escape_escape", "a!b", "a!!b", "!", true},
    {"escape_backslash", "100%", "100\\%", "\\", true},
    {"escape_multibyte", "a%", "a\xc3\xa9%", "\xc3\xa9", true},
    {"escape_is_percent", "a%", "a%%", "%", true},
    {"escape_is_percent_no", "ab", "a%%", "%", false},
    {"backtracking", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%a%a%a%b", NULL, true},
    {"backtracking_fails_fast", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "%a%a%a%a%a%a%a%a%a%a%b", NULL, false},
    {"percent_then_underscore", "ab", "%_", NULL, true},
    {"underscore_then_percent", "a", "_%", NULL, true},
};

static void test_like_row(void **state)
{
    const struct like_row *row = *state;
    struct cur esc = row->escape != NULL ? cur_from_str(row->escape) : cur_make(NULL, 0);
    uint32_t escape_cp = 0;
    size_t where = 99;
    struct err err = ERR_INIT;
    assert_int_equal(etl_like_check(cur_from_str(row->pattern), row->escape != NULL ? &esc : NULL,
                                    &escape_cp, &where, &err),
                     ERR_OK);
    if (row->escape == NULL) {
        assert_int_equal(escape_cp, ETL_LIKE_NO_ESCAPE);
    }
    assert_int_equal(etl_like_match(cur_from_str(row->text), cur_from_str(row->pattern), escape_cp),
                     row->match);
}

struct check_row {
    const char *name;
    const char *pattern;
    const char *escape;
    size_t where;
    const char *message;
};

static const struct check_row check_rows[] = {
    {"escape_before_letter", "!x", "!", 0, "must be followed by '%', '_' or itself"},
    {"escape_at_end", "x!", "!", 1, "must be followed by '%', '_' or itself"},
    {"escape_multibyte_before_letter",
     "a\xc3\xa9"
     "b",
     "\xc3\xa9", 1, "must be followed"},
    {"escape_empty", "x", "", 0, "ESCAPE must be a single character"},
    {"escape_two", "x", "ab", 0, "ESCAPE must be a single character"},
};

static void test_check_row(void **state)
{
    const struct check_row *row = *state;
    struct cur esc = cur_from_str(row->escape);
    uint32_t escape_cp = 0;
    size_t where = 99;
    struct err err = ERR_INIT;
    assert_int_equal(etl_like_check(cur_from_str(row->pattern), &esc, &escape_cp, &where, &err),
                     ERR_INVALID_INPUT);
    assert_int_equal(where, row->where);
    if (strstr(err.msg, row->message) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, row->message);
    }
}

#define ADD_ROWS(rows, fn)                                                                         \
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {                                  \
        tests[n++] = (struct CMUnitTest){rows[i].name, fn, NULL, NULL, (void *)&rows[i]};          \
    }

int main(void)
{
    static struct CMUnitTest tests[64];
    size_t n = 0;
    ADD_ROWS(like_rows, test_like_row);
    ADD_ROWS(check_rows, test_check_row);
    return _cmocka_run_group_tests("like", tests, n, NULL, NULL);
}
