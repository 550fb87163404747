/*
 * test_snapshot.c - the pure parts of snapshots: schema statistics and Athena types, checkpoint
 * and run documents (round trips, the LastEvaluatedKey byte for byte), run ids, the DDL with
 * partition projection for several templates, and the read-capacity limiter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_checkpoint.h"
#include "etl_config.h"
#include "etl_ddl.h"
#include "etl_rate.h"
#include "etl_record.h"
#include "etl_schema.h"
#include "json.h"
#include "test_util.h"

/* Observes the row a snapshot makes of item (metadata columns are not attributes). */
static void observe(struct etl_schema *s, const char *item)
{
    struct json_val v;
    struct err err = ERR_INIT;
    struct buf store = BUF_INIT(0);
    struct etl_record_meta meta = {
        .op = "SNAPSHOT", .ts = "2026-11-24T00:00:00.000Z", .table = "T"};
    struct etl_row_ref row = {&store, 0, {NULL, 0}};
    assert_int_equal(json_validate(cur_from_str(item), 64, &v, &err), ERR_OK);
    assert_int_equal(etl_record_build(&store, &v, NULL, &meta, &row.offset, &err), ERR_OK);
    assert_int_equal(etl_schema_observe(s, &row, &err), ERR_OK);
    buf_cleanup(&store);
}

static const struct etl_schema_attr *attr(const struct etl_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->attrs[i].name, name) == 0) {
            return &s->attrs[i];
        }
    }
    fail_msg("no attribute %s", name);
    return NULL;
}

static void test_schema_types(void **state)
{
    (void)state;
    struct etl_schema s;
    etl_schema_init(&s);
    observe(
        &s,
        "{\"id\":{\"N\":\"1\"},\"price\":{\"N\":\"12.50\"},\"name\":{\"S\":\"a\"},\"x\":{\"S\":\"s\"},\"flag\":{\"BOOL\":true},\"tags\":{\"SS\":[\"a\"]}}");
    observe(
        &s,
        "{\"id\":{\"N\":\"123456789012\"},\"price\":{\"N\":\"-0.125\"},\"name\":{\"NULL\":true},\"x\":{\"N\":\"1\"},\"big\":{\"N\":\"12345678901234567890123456789012345678\"},\"e\":{\"N\":\"1E+10\"},\"m\":{\"M\":{}}}");
    assert_int_equal(s.items, 2);
    char type[64];
    etl_schema_athena_type(attr(&s, "id"), type, sizeof(type));
    assert_string_equal(type, "bigint");
    etl_schema_athena_type(attr(&s, "price"), type, sizeof(type));
    assert_string_equal(type, "decimal(38,3)");
    etl_schema_athena_type(attr(&s, "name"), type, sizeof(type)); /* S plus NULL: still string */
    assert_string_equal(type, "string");
    assert_int_equal(attr(&s, "name")->counts[ETL_T_NULL], 1);
    etl_schema_athena_type(attr(&s, "x"), type, sizeof(type)); /* S and N mixed */
    assert_string_equal(type, "string");
    etl_schema_athena_type(attr(&s, "big"), type, sizeof(type)); /* 38 digits: decimal(38,0) */
    assert_string_equal(type, "decimal(38,0)");
    etl_schema_athena_type(attr(&s, "e"), type, sizeof(type)); /* exponent: keep the text */
    assert_string_equal(type, "string");
    etl_schema_athena_type(attr(&s, "flag"), type, sizeof(type));
    assert_string_equal(type, "boolean");
    etl_schema_athena_type(attr(&s, "tags"), type, sizeof(type));
    assert_string_equal(type, "array<string>");
    etl_schema_athena_type(attr(&s, "m"), type, sizeof(type));
    assert_string_equal(type, "string");
    /* JSON round trip and merge double the counts. */
    struct buf doc = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_schema_to_json(&s, &doc, &err), ERR_OK);
    struct etl_schema back;
    etl_schema_init(&back);
    assert_int_equal(etl_schema_from_json(&back, buf_cur(&doc), &err), ERR_OK);
    assert_int_equal(etl_schema_merge(&back, &s, &err), ERR_OK);
    assert_int_equal(back.items, 4);
    assert_int_equal(attr(&back, "price")->counts[ETL_T_N], 4);
    assert_int_equal(attr(&back, "price")->scale, 3);
    assert_true(attr(&back, "e")->exponent);
    assert_non_null(strstr(
        buf_cstr(&doc), "\"name\":\"big\",\"types\":{\"N\":1},\"athena_type\":\"decimal(38,0)\""));
    etl_schema_cleanup(&back);
    etl_schema_cleanup(&s);
    buf_cleanup(&doc);
}

static void test_schema_many_attributes(void **state)
{
    (void)state;
    struct etl_schema s;
    etl_schema_init(&s);
    struct buf item = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(buf_append_byte(&item, '{', &err), ERR_OK);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(buf_printf(&item, &err, "%s\"a%d\":{\"S\":\"v\"}", i > 0 ? "," : "", i),
                         ERR_OK);
    }
    assert_int_equal(buf_append_byte(&item, '}', &err), ERR_OK);
    observe(&s, buf_cstr(&item));
    observe(&s, buf_cstr(&item));
    assert_int_equal(s.n, 500);
    assert_int_equal(attr(&s, "a499")->counts[ETL_T_S], 2);
    etl_schema_cleanup(&s);
    buf_cleanup(&item);
}

