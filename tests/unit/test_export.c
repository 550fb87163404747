/*
 * test_export.c - snapshot requests end to end on a scripted DynamoDB and the in-memory S3: a
 * scheduled event runs the whole table (run.json from DescribeTable, every segment, the commit);
 * a segment request works and answers for its segment only; a commit before every segment is
 * done answers incomplete; a run forced through several invocations by its deadline still holds
 * every item once; a delivery after _SUCCESS writes nothing; invalid requests and corrupt
 * checkpoints fail with the documented error types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_export.h"
#include "etl_test_env.h"

#define RUN_ID  "2026-11-24T000000Z"
#define RUN_DIR "Orders/snapshots/run=" RUN_ID "/"
#define N_ITEMS 25
#define SCHEDULE                                                                                   \
    "{\"version\":\"0\",\"id\":\"89d1a02d-5ec7-412e-82f5-13505f849b41\",\"detail-type\":"          \
    "\"Scheduled Event\",\"source\":\"aws.events\",\"account\":\"123456789012\","                  \
    "\"time\":\"2026-11-24T00:00:00Z\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{}}"
#define SEGMENT_REQUEST(s)                                                                         \
    "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID "\",\"segment\":" #s                  \
    ",\"total_segments\":3}}"
#define COMMIT_REQUEST                                                                             \
    "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID "\",\"commit\":true}}"

struct fixture {
    struct etl_test_env *e;
    struct etl_export x;
    struct buf response;
    struct etl_export_stats st;
    struct err err;
    cJSON *answer; /* the last response, parsed */
};

/* ETL_TABLE=Orders with ETL_SEGMENTS=3 and pages of 10 unless extra says otherwise; the table
 * holds N_ITEMS items. */
static struct fixture *fixture_new(const char *const *extra, bool file_output)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *vars[16];
    size_t n = 0;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 12; i++) {
        vars[n++] = extra[i]; /* first, so they win */
    }
    vars[n++] = "ETL_TABLE=Orders";
    vars[n++] = "ETL_SEGMENTS=3";
    vars[n++] = "ETL_SCAN_PAGE_LIMIT=10";
    vars[n] = NULL;
    f->e = file_output ? ete_new_file(vars) : ete_new(vars);
    ete_add_table(f->e, ETE_TABLE, N_ITEMS);
    etl_export_init(&f->x, &f->e->cfg.snapshot, &f->e->fs.sys, &f->e->sink, &f->e->aws, NULL, NULL);
    buf_init(&f->response, 0);
    return f;
}

static void fixture_free(struct fixture *f)
{
    cJSON_Delete(f->answer);
    buf_cleanup(&f->response);
    ete_free(f->e);
    free(f);
}

/* Handles the event text as the handler would; deadline is monotonic (0: none). */
static enum err_code request(struct fixture *f, const char *text, int64_t deadline)
{
    struct buf event = BUF_INIT(0);
    struct etl_event ev;
    assert_int_equal(buf_append_str(&event, text, &f->err), ERR_OK);
    ete_parse_event(&event, &ev);
    struct etl_export_input in = {
        .scheduled = ev.kind == ETL_EVENT_SCHEDULED,
        .time = ev.time,
        .request = ev.export,
    };
    buf_reset(&f->response);
    err_clear(&f->err);
    cJSON_Delete(f->answer);
    f->answer = NULL;
    enum err_code rc = etl_export_handle(&f->x, &in, deadline, &f->response, &f->st, &f->err);
    if (rc == ERR_OK) {
        f->answer = cJSON_ParseWithLength((const char *)f->response.data, f->response.len);
        assert_non_null(f->answer);
    }
    buf_cleanup(&event);
    return rc;
}

static const char *answer_str(const struct fixture *f, const char *name)
{
    return ete_json_str(f->answer, name);
}

static long answer_num(const struct fixture *f, const char *name)
{
    return (long)ete_json_num(f->answer, name);
}

/* Items of segment s of 3 in a table of N_ITEMS. */
static long segment_items(int s)
{
    return (N_ITEMS - s + 2) / 3;
}

