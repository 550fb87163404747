/*
 * limit.h - the size limits of ddb-s3-etl in one place: buffer sizes and caps on what is read or
 * built, each with the reason or the source of its value.
 * Named limit.h, not limits.h: runtime/ is on every target's -I path, where a "limits.h" would
 *   hide the C library's <limits.h> (INT_MAX, SIZE_MAX users) from every file.
 * Contract: plain integer macros, usable in array sizes and _Static_assert. Limits a caller needs
 *   to size its own arguments stay public in their module's header (S3_MAX_KEY_BYTES,
 *   RT_MAX_EVENT_BYTES, HTTP_HEADERS_MAX_BYTES, DDB_MAX_RESPONSE_BYTES, SIGV4_*).
 */
#ifndef ETL_LIMIT_H
#define ETL_LIMIT_H

/* ---- runtime/: response bodies read ---- */

/* Calls that answer with an empty or short body (PutObject, HeadObject, DeleteObject,
 * UploadPart, Create/AbortMultipartUpload, the Runtime API's 202): room for an AWS error
 * document, which is well under 1 KiB. */
#define LIMIT_SMALL_RESPONSE_BYTES (64 * 1024)
/* An S3 <Error> document, read whatever the caller's own limit: GetObject with a small max must
 * still report 404 NoSuchKey, not ERR_TOO_LARGE. */
#define LIMIT_ERROR_BODY_BYTES (64 * 1024)
/* One ListObjectsV2 page: at most 1,000 keys (MaxKeys) of up to 1,024 bytes, up to 6 bytes each
 * once XML-escaped ("&quot;"), plus a few hundred bytes of metadata per key: under 7 MiB. */
#define LIMIT_S3_LIST_RESPONSE_BYTES (16 * 1024 * 1024)
/* CompleteMultipartUpload: S3 sends whitespace to keep a long completion's connection open before
 * the result (or error) document. */
#define LIMIT_S3_COMPLETE_RESPONSE_BYTES (1024 * 1024)
/* DescribeTable: grows with indexes and replicas; real answers are tens of KiB. */
#define LIMIT_DDB_DESCRIBE_RESPONSE_BYTES (4 * 1024 * 1024)
/* ECS/EKS container credentials: a JSON document of 1 to 2 KiB (mostly the session token). */
#define LIMIT_CREDS_RESPONSE_BYTES (64 * 1024)

/* ---- runtime/: request parts built ---- */

/* A whole request URL: scheme, host (LIMIT_HOST_BYTES), endpoint base path, wire path
 * (LIMIT_WIRE_PATH_BYTES) and query. */
#define LIMIT_URL_BYTES 8192
/* Host header "<bucket>.<host>:<port>": a bucket name is at most 63 bytes (S3's naming rules). */
#define LIMIT_HOST_BYTES 300
/* Endpoint base path plus object path: a 1,024-byte key can take 3,072 bytes percent-encoded. */
#define LIMIT_WIRE_PATH_BYTES 4096
/* One "Name: value" header line; the longest we send is X-Amz-Security-Token (up to 4 KiB). */
#define LIMIT_HTTP_HEADER_LINE_BYTES 8192
/* ListObjectsV2 query: list-type, continuation token and prefix (each up to 1,024 bytes, up to
 * 3,072 percent-encoded). */
#define LIMIT_S3_LIST_QUERY_BYTES 8192
/* NextContinuationToken: opaque; S3's are a few hundred bytes. */
#define LIMIT_S3_CONTINUATION_TOKEN_BYTES 1024
/* "uploadId=" plus an upload id (under 1,024 bytes, see struct s3_upload) percent-encoded. */
#define LIMIT_S3_UPLOAD_ID_QUERY_BYTES 4096
/* Scan request JSON: an ExclusiveStartKey (keys up to 2,048 + 1,024 bytes, escaped up to six
 * times over) and the scan's settings. */
#define LIMIT_DDB_SCAN_REQUEST_BYTES (512 * 1024)
/* DescribeTable request {"TableName":...}: table names are at most 255 bytes. */
#define LIMIT_DDB_DESCRIBE_REQUEST_BYTES 1024
/* Runtime API URLs: base URL (under 300 bytes), the path and a request id (under 128 bytes). */
#define LIMIT_RT_URL_BYTES 512
/* The /error body {"errorMessage","errorType","stackTrace"}: a message under 256 bytes, escaped
 * up to six times over. */
