/*
 * etl_catalog.c - Glue tables from the DDL model. The merge keeps the catalog's columns in their
 * order (types widened when rows no longer fit them) and appends the model's new ones, so an
 * update never drops what another writer added; the VersionId read makes the update fail rather
 * than overwrite a table that changed in between.
 */
#include "etl_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glue.h"
#include "json.h"
#include "jsonw.h"
#include "limit.h"
#include "log.h"

#define TYPE_MAX        2048 /* a catalog column type (struct<...> can be long) */
#define CATALOG_KEY_MAX (ETL_DDL_NAME_MAX * 2 + ETL_PARTITION_MAX)

/* ---- string sets ---- */

static void set_init(struct etl_catalog_set *s)
{
    memset(s, 0, sizeof(*s));
    etl_names_init(&s->idx);
}

static void set_cleanup(struct etl_catalog_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->values[i]);
    }
    free(s->keys);
    free(s->values);
    etl_names_cleanup(&s->idx);
    memset(s, 0, sizeof(*s));
}

/* The value of key, or NULL when absent. */
static const char *set_get(const struct etl_catalog_set *s, const char *key)
{
    long i = etl_names_find(&s->idx, cur_from_str(key));
    return i < 0 ? NULL : s->values[i];
}

/* Adds key, or replaces its value. */
static enum err_code
set_put(struct etl_catalog_set *s, const char *key, const char *value, struct err *err)
{
    long i = etl_names_find(&s->idx, cur_from_str(key));
    char *v = strdup(value != NULL ? value : "");
    if (v == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for the catalog cache");
    }
    if (i >= 0) {
        free(s->values[i]);
        s->values[i] = v;
        return ERR_OK;
    }
    size_t cap = s->cap;
    char **keys = mem_grow(s->keys, &cap, s->n, sizeof(*keys), 16);
    if (keys != NULL) {
        s->keys = keys;
        size_t vcap = s->cap;
        char **values = mem_grow(s->values, &vcap, s->n, sizeof(*values), 16);
        if (values != NULL) {
            s->values = values;
            s->cap = cap;
        }
    }
    char *k = strdup(key);
    if (keys == NULL || s->cap < s->n + 1 || k == NULL) {
        free(k);
        free(v);
        return err_set(err, ERR_NOMEM, "out of memory for the catalog cache");
    }
    size_t index = 0;
    bool added = false;
    enum err_code rc = etl_names_add(&s->idx, cur_from_str(k), &index, &added, err);
    if (rc != ERR_OK) {
        free(k);
        free(v);
        return rc;
    }
    s->keys[s->n] = k;
    s->values[s->n] = v;
    s->n++;
    return ERR_OK;
}

static void pair_key(char *out, size_t cap, const char *table, const char *name)
{
    snprintf(out, cap, "%s\t%s", table, name);
}

/* ---- lifecycle ---- */

void etl_catalog_init(struct etl_catalog *c,
                      const struct etl_catalog_config *cfg,
                      struct aws_client *aws)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->aws = aws;
    set_init(&c->columns);
    set_init(&c->partitions);
    set_init(&c->logged);
}

void etl_catalog_cleanup(struct etl_catalog *c)
{
    if (c == NULL) {
        return;
    }
    set_cleanup(&c->columns);
    set_cleanup(&c->partitions);
    set_cleanup(&c->logged);
}

bool etl_catalog_enabled(const struct etl_catalog *c)
{
    return c != NULL && c->cfg != NULL && c->cfg->database[0] != '\0' && c->aws != NULL;
}

/* ---- types ---- */

static bool parse_decimal(const char *t, int *p, int *s)
{
    char tail = '\0';
    return sscanf(t, "decimal(%d,%d%c", p, s, &tail) == 3 && tail == ')' && *p > 0 && *p <= 38 &&
           *s >= 0 && *s <= *p;
}

