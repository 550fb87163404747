/*
 * etl_dq_partial.c - aggregates per leaf rule: merging (Chan et al.'s pairwise update for mean
 * and M2), and the JSON form saved in checkpoints, written with jsonw and read with the json.h
 * scanner.
 */
#include "etl_dq_partial.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_dq_private.h"
#include "json.h"

#define PARTIAL_VERSION 1
/* Partials nest three levels (document, leaves, distinct); anything deeper is not one. */
#define PARTIAL_MAX_DEPTH 8

enum err_code
etl_dq_partial_new(const struct etl_dq_rules *r, struct etl_dq_partial **out, struct err *err)
{
    *out = NULL;
    struct etl_dq_partial *p = calloc(1, sizeof(*p));
    size_t cols = 0;
    for (size_t i = 0; i < r->n_leaves; i++) {
        cols += r->leaves[i].n_cols;
    }
    if (p != NULL) {
        p->rules = r;
        p->aggs = calloc(r->n_leaves > 0 ? r->n_leaves : 1, sizeof(*p->aggs));
        p->nonnull = calloc(cols > 0 ? cols : 1, sizeof(*p->nonnull));
    }
    if (p == NULL || p->aggs == NULL || p->nonnull == NULL) {
        etl_dq_partial_free(p);
        return err_set(err, ERR_NOMEM, "dq: out of memory");
    }
    for (size_t i = 0, c = 0; i < r->n_leaves; i++) {
        p->aggs[i].nonnull = p->nonnull + c;
        c += r->leaves[i].n_cols;
        etl_dq_hashset_init(&p->aggs[i].set, r->max_distinct);
    }
    *out = p;
    return ERR_OK;
}

void etl_dq_partial_free(struct etl_dq_partial *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; p->aggs != NULL && i < p->rules->n_leaves; i++) {
        etl_dq_hashset_cleanup(&p->aggs[i].set);
    }
    free(p->aggs);
    free(p->nonnull);
    free(p);
}

void etl_dq_partial_reset(struct etl_dq_partial *p)
{
    for (size_t i = 0; i < p->rules->n_leaves; i++) {
        struct etl_dq_agg *a = &p->aggs[i];
        uint64_t *nonnull = a->nonnull;
        etl_dq_hashset_cleanup(&a->set);
        memset(a, 0, sizeof(*a));
        a->nonnull = nonnull;
        memset(nonnull, 0, p->rules->leaves[i].n_cols * sizeof(*nonnull));
        etl_dq_hashset_init(&a->set, p->rules->max_distinct);
    }
    p->rows = 0;
    p->rows_failed = 0;
}

size_t etl_dq_partial_bytes(const struct etl_dq_partial *p)
{
    size_t bytes = 0;
    for (size_t i = 0; i < p->rules->n_leaves; i++) {
        bytes += p->aggs[i].set.cap * sizeof(*p->aggs[i].set.slots);
    }
    return bytes;
}

uint64_t etl_dq_partial_rows(const struct etl_dq_partial *p)
{
    return p->rows;
}

uint64_t etl_dq_partial_rows_failed(const struct etl_dq_partial *p)
{
    return p->rows_failed;
}

/* ---- aggregates ---- */

/* Adds a + b into *sum exactly; past 38 digits the exact sum is given up (sum_ld keeps it). */
static enum err_code add_exact(struct etl_dq_agg *a, const struct etl_decimal *b, struct err *err)
{
    if (a->sum_inexact) {
        return ERR_OK;
    }
    struct etl_decimal t;
    struct err local = ERR_INIT;
    enum err_code rc = etl_decimal_add(&a->sum, b, false, &t, &local);
    if (rc == ERR_OK) {
        a->sum = t;
    } else if (rc == ERR_INVALID_INPUT) {
        a->sum_inexact = true;
    } else {
        *err = local;
        return rc;
    }
    return ERR_OK;
}

