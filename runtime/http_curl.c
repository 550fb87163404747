/*
 * http_curl.c - struct http_transport over one libcurl easy handle.
 * The only file that includes <curl/curl.h>. The handle is reset and fully reconfigured per
 * request; curl_easy_reset keeps the connection cache, so keep-alive survives.
 */
#include "http_curl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "limit.h"
#include "log.h"

#define HTTP_CURL_DEFAULT_CONNECT_MS 3000

struct http_curl {
    struct http_transport base; /* first: the vtable cast relies on it */
    CURL *easy;
    char *ca_file;
    int64_t connect_timeout_ms;
    long low_speed_limit_bps;
    long low_speed_time_s;
    char errbuf[CURL_ERROR_SIZE];
};

struct write_ctx {
    struct http_response *resp;
    struct err *err;
    bool too_large;
};

struct read_ctx {
    const struct http_body_file *file;
    uint64_t done;
    bool failed;
    int error; /* errno of the failed pread; 0 when the file ended early */
};

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    struct read_ctx *r = userdata;
    uint64_t left = r->file->length - r->done;
    size_t want = size * nitems;
    if (left < want) {
        want = (size_t)left;
    }
    if (want == 0) {
        return 0;
    }
    ssize_t n = pread(r->file->fd, buffer, want, (off_t)(r->file->offset + r->done));
    if (n <= 0) {
        r->failed = true;
        r->error = n < 0 ? errno : 0;
        return CURL_READFUNC_ABORT;
    }
    r->done += (uint64_t)n;
    return (size_t)n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct write_ctx *w = userdata;
    size_t n = size * nmemb;
    if (buf_append(&w->resp->body, ptr, n, w->err) != ERR_OK) {
        w->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct write_ctx *w = userdata;
    size_t n = size * nmemb;
    /* A new status line starts a new response (100 Continue, redirects): keep only the last. */
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        buf_reset(&w->resp->headers);
        return n;
    }
    struct err ignored = ERR_INIT;
    if (buf_append(&w->resp->headers, ptr, n, &ignored) != ERR_OK) {
        return 0;
    }
    return n;
}

/* Appends one header line; false when out of memory (the list is then unchanged). */
static bool add_header_line(struct curl_slist **list, const char *line)
{
    struct curl_slist *next = curl_slist_append(*list, line);
    if (next == NULL) {
        return false;
    }
    *list = next;
    return true;
}

static bool is_retryable_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

static enum err_code curl_send(struct http_transport *self,
                               const struct http_request *req,
                               struct http_response *resp,
                               struct err *err)
{
    struct http_curl *hc = (struct http_curl *)self;
    CURL *c = hc->easy;
    struct curl_slist *hdrs = NULL;
    enum err_code rc = ERR_OK;
    struct write_ctx w = {resp, err, false};
    struct read_ctx rd = {req->body_file, 0, false, 0};
    const char *op = req->op != NULL ? req->op : req->method;
    bool has_content_type = false;

    http_response_reset(resp);
    curl_easy_reset(c);
    hc->errbuf[0] = '\0';

    for (size_t i = 0; i < req->n_headers; i++) {
        char line[LIMIT_HTTP_HEADER_LINE_BYTES];
        int n = snprintf(line, sizeof(line), "%s: %s", req->headers[i].name, req->headers[i].value);
        if (n < 0 || (size_t)n >= sizeof(line)) {
            rc =
                err_set(err, ERR_INVALID_INPUT, "%s: header %s too long", op, req->headers[i].name);
            goto out;
        }
        if (strcasecmp(req->headers[i].name, "content-type") == 0) {
            has_content_type = true;
        }
        if (!add_header_line(&hdrs, line)) {
            rc = err_set(err, ERR_NOMEM, "%s: out of memory building headers", op);
            goto out;
        }
    }
    /* curl's defaults that we never want: Expect: 100-continue and a form Content-Type. */
    if (!add_header_line(&hdrs, "Expect:") ||
        (!has_content_type && !add_header_line(&hdrs, "Content-Type:")) ||
        !add_header_line(&hdrs, "Accept:")) {
        rc = err_set(err, ERR_NOMEM, "%s: out of memory building headers", op);
        goto out;
    }

