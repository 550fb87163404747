/*
 * etl_ddl.c - Athena DDL generation. Partition projection follows the Athena user guide
 * (partition-projection-supported-types): date columns get a Java DateTimeFormatter pattern,
 * hours and minutes are integers with two digits, the template names every column.
 */
#include "etl_ddl.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_partition.h"
#include "etl_record.h"
#include "etl_time.h"

#define NAME_MAX_LEN  ETL_DDL_NAME_MAX
#define MAX_COLS      4096
#define MAX_PART_COLS ETL_DDL_MAX_PART_COLS

void etl_ddl_name(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = in; *p != '\0' && o + 1 < cap; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c + 32);
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            c = '_';
        }
        out[o++] = c;
    }
    if (o == 0 && cap > 1) {
        out[o++] = '_';
    }
    out[o] = '\0';
}

void etl_ddl_declared_add(void *list, const char *name, const char *athena_type)
{
    struct etl_ddl_declared_list *d = list;
    struct etl_ddl_declared *v = mem_grow(d->v, &d->cap, d->n, sizeof(*v), 16);
    char *n = strdup(name), *t = strdup(athena_type);
    if (v == NULL || n == NULL || t == NULL) {
        free(n);
        free(t);
        if (v != NULL) {
            d->v = v;
        }
        d->failed = true;
        return;
    }
    d->v = v;
    d->v[d->n++] = (struct etl_ddl_declared){n, t};
}

void etl_ddl_declared_list_cleanup(struct etl_ddl_declared_list *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->v[i].name);
        free((char *)l->v[i].athena_type);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* Column names for the schema's attributes, unique after sanitising. */
struct columns {
    const struct etl_schema_attr **attrs;
    char (*names)[NAME_MAX_LEN]; /* Athena column names */
    char (*keys)[NAME_MAX_LEN];  /* the JSON keys in the data (mapping.* when they differ) */
    size_t n;
};

static void columns_free(struct columns *c)
{
    free(c->attrs);
    free(c->names);
    free(c->keys);
}

static bool is_meta(const char *name)
{
    return etl_meta_is_name(cur_from_str(name));
}

/* rows: the data is our row format, where an attribute named like a metadata column (or such a
 * name with "_item" prefixes) is written as "_item<name>" (etl_record.h); otherwise keys are the
 * attribute names. */
static enum err_code
columns_build(const struct etl_schema *schema, bool rows, struct columns *c, struct err *err)
{
    memset(c, 0, sizeof(*c));
    enum err_code rc = etl_schema_sorted(schema, &c->attrs, err);
    if (rc != ERR_OK || schema->n == 0) {
        return rc;
    }
    if (schema->n > MAX_COLS) {
        return err_set(err, ERR_TOO_LARGE, "DDL: %zu attributes, more than %d columns", schema->n,
                       MAX_COLS);
    }
    c->names = calloc(schema->n, sizeof(*c->names));
    c->keys = calloc(schema->n, sizeof(*c->keys));
    if (c->names == NULL || c->keys == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for DDL columns");
    }
    c->n = schema->n;
    for (size_t i = 0; i < c->n; i++) {
        const char *name = c->attrs[i]->name;
        snprintf(c->keys[i], NAME_MAX_LEN, "%s%.240s",
                 rows && etl_meta_escaped(cur_from_str(name)) ? "_item" : "", name);
        char base[NAME_MAX_LEN - 8];
        etl_ddl_name(c->keys[i], base, sizeof(base));
        /* A sanitised name must not take a metadata column's place either. */
        if (is_meta(base)) {
            char renamed[NAME_MAX_LEN - 8];
            snprintf(renamed, sizeof(renamed), "_item%.200s", base);
            memcpy(base, renamed, sizeof(base));
        }
        snprintf(c->names[i], NAME_MAX_LEN, "%s", base);
        for (int k = 2; k < 1000; k++) {
            bool clash = false;
            for (size_t j = 0; j < i && !clash; j++) {
                clash = strcmp(c->names[j], c->names[i]) == 0;
            }
            if (!clash) {
                break;
            }
            snprintf(c->names[i], NAME_MAX_LEN, "%.240s_%u", base, (unsigned)k);
        }
    }
    return ERR_OK;
}

