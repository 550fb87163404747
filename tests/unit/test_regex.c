/*
 * test_regex.c - Java patterns on POSIX regexec: the Trino documentation's examples, Java's
 * classes and escapes, brackets with every character POSIX treats specially, whole UTF-8
 * characters for '.', negated classes and quantifiers, group numbers past the groups the
 * translation adds, and every refused construct with the offset where it starts.
 */
#include <string.h>

#include "etl_regex.h"
#include "test_util.h"

struct match_row {
    const char *name;
    const char *pattern;
    const char *subject;
    size_t group;
    const char *expected; /* the group's text; NULL: no match; "<none>": the group took no part */
};

#define NOMATCH NULL
#define NONE    "<none>"

static const struct match_row match_rows[] = {
    /* Trino's documentation */
    {"trino_extract", "\\d+", "1a 2b 14m", 0, "1"},
    {"trino_extract_group", "(\\d+)([a-z]+)", "1a 2b 14m", 2, "a"},
    {"trino_like_contains", "\\d+b", "1a 2b 14m", 0, "2b"},
    /* anchors: a search is not anchored unless the pattern says so */
    {"anchored", "^abc$", "abc", 0, "abc"},
    {"anchored_no", "^abc$", "xabc", 0, NOMATCH},
    {"search_middle", "b", "abc", 0, "b"},
    {"anchor_A_z", "\\Aab\\z", "ab", 0, "ab"},
    {"anchor_z_no", "\\Aab\\z", "abc", 0, NOMATCH},
    {"word_boundary", "\\bcat\\b", "a cat!", 0, "cat"},
    {"word_boundary_no", "\\bcat\\b", "concat", 0, NOMATCH},
    {"empty_pattern", "", "abc", 0, ""},
    {"empty_subject", "^$", "", 0, ""},
    {"star_empty_subject", "a*", "", 0, ""},
    /* UTF-8: '.' and negated classes take whole characters */
    {"dot_multibyte", "a.c",
     "a\xc3\xa9"
     "c",
     0,
     "a\xc3\xa9"
     "c"},
    {"dot_one_character", "^.$", "\xc3\xa9", 0, "\xc3\xa9"},
    {"dot_three_characters", "^.{3}$", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 0,
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {"dot_two_is_not_three", "^.{2}$", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 0, NOMATCH},
    {"dot_four_bytes", "^.$", "\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80"},
    {"dot_not_newline", "a.c", "a\nc", 0, NOMATCH},
    {"negated_class_multibyte", "[^,]+", "\xc3\xa9,x", 0, "\xc3\xa9"},
    {"negated_class_one_character", "^[^a]$", "\xc3\xa9", 0, "\xc3\xa9"},
    {"not_digit_multibyte", "\\D+",
     "12\xc3\xa9"
     "34",
     0, "\xc3\xa9"},
    {"multibyte_quantified", "\xc3\xa9+", "\xc3\xa9\xc3\xa9\xc3\xa9x", 0,
     "\xc3\xa9\xc3\xa9\xc3\xa9"},
    {"multibyte_counted", "^\xc3\xa9{2}$", "\xc3\xa9\xc3\xa9", 0, "\xc3\xa9\xc3\xa9"},
    {"multibyte_literal", "Z\xc3\xbcrich", "in Z\xc3\xbcrich", 0, "Z\xc3\xbcrich"},
    /* Java's classes */
    {"not_word", "\\W", "a b", 0, " "},
    {"not_space", "\\S+", " h\xc3\xa9llo ", 0, "h\xc3\xa9llo"},
    {"space", "\\s+", "a \t\n\x0b\f\rb", 0, " \t\n\x0b\f\r"},
    {"word_is_ascii", "\\w+", "h\xc3\xa9llo", 0, "h"},
    {"word_underscore", "\\w+", "-a_1-", 0, "a_1"},
    {"posix_punct", "\\p{Punct}+", "a!?b", 0, "!?"},
    {"posix_upper_negated", "\\P{Upper}+", "ABcdE", 0, "cd"},
    {"posix_xdigit", "^\\p{XDigit}+$", "09afAF", 0, "09afAF"},
    /* escaped metacharacters */
    {"escaped_dot", "\\.", "a.b", 0, "."},
    {"escaped_dot_no", "\\.", "ab", 0, NOMATCH},
    {"escaped_plus", "a\\+b", "a+b", 0, "a+b"},
    {"escaped_parens", "\\(x\\)", "(x)", 0, "(x)"},
    {"escaped_dollar", "\\$5", "cost $5", 0, "$5"},
    {"escaped_caret", "\\^", "a^b", 0, "^"},
    {"escaped_brackets", "\\[a\\]", "[a]", 0, "[a]"},
    {"escaped_braces", "\\{1\\}", "{1}", 0, "{1}"},
    {"escaped_bar", "\\|", "a|b", 0, "|"},
    {"escaped_backslash", "\\\\", "a\\b", 0, "\\"},
    {"escaped_slash_dash", "\\/\\-", "a/-b", 0, "/-"},
    {"lone_close_bracket", "a]", "a]", 0, "a]"},
    {"lone_close_brace", "x}", "x}", 0, "x}"},
    {"quote", "\\Q.*\\E", "a.*b", 0, ".*"},
    {"quote_no", "\\Q.*\\E", "ab", 0, NOMATCH},
    {"quote_unterminated", "\\Qa|b", "xa|b", 0, "a|b"},
    {"char_escapes", "\\x41\\u00e9\\x{1F600}\\0102",
     "A\xc3\xa9\xf0\x9f\x98\x80"
     "B",
     0,
     "A\xc3\xa9\xf0\x9f\x98\x80"
     "B"},
    {"tab_escape", "a\\tb", "a\tb", 0, "a\tb"},
    /* brackets */
    {"class_range", "[a-c]+", "xxbcay", 0, "bca"},
    {"class_close_first", "[]a]+", "xa]", 0, "a]"},
    {"class_dash_last", "[a-]+", "x-a-", 0, "-a-"},
    {"class_caret_escaped", "[\\^x]+", "a^x", 0, "^x"},
    {"class_close_escaped", "[\\]]", "a]", 0, "]"},
    {"class_brackets", "[\\[\\]]+", "a[]b", 0, "[]"},
    {"class_dash_caret", "[-^]+", "a-^b", 0, "-^"},
    {"class_only_caret", "[\\^]", "a^", 0, "^"},
    {"class_digit_dot", "[\\d.]+", "a1.5", 0, "1.5"},
    {"class_word_dash", "[\\w-]+", "ab-c d", 0, "ab-c"},
    {"class_negated_digit", "[^\\d]+", "12ab3", 0, "ab"},
    {"class_colon_equals", "[:=]+", "a:=b", 0, ":="},
    {"class_dot_literal", "[.]", "ab.", 0, "."},
    {"class_backslash", "[\\\\]", "a\\", 0, "\\"},
    {"class_escape_range", "[\\x41-\\x43]+", "xABCD", 0, "ABC"},
    {"class_posix", "[\\p{Digit}x]+", "ax19x", 0, "x19x"},
    {"class_negated_dash_end", "[^a-]+", "a-bc-", 0, "bc"},
    /* case */
    {"icase", "(?i)abc", "xABCx", 0, "ABC"},
    {"icase_class", "(?i)[a-c]+", "zCAB", 0, "CAB"},
    {"case_sensitive", "abc", "ABC", 0, NOMATCH},
    /* groups and repetition */
    {"group_not_taking_part", "(a)|(b)", "b", 1, NONE},
    {"group_second_alternative", "(a)|(b)", "b", 2, "b"},
    {"group_after_dots", "..(\\d)", "ab7", 1, "7"},
    {"group_after_negated_class", "[^x](\\d)", "a7", 1, "7"},
    {"non_capturing", "(?:ab)+(c)", "ababc", 1, "c"},
    {"named_group", "(?<year>\\d{4})-(\\d\\d)", "on 2026-11", 2, "11"},
    {"group_past_count", "(a)", "a", 2, NONE},
    {"bounded_no", "^a{2,3}$", "aaaa", 0, NOMATCH},
    {"bounded", "^a{2,3}$", "aaa", 0, "aaa"},
    {"unbounded", "a{2,}", "baaaaa", 0, "aaaaa"},
    {"exact", "\\d{3}-\\d{4}", "call 555-1234", 0, "555-1234"},
    {"alternation_empty", "a(|b)c", "ac", 0, "ac"},
    /* POSIX takes the leftmost-longest match (documented: Java takes the first alternative) */
    {"leftmost_longest", "a|ab", "abcd", 0, "ab"},
};

static void test_match_row(void **state)
{
    const struct match_row *row = *state;
    struct etl_regex re;
    struct err err = ERR_INIT;
    size_t where = 99;
    if (etl_regex_compile(cur_from_str(row->pattern), true, &re, &where, &err) != ERR_OK) {
        fail_msg("compile \"%s\": %s", row->pattern, err.msg);
    }
    struct cur subject = cur_from_str(row->subject);
    struct etl_regex_span spans[4];
    bool found = false;
    assert_int_equal(etl_regex_search(&re, subject, &found, spans, 4, &err), ERR_OK);
    assert_int_equal(found, row->expected != NOMATCH);
    if (found) {
        const struct etl_regex_span *g = &spans[row->group];
        if (strcmp(row->expected, NONE) == 0) {
            assert_true(g->start < 0);
        } else {
            assert_true(g->start >= 0 && g->end >= g->start && (size_t)g->end <= subject.len);
            size_t n = (size_t)(g->end - g->start);
            if (n != strlen(row->expected) || memcmp(subject.ptr + g->start, row->expected, n)) {
                fail_msg("group %zu: got \"%.*s\", want \"%s\"", row->group, (int)n,
                         (const char *)subject.ptr + g->start, row->expected);
            }
        }
    }
    /* A yes/no regex (REG_NOSUB) agrees. */
    struct etl_regex yes_no;
    assert_int_equal(etl_regex_compile(cur_from_str(row->pattern), false, &yes_no, &where, &err),
                     ERR_OK);
    bool found2 = !found;
    assert_int_equal(etl_regex_search(&yes_no, subject, &found2, NULL, 0, &err), ERR_OK);
    assert_int_equal(found2, found);
    etl_regex_free(&yes_no);
    etl_regex_free(&re);
}

struct refuse_row {
    const char *name;
    const char *pattern;
    size_t where;
    const char *message;
};

static const struct refuse_row refuse_rows[] = {
    {"lookahead", "(?=a)", 0, "regex: lookahead (?= is not supported"},
    {"negative_lookahead", "a(?!b)", 1, "negative lookahead (?! is not supported"},
    {"lookbehind", "x(?<=a)b", 1, "lookbehind (?<= (?<! is not supported"},
    {"negative_lookbehind", "(?<!a)b", 0, "lookbehind"},
    {"atomic", "(?>a)", 0, "atomic groups"},
    {"backreference", "(a)\\1", 3, "backreferences (\\1) are not supported"},
    {"named_backreference", "(?<n>a)\\k<n>", 7, "backreferences (\\k<name>)"},
    {"lazy_star", "a*?", 1, "lazy quantifiers"},
    {"lazy_plus", "ab+?", 2, "lazy quantifiers"},
    {"lazy_question", "a??", 1, "lazy quantifiers"},
    {"lazy_bound", "a{1,2}?", 1, "lazy quantifiers"},
    {"possessive_star", "a*+", 1, "possessive quantifiers"},
    {"possessive_bound", "a{2}+", 1, "possessive quantifiers"},
    {"flag_not_at_start", "a(?i)b", 1, "(?i) is supported only at the start"},
    {"flag_dotall", "(?s)a", 0, "inline flags"},
    {"flag_scoped", "(?i:a)", 0, "inline flags"},
    {"escape_G", "\\Ga", 0, "\\G is not supported"},
    {"escape_Z", "a\\Z", 1, "\\Z is not supported"},
    {"escape_R", "\\R", 0, "\\R is not supported"},
    {"escape_h", "\\h", 0, "\\h is not supported"},
    {"escape_unknown", "\\y", 0, "\\y is not supported"},
    {"escape_unicode_class", "\\p{IsAlphabetic}", 0, "only the ASCII classes"},
    {"nested_class", "[a[b]]", 2, "nested classes and unions"},
    {"intersection", "[a-z&&[^b]]", 4, "class intersection && is not supported"},
    {"non_ascii_in_class", "x[\xc3\xa9\xc3\xa8]", 2, "non-ASCII characters inside [...]"},
    {"negated_class_in_class", "[a\\D]", 2, "\\D \\W \\S and \\P inside [...]"},
    {"nul", "a\\x00", 1, "NUL character"},
    {"nul_in_class", "[\\x00-a]", 0, "NUL character"},
    {"bound_over_1000", "a{1001}", 1, "a repetition bound over 1000"},
    {"bound_reversed", "a{3,2}", 1, "needs n <= m"},
    {"brace_alone", "a{", 1, "'{' must start a repetition"},
    {"brace_no_min", "a{,2}", 1, "'{' must start a repetition"},
    {"nothing_to_repeat", "*a", 0, "a quantifier needs something to repeat"},
    {"double_quantifier", "a**", 2, "a quantifier needs something to repeat"},
    {"quantifier_after_open", "(*a)", 1, "needs something to repeat"},
    {"quantifier_after_bar", "a|*b", 2, "needs something to repeat"},
    {"unclosed_group", "(a", 2, "unclosed group: expected ')'"},
    {"unmatched_close", "a)", 1, "unmatched ')'"},
    {"unclosed_class", "x[abc", 1, "unclosed character class ["},
    {"trailing_backslash", "a\\", 1, "cannot end with a backslash"},
    {"reversed_range", "[z-a]", 2, "a range's end is before its start"},
    {"short_hex", "\\x4", 0, "\\x needs two hex digits"},
    {"expansion", "(a{100}){300}", 8, "pattern too complex"},
};

static void test_refuse_row(void **state)
{
    const struct refuse_row *row = *state;
    struct etl_regex re;
    struct err err = ERR_INIT;
    size_t where = 999;
    assert_int_equal(etl_regex_compile(cur_from_str(row->pattern), true, &re, &where, &err),
                     ERR_INVALID_INPUT);
    if (strstr(err.msg, row->message) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, row->message);
    }
    assert_int_equal(where, row->where);
    assert_false(re.compiled);
    etl_regex_free(&re);
}

