/*
 * etl_sink.c - object output to S3 or a directory.
 */
#include "etl_sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"

void etl_sink_init(struct etl_sink *s, const struct etl_config *cfg, struct aws_client *aws)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->aws = aws;
}

void etl_sink_location(const struct etl_sink *s, const char *rel_key, char *out, size_t cap)
{
    if (s->cfg->out.is_s3) {
        snprintf(out, cap, "s3://%s/%s%s", s->cfg->out.bucket, s->cfg->out.prefix, rel_key);
    } else {
        snprintf(out, cap, "%s/%s", s->cfg->out.dir, rel_key);
    }
}

static enum err_code errno_error(struct err *err, const char *what, const char *path)
{
    char buf[128];
    /* GNU strerror_r (we build with _GNU_SOURCE): returns the message, maybe not in buf. */
    const char *msg = strerror_r(errno, buf, sizeof(buf));
    return err_set(err, ERR_TRANSPORT, "%s %s: %s", what, path, msg);
}

static enum err_code mkdirs(char *path, struct err *err)
{
    /* Creates every parent of path (path itself is a file name). */
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        int r = mkdir(path, 0755);
        int e = errno;
        *p = '/';
        if (r != 0 && e != EEXIST) {
            errno = e;
            return errno_error(err, "mkdir", path);
        }
    }
    return ERR_OK;
}

/* Creates path's parent directories and opens tmp (beside path) for writing. */
static enum err_code open_tmp(char *path, const char *tmp, int *fd, struct err *err)
{
    enum err_code rc = mkdirs(path, err);
    if (rc != ERR_OK) {
        return rc;
    }
    *fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (*fd < 0) {
        return errno_error(err, "open", tmp);
    }
    return ERR_OK;
}

/* Writes all n bytes (write may take fewer, or be interrupted); tmp names fd in errors. */
static enum err_code write_all(int fd, const void *p, size_t n, const char *tmp, struct err *err)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_error(err, "write", tmp);
        }
        b += w;
        n -= (size_t)w;
    }
    return ERR_OK;
}

/* Closes fd and, if all went well (rc), renames tmp to path, so a reader never sees half an
 * object; otherwise removes tmp. Returns the first failure. */
static enum err_code
commit_tmp(int fd, const char *tmp, const char *path, enum err_code rc, struct err *err)
{
    if (close(fd) != 0 && rc == ERR_OK) {
        rc = errno_error(err, "close", tmp);
    }
    if (rc == ERR_OK && rename(tmp, path) != 0) {
        rc = errno_error(err, "rename", path);
    }
    if (rc != ERR_OK) {
        unlink(tmp);
    }
    return rc;
}

/* The S3 key of rel_key: the configured prefix, then rel_key. */
static enum err_code s3_key(const struct etl_sink *s,
                            const char *rel_key,
                            char key[S3_MAX_KEY_BYTES + 1],
                            struct err *err)
{
    int n = snprintf(key, S3_MAX_KEY_BYTES + 1, "%s%s", s->cfg->out.prefix, rel_key);
    if (n < 0 || (size_t)n > S3_MAX_KEY_BYTES) {
        /* The limit first: a key this long would fill the message. */
        return err_set(err, ERR_INVALID_INPUT, "S3 key over %d bytes: %s%.200s...",
                       S3_MAX_KEY_BYTES, s->cfg->out.prefix, rel_key);
    }
    return ERR_OK;
}

/* The file path of rel_key: the configured directory, '/', then rel_key. */
static enum err_code
file_path(const struct etl_sink *s, const char *rel_key, char *path, size_t cap, struct err *err)
{
    int n = snprintf(path, cap, "%s/%s", s->cfg->out.dir, rel_key);
    if (n < 0 || (size_t)n >= cap) {
        return err_set(err, ERR_INVALID_INPUT, "output path over %zu bytes: %s/%.200s...", cap - 1,
                       s->cfg->out.dir, rel_key);
    }
    return ERR_OK;
}

/* The configured PutObject options, with content_type instead when one is given. */
static struct s3_put_options put_options(const struct etl_sink *s, const char *content_type)
{
    struct s3_put_options o = s->cfg->put;
    if (content_type != NULL) {
        o.content_type = content_type;
    }
    return o;
}

static enum err_code
file_put(struct etl_sink *s, const char *rel_key, struct cur body, struct err *err)
{
    char path[4096], tmp[4200];
    enum err_code rc = file_path(s, rel_key, path, sizeof(path), err);
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
    int fd = -1;
    rc = open_tmp(path, tmp, &fd, err);
    if (rc != ERR_OK) {
        return rc;
    }
    rc = write_all(fd, body.ptr, body.len, tmp, err);
    return commit_tmp(fd, tmp, path, rc, err);
}

