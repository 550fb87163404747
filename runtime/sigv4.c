/*
 * sigv4.c - AWS Signature Version 4 header signing, following the "Create a signed AWS API
 * request" guide: Task 1 canonical request, Task 2 string to sign, Task 3 signing key and
 * signature, Task 4 the Authorization header. Checked byte for byte against aws-c-auth's suite.
 */
#include "sigv4.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "digest.h"

/* 9999-12-31T23:59:59Z: X-Amz-Date has four year digits. */
#define AMZ_DATE_MAX_EPOCH_S 253402300799LL

_Static_assert(SIGV4_ADDED_HEADERS_MAX == 4, "token, date, content hash, authorization");
_Static_assert(2 * DIGEST_SHA256_BYTES <= SIGV4_PAYLOAD_HASH_MAX,
               "a hex SHA-256 fits payload_hash");

static const char HEX_UPPER[] = "0123456789ABCDEF";

/* RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded. */
static bool is_unreserved(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* RFC 9110 tchar: what a header name or a method may be made of. */
static bool is_tchar(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whitespace inside a header value: spaces and tabs, and the CR/LF of folded lines
 * (get-header-value-multiline). */
static bool is_value_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Byte order with the shorter string first on a tie, so "Param" sorts before "Param-3". */
static int compare_bytes(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return (a_len > b_len) - (a_len < b_len);
}

static enum err_code
sha256_digest(const void *p, size_t n, uint8_t out[DIGEST_SHA256_BYTES], struct err *err)
{
    unsigned int len = 0;
    if (EVP_Digest(n > 0 ? p : "", n, out, &len, EVP_sha256(), NULL) != 1 ||
        len != DIGEST_SHA256_BYTES) {
        return err_set(err, ERR_NOMEM, "sigv4: libcrypto SHA-256 failed");
    }
    return ERR_OK;
}

static enum err_code hmac_sha256(const uint8_t *key,
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

/* ---- results and the key cache ------------------------------------------------------------ */

void sigv4_result_init(struct sigv4_result *res)
{
    memset(res, 0, sizeof(*res));
    buf_init(&res->authorization, SIGV4_TEXT_MAX_BYTES);
    buf_init(&res->canonical_request, SIGV4_TEXT_MAX_BYTES);
    buf_init(&res->string_to_sign, SIGV4_TEXT_MAX_BYTES);
}

void sigv4_result_cleanup(struct sigv4_result *res)
{
    if (res == NULL) {
        return;
    }
    buf_cleanup(&res->authorization);
    buf_cleanup(&res->canonical_request);
    buf_cleanup(&res->string_to_sign);
    res->n_headers = 0;
}

static void result_reset(struct sigv4_result *res)
{
    buf_reset(&res->authorization);
    buf_reset(&res->canonical_request);
    buf_reset(&res->string_to_sign);
    memset(res->headers, 0, sizeof(res->headers));
    res->n_headers = 0;
    res->amz_date[0] = '\0';
    res->payload_hash[0] = '\0';
    res->signature[0] = '\0';
}

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

/* ---- Task 1: the canonical request -------------------------------------------------------- */

enum err_code
sigv4_uri_encode(struct buf *out, const uint8_t *p, size_t n, bool encode_slash, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        enum err_code rc;
        if (is_unreserved(c) || (c == '/' && !encode_slash)) {
            rc = buf_append_byte(out, c, err);
        } else {
            char esc[3] = {'%', HEX_UPPER[c >> 4], HEX_UPPER[c & 0x0f]};
            rc = buf_append(out, esc, sizeof(esc), err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
    }
    return ERR_OK;
}

/*
 * RFC 3986 5.2.4 "Remove Dot Segments" plus merging repeated slashes, as AWS services (and
 * botocore's remove_dot_segments) do; each kept segment is encoded as it is written. A trailing
 * slash stays when a segment is left (get-slashes-normalized: "//example//" is "/example/").
 */
static enum err_code
append_normalized_path(struct buf *out, const char *path, size_t n, struct err *err)
{
    size_t base = out->len;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && path[i] != '/') {
            i++;
        }
        size_t len = i - start;
        i++; /* past the '/' */
        if (len == 0 || (len == 1 && path[start] == '.')) {
            continue;
        }
        if (len == 2 && path[start] == '.' && path[start + 1] == '.') {
            /* Drop the last segment written: every one starts with '/'. */
            size_t end = out->len;
            while (end > base && out->data[end - 1] != '/') {
                end--;
            }
            buf_truncate(out, end > base ? end - 1 : base);
            continue;
        }
        enum err_code rc = buf_append_byte(out, '/', err);
        if (rc == ERR_OK) {
            rc = sigv4_uri_encode(out, (const uint8_t *)path + start, len, true, err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (out->len == base || path[n - 1] == '/') {
        return buf_append_byte(out, '/', err);
    }
    return ERR_OK;
}

/*
 * S3 signs the path as it is sent, so a byte that curl would send raw but S3 reads as encoded
 * (a space, UTF-8, a stray '%') gives SignatureDoesNotMatch far from the bug: refuse it here.
 * RFC 3986 pchar: unreserved, %XX, sub-delims, ':' and '@'.
 */
static enum err_code check_wire_path(const char *path, size_t n, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)path[i];
        if (c == '%') {
            if (i + 2 >= n || hex_value((uint8_t)path[i + 1]) < 0 ||
                hex_value((uint8_t)path[i + 2]) < 0) {
                return err_set(err, ERR_INVALID_INPUT,
                               "sigv4: S3 path has a malformed %%-escape at byte %zu", i);
            }
        } else if (!is_unreserved(c) && (c == '\0' || strchr("/!$&'()*+,;=:@", c) == NULL)) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: S3 path has byte 0x%02x at %zu; percent-encode the key first", c,
                           i);
        }
    }
    return ERR_OK;
}

enum err_code sigv4_canonical_path(struct buf *out,
                                   const char *wire_path,
                                   bool s3_mode,
                                   bool normalize,
                                   struct err *err)
{
    if (wire_path == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: path is NULL");
    }
    size_t n = strlen(wire_path);
    if (n == 0) {
        return buf_append_byte(out, '/', err);
    }
    if (wire_path[0] != '/') {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: path must start with '/'");
    }
    if (s3_mode) {
        /* S3 signs the path as sent: encoded once, never normalised ("a//b" and "a/./b" are
         * distinct keys). */
        enum err_code rc = check_wire_path(wire_path, n, err);
        return rc == ERR_OK ? buf_append(out, wire_path, n, err) : rc;
    }
    if (normalize) {
        return append_normalized_path(out, wire_path, n, err);
    }
    /* The wire path is encoded already, so this second pass is AWS's "double encoding". */
    return sigv4_uri_encode(out, (const uint8_t *)wire_path, n, false, err);
}

static enum err_code percent_decode(struct buf *out, const uint8_t *p, size_t n, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(p[i + 1]) : -1;
            int lo = i + 2 < n ? hex_value(p[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return err_set(err, ERR_INVALID_INPUT,
                               "sigv4: query has a malformed %%-escape (expected %%XX)");
            }
            c = (uint8_t)(hi << 4 | lo);
            i += 2;
        }
        /* '+' stays a plus: only HTML forms mean a space by it, and SigV4 signs it as %2B. */
        enum err_code rc = buf_append_byte(out, c, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    return ERR_OK;
}

struct query_pair {
    size_t key_off, key_len, value_off, value_len; /* in the encoded scratch buf */
    const uint8_t *key, *value;                    /* set once the scratch buf stops growing */
};

static int compare_pairs(const void *a, const void *b)
{
    const struct query_pair *x = a;
    const struct query_pair *y = b;
    int c = compare_bytes(x->key, x->key_len, y->key, y->key_len);
    return c != 0 ? c : compare_bytes(x->value, x->value_len, y->value, y->value_len);
}

/* Decodes p and appends it re-encoded to enc; returns where it starts and how long it is. */
static enum err_code reencode(struct buf *enc,
                              struct buf *scratch,
                              const uint8_t *p,
                              size_t n,
                              size_t *off,
                              size_t *len,
                              struct err *err)
{
    buf_reset(scratch);
    enum err_code rc = percent_decode(scratch, p, n, err);
    if (rc != ERR_OK) {
        return rc;
    }
    *off = enc->len;
    rc = sigv4_uri_encode(enc, scratch->data, scratch->len, true, err);
    *len = enc->len - *off;
    return rc;
}

enum err_code sigv4_canonical_query(struct buf *out, const char *wire_query, struct err *err)
{
    struct buf enc = BUF_INIT(SIGV4_TEXT_MAX_BYTES);
    struct buf scratch = BUF_INIT(SIGV4_TEXT_MAX_BYTES);
    struct query_pair *pairs = NULL;
    enum err_code rc = ERR_OK;
    if (wire_query == NULL || wire_query[0] == '\0') {
        goto out;
    }
    const uint8_t *q = (const uint8_t *)wire_query;
    size_t n = strlen(wire_query);
    size_t max_pairs = 1;
    for (size_t i = 0; i < n; i++) {
        max_pairs += q[i] == '&';
    }
    pairs = calloc(max_pairs, sizeof(*pairs));
    if (pairs == NULL) {
        rc = err_set(err, ERR_NOMEM, "sigv4: out of memory for %zu query parameters", max_pairs);
        goto out;
    }
    size_t n_pairs = 0;
    size_t i = 0;
    while (i <= n) {
        const uint8_t *piece = q + i;
        const uint8_t *amp = memchr(piece, '&', n - i);
        size_t piece_len = amp != NULL ? (size_t)(amp - piece) : n - i;
        i += piece_len + 1;
        if (piece_len == 0) {
            continue;
        }
        const uint8_t *eq = memchr(piece, '=', piece_len);
        size_t key_len = eq != NULL ? (size_t)(eq - piece) : piece_len;
        struct query_pair *pair = &pairs[n_pairs++];
        rc = reencode(&enc, &scratch, piece, key_len, &pair->key_off, &pair->key_len, err);
        if (rc != ERR_OK) {
            goto out;
        }
        /* A key without '=' has an empty value: "acl" signs as "acl=". */
        const uint8_t *value = eq != NULL ? eq + 1 : piece + piece_len;
        size_t value_len = (size_t)(piece + piece_len - value);
        rc = reencode(&enc, &scratch, value, value_len, &pair->value_off, &pair->value_len, err);
        if (rc != ERR_OK) {
            goto out;
        }
    }
    for (size_t k = 0; k < n_pairs; k++) {
        pairs[k].key = enc.data + pairs[k].key_off;
        pairs[k].value = enc.data + pairs[k].value_off;
    }
    /* Sort by encoded key, then encoded value for repeated keys (the guide's Task 1). Equal
     * pairs are identical bytes, so qsort's instability cannot show. */
    qsort(pairs, n_pairs, sizeof(*pairs), compare_pairs);
    for (size_t k = 0; k < n_pairs && rc == ERR_OK; k++) {
        if (k > 0) {
            rc = buf_append_byte(out, '&', err);
        }
        if (rc == ERR_OK) {
            rc = buf_append(out, pairs[k].key, pairs[k].key_len, err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(out, '=', err);
        }
        if (rc == ERR_OK) {
            rc = buf_append(out, pairs[k].value, pairs[k].value_len, err);
        }
    }
out:
    free(pairs);
    buf_cleanup(&enc);
    buf_cleanup(&scratch);
    return rc;
}

struct header_ref {
    const char *name;
    size_t name_len;
    const char *value;
    size_t index; /* order given: qsort is not stable, and duplicates keep their order */
};

static int compare_header_refs(const void *a, const void *b)
{
    const struct header_ref *x = a;
    const struct header_ref *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    for (size_t i = 0; i < n; i++) {
        uint8_t cx = ascii_lower((uint8_t)x->name[i]);
        uint8_t cy = ascii_lower((uint8_t)y->name[i]);
        if (cx != cy) {
            return cx < cy ? -1 : 1;
        }
    }
    if (x->name_len != y->name_len) {
        return x->name_len < y->name_len ? -1 : 1;
    }
    return (x->index > y->index) - (x->index < y->index);
}

static bool same_name(const struct header_ref *x, const struct header_ref *y)
{
    return x->name_len == y->name_len && strncasecmp(x->name, y->name, x->name_len) == 0;
}

static enum err_code append_lower(struct buf *out, const char *s, size_t n, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        enum err_code rc = buf_append_byte(out, ascii_lower((uint8_t)s[i]), err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    return ERR_OK;
}

/* The guide's Trimall: no leading or trailing whitespace, inner runs squashed to one space
 * (get-header-value-trim), folded lines joined by one space (get-header-value-multiline). */
static enum err_code append_trimmed_value(struct buf *out, const char *v, struct err *err)
{
    bool started = false;
    bool pending_space = false;
    for (const uint8_t *p = (const uint8_t *)v; *p != '\0'; p++) {
        if (is_value_space(*p)) {
            pending_space = started;
            continue;
        }
        enum err_code rc = ERR_OK;
        if (pending_space) {
            rc = buf_append_byte(out, ' ', err);
            pending_space = false;
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(out, *p, err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
        started = true;
    }
    return ERR_OK;
}

static enum err_code check_header(const struct http_header *h, struct err *err)
{
    if (h->name == NULL || h->name[0] == '\0' || h->value == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: header with no name or no value");
    }
    for (const uint8_t *p = (const uint8_t *)h->name; *p != '\0'; p++) {
        if (!is_tchar(*p)) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: header name \"%.64s\" has a byte 0x%02x not allowed in names",
                           h->name, *p);
        }
    }
    return ERR_OK;
}

enum err_code sigv4_canonical_headers(struct buf *out,
                                      struct buf *signed_headers,
                                      const struct http_header *headers,
                                      size_t n_headers,
                                      struct err *err)
{
    struct header_ref refs[SIGV4_MAX_HEADERS];
    if (n_headers > SIGV4_MAX_HEADERS) {
        return err_set(err, ERR_TOO_LARGE, "sigv4: %zu headers to sign (max %d)", n_headers,
                       SIGV4_MAX_HEADERS);
    }
    if (n_headers > 0 && headers == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: headers is NULL");
    }
    for (size_t i = 0; i < n_headers; i++) {
        enum err_code rc = check_header(&headers[i], err);
        if (rc != ERR_OK) {
            return rc;
        }
        refs[i].name = headers[i].name;
        refs[i].name_len = strlen(headers[i].name);
        refs[i].value = headers[i].value;
        refs[i].index = i;
    }
    qsort(refs, n_headers, sizeof(refs[0]), compare_header_refs);
    enum err_code rc = ERR_OK;
    for (size_t i = 0; i < n_headers && rc == ERR_OK; i++) {
        bool first = i == 0 || !same_name(&refs[i - 1], &refs[i]);
        if (first) {
            /* A new name: close the previous line, start "name:". */
            if (i > 0) {
                rc = buf_append_byte(out, '\n', err);
            }
            if (rc == ERR_OK) {
                rc = append_lower(out, refs[i].name, refs[i].name_len, err);
            }
            if (rc == ERR_OK) {
                rc = buf_append_byte(out, ':', err);
            }
            if (rc == ERR_OK && i > 0) {
                rc = buf_append_byte(signed_headers, ';', err);
            }
            if (rc == ERR_OK) {
                rc = append_lower(signed_headers, refs[i].name, refs[i].name_len, err);
            }
        } else {
            /* A repeated name joins the line with ',' (get-header-key-duplicate). */
            rc = buf_append_byte(out, ',', err);
        }
        if (rc == ERR_OK) {
            rc = append_trimmed_value(out, refs[i].value, err);
        }
    }
    if (rc == ERR_OK && n_headers > 0) {
        rc = buf_append_byte(out, '\n', err);
    }
    return rc;
}

enum err_code sigv4_canonical_request(struct buf *out,
                                      struct buf *signed_headers,
                                      const struct sigv4_request *req,
                                      bool s3_mode,
                                      bool normalize_path,
                                      const char *payload_hash,
                                      struct err *err)
{
    if (req->method == NULL || req->method[0] == '\0') {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: method is not set");
    }
    if (payload_hash == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: payload hash is NULL");
    }
    /* HTTPMethod\nCanonicalURI\nCanonicalQueryString\nCanonicalHeaders\nSignedHeaders\nHash,
     * where CanonicalHeaders ends with its own newline. */
    enum err_code rc = buf_printf(out, err, "%s\n", req->method);
    if (rc == ERR_OK) {
        rc = sigv4_canonical_path(out, req->path, s3_mode, normalize_path, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(out, '\n', err);
    }
    if (rc == ERR_OK) {
        rc = sigv4_canonical_query(out, req->query, err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(out, '\n', err);
    }
    if (rc == ERR_OK) {
        rc = sigv4_canonical_headers(out, signed_headers, req->headers, req->n_headers, err);
    }
    if (rc == ERR_OK) {
        rc = buf_printf(out, err, "\n%s\n%s", buf_cstr(signed_headers), payload_hash);
    }
    return rc;
}

/* ---- Task 2: the string to sign ----------------------------------------------------------- */

enum err_code sigv4_string_to_sign(struct buf *out,
                                   const char *amz_date,
                                   const char *region,
                                   const char *service,
                                   struct cur canonical_request,
                                   struct err *err)
{
    uint8_t digest[DIGEST_SHA256_BYTES];
    char hash_hex[DIGEST_SHA256_HEX];
    if (amz_date == NULL || strlen(amz_date) != SIGV4_AMZ_DATE_LEN) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: X-Amz-Date must be 16 characters");
    }
    if (region == NULL || service == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: region or service is NULL");
    }
    enum err_code rc = sha256_digest(canonical_request.ptr, canonical_request.len, digest, err);
    if (rc != ERR_OK) {
        return rc;
    }
    digest_hex(digest, sizeof(digest), hash_hex, sizeof(hash_hex));
    return buf_printf(out, err, "%s\n%s\n%.8s/%s/%s/aws4_request\n%s", SIGV4_ALGORITHM, amz_date,
                      amz_date, region, service, hash_hex);
}

static void put_digits(char *p, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

enum err_code sigv4_amz_date(int64_t now_ms, char out[SIGV4_AMZ_DATE_LEN + 1], struct err *err)
{
    out[0] = '\0';
    if (now_ms < 0 || now_ms / 1000 > AMZ_DATE_MAX_EPOCH_S) {
        return err_set(err, ERR_INVALID_INPUT,
                       "sigv4: time %lld ms is outside 1970..9999 (X-Amz-Date)", (long long)now_ms);
    }
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: cannot convert time %lld ms to UTC",
                       (long long)now_ms);
    }
    put_digits(out, tm.tm_year + 1900, 4);
    put_digits(out + 4, tm.tm_mon + 1, 2);
    put_digits(out + 6, tm.tm_mday, 2);
    out[8] = 'T';
    put_digits(out + 9, tm.tm_hour, 2);
    put_digits(out + 11, tm.tm_min, 2);
    put_digits(out + 13, tm.tm_sec, 2);
    out[15] = 'Z';
    out[16] = '\0';
    return ERR_OK;
}

/* ---- Task 3: the signing key and the signature -------------------------------------------- */

enum err_code sigv4_signing_key(const char *secret_access_key,
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
    rc = hmac_sha256(k_secret, 4 + secret_len, date, strlen(date), k_date, err);
    if (rc == ERR_OK) {
        rc = hmac_sha256(k_date, sizeof(k_date), region, strlen(region), k_region, err);
    }
    if (rc == ERR_OK) {
        rc = hmac_sha256(k_region, sizeof(k_region), service, strlen(service), k_service, err);
    }
    if (rc == ERR_OK) {
        rc = hmac_sha256(k_service, sizeof(k_service), "aws4_request", 12, key, err);
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
                                  const struct sigv4_credentials *creds,
                                  const char *date,
                                  const char *region,
                                  const char *service,
                                  uint8_t key[SIGV4_KEY_BYTES],
                                  struct err *err)
{
    if (creds == NULL || creds->access_key_id == NULL || date == NULL || region == NULL ||
        service == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: key cache lookup with a NULL argument");
    }
    /* None of these is secret, so plain strcmp is fine; the key itself is only copied. */
    if (cache->valid && strcmp(cache->date, date) == 0 && strcmp(cache->region, region) == 0 &&
        strcmp(cache->service, service) == 0 &&
        strcmp(cache->access_key_id, creds->access_key_id) == 0) {
        memcpy(key, cache->key, SIGV4_KEY_BYTES);
        return ERR_OK;
    }
    sigv4_key_cache_cleanup(cache);
    /* The cache stays invalid if one does not fit, so a partial copy is never matched. */
    if (!cur_copy_to(cur_from_str(date), cache->date, sizeof(cache->date)) ||
        !cur_copy_to(cur_from_str(region), cache->region, sizeof(cache->region)) ||
        !cur_copy_to(cur_from_str(service), cache->service, sizeof(cache->service)) ||
        !cur_copy_to(cur_from_str(creds->access_key_id), cache->access_key_id,
                     sizeof(cache->access_key_id))) {
        return err_set(err, ERR_INVALID_INPUT,
                       "sigv4: scope too long to cache (date 8, region and service %d, access key "
                       "id %d characters at most)",
                       SIGV4_SCOPE_PART_MAX, SIGV4_ACCESS_KEY_ID_MAX);
    }
    enum err_code rc =
        sigv4_signing_key(creds->secret_access_key, date, region, service, cache->key, err);
    if (rc != ERR_OK) {
        return rc;
    }
    cache->valid = true;
    cache->derivations++;
    memcpy(key, cache->key, SIGV4_KEY_BYTES);
    return ERR_OK;
}

/* ---- Task 4: sigv4_sign ------------------------------------------------------------------- */

/* Region and service go into the credential scope, where '/', ',' and spaces would break it. */
static enum err_code check_scope_part(const char *what, const char *s, struct err *err)
{
    if (s == NULL || s[0] == '\0') {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: %s is not set", what);
    }
    size_t n = strlen(s);
    if (n > SIGV4_SCOPE_PART_MAX) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: %s is %zu characters (max %d)", what, n,
                       SIGV4_SCOPE_PART_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (!is_unreserved(c)) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: %s \"%s\" has a character other than A-Z a-z 0-9 - . _ ~", what,
                           s);
        }
    }
    return ERR_OK;
}

static enum err_code check_credentials(const struct sigv4_credentials *creds, struct err *err)
{
    const char *akid = creds->access_key_id;
    if (akid == NULL || akid[0] == '\0') {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: credentials have no access key id");
    }
    size_t n = strlen(akid);
    if (n > SIGV4_ACCESS_KEY_ID_MAX) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: access key id is %zu characters (max %d)", n,
                       SIGV4_ACCESS_KEY_ID_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)akid[i];
        /* It is written as "Credential=<id>/<date>/...,": '/' and ',' would move the fields. */
        if (c <= ' ' || c >= 0x7f || c == '/' || c == ',') {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: access key id has a byte 0x%02x (expected printable ASCII "
                           "without '/' or ',')",
                           c);
        }
    }
    const char *secret = creds->secret_access_key;
    if (secret == NULL || secret[0] == '\0') {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: credentials have no secret access key");
    }
    n = strlen(secret);
    if (n > SIGV4_SECRET_MAX) {
        return err_set(err, ERR_INVALID_INPUT,
                       "sigv4: secret access key is %zu characters (max %d)", n, SIGV4_SECRET_MAX);
    }
    const char *token = creds->session_token;
    for (const uint8_t *p = (const uint8_t *)token; p != NULL && *p != '\0'; p++) {
        /* It becomes a header value: a CR or LF would split the request. */
        if (*p < ' ' || *p == 0x7f) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: session token has a control character (byte 0x%02x)", *p);
        }
    }
    return ERR_OK;
}

