/*
 * etl_scan.c - one segment of a snapshot. The invariant that makes resumption exact: the
 * checkpoint's LastEvaluatedKey is always the key after the last item of the last completed
 * file, and a file is completed (multipart upload finished) before the checkpoint names it.
 */
#include "etl_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "etl_ddl.h"
#include "etl_dq_run.h"
#include "etl_record.h"
#include "etl_time.h"
#include "etl_writer.h"
#include "log.h"

#define SCAN_MAX_SOFT_FAILURES 8 /* consecutive retryable failures of one page */
#define SCAN_MIN_PAGE_LIMIT    10
/* Rows of a whole-object format (CSV) wait in memory for the file's end (its header). */
#define WHOLE_OBJECT_FILE_MAX_BYTES ((int64_t)16 * 1024 * 1024)

struct open_file {
    bool open;
    size_t dataset;
    bool rejected; /* rows that broke a rule or a cast, in {dataset}/rejected/ */
    uint32_t n;
    char key[LIMIT_KEY_BYTES];
    struct etl_encoding enc;
    struct etl_object obj;
    struct etl_writer w;
    struct buf out;   /* writer output, moved to the object after each page */
    struct buf store; /* the row being written, or every row of a whole-object file */
    uint64_t records;
    struct etl_schema pending; /* schema of the rows in this file */
};

/* What a segment has done since its last checkpoint, to be merged into it with the files. */
struct pending_ds {
    uint64_t filtered;
};

struct scan_files {
    struct open_file *files; /* two per dataset: data, rejected */
    size_t n;
    struct pending_ds *pending;
    struct etl_dq_run *dq; /* per dataset: its rules over the rows since the last checkpoint */
    uint64_t items;        /* items read since the last checkpoint */
    uint64_t unrouted;
    struct buf src;                 /* one item's source row (with a transform) */
    struct buf text;                /* scratch */
    char run_time[ETL_ISO8601_MAX]; /* every row's _ts: the run's time */
    size_t saved_files;             /* files of the checkpoint as last saved (or read) */
    bool superseded;                /* another invocation saved the checkpoint first */
};

void etl_scan_checkpoint_key(const char *run_dir, int segment, char *out, size_t cap)
{
    snprintf(out, cap, "%s_checkpoint/segment-%d.json", run_dir, segment);
}

enum err_code
etl_scan_save_checkpoint(struct etl_scan_job *job, struct etl_ckpt *ck, bool *lost, struct err *err)
{
    struct buf doc = BUF_INIT(0);
    char key[LIMIT_KEY_BYTES], etag[S3_ETAG_MAX];
    *lost = false;
    etl_scan_checkpoint_key(job->run_dir, ck->segment, key, sizeof(key));
    enum err_code rc = etl_ckpt_to_json(ck, job->run->table, job->run->run_id, &doc, err);
    if (rc == ERR_OK) {
        rc = etl_sink_put_cond(&job->sink, key, buf_cur(&doc), "application/json",
                               ck->stored ? ck->etag : NULL, etag, lost, err);
    }
    if (rc == ERR_OK && !*lost) {
        ck->stored = true;
        memcpy(ck->etag, etag, sizeof(ck->etag));
    }
    buf_cleanup(&doc);
    return rc;
}

/* "{dataset}/snapshots/run={id}/" or "{dataset}/rejected/run={id}/". */
static void
dataset_dir(const struct etl_scan_job *job, const struct open_file *f, char *out, size_t cap)
{
    const char *name = job->n_datasets > 0 ? job->datasets[f->dataset] : job->run->table;
    snprintf(out, cap, "%s/%s/run=%s/", name, f->rejected ? "rejected" : "snapshots",
             job->run->run_id);
}