#define LIMIT_RT_ERROR_BODY_BYTES (64 * 1024)

/* ---- runtime/: texts kept ---- */

/* An AWS error code (S3 <Code>, DynamoDB __type without its prefix), as struct err keeps it. */
#define LIMIT_AWS_ERROR_CODE_BYTES 64
/* An AWS error message, kept short enough that struct err's msg still holds the operation. */
#define LIMIT_AWS_ERROR_MESSAGE_BYTES 200
/* DynamoDB's __type: "com.amazonaws.dynamodb.v20120810#" plus the code. */
#define LIMIT_DDB_ERROR_TYPE_BYTES 256
/* A DynamoDB operation name for messages: the call, a space and a table name (up to 255 bytes). */
#define LIMIT_DDB_OP_BYTES 320
/* strerror_r's text for one errno. */
#define LIMIT_ERRNO_TEXT_BYTES 128
/* A spool file's path: ETL_SPOOL_DIR (under 512 bytes) and "/etl-part-XXXXXX". */
#define LIMIT_SPOOL_PATH_BYTES 1024
/* One formatted log message; longer ones are truncated. */
#define LIMIT_LOG_MESSAGE_BYTES 4096
/* The request id the log stamps on each line (Lambda's are 36-byte UUIDs). */
#define LIMIT_LOG_REQUEST_ID_BYTES 128
/* Secrets the log masks at once; the oldest is forgotten past this (a process has 2 or 3). */
#define LIMIT_LOG_SECRETS 16
/* Event buffer capacity kept between invocations: 8 MiB, the bound of the stream's other kept
 * buffers (LIMIT_KEEP_WARM_BYTES), which holds the largest event (RT_MAX_EVENT_BYTES, Lambda's
 * 6 MB payload), so the buffer is in effect always kept. That costs no peak memory (the process
 * must hold such an event while serving it anyway, and Lambda bills the configured memory, not
 * the resident set), while freeing it cost a malloc, a dozen doubling copies and the page faults
 * of regrowing, on every invocation: with the former 1 MiB bound, a 1 MB event's buffer (2 MiB
 * of capacity once doubled) was freed after every invocation. */
#define LIMIT_RT_EVENT_KEEP_BYTES (8 * 1024 * 1024)

/* ---- function/ ---- */

/* An object key relative to the output prefix, with its NUL: S3 keys are at most 1,024 bytes
 * (S3_MAX_KEY_BYTES + 1). */
#define LIMIT_KEY_BYTES 1025
/* A human-readable location: the root ("s3://bucket/prefix/", up to 575 bytes, or a directory
 * of up to 1,023) plus a key. */
#define LIMIT_LOCATION_BYTES (LIMIT_KEY_BYTES + 1600)
/* A DynamoDB table name (3 to 255 characters) with its NUL. */
#define LIMIT_TABLE_NAME_BYTES 256
/* "{table}/snapshots/run={run_id}/": a table name and an 18-character run id. */
#define LIMIT_RUN_DIR_BYTES 640
/* Buffers kept between invocations (the stream's row store and object): kept warm up to this,
 * freed beyond, so one large batch does not pin its memory. */
#define LIMIT_KEEP_WARM_BYTES (8 * 1024 * 1024)
/* Small documents read back: run.json, _SUCCESS. */
#define LIMIT_SMALL_DOC_BYTES (1024 * 1024)
/* A snapshot checkpoint read back (its schema part grows with the attribute names). */
#define LIMIT_CHECKPOINT_DOC_BYTES (64 * 1024 * 1024)
/* One EMF metrics document (at most 16 metrics with short names and a few properties). */
#define LIMIT_EMF_DOC_BYTES (64 * 1024)
/* A LastEvaluatedKey: a DynamoDB key (hash up to 2,048 bytes, range up to 1,024) as JSON. */
#define LIMIT_LEK_BYTES (64 * 1024)

#endif
