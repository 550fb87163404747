/*
 * test_xml.c - element lookup in S3's XML (nesting, self-closing tags, attributes, names that
 * share a prefix) and text decoding (the five entities, numeric character references).
 */
#include <string.h>

#include "test_util.h"
#include "xml.h"

/* ---- xml_next ------------------------------------------------------------------------------ */

struct next_row {
    const char *name;
    const char *doc;
    const char *tag;
    bool found;
    const char *inner;
    const char *rest; /* the document after *pos */
};

static const struct next_row next_rows[] = {
    {"next_simple", "<a>x</a>", "a", true, "x", ""},
    {"next_nested_raw", "<r><Contents><Key>k</Key><Size>1</Size></Contents>tail</r>", "Contents",
     true, "<Key>k</Key><Size>1</Size>", "tail</r>"},
    {"next_inner_of_nested", "<r><Contents><Key>k</Key></Contents></r>", "Key", true, "k",
     "</Contents></r>"},
    {"next_empty_element", "<r><Prefix></Prefix></r>", "Prefix", true, "", "</r>"},
    {"next_self_closing", "<r><Prefix/><Key>k</Key></r>", "Prefix", true, "", "<Key>k</Key></r>"},
    {"next_self_closing_space", "<r><Prefix /></r>", "Prefix", true, "", "</r>"},
    {"next_self_closing_attr", "<r><Owner id=\"1\"/></r>", "Owner", true, "", "</r>"},
    {"next_attributes",
     "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
     "</ListBucketResult>",
     "ListBucketResult", true, "<Name>b</Name>", ""},
    {"next_newline_before_gt", "<Key\n>v</Key>", "Key", true, "v", ""},
    {"next_prefix_tag_first", "<KeyMarker>m</KeyMarker><Key>k</Key>", "Key", true, "k", ""},
    {"next_longer_tag_after", "<Key>k</Key><KeyMarker>m</KeyMarker>", "KeyMarker", true, "m", ""},
    {"next_prefix_only", "<KeyMarker>m</KeyMarker><KeyCount>2</KeyCount>", "Key", false, "", ""},
    {"next_shorter_tag_only", "<Ke>x</Ke>", "Key", false, "", ""},
    {"next_closing_prefix_not_close", "<Key>a</KeyMarker>b</Key>", "Key", true, "a</KeyMarker>b",
     ""},
    {"next_continuation_tokens",
     "<NextContinuationToken>n</NextContinuationToken><ContinuationToken>c</ContinuationToken>",
     "ContinuationToken", true, "c", ""},
    {"next_unclosed", "<Key>abc", "Key", false, "", ""},
    {"next_unterminated_open", "<Key", "Key", false, "", ""},
    {"next_unterminated_self_close", "<Key/", "Key", false, "", ""},
    {"next_missing_gt_in_close", "<Key>abc</Key", "Key", false, "", ""},
    {"next_absent", "<a>x</a>", "b", false, "", ""},
    {"next_empty_doc", "", "a", false, "", ""},
    {"next_text_with_entities", "<Key>a&amp;b&lt;c</Key>", "Key", true, "a&amp;b&lt;c", ""},
    {"next_error_body", "<?xml version=\"1.0\"?>\n<Error><Code>NoSuchKey</Code></Error>", "Code",
     true, "NoSuchKey", "</Error>"},
};

static void test_next_row(void **state)
{
    const struct next_row *row = *state;
    struct cur doc = cur_from_str(row->doc);
    size_t pos = 0;
    struct cur inner = {NULL, 0};
    bool found = xml_next(doc, row->tag, &pos, &inner);
    assert_int_equal(found, row->found);
    if (found) {
        assert_int_equal(inner.len, strlen(row->inner));
        assert_memory_equal(inner.ptr, row->inner, inner.len);
        assert_true(pos <= doc.len);
        assert_string_equal(row->doc + pos, row->rest);
    }
}

static void test_next_iterates(void **state)
{
    (void)state;
    static const char doc[] = "<r><Contents><Key>a</Key></Contents><Other/>"
                              "<Contents><Key>b</Key></Contents><Contents/></r>";
    struct cur d = cur_from_str(doc);
    size_t pos = 0;
    struct cur inner;
    const char *want[] = {"<Key>a</Key>", "<Key>b</Key>", ""};
    for (size_t i = 0; i < 3; i++) {
        assert_true(xml_next(d, "Contents", &pos, &inner));
        assert_int_equal(inner.len, strlen(want[i]));
        assert_memory_equal(inner.ptr, want[i], inner.len);
    }
    assert_false(xml_next(d, "Contents", &pos, &inner));
}

