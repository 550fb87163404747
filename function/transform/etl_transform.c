/*
 * etl_transform.c - a spec's steps on one row at a time. The working row is an array of columns
 * (name literal, type, flags, JSON value) pointing into the source store or the per-row arena,
 * so a step rewires pointers instead of copying rows; only values a step computes are new bytes.
 * Metadata columns stay last, whatever the steps add.
 */
#include "etl_transform.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "digest.h"
#include "etl_arena.h"
#include "etl_cast.h"
#include "etl_colpath.h"
#include "etl_value.h"
#include "json.h"

#define TX_ARENA_MAX    (64 * 1024 * 1024) /* one row's computed values: a cap, not a target */
#define TX_KEY_MAX      1024
#define TX_NESTED_DEPTH 64

struct wcol {
    struct cur name; /* JSON string literal */
    enum etl_type type;
    unsigned flags;
    struct cur value; /* JSON text */
};

struct etl_transform {
    const struct etl_spec *spec;
    uint8_t key[TX_KEY_MAX];
    size_t key_len;
    struct etl_arena arena;
    struct wcol *cols;
    size_t n;
    size_t cap;
    int dataset;
    const struct etl_row_ref *src;
    struct buf scratch; /* rendering before a value goes to the arena */
    struct buf fails;   /* the row's failed casts with policy reject: a JSON array, or empty */
    struct etl_expr_env src_env;
    struct etl_expr_env work_env;
};

/* ---- working columns ---- */

static bool name_is(struct cur literal, const char *text)
{
    struct json_val v = {.type = JSON_STRING, .raw = literal};
    return json_string_eq(&v, text);
}

static long find_col(const struct etl_transform *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        if (name_is(t->cols[i].name, name)) {
            return (long)i;
        }
    }
    return -1;
}

