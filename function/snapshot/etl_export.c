/*
 * etl_export.c - snapshot runs: which run a request means, the run document, the segments (in
 * threads, each with its own HTTP connection and AWS client), and the answer.
 */
#include "etl_export.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "digest.h"
#include "etl_checkpoint.h"
#include "etl_commit.h"
#include "etl_rate.h"
#include "etl_scan.h"
#include "etl_time.h"
#include "json.h"
#include "jsonw.h"
#include "log.h"
#include "pool.h"

#define EXPORT_MAX_SEGMENTS 1000
/* Invocations in a row that may end without moving a segment on before the run fails with
 * SnapshotNoProgress (the state machine stops on it instead of repeating "incomplete"). */
#define EXPORT_MAX_STALLED 6
/* From the second stalled invocation on, each halves the segment's Scan page size down to this. */
#define EXPORT_MIN_PAGE_LIMIT 25
/* The stop time leaves at least this long (or 40% of the invocation, if less) to complete the
 * open files and save the checkpoint, whatever ETL_EXPORT_MARGIN_MS says. */
#define EXPORT_MIN_MARGIN_MS 2000

enum req_kind { REQ_RUN, REQ_SEGMENT, REQ_COMMIT };

struct export_req {
    enum req_kind kind;
    char table[LIMIT_TABLE_NAME_BYTES];
    char run_id[ETL_RUN_ID_MAX];
    int64_t run_ms;
    int segments; /* REQ_RUN: for a new run; REQ_SEGMENT: total_segments */
    int segment;
};

void etl_export_set_catalog(struct etl_export *x, struct etl_catalog *catalog)
{
    x->catalog = catalog;
}

void etl_export_init(struct etl_export *x,
                     const struct etl_snapshot_config *cfg,
                     const struct sys *sys,
                     struct etl_sink *sink,
                     struct aws_client *aws,
                     etl_transport_fn new_transport,
                     void *transport_ctx)
{
    memset(x, 0, sizeof(*x));
    x->cfg = cfg;
    x->sys = sys;
    x->sink = sink;
    x->aws = aws;
    x->new_transport = new_transport;
    x->transport_ctx = transport_ctx;
}

static enum err_code bad_request(struct err *err, const char *what)
{
    (void)err_set(err, ERR_INVALID_INPUT, "%s", what);
    err_set_type(err, "InvalidExportRequest");
    return ERR_INVALID_INPUT;
}

static bool int_member(const struct json_val *obj, const char *key, int64_t *out)
{
    struct json_val v;
    return json_object_get_type(obj, key, JSON_NUMBER, &v) && cur_to_i64(v.raw, out);
}

