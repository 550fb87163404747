/*
 * json_client_env.h - what the tests of the JSON-protocol AWS clients (DynamoDB, Glue, Secrets
 * Manager) share: an aws_client on a fake transport and a fake clock, with endpoints and
 * credentials read from an environment block.
 * Ownership: json_client_env_new() allocates everything (on the heap, so the pointers the client
 *   keeps stay valid); json_client_env_free() frees it. envp is read during the call only.
 * Failures: json_client_env_new() fails the running cmocka test instead of returning an error.
 */
#ifndef ETL_JSON_CLIENT_ENV_H
#define ETL_JSON_CLIENT_ENV_H

#include "aws.h"
#include "creds.h"
#include "endpoint.h"
#include "fake_http.h"
#include "fake_sys.h"

struct json_client_env {
    struct fake_sys fs;
    struct fake_http *fh; /* script its answers with fake_http_script() */
    struct creds_provider creds;
    struct aws_endpoints eps;
    struct aws_client c; /* the client under test: 3 attempts, clock at 1700000000000 ms */
};

/* Glue's tests' environment: eu-west-1, the SigV4 suite's example keys, Glue at 127.0.0.1:4590. */
extern char *const json_client_glue_env[];

struct json_client_env *json_client_env_new(char *const *envp);
void json_client_env_free(struct json_client_env *e);

#endif
