/*
 * digest.h - the checksums S3 and the manifests need: MD5 (streaming and one-shot), CRC32C
 * (Castagnoli, for x-amz-checksum-crc32c), and base64.
 * Ownership: a digest_md5 owns an OpenSSL context (digest_md5_cleanup frees it).
 */
#ifndef ETL_DIGEST_H
#define ETL_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define DIGEST_MD5_BYTES  16
#define DIGEST_MD5_B64    25 /* 24 characters + NUL */
#define DIGEST_MD5_HEX    33
#define DIGEST_CRC32C_B64 9 /* 8 characters + NUL */

struct digest_md5 {
    void *ctx; /* EVP_MD_CTX */
};

MUST_CHECK enum err_code digest_md5_init(struct digest_md5 *d, struct err *err);
void digest_md5_update(struct digest_md5 *d, const void *p, size_t n);
/* Finishes into out; the context is then reset for reuse. */
void digest_md5_final(struct digest_md5 *d, uint8_t out[DIGEST_MD5_BYTES]);
void digest_md5_cleanup(struct digest_md5 *d);

/* Streaming SHA-256 (x-amz-content-sha256 of spooled bodies). */
struct digest_sha256 {
    void *ctx; /* EVP_MD_CTX */
};
#define DIGEST_SHA256_BYTES 32
#define DIGEST_SHA256_HEX   65

MUST_CHECK enum err_code digest_sha256_init(struct digest_sha256 *d, struct err *err);
void digest_sha256_update(struct digest_sha256 *d, const void *p, size_t n);
/* Finishes as lowercase hex; the context is then reset for reuse. */
void digest_sha256_final_hex(struct digest_sha256 *d, char out[DIGEST_SHA256_HEX]);
void digest_sha256_cleanup(struct digest_sha256 *d);

/* HMAC-SHA256 of n bytes of msg under key (the keyed hash of PII columns); a libcrypto failure
 * is ERR_NOMEM. */
MUST_CHECK enum err_code digest_hmac_sha256(const uint8_t *key,
                                            size_t key_len,
                                            const void *msg,
                                            size_t n,
                                            uint8_t out[DIGEST_SHA256_BYTES],
                                            struct err *err);

/* One-shot MD5. */
void digest_md5(const void *p, size_t n, uint8_t out[DIGEST_MD5_BYTES]);

/* CRC32C, continuing from crc (0 to start). */
uint32_t digest_crc32c(uint32_t crc, const void *p, size_t n);

/* Standard padded base64 of n bytes into out (cap >= 4 * ceil(n / 3) + 1). */
void digest_base64(const uint8_t *p, size_t n, char *out, size_t cap);
/* Lowercase hex of n bytes into out (cap >= 2n + 1). */
void digest_hex(const uint8_t *p, size_t n, char *out, size_t cap);

/* The base64 of a big-endian CRC32C, as x-amz-checksum-crc32c wants. */
void digest_crc32c_base64(uint32_t crc, char out[DIGEST_CRC32C_B64]);

/* True if s[0..n) is valid standard base64 (padding required, as DynamoDB sends it). */
bool digest_is_base64(const char *s, size_t n);
/* Appends the bytes that valid base64 s[0..n) stands for; ERR_INVALID_INPUT otherwise. */
MUST_CHECK enum err_code
digest_base64_decode(const char *s, size_t n, struct buf *out, struct err *err);

#endif
