/*
 * etl_stream.c - DynamoDB Streams batches to change objects.
 *
 * Pass 1 converts each record into a row in one store (batch order) and files it under its
 * (table, partition) group; a record that cannot be converted goes to a quarantine group.
 * Pass 2 cuts groups into objects (ETL_MAX_OBJECT_RECORDS / _BYTES), renders each and writes it,
 * marking its records durable. The answer names the earliest record that is not durable:
 * Lambda then retries from there, and nothing before it is ever reported as written.
 */
#include "etl_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "etl_partition.h"
#include "etl_record.h"
#include "etl_stream_batch.h"
#include "etl_time.h"
#include "etl_writer.h"
#include "json.h"
#include "jsonw.h"
#include "limit.h"
#include "log.h"

#define UNKNOWN_TABLE  "unknown-table"
#define QUARANTINE_DIR "_quarantine"
#define REJECTED_DIR   "rejected"

void etl_stream_init(struct etl_stream *s,
                     const struct etl_stream_config *cfg,
                     struct etl_sink *sink,
                     const struct sys *sys)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->sink = sink;
    s->sys = sys;
}

void etl_stream_set_catalog(struct etl_stream *s, struct etl_catalog *catalog)
{
    s->catalog = catalog;
}

static void stream_dq_free(struct etl_stream *s)
{
    for (size_t d = 0; s->spec != NULL && d < s->spec->n_datasets; d++) {
        if (s->dq != NULL) {
            etl_dq_run_cleanup(&s->dq[d]);
        }
        if (s->ref != NULL) {
            etl_schema_cleanup(&s->ref[d]);
        }
    }
    free(s->dq);
    free(s->ref);
    free(s->ref_known);
    s->dq = NULL;
    s->ref = NULL;
    s->ref_known = NULL;
}

enum err_code etl_stream_set_transform(struct etl_stream *s,
                                       const struct etl_spec *spec,
                                       const uint8_t *key,
                                       size_t key_len,
                                       struct err *err)
{
    stream_dq_free(s);
    etl_transform_free(s->tx);
    s->tx = NULL;
    s->spec = spec;
    if (spec == NULL) {
        return ERR_OK;
    }
    enum err_code rc = etl_transform_new(spec, key, key_len, &s->tx, err);
    s->dq = calloc(spec->n_datasets, sizeof(*s->dq));
    s->ref = calloc(spec->n_datasets, sizeof(*s->ref));
    s->ref_known = calloc(spec->n_datasets, sizeof(*s->ref_known));
    if (rc == ERR_OK && (s->dq == NULL || s->ref == NULL || s->ref_known == NULL)) {
        rc = err_set(err, ERR_NOMEM, "out of memory for the transform's datasets");
    }
    for (size_t d = 0; rc == ERR_OK && d < spec->n_datasets; d++) {
        etl_dq_run_init(&s->dq[d], spec->datasets[d].dq, 0);
        etl_schema_init(&s->ref[d]);
    }
    return rc;
}

void etl_stream_cleanup(struct etl_stream *s)
{
    if (s == NULL) {
        return;
    }
    buf_cleanup(&s->store);
    buf_cleanup(&s->object);
    buf_cleanup(&s->text);
    buf_cleanup(&s->src);
    buf_cleanup(&s->staged);
    buf_cleanup(&s->doc);
    buf_cleanup(&s->doc2);
    stream_dq_free(s);
    etl_transform_free(s->tx);
    s->tx = NULL;
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n_recs; i++) {
        free(b->recs[i].error);
    }
    etl_arena_cleanup(&b->keys);
    etl_names_cleanup(&b->seen);
    free(b->recs);
    for (size_t i = 0; i < b->n_groups; i++) {
        free(b->groups[i].recs);
    }
    free(b->groups);
    free(b->chunks);
    memset(b, 0, sizeof(*b));
}

bool etl_stream_table_from_arn(const char *arn, char *out, size_t cap)
{
    const char *t = strstr(arn, ":table/");
    if (t == NULL || strncmp(arn, "arn:", 4) != 0) {
        return false;
    }
    t += 7;
    size_t n = strcspn(t, "/");
    char name[256];
    if (n == 0 || n >= cap || n >= sizeof(name)) {
        return false;
    }
    memcpy(name, t, n);
    name[n] = '\0';
    struct err e = ERR_INIT;
    if (ddb_check_table_name(name, &e) != ERR_OK) {
        return false; /* out untouched: the caller's fallback stands */
    }
    memcpy(out, name, n + 1);
    return true;
}

