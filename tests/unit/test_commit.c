/*
 * test_commit.c - finishing a snapshot run from its checkpoints, on the in-memory S3: a part
 * file no checkpoint names is deleted (and nothing else is); manifest.json lists every file with
 * its segment, records, bytes, MD5 and ETag; schema.json, table.ddl, changes.ddl (once per
 * table), current.sql; _SUCCESS strictly last. The ddb-export layout writes DynamoDB's
 * manifest-summary.json and manifest-files.json with their .md5 files, _started, and a table.ddl
 * over the typed items; every layout and format pair commits, empty tables included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"
#include "etl_checkpoint.h"
#include "etl_commit.h"
#include "etl_layout.h"
#include "etl_record.h"
#include "etl_test_env.h"

#define RUN_ID    "2026-11-24T000000Z"
#define RUN_DIR   "Orders/snapshots/run=" RUN_ID "/"
#define EXPORT_ID "01795830400000-0a1b2c3d"
#define EXP_DIR   RUN_DIR "AWSDynamoDB/" EXPORT_ID "/"
#define SEGMENTS  2

struct fixture {
    struct etl_test_env *e;
    struct etl_run run;
    struct etl_ckpt cks[SEGMENTS];
    struct etl_commit_summary sum;
    struct err err;
    char ext[32];
    size_t next_item;
};

static struct fixture *fixture_new(const char *const *vars, bool file_output)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->e = file_output ? ete_new_file(vars) : ete_new(vars);
    struct etl_run *r = &f->run;
    snprintf(r->table, sizeof(r->table), "Orders");
    snprintf(r->run_id, sizeof(r->run_id), RUN_ID);
    assert_int_equal(etl_run_id_parse(RUN_ID, &r->run_ms, &f->err), ERR_OK);
    r->started_ms = r->run_ms + 1000;
    r->total_segments = SEGMENTS;
    snprintf(r->format, sizeof(r->format), "%s", f->e->cfg.snapshot.layout->name);
    snprintf(r->export_id, sizeof(r->export_id), EXPORT_ID);
    snprintf(r->table_arn, sizeof(r->table_arn), ETE_ARN "Orders");
    snprintf(r->table_id, sizeof(r->table_id), "0f0e0d0c-0b0a-0908-0706-050403020100");
    snprintf(r->hash_key, sizeof(r->hash_key), "pk");
    r->est_items = 7;
    r->est_bytes = 4096;
    r->est_rcu = 0.5;
    for (int s = 0; s < SEGMENTS; s++) {
        assert_int_equal(etl_ckpt_init(&f->cks[s], s, SEGMENTS, 1, NULL), ERR_OK);
        f->cks[s].done = true;
        f->cks[s].invocations = 1;
    }
    struct etl_encoding enc = etl_snapshot_encoding(&f->e->cfg.snapshot);
    etl_writer_extension(&enc, f->ext, sizeof(f->ext));
    return f;
}

static void fixture_free(struct fixture *f)
{
    for (int s = 0; s < SEGMENTS; s++) {
        etl_ckpt_cleanup(&f->cks[s]);
    }
    ete_free(f->e);
    free(f);
}

/* The key of file n of segment s in the configured layout. */
static void file_key(struct fixture *f, int s, uint32_t n, char *out, size_t cap)
{
    f->e->cfg.snapshot.layout->file_key(RUN_DIR, EXPORT_ID, s, n, "0000cafe", f->ext, out, cap);
}

/* Stores file n of segment s holding `records` items and names it in the segment's checkpoint,
 * as the scan does once the file is complete (the schema sees the items' rows). */
