/*
 * log.c - Lambda log lines (text or JSON), level filtering and redaction.
 * Lambda's JSON log filter reads "level" and an RFC 3339 "timestamp", so both are always first.
 * Every line is rendered into a local buffer and written with one write(2), so lines from
 * export threads never interleave.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "limit.h"
#include "sys.h"

struct log_state {
    pthread_mutex_t lock;
    enum log_format format;
    enum log_level min_level;
    char request_id[LIMIT_LOG_REQUEST_ID_BYTES];
    char *secrets[LIMIT_LOG_SECRETS];
    size_t n_secrets;
    log_sink_fn sink;
    void *sink_ctx;
};

/* The process-wide logger (see log.h for why this one state is global). */
static struct log_state g_log = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .format = LOG_FORMAT_TEXT,
    .min_level = LOG_INFO,
};

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
#define LOG_LEVEL_COUNT (sizeof(level_names) / sizeof(level_names[0]))

const char *log_level_name(enum log_level level)
{
    if ((int)level < 0 || (size_t)level >= LOG_LEVEL_COUNT) {
        return "INFO";
    }
    return level_names[level];
}

enum err_code log_configure(const char *format, const char *level, struct err *err)
{
    enum log_format f = LOG_FORMAT_TEXT;
    enum log_level l = LOG_INFO;
    if (format != NULL && format[0] != '\0') {
        if (strcasecmp(format, "JSON") == 0) {
            f = LOG_FORMAT_JSON;
        } else if (strcasecmp(format, "TEXT") != 0) {
            return err_set(err, ERR_CONFIG,
                           "AWS_LAMBDA_LOG_FORMAT=\"%.64s\": expected TEXT or JSON", format);
        }
    }
    if (level != NULL && level[0] != '\0') {
        size_t i = 0;
        for (; i < LOG_LEVEL_COUNT; i++) {
            if (strcasecmp(level, level_names[i]) == 0) {
                break;
            }
        }
        if (i == LOG_LEVEL_COUNT) {
            return err_set(
                err, ERR_CONFIG,
                "AWS_LAMBDA_LOG_LEVEL=\"%.64s\": expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL",
                level);
        }
        l = (enum log_level)i;
    }
    pthread_mutex_lock(&g_log.lock);
    g_log.format = f;
    g_log.min_level = l;
    pthread_mutex_unlock(&g_log.lock);
    return ERR_OK;
}

void log_set_sink(log_sink_fn sink, void *ctx)
{
    pthread_mutex_lock(&g_log.lock);
    g_log.sink = sink;
    g_log.sink_ctx = ctx;
    pthread_mutex_unlock(&g_log.lock);
}

void log_set_request_id(const char *request_id)
{
    pthread_mutex_lock(&g_log.lock);
    if (request_id == NULL) {
        g_log.request_id[0] = '\0';
    } else {
        (void)snprintf(g_log.request_id, sizeof(g_log.request_id), "%s", request_id);
    }
    pthread_mutex_unlock(&g_log.lock);
}

void log_add_secret(const char *secret)
{
    /* Short strings would redact ordinary text; real secrets are long. */
    if (secret == NULL || strlen(secret) < 8) {
        return;
    }
    pthread_mutex_lock(&g_log.lock);
    for (size_t i = 0; i < g_log.n_secrets; i++) {
        if (strcmp(g_log.secrets[i], secret) == 0) {
            pthread_mutex_unlock(&g_log.lock);
            return;
        }
    }
    if (g_log.n_secrets == LIMIT_LOG_SECRETS) {
        /* Oldest first out: after refreshes, old credentials are no longer in use. */
        OPENSSL_cleanse(g_log.secrets[0], strlen(g_log.secrets[0]));
        free(g_log.secrets[0]);
        memmove(&g_log.secrets[0], &g_log.secrets[1],
                (LIMIT_LOG_SECRETS - 1) * sizeof(g_log.secrets[0]));
        g_log.n_secrets--;
    }
    char *copy = strdup(secret);
    if (copy != NULL) {
        g_log.secrets[g_log.n_secrets++] = copy;
    }
    pthread_mutex_unlock(&g_log.lock);
}

