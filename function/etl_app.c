/*
 * etl_app.c - wiring. AWS is optional only for local runs that write to a directory and have no
 * credentials; then export requests fail with a clear message instead of at init.
 */
#include "etl_app.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "env.h"
#include "http_curl.h"
#include "log.h"
#include "s3.h"
#include "secrets.h"

#define SPEC_MAX_BYTES (1024 * 1024) /* a transform spec, inline, in the package or on S3 */

static enum err_code load_transform(struct etl_app *app, char *const *envp, struct err *err);

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
    buf_init(&app->pii_key, 64 * 1024);
    return app->cfg.transform != NULL ? load_transform(app, envp, err) : ERR_OK;
}

/* A file of the deployment package: relative paths are under LAMBDA_TASK_ROOT (/var/task). */
static enum err_code
read_package_file(char *const *envp, const char *path, struct buf *out, struct err *err)
{
    char full[1024];
    const char *root = env_get_nonempty(envp, "LAMBDA_TASK_ROOT");
    int n = path[0] == '/' || root == NULL ? snprintf(full, sizeof(full), "%s", path)
                                           : snprintf(full, sizeof(full), "%s/%s", root, path);
    if (n < 0 || (size_t)n >= sizeof(full)) {
        return err_set(err, ERR_CONFIG, "ETL_TRANSFORM=file:%.100s: path too long", path);
    }
    FILE *f = fopen(full, "rb");
    if (f == NULL) {
        char why[128];
        return err_set(err, ERR_CONFIG, "ETL_TRANSFORM=file:%.200s: cannot open %.300s: %s", path,
                       full, strerror_r(errno, why, sizeof(why)));
    }
    char chunk[8192];
    size_t got;
    enum err_code rc = ERR_OK;
    while (rc == ERR_OK && (got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = buf_append(out, chunk, got, err);
    }
    fclose(f);
    if (rc == ERR_TOO_LARGE) {
        rc = err_set(err, ERR_CONFIG, "ETL_TRANSFORM=file:%.200s: over %d bytes", path,
                     SPEC_MAX_BYTES);
    }
    return rc;
}

/* The spec's text: inline JSON, file:path in the package, or s3://bucket/key (read once). */
static enum err_code
read_spec(struct etl_app *app, char *const *envp, const char *v, struct buf *out, struct err *err)
{
    while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') {
        v++;
    }
    if (v[0] == '{') {
        return buf_append_str(out, v, err);
    }
    if (strncmp(v, "file:", 5) == 0) {
        return read_package_file(envp, v + 5, out, err);
    }
    if (strncmp(v, "s3://", 5) == 0) {
        char bucket[64];
        const char *key = strchr(v + 5, '/');
        size_t blen = key != NULL ? (size_t)(key - (v + 5)) : 0;
        if (key == NULL || blen == 0 || blen >= sizeof(bucket) || key[1] == '\0') {
            return err_set(err, ERR_CONFIG, "ETL_TRANSFORM=\"%.200s\": expected s3://bucket/key",
                           v);
        }
        if (!app->aws_enabled) {
            return err_set(err, ERR_CONFIG,
                           "ETL_TRANSFORM=%.200s: reading it from S3 needs AWS_REGION and "
                           "credentials",
                           v);
        }
        memcpy(bucket, v + 5, blen);
        bucket[blen] = '\0';
        enum err_code rc = s3_get_object(&app->aws, bucket, key + 1, out, err);
        if (rc != ERR_OK) {
            (void)err_prefix(err, "ETL_TRANSFORM");
            if (rc != ERR_NOMEM) {
                err->code = ERR_CONFIG;
                rc = ERR_CONFIG;
            }
        }
        return rc;
    }
    return err_set(err, ERR_CONFIG,
                   "ETL_TRANSFORM=\"%.60s...\": expected inline JSON ({...}), file:path or "
                   "s3://bucket/key",
                   v);
}

