/*
 * etl_app.h - builds the function's real dependencies once, at init: configuration, the AWS
 * endpoints, credentials, HTTP transport and client (when the output or the export needs AWS),
 * the output sink and the handler.
 * Ownership: etl_app owns everything it builds; etl_app_cleanup frees it all (safe after a
 *   failed init).
 * Errors: any bad or missing configuration is ERR_CONFIG naming the variable (an init error).
 */
#ifndef ETL_APP_H
#define ETL_APP_H

#include <stdbool.h>

#include "aws.h"
#include "creds.h"
#include "endpoint.h"
#include "etl_config.h"
#include "etl_handler.h"
#include "etl_sink.h"
#include "etl_spec.h"
#include "http.h"
#include "http_curl.h"

struct etl_app {
    struct etl_config cfg;
    bool aws_enabled;
    struct aws_endpoints eps;
    struct creds_provider creds;
    struct http_transport *http;
    struct aws_client aws;
    struct etl_sink sink;
    struct etl_handler handler;
    struct http_curl_options curl_opts; /* for the export's per-thread connections */
    struct etl_spec *spec;              /* ETL_TRANSFORM, parsed; NULL: none */
    struct buf spec_text;               /* its text (snapshot threads compile their own) */
    struct buf pii_key;                 /* the spec's PII key; wiped at cleanup */
};

MUST_CHECK enum err_code
etl_app_init(struct etl_app *app, char *const *envp, const struct sys *sys, struct err *err);
void etl_app_cleanup(struct etl_app *app);

#endif
