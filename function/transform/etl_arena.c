/*
 * etl_arena.c - chained blocks; a request larger than a block gets a block of its own.
 */
#include "etl_arena.h"

#include <stdlib.h>
#include <string.h>

void etl_arena_init(struct etl_arena *a, size_t max_bytes)
{
    memset(a, 0, sizeof(*a));
    a->max_bytes = max_bytes;
}

static void free_chain(struct etl_arena_block *b)
{
    while (b != NULL) {
        struct etl_arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void etl_arena_cleanup(struct etl_arena *a)
{
    if (a == NULL) {
        return;
    }
    free_chain(a->head);
    a->head = NULL;
    a->bytes = 0;
}

void etl_arena_reset(struct etl_arena *a)
{
    if (a->head == NULL) {
        return;
    }
    free_chain(a->head->next);
    a->head->next = NULL;
    a->head->used = 0;
    a->bytes = a->head->cap;
}

enum err_code etl_arena_alloc(struct etl_arena *a, size_t n, uint8_t **out, struct err *err)
{
    size_t need = (n + 7) & ~(size_t)7;
    if (need < n) {
        return err_set(err, ERR_TOO_LARGE, "arena: %zu bytes", n);
    }
    struct etl_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < need) {
        size_t cap = need > ETL_ARENA_BLOCK_BYTES ? need : ETL_ARENA_BLOCK_BYTES;
        if (a->max_bytes != 0 && (a->bytes + cap > a->max_bytes || a->bytes + cap < a->bytes)) {
            return err_set(err, ERR_TOO_LARGE, "arena: over %zu bytes for one row", a->max_bytes);
        }
        b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            return err_set(err, ERR_NOMEM, "out of memory in an arena");
        }
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        a->bytes += cap;
    }
    *out = (uint8_t *)(b + 1) + b->used;
    b->used += need;
    return ERR_OK;
}

enum err_code
etl_arena_copy(struct etl_arena *a, const void *p, size_t n, struct cur *out, struct err *err)
{
    uint8_t *dst = NULL;
    enum err_code rc = etl_arena_alloc(a, n > 0 ? n : 1, &dst, err);
    if (rc == ERR_OK) {
        if (n > 0) {
            memcpy(dst, p, n);
        }
        *out = cur_make(dst, n);
    }
    return rc;
}
