/*
 * etl_dqdl_cond.c - conditions and operands of DQDL rules. Numbers keep their text (compared
 * exactly later); dates become days since the epoch and times minutes after midnight, checked
 * for validity here as Java's LocalDate and LocalTime would at evaluation.
 */
#include "etl_dqdl_cond.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_datetime.h"

/* A duration's count is a Java int in Glue (Integer.parseInt). */
#define DQDL_MAX_AMOUNT INT32_MAX

/* ---- dates ---- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* The grammar's DATE token: "DDDD-DD-DD". false when s does not have that shape. */
static bool date_shape(const char *s, size_t n)
{
    return n == 10 && all_digits(s, 4) && s[4] == '-' && all_digits(s + 5, 2) && s[7] == '-' &&
           all_digits(s + 8, 2);
}

/* The grammar's TIME ("H:MM AM", "HH:MM PM") and MIL_TIME ("HH:MM") tokens. */
static bool time_shape(const char *s, size_t n, int *minute, bool *valid)
{
    size_t h = (n > 1 && s[1] == ':') ? 1 : 2;
    if (n < h + 3 || !all_digits(s, h) || s[h] != ':' || !all_digits(s + h + 1, 2)) {
        return false;
    }
    int hour = h == 1 ? s[0] - '0' : num2(s), min = num2(s + h + 1);
    if (n == h + 3 && h == 2) {
        *valid = hour < 24 && min < 60;
        *minute = hour * 60 + min;
        return true;
    }
    if (n == h + 6 && s[h + 3] == ' ' && (s[h + 4] == 'A' || s[h + 4] == 'P') && s[h + 5] == 'M') {
        /* Java's "h:mm a": hours 1 to 12; 12 AM is midnight. */
        *valid = hour >= 1 && hour <= 12 && min < 60;
        *minute = (hour % 12 + (s[h + 4] == 'P' ? 12 : 0)) * 60 + min;
        return true;
    }
    return false;
}

static bool valid_date(const char *s, int32_t *days)
{
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + num2(s + 2);
    int m = num2(s + 5), d = num2(s + 8);
    if (d < 1 || d > etl_datetime_days_in_month(y, m)) {
        return false;
    }
    /* Years 0000 to 9999 (four digits): the day count fits an int32. */
    *days = (int32_t)etl_datetime_days_from_civil(y, m, d);
    return true;
}

/* ---- operands ---- */

static const struct etl_dqdl_num *parse_number(struct etl_dqdl_parser *ps);

static const struct etl_dqdl_num *parse_call(struct etl_dqdl_parser *ps)
{
    struct etl_dqdl_token name = etl_dqdl_parser_advance(ps);
    (void)etl_dqdl_parser_advance(ps); /* ( */
    struct etl_dqdl_num *n = etl_dqdl_parser_node(ps, sizeof(*n));
    const struct etl_dqdl_num *args[16];
    size_t n_args = 0;
    if (n == NULL) {
        return NULL;
    }
    n->kind = ETL_DQDL_N_CALL;
    n->fn = etl_dqdl_parser_token_text(ps, name);
    if (!etl_dqdl_parser_at(ps, ETL_DQDL_T_RPAREN)) {
        do {
            if (n_args == sizeof(args) / sizeof(args[0])) {
                (void)etl_dqdl_parser_fail(ps, etl_dqdl_parser_peek(ps, 0).off,
                                           "more than 16 arguments to %s", n->fn);
                return NULL;
            }
            args[n_args] = parse_number(ps);
            if (args[n_args++] == NULL) {
                return NULL;
            }
        } while (etl_dqdl_parser_accept(ps, ETL_DQDL_T_COMMA));
    }
    if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_RPAREN, "after the arguments") != ERR_OK) {
        return NULL;
    }
    n->args = etl_dqdl_parser_node(ps, (n_args > 0 ? n_args : 1) * sizeof(*n->args));
    if (n->args != NULL) {
        memcpy(n->args, args, n_args * sizeof(*args));
        n->n_args = n_args;
    }
    return ps->rc == ERR_OK ? n : NULL;
}

