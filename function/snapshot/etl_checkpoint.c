/*
 * etl_checkpoint.c - checkpoint and run documents. cJSON is fine here: the documents are small,
 * and the only exact value, the LastEvaluatedKey, is kept as the text DynamoDB sent (its numbers
 * are JSON strings anyway).
 */
#include "etl_checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "creds.h"
#include "etl_time.h"
#include "jsonw.h"

enum err_code etl_ckpt_init(struct etl_ckpt *ck,
                            int segment,
                            int total_segments,
                            size_t n_datasets,
                            struct err *err)
{
    memset(ck, 0, sizeof(*ck));
    ck->segment = segment;
    ck->total_segments = total_segments;
    buf_init(&ck->lek, LIMIT_LEK_BYTES);
    ck->ds = calloc(n_datasets > 0 ? n_datasets : 1, sizeof(*ck->ds));
    if (ck->ds == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory in a checkpoint");
    }
    ck->n_ds = n_datasets > 0 ? n_datasets : 1;
    for (size_t i = 0; i < ck->n_ds; i++) {
        etl_schema_init(&ck->ds[i].schema);
        buf_init(&ck->ds[i].dq, LIMIT_CHECKPOINT_DOC_BYTES);
    }
    return ERR_OK;
}

void etl_ckpt_cleanup(struct etl_ckpt *ck)
{
    if (ck == NULL) {
        return;
    }
    buf_cleanup(&ck->lek);
    free(ck->files);
    ck->files = NULL;
    ck->n_files = ck->cap_files = 0;
    for (size_t i = 0; i < ck->n_ds; i++) {
        etl_schema_cleanup(&ck->ds[i].schema);
        buf_cleanup(&ck->ds[i].dq);
    }
    free(ck->ds);
    ck->ds = NULL;
    ck->n_ds = 0;
}

enum err_code etl_ckpt_add_file(struct etl_ckpt *ck, const struct etl_ckpt_file *f, struct err *err)
{
    struct etl_ckpt_file *files =
        mem_grow(ck->files, &ck->cap_files, ck->n_files, sizeof(*files), 8);
    if (files == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory in a checkpoint");
    }
    ck->files = files;
    ck->files[ck->n_files++] = *f;
    return ERR_OK;
}