static enum err_code parse_request(const struct etl_export *x,
                                   const struct etl_export_input *in,
                                   struct export_req *r,
                                   struct err *err)
{
    memset(r, 0, sizeof(*r));
    r->kind = REQ_RUN;
    r->segments = x->cfg->segments;
    snprintf(r->table, sizeof(r->table), "%s", x->cfg->table);
    char when[ETL_ISO8601_MAX] = "";
    if (in->scheduled) {
        if (in->time.type == JSON_STRING) {
            (void)json_string_copy(&in->time, when, sizeof(when));
        }
    } else {
        const struct json_val *o = &in->request;
        struct json_val v;
        int64_t n = 0;
        if (json_object_get(o, "table", &v)) {
            if (v.type != JSON_STRING || !json_string_copy(&v, r->table, sizeof(r->table))) {
                return bad_request(err, "export.table must be a table name");
            }
        }
        if (json_object_get(o, "time", &v) &&
            (v.type != JSON_STRING || !json_string_copy(&v, when, sizeof(when)))) {
            return bad_request(err, "export.time must be an ISO-8601 string");
        }
        if (json_object_get(o, "run_id", &v)) {
            int64_t ms = 0;
            if (when[0] != '\0') {
                return bad_request(err, "export: give either run_id or time, not both");
            }
            if (v.type != JSON_STRING || !json_string_copy(&v, r->run_id, sizeof(r->run_id)) ||
                etl_run_id_parse(r->run_id, &ms, err) != ERR_OK) {
                return bad_request(err, "export.run_id must look like 2026-11-24T000000Z");
            }
            r->run_ms = ms;
        }
        if (json_object_get(o, "segments", &v)) {
            if (!int_member(o, "segments", &n) || n < 1 || n > EXPORT_MAX_SEGMENTS) {
                return bad_request(err, "export.segments must be an integer from 1 to 1000");
            }
            r->segments = (int)n;
        }
        bool commit = json_object_get(o, "commit", &v) && v.type == JSON_TRUE;
        bool has_segment = json_object_get(o, "segment", &v);
        if (commit && has_segment) {
            return bad_request(err, "export: give either commit or segment, not both");
        }
        if (commit) {
            r->kind = REQ_COMMIT;
        } else if (has_segment) {
            int64_t total = 0;
            if (!int_member(o, "segment", &n) || !int_member(o, "total_segments", &total) ||
                total < 1 || total > EXPORT_MAX_SEGMENTS || n < 0 || n >= total) {
                return bad_request(
                    err, "export: segment must be 0..total_segments-1 and total_segments 1..1000");
            }
            r->kind = REQ_SEGMENT;
            r->segment = (int)n;
            r->segments = (int)total;
        }
        if (r->kind != REQ_RUN && r->run_id[0] == '\0' && when[0] == '\0') {
            return bad_request(
                err, "export: a segment or commit request needs the run_id or the run's time");
        }
    }
    if (r->table[0] == '\0') {
        (void)err_set(err, ERR_CONFIG,
                      "no table to export: set ETL_TABLE, or give {\"export\":{\"table\":...}}");
        err_set_type(err, "Runtime.ConfigInvalid");
        return ERR_CONFIG;
    }
    struct err terr = ERR_INIT;
    if (ddb_check_table_name(r->table, &terr) != ERR_OK) {
        (void)err_prefix(&terr, "export");
        return bad_request(err, terr.msg);
    }
    if (r->run_id[0] == '\0') {
        if (when[0] == '\0') {
            /* A direct request without a time starts a run named after now. */
            etl_time_format_iso8601(sys_wall_ms(x->sys), when);
        }
        if (etl_run_id_from_time(when, r->run_id, &r->run_ms, err) != ERR_OK) {
            err_set_type(err, "InvalidExportRequest");
            return ERR_INVALID_INPUT;
        }
    }
    return ERR_OK;
}

static void run_key(const char *run_dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", run_dir, name);
}

static void export_id_of(const struct etl_run *run, char *out, size_t cap)
{
    /* DynamoDB's form: 14-digit epoch ms of the start, '-', 8 hex; ours is a pure function of
     * table and run, so every invocation of a run agrees on it. */
    char seed[400];
    uint8_t sum[DIGEST_MD5_BYTES];
    char hex[DIGEST_MD5_HEX];
    snprintf(seed, sizeof(seed), "%s/%s", run->table, run->run_id);
    digest_md5(seed, strlen(seed), sum);
    digest_hex(sum, sizeof(sum), hex, sizeof(hex));
    snprintf(out, cap, "%014lld-%.8s", (long long)run->run_ms, hex);
}