/* Integer widths by rank; 0 for a type that is not an integer. */
static int int_rank(const char *t)
{
    static const char *const ints[] = {"tinyint", "smallint", "int", "bigint"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(t, ints[i]) == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* Decimal digits an integer type may need (bigint: 19). */
static int int_digits(int rank)
{
    static const int digits[] = {0, 3, 5, 10, 19};
    return digits[rank];
}

void etl_catalog_merge_type(const char *have, const char *incoming, char *out, size_t cap)
{
    int hp = 0, hs = 0, ip = 0, is = 0;
    int hr = int_rank(have), ir = int_rank(incoming);
    bool hd = parse_decimal(have, &hp, &hs), id = parse_decimal(incoming, &ip, &is);
    if (strcmp(have, incoming) == 0 || strcmp(have, "string") == 0) {
        snprintf(out, cap, "%s", have);
    } else if (hr > 0 && ir > 0) {
        snprintf(out, cap, "%s", hr >= ir ? have : incoming);
    } else if (hd && hp == 38 && id && ip == 38) {
        /* Inferred decimals are decimal(38,s) (etl_schema.h): the larger scale holds both. */
        snprintf(out, cap, "decimal(38,%d)", hs > is ? hs : is);
    } else if ((hd || hr > 0) && (id || ir > 0)) {
        /* A decimal wide enough for both: the larger integer part and the larger scale. */
        int h_int = hd ? hp - hs : int_digits(hr), i_int = id ? ip - is : int_digits(ir);
        int scale = hs > is ? hs : is;
        int whole = h_int > i_int ? h_int : i_int;
        int precision = (hd && hp == 38) || (id && ip == 38) ? 38 : whole + scale;
        if (whole + scale > 38) {
            snprintf(out, cap, "string");
        } else {
            snprintf(out, cap, "decimal(%d,%d)", precision, scale);
        }
    } else if (strcmp(have, "double") == 0 && (id || ir > 0 || strcmp(incoming, "float") == 0)) {
        snprintf(out, cap, "%s", have);
    } else {
        snprintf(out, cap, "string");
    }
}

/* ---- TableInput ---- */

struct mcol {
    char name[ETL_DDL_NAME_MAX];
    char type[TYPE_MAX]; /* "" for a kept column */
    struct cur comment;  /* the catalog column's Comment, raw JSON; len 0 when none */
    /* A catalog column whose Type this code does not read (none: Glue's Type is optional, or one
     * over TYPE_MAX, such as a long struct<...>): sent back as it came, never widened. */
    bool kept;
    struct cur kept_type; /* its Type, raw JSON; len 0 when it has none */
    /* A catalog column whose Name this code cannot read (none, or over 255 bytes): sent back
     * whole, as it came, and never matched with ours. len 0 for every other column. */
    struct cur unread;
};

/* What the cache holds for a kept column: never a type, since Glue's column types cannot hold
 * control characters (ColumnTypeString's pattern). */
#define KEPT_MARK "\x01"

static bool is_our_param(const struct etl_ddl_table *t, const char *key)
{
    if (strncmp(key, "projection.", 11) == 0 || strcmp(key, "storage.location.template") == 0 ||
        strcmp(key, "classification") == 0 || strcmp(key, "EXTERNAL") == 0) {
        return true;
    }
    for (size_t i = 0; i < t->n_props; i++) {
        if (strcmp(t->props[i].key, key) == 0) {
            return true;
        }
    }
    return false;
}

static void write_serde(struct jsonw *w, const struct etl_ddl_table *t)
{
    jsonw_key(w, "InputFormat");
    jsonw_str(w, t->serde->input_format);
    jsonw_key(w, "OutputFormat");
    jsonw_str(w, t->serde->output_format);
    jsonw_key(w, "SerdeInfo");
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "SerializationLibrary");
    jsonw_str(w, t->serde->library);
    jsonw_key(w, "Parameters");
    jsonw_object(w, JSONW_COMPACT);
    for (size_t i = 0; i < t->n_serde_props; i++) {
        jsonw_key(w, t->serde_props[i].key);
        jsonw_str(w, t->serde_props[i].value);
    }
    jsonw_end(w);
    jsonw_end(w);
}

static void write_columns(struct jsonw *w, const struct mcol *cols, size_t n)
{
    jsonw_key(w, "Columns");
    jsonw_array(w, JSONW_COMPACT);
    for (size_t i = 0; i < n; i++) {
        if (cols[i].unread.len > 0) {
            jsonw_raw(w, cols[i].unread);
            continue;
        }
        jsonw_object(w, JSONW_COMPACT);
        jsonw_key(w, "Name");
        jsonw_str(w, cols[i].name);
        if (!cols[i].kept) {
            jsonw_key(w, "Type");
            jsonw_str(w, cols[i].type);
        } else if (cols[i].kept_type.len > 0) {
            jsonw_key(w, "Type");
            jsonw_raw(w, cols[i].kept_type);
        }
        if (cols[i].comment.len > 0) {
            jsonw_key(w, "Comment");
            jsonw_raw(w, cols[i].comment);
        }
        jsonw_end(w);
    }
    jsonw_end(w);
}

/* The TableInput: the model's definition with these columns; with existing (the catalog's
 * Table), the parameters others set on it are kept. */
static enum err_code render_input(const struct etl_ddl_table *t,
                                  const struct mcol *cols,
                                  size_t n,
                                  const struct json_val *existing,
                                  struct buf *out,
                                  struct err *err)
{
    struct jsonw w;
    buf_reset(out);
    jsonw_init(&w, out, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "Name");
    jsonw_str(&w, t->name);
    jsonw_key(&w, "Description");
    jsonw_str(&w, "Written and kept current by ddb-s3-etl");
    jsonw_key(&w, "TableType");
    jsonw_str(&w, "EXTERNAL_TABLE");
    jsonw_key(&w, "Parameters");
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "EXTERNAL");
    jsonw_str(&w, "TRUE");
    if (t->serde->classification != NULL) {
        jsonw_key(&w, "classification");
        jsonw_str(&w, t->serde->classification);
    }
    for (size_t i = 0; i < t->n_props; i++) {
        jsonw_key(&w, t->props[i].key);
        jsonw_str(&w, t->props[i].value);
    }
    struct json_val params, k, v;
    if (existing != NULL && json_object_get_type(existing, "Parameters", JSON_OBJECT, &params)) {
        struct json_iter it;
        json_iter_init(&it, &params);
        while (json_object_next(&it, &k, &v)) {
            char key[512];
            if (v.type == JSON_STRING && json_string_copy(&k, key, sizeof(key)) &&
                !is_our_param(t, key)) {
                jsonw_key(&w, key);
                jsonw_raw(&w, v.raw);
            }
        }
    }
    jsonw_end(&w);
    jsonw_key(&w, "PartitionKeys");
    jsonw_array(&w, JSONW_COMPACT);
    for (size_t i = 0; i < t->n_parts; i++) {
        jsonw_object(&w, JSONW_COMPACT);
        jsonw_key(&w, "Name");
        jsonw_str(&w, t->parts[i].name);
        jsonw_key(&w, "Type");
        jsonw_str(&w, "string");
        jsonw_end(&w);
    }
    jsonw_end(&w);
    jsonw_key(&w, "StorageDescriptor");
    jsonw_object(&w, JSONW_COMPACT);
    write_columns(&w, cols, n);
    jsonw_key(&w, "Location");
    jsonw_str(&w, t->location);
    write_serde(&w, t);
    jsonw_end(&w);
    jsonw_end(&w);
    return jsonw_finish(&w);
}

