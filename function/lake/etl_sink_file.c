/*
 * etl_sink_file.c - the directory backend: the same layout as S3 under a local directory.
 * Objects are written to a temporary name beside their path and renamed into place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etl_sink.h"

#define FILE_PATH_MAX 4096 /* PATH_MAX on Linux */
/* Files are read through a stack chunk this big. Upload threads write files too (put-if-absent
 * reads the file first), and each thread's stack keeps the pages its largest frame had: the
 * stack-clash probes touch them all. */
#define FILE_CHUNK_BYTES 4096

/* The file path of key: the configured directory, '/', then key. */
static enum err_code
file_path(const struct etl_sink *s, const char *key, char *path, size_t cap, struct err *err)
{
    int n = snprintf(path, cap, "%s/%s", s->loc.dir, key);
    if (n < 0 || (size_t)n >= cap) {
        return err_set(err, ERR_INVALID_INPUT, "output path over %zu bytes: %s/%.200s...", cap - 1,
                       s->loc.dir, key);
    }
    return ERR_OK;
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
            return etl_sink_errno(err, "mkdir", path);
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
        return etl_sink_errno(err, "open", tmp);
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
            return etl_sink_errno(err, "write", tmp);
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
        rc = etl_sink_errno(err, "close", tmp);
    }
    if (rc == ERR_OK && rename(tmp, path) != 0) {
        rc = etl_sink_errno(err, "rename", path);
    }
    if (rc != ERR_OK) {
        unlink(tmp);
    }
    return rc;
}

static enum err_code file_put(struct etl_sink *s,
                              const char *key,
                              struct cur body,
                              const char *content_type,
                              struct err *err)
{
    (void)content_type;
    char path[FILE_PATH_MAX], tmp[FILE_PATH_MAX + 100];
    enum err_code rc = file_path(s, key, path, sizeof(path), err);
    if (rc != ERR_OK) {
        return rc;
    }
    static atomic_ulong tmp_seq;
    snprintf(tmp, sizeof(tmp), "%s.tmp-%ld-%lu", path, (long)getpid(),
             (unsigned long)atomic_fetch_add(&tmp_seq, 1)); /* one per writer, threads too */
    int fd = -1;
    rc = open_tmp(path, tmp, &fd, err);
    if (rc != ERR_OK) {
        return rc;
    }
    rc = write_all(fd, body.ptr, body.len, tmp, err);
    rc = commit_tmp(fd, tmp, path, rc, err);
    if (rc == ERR_OK) {
        s->objects++;
        s->bytes += body.len;
    }
    return rc;
}

static enum err_code file_get(struct etl_sink *s,
                              const char *key,
                              struct buf *out,
                              bool *found,
                              char *etag,
                              struct err *err)
{
    char path[FILE_PATH_MAX];
    *found = false;
    enum err_code rc = file_path(s, key, path, sizeof(path), err);
    if (rc != ERR_OK) {
        return rc;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? ERR_OK : etl_sink_errno(err, "open", path);
    }
    size_t start = out->len;
    char chunk[FILE_CHUNK_BYTES];
    size_t n;
    while (rc == ERR_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = buf_append(out, chunk, n, err);
    }
    if (rc == ERR_OK && ferror(f) != 0) {
        rc = etl_sink_errno(err, "read", path);
    }
    fclose(f);
    *found = rc == ERR_OK;
    if (rc == ERR_OK && etag != NULL) {
        /* A file's ETag is its MD5, as S3's is for a single PutObject. */
        uint8_t sum[DIGEST_MD5_BYTES];
        digest_md5(out->data + start, out->len - start, sum);
        digest_hex(sum, DIGEST_MD5_BYTES, etag, DIGEST_MD5_HEX);
    }
    return rc;
}

/* Writes key under an exclusive lock on its directory (flock on the directory itself: nothing is
 * left beside the objects) if the file is still as the caller read it. */
