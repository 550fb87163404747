/*
 * test_catalog.c - the Glue catalog kept current, on an in-memory Glue behind the fake transport:
 * database and table creation from the DDL model, the read-merge-update with VersionId (new
 * columns appended, the catalog's columns, comments and parameters kept), a
 * ConcurrentModificationException re-read and re-merged (the union of both writers' columns),
 * type widening, the log policy (no UpdateTable), partitions registered once, and failures that
 * leave nothing cached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_catalog.h"
#include "etl_format.h"
#include "fake_http.h"
#include "fake_sys.h"
#include "json.h"
#include "json_client_env.h"
#include "log.h"
#include "test_util.h"

/* ---- an in-memory Glue: one database, tables as their last TableInput ---- */

#define MAX_TABLES 4
#define MAX_OPS    64

struct glue_fake {
    bool database;
    char names[MAX_TABLES][64];
    struct buf inputs[MAX_TABLES]; /* TableInput JSON */
    int versions[MAX_TABLES];
    size_t n_tables;
    int conflicts;          /* answer this many UpdateTables with ConcurrentModificationException */
    const char *rival_json; /* ... after storing this TableInput, as another writer would */
    int fail_get;           /* answer this many GetTables with 500 */
    char ops[MAX_OPS][32];
    size_t n_ops;
    struct buf last_update; /* the last UpdateTable body */
    struct buf last_partitions;
};

static long find_table(struct glue_fake *g, const char *name)
{
    for (size_t i = 0; i < g->n_tables; i++) {
        if (strcmp(g->names[i], name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static enum err_code
answer(struct http_response *resp, int status, const char *body, struct err *err)
{
    resp->status = status;
    return buf_append_str(&resp->body, body, err);
}

static void store(struct glue_fake *g, const char *name, struct cur input)
{
    long i = find_table(g, name);
    if (i < 0) {
        i = (long)g->n_tables++;
        snprintf(g->names[i], sizeof(g->names[i]), "%s", name);
        buf_init(&g->inputs[i], 0);
    }
    struct err err = ERR_INIT;
    buf_reset(&g->inputs[i]);
    assert_int_equal(buf_append_cur(&g->inputs[i], input, &err), ERR_OK);
    g->versions[i]++;
}

/* Stores orders_changes as Glue has it, with these columns (a JSON array's members). */
static void store_columns(struct glue_fake *g, const char *columns)
{
    struct buf table = BUF_INIT(0);
    struct err err = ERR_INIT;
    assert_int_equal(buf_printf(&table, &err,
                                "{\"Name\":\"orders_changes\",\"StorageDescriptor\":{"
                                "\"Columns\":[%s]}}",
                                columns),
                     ERR_OK);
    store(g, "orders_changes", buf_cur(&table));
    buf_cleanup(&table);
}

static enum err_code
glue_fn(void *ctx, const struct http_request *req, struct http_response *resp, struct err *err)
{
    struct glue_fake *g = ctx;
    const char *target = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "X-Amz-Target") == 0) {
            target = req->headers[i].value + strlen("AWSGlue.");
        }
    }
    assert_non_null(target);
    assert_true(g->n_ops < MAX_OPS);
    snprintf(g->ops[g->n_ops++], sizeof(g->ops[0]), "%s", target);
    struct json_val root, v, input;
    struct err perr = ERR_INIT;
    assert_int_equal(json_validate(req->body, 64, &root, &perr), ERR_OK);
    char name[64] = "";
    if (json_object_get_type(&root, "TableInput", JSON_OBJECT, &input)) {
        assert_true(json_object_get_type(&input, "Name", JSON_STRING, &v));
        assert_true(json_string_copy(&v, name, sizeof(name)));
    } else if (json_object_get_type(&root, "Name", JSON_STRING, &v)) {
        assert_true(json_string_copy(&v, name, sizeof(name)));
    }
    long t = find_table(g, name);
    if (strcmp(target, "GetDatabase") == 0) {
        return g->database ? answer(resp, 200, "{\"Database\":{\"Name\":\"lake\"}}", err)
                           : answer(resp, 400, "{\"__type\":\"EntityNotFoundException\"}", err);
    }
    if (strcmp(target, "CreateDatabase") == 0) {
        g->database = true;
        return answer(resp, 200, "{}", err);
    }
    if (strcmp(target, "GetTable") == 0) {
        if (g->fail_get > 0) {
            g->fail_get--;
            return answer(resp, 500, "{\"__type\":\"InternalServiceException\"}", err);
        }
        if (t < 0) {
            return answer(resp, 400, "{\"__type\":\"EntityNotFoundException\"}", err);
        }
        resp->status = 200;
        enum err_code rc =
            buf_printf(&resp->body, err, "{\"Table\":{\"VersionId\":\"%d\",", g->versions[t]);
        /* the stored input without its opening brace */
        return rc == ERR_OK ? buf_append(&resp->body, g->inputs[t].data + 1, g->inputs[t].len - 1,
                                         err) == ERR_OK
                                  ? buf_append_byte(&resp->body, '}', err)
                                  : ERR_NOMEM
                            : rc;
    }
    if (strcmp(target, "CreateTable") == 0) {
        if (t >= 0) {
            return answer(resp, 400, "{\"__type\":\"AlreadyExistsException\"}", err);
        }
        store(g, name, input.raw);
        return answer(resp, 200, "{}", err);
    }
    if (strcmp(target, "UpdateTable") == 0) {
        buf_reset(&g->last_update);
        assert_int_equal(buf_append_cur(&g->last_update, req->body, err), ERR_OK);
        char version[16] = "";
        if (json_object_get_type(&root, "VersionId", JSON_STRING, &v)) {
            (void)json_string_copy(&v, version, sizeof(version));
        }
        if (g->conflicts > 0) {
            g->conflicts--;
            if (g->rival_json != NULL) {
                store(g, name, cur_from_str(g->rival_json));
            }
            return answer(resp, 400, "{\"__type\":\"ConcurrentModificationException\"}", err);
        }
        assert_true(t >= 0);
        char want[16];
        snprintf(want, sizeof(want), "%d", g->versions[t]);
        assert_string_equal(version, want); /* the version read */
        store(g, name, input.raw);
        return answer(resp, 200, "{}", err);
    }
    if (strcmp(target, "BatchCreatePartition") == 0) {
        buf_reset(&g->last_partitions);
        assert_int_equal(buf_append_cur(&g->last_partitions, req->body, err), ERR_OK);
        return answer(resp, 200, "{\"Errors\":[]}", err);
    }
    return answer(resp, 400, "{\"__type\":\"InvalidInputException\"}", err);
}

struct env {
    struct json_client_env *aws; /* its transport answers from g */
    struct glue_fake g;
    struct etl_catalog_config cfg;
    struct etl_catalog cat;
    struct etl_partition partition;
};

static struct env *env_new(enum etl_catalog_policy policy)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    struct err err = ERR_INIT;
    e->aws = json_client_env_new(json_client_glue_env);
    buf_init(&e->g.last_update, 0);
    buf_init(&e->g.last_partitions, 0);
    fake_http_set_fn(e->aws->fh, glue_fn, &e->g);
    snprintf(e->cfg.database, sizeof(e->cfg.database), "lake");
    e->cfg.policy = policy;
    etl_catalog_init(&e->cat, &e->cfg, &e->aws->c);
    assert_int_equal(etl_partition_compile(&e->partition, "dt=%Y-%m-%d/hour=%H", &err), ERR_OK);
    return e;
}

