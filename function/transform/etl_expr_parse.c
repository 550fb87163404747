/*
 * etl_expr_parse.c - the recursive-descent parser: one function per precedence level, nodes
 * placed at their token's column (etl_expr_lex), column paths handed to
 * etl_colpath_parse_prefix and types to etl_typespec_parse.
 */
#include "etl_expr_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_datetime.h"
#include "etl_ddbjson.h"
#include "etl_decimal.h"
#include "etl_expr_func.h"
#include "etl_expr_lex.h"
#include "etl_like.h"
#include "etl_utf8.h"

struct parser {
    struct etl_expr_lex lex;
    int depth;
    struct err *err;
};

/* Words that are never column names without quotes. */
static const char *const reserved[] = {
    "AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE", "LIKE", "BETWEEN", "ESCAPE", NULL,
};

static enum err_code lex(struct parser *p)
{
    return etl_expr_lex_next(&p->lex, p->err);
}

static struct cur tok_text(const struct parser *p)
{
    return etl_expr_lex_text(&p->lex);
}

static bool is_kw(const struct parser *p, const char *kw)
{
    return etl_expr_lex_is(&p->lex, kw);
}

static enum err_code fail_at(struct parser *p, size_t column, const char *fmt, ...)
    PRINTF_FMT(3, 4);

