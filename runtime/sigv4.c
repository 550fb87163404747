/*
 * sigv4.c - AWS Signature Version 4 header signing, following the "Create a signed AWS API
 * request" guide: Task 1 canonical request (sigv4_canonical.c), Task 2 string to sign, Task 3
 * signing key (sigv4_key.c) and signature, Task 4 the Authorization header. Checked byte for byte
 * against aws-c-auth's suite.
 */
#include "sigv4.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "digest.h"
#include "sigv4_private.h"

/* 9999-12-31T23:59:59Z: X-Amz-Date has four year digits. */
#define AMZ_DATE_MAX_EPOCH_S 253402300799LL

_Static_assert(SIGV4_ADDED_HEADERS_MAX == 4, "token, date, content hash, authorization");
_Static_assert(2 * DIGEST_SHA256_BYTES <= SIGV4_PAYLOAD_HASH_MAX,
               "a hex SHA-256 fits payload_hash");

static enum err_code
sha256_digest(const void *p, size_t n, uint8_t out[DIGEST_SHA256_BYTES], struct err *err)
{
    unsigned int len = 0;
    if (EVP_Digest(n > 0 ? p : "", n, out, &len, EVP_sha256(), NULL) != 1 ||
        len != DIGEST_SHA256_BYTES) {
        return err_set(err, ERR_NOMEM, "sigv4: libcrypto SHA-256 failed");
    }
    return ERR_OK;
}

/* ---- results ------------------------------------------------------------------------------ */

void sigv4_result_init(struct sigv4_result *res)
{
    memset(res, 0, sizeof(*res));
    buf_init(&res->authorization, SIGV4_TEXT_MAX_BYTES);
    buf_init(&res->canonical_request, SIGV4_TEXT_MAX_BYTES);
    buf_init(&res->string_to_sign, SIGV4_TEXT_MAX_BYTES);
}

void sigv4_result_cleanup(struct sigv4_result *res)
{
    if (res == NULL) {
        return;
    }
    buf_cleanup(&res->authorization);
    buf_cleanup(&res->canonical_request);
    buf_cleanup(&res->string_to_sign);
    res->n_headers = 0;
}

static void result_reset(struct sigv4_result *res)
{
    buf_reset(&res->authorization);
    buf_reset(&res->canonical_request);
    buf_reset(&res->string_to_sign);
    memset(res->headers, 0, sizeof(res->headers));
    res->n_headers = 0;
    res->amz_date[0] = '\0';
    res->payload_hash[0] = '\0';
    res->signature[0] = '\0';
}

/* ---- Task 2: the string to sign ----------------------------------------------------------- */

enum err_code sigv4_string_to_sign(struct buf *out,
                                   const char *amz_date,
                                   const char *region,
                                   const char *service,
                                   struct cur canonical_request,
                                   struct err *err)
{
    uint8_t digest[DIGEST_SHA256_BYTES];
    char hash_hex[DIGEST_SHA256_HEX];
    if (amz_date == NULL || strlen(amz_date) != SIGV4_AMZ_DATE_LEN) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: X-Amz-Date must be 16 characters");
    }
    if (region == NULL || service == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: region or service is NULL");
    }
    enum err_code rc = sha256_digest(canonical_request.ptr, canonical_request.len, digest, err);
    if (rc != ERR_OK) {
        return rc;
    }
    digest_hex(digest, sizeof(digest), hash_hex, sizeof(hash_hex));
    return buf_printf(out, err, "%s\n%s\n%.8s/%s/%s/aws4_request\n%s", SIGV4_ALGORITHM, amz_date,
                      amz_date, region, service, hash_hex);
}