static struct mcol *model_cols(const struct etl_ddl_table *t, struct err *err)
{
    struct mcol *cols = calloc(t->n_cols + 1, sizeof(*cols));
    if (cols == NULL) {
        (void)err_set(err, ERR_NOMEM, "out of memory for %zu columns", t->n_cols);
        return NULL;
    }
    for (size_t i = 0; i < t->n_cols; i++) {
        snprintf(cols[i].name, sizeof(cols[i].name), "%s", t->cols[i].name);
        snprintf(cols[i].type, sizeof(cols[i].type), "%s", t->cols[i].type);
    }
    return cols;
}

enum err_code etl_catalog_table_input(const struct etl_ddl_table *t,
                                      const struct etl_ddl_col *cols,
                                      size_t n_cols,
                                      struct buf *out,
                                      struct err *err)
{
    struct etl_ddl_table view = *t;
    view.cols = (struct etl_ddl_col *)cols;
    view.n_cols = n_cols;
    struct mcol *m = model_cols(&view, err);
    if (m == NULL) {
        return ERR_NOMEM;
    }
    enum err_code rc = render_input(t, m, n_cols, NULL, out, err);
    free(m);
    return rc;
}

/* ---- sync ---- */

static enum err_code ensure_database(struct etl_catalog *c, struct err *err)
{
    if (c->database_ready) {
        return ERR_OK;
    }
    bool found = false, already = false;
    enum err_code rc = glue_get_database(c->aws, c->cfg->database, &found, err);
    if (rc == ERR_OK && !found) {
        rc = glue_create_database(c->aws, c->cfg->database,
                                  "Tables of ddb-s3-etl: DynamoDB changes and snapshots", &already,
                                  err);
        if (rc == ERR_OK) {
            log_info("catalog: database %s %s", c->cfg->database,
                     already ? "was created by another writer" : "created");
        }
    }
    c->database_ready = rc == ERR_OK;
    return rc;
}

