/*
 * fake_s3.c - an in-memory S3 for unit tests. It checks what real S3 checks (digests, part
 * order and sizes, ETags listed at completion) with its own MD5/CRC32C/SHA-256 code paths, so a
 * client bug cannot be hidden by the same bug on both sides.
 */
#include "fake_s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define FAKE_S3_MAX_PARAMS 16
#define FAKE_S3_TOKEN_HEAD "tok/" /* continuation tokens need encoding: '/', '+' and '=' */
#define FAKE_S3_TOKEN_TAIL "+=="
#define FAKE_S3_MAX_PARTS  10000 /* UploadPart: part numbers are 1 to 10,000 */

struct fake_object {
    char *bucket;
    char *key;
    struct buf data;
    char etag[80];
    struct buf headers; /* "name: value\n" lines of the request that wrote it */
};

struct fake_part {
    int number;
    struct buf data;
    uint8_t md5[16];
    char etag[33];
};

struct fake_upload {
    char id[64];
    char *bucket;
    char *key;
    struct buf headers;
    struct fake_part *parts;
    size_t n_parts;
    size_t cap_parts;
    bool kms; /* created with SSE-KMS: part ETags are not the parts' MD5s */
};

struct fake_fault {
    enum fake_s3_op op;
    int remaining;
    int status;
    char *code;
    char *headers;
    char *body;
    bool raw;
    bool perform; /* do the work, then lose the answer */
    char *key;    /* only requests for this key (decoded); NULL: any */
};

struct fake_s3 {
    struct fake_object *objects;
    size_t n_objects;
    size_t cap_objects;
    struct fake_upload *uploads;
    size_t n_uploads;
    size_t cap_uploads;
    struct fake_fault *faults;
    size_t n_faults;
    size_t cap_faults;
    size_t calls[FAKE_S3_OP_COUNT];
    size_t max_keys;
    size_t min_part_bytes;
    size_t next_upload_no;
    size_t next_request_no;
};

/* One parsed request. */
struct s3_req {
    const struct http_request *http;
    char *bucket;
    char *key; /* decoded; NULL when the request addresses the bucket */
    size_t n_params;
    char *names[FAKE_S3_MAX_PARAMS];
    char *values[FAKE_S3_MAX_PARAMS];
    bool has_value[FAKE_S3_MAX_PARAMS];
    char request_id[32];
};

/* ---- small helpers (a test helper aborts on out of memory) ---------------------------- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        abort();
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL) {
        abort();
    }
    return p;
}

static void must(enum err_code rc)
{
    if (rc != ERR_OK) {
        abort();
    }
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static void md5_of(const void *p, size_t n, uint8_t out[16])
{
    unsigned int len = 0;
    if (EVP_Digest(p, n, out, &len, EVP_md5(), NULL) != 1) {
        abort();
    }
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    uint8_t sum[32];
    unsigned int len = 0;
    if (EVP_Digest(p, n, sum, &len, EVP_sha256(), NULL) != 1) {
        abort();
    }
    hex_of(sum, 32, out);
}

/* Bit by bit, independent of digest.c's table-driven CRC32C (RFC 3720 B.4). */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
    }
    return ~c;
}

static void base64_of(const uint8_t *p, size_t n, char *out)
{
    (void)EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool is_unreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/*
 * Decodes s[0..n) once. Only bytes SigV4 leaves as they are may appear raw (plus '/' when
 * slash_ok); the bad byte is reported so the test failure says what the client sent.
 */
static bool pct_decode(const char *s, size_t n, bool slash_ok, char **out, char *bad)
{
    char *d = xrealloc(NULL, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_val(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_val(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *bad = '%';
                free(d);
                return false;
            }
            d[j++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (is_unreserved(c) || (slash_ok && c == '/')) {
            d[j++] = c;
        } else {
            *bad = c;
            free(d);
            return false;
        }
    }
    d[j] = '\0';
    *out = d;
    return true;
}

static const char *req_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

static const char *param(const struct s3_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_params; i++) {
        if (strcmp(r->names[i], name) == 0) {
            return r->values[i];
        }
    }
    return NULL;
}

static void xml_escape(struct buf *out, const char *s, size_t n)
{
    struct err e = ERR_INIT;
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':
            must(buf_append_str(out, "&amp;", &e));
            break;
        case '<':
            must(buf_append_str(out, "&lt;", &e));
            break;
        case '>':
            must(buf_append_str(out, "&gt;", &e));
            break;
        case '"':
            must(buf_append_str(out, "&quot;", &e));
            break;
        case '\'':
            must(buf_append_str(out, "&apos;", &e));
            break;
        default:
            must(buf_append_byte(out, (uint8_t)s[i], &e));
        }
    }
}

static void xml_elem(struct buf *out, const char *tag, const char *text)
{
    struct err e = ERR_INIT;
    must(buf_printf(out, &e, "<%s>", tag));
    xml_escape(out, text, strlen(text));
    must(buf_printf(out, &e, "</%s>", tag));
}

/* ---- responses ---------------------------------------------------------------------- */

static enum err_code reply(const struct s3_req *r,
                           struct http_response *resp,
                           int status,
                           const char *headers,
                           const void *body,
                           size_t body_len)
{
    struct err e = ERR_INIT;
    resp->status = status;
    must(buf_printf(&resp->headers, &e, "x-amz-request-id: %s\r\n", r->request_id));
    if (headers != NULL) {
        must(buf_append_str(&resp->headers, headers, &e));
    }
    if (body_len > 0 && strcmp(r->http->method, "HEAD") != 0) {
        return buf_append(&resp->body, body, body_len, &e) == ERR_OK
                   ? ERR_OK
                   : ERR_TOO_LARGE; /* the client's response limit */
    }
    return ERR_OK;
}