static void add_file(struct fixture *f, int s, uint32_t n, size_t records)
{
    struct etl_ckpt *ck = &f->cks[s];
    struct etl_ckpt_file cf;
    memset(&cf, 0, sizeof(cf));
    file_key(f, s, n, cf.key, sizeof(cf.key));
    char bytes[128];
    int len = snprintf(bytes, sizeof(bytes), "segment %d file %u: %zu records\n", s, n, records);
    /* Written as the scan writes it: a streamed object (multipart when the layout says so). */
    const struct etl_snapshot_config *cfg = &f->e->cfg.snapshot;
    struct etl_object obj;
    struct s3_object_info info;
    assert_int_equal(etl_sink_object_open(&f->e->sink, cf.key, "application/octet-stream",
                                          cfg->layout->force_multipart, cfg->spool_dir, &obj,
                                          &f->err),
                     ERR_OK);
    assert_int_equal(etl_object_write(&obj, bytes, (size_t)len, &f->err), ERR_OK);
    assert_int_equal(etl_object_finish(&obj, &info, &f->err), ERR_OK);
    cf.records = records;
    cf.bytes = info.size;
    cf.raw_bytes = (uint64_t)len * 3;
    digest_hex(info.md5, DIGEST_MD5_BYTES, cf.md5, sizeof(cf.md5));
    snprintf(cf.etag, sizeof(cf.etag), "%s", info.etag);
    cf.parts = info.parts;
    assert_int_equal(etl_ckpt_add_file(ck, &cf, &f->err), ERR_OK);
    for (size_t i = 0; i < records; i++) {
        char item[512];
        struct json_val v;
        struct buf store = BUF_INIT(0);
        struct etl_record_meta meta = {
            .op = "SNAPSHOT", .ts = "2026-11-24T00:00:00.000Z", .table = "Orders"};
        struct etl_row_ref row = {&store, 0, {NULL, 0}};
        ete_item(f->next_item++, item, sizeof(item));
        assert_int_equal(json_validate(cur_from_str(item), 64, &v, &f->err), ERR_OK);
        assert_int_equal(etl_record_build(&store, &v, NULL, &meta, &row.offset, &f->err), ERR_OK);
        assert_int_equal(etl_schema_observe(&ck->ds[0].schema, &row, &f->err), ERR_OK);
        buf_cleanup(&store);
    }
    ck->items += records;
    ck->scanned += records;
    ck->rcu += (double)records * 0.5;
    ck->next_file = n + 1;
}

/* Three files (segment 0: 3 + 2 items, segment 1: 2 items). */
static void add_files(struct fixture *f)
{
    add_file(f, 0, 0, 3);
    add_file(f, 0, 1, 2);
    add_file(f, 1, 0, 2);
}

/* Stores an object through the sink (either backend). */
static void put_object(struct fixture *f, const char *key, const char *text)
{
    assert_int_equal(etl_sink_put(&f->e->sink, key, cur_from_str(text), NULL, &f->err), ERR_OK);
}

static enum err_code commit(struct fixture *f)
{
    err_clear(&f->err);
    const char *datasets[] = {f->run.table};
    return etl_commit_run(&f->e->cfg.snapshot, &f->e->sink, &f->e->fs.sys, NULL, &f->run, RUN_DIR,
                          datasets, 1, f->cks, SEGMENTS, &f->sum, &f->err);
}

static bool exists(struct fixture *f, const char *key)
{
    struct buf b = BUF_INIT(0);
    bool found = ete_get(f->e, key, &b);
    buf_cleanup(&b);
    return found;
}

/* _SUCCESS is the last request of the commit, and every other document was written before it. */
static void assert_success_last(struct fixture *f, const char *const *documents)
{
    long success = ete_request_index(f->e, "PUT", RUN_DIR "_SUCCESS");
    assert_true(success >= 0);
    assert_int_equal((size_t)success, f->e->fh->n_reqs - 1);
    for (size_t i = 0; documents[i] != NULL; i++) {
        long at = ete_request_index(f->e, "PUT", documents[i]);
        if (at < 0 || at >= success) {
            fail_msg("%s written at %ld, _SUCCESS at %ld", documents[i], at, success);
        }
    }
}

/* ---- the rows layout --------------------------------------------------------------------- */