bool etl_stream_parse_time(struct cur number, int64_t *out_ms)
{
    char text[64];
    if (number.len == 0 || number.len >= sizeof(text)) {
        return false;
    }
    memcpy(text, number.ptr, number.len);
    text[number.len] = '\0';
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= 0) || v > 1e15) {
        return false;
    }
    /* Seconds since 1970 stay under 1e11 until the year 5138; larger values are milliseconds
     * (some writers send ms, e.g. aws-lambda-dotnet's sample). */
    double ms = v < 1e11 ? v * 1000.0 : v;
    *out_ms = (int64_t)(ms + 1e-6); /* floor, tolerant of binary fractions like .999999 */
    return true;
}

static bool seq_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

enum err_code etl_stream_group(struct batch *b,
                               const char *name,
                               const char *partition,
                               enum group_kind kind,
                               uint32_t *out,
                               struct err *err)
{
    for (size_t i = b->n_groups; i-- > 0;) {
        struct group *g = &b->groups[i];
        if (g->kind == kind && strcmp(g->name, name) == 0 && strcmp(g->partition, partition) == 0) {
            *out = (uint32_t)i;
            return ERR_OK;
        }
    }
    struct group *groups = mem_grow(b->groups, &b->cap_groups, b->n_groups, sizeof(*groups), 8);
    if (groups == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory grouping records");
    }
    b->groups = groups;
    struct group *g = &b->groups[b->n_groups];
    memset(g, 0, sizeof(*g));
    snprintf(g->name, sizeof(g->name), "%s", name);
    snprintf(g->partition, sizeof(g->partition), "%s", partition);
    g->kind = kind;
    *out = (uint32_t)b->n_groups++;
    return ERR_OK;
}

enum err_code etl_stream_file(struct batch *b,
                              uint32_t rec,
                              const char *name,
                              const char *partition,
                              enum group_kind kind,
                              struct err *err)
{
    uint32_t g = 0;
    enum err_code rc = etl_stream_group(b, name, partition, kind, &g, err);
    if (rc != ERR_OK) {
        return rc;
    }
    struct group *grp = &b->groups[g];
    uint32_t *recs = mem_grow(grp->recs, &grp->cap, grp->n, sizeof(*recs), 64);
    if (recs == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory grouping records");
    }
    grp->recs = recs;
    grp->recs[grp->n++] = rec;
    b->recs[rec].group = g;
    return ERR_OK;
}

static bool is_ttl_delete(const struct json_val *record)
{
    /* DynamoDB's TTL deletes carry userIdentity {type: Service, principalId:
     * dynamodb.amazonaws.com}. */
    struct json_val ui, type, principal;
    return json_object_get_type(record, "userIdentity", JSON_OBJECT, &ui) &&
           json_object_get_type(&ui, "type", JSON_STRING, &type) &&
           json_object_get_type(&ui, "principalId", JSON_STRING, &principal) &&
           json_string_eq(&type, "Service") && json_string_eq(&principal, "dynamodb.amazonaws.com");
}