static void ddl_setup(struct etl_config *cfg, const char *tmpl, struct etl_schema *s);

/* 10,000 distinct names (2,500 per item): the schema keeps the first ETL_SCHEMA_MAX_ATTRS and
 * counts the other values; its document, a merge and the DDL stay bounded. */
static void test_schema_bounded(void **state)
{
    (void)state;
    struct etl_schema s, back, merged;
    etl_schema_init(&s);
    etl_schema_init(&back);
    etl_schema_init(&merged);
    struct buf item = BUF_INIT(0), doc = BUF_INIT(0);
    struct err err = ERR_INIT;
    for (int k = 0; k < 4; k++) {
        buf_reset(&item);
        assert_int_equal(buf_append_byte(&item, '{', &err), ERR_OK);
        for (int i = 0; i < 2500; i++) {
            assert_int_equal(buf_printf(&item, &err, "%s\"c%05d\":{\"N\":\"%d\"}", i > 0 ? "," : "",
                                        k * 2500 + i, i),
                             ERR_OK);
        }
        assert_int_equal(buf_append_byte(&item, '}', &err), ERR_OK);
        observe(&s, buf_cstr(&item));
    }
    assert_int_equal(s.n, ETL_SCHEMA_MAX_ATTRS);
    assert_int_equal(s.items, 4);
    assert_int_equal(s.overflow_values, 10000 - ETL_SCHEMA_MAX_ATTRS);
    assert_non_null(attr(&s, "c00999"));
    for (size_t i = 0; i < s.n; i++) {
        assert_true(strcmp(s.attrs[i].name, "c01000") < 0); /* the first 1,000 names met */
    }
    assert_int_equal(etl_schema_to_json(&s, &doc, &err), ERR_OK);
    assert_true(doc.len < 200 * 1024);
    assert_non_null(strstr(buf_cstr(&doc), "\"overflow_values\":9000"));
    assert_int_equal(etl_schema_from_json(&back, buf_cur(&doc), &err), ERR_OK);
    assert_int_equal(back.n, ETL_SCHEMA_MAX_ATTRS);
    assert_int_equal(back.overflow_values, 9000);
    assert_int_equal(etl_schema_merge(&merged, &s, &err), ERR_OK);
    assert_int_equal(etl_schema_merge(&merged, &back, &err), ERR_OK);
    assert_int_equal(merged.n, ETL_SCHEMA_MAX_ATTRS);
    assert_int_equal(merged.overflow_values, 18000);
    struct etl_config cfg;
    struct etl_schema dummy;
    ddl_setup(&cfg, "dt=%Y-%m-%d/hour=%H", &dummy);
    etl_schema_cleanup(&dummy);
    struct etl_ddl_ctx ctx = {cfg.enc.format, &cfg.partition, "T", "s3://lake/raw/", "c00000", ""};
    buf_reset(&doc);
    assert_int_equal(etl_ddl_snapshot(&doc, &ctx, &merged, &err), ERR_OK);
    assert_non_null(strstr(buf_cstr(&doc), "`c00999` bigint"));
    etl_schema_cleanup(&s);
    etl_schema_cleanup(&back);
    etl_schema_cleanup(&merged);
    buf_cleanup(&item);
    buf_cleanup(&doc);
}

/* Stored counts out of range are not cast: a negative count is refused (see also
 * test_schema_counts_out_of_range), digits past any number's are ignored. */
