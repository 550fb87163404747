/*
 * etl_fmt_parquet.c - rows to a Parquet file (function/parquet/): every row of the object is
 * seen before the first byte (a whole-object format, as CSV), so each column's type is known
 * for the whole file, then the rows go out in row groups of ETL_PARQUET_ROW_GROUP_BYTES.
 * The type rule (README, "Parquet types"): a column's type is a fixed function of the DynamoDB
 * type of its values, the same in every file:
 *   S, N, M, L  -> STRING (N: its exact digits; M, L: their JSON text)
 *   B -> BINARY; BOOL -> BOOLEAN; _ts and timestamp casts -> TIMESTAMP(MILLIS, UTC)
 *   SS, NS -> LIST<STRING>; BS -> LIST<BINARY>
 * A column whose values in one file have types that map to different Parquet types is written
 * as STRING, each value as the text the JSON formats give it (a logged schema change, never a
 * changed value); a column whose values are all NULL is left out (a missing column reads null).
 * A type the transform declares (mapping or derived column) wins, as the transform's cast has
 * made every value fit it: decimal(p,s) -> DECIMAL(p,s); bigint, int, smallint, tinyint ->
 * INT64 (bigint in the DDL); timestamp -> TIMESTAMP(MILLIS, UTC); boolean; binary. Other
 * declared types (string, double, float, date, array, map) follow the rule above.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "etl_format.h"
#include "etl_names.h"
#include "etl_time.h"
#include "json.h"
#include "log.h"
#include "pq_codec.h"
#include "pq_file.h"

/* A row group holds at most this many bytes of values unless ETL_PARQUET_ROW_GROUP_BYTES says. */
#define DEFAULT_ROW_GROUP_BYTES (32 * 1024 * 1024)
#define CREATED_BY              "ddb-s3-etl version 0.1.0"

/* One spelling of a name as the rows have it (a JSON string literal). */
struct pq_col_info {
    uint32_t types; /* bit per enum etl_type seen, NULL excluded */
    size_t column;  /* its column: p->columns[column] */
};

/* A column: every spelling of one unescaped name. */
struct pq_out_col {
    uint32_t types;
    long file_col; /* the pq_file column, or -1 when left out */
    struct pq_type type;
};

/* A declared column type this writer honours (a copy: the options' list is borrowed). */
struct parquet_declared {
    char *name;
    struct pq_type type;
};

struct parquet_impl {
    struct etl_format_options opts;
    struct parquet_declared *decl;
    size_t n_decl;
    struct etl_names names; /* JSON literals borrowed from the rows' stores */
    struct pq_col_info *info;
    size_t cap_info;
    struct buf unescaped;     /* every name unescaped, back to back */
    struct etl_names columns; /* unescaped names (into `unescaped`, once complete) */
    struct pq_out_col *cols;
    struct etl_row_ref *rows;
    size_t n_rows, cap_rows;
    struct buf tmp; /* unescaped or decoded values */
    struct etl_col *cells;
};

struct parquet_state {
    struct parquet_impl *p;
};
_Static_assert(sizeof(struct parquet_state) <= ETL_ENCODER_STATE_BYTES, "state too large");

/* The Parquet type of a declared Athena type this writer honours (etl_typespec_name's spelling);
 * false: the column follows the type rule. */
static bool declared_type(const char *athena, struct pq_type *out)
{
    int precision = 0, scale = 0, end = 0;
    *out = (struct pq_type){.kind = PQ_STRING};
    if (athena == NULL) {
        return false;
    }
    if (sscanf(athena, "decimal(%d,%d)%n", &precision, &scale, &end) == 2 && athena[end] == '\0' &&
        precision >= 1 && precision <= PQ_DECIMAL_MAX_PRECISION && scale >= 0 &&
        scale <= precision) {
        *out = (struct pq_type){.kind = PQ_DECIMAL, .precision = precision, .scale = scale};
        return true;
    }
    static const struct {
        const char *name;
        enum pq_kind kind;
    } named[] = {{"bigint", PQ_INT64},          {"int", PQ_INT64},       {"smallint", PQ_INT64},
                 {"tinyint", PQ_INT64},         {"boolean", PQ_BOOLEAN}, {"binary", PQ_BINARY},
                 {"timestamp", PQ_TIMESTAMP_MS}};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (strcmp(athena, named[i].name) == 0) {
            out->kind = named[i].kind;
            return true;
        }
    }
    return false;
}