/* True when every column of t is in the catalog, as far as this container knows, with a type
 * that holds t's (or the change was already logged). */
static bool known(const struct etl_catalog *c, const struct etl_ddl_table *t)
{
    char key[CATALOG_KEY_MAX], merged[TYPE_MAX];
    for (size_t i = 0; i < t->n_cols; i++) {
        pair_key(key, sizeof(key), t->name, t->cols[i].name);
        if (c->cfg->policy == ETL_CATALOG_LOG && set_get(&c->logged, key) != NULL) {
            continue; /* drift already logged and counted: leave it */
        }
        const char *have = set_get(&c->columns, key);
        if (have == NULL) {
            return false;
        }
        if (t->cols[i].untyped || strcmp(have, KEPT_MARK) == 0) {
            continue; /* a kept column (struct mcol), left as the catalog has it */
        }
        etl_catalog_merge_type(have, t->cols[i].type, merged, sizeof(merged));
        if (strcmp(merged, have) != 0) {
            return false;
        }
    }
    return true;
}

static enum err_code remember(struct etl_catalog *c,
                              const char *table,
                              const struct mcol *cols,
                              size_t n,
                              struct err *err)
{
    char key[CATALOG_KEY_MAX];
    enum err_code rc = ERR_OK;
    /* Last to first: of columns sharing a name (a table Glue holds with duplicates), the first
     * is the one merge compares with, so its type is the one that stays known. */
    for (size_t i = n; rc == ERR_OK && i-- > 0;) {
        if (cols[i].unread.len > 0) {
            continue;
        }
        pair_key(key, sizeof(key), table, cols[i].name);
        rc = set_put(&c->columns, key, cols[i].kept ? KEPT_MARK : cols[i].type, err);
    }
    return rc;
}

/* Logs a column change once per container; true the first time. */
static bool log_once(struct etl_catalog *c, const char *table, const char *column)
{
    char key[CATALOG_KEY_MAX];
    struct err ignored = ERR_INIT;
    pair_key(key, sizeof(key), table, column);
    if (set_get(&c->logged, key) != NULL) {
        return false;
    }
    return set_put(&c->logged, key, "", &ignored) == ERR_OK;
}

/* The catalog's columns (types widened as t's rows need) then t's new ones. *changes counts
 * what differs from the catalog. In log mode the catalog's columns are left as they are. */
