/*
 * rt_loop.c - the Runtime API client and the invoke loop: /next, handler, /response or /error.
 * One keep-alive connection (the transport's easy handle) serves every call. Event bodies grow a
 * reused buffer by doubling, so a 6 MB event costs O(n) copying, not O(n^2).
 */
#include "rt_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limit.h"
#include "log.h"

/* The event buffer's capacity never exceeds its ceiling plus the NUL (buf_reserve), so the
 * buffer of the largest event is kept too. */
_Static_assert(RT_MAX_EVENT_BYTES + 1 <= LIMIT_RT_EVENT_KEEP_BYTES, "the largest event is kept");

/* /response and /error: the API is local; 30 s means it is gone. */
#define RT_API_TIMEOUT_MS 30000

void rt_invocation_init(struct rt_invocation *inv)
{
    memset(inv, 0, sizeof(*inv));
    buf_init(&inv->event, RT_MAX_EVENT_BYTES);
}

static void reset_meta(struct rt_invocation *inv)
{
    inv->request_id[0] = '\0';
    inv->deadline_ms = 0;
    inv->function_arn[0] = '\0';
    inv->trace_id[0] = '\0';
    inv->tenant_id[0] = '\0';
    free(inv->client_context);
    inv->client_context = NULL;
    free(inv->cognito_identity);
    inv->cognito_identity = NULL;
}

void rt_invocation_cleanup(struct rt_invocation *inv)
{
    if (inv == NULL) {
        return;
    }
    reset_meta(inv);
    buf_cleanup(&inv->event);
}

static bool is_request_id_char(uint8_t c)
{
    /* Request ids are UUIDs; be liberal but never accept what could break a URL path. */
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.';
}

static enum err_code
copy_optional(const struct http_response *resp, const char *name, char **out, struct err *err)
{
    struct cur v;
    if (!http_response_header(resp, name, &v) || v.len == 0) {
        return ERR_OK;
    }
    *out = cur_strdup(v);
    if (*out == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory copying %s", name);
    }
    return ERR_OK;
}

enum err_code
rt_parse_next_headers(const struct http_response *resp, struct rt_invocation *inv, struct err *err)
{
    struct cur v;
    reset_meta(inv);
    if (!http_response_header(resp, "Lambda-Runtime-Aws-Request-Id", &v) || v.len == 0) {
        return err_set(err, ERR_INVALID_INPUT, "/next: no Lambda-Runtime-Aws-Request-Id header");
    }
    for (size_t i = 0; i < v.len; i++) {
        if (!is_request_id_char(v.ptr[i])) {
            return err_set(err, ERR_INVALID_INPUT, "/next: malformed request id");
        }
    }
    if (!cur_copy_to(v, inv->request_id, sizeof(inv->request_id))) {
        return err_set(err, ERR_INVALID_INPUT, "/next: request id too long (%zu bytes)", v.len);
    }
    if (http_response_header(resp, "Lambda-Runtime-Deadline-Ms", &v)) {
        int64_t ms = 0;
        if (!cur_to_i64(v, &ms)) {
            return err_set(err, ERR_INVALID_INPUT,
                           "/next: malformed Lambda-Runtime-Deadline-Ms \"%.*s\"",
                           (int)(v.len > 32 ? 32 : v.len), (const char *)v.ptr);
        }
        inv->deadline_ms = ms;
    }
    if (http_response_header(resp, "Lambda-Runtime-Invoked-Function-Arn", &v)) {
        (void)cur_copy_to(v, inv->function_arn, sizeof(inv->function_arn));
    }
    if (http_response_header(resp, "Lambda-Runtime-Trace-Id", &v)) {
        (void)cur_copy_to(v, inv->trace_id, sizeof(inv->trace_id));
    }
    if (http_response_header(resp, "Lambda-Runtime-Aws-Tenant-Id", &v)) {
        (void)cur_copy_to(v, inv->tenant_id, sizeof(inv->tenant_id));
    }
    enum err_code rc =
        copy_optional(resp, "Lambda-Runtime-Client-Context", &inv->client_context, err);
    if (rc == ERR_OK) {
        rc = copy_optional(resp, "Lambda-Runtime-Cognito-Identity", &inv->cognito_identity, err);
    }
    return rc;
}

int64_t rt_invocation_remaining_ms(const struct rt_invocation *inv, const struct sys *sys)
{
    if (inv->deadline_ms <= 0) {
        return INT64_MAX;
    }
    return inv->deadline_ms - sys_wall_ms(sys);
}

int64_t rt_invocation_deadline_mono(const struct rt_invocation *inv, const struct sys *sys)
{
    if (inv->deadline_ms <= 0) {
        return 0;
    }
    int64_t mono = sys_mono_ms(sys) + (inv->deadline_ms - sys_wall_ms(sys));
    return mono > 0 ? mono : 1;
}

