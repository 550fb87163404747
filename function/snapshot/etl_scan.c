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
    uint32_t n;
    char key[LIMIT_KEY_BYTES];
    struct etl_encoding enc;
    struct etl_object obj;
    struct etl_writer w;
    struct buf out;   /* writer output, moved to the object after each page */
    struct buf store; /* the row being written, or every row of a whole-object file */
    uint64_t records;
    struct etl_schema pending;      /* schema of the rows in this file */
    char run_time[ETL_ISO8601_MAX]; /* every row's _ts: the run's time */
};

void etl_scan_checkpoint_key(const char *run_dir, int segment, char *out, size_t cap)
{
    snprintf(out, cap, "%s_checkpoint/segment-%d.json", run_dir, segment);
}

/* Saves ck (overwriting the previous checkpoint). */
static enum err_code
save_checkpoint(struct etl_scan_job *job, const struct etl_ckpt *ck, struct err *err)
{
    struct buf doc = BUF_INIT(0);
    char key[LIMIT_KEY_BYTES];
    etl_scan_checkpoint_key(job->run_dir, ck->segment, key, sizeof(key));
    enum err_code rc = etl_ckpt_to_json(ck, job->run->table, job->run->run_id, &doc, err);
    if (rc == ERR_OK) {
        rc = etl_sink_put(&job->sink, key, buf_cur(&doc), "application/json", err);
    }
    buf_cleanup(&doc);
    return rc;
}

