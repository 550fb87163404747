/*
 * etl_expr_func.c - the function library's lookup, the helpers its modules share, and the
 * functions that are not string functions (etl_expr_fstr): regular expressions through
 * etl_regex, times through etl_datetime, the conditional forms and abs. Results borrow their
 * arguments where they can and are otherwise written into the environment's arena.
 */
#include "etl_expr_func.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_cast.h"
#include "etl_datetime.h"
#include "etl_decimal.h"
#include "etl_expr_fstr.h"
#include "etl_expr_parse.h"
#include "etl_regex.h"

/* ---- results and arguments ---- */

void etl_expr_func_set_string(struct etl_value *out, struct cur s)
{
    *out = etl_value_null();
    out->kind = ETL_V_STRING;
    out->s = s;
}

void etl_expr_func_set_bool(struct etl_value *out, bool b)
{
    *out = etl_value_null();
    out->kind = ETL_V_BOOL;
    out->b = b;
}

enum err_code
etl_expr_func_set_i64(struct etl_value *out, int64_t v, struct etl_arena *arena, struct err *err)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%lld", (long long)v);
    *out = etl_value_null();
    out->kind = ETL_V_NUMBER;
    return etl_arena_copy(arena, text, (size_t)n, &out->s, err);
}

/* An integer argument: an integral NUMBER or DOUBLE within int64. */
enum err_code etl_expr_func_int_arg(const struct etl_expr_node *call,
                                    const struct etl_value *v,
                                    const char *what,
                                    int64_t *out,
                                    struct err *err)
{
    struct etl_decimal d;
    struct err ignored = ERR_INIT;
    if (v->kind == ETL_V_NUMBER && etl_decimal_parse(v->s, &d, &ignored) == ERR_OK &&
        etl_decimal_to_i64(&d, out)) {
        return ERR_OK;
    }
    if (v->kind == ETL_V_DOUBLE && isfinite(v->d) && v->d == floor(v->d) && v->d >= -0x1p63 &&
        v->d < 0x1p63) {
        *out = (int64_t)v->d;
        return ERR_OK;
    }
    char desc[80];
    etl_expr_node_describe(v, desc, sizeof(desc));
    return etl_expr_node_fail(call, err, call->fn->name, "%s must be an integer, got %s", what,
                              desc);
}

/* TIMESTAMP, DATE (its midnight) or an ISO-8601 STRING, as epoch ms. */
static enum err_code time_arg(const struct etl_expr_node *call,
                              const struct etl_value *v,
                              int64_t *ms,
                              bool *date_only,
                              struct err *err)
{
    const char *why = NULL;
    *date_only = v->kind == ETL_V_DATE;
    if (v->kind == ETL_V_TIMESTAMP) {
        *ms = v->i;
        return ERR_OK;
    }
    if (v->kind == ETL_V_DATE) {
        *ms = v->i * ETL_DATETIME_MS_PER_DAY;
        return ERR_OK;
    }
    char desc[80];
    etl_expr_node_describe(v, desc, sizeof(desc));
    if (v->kind == ETL_V_STRING) {
        if (etl_datetime_parse_iso8601(v->s, ms, date_only, &why)) {
            return ERR_OK;
        }
        return etl_expr_node_fail(call, err, call->fn->name, "%s is not a time: %s", desc, why);
    }
    return etl_expr_node_fail(call, err, call->fn->name, "expected a timestamp, got %s", desc);
}

/* ---- regular expressions ---- */

static void free_regex(void *p)
{
    etl_regex_free(p);
    free(p);
}

