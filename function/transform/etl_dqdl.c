/*
 * etl_dqdl.c - a recursive-descent parser for DQDL documents and rules, building the tree in the
 * ruleset's arena (conditions: etl_dqdl_cond.c). The checks Glue's listener makes after parsing
 * (rule types, parameter counts, where clauses, thresholds, tags) happen as each rule is read,
 * so their errors carry its position.
 */
#include "etl_dqdl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "etl_dqdl_cond.h"
#include "etl_dqdl_lex.h"
#include "etl_dqdl_parser.h"
#include "etl_dqdl_types.h"

/* Glue's API bounds a label key and value to 255 characters (DataQualityRuleResult.Labels). */
#define DQDL_MAX_LABEL 255

/* ---- labels and tags ---- */

/* [ "k" = "v", ... ] after labels= or DefaultLabels=; keys already given are replaced. */
static enum err_code parse_label_list(struct etl_dqdl_parser *ps,
                                      const struct etl_dqdl_label *base,
                                      size_t n_base,
                                      const struct etl_dqdl_label **out,
                                      size_t *n_out)
{
    struct etl_dqdl_label items[64];
    size_t n = n_base < 64 ? n_base : 64;
    if (n > 0) {
        memcpy(items, base, n * sizeof(*items));
    }
    if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_EQ, "after labels") != ERR_OK ||
        etl_dqdl_parser_expect(ps, ETL_DQDL_T_LBRAC, "to open the labels") != ERR_OK) {
        return ps->rc;
    }
    while (!etl_dqdl_parser_at(ps, ETL_DQDL_T_RBRAC)) {
        struct etl_dqdl_token k = etl_dqdl_parser_peek(ps, 0), v;
        size_t klen = 0, vlen = 0;
        if (k.kind != ETL_DQDL_T_STRING) {
            return etl_dqdl_parser_expected(ps, "a quoted label key");
        }
        (void)etl_dqdl_parser_advance(ps);
        if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_EQ, "after the label key") != ERR_OK) {
            return ps->rc;
        }
        v = etl_dqdl_parser_peek(ps, 0);
        if (v.kind != ETL_DQDL_T_STRING) {
            return etl_dqdl_parser_expected(ps, "a quoted label value");
        }
        (void)etl_dqdl_parser_advance(ps);
        const char *key = etl_dqdl_parser_string(ps, k, &klen),
                   *value = etl_dqdl_parser_string(ps, v, &vlen);
        if (key == NULL || value == NULL) {
            return ps->rc;
        }
        if (klen == 0 || vlen == 0 || klen > DQDL_MAX_LABEL || vlen > DQDL_MAX_LABEL) {
            return etl_dqdl_parser_fail(ps, k.off,
                                        "a label key and value need 1 to 255 characters");
        }
        size_t i = 0;
        while (i < n && strcmp(items[i].key, key) != 0) {
            i++;
        }
        if (i == 64) {
            return etl_dqdl_parser_fail(ps, k.off, "more than 64 labels");
        }
        items[i] = (struct etl_dqdl_label){key, value};
        n += i == n;
        if (!etl_dqdl_parser_accept(ps, ETL_DQDL_T_COMMA)) {
            break;
        }
    }
    if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_RBRAC, "or ',' after a label") != ERR_OK) {
        return ps->rc;
    }
    struct etl_dqdl_label *kept = etl_dqdl_parser_node(ps, (n > 0 ? n : 1) * sizeof(*kept));
    if (kept != NULL) {
        memcpy(kept, items, n * sizeof(*kept));
        *out = kept;
        *n_out = n;
    }
    return ps->rc;
}

