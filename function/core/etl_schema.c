/*
 * etl_schema.c - attribute type statistics for snapshots.
 */
#include "etl_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"

void etl_schema_init(struct etl_schema *s)
{
    memset(s, 0, sizeof(*s));
}

void etl_schema_reset(struct etl_schema *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->attrs[i].name);
    }
    s->n = 0;
    s->items = 0;
    etl_names_reset(&s->index);
}

void etl_schema_cleanup(struct etl_schema *s)
{
    if (s == NULL) {
        return;
    }
    etl_schema_reset(s);
    free(s->attrs);
    etl_names_cleanup(&s->index);
    buf_cleanup(&s->name);
    memset(s, 0, sizeof(*s));
}

/* The attribute named name[0..n), added if new; *out NULL when the schema already tracks
 * ETL_SCHEMA_MAX_ATTRS others (the caller counts the value as overflow). */
static enum err_code find_attr(struct etl_schema *s,
                               const char *name,
                               size_t n,
                               struct etl_schema_attr **out,
                               struct err *err)
{
    long found = etl_names_find(&s->index, cur_make(name, n));
    if (found >= 0) {
        *out = &s->attrs[found];
        return ERR_OK;
    }
    *out = NULL;
    if (s->n >= ETL_SCHEMA_MAX_ATTRS) {
        return ERR_OK;
    }
    struct etl_schema_attr *attrs = mem_grow(s->attrs, &s->cap, s->n, sizeof(*attrs), 32);
    if (attrs == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory in the schema");
    }
    s->attrs = attrs;
    struct etl_schema_attr *a = &s->attrs[s->n];
    memset(a, 0, sizeof(*a));
    a->name = cur_strdup(cur_make(name, n));
    if (a->name == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory in the schema");
    }
    size_t index = 0;
    bool added = false;
    enum err_code rc = etl_names_add(&s->index, cur_make(a->name, n), &index, &added, err);
    if (rc != ERR_OK) {
        free(a->name);
        return rc;
    }
    s->n++;
    *out = a;
    return ERR_OK;
}

/* Integer digits and scale of a DynamoDB number string. */
static void number_shape(struct cur n, struct etl_schema_attr *a)
{
    const uint8_t *p = n.ptr, *end = n.ptr + n.len;
    if (p < end && (*p == '-' || *p == '+')) {
        p++;
    }
    while (p < end - 1 && *p == '0' && p[1] != '.') {
        p++; /* leading zeros are not digits of the value */
    }
    int ints = 0, frac = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        ints++;
        p++;
    }
    if (p < end && *p == '.') {
        p++;
        while (p < end && *p >= '0' && *p <= '9') {
            frac++;
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        a->exponent = true;
    }
    if (ints > a->int_digits) {
        a->int_digits = ints;
    }
    if (frac > a->scale) {
        a->scale = frac;
    }
}

enum err_code
etl_schema_observe(struct etl_schema *s, const struct etl_row_ref *row, struct err *err)
{
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t n_cols = 0;
    etl_row_iter_init(&it, row->store, row->offset);
    if (!etl_row_next(&it, &n_cols)) {
        return err_set(err, ERR_INVALID_INPUT, "schema: no row at %zu", row->offset);
    }
    enum err_code rc = ERR_OK;
    while (rc == ERR_OK && etl_row_col(&it, &col)) {
        if (etl_col_is_meta(&col) || col.type >= ETL_T_COUNT) {
            continue;
        }
        /* The name as the item has it: unescaped, without the "_item" of a renamed clash. */
        struct json_val name = {.type = JSON_STRING, .raw = col.name};
        buf_reset(&s->name);
        rc = json_string_unescape(&name, &s->name, err);
        size_t skip = (col.flags & ETL_COL_RENAMED) != 0 && s->name.len >= 5 ? 5 : 0;
        struct etl_schema_attr *a = NULL;
        if (rc == ERR_OK) {
            rc = find_attr(s, (const char *)s->name.data + skip, s->name.len - skip, &a, err);
        }
        if (rc == ERR_OK && a == NULL) {
            s->overflow_values++;
        } else if (rc == ERR_OK) {
            a->counts[col.type]++;
            if (col.type == ETL_T_N) {
                number_shape(col.value, a);
            }
        }
    }
    if (rc == ERR_OK) {
        s->items++;
    }
    return rc;
}

