/*
 * etl_names.c - the name index. The table stays at most half full, so probes are short.
 */
#include "etl_names.h"

#include <stdlib.h>
#include <string.h>

void etl_names_init(struct etl_names *x)
{
    memset(x, 0, sizeof(*x));
}

void etl_names_cleanup(struct etl_names *x)
{
    if (x == NULL) {
        return;
    }
    free(x->names);
    free(x->slots);
    memset(x, 0, sizeof(*x));
}

void etl_names_reset(struct etl_names *x)
{
    x->n = 0;
    if (x->slots != NULL) {
        memset(x->slots, 0, x->n_slots * sizeof(*x->slots));
    }
}

/* The slot holding name, or the empty slot where it would go. */
static size_t probe(const struct etl_names *x, struct cur name)
{
    size_t mask = x->n_slots - 1;
    size_t j = cur_hash(name) & mask;
    while (x->slots[j] != 0 && !cur_eq(x->names[x->slots[j] - 1], name)) {
        j = (j + 1) & mask;
    }
    return j;
}

long etl_names_find(const struct etl_names *x, struct cur name)
{
    if (x->n_slots == 0) {
        return -1;
    }
    uint32_t s = x->slots[probe(x, name)];
    return s != 0 ? (long)s - 1 : -1;
}

static enum err_code rehash(struct etl_names *x, size_t n_slots, struct err *err)
{
    uint32_t *slots = calloc(n_slots, sizeof(*slots));
    if (slots == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory in a name index");
    }
    free(x->slots);
    x->slots = slots;
    x->n_slots = n_slots;
    for (size_t i = 0; i < x->n; i++) {
        x->slots[probe(x, x->names[i])] = (uint32_t)(i + 1);
    }
    return ERR_OK;
}

enum err_code
etl_names_add(struct etl_names *x, struct cur name, size_t *index, bool *added, struct err *err)
{
    *added = false;
    if ((x->n + 1) * 2 > x->n_slots) {
        if (x->n >= UINT32_MAX / 2) {
            return err_set(err, ERR_TOO_LARGE, "name index full");
        }
        enum err_code rc = rehash(x, x->n_slots == 0 ? 64 : x->n_slots * 2, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    size_t j = probe(x, name);
    if (x->slots[j] != 0) {
        *index = x->slots[j] - 1;
        return ERR_OK;
    }
    struct cur *names = mem_grow(x->names, &x->cap, x->n, sizeof(*names), 32);
    if (names == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory in a name index");
    }
    x->names = names;
    x->names[x->n] = name;
    x->slots[j] = (uint32_t)(x->n + 1);
    *index = x->n++;
    *added = true;
    return ERR_OK;
}
