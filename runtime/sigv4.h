/*
 * sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256) in the Authorization header, on libcrypto.
 * Inputs are the request in wire form: path and query exactly as they go into the URL (already
 *   percent-encoded by the caller), the headers exactly as sent (Host included: the value curl
 *   sends, host plus ":port" when the port is not the scheme's default), and the body bytes.
 *   Every header passed is signed, so pass only headers that are really sent (never "Expect:" or
 *   other values that only tell curl to drop a header). Time is an argument; nothing here reads
 *   the clock, the environment or logs.
 * Ownership: requests, credentials and parameters are borrowed for the call. A sigv4_result owns
 *   its bufs (sigv4_result_cleanup); its header values point into the result itself, except
 *   X-Amz-Security-Token, which points at creds->session_token: keep the credentials alive until
 *   the request is sent.
 * Errors: bad arguments are ERR_INVALID_INPUT naming the field; a buffer past its ceiling is
 *   ERR_TOO_LARGE; a libcrypto failure is ERR_NOMEM. Messages never carry secrets.
 * Threads: a result and a key cache each have one owner at a time.
 * Query-string presigning (X-Amz-Signature in the URL) is not implemented.
 */
#ifndef ETL_SIGV4_H
#define ETL_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "sigv4_canonical.h"
#include "sigv4_key.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
/* "20150830T123600Z" */
#define SIGV4_AMZ_DATE_LEN 16
/* Hex SHA-256, or a caller's token ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"). */
#define SIGV4_PAYLOAD_HASH_MAX 64
/* X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256, Authorization */
#define SIGV4_ADDED_HEADERS_MAX 4

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when the credentials are not temporary */
};

struct sigv4_params {
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3", "dynamodb" */
    int64_t now_ms;      /* epoch milliseconds, from sys->wall_ms */
    /*
     * S3: the canonical URI is the wire path as is (S3 wants it encoded once and never
     * normalised), and x-amz-content-sha256 is always added. Otherwise the wire path is
     * URI-encoded once more (AWS's "double encoding").
     */
    bool s3_mode;
    bool normalize_path;      /* non-S3: drop "." and ".." segments, merge slashes (AWS wants it) */
    bool sign_body;           /* non-S3: also add and sign x-amz-content-sha256 */
    bool omit_session_token;  /* add X-Amz-Security-Token after signing (a few services want it) */
    const char *payload_hash; /* NULL: hex SHA-256 of the body; else e.g. "UNSIGNED-PAYLOAD" */
};

struct sigv4_result {
    /* Headers to add to the request, in this order: [X-Amz-Security-Token], X-Amz-Date,
     * [x-amz-content-sha256], Authorization. */
    struct http_header headers[SIGV4_ADDED_HEADERS_MAX];
    size_t n_headers;
    char amz_date[SIGV4_AMZ_DATE_LEN + 1];
    char payload_hash[SIGV4_PAYLOAD_HASH_MAX + 1];
    char signature[2 * SIGV4_KEY_BYTES + 1]; /* lowercase hex */
    struct buf authorization;                /* the Authorization value */
    struct buf canonical_request;            /* kept for tests and debugging; never log it */
    struct buf string_to_sign;
};

void sigv4_result_init(struct sigv4_result *res);
/* Frees the bufs; accepts NULL and zeroed results. */
void sigv4_result_cleanup(struct sigv4_result *res);

/*
 * Signs req: fills res (reset first, capacity kept) with the headers to add. cache may be NULL
 * (the key is then derived for this call and wiped). The caller's headers must include Host and
 * must not include the headers the signer adds (Authorization, X-Amz-Date,
 * X-Amz-Security-Token, x-amz-content-sha256): set the credentials and params instead.
 */
MUST_CHECK enum err_code sigv4_sign(const struct sigv4_request *req,
                                    const struct sigv4_credentials *creds,
                                    const struct sigv4_params *params,
                                    struct sigv4_key_cache *cache,
                                    struct sigv4_result *res,
                                    struct err *err);

/* ---- the steps, public for tests (Task 1 is sigv4_canonical.h, Task 3 sigv4_key.h) ---------- */

/* Appends "AWS4-HMAC-SHA256\n<amz_date>\n<date>/<region>/<service>/aws4_request\n<hex sha>". */
MUST_CHECK enum err_code sigv4_string_to_sign(struct buf *out,
                                              const char *amz_date,
                                              const char *region,
                                              const char *service,
                                              struct cur canonical_request,
                                              struct err *err);

/* Formats epoch milliseconds as X-Amz-Date ("20150830T123600Z"); years 1970 to 9999. */
MUST_CHECK enum err_code
sigv4_amz_date(int64_t now_ms, char out[SIGV4_AMZ_DATE_LEN + 1], struct err *err);

#endif
