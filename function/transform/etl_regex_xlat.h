/*
 * etl_regex_xlat.h - the translation behind etl_regex: a Java pattern rewritten as a POSIX
 * extended one that matches the same strings, or refused (etl_regex.h says what is translated,
 * what is refused and why). Kept apart from compiling and matching so it can be read, and
 * tested through etl_regex, as the one place where the two syntaxes meet.
 * Ownership: writes into the caller's buf.
 */
#ifndef ETL_REGEX_XLAT_H
#define ETL_REGEX_XLAT_H

#include "etl_regex.h"

/* Appends the POSIX form of pattern to posix and fills re's icase, n_groups, group_map and
 * n_posix. A refused construct is ERR_INVALID_INPUT ("regex: lookahead (?= is not supported")
 * with *where at its byte offset. */
MUST_CHECK enum err_code etl_regex_xlat(struct cur pattern,
                                        struct buf *posix,
                                        struct etl_regex *re,
                                        size_t *where,
                                        struct err *err);

#endif
