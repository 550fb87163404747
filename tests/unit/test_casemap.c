/*
 * test_casemap.c - simple case mappings as Java's Character.toLowerCase/toUpperCase give them:
 * ASCII, Latin-1 and its odd pairs (ÿ/Ÿ, µ), stride-2 blocks, title-case digraphs, Greek final
 * sigma, Cyrillic, Armenian, fullwidth and supplementary letters, the hand-listed simple
 * mappings, and characters that stay as they are (ß, CJK, digits).
 */
#include "etl_casemap.h"
#include "test_util.h"

struct case_row {
    const char *name;
    uint32_t cp;
    uint32_t lower;
    uint32_t upper;
};

static const struct case_row case_rows[] = {
    {"ascii_upper", 'A', 'a', 'A'},
    {"ascii_lower", 'z', 'z', 'Z'},
    {"ascii_digit", '7', '7', '7'},
    {"ascii_symbols", '@', '@', '@'},
    {"latin1_e_acute", 0xC9, 0xE9, 0xC9},
    {"latin1_e_acute_lower", 0xE9, 0xE9, 0xC9},
    {"latin1_times_sign", 0xD7, 0xD7, 0xD7},
    {"y_diaeresis", 0xFF, 0xFF, 0x178},
    {"Y_diaeresis", 0x178, 0xFF, 0x178},
    {"micro_sign", 0xB5, 0xB5, 0x39C},
    {"sharp_s_stays", 0xDF, 0xDF, 0xDF},
    {"capital_sharp_s", 0x1E9E, 0xDF, 0x1E9E},
    {"dotted_capital_i", 0x130, 'i', 0x130},
    {"dotless_i", 0x131, 0x131, 'I'},
    {"long_s", 0x17F, 0x17F, 'S'},
    {"a_macron_pair", 0x100, 0x101, 0x100},
    {"a_macron_pair_lower", 0x101, 0x101, 0x100},
    {"stride_2_end", 0x12E, 0x12F, 0x12E},
    {"dz_capital", 0x1C4, 0x1C6, 0x1C4},
    {"dz_title", 0x1C5, 0x1C6, 0x1C4},
    {"dz_small", 0x1C6, 0x1C6, 0x1C4},
    {"sigma", 0x3A3, 0x3C3, 0x3A3},
    {"final_sigma", 0x3C2, 0x3C2, 0x3A3},
    {"greek_tonos", 0x386, 0x3AC, 0x386},
    {"cyrillic_zhe", 0x416, 0x436, 0x416},
    {"cyrillic_ie_grave", 0x400, 0x450, 0x400},
    {"armenian", 0x531, 0x561, 0x531},
    {"fullwidth_a", 0xFF21, 0xFF41, 0xFF21},
    {"fullwidth_a_lower", 0xFF41, 0xFF41, 0xFF21},
    {"deseret", 0x10400, 0x10428, 0x10400},
    {"kelvin_sign", 0x212A, 'k', 0x212A},
    {"ohm_sign", 0x2126, 0x3C9, 0x2126},
    {"alpha_ypogegrammeni", 0x1FB3, 0x1FB3, 0x1FBC},
    {"alpha_psili_ypogegrammeni", 0x1F80, 0x1F80, 0x1F88},
    {"ligature_ff_stays", 0xFB00, 0xFB00, 0xFB00},
    {"cjk_stays", 0x65E5, 0x65E5, 0x65E5},
    {"emoji_stays", 0x1F600, 0x1F600, 0x1F600},
    {"max_code_point", 0x10FFFF, 0x10FFFF, 0x10FFFF},
};

static void test_case_row(void **state)
{
    const struct case_row *row = *state;
    assert_int_equal(etl_casemap_lower(row->cp), row->lower);
    assert_int_equal(etl_casemap_upper(row->cp), row->upper);
}

/* Every result is a Unicode scalar value, and ASCII maps only within ASCII. */
static void test_results_are_scalar_values(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            continue;
        }
        uint32_t l = etl_casemap_lower(cp), u = etl_casemap_upper(cp);
        assert_true(l <= 0x10FFFF && !(l >= 0xD800 && l <= 0xDFFF));
        assert_true(u <= 0x10FFFF && !(u >= 0xD800 && u <= 0xDFFF));
        if (cp < 0x80) {
            assert_true(l < 0x80 && u < 0x80);
        }
    }
}

int main(void)
{
    static struct CMUnitTest tests[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(case_rows) / sizeof(case_rows[0]); i++) {
        tests[n++] = (struct CMUnitTest){case_rows[i].name, test_case_row, NULL, NULL,
                                         (void *)&case_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_results_are_scalar_values);
    return _cmocka_run_group_tests("casemap", tests, n, NULL, NULL);
}
