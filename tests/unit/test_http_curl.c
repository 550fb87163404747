/*
 * test_http_curl.c - the real transport against a loopback server that misbehaves on purpose:
 * a kept-alive connection reset mid-body must be re-sent on a fresh one, body from its start
 * (libcurl rewinds it through our seek callback), and each curl code is classified once and
 * retried (or not) by aws_call accordingly, through the fake transport.
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "aws.h"
#include "fake_http.h"
#include "fake_sys.h"
#include "http_curl.h"
#include "test_util.h"

#define SERVER_WAIT_MS 5000 /* a test that waits this long has failed: never hang */

/* What the server does with the request it reads on a connection. */
enum server_step {
    STEP_ANSWER,          /* read it all, answer 200 "ok", keep the connection */
    STEP_RESET_MID_BODY,  /* read the headers and half the body, then RST */
    STEP_503_AFTER_HEADS, /* answer 503 SlowDown before reading the body, then close */
};

struct server {
    int listen_fd;
    int port;
    pthread_t thread;
    /* script: steps[i] is for the i-th request, on whichever connection it arrives */
    enum server_step steps[8];
    size_t n_steps;
    /* results */
    int connections;
    size_t requests;
    struct buf bodies[8]; /* the body of each request the server read in full */
    bool failed;
};

static bool wait_readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, SERVER_WAIT_MS) == 1;
}

/* Reads until the end of the headers; returns the Content-Length (0 if none), -1 on EOF. */
static long read_head(int fd, struct buf *extra)
{
    char head[8192];
    size_t len = 0;
    for (;;) {
        if (!wait_readable(fd)) {
            return -1;
        }
        ssize_t n = recv(fd, head + len, sizeof(head) - 1 - len, 0);
        if (n <= 0) {
            return -1;
        }
        len += (size_t)n;
        head[len] = '\0';
        char *end = strstr(head, "\r\n\r\n");
        if (end != NULL) {
            size_t used = (size_t)(end + 4 - head);
            struct err e = ERR_INIT;
            if (buf_append(extra, head + used, len - used, &e) != ERR_OK) {
                return -1;
            }
            char *cl = strcasestr(head, "\r\ncontent-length:");
            return cl != NULL && cl < end ? strtol(cl + 17, NULL, 10) : 0;
        }
        if (len == sizeof(head) - 1) {
            return -1;
        }
    }
}

/* Reads until body holds want bytes. */
static bool read_body(int fd, struct buf *body, size_t want)
{
    char chunk[65536];
    while (body->len < want) {
        if (!wait_readable(fd)) {
            return false;
        }
        size_t left = want - body->len;
        ssize_t n = recv(fd, chunk, left < sizeof(chunk) ? left : sizeof(chunk), 0);
        struct err e = ERR_INIT;
        if (n <= 0 || buf_append(body, chunk, (size_t)n, &e) != ERR_OK) {
            return false;
        }
    }
    return true;
}

