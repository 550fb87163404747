/*
 * etl_expr_node.h - the tree of a compiled expression, shared by the parser (etl_expr_parse),
 * the functions (etl_expr_func) and the evaluator (etl_expr). Not a public interface: callers
 * use etl_expr.h.
 * Ownership: a node owns its children, literal bytes, path, type and prepared state
 * (etl_expr_node_free).
 */
#ifndef ETL_EXPR_NODE_H
#define ETL_EXPR_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etl_colpath.h"
#include "etl_expr.h"
#include "etl_typespec.h"
#include "etl_value.h"

/* Nesting a compiled tree may have: bounds the parser's and the evaluator's recursion. */
#define ETL_EXPR_NODE_MAX_DEPTH 64
/* Arguments a function call may have. */
#define ETL_EXPR_NODE_MAX_ARGS 64

enum etl_expr_node_op {
    ETL_EXPR_NODE_LITERAL,
    ETL_EXPR_NODE_PATH,
    ETL_EXPR_NODE_NOT,
    ETL_EXPR_NODE_AND,     /* n-ary */
    ETL_EXPR_NODE_OR,      /* n-ary */
    ETL_EXPR_NODE_CMP,     /* sub: enum etl_expr_node_cmp */
    ETL_EXPR_NODE_IN,      /* kids[0] IN (kids[1..]) */
    ETL_EXPR_NODE_BETWEEN, /* kids[0] BETWEEN kids[1] AND kids[2] */
    ETL_EXPR_NODE_LIKE,    /* kids[0] LIKE kids[1] [ESCAPE kids[2]] */
    ETL_EXPR_NODE_IS_NULL,
    ETL_EXPR_NODE_CONCAT, /* n-ary || */
    ETL_EXPR_NODE_ARITH,  /* sub: '+', '-', '*', '/' */
    ETL_EXPR_NODE_NEG,
    ETL_EXPR_NODE_CALL,
    ETL_EXPR_NODE_CAST,
};

enum etl_expr_node_cmp {
    ETL_EXPR_NODE_EQ,
    ETL_EXPR_NODE_NE,
    ETL_EXPR_NODE_LT,
    ETL_EXPR_NODE_LE,
    ETL_EXPR_NODE_GT,
    ETL_EXPR_NODE_GE,
};

struct etl_expr_func;

struct etl_expr_node {
    enum etl_expr_node_op op;
    int sub;
    bool negated;         /* NOT IN, NOT BETWEEN, NOT LIKE, IS NOT NULL */
    bool try_cast;        /* CAST: TRY_CAST */
    size_t column;        /* 1-based, in characters, where the node's text starts */
    size_t pos;           /* byte offset of the same place */
    int depth;            /* 1 for a leaf */
    struct etl_value lit; /* LITERAL; its bytes are owned */
    char *owned;
    struct etl_colpath path; /* PATH */
    struct etl_expr_node **kids;
    size_t n_kids;
    size_t kids_cap;
    const struct etl_expr_func *fn; /* CALL */
    struct etl_typespec *type;      /* CAST */
    uint32_t like_escape;           /* LIKE with literal pattern and escape: checked */
    bool like_checked;
    void *prepared; /* what a function compiled once (a regex) */
    void (*free_prepared)(void *prepared);
};

/* Evaluates a node (the evaluator's entry, handed to functions that evaluate lazily). */
typedef enum err_code (*etl_expr_node_eval_fn)(const struct etl_expr_node *n,
                                               const struct etl_expr_env *env,
                                               struct etl_value *out,
                                               struct err *err);

/* A zeroed node of op at (pos, column); NULL when memory runs out. */
struct etl_expr_node *etl_expr_node_new(enum etl_expr_node_op op, size_t pos, size_t column);
/* Appends a child (taken: the caller's pointer is the node's now, even on failure). */
MUST_CHECK enum err_code
etl_expr_node_adopt(struct etl_expr_node *n, struct etl_expr_node *kid, struct err *err);
/* Accepts NULL. */
void etl_expr_node_free(struct etl_expr_node *n);
/* True for a literal of that kind. */
bool etl_expr_node_is_literal(const struct etl_expr_node *n, enum etl_vkind kind);
/* Sets ERR_INVALID_INPUT "column N: <what>: <message>" for n's place; returns the code. */
enum err_code etl_expr_node_fail(const struct etl_expr_node *n,
                                 struct err *err,
                                 const char *what,
                                 const char *fmt,
                                 ...) PRINTF_FMT(4, 5);
/* A value for messages: NUMBER 12.5, STRING "abc" (cut at 40 bytes), TIMESTAMP ..., NULL. */
void etl_expr_node_describe(const struct etl_value *v, char *out, size_t cap);

#endif
