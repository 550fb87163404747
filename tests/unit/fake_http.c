/*
 * fake_http.c - scripted transport for unit tests.
 */
#include "fake_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_body.h"
#include "http_curl.h"

enum err_code fake_http_fill(const struct fake_response *fr,
                             const struct http_request *req,
                             struct http_response *resp,
                             struct err *err)
{
    http_response_reset(resp);
    if (fr->transport_error) {
        const char *op = req->op != NULL ? req->op : req->method;
        if (fr->curl_code == 0) {
            return err_transport(err, op, "Connection reset by peer (fake)");
        }
        char detail[64];
        snprintf(detail, sizeof(detail), "curl error %d (fake)", fr->curl_code);
        enum err_code rc = err_transport(err, op, detail);
        err->retryable = http_curl_is_retryable(fr->curl_code);
        return rc;
    }
    resp->status = fr->status;
    enum err_code rc = ERR_OK;
    if (fr->headers != NULL) {
        rc = buf_append_str(&resp->headers, fr->headers, err);
    }
    if (rc == ERR_OK && fr->body != NULL) {
        size_t n = fr->body_len != 0 ? fr->body_len : strlen(fr->body);
        rc = buf_append(&resp->body, fr->body, n, err);
    }
    return rc;
}

void fake_http_headers_text(const struct http_request *req, struct buf *out)
{
    struct err e = ERR_INIT;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (buf_printf(out, &e, "%s: %s\n", req->headers[i].name, req->headers[i].value) !=
            ERR_OK) {
            abort(); /* test helper: out of memory is fatal */
        }
    }
}

static void record(struct fake_http *f, const struct http_request *req)
{
    if (f->n_reqs == f->cap_reqs) {
        size_t cap = f->cap_reqs == 0 ? 8 : f->cap_reqs * 2;
        struct fake_request *p = realloc(f->reqs, cap * sizeof(*p));
        if (p == NULL) {
            abort(); /* test helper: out of memory is fatal */
        }
        f->reqs = p;
        f->cap_reqs = cap;
    }
    struct fake_request *r = &f->reqs[f->n_reqs++];
    memset(r, 0, sizeof(*r));
    strncpy(r->method, req->method, sizeof(r->method) - 1);
    r->url = strdup(req->url);
    r->timeout_ms = req->timeout_ms;
    fake_http_headers_text(req, &r->headers);
    /* The body as the real transport reads it: through a reader, from its first byte. */
    struct err e = ERR_INIT;
    struct http_body_reader body;
    http_body_reader_init(&body, req);
    char chunk[65536];
    for (;;) {
        size_t n = 0;
        if (http_body_read(&body, chunk, sizeof(chunk), &n, &e) != ERR_OK ||
            buf_append(&r->body, chunk, n, &e) != ERR_OK) {
            abort(); /* test helper: an unreadable body is a broken test */
        }
        if (n == 0) {
            break;
        }
    }
}

static enum err_code fake_send(struct http_transport *self,
                               const struct http_request *req,
                               struct http_response *resp,
                               struct err *err)
{
    struct fake_http *f = (struct fake_http *)self;
    record(f, req);
    /* Responders see a streamed body as bytes, as a server would. */
    struct http_request flat = *req;
    if (req->body_file != NULL) {
        flat.body = buf_cur(&f->reqs[f->n_reqs - 1].body);
        flat.body_file = NULL;
    }
    if (f->next < f->n_script) {
        return fake_http_fill(&f->script[f->next++], &flat, resp, err);
    }
    if (f->fn != NULL) {
        http_response_reset(resp);
        if (f->fn_lock != NULL) {
            pthread_mutex_lock(f->fn_lock);
        }
        enum err_code rc = f->fn(f->fn_ctx, &flat, resp, err);
        if (f->fn_lock != NULL) {
            pthread_mutex_unlock(f->fn_lock);
        }
        return rc;
    }
    return err_transport(err, req->op != NULL ? req->op : req->method, "fake: script exhausted");
}

void fake_http_clear(struct fake_http *f)
{
    for (size_t i = 0; i < f->n_reqs; i++) {
        free(f->reqs[i].url);
        buf_cleanup(&f->reqs[i].headers);
        buf_cleanup(&f->reqs[i].body);
    }
    f->n_reqs = 0;
}

static void fake_destroy(struct http_transport *self)
{
    struct fake_http *f = (struct fake_http *)self;
    fake_http_clear(f);
    free(f->reqs);
    free(f);
}

struct fake_http *fake_http_new(void)
{
    struct fake_http *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        abort();
    }
    f->base.send = fake_send;
    f->base.destroy = fake_destroy;
    return f;
}

void fake_http_script(struct fake_http *f, const struct fake_response *script, size_t n)
{
    f->script = script;
    f->n_script = n;
    f->next = 0;
}

void fake_http_set_fn(struct fake_http *f, fake_http_fn fn, void *ctx)
{
    f->fn = fn;
    f->fn_ctx = ctx;
}

bool fake_header_lines_find(const char *lines, const char *name, char *out, size_t cap)
{
    if (cap == 0) {
        return false;
    }
    size_t nlen = strlen(name);
    const char *p = lines;
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        if (len > nlen + 1 && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            snprintf(out, cap, "%.*s", (int)(len - nlen - 2), p + nlen + 2);
            return true;
        }
        p += len + (p[len] == '\n' ? 1 : 0);
    }
    return false;
}

const char *fake_request_header(const struct fake_request *r, const char *name)
{
    static char value[4096];
    return fake_header_lines_find(buf_cstr(&r->headers), name, value, sizeof(value)) ? value : NULL;
}