static long find_col_literal(const struct etl_transform *t, struct cur literal)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct cur *n = &t->cols[i].name;
        if (n->len == literal.len && memcmp(n->ptr, literal.ptr, n->len) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static enum err_code room(struct etl_transform *t, struct err *err)
{
    struct wcol *cols = mem_grow(t->cols, &t->cap, t->n, sizeof(*cols), 32);
    if (cols == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory transforming a row");
    }
    t->cols = cols;
    return ERR_OK;
}

static void remove_col(struct etl_transform *t, size_t i)
{
    memmove(&t->cols[i], &t->cols[i + 1], (t->n - i - 1) * sizeof(*t->cols));
    t->n--;
}

/* Inserts c at index at. */
static enum err_code insert_col(struct etl_transform *t, size_t at, struct wcol c, struct err *err)
{
    enum err_code rc = room(t, err);
    if (rc != ERR_OK) {
        return rc;
    }
    memmove(&t->cols[at + 1], &t->cols[at], (t->n - at) * sizeof(*t->cols));
    t->cols[at] = c;
    t->n++;
    return ERR_OK;
}

/* Appends at the end (before the metadata columns when before_meta). */
static enum err_code
add_col(struct etl_transform *t, struct wcol c, bool before_meta, struct err *err)
{
    size_t at = t->n;
    while (before_meta && at > 0 && (t->cols[at - 1].flags & ETL_COL_META) != 0) {
        at--;
    }
    return insert_col(t, at, c, err);
}

/* Sets column `name_json` to c (replacing one of that name in place, or adding it). */
static enum err_code set_col(struct etl_transform *t, struct wcol c, struct err *err)
{
    long i = find_col_literal(t, c.name);
    if (i >= 0) {
        c.flags = t->cols[i].flags & ~(unsigned)ETL_COL_META;
        t->cols[i] = c;
        return ERR_OK;
    }
    return add_col(t, c, true, err);
}

/* A value rendered into the arena as a column of name_json. */
static enum err_code value_col(struct etl_transform *t,
                               struct cur name_json,
                               const struct etl_value *v,
                               struct wcol *out,
                               struct err *err)
{
    buf_reset(&t->scratch);
    enum err_code rc = etl_value_render_json(v, &t->scratch, err);
    if (rc == ERR_OK) {
        rc = etl_arena_copy(&t->arena, t->scratch.data, t->scratch.len, &out->value, err);
    }
    out->name = name_json;
    out->type = etl_value_row_type(v);
    out->flags = 0;
    return rc;
}

/* ---- lookups ---- */

/* Follows path segments from `from` inside a JSON value. */
static enum err_code nested(const struct etl_colpath *p,
                            size_t from,
                            struct json_val v,
                            struct etl_arena *arena,
                            struct etl_value *out,
                            struct err *err)
{
    for (size_t i = from; i < p->n; i++) {
        const struct etl_colpath_seg *s = &p->segs[i];
        struct json_val next;
        bool found = false;
        if (s->is_index && v.type == JSON_ARRAY) {
            struct json_iter it;
            json_iter_init(&it, &v);
            for (size_t k = 0; json_array_next(&it, &next); k++) {
                if (k == s->index) {
                    found = true;
                    break;
                }
            }
        } else if (!s->is_index && v.type == JSON_OBJECT) {
            found = json_object_get(&v, s->name, &next);
        }
        if (!found) {
            *out = etl_value_null();
            return ERR_OK;
        }
        v = next;
    }
    return etl_value_from_json(&v, arena, out, err);
}

/* The working row's value at a path. */
static enum err_code
work_lookup(void *ctx, const struct etl_colpath *path, struct etl_value *out, struct err *err)
{
    struct etl_transform *t = ctx;
    long i = find_col(t, path->segs[0].name);
    if (i < 0) {
        *out = etl_value_null();
        return ERR_OK;
    }
    const struct wcol *c = &t->cols[i];
    if (path->n == 1) {
        struct etl_col col = {c->type, c->flags, c->name, c->value};
        return etl_value_from_col(&col, &t->arena, out, err);
    }
    struct json_val v = {.type = json_type_of(c->value), .raw = c->value};
    return nested(path, 1, v, &t->arena, out, err);
}

/* The source row's value at a path. */
static enum err_code
src_lookup(void *ctx, const struct etl_colpath *path, struct etl_value *out, struct err *err)
{
    struct etl_transform *t = ctx;
    return etl_colpath_get(path, t->src->store, t->src->offset, &t->arena, out, err);
}

static enum err_code holds(struct etl_transform *t,
                           const struct etl_expr *e,
                           const struct etl_expr_env *env,
                           bool *yes,
                           struct err *err)
{
    struct etl_value v;
    enum err_code rc = etl_expr_eval(e, env, &v, err);
    *yes = rc == ERR_OK && etl_value_is_true(&v);
    (void)t;
    return rc;
}

/* ---- life ---- */

enum err_code etl_transform_new(const struct etl_spec *spec,
                                const uint8_t *key,
                                size_t key_len,
                                struct etl_transform **out,
                                struct err *err)
{
    if (key_len > TX_KEY_MAX) {
        return err_set(err, ERR_CONFIG, "the PII key is longer than %d bytes", TX_KEY_MAX);
    }
    struct etl_transform *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory for the transform");
    }
    t->spec = spec;
    if (key_len > 0) {
        memcpy(t->key, key, key_len);
    }
    t->key_len = key_len;
    etl_arena_init(&t->arena, TX_ARENA_MAX);
    buf_init(&t->scratch, 0);
    buf_init(&t->fails, 0);
    t->src_env = (struct etl_expr_env){src_lookup, t, &t->arena};
    t->work_env = (struct etl_expr_env){work_lookup, t, &t->arena};
    *out = t;
    return ERR_OK;
}

void etl_transform_free(struct etl_transform *t)
{
    if (t == NULL) {
        return;
    }
    OPENSSL_cleanse(t->key, sizeof(t->key));
    etl_arena_cleanup(&t->arena);
    free(t->cols);
    buf_cleanup(&t->scratch);
    buf_cleanup(&t->fails);
    free(t);
}

const struct etl_expr_env *etl_transform_env(struct etl_transform *t)
{
    return &t->work_env;
}

struct cur etl_transform_failures(const struct etl_transform *t)
{
    return buf_cur(&t->fails);
}

/* ---- steps ---- */

/* Notes a failed cast with policy reject; the row goes on (it is rejected as it would have been
 * written, after the filter), and every such cast is named. */
static enum err_code reject(struct etl_transform *t,
                            struct etl_tx_result *res,
                            const char *target,
                            const struct err *why,
                            struct err *err)
{
    char reason[300];
    if (res->n_cast_failed == 0) {
        snprintf(res->reason, sizeof(res->reason), "CastFailed \"%.60s\": %.200s", target,
                 why->msg);
    }
    res->n_cast_failed++;
    snprintf(reason, sizeof(reason), "CastFailed \"%.60s\": %.200s", target, why->msg);
    enum err_code rc = buf_append_byte(&t->fails, t->fails.len == 0 ? '[' : ',', err);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(&t->fails, reason, strlen(reason), err);
    }
    return rc;
}

