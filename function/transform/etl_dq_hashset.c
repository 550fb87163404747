/*
 * etl_dq_hashset.c - open addressing with linear probing over a power-of-two table kept at most
 * half full; hashes are already uniform, so the low bits index the table directly.
 */
#include "etl_dq_hashset.h"

#include <stdlib.h>
#include <string.h>

#include "digest.h"

#define HASHSET_FIRST_CAP 64

void etl_dq_hashset_init(struct etl_dq_hashset *s, size_t max_entries)
{
    memset(s, 0, sizeof(*s));
    s->max_entries = max_entries;
}

void etl_dq_hashset_cleanup(struct etl_dq_hashset *s)
{
    if (s == NULL) {
        return;
    }
    free(s->slots);
    size_t max = s->max_entries;
    memset(s, 0, sizeof(*s));
    s->max_entries = max;
}

/* MurmurHash3's fmix64: a bijection whose every output bit depends on every input bit. */
static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) {
        w |= (uint64_t)p[i] << (8 * i);
    }
    return w;
}

uint64_t etl_dq_hashset_hash(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t h = 0x243f6a8885a308d3ULL ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
    while (n >= 8) {
        h = fmix64(h ^ load_le(p, 8)) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        n -= 8;
    }
    h = fmix64(h ^ load_le(p, n) ^ ((uint64_t)n << 59));
    return h;
}

static struct etl_dq_hashset_slot *find(struct etl_dq_hashset_slot *slots, size_t cap, uint64_t h)
{
    size_t mask = cap - 1, i = (size_t)h & mask;
    while (slots[i].hash != 0 && slots[i].hash != h) {
        i = (i + 1) & mask;
    }
    return &slots[i];
}

static enum err_code grow(struct etl_dq_hashset *s, struct err *err)
{
    size_t cap = s->cap == 0 ? HASHSET_FIRST_CAP : s->cap * 2;
    if (cap < s->cap || cap > SIZE_MAX / sizeof(*s->slots)) {
        return err_set(err, ERR_NOMEM, "dq: a distinct-value set of %zu slots", cap);
    }
    struct etl_dq_hashset_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL) {
        return err_set(err, ERR_NOMEM, "dq: out of memory for a distinct-value set");
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i].hash != 0) {
            *find(slots, cap, s->slots[i].hash) = s->slots[i];
        }
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return ERR_OK;
}

