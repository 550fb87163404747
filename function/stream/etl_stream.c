/*
 * etl_stream.c - DynamoDB Streams batches to change objects.
 *
 * Pass 1 converts each record into a row in one store (batch order) and files it under its
 * (table, partition) group; a record that cannot be converted goes to a quarantine group.
 * Pass 2 cuts groups into objects (ETL_MAX_OBJECT_RECORDS / _BYTES); etl_stream_write.c renders
 * and writes them, concurrently, marking their records durable. The answer names the earliest
 * record that is not durable: Lambda then retries from there, and nothing before it is ever
 * reported as written.
 */
#include "etl_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddb.h"
#include "etl_ddbjson.h"
#include "etl_partition.h"
#include "etl_record.h"
#include "etl_stream_batch.h"
#include "etl_time.h"
#include "etl_writer.h"
#include "json.h"
#include "jsonw.h"
#include "limit.h"
#include "log.h"

#define UNKNOWN_TABLE "unknown-table"

void etl_stream_init(struct etl_stream *s,
                     const struct etl_stream_config *cfg,
                     struct etl_sink *sink,
                     const struct sys *sys)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->sink = sink;
    s->sys = sys;
    aws_clients_init(&s->clients, sink->aws, NULL, NULL, (size_t)cfg->upload_concurrency);
}

void etl_stream_set_clients(struct etl_stream *s, aws_transport_fn new_transport, void *ctx)
{
    aws_clients_cleanup(&s->clients);
    aws_clients_init(&s->clients, s->sink->aws, new_transport, ctx,
                     (size_t)s->cfg->upload_concurrency);
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
    buf_cleanup(&s->text);
    etl_stream_workers_free(s);
    buf_cleanup(&s->src);
    buf_cleanup(&s->staged);
    buf_cleanup(&s->doc);
    buf_cleanup(&s->doc2);
    etl_codec_cache_cleanup(&s->codecs);
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
    free(b->tx);
    free(b->tables);
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

/* DynamoDB's TTL deletes carry userIdentity {type: Service, principalId: dynamodb.amazonaws.com}.
 */
static bool is_ttl_delete(const struct json_val *ui)
{
    struct json_val type, principal;
    return ui->type == JSON_OBJECT && json_object_get_type(ui, "type", JSON_STRING, &type) &&
           json_object_get_type(ui, "principalId", JSON_STRING, &principal) &&
           json_string_eq(&type, "Service") && json_string_eq(&principal, "dynamodb.amazonaws.com");
}

/* The members read from a record, and from its dynamodb object. */
enum { F_EVENT_NAME, F_EVENT_ID, F_ARN, F_USER, F_DYNAMODB, F_SOURCE, F_COUNT };
static const char *const record_members[F_COUNT] = {
    [F_EVENT_NAME] = "eventName", [F_EVENT_ID] = "eventID",  [F_ARN] = "eventSourceARN",
    [F_USER] = "userIdentity",    [F_DYNAMODB] = "dynamodb", [F_SOURCE] = "eventSource",
};
enum { D_KEYS, D_NEW, D_OLD, D_SEQ, D_TIME, D_COUNT };
static const char *const dynamodb_members[D_COUNT] = {
    [D_KEYS] = "Keys",
    [D_NEW] = "NewImage",
    [D_OLD] = "OldImage",
    [D_SEQ] = "SequenceNumber",
    [D_TIME] = "ApproximateCreationDateTime",
};

/* The first member of each name counts, as json_object_get would find it: JSON_NULL when none. */
#define MEMBERS_MAX 8
_Static_assert((int)F_COUNT <= MEMBERS_MAX && (int)D_COUNT <= MEMBERS_MAX, "members fit");
struct members {
    struct json_val v[MEMBERS_MAX];
    bool have[MEMBERS_MAX];
};

static void members_init(struct members *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        m->v[i] = (struct json_val){.type = JSON_NULL};
        m->have[i] = false;
    }
}

