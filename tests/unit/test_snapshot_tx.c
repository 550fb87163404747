/*
 * test_snapshot_tx.c - snapshot runs with a transform, end to end through etl_export on a
 * scripted DynamoDB and the in-memory S3: each dataset gets its own data and rejected files, its
 * manifest (item_count, rejected_count, filtered_count) and {dataset}/dq/run={id}/result.json;
 * the checkpoints carry each dataset's counts and data-quality partials, which a run split
 * across segments and invocations merges exactly once; a rule with action fail leaves the run
 * without _SUCCESS (DataQualityFailed); an expression that fails makes a TransformError row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_export.h"
#include "etl_test_env.h"

#define RUN_ID  "2026-11-24T000000Z"
#define RUN_DIR "Orders/snapshots/run=" RUN_ID "/"
#define SCHEDULE                                                                                   \
    "{\"version\":\"0\",\"id\":\"89d1a02d-5ec7-412e-82f5-13505f849b41\",\"detail-type\":"          \
    "\"Scheduled Event\",\"source\":\"aws.events\",\"account\":\"123456789012\","                  \
    "\"time\":\"2026-11-24T00:00:00Z\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{}}"
#define PII_KEY "k3y"

#define S(name, v) "\"" name "\":{\"S\":\"" v "\"}"
#define N(name, v) "\"" name "\":{\"N\":\"" v "\"}"

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

struct fixture {
    struct etl_test_env *e;
    struct etl_spec *spec;
    struct buf spec_text;
    struct etl_export x;
    struct buf response;
    struct etl_export_stats st;
    struct err err;
    cJSON *answer; /* the last response, parsed */
};

/* Table Orders (hash key pk) holding items, ETL_TABLE=Orders, ETL_SEGMENTS=segments, pages of
 * page_limit items, and the transform spec (ete_spec's notation). */
static struct fixture *fixture_new(const char *spec,
                                   const char *const *items,
                                   size_t n_items,
                                   const char *segments,
                                   const char *page_limit)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *vars[] = {"ETL_TABLE=Orders", segments, page_limit, NULL};
    f->e = ete_new(vars);
    f->e->ddb = fake_ddb_new(ETE_TABLE, "pk");
    for (size_t i = 0; i < n_items; i++) {
        fake_ddb_add_item(f->e->ddb, items[i]);
    }
    fake_ddb_install(f->e->ddb, f->e->fh);
    buf_init(&f->spec_text, 0);
    ete_spec_text(spec, &f->spec_text);
    f->spec = ete_spec(spec);
    struct etl_snapshot_config *cfg = &f->e->cfg.snapshot;
    cfg->spec = f->spec;
    cfg->spec_text = buf_cur(&f->spec_text);
    cfg->pii_key = (const uint8_t *)PII_KEY;
    cfg->pii_key_len = strlen(PII_KEY);
    etl_export_init(&f->x, cfg, &f->e->fs.sys, &f->e->sink, &f->e->aws, NULL, NULL);
    buf_init(&f->response, 0);
    return f;
}

static void fixture_free(struct fixture *f)
{
    cJSON_Delete(f->answer);
    buf_cleanup(&f->response);
    ete_free(f->e);
    etl_spec_free(f->spec);
    buf_cleanup(&f->spec_text);
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

/* Runs the scheduled event again until the run completes, each invocation with 10 s to go (the
 * table takes 2.5 s per request, so every invocation stops part way); returns how many
 * invocations answered incomplete. */
static int run_across_deadlines(struct fixture *f)
{
    fake_ddb_advance_clock(f->e->ddb, &f->e->fs, 2500);
    int incomplete = 0;
    for (int i = 0; i < 30; i++) {
        assert_int_equal(request(f, SCHEDULE, f->e->fs.mono_ms + 10000), ERR_OK);
        if (strcmp(answer_str(f, "status"), "complete") == 0) {
            return incomplete;
        }
        assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 0);
        incomplete++;
    }
    fail_msg("the run did not complete in 30 invocations");
    return incomplete;
}

