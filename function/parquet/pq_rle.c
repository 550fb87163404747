/*
 * pq_rle.c - the hybrid encoder. A bit-packed run must hold a multiple of 8 values unless it is
 * the last, so literals are taken 8 at a time and a run of equal values starts an RLE run only at
 * a group boundary (Encodings.md, "Run Length Encoding / Bit-Packing Hybrid").
 */
#include "pq_rle.h"

#include <stdbool.h>
#include <string.h>

#include "pq_thrift.h"

#define MIN_RLE_RUN 8

int pq_rle_bit_width(uint32_t max)
{
    int w = 0;
    while (w < 32 && (max >> w) != 0) {
        w++;
    }
    return w;
}

typedef uint32_t (*get_fn)(const void *v, size_t i);

static uint32_t get32(const void *v, size_t i)
{
    return ((const uint32_t *)v)[i];
}

static uint32_t get8(const void *v, size_t i)
{
    return ((const uint8_t *)v)[i];
}

/* A bit-packed run of v[from, to) (padded up to a multiple of 8): LSB first. */
static enum err_code
packed(const void *v, get_fn get, size_t from, size_t to, int w, struct buf *out, struct err *err)
{
    size_t groups = (to - from + 7) / 8;
    enum err_code rc = pq_varint(out, ((uint64_t)groups << 1) | 1, err);
    size_t bytes = groups * (size_t)w; /* 8 values of w bits: w bytes */
    if (rc == ERR_OK) {
        rc = buf_reserve(out, bytes, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    uint8_t *dst = out->data + out->len;
    memset(dst, 0, bytes);
    size_t bit = 0;
    for (size_t i = from; i < to; i++, bit += (size_t)w) {
        uint64_t x = get(v, i);
        for (int b = 0; b < w; b++) {
            if ((x >> b) & 1) {
                dst[(bit + (size_t)b) / 8] |= (uint8_t)(1u << ((bit + (size_t)b) % 8));
            }
        }
    }
    buf_commit(out, bytes);
    return ERR_OK;
}

/* An RLE run: count << 1, then the value in ceil(w / 8) little-endian bytes. */
static enum err_code rle_run(uint32_t value, size_t count, int w, struct buf *out, struct err *err)
{
    enum err_code rc = pq_varint(out, (uint64_t)count << 1, err);
    for (int i = 0; rc == ERR_OK && i < (w + 7) / 8; i++) {
        rc = buf_append_byte(out, (uint8_t)(value >> (8 * i)), err);
    }
    return rc;
}

static enum err_code
encode(const void *v, get_fn get, size_t n, int w, struct buf *out, struct err *err)
{
    enum err_code rc = ERR_OK;
    size_t lit = 0; /* pending literals start here */
    size_t i = 0;
    while (rc == ERR_OK && i < n) {
        uint32_t x = get(v, i);
        size_t run = 1;
        while (i + run < n && get(v, i + run) == x) {
            run++;
        }
        if (run < MIN_RLE_RUN) {
            i += run;
            continue;
        }
        size_t pad = (8 - (i - lit) % 8) % 8; /* literals to take from the run first */
        if (run - pad < MIN_RLE_RUN) {
            i += run;
            continue;
        }
        i += pad;
        if (i > lit) {
            rc = packed(v, get, lit, i, w, out, err);
        }
        if (rc == ERR_OK) {
            rc = rle_run(x, run - pad, w, out, err);
        }
        i += run - pad;
        lit = i;
    }
    if (rc == ERR_OK && lit < n) {
        rc = packed(v, get, lit, n, w, out, err);
    }
    return rc;
}

enum err_code
pq_rle_encode(const uint32_t *v, size_t n, int bit_width, struct buf *out, struct err *err)
{
    return encode(v, get32, n, bit_width, out, err);
}

enum err_code
pq_rle_encode_u8(const uint8_t *v, size_t n, int bit_width, struct buf *out, struct err *err)
{
    return encode(v, get8, n, bit_width, out, err);
}

static bool varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len) {
            return false;
        }
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

bool pq_rle_decode(const uint8_t *p, size_t len, int bit_width, uint32_t *v, size_t n)
{
    size_t pos = 0, got = 0;
    while (got < n) {
        uint64_t h;
        if (!varint(p, len, &pos, &h)) {
            return false;
        }
        if (h & 1) {
            uint64_t count = (h >> 1) * 8;
            size_t bytes = (size_t)(h >> 1) * (size_t)bit_width;
            if ((h >> 1) > len || bytes > len - pos) {
                return false;
            }
            for (uint64_t k = 0; k < count; k++) {
                uint32_t x = 0;
                for (int b = 0; b < bit_width; b++) {
                    size_t bit = (size_t)k * (size_t)bit_width + (size_t)b;
                    x |= (uint32_t)((p[pos + bit / 8] >> (bit % 8)) & 1) << b;
                }
                if (got < n) {
                    v[got++] = x;
                }
            }
            pos += bytes;
        } else {
            uint64_t count = h >> 1;
            size_t nb = ((size_t)bit_width + 7) / 8;
            if (nb > len - pos || count == 0) {
                return false;
            }
            uint32_t x = 0;
            for (size_t b = 0; b < nb; b++) {
                x |= (uint32_t)p[pos + b] << (8 * b);
            }
            pos += nb;
            for (uint64_t k = 0; k < count && got < n; k++) {
                v[got++] = x;
            }
        }
    }
    return true;
}