enum err_code etl_dq_agg_add_number(struct etl_dq_agg *a,
                                    const struct etl_decimal *dec,
                                    long double x,
                                    struct err *err)
{
    enum err_code rc = add_exact(a, dec, err);
    a->n++;
    a->sum_ld += x;
    /* Welford: the mean and the sum of squared deviations (M2) in one pass */
    long double delta = x - a->mean;
    a->mean += delta / (long double)a->n;
    a->m2 += delta * (x - a->mean);
    return rc;
}

void etl_dq_agg_error(struct etl_dq_agg *a, const struct err *e)
{
    if (a->errors++ == 0) {
        snprintf(a->first_error, sizeof(a->first_error), "%s", e->msg);
    }
}

/* Chan, Golub and LeVeque's combination of two (count, mean, M2) summaries. */
static void merge_moments(struct etl_dq_agg *a, const struct etl_dq_agg *b)
{
    if (b->n == 0) {
        return;
    }
    if (a->n == 0) {
        a->mean = b->mean;
        a->m2 = b->m2;
        return;
    }
    long double na = (long double)a->n, nb = (long double)b->n, n = na + nb;
    long double delta = b->mean - a->mean;
    a->mean += delta * nb / n;
    a->m2 += b->m2 + delta * delta * na * nb / n;
}

static enum err_code
merge_agg(struct etl_dq_agg *a, const struct etl_dq_agg *b, size_t n_cols, struct err *err)
{
    a->rows += b->rows;
    a->pass += b->pass;
    a->null_fail += b->null_fail;
    for (size_t c = 0; c < n_cols; c++) {
        a->nonnull[c] += b->nonnull[c];
    }
    a->grouped += b->grouped;
    if (b->has_range) {
        a->min = a->has_range && a->min <= b->min ? a->min : b->min;
        a->max = a->has_range && a->max >= b->max ? a->max : b->max;
        a->has_range = true;
    }
    merge_moments(a, b);
    a->n += b->n;
    a->bad += b->bad;
    a->sum_ld += b->sum_ld;
    enum err_code rc = ERR_OK;
    if (b->sum_inexact) {
        a->sum_inexact = true;
    } else {
        rc = add_exact(a, &b->sum, err);
    }
    if (a->errors == 0 && b->errors > 0) {
        memcpy(a->first_error, b->first_error, sizeof(a->first_error));
    }
    a->errors += b->errors;
    return rc == ERR_OK ? etl_dq_hashset_merge(&a->set, &b->set, err) : rc;
}

/* Rules compiled from the same ruleset (one per thread, say) have the same leaves. */
static bool same_rules(const struct etl_dq_rules *a, const struct etl_dq_rules *b)
{
    if (a == b) {
        return true;
    }
    if (a->n_leaves != b->n_leaves) {
        return false;
    }
    for (size_t i = 0; i < a->n_leaves; i++) {
        if (strcmp(a->leaves[i].src->text, b->leaves[i].src->text) != 0) {
            return false;
        }
    }
    return true;
}

enum err_code
etl_dq_partial_merge(struct etl_dq_partial *dst, const struct etl_dq_partial *src, struct err *err)
{
    if (!same_rules(dst->rules, src->rules)) {
        return err_set(err, ERR_INVALID_INPUT, "dq: partials of different rulesets do not merge");
    }
    enum err_code rc = ERR_OK;
    for (size_t i = 0; i < dst->rules->n_leaves && rc == ERR_OK; i++) {
        rc = merge_agg(&dst->aggs[i], &src->aggs[i], dst->rules->leaves[i].n_cols, err);
    }
    dst->rows += src->rows;
    dst->rows_failed += src->rows_failed;
    return rc;
}

/* ---- writing ---- */

static void write_long_double(struct jsonw *w, const char *key, long double v)
{
    char text[64];
    snprintf(text, sizeof(text), "%.*Lg", LDBL_DECIMAL_DIG, v);
    jsonw_key(w, key);
    jsonw_str(w, text);
}

/* The exact sum as 0.<digits>E<exp> (a form etl_decimal_parse reads back). */
static void write_decimal(struct jsonw *w, const char *key, const struct etl_decimal *d)
{
    char text[ETL_DECIMAL_MAX_DIGITS + 32];
    if (d->n == 0) {
        snprintf(text, sizeof(text), "0");
    } else {
        snprintf(text, sizeof(text), "%s0.%.*sE%d", d->neg ? "-" : "", (int)d->n, d->digits,
                 (int)d->exp);
    }
    jsonw_key(w, key);
    jsonw_str(w, text);
}

