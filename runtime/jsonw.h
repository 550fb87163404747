/*
 * jsonw.h - a small streaming JSON writer with a sticky error, for checkpoints, manifests and
 * answers: containers, keys and values are appended to a buf in order, with separators and
 * indentation chosen per container (compact, spaced or pretty).
 * Ownership: a jsonw borrows its buf and err for its life; it allocates nothing itself (the buf
 *   grows as buf_append does). jsonw_init needs no cleanup.
 * Errors: the first failure (the buf's max, ERR_TOO_LARGE; a misuse such as a value without its
 *   key, ERR_INVALID_INPUT) is kept in rc and *err, and every later call is a no-op, so a writer
 *   can make many calls and check once, at jsonw_finish. After an error the buf holds a partial
 *   document: discard it.
 * Format: strings are escaped as buf_append_json_str does. COMPACT is {"a":1,"b":[1,2]}; SPACED
 *   is {"a": 1, "b": 2}; PRETTY puts each member or element on its own line, indented two spaces
 *   per open container, ": " after keys, and the closing bracket on its own line at the
 *   container's own indentation, even when it is empty ("[\n  ]" one level down). A container's
 *   style governs what goes between its own members; a nested container has its own.
 * Threads: a jsonw has one owner at a time.
 */
#ifndef ETL_JSONW_H
#define ETL_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

enum jsonw_style { JSONW_COMPACT, JSONW_SPACED, JSONW_PRETTY };

#define JSONW_MAX_DEPTH 32

struct jsonw {
    struct buf *out;  /* borrowed */
    struct err *err;  /* borrowed; may be NULL */
    enum err_code rc; /* the first error; ERR_OK until then */
    int depth;        /* open containers */
    enum jsonw_style style[JSONW_MAX_DEPTH];
    bool first[JSONW_MAX_DEPTH];  /* nothing written in this container yet */
    bool object[JSONW_MAX_DEPTH]; /* an object (members need keys), else an array */
    bool after_key;               /* a key was written; its value comes next */
};

void jsonw_init(struct jsonw *w, struct buf *out, struct err *err);

/* Begins an object where a value goes (top level, array element, or after a key). */
void jsonw_object(struct jsonw *w, enum jsonw_style style);
void jsonw_array(struct jsonw *w, enum jsonw_style style);
/* Closes the innermost container. */
void jsonw_end(struct jsonw *w);
/* Member name, escaped as a JSON string; only directly inside an object, and a value follows. */
void jsonw_key(struct jsonw *w, const char *key);

/* A JSON string; NULL writes null. */
void jsonw_str(struct jsonw *w, const char *s);
/* n bytes of s as a JSON string (NUL bytes escaped); NULL writes null. */
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_i64(struct jsonw *w, int64_t v);
void jsonw_u64(struct jsonw *w, uint64_t v);
/* v with fmt, a printf format holding one conversion of a double and nothing else:
 * "%[.P][l]f|e|E|g|G", precision 0 to 99 (e.g. "%.1f", "%.17g"); any other format is
 * ERR_INVALID_INPUT. Non-finite values (NaN, infinities) write null. */
void jsonw_double(struct jsonw *w, const char *fmt, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* A value that is already JSON text, copied as is (not checked); empty is ERR_INVALID_INPUT. */
void jsonw_raw(struct jsonw *w, struct cur json);
/* Literal bytes between top-level values, e.g. "\n" for JSON Lines; inside a container or after a
 * key it is ERR_INVALID_INPUT. */
void jsonw_text(struct jsonw *w, const char *text);

/* Records a failure found outside the writer (e.g. while preparing a value), so the document
 * fails as a whole; the first error is kept. */
void jsonw_fail(struct jsonw *w, const struct err *e);

/* The first error, if any; otherwise ERR_INVALID_INPUT (and *err says which) when a container is
 * still open or a key lacks its value, else ERR_OK. */
MUST_CHECK enum err_code jsonw_finish(struct jsonw *w);

#endif