/* Converts one record into a row at the end of store. */
static enum err_code build_row(struct buf *store,
                               const struct json_val *record,
                               struct rec *r,
                               const char *table,
                               struct err *err)
{
    struct json_val ddb, name, v, keys, image;
    if (record->type != JSON_OBJECT) {
        return err_set(err, ERR_INVALID_INPUT, "record is not an object");
    }
    if (!json_object_get_type(record, "dynamodb", JSON_OBJECT, &ddb)) {
        return err_set(err, ERR_INVALID_INPUT, "record has no dynamodb object");
    }
    if (r->seq[0] == '\0') {
        return err_set(err, ERR_INVALID_INPUT, "record has no valid dynamodb.SequenceNumber");
    }
    if (!json_object_get_type(record, "eventName", JSON_STRING, &name)) {
        return err_set(err, ERR_INVALID_INPUT, "record has no eventName");
    }
    const char *op = json_string_eq(&name, "INSERT")   ? "INSERT"
                     : json_string_eq(&name, "MODIFY") ? "MODIFY"
                     : json_string_eq(&name, "REMOVE") ? "REMOVE"
                                                       : NULL;
    if (op == NULL) {
        return err_set(err, ERR_INVALID_INPUT, "eventName is not INSERT, MODIFY or REMOVE");
    }
    bool has_keys = json_object_get_type(&ddb, "Keys", JSON_OBJECT, &keys);
    bool removal = op[0] == 'R';
    bool has_image =
        json_object_get_type(&ddb, removal ? "OldImage" : "NewImage", JSON_OBJECT, &image);
    if (!has_image) {
        /* KEYS_ONLY, or NEW_IMAGE/OLD_IMAGE without the image this change would use. */
        if (!has_keys) {
            return err_set(err, ERR_INVALID_INPUT, "record has neither %s nor Keys",
                           removal ? "OldImage" : "NewImage");
        }
        image = keys;
    }
    char iso[ETL_ISO8601_MAX];
    if (r->has_ts) {
        etl_time_format_iso8601(r->ts_ms, iso);
    }
    struct etl_record_meta meta = {
        .op = op,
        .seq = r->seq,
        .ts = r->has_ts ? iso : NULL,
        .table = table,
        .has_ttl_delete = removal,
        .ttl_delete = removal && is_ttl_delete(record),
    };
    if (json_object_get_type(record, "eventID", JSON_STRING, &v)) {
        meta.event_id = v.raw;
    }
    if (has_keys) {
        r->keys = keys.raw;
    }
    enum err_code rc =
        etl_record_build(store, &image, has_keys ? &keys : NULL, &meta, &r->row_offset, err);
    if (rc == ERR_OK) {
        r->row_len = store->len - r->row_offset;
    }
    return rc;
}

/* Reads what every record needs before conversion: raw span, sequence number, time. */
static void read_envelope(const struct json_val *record, struct rec *r)
{
    struct json_val ddb, v;
    r->raw = *record;
    if (record->type != JSON_OBJECT ||
        !json_object_get_type(record, "dynamodb", JSON_OBJECT, &ddb)) {
        return;
    }
    if (json_object_get_type(&ddb, "SequenceNumber", JSON_STRING, &v) &&
        json_string_copy(&v, r->seq, sizeof(r->seq)) && !seq_ok(r->seq)) {
        r->seq[0] = '\0';
    }
    if (json_object_get_type(&ddb, "ApproximateCreationDateTime", JSON_NUMBER, &v)) {
        r->has_ts = etl_stream_parse_time(v.raw, &r->ts_ms);
    }
}

/* The record's table, from its eventSourceARN; UNKNOWN_TABLE when that names none. */
static void record_table(const struct json_val *record, char *table, size_t cap)
{
    struct json_val v;
    char arn[512];
    snprintf(table, cap, "%s", UNKNOWN_TABLE);
    if (record->type == JSON_OBJECT &&
        json_object_get_type(record, "eventSourceARN", JSON_STRING, &v) &&
        json_string_copy(&v, arn, sizeof(arn))) {
        (void)etl_stream_table_from_arn(arn, table, cap);
    }
}

static enum err_code
chunk_add(struct batch *b, uint32_t group, size_t begin, size_t end, struct err *err)
{
    struct chunk *chunks = mem_grow(b->chunks, &b->cap_chunks, b->n_chunks, sizeof(*chunks), 16);
    if (chunks == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory planning objects");
    }
    b->chunks = chunks;
    b->chunks[b->n_chunks++] = (struct chunk){group, begin, end, b->groups[group].recs[begin]};
    return ERR_OK;
}

static int chunk_order(const void *a, const void *b)
{
    const struct chunk *x = a, *y = b;
    return (x->first_rec > y->first_rec) - (x->first_rec < y->first_rec);
}

