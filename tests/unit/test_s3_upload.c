/*
 * test_s3_upload.c - streamed multipart uploads against an in-memory S3 (fake_s3) and scripted
 * answers: parts in memory or spooled, exact and odd sizes, small objects as one PutObject,
 * retries, aborts on failure, CompleteMultipartUpload's 200 errors and lost answers, the
 * multipart ETag, and local spool failures.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "s3_test_env.h"

/* Writes data in odd-sized chunks; returns the largest part buffer capacity seen. */
static size_t write_in_chunks(struct s3_upload *u, const uint8_t *data, size_t n)
{
    static const size_t chunks[] = {1, 7, 4093, 65537, 1048583, 3, 2097169, 131071};
    size_t off = 0, i = 0, max_cap = 0;
    struct err err = ERR_INIT;
    while (off < n) {
        size_t c = chunks[i++ % (sizeof(chunks) / sizeof(chunks[0]))];
        if (c > n - off) {
            c = n - off;
        }
        assert_int_equal(s3_upload_write(u, data + off, c, &err), ERR_OK);
        off += c;
        if (u->part.cap > max_cap) {
            max_cap = u->part.cap;
        }
    }
    return max_cap;
}

/* Spooled parts: memory stays empty, the bytes and checksums are the same as in memory. */
static void test_multipart_spooled(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    size_t total = 12 * MIB + 3;
    uint8_t *data = test_bytes(total, 17);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "spooled.bin", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_spool_to(&u, "/tmp", &err), ERR_OK);
    (void)write_in_chunks(&u, data, total);
    assert_int_equal(u.part.cap, 0); /* nothing held in memory */
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 3);
    assert_int_equal(info.parts, 3);
    const uint8_t *got = NULL;
    size_t got_len = 0;
    assert_true(fake_s3_get(e->s3, "bkt", "spooled.bin", &got, &got_len));
    assert_int_equal(got_len, total);
    assert_memory_equal(got, data, total);
    uint8_t md5[DIGEST_MD5_BYTES];
    digest_md5(data, total, md5);
    assert_memory_equal(info.md5, md5, sizeof(md5));
    /* Each part was signed with the SHA-256 of its own bytes. */
    for (size_t i = 0; i < 3; i++) {
        const struct fake_request *r = find_req(e, "PUT", "partNumber=", i);
        const char *sha = fake_request_header(r, "x-amz-content-sha256");
        assert_non_null(sha);
        assert_int_equal(strlen(sha), 64);
    }
    s3_upload_cleanup(&u);
    /* A small spooled object is one PutObject, streamed. */
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "small.bin", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_spool_to(&u, "/tmp", &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data, 1000, &err), ERR_OK);
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_true(fake_s3_get(e->s3, "bkt", "small.bin", &got, &got_len));
    assert_int_equal(got_len, 1000);
    assert_memory_equal(got, data, 1000);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 1);
    s3_upload_cleanup(&u);
    assert_int_equal(s3_upload_spool_to(&u, "/nonexistent-dir", &err), ERR_CONFIG);
    free(data);
    env_free(e);
}

/* Spool failures are local I/O: ERR_IO, never retried, and the upload is then unusable. A
 * directory that is not there stays a configuration error (above). */
static void test_spool_io_errors(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    uint8_t *data = test_bytes(1000, 5);
    struct s3_upload u;
    struct err err = ERR_INIT;
    /* A write the file system refuses: the spool descriptor swapped for a read-only one. */
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "io.bin", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_spool_to(&u, "/tmp", &err), ERR_OK);
    int ro = open("/dev/null", O_RDONLY);
    assert_true(ro >= 0);
    assert_int_equal(dup2(ro, u.spool_fd), u.spool_fd);
    close(ro);
    assert_int_equal(s3_upload_write(&u, data, 1000, &err), ERR_IO);
    assert_false(err.retryable);
    assert_non_null(strstr(err.msg, "writing the spool file"));
    assert_int_equal(s3_upload_finish(&u, NULL, &err), ERR_INVALID_INPUT);
    s3_upload_cleanup(&u);
    assert_int_equal(e->fh->n_reqs, 0);
    /* Out of descriptors while creating the spool file: the lowest free descriptor is made the
     * limit, so the next open fails with EMFILE. */
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int lowest = open("/dev/null", O_RDONLY);
    assert_true(lowest >= 0);
    close(lowest);
    struct rlimit tight = {(rlim_t)lowest, old.rlim_max};
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "io.bin", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
    enum err_code rc = s3_upload_spool_to(&u, "/tmp", &err);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, ERR_IO);
    assert_non_null(strstr(err.msg, "cannot create a spool file in /tmp"));
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

