/*
 * test_transform.c - a spec's steps on rows, end to end: an item and its metadata become a source
 * row, the transform routes, maps, casts, flattens, renames, selects, adds and derives columns,
 * filters, and the emitted row (PII applied) is compared as the JSON line it writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "etl_format.h"
#include "etl_record.h"
#include "etl_spec.h"
#include "etl_transform.h"
#include "etl_writer.h"
#include "json.h"
#include "test_util.h"

#define PII_KEY "k3y"

struct row_case {
    const char *name;
    const char *spec; /* one dataset's members, or a whole spec when it starts with '{' */
    const char *item; /* DynamoDB JSON */
    const char *op;
    int dataset;                 /* expected; -1 unrouted */
    enum etl_tx_outcome outcome; /* expected */
    const char *line; /* the emitted row as JSON Lines (without '\n'); REJECTED: in the failures */
    const char *rejected_row; /* REJECTED: the row emitted all the same (NULL: not checked) */
};

static const struct row_case cases[] = {
    {"identity", "", "{\"pk\":{\"S\":\"u1\"},\"n\":{\"N\":\"007.50\"}}", "INSERT", 0, ETL_TX_KEEP,
     "{\"pk\":\"u1\",\"n\":7.50,\"_op\":\"INSERT\",\"_seq\":\"100\",\"_ts\":\"2025-11-25T00:00:00.000Z\",\"_table\":\"T\",\"_event_id\":\"e1\"}"},
    {"mapping_casts",
     "\"mappings\":[[\"pk\",\"string\",\"id\",\"string\"],[\"p.age\",\"string\",\"age\",\"int\"],"
     "[\"bal\",\"string\",\"balance\",\"decimal(10,2)\"],[\"at\",\"bigint\",\"at\",\"timestamp\"],"
     "[\"gone\",\"string\",\"gone\",\"string\"]],\"drop\":[\"_seq\",\"_ts\",\"_event_id\"]",
     "{\"pk\":{\"S\":\"u1\"},\"p\":{\"M\":{\"age\":{\"S\":\"42\"}}},\"bal\":{\"N\":\"12.5\"},"
     "\"at\":{\"N\":\"1764028800\"},\"x\":{\"S\":\"dropped\"}}",
     "INSERT", 0, ETL_TX_KEEP,
     "{\"id\":\"u1\",\"age\":42,\"balance\":12.50,\"at\":\"2025-11-25T00:00:00.000Z\",\"gone\":null,\"_op\":\"INSERT\",\"_table\":\"T\"}"},
    {"decimal_38_digits",
     "\"mappings\":[[\"v\",\"string\",\"v\",\"decimal(38,0)\"]],"
     "\"select\":[\"v\"],\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\"]",
     "{\"v\":{\"N\":\"12345678901234567890123456789012345678\"}}", "MODIFY", 0, ETL_TX_KEEP,
     "{\"v\":12345678901234567890123456789012345678,\"_op\":\"MODIFY\"}"},
    {"cast_null_policy",
     "\"mappings\":[[\"v\",\"string\",\"v\",\"decimal(10,2)\"]],"
     "\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\",\"_op\"]",
     "{\"v\":{\"N\":\"12.345\"}}", "INSERT", 0, ETL_TX_KEEP, "{\"v\":null}"},
    {"cast_keep_policy",
     "\"mappings\":[[\"v\",\"string\",\"v\",\"int\",\"keep\"]],"
     "\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\",\"_op\"]",
     "{\"v\":{\"S\":\"abc\"}}", "INSERT", 0, ETL_TX_KEEP, "{\"v\":\"abc\"}"},
    {"cast_reject_policy", "\"mappings\":[[\"v\",\"string\",\"v\",\"int\",\"reject\"]]",
     "{\"v\":{\"S\":\"abc\"}}", "INSERT", 0, ETL_TX_REJECTED, "[\"CastFailed \\\"v\\\": "},
    /* A rejected row goes on through every step, as it would have been written; each failed
     * cast is named. */
    {"cast_reject_names_each_and_goes_on",
     "\"mappings\":[[\"a\",\"string\",\"a\",\"int\",\"reject\"],"
     "[\"b\",\"string\",\"b\",\"date\",\"reject\"],[\"c\",\"string\",\"c\",\"int\"]],"
     "\"derive\":[{\"name\":\"d\",\"expr\":\"coalesce(a, 0) + c\"}],"
     "\"select\":[\"a\",\"b\",\"d\"],\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\"]",
     "{\"a\":{\"S\":\"x\"},\"b\":{\"S\":\"2025-13-01\"},\"c\":{\"N\":\"4\"}}", "INSERT", 0,
     ETL_TX_REJECTED,
     "\"CastFailed \\\"b\\\": ", "{\"a\":null,\"b\":null,\"d\":4,\"_op\":\"INSERT\"}"},
    {"filter_drops_a_rejected_row",
     "\"mappings\":[[\"v\",\"string\",\"v\",\"int\",\"reject\"]],\"filter\":\"_op <> 'REMOVE'\"",
     "{\"v\":{\"S\":\"abc\"}}", "REMOVE", 0, ETL_TX_FILTERED, NULL},
    {"keep_unmapped",
     "\"mappings\":[[\"a.b\",\"string\",\"ab\",\"string\"]],\"keep_unmapped\":true,"
     "\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\",\"_op\"]",
     "{\"a\":{\"M\":{\"b\":{\"S\":\"x\"}}},\"c\":{\"SS\":[\"s\"]}}", "INSERT", 0, ETL_TX_KEEP,
     "{\"ab\":\"x\",\"c\":[\"s\"]}"},
    {"flatten_depth_1",
     "\"flatten\":1,\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\",\"_op\"]",
     "{\"addr\":{\"M\":{\"city\":{\"S\":\"Z\\u00fcrich\"},\"geo\":{\"M\":{\"lat\":{\"N\":\"47.3\"}}}}}}",
     "INSERT", 0, ETL_TX_KEEP, "{\"addr_city\":\"Z\\u00fcrich\",\"addr_geo\":{\"lat\":47.3}}"},
    {"flatten_in_place",
     "\"flatten\":1,\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\",\"_op\"]",
     "{\"a\":{\"S\":\"1\"},\"m\":{\"M\":{\"x\":{\"N\":\"2\"},\"y\":{\"S\":\"3\"}}},\"z\":{\"S\":\"4\"}}",
     "INSERT", 0, ETL_TX_KEEP, "{\"a\":\"1\",\"m_x\":2,\"m_y\":\"3\",\"z\":\"4\"}"},
    {"flatten_depth_2",
     "\"flatten\":{\"depth\":2,\"separator\":\".\"},"
     "\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\",\"_op\"]",
     "{\"addr\":{\"M\":{\"geo\":{\"M\":{\"lat\":{\"N\":\"47.3\"}}}}},\"addr.geo.lat\":{\"N\":\"1\"}}",
     "INSERT", 0, ETL_TX_KEEP, "{\"addr.geo.lat\":1}"},
    {"rename_select",
     "\"rename\":{\"a\":\"alpha\",\"_op\":\"operation\"},\"select\":[\"alpha\",\"operation\"]",
     "{\"a\":{\"S\":\"1\"},\"b\":{\"S\":\"2\"}}", "REMOVE", 0, ETL_TX_KEEP,
     "{\"alpha\":\"1\",\"operation\":\"REMOVE\",\"_seq\":\"100\",\"_ts\":\"2025-11-25T00:00:00.000Z\",\"_table\":\"T\",\"_event_id\":\"e1\",\"_ttl_delete\":false}"},
    {"constants_derive",
     "\"constants\":{\"src\":\"crm\",\"v\":10.50,\"ok\":true},"
     "\"derive\":[{\"name\":\"domain\",\"expr\":\"split_part(email, '@', 2)\"},"
     "{\"name\":\"d2\",\"expr\":\"upper(domain) || '!'\"},"
     "{\"name\":\"n2\",\"expr\":\"n * 2\",\"type\":\"decimal(10,1)\"}],"
     "\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\",\"_op\",\"email\",\"n\"]",
     "{\"email\":{\"S\":\"a@b.org\"},\"n\":{\"N\":\"1.25\"}}", "INSERT", 0, ETL_TX_KEEP,
     "{\"src\":\"crm\",\"v\":10.50,\"ok\":true,\"domain\":\"b.org\",\"d2\":\"B.ORG!\",\"n2\":2.5}"},
    {"filter_drops", "\"filter\":\"_op <> 'REMOVE'\"", "{\"a\":{\"S\":\"1\"}}", "REMOVE", 0,
     ETL_TX_FILTERED, NULL},
    {"filter_null_drops", "\"filter\":\"missing = 1\"", "{\"a\":{\"S\":\"1\"}}", "INSERT", 0,
     ETL_TX_FILTERED, NULL},
    {"pii",
     "\"pii\":[{\"column\":\"email\",\"method\":\"hmac_sha256\"},"
     "{\"column\":\"ssn\",\"method\":\"redact\"},"
     "{\"column\":\"phone\",\"method\":\"truncate\",\"keep\":3},"
     "{\"column\":\"name\",\"method\":\"truncate\",\"keep\":2,\"from\":\"start\"},"
     "{\"column\":\"none\",\"method\":\"redact\"}],"
     "\"drop\":[\"_seq\",\"_ts\",\"_table\",\"_event_id\",\"_op\"]",
     "{\"email\":{\"S\":\"a@b.org\"},\"ssn\":{\"N\":\"123\"},\"phone\":{\"S\":\"+41 \\u00e9\\u00e9\\u00e9\"},"
     "\"name\":{\"S\":\"\\u00c9mile\"},\"none\":{\"NULL\":true}}",
     "INSERT", 0, ETL_TX_KEEP, "HMAC"},
};

