/*
 * test_scan.c - one snapshot segment against a scripted DynamoDB table and the in-memory S3:
 * Scan pages (Segment/TotalSegments, each request starting from the previous page's
 * LastEvaluatedKey or the checkpoint's) become part files; the checkpoint names each completed
 * file with its counts and digests and the key to resume from; a stop time mid-segment completes
 * the open file and a later invocation resumes exactly there; throttling slows the scan down,
 * and a non-retryable error fails the segment without naming anything it did not complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "etl_checkpoint.h"
#include "etl_commit.h"
#include "etl_format.h"
#include "etl_rate.h"
#include "etl_scan.h"
#include "etl_test_env.h"

#define RUN_ID  "2026-11-24T000000Z"
#define RUN_DIR "Orders/snapshots/run=" RUN_ID "/"

/* One segment's job over the test environment, with settings a test may change first. */
struct fixture {
    struct etl_test_env *e;
    struct etl_snapshot_config cfg;
    struct etl_run run;
    struct etl_rate rate;
    struct etl_scan_job job;
    struct etl_ckpt ck;
    struct etl_scan_stats st;
    struct err err;
};

static struct fixture *fixture_new(size_t n_items, int segment, int total, int64_t page_limit)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->e = ete_new(NULL);
    ete_add_table(f->e, ETE_TABLE, n_items);
    f->cfg = f->e->cfg.snapshot;
    f->cfg.page_limit = page_limit;
    f->cfg.export_object_bytes = 1; /* a file per page unless a test says otherwise */
    snprintf(f->run.table, sizeof(f->run.table), "%s", ETE_TABLE);
    snprintf(f->run.run_id, sizeof(f->run.run_id), "%s", RUN_ID);
    assert_int_equal(etl_run_id_parse(RUN_ID, &f->run.run_ms, &f->err), ERR_OK);
    f->run.total_segments = total;
    snprintf(f->run.format, sizeof(f->run.format), "rows");
    snprintf(f->run.export_id, sizeof(f->run.export_id), "01795830400000-0a1b2c3d");
    etl_rate_init(&f->rate, 0, f->e->fs.mono_ms);
    assert_int_equal(etl_ckpt_init(&f->ck, segment, total, 1, NULL), ERR_OK);
    return f;
}

static void fixture_free(struct fixture *f)
{
    etl_ckpt_cleanup(&f->ck);
    etl_rate_cleanup(&f->rate);
    ete_free(f->e);
    free(f);
}

/* Runs the segment from f->ck until done or stop_at (monotonic, 0: never). */
static enum err_code scan(struct fixture *f, int64_t stop_at)
{
    memset(&f->job, 0, sizeof(f->job));
    f->job.cfg = &f->cfg;
    f->job.run = &f->run;
    etl_sink_with_client(&f->e->sink, &f->e->aws, &f->job.sink);
    f->job.aws = &f->e->aws;
    f->job.sys = &f->e->fs.sys;
    f->job.rate = &f->rate;
    f->job.stop_at_ms = stop_at;
    snprintf(f->job.run_dir, sizeof(f->job.run_dir), "%s", RUN_DIR);
    snprintf(f->job.attempt, sizeof(f->job.attempt), "%s", ETE_ATTEMPT);
    err_clear(&f->err);
    return etl_scan_segment(&f->job, &f->ck, &f->st, &f->err);
}

/* Replaces f->ck by the checkpoint stored for its segment (what the next invocation reads). */
static void reload_checkpoint(struct fixture *f)
{
    char key[256];
    struct buf doc = BUF_INIT(0);
    int segment = f->ck.segment, total = f->ck.total_segments;
    etl_scan_checkpoint_key(RUN_DIR, segment, key, sizeof(key));
    assert_true(ete_get(f->e, key, &doc));
    etl_ckpt_cleanup(&f->ck);
    assert_int_equal(etl_ckpt_init(&f->ck, segment, total, 1, NULL), ERR_OK);
    assert_int_equal(etl_ckpt_from_json(&f->ck, buf_cur(&doc), &f->err), ERR_OK);
    /* Its version, as the export loads it, for the next conditional save. */
    uint8_t sum[DIGEST_MD5_BYTES];
    digest_md5(doc.data, doc.len, sum);
    digest_hex(sum, DIGEST_MD5_BYTES, f->ck.etag, sizeof(f->ck.etag));
    f->ck.stored = true;
    buf_cleanup(&doc);
}

