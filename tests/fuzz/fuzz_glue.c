/*
 * fuzz_glue.c - the Glue Data Catalog's answers, which the server controls: runtime/glue.c as
 * function/lake/etl_catalog.c drives it (GetDatabase, CreateDatabase, GetTable, CreateTable,
 * UpdateTable, BatchCreatePartition), on a fake transport that serves the input's answers in the
 * order the requests arrive and a fake clock whose sleeps only move it on.
 * Input: lines. The first sets the mode: 'L' the log policy, 'R' refresh, 'W' a wider model
 * synced after the first, 'D' a deadline 60 s ahead. Each further line answers one request:
 * "ddd body" (status ddd, an optional space, the body), "!" a reset connection, anything else a
 * 200 with the line as its body. Past the last line the connection fails for good.
 * Checks besides not crashing: every call ends in ERR_OK or a failure with its code and message;
 * every body sent is a JSON object; a CreateTable holds the model's columns in order; no
 * UpdateTable under the log policy; an UpdateTable keeps every column of the table it merged
 * into, holds each of the model's with a type that holds the model's, carries the VersionId read
 * and SkipArchive; conflicts end after ETL_CATALOG_MAX_CONFLICTS re-reads, backoffs stay within
 * AWS_MAX_BACKOFF_MS; a failed call caches nothing (doing it again sends requests) and a
 * successful one caches its work (doing it again sends none).
 */
#include <string.h>
#include <strings.h>

#include "aws.h"
#include "etl_catalog.h"
#include "etl_ddl.h"
#include "etl_format.h"
#include "etl_partition.h"
#include "etl_schema.h"
#include "fuzz_util.h"
#include "glue.h"
#include "json.h"
#include "log.h"

#define MAX_ATTEMPTS AWS_DEFAULT_MAX_ATTEMPTS
#define DEADLINE_MS  60000
#define JSON_DEPTH   64 /* what glue.c validates answers with */

static char *const glue_env[] = {
    "AWS_REGION=eu-west-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_GLUE=http://127.0.0.1:4590",
    NULL,
};

/* The changes table of "orders", first with pk and qty, then (mode 'W') wider: a decimal, a
 * column seen only as NULL (untyped) and a new string. */
#define PK  "{\"name\":\"pk\",\"types\":{\"S\":1}}"
#define QTY "{\"name\":\"qty\",\"types\":{\"N\":1},\"number\":{\"integer_digits\":3,\"scale\":0}}"
#define PRICE                                                                                      \
    "{\"name\":\"price\",\"types\":{\"N\":1},\"number\":{\"integer_digits\":3,\"scale\":2}}"
#define GONE "{\"name\":\"gone\",\"types\":{\"NULL\":1}}"
#define NOTE "{\"name\":\"note\",\"types\":{\"S\":1}}"

static const char *const model_attrs[] = {PK "," QTY, PK "," QTY "," PRICE "," GONE "," NOTE};

static const char *const partition_paths[] = {
    "dt=2026-01-02/hour=05",
    "dt=2026-01-02/hour=06",
    "dt=2026-01-02/hour=05",
};

/* What every input shares, built once. */
struct fixture {
    struct aws_endpoints eps;
    struct etl_partition partition;
    struct etl_ddl_table models[2];
};

/* ---- the clock: sleeping moves it on, and nothing really waits ---- */

struct clock {
    struct sys sys;
    int64_t mono_ms;
    uint64_t random_state;
    size_t n_sleeps;
};

static int64_t clock_wall(void *ctx)
{
    (void)ctx;
    return 1795503600000LL;
}

static int64_t clock_mono(void *ctx)
{
    return ((struct clock *)ctx)->mono_ms;
}

static void clock_sleep(void *ctx, int64_t ms)
{
    struct clock *c = ctx;
    FUZZ_CHECK(ms >= 0 && ms <= AWS_MAX_BACKOFF_MS);
    c->mono_ms += ms;
    c->n_sleeps++;
}

static uint64_t clock_random(void *ctx)
{
    struct clock *c = ctx;
    c->random_state = c->random_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return c->random_state;
}

static void clock_init(struct clock *c)
{
    memset(c, 0, sizeof(*c));
    c->sys = (struct sys){clock_wall, clock_mono, clock_sleep, clock_random, c};
    c->mono_ms = 1000000;
    c->random_state = 42;
}

