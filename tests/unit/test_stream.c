/*
 * test_stream.c - the stream pipeline through the in-memory S3: a batch becomes change objects
 * named by table, partition and sequence range, holding exactly the expected rows; splitting,
 * quarantine, the partial batch response after failed writes (earliest unwritten record, nothing
 * earlier), idempotent retries, name clashes, the deadline margin, and file:// output.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etl_catalog.h"
#include "etl_stream.h"
#include "etl_test_env.h"

#define T0  1764028800LL /* 2025-11-25T00:00:00Z */
#define H00 "dt=2025-11-25/hour=00/"
#define H01 "dt=2025-11-25/hour=01/"

/* ---- the batch most tests use: two tables, two hours, every row shape ---------------------- */

static const struct ete_rec batch[] = {
    {"Orders", "INSERT", "100000000000000000401", T0 + 10, "{\"pk\":{\"S\":\"order#1\"}}",
     "{\"pk\":{\"S\":\"order#1\"},\"amount\":{\"N\":\"-73657792312365692305226003216494168142\"},"
     "\"price\":{\"N\":\"12.50\"},\"blob\":{\"B\":\"AAEqQQ==\"},\"tags\":{\"SS\":[\"a\",\"b\"]},"
     "\"address\":{\"M\":{\"city\":{\"S\":\"Z\\u00fcrich\"}}}}",
     false},
    {"Users", "INSERT", "100000000000000000402", T0 + 20, "{\"id\":{\"N\":\"7\"}}",
     "{\"id\":{\"N\":\"+7\"},\"name\":{\"S\":\"Ann\"}}", false},
    {"Orders", "MODIFY", "100000000000000000403", T0 + 3605, "{\"pk\":{\"S\":\"order#2\"}}",
     "{\"pk\":{\"S\":\"order#2\"},\"price\":{\"N\":\"007.25\"},\"_op\":{\"S\":\"mine\"}}", false},
    {"Orders", "REMOVE", "100000000000000000404", T0 + 3599, "{\"pk\":{\"S\":\"order#3\"}}",
     "{\"pk\":{\"S\":\"order#3\"},\"qty\":{\"N\":\".5\"}}", true},
    {"Users", "REMOVE", "100000000000000000405", T0 + 5400, "{\"id\":{\"N\":\"8\"}}", NULL, false},
    {"Orders", "INSERT", "100000000000000000406", T0 + 4200, "{\"pk\":{\"S\":\"order#4\"}}",
     "{\"note\":{\"S\":\"key from Keys\"}}", false},
};
#define BATCH_N (sizeof(batch) / sizeof(batch[0]))

struct expected_object {
    const char *key;
    const char *text;
};

/* What the batch must write: one object per (table, hour), rows in stream order. */
static const struct expected_object batch_objects[] = {
    {"Orders/changes/" H00 "100000000000000000401-100000000000000000404.jsonl.gz",
     "{\"pk\":\"order#1\",\"amount\":-73657792312365692305226003216494168142,\"price\":12.50,"
     "\"blob\":\"AAEqQQ==\",\"tags\":[\"a\",\"b\"],\"address\":{\"city\":\"Z\\u00fcrich\"},"
     "\"_op\":\"INSERT\",\"_seq\":\"100000000000000000401\",\"_ts\":\"2025-11-25T00:00:10.000Z\","
     "\"_table\":\"Orders\",\"_event_id\":\"ev-100000000000000000401\"}\n"
     "{\"pk\":\"order#3\",\"qty\":0.5,\"_op\":\"REMOVE\",\"_seq\":\"100000000000000000404\","
     "\"_ts\":\"2025-11-25T00:59:59.000Z\",\"_table\":\"Orders\","
     "\"_event_id\":\"ev-100000000000000000404\",\"_ttl_delete\":true}\n"},
    {"Users/changes/" H00 "100000000000000000402-100000000000000000402.jsonl.gz",
     "{\"id\":7,\"name\":\"Ann\",\"_op\":\"INSERT\",\"_seq\":\"100000000000000000402\","
     "\"_ts\":\"2025-11-25T00:00:20.000Z\",\"_table\":\"Users\","
     "\"_event_id\":\"ev-100000000000000000402\"}\n"},
    {"Orders/changes/" H01 "100000000000000000403-100000000000000000406.jsonl.gz",
     "{\"pk\":\"order#2\",\"price\":7.25,\"_item_op\":\"mine\",\"_op\":\"MODIFY\","
     "\"_seq\":\"100000000000000000403\",\"_ts\":\"2025-11-25T01:00:05.000Z\","
     "\"_table\":\"Orders\",\"_event_id\":\"ev-100000000000000000403\"}\n"
     "{\"pk\":\"order#4\",\"note\":\"key from Keys\",\"_op\":\"INSERT\","
     "\"_seq\":\"100000000000000000406\",\"_ts\":\"2025-11-25T01:10:00.000Z\","
     "\"_table\":\"Orders\",\"_event_id\":\"ev-100000000000000000406\"}\n"},
    {"Users/changes/" H01 "100000000000000000405-100000000000000000405.jsonl.gz",
     "{\"id\":8,\"_op\":\"REMOVE\",\"_seq\":\"100000000000000000405\","
     "\"_ts\":\"2025-11-25T01:30:00.000Z\",\"_table\":\"Users\","
     "\"_event_id\":\"ev-100000000000000000405\",\"_ttl_delete\":false}\n"},
};
#define BATCH_OBJECTS (sizeof(batch_objects) / sizeof(batch_objects[0]))

/* One invocation's worth of the pipeline: the event text, the stream and its answer. */
struct run {
    struct buf event;
    struct etl_event ev;
    struct etl_stream stream;
    struct buf response;
    struct etl_stream_stats st;
    struct err err;
};

static void run_init(struct run *r, struct etl_test_env *e, const struct ete_rec *recs, size_t n)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->event, 0);
    buf_init(&r->response, 0);
    ete_stream_event(recs, n, &r->event);
    ete_parse_event(&r->event, &r->ev);
    etl_stream_init(&r->stream, &e->cfg.stream, &e->sink, &e->fs.sys);
}

/* The same for an event written out in full (text must outlive r). */
static void run_init_text(struct run *r, struct etl_test_env *e, const char *text)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->event, 0);
    buf_init(&r->response, 0);
    assert_int_equal(etl_event_parse(cur_from_str(text), &r->ev, &r->err), ERR_OK);
    etl_stream_init(&r->stream, &e->cfg.stream, &e->sink, &e->fs.sys);
}

/* Processes the batch (again); deadline is monotonic, 0 for none. */
static enum err_code run_process(struct run *r, int64_t deadline)
{
    buf_reset(&r->response);
    err_clear(&r->err);
    return etl_stream_process(&r->stream, etl_event_records_walk, &r->ev, deadline, &r->response,
                              &r->st, &r->err);
}

static void run_cleanup(struct run *r)
{
    etl_stream_cleanup(&r->stream);
    buf_cleanup(&r->event);
    buf_cleanup(&r->response);
}

/* Rows in an expected object's text. */
static size_t rows_in(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p != '\0'; p++) {
        n += *p == '\n';
    }
    return n;
}

static void assert_object_text(struct etl_test_env *e, const char *key, const char *want)
{
    struct buf text = BUF_INIT(0);
    ete_text(e, key, &text);
    assert_string_equal(buf_cstr(&text), want);
    buf_cleanup(&text);
}

