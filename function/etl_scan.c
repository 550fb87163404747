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
#include "etl_ddbjson.h"
#include "etl_partition.h"
#include "etl_writer.h"
#include "log.h"

#define SCAN_MAX_SOFT_FAILURES 8 /* consecutive retryable failures of one page */
#define SCAN_MIN_PAGE_LIMIT    10
#define CSV_FILE_MAX_BYTES     ((int64_t)16 * 1024 * 1024) /* CSV rows wait for their header */

struct open_file {
    bool open;
    uint32_t n;
    char key[1024];
    struct etl_object obj;
    struct etl_writer w;
    struct buf out;   /* writer output, moved to the object after each page */
    struct buf store; /* rows of the page (JSONL) or of the whole file (CSV) */
    size_t *offsets;
    size_t n_rows;
    size_t cap_rows;
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
    char key[700];
    etl_scan_checkpoint_key(job->run_dir, ck->segment, key, sizeof(key));
    enum err_code rc = etl_ckpt_to_json(ck, job->run->table, job->run->run_id, &doc, err);
    if (rc == ERR_OK) {
        rc = etl_sink_put(&job->sink, key, buf_cur(&doc), "application/json", err);
    }
    buf_cleanup(&doc);
    return rc;
}

/* CSV rows wait in the file's row store: the header needs them all. */
static bool csv_rows(const struct etl_config *cfg)
{
    return !cfg->ddb_export_format && cfg->format == ETL_FORMAT_CSV;
}

static const char *file_ext(const struct etl_config *cfg)
{
    if (cfg->ddb_export_format) {
        return cfg->compression == ETL_COMPRESSION_GZIP ? "json.gz" : "json";
    }
    return etl_config_extension(cfg);
}

