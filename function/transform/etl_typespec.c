/*
 * etl_typespec.c - a small recursive-descent parser for Athena type names. Nesting is bounded
 * (ETL_TYPESPEC_MAX_DEPTH) so a hostile spec cannot exhaust the stack.
 */
#include "etl_typespec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETL_TYPESPEC_MAX_DEPTH 16

struct tparser {
    const uint8_t *p;
    const uint8_t *end;
    struct cur text;
    struct err *err;
};

struct tname {
    const char *name;
    enum etl_tkind kind;
};

/* Athena's names and the aliases Trino and Hive accept for them. */
static const struct tname tnames[] = {
    {"string", ETL_TK_STRING},       {"varchar", ETL_TK_STRING},
    {"bigint", ETL_TK_BIGINT},       {"int", ETL_TK_INT},
    {"integer", ETL_TK_INT},         {"smallint", ETL_TK_SMALLINT},
    {"tinyint", ETL_TK_TINYINT},     {"double", ETL_TK_DOUBLE},
    {"float", ETL_TK_FLOAT},         {"real", ETL_TK_FLOAT},
    {"decimal", ETL_TK_DECIMAL},     {"boolean", ETL_TK_BOOLEAN},
    {"timestamp", ETL_TK_TIMESTAMP}, {"date", ETL_TK_DATE},
    {"binary", ETL_TK_BINARY},       {"varbinary", ETL_TK_BINARY},
    {"array", ETL_TK_ARRAY},         {"map", ETL_TK_MAP},
};

static void skip_spaces(struct tparser *t)
{
    while (t->p < t->end && (*t->p == ' ' || *t->p == '\t')) {
        t->p++;
    }
}

static enum err_code fail(struct tparser *t, const char *what)
{
    return err_set(t->err, ERR_INVALID_INPUT, "type \"%.*s\": %s",
                   (int)(t->text.len > 80 ? 80 : t->text.len), (const char *)t->text.ptr, what);
}

static bool take(struct tparser *t, char c)
{
    skip_spaces(t);
    if (t->p < t->end && *t->p == (uint8_t)c) {
        t->p++;
        return true;
    }
    return false;
}

static enum err_code expect(struct tparser *t, char c)
{
    if (take(t, c)) {
        return ERR_OK;
    }
    char what[64];
    snprintf(what, sizeof(what), "expected '%c' at column %zu", c,
             (size_t)(t->p - t->text.ptr) + 1);
    return fail(t, what);
}

/* A non-negative decimal integer of at most 4 digits (precision and scale). */
static enum err_code take_int(struct tparser *t, const char *what, int *out)
{
    skip_spaces(t);
    int v = 0, digits = 0;
    while (t->p < t->end && *t->p >= '0' && *t->p <= '9' && digits < 4) {
        v = v * 10 + (*t->p++ - '0');
        digits++;
    }
    if (digits == 0 || (t->p < t->end && *t->p >= '0' && *t->p <= '9')) {
        char msg[64];
        snprintf(msg, sizeof(msg), "expected the %s at column %zu", what,
                 (size_t)(t->p - t->text.ptr) + 1);
        return fail(t, msg);
    }
    *out = v;
    return ERR_OK;
}

static enum err_code parse_decimal_args(struct tparser *t, struct etl_typespec *ts)
{
    enum err_code rc = expect(t, '(');
    if (rc == ERR_OK) {
        rc = take_int(t, "precision", &ts->precision);
    }
    if (rc == ERR_OK && take(t, ',')) {
        rc = take_int(t, "scale", &ts->scale);
    }
    if (rc == ERR_OK) {
        rc = expect(t, ')');
    }
    if (rc == ERR_OK && (ts->precision < 1 || ts->precision > 38)) {
        rc = fail(t, "decimal precision must be 1 to 38");
    }
    if (rc == ERR_OK && ts->scale > ts->precision) {
        rc = fail(t, "decimal scale must be 0 to the precision");
    }
    return rc;
}

static enum err_code parse_type(struct tparser *t, int depth, struct etl_typespec **out);

static enum err_code parse_args(struct tparser *t, int depth, struct etl_typespec *ts)
{
    enum err_code rc = expect(t, '<');
    if (rc == ERR_OK && ts->kind == ETL_TK_MAP) {
        struct etl_typespec *key = NULL;
        rc = parse_type(t, depth + 1, &key);
        if (rc == ERR_OK && key->kind != ETL_TK_STRING) {
            rc = fail(t, "map keys must be string");
        }
        etl_typespec_free(key);
        if (rc == ERR_OK) {
            rc = expect(t, ',');
        }
    }
    if (rc == ERR_OK) {
        rc = parse_type(t, depth + 1, &ts->elem);
    }
    if (rc == ERR_OK) {
        rc = expect(t, '>');
    }
    return rc;
}