static bool ends_with_str(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- layout and rows ------------------------------------------------------------------------ */

/* Two tables over two hours: four objects, named by first and last sequence number, with every
 * digit of every number, the metadata columns, and nothing else in the bucket. */
static void test_two_tables_two_hours(void **state)
{
    (void)state;
    struct etl_test_env *e = ete_new(NULL);
    struct run r;
    run_init(&r, e, batch, BATCH_N);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(ete_count(e, ""), BATCH_OBJECTS);
    for (size_t i = 0; i < BATCH_OBJECTS; i++) {
        assert_object_text(e, batch_objects[i].key, batch_objects[i].text);
        char type[64];
        char full[512];
        snprintf(full, sizeof(full), ETE_PREFIX "%s", batch_objects[i].key);
        assert_true(
            fake_s3_object_header(e->s3, ETE_BUCKET, full, "Content-Type", type, sizeof(type)));
        assert_string_equal(type, "application/gzip");
    }
    assert_int_equal(r.st.records_in, BATCH_N);
    assert_int_equal(r.st.records_out, BATCH_N);
    assert_int_equal(r.st.records_failed, 0);
    assert_int_equal(r.st.objects_written, BATCH_OBJECTS);
    /* One request per new object: a PutObject that S3 only performs if the key is free. */
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), BATCH_OBJECTS);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_HEAD_OBJECT), 0);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_GET_OBJECT), 0);
    for (size_t i = 0; i < e->fh->n_reqs; i++) {
        const char *cond = fake_request_header(&e->fh->reqs[i], "If-None-Match");
        assert_non_null(cond);
        assert_string_equal(cond, "*");
    }
    assert_int_equal(r.st.oldest_ts_ms, (T0 + 10) * 1000);
    assert_string_equal(r.st.failed_seq, "");
    run_cleanup(&r);
    ete_free(e);
}

struct split_row {
    const char *name;
    const char *max_records; /* ETL_MAX_OBJECT_RECORDS=... */
    const char *keys[3];
    size_t lines[3];
};

static const struct split_row split_rows[] = {
    {"split_max_records_2",
     "ETL_MAX_OBJECT_RECORDS=2",
     {"Orders/changes/" H00 "201-202.jsonl.gz", "Orders/changes/" H00 "203-204.jsonl.gz",
      "Orders/changes/" H00 "205-205.jsonl.gz"},
     {2, 2, 1}},
    {"split_max_records_5",
     "ETL_MAX_OBJECT_RECORDS=5",
     {"Orders/changes/" H00 "201-205.jsonl.gz"},
     {5}},
};

/* n records of one table and hour, sequence numbers 201, 202, ...; rows of 160 bytes. */
static void same_group(struct ete_rec *recs, char (*seqs)[8], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(seqs[i], sizeof(seqs[i]), "%zu", 201 + i);
        recs[i] = (struct ete_rec){
            "Orders",
            "INSERT",
            seqs[i],
            T0 + (int64_t)i,
            "{\"pk\":{\"S\":\"k\"}}",
            "{\"pk\":{\"S\":\"k\"},\"pad\":{\"S\":\"0123456789012345678901234567890123456789\"}}",
            false};
    }
}

/* The objects' rows are the group's rows, in order, each once: object k starts at row `seen`. */
static size_t
assert_rows_in_order(struct etl_test_env *e, const char *key, size_t seen, size_t *len)
{
    struct buf text = BUF_INIT(0);
    ete_text(e, key, &text);
    char want[64];
    snprintf(want, sizeof(want), "\"_seq\":\"%zu\"", 201 + seen);
    assert_non_null(strstr(buf_cstr(&text), want));
    size_t lines = ete_lines(&text);
    *len = text.len;
    buf_cleanup(&text);
    return lines;
}

static void test_split_row(void **state)
{
    const struct split_row *row = *state;
    const char *vars[] = {row->max_records, NULL};
    struct etl_test_env *e = ete_new(vars);
    struct ete_rec recs[5];
    char seqs[5][8];
    same_group(recs, seqs, 5);
    struct run r;
    run_init(&r, e, recs, 5);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    size_t n_keys = 0;
    while (n_keys < 3 && row->keys[n_keys] != NULL) {
        n_keys++;
    }
    assert_int_equal(ete_count(e, ""), n_keys);
    size_t seen = 0, len = 0;
    for (size_t k = 0; k < n_keys; k++) {
        size_t lines = assert_rows_in_order(e, row->keys[k], seen, &len);
        assert_int_equal(lines, row->lines[k]);
        seen += lines;
    }
    assert_int_equal(seen, 5);
    assert_int_equal(r.st.objects_written, n_keys);
    run_cleanup(&r);
    ete_free(e);
}

/* More records than Lambda sends in one batch (10,000; a local event may hold more): the
 * records' room grows past its first reserve twice, and every row is written. */
static void test_more_records_than_lambda_sends(void **state)
{
    (void)state;
    enum { N = 20001 };
    struct etl_test_env *e = ete_new(NULL);
    struct ete_rec *recs = calloc(N, sizeof(*recs));
    char(*seqs)[8] = calloc(N, sizeof(*seqs));
    assert_non_null(recs);
    assert_non_null(seqs);
    same_group(recs, seqs, N);
    struct run r;
    run_init(&r, e, recs, N);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(r.st.records_in, N);
    assert_int_equal(r.st.records_out, N);
    assert_int_equal(r.st.quarantined, 0);
    run_cleanup(&r);
    free(recs);
    free(seqs);
    ete_free(e);
}

/* ETL_MAX_OBJECT_BYTES: no object's uncompressed text is over the limit, and every row is in one
 * of them, in order. (The limit is applied to the rows' in-memory size, which is larger than
 * their JSON text, so objects come out smaller than the limit allows: see the report of #9.) */
static void test_split_by_bytes(void **state)
{
    (void)state;
    const char *vars[] = {"ETL_MAX_OBJECT_BYTES=1024", NULL};
    struct etl_test_env *e = ete_new(vars);
    struct ete_rec recs[7];
    char seqs[7][8];
    same_group(recs, seqs, 7);
    struct run r;
    run_init(&r, e, recs, 7);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    size_t n_keys = ete_count(e, "");
    assert_true(n_keys >= 2);
    size_t seen = 0, len = 0;
    for (size_t k = 0; k < n_keys; k++) {
        seen += assert_rows_in_order(e, ete_key(e, "", k), seen, &len);
        assert_true(len <= 1024);
    }
    assert_int_equal(seen, 7);
    run_cleanup(&r);
    ete_free(e);
}

/* ---- quarantine --------------------------------------------------------------------------- */

struct quarantine_row {
    const char *name;
    const char *op;
    const char *image; /* NULL: none */
    const char *error; /* part of the quarantined line's error */
    bool no_keys;      /* the record has no Keys either */
};

static const struct quarantine_row quarantine_rows[] = {
    {"quarantine_40_digits", "INSERT",
     "{\"pk\":{\"S\":\"b\"},\"price\":{\"N\":\"1234567890123456789012345678901234567891\"}}",
     "attribute \\\"price\\\": N has 40 significant digits (max 38)"},
    {"quarantine_bad_base64", "INSERT", "{\"pk\":{\"S\":\"b\"},\"blob\":{\"B\":\"A\"}}", "blob"},
    {"quarantine_unknown_type", "INSERT", "{\"pk\":{\"S\":\"b\"},\"x\":{\"Q\":\"1\"}}", "x"},
    {"quarantine_bad_event_name", "UPSERT", "{\"pk\":{\"S\":\"b\"}}",
     "eventName is not INSERT, MODIFY or REMOVE"},
    {"quarantine_no_image_no_keys", "INSERT", NULL, "record has neither NewImage nor Keys", true},
    {"quarantine_remove_no_image_no_keys", "REMOVE", NULL, "record has neither OldImage nor Keys",
     true},
};

