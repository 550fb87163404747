/*
 * etl_event.c - event classification by structure, never by substring: an AWS Config event
 * that mentions "ScheduledNotification" inside a string is still unsupported.
 */
#include "etl_event.h"

#include <stdio.h>
#include <string.h>

static enum err_code unsupported(struct err *err, const char *seen)
{
    (void)err_set(
        err, ERR_INVALID_INPUT,
        "unsupported event: expected a DynamoDB Streams batch (Records[].eventSource \"aws:dynamodb\"), an EventBridge Scheduled Event (source \"aws.events\") or an {\"export\":{...}} request; got %s",
        seen);
    err_set_type(err, "UnsupportedEvent");
    return ERR_INVALID_INPUT;
}

/* "source \"aws.ec2\", detail-type \"...\"" or "an object with keys a, b, c". */
static void describe_object(const struct json_val *root, char *out, size_t cap)
{
    struct json_val source, dtype;
    char s1[64] = "", s2[80] = "";
    bool has_source = json_object_get_type(root, "source", JSON_STRING, &source);
    bool has_dtype = json_object_get_type(root, "detail-type", JSON_STRING, &dtype);
    if (has_source || has_dtype) {
        if (has_source) {
            (void)json_string_copy(&source, s1, sizeof(s1));
        }
        if (has_dtype) {
            (void)json_string_copy(&dtype, s2, sizeof(s2));
        }
        (void)snprintf(out, cap, "source \"%s\", detail-type \"%s\"", s1, s2);
        return;
    }
    size_t used = (size_t)snprintf(out, cap, "an object with keys ");
    struct json_iter it;
    struct json_val k, v;
    json_iter_init(&it, root);
    int n = 0;
    while (json_object_next(&it, &k, &v) && used < cap) {
        char key[40];
        if (!json_string_copy(&k, key, sizeof(key))) {
            (void)snprintf(key, sizeof(key), "(long key)");
        }
        if (n == 6) {
            (void)snprintf(out + used, cap - used, ", ...");
            return;
        }
        int w = snprintf(out + used, cap - used, "%s%s", n > 0 ? ", " : "", key);
        if (w < 0) {
            return;
        }
        used += (size_t)w;
        n++;
    }
    if (n == 0) {
        (void)snprintf(out, cap, "an empty object");
    }
}

static enum err_code invalid_json(struct err *err, const struct err *found)
{
    *err = *found;
    (void)err_prefix(err, "event is not valid JSON");
    err_set_type(err, "InvalidEvent");
    return ERR_INVALID_INPUT;
}

/* The checks a record of a stream batch passes, in the order they were always made. */
static bool record_supported(const struct etl_record_seen *rec, size_t i, struct err *err)
{
    char seen[96];
    if (!rec->is_object || !rec->has_source || rec->source.type != JSON_STRING) {
        (void)snprintf(seen, sizeof(seen), "Records[%zu] without an eventSource", i);
        (void)unsupported(err, seen);
        return false;
    }
    if (!json_string_eq(&rec->source, "aws:dynamodb")) {
        char name[48];
        if (!json_string_copy(&rec->source, name, sizeof(name))) {
            (void)snprintf(name, sizeof(name), "(long)");
        }
        (void)snprintf(seen, sizeof(seen), "Records[%zu].eventSource \"%s\"", i, name);
        (void)unsupported(err, seen);
        return false;
    }
    return true;
}

/* The reader of etl_event_walk_records without one: checks the record, notes its eventSource. */
static enum err_code check_record(struct json_iter *at, struct etl_record_seen *rec)
{
    struct json_iter m;
    struct json_val k, v;
    if (!json_iter_enter(at, JSON_OBJECT, &m)) {
        (void)json_array_next(at, &v);
        return ERR_OK;
    }
    rec->is_object = true;
    while (json_object_next_key(&m, &k) && json_array_next(&m, &v)) {
        if (!rec->has_source && json_string_eq(&k, "eventSource")) {
            rec->has_source = true;
            rec->source = v;
        }
    }
    json_iter_leave(at, &m);
    return ERR_OK;
}

/* Reads the event up to its first member named Records; true if that is an array. */
static bool find_records(struct cur body, struct etl_event *ev)
{
    struct json_val k, v;
    enum json_type t;
    json_check_begin(&ev->chk, body, ETL_EVENT_MAX_DEPTH, &ev->root_it);
    if (!json_iter_peek(&ev->root_it, &t) || t != JSON_OBJECT) {
        return false;
    }
    ev->root = (struct json_val){JSON_OBJECT, cur_make(ev->root_it.p, 0)};
    (void)json_iter_enter(&ev->root_it, JSON_OBJECT, &ev->members);
    while (json_object_next_key(&ev->members, &k)) {
        if (json_string_eq(&k, "Records")) {
            return json_iter_peek(&ev->members, &t) && t == JSON_ARRAY;
        }
        if (!json_array_next(&ev->members, &v)) {
            return false;
        }
    }
    return false;
}