/* The DynamoDB types (bit 1 << enum etl_type) a declared type's values may have. */
static uint32_t declared_accepts(const struct pq_type *t)
{
    switch (t->kind) {
    case PQ_DECIMAL:
    case PQ_INT64:
        return 1u << ETL_T_N;
    case PQ_BOOLEAN:
        return 1u << ETL_T_BOOL;
    case PQ_BINARY:
        return 1u << ETL_T_B;
    case PQ_TIMESTAMP_MS:
        return 1u << ETL_T_TIMESTAMP;
    default:
        return 0;
    }
}

static enum err_code parquet_begin(void *state,
                                   const struct etl_schema *schema,
                                   const struct etl_format_options *opts,
                                   struct err *err)
{
    (void)schema;
    struct parquet_state *s = state;
    s->p = calloc(1, sizeof(*s->p));
    if (s->p == NULL) {
        return err_set(err, ERR_NOMEM, "parquet: out of memory");
    }
    s->p->opts = *opts;
    s->p->opts.declared = NULL;
    s->p->opts.n_declared = 0;
    etl_names_init(&s->p->names);
    etl_names_init(&s->p->columns);
    if (opts->n_declared > 0) {
        s->p->decl = calloc(opts->n_declared, sizeof(*s->p->decl));
        if (s->p->decl == NULL) {
            return err_set(err, ERR_NOMEM, "parquet: out of memory");
        }
    }
    for (size_t i = 0; i < opts->n_declared; i++) {
        struct pq_type t;
        if (!declared_type(opts->declared[i].athena_type, &t)) {
            continue;
        }
        struct parquet_declared *d = &s->p->decl[s->p->n_decl];
        d->name = strdup(opts->declared[i].name);
        if (d->name == NULL) {
            return err_set(err, ERR_NOMEM, "parquet: out of memory");
        }
        d->type = t;
        s->p->n_decl++;
    }
    return ERR_OK;
}

/* Rows wait until every column's type is known: only their places are kept. */
static enum err_code
parquet_row(void *state, const struct etl_row_ref *row, struct etl_encode_out *out, struct err *err)
{
    (void)out;
    struct parquet_impl *p = ((struct parquet_state *)state)->p;
    struct etl_row_ref *rows = mem_grow(p->rows, &p->cap_rows, p->n_rows, sizeof(*rows), 256);
    if (rows == NULL) {
        return err_set(err, ERR_NOMEM, "parquet: out of memory collecting rows");
    }
    p->rows = rows;
    p->rows[p->n_rows++] = *row;
    return ERR_OK;
}

/* The Parquet type of values of one DynamoDB type. */
static struct pq_type type_of(enum etl_type t)
{
    switch (t) {
    case ETL_T_B:
        return (struct pq_type){.kind = PQ_BINARY};
    case ETL_T_BOOL:
        return (struct pq_type){.kind = PQ_BOOLEAN};
    case ETL_T_TIMESTAMP:
        return (struct pq_type){.kind = PQ_TIMESTAMP_MS};
    case ETL_T_SS:
    case ETL_T_NS:
        return (struct pq_type){.kind = PQ_STRING, .list = true};
    case ETL_T_BS:
        return (struct pq_type){.kind = PQ_BINARY, .list = true};
    default:
        return (struct pq_type){.kind = PQ_STRING};
    }
}

static bool same_type(struct pq_type a, struct pq_type b)
{
    return a.kind == b.kind && a.list == b.list && a.precision == b.precision && a.scale == b.scale;
}

/* Pass 1: the columns in first-seen order and the types each holds. */
static enum err_code collect(struct parquet_impl *p, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t r = 0; r < p->n_rows && rc == ERR_OK; r++) {
        struct etl_row_iter it;
        struct etl_col col;
        uint32_t nc = 0;
        etl_row_iter_init(&it, p->rows[r].store, p->rows[r].offset);
        (void)etl_row_next(&it, &nc);
        while (rc == ERR_OK && etl_row_col(&it, &col)) {
            size_t index = 0;
            bool added = false;
            rc = etl_names_add(&p->names, col.name, &index, &added, err);
            if (rc == ERR_OK && added) {
                struct pq_col_info *info =
                    mem_grow(p->info, &p->cap_info, index, sizeof(*info), 32);
                if (info == NULL) {
                    return err_set(err, ERR_NOMEM, "parquet: out of memory for columns");
                }
                p->info = info;
                memset(&p->info[index], 0, sizeof(p->info[index]));
            }
            if (rc == ERR_OK && col.type != ETL_T_NULL) {
                p->info[index].types |= 1u << col.type;
            }
        }
    }
    return rc;
}