enum err_code etl_ckpt_to_json(const struct etl_ckpt *ck,
                               const char *table,
                               const char *run_id,
                               struct buf *out,
                               struct err *err)
{
    struct jsonw w;
    jsonw_init(&w, out, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "version");
    jsonw_i64(&w, 1);
    jsonw_key(&w, "table");
    jsonw_str(&w, table);
    jsonw_key(&w, "run_id");
    jsonw_str(&w, run_id);
    jsonw_key(&w, "segment");
    jsonw_i64(&w, ck->segment);
    jsonw_key(&w, "total_segments");
    jsonw_i64(&w, ck->total_segments);
    jsonw_key(&w, "done");
    jsonw_bool(&w, ck->done);
    jsonw_key(&w, "next_file");
    jsonw_u64(&w, ck->next_file);
    jsonw_key(&w, "items");
    jsonw_u64(&w, ck->items);
    jsonw_key(&w, "scanned");
    jsonw_u64(&w, ck->scanned);
    if (ck->unrouted > 0) {
        jsonw_key(&w, "unrouted");
        jsonw_u64(&w, ck->unrouted);
    }
    jsonw_key(&w, "consumed_rcu");
    jsonw_double(&w, "%.3f", ck->rcu);
    jsonw_key(&w, "invocations");
    jsonw_u64(&w, ck->invocations);
    jsonw_key(&w, "progress_at");
    jsonw_u64(&w, ck->progress_at);
    if (ck->page_limit > 0) {
        jsonw_key(&w, "page_limit");
        jsonw_i64(&w, ck->page_limit);
    }
    jsonw_key(&w, "last_evaluated_key");
    if (ck->lek.len > 0) {
        jsonw_raw(&w, buf_cur(&ck->lek));
    } else {
        jsonw_null(&w);
    }
    jsonw_key(&w, "files");
    jsonw_array(&w, JSONW_COMPACT);
    for (size_t i = 0; i < ck->n_files; i++) {
        const struct etl_ckpt_file *f = &ck->files[i];
        jsonw_object(&w, JSONW_COMPACT);
        jsonw_key(&w, "key");
        jsonw_str(&w, f->key);
        jsonw_key(&w, "records");
        jsonw_u64(&w, f->records);
        jsonw_key(&w, "bytes");
        jsonw_u64(&w, f->bytes);
        jsonw_key(&w, "raw_bytes");
        jsonw_u64(&w, f->raw_bytes);
        jsonw_key(&w, "md5");
        jsonw_str(&w, f->md5);
        jsonw_key(&w, "etag");
        jsonw_str(&w, f->etag);
        jsonw_key(&w, "parts");
        jsonw_u64(&w, f->parts);
        if (f->dataset != 0) {
            jsonw_key(&w, "dataset");
            jsonw_u64(&w, f->dataset);
        }
        if (f->rejected) {
            jsonw_key(&w, "rejected");
            jsonw_bool(&w, true);
        }
        jsonw_end(&w);
    }
    jsonw_end(&w);
    if (ck->n_ds == 1 && ck->ds[0].rejected == 0 && ck->ds[0].filtered == 0 &&
        ck->ds[0].dq.len == 0) {
        /* The table's own rows, without a transform: the schema is all there is. */
        jsonw_key(&w, "schema");
        etl_schema_write(&ck->ds[0].schema, &w);
    } else {
        jsonw_key(&w, "datasets");
        jsonw_array(&w, JSONW_COMPACT);
        for (size_t i = 0; i < ck->n_ds; i++) {
            const struct etl_ckpt_ds *d = &ck->ds[i];
            jsonw_object(&w, JSONW_COMPACT);
            jsonw_key(&w, "rows");
            jsonw_u64(&w, d->rows);
            jsonw_key(&w, "rejected");
            jsonw_u64(&w, d->rejected);
            jsonw_key(&w, "filtered");
            jsonw_u64(&w, d->filtered);
            jsonw_key(&w, "schema");
            etl_schema_write(&d->schema, &w);
            if (d->dq.len > 0) {
                jsonw_key(&w, "dq");
                jsonw_raw(&w, buf_cur(&d->dq));
            }
            jsonw_end(&w);
        }
        jsonw_end(&w);
    }
    jsonw_end(&w);
    jsonw_text(&w, "\n");
    return jsonw_finish(&w);
}

/* Copies a string member into a fixed array; false (dst "" if it was too long) otherwise. */
static bool copy_str(const cJSON *obj, const char *key, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && cur_copy_to(cur_from_str(v->valuestring), dst, cap);
}

/* Whole numbers a stored document may hold: exact in a double. */
#define WHOLE_MAX 9007199254740992.0 /* 2^53 */
#define MS_MAX    253402300799999.0  /* 9999-12-31T23:59:59.999Z */

/* Reads the numbers of a stored document, remembering the first one out of range: a document
 * from an older version or a damaged one is refused with its name, never cast blindly. */
struct reader {
    const char *bad; /* the first member out of range, or NULL */
    double lo;
    double hi;
};

/* The first bad member is the one the error names. */
static void note_bad(struct reader *r, const char *key, double lo, double hi)
{
    if (r->bad == NULL) {
        r->bad = key;
        r->lo = lo;
        r->hi = hi;
    }
}

static double num_in(struct reader *r, const cJSON *obj, const char *key, double lo, double hi)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v == NULL || cJSON_IsNull(v)) {
        return lo > 0 ? lo : 0; /* absent: the smallest value it may have */
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi)) {
        note_bad(r, key, lo, hi);
        return lo; /* always in range: callers cast it, even after an earlier member was bad */
    }
    return d;
}

/* A whole number in [lo, hi]. */
static double whole(struct reader *r, const cJSON *obj, const char *key, double lo, double hi)
{
    double d = num_in(r, obj, key, lo, hi);
    if (d != floor(d)) {
        note_bad(r, key, lo, hi);
        return lo;
    }
    return d;
}

static enum err_code bad_member(const struct reader *r, const char *what, struct err *err)
{
    return err_set(err, ERR_INVALID_INPUT, "%s: \"%s\" is not a number from %.0f to %.0f", what,
                   r->bad, r->lo, r->hi);
}

