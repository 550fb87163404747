/*
 * aws.c - signed calls with the standard retry mode. Each attempt takes fresh credentials and a
 * fresh X-Amz-Date, so a retry after a long backoff never fails on clock skew.
 */
#include "aws.h"

#include <stdio.h>
#include <string.h>

#include "env.h"
#include "limit.h"
#include "log.h"

/* What classify_response reads is what struct err keeps, so nothing is cut twice. */
_Static_assert(LIMIT_AWS_ERROR_CODE_BYTES == sizeof(((struct err *)0)->aws_code),
               "an AWS error code fits struct err");

void aws_client_init(struct aws_client *c,
                     struct http_transport *http,
                     const struct sys *sys,
                     struct creds_provider *creds,
                     const struct aws_endpoints *eps,
                     int max_attempts)
{
    memset(c, 0, sizeof(*c));
    c->http = http;
    c->sys = sys;
    c->creds = creds;
    c->eps = eps;
    c->max_attempts = max_attempts > 0 ? max_attempts : AWS_DEFAULT_MAX_ATTEMPTS;
    c->request_timeout_ms = AWS_REQUEST_TIMEOUT_MS;
    c->min_attempt_ms = AWS_MIN_ATTEMPT_MS;
    sigv4_key_cache_init(&c->keys);
}

void aws_client_cleanup(struct aws_client *c)
{
    if (c != NULL) {
        sigv4_key_cache_cleanup(&c->keys);
    }
}

void aws_client_set_deadline(struct aws_client *c, int64_t deadline_mono_ms)
{
    c->deadline_mono_ms = deadline_mono_ms;
    /* A short invocation (a 1-second function) still gets its requests: the floor under which
     * no attempt starts is a tenth of the time it has, at most AWS_MIN_ATTEMPT_MS. */
    int64_t left = deadline_mono_ms > 0 ? sys_ms_left(c->sys, deadline_mono_ms) : INT64_MAX;
    int64_t tenth = left / 10;
    c->min_attempt_ms = tenth >= AWS_MIN_ATTEMPT_MS         ? AWS_MIN_ATTEMPT_MS
                        : tenth <= AWS_MIN_ATTEMPT_FLOOR_MS ? AWS_MIN_ATTEMPT_FLOOR_MS
                                                            : tenth;
}

enum err_code aws_max_attempts_from_env(char *const *envp, int *out, struct err *err)
{
    int64_t n = 0;
    enum err_code rc =
        env_get_i64(envp, "AWS_MAX_ATTEMPTS", AWS_DEFAULT_MAX_ATTEMPTS, 1, 20, &n, err);
    *out = (int)n;
    return rc;
}

int64_t aws_backoff_ms(const struct sys *sys, int retry, bool throttled)
{
    int64_t base = throttled ? AWS_THROTTLE_BASE_MS : AWS_BASE_DELAY_MS;
    int64_t ceiling = base;
    for (int i = 1; i < retry && ceiling < AWS_MAX_BACKOFF_MS; i++) {
        ceiling *= 2;
    }
    if (ceiling > AWS_MAX_BACKOFF_MS) {
        ceiling = AWS_MAX_BACKOFF_MS;
    }
    /* Full jitter: uniform over [0, ceiling]. */
    return (int64_t)(sys_random_u64(sys) % (uint64_t)(ceiling + 1));
}

static enum err_code build_url(const struct aws_request *req,
                               char *url,
                               size_t url_cap,
                               char *host,
                               size_t host_cap,
                               struct err *err)
{
    const struct endpoint *ep = req->ep;
    endpoint_host_header(ep, req->bucket, host, host_cap);
    int n = snprintf(url, url_cap, "%s://%s%s%s%s%s", ep->scheme, host, ep->base_path, req->path,
                     (req->query != NULL && req->query[0] != '\0') ? "?" : "",
                     req->query != NULL ? req->query : "");
    if (n < 0 || (size_t)n >= url_cap) {
        return err_set(err, ERR_INVALID_INPUT, "%s: URL too long", req->op);
    }
    return ERR_OK;
}

/* One signed attempt. Returns ERR_OK with resp filled for any HTTP status. */
static enum err_code attempt(struct aws_client *c,
                             const struct aws_request *req,
                             const char *url,
                             const char *host,
                             const char *wire_path,
                             int64_t timeout_ms,
                             struct http_response *resp,
                             struct err *err)
{
    struct creds cr;
    struct sigv4_result sig;
    struct http_header headers[AWS_MAX_EXTRA_HEADERS + 1 + SIGV4_ADDED_HEADERS_MAX];
    sigv4_result_init(&sig);
    enum err_code rc = creds_provider_get(c->creds, &cr, err);
    if (rc != ERR_OK) {
        goto out;
    }
    if (req->n_headers > AWS_MAX_EXTRA_HEADERS) {
        rc = err_set(err, ERR_INVALID_INPUT, "%s: too many headers", req->op);
        goto out;
    }
    size_t n = 0;
    headers[n++] = (struct http_header){"Host", host};
    for (size_t i = 0; i < req->n_headers; i++) {
        headers[n++] = req->headers[i];
    }
    struct sigv4_request sreq = {
        .method = req->method,
        .path = wire_path,
        .query = req->query,
        .headers = headers,
        .n_headers = n,
        .body = req->body,
    };
    struct sigv4_credentials sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
    struct sigv4_params params = {
        .region = c->eps->region,
        .service = req->service,
        .now_ms = sys_wall_ms(c->sys),
        .s3_mode = req->s3_mode,
        .normalize_path = !req->s3_mode,
        .payload_hash = req->payload_hash,
    };
    rc = sigv4_sign(&sreq, &sc, &params, &c->keys, &sig, err);
    if (rc != ERR_OK) {
        (void)err_prefix(err, "%s: signing", req->op);
        goto out;
    }
    for (size_t i = 0; i < sig.n_headers; i++) {
        headers[n++] = sig.headers[i];
    }
    struct http_request hreq = {
        .method = req->method,
        .url = url,
        .headers = headers + 1, /* curl sends Host itself, from the URL */
        .n_headers = n - 1,
        .body = req->body,
        .body_file = req->body_file,
        .timeout_ms = timeout_ms,
        .op = req->op,
    };
    rc = http_send(c->http, &hreq, resp, err);
out:
    sigv4_result_cleanup(&sig);
    creds_wipe(&cr);
    return rc;
}

