/*
 * pq_snappy.c - Snappy's raw format: the uncompressed length as a varint, then elements whose
 * tag byte's low two bits say literal (00), copy with 1-byte offset (01) or 2-byte offset (10).
 * Copies here reach back at most 65535 bytes, so 2-byte offsets always suffice.
 */
#include "pq_snappy.h"

#include <stdlib.h>
#include <string.h>

#include "pq_thrift.h"

#define HASH_BITS     14
#define MAX_OFFSET    65535 /* a copy with a 2-byte offset */
#define MIN_MATCH     4
#define MAX_COPY2_LEN 64 /* a 2-byte-offset copy's length is 1 to 64 */

static uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t hash32(uint32_t v, int bits)
{
    return (v * 0x1e35a7bdu) >> (32 - bits);
}

size_t pq_snappy_max_compressed(size_t n)
{
    return 32 + n + n / 6; /* google/snappy MaxCompressedLength */
}

/* Literal: tag (len-1) << 2 for up to 60 bytes, else 60 + k with len-1 in the next k bytes. */
static enum err_code literal(struct buf *out, const uint8_t *p, size_t n, struct err *err)
{
    while (n > 0) {
        size_t len = n > UINT32_MAX ? UINT32_MAX : n;
        uint8_t tag[5];
        size_t tl = 0;
        size_t m = len - 1;
        if (m < 60) {
            tag[tl++] = (uint8_t)(m << 2);
        } else {
            size_t k = m < 0x100 ? 1 : m < 0x10000 ? 2 : m < 0x1000000 ? 3 : 4;
            tag[tl++] = (uint8_t)((59 + k) << 2);
            for (size_t i = 0; i < k; i++) {
                tag[tl++] = (uint8_t)(m >> (8 * i));
            }
        }
        enum err_code rc = buf_append(out, tag, tl, err);
        if (rc == ERR_OK) {
            rc = buf_append(out, p, len, err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
        p += len;
        n -= len;
    }
    return ERR_OK;
}

/* A copy of len bytes from offset back: 1-byte-offset form for 4..11 bytes within 2047, else
 * 2-byte-offset copies of up to 64 bytes. */
static enum err_code copy(struct buf *out, size_t offset, size_t len, struct err *err)
{
    enum err_code rc = ERR_OK;
    while (rc == ERR_OK && len > 0) {
        uint8_t tag[3];
        size_t tl;
        size_t take;
        if (len >= MIN_MATCH && len <= 11 && offset < 2048) {
            take = len;
            tag[0] = (uint8_t)(1 | ((take - 4) << 2) | ((offset >> 8) << 5));
            tag[1] = (uint8_t)offset;
            tl = 2;
        } else {
            /* Keep at least 4 for a last piece, so it may use the short form too. */
            take =
                len > MAX_COPY2_LEN ? (len - MAX_COPY2_LEN < MIN_MATCH ? 60 : MAX_COPY2_LEN) : len;
            tag[0] = (uint8_t)(2 | ((take - 1) << 2));
            tag[1] = (uint8_t)offset;
            tag[2] = (uint8_t)(offset >> 8);
            tl = 3;
        }
        rc = buf_append(out, tag, tl, err);
        len -= take;
    }
    return rc;
}

enum err_code pq_snappy_compress(const uint8_t *p, size_t n, struct buf *out, struct err *err)
{
    if (n > PQ_SNAPPY_MAX_INPUT) {
        return err_set(err, ERR_TOO_LARGE, "snappy: %zu bytes is over the format's 4 GiB", n);
    }
    enum err_code rc = pq_varint(out, n, err);
    if (rc != ERR_OK || n == 0) {
        return rc;
    }
    rc = buf_reserve(out, pq_snappy_max_compressed(n), err);
    if (rc != ERR_OK) {
        return rc;
    }
    /* The table grows with the input up to 16K entries (64 KiB), as snappy's does: a small
     * page does not pay for clearing a large table. */
    int bits = 8;
    while (bits < HASH_BITS && ((size_t)1 << bits) < n) {
        bits++;
    }
    uint32_t *table = calloc((size_t)1 << bits, sizeof(*table)); /* position + 1; 0: empty */
    if (table == NULL) {
        return err_set(err, ERR_NOMEM, "snappy: out of memory for the hash table");
    }
    size_t lit = 0; /* where the pending literal starts */
    size_t i = 0;
    while (rc == ERR_OK && n >= MIN_MATCH && i <= n - MIN_MATCH) {
        uint32_t v = load32(p + i);
        uint32_t h = hash32(v, bits);
        size_t cand = table[h];
        table[h] = (uint32_t)(i + 1);
        if (cand-- == 0 || i - cand > MAX_OFFSET || load32(p + cand) != v) {
            /* Skip faster through incompressible data, as snappy does (32 misses: step 2). */
            i += 1 + ((i - lit) >> 5);
            continue;
        }
        size_t len = MIN_MATCH;
        while (i + len < n && p[cand + len] == p[i + len]) {
            len++;
        }
        rc = literal(out, p + lit, i - lit, err);
        if (rc == ERR_OK) {
            rc = copy(out, i - cand, len, err);
        }
        i += len;
        lit = i;
        if (i >= 1 && i - 1 + MIN_MATCH <= n) {
            table[hash32(load32(p + i - 1), bits)] = (uint32_t)i; /* position i - 1, plus 1 */
        }
    }
    if (rc == ERR_OK && lit < n) {
        rc = literal(out, p + lit, n - lit, err);
    }
    free(table);
    return rc;
}

static enum err_code corrupt(struct err *err, const char *what)
{
    return err_set(err, ERR_INVALID_INPUT, "snappy: corrupt block: %s", what);
}

enum err_code pq_snappy_decompress(const uint8_t *p, size_t n, struct buf *out, struct err *err)
{
    uint64_t want = 0;
    size_t i = 0;
    for (int shift = 0;; shift += 7) {
        if (i == n || shift > 28) {
            return corrupt(err, "bad length");
        }
        want |= (uint64_t)(p[i] & 0x7f) << shift;
        if ((p[i++] & 0x80) == 0) {
            break;
        }
    }
    if (want > PQ_SNAPPY_MAX_DECODED) {
        return err_set(err, ERR_TOO_LARGE, "snappy: block claims %llu bytes (limit %d)",
                       (unsigned long long)want, PQ_SNAPPY_MAX_DECODED);
    }
    size_t base = out->len;
    enum err_code rc = buf_reserve(out, want, err);
    while (rc == ERR_OK && i < n) {
        uint8_t tag = p[i++];
        size_t len, offset;
        switch (tag & 3) {
        case 0:
            len = (tag >> 2) + 1u;
            if (len > 60) {
                size_t k = len - 60;
                if (n - i < k) {
                    return corrupt(err, "truncated literal length");
                }
                len = 0;
                for (size_t b = 0; b < k; b++) {
                    len |= (size_t)p[i + b] << (8 * b);
                }
                len++;
                i += k;
            }
            if (n - i < len || out->len - base + len > want) {
                return corrupt(err, "literal overruns");
            }
            rc = buf_append(out, p + i, len, err);
            i += len;
            continue;
        case 1:
            if (i == n) {
                return corrupt(err, "truncated copy");
            }
            len = ((tag >> 2) & 7) + 4u;
            offset = ((size_t)(tag >> 5) << 8) | p[i++];
            break;
        case 2:
            if (n - i < 2) {
                return corrupt(err, "truncated copy");
            }
            len = (tag >> 2) + 1u;
            offset = p[i] | ((size_t)p[i + 1] << 8);
            i += 2;
            break;
        default:
            if (n - i < 4) {
                return corrupt(err, "truncated copy");
            }
            len = (tag >> 2) + 1u;
            offset = p[i] | ((size_t)p[i + 1] << 8) | ((size_t)p[i + 2] << 16) |
                     ((size_t)p[i + 3] << 24);
            i += 4;
            break;
        }
        size_t have = out->len - base;
        if (offset == 0 || offset > have || have + len > want) {
            return corrupt(err, "copy out of range");
        }
        for (size_t b = 0; b < len; b++) { /* byte by byte: copies may overlap themselves */
            out->data[out->len] = out->data[out->len - offset];
            out->len++;
        }
    }
    if (rc == ERR_OK && out->len - base != want) {
        return corrupt(err, "length mismatch");
    }
    return rc;
}