enum err_code
etl_schema_merge(struct etl_schema *dst, const struct etl_schema *src, struct err *err)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct etl_schema_attr *from = &src->attrs[i];
        struct etl_schema_attr *to = NULL;
        enum err_code rc = find_attr(dst, from->name, strlen(from->name), &to, err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (to == NULL) {
            for (int t = 0; t < ETL_T_COUNT; t++) {
                dst->overflow_values += from->counts[t];
            }
            continue;
        }
        for (int t = 0; t < ETL_T_COUNT; t++) {
            to->counts[t] += from->counts[t];
        }
        if (from->int_digits > to->int_digits) {
            to->int_digits = from->int_digits;
        }
        if (from->scale > to->scale) {
            to->scale = from->scale;
        }
        to->exponent = to->exponent || from->exponent;
    }
    dst->items += src->items;
    dst->overflow_values += src->overflow_values;
    return ERR_OK;
}

static int by_name(const void *a, const void *b)
{
    const struct etl_schema_attr *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

enum err_code
etl_schema_sorted(const struct etl_schema *s, const struct etl_schema_attr ***out, struct err *err)
{
    *out = NULL;
    if (s->n == 0) {
        return ERR_OK;
    }
    const struct etl_schema_attr **v = malloc(s->n * sizeof(*v));
    if (v == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory sorting the schema");
    }
    for (size_t i = 0; i < s->n; i++) {
        v[i] = &s->attrs[i];
    }
    qsort(v, s->n, sizeof(*v), by_name);
    *out = v;
    return ERR_OK;
}

void etl_schema_write(const struct etl_schema *s, struct jsonw *w)
{
    const struct etl_schema_attr **sorted = NULL;
    struct err err = ERR_INIT;
    if (etl_schema_sorted(s, &sorted, &err) != ERR_OK) {
        jsonw_fail(w, &err);
        return;
    }
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "items");
    jsonw_u64(w, s->items);
    if (s->overflow_values > 0) {
        jsonw_key(w, "overflow_values");
        jsonw_u64(w, s->overflow_values);
    }
    jsonw_key(w, "attributes");
    jsonw_array(w, JSONW_COMPACT);
    for (size_t i = 0; i < s->n; i++) {
        const struct etl_schema_attr *a = sorted[i];
        char athena[64];
        etl_schema_athena_type(a, athena, sizeof(athena));
        jsonw_object(w, JSONW_COMPACT);
        jsonw_key(w, "name");
        jsonw_str(w, a->name);
        jsonw_key(w, "types");
        jsonw_object(w, JSONW_COMPACT);
        for (int t = 0; t < ETL_T_COUNT; t++) {
            if (a->counts[t] > 0) {
                jsonw_key(w, etl_type_name((enum etl_type)t));
                jsonw_u64(w, a->counts[t]);
            }
        }
        jsonw_end(w);
        jsonw_key(w, "athena_type");
        jsonw_str(w, athena);
        if (a->counts[ETL_T_N] > 0) {
            jsonw_key(w, "number");
            jsonw_object(w, JSONW_COMPACT);
            jsonw_key(w, "integer_digits");
            jsonw_i64(w, a->int_digits);
            jsonw_key(w, "scale");
            jsonw_i64(w, a->scale);
            jsonw_key(w, "exponent");
            jsonw_bool(w, a->exponent);
            jsonw_end(w);
        }
        jsonw_end(w);
    }
    jsonw_end(w);
    jsonw_end(w);
    free(sorted);
}

enum err_code etl_schema_to_json(const struct etl_schema *s, struct buf *out, struct err *err)
{
    struct jsonw w;
    jsonw_init(&w, out, err);
    etl_schema_write(s, &w);
    return jsonw_finish(&w);
}

/* A count as a document holds it: a number in [0, 2^64). Anything else (negative, 1e21, infinity)
 * is no count we wrote, and casting it to uint64_t would be undefined behaviour. */
static bool count_of(const cJSON *c, uint64_t *out)
{
    if (!cJSON_IsNumber(c) || !(c->valuedouble >= 0 && c->valuedouble < 18446744073709551616.0)) {
        return false;
    }
    *out = (uint64_t)c->valuedouble;
    return true;
}

