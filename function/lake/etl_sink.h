/*
 * etl_sink.h - where objects go, behind one interface: S3 (etl_sink_s3.c: PutObject under the
 * configured prefix with the configured checksum, encryption and storage class; multipart for
 * streamed objects) or a local directory (etl_sink_file.c: same layout; written to a temporary
 * name and renamed, so a reader never sees half an object). Callers never branch on which:
 * etl_sink_init picks the backend from the location, once.
 * Keys are relative to the location's prefix or directory.
 * Ownership: a sink borrows its aws_client (NULL for files) and the strings of its put options.
 * Errors: an S3 failure carries S3's code; a file failure is ERR_IO naming the path and errno text;
 *   a key or path over the limits is ERR_INVALID_INPUT (never silently cut to another name).
 * Threads: a sink has one owner at a time; threads make their own with etl_sink_with_client.
 */
#ifndef ETL_SINK_H
#define ETL_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "buf.h"
#include "digest.h"
#include "err.h"
#include "s3.h"

/* ETL_OUTPUT: "s3://bucket/prefix/" or "file:///dir/". */
struct etl_location {
    bool is_s3;
    char bucket[64];  /* s3 */
    char prefix[512]; /* s3: "" or ending in '/' */
    char dir[1024];   /* file: absolute, no trailing '/' */
};

/* Parses ETL_OUTPUT; ERR_CONFIG naming the variable when it is not one of the two forms. */
MUST_CHECK enum err_code
etl_sink_parse_location(const char *value, struct etl_location *out, struct err *err);

struct etl_sink;
struct etl_object;

/* Called once per listed key (relative); returning an error stops the listing with it. */
typedef s3_list_fn etl_sink_list_fn;

struct etl_sink_ops {
    MUST_CHECK enum err_code (*put)(struct etl_sink *s,
                                    const char *key,
                                    struct cur body,
                                    const char *content_type,
                                    struct err *err);
    /* Writes key only if it does not exist; *written false (nothing written) when it does, and
     * then existing_md5 is the existing object's hex MD5 ("" if unknown). S3: one PutObject with
     * If-None-Match: *, and a HeadObject only after its 412. */
    MUST_CHECK enum err_code (*put_if_absent)(struct etl_sink *s,
                                              const char *key,
                                              struct cur body,
                                              const char *content_type,
                                              bool *written,
                                              char existing_md5[DIGEST_MD5_HEX],
                                              struct err *err);
    /* etag (may be NULL) gets the object's ETag, for put_cond. */
    MUST_CHECK enum err_code (*get)(struct etl_sink *s,
                                    const char *key,
                                    struct buf *out,
                                    bool *found,
                                    char *etag,
                                    struct err *err);
    /* Writes key only if it is still as the caller read it: if_etag NULL means "absent", else
     * the ETag it had. *lost (nothing written) when another writer changed it first; etag gets
     * the new object's ETag. */
    MUST_CHECK enum err_code (*put_cond)(struct etl_sink *s,
                                         const char *key,
                                         struct cur body,
                                         const char *content_type,
                                         const char *if_etag,
                                         char etag[S3_ETAG_MAX],
                                         bool *lost,
                                         struct err *err);
    MUST_CHECK enum err_code (*list)(struct etl_sink *s,
                                     const char *prefix,
                                     etl_sink_list_fn fn,
                                     void *ctx,
                                     struct err *err);
    MUST_CHECK enum err_code (*del)(struct etl_sink *s, const char *key, struct err *err);
    MUST_CHECK enum err_code (*object_open)(struct etl_sink *s,
                                            const char *key,
                                            const char *content_type,
                                            bool force_multipart,
                                            const char *spool_dir,
                                            struct etl_object *obj,
                                            struct err *err);
    MUST_CHECK enum err_code (*object_write)(struct etl_object *obj,
                                             const void *p,
                                             size_t n,
                                             struct err *err);
    MUST_CHECK enum err_code (*object_finish)(struct etl_object *obj,
                                              struct s3_object_info *info,
                                              struct err *err);
    void (*object_abort)(struct etl_object *obj);
    void (*location)(const struct etl_sink *s, const char *key, char *out, size_t cap);
};

struct etl_sink {
    const struct etl_sink_ops *ops;
    struct etl_location loc;
    struct aws_client *aws;    /* S3: the client requests go through */
    struct s3_put_options put; /* S3: defaults for every PutObject */
    uint64_t objects;
    uint64_t bytes;
};

/* Picks the backend for loc. put's strings are borrowed and must outlive the sink. */
void etl_sink_init(struct etl_sink *s,
                   const struct etl_location *loc,
                   const struct s3_put_options *put,
                   struct aws_client *aws);
/* A sink like s (same backend and settings, counters at zero) whose requests go through aws:
 * what each export thread uses with its own connection. */
void etl_sink_with_client(const struct etl_sink *s, struct aws_client *aws, struct etl_sink *out);

/* Writes one object at key (content_type NULL: the put options' default). */
MUST_CHECK static inline enum err_code etl_sink_put(struct etl_sink *s,
                                                    const char *key,
                                                    struct cur body,
                                                    const char *content_type,
                                                    struct err *err)
{
    return s->ops->put(s, key, body, content_type, err);
}

