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

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_KEY_BYTES 32 /* HMAC-SHA256 output */
/* "20150830T123600Z" */
#define SIGV4_AMZ_DATE_LEN 16
/* Hex SHA-256, or a caller's token ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"). */
#define SIGV4_PAYLOAD_HASH_MAX 64
/* IAM documents access key ids of 16 to 128 characters. */
#define SIGV4_ACCESS_KEY_ID_MAX 128
/* Real secrets are 40 characters; the bound keeps "AWS4" + secret on the stack. */
#define SIGV4_SECRET_MAX 128
/* Region and service names are short ("us-east-1", "dynamodb"); the bound sizes the key cache. */
#define SIGV4_SCOPE_PART_MAX 63
/* Headers signed per request, the signer's own included; ours carry under a dozen. */
#define SIGV4_MAX_HEADERS 64
/* Ceiling for each text the signer builds: a session token (~1-2 KiB), a 1024-byte S3 key
 * encoded three times over and HTTP_HEADERS_MAX_BYTES of headers all fit. */
#define SIGV4_TEXT_MAX_BYTES (256 * 1024)
/* X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256, Authorization */
#define SIGV4_ADDED_HEADERS_MAX 4

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when the credentials are not temporary */
};

struct sigv4_request {
    const char *method; /* "GET", "PUT", ... as sent */
    const char *path;   /* wire form, starting with '/'; "" means "/" */
    const char *query;  /* wire form, without '?'; NULL or "" for none */
    const struct http_header *headers;
    size_t n_headers;
    struct cur body;
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
 * Caches the signing key of one (date, region, service, access key id). The key only changes
 * at midnight UTC, so a process signing thousands of requests derives it about once a day.
 * The access key id stands for the secret: AWS never gives one id two secrets (a rotated IAM
 * key and every STS session get a new id).
 */
struct sigv4_key_cache {
    bool valid;
    char date[9]; /* "20150830" */
    char region[SIGV4_SCOPE_PART_MAX + 1];
    char service[SIGV4_SCOPE_PART_MAX + 1];
    char access_key_id[SIGV4_ACCESS_KEY_ID_MAX + 1];
    uint8_t key[SIGV4_KEY_BYTES];
    uint64_t derivations; /* how many times a key was derived (tests, metrics) */
};

void sigv4_key_cache_init(struct sigv4_key_cache *cache);
/* Wipes the key; accepts NULL. */
void sigv4_key_cache_cleanup(struct sigv4_key_cache *cache);

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

/* ---- the steps, public for tests ------------------------------------------------------- */

/*
 * Appends n bytes URI-encoded as SigV4 wants: unreserved bytes (A-Z a-z 0-9 - . _ ~) as is,
 * '/' as is unless encode_slash, every other byte as %XX with uppercase hex.
 */
MUST_CHECK enum err_code
sigv4_uri_encode(struct buf *out, const uint8_t *p, size_t n, bool encode_slash, struct err *err);

/*
 * Appends the canonical URI of a wire path: as is for S3 (which must then be valid URL text:
 * a raw space, non-ASCII byte or bad %-escape is ERR_INVALID_INPUT); otherwise normalised (when
 * normalize) and then URI-encoded once more, raw bytes included. An empty path is "/".
 */
MUST_CHECK enum err_code sigv4_canonical_path(struct buf *out,
                                              const char *wire_path,
                                              bool s3_mode,
                                              bool normalize,
                                              struct err *err);

/*
 * Appends the canonical query of a wire query (NULL or "" gives nothing): each k=v (a missing
 * '=' is an empty value) percent-decoded, re-encoded strictly, sorted by key then value.
 * Empty pieces ("a=1&&b=2") are dropped; a malformed %-escape is ERR_INVALID_INPUT.
 */
MUST_CHECK enum err_code
sigv4_canonical_query(struct buf *out, const char *wire_query, struct err *err);

/*
 * Appends the canonical header lines ("name:value\n", sorted; duplicates joined with ',' in the
 * order given; values trimmed, whitespace runs and folded lines squashed to one space) to out,
 * and the signed header list ("host;x-amz-date") to signed_headers.
 */
MUST_CHECK enum err_code sigv4_canonical_headers(struct buf *out,
                                                 struct buf *signed_headers,
                                                 const struct http_header *headers,
                                                 size_t n_headers,
                                                 struct err *err);

/*
 * Appends the canonical request of req, whose headers are the complete signed set (the
 * signer's own included); payload_hash is its last line. The signed header list is appended
 * to signed_headers, which should start empty.
 */
MUST_CHECK enum err_code sigv4_canonical_request(struct buf *out,
                                                 struct buf *signed_headers,
                                                 const struct sigv4_request *req,
                                                 bool s3_mode,
                                                 bool normalize_path,
                                                 const char *payload_hash,
                                                 struct err *err);

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

/* Derives the signing key: HMAC chain over "AWS4"+secret, date ("20150830"), region, service,
 * "aws4_request". */
MUST_CHECK enum err_code sigv4_signing_key(const char *secret_access_key,
                                           const char *date,
                                           const char *region,
                                           const char *service,
                                           uint8_t key[SIGV4_KEY_BYTES],
                                           struct err *err);

/* Copies the signing key for this scope into key, deriving it only when the cache holds another
 * scope or nothing. */
MUST_CHECK enum err_code sigv4_key_cache_get(struct sigv4_key_cache *cache,
                                             const struct sigv4_credentials *creds,
                                             const char *date,
                                             const char *region,
                                             const char *service,
                                             uint8_t key[SIGV4_KEY_BYTES],
                                             struct err *err);

#endif
