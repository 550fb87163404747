/*
 * fuzz_parquet.c - the Parquet encoder (function/parquet/). The input is a program: a header byte
 * picks the codec and up to 8 column types, then bytes give each row's entries (nulls, values of
 * fuzzer-chosen lengths and contents, lists of elements). Invariants: the file is written, starts
 * and ends with PAR1, its footer length points inside it and the footer is one well-formed Thrift
 * compact struct that ends exactly there; the same program gives the same bytes; the input
 * compresses and decompresses through Snappy unchanged, encodes and decodes through the RLE
 * hybrid unchanged, and parses as a decimal only to values that format and parse back the same.
 * Arbitrary bytes given to the Snappy decoder fail cleanly or decode.
 */
#include <string.h>

#include "fuzz_util.h"
#include "pq_file.h"
#include "pq_rle.h"
#include "pq_snappy.h"
#include "pq_types.h"

#define MAX_COLS 8
#define MAX_ROWS 2000

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t next(struct reader *r)
{
    if (r->n == 0) {
        return 0;
    }
    r->n--;
    return *r->p++;
}

/* ---- a Thrift compact protocol skipper: is the footer one well-formed struct? ---- */

static bool skip_varint(struct reader *r)
{
    for (int i = 0; i < 10; i++) {
        if (r->n == 0) {
            return false;
        }
        if ((next(r) & 0x80) == 0) {
            return true;
        }
    }
    return false;
}

static bool read_varint(struct reader *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->n == 0) {
            return false;
        }
        uint8_t b = next(r);
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return true;
        }
    }
    return false;
}

static bool skip_struct(struct reader *r, int depth);

static bool skip_value(struct reader *r, int type, int depth)
{
    uint64_t n;
    switch (type) {
    case 1:
    case 2:
        return true; /* bool in the field header */
    case 3:
        return r->n > 0 && (next(r), true);
    case 4:
    case 5:
    case 6:
        return skip_varint(r);
    case 8:
        if (!read_varint(r, &n) || n > r->n) {
            return false;
        }
        r->p += n;
        r->n -= n;
        return true;
    case 9: {
        if (r->n == 0) {
            return false;
        }
        uint8_t h = next(r);
        n = h >> 4;
        if (n == 15 && !read_varint(r, &n)) {
            return false;
        }
        for (uint64_t i = 0; i < n; i++) {
            int et = h & 0x0f;
            if (et == 1 || et == 2) { /* list<bool>: a byte each */
                if (r->n == 0) {
                    return false;
                }
                next(r);
            } else if (!skip_value(r, et, depth + 1)) {
                return false;
            }
        }
        return true;
    }
    case 12:
        return skip_struct(r, depth + 1);
    default:
        return false;
    }
}

static bool skip_struct(struct reader *r, int depth)
{
    if (depth > 16) {
        return false;
    }
    for (;;) {
        if (r->n == 0) {
            return false;
        }
        uint8_t h = next(r);
        if (h == 0) {
            return true;
        }
        if ((h >> 4) == 0 && !skip_varint(r)) { /* long form: the id follows */
            return false;
        }
        if (!skip_value(r, h & 0x0f, depth)) {
            return false;
        }
    }
}

/* ---- the file program ---- */

