/*
 * sigv4_private.h - what sigv4.c, sigv4_canonical.c and sigv4_key.c share: the character
 * classes SigV4 relies on, the header check and HMAC-SHA256. Not for other callers: use sigv4.h.
 */
#ifndef ETL_SIGV4_PRIVATE_H
#define ETL_SIGV4_PRIVATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "digest.h"
#include "err.h"
#include "http.h"

/* RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded. */
static inline bool sigv4_is_unreserved(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* RFC 9110 tchar: what a header name or a method may be made of. */
static inline bool sigv4_is_tchar(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A header the signer can sign: a name of tchars, and a value. */
static inline enum err_code sigv4_check_header(const struct http_header *h, struct err *err)
{
    if (h->name == NULL || h->name[0] == '\0' || h->value == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: header with no name or no value");
    }
    for (const uint8_t *p = (const uint8_t *)h->name; *p != '\0'; p++) {
        if (!sigv4_is_tchar(*p)) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: header name \"%.64s\" has a byte 0x%02x not allowed in names",
                           h->name, *p);
        }
    }
    return ERR_OK;
}

/* HMAC-SHA256 of n bytes of msg under key; a libcrypto failure is ERR_NOMEM. */
static inline enum err_code sigv4_hmac_sha256(const uint8_t *key,
                                              size_t key_len,
                                              const void *msg,
                                              size_t n,
                                              uint8_t out[DIGEST_SHA256_BYTES],
                                              struct err *err)
{
    unsigned int len = 0;
    if (key_len > INT_MAX ||
        HMAC(EVP_sha256(), key, (int)key_len, n > 0 ? msg : "", n, out, &len) == NULL ||
        len != DIGEST_SHA256_BYTES) {
        return err_set(err, ERR_NOMEM, "sigv4: libcrypto HMAC-SHA256 failed");
    }
    return ERR_OK;
}

#endif