/* Cuts every group into objects within the record and byte limits, in batch order. */
static enum err_code plan_chunks(struct etl_stream *s, struct batch *b, struct err *err)
{
    for (uint32_t g = 0; g < b->n_groups; g++) {
        struct group *grp = &b->groups[g];
        size_t begin = 0, bytes = 0;
        for (size_t i = 0; i < grp->n; i++) {
            size_t len = grp->kind == G_QUARANTINE ? b->recs[grp->recs[i]].raw.raw.len
                                                   : b->recs[grp->recs[i]].row_len;
            bool full = (int64_t)(i - begin) >= s->cfg->max_object_records ||
                        (i > begin && (int64_t)(bytes + len) > s->cfg->max_object_bytes);
            if (full) {
                enum err_code rc = chunk_add(b, g, begin, i, err);
                if (rc != ERR_OK) {
                    return rc;
                }
                begin = i;
                bytes = 0;
            }
            bytes += len;
        }
        if (grp->n > begin) {
            enum err_code rc = chunk_add(b, g, begin, grp->n, err);
            if (rc != ERR_OK) {
                return rc;
            }
        }
    }
    qsort(b->chunks, b->n_chunks, sizeof(*b->chunks), chunk_order);
    return ERR_OK;
}

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

static enum err_code render_quarantine(struct etl_stream *s,
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
        buf_reset(&s->text);
        jsonw_init(&jw, &s->text, err);
        jsonw_object(&jw, JSONW_COMPACT);
        jsonw_key(&jw, "error");
        jsonw_str(&jw, r->error);
        jsonw_key(&jw, "record");
        jsonw_raw(&jw, r->raw.raw);
        jsonw_end(&jw);
        jsonw_text(&jw, "\n");
        rc = jsonw_finish(&jw);
        if (rc == ERR_OK) {
            rc = etl_writer_raw(w, s->text.data, s->text.len, err);
        }
    }
    return rc;
}