/* The route cases share one spec: users, orders, and everything else to a default. */
static const char *const route_spec =
    "{\"version\":1,\"datasets\":["
    "{\"name\":\"users\",\"when\":\"starts_with(pk, 'USER#')\"},"
    "{\"name\":\"orders\",\"when\":\"starts_with(pk, 'ORDER#') AND _op <> 'REMOVE'\"}]}";

static void build(const char *item, const char *op, struct buf *store, size_t *off)
{
    struct json_val v;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(cur_from_str(item), 64, &v, &err), ERR_OK);
    struct etl_record_meta meta = {.op = op,
                                   .seq = "100",
                                   .ts = "2025-11-25T00:00:00.000Z",
                                   .table = "T",
                                   .event_id = cur_from_str("\"e1\""),
                                   .has_ttl_delete = op[0] == 'R'};
    assert_int_equal(etl_record_build(store, &v, NULL, &meta, off, &err), ERR_OK);
}

static struct etl_spec *parse(const char *text)
{
    struct etl_spec *spec = NULL;
    struct err err = ERR_INIT;
    char whole[4096];
    if (text[0] != '{') {
        snprintf(whole, sizeof(whole),
                 "{\"version\":1,\"pii_key\":{\"env\":\"K\"},\"datasets\":[{\"name\":\"d\"%s%s}]}",
                 text[0] != '\0' ? "," : "", text);
        text = whole;
    }
    if (etl_spec_parse(cur_from_str(text), &spec, &err) != ERR_OK) {
        fail_msg("spec: %s", err.msg);
    }
    return spec;
}