/* Compiles a literal pattern once; a compile error names the column inside the literal. */
static enum err_code prepare_regex(struct etl_expr_node *call, struct cur text, struct err *err)
{
    const struct etl_expr_node *pat = call->kids[1];
    bool with_groups = strcmp(call->fn->name, "regexp_extract") == 0;
    if (!etl_expr_node_is_literal(pat, ETL_V_STRING)) {
        return ERR_OK;
    }
    struct etl_regex *re = calloc(1, sizeof(*re));
    if (re == NULL) {
        return err_set(err, ERR_NOMEM, "out of memory compiling a regular expression");
    }
    size_t where = 0;
    enum err_code rc = etl_regex_compile(pat->lit.s, with_groups, re, &where, err);
    if (rc != ERR_OK) {
        free(re);
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return err_set(err, rc, "column %zu: %s: %s",
                       etl_expr_parse_literal_column(text, pat, where), call->fn->name, msg);
    }
    call->prepared = re;
    call->free_prepared = free_regex;
    if (with_groups && call->n_kids == 3 && call->kids[2]->op == ETL_EXPR_NODE_LITERAL &&
        call->kids[2]->lit.kind == ETL_V_NUMBER) {
        struct etl_decimal d;
        int64_t group = -1;
        struct err ignored = ERR_INIT;
        if (etl_decimal_parse(call->kids[2]->lit.s, &d, &ignored) != ERR_OK ||
            !etl_decimal_to_i64(&d, &group) || group < 0 || (uint64_t)group > re->n_groups) {
            return etl_expr_node_fail(call->kids[2], err, "regexp_extract",
                                      "pattern has %zu groups, cannot access group %.*s",
                                      re->n_groups, (int)call->kids[2]->lit.s.len,
                                      (const char *)call->kids[2]->lit.s.ptr);
        }
    }
    return ERR_OK;
}

/* A NUL-terminated copy of s in the arena: regexec's subject must be followed by a NUL
 * (etl_regex.h). */
static enum err_code
terminated(struct cur s, struct etl_arena *arena, struct cur *out, struct err *err)
{
    uint8_t *copy = NULL;
    enum err_code rc = etl_arena_alloc(arena, s.len + 1, &copy, err);
    if (rc == ERR_OK) {
        if (s.len > 0) {
            memcpy(copy, s.ptr, s.len);
        }
        copy[s.len] = '\0';
        *out = cur_make(copy, s.len);
    }
    return rc;
}

/* Searches with the prepared regex, or one compiled for this call (a pattern that is not a
 * literal). *match is the group's text when with_groups. */
static enum err_code search(const struct etl_expr_node *call,
                            const struct etl_value *args,
                            const struct etl_expr_env *env,
                            bool with_groups,
                            int64_t group,
                            bool *found,
                            struct cur *match,
                            struct err *err)
{
    struct cur s, pattern;
    struct etl_regex local;
    struct etl_regex_span spans[ETL_REGEX_MAX_GROUPS + 1];
    const struct etl_regex *re = call->prepared;
    bool own = false;
    size_t where = 0;
    enum err_code rc = etl_value_text(&args[0], env->arena, &s, err);
    if (rc == ERR_OK) {
        rc = terminated(s, env->arena, &s, err);
    }
    if (rc == ERR_OK && re == NULL) {
        rc = etl_value_text(&args[1], env->arena, &pattern, err);
        if (rc == ERR_OK) {
            rc = etl_regex_compile(pattern, with_groups, &local, &where, err);
            if (rc == ERR_INVALID_INPUT) {
                char msg[sizeof(err->msg)];
                snprintf(msg, sizeof(msg), "%s", err->msg);
                rc = etl_expr_node_fail(call, err, call->fn->name,
                                        "%s (at byte %zu of the pattern)", msg, where);
            }
            own = rc == ERR_OK;
            re = &local;
        }
    }
    if (rc == ERR_OK && with_groups && (group < 0 || (uint64_t)group > re->n_groups)) {
        rc = etl_expr_node_fail(call, err, call->fn->name,
                                "pattern has %zu groups, cannot access group %lld", re->n_groups,
                                (long long)group);
    }
    if (rc == ERR_OK) {
        rc = etl_regex_search(re, s, found, with_groups ? spans : NULL,
                              with_groups ? (size_t)group + 1 : 0, err);
    }
    if (rc == ERR_OK && *found && with_groups) {
        const struct etl_regex_span *g = &spans[group];
        *found = g->start >= 0;
        *match = *found ? cur_make(s.ptr + g->start, (size_t)(g->end - g->start)) : s;
    }
    if (own) {
        etl_regex_free(&local);
    }
    return rc;
}

