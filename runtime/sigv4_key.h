/*
 * sigv4_key.h - SigV4 Task 3's signing key: derived from the secret through date, region and
 *   service, and cached for one scope, since it changes only at midnight UTC.
 * Ownership: a sigv4_key_cache is a plain value holding key material; sigv4_key_cache_cleanup
 *   wipes it. Keys copied out are the caller's to wipe (OPENSSL_cleanse).
 * Errors: a missing or oversized argument is ERR_INVALID_INPUT; a libcrypto failure is ERR_NOMEM.
 *   Messages never carry the secret.
 * Threads: a key cache has one owner at a time.
 */
#ifndef ETL_SIGV4_KEY_H
#define ETL_SIGV4_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define SIGV4_KEY_BYTES 32 /* HMAC-SHA256 output */
/* IAM documents access key ids of 16 to 128 characters. */
#define SIGV4_ACCESS_KEY_ID_MAX 128
/* Real secrets are 40 characters; the bound keeps "AWS4" + secret on the stack. */
#define SIGV4_SECRET_MAX 128
/* Region and service names are short ("us-east-1", "dynamodb"); the bound sizes the key cache. */
#define SIGV4_SCOPE_PART_MAX 63

/*
 * Caches the signing key of one (date, region, service, access key id). The key only changes
 * at midnight UTC, so a process signing thousands of requests derives it about once a day.
 * The access key id stands for the secret: AWS never gives one id two secrets (a rotated IAM
 * key and every STS session get a new id).
 */
struct sigv4_key_cache {
    bool valid;
    char date[9]; /* "20150830" */
    char region[SIGV4_SCOPE_PART_MAX + 1];
    char service[SIGV4_SCOPE_PART_MAX + 1];
    char access_key_id[SIGV4_ACCESS_KEY_ID_MAX + 1];
    uint8_t key[SIGV4_KEY_BYTES];
    uint64_t derivations; /* how many times a key was derived (tests, metrics) */
};

void sigv4_key_cache_init(struct sigv4_key_cache *cache);
/* Wipes the key; accepts NULL. */
void sigv4_key_cache_cleanup(struct sigv4_key_cache *cache);

/* Copies the signing key for this scope into key, deriving it only when the cache holds another
 * scope or nothing. */
MUST_CHECK enum err_code sigv4_key_cache_get(struct sigv4_key_cache *cache,
                                             const char *access_key_id,
                                             const char *secret_access_key,
                                             const char *date,
                                             const char *region,
                                             const char *service,
                                             uint8_t key[SIGV4_KEY_BYTES],
                                             struct err *err);

/* Derives the signing key: HMAC chain over "AWS4"+secret, date ("20150830"), region, service,
 * "aws4_request". */
MUST_CHECK enum err_code sigv4_key_derive(const char *secret_access_key,
                                          const char *date,
                                          const char *region,
                                          const char *service,
                                          uint8_t key[SIGV4_KEY_BYTES],
                                          struct err *err);

#endif
