/*
 * rt_loop.h - the Lambda Runtime API client (2018-06-01) and the invocation loop.
 * Paths: GET /runtime/invocation/next, POST /runtime/invocation/{id}/response|error,
 *   POST /runtime/init/error, all under http://$AWS_LAMBDA_RUNTIME_API/2018-06-01.
 * Ownership: struct rt_client borrows its transport and sys; rt_invocation owns its event bytes
 *   and strings (rt_invocation_cleanup). Handlers borrow the invocation for the call.
 * Errors: a handler failure is posted to /error and the loop goes on; only a failure to talk to
 *   the Runtime API itself (or SIGTERM) ends rt_run().
 */
#ifndef ETL_RT_LOOP_H
#define ETL_RT_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "sys.h"

/* Lambda's synchronous payload limit is 6 MB; the RIE allows 6 MiB + 100 bytes. */
#define RT_MAX_EVENT_BYTES    6291556
#define RT_MAX_RESPONSE_BYTES 6291556

struct rt_invocation {
    char request_id[128];
    int64_t deadline_ms; /* epoch ms; 0 if the header was missing */
    char function_arn[512];
    char trace_id[1024];
    char tenant_id[256];
    char *client_context;   /* JSON text or NULL */
    char *cognito_identity; /* JSON text or NULL */
    struct buf event;
};

void rt_invocation_init(struct rt_invocation *inv);
void rt_invocation_cleanup(struct rt_invocation *inv);

/*
 * Fills inv's metadata from the /next response headers. A missing or malformed request id is
 * ERR_INVALID_INPUT; a malformed deadline is ERR_INVALID_INPUT; other headers are optional.
 */
MUST_CHECK enum err_code
rt_parse_next_headers(const struct http_response *resp, struct rt_invocation *inv, struct err *err);

/* Milliseconds until the deadline by the wall clock (negative when past; INT64_MAX if none). */
int64_t rt_invocation_remaining_ms(const struct rt_invocation *inv, const struct sys *sys);

/*
 * The invocation's deadline (Lambda-Runtime-Deadline-Ms, epoch ms) in the monotonic time base
 * (see sys.h), read against both clocks now: call it once per invocation and use sys_ms_left()
 * from then on. 0 when the invocation has no deadline; never 0 otherwise (a deadline so far in
 * the past that it would come out at or below 0 is 1, which has passed too).
 */
int64_t rt_invocation_deadline_mono(const struct rt_invocation *inv, const struct sys *sys);

/* Builds {"errorMessage":...,"errorType":...,"stackTrace":[]} into out. */
MUST_CHECK enum err_code
rt_error_body(struct buf *out, const char *error_type, const char *message, struct err *err);

/* The errorType for an err: its type if set (err_set_type), else its AWS error code if set, else
 * a name derived from the code ("InvalidEvent", "IOError", ...). */
const char *rt_error_type(const struct err *e);

struct rt_client {
    struct http_transport *http; /* borrowed; a dedicated keep-alive connection */
    const struct sys *sys;       /* borrowed */
    char base_url[300];          /* http://host:port/2018-06-01 */
};

MUST_CHECK enum err_code rt_client_init(struct rt_client *rt,
                                        const char *runtime_api,
                                        struct http_transport *http,
                                        const struct sys *sys,
                                        struct err *err);

/* Blocks (no client timeout) until the next invocation arrives. */
MUST_CHECK enum err_code rt_next(struct rt_client *rt, struct rt_invocation *inv, struct err *err);
MUST_CHECK enum err_code
rt_respond(struct rt_client *rt, const char *request_id, struct cur body, struct err *err);
MUST_CHECK enum err_code rt_fail(struct rt_client *rt,
                                 const char *request_id,
                                 const char *error_type,
                                 const char *message,
                                 struct err *err);
MUST_CHECK enum err_code
rt_init_error(struct rt_client *rt, const char *error_type, const char *message, struct err *err);

/*
 * A handler answers one invocation: on ERR_OK, response holds the JSON to return; otherwise
 * *err says why (rt_error_type() names the errorType).
 */
typedef enum err_code (*rt_handler_fn)(void *ctx,
                                       const struct rt_invocation *inv,
                                       struct buf *response,
                                       struct err *err);

/* Flags shared with main()'s SIGTERM handler. */
struct rt_signals {
    volatile sig_atomic_t stop;    /* set by the handler: finish the current invocation, exit */
    volatile sig_atomic_t waiting; /* set by rt_run while blocked in /next: safe to exit now */
};

/*
 * Serves invocations until sig->stop is set (SIGTERM) or the Runtime API fails. Sets
 * _X_AMZN_TRACE_ID per invocation and the log's request id. Returns ERR_OK on a clean stop.
 */
MUST_CHECK enum err_code rt_run(struct rt_client *rt,
                                rt_handler_fn handler,
                                void *ctx,
                                struct rt_signals *sig,
                                struct err *err);

#endif