/* A record that cannot be converted goes to _quarantine/{table}/{partition}/ with its error and
 * the raw record, is counted as failed, is logged, and the batch still succeeds. */
static void test_quarantine_row(void **state)
{
    const struct quarantine_row *row = *state;
    struct etl_test_env *e = ete_new(NULL);
    const struct ete_rec recs[] = {
        {"Orders", "INSERT", "601", T0 + 1, "{\"pk\":{\"S\":\"a\"}}", "{\"pk\":{\"S\":\"a\"}}",
         false},
        {"Orders", row->op, "602", T0 + 2, row->no_keys ? NULL : "{\"pk\":{\"S\":\"b\"}}",
         row->image, false},
        {"Orders", "INSERT", "603", T0 + 3, "{\"pk\":{\"S\":\"c\"}}", "{\"pk\":{\"S\":\"c\"}}",
         false},
    };
    struct run r;
    run_init(&r, e, recs, 3);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(ete_count(e, ""), 2);

    struct buf good = BUF_INIT(0), bad = BUF_INIT(0), raw = BUF_INIT(0);
    ete_text(e, "Orders/changes/" H00 "601-603.jsonl.gz", &good);
    assert_int_equal(ete_lines(&good), 2);
    assert_null(strstr(buf_cstr(&good), "\"602\""));

    ete_text(e, "_quarantine/Orders/" H00 "602-602.jsonl.gz", &bad);
    assert_int_equal(ete_lines(&bad), 1);
    ete_assert_contains(buf_cstr(&bad), row->error);
    /* The record as it arrived, byte for byte. */
    ete_stream_event(&recs[1], 1, &raw);
    const char *record = buf_cstr(&raw) + strlen("{\"Records\":[");
    int record_len = (int)(raw.len - strlen("{\"Records\":[") - strlen("]}"));
    char tail[4096];
    snprintf(tail, sizeof(tail), ",\"record\":%.*s}\n", record_len, record);
    assert_true(ends_with_str(buf_cstr(&bad), tail));
    assert_true(strncmp(buf_cstr(&bad), "{\"error\":\"", 10) == 0);

    assert_int_equal(r.st.records_in, 3);
    assert_int_equal(r.st.records_out, 2);
    assert_int_equal(r.st.quarantined, 1);
    assert_int_equal(r.st.records_failed, 1);
    assert_int_equal(ete_log_count(e, "record quarantined"), 1);
    buf_cleanup(&good);
    buf_cleanup(&bad);
    buf_cleanup(&raw);
    run_cleanup(&r);
    ete_free(e);
}

/* ---- failed writes and the partial batch response ------------------------------------------- */

/* Two tables interleaved with two rows per object, so stream order and object order differ:
 * objects in the order written are Orders 301-303, Users 302-304, Orders 305, Users 306. */
static const struct ete_rec interleaved[] = {
    {"Orders", "INSERT", "301", T0 + 1, "{\"pk\":{\"S\":\"a\"}}", "{\"pk\":{\"S\":\"a\"}}", false},
    {"Users", "INSERT", "302", T0 + 2, "{\"id\":{\"N\":\"1\"}}", "{\"id\":{\"N\":\"1\"}}", false},
    {"Orders", "INSERT", "303", T0 + 3, "{\"pk\":{\"S\":\"b\"}}", "{\"pk\":{\"S\":\"b\"}}", false},
    {"Users", "INSERT", "304", T0 + 4, "{\"id\":{\"N\":\"2\"}}", "{\"id\":{\"N\":\"2\"}}", false},
    {"Orders", "INSERT", "305", T0 + 5, "{\"pk\":{\"S\":\"c\"}}", "{\"pk\":{\"S\":\"c\"}}", false},
    {"Users", "INSERT", "306", T0 + 6, "{\"id\":{\"N\":\"3\"}}", "{\"id\":{\"N\":\"3\"}}", false},
};
#define INTERLEAVED_N (sizeof(interleaved) / sizeof(interleaved[0]))

static const char *const interleaved_keys[] = {
    "Orders/changes/" H00 "301-303.jsonl.gz",
    "Users/changes/" H00 "302-304.jsonl.gz",
    "Orders/changes/" H00 "305-305.jsonl.gz",
    "Users/changes/" H00 "306-306.jsonl.gz",
};

struct put_failure_row {
    const char *name;
    size_t failing;        /* index into interleaved_keys */
    int failing2;          /* another failing object, -1: none */
    const char *reported;  /* the itemIdentifier */
    size_t records_failed; /* records of the failing objects */
    bool parallel;         /* objects written at once, each on a connection of its own */
};

static const struct put_failure_row put_failure_rows[] = {
    {"put_fails_first_object", 0, -1, "301", 2, false},
    {"put_fails_second_object", 1, -1, "302", 2, false},
    {"put_fails_third_object", 2, -1, "305", 1, false},
    {"put_fails_last_object", 3, -1, "306", 1, false},
    {"parallel_put_fails_first_object", 0, -1, "301", 2, true},
    {"parallel_put_fails_second_object", 1, -1, "302", 2, true},
    {"parallel_put_fails_third_object", 2, -1, "305", 1, true},
    {"parallel_put_fails_last_object", 3, -1, "306", 1, true},
    /* Two middle objects: the earlier in stream order of their first records is reported. */
    {"parallel_put_fails_two_middle_objects", 2, 1, "302", 3, true},
};

/* PutObject fails (500, every attempt the client makes) for one object: the other objects are
 * still written, and the answer names the earliest record of the unwritten object, which is
 * the earliest record in stream order not durably written; no record before it is reported. */
static void test_put_failure_row(void **state)
{
    const struct put_failure_row *row = *state;
    const char *vars[] = {"ETL_MAX_OBJECT_RECORDS=2", NULL};
    struct etl_test_env *e = ete_new(vars);
    size_t n_failing = row->failing2 >= 0 ? 2 : 1;
    for (size_t f = 0; f < n_failing; f++) {
        char full[512];
        snprintf(full, sizeof(full), ETE_PREFIX "%s",
                 interleaved_keys[f == 0 ? row->failing : (size_t)row->failing2]);
        fake_s3_fail_key(e->s3, FAKE_S3_PUT_OBJECT, full, e->max_attempts, 500, "InternalError");
    }
    struct run r;
    run_init(&r, e, interleaved, INTERLEAVED_N);
    if (row->parallel) {
        etl_stream_set_clients(&r.stream, ete_thread_transport, e);
    }
    assert_int_equal(run_process(&r, 0), ERR_OK);
    char want[128];
    snprintf(want, sizeof(want), "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
             row->reported);
    assert_string_equal(buf_cstr(&r.response), want);
    assert_string_equal(r.st.failed_seq, row->reported);
    assert_int_equal(fake_s3_faults_left(e->s3), 0); /* the client tried every attempt */
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT),
                     4 - n_failing + n_failing * (size_t)e->max_attempts);
    if (!row->parallel) {
        assert_int_equal(ete_requests(e, "PUT", interleaved_keys[row->failing]), e->max_attempts);
    }
    /* Four objects, four threads: the first on the sink's own connection. */
    assert_int_equal(e->thread_transports, row->parallel ? 3 : 0);
    for (size_t k = 0; k < 4; k++) {
        struct buf bytes = BUF_INIT(0);
        bool failed = k == row->failing || (int)k == row->failing2;
        assert_int_equal(ete_get(e, interleaved_keys[k], &bytes), !failed);
        buf_cleanup(&bytes);
    }
    assert_int_equal(r.st.objects_written, 4 - n_failing);
    assert_int_equal(r.st.records_out, INTERLEAVED_N - row->records_failed);
    assert_int_equal(r.st.records_failed, row->records_failed);
    assert_int_equal(ete_log_count(e, "object not written"), n_failing);
    run_cleanup(&r);
    ete_free(e);
}