static enum err_code check_payload_hash(const char *hash, struct err *err)
{
    size_t n = strlen(hash);
    if (n == 0 || n > SIGV4_PAYLOAD_HASH_MAX) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: payload hash must be 1 to %d characters",
                       SIGV4_PAYLOAD_HASH_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)hash[i];
        if (c <= ' ' || c >= 0x7f) {
            return err_set(err, ERR_INVALID_INPUT,
                           "sigv4: payload hash has a byte 0x%02x (expected printable ASCII)", c);
        }
    }
    return ERR_OK;
}

/* The headers the signer writes: a caller's copy would be signed twice or contradict ours. */
static const char *const SIGNER_HEADERS[] = {
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
};

static enum err_code check_caller_headers(const struct sigv4_request *req, struct err *err)
{
    if (req->n_headers > 0 && req->headers == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: headers is NULL");
    }
    /* The signer adds up to three signed headers. */
    if (req->n_headers > SIGV4_MAX_HEADERS - 3) {
        return err_set(err, ERR_TOO_LARGE, "sigv4: %zu headers (max %d)", req->n_headers,
                       SIGV4_MAX_HEADERS - 3);
    }
    bool has_host = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct http_header *h = &req->headers[i];
        enum err_code rc = check_header(h, err);
        if (rc != ERR_OK) {
            return rc;
        }
        for (size_t k = 0; k < sizeof(SIGNER_HEADERS) / sizeof(SIGNER_HEADERS[0]); k++) {
            if (strcasecmp(h->name, SIGNER_HEADERS[k]) == 0) {
                return err_set(err, ERR_INVALID_INPUT,
                               "sigv4: header %s is added by the signer; set the credentials or "
                               "params instead of passing it",
                               h->name);
            }
        }
        has_host = has_host || strcasecmp(h->name, "host") == 0;
    }
    if (!has_host) {
        /* curl adds Host itself, so the signer cannot know it: the caller passes curl's value. */
        return err_set(err, ERR_INVALID_INPUT,
                       "sigv4: no Host header; pass the one curl sends (host[:port])");
    }
    return ERR_OK;
}

