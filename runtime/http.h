/*
 * http.h - one HTTP exchange behind an injectable transport (real: http_curl.c; tests: fake_http).
 * Ownership: a request borrows everything it points to for the duration of send(); a response
 *   owns its header and body bufs (http_response_cleanup frees them). The transport is owned by
 *   whoever created it and freed with http_transport_free().
 * Errors: send() returns ERR_OK whenever a response arrived, whatever its status; no response is
 *   ERR_TRANSPORT (err->retryable says whether trying again can help); a body past
 *   resp->body.max is ERR_TOO_LARGE.
 * Threads: a transport has one owner at a time.
 */
#ifndef ETL_HTTP_H
#define ETL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct http_header {
    const char *name;
    const char *value;
};

/* A request body read from a file with pread(2), so it can be sent again on a retry without
 * holding it in memory. */
struct http_body_file {
    int fd;
    uint64_t offset;
    uint64_t length;
};

struct http_request {
    const char *method;                /* "GET", "PUT", "POST", "HEAD", "DELETE" */
    const char *url;                   /* absolute; path and query already percent-encoded */
    const struct http_header *headers; /* sent as given; the transport adds only Host */
    size_t n_headers;
    struct cur body;                        /* ignored when body_file is set */
    const struct http_body_file *body_file; /* streamed body, or NULL */
    int64_t timeout_ms;         /* whole exchange; 0 = no limit (the Runtime API's /next) */
    int64_t connect_timeout_ms; /* 0 = the transport's default */
    const char *op;             /* names the call in messages, e.g. "PutObject" */
};

struct http_response {
    int status;
    struct buf headers; /* the final response's header lines, "Name: value\r\n" each */
    struct buf body;    /* body.max bounds what is accepted */
};

#define HTTP_HEADERS_MAX_BYTES (64 * 1024)

void http_response_init(struct http_response *resp, size_t max_body_bytes);
void http_response_reset(struct http_response *resp);
void http_response_cleanup(struct http_response *resp);
/* Finds a header (case-insensitive name); the value is trimmed and borrowed from resp. */
bool http_response_header(const struct http_response *resp, const char *name, struct cur *value);

struct http_transport {
    enum err_code (*send)(struct http_transport *self,
                          const struct http_request *req,
                          struct http_response *resp,
                          struct err *err);
    void (*destroy)(struct http_transport *self);
};

MUST_CHECK static inline enum err_code http_send(struct http_transport *t,
                                                 const struct http_request *req,
                                                 struct http_response *resp,
                                                 struct err *err)
{
    return t->send(t, req, resp, err);
}

/* Frees a transport; accepts NULL. */
void http_transport_free(struct http_transport *t);

/*
 * Picks the CA bundle for TLS: ssl_cert_file when set (it must exist), else the first existing
 * file among the known locations (Amazon Linux 2023/2, Fedora/RHEL, Debian/Ubuntu, SUSE,
 * Alpine/macOS). exists() is injected for tests (NULL = access(2)). Returns NULL if none.
 */
const char *http_ca_bundle_probe(const char *ssl_cert_file, bool (*exists)(const char *path));

#endif
