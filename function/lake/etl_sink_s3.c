/*
 * etl_sink_s3.c - the S3 backend: keys under the location's prefix, PutObject with the sink's
 * options, multipart uploads for streamed objects.
 */
#include <stdio.h>
#include <string.h>

#include "etl_sink.h"

/* The S3 key of key: the configured prefix, then key. */
static enum err_code
full_key(const struct etl_sink *s, const char *key, char out[S3_MAX_KEY_BYTES + 1], struct err *err)
{
    int n = snprintf(out, S3_MAX_KEY_BYTES + 1, "%s%s", s->loc.prefix, key);
    if (n < 0 || (size_t)n > S3_MAX_KEY_BYTES) {
        /* The limit first: a key this long would fill the message. */
        return err_set(err, ERR_INVALID_INPUT, "S3 key over %d bytes: %s%.200s...",
                       S3_MAX_KEY_BYTES, s->loc.prefix, key);
    }
    return ERR_OK;
}

/* The sink's PutObject options, with content_type instead when one is given. */
static struct s3_put_options options(const struct etl_sink *s, const char *content_type)
{
    struct s3_put_options o = s->put;
    if (content_type != NULL) {
        o.content_type = content_type;
    }
    return o;
}

static enum err_code s3_put(struct etl_sink *s,
                            const char *key,
                            struct cur body,
                            const char *content_type,
                            struct err *err)
{
    char k[S3_MAX_KEY_BYTES + 1];
    enum err_code rc = full_key(s, key, k, err);
    if (rc != ERR_OK) {
        return rc;
    }
    struct s3_put_options o = options(s, content_type);
    rc = s3_put_object(s->aws, s->loc.bucket, k, body, &o, NULL, err);
    if (rc == ERR_OK) {
        s->objects++;
        s->bytes += body.len;
    }
    return rc;
}

/* The hex MD5 of an existing object, from HeadObject: our x-amz-meta-md5, else an ETag that has
 * an MD5's form ("" when neither; a KMS-encrypted object's ETag only ever fails to match). */
static enum err_code
existing_md5_of(struct etl_sink *s, const char *k, char md5[DIGEST_MD5_HEX], struct err *err)
{
    bool exists = false;
    struct s3_object_info info;
    md5[0] = '\0';
    enum err_code rc = s3_head_object(s->aws, s->loc.bucket, k, &exists, &info, err);
    if (rc != ERR_OK || !exists) {
        return rc; /* gone since the 412: "" sends the caller to the content-hash name */
    }
    if (info.meta_md5[0] != '\0') {
        memcpy(md5, info.meta_md5, DIGEST_MD5_HEX);
    } else if (strlen(info.etag) == DIGEST_MD5_HEX - 1 &&
               strspn(info.etag, "0123456789abcdef") == DIGEST_MD5_HEX - 1) {
        memcpy(md5, info.etag, DIGEST_MD5_HEX);
    }
    return ERR_OK;
}

/*
 * One PutObject with If-None-Match: *, so the common case (a new key) costs one request. Only
 * when S3 answers 412 Precondition Failed (the key exists: a retried batch, or a reused sequence
 * range) is the existing object's MD5 read. A PutObject whose answer was lost and that the client
 * sent again also gets 412, and then finds its own bytes: the same outcome as a retried batch.
 * An S3 stand-in that ignores the header (s3rver) overwrites instead.
 */
static enum err_code s3_put_if_absent(struct etl_sink *s,
                                      const char *key,
                                      struct cur body,
                                      const char *content_type,
                                      bool *written,
                                      char existing_md5[DIGEST_MD5_HEX],
                                      struct err *err)
{
    char k[S3_MAX_KEY_BYTES + 1];
    *written = false;
    existing_md5[0] = '\0';
    enum err_code rc = full_key(s, key, k, err);
    if (rc != ERR_OK) {
        return rc;
    }
    struct s3_put_options o = options(s, content_type);
    o.if_none_match = true;
    o.if_match = NULL;
    rc = s3_put_object(s->aws, s->loc.bucket, k, body, &o, NULL, err);
    if (rc == ERR_OK) {
        s->objects++;
        s->bytes += body.len;
        *written = true;
        return ERR_OK;
    }
    if (rc == ERR_HTTP && err->http_status == 412) {
        err_clear(err);
        return existing_md5_of(s, k, existing_md5, err);
    }
    return rc;
}

static enum err_code s3_get(struct etl_sink *s,
                            const char *key,
                            struct buf *out,
                            bool *found,
                            char *etag,
                            struct err *err)
{
    char k[S3_MAX_KEY_BYTES + 1], tag[S3_ETAG_MAX];
    *found = false;
    enum err_code rc = full_key(s, key, k, err);
    if (rc == ERR_OK) {
        rc = s3_get_object_etag(s->aws, s->loc.bucket, k, out, tag, err);
    }
    if (rc == ERR_OK && etag != NULL) {
        memcpy(etag, tag, S3_ETAG_MAX);
    }
    if (rc == ERR_HTTP && err->http_status == 404) {
        err_clear(err);
        return ERR_OK;
    }
    *found = rc == ERR_OK;
    return rc;
}