/* The stored checkpoint of a segment as a cJSON tree (the caller deletes it). */
static cJSON *stored_checkpoint(struct fixture *f, int segment)
{
    char key[256];
    etl_scan_checkpoint_key(RUN_DIR, segment, key, sizeof(key));
    return ete_json(f->e, key);
}

/* The printed LastEvaluatedKey of a checkpoint ("null" when it has none). */
static void lek_text(const cJSON *ck, char *out, size_t cap)
{
    char *p = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ck, "last_evaluated_key"));
    assert_non_null(p);
    snprintf(out, cap, "%s", p);
    cJSON_free(p);
}

/* Every file the checkpoint names exists with the bytes, MD5 and ETag it records. */
static void assert_files_match_lake(struct fixture *f, const cJSON *ck)
{
    const cJSON *file;
    cJSON_ArrayForEach(file, cJSON_GetObjectItemCaseSensitive(ck, "files"))
    {
        const char *key = ete_json_str(file, "key");
        struct buf bytes = BUF_INIT(0), text = BUF_INIT(0);
        assert_true(ete_get(f->e, key, &bytes));
        char md5[33], full[512];
        ete_md5_hex(bytes.data, bytes.len, md5);
        assert_string_equal(ete_json_str(file, "md5"), md5);
        assert_int_equal((size_t)ete_json_num(file, "bytes"), bytes.len);
        snprintf(full, sizeof(full), ETE_PREFIX "%s", key);
        assert_string_equal(ete_json_str(file, "etag"), fake_s3_etag(f->e->s3, ETE_BUCKET, full));
        ete_text(f->e, key, &text);
        assert_int_equal((size_t)ete_json_num(file, "records"), ete_lines(&text));
        buf_cleanup(&bytes);
        buf_cleanup(&text);
    }
}

/* Each item of the segment exactly once, and none of the other segments'. */
static void assert_segment_exactly_once(struct fixture *f, size_t n_items, int segment, int total)
{
    int *counts = calloc(n_items, sizeof(*counts));
    assert_non_null(counts);
    ete_count_items(f->e, RUN_DIR "part-", counts, n_items);
    for (size_t i = 0; i < n_items; i++) {
        int want = (int)(i % (size_t)total) == segment ? 1 : 0;
        if (counts[i] != want) {
            fail_msg("item-%03zu appears %d times, expected %d", i, counts[i], want);
        }
    }
    free(counts);
}

/* ---- pages into files, and the checkpoint --------------------------------------------------- */

/* 25 items in pages of 10, a file per page: every request after the first starts from the
 * previous page's LastEvaluatedKey, every completed file is checkpointed with its counts and
 * digests, and the last checkpoint says done. */