/* The row at offset as the JSON line jsonl writes. */
static void render(const struct buf *store, size_t off, struct buf *line)
{
    struct etl_writer w;
    struct err err = ERR_INIT;
    struct etl_encoding enc = {etl_format_find("jsonl"), etl_codec_find("none"), 0};
    struct etl_row_ref row = {store, off, {NULL, 0}};
    assert_int_equal(etl_writer_open(&w, line, &enc, NULL, &err), ERR_OK);
    assert_int_equal(etl_writer_row(&w, &row, &err), ERR_OK);
    assert_int_equal(etl_writer_close(&w, &err), ERR_OK);
    etl_writer_cleanup(&w);
    if (line->len > 0 && line->data[line->len - 1] == '\n') {
        buf_truncate(line, line->len - 1);
    }
}

static void hmac_hex(const char *text, char out[DIGEST_SHA256_HEX])
{
    uint8_t mac[DIGEST_SHA256_BYTES];
    struct err err = ERR_INIT;
    assert_int_equal(digest_hmac_sha256((const uint8_t *)PII_KEY, strlen(PII_KEY), text,
                                        strlen(text), mac, &err),
                     ERR_OK);
    digest_hex(mac, sizeof(mac), out, DIGEST_SHA256_HEX);
}

static void test_case(void **state)
{
    const struct row_case *c = *state;
    struct etl_spec *spec = parse(c->spec);
    struct etl_transform *t = NULL;
    struct err err = ERR_INIT;
    struct buf src = BUF_INIT(0), out = BUF_INIT(0), line = BUF_INIT(0);
    size_t off = 0, out_off = 0;
    assert_int_equal(etl_transform_new(spec, (const uint8_t *)PII_KEY, strlen(PII_KEY), &t, &err),
                     ERR_OK);
    build(c->item, c->op, &src, &off);
    struct etl_row_ref ref = {&src, off, {NULL, 0}};
    struct etl_tx_result res;
    if (etl_transform_apply(t, &ref, &res, &err) != ERR_OK) {
        fail_msg("apply: %s", err.msg);
    }
    assert_int_equal(res.dataset, c->dataset);
    assert_int_equal(res.outcome, c->outcome);
    if (c->outcome == ETL_TX_REJECTED) {
        struct cur fails = etl_transform_failures(t);
        char text[1024];
        snprintf(text, sizeof(text), "%.*s", (int)fails.len, (const char *)fails.ptr);
        if (strstr(text, c->line) == NULL || text[0] != '[' || text[fails.len - 1] != ']') {
            fail_msg("failures %s lack %s", text, c->line);
        }
        if (c->rejected_row != NULL) {
            assert_int_equal(etl_transform_emit(t, NULL, &out, &out_off, &err), ERR_OK);
            render(&out, out_off, &line);
            assert_string_equal((const char *)line.data, c->rejected_row);
        }
    } else if (c->outcome == ETL_TX_KEEP) {
        assert_int_equal(etl_transform_emit(t, NULL, &out, &out_off, &err), ERR_OK);
        render(&out, out_off, &line);
        if (strcmp(c->line, "HMAC") == 0) {
            char mac[DIGEST_SHA256_HEX], want[512];
            hmac_hex("a@b.org", mac);
            snprintf(want, sizeof(want),
                     "{\"email\":\"%s\",\"ssn\":\"REDACTED\",\"phone\":\"\\u00e9\\u00e9\\u00e9\","
                     "\"name\":\"\xc3\x89m\",\"none\":null}",
                     mac);
            /* the truncated value is re-escaped as buf_append_json_str writes UTF-8: raw */
            char want_raw[512];
            snprintf(
                want_raw, sizeof(want_raw),
                "{\"email\":\"%s\",\"ssn\":\"REDACTED\",\"phone\":\"\xc3\xa9\xc3\xa9\xc3\xa9\","
                "\"name\":\"\xc3\x89m\",\"none\":null}",
                mac);
            assert_string_equal(buf_cstr(&line), want_raw);
        } else {
            assert_string_equal(buf_cstr(&line), c->line);
        }
    }
    etl_transform_free(t);
    etl_spec_free(spec);
    buf_cleanup(&src);
    buf_cleanup(&out);
    buf_cleanup(&line);
}