static const struct etl_dqdl_num *parse_number_primary(struct etl_dqdl_parser *ps)
{
    struct etl_dqdl_token t = etl_dqdl_parser_peek(ps, 0);
    if (t.kind == ETL_DQDL_T_LPAREN) {
        if (++ps->depth > ETL_DQDL_MAX_DEPTH) {
            (void)etl_dqdl_parser_fail(ps, t.off, "parentheses nest deeper than %d",
                                       ETL_DQDL_MAX_DEPTH);
            return NULL;
        }
        (void)etl_dqdl_parser_advance(ps);
        const struct etl_dqdl_num *inner = parse_number(ps);
        ps->depth--;
        if (inner == NULL ||
            etl_dqdl_parser_expect(ps, ETL_DQDL_T_RPAREN, "after a number") != ERR_OK) {
            return NULL;
        }
        return inner;
    }
    if (t.kind == ETL_DQDL_T_IDENT && etl_dqdl_parser_peek(ps, 1).kind == ETL_DQDL_T_LPAREN) {
        return parse_call(ps);
    }
    bool negative = etl_dqdl_parser_accept(ps, ETL_DQDL_T_MINUS);
    t = etl_dqdl_parser_peek(ps, 0);
    if (t.kind != ETL_DQDL_T_INT && t.kind != ETL_DQDL_T_DECIMAL) {
        (void)etl_dqdl_parser_expected(ps, "a number");
        return NULL;
    }
    (void)etl_dqdl_parser_advance(ps);
    struct etl_dqdl_num *n = etl_dqdl_parser_node(ps, sizeof(*n));
    char *atom = etl_dqdl_parser_node(ps, t.len + 2);
    if (n == NULL || atom == NULL) {
        return NULL;
    }
    atom[0] = '-';
    memcpy(atom + (negative ? 1 : 0), ps->text.ptr + t.off, t.len);
    n->kind = ETL_DQDL_N_ATOM;
    n->atom = atom;
    return n;
}

static int number_op(enum etl_dqdl_tok kind)
{
    switch (kind) {
    case ETL_DQDL_T_PLUS:
        return '+';
    case ETL_DQDL_T_MINUS:
        return '-';
    case ETL_DQDL_T_STAR:
        return '*';
    case ETL_DQDL_T_SLASH:
        return '/';
    default:
        return 0;
    }
}

/* number (op number)*: the grammar's `number numberOp number` alternative gives the four
 * operators one precedence, applied left to right (1 + 2 * 3 is 9). */
static const struct etl_dqdl_num *parse_number(struct etl_dqdl_parser *ps)
{
    const struct etl_dqdl_num *lhs = parse_number_primary(ps);
    int op = 0;
    while (lhs != NULL && (op = number_op(etl_dqdl_parser_peek(ps, 0).kind)) != 0) {
        (void)etl_dqdl_parser_advance(ps);
        const struct etl_dqdl_num *rhs = parse_number_primary(ps);
        struct etl_dqdl_num *b = etl_dqdl_parser_node(ps, sizeof(*b));
        if (rhs == NULL || b == NULL) {
            return NULL;
        }
        b->kind = ETL_DQDL_N_BINARY;
        b->op = (char)op;
        b->lhs = lhs;
        b->rhs = rhs;
        lhs = b;
    }
    return lhs;
}

static bool unit_of(enum etl_dqdl_tok kind, enum etl_dqdl_unit *unit)
{
    switch (kind) {
    case ETL_DQDL_T_DAYS:
        *unit = ETL_DQDL_DAYS;
        return true;
    case ETL_DQDL_T_HOURS:
        *unit = ETL_DQDL_HOURS;
        return true;
    case ETL_DQDL_T_MINUTES:
        *unit = ETL_DQDL_MINUTES;
        return true;
    default:
        return false;
    }
}

/* INT unit, e.g. "24 hours". */
static enum err_code parse_duration(struct etl_dqdl_parser *ps, struct etl_dqdl_value *v)
{
    struct etl_dqdl_token t = etl_dqdl_parser_peek(ps, 0);
    if (t.kind != ETL_DQDL_T_INT || !unit_of(etl_dqdl_parser_peek(ps, 1).kind, &v->unit)) {
        return etl_dqdl_parser_expected(ps, "a duration such as 3 days, 24 hours or 30 minutes");
    }
    (void)etl_dqdl_parser_advance(ps);
    (void)etl_dqdl_parser_advance(ps);
    int64_t amount = 0;
    for (size_t i = 0; i < t.len; i++) {
        amount = amount * 10 + (ps->text.ptr[t.off + i] - '0');
        if (amount > DQDL_MAX_AMOUNT) {
            return etl_dqdl_parser_fail(ps, t.off, "duration %.*s is too large", (int)t.len,
                                        ps->text.ptr + t.off);
        }
    }
    v->kind = ETL_DQDL_V_DURATION;
    v->amount = amount;
    return ERR_OK;
}

