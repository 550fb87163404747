/*
 * etl_like.h - SQL's LIKE as Trino has it: '%' matches any run of characters, '_' exactly one
 * (a code point, not a byte), everything else itself, case-sensitively; an ESCAPE character
 * makes the next '%', '_' or escape character literal. Matching is anchored at both ends, runs
 * on UTF-8 without allocating, and takes O(text x pattern) time at worst (one '%' is
 * backtracked at a time, never exponentially).
 * Ownership: plain values.
 */
#ifndef ETL_LIKE_H
#define ETL_LIKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ETL_LIKE_NO_ESCAPE UINT32_MAX

/*
 * Checks an escape string and a pattern: the escape must be one character ("ESCAPE must be a
 * single character"), and in the pattern it must be followed by '%', '_' or itself, as Trino
 * requires. *escape_cp is the escape's code point (ETL_LIKE_NO_ESCAPE when escape is NULL); on
 * error *where is the byte offset in the pattern (0 for the escape string itself).
 */
MUST_CHECK enum err_code etl_like_check(struct cur pattern,
                                        const struct cur *escape,
                                        uint32_t *escape_cp,
                                        size_t *where,
                                        struct err *err);
/* True if the whole text matches a checked pattern. */
bool etl_like_match(struct cur text, struct cur pattern, uint32_t escape_cp);

#endif