static enum err_code merge(struct etl_catalog *c,
                           const struct etl_ddl_table *t,
                           const struct json_val *table,
                           struct mcol **out,
                           size_t *n_out,
                           size_t *changes,
                           struct err *err)
{
    struct json_val sd, cols, col, v;
    size_t n_have = 0;
    *changes = 0;
    bool has_cols = json_object_get_type(table, "StorageDescriptor", JSON_OBJECT, &sd) &&
                    json_object_get_type(&sd, "Columns", JSON_ARRAY, &cols);
    if (has_cols) {
        n_have = json_count(&cols);
    }
    struct mcol *m = calloc(n_have + t->n_cols + 1, sizeof(*m));
    if (m == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for %zu columns", n_have + t->n_cols);
    }
    size_t n = 0;
    struct json_iter it;
    if (has_cols) {
        json_iter_init(&it, &cols);
    }
    while (has_cols && json_array_next(&it, &col)) {
        struct mcol *mc = &m[n];
        if (!json_object_get_type(&col, "Name", JSON_STRING, &v) ||
            !json_string_copy(&v, mc->name, sizeof(mc->name))) {
            mc->name[0] = '\0';
            mc->unread = col.raw; /* never dropped: sent back as it came */
            n++;
            continue;
        }
        bool has_type = json_object_get(&col, "Type", &v) && v.type != JSON_NULL;
        if (has_type && v.type != JSON_STRING) {
            /* The message names the column, which lives in m: written before m is freed. */
            enum err_code rc = err_set(err, ERR_INVALID_INPUT,
                                       "GetTable %s: column %s has a Type that is not a string",
                                       t->name, mc->name);
            free(m);
            return rc;
        }
        if (!has_type || !json_string_copy(&v, mc->type, sizeof(mc->type))) {
            mc->kept = true;
            mc->type[0] = '\0';
            mc->kept_type = has_type ? v.raw : cur_make(NULL, 0);
        }
        if (json_object_get_type(&col, "Comment", JSON_STRING, &v)) {
            mc->comment = v.raw;
        }
        n++;
    }
    size_t n_catalog = n;
    for (size_t i = 0; i < t->n_cols; i++) {
        const struct etl_ddl_col *tc = &t->cols[i];
        size_t j = 0;
        while (j < n_catalog && strcmp(m[j].name, tc->name) != 0) {
            j++;
        }
        if (j == n_catalog) { /* a new column */
            (*changes)++;
            if (c->cfg->policy == ETL_CATALOG_LOG) {
                if (log_once(c, t->name, tc->name)) {
                    log_warn("catalog: %s.%s has no column %s (%s); not added "
                             "(ETL_CATALOG_SCHEMA_CHANGE=log)",
                             c->cfg->database, t->name, tc->name, tc->type);
                    c->stats.drift++;
                }
                continue;
            }
            snprintf(m[n].name, sizeof(m[n].name), "%s", tc->name);
            snprintf(m[n].type, sizeof(m[n].type), "%s", tc->type);
            n++;
            continue;
        }
        if (tc->untyped) {
            continue;
        }
        if (m[j].kept) {
            if (log_once(c, t->name, tc->name)) {
                char what[64] = "no type";
                if (m[j].kept_type.len > 0) {
                    snprintf(what, sizeof(what), "a type over %d bytes (or with a NUL)",
                             TYPE_MAX - 1);
                }
                log_warn("catalog: %s.%s column %s has %s; left as it is (rows hold %s)",
                         c->cfg->database, t->name, tc->name, what, tc->type);
            }
            continue;
        }
        char merged[TYPE_MAX];
        etl_catalog_merge_type(m[j].type, tc->type, merged, sizeof(merged));
        if (strcmp(merged, m[j].type) == 0) {
            continue;
        }
        (*changes)++;
        bool first = log_once(c, t->name, tc->name);
        if (c->cfg->policy == ETL_CATALOG_LOG) {
            if (first) {
                log_warn("catalog: %s.%s column %s is %s, rows now hold %s; left as it is "
                         "(ETL_CATALOG_SCHEMA_CHANGE=log)",
                         c->cfg->database, t->name, tc->name, m[j].type, tc->type);
                c->stats.drift++;
            }
            continue;
        }
        if (first) {
            log_warn("catalog: %s.%s column %s was %s, rows now hold %s: widened to %s",
                     c->cfg->database, t->name, tc->name, m[j].type, tc->type, merged);
        }
        c->stats.widened++;
        snprintf(m[j].type, sizeof(m[j].type), "%s", merged);
    }
    *out = m;
    *n_out = n;
    return ERR_OK;
}