/* Casts v to type under the field's policy; *rejected when the row must go. */
static enum err_code cast_value(struct etl_transform *t,
                                const struct etl_value *v,
                                const struct etl_typespec *type,
                                enum etl_cast_policy policy,
                                const char *target,
                                struct etl_value *out,
                                struct etl_tx_result *res,
                                struct err *err)
{
    struct err cerr = ERR_INIT;
    enum err_code rc = etl_cast(v, type, &t->arena, out, &cerr);
    if (rc == ERR_OK) {
        return ERR_OK;
    }
    if (rc != ERR_INVALID_INPUT) {
        *err = cerr;
        return rc;
    }
    switch (policy) {
    case ETL_CAST_NULL:
        *out = etl_value_null();
        return ERR_OK;
    case ETL_CAST_KEEP: {
        struct cur text;
        rc = etl_value_text(v, &t->arena, &text, err);
        *out = etl_value_null();
        out->kind = ETL_V_STRING;
        out->s = text;
        return rc;
    }
    case ETL_CAST_REJECT:
        *out = etl_value_null();
        return reject(t, res, target, &cerr, err);
    }
    return ERR_OK;
}

static bool consumed(const struct etl_spec_dataset *d, struct cur name_literal)
{
    for (size_t i = 0; i < d->n_mappings; i++) {
        if (name_is(name_literal, d->mappings[i].source.segs[0].name)) {
            return true;
        }
    }
    return false;
}

static enum err_code map_columns(struct etl_transform *t,
                                 const struct etl_spec_dataset *d,
                                 struct etl_tx_result *res,
                                 struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < d->n_mappings; i++) {
        const struct etl_spec_mapping *m = &d->mappings[i];
        struct etl_value v, cast;
        struct wcol c;
        rc = etl_colpath_get(&m->source, t->src->store, t->src->offset, &t->arena, &v, err);
        if (rc == ERR_OK) {
            rc = cast_value(t, &v, m->type, m->on_error, m->target.text, &cast, res, err);
        }
        if (rc == ERR_OK) {
            rc = value_col(t, cur_from_str(m->target.json), &cast, &c, err);
        }
        if (rc == ERR_OK) {
            rc = add_col(t, c, false, err);
        }
    }
    /* The source's own columns: unmapped attributes when asked, metadata always, last. */
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t n = 0;
    etl_row_iter_init(&it, t->src->store, t->src->offset);
    (void)etl_row_next(&it, &n);
    while (rc == ERR_OK && etl_row_col(&it, &col)) {
        bool meta = etl_col_is_meta(&col);
        if (!meta && (!d->keep_unmapped || consumed(d, col.name))) {
            continue;
        }
        struct wcol c = {col.name, col.type, col.flags, col.value};
        rc = add_col(t, c, !meta, err);
    }
    return rc;
}

/* The unescaped text of a name literal, in the arena. */
static enum err_code
name_text(struct etl_transform *t, struct cur literal, struct cur *out, struct err *err)
{
    struct json_val v = {.type = JSON_STRING, .raw = literal};
    if (json_string_is_plain(&v)) {
        *out = json_string_inner(&v);
        return ERR_OK;
    }
    buf_reset(&t->scratch);
    enum err_code rc = json_string_unescape(&v, &t->scratch, err);
    return rc == ERR_OK ? etl_arena_copy(&t->arena, t->scratch.data, t->scratch.len, out, err) : rc;
}

static enum etl_type json_row_type(enum json_type jt)
{
    switch (jt) {
    case JSON_STRING:
        return ETL_T_S;
    case JSON_NUMBER:
        return ETL_T_N;
    case JSON_TRUE:
    case JSON_FALSE:
        return ETL_T_BOOL;
    case JSON_NULL:
        return ETL_T_NULL;
    case JSON_ARRAY:
        return ETL_T_L;
    case JSON_OBJECT:
        break;
    }
    return ETL_T_M;
}

/* Inserts the members of obj as prefix<sep>member columns at *at (moving it on), recursing while
 * level < depth. */