static const struct pq_type types[] = {
    {PQ_STRING, 0, 0, false},   {PQ_BINARY, 0, 0, false},       {PQ_BOOLEAN, 0, 0, false},
    {PQ_INT64, 0, 0, false},    {PQ_TIMESTAMP_MS, 0, 0, false}, {PQ_DECIMAL, 7, 2, false},
    {PQ_DECIMAL, 18, 0, false}, {PQ_DECIMAL, 38, 10, false},    {PQ_STRING, 0, 0, true},
    {PQ_BINARY, 0, 0, true},    {PQ_DECIMAL, 25, 5, true},      {PQ_BOOLEAN, 0, 0, true},
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static void add_value(struct pq_column *c, struct reader *r)
{
    struct err err = ERR_INIT;
    uint8_t len = next(r) % 64;
    uint8_t bytes[64];
    for (uint8_t i = 0; i < len; i++) {
        bytes[i] = next(r);
    }
    int64_t v = 0;
    memcpy(&v, bytes, len < 8 ? len : 8);
    switch (c->type.kind) {
    case PQ_STRING:
    case PQ_BINARY:
        FUZZ_CHECK(pq_column_add_bytes(c, bytes, len, &err) == ERR_OK);
        break;
    case PQ_BOOLEAN:
        FUZZ_CHECK(pq_column_add_bool(c, (v & 1) != 0, &err) == ERR_OK);
        break;
    case PQ_INT64:
    case PQ_TIMESTAMP_MS:
        FUZZ_CHECK(pq_column_add_i64(c, v, &err) == ERR_OK);
        break;
    case PQ_DECIMAL: {
        /* Any value within the precision: v modulo 10^min(p, 18). */
        int64_t mod = 1;
        for (int i = 0; i < (c->type.precision < 18 ? c->type.precision : 18); i++) {
            mod *= 10;
        }
        FUZZ_CHECK(pq_column_add_decimal(c, (pq_i128)(v % mod), &err) == ERR_OK);
        break;
    }
    }
}

static void make_file(const uint8_t *data, size_t size, struct buf *out)
{
    struct reader r = {data, size};
    struct err err = ERR_INIT;
    static const enum pq_codec codecs[] = {PQ_CODEC_NONE, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
                                           PQ_CODEC_ZSTD};
    uint8_t h = next(&r);
    struct pq_file f;
    pq_file_init(&f, out, codecs[h & 3], "fuzz");
    size_t n_cols = 1 + (h >> 2) % MAX_COLS;
    for (size_t i = 0; i < n_cols; i++) {
        char name[8] = {'c', (char)('0' + i), 0};
        FUZZ_CHECK(pq_file_add_column(&f, name, 2, &types[next(&r) % N_TYPES], &err) == ERR_OK);
    }
    FUZZ_CHECK(pq_file_begin(&f, &err) == ERR_OK);
    for (size_t row = 0; row < MAX_ROWS && r.n > 0; row++) {
        for (size_t i = 0; i < n_cols; i++) {
            struct pq_column *c = pq_file_column(&f, i);
            uint8_t op = next(&r);
            if (op % 4 == 0) {
                FUZZ_CHECK(pq_column_add_null(c, &err) == ERR_OK);
            } else if (!c->type.list) {
                add_value(c, &r);
            } else {
                pq_column_list_begin(c);
                for (int e = 0; e < op % 5; e++) {
                    if (next(&r) % 7 == 0) {
                        FUZZ_CHECK(pq_column_add_null(c, &err) == ERR_OK);
                    } else {
                        add_value(c, &r);
                    }
                }
                FUZZ_CHECK(pq_column_list_end(c, &err) == ERR_OK);
            }
        }
        FUZZ_CHECK(pq_file_end_row(&f, &err) == ERR_OK);
        if (next(&r) == 0xff) {
            FUZZ_CHECK(pq_file_flush_row_group(&f, &err) == ERR_OK);
        }
    }
    FUZZ_CHECK(pq_file_finish(&f, &err) == ERR_OK);
    pq_file_cleanup(&f);
}

static void check_file(const uint8_t *data, size_t size)
{
    struct buf a = BUF_INIT(0), b = BUF_INIT(0);
    make_file(data, size, &a);
    make_file(data, size, &b);
    FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    FUZZ_CHECK(a.len >= 12 && memcmp(a.data, "PAR1", 4) == 0 &&
               memcmp(a.data + a.len - 4, "PAR1", 4) == 0);
    size_t footer = (size_t)a.data[a.len - 8] | (size_t)a.data[a.len - 7] << 8 |
                    (size_t)a.data[a.len - 6] << 16 | (size_t)a.data[a.len - 5] << 24;
    FUZZ_CHECK(footer > 0 && footer <= a.len - 12);
    struct reader fr = {a.data + a.len - 8 - footer, footer};
    FUZZ_CHECK(skip_struct(&fr, 0));
    FUZZ_CHECK(fr.n == 0);
    buf_cleanup(&a);
    buf_cleanup(&b);
}

static void check_snappy(const uint8_t *data, size_t size)
{
    struct buf c = BUF_INIT(0), d = BUF_INIT(0), junk = BUF_INIT(0);
    struct err err = ERR_INIT;
    FUZZ_CHECK(pq_snappy_compress(data, size, &c, &err) == ERR_OK);
    FUZZ_CHECK(c.len <= pq_snappy_max_compressed(size));
    FUZZ_CHECK(pq_snappy_decompress(c.data, c.len, &d, &err) == ERR_OK);
    FUZZ_CHECK(d.len == size && (size == 0 || memcmp(d.data, data, size) == 0));
    struct err jerr = ERR_INIT;
    enum err_code rc = pq_snappy_decompress(data, size, &junk, &jerr);
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &jerr);
    }
    buf_cleanup(&c);
    buf_cleanup(&d);
    buf_cleanup(&junk);
}

static void check_rle(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return;
    }
    int width = 1 + data[0] % 20;
    size_t n = size - 1 < 4096 ? size - 1 : 4096;
    uint32_t v[4096], back[4096];
    for (size_t i = 0; i < n; i++) {
        v[i] = (uint32_t)(data[1 + i] * 2654435761u) & ((1u << width) - 1);
        if (data[1 + i] < 128) {
            v[i] = i > 0 ? v[i - 1] : 0; /* runs */
        }
    }
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    FUZZ_CHECK(pq_rle_encode(v, n, width, &b, &err) == ERR_OK);
    FUZZ_CHECK(pq_rle_decode(b.data, b.len, width, back, n));
    FUZZ_CHECK(n == 0 || memcmp(v, back, n * sizeof(*v)) == 0);
    buf_cleanup(&b);
}

static void check_decimal(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 80) {
        return;
    }
    int precision = 1 + data[0] % 38;
    int scale = data[1] % (precision + 1);
    struct err err = ERR_INIT;
    pq_i128 v = 0, again = 0;
    enum err_code rc = pq_decimal_parse(cur_make(data + 2, size - 2), precision, scale, &v, &err);
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
        return;
    }
    char text[64];
    pq_decimal_format(v, scale, text, sizeof(text));
    FUZZ_CHECK(pq_decimal_parse(cur_from_str(text), precision, scale, &again, &err) == ERR_OK);
    FUZZ_CHECK(again == v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_file(data, size);
    check_snappy(data, size);
    check_rle(data, size);
    check_decimal(data, size);
    return 0;
}