/* Orphans go first (and only part files of this run), then the documents, _SUCCESS last. */
static void test_commit_rows(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    add_files(f);
    char orphan[256];
    file_key(f, 1, 1, orphan, sizeof(orphan)); /* completed, never checkpointed */
    put_object(f, orphan, "left by a crash");
    put_object(f, RUN_DIR "_checkpoint/segment-0.json", "{}");
    put_object(f, RUN_DIR "_checkpoint/run.json", "{}");
    put_object(f,
               "Orders/snapshots/run=2026-11-23T000000Z/part-00001-00001-" ETE_ATTEMPT ".jsonl.gz",
               "other");
    assert_int_equal(commit(f), ERR_OK);

    assert_int_equal(f->sum.orphans_removed, 1);
    assert_false(exists(f, orphan));
    assert_int_equal(ete_requests(f->e, "DELETE", NULL), 1);
    assert_true(exists(f, RUN_DIR "_checkpoint/segment-0.json"));
    assert_true(exists(f, RUN_DIR "_checkpoint/run.json"));
    assert_true(exists(f, "Orders/snapshots/run=2026-11-23T000000Z/part-00001-00001-" ETE_ATTEMPT
                          ".jsonl.gz"));
    for (int s = 0; s < SEGMENTS; s++) {
        for (size_t i = 0; i < f->cks[s].n_files; i++) {
            assert_true(exists(f, f->cks[s].files[i].key));
        }
    }
    assert_true(ete_request_index(f->e, "DELETE", orphan) <
                ete_request_index(f->e, "PUT", RUN_DIR "_meta/manifest.json"));

    assert_int_equal(f->sum.items, 7);
    assert_int_equal(f->sum.files, 3);

    /* manifest.json: the run, and every file with its segment, counts and digests. */
    cJSON *m = ete_json(f->e, RUN_DIR "_meta/manifest.json");
    assert_string_equal(ete_json_str(m, "run_id"), RUN_ID);
    assert_string_equal(ete_json_str(m, "table"), "Orders");
    assert_string_equal(ete_json_str(m, "table_arn"), ETE_ARN "Orders");
    assert_string_equal(ete_json_str(m, "run_time"), "2026-11-24T00:00:00.000Z");
    assert_string_equal(ete_json_str(m, "start"), "2026-11-24T00:00:01.000Z");
    assert_string_equal(ete_json_str(m, "snapshot_format"), "rows");
    assert_string_equal(ete_json_str(m, "compression"), "gzip");
    assert_int_equal((int)ete_json_num(m, "segments"), SEGMENTS);
    assert_int_equal((int)ete_json_num(m, "item_count"), 7);
    assert_true(ete_json_num(m, "consumed_read_units") == 3.5);
    assert_int_equal((int)ete_json_num(cJSON_GetObjectItemCaseSensitive(m, "estimate"), "items"),
                     7);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(m, "files");
    assert_int_equal(cJSON_GetArraySize(files), 3);
    size_t k = 0;
    uint64_t bytes = 0;
    for (int s = 0; s < SEGMENTS; s++) {
        for (size_t i = 0; i < f->cks[s].n_files; i++, k++) {
            const struct etl_ckpt_file *cf = &f->cks[s].files[i];
            const cJSON *mf = cJSON_GetArrayItem(files, (int)k);
            assert_string_equal(ete_json_str(mf, "key"), cf->key);
            assert_int_equal((int)ete_json_num(mf, "segment"), s);
            assert_int_equal((uint64_t)ete_json_num(mf, "records"), cf->records);
            assert_int_equal((uint64_t)ete_json_num(mf, "bytes"), cf->bytes);
            assert_int_equal((uint64_t)ete_json_num(mf, "uncompressed_bytes"), cf->raw_bytes);
            assert_string_equal(ete_json_str(mf, "md5"), cf->md5);
            assert_string_equal(ete_json_str(mf, "etag"), cf->etag);
            bytes += cf->bytes;
        }
    }
    cJSON_Delete(m);
    assert_int_equal(f->sum.bytes, bytes);

    /* schema.json: each attribute's types with counts, over every segment. */
    cJSON *schema = ete_json(f->e, RUN_DIR "_meta/schema.json");
    assert_int_equal((int)ete_json_num(schema, "items"), 7);
    const cJSON *a;
    int seen = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(schema, "attributes"))
    {
        const char *name = ete_json_str(a, "name");
        const cJSON *types = cJSON_GetObjectItemCaseSensitive(a, "types");
        const char *type = strcmp(name, "pk") == 0       ? "S"
                           : strcmp(name, "amount") == 0 ? "N"
                           : strcmp(name, "tags") == 0   ? "SS"
                                                         : "M";
        assert_int_equal((int)ete_json_num(types, type), 7);
        seen++;
    }
    assert_int_equal(seen, 4);
    cJSON_Delete(schema);

    struct buf ddl = BUF_INIT(0), changes = BUF_INIT(0), view = BUF_INIT(0), ok = BUF_INIT(0);
    ete_text(f->e, RUN_DIR "_meta/table.ddl", &ddl);
    ete_assert_contains(buf_cstr(&ddl), "CREATE EXTERNAL TABLE IF NOT EXISTS `orders_snapshot`");
    ete_assert_contains(buf_cstr(&ddl), "`amount` decimal(38,4)");
    ete_assert_contains(buf_cstr(&ddl), "LOCATION 's3://lake/ddb/Orders/snapshots/'");
    ete_text(f->e, "Orders/changes.ddl", &changes);
    ete_assert_contains(buf_cstr(&changes), "`orders_changes`");
    ete_assert_contains(buf_cstr(&changes), "LOCATION 's3://lake/ddb/Orders/changes/'");
    ete_text(f->e, "Orders/current.sql", &view);
    ete_assert_contains(buf_cstr(&view), "CREATE OR REPLACE VIEW `orders_current`");
    ete_assert_contains(buf_cstr(&view), "s.`run` = '" RUN_ID "'");
    ete_text(f->e, RUN_DIR "_SUCCESS", &ok);
    char want[256];
    snprintf(want, sizeof(want),
             "{\"run_id\":\"" RUN_ID "\",\"segments\":2,\"items\":7,\"files\":3,\"bytes\":%llu,"
             "\"consumed_read_units\":3.5}\n",
             (unsigned long long)bytes);
    assert_string_equal(buf_cstr(&ok), want);

    static const char *const documents[] = {
        RUN_DIR "_meta/manifest.json", RUN_DIR "_meta/schema.json", RUN_DIR "_meta/table.ddl",
        "Orders/changes.ddl",          "Orders/current.sql",        NULL};
    assert_success_last(f, documents);
    assert_true(ete_request_index(f->e, "PUT", RUN_DIR "_meta/manifest.json") <
                ete_request_index(f->e, "PUT", RUN_DIR "_meta/table.ddl"));
    assert_int_equal(ete_count(f->e, "Orders/snapshots/run=" RUN_ID "/AWSDynamoDB/"), 0);
    buf_cleanup(&ddl);
    buf_cleanup(&changes);
    buf_cleanup(&view);
    buf_cleanup(&ok);
    fixture_free(f);
}

