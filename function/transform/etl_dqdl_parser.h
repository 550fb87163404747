/*
 * etl_dqdl_parser.h - the state the DQDL parser's modules share (etl_dqdl.c: the document and
 * rules; etl_dqdl_cond.c: conditions and operands) and its helpers: lookahead, errors with their
 * position, and copies into the ruleset's arena. Private to the parser.
 * Errors: the first one sticks in ps->rc and *ps->err; every helper is a no-op after it.
 */
#ifndef ETL_DQDL_PARSER_H
#define ETL_DQDL_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "etl_dqdl.h"
#include "etl_dqdl_lex.h"

/* Parentheses nest at most this deep (composites and arithmetic), so no input can exhaust the
 * stack. */
#define ETL_DQDL_MAX_DEPTH 64

/* A declared variable: name = "v" or name = ["a", "b"]. */
struct etl_dqdl_parser_var {
    const char *name;
    const struct etl_dqdl_value *values;
    size_t n;
    bool is_list;
};

struct etl_dqdl_parser {
    struct etl_dqdl_lexer lx;
    struct cur text;
    struct etl_dqdl_token ahead[3];
    size_t n_ahead;
    size_t prev_end; /* end of the last token consumed */
    struct etl_dqdl_ruleset *rs;
    struct err *err;
    enum err_code rc;
    struct etl_dqdl_parser_var *vars;
    size_t n_vars;
    const struct etl_dqdl_label *defaults;
    size_t n_defaults;
    int depth;
    struct buf scratch;
};

/* The token k ahead (0: the next one); a token that is not one fails the parse when seen. */
struct etl_dqdl_token etl_dqdl_parser_peek(struct etl_dqdl_parser *ps, size_t k);
struct etl_dqdl_token etl_dqdl_parser_advance(struct etl_dqdl_parser *ps);
bool etl_dqdl_parser_at(struct etl_dqdl_parser *ps, enum etl_dqdl_tok kind);
/* Consumes the next token when it is of that kind. */
bool etl_dqdl_parser_accept(struct etl_dqdl_parser *ps, enum etl_dqdl_tok kind);

/* Records "dqdl: line L, column C: <message>" for the byte offset off (the first error wins). */
enum err_code etl_dqdl_parser_fail(struct etl_dqdl_parser *ps, size_t off, const char *fmt, ...)
    PRINTF_FMT(3, 4);
/* "expected <what>, found <the next token>". */
enum err_code etl_dqdl_parser_expected(struct etl_dqdl_parser *ps, const char *what);
/* Consumes a token of that kind, or fails with "expected <kind> <context>, found ...". */
enum err_code
etl_dqdl_parser_expect(struct etl_dqdl_parser *ps, enum etl_dqdl_tok kind, const char *context);

/* n zeroed bytes in the ruleset's arena; NULL after an error. */
void *etl_dqdl_parser_node(struct etl_dqdl_parser *ps, size_t n);
/* A NUL-terminated copy of n bytes in the arena. */
const char *etl_dqdl_parser_copy(struct etl_dqdl_parser *ps, const void *s, size_t n);
/* The unescaped value of a string token (etl_dqdl_lex_unescape), in the arena. */
const char *
etl_dqdl_parser_string(struct etl_dqdl_parser *ps, struct etl_dqdl_token t, size_t *len);
/* A token's text, in the arena. */
const char *etl_dqdl_parser_token_text(struct etl_dqdl_parser *ps, struct etl_dqdl_token t);
/* The variable declared with that name; NULL if none. */
const struct etl_dqdl_parser_var *
etl_dqdl_parser_find_var(struct etl_dqdl_parser *ps, const char *s, size_t n);

#endif