static void write_agg(struct jsonw *w, const struct etl_dq_leaf *leaf, const struct etl_dq_agg *a)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "rule");
    jsonw_str(w, leaf->src->text);
    jsonw_key(w, "rows");
    jsonw_u64(w, a->rows);
    jsonw_key(w, "pass");
    jsonw_u64(w, a->pass);
    jsonw_key(w, "null_fail");
    jsonw_u64(w, a->null_fail);
    jsonw_key(w, "nonnull");
    jsonw_array(w, JSONW_COMPACT);
    for (size_t c = 0; c < leaf->n_cols; c++) {
        jsonw_u64(w, a->nonnull[c]);
    }
    jsonw_end(w);
    if (a->grouped > 0 || a->set.n > 0 || a->set.overflowed) {
        struct buf hashes = BUF_INIT(BUF_NO_LIMIT);
        struct err err = ERR_INIT;
        jsonw_key(w, "grouped");
        jsonw_u64(w, a->grouped);
        jsonw_key(w, "distinct");
        jsonw_object(w, JSONW_COMPACT);
        jsonw_key(w, "n");
        jsonw_u64(w, a->set.n);
        jsonw_key(w, "once");
        jsonw_u64(w, a->set.once);
        if (a->set.overflowed) {
            jsonw_key(w, "overflowed");
            jsonw_bool(w, true);
        }
        jsonw_key(w, "hashes");
        if (etl_dq_hashset_encode(&a->set, &hashes, &err) != ERR_OK) {
            jsonw_fail(w, &err);
        }
        jsonw_strn(w, (const char *)buf_cstr(&hashes), hashes.len);
        buf_cleanup(&hashes);
        jsonw_end(w);
    }
    if (a->has_range) {
        jsonw_key(w, "min");
        jsonw_double(w, "%.17g", a->min);
        jsonw_key(w, "max");
        jsonw_double(w, "%.17g", a->max);
    }
    if (a->n > 0 || a->bad > 0) {
        jsonw_key(w, "n");
        jsonw_u64(w, a->n);
        jsonw_key(w, "bad");
        jsonw_u64(w, a->bad);
        if (a->sum_inexact) {
            jsonw_key(w, "sum_inexact");
            jsonw_bool(w, true);
        } else {
            write_decimal(w, "sum", &a->sum);
        }
        write_long_double(w, "sum_ld", a->sum_ld);
        write_long_double(w, "mean", a->mean);
        write_long_double(w, "m2", a->m2);
    }
    if (a->errors > 0) {
        jsonw_key(w, "errors");
        jsonw_u64(w, a->errors);
        jsonw_key(w, "first_error");
        jsonw_str(w, a->first_error);
    }
    jsonw_end(w);
}

void etl_dq_partial_write(const struct etl_dq_partial *p, struct jsonw *w)
{
    jsonw_object(w, JSONW_COMPACT);
    jsonw_key(w, "version");
    jsonw_i64(w, PARTIAL_VERSION);
    jsonw_key(w, "rows");
    jsonw_u64(w, p->rows);
    jsonw_key(w, "rows_failed");
    jsonw_u64(w, p->rows_failed);
    jsonw_key(w, "leaves");
    jsonw_array(w, JSONW_COMPACT);
    for (size_t i = 0; i < p->rules->n_leaves; i++) {
        write_agg(w, &p->rules->leaves[i], &p->aggs[i]);
    }
    jsonw_end(w);
    jsonw_end(w);
}

enum err_code
etl_dq_partial_to_json(const struct etl_dq_partial *p, struct buf *out, struct err *err)
{
    struct jsonw w;
    jsonw_init(&w, out, err);
    etl_dq_partial_write(p, &w);
    return jsonw_finish(&w);
}

/* ---- reading ---- */

struct reader {
    struct err *err;
    enum err_code rc;
    size_t leaf;
    struct buf scratch;
};

