/*
 * etl_commit.c - the end of a snapshot run. Everything here is idempotent: a commit that fails
 * half way is simply run again (orphan removal finds nothing more, the documents are rewritten
 * with the same content, _SUCCESS comes last).
 */
#include "etl_commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "etl_ddl.h"
#include "etl_dq_run.h"
#include "etl_record.h"
#include "etl_time.h"
#include "jsonw.h"
#include "log.h"

void etl_commit_run_dir(const char *table, const char *run_id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/snapshots/run=%s/", table, run_id);
}

struct orphan_scan {
    struct etl_sink *sink;
    const struct etl_snapshot_layout *layout;
    const char *run_dir; /* the folder listed */
    const struct etl_ckpt *cks;
    int n;
    int removed;
    bool **seen; /* per segment and file: listed with the size and ETag the checkpoint has */
};

static const struct etl_ckpt_file *
named_by_checkpoints(const struct orphan_scan *o, const char *key, bool **seen)
{
    for (int s = 0; s < o->n; s++) {
        for (size_t i = 0; i < o->cks[s].n_files; i++) {
            if (strcmp(o->cks[s].files[i].key, key) == 0) {
                *seen = &o->seen[s][i];
                return &o->cks[s].files[i];
            }
        }
    }
    return NULL;
}

/* A listed object: a file the checkpoints name is checked against them (size and ETag, so a
 * file rewritten by another invocation cannot pass); a data file none names is an orphan of an
 * interrupted or overlapping attempt and is removed. */
static enum err_code
check_orphan(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err)
{
    struct orphan_scan *o = ctx;
    const char *rest = key + strlen(o->run_dir);
    bool *seen = NULL;
    const struct etl_ckpt_file *f = named_by_checkpoints(o, key, &seen);
    if (f != NULL) {
        if (size != f->bytes || (f->etag[0] != '\0' && strcmp(etag, f->etag) != 0)) {
            (void)err_set(err, ERR_INVALID_INPUT,
                          "%s is %llu bytes with ETag %.60s, but its checkpoint says %llu bytes "
                          "with ETag %.60s: the file was changed after it was written",
                          key, (unsigned long long)size, etag, (unsigned long long)f->bytes,
                          f->etag);
            err_set_type(err, "SnapshotVerifyFailed");
            return ERR_INVALID_INPUT;
        }
        *seen = true;
        return ERR_OK;
    }
    if (!o->layout->is_data_key(rest)) {
        return ERR_OK;
    }
    log_warn("removing %s: no checkpoint names it (left by an interrupted or overlapping attempt)",
             key);
    o->removed++;
    return etl_sink_delete(o->sink, key, err);
}

static void orphan_scan_free(struct orphan_scan *o)
{
    for (int s = 0; o->seen != NULL && s < o->n; s++) {
        free(o->seen[s]);
    }
    free(o->seen);
}

static enum err_code orphan_scan_init(struct orphan_scan *o, struct err *err)
{
    o->seen = calloc((size_t)o->n, sizeof(*o->seen));
    for (int s = 0; o->seen != NULL && s < o->n; s++) {
        o->seen[s] = calloc(o->cks[s].n_files + 1, sizeof(**o->seen));
        if (o->seen[s] == NULL) {
            orphan_scan_free(o);
            o->seen = NULL;
        }
    }
    return o->seen != NULL ? ERR_OK : err_set(err, ERR_NOMEM, "out of memory checking files");
}

/* Every file the checkpoints list was found, as written. */
static enum err_code all_seen(const struct orphan_scan *o, struct err *err)
{
    for (int s = 0; s < o->n; s++) {
        for (size_t i = 0; i < o->cks[s].n_files; i++) {
            if (!o->seen[s][i]) {
                (void)err_set(err, ERR_INVALID_INPUT,
                              "%s is listed by the checkpoint of segment %d but is not stored",
                              o->cks[s].files[i].key, s);
                err_set_type(err, "SnapshotVerifyFailed");
                return ERR_INVALID_INPUT;
            }
        }
    }
    return ERR_OK;
}

static enum err_code put_doc(struct etl_sink *sink,
                             const char *run_dir,
                             const char *name,
                             const struct buf *doc,
                             const char *content_type,
                             struct err *err)
{
    char key[LIMIT_KEY_BYTES];
    snprintf(key, sizeof(key), "%s%s", run_dir, name);
    return etl_sink_put(sink, key, buf_cur(doc), content_type, err);
}

