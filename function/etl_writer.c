/*
 * etl_writer.c - JSON Lines and CSV rendering with streaming gzip. Rows are rendered into a small
 * staging buffer and deflated from there, so an object costs its compressed size in memory.
 */
#include "etl_writer.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

#define STAGE_FLUSH_BYTES (256 * 1024)

enum err_code etl_writer_open(struct etl_writer *w,
                              struct buf *out,
                              enum etl_format format,
                              enum etl_compression compression,
                              int gzip_level,
                              struct err *err)
{
    memset(w, 0, sizeof(*w));
    w->format = format;
    w->compression = compression;
    w->out = out;
    if (compression == ETL_COMPRESSION_GZIP) {
        /* windowBits 15 + 16 selects the gzip wrapper. */
        if (deflateInit2(&w->z, gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            return err_set(err, ERR_NOMEM, "deflateInit2 failed");
        }
        w->z_open = true;
        memset(&w->gzhead, 0, sizeof(w->gzhead));
        w->gzhead.os = 255; /* "unknown", as DynamoDB's exports write; MTIME stays 0 */
        if (deflateSetHeader(&w->z, &w->gzhead) != Z_OK) {
            return err_set(err, ERR_NOMEM, "deflateSetHeader failed");
        }
    }
    return ERR_OK;
}

static enum err_code deflate_stage(struct etl_writer *w, int flush, struct err *err)
{
    w->z.next_in = w->stage.data;
    w->z.avail_in = (uInt)w->stage.len;
    for (;;) {
        size_t room = w->stage.len / 2 + 64 * 1024;
        enum err_code rc = buf_reserve(w->out, room, err);
        if (rc != ERR_OK) {
            return rc;
        }
        w->z.next_out = w->out->data + w->out->len;
        w->z.avail_out = (uInt)room;
        int zr = deflate(&w->z, flush);
        if (zr == Z_STREAM_ERROR) {
            return err_set(err, ERR_INVALID_INPUT, "deflate failed");
        }
        buf_commit(w->out, room - w->z.avail_out);
        if (flush == Z_FINISH ? zr == Z_STREAM_END : (w->z.avail_in == 0 && w->z.avail_out != 0)) {
            break;
        }
    }
    buf_reset(&w->stage);
    return ERR_OK;
}

/* Moves staged text to the output: deflated, or as it is. */
static enum err_code drain(struct etl_writer *w, bool force, struct err *err)
{
    if (!force && w->stage.len < STAGE_FLUSH_BYTES) {
        return ERR_OK;
    }
    w->raw_bytes += w->stage.len;
    if (w->compression == ETL_COMPRESSION_GZIP) {
        return deflate_stage(w, Z_NO_FLUSH, err);
    }
    enum err_code rc = buf_append(w->out, w->stage.data, w->stage.len, err);
    buf_reset(&w->stage);
    return rc;
}

enum err_code etl_csv_field(struct buf *out, const uint8_t *p, size_t n, struct err *err)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++) {
        quote = p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
    }
    if (!quote) {
        return buf_append(out, p, n, err);
    }
    enum err_code rc = buf_append_byte(out, '"', err);
    size_t run = 0;
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        if (p[i] == '"') {
            rc = buf_append(out, p + run, i + 1 - run, err); /* includes this quote */
            if (rc == ERR_OK) {
                rc = buf_append_byte(out, '"', err); /* doubled */
            }
            run = i + 1;
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append(out, p + run, n - run, err);
    }
    return rc == ERR_OK ? buf_append_byte(out, '"', err) : rc;
}