static void test_schema_document_ranges(void **state)
{
    (void)state;
    struct etl_schema s;
    etl_schema_init(&s);
    struct err err = ERR_INIT;
    assert_int_equal(
        etl_schema_from_json(&s, cur_from_str("{\"items\":-1,\"attributes\":[]}"), &err),
        ERR_INVALID_INPUT);
    assert_int_equal(
        etl_schema_from_json(&s,
                             cur_from_str("{\"items\":1,\"attributes\":[{\"name\":\"a\",\"types\":"
                                          "{\"N\":0,\"S\":0},\"number\":{\"integer_digits\":"
                                          "2147483647,\"scale\":2147483647}}]}"),
                             &err),
        ERR_OK);
    const struct etl_schema_attr *a = attr(&s, "a");
    assert_non_null(a);
    assert_int_equal(a->counts[ETL_T_N], 0);
    assert_int_equal(a->counts[ETL_T_S], 0);
    assert_int_equal(a->int_digits, 0);
    char type[64];
    etl_schema_athena_type(a, type, sizeof(type));
    etl_schema_cleanup(&s);
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    struct etl_ckpt ck, back;
    struct err err = ERR_INIT;
    assert_int_equal(etl_ckpt_init(&ck, 2, 4, 1, NULL), ERR_OK);
    const char *lek =
        "{\"pk\":{\"S\":\"order#\\u00e9 \\\"x\\\"\"},\"sk\":{\"N\":\"12345678901234567890123456789012345678\"}}";
    assert_int_equal(buf_append_str(&ck.lek, lek, &err), ERR_OK);
    ck.next_file = 3;
    ck.items = 1234;
    ck.rcu = 12.5;
    struct etl_ckpt_file f = {"T/snapshots/run=x/part-00002-00000.jsonl.gz",
                              1000,
                              4096,
                              9999,
                              "0123456789abcdef0123456789abcdef",
                              "\"abc\\\"-1\"",
                              1};
    assert_int_equal(etl_ckpt_add_file(&ck, &f, &err), ERR_OK);
    observe(&ck.ds[0].schema, "{\"pk\":{\"S\":\"a\"}}");
    struct buf doc = BUF_INIT(0);
    assert_int_equal(etl_ckpt_to_json(&ck, "T", "2026-11-24T000000Z", &doc, &err), ERR_OK);
    assert_int_equal(etl_ckpt_init(&back, 2, 4, 1, NULL), ERR_OK);
    assert_int_equal(etl_ckpt_from_json(&back, buf_cur(&doc), &err), ERR_OK);
    assert_false(back.done);
    assert_int_equal(back.next_file, 3);
    assert_int_equal(back.items, 1234);
    assert_int_equal(back.n_files, 1);
    assert_string_equal(back.files[0].key, f.key);
    assert_int_equal(back.files[0].raw_bytes, 9999);
    assert_string_equal(back.files[0].md5, f.md5);
    /* An ETag as S3 sends it, quotes and all (and a backslash): escaped, read back the same. */
    assert_string_equal(back.files[0].etag, f.etag);
    assert_int_equal(back.files[0].parts, 1);
    /* The key to resume from comes back with the same members and values. */
    struct json_val a, b, v1, v2;
    assert_int_equal(json_validate(cur_from_str(lek), 16, &a, &err), ERR_OK);
    assert_int_equal(json_validate(buf_cur(&back.lek), 16, &b, &err), ERR_OK);
    assert_true(json_object_get(&b, "sk", &v2) && json_object_get(&a, "sk", &v1));
    assert_true(v1.raw.len == v2.raw.len && memcmp(v1.raw.ptr, v2.raw.ptr, v1.raw.len) == 0);
    assert_int_equal(back.ds[0].schema.items, 1);
    /* A checkpoint of another segment is refused. */
    struct etl_ckpt other;
    assert_int_equal(etl_ckpt_init(&other, 1, 4, 1, NULL), ERR_OK);
    assert_int_equal(etl_ckpt_from_json(&other, buf_cur(&doc), &err), ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "segment 2 of 4"));
    etl_ckpt_cleanup(&other);
    etl_ckpt_cleanup(&back);
    etl_ckpt_cleanup(&ck);
    buf_cleanup(&doc);
}

/* With a transform, a checkpoint keeps each dataset's counts, schema and rules' partial, and
 * each file's dataset; the short form (one dataset, nothing rejected, filtered or checked)
 * keeps no row count, which comes back from its files. */
static void test_checkpoint_datasets_round_trip(void **state)
{
    (void)state;
    struct etl_ckpt ck, back;
    struct err err = ERR_INIT;
    struct buf doc = BUF_INIT(0);
    assert_int_equal(etl_ckpt_init(&ck, 0, 1, 2, NULL), ERR_OK);
    ck.unrouted = 3;
    struct etl_ckpt_file data = {"users/snapshots/run=x/part-00000-00000.jsonl.gz", 5, 50, 90};
    struct etl_ckpt_file rejected = {"orders/rejected/run=x/part-00000-00001.jsonl.gz", 2, 20, 30};
    rejected.dataset = 1;
    rejected.rejected = true;
    assert_int_equal(etl_ckpt_add_file(&ck, &data, &err), ERR_OK);
    assert_int_equal(etl_ckpt_add_file(&ck, &rejected, &err), ERR_OK);
    ck.ds[0].rows = 5;
    ck.ds[0].filtered = 4;
    observe(&ck.ds[0].schema, "{\"pk\":{\"S\":\"a\"}}");
    assert_int_equal(buf_append_str(&ck.ds[0].dq, "{\"version\":1,\"rows\":9}", &err), ERR_OK);
    ck.ds[1].rejected = 2;
    assert_int_equal(etl_ckpt_to_json(&ck, "T", "2026-11-24T000000Z", &doc, &err), ERR_OK);
    assert_int_equal(etl_ckpt_init(&back, 0, 1, 2, NULL), ERR_OK);
    assert_int_equal(etl_ckpt_from_json(&back, buf_cur(&doc), &err), ERR_OK);
    assert_int_equal(back.unrouted, 3);
    assert_int_equal(back.n_files, 2);
    assert_int_equal(back.files[0].dataset, 0);
    assert_false(back.files[0].rejected);
    assert_int_equal(back.files[1].dataset, 1);
    assert_true(back.files[1].rejected);
    assert_int_equal(back.ds[0].rows, 5);
    assert_int_equal(back.ds[0].rejected, 0);
    assert_int_equal(back.ds[0].filtered, 4);
    assert_int_equal(back.ds[0].schema.items, 1);
    assert_string_equal(buf_cstr(&back.ds[0].dq), "{\"version\":1,\"rows\":9}");
    assert_int_equal(back.ds[1].rows, 0);
    assert_int_equal(back.ds[1].rejected, 2);
    assert_int_equal(back.ds[1].dq.len, 0);
    etl_ckpt_cleanup(&back);
    /* A checkpoint of another number of datasets is refused. */
    assert_int_equal(etl_ckpt_init(&back, 0, 1, 3, NULL), ERR_OK);
    assert_int_equal(etl_ckpt_from_json(&back, buf_cur(&doc), &err), ERR_INVALID_INPUT);
    etl_ckpt_cleanup(&back);
    etl_ckpt_cleanup(&ck);

    /* One dataset with only data rows: the short form, and its rows from its files. */
    assert_int_equal(etl_ckpt_init(&ck, 0, 1, 1, NULL), ERR_OK);
    data.records = 3;
    assert_int_equal(etl_ckpt_add_file(&ck, &data, &err), ERR_OK);
    data.records = 4;
    assert_int_equal(etl_ckpt_add_file(&ck, &data, &err), ERR_OK);
    ck.ds[0].rows = 7;
    buf_reset(&doc);
    assert_int_equal(etl_ckpt_to_json(&ck, "T", "2026-11-24T000000Z", &doc, &err), ERR_OK);
    assert_null(strstr(buf_cstr(&doc), "\"datasets\""));
    assert_int_equal(etl_ckpt_init(&back, 0, 1, 1, NULL), ERR_OK);
    assert_int_equal(etl_ckpt_from_json(&back, buf_cur(&doc), &err), ERR_OK);
    assert_int_equal(back.ds[0].rows, 7);
    etl_ckpt_cleanup(&back);
    etl_ckpt_cleanup(&ck);
    buf_cleanup(&doc);
}