enum err_code
rt_error_body(struct buf *out, const char *error_type, const char *message, struct err *err)
{
    enum err_code rc = buf_append_str(out, "{\"errorMessage\":", err);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(out, message, strlen(message), err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, ",\"errorType\":", err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_json_str(out, error_type, strlen(error_type), err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, ",\"stackTrace\":[]}", err);
    }
    return rc;
}

const char *rt_error_type(const struct err *e)
{
    if (err_has_type(e)) {
        return e->type;
    }
    if (e->aws_code[0] != '\0') {
        return e->aws_code; /* an AWS failure reports its code, e.g. ResourceNotFoundException */
    }
    switch (e->code) {
    case ERR_INVALID_INPUT:
        return "InvalidEvent";
    case ERR_CONFIG:
        return "Runtime.ConfigInvalid";
    case ERR_TOO_LARGE:
        return "PayloadTooLarge";
    case ERR_NOMEM:
        return "OutOfMemory";
    case ERR_TRANSPORT:
        return "TransportError";
    case ERR_HTTP:
        return "ServiceError";
    case ERR_DEADLINE:
        return "DeadlineExceeded";
    case ERR_IO:
        return "IOError";
    case ERR_OK:
        break;
    }
    return "Runtime.UnknownReason";
}

enum err_code rt_client_init(struct rt_client *rt,
                             const char *runtime_api,
                             struct http_transport *http,
                             const struct sys *sys,
                             struct err *err)
{
    memset(rt, 0, sizeof(*rt));
    if (runtime_api == NULL || runtime_api[0] == '\0') {
        return err_set(
            err, ERR_CONFIG,
            "AWS_LAMBDA_RUNTIME_API is not set: not running under Lambda or a local invoker");
    }
    if (strchr(runtime_api, '/') != NULL || strchr(runtime_api, ' ') != NULL) {
        return err_set(err, ERR_CONFIG, "AWS_LAMBDA_RUNTIME_API=\"%.100s\": expected host:port",
                       runtime_api);
    }
    int n = snprintf(rt->base_url, sizeof(rt->base_url), "http://%s/2018-06-01", runtime_api);
    if (n < 0 || (size_t)n >= sizeof(rt->base_url)) {
        return err_set(err, ERR_CONFIG, "AWS_LAMBDA_RUNTIME_API is too long");
    }
    rt->http = http;
    rt->sys = sys;
    return ERR_OK;
}

enum err_code rt_next(struct rt_client *rt, struct rt_invocation *inv, struct err *err)
{
    char url[LIMIT_RT_URL_BYTES];
    (void)snprintf(url, sizeof(url), "%.300s/runtime/invocation/next", rt->base_url);
    struct http_request req = {
        .method = "GET", .url = url, .timeout_ms = 0, .op = "Runtime API /next"};
    struct http_response resp;
    http_response_init(&resp, RT_MAX_EVENT_BYTES);
    resp.body = inv->event; /* reuse the event buffer's capacity across invocations */
    resp.body.max = RT_MAX_EVENT_BYTES;
    enum err_code rc = http_send(rt->http, &req, &resp, err);
    inv->event = resp.body;
    if (rc == ERR_TOO_LARGE) {
        /* The headers arrived: answer this invocation with an error instead of dying. */
        struct err perr = ERR_INIT;
        if (rt_parse_next_headers(&resp, inv, &perr) == ERR_OK) {
            buf_reset(&inv->event);
            (void)err_set(err, ERR_TOO_LARGE, "event larger than %d bytes", RT_MAX_EVENT_BYTES);
            err_set_type(err, "EventTooLarge");
        }
        goto out;
    }
    if (rc != ERR_OK) {
        goto out;
    }
    if (resp.status != 200) {
        rc = err_from_http(err, "Runtime API /next", resp.status, NULL, buf_cstr(&resp.body), NULL);
        goto out;
    }
    rc = rt_parse_next_headers(&resp, inv, err);
out:
    buf_cleanup(&resp.headers);
    return rc;
}

static enum err_code post(struct rt_client *rt,
                          const char *url,
                          const struct http_header *headers,
                          size_t n_headers,
                          struct cur body,
                          const char *op,
                          struct err *err)
{
    struct http_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .n_headers = n_headers,
        .body = body,
        .timeout_ms = RT_API_TIMEOUT_MS,
        .op = op,
    };
    struct http_response resp;
    http_response_init(&resp, LIMIT_SMALL_RESPONSE_BYTES);
    enum err_code rc = http_send(rt->http, &req, &resp, err);
    if (rc == ERR_OK && resp.status != 202) {
        rc = err_from_http(err, op, resp.status, NULL, buf_cstr(&resp.body), NULL);
    }
    http_response_cleanup(&resp);
    return rc;
}

enum err_code
rt_respond(struct rt_client *rt, const char *request_id, struct cur body, struct err *err)
{
    char url[LIMIT_RT_URL_BYTES];
    (void)snprintf(url, sizeof(url), "%.300s/runtime/invocation/%.127s/response", rt->base_url,
                   request_id);
    static const struct http_header headers[] = {{"Content-Type", "application/json"}};
    return post(rt, url, headers, 1, body, "Runtime API /response", err);
}