static enum err_code check_inputs(const struct sigv4_request *req,
                                  const struct sigv4_credentials *creds,
                                  const struct sigv4_params *params,
                                  const struct sigv4_result *res,
                                  struct err *err)
{
    if (req == NULL || creds == NULL || params == NULL || res == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "sigv4: %s is NULL",
                       req == NULL      ? "request"
                       : creds == NULL  ? "credentials"
                       : params == NULL ? "params"
                                        : "result");
    }
    enum err_code rc = check_scope_part("region", params->region, err);
    if (rc == ERR_OK) {
        rc = check_scope_part("service", params->service, err);
    }
    if (rc == ERR_OK) {
        rc = check_credentials(creds, err);
    }
    if (rc == ERR_OK && params->payload_hash != NULL) {
        rc = check_payload_hash(params->payload_hash, err);
    }
    if (rc == ERR_OK && (req->method == NULL || req->method[0] == '\0')) {
        rc = err_set(err, ERR_INVALID_INPUT, "sigv4: method is not set");
    }
    for (const uint8_t *p = (const uint8_t *)req->method; rc == ERR_OK && *p != '\0'; p++) {
        if (!is_tchar(*p)) {
            rc = err_set(err, ERR_INVALID_INPUT, "sigv4: method has a byte 0x%02x", *p);
        }
    }
    if (rc == ERR_OK && req->path == NULL) {
        rc = err_set(err, ERR_INVALID_INPUT, "sigv4: path is NULL (use \"/\")");
    }
    if (rc == ERR_OK && req->body.len > 0 && req->body.ptr == NULL) {
        rc = err_set(err, ERR_INVALID_INPUT, "sigv4: body has a length but no bytes");
    }
    if (rc == ERR_OK) {
        rc = check_caller_headers(req, err);
    }
    return rc;
}