static void test_pages_become_files(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(25, 0, 1, 10);
    assert_int_equal(scan(f, 0), ERR_OK);
    assert_true(f->ck.done);
    assert_int_equal(f->st.items, 25);
    assert_int_equal(f->st.pages, 3);
    assert_int_equal(f->st.files, 3);
    assert_false(f->st.stopped_for_deadline);

    static const char *const bodies[] = {
        "{\"TableName\":\"Orders\",\"Segment\":0,\"TotalSegments\":1,\"Limit\":10,"
        "\"ReturnConsumedCapacity\":\"TOTAL\"}",
        "{\"TableName\":\"Orders\",\"Segment\":0,\"TotalSegments\":1,\"Limit\":10,"
        "\"ReturnConsumedCapacity\":\"TOTAL\",\"ExclusiveStartKey\":{\"pk\":{\"S\":\"item-009\"}}}",
        "{\"TableName\":\"Orders\",\"Segment\":0,\"TotalSegments\":1,\"Limit\":10,"
        "\"ReturnConsumedCapacity\":\"TOTAL\",\"ExclusiveStartKey\":{\"pk\":{\"S\":\"item-019\"}}}",
    };
    assert_int_equal(ete_scan_count(f->e), 3);
    struct buf body = BUF_INIT(0);
    for (size_t i = 0; i < 3; i++) {
        ete_scan_body(f->e, i, &body);
        assert_string_equal(buf_cstr(&body), bodies[i]);
    }

    /* The files, in order, each row the item with the snapshot's metadata. */
    static const char *const keys[] = {RUN_DIR "part-00000-00000-" ETE_ATTEMPT ".jsonl.gz",
                                       RUN_DIR "part-00000-00001-" ETE_ATTEMPT ".jsonl.gz",
                                       RUN_DIR "part-00000-00002-" ETE_ATTEMPT ".jsonl.gz"};
    assert_int_equal(ete_count(f->e, RUN_DIR "part-"), 3);
    struct buf text = BUF_INIT(0);
    ete_text(f->e, keys[0], &text);
    assert_int_equal(ete_lines(&text), 10);
    static const char first_row[] =
        "{\"pk\":\"item-000\",\"amount\":1234567890123456789012345678901234.0000,"
        "\"tags\":[\"a\",\"b\"],\"address\":{\"city\":\"Z\\u00fcrich\"},\"_op\":\"SNAPSHOT\","
        "\"_seq\":null,\"_ts\":\"2026-11-24T00:00:00.000Z\",\"_table\":\"Orders\","
        "\"_event_id\":null}\n";
    assert_true(text.len > strlen(first_row));
    assert_memory_equal(text.data, first_row, strlen(first_row));
    assert_segment_exactly_once(f, 25, 0, 1);

    /* A checkpoint after each file: the first names one file and resumes after item-009. */
    assert_int_equal(ete_requests(f->e, "PUT", RUN_DIR "_checkpoint/segment-0.json"), 3);
    const struct fake_request *first = NULL;
    for (size_t i = 0; i < f->e->fh->n_reqs && first == NULL; i++) {
        if (strstr(f->e->fh->reqs[i].url, "segment-0.json") != NULL) {
            first = &f->e->fh->reqs[i];
        }
    }
    cJSON *early = cJSON_ParseWithLength((const char *)first->body.data, first->body.len);
    assert_non_null(early);
    char lek[256];
    lek_text(early, lek, sizeof(lek));
    assert_string_equal(lek, "{\"pk\":{\"S\":\"item-009\"}}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(early, "files")), 1);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(early, "done")));
    cJSON_Delete(early);

    cJSON *ck = stored_checkpoint(f, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ck, "done")));
    lek_text(ck, lek, sizeof(lek));
    assert_string_equal(lek, "null");
    assert_string_equal(ete_json_str(ck, "run_id"), RUN_ID);
    assert_int_equal((int)ete_json_num(ck, "items"), 25);
    assert_int_equal((int)ete_json_num(ck, "next_file"), 3);
    assert_true(ete_json_num(ck, "consumed_rcu") == 25 * FAKE_DDB_UNITS_PER_ITEM);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ck, "files");
    assert_int_equal(cJSON_GetArraySize(files), 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(ete_json_str(cJSON_GetArrayItem(files, i), "key"), keys[i]);
    }
    assert_files_match_lake(f, ck);
    cJSON_Delete(ck);
    buf_cleanup(&body);
    buf_cleanup(&text);
    fixture_free(f);
}

/* A segment whose last page is exactly full gets an empty page after it (DynamoDB returns a
 * LastEvaluatedKey at the limit): no empty file is made, and the checkpoint still says done. */
