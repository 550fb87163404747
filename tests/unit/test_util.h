/*
 * test_util.h - small helpers shared by the unit tests (file reading, cmocka includes).
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

#endif