/* Which of names the member named k is, when it is the first of that name (-1: another name, or
 * a later one), compared unescaped as json_object_get does. */
static int
first_member(const struct members *m, const struct json_val *k, const char *const *names, size_t n)
{
    bool plain = json_string_is_plain(k);
    struct cur name = json_string_inner(k);
    for (size_t i = 0; i < n; i++) {
        if (plain ? cur_eq_str(name, names[i]) : json_string_eq(k, names[i])) {
            return m->have[i] ? -1 : (int)i;
        }
    }
    return -1;
}

static void members_set(struct members *m, int i, struct json_val v)
{
    m->v[i] = v;
    m->have[i] = true;
}

/* What makes a record unusable, in the order build_row checks it; its message is written only
 * when the record is quarantined. */
enum rec_flaw {
    REC_OK = 0,
    REC_NOT_OBJECT,
    REC_NO_DYNAMODB,
    REC_NO_SEQ,
    REC_NO_EVENT_NAME,
    REC_BAD_EVENT_NAME,
    REC_NO_IMAGE,
};

/* The row the walk began: the image's columns, converted as the walk reached the image. */
struct rec_row {
    bool open; /* rb holds the item's columns; build_row finishes or drops the row */
    struct etl_row_builder rb;
    size_t row_offset;
    const uint8_t *image; /* the image converted, and the Keys it was converted with (NULL: none) */
    const uint8_t *keys;
};

/* What the one walk over a record found for build_row, beside what struct rec keeps. */
struct rec_read {
    enum rec_flaw flaw;
    char seq[ETL_STREAM_SEQ_MAX]; /* "" when none (or not a usable one) */
    struct cur seq_literal;       /* the SequenceNumber string's text between its quotes */
    char op;                      /* 'I', 'M' or 'R' */
    bool ttl_delete;              /* a REMOVE by DynamoDB's TTL */
    struct json_val image;        /* the image to write (Keys when the view has none) */
    struct json_val keys;         /* type JSON_NULL: none */
    struct cur event_id;          /* the eventID's JSON string literal; len 0: none */
    struct cur arn;               /* eventSourceARN's JSON string literal; len 0: none */
    struct cur raw;               /* the record's text */
    struct rec_row row;
};

/* Keeps where a record's sequence number is: its digits in the event (no copy, and no fixed
 * array in each of up to 10,000 records), or a copy in the batch's arena when the event wrote
 * them with escapes. */
