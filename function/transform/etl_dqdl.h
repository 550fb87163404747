/*
 * etl_dqdl.h - DQDL rulesets (Glue Data Quality's rule language) parsed into a tree, so that a
 * ruleset written for Glue pastes in unchanged. The grammar is awslabs/dqdl's
 * DataQualityDefinitionLanguage.g4; what its listener (DQDLParserListener) rejects, this parser
 * rejects too:
 *   document   [Metadata = {...}] [DataSources = {...}] [name = "v" | ["a", "b"] ...]
 *              [DefaultLabels = ["k" = "v", ...]] Rules = [ rule, ... ]
 *   rule       (rule) [labels = [...]] | rule and rule | rule or rule | leaf
 *              ("and" binds tighter than "or"; both associate to the left)
 *   leaf       RuleType [of|and] param ... [condition] [where "sql"] [labels = [...]]
 *              [with threshold <number condition>] [with action = "warn|quarantine|fail"]
 *              [with timeZone = "UTC"]
 *   condition  between a and b | not between a and b | > >= < <= = != x | [not] in [x, ...] |
 *              [not] matches "regex"; operands are numbers (with + - * / of equal precedence,
 *              left to right, as the grammar's single left-recursive alternative makes them),
 *              strings, NULL, EMPTY, WHITESPACES_ONLY, dates ("2024-01-31", now(),
 *              (now() - 3 days)), times ("09:30", "9:30 AM") and durations (24 hours,
 *              3 days, 90 minutes); $name stands for a declared string or list of strings.
 * Only the rule types a stream or snapshot can evaluate are accepted (ETL_DQDL_SUPPORTED); any
 * other type, known to Glue or not, is an error that names it and lists the supported ones. Each
 * type's parameter count, condition kind, where clause and threshold are checked as Glue's
 * rules-config.json declares them. An empty Rules list is an error, as in Glue ("No rules or
 * analyzers provided"); an Analyzers section is an error (analyzers only compute statistics).
 * Tags: DQDL's generic `with <name> = "<value>"` carries the action (our name for it: "action");
 * "threshold" takes a number condition; "timeZone" is accepted for "UTC" only. Any other tag is an
 * error rather than ignored, because Glue's tags can change what a rule means.
 * Names: top-level rules are "Rule_1", "Rule_2", ... in order, as Glue names them in results.
 * Ownership: a ruleset owns its tree and a copy of the text; every string in it is
 *   NUL-terminated and lives until etl_dqdl_free.
 * Errors: ERR_INVALID_INPUT with `dqdl: line L, column C: ...` (1-based; columns count
 *   characters), saying what was expected and what was found.
 */
#ifndef ETL_DQDL_H
#define ETL_DQDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "etl_arena.h"

enum etl_dqdl_rtype {
    ETL_DQDL_COMPOSITE = 0, /* (a) and (b), (a) or (b) */
    ETL_DQDL_ROW_COUNT,
    ETL_DQDL_COLUMN_COUNT,
    ETL_DQDL_COMPLETENESS,
    ETL_DQDL_IS_COMPLETE,
    ETL_DQDL_COLUMN_DATA_TYPE,
    ETL_DQDL_COLUMN_EXISTS,
    ETL_DQDL_UNIQUENESS,
    ETL_DQDL_IS_UNIQUE,
    ETL_DQDL_IS_PRIMARY_KEY,
    ETL_DQDL_MEAN,
    ETL_DQDL_SUM,
    ETL_DQDL_STANDARD_DEVIATION,
    ETL_DQDL_DISTINCT_VALUES_COUNT,
    ETL_DQDL_COLUMN_LENGTH,
    ETL_DQDL_COLUMN_VALUES,
    ETL_DQDL_DATA_FRESHNESS,
    ETL_DQDL_SCHEMA_MATCH,
    ETL_DQDL_DETECT_ANOMALIES,
    ETL_DQDL_RTYPE_COUNT
};

/* The supported rule types. An "unsupported rule type" message lists as many as the 255
 * characters of struct err leave room for, then "and N more". */
#define ETL_DQDL_SUPPORTED                                                                         \
    "IsComplete, ColumnValues, Completeness, RowCount, IsUnique, Uniqueness, IsPrimaryKey, "       \
    "ColumnLength, ColumnExists, ColumnCount, ColumnDataType, Mean, Sum, StandardDeviation, "      \
    "DistinctValuesCount, DataFreshness, SchemaMatch, DetectAnomalies"

/* The DQDL name of a rule type ("Composite" for ETL_DQDL_COMPOSITE). */
const char *etl_dqdl_rtype_name(enum etl_dqdl_rtype t);

/* ---- operands ---- */

/* A number as a condition writes it: a literal, arithmetic, or a function call (dynamic rules,
 * such as avg(last(10)), which etl_dq refuses). */
enum etl_dqdl_nkind { ETL_DQDL_N_ATOM, ETL_DQDL_N_BINARY, ETL_DQDL_N_CALL };

struct etl_dqdl_num {
    enum etl_dqdl_nkind kind;
    const char *atom;                 /* ATOM: "-12.5" as written (sign joined, no spaces) */
    char op;                          /* BINARY: + - * / */
    const struct etl_dqdl_num *lhs;   /* BINARY */
    const struct etl_dqdl_num *rhs;   /* BINARY */
    const char *fn;                   /* CALL: the function's name */
    const struct etl_dqdl_num **args; /* CALL */
    size_t n_args;
};

