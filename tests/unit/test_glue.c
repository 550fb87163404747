/*
 * test_glue.c - the Glue Data Catalog client on scripted answers: each operation's target,
 * protocol and body, not-found and already-exists answers, VersionId and SkipArchive,
 * BatchCreatePartition's per-partition errors, retries of throttling and 5xx (the DynamoDB
 * client's), and the input checks made before any request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_http.h"
#include "fake_sys.h"
#include "glue.h"
#include "json_client_env.h"
#include "log.h"
#include "test_util.h"

/* Every request: POST / to the Glue endpoint, JSON 1.1, AWSGlue.<op>, signed for glue. */
static void assert_glue_request(const struct fake_request *r, const char *target, const char *body)
{
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, "http://127.0.0.1:4590/");
    assert_string_equal(fake_request_header(r, "X-Amz-Target"), target);
    assert_string_equal(fake_request_header(r, "Content-Type"), "application/x-amz-json-1.1");
    assert_non_null(
        strstr(fake_request_header(r, "Authorization"), "/eu-west-1/glue/aws4_request"));
    assert_string_equal(buf_cstr(&r->body), body);
}

static const char not_found[] =
    "{\"__type\":\"EntityNotFoundException\",\"Message\":\"Database lake not found.\"}";
static const char exists[] =
    "{\"__type\":\"com.amazonaws.glue#AlreadyExistsException\",\"Message\":\"exists\"}";
static const char conflict[] =
    "{\"__type\":\"ConcurrentModificationException\",\"Message\":\"version mismatch\"}";
static const char throttled[] =
    "{\"__type\":\"ThrottlingException\",\"Message\":\"Rate exceeded\"}";
static const char internal[] = "{\"__type\":\"InternalServiceException\",\"Message\":\"oops\"}";

/* CreateDatabase and CreateTable: created, then already there. */
static const struct fake_response created_then_exists[] = {
    {200, NULL, "{}", 0, false},
    {400, NULL, exists, 0, false},
};

/* A Glue client whose transport replays script (n answers; borrowed, so it must outlive e). */
static struct json_client_env *glue_scripted(const struct fake_response *script, size_t n)
{
    struct json_client_env *e = json_client_env_new(json_client_glue_env);
    fake_http_script(e->fh, script, n);
    return e;
}

static void test_get_database(void **state)
{
    (void)state;
    struct fake_response script[] = {
        {200, NULL, "{\"Database\":{\"Name\":\"lake\"}}", 0, false},
        {400, NULL, not_found, 0, false},
    };
    struct json_client_env *e = glue_scripted(script, 2);
    struct err err = ERR_INIT;
    bool found = false;
    assert_int_equal(glue_get_database(&e->c, "lake", &found, &err), ERR_OK);
    assert_true(found);
    assert_glue_request(&e->fh->reqs[0], "AWSGlue.GetDatabase", "{\"Name\":\"lake\"}");
    assert_int_equal(glue_get_database(&e->c, "lake", &found, &err), ERR_OK);
    assert_false(found);
    assert_int_equal(e->fh->n_reqs, 2); /* not found is an answer, never retried */
    json_client_env_free(e);
}

static void test_create_database(void **state)
{
    (void)state;
    struct json_client_env *e = glue_scripted(created_then_exists, 2);
    struct err err = ERR_INIT;
    bool already = true;
    assert_int_equal(glue_create_database(&e->c, "lake", "by \"etl\"", &already, &err), ERR_OK);
    assert_false(already);
    assert_glue_request(
        &e->fh->reqs[0], "AWSGlue.CreateDatabase",
        "{\"DatabaseInput\":{\"Name\":\"lake\",\"Description\":\"by \\\"etl\\\"\"}}");
    assert_int_equal(glue_create_database(&e->c, "lake", NULL, &already, &err), ERR_OK);
    assert_true(already);
    assert_string_equal(buf_cstr(&e->fh->reqs[1].body), "{\"DatabaseInput\":{\"Name\":\"lake\"}}");
    json_client_env_free(e);
}