/* ---- the server: the input's answers, in order; each request checked ---- */

struct server {
    struct http_transport base;
    struct cur rest; /* the answers not served yet */
    const struct etl_ddl_table *model;
    enum etl_catalog_policy policy;
    size_t n_requests;  /* since the last server_reset */
    size_t n_get_table; /* GetTable requests since the last server_reset */
    struct buf table;   /* the last GetTable answer with a 2xx status */
    bool have_table;
};

static void server_reset(struct server *s, const struct etl_ddl_table *model)
{
    s->model = model;
    s->n_requests = 0;
    s->n_get_table = 0;
}

static bool next_line(struct cur *rest, struct cur *line)
{
    if (rest->len == 0) {
        return false;
    }
    const uint8_t *nl = memchr(rest->ptr, '\n', rest->len);
    size_t n = nl != NULL ? (size_t)(nl - rest->ptr) : rest->len;
    *line = cur_make(rest->ptr, n);
    rest->ptr += n + (nl != NULL ? 1 : 0);
    rest->len -= n + (nl != NULL ? 1 : 0);
    return true;
}

static const char *request_target(const struct http_request *req)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "X-Amz-Target") == 0) {
            const char *v = req->headers[i].value;
            FUZZ_CHECK(strncmp(v, "AWSGlue.", 8) == 0);
            return v + 8;
        }
    }
    FUZZ_CHECK(!"a Glue request without X-Amz-Target");
    return "";
}

/* The column named name in a Columns array, or false. Names compare as the code reads them:
 * unescaped into a name-sized array. */
static bool find_column(const struct json_val *cols, const char *name, struct json_val *found)
{
    struct json_iter it;
    struct json_val col, v;
    char have[ETL_DDL_NAME_MAX];
    json_iter_init(&it, cols);
    while (json_array_next(&it, &col)) {
        if (json_object_get_type(&col, "Name", JSON_STRING, &v) &&
            json_string_copy(&v, have, sizeof(have)) && strcmp(have, name) == 0) {
            *found = col;
            return true;
        }
    }
    return false;
}

static bool find_raw(const struct json_val *cols, struct cur raw)
{
    struct json_iter it;
    struct json_val col;
    json_iter_init(&it, cols);
    while (json_array_next(&it, &col)) {
        if (col.raw.len == raw.len && memcmp(col.raw.ptr, raw.ptr, raw.len) == 0) {
            return true;
        }
    }
    return false;
}

static void columns_of(const struct json_val *table_input, struct json_val *cols)
{
    struct json_val sd;
    FUZZ_CHECK(json_object_get_type(table_input, "StorageDescriptor", JSON_OBJECT, &sd));
    FUZZ_CHECK(json_object_get_type(&sd, "Columns", JSON_ARRAY, cols));
}

/* CreateTable: the model's definition, its columns in order. */
static void check_create(const struct server *s, const struct json_val *input)
{
    struct json_val cols, col, v;
    struct json_iter it;
    char name[ETL_DDL_NAME_MAX];
    FUZZ_CHECK(json_object_get_type(input, "Name", JSON_STRING, &v));
    FUZZ_CHECK(json_string_copy(&v, name, sizeof(name)) && strcmp(name, s->model->name) == 0);
    columns_of(input, &cols);
    FUZZ_CHECK(json_count(&cols) == s->model->n_cols);
    json_iter_init(&it, &cols);
    for (size_t i = 0; json_array_next(&it, &col); i++) {
        FUZZ_CHECK(json_object_get_type(&col, "Name", JSON_STRING, &v));
        FUZZ_CHECK(json_string_copy(&v, name, sizeof(name)));
        FUZZ_CHECK(strcmp(name, s->model->cols[i].name) == 0);
    }
}

