/*
 * etl_spec.h - the transform spec (ETL_TRANSFORM), parsed and validated once at init into a plan
 * the transform runs. The skeleton is fixed so specs keep working from one version to the next:
 *   {"version": 1,
 *    "pii_key": {"env": "NAME"} | {"secret_arn": "arn:aws:secretsmanager:..."} |
 *               {"secret_arn_env": "NAME"},
 *    "datasets": [{"name": "users", "when": "<expression>",
 *                  "mappings": [[source, source_type, target, target_type(, on_error)], ...],
 *                  "keep_unmapped": false, "on_cast_error": "null",
 *                  "flatten": {"depth": 2, "separator": "_"}, "rename": {"from": "to"},
 *                  "select": [...], "drop": [...], "constants": {"name": value},
 *                  "derive": [{"name": "...", "expr": "...", "type": "...", "on_error": "..."}],
 *                  "filter": "<expression>", "dedupe": true | {"key": [...]},
 *                  "pii": [{"column": "...", "method": "hmac_sha256|redact|truncate", ...}],
 *                  "rules": "Rules = [ ... ]", "rule_actions": {"Rule_1": "fail"}}, ...]}
 * Every member is checked: an unknown one, a wrong type or a bad value is ERR_CONFIG naming the
 * JSON path and what was expected, e.g. `ETL_TRANSFORM: datasets[0].mappings[2][3]: unknown type
 * "int64" (expected one of ...)`; an expression that does not parse names its column.
 * Ownership: a spec owns everything in it (etl_spec_free); the text it was parsed from is not
 *   kept.
 */
#ifndef ETL_SPEC_H
#define ETL_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "etl_colpath.h"
#include "etl_dq.h"
#include "etl_expr.h"
#include "etl_typespec.h"

#define ETL_SPEC_VERSION 1

/* What a value that does not cast becomes. */
enum etl_cast_policy {
    ETL_CAST_NULL = 0, /* null (the default) */
    ETL_CAST_KEEP,     /* its text, as a string */
    ETL_CAST_REJECT,   /* the row goes to rejected/ */
};

/* A column name as rows hold it: the name and its JSON string literal. */
struct etl_spec_name {
    char *text;
    char *json;
};

struct etl_spec_mapping {
    struct etl_colpath source;
    char *source_text;
    struct etl_typespec *source_type; /* documents the source; values are cast from what they are */
    struct etl_spec_name target;
    struct etl_typespec *type;
    enum etl_cast_policy on_error;
};

struct etl_spec_rename {
    char *from;
    struct etl_spec_name to;
};

struct etl_spec_constant {
    struct etl_spec_name name;
    char *value_json; /* the literal as the spec gave it (numbers keep their digits) */
};

struct etl_spec_derive {
    struct etl_spec_name name;
    struct etl_expr *expr;
    struct etl_typespec *type; /* NULL: the expression's own kind */
    enum etl_cast_policy on_error;
};

enum etl_pii_method { ETL_PII_HMAC_SHA256, ETL_PII_REDACT, ETL_PII_TRUNCATE };

struct etl_spec_pii {
    char *column;
    enum etl_pii_method method;
    char *replacement; /* redact: what replaces the value (default "REDACTED") */
    int keep;          /* truncate: characters kept (default 4) */
    bool keep_start;   /* truncate: keep the first characters (default: the last) */
};

enum etl_rule_action { ETL_RULE_DEFAULT = 0, ETL_RULE_WARN, ETL_RULE_QUARANTINE, ETL_RULE_FAIL };

struct etl_spec_rule_action {
    char *rule; /* "Rule_1" */
    enum etl_rule_action action;
};

struct etl_spec_dataset {
    char *name; /* replaces the table's name in keys, DDL and catalog */
    struct etl_expr *when;
    struct etl_spec_mapping *mappings;
    size_t n_mappings;
    bool has_mappings;
    bool keep_unmapped;
    int flatten_depth; /* 0: no flattening */
    char *flatten_sep;
    struct etl_spec_rename *renames;
    size_t n_renames;
    char **select;
    size_t n_select;
    bool has_select;
    char **drop;
    size_t n_drop;
    struct etl_spec_constant *constants;
    size_t n_constants;
    struct etl_spec_derive *derive;
    size_t n_derive;
    struct etl_expr *filter;
    bool dedupe;
    char **dedupe_keys; /* empty: the record's DynamoDB key */
    size_t n_dedupe_keys;
    struct etl_spec_pii *pii;
    size_t n_pii;
    char *rules; /* DQDL text; NULL: none */
    struct etl_spec_rule_action *rule_actions;
    size_t n_rule_actions;
    struct etl_dq_rules *dq; /* the rules, compiled (for the thread that parsed the spec) */
};

enum etl_pii_key_source {
    ETL_PII_KEY_NONE = 0,
    ETL_PII_KEY_ENV,       /* the key is in an environment variable */
    ETL_PII_KEY_SECRET,    /* the key is a Secrets Manager secret */
    ETL_PII_KEY_SECRET_ENV /* the secret's ARN is in an environment variable */
};

struct etl_spec {
    int version;
    enum etl_pii_key_source key_source;
    char *key_ref; /* the variable's name, or the secret's ARN */
    struct etl_spec_dataset *datasets;
    size_t n_datasets;
};

/* Parses and validates a spec document (JSON). Errors are ERR_CONFIG with the JSON path. */
MUST_CHECK enum err_code etl_spec_parse(struct cur json, struct etl_spec **out, struct err *err);
/* Accepts NULL. */
void etl_spec_free(struct etl_spec *spec);

/* True if any dataset hashes a column (and so needs the PII key). */
bool etl_spec_needs_key(const struct etl_spec *spec);

/* The metadata columns a dataset's rows lack (dropped or renamed): bit 1 << ETL_META_*. */
unsigned etl_spec_meta_omit(const struct etl_spec_dataset *d);

/* The columns whose type the dataset declares (mapping targets, typed derives), for DDL and
 * catalogs: calls fn with each name and its Athena type. */
void etl_spec_declared(const struct etl_spec_dataset *d,
                       void (*fn)(void *ctx, const char *name, const char *athena_type),
                       void *ctx);

#endif