/* _SUCCESS is written once: if another commit of the run got there first, its stays. */
static enum err_code
put_success(struct etl_sink *sink, const char *run_dir, const struct buf *doc, struct err *err)
{
    char key[LIMIT_KEY_BYTES], etag[S3_ETAG_MAX];
    bool lost = false;
    snprintf(key, sizeof(key), "%s_SUCCESS", run_dir);
    enum err_code rc =
        etl_sink_put_cond(sink, key, buf_cur(doc), "application/json", NULL, etag, &lost, err);
    if (rc == ERR_OK && lost) {
        log_info("%s was written by another commit of this run: it stays", key);
    }
    return rc;
}

/* A run's times in ISO-8601, as the manifests give them. */
struct run_times {
    char at[ETL_ISO8601_MAX]; /* the time the run id stands for */
    char started[ETL_ISO8601_MAX];
    char ended[ETL_ISO8601_MAX];
};

static void format_run_times(const struct etl_run *run, int64_t end_ms, struct run_times *t)
{
    etl_time_format_iso8601(run->run_ms, t->at);
    etl_time_format_iso8601(run->started_ms, t->started);
    etl_time_format_iso8601(end_ms, t->ended);
}

/* What the commit knows of one dataset of the run. */
struct ds_sum {
    const char *name;
    size_t index;
    uint64_t rows, rejected, filtered;
};

static void
files_list(struct jsonw *w, const struct etl_ckpt *cks, int n, size_t dataset, bool rejected)
{
    jsonw_array(w, JSONW_PRETTY);
    for (int s = 0; s < n; s++) {
        for (size_t i = 0; i < cks[s].n_files; i++) {
            const struct etl_ckpt_file *f = &cks[s].files[i];
            if (f->dataset != dataset || f->rejected != rejected) {
                continue;
            }
            jsonw_object(w, JSONW_SPACED);
            jsonw_key(w, "key");
            jsonw_str(w, f->key);
            jsonw_key(w, "segment");
            jsonw_i64(w, s);
            jsonw_key(w, "records");
            jsonw_u64(w, f->records);
            jsonw_key(w, "bytes");
            jsonw_u64(w, f->bytes);
            jsonw_key(w, "uncompressed_bytes");
            jsonw_u64(w, f->raw_bytes);
            jsonw_key(w, "md5");
            jsonw_str(w, f->md5);
            jsonw_key(w, "etag");
            jsonw_str(w, f->etag);
            jsonw_end(w);
        }
    }
    jsonw_end(w);
}

static enum err_code manifest_json(const struct etl_snapshot_config *cfg,
                                   const struct etl_run *run,
                                   const struct etl_ckpt *cks,
                                   int n,
                                   const struct etl_commit_summary *sum,
                                   const struct ds_sum *ds,
                                   const struct run_times *t,
                                   struct buf *out,
                                   struct err *err)
{
    struct jsonw w;
    jsonw_init(&w, out, err);
    jsonw_object(&w, JSONW_PRETTY);
    jsonw_key(&w, "run_id");
    jsonw_str(&w, run->run_id);
    jsonw_key(&w, "table");
    jsonw_str(&w, run->table);
    jsonw_key(&w, "table_arn");
    jsonw_str(&w, run->table_arn);
    jsonw_key(&w, "run_time");
    jsonw_str(&w, t->at);
    jsonw_key(&w, "start");
    jsonw_str(&w, t->started);
    jsonw_key(&w, "end");
    jsonw_str(&w, t->ended);
    jsonw_key(&w, "snapshot_format");
    jsonw_str(&w, run->format);
    jsonw_key(&w, "format");
    jsonw_str(&w, etl_snapshot_encoding(cfg).format->manifest_name);
    jsonw_key(&w, "compression");
    jsonw_str(&w, cfg->rows.codec->name);
    jsonw_key(&w, "segments");
    jsonw_i64(&w, n);
    if (cfg->spec != NULL) {
        /* A dataset of a transform: its own rows, of the items the table gave. */
        jsonw_key(&w, "dataset");
        jsonw_str(&w, ds->name);
        jsonw_key(&w, "table_items");
        jsonw_u64(&w, sum->items);
        jsonw_key(&w, "item_count");
        jsonw_u64(&w, ds->rows);
        jsonw_key(&w, "rejected_count");
        jsonw_u64(&w, ds->rejected);
        jsonw_key(&w, "filtered_count");
        jsonw_u64(&w, ds->filtered);
    } else {
        jsonw_key(&w, "item_count");
        jsonw_u64(&w, sum->items);
    }
    jsonw_key(&w, "scanned_count");
    jsonw_u64(&w, sum->scanned);
    jsonw_key(&w, "consumed_read_units");
    jsonw_double(&w, "%.1f", sum->rcu);
    jsonw_key(&w, "segment_invocations");
    jsonw_u64(&w, sum->invocations);
    jsonw_key(&w, "estimate");
    jsonw_object(&w, JSONW_SPACED);
    jsonw_key(&w, "items");
    jsonw_i64(&w, run->est_items);
    jsonw_key(&w, "bytes");
    jsonw_i64(&w, run->est_bytes);
    jsonw_key(&w, "read_units");
    jsonw_double(&w, "%.1f", run->est_rcu);
    jsonw_key(&w, "seconds_at_max_rcu");
    jsonw_double(&w, "%.1f", run->est_seconds);
    jsonw_key(&w, "max_rcu");
    jsonw_i64(&w, run->max_rcu);
    jsonw_end(&w);
    jsonw_key(&w, "files");
    files_list(&w, cks, n, ds->index, false);
    if (cfg->spec != NULL) {
        jsonw_key(&w, "rejected_files");
        files_list(&w, cks, n, ds->index, true);
    }
    jsonw_end(&w);
    jsonw_text(&w, "\n");
    return jsonw_finish(&w);
}