static void test_run_document(void **state)
{
    (void)state;
    struct etl_run run, back;
    struct err err = ERR_INIT;
    memset(&run, 0, sizeof(run));
    snprintf(run.table, sizeof(run.table), "Orders");
    snprintf(run.run_id, sizeof(run.run_id), "2026-11-24T000000Z");
    run.run_ms = 1795478400000LL;
    run.started_ms = 1795478401234LL;
    run.total_segments = 8;
    snprintf(run.format, sizeof(run.format), "rows");
    snprintf(run.hash_key, sizeof(run.hash_key), "pk");
    snprintf(run.range_key, sizeof(run.range_key), "sk");
    run.est_items = 50000;
    run.est_rcu = 1500.5;
    struct buf doc = BUF_INIT(0);
    assert_int_equal(etl_run_to_json(&run, &doc, &err), ERR_OK);
    assert_int_equal(etl_run_from_json(&back, buf_cur(&doc), &err), ERR_OK);
    assert_string_equal(back.table, "Orders");
    assert_int_equal(back.total_segments, 8);
    assert_int_equal(back.run_ms, run.run_ms);
    assert_string_equal(back.range_key, "sk");
    assert_int_equal(back.est_items, 50000);
    assert_non_null(strstr(buf_cstr(&doc), "\"run_time\":\"2026-11-24T00:00:00.000Z\""));
    buf_cleanup(&doc);
}

/* fuzz checkpoint (tests/fuzz/regressions/checkpoint/): a number that does not fit its integer
 * field was cast anyway (also when an earlier member was already bad: second-bad-member), which is
 * undefined (UBSan: "1.84467e+19 is outside the range of representable values"); on x86 the count
 * silently became 0 or 2^63. 1e999 read as infinity and was written back as null, so a rewritten
 * checkpoint said 0 read units. Such a document is no checkpoint we wrote: it is refused, naming
 * the member. */
struct range_row {
    const char *doc;
    const char *member;
};

static const struct range_row ckpt_range_rows[] = {
    {"{\"segment\":2,\"total_segments\":4,\"datasets\":[{\"rows\":18446744073709551616}]}", "rows"},
    {"{\"segment\":2,\"total_segments\":4,\"items\":-1}", "items"},
    {"{\"segment\":2,\"total_segments\":4,\"next_file\":4294967296}", "next_file"},
    {"{\"segment\":2,\"total_segments\":4,\"files\":[{\"key\":\"k\",\"bytes\":1e300}]}", "bytes"},
    {"{\"segment\":1e300,\"total_segments\":4}", "segment"},
    {"{\"segment\":2,\"total_segments\":4,\"consumed_rcu\":1e999}", "consumed_rcu"},
    /* two bad members: the second was returned as it was, and cast (regressions: second-bad);
     * without the fix only the sanitizer build fails (its float-cast-overflow) */
    {"{\"segment\":2,\"total_segments\":4,\"files\":[{\"key\":\"k\",\"records\":58e33,"
     "\"raw_bytes\":1e45}]}",
     "records"},
};

static const struct range_row run_range_rows[] = {
    {"{\"table\":\"T\",\"run_id\":\"r\",\"total_segments\":1,\"run_ms\":1e300}", "run_ms"},
    {"{\"table\":\"T\",\"run_id\":\"r\",\"total_segments\":4294967297}", "total_segments"},
    {"{\"table\":\"T\",\"run_id\":\"r\",\"total_segments\":1,\"estimate\":{\"items\":-1e19}}",
     "items"},
    {"{\"table\":\"T\",\"run_id\":\"r\",\"total_segments\":1,\"estimate\":{\"seconds_at_max_rcu\":-1e999}}",
     "seconds_at_max_rcu"},
};