enum etl_dqdl_vkind {
    ETL_DQDL_V_NUMBER,
    ETL_DQDL_V_NULL,
    ETL_DQDL_V_EMPTY,            /* the empty string */
    ETL_DQDL_V_WHITESPACES_ONLY, /* a string of one or more spaces */
    ETL_DQDL_V_STRING,
    ETL_DQDL_V_DATE,     /* "YYYY-MM-DD" */
    ETL_DQDL_V_TIME,     /* "HH:MM" or "H:MM AM": today at that time (timeZone tag, UTC) */
    ETL_DQDL_V_NOW,      /* now(), or (now() +/- duration) */
    ETL_DQDL_V_DURATION, /* 24 hours */
};

enum etl_dqdl_unit { ETL_DQDL_MINUTES, ETL_DQDL_HOURS, ETL_DQDL_DAYS };

struct etl_dqdl_value {
    enum etl_dqdl_vkind kind;
    size_t off;                     /* where it starts in the text */
    const struct etl_dqdl_num *num; /* NUMBER */
    const char *str; /* STRING: unescaped (also DATE and TIME: the text between the quotes) */
    size_t str_len;
    const char *raw;         /* STRING: between the quotes, escapes kept (a regex wants them) */
    int32_t days;            /* DATE: days since 1970-01-01 */
    int32_t minute;          /* TIME: minutes after midnight */
    int64_t amount;          /* DURATION: the count; NOW: the signed offset's count */
    enum etl_dqdl_unit unit; /* DURATION, NOW */
};

enum etl_dqdl_op {
    ETL_DQDL_OP_NONE = 0,
    ETL_DQDL_OP_BETWEEN, /* exclusive at both ends, as Glue's NumberBasedCondition */
    ETL_DQDL_OP_NOT_BETWEEN,
    ETL_DQDL_OP_GT,
    ETL_DQDL_OP_GE,
    ETL_DQDL_OP_LT,
    ETL_DQDL_OP_LE,
    ETL_DQDL_OP_EQ,
    ETL_DQDL_OP_NE,
    ETL_DQDL_OP_IN,
    ETL_DQDL_OP_NOT_IN,
    ETL_DQDL_OP_MATCHES,
    ETL_DQDL_OP_NOT_MATCHES,
};

/* What the operands of a condition are, decided by the rule type and what was written. */
enum etl_dqdl_ckind {
    ETL_DQDL_C_NONE = 0,
    ETL_DQDL_C_NUMBER,
    ETL_DQDL_C_STRING,
    ETL_DQDL_C_DATE,
    ETL_DQDL_C_DURATION,
};

struct etl_dqdl_cond {
    enum etl_dqdl_op op;
    enum etl_dqdl_ckind kind;
    const struct etl_dqdl_value *values; /* 2 for between, 1 for comparisons, n for in */
    size_t n;
    const char *text; /* as written, e.g. "between 1 and 10" */
    size_t off;
};

/* ---- rules ---- */

enum etl_dqdl_action {
    ETL_DQDL_ACTION_DEFAULT = 0, /* row-level rules quarantine, dataset-level rules warn */
    ETL_DQDL_ACTION_WARN,
    ETL_DQDL_ACTION_QUARANTINE,
    ETL_DQDL_ACTION_FAIL,
};

const char *etl_dqdl_action_name(enum etl_dqdl_action a);

struct etl_dqdl_label {
    const char *key;
    const char *value;
};

struct etl_dqdl_rule {
    enum etl_dqdl_rtype type;
    const char *text; /* the rule exactly as written (Glue's Description), NUL-terminated */
    size_t text_len;
    size_t off; /* where it starts */
    int line;
    int col;
    char name[24]; /* "Rule_3" for a top-level rule; "" inside a composite */

    /* a leaf */
    const char **params; /* column names and the like: unescaped */
    size_t n_params;
    struct etl_dqdl_cond cond;           /* op NONE when the type takes no condition */
    const char *where;                   /* the SQL of `where "..."`, unescaped; NULL without */
    size_t where_off;                    /* where its string starts */
    struct etl_dqdl_cond threshold;      /* `with threshold ...`; op NONE without */
    enum etl_dqdl_action action;         /* `with action = "..."` */
    const struct etl_dqdl_label *labels; /* DefaultLabels, then the rule's own (which win) */
    size_t n_labels;

    /* a composite */
    bool is_or;
    const struct etl_dqdl_rule *lhs;
    const struct etl_dqdl_rule *rhs;
};

struct etl_dqdl_ruleset {
    const struct etl_dqdl_rule **rules; /* top level, in order */
    size_t n;
    struct buf text;        /* the copy every text pointer points into */
    struct etl_arena arena; /* the tree */
};

/* Parses a whole ruleset; see the header comment for what is accepted. */
MUST_CHECK enum err_code
etl_dqdl_parse(struct cur text, struct etl_dqdl_ruleset **out, struct err *err);
/* Accepts NULL. */
void etl_dqdl_free(struct etl_dqdl_ruleset *rs);

/* The number of leaves under a rule (1 for a leaf). */
size_t etl_dqdl_leaf_count(const struct etl_dqdl_rule *r);

#endif