static void test_next_is_bounded(void **state)
{
    (void)state;
    /* The document is a cur, not a C string: nothing past len is read or matched. */
    static const char text[] = "<Key>abc</Key><Key>def</Key>";
    struct cur d = cur_make(text, 14); /* "<Key>abc</Key>" */
    size_t pos = 0;
    struct cur inner;
    assert_true(xml_next(d, "Key", &pos, &inner));
    assert_int_equal(pos, 14);
    assert_false(xml_next(d, "Key", &pos, &inner));
    d = cur_make(text, 13); /* the closing '>' cut off */
    pos = 0;
    assert_false(xml_next(d, "Key", &pos, &inner));
}

/* ---- xml_decode ---------------------------------------------------------------------------- */

struct decode_row {
    const char *name;
    const char *raw;
    enum err_code code;
    const char *decoded;
};

static const struct decode_row decode_rows[] = {
    {"decode_plain", "logs/2024/part-0001.json", ERR_OK, "logs/2024/part-0001.json"},
    {"decode_empty", "", ERR_OK, ""},
    {"decode_amp", "a &amp; b", ERR_OK, "a & b"},
    {"decode_five_entities", "&lt;&gt;&amp;&quot;&apos;", ERR_OK, "<>&\"'"},
    {"decode_quoted_etag", "&quot;9b2cf535f27731c974343645a3985328&quot;", ERR_OK,
     "\"9b2cf535f27731c974343645a3985328\""},
    {"decode_amp_then_entity_text", "&amp;lt;", ERR_OK, "&lt;"},
    {"decode_decimal", "&#38;&#60;", ERR_OK, "&<"},
    {"decode_hex", "&#x26;&#x3c;&#x3C;", ERR_OK, "&<<"},
    {"decode_two_byte", "caf&#233;", ERR_OK, "caf\xc3\xa9"},
    {"decode_three_byte", "&#x65E5;", ERR_OK, "\xe6\x97\xa5"},
    {"decode_four_byte", "&#x1F600;", ERR_OK, "\xf0\x9f\x98\x80"},
    {"decode_max_code_point", "&#x10FFFF;", ERR_OK, "\xf4\x8f\xbf\xbf"},
    {"decode_leading_zeros", "&#0000065;", ERR_OK, "A"},
    {"decode_utf8_kept", "\xc3\xa9t\xc3\xa9", ERR_OK, "\xc3\xa9t\xc3\xa9"},
    {"decode_unknown_entity", "a&nbsp;b", ERR_INVALID_INPUT, ""},
    {"decode_bare_amp", "a & b", ERR_INVALID_INPUT, ""},
    {"decode_amp_at_end", "a&", ERR_INVALID_INPUT, ""},
    {"decode_no_semicolon", "&amp", ERR_INVALID_INPUT, ""},
    {"decode_case_sensitive", "&AMP;", ERR_INVALID_INPUT, ""},
    {"decode_empty_decimal", "&#;", ERR_INVALID_INPUT, ""},
    {"decode_empty_hex", "&#x;", ERR_INVALID_INPUT, ""},
    {"decode_nul", "&#0;", ERR_INVALID_INPUT, ""},
    {"decode_surrogate", "&#xD800;", ERR_INVALID_INPUT, ""},
    {"decode_past_unicode", "&#x110000;", ERR_INVALID_INPUT, ""},
    {"decode_decimal_hex_digit", "&#1a;", ERR_INVALID_INPUT, ""},
    {"decode_space_in_ref", "&# 38;", ERR_INVALID_INPUT, ""},
    {"decode_sign_in_ref", "&#+38;", ERR_INVALID_INPUT, ""},
    {"decode_negative_ref", "&#-38;", ERR_INVALID_INPUT, ""},
    {"decode_hex_0x_prefix", "&#x0x26;", ERR_INVALID_INPUT, ""},
    {"decode_uppercase_x", "&#X26;", ERR_INVALID_INPUT, ""},
};