static void put_digits(char *p, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

enum err_code sigv4_amz_date(int64_t now_ms, char out[SIGV4_AMZ_DATE_LEN + 1], struct err *err)
{
    out[0] = '\0';
    if (now_ms < 0 || now_ms / 1000 > AMZ_DATE_MAX_EPOCH_S) {
        return err_set(err, ERR_INVALID_INPUT,
                       "sigv4: time %lld ms is outside 1970..9999 (X-Amz-Date)", (long long)now_ms);
    }
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: cannot convert time %lld ms to UTC",
                       (long long)now_ms);
    }
    put_digits(out, tm.tm_year + 1900, 4);
    put_digits(out + 4, tm.tm_mon + 1, 2);
    put_digits(out + 6, tm.tm_mday, 2);
    out[8] = 'T';
    put_digits(out + 9, tm.tm_hour, 2);
    put_digits(out + 11, tm.tm_min, 2);
    put_digits(out + 13, tm.tm_sec, 2);
    out[15] = 'Z';
    out[16] = '\0';
    return ERR_OK;
}

/* ---- Task 4: sigv4_sign ------------------------------------------------------------------- */

/* Region and service go into the credential scope, where '/', ',' and spaces would break it. */
static enum err_code check_scope_part(const char *what, const char *s, struct err *err)
{
    if (s == NULL || s[0] == '\0') {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: %s is not set", what);
    }
    size_t n = strlen(s);
    if (n > SIGV4_SCOPE_PART_MAX) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: %s is %zu characters (max %d)", what, n,
                       SIGV4_SCOPE_PART_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (!sigv4_is_unreserved(c)) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: %s \"%s\" has a character other than A-Z a-z 0-9 - . _ ~", what,
                           s);
        }
    }
    return ERR_OK;
}

static enum err_code check_credentials(const struct sigv4_credentials *creds, struct err *err)
{
    const char *akid = creds->access_key_id;
    if (akid == NULL || akid[0] == '\0') {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: credentials have no access key id");
    }
    size_t n = strlen(akid);
    if (n > SIGV4_ACCESS_KEY_ID_MAX) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: access key id is %zu characters (max %d)", n,
                       SIGV4_ACCESS_KEY_ID_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)akid[i];
        /* It is written as "Credential=<id>/<date>/...,": '/' and ',' would move the fields. */
        if (c <= ' ' || c >= 0x7f || c == '/' || c == ',') {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: access key id has a byte 0x%02x (expected printable ASCII "
                           "without '/' or ',')",
                           c);
        }
    }
    const char *secret = creds->secret_access_key;
    if (secret == NULL || secret[0] == '\0') {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: credentials have no secret access key");
    }
    n = strlen(secret);
    if (n > SIGV4_SECRET_MAX) {
        return err_set(err, ERR_INVALID_INPUT,
                       "sigv4: secret access key is %zu characters (max %d)", n, SIGV4_SECRET_MAX);
    }
    const char *token = creds->session_token;
    for (const uint8_t *p = (const uint8_t *)token; p != NULL && *p != '\0'; p++) {
        /* It becomes a header value: a CR or LF would split the request. */
        if (*p < ' ' || *p == 0x7f) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: session token has a control character (byte 0x%02x)", *p);
        }
    }
    return ERR_OK;
}

static enum err_code check_payload_hash(const char *hash, struct err *err)
{
    size_t n = strlen(hash);
    if (n == 0 || n > SIGV4_PAYLOAD_HASH_MAX) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: payload hash must be 1 to %d characters",
                       SIGV4_PAYLOAD_HASH_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)hash[i];
        if (c <= ' ' || c >= 0x7f) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: payload hash has a byte 0x%02x (expected printable ASCII)", c);
        }
    }
    return ERR_OK;
}

/* The headers the signer writes: a caller's copy would be signed twice or contradict ours. */
static const char *const SIGNER_HEADERS[] = {
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
};

