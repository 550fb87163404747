/*
 * aws.h - one AWS API call: the endpoint URL, SigV4 signing with fresh credentials, and the AWS
 * SDKs' standard retry mode (exponential backoff with full jitter; 5xx, throttling, timeouts and
 * resets retried; every attempt re-signed with a fresh date; never past the invocation deadline).
 * Ownership: an aws_client borrows its transport, clock, credentials and endpoints; it owns its
 *   signing-key cache (aws_client_cleanup wipes it). A request borrows everything it points to.
 * Errors: on failure *err carries the last attempt's status, AWS code, request id and a message
 *   naming the operation; ERR_DEADLINE when no attempt could be made in the time left.
 * Threads: an aws_client has one owner at a time (export segments each get their own).
 */
#ifndef ETL_AWS_H
#define ETL_AWS_H

#include <stdbool.h>
#include <stdint.h>

#include "creds.h"
#include "endpoint.h"
#include "err.h"
#include "http.h"
#include "sigv4.h"
#include "sys.h"

#define AWS_DEFAULT_MAX_ATTEMPTS 3     /* the SDKs' standard mode */
#define AWS_BASE_DELAY_MS        100   /* SDK v2 standard: non-throttling base delay */
#define AWS_THROTTLE_BASE_MS     500   /* SDK v2 standard: throttling base delay */
#define AWS_MAX_BACKOFF_MS       20000 /* SDK standard cap */
#define AWS_MIN_ATTEMPT_MS       250   /* do not start an attempt with less time than this left */
#define AWS_MIN_ATTEMPT_FLOOR_MS 50    /* ... or a tenth of the invocation, if less, down to this */
#define AWS_REQUEST_TIMEOUT_MS   120000 /* per attempt, unless the deadline is nearer */

struct aws_stats {
    uint64_t calls;
    uint64_t attempts;
    uint64_t retries;
    uint64_t throttled;
};

struct aws_client {
    struct http_transport *http;     /* borrowed */
    const struct sys *sys;           /* borrowed */
    struct creds_provider *creds;    /* borrowed; thread-safe */
    const struct aws_endpoints *eps; /* borrowed */
    struct sigv4_key_cache keys;
    int max_attempts;
    int64_t deadline_mono_ms; /* 0 = none; set per invocation */
    int64_t min_attempt_ms;   /* no attempt starts with less time left (set with the deadline) */
    int64_t request_timeout_ms;
    struct aws_stats stats;
};

void aws_client_init(struct aws_client *c,
                     struct http_transport *http,
                     const struct sys *sys,
                     struct creds_provider *creds,
                     const struct aws_endpoints *eps,
                     int max_attempts);
void aws_client_cleanup(struct aws_client *c);
/* Retries never start an attempt that would end after this monotonic time (0 = no deadline),
 * e.g. rt_invocation_deadline_mono() less a reserve for the answer. */
void aws_client_set_deadline(struct aws_client *c, int64_t deadline_mono_ms);

/* Fills code/message from an error response (S3 XML, DynamoDB JSON). */
typedef void (*aws_error_parser_fn)(const struct http_response *resp,
                                    char *code,
                                    size_t code_cap,
                                    char *message,
                                    size_t message_cap);

/* Inspects a 2xx response; an error it returns fails the attempt (retried if retryable). */
typedef enum err_code (*aws_check_fn)(const struct http_response *resp, struct err *err);

struct aws_request {
    const char *op;      /* names the call in messages: "PutObject s3://bucket/key" */
    const char *service; /* signing name: "s3", "dynamodb" */
    const struct endpoint *ep;
    const char *bucket; /* virtual-hosted S3: the host becomes "<bucket>.<host>"; else NULL */
    const char *method;
    const char *path;  /* wire path after the endpoint's base path, starting with '/' */
    const char *query; /* wire query without '?', or NULL */
    const struct http_header *headers; /* besides Host and the signer's; at most 16 */
    size_t n_headers;
    struct cur body;
    const struct http_body_file *body_file; /* streamed body instead of `body`, or NULL */
    const char *payload_hash; /* hex SHA-256 of a streamed body (required with body_file) */
    bool s3_mode;
    aws_error_parser_fn parse_error;
    aws_check_fn check; /* optional */
};

#define AWS_MAX_EXTRA_HEADERS 16

MUST_CHECK enum err_code aws_call(struct aws_client *c,
                                  const struct aws_request *req,
                                  struct http_response *resp,
                                  struct err *err);

/* Reads AWS_MAX_ATTEMPTS (1 to 20; default 3, the SDKs' standard mode). */
MUST_CHECK enum err_code aws_max_attempts_from_env(char *const *envp, int *out, struct err *err);

/* The backoff before retry number `retry` (1-based): uniform in [0, min(cap, base * 2^(retry-1))].
 */
int64_t aws_backoff_ms(const struct sys *sys, int retry, bool throttled);

#endif