static enum err_code parse_tag(struct etl_dqdl_parser *ps, struct etl_dqdl_rule *r)
{
    struct etl_dqdl_token name = etl_dqdl_parser_peek(ps, 0);
    if (name.kind != ETL_DQDL_T_IDENT) {
        return etl_dqdl_parser_expected(ps,
                                        "a tag name after 'with' (threshold, action or timeZone)");
    }
    (void)etl_dqdl_parser_advance(ps);
    const char *key = etl_dqdl_parser_token_text(ps, name);
    if (key == NULL) {
        return ps->rc;
    }
    if (strcasecmp(key, "threshold") == 0) {
        if (r->threshold.op != ETL_DQDL_OP_NONE) {
            return etl_dqdl_parser_fail(ps, name.off,
                                        "Only one threshold condition at a time is supported.");
        }
        if (!etl_dqdl_cond_starts(etl_dqdl_parser_peek(ps, 0).kind)) {
            return etl_dqdl_parser_expected(ps, "a condition after 'with threshold'");
        }
        return etl_dqdl_cond_parse(ps, &r->threshold);
    }
    /* Glue's other tags take one value with '=' ("String tags only support the equality
     * operator."). */
    struct etl_dqdl_token v;
    size_t vlen = 0;
    if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_EQ, "after the tag name (tags take = \"value\")") !=
        ERR_OK) {
        return ps->rc;
    }
    v = etl_dqdl_parser_peek(ps, 0);
    if (v.kind != ETL_DQDL_T_STRING) {
        return etl_dqdl_parser_expected(ps, "a quoted tag value");
    }
    (void)etl_dqdl_parser_advance(ps);
    const char *value = etl_dqdl_parser_string(ps, v, &vlen);
    if (value == NULL) {
        return ps->rc;
    }
    if (strcmp(key, "action") == 0) {
        if (strcasecmp(value, "warn") == 0) {
            r->action = ETL_DQDL_ACTION_WARN;
        } else if (strcasecmp(value, "quarantine") == 0) {
            r->action = ETL_DQDL_ACTION_QUARANTINE;
        } else if (strcasecmp(value, "fail") == 0) {
            r->action = ETL_DQDL_ACTION_FAIL;
        } else {
            return etl_dqdl_parser_fail(
                ps, v.off, "action \"%s\" is not one of warn, quarantine, fail", value);
        }
        return ERR_OK;
    }
    if (strcmp(key, "timeZone") == 0) {
        if (strcmp(value, "UTC") != 0) {
            return etl_dqdl_parser_fail(ps, v.off,
                                        "timeZone \"%s\" is not supported (only \"UTC\")", value);
        }
        return ERR_OK;
    }
    return etl_dqdl_parser_fail(
        ps, name.off, "tag \"%s\" is not supported (supported: threshold, action, timeZone)", key);
}

/* ---- rules ---- */

static bool is_param_start(struct etl_dqdl_parser *ps, size_t k)
{
    enum etl_dqdl_tok kind = etl_dqdl_parser_peek(ps, k).kind;
    return kind == ETL_DQDL_T_STRING || kind == ETL_DQDL_T_IDENT || kind == ETL_DQDL_T_DOLLAR;
}

/* [of|and] parameter ... : the connector word belongs to the parameter only when one follows,
 * so "and (" still starts a composite. */
static enum err_code parse_params(struct etl_dqdl_parser *ps, struct etl_dqdl_rule *r)
{
    const char *params[32];
    size_t n = 0;
    for (;;) {
        enum etl_dqdl_tok kind = etl_dqdl_parser_peek(ps, 0).kind;
        size_t skip = (kind == ETL_DQDL_T_OF || kind == ETL_DQDL_T_AND) ? 1 : 0;
        if (!is_param_start(ps, skip)) {
            break;
        }
        if (skip == 1) {
            (void)etl_dqdl_parser_advance(ps);
        }
        if (n == sizeof(params) / sizeof(params[0])) {
            return etl_dqdl_parser_fail(ps, etl_dqdl_parser_peek(ps, 0).off,
                                        "more than 32 parameters");
        }
        struct etl_dqdl_token t = etl_dqdl_parser_peek(ps, 0);
        size_t len = 0;
        if (t.kind == ETL_DQDL_T_DOLLAR) {
            const struct etl_dqdl_parser_var *var = etl_dqdl_cond_var_ref(ps);
            if (var == NULL) {
                return ps->rc;
            }
            if (var->is_list || var->values[0].kind != ETL_DQDL_V_STRING) {
                return etl_dqdl_parser_fail(ps, t.off, "$%s is not a string", var->name);
            }
            params[n++] = var->values[0].str;
        } else {
            (void)etl_dqdl_parser_advance(ps);
            params[n++] = t.kind == ETL_DQDL_T_STRING ? etl_dqdl_parser_string(ps, t, &len)
                                                      : etl_dqdl_parser_token_text(ps, t);
        }
        if (ps->rc != ERR_OK) {
            return ps->rc;
        }
    }
    r->params = etl_dqdl_parser_node(ps, (n > 0 ? n : 1) * sizeof(*r->params));
    if (r->params != NULL) {
        memcpy(r->params, params, n * sizeof(*params));
        r->n_params = n;
    }
    return ps->rc;
}