/* A zeroed upload (memset 0, never begun) owns no descriptor: cleanup must leave fd 0 alone. */
static void test_zeroed_upload_keeps_fd0(void **state)
{
    (void)state;
    int saved = dup(0); /* fd 0 may be closed under ctest: make it a known open file */
    int null_fd = open("/dev/null", O_RDONLY);
    assert_true(null_fd >= 0);
    assert_int_equal(dup2(null_fd, 0), 0);
    close(null_fd);
    struct s3_upload u;
    memset(&u, 0, sizeof(u));
    s3_upload_cleanup(&u);
    s3_upload_cleanup(&u); /* twice is fine too */
    assert_true(fcntl(0, F_GETFD) != -1);
    if (saved >= 0) {
        assert_int_equal(dup2(saved, 0), 0);
        close(saved);
    } else {
        close(0);
    }
}

static void test_multipart_odd_chunks(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    size_t total = 12 * MIB + 3;
    uint8_t *data = test_bytes(total, 7);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(
        s3_upload_begin(&u, &e->c, "bkt", "exports/part 1.json.gz", NULL, 5 * MIB, &err), ERR_OK);
    size_t max_cap = write_in_chunks(&u, data, total);
    /* The part buffer holds one part (and buf's NUL), never more. */
    assert_true(max_cap <= 5 * MIB + 1);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_true(u.part.cap <= 5 * MIB + 1);

    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_CREATE_MULTIPART), 1);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 3);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_COMPLETE_MULTIPART), 1);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 0);
    assert_int_equal(fake_s3_open_uploads(e->s3), 0);

    /* Parts 1..3 in order: 5 MiB, 5 MiB, 2 MiB + 3; the upload id encoded once in each. */
    static const size_t sizes[] = {5 * MIB, 5 * MIB, 2 * MIB + 3};
    for (size_t i = 0; i < 3; i++) {
        const struct fake_request *r = find_req(e, "PUT", "partNumber=", i);
        assert_non_null(r);
        char want[128];
        snprintf(
            want, sizeof(want),
            "/bkt/exports/part%%201.json.gz?partNumber=%zu&uploadId=up%%2Fload%%2Bid%%3D1%%26v%%3D2",
            i + 1);
        assert_non_null(strstr(r->url, want));
        assert_int_equal(r->body.len, sizes[i]);
        assert_non_null(fake_request_header(r, "Content-MD5"));
        assert_null(fake_request_header(r, "Content-Type"));
    }
    assert_int_equal(count_req(e, "PUT", "partNumber="), 3);
    const struct fake_request *done = find_req(e, "POST", "uploadId=", 0);
    assert_non_null(done);
    assert_string_equal(fake_request_header(done, "Content-Type"), "application/xml");
    const char *xml = buf_cstr(&done->body);
    assert_non_null(strstr(xml, "<Part><PartNumber>1</PartNumber><ETag>\""));
    assert_non_null(strstr(xml, "<Part><PartNumber>3</PartNumber>"));
    assert_null(strstr(xml, "<PartNumber>4</PartNumber>"));

    /* The object is the input, byte for byte. */
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "exports/part 1.json.gz", &bytes, &len));
    assert_int_equal(len, total);
    assert_memory_equal(bytes, data, total);

    /* Result: S3's multipart ETag, our formula for it, and the whole object's MD5. */
    assert_int_equal(info.parts, 3);
    assert_int_equal(info.size, total);
    assert_true(ends_with(info.etag, "-3"));
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "exports/part 1.json.gz"));
    char formula[S3_ETAG_MAX];
    s3_upload_etag(u.parts, u.n_parts, formula);
    assert_string_equal(info.etag, formula);
    char got[33], want[33];
    hex16(info.md5, got);
    md5_hex(data, total, want);
    assert_string_equal(got, want);

    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_multipart_exact_parts(void **state)
{
    (void)state;
    /* Exactly two parts' worth: no empty third part, and no extra PutObject. */
    struct env *e = env_new(local_env);
    size_t total = 10 * MIB;
    uint8_t *data = test_bytes(total, 3);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "even", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data, total, &err), ERR_OK);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(info.parts, 2);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 2);
    assert_true(ends_with(info.etag, "-2"));
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "even", &bytes, &len));
    assert_int_equal(len, total);
    assert_memory_equal(bytes, data, total);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_multipart_small_is_put(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct s3_upload u;
    struct err err = ERR_INIT;
    struct s3_put_options opts = {.content_type = "application/json"};
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "small", &opts, 5 * MIB, &err), ERR_OK);
    uint8_t *data = test_bytes(1000, 5);
    assert_int_equal(s3_upload_write(&u, data, 600, &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data + 600, 400, &err), ERR_OK);
    assert_int_equal(e->fh->n_reqs, 0); /* nothing sent before finish */
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 1);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_CREATE_MULTIPART), 0);
    assert_int_equal(e->fh->n_reqs, 1);
    assert_string_equal(fake_request_header(last_req(e), "Content-Type"), "application/json");
    assert_int_equal(info.parts, 0);
    assert_int_equal(info.size, 1000);
    char want[33], got[33];
    md5_hex(data, 1000, want);
    assert_string_equal(info.etag, want);
    hex16(info.md5, got);
    assert_string_equal(got, want);
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "small", &bytes, &len));
    assert_int_equal(len, 1000);
    assert_memory_equal(bytes, data, 1000);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_force_multipart_one_part(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct s3_upload u;
    struct err err = ERR_INIT;
    struct s3_put_options opts = {
        .content_type = "application/x-ndjson",
        .sse = "AES256",
        .storage_class = "INTELLIGENT_TIERING",
    };
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "forced", &opts, 0, &err), ERR_OK);
    assert_int_equal(u.part_bytes, S3_DEFAULT_PART_BYTES);
    u.force_multipart = true;
    assert_int_equal(s3_upload_write(&u, "{\"a\":1}\n", 8, &err), ERR_OK);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_PUT_OBJECT), 0);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 1);
    assert_int_equal(info.parts, 1);
    assert_true(ends_with(info.etag, "-1"));
    char formula[S3_ETAG_MAX];
    s3_upload_etag(u.parts, 1, formula);
    assert_string_equal(info.etag, formula);
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "forced"));
    /* The object options go with CreateMultipartUpload, not with the parts. */
    const struct fake_request *create = find_req(e, "POST", "?uploads", 0);
    assert_non_null(create);
    assert_string_equal(fake_request_header(create, "Content-Type"), "application/x-ndjson");
    assert_string_equal(fake_request_header(create, "x-amz-server-side-encryption"), "AES256");
    assert_string_equal(fake_request_header(create, "x-amz-storage-class"), "INTELLIGENT_TIERING");
    const struct fake_request *part = find_req(e, "PUT", "partNumber=1", 0);
    assert_non_null(part);
    assert_null(fake_request_header(part, "x-amz-server-side-encryption"));
    assert_null(fake_request_header(part, "x-amz-storage-class"));
    char v[64];
    assert_true(fake_s3_object_header(e->s3, "bkt", "forced", "x-amz-storage-class", v, sizeof(v)));
    assert_string_equal(v, "INTELLIGENT_TIERING");
    s3_upload_cleanup(&u);
    env_free(e);
}

