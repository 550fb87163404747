/*
 * etl_expr_node.c - making and freeing expression tree nodes. Depth is kept per node as it is
 * built, so the parser can refuse a tree the evaluator could not recurse through safely.
 */
#include "etl_expr_node.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_datetime.h"

struct etl_expr_node *etl_expr_node_new(enum etl_expr_node_op op, size_t pos, size_t column)
{
    struct etl_expr_node *n = calloc(1, sizeof(*n));
    if (n != NULL) {
        n->op = op;
        n->pos = pos;
        n->column = column;
        n->depth = 1;
        n->lit = etl_value_null();
    }
    return n;
}

enum err_code
etl_expr_node_adopt(struct etl_expr_node *n, struct etl_expr_node *kid, struct err *err)
{
    struct etl_expr_node **kids = mem_grow(n->kids, &n->kids_cap, n->n_kids, sizeof(*kids), 2);
    if (kids == NULL) {
        etl_expr_node_free(kid);
        return err_set(err, ERR_NOMEM, "out of memory compiling an expression");
    }
    n->kids = kids;
    n->kids[n->n_kids++] = kid;
    if (kid->depth + 1 > n->depth) {
        n->depth = kid->depth + 1;
    }
    return ERR_OK;
}

void etl_expr_node_free(struct etl_expr_node *n)
{
    if (n == NULL) {
        return;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        etl_expr_node_free(n->kids[i]);
    }
    free(n->kids);
    free(n->owned);
    etl_colpath_cleanup(&n->path);
    etl_typespec_free(n->type);
    if (n->prepared != NULL && n->free_prepared != NULL) {
        n->free_prepared(n->prepared);
    }
    free(n);
}

bool etl_expr_node_is_literal(const struct etl_expr_node *n, enum etl_vkind kind)
{
    return n->op == ETL_EXPR_NODE_LITERAL && n->lit.kind == kind;
}

enum err_code etl_expr_node_fail(const struct etl_expr_node *n,
                                 struct err *err,
                                 const char *what,
                                 const char *fmt,
                                 ...)
{
    char msg[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(err, ERR_INVALID_INPUT, "column %zu: %s: %s", n->column, what, msg);
}

void etl_expr_node_describe(const struct etl_value *v, char *out, size_t cap)
{
    char text[ETL_DATETIME_TEXT_MAX];
    size_t n = v->s.len > 40 ? 40 : v->s.len;
    while (n > 0 && n < v->s.len && (v->s.ptr[n] & 0xC0) == 0x80) {
        n--; /* never cut a UTF-8 sequence */
    }
    const char *more = n < v->s.len ? "..." : "";
    switch (v->kind) {
    case ETL_V_STRING:
        snprintf(out, cap, "STRING \"%.*s%s\"", (int)n, (const char *)v->s.ptr, more);
        break;
    case ETL_V_NUMBER:
    case ETL_V_JSON:
        snprintf(out, cap, "%s %.*s%s", etl_vkind_name(v->kind), (int)n, (const char *)v->s.ptr,
                 more);
        break;
    case ETL_V_DOUBLE:
        snprintf(out, cap, "DOUBLE %.17g", v->d);
        break;
    case ETL_V_BOOL:
        snprintf(out, cap, "BOOL %s", v->b ? "true" : "false");
        break;
    case ETL_V_TIMESTAMP:
        etl_datetime_format_timestamp(v->i, text);
        snprintf(out, cap, "TIMESTAMP %s", text);
        break;
    case ETL_V_DATE:
        etl_datetime_format_date(v->i, text);
        snprintf(out, cap, "DATE %s", text);
        break;
    case ETL_V_BINARY:
        snprintf(out, cap, "BINARY of %zu bytes", v->s.len);
        break;
    case ETL_V_NULL:
    default:
        snprintf(out, cap, "NULL");
        break;
    }
}
