/*
 * sigv4_tool.c - signs one request described as JSON on stdin and prints the signer's texts as
 * JSON, so an independent signer (botocore, tests/integration/test_sigv4_botocore.py) can check
 * them. Input: {"method","url_path","url_query","headers":[[name,value],...],"body","region",
 * "service","s3","access_key","secret_key","token","time_ms"} plus the optional "sign_body",
 * "normalize" (default true) and "payload_hash". Output: {"canonical_request","string_to_sign",
 * "authorization","signature","headers":[[name,value],...]}. Exit 0 on success, 1 on error.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "sigv4.h"

/* A test spec is small; the bound only stops a runaway pipe. */
#define SIGV4_TOOL_MAX_INPUT_BYTES (16 * 1024 * 1024)

static const char *get_str(const cJSON *spec, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool get_bool(const cJSON *spec, const char *name, bool dflt)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, name);
    return cJSON_IsBool(item) ? cJSON_IsTrue(item) : dflt;
}

static enum err_code read_stdin(struct buf *in, struct err *err)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        enum err_code rc = buf_append(in, chunk, n, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (ferror(stdin)) {
        return err_set(err, ERR_INVALID_INPUT, "cannot read stdin");
    }
    return ERR_OK;
}

static enum err_code
parse_headers(const cJSON *spec, struct http_header *headers, size_t *n_headers, struct err *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(spec, "headers");
    const cJSON *pair;
    *n_headers = 0;
    if (!cJSON_IsArray(list)) {
        return err_set(err, ERR_INVALID_INPUT, "\"headers\" must be an array of [name, value]");
    }
    cJSON_ArrayForEach(pair, list)
    {
        const cJSON *name = cJSON_GetArrayItem(pair, 0);
        const cJSON *value = cJSON_GetArrayItem(pair, 1);
        if (!cJSON_IsString(name) || !cJSON_IsString(value)) {
            return err_set(err, ERR_INVALID_INPUT, "each header must be [name, value] strings");
        }
        if (*n_headers == SIGV4_MAX_HEADERS) {
            return err_set(err, ERR_TOO_LARGE, "too many headers");
        }
        headers[*n_headers].name = name->valuestring;
        headers[*n_headers].value = value->valuestring;
        (*n_headers)++;
    }
    return ERR_OK;
}

static enum err_code print_result(const struct sigv4_result *res, struct err *err)
{
    enum err_code rc = ERR_OK;
    cJSON *out = cJSON_CreateObject();
    cJSON *headers = cJSON_AddArrayToObject(out, "headers");
    char *text = NULL;
    if (out == NULL || headers == NULL ||
        cJSON_AddStringToObject(out, "canonical_request", buf_cstr(&res->canonical_request)) ==
            NULL ||
        cJSON_AddStringToObject(out, "string_to_sign", buf_cstr(&res->string_to_sign)) == NULL ||
        cJSON_AddStringToObject(out, "authorization", buf_cstr(&res->authorization)) == NULL ||
        cJSON_AddStringToObject(out, "signature", res->signature) == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory building the output");
        goto out;
    }
    for (size_t i = 0; i < res->n_headers; i++) {
        const char *pair[2] = {res->headers[i].name, res->headers[i].value};
        cJSON *item = cJSON_CreateStringArray(pair, 2);
        if (item == NULL || !cJSON_AddItemToArray(headers, item)) {
            cJSON_Delete(item);
            rc = err_set(err, ERR_NOMEM, "out of memory building the output");
            goto out;
        }
    }
    text = cJSON_PrintUnformatted(out);
    if (text == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory printing the output");
        goto out;
    }
    printf("%s\n", text);
out:
    free(text);
    cJSON_Delete(out);
    return rc;
}

static enum err_code run(struct err *err)
{
    struct buf in = BUF_INIT(SIGV4_TOOL_MAX_INPUT_BYTES);
    struct sigv4_result res;
    struct http_header headers[SIGV4_MAX_HEADERS];
    cJSON *spec = NULL;
    sigv4_result_init(&res);
    enum err_code rc = read_stdin(&in, err);
    if (rc != ERR_OK) {
        goto out;
    }
    spec = cJSON_ParseWithLength((const char *)in.data, in.len);
    if (!cJSON_IsObject(spec)) {
        rc = err_set(err, ERR_INVALID_INPUT, "stdin is not a JSON object");
        goto out;
    }
    struct sigv4_request req = {
        .method = get_str(spec, "method"),
        .path = get_str(spec, "url_path"),
        .query = get_str(spec, "url_query"),
        .headers = headers,
    };
    rc = parse_headers(spec, headers, &req.n_headers, err);
    if (rc != ERR_OK) {
        goto out;
    }
    req.body = cur_from_str(get_str(spec, "body")); /* absent is an empty body */
    struct sigv4_credentials creds = {
        .access_key_id = get_str(spec, "access_key"),
        .secret_access_key = get_str(spec, "secret_key"),
        .session_token = get_str(spec, "token"),
    };
    const cJSON *time_ms = cJSON_GetObjectItemCaseSensitive(spec, "time_ms");
    if (!cJSON_IsNumber(time_ms)) {
        rc = err_set(err, ERR_INVALID_INPUT, "\"time_ms\" must be a number");
        goto out;
    }
    struct sigv4_params params = {
        .region = get_str(spec, "region"),
        .service = get_str(spec, "service"),
        .now_ms = (int64_t)time_ms->valuedouble,
        .s3_mode = get_bool(spec, "s3", false),
        .normalize_path = get_bool(spec, "normalize", true),
        .sign_body = get_bool(spec, "sign_body", false),
        .payload_hash = get_str(spec, "payload_hash"),
    };
    rc = sigv4_sign(&req, &creds, &params, NULL, &res, err);
    if (rc == ERR_OK) {
        rc = print_result(&res, err);
    }
out:
    cJSON_Delete(spec);
    sigv4_result_cleanup(&res);
    buf_cleanup(&in);
    return rc;
}

int main(void)
{
    struct err err = ERR_INIT;
    if (run(&err) != ERR_OK) {
        fprintf(stderr, "sigv4_tool: %s: %s\n", err_code_name(err.code), err.msg);
        return 1;
    }
    return 0;
}