static void test_limits(void **state)
{
    (void)state;
    struct etl_regex re;
    struct err err = ERR_INIT;
    size_t where = 0;
    char long_pattern[ETL_REGEX_MAX_PATTERN + 2];
    memset(long_pattern, 'a', sizeof(long_pattern) - 1);
    long_pattern[sizeof(long_pattern) - 1] = '\0';
    assert_int_equal(etl_regex_compile(cur_from_str(long_pattern), true, &re, &where, &err),
                     ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "over 1024"));
    long_pattern[ETL_REGEX_MAX_PATTERN] = '\0';
    assert_int_equal(etl_regex_compile(cur_from_str(long_pattern), true, &re, &where, &err),
                     ERR_OK);
    etl_regex_free(&re);

    char dots[300];
    memset(dots, '.', 256);
    dots[256] = '\0';
    assert_int_equal(etl_regex_compile(cur_from_str(dots), true, &re, &where, &err),
                     ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "over 255 groups"));

    char deep[70];
    memset(deep, '(', 65);
    deep[65] = '\0';
    assert_int_equal(etl_regex_compile(cur_from_str(deep), true, &re, &where, &err),
                     ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "nested deeper than 64"));
    assert_int_equal(where, 64);
    etl_regex_free(NULL);
}

/* Subjects are byte ranges: not NUL-terminated, NULs inside. */
static void test_subject_is_a_range(void **state)
{
    (void)state;
    struct etl_regex re;
    struct err err = ERR_INIT;
    size_t where = 0;
    struct etl_regex_span spans[1];
    bool found = false;
    assert_int_equal(etl_regex_compile(cur_from_str("b+$"), true, &re, &where, &err), ERR_OK);
    assert_int_equal(etl_regex_search(&re, cur_make("a\0bbX", 4), &found, spans, 1, &err), ERR_OK);
    assert_true(found);
    assert_int_equal(spans[0].start, 2);
    assert_int_equal(spans[0].end, 4);
    assert_int_equal(etl_regex_search(&re, cur_make(NULL, 0), &found, spans, 1, &err), ERR_OK);
    assert_false(found);
    etl_regex_free(&re);
    struct etl_regex zero;
    memset(&zero, 0, sizeof(zero));
    assert_int_equal(etl_regex_search(&zero, cur_from_str("a"), &found, NULL, 0, &err),
                     ERR_INVALID_INPUT);
    etl_regex_free(&zero);
}

