/*
 * pq_file.c - row groups and the footer. Field ids are parquet.thrift's (apache/parquet-format
 * src/main/thrift/parquet.thrift); each struct's fields are written in increasing id order, as
 * the compact protocol's delta headers need.
 */
#include "pq_file.h"

#include <stdlib.h>
#include <string.h>

#include "pq_thrift.h"

#define MAGIC "PAR1"

/* parquet.thrift FieldRepetitionType, ConvertedType, Encoding. */
enum {
    REP_OPTIONAL = 1,
    REP_REPEATED = 2,
    CONV_UTF8 = 0,
    CONV_LIST = 3,
    CONV_DECIMAL = 5,
    CONV_TIMESTAMP_MILLIS = 9,
    ENC_PLAIN = 0,
    ENC_RLE = 3,
    ENC_RLE_DICTIONARY = 8,
};

void pq_file_init(struct pq_file *f, struct buf *out, enum pq_codec codec, const char *created_by)
{
    memset(f, 0, sizeof(*f));
    f->out = out;
    f->codec = codec;
    pq_compressor_init(&f->compressor, codec);
    f->created_by = created_by;
}

static void free_group(struct pq_row_group *g, size_t n_cols)
{
    for (size_t i = 0; g->chunks != NULL && i < n_cols; i++) {
        pq_chunk_meta_cleanup(&g->chunks[i]);
    }
    free(g->chunks);
    g->chunks = NULL;
}

void pq_file_cleanup(struct pq_file *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->n_groups; i++) {
        free_group(&f->groups[i], f->n_cols);
    }
    free(f->groups);
    for (size_t i = 0; i < f->n_cols; i++) {
        pq_column_cleanup(&f->cols[i]);
    }
    free(f->cols);
    buf_cleanup(&f->footer);
    pq_compressor_cleanup(&f->compressor);
    memset(f, 0, sizeof(*f));
}

enum err_code pq_file_add_column(struct pq_file *f,
                                 const char *name,
                                 size_t n,
                                 const struct pq_type *type,
                                 struct err *err)
{
    if (f->started) {
        return err_set(err, ERR_INVALID_INPUT, "parquet: column \"%.*s\" added after the first row",
                       (int)n, name);
    }
    if (type->kind == PQ_DECIMAL &&
        (type->precision < 1 || type->precision > PQ_DECIMAL_MAX_PRECISION || type->scale < 0 ||
         type->scale > type->precision)) {
        return err_set(err, ERR_INVALID_INPUT, "parquet: column \"%.*s\": decimal(%d,%d)", (int)n,
                       name, type->precision, type->scale);
    }
    struct pq_column *cols = mem_grow(f->cols, &f->cap_cols, f->n_cols, sizeof(*cols), 16);
    if (cols == NULL) {
        return err_set(err, ERR_NOMEM, "parquet: out of memory adding a column");
    }
    f->cols = cols;
    enum err_code rc = pq_column_init(&f->cols[f->n_cols], name, n, type, err);
    if (rc == ERR_OK) {
        f->n_cols++;
    } else {
        pq_column_cleanup(&f->cols[f->n_cols]);
    }
    return rc;
}

static enum err_code put(struct pq_file *f, const void *p, size_t n, struct err *err)
{
    enum err_code rc = buf_append(f->out, p, n, err);
    if (rc == ERR_OK) {
        f->offset += (int64_t)n;
    }
    return rc;
}

enum err_code pq_file_begin(struct pq_file *f, struct err *err)
{
    if (f->started) {
        return ERR_OK;
    }
    f->started = true;
    return put(f, MAGIC, 4, err);
}

enum err_code pq_file_end_row(struct pq_file *f, struct err *err)
{
    f->group_rows++;
    for (size_t i = 0; i < f->n_cols; i++) {
        if (f->cols[i].n_rows != (uint64_t)f->group_rows) {
            return err_set(err, ERR_INVALID_INPUT,
                           "parquet: column \"%s\" has %llu entries for %lld rows", f->cols[i].name,
                           (unsigned long long)f->cols[i].n_rows, (long long)f->group_rows);
        }
    }
    return ERR_OK;
}

size_t pq_file_buffered_bytes(const struct pq_file *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_cols; i++) {
        n += pq_column_buffered_bytes(&f->cols[i]);
    }
    return n;
}

