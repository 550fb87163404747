/*
 * test_sink.c - the sink names every object within the limits: a key or path that would be too
 * long is an error, never silently cut to name another object; an existing file is read back
 * whole to tell a retry (same bytes) from a clash (other bytes).
 */
#include <stdio.h>
#include <string.h>

#include "etl_config.h"
#include "etl_sink.h"
#include "etl_test_env.h"
#include "test_util.h"

static enum err_code
ignore_entry(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err)
{
    (void)ctx, (void)key, (void)size, (void)etag, (void)err;
    fail_msg("no object should be listed");
    return ERR_OK;
}

static void load(struct etl_config *cfg, const char *output)
{
    char var[256];
    snprintf(var, sizeof(var), "ETL_OUTPUT=%s", output);
    char *const env[] = {var, NULL};
    struct err err = ERR_INIT;
    assert_int_equal(etl_config_load(cfg, env, &err), ERR_OK);
}

static void assert_refused(enum err_code rc, const struct err *err, const char *what)
{
    assert_int_equal(rc, ERR_INVALID_INPUT);
    if (strstr(err->msg, what) == NULL) {
        fail_msg("\"%s\" lacks \"%s\"", err->msg, what);
    }
}

/* S3: a prefix + key over 1,024 bytes is refused before any request (the client is NULL). */
static void test_s3_key_too_long(void **state)
{
    (void)state;
    struct etl_config cfg;
    load(&cfg, "s3://lake/prefix/");
    struct etl_sink sink;
    etl_sink_init(&sink, &cfg.out, &cfg.put, NULL);
    char rel[1100];
    memset(rel, 'k', sizeof(rel) - 1);
    rel[sizeof(rel) - 1] = '\0';
    struct buf out = BUF_INIT(0);
    bool found = true;
    struct err err = ERR_INIT;
    assert_refused(etl_sink_get(&sink, rel, &out, &found, &err), &err,
                   "S3 key over 1024 bytes: prefix/kkk");
    assert_false(found);
    err_clear(&err);
    assert_refused(etl_sink_delete(&sink, rel, &err), &err, "S3 key over 1024 bytes: prefix/kkk");
    err_clear(&err);
    assert_refused(etl_sink_list(&sink, rel, ignore_entry, NULL, &err), &err,
                   "S3 key over 1024 bytes: prefix/kkk");
    buf_cleanup(&out);
}

/* Files: a directory + key over the path limit is refused, not cut to a shorter path. */
static void test_file_path_too_long(void **state)
{
    (void)state;
    struct etl_config cfg;
    load(&cfg, "file:///tmp/etl-sink-test/");
    struct etl_sink sink;
    etl_sink_init(&sink, &cfg.out, &cfg.put, NULL);
    static char rel[5000];
    memset(rel, 'p', sizeof(rel) - 1);
    rel[sizeof(rel) - 1] = '\0';
    struct buf out = BUF_INIT(0);
    bool found = true;
    struct err err = ERR_INIT;
    assert_refused(etl_sink_get(&sink, rel, &out, &found, &err), &err,
                   "output path over 4095 bytes: /tmp/etl-sink-test/ppp");
    assert_false(found);
    err_clear(&err);
    assert_refused(etl_sink_delete(&sink, rel, &err), &err,
                   "output path over 4095 bytes: /tmp/etl-sink-test/ppp");
    err_clear(&err);
    assert_refused(etl_sink_put(&sink, rel, cur_from_str("x"), NULL, &err), &err,
                   "output path over 4095 bytes: /tmp/etl-sink-test/ppp");
    buf_cleanup(&out);
}

/* Files: an existing object is read back in pieces (a body of many 4 KiB chunks, not a multiple
 * of one): the same bytes are recognised as already written, one byte changed at the end goes to
 * the content-hash name. */
static void test_file_put_new_reads_back_whole(void **state)
{
    (void)state;
    struct etl_test_env *e = ete_new_file(NULL);
    static uint8_t body[100003];
    for (size_t i = 0; i < sizeof(body); i++) {
        body[i] = (uint8_t)(i * 7 + i / 4096);
    }
    static const enum etl_put_outcome want[] = {ETL_PUT_WRITTEN, ETL_PUT_IDENTICAL,
                                                ETL_PUT_RENAMED};
    for (size_t round = 0; round < 3; round++) {
        if (round == 2) {
            body[sizeof(body) - 1] ^= 1;
        }
        char key[256];
        enum etl_put_outcome outcome;
        struct err err = ERR_INIT;
        assert_int_equal(etl_sink_put_new(&e->sink, "t/changes/1-2", "jsonl",
                                          cur_make(body, sizeof(body)), NULL, key, sizeof(key),
                                          &outcome, &err),
                         ERR_OK);
        assert_int_equal(outcome, want[round]);
        assert_true((strcmp(key, "t/changes/1-2.jsonl") == 0) == (round < 2));
    }
    ete_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_key_too_long),
        cmocka_unit_test(test_file_path_too_long),
        cmocka_unit_test(test_file_put_new_reads_back_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
