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

/* The members a request body may carry, written in this order when set (Glue does not mind
 * the order; a fixed one keeps the bodies comparable in tests and logs). */
struct glue_members {
    const char *database_name;  /* DatabaseName */
    const char *name;           /* Name */
    const char *table_name;     /* TableName */
    const char *db_input_name;  /* DatabaseInput.Name ... */
    const char *db_input_descr; /* ... and DatabaseInput.Description, when not empty */
    const char *input_key;      /* TableInput or PartitionInputList: input, inserted as it is */
    struct cur input;
    bool skip_archive;      /* SkipArchive: true */
    const char *version_id; /* VersionId, when not empty */
};

static void key_str(struct jsonw *w, const char *key, const char *value)
{
    if (value != NULL && value[0] != '\0') {
        jsonw_key(w, key);
        jsonw_str(w, value);
    }
}

/* One call: the body holds m's members; the answer lands in resp, which the caller owns. */
static enum err_code glue_request(struct aws_client *c,
                                  const char *operation,
                                  const char *op,
                                  const struct glue_members *m,
                                  struct http_response *resp,
                                  struct err *err)
{
    struct buf body = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct jsonw w;
    jsonw_init(&w, &body, err);
    jsonw_object(&w, JSONW_COMPACT);
    key_str(&w, "DatabaseName", m->database_name);
    key_str(&w, "Name", m->name);
    key_str(&w, "TableName", m->table_name);
    if (m->db_input_name != NULL) {
        jsonw_key(&w, "DatabaseInput");
        jsonw_object(&w, JSONW_COMPACT);
        key_str(&w, "Name", m->db_input_name);
        key_str(&w, "Description", m->db_input_descr);
        jsonw_end(&w);
    }
    if (m->input_key != NULL) {
        jsonw_key(&w, m->input_key);
        jsonw_raw(&w, m->input);
    }
    if (m->skip_archive) {
        jsonw_key(&w, "SkipArchive");
        jsonw_bool(&w, true);
    }
    key_str(&w, "VersionId", m->version_id);
    jsonw_end(&w);
    enum err_code rc = jsonw_finish(&w);
    if (rc == ERR_OK) {
        rc = glue_call(c, operation, op, &body, resp, err);
    }
    buf_cleanup(&body);
    return rc;
}

/* A call whose answer is not needed beyond its status. */
static enum err_code glue_request_status(struct aws_client *c,
                                         const char *operation,
                                         const char *op,
                                         const struct glue_members *m,
                                         struct err *err)
{
    struct http_response resp;
    http_response_init(&resp, GLUE_MAX_RESPONSE_BYTES);
    enum err_code rc = glue_request(c, operation, op, m, &resp, err);
    http_response_cleanup(&resp);
    return rc;
}

enum err_code
glue_get_database(struct aws_client *c, const char *name, bool *found, struct err *err)
{
    char op[300];
    *found = false;
    enum err_code rc = check_name("database", name, err);
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(op, sizeof(op), "GetDatabase %s", name);
    const struct glue_members m = {.name = name};
    rc = glue_request_status(c, "GetDatabase", op, &m, err);
    if (rc == ERR_OK) {
        *found = true;
    } else if (glue_err_is(err, "EntityNotFoundException")) {
        rc = ERR_OK;
    }
    return rc;
}

enum err_code glue_create_database(struct aws_client *c,
                                   const char *name,
                                   const char *description,
                                   bool *already_exists,
                                   struct err *err)
{
    char op[300];
    *already_exists = false;
    enum err_code rc = check_name("database", name, err);
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(op, sizeof(op), "CreateDatabase %s", name);
    const struct glue_members m = {.db_input_name = name, .db_input_descr = description};
    rc = glue_request_status(c, "CreateDatabase", op, &m, err);
    if (rc != ERR_OK && glue_err_is(err, "AlreadyExistsException")) {
        *already_exists = true;
        rc = ERR_OK;
    }
    return rc;
}

/* Both names valid, and op names the call on database.table. */
static enum err_code check_table_names(const char *operation,
                                       const char *database,
                                       const char *table,
                                       char *op,
                                       size_t op_cap,
                                       struct err *err)
{
    enum err_code rc = check_name("database", database, err);
    if (rc == ERR_OK) {
        rc = check_name("table", table, err);
    }
    if (rc == ERR_OK) {
        snprintf(op, op_cap, "%s %s.%s", operation, database, table);
    }
    return rc;
}

