/*
 * etl_stream_batch.h - the stream pipeline's view of one batch, shared by its files
 * (etl_stream.c: rows, chunks and the answer; etl_stream_write.c: writing the chunks;
 * etl_stream_tx.c: the transform step). Not for other modules.
 * Ownership: a batch owns its records' errors, its groups and chunks, and the dedupe keys' arena.
 */
#ifndef ETL_STREAM_BATCH_H
#define ETL_STREAM_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "etl_arena.h"
#include "etl_names.h"
#include "etl_partition.h"
#include "etl_stream.h"
#include "json.h"
#include "limit.h"

#define ETL_STREAM_SEQ_MAX 64

/* One record of the batch (a large batch has 10,000: fields are ordered to pack, 64 bytes). */
struct rec {
    const char *seq; /* its sequence number's seq_len digits, not NUL-terminated (rec_seq): in the
                      * event, or in the batch's arena when the event escaped them */
    int64_t ts_ms;
    size_t row_offset; /* in the stream's store (emitted rows) */
    char *error;       /* conversion error (quarantined records), owned */
    uint32_t raw_at;   /* the record's JSON text, in the event (rec_raw) */
    uint32_t raw_len;
    uint32_t keys_at; /* its dynamodb.Keys (JSON); keys_len 0: none (rec_keys) */
    uint32_t keys_len;
    uint32_t row_len; /* about its record's size: events are at most 6 MB */
    uint32_t group;
    uint32_t table; /* the table its eventSourceARN names: an index into the batch's tables */
    bool has_ts;
    bool durable; /* written, or nothing to write (filtered) */
    bool quarantined;
    uint8_t seq_len; /* 0: it has none */
};

/* What a transform adds to a record (struct batch's tx, only with a transform). */
struct rec_tx {
    size_t staged_offset;
    struct cur dedupe_key; /* in the batch's arena; len 0: no dedupe */
    struct cur fails;      /* failed casts (JSON array) in the batch's arena; len 0: none */
    int dataset;
    bool staged; /* a kept row waits in the staged store */
};

enum group_kind { G_DATA = 0, G_QUARANTINE, G_REJECTED };

struct group {
    char name[LIMIT_TABLE_NAME_BYTES]; /* the table, or the dataset */
    char partition[ETL_PARTITION_MAX];
    enum group_kind kind;
    uint32_t *recs;
    size_t n;
    size_t cap;
};

struct chunk {
    uint32_t group;
    size_t begin; /* index into the group's recs */
    size_t end;
    uint32_t first_rec;
};

struct batch {
    struct rec *recs;
    const uint8_t *text; /* where the records' spans are counted from: the first record */
    struct rec_tx *tx;   /* parallel to recs, with a transform only */
    size_t n_recs;
    int64_t fallback_ms; /* the time of records that have none */
    struct group *groups;
    size_t n_groups;
    size_t cap_groups;
    struct chunk *chunks;
    size_t n_chunks;
    size_t cap_chunks;
    const char **tables; /* the batch's tables, each once, in the arena */
    size_t n_tables;
    size_t cap_tables;
    struct etl_arena keys; /* sequence numbers, dedupe keys, failed casts and table names */
    struct etl_names seen; /* dedupe: keys already kept (borrowing the arena) */
};

/* A record's sequence number as a C string in out ("" when it has none). */
static inline const char *rec_seq(const struct rec *r, char out[ETL_STREAM_SEQ_MAX])
{
    memcpy(out, r->seq, r->seq_len);
    out[r->seq_len] = '\0';
    return out;
}

/* A record's text and its Keys' (len 0: none), in the event. */
static inline struct cur rec_raw(const struct batch *b, const struct rec *r)
{
    return cur_make(b->text + r->raw_at, r->raw_len);
}

static inline struct cur rec_keys(const struct batch *b, const struct rec *r)
{
    return r->keys_len > 0 ? cur_make(b->text + r->keys_at, r->keys_len) : cur_make(NULL, 0);
}

/* The group of (name, partition, kind), made when new. */
MUST_CHECK enum err_code etl_stream_group(struct batch *b,
                                          const char *name,
                                          const char *partition,
                                          enum group_kind kind,
                                          uint32_t *out,
                                          struct err *err);
/* Files record `rec` under that group. */
MUST_CHECK enum err_code etl_stream_file(struct batch *b,
                                         uint32_t rec,
                                         const char *name,
                                         const char *partition,
                                         enum group_kind kind,
                                         struct err *err);
/* The partition of a record's time (or the batch's fallback time). */
void etl_stream_partition(const struct etl_stream *s,
                          const struct batch *b,
                          const struct rec *r,
                          char *out,
                          size_t cap);

/*
 * Pass 2 (etl_stream_write.c): renders and writes every chunk, on up to upload_concurrency
 * threads, and marks the records of each chunk written durable. A chunk not started because
 * the deadline was near, or whose write failed, leaves its records not durable. Returns an
 * error only when the batch cannot go on (out of memory).
 */
MUST_CHECK enum err_code etl_stream_write_chunks(struct etl_stream *s,
                                                 struct batch *b,
                                                 int64_t deadline_mono_ms,
                                                 struct etl_stream_stats *st,
                                                 struct err *err);
/* Frees the writers' buffers and clients (etl_stream_cleanup). */
void etl_stream_workers_free(struct etl_stream *s);

/* The transform step of one record whose source row is at r->row_offset in s->src: routes, maps
 * and filters it; a kept or cast-rejected row is staged (with its failures). A data
 * error in an expression is returned (the caller quarantines the record). */
MUST_CHECK enum err_code etl_stream_tx_record(struct etl_stream *s,
                                              struct batch *b,
                                              uint32_t rec,
                                              const char *table,
                                              struct etl_stream_stats *st,
                                              struct err *err);
/* After every record: dedupes the staged rows, checks them and emits each into its group. */
MUST_CHECK enum err_code etl_stream_tx_finish(struct etl_stream *s,
                                              struct batch *b,
                                              struct etl_stream_stats *st,
                                              struct err *err);

#endif