/* changes.ddl is the table's, written once: an existing one (perhaps edited) stays, while
 * current.sql names the newest run each time. A second commit of the run changes nothing but
 * the documents' end time. */
static void test_changes_ddl_written_once(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    add_files(f);
    put_object(f, "Orders/changes.ddl", "-- edited by hand\n");
    ete_forget(f->e);
    assert_int_equal(commit(f), ERR_OK);
    assert_int_equal(ete_requests(f->e, "PUT", "Orders/changes.ddl"), 0);
    struct buf text = BUF_INIT(0);
    ete_text(f->e, "Orders/changes.ddl", &text);
    assert_string_equal(buf_cstr(&text), "-- edited by hand\n");
    assert_int_equal(ete_requests(f->e, "PUT", "Orders/current.sql"), 1);

    /* Again: nothing removed, changes.ddl still alone, _SUCCESS still last. */
    ete_forget(f->e);
    assert_int_equal(commit(f), ERR_OK);
    assert_int_equal(f->sum.orphans_removed, 0);
    assert_int_equal(ete_requests(f->e, "DELETE", NULL), 0);
    assert_int_equal(ete_requests(f->e, "PUT", "Orders/changes.ddl"), 0);
    static const char *const documents[] = {RUN_DIR "_meta/manifest.json", "Orders/current.sql",
                                            NULL};
    assert_success_last(f, documents);
    buf_cleanup(&text);
    fixture_free(f);
}