/* Sum of the sizes of the run's part files. */
static long part_bytes(struct fixture *f)
{
    long total = 0;
    for (size_t k = 0; k < ete_count(f->e, RUN_DIR "part-"); k++) {
        struct buf b = BUF_INIT(0);
        assert_true(ete_get(f->e, ete_key(f->e, RUN_DIR "part-", k), &b));
        total += (long)b.len;
        buf_cleanup(&b);
    }
    return total;
}

/* Every item of the table in exactly one part file of the run. */
static void assert_every_item_once(struct fixture *f)
{
    int counts[N_ITEMS];
    ete_count_items(f->e, RUN_DIR "part-", counts, N_ITEMS);
    for (size_t i = 0; i < N_ITEMS; i++) {
        if (counts[i] != 1) {
            fail_msg("item-%03zu appears %d times", i, counts[i]);
        }
    }
}

/* Scan requests sent for segment s (of 3). */
static size_t scans_of_segment(struct fixture *f, int s)
{
    char want[64];
    size_t n = 0;
    struct buf body = BUF_INIT(0);
    snprintf(want, sizeof(want), "\"Segment\":%d,\"TotalSegments\":3,", s);
    for (size_t i = 0; i < ete_scan_count(f->e); i++) {
        ete_scan_body(f->e, i, &body);
        n += strstr(buf_cstr(&body), want) != NULL;
    }
    buf_cleanup(&body);
    return n;
}

/* ---- whole runs ---------------------------------------------------------------------------- */

/* A scheduled event: run.json from DescribeTable, all three segments, the commit, and an answer
 * whose counts are the lake's; to S3 or to a directory. */