static void assert_object_text(struct fixture *f, const char *key, const char *want)
{
    struct buf text = BUF_INIT(0);
    ete_text(f->e, key, &text);
    assert_string_equal(buf_cstr(&text), want);
    buf_cleanup(&text);
}

/* How often needle occurs in the objects whose key starts with prefix (gunzipped). */
static size_t occurrences(struct fixture *f, const char *prefix, const char *needle)
{
    size_t n = 0;
    for (size_t k = 0; k < ete_count(f->e, prefix); k++) {
        struct buf text = BUF_INIT(0);
        ete_text(f->e, ete_key(f->e, prefix, k), &text);
        for (const char *p = strstr(buf_cstr(&text), needle); p != NULL;
             p = strstr(p + 1, needle)) {
            n++;
        }
        buf_cleanup(&text);
    }
    return n;
}

/* Keys (relative) ending in name, anywhere in the lake. */
static size_t keys_ending(struct fixture *f, const char *name)
{
    size_t n = 0, m = strlen(name);
    for (size_t k = 0; k < ete_count(f->e, ""); k++) {
        const char *key = ete_key(f->e, "", k);
        size_t len = strlen(key);
        n += len >= m && strcmp(key + len - m, name) == 0;
    }
    return n;
}

/* The rule results of a result document: "Rule_1:PASS,Rule_2:FAIL,...". */
static void rule_outcomes(const cJSON *doc, char *out, size_t cap)
{
    const cJSON *rr;
    size_t used = 0;
    out[0] = '\0';
    cJSON_ArrayForEach(rr, cJSON_GetObjectItemCaseSensitive(doc, "RuleResults"))
    {
        int n = snprintf(out + used, cap - used, "%s%s:%s", used > 0 ? "," : "",
                         ete_json_str(rr, "Name"), ete_json_str(rr, "Result"));
        assert_true(n > 0 && (size_t)n < cap - used);
        used += (size_t)n;
    }
}

/* Metric `name` of rule `index` (from 0) of a result document. */
static double rule_metric(const cJSON *doc, int index, const char *name)
{
    const cJSON *rr =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "RuleResults"), index);
    return ete_json_num(cJSON_GetObjectItemCaseSensitive(rr, "EvaluatedMetrics"), name);
}

static const char two_datasets[] =
    "{`version`:1,`datasets`:["
    "{`name`:`users`,`when`:`starts_with(pk, 'USER#')`,"
    " `mappings`:[[`pk`,`string`,`user_id`,`string`],[`age`,`string`,`age`,`int`,`reject`],"
    "             [`email`,`string`,`email`,`string`],[`status`,`string`,`status`,`string`]],"
    " `filter`:`status <> 'gone'`,`drop`:[`_event_id`,`_seq`,`_table`,`_ts`],"
    " `pii`:[{`column`:`email`,`method`:`redact`}],"
    " `rules`:`Rules = [ IsComplete ~email~, RowCount = 4 ]`},"
    "{`name`:`orders`,`when`:`starts_with(pk, 'ORDER#')`,`select`:[`pk`,`total`],"
    " `drop`:[`_event_id`,`_seq`,`_table`,`_ts`]}]}";

static const char *const two_datasets_items[] = {
    "{" S("pk", "USER#1") "," S("email", "a") "," N("age", "30") "," S("status", "ok") "}",
    "{" S("pk", "USER#2") "," S("email", "b") "," S("age", "x") "," S("status", "ok") "}",
    "{" S("pk", "USER#3") "," N("age", "20") "," S("status", "ok") "}",
    "{" S("pk", "USER#4") "," S("email", "d") "," N("age", "40") "," S("status", "gone") "}",
    "{" S("pk", "ORDER#1") "," N("total", "10") "}",
    "{" S("pk", "THING#1") "}",
    "{" S("pk", "USER#5") "," S("email", "e") "," N("age", "50") "," S("status", "ok") "}",
    "{" S("pk", "ORDER#2") "," N("total", "20.5") "}",
};

