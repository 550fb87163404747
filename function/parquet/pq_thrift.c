/*
 * pq_thrift.c - the Thrift compact protocol writer: zigzag varints for integers, field headers
 * carrying the id delta, list headers carrying small sizes.
 */
#include "pq_thrift.h"

#include <string.h>

void pq_thrift_init(struct pq_thrift *t, struct buf *out, struct err *err)
{
    memset(t, 0, sizeof(*t));
    t->out = out;
    t->err = err;
}

enum err_code pq_varint(struct buf *out, uint64_t v, struct err *err)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        tmp[n++] = v != 0 ? (uint8_t)(b | 0x80) : b;
    } while (v != 0);
    return buf_append(out, tmp, n, err);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void put_byte(struct pq_thrift *t, uint8_t b)
{
    if (t->rc == ERR_OK) {
        t->rc = buf_append_byte(t->out, b, t->err);
    }
}

static void put_varint(struct pq_thrift *t, uint64_t v)
{
    if (t->rc == ERR_OK) {
        t->rc = pq_varint(t->out, v, t->err);
    }
}

static void put_bytes(struct pq_thrift *t, const void *p, size_t n)
{
    put_varint(t, n);
    if (t->rc == ERR_OK) {
        t->rc = buf_append(t->out, p, n, t->err);
    }
}

/* A field header: (delta << 4) | type when the id is 1 to 15 above the previous one, else the
 * type byte and the id as a zigzag i16 (compact protocol, "Field header"). */
static void field(struct pq_thrift *t, int16_t id, enum pq_thrift_type type)
{
    if (t->rc != ERR_OK) {
        return;
    }
    if (t->depth == 0) {
        t->rc = err_set(t->err, ERR_INVALID_INPUT, "thrift: field %d outside a struct", id);
        return;
    }
    int16_t *last = &t->last_id[t->depth - 1];
    int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        put_byte(t, (uint8_t)((delta << 4) | type));
    } else {
        put_byte(t, (uint8_t)type);
        put_varint(t, zigzag(id));
    }
    *last = id;
}

static void push(struct pq_thrift *t)
{
    if (t->rc != ERR_OK) {
        return;
    }
    if (t->depth == PQ_THRIFT_MAX_DEPTH) {
        t->rc = err_set(t->err, ERR_INVALID_INPUT, "thrift: structs nested over %d deep",
                        PQ_THRIFT_MAX_DEPTH);
        return;
    }
    t->last_id[t->depth++] = 0;
}

void pq_thrift_begin(struct pq_thrift *t)
{
    push(t);
}

void pq_thrift_end(struct pq_thrift *t)
{
    if (t->rc == ERR_OK && t->depth == 0) {
        t->rc = err_set(t->err, ERR_INVALID_INPUT, "thrift: end without a struct");
    }
    put_byte(t, 0); /* stop */
    if (t->rc == ERR_OK) {
        t->depth--;
    }
}

void pq_thrift_field_i32(struct pq_thrift *t, int16_t id, int32_t v)
{
    field(t, id, PQ_THRIFT_I32);
    put_varint(t, zigzag(v));
}

void pq_thrift_field_i64(struct pq_thrift *t, int16_t id, int64_t v)
{
    field(t, id, PQ_THRIFT_I64);
    put_varint(t, zigzag(v));
}

/* A bool field's value is its type nibble. */
void pq_thrift_field_bool(struct pq_thrift *t, int16_t id, bool v)
{
    field(t, id, v ? PQ_THRIFT_BOOL_TRUE : PQ_THRIFT_BOOL_FALSE);
}

void pq_thrift_field_binary(struct pq_thrift *t, int16_t id, const void *p, size_t n)
{
    field(t, id, PQ_THRIFT_BINARY);
    put_bytes(t, p, n);
}

void pq_thrift_field_struct(struct pq_thrift *t, int16_t id)
{
    field(t, id, PQ_THRIFT_STRUCT);
    push(t);
}

void pq_thrift_field_empty(struct pq_thrift *t, int16_t id)
{
    pq_thrift_field_struct(t, id);
    pq_thrift_end(t);
}

/* List header: (size << 4) | type for sizes under 15, else 0xF0 | type and a varint size. */
void pq_thrift_field_list(struct pq_thrift *t, int16_t id, enum pq_thrift_type elem, uint32_t n)
{
    field(t, id, PQ_THRIFT_LIST);
    if (n < 15) {
        put_byte(t, (uint8_t)((n << 4) | elem));
    } else {
        put_byte(t, (uint8_t)(0xf0 | elem));
        put_varint(t, n);
    }
}

void pq_thrift_elem_i32(struct pq_thrift *t, int32_t v)
{
    put_varint(t, zigzag(v));
}

void pq_thrift_elem_binary(struct pq_thrift *t, const void *p, size_t n)
{
    put_bytes(t, p, n);
}

enum err_code pq_thrift_finish(struct pq_thrift *t)
{
    if (t->rc == ERR_OK && t->depth != 0) {
        t->rc = err_set(t->err, ERR_INVALID_INPUT, "thrift: %d struct(s) left open", t->depth);
    }
    return t->rc;
}