static void test_numbers_out_of_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ckpt_range_rows) / sizeof(ckpt_range_rows[0]); i++) {
        struct etl_ckpt ck;
        struct err err = ERR_INIT;
        char want[64];
        assert_int_equal(etl_ckpt_init(&ck, 2, 4, 1, NULL), ERR_OK);
        assert_int_equal(etl_ckpt_from_json(&ck, cur_from_str(ckpt_range_rows[i].doc), &err),
                         ERR_INVALID_INPUT);
        snprintf(want, sizeof(want), "\"%s\" is not a number", ckpt_range_rows[i].member);
        if (strstr(err.msg, want) == NULL) {
            fail_msg("%s: %s", ckpt_range_rows[i].doc, err.msg);
        }
        etl_ckpt_cleanup(&ck);
    }
    for (size_t i = 0; i < sizeof(run_range_rows) / sizeof(run_range_rows[0]); i++) {
        struct etl_run run;
        struct err err = ERR_INIT;
        char want[64];
        assert_int_equal(etl_run_from_json(&run, cur_from_str(run_range_rows[i].doc), &err),
                         ERR_INVALID_INPUT);
        snprintf(want, sizeof(want), "\"%s\" is not a number", run_range_rows[i].member);
        if (strstr(err.msg, want) == NULL) {
            fail_msg("%s: %s", run_range_rows[i].doc, err.msg);
        }
    }
}

/* fuzz checkpoint (tests/fuzz/regressions/checkpoint/schema-count-past-uint64): a checkpoint's
 * schema counts were cast from cJSON's doubles unchecked, which is undefined past uint64_t (UBSan
 * at etl_schema.c:282, "1.01845e+21 is outside the range of representable values"). */
static void test_schema_counts_out_of_range(void **state)
{
    (void)state;
    static const struct {
        const char *doc;
        const char *msg;
    } rows[] = {
        {"{\"items\":1e21,\"attributes\":[]}", "schema: \"items\" is not a count"},
        {"{\"items\":-1,\"attributes\":[]}", "schema: \"items\" is not a count"},
        {"{\"items\":1,\"attributes\":[{\"name\":\"pk\",\"types\":{\"S\":1e21}}]}",
         "attribute \"pk\": types.S is not a count"},
        {"{\"items\":1,\"attributes\":[{\"name\":\"n\",\"types\":{\"N\":-1e999}}]}",
         "attribute \"n\": types.N is not a count"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct etl_schema s;
        struct err err = ERR_INIT;
        etl_schema_init(&s);
        assert_int_equal(etl_schema_from_json(&s, cur_from_str(rows[i].doc), &err),
                         ERR_INVALID_INPUT);
        if (strstr(err.msg, rows[i].msg) == NULL) {
            fail_msg("%s: %s", rows[i].doc, err.msg);
        }
        etl_schema_cleanup(&s);
    }
}

struct runid_row {
    const char *name;
    const char *time;
    enum err_code code;
    const char *run_id;
};

static const struct runid_row runid_rows[] = {
    {"eventbridge", "2026-11-24T00:00:00Z", ERR_OK, "2026-11-24T000000Z"},
    {"fraction_dropped", "2026-11-24T13:05:09.999Z", ERR_OK, "2026-11-24T130509Z"},
    {"offset", "2026-11-24T01:00:00+01:00", ERR_OK, "2026-11-24T000000Z"},
    {"garbage", "yesterday", ERR_INVALID_INPUT, NULL},
};

static void test_runid_row(void **state)
{
    const struct runid_row *row = *state;
    char id[ETL_RUN_ID_MAX];
    int64_t ms = 0, back = 0;
    struct err err = ERR_INIT;
    assert_int_equal(etl_run_id_from_time(row->time, id, &ms, &err), row->code);
    if (row->code == ERR_OK) {
        assert_string_equal(id, row->run_id);
        assert_int_equal(etl_run_id_parse(id, &back, &err), ERR_OK);
        assert_int_equal(back, ms);
    }
}

static void test_runid_parse_rejects(void **state)
{
    (void)state;
    int64_t ms;
    struct err err = ERR_INIT;
    assert_int_equal(etl_run_id_parse("2026-02-30T000000Z", &ms, &err), ERR_INVALID_INPUT);
    assert_int_equal(etl_run_id_parse("2026-11-24T00:00:00Z", &ms, &err), ERR_INVALID_INPUT);
    assert_int_equal(etl_run_id_parse("../../etc", &ms, &err), ERR_INVALID_INPUT);
    assert_int_equal(etl_run_id_parse(NULL, &ms, &err), ERR_INVALID_INPUT);
}

static void ddl_setup(struct etl_config *cfg, const char *tmpl, struct etl_schema *s)
{
    char partition[160];
    snprintf(partition, sizeof(partition), "ETL_PARTITION=%s", tmpl);
    char *env[] = {"ETL_OUTPUT=s3://lake/raw/", partition, NULL};
    struct err err = ERR_INIT;
    assert_int_equal(etl_config_load(cfg, env, &err), ERR_OK);
    etl_schema_init(s);
    observe(
        s,
        "{\"Order Id\":{\"S\":\"a\"},\"it's\":{\"N\":\"1.5\"},\"_op\":{\"S\":\"x\"},\"ORDER ID\":{\"S\":\"b\"},\"sk\":{\"N\":\"7\"}}");
}

struct proj_row {
    const char *name;
    const char *tmpl;
    const char *expect[4];
};

static const struct proj_row proj_rows[] = {
    {"default",
     "dt=%Y-%m-%d/hour=%H",
     {"PARTITIONED BY (`dt` string, `hour` string)", "'projection.dt.format' = 'yyyy-MM-dd'",
      "'projection.hour.type' = 'integer'",
      "'storage.location.template' = 's3://lake/raw/Orders/changes/dt=${dt}/hour=${hour}/'"}},
    {"hourly_date",
     "dh=%Y-%m-%d-%H",
     {"'projection.dh.format' = 'yyyy-MM-dd-HH'", "'projection.dh.interval.unit' = 'HOURS'",
      "'projection.dh.range' = '2015-01-01-00,NOW+1HOURS'", "changes/dh=${dh}/'"}},
    {"unnamed_segments",
     "%Y/%m/%d",
     {"PARTITIONED BY (`p1` string, `p2` string, `p3` string)", "'projection.p1.format' = 'yyyy'",
      "'projection.p2.type' = 'integer'", "changes/${p1}/${p2}/${p3}/'"}},
    {"literal_letters",
     "y%Yq",
     {"'projection.p1.format' = '''y''yyyy''q'''", "PARTITIONED BY (`p1` string)",
      "changes/${p1}/'", "'projection.p1.interval.unit' = 'YEARS'"}},
};

static void test_proj_row(void **state)
{
    const struct proj_row *row = *state;
    struct etl_config cfg;
    struct etl_schema s;
    ddl_setup(&cfg, row->tmpl, &s);
    struct etl_ddl_ctx ctx = {cfg.enc.format,   &cfg.partition, "Orders",
                              "s3://lake/raw/", "Order Id",     ""};
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_ddl_changes(&out, &ctx, &s, &err), ERR_OK);
    for (int i = 0; i < 4 && row->expect[i] != NULL; i++) {
        if (strstr(buf_cstr(&out), row->expect[i]) == NULL) {
            fail_msg("missing <%s> in:\n%s", row->expect[i], buf_cstr(&out));
        }
    }
    etl_schema_cleanup(&s);
    buf_cleanup(&out);
}