/* (now() + duration) or (now() - duration) */
static enum err_code parse_now_offset(struct etl_dqdl_parser *ps, struct etl_dqdl_value *v)
{
    (void)etl_dqdl_parser_advance(ps); /* ( */
    (void)etl_dqdl_parser_advance(ps); /* now() */
    bool minus = etl_dqdl_parser_at(ps, ETL_DQDL_T_MINUS);
    if (!etl_dqdl_parser_accept(ps, ETL_DQDL_T_MINUS) &&
        !etl_dqdl_parser_accept(ps, ETL_DQDL_T_PLUS)) {
        return etl_dqdl_parser_expected(ps, "'+' or '-' after now()");
    }
    enum err_code rc = parse_duration(ps, v);
    if (rc == ERR_OK) {
        rc = etl_dqdl_parser_expect(ps, ETL_DQDL_T_RPAREN, "after the duration");
    }
    v->kind = ETL_DQDL_V_NOW;
    v->amount = minus ? -v->amount : v->amount;
    return rc;
}

/* $name: a declared variable. */
const struct etl_dqdl_parser_var *etl_dqdl_cond_var_ref(struct etl_dqdl_parser *ps)
{
    size_t off = etl_dqdl_parser_advance(ps).off; /* $ */
    struct etl_dqdl_token name = etl_dqdl_parser_peek(ps, 0);
    if (name.kind != ETL_DQDL_T_IDENT) {
        (void)etl_dqdl_parser_expected(ps, "a variable name after '$'");
        return NULL;
    }
    (void)etl_dqdl_parser_advance(ps);
    const struct etl_dqdl_parser_var *var =
        etl_dqdl_parser_find_var(ps, (const char *)ps->text.ptr + name.off, name.len);
    if (var == NULL) {
        (void)etl_dqdl_parser_fail(ps, off, "variable $%.*s is not declared", (int)name.len,
                                   (const char *)ps->text.ptr + name.off);
    }
    return var;
}

static void
string_kind(struct etl_dqdl_parser *ps, struct etl_dqdl_token t, struct etl_dqdl_value *v)
{
    v->str = etl_dqdl_parser_string(ps, t, &v->str_len);
    v->raw = etl_dqdl_parser_copy(ps, ps->text.ptr + t.off + 1, t.len - 2);
    v->kind = ETL_DQDL_V_STRING;
    if (v->str == NULL || v->raw == NULL || v->str_len != t.len - 2) {
        return; /* a string with escapes is never a date or a time */
    }
    bool valid = true;
    int minute = 0;
    if (date_shape(v->raw, t.len - 2)) {
        if (!valid_date(v->raw, &v->days)) {
            (void)etl_dqdl_parser_fail(ps, t.off, "%s is not a valid date", v->raw);
        }
        v->kind = ETL_DQDL_V_DATE;
    } else if (time_shape(v->raw, t.len - 2, &minute, &valid)) {
        if (!valid) {
            (void)etl_dqdl_parser_fail(ps, t.off, "%s is not a valid time", v->raw);
        }
        v->kind = ETL_DQDL_V_TIME;
        v->minute = minute;
    }
}