/* One segment, one invocation: users' kept rows in users/snapshots/, its cast-rejected and
 * rule-rejected rows (PII applied) in users/rejected/, orders in orders/snapshots/, nothing under
 * the table's own run folder but the run's metadata; each dataset's manifest counts its rows,
 * rejected and filtered ones; users' rules over its 4 rows (the filtered one is not a row) go
 * to users/dq/run={id}/result.json; each dataset's folder and the table's get _SUCCESS. */
static void test_datasets_files_and_manifests(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(two_datasets, two_datasets_items, ROWS(two_datasets_items),
                                    "ETL_SEGMENTS=1", "ETL_SCAN_PAGE_LIMIT=100");
    assert_int_equal(request(f, SCHEDULE, 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_int_equal((long)ete_json_num(f->answer, "items"), ROWS(two_datasets_items));
    assert_object_text(f,
                       "users/snapshots/run=" RUN_ID "/part-00000-00000-" ETE_ATTEMPT ".jsonl.gz",
                       "{\"user_id\":\"USER#1\",\"age\":30,\"email\":\"REDACTED\","
                       "\"status\":\"ok\",\"_op\":\"SNAPSHOT\"}\n"
                       "{\"user_id\":\"USER#5\",\"age\":50,\"email\":\"REDACTED\","
                       "\"status\":\"ok\",\"_op\":\"SNAPSHOT\"}\n");
    assert_object_text(
        f, "users/rejected/run=" RUN_ID "/part-00000-00001-" ETE_ATTEMPT ".jsonl.gz",
        "{\"user_id\":\"USER#2\",\"age\":null,\"email\":\"REDACTED\",\"status\":\"ok\","
        "\"_op\":\"SNAPSHOT\",\"DataQualityRulesFail\":[\"CastFailed \\\"age\\\": \\\"x\\\" is "
        "not a number: it does not cast to int\"]}\n"
        "{\"user_id\":\"USER#3\",\"age\":20,\"email\":null,\"status\":\"ok\",\"_op\":\"SNAPSHOT\","
        "\"DataQualityRulesFail\":[\"IsComplete \\\"email\\\"\"]}\n");
    assert_object_text(f,
                       "orders/snapshots/run=" RUN_ID "/part-00000-00002-" ETE_ATTEMPT ".jsonl.gz",
                       "{\"pk\":\"ORDER#1\",\"total\":10,\"_op\":\"SNAPSHOT\"}\n"
                       "{\"pk\":\"ORDER#2\",\"total\":20.5,\"_op\":\"SNAPSHOT\"}\n");
    assert_int_equal(ete_count(f->e, "users/snapshots/run=" RUN_ID "/part-"), 1);
    assert_int_equal(ete_count(f->e, "users/rejected/"), 1);
    assert_int_equal(ete_count(f->e, "orders/snapshots/run=" RUN_ID "/part-"), 1);
    assert_int_equal(ete_count(f->e, "orders/rejected/"), 0);
    assert_int_equal(ete_count(f->e, RUN_DIR "part-"), 0);
    assert_int_equal(ete_count(f->e, RUN_DIR "_meta/"), 0);

    static const struct {
        const char *dataset;
        long rows, rejected, filtered;
        int files, rejected_files;
    } manifests[] = {{"users", 2, 2, 1, 1, 1}, {"orders", 2, 0, 0, 1, 0}};
    for (size_t i = 0; i < ROWS(manifests); i++) {
        char key[256];
        snprintf(key, sizeof(key), "%s/snapshots/run=" RUN_ID "/_meta/manifest.json",
                 manifests[i].dataset);
        cJSON *m = ete_json(f->e, key);
        assert_string_equal(ete_json_str(m, "dataset"), manifests[i].dataset);
        assert_int_equal((long)ete_json_num(m, "table_items"), ROWS(two_datasets_items));
        assert_int_equal((long)ete_json_num(m, "item_count"), manifests[i].rows);
        assert_int_equal((long)ete_json_num(m, "rejected_count"), manifests[i].rejected);
        assert_int_equal((long)ete_json_num(m, "filtered_count"), manifests[i].filtered);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "files")),
                         manifests[i].files);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "rejected_files")),
                         manifests[i].rejected_files);
        cJSON_Delete(m);
        snprintf(key, sizeof(key), "%s/snapshots/run=" RUN_ID "/_SUCCESS", manifests[i].dataset);
        assert_int_equal(ete_count(f->e, key), 1);
        snprintf(key, sizeof(key), "%s/schema.json", manifests[i].dataset);
        assert_int_equal(ete_count(f->e, key), 1);
    }
    assert_int_equal(ete_count(f->e, RUN_DIR "_SUCCESS"), 1);

    cJSON *doc = ete_json(f->e, "users/dq/run=" RUN_ID "/result.json");
    char outcomes[128];
    rule_outcomes(doc, outcomes, sizeof(outcomes));
    assert_string_equal(outcomes, "Rule_1:FAIL,Rule_2:PASS");
    assert_true(ete_json_num(doc, "Score") == 0.5);
    assert_true(rule_metric(doc, 0, "Column.email.Completeness") == 0.75);
    assert_true(rule_metric(doc, 1, "Dataset.*.RowCount") == 4);
    cJSON_Delete(doc);
    assert_int_equal(ete_count(f->e, "orders/dq/"), 0); /* no rules */

    /* The checkpoint keeps each dataset's counts, and users' partial. */
    cJSON *ck = ete_json(f->e, RUN_DIR "_checkpoint/segment-0.json");
    assert_int_equal((long)ete_json_num(ck, "unrouted"), 1);
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(ck, "datasets");
    assert_int_equal(cJSON_GetArraySize(ds), 2);
    const cJSON *users = cJSON_GetArrayItem(ds, 0);
    assert_int_equal((long)ete_json_num(users, "rows"), 2);
    assert_int_equal((long)ete_json_num(users, "rejected"), 2);
    assert_int_equal((long)ete_json_num(users, "filtered"), 1);
    assert_int_equal((long)ete_json_num(cJSON_GetObjectItemCaseSensitive(users, "dq"), "rows"), 4);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ds, 1), "dq"));
    cJSON_Delete(ck);
    fixture_free(f);
}