static void set_text(struct etl_dqdl_parser *ps, struct etl_dqdl_rule *r, size_t start)
{
    r->off = start;
    r->text_len = ps->prev_end - start;
    r->text = etl_dqdl_parser_copy(ps, ps->text.ptr + start, r->text_len);
    etl_dqdl_lex_position(ps->text, start, &r->line, &r->col);
}

static const struct etl_dqdl_rule *parse_leaf(struct etl_dqdl_parser *ps)
{
    struct etl_dqdl_token type = etl_dqdl_parser_peek(ps, 0);
    if (type.kind != ETL_DQDL_T_IDENT) {
        (void)etl_dqdl_parser_expected(ps,
                                       "a rule type (such as IsComplete or ColumnValues) or '('");
        return NULL;
    }
    struct etl_dqdl_rule *r = etl_dqdl_parser_node(ps, sizeof(*r));
    char name[64];
    bool known = false;
    snprintf(name, sizeof(name), "%.*s", (int)type.len, (const char *)ps->text.ptr + type.off);
    const struct etl_dqdl_type_spec *spec = etl_dqdl_types_find(name, &known);
    if (r == NULL) {
        return NULL;
    }
    if (spec == NULL) {
        /* err.msg holds 255 characters: the list gets what the position and the name leave. */
        char head[96], list[256];
        snprintf(head, sizeof(head), known ? "%s is not supported" : "unknown rule type %s", name);
        int line = 0, col = 0;
        etl_dqdl_lex_position(ps->text, type.off, &line, &col);
        int pre = snprintf(NULL, 0, "dqdl: line %d, column %d: %s (supported: )", line, col, head);
        size_t cap = pre > 0 && (size_t)pre + 32 < sizeof(ps->err->msg)
                         ? sizeof(ps->err->msg) - (size_t)pre
                         : 32;
        etl_dqdl_types_list(list, cap);
        (void)etl_dqdl_parser_fail(ps, type.off, "%s (supported: %s)", head, list);
        return NULL;
    }
    (void)etl_dqdl_parser_advance(ps);
    r->type = spec->type;
    r->labels = ps->defaults;
    r->n_labels = ps->n_defaults;
    if (parse_params(ps, r) != ERR_OK) {
        return NULL;
    }
    if (etl_dqdl_cond_starts(etl_dqdl_parser_peek(ps, 0).kind) &&
        etl_dqdl_cond_parse(ps, &r->cond) != ERR_OK) {
        return NULL;
    }
    if (etl_dqdl_parser_accept(ps, ETL_DQDL_T_WHERE)) {
        struct etl_dqdl_token w = etl_dqdl_parser_peek(ps, 0);
        size_t len = 0;
        if (w.kind != ETL_DQDL_T_STRING) {
            (void)etl_dqdl_parser_expected(ps, "a quoted SQL condition after 'where'");
            return NULL;
        }
        (void)etl_dqdl_parser_advance(ps);
        r->where = etl_dqdl_parser_string(ps, w, &len);
        r->where_off = w.off;
    }
    if (etl_dqdl_parser_at(ps, ETL_DQDL_T_LABELS)) {
        (void)etl_dqdl_parser_advance(ps);
        if (parse_label_list(ps, r->labels, r->n_labels, &r->labels, &r->n_labels) != ERR_OK) {
            return NULL;
        }
    }
    while (etl_dqdl_parser_accept(ps, ETL_DQDL_T_WITH)) {
        if (parse_tag(ps, r) != ERR_OK) {
            return NULL;
        }
    }
    set_text(ps, r, type.off);
    size_t off = type.off;
    if (ps->rc == ERR_OK && etl_dqdl_types_check(spec, r, &off, ps->err) != ERR_OK) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", ps->err->msg);
        (void)etl_dqdl_parser_fail(ps, off, "%s", msg);
        return NULL;
    }
    return ps->rc == ERR_OK ? r : NULL;
}