void log_clear_secrets(void)
{
    pthread_mutex_lock(&g_log.lock);
    for (size_t i = 0; i < g_log.n_secrets; i++) {
        OPENSSL_cleanse(g_log.secrets[i], strlen(g_log.secrets[i]));
        free(g_log.secrets[i]);
        g_log.secrets[i] = NULL;
    }
    g_log.n_secrets = 0;
    pthread_mutex_unlock(&g_log.lock);
}

bool log_enabled(enum log_level level)
{
    return level >= g_log.min_level;
}

static enum err_code render_timestamp(struct buf *out, int64_t wall_ms, struct err *err)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "bad timestamp");
    }
    return buf_printf(out, err, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      (int)(wall_ms % 1000));
}

static enum err_code render_json_field(struct buf *out, const struct log_field *f, struct err *err)
{
    enum err_code rc = buf_append_str(out, ",", err);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(out, f->key, strlen(f->key), err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(out, ':', err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    switch (f->kind) {
    case LOG_FIELD_INT:
        return buf_append_i64(out, f->num, err);
    case LOG_FIELD_BOOL:
        return buf_append_str(out, f->num != 0 ? "true" : "false", err);
    case LOG_FIELD_STR:
        break;
    }
    const char *s = f->str != NULL ? f->str : "";
    return buf_append_json_str(out, s, strlen(s), err);
}

static enum err_code render_text_field(struct buf *out, const struct log_field *f, struct err *err)
{
    switch (f->kind) {
    case LOG_FIELD_INT:
        return buf_printf(out, err, " %s=%lld", f->key, (long long)f->num);
    case LOG_FIELD_BOOL:
        return buf_printf(out, err, " %s=%s", f->key, f->num != 0 ? "true" : "false");
    case LOG_FIELD_STR:
        break;
    }
    return buf_printf(out, err, " %s=%s", f->key, f->str != NULL ? f->str : "");
}

enum err_code log_render(struct buf *out,
                         enum log_format format,
                         int64_t wall_ms,
                         enum log_level level,
                         const char *request_id,
                         const char *message,
                         const struct log_field *fields,
                         size_t n_fields,
                         struct err *err)
{
    enum err_code rc = ERR_OK;
    bool has_id = request_id != NULL && request_id[0] != '\0';
    if (format == LOG_FORMAT_JSON) {
        rc = buf_append_str(out, "{\"timestamp\":\"", err);
        if (rc == ERR_OK) {
            rc = render_timestamp(out, wall_ms, err);
        }
        if (rc == ERR_OK) {
            rc = buf_printf(out, err, "\",\"level\":\"%s\"", log_level_name(level));
        }
        if (rc == ERR_OK && has_id) {
            rc = buf_append_str(out, ",\"requestId\":", err);
            if (rc == ERR_OK) {
                rc = buf_append_json_str(out, request_id, strlen(request_id), err);
            }
        }
        if (rc == ERR_OK) {
            rc = buf_append_str(out, ",\"message\":", err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_json_str(out, message, strlen(message), err);
        }
        for (size_t i = 0; rc == ERR_OK && i < n_fields; i++) {
            rc = render_json_field(out, &fields[i], err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(out, '}', err);
        }
        return rc;
    }
    rc = render_timestamp(out, wall_ms, err);
    if (rc == ERR_OK) {
        rc = buf_printf(out, err, "\t%s\t%s\t", has_id ? request_id : "-", log_level_name(level));
    }
    /* Text lines stay one line: newlines in a message become spaces. */
    size_t start = out->len;
    if (rc == ERR_OK) {
        rc = buf_append_str(out, message, err);
    }
    for (size_t i = start; rc == ERR_OK && i < out->len; i++) {
        if (out->data[i] == '\n' || out->data[i] == '\r') {
            out->data[i] = ' ';
        }
    }
    for (size_t i = 0; rc == ERR_OK && i < n_fields; i++) {
        rc = render_text_field(out, &fields[i], err);
    }
    return rc;
}

static bool is_token_end(char c)
{
    return c == '\0' || c == '&' || c == '"' || c == ' ' || c == '\t' || c == ',' || c == '\n' ||
           c == '\r' || c == '\'' || c == '\\' || c == ';';
}

/* Masks the value after each occurrence of key; header keys mask to the end of the value. */
static size_t mask_after(char *line, size_t len, const char *key, bool whole_value)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i + klen <= len) {
        if (strncasecmp(line + i, key, klen) != 0) {
            i++;
            continue;
        }
        size_t v = i + klen;
        while (v < len && line[v] == ' ') {
            v++;
        }
        size_t e = v;
        while (e < len && (whole_value ? (line[e] != '"' && line[e] != '\n' && line[e] != '\\')
                                       : !is_token_end(line[e]))) {
            e++;
        }
        if (e > v) {
            static const char mask[] = "****";
            size_t mlen = sizeof(mask) - 1;
            if (e - v >= mlen) {
                memcpy(line + v, mask, mlen);
                memmove(line + v + mlen, line + e, len - e);
                len -= (e - v) - mlen;
                line[len] = '\0';
            } else {
                memset(line + v, '*', e - v);
            }
        }
        i = v + 1;
    }
    return len;
}

static size_t mask_secret(char *line, size_t len, const char *secret)
{
    size_t slen = strlen(secret);
    if (slen == 0) {
        return len;
    }
    char *p = line;
    while ((size_t)(p - line) + slen <= len) {
        char *hit = memmem(p, len - (size_t)(p - line), secret, slen);
        if (hit == NULL) {
            break;
        }
        memcpy(hit, "****", 4);
        memmove(hit + 4, hit + slen, len - (size_t)(hit - line) - slen);
        len -= slen - 4;
        line[len] = '\0';
        p = hit + 4;
    }
    return len;
}

size_t log_redact(char *line, size_t len, const char *const *secrets, size_t n_secrets)
{
    for (size_t i = 0; i < n_secrets; i++) {
        len = mask_secret(line, len, secrets[i]);
    }
    len = mask_after(line, len, "Authorization:", true);
    len = mask_after(line, len, "X-Amz-Security-Token:", true);
    len = mask_after(line, len, "X-aws-ec2-metadata-token:", true);
    len = mask_after(line, len, "X-Amz-Signature=", false);
    len = mask_after(line, len, "X-Amz-Credential=", false);
    len = mask_after(line, len, "X-Amz-Security-Token=", false);
    len = mask_after(line, len, "Signature=", false);
    return len;
}

static void default_sink(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, line, len);
        if (n <= 0) {
            return;
        }
        line += n;
        len -= (size_t)n;
    }
}