#define RESUME_ITEMS 40

/* Item i of the resume test: ORDER#i every fourth, two unrouted THINGs, else USER#i whose
 * age does not cast every fifth, without email every seventh, filtered ("gone") every sixth. */
static bool is_order(int i)
{
    return i % 4 == 3;
}
static bool is_thing(int i)
{
    return i == 10 || i == 22;
}
static bool bad_age(int i)
{
    return i % 5 == 1;
}
static bool no_email(int i)
{
    return i % 7 == 0;
}
static bool gone(int i)
{
    return i % 6 == 5;
}

static void resume_item(int i, char *out, size_t cap)
{
    char age[32];
    if (is_order(i)) {
        snprintf(out, cap, "{\"pk\":{\"S\":\"ORDER#%02d\"},\"total\":{\"N\":\"%d\"}}", i, i);
        return;
    }
    if (is_thing(i)) {
        snprintf(out, cap, "{\"pk\":{\"S\":\"THING#%02d\"}}", i);
        return;
    }
    snprintf(age, sizeof(age), bad_age(i) ? "{\"S\":\"x\"}" : "{\"N\":\"%d\"}", i);
    snprintf(out, cap, "{\"pk\":{\"S\":\"USER#%02d\"},%s\"age\":%s,\"status\":{\"S\":\"%s\"}}", i,
             no_email(i) ? "" : "\"email\":{\"S\":\"e\"},", age, gone(i) ? "gone" : "ok");
}

