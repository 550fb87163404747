/*
 * awsjson.c - the JSON protocols' request shape and error bodies, shared by the DynamoDB, Glue
 * and Secrets Manager clients.
 */
#include "awsjson.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "limit.h"

void awsjson_parse_error(const struct http_response *resp,
                         char *code,
                         size_t code_cap,
                         char *message,
                         size_t message_cap)
{
    struct json_val root, v;
    struct err e = ERR_INIT;
    code[0] = '\0';
    message[0] = '\0';
    if (json_validate(buf_cur(&resp->body), 16, &root, &e) != ERR_OK || root.type != JSON_OBJECT) {
        return;
    }
    char type[LIMIT_DDB_ERROR_TYPE_BYTES] = "";
    if (json_object_get_type(&root, "__type", JSON_STRING, &v)) {
        (void)json_string_copy(&v, type, sizeof(type));
        const char *hash = strrchr(type, '#');
        snprintf(code, code_cap, "%s", hash != NULL ? hash + 1 : type);
    }
    if (json_object_get_type(&root, "message", JSON_STRING, &v) ||
        json_object_get_type(&root, "Message", JSON_STRING, &v)) {
        (void)json_string_copy(&v, message, message_cap);
    }
}

enum err_code awsjson_call(struct aws_client *c,
                           const struct awsjson_call *call,
                           struct http_response *resp,
                           struct err *err)
{
    char content_type[40];
    snprintf(content_type, sizeof(content_type), "application/x-amz-json-%s", call->json_version);
    struct http_header headers[] = {
        {"Content-Type", content_type},
        {"X-Amz-Target", call->target},
    };
    struct aws_request req = {
        .op = call->op,
        .service = call->service,
        .ep = call->ep,
        .method = "POST",
        .path = "/",
        .headers = headers,
        .n_headers = 2,
        .body = call->body,
        .parse_error = awsjson_parse_error,
        .check = call->check,
    };
    return aws_call(c, &req, resp, err);
}
