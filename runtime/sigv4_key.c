/*
 * sigv4_key.c - SigV4 Task 3's signing key: the HMAC chain from "AWS4"+secret through date,
 * region and service, and a one-entry cache of it. Every intermediate key is wiped.
 */
#include "sigv4_key.h"

#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "sigv4_private.h"

void sigv4_key_cache_init(struct sigv4_key_cache *cache)
{
    memset(cache, 0, sizeof(*cache));
}

void sigv4_key_cache_cleanup(struct sigv4_key_cache *cache)
{
    if (cache == NULL) {
        return;
    }
    OPENSSL_cleanse(cache->key, sizeof(cache->key));
    cache->valid = false;
}

enum err_code sigv4_key_derive(const char *secret_access_key,
                               const char *date,
                               const char *region,
                               const char *service,
                               uint8_t key[SIGV4_KEY_BYTES],
                               struct err *err)
{
    uint8_t k_secret[4 + SIGV4_SECRET_MAX];
    uint8_t k_date[DIGEST_SHA256_BYTES];
    uint8_t k_region[DIGEST_SHA256_BYTES];
    uint8_t k_service[DIGEST_SHA256_BYTES];
    enum err_code rc = ERR_OK;
    size_t secret_len = secret_access_key != NULL ? strlen(secret_access_key) : 0;
    if (date == NULL || region == NULL || service == NULL) {
        rc = err_set(err, ERR_INVALID_INPUT, "sigv4: date, region or service is NULL");
        goto out;
    }
    if (secret_len == 0 || secret_len > SIGV4_SECRET_MAX) {
        rc = err_set(err, ERR_INVALID_INPUT,
                     "sigv4: secret access key must be 1 to %d characters, got %zu",
                     SIGV4_SECRET_MAX, secret_len);
        goto out;
    }
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret_access_key, secret_len);
    rc = sigv4_hmac_sha256(k_secret, 4 + secret_len, date, strlen(date), k_date, err);
    if (rc == ERR_OK) {
        rc = sigv4_hmac_sha256(k_date, sizeof(k_date), region, strlen(region), k_region, err);
    }
    if (rc == ERR_OK) {
        rc =
            sigv4_hmac_sha256(k_region, sizeof(k_region), service, strlen(service), k_service, err);
    }
    if (rc == ERR_OK) {
        rc = sigv4_hmac_sha256(k_service, sizeof(k_service), "aws4_request", 12, key, err);
    }
out:
    OPENSSL_cleanse(k_secret, sizeof(k_secret));
    OPENSSL_cleanse(k_date, sizeof(k_date));
    OPENSSL_cleanse(k_region, sizeof(k_region));
    OPENSSL_cleanse(k_service, sizeof(k_service));
    if (rc != ERR_OK) {
        OPENSSL_cleanse(key, SIGV4_KEY_BYTES);
    }
    return rc;
}

enum err_code sigv4_key_cache_get(struct sigv4_key_cache *cache,
                                  const char *access_key_id,
                                  const char *secret_access_key,
                                  const char *date,
                                  const char *region,
                                  const char *service,
                                  uint8_t key[SIGV4_KEY_BYTES],
                                  struct err *err)
{
    if (access_key_id == NULL || date == NULL || region == NULL || service == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: key cache lookup with a NULL argument");
    }
    /* None of these is secret, so plain strcmp is fine; the key itself is only copied. */
    if (cache->valid && strcmp(cache->date, date) == 0 && strcmp(cache->region, region) == 0 &&
        strcmp(cache->service, service) == 0 && strcmp(cache->access_key_id, access_key_id) == 0) {
        memcpy(key, cache->key, SIGV4_KEY_BYTES);
        return ERR_OK;
    }
    sigv4_key_cache_cleanup(cache);
    /* The cache stays invalid if one does not fit, so a partial copy is never matched. */
    if (!cur_copy_to(cur_from_str(date), cache->date, sizeof(cache->date)) ||
        !cur_copy_to(cur_from_str(region), cache->region, sizeof(cache->region)) ||
        !cur_copy_to(cur_from_str(service), cache->service, sizeof(cache->service)) ||
        !cur_copy_to(cur_from_str(access_key_id), cache->access_key_id,
                     sizeof(cache->access_key_id))) {
        return err_set(err, ERR_INVALID_INPUT,
                       "sigv4: scope too long to cache (date 8, region and service %d, access key "
                       "id %d characters at most)",
                       SIGV4_SCOPE_PART_MAX, SIGV4_ACCESS_KEY_ID_MAX);
    }
    enum err_code rc = sigv4_key_derive(secret_access_key, date, region, service, cache->key, err);
    if (rc != ERR_OK) {
        return rc;
    }
    cache->valid = true;
    cache->derivations++;
    memcpy(key, cache->key, SIGV4_KEY_BYTES);
    return ERR_OK;
}
