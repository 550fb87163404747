/*
 * test_util.c - file helpers for unit tests.
 */
#include "test_util.h"

#include <stdio.h>

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