static void test_full_last_page(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(20, 0, 1, 10);
    assert_int_equal(scan(f, 0), ERR_OK);
    assert_true(f->ck.done);
    assert_int_equal(ete_scan_count(f->e), 3);
    assert_int_equal(ete_count(f->e, RUN_DIR "part-"), 2);
    cJSON *ck = stored_checkpoint(f, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ck, "done")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ck, "files")), 2);
    cJSON_Delete(ck);
    assert_segment_exactly_once(f, 20, 0, 1);
    fixture_free(f);
}

/* A checkpoint from an earlier invocation: the first request starts from its key, with its
 * segment, the next file gets the next number, and the earlier file stays in the checkpoint. */
static void test_resume_from_checkpoint(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(40, 1, 2, 10);
    /* Segment 1 holds the odd items; the earlier invocation wrote items 1..19 to file 0. */
    static const char earlier[] =
        "{\"version\":1,\"table\":\"Orders\",\"run_id\":\"" RUN_ID "\",\"segment\":1,"
        "\"total_segments\":2,\"done\":false,\"next_file\":1,\"items\":10,\"scanned\":10,"
        "\"consumed_rcu\":5.0,\"invocations\":1,"
        "\"last_evaluated_key\":{\"pk\":{\"S\":\"item-019\"}},"
        "\"files\":[{\"key\":\"" RUN_DIR "part-00001-00000-" ETE_ATTEMPT
        ".jsonl.gz\",\"records\":10,"
        "\"bytes\":321,\"raw_bytes\":2000,\"md5\":\"0123456789abcdef0123456789abcdef\","
        "\"etag\":\"0123456789abcdef0123456789abcdef\",\"parts\":0}],\"schema\":{\"items\":0,\"attributes\":[]}}";
    assert_int_equal(etl_ckpt_from_json(&f->ck, cur_from_str(earlier), &f->err), ERR_OK);
    assert_int_equal(scan(f, 0), ERR_OK);
    struct buf body = BUF_INIT(0);
    ete_scan_body(f->e, 0, &body);
    assert_string_equal(
        buf_cstr(&body),
        "{\"TableName\":\"Orders\",\"Segment\":1,\"TotalSegments\":2,\"Limit\":10,"
        "\"ReturnConsumedCapacity\":\"TOTAL\",\"ExclusiveStartKey\":{\"pk\":{\"S\":\"item-019\"}}}");
    assert_true(f->ck.done);
    assert_int_equal(f->st.items, 10);                                /* items 21, 23, ..., 39 */
    assert_int_equal(ete_count(f->e, RUN_DIR "part-00001-00000"), 0); /* not rewritten */
    struct buf text = BUF_INIT(0);
    ete_text(f->e, RUN_DIR "part-00001-00001-" ETE_ATTEMPT ".jsonl.gz", &text);
    assert_int_equal(ete_lines(&text), 10);
    assert_true(strncmp(buf_cstr(&text), "{\"pk\":\"item-021\"", 16) == 0);
    assert_null(strstr(buf_cstr(&text), "item-019"));
    cJSON *ck = stored_checkpoint(f, 1);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ck, "files");
    assert_int_equal(cJSON_GetArraySize(files), 2);
    assert_string_equal(ete_json_str(cJSON_GetArrayItem(files, 0), "key"),
                        RUN_DIR "part-00001-00000-" ETE_ATTEMPT ".jsonl.gz");
    assert_string_equal(ete_json_str(cJSON_GetArrayItem(files, 1), "key"),
                        RUN_DIR "part-00001-00001-" ETE_ATTEMPT ".jsonl.gz");
    assert_int_equal((int)ete_json_num(ck, "items"), 20);
    cJSON_Delete(ck);
    buf_cleanup(&body);
    buf_cleanup(&text);
    fixture_free(f);
}

/* ---- the stop time ------------------------------------------------------------------------ */

/* The table answers in 100 ms and the stop time is 250 ms away: two pages are read (a third,
 * started with 50 ms left, would likely end past the stop time), the open file is completed and
 * checkpointed with the key after its last item; the next invocation starts from exactly that
 * key, and the two files hold every item once. */
