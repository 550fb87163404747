/*
 * digest.c - MD5 via OpenSSL's EVP, CRC32C with a slicing table, base64 via EVP_EncodeBlock.
 */
#include "digest.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* The streaming digests share one EVP life cycle: new + init, update, final + re-init, free. */
static enum err_code evp_start(void **ctx_out, const EVP_MD *md, const char *what, struct err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        *ctx_out = NULL;
        return err_set(err, ERR_NOMEM, "%s context", what);
    }
    *ctx_out = ctx;
    return ERR_OK;
}

static void evp_update(void *ctx, const void *p, size_t n)
{
    if (n > 0) {
        (void)EVP_DigestUpdate(ctx, p, n);
    }
}

/* Finishes into out and restarts the context, so it can be reused at once. */
static void evp_finish(void *ctx, const EVP_MD *md, uint8_t *out)
{
    unsigned int len = 0;
    (void)EVP_DigestFinal_ex(ctx, out, &len);
    (void)EVP_DigestInit_ex(ctx, md, NULL);
}

static void evp_free(void **ctx)
{
    if (*ctx != NULL) {
        EVP_MD_CTX_free(*ctx);
        *ctx = NULL;
    }
}

enum err_code digest_md5_init(struct digest_md5 *d, struct err *err)
{
    return evp_start(&d->ctx, EVP_md5(), "MD5", err);
}

void digest_md5_update(struct digest_md5 *d, const void *p, size_t n)
{
    evp_update(d->ctx, p, n);
}

void digest_md5_final(struct digest_md5 *d, uint8_t out[DIGEST_MD5_BYTES])
{
    evp_finish(d->ctx, EVP_md5(), out);
}

void digest_md5_cleanup(struct digest_md5 *d)
{
    if (d != NULL) {
        evp_free(&d->ctx);
    }
}

enum err_code digest_sha256_init(struct digest_sha256 *d, struct err *err)
{
    return evp_start(&d->ctx, EVP_sha256(), "SHA-256", err);
}

void digest_sha256_update(struct digest_sha256 *d, const void *p, size_t n)
{
    evp_update(d->ctx, p, n);
}

void digest_sha256_final_hex(struct digest_sha256 *d, char out[DIGEST_SHA256_HEX])
{
    uint8_t sum[DIGEST_SHA256_BYTES];
    evp_finish(d->ctx, EVP_sha256(), sum);
    digest_hex(sum, sizeof(sum), out, DIGEST_SHA256_HEX);
}

void digest_sha256_cleanup(struct digest_sha256 *d)
{
    if (d != NULL) {
        evp_free(&d->ctx);
    }
}

void digest_md5(const void *p, size_t n, uint8_t out[DIGEST_MD5_BYTES])
{
    unsigned int len = 0;
    (void)EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

/* Reflected Castagnoli polynomial 0x82F63B78 (RFC 3720, appendix B.4). */
static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            crc32c_table[t][i] =
                (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
        }
    }
}

uint32_t digest_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc32c_once, crc32c_init_table);
    const uint8_t *b = p;
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                             (uint32_t)b[3] << 24);
        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
              crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
              crc32c_table[3][b[4]] ^ crc32c_table[2][b[5]] ^ crc32c_table[1][b[6]] ^
              crc32c_table[0][b[7]];
        b += 8;
        n -= 8;
    }
    while (n-- > 0) {
        crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *b++) & 0xff];
    }
    return ~crc;
}

void digest_base64(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t need = 4 * ((n + 2) / 3) + 1;
    if (cap < need) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return;
    }
    (void)EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

void digest_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    if (cap < 2 * n + 1) {
        if (cap > 0) {
            out[0] = '\0';
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[2 * n] = '\0';
}

void digest_crc32c_base64(uint32_t crc, char out[DIGEST_CRC32C_B64])
{
    uint8_t be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    digest_base64(be, 4, out, DIGEST_CRC32C_B64);
}

static bool is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

bool digest_is_base64(const char *s, size_t n)
{
    if (n % 4 != 0) {
        return false;
    }
    size_t pad = 0;
    if (n >= 1 && s[n - 1] == '=') {
        pad++;
    }
    if (n >= 2 && s[n - 2] == '=') {
        pad++;
    }
    for (size_t i = 0; i < n - pad; i++) {
        if (!is_b64_char(s[i])) {
            return false;
        }
    }
    return true;
}

static uint8_t b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return (uint8_t)(c - 'A');
    }
    if (c >= 'a' && c <= 'z') {
        return (uint8_t)(c - 'a' + 26);
    }
    if (c >= '0' && c <= '9') {
        return (uint8_t)(c - '0' + 52);
    }
    return c == '+' ? 62 : 63;
}

enum err_code digest_base64_decode(const char *s, size_t n, struct buf *out, struct err *err)
{
    if (!digest_is_base64(s, n)) {
        return err_set(err, ERR_INVALID_INPUT, "not base64 (%zu characters)", n);
    }
    enum err_code rc = buf_reserve(out, n / 4 * 3, err);
    for (size_t i = 0; rc == ERR_OK && i < n; i += 4) {
        uint32_t v = (uint32_t)b64_value(s[i]) << 18 | (uint32_t)b64_value(s[i + 1]) << 12;
        uint8_t bytes[3] = {(uint8_t)(v >> 16), 0, 0};
        size_t k = 1;
        if (s[i + 2] != '=') {
            v |= (uint32_t)b64_value(s[i + 2]) << 6;
            bytes[1] = (uint8_t)(v >> 8);
            k = 2;
        }
        if (s[i + 3] != '=') {
            v |= b64_value(s[i + 3]);
            bytes[1] = (uint8_t)(v >> 8);
            bytes[2] = (uint8_t)v;
            k = 3;
        }
        rc = buf_append(out, bytes, k, err);
    }
    return rc;
}

enum err_code digest_hmac_sha256(const uint8_t *key,
                                 size_t key_len,
                                 const void *msg,
                                 size_t n,
                                 uint8_t out[DIGEST_SHA256_BYTES],
                                 struct err *err)
{
    unsigned int len = 0;
    if (key_len > INT32_MAX ||
        HMAC(EVP_sha256(), key, (int)key_len, n > 0 ? msg : (const void *)"", n, out, &len) ==
            NULL ||
        len != DIGEST_SHA256_BYTES) {
        return err_set(err, ERR_NOMEM, "HMAC-SHA256 failed");
    }
    return ERR_OK;
}