static void test_get_table(void **state)
{
    (void)state;
    static const char answer[] =
        "{\"Table\":{\"Name\":\"orders_changes\",\"DatabaseName\":\"lake\",\"VersionId\":\"7\","
        "\"StorageDescriptor\":{\"Columns\":[{\"Name\":\"pk\",\"Type\":\"string\"}]}}}";
    struct fake_response script[] = {
        {200, NULL, answer, 0, false},
        {400, NULL, not_found, 0, false},
    };
    struct json_client_env *e = glue_scripted(script, 2);
    struct err err = ERR_INIT;
    struct glue_table t;
    glue_table_init(&t);
    bool found = false;
    assert_int_equal(glue_get_table(&e->c, "lake", "orders_changes", &t, &found, &err), ERR_OK);
    assert_true(found);
    assert_string_equal(t.version_id, "7");
    struct json_val sd, cols;
    assert_true(json_object_get_type(&t.table, "StorageDescriptor", JSON_OBJECT, &sd));
    assert_true(json_object_get_type(&sd, "Columns", JSON_ARRAY, &cols));
    assert_int_equal(json_count(&cols), 1);
    assert_glue_request(&e->fh->reqs[0], "AWSGlue.GetTable",
                        "{\"DatabaseName\":\"lake\",\"Name\":\"orders_changes\"}");
    assert_int_equal(glue_get_table(&e->c, "lake", "orders_changes", &t, &found, &err), ERR_OK);
    assert_false(found);
    assert_string_equal(t.version_id, "");
    glue_table_cleanup(&t);
    json_client_env_free(e);
}

static void test_get_table_bad_answer(void **state)
{
    (void)state;
    struct fake_response script[] = {{200, NULL, "{\"Tabel\":{}}", 0, false}};
    struct json_client_env *e = glue_scripted(script, 1);
    struct err err = ERR_INIT;
    struct glue_table t;
    glue_table_init(&t);
    bool found = true;
    assert_int_equal(glue_get_table(&e->c, "lake", "t", &t, &found, &err), ERR_INVALID_INPUT);
    assert_false(found);
    assert_non_null(strstr(err.msg, "GetTable lake.t"));
    glue_table_cleanup(&t);
    json_client_env_free(e);
}

/* A VersionId that cannot be sent back as it came (not a string, empty, escaped: a NUL would cut
 * it short, or past Glue's 255 bytes) is
 * refused: an UpdateTable without it could overwrite another writer's change (fuzz_glue). A null
 * one is as good as none: the update then has no optimistic check. */
static void test_get_table_unusable_version(void **state)
{
    (void)state;
    char long_id[600];
    snprintf(long_id, sizeof(long_id), "{\"Table\":{\"Name\":\"t\",\"VersionId\":\"%0300d\"}}", 7);
    struct fake_response script[] = {
        {200, NULL, long_id, 0, false},
        {200, NULL, "{\"Table\":{\"Name\":\"t\",\"VersionId\":7}}", 0, false},
        {200, NULL, "{\"Table\":{\"Name\":\"t\",\"VersionId\":\"\"}}", 0, false},
        {200, NULL, "{\"Table\":{\"Name\":\"t\",\"VersionId\":\"7\\u00008\"}}", 0, false},
        {200, NULL, "{\"Table\":{\"Name\":\"t\",\"VersionId\":null}}", 0, false},
    };
    struct json_client_env *e = glue_scripted(script, 5);
    struct err err = ERR_INIT;
    struct glue_table t;
    glue_table_init(&t);
    bool found = true;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(glue_get_table(&e->c, "lake", "t", &t, &found, &err), ERR_INVALID_INPUT);
        assert_false(found);
        assert_non_null(strstr(err.msg, "VersionId"));
        assert_string_equal(t.version_id, "");
    }
    assert_int_equal(glue_get_table(&e->c, "lake", "t", &t, &found, &err), ERR_OK);
    assert_true(found);
    assert_string_equal(t.version_id, "");
    glue_table_cleanup(&t);
    json_client_env_free(e);
}

static void test_create_table(void **state)
{
    (void)state;
    struct json_client_env *e = glue_scripted(created_then_exists, 2);
    struct err err = ERR_INIT;
    static const char input[] = "{\"Name\":\"t\",\"TableType\":\"EXTERNAL_TABLE\"}";
    assert_int_equal(glue_create_table(&e->c, "lake", cur_from_str(input), &err), ERR_OK);
    assert_glue_request(
        &e->fh->reqs[0], "AWSGlue.CreateTable",
        "{\"DatabaseName\":\"lake\",\"TableInput\":{\"Name\":\"t\",\"TableType\":\"EXTERNAL_TABLE\"}}");
    assert_int_equal(glue_create_table(&e->c, "lake", cur_from_str(input), &err), ERR_HTTP);
    assert_true(glue_err_is(&err, "AlreadyExistsException"));
    assert_false(err.retryable);
    assert_int_equal(e->fh->n_reqs, 2);
    json_client_env_free(e);
}