/* ---- retries and name clashes ------------------------------------------------------------- */

struct retry_row {
    const char *name;
    const char *var; /* how objects are written */
};

static const struct retry_row retry_rows[] = {
    {"retry_writes_nothing", "ETL_S3_CHECKSUM=md5"},
    /* With SSE-KMS the ETag is not the MD5: the check must use the stored x-amz-meta-md5. */
    {"retry_writes_nothing_kms", "ETL_S3_SSE=aws:kms"},
    {"retry_writes_nothing_crc32c", "ETL_S3_CHECKSUM=crc32c"},
};

/* Lambda retrying the same batch: every conditional PutObject is refused (412), the object is
 * then found with the same MD5, nothing is written, and the answer is the same. */
static void test_retry_row(void **state)
{
    const struct retry_row *row = *state;
    const char *vars[] = {row->var, NULL};
    struct etl_test_env *e = ete_new(vars);
    struct run r;
    run_init(&r, e, batch, BATCH_N);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_int_equal(ete_count(e, ""), BATCH_OBJECTS);
    ete_forget(e);

    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), BATCH_OBJECTS); /* each a 412 */
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_HEAD_OBJECT), BATCH_OBJECTS);
    assert_int_equal(ete_count(e, ""), BATCH_OBJECTS);
    for (size_t i = 0; i < BATCH_OBJECTS; i++) {
        assert_object_text(e, batch_objects[i].key, batch_objects[i].text);
    }
    assert_int_equal(r.st.objects_written, 0);
    assert_int_equal(r.st.bytes_written, 0);
    assert_int_equal(r.st.records_out, BATCH_N);
    run_cleanup(&r);
    ete_free(e);
}

/* Two batches that reuse a sequence range (sample events do): the second goes to
 * {first}-{last}-{md5 prefix}, the first object is left as it was, and a retry of the second
 * batch finds its object under that name and writes nothing. */
static void test_same_key_other_bytes(void **state)
{
    (void)state;
    struct etl_test_env *e = ete_new(NULL);
    const struct ete_rec first = {"Orders",
                                  "INSERT",
                                  "500",
                                  T0,
                                  "{\"pk\":{\"S\":\"a\"}}",
                                  "{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}}",
                                  false};
    const struct ete_rec second = {"Orders",
                                   "INSERT",
                                   "500",
                                   T0,
                                   "{\"pk\":{\"S\":\"a\"}}",
                                   "{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"2\"}}",
                                   false};
    const char *key = "Orders/changes/" H00 "500-500.jsonl.gz";
    struct run a, b;
    run_init(&a, e, &first, 1);
    run_init(&b, e, &second, 1);
    assert_int_equal(run_process(&a, 0), ERR_OK);
    struct buf a_bytes = BUF_INIT(0), b_bytes = BUF_INIT(0), after = BUF_INIT(0);
    assert_true(ete_get(e, key, &a_bytes));

    assert_int_equal(run_process(&b, 0), ERR_OK);
    assert_string_equal(buf_cstr(&b.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(ete_count(e, ""), 2);
    assert_true(ete_get(e, key, &after));
    assert_int_equal(after.len, a_bytes.len);
    assert_memory_equal(after.data, a_bytes.data, a_bytes.len); /* never overwritten */
    const char *renamed = ete_key(e, "Orders/changes/" H00 "500-500-", 0);
    assert_non_null(renamed);
    assert_true(ete_get(e, renamed, &b_bytes));
    char md5[33], want[256];
    ete_md5_hex(b_bytes.data, b_bytes.len, md5);
    snprintf(want, sizeof(want), "Orders/changes/" H00 "500-500-%.12s.jsonl.gz", md5);
    assert_string_equal(renamed, want);
    assert_int_equal(ete_log_count(e, "already held other data"), 1);
    struct buf text = BUF_INIT(0);
    ete_text(e, renamed, &text);
    assert_non_null(strstr(buf_cstr(&text), "\"v\":2"));

    ete_forget(e);
    assert_int_equal(run_process(&b, 0), ERR_OK);
    assert_string_equal(buf_cstr(&b.response), "{\"batchItemFailures\":[]}");
    /* Both names are taken (412 each); the second holds these bytes. */
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 2);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_HEAD_OBJECT), 2);
    assert_int_equal(ete_count(e, ""), 2);
    assert_int_equal(b.st.objects_written, 0);
    buf_cleanup(&a_bytes);
    buf_cleanup(&b_bytes);
    buf_cleanup(&after);
    buf_cleanup(&text);
    run_cleanup(&a);
    run_cleanup(&b);
    ete_free(e);
}

/* ---- the deadline ------------------------------------------------------------------------- */

struct deadline_row {
    const char *name;
    const char *margin; /* ETL_DEADLINE_MARGIN_MS=... */
    int64_t left_ms;    /* deadline: now + left_ms (monotonic) */
    int slow_object;    /* object whose PutObject first fails once (a 100 ms backoff), -1: none */
    const char *answer;
    size_t objects; /* written */
};

static const struct deadline_row deadline_rows[] = {
    {"deadline_inside_margin", "ETL_DEADLINE_MARGIN_MS=5000", 3000, -1,
     "{\"batchItemFailures\":[{\"itemIdentifier\":\"100000000000000000401\"}]}", 0},
    {"deadline_passed", "ETL_DEADLINE_MARGIN_MS=0", -1, -1,
     "{\"batchItemFailures\":[{\"itemIdentifier\":\"100000000000000000401\"}]}", 0},
    /* The second object's retry uses up 100 ms: the third starts with 950 ms < 1000 left. */
    {"deadline_reached_mid_batch", "ETL_DEADLINE_MARGIN_MS=1000", 1050, 1,
     "{\"batchItemFailures\":[{\"itemIdentifier\":\"100000000000000000403\"}]}", 2},
    {"deadline_far", "ETL_DEADLINE_MARGIN_MS=1000", 60000, -1, "{\"batchItemFailures\":[]}", 4},
};

/* No object is started with less than the margin left; its records are reported, from the
 * earliest in stream order, and nothing that was not written is acknowledged. */
