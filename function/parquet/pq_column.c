/*
 * pq_column.c - buffering a column's values and writing its chunk. Values are kept in their PLAIN
 * encoding, so the PLAIN data page is the buffer as it is and the dictionary is built from the
 * same bytes (first-seen order: the same values always give the same dictionary).
 */
#include "pq_column.h"

#include <stdlib.h>
#include <string.h>

#include "pq_rle.h"
#include "pq_thrift.h"

/* parquet.thrift Encoding and PageType. */
enum {
    ENC_PLAIN = 0,
    ENC_RLE = 3,
    ENC_RLE_DICTIONARY = 8,
    PAGE_DATA = 0,
    PAGE_DICTIONARY = 2,
};

enum err_code pq_column_init(struct pq_column *c,
                             const char *name,
                             size_t n,
                             const struct pq_type *type,
                             struct err *err)
{
    memset(c, 0, sizeof(*c));
    c->type = *type;
    c->width = pq_type_width(type);
    c->name = malloc(n + 1);
    if (c->name == NULL) {
        return err_set(err, ERR_NOMEM, "parquet: out of memory for a column name");
    }
    memcpy(c->name, name, n);
    c->name[n] = '\0';
    return ERR_OK;
}

void pq_column_cleanup(struct pq_column *c)
{
    if (c == NULL) {
        return;
    }
    free(c->name);
    c->name = NULL;
    buf_cleanup(&c->def);
    buf_cleanup(&c->rep);
    buf_cleanup(&c->values);
    buf_cleanup(&c->spans);
    buf_cleanup(&c->scratch);
    buf_cleanup(&c->page);
    buf_cleanup(&c->dict);
}

int pq_column_max_def(const struct pq_column *c)
{
    return c->type.list ? 3 : 1;
}

size_t pq_column_buffered_bytes(const struct pq_column *c)
{
    return c->values.len + c->spans.len + c->def.len + c->rep.len;
}