static enum err_code
json_row(struct etl_writer *w, const struct buf *store, size_t offset, struct err *err)
{
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t n = 0;
    etl_row_iter_init(&it, store, offset);
    if (!etl_row_next(&it, &n)) {
        return err_set(err, ERR_INVALID_INPUT, "row store: no row at %zu", offset);
    }
    enum err_code rc = buf_append_byte(&w->stage, '{', err);
    for (uint32_t i = 0; rc == ERR_OK && etl_row_col(&it, &col); i++) {
        if (i > 0) {
            rc = buf_append_byte(&w->stage, ',', err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_cur(&w->stage, col.name, err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(&w->stage, ':', err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_cur(&w->stage, col.value, err);
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(&w->stage, "}\n", err);
    }
    return rc;
}

/* ---- CSV: the header is the union of the rows' columns, in first-seen order ---- */

struct colset {
    struct cur *names; /* JSON literals, borrowed from the store */
    size_t n;
    uint32_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t n_slots;
};

static bool cur_same(struct cur a, struct cur b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Finds name; adds it when add is set. Returns its index, or -1 (absent, or no memory). */
static long colset_find(struct colset *s, struct cur name, bool add, struct err *err)
{
    if (add && (s->n + 1) * 2 > s->n_slots) {
        size_t n_slots = s->n_slots == 0 ? 64 : s->n_slots * 2;
        uint32_t *slots = calloc(n_slots, sizeof(*slots));
        struct cur *names = realloc(s->names, n_slots / 2 * sizeof(*names));
        if (slots == NULL || names == NULL) {
            free(slots);
            if (names != NULL) {
                s->names = names;
            }
            (void)err_set(err, ERR_NOMEM, "out of memory collecting CSV columns");
            return -1;
        }
        s->names = names;
        for (size_t i = 0; i < s->n; i++) {
            size_t j = cur_hash(s->names[i]) & (n_slots - 1);
            while (slots[j] != 0) {
                j = (j + 1) & (n_slots - 1);
            }
            slots[j] = (uint32_t)(i + 1);
        }
        free(s->slots);
        s->slots = slots;
        s->n_slots = n_slots;
    }
    if (s->n_slots == 0) {
        return -1;
    }
    size_t j = cur_hash(name) & (s->n_slots - 1);
    while (s->slots[j] != 0) {
        if (cur_same(s->names[s->slots[j] - 1], name)) {
            return (long)s->slots[j] - 1;
        }
        j = (j + 1) & (s->n_slots - 1);
    }
    if (!add) {
        return -1;
    }
    s->names[s->n] = name;
    s->slots[j] = (uint32_t)(s->n + 1);
    return (long)s->n++;
}

static void colset_free(struct colset *s)
{
    free(s->names);
    free(s->slots);
}

static enum err_code csv_cell(struct etl_writer *w, const struct etl_col *col, struct err *err)
{
    switch (col->kind) {
    case ETL_KIND_NULL:
        return ERR_OK;
    case ETL_KIND_NUMBER:
    case ETL_KIND_BOOL:
        return buf_append_cur(&w->stage, col->value, err);
    case ETL_KIND_NESTED:
        return etl_csv_field(&w->stage, col->value.ptr, col->value.len, err);
    case ETL_KIND_STRING:
        break;
    }
    struct json_val s = {JSON_STRING, col->value};
    buf_reset(&w->tmp);
    enum err_code rc = json_string_unescape(&s, &w->tmp, err);
    return rc == ERR_OK ? etl_csv_field(&w->stage, w->tmp.data, w->tmp.len, err) : rc;
}

static enum err_code csv_rows(struct etl_writer *w,
                              const struct buf *store,
                              const size_t *offsets,
                              size_t n,
                              struct err *err)
{
    struct colset cols = {0};
    struct etl_col *row = NULL;
    enum err_code rc = ERR_OK;
    for (size_t r = 0; r < n && rc == ERR_OK; r++) {
        struct etl_row_iter it;
        struct etl_col col;
        uint32_t nc = 0;
        etl_row_iter_init(&it, store, offsets[r]);
        (void)etl_row_next(&it, &nc);
        while (rc == ERR_OK && etl_row_col(&it, &col)) {
            if (colset_find(&cols, col.name, true, err) < 0) {
                rc = err->code != ERR_OK ? err->code : ERR_NOMEM;
            }
        }
    }
    if (rc == ERR_OK && cols.n > 0) {
        row = calloc(cols.n, sizeof(*row));
        if (row == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory rendering CSV");
        }
    }
    /* Header: unescaped names. */
    for (size_t i = 0; rc == ERR_OK && i < cols.n; i++) {
        struct json_val s = {JSON_STRING, cols.names[i]};
        buf_reset(&w->tmp);
        rc = i > 0 ? buf_append_byte(&w->stage, ',', err) : ERR_OK;
        if (rc == ERR_OK) {
            rc = json_string_unescape(&s, &w->tmp, err);
        }
        if (rc == ERR_OK) {
            rc = etl_csv_field(&w->stage, w->tmp.data, w->tmp.len, err);
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(&w->stage, "\r\n", err);
    }
    for (size_t r = 0; r < n && rc == ERR_OK; r++) {
        struct etl_row_iter it;
        struct etl_col col;
        uint32_t nc = 0;
        for (size_t i = 0; i < cols.n; i++) {
            row[i] = (struct etl_col){.kind = ETL_KIND_NULL};
        }
        etl_row_iter_init(&it, store, offsets[r]);
        (void)etl_row_next(&it, &nc);
        while (etl_row_col(&it, &col)) {
            long idx = colset_find(&cols, col.name, false, err);
            if (idx >= 0) {
                row[idx] = col;
            }
        }
        for (size_t i = 0; rc == ERR_OK && i < cols.n; i++) {
            if (i > 0) {
                rc = buf_append_byte(&w->stage, ',', err);
            }
            if (rc == ERR_OK) {
                rc = csv_cell(w, &row[i], err);
            }
        }
        if (rc == ERR_OK) {
            rc = buf_append_str(&w->stage, "\r\n", err);
        }
        if (rc == ERR_OK) {
            rc = drain(w, false, err);
        }
    }
    free(row);
    colset_free(&cols);
    return rc;
}

enum err_code etl_writer_rows(struct etl_writer *w,
                              const struct buf *store,
                              const size_t *offsets,
                              size_t n,
                              struct err *err)
{
    w->rows += n;
    if (w->format == ETL_FORMAT_CSV) {
        return csv_rows(w, store, offsets, n, err);
    }
    enum err_code rc = ERR_OK;
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        rc = json_row(w, store, offsets[i], err);
        if (rc == ERR_OK) {
            rc = drain(w, false, err);
        }
    }
    return rc;
}

enum err_code etl_writer_raw(struct etl_writer *w, const void *p, size_t n, struct err *err)
{
    enum err_code rc = buf_append(&w->stage, p, n, err);
    return rc == ERR_OK ? drain(w, false, err) : rc;
}

enum err_code etl_writer_close(struct etl_writer *w, struct err *err)
{
    enum err_code rc = drain(w, true, err);
    if (rc == ERR_OK && w->z_open) {
        rc = deflate_stage(w, Z_FINISH, err);
    }
    return rc;
}

void etl_writer_cleanup(struct etl_writer *w)
{
    if (w == NULL) {
        return;
    }
    if (w->z_open) {
        deflateEnd(&w->z);
        w->z_open = false;
    }
    buf_cleanup(&w->stage);
    buf_cleanup(&w->tmp);
}