/* The schema of a chunk's rows, for formats that must know it before the first row. */
static enum err_code chunk_schema(struct etl_stream *s,
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

static enum err_code
render_chunk(struct etl_stream *s, const struct batch *b, const struct chunk *c, struct err *err)
{
    const struct group *grp = &b->groups[c->group];
    struct etl_encoding enc = group_encoding(s, grp);
    struct etl_writer w;
    struct etl_schema schema;
    etl_schema_init(&schema);
    buf_reset(&s->object);
    enum err_code rc = ERR_OK;
    if (enc.format->needs_schema && grp->kind == G_DATA) {
        rc = chunk_schema(s, b, c, &schema, err);
    }
    if (rc == ERR_OK) {
        rc = etl_writer_open(&w, &s->object, &enc, &schema, err);
    }
    if (rc != ERR_OK) {
        goto out;
    }
    if (grp->kind == G_QUARANTINE) {
        rc = render_quarantine(s, &w, b, grp, c, err);
    } else {
        for (size_t i = c->begin; rc == ERR_OK && i < c->end; i++) {
            struct etl_row_ref row = {&s->store, b->recs[grp->recs[i]].row_offset,
                                      b->recs[grp->recs[i]].raw.raw};
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
static enum err_code chunk_stem(struct etl_stream *s,
                                const struct batch *b,
                                const struct chunk *c,
                                char *stem,
                                size_t cap,
                                char *ext,
                                size_t ext_cap,
                                struct err *err)
{
    const struct group *grp = &b->groups[c->group];
    const char *first = b->recs[grp->recs[c->begin]].seq;
    const char *last = b->recs[grp->recs[c->end - 1]].seq;
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

static enum err_code write_chunks(struct etl_stream *s,
                                  struct batch *b,
                                  int64_t deadline_mono_ms,
                                  struct etl_stream_stats *st,
                                  struct err *err)
{
    for (size_t ci = 0; ci < b->n_chunks; ci++) {
        const struct chunk *c = &b->chunks[ci];
        const struct group *grp = &b->groups[c->group];
        if (sys_ms_left(s->sys, deadline_mono_ms) < s->cfg->deadline_margin_ms) {
            log_warn(
                "deadline near: %zu of %zu objects left unwritten; their records are reported for retry",
                b->n_chunks - ci, b->n_chunks);
            break;
        }
        char stem[LIMIT_KEY_BYTES], key[LIMIT_KEY_BYTES + 64], ext[32];
        struct err werr = ERR_INIT;
        enum etl_put_outcome outcome = ETL_PUT_WRITTEN;
        key[0] = '\0';
        enum err_code rc = chunk_stem(s, b, c, stem, sizeof(stem), ext, sizeof(ext), &werr);
        if (rc == ERR_OK) {
            rc = render_chunk(s, b, c, &werr);
        }
        if (rc == ERR_OK) {
            /* Quarantine objects are JSON Lines whatever the configured format. */
            struct etl_encoding enc = group_encoding(s, grp);
            const char *type = etl_writer_content_type(&enc);
            rc = etl_sink_put_new(s->sink, stem, ext, buf_cur(&s->object), type, key, sizeof(key),
                                  &outcome, &werr);
        }
        if (rc == ERR_NOMEM) {
            *err = werr;
            return rc;
        }
        char where[LIMIT_LOCATION_BYTES + 64];
        etl_sink_location(s->sink, key, where, sizeof(where));
        if (rc != ERR_OK) {
            log_write(LOG_ERROR,
                      (struct log_field[]){LOG_STR("object", where),
                                           LOG_INT("records", c->end - c->begin)},
                      2, "object not written: %s", werr.msg);
            continue;
        }
        if (outcome == ETL_PUT_RENAMED) {
            log_warn("%s.%s already held other data (a reused sequence range); wrote %s instead",
                     stem, ext, where);
        }
        log_write(LOG_DEBUG,
                  (struct log_field[]){LOG_STR("object", where),
                                       LOG_INT("records", c->end - c->begin),
                                       LOG_INT("bytes", (int64_t)s->object.len)},
                  3, outcome == ETL_PUT_IDENTICAL ? "object already present" : "object written");
        if (outcome != ETL_PUT_IDENTICAL) {
            st->objects_written++;
            st->bytes_written += s->object.len;
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
    return ERR_OK;
}

/* One dataset's table: the columns of its rows in this batch, and the partitions written. */
static enum err_code
catalog_dataset(struct etl_stream *s, const struct batch *b, const char *name, struct err *err)
{
    struct etl_schema schema;
    struct etl_ddl_table t;
    struct etl_ddl_declared_list decl = {NULL, 0, 0, false};
    const char **paths = calloc(b->n_groups + 1, sizeof(*paths));
    size_t n_paths = 0;
    char root[LIMIT_LOCATION_BYTES];
    etl_schema_init(&schema);
    memset(&t, 0, sizeof(t));
    etl_sink_root(s->sink, root, sizeof(root));
    struct etl_ddl_ctx ctx = {s->cfg->enc.format, s->cfg->partition, name, root, "", ""};
    for (size_t d = 0; s->spec != NULL && d < s->spec->n_datasets; d++) {
        if (strcmp(s->spec->datasets[d].name, name) == 0) {
            etl_spec_declared(&s->spec->datasets[d], etl_ddl_declared_add, &decl);
            ctx.declared = decl.v;
            ctx.n_declared = decl.n;
            ctx.meta_omit = etl_spec_meta_omit(&s->spec->datasets[d]);
        }
    }
    enum err_code rc = paths == NULL || decl.failed
                           ? err_set(err, ERR_NOMEM, "out of memory for the catalog of %s", name)
                           : ERR_OK;
    for (size_t g = 0; rc == ERR_OK && g < b->n_groups; g++) {
        const struct group *grp = &b->groups[g];
        if (grp->kind != G_DATA || strcmp(grp->name, name) != 0) {
            continue;
        }
        bool all_durable = true;
        for (size_t i = 0; rc == ERR_OK && i < grp->n; i++) {
            const struct rec *r = &b->recs[grp->recs[i]];
            struct etl_row_ref row = {&s->store, r->row_offset, {NULL, 0}};
            rc = etl_schema_observe(&schema, &row, err);
            all_durable = all_durable && r->durable;
        }
        if (all_durable) {
            paths[n_paths++] = grp->partition; /* registered once its objects exist */
        }
    }
    if (rc == ERR_OK) {
        rc = etl_ddl_changes_table(&ctx, &schema, &t, err);
    }
    if (rc == ERR_OK) {
        rc = etl_catalog_sync_table(s->catalog, &t, false, err);
    }
    if (rc == ERR_OK && n_paths > 0) {
        rc = etl_catalog_add_partitions(s->catalog, &t, paths, n_paths, err);
    }
    etl_ddl_table_cleanup(&t);
    etl_schema_cleanup(&schema);
    etl_ddl_declared_list_cleanup(&decl);
    free(paths);
    return rc;
}

/* The catalog after the batch's objects: each dataset's table, once. A failure is reported
 * for the whole batch (see etl_stream_set_catalog). */
static enum err_code
catalog_batch(struct etl_stream *s, struct batch *b, struct etl_stream_stats *st, struct err *err)
{
    enum err_code rc = ERR_OK;
    struct err cerr = ERR_INIT;
    for (size_t g = 0; rc == ERR_OK && g < b->n_groups; g++) {
        const struct group *grp = &b->groups[g];
        bool first = grp->kind == G_DATA;
        for (size_t k = 0; first && k < g; k++) {
            first = b->groups[k].kind != G_DATA || strcmp(b->groups[k].name, grp->name) != 0;
        }
        if (first) {
            rc = catalog_dataset(s, b, grp->name, &cerr);
        }
    }
    if (rc == ERR_NOMEM) {
        *err = cerr;
        return rc;
    }
    if (rc != ERR_OK) {
        log_write(LOG_ERROR, NULL, 0,
                  "catalog not updated, the batch is reported for retry (its objects are written "
                  "and will be rewritten identically): %s",
                  cerr.msg);
        st->catalog_failed = true;
        for (size_t i = 0; i < b->n_recs; i++) {
            b->recs[i].durable = false;
        }
    }
    return ERR_OK;
}

void etl_stream_partition(const struct etl_stream *s,
                          const struct batch *b,
                          const struct rec *r,
                          char *out,
                          size_t cap)
{
    (void)etl_partition_render(s->cfg->partition, r->has_ts ? r->ts_ms : b->fallback_ms, out, cap);
}

static enum err_code
respond(const struct batch *b, struct buf *response, struct etl_stream_stats *st, struct err *err)
{
    size_t first_bad = SIZE_MAX;
    for (size_t i = 0; i < b->n_recs; i++) {
        if (!b->recs[i].durable) {
            st->records_failed++;
            if (first_bad == SIZE_MAX) {
                first_bad = i;
            }
        } else if (b->recs[i].quarantined) {
            st->records_failed++;
        }
    }
    if (first_bad == SIZE_MAX) {
        return buf_append_str(response, "{\"batchItemFailures\":[]}", err);
    }
    const struct rec *r = &b->recs[first_bad];
    if (r->seq[0] == '\0') {
        (void)err_set(
            err, ERR_TRANSPORT,
            "Records[%zu] has no SequenceNumber and could not be written: failing the whole batch so Lambda retries it",
            first_bad);
        err_set_type(err, "BatchWriteFailed");
        return ERR_TRANSPORT;
    }
    snprintf(st->failed_seq, sizeof(st->failed_seq), "%s", r->seq);
    struct jsonw w;
    jsonw_init(&w, response, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "batchItemFailures");
    jsonw_array(&w, JSONW_COMPACT);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "itemIdentifier");
    jsonw_str(&w, r->seq);
    jsonw_end(&w);
    jsonw_end(&w);
    jsonw_end(&w);
    return jsonw_finish(&w);
}

enum err_code etl_stream_process(struct etl_stream *s,
                                 const struct json_val *records,
                                 size_t n_records,
                                 int64_t deadline_mono_ms,
                                 struct buf *response,
                                 struct etl_stream_stats *st,
                                 struct err *err)
{
    struct batch b;
    memset(&b, 0, sizeof(b));
    memset(st, 0, sizeof(*st));
    st->oldest_ts_ms = -1;
    buf_reset(&s->store);
    enum err_code rc = ERR_OK;
    st->records_in = n_records;
    if (n_records > 0) {
        b.recs = calloc(n_records, sizeof(*b.recs));
        if (b.recs == NULL) {
            return err_set(err, ERR_NOMEM, "out of memory for %zu records", n_records);
        }
    }
    /* Records without a time are filed under the batch's first known time; failing that, under
     * the epoch (1970-01-01T00:00Z): a pure function of the batch either way, so a retry an hour
     * later writes the same keys. DynamoDB always sends the time; sample events may not. */
    int64_t fallback_ms = -1;
    buf_reset(&s->staged);
    struct json_iter it;
    struct json_val record;
    json_iter_init(&it, records);
    while (json_array_next(&it, &record) && b.n_recs < n_records) {
        struct rec *r = &b.recs[b.n_recs++];
        read_envelope(&record, r);
        if (r->has_ts && fallback_ms < 0) {
            fallback_ms = r->ts_ms;
        }
        if (r->has_ts && (st->oldest_ts_ms < 0 || r->ts_ms < st->oldest_ts_ms)) {
            st->oldest_ts_ms = r->ts_ms;
        }
    }
    b.fallback_ms = fallback_ms < 0 ? 0 : fallback_ms;
    /* Pass 1: rows and groups (with a transform: routed, mapped and filtered rows, staged). */
    json_iter_init(&it, records);
    for (size_t i = 0; i < b.n_recs && rc == ERR_OK; i++) {
        (void)json_array_next(&it, &record);
        struct rec *r = &b.recs[i];
        char table[LIMIT_TABLE_NAME_BYTES];
        record_table(&record, table, sizeof(table));
        if (strcmp(table, UNKNOWN_TABLE) == 0) {
            log_warn("Records[%zu]: eventSourceARN names no table; filing it under %s", i,
                     UNKNOWN_TABLE);
        }
        char partition[ETL_PARTITION_MAX];
        etl_stream_partition(s, &b, r, partition, sizeof(partition));
        struct err cerr = ERR_INIT;
        struct buf *store = s->tx != NULL ? &s->src : &s->store;
        if (s->tx != NULL) {
            buf_reset(&s->src);
        }
        enum err_code crc = build_row(store, &record, r, table, &cerr);
        if (crc == ERR_OK && s->tx != NULL) {
            crc = etl_stream_tx_record(s, &b, (uint32_t)i, table, st, &cerr);
        }
        if (crc == ERR_NOMEM || crc == ERR_TOO_LARGE) {
            *err = cerr;
            rc = crc;
            break;
        }
        if (crc != ERR_OK) {
            r->quarantined = true;
            r->error = strdup(cerr.msg);
            if (r->error == NULL) {
                rc = err_set(err, ERR_NOMEM, "out of memory");
                break;
            }
            st->quarantined++;
            log_write(LOG_WARN,
                      (struct log_field[]){LOG_STR("sequenceNumber", r->seq),
                                           LOG_INT("index", (int64_t)i)},
                      2, "record quarantined: %s", cerr.msg);
            rc = etl_stream_file(&b, (uint32_t)i, table, partition, G_QUARANTINE, err);
        } else if (s->tx == NULL) {
            rc = etl_stream_file(&b, (uint32_t)i, table, partition, G_DATA, err);
        }
    }
    /* With a transform: dedupe, then each staged row is checked and emitted into its group. */
    if (rc == ERR_OK && s->tx != NULL) {
        rc = etl_stream_tx_finish(s, &b, st, err);
    }
    /* Pass 2: objects (none when a rule with action fail did not pass: the batch is retried,
     * then goes to the dead-letter queue). */
    if (rc == ERR_OK) {
        rc = plan_chunks(s, &b, err);
    }
    if (rc == ERR_OK && !st->dq_fail) {
        rc = write_chunks(s, &b, deadline_mono_ms, st, err);
    }
    if (rc == ERR_OK && !st->dq_fail && etl_catalog_enabled(s->catalog)) {
        rc = catalog_batch(s, &b, st, err);
    }
    if (rc == ERR_OK && st->dq_fail) {
        st->records_filtered = 0; /* every record is reported failed, once: filtered ones too */
        for (size_t i = 0; i < b.n_recs; i++) {
            b.recs[i].durable = false;
        }
    }
    if (rc == ERR_OK) {
        rc = respond(&b, response, st, err);
    }
    batch_free(&b);
    /* Keep buffers warm for the next batch, but never more than a few MiB idle. */
    if (s->store.cap > LIMIT_KEEP_WARM_BYTES) {
        buf_cleanup(&s->store);
    }
    if (s->object.cap > LIMIT_KEEP_WARM_BYTES) {
        buf_cleanup(&s->object);
    }
    if (s->staged.cap > LIMIT_KEEP_WARM_BYTES) {
        buf_cleanup(&s->staged);
    }
    return rc;
}