/* A schema member of a checkpoint, merged into s. */
static enum err_code read_schema(const cJSON *obj, struct etl_schema *s, struct err *err)
{
    char *text = cJSON_PrintUnformatted(obj);
    enum err_code rc = text != NULL ? etl_schema_from_json(s, cur_from_str(text), err)
                                    : err_set(err, ERR_NOMEM, "out of memory reading a checkpoint");
    cJSON_free(text);
    return rc;
}

enum err_code etl_ckpt_from_json(struct etl_ckpt *ck, struct cur text, struct err *err)
{
    cJSON *root = cJSON_ParseWithLength((const char *)text.ptr, text.len);
    enum err_code rc = ERR_OK;
    char *lek = NULL;
    if (root == NULL || !cJSON_IsObject(root)) {
        rc = err_set(err, ERR_INVALID_INPUT, "checkpoint of segment %d is not JSON", ck->segment);
        goto out;
    }
    struct reader r = {NULL, 0, 0};
    char what[64];
    snprintf(what, sizeof(what), "checkpoint of segment %d", ck->segment);
    int segment = (int)whole(&r, root, "segment", 0, 1e6);
    int total = (int)whole(&r, root, "total_segments", 1, 1e6);
    if (r.bad == NULL && (segment != ck->segment || total != ck->total_segments)) {
        rc =
            err_set(err, ERR_INVALID_INPUT, "checkpoint is for segment %d of %d, expected %d of %d",
                    segment, total, ck->segment, ck->total_segments);
        goto out;
    }
    ck->done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "done"));
    ck->next_file = (uint32_t)whole(&r, root, "next_file", 0, UINT32_MAX);
    ck->items = (uint64_t)whole(&r, root, "items", 0, WHOLE_MAX);
    ck->scanned = (uint64_t)whole(&r, root, "scanned", 0, WHOLE_MAX);
    ck->unrouted = (uint64_t)whole(&r, root, "unrouted", 0, WHOLE_MAX);
    ck->rcu = num_in(&r, root, "consumed_rcu", 0, 1e300);
    ck->invocations = (uint32_t)whole(&r, root, "invocations", 0, UINT32_MAX);
    ck->progress_at = (uint32_t)whole(&r, root, "progress_at", 0, UINT32_MAX);
    if (cJSON_GetObjectItemCaseSensitive(root, "progress_at") == NULL) {
        ck->progress_at = ck->invocations; /* an older checkpoint: no stall known */
    }
    ck->page_limit = (int32_t)whole(&r, root, "page_limit", 0, 1e6);
    if (r.bad != NULL) {
        rc = bad_member(&r, what, err);
        goto out;
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(root, "last_evaluated_key");
    buf_reset(&ck->lek);
    if (cJSON_IsObject(k)) {
        lek = cJSON_PrintUnformatted(k);
        rc = lek != NULL ? buf_append_str(&ck->lek, lek, err)
                         : err_set(err, ERR_NOMEM, "out of memory reading a checkpoint");
    }
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        if (rc != ERR_OK) {
            break;
        }
        struct etl_ckpt_file cf;
        memset(&cf, 0, sizeof(cf));
        if (!copy_str(f, "key", cf.key, sizeof(cf.key))) {
            rc = err_set(err, ERR_INVALID_INPUT, "checkpoint of segment %d: a file without key",
                         ck->segment);
            break;
        }
        (void)copy_str(f, "md5", cf.md5, sizeof(cf.md5));
        (void)copy_str(f, "etag", cf.etag, sizeof(cf.etag));
        cf.records = (uint64_t)whole(&r, f, "records", 0, WHOLE_MAX);
        cf.bytes = (uint64_t)whole(&r, f, "bytes", 0, WHOLE_MAX);
        cf.raw_bytes = (uint64_t)whole(&r, f, "raw_bytes", 0, WHOLE_MAX);
        cf.parts = (uint32_t)whole(&r, f, "parts", 0, 10000);
        double ds = whole(&r, f, "dataset", 0, 65535);
        if (r.bad != NULL) {
            rc = bad_member(&r, what, err);
            break;
        }
        if (ds >= (double)ck->n_ds) {
            rc = err_set(err, ERR_INVALID_INPUT,
                         "checkpoint of segment %d: a file of dataset %.0f (the run has %zu)",
                         ck->segment, ds, ck->n_ds);
            break;
        }
        cf.dataset = (uint16_t)ds;
        cf.rejected = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "rejected"));
        rc = etl_ckpt_add_file(ck, &cf, err);
    }
    const cJSON *sch = cJSON_GetObjectItemCaseSensitive(root, "schema");
    const cJSON *datasets = cJSON_GetObjectItemCaseSensitive(root, "datasets");
    if (rc == ERR_OK && cJSON_IsObject(sch)) {
        /* The short form (one dataset, nothing rejected or filtered) keeps no row count: every
         * file holds its rows. */
        for (size_t i = 0; i < ck->n_files; i++) {
            ck->ds[0].rows += ck->files[i].records;
        }
        rc = read_schema(sch, &ck->ds[0].schema, err);
    } else if (rc == ERR_OK && cJSON_IsArray(datasets)) {
        if ((size_t)cJSON_GetArraySize(datasets) != ck->n_ds) {
            rc = err_set(err, ERR_INVALID_INPUT,
                         "checkpoint of segment %d has %d datasets, the run %zu", ck->segment,
                         cJSON_GetArraySize(datasets), ck->n_ds);
        }
        const cJSON *d;
        size_t i = 0;
        cJSON_ArrayForEach(d, datasets)
        {
            if (rc != ERR_OK || i >= ck->n_ds) {
                break;
            }
            struct etl_ckpt_ds *x = &ck->ds[i++];
            x->rows = (uint64_t)whole(&r, d, "rows", 0, WHOLE_MAX);
            x->rejected = (uint64_t)whole(&r, d, "rejected", 0, WHOLE_MAX);
            x->filtered = (uint64_t)whole(&r, d, "filtered", 0, WHOLE_MAX);
            if (r.bad != NULL) {
                rc = bad_member(&r, what, err);
                break;
            }
            const cJSON *ds_schema = cJSON_GetObjectItemCaseSensitive(d, "schema");
            if (cJSON_IsObject(ds_schema)) {
                rc = read_schema(ds_schema, &x->schema, err);
            }
            const cJSON *dq = cJSON_GetObjectItemCaseSensitive(d, "dq");
            if (rc == ERR_OK && dq != NULL) {
                char *dq_text = cJSON_PrintUnformatted(dq);
                rc = dq_text != NULL
                         ? buf_append_str(&x->dq, dq_text, err)
                         : err_set(err, ERR_NOMEM, "out of memory reading a checkpoint");
                cJSON_free(dq_text);
            }
        }
    }