static enum err_code reply_error(const struct s3_req *r,
                                 struct http_response *resp,
                                 struct err *err,
                                 int status,
                                 const char *code,
                                 const char *message)
{
    struct buf body = BUF_INIT(0);
    struct err e = ERR_INIT;
    if (code != NULL) {
        must(buf_append_str(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>", &e));
        xml_elem(&body, "Code", code);
        xml_elem(&body, "Message", message != NULL ? message : "injected by fake_s3");
        if (r->key != NULL) {
            xml_elem(&body, "Key", r->key);
        }
        xml_elem(&body, "RequestId", r->request_id);
        must(buf_append_str(&body, "<HostId>ZmFrZQ==</HostId></Error>", &e));
    }
    enum err_code rc =
        reply(r, resp, status, "Content-Type: application/xml\r\n", body.data, body.len);
    buf_cleanup(&body);
    if (rc != ERR_OK) {
        return err_set(err, rc, "fake_s3: error body too large for the response");
    }
    return ERR_OK;
}

/* ---- store -------------------------------------------------------------------------- */

static struct fake_object *find_object(const struct fake_s3 *s, const char *bucket, const char *key)
{
    for (size_t i = 0; i < s->n_objects; i++) {
        if (strcmp(s->objects[i].bucket, bucket) == 0 && strcmp(s->objects[i].key, key) == 0) {
            return &s->objects[i];
        }
    }
    return NULL;
}

/* The object named bucket/key, emptied (created when missing). */
static struct fake_object *new_object(struct fake_s3 *s, const char *bucket, const char *key)
{
    struct fake_object *o = find_object(s, bucket, key);
    if (o != NULL) {
        buf_reset(&o->data);
        buf_reset(&o->headers);
        o->etag[0] = '\0';
        return o;
    }
    if (s->n_objects == s->cap_objects) {
        s->cap_objects = s->cap_objects == 0 ? 16 : 2 * s->cap_objects;
        s->objects = xrealloc(s->objects, s->cap_objects * sizeof(*s->objects));
    }
    o = &s->objects[s->n_objects++];
    memset(o, 0, sizeof(*o));
    o->bucket = xstrndup(bucket, strlen(bucket));
    o->key = xstrndup(key, strlen(key));
    return o;
}

static void free_object(struct fake_object *o)
{
    free(o->bucket);
    free(o->key);
    buf_cleanup(&o->data);
    buf_cleanup(&o->headers);
}

static void delete_object(struct fake_s3 *s, struct fake_object *o)
{
    size_t i = (size_t)(o - s->objects);
    free_object(o);
    memmove(&s->objects[i], &s->objects[i + 1], (s->n_objects - i - 1) * sizeof(*o));
    s->n_objects--;
}

static struct fake_upload *find_upload(const struct fake_s3 *s, const struct s3_req *r)
{
    const char *id = param(r, "uploadId");
    for (size_t i = 0; id != NULL && i < s->n_uploads; i++) {
        struct fake_upload *u = &s->uploads[i];
        if (strcmp(u->id, id) == 0 && strcmp(u->bucket, r->bucket) == 0 &&
            strcmp(u->key, r->key) == 0) {
            return u;
        }
    }
    return NULL;
}

static void remove_upload(struct fake_s3 *s, struct fake_upload *u)
{
    size_t i = (size_t)(u - s->uploads);
    for (size_t k = 0; k < u->n_parts; k++) {
        buf_cleanup(&u->parts[k].data);
    }
    free(u->parts);
    free(u->bucket);
    free(u->key);
    buf_cleanup(&u->headers);
    memmove(&s->uploads[i], &s->uploads[i + 1], (s->n_uploads - i - 1) * sizeof(*u));
    s->n_uploads--;
}

/* ---- integrity checks S3 makes on a body ---------------------------------------------- */

static enum err_code
check_body(const struct s3_req *r, struct http_response *resp, struct err *err, bool *ok)
{
    const struct http_request *h = r->http;
    *ok = false;
    const char *auth = req_header(h, "Authorization");
    if (auth == NULL || strncmp(auth, "AWS4-HMAC-SHA256 Credential=", 28) != 0 ||
        req_header(h, "X-Amz-Date") == NULL) {
        return reply_error(r, resp, err, 403, "AccessDenied", "fake_s3: request is not signed");
    }
    const char *sha = req_header(h, "x-amz-content-sha256");
    if (sha == NULL) {
        return reply_error(r, resp, err, 400, "InvalidRequest",
                           "fake_s3: x-amz-content-sha256 is required");
    }
    if (strcmp(sha, "UNSIGNED-PAYLOAD") != 0) {
        char hex[65];
        sha256_hex(h->body.ptr, h->body.len, hex);
        if (strcmp(sha, hex) != 0) {
            return reply_error(
                r, resp, err, 400, "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
    }
    const char *md5 = req_header(h, "Content-MD5");
    if (md5 != NULL) {
        uint8_t sum[16];
        char want[25];
        md5_of(h->body.ptr, h->body.len, sum);
        base64_of(sum, 16, want);
        if (strlen(md5) != 24) {
            return reply_error(r, resp, err, 400, "InvalidDigest",
                               "The Content-MD5 you specified was invalid.");
        }
        if (strcmp(md5, want) != 0) {
            return reply_error(r, resp, err, 400, "BadDigest",
                               "The Content-MD5 you specified did not match what we received.");
        }
    }
    const char *crc = req_header(h, "x-amz-checksum-crc32c");
    if (crc != NULL) {
        uint32_t c = crc32c_bitwise(h->body.ptr, h->body.len);
        uint8_t be[4] = {(uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};
        char want[9];
        base64_of(be, 4, want);
        if (strcmp(crc, want) != 0) {
            return reply_error(r, resp, err, 400, "BadDigest",
                               "The CRC32C you specified did not match the calculated checksum.");
        }
    }
    *ok = true;
    return ERR_OK;
}

static bool is_kms(const struct http_request *h)
{
    const char *sse = req_header(h, "x-amz-server-side-encryption");
    return sse != NULL && strncmp(sse, "aws:kms", 7) == 0;
}

/* ---- operations ----------------------------------------------------------------------- */

static enum err_code
put_object(struct fake_s3 *s, const struct s3_req *r, struct http_response *resp, struct err *err)
{
    struct err e = ERR_INIT;
    const struct http_request *h = r->http;
    /* Conditional writes, as S3 checks them: If-None-Match: * and If-Match: "<etag>". */
    const struct fake_object *old = find_object(s, r->bucket, r->key);
    const char *none_match = req_header(h, "If-None-Match");
    const char *match = req_header(h, "If-Match");
    if (none_match != NULL && old != NULL) {
        return reply_error(r, resp, err, 412, "PreconditionFailed",
                           "At least one of the pre-conditions you specified did not hold");
    }
    if (match != NULL && old == NULL) {
        return reply_error(r, resp, err, 404, "NoSuchKey", "The specified key does not exist.");
    }
    if (match != NULL) {
        char want[90];
        snprintf(want, sizeof(want), "\"%s\"", old->etag);
        if (strcmp(match, want) != 0) {
            return reply_error(r, resp, err, 412, "PreconditionFailed",
                               "At least one of the pre-conditions you specified did not hold");
        }
    }
    struct fake_object *o = new_object(s, r->bucket, r->key);
    must(buf_append(&o->data, h->body.ptr, h->body.len, &e));
    fake_http_headers_text(h, &o->headers); /* new_object emptied them */
    uint8_t sum[16];
    if (is_kms(h)) {
        /* With SSE-KMS the ETag is not the MD5 of the data. */
        struct buf salted = BUF_INIT(0);
        must(buf_append_str(&salted, "kms:", &e));
        must(buf_append(&salted, h->body.ptr, h->body.len, &e));
        md5_of(salted.data, salted.len, sum);
        buf_cleanup(&salted);
    } else {
        md5_of(h->body.ptr, h->body.len, sum);
    }
    hex_of(sum, 16, o->etag);
    char headers[256];
    const char *crc = req_header(h, "x-amz-checksum-crc32c");
    snprintf(headers, sizeof(headers), "ETag: \"%s\"\r\n%s%s%s", o->etag,
             crc != NULL ? "x-amz-checksum-crc32c: " : "", crc != NULL ? crc : "",
             crc != NULL ? "\r\n" : "");
    return reply(r, resp, 200, headers, NULL, 0);
}

/* What S3 returns of the request that wrote an object: its Content-Type and user metadata
 * (x-amz-meta-*), as "Name: value\r\n" lines. */
static void stored_headers(const struct fake_object *o, struct buf *out)
{
    struct err e = ERR_INIT;
    const char *p = buf_cstr(&o->headers);
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        if (strncasecmp(p, "x-amz-meta-", 11) == 0 || strncasecmp(p, "content-type:", 13) == 0) {
            must(buf_append(out, p, len, &e));
            must(buf_append_str(out, "\r\n", &e));
        }
        p += len + (p[len] == '\n' ? 1 : 0);
    }
}

static enum err_code
get_object(struct fake_s3 *s, const struct s3_req *r, struct http_response *resp, struct err *err)
{
    const struct fake_object *o = find_object(s, r->bucket, r->key);
    if (o == NULL) {
        if (strcmp(r->http->method, "HEAD") == 0) {
            return reply_error(r, resp, err, 404, NULL, NULL);
        }
        return reply_error(r, resp, err, 404, "NoSuchKey", "The specified key does not exist.");
    }
    struct buf headers = BUF_INIT(0);
    struct err e = ERR_INIT;
    must(buf_printf(&headers, &e, "ETag: \"%s\"\r\nContent-Length: %zu\r\n", o->etag, o->data.len));
    stored_headers(o, &headers);
    enum err_code rc = reply(r, resp, 200, buf_cstr(&headers), o->data.data, o->data.len);
    buf_cleanup(&headers);
    if (rc != ERR_OK) {
        return err_set(err, rc, "%s: response body over its limit", r->http->op);
    }
    return ERR_OK;
}

static enum err_code
delete_object_op(struct fake_s3 *s, const struct s3_req *r, struct http_response *resp)
{
    struct fake_object *o = find_object(s, r->bucket, r->key);
    if (o != NULL) {
        delete_object(s, o);
    }
    return reply(r, resp, 204, NULL, NULL, 0);
}

static int cmp_objects(const void *a, const void *b)
{
    const struct fake_object *const *x = a;
    const struct fake_object *const *y = b;
    return strcmp((*x)->key, (*y)->key); /* byte order, as S3 lists UTF-8 keys */
}

static bool decode_token(const char *token, char **after)
{
    size_t n = strlen(token);
    size_t head = strlen(FAKE_S3_TOKEN_HEAD), tail = strlen(FAKE_S3_TOKEN_TAIL);
    if (n < head + tail || strncmp(token, FAKE_S3_TOKEN_HEAD, head) != 0 ||
        strcmp(token + n - tail, FAKE_S3_TOKEN_TAIL) != 0 || (n - head - tail) % 2 != 0) {
        return false;
    }
    size_t klen = (n - head - tail) / 2;
    char *k = xrealloc(NULL, klen + 1);
    for (size_t i = 0; i < klen; i++) {
        int hi = hex_val(token[head + 2 * i]), lo = hex_val(token[head + 2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(k);
            return false;
        }
        k[i] = (char)(hi << 4 | lo);
    }
    k[klen] = '\0';
    *after = k;
    return true;
}

static enum err_code
list_objects(struct fake_s3 *s, const struct s3_req *r, struct http_response *resp, struct err *err)
{
    const char *list_type = param(r, "list-type");
    if (list_type == NULL || strcmp(list_type, "2") != 0) {
        return reply_error(r, resp, err, 501, "NotImplemented",
                           "fake_s3: only ListObjectsV2 (list-type=2)");
    }
    const char *prefix = param(r, "prefix");
    const char *token = param(r, "continuation-token");
    const char *max_param = param(r, "max-keys");
    size_t page = s->max_keys;
    if (max_param != NULL) {
        size_t m = strtoul(max_param, NULL, 10);
        page = m < page ? m : page;
    }
    char *after = NULL;
    if (token != NULL && !decode_token(token, &after)) {
        return reply_error(r, resp, err, 400, "InvalidArgument",
                           "The continuation token provided is incorrect");
    }
    const struct fake_object **match = xrealloc(NULL, (s->n_objects + 1) * sizeof(*match));
    size_t n = 0;
    for (size_t i = 0; i < s->n_objects; i++) {
        const struct fake_object *o = &s->objects[i];
        if (strcmp(o->bucket, r->bucket) == 0 &&
            (prefix == NULL || strncmp(o->key, prefix, strlen(prefix)) == 0) &&
            (after == NULL || strcmp(o->key, after) > 0)) {
            match[n++] = o;
        }
    }
    qsort(match, n, sizeof(*match), cmp_objects);
    size_t take = n < page ? n : page;
    bool truncated = take > 0 && take < n; /* max-keys=0 lists nothing, and no token */
    struct buf body = BUF_INIT(0);
    struct err e = ERR_INIT;
    must(buf_append_str(&body,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
                        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
                        &e));
    xml_elem(&body, "Name", r->bucket);
    xml_elem(&body, "Prefix", prefix != NULL ? prefix : "");
    if (token != NULL) {
        xml_elem(&body, "ContinuationToken", token);
    }
    must(buf_printf(&body, &e, "<KeyCount>%zu</KeyCount><MaxKeys>%zu</MaxKeys>", take, page));
    must(buf_printf(&body, &e, "<IsTruncated>%s</IsTruncated>", truncated ? "true" : "false"));
    for (size_t i = 0; i < take; i++) {
        must(buf_append_str(&body, "<Contents>", &e));
        xml_elem(&body, "Key", match[i]->key);
        must(buf_printf(&body, &e,
                        "<LastModified>2024-01-01T00:00:00.000Z</LastModified>"
                        "<ETag>&quot;%s&quot;</ETag><Size>%zu</Size>"
                        "<StorageClass>STANDARD</StorageClass></Contents>",
                        match[i]->etag, match[i]->data.len));
    }
    if (truncated) {
        /* After the Contents, as S3 may put it: parsers must not rely on the order. */
        must(buf_append_str(&body, "<NextContinuationToken>" FAKE_S3_TOKEN_HEAD, &e));
        char hex[3];
        for (const char *k = match[take - 1]->key; *k != '\0'; k++) {
            hex_of((const uint8_t *)k, 1, hex);
            must(buf_append_str(&body, hex, &e));
        }
        /* '+' and '=' are plain XML but must be percent-encoded in the next query. */
        must(buf_append_str(&body, FAKE_S3_TOKEN_TAIL "</NextContinuationToken>", &e));
    }
    must(buf_append_str(&body, "</ListBucketResult>", &e));
    enum err_code rc =
        reply(r, resp, 200, "Content-Type: application/xml\r\n", body.data, body.len);
    buf_cleanup(&body);
    free(match);
    free(after);
    if (rc != ERR_OK) {
        return err_set(err, rc, "%s: response body over its limit", r->http->op);
    }
    return ERR_OK;
}

static enum err_code create_multipart(struct fake_s3 *s,
                                      const struct s3_req *r,
                                      struct http_response *resp,
                                      struct err *err)
{
    if (s->n_uploads == s->cap_uploads) {
        s->cap_uploads = s->cap_uploads == 0 ? 4 : 2 * s->cap_uploads;
        s->uploads = xrealloc(s->uploads, s->cap_uploads * sizeof(*s->uploads));
    }
    struct fake_upload *u = &s->uploads[s->n_uploads++];
    memset(u, 0, sizeof(*u));
    /* Every character class an upload id can trip on: '/', '+', '=' and '&' (XML-escaped). */
    snprintf(u->id, sizeof(u->id), "up/load+id=%zu&v=2", ++s->next_upload_no);
    u->bucket = xstrndup(r->bucket, strlen(r->bucket));
    u->key = xstrndup(r->key, strlen(r->key));
    fake_http_headers_text(r->http, &u->headers);
    u->kms = is_kms(r->http);
    struct buf body = BUF_INIT(0);
    struct err e = ERR_INIT;
    must(buf_append_str(&body,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<InitiateMultipartUploadResult "
                        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
                        &e));
    xml_elem(&body, "Bucket", r->bucket);
    xml_elem(&body, "Key", r->key);
    xml_elem(&body, "UploadId", u->id);
    must(buf_append_str(&body, "</InitiateMultipartUploadResult>", &e));
    enum err_code rc =
        reply(r, resp, 200, "Content-Type: application/xml\r\n", body.data, body.len);
    buf_cleanup(&body);
    if (rc != ERR_OK) {
        return err_set(err, rc, "%s: response body over its limit", r->http->op);
    }
    return ERR_OK;
}

static enum err_code
upload_part(struct fake_s3 *s, const struct s3_req *r, struct http_response *resp, struct err *err)
{
    struct fake_upload *u = find_upload(s, r);
    if (u == NULL) {
        return reply_error(r, resp, err, 404, "NoSuchUpload",
                           "The specified upload does not exist.");
    }
    const char *num = param(r, "partNumber");
    char *end = NULL;
    long number = num != NULL ? strtol(num, &end, 10) : 0;
    if (num == NULL || *end != '\0' || number < 1 || number > FAKE_S3_MAX_PARTS) {
        return reply_error(r, resp, err, 400, "InvalidArgument",
                           "Part number must be an integer between 1 and 10000, inclusive");
    }
    bool ok = false;
    enum err_code rc = check_body(r, resp, err, &ok);
    if (rc != ERR_OK || !ok) {
        return rc;
    }
    struct fake_part *p = NULL;
    for (size_t i = 0; i < u->n_parts; i++) {
        if (u->parts[i].number == (int)number) {
            p = &u->parts[i]; /* uploading a part number again replaces it */
            buf_reset(&p->data);
        }
    }
    if (p == NULL) {
        if (u->n_parts == u->cap_parts) {
            u->cap_parts = u->cap_parts == 0 ? 4 : 2 * u->cap_parts;
            u->parts = xrealloc(u->parts, u->cap_parts * sizeof(*u->parts));
        }
        p = &u->parts[u->n_parts++];
        memset(p, 0, sizeof(*p));
        p->number = (int)number;
    }
    struct err e = ERR_INIT;
    must(buf_append(&p->data, r->http->body.ptr, r->http->body.len, &e));
    if (u->kms) {
        /* As PutObject under SSE-KMS: the part's ETag, and so the object's, is not from the
         * data's MD5. */
        struct buf salted = BUF_INIT(0);
        must(buf_append_str(&salted, "kms:", &e));
        must(buf_append(&salted, r->http->body.ptr, r->http->body.len, &e));
        md5_of(salted.data, salted.len, p->md5);
        buf_cleanup(&salted);
    } else {
        md5_of(r->http->body.ptr, r->http->body.len, p->md5);
    }
    hex_of(p->md5, 16, p->etag);
    char headers[64];
    snprintf(headers, sizeof(headers), "ETag: \"%s\"\r\n", p->etag);
    return reply(r, resp, 200, headers, NULL, 0);
}

/* The text of the first <tag> in [p, end), or NULL; *next is set past its closing tag. */
static char *xml_find(const char *p, const char *end, const char *tag, const char **next)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(p, open);
    if (a == NULL || a >= end) {
        return NULL;
    }
    a += strlen(open);
    const char *b = strstr(a, close);
    if (b == NULL || b > end) {
        return NULL;
    }
    if (next != NULL) {
        *next = b + strlen(close);
    }
    return xstrndup(a, (size_t)(b - a));
}

/* An ETag as listed in CompleteMultipartUpload: "hex", &quot;hex&quot; or bare hex. */
static void unquote_etag(char *t)
{
    size_t n = strlen(t);
    if (n >= 12 && strncmp(t, "&quot;", 6) == 0 && strcmp(t + n - 6, "&quot;") == 0) {
        memmove(t, t + 6, n - 12);
        t[n - 12] = '\0';
    } else if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
        memmove(t, t + 1, n - 2);
        t[n - 2] = '\0';
    }
}

static enum err_code complete_multipart(struct fake_s3 *s,
                                        const struct s3_req *r,
                                        struct http_response *resp,
                                        struct err *err)
{
    struct fake_upload *u = find_upload(s, r);
    if (u == NULL) {
        return reply_error(
            r, resp, err, 404, "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.");
    }
    bool ok = false;
    enum err_code rc = check_body(r, resp, err, &ok);
    if (rc != ERR_OK || !ok) {
        return rc;
    }
    char *doc = xstrndup((const char *)r->http->body.ptr, r->http->body.len);
    const char *end = doc + strlen(doc);
    const struct fake_part **listed = xrealloc(NULL, (u->n_parts + 1) * sizeof(*listed));
    size_t n_listed = 0;
    const char *p = doc;
    const char *code = NULL, *message = NULL;
    int last_number = 0;
    if (strstr(doc, "<CompleteMultipartUpload") == NULL) {
        code = "MalformedXML";
        message = "The XML you provided was not well-formed";
    }
    while (code == NULL) {
        const char *after_part = NULL;
        char *part = xml_find(p, end, "Part", &after_part);
        if (part == NULL) {
            break;
        }
        p = after_part;
        const char *pend = part + strlen(part);
        char *num = xml_find(part, pend, "PartNumber", NULL);
        char *etag = xml_find(part, pend, "ETag", NULL);
        int number = num != NULL ? (int)strtol(num, NULL, 10) : 0;
        const struct fake_part *found = NULL;
        for (size_t i = 0; i < u->n_parts; i++) {
            if (u->parts[i].number == number) {
                found = &u->parts[i];
            }
        }
        if (etag != NULL) {
            unquote_etag(etag);
        }
        if (number <= last_number) {
            code = "InvalidPartOrder";
            message = "The list of parts was not in ascending order.";
        } else if (found == NULL || etag == NULL || strcmp(etag, found->etag) != 0 ||
                   n_listed == u->n_parts) {
            code = "InvalidPart";
            message = "One or more of the specified parts could not be found or the specified "
                      "entity tag might not have matched the part's entity tag.";
        } else {
            listed[n_listed++] = found;
            last_number = number;
        }
        free(num);
        free(etag);
        free(part);
    }
    if (code == NULL && n_listed == 0) {
        code = "MalformedXML";
        message = "The XML you provided was not well-formed: no <Part>";
    }
    for (size_t i = 0; code == NULL && i + 1 < n_listed; i++) {
        if (listed[i]->data.len < s->min_part_bytes) {
            code = "EntityTooSmall";
            message = "Your proposed upload is smaller than the minimum allowed object size.";
        }
    }
    if (code != NULL) {
        rc = reply_error(r, resp, err, 400, code, message);
        free(listed);
        free(doc);
        return rc;
    }
    struct err e = ERR_INIT;
    struct fake_object *o = new_object(s, r->bucket, r->key);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
        abort();
    }
    for (size_t i = 0; i < n_listed; i++) {
        must(buf_append(&o->data, listed[i]->data.data, listed[i]->data.len, &e));
        (void)EVP_DigestUpdate(ctx, listed[i]->md5, 16);
    }
    uint8_t sum[16];
    unsigned int len = 0;
    (void)EVP_DigestFinal_ex(ctx, sum, &len);
    EVP_MD_CTX_free(ctx);
    char hex[33];
    hex_of(sum, 16, hex);
    snprintf(o->etag, sizeof(o->etag), "%s-%zu", hex, n_listed);
    must(buf_append(&o->headers, u->headers.data, u->headers.len, &e));
    remove_upload(s, u);
    free(listed);
    free(doc);
    struct buf body = BUF_INIT(0);
    must(buf_append_str(&body,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<CompleteMultipartUploadResult "
                        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                        "<Location>http://fake/</Location>",
                        &e));
    xml_elem(&body, "Bucket", r->bucket);
    xml_elem(&body, "Key", r->key);
    must(buf_printf(&body, &e, "<ETag>&quot;%s&quot;</ETag></CompleteMultipartUploadResult>",
                    o->etag));
    rc = reply(r, resp, 200, "Content-Type: application/xml\r\n", body.data, body.len);
    buf_cleanup(&body);
    if (rc != ERR_OK) {
        return err_set(err, rc, "%s: response body over its limit", r->http->op);
    }
    return ERR_OK;
}

static enum err_code abort_multipart(struct fake_s3 *s,
                                     const struct s3_req *r,
                                     struct http_response *resp,
                                     struct err *err)
{
    struct fake_upload *u = find_upload(s, r);
    if (u == NULL) {
        return reply_error(r, resp, err, 404, "NoSuchUpload",
                           "The specified upload does not exist.");
    }
    remove_upload(s, u);
    return reply(r, resp, 204, NULL, NULL, 0);
}

/* ---- dispatch ------------------------------------------------------------------------- */

static void s3_req_cleanup(struct s3_req *r)
{
    free(r->bucket);
    free(r->key);
    for (size_t i = 0; i < r->n_params; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
}

/* Splits the URL into bucket, decoded key and decoded query; false with *bad set otherwise. */
static bool parse_url(const char *url, struct s3_req *r, char *bad)
{
    const char *scheme = strstr(url, "://");
    if (scheme == NULL) {
        *bad = ':';
        return false;
    }
    const char *host = scheme + 3;
    const char *path = host + strcspn(host, "/?");
    size_t host_len = (size_t)(path - host);
    const char *colon = memchr(host, ':', host_len);
    if (colon != NULL) {
        host_len = (size_t)(colon - host);
    }
    const char *q = strchr(path, '?');
    size_t path_len = q != NULL ? (size_t)(q - path) : strlen(path);
    if (path_len == 0 || path[0] != '/') {
        *bad = '/';
        return false;
    }
    const char *vh = NULL;
    for (size_t i = 1; i + 4 <= host_len; i++) {
        if (memcmp(host + i, ".s3.", 4) == 0) {
            vh = host + i; /* "<bucket>.s3.<region>.amazonaws.com" */
            break;
        }
    }
    const char *key_start;
    if (vh != NULL) {
        r->bucket = xstrndup(host, (size_t)(vh - host));
        key_start = path + 1;
    } else {
        const char *slash = memchr(path + 1, '/', path_len - 1);
        size_t blen = slash != NULL ? (size_t)(slash - path - 1) : path_len - 1;
        r->bucket = xstrndup(path + 1, blen);
        key_start = slash != NULL ? slash + 1 : path + path_len;
    }
    size_t key_len = (size_t)(path + path_len - key_start);
    if (key_len > 0 && !pct_decode(key_start, key_len, true, &r->key, bad)) {
        return false;
    }
    if (q == NULL) {
        return true;
    }
    const char *p = q + 1;
    while (*p != '\0') {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq != NULL ? (size_t)(eq - p) : len;
        if (r->n_params == FAKE_S3_MAX_PARAMS) {
            *bad = '&';
            return false;
        }
        size_t i = r->n_params;
        if (!pct_decode(p, nlen, false, &r->names[i], bad)) {
            return false;
        }
        r->values[i] = NULL;
        r->n_params++;
        r->has_value[i] = eq != NULL;
        if (!pct_decode(eq != NULL ? eq + 1 : p + len, eq != NULL ? len - nlen - 1 : 0, false,
                        &r->values[i], bad)) {
            return false;
        }
        p += len;
        if (*p == '&') {
            p++;
        }
    }
    return true;
}

static enum fake_s3_op classify(const struct s3_req *r)
{
    const char *m = r->http->method;
    bool has_key = r->key != NULL;
    if (strcmp(m, "PUT") == 0 && has_key) {
        if (param(r, "partNumber") != NULL || param(r, "uploadId") != NULL) {
            return FAKE_S3_UPLOAD_PART;
        }
        return FAKE_S3_PUT_OBJECT;
    }
    if (strcmp(m, "GET") == 0) {
        return has_key ? FAKE_S3_GET_OBJECT : FAKE_S3_LIST_OBJECTS;
    }
    if (strcmp(m, "HEAD") == 0 && has_key) {
        return FAKE_S3_HEAD_OBJECT;
    }
    if (strcmp(m, "DELETE") == 0 && has_key) {
        return param(r, "uploadId") != NULL ? FAKE_S3_ABORT_MULTIPART : FAKE_S3_DELETE_OBJECT;
    }
    if (strcmp(m, "POST") == 0 && has_key) {
        if (param(r, "uploads") != NULL) {
            return FAKE_S3_CREATE_MULTIPART;
        }
        if (param(r, "uploadId") != NULL) {
            return FAKE_S3_COMPLETE_MULTIPART;
        }
    }
    return FAKE_S3_UNKNOWN;
}

static struct fake_fault *take_fault(struct fake_s3 *s, enum fake_s3_op op, const char *key)
{
    for (size_t i = 0; i < s->n_faults; i++) {
        struct fake_fault *f = &s->faults[i];
        if (f->remaining > 0 && (f->op == op || f->op == FAKE_S3_ANY) &&
            (f->key == NULL || (key != NULL && strcmp(f->key, key) == 0))) {
            f->remaining--;
            return f;
        }
    }
    return NULL;
}

static enum err_code perform(struct fake_s3 *s,
                             enum fake_s3_op op,
                             const struct s3_req *r,
                             struct http_response *resp,
                             struct err *err)
{
    if (op != FAKE_S3_UNKNOWN && op != FAKE_S3_UPLOAD_PART && op != FAKE_S3_COMPLETE_MULTIPART) {
        /* Signature presence and the body's digests; the two requests on an upload check them
         * once they have found it (NoSuchUpload comes first). */
        bool ok = false;
        enum err_code rc = check_body(r, resp, err, &ok);
        if (rc != ERR_OK || !ok) {
            return rc;
        }
    }
    switch (op) {
    case FAKE_S3_PUT_OBJECT:
        return put_object(s, r, resp, err);
    case FAKE_S3_GET_OBJECT:
    case FAKE_S3_HEAD_OBJECT:
        return get_object(s, r, resp, err);
    case FAKE_S3_DELETE_OBJECT:
        return delete_object_op(s, r, resp);
    case FAKE_S3_LIST_OBJECTS:
        return list_objects(s, r, resp, err);
    case FAKE_S3_CREATE_MULTIPART:
        return create_multipart(s, r, resp, err);
    case FAKE_S3_UPLOAD_PART:
        return upload_part(s, r, resp, err);
    case FAKE_S3_COMPLETE_MULTIPART:
        return complete_multipart(s, r, resp, err);
    case FAKE_S3_ABORT_MULTIPART:
        return abort_multipart(s, r, resp, err);
    default:
        return reply_error(r, resp, err, 501, "NotImplemented",
                           "fake_s3 does not implement this request");
    }
}

static enum err_code fake_s3_handle(void *ctx,
                                    const struct http_request *req,
                                    struct http_response *resp,
                                    struct err *err)
{
    struct fake_s3 *s = ctx;
    struct s3_req r;
    memset(&r, 0, sizeof(r));
    r.http = req;
    snprintf(r.request_id, sizeof(r.request_id), "FAKE%08zu", ++s->next_request_no);
    char bad = '\0';
    enum err_code rc;
    if (!parse_url(req->url, &r, &bad)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "fake_s3: byte 0x%02x ('%c') must be percent-encoded",
                 (unsigned)(uint8_t)bad, bad >= 0x20 && bad < 0x7f ? bad : '?');
        s->calls[FAKE_S3_UNKNOWN]++;
        rc = reply_error(&r, resp, err, 400, "InvalidURI", msg);
        s3_req_cleanup(&r);
        return rc;
    }
    enum fake_s3_op op = classify(&r);
    s->calls[op]++;
    struct fake_fault *f = take_fault(s, op, r.key);
    if (f == NULL) {
        rc = perform(s, op, &r, resp, err);
    } else if (f->perform) {
        (void)perform(s, op, &r, resp, err);
        http_response_reset(resp);
        rc = err_transport(err, req->op != NULL ? req->op : req->method,
                           "Connection reset by peer (fake_s3: answer lost)");
    } else if (f->status == 0) {
        rc = err_transport(err, req->op != NULL ? req->op : req->method,
                           "Connection reset by peer (fake_s3)");
    } else if (f->raw) {
        struct fake_response fr = {f->status, f->headers, f->body, 0, false};
        rc = fake_http_fill(&fr, req, resp, err);
    } else {
        rc = reply_error(&r, resp, err, f->status, f->code, "injected by fake_s3");
    }
    s3_req_cleanup(&r);
    return rc;
}

/* ---- API ------------------------------------------------------------------------------ */

struct fake_s3 *fake_s3_new(void)
{
    struct fake_s3 *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        abort();
    }
    s->max_keys = FAKE_S3_DEFAULT_MAX_KEYS;
    s->min_part_bytes = FAKE_S3_MIN_PART_BYTES;
    return s;
}

void fake_s3_free(struct fake_s3 *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n_objects; i++) {
        free_object(&s->objects[i]);
    }
    free(s->objects);
    while (s->n_uploads > 0) {
        remove_upload(s, &s->uploads[s->n_uploads - 1]);
    }
    free(s->uploads);
    for (size_t i = 0; i < s->n_faults; i++) {
        free(s->faults[i].code);
        free(s->faults[i].headers);
        free(s->faults[i].body);
        free(s->faults[i].key);
    }
    free(s->faults);
    free(s);
}