static void hex_md5_to_b64(const char *hex, char out[DIGEST_MD5_B64])
{
    uint8_t raw[DIGEST_MD5_BYTES];
    for (int i = 0; i < DIGEST_MD5_BYTES; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        raw[i] = (uint8_t)v;
    }
    digest_base64(raw, sizeof(raw), out, DIGEST_MD5_B64);
}

static void b64_md5_of(const struct buf *b, char out[DIGEST_MD5_B64])
{
    uint8_t sum[DIGEST_MD5_BYTES];
    digest_md5(b->data, b->len, sum);
    digest_base64(sum, sizeof(sum), out, DIGEST_MD5_B64);
}

/* Writes {export_dir}{name}.json and its base64 MD5 as {export_dir}{name}.md5. */
static enum err_code put_with_md5(struct etl_sink *sink,
                                  const char *export_dir,
                                  const char *name,
                                  const struct buf *doc,
                                  struct err *err)
{
    char key[LIMIT_KEY_BYTES + 64], b64[DIGEST_MD5_B64];
    snprintf(key, sizeof(key), "%s%s.json", export_dir, name);
    enum err_code rc = etl_sink_put(sink, key, buf_cur(doc), "application/json", err);
    if (rc == ERR_OK) {
        b64_md5_of(doc, b64);
        snprintf(key, sizeof(key), "%s%s.md5", export_dir, name);
        rc = etl_sink_put(sink, key, cur_from_str(b64), "text/plain", err);
    }
    return rc;
}

