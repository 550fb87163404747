/*
 * test_util.h - small helpers shared by the unit tests (file reading, gunzip, cmocka includes).
 */
#ifndef ETL_TEST_UTIL_H
#define ETL_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "buf.h"

/* Reads a whole file into out (appending); fails the test if it cannot. */
void test_read_file(const char *path, struct buf *out);
/* Reads a whole file, or returns false if it does not exist. */
int test_try_read_file(const char *path, struct buf *out);
/* Appends in's bytes inflated to out; fails the test unless in is exactly one gzip member. */
void test_gunzip(const struct buf *in, struct buf *out);

#endif