static void test_stop_mid_segment_then_resume(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(50, 0, 1, 10);
    f->cfg.export_object_bytes = (int64_t)1 << 30; /* one file per invocation */
    fake_ddb_advance_clock(f->e->ddb, &f->e->fs, 100);
    assert_int_equal(scan(f, f->e->fs.mono_ms + 250), ERR_OK);
    assert_true(f->st.stopped_for_deadline);
    assert_false(f->ck.done);
    assert_int_equal(ete_scan_count(f->e), 2);
    assert_int_equal(f->st.items, 20);
    cJSON *ck = stored_checkpoint(f, 0);
    char lek[256];
    lek_text(ck, lek, sizeof(lek));
    assert_string_equal(lek, "{\"pk\":{\"S\":\"item-019\"}}");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ck, "done")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ck, "files")), 1);
    assert_files_match_lake(f, ck);
    cJSON_Delete(ck);
    assert_int_equal(fake_s3_open_uploads(f->e->s3), 0);

    /* The next invocation. */
    reload_checkpoint(f);
    ete_forget(f->e);
    assert_int_equal(scan(f, 0), ERR_OK);
    assert_true(f->ck.done);
    struct buf body = BUF_INIT(0);
    ete_scan_body(f->e, 0, &body);
    ete_assert_contains(buf_cstr(&body), "\"ExclusiveStartKey\":{\"pk\":{\"S\":\"item-019\"}}");
    assert_int_equal(ete_count(f->e, RUN_DIR "part-"), 2);
    assert_segment_exactly_once(f, 50, 0, 1);
    ck = stored_checkpoint(f, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ck, "files")), 2);
    assert_int_equal((int)ete_json_num(ck, "items"), 50);
    assert_files_match_lake(f, ck);
    cJSON_Delete(ck);
    buf_cleanup(&body);
    fixture_free(f);
}

/* A stop time already past: no request, and the checkpoint is saved where it was. */
static void test_stop_before_first_page(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(5, 0, 1, 10);
    assert_int_equal(scan(f, f->e->fs.mono_ms), ERR_OK);
    assert_true(f->st.stopped_for_deadline);
    assert_int_equal(ete_scan_count(f->e), 0);
    assert_int_equal(ete_count(f->e, RUN_DIR "part-"), 0);
    cJSON *ck = stored_checkpoint(f, 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ck, "done")));
    cJSON_Delete(ck);
    fixture_free(f);
}

/* ---- DynamoDB's errors -------------------------------------------------------------------- */

/* ProvisionedThroughputExceeded on every attempt the client makes for the second page: the
 * scan waits, asks again from the same key with half the page size, and loses nothing. */
static void test_throttled_slows_down(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(120, 0, 1, 100);
    fake_ddb_fail_scan(f->e->ddb, 1, f->e->max_attempts, 400,
                       "ProvisionedThroughputExceededException");
    assert_int_equal(scan(f, 0), ERR_OK);
    assert_true(f->ck.done);
    size_t n = ete_scan_count(f->e);
    assert_int_equal(n, 2 + (size_t)f->e->max_attempts);
    struct buf body = BUF_INIT(0);
    for (size_t i = 1; i <= (size_t)f->e->max_attempts; i++) {
        ete_scan_body(f->e, i, &body);
        ete_assert_contains(buf_cstr(&body), "\"Limit\":100,");
        ete_assert_contains(buf_cstr(&body), "\"ExclusiveStartKey\":{\"pk\":{\"S\":\"item-099\"}}");
    }
    ete_scan_body(f->e, n - 1, &body);
    ete_assert_contains(buf_cstr(&body), "\"Limit\":50,");
    ete_assert_contains(buf_cstr(&body), "\"ExclusiveStartKey\":{\"pk\":{\"S\":\"item-099\"}}");
    /* The client's own backoffs, then the scan's pause of 2 s before the smaller page. */
    assert_int_equal(f->e->fs.n_sleeps, (size_t)f->e->max_attempts);
    assert_int_equal(f->e->fs.sleeps[f->e->fs.n_sleeps - 1], 2000);
    assert_int_equal(ete_log_count(f->e, "slowing down (pages of 50 items)"), 1);
    assert_segment_exactly_once(f, 120, 0, 1);
    buf_cleanup(&body);
    fixture_free(f);
}