/* A hostile subject against a pattern with nested repetition finishes (no backtracking). */
static void test_no_catastrophic_backtracking(void **state)
{
    (void)state;
    struct etl_regex re;
    struct err err = ERR_INIT;
    size_t where = 0;
    bool found = true;
    char subject[4096];
    memset(subject, 'a', sizeof(subject) - 2);
    subject[sizeof(subject) - 2] = '!';
    subject[sizeof(subject) - 1] = '\0';
    assert_int_equal(etl_regex_compile(cur_from_str("^(a+)+$"), false, &re, &where, &err), ERR_OK);
    assert_int_equal(etl_regex_search(&re, cur_from_str(subject), &found, NULL, 0, &err), ERR_OK);
    assert_false(found);
    etl_regex_free(&re);
}

#define ADD_ROWS(rows, fn)                                                                         \
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {                                  \
        tests[n++] = (struct CMUnitTest){rows[i].name, fn, NULL, NULL, (void *)&rows[i]};          \
    }

int main(void)
{
    static struct CMUnitTest tests[192];
    size_t n = 0;
    ADD_ROWS(match_rows, test_match_row);
    ADD_ROWS(refuse_rows, test_refuse_row);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limits);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_subject_is_a_range);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_no_catastrophic_backtracking);
    return _cmocka_run_group_tests("regex", tests, n, NULL, NULL);
}