out:
    cJSON_free(lek);
    cJSON_Delete(root);
    return rc;
}

enum err_code etl_run_to_json(const struct etl_run *run, struct buf *out, struct err *err)
{
    char started[ETL_ISO8601_MAX], at[ETL_ISO8601_MAX];
    etl_time_format_iso8601(run->started_ms, started);
    etl_time_format_iso8601(run->run_ms, at);
    struct jsonw w;
    jsonw_init(&w, out, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "version");
    jsonw_i64(&w, 1);
    jsonw_key(&w, "table");
    jsonw_str(&w, run->table);
    jsonw_key(&w, "run_id");
    jsonw_str(&w, run->run_id);
    jsonw_key(&w, "run_time");
    jsonw_str(&w, at);
    jsonw_key(&w, "run_ms");
    jsonw_i64(&w, run->run_ms);
    jsonw_key(&w, "started");
    jsonw_str(&w, started);
    jsonw_key(&w, "started_ms");
    jsonw_i64(&w, run->started_ms);
    jsonw_key(&w, "total_segments");
    jsonw_i64(&w, run->total_segments);
    jsonw_key(&w, "format");
    jsonw_str(&w, run->format);
    jsonw_key(&w, "export_id");
    jsonw_str(&w, run->export_id);
    jsonw_key(&w, "table_arn");
    jsonw_str(&w, run->table_arn);
    jsonw_key(&w, "table_id");
    jsonw_str(&w, run->table_id);
    jsonw_key(&w, "hash_key");
    jsonw_str(&w, run->hash_key);
    jsonw_key(&w, "range_key");
    jsonw_str(&w, run->range_key);
    jsonw_key(&w, "estimate");
    jsonw_object(&w, JSONW_COMPACT);
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
    jsonw_end(&w);
    jsonw_text(&w, "\n");
    return jsonw_finish(&w);
}