static enum err_code
open_file(struct etl_scan_job *job, const struct etl_ckpt *ck, struct open_file *f, struct err *err)
{
    const struct etl_config *cfg = job->cfg;
    f->n = ck->next_file;
    if (cfg->ddb_export_format) {
        snprintf(f->key, sizeof(f->key), "%sAWSDynamoDB/%s/data/%05d-%05u.%s", job->run_dir,
                 job->run->export_id, ck->segment, f->n, file_ext(cfg));
    } else {
        snprintf(f->key, sizeof(f->key), "%spart-%05d-%05u.%s", job->run_dir, ck->segment, f->n,
                 file_ext(cfg));
    }
    f->records = 0;
    f->n_rows = 0;
    buf_reset(&f->store);
    buf_reset(&f->out);
    etl_schema_reset(&f->pending);
    /* DynamoDB's export manifests carry "-1"-style multipart ETags: always multipart there. */
    enum etl_format format = cfg->ddb_export_format ? ETL_FORMAT_JSONL : cfg->format;
    enum err_code rc = etl_sink_object_open(&job->sink, job->aws, f->key,
                                            etl_format_content_type(format, cfg->compression),
                                            cfg->ddb_export_format, cfg->spool_dir, &f->obj, err);
    if (rc == ERR_OK) {
        rc = etl_writer_open(&f->w, &f->out, format, cfg->compression, cfg->gzip_level, err);
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

static enum err_code add_offset(struct open_file *f, size_t offset, struct err *err)
{
    size_t *offsets = mem_grow(f->offsets, &f->cap_rows, f->n_rows, sizeof(*offsets), 1024);
    if (offsets == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for rows");
    }
    f->offsets = offsets;
    f->offsets[f->n_rows++] = offset;
    return ERR_OK;
}

/* Appends one item as a row (or an export line) to the open file. */
static enum err_code add_item(struct etl_scan_job *job,
                              struct open_file *f,
                              const struct json_val *item,
                              struct err *err)
{
    enum err_code rc = etl_schema_observe(&f->pending, item, err);
    if (rc != ERR_OK) {
        return rc;
    }
    f->records++;
    if (job->cfg->ddb_export_format) {
        rc = etl_writer_raw(&f->w, "{\"Item\":", 8, err);
        if (rc == ERR_OK) {
            rc = etl_writer_raw(&f->w, item->raw.ptr, item->raw.len, err);
        }
        return rc == ERR_OK ? etl_writer_raw(&f->w, "}\n", 2, err) : rc;
    }
    struct etl_row_builder rb;
    size_t start = f->store.len;
    rc = etl_row_begin(&rb, &f->store, err);
    if (rc == ERR_OK) {
        rc = etl_ddbjson_item_columns(&rb, item, NULL, etl_meta_columns, err);
    }
    if (rc == ERR_OK) {
        rc = etl_row_add(&rb, ETL_KIND_STRING, cur_from_str("\"_op\""),
                         cur_from_str("\"SNAPSHOT\""), err);
    }
    if (rc == ERR_OK) {
        rc = etl_row_add(&rb, ETL_KIND_NULL, cur_from_str("\"_seq\""), cur_from_str("null"), err);
    }
    if (rc == ERR_OK) {
        rc = etl_row_add_str(&rb, cur_from_str("\"_ts\""), f->run_time, strlen(f->run_time), err);
    }
    if (rc == ERR_OK) {
        rc = etl_row_add_str(&rb, cur_from_str("\"_table\""), job->run->table,
                             strlen(job->run->table), err);
    }
    if (rc == ERR_OK) {
        rc = etl_row_add(&rb, ETL_KIND_NULL, cur_from_str("\"_event_id\""), cur_from_str("null"),
                         err);
    }
    if (rc != ERR_OK) {
        etl_row_abandon(&rb);
        return rc;
    }
    etl_row_end(&rb);
    if (csv_rows(job->cfg)) {
        return add_offset(f, start, err); /* CSV rows wait for the file's header */
    }
    /* JSON Lines: render now, so memory holds one row, not a page of them. */
    rc = etl_writer_rows(&f->w, &f->store, &start, 1, err);
    buf_reset(&f->store);
    return rc;
}

static int64_t file_limit(const struct etl_config *cfg)
{
    if (csv_rows(cfg) && cfg->export_object_bytes > CSV_FILE_MAX_BYTES) {
        return CSV_FILE_MAX_BYTES;
    }
    return cfg->export_object_bytes;
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
    enum err_code rc = ERR_OK;
    if (csv_rows(job->cfg) && f->n_rows > 0) {
        rc = etl_writer_rows(&f->w, &f->store, f->offsets, f->n_rows, err);
        f->n_rows = 0;
    }
    if (rc == ERR_OK) {
        rc = etl_writer_close(&f->w, err);
    }
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
    return job->stop_at_ms <= 0 || sys_wall_ms(job->sys) < job->stop_at_ms;
}

/* Waits ms (capped at the time left); false if the stop time came first. */
static bool pause_ms(const struct etl_scan_job *job, int64_t ms)
{
    if (job->stop_at_ms > 0) {
        int64_t left = job->stop_at_ms - sys_wall_ms(job->sys);
        if (left <= 0) {
            return false;
        }
        if (ms > left) {
            ms = left;
        }
    }
    sys_sleep_ms(job->sys, ms);
    return time_left(job);
}

enum err_code etl_scan_segment(struct etl_scan_job *job,
                               struct etl_ckpt *ck,
                               struct etl_scan_stats *st,
                               struct err *err)
{
    struct open_file f;
    struct ddb_scan_page page;
    struct buf next_key = BUF_INIT(64 * 1024); /* LastEvaluatedKey after the last page read */
    enum err_code rc = ERR_OK;
    memset(&f, 0, sizeof(f));
    memset(st, 0, sizeof(*st));
    buf_init(&f.out, 0);
    buf_init(&f.store, 0);
    etl_schema_init(&f.pending);
    etl_format_iso8601(job->run->run_ms, f.run_time);
    ddb_scan_page_init(&page);
    int limit = (int)job->cfg->page_limit;
    int soft_failures = 0;
    rc = buf_append_cur(&next_key, buf_cur(&ck->lek), err);
    while (rc == ERR_OK && !ck->done) {
        if (!time_left(job)) {
            st->stopped_for_deadline = true;
            break;
        }
        int64_t wait = etl_rate_wait_ms(job->rate, sys_wall_ms(job->sys));
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
        etl_rate_consume(job->rate, page.consumed_capacity, sys_wall_ms(job->sys));
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
            rc = drain(&f, err); /* what the writer made of the page (CSV rows stay in the store) */
        }
        if (rc != ERR_OK) {
            break;
        }
        buf_reset(&next_key);
        rc = buf_append_cur(&next_key, page.last_evaluated_key, err);
        bool done = page.last_evaluated_key.len == 0;
        /* CSV rows wait in the store; other rows are rendered. */
        uint64_t size = csv_rows(job->cfg) ? f.store.len : f.w.raw_bytes + f.w.stage.len;
        if (rc == ERR_OK && f.open && (done || (int64_t)size >= file_limit(job->cfg))) {
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
    free(f.offsets);
    buf_cleanup(&f.out);
    buf_cleanup(&f.store);
    etl_schema_cleanup(&f.pending);
    buf_cleanup(&next_key);
    ddb_scan_page_cleanup(&page);
    return rc;
}
