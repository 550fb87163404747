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

static enum err_code classify_records(struct etl_event *ev, struct err *err)
{
    struct json_iter it;
    struct json_val rec;
    size_t i = 0;
    json_iter_init(&it, &ev->records);
    while (json_array_next(&it, &rec)) {
        struct json_val src;
        if (rec.type != JSON_OBJECT ||
            !json_object_get_type(&rec, "eventSource", JSON_STRING, &src)) {
            char seen[96];
            (void)snprintf(seen, sizeof(seen), "Records[%zu] without an eventSource", i);
            return unsupported(err, seen);
        }
        if (!json_string_eq(&src, "aws:dynamodb")) {
            char name[48], seen[96];
            if (!json_string_copy(&src, name, sizeof(name))) {
                (void)snprintf(name, sizeof(name), "(long)");
            }
            (void)snprintf(seen, sizeof(seen), "Records[%zu].eventSource \"%s\"", i, name);
            return unsupported(err, seen);
        }
        i++;
    }
    ev->n_records = i;
    if (i == 0) {
        /* Lambda sends an empty batch only for a tumbling window's final invocation. */
        struct json_val v;
        if (!json_object_get(&ev->root, "shardId", &v) &&
            !json_object_get(&ev->root, "window", &v)) {
            return unsupported(err, "an empty Records array");
        }
    }
    ev->kind = ETL_EVENT_STREAM;
    return ERR_OK;
}

enum err_code
etl_event_parse(struct cur body, struct json_index *index, struct etl_event *ev, struct err *err)
{
    memset(ev, 0, sizeof(*ev));
    ev->time.type = JSON_NULL;
    enum err_code rc = json_validate_indexed(body, ETL_EVENT_MAX_DEPTH, index, &ev->root, err);
    if (rc != ERR_OK) {
        (void)err_prefix(err, "event is not valid JSON");
        err_set_type(err, "InvalidEvent");
        return rc;
    }
    if (ev->root.type != JSON_OBJECT) {
        char seen[48];
        (void)snprintf(seen, sizeof(seen), "a JSON %s", json_type_name(ev->root.type));
        return unsupported(err, seen);
    }
    if (json_object_get(&ev->root, "Records", &ev->records)) {
        if (ev->records.type != JSON_ARRAY) {
            return unsupported(err, "a Records member that is not an array");
        }
        return classify_records(ev, err);
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
