/*
 * http_curl.c - struct http_transport over one libcurl easy handle.
 * The only file that includes <curl/curl.h>. The handle is reset and fully reconfigured per
 * request; curl_easy_reset keeps the connection cache, so keep-alive survives.
 */
#include "http_curl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http_body.h"
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

/* The request body as curl pulls it: read as it sends, rewound when it must send again. */
struct read_ctx {
    struct http_body_reader body;
    struct err err; /* why the body could not be read; ERR_OK while it could */
};

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    struct read_ctx *r = userdata;
    size_t n = 0;
    if (http_body_read(&r->body, buffer, size * nitems, &n, &r->err) != ERR_OK) {
        return CURL_READFUNC_ABORT;
    }
    return n;
}

/*
 * libcurl sends a request again, within the same perform, when a kept-alive connection turns
 * out dead after the body went out (no answer on a reused connection), or when a redirect or
 * an authentication challenge asks for it. Without this callback a streamed body cannot start
 * over and the transfer ends in CURLE_SEND_FAIL_REWIND.
 */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
    struct read_ctx *r = userdata;
    if (origin != SEEK_SET || offset < 0) {
        return CURL_SEEKFUNC_CANTSEEK; /* libcurl only ever rewinds to an absolute offset */
    }
    struct err e = ERR_INIT;
    if (http_body_seek(&r->body, (uint64_t)offset, &e) != ERR_OK) {
        log_warn("%s", e.msg); /* curl then fails with CURLE_SEND_FAIL_REWIND: retryable */
        return CURL_SEEKFUNC_FAIL;
    }
    return CURL_SEEKFUNC_OK;
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

bool http_curl_is_retryable(int curl_code)
{
    switch ((CURLcode)curl_code) {
    /* Nothing was sent yet: DNS, connect, TLS handshake. */
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    /* The connection died mid-exchange (a reset, a close, a stall): aws_call re-sends the
     * request, re-signed, with its body read again from the first byte. */
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    /* curl could not rewind the body to re-send it on a fresh connection itself; on_seek makes
     * this rare, and a new attempt starts with a new reader anyway. */
    case CURLE_SEND_FAIL_REWIND:
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
    struct read_ctx rd = {.err = ERR_INIT};
    const char *op = req->op != NULL ? req->op : req->method;
    bool has_content_type = false;

    http_response_reset(resp);
    http_body_reader_init(&rd.body, req);
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
    } else {
        /* PUT, POST and DELETE: every body, in memory or spooled, goes through one reader that
         * curl pulls as it sends (memory stays one 64 KiB chunk for a spooled body) and can
         * rewind; the custom request only renames the method. */
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rd.body.length);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &rd);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, &rd);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }

    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (w.too_large) {
            rc = err_prefix(err, "%s: response body", op);
            goto out;
        }
        if (rd.err.code != ERR_OK) {
            /* The body, not the network: trying again would read the same bytes. */
            *err = rd.err;
            rc = err_prefix(err, "%s", op);
            goto out;
        }
        const char *detail = hc->errbuf[0] != '\0' ? hc->errbuf : curl_easy_strerror(cc);
        rc = err_transport(err, op, detail);
        err->retryable = http_curl_is_retryable((int)cc);
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
