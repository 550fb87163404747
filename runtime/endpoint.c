/*
 * endpoint.c - endpoint resolution as the AWS SDKs do it: service-specific override, then the
 * global override, then the regional default (amazonaws.com, or amazonaws.com.cn in China).
 */
#include "endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "env.h"

static bool valid_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '[' || c == ']' || c == ':';
}

enum err_code
endpoint_parse(const char *url, const char *var_name, struct endpoint *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0) {
        snprintf(out->scheme, sizeof(out->scheme), "https");
        rest = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        snprintf(out->scheme, sizeof(out->scheme), "http");
        rest = url + 7;
    } else {
        return err_set(err, ERR_CONFIG, "%s=\"%.100s\": expected an http:// or https:// URL",
                       var_name, url);
    }
    size_t host_end = strcspn(rest, "/?#");
    if (strpbrk(rest, "?#@") != NULL) {
        return err_set(err, ERR_CONFIG,
                       "%s=\"%.100s\": no user info, query or fragment allowed in an endpoint URL",
                       var_name, url);
    }
    /* host[:port], with IPv6 literals in brackets. */
    const char *port_colon = NULL;
    if (rest[0] == '[') {
        const char *close = memchr(rest, ']', host_end);
        if (close == NULL) {
            return err_set(err, ERR_CONFIG, "%s=\"%.100s\": unterminated IPv6 literal", var_name,
                           url);
        }
        if ((size_t)(close + 1 - rest) < host_end) {
            port_colon = close + 1;
        }
    } else {
        port_colon = memchr(rest, ':', host_end);
    }
    size_t hlen = port_colon != NULL ? (size_t)(port_colon - rest) : host_end;
    if (hlen == 0 || hlen >= sizeof(out->host)) {
        return err_set(err, ERR_CONFIG, "%s=\"%.100s\": missing or overlong host", var_name, url);
    }
    for (size_t i = 0; i < hlen; i++) {
        if (!valid_host_char(rest[i])) {
            return err_set(err, ERR_CONFIG, "%s=\"%.100s\": invalid character in host", var_name,
                           url);
        }
    }
    memcpy(out->host, rest, hlen);
    out->host[hlen] = '\0';
    if (port_colon != NULL) {
        if (*port_colon != ':') {
            return err_set(err, ERR_CONFIG, "%s=\"%.100s\": bad port", var_name, url);
        }
        char *end = NULL;
        long port = strtol(port_colon + 1, &end, 10);
        if (end == port_colon + 1 || end != rest + host_end || port < 1 || port > 65535) {
            return err_set(err, ERR_CONFIG, "%s=\"%.100s\": port must be 1-65535", var_name, url);
        }
        bool is_default = (port == 443 && strcmp(out->scheme, "https") == 0) ||
                          (port == 80 && strcmp(out->scheme, "http") == 0);
        out->port = is_default ? 0 : (int)port;
    }
    const char *path = rest + host_end;
    size_t plen = strlen(path);
    while (plen > 0 && path[plen - 1] == '/') {
        plen--;
    }
    if (plen >= sizeof(out->base_path)) {
        return err_set(err, ERR_CONFIG, "%s: endpoint path too long", var_name);
    }
    memcpy(out->base_path, path, plen);
    out->base_path[plen] = '\0';
    out->custom = true;
    return ERR_OK;
}

static bool valid_region(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= 32) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = r[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

static void default_endpoint(struct endpoint *ep, const char *service, const char *region)
{
    memset(ep, 0, sizeof(*ep));
    snprintf(ep->scheme, sizeof(ep->scheme), "https");
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    snprintf(ep->host, sizeof(ep->host), "%s.%s.%s", service, region, suffix);
}

static enum err_code load_service(struct endpoint *ep,
                                  char *const *envp,
                                  bool ignore_overrides,
                                  const char *service,
                                  const char *specific_var,
                                  const char *region,
                                  struct err *err)
{
    if (!ignore_overrides) {
        const char *v = env_get_nonempty(envp, specific_var);
        if (v != NULL) {
            return endpoint_parse(v, specific_var, ep, err);
        }
        v = env_get_nonempty(envp, "AWS_ENDPOINT_URL");
        if (v != NULL) {
            return endpoint_parse(v, "AWS_ENDPOINT_URL", ep, err);
        }
    }
    default_endpoint(ep, service, region);
    return ERR_OK;
}

enum err_code aws_endpoints_load(struct aws_endpoints *eps, char *const *envp, struct err *err)
{
    memset(eps, 0, sizeof(*eps));
    const char *region = env_get_nonempty(envp, "AWS_REGION");
    const char *var = "AWS_REGION";
    if (region == NULL) {
        region = env_get_nonempty(envp, "AWS_DEFAULT_REGION");
        var = "AWS_DEFAULT_REGION";
    }
    if (region == NULL) {
        return err_set(err, ERR_CONFIG,
                       "no AWS region: set AWS_REGION (Lambda sets it) or AWS_DEFAULT_REGION");
    }
    if (!valid_region(region)) {
        return err_set(err, ERR_CONFIG, "%s=\"%.40s\": not a region name (e.g. eu-west-1)", var,
                       region);
    }
    snprintf(eps->region, sizeof(eps->region), "%s", region);
    bool ignore = false;
    enum err_code rc =
        env_get_bool(envp, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", false, &ignore, err);
    if (rc == ERR_OK) {
        rc = env_get_bool(envp, "AWS_S3_USE_PATH_STYLE", false, &eps->s3_force_path_style, err);
    }
    if (rc == ERR_OK) {
        rc = load_service(&eps->s3, envp, ignore, "s3", "AWS_ENDPOINT_URL_S3", region, err);
    }
    if (rc == ERR_OK) {
        rc = load_service(&eps->dynamodb, envp, ignore, "dynamodb", "AWS_ENDPOINT_URL_DYNAMODB",
                          region, err);
    }
    if (rc == ERR_OK) {
        rc = load_service(&eps->glue, envp, ignore, "glue", "AWS_ENDPOINT_URL_GLUE", region, err);
    }
    if (rc == ERR_OK) {
        rc = load_service(&eps->secretsmanager, envp, ignore, "secretsmanager",
                          "AWS_ENDPOINT_URL_SECRETS_MANAGER", region, err);
    }
    return rc;
}

void endpoint_host_header(const struct endpoint *ep, const char *bucket, char *out, size_t cap)
{
    char port[sizeof(":65535")] = "";
    if (ep->port != 0) {
        snprintf(port, sizeof(port), ":%d", ep->port);
    }
    snprintf(out, cap, "%s%s%s%s", bucket != NULL ? bucket : "", bucket != NULL ? "." : "",
             ep->host, port);
}

bool aws_endpoints_s3_path_style(const struct aws_endpoints *eps, const char *bucket)
{
    /* Virtual-hosted names with dots break TLS wildcard matching; the SDKs fall back too. */
    return eps->s3_force_path_style || eps->s3.custom || strchr(bucket, '.') != NULL;
}