static enum err_code
open_file(struct etl_scan_job *job, const struct etl_ckpt *ck, struct open_file *f, struct err *err)
{
    const struct etl_snapshot_config *cfg = job->cfg;
    char ext[32];
    f->n = ck->next_file;
    f->enc = etl_snapshot_encoding(cfg);
    etl_writer_extension(&f->enc, ext, sizeof(ext));
    cfg->layout->file_key(job->run_dir, job->run->export_id, ck->segment, f->n, ext, f->key,
                          sizeof(f->key));
    f->records = 0;
    buf_reset(&f->store);
    buf_reset(&f->out);
    etl_schema_reset(&f->pending);
    enum err_code rc =
        etl_sink_object_open(&job->sink, f->key, etl_writer_content_type(&f->enc),
                             cfg->layout->force_multipart, cfg->spool_dir, &f->obj, err);
    if (rc == ERR_OK) {
        rc = etl_writer_open(&f->w, &f->out, &f->enc, NULL, err);
    }
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

/* Appends one item as a row to the open file. */
static enum err_code add_item(struct etl_scan_job *job,
                              struct open_file *f,
                              const struct json_val *item,
                              struct err *err)
{
    struct etl_record_meta meta = {
        .op = "SNAPSHOT",
        .ts = f->run_time,
        .table = job->run->table,
    };
    struct etl_row_ref row = {&f->store, 0, item->raw};
    enum err_code rc = etl_record_build(&f->store, item, NULL, &meta, &row.offset, err);
    if (rc == ERR_OK) {
        rc = etl_schema_observe(&f->pending, &row, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    f->records++;
    rc = etl_writer_row(&f->w, &row, err);
    if (!f->enc.format->whole_object) {
        buf_reset(&f->store); /* rendered: memory holds one row, not a page of them */
    }
    return rc;
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

/* Completes the open file and moves the checkpoint to `lek`. */
static enum err_code finish_file(struct etl_scan_job *job,
                                 struct etl_ckpt *ck,
                                 struct open_file *f,
                                 struct cur lek,
                                 bool done,
                                 struct etl_scan_stats *st,
                                 struct err *err)
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
    ck->next_file++;
    ck->items += f->records;
    st->files++;
    rc = etl_schema_merge(&ck->schema, &f->pending, err);
    buf_reset(&ck->lek);
    if (rc == ERR_OK && !done) {
        rc = buf_append_cur(&ck->lek, lek, err);
    }
    ck->done = done;
    if (rc == ERR_OK) {
        rc = save_checkpoint(job, ck, err);
    }
    log_write(LOG_DEBUG,
              (struct log_field[]){LOG_STR("file", cf.key), LOG_INT("records", (int64_t)cf.records),
                                   LOG_INT("bytes", (int64_t)cf.bytes),
                                   LOG_INT("segment", ck->segment)},
              4, "snapshot file completed");
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

enum err_code etl_scan_segment(struct etl_scan_job *job,
                               struct etl_ckpt *ck,
                               struct etl_scan_stats *st,
                               struct err *err)
{
    struct open_file f;
    struct ddb_scan_page page;
    struct buf next_key = BUF_INIT(LIMIT_LEK_BYTES); /* LastEvaluatedKey after the last page read */
    enum err_code rc = ERR_OK;
    memset(&f, 0, sizeof(f));
    memset(st, 0, sizeof(*st));
    buf_init(&f.out, 0);
    buf_init(&f.store, 0);
    etl_schema_init(&f.pending);
    etl_time_format_iso8601(job->run->run_ms, f.run_time);
    ddb_scan_page_init(&page);
    int limit = (int)job->cfg->page_limit;
    int soft_failures = 0;
    rc = buf_append_cur(&next_key, buf_cur(&ck->lek), err);
    while (rc == ERR_OK && !ck->done) {
        if (!time_left(job)) {
            st->stopped_for_deadline = true;
            break;
        }
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
            if (!serr.retryable || ++soft_failures > SCAN_MAX_SOFT_FAILURES) {
                *err = serr;
                rc = src;
                break;
            }
            /* Throttled (or flaky) beyond the client's retries: smaller pages, then a pause. */
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
            if (!f.open) {
                rc = open_file(job, ck, &f, err);
            }
            if (rc == ERR_OK) {
                rc = add_item(job, &f, &item, err);
            }
            st->items++;
        }
        if (rc == ERR_OK && f.open) {
            rc = drain(&f, err); /* what the writer made of the page (whole-object rows wait) */
        }
        if (rc != ERR_OK) {
            break;
        }
        buf_reset(&next_key);
        rc = buf_append_cur(&next_key, page.last_evaluated_key, err);
        bool done = page.last_evaluated_key.len == 0;
        if (rc == ERR_OK && f.open && (done || (int64_t)file_size(&f) >= file_limit(job, &f))) {
            rc = finish_file(job, ck, &f, buf_cur(&next_key), done, st, err);
        } else if (rc == ERR_OK && !f.open) {
            /* No rows pending: the checkpoint can move on its own (saved below or next file). */
            buf_reset(&ck->lek);
            rc = buf_append_cur(&ck->lek, buf_cur(&next_key), err);
            ck->done = done;
            if (rc == ERR_OK && done) {
                rc = save_checkpoint(job, ck, err);
            }
        }
    }
    /* Stopping (deadline) with a file open: complete it so the checkpoint can name it. */
    if (rc == ERR_OK && f.open) {
        rc = finish_file(job, ck, &f, buf_cur(&next_key), false, st, err);
    } else if (rc == ERR_OK && st->stopped_for_deadline) {
        rc = save_checkpoint(job, ck, err);
    }
    if (rc != ERR_OK) {
        abort_file(&f); /* the checkpoint still names the last completed file */
    }
    if (rc == ERR_DEADLINE) {
        /* Not a failure: the last checkpoint stands and the next invocation resumes there. */
        log_warn("segment %d: %s; resuming from the last checkpoint next time", ck->segment,
                 err->msg);
        err_clear(err);
        st->stopped_for_deadline = true;
        rc = ERR_OK;
    }
    buf_cleanup(&f.out);
    buf_cleanup(&f.store);
    etl_schema_cleanup(&f.pending);
    buf_cleanup(&next_key);
    ddb_scan_page_cleanup(&page);
    return rc;
}