static bool is_declared(const struct etl_ddl_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->n_declared; i++) {
        if (strcmp(ctx->declared[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* The column's type: declared by the transform, or inferred from the schema. */
static void
column_type(const struct etl_ddl_ctx *ctx, const struct etl_schema_attr *a, char *out, size_t cap)
{
    const char *declared = NULL;
    for (size_t i = 0; i < ctx->n_declared && declared == NULL; i++) {
        declared =
            strcmp(ctx->declared[i].name, a->name) == 0 ? ctx->declared[i].athena_type : NULL;
    }
    if (ctx->format->athena_type != NULL) {
        /* A typed format's files carry their own types: the format's rule, given the declared
         * type (etl_fmt_parquet.c), so the DDL says what the files hold. */
        uint32_t types = 0;
        for (int t = 0; t < ETL_T_COUNT; t++) {
            types |= a->counts[t] > 0 ? 1u << t : 0;
        }
        ctx->format->athena_type(types, declared, out, cap);
        return;
    }
    for (size_t i = 0; i < ctx->n_declared; i++) {
        if (strcmp(ctx->declared[i].name, a->name) == 0) {
            const char *t = ctx->declared[i].athena_type;
            bool text = strncmp(t, "timestamp", 9) == 0 || strncmp(t, "binary", 6) == 0;
            bool as_string = text && ctx->format->serde != NULL && ctx->format->serde->text_times;
            snprintf(out, cap, "%s", as_string ? "string" : t);
            return;
        }
    }
    etl_schema_athena_type(a, out, cap);
}

/* ---- the model ---- */

void etl_ddl_table_cleanup(struct etl_ddl_table *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->n_serde_props; i++) {
        free(t->serde_props[i].key);
        free(t->serde_props[i].value);
    }
    for (size_t i = 0; i < t->n_props; i++) {
        free(t->props[i].key);
        free(t->props[i].value);
    }
    free(t->serde_props);
    free(t->props);
    free(t->cols);
    free(t->location);
    memset(t, 0, sizeof(*t));
}

static enum err_code prop_add(struct etl_ddl_prop **v,
                              size_t *n,
                              size_t *cap,
                              const char *key,
                              const char *value,
                              struct err *err)
{
    struct etl_ddl_prop *grown = mem_grow(*v, cap, *n, sizeof(**v), 8);
    if (grown == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for table properties");
    }
    *v = grown;
    char *k = strdup(key), *val = strdup(value);
    if (k == NULL || val == NULL) {
        free(k);
        free(val);
        return err_set(err, ERR_NOMEM, "out of memory for table properties");
    }
    (*v)[(*n)++] = (struct etl_ddl_prop){k, val};
    return ERR_OK;
}

static enum err_code table_prop(struct etl_ddl_table *t, struct err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a table property from "key\tvalue" printed with fmt. */
static enum err_code table_prop(struct etl_ddl_table *t, struct err *err, const char *fmt, ...)
{
    char kv[ETL_PARTITION_MAX * 3 + 1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(kv, sizeof(kv), fmt, ap);
    va_end(ap);
    char *tab = n > 0 && (size_t)n < sizeof(kv) ? strchr(kv, '\t') : NULL;
    if (tab == NULL) {
        return err_set(err, ERR_TOO_LARGE, "table %s: a property longer than %zu bytes", t->name,
                       sizeof(kv));
    }
    *tab = '\0';
    return prop_add(&t->props, &t->n_props, &t->cap_props, kv, tab + 1, err);
}

/* The columns: the rows' (declared or inferred types), then the metadata columns. */
static enum err_code model_columns(struct etl_ddl_table *t,
                                   const struct etl_ddl_ctx *ctx,
                                   const struct columns *c,
                                   struct err *err)
{
    t->cols = calloc(c->n + ETL_META_COUNT + 1, sizeof(*t->cols));
    if (t->cols == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for %zu columns", c->n);
    }
    for (size_t i = 0; i < c->n; i++) {
        struct etl_ddl_col *col = &t->cols[t->n_cols++];
        snprintf(col->name, sizeof(col->name), "%s", c->names[i]);
        column_type(ctx, c->attrs[i], col->type, sizeof(col->type));
        col->untyped = !is_declared(ctx, c->attrs[i]->name);
        for (int k = 0; k < ETL_T_COUNT && col->untyped; k++) {
            col->untyped = k == ETL_T_NULL || c->attrs[i]->counts[k] == 0;
        }
    }
    for (size_t m = 0; m < ETL_META_COUNT; m++) {
        if ((ctx->meta_omit & (1u << m)) == 0) {
            struct etl_ddl_col *col = &t->cols[t->n_cols++];
            snprintf(col->name, sizeof(col->name), "%s", etl_meta_cols[m].name);
            if (ctx->format->athena_type != NULL) {
                ctx->format->athena_type(1u << etl_meta_cols[m].type, NULL, col->type,
                                         sizeof(col->type));
            } else {
                snprintf(col->type, sizeof(col->type), "%s", etl_meta_cols[m].athena_type);
            }
        }
    }
    return ERR_OK;
}

/* The SerDe's fixed properties and, when it maps names, mapping.<column> for every name that
 * sanitising changed. */
static enum err_code model_serde(struct etl_ddl_table *t,
                                 const struct etl_serde *serde,
                                 const struct columns *c,
                                 struct err *err)
{
    enum err_code rc = ERR_OK;
    t->serde = serde;
    for (const char *const *p = serde->properties; rc == ERR_OK && p != NULL && p[0] != NULL;
         p += 2) {
        rc = prop_add(&t->serde_props, &t->n_serde_props, &t->cap_serde_props, p[0], p[1], err);
    }
    for (size_t i = 0; serde->name_mapping && rc == ERR_OK && i < c->n; i++) {
        if (strcmp(c->keys[i], c->names[i]) != 0) {
            char key[NAME_MAX_LEN + 16];
            snprintf(key, sizeof(key), "mapping.%s", c->names[i]);
            rc = prop_add(&t->serde_props, &t->n_serde_props, &t->cap_serde_props, key, c->keys[i],
                          err);
        }
    }
    return rc;
}

static enum err_code model_location(struct etl_ddl_table *t,
                                    const struct etl_ddl_ctx *ctx,
                                    const char *folder,
                                    struct err *err)
{
    size_t n = strlen(ctx->location_root) + strlen(ctx->table) + strlen(folder) + 3;
    t->location = malloc(n);
    if (t->location == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for a location");
    }
    snprintf(t->location, n, "%s%s/%s/", ctx->location_root, ctx->table, folder);
    return ERR_OK;
}

/* Appends s for the inside of a SQL string literal: single quotes doubled. */
static enum err_code sql_text(struct buf *out, const char *s, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (const char *p = s; rc == ERR_OK && *p != '\0'; p++) {
        rc = *p == '\'' ? buf_append_str(out, "''", err) : buf_append_byte(out, (uint8_t)*p, err);
    }
    return rc;
}

/* A property list's inside: 'key' = 'value' pairs, one a line, comma separated. */
static enum err_code
sql_props(struct buf *out, const struct etl_ddl_prop *props, size_t n, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        rc = buf_printf(out, err, "%s\n  '", i > 0 ? "," : "");
        if (rc == ERR_OK) {
            rc = sql_text(out, props[i].key, err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_str(out, "' = '", err);
        }
        if (rc == ERR_OK) {
            rc = sql_text(out, props[i].value, err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(out, '\'', err);
        }
    }
    return rc;
}

/* The row format: the model's SerDe with its properties, input and output formats. */
static enum err_code sql_row_format(struct buf *out, const struct etl_ddl_table *t, struct err *err)
{
    enum err_code rc =
        buf_printf(out, err, "ROW FORMAT SERDE '%s'\nWITH SERDEPROPERTIES (", t->serde->library);
    if (rc == ERR_OK) {
        rc = sql_props(out, t->serde_props, t->n_serde_props, err);
    }
    if (rc == ERR_OK) {
        rc = buf_printf(out, err, ")\nSTORED AS INPUTFORMAT '%s'\n  OUTPUTFORMAT '%s'\n",
                        t->serde->input_format, t->serde->output_format);
    }
    return rc;
}

/* CREATE EXTERNAL TABLE's body after its first line: columns, partitions, row format, location
 * and table properties. */
static enum err_code sql_table_body(struct buf *out, const struct etl_ddl_table *t, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < t->n_cols; i++) {
        rc = buf_printf(out, err, "%s  `%s` %s", i > 0 ? ",\n" : "", t->cols[i].name,
                        t->cols[i].type);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, "\n)\nPARTITIONED BY (", err);
    }
    for (size_t i = 0; rc == ERR_OK && i < t->n_parts; i++) {
        rc = buf_printf(out, err, "%s`%s` string", i > 0 ? ", " : "", t->parts[i].name);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, ")\n", err);
    }
    if (rc == ERR_OK) {
        rc = sql_row_format(out, t, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, "LOCATION '", err);
    }
    if (rc == ERR_OK) {
        rc = sql_text(out, t->location, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, "'\nTBLPROPERTIES (", err);
    }
    if (rc == ERR_OK) {
        rc = sql_props(out, t->props, t->n_props, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, ");\n", err);
    }
    return rc;
}

/* What a format without a SerDe gets instead of DDL. */
static enum err_code no_ddl(struct buf *out, const struct etl_ddl_ctx *ctx, struct err *err)
{
    const char *note = ctx->format->ddl_note;
    const char *slot = note != NULL ? strstr(note, "%s") : NULL;
    if (slot == NULL) {
        return buf_printf(out, err, "-- no Athena DDL for the %s format of %s\n", ctx->format->name,
                          ctx->table);
    }
    enum err_code rc = buf_append(out, note, (size_t)(slot - note), err);
    if (rc == ERR_OK) {
        rc = buf_append_str(out, ctx->table, err);
    }
    return rc == ERR_OK ? buf_append_str(out, slot + 2, err) : rc;
}

/* An empty model named after the table, with suffix. */
static void model_init(struct etl_ddl_table *t, const struct etl_ddl_ctx *ctx, const char *suffix)
{
    char tname[NAME_MAX_LEN];
    memset(t, 0, sizeof(*t));
    etl_ddl_name(ctx->table, tname, sizeof(tname));
    snprintf(t->name, sizeof(t->name), "%.240s%s", tname, suffix);
}

/* What both tables share: columns, SerDe, the location below folder, partition projection on. */
static enum err_code model_common(struct etl_ddl_table *t,
                                  const struct etl_ddl_ctx *ctx,
                                  const struct etl_schema *schema,
                                  const char *folder,
                                  struct err *err)
{
    struct columns c;
    enum err_code rc = columns_build(schema, true, &c, err);
    if (rc == ERR_OK) {
        rc = model_columns(t, ctx, &c, err);
    }
    if (rc == ERR_OK) {
        rc = model_serde(t, ctx->format->serde, &c, err);
    }
    if (rc == ERR_OK) {
        rc = model_location(t, ctx, folder, err);
    }
    if (rc == ERR_OK) {
        rc = table_prop(t, err, "projection.enabled\ttrue");
    }
    columns_free(&c);
    return rc;
}

enum err_code etl_ddl_snapshot_table(const struct etl_ddl_ctx *ctx,
                                     const struct etl_schema *schema,
                                     struct etl_ddl_table *t,
                                     struct err *err)
{
    model_init(t, ctx, "_snapshot");
    snprintf(t->parts[0].name, sizeof(t->parts[0].name), "run");
    snprintf(t->parts[0].key, sizeof(t->parts[0].key), "run=");
    t->n_parts = 1;
    enum err_code rc = model_common(t, ctx, schema, "snapshots", err);
    if (rc == ERR_OK) {
        rc = table_prop(t, err, "projection.run.type\tinjected");
    }
    if (rc == ERR_OK) {
        rc = table_prop(t, err, "storage.location.template\t%srun=${run}/", t->location);
    }
    return rc;
}

enum err_code etl_ddl_snapshot(struct buf *out,
                               const struct etl_ddl_ctx *ctx,
                               const struct etl_schema *schema,
                               struct err *err)
{
    if (ctx->format->serde == NULL) {
        return no_ddl(out, ctx, err);
    }
    struct etl_ddl_table t;
    char tname[NAME_MAX_LEN];
    etl_ddl_name(ctx->table, tname, sizeof(tname));
    enum err_code rc = etl_ddl_snapshot_table(ctx, schema, &t, err);
    if (rc == ERR_OK) {
        rc = buf_printf(
            out, err,
            "-- Snapshots of DynamoDB table %s written by ddb-s3-etl; one partition per run.\n"
            "-- Query one run: SELECT ... FROM %s_snapshot WHERE run = '<run id>'\n"
            "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n",
            ctx->table, tname, t.name);
    }
    if (rc == ERR_OK) {
        rc = sql_table_body(out, &t, err);
    }
    etl_ddl_table_cleanup(&t);
    return rc;
}

/* ---- partition projection from ETL_PARTITION ---- */

static size_t split_template(const char *tmpl, struct etl_ddl_part *cols, size_t max)
{
    size_t n = 0;
    const char *seg = tmpl;
    while (*seg != '\0' && n < max) {
        size_t len = strcspn(seg, "/");
        char piece[ETL_PARTITION_MAX];
        snprintf(piece, sizeof(piece), "%.*s", (int)len, seg);
        const char *eq = strchr(piece, '=');
        const char *pct = strchr(piece, '%');
        if (eq != NULL && (pct == NULL || eq < pct)) {
            char raw[64];
            snprintf(raw, sizeof(raw), "%.*s", (int)(eq - piece), piece);
            etl_ddl_name(raw, cols[n].name, sizeof(cols[n].name));
            snprintf(cols[n].key, sizeof(cols[n].key), "%.*s", (int)(eq - piece + 1), piece);
            snprintf(cols[n].fmt, sizeof(cols[n].fmt), "%s", eq + 1);
        } else {
            snprintf(cols[n].name, sizeof(cols[n].name), "p%zu", n + 1);
            cols[n].key[0] = '\0';
            snprintf(cols[n].fmt, sizeof(cols[n].fmt), "%s", piece);
        }
        n++;
        seg += len;
        if (*seg == '/') {
            seg++;
        }
    }
    return n;
}

/* Renders a value template for epoch_ms into out; the length, 0 if it is not a valid template
 * or did not fit. */
static size_t render_value(const char *fmt, int64_t epoch_ms, char *out, size_t cap)
{
    struct etl_partition p;
    struct err ignored = ERR_INIT;
    if (etl_partition_compile(&p, fmt, &ignored) != ERR_OK) {
        return 0;
    }
    return etl_partition_render(&p, epoch_ms, out, cap);
}

/* Java DateTimeFormatter pattern for a value template; literals quoted. */
static void java_pattern(const char *fmt, char *out, size_t cap)
{
    size_t o = 0;
    bool in_quote = false;
    for (const char *p = fmt; *p != '\0' && o + 8 < cap; p++) {
        const char *rep = NULL;
        if (*p == '%' && p[1] != '\0') {
            switch (p[1]) {
            case 'Y':
                rep = "yyyy";
                break;
            case 'm':
                rep = "MM";
                break;
            case 'd':
                rep = "dd";
                break;
            case 'H':
                rep = "HH";
                break;
            case 'M':
                rep = "mm";
                break;
            default:
                break;
            }
        }
        if (rep != NULL) {
            if (in_quote) {
                out[o++] = '\'';
                in_quote = false;
            }
            size_t l = strlen(rep);
            memcpy(out + o, rep, l);
            o += l;
            p++;
            continue;
        }
        char c = *p == '%' ? *++p : *p; /* "%%" is a literal percent */
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (letter && !in_quote) {
            out[o++] = '\'';
            in_quote = true;
        } else if (!letter && in_quote) {
            out[o++] = '\'';
            in_quote = false;
        }
        out[o++] = c;
    }
    if (in_quote) {
        out[o++] = '\'';
    }
    out[o] = '\0';
}

/* The projection properties of one partition column. */
static enum err_code
projection(struct etl_ddl_table *t, const struct etl_ddl_part *c, struct err *err)
{
    bool has[256] = {false};
    int tokens = 0;
    for (const char *p = c->fmt; *p != '\0'; p++) {
        if (*p == '%' && p[1] != '\0' && p[1] != '%') {
            has[(unsigned char)p[1]] = true;
            tokens++;
            p++;
        }
    }
    const char *single = NULL;
    if (tokens == 1 && strlen(c->fmt) == 2) {
        single = c->fmt;
    }
    if (single != NULL && strchr("HMdm", single[1]) != NULL) {
        const char *range = single[1] == 'H'   ? "0,23"
                            : single[1] == 'M' ? "0,59"
                            : single[1] == 'd' ? "1,31"
                                               : "1,12";
        enum err_code rc = table_prop(t, err, "projection.%s.type\tinteger", c->name);
        if (rc == ERR_OK) {
            rc = table_prop(t, err, "projection.%s.range\t%s", c->name, range);
        }
        return rc == ERR_OK ? table_prop(t, err, "projection.%s.digits\t2", c->name) : rc;
    }
    if (tokens == 0) {
        char lit[ETL_PARTITION_MAX];
        size_t n = render_value(c->fmt, 0, lit, sizeof(lit));
        enum err_code rc = table_prop(t, err, "projection.%s.type\tenum", c->name);
        return rc == ERR_OK
                   ? table_prop(t, err, "projection.%s.values\t%s", c->name, n > 0 ? lit : c->fmt)
                   : rc;
    }
    if (has['Y']) {
        const char *unit = has['M']   ? "MINUTES"
                           : has['H'] ? "HOURS"
                           : has['d'] ? "DAYS"
                           : has['m'] ? "MONTHS"
                                      : "YEARS";
        char pattern[ETL_PARTITION_MAX * 2];
        java_pattern(c->fmt, pattern, sizeof(pattern));
        const int64_t from_ms = 1420070400000LL; /* 2015-01-01T00:00Z */
        char start[ETL_PARTITION_MAX];
        if (render_value(c->fmt, from_ms, start, sizeof(start)) == 0) {
            snprintf(start, sizeof(start), "2015");
        }
        enum err_code rc = table_prop(t, err, "projection.%s.type\tdate", c->name);
        if (rc == ERR_OK) {
            rc = table_prop(t, err, "projection.%s.format\t%s", c->name, pattern);
        }
        /* The range ends a step past NOW: zones ahead of UTC write "tomorrow" already. */
        if (rc == ERR_OK) {
            rc = table_prop(t, err, "projection.%s.range\t%s,NOW+1%s", c->name, start, unit);
        }
        if (rc == ERR_OK) {
            rc = table_prop(t, err, "projection.%s.interval\t1", c->name);
        }
        if (rc == ERR_OK) {
            rc = table_prop(t, err, "projection.%s.interval.unit\t%s", c->name, unit);
        }
        return rc;
    }
    /* Anything else: the query names the value (WHERE col = '...'). */
    return table_prop(t, err, "projection.%s.type\tinjected", c->name);
}

enum err_code etl_ddl_changes_table(const struct etl_ddl_ctx *ctx,
                                    const struct etl_schema *schema,
                                    struct etl_ddl_table *t,
                                    struct err *err)
{
    model_init(t, ctx, "_changes");
    t->n_parts = split_template(ctx->partition->tmpl, t->parts, MAX_PART_COLS);
    enum err_code rc = model_common(t, ctx, schema, "changes", err);
    for (size_t i = 0; rc == ERR_OK && i < t->n_parts; i++) {
        rc = projection(t, &t->parts[i], err);
    }
    /* The template: each column's value template replaced by ${column}. */
    char tmpl[ETL_PARTITION_MAX * 2] = "";
    size_t used = 0;
    for (size_t i = 0; rc == ERR_OK && i < t->n_parts; i++) {
        int n = snprintf(tmpl + used, sizeof(tmpl) - used, "%s${%s}/", t->parts[i].key,
                         t->parts[i].name);
        if (n < 0 || (size_t)n >= sizeof(tmpl) - used) {
            rc = err_set(err, ERR_TOO_LARGE, "table %s: partition template too long", t->name);
        } else {
            used += (size_t)n;
        }
    }
    if (rc == ERR_OK) {
        rc = table_prop(t, err, "storage.location.template\t%s%s", t->location, tmpl);
    }
    return rc;
}

bool etl_ddl_partition_values(const struct etl_ddl_table *t,
                              const char *path,
                              char (*values)[ETL_PARTITION_MAX],
                              size_t cap)
{
    const char *seg = path;
    if (t->n_parts > cap) {
        return false;
    }
    for (size_t i = 0; i < t->n_parts; i++) {
        size_t len = strcspn(seg, "/");
        size_t klen = strlen(t->parts[i].key);
        if (len < klen || strncmp(seg, t->parts[i].key, klen) != 0 || len - klen == 0 ||
            len - klen >= ETL_PARTITION_MAX) {
            return false;
        }
        memcpy(values[i], seg + klen, len - klen);
        values[i][len - klen] = '\0';
        seg += len;
        if (*seg == '/') {
            seg++;
        }
    }
    return *seg == '\0';
}

enum err_code etl_ddl_changes(struct buf *out,
                              const struct etl_ddl_ctx *ctx,
                              const struct etl_schema *schema,
                              struct err *err)
{
    if (ctx->format->serde == NULL) {
        return no_ddl(out, ctx, err);
    }
    struct etl_ddl_table t;
    enum err_code rc = etl_ddl_changes_table(ctx, schema, &t, err);
    if (rc == ERR_OK) {
        rc = buf_printf(
            out, err,
            "-- Every change of DynamoDB table %s (DynamoDB Streams), as ddb-s3-etl writes it.\n"
            "-- Partition projection: no crawler, no MSCK REPAIR TABLE. Filter on the\n"
            "-- partition columns to read less. One row per change: keep one row per\n"
            "-- (_table, _seq) to drop repeats.\n"
            "CREATE EXTERNAL TABLE IF NOT EXISTS `%s` (\n",
            ctx->table, t.name);
    }
    if (rc == ERR_OK) {
        rc = sql_table_body(out, &t, err);
    }
    etl_ddl_table_cleanup(&t);
    return rc;
}

static enum err_code select_list(struct buf *out,
                                 const struct etl_ddl_ctx *ctx,
                                 const struct columns *c,
                                 struct err *err)
{
    enum err_code rc = ERR_OK;
    bool first = true;
    for (size_t i = 0; rc == ERR_OK && i < c->n; i++) {
        rc = buf_printf(out, err, "%s`%s`", first ? "" : ", ", c->names[i]);
        first = false;
    }
    for (size_t m = 0; rc == ERR_OK && m < ETL_META_COUNT; m++) {
        if ((ctx->meta_omit & (1u << m)) == 0) {
            rc = buf_printf(out, err, "%s`%s`", first ? "" : ", ", etl_meta_cols[m].name);
            first = false;
        }
    }
    return rc;
}

enum err_code etl_ddl_current_view(struct buf *out,
                                   const struct etl_ddl_ctx *ctx,
                                   const struct etl_schema *schema,
                                   const char *run_id,
                                   int64_t run_ms,
                                   struct err *err)
{
    if (ctx->format->serde == NULL) {
        return no_ddl(out, ctx, err);
    }
    struct columns c;
    struct etl_ddl_part parts[MAX_PART_COLS];
    size_t n_parts = split_template(ctx->partition->tmpl, parts, MAX_PART_COLS);
    char tname[NAME_MAX_LEN], hk[NAME_MAX_LEN], rk[NAME_MAX_LEN], iso[ETL_ISO8601_MAX];
    etl_ddl_name(ctx->table, tname, sizeof(tname));
    etl_ddl_name(ctx->hash_key, hk, sizeof(hk));
    etl_ddl_name(ctx->range_key, rk, sizeof(rk));
    bool has_range = ctx->range_key[0] != '\0';
    etl_time_format_iso8601(run_ms, iso);
    /* _ts is ISO text in the JSON formats and a timestamp in typed ones (a TIMESTAMP literal:
     * Trino does not compare timestamp(3) with varchar). */
    char since[ETL_ISO8601_MAX + 16];
    if (ctx->format->athena_type != NULL) {
        snprintf(since, sizeof(since), "TIMESTAMP '%.10s %.12s'", iso, iso + 11);
    } else {
        snprintf(since, sizeof(since), "'%s'", iso);
    }
    enum err_code rc = columns_build(schema, true, &c, err);
    if (rc == ERR_OK) {
        rc = buf_printf(
            out, err,
            "-- The current state of DynamoDB table %s: snapshot run %s, with every change\n"
            "-- since the snapshot started replayed on top (by key, the latest _seq wins;\n"
            "-- deletes drop the item). Changes made while the scan ran are images, so\n"
            "-- replaying them over the snapshot is safe. Rewritten at every snapshot.\n"
            "CREATE OR REPLACE VIEW `%s_current` AS\nWITH changes AS (\n  SELECT *, row_number() OVER (\n    PARTITION BY `%s`%s%s%s\n    ORDER BY lpad(`_seq`, 40, '0') DESC) AS rank_\n  FROM `%s_changes`\n  WHERE `_ts` >= %s",
            ctx->table, run_id, tname, hk, has_range ? ", `" : "", has_range ? rk : "",
            has_range ? "`" : "", tname, since);
    }
    /* Prune partitions when the first partition column sorts like time (yyyy first). */
    if (rc == ERR_OK && n_parts > 0 && strncmp(parts[0].fmt, "%Y", 2) == 0) {
        char first[ETL_PARTITION_MAX];
        if (render_value(parts[0].fmt, run_ms, first, sizeof(first)) > 0) {
            rc = buf_printf(out, err, " AND `%s` >= '%s'", parts[0].name, first);
        }
    }
    if (rc == ERR_OK) {
        rc = buf_printf(out, err,
                        "\n),\nlatest AS (SELECT * FROM changes WHERE rank_ = 1)\nSELECT ");
    }
    if (rc == ERR_OK) {
        rc = select_list(out, ctx, &c, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, "\nFROM latest WHERE `_op` <> 'REMOVE'\nUNION ALL\nSELECT ", err);
    }
    if (rc == ERR_OK) {
        rc = select_list(out, ctx, &c, err);
    }
    if (rc == ERR_OK) {
        rc = buf_printf(
            out, err,
            "\nFROM `%s_snapshot` s\nWHERE s.`run` = '%s'\n  AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.`%s` = s.`%s`%s%s%s%s%s);\n",
            tname, run_id, hk, hk, has_range ? " AND l.`" : "", has_range ? rk : "",
            has_range ? "` = s.`" : "", has_range ? rk : "", has_range ? "`" : "");
    }
    columns_free(&c);
    return rc;
}

enum err_code etl_ddl_export_table(struct buf *out,
                                   const struct etl_ddl_ctx *ctx,
                                   const struct etl_schema *schema,
                                   const char *data_location,
                                   struct err *err)
{
    struct columns c;
    char tname[NAME_MAX_LEN];
    etl_ddl_name(ctx->table, tname, sizeof(tname));
    enum err_code rc = columns_build(schema, false, &c, err);
    if (rc == ERR_OK) {
        rc = buf_printf(
            out, err,
            "-- DynamoDB-export-format snapshot of %s: one {\"Item\": {...}} per line, typed.\n"
            "-- Numbers are strings here: CAST(item.<attr>.n AS DECIMAL(38,s)).\n"
            "CREATE EXTERNAL TABLE IF NOT EXISTS `%s_export` (\n  `item` struct<",
            ctx->table, tname);
    }
    static const char *const sub[ETL_T_DDB_COUNT] = {
        "s:string", "n:string", "b:string",         "bool:boolean",     "null:boolean",
        "m:string", "l:string", "ss:array<string>", "ns:array<string>", "bs:array<string>"};
    for (size_t i = 0; rc == ERR_OK && i < c.n; i++) {
        rc = buf_printf(out, err, "%s`%s`:struct<", i > 0 ? ",\n    " : "", c.names[i]);
        bool first = true;
        for (int t = 0; rc == ERR_OK && t < ETL_T_DDB_COUNT; t++) {
            if (c.attrs[i]->counts[t] > 0) {
                rc = buf_printf(out, err, "%s%s", first ? "" : ",", sub[t]);
                first = false;
            }
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(out, '>', err);
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, ">\n)\n", err);
    }
    struct etl_ddl_table t;
    memset(&t, 0, sizeof(t));
    if (rc == ERR_OK) {
        rc = model_serde(&t, ctx->format->serde, &c, err);
    }
    if (rc == ERR_OK) {
        rc = sql_row_format(out, &t, err);
    }
    if (rc == ERR_OK) {
        rc = buf_printf(out, err, "LOCATION '%s';\n", data_location);
    }
    etl_ddl_table_cleanup(&t);
    columns_free(&c);
    return rc;
}
