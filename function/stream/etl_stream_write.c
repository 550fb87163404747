/*
 * etl_stream_write.c - pass 2 of the stream pipeline: every chunk rendered (format and codec)
 * and written under its content-checked name, several at once. A warm batch's time goes to S3's
 * request latency, not to rendering, so objects go out in parallel on kept-alive connections.
 * Rendering is one at a time (a lock): it bounds memory to one compressor's state and the bodies
 * in flight, and the next object renders while the previous ones upload.
 * What the batch reports (which records are durable, the counts, the log) is decided afterwards
 * from the per-chunk results, in chunk order, so it never depends on which write finished first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_ddl.h"
#include "etl_spec.h"
#include "etl_stream_batch.h"
#include "etl_writer.h"
#include "jsonw.h"
#include "limit.h"
#include "log.h"
#include "pool.h"

#define QUARANTINE_DIR "_quarantine"
#define REJECTED_DIR   "rejected"

/* One concurrent object write: the client a thread's requests go through (NULL for file
 * output), its scratch, and one slot of the batch's object buffers. The object buffers are not
 * the thread's: a thread takes an idle one to render into and gives it back once the object is
 * written, so a batch holds as many rendered objects as are in flight (on file:// or a fast S3,
 * one or two), not one per thread. All are kept warm across batches. */
struct etl_stream_worker {
    struct buf object; /* a rendered object (any thread's, while busy) */
    bool busy;         /* object is taken (under the run's objects lock) */
    struct buf text;   /* scratch: quarantine lines */
    struct aws_client *aws;
};

enum chunk_state { CHUNK_PENDING = 0, CHUNK_SKIPPED, CHUNK_DONE };

/* What writing one chunk came to, filled by whichever worker wrote it. */
struct chunk_write {
    char stem[LIMIT_KEY_BYTES];
    char ext[32];
    char key[LIMIT_KEY_BYTES + 64]; /* the name written (or found) */
    size_t index;                   /* the chunk's */
    uint32_t round;                 /* chunks sharing a name go in successive rounds */
    enum chunk_state state;
    enum err_code rc;
    struct err err;
    enum etl_put_outcome outcome;
    size_t bytes;
};

/* One round of writes: the chunks in order[] (ascending), on the stream's workers. */
struct write_run {
    struct etl_stream *s;
    const struct batch *b;
    struct chunk_write *w;
    const size_t *order;
    int64_t deadline_mono_ms;
    size_t next_worker;           /* the worker the next thread gets */
    pthread_mutex_t render_lock;  /* one object renders at a time */
    pthread_mutex_t objects_lock; /* the workers' busy flags */
};

/* Quarantine objects (the error and the raw record) and rejected rows (the row and the rules it
 * broke) are always JSON Lines. */
static struct etl_encoding group_encoding(const struct etl_stream *s, const struct group *grp)
{
    struct etl_encoding e = s->cfg->enc;
    if (grp->kind != G_DATA) {
        e.format = &etl_fmt_jsonl;
    }
    return e;
}

static enum err_code render_quarantine(struct buf *text,
                                       struct etl_writer *w,
                                       const struct batch *b,
                                       const struct group *grp,
                                       const struct chunk *c,
                                       struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = c->begin; rc == ERR_OK && i < c->end; i++) {
        const struct rec *r = &b->recs[grp->recs[i]];
        struct jsonw jw;
        buf_reset(text);
        jsonw_init(&jw, text, err);
        jsonw_object(&jw, JSONW_COMPACT);
        jsonw_key(&jw, "error");
        jsonw_str(&jw, r->error);
        jsonw_key(&jw, "record");
        jsonw_raw(&jw, rec_raw(b, r));
        jsonw_end(&jw);
        jsonw_text(&jw, "\n");
        rc = jsonw_finish(&jw);
        if (rc == ERR_OK) {
            rc = etl_writer_raw(w, text->data, text->len, err);
        }
    }
    return rc;
}