static bool send_all(int fd, const char *s)
{
    size_t len = strlen(s);
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, s + done, len - done, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/* SO_LINGER 0: close() sends a RST, as a load balancer or a crashed peer does. */
static void reset_connection(int fd)
{
    struct linger lg = {1, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

static int accept_one(struct server *s)
{
    if (!wait_readable(s->listen_fd)) {
        return -1;
    }
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd >= 0) {
        s->connections++;
    }
    return fd;
}

/* Serves the script, one connection after another, until every step is done. */
static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = -1;
    while (s->requests < s->n_steps) {
        if (fd < 0 && (fd = accept_one(s)) < 0) {
            s->failed = true;
            break;
        }
        struct buf *body = &s->bodies[s->requests];
        long want = read_head(fd, body);
        if (want < 0) {
            close(fd); /* the client gave up on this connection */
            fd = -1;
            continue;
        }
        enum server_step step = s->steps[s->requests++];
        if (step == STEP_RESET_MID_BODY) {
            (void)read_body(fd, body, (size_t)want / 2);
            buf_reset(body);
            reset_connection(fd);
            fd = -1;
        } else if (step == STEP_503_AFTER_HEADS) {
            buf_reset(body);
            (void)send_all(fd, "HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n");
            close(fd);
            fd = -1;
        } else if (!read_body(fd, body, (size_t)want) ||
                   !send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) {
            s->failed = true;
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

static void server_start(struct server *s, const enum server_step *steps, size_t n)
{
    memset(s, 0, sizeof(*s));
    assert_true(n <= sizeof(s->steps) / sizeof(s->steps[0]));
    memcpy(s->steps, steps, n * sizeof(*steps));
    s->n_steps = n;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->listen_fd, 8), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
    /* Unblocks a server still waiting for a connection the test will not make. */
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static void server_cleanup(struct server *s)
{
    for (size_t i = 0; i < sizeof(s->bodies) / sizeof(s->bodies[0]); i++) {
        buf_cleanup(&s->bodies[i]);
    }
}

/* A body of n patterned bytes. */
static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 31 + i / 251);
    }
    return p;
}

/* An unlinked file holding junk, then body at offset: the transport must read only the span. */
static int spool_file(const uint8_t *body, size_t n, uint64_t offset)
{
    char path[] = "/tmp/test-http-curl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    uint8_t junk[512];
    memset(junk, 'J', sizeof(junk));
    assert_true(offset <= sizeof(junk));
    assert_int_equal(pwrite(fd, junk, (size_t)offset, 0), (ssize_t)offset);
    assert_int_equal(pwrite(fd, body, n, (off_t)offset), (ssize_t)n);
    assert_int_equal(pwrite(fd, junk, 100, (off_t)(offset + n)), 100);
    return fd;
}

static enum err_code send_req(struct http_transport *t,
                              const struct server *s,
                              const char *method,
                              struct cur body,
                              const struct http_body_file *file,
                              struct http_response *resp,
                              struct err *err)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/obj", s->port);
    struct http_request req = {
        .method = method,
        .url = url,
        .body = body,
        .body_file = file,
        .timeout_ms = SERVER_WAIT_MS,
        .op = "PutObject test",
    };
    return http_send(t, &req, resp, err);
}

struct rewind_row {
    const char *name;
    const char *method;
    bool from_file;
    size_t body_bytes;
};

/*
 * The defect of issue 11: a kept-alive connection the server resets after part of the body.
 * libcurl sees no answer on a reused connection and sends the request again on a fresh one
 * within the same perform, which needs the body from its start. Without a seek callback a
 * streamed body ended there with CURLE_SEND_FAIL_REWIND, which was not even retryable.
 */
static const struct rewind_row rewind_rows[] = {
    {"file_put", "PUT", true, 3000},
    {"file_put_64k", "PUT", true, 64 * 1024},
    {"memory_put", "PUT", false, 3000},
    {"memory_post", "POST", false, 700},
};

static void test_reset_on_reused_connection_resends_whole_body(void **state)
{
    const struct rewind_row *row = *state;
    static const enum server_step steps[] = {STEP_ANSWER, STEP_RESET_MID_BODY, STEP_ANSWER};
    uint8_t *body = pattern(row->body_bytes);
    struct http_body_file file = {-1, 123, row->body_bytes};
    if (row->from_file) {
        file.fd = spool_file(body, row->body_bytes, file.offset);
    }
    struct err err = ERR_INIT;
    struct http_transport *t = http_curl_new(NULL, &err);
    assert_non_null(t);
    struct http_response resp;
    http_response_init(&resp, 1024);
    struct server s;
    server_start(&s, steps, 3);

    /* Warm the connection, so the next request goes out on a reused one. */
    enum err_code warm = send_req(t, &s, "GET", cur_make(NULL, 0), NULL, &resp, &err);
    enum err_code rc = send_req(t, &s, row->method, cur_make(body, row->body_bytes),
                                row->from_file ? &file : NULL, &resp, &err);
    if (rc != ERR_OK) {
        print_error("%s: %s (%s)\n", row->name, err.msg, err_code_name(rc));
    }
    http_transport_free(t); /* closes the connection: the server's last read ends */
    server_stop(&s);        /* before any assertion: the server thread uses s */
    assert_int_equal(warm, ERR_OK);
    assert_int_equal(rc, ERR_OK);
    assert_int_equal(resp.status, 200);
    assert_false(s.failed);
    assert_int_equal(s.connections, 2);
    assert_int_equal(s.requests, 3);
    /* The re-sent request carried the whole body, from its first byte. */
    assert_int_equal(s.bodies[2].len, row->body_bytes);
    assert_memory_equal(s.bodies[2].data, body, row->body_bytes);
    server_cleanup(&s);
    if (row->from_file) {
        close(file.fd);
    }
    free(body);
    http_response_cleanup(&resp);
}