/* JSON may spell one name two ways ("caf\u00e9" and "café"), and a Parquet file must not hold two
 * columns of one name: the spellings are grouped by their unescaped name. */
static enum err_code group_names(struct parquet_impl *p, struct err *err)
{
    size_t n = p->names.n;
    size_t *off = calloc(n + 1, sizeof(*off));
    p->cols = calloc(n > 0 ? n : 1, sizeof(*p->cols));
    if (off == NULL || p->cols == NULL) {
        free(off);
        return err_set(err, ERR_NOMEM, "parquet: out of memory for column names");
    }
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        struct json_val v = {JSON_STRING, p->names.names[i]};
        off[i] = p->unescaped.len;
        rc = json_string_unescape(&v, &p->unescaped, err);
    }
    off[n] = p->unescaped.len;
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        struct cur name = cur_make(p->unescaped.data + off[i], off[i + 1] - off[i]);
        bool added = false;
        rc = etl_names_add(&p->columns, name, &p->info[i].column, &added, err);
        if (rc == ERR_OK) {
            p->cols[p->info[i].column].types |= p->info[i].types;
        }
    }
    free(off);
    return rc;
}

static void type_names(uint32_t types, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int t = 0; t < ETL_T_COUNT && o < cap; t++) {
        if (types & (1u << t)) {
            int n = snprintf(out + o, cap - o, "%s%s", o > 0 ? ", " : "", etl_type_name(t));
            o += n > 0 ? (size_t)n : 0;
        }
    }
}

/* The type rule: the Parquet type of a column whose values have the types in `types`, or its
 * declared type (NULL: none) when every value fits it (*unfit: one does not, and the rule
 * decides). */
static struct pq_type
column_type(uint32_t types, const struct pq_type *declared, bool *mixed, bool *unfit)
{
    *unfit = false;
    types &= ~(1u << ETL_T_NULL);
    if (declared != NULL) {
        if ((types & ~declared_accepts(declared)) == 0) {
            *mixed = false;
            return *declared;
        }
        *unfit = true;
    }
    bool first = true;
    struct pq_type type = {.kind = PQ_STRING};
    *mixed = false;
    for (int t = 0; t < ETL_T_COUNT; t++) {
        if (t == ETL_T_NULL || (types & (1u << t)) == 0) {
            continue;
        }
        struct pq_type ty = type_of((enum etl_type)t);
        *mixed = *mixed || (!first && !same_type(ty, type));
        type = first ? ty : type;
        first = false;
    }
    return *mixed ? (struct pq_type){.kind = PQ_STRING} : type;
}

static void parquet_athena_type(uint32_t types, const char *declared, char *out, size_t cap)
{
    bool mixed = false, unfit = false;
    struct pq_type d;
    bool has = declared_type(declared, &d);
    struct pq_type t = column_type(types, has ? &d : NULL, &mixed, &unfit);
    pq_type_athena(&t, out, cap);
}

static const struct pq_type *find_declared(const struct parquet_impl *p, struct cur name)
{
    for (size_t i = 0; i < p->n_decl; i++) {
        if (strlen(p->decl[i].name) == name.len &&
            memcmp(p->decl[i].name, name.ptr, name.len) == 0) {
            return &p->decl[i].type;
        }
    }
    return NULL;
}

/* Each column's type, and the file's schema. */
static enum err_code schema(struct parquet_impl *p, struct pq_file *f, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < p->columns.n; i++) {
        struct pq_out_col *c = &p->cols[i];
        struct cur name = p->columns.names[i];
        c->file_col = -1;
        if (c->types == 0) {
            continue; /* all NULL: absent, and absent reads as null */
        }
        bool mixed = false, unfit = false;
        const struct pq_type *declared = find_declared(p, name);
        c->type = column_type(c->types, declared, &mixed, &unfit);
        if (unfit) {
            char types[128], want[64];
            type_names(c->types, types, sizeof(types));
            pq_type_athena(declared, want, sizeof(want));
            log_warn("parquet: column \"%.*s\" is declared %s but holds %s values in this object: "
                     "written by the type rule instead",
                     (int)(name.len > 200 ? 200 : name.len), (const char *)name.ptr, want, types);
        }
        if (mixed) {
            char types[128];
            type_names(c->types, types, sizeof(types));
            log_warn("parquet: column \"%.*s\" holds %s values in this object: written as STRING "
                     "(each value as its JSON text)",
                     (int)(name.len > 200 ? 200 : name.len), (const char *)name.ptr, types);
        }
        c->file_col = (long)f->n_cols;
        rc = pq_file_add_column(f, (const char *)name.ptr, name.len, &c->type, err);
    }
    return rc;
}

