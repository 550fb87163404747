/*
 * creds.h - AWS credentials: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN: what Lambda sets), else the container credentials endpoint
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN or
 * _TOKEN_FILE), refreshed five minutes before they expire.
 * Ownership: the provider owns its copy; creds_provider_get copies out into the caller's struct,
 *   which the caller wipes with creds_wipe. Secrets are registered with log_add_secret.
 * Errors: no source configured is ERR_CONFIG naming the variables.
 * Threads: creds_provider_get is safe to call from several threads.
 */
#ifndef ETL_CREDS_H
#define ETL_CREDS_H

#include <pthread.h>
#include <stdint.h>

#include "err.h"
#include "http.h"
#include "sys.h"

#define CREDS_REFRESH_BEFORE_MS (5 * 60 * 1000)

struct creds {
    char access_key_id[128];
    char secret_access_key[128];
    char session_token[4096]; /* "" when none */
    int64_t expires_ms;       /* epoch ms; 0 = does not expire */
};

enum creds_source { CREDS_SOURCE_ENV, CREDS_SOURCE_CONTAINER };

struct creds_provider {
    enum creds_source source;
    struct creds current;
    char uri[1024];
    char auth_token[4096];
    char auth_token_file[1024];
    struct http_transport *http; /* borrowed; container source only */
    const struct sys *sys;       /* borrowed */
    pthread_mutex_t lock;
};

/* Chooses the source from envp; container credentials are fetched here once. */
MUST_CHECK enum err_code creds_provider_init(struct creds_provider *p,
                                             char *const *envp,
                                             struct http_transport *http,
                                             const struct sys *sys,
                                             struct err *err);

/* Copies valid credentials into *out, refreshing first when they expire within 5 minutes. */
MUST_CHECK enum err_code
creds_provider_get(struct creds_provider *p, struct creds *out, struct err *err);

/* Wipes the secrets; accepts NULL and zeroed providers. */
void creds_provider_cleanup(struct creds_provider *p);
void creds_wipe(struct creds *c);

/* Parses the container endpoint's JSON (AccessKeyId, SecretAccessKey, Token, Expiration). */
MUST_CHECK enum err_code
creds_parse_container_json(struct cur body, struct creds *out, struct err *err);

/* Parses an ISO-8601 UTC time ("2026-11-25T13:00:00Z", fractions allowed) to epoch ms. */
bool creds_parse_iso8601(const char *s, int64_t *out_ms);

#endif