void fake_s3_install(struct fake_s3 *s, struct fake_http *fh)
{
    fake_http_set_fn(fh, fake_s3_handle, s);
}

void fake_s3_put(struct fake_s3 *s,
                 const char *bucket,
                 const char *key,
                 const void *bytes,
                 size_t len)
{
    struct err e = ERR_INIT;
    struct fake_object *o = new_object(s, bucket, key);
    must(buf_append(&o->data, bytes, len, &e));
    uint8_t sum[16];
    md5_of(bytes, len, sum);
    hex_of(sum, 16, o->etag);
}

bool fake_s3_delete(struct fake_s3 *s, const char *bucket, const char *key)
{
    struct fake_object *o = find_object(s, bucket, key);
    if (o != NULL) {
        delete_object(s, o);
    }
    return o != NULL;
}

bool fake_s3_get(const struct fake_s3 *s,
                 const char *bucket,
                 const char *key,
                 const uint8_t **bytes,
                 size_t *len)
{
    const struct fake_object *o = find_object(s, bucket, key);
    if (o == NULL) {
        return false;
    }
    *bytes = o->data.data != NULL ? o->data.data : (const uint8_t *)"";
    *len = o->data.len;
    return true;
}

const char *fake_s3_etag(const struct fake_s3 *s, const char *bucket, const char *key)
{
    const struct fake_object *o = find_object(s, bucket, key);
    return o != NULL ? o->etag : NULL;
}