/* The schema of a chunk's rows, for formats that must know it before the first row. */
static enum err_code chunk_schema(const struct etl_stream *s,
                                  const struct batch *b,
                                  const struct chunk *c,
                                  struct etl_schema *schema,
                                  struct err *err)
{
    const struct group *grp = &b->groups[c->group];
    enum err_code rc = ERR_OK;
    for (size_t i = c->begin; rc == ERR_OK && i < c->end; i++) {
        struct etl_row_ref row = {&s->store, b->recs[grp->recs[i]].row_offset, {NULL, 0}};
        rc = etl_schema_observe(schema, &row, err);
    }
    return rc;
}

/* Renders a chunk into the worker's object buffer with the shared compressor (the caller holds
 * the render lock); reads the batch and the stream's rows only. */
static enum err_code render_chunk(const struct etl_stream *s,
                                  const struct batch *b,
                                  const struct chunk *c,
                                  struct buf *object,
                                  struct buf *text,
                                  struct etl_codec_cache *codecs,
                                  struct err *err)
{
    const struct group *grp = &b->groups[c->group];
    struct etl_encoding enc = group_encoding(s, grp);
    enc.cache = codecs;
    struct etl_writer w = {0}; /* cleaned up on every path, even before it is opened */
    struct etl_schema schema;
    struct etl_ddl_declared_list decl = {NULL, 0, 0, false};
    etl_schema_init(&schema);
    buf_reset(object);
    enum err_code rc = ERR_OK;
    if (enc.format->needs_schema && grp->kind == G_DATA) {
        rc = chunk_schema(s, b, c, &schema, err);
    }
    /* A typed format writes the transform's declared types (Parquet's DECIMAL, INT64). */
    for (size_t d = 0; enc.format->athena_type != NULL && grp->kind == G_DATA && s->spec != NULL &&
                       d < s->spec->n_datasets;
         d++) {
        if (strcmp(s->spec->datasets[d].name, grp->name) == 0) {
            etl_spec_declared(&s->spec->datasets[d], etl_ddl_declared_add, &decl);
            enc.opts.declared = decl.v;
            enc.opts.n_declared = decl.n;
        }
    }
    if (rc == ERR_OK && decl.failed) {
        rc = err_set(err, ERR_NOMEM, "out of memory for the declared types of %s", grp->name);
    }
    if (rc == ERR_OK) {
        rc = etl_writer_open(&w, object, &enc, &schema, err);
    }
    etl_ddl_declared_list_cleanup(&decl);
    if (rc != ERR_OK) {
        goto out;
    }
    if (grp->kind == G_QUARANTINE) {
        rc = render_quarantine(text, &w, b, grp, c, err);
    } else {
        for (size_t i = c->begin; rc == ERR_OK && i < c->end; i++) {
            const struct rec *r = &b->recs[grp->recs[i]];
            struct etl_row_ref row = {&s->store, r->row_offset, rec_raw(b, r)};
            rc = etl_writer_row(&w, &row, err);
        }
    }
    if (rc == ERR_OK) {
        rc = etl_writer_close(&w, err);
    }
out:
    etl_writer_cleanup(&w);
    etl_schema_cleanup(&schema);
    return rc;
}

/* The key stem "{name}/changes/{partition}/{first}-{last}" (quarantine: "_quarantine/{table}/...",
 * rejected rows: "{dataset}/rejected/...") and its extension. */