static enum err_code s3_put_cond(struct etl_sink *s,
                                 const char *key,
                                 struct cur body,
                                 const char *content_type,
                                 const char *if_etag,
                                 char etag[S3_ETAG_MAX],
                                 bool *lost,
                                 struct err *err)
{
    char k[S3_MAX_KEY_BYTES + 1];
    struct s3_object_info info;
    *lost = false;
    etag[0] = '\0';
    enum err_code rc = full_key(s, key, k, err);
    if (rc != ERR_OK) {
        return rc;
    }
    struct s3_put_options o = options(s, content_type);
    o.if_none_match = if_etag == NULL;
    o.if_match = if_etag;
    rc = s3_put_object(s->aws, s->loc.bucket, k, body, &o, &info, err);
    /* 412: the condition failed; 404 with If-Match: the object is gone (also another writer). */
    if (rc == ERR_HTTP &&
        (err->http_status == 412 || (if_etag != NULL && err->http_status == 404))) {
        err_clear(err);
        *lost = true;
        return ERR_OK;
    }
    if (rc == ERR_OK) {
        memcpy(etag, info.etag, S3_ETAG_MAX);
        s->objects++;
        s->bytes += body.len;
    }
    return rc;
}

struct list_adapter {
    const struct etl_sink *sink;
    etl_sink_list_fn fn;
    void *ctx;
};

static enum err_code
strip_prefix(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err)
{
    struct list_adapter *a = ctx;
    size_t plen = strlen(a->sink->loc.prefix);
    return a->fn(a->ctx, key + plen, size, etag, err);
}

static enum err_code
s3_list(struct etl_sink *s, const char *prefix, etl_sink_list_fn fn, void *ctx, struct err *err)
{
    char p[S3_MAX_KEY_BYTES + 1];
    enum err_code rc = full_key(s, prefix, p, err);
    if (rc != ERR_OK) {
        return rc;
    }
    struct list_adapter a = {s, fn, ctx};
    return s3_list_objects(s->aws, s->loc.bucket, p, strip_prefix, &a, err);
}

static enum err_code s3_del(struct etl_sink *s, const char *key, struct err *err)
{
    char k[S3_MAX_KEY_BYTES + 1];
    enum err_code rc = full_key(s, key, k, err);
    return rc == ERR_OK ? s3_delete_object(s->aws, s->loc.bucket, k, err) : rc;
}

static enum err_code s3_object_open(struct etl_sink *s,
                                    const char *key,
                                    const char *content_type,
                                    bool force_multipart,
                                    const char *spool_dir,
                                    struct etl_object *obj,
                                    struct err *err)
{
    memset(obj, 0, sizeof(*obj));
    obj->sink = s;
    char k[S3_MAX_KEY_BYTES + 1];
    enum err_code rc = full_key(s, key, k, err);
    if (rc != ERR_OK) {
        return rc;
    }
    struct s3_put_options o = options(s, content_type);
    rc = s3_upload_begin(&obj->u.up, s->aws, s->loc.bucket, k, &o, S3_MIN_PART_BYTES, err);
    if (rc == ERR_OK && spool_dir != NULL) {
        rc = s3_upload_spool_to(&obj->u.up, spool_dir, err);
    }
    obj->u.up.force_multipart = force_multipart;
    return rc;
}

static enum err_code
s3_object_write(struct etl_object *obj, const void *p, size_t n, struct err *err)
{
    return s3_upload_write(&obj->u.up, p, n, err);
}

static enum err_code
s3_object_finish(struct etl_object *obj, struct s3_object_info *info, struct err *err)
{
    enum err_code rc = s3_upload_finish(&obj->u.up, info, err); /* size, MD5, ETag and parts */
    s3_upload_cleanup(&obj->u.up);
    return rc;
}

static void s3_object_abort(struct etl_object *obj)
{
    s3_upload_abort(&obj->u.up);
    s3_upload_cleanup(&obj->u.up);
}

static void s3_location(const struct etl_sink *s, const char *key, char *out, size_t cap)
{
    snprintf(out, cap, "s3://%s/%s%s", s->loc.bucket, s->loc.prefix, key);
}

const struct etl_sink_ops etl_sink_s3_ops = {
    .put = s3_put,
    .put_if_absent = s3_put_if_absent,
    .get = s3_get,
    .put_cond = s3_put_cond,
    .list = s3_list,
    .del = s3_del,
    .object_open = s3_object_open,
    .object_write = s3_object_write,
    .object_finish = s3_object_finish,
    .object_abort = s3_object_abort,
    .location = s3_location,
};