enum err_code etl_schema_from_json(struct etl_schema *s, struct cur text, struct err *err)
{
    cJSON *root = cJSON_ParseWithLength((const char *)text.ptr, text.len);
    enum err_code rc = ERR_OK;
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(root, "attributes");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    uint64_t n = 0;
    if (root == NULL || !cJSON_IsArray(attrs) || !cJSON_IsNumber(items)) {
        rc = err_set(err, ERR_INVALID_INPUT, "schema: not a schema document");
        goto out;
    }
    if (!count_of(items, &n)) {
        rc = err_set(err, ERR_INVALID_INPUT, "schema: \"items\" is not a count");
        goto out;
    }
    s->items += n;
    const cJSON *overflow = cJSON_GetObjectItemCaseSensitive(root, "overflow_values");
    if (cJSON_IsNumber(overflow)) {
        if (!count_of(overflow, &n)) {
            rc = err_set(err, ERR_INVALID_INPUT, "schema: \"overflow_values\" is not a count");
            goto out;
        }
        s->overflow_values += n;
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
        const cJSON *types = cJSON_GetObjectItemCaseSensitive(a, "types");
        if (!cJSON_IsString(name) || !cJSON_IsObject(types)) {
            rc = err_set(err, ERR_INVALID_INPUT, "schema: attribute without name or types");
            goto out;
        }
        struct etl_schema_attr *to = NULL;
        rc = find_attr(s, name->valuestring, strlen(name->valuestring), &to, err);
        if (rc != ERR_OK) {
            goto out;
        }
        if (to == NULL) {
            for (int t = 0; t < ETL_T_COUNT; t++) {
                const cJSON *c =
                    cJSON_GetObjectItemCaseSensitive(types, etl_type_name((enum etl_type)t));
                if (cJSON_IsNumber(c) && count_of(c, &n)) {
                    s->overflow_values += n;
                }
            }
            continue;
        }
        for (int t = 0; t < ETL_T_COUNT; t++) {
            const cJSON *c =
                cJSON_GetObjectItemCaseSensitive(types, etl_type_name((enum etl_type)t));
            if (cJSON_IsNumber(c)) {
                if (!count_of(c, &n)) {
                    rc = err_set(err, ERR_INVALID_INPUT,
                                 "schema: attribute \"%.64s\": types.%s is not a count",
                                 name->valuestring, etl_type_name((enum etl_type)t));
                    goto out;
                }
                to->counts[t] += n;
            }
        }
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(a, "number");
        if (cJSON_IsObject(num)) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(num, "integer_digits");
            const cJSON *sc = cJSON_GetObjectItemCaseSensitive(num, "scale");
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(num, "exponent");
            /* Digits of a DynamoDB number: at most 38 significant, so a few hundred with its
             * exponent; anything larger is not a count of digits and is ignored. */
            if (cJSON_IsNumber(d) && d->valueint <= 1000 && d->valueint > to->int_digits) {
                to->int_digits = d->valueint;
            }
            if (cJSON_IsNumber(sc) && sc->valueint <= 1000 && sc->valueint > to->scale) {
                to->scale = sc->valueint;
            }
            to->exponent = to->exponent || cJSON_IsTrue(e);
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

void etl_schema_athena_type(const struct etl_schema_attr *a, char *out, size_t cap)
{
    int kinds = 0;
    int only = -1;
    for (int t = 0; t < ETL_T_COUNT; t++) {
        if (t != ETL_T_NULL && a->counts[t] > 0) {
            kinds++;
            only = t;
        }
    }
    if (kinds != 1) {
        snprintf(out, cap, "string"); /* mixed, or only NULLs */
        return;
    }
    switch (only) {
    case ETL_T_N:
        if (a->exponent || a->int_digits + a->scale > 38) {
            snprintf(out, cap, "string"); /* no decimal(38,s) holds every value exactly */
        } else if (a->scale == 0 && a->int_digits <= 18) {
            snprintf(out, cap, "bigint");
        } else {
            snprintf(out, cap, "decimal(38,%d)",
                     38 - a->int_digits < a->scale ? 38 - a->int_digits : a->scale);
        }
        return;
    case ETL_T_BOOL:
        snprintf(out, cap, "boolean");
        return;
    case ETL_T_SS:
    case ETL_T_NS:
    case ETL_T_BS:
        snprintf(out, cap, "array<string>");
        return;
    default:
        /* S, B (base64: from_base64()), and M/L as their JSON text (the OpenX SerDe gives it). */
        snprintf(out, cap, "string");
        return;
    }
}