/* DynamoDB Export's own manifests, as S3DataExport.Output documents them. */
static enum err_code export_manifests(struct etl_sink *sink,
                                      const struct etl_run *run,
                                      const char *run_dir,
                                      const struct etl_ckpt *cks,
                                      int n,
                                      const struct etl_commit_summary *sum,
                                      const struct run_times *t,
                                      struct err *err)
{
    struct buf files = BUF_INIT(0), summary = BUF_INIT(0);
    char export_dir[LIMIT_KEY_BYTES], key[LIMIT_KEY_BYTES + 64];
    const struct etl_location *loc = &sink->loc;
    const struct s3_put_options *put = &sink->put;
    const char *prefix = loc->is_s3 ? loc->prefix : "";
    char text[LIMIT_LOCATION_BYTES];
    etl_layout_export_dir(run_dir, run->export_id, export_dir, sizeof(export_dir));
    struct jsonw w;
    jsonw_init(&w, &files, err);
    for (int s = 0; s < n; s++) {
        for (size_t i = 0; i < cks[s].n_files; i++) {
            const struct etl_ckpt_file *f = &cks[s].files[i];
            char b64[DIGEST_MD5_B64];
            hex_md5_to_b64(f->md5, b64);
            snprintf(text, sizeof(text), "%s%s", prefix, f->key);
            jsonw_object(&w, JSONW_COMPACT);
            jsonw_key(&w, "itemCount");
            jsonw_u64(&w, f->records);
            jsonw_key(&w, "md5Checksum");
            jsonw_str(&w, b64);
            jsonw_key(&w, "etag");
            jsonw_str(&w, f->etag);
            jsonw_key(&w, "dataFileS3Key");
            jsonw_str(&w, text);
            jsonw_end(&w);
            jsonw_text(&w, "\n");
        }
    }
    enum err_code rc = jsonw_finish(&w);
    const char *sse =
        put->sse == NULL ? "AES256" : (strcmp(put->sse, "aws:kms") == 0 ? "KMS" : "AES256");
    jsonw_init(&w, &summary, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "version");
    jsonw_str(&w, "2020-06-30");
    jsonw_key(&w, "exportArn");
    snprintf(text, sizeof(text), "%s/export/%s", run->table_arn, run->export_id);
    jsonw_str(&w, text);
    jsonw_key(&w, "startTime");
    jsonw_str(&w, t->started);
    jsonw_key(&w, "endTime");
    jsonw_str(&w, t->ended);
    jsonw_key(&w, "tableArn");
    jsonw_str(&w, run->table_arn);
    jsonw_key(&w, "tableId");
    jsonw_str(&w, run->table_id);
    jsonw_key(&w, "exportTime");
    jsonw_str(&w, t->at);
    jsonw_key(&w, "s3Bucket");
    jsonw_str(&w, loc->is_s3 ? loc->bucket : "");
    jsonw_key(&w, "s3Prefix"); /* the run folder, without its final '/' */
    snprintf(text, sizeof(text), "%s%.*s", prefix, (int)(strlen(run_dir) - 1), run_dir);
    jsonw_str(&w, text);
    jsonw_key(&w, "s3SseAlgorithm");
    jsonw_str(&w, sse);
    jsonw_key(&w, "s3SseKmsKeyId");
    jsonw_str(&w, put->sse_kms_key_id); /* null without a key */
    jsonw_key(&w, "manifestFilesS3Key");
    snprintf(text, sizeof(text), "%s%smanifest-files.json", prefix, export_dir);
    jsonw_str(&w, text);
    jsonw_key(&w, "billedSizeBytes");
    jsonw_u64(&w, sum->bytes);
    jsonw_key(&w, "itemCount");
    jsonw_u64(&w, sum->items);
    jsonw_key(&w, "outputFormat");
    jsonw_str(&w, "DYNAMODB_JSON");
    jsonw_key(&w, "exportType");
    jsonw_str(&w, "FULL_EXPORT");
    jsonw_end(&w);
    if (rc == ERR_OK) {
        rc = jsonw_finish(&w);
    }
    if (rc == ERR_OK) {
        rc = put_with_md5(sink, export_dir, "manifest-files", &files, err);
    }
    if (rc == ERR_OK) {
        rc = put_with_md5(sink, export_dir, "manifest-summary", &summary, err);
    }
    if (rc == ERR_OK) {
        snprintf(key, sizeof(key), "%s_started", export_dir);
        rc = etl_sink_put(sink, key, cur_make("", 0), "text/plain", err);
    }
    buf_cleanup(&files);
    buf_cleanup(&summary);
    return rc;
}

