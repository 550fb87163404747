/*
 * etl_dq_hashset.h - the distinct values of a column (or of a tuple of columns) as a set of 64-bit
 * hashes, each with whether it was seen once or more often: enough for Uniqueness (values seen
 * exactly once), IsUnique, IsPrimaryKey and DistinctValuesCount, mergeable across segments and
 * serializable exactly.
 *   Collisions: two different values share a hash with probability 2^-64 per pair, so a set of
 *   n distinct values holds a collision with probability below n^2 / 2^65 (about 3e-8 for a
 *   million values): exact for any batch or segment in practice, and stated as such.
 *   Memory: 16 bytes per slot, at most half the slots used, so about 32 bytes per distinct
 *   value; a set holds at most max_entries values. Past that it stops growing and says so
 *   (etl_dq_hashset_overflowed); the rule reports ERROR rather than a wrong count.
 *   Serialization: the hashes in ascending order, each as the LEB128 varint of
 *   (gap from the previous hash) * 2 + (seen more than once), the whole in standard base64. A
 *   set is identical after a round trip, and merging sets is associative and commutative, so
 *   segment partials can be spilled and merged in any order.
 * Ownership: a set owns its table (etl_dq_hashset_cleanup).
 * Threads: one owner at a time.
 */
#ifndef ETL_DQ_HASHSET_H
#define ETL_DQ_HASHSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct etl_dq_hashset_slot {
    uint64_t hash; /* 0: empty (a value hashing to 0 is stored as 1) */
    uint64_t many; /* seen more than once (a word keeps the slot aligned; only 0 or 1) */
};

struct etl_dq_hashset {
    struct etl_dq_hashset_slot *slots;
    size_t cap;  /* slots, a power of two (0 before the first insert) */
    size_t n;    /* distinct hashes */
    size_t once; /* of them, seen exactly once */
    size_t max_entries;
    bool overflowed; /* an insert was refused: the counts are a lower bound */
};

void etl_dq_hashset_init(struct etl_dq_hashset *s, size_t max_entries);
/* Accepts NULL and zeroed sets. */
void etl_dq_hashset_cleanup(struct etl_dq_hashset *s);

/* The 64-bit hash the set uses: bytes read as little-endian words, each mixed with MurmurHash3's
 * 64-bit finalizer (fmix64), so the result is the same on every host. */
uint64_t etl_dq_hashset_hash(const void *p, size_t n);

/* Counts one occurrence of hash (once more when `many`: a merged set's value seen twice or
 * more). ERR_NOMEM only; a full set sets overflowed and returns ERR_OK. */
MUST_CHECK enum err_code
etl_dq_hashset_add(struct etl_dq_hashset *s, uint64_t hash, bool many, struct err *err);
/* Adds every value of src into dst. */
MUST_CHECK enum err_code
etl_dq_hashset_merge(struct etl_dq_hashset *dst, const struct etl_dq_hashset *src, struct err *err);
static inline bool etl_dq_hashset_overflowed(const struct etl_dq_hashset *s)
{
    return s->overflowed;
}

/* Appends the set's base64 form (see the header comment; "" for an empty set). */
MUST_CHECK enum err_code
etl_dq_hashset_encode(const struct etl_dq_hashset *s, struct buf *out, struct err *err);
/* Adds the values of a base64 form into s; ERR_INVALID_INPUT when it is not one. */
MUST_CHECK enum err_code
etl_dq_hashset_decode(struct etl_dq_hashset *s, struct cur b64, struct err *err);

#endif