static enum err_code fn_regexp_like(const struct etl_expr_node *call,
                                    const struct etl_value *args,
                                    const struct etl_expr_env *env,
                                    struct etl_value *out,
                                    struct err *err)
{
    bool found = false;
    struct cur match;
    enum err_code rc = search(call, args, env, false, 0, &found, &match, err);
    if (rc == ERR_OK) {
        etl_expr_func_set_bool(out, found);
    }
    return rc;
}

static enum err_code fn_regexp_extract(const struct etl_expr_node *call,
                                       const struct etl_value *args,
                                       const struct etl_expr_env *env,
                                       struct etl_value *out,
                                       struct err *err)
{
    int64_t group = 0;
    bool found = false;
    struct cur match;
    enum err_code rc =
        call->n_kids == 3 ? etl_expr_func_int_arg(call, &args[2], "group", &group, err) : ERR_OK;
    if (rc == ERR_OK) {
        rc = search(call, args, env, true, group, &found, &match, err);
    }
    *out = etl_value_null();
    if (rc == ERR_OK && found) {
        etl_expr_func_set_string(out, match);
    }
    return rc;
}

/* ---- conditionals ---- */

static enum err_code fn_coalesce(const struct etl_expr_node *call,
                                 etl_expr_node_eval_fn eval,
                                 const struct etl_expr_env *env,
                                 struct etl_value *out,
                                 struct err *err)
{
    *out = etl_value_null();
    for (size_t i = 0; i < call->n_kids; i++) {
        enum err_code rc = eval(call->kids[i], env, out, err);
        if (rc != ERR_OK || out->kind != ETL_V_NULL) {
            return rc;
        }
    }
    return ERR_OK;
}

static enum err_code fn_if(const struct etl_expr_node *call,
                           etl_expr_node_eval_fn eval,
                           const struct etl_expr_env *env,
                           struct etl_value *out,
                           struct err *err)
{
    struct etl_value c;
    enum err_code rc = eval(call->kids[0], env, &c, err);
    if (rc != ERR_OK) {
        return rc;
    }
    if (c.kind != ETL_V_BOOL && c.kind != ETL_V_NULL) {
        char desc[80];
        etl_expr_node_describe(&c, desc, sizeof(desc));
        return etl_expr_node_fail(call, err, "if", "the condition must be a boolean, got %s", desc);
    }
    if (etl_value_is_true(&c)) {
        return eval(call->kids[1], env, out, err);
    }
    if (call->n_kids == 3) {
        return eval(call->kids[2], env, out, err);
    }
    *out = etl_value_null();
    return ERR_OK;
}

static enum err_code fn_nullif(const struct etl_expr_node *call,
                               const struct etl_value *args,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err)
{
    (void)call;
    (void)env;
    (void)err;
    int cmp = 1;
    *out = args[0];
    if (etl_value_compare(&args[0], &args[1], &cmp) && cmp == 0) {
        *out = etl_value_null();
    }
    return ERR_OK;
}

/* ---- times ---- */

/*
 * Seconds to milliseconds rounded as Trino's from_unixtime (Math.round: half up), exactly: a
 * NUMBER is scaled by 1000 as a decimal, never through a double.
 */
