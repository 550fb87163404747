/*
 * sigv4_canonical.h - SigV4 Task 1: the canonical request of a request in wire form, and the URI
 *   encoding it is built with (S3 paths and queries are encoded with it before they are sent).
 * Ownership: everything passed is borrowed for the call; each function appends to the caller's
 *   bufs, which bound what it may write (SIGV4_TEXT_MAX_BYTES in the signer's).
 * Errors: a malformed path, query or header is ERR_INVALID_INPUT naming what is wrong; a buf past
 *   its max is ERR_TOO_LARGE. Nothing here reads the clock, the environment or logs.
 * Threads: no shared state.
 */
#ifndef ETL_SIGV4_CANONICAL_H
#define ETL_SIGV4_CANONICAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "http.h"

/* Headers signed per request, the signer's own included; ours carry under a dozen. */
#define SIGV4_MAX_HEADERS 64
/* Ceiling for each text the signer builds: a session token (~1-2 KiB), a 1024-byte S3 key
 * encoded three times over and HTTP_HEADERS_MAX_BYTES of headers all fit. */
#define SIGV4_TEXT_MAX_BYTES (256 * 1024)

/* A request in wire form, as it is sent and signed. */
struct sigv4_request {
    const char *method; /* "GET", "PUT", ... as sent */
    const char *path;   /* wire form, starting with '/'; "" means "/" */
    const char *query;  /* wire form, without '?'; NULL or "" for none */
    const struct http_header *headers;
    size_t n_headers;
    struct cur body;
};

/*
 * Appends n bytes URI-encoded as SigV4 wants: unreserved bytes (A-Z a-z 0-9 - . _ ~) as is,
 * '/' as is unless encode_slash, every other byte as %XX with uppercase hex.
 */
MUST_CHECK enum err_code sigv4_canonical_uri_encode(struct buf *out,
                                                    const uint8_t *p,
                                                    size_t n,
                                                    bool encode_slash,
                                                    struct err *err);

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

#endif
