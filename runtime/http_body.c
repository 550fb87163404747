/*
 * http_body.c - request bodies read in pieces from memory or a file span, and rewound on demand.
 * pread(2) keeps no file position of its own, so a rewind is only ours to make.
 */
#include "http_body.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "limit.h"

void http_body_reader_init(struct http_body_reader *r, const struct http_request *req)
{
    memset(r, 0, sizeof(*r));
    if (req->body_file != NULL) {
        r->file = req->body_file;
        r->length = req->body_file->length;
    } else {
        r->mem = req->body;
        r->length = req->body.len;
    }
}

enum err_code
http_body_read(struct http_body_reader *r, void *dst, size_t cap, size_t *n, struct err *err)
{
    *n = 0;
    uint64_t left = r->length - r->pos;
    size_t want = left < cap ? (size_t)left : cap;
    if (want == 0) {
        return ERR_OK;
    }
    if (r->file == NULL) {
        memcpy(dst, r->mem.ptr + r->pos, want);
        r->pos += want;
        *n = want;
        return ERR_OK;
    }
    ssize_t got;
    do {
        got = pread(r->file->fd, dst, want, (off_t)(r->file->offset + r->pos));
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        char ebuf[LIMIT_ERRNO_TEXT_BYTES];
        return err_set(err, ERR_IO, "reading the request body from its spool file: %s",
                       strerror_r(errno, ebuf, sizeof(ebuf)));
    }
    if (got == 0) {
        return err_set(err, ERR_IO,
                       "reading the request body from its spool file: it ends at byte %llu of %llu",
                       (unsigned long long)r->pos, (unsigned long long)r->length);
    }
    r->pos += (uint64_t)got;
    *n = (size_t)got;
    return ERR_OK;
}

enum err_code http_body_seek(struct http_body_reader *r, uint64_t offset, struct err *err)
{
    if (offset > r->length) {
        return err_set(err, ERR_INVALID_INPUT, "request body: seek to byte %llu of %llu",
                       (unsigned long long)offset, (unsigned long long)r->length);
    }
    r->pos = offset;
    return ERR_OK;
}