static void test_deadline_row(void **state)
{
    const struct deadline_row *row = *state;
    const char *vars[] = {row->margin, NULL};
    struct etl_test_env *e = ete_new(vars);
    e->fs.fixed_random = 100; /* a backoff of exactly 100 ms (full jitter of a 100 ms base) */
    if (row->slow_object >= 0) {
        char full[512];
        snprintf(full, sizeof(full), ETE_PREFIX "%s", batch_objects[row->slow_object].key);
        fake_s3_fail_key(e->s3, FAKE_S3_PUT_OBJECT, full, 1, 503, NULL);
    }
    struct run r;
    run_init(&r, e, batch, BATCH_N);
    assert_int_equal(run_process(&r, e->fs.mono_ms + row->left_ms), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), row->answer);
    assert_int_equal(ete_count(e, ""), row->objects);
    assert_int_equal(ete_requests(e, "PUT", NULL), row->objects + (row->slow_object >= 0));
    for (size_t i = 0; i < row->objects; i++) {
        assert_object_text(e, batch_objects[i].key, batch_objects[i].text);
    }
    if (row->slow_object >= 0) {
        assert_int_equal(e->fs.n_sleeps, 1);
        assert_int_equal(e->fs.sleeps[0], 100);
    }
    size_t written = 0;
    for (size_t i = 0; i < row->objects; i++) {
        written += rows_in(batch_objects[i].text);
    }
    assert_int_equal(r.st.records_out, written);
    assert_int_equal(r.st.records_failed, BATCH_N - written);
    assert_int_equal(ete_log_count(e, "deadline near"), row->objects < 4 ? 1 : 0);
    run_cleanup(&r);
    ete_free(e);
}

/* ---- partitions ------------------------------------------------------------------------------ */

struct partition_row {
    const char *name;
    const char *partition;  /* ETL_PARTITION=...; NULL: the default */
    int64_t wall_offset_ms; /* the invocation's time, after ETE_WALL_MS */
    struct ete_rec recs[3];
    const char *key; /* the one object */
};

static const struct partition_row partition_rows[] = {
    {"partition_template",
     "ETL_PARTITION=year=%Y/month=%m/day=%d",
     0,
     {{"Orders", "INSERT", "901", T0 + 30 * 3600, "{\"pk\":{\"S\":\"a\"}}", NULL, false}},
     "Orders/changes/year=2025/month=11/day=26/901-901.jsonl.gz"},
    /* Records without a time go with the batch's first known time: a pure function of the batch. */
    {"partition_missing_times",
     NULL,
     7 * 3600 * 1000,
     {{"Orders", "INSERT", "911", -1, "{\"pk\":{\"S\":\"a\"}}", NULL, false},
      {"Orders", "INSERT", "912", T0 + 3600, "{\"pk\":{\"S\":\"b\"}}", NULL, false},
      {"Orders", "INSERT", "913", -1, "{\"pk\":{\"S\":\"c\"}}", NULL, false}},
     "Orders/changes/" H01 "911-913.jsonl.gz"},
    /* No time at all: the epoch's partition, whenever the batch runs (a retry an hour later
     * writes the same key). */
    {"partition_no_times",
     NULL,
     5 * 3600 * 1000,
     {{"Orders", "INSERT", "921", -1, "{\"pk\":{\"S\":\"a\"}}", NULL, false}},
     "Orders/changes/dt=1970-01-01/hour=00/921-921.jsonl.gz"},
};

static void test_partition_row(void **state)
{
    const struct partition_row *row = *state;
    const char *vars[] = {row->partition, NULL};
    struct etl_test_env *e = ete_new(vars);
    e->fs.wall_ms += row->wall_offset_ms;
    size_t n = 0;
    while (n < 3 && row->recs[n].table != NULL) {
        n++;
    }
    struct run r;
    run_init(&r, e, row->recs, n);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(ete_count(e, ""), 1);
    struct buf text = BUF_INIT(0);
    ete_text(e, row->key, &text);
    assert_int_equal(ete_lines(&text), n);
    for (size_t i = 0; i < n; i++) {
        if (row->recs[i].ts_s < 0) {
            char want[64];
            snprintf(want, sizeof(want), "\"_seq\":\"%s\",\"_ts\":null,", row->recs[i].seq);
            ete_assert_contains(buf_cstr(&text), want);
        }
    }
    buf_cleanup(&text);
    run_cleanup(&r);
    ete_free(e);
}

/* ---- records without a sequence number ---------------------------------------------------- */

/* A record without SequenceNumber cannot be named in batchItemFailures: it is quarantined, and
 * if even that object cannot be written the whole invocation fails (BatchWriteFailed), so that
 * Lambda retries the whole batch instead of skipping it. */
static void test_record_without_sequence_number(void **state)
{
    (void)state;
    const struct ete_rec recs[] = {
        {"Orders", "INSERT", "931", T0, "{\"pk\":{\"S\":\"a\"}}", NULL, false},
        {"Orders", "INSERT", "", T0, "{\"pk\":{\"S\":\"b\"}}", NULL, false},
    };
    const char *quarantine = "_quarantine/Orders/" H00 "noseq-noseq.jsonl.gz";
    for (int fail = 0; fail < 2; fail++) {
        struct etl_test_env *e = ete_new(NULL);
        if (fail) {
            char full[512];
            snprintf(full, sizeof(full), ETE_PREFIX "%s", quarantine);
            fake_s3_fail_key(e->s3, FAKE_S3_PUT_OBJECT, full, e->max_attempts, 503, "SlowDown");
        }
        struct run r;
        run_init(&r, e, recs, 2);
        if (!fail) {
            assert_int_equal(run_process(&r, 0), ERR_OK);
            assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
            struct buf text = BUF_INIT(0);
            ete_text(e, quarantine, &text);
            ete_assert_contains(buf_cstr(&text), "record has no valid dynamodb.SequenceNumber");
            assert_int_equal(r.st.quarantined, 1);
            buf_cleanup(&text);
        } else {
            assert_int_equal(run_process(&r, 0), ERR_TRANSPORT);
            assert_string_equal(rt_error_type(&r.err), "BatchWriteFailed");
            ete_assert_contains(r.err.msg, "Records[1] has no SequenceNumber");
            assert_int_equal(ete_count(e, "Orders/"), 1); /* the other record was written */
        }
        run_cleanup(&r);
        ete_free(e);
    }
}

/* Each record is read in one walk over its members, with the answers json_object_get gives: members
 * in any order, a name spelt with escapes, and the first of two members of one name (a second
 * eventName or dynamodb is ignored). */
static void test_record_members_any_order(void **state)
{
    (void)state;
    struct etl_test_env *e = ete_new(NULL);
    const char *text =
        "{\"Records\":["
        "{\"eventSourceARN\":\"" ETE_ARN "Orders/stream/x\",\"dynamodb\":{\"NewImage\":"
        "{\"pk\":{\"S\":\"a\"},\"note\":{\"S\":\"a value long enough for the index to hold it\"}},"
        "\"SequenceNumber\":\"701\",\"Keys\":{\"pk\":{\"S\":\"a\"}},"
        "\"ApproximateCreationDateTime\":1764028801},\"event\\u004eame\":\"INSERT\","
        "\"eventName\":\"UPSERT\",\"eventSource\":\"aws:dynamodb\"},"
        "{\"eventName\":\"MODIFY\",\"eventSource\":\"aws:dynamodb\",\"dynamodb\":\"not an object\","
        "\"dynamodb\":{\"SequenceNumber\":\"702\",\"Keys\":{\"pk\":{\"S\":\"b\"}}},"
        "\"eventSourceARN\":\"" ETE_ARN "Orders/stream/x\"}]}";
    struct run r;
    run_init_text(&r, e, text);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    struct buf good = BUF_INIT(0), bad = BUF_INIT(0);
    ete_text(e, "Orders/changes/" H00 "701-701.jsonl.gz", &good);
    ete_assert_contains(buf_cstr(&good), "\"_op\":\"INSERT\"");
    ete_assert_contains(buf_cstr(&good), "\"_ts\":\"2025-11-25T00:00:01.000Z\"");
    /* Its SequenceNumber is in the second dynamodb, unread: the name says so. */
    ete_text(e, "_quarantine/Orders/" H00 "noseq-noseq.jsonl.gz", &bad);
    ete_assert_contains(buf_cstr(&bad), "record has no dynamodb object");
    assert_int_equal(r.st.quarantined, 1);
    buf_cleanup(&good);
    buf_cleanup(&bad);
    run_cleanup(&r);
    ete_free(e);
}

