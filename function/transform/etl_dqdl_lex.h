/*
 * etl_dqdl_lex.h - the tokens of DQDL, Glue Data Quality's rule language, as awslabs/dqdl's
 * CommonLexerRules.g4 and the literals of DataQualityDefinitionLanguage.g4 define them:
 *   punctuation  : , [ ] ( ) { } = > >= < <= ! + - * / $
 *   words        [A-Za-z0-9_.]+ : all digits is an integer, digits '.' digits a decimal, a
 *                keyword (and AND or OR of OF null NULL empty EMPTY whitespaces_only
 *                WHITESPACES_ONLY between in not with where matches labels days hours minutes
 *                B KB MB GB TB Rules Metadata DataSources Analyzers DefaultLabels) when the whole
 *                word is one, else an identifier; "now()" is one token
 *   strings      "..." with \" and \\ as the only escapes (the token keeps them; see
 *                etl_dqdl_lex_unescape)
 *   skipped      spaces, tabs, newlines (and CR, which the grammar lacks), '#' to end of line
 * Keywords are case-sensitive, as in the grammar.
 * Ownership: tokens borrow the text.
 */
#ifndef ETL_DQDL_LEX_H
#define ETL_DQDL_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

enum etl_dqdl_tok {
    ETL_DQDL_T_EOF = 0,
    ETL_DQDL_T_ERROR, /* a byte no token starts with, or an unterminated string */
    ETL_DQDL_T_COLON,
    ETL_DQDL_T_COMMA,
    ETL_DQDL_T_LBRAC,
    ETL_DQDL_T_RBRAC,
    ETL_DQDL_T_LPAREN,
    ETL_DQDL_T_RPAREN,
    ETL_DQDL_T_LCURL,
    ETL_DQDL_T_RCURL,
    ETL_DQDL_T_EQ,   /* = */
    ETL_DQDL_T_GT,   /* > */
    ETL_DQDL_T_GE,   /* >= */
    ETL_DQDL_T_LT,   /* < */
    ETL_DQDL_T_LE,   /* <= */
    ETL_DQDL_T_BANG, /* ! (with = it is !=) */
    ETL_DQDL_T_PLUS,
    ETL_DQDL_T_MINUS,
    ETL_DQDL_T_STAR,
    ETL_DQDL_T_SLASH,
    ETL_DQDL_T_DOLLAR,
    ETL_DQDL_T_INT,     /* [0-9]+ */
    ETL_DQDL_T_DECIMAL, /* [0-9]+ '.' [0-9]+ */
    ETL_DQDL_T_STRING,  /* "...", quotes and escapes included */
    ETL_DQDL_T_IDENT,   /* any other [A-Za-z0-9_.]+ word */
    ETL_DQDL_T_NOW,     /* now() */
    /* keywords */
    ETL_DQDL_T_AND,
    ETL_DQDL_T_OR,
    ETL_DQDL_T_OF,
    ETL_DQDL_T_NULL,
    ETL_DQDL_T_EMPTY,
    ETL_DQDL_T_WHITESPACES_ONLY,
    ETL_DQDL_T_BETWEEN,
    ETL_DQDL_T_IN,
    ETL_DQDL_T_NOT,
    ETL_DQDL_T_WITH,
    ETL_DQDL_T_WHERE,
    ETL_DQDL_T_MATCHES,
    ETL_DQDL_T_LABELS,
    ETL_DQDL_T_DAYS,
    ETL_DQDL_T_HOURS,
    ETL_DQDL_T_MINUTES,
    ETL_DQDL_T_SIZE_UNIT, /* B KB MB GB TB */
    ETL_DQDL_T_RULES,
    ETL_DQDL_T_METADATA,
    ETL_DQDL_T_DATA_SOURCES,
    ETL_DQDL_T_ANALYZERS,
    ETL_DQDL_T_DEFAULT_LABELS,
};

struct etl_dqdl_token {
    enum etl_dqdl_tok kind;
    size_t off; /* byte offset in the text */
    size_t len;
};

struct etl_dqdl_lexer {
    struct cur text;
    size_t pos;
};

void etl_dqdl_lex_init(struct etl_dqdl_lexer *lx, struct cur text);
/* The next token (EOF at the end, forever). */
struct etl_dqdl_token etl_dqdl_lex_next(struct etl_dqdl_lexer *lx);
/* How a token kind is written in messages ("']'", "a quoted string", "'between'"). */
const char *etl_dqdl_lex_name(enum etl_dqdl_tok kind);
/* 1-based line and column (in characters, counting UTF-8 sequences as one) of a byte offset. */
void etl_dqdl_lex_position(struct cur text, size_t off, int *line, int *col);
/* Appends the value of a string token: the bytes between the quotes, each backslash dropped and
 * the byte after it kept (\" is ", \\ is \, \d is d), as Glue's removeEscapes does. */
MUST_CHECK enum err_code etl_dqdl_lex_unescape(struct cur token, struct buf *out, struct err *err);

#endif
