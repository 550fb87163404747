/*
 * endpoint.h - where AWS requests go: the region, and the S3, DynamoDB, Glue and Secrets Manager
 * endpoints with the SDKs' standard overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_GLUE, AWS_ENDPOINT_URL_SECRETS_MANAGER,
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) and S3 addressing (virtual-hosted on AWS; path style on a
 * custom endpoint, for bucket names with dots, or with AWS_S3_USE_PATH_STYLE=true).
 * Ownership: plain values, no heap.
 * Errors: a missing region or a malformed URL is ERR_CONFIG naming the variable.
 */
#ifndef ETL_ENDPOINT_H
#define ETL_ENDPOINT_H

#include <stdbool.h>

#include "err.h"

struct endpoint {
    char scheme[8];      /* "https" or "http" */
    char host[256];      /* no port */
    int port;            /* 0 = the scheme's default */
    char base_path[256]; /* "" or "/prefix" (no trailing slash) */
    bool custom;         /* from an AWS_ENDPOINT_URL* variable */
};

struct aws_endpoints {
    char region[32];
    struct endpoint s3;
    struct endpoint dynamodb;
    struct endpoint glue;
    struct endpoint secretsmanager;
    bool s3_force_path_style;
};

/* Parses "scheme://host[:port][/path]"; only http and https; no user info, query or fragment. */
MUST_CHECK enum err_code
endpoint_parse(const char *url, const char *var_name, struct endpoint *out, struct err *err);

/* Reads the region and every service's endpoint from envp. */
MUST_CHECK enum err_code
aws_endpoints_load(struct aws_endpoints *eps, char *const *envp, struct err *err);

/*
 * The Host header value for an endpoint (host, plus ":port" when not the scheme's default), as
 * libcurl sends it; with a non-NULL bucket (virtual-hosted S3) it is "<bucket>.<host>".
 */
void endpoint_host_header(const struct endpoint *ep, const char *bucket, char *out, size_t cap);

/* True if requests for this bucket use path style ("/bucket/key") rather than "bucket.host". */
bool aws_endpoints_s3_path_style(const struct aws_endpoints *eps, const char *bucket);

#endif
