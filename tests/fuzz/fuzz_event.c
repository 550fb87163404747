/*
 * fuzz_event.c - the event classifier (function/etl_event.c) and a stream batch's one walk.
 * Whatever arrives is either one of the three kinds, with the spans the handler reads inside the
 * event and of the right JSON type, or an error whose errorType is InvalidEvent or
 * UnsupportedEvent and whose message says what was seen. The walk that checks the JSON as it
 * reads the records agrees with json_validate on every input: InvalidEvent exactly when it
 * fails, with its message; the records it hands over are the Records array's, in order.
 */
#include <string.h>

#include "etl_event.h"
#include "fuzz_util.h"

static bool within(struct cur inner, struct cur outer)
{
    return inner.ptr >= outer.ptr && inner.ptr + inner.len <= outer.ptr + outer.len;
}

/* A reader that enters each record and its dynamodb member, reading the rest whole, and notes
 * where each record started (the first 64). */
struct reader {
    const uint8_t *starts[64];
    size_t n;
};

static enum err_code read_entering(void *ctx,
                                   struct json_iter *at,
                                   size_t i,
                                   struct etl_record_seen *seen,
                                   struct err *err)
{
    struct reader *rd = ctx;
    struct json_iter m, d;
    struct json_val k, v;
    enum json_type t;
    (void)err;
    FUZZ_CHECK(i == rd->n);
    if (json_iter_peek(at, &t) && rd->n < 64) {
        rd->starts[rd->n] = at->p;
    }
    rd->n++;
    if (!json_iter_enter(at, JSON_OBJECT, &m)) {
        (void)json_array_next(at, &v);
        return ERR_OK;
    }
    seen->is_object = true;
    while (json_object_next_key(&m, &k)) {
        if (json_string_eq(&k, "dynamodb") && json_iter_enter(&m, JSON_OBJECT, &d)) {
            while (json_object_next_key(&d, &k) && json_array_next(&d, &v)) {
            }
            json_iter_leave(&m, &d);
            continue;
        }
        if (!json_array_next(&m, &v)) {
            break;
        }
        if (!seen->has_source && json_string_eq(&k, "eventSource")) {
            seen->has_source = true;
            seen->source = v;
        }
    }
    json_iter_leave(at, &m);
    return ERR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cur body = cur_make(data, size);
    struct etl_event ev;
    struct err err = ERR_INIT, verr = ERR_INIT;
    struct json_val root, records, rec, src;
    struct reader rd = {{NULL}, 0};
    size_t n = 0;
    enum err_code rc = etl_event_parse(body, &ev, &err);
    bool stream = rc == ERR_OK && ev.kind == ETL_EVENT_STREAM;
    if (stream) {
        size_t n_plain = 0;
        struct err perr = ERR_INIT;
        enum err_code prc = etl_event_walk_records(&ev, NULL, NULL, &n_plain, &perr);
        rc = etl_event_walk_records(&ev, read_entering, &rd, &n, &err);
        /* Any reader gives the same answer. */
        FUZZ_CHECK(prc == rc && n_plain == n && strcmp(perr.msg, err.msg) == 0);
    }
    bool valid = json_validate(body, ETL_EVENT_MAX_DEPTH, &root, &verr) == ERR_OK;
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
        FUZZ_CHECK(strcmp(err.type, "InvalidEvent") == 0 ||
                   strcmp(err.type, "UnsupportedEvent") == 0);
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
        FUZZ_CHECK((strcmp(err.type, "InvalidEvent") == 0) == !valid);
        if (!valid) {
            const char *tail = strstr(err.msg, verr.msg);
            FUZZ_CHECK(tail != NULL && strcmp(tail, verr.msg) == 0);
        }
        return 0;
    }
    FUZZ_CHECK(valid && root.type == JSON_OBJECT);
    switch (ev.kind) {
    case ETL_EVENT_STREAM: {
        FUZZ_CHECK(json_object_get(&root, "Records", &records) && records.type == JSON_ARRAY);
        FUZZ_CHECK(json_count(&records) == n && rd.n == n);
        struct json_iter it;
        size_t i = 0;
        json_iter_init(&it, &records);
        while (json_array_next(&it, &rec)) {
            FUZZ_CHECK(rec.type == JSON_OBJECT);
            FUZZ_CHECK(i >= 64 || rec.raw.ptr == rd.starts[i]);
            FUZZ_CHECK(json_object_get_type(&rec, "eventSource", JSON_STRING, &src));
            FUZZ_CHECK(json_string_eq(&src, "aws:dynamodb"));
            i++;
        }
        break;
    }
    case ETL_EVENT_SCHEDULED:
        FUZZ_CHECK(ev.root.type == JSON_OBJECT && within(ev.root.raw, body));
        FUZZ_CHECK(ev.time.type == JSON_NULL ||
                   (ev.time.type == JSON_STRING && within(ev.time.raw, ev.root.raw)));
        break;
    case ETL_EVENT_EXPORT:
        FUZZ_CHECK(ev.root.type == JSON_OBJECT && within(ev.root.raw, body));
        FUZZ_CHECK(ev.export.type == JSON_OBJECT && within(ev.export.raw, ev.root.raw));
        break;
    default:
        FUZZ_CHECK(!"unknown event kind");
    }
    return 0;
}
