/*
 * fake_http.h - a scripted struct http_transport for unit tests: replays responses (status,
 * headers, body, or a transport error) and records every request it was sent.
 * Ownership: the fake owns its records; free it with http_transport_free(&f->base).
 */
#ifndef ETL_FAKE_HTTP_H
#define ETL_FAKE_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct fake_response {
    int status;           /* 0 with transport_error set means no response */
    const char *headers;  /* "Name: value\r\n" lines, or NULL */
    const char *body;     /* NUL-terminated unless body_len is set */
    size_t body_len;      /* 0 = strlen(body) */
    bool transport_error; /* answer ERR_TRANSPORT (retryable) instead */
    int curl_code;        /* with transport_error: the CURLcode the real transport would have
                             seen, classified as it classifies it (0: retryable, unnamed) */
};

struct fake_request {
    char method[16];
    char *url;
    struct buf headers; /* "name: value\n" lines as sent */
    struct buf body;
    int64_t timeout_ms;
};

/* A dynamic responder (e.g. an in-memory S3); returns ERR_OK with resp filled, or an error. */
typedef enum err_code (*fake_http_fn)(void *ctx,
                                      const struct http_request *req,
                                      struct http_response *resp,
                                      struct err *err);

struct fake_http {
    struct http_transport base;
    const struct fake_response *script;
    size_t n_script;
    size_t next;
    fake_http_fn fn;
    void *fn_ctx;
    pthread_mutex_t *fn_lock; /* when set, fn runs under it (a responder shared by threads) */
    struct fake_request *reqs;
    size_t n_reqs;
    size_t cap_reqs;
};

struct fake_http *fake_http_new(void);
void fake_http_script(struct fake_http *f, const struct fake_response *script, size_t n);
void fake_http_set_fn(struct fake_http *f, fake_http_fn fn, void *ctx);
void fake_http_clear(struct fake_http *f);
/* The value of a header of a recorded request (case-insensitive), or NULL; copied to a static
 * per-call buffer valid until the next call. */
const char *fake_request_header(const struct fake_request *r, const char *name);
/* Appends req's headers to out as "name: value\n" lines (the form fake_request keeps). */
void fake_http_headers_text(const struct http_request *req, struct buf *out);
/* Copies the value of header name (case-insensitive) from "name: value\n" lines into out,
 * truncated to fit; false when absent (or cap is 0). */
bool fake_header_lines_find(const char *lines, const char *name, char *out, size_t cap);
/* Fills resp from a fake_response (used by scripted and dynamic fakes). */
enum err_code fake_http_fill(const struct fake_response *fr,
                             const struct http_request *req,
                             struct http_response *resp,
                             struct err *err);

#endif