    int64_t connect_ms =
        req->connect_timeout_ms > 0 ? req->connect_timeout_ms : hc->connect_timeout_ms;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, hc->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &w);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms : 0));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    /* Send the path as signed: S3 keys may hold "./" or "../" segments curl would squash. */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (hc->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, hc->ca_file);
    }
    if (hc->low_speed_time_s > 0 && req->timeout_ms != 0) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, hc->low_speed_limit_bps);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, hc->low_speed_time_s);
    }

    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req->body_file != NULL) {
        /* Streamed from the file: curl reads it as it sends (memory stays one 64 KiB chunk). */
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_file->length);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &rd);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    } else {
        /* POST-style body with the method replaced: PUT, POST, DELETE. */
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                         req->body.len > 0 ? (const char *)req->body.ptr : "");
        if (strcmp(req->method, "POST") != 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
        }
    }

    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (w.too_large) {
            rc = err_prefix(err, "%s: response body", op);
            goto out;
        }
        if (rd.failed) {
            /* A local file, not the network: trying again would read the same bytes. */
            char ebuf[LIMIT_ERRNO_TEXT_BYTES];
            rc = err_set(err, ERR_IO, "%s: reading the request body from its spool file: %s", op,
                         rd.error != 0 ? strerror_r(rd.error, ebuf, sizeof(ebuf))
                                       : "the file ended early");
            goto out;
        }
        const char *detail = hc->errbuf[0] != '\0' ? hc->errbuf : curl_easy_strerror(cc);
        rc = err_transport(err, op, detail);
        err->retryable = is_retryable_curl(cc);
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    resp->status = (int)status;
    if (log_enabled(LOG_TRACE)) {
        /* URL query strings are stripped here: presigned URLs carry credentials. */
        const char *q = strchr(req->url, '?');
        int ulen = q != NULL ? (int)(q - req->url) : (int)strlen(req->url);
        log_trace("http %s %.*s -> %d (%zu bytes)", req->method, ulen, req->url, resp->status,
                  resp->body.len);
    }
out:
    curl_slist_free_all(hdrs);
    return rc;
}

static void curl_destroy(struct http_transport *self)
{
    struct http_curl *hc = (struct http_curl *)self;
    if (hc->easy != NULL) {
        curl_easy_cleanup(hc->easy);
    }
    free(hc->ca_file);
    free(hc);
}

struct http_transport *http_curl_new(const struct http_curl_options *opts, struct err *err)
{
    struct http_curl *hc = calloc(1, sizeof(*hc));
    if (hc == NULL) {
        (void)err_set(err, ERR_NOMEM, "out of memory creating an HTTP transport");
        return NULL;
    }
    hc->base.send = curl_send;
    hc->base.destroy = curl_destroy;
    hc->easy = curl_easy_init();
    if (hc->easy == NULL) {
        (void)err_set(err, ERR_NOMEM, "curl_easy_init failed");
        curl_destroy(&hc->base);
        return NULL;
    }
    if (opts != NULL && opts->ca_file != NULL) {
        hc->ca_file = strdup(opts->ca_file);
        if (hc->ca_file == NULL) {
            (void)err_set(err, ERR_NOMEM, "out of memory creating an HTTP transport");
            curl_destroy(&hc->base);
            return NULL;
        }
    }
    hc->connect_timeout_ms = (opts != NULL && opts->connect_timeout_ms > 0)
                                 ? opts->connect_timeout_ms
                                 : HTTP_CURL_DEFAULT_CONNECT_MS;
    if (opts != NULL) {
        hc->low_speed_limit_bps = opts->low_speed_limit_bps;
        hc->low_speed_time_s = opts->low_speed_time_s;
    }
    return &hc->base;
}