static enum err_code set_payload_hash(const struct sigv4_request *req,
                                      const struct sigv4_params *params,
                                      struct sigv4_result *res,
                                      struct err *err)
{
    if (params->payload_hash != NULL) {
        memcpy(res->payload_hash, params->payload_hash, strlen(params->payload_hash) + 1);
        return ERR_OK;
    }
    uint8_t digest[DIGEST_SHA256_BYTES];
    enum err_code rc = sha256_digest(req->body.ptr, req->body.len, digest, err);
    if (rc == ERR_OK) {
        digest_hex(digest, sizeof(digest), res->payload_hash, sizeof(res->payload_hash));
    }
    return rc;
}

enum err_code sigv4_sign(const struct sigv4_request *req,
                         const struct sigv4_credentials *creds,
                         const struct sigv4_params *params,
                         struct sigv4_key_cache *cache,
                         struct sigv4_result *res,
                         struct err *err)
{
    struct buf signed_headers = BUF_INIT(SIGV4_TEXT_MAX_BYTES);
    uint8_t key[SIGV4_KEY_BYTES] = {0};
    uint8_t mac[DIGEST_SHA256_BYTES] = {0};
    struct http_header all[SIGV4_MAX_HEADERS];
    enum err_code rc = check_inputs(req, creds, params, res, err);
    if (rc != ERR_OK) {
        goto out;
    }
    result_reset(res);
    bool has_token = creds->session_token != NULL && creds->session_token[0] != '\0';
    bool add_content_hash = params->s3_mode || params->sign_body;
    rc = sigv4_amz_date(params->now_ms, res->amz_date, err);
    if (rc == ERR_OK) {
        rc = set_payload_hash(req, params, res, err);
    }
    if (rc != ERR_OK) {
        goto out;
    }