/* Under SSE-KMS (and SSE-C) S3's part ETags are not the parts' MD5s, so the object's ETag is not
 * the formula of the MD5s either: the upload keeps the ETag CompleteMultipartUpload answers,
 * which ListObjectsV2 lists and the snapshot commit checks. It used to keep the formula, and
 * every multipart file of a run in a KMS-encrypted bucket then failed the commit's check. */
static void test_kms_multipart_keeps_the_objects_etag(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct s3_upload u;
    struct err err = ERR_INIT;
    struct s3_put_options opts = {.content_type = "application/gzip", .sse = "aws:kms"};
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "kms", &opts, 0, &err), ERR_OK);
    u.force_multipart = true;
    assert_int_equal(s3_upload_write(&u, "{\"a\":1}\n", 8, &err), ERR_OK);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    char formula[S3_ETAG_MAX];
    s3_upload_etag(u.parts, 1, formula);
    assert_string_not_equal(fake_s3_etag(e->s3, "bkt", "kms"), formula);
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "kms"));
    s3_upload_cleanup(&u);
    env_free(e);
}

static void test_multipart_crc32c_parts(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    size_t total = 5 * MIB + 10;
    uint8_t *data = test_bytes(total, 11);
    struct s3_upload u;
    struct err err = ERR_INIT;
    struct s3_put_options opts = {.checksum = S3_CHECKSUM_CRC32C};
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "crc", &opts, 5 * MIB, &err), ERR_OK);
    (void)write_in_chunks(&u, data, total);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    for (size_t i = 0; i < 2; i++) {
        const struct fake_request *r = find_req(e, "PUT", "partNumber=", i);
        assert_non_null(r);
        /* Parts carry Content-MD5 whatever the object checksum (see s3.h). */
        assert_null(fake_request_header(r, "x-amz-checksum-crc32c"));
        assert_non_null(fake_request_header(r, "Content-MD5"));
    }
    assert_int_equal(info.parts, 2);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_upload_part_failure_aborts(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_UPLOAD_PART, 1, 400, "InvalidArgument");
    size_t total = 5 * MIB + 1;
    uint8_t *data = test_bytes(total, 9);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "fails", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data, total, &err), ERR_HTTP);
    assert_int_equal(err.http_status, 400);
    assert_string_equal(err.aws_code, "InvalidArgument");
    assert_false(err.retryable);
    assert_true(strncmp(err.request_id, "FAKE", 4) == 0);
    assert_non_null(strstr(err.msg, "UploadPart s3://bkt/fails"));
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 1); /* not retried */
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 1);
    assert_int_equal(fake_s3_open_uploads(e->s3), 0);
    assert_int_equal(fake_s3_count(e->s3), 0);
    assert_string_equal(u.upload_id, "");
    const struct fake_request *abort_req = find_req(e, "DELETE", "uploadId=", 0);
    assert_non_null(abort_req);
    assert_string_equal(abort_req->url,
                        "http://127.0.0.1:4569/bkt/fails?uploadId=up%2Fload%2Bid%3D1%26v%3D2");
    s3_upload_abort(&u); /* a second abort sends nothing */
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 1);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_create_failure_no_abort(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_CREATE_MULTIPART, 1, 403, "AccessDenied");
    uint8_t *data = test_bytes(5 * MIB, 2);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "k", NULL, 5 * MIB, &err), ERR_OK);
    assert_int_equal(s3_upload_write(&u, data, 5 * MIB, &err), ERR_HTTP);
    assert_string_equal(err.aws_code, "AccessDenied");
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 0);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 0);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