bool fake_s3_object_header(const struct fake_s3 *s,
                           const char *bucket,
                           const char *key,
                           const char *name,
                           char *out,
                           size_t cap)
{
    const struct fake_object *o = find_object(s, bucket, key);
    return o != NULL && fake_header_lines_find(buf_cstr(&o->headers), name, out, cap);
}

size_t fake_s3_count(const struct fake_s3 *s)
{
    return s->n_objects;
}

const char *fake_s3_key(const struct fake_s3 *s, size_t i)
{
    return i < s->n_objects ? s->objects[i].key : NULL;
}

size_t fake_s3_open_uploads(const struct fake_s3 *s)
{
    return s->n_uploads;
}

size_t fake_s3_calls(const struct fake_s3 *s, enum fake_s3_op op)
{
    return op < FAKE_S3_OP_COUNT ? s->calls[op] : 0;
}

void fake_s3_reset_calls(struct fake_s3 *s)
{
    memset(s->calls, 0, sizeof(s->calls));
}

void fake_s3_set_max_keys(struct fake_s3 *s, size_t max_keys)
{
    s->max_keys = max_keys > 0 ? max_keys : 1;
}

void fake_s3_set_min_part_bytes(struct fake_s3 *s, size_t min_part_bytes)
{
    s->min_part_bytes = min_part_bytes;
}

