/*
 * sigv4_canonical.c - SigV4 Task 1, the canonical request: URI encoding, the canonical path
 * (S3's as sent, others normalised and encoded twice), the sorted query, the trimmed and sorted
 * headers. Checked byte for byte against aws-c-auth's suite (test_sigv4).
 */
#include "sigv4_canonical.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigv4_private.h"

static const char HEX_UPPER[] = "0123456789ABCDEF";

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

enum err_code sigv4_canonical_uri_encode(struct buf *out,
                                         const uint8_t *p,
                                         size_t n,
                                         bool encode_slash,
                                         struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        enum err_code rc;
        if (sigv4_is_unreserved(c) || (c == '/' && !encode_slash)) {
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
            rc = sigv4_canonical_uri_encode(out, (const uint8_t *)path + start, len, true, err);
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
        } else if (!sigv4_is_unreserved(c) && (c == '\0' || strchr("/!$&'()*+,;=:@", c) == NULL)) {
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
    return sigv4_canonical_uri_encode(out, (const uint8_t *)wire_path, n, false, err);
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
    rc = sigv4_canonical_uri_encode(enc, scratch->data, scratch->len, true, err);
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
        enum err_code rc = sigv4_check_header(&headers[i], err);
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