enum err_code
etl_dq_hashset_add(struct etl_dq_hashset *s, uint64_t hash, bool many, struct err *err)
{
    uint64_t h = hash == 0 ? 1 : hash;
    if (s->cap > 0) {
        struct etl_dq_hashset_slot *slot = find(s->slots, s->cap, h);
        if (slot->hash == h) {
            if (slot->many == 0) {
                slot->many = 1;
                s->once--;
            }
            return ERR_OK;
        }
    }
    if (s->n >= s->max_entries) {
        s->overflowed = true;
        return ERR_OK;
    }
    if ((s->n + 1) * 2 > s->cap) {
        enum err_code rc = grow(s, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    struct etl_dq_hashset_slot *slot = find(s->slots, s->cap, h);
    slot->hash = h;
    slot->many = many ? 1 : 0;
    s->n++;
    s->once += many ? 0 : 1;
    return ERR_OK;
}

enum err_code
etl_dq_hashset_merge(struct etl_dq_hashset *dst, const struct etl_dq_hashset *src, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = 0; i < src->cap && rc == ERR_OK; i++) {
        if (src->slots[i].hash != 0) {
            rc = etl_dq_hashset_add(dst, src->slots[i].hash, src->slots[i].many != 0, err);
        }
    }
    dst->overflowed = dst->overflowed || src->overflowed;
    return rc;
}

static int cmp_slot(const void *a, const void *b)
{
    uint64_t x = ((const struct etl_dq_hashset_slot *)a)->hash;
    uint64_t y = ((const struct etl_dq_hashset_slot *)b)->hash;
    return x < y ? -1 : x > y;
}

/* Appends (gap, many) as one varint of the 65-bit number gap * 2 + many: 7 bits a byte, low bits
 * first, the high bit set on all but the last (LEB128). The first byte holds the flag and six
 * bits of the gap. */
static size_t put_entry(uint8_t *p, uint64_t gap, bool many)
{
    size_t n = 0;
    uint8_t b = (uint8_t)(((gap & 0x3f) << 1) | (many ? 1 : 0));
    gap >>= 6;
    for (;;) {
        p[n++] = b | (gap != 0 ? 0x80 : 0);
        if (gap == 0) {
            return n;
        }
        b = gap & 0x7f;
        gap >>= 7;
    }
}

static bool get_entry(const uint8_t *p, size_t n, size_t *pos, uint64_t *gap, bool *many)
{
    if (*pos >= n) {
        return false;
    }
    uint8_t b = p[(*pos)++];
    *many = (b & 1) != 0;
    uint64_t g = (b >> 1) & 0x3f;
    for (unsigned shift = 6; b & 0x80; shift += 7) {
        if (*pos >= n || shift > 62) {
            return false;
        }
        b = p[(*pos)++];
        uint64_t part = (uint64_t)(b & 0x7f);
        if (shift == 62 && part > 3) {
            return false; /* more than 64 bits */
        }
        g |= part << shift;
    }
    *gap = g;
    return true;
}

enum err_code
etl_dq_hashset_encode(const struct etl_dq_hashset *s, struct buf *out, struct err *err)
{
    if (s->n == 0) {
        return ERR_OK;
    }
    struct etl_dq_hashset_slot *sorted = malloc(s->n * sizeof(*sorted));
    /* a gap and its flag are 65 bits: at most 10 bytes */
    uint8_t *raw = malloc(s->n * 10);
    char *b64 = NULL;
    enum err_code rc = ERR_OK;
    if (sorted == NULL || raw == NULL) {
        rc = err_set(err, ERR_NOMEM, "dq: out of memory encoding %zu distinct values", s->n);
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i].hash != 0) {
            sorted[k++] = s->slots[i];
        }
    }
    qsort(sorted, k, sizeof(*sorted), cmp_slot);
    size_t len = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < k; i++) {
        len += put_entry(raw + len, sorted[i].hash - prev, sorted[i].many != 0);
        prev = sorted[i].hash;
    }
    size_t cap = 4 * ((len + 2) / 3) + 1;
    b64 = malloc(cap);
    if (b64 == NULL) {
        rc = err_set(err, ERR_NOMEM, "dq: out of memory encoding %zu distinct values", s->n);
        goto out;
    }
    digest_base64(raw, len, b64, cap);
    rc = buf_append_str(out, b64, err);
out:
    free(sorted);
    free(raw);
    free(b64);
    return rc;
}

enum err_code etl_dq_hashset_decode(struct etl_dq_hashset *s, struct cur b64, struct err *err)
{
    struct buf raw = BUF_INIT(BUF_NO_LIMIT);
    enum err_code rc = ERR_OK;
    if (b64.len == 0) {
        return ERR_OK;
    }
    if (!digest_is_base64((const char *)b64.ptr, b64.len)) {
        return err_set(err, ERR_INVALID_INPUT, "dq: a distinct-value set is not base64");
    }
    rc = digest_base64_decode((const char *)b64.ptr, b64.len, &raw, err);
    size_t pos = 0;
    uint64_t prev = 0;
    while (rc == ERR_OK && pos < raw.len) {
        uint64_t gap = 0;
        bool many = false;
        if (!get_entry(raw.data, raw.len, &pos, &gap, &many)) {
            rc = err_set(err, ERR_INVALID_INPUT, "dq: a distinct-value set is truncated");
        } else if (gap == 0 || prev + gap < prev) {
            /* ascending and distinct (0 is never stored), as encode writes them */
            rc = err_set(err, ERR_INVALID_INPUT, "dq: a distinct-value set is out of order");
        } else {
            prev += gap;
            rc = etl_dq_hashset_add(s, prev, many, err);
        }
    }
    buf_cleanup(&raw);
    return rc;
}
