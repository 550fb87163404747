/*
 * etl_test_env.h - what the orchestrator tests (stream, scan, export, commit, handler) share: a
 * configuration from an environment block, an AWS client on a fake transport with an in-memory
 * S3 (and optionally a DynamoDB table) behind it, the sink over them, a fake clock, the log
 * captured, and readers for what landed in the lake (gunzipped text, keys, request order).
 * Ownership: ete_new() allocates everything; ete_free() frees it and removes a temporary output
 *   directory. Keys passed to the helpers are relative to the output prefix (ETE_PREFIX).
 * Failures: helpers fail the running cmocka test instead of returning errors.
 */
#ifndef ETL_ETL_TEST_ENV_H
#define ETL_ETL_TEST_ENV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws.h"
#include "buf.h"
#include "creds.h"
#include "endpoint.h"
#include "etl_config.h"
#include "etl_event.h"
#include "etl_sink.h"
#include "etl_spec.h"
#include "fake_ddb.h"
#include "fake_http.h"
#include "fake_s3.h"
#include "fake_sys.h"
#include "rt_loop.h"
#include "test_util.h"

#define ETE_BUCKET  "lake"
#define ETE_PREFIX  "ddb/"
#define ETE_WALL_MS 1764028800000LL /* 2025-11-25T00:00:00Z */
#define ETE_TABLE   "Orders"
/* Every invocation's attempt id (in snapshot file names): the fake random source is fixed. */
#define ETE_ATTEMPT "0000cafe"
#define ETE_ARN     "arn:aws:dynamodb:us-east-1:123456789012:table/"

struct etl_test_env {
    struct fake_sys fs;
    struct fake_http *fh;
    struct fake_s3 *s3;
    struct fake_ddb *ddb; /* NULL until ete_add_table() */
    struct creds_provider creds;
    struct aws_endpoints eps;
    struct aws_client aws;
    int max_attempts; /* AWS_MAX_ATTEMPTS as the client uses it */
    struct etl_config cfg;
    struct etl_sink sink;
    char dir[256]; /* the file:// output directory, "" for S3 */
    char **files;  /* file output: the relative paths found by the last listing */
    size_t n_files;
    struct buf log;
    size_t log_lines;
    pthread_mutex_t lock;     /* serialises the threads' requests to the fakes */
    size_t thread_transports; /* made by ete_thread_transport */
};

/* S3 output (s3://lake/ddb/ unless vars set ETL_OUTPUT); vars: "NAME=value", NULL-terminated,
 * take precedence over the defaults (ETL_OUTPUT and the AWS settings). */
struct etl_test_env *ete_new(const char *const *vars);
/* The same with ETL_OUTPUT=file://<a new temporary directory>/ (removed by ete_free). */
struct etl_test_env *ete_new_file(const char *const *vars);
void ete_free(struct etl_test_env *e);

/* A DynamoDB table named table (hash key "pk") with n items of ete_item()'s shape. */
void ete_add_table(struct etl_test_env *e, const char *table, size_t n_items);
/* Item i as ete_add_table adds it: pk "item-%03zu", a 38-digit N, a string set, a map. */
void ete_item(size_t i, char *out, size_t cap);

/* An etl_transport_fn for the export's segment threads (ctx: the env): each thread gets its own
 * fake_http whose requests reach e's fakes one at a time, under a lock. */
struct http_transport *ete_thread_transport(void *ctx, struct err *err);

/* ---- events ---------------------------------------------------------------------------- */

/* One stream record to build an event from. */
struct ete_rec {
    const char *table;
    const char *op;    /* INSERT, MODIFY, REMOVE */
    const char *seq;   /* SequenceNumber; "": none */
    int64_t ts_s;      /* ApproximateCreationDateTime (epoch seconds); < 0: none */
    const char *keys;  /* DynamoDB JSON of Keys */
    const char *image; /* NewImage (OldImage for REMOVE); NULL: none */
    bool ttl;          /* REMOVE by DynamoDB's TTL (userIdentity Service) */
};

