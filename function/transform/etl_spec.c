/*
 * etl_spec.c - parsing and validating ETL_TRANSFORM. The spec is read with the runtime's JSON
 * scanner (exact numbers, positions) and every member is checked against what its place allows,
 * so a typo is an init error naming the path instead of a setting silently ignored.
 */
#include "etl_spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_record.h"
#include "json.h"

#define SPEC_MAX_DEPTH    64
#define SPEC_MAX_DATASETS 64
#define SPEC_PATH_MAX     160
#define DATASET_NAME_MAX  200

/* Where in the document we are, for messages: "datasets[0].mappings[2][3]". */
struct spec_path {
    char text[SPEC_PATH_MAX];
    size_t len;
};

static size_t path_push(struct spec_path *p, const char *fmt, ...) PRINTF_FMT(2, 3);

static size_t path_push(struct spec_path *p, const char *fmt, ...)
{
    size_t saved = p->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->text + p->len, sizeof(p->text) - p->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        p->len += (size_t)n;
        if (p->len >= sizeof(p->text)) {
            p->len = sizeof(p->text) - 1;
        }
    }
    return saved;
}

static void path_pop(struct spec_path *p, size_t saved)
{
    p->len = saved;
    p->text[saved] = '\0';
}

static enum err_code bad(struct err *err, const struct spec_path *p, const char *fmt, ...)
    PRINTF_FMT(3, 4);

static enum err_code bad(struct err *err, const struct spec_path *p, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_set(err, ERR_CONFIG, "ETL_TRANSFORM: %s%s%s", p->text, p->len > 0 ? ": " : "", what);
}

/* Turns an error from a lower layer into the spec's, with the path. */
static enum err_code at(struct err *err, const struct spec_path *p)
{
    char msg[sizeof(err->msg)];
    memcpy(msg, err->msg, sizeof(msg));
    return bad(err, p, "%s", msg);
}

/* ---- scalars ---- */

static enum err_code
take_string(const struct json_val *v, const struct spec_path *p, char **out, struct err *err)
{
    if (v->type != JSON_STRING) {
        return bad(err, p, "expected a string, got %s", json_type_name(v->type));
    }
    struct buf b = BUF_INIT(0);
    enum err_code rc = json_string_unescape(v, &b, err);
    if (rc == ERR_OK && memchr(b.data, '\0', b.len) != NULL) {
        rc = bad(err, p, "a NUL character is not allowed here");
    }
    if (rc == ERR_OK) {
        *out = cur_strdup(buf_cur(&b));
        if (*out == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
        }
    }
    buf_cleanup(&b);
    return rc;
}

static enum err_code take_int(const struct json_val *v,
                              const struct spec_path *p,
                              int64_t min,
                              int64_t max,
                              int64_t *out,
                              struct err *err)
{
    int64_t n = 0;
    bool neg = v->raw.len > 0 && v->raw.ptr[0] == '-';
    struct cur digits = neg ? cur_make(v->raw.ptr + 1, v->raw.len - 1) : v->raw;
    if (v->type != JSON_NUMBER || !cur_to_i64(digits, &n)) {
        return bad(err, p, "expected an integer from %lld to %lld", (long long)min, (long long)max);
    }
    n = neg ? -n : n;
    if (n < min || n > max) {
        return bad(err, p, "expected an integer from %lld to %lld, got %lld", (long long)min,
                   (long long)max, (long long)n);
    }
    *out = n;
    return ERR_OK;
}

static enum err_code
take_bool(const struct json_val *v, const struct spec_path *p, bool *out, struct err *err)
{
    if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
        return bad(err, p, "expected true or false, got %s", json_type_name(v->type));
    }
    *out = v->type == JSON_TRUE;
    return ERR_OK;
}

