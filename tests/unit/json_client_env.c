/*
 * json_client_env.c - an AWS client on a fake transport and a fake clock, for the tests of the
 * JSON-protocol clients.
 */
#include "json_client_env.h"

#include <stdlib.h>

#include "test_util.h"

char *const json_client_glue_env[] = {
    "AWS_REGION=eu-west-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_GLUE=http://127.0.0.1:4590",
    NULL,
};

struct json_client_env *json_client_env_new(char *const *envp)
{
    struct json_client_env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    struct err err = ERR_INIT;
    fake_sys_init(&e->fs, 1700000000000LL);
    e->fh = fake_http_new();
    assert_int_equal(aws_endpoints_load(&e->eps, envp, &err), ERR_OK);
    assert_int_equal(creds_provider_init(&e->creds, envp, NULL, &e->fs.sys, &err), ERR_OK);
    aws_client_init(&e->c, &e->fh->base, &e->fs.sys, &e->creds, &e->eps, 3);
    return e;
}

void json_client_env_free(struct json_client_env *e)
{
    if (e == NULL) {
        return;
    }
    aws_client_cleanup(&e->c);
    creds_provider_cleanup(&e->creds);
    http_transport_free(&e->fh->base);
    free(e);
}