/* UpdateTable: the merge of the model into the table last read. */
static void check_update(const struct server *s, const struct json_val *root)
{
    struct json_val input, cols, col, v, answer, table, have_cols;
    struct err perr = ERR_INIT;
    char name[ETL_DDL_NAME_MAX], type[2048], merged[2048];
    FUZZ_CHECK(s->policy == ETL_CATALOG_UPDATE); /* log never updates */
    FUZZ_CHECK(s->have_table);                   /* only after a read */
    FUZZ_CHECK(json_object_get_type(root, "TableInput", JSON_OBJECT, &input));
    FUZZ_CHECK(json_object_get_type(&input, "Name", JSON_STRING, &v));
    FUZZ_CHECK(json_string_copy(&v, name, sizeof(name)) && strcmp(name, s->model->name) == 0);
    FUZZ_CHECK(json_object_get_type(root, "SkipArchive", JSON_TRUE, &v));
    columns_of(&input, &cols);
    FUZZ_CHECK(json_validate(buf_cur(&s->table), JSON_DEPTH, &answer, &perr) == ERR_OK);
    FUZZ_CHECK(json_object_get_type(&answer, "Table", JSON_OBJECT, &table));
    struct json_val sd;
    bool have_sd = json_object_get_type(&table, "StorageDescriptor", JSON_OBJECT, &sd) &&
                   json_object_get_type(&sd, "Columns", JSON_ARRAY, &have_cols);
    /* Ours: each present, with a type that holds the rows'; or, when the catalog's column has no
     * Type or one too long to read, that Type sent back byte for byte (kept). */
    for (size_t i = 0; i < s->model->n_cols; i++) {
        const struct etl_ddl_col *mc = &s->model->cols[i];
        struct json_val had, had_type, sent_type;
        FUZZ_CHECK(find_column(&cols, mc->name, &col));
        if (mc->untyped) {
            continue;
        }
        bool had_col = have_sd && find_column(&have_cols, mc->name, &had);
        bool had_typed =
            had_col && json_object_get(&had, "Type", &had_type) && had_type.type != JSON_NULL;
        if (had_col && (!had_typed || !json_string_copy(&had_type, type, sizeof(type)))) {
            bool sent_typed = json_object_get(&col, "Type", &sent_type);
            FUZZ_CHECK(sent_typed == had_typed);
            FUZZ_CHECK(!sent_typed ||
                       (sent_type.raw.len == had_type.raw.len &&
                        memcmp(sent_type.raw.ptr, had_type.raw.ptr, had_type.raw.len) == 0));
            continue;
        }
        FUZZ_CHECK(json_object_get_type(&col, "Type", JSON_STRING, &v));
        FUZZ_CHECK(json_string_copy(&v, type, sizeof(type)));
        etl_catalog_merge_type(type, mc->type, merged, sizeof(merged));
        if (strcmp(merged, type) != 0) {
            fprintf(stderr, "column %s sent as %s, rows hold %s\n", mc->name, type, mc->type);
        }
        FUZZ_CHECK(strcmp(merged, type) == 0);
    }
    /* Theirs: every named column of the table read is still there, and the VersionId read is
     * the one the update is conditional on. */
    if (have_sd) {
        struct json_iter it;
        json_iter_init(&it, &have_cols);
        while (json_array_next(&it, &col)) {
            if (json_object_get_type(&col, "Name", JSON_STRING, &v) &&
                json_string_copy(&v, name, sizeof(name))) {
                struct json_val sent;
                if (!find_column(&cols, name, &sent)) {
                    fprintf(stderr, "the catalog's column %s was dropped\n", name);
                }
                FUZZ_CHECK(find_column(&cols, name, &sent));
            } else {
                FUZZ_CHECK(find_raw(&cols, col.raw)); /* a name we cannot read: sent as it came */
            }
        }
    }
    char version[GLUE_VERSION_ID_MAX], sent[GLUE_VERSION_ID_MAX];
    if (json_object_get_type(&table, "VersionId", JSON_STRING, &v) &&
        json_string_copy(&v, version, sizeof(version)) && version[0] != '\0') {
        FUZZ_CHECK(json_object_get_type(root, "VersionId", JSON_STRING, &v));
        FUZZ_CHECK(json_string_copy(&v, sent, sizeof(sent)) && strcmp(sent, version) == 0);
    }
}

static void check_partitions(const struct json_val *root)
{
    struct json_val list;
    FUZZ_CHECK(json_object_get_type(root, "PartitionInputList", JSON_ARRAY, &list));
    size_t n = json_count(&list);
    FUZZ_CHECK(n >= 1 && n <= GLUE_MAX_PARTITIONS_CALL);
}