static bool has_attr(const struct etl_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->attrs[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* changes.ddl once per table; current.sql each time (it names the latest snapshot). */
static enum err_code table_documents(const struct etl_ddl_ctx *ctx,
                                     const struct etl_snapshot_config *cfg,
                                     struct etl_sink *sink,
                                     const struct etl_run *run,
                                     const struct etl_schema *schema,
                                     struct err *err)
{
    char key[LIMIT_KEY_BYTES];
    struct buf doc = BUF_INIT(0);
    bool exists = false;
    snprintf(key, sizeof(key), "%s/changes.ddl", ctx->table);
    enum err_code rc = etl_sink_get(sink, key, &doc, &exists, err);
    if (rc == ERR_OK && !exists) {
        buf_reset(&doc);
        rc = etl_ddl_changes(&doc, ctx, schema, err);
        if (rc == ERR_OK) {
            rc = etl_sink_put(sink, key, buf_cur(&doc), "text/plain; charset=utf-8", err);
        }
    }
    /* The current-state view replays changes by key, ordered by _seq: a dataset without the
     * key or those columns has none. */
    unsigned needs = 1u << ETL_META_OP | 1u << ETL_META_SEQ | 1u << ETL_META_TS;
    bool has_key =
        cfg->spec == NULL || (has_attr(schema, run->hash_key) && (ctx->meta_omit & needs) == 0);
    if (rc == ERR_OK && cfg->layout->current_view && !has_key) {
        log_info("%s: no current.sql, the dataset does not keep the key %s", ctx->table,
                 run->hash_key);
    }
    if (rc == ERR_OK && cfg->layout->current_view && has_key) {
        buf_reset(&doc);
        snprintf(key, sizeof(key), "%s/current.sql", ctx->table);
        rc = etl_ddl_current_view(&doc, ctx, schema, run->run_id, run->run_ms, err);
        if (rc == ERR_OK) {
            rc = etl_sink_put(sink, key, buf_cur(&doc), "text/plain; charset=utf-8", err);
        }
    }
    buf_cleanup(&doc);
    return rc;
}

/* _SUCCESS: the run's totals, written last in a folder. */
static enum err_code success_doc(const struct etl_run *run,
                                 int n,
                                 const struct etl_commit_summary *out,
                                 struct buf *doc,
                                 struct err *err)
{
    struct jsonw w;
    buf_reset(doc);
    jsonw_init(&w, doc, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "run_id");
    jsonw_str(&w, run->run_id);
    jsonw_key(&w, "segments");
    jsonw_i64(&w, n);
    jsonw_key(&w, "items");
    jsonw_u64(&w, out->items);
    jsonw_key(&w, "files");
    jsonw_u64(&w, out->files);
    jsonw_key(&w, "bytes");
    jsonw_u64(&w, out->bytes);
    jsonw_key(&w, "consumed_read_units");
    jsonw_double(&w, "%.1f", out->rcu);
    jsonw_end(&w);
    jsonw_text(&w, "\n");
    return jsonw_finish(&w);
}

/* Removes the data files of one folder that no checkpoint names. */
static enum err_code
sweep(struct etl_sink *sink, struct orphan_scan *o, const char *dir, struct err *err)
{
    o->run_dir = dir;
    return etl_sink_list(sink, dir, check_orphan, o, err);
}

/* The dataset's rules over the whole run: the segments' partials merged, evaluated against the
 * previous snapshot's schema and the anomaly history; the result under
 * {dataset}/dq/run={run_id}/result.json. A rule with action fail that did not pass fails the
 * commit (DataQualityFailed): the run gets no _SUCCESS. */
static enum err_code check_rules(const struct etl_snapshot_config *cfg,
                                 struct etl_sink *sink,
                                 const struct sys *sys,
                                 const struct etl_run *run,
                                 const struct etl_ckpt *cks,
                                 int n,
                                 const struct ds_sum *ds,
                                 const struct etl_schema *observed,
                                 struct err *err)
{
    const struct etl_dq_rules *rules = cfg->spec->datasets[ds->index].dq;
    struct etl_dq_partial *merged = NULL;
    struct etl_schema ref;
    struct buf doc = BUF_INIT(0), history = BUF_INIT(0), report = BUF_INIT(0), emf = BUF_INIT(0);
    struct etl_dq_run dq;
    char key[LIMIT_KEY_BYTES], hkey[LIMIT_KEY_BYTES];
    bool found = false;
    etl_schema_init(&ref);
    etl_dq_run_init(&dq, rules, run->run_ms);
    enum err_code rc = etl_dq_partial_new(rules, &merged, err);
    for (int s = 0; rc == ERR_OK && s < n; s++) {
        if (cks[s].ds[ds->index].dq.len > 0) {
            rc = etl_dq_partial_from_json(merged, buf_cur(&cks[s].ds[ds->index].dq), err);
        }
    }
    snprintf(key, sizeof(key), "%s/schema.json", ds->name);
    if (rc == ERR_OK) {
        rc = etl_sink_get(sink, key, &doc, &found, err);
    }
    struct err perr = ERR_INIT;
    bool has_ref =
        rc == ERR_OK && found && etl_schema_from_json(&ref, buf_cur(&doc), &perr) == ERR_OK;
    snprintf(hkey, sizeof(hkey), "%s/dq/history.json", ds->name);
    if (rc == ERR_OK) {
        rc = etl_sink_get(sink, hkey, &history, &found, err);
    }
    struct etl_dq_report_meta meta = {NULL, ds->name, run->started_ms, sys_wall_ms(sys)};
    struct etl_dq_run_eval in = {
        .partial = merged,
        .observed = observed,
        .reference = has_ref ? &ref : NULL,
        .history = buf_cur(&history),
        .evaluation_id = run->run_id, /* a commit run again is the same evaluation */
        .meta = &meta,
        .dataset = ds->name,
        .metrics_namespace = cfg->metrics_namespace,
        .service = cfg->service,
        .emf_time_ms = meta.completed_ms,
    };
    struct etl_dq_run_summary sum;
    buf_reset(&doc);
    if (rc == ERR_OK) {
        rc = etl_dq_run_evaluate(&dq, &in, &report, &doc, &emf, &sum, err);
    }
    if (rc == ERR_OK) {
        snprintf(key, sizeof(key), "%s/dq/run=%s/result.json", ds->name, run->run_id);
        rc = etl_sink_put(sink, key, buf_cur(&report), "application/json", err);
    }
    if (rc == ERR_OK && doc.len > 0) {
        rc = etl_sink_put(sink, hkey, buf_cur(&doc), "application/json", err);
    }
    for (size_t i = 0; rc == ERR_OK && i < emf.len;) {
        const uint8_t *nl = memchr(emf.data + i, '\n', emf.len - i);
        size_t len = nl != NULL ? (size_t)(nl - (emf.data + i)) : emf.len - i;
        log_raw_line((const char *)emf.data + i, len);
        i += len + 1;
    }
    if (rc == ERR_OK && sum.fail) {
        rc = err_set(err, ERR_INVALID_INPUT,
                     "dataset %s: a data-quality rule with action fail did not pass (%s): the run "
                     "is not completed",
                     ds->name, key);
        err_set_type(err, "DataQualityFailed");
    }
    etl_dq_partial_free(merged);
    etl_dq_run_cleanup(&dq);
    etl_schema_cleanup(&ref);
    buf_cleanup(&doc);
    buf_cleanup(&history);
    buf_cleanup(&report);
    buf_cleanup(&emf);
    return rc;
}

/* A dataset's rules (if it has any) over the rows of every segment. */
static enum err_code dataset_rules(const struct etl_snapshot_config *cfg,
                                   struct etl_sink *sink,
                                   const struct sys *sys,
                                   const struct etl_run *run,
                                   const struct etl_ckpt *cks,
                                   int n,
                                   const struct ds_sum *ds,
                                   struct err *err)
{
    if (cfg->spec == NULL || cfg->spec->datasets[ds->index].dq == NULL) {
        return ERR_OK;
    }
    struct etl_schema schema;
    etl_schema_init(&schema);
    enum err_code rc = ERR_OK;
    for (int s = 0; rc == ERR_OK && s < n; s++) {
        rc = etl_schema_merge(&schema, &cks[s].ds[ds->index].schema, err);
    }
    if (rc == ERR_OK) {
        rc = check_rules(cfg, sink, sys, run, cks, n, ds, &schema, err);
    }
    etl_schema_cleanup(&schema);
    return rc;
}

/* A dataset's catalog tables, from the models of the DDL just written: {name}_snapshot (rows
 * layout only: an export-format snapshot is no such table) with this run's partition, and
 * {name}_changes. Each is re-applied whole (refresh), so a changed ETL_PARTITION or location
 * reaches the catalog at the next snapshot. */
static enum err_code commit_catalog(struct etl_catalog *cat,
                                    const struct etl_snapshot_config *cfg,
                                    const struct etl_ddl_ctx *changes_ctx,
                                    const struct etl_ddl_ctx *files_ctx,
                                    const struct etl_schema *schema,
                                    const struct etl_run *run,
                                    struct err *err)
{
    struct etl_ddl_table t;
    enum err_code rc = ERR_OK;
    if (cfg->layout->format == NULL && files_ctx->format->serde != NULL) {
        char path[LIMIT_RUN_DIR_BYTES];
        const char *paths[] = {path};
        snprintf(path, sizeof(path), "run=%s", run->run_id);
        rc = etl_ddl_snapshot_table(files_ctx, schema, &t, err);
        if (rc == ERR_OK) {
            rc = etl_catalog_sync_table(cat, &t, true, err);
        }
        if (rc == ERR_OK) {
            rc = etl_catalog_add_partitions(cat, &t, paths, 1, err);
        }
        etl_ddl_table_cleanup(&t);
    }
    if (rc == ERR_OK && changes_ctx->format->serde != NULL) {
        rc = etl_ddl_changes_table(changes_ctx, schema, &t, err);
        if (rc == ERR_OK) {
            rc = etl_catalog_sync_table(cat, &t, true, err);
        }
        etl_ddl_table_cleanup(&t);
    }
    return rc;
}

/* Everything a dataset's run folder gets: manifest, schema, DDL, table documents, its catalog
 * tables, _SUCCESS. */
static enum err_code commit_dataset(const struct etl_snapshot_config *cfg,
                                    struct etl_sink *sink,
                                    struct etl_catalog *catalog,
                                    const struct etl_run *run,
                                    const char *table_run_dir,
                                    const struct etl_ckpt *cks,
                                    int n,
                                    const struct etl_commit_summary *out,
                                    const struct ds_sum *ds,
                                    const struct run_times *t,
                                    const char *root,
                                    struct err *err)
{
    struct etl_schema schema;
    struct buf doc = BUF_INIT(0);
    char run_dir[LIMIT_RUN_DIR_BYTES];
    etl_commit_run_dir(ds->name, run->run_id, run_dir, sizeof(run_dir));
    /* changes.ddl and current.sql describe the change objects (ETL_FORMAT); table.ddl the
     * run's files (the layout's format). */
    struct etl_ddl_declared_list decl = {NULL, 0, 0, false};
    struct etl_ddl_ctx changes_ctx = {cfg->rows.format, cfg->partition, ds->name, root,
                                      run->hash_key,    run->range_key};
    if (cfg->spec != NULL) {
        const struct etl_spec_dataset *sd = &cfg->spec->datasets[ds->index];
        etl_spec_declared(sd, etl_ddl_declared_add, &decl);
        changes_ctx.declared = decl.v;
        changes_ctx.n_declared = decl.n;
        changes_ctx.meta_omit = etl_spec_meta_omit(sd);
    }
    struct etl_ddl_ctx files_ctx = changes_ctx;
    files_ctx.format = etl_snapshot_encoding(cfg).format;
    etl_schema_init(&schema);
    enum err_code rc =
        decl.failed ? err_set(err, ERR_NOMEM, "out of memory for a dataset's types") : ERR_OK;
    for (int s = 0; rc == ERR_OK && s < n; s++) {
        rc = etl_schema_merge(&schema, &cks[s].ds[ds->index].schema, err);
    }
    const struct etl_spec_dataset *sd = cfg->spec != NULL ? &cfg->spec->datasets[ds->index] : NULL;
    if (rc == ERR_OK) {
        rc = manifest_json(cfg, run, cks, n, out, ds, t, &doc, err);
    }
    if (rc == ERR_OK) {
        rc = put_doc(sink, run_dir, "_meta/manifest.json", &doc, "application/json", err);
    }
    if (rc == ERR_OK && schema.overflow_values > 0) {
        log_warn("%s: more than %d attribute names; the DDL has the first %d, %llu values of the "
                 "others stay in the rows only (schema.json: overflow_values)",
                 run_dir, ETL_SCHEMA_MAX_ATTRS, ETL_SCHEMA_MAX_ATTRS,
                 (unsigned long long)schema.overflow_values);
    }
    if (rc == ERR_OK) {
        buf_reset(&doc);
        rc = etl_schema_to_json(&schema, &doc, err);
    }
    if (rc == ERR_OK) {
        rc = put_doc(sink, run_dir, "_meta/schema.json", &doc, "application/json", err);
    }
    if (rc == ERR_OK) {
        buf_reset(&doc);
        rc = cfg->layout->table_ddl(&doc, &files_ctx, &schema, run_dir, run->export_id, err);
    }
    if (rc == ERR_OK) {
        rc = put_doc(sink, run_dir, "_meta/table.ddl", &doc, "text/plain; charset=utf-8", err);
    }
    if (rc == ERR_OK && cfg->layout->dynamodb_manifests) {
        rc = export_manifests(sink, run, run_dir, cks, n, out, t, err);
    }
    if (rc == ERR_OK) {
        rc = table_documents(&changes_ctx, cfg, sink, run, &schema, err);
    }
    if (rc == ERR_OK && etl_catalog_enabled(catalog)) {
        rc = commit_catalog(catalog, cfg, &changes_ctx, &files_ctx, &schema, run, err);
    }
    /* The latest schema of a transform's dataset: what the stream checks drift against. */
    if (rc == ERR_OK && sd != NULL) {
        char key[LIMIT_KEY_BYTES];
        buf_reset(&doc);
        snprintf(key, sizeof(key), "%s/schema.json", ds->name);
        rc = etl_schema_to_json(&schema, &doc, err);
        if (rc == ERR_OK) {
            rc = etl_sink_put(sink, key, buf_cur(&doc), "application/json", err);
        }
    }
    /* A dataset's own _SUCCESS; the table's run folder gets its one last of all. */
    if (rc == ERR_OK && strcmp(run_dir, table_run_dir) != 0) {
        rc = success_doc(run, n, out, &doc, err);
        if (rc == ERR_OK) {
            rc = put_success(sink, run_dir, &doc, err);
        }
    }
    buf_cleanup(&doc);
    etl_schema_cleanup(&schema);
    etl_ddl_declared_list_cleanup(&decl);
    return rc;
}

enum err_code etl_commit_run(const struct etl_snapshot_config *cfg,
                             struct etl_sink *sink,
                             const struct sys *sys,
                             struct etl_catalog *catalog,
                             const struct etl_run *run,
                             const char *run_dir,
                             const char *const *datasets,
                             size_t n_datasets,
                             const struct etl_ckpt *cks,
                             int n,
                             struct etl_commit_summary *out,
                             struct err *err)
{
    struct buf doc = BUF_INIT(0);
    char root[LIMIT_LOCATION_BYTES], dir[LIMIT_RUN_DIR_BYTES];
    etl_sink_root(sink, root, sizeof(root));
    memset(out, 0, sizeof(*out));
    enum err_code rc = ERR_OK;
    for (int s = 0; s < n; s++) {
        out->items += cks[s].items;
        out->scanned += cks[s].scanned;
        out->rcu += cks[s].rcu;
        out->invocations += cks[s].invocations;
        for (size_t i = 0; i < cks[s].n_files; i++) {
            out->files++;
            out->bytes += cks[s].files[i].bytes;
        }
    }
    /* Orphans: data files of interrupted attempts, in every folder the run writes. */
    struct orphan_scan o = {sink, cfg->layout, run_dir, cks, n, 0, NULL};
    rc = orphan_scan_init(&o, err);
    for (size_t d = 0; rc == ERR_OK && d < n_datasets; d++) {
        etl_commit_run_dir(datasets[d], run->run_id, dir, sizeof(dir));
        rc = sweep(sink, &o, dir, err);
        if (rc == ERR_OK && cfg->spec != NULL) {
            snprintf(dir, sizeof(dir), "%s/rejected/run=%s/", datasets[d], run->run_id);
            rc = sweep(sink, &o, dir, err);
        }
    }
    if (rc == ERR_OK) {
        rc = all_seen(&o, err);
    }
    out->orphans_removed = o.removed;
    orphan_scan_free(&o);
    /* Every dataset's rules before any dataset's documents: a rule with action fail leaves the
     * whole run unpublished (no manifest, schema.json, current.sql or _SUCCESS anywhere). */
    for (size_t d = 0; rc == ERR_OK && d < n_datasets; d++) {
        struct ds_sum ds = {datasets[d], d, 0, 0, 0};
        rc = dataset_rules(cfg, sink, sys, run, cks, n, &ds, err);
    }
    struct run_times t;
    format_run_times(run, sys_wall_ms(sys), &t);
    for (size_t d = 0; rc == ERR_OK && d < n_datasets; d++) {
        struct ds_sum ds = {datasets[d], d, 0, 0, 0};
        for (int s = 0; s < n; s++) {
            ds.rows += cks[s].ds[d].rows;
            ds.rejected += cks[s].ds[d].rejected;
            ds.filtered += cks[s].ds[d].filtered;
        }
        rc = commit_dataset(cfg, sink, catalog, run, run_dir, cks, n, out, &ds, &t, root, err);
    }
    if (rc == ERR_OK) {
        rc = success_doc(run, n, out, &doc, err);
    }
    if (rc == ERR_OK) {
        rc = put_success(sink, run_dir, &doc, err);
    }
    buf_cleanup(&doc);
    return rc;
}
