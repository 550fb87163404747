/*
 * etl_event.h - recognises what invoked us: a DynamoDB Streams batch, an EventBridge scheduled
 * event, an export request, or something unsupported (described in the error).
 * Ownership: struct etl_event borrows the event text and the index; both must outlive it.
 * Errors: invalid JSON is ERR_INVALID_INPUT with errorType "InvalidEvent"; anything else is
 *   ERR_INVALID_INPUT with errorType "UnsupportedEvent" and a message saying what was seen.
 */
#ifndef ETL_EVENT_H
#define ETL_EVENT_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "json.h"

/* Envelope nesting (6) plus DynamoDB's 32 levels of M/L, two JSON levels each, with margin. */
#define ETL_EVENT_MAX_DEPTH 128

enum etl_event_kind { ETL_EVENT_STREAM, ETL_EVENT_SCHEDULED, ETL_EVENT_EXPORT };

struct etl_event {
    enum etl_event_kind kind;
    struct json_val root;
    struct json_val records; /* STREAM: the Records array */
    size_t n_records;
    struct json_val time;   /* SCHEDULED: the "time" string (may be absent: type JSON_NULL) */
    struct json_val export; /* EXPORT: the "export" object */
};

/* Validates body once, filling index (may be NULL: every later look-up then scans) so that the
 * look-ups into the event, now and while processing it, step over values without scanning. */
MUST_CHECK enum err_code
etl_event_parse(struct cur body, struct json_index *index, struct etl_event *ev, struct err *err);

#endif
