/*
 * etl_schema.c - attribute type statistics for snapshots.
 */
#include "etl_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char *const type_names[ETL_T_COUNT] = {"S", "N", "B",  "BOOL", "NULL",
                                                    "M", "L", "SS", "NS",   "BS"};

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
    if (s->slots != NULL) {
        memset(s->slots, 0, s->n_slots * sizeof(*s->slots));
    }
}

void etl_schema_cleanup(struct etl_schema *s)
{
    if (s == NULL) {
        return;
    }
    etl_schema_reset(s);
    free(s->attrs);
    free(s->slots);
    buf_cleanup(&s->name);
    memset(s, 0, sizeof(*s));
}

static enum err_code rehash(struct etl_schema *s, size_t n_slots, struct err *err)
{
    uint32_t *slots = calloc(n_slots, sizeof(*slots));
    if (slots == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory in the schema index");
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t j = cur_hash(cur_from_str(s->attrs[i].name)) & (n_slots - 1);
        while (slots[j] != 0) {
            j = (j + 1) & (n_slots - 1);
        }
        slots[j] = (uint32_t)(i + 1);
    }
    free(s->slots);
    s->slots = slots;
    s->n_slots = n_slots;
    return ERR_OK;
}

/* The attribute named name[0..n), added if new. */
static enum err_code find_attr(struct etl_schema *s,
                               const char *name,
                               size_t n,
                               struct etl_schema_attr **out,
                               struct err *err)
{
    if ((s->n + 1) * 2 > s->n_slots) {
        enum err_code rc = rehash(s, s->n_slots == 0 ? 64 : s->n_slots * 2, err);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    size_t j = cur_hash(cur_make(name, n)) & (s->n_slots - 1);
    while (s->slots[j] != 0) {
        struct etl_schema_attr *a = &s->attrs[s->slots[j] - 1];
        if (cur_eq_str(cur_make(name, n), a->name)) {
            *out = a;
            return ERR_OK;
        }
        j = (j + 1) & (s->n_slots - 1);
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
    s->slots[j] = (uint32_t)(s->n + 1);
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

enum err_code etl_schema_observe(struct etl_schema *s, const struct json_val *item, struct err *err)
{
    if (item->type != JSON_OBJECT) {
        return err_set(err, ERR_INVALID_INPUT, "schema: item is not an object");
    }
    struct json_iter it;
    struct json_val k, v, tk, tv;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, item);
    while (rc == ERR_OK && json_object_next(&it, &k, &v)) {
        struct json_iter vit;
        json_iter_init(&vit, &v);
        if (v.type != JSON_OBJECT || !json_object_next(&vit, &tk, &tv)) {
            continue; /* not a typed value: the row conversion reports it */
        }
        struct etl_schema_attr *a = NULL;
        buf_reset(&s->name);
        rc = json_string_unescape(&k, &s->name, err);
        if (rc == ERR_OK) {
            rc = find_attr(s, (const char *)s->name.data, s->name.len, &a, err);
        }
        if (rc != ERR_OK) {
            break;
        }
        for (int t = 0; t < ETL_T_COUNT; t++) {
            if (json_string_eq(&tk, type_names[t])) {
                a->counts[t]++;
                if (t == ETL_T_N && tv.type == JSON_STRING) {
                    number_shape(json_string_inner(&tv), a);
                }
                break;
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

enum err_code etl_schema_to_json(const struct etl_schema *s, struct buf *out, struct err *err)
{
    const struct etl_schema_attr **sorted = NULL;
    enum err_code rc = etl_schema_sorted(s, &sorted, err);
    if (rc == ERR_OK) {
        rc = buf_printf(out, err, "{\"items\":%llu,\"attributes\":[", (unsigned long long)s->items);
    }
    for (size_t i = 0; rc == ERR_OK && i < s->n; i++) {
        const struct etl_schema_attr *a = sorted[i];
        rc = buf_append_str(out, i > 0 ? ",{\"name\":" : "{\"name\":", err);
        if (rc == ERR_OK) {
            rc = buf_append_json_str(out, a->name, strlen(a->name), err);
        }
        if (rc == ERR_OK) {
            rc = buf_append_str(out, ",\"types\":{", err);
        }
        bool first = true;
        for (int t = 0; rc == ERR_OK && t < ETL_T_COUNT; t++) {
            if (a->counts[t] == 0) {
                continue;
            }
            rc = buf_printf(out, err, "%s\"%s\":%llu", first ? "" : ",", type_names[t],
                            (unsigned long long)a->counts[t]);
            first = false;
        }
        char athena[64];
        etl_schema_athena_type(a, athena, sizeof(athena));
        if (rc == ERR_OK) {
            rc = buf_printf(out, err, "},\"athena_type\":\"%s\"", athena);
        }
        if (rc == ERR_OK && a->counts[ETL_T_N] > 0) {
            rc = buf_printf(out, err,
                            ",\"number\":{\"integer_digits\":%d,\"scale\":%d,\"exponent\":%s}",
                            a->int_digits, a->scale, a->exponent ? "true" : "false");
        }
        if (rc == ERR_OK) {
            rc = buf_append_byte(out, '}', err);
        }
    }
    if (rc == ERR_OK) {
        rc = buf_append_str(out, "]}", err);
    }
    free(sorted);
    return rc;
}

enum err_code etl_schema_from_json(struct etl_schema *s, struct cur text, struct err *err)
{
    cJSON *root = cJSON_ParseWithLength((const char *)text.ptr, text.len);
    enum err_code rc = ERR_OK;
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(root, "attributes");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    if (root == NULL || !cJSON_IsArray(attrs) || !cJSON_IsNumber(items)) {
        rc = err_set(err, ERR_INVALID_INPUT, "schema: not a schema document");
        goto out;
    }
    s->items += (uint64_t)items->valuedouble;
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
        for (int t = 0; t < ETL_T_COUNT; t++) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(types, type_names[t]);
            if (cJSON_IsNumber(c)) {
                to->counts[t] += (uint64_t)c->valuedouble;
            }
        }
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(a, "number");
        if (cJSON_IsObject(num)) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(num, "integer_digits");
            const cJSON *sc = cJSON_GetObjectItemCaseSensitive(num, "scale");
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(num, "exponent");
            if (cJSON_IsNumber(d) && d->valueint > to->int_digits) {
                to->int_digits = d->valueint;
            }
            if (cJSON_IsNumber(sc) && sc->valueint > to->scale) {
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