static enum err_code chunk_stem(const struct etl_stream *s,
                                const struct batch *b,
                                const struct chunk *c,
                                char *stem,
                                size_t cap,
                                char *ext,
                                size_t ext_cap,
                                struct err *err)
{
    const struct group *grp = &b->groups[c->group];
    char first[ETL_STREAM_SEQ_MAX], last[ETL_STREAM_SEQ_MAX];
    (void)rec_seq(&b->recs[grp->recs[c->begin]], first);
    (void)rec_seq(&b->recs[grp->recs[c->end - 1]], last);
    struct etl_encoding enc = group_encoding(s, grp);
    etl_writer_extension(&enc, ext, ext_cap);
    int n;
    switch (grp->kind) {
    case G_QUARANTINE:
        n = snprintf(stem, cap, "%s/%s/%s/%s-%s", QUARANTINE_DIR, grp->name, grp->partition,
                     first[0] != '\0' ? first : "noseq", last[0] != '\0' ? last : "noseq");
        break;
    case G_REJECTED:
        n = snprintf(stem, cap, "%s/%s/%s/%s-%s", grp->name, REJECTED_DIR, grp->partition, first,
                     last);
        break;
    default:
        n = snprintf(stem, cap, "%s/changes/%s/%s-%s", grp->name, grp->partition, first, last);
        break;
    }
    if (n < 0 || (size_t)n >= cap) {
        return err_set(err, ERR_INVALID_INPUT, "object key too long for %s", grp->name);
    }
    return ERR_OK;
}

static int by_name(const void *a, const void *b)
{
    const struct chunk_write *x = *(const struct chunk_write *const *)a;
    const struct chunk_write *y = *(const struct chunk_write *const *)b;
    int c = strcmp(x->stem, y->stem);
    if (c == 0) {
        c = strcmp(x->ext, y->ext);
    }
    return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

/*
 * Names every chunk and puts chunks that share a name (sample events reuse sequence numbers)
 * in successive rounds, in batch order: which of them keeps the plain name and which gets the
 * content-hash name must not depend on which write reaches S3 first. Returns the round count.
 */
static enum err_code name_chunks(const struct etl_stream *s,
                                 const struct batch *b,
                                 struct chunk_write *w,
                                 uint32_t *rounds,
                                 struct err *err)
{
    struct chunk_write **sorted = calloc(b->n_chunks, sizeof(*sorted));
    if (sorted == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory naming %zu objects", b->n_chunks);
    }
    size_t n = 0;
    for (size_t ci = 0; ci < b->n_chunks; ci++) {
        struct chunk_write *cw = &w[ci];
        cw->index = ci;
        cw->rc = chunk_stem(s, b, &b->chunks[ci], cw->stem, sizeof(cw->stem), cw->ext,
                            sizeof(cw->ext), &cw->err);
        if (cw->rc != ERR_OK) {
            cw->state = CHUNK_DONE; /* a failed write: reported, never attempted */
            continue;
        }
        sorted[n++] = cw;
    }
    qsort(sorted, n, sizeof(*sorted), by_name);
    *rounds = n > 0 ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(sorted[i]->stem, sorted[i - 1]->stem) == 0 &&
            strcmp(sorted[i]->ext, sorted[i - 1]->ext) == 0) {
            sorted[i]->round = sorted[i - 1]->round + 1;
            if (sorted[i]->round + 1 > *rounds) {
                *rounds = sorted[i]->round + 1;
            }
        }
    }
    free(sorted);
    return ERR_OK;
}

/* The slot of an idle object buffer, the warmest (largest) one, marked busy. With at most as
 * many threads as workers, each holding at most one buffer, there is always one. */
static struct etl_stream_worker *take_object(struct write_run *run)
{
    struct etl_stream *s = run->s;
    struct etl_stream_worker *best = NULL;
    pthread_mutex_lock(&run->objects_lock);
    for (size_t i = 0; i < s->n_workers; i++) {
        struct etl_stream_worker *wk = &s->workers[i];
        if (!wk->busy && (best == NULL || wk->object.cap > best->object.cap)) {
            best = wk;
        }
    }
    best->busy = true;
    pthread_mutex_unlock(&run->objects_lock);
    return best;
}

static void give_object(struct write_run *run, struct etl_stream_worker *slot)
{
    /* Keep buffers warm for the next batch, but never more than a few MiB idle. */
    if (slot->object.cap > LIMIT_KEEP_WARM_BYTES) {
        buf_cleanup(&slot->object);
    }
    pthread_mutex_lock(&run->objects_lock);
    slot->busy = false;
    pthread_mutex_unlock(&run->objects_lock);
}

/* A pool task: renders and writes one chunk with the thread's worker. Only running out of
 * memory stops the pool; any other failure is that chunk's, and the others go on. */
