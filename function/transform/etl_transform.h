/*
 * etl_transform.h - runs a spec (etl_spec.h) on rows, the same way for the stream and snapshots.
 * For one source row (an item plus its metadata columns, etl_record.h):
 *   1. route: the first dataset whose `when` holds (no `when`: every row); none: UNROUTED
 *   2. mappings: each target from its source path, cast to its type (a value that does not
 *      cast follows the field's policy: null, keep its text, or reject the row: the value is
 *      null and the row goes on through every step, to be rejected as it would have been
 *      written unless the filter drops it; every failed cast is named); a missing or
 *      NULL source gives null; with keep_unmapped, the source's other columns follow as they
 *      are; metadata columns always come last
 *   3. flatten: map columns become name<sep>member columns down to the depth, deeper maps stay
 *      JSON text; a flattened name that is already a column leaves that column as it is
 *   4. constants, then derive (each expression sees the columns so far, earlier derives too)
 *   5. filter: the row is kept only when the condition is TRUE; else FILTERED
 *   6. rename, then select (metadata columns stay unless dropped), then drop: the output's shape
 *      comes last, so derive and filter can still read a column the output drops
 * The caller then dedupes and checks rules on that working row (etl_transform_env), and emits it
 * with the dataset's PII methods applied (etl_transform_emit): HMAC-SHA256 (hex) with the key,
 * a replacement text, or the first or last characters.
 * Ownership: the transform borrows the spec and copies the key (wiped at free). The working row
 *   borrows the source store and the transform's arena until the next row.
 * Threads: one transform per thread.
 */
#ifndef ETL_TRANSFORM_H
#define ETL_TRANSFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_expr.h"
#include "etl_row.h"
#include "etl_spec.h"

enum etl_tx_outcome {
    ETL_TX_KEEP = 0,
    ETL_TX_FILTERED, /* the dataset's filter did not hold */
    ETL_TX_UNROUTED, /* no dataset's `when` held, and none without one */
    ETL_TX_REJECTED, /* casts with policy reject failed: etl_transform_failures names them */
};

struct etl_tx_result {
    int dataset; /* index in the spec; -1 when UNROUTED */
    enum etl_tx_outcome outcome;
    size_t n_cast_failed;
    char reason[300]; /* the first failed cast, for messages */
};

struct etl_transform;

/* key: the PII key (may be NULL when the spec hashes nothing). */
MUST_CHECK enum err_code etl_transform_new(const struct etl_spec *spec,
                                           const uint8_t *key,
                                           size_t key_len,
                                           struct etl_transform **out,
                                           struct err *err);
/* Accepts NULL; wipes the key. */
void etl_transform_free(struct etl_transform *t);

/* Steps 1 to 6 on the source row; the working row is the result. A row error that is the
 * data's (an expression given a value it cannot take) is ERR_INVALID_INPUT: quarantine it. */
MUST_CHECK enum err_code etl_transform_apply(struct etl_transform *t,
                                             const struct etl_row_ref *src,
                                             struct etl_tx_result *res,
                                             struct err *err);
/* Makes a stored row (one etl_transform_store wrote) the working row again. */
MUST_CHECK enum err_code etl_transform_load(struct etl_transform *t,
                                            int dataset,
                                            const struct etl_row_ref *row,
                                            struct err *err);
/* Column lookups over the working row, for rules and dedupe keys. */
const struct etl_expr_env *etl_transform_env(struct etl_transform *t);
/* After a REJECTED apply: the JSON array of its failed casts' texts
 * ("CastFailed \"<target>\": <why>"); empty otherwise. Valid until the next apply. */
struct cur etl_transform_failures(const struct etl_transform *t);
/* Appends the working row to store as it is (no PII: a staged row). */
MUST_CHECK enum err_code
etl_transform_store(struct etl_transform *t, struct buf *store, size_t *offset, struct err *err);
/* Applies the dataset's PII methods to the working row, then appends it to store; extra (may be
 * NULL) is one more column written last, e.g. the rules a rejected row broke. */
MUST_CHECK enum err_code etl_transform_emit(struct etl_transform *t,
                                            const struct etl_col *extra,
                                            struct buf *store,
                                            size_t *offset,
                                            struct err *err);

/* The dedupe key of the working row in its dataset (its key columns' JSON joined by \x1f), into
 * out; false when the dataset dedupes on the record's DynamoDB key instead. */
MUST_CHECK enum err_code
etl_transform_dedupe_key(struct etl_transform *t, struct buf *out, bool *has_key, struct err *err);

#endif
