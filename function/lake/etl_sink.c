/*
 * etl_sink.c - what both backends share: picking one, ETL_OUTPUT, content-addressed names for
 * objects that must never overwrite, and the streamed object's bookkeeping.
 */
#include "etl_sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "limit.h"

enum err_code etl_sink_parse_location(const char *value, struct etl_location *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (value == NULL || value[0] == '\0') {
        return err_set(err, ERR_CONFIG,
                       "ETL_OUTPUT is not set: expected s3://bucket/prefix/ or file:///dir/");
    }
    if (strncmp(value, "s3://", 5) == 0) {
        const char *b = value + 5;
        size_t blen = strcspn(b, "/");
        if (blen == 0 || blen >= sizeof(out->bucket)) {
            return err_set(err, ERR_CONFIG,
                           "ETL_OUTPUT=\"%.100s\": missing or overlong bucket name", value);
        }
        memcpy(out->bucket, b, blen);
        out->bucket[blen] = '\0';
        struct err berr = ERR_INIT;
        if (s3_check_location(out->bucket, NULL, &berr) != ERR_OK) {
            return err_set(err, ERR_CONFIG, "ETL_OUTPUT: %s", berr.msg);
        }
        const char *prefix = b[blen] == '/' ? b + blen + 1 : "";
        size_t plen = strlen(prefix);
        if (plen + 2 >= sizeof(out->prefix)) {
            return err_set(err, ERR_CONFIG, "ETL_OUTPUT: prefix longer than %zu bytes",
                           sizeof(out->prefix) - 2);
        }
        if (strstr(prefix, "//") != NULL || prefix[0] == '/') {
            return err_set(err, ERR_CONFIG,
                           "ETL_OUTPUT=\"%.100s\": empty path segment in the prefix", value);
        }
        memcpy(out->prefix, prefix, plen + 1);
        if (plen > 0 && out->prefix[plen - 1] != '/') {
            out->prefix[plen] = '/';
            out->prefix[plen + 1] = '\0';
        }
        out->is_s3 = true;
        return ERR_OK;
    }
    if (strncmp(value, "file://", 7) == 0) {
        const char *d = value + 7;
        size_t dlen = strlen(d);
        if (d[0] != '/') {
            return err_set(err, ERR_CONFIG, "ETL_OUTPUT=\"%.100s\": expected file:///absolute/dir/",
                           value);
        }
        while (dlen > 1 && d[dlen - 1] == '/') {
            dlen--;
        }
        if (dlen >= sizeof(out->dir)) {
            return err_set(err, ERR_CONFIG, "ETL_OUTPUT: directory path too long");
        }
        memcpy(out->dir, d, dlen);
        out->dir[dlen] = '\0';
        return ERR_OK;
    }
    return err_set(err, ERR_CONFIG,
                   "ETL_OUTPUT=\"%.100s\": expected s3://bucket/prefix/ or file:///dir/", value);
}

_Static_assert(LIMIT_KEY_BYTES == S3_MAX_KEY_BYTES + 1, "a relative key holds any S3 key");

void etl_sink_init(struct etl_sink *s,
                   const struct etl_location *loc,
                   const struct s3_put_options *put,
                   struct aws_client *aws)
{
    memset(s, 0, sizeof(*s));
    s->ops = loc->is_s3 ? &etl_sink_s3_ops : &etl_sink_file_ops;
    s->loc = *loc;
    s->aws = aws;
    if (put != NULL) {
        s->put = *put;
    }
}

void etl_sink_with_client(const struct etl_sink *s, struct aws_client *aws, struct etl_sink *out)
{
    *out = *s;
    out->aws = aws;
    out->objects = 0;
    out->bytes = 0;
}

void etl_sink_root(const struct etl_sink *s, char *out, size_t cap)
{
    if (s->loc.is_s3) {
        snprintf(out, cap, "s3://%s/%s", s->loc.bucket, s->loc.prefix);
    } else {
        snprintf(out, cap, "file://%s/", s->loc.dir);
    }
}

enum err_code etl_sink_errno(struct err *err, const char *what, const char *path)
{
    char buf[128];
    /* GNU strerror_r (we build with _GNU_SOURCE): returns the message, maybe not in buf. */
    const char *msg = strerror_r(errno, buf, sizeof(buf));
    return err_set(err, ERR_IO, "%s %s: %s", what, path, msg);
}

enum err_code etl_sink_put_new(struct etl_sink *s,
                               const char *stem,
                               const char *ext,
                               struct cur body,
                               const char *content_type,
                               char *key_out,
                               size_t key_cap,
                               enum etl_put_outcome *outcome,
                               struct err *err)
{
    uint8_t sum[DIGEST_MD5_BYTES];
    char ours[DIGEST_MD5_HEX];
    digest_md5(body.ptr, body.len, sum);
    digest_hex(sum, DIGEST_MD5_BYTES, ours, sizeof(ours));
    for (int attempt = 0; attempt < 2; attempt++) {
        int n = attempt == 0 ? snprintf(key_out, key_cap, "%s.%s", stem, ext)
                             : snprintf(key_out, key_cap, "%s-%.12s.%s", stem, ours, ext);
        if (n < 0 || (size_t)n >= key_cap) {
            return err_set(err, ERR_INVALID_INPUT, "object key too long: %s", stem);
        }
        bool written = false;
        char theirs[DIGEST_MD5_HEX];
        enum err_code rc =
            s->ops->put_if_absent(s, key_out, body, content_type, &written, theirs, err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (written) {
            *outcome = attempt == 0 ? ETL_PUT_WRITTEN : ETL_PUT_RENAMED;
            return ERR_OK;
        }
        if (strcmp(theirs, ours) == 0) {
            *outcome = ETL_PUT_IDENTICAL;
            return ERR_OK;
        }
    }
    return err_set(err, ERR_INVALID_INPUT, "%s: both candidate names hold other data", stem);
}

enum err_code
etl_object_finish(struct etl_object *obj, struct s3_object_info *info, struct err *err)
{
    memset(info, 0, sizeof(*info));
    enum err_code rc = obj->sink->ops->object_finish(obj, info, err);
    if (rc == ERR_OK) {
        obj->sink->objects++;
        obj->sink->bytes += obj->bytes;
    }
    return rc;
}

void etl_object_abort(struct etl_object *obj)
{
    if (obj == NULL || obj->sink == NULL) {
        return;
    }
    obj->sink->ops->object_abort(obj);
}
