/*
 * etl_names.h - one name index: names (byte strings) to their insertion index, by open
 * addressing on cur_hash. The schema indexes attribute names with it, the CSV encoder its
 * header's columns, the Parquet writer its column chunks.
 * Ownership: the index borrows the names' bytes (their owner keeps them alive and unmoved while
 *   the index is used) and owns its arrays (etl_names_cleanup frees them).
 */
#ifndef ETL_NAMES_H
#define ETL_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct etl_names {
    struct cur *names; /* by index */
    size_t n;
    size_t cap;
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t n_slots;
};

void etl_names_init(struct etl_names *x);
void etl_names_cleanup(struct etl_names *x);
/* Forgets every name, keeping the arrays. */
void etl_names_reset(struct etl_names *x);

/* The index of name, or -1 when absent. */
long etl_names_find(const struct etl_names *x, struct cur name);
/* The index of name, adding it (as the next index) when absent; *added says which. */
MUST_CHECK enum err_code
etl_names_add(struct etl_names *x, struct cur name, size_t *index, bool *added, struct err *err);

#endif