enum err_code etl_sink_put(struct etl_sink *s,
                           const char *rel_key,
                           struct cur body,
                           const char *content_type,
                           struct err *err)
{
    enum err_code rc;
    if (s->cfg->out.is_s3) {
        char key[S3_MAX_KEY_BYTES + 1];
        rc = s3_key(s, rel_key, key, err);
        if (rc != ERR_OK) {
            return rc;
        }
        struct s3_put_options o = put_options(s, content_type);
        rc = s3_put_object(s->aws, s->cfg->out.bucket, key, body, &o, NULL, err);
    } else {
        rc = file_put(s, rel_key, body, err);
    }
    if (rc == ERR_OK) {
        s->objects++;
        s->bytes += body.len;
    }
    return rc;
}

enum err_code
etl_sink_get(struct etl_sink *s, const char *rel_key, struct buf *out, bool *found, struct err *err)
{
    *found = false;
    if (s->cfg->out.is_s3) {
        char key[S3_MAX_KEY_BYTES + 1];
        enum err_code rc = s3_key(s, rel_key, key, err);
        if (rc == ERR_OK) {
            rc = s3_get_object(s->aws, s->cfg->out.bucket, key, out, err);
        }
        if (rc == ERR_HTTP && err->http_status == 404) {
            err_clear(err);
            return ERR_OK;
        }
        *found = rc == ERR_OK;
        return rc;
    }
    char path[4096];
    enum err_code rc = file_path(s, rel_key, path, sizeof(path), err);
    if (rc != ERR_OK) {
        return rc;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? ERR_OK : errno_error(err, "open", path);
    }
    char chunk[65536];
    size_t n;
    while (rc == ERR_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = buf_append(out, chunk, n, err);
    }
    fclose(f);
    *found = rc == ERR_OK;
    return rc;
}

/* The hex MD5 of an existing object at rel_key, "" when absent (or unknown). */
static enum err_code existing_md5(struct etl_sink *s,
                                  const char *rel_key,
                                  bool *exists,
                                  char md5[DIGEST_MD5_HEX],
                                  struct err *err)
{
    md5[0] = '\0';
    *exists = false;
    if (s->cfg->out.is_s3) {
        char key[S3_MAX_KEY_BYTES + 1];
        struct s3_object_info info;
        enum err_code rc = s3_key(s, rel_key, key, err);
        if (rc != ERR_OK) {
            return rc;
        }
        rc = s3_head_object(s->aws, s->cfg->out.bucket, key, exists, &info, err);
        if (rc == ERR_OK && *exists) {
            memcpy(md5, info.meta_md5, DIGEST_MD5_HEX);
        }
        return rc;
    }
    struct buf body = BUF_INIT(0);
    enum err_code rc = etl_sink_get(s, rel_key, &body, exists, err);
    if (rc == ERR_OK && *exists) {
        uint8_t sum[DIGEST_MD5_BYTES];
        digest_md5(body.data, body.len, sum);
        digest_hex(sum, DIGEST_MD5_BYTES, md5, DIGEST_MD5_HEX);
    }
    buf_cleanup(&body);
    return rc;
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
        bool exists = false;
        char theirs[DIGEST_MD5_HEX];
        enum err_code rc = existing_md5(s, key_out, &exists, theirs, err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (!exists) {
            *outcome = attempt == 0 ? ETL_PUT_WRITTEN : ETL_PUT_RENAMED;
            return etl_sink_put(s, key_out, body, content_type, err);
        }
        if (strcmp(theirs, ours) == 0) {
            *outcome = ETL_PUT_IDENTICAL;
            return ERR_OK;
        }
    }
    return err_set(err, ERR_INVALID_INPUT, "%s: both candidate names hold other data", stem);
}

enum err_code etl_sink_object_open(struct etl_sink *s,
                                   struct aws_client *aws,
                                   const char *rel_key,
                                   const char *content_type,
                                   bool force_multipart,
                                   const char *spool_dir,
                                   struct etl_object *obj,
                                   struct err *err)
{
    memset(obj, 0, sizeof(*obj));
    obj->sink = s;
    obj->fd = -1;
    obj->up.spool_fd = -1;
    enum err_code rc;
    if (s->cfg->out.is_s3) {
        char key[S3_MAX_KEY_BYTES + 1];
        rc = s3_key(s, rel_key, key, err);
        if (rc != ERR_OK) {
            return rc;
        }
        struct s3_put_options o = put_options(s, content_type);
        rc = s3_upload_begin(&obj->up, aws, s->cfg->out.bucket, key, &o, S3_MIN_PART_BYTES, err);
        if (rc == ERR_OK && spool_dir != NULL) {
            rc = s3_upload_spool_to(&obj->up, spool_dir, err);
        }
        obj->up.force_multipart = force_multipart;
        obj->s3 = true;
        return rc;
    }
    /* The S3 upload hashes the object itself; a file's MD5 (its ETag) is ours to compute. */
    rc = digest_md5_init(&obj->md5, err);
    if (rc != ERR_OK) {
        return rc;
    }
    rc = file_path(s, rel_key, obj->path, sizeof(obj->path), err);
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(obj->tmp_path, sizeof(obj->tmp_path), "%.1100s.tmp-%ld", obj->path, (long)getpid());
    return open_tmp(obj->path, obj->tmp_path, &obj->fd, err);
}

