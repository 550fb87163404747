/*
 * s3_test_env.h - what test_s3.c and test_s3_upload.c share: a client on a fake transport with an
 * in-memory S3 (fake_s3) behind it, deterministic bytes, digests and request lookups.
 */
#ifndef ETL_S3_TEST_ENV_H
#define ETL_S3_TEST_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fake_http.h"
#include "fake_s3.h"
#include "fake_sys.h"
#include "s3.h"
#include "test_util.h"

#define MIB ((size_t)1024 * 1024)

static char *const local_env[] = {
    "AWS_REGION=us-east-1",
    "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569",
    "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567",
    NULL,
};

/* Everything one test needs: a client on a fake transport, with an in-memory S3 behind it. */
struct env {
    struct fake_sys fs;
    struct fake_http *fh;
    struct fake_s3 *s3;
    struct creds_provider creds;
    struct aws_endpoints eps;
    struct aws_client c;
};

static inline struct env *env_new(char *const *envp)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    struct err err = ERR_INIT;
    fake_sys_init(&e->fs, 1700000000000LL);
    e->fh = fake_http_new();
    e->s3 = fake_s3_new();
    fake_s3_install(e->s3, e->fh);
    assert_int_equal(aws_endpoints_load(&e->eps, envp, &err), ERR_OK);
    assert_int_equal(creds_provider_init(&e->creds, envp, NULL, &e->fs.sys, &err), ERR_OK);
    aws_client_init(&e->c, &e->fh->base, &e->fs.sys, &e->creds, &e->eps, 3);
    return e;
}

static inline void env_free(struct env *e)
{
    aws_client_cleanup(&e->c);
    creds_provider_cleanup(&e->creds);
    http_transport_free(&e->fh->base);
    fake_s3_free(e->s3);
    free(e);
}

static inline const struct fake_request *last_req(const struct env *e)
{
    assert_true(e->fh->n_reqs > 0);
    return &e->fh->reqs[e->fh->n_reqs - 1];
}

/* Lowercase hex of a 16-byte digest (not digest_hex: this checks the client's digests). */
static inline void hex16(const uint8_t p[16], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[32] = '\0';
}

static inline void md5_hex(const void *p, size_t n, char out[33])
{
    uint8_t sum[16];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, sum, &len, EVP_md5(), NULL), 1);
    hex16(sum, out);
}

/* Deterministic, incompressible test bytes. */
static inline uint8_t *test_bytes(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n > 0 ? n : 1);
    assert_non_null(p);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
    return p;
}

static inline bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The n-th (0-based) recorded request whose method is method and whose URL contains needle. */
static inline const struct fake_request *
find_req(const struct env *e, const char *method, const char *needle, size_t nth)
{
    for (size_t i = 0; i < e->fh->n_reqs; i++) {
        const struct fake_request *r = &e->fh->reqs[i];
        if (strcmp(r->method, method) == 0 && strstr(r->url, needle) != NULL && nth-- == 0) {
            return r;
        }
    }
    return NULL;
}

static inline size_t count_req(const struct env *e, const char *method, const char *needle)
{
    size_t n = 0;
    while (find_req(e, method, needle, n) != NULL) {
        n++;
    }
    return n;
}

static inline void drop_line(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    (void)line;
    (void)len;
}

#endif