static void test_upload_part_503_retried(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_UPLOAD_PART, 1, 503, "SlowDown");
    size_t total = 6 * MIB;
    uint8_t *data = test_bytes(total, 4);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "retry", NULL, 5 * MIB, &err), ERR_OK);
    (void)write_in_chunks(&u, data, total);
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_UPLOAD_PART), 3);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 0);
    assert_int_equal(e->c.stats.retries, 1);
    assert_int_equal(e->c.stats.throttled, 1);
    assert_int_equal(e->fs.n_sleeps, 1);
    assert_true(e->fs.sleeps[0] <= AWS_THROTTLE_BASE_MS);
    /* The retry re-sends part 1 with the same bytes. */
    const struct fake_request *first = find_req(e, "PUT", "partNumber=1&", 0);
    const struct fake_request *again = find_req(e, "PUT", "partNumber=1&", 1);
    assert_non_null(again);
    assert_int_equal(first->body.len, again->body.len);
    assert_memory_equal(first->body.data, again->body.data, first->body.len);
    assert_int_equal(info.parts, 2);
    const uint8_t *bytes;
    size_t len;
    assert_true(fake_s3_get(e->s3, "bkt", "retry", &bytes, &len));
    assert_int_equal(len, total);
    assert_memory_equal(bytes, data, total);
    s3_upload_cleanup(&u);
    free(data);
    env_free(e);
}

/* Begins a 1-part multipart upload of "abc" at bkt/key, ready to finish. */
static void begin_tiny_multipart(struct env *e, struct s3_upload *u, const char *key)
{
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(u, &e->c, "bkt", key, NULL, 5 * MIB, &err), ERR_OK);
    u->force_multipart = true;
    assert_int_equal(s3_upload_write(u, "abc", 3, &err), ERR_OK);
}

static void test_complete_200_error_retried(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_COMPLETE_MULTIPART, 1, 200, "InternalError");
    struct s3_upload u;
    begin_tiny_multipart(e, &u, "c200");
    struct err err = ERR_INIT;
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_COMPLETE_MULTIPART), 2);
    assert_int_equal(e->c.stats.retries, 1);
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "c200"));
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 0);
    s3_upload_cleanup(&u);
    env_free(e);
}