static void check_request(struct server *s, const char *target, const struct http_request *req)
{
    struct json_val root, input;
    struct err perr = ERR_INIT;
    FUZZ_CHECK(strcmp(req->method, "POST") == 0 && req->body_file == NULL);
    FUZZ_CHECK(json_validate(req->body, JSON_DEPTH, &root, &perr) == ERR_OK);
    FUZZ_CHECK(root.type == JSON_OBJECT);
    if (strcmp(target, "CreateTable") == 0) {
        FUZZ_CHECK(json_object_get_type(&root, "TableInput", JSON_OBJECT, &input));
        check_create(s, &input);
    } else if (strcmp(target, "UpdateTable") == 0) {
        check_update(s, &root);
    } else if (strcmp(target, "BatchCreatePartition") == 0) {
        check_partitions(&root);
    } else if (strcmp(target, "GetTable") == 0) {
        s->n_get_table++;
    } else {
        FUZZ_CHECK(strcmp(target, "GetDatabase") == 0 || strcmp(target, "CreateDatabase") == 0);
    }
}

/* "ddd" then an optional space: that status; else 200 and the whole line. */
static int answer_status(struct cur *line)
{
    const uint8_t *p = line->ptr;
    if (line->len < 3 || p[0] < '1' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' ||
        p[2] > '9') {
        return 200;
    }
    int status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    size_t skip = line->len > 3 && p[3] == ' ' ? 4 : 3;
    line->ptr += skip;
    line->len -= skip;
    return status;
}

static enum err_code server_send(struct http_transport *self,
                                 const struct http_request *req,
                                 struct http_response *resp,
                                 struct err *err)
{
    struct server *s = (struct server *)self;
    const char *target = request_target(req);
    s->n_requests++;
    check_request(s, target, req);
    http_response_reset(resp);
    struct cur line;
    if (!next_line(&s->rest, &line)) {
        enum err_code rc = err_transport(err, req->op, "no more answers (fuzz)");
        err->retryable = false;
        return rc;
    }
    if (line.len > 0 && line.ptr[0] == '!') {
        return err_transport(err, req->op, "Connection reset by peer (fuzz)");
    }
    resp->status = answer_status(&line);
    enum err_code rc = buf_append_str(&resp->headers, "x-amzn-RequestId: fuzz-1\r\n", err);
    if (rc == ERR_OK) {
        rc = buf_append_cur(&resp->body, line, err);
    }
    if (rc == ERR_OK && strcmp(target, "GetTable") == 0 && resp->status >= 200 &&
        resp->status < 300) {
        buf_reset(&s->table);
        rc = buf_append_cur(&s->table, line, err);
        s->have_table = rc == ERR_OK;
    }
    return rc;
}

static void server_destroy(struct http_transport *self)
{
    (void)self; /* part of the run, freed with it */
}

/* ---- the calls ---- */

static bool build_fixture(struct fixture *f)
{
    struct err err = ERR_INIT;
    memset(f, 0, sizeof(*f));
    if (aws_endpoints_load(&f->eps, glue_env, &err) != ERR_OK ||
        etl_partition_compile(&f->partition, "dt=%Y-%m-%d/hour=%H", &err) != ERR_OK) {
        return false;
    }
    for (size_t i = 0; i < 2; i++) {
        struct etl_schema schema;
        char doc[1024];
        snprintf(doc, sizeof(doc), "{\"items\":1,\"attributes\":[%s]}", model_attrs[i]);
        etl_schema_init(&schema);
        struct etl_ddl_ctx ctx = {etl_format_find("jsonl"), &f->partition, "orders",
                                  "s3://lake/raw/",         "pk",          ""};
        enum err_code rc = etl_schema_from_json(&schema, cur_from_str(doc), &err);
        if (rc == ERR_OK) {
            rc = etl_ddl_changes_table(&ctx, &schema, &f->models[i], &err);
        }
        etl_schema_cleanup(&schema);
        if (rc != ERR_OK) {
            fprintf(stderr, "fuzz_glue: the model: %s\n", err.msg);
            return false;
        }
    }
    return true;
}

static const struct fixture *fixture(void)
{
    static struct fixture f;
    static int state; /* 0 not built, 1 built, -1 failed */
    if (state == 0) {
        state = build_fixture(&f) ? 1 : -1;
    }
    FUZZ_CHECK(state == 1);
    return &f;
}

static void discard_log(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    (void)line;
    (void)len;
}

struct run {
    struct clock clock;
    struct server server;
    struct creds_provider creds;
    struct aws_client aws;
    struct etl_catalog_config cfg;
    struct etl_catalog cat;
};

static void check_result(enum err_code rc, const struct err *err)
{
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, err);
    }
}