/* First matching `when` wins; a row no dataset takes is unrouted. */
static void test_routing(void **state)
{
    (void)state;
    static const struct {
        const char *pk;
        const char *op;
        int dataset;
        enum etl_tx_outcome outcome;
    } rows[] = {
        {"USER#1", "INSERT", 0, ETL_TX_KEEP},
        {"ORDER#9", "MODIFY", 1, ETL_TX_KEEP},
        {"ORDER#9", "REMOVE", -1, ETL_TX_UNROUTED},
        {"ITEM#3", "INSERT", -1, ETL_TX_UNROUTED},
    };
    struct etl_spec *spec = parse(route_spec);
    struct etl_transform *t = NULL;
    struct err err = ERR_INIT;
    assert_int_equal(etl_transform_new(spec, NULL, 0, &t, &err), ERR_OK);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct buf src = BUF_INIT(0);
        char item[128];
        size_t off = 0;
        snprintf(item, sizeof(item), "{\"pk\":{\"S\":\"%s\"}}", rows[i].pk);
        build(item, rows[i].op, &src, &off);
        struct etl_row_ref ref = {&src, off, {NULL, 0}};
        struct etl_tx_result res;
        assert_int_equal(etl_transform_apply(t, &ref, &res, &err), ERR_OK);
        assert_int_equal(res.dataset, rows[i].dataset);
        assert_int_equal(res.outcome, rows[i].outcome);
        buf_cleanup(&src);
    }
    etl_transform_free(t);
    etl_spec_free(spec);
}