/* Throttled until the stop time: that is a pause, not a failure; the checkpoint is saved. */
static void test_throttled_until_stop(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(30, 0, 1, 10);
    f->cfg.export_object_bytes = (int64_t)1 << 30;
    fake_ddb_fail_scan(f->e->ddb, 1, 1000, 400, "ProvisionedThroughputExceededException");
    assert_int_equal(scan(f, f->e->fs.mono_ms + 5000), ERR_OK);
    assert_true(f->st.stopped_for_deadline);
    assert_false(f->ck.done);
    cJSON *ck = stored_checkpoint(f, 0);
    char lek[256];
    lek_text(ck, lek, sizeof(lek));
    assert_string_equal(lek, "{\"pk\":{\"S\":\"item-009\"}}"); /* the first page's file */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ck, "files")), 1);
    cJSON_Delete(ck);
    fixture_free(f);
}

/* A non-retryable error (ValidationException) on the second page fails the segment: no retry,
 * the open file is dropped, and no checkpoint names anything. */
static void test_non_retryable_fails_segment(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(30, 0, 1, 10);
    f->cfg.export_object_bytes = (int64_t)1 << 30;
    fake_ddb_fail_scan(f->e->ddb, 1, 1, 400, "ValidationException");
    assert_int_equal(scan(f, 0), ERR_HTTP);
    assert_string_equal(f->err.aws_code, "ValidationException");
    assert_int_equal(f->err.http_status, 400);
    assert_false(f->err.retryable);
    assert_int_equal(ete_scan_count(f->e), 2);
    assert_int_equal(ete_count(f->e, RUN_DIR), 0); /* no file, no checkpoint */
    assert_int_equal(fake_s3_open_uploads(f->e->s3), 0);
    assert_int_equal(f->ck.n_files, 0);
    assert_int_equal(f->ck.lek.len, 0);
    fixture_free(f);
}

/* A 500 (or a reset, or a timeout) on every attempt the client makes is not throttling: the
 * segment fails with the client's last error instead of pausing until the deadline. */
static void test_server_error_fails_segment(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(30, 0, 1, 10);
    f->cfg.export_object_bytes = (int64_t)1 << 30;
    fake_ddb_fail_scan(f->e->ddb, 1, f->e->max_attempts, 500, "InternalServerError");
    assert_int_equal(scan(f, 0), ERR_HTTP);
    assert_int_equal(f->err.http_status, 500);
    assert_true(f->err.retryable);
    ete_assert_contains(f->err.msg, "after 3 attempts");
    assert_int_equal(ete_scan_count(f->e), 1 + (size_t)f->e->max_attempts);
    assert_int_equal(ete_log_count(f->e, "slowing down"), 0);
    assert_false(f->st.stopped_for_deadline);
    assert_int_equal(fake_s3_open_uploads(f->e->s3), 0);
    fixture_free(f);
}

/* A missing table is DynamoDB's ResourceNotFoundException, named in the error. */
static void test_missing_table_fails_segment(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(3, 0, 1, 10);
    snprintf(f->run.table, sizeof(f->run.table), "Missing");
    assert_int_equal(scan(f, 0), ERR_HTTP);
    assert_string_equal(f->err.aws_code, "ResourceNotFoundException");
    ete_assert_contains(f->err.msg, "Missing");
    fixture_free(f);
}

/* ---- read capacity ------------------------------------------------------------------------ */

/* ETL_MAX_RCU=5 with pages of 5 units: after the first second's budget the scan waits (on the
 * clock, through sleep) so that it never reads faster than 5 units a second. */