/* Loads run.json, or creates it (DescribeTable gives the key schema, ARN and estimate). */
static enum err_code load_or_create_run(struct etl_export *x,
                                        const struct export_req *r,
                                        const char *run_dir,
                                        struct etl_run *run,
                                        bool *created,
                                        struct err *err)
{
    char key[LIMIT_KEY_BYTES];
    struct buf doc = BUF_INIT(LIMIT_SMALL_DOC_BYTES);
    bool found = false;
    *created = false;
    run_key(run_dir, "_checkpoint/run.json", key, sizeof(key));
    enum err_code rc = etl_sink_get(x->sink, key, &doc, &found, err);
    if (rc == ERR_OK && found) {
        rc = etl_run_from_json(run, buf_cur(&doc), err);
        if (rc == ERR_OK && r->kind == REQ_SEGMENT && r->segments != run->total_segments) {
            rc = err_set(err, ERR_INVALID_INPUT, "run %s has %d segments, the request says %d",
                         run->run_id, run->total_segments, r->segments);
            err_set_type(err, "InvalidExportRequest");
        }
        goto out;
    }
    if (rc != ERR_OK) {
        goto out;
    }
    if (r->kind == REQ_COMMIT) {
        rc = err_set(err, ERR_INVALID_INPUT, "run %s of %s was never started", r->run_id, r->table);
        err_set_type(err, "InvalidExportRequest");
        goto out;
    }
    memset(run, 0, sizeof(*run));
    snprintf(run->table, sizeof(run->table), "%s", r->table);
    snprintf(run->run_id, sizeof(run->run_id), "%s", r->run_id);
    run->run_ms = r->run_ms;
    run->started_ms = sys_wall_ms(x->sys);
    run->total_segments = r->segments;
    snprintf(run->format, sizeof(run->format), "%s", x->cfg->layout->name);
    export_id_of(run, run->export_id, sizeof(run->export_id));
    struct ddb_table_desc d;
    rc = ddb_describe_table(x->aws, r->table, &d, err);
    if (rc != ERR_OK) {
        goto out;
    }
    snprintf(run->table_arn, sizeof(run->table_arn), "%s", d.table_arn);
    snprintf(run->table_id, sizeof(run->table_id), "%s", d.table_id);
    snprintf(run->hash_key, sizeof(run->hash_key), "%s", d.hash_key);
    snprintf(run->range_key, sizeof(run->range_key), "%s", d.range_key);
    /* A Scan reads with eventual consistency: half a read unit per 4 KB. */
    run->est_items = d.item_count;
    run->est_bytes = d.size_bytes;
    run->est_rcu = (double)((d.size_bytes + 4095) / 4096) * 0.5;
    run->max_rcu = x->cfg->max_rcu;
    run->est_seconds = x->cfg->max_rcu > 0 ? run->est_rcu / (double)x->cfg->max_rcu : 0;
    buf_reset(&doc);
    rc = etl_run_to_json(run, &doc, err);
    if (rc == ERR_OK) {
        rc = etl_sink_put(x->sink, key, buf_cur(&doc), "application/json", err);
    }
    *created = rc == ERR_OK;
out:
    buf_cleanup(&doc);
    return rc;
}

static enum err_code
load_checkpoint(struct etl_sink *sink, const char *run_dir, struct etl_ckpt *ck, struct err *err)
{
    char key[LIMIT_KEY_BYTES];
    struct buf doc = BUF_INIT(LIMIT_CHECKPOINT_DOC_BYTES);
    bool found = false;
    etl_scan_checkpoint_key(run_dir, ck->segment, key, sizeof(key));
    enum err_code rc = etl_sink_get_etag(sink, key, &doc, &found, ck->etag, err);
    ck->stored = rc == ERR_OK && found;
    if (rc == ERR_OK && found) {
        rc = etl_ckpt_from_json(ck, buf_cur(&doc), err);
        if (rc != ERR_OK) {
            /* Not the invocation's event: a stored file that needs a human. */
            char where[LIMIT_LOCATION_BYTES];
            etl_sink_location(sink, key, where, sizeof(where));
            (void)err_prefix(err, "%s", where);
            err_set_type(err, "CheckpointCorrupt");
        }
    }
    buf_cleanup(&doc);
    return rc;
}

/* ---- segment workers ---- */

