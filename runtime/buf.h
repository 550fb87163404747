/*
 * buf.h - owned growable bytes (struct buf) and borrowed byte ranges (struct cur).
 * Ownership: a buf owns data; buf_cleanup() frees it. A cur borrows and never frees.
 * Contract: data is always NUL-terminated after len when cap > 0, so text can be read as a
 * C string; growth is max(2 x cap, needed), overflow-checked; going past max is ERR_TOO_LARGE.
 * Threads: a buf has one owner at a time.
 */
#ifndef ETL_BUF_H
#define ETL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* ceiling for len; 0 or SIZE_MAX for none (a zeroed buf is unlimited) */
};

struct cur {
    const uint8_t *ptr;
    size_t len;
};

#define BUF_NO_LIMIT SIZE_MAX
#define BUF_INIT(max_b)                                                                            \
    {                                                                                              \
        NULL, 0, 0, (max_b)                                                                        \
    }

void buf_init(struct buf *b, size_t max_bytes);
/* Frees the bytes and zeroes the struct (max is kept). Accepts NULL and zeroed bufs. */
void buf_cleanup(struct buf *b);
/* Like buf_cleanup, but wipes the bytes first (key material). */
void buf_cleanup_secure(struct buf *b);
/* Empties without freeing (capacity kept). */
void buf_reset(struct buf *b);

/* Ensures room for extra more bytes (plus the NUL). */
MUST_CHECK enum err_code buf_reserve(struct buf *b, size_t extra, struct err *err);
MUST_CHECK enum err_code buf_append(struct buf *b, const void *p, size_t n, struct err *err);
MUST_CHECK enum err_code buf_append_str(struct buf *b, const char *s, struct err *err);
MUST_CHECK enum err_code buf_append_byte(struct buf *b, uint8_t c, struct err *err);
MUST_CHECK enum err_code buf_append_cur(struct buf *b, struct cur c, struct err *err);
MUST_CHECK enum err_code buf_printf(struct buf *b, struct err *err, const char *fmt, ...)
    PRINTF_FMT(3, 4);
/* Appends n as decimal. */
MUST_CHECK enum err_code buf_append_i64(struct buf *b, int64_t n, struct err *err);
/* Appends the bytes as lowercase hex. */
MUST_CHECK enum err_code buf_append_hex(struct buf *b, const uint8_t *p, size_t n, struct err *err);
/* Appends s as a JSON string literal, quotes included (control chars escaped; UTF-8 kept). */
MUST_CHECK enum err_code
buf_append_json_str(struct buf *b, const char *s, size_t n, struct err *err);
/* Writes the UTF-8 form of a Unicode scalar value (at most 0x10FFFF, not a surrogate) into out;
 * returns its length, 1 to 4. */
size_t buf_utf8_encode(uint32_t cp, uint8_t out[4]);
/* Marks n bytes written in place after buf_reserve (like sdsIncrLen). */
void buf_commit(struct buf *b, size_t n);
/* Drops bytes from the end so that len == new_len (new_len <= len). */
void buf_truncate(struct buf *b, size_t new_len);

/* NUL-terminated view of the bytes ("" for an empty buf). */
const char *buf_cstr(const struct buf *b);
struct cur buf_cur(const struct buf *b);

/* Moves the bytes out as a NUL-terminated string the caller frees; b becomes empty. */
MUST_CHECK enum err_code buf_take_str(struct buf *b, char **out, struct err *err);

struct cur cur_from_str(const char *s);
/* Inline: called per JSON member and per DynamoDB type descriptor, mostly with a literal, whose
 * strlen and memcmp the compiler then folds into a length check and a compare. cur_eq_str
 * compares the first byte before it measures s: callers that walk a table of names (a record's
 * members, the reserved column names) mostly differ there. */
static inline struct cur cur_make(const void *p, size_t n)
{
    struct cur c = {(const uint8_t *)p, n};
    return c;
}
static inline bool cur_eq_str(struct cur c, const char *s)
{
    if (c.len == 0) {
        return s[0] == '\0';
    }
    if ((char)c.ptr[0] != s[0]) {
        return false;
    }
    size_t n = strlen(s);
    return c.len == n && memcmp(c.ptr, s, n) == 0;
}
/* True if a and b hold the same bytes. */
static inline bool cur_eq(struct cur a, struct cur b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}
bool cur_eq_nocase(struct cur c, const char *s);
bool cur_starts_with(struct cur c, const char *prefix);
/* Trims ASCII spaces and tabs (and CR/LF) at both ends. */
struct cur cur_trim(struct cur c);
/* Parses a whole cur as a non-negative decimal int64 (no sign, no spaces). */
bool cur_to_i64(struct cur c, int64_t *out);
/* Copies into a fixed array as a C string; false if it does not fit (dst gets ""). */
bool cur_copy_to(struct cur c, char *dst, size_t cap);
/* Duplicates as a malloc'd C string; NULL on allocation failure. */
char *cur_strdup(struct cur c);

/* 32-bit FNV-1a of the bytes: a hash for in-memory name indexes (not for anything stored). */
uint32_t cur_hash(struct cur c);

/* Room for one more element in a growing array of *cap elements, n of them used: when n ==
 * *cap, reallocates to first_cap, then twice *cap, and updates *cap. Returns the array (moved
 * or not), or NULL when memory or size_t runs out: the old array is then untouched and still
 * the caller's. */
void *mem_grow(void *array, size_t *cap, size_t n, size_t elem_size, size_t first_cap);

#endif
