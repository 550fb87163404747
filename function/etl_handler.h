/*
 * etl_handler.h - answers one invocation: dispatches the event to the stream pipeline or the
 * export, sets the AWS clients' deadline from the invocation's, and emits one metrics document.
 * Ownership: the handler borrows its dependencies (config, sink, AWS client, clock) from etl_app
 *   and owns the pipeline state (etl_handler_cleanup).
 * Errors: a bad event is an error for that invocation only; see etl_event.h for the types.
 */
#ifndef ETL_HANDLER_H
#define ETL_HANDLER_H

#include "aws.h"
#include "buf.h"
#include "err.h"
#include "etl_config.h"
#include "etl_export.h"
#include "etl_sink.h"
#include "etl_stream.h"
#include "rt_loop.h"
#include "sys.h"

struct etl_handler {
    const struct sys *sys;
    const struct etl_config *cfg;
    struct aws_client *aws; /* NULL when running without AWS (file output) */
    struct etl_sink *sink;
    struct etl_stream stream;
    struct etl_export export_;
    struct etl_catalog catalog;            /* ETL_CATALOG_DATABASE; off without it or without AWS */
    struct etl_catalog_stats catalog_seen; /* catalog.stats at the last metrics */
    struct buf metrics;                    /* one EMF document */
};

void etl_handler_init(struct etl_handler *h,
                      const struct etl_config *cfg,
                      struct etl_sink *sink,
                      struct aws_client *aws,
                      const struct sys *sys);
void etl_handler_cleanup(struct etl_handler *h);
/* Gives the export what it needs to open one connection per segment thread, and the stream one
 * per concurrent object write. */
void etl_handler_set_export_clients(struct etl_handler *h,
                                    etl_transport_fn new_transport,
                                    void *transport_ctx);

/* Runs the pipelines through spec (borrowed; NULL: none) with the PII key (copied). */
MUST_CHECK enum err_code etl_handler_set_transform(struct etl_handler *h,
                                                   const struct etl_spec *spec,
                                                   const uint8_t *key,
                                                   size_t key_len,
                                                   struct err *err);

/* An rt_handler_fn: ctx is a struct etl_handler. */
MUST_CHECK enum err_code etl_handler_invoke(void *ctx,
                                            const struct rt_invocation *inv,
                                            struct buf *response,
                                            struct err *err);

#endif