static enum err_code check_caller_headers(const struct sigv4_request *req, struct err *err)
{
    if (req->n_headers > 0 && req->headers == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: headers is NULL");
    }
    /* The signer adds up to three signed headers. */
    if (req->n_headers > SIGV4_MAX_HEADERS - 3) {
        return err_set(err, ERR_TOO_LARGE, "sigv4: %zu headers (max %d)", req->n_headers,
                       SIGV4_MAX_HEADERS - 3);
    }
    bool has_host = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct http_header *h = &req->headers[i];
        enum err_code rc = sigv4_check_header(h, err);
        if (rc != ERR_OK) {
            return rc;
        }
        for (size_t k = 0; k < sizeof(SIGNER_HEADERS) / sizeof(SIGNER_HEADERS[0]); k++) {
            if (strcasecmp(h->name, SIGNER_HEADERS[k]) == 0) {
                return err_set(err, ERR_INVALID_INPUT,
                               "sigv4: header %s is added by the signer; set the credentials or "
                               "params instead of passing it",
                               h->name);
            }
        }
        has_host = has_host || strcasecmp(h->name, "host") == 0;
    }
    if (!has_host) {
        /* curl adds Host itself, so the signer cannot know it: the caller passes curl's value. */
        return err_set(err, ERR_INVALID_INPUT,
                       "sigv4: no Host header; pass the one curl sends (host[:port])");
    }
    return ERR_OK;
}

static enum err_code check_inputs(const struct sigv4_request *req,
                                  const struct sigv4_credentials *creds,
                                  const struct sigv4_params *params,
                                  const struct sigv4_result *res,
                                  struct err *err)
{
    if (req == NULL || creds == NULL || params == NULL || res == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: %s is NULL",
                       req == NULL      ? "request"
                       : creds == NULL  ? "credentials"
                       : params == NULL ? "params"
                                        : "result");
    }
    enum err_code rc = check_scope_part("region", params->region, err);
    if (rc == ERR_OK) {
        rc = check_scope_part("service", params->service, err);
    }
    if (rc == ERR_OK) {
        rc = check_credentials(creds, err);
    }
    if (rc == ERR_OK && params->payload_hash != NULL) {
        rc = check_payload_hash(params->payload_hash, err);
    }
    if (rc == ERR_OK && (req->method == NULL || req->method[0] == '\0')) {
        rc = err_set(err, ERR_INVALID_INPUT, "sigv4: method is not set");
    }
    for (const uint8_t *p = (const uint8_t *)req->method; rc == ERR_OK && *p != '\0'; p++) {
        if (!sigv4_is_tchar(*p)) {
            rc = err_set(err, ERR_INVALID_INPUT, "sigv4: method has a byte 0x%02x", *p);
        }
    }
    if (rc == ERR_OK && req->path == NULL) {
        rc = err_set(err, ERR_INVALID_INPUT, "sigv4: path is NULL (use \"/\")");
    }
    if (rc == ERR_OK && req->body.len > 0 && req->body.ptr == NULL) {
        rc = err_set(err, ERR_INVALID_INPUT, "sigv4: body has a length but no bytes");
    }
    if (rc == ERR_OK) {
        rc = check_caller_headers(req, err);
    }
    return rc;
}

static enum err_code set_payload_hash(const struct sigv4_request *req,
                                      const struct sigv4_params *params,
                                      struct sigv4_result *res,
                                      struct err *err)
{
    if (params->payload_hash != NULL) {
        memcpy(res->payload_hash, params->payload_hash, strlen(params->payload_hash) + 1);
        return ERR_OK;
    }
    uint8_t digest[DIGEST_SHA256_BYTES];
    enum err_code rc = sha256_digest(req->body.ptr, req->body.len, digest, err);
    if (rc == ERR_OK) {
        digest_hex(digest, sizeof(digest), res->payload_hash, sizeof(res->payload_hash));
    }
    return rc;
}

