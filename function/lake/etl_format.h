/*
 * etl_format.h - the output formats, one table entry each (etl_formats.def): name, extension,
 * content type, whether the whole object must be known before its first byte (CSV's header),
 * the DDL's SerDe, and the encoder (begin / row / end) that turns rows into the format's bytes.
 * Compression is not the format's business (etl_codec.h), unless the format compresses inside
 * its own structure.
 * Adding a format: a new file etl_fmt_<name>.c in this folder defining
 *   const struct etl_format etl_fmt_<name>, and one line ETL_FORMAT(<name>) in etl_formats.def.
 * Ownership: an encoder's state lives in the caller's storage (ETL_ENCODER_STATE_BYTES, aligned)
 *   and owns what the encoder allocates (cleanup frees it). Rows are borrowed; a whole-object
 *   format keeps references to them until end, so their store must not change until then.
 */
#ifndef ETL_FORMAT_H
#define ETL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_row.h"
#include "etl_schema.h"

#define ETL_ENCODER_STATE_BYTES 256

/* Where an encoder writes: text for the codec. Call etl_encode_out_flush after each row, so long
 * objects are compressed as they grow instead of held whole. */
struct etl_encode_out {
    struct buf *text;
    MUST_CHECK enum err_code (*flush)(struct etl_encode_out *o, struct err *err);
};

MUST_CHECK static inline enum err_code etl_encode_out_flush(struct etl_encode_out *o,
                                                            struct err *err)
{
    return o->flush(o, err);
}

/* How Athena and Glue read the format (NULL in the table: no DDL). */
struct etl_serde {
    const char *library;           /* SerializationLibrary */
    const char *input_format;      /* InputFormat */
    const char *output_format;     /* OutputFormat */
    const char *const *properties; /* fixed SERDEPROPERTIES: name, value, ..., NULL */
    bool name_mapping;             /* renamed columns map back with mapping.<column> (OpenX) */
    bool text_times; /* timestamp and binary columns are declared string: the SerDe reads text */
    const char *classification; /* the Glue table parameter, e.g. "json" */
};

/* Options of the formats that take any (the Parquet writer's, from ETL_PARQUET_*). A zeroed
 * struct means the defaults. */
/* A column whose type is declared (a transform's mapping or cast), not inferred. */
struct etl_ddl_declared {
    const char *name;        /* the column (attribute) name */
    const char *athena_type; /* "decimal(12,2)", "timestamp", "array<string>" */
};

struct etl_format_options {
    int parquet_codec;               /* enum pq_codec; 0 = none (the config's default is SNAPPY) */
    int64_t parquet_row_group_bytes; /* buffered values per row group; 0: the default */
    /* The dataset's declared column types (borrowed for begin only: a format keeps a copy of
     * what it uses); NULL: none. */
    const struct etl_ddl_declared *declared;
    size_t n_declared;
};

struct etl_format {
    const char *name;          /* the ETL_FORMAT value */
    const char *extension;     /* without the codec's suffix: "jsonl" */
    const char *content_type;  /* uncompressed */
    const char *manifest_name; /* what manifest.json calls it */
    bool stream_format;        /* selectable as ETL_FORMAT (rows of changes and snapshots) */
    bool whole_object;         /* every row is given before end writes anything (CSV's header) */
    bool needs_source;         /* encodes the DynamoDB JSON item (etl_row_ref.source) */
    bool needs_schema;         /* begin must be given the object's schema */
    bool own_codec; /* compresses inside its structure (Parquet pages): no codec around it */
    const struct etl_serde *serde;
    const char *ddl_note; /* with serde NULL: why there is no DDL ("%s" stands for the table) */
    /* A typed format's column type in the DDL, for a column holding values of the types in
     * `types` (bit 1 << enum etl_type each): the type its files declare. NULL: text formats,
     * whose SerDe converts, get the schema's inference (etl_schema_athena_type). */
    void (*athena_type)(uint32_t types, const char *declared, char *out, size_t cap);
    MUST_CHECK enum err_code (*begin)(void *state,
                                      const struct etl_schema *schema,
                                      const struct etl_format_options *opts,
                                      struct err *err);
    MUST_CHECK enum err_code (*row)(void *state,
                                    const struct etl_row_ref *row,
                                    struct etl_encode_out *out,
                                    struct err *err);
    MUST_CHECK enum err_code (*end)(void *state, struct etl_encode_out *out, struct err *err);
    void (*cleanup)(void *state); /* accepts a state whose begin failed (after it zeroed it) */
};

/* The format named name, or NULL. */
const struct etl_format *etl_format_find(const char *name);
/* Fills names with the formats selectable as ETL_FORMAT, in table order; returns how many
 * (at most cap). */
size_t etl_format_stream_names(const char **names, size_t cap);

/* The formats other code names directly. */
extern const struct etl_format etl_fmt_jsonl;      /* quarantine objects */
extern const struct etl_format etl_fmt_ddb_export; /* DynamoDB's export layout */
extern const struct etl_format etl_fmt_parquet;    /* the DDL's types depend on it */

/* The OpenX JSON SerDe, as the JSON formats use it. */
extern const struct etl_serde etl_serde_openx_json;

#endif