static enum err_code file_put_cond(struct etl_sink *s,
                                   const char *key,
                                   struct cur body,
                                   const char *content_type,
                                   const char *if_etag,
                                   char etag[S3_ETAG_MAX],
                                   bool *lost,
                                   struct err *err)
{
    char path[FILE_PATH_MAX], lock[FILE_PATH_MAX], now[S3_ETAG_MAX];
    *lost = false;
    etag[0] = '\0';
    enum err_code rc = file_path(s, key, path, sizeof(path), err);
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(lock, sizeof(lock), "%s", path);
    char *slash = strrchr(lock, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    rc = mkdirs(path, err);
    int fd = rc == ERR_OK ? open(lock, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == ERR_OK && fd < 0) {
        rc = etl_sink_errno(err, "open", lock);
    }
    if (rc == ERR_OK && flock(fd, LOCK_EX) != 0) {
        rc = etl_sink_errno(err, "flock", lock);
    }
    struct buf cur = BUF_INIT(0);
    bool found = false;
    if (rc == ERR_OK) {
        rc = file_get(s, key, &cur, &found, now, err);
    }
    if (rc == ERR_OK) {
        *lost = if_etag == NULL ? found : (!found || strcmp(now, if_etag) != 0);
    }
    if (rc == ERR_OK && !*lost) {
        rc = file_put(s, key, body, content_type, err);
    }
    if (rc == ERR_OK && !*lost) {
        uint8_t sum[DIGEST_MD5_BYTES];
        digest_md5(body.ptr, body.len, sum);
        digest_hex(sum, DIGEST_MD5_BYTES, etag, DIGEST_MD5_HEX);
    }
    buf_cleanup(&cur);
    if (fd >= 0) {
        close(fd); /* releases the lock */
    }
    return rc;
}

/* Reads the existing file (its MD5 is the comparison), then writes when there is none. */
static enum err_code file_put_if_absent(struct etl_sink *s,
                                        const char *key,
                                        struct cur body,
                                        const char *content_type,
                                        bool *written,
                                        char existing_md5[DIGEST_MD5_HEX],
                                        struct err *err)
{
    struct buf old = BUF_INIT(0);
    bool exists = false;
    *written = false;
    existing_md5[0] = '\0';
    enum err_code rc = file_get(s, key, &old, &exists, NULL, err);
    if (rc == ERR_OK && exists) {
        uint8_t sum[DIGEST_MD5_BYTES];
        digest_md5(old.data, old.len, sum);
        digest_hex(sum, DIGEST_MD5_BYTES, existing_md5, DIGEST_MD5_HEX);
    } else if (rc == ERR_OK) {
        rc = file_put(s, key, body, content_type, err);
        *written = rc == ERR_OK;
    }
    buf_cleanup(&old);
    return rc;
}

/* A file's ETag as the listing gives it: the hex MD5 of its bytes (what S3's is for a single
 * PutObject), read in chunks. */
static enum err_code file_md5_hex(const char *path, char out[DIGEST_MD5_HEX], struct err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return etl_sink_errno(err, "open", path);
    }
    struct digest_md5 md5;
    enum err_code rc = digest_md5_init(&md5, err);
    if (rc != ERR_OK) {
        fclose(f);
        return rc;
    }
    char chunk[FILE_CHUNK_BYTES];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        digest_md5_update(&md5, chunk, n);
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    uint8_t sum[DIGEST_MD5_BYTES];
    digest_md5_final(&md5, sum);
    digest_md5_cleanup(&md5);
    digest_hex(sum, DIGEST_MD5_BYTES, out, DIGEST_MD5_HEX);
    return failed ? etl_sink_errno(err, "read", path) : ERR_OK;
}