/* {"Records":[...]} of recs into out (appended). */
void ete_stream_event(const struct ete_rec *recs, size_t n, struct buf *out);
/* Parses text (borrowed: it must outlive ev) as an event; fails the test unless it parses. */
void ete_parse_event(const struct buf *text, struct etl_event *ev);
/* An invocation carrying text as its event, request id "req-1", deadline_ms (epoch; 0: none). */
void ete_invocation(struct rt_invocation *inv, const char *text, int64_t deadline_ms);

/* ---- transforms ---------------------------------------------------------------------------- */

/* A spec (ETL_TRANSFORM) written with ` for JSON's quotes and ~ for a quote inside a JSON string
 * (DQDL's column names), so that it reads as it would in a file: its JSON text, appended to out. */
void ete_spec_text(const char *spec, struct buf *out);
/* Parses such a spec; fails the test unless it is valid. The caller frees it (etl_spec_free). */
struct etl_spec *ete_spec(const char *spec);

/* ---- the lake ---------------------------------------------------------------------------- */

/* Appends the bytes of the object at key (relative) to out; false when there is none. Works for
 * both outputs. */
bool ete_get(struct etl_test_env *e, const char *key, struct buf *out);
/* The object's text: gunzipped when key ends in ".gz"; fails the test when it is missing. */
void ete_text(struct etl_test_env *e, const char *key, struct buf *out);
/* Inflates a gzip member; fails the test unless it is one complete, valid member. */
void ete_gunzip(const uint8_t *p, size_t n, struct buf *out);
/* Number of objects whose key (relative) starts with prefix (files: temporary ones included). */
size_t ete_count(struct etl_test_env *e, const char *prefix);
/* The i-th key (relative, sorted) starting with prefix, or NULL; valid until the next call. */
const char *ete_key(struct etl_test_env *e, const char *prefix, size_t i);
/* Lines of text ('\n'-terminated). */
size_t ete_lines(const struct buf *text);
/* How often each item of ete_add_table's table ("item-NNN") appears in the objects whose key
 * starts with prefix (JSON rows, CSV rows or {"Item":...} lines); counts has n_items entries. */
void ete_count_items(struct etl_test_env *e, const char *prefix, int *counts, size_t n_items);
/* The stored object at key parsed as JSON (the caller deletes it); fails the test otherwise. */
cJSON *ete_json(struct etl_test_env *e, const char *key);
/* A member of o that must be a string / a number. */
const char *ete_json_str(const cJSON *o, const char *name);
double ete_json_num(const cJSON *o, const char *name);
/* Lowercase hex MD5 (OpenSSL's, independent of digest.c). */
void ete_md5_hex(const void *p, size_t n, char out[33]);

/* ---- requests and logs -------------------------------------------------------------------- */

/* Requests of method whose URL ends with the object key (relative); key NULL: any S3 object. */
size_t ete_requests(const struct etl_test_env *e, const char *method, const char *key);
/* Index among all recorded requests of the last request of method for key, -1 if none. */
long ete_request_index(const struct etl_test_env *e, const char *method, const char *key);
/* The bodies of the Scan requests sent so far, in order: body i into out (replaced). */
size_t ete_scan_count(const struct etl_test_env *e);
void ete_scan_body(const struct etl_test_env *e, size_t i, struct buf *out);
/* Log lines containing needle. */
size_t ete_log_count(const struct etl_test_env *e, const char *needle);
/* Forgets the recorded requests, the S3 call counts and the log. */
void ete_forget(struct etl_test_env *e);

/* Fails the test unless haystack contains needle (with both in the message). */
#define ete_assert_contains(haystack, needle)                                                      \
    do {                                                                                           \
        const char *ete_h_ = (haystack), *ete_n_ = (needle);                                       \
        if (strstr(ete_h_, ete_n_) == NULL) {                                                      \
            fail_msg("\"%s\" does not contain \"%s\"", ete_h_, ete_n_);                            \
        }                                                                                          \
    } while (0)

#endif