static struct fake_fault *add_fault(struct fake_s3 *s, enum fake_s3_op op, int count, int status)
{
    if (s->n_faults == s->cap_faults) {
        s->cap_faults = s->cap_faults == 0 ? 4 : 2 * s->cap_faults;
        s->faults = xrealloc(s->faults, s->cap_faults * sizeof(*s->faults));
    }
    struct fake_fault *f = &s->faults[s->n_faults++];
    memset(f, 0, sizeof(*f));
    f->op = op;
    f->remaining = count;
    f->status = status;
    return f;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? xstrndup(s, strlen(s)) : NULL;
}

void fake_s3_fail_next(struct fake_s3 *s,
                       enum fake_s3_op op,
                       int count,
                       int status,
                       const char *code)
{
    add_fault(s, op, count, status)->code = dup_or_null(code);
}

void fake_s3_fail_next_raw(struct fake_s3 *s,
                           enum fake_s3_op op,
                           int count,
                           int status,
                           const char *headers,
                           const char *body)
{
    struct fake_fault *f = add_fault(s, op, count, status);
    f->raw = true;
    f->headers = dup_or_null(headers);
    f->body = dup_or_null(body);
}

void fake_s3_lose_next(struct fake_s3 *s, enum fake_s3_op op, int count)
{
    add_fault(s, op, count, 0)->perform = true;
}

void fake_s3_fail_key(struct fake_s3 *s,
                      enum fake_s3_op op,
                      const char *key,
                      int count,
                      int status,
                      const char *code)
{
    struct fake_fault *f = add_fault(s, op, count, status);
    f->code = dup_or_null(code);
    f->key = dup_or_null(key);
}

int fake_s3_faults_left(const struct fake_s3 *s)
{
    int n = 0;
    for (size_t i = 0; i < s->n_faults; i++) {
        n += s->faults[i].remaining;
    }
    return n;
}

const char *fake_s3_op_name(enum fake_s3_op op)
{
    static const char *const names[] = {
        "PutObject",
        "GetObject",
        "HeadObject",
        "DeleteObject",
        "ListObjectsV2",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "Unknown",
    };
    _Static_assert(sizeof(names) / sizeof(names[0]) == FAKE_S3_OP_COUNT, "one name per op");
    return op < FAKE_S3_OP_COUNT ? names[op] : "Any";
}