static void test_decode_row(void **state)
{
    const struct decode_row *row = *state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(xml_decode(cur_from_str(row->raw), &out, &err), row->code);
    if (row->code == ERR_OK) {
        assert_string_equal(buf_cstr(&out), row->decoded);
    } else {
        assert_non_null(strstr(err.msg, "XML"));
    }
    buf_cleanup(&out);
}

static void test_decode_appends(void **state)
{
    (void)state;
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(buf_append_str(&out, "k=", &err), ERR_OK);
    assert_int_equal(xml_decode(cur_from_str("a&amp;b"), &out, &err), ERR_OK);
    assert_string_equal(buf_cstr(&out), "k=a&b");
    buf_cleanup(&out);
    /* A limit on out is respected. */
    struct buf small = BUF_INIT(3);
    assert_int_equal(xml_decode(cur_from_str("abcd"), &small, &err), ERR_TOO_LARGE);
    buf_cleanup(&small);
}

/* ---- xml_text_copy ------------------------------------------------------------------------ */

struct copy_row {
    const char *name;
    const char *doc;
    const char *tag;
    size_t cap;
    bool ok;
    const char *out;
};

static const struct copy_row copy_rows[] = {
    {"copy_fits", "<Code>SlowDown</Code>", "Code", 64, true, "SlowDown"},
    {"copy_exact_fit", "<Code>abc</Code>", "Code", 4, true, "abc"},
    {"copy_one_too_long", "<Code>abcd</Code>", "Code", 4, false, ""},
    {"copy_decoded", "<Message>a &amp; b</Message>", "Message", 64, true, "a & b"},
    {"copy_decoded_fits_raw_does_not", "<M>&amp;&amp;</M>", "M", 3, true, "&&"},
    {"copy_first_of_many", "<Key>a</Key><Key>b</Key>", "Key", 64, true, "a"},
    {"copy_absent", "<Code>x</Code>", "Message", 64, false, ""},
    {"copy_undecodable", "<Code>a&b</Code>", "Code", 64, false, ""},
    {"copy_cap_one_empty", "<Code></Code>", "Code", 1, true, ""},
    {"copy_cap_one_text", "<Code>abc</Code>", "Code", 1, false, ""},
    {"copy_cap_two_text", "<Code>abc</Code>", "Code", 2, false, ""},
};

static void test_copy_row(void **state)
{
    const struct copy_row *row = *state;
    /* A guard after the destination catches writes past cap. */
    char dst[80];
    memset(dst, '#', sizeof(dst));
    assert_int_equal(xml_text_copy(cur_from_str(row->doc), row->tag, dst, row->cap), row->ok);
    assert_string_equal(dst, row->out);
    for (size_t i = row->cap; i < sizeof(dst); i++) {
        assert_int_equal(dst[i], '#');
    }
}

int main(void)
{
    enum {
        N_NEXT = sizeof(next_rows) / sizeof(next_rows[0]),
        N_DECODE = sizeof(decode_rows) / sizeof(decode_rows[0]),
        N_COPY = sizeof(copy_rows) / sizeof(copy_rows[0]),
    };
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_next_iterates),
        cmocka_unit_test(test_next_is_bounded),
        cmocka_unit_test(test_decode_appends),
    };
    enum { N_PLAIN = sizeof(plain) / sizeof(plain[0]) };
    static struct CMUnitTest tests[N_NEXT + N_DECODE + N_COPY + N_PLAIN];
    size_t n = 0;
    for (size_t i = 0; i < N_NEXT; i++) {
        tests[n++] = (struct CMUnitTest){next_rows[i].name, test_next_row, NULL, NULL,
                                         (void *)&next_rows[i]};
    }
    for (size_t i = 0; i < N_DECODE; i++) {
        tests[n++] = (struct CMUnitTest){decode_rows[i].name, test_decode_row, NULL, NULL,
                                         (void *)&decode_rows[i]};
    }
    for (size_t i = 0; i < N_COPY; i++) {
        tests[n++] = (struct CMUnitTest){copy_rows[i].name, test_copy_row, NULL, NULL,
                                         (void *)&copy_rows[i]};
    }
    for (size_t i = 0; i < N_PLAIN; i++) {
        tests[n++] = plain[i];
    }
    return _cmocka_run_group_tests("xml", tests, n, NULL, NULL);
}