/* Depth-first walk of dir; rel is the path relative to the output directory. */
static enum err_code walk(const char *base,
                          const char *rel,
                          const char *want_prefix,
                          etl_sink_list_fn fn,
                          void *ctx,
                          struct err *err)
{
    char path[FILE_PATH_MAX];
    snprintf(path, sizeof(path), "%s%s%s", base, rel[0] != '\0' ? "/" : "", rel);
    DIR *d = opendir(path);
    if (d == NULL) {
        return errno == ENOENT || errno == ENOTDIR ? ERR_OK : etl_sink_errno(err, "opendir", path);
    }
    enum err_code rc = ERR_OK;
    struct dirent *e;
    while (rc == ERR_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strstr(e->d_name, ".tmp-") != NULL) {
            continue;
        }
        char child[FILE_PATH_MAX];
        snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", e->d_name);
        char full[FILE_PATH_MAX + 100];
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
            char etag[DIGEST_MD5_HEX];
            rc = file_md5_hex(full, etag, err);
            if (rc == ERR_OK) {
                rc = fn(ctx, child, (uint64_t)st.st_size, etag, err);
            }
        }
    }
    closedir(d);
    return rc;
}

static enum err_code
file_list(struct etl_sink *s, const char *prefix, etl_sink_list_fn fn, void *ctx, struct err *err)
{
    return walk(s->loc.dir, "", prefix, fn, ctx, err);
}

static enum err_code file_del(struct etl_sink *s, const char *key, struct err *err)
{
    char path[FILE_PATH_MAX];
    enum err_code rc = file_path(s, key, path, sizeof(path), err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return etl_sink_errno(err, "unlink", path);
    }
    return ERR_OK;
}

static enum err_code file_object_open(struct etl_sink *s,
                                      const char *key,
                                      const char *content_type,
                                      bool force_multipart,
                                      const char *spool_dir,
                                      struct etl_object *obj,
                                      struct err *err)
{
    (void)content_type;
    (void)force_multipart;
    (void)spool_dir;
    memset(obj, 0, sizeof(*obj));
    obj->sink = s;
    obj->u.file.fd = -1;
    enum err_code rc = digest_md5_init(&obj->u.file.md5, err);
    if (rc == ERR_OK) {
        rc = file_path(s, key, obj->u.file.path, sizeof(obj->u.file.path), err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    snprintf(obj->u.file.tmp_path, sizeof(obj->u.file.tmp_path), "%s.tmp-%ld", obj->u.file.path,
             (long)getpid());
    return open_tmp(obj->u.file.path, obj->u.file.tmp_path, &obj->u.file.fd, err);
}

static enum err_code
file_object_write(struct etl_object *obj, const void *p, size_t n, struct err *err)
{
    digest_md5_update(&obj->u.file.md5, p, n);
    return write_all(obj->u.file.fd, p, n, obj->u.file.tmp_path, err);
}

static enum err_code
file_object_finish(struct etl_object *obj, struct s3_object_info *info, struct err *err)
{
    enum err_code rc =
        commit_tmp(obj->u.file.fd, obj->u.file.tmp_path, obj->u.file.path, ERR_OK, err);
    obj->u.file.fd = -1;
    obj->u.file.tmp_path[0] = '\0';
    info->size = obj->bytes;
    digest_md5_final(&obj->u.file.md5, info->md5);
    if (rc == ERR_OK) {
        digest_hex(info->md5, DIGEST_MD5_BYTES, info->etag, sizeof(info->etag));
    }
    digest_md5_cleanup(&obj->u.file.md5);
    return rc;
}

static void file_object_abort(struct etl_object *obj)
{
    if (obj->u.file.fd >= 0) {
        close(obj->u.file.fd);
        obj->u.file.fd = -1;
        unlink(obj->u.file.tmp_path);
    }
    digest_md5_cleanup(&obj->u.file.md5);
}

static void file_location(const struct etl_sink *s, const char *key, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", s->loc.dir, key);
}

const struct etl_sink_ops etl_sink_file_ops = {
    .put = file_put,
    .put_if_absent = file_put_if_absent,
    .get = file_get,
    .put_cond = file_put_cond,
    .list = file_list,
    .del = file_del,
    .object_open = file_object_open,
    .object_write = file_object_write,
    .object_finish = file_object_finish,
    .object_abort = file_object_abort,
    .location = file_location,
};