static void env_free(struct env *e)
{
    etl_catalog_cleanup(&e->cat);
    json_client_env_free(e->aws);
    for (size_t i = 0; i < e->g.n_tables; i++) {
        buf_cleanup(&e->g.inputs[i]);
    }
    buf_cleanup(&e->g.last_update);
    buf_cleanup(&e->g.last_partitions);
    free(e);
}

/* The changes table of "orders" for rows with these attributes (a schema document's). */
static void model(struct env *e, const char *attrs, struct etl_ddl_table *t)
{
    struct etl_schema s;
    struct err err = ERR_INIT;
    char doc[2048];
    snprintf(doc, sizeof(doc), "{\"items\":1,\"attributes\":[%s]}", attrs);
    etl_schema_init(&s);
    assert_int_equal(etl_schema_from_json(&s, cur_from_str(doc), &err), ERR_OK);
    struct etl_ddl_ctx ctx = {etl_format_find("jsonl"), &e->partition, "orders",
                              "s3://lake/raw/",         "pk",          ""};
    assert_int_equal(etl_ddl_changes_table(&ctx, &s, t, &err), ERR_OK);
    etl_schema_cleanup(&s);
}

#define PK  "{\"name\":\"pk\",\"types\":{\"S\":1}}"
#define QTY "{\"name\":\"qty\",\"types\":{\"N\":1},\"number\":{\"integer_digits\":3,\"scale\":0}}"
#define PRICE                                                                                      \
    "{\"name\":\"price\",\"types\":{\"N\":1},\"number\":{\"integer_digits\":3,\"scale\":2}}"
