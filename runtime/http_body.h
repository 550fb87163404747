/*
 * http_body.h - a request body as a stream a transport reads as it sends, and can start again:
 * bytes in memory, or a span of a file read with pread(2). A request that has to go again (a
 * retry, or libcurl re-sending on a fresh connection when a kept-alive one died) seeks back to 0
 * and gets the same bytes.
 * Ownership: a reader borrows the request's memory or file descriptor for as long as it is used.
 * Errors: a file that cannot be read, or that ends before its length, is ERR_IO; a seek past the
 *   end is ERR_INVALID_INPUT. Neither is retryable: the same bytes would fail the same way.
 * Threads: a reader has one owner at a time.
 */
#ifndef ETL_HTTP_BODY_H
#define ETL_HTTP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"

struct http_body_reader {
    struct cur mem;                    /* the body, when file is NULL */
    const struct http_body_file *file; /* or this span of a file */
    uint64_t length;
    uint64_t pos; /* the next byte to read, 0 to length */
};

/* Starts reading req's body (its file span when body_file is set) from its first byte. */
void http_body_reader_init(struct http_body_reader *r, const struct http_request *req);

/* Copies up to cap bytes from the current position into dst; *n is 0 once the body is done. */
MUST_CHECK enum err_code
http_body_read(struct http_body_reader *r, void *dst, size_t cap, size_t *n, struct err *err);

/* Moves the position to offset (0 = start over), at most the length. */
MUST_CHECK enum err_code
http_body_seek(struct http_body_reader *r, uint64_t offset, struct err *err);

#endif