struct update_row {
    const char *name;
    const char *version_id;
    bool skip_archive;
    const char *body;
};

static const struct update_row update_rows[] = {
    {"update_versioned_skip_archive", "12", true,
     "{\"DatabaseName\":\"lake\",\"TableInput\":{\"Name\":\"t\"},\"SkipArchive\":true,"
     "\"VersionId\":\"12\"}"},
    {"update_unversioned", NULL, false,
     "{\"DatabaseName\":\"lake\",\"TableInput\":{\"Name\":\"t\"}}"},
    {"update_empty_version", "", true,
     "{\"DatabaseName\":\"lake\",\"TableInput\":{\"Name\":\"t\"},\"SkipArchive\":true}"},
};

static void test_update_row(void **state)
{
    const struct update_row *row = *state;
    struct fake_response script[] = {{200, NULL, "{}", 0, false}};
    struct json_client_env *e = glue_scripted(script, 1);
    struct err err = ERR_INIT;
    assert_int_equal(glue_update_table(&e->c, "lake", cur_from_str("{\"Name\":\"t\"}"),
                                       row->version_id, row->skip_archive, &err),
                     ERR_OK);
    assert_glue_request(&e->fh->reqs[0], "AWSGlue.UpdateTable", row->body);
    json_client_env_free(e);
}

/* A stale VersionId is the caller's to handle (re-read, merge): it is not retried here. */
static void test_update_conflict_not_retried(void **state)
{
    (void)state;
    struct fake_response script[] = {{400, NULL, conflict, 0, false}};
    struct json_client_env *e = glue_scripted(script, 1);
    struct err err = ERR_INIT;
    assert_int_equal(
        glue_update_table(&e->c, "lake", cur_from_str("{\"Name\":\"t\"}"), "3", true, &err),
        ERR_HTTP);
    assert_true(glue_err_is(&err, "ConcurrentModificationException"));
    assert_int_equal(err.http_status, 400);
    assert_false(err.retryable);
    assert_int_equal(e->fh->n_reqs, 1);
    assert_non_null(strstr(err.msg, "UpdateTable in lake"));
    json_client_env_free(e);
}

/* Throttling and 5xx are retried as the DynamoDB client retries them, with backoff. */
static void test_retries_throttling_and_5xx(void **state)
{
    (void)state;
    struct fake_response script[] = {
        {400, NULL, throttled, 0, false},
        {500, NULL, internal, 0, false},
        {200, NULL, "{}", 0, false},
    };
    struct json_client_env *e = glue_scripted(script, 3);
    struct err err = ERR_INIT;
    assert_int_equal(glue_create_table(&e->c, "lake", cur_from_str("{\"Name\":\"t\"}"), &err),
                     ERR_OK);
    assert_int_equal(e->fh->n_reqs, 3);
    assert_int_equal(e->c.stats.retries, 2);
    assert_int_equal(e->c.stats.throttled, 1);
    json_client_env_free(e);
}

static void test_retries_exhausted(void **state)
{
    (void)state;
    struct fake_response script[] = {
        {503, NULL, internal, 0, false},
        {503, NULL, internal, 0, false},
        {503, NULL, internal, 0, false},
    };
    struct json_client_env *e = glue_scripted(script, 3);
    struct err err = ERR_INIT;
    bool found = false;
    assert_int_equal(glue_get_database(&e->c, "lake", &found, &err), ERR_HTTP);
    assert_int_equal(e->fh->n_reqs, 3);
    assert_true(err.retryable);
    assert_string_equal(err.aws_code, "InternalServiceException");
    json_client_env_free(e);
}