static enum err_code flatten_into(struct etl_transform *t,
                                  const struct etl_spec_dataset *d,
                                  struct cur prefix,
                                  const struct json_val *obj,
                                  int level,
                                  size_t *at,
                                  struct err *err)
{
    struct json_iter it;
    struct json_val k, v;
    enum err_code rc = ERR_OK;
    size_t sep_len = strlen(d->flatten_sep);
    json_iter_init(&it, obj);
    while (rc == ERR_OK && json_object_next(&it, &k, &v)) {
        struct cur member;
        rc = name_text(t, k.raw, &member, err);
        uint8_t *text = NULL;
        size_t len = prefix.len + sep_len + member.len;
        if (rc == ERR_OK) {
            rc = etl_arena_alloc(&t->arena, len, &text, err);
        }
        if (rc != ERR_OK) {
            break;
        }
        memcpy(text, prefix.ptr, prefix.len);
        memcpy(text + prefix.len, d->flatten_sep, sep_len);
        memcpy(text + prefix.len + sep_len, member.ptr, member.len);
        struct cur name = cur_make(text, len);
        if (v.type == JSON_OBJECT && level < d->flatten_depth) {
            rc = flatten_into(t, d, name, &v, level + 1, at, err);
            continue;
        }
        buf_reset(&t->scratch);
        rc = buf_append_json_str(&t->scratch, (const char *)name.ptr, name.len, err);
        struct wcol c = {{NULL, 0}, json_row_type(v.type), 0, v.raw};
        if (rc == ERR_OK) {
            rc = etl_arena_copy(&t->arena, t->scratch.data, t->scratch.len, &c.name, err);
        }
        if (rc == ERR_OK && find_col_literal(t, c.name) < 0) {
            rc = insert_col(t, *at, c, err); /* an existing column of that name stays as is */
            *at += rc == ERR_OK ? 1 : 0;
        }
    }
    return rc;
}

static enum err_code
flatten(struct etl_transform *t, const struct etl_spec_dataset *d, struct err *err)
{
    enum err_code rc = ERR_OK;
    /* Each map column before the metadata is replaced, where it stood, by its members. */
    for (size_t i = 0; rc == ERR_OK && i < t->n;) {
        struct wcol c = t->cols[i];
        if ((c.flags & ETL_COL_META) != 0) {
            break;
        }
        if (c.type != ETL_T_M) {
            i++;
            continue;
        }
        struct cur prefix;
        struct json_val obj = {.type = JSON_OBJECT, .raw = c.value};
        rc = name_text(t, c.name, &prefix, err);
        if (rc == ERR_OK) {
            remove_col(t, i);
            rc = flatten_into(t, d, prefix, &obj, 1, &i, err); /* i: past the new columns */
        }
    }
    return rc;
}

static bool in_list(char *const *list, size_t n, struct cur literal)
{
    for (size_t i = 0; i < n; i++) {
        if (name_is(literal, list[i])) {
            return true;
        }
    }
    return false;
}

static void rename_select_drop(struct etl_transform *t, const struct etl_spec_dataset *d)
{
    for (size_t r = 0; r < d->n_renames; r++) {
        long i = find_col(t, d->renames[r].from);
        if (i < 0) {
            continue;
        }
        long other = find_col(t, d->renames[r].to.text);
        if (other >= 0 && other != i) {
            remove_col(t, (size_t)other);
            if (other < i) {
                i--;
            }
        }
        t->cols[i].name = cur_from_str(d->renames[r].to.json);
        /* A renamed metadata column is an ordinary column from now on. */
        t->cols[i].flags &= ~(unsigned)(ETL_COL_META | ETL_COL_RENAMED);
    }
    for (size_t i = 0; d->has_select && i < t->n;) {
        if ((t->cols[i].flags & ETL_COL_META) == 0 &&
            !in_list(d->select, d->n_select, t->cols[i].name)) {
            remove_col(t, i);
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < t->n;) {
        if (in_list(d->drop, d->n_drop, t->cols[i].name)) {
            remove_col(t, i);
        } else {
            i++;
        }
    }
}

static enum err_code
add_constants(struct etl_transform *t, const struct etl_spec_dataset *d, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < d->n_constants; i++) {
        const struct etl_spec_constant *k = &d->constants[i];
        struct cur value = cur_from_str(k->value_json);
        struct wcol c = {cur_from_str(k->name.json), json_row_type(json_type_of(value)), 0, value};
        rc = set_col(t, c, err);
    }
    return rc;
}

