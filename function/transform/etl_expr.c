/*
 * etl_expr.c - compiled expressions and their evaluation: SQL's three-valued logic, NULL
 * propagation, exact arithmetic on NUMBERs (etl_decimal), and calls into etl_expr_func.
 * Evaluation recurses over a tree whose depth the parser bounded; computed strings go into the
 * environment's arena, so a row costs no malloc.
 */
#include "etl_expr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_cast.h"
#include "etl_decimal.h"
#include "etl_expr_func.h"
#include "etl_expr_node.h"
#include "etl_expr_parse.h"
#include "etl_like.h"

/* Arguments evaluated on the stack; calls with more use the arena. */
#define EXPR_STACK_ARGS 4
/* Exact results are written plain up to this length, else as d.dddE+x. */
#define EXPR_NUMBER_PLAIN_MAX 64

struct etl_expr {
    char *text;
    struct etl_expr_node *root;
};

enum err_code etl_expr_compile(struct cur text, struct etl_expr **out, struct err *err)
{
    *out = NULL;
    struct etl_expr *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->text = cur_strdup(text)) == NULL) {
        free(e);
        return err_set(err, ERR_NOMEM, "out of memory compiling an expression");
    }
    enum err_code rc = etl_expr_parse_tree(text, &e->root, err);
    if (rc != ERR_OK) {
        etl_expr_free(e);
        return rc;
    }
    *out = e;
    return ERR_OK;
}

void etl_expr_free(struct etl_expr *e)
{
    if (e == NULL) {
        return;
    }
    etl_expr_node_free(e->root);
    free(e->text);
    free(e);
}

const char *etl_expr_text(const struct etl_expr *e)
{
    return e != NULL && e->text != NULL ? e->text : "";
}

static void walk_paths(const struct etl_expr_node *n,
                       void (*fn)(void *ctx, const struct etl_colpath *path),
                       void *ctx)
{
    if (n->op == ETL_EXPR_NODE_PATH) {
        fn(ctx, &n->path);
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        walk_paths(n->kids[i], fn, ctx);
    }
}

void etl_expr_paths(const struct etl_expr *e,
                    void (*fn)(void *ctx, const struct etl_colpath *path),
                    void *ctx)
{
    if (e != NULL && e->root != NULL) {
        walk_paths(e->root, fn, ctx);
    }
}

/* ---- evaluation ---- */

static enum err_code eval(const struct etl_expr_node *n,
                          const struct etl_expr_env *env,
                          struct etl_value *out,
                          struct err *err);

static const char *op_name(const struct etl_expr_node *n)
{
    switch (n->op) {
    case ETL_EXPR_NODE_NOT:
        return "NOT";
    case ETL_EXPR_NODE_AND:
        return "AND";
    case ETL_EXPR_NODE_OR:
        return "OR";
    case ETL_EXPR_NODE_LIKE:
        return "LIKE";
    case ETL_EXPR_NODE_NEG:
        return "unary -";
    case ETL_EXPR_NODE_ARITH:
        return n->sub == '+' ? "+" : n->sub == '-' ? "-" : n->sub == '*' ? "*" : "/";
    default:
        return "expression";
    }
}

static void set_bool(struct etl_value *out, bool b)
{
    *out = etl_value_null();
    out->kind = ETL_V_BOOL;
    out->b = b;
}

/* Three-valued truth: 1 true, 0 false, -1 unknown (NULL). */
static void set_truth(struct etl_value *out, int t)
{
    if (t < 0) {
        *out = etl_value_null();
    } else {
        set_bool(out, t == 1);
    }
}

static enum err_code
truth_of(const struct etl_expr_node *n, const struct etl_value *v, int *t, struct err *err)
{
    if (v->kind == ETL_V_NULL) {
        *t = -1;
        return ERR_OK;
    }
    if (v->kind == ETL_V_BOOL) {
        *t = v->b ? 1 : 0;
        return ERR_OK;
    }
    char desc[80];
    etl_expr_node_describe(v, desc, sizeof(desc));
    return etl_expr_node_fail(n, err, op_name(n), "expected a boolean, got %s", desc);
}