/* What every segment task of an invocation shares. */
struct segment_run {
    struct etl_export *x;
    const struct etl_run *run;
    const char *run_dir;
    const char *const *datasets;
    size_t n_datasets;
    struct etl_rate rate;
    int64_t stop_at_ms;
    struct etl_ckpt *cks;   /* all segments; each task owns the one it runs */
    int first;              /* task i runs segment first + i */
    atomic_bool superseded; /* a segment was left to an overlapping invocation */
};

/*
 * Counts this invocation in the segment's checkpoint and saves it before any work, as a
 * compare-and-swap: an overlapping invocation that read the same version loses here (*claimed
 * false) instead of after a page. A segment that has not moved on for EXPORT_MAX_STALLED
 * invocations fails the run (SnapshotNoProgress); from the second such invocation on, each
 * halves the Scan page size, so that a short timeout still fits a page.
 */
static enum err_code
claim_segment(struct etl_scan_job *job, struct etl_ckpt *ck, bool *claimed, struct err *err)
{
    *claimed = false;
    uint32_t stalled = ck->invocations - ck->progress_at;
    if (stalled >= EXPORT_MAX_STALLED) {
        (void)err_set(err, ERR_DEADLINE,
                      "segment %d made no progress in its last %u invocations (pages of %d "
                      "items); raise the function's timeout or lower ETL_SCAN_PAGE_LIMIT, then "
                      "start the run again",
                      ck->segment, (unsigned)stalled,
                      ck->page_limit > 0 ? (int)ck->page_limit : (int)job->cfg->page_limit);
        err_set_type(err, "SnapshotNoProgress");
        return ERR_DEADLINE;
    }
    if (stalled >= 1) {
        int limit = ck->page_limit > 0 ? (int)ck->page_limit : (int)job->cfg->page_limit;
        limit = limit == 0 ? 1000 : limit;   /* 0: DynamoDB's 1 MB pages */
        if (limit > EXPORT_MIN_PAGE_LIMIT) { /* halved, down to the floor; never raised */
            limit = limit / 2 > EXPORT_MIN_PAGE_LIMIT ? limit / 2 : EXPORT_MIN_PAGE_LIMIT;
        }
        ck->page_limit = limit;
        log_warn("segment %d: %u invocations without progress; pages of %d items from now on",
                 ck->segment, (unsigned)stalled, (int)ck->page_limit);
    }
    ck->invocations++;
    bool lost = false;
    enum err_code rc = etl_scan_save_checkpoint(job, ck, &lost, err);
    if (rc == ERR_DEADLINE) {
        /* Not even time to count the invocation: nothing would ever move on. */
        (void)err_prefix(err,
                         "segment %d: too little time left to save its checkpoint; raise "
                         "the function's timeout",
                         ck->segment);
        err_set_type(err, "SnapshotNoProgress");
    }
    if (rc == ERR_OK && lost) {
        log_write(
            LOG_WARN,
            (struct log_field[]){LOG_INT("segment", ck->segment), LOG_STR("attempt", job->attempt)},
            2,
            "another invocation is working on this segment (its checkpoint changed since "
            "it was read): this one leaves it alone");
    }
    *claimed = rc == ERR_OK && !lost;
    return rc;
}