/* Without a changes.ddl the first commit writes it, and a later run's commit leaves it. */
static void test_changes_ddl_created_then_kept(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, false);
    add_files(f);
    assert_int_equal(commit(f), ERR_OK);
    assert_int_equal(ete_requests(f->e, "PUT", "Orders/changes.ddl"), 1);
    struct buf first = BUF_INIT(0), again = BUF_INIT(0);
    ete_text(f->e, "Orders/changes.ddl", &first);
    ete_forget(f->e);
    assert_int_equal(commit(f), ERR_OK);
    assert_int_equal(ete_requests(f->e, "PUT", "Orders/changes.ddl"), 0);
    ete_text(f->e, "Orders/changes.ddl", &again);
    assert_string_equal(buf_cstr(&again), buf_cstr(&first));
    buf_cleanup(&first);
    buf_cleanup(&again);
    fixture_free(f);
}

/* The same commit to a directory: the listing finds the orphan by its relative key, the named
 * files stay, and the documents land beside them. */
static void test_commit_file_output(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(NULL, true);
    add_files(f);
    char orphan[256];
    file_key(f, 1, 1, orphan, sizeof(orphan));
    put_object(f, orphan, "left by a crash");
    put_object(f, RUN_DIR "_checkpoint/segment-0.json", "{}");
    assert_int_equal(commit(f), ERR_OK);
    assert_int_equal(f->sum.orphans_removed, 1);
    assert_false(exists(f, orphan));
    assert_true(exists(f, RUN_DIR "_checkpoint/segment-0.json"));
    for (int s = 0; s < SEGMENTS; s++) {
        for (size_t i = 0; i < f->cks[s].n_files; i++) {
            assert_true(exists(f, f->cks[s].files[i].key));
        }
    }
    cJSON *m = ete_json(f->e, RUN_DIR "_meta/manifest.json");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "files")), 3);
    cJSON_Delete(m);
    struct buf ddl = BUF_INIT(0);
    ete_text(f->e, RUN_DIR "_meta/table.ddl", &ddl);
    ete_assert_contains(buf_cstr(&ddl), "LOCATION 'file://");
    assert_true(exists(f, "Orders/changes.ddl"));
    assert_true(exists(f, "Orders/current.sql"));
    assert_true(exists(f, RUN_DIR "_SUCCESS"));
    assert_int_equal(ete_count(f->e, ""), 10); /* 3 files, 1 checkpoint, 6 documents */
    assert_int_equal(f->e->fh->n_reqs, 0);
    buf_cleanup(&ddl);
    fixture_free(f);
}

/* ---- DynamoDB Export's layout ------------------------------------------------------------- */

static void b64_md5(const void *p, size_t n, char out[25])
{
    uint8_t sum[16];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, sum, &len, EVP_md5(), NULL), 1);
    assert_int_equal(EVP_EncodeBlock((unsigned char *)out, sum, 16), 24);
}

/* Each .md5 file holds the base64 MD5 of its manifest's stored bytes. */
static void assert_md5_file(struct fixture *f, const char *name)
{
    char json_key[256], md5_key[256], want[25];
    struct buf doc = BUF_INIT(0), md5 = BUF_INIT(0);
    snprintf(json_key, sizeof(json_key), EXP_DIR "%s.json", name);
    snprintf(md5_key, sizeof(md5_key), EXP_DIR "%s.md5", name);
    assert_true(ete_get(f->e, json_key, &doc));
    assert_true(ete_get(f->e, md5_key, &md5));
    b64_md5(doc.data, doc.len, want);
    assert_string_equal(buf_cstr(&md5), want);
    buf_cleanup(&doc);
    buf_cleanup(&md5);
}