/* A reset while the body is still going out, on a fresh connection: no answer, retryable. */
static void test_reset_mid_body_is_retryable(void **state)
{
    (void)state;
    static const enum server_step steps[] = {STEP_RESET_MID_BODY};
    size_t n = 8 * 1024 * 1024; /* more than the socket buffers hold */
    uint8_t *body = pattern(n);
    struct http_body_file file = {spool_file(body, n, 0), 0, n};
    struct err err = ERR_INIT;
    struct http_transport *t = http_curl_new(NULL, &err);
    assert_non_null(t);
    struct http_response resp;
    http_response_init(&resp, 1024);
    struct server s;
    server_start(&s, steps, 1);
    enum err_code rc = send_req(t, &s, "PUT", cur_make(NULL, 0), &file, &resp, &err);
    http_transport_free(t);
    server_stop(&s);
    server_cleanup(&s);
    assert_int_equal(rc, ERR_TRANSPORT);
    assert_true(err.retryable);
    assert_int_equal(err.http_status, 0);
    assert_non_null(strstr(err.msg, "PutObject test"));
    close(file.fd);
    free(body);
    http_response_cleanup(&resp);
}

/* An early error answer stops the upload: the status arrives, the caller decides. */
static void test_early_503_is_an_answer(void **state)
{
    (void)state;
    static const enum server_step steps[] = {STEP_503_AFTER_HEADS};
    size_t n = 100000;
    uint8_t *body = pattern(n);
    struct http_body_file file = {spool_file(body, n, 7), 7, n};
    struct err err = ERR_INIT;
    struct http_transport *t = http_curl_new(NULL, &err);
    assert_non_null(t);
    struct http_response resp;
    http_response_init(&resp, 1024);
    struct server s;
    server_start(&s, steps, 1);
    enum err_code rc = send_req(t, &s, "PUT", cur_make(NULL, 0), &file, &resp, &err);
    http_transport_free(t);
    server_stop(&s);
    server_cleanup(&s);
    /* Either the 503 was read, or the close beat it and the send failed: both can be retried,
     * and neither may hang or be taken for success. */
    if (rc == ERR_OK) {
        assert_int_equal(resp.status, 503);
    } else {
        assert_int_equal(rc, ERR_TRANSPORT);
        assert_true(err.retryable);
    }
    close(file.fd);
    free(body);
    http_response_cleanup(&resp);
}

struct code_row {
    const char *name;
    int code;
    bool retryable;
};

/* Transport failures after which the same request can simply go again; the rest are ours. */
static const struct code_row code_rows[] = {
    {"SEND_FAIL_REWIND", CURLE_SEND_FAIL_REWIND, true},
    {"SEND_ERROR", CURLE_SEND_ERROR, true},
    {"RECV_ERROR", CURLE_RECV_ERROR, true},
    {"GOT_NOTHING", CURLE_GOT_NOTHING, true},
    {"PARTIAL_FILE", CURLE_PARTIAL_FILE, true},
    {"OPERATION_TIMEDOUT", CURLE_OPERATION_TIMEDOUT, true},
    {"COULDNT_CONNECT", CURLE_COULDNT_CONNECT, true},
    {"COULDNT_RESOLVE_HOST", CURLE_COULDNT_RESOLVE_HOST, true},
    {"COULDNT_RESOLVE_PROXY", CURLE_COULDNT_RESOLVE_PROXY, true},
    {"SSL_CONNECT_ERROR", CURLE_SSL_CONNECT_ERROR, true},
    {"HTTP2", CURLE_HTTP2, true},
    {"HTTP2_STREAM", CURLE_HTTP2_STREAM, true},
    {"OK", CURLE_OK, false},
    {"UNSUPPORTED_PROTOCOL", CURLE_UNSUPPORTED_PROTOCOL, false},
    {"URL_MALFORMAT", CURLE_URL_MALFORMAT, false},
    {"WRITE_ERROR", CURLE_WRITE_ERROR, false},
    {"READ_ERROR", CURLE_READ_ERROR, false},
    {"OUT_OF_MEMORY", CURLE_OUT_OF_MEMORY, false},
    {"ABORTED_BY_CALLBACK", CURLE_ABORTED_BY_CALLBACK, false},
    {"PEER_FAILED_VERIFICATION", CURLE_PEER_FAILED_VERIFICATION, false},
    {"SSL_CACERT_BADFILE", CURLE_SSL_CACERT_BADFILE, false},
    {"TOO_MANY_REDIRECTS", CURLE_TOO_MANY_REDIRECTS, false},
    {"BAD_FUNCTION_ARGUMENT", CURLE_BAD_FUNCTION_ARGUMENT, false},
};