static enum err_code create(struct etl_catalog *c,
                            const struct etl_ddl_table *t,
                            struct buf *input,
                            bool *raced,
                            struct err *err)
{
    struct mcol *m = model_cols(t, err);
    *raced = false;
    if (m == NULL) {
        return ERR_NOMEM;
    }
    enum err_code rc = render_input(t, m, t->n_cols, NULL, input, err);
    if (rc == ERR_OK) {
        rc = glue_create_table(c->aws, c->cfg->database, buf_cur(input), err);
    }
    if (rc != ERR_OK && glue_err_is(err, "AlreadyExistsException")) {
        *raced = true; /* another writer made it: read it and merge */
        rc = ERR_OK;
    } else if (rc == ERR_OK) {
        log_info("catalog: created %s.%s (%zu columns)", c->cfg->database, t->name, t->n_cols);
        c->stats.tables_created++;
        rc = remember(c, t->name, m, t->n_cols, err);
    }
    free(m);
    return rc;
}

enum err_code etl_catalog_sync_table(struct etl_catalog *c,
                                     const struct etl_ddl_table *t,
                                     bool refresh,
                                     struct err *err)
{
    if (!etl_catalog_enabled(c) || t->serde == NULL) {
        return ERR_OK;
    }
    if (!refresh && c->database_ready && known(c, t)) {
        return ERR_OK;
    }
    struct glue_table gt;
    struct buf input = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct mcol *m = NULL;
    glue_table_init(&gt);
    enum err_code rc = ensure_database(c, err);
    for (int attempt = 0; rc == ERR_OK; attempt++) {
        if (attempt > ETL_CATALOG_MAX_CONFLICTS) {
            rc = err_set(err, ERR_HTTP,
                         "catalog %s.%s: still changed by other writers after %d attempts",
                         c->cfg->database, t->name, attempt);
            err->retryable = true;
            break;
        }
        if (attempt > 0) {
            sys_sleep_ms(c->aws->sys, aws_backoff_ms(c->aws->sys, attempt, false));
        }
        bool found = false, raced = false;
        rc = glue_get_table(c->aws, c->cfg->database, t->name, &gt, &found, err);
        if (rc == ERR_OK && !found) {
            rc = create(c, t, &input, &raced, err);
            if (rc != ERR_OK || !raced) {
                break;
            }
            continue;
        }
        size_t n = 0, changes = 0;
        free(m);
        m = NULL;
        if (rc == ERR_OK) {
            rc = merge(c, t, &gt.table, &m, &n, &changes, err);
        }
        if (rc != ERR_OK) {
            break;
        }
        if (c->cfg->policy == ETL_CATALOG_LOG || (changes == 0 && !refresh)) {
            rc = remember(c, t->name, m, n, err); /* the catalog's own columns */
            break;
        }
        rc = render_input(t, m, n, &gt.table, &input, err);
        if (rc == ERR_OK) {
            rc = glue_update_table(c->aws, c->cfg->database, buf_cur(&input), gt.version_id, true,
                                   err);
        }
        if (rc != ERR_OK && glue_err_is(err, "ConcurrentModificationException")) {
            log_info("catalog: %s.%s changed since version %s was read: reading it again",
                     c->cfg->database, t->name, gt.version_id);
            c->stats.conflicts++;
            rc = ERR_OK;
            continue;
        }
        if (rc == ERR_OK) {
            if (changes > 0) {
                log_info("catalog: updated %s.%s (%zu columns, %zu changed)", c->cfg->database,
                         t->name, n, changes);
            }
            c->stats.tables_updated++;
            rc = remember(c, t->name, m, n, err);
        }
        break;
    }
    free(m);
    buf_cleanup(&input);
    glue_table_cleanup(&gt);
    if (rc != ERR_OK) {
        c->stats.failures++;
    }
    return rc;
}