/* A pool task: scans one segment with the thread's own client. */
static enum err_code run_segment(void *ctx, void *tstate, size_t index, struct err *err)
{
    struct segment_run *p = ctx;
    struct aws_client *aws = tstate;
    int s = p->first + (int)index;
    struct etl_scan_job job;
    struct etl_scan_stats st;
    memset(&job, 0, sizeof(job));
    memset(&st, 0, sizeof(st));
    job.cfg = p->x->cfg;
    job.run = p->run;
    etl_sink_with_client(p->x->sink, aws, &job.sink);
    job.aws = aws;
    job.sys = p->x->sys;
    job.rate = &p->rate;
    job.stop_at_ms = p->stop_at_ms;
    snprintf(job.run_dir, sizeof(job.run_dir), "%s", p->run_dir);
    job.datasets = p->datasets;
    job.n_datasets = p->n_datasets;
    const struct etl_snapshot_config *cfg = p->x->cfg;
    struct etl_ckpt *ck = &p->cks[s];
    struct etl_spec *spec = NULL; /* this thread's own compiled copy */
    enum err_code rc = ERR_OK;
    if (cfg->spec != NULL) {
        rc = etl_spec_parse(cfg->spec_text, &spec, err);
    }
    if (rc == ERR_OK && spec != NULL) {
        rc = etl_transform_new(spec, cfg->pii_key, cfg->pii_key_len, &job.tx, err);
    }
    job.spec = spec;
    job.now_ms = p->run->run_ms; /* every segment's rules see the same "now": the run's time */
    snprintf(job.attempt, sizeof(job.attempt), "%08x",
             (unsigned)(sys_random_u64(p->x->sys) & 0xffffffffu));
    if (rc == ERR_OK) {
        rc = load_checkpoint(&job.sink, p->run_dir, ck, err);
    }
    bool claimed = false;
    if (rc == ERR_OK && !ck->done) {
        rc = claim_segment(&job, ck, &claimed, err);
    }
    if (rc == ERR_OK && claimed) {
        rc = etl_scan_segment(&job, ck, &st, err);
    }
    if (rc == ERR_OK && (st.superseded || (!ck->done && !claimed))) {
        atomic_store(&p->superseded, true);
    }
    if (rc != ERR_OK) {
        (void)err_prefix(err, "segment %d of %d", s, ck->total_segments);
    }
    log_write(LOG_INFO,
              (struct log_field[]){LOG_INT("segment", s), LOG_INT("items", (int64_t)st.items),
                                   LOG_INT("pages", (int64_t)st.pages),
                                   LOG_INT("files", (int64_t)st.files), LOG_BOOL("done", ck->done)},
              5, "snapshot segment %s", rc != ERR_OK ? "failed" : (ck->done ? "done" : "paused"));
    etl_transform_free(job.tx);
    etl_spec_free(spec);
    return rc;
}

/* A segment thread's own connection and AWS client, with the invoking client's settings. */
struct segment_thread {
    struct http_transport *http;
    struct aws_client aws;
};

static void *segment_thread_init(void *ctx, struct err *err)
{
    struct segment_run *p = ctx;
    const struct etl_export *x = p->x;
    struct segment_thread *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        (void)err_set(err, ERR_NOMEM, "out of memory for an export thread");
        return NULL;
    }
    t->http = x->new_transport(x->transport_ctx, err);
    if (t->http == NULL) {
        free(t);
        return NULL;
    }
    aws_client_init(&t->aws, t->http, x->sys, x->aws->creds, x->aws->eps, x->aws->max_attempts);
    aws_client_set_deadline(&t->aws, x->aws->deadline_mono_ms);
    return &t->aws;
}

static void segment_thread_cleanup(void *ctx, void *tstate)
{
    (void)ctx;
    struct segment_thread *t =
        (struct segment_thread *)((char *)tstate - offsetof(struct segment_thread, aws));
    aws_client_cleanup(&t->aws);
    http_transport_free(t->http);
    free(t);
}

/* Runs n segments from p->first, on the configured number of threads. */
static enum err_code
run_segments(struct etl_export *x, struct segment_run *p, int n, struct err *err)
{
    const struct pool_ops ops = {
        .thread_init = x->new_transport != NULL ? segment_thread_init : NULL,
        .thread_cleanup = segment_thread_cleanup,
        .task = run_segment,
    };
    return pool_run((size_t)n, x->cfg->threads, &ops, p, x->aws, err);
}

/* ---- answers ---- */

