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
#include "etl_time.h"
#include "log.h"

void etl_commit_run_dir(const char *table, const char *run_id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/snapshots/run=%s/", table, run_id);
}

struct orphan_scan {
    struct etl_sink *sink;
    const struct etl_snapshot_layout *layout;
    const char *run_dir;
    const struct etl_ckpt *cks;
    int n;
    int removed;
};

static bool named_by_checkpoints(const struct orphan_scan *o, const char *key)
{
    for (int s = 0; s < o->n; s++) {
        for (size_t i = 0; i < o->cks[s].n_files; i++) {
            if (strcmp(o->cks[s].files[i].key, key) == 0) {
                return true;
            }
        }
    }
    return false;
}

static enum err_code
check_orphan(void *ctx, const char *key, uint64_t size, const char *etag, struct err *err)
{
    (void)size;
    (void)etag;
    struct orphan_scan *o = ctx;
    const char *rest = key + strlen(o->run_dir);
    if (!o->layout->is_data_key(rest) || named_by_checkpoints(o, key)) {
        return ERR_OK;
    }
    log_warn("removing %s: no checkpoint names it (left by an interrupted attempt)", key);
    o->removed++;
    return etl_sink_delete(o->sink, key, err);
}

static enum err_code put_doc(struct etl_sink *sink,
                             const char *run_dir,
                             const char *name,
                             const struct buf *doc,
                             const char *content_type,
                             struct err *err)
{
    char key[ETL_KEY_MAX];
    snprintf(key, sizeof(key), "%s%s", run_dir, name);
    return etl_sink_put(sink, key, buf_cur(doc), content_type, err);
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

static enum err_code manifest_json(const struct etl_snapshot_config *cfg,
                                   const struct etl_run *run,
                                   const struct etl_ckpt *cks,
                                   int n,
                                   const struct etl_commit_summary *sum,
                                   const struct run_times *t,
                                   struct buf *out,
                                   struct err *err)
{
    enum err_code rc = buf_printf(out, err, "{\n  \"run_id\": \"%s\",\n  \"table\": ", run->run_id);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(out, run->table, strlen(run->table), err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, ",\n  \"table_arn\": ", err);
    }
    if (rc == ERR_OK) {
        rc = buf_append_json_str(out, run->table_arn, strlen(run->table_arn), err);
    }
    if (rc == ERR_OK) {
        rc = buf_printf(
            out, err,
            ",\n  \"run_time\": \"%s\",\n  \"start\": \"%s\",\n  \"end\": \"%s\",\n  \"snapshot_format\": \"%s\",\n  \"format\": \"%s\",\n  \"compression\": \"%s\",\n  \"segments\": %d,\n  \"item_count\": %llu,\n  \"scanned_count\": %llu,\n  \"consumed_read_units\": %.1f,\n  \"segment_invocations\": %u,\n  \"estimate\": {\"items\": %lld, \"bytes\": %lld, \"read_units\": %.1f, \"seconds_at_max_rcu\": %.1f, \"max_rcu\": %lld},\n  \"files\": [",
            t->at, t->started, t->ended, run->format,
            etl_snapshot_encoding(cfg).format->manifest_name, cfg->rows.codec->name, n,
            (unsigned long long)sum->items, (unsigned long long)sum->scanned, sum->rcu,
            sum->invocations, (long long)run->est_items, (long long)run->est_bytes, run->est_rcu,
            run->est_seconds, (long long)run->max_rcu);
    }
    bool first = true;
    for (int s = 0; rc == ERR_OK && s < n; s++) {
        for (size_t i = 0; rc == ERR_OK && i < cks[s].n_files; i++) {
            const struct etl_ckpt_file *f = &cks[s].files[i];
            rc = buf_append_str(out, first ? "\n    {\"key\": " : ",\n    {\"key\": ", err);
            first = false;
            if (rc == ERR_OK) {
                rc = buf_append_json_str(out, f->key, strlen(f->key), err);
            }
            if (rc == ERR_OK) {
                rc = buf_printf(
                    out, err,
                    ", \"segment\": %d, \"records\": %llu, \"bytes\": %llu, \"uncompressed_bytes\": %llu, \"md5\": \"%s\", \"etag\": \"%s\"}",
                    s, (unsigned long long)f->records, (unsigned long long)f->bytes,
                    (unsigned long long)f->raw_bytes, f->md5, f->etag);
            }
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, "\n  ]\n}\n", err);
    }
    return rc;
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
    char key[ETL_KEY_MAX + 64], b64[DIGEST_MD5_B64];
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
    char export_dir[ETL_KEY_MAX], key[ETL_KEY_MAX + 64];
    const struct etl_location *loc = &sink->loc;
    const struct s3_put_options *put = &sink->put;
    etl_layout_export_dir(run_dir, run->export_id, export_dir, sizeof(export_dir));
    enum err_code rc = ERR_OK;
    for (int s = 0; rc == ERR_OK && s < n; s++) {
        for (size_t i = 0; rc == ERR_OK && i < cks[s].n_files; i++) {
            const struct etl_ckpt_file *f = &cks[s].files[i];
            char b64[DIGEST_MD5_B64];
            hex_md5_to_b64(f->md5, b64);
            rc = buf_printf(
                &files, err,
                "{\"itemCount\":%llu,\"md5Checksum\":\"%s\",\"etag\":\"%s\",\"dataFileS3Key\":\"%s%s\"}\n",
                (unsigned long long)f->records, b64, f->etag, loc->is_s3 ? loc->prefix : "",
                f->key);
        }
    }
    const char *sse =
        put->sse == NULL ? "AES256" : (strcmp(put->sse, "aws:kms") == 0 ? "KMS" : "AES256");
    if (rc == ERR_OK) {
        rc = buf_printf(
            &summary, err,
            "{\"version\":\"2020-06-30\",\"exportArn\":\"%s/export/%s\",\"startTime\":\"%s\",\"endTime\":\"%s\",\"tableArn\":\"%s\",\"tableId\":\"%s\",\"exportTime\":\"%s\",\"s3Bucket\":\"%s\",\"s3Prefix\":\"%s%.*s\",\"s3SseAlgorithm\":\"%s\",\"s3SseKmsKeyId\":%s%s%s,\"manifestFilesS3Key\":\"%s%smanifest-files.json\",\"billedSizeBytes\":%llu,\"itemCount\":%llu,\"outputFormat\":\"DYNAMODB_JSON\",\"exportType\":\"FULL_EXPORT\"}",
            run->table_arn, run->export_id, t->started, t->ended, run->table_arn, run->table_id,
            t->at, loc->is_s3 ? loc->bucket : "", loc->is_s3 ? loc->prefix : "",
            (int)(strlen(run_dir) - 1), run_dir, sse, put->sse_kms_key_id != NULL ? "\"" : "null",
            put->sse_kms_key_id != NULL ? put->sse_kms_key_id : "",
            put->sse_kms_key_id != NULL ? "\"" : "", loc->is_s3 ? loc->prefix : "", export_dir,
            (unsigned long long)sum->bytes, (unsigned long long)sum->items);
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

/* changes.ddl once per table; current.sql each time (it names the latest snapshot). */
static enum err_code table_documents(const struct etl_ddl_ctx *ctx,
                                     const struct etl_snapshot_config *cfg,
                                     struct etl_sink *sink,
                                     const struct etl_run *run,
                                     const struct etl_schema *schema,
                                     struct err *err)
{
    char key[ETL_KEY_MAX];
    struct buf doc = BUF_INIT(0);
    bool exists = false;
    snprintf(key, sizeof(key), "%s/changes.ddl", run->table);
    enum err_code rc = etl_sink_get(sink, key, &doc, &exists, err);
    if (rc == ERR_OK && !exists) {
        buf_reset(&doc);
        rc = etl_ddl_changes(&doc, ctx, schema, err);
        if (rc == ERR_OK) {
            rc = etl_sink_put(sink, key, buf_cur(&doc), "text/plain; charset=utf-8", err);
        }
    }
    if (rc == ERR_OK && cfg->layout->current_view) {
        buf_reset(&doc);
        snprintf(key, sizeof(key), "%s/current.sql", run->table);
        rc = etl_ddl_current_view(&doc, ctx, schema, run->run_id, run->run_ms, err);
        if (rc == ERR_OK) {
            rc = etl_sink_put(sink, key, buf_cur(&doc), "text/plain; charset=utf-8", err);
        }
    }
    buf_cleanup(&doc);
    return rc;
}

enum err_code etl_commit_run(const struct etl_snapshot_config *cfg,
                             struct etl_sink *sink,
                             const struct sys *sys,
                             const struct etl_run *run,
                             const char *run_dir,
                             const struct etl_ckpt *cks,
                             int n,
                             struct etl_commit_summary *out,
                             struct err *err)
{
    struct etl_schema schema;
    struct buf doc = BUF_INIT(0);
    char root[ETL_LOCATION_MAX];
    etl_sink_root(sink, root, sizeof(root));
    /* changes.ddl and current.sql describe the change objects (ETL_FORMAT); table.ddl the
     * run's files (the layout's format). */
    const struct etl_ddl_ctx changes_ctx = {cfg->rows.format, cfg->partition, run->table, root,
                                            run->hash_key,    run->range_key};
    struct etl_ddl_ctx files_ctx = changes_ctx;
    files_ctx.format = etl_snapshot_encoding(cfg).format;
    etl_schema_init(&schema);
    memset(out, 0, sizeof(*out));
    enum err_code rc = ERR_OK;
    for (int s = 0; rc == ERR_OK && s < n; s++) {
        out->items += cks[s].items;
        out->scanned += cks[s].scanned;
        out->rcu += cks[s].rcu;
        out->invocations += cks[s].invocations;
        for (size_t i = 0; i < cks[s].n_files; i++) {
            out->files++;
            out->bytes += cks[s].files[i].bytes;
        }
        rc = etl_schema_merge(&schema, &cks[s].schema, err);
    }
    struct orphan_scan o = {sink, cfg->layout, run_dir, cks, n, 0};
    if (rc == ERR_OK) {
        rc = etl_sink_list(sink, run_dir, check_orphan, &o, err);
        out->orphans_removed = o.removed;
    }
    struct run_times t;
    format_run_times(run, sys_wall_ms(sys), &t);
    if (rc == ERR_OK) {
        rc = manifest_json(cfg, run, cks, n, out, &t, &doc, err);
    }
    if (rc == ERR_OK) {
        rc = put_doc(sink, run_dir, "_meta/manifest.json", &doc, "application/json", err);
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
        rc = export_manifests(sink, run, run_dir, cks, n, out, &t, err);
    }
    if (rc == ERR_OK) {
        rc = table_documents(&changes_ctx, cfg, sink, run, &schema, err);
    }
    if (rc == ERR_OK) {
        buf_reset(&doc);
        rc = buf_printf(
            &doc, err,
            "{\"run_id\":\"%s\",\"segments\":%d,\"items\":%llu,\"files\":%llu,\"bytes\":%llu,\"consumed_read_units\":%.1f}\n",
            run->run_id, n, (unsigned long long)out->items, (unsigned long long)out->files,
            (unsigned long long)out->bytes, out->rcu);
    }
    if (rc == ERR_OK) {
        rc = put_doc(sink, run_dir, "_SUCCESS", &doc, "application/json", err);
    }
    buf_cleanup(&doc);
    etl_schema_cleanup(&schema);
    return rc;
}