static const struct etl_dqdl_rule *parse_or(struct etl_dqdl_parser *ps, size_t *start, size_t *end);

/* A parenthesized rule (with its labels) or a leaf; [start, end) is its extent, parentheses
 * included. */
static const struct etl_dqdl_rule *
parse_primary(struct etl_dqdl_parser *ps, size_t *start, size_t *end)
{
    struct etl_dqdl_token t = etl_dqdl_parser_peek(ps, 0);
    *start = t.off;
    if (t.kind != ETL_DQDL_T_LPAREN) {
        const struct etl_dqdl_rule *leaf = parse_leaf(ps);
        *end = ps->prev_end;
        return leaf;
    }
    if (++ps->depth > ETL_DQDL_MAX_DEPTH) {
        (void)etl_dqdl_parser_fail(ps, t.off, "parentheses nest deeper than %d",
                                   ETL_DQDL_MAX_DEPTH);
        return NULL;
    }
    (void)etl_dqdl_parser_advance(ps);
    size_t s = 0, e = 0;
    struct etl_dqdl_rule *inner = (struct etl_dqdl_rule *)parse_or(ps, &s, &e);
    ps->depth--;
    if (inner == NULL ||
        etl_dqdl_parser_expect(ps, ETL_DQDL_T_RPAREN, "to close the rule") != ERR_OK) {
        return NULL;
    }
    if (etl_dqdl_parser_at(ps, ETL_DQDL_T_LABELS)) {
        (void)etl_dqdl_parser_advance(ps);
        if (parse_label_list(ps, ps->defaults, ps->n_defaults, &inner->labels, &inner->n_labels) !=
            ERR_OK) {
            return NULL;
        }
    }
    *end = ps->prev_end;
    return inner;
}

