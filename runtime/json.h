/*
 * json.h - a validating, zero-copy JSON scanner: values are spans of the original text.
 * Use it on data paths (events, scan pages) where a cJSON tree would cost several times the
 * payload; cJSON stays for small control documents.
 * Ownership: a json_val borrows the text it was found in; nothing here allocates except
 *   json_string_unescape (into the caller's buf).
 * Contract: json_validate() checks RFC 8259 syntax, UTF-8 and a nesting limit once; the
 *   iterators and getters then walk that validated text (they stay in bounds on any input, but
 *   only validated text gives meaningful answers). Or the iterators check as they walk, and
 *   one walk does both (json_check_begin, below).
 */
#ifndef ETL_JSON_H
#define ETL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

struct json_check;

struct json_iter {
    const uint8_t *p;
    const uint8_t *end;
    struct json_check *chk; /* NULL: the text was validated; else checked as walked */
    int depth;              /* checked: containers open, the iterated one included */
    uint8_t state;          /* checked: what the grammar expects at p */
    bool object;            /* checked: iterating an object's members */
};

/* Starts iterating an object's members or an array's elements. */
void json_iter_init(struct json_iter *it, const struct json_val *container);
bool json_object_next(struct json_iter *it, struct json_val *key, struct json_val *value);
bool json_array_next(struct json_iter *it, struct json_val *value);

/*
 * Reading a value as the iterator reaches it, in one walk: json_object_next finds a member's
 * value's end by scanning it, and a caller that then iterates that value scans it again. Instead:
 * json_object_next_key reads a member's name and leaves the iterator at its value;
 * json_iter_peek tells the next value's type without moving past it (false at the end);
 * json_array_next then reads it (a member's value too) as json_object_next would have;
 * json_iter_enter starts iterating it (an object or array) without looking for its end: the
 * inner iterator stops at the closing bracket; json_iter_leave, once the inner iterator has
 * returned false, moves the outer one past that bracket. On validated text the answers are those of
 * json_object_next and json_iter_init on the same value (unvalidated text: in bounds, nothing more,
 * as for the other iterators). json_iter_single makes an iterator whose only value is the given
 * one.
 */
bool json_object_next_key(struct json_iter *it, struct json_val *key);
bool json_iter_peek(struct json_iter *it, enum json_type *type);
/* type: JSON_OBJECT or JSON_ARRAY; false (and nothing consumed) if the next value is not one. */
bool json_iter_enter(struct json_iter *it, enum json_type type, struct json_iter *inner);
void json_iter_leave(struct json_iter *it, const struct json_iter *inner);
void json_iter_single(struct json_iter *it, const struct json_val *value);
size_t json_count(const struct json_val *container);

/*
 * Checking as walking: one walk where json_validate and then the iterators took two.
 * json_check_begin gives an iterator whose only value is the whole (unvalidated) text; from it,
 * json_iter_peek, json_iter_enter/leave, json_object_next_key, json_array_next and
 * json_object_next check every byte they pass, exactly as json_validate does:
 *  - a value read whole (json_array_next, json_object_next) is validated whole, so it may then
 *    be read with the other functions as validated text;
 *  - a container entered is checked by its inner iterator, which must be walked until it returns
 *    false before json_iter_leave;
 *  - the first syntax error stops the walk (every checked call returns false from then on) and is
 *    kept in chk->err.
 * json_check_end, once the root value is read or left, checks what follows it and tells whether
 * the text is valid JSON. Errors come in text order, so the error is json_validate's on the same
 * text, message and byte offset alike, provided the walk covered every byte: a caller that stops
 * inside a container reads it again whole from a copy of the iterator taken before it.
 * Ownership: iterators point at chk, which must outlive them; copying chk means pointing the
 * copied iterators at the copy.
 */
struct json_check {
    const uint8_t *start;
    const uint8_t *end;
    int max_depth;
    bool failed;
    struct err err; /* the first syntax error, when failed */
};

void json_check_begin(struct json_check *chk,
                      struct cur text,
                      int max_depth,
                      struct json_iter *root);
/* True if the walk found no error and only whitespace follows the root value. */
bool json_check_end(struct json_check *chk, const struct json_iter *root);

/* The first member named key (compared after unescaping); false if absent or not an object.
 * *out is unspecified after false (the look-up reads members into it as it goes). */
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
/* The type of the validated JSON value that text starts with (JSON_NULL for empty text). */
enum json_type json_type_of(struct cur text);

/* True if s[0..n) matches the JSON number grammar exactly. */
bool json_is_number(const char *s, size_t n);

#endif