enum err_code sigv4_sign(const struct sigv4_request *req,
                         const struct sigv4_credentials *creds,
                         const struct sigv4_params *params,
                         struct sigv4_key_cache *cache,
                         struct sigv4_result *res,
                         struct err *err)
{
    struct buf signed_headers = BUF_INIT(SIGV4_TEXT_MAX_BYTES);
    uint8_t key[SIGV4_KEY_BYTES] = {0};
    uint8_t mac[DIGEST_SHA256_BYTES] = {0};
    struct http_header all[SIGV4_MAX_HEADERS];
    enum err_code rc = check_inputs(req, creds, params, res, err);
    if (rc != ERR_OK) {
        goto out;
    }
    result_reset(res);
    bool has_token = creds->session_token != NULL && creds->session_token[0] != '\0';
    bool add_content_hash = params->s3_mode || params->sign_body;
    rc = sigv4_amz_date(params->now_ms, res->amz_date, err);
    if (rc == ERR_OK) {
        rc = set_payload_hash(req, params, res, err);
    }
    if (rc != ERR_OK) {
        goto out;
    }

    /* Task 1 over the caller's headers plus ours. */
    size_t n_all = req->n_headers;
    if (n_all > 0) {
        memcpy(all, req->headers, n_all * sizeof(all[0]));
    }
    all[n_all++] = (struct http_header){"X-Amz-Date", res->amz_date};
    if (add_content_hash) {
        all[n_all++] = (struct http_header){"x-amz-content-sha256", res->payload_hash};
    }
    if (has_token && !params->omit_session_token) {
        all[n_all++] = (struct http_header){"X-Amz-Security-Token", creds->session_token};
    }
    struct sigv4_request full = *req;
    full.headers = all;
    full.n_headers = n_all;
    rc = sigv4_canonical_request(&res->canonical_request, &signed_headers, &full, params->s3_mode,
                                 params->normalize_path, res->payload_hash, err);
    if (rc != ERR_OK) {
        goto out;
    }

    /* Task 2 */
    rc = sigv4_string_to_sign(&res->string_to_sign, res->amz_date, params->region, params->service,
                              buf_cur(&res->canonical_request), err);
    if (rc != ERR_OK) {
        goto out;
    }

    /* Task 3 */
    char date[9];
    memcpy(date, res->amz_date, 8);
    date[8] = '\0';
    if (cache != NULL) {
        rc = sigv4_key_cache_get(cache, creds->access_key_id, creds->secret_access_key, date,
                                 params->region, params->service, key, err);
    } else {
        rc = sigv4_key_derive(creds->secret_access_key, date, params->region, params->service, key,
                              err);
    }
    if (rc == ERR_OK) {
        rc = sigv4_hmac_sha256(key, sizeof(key), res->string_to_sign.data, res->string_to_sign.len,
                               mac, err);
    }
    if (rc != ERR_OK) {
        goto out;
    }
    digest_hex(mac, sizeof(mac), res->signature, sizeof(res->signature));

    /* Task 4 */
    rc = buf_printf(&res->authorization, err,
                    "%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                    SIGV4_ALGORITHM, creds->access_key_id, date, params->region, params->service,
                    buf_cstr(&signed_headers), res->signature);
    if (rc != ERR_OK) {
        goto out;
    }
    /* The order of header-signed-request.txt in the suite. With omit_session_token the token
     * is sent but was not signed (post-sts-header-after). */
    if (has_token) {
        res->headers[res->n_headers++] =
            (struct http_header){"X-Amz-Security-Token", creds->session_token};
    }
    res->headers[res->n_headers++] = (struct http_header){"X-Amz-Date", res->amz_date};
    if (add_content_hash) {
        res->headers[res->n_headers++] =
            (struct http_header){"x-amz-content-sha256", res->payload_hash};
    }
    res->headers[res->n_headers++] =
        (struct http_header){"Authorization", buf_cstr(&res->authorization)};
out:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(mac, sizeof(mac));
    buf_cleanup(&signed_headers);
    if (rc != ERR_OK && res != NULL) {
        res->n_headers = 0;
    }
    return rc;
}