/* The PII key the spec names: an environment variable, or a Secrets Manager secret. */
static enum err_code load_key(struct etl_app *app, char *const *envp, struct err *err)
{
    const struct etl_spec *spec = app->spec;
    enum err_code rc = ERR_OK;
    if (spec->key_source == ETL_PII_KEY_ENV) {
        const char *k = env_get_nonempty(envp, spec->key_ref);
        if (k == NULL) {
            return err_set(err, ERR_CONFIG,
                           "ETL_TRANSFORM: pii_key.env names %.100s, which is not set",
                           spec->key_ref);
        }
        rc = buf_append_str(&app->pii_key, k, err);
    } else if (spec->key_source != ETL_PII_KEY_NONE) {
        const char *arn = spec->key_ref;
        const char *what = spec->key_source == ETL_PII_KEY_SECRET ? "pii_key.secret_arn"
                                                                  : "pii_key.secret_arn_env";
        if (spec->key_source == ETL_PII_KEY_SECRET_ENV) {
            arn = env_get_nonempty(envp, spec->key_ref);
            if (arn == NULL || strncmp(arn, "arn:", 4) != 0) {
                return err_set(
                    err, ERR_CONFIG, "ETL_TRANSFORM: pii_key.secret_arn_env names %.100s, which %s",
                    spec->key_ref, arn == NULL ? "is not set" : "does not hold a secret's ARN");
            }
        }
        if (!app->aws_enabled) {
            return err_set(err, ERR_CONFIG, "ETL_TRANSFORM: %s needs AWS_REGION and credentials",
                           what);
        }
        rc = secrets_get_value(&app->aws, arn, &app->pii_key, err);
        if (rc != ERR_OK && rc != ERR_NOMEM) {
            (void)err_prefix(err, "ETL_TRANSFORM: %s", what);
            err->code = ERR_CONFIG;
            rc = ERR_CONFIG;
        }
    }
    if (rc == ERR_OK && spec->key_source != ETL_PII_KEY_NONE) {
        if (app->pii_key.len == 0) {
            return err_set(err, ERR_CONFIG, "ETL_TRANSFORM: the PII key is empty");
        }
        log_add_secret(buf_cstr(&app->pii_key)); /* never in a log line, even by accident */
    }
    return rc;
}

/* ETL_TRANSFORM: read, parsed and validated once; the pipelines run it on every row. */
static enum err_code load_transform(struct etl_app *app, char *const *envp, struct err *err)
{
    struct buf *text = &app->spec_text;
    buf_init(text, SPEC_MAX_BYTES);
    enum err_code rc = read_spec(app, envp, app->cfg.transform, text, err);
    if (rc == ERR_TOO_LARGE) {
        rc = err_set(err, ERR_CONFIG, "ETL_TRANSFORM: the spec is over %d bytes", SPEC_MAX_BYTES);
    }
    if (rc == ERR_OK) {
        rc = etl_spec_parse(buf_cur(text), &app->spec, err);
    }
    if (rc == ERR_OK) {
        rc = load_key(app, envp, err);
    }
    if (rc == ERR_OK && app->cfg.snapshot.layout->format != NULL) {
        rc = err_set(err, ERR_CONFIG,
                     "ETL_TRANSFORM does not apply to ETL_SNAPSHOT_FORMAT=%s (DynamoDB's own "
                     "export keeps the items as they are): use rows",
                     app->cfg.snapshot.layout->name);
    }
    if (rc == ERR_OK) {
        app->cfg.snapshot.spec = app->spec;
        app->cfg.snapshot.spec_text = buf_cur(text);
        app->cfg.snapshot.pii_key = app->pii_key.data;
        app->cfg.snapshot.pii_key_len = app->pii_key.len;
        rc = etl_handler_set_transform(&app->handler, app->spec, app->pii_key.data,
                                       app->pii_key.len, err);
    }
    return rc;
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
    etl_spec_free(app->spec);
    app->spec = NULL;
    buf_cleanup(&app->spec_text);
    buf_cleanup_secure(&app->pii_key);
}