static enum err_code
open_file(struct etl_scan_job *job, struct etl_ckpt *ck, struct open_file *f, struct err *err)
{
    const struct etl_snapshot_config *cfg = job->cfg;
    char ext[32], dir[LIMIT_RUN_DIR_BYTES];
    f->n = ck->next_file++;
    f->enc = etl_snapshot_encoding(cfg);
    if (f->rejected) {
        f->enc.format = &etl_fmt_jsonl; /* rejected rows carry the rules they broke */
    }
    etl_writer_extension(&f->enc, ext, sizeof(ext));
    dataset_dir(job, f, dir, sizeof(dir));
    cfg->layout->file_key(dir, job->run->export_id, ck->segment, f->n, job->attempt, ext, f->key,
                          sizeof(f->key));
    f->records = 0;
    buf_reset(&f->store);
    buf_reset(&f->out);
    etl_schema_reset(&f->pending);
    enum err_code rc =
        etl_sink_object_open(&job->sink, f->key, etl_writer_content_type(&f->enc),
                             cfg->layout->force_multipart, cfg->spool_dir, &f->obj, err);
    /* A typed format writes the transform's declared types (Parquet's DECIMAL, INT64). */
    struct etl_ddl_declared_list decl = {NULL, 0, 0, false};
    if (f->enc.format->athena_type != NULL && job->spec != NULL &&
        f->dataset < job->spec->n_datasets) {
        etl_spec_declared(&job->spec->datasets[f->dataset], etl_ddl_declared_add, &decl);
        f->enc.opts.declared = decl.v;
        f->enc.opts.n_declared = decl.n;
        if (rc == ERR_OK && decl.failed) {
            rc = err_set(err, ERR_NOMEM, "out of memory for the declared types of a dataset");
        }
    }
    if (rc == ERR_OK) {
        rc = etl_writer_open(&f->w, &f->out, &f->enc, NULL, err);
    }
    f->enc.opts.declared = NULL; /* borrowed by begin only */
    f->enc.opts.n_declared = 0;
    etl_ddl_declared_list_cleanup(&decl);
    if (rc == ERR_OK) {
        f->open = true;
    } else {
        etl_writer_cleanup(&f->w);
        etl_object_abort(&f->obj);
    }
    return rc;
}

static enum err_code drain(struct open_file *f, struct err *err)
{
    if (f->out.len == 0) {
        return ERR_OK;
    }
    enum err_code rc = etl_object_write(&f->obj, f->out.data, f->out.len, err);
    buf_reset(&f->out);
    return rc;
}

static void abort_file(struct open_file *f)
{
    if (f->open) {
        etl_writer_cleanup(&f->w);
        etl_object_abort(&f->obj);
        f->open = false;
    }
}

/* Opens f unless it is open: before a row goes into its store (opening empties the store). */
static enum err_code
ensure_open(struct etl_scan_job *job, struct etl_ckpt *ck, struct open_file *f, struct err *err)
{
    return f->open ? ERR_OK : open_file(job, ck, f, err);
}

