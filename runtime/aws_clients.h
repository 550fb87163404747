/*
 * aws_clients.h - a few AWS clients for requests made in parallel, each on its own HTTP
 * connection, made on first use and kept (connections warm) until aws_clients_cleanup, so that
 * the parallel uploads of one invocation reuse the connections of the last.
 * Client 0 is the base client itself; the others copy its settings (clock, credentials,
 * endpoints, attempts) and, each time they are handed out, its deadline.
 * Ownership: borrows the base client and the transport factory's ctx; owns the clients and
 *   transports it made.
 * Errors: aws_clients_get returns NULL with *err set when a transport cannot be made.
 * Threads: aws_clients_get is called by one thread at a time (the one handing clients to its
 *   workers); each client it returns then has one owner at a time.
 */
#ifndef ETL_AWS_CLIENTS_H
#define ETL_AWS_CLIENTS_H

#include <stddef.h>

#include "aws.h"
#include "err.h"
#include "http.h"

/* Makes one HTTP transport (the real one: http_curl_new with the application's options). */
typedef struct http_transport *(*aws_transport_fn)(void *ctx, struct err *err);

struct aws_clients_slot;

struct aws_clients {
    struct aws_client *base; /* borrowed: client 0, and the settings of the others */
    aws_transport_fn new_transport;
    void *transport_ctx;
    struct aws_clients_slot *slots; /* clients 1 .. max-1, made on first use */
    size_t max;
};

/* At most max clients (base included); new_transport NULL: only the base client. */
void aws_clients_init(struct aws_clients *p,
                      struct aws_client *base,
                      aws_transport_fn new_transport,
                      void *transport_ctx,
                      size_t max);
/* Frees the clients and connections it made; accepts zeroed and NULL. */
void aws_clients_cleanup(struct aws_clients *p);
/* How many clients aws_clients_get can hand out: max, or 1 without a transport factory. */
size_t aws_clients_limit(const struct aws_clients *p);
/* Client i (i < aws_clients_limit), made on first use, with the base client's deadline. */
MUST_CHECK struct aws_client *aws_clients_get(struct aws_clients *p, size_t i, struct err *err);

#endif
