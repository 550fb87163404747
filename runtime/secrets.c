/*
 * secrets.c - GetSecretValue. The answer holds the secret, so its body is wiped as soon as the
 * value is copied out.
 */
#include "secrets.h"

#include <stdio.h>
#include <string.h>

#include "awsjson.h"
#include "digest.h"
#include "json.h"

#define SECRETS_MAX_RESPONSE_BYTES (256 * 1024) /* a secret is at most 64 KB, base64 and JSON */

enum err_code
secrets_get_value(struct aws_client *c, const char *secret_id, struct buf *out, struct err *err)
{
    struct buf body = BUF_INIT(0);
    struct http_response resp;
    http_response_init(&resp, SECRETS_MAX_RESPONSE_BYTES);
    char op[300];
    snprintf(op, sizeof(op), "GetSecretValue %.250s", secret_id);
    enum err_code rc = buf_append_str(&body, "{\"SecretId\":", err);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(&body, secret_id, strlen(secret_id), err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(&body, '}', err);
    }
    if (rc == ERR_OK) {
        const struct awsjson_call call = {
            .service = "secretsmanager",
            .ep = &c->eps->secretsmanager,
            .json_version = "1.1",
            .target = "secretsmanager.GetSecretValue",
            .op = op,
            .body = buf_cur(&body),
        };
        rc = awsjson_call(c, &call, &resp, err);
    }
    struct json_val root, v;
    if (rc == ERR_OK &&
        (json_validate(buf_cur(&resp.body), 8, &root, err) != ERR_OK || root.type != JSON_OBJECT)) {
        rc = err_set(err, ERR_INVALID_INPUT, "%s: the answer is not a JSON object", op);
    }
    if (rc == ERR_OK) {
        if (json_object_get_type(&root, "SecretString", JSON_STRING, &v)) {
            rc = json_string_unescape(&v, out, err);
        } else if (json_object_get_type(&root, "SecretBinary", JSON_STRING, &v)) {
            struct cur b64 = json_string_inner(&v);
            rc = digest_base64_decode((const char *)b64.ptr, b64.len, out, err);
        } else {
            rc = err_set(err, ERR_INVALID_INPUT, "%s: neither SecretString nor SecretBinary", op);
        }
    }
    buf_cleanup_secure(&resp.body);
    http_response_cleanup(&resp);
    buf_cleanup(&body);
    return rc;
}
