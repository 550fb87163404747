/*
 * fuzz_checkpoint.c - the snapshot's durable documents (function/snapshot/etl_checkpoint.c): a
 * segment checkpoint (_checkpoint/segment-N.json, read for segment 2 of 4 with one dataset and
 * with two) and the run document (_checkpoint/run.json), both read from S3 and so from bytes a
 * person or a crashed invocation may have left. A document that reads must write a document that
 * reads again, and writing that one gives the same bytes: a resumed run goes on from what it
 * read, not from something the next resume reads differently.
 */
#include <string.h>

#include "etl_checkpoint.h"
#include "fuzz_util.h"

#define SEGMENT        2
#define TOTAL_SEGMENTS 4

static void check_ckpt(struct cur text, size_t n_datasets)
{
    struct etl_ckpt ck, back;
    struct buf doc = BUF_INIT(0), again = BUF_INIT(0);
    struct err err = ERR_INIT;
    FUZZ_CHECK(etl_ckpt_init(&ck, SEGMENT, TOTAL_SEGMENTS, n_datasets, &err) == ERR_OK);
    FUZZ_CHECK(etl_ckpt_init(&back, SEGMENT, TOTAL_SEGMENTS, n_datasets, &err) == ERR_OK);
    enum err_code rc = etl_ckpt_from_json(&ck, text, &err);
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
        goto out;
    }
    for (size_t i = 0; i < ck.n_files; i++) {
        FUZZ_CHECK(ck.files[i].dataset < ck.n_ds);
        FUZZ_CHECK(memchr(ck.files[i].key, '\0', sizeof(ck.files[i].key)) != NULL);
    }
    FUZZ_CHECK(etl_ckpt_to_json(&ck, "T", "2026-11-24T000000Z", &doc, &err) == ERR_OK);
    rc = etl_ckpt_from_json(&back, buf_cur(&doc), &err);
    if (rc != ERR_OK) {
        fprintf(stderr, "re-reading failed: %s\n%.*s\n", err.msg, (int)doc.len,
                (const char *)doc.data);
    }
    FUZZ_CHECK(rc == ERR_OK);
    FUZZ_CHECK(etl_ckpt_to_json(&back, "T", "2026-11-24T000000Z", &again, &err) == ERR_OK);
    if (again.len != doc.len || memcmp(again.data, doc.data, doc.len) != 0) {
        fprintf(stderr, "first:  %.*s\nsecond: %.*s\n", (int)doc.len, (const char *)doc.data,
                (int)again.len, (const char *)again.data);
    }
    FUZZ_CHECK(again.len == doc.len && memcmp(again.data, doc.data, doc.len) == 0);
    FUZZ_CHECK(back.n_files == ck.n_files && back.done == ck.done && back.items == ck.items);
out:
    etl_ckpt_cleanup(&ck);
    etl_ckpt_cleanup(&back);
    buf_cleanup(&doc);
    buf_cleanup(&again);
}

static void check_run(struct cur text)
{
    struct etl_run run, back;
    struct buf doc = BUF_INIT(0), again = BUF_INIT(0);
    struct err err = ERR_INIT;
    enum err_code rc = etl_run_from_json(&run, text, &err);
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
        goto out;
    }
    FUZZ_CHECK(run.total_segments >= 1);
    FUZZ_CHECK(memchr(run.table, '\0', sizeof(run.table)) != NULL);
    FUZZ_CHECK(memchr(run.run_id, '\0', sizeof(run.run_id)) != NULL);
    FUZZ_CHECK(etl_run_to_json(&run, &doc, &err) == ERR_OK);
    rc = etl_run_from_json(&back, buf_cur(&doc), &err);
    if (rc != ERR_OK) {
        fprintf(stderr, "re-reading failed: %s\n%.*s\n", err.msg, (int)doc.len,
                (const char *)doc.data);
    }
    FUZZ_CHECK(rc == ERR_OK);
    FUZZ_CHECK(etl_run_to_json(&back, &again, &err) == ERR_OK);
    if (again.len != doc.len || memcmp(again.data, doc.data, doc.len) != 0) {
        fprintf(stderr, "first:  %.*s\nsecond: %.*s\n", (int)doc.len, (const char *)doc.data,
                (int)again.len, (const char *)again.data);
    }
    FUZZ_CHECK(again.len == doc.len && memcmp(again.data, doc.data, doc.len) == 0);
    FUZZ_CHECK(strcmp(back.table, run.table) == 0 && strcmp(back.run_id, run.run_id) == 0);
    FUZZ_CHECK(back.run_ms == run.run_ms && back.total_segments == run.total_segments);
out:
    buf_cleanup(&doc);
    buf_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cur text = cur_make(data, size);
    check_ckpt(text, 1);
    check_ckpt(text, 2);
    check_run(text);
    return 0;
}