/* Three segments in pages of 2, a file (and a checkpoint) per page, stopped by the deadline in
 * every invocation: the checkpoints
 * carry each dataset's counts and rule partials from one invocation to the next, and the commit
 * merges them exactly once: RowCount, Sum and Completeness over the whole run, manifests that
 * count every item once, every user in exactly one file. */
static void test_resume_merges_once(void **state)
{
    (void)state;
    char items[RESUME_ITEMS][160];
    const char *ptrs[RESUME_ITEMS];
    long rows = 0, kept = 0, rejected = 0, filtered = 0, orders = 0, with_email = 0, age_sum = 0;
    for (int i = 0; i < RESUME_ITEMS; i++) {
        resume_item(i, items[i], sizeof(items[i]));
        ptrs[i] = items[i];
        if (is_order(i)) {
            orders++;
        } else if (!is_thing(i) && gone(i)) {
            filtered++;
        } else if (!is_thing(i)) {
            rows++;
            with_email += !no_email(i);
            age_sum += bad_age(i) ? 0 : i;
            if (bad_age(i) || no_email(i)) {
                rejected++;
            } else {
                kept++;
            }
        }
    }
    struct fixture *f =
        fixture_new("{`version`:1,`datasets`:["
                    "{`name`:`users`,`when`:`starts_with(pk, 'USER#')`,"
                    " `mappings`:[[`pk`,`string`,`user_id`,`string`],"
                    "             [`age`,`string`,`age`,`int`,`reject`],"
                    "             [`email`,`string`,`email`,`string`],"
                    "             [`status`,`string`,`status`,`string`]],"
                    " `filter`:`status <> 'gone'`,"
                    " `rules`:`Rules = [ IsComplete ~email~, RowCount > 0, Sum ~age~ > 0,"
                    "  DistinctValuesCount ~user_id~ > 0 ]`},"
                    "{`name`:`orders`,`when`:`starts_with(pk, 'ORDER#')`}]}",
                    ptrs, RESUME_ITEMS, "ETL_SEGMENTS=3", "ETL_SCAN_PAGE_LIMIT=2");
    f->e->cfg.snapshot.export_object_bytes = 1; /* files end after each page: checkpoints too */
    int incomplete = run_across_deadlines(f);
    assert_true(incomplete >= 2);
    assert_int_equal((long)ete_json_num(f->answer, "items"), RESUME_ITEMS);

    cJSON *doc = ete_json(f->e, "users/dq/run=" RUN_ID "/result.json");
    assert_true(rule_metric(doc, 0, "Column.email.Completeness") == (double)with_email / rows);
    assert_true(rule_metric(doc, 1, "Dataset.*.RowCount") == rows);
    assert_true(rule_metric(doc, 2, "Column.age.Sum") == age_sum);
    assert_true(rule_metric(doc, 3, "Column.user_id.DistinctValuesCount") == rows);
    assert_int_equal((long)ete_json_num(cJSON_GetObjectItemCaseSensitive(doc, "AggregatedMetrics"),
                                        "TotalRowsProcessed"),
                     rows);
    cJSON_Delete(doc);

    cJSON *m = ete_json(f->e, "users/snapshots/run=" RUN_ID "/_meta/manifest.json");
    assert_int_equal((long)ete_json_num(m, "table_items"), RESUME_ITEMS);
    assert_int_equal((long)ete_json_num(m, "item_count"), kept);
    assert_int_equal((long)ete_json_num(m, "rejected_count"), rejected);
    assert_int_equal((long)ete_json_num(m, "filtered_count"), filtered);
    assert_true(ete_json_num(m, "segment_invocations") > 3);
    cJSON_Delete(m);
    m = ete_json(f->e, "orders/snapshots/run=" RUN_ID "/_meta/manifest.json");
    assert_int_equal((long)ete_json_num(m, "item_count"), orders);
    cJSON_Delete(m);

    /* Each user that reaches the rules is in exactly one file, data or rejected. */
    for (int i = 0; i < RESUME_ITEMS; i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "\"user_id\":\"USER#%02d\"", i);
        size_t in_data = occurrences(f, "users/snapshots/run=" RUN_ID "/part-", needle);
        size_t in_rejected = occurrences(f, "users/rejected/run=" RUN_ID "/part-", needle);
        bool row = !is_order(i) && !is_thing(i) && !gone(i);
        bool rej = row && (bad_age(i) || no_email(i));
        if (in_data != (row && !rej) || in_rejected != rej) {
            fail_msg("USER#%02d: %zu data rows, %zu rejected rows", i, in_data, in_rejected);
        }
    }
    assert_true(ete_count(f->e, "users/snapshots/run=" RUN_ID "/part-") > 6);
    fixture_free(f);
}