enum err_code pq_file_flush_row_group(struct pq_file *f, struct err *err)
{
    if (f->group_rows == 0) {
        return ERR_OK;
    }
    struct pq_row_group *groups =
        mem_grow(f->groups, &f->cap_groups, f->n_groups, sizeof(*groups), 4);
    if (groups == NULL) {
        return err_set(err, ERR_NOMEM, "parquet: out of memory for row group metadata");
    }
    f->groups = groups;
    struct pq_row_group *g = &f->groups[f->n_groups];
    memset(g, 0, sizeof(*g));
    g->chunks = calloc(f->n_cols > 0 ? f->n_cols : 1, sizeof(*g->chunks));
    if (g->chunks == NULL) {
        return err_set(err, ERR_NOMEM, "parquet: out of memory for row group metadata");
    }
    f->n_groups++;
    g->num_rows = f->group_rows;
    g->file_offset = f->offset;
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < f->n_cols; i++) {
        size_t before = f->out->len;
        rc = pq_column_write_chunk(&f->cols[i], &f->compressor, f->out, f->offset, &g->chunks[i],
                                   err);
        if (rc == ERR_OK) {
            f->offset += (int64_t)(f->out->len - before);
            g->total_uncompressed += g->chunks[i].total_uncompressed;
            g->total_compressed += g->chunks[i].total_compressed;
        }
    }
    f->num_rows += f->group_rows;
    f->group_rows = 0;
    return rc;
}

/* ---- footer ------------------------------------------------------------------------------- */

static void schema_leaf(struct pq_thrift *t, const char *name, const struct pq_type *type)
{
    pq_thrift_begin(t); /* SchemaElement */
    pq_thrift_field_i32(t, 1, (int32_t)pq_type_physical(type));
    int width = pq_type_width(type);
    if (width > 0) {
        pq_thrift_field_i32(t, 2, width);
    }
    pq_thrift_field_i32(t, 3, REP_OPTIONAL);
    pq_thrift_field_binary(t, 4, name, strlen(name));
    switch (type->kind) {
    case PQ_STRING:
        pq_thrift_field_i32(t, 6, CONV_UTF8);
        pq_thrift_field_struct(t, 10); /* LogicalType */
        pq_thrift_field_empty(t, 1);   /* STRING */
        pq_thrift_end(t);
        break;
    case PQ_TIMESTAMP_MS:
        pq_thrift_field_i32(t, 6, CONV_TIMESTAMP_MILLIS);
        pq_thrift_field_struct(t, 10);    /* LogicalType */
        pq_thrift_field_struct(t, 8);     /* TIMESTAMP */
        pq_thrift_field_bool(t, 1, true); /* isAdjustedToUTC */
        pq_thrift_field_struct(t, 2);     /* unit */
        pq_thrift_field_empty(t, 1);      /* MILLIS */
        pq_thrift_end(t);
        pq_thrift_end(t);
        pq_thrift_end(t);
        break;
    case PQ_DECIMAL:
        pq_thrift_field_i32(t, 6, CONV_DECIMAL);
        pq_thrift_field_i32(t, 7, type->scale);
        pq_thrift_field_i32(t, 8, type->precision);
        pq_thrift_field_struct(t, 10); /* LogicalType */
        pq_thrift_field_struct(t, 5);  /* DECIMAL */
        pq_thrift_field_i32(t, 1, type->scale);
        pq_thrift_field_i32(t, 2, type->precision);
        pq_thrift_end(t);
        pq_thrift_end(t);
        break;
    case PQ_BINARY:
    case PQ_BOOLEAN:
    case PQ_INT64:
        break;
    }
    pq_thrift_end(t);
}

/* LogicalTypes.md, "Lists": optional group <name> (LIST) { repeated group list { optional
 * <element-type> element; } }. */
static void schema_column(struct pq_thrift *t, const struct pq_column *c)
{
    if (!c->type.list) {
        schema_leaf(t, c->name, &c->type);
        return;
    }
    pq_thrift_begin(t);
    pq_thrift_field_i32(t, 3, REP_OPTIONAL);
    pq_thrift_field_binary(t, 4, c->name, strlen(c->name));
    pq_thrift_field_i32(t, 5, 1);
    pq_thrift_field_i32(t, 6, CONV_LIST);
    pq_thrift_field_struct(t, 10); /* LogicalType */
    pq_thrift_field_empty(t, 3);   /* LIST */
    pq_thrift_end(t);
    pq_thrift_end(t);
    pq_thrift_begin(t);
    pq_thrift_field_i32(t, 3, REP_REPEATED);
    pq_thrift_field_binary(t, 4, "list", 4);
    pq_thrift_field_i32(t, 5, 1);
    pq_thrift_end(t);
    struct pq_type elem = c->type;
    elem.list = false;
    schema_leaf(t, "element", &elem);
}

static size_t schema_elements(const struct pq_file *f)
{
    size_t n = 1;
    for (size_t i = 0; i < f->n_cols; i++) {
        n += f->cols[i].type.list ? 3 : 1;
    }
    return n;
}

static void statistics(struct pq_thrift *t, const struct pq_chunk_meta *m)
{
    pq_thrift_field_struct(t, 12); /* Statistics */
    pq_thrift_field_i64(t, 3, m->null_count);
    if (m->has_minmax) {
        pq_thrift_field_binary(t, 5, m->max, m->max_len); /* max_value */
        pq_thrift_field_binary(t, 6, m->min, m->min_len); /* min_value */
    }
    pq_thrift_end(t);
}