/* One operand of a condition (a variable standing for one string included). */
enum err_code etl_dqdl_cond_operand(struct etl_dqdl_parser *ps, struct etl_dqdl_value *v)
{
    struct etl_dqdl_token t = etl_dqdl_parser_peek(ps, 0);
    memset(v, 0, sizeof(*v));
    v->off = t.off;
    switch (t.kind) {
    case ETL_DQDL_T_LPAREN:
        if (etl_dqdl_parser_peek(ps, 1).kind == ETL_DQDL_T_NOW) {
            return parse_now_offset(ps, v);
        }
        break;
    case ETL_DQDL_T_NOW:
        (void)etl_dqdl_parser_advance(ps);
        v->kind = ETL_DQDL_V_NOW;
        return ERR_OK;
    case ETL_DQDL_T_STRING:
        (void)etl_dqdl_parser_advance(ps);
        string_kind(ps, t, v);
        return ps->rc;
    case ETL_DQDL_T_NULL:
    case ETL_DQDL_T_EMPTY:
    case ETL_DQDL_T_WHITESPACES_ONLY:
        (void)etl_dqdl_parser_advance(ps);
        v->kind = t.kind == ETL_DQDL_T_NULL    ? ETL_DQDL_V_NULL
                  : t.kind == ETL_DQDL_T_EMPTY ? ETL_DQDL_V_EMPTY
                                               : ETL_DQDL_V_WHITESPACES_ONLY;
        return ERR_OK;
    case ETL_DQDL_T_DOLLAR: {
        const struct etl_dqdl_parser_var *var = etl_dqdl_cond_var_ref(ps);
        if (var == NULL) {
            return ps->rc;
        }
        if (var->is_list) {
            return etl_dqdl_parser_fail(ps, t.off, "$%s is a list; only 'in' and 'not in' take one",
                                        var->name);
        }
        *v = var->values[0];
        v->off = t.off;
        return ERR_OK;
    }
    case ETL_DQDL_T_INT: {
        enum etl_dqdl_unit unit;
        if (unit_of(etl_dqdl_parser_peek(ps, 1).kind, &unit)) {
            return parse_duration(ps, v);
        }
        break;
    }
    case ETL_DQDL_T_DECIMAL:
    case ETL_DQDL_T_MINUS:
    case ETL_DQDL_T_IDENT:
        break;
    default:
        return etl_dqdl_parser_expected(
            ps, "a number, a quoted string, NULL, EMPTY, WHITESPACES_ONLY, a date or a "
                "duration");
    }
    if (t.kind == ETL_DQDL_T_IDENT && etl_dqdl_parser_peek(ps, 1).kind != ETL_DQDL_T_LPAREN) {
        return etl_dqdl_parser_expected(
            ps, "a number, a quoted string, NULL, EMPTY, WHITESPACES_ONLY, a date or "
                "a duration");
    }
    v->kind = ETL_DQDL_V_NUMBER;
    v->num = parse_number(ps);
    return ps->rc;
}

/* [operand, ...] or $list */
enum err_code etl_dqdl_cond_operand_list(struct etl_dqdl_parser *ps, struct etl_dqdl_cond *c)
{
    if (etl_dqdl_parser_at(ps, ETL_DQDL_T_DOLLAR)) {
        size_t off = etl_dqdl_parser_peek(ps, 0).off;
        const struct etl_dqdl_parser_var *var = etl_dqdl_cond_var_ref(ps);
        if (var == NULL) {
            return ps->rc;
        }
        struct etl_dqdl_value *vals = etl_dqdl_parser_node(ps, var->n * sizeof(*vals));
        if (vals == NULL) {
            return ps->rc;
        }
        memcpy(vals, var->values, var->n * sizeof(*vals));
        for (size_t i = 0; i < var->n; i++) {
            vals[i].off = off;
        }
        c->values = vals;
        c->n = var->n;
        return ERR_OK;
    }
    if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_LBRAC, "or a $variable after 'in'") != ERR_OK) {
        return ps->rc;
    }
    size_t cap = 8, n = 0;
    struct etl_dqdl_value *vals = malloc(cap * sizeof(*vals));
    if (vals == NULL) {
        return ps->rc = err_set(ps->err, ERR_NOMEM, "dqdl: out of memory");
    }
    do {
        if (n == cap) {
            void *grown = mem_grow(vals, &cap, n, sizeof(*vals), 8);
            if (grown == NULL) {
                free(vals);
                return ps->rc = err_set(ps->err, ERR_NOMEM, "dqdl: out of memory");
            }
            vals = grown;
        }
    } while (etl_dqdl_cond_operand(ps, &vals[n++]) == ERR_OK &&
             etl_dqdl_parser_accept(ps, ETL_DQDL_T_COMMA));
    if (ps->rc == ERR_OK) {
        (void)etl_dqdl_parser_expect(ps, ETL_DQDL_T_RBRAC, "or ',' in the list");
    }
    struct etl_dqdl_value *kept = etl_dqdl_parser_node(ps, n * sizeof(*kept));
    if (kept != NULL) {
        memcpy(kept, vals, n * sizeof(*kept));
        c->values = kept;
        c->n = n;
    }
    free(vals);
    return ps->rc;
}

bool etl_dqdl_cond_starts(enum etl_dqdl_tok kind)
{
    switch (kind) {
    case ETL_DQDL_T_BETWEEN:
    case ETL_DQDL_T_NOT:
    case ETL_DQDL_T_GT:
    case ETL_DQDL_T_GE:
    case ETL_DQDL_T_LT:
    case ETL_DQDL_T_LE:
    case ETL_DQDL_T_EQ:
    case ETL_DQDL_T_BANG:
    case ETL_DQDL_T_IN:
    case ETL_DQDL_T_MATCHES:
        return true;
    default:
        return false;
    }
}