static enum err_code fail_at(struct parser *p, size_t column, const char *fmt, ...)
{
    char msg[sizeof(p->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(p->err, ERR_INVALID_INPUT, "column %zu: %s", column, msg);
}

static bool is_reserved(const struct parser *p)
{
    for (const char *const *r = reserved; *r != NULL; r++) {
        if (is_kw(p, *r)) {
            return true;
        }
    }
    return false;
}

static enum err_code expected(struct parser *p, const char *what)
{
    struct cur t = tok_text(p);
    int n = (int)(t.len > 24 ? 24 : t.len);
    switch (p->lex.tok.type) {
    case ETL_EXPR_LEX_END:
        return fail_at(p, p->lex.tok.column, "expected %s, found the end", what);
    case ETL_EXPR_LEX_STRING:
        return fail_at(p, p->lex.tok.column, "expected %s, found the string %.*s%s", what, n,
                       (const char *)t.ptr, t.len > 24 ? "..." : "");
    case ETL_EXPR_LEX_NUMBER:
        return fail_at(p, p->lex.tok.column, "expected %s, found the number %.*s", what, n,
                       (const char *)t.ptr);
    case ETL_EXPR_LEX_IDENT:
        return fail_at(p, p->lex.tok.column, "expected %s, found %s%.*s", what,
                       is_reserved(p) ? "the keyword " : "", n, (const char *)t.ptr);
    default:
        return fail_at(p, p->lex.tok.column, "expected %s, found '%.*s'", what, n,
                       (const char *)t.ptr);
    }
}

static enum err_code new_node(struct parser *p,
                              enum etl_expr_node_op op,
                              const struct etl_expr_lex_token *at,
                              struct etl_expr_node **out)
{
    *out = etl_expr_node_new(op, at->start, at->column);
    return *out != NULL ? ERR_OK
                        : err_set(p->err, ERR_NOMEM, "out of memory compiling an expression");
}

static enum err_code check_depth(struct parser *p, const struct etl_expr_node *n)
{
    if (n->depth > ETL_EXPR_NODE_MAX_DEPTH) {
        return fail_at(p, n->column, "expression nested deeper than %d levels",
                       ETL_EXPR_NODE_MAX_DEPTH);
    }
    return ERR_OK;
}

/* A binary node op(left, right): takes both (freed on failure). */
static enum err_code binary(struct parser *p,
                            enum etl_expr_node_op op,
                            int sub,
                            const struct etl_expr_lex_token *at,
                            struct etl_expr_node *left,
                            struct etl_expr_node *right,
                            struct etl_expr_node **out)
{
    enum err_code rc = new_node(p, op, at, out);
    if (rc != ERR_OK) {
        etl_expr_node_free(left);
        etl_expr_node_free(right);
        return rc;
    }
    (*out)->sub = sub;
    rc = etl_expr_node_adopt(*out, left, p->err);
    if (rc == ERR_OK) {
        rc = etl_expr_node_adopt(*out, right, p->err);
    } else {
        etl_expr_node_free(right);
    }
    if (rc == ERR_OK) {
        rc = check_depth(p, *out);
    }
    if (rc != ERR_OK) {
        etl_expr_node_free(*out);
        *out = NULL;
    }
    return rc;
}

static enum err_code parse_expr(struct parser *p, struct etl_expr_node **out);
static enum err_code parse_not(struct parser *p, struct etl_expr_node **out);
static enum err_code parse_concat(struct parser *p, struct etl_expr_node **out);
static enum err_code parse_unary(struct parser *p, struct etl_expr_node **out);

/* ---- literals ---- */

static enum err_code string_literal(struct parser *p, struct etl_expr_node **out)
{
    struct cur t = tok_text(p);
    enum err_code rc = new_node(p, ETL_EXPR_NODE_LITERAL, &p->lex.tok, out);
    if (rc != ERR_OK) {
        return rc;
    }
    char *s = malloc(t.len); /* the value is shorter than the token: quotes and '' go */
    if (s == NULL) {
        return err_set(p->err, ERR_NOMEM, "out of memory compiling an expression");
    }
    size_t n = 0;
    for (size_t i = 1; i + 1 < t.len; i++) {
        s[n++] = (char)t.ptr[i];
        if (t.ptr[i] == '\'') {
            i++; /* '' stands for one quote */
        }
    }
    (*out)->owned = s;
    (*out)->lit.kind = ETL_V_STRING;
    (*out)->lit.s = cur_make(s, n);
    return lex(p);
}

static enum err_code number_literal(struct parser *p, struct etl_expr_node **out)
{
    struct cur t = tok_text(p);
    struct etl_decimal d;
    struct buf b = BUF_INIT(0);
    enum err_code rc = etl_decimal_parse(t, &d, p->err);
    if (rc != ERR_OK) {
        char msg[sizeof(p->err->msg)];
        snprintf(msg, sizeof(msg), "%s", p->err->msg);
        return fail_at(p, p->lex.tok.column, "number %s", msg);
    }
    rc = new_node(p, ETL_EXPR_NODE_LITERAL, &p->lex.tok, out);
    if (rc == ERR_OK) {
        /* In JSON grammar, as a row holds numbers: ".5" is 0.5, "007" is 7. */
        rc = etl_ddbjson_number(t, &b, p->err);
    }
    if (rc == ERR_OK) {
        rc = buf_take_str(&b, &(*out)->owned, p->err);
    }
    buf_cleanup(&b);
    if (rc == ERR_OK) {
        (*out)->lit.kind = ETL_V_NUMBER;
        (*out)->lit.s = cur_from_str((*out)->owned);
        rc = lex(p);
    }
    return rc;
}

/* DATE 'YYYY-MM-DD' or TIMESTAMP '...' (the keyword is the current token). */
static enum err_code typed_literal(struct parser *p, struct etl_expr_node **out)
{
    bool is_date = is_kw(p, "DATE");
    struct etl_expr_lex_token kw = p->lex.tok;
    enum err_code rc = lex(p);
    if (rc == ERR_OK) {
        rc = string_literal(p, out);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    struct etl_expr_node *n = *out;
    int64_t ms = 0;
    bool date_only = false;
    const char *why = NULL;
    bool parsed = etl_datetime_parse_iso8601(n->lit.s, &ms, &date_only, &why);
    if (!parsed || (is_date && !date_only)) {
        return fail_at(p, kw.column, "%s literal %s: %s", is_date ? "DATE" : "TIMESTAMP",
                       is_date ? "must be 'YYYY-MM-DD'" : "is not an ISO-8601 time",
                       parsed ? "a time is not a date" : why);
    }
    n->pos = kw.start;
    n->column = kw.column;
    n->lit.kind = is_date ? ETL_V_DATE : ETL_V_TIMESTAMP;
    n->lit.i = is_date ? etl_datetime_day_of(ms) : ms;
    n->lit.s = cur_make(NULL, 0);
    return ERR_OK;
}

static enum err_code keyword_literal(struct parser *p, struct etl_expr_node **out)
{
    enum err_code rc = new_node(p, ETL_EXPR_NODE_LITERAL, &p->lex.tok, out);
    if (rc != ERR_OK) {
        return rc;
    }
    if (!is_kw(p, "NULL")) {
        (*out)->lit.kind = ETL_V_BOOL;
        (*out)->lit.b = is_kw(p, "TRUE");
    }
    return lex(p);
}

/* ---- paths, calls, casts ---- */

static enum err_code path(struct parser *p, struct etl_expr_node **out)
{
    struct etl_expr_lex_token at = p->lex.tok;
    size_t used = 0;
    enum err_code rc = new_node(p, ETL_EXPR_NODE_PATH, &at, out);
    if (rc == ERR_OK) {
        rc = etl_colpath_parse_prefix(
            cur_make(p->lex.text.ptr + at.start, p->lex.text.len - at.start), &(*out)->path, &used,
            p->err);
    }
    if (rc == ERR_INVALID_INPUT) {
        /* The path's columns count from its start: place them in the expression. */
        size_t col = 0;
        int skip = 0;
        char msg[sizeof(p->err->msg)];
        snprintf(msg, sizeof(msg), "%s", p->err->msg);
        if (sscanf(msg, "column %zu: %n", &col, &skip) >= 1 && skip > 0) {
            return fail_at(p, at.column + col - 1, "%s", msg + skip);
        }
        return rc;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    etl_expr_lex_seek(&p->lex, at.start + used);
    return lex(p);
}

static enum err_code arity(struct parser *p,
                           const struct etl_expr_func *f,
                           const struct etl_expr_lex_token *name,
                           size_t n)
{
    if (n >= f->min_args && n <= f->max_args) {
        return ERR_OK;
    }
    if (f->min_args == f->max_args) {
        return fail_at(p, name->column, "%s takes %u argument%s, got %zu", f->name, f->min_args,
                       f->min_args == 1 ? "" : "s", n);
    }
    if (f->max_args == ETL_EXPR_NODE_MAX_ARGS) {
        return fail_at(p, name->column, "%s takes %u to %u arguments, got %zu", f->name,
                       f->min_args, f->max_args, n);
    }
    return fail_at(p, name->column, "%s takes %u %s %u arguments, got %zu", f->name, f->min_args,
                   f->max_args == f->min_args + 1 ? "or" : "to", f->max_args, n);
}

static enum err_code call(struct parser *p, struct etl_expr_node **out)
{
    struct etl_expr_lex_token name = p->lex.tok;
    const struct etl_expr_func *f = etl_expr_func_lookup(tok_text(p));
    if (f == NULL) {
        return fail_at(p, name.column, "unknown function \"%.*s\"",
                       (int)(name.end - name.start > 40 ? 40 : name.end - name.start),
                       (const char *)p->lex.text.ptr + name.start);
    }
    enum err_code rc = new_node(p, ETL_EXPR_NODE_CALL, &name, out);
    if (rc == ERR_OK) {
        (*out)->fn = f;
        rc = lex(p); /* '(' */
    }
    if (rc == ERR_OK) {
        rc = lex(p);
    }
    while (rc == ERR_OK && p->lex.tok.type != ETL_EXPR_LEX_RPAREN) {
        if ((*out)->n_kids >= ETL_EXPR_NODE_MAX_ARGS) {
            return fail_at(p, p->lex.tok.column, "%s takes at most %d arguments", f->name,
                           ETL_EXPR_NODE_MAX_ARGS);
        }
        struct etl_expr_node *arg = NULL;
        rc = parse_expr(p, &arg);
        if (rc == ERR_OK) {
            rc = etl_expr_node_adopt(*out, arg, p->err);
        }
        if (rc == ERR_OK && p->lex.tok.type == ETL_EXPR_LEX_COMMA) {
            rc = lex(p);
        } else if (rc == ERR_OK && p->lex.tok.type != ETL_EXPR_LEX_RPAREN) {
            char what[80];
            snprintf(what, sizeof(what), "')' after the arguments of %s", f->name);
            return expected(p, what);
        }
    }
    if (rc == ERR_OK) {
        rc = arity(p, f, &name, (*out)->n_kids);
    }
    if (rc == ERR_OK) {
        rc = check_depth(p, *out);
    }
    if (rc == ERR_OK && f->prepare != NULL) {
        rc = f->prepare(*out, p->lex.text, p->err);
    }
    return rc == ERR_OK ? lex(p) : rc;
}

/* CAST(x AS type) or TRY_CAST(x AS type); the type is the text up to the matching ')'. */
static enum err_code cast(struct parser *p, struct etl_expr_node **out)
{
    struct etl_expr_lex_token name = p->lex.tok;
    bool is_try = is_kw(p, "TRY_CAST");
    struct etl_expr_node *operand = NULL;
    enum err_code rc = new_node(p, ETL_EXPR_NODE_CAST, &name, out);
    if (rc == ERR_OK) {
        (*out)->try_cast = is_try;
        rc = lex(p); /* '(' */
    }
    if (rc == ERR_OK) {
        rc = lex(p);
    }
    if (rc == ERR_OK) {
        rc = parse_expr(p, &operand);
    }
    if (rc == ERR_OK) {
        rc = etl_expr_node_adopt(*out, operand, p->err);
    }
    if (rc == ERR_OK && !is_kw(p, "AS")) {
        return expected(p, is_try ? "AS in TRY_CAST" : "AS in CAST");
    }
    if (rc != ERR_OK) {
        return rc;
    }
    /* The type's text: from after AS to the ')' that closes the cast. */
    size_t start = p->lex.pos, col = p->lex.column;
    while (start < p->lex.text.len &&
           (p->lex.text.ptr[start] == ' ' || p->lex.text.ptr[start] == '\t')) {
        start++;
        col++;
    }
    size_t i = start;
    int parens = 0;
    while (i < p->lex.text.len && !(p->lex.text.ptr[i] == ')' && parens == 0)) {
        parens += p->lex.text.ptr[i] == '(' ? 1 : p->lex.text.ptr[i] == ')' ? -1 : 0;
        i++;
    }
    if (i >= p->lex.text.len) {
        return fail_at(p, col, "expected ')' after the type in %s", is_try ? "TRY_CAST" : "CAST");
    }
    rc = etl_typespec_parse(cur_make(p->lex.text.ptr + start, i - start), &(*out)->type, p->err);
    if (rc != ERR_OK) {
        char msg[sizeof(p->err->msg)];
        snprintf(msg, sizeof(msg), "%s", p->err->msg);
        return fail_at(p, col, "%s", msg);
    }
    etl_expr_lex_seek(&p->lex, i + 1);
    rc = check_depth(p, *out);
    return rc == ERR_OK ? lex(p) : rc;
}

static enum err_code parse_primary(struct parser *p, struct etl_expr_node **out)
{
    *out = NULL;
    switch (p->lex.tok.type) {
    case ETL_EXPR_LEX_LPAREN: {
        struct etl_expr_lex_token open = p->lex.tok;
        enum err_code rc = lex(p);
        if (rc == ERR_OK) {
            rc = parse_expr(p, out);
        }
        if (rc == ERR_OK && p->lex.tok.type != ETL_EXPR_LEX_RPAREN) {
            char what[64];
            snprintf(what, sizeof(what), "')' to close the '(' of column %zu", open.column);
            return expected(p, what);
        }
        return rc == ERR_OK ? lex(p) : rc;
    }
    case ETL_EXPR_LEX_STRING:
        return string_literal(p, out);
    case ETL_EXPR_LEX_NUMBER:
        return number_literal(p, out);
    case ETL_EXPR_LEX_QIDENT:
        return path(p, out);
    case ETL_EXPR_LEX_IDENT:
        break;
    default:
        return expected(p, "an expression");
    }
    if (is_kw(p, "TRUE") || is_kw(p, "FALSE") || is_kw(p, "NULL")) {
        return keyword_literal(p, out);
    }
    if (is_reserved(p)) {
        return expected(p, "an expression");
    }
    enum etl_expr_lex_type next = etl_expr_lex_peek(&p->lex);
    if ((is_kw(p, "DATE") || is_kw(p, "TIMESTAMP")) && next == ETL_EXPR_LEX_STRING) {
        return typed_literal(p, out);
    }
    if ((is_kw(p, "CAST") || is_kw(p, "TRY_CAST")) && next == ETL_EXPR_LEX_LPAREN) {
        return cast(p, out);
    }
    if (next == ETL_EXPR_LEX_LPAREN) {
        return call(p, out);
    }
    return path(p, out);
}

/* ---- operators ---- */

static enum err_code parse_unary(struct parser *p, struct etl_expr_node **out)
{
    if (p->lex.tok.type != ETL_EXPR_LEX_MINUS && p->lex.tok.type != ETL_EXPR_LEX_PLUS) {
        return parse_primary(p, out);
    }
    struct etl_expr_lex_token op = p->lex.tok;
    struct etl_expr_node *operand = NULL;
    if (++p->depth > ETL_EXPR_NODE_MAX_DEPTH) {
        return fail_at(p, op.column, "expression nested deeper than %d levels",
                       ETL_EXPR_NODE_MAX_DEPTH);
    }
    enum err_code rc = lex(p);
    if (rc == ERR_OK) {
        rc = parse_unary(p, &operand);
    }
    p->depth--;
    if (rc != ERR_OK || op.type == ETL_EXPR_LEX_PLUS) {
        *out = operand;
        return rc;
    }
    if (etl_expr_node_is_literal(operand, ETL_V_NUMBER)) {
        /* -1.5 is a literal: fold the sign into its text. */
        struct cur t = operand->lit.s;
        if (t.len > 0 && t.ptr[0] == '-') {
            memmove(operand->owned, operand->owned + 1, t.len); /* the NUL moves too */
        } else {
            char *s = malloc(t.len + 2);
            if (s == NULL) {
                etl_expr_node_free(operand);
                return err_set(p->err, ERR_NOMEM, "out of memory compiling an expression");
            }
            s[0] = '-';
            memcpy(s + 1, t.ptr, t.len + 1);
            free(operand->owned);
            operand->owned = s;
        }
        operand->lit.s = cur_from_str(operand->owned);
        operand->pos = op.start;
        operand->column = op.column;
        *out = operand;
        return ERR_OK;
    }
    rc = new_node(p, ETL_EXPR_NODE_NEG, &op, out);
    if (rc == ERR_OK) {
        rc = etl_expr_node_adopt(*out, operand, p->err);
    } else {
        etl_expr_node_free(operand);
    }
    return rc == ERR_OK ? check_depth(p, *out) : rc;
}

static enum err_code parse_mult(struct parser *p, struct etl_expr_node **out)
{
    enum err_code rc = parse_unary(p, out);
    while (rc == ERR_OK &&
           (p->lex.tok.type == ETL_EXPR_LEX_STAR || p->lex.tok.type == ETL_EXPR_LEX_SLASH)) {
        struct etl_expr_lex_token op = p->lex.tok;
        struct etl_expr_node *right = NULL;
        rc = lex(p);
        if (rc == ERR_OK) {
            rc = parse_unary(p, &right);
            if (rc != ERR_OK) {
                etl_expr_node_free(right);
            }
        }
        if (rc == ERR_OK) {
            struct etl_expr_node *left = *out;
            *out = NULL;
            rc = binary(p, ETL_EXPR_NODE_ARITH, op.type == ETL_EXPR_LEX_STAR ? '*' : '/', &op, left,
                        right, out);
        }
    }
    return rc;
}

static enum err_code parse_additive(struct parser *p, struct etl_expr_node **out)
{
    enum err_code rc = parse_mult(p, out);
    while (rc == ERR_OK &&
           (p->lex.tok.type == ETL_EXPR_LEX_PLUS || p->lex.tok.type == ETL_EXPR_LEX_MINUS)) {
        struct etl_expr_lex_token op = p->lex.tok;
        struct etl_expr_node *right = NULL;
        rc = lex(p);
        if (rc == ERR_OK) {
            rc = parse_mult(p, &right);
            if (rc != ERR_OK) {
                etl_expr_node_free(right);
            }
        }
        if (rc == ERR_OK) {
            struct etl_expr_node *left = *out;
            *out = NULL;
            rc = binary(p, ETL_EXPR_NODE_ARITH, op.type == ETL_EXPR_LEX_PLUS ? '+' : '-', &op, left,
                        right, out);
        }
    }
    return rc;
}

/* An n-ary chain: left (op right)* as one node. */
static enum err_code chain(struct parser *p,
                           enum etl_expr_node_op op,
                           enum err_code (*operand)(struct parser *, struct etl_expr_node **),
                           bool (*at_op)(const struct parser *),
                           struct etl_expr_node **out)
{
    enum err_code rc = operand(p, out);
    if (rc != ERR_OK || !at_op(p)) {
        return rc;
    }
    struct etl_expr_node *n = NULL;
    struct etl_expr_node *first = *out;
    *out = NULL;
    rc = new_node(p, op, &p->lex.tok, &n);
    if (rc == ERR_OK) {
        rc = etl_expr_node_adopt(n, first, p->err);
    } else {
        etl_expr_node_free(first);
    }
    *out = n;
    while (rc == ERR_OK && at_op(p)) {
        struct etl_expr_node *next = NULL;
        rc = lex(p);
        if (rc == ERR_OK) {
            rc = operand(p, &next);
            if (rc != ERR_OK) {
                etl_expr_node_free(next);
            }
        }
        if (rc == ERR_OK) {
            rc = etl_expr_node_adopt(n, next, p->err);
        }
    }
    return rc == ERR_OK ? check_depth(p, n) : rc;
}

static bool at_concat(const struct parser *p)
{
    return p->lex.tok.type == ETL_EXPR_LEX_CONCAT;
}

static bool at_and(const struct parser *p)
{
    return is_kw(p, "AND");
}

static bool at_or(const struct parser *p)
{
    return is_kw(p, "OR");
}

static enum err_code parse_concat(struct parser *p, struct etl_expr_node **out)
{
    return chain(p, ETL_EXPR_NODE_CONCAT, parse_additive, at_concat, out);
}

static bool is_cmp(enum etl_expr_lex_type t)
{
    return t == ETL_EXPR_LEX_EQ || t == ETL_EXPR_LEX_NE || t == ETL_EXPR_LEX_LT ||
           t == ETL_EXPR_LEX_LE || t == ETL_EXPR_LEX_GT || t == ETL_EXPR_LEX_GE;
}

static int cmp_of(enum etl_expr_lex_type t)
{
    switch (t) {
    case ETL_EXPR_LEX_EQ:
        return ETL_EXPR_NODE_EQ;
    case ETL_EXPR_LEX_NE:
        return ETL_EXPR_NODE_NE;
    case ETL_EXPR_LEX_LT:
        return ETL_EXPR_NODE_LT;
    case ETL_EXPR_LEX_LE:
        return ETL_EXPR_NODE_LE;
    case ETL_EXPR_LEX_GT:
        return ETL_EXPR_NODE_GT;
    default:
        return ETL_EXPR_NODE_GE;
    }
}

/* Checks a LIKE whose pattern (and escape) are literals at compile time. */
static enum err_code check_like(struct parser *p, struct etl_expr_node *n)
{
    const struct etl_expr_node *pat = n->kids[1];
    const struct etl_expr_node *esc = n->n_kids == 3 ? n->kids[2] : NULL;
    if (!etl_expr_node_is_literal(pat, ETL_V_STRING) ||
        (esc != NULL && !etl_expr_node_is_literal(esc, ETL_V_STRING))) {
        return ERR_OK;
    }
    size_t where = 0;
    enum err_code rc = etl_like_check(pat->lit.s, esc != NULL ? &esc->lit.s : NULL, &n->like_escape,
                                      &where, p->err);
    if (rc != ERR_OK) {
        char msg[sizeof(p->err->msg)];
        snprintf(msg, sizeof(msg), "%s", p->err->msg);
        bool in_escape = strstr(msg, "ESCAPE") != NULL;
        return fail_at(
            p, in_escape ? esc->column : etl_expr_parse_literal_column(p->lex.text, pat, where),
            "%s", msg);
    }
    n->like_checked = true;
    return ERR_OK;
}

/* The rest of a predicate after its left operand: IN, BETWEEN, LIKE or IS. */
static enum err_code
predicate_tail(struct parser *p, struct etl_expr_node *left, struct etl_expr_node **out)
{
    struct etl_expr_lex_token at = p->lex.tok;
    bool negated = false;
    enum err_code rc = ERR_OK;
    *out = NULL;
    if (is_kw(p, "IS")) {
        rc = lex(p);
        if (rc == ERR_OK && is_kw(p, "NOT")) {
            negated = true;
            rc = lex(p);
        }
        if (rc == ERR_OK && !is_kw(p, "NULL")) {
            rc = expected(p, negated ? "NULL after IS NOT" : "NULL or NOT NULL after IS");
        }
        if (rc == ERR_OK) {
            rc = new_node(p, ETL_EXPR_NODE_IS_NULL, &at, out);
        }
        if (rc == ERR_OK) {
            (*out)->negated = negated;
            rc = etl_expr_node_adopt(*out, left, p->err);
            left = NULL;
        }
        etl_expr_node_free(left);
        return rc == ERR_OK ? lex(p) : rc;
    }
    if (is_kw(p, "NOT")) {
        negated = true;
        rc = lex(p);
        if (rc == ERR_OK && !is_kw(p, "IN") && !is_kw(p, "BETWEEN") && !is_kw(p, "LIKE")) {
            rc = expected(p, "IN, BETWEEN or LIKE after NOT");
        }
        if (rc != ERR_OK) {
            etl_expr_node_free(left);
            return rc;
        }
    }
    enum etl_expr_node_op op = is_kw(p, "IN")        ? ETL_EXPR_NODE_IN
                               : is_kw(p, "BETWEEN") ? ETL_EXPR_NODE_BETWEEN
                                                     : ETL_EXPR_NODE_LIKE;
    rc = new_node(p, op, &at, out);
    if (rc == ERR_OK) {
        (*out)->negated = negated;
        rc = etl_expr_node_adopt(*out, left, p->err);
    } else {
        etl_expr_node_free(left);
    }
    if (rc == ERR_OK) {
        rc = lex(p);
    }
    struct etl_expr_node *kid = NULL;
    if (rc == ERR_OK && op == ETL_EXPR_NODE_IN) {
        if (p->lex.tok.type != ETL_EXPR_LEX_LPAREN) {
            return expected(p, "'(' after IN");
        }
        rc = lex(p);
        while (rc == ERR_OK) {
            rc = parse_expr(p, &kid);
            if (rc == ERR_OK) {
                rc = etl_expr_node_adopt(*out, kid, p->err);
            }
            if (rc == ERR_OK && p->lex.tok.type == ETL_EXPR_LEX_RPAREN) {
                break;
            }
            if (rc == ERR_OK && p->lex.tok.type != ETL_EXPR_LEX_COMMA) {
                return expected(p, "',' or ')' in the IN list");
            }
            if (rc == ERR_OK) {
                rc = lex(p);
            }
        }
        if (rc == ERR_OK) {
            rc = lex(p);
        }
    } else if (rc == ERR_OK && op == ETL_EXPR_NODE_BETWEEN) {
        rc = parse_concat(p, &kid);
        if (rc != ERR_OK) {
            etl_expr_node_free(kid);
        }
        if (rc == ERR_OK) {
            rc = etl_expr_node_adopt(*out, kid, p->err);
        }
        if (rc == ERR_OK && !is_kw(p, "AND")) {
            return expected(p, "AND in BETWEEN");
        }
        if (rc == ERR_OK) {
            rc = lex(p);
        }
        if (rc == ERR_OK) {
            rc = parse_concat(p, &kid);
            if (rc != ERR_OK) {
                etl_expr_node_free(kid);
            }
        }
        if (rc == ERR_OK) {
            rc = etl_expr_node_adopt(*out, kid, p->err);
        }
    } else if (rc == ERR_OK) {
        rc = parse_concat(p, &kid);
        if (rc != ERR_OK) {
            etl_expr_node_free(kid);
        }
        if (rc == ERR_OK) {
            rc = etl_expr_node_adopt(*out, kid, p->err);
        }
        if (rc == ERR_OK && is_kw(p, "ESCAPE")) {
            rc = lex(p);
            if (rc == ERR_OK) {
                rc = parse_concat(p, &kid);
                if (rc != ERR_OK) {
                    etl_expr_node_free(kid);
                }
            }
            if (rc == ERR_OK) {
                rc = etl_expr_node_adopt(*out, kid, p->err);
            }
        }
        if (rc == ERR_OK) {
            rc = check_like(p, *out);
        }
    }
    return rc == ERR_OK ? check_depth(p, *out) : rc;
}

static enum err_code parse_predicate(struct parser *p, struct etl_expr_node **out)
{
    enum err_code rc = parse_concat(p, out);
    if (rc != ERR_OK) {
        return rc;
    }
    if (is_cmp(p->lex.tok.type)) {
        struct etl_expr_lex_token op = p->lex.tok;
        struct etl_expr_node *right = NULL;
        rc = lex(p);
        if (rc == ERR_OK) {
            rc = parse_concat(p, &right);
            if (rc != ERR_OK) {
                etl_expr_node_free(right);
            }
        }
        if (rc == ERR_OK) {
            struct etl_expr_node *left = *out;
            *out = NULL;
            rc = binary(p, ETL_EXPR_NODE_CMP, cmp_of(op.type), &op, left, right, out);
        }
        if (rc == ERR_OK && is_cmp(p->lex.tok.type)) {
            return fail_at(p, p->lex.tok.column, "comparisons do not chain: join them with AND");
        }
        return rc;
    }
    if (is_kw(p, "IS") || is_kw(p, "IN") || is_kw(p, "BETWEEN") || is_kw(p, "LIKE") ||
        is_kw(p, "NOT")) {
        struct etl_expr_node *left = *out;
        *out = NULL;
        return predicate_tail(p, left, out);
    }
    return ERR_OK;
}

static enum err_code parse_not(struct parser *p, struct etl_expr_node **out)
{
    if (!is_kw(p, "NOT")) {
        return parse_predicate(p, out);
    }
    struct etl_expr_lex_token op = p->lex.tok;
    struct etl_expr_node *operand = NULL;
    if (++p->depth > ETL_EXPR_NODE_MAX_DEPTH) {
        return fail_at(p, op.column, "expression nested deeper than %d levels",
                       ETL_EXPR_NODE_MAX_DEPTH);
    }
    enum err_code rc = lex(p);
    if (rc == ERR_OK) {
        rc = parse_not(p, &operand);
    }
    p->depth--;
    if (rc != ERR_OK) {
        etl_expr_node_free(operand);
        return rc;
    }
    rc = new_node(p, ETL_EXPR_NODE_NOT, &op, out);
    if (rc == ERR_OK) {
        rc = etl_expr_node_adopt(*out, operand, p->err);
    } else {
        etl_expr_node_free(operand);
    }
    return rc == ERR_OK ? check_depth(p, *out) : rc;
}

static enum err_code parse_and(struct parser *p, struct etl_expr_node **out)
{
    return chain(p, ETL_EXPR_NODE_AND, parse_not, at_and, out);
}

static enum err_code parse_expr(struct parser *p, struct etl_expr_node **out)
{
    *out = NULL;
    if (++p->depth > ETL_EXPR_NODE_MAX_DEPTH) {
        return fail_at(p, p->lex.tok.column, "expression nested deeper than %d levels",
                       ETL_EXPR_NODE_MAX_DEPTH);
    }
    enum err_code rc = chain(p, ETL_EXPR_NODE_OR, parse_and, at_or, out);
    p->depth--;
    if (rc != ERR_OK) {
        etl_expr_node_free(*out);
        *out = NULL;
    }
    return rc;
}

enum err_code etl_expr_parse_tree(struct cur text, struct etl_expr_node **out, struct err *err)
{
    *out = NULL;
    if (text.len > ETL_EXPR_PARSE_MAX_TEXT) {
        return err_set(err, ERR_INVALID_INPUT, "expression of %zu bytes is over %d", text.len,
                       ETL_EXPR_PARSE_MAX_TEXT);
    }
    struct parser p;
    memset(&p, 0, sizeof(p));
    etl_expr_lex_init(&p.lex, text);
    p.err = err;
    enum err_code rc = lex(&p);
    if (rc == ERR_OK) {
        rc = parse_expr(&p, out);
    }
    if (rc == ERR_OK && p.lex.tok.type != ETL_EXPR_LEX_END) {
        rc = expected(&p, "an operator or the end");
        etl_expr_node_free(*out);
        *out = NULL;
    }
    return rc;
}

size_t
etl_expr_parse_literal_column(struct cur text, const struct etl_expr_node *lit, size_t offset)
{
    size_t start = lit->pos + 1; /* after the opening quote */
    size_t k = 0;
    for (size_t u = 0; u < offset && start + k < text.len; u++) {
        k += text.ptr[start + k] == '\'' ? 2 : 1;
    }
    if (start + k > text.len) {
        k = text.len - start;
    }
    return lit->column + 1 + etl_utf8_count(text.ptr + start, k);
}