static enum err_code
keep_seq(struct batch *b, struct rec *r, const struct rec_read *rd, struct err *err)
{
    size_t n = strlen(rd->seq);
    r->seq = "";
    r->seq_len = 0;
    if (n == 0) {
        return ERR_OK;
    }
    _Static_assert(ETL_STREAM_SEQ_MAX <= UINT8_MAX + 1, "seq_len holds a sequence number");
    struct cur digits = rd->seq_literal;
    if (!cur_eq(digits, cur_make(rd->seq, n))) {
        enum err_code rc = etl_arena_copy(&b->keys, rd->seq, n, &digits, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    r->seq = (const char *)digits.ptr;
    r->seq_len = (uint8_t)n;
    return ERR_OK;
}

/* The operation an eventName names: 'I', 'M', 'R', or 0. */
static char op_of(const struct json_val *name)
{
    return name->type != JSON_STRING        ? 0
           : json_string_eq(name, "INSERT") ? 'I'
           : json_string_eq(name, "MODIFY") ? 'M'
           : json_string_eq(name, "REMOVE") ? 'R'
                                            : 0;
}

/* Converts the image `at` stands at into a row begun in store, as the walk reaches it; returns
 * the image's value (read whole again when the conversion fails: build_row then converts it
 * from its text, as without the walk, and reports what it finds). */
static struct json_val convert_image(struct json_iter *at,
                                     const struct json_val *keys,
                                     struct buf *store,
                                     struct rec_row *row)
{
    struct json_iter before = *at;
    struct json_val image = {JSON_NULL, {NULL, 0}};
    struct err ignored = ERR_INIT;
    const uint8_t *start = at->p;
    enum err_code rc = etl_record_begin(&row->rb, store, &row->row_offset, &ignored);
    if (rc == ERR_OK) {
        rc = etl_ddbjson_item_columns_at(&row->rb, at, keys, etl_meta_names, &ignored);
        if (rc != ERR_OK) {
            etl_row_abandon(&row->rb);
        }
    }
    if (rc != ERR_OK) {
        *at = before;
        (void)json_array_next(at, &image);
        return image;
    }
    row->open = true;
    row->image = start;
    row->keys = keys != NULL ? keys->raw.ptr : NULL;
    return (struct json_val){JSON_OBJECT, cur_make(start, (size_t)(at->p - start))};
}

/* The dynamodb object `at` stands at. The image this change writes is converted as the walk
 * reaches it when the record's eventName came first (as DynamoDB sends it); otherwise build_row
 * converts it afterwards. */
static void walk_dynamodb(struct json_iter *at,
                          char op,
                          struct members *d,
                          struct buf *store,
                          struct rec_row *row)
{
    struct json_iter it;
    struct json_val k, v;
    enum json_type t;
    int image = op == 0 ? -1 : (op == 'R' ? D_OLD : D_NEW);
    (void)json_iter_enter(at, JSON_OBJECT, &it);
    while (json_object_next_key(&it, &k)) {
        int i = first_member(d, &k, dynamodb_members, D_COUNT);
        if (i >= 0 && i == image && json_iter_peek(&it, &t) && t == JSON_OBJECT) {
            bool keyed = d->have[D_KEYS] && d->v[D_KEYS].type == JSON_OBJECT;
            members_set(d, i, convert_image(&it, keyed ? &d->v[D_KEYS] : NULL, store, row));
        } else if (json_array_next(&it, &v) && i >= 0) {
            members_set(d, i, v);
        }
    }
    json_iter_leave(at, &it);
}

/*
 * Reads a record in one walk (the event's, which checks it): into r its time; into rd its span,
 * Keys, sequence number, the table's ARN, eventID, operation and image, or the flaw that
 * makes the record unusable (checked in the order build_row reports them); the image is
 * converted on the way when it can be (walk_dynamodb); into er what the event's checks need.
 */
static void read_record(struct json_iter *at,
                        struct rec *r,
                        struct rec_read *rd,
                        struct buf *store,
                        struct etl_record_seen *er)
{
    struct members f, d;
    struct json_iter it;
    struct json_val k, v;
    enum json_type t;
    memset(rd, 0, sizeof(*rd));
    rd->keys.type = JSON_NULL;
    members_init(&f, F_COUNT);
    members_init(&d, D_COUNT);
    (void)json_iter_peek(at, &t);
    const uint8_t *start = at->p;
    if (!json_iter_enter(at, JSON_OBJECT, &it)) {
        (void)json_array_next(at, &v);
        rd->raw = v.raw;
        rd->flaw = REC_NOT_OBJECT;
        return;
    }
    er->is_object = true;
    while (json_object_next_key(&it, &k)) {
        int i = first_member(&f, &k, record_members, F_COUNT);
        if (i == F_DYNAMODB && json_iter_peek(&it, &t) && t == JSON_OBJECT) {
            walk_dynamodb(&it, op_of(&f.v[F_EVENT_NAME]), &d, store, &rd->row);
            members_set(&f, i, (struct json_val){.type = JSON_OBJECT});
        } else if (json_array_next(&it, &v) && i >= 0) {
            members_set(&f, i, v);
        }
    }
    json_iter_leave(at, &it);
    rd->raw = cur_make(start, at->p > start ? (size_t)(at->p - start) : 0);
    er->has_source = f.have[F_SOURCE];
    er->source = f.v[F_SOURCE];
    if (f.v[F_ARN].type == JSON_STRING) {
        rd->arn = f.v[F_ARN].raw;
    }
    if (f.v[F_EVENT_ID].type == JSON_STRING) {
        rd->event_id = f.v[F_EVENT_ID].raw;
    }
    if (f.v[F_DYNAMODB].type != JSON_OBJECT) {
        rd->flaw = REC_NO_DYNAMODB;
        return;
    }
    if (d.v[D_SEQ].type == JSON_STRING && json_string_copy(&d.v[D_SEQ], rd->seq, sizeof(rd->seq)) &&
        !seq_ok(rd->seq)) {
        rd->seq[0] = '\0';
    }
    rd->seq_literal = json_string_inner(&d.v[D_SEQ]);
    if (d.v[D_TIME].type == JSON_NUMBER) {
        r->has_ts = etl_stream_parse_time(d.v[D_TIME].raw, &r->ts_ms);
    }
    if (rd->seq[0] == '\0') {
        rd->flaw = REC_NO_SEQ;
        return;
    }
    const struct json_val *name = &f.v[F_EVENT_NAME];
    if (name->type != JSON_STRING) {
        rd->flaw = REC_NO_EVENT_NAME;
        return;
    }
    rd->op = op_of(name);
    if (rd->op == 0) {
        rd->flaw = REC_BAD_EVENT_NAME;
        return;
    }
    bool has_keys = d.v[D_KEYS].type == JSON_OBJECT;
    const struct json_val *image = &d.v[rd->op == 'R' ? D_OLD : D_NEW];
    if (image->type != JSON_OBJECT) {
        /* KEYS_ONLY, or NEW_IMAGE/OLD_IMAGE without the image this change would use. */
        if (!has_keys) {
            rd->flaw = REC_NO_IMAGE;
            return;
        }
        image = &d.v[D_KEYS];
    }
    if (has_keys) {
        rd->keys = d.v[D_KEYS];
    }
    rd->image = *image;
    rd->ttl_delete =
        rd->op == 'R' && f.v[F_USER].type == JSON_OBJECT && is_ttl_delete(&f.v[F_USER]);
}

/* Converts one record (read by read_record) into a row at the end of store, or says what makes
 * it unusable; a row read_record began is finished here, or dropped. */
static enum err_code
build_row(struct buf *store, struct rec *r, struct rec_read *rd, const char *table, struct err *err)
{
    struct rec_row *row = &rd->row;
    /* The row begun in the walk holds this image, converted with these Keys (the image read_record
     * chose, and Keys that came before it or none). */
    bool begun = row->open && rd->flaw == REC_OK && row->image == rd->image.raw.ptr &&
                 row->keys == (rd->keys.type == JSON_OBJECT ? rd->keys.raw.ptr : NULL);
    if (row->open && !begun) {
        etl_row_abandon(&row->rb);
    }
    row->open = false;
    switch (rd->flaw) {
    case REC_OK:
        break;
    case REC_NOT_OBJECT:
        return err_set(err, ERR_INVALID_INPUT, "record is not an object");
    case REC_NO_DYNAMODB:
        return err_set(err, ERR_INVALID_INPUT, "record has no dynamodb object");
    case REC_NO_SEQ:
        return err_set(err, ERR_INVALID_INPUT, "record has no valid dynamodb.SequenceNumber");
    case REC_NO_EVENT_NAME:
        return err_set(err, ERR_INVALID_INPUT, "record has no eventName");
    case REC_BAD_EVENT_NAME:
        return err_set(err, ERR_INVALID_INPUT, "eventName is not INSERT, MODIFY or REMOVE");
    case REC_NO_IMAGE:
        return err_set(err, ERR_INVALID_INPUT, "record has neither %s nor Keys",
                       rd->op == 'R' ? "OldImage" : "NewImage");
    }
    bool removal = rd->op == 'R';
    char iso[ETL_ISO8601_MAX];
    if (r->has_ts) {
        etl_time_format_iso8601(r->ts_ms, iso);
    }
    struct etl_record_meta meta = {
        .op = rd->op == 'I'   ? "INSERT"
              : rd->op == 'M' ? "MODIFY"
                              : "REMOVE",
        .seq = rd->seq,
        .ts = r->has_ts ? iso : NULL,
        .table = table,
        .event_id = rd->event_id,
        .has_ttl_delete = removal,
        .ttl_delete = rd->ttl_delete,
    };
    enum err_code rc;
    if (begun) {
        r->row_offset = row->row_offset;
        rc = etl_record_finish(&row->rb, &meta, err);
    } else {
        rc = etl_record_build(store, &rd->image, rd->keys.type == JSON_OBJECT ? &rd->keys : NULL,
                              &meta, &r->row_offset, err);
    }
    if (rc == ERR_OK) {
        r->row_len = (uint32_t)(store->len - r->row_offset);
    }
    return rc;
}

/* The table a record's eventSourceARN (a JSON string literal; len 0: none) names; UNKNOWN_TABLE
 * when it names none. */
static void record_table(struct cur arn_literal, char *table, size_t cap)
{
    struct json_val v = {.type = JSON_STRING, .raw = arn_literal};
    char arn[512];
    snprintf(table, cap, "%s", UNKNOWN_TABLE);
    if (arn_literal.len > 0 && json_string_copy(&v, arn, sizeof(arn))) {
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
            size_t len = grp->kind == G_QUARANTINE ? b->recs[grp->recs[i]].raw_len
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
    char seq[ETL_STREAM_SEQ_MAX];
    if (r->seq_len == 0) {
        (void)err_set(
            err, ERR_TRANSPORT,
            "Records[%zu] has no SequenceNumber and could not be written: failing the whole batch so Lambda retries it",
            first_bad);
        err_set_type(err, "BatchWriteFailed");
        return ERR_TRANSPORT;
    }
    snprintf(st->failed_seq, sizeof(st->failed_seq), "%s", rec_seq(r, seq));
    struct jsonw w;
    jsonw_init(&w, response, err);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "batchItemFailures");
    jsonw_array(&w, JSONW_COMPACT);
    jsonw_object(&w, JSONW_COMPACT);
    jsonw_key(&w, "itemIdentifier");
    jsonw_str(&w, seq);
    jsonw_end(&w);
    jsonw_end(&w);
    jsonw_end(&w);
    return jsonw_finish(&w);
}

/* Pass 1's state while the event's walk hands it the records, one at a time. */
struct pass1 {
    struct etl_stream *s;
    struct batch *b;
    struct etl_stream_stats *st;
    size_t cap; /* records b->recs (and b->tx) have room for */
    bool have_table;
    uint32_t table;       /* the last ARN's table (b->tables) */
    struct cur table_arn; /* that ARN's literal */
};

/* A stream batch's most records: Lambda's largest BatchSize for DynamoDB Streams. */
#define STREAM_BATCH_MAX_RECORDS 10000

/* Room for n records. The count is known only once the walk ends: room for a batch as large as
 * Lambda sends is reserved at once (its pages stay untouched until records are written there:
 * each record is zeroed as it is used), and doubled past that (local events). Growing from a
 * small array instead cost some 70 kB more at the peak of a 1,000- or 5,600-record batch. */
static enum err_code grow_recs(struct pass1 *p, size_t n, struct err *err)
{
    struct batch *b = p->b;
    if (n <= p->cap) {
        return ERR_OK;
    }
    size_t cap = p->cap < STREAM_BATCH_MAX_RECORDS ? STREAM_BATCH_MAX_RECORDS : p->cap * 2;
    struct rec *recs = realloc(b->recs, cap * sizeof(*recs));
    if (recs != NULL) {
        b->recs = recs;
    }
    struct rec_tx *tx = NULL;
    if (recs != NULL && p->s->tx != NULL) {
        tx = realloc(b->tx, cap * sizeof(*tx));
        if (tx != NULL) {
            b->tx = tx;
        }
    }
    if (recs == NULL || (p->s->tx != NULL && tx == NULL)) {
        return err_set(err, ERR_NOMEM, "out of memory for %zu records", n);
    }
    p->cap = cap;
    return ERR_OK;
}

/* The table a record's ARN names (an index into b->tables, where each name is once). A batch's
 * records come from a table or two, in runs of one ARN: the last ARN's table is kept. */
static enum err_code table_of(struct pass1 *p, struct cur arn, uint32_t *table, struct err *err)
{
    struct batch *b = p->b;
    if (!p->have_table || !cur_eq(arn, p->table_arn)) {
        char name[LIMIT_TABLE_NAME_BYTES];
        record_table(arn, name, sizeof(name));
        size_t t = 0;
        while (t < b->n_tables && strcmp(b->tables[t], name) != 0) {
            t++;
        }
        if (t == b->n_tables) {
            struct cur copy;
            if (b->n_tables == b->cap_tables) {
                size_t cap = b->cap_tables < 4 ? 4 : b->cap_tables * 2;
                const char **grown = realloc(b->tables, cap * sizeof(*grown));
                if (grown == NULL) {
                    return err_set(err, ERR_NOMEM, "out of memory for the batch's tables");
                }
                b->tables = grown;
                b->cap_tables = cap;
            }
            enum err_code rc = etl_arena_copy(&b->keys, name, strlen(name) + 1, &copy, err);
            if (rc != ERR_OK) {
                return rc;
            }
            b->tables[b->n_tables++] = (const char *)copy.ptr;
        }
        p->have_table = true;
        p->table = (uint32_t)t;
        p->table_arn = arn;
    }
    *table = p->table;
    return ERR_OK;
}

/* Keeps span as an offset into the batch's text (from its first record on) and a length. */
static enum err_code
keep_span(struct batch *b, struct cur span, uint32_t *at, uint32_t *len, struct err *err)
{
    if (span.len == 0) {
        *at = *len = 0;
        return ERR_OK;
    }
    if (b->text == NULL) {
        b->text = span.ptr;
    }
    if (span.ptr < b->text || (size_t)(span.ptr - b->text) > UINT32_MAX - span.len) {
        return err_set(err, ERR_TOO_LARGE, "a batch's records span more than 4 GiB of event");
    }
    *at = (uint32_t)(span.ptr - b->text);
    *len = (uint32_t)span.len;
    return ERR_OK;
}

/* The reader etl_event_walk_records hands each record to: read in one walk (read_record), then
 * its row (with a transform: routed, mapped and filtered, staged). A record that cannot be used
 * is marked quarantined; only a lack of memory or room is an error. */
static enum err_code
pass1_record(void *ctx, struct json_iter *at, size_t i, struct etl_record_seen *er, struct err *err)
{
    struct pass1 *p = ctx;
    struct etl_stream *s = p->s;
    struct batch *b = p->b;
    struct rec_read rd;
    enum err_code rc = grow_recs(p, i + 1, err);
    if (rc != ERR_OK) {
        return rc;
    }
    struct rec *r = &b->recs[i];
    struct buf *store = s->tx != NULL ? &s->src : &s->store;
    memset(r, 0, sizeof(*r));
    if (b->tx != NULL) {
        memset(&b->tx[i], 0, sizeof(b->tx[i]));
    }
    b->n_recs = i + 1;
    if (s->tx != NULL) {
        buf_reset(&s->src);
    }
    read_record(at, r, &rd, store, er);
    bool invalid = at->chk != NULL && at->chk->failed; /* the event's walk reports that */
    rc = invalid ? ERR_OK : keep_seq(b, r, &rd, err);
    if (rc == ERR_OK && !invalid) {
        rc = table_of(p, rd.arn, &r->table, err);
    }
    if (rc == ERR_OK && !invalid) {
        rc = keep_span(b, rd.raw, &r->raw_at, &r->raw_len, err);
    }
    if (rc == ERR_OK && !invalid && rd.keys.type == JSON_OBJECT) {
        rc = keep_span(b, rd.keys.raw, &r->keys_at, &r->keys_len, err);
    }
    if (rc != ERR_OK || invalid) {
        if (rd.row.open) {
            etl_row_abandon(&rd.row.rb);
        }
        return rc;
    }
    struct err cerr = ERR_INIT;
    const char *table = b->tables[r->table];
    enum err_code crc = build_row(store, r, &rd, table, &cerr);
    if (crc == ERR_OK && s->tx != NULL) {
        crc = etl_stream_tx_record(s, b, (uint32_t)i, table, p->st, &cerr);
    }
    if (crc == ERR_NOMEM || crc == ERR_TOO_LARGE) {
        *err = cerr;
        return crc;
    }
    if (crc != ERR_OK) {
        r->quarantined = true;
        r->error = strdup(cerr.msg);
        if (r->error == NULL) {
            return err_set(err, ERR_NOMEM, "out of memory");
        }
        p->st->quarantined++;
    }
    return ERR_OK;
}

/* After pass 1's walk, once the event passed its checks: each record filed under its group in
 * batch order (records without a time under the batch's first known time; failing that, the
 * epoch, 1970-01-01T00:00Z: a pure function of the batch either way, so a retry an hour later
 * writes the same keys; DynamoDB always sends the time, sample events may not), and what pass 1
 * set aside logged. */
static enum err_code
file_records(struct etl_stream *s, struct batch *b, struct etl_stream_stats *st, struct err *err)
{
    b->fallback_ms = 0;
    for (size_t i = 0; i < b->n_recs; i++) {
        if (b->recs[i].has_ts) {
            b->fallback_ms = b->recs[i].ts_ms;
            break;
        }
    }
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < b->n_recs; i++) {
        const struct rec *r = &b->recs[i];
        const char *table = b->tables[r->table];
        if (r->has_ts && (st->oldest_ts_ms < 0 || r->ts_ms < st->oldest_ts_ms)) {
            st->oldest_ts_ms = r->ts_ms;
        }
        if (strcmp(table, UNKNOWN_TABLE) == 0) {
            log_warn("Records[%zu]: eventSourceARN names no table; filing it under %s", i,
                     UNKNOWN_TABLE);
        }
        char partition[ETL_PARTITION_MAX];
        etl_stream_partition(s, b, r, partition, sizeof(partition));
        if (r->quarantined) {
            char seq[ETL_STREAM_SEQ_MAX];
            log_write(LOG_WARN,
                      (struct log_field[]){LOG_STR("sequenceNumber", rec_seq(r, seq)),
                                           LOG_INT("index", (int64_t)i)},
                      2, "record quarantined: %s", r->error);
            rc = etl_stream_file(b, (uint32_t)i, table, partition, G_QUARANTINE, err);
        } else if (s->tx == NULL) {
            rc = etl_stream_file(b, (uint32_t)i, table, partition, G_DATA, err);
        }
    }
    return rc;
}

enum err_code etl_stream_process(struct etl_stream *s,
                                 etl_records_walk_fn walk,
                                 const void *event,
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
    buf_reset(&s->staged);
    /* Pass 1: the event's walk reads each record once (checking it), and pass1_record makes its
     * row. Nothing is filed, logged or written before the whole event has passed its checks. */
    struct pass1 p = {s, &b, st, 0, false, 0, {NULL, 0}};
    size_t n_records = 0;
    enum err_code rc = walk(event, pass1_record, &p, &n_records, err);
    if (rc == ERR_INVALID_INPUT) {
        st->event_rejected = true;
        batch_free(&b);
        return rc;
    }
    st->records_in = n_records;
    if (rc == ERR_OK) {
        rc = file_records(s, &b, st, err);
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
        rc = etl_stream_write_chunks(s, &b, deadline_mono_ms, st, err);
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
    if (s->staged.cap > LIMIT_KEEP_WARM_BYTES) {
        buf_cleanup(&s->staged);
    }
    return rc;
}