static enum err_code parse_type(struct tparser *t, int depth, struct etl_typespec **out)
{
    *out = NULL;
    if (depth > ETL_TYPESPEC_MAX_DEPTH) {
        return fail(t, "nested deeper than 16 levels");
    }
    skip_spaces(t);
    const uint8_t *word = t->p;
    while (t->p < t->end && ((*t->p >= 'a' && *t->p <= 'z') || (*t->p >= 'A' && *t->p <= 'Z') ||
                             (*t->p >= '0' && *t->p <= '9') || *t->p == '_')) {
        t->p++;
    }
    struct cur name = cur_make(word, (size_t)(t->p - word));
    const struct tname *found = NULL;
    for (size_t i = 0; i < sizeof(tnames) / sizeof(tnames[0]) && name.len > 0; i++) {
        if (cur_eq_nocase(name, tnames[i].name)) {
            found = &tnames[i];
            break;
        }
    }
    if (found == NULL) {
        if (name.len == 0) {
            char what[64];
            snprintf(what, sizeof(what), "expected a type name at column %zu",
                     (size_t)(word - t->text.ptr) + 1);
            return fail(t, what);
        }
        return err_set(t->err, ERR_INVALID_INPUT, "unknown type \"%.*s\" (expected one of %s)",
                       (int)(name.len > 40 ? 40 : name.len), (const char *)name.ptr,
                       ETL_TYPESPEC_EXPECTED);
    }
    struct etl_typespec *ts = calloc(1, sizeof(*ts));
    if (ts == NULL) {
        return err_set(t->err, ERR_NOMEM, "out of memory parsing a type");
    }
    ts->kind = found->kind;
    enum err_code rc = ERR_OK;
    if (ts->kind == ETL_TK_DECIMAL) {
        rc = parse_decimal_args(t, ts);
    } else if (ts->kind == ETL_TK_ARRAY || ts->kind == ETL_TK_MAP) {
        rc = parse_args(t, depth, ts);
    } else {
        skip_spaces(t);
        if (t->p < t->end && *t->p == '(') {
            /* varchar(10) would truncate in Trino: a cast here never does, so no length. */
            rc = fail(t, "only decimal takes parameters (use string, not varchar(n))");
        }
    }
    if (rc != ERR_OK) {
        etl_typespec_free(ts);
        return rc;
    }
    *out = ts;
    return ERR_OK;
}

enum err_code etl_typespec_parse(struct cur text, struct etl_typespec **out, struct err *err)
{
    struct tparser t = {text.ptr, text.ptr + text.len, text, err};
    enum err_code rc = parse_type(&t, 0, out);
    skip_spaces(&t);
    if (rc == ERR_OK && t.p != t.end) {
        char what[64];
        snprintf(what, sizeof(what), "unexpected text at column %zu", (size_t)(t.p - text.ptr) + 1);
        rc = fail(&t, what);
        etl_typespec_free(*out);
        *out = NULL;
    }
    return rc;
}

void etl_typespec_free(struct etl_typespec *t)
{
    while (t != NULL) {
        struct etl_typespec *elem = t->elem;
        free(t);
        t = elem;
    }
}

static size_t name_into(const struct etl_typespec *t, char *out, size_t cap)
{
    static const char *const simple[] = {
        [ETL_TK_STRING] = "string",   [ETL_TK_BIGINT] = "bigint",
        [ETL_TK_INT] = "int",         [ETL_TK_SMALLINT] = "smallint",
        [ETL_TK_TINYINT] = "tinyint", [ETL_TK_DOUBLE] = "double",
        [ETL_TK_FLOAT] = "float",     [ETL_TK_DECIMAL] = "decimal",
        [ETL_TK_BOOLEAN] = "boolean", [ETL_TK_TIMESTAMP] = "timestamp",
        [ETL_TK_DATE] = "date",       [ETL_TK_BINARY] = "binary",
        [ETL_TK_ARRAY] = "array",     [ETL_TK_MAP] = "map",
    };
    int n;
    if (t->kind == ETL_TK_DECIMAL) {
        n = snprintf(out, cap, "decimal(%d,%d)", t->precision, t->scale);
    } else if ((unsigned)t->kind < sizeof(simple) / sizeof(simple[0])) {
        n = snprintf(out, cap, "%s", simple[t->kind]);
    } else {
        n = snprintf(out, cap, "?");
    }
    size_t used = n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
    if ((t->kind == ETL_TK_ARRAY || t->kind == ETL_TK_MAP) && t->elem != NULL) {
        used += (size_t)snprintf(out + used, cap - used, "%s",
                                 t->kind == ETL_TK_MAP ? "<string," : "<");
        used = used < cap ? used : cap - 1;
        used += name_into(t->elem, out + used, cap - used);
        used = used < cap ? used : cap - 1;
        used += (size_t)snprintf(out + used, cap - used, ">");
        used = used < cap ? used : cap - 1;
    }
    return used;
}

void etl_typespec_name(const struct etl_typespec *t, char *out, size_t cap)
{
    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    if (t != NULL) {
        (void)name_into(t, out, cap);
    }
}