#define NOTE     "{\"name\":\"note\",\"types\":{\"S\":1}}"
#define QTY_NULL "{\"name\":\"qty\",\"types\":{\"NULL\":1}}"

/* The stored table's columns as "name type,name type,...". */
static void columns_of(struct env *e, const char *table, char *out, size_t cap)
{
    long t = find_table(&e->g, table);
    assert_true(t >= 0);
    struct json_val root, sd, cols, col, v;
    struct err err = ERR_INIT;
    assert_int_equal(json_validate(buf_cur(&e->g.inputs[t]), 64, &root, &err), ERR_OK);
    assert_true(json_object_get_type(&root, "StorageDescriptor", JSON_OBJECT, &sd));
    assert_true(json_object_get_type(&sd, "Columns", JSON_ARRAY, &cols));
    struct json_iter it;
    json_iter_init(&it, &cols);
    size_t used = 0;
    out[0] = '\0';
    while (json_array_next(&it, &col)) {
        char name[64], type[64];
        assert_true(json_object_get_type(&col, "Name", JSON_STRING, &v));
        assert_true(json_string_copy(&v, name, sizeof(name)));
        assert_true(json_object_get_type(&col, "Type", JSON_STRING, &v));
        assert_true(json_string_copy(&v, type, sizeof(type)));
        if (name[0] == '_') {
            continue; /* metadata columns: checked once, below */
        }
        used +=
            (size_t)snprintf(out + used, cap - used, "%s%s %s", used > 0 ? "," : "", name, type);
    }
}

static void assert_ops(struct env *e, const char *want)
{
    char got[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < e->g.n_ops; i++) {
        used +=
            (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", i > 0 ? "," : "", e->g.ops[i]);
    }
    assert_string_equal(got, want);
    e->g.n_ops = 0;
}

static void test_creates_database_and_table(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK "," QTY, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "GetDatabase,CreateDatabase,GetTable,CreateTable");
    char cols[512];
    columns_of(e, "orders_changes", cols, sizeof(cols));
    assert_string_equal(cols, "pk string,qty bigint");
    const char *in = buf_cstr(&e->g.inputs[0]);
    assert_non_null(strstr(in, "\"TableType\":\"EXTERNAL_TABLE\""));
    assert_non_null(strstr(in, "\"classification\":\"json\""));
    assert_non_null(strstr(in, "\"projection.enabled\":\"true\""));
    assert_non_null(strstr(in, "\"projection.dt.format\":\"yyyy-MM-dd\""));
    assert_non_null(strstr(
        in,
        "\"storage.location.template\":\"s3://lake/raw/orders/changes/dt=${dt}/hour=${hour}/\""));
    assert_non_null(strstr(in, "\"PartitionKeys\":[{\"Name\":\"dt\",\"Type\":\"string\"},"
                               "{\"Name\":\"hour\",\"Type\":\"string\"}]"));
    assert_non_null(strstr(in, "\"Location\":\"s3://lake/raw/orders/changes/\""));
    assert_non_null(strstr(in, "\"SerializationLibrary\":\"org.openx.data.jsonserde.JsonSerDe\""));
    assert_non_null(strstr(in, "{\"Name\":\"_op\",\"Type\":\"string\"}"));
    assert_int_equal(e->cat.stats.tables_created, 1);
    /* The same columns again: known, no call. */
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "");
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

/* A new column: read, merged (the catalog's columns, comments and parameters kept), updated
 * with the version read and SkipArchive. */
static void test_new_column_merges(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    store(&e->g, "orders_changes",
          cur_from_str("{\"Name\":\"orders_changes\",\"Parameters\":{\"owner\":\"team-a\","
                       "\"projection.stale.type\":\"enum\"},\"StorageDescriptor\":{\"Columns\":["
                       "{\"Name\":\"pk\",\"Type\":\"string\"},{\"Name\":\"legacy\",\"Type\":"
                       "\"int\",\"Comment\":\"kept \\\"as is\\\"\"}]}}"));
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, NOTE "," PK, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "GetDatabase,GetTable,UpdateTable");
    char cols[512];
    columns_of(e, "orders_changes", cols, sizeof(cols));
    assert_string_equal(cols, "pk string,legacy int,note string");
    const char *up = buf_cstr(&e->g.last_update);
    assert_non_null(strstr(up, "\"SkipArchive\":true"));
    assert_non_null(strstr(up, "\"VersionId\":\"1\""));
    assert_non_null(strstr(up, "\"Comment\":\"kept \\\"as is\\\"\""));
    assert_non_null(strstr(up, "\"owner\":\"team-a\""));
    assert_null(strstr(up, "projection.stale")); /* projection is ours: rewritten whole */
    assert_int_equal(e->cat.stats.tables_updated, 1);
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

