/*
 * etl_colpath.h - column paths, as mappings and expressions name values: a column, then map
 * members and list elements inside it, e.g. address.city, items[0].sku, "Order Id".total.
 * List indexes count from 0, as DynamoDB's own document paths do. A name is bare
 * ([A-Za-z_][A-Za-z0-9_]*, case-sensitive) or double-quoted ("" inside stands for one quote).
 * Ownership: a path owns its segments and names (etl_colpath_cleanup).
 */
#ifndef ETL_COLPATH_H
#define ETL_COLPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "etl_value.h"

struct etl_colpath_seg {
    bool is_index;
    size_t index; /* is_index */
    char *name;   /* !is_index: unescaped UTF-8, NUL-terminated (names never hold NUL) */
    size_t name_len;
};

struct etl_colpath {
    struct etl_colpath_seg *segs; /* segs[0] is always a name: the column */
    size_t n;
};

/* Parses a whole path; errors name the 1-based column (counting UTF-8 characters, not bytes):
 * `column 7: expected a name after '.'`. Indexes above 1e9 are refused (no list is that long). */
MUST_CHECK enum err_code
etl_colpath_parse(struct cur text, struct etl_colpath *out, struct err *err);
/* Parses a path at the start of text and reports how many bytes it took (for the expression
 * parser); *used is 0 and ERR_OK when text does not start with a path. Error columns count from
 * the start of text. */
MUST_CHECK enum err_code
etl_colpath_parse_prefix(struct cur text, struct etl_colpath *out, size_t *used, struct err *err);
void etl_colpath_cleanup(struct etl_colpath *p);
/* The path as written back in canonical form (quoted only where needed). */
void etl_colpath_text(const struct etl_colpath *p, char *out, size_t cap);

/*
 * The value at p in a row (store at offset): the column named segs[0] (compared with the
 * column names unescaped), then members and elements inside its JSON rendering. A missing
 * column, member or element, or a segment that does not fit (an index into an object), is NULL.
 * The first column of that name wins (a renamed attribute is found by its row name, "_item_op"),
 * as does the first member of a name. Nothing is allocated except what etl_value_from_col or
 * etl_value_from_json decode into the arena; a column whose value does not fit its type is
 * that call's error.
 */
MUST_CHECK enum err_code etl_colpath_get(const struct etl_colpath *p,
                                         const struct buf *store,
                                         size_t offset,
                                         struct etl_arena *arena,
                                         struct etl_value *out,
                                         struct err *err);

#endif
