/*
 * etl_arena.h - stable storage for the values a transform or a rule computes for one row: bytes
 * handed out never move (blocks are chained, not reallocated), so a value pointing into them
 * stays valid until the arena is reset for the next row.
 * Ownership: the arena owns its blocks (etl_arena_cleanup frees them); reset keeps one for reuse.
 * Threads: one owner at a time.
 */
#ifndef ETL_ARENA_H
#define ETL_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ETL_ARENA_BLOCK_BYTES (64 * 1024)

struct etl_arena_block {
    struct etl_arena_block *next;
    size_t cap;
    size_t used;
    /* the bytes follow */
};

struct etl_arena {
    struct etl_arena_block *head; /* the block being filled; older ones follow */
    size_t bytes;                 /* held in all blocks */
    size_t max_bytes;             /* ceiling: ERR_TOO_LARGE past it; 0 = none */
};

void etl_arena_init(struct etl_arena *a, size_t max_bytes);
/* Frees everything; accepts NULL and zeroed arenas. */
void etl_arena_cleanup(struct etl_arena *a);
/* Forgets every allocation (invalidating them) and keeps the newest block. */
void etl_arena_reset(struct etl_arena *a);
/* n bytes, 8-byte aligned, that stay put until reset or cleanup. */
MUST_CHECK enum err_code
etl_arena_alloc(struct etl_arena *a, size_t n, uint8_t **out, struct err *err);
/* A copy of n bytes at p. */
MUST_CHECK enum err_code
etl_arena_copy(struct etl_arena *a, const void *p, size_t n, struct cur *out, struct err *err);

#endif
