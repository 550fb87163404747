/*
 * etl_dq_partial.h - what the rows of a batch or snapshot segment showed each rule, in a form
 * that merges: a partial per thread or segment, merged in any order and any grouping, gives the
 * same aggregates as one pass over all the rows (counts, exact decimal sums, distinct-value sets
 * exactly; means and standard deviations within rounding, merged with Chan's parallel formula
 * from count, mean and M2 in long double). Snapshots save each segment's partial in its
 * checkpoint as JSON and merge them at commit.
 *
 * JSON (etl_dq_partial_to_json), one entry per leaf rule in ruleset order:
 *   {"version":1,"rows":12,"rows_failed":1,"leaves":[
 *     {"rule":"IsComplete \"id\"","rows":12,"pass":11,"null_fail":1,"nonnull":[11]},
 *     {"rule":"Sum \"amount\" > 0","rows":12,"pass":0,"null_fail":0,"nonnull":[12],
 *      "n":12,"bad":0,"sum":"0.1234E4","sum_ld":"1234","mean":"102.83333333333333333",
 *      "m2":"52.916666666666666664"},
 *     {"rule":"IsUnique \"id\"","rows":12,...,"grouped":12,
 *      "distinct":{"n":12,"once":12,"hashes":"<base64>"}},
 *     {"rule":"ColumnValues \"p\" > 0","rows":12,...,"min":0.5,"max":99.25},
 *     ... "errors":1,"first_error":"where clause: ..." when rows could not be evaluated
 *   ]}
 *   Counts are integers; "sum" is the exact decimal sum (0.<digits>E<exp>), absent once it
 *   needed more than 38 digits ("sum_inexact":true); long doubles are strings with
 *   LDBL_DECIMAL_DIG significant digits and doubles numbers with 17, so both read back to the
 *   same bits; "hashes" is etl_dq_hashset_encode's form. A partial from another ruleset (a
 *   different number of leaves or another rule text) is refused.
 *
 * Ownership: a partial borrows its rules (which must outlive it) and owns its aggregates.
 * Threads: one owner at a time.
 */
#ifndef ETL_DQ_PARTIAL_H
#define ETL_DQ_PARTIAL_H

#include "buf.h"
#include "err.h"
#include "etl_dq.h"
#include "jsonw.h"

MUST_CHECK enum err_code
etl_dq_partial_new(const struct etl_dq_rules *r, struct etl_dq_partial **out, struct err *err);
/* Accepts NULL. */
void etl_dq_partial_free(struct etl_dq_partial *p);
/* Forgets every row (after the partial was saved, to spill and go on). */
void etl_dq_partial_reset(struct etl_dq_partial *p);

/* Adds src's rows into dst (same rules). */
MUST_CHECK enum err_code
etl_dq_partial_merge(struct etl_dq_partial *dst, const struct etl_dq_partial *src, struct err *err);

/* The JSON above, as one value of a larger document, or as a whole document. */
void etl_dq_partial_write(const struct etl_dq_partial *p, struct jsonw *w);
MUST_CHECK enum err_code
etl_dq_partial_to_json(const struct etl_dq_partial *p, struct buf *out, struct err *err);
/* Merges a saved partial into p; ERR_INVALID_INPUT when the text is not one of p's rules. */
MUST_CHECK enum err_code
etl_dq_partial_from_json(struct etl_dq_partial *p, struct cur json, struct err *err);

/* The bytes the partial's distinct-value sets hold: a segment can save its partial (to_json),
 * reset it and go on when this grows too large, and merge the saved ones at commit. The merged
 * sets are bounded by max_distinct per rule, past which the rule reports ERROR.
 * NEEDSWORK(#10): a k-way merge of the saved sorted hashes could count distinct values without
 * holding the union in memory. */
size_t etl_dq_partial_bytes(const struct etl_dq_partial *p);

/* Rows given to etl_dq_row, and of them rows that failed a row-level rule. */
uint64_t etl_dq_partial_rows(const struct etl_dq_partial *p);
uint64_t etl_dq_partial_rows_failed(const struct etl_dq_partial *p);

#endif