static void test_commit_ddb_export(void **state)
{
    (void)state;
    const char *vars[] = {"ETL_SNAPSHOT_FORMAT=ddb-export", NULL};
    struct fixture *f = fixture_new(vars, false);
    assert_string_equal(f->ext, "json.gz");
    add_files(f);
    char orphan[256];
    file_key(f, 0, 2, orphan, sizeof(orphan));
    assert_string_equal(orphan, EXP_DIR "data/00000-00002-" ETE_ATTEMPT ".json.gz");
    put_object(f, orphan, "left by a crash");
    put_object(f, EXP_DIR "manifest-files.json", "from an earlier attempt");
    assert_int_equal(commit(f), ERR_OK);
    assert_int_equal(f->sum.orphans_removed, 1);
    assert_false(exists(f, orphan));

    /* manifest-files.json: one line per file, as DynamoDB writes it. */
    struct buf files = BUF_INIT(0), want = BUF_INIT(0);
    ete_text(f->e, EXP_DIR "manifest-files.json", &files);
    for (int s = 0; s < SEGMENTS; s++) {
        for (size_t i = 0; i < f->cks[s].n_files; i++) {
            const struct etl_ckpt_file *cf = &f->cks[s].files[i];
            char full[S3_MAX_KEY_BYTES + 8], b64[25];
            assert_true(strlen(cf->etag) == 34 && strcmp(cf->etag + 32, "-1") == 0);
            struct buf bytes = BUF_INIT(0);
            assert_true(ete_get(f->e, cf->key, &bytes));
            b64_md5(bytes.data, bytes.len, b64);
            snprintf(full, sizeof(full), ETE_PREFIX "%s", cf->key);
            assert_int_equal(
                buf_printf(&want, &f->err,
                           "{\"itemCount\":%llu,\"md5Checksum\":\"%s\",\"etag\":\"%s\","
                           "\"dataFileS3Key\":\"%s\"}\n",
                           (unsigned long long)cf->records, b64, cf->etag, full),
                ERR_OK);
            buf_cleanup(&bytes);
        }
    }
    assert_string_equal(buf_cstr(&files), buf_cstr(&want));
    assert_md5_file(f, "manifest-files");
    assert_md5_file(f, "manifest-summary");

    cJSON *sum = ete_json(f->e, EXP_DIR "manifest-summary.json");
    assert_string_equal(ete_json_str(sum, "version"), "2020-06-30");
    assert_string_equal(ete_json_str(sum, "exportArn"), ETE_ARN "Orders/export/" EXPORT_ID);
    assert_string_equal(ete_json_str(sum, "tableArn"), ETE_ARN "Orders");
    assert_string_equal(ete_json_str(sum, "exportTime"), "2026-11-24T00:00:00.000Z");
    assert_string_equal(ete_json_str(sum, "s3Bucket"), ETE_BUCKET);
    assert_string_equal(ete_json_str(sum, "s3Prefix"), ETE_PREFIX "Orders/snapshots/run=" RUN_ID);
    assert_string_equal(ete_json_str(sum, "manifestFilesS3Key"),
                        ETE_PREFIX EXP_DIR "manifest-files.json");
    assert_string_equal(ete_json_str(sum, "s3SseAlgorithm"), "AES256");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(sum, "s3SseKmsKeyId")));
    assert_int_equal((int)ete_json_num(sum, "itemCount"), 7);
    assert_int_equal((uint64_t)ete_json_num(sum, "billedSizeBytes"), f->sum.bytes);
    assert_string_equal(ete_json_str(sum, "outputFormat"), "DYNAMODB_JSON");
    assert_string_equal(ete_json_str(sum, "exportType"), "FULL_EXPORT");
    cJSON_Delete(sum);

    struct buf started = BUF_INIT(0), ddl = BUF_INIT(0);
    assert_true(ete_get(f->e, EXP_DIR "_started", &started));
    assert_int_equal(started.len, 0);

    /* table.ddl over the typed items, located at the data folder. */
    ete_text(f->e, RUN_DIR "_meta/table.ddl", &ddl);
    ete_assert_contains(buf_cstr(&ddl), "CREATE EXTERNAL TABLE IF NOT EXISTS `orders_export`");
    ete_assert_contains(buf_cstr(&ddl), "`pk`:struct<s:string>");
    ete_assert_contains(buf_cstr(&ddl), "`amount`:struct<n:string>");
    ete_assert_contains(buf_cstr(&ddl), "`tags`:struct<ss:array<string>>");
    ete_assert_contains(buf_cstr(&ddl), "`address`:struct<m:string>");
    ete_assert_contains(buf_cstr(&ddl), "LOCATION 's3://lake/ddb/" EXP_DIR "data/';");
    assert_true(exists(f, "Orders/changes.ddl"));
    assert_false(exists(f, "Orders/current.sql")); /* the view reads the rows layout */
    assert_true(exists(f, RUN_DIR "_meta/manifest.json"));

    static const char *const documents[] = {RUN_DIR "_meta/manifest.json",
                                            RUN_DIR "_meta/table.ddl",
                                            EXP_DIR "manifest-files.json",
                                            EXP_DIR "manifest-files.md5",
                                            EXP_DIR "manifest-summary.json",
                                            EXP_DIR "manifest-summary.md5",
                                            EXP_DIR "_started",
                                            "Orders/changes.ddl",
                                            NULL};
    assert_success_last(f, documents);
    buf_cleanup(&files);
    buf_cleanup(&want);
    buf_cleanup(&started);
    buf_cleanup(&ddl);
    fixture_free(f);
}

