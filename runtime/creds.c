/*
 * creds.c - credential sources and refresh. The container endpoint rules follow the SDKs: a
 * FULL_URI over plain http must point at a loopback or the ECS/EKS link-local addresses.
 */
#include "creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "env.h"
#include "limit.h"
#include "log.h"

#define CREDS_ECS_HOST      "http://169.254.170.2"
#define CREDS_HTTP_TIMEOUT  5000
#define CREDS_FETCH_RETRIES 3

void creds_wipe(struct creds *c)
{
    if (c != NULL) {
        OPENSSL_cleanse(c, sizeof(*c));
    }
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool creds_parse_iso8601(const char *s, int64_t *out_ms)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return false;
    }
    const char *p = s + 19;
    int64_t ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3) {
                ms = ms * 10 + (*p - '0');
            }
            digits++;
            p++;
        }
        if (digits == 0) {
            return false;
        }
        for (; digits < 3; digits++) {
            ms *= 10;
        }
    }
    int64_t offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) {
            return false;
        }
        offset_s = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0') {
        return false;
    }
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out_ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_s) * 1000 + ms;
    return true;
}

static bool copy_json_str(const cJSON *obj, const char *key, char *dst, size_t cap)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return false;
    }
    size_t n = strlen(item->valuestring);
    if (n >= cap) {
        return false;
    }
    memcpy(dst, item->valuestring, n + 1);
    return true;
}

enum err_code creds_parse_container_json(struct cur body, struct creds *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    cJSON *j = cJSON_ParseWithLength((const char *)body.ptr, body.len);
    if (j == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "container credentials: response is not JSON");
    }
    enum err_code rc = ERR_OK;
    char expiration[64] = "";
    if (!copy_json_str(j, "AccessKeyId", out->access_key_id, sizeof(out->access_key_id)) ||
        !copy_json_str(j, "SecretAccessKey", out->secret_access_key,
                       sizeof(out->secret_access_key)) ||
        out->access_key_id[0] == '\0' || out->secret_access_key[0] == '\0') {
        rc = err_set(err, ERR_INVALID_INPUT,
                     "container credentials: AccessKeyId or SecretAccessKey missing");
        goto out;
    }
    (void)copy_json_str(j, "Token", out->session_token, sizeof(out->session_token));
    if (copy_json_str(j, "Expiration", expiration, sizeof(expiration)) &&
        !creds_parse_iso8601(expiration, &out->expires_ms)) {
        rc = err_set(err, ERR_INVALID_INPUT, "container credentials: bad Expiration \"%.40s\"",
                     expiration);
        goto out;
    }
out:
    if (rc != ERR_OK) {
        creds_wipe(out);
    }
    /* The parsed tree held the secret too: wipe its strings before freeing. */
    for (cJSON *it = j->child; it != NULL; it = it->next) {
        if (it->valuestring != NULL) {
            OPENSSL_cleanse(it->valuestring, strlen(it->valuestring));
        }
    }
    cJSON_Delete(j);
    return rc;
}

static bool allowed_http_host(const char *uri)
{
    /* SDK rule: plain-http credential endpoints must be local (loopback, ECS, EKS Pod Identity). */
    static const char *const prefixes[] = {
        "http://127.",           "http://localhost:",     "http://localhost/",
        "http://[::1]",          "http://169.254.170.2:", "http://169.254.170.2/",
        "http://169.254.170.23", "http://[fd00:ec2::23]",
    };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncmp(uri, prefixes[i], strlen(prefixes[i])) == 0) {
            return true;
        }
    }
    return strcmp(uri, "http://169.254.170.2") == 0 || strcmp(uri, "http://localhost") == 0;
}

static enum err_code read_token_file(const char *path, char *dst, size_t cap, struct err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return err_set(err, ERR_CONFIG,
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: cannot read %.200s", path);
    }
    size_t n = fread(dst, 1, cap - 1, f);
    fclose(f);
    dst[n] = '\0';
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r' || dst[n - 1] == ' ')) {
        dst[--n] = '\0';
    }
    return ERR_OK;
}

static enum err_code fetch_container(struct creds_provider *p, struct creds *out, struct err *err)
{
    char token[sizeof(p->auth_token)];
    enum err_code rc = ERR_OK;
    struct http_response resp;
    http_response_init(&resp, LIMIT_CREDS_RESPONSE_BYTES);
    snprintf(token, sizeof(token), "%s", p->auth_token);
    if (p->auth_token_file[0] != '\0') {
        /* Re-read on every refresh: EKS rotates the file. */
        rc = read_token_file(p->auth_token_file, token, sizeof(token), err);
        if (rc != ERR_OK) {
            goto out;
        }
    }
    struct http_header headers[1] = {{"Authorization", token}};
    struct http_request req = {
        .method = "GET",
        .url = p->uri,
        .headers = headers,
        .n_headers = token[0] != '\0' ? 1 : 0,
        .timeout_ms = CREDS_HTTP_TIMEOUT,
        .connect_timeout_ms = 1000,
        .op = "container credentials",
    };
    for (int attempt = 1; attempt <= CREDS_FETCH_RETRIES; attempt++) {
        rc = http_send(p->http, &req, &resp, err);
        if (rc == ERR_OK && resp.status == 200) {
            rc = creds_parse_container_json(buf_cur(&resp.body), out, err);
            goto out;
        }
        if (rc == ERR_OK) {
            rc = err_from_http(err, "container credentials", resp.status, NULL, NULL, NULL);
        }
        if (!err->retryable || attempt == CREDS_FETCH_RETRIES) {
            break;
        }
        sys_sleep_ms(p->sys, 100 * attempt);
    }
out:
    OPENSSL_cleanse(token, sizeof(token));
    /* The response held secrets: wipe before freeing. */
    buf_cleanup_secure(&resp.body);
    http_response_cleanup(&resp);
    return rc;
}