enum err_code etl_object_write(struct etl_object *obj, const void *p, size_t n, struct err *err)
{
    obj->bytes += n;
    if (obj->s3) {
        return s3_upload_write(&obj->up, p, n, err);
    }
    digest_md5_update(&obj->md5, p, n);
    return write_all(obj->fd, p, n, obj->tmp_path, err);
}

enum err_code
etl_object_finish(struct etl_object *obj, struct s3_object_info *info, struct err *err)
{
    enum err_code rc = ERR_OK;
    memset(info, 0, sizeof(*info));
    if (obj->s3) {
        rc = s3_upload_finish(&obj->up, info, err); /* size, MD5, ETag and parts */
        s3_upload_cleanup(&obj->up);
    } else {
        rc = commit_tmp(obj->fd, obj->tmp_path, obj->path, ERR_OK, err);
        obj->fd = -1;
        obj->tmp_path[0] = '\0';
        info->size = obj->bytes;
        digest_md5_final(&obj->md5, info->md5);
        if (rc == ERR_OK) {
            digest_hex(info->md5, DIGEST_MD5_BYTES, info->etag, sizeof(info->etag));
        }
    }
    digest_md5_cleanup(&obj->md5);
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
    if (obj->s3) {
        s3_upload_abort(&obj->up);
        s3_upload_cleanup(&obj->up);
    } else if (obj->fd >= 0) {
        close(obj->fd);
        obj->fd = -1;
        unlink(obj->tmp_path);
    }
    digest_md5_cleanup(&obj->md5);
}

struct list_adapter {
    const struct etl_sink *sink;
    s3_list_fn fn;
    void *ctx;
};

static enum err_code
strip_prefix(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err)
{
    struct list_adapter *a = ctx;
    size_t plen = strlen(a->sink->cfg->out.prefix);
    return a->fn(a->ctx, key + plen, size, etag, err);
}

/* Depth-first walk of dir; rel is the path relative to the output directory. */
static enum err_code walk(const char *base,
                          const char *rel,
                          const char *want_prefix,
                          s3_list_fn fn,
                          void *ctx,
                          struct err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s%s", base, rel[0] != '\0' ? "/" : "", rel);
    DIR *d = opendir(path);
    if (d == NULL) {
        return errno == ENOENT || errno == ENOTDIR ? ERR_OK : errno_error(err, "opendir", path);
    }
    enum err_code rc = ERR_OK;
    struct dirent *e;
    while (rc == ERR_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strstr(e->d_name, ".tmp-") != NULL) {
            continue;
        }
        char child[4096];
        snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", e->d_name);
        char full[4200];
        snprintf(full, sizeof(full), "%s/%s", base, child);
        struct stat st;
        if (stat(full, &st) != 0) {
            continue;
        }
        size_t clen = strlen(child);
        size_t wlen = strlen(want_prefix);
        bool related = strncmp(child, want_prefix, clen < wlen ? clen : wlen) == 0;
        if (!related) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk(base, child, want_prefix, fn, ctx, err);
        } else if (clen >= wlen) {
            rc = fn(ctx, child, (uint64_t)st.st_size, "", err);
        }
    }
    closedir(d);
    return rc;
}

enum err_code
etl_sink_list(struct etl_sink *s, const char *rel_prefix, s3_list_fn fn, void *ctx, struct err *err)
{
    if (s->cfg->out.is_s3) {
        char prefix[S3_MAX_KEY_BYTES + 1];
        enum err_code rc = s3_key(s, rel_prefix, prefix, err);
        if (rc != ERR_OK) {
            return rc;
        }
        struct list_adapter a = {s, fn, ctx};
        return s3_list_objects(s->aws, s->cfg->out.bucket, prefix, strip_prefix, &a, err);
    }
    return walk(s->cfg->out.dir, "", rel_prefix, fn, ctx, err);
}

enum err_code etl_sink_delete(struct etl_sink *s, const char *rel_key, struct err *err)
{
    if (s->cfg->out.is_s3) {
        char key[S3_MAX_KEY_BYTES + 1];
        enum err_code rc = s3_key(s, rel_key, key, err);
        return rc == ERR_OK ? s3_delete_object(s->aws, s->cfg->out.bucket, key, err) : rc;
    }
    char path[4096];
    enum err_code rc = file_path(s, rel_key, path, sizeof(path), err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return errno_error(err, "unlink", path);
    }
    return ERR_OK;
}