static enum err_code
classify_response(const struct aws_request *req, struct http_response *resp, struct err *err)
{
    if (resp->status >= 200 && resp->status < 300) {
        if (req->check != NULL && req->check(resp, err) != ERR_OK) {
            return err_prefix(err, "%s", req->op);
        }
        return ERR_OK;
    }
    char code[LIMIT_AWS_ERROR_CODE_BYTES] = "";
    char message[LIMIT_AWS_ERROR_MESSAGE_BYTES] = "";
    char request_id[64] = "";
    struct cur v;
    if (http_response_header(resp, "x-amz-request-id", &v) ||
        http_response_header(resp, "x-amzn-RequestId", &v)) {
        (void)cur_copy_to(v, request_id, sizeof(request_id));
    }
    if (req->parse_error != NULL) {
        req->parse_error(resp, code, sizeof(code), message, sizeof(message));
    }
    return err_from_http(err, req->op, resp->status, code, message, request_id);
}

enum err_code aws_call(struct aws_client *c,
                       const struct aws_request *req,
                       struct http_response *resp,
                       struct err *err)
{
    char url[LIMIT_URL_BYTES];
    char host[LIMIT_HOST_BYTES];
    char wire_path[LIMIT_WIRE_PATH_BYTES];
    enum err_code rc = build_url(req, url, sizeof(url), host, sizeof(host), err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (req->body_file != NULL && req->payload_hash == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "%s: a streamed body needs its SHA-256", req->op);
    }
    /* The signed path is what goes on the wire, the endpoint's base path included. */
    int wn = snprintf(wire_path, sizeof(wire_path), "%s%s", req->ep->base_path, req->path);
    if (wn < 0 || (size_t)wn >= sizeof(wire_path)) {
        return err_set(err, ERR_INVALID_INPUT, "%s: path too long", req->op);
    }
    c->stats.calls++;
    for (int attempt_no = 1;; attempt_no++) {
        int64_t left = sys_ms_left(c->sys, c->deadline_mono_ms);
        if (left < c->min_attempt_ms) {
            if (attempt_no == 1) {
                return err_set(err, ERR_DEADLINE, "%s: only %lld ms left before the deadline",
                               req->op, (long long)left);
            }
            (void)err_prefix(err, "giving up (deadline near) after %d attempts", attempt_no - 1);
            return err->code;
        }
        int64_t timeout = c->request_timeout_ms;
        if (left != INT64_MAX && left - 50 < timeout) {
            timeout = left - 50; /* leave time to report the outcome */
        }
        c->stats.attempts++;
        int64_t t0 = sys_mono_ms(c->sys);
        rc = attempt(c, req, url, host, wire_path, timeout, resp, err);
        if (rc == ERR_OK) {
            rc = classify_response(req, resp, err);
        }
        if (log_enabled(LOG_DEBUG)) {
            log_debug("%s: attempt %d -> %d in %lld ms%s%s", req->op, attempt_no, resp->status,
                      (long long)(sys_mono_ms(c->sys) - t0), rc == ERR_OK ? "" : ": ",
                      rc == ERR_OK ? "" : err->msg);
        }
        if (rc == ERR_OK || !err->retryable) {
            return rc;
        }
        if (attempt_no >= c->max_attempts) {
            (void)err_prefix(err, "after %d attempts", attempt_no);
            return rc;
        }
        bool throttled = err_is_throttling_code(err->aws_code) || err->http_status == 429;
        if (throttled) {
            c->stats.throttled++;
        }
        int64_t delay = aws_backoff_ms(c->sys, attempt_no, throttled);
        left = sys_ms_left(c->sys, c->deadline_mono_ms);
        if (left != INT64_MAX && delay + c->min_attempt_ms > left) {
            (void)err_prefix(err, "after %d attempts (no time left to retry)", attempt_no);
            return rc;
        }
        log_warn("retrying in %lld ms (attempt %d of %d): %s", (long long)delay, attempt_no + 1,
                 c->max_attempts, err->msg);
        c->stats.retries++;
        sys_sleep_ms(c->sys, delay);
    }
}