enum err_code glue_get_table(struct aws_client *c,
                             const char *database,
                             const char *name,
                             struct glue_table *out,
                             bool *found,
                             struct err *err)
{
    struct http_response resp;
    char op[600];
    *found = false;
    out->version_id[0] = '\0';
    enum err_code rc = check_table_names("GetTable", database, name, op, sizeof(op), err);
    if (rc != ERR_OK) {
        return rc;
    }
    http_response_init(&resp, 0);
    buf_reset(&out->body);
    resp.body = out->body; /* the answer lands in the table's own buffer */
    const struct glue_members m = {.database_name = database, .name = name};
    rc = glue_request(c, "GetTable", op, &m, &resp, err);
    out->body = resp.body;
    buf_cleanup(&resp.headers);
    if (rc != ERR_OK) {
        return glue_err_is(err, "EntityNotFoundException") ? ERR_OK : rc;
    }
    struct json_val root, v;
    if (json_validate(buf_cur(&out->body), 64, &root, err) != ERR_OK ||
        !json_object_get_type(&root, "Table", JSON_OBJECT, &out->table)) {
        return err_set(err, ERR_INVALID_INPUT, "%s: the answer has no Table object", op);
    }
    /* Absent (or null): an update without the optimistic check. Present but unusable: refused,
     * since an update without it (or with a changed one) could overwrite what another writer
     * changed in between. Glue's are decimal numbers in a string; escapes are refused, so an
     * escaped NUL cannot cut one short. */
    if (json_object_get(&out->table, "VersionId", &v) && v.type != JSON_NULL &&
        (v.type != JSON_STRING || !json_string_is_plain(&v) ||
         !json_string_copy(&v, out->version_id, sizeof(out->version_id)) ||
         out->version_id[0] == '\0')) {
        out->version_id[0] = '\0';
        return err_set(err, ERR_INVALID_INPUT,
                       "%s: the answer's VersionId is not a plain string of 1 to %d bytes", op,
                       GLUE_VERSION_ID_MAX - 1);
    }
    *found = true;
    return ERR_OK;
}

/* CreateTable and UpdateTable: a database and a caller-rendered TableInput in m. */
static enum err_code table_write(struct aws_client *c,
                                 const char *operation,
                                 const struct glue_members *m,
                                 struct err *err)
{
    char op[300];
    enum err_code rc = check_name("database", m->database_name, err);
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(op, sizeof(op), "%s in %s", operation, m->database_name);
    rc = check_input(op, m->input, JSON_OBJECT, err);
    if (rc != ERR_OK) {
        return rc;
    }
    return glue_request_status(c, operation, op, m, err);
}

enum err_code glue_create_table(struct aws_client *c,
                                const char *database,
                                struct cur table_input,
                                struct err *err)
{
    const struct glue_members m = {
        .database_name = database, .input_key = "TableInput", .input = table_input};
    return table_write(c, "CreateTable", &m, err);
}

enum err_code glue_update_table(struct aws_client *c,
                                const char *database,
                                struct cur table_input,
                                const char *version_id,
                                bool skip_archive,
                                struct err *err)
{
    const struct glue_members m = {
        .database_name = database,
        .input_key = "TableInput",
        .input = table_input,
        .skip_archive = skip_archive,
        .version_id = version_id,
    };
    return table_write(c, "UpdateTable", &m, err);
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
    struct http_response resp;
    char op[600];
    enum err_code rc =
        check_table_names("BatchCreatePartition", database, table, op, sizeof(op), err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (n == 0 || n > GLUE_MAX_PARTITIONS_CALL) {
        return err_set(err, ERR_INVALID_INPUT, "%s: %zu partitions (1 to %d a call)", op, n,
                       GLUE_MAX_PARTITIONS_CALL);
    }
    rc = check_input(op, partition_inputs, JSON_ARRAY, err);
    if (rc != ERR_OK) {
        return rc;
    }
    http_response_init(&resp, GLUE_MAX_RESPONSE_BYTES);
    const struct glue_members m = {
        .database_name = database,
        .table_name = table,
        .input_key = "PartitionInputList",
        .input = partition_inputs,
    };
    rc = glue_request(c, "BatchCreatePartition", op, &m, &resp, err);
    if (rc == ERR_OK) {
        rc = partition_errors(op, &resp.body, err);
    }
    http_response_cleanup(&resp);
    return rc;
}
