/*
 * aws_clients.c - kept-alive AWS clients for parallel requests: an array of (transport, client)
 * pairs made lazily, so a batch that writes one object never opens a second connection.
 */
#include "aws_clients.h"

#include <stdlib.h>
#include <string.h>

struct aws_clients_slot {
    struct http_transport *http; /* NULL until the slot is first used */
    struct aws_client aws;
};

void aws_clients_init(struct aws_clients *p,
                      struct aws_client *base,
                      aws_transport_fn new_transport,
                      void *transport_ctx,
                      size_t max)
{
    memset(p, 0, sizeof(*p));
    p->base = base;
    p->new_transport = new_transport;
    p->transport_ctx = transport_ctx;
    p->max = max > 0 ? max : 1;
}

void aws_clients_cleanup(struct aws_clients *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; p->slots != NULL && i + 1 < p->max; i++) {
        if (p->slots[i].http != NULL) {
            aws_client_cleanup(&p->slots[i].aws);
            http_transport_free(p->slots[i].http);
        }
    }
    free(p->slots);
    p->slots = NULL;
}

size_t aws_clients_limit(const struct aws_clients *p)
{
    return p->base == NULL ? 0 : p->new_transport == NULL ? 1 : p->max;
}

struct aws_client *aws_clients_get(struct aws_clients *p, size_t i, struct err *err)
{
    if (i >= aws_clients_limit(p)) {
        (void)err_set(err, ERR_INVALID_INPUT, "aws_clients: client %zu of %zu", i,
                      aws_clients_limit(p));
        return NULL;
    }
    if (i == 0) {
        return p->base;
    }
    if (p->slots == NULL) {
        p->slots = calloc(p->max - 1, sizeof(*p->slots));
        if (p->slots == NULL) {
            (void)err_set(err, ERR_NOMEM, "out of memory for %zu AWS clients", p->max - 1);
            return NULL;
        }
    }
    struct aws_clients_slot *s = &p->slots[i - 1];
    if (s->http == NULL) {
        s->http = p->new_transport(p->transport_ctx, err);
        if (s->http == NULL) {
            return NULL;
        }
        const struct aws_client *b = p->base;
        aws_client_init(&s->aws, s->http, b->sys, b->creds, b->eps, b->max_attempts);
    }
    /* The invocation's deadline, and the attempt floor the base client derived from it. */
    s->aws.deadline_mono_ms = p->base->deadline_mono_ms;
    s->aws.min_attempt_ms = p->base->min_attempt_ms;
    s->aws.request_timeout_ms = p->base->request_timeout_ms;
    return &s->aws;
}