/* The model the DDL and the Glue catalog share: names, columns, SerDe, location, projection,
 * and partition paths split into the values of its partition columns. */
static void test_ddl_table_model(void **state)
{
    (void)state;
    struct etl_config cfg;
    struct etl_schema s;
    ddl_setup(&cfg, "dt=%Y-%m-%d/hour=%H", &s);
    struct etl_ddl_ctx ctx = {cfg.enc.format,   &cfg.partition, "Orders-2024",
                              "s3://lake/raw/", "Order Id",     "sk"};
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    assert_int_equal(etl_ddl_changes_table(&ctx, &s, &t, &err), ERR_OK);
    assert_string_equal(t.name, "orders_2024_changes");
    assert_string_equal(t.location, "s3://lake/raw/Orders-2024/changes/");
    assert_string_equal(t.serde->library, "org.openx.data.jsonserde.JsonSerDe");
    assert_int_equal(t.n_parts, 2);
    assert_string_equal(t.parts[1].name, "hour");
    assert_string_equal(t.props[0].key, "projection.enabled");
    assert_string_equal(t.props[t.n_props - 1].key, "storage.location.template");
    assert_string_equal(t.props[t.n_props - 1].value,
                        "s3://lake/raw/Orders-2024/changes/dt=${dt}/hour=${hour}/");
    bool has_op = false;
    for (size_t i = 0; i < t.n_cols; i++) {
        has_op = has_op || strcmp(t.cols[i].name, "_op") == 0;
    }
    assert_true(has_op);
    char values[ETL_DDL_MAX_PART_COLS][ETL_PARTITION_MAX];
    assert_true(etl_ddl_partition_values(&t, "dt=2026-01-02/hour=05", values, 16));
    assert_string_equal(values[0], "2026-01-02");
    assert_string_equal(values[1], "05");
    assert_false(etl_ddl_partition_values(&t, "dt=2026-01-02", values, 16));
    assert_false(etl_ddl_partition_values(&t, "dt=2026-01-02/hr=05", values, 16));
    assert_false(etl_ddl_partition_values(&t, "dt=2026-01-02/hour=05/x", values, 16));
    assert_false(etl_ddl_partition_values(&t, "dt=2026-01-02/hour=05", values, 1));
    etl_ddl_table_cleanup(&t);
    assert_int_equal(etl_ddl_snapshot_table(&ctx, &s, &t, &err), ERR_OK);
    assert_string_equal(t.name, "orders_2024_snapshot");
    assert_string_equal(t.location, "s3://lake/raw/Orders-2024/snapshots/");
    assert_true(etl_ddl_partition_values(&t, "run=2026-11-24T000000Z", values, 16));
    assert_string_equal(values[0], "2026-11-24T000000Z");
    etl_ddl_table_cleanup(&t);
    etl_ddl_table_cleanup(&t); /* a cleaned-up model is zeroed */
    etl_schema_cleanup(&s);
}

