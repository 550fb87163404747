/*
 * test_http_body.c - request bodies read in pieces and rewound, from memory and from a span of
 * a spool file: a rewind gives the same bytes again, and a file that fails is ERR_IO.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_body.h"
#include "test_util.h"

#define BODY_BYTES 10000
#define JUNK_BYTES 300 /* before and after the span in the file: must never be read */

struct body_row {
    const char *name;
    bool from_file;
    size_t chunk;         /* read size */
    uint64_t rewind_from; /* bytes read before seeking back */
    uint64_t seek_to;     /* where the second pass starts */
};

static const struct body_row body_rows[] = {
    {"memory_rewind_after_part", false, 4096, 5000, 0},
    {"memory_rewind_after_all", false, 777, BODY_BYTES, 0},
    {"memory_seek_mid", false, 1000, 3000, 1234},
    {"file_rewind_after_part", true, 4096, 5000, 0},
    {"file_rewind_after_all", true, 777, BODY_BYTES, 0},
    {"file_seek_mid", true, 1000, 3000, 1234},
    {"file_one_byte_reads", true, 1, 50, 0},
};

static void fill_pattern(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 7 + i / 256);
    }
}

/* An unlinked temp file: JUNK_BYTES of 'J', the body, JUNK_BYTES of 'J'. */
static int body_file(const uint8_t *body, size_t n)
{
    char path[] = "/tmp/test-http-body-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    uint8_t junk[JUNK_BYTES];
    memset(junk, 'J', sizeof(junk));
    assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
    assert_int_equal(pwrite(fd, body, n, JUNK_BYTES), (ssize_t)n);
    assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)(JUNK_BYTES + n)),
                     (ssize_t)sizeof(junk));
    return fd;
}

/* Reads from the current position to the end, chunk bytes at a time, into out. */
static size_t read_rest(struct http_body_reader *r, size_t chunk, uint8_t *out, size_t cap)
{
    size_t total = 0;
    for (;;) {
        struct err err = ERR_INIT;
        size_t n = 0;
        size_t room = cap - total < chunk ? cap - total : chunk;
        assert_int_equal(http_body_read(r, out + total, room, &n, &err), ERR_OK);
        if (n == 0) {
            return total;
        }
        total += n;
    }
}

static void test_rewind_row(void **state)
{
    const struct body_row *row = *state;
    static uint8_t body[BODY_BYTES];
    static uint8_t got[BODY_BYTES + 1];
    fill_pattern(body, sizeof(body));
    struct http_body_file file = {-1, JUNK_BYTES, BODY_BYTES};
    struct http_request req = {.method = "PUT", .body = cur_make(body, sizeof(body))};
    if (row->from_file) {
        file.fd = body_file(body, sizeof(body));
        req.body_file = &file;
        req.body = cur_make(NULL, 0); /* ignored with a file */
    }
    struct http_body_reader r;
    struct err err = ERR_INIT;
    http_body_reader_init(&r, &req);
    assert_int_equal(r.length, BODY_BYTES);

    /* A first pass that stops part-way, as a send does when the connection dies. */
    size_t first = 0;
    while (first < row->rewind_from) {
        size_t n = 0;
        size_t want = row->rewind_from - first < row->chunk ? row->rewind_from - first : row->chunk;
        assert_int_equal(http_body_read(&r, got + first, want, &n, &err), ERR_OK);
        assert_true(n > 0);
        first += n;
    }
    assert_memory_equal(got, body, first);

    /* The second pass starts where the seek says and gives exactly the same bytes. */
    assert_int_equal(http_body_seek(&r, row->seek_to, &err), ERR_OK);
    memset(got, 0, sizeof(got));
    size_t n = read_rest(&r, row->chunk, got, sizeof(got));
    assert_int_equal(n, BODY_BYTES - row->seek_to);
    assert_memory_equal(got, body + row->seek_to, n);
    assert_int_equal(r.pos, BODY_BYTES);
    if (row->from_file) {
        close(file.fd);
    }
}

static void test_seek_past_end_refused(void **state)
{
    (void)state;
    struct http_request req = {.method = "PUT", .body = cur_from_str("abc")};
    struct http_body_reader r;
    struct err err = ERR_INIT;
    http_body_reader_init(&r, &req);
    assert_int_equal(http_body_seek(&r, 3, &err), ERR_OK); /* the end itself is fine */
    assert_int_equal(http_body_seek(&r, 4, &err), ERR_INVALID_INPUT);
    assert_false(err.retryable);
    assert_int_equal(r.pos, 3);
}

static void test_empty_body(void **state)
{
    (void)state;
    struct http_request req = {.method = "DELETE"};
    struct http_body_reader r;
    struct err err = ERR_INIT;
    uint8_t b[4];
    size_t n = 1;
    http_body_reader_init(&r, &req);
    assert_int_equal(http_body_read(&r, b, sizeof(b), &n, &err), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(http_body_seek(&r, 0, &err), ERR_OK);
}

/* A spool file shorter than its declared span, or not readable: ERR_IO, never retried. */
static void test_file_failures(void **state)
{
    (void)state;
    uint8_t body[100];
    fill_pattern(body, sizeof(body));
    int fd = body_file(body, sizeof(body));
    struct http_body_file file = {fd, JUNK_BYTES, 100000}; /* far past the file's end */
    struct http_request req = {.method = "PUT", .body_file = &file};
    struct http_body_reader r;
    struct err err = ERR_INIT;
    uint8_t got[65536];
    size_t n = 0;
    http_body_reader_init(&r, &req);
    assert_int_equal(http_body_read(&r, got, sizeof(got), &n, &err), ERR_OK);
    assert_int_equal(n, 100 + JUNK_BYTES); /* the body and the junk after it */
    assert_int_equal(http_body_read(&r, got, sizeof(got), &n, &err), ERR_IO);
    assert_false(err.retryable);
    assert_non_null(strstr(err.msg, "ends at byte 400 of 100000"));
    close(fd);

    file = (struct http_body_file){fd, 0, 10}; /* closed: EBADF */
    http_body_reader_init(&r, &req);
    assert_int_equal(http_body_read(&r, got, sizeof(got), &n, &err), ERR_IO);
    assert_non_null(strstr(err.msg, "Bad file descriptor"));
}

#define N_ROWS (sizeof(body_rows) / sizeof(body_rows[0]))

int main(void)
{
    struct CMUnitTest tests[N_ROWS + 3];
    size_t n = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        tests[n++] = (struct CMUnitTest){body_rows[i].name, test_rewind_row, NULL, NULL,
                                         (void *)&body_rows[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_seek_past_end_refused);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_empty_body);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_file_failures);
    return _cmocka_run_group_tests("http_body", tests, n, NULL, NULL);
}
