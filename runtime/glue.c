/*
 * glue.c - Data Catalog requests. Bodies are written with jsonw; caller-rendered inputs
 * (TableInput, PartitionInput lists) are inserted as they are, after a check that they are JSON
 * of the right kind, so a bug shows as a local error rather than a 400 from Glue.
 */
#include "glue.h"

#include <stdio.h>
#include <string.h>

#include "awsjson.h"
#include "jsonw.h"

void glue_table_init(struct glue_table *t)
{
    memset(t, 0, sizeof(*t));
    buf_init(&t->body, GLUE_MAX_RESPONSE_BYTES);
}

void glue_table_cleanup(struct glue_table *t)
{
    if (t != NULL) {
        buf_cleanup(&t->body);
        memset(t, 0, sizeof(*t));
    }
}

bool glue_err_is(const struct err *err, const char *aws_code)
{
    return err->code == ERR_HTTP && strcmp(err->aws_code, aws_code) == 0;
}

static enum err_code check_name(const char *what, const char *name, struct err *err)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > GLUE_NAME_MAX) {
        return err_set(err, ERR_INVALID_INPUT, "Glue %s name \"%.60s\": 1 to %d characters", what,
                       name != NULL ? name : "", GLUE_NAME_MAX);
    }
    return ERR_OK;
}

/* A caller-rendered input must be one JSON value of the expected type. */
static enum err_code
check_input(const char *op, struct cur json, enum json_type type, struct err *err)
{
    struct json_val root;
    struct err perr = ERR_INIT;
    if (json_validate(json, 64, &root, &perr) != ERR_OK || root.type != type) {
        return err_set(err, ERR_INVALID_INPUT, "%s: the input is not a JSON %s: %s", op,
                       json_type_name(type), perr.msg);
    }
    return ERR_OK;
}

static enum err_code glue_call(struct aws_client *c,
                               const char *operation,
                               const char *op,
                               struct buf *body,
                               struct http_response *resp,
                               struct err *err)
{
    char target[64];
    snprintf(target, sizeof(target), "AWSGlue.%s", operation);
    const struct awsjson_call call = {
        .service = "glue",
        .ep = &c->eps->glue,
        .json_version = "1.1",
        .target = target,
        .op = op,
        .body = buf_cur(body),
    };
    return awsjson_call(c, &call, resp, err);
}

enum err_code
glue_get_database(struct aws_client *c, const char *name, bool *found, struct err *err)
{
    struct buf body = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct http_response resp;
    struct jsonw w;
    char op[300];
    *found = false;
    enum err_code rc = check_name("database", name, err);
    if (rc != ERR_OK) {
        return rc;
    }
    http_response_init(&resp, GLUE_MAX_RESPONSE_BYTES);
    snprintf(op, sizeof(op), "GetDatabase %s", name);
    jsonw_init(&w, &body, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "Name");
    jsonw_str(&w, name);
    jsonw_end(&w);
    rc = jsonw_finish(&w);
    if (rc == ERR_OK) {
        rc = glue_call(c, "GetDatabase", op, &body, &resp, err);
    }
    if (rc == ERR_OK) {
        *found = true;
    } else if (glue_err_is(err, "EntityNotFoundException")) {
        rc = ERR_OK;
    }
    http_response_cleanup(&resp);
    buf_cleanup(&body);
    return rc;
}

enum err_code glue_create_database(struct aws_client *c,
                                   const char *name,
                                   const char *description,
                                   bool *already_exists,
                                   struct err *err)
{
    struct buf body = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct http_response resp;
    struct jsonw w;
    char op[300];
    *already_exists = false;
    enum err_code rc = check_name("database", name, err);
    if (rc != ERR_OK) {
        return rc;
    }
    http_response_init(&resp, GLUE_MAX_RESPONSE_BYTES);
    snprintf(op, sizeof(op), "CreateDatabase %s", name);
    jsonw_init(&w, &body, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "DatabaseInput");
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "Name");
    jsonw_str(&w, name);
    if (description != NULL && description[0] != '\0') {
        jsonw_key(&w, "Description");
        jsonw_str(&w, description);
    }
    jsonw_end(&w);
    jsonw_end(&w);
    rc = jsonw_finish(&w);
    if (rc == ERR_OK) {
        rc = glue_call(c, "CreateDatabase", op, &body, &resp, err);
    }
    if (rc != ERR_OK && glue_err_is(err, "AlreadyExistsException")) {
        *already_exists = true;
        rc = ERR_OK;
    }
    http_response_cleanup(&resp);
    buf_cleanup(&body);
    return rc;
}