/* A SequenceNumber written with escapes ("7\u0030\u0031" is 701) names objects and rows by its
 * digits, as one written plainly does. */
static void test_escaped_sequence_number(void **state)
{
    (void)state;
    struct etl_test_env *e = ete_new(NULL);
    const char *text =
        "{\"Records\":["
        "{\"eventName\":\"INSERT\",\"eventSource\":\"aws:dynamodb\",\"dynamodb\":{"
        "\"ApproximateCreationDateTime\":1764028801,\"Keys\":{\"pk\":{\"S\":\"a\"}},"
        "\"NewImage\":{\"pk\":{\"S\":\"a\"}},\"SequenceNumber\":\"7\\u0030\\u0031\"},"
        "\"eventSourceARN\":\"" ETE_ARN "Orders/stream/x\"},"
        "{\"eventName\":\"INSERT\",\"eventSource\":\"aws:dynamodb\",\"dynamodb\":{"
        "\"ApproximateCreationDateTime\":1764028802,\"Keys\":{\"pk\":{\"S\":\"b\"}},"
        "\"NewImage\":{\"pk\":{\"S\":\"b\"}},\"SequenceNumber\":\"702\"},"
        "\"eventSourceARN\":\"" ETE_ARN "Orders/stream/x\"}]}";
    struct run r;
    run_init_text(&r, e, text);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    struct buf obj = BUF_INIT(0);
    ete_text(e, "Orders/changes/" H00 "701-702.jsonl.gz", &obj);
    ete_assert_contains(buf_cstr(&obj), "\"_seq\":\"701\"");
    ete_assert_contains(buf_cstr(&obj), "\"_seq\":\"702\"");
    buf_cleanup(&obj);
    run_cleanup(&r);
    ete_free(e);
}

/* ---- CSV ---------------------------------------------------------------------------------- */

/* ETL_FORMAT=csv: RFC 4180 with CRLF, a header of the object's columns in first-seen order,
 * nested values as JSON text, NULL and missing values empty; quarantine stays JSON Lines. */
static void test_csv_objects(void **state)
{
    (void)state;
    const char *vars[] = {"ETL_FORMAT=csv", "ETL_COMPRESSION=none", NULL};
    struct etl_test_env *e = ete_new(vars);
    const struct ete_rec recs[] = {
        {"Orders", "INSERT", "801", T0 + 1, "{\"pk\":{\"S\":\"a\"}}",
         "{\"pk\":{\"S\":\"a\"},\"note\":{\"S\":\"x, \\\"y\\\"\\nz\"},"
         "\"m\":{\"M\":{\"k\":{\"N\":\"1.50\"}}}}",
         false},
        {"Orders", "REMOVE", "802", T0 + 2, "{\"pk\":{\"S\":\"b\"}}",
         "{\"pk\":{\"S\":\"b\"},\"qty\":{\"N\":\"3\"},\"nil\":{\"NULL\":true}}", false},
        {"Orders", "INSERT", "803", T0 + 3, "{\"pk\":{\"S\":\"c\"}}",
         "{\"pk\":{\"S\":\"c\"},\"x\":{\"N\":\"1234567890123456789012345678901234567891\"}}",
         false},
    };
    struct run r;
    run_init(&r, e, recs, 3);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(ete_count(e, ""), 2);
    assert_object_text(
        e, "Orders/changes/" H00 "801-802.csv",
        "pk,note,m,_op,_seq,_ts,_table,_event_id,qty,nil,_ttl_delete\r\n"
        "a,\"x, \"\"y\"\"\nz\",\"{\"\"k\"\":1.50}\",INSERT,801,2025-11-25T00:00:01.000Z,Orders,ev-801,,,\r\n"
        "b,,,REMOVE,802,2025-11-25T00:00:02.000Z,Orders,ev-802,3,,false\r\n");
    char type[64];
    assert_true(fake_s3_object_header(e->s3, ETE_BUCKET,
                                      ETE_PREFIX "Orders/changes/" H00 "801-802.csv",
                                      "Content-Type", type, sizeof(type)));
    assert_string_equal(type, "text/csv; charset=utf-8");
    struct buf q = BUF_INIT(0);
    ete_text(e, "_quarantine/Orders/" H00 "803-803.jsonl", &q);
    static const char q_start[] = "{\"error\":\"attribute \\\"x\\\": N has 40 significant";
    assert_true(strncmp(buf_cstr(&q), q_start, strlen(q_start)) == 0);
    assert_true(fake_s3_object_header(e->s3, ETE_BUCKET,
                                      ETE_PREFIX "_quarantine/Orders/" H00 "803-803.jsonl",
                                      "Content-Type", type, sizeof(type)));
    assert_string_equal(type, "application/x-ndjson");
    buf_cleanup(&q);
    run_cleanup(&r);
    ete_free(e);
}

/* ---- parallel writes ------------------------------------------------------------------------ */

/* Both envs hold each of the batch's objects, byte for byte the same. */
static void assert_same_batch_objects(struct etl_test_env *want, struct etl_test_env *got)
{
    for (size_t i = 0; i < BATCH_OBJECTS; i++) {
        struct buf a = BUF_INIT(0), b = BUF_INIT(0);
        assert_true(ete_get(want, batch_objects[i].key, &a));
        assert_true(ete_get(got, batch_objects[i].key, &b));
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        buf_cleanup(&a);
        buf_cleanup(&b);
    }
}

struct parallel_row {
    const char *name;
    const char *concurrency; /* ETL_UPLOAD_CONCURRENCY=... */
    size_t connections;      /* made besides the sink's own */
};

static const struct parallel_row parallel_rows[] = {
    {"parallel_default", "ETL_UPLOAD_CONCURRENCY=8", 3},
    {"parallel_two", "ETL_UPLOAD_CONCURRENCY=2", 1},
    {"parallel_one", "ETL_UPLOAD_CONCURRENCY=1", 0},
};

/* The batch's four objects written at once hold the same bytes, under the same names, as when
 * written one after another; at most ETL_UPLOAD_CONCURRENCY connections are used (one per
 * object at most), and the next batch reuses them. */
static void test_parallel_row(void **state)
{
    const struct parallel_row *row = *state;
    const char *vars[] = {row->concurrency, NULL};
    struct etl_test_env *serial = ete_new(NULL);
    struct etl_test_env *e = ete_new(vars);
    struct run rs, r;
    run_init(&rs, serial, batch, BATCH_N);
    run_init(&r, e, batch, BATCH_N);
    etl_stream_set_clients(&r.stream, ete_thread_transport, e);
    assert_int_equal(run_process(&rs, 0), ERR_OK);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(serial->thread_transports, 0);
    assert_int_equal(e->thread_transports, row->connections);
    assert_int_equal(ete_count(e, ""), BATCH_OBJECTS);
    assert_same_batch_objects(serial, e);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), BATCH_OBJECTS);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_HEAD_OBJECT), 0);
    assert_int_equal(r.st.objects_written, BATCH_OBJECTS);
    assert_int_equal(r.st.records_out, BATCH_N);
    assert_int_equal(r.st.bytes_written, rs.st.bytes_written);
    /* A retry of the batch: same answer, nothing written, no new connection. */
    fake_s3_reset_calls(e->s3);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), BATCH_OBJECTS);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_HEAD_OBJECT), BATCH_OBJECTS);
    assert_int_equal(r.st.objects_written, 0);
    assert_int_equal(e->thread_transports, row->connections);
    run_cleanup(&rs);
    run_cleanup(&r);
    ete_free(serial);
    ete_free(e);
}