static enum err_code answer(struct buf *out,
                            const char *status,
                            const struct etl_run *run,
                            const struct export_req *r,
                            const struct etl_export_stats *st,
                            struct err *err)
{
    struct jsonw w;
    jsonw_init(&w, out, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "status");
    jsonw_str(&w, status);
    jsonw_key(&w, "run_id");
    jsonw_str(&w, run->run_id);
    jsonw_key(&w, "table");
    jsonw_str(&w, run->table);
    if (r->kind == REQ_SEGMENT) {
        jsonw_key(&w, "segment");
        jsonw_i64(&w, r->segment);
        jsonw_key(&w, "total_segments");
        jsonw_i64(&w, run->total_segments);
    }
    jsonw_key(&w, "segments");
    jsonw_i64(&w, st->segments);
    jsonw_key(&w, "segments_done");
    jsonw_i64(&w, st->segments_done);
    jsonw_key(&w, "items");
    jsonw_u64(&w, st->items);
    jsonw_key(&w, "files");
    jsonw_u64(&w, st->files);
    jsonw_key(&w, "bytes");
    jsonw_u64(&w, st->bytes);
    jsonw_key(&w, "consumed_read_units");
    jsonw_double(&w, "%.1f", st->rcu);
    jsonw_end(&w);
    return jsonw_finish(&w);
}

/* The answer for a run that already has _SUCCESS: its numbers, nothing written. */
static enum err_code already_done(struct etl_export *x,
                                  const char *run_dir,
                                  bool *done,
                                  struct etl_export_stats *st,
                                  struct err *err)
{
    char key[LIMIT_KEY_BYTES];
    struct buf doc = BUF_INIT(LIMIT_SMALL_DOC_BYTES);
    run_key(run_dir, "_SUCCESS", key, sizeof(key));
    enum err_code rc = etl_sink_get(x->sink, key, &doc, done, err);
    if (rc == ERR_OK && *done) {
        struct json_val root;
        struct err ignored = ERR_INIT;
        if (json_validate(buf_cur(&doc), 8, &root, &ignored) == ERR_OK) {
            int64_t n = 0;
            if (int_member(&root, "items", &n)) {
                st->items = (uint64_t)n;
            }
            if (int_member(&root, "files", &n)) {
                st->files = (uint64_t)n;
            }
            if (int_member(&root, "bytes", &n)) {
                st->bytes = (uint64_t)n;
            }
            if (int_member(&root, "segments", &n)) {
                st->segments = st->segments_done = (int)n;
            }
            struct json_val v;
            char rcu[64];
            if (json_object_get_type(&root, "consumed_read_units", JSON_NUMBER, &v) &&
                cur_copy_to(v.raw, rcu, sizeof(rcu))) {
                st->rcu = strtod(rcu, NULL);
            }
        }
        st->complete = true;
    }
    buf_cleanup(&doc);
    return rc;
}

/* Adds a segment's counts (from its checkpoint) to the answer's. */
static void add_segment(struct etl_export_stats *st, const struct etl_ckpt *ck)
{
    if (ck->done) {
        st->segments_done++;
    }
    st->items += ck->items;
    st->files += ck->n_files;
    for (size_t i = 0; i < ck->n_files; i++) {
        st->bytes += ck->files[i].bytes;
    }
    st->rcu += ck->rcu;
}

static int64_t stop_time(const struct etl_export *x, int64_t deadline_mono_ms)
{
    if (deadline_mono_ms <= 0) {
        return 0;
    }
    /* The configured margin, at least EXPORT_MIN_MARGIN_MS to complete the open files and save
     * the checkpoint, but never more than 40% of the time this invocation has, so a short
     * timeout still makes progress. */
    if (x->aws != NULL && x->aws->deadline_mono_ms > 0 &&
        x->aws->deadline_mono_ms < deadline_mono_ms) {
        deadline_mono_ms = x->aws->deadline_mono_ms; /* requests end there, before the reply */
    }
    int64_t left = sys_ms_left(x->sys, deadline_mono_ms);
    int64_t margin = x->cfg->export_margin_ms;
    if (margin < EXPORT_MIN_MARGIN_MS) {
        margin = EXPORT_MIN_MARGIN_MS;
    }
    if (margin > left * 2 / 5) {
        margin = left * 2 / 5;
    }
    return deadline_mono_ms - margin;
}