static const struct etl_dqdl_rule *composite(struct etl_dqdl_parser *ps,
                                             bool is_or,
                                             const struct etl_dqdl_rule *lhs,
                                             const struct etl_dqdl_rule *rhs,
                                             size_t start,
                                             size_t end)
{
    struct etl_dqdl_rule *c = etl_dqdl_parser_node(ps, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->type = ETL_DQDL_COMPOSITE;
    c->is_or = is_or;
    c->lhs = lhs;
    c->rhs = rhs;
    c->labels = ps->defaults;
    c->n_labels = ps->n_defaults;
    size_t saved = ps->prev_end;
    ps->prev_end = end;
    set_text(ps, c, start);
    ps->prev_end = saved;
    return c;
}

/* "and" binds tighter than "or": the grammar lists the and-alternative first. */
static const struct etl_dqdl_rule *parse_and(struct etl_dqdl_parser *ps, size_t *start, size_t *end)
{
    const struct etl_dqdl_rule *lhs = parse_primary(ps, start, end);
    while (lhs != NULL && etl_dqdl_parser_accept(ps, ETL_DQDL_T_AND)) {
        size_t s = 0;
        const struct etl_dqdl_rule *rhs = parse_primary(ps, &s, end);
        lhs = rhs == NULL ? NULL : composite(ps, false, lhs, rhs, *start, *end);
    }
    return lhs;
}

static const struct etl_dqdl_rule *parse_or(struct etl_dqdl_parser *ps, size_t *start, size_t *end)
{
    const struct etl_dqdl_rule *lhs = parse_and(ps, start, end);
    while (lhs != NULL && etl_dqdl_parser_accept(ps, ETL_DQDL_T_OR)) {
        size_t s = 0;
        const struct etl_dqdl_rule *rhs = parse_and(ps, &s, end);
        lhs = rhs == NULL ? NULL : composite(ps, true, lhs, rhs, *start, *end);
    }
    return lhs;
}

static const struct etl_dqdl_rule *parse_top_rule(struct etl_dqdl_parser *ps, size_t index)
{
    size_t start = 0, end = 0;
    struct etl_dqdl_rule *r = (struct etl_dqdl_rule *)parse_or(ps, &start, &end);
    if (r == NULL) {
        return NULL;
    }
    /* "(rule)" at the top level reports the rule inside the parentheses, as Glue does; a
     * composite's text already spans its first and last operand, parentheses included. */
    snprintf(r->name, sizeof(r->name), "Rule_%zu", index + 1);
    return r;
}

static enum err_code parse_rules(struct etl_dqdl_parser *ps)
{
    size_t rules_off = etl_dqdl_parser_peek(ps, 0).off;
    if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_RULES, "(the ruleset must have Rules = [ ... ])") !=
            ERR_OK ||
        etl_dqdl_parser_expect(ps, ETL_DQDL_T_EQ, "after Rules") != ERR_OK ||
        etl_dqdl_parser_expect(ps, ETL_DQDL_T_LBRAC, "after Rules =") != ERR_OK) {
        return ps->rc;
    }
    if (etl_dqdl_parser_at(ps, ETL_DQDL_T_RBRAC)) {
        return etl_dqdl_parser_fail(ps, rules_off, "No rules or analyzers provided.");
    }
    size_t cap = 0, n = 0;
    const struct etl_dqdl_rule **rules = NULL;
    do {
        if (n == cap) {
            const struct etl_dqdl_rule **grown = mem_grow(rules, &cap, n, sizeof(*rules), 16);
            if (grown == NULL) {
                free(rules);
                return ps->rc = err_set(ps->err, ERR_NOMEM, "dqdl: out of memory");
            }
            rules = grown;
        }
        rules[n] = parse_top_rule(ps, n);
        if (rules[n++] == NULL) {
            free(rules);
            return ps->rc;
        }
    } while (etl_dqdl_parser_accept(ps, ETL_DQDL_T_COMMA));
    if (!etl_dqdl_parser_at(ps, ETL_DQDL_T_RBRAC)) {
        free(rules);
        return etl_dqdl_parser_expected(ps,
                                        "',' or ']' after a rule (a composite needs each rule in "
                                        "parentheses: (IsComplete \"a\") and (IsUnique \"a\"))");
    }
    (void)etl_dqdl_parser_advance(ps);
    ps->rs->rules = etl_dqdl_parser_node(ps, n * sizeof(*rules));
    if (ps->rs->rules != NULL) {
        memcpy(ps->rs->rules, rules, n * sizeof(*rules));
        ps->rs->n = n;
    }
    free(rules);
    return ps->rc;
}

/* ---- the sections before Rules ---- */

/* { "key": "value" | ["a", ...], ... } with keys from `allowed` (Metadata, DataSources). */
static enum err_code
parse_dict(struct etl_dqdl_parser *ps, const char *section, const char *const *allowed)
{
    if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_EQ, section) != ERR_OK ||
        etl_dqdl_parser_expect(ps, ETL_DQDL_T_LCURL, section) != ERR_OK) {
        return ps->rc;
    }
    if (etl_dqdl_parser_at(ps, ETL_DQDL_T_RCURL)) {
        return etl_dqdl_parser_fail(ps, etl_dqdl_parser_peek(ps, 0).off,
                                    "Empty dictionary provided");
    }
    do {
        struct etl_dqdl_token k = etl_dqdl_parser_peek(ps, 0);
        size_t len = 0;
        if (k.kind != ETL_DQDL_T_STRING) {
            return etl_dqdl_parser_expected(ps, "a quoted key");
        }
        (void)etl_dqdl_parser_advance(ps);
        const char *key = etl_dqdl_parser_string(ps, k, &len);
        bool ok = false;
        for (size_t i = 0; key != NULL && allowed[i] != NULL; i++) {
            ok = ok || strcmp(key, allowed[i]) == 0;
        }
        if (!ok) {
            return etl_dqdl_parser_fail(ps, k.off, "Unsupported key provided in %s section",
                                        section);
        }
        if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_COLON, "after the key") != ERR_OK) {
            return ps->rc;
        }
        if (etl_dqdl_parser_accept(ps, ETL_DQDL_T_LBRAC)) {
            do {
                if (!etl_dqdl_parser_accept(ps, ETL_DQDL_T_STRING)) {
                    return etl_dqdl_parser_expected(ps, "a quoted string in the list");
                }
            } while (etl_dqdl_parser_accept(ps, ETL_DQDL_T_COMMA));
            if (etl_dqdl_parser_expect(ps, ETL_DQDL_T_RBRAC, "or ',' in the list") != ERR_OK) {
                return ps->rc;
            }
        } else if (!etl_dqdl_parser_accept(ps, ETL_DQDL_T_STRING)) {
            return etl_dqdl_parser_expected(ps, "a quoted value or a list");
        }
    } while (etl_dqdl_parser_accept(ps, ETL_DQDL_T_COMMA));
    return etl_dqdl_parser_expect(ps, ETL_DQDL_T_RCURL, "or ',' in the dictionary");
}