/* One sync; then, as a caller would, the same again: a failure caches nothing, so the second
 * does the work again; a success caches it, so the second sends nothing. */
static void sync_twice(struct run *r, const struct etl_ddl_table *t, bool refresh)
{
    struct err err = ERR_INIT;
    uint64_t conflicts = r->cat.stats.conflicts;
    server_reset(&r->server, t);
    enum err_code rc = etl_catalog_sync_table(&r->cat, t, refresh, &err);
    check_result(rc, &err);
    uint64_t n_conflicts = r->cat.stats.conflicts - conflicts;
    FUZZ_CHECK(n_conflicts <= ETL_CATALOG_MAX_CONFLICTS + 1);
    if (n_conflicts == ETL_CATALOG_MAX_CONFLICTS + 1) {
        FUZZ_CHECK(rc != ERR_OK);
    }
    /* Each attempt reads once (retries included); creates that raced count as attempts too. */
    FUZZ_CHECK(r->server.n_get_table <= (ETL_CATALOG_MAX_CONFLICTS + 1) * MAX_ATTEMPTS);
    server_reset(&r->server, t);
    enum err_code again = etl_catalog_sync_table(&r->cat, t, false, &err);
    check_result(again, &err);
    if (rc != ERR_OK) {
        FUZZ_CHECK(r->server.n_requests > 0 || again == ERR_DEADLINE);
    } else {
        if (r->server.n_requests != 0) {
            fprintf(stderr, "a synced table cost %zu more requests\n", r->server.n_requests);
        }
        FUZZ_CHECK(r->server.n_requests == 0 && again == ERR_OK);
    }
}

static void add_partitions_twice(struct run *r, const struct etl_ddl_table *t)
{
    struct err err = ERR_INIT;
    size_t n = sizeof(partition_paths) / sizeof(partition_paths[0]);
    server_reset(&r->server, t);
    enum err_code rc = etl_catalog_add_partitions(&r->cat, t, partition_paths, n, &err);
    check_result(rc, &err);
    server_reset(&r->server, t);
    enum err_code again = etl_catalog_add_partitions(&r->cat, t, partition_paths, n, &err);
    check_result(again, &err);
    if (rc != ERR_OK) {
        FUZZ_CHECK(r->server.n_requests > 0 || again == ERR_DEADLINE);
    } else {
        FUZZ_CHECK(r->server.n_requests == 0 && again == ERR_OK);
    }
}

static bool has_flag(struct cur mode, char flag)
{
    return mode.len > 0 && memchr(mode.ptr, flag, mode.len) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct fixture *f = fixture();
    struct err err = ERR_INIT;
    struct run *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return 0;
    }
    log_set_sink(discard_log, NULL);
    struct cur rest = cur_make(data, size), mode = {0};
    (void)next_line(&rest, &mode);
    bool log_policy = has_flag(mode, 'L'), refresh = has_flag(mode, 'R');
    bool wider = has_flag(mode, 'W'), deadline = has_flag(mode, 'D');

    clock_init(&r->clock);
    r->server.base = (struct http_transport){server_send, server_destroy};
    r->server.rest = rest;
    r->server.policy = log_policy ? ETL_CATALOG_LOG : ETL_CATALOG_UPDATE;
    buf_init(&r->server.table, 0);
    FUZZ_CHECK(creds_provider_init(&r->creds, glue_env, NULL, &r->clock.sys, &err) == ERR_OK);
    aws_client_init(&r->aws, &r->server.base, &r->clock.sys, &r->creds, &f->eps, MAX_ATTEMPTS);
    if (deadline) {
        aws_client_set_deadline(&r->aws, r->clock.mono_ms + DEADLINE_MS);
    }
    snprintf(r->cfg.database, sizeof(r->cfg.database), "lake");
    r->cfg.policy = r->server.policy;
    etl_catalog_init(&r->cat, &r->cfg, &r->aws);

    sync_twice(r, &f->models[0], refresh);
    if (wider) {
        sync_twice(r, &f->models[1], refresh);
    }
    add_partitions_twice(r, &f->models[wider ? 1 : 0]);

    etl_catalog_cleanup(&r->cat);
    aws_client_cleanup(&r->aws);
    creds_provider_cleanup(&r->creds);
    buf_cleanup(&r->server.table);
    free(r);
    return 0;
}