/* ---- parallel writes, held open -------------------------------------------------------------
 * A gate holds each PutObject before its transport reads the body, until `want` of them are
 * waiting, then lets that cohort through together (and the next cohort, and so on). Held there,
 * every object of a cohort is rendered and waiting for its PUT at once: if two writes shared an
 * object buffer, or a buffer went back to the idle ones before its PUT, the earlier body would
 * be overwritten by then. A cohort that never fills (the writes not concurrent) opens after 20 s
 * and the test fails instead of hanging. */

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t want;     /* PUTs let through together */
    size_t waiting;  /* in the current cohort */
    size_t released; /* cohorts let through */
    bool timed_out;
};

/* In front of a transport; a thread's (heap, destroyed with its inner transport) or the sink's
 * own (on the test's stack, no destroy: the env frees its transport). */
struct gated {
    struct http_transport base;
    struct http_transport *inner;
    struct gate *gate;
};

static void gate_pass(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    if (!g->timed_out) {
        size_t cohort = g->released;
        if (++g->waiting == g->want) {
            g->waiting = 0;
            g->released++;
            pthread_cond_broadcast(&g->cond);
        } else {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 20;
            while (g->released == cohort && !g->timed_out) {
                if (pthread_cond_timedwait(&g->cond, &g->lock, &until) == ETIMEDOUT) {
                    g->timed_out = true;
                    pthread_cond_broadcast(&g->cond);
                }
            }
        }
    }
    pthread_mutex_unlock(&g->lock);
}

static enum err_code gated_send(struct http_transport *self,
                                const struct http_request *req,
                                struct http_response *resp,
                                struct err *err)
{
    struct gated *t = (struct gated *)self;
    if (strcmp(req->method, "PUT") == 0) {
        gate_pass(t->gate);
    }
    return http_send(t->inner, req, resp, err);
}

static void gated_destroy(struct http_transport *self)
{
    struct gated *t = (struct gated *)self;
    http_transport_free(t->inner);
    free(t);
}

struct gated_env {
    struct etl_test_env *e;
    struct gate gate;
};

/* The upload threads' transports: the env's thread transports behind the gate. */
static struct http_transport *gated_thread_transport(void *ctx, struct err *err)
{
    struct gated_env *ge = ctx;
    struct gated *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->inner = ete_thread_transport(ge->e, err);
    assert_non_null(t->inner);
    t->gate = &ge->gate;
    t->base.send = gated_send;
    t->base.destroy = gated_destroy;
    return &t->base;
}

struct held_row {
    const char *name;
    const char *concurrency; /* ETL_UPLOAD_CONCURRENCY=... */
    size_t at_once;          /* PUTs that must be in flight together */
};

static const struct held_row held_rows[] = {
    {"held_open_all_at_once", "ETL_UPLOAD_CONCURRENCY=8", BATCH_OBJECTS},
    {"held_open_two_by_two", "ETL_UPLOAD_CONCURRENCY=2", 2},
};

/* The batch's objects, held at the gate `at_once` at a time (each on its own connection, the
 * sink's own client among them), still arrive byte for byte as written one after another. */
static void test_held_open(void **state)
{
    const struct held_row *row = *state;
    const char *vars[] = {row->concurrency, NULL};
    struct etl_test_env *serial = ete_new(NULL);
    struct gated_env ge = {.e = ete_new(vars)};
    pthread_mutex_init(&ge.gate.lock, NULL);
    pthread_cond_init(&ge.gate.cond, NULL);
    ge.gate.want = row->at_once;
    struct gated own = {.base = {gated_send, NULL}, .inner = ge.e->aws.http, .gate = &ge.gate};
    ge.e->aws.http = &own.base;
    struct run rs, r;
    run_init(&rs, serial, batch, BATCH_N);
    run_init(&r, ge.e, batch, BATCH_N);
    etl_stream_set_clients(&r.stream, gated_thread_transport, &ge);
    assert_int_equal(run_process(&rs, 0), ERR_OK);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_false(ge.gate.timed_out);
    assert_int_equal(ge.gate.released, BATCH_OBJECTS / row->at_once);
    assert_int_equal(ge.gate.waiting, 0);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_int_equal(ete_count(ge.e, ""), BATCH_OBJECTS);
    assert_same_batch_objects(serial, ge.e);
    assert_int_equal(r.st.objects_written, BATCH_OBJECTS);
    run_cleanup(&rs);
    run_cleanup(&r);
    ge.e->aws.http = own.inner;
    pthread_cond_destroy(&ge.gate.cond);
    pthread_mutex_destroy(&ge.gate.lock);
    ete_free(serial);
    ete_free(ge.e);
}

/* Eight objects of one batch want the same name (a sequence number reused within the batch):
 * written in parallel, the first in batch order keeps the plain name and the others get their
 * content-hash names, whichever write would have reached S3 first. */
static void test_parallel_same_name(void **state)
{
    (void)state;
    enum { N = 8 };
    const char *vars[] = {"ETL_MAX_OBJECT_RECORDS=1", NULL};
    char images[N][96];
    struct ete_rec recs[N];
    for (size_t i = 0; i < N; i++) {
        snprintf(images[i], sizeof(images[i]), "{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"%zu\"}}", i);
        recs[i] = (struct ete_rec){"Orders",  "INSERT", "500", T0, "{\"pk\":{\"S\":\"a\"}}",
                                   images[i], false};
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        struct etl_test_env *e = ete_new(vars);
        struct run r;
        run_init(&r, e, recs, N);
        etl_stream_set_clients(&r.stream, ete_thread_transport, e);
        assert_int_equal(run_process(&r, 0), ERR_OK);
        assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
        assert_int_equal(ete_count(e, ""), N);
        assert_int_equal(r.st.objects_written, N);
        struct buf text = BUF_INIT(0);
        ete_text(e, "Orders/changes/" H00 "500-500.jsonl.gz", &text);
        assert_non_null(strstr(buf_cstr(&text), "\"v\":0,"));
        buf_cleanup(&text);
        assert_int_equal(ete_log_count(e, "already held other data"), N - 1);
        run_cleanup(&r);
        ete_free(e);
    }
}

/* ---- file output ------------------------------------------------------------------------- */

/* file:// output holds the same objects, byte for byte, as S3 output of the same batch. */
static void test_file_output_same_bytes(void **state)
{
    (void)state;
    struct etl_test_env *s3 = ete_new(NULL);
    struct etl_test_env *files = ete_new_file(NULL);
    struct run rs, rf;
    run_init(&rs, s3, batch, BATCH_N);
    run_init(&rf, files, batch, BATCH_N);
    assert_int_equal(run_process(&rs, 0), ERR_OK);
    assert_int_equal(run_process(&rf, 0), ERR_OK);
    assert_string_equal(buf_cstr(&rf.response), buf_cstr(&rs.response));
    assert_int_equal(ete_count(files, ""), BATCH_OBJECTS);
    assert_int_equal(files->fh->n_reqs, 0); /* no request at all */
    assert_same_batch_objects(s3, files);
    assert_int_equal(rf.st.objects_written, BATCH_OBJECTS);
    /* A retry to files is as idempotent as to S3. */
    assert_int_equal(run_process(&rf, 0), ERR_OK);
    assert_int_equal(rf.st.objects_written, 0);
    assert_int_equal(ete_count(files, ""), BATCH_OBJECTS);
    run_cleanup(&rs);
    run_cleanup(&rf);
    ete_free(s3);
    ete_free(files);
}

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* ---- the Glue catalog after the objects ------------------------------------------------ */

