/*
 * etl_event.h - recognises what invoked us: a DynamoDB Streams batch, an EventBridge scheduled
 * event, an export request, or something unsupported (described in the error).
 * One walk: a stream batch's records are checked as JSON while they are read and converted.
 * etl_event_parse reads the event up to its Records array; etl_event_walk_records then hands
 * each record to the caller's reader, whose walk checks it (json.h's checking iterators), and
 * checks the rest of the event. Other events are small: they are validated whole first.
 * Ownership: struct etl_event borrows the event text and the index; both must outlive it. It
 *   holds iterators into itself: parse into the struct that is used, do not copy it.
 * Errors: invalid JSON is ERR_INVALID_INPUT with errorType "InvalidEvent"; anything else is
 *   ERR_INVALID_INPUT with errorType "UnsupportedEvent" and a message saying what was seen. For
 *   a stream batch both may come from etl_event_walk_records, as they came from validating the
 *   whole event first: invalid JSON anywhere wins over an unsupported record.
 */
#ifndef ETL_EVENT_H
#define ETL_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "etl_stream.h"
#include "json.h"

/* Envelope nesting (6) plus DynamoDB's 32 levels of M/L, two JSON levels each, with margin. */
#define ETL_EVENT_MAX_DEPTH 128

enum etl_event_kind { ETL_EVENT_STREAM, ETL_EVENT_SCHEDULED, ETL_EVENT_EXPORT };

struct etl_event {
    enum etl_event_kind kind;
    struct json_val root;   /* other than STREAM: the validated event */
    struct json_val time;   /* SCHEDULED: the "time" string (may be absent: type JSON_NULL) */
    struct json_val export; /* EXPORT: the "export" object */
    /* STREAM: the walk so far, standing at the Records array (see etl_event_walk_records). */
    struct json_check chk;
    struct json_iter root_it; /* the event */
    struct json_iter members; /* its members, at the Records array */
};

/* Reads body up to a stream batch's Records array, or validates it whole and recognises any
 * other event. */
MUST_CHECK enum err_code etl_event_parse(struct cur body, struct etl_event *ev, struct err *err);

/*
 * Walks a STREAM event's records in order, each read by `read` (etl_stream.h; NULL: only
 * checked), and the rest of the event. Once a record is from another source than DynamoDB, the
 * records after it are only checked; once read fails, they are not handed to it any more (the
 * walk still looks at their eventSource). The result, first that applies: InvalidEvent (the
 * JSON), UnsupportedEvent (the first record not from DynamoDB), read's first error,
 * UnsupportedEvent (an empty Records array outside a tumbling window), or ERR_OK with
 * *n_records: the order of the checks when the event was validated whole first. Can be walked
 * again (the event is not changed).
 */
MUST_CHECK enum err_code etl_event_walk_records(const struct etl_event *ev,
                                                etl_record_read_fn read,
                                                void *ctx,
                                                size_t *n_records,
                                                struct err *err);
/* The same as an etl_records_walk_fn (etl_stream_process), event being a struct etl_event. */
MUST_CHECK enum err_code etl_event_records_walk(const void *event,
                                                etl_record_read_fn read,
                                                void *ctx,
                                                size_t *n_records,
                                                struct err *err);

#endif