static enum err_code parse_operator(struct etl_dqdl_parser *ps, enum etl_dqdl_op *op)
{
    struct etl_dqdl_token t = etl_dqdl_parser_advance(ps);
    switch (t.kind) {
    case ETL_DQDL_T_NOT:
        if (etl_dqdl_parser_accept(ps, ETL_DQDL_T_BETWEEN)) {
            *op = ETL_DQDL_OP_NOT_BETWEEN;
        } else if (etl_dqdl_parser_accept(ps, ETL_DQDL_T_IN)) {
            *op = ETL_DQDL_OP_NOT_IN;
        } else if (etl_dqdl_parser_accept(ps, ETL_DQDL_T_MATCHES)) {
            *op = ETL_DQDL_OP_NOT_MATCHES;
        } else {
            return etl_dqdl_parser_expected(ps, "'between', 'in' or 'matches' after 'not'");
        }
        return ERR_OK;
    case ETL_DQDL_T_BANG:
        *op = ETL_DQDL_OP_NE;
        return etl_dqdl_parser_expect(ps, ETL_DQDL_T_EQ, "after '!'");
    case ETL_DQDL_T_BETWEEN:
        *op = ETL_DQDL_OP_BETWEEN;
        return ERR_OK;
    case ETL_DQDL_T_GT:
        *op = ETL_DQDL_OP_GT;
        return ERR_OK;
    case ETL_DQDL_T_GE:
        *op = ETL_DQDL_OP_GE;
        return ERR_OK;
    case ETL_DQDL_T_LT:
        *op = ETL_DQDL_OP_LT;
        return ERR_OK;
    case ETL_DQDL_T_LE:
        *op = ETL_DQDL_OP_LE;
        return ERR_OK;
    case ETL_DQDL_T_EQ:
        *op = ETL_DQDL_OP_EQ;
        return ERR_OK;
    case ETL_DQDL_T_IN:
        *op = ETL_DQDL_OP_IN;
        return ERR_OK;
    default:
        *op = ETL_DQDL_OP_MATCHES;
        return ERR_OK;
    }
}

/* A condition as written; etl_dqdl_types decides its kind against the rule type. */
enum err_code etl_dqdl_cond_parse(struct etl_dqdl_parser *ps, struct etl_dqdl_cond *c)
{
    memset(c, 0, sizeof(*c));
    c->off = etl_dqdl_parser_peek(ps, 0).off;
    if (parse_operator(ps, &c->op) != ERR_OK) {
        return ps->rc;
    }
    if (c->op == ETL_DQDL_OP_IN || c->op == ETL_DQDL_OP_NOT_IN) {
        (void)etl_dqdl_cond_operand_list(ps, c);
    } else if (c->op == ETL_DQDL_OP_MATCHES || c->op == ETL_DQDL_OP_NOT_MATCHES) {
        struct etl_dqdl_token t = etl_dqdl_parser_peek(ps, 0);
        struct etl_dqdl_value *v = etl_dqdl_parser_node(ps, sizeof(*v));
        if (t.kind != ETL_DQDL_T_STRING) {
            return etl_dqdl_parser_expected(ps, "a quoted regular expression after 'matches'");
        }
        if (v != NULL) {
            (void)etl_dqdl_parser_advance(ps);
            v->off = t.off;
            string_kind(ps, t, v);
            v->kind = ETL_DQDL_V_STRING; /* "2024-01-01" is a regex here, not a date */
            c->values = v;
            c->n = 1;
        }
    } else {
        size_t n = (c->op == ETL_DQDL_OP_BETWEEN || c->op == ETL_DQDL_OP_NOT_BETWEEN) ? 2 : 1;
        struct etl_dqdl_value *v = etl_dqdl_parser_node(ps, n * sizeof(*v));
        if (v != NULL && etl_dqdl_cond_operand(ps, &v[0]) == ERR_OK && n == 2 &&
            etl_dqdl_parser_expect(ps, ETL_DQDL_T_AND, "between the bounds of 'between'") ==
                ERR_OK) {
            (void)etl_dqdl_cond_operand(ps, &v[1]);
        }
        c->values = v;
        c->n = n;
    }
    c->text = etl_dqdl_parser_copy(ps, ps->text.ptr + c->off, ps->prev_end - c->off);
    return ps->rc;
}