/* ---- every layout and format, with and without items --------------------------------------- */

struct layout_row {
    const char *name;
    const char *layout;
    const char *format;
    const char *compression;
    size_t files;    /* per segment 0; none in segment 1 */
    const char *ddl; /* part of _meta/table.ddl */
};

static const struct layout_row layout_rows[] = {
    {"rows_jsonl_empty_table", "rows", "jsonl", "gzip", 0, "`orders_snapshot`"},
    {"rows_csv", "rows", "csv", "gzip", 1, "ETL_FORMAT=csv"},
    {"rows_csv_empty_table", "rows", "csv", "none", 0, "ETL_FORMAT=csv"},
    {"rows_jsonl_uncompressed", "rows", "jsonl", "none", 1, "`orders_snapshot`"},
    {"ddb_export_empty_table", "ddb-export", "jsonl", "gzip", 0, "`orders_export`"},
    {"ddb_export_with_csv_changes", "ddb-export", "csv", "gzip", 1, "`orders_export`"},
    {"ddb_export_uncompressed", "ddb-export", "jsonl", "none", 1, "`orders_export`"},
};

/* Every pair commits: the manifest counts the files, table.ddl has its shape (a note for CSV),
 * and _SUCCESS comes last. */
static void test_layout_row(void **state)
{
    const struct layout_row *row = *state;
    char layout[64], format[64], compression[64];
    snprintf(layout, sizeof(layout), "ETL_SNAPSHOT_FORMAT=%s", row->layout);
    snprintf(format, sizeof(format), "ETL_FORMAT=%s", row->format);
    snprintf(compression, sizeof(compression), "ETL_COMPRESSION=%s", row->compression);
    const char *vars[] = {layout, format, compression, NULL};
    struct fixture *f = fixture_new(vars, false);
    for (uint32_t n = 0; n < row->files; n++) {
        add_file(f, 0, n, 2);
    }
    assert_int_equal(commit(f), ERR_OK);
    assert_int_equal(f->sum.files, row->files);
    cJSON *m = ete_json(f->e, RUN_DIR "_meta/manifest.json");
    assert_int_equal((size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "files")),
                     row->files);
    assert_string_equal(ete_json_str(m, "snapshot_format"), row->layout);
    cJSON_Delete(m);
    struct buf ddl = BUF_INIT(0);
    ete_text(f->e, RUN_DIR "_meta/table.ddl", &ddl);
    ete_assert_contains(buf_cstr(&ddl), row->ddl);
    assert_true(exists(f, "Orders/changes.ddl"));
    static const char *const documents[] = {RUN_DIR "_meta/manifest.json",
                                            RUN_DIR "_meta/schema.json", RUN_DIR "_meta/table.ddl",
                                            "Orders/changes.ddl", NULL};
    assert_success_last(f, documents);
    buf_cleanup(&ddl);
    fixture_free(f);
}

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

int main(void)
{
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_commit_rows),
        cmocka_unit_test(test_changes_ddl_written_once),
        cmocka_unit_test(test_changes_ddl_created_then_kept),
        cmocka_unit_test(test_commit_ddb_export),
        cmocka_unit_test(test_commit_file_output),
    };
    static struct CMUnitTest tests[ROWS(plain) + ROWS(layout_rows)];
    size_t n = 0;
    for (size_t i = 0; i < ROWS(plain); i++) {
        tests[n++] = plain[i];
    }
    for (size_t i = 0; i < ROWS(layout_rows); i++) {
        tests[n++] = (struct CMUnitTest){layout_rows[i].name, test_layout_row, NULL, NULL,
                                         (void *)&layout_rows[i]};
    }
    return _cmocka_run_group_tests("test_commit", tests, n, NULL, NULL);
}
