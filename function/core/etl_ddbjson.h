/*
 * etl_ddbjson.h - exact unmarshalling of DynamoDB JSON (S, N, B, BOOL, NULL, M, L, SS, NS, BS)
 * into plain JSON: N keeps its digits (never through a double; at most 38 significant digits),
 * B and BS stay base64 strings, sets become arrays, nesting is limited to DynamoDB's 32 levels,
 * and strings are copied as the JSON literals they arrived as, so UTF-8 is untouched.
 * Ownership: inputs are borrowed spans of validated JSON; output is appended to the caller's buf.
 * Errors: ERR_INVALID_INPUT naming the attribute path, e.g. `attribute "a.b[2]": N has 41
 *   significant digits (max 38)`; the output may then hold a partial value (callers truncate).
 */
#ifndef ETL_DDBJSON_H
#define ETL_DDBJSON_H

#include "buf.h"
#include "err.h"
#include "etl_row.h"
#include "json.h"

#define ETL_DDB_MAX_DEPTH  32 /* DynamoDB: nested attributes up to 32 levels */
#define ETL_DDB_MAX_DIGITS 38 /* DynamoDB: numbers have up to 38 digits of precision */
#define ETL_PATH_MAX       256
/* The attribute, then one step per level of nesting (at most 33 before the depth check fails),
 * then a set member. */
#define ETL_PATH_SEGMENTS (ETL_DDB_MAX_DEPTH + 4)

/*
 * The attribute path of error messages, kept as the steps taken (names are borrowed spans of the
 * item) and written out only when an error reports it: most values convert, and printing the
 * path at every step cost more than converting them.
 */
struct etl_path_seg {
    struct cur name; /* a member's name, still escaped; ptr NULL for an index */
    size_t index;
};

struct etl_path {
    struct etl_path_seg seg[ETL_PATH_SEGMENTS];
    size_t n; /* steps taken; those past ETL_PATH_SEGMENTS are counted, not kept */
};

void etl_path_init(struct etl_path *p);
/* The path as text, e.g. "a.b[2]" (a name is cut at 80 bytes, the whole at cap - 1). */
void etl_path_format(const struct etl_path *p, char *out, size_t cap);

/* Appends one typed value as plain JSON; *type says which DynamoDB type it had. depth starts
 * at 1. */
MUST_CHECK enum err_code etl_ddbjson_value(const struct json_val *typed,
                                           struct buf *out,
                                           enum etl_type *type,
                                           int depth,
                                           struct etl_path *path,
                                           struct err *err);

/*
 * Appends an item's attributes ({"name": {"S": ...}, ...}) as columns of the row being built.
 * Attributes of `keys` (may be NULL) missing from item are added too, so every row carries its
 * key. An attribute whose name is in `reserved` (NULL-terminated), or is such a name after one
 * or more "_item" prefixes, becomes "_item<name>", flagged ETL_COL_RENAMED: "_op" is written
 * "_item_op", "_item_op" is written "_item_item_op", and no two attributes share a column.
 */
/* True when an attribute named `name` (unescaped) is written as "_item<name>" (above). */
bool etl_ddbjson_escaped(struct cur name, const char *const *reserved);

MUST_CHECK enum err_code etl_ddbjson_item_columns(struct etl_row_builder *b,
                                                  const struct json_val *item,
                                                  const struct json_val *keys,
                                                  const char *const *reserved,
                                                  struct err *err);

/* The same for the item the iterator `at` stands at, read as the walk reaches it (json.h's
 * checking iterators included); `at` moves past it. On an error `at` is left anywhere: the
 * caller reads the item again from a copy taken before it. */
MUST_CHECK enum err_code etl_ddbjson_item_columns_at(struct etl_row_builder *b,
                                                     struct json_iter *at,
                                                     const struct json_val *keys,
                                                     const char *const *reserved,
                                                     struct err *err);

/*
 * Appends a DynamoDB number string as a JSON number with the same digits: "+1" -> "1",
 * "007.50" -> "7.50", ".5" -> "0.5", "5." -> "5"; exponents kept. Rejects non-numbers,
 * NaN/Infinity and more than 38 significant digits.
 */
MUST_CHECK enum err_code etl_ddbjson_number(struct cur text, struct buf *out, struct err *err);

#endif