    /* Task 1 over the caller's headers plus ours. */
    size_t n_all = req->n_headers;
    if (n_all > 0) {
        memcpy(all, req->headers, n_all * sizeof(all[0]));
    }
    all[n_all++] = (struct http_header){"X-Amz-Date", res->amz_date};
    if (add_content_hash) {
        all[n_all++] = (struct http_header){"x-amz-content-sha256", res->payload_hash};
    }
    if (has_token && !params->omit_session_token) {
        all[n_all++] = (struct http_header){"X-Amz-Security-Token", creds->session_token};
    }
    struct sigv4_request full = *req;
    full.headers = all;
    full.n_headers = n_all;
    rc = sigv4_canonical_request(&res->canonical_request, &signed_headers, &full, params->s3_mode,
                                 params->normalize_path, res->payload_hash, err);
    if (rc != ERR_OK) {
        goto out;
    }

    /* Task 2 */
    rc = sigv4_string_to_sign(&res->string_to_sign, res->amz_date, params->region, params->service,
                              buf_cur(&res->canonical_request), err);
    if (rc != ERR_OK) {
        goto out;
    }

    /* Task 3 */
    char date[9];
    memcpy(date, res->amz_date, 8);
    date[8] = '\0';
    if (cache != NULL) {
        rc = sigv4_key_cache_get(cache, creds, date, params->region, params->service, key, err);
    } else {
        rc = sigv4_signing_key(creds->secret_access_key, date, params->region, params->service, key,
                               err);
    }
    if (rc == ERR_OK) {
        rc = hmac_sha256(key, sizeof(key), res->string_to_sign.data, res->string_to_sign.len, mac,
                         err);
    }
    if (rc != ERR_OK) {
        goto out;
    }
    digest_hex(mac, sizeof(mac), res->signature, sizeof(res->signature));

    /* Task 4 */
    rc = buf_printf(&res->authorization, err,
                    "%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                    SIGV4_ALGORITHM, creds->access_key_id, date, params->region, params->service,
                    buf_cstr(&signed_headers), res->signature);
    if (rc != ERR_OK) {
        goto out;
    }
    /* The order of header-signed-request.txt in the suite. With omit_session_token the token
     * is sent but was not signed (post-sts-header-after). */
    if (has_token) {
        res->headers[res->n_headers++] =
            (struct http_header){"X-Amz-Security-Token", creds->session_token};
    }
    res->headers[res->n_headers++] = (struct http_header){"X-Amz-Date", res->amz_date};
    if (add_content_hash) {
        res->headers[res->n_headers++] =
            (struct http_header){"x-amz-content-sha256", res->payload_hash};
    }
    res->headers[res->n_headers++] =
        (struct http_header){"Authorization", buf_cstr(&res->authorization)};
out:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(mac, sizeof(mac));
    buf_cleanup(&signed_headers);
    if (rc != ERR_OK && res != NULL) {
        res->n_headers = 0;
    }
    return rc;
}