/* Reads an object (checkpoints, documents); *found false when absent. */
MUST_CHECK static inline enum err_code
etl_sink_get(struct etl_sink *s, const char *key, struct buf *out, bool *found, struct err *err)
{
    return s->ops->get(s, key, out, found, NULL, err);
}

/* The same, with the object's ETag ("" when absent), for etl_sink_put_cond. */
MUST_CHECK static inline enum err_code etl_sink_get_etag(struct etl_sink *s,
                                                         const char *key,
                                                         struct buf *out,
                                                         bool *found,
                                                         char etag[S3_ETAG_MAX],
                                                         struct err *err)
{
    etag[0] = '\0';
    return s->ops->get(s, key, out, found, etag, err);
}

/*
 * Compare-and-swap of a small document: writes key only if it is still as read (if_etag NULL:
 * still absent). S3: a conditional PutObject (If-Match / If-None-Match: *), which S3 and moto
 * honour; an S3 stand-in that ignores the headers (s3rver) just writes. Files: under a lock.
 * *lost when another writer got there first (nothing written, ERR_OK).
 */
MUST_CHECK static inline enum err_code etl_sink_put_cond(struct etl_sink *s,
                                                         const char *key,
                                                         struct cur body,
                                                         const char *content_type,
                                                         const char *if_etag,
                                                         char etag[S3_ETAG_MAX],
                                                         bool *lost,
                                                         struct err *err)
{
    return s->ops->put_cond(s, key, body, content_type, if_etag, etag, lost, err);
}

/* Calls fn for every object under prefix. */
MUST_CHECK static inline enum err_code etl_sink_list(struct etl_sink *s,
                                                     const char *prefix,
                                                     etl_sink_list_fn fn,
                                                     void *ctx,
                                                     struct err *err)
{
    return s->ops->list(s, prefix, fn, ctx, err);
}

MUST_CHECK static inline enum err_code
etl_sink_delete(struct etl_sink *s, const char *key, struct err *err)
{
    return s->ops->del(s, key, err);
}

/* Human-readable location of a key ("s3://bucket/prefix/key" or "/dir/key") for logs. */
static inline void
etl_sink_location(const struct etl_sink *s, const char *key, char *out, size_t cap)
{
    s->ops->location(s, key, out, cap);
}

/* The root every key is relative to, as Athena and the manifests name it: "s3://bucket/prefix/"
 * or "file:///dir/". */
void etl_sink_root(const struct etl_sink *s, char *out, size_t cap);

enum etl_put_outcome {
    ETL_PUT_WRITTEN,   /* a new object */
    ETL_PUT_IDENTICAL, /* the same bytes were already there: nothing written */
    ETL_PUT_RENAMED,   /* another object held the name: written under a content-hash name */
};

/*
 * Writes {stem}.{ext} unless that object exists: with the same bytes (by MD5) it is left alone,
 * so a retried batch is idempotent; with other bytes the object goes to {stem}-{md5 prefix}.{ext}
 * instead, so nothing is ever overwritten with different data. The key used is copied to key_out.
 */
MUST_CHECK enum err_code etl_sink_put_new(struct etl_sink *s,
                                          const char *stem,
                                          const char *ext,
                                          struct cur body,
                                          const char *content_type,
                                          char *key_out,
                                          size_t key_cap,
                                          enum etl_put_outcome *outcome,
                                          struct err *err);

/* A streamed object: S3 multipart (parts spooled to spool_dir) or a temporary file renamed into
 * place at finish. Memory stays a few small buffers whatever the object's size. */
struct etl_object {
    struct etl_sink *sink;
    uint64_t bytes;
    union {
        struct s3_upload up;
        struct {
            int fd;
            char tmp_path[4200];
            char path[4096];
            struct digest_md5 md5; /* a file's MD5 (its ETag) is ours to compute */
        } file;
    } u;
};

/*
 * Opens key for streaming; force_multipart makes even a small S3 object a 1-part multipart upload
 * (whose ETag has the "-1" form DynamoDB's export manifests carry).
 */
MUST_CHECK static inline enum err_code etl_sink_object_open(struct etl_sink *s,
                                                            const char *key,
                                                            const char *content_type,
                                                            bool force_multipart,
                                                            const char *spool_dir,
                                                            struct etl_object *obj,
                                                            struct err *err)
{
    return s->ops->object_open(s, key, content_type, force_multipart, spool_dir, obj, err);
}

MUST_CHECK static inline enum err_code
etl_object_write(struct etl_object *obj, const void *p, size_t n, struct err *err)
{
    obj->bytes += n;
    return obj->sink->ops->object_write(obj, p, n, err);
}

/* Completes the object; info gets size, MD5, ETag (S3) and part count. */
MUST_CHECK enum err_code
etl_object_finish(struct etl_object *obj, struct s3_object_info *info, struct err *err);
/* Drops an unfinished object (aborts the upload, removes the temporary file); accepts finished
 * and zeroed objects. */
void etl_object_abort(struct etl_object *obj);

/* ---- for the backends ---- */

/* ERR_IO: "<what> <path>: <errno text>". */
MUST_CHECK enum err_code etl_sink_errno(struct err *err, const char *what, const char *path);

extern const struct etl_sink_ops etl_sink_s3_ops;
extern const struct etl_sink_ops etl_sink_file_ops;

#endif