/* The text of a value in a STRING column: a string's own characters, other types' JSON text. */
static enum err_code
string_value(struct parquet_impl *p, const struct etl_col *col, struct cur *out, struct err *err)
{
    if (etl_type_json_kind(col->type) == ETL_JSON_STRING) {
        buf_reset(&p->tmp);
        return etl_col_text(col, &p->tmp, out, err);
    }
    *out = col->value;
    return ERR_OK;
}

static enum err_code
list_value(struct parquet_impl *p, struct pq_column *pc, const struct etl_col *col, struct err *err)
{
    struct json_val arr = {JSON_ARRAY, col->value};
    struct json_iter it;
    struct json_val v;
    enum err_code rc = ERR_OK;
    pq_column_list_begin(pc);
    json_iter_init(&it, &arr);
    while (rc == ERR_OK && json_array_next(&it, &v)) {
        buf_reset(&p->tmp);
        if (v.type == JSON_NUMBER) { /* NS members: their digits */
            rc = pq_column_add_bytes(pc, v.raw.ptr, v.raw.len, err);
        } else if (v.type != JSON_STRING) {
            rc = err_set(err, ERR_INVALID_INPUT,
                         "parquet: column \"%s\": a set member of JSON type %s", pc->name,
                         json_type_name(v.type));
        } else if (pc->type.kind == PQ_BINARY) {
            struct cur b64 = json_string_inner(&v);
            rc = digest_base64_decode((const char *)b64.ptr, b64.len, &p->tmp, err);
            if (rc == ERR_OK) {
                rc = pq_column_add_bytes(pc, p->tmp.data, p->tmp.len, err);
            }
        } else {
            rc = json_string_unescape(&v, &p->tmp, err);
            if (rc == ERR_OK) {
                rc = pq_column_add_bytes(pc, p->tmp.data, p->tmp.len, err);
            }
        }
    }
    return rc == ERR_OK ? pq_column_list_end(pc, err) : rc;
}

/* One value into its column, as the column's type says. */
static enum err_code
put_value(struct parquet_impl *p, struct pq_column *pc, const struct etl_col *col, struct err *err)
{
    if (col->type == ETL_T_NULL) {
        return pq_column_add_null(pc, err);
    }
    struct cur text;
    enum err_code rc;
    if (pc->type.list) {
        return list_value(p, pc, col, err);
    }
    switch (pc->type.kind) {
    case PQ_BINARY:
        buf_reset(&p->tmp);
        rc = etl_col_bytes(col, &p->tmp, err);
        return rc == ERR_OK ? pq_column_add_bytes(pc, p->tmp.data, p->tmp.len, err) : rc;
    case PQ_BOOLEAN:
        return pq_column_add_bool(pc, col->value.len > 0 && col->value.ptr[0] == 't', err);
    case PQ_DECIMAL:
    case PQ_INT64: {
        pq_i128 v = 0;
        bool dec = pc->type.kind == PQ_DECIMAL;
        rc = string_value(p, col, &text, err); /* an N: its digits */
        if (rc == ERR_OK) {
            rc = pq_decimal_parse(text, dec ? pc->type.precision : 19, dec ? pc->type.scale : 0, &v,
                                  err);
        }
        if (rc == ERR_OK && !dec && (v > INT64_MAX || v < INT64_MIN)) {
            rc = err_set(err, ERR_INVALID_INPUT, "%.*s is out of range", (int)text.len,
                         (const char *)text.ptr);
        }
        if (rc != ERR_OK) {
            return err_prefix(err, "parquet: column \"%s\" (%s)", pc->name,
                              dec ? "decimal" : "bigint");
        }
        return dec ? pq_column_add_decimal(pc, v, err) : pq_column_add_i64(pc, (int64_t)v, err);
    }
    case PQ_TIMESTAMP_MS: {
        int64_t ms = 0;
        buf_reset(&p->tmp);
        rc = etl_col_text(col, &p->tmp, &text, err);
        if (rc == ERR_OK && !etl_time_parse_iso8601_ms(text, &ms)) {
            rc = err_set(err, ERR_INVALID_INPUT,
                         "parquet: column \"%s\": \"%.*s\" is not a timestamp", pc->name,
                         (int)(text.len > 64 ? 64 : text.len), (const char *)text.ptr);
        }
        return rc == ERR_OK ? pq_column_add_i64(pc, ms, err) : rc;
    }
    default:
        rc = string_value(p, col, &text, err);
        return rc == ERR_OK ? pq_column_add_bytes(pc, text.ptr, text.len, err) : rc;
    }
}