/* One PartitionInput: the values, and the table's storage at the partition's folder. */
static void write_partition(struct jsonw *w,
                            const struct etl_ddl_table *t,
                            const char *path,
                            char (*values)[ETL_PARTITION_MAX])
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "Values");
    jsonw_array(w, JSONW_COMPACT);
    for (size_t i = 0; i < t->n_parts; i++) {
        jsonw_str(w, values[i]);
    }
    jsonw_end(w);
    jsonw_key(w, "StorageDescriptor");
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "Columns");
    jsonw_array(w, JSONW_COMPACT);
    for (size_t i = 0; i < t->n_cols; i++) {
        jsonw_object(w, JSONW_COMPACT);
        jsonw_key(w, "Name");
        jsonw_str(w, t->cols[i].name);
        jsonw_key(w, "Type");
        jsonw_str(w, t->cols[i].type);
        jsonw_end(w);
    }
    jsonw_end(w);
    char location[LIMIT_LOCATION_BYTES + ETL_PARTITION_MAX + 2];
    snprintf(location, sizeof(location), "%s%s/", t->location, path);
    jsonw_key(w, "Location");
    jsonw_str(w, location);
    write_serde(w, t);
    jsonw_end(w);
    jsonw_end(w);
}

static enum err_code send_partitions(struct etl_catalog *c,
                                     const struct etl_ddl_table *t,
                                     const char *const *paths,
                                     size_t n,
                                     struct err *err)
{
    struct buf list = BUF_INIT(GLUE_MAX_REQUEST_BYTES);
    struct jsonw w;
    char values[ETL_DDL_MAX_PART_COLS][ETL_PARTITION_MAX];
    char key[CATALOG_KEY_MAX];
    jsonw_init(&w, &list, err);
    jsonw_array(&w, JSONW_COMPACT);
    for (size_t i = 0; i < n; i++) {
        if (!etl_ddl_partition_values(t, paths[i], values, ETL_DDL_MAX_PART_COLS)) {
            struct err e = ERR_INIT;
            (void)err_set(
                &e, ERR_INVALID_INPUT,
                "catalog %s: partition path %s has not the shape of its partition columns", t->name,
                paths[i]);
            jsonw_fail(&w, &e);
            break;
        }
        write_partition(&w, t, paths[i], values);
    }
    jsonw_end(&w);
    enum err_code rc = jsonw_finish(&w);
    if (rc == ERR_OK) {
        rc = glue_batch_create_partition(c->aws, c->cfg->database, t->name, buf_cur(&list), n, err);
    }
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        pair_key(key, sizeof(key), t->name, paths[i]);
        rc = set_put(&c->partitions, key, "", err);
    }
    if (rc == ERR_OK) {
        c->stats.partitions += n;
    }
    buf_cleanup(&list);
    return rc;
}

enum err_code etl_catalog_add_partitions(struct etl_catalog *c,
                                         const struct etl_ddl_table *t,
                                         const char *const *paths,
                                         size_t n,
                                         struct err *err)
{
    if (!etl_catalog_enabled(c) || t->serde == NULL || t->n_parts == 0) {
        return ERR_OK;
    }
    const char *todo[GLUE_MAX_PARTITIONS_CALL];
    size_t n_todo = 0;
    char key[CATALOG_KEY_MAX];
    enum err_code rc = ensure_database(c, err);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        pair_key(key, sizeof(key), t->name, paths[i]);
        bool dup = set_get(&c->partitions, key) != NULL;
        for (size_t j = 0; j < n_todo && !dup; j++) {
            dup = strcmp(todo[j], paths[i]) == 0;
        }
        if (dup) {
            continue;
        }
        todo[n_todo++] = paths[i];
        if (n_todo == GLUE_MAX_PARTITIONS_CALL) {
            rc = send_partitions(c, t, todo, n_todo, err);
            n_todo = 0;
        }
    }
    if (rc == ERR_OK && n_todo > 0) {
        rc = send_partitions(c, t, todo, n_todo, err);
    }
    if (rc != ERR_OK) {
        c->stats.failures++;
    }
    return rc;
}