static enum err_code handle(struct etl_export *x,
                            const struct etl_export_input *in,
                            int64_t deadline_mono_ms,
                            struct buf *response,
                            struct etl_export_stats *st,
                            struct err *err);

enum err_code etl_export_handle(struct etl_export *x,
                                const struct etl_export_input *in,
                                int64_t deadline_mono_ms,
                                struct buf *response,
                                struct etl_export_stats *st,
                                struct err *err)
{
    enum err_code rc = handle(x, in, deadline_mono_ms, response, st, err);
    if (rc == ERR_DEADLINE && !err_has_type(err)) {
        /* The scan turns its own deadline into "incomplete": this one came before anything
         * could be saved, and would come again at every invocation. */
        (void)err_prefix(err, "too little time left to save a checkpoint; raise the function's "
                              "timeout");
        err_set_type(err, "SnapshotNoProgress");
    }
    return rc;
}

static enum err_code handle(struct etl_export *x,
                            const struct etl_export_input *in,
                            int64_t deadline_mono_ms,
                            struct buf *response,
                            struct etl_export_stats *st,
                            struct err *err)
{
    struct export_req r;
    struct etl_run run;
    char run_dir[LIMIT_RUN_DIR_BYTES];
    struct etl_ckpt *cks = NULL;
    const char **names = NULL;
    struct segment_run pool;
    bool pool_ready = false;
    memset(st, 0, sizeof(*st));
    memset(&run, 0, sizeof(run));
    enum err_code rc = parse_request(x, in, &r, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (x->aws == NULL) {
        (void)err_set(
            err, ERR_CONFIG,
            "snapshots read DynamoDB: set AWS_REGION and credentials (AWS_ACCESS_KEY_ID, ... or the container endpoint)");
        err_set_type(err, "Runtime.ConfigInvalid");
        return ERR_CONFIG;
    }
    etl_commit_run_dir(r.table, r.run_id, run_dir, sizeof(run_dir));
    bool done = false;
    rc = already_done(x, run_dir, &done, st, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (done) {
        snprintf(run.run_id, sizeof(run.run_id), "%s", r.run_id);
        snprintf(run.table, sizeof(run.table), "%s", r.table);
        run.total_segments = st->segments;
        log_info("snapshot run %s of %s is already complete: nothing to do", r.run_id, r.table);
        return answer(response, "complete", &run, &r, st, err);
    }
    bool created = false;
    rc = load_or_create_run(x, &r, run_dir, &run, &created, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (created) {
        log_write(
            LOG_INFO,
            (struct log_field[]){LOG_STR("table", run.table), LOG_STR("runId", run.run_id),
                                 LOG_INT("estimatedItems", run.est_items),
                                 LOG_INT("estimatedBytes", run.est_bytes),
                                 LOG_INT("estimatedReadUnits", (int64_t)run.est_rcu),
                                 LOG_INT("estimatedSecondsAtMaxRcu", (int64_t)run.est_seconds),
                                 LOG_INT("segments", run.total_segments)},
            7,
            "snapshot run started (estimates from DescribeTable, updated by DynamoDB about every 6 hours)");
    }
    int n = run.total_segments;
    st->segments = n;
    /* The datasets rows go to: the spec's, or the table's own. */
    const struct etl_spec *spec = x->cfg->spec;
    size_t n_ds = spec != NULL ? spec->n_datasets : 1;
    names = calloc(n_ds, sizeof(*names));
    cks = calloc((size_t)n, sizeof(*cks));
    if (cks == NULL || names == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory for %d segments", n);
        goto out;
    }
    for (size_t d = 0; d < n_ds; d++) {
        names[d] = spec != NULL ? spec->datasets[d].name : run.table;
    }
    for (int s = 0; rc == ERR_OK && s < n; s++) {
        rc = etl_ckpt_init(&cks[s], s, n, n_ds, err);
    }
    if (rc != ERR_OK) {
        goto out;
    }
    memset(&pool, 0, sizeof(pool));
    atomic_init(&pool.superseded, false);
    pool.x = x;
    pool.run = &run;
    pool.run_dir = run_dir;
    pool.datasets = names;
    pool.n_datasets = n_ds;
    pool.cks = cks;
    pool.stop_at_ms = stop_time(x, deadline_mono_ms);
    etl_rate_init(&pool.rate, (double)x->cfg->max_rcu, sys_mono_ms(x->sys));
    pool_ready = true;
    int n_todo = 0;
    if (r.kind == REQ_RUN) {
        n_todo = n;
    } else if (r.kind == REQ_SEGMENT) {
        pool.first = r.segment;
        n_todo = 1;
    }
    rc = run_segments(x, &pool, n_todo, err);
    if (rc != ERR_OK) {
        if (!err_has_type(err)) {
            err_set_type(err, "ExportFailed"); /* CheckpointCorrupt and the like say more */
        }
        goto out;
    }
    if (r.kind == REQ_SEGMENT) {
        /* A segment answers for itself only: reading the other segments' checkpoints, which
         * their own invocations may be rewriting, would cost n reads per invocation and let
         * one segment's trouble fail another. */
        add_segment(st, &cks[r.segment]);
        /* Left to an overlapping invocation: what this one holds may not be what is stored. */
        st->complete = cks[r.segment].done && !atomic_load(&pool.superseded);
        rc = answer(response, st->complete ? "complete" : "incomplete", &run, &r, st, err);
        goto out;
    }
    if (atomic_load(&pool.superseded)) {
        log_info("snapshot run %s of %s: an overlapping invocation holds some segments; invoke "
                 "again to continue",
                 run.run_id, run.table);
        rc = answer(response, "incomplete", &run, &r, st, err);
        goto out;
    }
    /* Which segments are done (those not worked on here are read from their checkpoints). */
    for (int s = 0; s < n; s++) {
        bool worked = s >= pool.first && s < pool.first + n_todo;
        if (!worked) {
            rc = load_checkpoint(x->sink, run_dir, &cks[s], err);
            if (rc != ERR_OK) {
                goto out;
            }
        }
        add_segment(st, &cks[s]);
    }
    bool all_done = st->segments_done == n;
    if (!all_done) {
        log_info("snapshot run %s of %s: %d of %d segments done; invoke again to continue",
                 run.run_id, run.table, st->segments_done, n);
        rc = answer(response, "incomplete", &run, &r, st, err);
        goto out;
    }
    struct etl_commit_summary sum;
    rc = etl_commit_run(x->cfg, x->sink, x->sys, x->catalog, &run, run_dir, names, n_ds, cks, n,
                        &sum, err);
    if (rc != ERR_OK) {
        if (!err_has_type(err)) {
            err_set_type(err,
                         "ExportFailed"); /* SnapshotVerifyFailed, DataQualityFailed say more */
        }
        goto out;
    }
    st->complete = true;
    st->items = sum.items;
    st->files = sum.files;
    st->bytes = sum.bytes;
    log_write(LOG_INFO,
              (struct log_field[]){LOG_STR("table", run.table), LOG_STR("runId", run.run_id),
                                   LOG_INT("items", (int64_t)sum.items),
                                   LOG_INT("files", (int64_t)sum.files),
                                   LOG_INT("orphansRemoved", sum.orphans_removed)},
              5, "snapshot run complete");
    rc = answer(response, "complete", &run, &r, st, err);
out:
    if (pool_ready) {
        etl_rate_cleanup(&pool.rate);
    }
    for (int s = 0; cks != NULL && s < n; s++) {
        etl_ckpt_cleanup(&cks[s]);
    }
    free(cks);
    free(names);
    return rc;
}