/* A column name and its JSON literal (rows name columns with literals). */
static enum err_code take_name(const struct json_val *v,
                               const struct spec_path *p,
                               bool allow_meta,
                               struct etl_spec_name *out,
                               struct err *err)
{
    enum err_code rc = take_string(v, p, &out->text, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (out->text[0] == '\0') {
        return bad(err, p, "a column name cannot be empty");
    }
    if (!allow_meta && etl_meta_is_name(cur_from_str(out->text))) {
        return bad(err, p, "\"%s\" is a metadata column's name; choose another", out->text);
    }
    struct buf b = BUF_INIT(0);
    rc = buf_append_json_str(&b, out->text, strlen(out->text), err);
    if (rc == ERR_OK) {
        rc = buf_take_str(&b, &out->json, err);
    }
    buf_cleanup(&b);
    return rc;
}

static enum err_code take_type(const struct json_val *v,
                               const struct spec_path *p,
                               struct etl_typespec **out,
                               struct err *err)
{
    char *text = NULL;
    enum err_code rc = take_string(v, p, &text, err);
    if (rc == ERR_OK && etl_typespec_parse(cur_from_str(text), out, err) != ERR_OK) {
        rc = at(err, p);
    }
    free(text);
    return rc;
}

static enum err_code take_expr(const struct json_val *v,
                               const struct spec_path *p,
                               struct etl_expr **out,
                               struct err *err)
{
    char *text = NULL;
    enum err_code rc = take_string(v, p, &text, err);
    if (rc == ERR_OK && etl_expr_compile(cur_from_str(text), out, err) != ERR_OK) {
        rc = at(err, p);
    }
    free(text);
    return rc;
}

static enum err_code take_policy(const struct json_val *v,
                                 const struct spec_path *p,
                                 enum etl_cast_policy *out,
                                 struct err *err)
{
    static const char *const names[] = {"null", "keep", "reject"};
    for (int i = 0; i < 3; i++) {
        if (v->type == JSON_STRING && json_string_eq(v, names[i])) {
            *out = (enum etl_cast_policy)i;
            return ERR_OK;
        }
    }
    return bad(err, p, "expected \"null\", \"keep\" or \"reject\"");
}

/* Checks that every member of obj is one of allowed (NULL-terminated). */
static enum err_code only_members(const struct json_val *obj,
                                  const struct spec_path *p,
                                  const char *const *allowed,
                                  struct err *err)
{
    struct json_iter it;
    struct json_val k, v;
    json_iter_init(&it, obj);
    while (json_object_next(&it, &k, &v)) {
        bool known = false;
        for (const char *const *a = allowed; *a != NULL && !known; a++) {
            known = json_string_eq(&k, *a);
        }
        if (!known) {
            char list[300] = "";
            size_t used = 0;
            for (const char *const *a = allowed; *a != NULL && used < sizeof(list); a++) {
                int n = snprintf(list + used, sizeof(list) - used, "%s%s", a == allowed ? "" : ", ",
                                 *a);
                used += n > 0 ? (size_t)n : 0;
            }
            struct cur name = json_string_inner(&k);
            return bad(err, p, "unknown member \"%.*s\" (expected one of %s)",
                       (int)(name.len > 60 ? 60 : name.len), (const char *)name.ptr, list);
        }
    }
    return ERR_OK;
}

/* An array of strings into a NULL-terminated... counted array of copies. */
static enum err_code
take_strings(const struct json_val *v, struct spec_path *p, char ***out, size_t *n, struct err *err)
{
    if (v->type != JSON_ARRAY) {
        return bad(err, p, "expected an array of column names");
    }
    size_t count = json_count(v);
    *out = calloc(count > 0 ? count : 1, sizeof(**out));
    if (*out == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    struct json_iter it;
    struct json_val e;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, v);
    for (size_t i = 0; rc == ERR_OK && json_array_next(&it, &e); i++) {
        size_t saved = path_push(p, "[%zu]", i);
        rc = take_string(&e, p, &(*out)[i], err);
        if (rc == ERR_OK) {
            *n = i + 1;
        }
        path_pop(p, saved);
    }
    return rc;
}

/* ---- dataset parts ---- */

static enum err_code take_mapping(const struct json_val *v,
                                  struct spec_path *p,
                                  enum etl_cast_policy default_policy,
                                  struct etl_spec_mapping *m,
                                  struct err *err)
{
    struct json_val src, stype, target, type, policy;
    bool has_policy = false, has_stype = false;
    m->on_error = default_policy;
    if (v->type == JSON_ARRAY) {
        /* ApplyMapping's shape: [source, source_type, target, target_type (, on_error)]. */
        size_t n = json_count(v);
        if (n != 4 && n != 5) {
            return bad(err, p,
                       "expected [source, source_type, target, target_type] (and optionally "
                       "on_error), got %zu elements",
                       n);
        }
        struct json_iter it;
        json_iter_init(&it, v);
        (void)json_array_next(&it, &src);
        (void)json_array_next(&it, &stype);
        (void)json_array_next(&it, &target);
        (void)json_array_next(&it, &type);
        has_stype = true;
        has_policy = json_array_next(&it, &policy);
    } else if (v->type == JSON_OBJECT) {
        static const char *const allowed[] = {"source", "source_type", "target",
                                              "type",   "on_error",    NULL};
        enum err_code rc = only_members(v, p, allowed, err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (!json_object_get(v, "source", &src) || !json_object_get(v, "target", &target) ||
            !json_object_get(v, "type", &type)) {
            return bad(err, p, "a mapping needs source, target and type");
        }
        has_stype = json_object_get(v, "source_type", &stype);
        has_policy = json_object_get(v, "on_error", &policy);
    } else {
        return bad(err, p, "expected a mapping [source, source_type, target, target_type]");
    }
    size_t saved = path_push(p, v->type == JSON_ARRAY ? "[0]" : ".source");
    enum err_code rc = take_string(&src, p, &m->source_text, err);
    if (rc == ERR_OK &&
        etl_colpath_parse(cur_from_str(m->source_text), &m->source, err) != ERR_OK) {
        rc = at(err, p);
    }
    path_pop(p, saved);
    /* Glue's ApplyMapping writes bare "array", "map" or "struct" for nested sources. */
    bool bare = has_stype && stype.type == JSON_STRING &&
                (json_string_eq(&stype, "array") || json_string_eq(&stype, "map") ||
                 json_string_eq(&stype, "struct"));
    if (rc == ERR_OK && has_stype && !bare) {
        saved = path_push(p, v->type == JSON_ARRAY ? "[1]" : ".source_type");
        rc = take_type(&stype, p, &m->source_type, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK) {
        saved = path_push(p, v->type == JSON_ARRAY ? "[2]" : ".target");
        rc = take_name(&target, p, false, &m->target, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK) {
        saved = path_push(p, v->type == JSON_ARRAY ? "[3]" : ".type");
        rc = take_type(&type, p, &m->type, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && has_policy) {
        saved = path_push(p, v->type == JSON_ARRAY ? "[4]" : ".on_error");
        rc = take_policy(&policy, p, &m->on_error, err);
        path_pop(p, saved);
    }
    return rc;
}

static enum err_code take_mappings(const struct json_val *v,
                                   struct spec_path *p,
                                   enum etl_cast_policy default_policy,
                                   struct etl_spec_dataset *d,
                                   struct err *err)
{
    if (v->type != JSON_ARRAY) {
        return bad(err, p, "expected an array of mappings");
    }
    size_t n = json_count(v);
    d->has_mappings = true;
    d->mappings = calloc(n > 0 ? n : 1, sizeof(*d->mappings));
    if (d->mappings == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    struct json_iter it;
    struct json_val m;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, v);
    for (size_t i = 0; rc == ERR_OK && json_array_next(&it, &m); i++) {
        size_t saved = path_push(p, "[%zu]", i);
        d->n_mappings = i + 1;
        rc = take_mapping(&m, p, default_policy, &d->mappings[i], err);
        for (size_t j = 0; rc == ERR_OK && j < i; j++) {
            if (strcmp(d->mappings[j].target.text, d->mappings[i].target.text) == 0) {
                rc = bad(err, p, "target \"%s\" is also the target of mappings[%zu]",
                         d->mappings[i].target.text, j);
            }
        }
        path_pop(p, saved);
    }
    return rc;
}

static enum err_code take_flatten(const struct json_val *v,
                                  struct spec_path *p,
                                  struct etl_spec_dataset *d,
                                  struct err *err)
{
    int64_t depth = 0;
    struct json_val dv, sv;
    enum err_code rc = ERR_OK;
    if (v->type == JSON_NUMBER) {
        rc = take_int(v, p, 1, 32, &depth, err);
    } else if (v->type == JSON_OBJECT) {
        static const char *const allowed[] = {"depth", "separator", NULL};
        rc = only_members(v, p, allowed, err);
        if (rc == ERR_OK && json_object_get(v, "depth", &dv)) {
            size_t saved = path_push(p, ".depth");
            rc = take_int(&dv, p, 1, 32, &depth, err);
            path_pop(p, saved);
        } else if (rc == ERR_OK) {
            depth = 1;
        }
        if (rc == ERR_OK && json_object_get(v, "separator", &sv)) {
            size_t saved = path_push(p, ".separator");
            rc = take_string(&sv, p, &d->flatten_sep, err);
            if (rc == ERR_OK && d->flatten_sep[0] == '\0') {
                rc = bad(err, p, "the separator cannot be empty");
            }
            path_pop(p, saved);
        }
    } else {
        return bad(err, p, "expected a depth (1 to 32) or {\"depth\": n, \"separator\": \"_\"}");
    }
    if (rc == ERR_OK && d->flatten_sep == NULL) {
        d->flatten_sep = strdup("_");
        if (d->flatten_sep == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
        }
    }
    d->flatten_depth = (int)depth;
    return rc;
}

static enum err_code take_renames(const struct json_val *v,
                                  struct spec_path *p,
                                  struct etl_spec_dataset *d,
                                  struct err *err)
{
    if (v->type != JSON_OBJECT) {
        return bad(err, p, "expected an object {\"from\": \"to\", ...}");
    }
    size_t n = json_count(v);
    d->renames = calloc(n > 0 ? n : 1, sizeof(*d->renames));
    if (d->renames == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    struct json_iter it;
    struct json_val k, to;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, v);
    for (size_t i = 0; rc == ERR_OK && json_object_next(&it, &k, &to); i++) {
        struct etl_spec_rename *r = &d->renames[i];
        d->n_renames = i + 1;
        rc = take_string(&k, p, &r->from, err);
        if (rc == ERR_OK) {
            size_t saved = path_push(p, ".%s", r->from);
            rc = take_name(&to, p, false, &r->to, err);
            path_pop(p, saved);
        }
    }
    return rc;
}

static enum err_code take_constants(const struct json_val *v,
                                    struct spec_path *p,
                                    struct etl_spec_dataset *d,
                                    struct err *err)
{
    if (v->type != JSON_OBJECT) {
        return bad(err, p, "expected an object {\"column\": value, ...}");
    }
    size_t n = json_count(v);
    d->constants = calloc(n > 0 ? n : 1, sizeof(*d->constants));
    if (d->constants == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    struct json_iter it;
    struct json_val k, val;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, v);
    for (size_t i = 0; rc == ERR_OK && json_object_next(&it, &k, &val); i++) {
        struct etl_spec_constant *c = &d->constants[i];
        struct cur key = json_string_inner(&k);
        d->n_constants = i + 1;
        size_t saved =
            path_push(p, ".%.*s", (int)(key.len > 60 ? 60 : key.len), (const char *)key.ptr);
        rc = take_name(&k, p, false, &c->name, err);
        if (rc == ERR_OK && (val.type == JSON_OBJECT || val.type == JSON_ARRAY)) {
            rc = bad(err, p, "a constant is a string, number, boolean or null");
        }
        if (rc == ERR_OK) {
            c->value_json = cur_strdup(val.raw);
            if (c->value_json == NULL) {
                rc = err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
            }
        }
        path_pop(p, saved);
    }
    return rc;
}

static enum err_code take_derive(const struct json_val *v,
                                 struct spec_path *p,
                                 enum etl_cast_policy default_policy,
                                 struct etl_spec_dataset *d,
                                 struct err *err)
{
    if (v->type != JSON_ARRAY) {
        return bad(err, p, "expected an array of {\"name\", \"expr\"}");
    }
    size_t n = json_count(v);
    d->derive = calloc(n > 0 ? n : 1, sizeof(*d->derive));
    if (d->derive == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    static const char *const allowed[] = {"name", "expr", "type", "on_error", NULL};
    struct json_iter it;
    struct json_val e, f;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, v);
    for (size_t i = 0; rc == ERR_OK && json_array_next(&it, &e); i++) {
        struct etl_spec_derive *dv = &d->derive[i];
        d->n_derive = i + 1;
        dv->on_error = default_policy;
        size_t saved = path_push(p, "[%zu]", i);
        if (e.type != JSON_OBJECT) {
            rc = bad(err, p, "expected {\"name\": ..., \"expr\": ...}");
        }
        if (rc == ERR_OK) {
            rc = only_members(&e, p, allowed, err);
        }
        if (rc == ERR_OK && (!json_object_get(&e, "name", &f))) {
            rc = bad(err, p, "a derived column needs a name");
        }
        if (rc == ERR_OK) {
            size_t s2 = path_push(p, ".name");
            rc = take_name(&f, p, false, &dv->name, err);
            path_pop(p, s2);
        }
        if (rc == ERR_OK && !json_object_get(&e, "expr", &f)) {
            rc = bad(err, p, "a derived column needs an expr");
        }
        if (rc == ERR_OK) {
            size_t s2 = path_push(p, ".expr");
            rc = take_expr(&f, p, &dv->expr, err);
            path_pop(p, s2);
        }
        if (rc == ERR_OK && json_object_get(&e, "type", &f)) {
            size_t s2 = path_push(p, ".type");
            rc = take_type(&f, p, &dv->type, err);
            path_pop(p, s2);
        }
        if (rc == ERR_OK && json_object_get(&e, "on_error", &f)) {
            size_t s2 = path_push(p, ".on_error");
            rc = take_policy(&f, p, &dv->on_error, err);
            path_pop(p, s2);
        }
        path_pop(p, saved);
    }
    return rc;
}

static enum err_code
take_pii(const struct json_val *v, struct spec_path *p, struct etl_spec_dataset *d, struct err *err)
{
    if (v->type != JSON_ARRAY) {
        return bad(err, p, "expected an array of {\"column\", \"method\"}");
    }
    size_t n = json_count(v);
    d->pii = calloc(n > 0 ? n : 1, sizeof(*d->pii));
    if (d->pii == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    static const char *const allowed[] = {"column", "method", "replacement", "keep", "from", NULL};
    struct json_iter it;
    struct json_val e, f;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, v);
    for (size_t i = 0; rc == ERR_OK && json_array_next(&it, &e); i++) {
        struct etl_spec_pii *x = &d->pii[i];
        d->n_pii = i + 1;
        x->keep = 4;
        size_t saved = path_push(p, "[%zu]", i);
        if (e.type != JSON_OBJECT) {
            rc = bad(err, p, "expected {\"column\": ..., \"method\": ...}");
        }
        if (rc == ERR_OK) {
            rc = only_members(&e, p, allowed, err);
        }
        if (rc == ERR_OK && !json_object_get(&e, "column", &f)) {
            rc = bad(err, p, "a PII rule needs a column");
        }
        if (rc == ERR_OK) {
            size_t s2 = path_push(p, ".column");
            rc = take_string(&f, p, &x->column, err);
            path_pop(p, s2);
        }
        if (rc == ERR_OK && !json_object_get(&e, "method", &f)) {
            rc = bad(err, p, "a PII rule needs a method");
        }
        if (rc == ERR_OK) {
            size_t s2 = path_push(p, ".method");
            if (json_string_eq(&f, "hmac_sha256")) {
                x->method = ETL_PII_HMAC_SHA256;
            } else if (json_string_eq(&f, "redact")) {
                x->method = ETL_PII_REDACT;
            } else if (json_string_eq(&f, "truncate")) {
                x->method = ETL_PII_TRUNCATE;
            } else {
                rc = bad(err, p, "expected \"hmac_sha256\", \"redact\" or \"truncate\"");
            }
            path_pop(p, s2);
        }
        if (rc == ERR_OK && json_object_get(&e, "replacement", &f)) {
            size_t s2 = path_push(p, ".replacement");
            rc = x->method == ETL_PII_REDACT ? take_string(&f, p, &x->replacement, err)
                                             : bad(err, p, "only redact takes a replacement");
            path_pop(p, s2);
        }
        if (rc == ERR_OK && json_object_get(&e, "keep", &f)) {
            size_t s2 = path_push(p, ".keep");
            int64_t keep = 0;
            rc = x->method == ETL_PII_TRUNCATE ? take_int(&f, p, 0, 1000, &keep, err)
                                               : bad(err, p, "only truncate takes keep");
            x->keep = (int)keep;
            path_pop(p, s2);
        }
        if (rc == ERR_OK && json_object_get(&e, "from", &f)) {
            size_t s2 = path_push(p, ".from");
            if (x->method != ETL_PII_TRUNCATE) {
                rc = bad(err, p, "only truncate takes from");
            } else if (json_string_eq(&f, "start")) {
                x->keep_start = true;
            } else if (!json_string_eq(&f, "end")) {
                rc = bad(err, p, "expected \"start\" or \"end\"");
            }
            path_pop(p, s2);
        }
        if (rc == ERR_OK && x->method == ETL_PII_REDACT && x->replacement == NULL) {
            x->replacement = strdup("REDACTED");
            if (x->replacement == NULL) {
                rc = err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
            }
        }
        path_pop(p, saved);
    }
    return rc;
}

static enum err_code take_dedupe(const struct json_val *v,
                                 struct spec_path *p,
                                 struct etl_spec_dataset *d,
                                 struct err *err)
{
    if (v->type == JSON_TRUE || v->type == JSON_FALSE) {
        d->dedupe = v->type == JSON_TRUE;
        return ERR_OK;
    }
    if (v->type != JSON_OBJECT) {
        return bad(err, p, "expected true, false or {\"key\": [columns]}");
    }
    static const char *const allowed[] = {"key", NULL};
    struct json_val k;
    enum err_code rc = only_members(v, p, allowed, err);
    d->dedupe = true;
    if (rc == ERR_OK && json_object_get(v, "key", &k)) {
        size_t saved = path_push(p, ".key");
        rc = take_strings(&k, p, &d->dedupe_keys, &d->n_dedupe_keys, err);
        if (rc == ERR_OK && d->n_dedupe_keys == 0) {
            rc = bad(err, p, "name at least one column");
        }
        path_pop(p, saved);
    }
    return rc;
}

static enum err_code take_rule_actions(const struct json_val *v,
                                       struct spec_path *p,
                                       struct etl_spec_dataset *d,
                                       struct err *err)
{
    if (v->type != JSON_OBJECT) {
        return bad(err, p, "expected {\"Rule_1\": \"warn\"|\"quarantine\"|\"fail\", ...}");
    }
    size_t n = json_count(v);
    d->rule_actions = calloc(n > 0 ? n : 1, sizeof(*d->rule_actions));
    if (d->rule_actions == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    struct json_iter it;
    struct json_val k, a;
    enum err_code rc = ERR_OK;
    json_iter_init(&it, v);
    for (size_t i = 0; rc == ERR_OK && json_object_next(&it, &k, &a); i++) {
        struct etl_spec_rule_action *r = &d->rule_actions[i];
        d->n_rule_actions = i + 1;
        rc = take_string(&k, p, &r->rule, err);
        if (rc != ERR_OK) {
            break;
        }
        size_t saved = path_push(p, ".%s", r->rule);
        if (json_string_eq(&a, "warn")) {
            r->action = ETL_RULE_WARN;
        } else if (json_string_eq(&a, "quarantine")) {
            r->action = ETL_RULE_QUARANTINE;
        } else if (json_string_eq(&a, "fail")) {
            r->action = ETL_RULE_FAIL;
        } else {
            rc = bad(err, p, "expected \"warn\", \"quarantine\" or \"fail\"");
        }
        path_pop(p, saved);
    }
    return rc;
}

/* The dataset's DQDL ruleset, compiled with the spec's actions (which win over `with action`). */
static enum err_code compile_rules(struct etl_spec_dataset *d, struct spec_path *p, struct err *err)
{
    struct etl_dq_action_override *actions = calloc(d->n_rule_actions + 1, sizeof(*actions));
    if (actions == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    for (size_t i = 0; i < d->n_rule_actions; i++) {
        static const enum etl_dqdl_action map[] = {
            [ETL_RULE_DEFAULT] = ETL_DQDL_ACTION_DEFAULT,
            [ETL_RULE_WARN] = ETL_DQDL_ACTION_WARN,
            [ETL_RULE_QUARANTINE] = ETL_DQDL_ACTION_QUARANTINE,
            [ETL_RULE_FAIL] = ETL_DQDL_ACTION_FAIL,
        };
        actions[i] = (struct etl_dq_action_override){d->rule_actions[i].rule,
                                                     map[d->rule_actions[i].action]};
    }
    struct etl_dq_config cfg = {actions, d->n_rule_actions, 0};
    size_t saved = path_push(p, ".rules");
    enum err_code rc = etl_dq_new(cur_from_str(d->rules), &cfg, &d->dq, err);
    path_pop(p, saved);
    if (rc == ERR_INVALID_INPUT) {
        saved = path_push(p, ".rules");
        rc = at(err, p);
        path_pop(p, saved);
    } else if (rc == ERR_CONFIG) { /* an action for a rule the ruleset does not have */
        saved = path_push(p, ".rule_actions");
        rc = at(err, p);
        path_pop(p, saved);
    }
    free(actions);
    return rc;
}

static bool dataset_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > DATASET_NAME_MAX || s[0] == '.' || s[0] == '_') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.')) {
            return false;
        }
    }
    return true;
}

static enum err_code take_dataset(const struct json_val *v,
                                  struct spec_path *p,
                                  struct etl_spec_dataset *d,
                                  struct err *err)
{
    static const char *const allowed[] = {
        "name",         "when",   "mappings", "keep_unmapped", "on_cast_error",
        "flatten",      "rename", "select",   "drop",          "constants",
        "derive",       "filter", "dedupe",   "pii",           "rules",
        "rule_actions", NULL};
    if (v->type != JSON_OBJECT) {
        return bad(err, p, "expected a dataset object");
    }
    enum err_code rc = only_members(v, p, allowed, err);
    struct json_val f;
    enum etl_cast_policy policy = ETL_CAST_NULL;
    if (rc == ERR_OK && !json_object_get(v, "name", &f)) {
        rc = bad(err, p, "a dataset needs a name");
    }
    if (rc == ERR_OK) {
        size_t saved = path_push(p, ".name");
        rc = take_string(&f, p, &d->name, err);
        if (rc == ERR_OK && !dataset_name_ok(d->name)) {
            rc = bad(err, p,
                     "\"%.60s\": 1 to %d letters, digits, '_', '-' or '.', not starting with '_' "
                     "or '.'",
                     d->name, DATASET_NAME_MAX);
        }
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "on_cast_error", &f)) {
        size_t saved = path_push(p, ".on_cast_error");
        rc = take_policy(&f, p, &policy, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "when", &f)) {
        size_t saved = path_push(p, ".when");
        rc = take_expr(&f, p, &d->when, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "mappings", &f)) {
        size_t saved = path_push(p, ".mappings");
        rc = take_mappings(&f, p, policy, d, err);
        path_pop(p, saved);
    }
    d->keep_unmapped = !d->has_mappings;
    if (rc == ERR_OK && json_object_get(v, "keep_unmapped", &f)) {
        size_t saved = path_push(p, ".keep_unmapped");
        rc = take_bool(&f, p, &d->keep_unmapped, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "flatten", &f)) {
        size_t saved = path_push(p, ".flatten");
        rc = take_flatten(&f, p, d, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "rename", &f)) {
        size_t saved = path_push(p, ".rename");
        rc = take_renames(&f, p, d, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "select", &f)) {
        size_t saved = path_push(p, ".select");
        d->has_select = true;
        rc = take_strings(&f, p, &d->select, &d->n_select, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "drop", &f)) {
        size_t saved = path_push(p, ".drop");
        rc = take_strings(&f, p, &d->drop, &d->n_drop, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "constants", &f)) {
        size_t saved = path_push(p, ".constants");
        rc = take_constants(&f, p, d, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "derive", &f)) {
        size_t saved = path_push(p, ".derive");
        rc = take_derive(&f, p, policy, d, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "filter", &f)) {
        size_t saved = path_push(p, ".filter");
        rc = take_expr(&f, p, &d->filter, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "dedupe", &f)) {
        size_t saved = path_push(p, ".dedupe");
        rc = take_dedupe(&f, p, d, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "pii", &f)) {
        size_t saved = path_push(p, ".pii");
        rc = take_pii(&f, p, d, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "rules", &f)) {
        size_t saved = path_push(p, ".rules");
        rc = take_string(&f, p, &d->rules, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && json_object_get(v, "rule_actions", &f)) {
        size_t saved = path_push(p, ".rule_actions");
        rc = take_rule_actions(&f, p, d, err);
        path_pop(p, saved);
    }
    if (rc == ERR_OK && d->n_rule_actions > 0 && d->rules == NULL) {
        rc = bad(err, p, "rule_actions without rules");
    }
    if (rc == ERR_OK && d->rules != NULL) {
        rc = compile_rules(d, p, err);
    }
    return rc;
}

static enum err_code
take_key(const struct json_val *v, struct spec_path *p, struct etl_spec *spec, struct err *err)
{
    static const char *const allowed[] = {"env", "secret_arn", "secret_arn_env", NULL};
    static const char *const expected =
        "expected {\"env\": \"VARIABLE\"}, {\"secret_arn\": \"arn:...\"} or "
        "{\"secret_arn_env\": \"VARIABLE\"}";
    struct json_val f;
    if (v->type != JSON_OBJECT || json_count(v) != 1) {
        return bad(err, p, expected);
    }
    enum err_code rc = only_members(v, p, allowed, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t saved = 0;
    if (json_object_get(v, "env", &f)) {
        spec->key_source = ETL_PII_KEY_ENV;
        saved = path_push(p, ".env");
    } else if (json_object_get(v, "secret_arn_env", &f)) {
        spec->key_source = ETL_PII_KEY_SECRET_ENV;
        saved = path_push(p, ".secret_arn_env");
    } else {
        (void)json_object_get(v, "secret_arn", &f);
        spec->key_source = ETL_PII_KEY_SECRET;
        saved = path_push(p, ".secret_arn");
    }
    rc = take_string(&f, p, &spec->key_ref, err);
    if (rc == ERR_OK && spec->key_source == ETL_PII_KEY_SECRET &&
        strncmp(spec->key_ref, "arn:", 4) != 0) {
        rc = bad(err, p, "expected a Secrets Manager ARN (arn:aws:secretsmanager:...)");
    }
    path_pop(p, saved);
    return rc;
}

enum err_code etl_spec_parse(struct cur json, struct etl_spec **out, struct err *err)
{
    struct json_val root, f;
    struct spec_path p = {"", 0};
    *out = NULL;
    struct err jerr = ERR_INIT;
    if (json_validate(json, SPEC_MAX_DEPTH, &root, &jerr) != ERR_OK) {
        return err_set(err, ERR_CONFIG, "ETL_TRANSFORM is not valid JSON: %s", jerr.msg);
    }
    if (root.type != JSON_OBJECT) {
        return bad(err, &p, "expected a JSON object {\"version\": 1, \"datasets\": [...]}");
    }
    struct etl_spec *spec = calloc(1, sizeof(*spec));
    if (spec == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
    }
    static const char *const allowed[] = {"version", "pii_key", "datasets", NULL};
    enum err_code rc = only_members(&root, &p, allowed, err);
    int64_t version = 0;
    if (rc == ERR_OK && !json_object_get(&root, "version", &f)) {
        rc = bad(err, &p, "\"version\" is required (1)");
    }
    if (rc == ERR_OK) {
        size_t saved = path_push(&p, "version");
        rc = take_int(&f, &p, ETL_SPEC_VERSION, ETL_SPEC_VERSION, &version, err);
        spec->version = (int)version;
        path_pop(&p, saved);
    }
    if (rc == ERR_OK && json_object_get(&root, "pii_key", &f)) {
        size_t saved = path_push(&p, "pii_key");
        rc = take_key(&f, &p, spec, err);
        path_pop(&p, saved);
    }
    if (rc == ERR_OK && (!json_object_get(&root, "datasets", &f) || f.type != JSON_ARRAY ||
                         json_count(&f) == 0 || json_count(&f) > SPEC_MAX_DATASETS)) {
        rc = bad(err, &p, "\"datasets\" must be an array of 1 to %d datasets", SPEC_MAX_DATASETS);
    }
    if (rc == ERR_OK) {
        spec->datasets = calloc(json_count(&f), sizeof(*spec->datasets));
        if (spec->datasets == NULL) {
            rc = err_set(err, ERR_NOMEM, "out of memory reading ETL_TRANSFORM");
        }
    }
    struct json_iter it;
    struct json_val d;
    if (rc == ERR_OK) {
        json_iter_init(&it, &f);
    }
    for (size_t i = 0; rc == ERR_OK && json_array_next(&it, &d); i++) {
        size_t saved = path_push(&p, "datasets[%zu]", i);
        spec->n_datasets = i + 1;
        rc = take_dataset(&d, &p, &spec->datasets[i], err);
        for (size_t j = 0; rc == ERR_OK && j < i; j++) {
            if (strcmp(spec->datasets[j].name, spec->datasets[i].name) == 0) {
                rc = bad(err, &p, "dataset name \"%s\" is also datasets[%zu]'s",
                         spec->datasets[i].name, j);
            }
        }
        path_pop(&p, saved);
    }
    if (rc == ERR_OK && etl_spec_needs_key(spec) && spec->key_source == ETL_PII_KEY_NONE) {
        rc = bad(err, &p,
                 "hmac_sha256 needs \"pii_key\": {\"env\": ...}, {\"secret_arn\": ...} or "
                 "{\"secret_arn_env\": ...}");
    }
    if (rc != ERR_OK) {
        etl_spec_free(spec);
        return rc;
    }
    *out = spec;
    return ERR_OK;
}

bool etl_spec_needs_key(const struct etl_spec *spec)
{
    for (size_t i = 0; i < spec->n_datasets; i++) {
        for (size_t j = 0; j < spec->datasets[i].n_pii; j++) {
            if (spec->datasets[i].pii[j].method == ETL_PII_HMAC_SHA256) {
                return true;
            }
        }
    }
    return false;
}

static void free_name(struct etl_spec_name *n)
{
    free(n->text);
    free(n->json);
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static void free_dataset(struct etl_spec_dataset *d)
{
    free(d->name);
    etl_expr_free(d->when);
    for (size_t i = 0; i < d->n_mappings; i++) {
        struct etl_spec_mapping *m = &d->mappings[i];
        etl_colpath_cleanup(&m->source);
        free(m->source_text);
        etl_typespec_free(m->source_type);
        free_name(&m->target);
        etl_typespec_free(m->type);
    }
    free(d->mappings);
    free(d->flatten_sep);
    for (size_t i = 0; i < d->n_renames; i++) {
        free(d->renames[i].from);
        free_name(&d->renames[i].to);
    }
    free(d->renames);
    free_strings(d->select, d->n_select);
    free_strings(d->drop, d->n_drop);
    for (size_t i = 0; i < d->n_constants; i++) {
        free_name(&d->constants[i].name);
        free(d->constants[i].value_json);
    }
    free(d->constants);
    for (size_t i = 0; i < d->n_derive; i++) {
        free_name(&d->derive[i].name);
        etl_expr_free(d->derive[i].expr);
        etl_typespec_free(d->derive[i].type);
    }
    free(d->derive);
    etl_expr_free(d->filter);
    free_strings(d->dedupe_keys, d->n_dedupe_keys);
    for (size_t i = 0; i < d->n_pii; i++) {
        free(d->pii[i].column);
        free(d->pii[i].replacement);
    }
    free(d->pii);
    free(d->rules);
    etl_dq_free(d->dq);
    for (size_t i = 0; i < d->n_rule_actions; i++) {
        free(d->rule_actions[i].rule);
    }
    free(d->rule_actions);
}

void etl_spec_free(struct etl_spec *spec)
{
    if (spec == NULL) {
        return;
    }
    for (size_t i = 0; i < spec->n_datasets; i++) {
        free_dataset(&spec->datasets[i]);
    }
    free(spec->datasets);
    free(spec->key_ref);
    free(spec);
}

unsigned etl_spec_meta_omit(const struct etl_spec_dataset *d)
{
    unsigned omit = 0;
    for (int m = 0; m < ETL_META_COUNT; m++) {
        const char *name = etl_meta_cols[m].name;
        for (size_t i = 0; i < d->n_drop; i++) {
            if (strcmp(d->drop[i], name) == 0) {
                omit |= 1u << m;
            }
        }
        for (size_t i = 0; i < d->n_renames; i++) {
            if (strcmp(d->renames[i].from, name) == 0) {
                omit |= 1u << m;
            }
        }
    }
    return omit;
}

void etl_spec_declared(const struct etl_spec_dataset *d,
                       void (*fn)(void *ctx, const char *name, const char *athena_type),
                       void *ctx)
{
    char type[160];
    for (size_t i = 0; i < d->n_mappings; i++) {
        etl_typespec_name(d->mappings[i].type, type, sizeof(type));
        fn(ctx, d->mappings[i].target.text, type);
    }
    for (size_t i = 0; i < d->n_derive; i++) {
        if (d->derive[i].type != NULL) {
            etl_typespec_name(d->derive[i].type, type, sizeof(type));
            fn(ctx, d->derive[i].name.text, type);
        }
    }
}