static void scheduled_run(bool file_output)
{
    struct fixture *f = fixture_new(NULL, file_output);
    assert_int_equal(request(f, SCHEDULE, 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_string_equal(answer_str(f, "run_id"), RUN_ID);
    assert_string_equal(answer_str(f, "table"), "Orders");
    assert_int_equal(answer_num(f, "segments"), 3);
    assert_int_equal(answer_num(f, "segments_done"), 3);
    assert_int_equal(answer_num(f, "items"), N_ITEMS);
    assert_int_equal(answer_num(f, "files"), 3);
    assert_int_equal(answer_num(f, "bytes"), part_bytes(f));
    assert_true(ete_json_num(f->answer, "consumed_read_units") ==
                N_ITEMS * FAKE_DDB_UNITS_PER_ITEM);
    assert_null(cJSON_GetObjectItemCaseSensitive(f->answer, "segment"));
    assert_true(f->st.complete);

    assert_int_equal(fake_ddb_calls(f->e->ddb, "DescribeTable"), 1);
    for (int s = 0; s < 3; s++) {
        assert_true(scans_of_segment(f, s) >= 1);
    }
    cJSON *run = ete_json(f->e, RUN_DIR "_checkpoint/run.json");
    assert_string_equal(ete_json_str(run, "table_arn"), FAKE_DDB_TABLE_ARN_PREFIX "Orders");
    assert_string_equal(ete_json_str(run, "hash_key"), "pk");
    assert_int_equal((int)ete_json_num(run, "total_segments"), 3);
    assert_string_equal(ete_json_str(run, "format"), "rows");
    assert_int_equal((int)ete_json_num(cJSON_GetObjectItemCaseSensitive(run, "estimate"), "items"),
                     N_ITEMS);
    cJSON_Delete(run);
    assert_every_item_once(f);
    cJSON *success = ete_json(f->e, RUN_DIR "_SUCCESS");
    assert_int_equal((long)ete_json_num(success, "items"), N_ITEMS);
    cJSON_Delete(success);
    assert_int_equal(ete_log_count(f->e, "snapshot run started"), 1);
    fixture_free(f);
}

static void test_scheduled_run(void **state)
{
    (void)state;
    scheduled_run(false);
}

static void test_scheduled_run_file_output(void **state)
{
    (void)state;
    scheduled_run(true);
}

/* ETL_EXPORT_THREADS=3: the segments run in threads, each with its own connection and client
 * (the transports come from the factory), and the run is the same as in one thread. */
static void test_scheduled_run_threads(void **state)
{
    (void)state;
    const char *vars[] = {"ETL_EXPORT_THREADS=3", "ETL_SCAN_PAGE_LIMIT=2", NULL};
    struct fixture *f = fixture_new(vars, false);
    etl_export_init(&f->x, &f->e->cfg.snapshot, &f->e->fs.sys, &f->e->sink, &f->e->aws,
                    ete_thread_transport, f->e);
    assert_int_equal(request(f, SCHEDULE, 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_int_equal(answer_num(f, "segments_done"), 3);
    assert_int_equal(answer_num(f, "items"), N_ITEMS);
    assert_int_equal(answer_num(f, "bytes"), part_bytes(f));
    assert_int_equal(f->e->thread_transports, 3);
    /* Every page went through the threads' transports, none through the invoking client's. */
    assert_int_equal(ete_scan_count(f->e), 0);
    assert_true(fake_ddb_calls(f->e->ddb, "Scan") >= N_ITEMS / 2);
    assert_every_item_once(f);
    assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 1);
    fixture_free(f);
}

/* Fan-out: each segment request scans its segment only and answers for it alone, without
 * reading the other segments' checkpoints; a commit before all are done answers incomplete and
 * writes nothing; once all are done it commits. */
static void test_segments_then_commit(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    assert_int_equal(request(f, SEGMENT_REQUEST(1), 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_int_equal(answer_num(f, "segment"), 1);
    assert_int_equal(answer_num(f, "total_segments"), 3);
    assert_int_equal(answer_num(f, "segments_done"), 1);
    assert_int_equal(answer_num(f, "items"), segment_items(1));
    assert_int_equal(answer_num(f, "files"), 1);
    assert_int_equal(answer_num(f, "bytes"), part_bytes(f));
    assert_int_equal(scans_of_segment(f, 0) + scans_of_segment(f, 2), 0);
    assert_int_equal(ete_requests(f->e, "GET", RUN_DIR "_checkpoint/segment-0.json"), 0);
    assert_int_equal(ete_requests(f->e, "GET", RUN_DIR "_checkpoint/segment-2.json"), 0);
    assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 0);

    ete_forget(f->e);
    assert_int_equal(request(f, COMMIT_REQUEST, 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "incomplete");
    assert_int_equal(answer_num(f, "segments_done"), 1);
    assert_int_equal(answer_num(f, "items"), segment_items(1));
    assert_false(f->st.complete);
    assert_int_equal(ete_scan_count(f->e), 0);
    assert_int_equal(ete_requests(f->e, "PUT", NULL), 0);
    assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 0);
    assert_int_equal(ete_count(f->e, RUN_DIR "_meta/"), 0);

    /* A segment asked again after it is done: nothing scanned, the same answer. */
    ete_forget(f->e);
    assert_int_equal(request(f, SEGMENT_REQUEST(1), 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_int_equal(answer_num(f, "items"), segment_items(1));
    assert_int_equal(ete_scan_count(f->e), 0);

    assert_int_equal(request(f, SEGMENT_REQUEST(0), 0), ERR_OK);
    assert_int_equal(answer_num(f, "items"), segment_items(0));
    assert_int_equal(request(f, SEGMENT_REQUEST(2), 0), ERR_OK);
    assert_int_equal(answer_num(f, "items"), segment_items(2));
    assert_int_equal(request(f, COMMIT_REQUEST, 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_int_equal(answer_num(f, "segments_done"), 3);
    assert_int_equal(answer_num(f, "items"), N_ITEMS);
    assert_int_equal(answer_num(f, "files"), 3);
    assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 1);
    assert_int_equal(fake_ddb_calls(f->e->ddb, "DescribeTable"), 1); /* run.json was reused */
    assert_every_item_once(f);
    fixture_free(f);
}

/* A segment whose pages cannot fit an invocation (each takes 20 s, invocations have 10 s):
 * every invocation is counted in the checkpoint, the Scan pages halve from the second stalled
 * invocation on (100, 50, 25, 25, ...), and the seventh fails with SnapshotNoProgress instead of
 * another "incomplete", so the state machine stops. */
static void test_stalled_segment_fails(void **state)
{
    (void)state;
    const char *vars[] = {"ETL_SCAN_PAGE_LIMIT=100", NULL};
    struct fixture *f = fixture_new(vars, false);
    assert_int_equal(request(f, SEGMENT_REQUEST(2), 0), ERR_OK); /* the run exists */
    ete_forget(f->e);
    fake_ddb_advance_clock(f->e->ddb, &f->e->fs, 20000);
    int incomplete = 0;
    enum err_code rc = ERR_OK;
    for (int i = 0; i < 10; i++) {
        int64_t deadline = f->e->fs.mono_ms + 10000;
        aws_client_set_deadline(&f->e->aws, deadline);
        rc = request(f, SEGMENT_REQUEST(0), deadline);
        if (rc != ERR_OK) {
            break;
        }
        assert_string_equal(answer_str(f, "status"), "incomplete");
        incomplete++;
    }
    assert_int_equal(rc, ERR_DEADLINE);
    if (strcmp(f->err.type, "SnapshotNoProgress") != 0) {
        fail_msg("after %d: %s (%s)", incomplete, f->err.msg, f->err.type);
    }
    ete_assert_contains(f->err.msg, "segment 0 made no progress in its last 6 invocations");
    assert_int_equal(incomplete, 6);
    cJSON *ck = ete_json(f->e, RUN_DIR "_checkpoint/segment-0.json");
    assert_int_equal((int)ete_json_num(ck, "invocations"), 6);
    assert_int_equal((int)ete_json_num(ck, "progress_at"), 0);
    assert_int_equal((int)ete_json_num(ck, "page_limit"), 25);
    cJSON_Delete(ck);
    struct buf body = BUF_INIT(0);
    size_t n = ete_scan_count(f->e);
    ete_scan_body(f->e, 0, &body);
    ete_assert_contains(buf_cstr(&body), "\"Limit\":100");
    ete_scan_body(f->e, 1, &body);
    ete_assert_contains(buf_cstr(&body), "\"Limit\":50");
    ete_scan_body(f->e, n - 1, &body);
    ete_assert_contains(buf_cstr(&body), "\"Limit\":25");
    assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 0);
    buf_cleanup(&body);
    fixture_free(f);
}

/* A stall that ends: the count starts again from the invocation that moved the segment on. */
static void test_progress_resets_the_stall_count(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    assert_int_equal(request(f, SEGMENT_REQUEST(2), 0), ERR_OK); /* the run exists */
    /* Two invocations whose page outlasts them, then one with time enough. */
    fake_ddb_advance_clock(f->e->ddb, &f->e->fs, 20000);
    for (int i = 0; i < 2; i++) {
        int64_t deadline = f->e->fs.mono_ms + 10000;
        aws_client_set_deadline(&f->e->aws, deadline);
        assert_int_equal(request(f, SEGMENT_REQUEST(1), deadline), ERR_OK);
        assert_string_equal(answer_str(f, "status"), "incomplete");
    }
    fake_ddb_advance_clock(f->e->ddb, &f->e->fs, 0);
    aws_client_set_deadline(&f->e->aws, 0);
    assert_int_equal(request(f, SEGMENT_REQUEST(1), 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    cJSON *ck = ete_json(f->e, RUN_DIR "_checkpoint/segment-1.json");
    assert_int_equal((int)ete_json_num(ck, "invocations"), 3);
    assert_int_equal((int)ete_json_num(ck, "progress_at"), 3);
    cJSON_Delete(ck);
    fixture_free(f);
}

/* An invocation without the time for a single request says so (SnapshotNoProgress), rather
 * than answering "incomplete" forever. */
static void test_no_time_at_all_fails(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    assert_int_equal(request(f, SEGMENT_REQUEST(2), 0), ERR_OK); /* the run exists */
    int64_t deadline = f->e->fs.mono_ms + 30;
    aws_client_set_deadline(&f->e->aws, deadline);
    enum err_code rc = request(f, SEGMENT_REQUEST(1), deadline);
    assert_int_not_equal(rc, ERR_OK);
    assert_string_equal(f->err.type, "SnapshotNoProgress");
    ete_assert_contains(f->err.msg, "too little time left to save a checkpoint");
    fixture_free(f);
}

/* The commit checks every listed file against its checkpoint before _SUCCESS: a file rewritten
 * since (another size or ETag) or gone fails the run loudly (SnapshotVerifyFailed). */
static void test_commit_verifies_files(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        struct fixture *f = fixture_new(NULL, false);
        for (int s = 0; s < 3; s++) {
            char req[256];
            snprintf(req, sizeof(req),
                     "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID
                     "\",\"segment\":%d,\"total_segments\":3}}",
                     s);
            assert_int_equal(request(f, req, 0), ERR_OK);
        }
        const char *victim = ete_key(f->e, RUN_DIR "part-00001-", 0);
        assert_non_null(victim);
        char key[512];
        snprintf(key, sizeof(key), "%s%s", ETE_PREFIX, victim);
        if (variant == 0) {
            fake_s3_put(f->e->s3, ETE_BUCKET, key, "rewritten", 9);
        } else {
            fake_s3_delete(f->e->s3, ETE_BUCKET, key);
        }
        assert_int_equal(request(f, COMMIT_REQUEST, 0), ERR_INVALID_INPUT);
        assert_string_equal(f->err.type, "SnapshotVerifyFailed");
        ete_assert_contains(f->err.msg, variant == 0 ? "the file was changed after it was written"
                                                     : "is not stored");
        assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 0);
        fixture_free(f);
    }
}

/* Invocations whose deadline stops every segment part way: each answers incomplete, the next
 * resumes from the checkpoints, and the finished run holds every item once. */
static void test_run_across_deadlines(void **state)
{
    (void)state;
    /* Pages of 3 items take 2.5 s each; 10 s invocations stop 4 s (40%) before the deadline,
     * so an invocation reads at most 3 pages. */
    const char *vars[] = {"ETL_SCAN_PAGE_LIMIT=3", NULL};
    struct fixture *f = fixture_new(vars, false);
    fake_ddb_advance_clock(f->e->ddb, &f->e->fs, 2500);
    int incomplete = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(request(f, SCHEDULE, f->e->fs.mono_ms + 10000), ERR_OK);
        if (strcmp(answer_str(f, "status"), "complete") == 0) {
            break;
        }
        assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 0);
        incomplete++;
    }
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_true(incomplete >= 3);
    assert_int_equal(answer_num(f, "items"), N_ITEMS);
    assert_int_equal(answer_num(f, "bytes"), part_bytes(f));
    assert_int_equal(answer_num(f, "files"), (long)ete_count(f->e, RUN_DIR "part-"));
    assert_true(answer_num(f, "files") > 3); /* segments were split across invocations */
    assert_every_item_once(f);
    cJSON *manifest = ete_json(f->e, RUN_DIR "_meta/manifest.json");
    assert_true(ete_json_num(manifest, "segment_invocations") > 3);
    cJSON_Delete(manifest);
    fixture_free(f);
}

/* EventBridge delivers the event again after the run finished: one read of _SUCCESS, nothing
 * written or scanned, and the same answer. */
static void test_delivery_after_success(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    assert_int_equal(request(f, SCHEDULE, 0), ERR_OK);
    char first[512];
    snprintf(first, sizeof(first), "%s", buf_cstr(&f->response));
    size_t objects = fake_s3_count(f->e->s3);
    ete_forget(f->e);
    size_t describes = fake_ddb_calls(f->e->ddb, "DescribeTable");

    assert_int_equal(request(f, SCHEDULE, 0), ERR_OK);
    assert_string_equal(buf_cstr(&f->response), first);
    assert_true(f->st.complete);
    assert_int_equal(f->e->fh->n_reqs, 1);
    assert_int_equal(ete_requests(f->e, "GET", RUN_DIR "_SUCCESS"), 1);
    assert_int_equal(fake_s3_count(f->e->s3), objects);
    assert_int_equal(fake_ddb_calls(f->e->ddb, "DescribeTable"), describes);
    /* A segment request for the finished run is answered from _SUCCESS too. */
    assert_int_equal(request(f, SEGMENT_REQUEST(2), 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_int_equal(answer_num(f, "items"), N_ITEMS);
    assert_int_equal(ete_scan_count(f->e), 0);
    fixture_free(f);
}

/* ---- bad requests and bad state -------------------------------------------------------------- */

struct invalid_row {
    const char *name;
    const char *event;
    const char *message; /* part of err.msg */
};

static const struct invalid_row invalid_rows[] = {
    {"invalid_run_id_form",
     "{\"export\":{\"table\":\"Orders\",\"run_id\":\"yesterday\",\"segment\":0,"
     "\"total_segments\":3}}",
     "run_id must look like 2026-11-24T000000Z"},
    {"invalid_run_id_date",
     "{\"export\":{\"table\":\"Orders\",\"run_id\":\"2026-13-45T000000Z\",\"commit\":true}}",
     "run_id must look like"},
    {"invalid_segment_out_of_range",
     "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID "\",\"segment\":3,"
     "\"total_segments\":3}}",
     "segment must be 0..total_segments-1"},
    {"invalid_segment_negative",
     "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID "\",\"segment\":-1,"
     "\"total_segments\":3}}",
     "segment must be 0..total_segments-1"},
    {"invalid_total_segments_zero",
     "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID "\",\"segment\":0,"
     "\"total_segments\":0}}",
     "total_segments 1..1000"},
    {"invalid_segment_not_integer",
     "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID "\",\"segment\":\"1\","
     "\"total_segments\":3}}",
     "segment must be"},
    {"invalid_commit_and_segment",
     "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID "\",\"commit\":true,\"segment\":0,"
     "\"total_segments\":3}}",
     "either commit or segment"},
    {"invalid_segment_without_run",
     "{\"export\":{\"table\":\"Orders\",\"segment\":0,\"total_segments\":3}}",
     "needs the run_id or the run's time"},
    {"invalid_run_id_and_time",
     "{\"export\":{\"table\":\"Orders\",\"time\":\"2026-11-24T00:00:00Z\",\"run_id\":\"" RUN_ID
     "\",\"commit\":true}}",
     "either run_id or time"},
    {"invalid_time", "{\"export\":{\"table\":\"Orders\",\"time\":\"soon\",\"commit\":true}}",
     "is not ISO-8601"},
    {"invalid_segments", "{\"export\":{\"table\":\"Orders\",\"segments\":1001}}",
     "segments must be an integer from 1 to 1000"},
    {"invalid_table_name", "{\"export\":{\"table\":\"ab\",\"segments\":2}}", "3 to 255 characters"},
    {"invalid_table_type", "{\"export\":{\"table\":7}}", "export.table must be a table name"},
};

/* InvalidExportRequest, saying what is wrong, before any request to AWS. */
static void test_invalid_row(void **state)
{
    const struct invalid_row *row = *state;
    struct fixture *f = fixture_new(NULL, false);
    assert_int_equal(request(f, row->event, 0), ERR_INVALID_INPUT);
    assert_string_equal(rt_error_type(&f->err), "InvalidExportRequest");
    ete_assert_contains(f->err.msg, row->message);
    assert_int_equal(f->e->fh->n_reqs, 0);
    assert_int_equal(buf_cstr(&f->response)[0], '\0');
    fixture_free(f);
}

/* Requests that are well formed but do not fit the run: a commit for a run never started, and
 * a segment request whose total_segments differs from the run's. */
static void test_request_does_not_fit_run(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    assert_int_equal(request(f, COMMIT_REQUEST, 0), ERR_INVALID_INPUT);
    assert_string_equal(rt_error_type(&f->err), "InvalidExportRequest");
    ete_assert_contains(f->err.msg, "was never started");
    assert_int_equal(ete_requests(f->e, "PUT", NULL), 0);

    assert_int_equal(request(f, SEGMENT_REQUEST(0), 0), ERR_OK); /* starts the run: 3 segments */
    assert_int_equal(request(f,
                             "{\"export\":{\"table\":\"Orders\",\"run_id\":\"" RUN_ID
                             "\",\"segment\":0,\"total_segments\":2}}",
                             0),
                     ERR_INVALID_INPUT);
    assert_string_equal(rt_error_type(&f->err), "InvalidExportRequest");
    ete_assert_contains(f->err.msg, "has 3 segments, the request says 2");
    fixture_free(f);
}

/* A missing table: DynamoDB's error, with its message; no run is recorded. */
static void test_missing_table(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    assert_int_equal(request(f, "{\"export\":{\"table\":\"Missing\",\"segments\":2}}", 0),
                     ERR_HTTP);
    assert_string_equal(f->err.aws_code, "ResourceNotFoundException");
    ete_assert_contains(f->err.msg, "Missing");
    assert_int_equal(ete_count(f->e, "Missing/"), 0);
    fixture_free(f);
}

struct corrupt_row {
    const char *name;
    const char *stored; /* what segment-0.json holds */
    const char *event;  /* the request that reads it */
};

static const struct corrupt_row corrupt_rows[] = {
    {"corrupt_checkpoint_segment_request", "{\"version\":1,\"segment\":0,", SEGMENT_REQUEST(0)},
    {"corrupt_checkpoint_commit_request", "not json at all", COMMIT_REQUEST},
    {"corrupt_checkpoint_other_segment",
     "{\"version\":1,\"segment\":1,\"total_segments\":3,\"done\":true,\"files\":[]}",
     SEGMENT_REQUEST(0)},
    {"corrupt_checkpoint_scheduled_run", "[]", SCHEDULE},
};

/* A stored checkpoint that cannot be read back is CheckpointCorrupt naming the object, and it
 * is left in place for a human. */
static void test_corrupt_row(void **state)
{
    const struct corrupt_row *row = *state;
    struct fixture *f = fixture_new(NULL, false);
    assert_int_equal(request(f, SEGMENT_REQUEST(1), 0), ERR_OK); /* run.json exists */
    const char *key = ETE_PREFIX RUN_DIR "_checkpoint/segment-0.json";
    fake_s3_put(f->e->s3, ETE_BUCKET, key, row->stored, strlen(row->stored));
    assert_int_not_equal(request(f, row->event, 0), ERR_OK);
    assert_string_equal(rt_error_type(&f->err), "CheckpointCorrupt");
    ete_assert_contains(f->err.msg,
                        "s3://" ETE_BUCKET "/" ETE_PREFIX RUN_DIR "_checkpoint/segment-0.json");
    const uint8_t *p = NULL;
    size_t n = 0;
    assert_true(fake_s3_get(f->e->s3, ETE_BUCKET, key, &p, &n));
    assert_int_equal(n, strlen(row->stored));
    assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 0);
    fixture_free(f);
}

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

int main(void)
{
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_scheduled_run),
        cmocka_unit_test(test_scheduled_run_file_output),
        cmocka_unit_test(test_scheduled_run_threads),
        cmocka_unit_test(test_segments_then_commit),
        cmocka_unit_test(test_run_across_deadlines),
        cmocka_unit_test(test_stalled_segment_fails),
        cmocka_unit_test(test_progress_resets_the_stall_count),
        cmocka_unit_test(test_no_time_at_all_fails),
        cmocka_unit_test(test_commit_verifies_files),
        cmocka_unit_test(test_delivery_after_success),
        cmocka_unit_test(test_request_does_not_fit_run),
        cmocka_unit_test(test_missing_table),
    };
    static struct CMUnitTest tests[ROWS(plain) + ROWS(invalid_rows) + ROWS(corrupt_rows)];
    size_t n = 0;
    for (size_t i = 0; i < ROWS(plain); i++) {
        tests[n++] = plain[i];
    }
    for (size_t i = 0; i < ROWS(invalid_rows); i++) {
        tests[n++] = (struct CMUnitTest){invalid_rows[i].name, test_invalid_row, NULL, NULL,
                                         (void *)&invalid_rows[i]};
    }
    for (size_t i = 0; i < ROWS(corrupt_rows); i++) {
        tests[n++] = (struct CMUnitTest){corrupt_rows[i].name, test_corrupt_row, NULL, NULL,
                                         (void *)&corrupt_rows[i]};
    }
    return _cmocka_run_group_tests("test_export", tests, n, NULL, NULL);
}