/* AND and OR over any number of operands, stopping at the first that decides. */
static enum err_code eval_logic(const struct etl_expr_node *n,
                                const struct etl_expr_env *env,
                                struct etl_value *out,
                                struct err *err)
{
    bool is_and = n->op == ETL_EXPR_NODE_AND;
    int result = is_and ? 1 : 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        struct etl_value v;
        int t = 0;
        enum err_code rc = eval(n->kids[i], env, &v, err);
        if (rc == ERR_OK) {
            rc = truth_of(n, &v, &t, err);
        }
        if (rc != ERR_OK) {
            return rc;
        }
        if (t == (is_and ? 0 : 1)) {
            set_truth(out, t); /* FALSE AND anything, TRUE OR anything */
            return ERR_OK;
        }
        if (t < 0) {
            result = -1;
        }
    }
    set_truth(out, result);
    return ERR_OK;
}

/* a <op> b as a truth value; unknown when either is NULL or they do not compare. */
static int compare_truth(const struct etl_value *a, const struct etl_value *b, int op)
{
    int c = 0;
    if (!etl_value_compare(a, b, &c)) {
        return -1;
    }
    bool json = a->kind == ETL_V_JSON || b->kind == ETL_V_JSON;
    switch (op) {
    case ETL_EXPR_NODE_EQ:
        return c == 0;
    case ETL_EXPR_NODE_NE:
        return c != 0;
    case ETL_EXPR_NODE_LT:
        return json ? -1 : c < 0; /* JSON has equality only */
    case ETL_EXPR_NODE_LE:
        return json ? -1 : c <= 0;
    case ETL_EXPR_NODE_GT:
        return json ? -1 : c > 0;
    default:
        return json ? -1 : c >= 0;
    }
}

static int truth_not(int t)
{
    return t < 0 ? -1 : !t;
}

static int truth_and(int a, int b)
{
    return (a == 0 || b == 0) ? 0 : (a < 0 || b < 0) ? -1 : 1;
}

static enum err_code eval_in(const struct etl_expr_node *n,
                             const struct etl_expr_env *env,
                             struct etl_value *out,
                             struct err *err)
{
    struct etl_value x;
    enum err_code rc = eval(n->kids[0], env, &x, err);
    if (rc != ERR_OK) {
        return rc;
    }
    int result = 0; /* SQL: TRUE if any item equals, else NULL if any item was unknown */
    for (size_t i = 1; i < n->n_kids && x.kind != ETL_V_NULL && result != 1; i++) {
        struct etl_value item;
        rc = eval(n->kids[i], env, &item, err);
        if (rc != ERR_OK) {
            return rc;
        }
        int t = compare_truth(&x, &item, ETL_EXPR_NODE_EQ);
        result = t == 1 ? 1 : (t < 0 ? -1 : result);
    }
    if (x.kind == ETL_V_NULL) {
        result = -1;
    }
    set_truth(out, n->negated ? truth_not(result) : result);
    return ERR_OK;
}

static enum err_code eval_between(const struct etl_expr_node *n,
                                  const struct etl_expr_env *env,
                                  struct etl_value *out,
                                  struct err *err)
{
    struct etl_value x, lo, hi;
    enum err_code rc = eval(n->kids[0], env, &x, err);
    if (rc == ERR_OK) {
        rc = eval(n->kids[1], env, &lo, err);
    }
    if (rc == ERR_OK) {
        rc = eval(n->kids[2], env, &hi, err);
    }
    if (rc == ERR_OK) {
        /* x BETWEEN lo AND hi is x >= lo AND x <= hi, NULLs included (Trino's table). */
        int t = truth_and(compare_truth(&x, &lo, ETL_EXPR_NODE_GE),
                          compare_truth(&x, &hi, ETL_EXPR_NODE_LE));
        set_truth(out, n->negated ? truth_not(t) : t);
    }
    return rc;
}

