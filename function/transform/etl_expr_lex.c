/*
 * etl_expr_lex.c - a hand-written lexer over borrowed text; columns advance by the characters
 * each token spans.
 */
#include "etl_expr_lex.h"

#include <string.h>

#include "etl_utf8.h"

static void advance(struct etl_expr_lex *p, size_t n)
{
    p->column += etl_utf8_count(p->text.ptr + p->pos, n);
    p->pos += n;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_start(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_ident_char(uint8_t c)
{
    return is_ident_start(c) || is_digit(c);
}

/* The length of a quoted token ('...' or "...", the quote doubled inside) at start; 0 if it is
 * not closed. */
static size_t quoted_len(struct cur text, size_t start)
{
    uint8_t q = text.ptr[start];
    size_t i = start + 1;
    while (i < text.len) {
        if (text.ptr[i] == q) {
            if (i + 1 < text.len && text.ptr[i + 1] == q) {
                i += 2;
                continue;
            }
            return i + 1 - start;
        }
        i++;
    }
    return 0;
}

static size_t number_len(struct cur text, size_t start)
{
    size_t i = start;
    while (i < text.len && is_digit(text.ptr[i])) {
        i++;
    }
    if (i < text.len && text.ptr[i] == '.') {
        i++;
        while (i < text.len && is_digit(text.ptr[i])) {
            i++;
        }
    }
    if (i < text.len && (text.ptr[i] == 'e' || text.ptr[i] == 'E')) {
        size_t e = i + 1;
        if (e < text.len && (text.ptr[e] == '+' || text.ptr[e] == '-')) {
            e++;
        }
        if (e < text.len && is_digit(text.ptr[e])) {
            while (e < text.len && is_digit(text.ptr[e])) {
                e++;
            }
            i = e;
        }
    }
    return i - start;
}

enum err_code etl_expr_lex_next(struct etl_expr_lex *p, struct err *err)
{
    const uint8_t *t = p->text.ptr;
    size_t len = p->text.len;
    while (p->pos < len && (t[p->pos] == ' ' || t[p->pos] == '\t' || t[p->pos] == '\n' ||
                            t[p->pos] == '\r' || t[p->pos] == '\f' || t[p->pos] == '\v')) {
        advance(p, 1);
    }
    p->tok.start = p->pos;
    p->tok.column = p->column;
    if (p->pos >= len) {
        p->tok.type = ETL_EXPR_LEX_END;
        p->tok.end = p->pos;
        return ERR_OK;
    }
    uint8_t c = t[p->pos];
    uint8_t c2 = p->pos + 1 < len ? t[p->pos + 1] : 0;
    size_t n = 1;
    enum etl_expr_lex_type type = ETL_EXPR_LEX_OTHER;
    switch (c) {
    case '(':
        type = ETL_EXPR_LEX_LPAREN;
        break;
    case ')':
        type = ETL_EXPR_LEX_RPAREN;
        break;
    case ',':
        type = ETL_EXPR_LEX_COMMA;
        break;
    case '+':
        type = ETL_EXPR_LEX_PLUS;
        break;
    case '-':
        type = ETL_EXPR_LEX_MINUS;
        break;
    case '*':
        type = ETL_EXPR_LEX_STAR;
        break;
    case '/':
        type = ETL_EXPR_LEX_SLASH;
        break;
    case '=':
        type = ETL_EXPR_LEX_EQ;
        break;
    case '<':
        type = c2 == '=' ? ETL_EXPR_LEX_LE : c2 == '>' ? ETL_EXPR_LEX_NE : ETL_EXPR_LEX_LT;
        n = c2 == '=' || c2 == '>' ? 2 : 1;
        break;
    case '>':
        type = c2 == '=' ? ETL_EXPR_LEX_GE : ETL_EXPR_LEX_GT;
        n = c2 == '=' ? 2 : 1;
        break;
    case '!':
        if (c2 == '=') {
            type = ETL_EXPR_LEX_NE;
            n = 2;
        }
        break;
    case '|':
        if (c2 == '|') {
            type = ETL_EXPR_LEX_CONCAT;
            n = 2;
        }
        break;
    case '\'':
    case '"':
        n = quoted_len(p->text, p->pos);
        if (n == 0) {
            return err_set(err, ERR_INVALID_INPUT, "column %zu: %s", p->column,
                           c == '\'' ? "unterminated string literal" : "unterminated quoted name");
        }
        type = c == '\'' ? ETL_EXPR_LEX_STRING : ETL_EXPR_LEX_QIDENT;
        break;
    default:
        if (is_digit(c) || (c == '.' && is_digit(c2))) {
            type = ETL_EXPR_LEX_NUMBER;
            n = number_len(p->text, p->pos);
        } else if (is_ident_start(c)) {
            type = ETL_EXPR_LEX_IDENT;
            while (p->pos + n < len && is_ident_char(t[p->pos + n])) {
                n++;
            }
        } else {
            while (p->pos + n < len && (t[p->pos + n] & 0xC0) == 0x80) {
                n++; /* a whole UTF-8 character, for the message */
            }
        }
        break;
    }
    p->tok.type = type;
    advance(p, n);
    p->tok.end = p->pos;
    return ERR_OK;
}

void etl_expr_lex_init(struct etl_expr_lex *l, struct cur text)
{
    memset(l, 0, sizeof(*l));
    l->text = text;
    l->column = 1;
    l->tok.column = 1;
}

enum etl_expr_lex_type etl_expr_lex_peek(const struct etl_expr_lex *l)
{
    struct etl_expr_lex q = *l;
    struct err scratch = ERR_INIT;
    return etl_expr_lex_next(&q, &scratch) == ERR_OK ? q.tok.type : ETL_EXPR_LEX_OTHER;
}

void etl_expr_lex_seek(struct etl_expr_lex *l, size_t to)
{
    l->pos = l->tok.start;
    l->column = l->tok.column;
    advance(l, to > l->pos && to <= l->text.len ? to - l->pos : 0);
}

struct cur etl_expr_lex_text(const struct etl_expr_lex *l)
{
    return cur_make(l->text.ptr + l->tok.start, l->tok.end - l->tok.start);
}

bool etl_expr_lex_is(const struct etl_expr_lex *l, const char *kw)
{
    return l->tok.type == ETL_EXPR_LEX_IDENT && cur_eq_nocase(etl_expr_lex_text(l), kw);
}