/* Pass 2: one row into every column (a null where the row lacks it). */
static enum err_code put_row(struct parquet_impl *p, struct pq_file *f, size_t r, struct err *err)
{
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t nc = 0;
    for (size_t i = 0; i < p->columns.n; i++) {
        p->cells[i] = (struct etl_col){.type = ETL_T_NULL};
    }
    etl_row_iter_init(&it, p->rows[r].store, p->rows[r].offset);
    (void)etl_row_next(&it, &nc);
    while (etl_row_col(&it, &col)) {
        long i = etl_names_find(&p->names, col.name);
        if (i >= 0) {
            p->cells[p->info[i].column] = col;
        }
    }
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < p->columns.n; i++) {
        if (p->cols[i].file_col >= 0) {
            rc = put_value(p, pq_file_column(f, (size_t)p->cols[i].file_col), &p->cells[i], err);
        }
    }
    return rc == ERR_OK ? pq_file_end_row(f, err) : rc;
}

static enum err_code parquet_end(void *state, struct etl_encode_out *out, struct err *err)
{
    struct parquet_impl *p = ((struct parquet_state *)state)->p;
    struct pq_file f;
    int64_t group_bytes = p->opts.parquet_row_group_bytes > 0 ? p->opts.parquet_row_group_bytes
                                                              : DEFAULT_ROW_GROUP_BYTES;
    pq_file_init(&f, out->text, (enum pq_codec)p->opts.parquet_codec, CREATED_BY);
    enum err_code rc = collect(p, err);
    if (rc == ERR_OK) {
        rc = group_names(p, err);
    }
    if (rc == ERR_OK && p->names.n > 0) {
        p->cells = calloc(p->names.n, sizeof(*p->cells));
        if (p->cells == NULL) {
            rc = err_set(err, ERR_NOMEM, "parquet: out of memory");
        }
    }
    if (rc == ERR_OK) {
        rc = schema(p, &f, err);
    }
    if (rc == ERR_OK) {
        rc = pq_file_begin(&f, err);
    }
    for (size_t r = 0; rc == ERR_OK && r < p->n_rows; r++) {
        rc = put_row(p, &f, r, err);
        if (rc == ERR_OK && (int64_t)pq_file_buffered_bytes(&f) >= group_bytes) {
            rc = pq_file_flush_row_group(&f, err);
            if (rc == ERR_OK) {
                rc = etl_encode_out_flush(out, err); /* the row group goes on to the codec */
            }
        }
    }
    if (rc == ERR_OK) {
        rc = pq_file_finish(&f, err);
    }
    pq_file_cleanup(&f);
    return rc;
}

static void parquet_cleanup(void *state)
{
    struct parquet_state *s = state;
    struct parquet_impl *p = s->p;
    if (p == NULL) {
        return;
    }
    etl_names_cleanup(&p->names);
    etl_names_cleanup(&p->columns);
    for (size_t i = 0; i < p->n_decl; i++) {
        free(p->decl[i].name);
    }
    free(p->decl);
    free(p->info);
    free(p->cols);
    buf_cleanup(&p->unescaped);
    free(p->rows);
    free(p->cells);
    buf_cleanup(&p->tmp);
    free(p);
    s->p = NULL;
}

static const char *const parquet_properties[] = {NULL};

/* Hive's Parquet SerDe, as Athena's docs and Glue's crawlers name it. */
static const struct etl_serde parquet_serde = {
    .library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    .input_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    .output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    .properties = parquet_properties,
    .name_mapping = false,
    .text_times = false,
    .classification = "parquet",
};

const struct etl_format etl_fmt_parquet = {
    .name = "parquet",
    .extension = "parquet",
    .content_type = "application/vnd.apache.parquet",
    .manifest_name = "parquet",
    .stream_format = true,
    .whole_object = true,
    .own_codec = true,
    .serde = &parquet_serde,
    .athena_type = parquet_athena_type,
    .begin = parquet_begin,
    .row = parquet_row,
    .end = parquet_end,
    .cleanup = parquet_cleanup,
};