static enum err_code post_error(struct rt_client *rt,
                                const char *url,
                                const char *error_type,
                                const char *message,
                                const char *op,
                                struct err *err)
{
    struct buf body = BUF_INIT(LIMIT_RT_ERROR_BODY_BYTES);
    enum err_code rc = rt_error_body(&body, error_type, message, err);
    if (rc == ERR_OK) {
        struct http_header headers[] = {
            {"Content-Type", "application/json"},
            {"Lambda-Runtime-Function-Error-Type", error_type},
        };
        rc = post(rt, url, headers, 2, buf_cur(&body), op, err);
    }
    buf_cleanup(&body);
    return rc;
}

enum err_code rt_fail(struct rt_client *rt,
                      const char *request_id,
                      const char *error_type,
                      const char *message,
                      struct err *err)
{
    char url[LIMIT_RT_URL_BYTES];
    (void)snprintf(url, sizeof(url), "%.300s/runtime/invocation/%.127s/error", rt->base_url,
                   request_id);
    return post_error(rt, url, error_type, message, "Runtime API /error", err);
}

enum err_code
rt_init_error(struct rt_client *rt, const char *error_type, const char *message, struct err *err)
{
    char url[LIMIT_RT_URL_BYTES];
    (void)snprintf(url, sizeof(url), "%.300s/runtime/init/error", rt->base_url);
    return post_error(rt, url, error_type, message, "Runtime API /init/error", err);
}

static void set_trace_env(const struct rt_invocation *inv)
{
    /* The Runtime API contract: _X_AMZN_TRACE_ID carries this invocation's trace header. */
    if (inv->trace_id[0] != '\0') {
        setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
    } else {
        unsetenv("_X_AMZN_TRACE_ID");
    }
}

/* Answers one invocation; a failure here is the Runtime API's, not the handler's. */
static enum err_code serve_one(struct rt_client *rt,
                               struct rt_invocation *inv,
                               rt_handler_fn handler,
                               void *ctx,
                               struct buf *response,
                               struct err *err)
{
    struct err herr = ERR_INIT;
    buf_reset(response);
    enum err_code hrc = handler(ctx, inv, response, &herr);
    if (hrc == ERR_OK && response->len > RT_MAX_RESPONSE_BYTES) {
        hrc = err_set(&herr, ERR_TOO_LARGE, "response of %zu bytes exceeds the %d-byte limit",
                      response->len, RT_MAX_RESPONSE_BYTES);
        err_set_type(&herr, "Function.ResponseSizeTooLarge");
    }
    enum err_code rc;
    if (hrc == ERR_OK) {
        rc = rt_respond(rt, inv->request_id, buf_cur(response), err);
    } else {
        const char *type = rt_error_type(&herr);
        log_write(LOG_ERROR, (struct log_field[]){LOG_STR("errorType", type)}, 1,
                  "invocation failed: %s", herr.msg);
        rc = rt_fail(rt, inv->request_id, type, herr.msg, err);
    }
    if (rc == ERR_HTTP && err->http_status >= 400 && err->http_status < 500) {
        /* 400/403/413: this invocation is over (timed out, answered); serve the next one. */
        log_error("%s", err->msg);
        err_clear(err);
        rc = ERR_OK;
    }
    return rc;
}

enum err_code rt_run(struct rt_client *rt,
                     rt_handler_fn handler,
                     void *ctx,
                     struct rt_signals *sig,
                     struct err *err)
{
    struct rt_invocation inv;
    struct buf response = BUF_INIT(RT_MAX_RESPONSE_BYTES + 1);
    enum err_code rc = ERR_OK;
    rt_invocation_init(&inv);
    while (!sig->stop) {
        sig->waiting = 1;
        if (sig->stop) {
            break;
        }
        rc = rt_next(rt, &inv, err);
        sig->waiting = 0;
        if (rc == ERR_TOO_LARGE && inv.request_id[0] != '\0') {
            log_set_request_id(inv.request_id);
            log_error("%s", err->msg);
            rc = rt_fail(rt, inv.request_id, rt_error_type(err), err->msg, err);
            log_set_request_id(NULL);
            if (rc != ERR_OK) {
                break;
            }
            continue;
        }
        if (rc != ERR_OK) {
            break;
        }
        set_trace_env(&inv);
        log_set_request_id(inv.request_id);
        rc = serve_one(rt, &inv, handler, ctx, &response, err);
        log_set_request_id(NULL);
        if (rc != ERR_OK) {
            break;
        }
        /* Keep the event buffer's capacity between invocations, up to a bound (limit.h). */
        if (inv.event.cap > LIMIT_RT_EVENT_KEEP_BYTES) {
            buf_cleanup(&inv.event);
        }
        buf_reset(&inv.event);
    }
    sig->waiting = 0;
    rt_invocation_cleanup(&inv);
    buf_cleanup(&response);
    return rc;
}
