/*
 * ddb.h - DynamoDB over aws_call (JSON 1.0 protocol, X-Amz-Target: DynamoDB_20120810.<Op>):
 * Scan with Segment/TotalSegments, ExclusiveStartKey/LastEvaluatedKey paging, Limit,
 * ConsistentRead and ReturnConsumedCapacity; DescribeTable. Errors come from __type and message.
 * Responses are checked against x-amz-crc32, as the SDKs do.
 * Ownership: a ddb_scan_page owns its response body (reused across pages; ddb_scan_page_cleanup
 *   frees it); its items and last key point into that body and are valid until the next scan.
 * Threads: a page and the aws_client it uses have one owner at a time.
 */
#ifndef ETL_DDB_H
#define ETL_DDB_H

#include <stdbool.h>
#include <stdint.h>

#include "aws.h"
#include "buf.h"
#include "err.h"
#include "json.h"

#define DDB_MAX_RESPONSE_BYTES (16 * 1024 * 1024) /* a Scan page holds at most 1 MB of data */

struct ddb_scan_params {
    const char *table;
    int segment;                    /* with total_segments > 0 */
    int total_segments;             /* 0 = not a parallel scan */
    struct cur exclusive_start_key; /* raw JSON object, or empty to start */
    int limit;                      /* 0 = DynamoDB's default (1 MB) */
    bool consistent_read;
    bool return_consumed_capacity;
};

struct ddb_scan_page {
    struct buf body;
    struct json_val items; /* array of DynamoDB JSON items */
    size_t count;
    size_t scanned_count;
    struct cur last_evaluated_key; /* raw JSON; len 0 when the segment is done */
    double consumed_capacity;      /* read capacity units, when requested */
};

void ddb_scan_page_init(struct ddb_scan_page *p);
void ddb_scan_page_cleanup(struct ddb_scan_page *p);

MUST_CHECK enum err_code ddb_scan(struct aws_client *c,
                                  const struct ddb_scan_params *params,
                                  struct ddb_scan_page *page,
                                  struct err *err);

struct ddb_table_desc {
    char table_name[256];
    char table_arn[512];
    char table_id[64];
    char status[32];
    char hash_key[256];
    char range_key[256];   /* "" when the table has no sort key */
    char billing_mode[32]; /* PROVISIONED or PAY_PER_REQUEST */
    int64_t item_count;    /* DynamoDB updates it about every six hours */
    int64_t size_bytes;
    int64_t read_capacity_units; /* 0 on demand */
    char stream_arn[512];
    char stream_view_type[32];
};

MUST_CHECK enum err_code ddb_describe_table(struct aws_client *c,
                                            const char *table,
                                            struct ddb_table_desc *out,
                                            struct err *err);

/* Parses {"__type":"...#Code","message":"..."} (Message also accepted). */
void ddb_parse_error(const struct http_response *resp,
                     char *code,
                     size_t code_cap,
                     char *message,
                     size_t message_cap);

/* Checks a table name against DynamoDB's rules (3-255 of [A-Za-z0-9_.-]). */
MUST_CHECK enum err_code ddb_check_table_name(const char *table, struct err *err);

#endif
