/*
 * etl_app.c - wiring. AWS is optional only for local runs that write to a directory and have no
 * credentials; then export requests fail with a clear message instead of at init.
 */
#include "etl_app.h"

#include <string.h>

#include "env.h"
#include "http_curl.h"
#include "log.h"

static struct http_transport *new_curl(void *ctx, struct err *err)
{
    const struct http_curl_options *opts = ctx;
    return http_curl_new(opts, err);
}

enum err_code
etl_app_init(struct etl_app *app, char *const *envp, const struct sys *sys, struct err *err)
{
    memset(app, 0, sizeof(*app));
    enum err_code rc = etl_config_load(&app->cfg, envp, err);
    if (rc != ERR_OK) {
        return rc;
    }
    bool has_creds = env_get_nonempty(envp, "AWS_ACCESS_KEY_ID") != NULL ||
                     env_get_nonempty(envp, "AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL ||
                     env_get_nonempty(envp, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL;
    app->aws_enabled = app->cfg.out.is_s3 || has_creds;
    if (app->aws_enabled) {
        int max_attempts = 0;
        const char *cert_env = env_get_nonempty(envp, "SSL_CERT_FILE");
        struct http_curl_options opts = {
            .ca_file = http_ca_bundle_probe(cert_env, NULL),
            .connect_timeout_ms = 3000,
            .low_speed_limit_bps = 1024,
            .low_speed_time_s = 15,
        };
        if (cert_env != NULL && opts.ca_file == NULL) {
            return err_set(err, ERR_CONFIG, "SSL_CERT_FILE=%.200s: no such readable file",
                           cert_env);
        }
        rc = aws_endpoints_load(&app->eps, envp, err);
        if (rc == ERR_OK) {
            rc = aws_max_attempts_from_env(envp, &max_attempts, err);
        }
        if (rc == ERR_OK) {
            app->http = http_curl_new(&opts, err);
            rc = app->http != NULL ? ERR_OK : err->code;
        }
        if (rc == ERR_OK) {
            rc = creds_provider_init(&app->creds, envp, app->http, sys, err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
        aws_client_init(&app->aws, app->http, sys, &app->creds, &app->eps, max_attempts);
        app->curl_opts = opts;
        if (opts.ca_file == NULL) {
            log_warn(
                "no CA bundle found (set SSL_CERT_FILE): https endpoints will fail verification");
        }
    }
    etl_sink_init(&app->sink, &app->cfg.out, &app->cfg.put, app->aws_enabled ? &app->aws : NULL);
    etl_handler_init(&app->handler, &app->cfg, &app->sink, app->aws_enabled ? &app->aws : NULL,
                     sys);
    if (app->aws_enabled) {
        etl_handler_set_export_clients(&app->handler, new_curl, &app->curl_opts);
    }
    return ERR_OK;
}

void etl_app_cleanup(struct etl_app *app)
{
    if (app == NULL) {
        return;
    }
    etl_handler_cleanup(&app->handler); /* zeroed when init stopped before it */
    if (app->aws_enabled) {
        aws_client_cleanup(&app->aws);
        creds_provider_cleanup(&app->creds);
    }
    http_transport_free(app->http);
    app->http = NULL;
}