/* Two writers: ours fails with ConcurrentModificationException after the other stored its
 * column; ours reads again, merges again, and the table ends with both. */
static void test_conflict_keeps_union(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    store_columns(&e->g, "{\"Name\":\"pk\",\"Type\":\"string\"}");
    e->g.conflicts = 1;
    e->g.rival_json = "{\"Name\":\"orders_changes\",\"StorageDescriptor\":{\"Columns\":["
                      "{\"Name\":\"pk\",\"Type\":\"string\"},{\"Name\":\"theirs\",\"Type\":"
                      "\"boolean\"}]}}";
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK "," NOTE, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "GetDatabase,GetTable,UpdateTable,GetTable,UpdateTable");
    char cols[512];
    columns_of(e, "orders_changes", cols, sizeof(cols));
    assert_string_equal(cols, "pk string,theirs boolean,note string");
    assert_int_equal(e->cat.stats.conflicts, 1);
    assert_true(e->aws->fs.n_sleeps > 0); /* backed off before reading again */
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

static void test_conflicts_exhausted(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    store(&e->g, "orders_changes", cur_from_str("{\"Name\":\"orders_changes\"}"));
    e->g.conflicts = 100;
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK, &t);
    assert_int_not_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_true(err.retryable);
    assert_non_null(strstr(err.msg, "orders_changes"));
    assert_int_equal(e->cat.stats.conflicts, ETL_CATALOG_MAX_CONFLICTS + 1);
    assert_int_equal(e->cat.stats.failures, 1);
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

/* Types: integers widen to the decimal the rows need, a changed kind to string; a column seen
 * only as NULL is no evidence and changes nothing. */
static void test_types_widen(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    store_columns(&e->g, "{\"Name\":\"pk\",\"Type\":\"bigint\"},{\"Name\":\"price\",\"Type\":"
                         "\"bigint\"},{\"Name\":\"qty\",\"Type\":\"bigint\"}");
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK "," PRICE "," QTY_NULL, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    char cols[512];
    columns_of(e, "orders_changes", cols, sizeof(cols));
    assert_string_equal(cols, "pk string,price decimal(38,2),qty bigint");
    assert_int_equal(e->cat.stats.widened, 2);
    e->g.n_ops = 0;
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, ""); /* known now, NULL-only qty included */
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

/* log: the table is never updated; each drifting column is logged and counted once. */
static void test_log_policy_never_updates(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_LOG);
    e->g.database = true;
    store_columns(&e->g, "{\"Name\":\"pk\",\"Type\":\"string\"},{\"Name\":\"qty\",\"Type\":"
                         "\"boolean\"}");
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK "," QTY "," NOTE, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "GetDatabase,GetTable");
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, ""); /* the drift is logged: the next batch costs no call */
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, true, &err), ERR_OK); /* a commit */
    assert_ops(e, "GetTable");
    for (size_t i = 0; i < e->g.n_ops; i++) {
        assert_string_not_equal(e->g.ops[i], "UpdateTable");
    }
    /* qty's type, note, and the metadata columns this old table lacks: each once */
    assert_int_equal(e->cat.stats.drift, 2 + (t.n_cols - 3));
    char cols[512];
    columns_of(e, "orders_changes", cols, sizeof(cols));
    assert_string_equal(cols, "pk string,qty boolean");
    etl_ddl_table_cleanup(&t);
    /* A missing table is still created: log leaves existing tables alone. */
    e->g.n_ops = 0;
    struct etl_ddl_table other;
    struct etl_schema s;
    etl_schema_init(&s);
    assert_int_equal(
        etl_schema_from_json(&s, cur_from_str("{\"items\":1,\"attributes\":[" PK "]}"), &err),
        ERR_OK);
    struct etl_ddl_ctx ctx = {etl_format_find("jsonl"), &e->partition, "users",
                              "s3://lake/raw/",         "pk",          ""};
    assert_int_equal(etl_ddl_changes_table(&ctx, &s, &other, &err), ERR_OK);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &other, false, &err), ERR_OK);
    assert_ops(e, "GetTable,CreateTable");
    etl_ddl_table_cleanup(&other);
    etl_schema_cleanup(&s);
    env_free(e);
}