/* Writes the row at row->offset of the open file's store into it. */
static enum err_code put_row(struct open_file *f, const struct etl_row_ref *row, struct err *err)
{
    enum err_code rc = ERR_OK;
    if (!f->rejected) {
        rc = etl_schema_observe(&f->pending, row, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    f->records++;
    rc = etl_writer_row(&f->w, row, err);
    if (!f->enc.format->whole_object) {
        buf_reset(&f->store); /* rendered: memory holds one row, not a page of them */
    }
    return rc;
}

/* The column a rejected row carries: what it broke (Glue's DataQualityRulesFail). */
static enum err_code
fail_column(struct buf *text, const char *reason, struct etl_col *out, struct err *err)
{
    buf_reset(text);
    enum err_code rc = buf_append_byte(text, '[', err);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(text, reason, strlen(reason), err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_byte(text, ']', err);
    }
    *out = (struct etl_col){ETL_T_L, 0, cur_from_str("\"DataQualityRulesFail\""), buf_cur(text)};
    return rc;
}

/* One item through the transform: a data row, a rejected row, or nothing (filtered). */
static enum err_code transform_item(struct etl_scan_job *job,
                                    struct etl_ckpt *ck,
                                    struct scan_files *sf,
                                    size_t src_offset,
                                    struct err *err)
{
    struct etl_row_ref src = {&sf->src, src_offset, {NULL, 0}};
    struct etl_tx_result res;
    struct err terr = ERR_INIT;
    enum err_code rc = etl_transform_apply(job->tx, &src, &res, &terr);
    if (rc == ERR_INVALID_INPUT) {
        /* A value an expression cannot take: the item is rejected, with the reason. */
        res.outcome = ETL_TX_REJECTED;
        snprintf(res.reason, sizeof(res.reason), "TransformError: %s", terr.msg);
        if (res.dataset < 0) {
            res.dataset = 0;
        }
        rc = etl_transform_load(job->tx, res.dataset, &src, err);
    } else if (rc != ERR_OK) {
        *err = terr;
        return rc;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (res.outcome == ETL_TX_UNROUTED) {
        sf->unrouted++;
        return ERR_OK;
    }
    if (res.outcome == ETL_TX_FILTERED) {
        sf->pending[res.dataset].filtered++;
        return ERR_OK;
    }
    bool rejected = res.outcome == ETL_TX_REJECTED;
    struct etl_col extra;
    if (rejected && res.n_cast_failed == 0) {
        rc = fail_column(&sf->text, res.reason, &extra, err); /* a TransformError */
    } else {
        /* Failed casts and the dataset's rules decide the row: quarantined rows go to
         * rejected/. */
        struct cur fails = rejected ? etl_transform_failures(job->tx) : (struct cur){NULL, 0};
        rc = etl_dq_run_row(&sf->dq[res.dataset], etl_transform_env(job->tx), fails, &rejected,
                            &sf->text, err);
        extra = (struct etl_col){ETL_T_L, 0, cur_from_str("\"DataQualityRulesFail\""),
                                 buf_cur(&sf->text)};
    }
    struct open_file *f = &sf->files[2 * (size_t)res.dataset + (rejected ? 1 : 0)];
    struct etl_row_ref row = {&f->store, 0, {NULL, 0}};
    if (rc == ERR_OK) {
        rc = ensure_open(job, ck, f, err);
    }
    if (rc == ERR_OK) {
        rc = etl_transform_emit(job->tx, rejected ? &extra : NULL, &f->store, &row.offset, err);
    }
    return rc == ERR_OK ? put_row(f, &row, err) : rc;
}

/* Appends one item: as its row, or through the transform. */
static enum err_code add_item(struct etl_scan_job *job,
                              struct etl_ckpt *ck,
                              struct scan_files *sf,
                              const struct json_val *item,
                              struct err *err)
{
    struct etl_record_meta meta = {
        .op = "SNAPSHOT",
        .ts = sf->run_time,
        .table = job->run->table,
    };
    sf->items++;
    if (job->tx == NULL) {
        struct open_file *f = &sf->files[0];
        struct etl_row_ref row = {&f->store, 0, item->raw};
        enum err_code rc = ensure_open(job, ck, f, err);
        if (rc == ERR_OK) {
            rc = etl_record_build(&f->store, item, NULL, &meta, &row.offset, err);
        }
        return rc == ERR_OK ? put_row(f, &row, err) : rc;
    }
    size_t offset = 0;
    buf_reset(&sf->src);
    enum err_code rc = etl_record_build(&sf->src, item, NULL, &meta, &offset, err);
    return rc == ERR_OK ? transform_item(job, ck, sf, offset, err) : rc;
}

static int64_t file_limit(const struct etl_scan_job *job, const struct open_file *f)
{
    int64_t limit = job->cfg->export_object_bytes;
    if (f->enc.format->whole_object && limit > WHOLE_OBJECT_FILE_MAX_BYTES) {
        return WHOLE_OBJECT_FILE_MAX_BYTES;
    }
    return limit;
}

/* How big the open file is so far (uncompressed): rows waiting, or bytes encoded. */
static uint64_t file_size(const struct open_file *f)
{
    if (f->enc.format->whole_object) {
        return f->store.len;
    }
    return f->w.raw_bytes + etl_writer_pending_bytes(&f->w);
}

static bool any_open(const struct scan_files *sf)
{
    for (size_t i = 0; i < sf->n; i++) {
        if (sf->files[i].open) {
            return true;
        }
    }
    return false;
}

static bool any_full(const struct etl_scan_job *job, const struct scan_files *sf)
{
    for (size_t i = 0; i < sf->n; i++) {
        if (sf->files[i].open &&
            (int64_t)file_size(&sf->files[i]) >= file_limit(job, &sf->files[i])) {
            return true;
        }
    }
    return false;
}

/* Completes one open file and lists it in the checkpoint (not yet saved). */
static enum err_code
finish_file(struct etl_ckpt *ck, struct open_file *f, struct etl_scan_stats *st, struct err *err)
{
    enum err_code rc = etl_writer_close(&f->w, err);
    if (rc == ERR_OK) {
        rc = drain(f, err);
    }
    struct s3_object_info info;
    if (rc == ERR_OK) {
        rc = etl_object_finish(&f->obj, &info, err);
    } else {
        etl_object_abort(&f->obj);
    }
    struct etl_ckpt_file cf;
    memset(&cf, 0, sizeof(cf));
    if (rc == ERR_OK) {
        snprintf(cf.key, sizeof(cf.key), "%s", f->key);
        cf.dataset = (uint16_t)f->dataset;
        cf.rejected = f->rejected;
        cf.records = f->records;
        cf.bytes = info.size;
        cf.raw_bytes = f->w.raw_bytes;
        digest_hex(info.md5, DIGEST_MD5_BYTES, cf.md5, sizeof(cf.md5));
        snprintf(cf.etag, sizeof(cf.etag), "%s", info.etag);
        cf.parts = info.parts;
        rc = etl_ckpt_add_file(ck, &cf, err);
    }
    etl_writer_cleanup(&f->w);
    f->open = false;
    if (rc != ERR_OK) {
        return rc;
    }
    struct etl_ckpt_ds *d = &ck->ds[f->dataset];
    if (f->rejected) {
        d->rejected += f->records;
    } else {
        d->rows += f->records;
        rc = etl_schema_merge(&d->schema, &f->pending, err);
    }
    st->files++;
    log_write(LOG_DEBUG,
              (struct log_field[]){LOG_STR("file", cf.key), LOG_INT("records", (int64_t)cf.records),
                                   LOG_INT("bytes", (int64_t)cf.bytes),
                                   LOG_INT("segment", ck->segment)},
              4, "snapshot file completed");
    return rc;
}

/* Adds the rows the rules saw since the last checkpoint to the checkpoint's partial. */
static enum err_code save_partial(struct etl_dq_run *run, struct etl_ckpt_ds *d, struct err *err)
{
    struct etl_dq_partial *rows = etl_dq_run_partial(run);
    if (rows == NULL || etl_dq_partial_rows(rows) == 0) {
        return ERR_OK;
    }
    struct etl_dq_partial *saved = NULL;
    enum err_code rc = etl_dq_partial_new(run->rules, &saved, err);
    if (rc == ERR_OK && d->dq.len > 0) {
        rc = etl_dq_partial_from_json(saved, buf_cur(&d->dq), err);
    }
    if (rc == ERR_OK) {
        rc = etl_dq_partial_merge(saved, rows, err);
    }
    if (rc == ERR_OK) {
        buf_reset(&d->dq);
        rc = etl_dq_partial_to_json(saved, &d->dq, err);
    }
    if (rc == ERR_OK) {
        etl_dq_partial_reset(rows);
    }
    etl_dq_partial_free(saved);
    return rc;
}

/* Another invocation saved the segment's checkpoint since this one read it: this one's files
 * that no checkpoint lists are deleted (best effort: the commit removes what is left) and the
 * scan stops. */
static void superseded(struct etl_scan_job *job, const struct etl_ckpt *ck, struct scan_files *sf)
{
    size_t removed = 0;
    for (size_t i = sf->saved_files; i < ck->n_files; i++) {
        struct err derr = ERR_INIT;
        if (etl_sink_delete(&job->sink, ck->files[i].key, &derr) == ERR_OK) {
            removed++;
        } else {
            log_warn("segment %d: could not remove %s (%s); the commit removes it", ck->segment,
                     ck->files[i].key, derr.msg);
        }
    }
    log_write(LOG_WARN,
              (struct log_field[]){LOG_INT("segment", ck->segment),
                                   LOG_STR("attempt", job->attempt),
                                   LOG_INT("filesRemoved", (int64_t)removed)},
              3,
              "another invocation saved this segment's checkpoint first (overlapping "
              "invocations): this one stops, and the files it had not checkpointed are removed");
    sf->superseded = true;
}

/*
 * Moves the checkpoint to `lek` (or done): every open file is completed first and everything
 * counted since the last checkpoint goes with it, so what the checkpoint says is all in
 * completed files. Saved when save (a file was completed, the segment is done, or stopping).
 */
static enum err_code advance(struct etl_scan_job *job,
                             struct etl_ckpt *ck,
                             struct scan_files *sf,
                             struct cur lek,
                             bool done,
                             bool save,
                             struct etl_scan_stats *st,
                             struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < sf->n; i++) {
        if (sf->files[i].open) {
            rc = finish_file(ck, &sf->files[i], st, err);
            save = true;
        }
    }
    if (rc != ERR_OK) {
        return rc;
    }
    for (size_t d = 0; rc == ERR_OK && d < ck->n_ds; d++) {
        ck->ds[d].filtered += sf->pending[d].filtered;
        sf->pending[d].filtered = 0;
        rc = save_partial(&sf->dq[d], &ck->ds[d], err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    ck->items += sf->items;
    ck->unrouted += sf->unrouted;
    sf->items = 0;
    sf->unrouted = 0;
    bool moved = done || ck->lek.len != lek.len ||
                 (lek.len > 0 && memcmp(ck->lek.data, lek.ptr, lek.len) != 0);
    buf_reset(&ck->lek);
    if (!done) {
        rc = buf_append_cur(&ck->lek, lek, err);
    }
    ck->done = done;
    if (moved) {
        ck->progress_at = ck->invocations;
    }
    if (rc == ERR_OK && (save || done)) {
        bool lost = false;
        rc = etl_scan_save_checkpoint(job, ck, &lost, err);
        if (rc == ERR_OK && lost) {
            superseded(job, ck, sf);
        } else if (rc == ERR_OK) {
            sf->saved_files = ck->n_files;
        }
    }
    return rc;
}

static bool time_left(const struct etl_scan_job *job)
{
    return sys_ms_left(job->sys, job->stop_at_ms) > 0;
}

/* Waits ms (capped at the time left); false if the stop time came first. */
static bool pause_ms(const struct etl_scan_job *job, int64_t ms)
{
    int64_t left = sys_ms_left(job->sys, job->stop_at_ms);
    if (left <= 0) {
        return false;
    }
    sys_sleep_ms(job->sys, ms < left ? ms : left);
    return time_left(job);
}

static void files_cleanup(struct scan_files *sf)
{
    for (size_t i = 0; i < sf->n; i++) {
        abort_file(&sf->files[i]);
        buf_cleanup(&sf->files[i].out);
        buf_cleanup(&sf->files[i].store);
        etl_schema_cleanup(&sf->files[i].pending);
    }
    free(sf->files);
    free(sf->pending);
    for (size_t d = 0; sf->dq != NULL && d < sf->n / 2; d++) {
        etl_dq_run_cleanup(&sf->dq[d]);
    }
    free(sf->dq);
    buf_cleanup(&sf->src);
    buf_cleanup(&sf->text);
}

static enum err_code
files_init(const struct etl_scan_job *job, struct scan_files *sf, struct err *err)
{
    /* No dataset list: the table's own rows, as without a transform. */
    size_t n_ds = job->n_datasets > 0 ? job->n_datasets : 1;
    memset(sf, 0, sizeof(*sf));
    sf->files = calloc(2 * n_ds, sizeof(*sf->files));
    sf->pending = calloc(n_ds, sizeof(*sf->pending));
    sf->dq = calloc(n_ds, sizeof(*sf->dq));
    if (sf->files == NULL || sf->pending == NULL || sf->dq == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for a segment's files");
    }
    sf->n = 2 * n_ds;
    for (size_t d = 0; d < n_ds; d++) {
        bool has = job->spec != NULL && d < job->spec->n_datasets;
        etl_dq_run_init(&sf->dq[d], has ? job->spec->datasets[d].dq : NULL, job->now_ms);
    }
    for (size_t i = 0; i < sf->n; i++) {
        sf->files[i].dataset = i / 2;
        sf->files[i].rejected = i % 2 == 1;
        etl_schema_init(&sf->files[i].pending);
    }
    etl_time_format_iso8601(job->run->run_ms, sf->run_time);
    return ERR_OK;
}

enum err_code etl_scan_segment(struct etl_scan_job *job,
                               struct etl_ckpt *ck,
                               struct etl_scan_stats *st,
                               struct err *err)
{
    struct scan_files sf;
    struct ddb_scan_page page;
    struct buf next_key = BUF_INIT(LIMIT_LEK_BYTES); /* LastEvaluatedKey after the last page read */
    memset(st, 0, sizeof(*st));
    ddb_scan_page_init(&page);
    enum err_code rc = files_init(job, &sf, err);
    if (rc == ERR_OK && sf.n / 2 != ck->n_ds) {
        rc = err_set(err, ERR_INVALID_INPUT, "segment %d: %zu datasets, its checkpoint %zu",
                     ck->segment, sf.n / 2, ck->n_ds);
    }
    int limit = ck->page_limit > 0 ? (int)ck->page_limit : (int)job->cfg->page_limit;
    int soft_failures = 0;
    int64_t page_ms = 0; /* how long the last page took, read and written */
    sf.saved_files = ck->n_files;
    if (rc == ERR_OK) {
        rc = buf_append_cur(&next_key, buf_cur(&ck->lek), err);
    }
    while (rc == ERR_OK && !ck->done && !sf.superseded) {
        /* No page is started that would likely end past the stop time. */
        if (!time_left(job) || sys_ms_left(job->sys, job->stop_at_ms) < page_ms) {
            st->stopped_for_deadline = true;
            break;
        }
        int64_t page_start = sys_mono_ms(job->sys);
        int64_t wait = etl_rate_wait_ms(job->rate, sys_mono_ms(job->sys));
        if (wait > 0 && !pause_ms(job, wait)) {
            st->stopped_for_deadline = true;
            break;
        }
        struct ddb_scan_params p = {
            .table = job->run->table,
            .segment = ck->segment,
            .total_segments = ck->total_segments,
            .exclusive_start_key = buf_cur(&next_key),
            .limit = limit,
            .return_consumed_capacity = true,
        };
        struct err serr = ERR_INIT;
        enum err_code src = ddb_scan(job->aws, &p, &page, &serr);
        if (src == ERR_DEADLINE) {
            st->stopped_for_deadline = true;
            break;
        }
        if (src != ERR_OK) {
            /* Throttling is the table asking for less, and smaller pages after a pause give it
             * that. A 5xx, a reset or a timeout has had the client's AWS_MAX_ATTEMPTS already:
             * the segment fails loudly, and a retried invocation resumes from its checkpoint,
             * rather than pausing until the deadline and answering "incomplete" for ever. */
            bool throttled = serr.retryable &&
                             (err_is_throttling_code(serr.aws_code) || serr.http_status == 429);
            if (!throttled || ++soft_failures > SCAN_MAX_SOFT_FAILURES) {
                *err = serr;
                rc = src;
                break;
            }
            /* Throttled beyond the client's retries: smaller pages, then a pause. */
            limit = limit == 0
                        ? 1000
                        : (limit / 2 < SCAN_MIN_PAGE_LIMIT ? SCAN_MIN_PAGE_LIMIT : limit / 2);
            log_warn("segment %d: %s; slowing down (pages of %d items)", ck->segment, serr.msg,
                     limit);
            if (!pause_ms(job, 1000LL << (soft_failures < 5 ? soft_failures : 5))) {
                st->stopped_for_deadline = true;
                break;
            }
            continue;
        }
        soft_failures = 0;
        etl_rate_consume(job->rate, page.consumed_capacity, sys_mono_ms(job->sys));
        st->pages++;
        ck->rcu += page.consumed_capacity;
        ck->scanned += page.scanned_count;
        struct json_iter it;
        struct json_val item;
        json_iter_init(&it, &page.items);
        while (rc == ERR_OK && json_array_next(&it, &item)) {
            rc = add_item(job, ck, &sf, &item, err);
            st->items++;
        }
        for (size_t i = 0; rc == ERR_OK && i < sf.n; i++) {
            if (sf.files[i].open) {
                rc = drain(&sf.files[i], err); /* what the writers made of the page */
            }
        }
        if (rc != ERR_OK) {
            break;
        }
        page_ms = sys_mono_ms(job->sys) - page_start;
        buf_reset(&next_key);
        rc = buf_append_cur(&next_key, page.last_evaluated_key, err);
        bool done = page.last_evaluated_key.len == 0;
        if (rc == ERR_OK && (done || any_full(job, &sf) || !any_open(&sf))) {
            /* No file open: the checkpoint moves on its own (saved at the end or with the next
             * file). A full file: every open file is completed and the checkpoint saved. */
            rc = advance(job, ck, &sf, buf_cur(&next_key), done, false, st, err);
        }
    }
    /* Stopping (deadline): complete what is open so the checkpoint can name it. */
    if (rc == ERR_OK && !sf.superseded && (any_open(&sf) || st->stopped_for_deadline)) {
        rc = advance(job, ck, &sf, buf_cur(&next_key), false, true, st, err);
    }
    if (rc == ERR_DEADLINE) {
        /* Not a failure: the last checkpoint stands and the next invocation resumes there. */
        log_warn("segment %d: %s; resuming from the last checkpoint next time", ck->segment,
                 err->msg);
        err_clear(err);
        st->stopped_for_deadline = true;
        rc = ERR_OK;
    }
    st->superseded = sf.superseded;
    files_cleanup(&sf); /* aborts what is still open: the checkpoint names the last completed */
    buf_cleanup(&next_key);
    ddb_scan_page_cleanup(&page);
    return rc;
}
