/*
 * fuzz_event.c - the event classifier (function/etl_event.c). Whatever arrives is either one of
 * the three kinds, with the spans the handler reads inside the event and of the right JSON type,
 * or an error whose errorType is InvalidEvent or UnsupportedEvent and whose message says what was
 * seen.
 */
#include <string.h>

#include "etl_event.h"
#include "fuzz_util.h"

static bool within(struct cur inner, struct cur outer)
{
    return inner.ptr >= outer.ptr && inner.ptr + inner.len <= outer.ptr + outer.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cur body = cur_make(data, size);
    struct etl_event ev;
    struct err err = ERR_INIT;
    /* A small index: fuzzed events also run past its bound, where look-ups scan again. */
    struct json_index index;
    json_index_init(&index, 16 * sizeof(struct json_index_entry));
    enum err_code rc = etl_event_parse(body, &index, &ev, &err);
    json_index_cleanup(&index); /* the checks below then walk by scanning, as a reference */
    if (rc != ERR_OK) {
        fuzz_check_failure(rc, &err);
        FUZZ_CHECK(strcmp(err.type, "InvalidEvent") == 0 ||
                   strcmp(err.type, "UnsupportedEvent") == 0);
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
        return 0;
    }
    FUZZ_CHECK(ev.root.type == JSON_OBJECT && within(ev.root.raw, body));
    switch (ev.kind) {
    case ETL_EVENT_STREAM: {
        FUZZ_CHECK(ev.records.type == JSON_ARRAY && within(ev.records.raw, ev.root.raw));
        FUZZ_CHECK(json_count(&ev.records) == ev.n_records);
        struct json_iter it;
        struct json_val rec, src;
        json_iter_init(&it, &ev.records);
        while (json_array_next(&it, &rec)) {
            FUZZ_CHECK(rec.type == JSON_OBJECT);
            FUZZ_CHECK(json_object_get_type(&rec, "eventSource", JSON_STRING, &src));
            FUZZ_CHECK(json_string_eq(&src, "aws:dynamodb"));
        }
        break;
    }
    case ETL_EVENT_SCHEDULED:
        FUZZ_CHECK(ev.time.type == JSON_NULL ||
                   (ev.time.type == JSON_STRING && within(ev.time.raw, ev.root.raw)));
        break;
    case ETL_EVENT_EXPORT:
        FUZZ_CHECK(ev.export.type == JSON_OBJECT && within(ev.export.raw, ev.root.raw));
        break;
    default:
        FUZZ_CHECK(!"unknown event kind");
    }
    return 0;
}
