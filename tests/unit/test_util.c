/*
 * test_util.c - file and gzip helpers for unit tests.
 */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

#include <zlib.h>

int test_try_read_file(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    struct err e = ERR_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(out, chunk, n, &e) != ERR_OK) {
            fclose(f);
            return 0;
        }
    }
    fclose(f);
    return 1;
}

void test_read_file(const char *path, struct buf *out)
{
    if (!test_try_read_file(path, out)) {
        fail_msg("cannot read %s", path);
    }
}

void test_gunzip(const struct buf *in, struct buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    struct err err = ERR_INIT;
    int zr;
    do {
        assert_int_equal(buf_reserve(out, 65536, &err), ERR_OK);
        z.next_out = out->data + out->len;
        z.avail_out = 65536;
        zr = inflate(&z, Z_NO_FLUSH);
        assert_true(zr == Z_OK || zr == Z_STREAM_END);
        buf_commit(out, 65536 - z.avail_out);
    } while (zr != Z_STREAM_END);
    assert_int_equal(z.avail_in, 0); /* one member, nothing after it */
    inflateEnd(&z);
}
