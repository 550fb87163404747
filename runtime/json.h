/*
 * json.h - a validating, zero-copy JSON scanner: values are spans of the original text.
 * Use it on data paths (events, scan pages) where a cJSON tree would cost several times the
 * payload; cJSON stays for small control documents.
 * Ownership: a json_val borrows the text it was found in; nothing here allocates except
 *   json_string_unescape (into the caller's buf).
 * Contract: json_validate() checks RFC 8259 syntax, UTF-8 and a nesting limit once; the
 *   iterators and getters then walk that validated text (they stay in bounds on any input, but
 *   only validated text gives meaningful answers).
 */
#ifndef ETL_JSON_H
#define ETL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

struct json_val {
    enum json_type type;
    struct cur raw; /* the exact text: quotes included for strings, brackets for containers */
};

/* Validates text as one JSON value (surrounding whitespace allowed); *root spans it. */
MUST_CHECK enum err_code
json_validate(struct cur text, int max_depth, struct json_val *root, struct err *err);

struct json_iter {
    const uint8_t *p;
    const uint8_t *end;
};

/* Starts iterating an object's members or an array's elements. */
void json_iter_init(struct json_iter *it, const struct json_val *container);
bool json_object_next(struct json_iter *it, struct json_val *key, struct json_val *value);
bool json_array_next(struct json_iter *it, struct json_val *value);
size_t json_count(const struct json_val *container);

/* The first member named key (compared after unescaping); false if absent or not an object. */
bool json_object_get(const struct json_val *obj, const char *key, struct json_val *out);
/* Like json_object_get, but the member must have the given type. */
bool json_object_get_type(const struct json_val *obj,
                          const char *key,
                          enum json_type type,
                          struct json_val *out);

/* True if the string value equals s (compared after unescaping). */
bool json_string_eq(const struct json_val *str, const char *s);
/* The bytes between the quotes, still escaped. */
struct cur json_string_inner(const struct json_val *str);
/* True if the string has no backslash escapes (its inner bytes are its value). */
bool json_string_is_plain(const struct json_val *str);
/* Appends the unescaped UTF-8 value of a string. */
MUST_CHECK enum err_code
json_string_unescape(const struct json_val *str, struct buf *out, struct err *err);
/* Copies the unescaped value into a fixed array; false if it does not fit or is not a string. */
bool json_string_copy(const struct json_val *str, char *dst, size_t cap);

const char *json_type_name(enum json_type type);

/* True if s[0..n) matches the JSON number grammar exactly. */
bool json_is_number(const char *s, size_t n);

#endif