static void test_partitions_once(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK, &t);
    const char *paths[] = {"dt=2026-01-02/hour=05", "dt=2026-01-02/hour=06",
                           "dt=2026-01-02/hour=05"};
    assert_int_equal(etl_catalog_add_partitions(&e->cat, &t, paths, 3, &err), ERR_OK);
    assert_ops(e, "GetDatabase,BatchCreatePartition");
    const char *body = buf_cstr(&e->g.last_partitions);
    assert_non_null(strstr(body, "\"Values\":[\"2026-01-02\",\"05\"]"));
    assert_non_null(
        strstr(body, "\"Location\":\"s3://lake/raw/orders/changes/dt=2026-01-02/hour=06/\""));
    assert_int_equal(e->cat.stats.partitions, 2);
    assert_int_equal(etl_catalog_add_partitions(&e->cat, &t, paths + 1, 2, &err), ERR_OK);
    assert_ops(e, ""); /* registered from this container already */
    const char *bad[] = {"dt=2026-01-02"};
    assert_int_equal(etl_catalog_add_partitions(&e->cat, &t, bad, 1, &err), ERR_INVALID_INPUT);
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

/* A failed read caches nothing: the next call does the work again. */
static void test_failure_caches_nothing(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    e->g.fail_get = 3; /* every attempt of one call */
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_HTTP);
    assert_true(err.retryable);
    assert_int_equal(e->cat.stats.failures, 1);
    e->g.n_ops = 0;
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "GetTable,CreateTable");
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

/* Glue's Column.Type is optional, and may be longer than this code reads (a long struct<...>):
 * such a column is kept as the catalog has it, never widened, and the sync goes on (it used to
 * fail every batch; its message was once written from the merge's columns after they were
 * freed). A Type that is not a string is no answer Glue gives: refused, naming the column. */
static void test_column_without_type(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    char columns[4096], long_type[3000];
    memset(long_type, 'x', sizeof(long_type) - 1);
    memcpy(long_type, "struct<", 7);
    long_type[sizeof(long_type) - 2] = '>';
    long_type[sizeof(long_type) - 1] = '\0';
    snprintf(columns, sizeof(columns),
             "{\"Name\":\"legacy\"},{\"Name\":\"pk\",\"Type\":\"string\"},"
             "{\"Name\":\"qty\",\"Type\":\"%s\"}",
             long_type);
    store_columns(&e->g, columns);
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK "," QTY "," NOTE, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "GetDatabase,GetTable,UpdateTable");
    const char *up = buf_cstr(&e->g.last_update);
    assert_non_null(strstr(up, "{\"Name\":\"legacy\"},{\"Name\":\"pk\",\"Type\":\"string\"}"));
    char want[3100];
    snprintf(want, sizeof(want), "{\"Name\":\"qty\",\"Type\":\"%s\"}", long_type);
    assert_non_null(strstr(up, want)); /* not widened to bigint's merge */
    assert_non_null(strstr(up, "{\"Name\":\"note\",\"Type\":\"string\"}"));
    /* Known now: the next batch with the same columns costs no call. */
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "");
    etl_ddl_table_cleanup(&t);
    env_free(e);

    e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    store_columns(&e->g, "{\"Name\":\"legacy\",\"Type\":7},{\"Name\":\"pk\",\"Type\":\"string\"}");
    model(e, PK, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_INVALID_INPUT);
    assert_string_equal(err.msg, "GetTable orders_changes: column legacy has a Type that is not a "
                                 "string");
    assert_ops(e, "GetDatabase,GetTable");
    assert_int_equal(e->cat.stats.failures, 1);
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

/* A catalog column whose Name this code cannot read (none; over 255 bytes, as a long non-ASCII
 * name can be) is sent back whole, as it came: columns are never dropped (they once were). */
static void test_unreadable_name_kept(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    char columns[1024], name[301], want[400];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(columns, sizeof(columns),
             "{\"Type\":\"int\"},{\"Name\":\"%s\",\"Type\":\"string\"},"
             "{\"Name\":\"pk\",\"Type\":\"string\"}",
             name);
    store_columns(&e->g, columns);
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK "," NOTE, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "GetDatabase,GetTable,UpdateTable");
    const char *up = buf_cstr(&e->g.last_update);
    snprintf(want, sizeof(want),
             "\"Columns\":[{\"Type\":\"int\"},{\"Name\":\"%s\",\"Type\":\"string\"},"
             "{\"Name\":\"pk\",\"Type\":\"string\"}",
             name);
    assert_non_null(strstr(up, want));
    assert_non_null(strstr(up, "{\"Name\":\"note\",\"Type\":\"string\"}"));
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "");
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