static void register_secrets(const struct creds *c)
{
    log_add_secret(c->secret_access_key);
    log_add_secret(c->session_token);
}

enum err_code creds_provider_init(struct creds_provider *p,
                                  char *const *envp,
                                  struct http_transport *http,
                                  const struct sys *sys,
                                  struct err *err)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->http = http;
    p->sys = sys;
    const char *akid = env_get_nonempty(envp, "AWS_ACCESS_KEY_ID");
    const char *secret = env_get_nonempty(envp, "AWS_SECRET_ACCESS_KEY");
    const char *token = env_get_nonempty(envp, "AWS_SESSION_TOKEN");
    if (akid != NULL || secret != NULL) {
        if (akid == NULL || secret == NULL) {
            return err_set(err, ERR_CONFIG,
                           "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
        }
        if (strlen(akid) >= sizeof(p->current.access_key_id) ||
            strlen(secret) >= sizeof(p->current.secret_access_key) ||
            (token != NULL && strlen(token) >= sizeof(p->current.session_token))) {
            return err_set(err, ERR_CONFIG, "AWS credentials in the environment are too long");
        }
        p->source = CREDS_SOURCE_ENV;
        snprintf(p->current.access_key_id, sizeof(p->current.access_key_id), "%s", akid);
        snprintf(p->current.secret_access_key, sizeof(p->current.secret_access_key), "%s", secret);
        snprintf(p->current.session_token, sizeof(p->current.session_token), "%s",
                 token != NULL ? token : "");
        register_secrets(&p->current);
        return ERR_OK;
    }
    const char *full = env_get_nonempty(envp, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *rel = env_get_nonempty(envp, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (full == NULL && rel == NULL) {
        return err_set(
            err, ERR_CONFIG,
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_CONTAINER_CREDENTIALS_FULL_URI (with AWS_CONTAINER_AUTHORIZATION_TOKEN) or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    }
    int n = rel != NULL ? snprintf(p->uri, sizeof(p->uri), "%s%s", CREDS_ECS_HOST, rel)
                        : snprintf(p->uri, sizeof(p->uri), "%s", full);
    if (n < 0 || (size_t)n >= sizeof(p->uri)) {
        return err_set(err, ERR_CONFIG, "container credentials URI too long");
    }
    if (rel == NULL && strncmp(p->uri, "https://", 8) != 0 && !allowed_http_host(p->uri)) {
        return err_set(
            err, ERR_CONFIG,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is allowed only to loopback or the ECS/EKS link-local addresses");
    }
    if (strncmp(p->uri, "http://", 7) != 0 && strncmp(p->uri, "https://", 8) != 0) {
        return err_set(err, ERR_CONFIG,
                       "AWS_CONTAINER_CREDENTIALS_FULL_URI: expected an http(s) URL");
    }
    const char *auth = env_get_nonempty(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    const char *auth_file = env_get_nonempty(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (auth_file != NULL) {
        snprintf(p->auth_token_file, sizeof(p->auth_token_file), "%s", auth_file);
    } else if (auth != NULL) {
        if (strlen(auth) >= sizeof(p->auth_token)) {
            return err_set(err, ERR_CONFIG, "AWS_CONTAINER_AUTHORIZATION_TOKEN too long");
        }
        snprintf(p->auth_token, sizeof(p->auth_token), "%s", auth);
        log_add_secret(p->auth_token);
    }
    if (http == NULL) {
        return err_set(err, ERR_CONFIG, "container credentials need an HTTP transport");
    }
    p->source = CREDS_SOURCE_CONTAINER;
    enum err_code rc = fetch_container(p, &p->current, err);
    if (rc != ERR_OK) {
        return err_prefix(err, "fetching container credentials from %s", p->uri);
    }
    register_secrets(&p->current);
    return ERR_OK;
}

enum err_code creds_provider_get(struct creds_provider *p, struct creds *out, struct err *err)
{
    enum err_code rc = ERR_OK;
    pthread_mutex_lock(&p->lock);
    int64_t now = sys_wall_ms(p->sys);
    bool expiring =
        p->current.expires_ms != 0 && now >= p->current.expires_ms - CREDS_REFRESH_BEFORE_MS;
    if (expiring && p->source == CREDS_SOURCE_CONTAINER) {
        struct creds fresh;
        struct err ferr = ERR_INIT;
        if (fetch_container(p, &fresh, &ferr) == ERR_OK) {
            creds_wipe(&p->current);
            p->current = fresh;
            register_secrets(&p->current);
            log_debug("refreshed container credentials");
        } else if (now >= p->current.expires_ms) {
            *err = ferr;
            rc = err_prefix(err, "credentials expired and could not be refreshed");
        } else {
            log_warn("credential refresh failed, using the current ones until they expire: %s",
                     ferr.msg);
        }
        creds_wipe(&fresh);
    } else if (expiring && now >= p->current.expires_ms) {
        rc = err_set(err, ERR_CONFIG, "credentials expired");
    }
    if (rc == ERR_OK) {
        *out = p->current;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void creds_provider_cleanup(struct creds_provider *p)
{
    if (p == NULL) {
        return;
    }
    OPENSSL_cleanse(&p->current, sizeof(p->current));
    OPENSSL_cleanse(p->auth_token, sizeof(p->auth_token));
    pthread_mutex_destroy(&p->lock);
}