PRINTF_FMT(2, 3)
static void bad(struct reader *rd, const char *fmt, ...)
{
    if (rd->rc != ERR_OK) {
        return;
    }
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rd->rc = err_set(rd->err, ERR_INVALID_INPUT, "dq: partial, leaf %zu: %s", rd->leaf + 1, msg);
}

static uint64_t
get_u64(struct reader *rd, const struct json_val *obj, const char *key, bool required)
{
    struct json_val v;
    int64_t n = 0;
    if (!json_object_get(obj, key, &v)) {
        if (required) {
            bad(rd, "\"%s\" is missing", key);
        }
        return 0;
    }
    if (v.type != JSON_NUMBER || !cur_to_i64(v.raw, &n)) {
        bad(rd, "\"%s\" is not a count", key);
        return 0;
    }
    return (uint64_t)n;
}

/* A string member into rd->scratch (NUL-terminated); false when absent. */
static bool get_str(struct reader *rd, const struct json_val *obj, const char *key)
{
    struct json_val v;
    buf_reset(&rd->scratch);
    if (!json_object_get(obj, key, &v)) {
        return false;
    }
    if (v.type != JSON_STRING) {
        bad(rd, "\"%s\" is not a string", key);
        return false;
    }
    if (rd->rc == ERR_OK) {
        rd->rc = json_string_unescape(&v, &rd->scratch, rd->err);
    }
    return rd->rc == ERR_OK;
}

static long double get_long_double(struct reader *rd, const struct json_val *obj, const char *key)
{
    if (!get_str(rd, obj, key)) {
        bad(rd, "\"%s\" is missing", key);
        return 0;
    }
    char *end = NULL;
    long double v = strtold(buf_cstr(&rd->scratch), &end);
    if (end == buf_cstr(&rd->scratch) || *end != '\0') {
        bad(rd, "\"%s\" is not a number", key);
    }
    return v;
}

static double get_double(struct reader *rd, const struct json_val *obj, const char *key)
{
    struct json_val v;
    char text[64];
    if (!json_object_get(obj, key, &v) || v.type != JSON_NUMBER || v.raw.len >= sizeof(text)) {
        bad(rd, "\"%s\" is not a number", key);
        return 0;
    }
    memcpy(text, v.raw.ptr, v.raw.len);
    text[v.raw.len] = '\0';
    return strtod(text, NULL);
}

static void read_numbers(struct reader *rd, const struct json_val *o, struct etl_dq_agg *a)
{
    struct json_val v;
    a->n = get_u64(rd, o, "n", false);
    a->bad = get_u64(rd, o, "bad", false);
    if (a->n == 0 && a->bad == 0) {
        return;
    }
    a->sum_inexact = json_object_get(o, "sum_inexact", &v) && v.type == JSON_TRUE;
    if (!a->sum_inexact) {
        if (!get_str(rd, o, "sum")) {
            bad(rd, "\"sum\" is missing");
        } else if (rd->rc == ERR_OK) {
            rd->rc = etl_decimal_parse(buf_cur(&rd->scratch), &a->sum, rd->err);
        }
    }
    a->sum_ld = get_long_double(rd, o, "sum_ld");
    a->mean = get_long_double(rd, o, "mean");
    a->m2 = get_long_double(rd, o, "m2");
}

static void read_distinct(struct reader *rd, const struct json_val *o, struct etl_dq_agg *a)
{
    struct json_val d, v;
    a->grouped = get_u64(rd, o, "grouped", false);
    if (!json_object_get_type(o, "distinct", JSON_OBJECT, &d)) {
        return;
    }
    a->set.overflowed = json_object_get(&d, "overflowed", &v) && v.type == JSON_TRUE;
    if (!get_str(rd, &d, "hashes")) {
        bad(rd, "\"hashes\" is missing");
    } else if (rd->rc == ERR_OK) {
        rd->rc = etl_dq_hashset_decode(&a->set, buf_cur(&rd->scratch), rd->err);
    }
    if (rd->rc == ERR_OK &&
        (a->set.n != get_u64(rd, &d, "n", true) || a->set.once != get_u64(rd, &d, "once", true))) {
        bad(rd, "the distinct counts do not match the hashes");
    }
}

