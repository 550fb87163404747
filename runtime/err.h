/*
 * err.h - the one error type of ddb-s3-etl: a code plus context, returned by value.
 * Ownership: a struct err is a plain value (no heap); callers own it, usually on the stack.
 * Contract: a fallible function returns enum err_code and takes `struct err *err` last; on
 * failure it fills *err via err_set() (which returns the code, so it can sit in the return).
 * Threads: no global error state; each caller has its own struct err.
 */
#ifndef ETL_ERR_H
#define ETL_ERR_H

#include <stdbool.h>
#include <stddef.h>

#define MUST_CHECK       __attribute__((warn_unused_result))
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))

enum err_code {
    ERR_OK = 0,
    ERR_INVALID_INPUT, /* malformed event, record, response or argument */
    ERR_CONFIG,        /* bad or missing configuration: an init error */
    ERR_TOO_LARGE,     /* a buffer limit (struct buf max) was reached */
    ERR_NOMEM,         /* allocation failed */
    ERR_TRANSPORT,     /* no HTTP response: connect, reset, timeout, TLS */
    ERR_HTTP,          /* an HTTP response with an error status or AWS error code */
    ERR_DEADLINE,      /* not enough invocation time left to try */
    ERR_IO,            /* local file or spool I/O failed (open, read, write, rename) */
};

struct err {
    enum err_code code;
    int http_status;     /* 0 if no response arrived */
    char aws_code[64];   /* S3 <Code> or DynamoDB __type, e.g. "ThrottlingException" */
    char type[48];       /* the Lambda errorType a handler chose ("" = derive it) */
    char request_id[64]; /* x-amz-request-id / x-amzn-RequestId */
    bool retryable;      /* decided once, in err_from_http()/err_transport(), not at call sites */
    char msg[256];       /* "PutObject s3://bucket/key: 503 SlowDown"; never a secret */
};

#define ERR_INIT                                                                                   \
    {                                                                                              \
        ERR_OK, 0, "", "", "", false, ""                                                           \
    }

/* Resets *err to ERR_OK with empty context. Accepts NULL. */
void err_clear(struct err *err);

/* Sets code and a printf-formatted message (truncated to fit), clears the rest; returns code. */
enum err_code err_set(struct err *err, enum err_code code, const char *fmt, ...) PRINTF_FMT(3, 4);

/* Prepends "<context>: " to the message, keeping the code; returns err->code. */
enum err_code err_prefix(struct err *err, const char *fmt, ...) PRINTF_FMT(2, 3);

/*
 * Sets the Lambda errorType reported for this error (truncated to fit), leaving the code, the
 * AWS code and the message as they are. err_set() clears it; err_prefix() keeps it. The type is
 * for reporting only: decide control flow on the code, never on this text.
 */
void err_set_type(struct err *err, const char *type);

/* True once err_set_type() gave this error a type. */
bool err_has_type(const struct err *err);

/*
 * Records an HTTP failure: status, AWS error code and message (either may be NULL) and request
 * id; decides retryable (5xx except 501, 429, throttling codes). op names the call
 * ("PutObject s3://b/k"). Returns ERR_HTTP.
 */
enum err_code err_from_http(struct err *err,
                            const char *op,
                            int http_status,
                            const char *aws_code,
                            const char *aws_message,
                            const char *request_id);

/* Records a transport failure (no response); retryable. Returns ERR_TRANSPORT. */
enum err_code err_transport(struct err *err, const char *op, const char *detail);

/* True for AWS error codes that mean "slow down" (SlowDown, ThrottlingException, ...). */
bool err_is_throttling_code(const char *aws_code);

/* Stable name of a code, e.g. "ERR_HTTP". */
const char *err_code_name(enum err_code code);

#endif
