/*
 * awsjson.h - one call of an AWS JSON-protocol API (DynamoDB: JSON 1.0; Glue, Secrets Manager:
 * JSON 1.1): POST / with Content-Type application/x-amz-json-<version> and X-Amz-Target, the
 * error from the body's __type (namespace stripped) and message, over aws_call (signing, retries,
 * deadline).
 * Ownership: the call borrows everything it points to; the response is the caller's.
 * Errors: as aws_call; an error response carries the service's code (e.g. "ThrottlingException").
 */
#ifndef ETL_AWSJSON_H
#define ETL_AWSJSON_H

#include <stddef.h>

#include "aws.h"
#include "buf.h"
#include "endpoint.h"
#include "err.h"
#include "http.h"

struct awsjson_call {
    const char *service; /* signing name: "dynamodb", "glue", "secretsmanager" */
    const struct endpoint *ep;
    const char *json_version; /* "1.0" or "1.1" */
    const char *target;       /* "DynamoDB_20120810.Scan", "AWSGlue.GetTable" */
    const char *op;           /* names the call in messages: "GetTable lake.orders" */
    struct cur body;
    aws_check_fn check; /* optional: inspects a 2xx answer */
};

MUST_CHECK enum err_code awsjson_call(struct aws_client *c,
                                      const struct awsjson_call *call,
                                      struct http_response *resp,
                                      struct err *err);

/* Fills code (the __type after '#') and message from a JSON-protocol error body. */
void awsjson_parse_error(const struct http_response *resp,
                         char *code,
                         size_t code_cap,
                         char *message,
                         size_t message_cap);

#endif