static void column_chunk(struct pq_thrift *t,
                         const struct pq_file *f,
                         const struct pq_column *c,
                         const struct pq_chunk_meta *m)
{
    pq_thrift_begin(t);                        /* ColumnChunk */
    pq_thrift_field_i64(t, 2, m->file_offset); /* file_offset */
    pq_thrift_field_struct(t, 3);              /* ColumnMetaData */
    pq_thrift_field_i32(t, 1, (int32_t)pq_type_physical(&c->type));
    bool dict = m->dictionary_page_offset >= 0;
    pq_thrift_field_list(t, 2, PQ_THRIFT_I32, dict ? 3 : 2);
    pq_thrift_elem_i32(t, ENC_PLAIN);
    pq_thrift_elem_i32(t, ENC_RLE);
    if (dict) {
        pq_thrift_elem_i32(t, ENC_RLE_DICTIONARY);
    }
    pq_thrift_field_list(t, 3, PQ_THRIFT_BINARY, c->type.list ? 3 : 1);
    pq_thrift_elem_binary(t, c->name, strlen(c->name));
    if (c->type.list) {
        pq_thrift_elem_binary(t, "list", 4);
        pq_thrift_elem_binary(t, "element", 7);
    }
    pq_thrift_field_i32(t, 4, (int32_t)f->codec);
    pq_thrift_field_i64(t, 5, m->num_values);
    pq_thrift_field_i64(t, 6, m->total_uncompressed);
    pq_thrift_field_i64(t, 7, m->total_compressed);
    pq_thrift_field_i64(t, 9, m->data_page_offset);
    if (dict) {
        pq_thrift_field_i64(t, 11, m->dictionary_page_offset);
    }
    statistics(t, m);
    pq_thrift_end(t); /* ColumnMetaData */
    pq_thrift_end(t); /* ColumnChunk */
}

static enum err_code footer(struct pq_file *f, struct err *err)
{
    struct pq_thrift t;
    buf_reset(&f->footer);
    pq_thrift_init(&t, &f->footer, err);
    pq_thrift_begin(&t);           /* FileMetaData */
    pq_thrift_field_i32(&t, 1, 1); /* version */
    pq_thrift_field_list(&t, 2, PQ_THRIFT_STRUCT, (uint32_t)schema_elements(f));
    pq_thrift_begin(&t); /* the root */
    pq_thrift_field_binary(&t, 4, "schema", 6);
    pq_thrift_field_i32(&t, 5, (int32_t)f->n_cols);
    pq_thrift_end(&t);
    for (size_t i = 0; i < f->n_cols; i++) {
        schema_column(&t, &f->cols[i]);
    }
    pq_thrift_field_i64(&t, 3, f->num_rows);
    pq_thrift_field_list(&t, 4, PQ_THRIFT_STRUCT, (uint32_t)f->n_groups);
    for (size_t g = 0; g < f->n_groups; g++) {
        const struct pq_row_group *rg = &f->groups[g];
        pq_thrift_begin(&t); /* RowGroup */
        pq_thrift_field_list(&t, 1, PQ_THRIFT_STRUCT, (uint32_t)f->n_cols);
        for (size_t i = 0; i < f->n_cols; i++) {
            column_chunk(&t, f, &f->cols[i], &rg->chunks[i]);
        }
        pq_thrift_field_i64(&t, 2, rg->total_uncompressed);
        pq_thrift_field_i64(&t, 3, rg->num_rows);
        pq_thrift_field_i64(&t, 5, rg->file_offset);
        pq_thrift_field_i64(&t, 6, rg->total_compressed);
        pq_thrift_end(&t);
    }
    pq_thrift_field_binary(&t, 6, f->created_by, strlen(f->created_by));
    pq_thrift_field_list(&t, 7, PQ_THRIFT_STRUCT, (uint32_t)f->n_cols);
    for (size_t i = 0; i < f->n_cols; i++) {
        pq_thrift_begin(&t);          /* ColumnOrder */
        pq_thrift_field_empty(&t, 1); /* TYPE_ORDER */
        pq_thrift_end(&t);
    }
    pq_thrift_end(&t);
    return pq_thrift_finish(&t);
}

enum err_code pq_file_finish(struct pq_file *f, struct err *err)
{
    enum err_code rc = pq_file_begin(f, err);
    if (rc == ERR_OK) {
        rc = pq_file_flush_row_group(f, err);
    }
    if (rc == ERR_OK) {
        rc = footer(f, err);
    }
    if (rc == ERR_OK && f->footer.len > UINT32_MAX) {
        rc = err_set(err, ERR_TOO_LARGE, "parquet: a %zu-byte footer", f->footer.len);
    }
    if (rc == ERR_OK) {
        rc = put(f, f->footer.data, f->footer.len, err);
    }
    if (rc == ERR_OK) {
        size_t n = f->footer.len;
        uint8_t len[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
        rc = put(f, len, 4, err);
    }
    return rc == ERR_OK ? put(f, MAGIC, 4, err) : rc;
}