/* What a reader has seen before it reads a record. */
static const struct etl_record_seen NOTHING_SEEN = {false, false, {JSON_NULL, {NULL, 0}}};

enum err_code etl_event_walk_records(const struct etl_event *ev,
                                     etl_record_read_fn read,
                                     void *ctx,
                                     size_t *n_records,
                                     struct err *err)
{
    *n_records = 0;
    if (ev->kind != ETL_EVENT_STREAM) {
        return err_set(err, ERR_INVALID_INPUT, "not a stream batch");
    }
    struct json_check chk = ev->chk;
    struct json_iter root = ev->root_it, members = ev->members, recs;
    struct err first_unsupported = ERR_INIT;
    struct json_val k, v;
    enum err_code read_rc = ERR_OK;
    bool supported = true;
    size_t i = 0;
    enum json_type t;
    root.chk = members.chk = &chk;
    (void)json_iter_enter(&members, JSON_ARRAY, &recs);
    for (; json_iter_peek(&recs, &t); i++) {
        if (!supported) {
            (void)json_array_next(&recs, &v);
            continue;
        }
        struct json_iter before = recs;
        struct etl_record_seen rec = NOTHING_SEEN;
        enum err_code rc = read != NULL && read_rc == ERR_OK ? read(ctx, &recs, i, &rec, err)
                                                             : check_record(&recs, &rec);
        if (rc != ERR_OK) {
            /* The record is checked again, and looked at as the walk's own reader would. */
            read_rc = rc;
            recs = before;
            rec = NOTHING_SEEN;
            (void)check_record(&recs, &rec);
        }
        if (!chk.failed) {
            supported = record_supported(&rec, i, &first_unsupported);
        }
    }
    json_iter_leave(&members, &recs);
    while (json_object_next_key(&members, &k) && json_array_next(&members, &v)) {
    }
    json_iter_leave(&root, &members);
    if (!json_check_end(&chk, &root)) {
        return invalid_json(err, &chk.err);
    }
    if (!supported) {
        *err = first_unsupported;
        return ERR_INVALID_INPUT;
    }
    if (read_rc != ERR_OK) {
        return read_rc;
    }
    *n_records = i;
    if (i == 0) {
        /* Lambda sends an empty batch only for a tumbling window's final invocation. */
        const uint8_t *start = ev->root.raw.ptr;
        struct json_val whole = {JSON_OBJECT, cur_make(start, (size_t)(root.p - start))};
        if (!json_object_get(&whole, "shardId", &v) && !json_object_get(&whole, "window", &v)) {
            return unsupported(err, "an empty Records array");
        }
    }
    return ERR_OK;
}

enum err_code etl_event_parse(struct cur body, struct etl_event *ev, struct err *err)
{
    memset(ev, 0, sizeof(*ev));
    ev->time.type = JSON_NULL;
    if (find_records(body, ev)) {
        ev->kind = ETL_EVENT_STREAM;
        return ERR_OK;
    }
    struct err found = ERR_INIT;
    if (json_validate(body, ETL_EVENT_MAX_DEPTH, &ev->root, &found) != ERR_OK) {
        return invalid_json(err, &found);
    }
    if (ev->root.type != JSON_OBJECT) {
        char seen[48];
        (void)snprintf(seen, sizeof(seen), "a JSON %s", json_type_name(ev->root.type));
        return unsupported(err, seen);
    }
    struct json_val records;
    if (json_object_get(&ev->root, "Records", &records)) {
        /* An array was found by find_records: a stream batch. */
        return unsupported(err, "a Records member that is not an array");
    }
    if (json_object_get(&ev->root, "export", &ev->export)) {
        if (ev->export.type != JSON_OBJECT) {
            return unsupported(err, "an export member that is not an object");
        }
        ev->kind = ETL_EVENT_EXPORT;
        return ERR_OK;
    }
    struct json_val source, dtype;
    if (json_object_get_type(&ev->root, "source", JSON_STRING, &source) &&
        json_object_get_type(&ev->root, "detail-type", JSON_STRING, &dtype) &&
        json_string_eq(&source, "aws.events") && json_string_eq(&dtype, "Scheduled Event")) {
        if (!json_object_get_type(&ev->root, "time", JSON_STRING, &ev->time)) {
            ev->time.type = JSON_NULL;
        }
        ev->kind = ETL_EVENT_SCHEDULED;
        return ERR_OK;
    }
    char seen[400];
    describe_object(&ev->root, seen, sizeof(seen));
    return unsupported(err, seen);
}

enum err_code etl_event_records_walk(const void *event,
                                     etl_record_read_fn read,
                                     void *ctx,
                                     size_t *n_records,
                                     struct err *err)
{
    return etl_event_walk_records(event, read, ctx, n_records, err);
}