static void test_max_rcu_paces_pages(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(40, 0, 1, 10);
    etl_rate_cleanup(&f->rate);
    etl_rate_init(&f->rate, 5, f->e->fs.mono_ms);
    int64_t start = f->e->fs.mono_ms;
    assert_int_equal(scan(f, 0), ERR_OK);
    assert_true(f->ck.done);
    double units = 40 * FAKE_DDB_UNITS_PER_ITEM;
    assert_true(f->ck.rcu == units);
    int64_t elapsed = f->e->fs.mono_ms - start;
    assert_true(f->e->fs.n_sleeps >= 3);
    if ((double)elapsed < (units - 5) * 1000 / 5) {
        fail_msg("%.1f units in %lld ms: faster than 5 units/s after the first second", units,
                 (long long)elapsed);
    }
    assert_segment_exactly_once(f, 40, 0, 1);
    fixture_free(f);
}

/* ---- S3 failures between a file and its checkpoint ------------------------------------------ */

/* The checkpoint cannot be saved after the first file (every attempt fails): the segment fails,
 * and the next invocation, finding no checkpoint, writes that file again under the same name, so
 * the run still holds every item once. */
static void test_checkpoint_save_fails_then_rerun(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(25, 0, 1, 10);
    char key[256], full[300];
    etl_scan_checkpoint_key(RUN_DIR, 0, key, sizeof(key));
    snprintf(full, sizeof(full), ETE_PREFIX "%s", key);
    fake_s3_fail_key(f->e->s3, FAKE_S3_PUT_OBJECT, full, f->e->max_attempts, 500, "InternalError");
    assert_int_equal(scan(f, 0), ERR_HTTP);
    assert_int_equal(f->err.http_status, 500);
    assert_int_equal(ete_count(f->e, RUN_DIR "part-"), 1); /* completed, named by nothing */
    assert_int_equal(ete_count(f->e, RUN_DIR "_checkpoint/"), 0);

    etl_ckpt_cleanup(&f->ck);
    assert_int_equal(etl_ckpt_init(&f->ck, 0, 1, 1, NULL), ERR_OK);
    ete_forget(f->e);
    assert_int_equal(scan(f, 0), ERR_OK);
    assert_true(f->ck.done);
    struct buf body = BUF_INIT(0);
    ete_scan_body(f->e, 0, &body);
    assert_null(strstr(buf_cstr(&body), "ExclusiveStartKey"));
    assert_int_equal(ete_requests(f->e, "PUT", RUN_DIR "part-00000-00000-" ETE_ATTEMPT ".jsonl.gz"),
                     1);
    assert_int_equal(ete_count(f->e, RUN_DIR "part-"), 3);
    assert_segment_exactly_once(f, 25, 0, 1);
    cJSON *ck = stored_checkpoint(f, 0);
    assert_files_match_lake(f, ck);
    cJSON_Delete(ck);
    buf_cleanup(&body);
    fixture_free(f);
}

/* CompleteMultipartUpload succeeds but its answer is lost: the upload is recovered, and the
 * checkpoint names the file with the ETag S3 has. */
static void test_lost_complete_answer(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(4, 0, 1, 10);
    f->cfg.layout = &etl_layout_ddb_export; /* always multipart */
    fake_s3_lose_next(f->e->s3, FAKE_S3_COMPLETE_MULTIPART, 1);
    assert_int_equal(scan(f, 0), ERR_OK);
    assert_true(f->ck.done);
    assert_int_equal(fake_s3_faults_left(f->e->s3), 0);
    assert_int_equal(fake_s3_open_uploads(f->e->s3), 0);
    cJSON *ck = stored_checkpoint(f, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ck, "files")), 1);
    assert_files_match_lake(f, ck);
    cJSON_Delete(ck);
    int counts[4];
    ete_count_items(f->e, RUN_DIR "AWSDynamoDB/", counts, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(counts[i], 1);
    }
    fixture_free(f);
}

/* ---- CSV ----------------------------------------------------------------------------------- */

/* ETL_FORMAT=csv holds a file's rows until it ends (the header is their columns' union), across
 * pages: one file with the header and every row, in order. */
