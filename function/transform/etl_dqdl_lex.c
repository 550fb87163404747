/*
 * etl_dqdl_lex.c - DQDL tokens. ANTLR picks the longest match and, between equally long ones,
 * the rule defined first; for words that means keywords and numbers win over identifiers only
 * when they span the whole word ("1.5" is a decimal, "1.5.2" and "Rules2" are identifiers).
 */
#include "etl_dqdl_lex.h"

#include <string.h>

void etl_dqdl_lex_init(struct etl_dqdl_lexer *lx, struct cur text)
{
    lx->text = text;
    lx->pos = 0;
}

static bool is_word_byte(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static const struct {
    const char *word;
    enum etl_dqdl_tok kind;
} KEYWORDS[] = {
    {"and", ETL_DQDL_T_AND},
    {"AND", ETL_DQDL_T_AND},
    {"or", ETL_DQDL_T_OR},
    {"OR", ETL_DQDL_T_OR},
    {"of", ETL_DQDL_T_OF},
    {"OF", ETL_DQDL_T_OF},
    {"null", ETL_DQDL_T_NULL},
    {"NULL", ETL_DQDL_T_NULL},
    {"empty", ETL_DQDL_T_EMPTY},
    {"EMPTY", ETL_DQDL_T_EMPTY},
    {"whitespaces_only", ETL_DQDL_T_WHITESPACES_ONLY},
    {"WHITESPACES_ONLY", ETL_DQDL_T_WHITESPACES_ONLY},
    {"between", ETL_DQDL_T_BETWEEN},
    {"in", ETL_DQDL_T_IN},
    {"not", ETL_DQDL_T_NOT},
    {"with", ETL_DQDL_T_WITH},
    {"where", ETL_DQDL_T_WHERE},
    {"matches", ETL_DQDL_T_MATCHES},
    {"labels", ETL_DQDL_T_LABELS},
    {"days", ETL_DQDL_T_DAYS},
    {"hours", ETL_DQDL_T_HOURS},
    {"minutes", ETL_DQDL_T_MINUTES},
    {"B", ETL_DQDL_T_SIZE_UNIT},
    {"KB", ETL_DQDL_T_SIZE_UNIT},
    {"MB", ETL_DQDL_T_SIZE_UNIT},
    {"GB", ETL_DQDL_T_SIZE_UNIT},
    {"TB", ETL_DQDL_T_SIZE_UNIT},
    {"Rules", ETL_DQDL_T_RULES},
    {"Metadata", ETL_DQDL_T_METADATA},
    {"DataSources", ETL_DQDL_T_DATA_SOURCES},
    {"Analyzers", ETL_DQDL_T_ANALYZERS},
    {"DefaultLabels", ETL_DQDL_T_DEFAULT_LABELS},
};

static enum etl_dqdl_tok word_kind(const uint8_t *p, size_t n)
{
    size_t digits = 0;
    while (digits < n && is_digit(p[digits])) {
        digits++;
    }
    if (digits == n) {
        return ETL_DQDL_T_INT;
    }
    if (digits > 0 && p[digits] == '.' && digits + 1 < n) {
        size_t i = digits + 1;
        while (i < n && is_digit(p[i])) {
            i++;
        }
        if (i == n) {
            return ETL_DQDL_T_DECIMAL;
        }
    }
    for (size_t i = 0; i < sizeof(KEYWORDS) / sizeof(KEYWORDS[0]); i++) {
        if (strlen(KEYWORDS[i].word) == n && memcmp(KEYWORDS[i].word, p, n) == 0) {
            return KEYWORDS[i].kind;
        }
    }
    return ETL_DQDL_T_IDENT;
}

static void skip_space_and_comments(struct etl_dqdl_lexer *lx)
{
    const uint8_t *p = lx->text.ptr;
    size_t n = lx->text.len;
    while (lx->pos < n) {
        uint8_t c = p[lx->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            lx->pos++;
        } else if (c == '#') {
            /* The grammar wants a newline after a comment; one at the very end is accepted. */
            while (lx->pos < n && p[lx->pos] != '\n') {
                lx->pos++;
            }
        } else {
            return;
        }
    }
}

static enum etl_dqdl_tok punct(const uint8_t *p, size_t left, size_t *len)
{
    *len = 1;
    switch (p[0]) {
    case ':':
        return ETL_DQDL_T_COLON;
    case ',':
        return ETL_DQDL_T_COMMA;
    case '[':
        return ETL_DQDL_T_LBRAC;
    case ']':
        return ETL_DQDL_T_RBRAC;
    case '(':
        return ETL_DQDL_T_LPAREN;
    case ')':
        return ETL_DQDL_T_RPAREN;
    case '{':
        return ETL_DQDL_T_LCURL;
    case '}':
        return ETL_DQDL_T_RCURL;
    case '=':
        return ETL_DQDL_T_EQ;
    case '!':
        return ETL_DQDL_T_BANG;
    case '+':
        return ETL_DQDL_T_PLUS;
    case '-':
        return ETL_DQDL_T_MINUS;
    case '*':
        return ETL_DQDL_T_STAR;
    case '/':
        return ETL_DQDL_T_SLASH;
    case '$':
        return ETL_DQDL_T_DOLLAR;
    case '>':
        if (left > 1 && p[1] == '=') {
            *len = 2;
            return ETL_DQDL_T_GE;
        }
        return ETL_DQDL_T_GT;
    case '<':
        if (left > 1 && p[1] == '=') {
            *len = 2;
            return ETL_DQDL_T_LE;
        }
        return ETL_DQDL_T_LT;
    default:
        return ETL_DQDL_T_ERROR;
    }
}

struct etl_dqdl_token etl_dqdl_lex_next(struct etl_dqdl_lexer *lx)
{
    skip_space_and_comments(lx);
    struct etl_dqdl_token t = {ETL_DQDL_T_EOF, lx->pos, 0};
    const uint8_t *p = lx->text.ptr + lx->pos;
    size_t left = lx->text.len - lx->pos;
    if (left == 0) {
        return t;
    }
    if (p[0] == '"') {
        size_t i = 1;
        while (i < left && p[i] != '"') {
            i += (p[i] == '\\' && i + 1 < left) ? 2 : 1;
        }
        if (i >= left) {
            t.kind = ETL_DQDL_T_ERROR; /* unterminated: the error spans the rest */
            t.len = left;
        } else {
            t.kind = ETL_DQDL_T_STRING;
            t.len = i + 1;
        }
    } else if (left >= 5 && memcmp(p, "now()", 5) == 0) {
        t.kind = ETL_DQDL_T_NOW;
        t.len = 5;
    } else if (is_word_byte(p[0])) {
        size_t n = 1;
        while (n < left && is_word_byte(p[n])) {
            n++;
        }
        t.kind = word_kind(p, n);
        t.len = n;
    } else {
        t.kind = punct(p, left, &t.len);
    }
    lx->pos += t.len;
    return t;
}

const char *etl_dqdl_lex_name(enum etl_dqdl_tok kind)
{
    static const char *const NAMES[] = {
        [ETL_DQDL_T_EOF] = "the end of the ruleset",
        [ETL_DQDL_T_ERROR] = "an invalid character",
        [ETL_DQDL_T_COLON] = "':'",
        [ETL_DQDL_T_COMMA] = "','",
        [ETL_DQDL_T_LBRAC] = "'['",
        [ETL_DQDL_T_RBRAC] = "']'",
        [ETL_DQDL_T_LPAREN] = "'('",
        [ETL_DQDL_T_RPAREN] = "')'",
        [ETL_DQDL_T_LCURL] = "'{'",
        [ETL_DQDL_T_RCURL] = "'}'",
        [ETL_DQDL_T_EQ] = "'='",
        [ETL_DQDL_T_GT] = "'>'",
        [ETL_DQDL_T_GE] = "'>='",
        [ETL_DQDL_T_LT] = "'<'",
        [ETL_DQDL_T_LE] = "'<='",
        [ETL_DQDL_T_BANG] = "'!'",
        [ETL_DQDL_T_PLUS] = "'+'",
        [ETL_DQDL_T_MINUS] = "'-'",
        [ETL_DQDL_T_STAR] = "'*'",
        [ETL_DQDL_T_SLASH] = "'/'",
        [ETL_DQDL_T_DOLLAR] = "'$'",
        [ETL_DQDL_T_INT] = "an integer",
        [ETL_DQDL_T_DECIMAL] = "a decimal number",
        [ETL_DQDL_T_STRING] = "a quoted string",
        [ETL_DQDL_T_IDENT] = "an identifier",
        [ETL_DQDL_T_NOW] = "'now()'",
        [ETL_DQDL_T_AND] = "'and'",
        [ETL_DQDL_T_OR] = "'or'",
        [ETL_DQDL_T_OF] = "'of'",
        [ETL_DQDL_T_NULL] = "'NULL'",
        [ETL_DQDL_T_EMPTY] = "'EMPTY'",
        [ETL_DQDL_T_WHITESPACES_ONLY] = "'WHITESPACES_ONLY'",
        [ETL_DQDL_T_BETWEEN] = "'between'",
        [ETL_DQDL_T_IN] = "'in'",
        [ETL_DQDL_T_NOT] = "'not'",
        [ETL_DQDL_T_WITH] = "'with'",
        [ETL_DQDL_T_WHERE] = "'where'",
        [ETL_DQDL_T_MATCHES] = "'matches'",
        [ETL_DQDL_T_LABELS] = "'labels'",
        [ETL_DQDL_T_DAYS] = "'days'",
        [ETL_DQDL_T_HOURS] = "'hours'",
        [ETL_DQDL_T_MINUTES] = "'minutes'",
        [ETL_DQDL_T_SIZE_UNIT] = "a size unit",
        [ETL_DQDL_T_RULES] = "'Rules'",
        [ETL_DQDL_T_METADATA] = "'Metadata'",
        [ETL_DQDL_T_DATA_SOURCES] = "'DataSources'",
        [ETL_DQDL_T_ANALYZERS] = "'Analyzers'",
        [ETL_DQDL_T_DEFAULT_LABELS] = "'DefaultLabels'",
    };
    if ((size_t)kind < sizeof(NAMES) / sizeof(NAMES[0]) && NAMES[kind] != NULL) {
        return NAMES[kind];
    }
    return "a token";
}

void etl_dqdl_lex_position(struct cur text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && i < text.len; i++) {
        uint8_t b = text.ptr[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80) {
            c++; /* continuation bytes belong to the character before */
        }
    }
    *line = l;
    *col = c;
}

enum err_code etl_dqdl_lex_unescape(struct cur token, struct buf *out, struct err *err)
{
    if (token.len < 2) {
        return buf_append(out, "", 0, err);
    }
    const uint8_t *p = token.ptr + 1;
    size_t n = token.len - 2;
    enum err_code rc = buf_reserve(out, n, err);
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            i++;
        }
        rc = buf_append_byte(out, p[i], err);
    }
    return rc;
}
