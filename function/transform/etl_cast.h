/*
 * etl_cast.h - casts between value kinds and the spec's column types. A cast never rounds,
 * truncates or wraps: a value that does not fit the type exactly does not cast, and the caller
 * applies the field's policy (null, keep as string, or reject the row).
 *   string     anything but NULL, as etl_value_text writes it
 *   bigint, int, smallint, tinyint
 *              an integral NUMBER or DOUBLE in range, a STRING holding one, BOOL (1 or 0);
 *              written as a plain integer ("1E+2" -> 100, "-0" -> 0)
 *   decimal(p,s) a NUMBER, DOUBLE (its shortest text) or number STRING that fits exactly with s
 *              digits after the point and p in all: written with exactly s decimals ("12.5" ->
 *              "12.50" for decimal(10,2)); "12.345" does not cast to decimal(10,2)
 *   double, float  a NUMBER, number STRING or DOUBLE (float: rounded to single precision)
 *   boolean    BOOL; NUMBER 0 or 1; STRING true/false/1/0 (case-insensitive)
 *   timestamp  TIMESTAMP; DATE (its midnight); NUMBER or DOUBLE epoch time (seconds when its
 *              magnitude is below 1e11, else milliseconds; a fraction of a millisecond does not
 *              cast); STRING in ISO-8601 (date, date and time with 'T' or ' ', optional seconds,
 *              fraction, 'Z' or an offset; no zone means UTC) -> epoch ms UTC
 *   date       DATE; TIMESTAMP (its UTC day); STRING "YYYY-MM-DD" or an ISO-8601 time; NUMBER
 *              epoch time as for timestamp
 *   binary     BINARY; STRING (its UTF-8 bytes)
 *   array<T>   a JSON array (an L or a set) whose every element casts to T
 *   map<string,T>  a JSON object (an M) whose every value casts to T
 * NULL casts to NULL for every type.
 * Result kinds: string STRING; the integers and decimal NUMBER (plain digits in JSON grammar);
 * double and float DOUBLE; boolean BOOL; timestamp TIMESTAMP; date DATE; binary BINARY; array
 * and map JSON (the elements cast and rendered, map keys kept as written).
 * Details: number texts are taken as etl_decimal_parse takes them ("+5", "1E+2", "12.0" cast to
 * bigint; " 12" does not: nothing is trimmed); a STRING cast to double must be a number in that
 * grammar (Trino's 'NaN' and 'Infinity' are refused, as they would render as null); a DOUBLE
 * NaN or infinity casts only to double and string; BINARY to string is its base64 (Trino
 * decodes UTF-8).
 * Ownership: results borrow the input or live in the arena (nothing else is allocated, arrays
 * and maps included).
 */
#ifndef ETL_CAST_H
#define ETL_CAST_H

#include "err.h"
#include "etl_typespec.h"
#include "etl_value.h"

/* ERR_INVALID_INPUT when in does not cast; the message says why ("12.345 does not fit
 * decimal(10,2) exactly", "\"abc\" is not a number: it does not cast to bigint", "300 is out of
 * range for tinyint", "cannot cast BOOL true to date", "element 1: ..."). */
MUST_CHECK enum err_code etl_cast(const struct etl_value *in,
                                  const struct etl_typespec *to,
                                  struct etl_arena *arena,
                                  struct etl_value *out,
                                  struct err *err);

#endif