static void test_csv_file_spans_pages(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(8, 0, 1, 3);
    f->cfg.rows.format = etl_format_find("csv");
    f->cfg.export_object_bytes = (int64_t)1 << 30;
    assert_int_equal(scan(f, 0), ERR_OK);
    assert_int_equal(f->st.pages, 3);
    assert_int_equal(ete_count(f->e, RUN_DIR "part-"), 1);
    struct buf text = BUF_INIT(0);
    ete_text(f->e, RUN_DIR "part-00000-00000-" ETE_ATTEMPT ".csv.gz", &text);
    assert_int_equal(ete_lines(&text), 9);
    static const char head[] =
        "pk,amount,tags,address,_op,_seq,_ts,_table,_event_id\r\n"
        "item-000,1234567890123456789012345678901234.0000,\"[\"\"a\"\",\"\"b\"\"]\","
        "\"{\"\"city\"\":\"\"Z\\u00fcrich\"\"}\",SNAPSHOT,,2026-11-24T00:00:00.000Z,Orders,\r\n";
    assert_true(text.len > strlen(head));
    assert_memory_equal(text.data, head, strlen(head));
    ete_assert_contains(buf_cstr(&text), "\r\nitem-007,");
    assert_segment_exactly_once(f, 8, 0, 1);
    buf_cleanup(&text);
    fixture_free(f);
}

/* ---- DynamoDB Export's layout -----------------------------------------------------------------
 */

/* ddb-export files: AWSDynamoDB/{export_id}/data/, one {"Item": <the item as Scan returned it>}
 * per line, always a multipart upload (an ETag of the "-1" form). */
static void test_ddb_export_files(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(4, 0, 1, 10);
    f->cfg.layout = &etl_layout_ddb_export;
    f->cfg.export_object_bytes = (int64_t)1 << 30;
    assert_int_equal(scan(f, 0), ERR_OK);
    const char *key =
        RUN_DIR "AWSDynamoDB/01795830400000-0a1b2c3d/data/00000-00000-" ETE_ATTEMPT ".json.gz";
    struct buf text = BUF_INIT(0), want = BUF_INIT(0);
    ete_text(f->e, key, &text);
    for (size_t i = 0; i < 4; i++) {
        char item[512];
        ete_item(i, item, sizeof(item));
        assert_int_equal(buf_printf(&want, &f->err, "{\"Item\":%s}\n", item), ERR_OK);
    }
    assert_string_equal(buf_cstr(&text), buf_cstr(&want));
    cJSON *ck = stored_checkpoint(f, 0);
    const cJSON *file = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ck, "files"), 0);
    assert_string_equal(ete_json_str(file, "key"), key);
    assert_int_equal((int)ete_json_num(file, "parts"), 1);
    const char *etag = ete_json_str(file, "etag");
    assert_true(strlen(etag) > 2 && strcmp(etag + strlen(etag) - 2, "-1") == 0);
    assert_files_match_lake(f, ck);
    cJSON_Delete(ck);
    buf_cleanup(&text);
    buf_cleanup(&want);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_become_files),
        cmocka_unit_test(test_full_last_page),
        cmocka_unit_test(test_resume_from_checkpoint),
        cmocka_unit_test(test_stop_mid_segment_then_resume),
        cmocka_unit_test(test_stop_before_first_page),
        cmocka_unit_test(test_throttled_slows_down),
        cmocka_unit_test(test_throttled_until_stop),
        cmocka_unit_test(test_non_retryable_fails_segment),
        cmocka_unit_test(test_server_error_fails_segment),
        cmocka_unit_test(test_missing_table_fails_segment),
        cmocka_unit_test(test_max_rcu_paces_pages),
        cmocka_unit_test(test_checkpoint_save_fails_then_rerun),
        cmocka_unit_test(test_lost_complete_answer),
        cmocka_unit_test(test_csv_file_spans_pages),
        cmocka_unit_test(test_ddb_export_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