/* A transform with one dataset keeps its row count across invocations: the manifest's
 * item_count is every item, not the last invocation's. */
static void test_resume_one_dataset(void **state)
{
    (void)state;
    char items[25][64];
    const char *ptrs[25];
    for (int i = 0; i < 25; i++) {
        snprintf(items[i], sizeof(items[i]), "{\"pk\":{\"S\":\"item-%03d\"}}", i);
        ptrs[i] = items[i];
    }
    struct fixture *f = fixture_new("{`version`:1,`datasets`:[{`name`:`all`}]}", ptrs, 25,
                                    "ETL_SEGMENTS=3", "ETL_SCAN_PAGE_LIMIT=3");
    assert_true(run_across_deadlines(f) >= 2);
    cJSON *m = ete_json(f->e, "all/snapshots/run=" RUN_ID "/_meta/manifest.json");
    assert_int_equal((long)ete_json_num(m, "item_count"), 25);
    assert_int_equal((long)ete_json_num(m, "rejected_count"), 0);
    cJSON_Delete(m);
    int counts[25];
    ete_count_items(f->e, "all/snapshots/run=" RUN_ID "/part-", counts, 25);
    for (int i = 0; i < 25; i++) {
        assert_int_equal(counts[i], 1);
    }
    fixture_free(f);
}

struct fail_row {
    const char *name;
    const char *spec;
    const char *failing; /* the dataset whose rule fails */
};

static const struct fail_row fail_rows[] = {
    {"fail_first_dataset",
     "{`version`:1,`datasets`:["
     "{`name`:`users`,`when`:`starts_with(pk, 'USER#')`,"
     " `rules`:`Rules = [ RowCount > 100 with action = ~fail~ ]`},"
     "{`name`:`orders`,`rules`:`Rules = [ RowCount > 0 ]`}]}",
     "users"},
    {"fail_second_dataset",
     "{`version`:1,`datasets`:["
     "{`name`:`users`,`when`:`starts_with(pk, 'USER#')`,`rules`:`Rules = [ RowCount > 0 ]`},"
     "{`name`:`orders`,`rules`:`Rules = [ RowCount > 100 ]`,`rule_actions`:{`Rule_1`:`fail`}}]}",
     "orders"},
};

/* A rule with action fail that does not pass over the run: the error is DataQualityFailed, no
 * folder of the run gets _SUCCESS (whichever dataset failed), and the failing dataset's result
 * says why. */