/* A value an expression cannot take is the record's error, not the batch's. */
static void test_expression_error(void **state)
{
    (void)state;
    struct etl_spec *spec = parse("\"derive\":[{\"name\":\"x\",\"expr\":\"cast(a AS bigint)\"}]");
    struct etl_transform *t = NULL;
    struct err err = ERR_INIT;
    struct buf src = BUF_INIT(0);
    size_t off = 0;
    assert_int_equal(etl_transform_new(spec, NULL, 0, &t, &err), ERR_OK);
    build("{\"a\":{\"S\":\"abc\"}}", "INSERT", &src, &off);
    struct etl_row_ref ref = {&src, off, {NULL, 0}};
    struct etl_tx_result res;
    assert_int_equal(etl_transform_apply(t, &ref, &res, &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "derive \"x\""));
    etl_transform_free(t);
    etl_spec_free(spec);
    buf_cleanup(&src);
}

/* Dedupe keys: the dataset's key columns' JSON, or nothing (the record's DynamoDB key). */
static void test_dedupe_key(void **state)
{
    (void)state;
    struct etl_spec *spec = parse("\"dedupe\":{\"key\":[\"pk\",\"sk\"]}");
    struct etl_transform *t = NULL;
    struct err err = ERR_INIT;
    struct buf src = BUF_INIT(0), key = BUF_INIT(0);
    size_t off = 0;
    bool has = false;
    assert_int_equal(etl_transform_new(spec, NULL, 0, &t, &err), ERR_OK);
    build("{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"2\"}}", "INSERT", &src, &off);
    struct etl_row_ref ref = {&src, off, {NULL, 0}};
    struct etl_tx_result res;
    assert_int_equal(etl_transform_apply(t, &ref, &res, &err), ERR_OK);
    assert_int_equal(etl_transform_dedupe_key(t, &key, &has, &err), ERR_OK);
    assert_true(has);
    assert_int_equal(key.len, 5);
    assert_memory_equal(key.data,
                        "\"a\"\x1f"
                        "2",
                        5);
    etl_transform_free(t);
    etl_spec_free(spec);
    buf_cleanup(&src);
    buf_cleanup(&key);
}

int main(void)
{
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    struct CMUnitTest tests[N + 3];
    for (size_t i = 0; i < N; i++) {
        tests[i] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, (void *)&cases[i]};
    }
    tests[N] = (struct CMUnitTest)cmocka_unit_test(test_routing);
    tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_expression_error);
    tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_dedupe_key);
    return _cmocka_run_group_tests("transform", tests, N + 3, NULL, NULL);
}