static enum err_code level(struct pq_column *c, uint8_t def, struct err *err)
{
    enum err_code rc = buf_append_byte(&c->def, def, err);
    if (rc == ERR_OK && c->type.list) {
        rc = buf_append_byte(&c->rep, c->in_list && c->list_len > 0 ? 1 : 0, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    c->n_levels++;
    if (def < pq_column_max_def(c)) {
        c->nulls++;
    }
    if (c->in_list) {
        c->list_len++;
    } else {
        c->n_rows++;
    }
    return ERR_OK;
}

enum err_code pq_column_add_null(struct pq_column *c, struct err *err)
{
    return level(c, c->in_list ? 2 : 0, err);
}

void pq_column_list_begin(struct pq_column *c)
{
    c->in_list = true;
    c->list_len = 0;
}

enum err_code pq_column_list_end(struct pq_column *c, struct err *err)
{
    uint32_t len = c->list_len;
    c->in_list = false;
    if (len > 0) {
        c->n_rows++;
        return ERR_OK;
    }
    return level(c, 1, err); /* an empty list: defined up to the list itself */
}

/* Payload of a value for comparisons and statistics (a BYTE_ARRAY without its length). */
static struct cur payload(const struct pq_column *c, struct pq_span s)
{
    const uint8_t *p = c->values.data + s.off;
    if (pq_type_physical(&c->type) == PQ_PHYS_BYTE_ARRAY) {
        return cur_make(p + 4, s.len - 4);
    }
    return cur_make(p, s.len);
}

static int64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    if (n == 4) {
        return (int32_t)(uint32_t)v;
    }
    return (int64_t)v;
}

/* The column order of the type (TypeDefinedOrder, parquet.thrift ColumnOrder): signed for
 * integers and decimals, unsigned bytewise for strings and binary, false < true. */
static int compare(const struct pq_column *c, struct pq_span a, struct pq_span b)
{
    struct cur x = payload(c, a), y = payload(c, b);
    switch (pq_type_physical(&c->type)) {
    case PQ_PHYS_BOOLEAN:
        return (int)x.ptr[0] - (int)y.ptr[0];
    case PQ_PHYS_INT32:
    case PQ_PHYS_INT64: {
        int64_t u = load_le(x.ptr, x.len), v = load_le(y.ptr, y.len);
        return u < v ? -1 : u > v;
    }
    case PQ_PHYS_FIXED_LEN_BYTE_ARRAY:
        if (x.ptr[0] != y.ptr[0]) { /* the sign byte compares signed */
            return (int)(int8_t)x.ptr[0] - (int)(int8_t)y.ptr[0];
        }
        return memcmp(x.ptr, y.ptr, x.len);
    case PQ_PHYS_BYTE_ARRAY:
        break;
    }
    size_t n = x.len < y.len ? x.len : y.len;
    int d = n > 0 ? memcmp(x.ptr, y.ptr, n) : 0;
    if (d != 0) {
        return d;
    }
    return x.len < y.len ? -1 : x.len > y.len;
}

/* Appends one value's PLAIN bytes (already at the end of values from `start`). */
static enum err_code value_added(struct pq_column *c, size_t start, struct err *err)
{
    struct pq_span s = {start, (uint32_t)(c->values.len - start)};
    enum err_code rc = buf_append(&c->spans, &s, sizeof(s), err);
    if (rc == ERR_OK) {
        rc = level(c, (uint8_t)pq_column_max_def(c), err);
    }
    if (rc != ERR_OK) {
        buf_truncate(&c->values, start);
        return rc;
    }
    c->n_values++;
    if (!c->has_minmax) {
        c->min = c->max = s;
        c->has_minmax = true;
    } else if (compare(c, s, c->min) < 0) {
        c->min = s;
    } else if (compare(c, s, c->max) > 0) {
        c->max = s;
    }
    return ERR_OK;
}

static enum err_code wrong_type(struct pq_column *c, const char *what, struct err *err)
{
    return err_set(err, ERR_INVALID_INPUT,
                   "parquet: column \"%s\": a %s value for a column of physical type %d", c->name,
                   what, (int)pq_type_physical(&c->type));
}

enum err_code pq_column_add_bytes(struct pq_column *c, const void *p, size_t n, struct err *err)
{
    if (pq_type_physical(&c->type) != PQ_PHYS_BYTE_ARRAY) {
        return wrong_type(c, "byte array", err);
    }
    /* PLAIN BYTE_ARRAY: a 4-byte little-endian length, then the bytes. */
    if (n > UINT32_MAX - 4) {
        return err_set(err, ERR_TOO_LARGE, "parquet: column \"%s\": a %zu-byte value", c->name, n);
    }
    size_t start = c->values.len;
    uint8_t len[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    enum err_code rc = buf_append(&c->values, len, 4, err);
    if (rc == ERR_OK) {
        rc = buf_append(&c->values, p, n, err);
    }
    if (rc != ERR_OK) {
        buf_truncate(&c->values, start);
        return rc;
    }
    return value_added(c, start, err);
}

static enum err_code add_le(struct pq_column *c, uint64_t v, size_t n, struct err *err)
{
    uint8_t b[8];
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    size_t start = c->values.len;
    enum err_code rc = buf_append(&c->values, b, n, err);
    return rc == ERR_OK ? value_added(c, start, err) : rc;
}

enum err_code pq_column_add_i32(struct pq_column *c, int32_t v, struct err *err)
{
    if (pq_type_physical(&c->type) != PQ_PHYS_INT32) {
        return wrong_type(c, "int32", err);
    }
    return add_le(c, (uint32_t)v, 4, err);
}

enum err_code pq_column_add_i64(struct pq_column *c, int64_t v, struct err *err)
{
    if (pq_type_physical(&c->type) != PQ_PHYS_INT64) {
        return wrong_type(c, "int64", err);
    }
    return add_le(c, (uint64_t)v, 8, err);
}

enum err_code pq_column_add_bool(struct pq_column *c, bool v, struct err *err)
{
    if (pq_type_physical(&c->type) != PQ_PHYS_BOOLEAN) {
        return wrong_type(c, "boolean", err);
    }
    return add_le(c, v ? 1 : 0, 1, err);
}

enum err_code pq_column_add_fixed(struct pq_column *c, const uint8_t *p, struct err *err)
{
    if (pq_type_physical(&c->type) != PQ_PHYS_FIXED_LEN_BYTE_ARRAY) {
        return wrong_type(c, "fixed-length", err);
    }
    size_t start = c->values.len;
    enum err_code rc = buf_append(&c->values, p, (size_t)c->width, err);
    return rc == ERR_OK ? value_added(c, start, err) : rc;
}

enum err_code pq_column_add_decimal(struct pq_column *c, pq_i128 v, struct err *err)
{
    switch (pq_type_physical(&c->type)) {
    case PQ_PHYS_INT32:
        return pq_column_add_i32(c, (int32_t)v, err);
    case PQ_PHYS_INT64:
        return pq_column_add_i64(c, (int64_t)v, err);
    case PQ_PHYS_FIXED_LEN_BYTE_ARRAY: {
        uint8_t be[16];
        pq_decimal_to_be(v, c->width, be);
        return pq_column_add_fixed(c, be, err);
    }
    default:
        return wrong_type(c, "decimal", err);
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static const struct pq_span *spans(const struct pq_column *c)
{
    return (const struct pq_span *)(const void *)c->spans.data;
}

/* Dictionary indices of every value, the dictionary's PLAIN bytes into c->dict; false (and
 * nothing to use) when a dictionary would not pay: too big, or fewer than half the values
 * repeating. */
static enum err_code build_dictionary(struct pq_column *c,
                                      uint32_t **indices,
                                      uint32_t *n_dict,
                                      bool *use,
                                      struct err *err)
{
    *use = false;
    *indices = NULL;
    *n_dict = 0;
    buf_reset(&c->dict);
    size_t n = (size_t)c->n_values;
    if (n == 0 || pq_type_physical(&c->type) == PQ_PHYS_BOOLEAN) {
        return ERR_OK;
    }
    size_t n_slots = 16;
    while (n_slots < 2 * n) {
        n_slots *= 2;
    }
    uint32_t *slots = calloc(n_slots, sizeof(*slots)); /* dictionary entry + 1; 0 = empty */
    uint32_t *idx = malloc(n * sizeof(*idx));
    struct pq_span *entries = malloc(n * sizeof(*entries));
    if (slots == NULL || idx == NULL || entries == NULL) {
        free(slots);
        free(idx);
        free(entries);
        return err_set(err, ERR_NOMEM, "parquet: out of memory building a dictionary");
    }
    const struct pq_span *sp = spans(c);
    uint32_t distinct = 0;
    size_t dict_bytes = 0;
    bool fits = true;
    for (size_t i = 0; i < n && fits; i++) {
        struct cur v = cur_make(c->values.data + sp[i].off, sp[i].len);
        size_t h = cur_hash(v) & (n_slots - 1);
        while (slots[h] != 0) {
            struct pq_span e = entries[slots[h] - 1];
            if (e.len == v.len && memcmp(c->values.data + e.off, v.ptr, v.len) == 0) {
                break;
            }
            h = (h + 1) & (n_slots - 1);
        }
        if (slots[h] == 0) {
            entries[distinct] = sp[i];
            slots[h] = ++distinct;
            dict_bytes += v.len;
            fits = dict_bytes <= PQ_DICT_MAX_BYTES;
        }
        idx[i] = slots[h] - 1;
    }
    enum err_code rc = ERR_OK;
    if (fits && (size_t)distinct * 2 <= n) {
        for (uint32_t d = 0; rc == ERR_OK && d < distinct; d++) {
            rc = buf_append(&c->dict, c->values.data + entries[d].off, entries[d].len, err);
        }
        *use = rc == ERR_OK;
    }
    free(slots);
    free(entries);
    if (*use) {
        *indices = idx;
        *n_dict = distinct;
    } else {
        free(idx);
    }
    return rc;
}

/* A 4-byte little-endian length, then the hybrid levels (data page V1). */
static enum err_code
levels(const struct buf *lv, uint64_t n, int max, struct buf *out, struct err *err)
{
    size_t at = out->len;
    uint8_t zero[4] = {0};
    enum err_code rc = buf_append(out, zero, 4, err);
    if (rc == ERR_OK) {
        rc = pq_rle_encode_u8(lv->data, (size_t)n, pq_rle_bit_width((uint32_t)max), out, err);
    }
    if (rc == ERR_OK) {
        size_t len = out->len - at - 4;
        if (len > UINT32_MAX) {
            return err_set(err, ERR_TOO_LARGE, "parquet: levels over 4 GiB");
        }
        for (int i = 0; i < 4; i++) {
            out->data[at + (size_t)i] = (uint8_t)(len >> (8 * i));
        }
    }
    return rc;
}

/* PLAIN BOOLEAN: one bit per value, LSB first. */
static enum err_code plain_booleans(const struct pq_column *c, struct buf *out, struct err *err)
{
    size_t n = (size_t)c->n_values;
    size_t bytes = (n + 7) / 8;
    enum err_code rc = buf_reserve(out, bytes, err);
    if (rc != ERR_OK) {
        return rc;
    }
    uint8_t *dst = out->data + out->len;
    memset(dst, 0, bytes);
    for (size_t i = 0; i < n; i++) {
        if (c->values.data[i] != 0) {
            dst[i / 8] |= (uint8_t)(1u << (i % 8));
        }
    }
    buf_commit(out, bytes);
    return ERR_OK;
}

/* Compresses body and appends its page header and the compressed bytes to out. */
static enum err_code write_page(struct pq_column *c,
                                struct pq_compressor *codec,
                                int page_type,
                                struct cur body,
                                int64_t num_values,
                                int encoding,
                                struct buf *out,
                                struct pq_chunk_meta *m,
                                struct err *err)
{
    if (body.len > INT32_MAX) {
        return err_set(err, ERR_TOO_LARGE, "parquet: column \"%s\": a %zu-byte page is over 2 GiB",
                       c->name, body.len);
    }
    buf_reset(&c->page);
    enum err_code rc = pq_compressor_run(codec, body.ptr, body.len, &c->page, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (c->page.len > INT32_MAX) {
        return err_set(err, ERR_TOO_LARGE, "parquet: column \"%s\": page over 2 GiB", c->name);
    }
    size_t start = out->len;
    struct pq_thrift t;
    pq_thrift_init(&t, out, err);
    pq_thrift_begin(&t); /* PageHeader */
    pq_thrift_field_i32(&t, 1, page_type);
    pq_thrift_field_i32(&t, 2, (int32_t)body.len);
    pq_thrift_field_i32(&t, 3, (int32_t)c->page.len);
    if (page_type == PAGE_DATA) {
        pq_thrift_field_struct(&t, 5); /* DataPageHeader */
        pq_thrift_field_i32(&t, 1, (int32_t)num_values);
        pq_thrift_field_i32(&t, 2, encoding);
        pq_thrift_field_i32(&t, 3, ENC_RLE);
        pq_thrift_field_i32(&t, 4, ENC_RLE);
        pq_thrift_end(&t);
    } else {
        pq_thrift_field_struct(&t, 7); /* DictionaryPageHeader */
        pq_thrift_field_i32(&t, 1, (int32_t)num_values);
        pq_thrift_field_i32(&t, 2, ENC_PLAIN);
        pq_thrift_end(&t);
    }
    pq_thrift_end(&t);
    rc = pq_thrift_finish(&t);
    if (rc == ERR_OK) {
        size_t header = out->len - start;
        rc = buf_append(out, c->page.data, c->page.len, err);
        m->total_uncompressed += (int64_t)(header + body.len);
        m->total_compressed += (int64_t)(header + c->page.len);
    }
    return rc;
}

static enum err_code copy_stat(struct cur v, uint8_t **out, size_t *len, struct err *err)
{
    *out = malloc(v.len > 0 ? v.len : 1);
    if (*out == NULL) {
        return err_set(err, ERR_NOMEM, "parquet: out of memory for statistics");
    }
    if (v.len > 0) {
        memcpy(*out, v.ptr, v.len);
    }
    *len = v.len;
    return ERR_OK;
}

static void reset(struct pq_column *c)
{
    buf_reset(&c->def);
    buf_reset(&c->rep);
    buf_reset(&c->values);
    buf_reset(&c->spans);
    c->n_values = c->n_levels = c->n_rows = c->nulls = 0;
    c->has_minmax = false;
    c->in_list = false;
}

enum err_code pq_column_write_chunk(struct pq_column *c,
                                    struct pq_compressor *codec,
                                    struct buf *out,
                                    int64_t at,
                                    struct pq_chunk_meta *m,
                                    struct err *err)
{
    memset(m, 0, sizeof(*m));
    m->file_offset = at;
    m->dictionary_page_offset = -1;
    m->num_values = (int64_t)c->n_levels;
    m->null_count = (int64_t)c->nulls;
    uint32_t *indices = NULL;
    uint32_t n_dict = 0;
    bool dict = false;
    size_t base = out->len;
    enum err_code rc = build_dictionary(c, &indices, &n_dict, &dict, err);
    if (rc == ERR_OK && dict) {
        m->dictionary_page_offset = at;
        rc = write_page(c, codec, PAGE_DICTIONARY, buf_cur(&c->dict), n_dict, ENC_PLAIN, out, m,
                        err);
    }
    if (rc != ERR_OK) {
        goto out;
    }
    m->data_page_offset = at + (int64_t)(out->len - base);
    buf_reset(&c->scratch);
    if (c->type.list) {
        rc = levels(&c->rep, c->n_levels, 1, &c->scratch, err);
    }
    if (rc == ERR_OK) {
        rc = levels(&c->def, c->n_levels, pq_column_max_def(c), &c->scratch, err);
    }
    if (rc == ERR_OK && dict) {
        /* RLE_DICTIONARY: the bit width in one byte, then the hybrid (no length prefix). Width at
         * least 1: a one-entry dictionary with width 0 trips some readers. */
        int w = pq_rle_bit_width(n_dict - 1);
        w = w < 1 ? 1 : w;
        rc = buf_append_byte(&c->scratch, (uint8_t)w, err);
        if (rc == ERR_OK) {
            rc = pq_rle_encode(indices, (size_t)c->n_values, w, &c->scratch, err);
        }
    } else if (rc == ERR_OK && pq_type_physical(&c->type) == PQ_PHYS_BOOLEAN) {
        rc = plain_booleans(c, &c->scratch, err);
    } else if (rc == ERR_OK) {
        rc = buf_append(&c->scratch, c->values.data, c->values.len, err);
    }
    if (rc == ERR_OK) {
        rc = write_page(c, codec, PAGE_DATA, buf_cur(&c->scratch), (int64_t)c->n_levels,
                        dict ? ENC_RLE_DICTIONARY : ENC_PLAIN, out, m, err);
    }
    if (rc == ERR_OK && c->has_minmax) {
        struct cur lo = payload(c, c->min), hi = payload(c, c->max);
        if (lo.len <= PQ_STATS_MAX_BYTES && hi.len <= PQ_STATS_MAX_BYTES) {
            rc = copy_stat(lo, &m->min, &m->min_len, err);
            if (rc == ERR_OK) {
                rc = copy_stat(hi, &m->max, &m->max_len, err);
            }
            m->has_minmax = rc == ERR_OK;
        }
    }
out:
    free(indices);
    reset(c);
    return rc;
}

void pq_chunk_meta_cleanup(struct pq_chunk_meta *m)
{
    if (m == NULL) {
        return;
    }
    free(m->min);
    free(m->max);
    m->min = m->max = NULL;
    m->has_minmax = false;
}