static void test_ddl_names_and_views(void **state)
{
    (void)state;
    struct etl_config cfg;
    struct etl_schema s;
    ddl_setup(&cfg, "dt=%Y-%m-%d/hour=%H", &s);
    struct etl_ddl_ctx ctx = {cfg.enc.format,   &cfg.partition, "Orders-2024",
                              "s3://lake/raw/", "Order Id",     "sk"};
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_ddl_snapshot(&out, &ctx, &s, &err), ERR_OK);
    const char *ddl = buf_cstr(&out);
    /* Names Athena cannot take are sanitised, unique, and mapped back to the JSON keys. */
    assert_non_null(strstr(ddl, "`orders_2024_snapshot`"));
    assert_non_null(strstr(ddl, "`order_id` string"));
    assert_non_null(strstr(ddl, "`order_id_2` string"));
    assert_non_null(strstr(ddl, "'mapping.order_id' = 'ORDER ID'"));
    assert_non_null(strstr(ddl, "'mapping.order_id_2' = 'Order Id'"));
    assert_non_null(strstr(ddl, "'mapping.it_s' = 'it''s'"));
    assert_non_null(strstr(ddl, "`it_s` decimal(38,1)"));
    assert_non_null(strstr(ddl, "`_item_op` string")); /* the item's own _op */
    assert_non_null(strstr(ddl, "`_op` string"));
    assert_non_null(strstr(ddl, "'projection.run.type' = 'injected'"));
    buf_reset(&out);
    assert_int_equal(
        etl_ddl_current_view(&out, &ctx, &s, "2026-11-24T000000Z", 1795478400000LL, &err), ERR_OK);
    const char *view = buf_cstr(&out);
    assert_non_null(strstr(view, "CREATE OR REPLACE VIEW `orders_2024_current`"));
    assert_non_null(strstr(view, "PARTITION BY `order_id`, `sk`"));
    assert_non_null(strstr(view, "ORDER BY lpad(`_seq`, 40, '0') DESC"));
    assert_non_null(strstr(view, "`_ts` >= '2026-11-24T00:00:00.000Z' AND `dt` >= '2026-11-24'"));
    assert_non_null(strstr(view, "l.`order_id` = s.`order_id` AND l.`sk` = s.`sk`"));
    assert_non_null(strstr(view, "WHERE `_op` <> 'REMOVE'"));
    /* CSV output gets an explanation instead of a table that cannot fit. */
    ctx.format = etl_format_find("csv");
    buf_reset(&out);
    assert_int_equal(etl_ddl_snapshot(&out, &ctx, &s, &err), ERR_OK);
    assert_null(strstr(buf_cstr(&out), "CREATE"));
    etl_schema_cleanup(&s);
    buf_cleanup(&out);
}

/* Parquet: the Parquet SerDe, the types the files hold (the type rule of etl_fmt_parquet.c:
 * numbers string, binary binary, sets arrays, mixed types string, _ts timestamp), no mapping.*,
 * and the view comparing _ts with a TIMESTAMP literal. */
static void test_ddl_parquet(void **state)
{
    (void)state;
    struct etl_config cfg;
    struct etl_schema s;
    ddl_setup(&cfg, "dt=%Y-%m-%d/hour=%H", &s);
    observe(&s, "{\"Order Id\":{\"S\":\"c\"},\"sk\":{\"N\":\"8\"},\"b\":{\"B\":\"AA==\"},"
                "\"t\":{\"SS\":[\"x\"]},\"bs\":{\"BS\":[\"AA==\"]},\"m\":{\"M\":{}},"
                "\"mixed\":{\"BOOL\":true},\"ok\":{\"BOOL\":false}}");
    observe(&s, "{\"Order Id\":{\"S\":\"d\"},\"sk\":{\"N\":\"9\"},\"mixed\":{\"S\":\"no\"}}");
    struct etl_ddl_ctx ctx = {&etl_fmt_parquet, &cfg.partition, "Orders",
                              "s3://lake/raw/", "Order Id",     "sk"};
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_ddl_snapshot(&out, &ctx, &s, &err), ERR_OK);
    const char *ddl = buf_cstr(&out);
    static const char *const want[] = {
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'",
        "INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'",
        "`sk` string",
        "`it_s` string",
        "`b` binary",
        "`t` array<string>",
        "`bs` array<binary>",
        "`m` string",
        "`mixed` string",
        "`ok` boolean",
        "`_ts` timestamp",
        "`_op` string",
        "`_ttl_delete` boolean"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (strstr(ddl, want[i]) == NULL) {
            fail_msg("missing <%s> in:\n%s", want[i], ddl);
        }
    }
    assert_null(strstr(ddl, "mapping."));
    buf_reset(&out);
    assert_int_equal(etl_ddl_changes(&out, &ctx, &s, &err), ERR_OK);
    assert_non_null(strstr(buf_cstr(&out), "ParquetHiveSerDe"));
    assert_non_null(strstr(buf_cstr(&out), "`_ts` timestamp"));
    buf_reset(&out);
    assert_int_equal(
        etl_ddl_current_view(&out, &ctx, &s, "2026-11-24T000000Z", 1795478400000LL, &err), ERR_OK);
    assert_non_null(strstr(buf_cstr(&out), "`_ts` >= TIMESTAMP '2026-11-24 00:00:00.000' AND"));
    /* Declared types the Parquet writer honours reach the DDL as the files hold them; the others,
     * and a declared type the values do not fit, follow the rule. */
    const struct etl_ddl_declared decl[] = {
        {"sk", "decimal(12,2)"}, {"ok", "boolean"}, {"m", "double"}, {"Order Id", "bigint"}};
    ctx.declared = decl;
    ctx.n_declared = 4;
    buf_reset(&out);
    assert_int_equal(etl_ddl_snapshot(&out, &ctx, &s, &err), ERR_OK);
    static const char *const want_declared[] = {"`sk` decimal(12,2)", "`ok` boolean", "`m` string",
                                                "`it_s` string"};
    for (size_t i = 0; i < sizeof(want_declared) / sizeof(want_declared[0]); i++) {
        if (strstr(buf_cstr(&out), want_declared[i]) == NULL) {
            fail_msg("missing <%s> in:\n%s", want_declared[i], buf_cstr(&out));
        }
    }
    etl_schema_cleanup(&s);
    buf_cleanup(&out);
}