/* Glue in front of the env's S3: every AWSGlue.* request is answered here (500 while down;
 * otherwise a catalog with the database and no tables, whose creations succeed). */
struct glue_front {
    fake_http_fn s3_fn;
    void *s3_ctx;
    bool down;
    size_t calls;
    size_t creates;
    size_t partitions;
};

static enum err_code glue_front_fn(void *ctx,
                                   const struct http_request *req,
                                   struct http_response *resp,
                                   struct err *err)
{
    struct glue_front *g = ctx;
    const char *target = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "X-Amz-Target") == 0) {
            target = req->headers[i].value;
        }
    }
    if (target == NULL || strncmp(target, "AWSGlue.", 8) != 0) {
        return g->s3_fn(g->s3_ctx, req, resp, err);
    }
    g->calls++;
    const char *op = target + 8;
    const char *body = "{}";
    resp->status = 200;
    if (g->down) {
        resp->status = 500;
        body = "{\"__type\":\"InternalServiceException\",\"Message\":\"down\"}";
    } else if (strcmp(op, "GetTable") == 0) {
        resp->status = 400;
        body = "{\"__type\":\"EntityNotFoundException\"}";
    } else if (strcmp(op, "CreateTable") == 0) {
        g->creates++;
    } else if (strcmp(op, "BatchCreatePartition") == 0) {
        g->partitions++;
    }
    return buf_append_str(&resp->body, body, err);
}

/* Glue down after the objects are written: the whole batch is reported for retry (nothing is
 * acknowledged before the catalog holds its columns); the retry finds identical objects (its
 * conditional PutObjects are refused, nothing is overwritten) and keeps the catalog current. */
static void test_catalog_failure_retries_the_batch(void **state)
{
    (void)state;
    struct etl_test_env *e = ete_new(NULL);
    struct glue_front g = {e->fh->fn, e->fh->fn_ctx, true, 0, 0, 0};
    fake_http_set_fn(e->fh, glue_front_fn, &g);
    struct etl_catalog_config cfg = {"lake", ETL_CATALOG_UPDATE};
    struct etl_catalog cat;
    etl_catalog_init(&cat, &cfg, &e->aws);
    struct run r;
    run_init(&r, e, batch, BATCH_N);
    etl_stream_set_catalog(&r.stream, &cat);
    assert_int_equal(run_process(&r, 0), ERR_OK);
    char want[128];
    snprintf(want, sizeof(want), "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
             batch[0].seq);
    assert_string_equal(buf_cstr(&r.response), want);
    assert_true(r.st.catalog_failed);
    assert_int_equal(r.st.records_failed, BATCH_N);
    assert_int_equal(ete_count(e, ""), BATCH_OBJECTS); /* the data is in the lake already */
    assert_int_equal(cat.stats.failures, 1);
    size_t puts = ete_requests(e, "PUT", NULL);

    g.down = false;
    assert_int_equal(run_process(&r, 0), ERR_OK);
    assert_string_equal(buf_cstr(&r.response), "{\"batchItemFailures\":[]}");
    assert_false(r.st.catalog_failed);
    assert_int_equal(ete_count(e, ""), BATCH_OBJECTS);
    /* identical objects, not rewritten: each is sent again with If-None-Match: *, which the
     * store refuses (412), and its MD5 read back matches */
    assert_int_equal(ete_requests(e, "PUT", NULL), 2 * puts);
    for (size_t i = 0; i < BATCH_OBJECTS; i++) {
        assert_object_text(e, batch_objects[i].key, batch_objects[i].text);
    }
    assert_int_equal(g.creates, 2);    /* orders_changes, users_changes */
    assert_int_equal(g.partitions, 2); /* one call per table, its two hours in it */
    size_t calls = g.calls;
    assert_int_equal(run_process(&r, 0), ERR_OK); /* a third delivery: all known, no call */
    assert_int_equal(g.calls, calls);
    run_cleanup(&r);
    etl_catalog_cleanup(&cat);
    ete_free(e);
}

int main(void)
{
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_two_tables_two_hours),
        cmocka_unit_test(test_split_by_bytes),
        cmocka_unit_test(test_more_records_than_lambda_sends),
        cmocka_unit_test(test_csv_objects),
        cmocka_unit_test(test_record_members_any_order),
        cmocka_unit_test(test_escaped_sequence_number),
        cmocka_unit_test(test_record_without_sequence_number),
        cmocka_unit_test(test_same_key_other_bytes),
        cmocka_unit_test(test_file_output_same_bytes),
        cmocka_unit_test(test_parallel_same_name),
        cmocka_unit_test(test_catalog_failure_retries_the_batch),
    };
    static struct CMUnitTest tests[ROWS(plain) + ROWS(split_rows) + ROWS(quarantine_rows) +
                                   ROWS(put_failure_rows) + ROWS(deadline_rows) + ROWS(retry_rows) +
                                   ROWS(partition_rows) + ROWS(parallel_rows) + ROWS(held_rows)];
    size_t n = 0;
    for (size_t i = 0; i < ROWS(plain); i++) {
        tests[n++] = plain[i];
    }
    for (size_t i = 0; i < ROWS(split_rows); i++) {
        tests[n++] = (struct CMUnitTest){split_rows[i].name, test_split_row, NULL, NULL,
                                         (void *)&split_rows[i]};
    }
    for (size_t i = 0; i < ROWS(quarantine_rows); i++) {
        tests[n++] = (struct CMUnitTest){quarantine_rows[i].name, test_quarantine_row, NULL, NULL,
                                         (void *)&quarantine_rows[i]};
    }
    for (size_t i = 0; i < ROWS(put_failure_rows); i++) {
        tests[n++] = (struct CMUnitTest){put_failure_rows[i].name, test_put_failure_row, NULL, NULL,
                                         (void *)&put_failure_rows[i]};
    }
    for (size_t i = 0; i < ROWS(held_rows); i++) {
        tests[n++] = (struct CMUnitTest){held_rows[i].name, test_held_open, NULL, NULL,
                                         (void *)&held_rows[i]};
    }
    for (size_t i = 0; i < ROWS(parallel_rows); i++) {
        tests[n++] = (struct CMUnitTest){parallel_rows[i].name, test_parallel_row, NULL, NULL,
                                         (void *)&parallel_rows[i]};
    }
    for (size_t i = 0; i < ROWS(partition_rows); i++) {
        tests[n++] = (struct CMUnitTest){partition_rows[i].name, test_partition_row, NULL, NULL,
                                         (void *)&partition_rows[i]};
    }
    for (size_t i = 0; i < ROWS(retry_rows); i++) {
        tests[n++] = (struct CMUnitTest){retry_rows[i].name, test_retry_row, NULL, NULL,
                                         (void *)&retry_rows[i]};
    }
    for (size_t i = 0; i < ROWS(deadline_rows); i++) {
        tests[n++] = (struct CMUnitTest){deadline_rows[i].name, test_deadline_row, NULL, NULL,
                                         (void *)&deadline_rows[i]};
    }
    return _cmocka_run_group_tests("test_stream", tests, n, NULL, NULL);
}