/* A table Glue holds with two columns of one name: the merge reads the first, so the first's
 * type is what stays known, and the next batch with the same columns costs no call. */
static void test_duplicate_columns_known(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    e->g.database = true;
    store_columns(&e->g, "{\"Name\":\"pk\",\"Type\":\"string\"},{\"Name\":\"pk\",\"Type\":"
                         "\"boolean\"}");
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK, &t);
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "GetDatabase,GetTable,UpdateTable"); /* the metadata columns are new */
    assert_int_equal(etl_catalog_sync_table(&e->cat, &t, false, &err), ERR_OK);
    assert_ops(e, "");
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

static void test_off_does_nothing(void **state)
{
    (void)state;
    struct env *e = env_new(ETL_CATALOG_UPDATE);
    struct etl_catalog off;
    struct etl_catalog_config none = {"", ETL_CATALOG_UPDATE};
    etl_catalog_init(&off, &none, &e->aws->c);
    assert_false(etl_catalog_enabled(&off));
    struct etl_ddl_table t;
    struct err err = ERR_INIT;
    model(e, PK, &t);
    assert_int_equal(etl_catalog_sync_table(&off, &t, true, &err), ERR_OK);
    assert_ops(e, "");
    etl_catalog_cleanup(&off);
    etl_ddl_table_cleanup(&t);
    env_free(e);
}

struct type_row {
    const char *name;
    const char *have;
    const char *incoming;
    const char *want;
};

static const struct type_row type_rows[] = {
    {"type_same", "bigint", "bigint", "bigint"},
    {"type_string_holds_all", "string", "decimal(38,2)", "string"},
    {"type_int_to_bigint", "int", "bigint", "bigint"},
    {"type_bigint_holds_int", "bigint", "smallint", "bigint"},
    {"type_bigint_to_decimal", "bigint", "decimal(38,3)", "decimal(38,3)"},
    {"type_decimal_holds_bigint", "decimal(38,2)", "bigint", "decimal(38,2)"},
    {"type_decimal_scale_up", "decimal(38,2)", "decimal(38,5)", "decimal(38,5)"},
    {"type_declared_decimal", "decimal(10,2)", "decimal(12,4)", "decimal(12,4)"},
    {"type_decimal_too_wide", "decimal(38,30)", "bigint", "string"},
    {"type_double_holds_decimal", "double", "decimal(38,2)", "double"},
    {"type_bool_to_string", "boolean", "bigint", "string"},
    {"type_number_to_string", "bigint", "string", "string"},
    {"type_timestamp_to_string", "timestamp", "date", "string"},
};

static void test_type_row(void **state)
{
    const struct type_row *row = *state;
    char out[64];
    etl_catalog_merge_type(row->have, row->incoming, out, sizeof(out));
    assert_string_equal(out, row->want);
}

int main(void)
{
    static const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_creates_database_and_table),
        cmocka_unit_test(test_new_column_merges),
        cmocka_unit_test(test_conflict_keeps_union),
        cmocka_unit_test(test_conflicts_exhausted),
        cmocka_unit_test(test_types_widen),
        cmocka_unit_test(test_log_policy_never_updates),
        cmocka_unit_test(test_partitions_once),
        cmocka_unit_test(test_failure_caches_nothing),
        cmocka_unit_test(test_column_without_type),
        cmocka_unit_test(test_unreadable_name_kept),
        cmocka_unit_test(test_duplicate_columns_known),
        cmocka_unit_test(test_off_does_nothing),
    };
    enum { N_PLAIN = sizeof(plain) / sizeof(plain[0]) };
    enum { N_TYPE = sizeof(type_rows) / sizeof(type_rows[0]) };
    static struct CMUnitTest tests[N_PLAIN + N_TYPE];
    size_t n = 0;
    for (size_t i = 0; i < N_TYPE; i++) {
        tests[n++] = (struct CMUnitTest){type_rows[i].name, test_type_row, NULL, NULL,
                                         (void *)&type_rows[i]};
    }
    for (size_t i = 0; i < N_PLAIN; i++) {
        tests[n++] = plain[i];
    }
    int failed = _cmocka_run_group_tests("catalog", tests, n, NULL, NULL);
    log_clear_secrets();
    return failed;
}