/* An item with _op, _item_op, _seq and _item_seq: four columns, each mapped to its own key. */
static void test_ddl_meta_clash(void **state)
{
    (void)state;
    struct etl_config cfg;
    struct etl_schema s;
    ddl_setup(&cfg, "dt=%Y-%m-%d/hour=%H", &s);
    etl_schema_reset(&s);
    observe(&s, "{\"pk\":{\"S\":\"k\"},\"_op\":{\"S\":\"a\"},\"_item_op\":{\"S\":\"b\"},"
                "\"_seq\":{\"N\":\"1\"},\"_item_seq\":{\"N\":\"2\"}}");
    assert_non_null(attr(&s, "_op"));
    assert_non_null(attr(&s, "_item_op"));
    assert_non_null(attr(&s, "_seq"));
    assert_non_null(attr(&s, "_item_seq"));
    struct etl_ddl_ctx ctx = {cfg.enc.format, &cfg.partition, "T", "s3://lake/raw/", "pk", ""};
    struct buf out = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(etl_ddl_snapshot(&out, &ctx, &s, &err), ERR_OK);
    const char *ddl = buf_cstr(&out);
    assert_non_null(strstr(ddl, "`_item_op` string"));
    assert_non_null(strstr(ddl, "`_item_item_op` string"));
    assert_non_null(strstr(ddl, "`_item_seq` bigint"));
    assert_non_null(strstr(ddl, "`_item_item_seq` bigint"));
    assert_null(strstr(ddl, "_2`")); /* no column renamed apart from a clash */
    etl_schema_cleanup(&s);
    buf_cleanup(&out);
}

static void test_rate_limiter(void **state)
{
    (void)state;
    struct etl_rate r;
    etl_rate_init(&r, 100, 0);
    assert_int_equal(etl_rate_wait_ms(&r, 0), 0);
    etl_rate_consume(&r, 300, 0); /* 200 over the one-second bucket */
    assert_int_equal(etl_rate_wait_ms(&r, 0), 2001);
    assert_int_equal(etl_rate_wait_ms(&r, 1000), 1001);
    assert_int_equal(etl_rate_wait_ms(&r, 2001), 0);
    /* Idle time refills at most one second of budget. */
    etl_rate_consume(&r, 100, 100000);
    assert_int_equal(etl_rate_wait_ms(&r, 100000), 0);
    etl_rate_consume(&r, 1, 100000);
    assert_true(etl_rate_wait_ms(&r, 100000) > 0);
    etl_rate_cleanup(&r);
    etl_rate_init(&r, 0, 0); /* unlimited */
    etl_rate_consume(&r, 1e9, 0);
    assert_int_equal(etl_rate_wait_ms(&r, 0), 0);
    etl_rate_cleanup(&r);
}

int main(void)
{
    enum { NR = sizeof(runid_rows) / sizeof(runid_rows[0]) };
    enum { NP = sizeof(proj_rows) / sizeof(proj_rows[0]) };
    struct CMUnitTest tests[NR + NP + 16];
    size_t n = 0;
    for (size_t i = 0; i < NR; i++) {
        tests[n++] = (struct CMUnitTest){runid_rows[i].name, test_runid_row, NULL, NULL,
                                         (void *)&runid_rows[i]};
    }
    for (size_t i = 0; i < NP; i++) {
        tests[n++] = (struct CMUnitTest){proj_rows[i].name, test_proj_row, NULL, NULL,
                                         (void *)&proj_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_schema_types);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_schema_many_attributes);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_schema_bounded);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_schema_document_ranges);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_checkpoint_round_trip);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_checkpoint_datasets_round_trip);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_run_document);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_numbers_out_of_range);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_schema_counts_out_of_range);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_runid_parse_rejects);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ddl_names_and_views);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ddl_parquet);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ddl_table_model);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ddl_meta_clash);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_rate_limiter);
    return _cmocka_run_group_tests("snapshot", tests, n, NULL, NULL);
}
