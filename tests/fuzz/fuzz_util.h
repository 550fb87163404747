/*
 * fuzz_util.h - what every fuzz target shares: the libFuzzer entry point's prototype and
 * FUZZ_CHECK, which stops the run on a broken invariant the way a sanitizer stops it on a bad
 * access (libFuzzer then saves the input as a crash).
 */
#ifndef ETL_FUZZ_UTIL_H
#define ETL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
        }                                                                                          \
    } while (0)

/* A failure carries its code and a message (STYLE.md section 3). */
static inline void fuzz_check_failure(enum err_code rc, const struct err *err)
{
    FUZZ_CHECK(rc != ERR_OK);
    FUZZ_CHECK(err->code == rc);
    FUZZ_CHECK(err->msg[0] != '\0');
}

#endif
