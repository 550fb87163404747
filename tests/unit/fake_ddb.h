/*
 * fake_ddb.h - one in-memory DynamoDB table for unit tests, answering Scan and DescribeTable
 * through a fake_http: requests whose X-Amz-Target is "DynamoDB_20120810.<Op>" come here, every
 * other request goes on to the responder installed before (e.g. fake_s3). Answers carry
 * x-amz-crc32, as DynamoDB's do, and errors DynamoDB's {"__type","message"} body.
 * Scan: item i (in the order added) belongs to segment i % TotalSegments. A page holds Limit
 *   items (FAKE_DDB_DEFAULT_PAGE without one) and carries LastEvaluatedKey {"<hash key>": value}
 *   whenever it stopped at the limit, as DynamoDB does, so a segment can end on an empty page.
 *   An ExclusiveStartKey must name an item of the segment (else 400 ValidationException).
 * Ownership: the fake owns its items; fake_ddb_free() frees them. fake_ddb_install() lends the
 *   fake to a fake_http, which must not send after the fake is freed.
 */
#ifndef ETL_FAKE_DDB_H
#define ETL_FAKE_DDB_H

#include <stddef.h>
#include <stdint.h>

#include "fake_http.h"
#include "fake_sys.h"

#define FAKE_DDB_DEFAULT_PAGE     100 /* items per page without a Limit (DynamoDB: 1 MB) */
#define FAKE_DDB_UNITS_PER_ITEM   0.5 /* ConsumedCapacity per item returned */
#define FAKE_DDB_TABLE_ARN_PREFIX "arn:aws:dynamodb:us-east-1:123456789012:table/"

struct fake_ddb;

/* A table named table whose hash key is hash_key (items must carry it as S or N). */
struct fake_ddb *fake_ddb_new(const char *table, const char *hash_key);
/* Accepts NULL. */
void fake_ddb_free(struct fake_ddb *d);
/* Makes fh answer DynamoDB requests from this table, and pass the rest to its earlier responder. */
void fake_ddb_install(struct fake_ddb *d, struct fake_http *fh);

/* Adds one item (DynamoDB JSON text, copied); aborts when it lacks the hash key. */
void fake_ddb_add_item(struct fake_ddb *d, const char *item);
size_t fake_ddb_item_count(const struct fake_ddb *d);
/* The items of segment of total, in scan order: item i is the i-th added with i % total ==
 * segment. Returns the item's index in the table, or -1 past the end. */
long fake_ddb_segment_item(const struct fake_ddb *d, int segment, int total, size_t nth);
/* The hash key value of item i as text ("item-007"). */
const char *fake_ddb_item_key(const struct fake_ddb *d, size_t i);

/* After `after` more Scans succeed, the next count Scans are answered with status and __type
 * (e.g. 400 "ProvisionedThroughputExceededException"). Faults queue up in the order given. */
void fake_ddb_fail_scan(struct fake_ddb *d, int after, int count, int status, const char *type);
/* Each request received advances fs's clocks by ms (a slow table, to reach deadlines). */
void fake_ddb_advance_clock(struct fake_ddb *d, struct fake_sys *fs, int64_t ms);
/* Requests received for op ("Scan", "DescribeTable"), faulted ones included. */
size_t fake_ddb_calls(const struct fake_ddb *d, const char *op);

#endif