static void test_fail_row(void **state)
{
    const struct fail_row *row = *state;
    struct fixture *f = fixture_new(row->spec, two_datasets_items, ROWS(two_datasets_items),
                                    "ETL_SEGMENTS=2", "ETL_SCAN_PAGE_LIMIT=100");
    assert_int_not_equal(request(f, SCHEDULE, 0), ERR_OK);
    assert_string_equal(rt_error_type(&f->err), "DataQualityFailed");
    ete_assert_contains(f->err.msg, "a data-quality rule with action fail did not pass");
    assert_int_equal(keys_ending(f, "_SUCCESS"), 0);
    assert_int_equal(keys_ending(f, "manifest.json"), 0); /* no dataset is published */
    assert_int_equal(keys_ending(f, "current.sql"), 0);
    char key[256], outcomes[64];
    snprintf(key, sizeof(key), "%s/dq/run=" RUN_ID "/result.json", row->failing);
    cJSON *doc = ete_json(f->e, key);
    rule_outcomes(doc, outcomes, sizeof(outcomes));
    assert_string_equal(outcomes, "Rule_1:FAIL");
    cJSON_Delete(doc);
    fixture_free(f);
}

/* An expression that cannot be evaluated on an item (a cast of 'abc' to bigint) makes the item
 * a rejected row, as read, with the error as TransformError, counted in rejected_count. */
static void test_transform_error_row(void **state)
{
    (void)state;
    static const char *const items[] = {
        "{" S("pk", "USER#1") "," S("code", "12") "}",
        "{" S("pk", "USER#2") "," S("code", "abc") "}",
    };
    struct fixture *f =
        fixture_new("{`version`:1,`datasets`:[{`name`:`users`,"
                    " `derive`:[{`name`:`n`,`expr`:`cast(code as bigint)`}],"
                    " `drop`:[`_event_id`,`_seq`,`_table`,`_ts`]}]}",
                    items, ROWS(items), "ETL_SEGMENTS=1", "ETL_SCAN_PAGE_LIMIT=100");
    assert_int_equal(request(f, SCHEDULE, 0), ERR_OK);
    assert_string_equal(answer_str(f, "status"), "complete");
    assert_object_text(f,
                       "users/snapshots/run=" RUN_ID "/part-00000-00000-" ETE_ATTEMPT ".jsonl.gz",
                       "{\"pk\":\"USER#1\",\"code\":\"12\",\"n\":12,\"_op\":\"SNAPSHOT\"}\n");
    assert_object_text(
        f, "users/rejected/run=" RUN_ID "/part-00000-00001-" ETE_ATTEMPT ".jsonl.gz",
        "{\"pk\":\"USER#2\",\"code\":\"abc\",\"_op\":\"SNAPSHOT\",\"_seq\":null,"
        "\"_ts\":\"2026-11-24T00:00:00.000Z\",\"_table\":\"Orders\",\"_event_id\":null,"
        "\"DataQualityRulesFail\":[\"TransformError: derive \\\"n\\\": column 1: CAST: "
        "\\\"abc\\\" is not a number: it does not cast to bigint\"]}\n");
    cJSON *m = ete_json(f->e, "users/snapshots/run=" RUN_ID "/_meta/manifest.json");
    assert_int_equal((long)ete_json_num(m, "item_count"), 1);
    assert_int_equal((long)ete_json_num(m, "rejected_count"), 1);
    cJSON_Delete(m);
    fixture_free(f);
}

int main(void)
{
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_datasets_files_and_manifests),
        cmocka_unit_test(test_resume_merges_once),
        cmocka_unit_test(test_resume_one_dataset),
        cmocka_unit_test(test_transform_error_row),
    };
    static struct CMUnitTest tests[ROWS(plain) + ROWS(fail_rows)];
    size_t n = 0;
    for (size_t i = 0; i < ROWS(plain); i++) {
        tests[n++] = plain[i];
    }
    for (size_t i = 0; i < ROWS(fail_rows); i++) {
        tests[n++] = (struct CMUnitTest){fail_rows[i].name, test_fail_row, NULL, NULL,
                                         (void *)&fail_rows[i]};
    }
    return _cmocka_run_group_tests("test_snapshot_tx", tests, n, NULL, NULL);
}