static enum err_code derive(struct etl_transform *t,
                            const struct etl_spec_dataset *d,
                            struct etl_tx_result *res,
                            struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < d->n_derive; i++) {
        const struct etl_spec_derive *dv = &d->derive[i];
        struct etl_value v, cast;
        struct wcol c;
        rc = etl_expr_eval(dv->expr, &t->work_env, &v, err);
        if (rc == ERR_OK && dv->type != NULL) {
            rc = cast_value(t, &v, dv->type, dv->on_error, dv->name.text, &cast, res, err);
            v = cast;
        }
        if (rc == ERR_OK) {
            rc = value_col(t, cur_from_str(dv->name.json), &v, &c, err);
        }
        if (rc == ERR_OK) {
            rc = set_col(t, c, err);
        }
        if (rc != ERR_OK && err->code == ERR_INVALID_INPUT) {
            (void)err_prefix(err, "derive \"%s\"", dv->name.text);
        }
    }
    return rc;
}

enum err_code etl_transform_apply(struct etl_transform *t,
                                  const struct etl_row_ref *src,
                                  struct etl_tx_result *res,
                                  struct err *err)
{
    const struct etl_spec *spec = t->spec;
    memset(res, 0, sizeof(*res));
    res->dataset = -1;
    etl_arena_reset(&t->arena);
    buf_reset(&t->fails);
    t->n = 0;
    t->src = src;
    t->dataset = -1;
    enum err_code rc = ERR_OK;
    for (size_t i = 0; i < spec->n_datasets && t->dataset < 0; i++) {
        bool yes = spec->datasets[i].when == NULL;
        if (!yes) {
            rc = holds(t, spec->datasets[i].when, &t->src_env, &yes, err);
            if (rc != ERR_OK) {
                (void)err_prefix(err, "datasets[%zu].when", i);
                return rc;
            }
        }
        if (yes) {
            t->dataset = (int)i;
        }
    }
    res->dataset = t->dataset;
    if (t->dataset < 0) {
        res->outcome = ETL_TX_UNROUTED;
        return ERR_OK;
    }
    const struct etl_spec_dataset *d = &spec->datasets[t->dataset];
    rc = map_columns(t, d, res, err);
    if (rc == ERR_OK && d->flatten_depth > 0) {
        rc = flatten(t, d, err);
    }
    if (rc == ERR_OK) {
        rc = add_constants(t, d, err);
    }
    if (rc == ERR_OK) {
        rc = derive(t, d, res, err);
    }
    if (rc == ERR_OK && res->outcome == ETL_TX_KEEP && d->filter != NULL) {
        bool keep = false;
        rc = holds(t, d->filter, &t->work_env, &keep, err);
        if (rc != ERR_OK) {
            (void)err_prefix(err, "filter");
        }
        if (rc == ERR_OK && !keep) {
            res->outcome = ETL_TX_FILTERED;
            buf_reset(&t->fails);
        }
    }
    if (rc == ERR_OK && res->outcome == ETL_TX_KEEP && res->n_cast_failed > 0) {
        res->outcome = ETL_TX_REJECTED;
        rc = buf_append_byte(&t->fails, ']', err);
    }
    if (rc == ERR_OK) {
        rename_select_drop(t, d); /* the output's shape, last: earlier steps see every column */
    }
    return rc;
}

enum err_code etl_transform_load(struct etl_transform *t,
                                 int dataset,
                                 const struct etl_row_ref *row,
                                 struct err *err)
{
    struct etl_row_iter it;
    struct etl_col col;
    uint32_t n = 0;
    etl_arena_reset(&t->arena);
    t->n = 0;
    t->dataset = dataset;
    t->src = row;
    etl_row_iter_init(&it, row->store, row->offset);
    if (!etl_row_next(&it, &n)) {
        return err_set(err, ERR_INVALID_INPUT, "transform: no row at %zu", row->offset);
    }
    enum err_code rc = ERR_OK;
    while (rc == ERR_OK && etl_row_col(&it, &col)) {
        struct wcol c = {col.name, col.type, col.flags, col.value};
        rc = add_col(t, c, false, err);
    }
    return rc;
}

static enum err_code write_row(struct etl_transform *t,
                               const struct etl_col *extra,
                               struct buf *store,
                               size_t *offset,
                               struct err *err)
{
    struct etl_row_builder rb;
    *offset = store->len;
    enum err_code rc = etl_row_begin(&rb, store, err);
    for (size_t i = 0; rc == ERR_OK && i < t->n; i++) {
        const struct wcol *c = &t->cols[i];
        rc = etl_row_add(&rb, c->type, c->flags, c->name, c->value, err);
    }
    if (rc == ERR_OK && extra != NULL) {
        rc = etl_row_add(&rb, extra->type, extra->flags, extra->name, extra->value, err);
    }
    if (rc != ERR_OK) {
        etl_row_abandon(&rb);
        return rc;
    }
    etl_row_end(&rb);
    return ERR_OK;
}