static bool decimal_round_ms(struct etl_decimal d, int64_t *ms)
{
    if (d.n == 0) {
        *ms = 0;
        return true;
    }
    d.exp += 3;
    if (d.exp >= d.n) {
        return etl_decimal_to_i64(&d, ms);
    }
    /* The integer part (digits before the point) and the first fraction digit. */
    int64_t whole = 0;
    if (d.exp > 0) {
        struct etl_decimal ip = d;
        ip.n = (uint8_t)d.exp;
        if (!etl_decimal_to_i64(&ip, &whole)) {
            return false;
        }
    }
    char first = d.exp >= 0 ? d.digits[d.exp] : '0';
    bool more = d.exp >= 0 && d.n > d.exp + 1; /* a non-zero digit follows the first */
    bool up = d.neg ? (first > '5' || (first == '5' && more)) : first >= '5';
    if (up) {
        whole += d.neg ? -1 : 1;
    }
    *ms = whole;
    return true;
}

static enum err_code fn_from_unixtime(const struct etl_expr_node *call,
                                      const struct etl_value *args,
                                      const struct etl_expr_env *env,
                                      struct etl_value *out,
                                      struct err *err)
{
    (void)env;
    int64_t ms = 0;
    bool ok = false;
    struct etl_decimal d;
    struct err ignored = ERR_INIT;
    if (args[0].kind == ETL_V_NUMBER) {
        ok = etl_decimal_parse(args[0].s, &d, &ignored) == ERR_OK && decimal_round_ms(d, &ms);
    } else if (args[0].kind == ETL_V_DOUBLE && isfinite(args[0].d)) {
        double x = floor(args[0].d * 1000.0 + 0.5);
        ok = x >= -0x1p63 && x < 0x1p63;
        ms = ok ? (int64_t)x : 0;
    }
    if (!ok) {
        char desc[80];
        etl_expr_node_describe(&args[0], desc, sizeof(desc));
        return etl_expr_node_fail(call, err, "from_unixtime",
                                  "expected a number of seconds in range, got %s", desc);
    }
    *out = etl_value_null();
    out->kind = ETL_V_TIMESTAMP;
    out->i = ms;
    return ERR_OK;
}

static enum err_code fn_to_unixtime(const struct etl_expr_node *call,
                                    const struct etl_value *args,
                                    const struct etl_expr_env *env,
                                    struct etl_value *out,
                                    struct err *err)
{
    (void)env;
    int64_t ms = 0;
    bool date_only = false;
    enum err_code rc = time_arg(call, &args[0], &ms, &date_only, err);
    if (rc == ERR_OK) {
        *out = etl_value_null();
        out->kind = ETL_V_DOUBLE;
        out->d = (double)ms / 1000.0;
    }
    return rc;
}

static enum err_code
prepare_date_format(struct etl_expr_node *call, struct cur text, struct err *err)
{
    (void)text;
    const struct etl_expr_node *fmt = call->kids[1];
    if (!etl_expr_node_is_literal(fmt, ETL_V_STRING)) {
        return ERR_OK;
    }
    enum err_code rc = etl_datetime_mysql_check(fmt->lit.s, err);
    if (rc != ERR_OK) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return etl_expr_node_fail(fmt, err, "date_format", "%s", msg);
    }
    return ERR_OK;
}

static enum err_code fn_date_format(const struct etl_expr_node *call,
                                    const struct etl_value *args,
                                    const struct etl_expr_env *env,
                                    struct etl_value *out,
                                    struct err *err)
{
    int64_t ms = 0;
    bool date_only = false;
    struct cur fmt;
    enum err_code rc = time_arg(call, &args[0], &ms, &date_only, err);
    if (rc == ERR_OK) {
        rc = etl_value_text(&args[1], env->arena, &fmt, err);
    }
    if (rc == ERR_OK && !etl_expr_node_is_literal(call->kids[1], ETL_V_STRING)) {
        rc = etl_datetime_mysql_check(fmt, err);
        if (rc != ERR_OK) {
            char msg[sizeof(err->msg)];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            return etl_expr_node_fail(call, err, "date_format", "%s", msg);
        }
    }
    if (rc != ERR_OK) {
        return rc;
    }
    size_t cap = etl_datetime_mysql_bound(fmt.len);
    uint8_t *dst = NULL;
    rc = etl_arena_alloc(env->arena, cap, &dst, err);
    if (rc == ERR_OK) {
        size_t n = etl_datetime_mysql_format(ms, fmt, (char *)dst, cap);
        etl_expr_func_set_string(out, cur_make(dst, n));
    }
    return rc;
}

