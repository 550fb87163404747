/*
 * err.c - filling struct err: formatted messages, HTTP and transport classification.
 * Retryability is decided here once, so call sites never re-derive it.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *err)
{
    if (err == NULL) {
        return;
    }
    memset(err, 0, sizeof(*err));
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

enum err_code err_set(struct err *err, enum err_code code, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    err_clear(err);
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

enum err_code err_prefix(struct err *err, const char *fmt, ...)
{
    char prefix[sizeof(err->msg)];
    char old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is fine: the message is for humans and the code is kept. */
    size_t plen = strnlen(prefix, sizeof(err->msg) - 1);
    memcpy(err->msg, prefix, plen);
    size_t used = plen;
    if (used + 2 < sizeof(err->msg)) {
        memcpy(err->msg + used, ": ", 2);
        used += 2;
    }
    size_t olen = strnlen(old, sizeof(err->msg) - 1 - used);
    memcpy(err->msg + used, old, olen);
    err->msg[used + olen] = '\0';
    return err->code;
}

void err_set_type(struct err *err, const char *type)
{
    copy_str(err->type, sizeof(err->type), type);
}

bool err_has_type(const struct err *err)
{
    return err->type[0] != '\0';
}

static bool in_list(const char *aws_code, const char *const *codes, size_t n)
{
    if (aws_code == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(aws_code, codes[i]) == 0) {
            return true;
        }
    }
    return false;
}

bool err_is_throttling_code(const char *aws_code)
{
    /* The AWS SDKs' standard retry mode treats these as throttling (retry with backoff). */
    static const char *const codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    };
    return in_list(aws_code, codes, sizeof(codes) / sizeof(codes[0]));
}

static bool is_transient_code(const char *aws_code)
{
    /* Transient service errors the SDKs retry even when the status is not 5xx. */
    static const char *const codes[] = {
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "InternalFailure",
        /* S3: two conditional writes to one key at once; S3 asks for a retry. */
        "ConditionalRequestConflict",
    };
    return in_list(aws_code, codes, sizeof(codes) / sizeof(codes[0]));
}

enum err_code err_from_http(struct err *err,
                            const char *op,
                            int http_status,
                            const char *aws_code,
                            const char *aws_message,
                            const char *request_id)
{
    const char *code = (aws_code != NULL && aws_code[0] != '\0') ? aws_code : "";
    if (aws_message != NULL && aws_message[0] != '\0') {
        (void)err_set(err, ERR_HTTP, "%s: %d %s: %s", op, http_status, code, aws_message);
    } else {
        (void)err_set(err, ERR_HTTP, "%s: %d %s", op, http_status, code);
    }
    err->http_status = http_status;
    copy_str(err->aws_code, sizeof(err->aws_code), code);
    copy_str(err->request_id, sizeof(err->request_id), request_id);
    err->retryable = (http_status >= 500 && http_status != 501) || http_status == 429 ||
                     err_is_throttling_code(code) || is_transient_code(code);
    return ERR_HTTP;
}

enum err_code err_transport(struct err *err, const char *op, const char *detail)
{
    (void)err_set(err, ERR_TRANSPORT, "%s: %s", op, detail != NULL ? detail : "transport error");
    err->retryable = true;
    return ERR_TRANSPORT;
}

const char *err_code_name(enum err_code code)
{
    switch (code) {
    case ERR_OK:
        return "ERR_OK";
    case ERR_INVALID_INPUT:
        return "ERR_INVALID_INPUT";
    case ERR_CONFIG:
        return "ERR_CONFIG";
    case ERR_TOO_LARGE:
        return "ERR_TOO_LARGE";
    case ERR_NOMEM:
        return "ERR_NOMEM";
    case ERR_TRANSPORT:
        return "ERR_TRANSPORT";
    case ERR_HTTP:
        return "ERR_HTTP";
    case ERR_DEADLINE:
        return "ERR_DEADLINE";
    case ERR_IO:
        return "ERR_IO";
    }
    return "ERR_UNKNOWN";
}