/* Redacts line, ends it with a newline and hands it to the sink; the caller holds the lock. */
static void emit(struct buf *line)
{
    struct err err = ERR_INIT;
    line->len = log_redact((char *)line->data, line->len, (const char *const *)g_log.secrets,
                           g_log.n_secrets);
    if (buf_append_byte(line, '\n', &err) != ERR_OK) {
        return;
    }
    log_sink_fn sink = g_log.sink != NULL ? g_log.sink : default_sink;
    sink(g_log.sink_ctx, (const char *)line->data, line->len);
}

void log_write(enum log_level level,
               const struct log_field *fields,
               size_t n_fields,
               const char *fmt,
               ...)
{
    if (!log_enabled(level)) {
        return;
    }
    char message[LIMIT_LOG_MESSAGE_BYTES];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    int64_t now_ms = sys_wall_ms(sys_real());

    struct buf line = BUF_INIT(0);
    struct err err = ERR_INIT;
    pthread_mutex_lock(&g_log.lock);
    if (log_render(&line, g_log.format, now_ms, level, g_log.request_id, message, fields, n_fields,
                   &err) == ERR_OK) {
        emit(&line);
    }
    pthread_mutex_unlock(&g_log.lock);
    buf_cleanup(&line);
}

void log_raw_line(const char *line, size_t len)
{
    struct buf b = BUF_INIT(0);
    struct err err = ERR_INIT;
    pthread_mutex_lock(&g_log.lock);
    if (buf_append(&b, line, len, &err) == ERR_OK) {
        emit(&b);
    }
    pthread_mutex_unlock(&g_log.lock);
    buf_cleanup(&b);
}