static void test_batch_create_partition(void **state)
{
    (void)state;
    static const char some_exist[] =
        "{\"Errors\":[{\"PartitionValues\":[\"2024-01-01\"],\"ErrorDetail\":{\"ErrorCode\":"
        "\"AlreadyExistsException\",\"ErrorMessage\":\"Partition already exists.\"}}]}";
    static const char one_failed[] =
        "{\"Errors\":[{\"PartitionValues\":[\"a\"],\"ErrorDetail\":{\"ErrorCode\":"
        "\"AlreadyExistsException\"}},{\"PartitionValues\":[\"b\"],\"ErrorDetail\":{"
        "\"ErrorCode\":\"InvalidInputException\",\"ErrorMessage\":\"bad value\"}}]}";
    struct fake_response script[] = {
        {200, NULL, "{}", 0, false},
        {200, NULL, some_exist, 0, false},
        {200, NULL, one_failed, 0, false},
    };
    struct json_client_env *e = glue_scripted(script, 3);
    struct err err = ERR_INIT;
    static const char parts[] = "[{\"Values\":[\"2024-01-01\"]}]";
    assert_int_equal(
        glue_batch_create_partition(&e->c, "lake", "t_changes", cur_from_str(parts), 1, &err),
        ERR_OK);
    assert_glue_request(&e->fh->reqs[0], "AWSGlue.BatchCreatePartition",
                        "{\"DatabaseName\":\"lake\",\"TableName\":\"t_changes\","
                        "\"PartitionInputList\":[{\"Values\":[\"2024-01-01\"]}]}");
    assert_int_equal(
        glue_batch_create_partition(&e->c, "lake", "t_changes", cur_from_str(parts), 1, &err),
        ERR_OK);
    assert_int_equal(
        glue_batch_create_partition(&e->c, "lake", "t_changes", cur_from_str(parts), 1, &err),
        ERR_HTTP);
    assert_string_equal(err.aws_code, "InvalidInputException");
    assert_non_null(strstr(err.msg, "bad value"));
    assert_false(err.retryable);
    json_client_env_free(e);
}

struct bad_input_row {
    const char *name;
    const char *database;
    const char *table;
    const char *json;
    size_t n;
    bool partitions; /* BatchCreatePartition, else CreateTable */
};

static const struct bad_input_row bad_input_rows[] = {
    {"bad_empty_database", "", "t", "{}", 1, false},
    {"bad_long_table", "lake",
     "ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"
     "ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"
     "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt",
     "[{}]", 1, true},
    {"bad_input_not_json", "lake", "t", "{\"Name\":", 1, false},
    {"bad_partitions_not_array", "lake", "t", "{}", 1, true},
    {"bad_partitions_zero", "lake", "t", "[]", 0, true},
    {"bad_partitions_too_many", "lake", "t", "[{}]", 101, true},
};

/* Nothing is sent for input the service would refuse. */
static void test_bad_input_row(void **state)
{
    const struct bad_input_row *row = *state;
    struct json_client_env *e = json_client_env_new(json_client_glue_env);
    struct err err = ERR_INIT;
    enum err_code rc = row->partitions
                           ? glue_batch_create_partition(&e->c, row->database, row->table,
                                                         cur_from_str(row->json), row->n, &err)
                           : glue_create_table(&e->c, row->database, cur_from_str(row->json), &err);
    assert_int_equal(rc, ERR_INVALID_INPUT);
    assert_int_equal(e->fh->n_reqs, 0);
    assert_true(err.msg[0] != '\0');
    json_client_env_free(e);
}

int main(void)
{
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_get_database),
        cmocka_unit_test(test_create_database),
        cmocka_unit_test(test_get_table),
        cmocka_unit_test(test_get_table_bad_answer),
        cmocka_unit_test(test_get_table_unusable_version),
        cmocka_unit_test(test_create_table),
        cmocka_unit_test(test_update_conflict_not_retried),
        cmocka_unit_test(test_retries_throttling_and_5xx),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_batch_create_partition),
    };
    enum { N_PLAIN = sizeof(plain) / sizeof(plain[0]) };
    enum { N_UPDATE = sizeof(update_rows) / sizeof(update_rows[0]) };
    enum { N_BAD = sizeof(bad_input_rows) / sizeof(bad_input_rows[0]) };
    static struct CMUnitTest tests[N_PLAIN + N_UPDATE + N_BAD];
    size_t n = 0;
    for (size_t i = 0; i < N_UPDATE; i++) {
        tests[n++] = (struct CMUnitTest){update_rows[i].name, test_update_row, NULL, NULL,
                                         (void *)&update_rows[i]};
    }
    for (size_t i = 0; i < N_BAD; i++) {
        tests[n++] = (struct CMUnitTest){bad_input_rows[i].name, test_bad_input_row, NULL, NULL,
                                         (void *)&bad_input_rows[i]};
    }
    for (size_t i = 0; i < N_PLAIN; i++) {
        tests[n++] = plain[i];
    }
    int failed = _cmocka_run_group_tests("glue", tests, n, NULL, NULL);
    log_clear_secrets();
    return failed;
}