enum err_code
etl_transform_store(struct etl_transform *t, struct buf *store, size_t *offset, struct err *err)
{
    return write_row(t, NULL, store, offset, err);
}

/* Keeps the first or last `keep` code points of s (UTF-8). */
static struct cur keep_chars(struct cur s, int keep, bool from_start)
{
    size_t chars = 0;
    for (size_t i = 0; i < s.len; i++) {
        chars += (s.ptr[i] & 0xC0) != 0x80;
    }
    if (chars <= (size_t)keep) {
        return s;
    }
    size_t skip = from_start ? (size_t)keep : chars - (size_t)keep;
    size_t seen = 0, at = 0;
    for (at = 0; at < s.len; at++) {
        if ((s.ptr[at] & 0xC0) != 0x80) {
            if (seen == skip) {
                break;
            }
            seen++;
        }
    }
    return from_start ? cur_make(s.ptr, at) : cur_make(s.ptr + at, s.len - at);
}

static enum err_code
pii_one(struct etl_transform *t, const struct etl_spec_pii *x, struct wcol *c, struct err *err)
{
    struct etl_value v;
    struct etl_col col = {c->type, c->flags, c->name, c->value};
    enum err_code rc = etl_value_from_col(&col, &t->arena, &v, err);
    if (rc != ERR_OK || v.kind == ETL_V_NULL) {
        return rc;
    }
    struct cur text = {NULL, 0}, result = {NULL, 0};
    char hex[DIGEST_SHA256_HEX];
    switch (x->method) {
    case ETL_PII_HMAC_SHA256: {
        uint8_t mac[DIGEST_SHA256_BYTES];
        rc = etl_value_text(&v, &t->arena, &text, err);
        if (rc == ERR_OK) {
            rc = digest_hmac_sha256(t->key, t->key_len, text.ptr, text.len, mac, err);
        }
        digest_hex(mac, sizeof(mac), hex, sizeof(hex));
        result = cur_from_str(hex);
        break;
    }
    case ETL_PII_REDACT:
        result = cur_from_str(x->replacement);
        break;
    case ETL_PII_TRUNCATE:
        rc = etl_value_text(&v, &t->arena, &text, err);
        result = keep_chars(text, x->keep, x->keep_start);
        break;
    }
    buf_reset(&t->scratch);
    if (rc == ERR_OK) {
        rc = buf_append_json_str(&t->scratch, (const char *)result.ptr, result.len, err);
    }
    if (rc == ERR_OK) {
        rc = etl_arena_copy(&t->arena, t->scratch.data, t->scratch.len, &c->value, err);
        c->type = ETL_T_S;
    }
    return rc;
}

enum err_code etl_transform_emit(struct etl_transform *t,
                                 const struct etl_col *extra,
                                 struct buf *store,
                                 size_t *offset,
                                 struct err *err)
{
    enum err_code rc = ERR_OK;
    if (t->dataset >= 0) {
        const struct etl_spec_dataset *d = &t->spec->datasets[t->dataset];
        for (size_t i = 0; rc == ERR_OK && i < d->n_pii; i++) {
            long c = find_col(t, d->pii[i].column);
            if (c >= 0) {
                rc = pii_one(t, &d->pii[i], &t->cols[c], err);
            }
        }
    }
    return rc == ERR_OK ? write_row(t, extra, store, offset, err) : rc;
}

enum err_code
etl_transform_dedupe_key(struct etl_transform *t, struct buf *out, bool *has_key, struct err *err)
{
    const struct etl_spec_dataset *d = &t->spec->datasets[t->dataset];
    *has_key = d->n_dedupe_keys > 0;
    enum err_code rc = ERR_OK;
    for (size_t i = 0; *has_key && rc == ERR_OK && i < d->n_dedupe_keys; i++) {
        long c = find_col(t, d->dedupe_keys[i]);
        if (i > 0) {
            rc = buf_append_byte(out, 0x1f, err);
        }
        if (rc == ERR_OK) {
            rc = c >= 0 ? buf_append_cur(out, t->cols[c].value, err)
                        : buf_append_str(out, "null", err);
        }
    }
    return rc;
}
