/*
 * log.h - the only way anything reaches stdout: Lambda-style log lines, text or JSON, filtered by
 * level, with secrets redacted.
 * Configuration: log_configure() once in main() from AWS_LAMBDA_LOG_FORMAT/AWS_LAMBDA_LOG_LEVEL.
 * State: the one piece of process-wide state (format, level, request id, secrets), because every
 * module logs; it is set at init and per invocation, and guarded by a mutex for threads.
 * Redaction: registered secrets (log_add_secret) and the values after "Authorization:",
 * "X-Amz-Signature=", "X-Amz-Credential=", "X-Amz-Security-Token=" and
 * "X-aws-ec2-metadata-token:" are replaced by "****" in every line, at every level.
 */
#ifndef ETL_LOG_H
#define ETL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

enum log_level { LOG_TRACE = 0, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

enum log_field_kind { LOG_FIELD_STR = 0, LOG_FIELD_INT, LOG_FIELD_BOOL };

/* An extra key/value for JSON lines ("key": value) and text lines (key=value). */
struct log_field {
    const char *key;
    enum log_field_kind kind;
    const char *str;
    int64_t num;
};

#define LOG_STR(k, v)  ((struct log_field){(k), LOG_FIELD_STR, (v), 0})
#define LOG_INT(k, v)  ((struct log_field){(k), LOG_FIELD_INT, NULL, (int64_t)(v)})
#define LOG_BOOL(k, v) ((struct log_field){(k), LOG_FIELD_BOOL, NULL, (v) ? 1 : 0})

/* Line sink; the default writes to stdout with one write(2) per line. */
typedef void (*log_sink_fn)(void *ctx, const char *line, size_t len);

/*
 * Parses AWS_LAMBDA_LOG_FORMAT ("TEXT"/"JSON", case-insensitive; NULL or "" = TEXT) and
 * AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR, FATAL; NULL or "" = INFO).
 * A bad value is ERR_CONFIG naming the variable; the state is unchanged then.
 */
MUST_CHECK enum err_code log_configure(const char *format, const char *level, struct err *err);
/* Replaces the sink (tests); NULL restores stdout. */
void log_set_sink(log_sink_fn sink, void *ctx);
/* The current invocation's request id (copied), or NULL between invocations. */
void log_set_request_id(const char *request_id);
/* Registers a string never to be printed (secret key, session token, auth token); copied. */
void log_add_secret(const char *secret);
/* Forgets every registered secret (wiping the copies). */
void log_clear_secrets(void);

bool log_enabled(enum log_level level);
void log_write(enum log_level level,
               const struct log_field *fields,
               size_t n_fields,
               const char *fmt,
               ...) PRINTF_FMT(4, 5);
/* Writes one line as it is (an EMF metrics document), bypassing level and format. */
void log_raw_line(const char *line, size_t len);

/*
 * Renders one line (no trailing newline) into out: the pure part of log_write, for tests.
 * JSON: {"timestamp","level","requestId","message",...fields}; text:
 * "<timestamp>\t<requestId|->\t<LEVEL>\t<message>[ key=value...]".
 */
MUST_CHECK enum err_code log_render(struct buf *out,
                                    enum log_format format,
                                    int64_t wall_ms,
                                    enum log_level level,
                                    const char *request_id,
                                    const char *message,
                                    const struct log_field *fields,
                                    size_t n_fields,
                                    struct err *err);
/* Redacts, in place, the secret-bearing patterns and the given secrets; returns the new length. */
size_t log_redact(char *line, size_t len, const char *const *secrets, size_t n_secrets);

const char *log_level_name(enum log_level level);

#define log_trace(...) log_write(LOG_TRACE, NULL, 0, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, NULL, 0, __VA_ARGS__)
#define log_info(...)  log_write(LOG_INFO, NULL, 0, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, NULL, 0, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, NULL, 0, __VA_ARGS__)
#define log_fatal(...) log_write(LOG_FATAL, NULL, 0, __VA_ARGS__)

#endif