/* name = "value" | NULL | EMPTY | WHITESPACES_ONLY | [ ... ] */
static enum err_code parse_variable(struct etl_dqdl_parser *ps)
{
    struct etl_dqdl_token name = etl_dqdl_parser_advance(ps);
    const char *vname = etl_dqdl_parser_token_text(ps, name);
    if (vname == NULL) {
        return ps->rc;
    }
    if (vname[0] == '.' || vname[0] == '_') {
        return etl_dqdl_parser_fail(ps, name.off, "Variable name '%s' cannot start with '.' or '_'",
                                    vname);
    }
    if (etl_dqdl_parser_find_var(ps, vname, name.len) != NULL) {
        return etl_dqdl_parser_fail(ps, name.off, "Variable '%s' is already defined", vname);
    }
    (void)etl_dqdl_parser_advance(ps); /* = */
    struct etl_dqdl_cond list = {0};
    struct etl_dqdl_value *one = NULL;
    bool is_list = etl_dqdl_parser_at(ps, ETL_DQDL_T_LBRAC);
    if (etl_dqdl_parser_at(ps, ETL_DQDL_T_DOLLAR)) {
        return etl_dqdl_parser_fail(ps, etl_dqdl_parser_peek(ps, 0).off,
                                    "Nested variables are not supported in variable '%s'", vname);
    }
    if (is_list) {
        if (etl_dqdl_cond_operand_list(ps, &list) != ERR_OK) {
            return ps->rc;
        }
    } else {
        enum etl_dqdl_tok k = etl_dqdl_parser_peek(ps, 0).kind;
        if (k != ETL_DQDL_T_STRING && k != ETL_DQDL_T_NULL && k != ETL_DQDL_T_EMPTY &&
            k != ETL_DQDL_T_WHITESPACES_ONLY) {
            return etl_dqdl_parser_expected(
                ps, "a quoted string, NULL, EMPTY, WHITESPACES_ONLY or a list");
        }
        one = etl_dqdl_parser_node(ps, sizeof(*one));
        if (one == NULL || etl_dqdl_cond_operand(ps, one) != ERR_OK) {
            return ps->rc;
        }
        list.values = one;
        list.n = 1;
    }
    for (size_t i = 0; i < list.n; i++) {
        enum etl_dqdl_vkind k = list.values[i].kind;
        if (k == ETL_DQDL_V_NUMBER || k == ETL_DQDL_V_NOW || k == ETL_DQDL_V_DURATION) {
            return etl_dqdl_parser_fail(ps, list.values[i].off, "variables hold strings only");
        }
    }
    struct etl_dqdl_parser_var *vars = etl_dqdl_parser_node(ps, (ps->n_vars + 1) * sizeof(*vars));
    if (vars == NULL) {
        return ps->rc;
    }
    if (ps->n_vars > 0) {
        memcpy(vars, ps->vars, ps->n_vars * sizeof(*vars));
    }
    vars[ps->n_vars] = (struct etl_dqdl_parser_var){vname, list.values, list.n, is_list};
    ps->vars = vars;
    ps->n_vars++;
    return ERR_OK;
}