static char *const aws_env[] = {
    "AWS_REGION=us-east-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569",
    NULL,
};

/* The code's class, and what aws_call does with it: a retryable code on every attempt uses the
 * whole budget (re-signing each time), any other stops at the first. */
static void test_curl_code_classification(void **state)
{
    const struct code_row *row = *state;
    assert_int_equal(http_curl_is_retryable(row->code), row->retryable);
    if (row->code == CURLE_OK) {
        return;
    }
    struct fake_sys fs;
    struct creds_provider creds;
    struct aws_endpoints eps;
    struct aws_client c;
    struct err err = ERR_INIT;
    fake_sys_init(&fs, 1700000000000LL);
    struct fake_http *fh = fake_http_new();
    assert_int_equal(aws_endpoints_load(&eps, aws_env, &err), ERR_OK);
    assert_int_equal(creds_provider_init(&creds, aws_env, NULL, &fs.sys, &err), ERR_OK);
    aws_client_init(&c, &fh->base, &fs.sys, &creds, &eps, 3);
    const struct fake_response fail = {0, NULL, NULL, 0, true, row->code};
    const struct fake_response script[] = {fail, fail, fail};
    fake_http_script(fh, script, 3);
    struct aws_request req = {
        .op = "PutObject s3://bkt/k",
        .service = "s3",
        .ep = &eps.s3,
        .method = "PUT",
        .path = "/bkt/k",
        .body = cur_from_str("body"),
        .s3_mode = true,
    };
    struct http_response resp;
    http_response_init(&resp, 1024);
    assert_int_equal(aws_call(&c, &req, &resp, &err), ERR_TRANSPORT);
    assert_int_equal(err.retryable, row->retryable);
    assert_int_equal(fh->n_reqs, row->retryable ? 3 : 1);
    for (size_t i = 0; i < fh->n_reqs; i++) {
        assert_true(cur_eq_str(buf_cur(&fh->reqs[i].body), "body"));
    }
    assert_non_null(strstr(err.msg, "PutObject s3://bkt/k"));
    http_response_cleanup(&resp);
    aws_client_cleanup(&c);
    creds_provider_cleanup(&creds);
    http_transport_free(&fh->base);
}

static int setup_curl(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown_curl(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

#define N_REWIND (sizeof(rewind_rows) / sizeof(rewind_rows[0]))
#define N_CODES  (sizeof(code_rows) / sizeof(code_rows[0]))

int main(void)
{
    struct CMUnitTest tests[N_REWIND + N_CODES + 2];
    size_t n = 0;
    for (size_t i = 0; i < N_REWIND; i++) {
        tests[n++] = (struct CMUnitTest){
            .name = rewind_rows[i].name,
            .test_func = test_reset_on_reused_connection_resends_whole_body,
            .initial_state = (void *)&rewind_rows[i],
        };
    }
    for (size_t i = 0; i < N_CODES; i++) {
        tests[n++] = (struct CMUnitTest){
            .name = code_rows[i].name,
            .test_func = test_curl_code_classification,
            .initial_state = (void *)&code_rows[i],
        };
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reset_mid_body_is_retryable);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_early_503_is_an_answer);
    return _cmocka_run_group_tests("http_curl", tests, n, setup_curl, teardown_curl);
}