static enum err_code eval_like(const struct etl_expr_node *n,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err)
{
    struct etl_value v, pat, esc = etl_value_null();
    struct cur text, ptext, etext;
    enum err_code rc = eval(n->kids[0], env, &v, err);
    if (rc == ERR_OK) {
        rc = eval(n->kids[1], env, &pat, err);
    }
    if (rc == ERR_OK && n->n_kids == 3) {
        rc = eval(n->kids[2], env, &esc, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (v.kind == ETL_V_NULL || pat.kind == ETL_V_NULL ||
        (n->n_kids == 3 && esc.kind == ETL_V_NULL)) {
        *out = etl_value_null();
        return ERR_OK;
    }
    rc = etl_value_text(&v, env->arena, &text, err);
    if (rc == ERR_OK) {
        rc = etl_value_text(&pat, env->arena, &ptext, err);
    }
    if (rc == ERR_OK && n->n_kids == 3) {
        rc = etl_value_text(&esc, env->arena, &etext, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    uint32_t escape = n->like_escape;
    if (!n->like_checked) {
        size_t where = 0;
        rc = etl_like_check(ptext, n->n_kids == 3 ? &etext : NULL, &escape, &where, err);
        if (rc != ERR_OK) {
            char msg[sizeof(err->msg)];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            return etl_expr_node_fail(n, err, "LIKE", "%s", msg);
        }
    }
    bool match = etl_like_match(text, ptext, escape);
    set_bool(out, n->negated ? !match : match);
    return ERR_OK;
}

static enum err_code eval_concat(const struct etl_expr_node *n,
                                 const struct etl_expr_env *env,
                                 struct etl_value *out,
                                 struct err *err)
{
    struct cur parts[EXPR_STACK_ARGS];
    struct cur *texts = parts;
    size_t total = 0;
    if (n->n_kids > EXPR_STACK_ARGS) {
        uint8_t *mem = NULL;
        enum err_code rc = etl_arena_alloc(env->arena, n->n_kids * sizeof(*texts), &mem, err);
        if (rc != ERR_OK) {
            return rc;
        }
        texts = (struct cur *)(void *)mem;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        struct etl_value v;
        enum err_code rc = eval(n->kids[i], env, &v, err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (v.kind == ETL_V_NULL) {
            *out = etl_value_null(); /* NULL || x is NULL, as in Trino */
            return ERR_OK;
        }
        rc = etl_value_text(&v, env->arena, &texts[i], err);
        if (rc != ERR_OK) {
            return rc;
        }
        total += texts[i].len;
    }
    uint8_t *dst = NULL;
    enum err_code rc = etl_arena_alloc(env->arena, total > 0 ? total : 1, &dst, err);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t w = 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        if (texts[i].len > 0) {
            memcpy(dst + w, texts[i].ptr, texts[i].len);
            w += texts[i].len;
        }
    }
    *out = etl_value_null();
    out->kind = ETL_V_STRING;
    out->s = cur_make(dst, w);
    return ERR_OK;
}

/* An exact result as NUMBER text in the arena: plain when short, else d.dddE+x. */
static enum err_code number_result(const struct etl_decimal *d,
                                   const struct etl_expr_env *env,
                                   struct etl_value *out,
                                   struct err *err)
{
    enum { CAP = EXPR_NUMBER_PLAIN_MAX + 2 * ETL_DECIMAL_MAX_DIGITS };
    uint8_t *mem = NULL;
    enum err_code rc = etl_arena_alloc(env->arena, CAP, &mem, err);
    if (rc != ERR_OK) {
        return rc;
    }
    /* A struct buf over arena bytes; plain writes at most EXPR_NUMBER_PLAIN_MAX, so it never
     * needs to grow (and is never freed: the arena owns the bytes). */
    struct buf b = {mem, 0, CAP, CAP - 1};
    bool fits = false;
    rc = etl_decimal_plain(d, EXPR_NUMBER_PLAIN_MAX, &fits, &b, err);
    if (rc == ERR_OK && !fits) {
        int len = snprintf((char *)mem, CAP, "%s%c%s%.*sE%d", d->neg ? "-" : "", d->digits[0],
                           d->n > 1 ? "." : "", (int)d->n - 1, d->digits + 1, (int)d->exp - 1);
        b.len = (size_t)len;
    }
    if (rc == ERR_OK) {
        *out = etl_value_null();
        out->kind = ETL_V_NUMBER;
        out->s = cur_make(mem, b.len);
    }
    return rc;
}

static bool as_double(const struct etl_value *v, double *out)
{
    struct etl_decimal d;
    struct err ignored = ERR_INIT;
    if (v->kind == ETL_V_DOUBLE) {
        *out = v->d;
        return true;
    }
    if (v->kind == ETL_V_NUMBER && etl_decimal_parse(v->s, &d, &ignored) == ERR_OK) {
        *out = etl_decimal_to_double(&d);
        return true;
    }
    return false;
}

static enum err_code eval_arith(const struct etl_expr_node *n,
                                const struct etl_expr_env *env,
                                struct etl_value *out,
                                struct err *err)
{
    struct etl_value a, b;
    enum err_code rc = eval(n->kids[0], env, &a, err);
    if (rc == ERR_OK) {
        rc = eval(n->kids[1], env, &b, err);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (a.kind == ETL_V_NULL || b.kind == ETL_V_NULL) {
        *out = etl_value_null();
        return ERR_OK;
    }
    bool numbers = (a.kind == ETL_V_NUMBER || a.kind == ETL_V_DOUBLE) &&
                   (b.kind == ETL_V_NUMBER || b.kind == ETL_V_DOUBLE);
    double x = 0, y = 0;
    if (!numbers || !as_double(&a, &x) || !as_double(&b, &y)) {
        char da[80], db[80];
        etl_expr_node_describe(&a, da, sizeof(da));
        etl_expr_node_describe(&b, db, sizeof(db));
        return etl_expr_node_fail(n, err, op_name(n), "expected numbers, got %s and %s", da, db);
    }
    if (n->sub == '/' || a.kind == ETL_V_DOUBLE || b.kind == ETL_V_DOUBLE) {
        /* '/' is a double division; any DOUBLE operand makes the operation a double one. */
        if (n->sub == '/' && y == 0) {
            return etl_expr_node_fail(n, err, "/", "division by zero");
        }
        *out = etl_value_null();
        out->kind = ETL_V_DOUBLE;
        out->d = n->sub == '+' ? x + y : n->sub == '-' ? x - y : n->sub == '*' ? x * y : x / y;
        return ERR_OK;
    }
    struct etl_decimal da, db, r;
    rc = etl_decimal_parse(a.s, &da, err);
    if (rc == ERR_OK) {
        rc = etl_decimal_parse(b.s, &db, err);
    }
    if (rc == ERR_OK) {
        rc = n->sub == '*' ? etl_decimal_mul(&da, &db, &r, err)
                           : etl_decimal_add(&da, &db, n->sub == '-', &r, err);
    }
    if (rc != ERR_OK) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return etl_expr_node_fail(n, err, op_name(n), "%s", msg);
    }
    return number_result(&r, env, out, err);
}

static enum err_code eval_neg(const struct etl_expr_node *n,
                              const struct etl_expr_env *env,
                              struct etl_value *out,
                              struct err *err)
{
    enum err_code rc = eval(n->kids[0], env, out, err);
    if (rc != ERR_OK || out->kind == ETL_V_NULL) {
        return rc;
    }
    if (out->kind == ETL_V_DOUBLE) {
        out->d = -out->d;
        return ERR_OK;
    }
    if (out->kind != ETL_V_NUMBER) {
        char desc[80];
        etl_expr_node_describe(out, desc, sizeof(desc));
        return etl_expr_node_fail(n, err, "unary -", "expected a number, got %s", desc);
    }
    struct etl_decimal d;
    rc = etl_decimal_parse(out->s, &d, err);
    if (rc != ERR_OK) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return etl_expr_node_fail(n, err, "unary -", "%s", msg);
    }
    if (d.n == 0) {
        return ERR_OK; /* -0 is 0: the text stays */
    }
    if (out->s.ptr[0] == '-') {
        out->s = cur_make(out->s.ptr + 1, out->s.len - 1); /* exact: the digits stay */
        return ERR_OK;
    }
    uint8_t *dst = NULL;
    rc = etl_arena_alloc(env->arena, out->s.len + 1, &dst, err);
    if (rc == ERR_OK) {
        dst[0] = '-';
        memcpy(dst + 1, out->s.ptr, out->s.len);
        out->s = cur_make(dst, out->s.len + 1);
    }
    return rc;
}

static enum err_code eval_call(const struct etl_expr_node *n,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err)
{
    const struct etl_expr_func *f = n->fn;
    if (f->eval_lazy != NULL) {
        return f->eval_lazy(n, eval, env, out, err);
    }
    struct etl_value local[EXPR_STACK_ARGS];
    struct etl_value *args = local;
    if (n->n_kids > EXPR_STACK_ARGS) {
        uint8_t *mem = NULL;
        enum err_code rc = etl_arena_alloc(env->arena, n->n_kids * sizeof(*args), &mem, err);
        if (rc != ERR_OK) {
            return rc;
        }
        args = (struct etl_value *)(void *)mem;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        enum err_code rc = eval(n->kids[i], env, &args[i], err);
        if (rc != ERR_OK) {
            return rc;
        }
        if (args[i].kind == ETL_V_NULL && !f->keeps_null) {
            *out = etl_value_null(); /* NULL in, NULL out */
            return ERR_OK;
        }
    }
    return f->eval(n, args, env, out, err);
}

static enum err_code eval_cast(const struct etl_expr_node *n,
                               const struct etl_expr_env *env,
                               struct etl_value *out,
                               struct err *err)
{
    struct etl_value in;
    enum err_code rc = eval(n->kids[0], env, &in, err);
    if (rc != ERR_OK) {
        return rc;
    }
    rc = etl_cast(&in, n->type, env->arena, out, err);
    if (rc == ERR_INVALID_INPUT && n->try_cast) {
        err_clear(err);
        *out = etl_value_null();
        return ERR_OK;
    }
    if (rc == ERR_INVALID_INPUT) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return etl_expr_node_fail(n, err, "CAST", "%s", msg);
    }
    return rc;
}

static enum err_code eval(const struct etl_expr_node *n,
                          const struct etl_expr_env *env,
                          struct etl_value *out,
                          struct err *err)
{
    struct etl_value v, w;
    enum err_code rc = ERR_OK;
    int t = 0;
    switch (n->op) {
    case ETL_EXPR_NODE_LITERAL:
        *out = n->lit;
        return ERR_OK;
    case ETL_EXPR_NODE_PATH:
        *out = etl_value_null();
        return env->lookup(env->ctx, &n->path, out, err);
    case ETL_EXPR_NODE_NOT:
        rc = eval(n->kids[0], env, &v, err);
        if (rc == ERR_OK) {
            rc = truth_of(n, &v, &t, err);
        }
        if (rc == ERR_OK) {
            set_truth(out, truth_not(t));
        }
        return rc;
    case ETL_EXPR_NODE_AND:
    case ETL_EXPR_NODE_OR:
        return eval_logic(n, env, out, err);
    case ETL_EXPR_NODE_CMP:
        rc = eval(n->kids[0], env, &v, err);
        if (rc == ERR_OK) {
            rc = eval(n->kids[1], env, &w, err);
        }
        if (rc == ERR_OK) {
            set_truth(out, compare_truth(&v, &w, n->sub));
        }
        return rc;
    case ETL_EXPR_NODE_IN:
        return eval_in(n, env, out, err);
    case ETL_EXPR_NODE_BETWEEN:
        return eval_between(n, env, out, err);
    case ETL_EXPR_NODE_LIKE:
        return eval_like(n, env, out, err);
    case ETL_EXPR_NODE_IS_NULL:
        rc = eval(n->kids[0], env, &v, err);
        if (rc == ERR_OK) {
            set_bool(out, (v.kind == ETL_V_NULL) != n->negated);
        }
        return rc;
    case ETL_EXPR_NODE_CONCAT:
        return eval_concat(n, env, out, err);
    case ETL_EXPR_NODE_ARITH:
        return eval_arith(n, env, out, err);
    case ETL_EXPR_NODE_NEG:
        return eval_neg(n, env, out, err);
    case ETL_EXPR_NODE_CALL:
        return eval_call(n, env, out, err);
    case ETL_EXPR_NODE_CAST:
        return eval_cast(n, env, out, err);
    default:
        return err_set(err, ERR_INVALID_INPUT, "expression: unknown node %d", (int)n->op);
    }
}

enum err_code etl_expr_eval(const struct etl_expr *e,
                            const struct etl_expr_env *env,
                            struct etl_value *out,
                            struct err *err)
{
    *out = etl_value_null();
    return eval(e->root, env, out, err);
}