static void test_complete_200_error_exhausted(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    fake_s3_fail_next(e->s3, FAKE_S3_COMPLETE_MULTIPART, 3, 200, "InternalError");
    struct s3_upload u;
    begin_tiny_multipart(e, &u, "c200");
    struct err err = ERR_INIT;
    struct s3_object_info info;
    memset(&info, 0x5a, sizeof(info));
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_HTTP);
    assert_int_equal(err.http_status, 200);
    assert_string_equal(err.aws_code, "InternalError");
    assert_non_null(strstr(err.msg, "after 3 attempts"));
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_COMPLETE_MULTIPART), 3);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 1);
    assert_int_equal(fake_s3_open_uploads(e->s3), 0);
    assert_int_equal(fake_s3_count(e->s3), 0);
    assert_int_equal(info.etag[0], 0x5a); /* out untouched on failure */
    s3_upload_cleanup(&u);
    env_free(e);
}

static void test_complete_answer_lost(void **state)
{
    (void)state;
    /* The first Complete succeeds but its answer is lost; the retry sees NoSuchUpload, and the
     * client confirms with HeadObject that the object is the one it uploaded. */
    struct env *e = env_new(local_env);
    fake_s3_lose_next(e->s3, FAKE_S3_COMPLETE_MULTIPART, 1);
    struct s3_upload u;
    begin_tiny_multipart(e, &u, "lost");
    struct err err = ERR_INIT;
    struct s3_object_info info;
    assert_int_equal(s3_upload_finish(&u, &info, &err), ERR_OK);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_COMPLETE_MULTIPART), 2);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_HEAD_OBJECT), 1);
    assert_int_equal(fake_s3_calls(e->s3, FAKE_S3_ABORT_MULTIPART), 0);
    assert_string_equal(info.etag, fake_s3_etag(e->s3, "bkt", "lost"));
    assert_int_equal(info.parts, 1);
    s3_upload_cleanup(&u);
    env_free(e);
}

static void test_multipart_etag_formula(void **state)
{
    (void)state;
    /* hex(MD5(MD5(p1) || MD5(p2))) + "-2", computed here independently. */
    struct s3_upload_part parts[2];
    memset(parts, 0, sizeof(parts));
    uint8_t cat[32];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest("abc", 3, parts[0].md5, &len, EVP_md5(), NULL), 1);
    assert_int_equal(EVP_Digest("", 0, parts[1].md5, &len, EVP_md5(), NULL), 1);
    memcpy(cat, parts[0].md5, 16);
    memcpy(cat + 16, parts[1].md5, 16);
    char hex[33], want[S3_ETAG_MAX], got[S3_ETAG_MAX];
    md5_hex(cat, 32, hex);
    snprintf(want, sizeof(want), "%s-2", hex);
    s3_upload_etag(parts, 2, got);
    assert_string_equal(got, want);
}

static void test_upload_begin_part_size(void **state)
{
    (void)state;
    struct env *e = env_new(local_env);
    struct s3_upload u;
    struct err err = ERR_INIT;
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "k", NULL, 5 * MIB - 1, &err),
                     ERR_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "5 MiB"));
    s3_upload_cleanup(&u);
    assert_int_equal(s3_upload_begin(&u, &e->c, "bkt", "k", NULL, 5 * MIB, &err), ERR_OK);
    s3_upload_cleanup(&u);
    env_free(e);
}

int main(void)
{
    log_set_sink(drop_line, NULL); /* retry warnings are expected here */
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multipart_odd_chunks),
        cmocka_unit_test(test_multipart_spooled),
        cmocka_unit_test(test_spool_io_errors),
        cmocka_unit_test(test_zeroed_upload_keeps_fd0),
        cmocka_unit_test(test_multipart_exact_parts),
        cmocka_unit_test(test_multipart_small_is_put),
        cmocka_unit_test(test_force_multipart_one_part),
        cmocka_unit_test(test_multipart_crc32c_parts),
        cmocka_unit_test(test_upload_part_failure_aborts),
        cmocka_unit_test(test_create_failure_no_abort),
        cmocka_unit_test(test_upload_part_503_retried),
        cmocka_unit_test(test_complete_200_error_retried),
        cmocka_unit_test(test_complete_200_error_exhausted),
        cmocka_unit_test(test_complete_answer_lost),
        cmocka_unit_test(test_multipart_etag_formula),
        cmocka_unit_test(test_kms_multipart_keeps_the_objects_etag),
        cmocka_unit_test(test_upload_begin_part_size),
    };
    int failed =
        _cmocka_run_group_tests("s3_upload", tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    log_clear_secrets();
    return failed;
}