static enum err_code write_task(void *ctx, void *tstate, size_t index, struct err *err)
{
    struct write_run *run = ctx;
    struct etl_stream_worker *wk = tstate;
    struct etl_stream *s = run->s;
    size_t ci = run->order[index];
    struct chunk_write *cw = &run->w[ci];
    if (sys_ms_left(s->sys, run->deadline_mono_ms) < s->cfg->deadline_margin_ms) {
        cw->state = CHUNK_SKIPPED;
        return ERR_OK;
    }
    const struct chunk *c = &run->b->chunks[ci];
    struct etl_encoding enc = group_encoding(s, &run->b->groups[c->group]);
    struct etl_sink sink; /* the stream's sink, on this worker's connection */
    etl_sink_with_client(s->sink, wk->aws, &sink);
    err_clear(&cw->err);
    pthread_mutex_lock(&run->render_lock);
    struct etl_stream_worker *slot = take_object(run);
    struct buf *object = &slot->object;
    enum err_code rc = render_chunk(s, run->b, c, object, &wk->text, &s->codecs, &cw->err);
    pthread_mutex_unlock(&run->render_lock);
    if (rc == ERR_OK) {
        rc = etl_sink_put_new(&sink, cw->stem, cw->ext, buf_cur(object),
                              etl_writer_content_type(&enc), cw->key, sizeof(cw->key), &cw->outcome,
                              &cw->err);
    }
    cw->rc = rc;
    cw->bytes = object->len;
    cw->state = CHUNK_DONE;
    give_object(run, slot);
    if (rc == ERR_NOMEM) {
        *err = cw->err;
        return rc;
    }
    return ERR_OK;
}

/* A pool thread's state: the next worker, with a client of its own (S3). Runs in the calling
 * thread, one thread after another. */
static void *worker_init(void *ctx, struct err *err)
{
    struct write_run *run = ctx;
    struct etl_stream *s = run->s;
    size_t i = run->next_worker++;
    struct etl_stream_worker *wk = &s->workers[i];
    wk->aws = NULL;
    if (s->sink->aws != NULL) {
        wk->aws = aws_clients_get(&s->clients, i, err);
        if (wk->aws == NULL) {
            return NULL;
        }
    }
    return wk;
}

/* Makes sure n workers exist (their buffers start empty and stay with the stream). */
static enum err_code ensure_workers(struct etl_stream *s, size_t n, struct err *err)
{
    if (s->n_workers >= n) {
        return ERR_OK;
    }
    struct etl_stream_worker *w = realloc(s->workers, n * sizeof(*w));
    if (w == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for %zu upload workers", n);
    }
    memset(&w[s->n_workers], 0, (n - s->n_workers) * sizeof(*w));
    s->workers = w;
    s->n_workers = n;
    return ERR_OK;
}

void etl_stream_workers_free(struct etl_stream *s)
{
    for (size_t i = 0; i < s->n_workers; i++) {
        buf_cleanup(&s->workers[i].object);
        buf_cleanup(&s->workers[i].text);
    }
    free(s->workers);
    s->workers = NULL;
    s->n_workers = 0;
    aws_clients_cleanup(&s->clients);
}

/* Writes the chunks of one round, up to the configured number at once. */
static enum err_code run_round(struct write_run *run, size_t n, struct err *err)
{
    struct etl_stream *s = run->s;
    size_t threads = (size_t)s->cfg->upload_concurrency;
    if (s->sink->aws != NULL && threads > aws_clients_limit(&s->clients)) {
        threads = aws_clients_limit(&s->clients); /* one connection per thread */
    }
    if (threads > n) {
        threads = n;
    }
    if (threads < 1) {
        threads = 1;
    }
    enum err_code rc = ensure_workers(s, threads, err);
    if (rc != ERR_OK) {
        return rc;
    }
    s->workers[0].aws = s->sink->aws; /* the inline worker: the sink's own client */
    run->next_worker = 0;
    const struct pool_ops ops = {
        .thread_init = threads > 1 ? worker_init : NULL,
        .task = write_task,
    };
    return pool_run(n, (int)threads, &ops, run, &s->workers[0], err);
}