static enum err_code fn_to_iso8601(const struct etl_expr_node *call,
                                   const struct etl_value *args,
                                   const struct etl_expr_env *env,
                                   struct etl_value *out,
                                   struct err *err)
{
    int64_t ms = 0;
    bool date_only = false;
    char text[ETL_DATETIME_TEXT_MAX];
    enum err_code rc = time_arg(call, &args[0], &ms, &date_only, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t n = date_only ? etl_datetime_format_date(etl_datetime_day_of(ms), text)
                         : etl_datetime_format_timestamp(ms, text);
    struct cur s;
    rc = etl_arena_copy(env->arena, text, n, &s, err);
    if (rc == ERR_OK) {
        etl_expr_func_set_string(out, s);
    }
    return rc;
}

static enum err_code fn_date(const struct etl_expr_node *call,
                             const struct etl_value *args,
                             const struct etl_expr_env *env,
                             struct etl_value *out,
                             struct err *err)
{
    static const struct etl_typespec date_type = {ETL_TK_DATE, 0, 0, NULL};
    enum err_code rc = etl_cast(&args[0], &date_type, env->arena, out, err);
    if (rc == ERR_INVALID_INPUT) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return etl_expr_node_fail(call, err, "date", "%s", msg);
    }
    return rc;
}

static enum err_code fn_abs(const struct etl_expr_node *call,
                            const struct etl_value *args,
                            const struct etl_expr_env *env,
                            struct etl_value *out,
                            struct err *err)
{
    (void)env;
    *out = args[0];
    if (args[0].kind == ETL_V_NUMBER) {
        if (out->s.len > 0 && out->s.ptr[0] == '-') {
            out->s = cur_make(out->s.ptr + 1, out->s.len - 1); /* exact: the digits stay */
        }
        return ERR_OK;
    }
    if (args[0].kind == ETL_V_DOUBLE) {
        out->d = fabs(out->d);
        return ERR_OK;
    }
    char desc[80];
    etl_expr_node_describe(&args[0], desc, sizeof(desc));
    return etl_expr_node_fail(call, err, "abs", "expected a number, got %s", desc);
}

#define MANY ETL_EXPR_NODE_MAX_ARGS

static const struct etl_expr_func funcs[] = {
    {"regexp_like", 2, 2, false, fn_regexp_like, NULL, prepare_regex},
    {"regexp_extract", 2, 3, false, fn_regexp_extract, NULL, prepare_regex},
    {"coalesce", 1, MANY, true, NULL, fn_coalesce, NULL},
    {"nullif", 2, 2, true, fn_nullif, NULL, NULL},
    {"if", 2, 3, true, NULL, fn_if, NULL},
    {"from_unixtime", 1, 1, false, fn_from_unixtime, NULL, NULL},
    {"to_unixtime", 1, 1, false, fn_to_unixtime, NULL, NULL},
    {"date_format", 2, 2, false, fn_date_format, NULL, prepare_date_format},
    {"to_iso8601", 1, 1, false, fn_to_iso8601, NULL, NULL},
    {"date", 1, 1, false, fn_date, NULL, NULL},
    {"abs", 1, 1, false, fn_abs, NULL, NULL},
};

const struct etl_expr_func *etl_expr_func_lookup(struct cur name)
{
    for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
        if (cur_eq_nocase(name, funcs[i].name)) {
            return &funcs[i];
        }
    }
    for (size_t i = 0; i < etl_expr_fstr_count; i++) {
        if (cur_eq_nocase(name, etl_expr_fstr_funcs[i].name)) {
            return &etl_expr_fstr_funcs[i];
        }
    }
    return NULL;
}
