/*
 * etl_dqdl_parser.c - the DQDL parser's shared helpers: a three-token lookahead over the lexer,
 * errors that carry the line and column of a byte offset, and arena copies.
 */
#include "etl_dqdl_parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Every token must be consumed, so a bad one is an error as soon as it is seen. */
struct etl_dqdl_token etl_dqdl_parser_peek(struct etl_dqdl_parser *ps, size_t k)
{
    while (ps->n_ahead <= k) {
        struct etl_dqdl_token t = etl_dqdl_lex_next(&ps->lx);
        ps->ahead[ps->n_ahead++] = t;
        if (t.kind != ETL_DQDL_T_ERROR) {
            continue;
        }
        uint8_t c = ps->text.ptr[t.off];
        if (c == '"') {
            (void)etl_dqdl_parser_fail(ps, t.off, "unterminated string: no closing '\"'");
        } else if (c >= 0x20 && c < 0x7f) {
            (void)etl_dqdl_parser_fail(ps, t.off, "unexpected character '%c'", c);
        } else {
            (void)etl_dqdl_parser_fail(ps, t.off, "unexpected byte 0x%02x", c);
        }
    }
    return ps->ahead[k];
}

struct etl_dqdl_token etl_dqdl_parser_advance(struct etl_dqdl_parser *ps)
{
    struct etl_dqdl_token t = etl_dqdl_parser_peek(ps, 0);
    memmove(&ps->ahead[0], &ps->ahead[1], (ps->n_ahead - 1) * sizeof(ps->ahead[0]));
    ps->n_ahead--;
    ps->prev_end = t.off + t.len;
    return t;
}

bool etl_dqdl_parser_at(struct etl_dqdl_parser *ps, enum etl_dqdl_tok kind)
{
    return etl_dqdl_parser_peek(ps, 0).kind == kind;
}

bool etl_dqdl_parser_accept(struct etl_dqdl_parser *ps, enum etl_dqdl_tok kind)
{
    if (etl_dqdl_parser_at(ps, kind)) {
        (void)etl_dqdl_parser_advance(ps);
        return true;
    }
    return false;
}

enum err_code etl_dqdl_parser_fail(struct etl_dqdl_parser *ps, size_t off, const char *fmt, ...)
{
    if (ps->rc != ERR_OK) {
        return ps->rc;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int line = 0, col = 0;
    etl_dqdl_lex_position(ps->text, off, &line, &col);
    ps->rc = err_set(ps->err, ERR_INVALID_INPUT, "dqdl: line %d, column %d: %s", line, col, msg);
    return ps->rc;
}

/* How a token is quoted in messages: its text (shortened), or its kind's name. */
static void describe(struct etl_dqdl_parser *ps, struct etl_dqdl_token t, char *out, size_t cap)
{
    if (t.kind == ETL_DQDL_T_EOF) {
        snprintf(out, cap, "%s", etl_dqdl_lex_name(t.kind));
        return;
    }
    int n = t.len > 40 ? 40 : (int)t.len;
    snprintf(out, cap, "'%.*s%s'", n, (const char *)ps->text.ptr + t.off,
             t.len > (size_t)n ? "..." : "");
}

/* "expected <what>, found <the next token>" at the next token. */
enum err_code etl_dqdl_parser_expected(struct etl_dqdl_parser *ps, const char *what)
{
    struct etl_dqdl_token t = etl_dqdl_parser_peek(ps, 0);
    char found[64];
    describe(ps, t, found, sizeof(found));
    return etl_dqdl_parser_fail(ps, t.off, "expected %s, found %s", what, found);
}

enum err_code
etl_dqdl_parser_expect(struct etl_dqdl_parser *ps, enum etl_dqdl_tok kind, const char *context)
{
    if (etl_dqdl_parser_accept(ps, kind)) {
        return ERR_OK;
    }
    char what[96];
    snprintf(what, sizeof(what), "%s %s", etl_dqdl_lex_name(kind), context);
    return etl_dqdl_parser_expected(ps, what);
}

/* ---- arena ---- */

void *etl_dqdl_parser_node(struct etl_dqdl_parser *ps, size_t n)
{
    uint8_t *p = NULL;
    if (ps->rc != ERR_OK) {
        return NULL;
    }
    ps->rc = etl_arena_alloc(&ps->rs->arena, n, &p, ps->err);
    if (ps->rc != ERR_OK) {
        return NULL;
    }
    memset(p, 0, n);
    return p;
}

const char *etl_dqdl_parser_copy(struct etl_dqdl_parser *ps, const void *s, size_t n)
{
    char *p = etl_dqdl_parser_node(ps, n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* The unescaped value of a string token, NUL-terminated, in the arena. */
const char *etl_dqdl_parser_string(struct etl_dqdl_parser *ps, struct etl_dqdl_token t, size_t *len)
{
    buf_reset(&ps->scratch);
    struct cur tok = cur_make(ps->text.ptr + t.off, t.len);
    if (ps->rc == ERR_OK) {
        ps->rc = etl_dqdl_lex_unescape(tok, &ps->scratch, ps->err);
    }
    if (ps->rc != ERR_OK) {
        return NULL;
    }
    *len = ps->scratch.len;
    return etl_dqdl_parser_copy(
        ps, ps->scratch.data != NULL ? ps->scratch.data : (const uint8_t *)"", *len);
}

const char *etl_dqdl_parser_token_text(struct etl_dqdl_parser *ps, struct etl_dqdl_token t)
{
    return etl_dqdl_parser_copy(ps, ps->text.ptr + t.off, t.len);
}

const struct etl_dqdl_parser_var *
etl_dqdl_parser_find_var(struct etl_dqdl_parser *ps, const char *s, size_t n)
{
    for (size_t i = 0; i < ps->n_vars; i++) {
        if (strlen(ps->vars[i].name) == n && memcmp(ps->vars[i].name, s, n) == 0) {
            return &ps->vars[i];
        }
    }
    return NULL;
}