/* Logs and counts each chunk's outcome in chunk order, and marks the records of the chunks
 * written durable. */
static void report_chunks(struct etl_stream *s,
                          struct batch *b,
                          const struct chunk_write *w,
                          struct etl_stream_stats *st)
{
    size_t skipped = 0;
    for (size_t ci = 0; ci < b->n_chunks; ci++) {
        skipped += w[ci].state == CHUNK_SKIPPED;
    }
    if (skipped > 0) {
        log_warn(
            "deadline near: %zu of %zu objects left unwritten; their records are reported for retry",
            skipped, b->n_chunks);
    }
    for (size_t ci = 0; ci < b->n_chunks; ci++) {
        const struct chunk_write *cw = &w[ci];
        const struct chunk *c = &b->chunks[ci];
        const struct group *grp = &b->groups[c->group];
        if (cw->state != CHUNK_DONE) {
            continue;
        }
        char where[LIMIT_LOCATION_BYTES + 64];
        etl_sink_location(s->sink, cw->key, where, sizeof(where));
        if (cw->rc != ERR_OK) {
            log_write(LOG_ERROR,
                      (struct log_field[]){LOG_STR("object", where),
                                           LOG_INT("records", c->end - c->begin)},
                      2, "object not written: %s", cw->err.msg);
            continue;
        }
        if (cw->outcome == ETL_PUT_RENAMED) {
            log_warn("%s.%s already held other data (a reused sequence range); wrote %s instead",
                     cw->stem, cw->ext, where);
        }
        log_write(
            LOG_DEBUG,
            (struct log_field[]){LOG_STR("object", where), LOG_INT("records", c->end - c->begin),
                                 LOG_INT("bytes", (int64_t)cw->bytes)},
            3, cw->outcome == ETL_PUT_IDENTICAL ? "object already present" : "object written");
        if (cw->outcome != ETL_PUT_IDENTICAL) {
            st->objects_written++;
            st->bytes_written += cw->bytes;
        }
        for (size_t i = c->begin; i < c->end; i++) {
            b->recs[grp->recs[i]].durable = true;
            if (grp->kind == G_DATA) {
                st->records_out++;
            } else if (grp->kind == G_REJECTED) {
                st->records_rejected++;
            }
        }
    }
}

enum err_code etl_stream_write_chunks(struct etl_stream *s,
                                      struct batch *b,
                                      int64_t deadline_mono_ms,
                                      struct etl_stream_stats *st,
                                      struct err *err)
{
    if (b->n_chunks == 0) {
        return ERR_OK;
    }
    struct chunk_write *w = calloc(b->n_chunks, sizeof(*w));
    size_t *order = calloc(b->n_chunks, sizeof(*order));
    uint32_t rounds = 0;
    enum err_code rc = ERR_OK;
    if (w == NULL || order == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory writing %zu objects", b->n_chunks);
        goto out;
    }
    rc = name_chunks(s, b, w, &rounds, err);
    struct write_run run = {.s = s, .b = b, .w = w, .order = order};
    run.deadline_mono_ms = deadline_mono_ms;
    pthread_mutex_init(&run.render_lock, NULL);
    pthread_mutex_init(&run.objects_lock, NULL);
    for (uint32_t round = 0; rc == ERR_OK && round < rounds; round++) {
        size_t n = 0;
        for (size_t ci = 0; ci < b->n_chunks; ci++) {
            if (w[ci].state == CHUNK_PENDING && w[ci].round == round) {
                order[n++] = ci;
            }
        }
        rc = run_round(&run, n, err);
    }
    if (rc == ERR_OK) {
        report_chunks(s, b, w, st);
    }
    pthread_mutex_destroy(&run.render_lock);
    pthread_mutex_destroy(&run.objects_lock);
out:
    free(order);
    free(w);
    return rc;
}