enum err_code etl_run_from_json(struct etl_run *run, struct cur text, struct err *err)
{
    memset(run, 0, sizeof(*run));
    cJSON *root = cJSON_ParseWithLength((const char *)text.ptr, text.len);
    enum err_code rc = ERR_OK;
    if (root == NULL || !copy_str(root, "table", run->table, sizeof(run->table)) ||
        !copy_str(root, "run_id", run->run_id, sizeof(run->run_id))) {
        rc = err_set(err, ERR_INVALID_INPUT, "run.json is not a run document");
        goto out;
    }
    struct reader r = {NULL, 0, 0};
    run->run_ms = (int64_t)whole(&r, root, "run_ms", 0, MS_MAX);
    run->started_ms = (int64_t)whole(&r, root, "started_ms", 0, MS_MAX);
    run->total_segments = (int)whole(&r, root, "total_segments", 1, 1e6);
    (void)copy_str(root, "format", run->format, sizeof(run->format));
    (void)copy_str(root, "export_id", run->export_id, sizeof(run->export_id));
    (void)copy_str(root, "table_arn", run->table_arn, sizeof(run->table_arn));
    (void)copy_str(root, "table_id", run->table_id, sizeof(run->table_id));
    (void)copy_str(root, "hash_key", run->hash_key, sizeof(run->hash_key));
    (void)copy_str(root, "range_key", run->range_key, sizeof(run->range_key));
    const cJSON *est = cJSON_GetObjectItemCaseSensitive(root, "estimate");
    run->est_items = (int64_t)whole(&r, est, "items", 0, WHOLE_MAX);
    run->est_bytes = (int64_t)whole(&r, est, "bytes", 0, WHOLE_MAX);
    run->est_rcu = num_in(&r, est, "read_units", 0, 1e300);
    run->est_seconds = num_in(&r, est, "seconds_at_max_rcu", 0, 1e300);
    run->max_rcu = (int64_t)whole(&r, est, "max_rcu", 0, WHOLE_MAX);
    if (r.bad != NULL) {
        rc = bad_member(&r, "run.json", err);
    }
out:
    cJSON_Delete(root);
    return rc;
}

enum err_code
etl_run_id_from_time(const char *iso, char run_id[ETL_RUN_ID_MAX], int64_t *run_ms, struct err *err)
{
    int64_t ms = 0;
    if (iso == NULL || !creds_parse_iso8601(iso, &ms)) {
        return err_set(err, ERR_INVALID_INPUT, "scheduled event time \"%.40s\" is not ISO-8601",
                       iso != NULL ? iso : "");
    }
    ms -= ms % 1000;
    char full[ETL_ISO8601_MAX];
    etl_time_format_iso8601(ms, full); /* 2026-11-24T00:00:00.000Z */
    snprintf(run_id, ETL_RUN_ID_MAX, "%.10sT%.2s%.2s%.2sZ", full, full + 11, full + 14, full + 17);
    *run_ms = ms;
    return ERR_OK;
}

enum err_code etl_run_id_parse(const char *run_id, int64_t *run_ms, struct err *err)
{
    /* YYYY-MM-DDTHHMMSSZ */
    if (run_id == NULL || strlen(run_id) != 18 || run_id[10] != 'T' || run_id[17] != 'Z') {
        return err_set(err, ERR_INVALID_INPUT,
                       "run_id \"%.40s\": expected the form 2026-11-24T000000Z",
                       run_id != NULL ? run_id : "");
    }
    char iso[32];
    snprintf(iso, sizeof(iso), "%.10sT%.2s:%.2s:%.2sZ", run_id, run_id + 11, run_id + 13,
             run_id + 15);
    if (!creds_parse_iso8601(iso, run_ms)) {
        return err_set(err, ERR_INVALID_INPUT, "run_id \"%s\": not a valid time", run_id);
    }
    char check[ETL_RUN_ID_MAX];
    int64_t again = 0;
    struct err ignored = ERR_INIT;
    if (etl_run_id_from_time(iso, check, &again, &ignored) != ERR_OK ||
        strcmp(check, run_id) != 0) {
        return err_set(err, ERR_INVALID_INPUT, "run_id \"%s\": not a valid time", run_id);
    }
    return ERR_OK;
}