static enum err_code parse_document(struct etl_dqdl_parser *ps)
{
    static const char *const META_KEYS[] = {"Version", NULL};
    static const char *const SOURCE_KEYS[] = {"Primary", "AdditionalDataSources", NULL};
    if (etl_dqdl_parser_accept(ps, ETL_DQDL_T_METADATA) &&
        parse_dict(ps, "Metadata", META_KEYS) != ERR_OK) {
        return ps->rc;
    }
    if (etl_dqdl_parser_accept(ps, ETL_DQDL_T_DATA_SOURCES) &&
        parse_dict(ps, "DataSources", SOURCE_KEYS) != ERR_OK) {
        return ps->rc;
    }
    while (etl_dqdl_parser_at(ps, ETL_DQDL_T_IDENT) &&
           etl_dqdl_parser_peek(ps, 1).kind == ETL_DQDL_T_EQ) {
        if (parse_variable(ps) != ERR_OK) {
            return ps->rc;
        }
    }
    if (etl_dqdl_parser_accept(ps, ETL_DQDL_T_DEFAULT_LABELS) &&
        parse_label_list(ps, NULL, 0, &ps->defaults, &ps->n_defaults) != ERR_OK) {
        return ps->rc;
    }
    if (etl_dqdl_parser_at(ps, ETL_DQDL_T_ANALYZERS)) {
        return etl_dqdl_parser_fail(
            ps, etl_dqdl_parser_peek(ps, 0).off,
            "an Analyzers section is not supported (analyzers only compute statistics; "
            "write rules)");
    }
    if (parse_rules(ps) != ERR_OK) {
        return ps->rc;
    }
    if (etl_dqdl_parser_at(ps, ETL_DQDL_T_ANALYZERS)) {
        return etl_dqdl_parser_fail(
            ps, etl_dqdl_parser_peek(ps, 0).off,
            "an Analyzers section is not supported (analyzers only compute statistics; "
            "write rules)");
    }
    if (!etl_dqdl_parser_at(ps, ETL_DQDL_T_EOF)) {
        return etl_dqdl_parser_expected(ps, "the end of the ruleset after Rules = [ ... ]");
    }
    return ERR_OK;
}

/* ---- public ---- */

enum err_code etl_dqdl_parse(struct cur text, struct etl_dqdl_ruleset **out, struct err *err)
{
    struct etl_dqdl_parser ps;
    memset(&ps, 0, sizeof(ps));
    *out = NULL;
    struct etl_dqdl_ruleset *rs = calloc(1, sizeof(*rs));
    if (rs == NULL) {
        return err_set(err, ERR_NOMEM, "dqdl: out of memory");
    }
    etl_arena_init(&rs->arena, 0);
    buf_init(&rs->text, BUF_NO_LIMIT);
    buf_init(&ps.scratch, BUF_NO_LIMIT);
    enum err_code rc =
        buf_append(&rs->text, text.ptr != NULL ? text.ptr : (const uint8_t *)"", text.len, err);
    if (rc == ERR_OK && text.len > 0 && memchr(text.ptr, '\0', text.len) != NULL) {
        rc = err_set(err, ERR_INVALID_INPUT, "dqdl: the ruleset holds a NUL byte");
    }
    if (rc == ERR_OK) {
        ps.text = cur_make(rs->text.data, rs->text.len);
        ps.rs = rs;
        ps.err = err;
        etl_dqdl_lex_init(&ps.lx, ps.text);
        rc = parse_document(&ps);
    }
    buf_cleanup(&ps.scratch);
    if (rc != ERR_OK) {
        etl_dqdl_free(rs);
        return rc;
    }
    *out = rs;
    return ERR_OK;
}

void etl_dqdl_free(struct etl_dqdl_ruleset *rs)
{
    if (rs == NULL) {
        return;
    }
    etl_arena_cleanup(&rs->arena);
    buf_cleanup(&rs->text);
    free(rs);
}

size_t etl_dqdl_leaf_count(const struct etl_dqdl_rule *r)
{
    if (r->type != ETL_DQDL_COMPOSITE) {
        return 1;
    }
    return etl_dqdl_leaf_count(r->lhs) + etl_dqdl_leaf_count(r->rhs);
}

const char *etl_dqdl_action_name(enum etl_dqdl_action a)
{
    switch (a) {
    case ETL_DQDL_ACTION_WARN:
        return "warn";
    case ETL_DQDL_ACTION_QUARANTINE:
        return "quarantine";
    case ETL_DQDL_ACTION_FAIL:
        return "fail";
    default:
        return "default";
    }
}