enum err_code glue_get_table(struct aws_client *c,
                             const char *database,
                             const char *name,
                             struct glue_table *out,
                             bool *found,
                             struct err *err)
{
    struct buf body = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct http_response resp;
    struct jsonw w;
    char op[600];
    *found = false;
    out->version_id[0] = '\0';
    enum err_code rc = check_name("database", database, err);
    if (rc == ERR_OK) {
        rc = check_name("table", name, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(op, sizeof(op), "GetTable %s.%s", database, name);
    jsonw_init(&w, &body, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "DatabaseName");
    jsonw_str(&w, database);
    jsonw_key(&w, "Name");
    jsonw_str(&w, name);
    jsonw_end(&w);
    rc = jsonw_finish(&w);
    http_response_init(&resp, 0);
    buf_reset(&out->body);
    resp.body = out->body; /* the answer lands in the table's own buffer */
    if (rc == ERR_OK) {
        rc = glue_call(c, "GetTable", op, &body, &resp, err);
    }
    out->body = resp.body;
    buf_cleanup(&resp.headers);
    if (rc != ERR_OK) {
        if (glue_err_is(err, "EntityNotFoundException")) {
            rc = ERR_OK;
        }
        goto out;
    }
    struct json_val root, v;
    if (json_validate(buf_cur(&out->body), 64, &root, err) != ERR_OK ||
        !json_object_get_type(&root, "Table", JSON_OBJECT, &out->table)) {
        rc = err_set(err, ERR_INVALID_INPUT, "%s: the answer has no Table object", op);
        goto out;
    }
    if (json_object_get_type(&out->table, "VersionId", JSON_STRING, &v)) {
        (void)json_string_copy(&v, out->version_id, sizeof(out->version_id));
    }
    *found = true;
out:
    buf_cleanup(&body);
    return rc;
}

enum err_code glue_create_table(struct aws_client *c,
                                const char *database,
                                struct cur table_input,
                                struct err *err)
{
    struct buf body = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct http_response resp;
    struct jsonw w;
    char op[300];
    enum err_code rc = check_name("database", database, err);
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(op, sizeof(op), "CreateTable in %s", database);
    rc = check_input(op, table_input, JSON_OBJECT, err);
    if (rc != ERR_OK) {
        return rc;
    }
    http_response_init(&resp, GLUE_MAX_RESPONSE_BYTES);
    jsonw_init(&w, &body, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "DatabaseName");
    jsonw_str(&w, database);
    jsonw_key(&w, "TableInput");
    jsonw_raw(&w, table_input);
    jsonw_end(&w);
    rc = jsonw_finish(&w);
    if (rc == ERR_OK) {
        rc = glue_call(c, "CreateTable", op, &body, &resp, err);
    }
    http_response_cleanup(&resp);
    buf_cleanup(&body);
    return rc;
}

enum err_code glue_update_table(struct aws_client *c,
                                const char *database,
                                struct cur table_input,
                                const char *version_id,
                                bool skip_archive,
                                struct err *err)
{
    struct buf body = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct http_response resp;
    struct jsonw w;
    char op[300];
    enum err_code rc = check_name("database", database, err);
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(op, sizeof(op), "UpdateTable in %s", database);
    rc = check_input(op, table_input, JSON_OBJECT, err);
    if (rc != ERR_OK) {
        return rc;
    }
    http_response_init(&resp, GLUE_MAX_RESPONSE_BYTES);
    jsonw_init(&w, &body, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "DatabaseName");
    jsonw_str(&w, database);
    jsonw_key(&w, "TableInput");
    jsonw_raw(&w, table_input);
    if (skip_archive) {
        jsonw_key(&w, "SkipArchive");
        jsonw_bool(&w, true);
    }
    if (version_id != NULL && version_id[0] != '\0') {
        jsonw_key(&w, "VersionId");
        jsonw_str(&w, version_id);
    }
    jsonw_end(&w);
    rc = jsonw_finish(&w);
    if (rc == ERR_OK) {
        rc = glue_call(c, "UpdateTable", op, &body, &resp, err);
    }
    http_response_cleanup(&resp);
    buf_cleanup(&body);
    return rc;
}

/* The answer's Errors[]: AlreadyExistsException is a partition created before; anything else
 * fails the call with the first such error. */
static enum err_code partition_errors(const char *op, const struct buf *answer, struct err *err)
{
    struct json_val root, errors, e, detail, v;
    if (json_validate(buf_cur(answer), 64, &root, err) != ERR_OK || root.type != JSON_OBJECT) {
        return err_set(err, ERR_INVALID_INPUT, "%s: the answer is not a JSON object", op);
    }
    if (!json_object_get_type(&root, "Errors", JSON_ARRAY, &errors)) {
        return ERR_OK;
    }
    struct json_iter it;
    json_iter_init(&it, &errors);
    while (json_array_next(&it, &e)) {
        char code[64] = "", msg[200] = "";
        if (json_object_get_type(&e, "ErrorDetail", JSON_OBJECT, &detail)) {
            if (json_object_get_type(&detail, "ErrorCode", JSON_STRING, &v)) {
                (void)json_string_copy(&v, code, sizeof(code));
            }
            if (json_object_get_type(&detail, "ErrorMessage", JSON_STRING, &v)) {
                (void)json_string_copy(&v, msg, sizeof(msg));
            }
        }
        if (strcmp(code, "AlreadyExistsException") == 0) {
            continue;
        }
        (void)err_set(err, ERR_HTTP, "%s: a partition failed: %s: %s", op, code, msg);
        snprintf(err->aws_code, sizeof(err->aws_code), "%s", code);
        err->http_status = 200;
        err->retryable =
            err_is_throttling_code(code) || strcmp(code, "InternalServiceException") == 0;
        return ERR_HTTP;
    }
    return ERR_OK;
}

enum err_code glue_batch_create_partition(struct aws_client *c,
                                          const char *database,
                                          const char *table,
                                          struct cur partition_inputs,
                                          size_t n,
                                          struct err *err)
{
    struct buf body = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct http_response resp;
    struct jsonw w;
    char op[600];
    enum err_code rc = check_name("database", database, err);
    if (rc == ERR_OK) {
        rc = check_name("table", table, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(op, sizeof(op), "BatchCreatePartition %s.%s", database, table);
    if (n == 0 || n > GLUE_MAX_PARTITIONS_CALL) {
        return err_set(err, ERR_INVALID_INPUT, "%s: %zu partitions (1 to %d a call)", op, n,
                       GLUE_MAX_PARTITIONS_CALL);
    }
    rc = check_input(op, partition_inputs, JSON_ARRAY, err);
    if (rc != ERR_OK) {
        return rc;
    }
    http_response_init(&resp, GLUE_MAX_RESPONSE_BYTES);
    jsonw_init(&w, &body, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "DatabaseName");
    jsonw_str(&w, database);
    jsonw_key(&w, "TableName");
    jsonw_str(&w, table);
    jsonw_key(&w, "PartitionInputList");
    jsonw_raw(&w, partition_inputs);
    jsonw_end(&w);
    rc = jsonw_finish(&w);
    if (rc == ERR_OK) {
        rc = glue_call(c, "BatchCreatePartition", op, &body, &resp, err);
    }
    if (rc == ERR_OK) {
        rc = partition_errors(op, &resp.body, err);
    }
    http_response_cleanup(&resp);
    buf_cleanup(&body);
    return rc;
}