static void read_agg(struct reader *rd,
                     const struct json_val *o,
                     const struct etl_dq_leaf *leaf,
                     struct etl_dq_agg *a)
{
    struct json_val v;
    if (o->type != JSON_OBJECT) {
        bad(rd, "not an object");
        return;
    }
    if (!get_str(rd, o, "rule") || strcmp(buf_cstr(&rd->scratch), leaf->src->text) != 0) {
        bad(rd, "made by another ruleset (its rule is not %s)", leaf->src->text);
        return;
    }
    a->rows = get_u64(rd, o, "rows", true);
    a->pass = get_u64(rd, o, "pass", true);
    a->null_fail = get_u64(rd, o, "null_fail", true);
    if (!json_object_get_type(o, "nonnull", JSON_ARRAY, &v) || json_count(&v) != leaf->n_cols) {
        bad(rd, "\"nonnull\" needs %zu counts", leaf->n_cols);
        return;
    }
    struct json_iter it;
    struct json_val e;
    json_iter_init(&it, &v);
    for (size_t c = 0; json_array_next(&it, &e); c++) {
        int64_t n = 0;
        if (e.type != JSON_NUMBER || !cur_to_i64(e.raw, &n)) {
            bad(rd, "\"nonnull\" holds a value that is not a count");
        }
        a->nonnull[c] = (uint64_t)n;
    }
    a->has_range = json_object_get(o, "min", &v);
    if (a->has_range) {
        a->min = get_double(rd, o, "min");
        a->max = get_double(rd, o, "max");
    }
    read_numbers(rd, o, a);
    read_distinct(rd, o, a);
    a->errors = get_u64(rd, o, "errors", false);
    if (a->errors > 0 && get_str(rd, o, "first_error")) {
        snprintf(a->first_error, sizeof(a->first_error), "%s", buf_cstr(&rd->scratch));
    }
}

enum err_code etl_dq_partial_from_json(struct etl_dq_partial *p, struct cur json, struct err *err)
{
    struct json_val root, leaves, v;
    struct etl_dq_partial *tmp = NULL;
    struct reader rd = {err, ERR_OK, 0, BUF_INIT(BUF_NO_LIMIT)};
    rd.rc = json_validate(json, PARTIAL_MAX_DEPTH, &root, err);
    if (rd.rc != ERR_OK) {
        (void)err_prefix(err, "dq: partial");
    }
    if (rd.rc == ERR_OK &&
        (root.type != JSON_OBJECT || !json_object_get_type(&root, "version", JSON_NUMBER, &v) ||
         !cur_eq_str(v.raw, "1"))) {
        rd.rc = err_set(err, ERR_INVALID_INPUT, "dq: not a version 1 partial");
    }
    if (rd.rc == ERR_OK && (!json_object_get_type(&root, "leaves", JSON_ARRAY, &leaves) ||
                            json_count(&leaves) != p->rules->n_leaves)) {
        rd.rc = err_set(err, ERR_INVALID_INPUT,
                        "dq: the partial was made by another ruleset (not %zu rules)",
                        p->rules->n_leaves);
    }
    if (rd.rc == ERR_OK) {
        /* read into a fresh partial, so a bad document leaves p as it was */
        rd.rc = etl_dq_partial_new(p->rules, &tmp, err);
    }
    if (rd.rc == ERR_OK) {
        struct json_iter it;
        struct json_val e;
        json_iter_init(&it, &leaves);
        for (rd.leaf = 0; rd.rc == ERR_OK && json_array_next(&it, &e); rd.leaf++) {
            read_agg(&rd, &e, &p->rules->leaves[rd.leaf], &tmp->aggs[rd.leaf]);
        }
        tmp->rows = get_u64(&rd, &root, "rows", true);
        tmp->rows_failed = get_u64(&rd, &root, "rows_failed", true);
    }
    if (rd.rc == ERR_OK) {
        rd.rc = etl_dq_partial_merge(p, tmp, err);
    }
    etl_dq_partial_free(tmp);
    buf_cleanup(&rd.scratch);
    return rd.rc;
}
