/*
 * etl_expr_lex.h - the tokens of the expression language: names, "quoted names", 'strings' (''
 * for a quote), numbers (12, 1.5, .5, 1e3), ( ) , = <> != < <= > >= + - * / ||. Each token
 * knows its 1-based column in characters, counted as the lexer goes, so errors never rescan.
 * Ownership: a lexer borrows the text.
 */
#ifndef ETL_EXPR_LEX_H
#define ETL_EXPR_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

enum etl_expr_lex_type {
    ETL_EXPR_LEX_END,
    ETL_EXPR_LEX_IDENT,
    ETL_EXPR_LEX_QIDENT,
    ETL_EXPR_LEX_STRING,
    ETL_EXPR_LEX_NUMBER,
    ETL_EXPR_LEX_LPAREN,
    ETL_EXPR_LEX_RPAREN,
    ETL_EXPR_LEX_COMMA,
    ETL_EXPR_LEX_EQ,
    ETL_EXPR_LEX_NE,
    ETL_EXPR_LEX_LT,
    ETL_EXPR_LEX_LE,
    ETL_EXPR_LEX_GT,
    ETL_EXPR_LEX_GE,
    ETL_EXPR_LEX_PLUS,
    ETL_EXPR_LEX_MINUS,
    ETL_EXPR_LEX_STAR,
    ETL_EXPR_LEX_SLASH,
    ETL_EXPR_LEX_CONCAT,
    ETL_EXPR_LEX_OTHER, /* anything else: one character, for the message */
};

struct etl_expr_lex_token {
    enum etl_expr_lex_type type;
    size_t start;  /* byte offset */
    size_t end;    /* byte offset after it */
    size_t column; /* 1-based, in characters */
};

struct etl_expr_lex {
    struct cur text;
    size_t pos;    /* where lexing continues */
    size_t column; /* the column of pos */
    struct etl_expr_lex_token tok;
};

void etl_expr_lex_init(struct etl_expr_lex *l, struct cur text);
/* Moves to the next token. An unterminated string or quoted name is ERR_INVALID_INPUT
 * ("column 6: unterminated string literal"). */
MUST_CHECK enum err_code etl_expr_lex_next(struct etl_expr_lex *l, struct err *err);
/* The type of the token after the current one, without moving. */
enum etl_expr_lex_type etl_expr_lex_peek(const struct etl_expr_lex *l);
/* Moves to byte `to` (at or after the current token's start; used after the parser took a
 * column path or a type whole), keeping the column right; call etl_expr_lex_next after it. */
void etl_expr_lex_seek(struct etl_expr_lex *l, size_t to);
/* The current token's text. */
struct cur etl_expr_lex_text(const struct etl_expr_lex *l);
/* True if the current token is the name kw (case-insensitive). */
bool etl_expr_lex_is(const struct etl_expr_lex *l, const char *kw);

#endif
